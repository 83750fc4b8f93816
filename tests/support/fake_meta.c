/* fake_meta.c - see fake_meta.h. */
#include "fake_meta.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_http.h"
#include "harness.h"

#define TEXT_BODY_MAX_CHARS 4096        /* Cloud API: text.body is at most 4096 characters */
#define JSON_TYPE "application/json"

struct scripted {
	int status;
	int code;
	char message[256];
};

struct fake_meta {
	struct fake_http http;          /* its lock also guards wamid_seq */
	char *access_token;
	char *messages_path;            /* /{graph_version}/{phone_number_id}/messages */
	json_t *sent;                   /* meta-send-response-200.json */
	json_t *error;                  /* meta-error-100-invalid-param.json */
	unsigned long long wamid_seq;
};

/* What a failed check answers. */
struct rejection {
	int status;
	int code;
	char message[200];
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void request_free(void *req)
{
	struct fake_meta_request *r = req;

	if (!r)
		return;
	free(r->path);
	free(r->content_type);
	free(r->authorization);
	free(r->body);
	free(r->type);
	free(r->to);
	free(r->text);
	free(r->template_name);
	free(r->template_lang);
	for (size_t i = 0; i < r->n_params; i++)
		free(r->params[i]);
	free(r);
}

/* Fills `rej` and the record's `why`; returns -1 so checks can `return reject(...)`. */
static int reject(struct rejection *rej, struct fake_meta_request *rec, int status, int code,
		  const char *message, const char *why)
{
	rej->status = status;
	rej->code = code;
	snprintf(rej->message, sizeof(rej->message), "%s", message);
	snprintf(rec->why, sizeof(rec->why), "%s", why);
	return -1;
}

/* A Graph "invalid parameter" refusal. */
static int reject_param(struct rejection *rej, struct fake_meta_request *rec, const char *why)
{
	return reject(rej, rec, 400, 100, "(#100) Invalid parameter", why);
}

/* 8 to 15 ASCII digits and nothing else: the Cloud API's `to` as the gateway must send it. */
static int is_wa_number(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9')
			return 0;
	return n >= 8 && n <= 15;
}

/* UTF-8 code points, as the 4096-character limit counts them. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* The credential check: "Bearer {access_token}" (the scheme in any case, RFC 7235). */
static int check_auth(const struct fake_meta *fm, const char *auth)
{
	return auth && strncasecmp(auth, "Bearer ", 7) == 0 &&
	       strcmp(auth + 7, fm->access_token) == 0;
}

/* The string member `key` of `obj` when it is a non-empty string, else NULL. */
static const char *member_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s && *s ? s : NULL;
}

/* type "text": a non-empty text.body within the length limit. */
static int check_text(json_t *msg, struct fake_meta_request *rec, struct rejection *rej)
{
	const char *body = member_str(json_object_get(msg, "text"), "body");

	rec->text = dup_or_null(body);
	if (!body)
		return reject_param(rej, rec, "type text without a text.body string");
	if (utf8_chars(body) > TEXT_BODY_MAX_CHARS)
		return reject_param(rej, rec, "text.body longer than 4096 characters");
	return 0;
}

/* type "template": name, language.code, and components[0] a "body" of text parameters. */
static int check_template(json_t *msg, struct fake_meta_request *rec, struct rejection *rej)
{
	json_t *tpl = json_object_get(msg, "template"), *comps, *body, *params, *p;
	size_t i;

	if (!json_is_object(tpl))
		return reject_param(rej, rec, "type template without a template object");
	rec->template_name = dup_or_null(member_str(tpl, "name"));
	rec->template_lang = dup_or_null(member_str(json_object_get(tpl, "language"), "code"));
	if (!rec->template_name)
		return reject_param(rej, rec, "template.name is not a non-empty string");
	if (!rec->template_lang)
		return reject_param(rej, rec, "template.language.code is not a non-empty string");
	comps = json_object_get(tpl, "components");
	if (!comps)
		return 0;
	body = json_array_get(comps, 0);
	if (!json_is_array(comps) || !json_is_object(body))
		return reject_param(rej, rec, "template.components is not an array of objects");
	if (!json_is_string(json_object_get(body, "type")) ||
	    strcmp(json_string_value(json_object_get(body, "type")), "body") != 0)
		return reject_param(rej, rec, "template.components[0].type is not \"body\"");
	params = json_object_get(body, "parameters");
	if (!json_is_array(params) || json_array_size(params) > FAKE_META_MAX_PARAMS)
		return reject_param(rej, rec,
				    "components[0].parameters is not an array of at most 8");
	json_array_foreach(params, i, p) {
		const char *type = member_str(p, "type"), *text = member_str(p, "text");

		if (!type || strcmp(type, "text") != 0 || !text)
			return reject_param(rej, rec, "a body parameter is not "
					    "{\"type\":\"text\",\"text\":\"<non-empty>\"}");
		if (!(rec->params[rec->n_params] = strdup(text)))
			return reject(rej, rec, 500, 1, "An unknown error occurred",
				      "out of memory");
		rec->n_params++;
	}
	return 0;
}

/* The JSON checks of fake_meta.h, recording what the body says into `rec`. */
static int check_body(const char *data, size_t len, struct fake_meta_request *rec,
		      struct rejection *rej)
{
	json_error_t jerr;
	json_t *msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *product, *to, *type;
	int rc = -1;

	if (!json_is_object(msg)) {
		reject_param(rej, rec, "body is not a JSON object");
		goto out;
	}
	product = member_str(msg, "messaging_product");
	to = member_str(msg, "to");
	type = member_str(msg, "type");
	rec->to = dup_or_null(to);
	rec->type = dup_or_null(type);
	if (!product || strcmp(product, "whatsapp") != 0) {
		reject_param(rej, rec, "messaging_product is not \"whatsapp\"");
		goto out;
	}
	if (!to || !is_wa_number(to)) {
		reject_param(rej, rec, "to is not 8 to 15 digits without '+'");
		goto out;
	}
	if (type && strcmp(type, "text") == 0)
		rc = check_text(msg, rec, rej);
	else if (type && strcmp(type, "template") == 0)
		rc = check_template(msg, rec, rej);
	else
		reject_param(rej, rec, "type is neither \"text\" nor \"template\"");
out:
	json_decref(msg);
	return rc;
}

/* Every check of fake_meta.h, in order.  0 when the request is acceptable. */
static int check_request(struct fake_meta *fm, const char *url, const char *method,
			 struct fake_http_upload *ctx, struct fake_meta_request *rec,
			 struct rejection *rej)
{
	if (!check_auth(fm, rec->authorization))
		return reject(rej, rec, 401, 190, "Invalid OAuth access token.",
			      "missing or wrong Authorization: Bearer");
	if (strcmp(url, fm->messages_path) != 0)
		return reject(rej, rec, 400, 100, "Unsupported post request.", "unknown path");
	if (strcmp(method, "POST") != 0)
		return reject(rej, rec, 400, 100, "Unsupported request method.",
			      "method is not POST");
	if (!fake_http_type_is(rec->content_type, JSON_TYPE))
		return reject_param(rej, rec, "Content-Type is not application/json");
	if (ctx->too_big)
		return reject_param(rej, rec, "body larger than 64 KiB");
	return check_body(buf_cstr(&ctx->body), ctx->body.len, rec, rej);
}

/* The error fixture with error.code and error.message rewritten.  Caller frees with free(); NULL
 * when out of memory. */
static char *error_body(struct fake_meta *fm, int code, const char *message)
{
	json_t *j = json_deep_copy(fm->error), *err = json_object_get(j, "error");
	json_t *msg = json_string(message);
	char *s = NULL;

	if (!msg)
		msg = json_string("(message is not UTF-8)");
	if (!j || !json_is_object(err) || !msg) {
		json_decref(msg);
		goto out;
	}
	json_object_set_new(err, "message", msg);
	json_object_set_new(err, "code", json_integer(code));
	s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(j);
	return s;
}

/* The 200 fixture with messages[0].id rewritten.  Caller frees with free(). */
static char *sent_body(struct fake_meta *fm, const struct fake_meta_request *rec)
{
	json_t *j = json_deep_copy(fm->sent);
	json_t *m0 = json_array_get(json_object_get(j, "messages"), 0);
	char *s = NULL;

	if (j && json_is_object(m0) &&
	    json_object_set_new(m0, "id", json_string(rec->wamid)) == 0)
		s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

/* Under the lock: takes the next scripted answer, or the default 200, for an accepted request. */
static void take_answer(struct fake_meta *fm, struct scripted *out)
{
	if (fake_http_dequeue(&fm->http, out) < 0) {
		memset(out, 0, sizeof(*out));
		out->status = 200;
	}
}

/* Queues `body` (may be NULL: empty) with `status` on the connection. */
static enum MHD_Result send_answer(struct MHD_Connection *conn, int status, const char *body)
{
	static const char *const unauthorized[] = {
		MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		"OAuth \"Facebook Platform\" \"invalid_token\" \"Invalid OAuth access token.\"",
		NULL
	};

	return fake_http_respond(conn, status, body, "application/json; charset=UTF-8",
				 status == 401 ? unauthorized : NULL);
}

/* A header's value as a NUL-terminated copy, or NULL. */
static char *header_copy(struct MHD_Connection *conn, const char *name)
{
	return dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name));
}

/*
 * The whole request has arrived: check it, pick the answer, record the request (before answering,
 * so a test that sees the gateway react also sees the record), then answer.
 */
static enum MHD_Result answer_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, struct fake_http_upload *ctx)
{
	struct fake_meta *fm = cls;
	struct fake_meta_request *rec = calloc(1, sizeof(*rec));
	struct rejection rej = { 0 };
	struct scripted ans = { 0 };
	char *body = NULL;
	enum MHD_Result r = MHD_NO;

	if (!rec)
		return MHD_NO;
	rec->at_ms = harness_now_ms();
	snprintf(rec->method, sizeof(rec->method), "%s", method);
	rec->path = strdup(url);
	rec->content_type = header_copy(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
	rec->authorization = header_copy(conn, MHD_HTTP_HEADER_AUTHORIZATION);
	rec->body = strdup(buf_cstr(&ctx->body));
	rec->ok = check_request(fm, url, method, ctx, rec, &rej) == 0;

	pthread_mutex_lock(&fm->http.lock);
	if (rec->ok) {
		take_answer(fm, &ans);
		if (ans.status == 200)
			snprintf(rec->wamid, sizeof(rec->wamid), "wamid.%llu", ++fm->wamid_seq);
	} else {
		ans.status = rej.status;
		ans.code = rej.code;
		snprintf(ans.message, sizeof(ans.message), "%s", rej.message);
	}
	rec->status = ans.status;
	rec->code = ans.status == 200 ? 0 : ans.code;
	if (fake_http_record(&fm->http, rec) < 0) {
		pthread_mutex_unlock(&fm->http.lock);
		request_free(rec);
		return MHD_NO;
	}
	pthread_mutex_unlock(&fm->http.lock);

	if (ans.status == 200)
		body = sent_body(fm, rec);
	else if (ans.code)
		body = error_body(fm, ans.code, ans.message);
	if ((ans.status == 200 || ans.code) && !body)
		goto out;
	r = send_answer(conn, ans.status, body);
out:
	free(body);
	return r;
}

static const struct fake_http_ops meta_http_ops = {
	.name = "fake_meta",
	.answer = answer_request,
	.free_req = request_free,
	.answer_size = sizeof(struct scripted),
};

/* Loads a JSON object fixture; NULL after a message. */
static json_t *load_fixture(const char *path)
{
	json_error_t e;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);

	if (!j || !json_is_object(j)) {
		fprintf(stderr, "fake_meta: %s: %s\n", path, j ? "not a JSON object" : e.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *load_named(const char *dir, const char *name)
{
	char path[HARNESS_PATH_LEN];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return load_fixture(path);
}

struct fake_meta *fake_meta_start(const char *graph_version, const char *phone_number_id,
				  const char *access_token, const char *fixtures_dir)
{
	struct fake_meta *fm = calloc(1, sizeof(*fm));
	char path[256];

	if (!fm)
		return NULL;
	snprintf(path, sizeof(path), "/%s/%s/messages", graph_version, phone_number_id);
	fm->access_token = strdup(access_token);
	fm->messages_path = strdup(path);
	fm->sent = load_named(fixtures_dir, "meta-send-response-200.json");
	fm->error = load_named(fixtures_dir, "meta-error-100-invalid-param.json");
	if (!fm->access_token || !fm->messages_path || !fm->sent || !fm->error)
		goto fail;
	if (fake_http_start(&fm->http, &meta_http_ops, fm) < 0)
		goto fail;
	return fm;
fail:
	fake_meta_stop(fm);
	return NULL;
}

void fake_meta_stop(struct fake_meta *fm)
{
	if (!fm)
		return;
	/* first: the daemon thread reads everything below */
	fake_http_stop(&fm->http);
	json_decref(fm->sent);
	json_decref(fm->error);
	free(fm->messages_path);
	free(fm->access_token);
	free(fm);
}

int fake_meta_port(const struct fake_meta *fm)
{
	return fm->http.port;
}

int fake_meta_queue(struct fake_meta *fm, int status, int code, const char *message)
{
	struct scripted s = { .status = status, .code = code };

	if (message)
		snprintf(s.message, sizeof(s.message), "%s", message);
	else
		snprintf(s.message, sizeof(s.message), "(#%d) Error %d", code, code);
	return fake_http_queue(&fm->http, &s);
}

size_t fake_meta_count(struct fake_meta *fm)
{
	return fake_http_count(&fm->http);
}

const struct fake_meta_request *fake_meta_request(struct fake_meta *fm, size_t i)
{
	return fake_http_get(&fm->http, i);
}

size_t fake_meta_wait(struct fake_meta *fm, size_t n, int timeout_ms)
{
	return fake_http_wait(&fm->http, n, timeout_ms);
}

void fake_meta_sign(const char *app_secret, const void *body, size_t len,
		    char out[FAKE_META_SIG_LEN])
{
	uint8_t mac[SHA256_LEN];

	hmac_sha256(app_secret, strlen(app_secret), body, len, mac);
	memcpy(out, "sha256=", 7);
	hex_encode(mac, sizeof(mac), out + 7);
}

/* Replaces the string member `key` of `obj` with `value` (kept in place: the member order stays).
 * The member must exist and be a string.  0, or -1 after a message naming `what`. */
static int rewrite(json_t *obj, const char *key, const char *value, const char *what)
{
	json_t *v;

	if (!value)
		return 0;
	if (!json_is_string(json_object_get(obj, key))) {
		fprintf(stderr, "fake_meta: the fixture has no string %s to rewrite\n", what);
		return -1;
	}
	v = json_string(value);
	if (!v || json_object_set_new(obj, key, v) < 0) {
		fprintf(stderr, "fake_meta: cannot set %s\n", what);
		return -1;
	}
	return 0;
}

int fake_meta_webhook_body(const char *fixture_path, const struct fake_meta_set *set,
			   struct buf *out)
{
	json_t *root = load_fixture(fixture_path), *value, *msg, *st;
	char *s = NULL;
	int rc = -1;

	if (!root)
		goto out;
	value = json_object_get(json_array_get(json_object_get(json_array_get(
			json_object_get(root, "entry"), 0), "changes"), 0), "value");
	msg = json_array_get(json_object_get(value, "messages"), 0);
	st = json_array_get(json_object_get(value, "statuses"), 0);
	if (rewrite(msg, "from", set->from, "messages[0].from") < 0 ||
	    rewrite(msg, "id", set->message_id, "messages[0].id") < 0 ||
	    rewrite(json_object_get(msg, "text"), "body", set->text, "messages[0].text.body") < 0 ||
	    rewrite(json_object_get(json_object_get(msg, "interactive"), "list_reply"), "id",
		    set->list_reply_id, "messages[0].interactive.list_reply.id") < 0 ||
	    rewrite(json_object_get(msg, "button"), "payload", set->button_payload,
		    "messages[0].button.payload") < 0 ||
	    rewrite(st, "status", set->status, "statuses[0].status") < 0 ||
	    rewrite(st, "id", set->status_id, "statuses[0].id") < 0)
		goto out;
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s || buf_puts(out, s) < 0) {
		fprintf(stderr, "fake_meta: cannot serialise %s\n", fixture_path);
		goto out;
	}
	rc = 0;
out:
	free(s);
	json_decref(root);
	return rc;
}
