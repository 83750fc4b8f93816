/* fake_zenvia.c - see fake_zenvia.h. */
#include "fake_zenvia.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fake_http.h"

#define JSON_TYPE "application/json"
#define MESSAGES_PREFIX "/v2/channels/"
#define MESSAGES_SUFFIX "/messages"

struct scripted {
	int status;
	int has_code;           /* 0: empty body */
	char code[64];
	char message[256];
};

struct fake_zenvia {
	struct fake_http http;          /* its lock also guards id_seq */
	char *api_token;
	uint32_t id_nonce[3];           /* random: ids differ between fakes and runs */
	uint64_t id_seq;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void request_free(void *req)
{
	struct fake_zenvia_request *r = req;

	if (!r)
		return;
	free(r->path);
	free(r->content_type);
	free(r->api_token);
	free(r->channel);
	free(r->body);
	free(r->from);
	free(r->to);
	json_decref(r->contents);
	free(r);
}

/* Fills the answer `ans` with an error of Zenvia's shape and the record's `why`; returns -1 so
 * checks can `return reject(...)`. */
static int reject(struct scripted *ans, struct fake_zenvia_request *rec, int status,
		  const char *code, const char *message, const char *why)
{
	ans->status = status;
	ans->has_code = 1;
	snprintf(ans->code, sizeof(ans->code), "%s", code);
	snprintf(ans->message, sizeof(ans->message), "%s", message);
	snprintf(rec->why, sizeof(rec->why), "%s", why);
	return -1;
}

/* A 400 VALIDATION_ERROR saying `why`. */
static int invalid(struct scripted *ans, struct fake_zenvia_request *rec, const char *why)
{
	return reject(ans, rec, 400, "VALIDATION_ERROR", why, why);
}

/* 8 to 15 digits and nothing else: a phone number as Zenvia takes it, without the '+'. */
static int is_bare_digits(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 8 && n <= 15 && strspn(s, "0123456789") == n;
}

/* The channel named by a messages path ("sms", "whatsapp"), or NULL for any other path. */
static const char *path_channel(const char *url)
{
	static const char *const channels[] = { "sms", "whatsapp" };
	size_t pre = strlen(MESSAGES_PREFIX);

	if (strncmp(url, MESSAGES_PREFIX, pre) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
		size_t n = strlen(channels[i]);

		if (strncmp(url + pre, channels[i], n) == 0 &&
		    strcmp(url + pre + n, MESSAGES_SUFFIX) == 0)
			return channels[i];
	}
	return NULL;
}

/* 1 when `s` is a JSON string that is not empty. */
static int nonempty_string(const json_t *s)
{
	return json_is_string(s) && json_string_length(s) > 0;
}

/* Checks one item of `contents`; 0, or -1 after reject(). */
static int check_content(const json_t *c, size_t i, struct scripted *ans,
			 struct fake_zenvia_request *rec)
{
	const char *type = json_string_value(json_object_get(c, "type"));
	const json_t *fields, *v;
	const char *key;
	char why[160];

	if (!json_is_object(c) || !type) {
		snprintf(why, sizeof(why), "contents[%zu] is not an object with a type", i);
		return invalid(ans, rec, why);
	}
	if (strcmp(type, "text") == 0) {
		if (nonempty_string(json_object_get(c, "text")))
			return 0;
		snprintf(why, sizeof(why), "contents[%zu].text must be a non-empty string", i);
		return invalid(ans, rec, why);
	}
	if (strcmp(type, "template") != 0) {
		snprintf(why, sizeof(why), "contents[%zu].type '%.40s' is neither text nor template",
			 i, type);
		return invalid(ans, rec, why);
	}
	if (!nonempty_string(json_object_get(c, "templateId"))) {
		snprintf(why, sizeof(why), "contents[%zu].templateId must be a non-empty string", i);
		return invalid(ans, rec, why);
	}
	fields = json_object_get(c, "fields");
	if (!json_is_object(fields)) {
		snprintf(why, sizeof(why), "contents[%zu].fields must be an object", i);
		return invalid(ans, rec, why);
	}
	json_object_foreach((json_t *)fields, key, v) {
		if (!json_is_string(v)) {
			snprintf(why, sizeof(why), "contents[%zu].fields.%.40s must be a string", i,
				 key);
			return invalid(ans, rec, why);
		}
	}
	return 0;
}

/* Parses the JSON body, copies from/to/contents into `rec` and checks them.  0 when acceptable. */
static int check_body(struct fake_http_upload *ctx, struct fake_zenvia_request *rec,
		      struct scripted *ans)
{
	json_t *root = json_loadb(buf_cstr(&ctx->body), ctx->body.len, JSON_REJECT_DUPLICATES, NULL);
	json_t *from, *to, *contents, *c;
	size_t i;
	int rc = -1;

	if (!json_is_object(root)) {
		invalid(ans, rec, "body is not a JSON object");
		goto out;
	}
	from = json_object_get(root, "from");
	to = json_object_get(root, "to");
	contents = json_object_get(root, "contents");
	rec->from = dup_or_null(json_string_value(from));
	rec->to = dup_or_null(json_string_value(to));
	if (contents)
		rec->contents = json_incref(contents);
	if (!nonempty_string(from)) {
		invalid(ans, rec, "from must be a non-empty string");
		goto out;
	}
	if (!is_bare_digits(json_string_value(to))) {
		invalid(ans, rec, "to must be 8 to 15 digits, without '+'");
		goto out;
	}
	if (!json_is_array(contents) || json_array_size(contents) == 0) {
		invalid(ans, rec, "contents must be a non-empty array");
		goto out;
	}
	json_array_foreach(contents, i, c)
		if (check_content(c, i, ans, rec) < 0)
			goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Every check of fake_zenvia.h, in order.  0 when the request is acceptable. */
static int check_request(struct fake_zenvia *fz, const char *url, const char *method,
			 struct fake_http_upload *ctx, struct fake_zenvia_request *rec,
			 struct scripted *ans)
{
	char msg[200];

	if (!rec->api_token || strcmp(rec->api_token, fz->api_token) != 0)
		return reject(ans, rec, 401, "UNAUTHORIZED", "Invalid API token",
			      rec->api_token ? "wrong X-API-TOKEN" : "no X-API-TOKEN");
	if (!rec->channel) {
		snprintf(msg, sizeof(msg), "Resource %.150s not found", url);
		return reject(ans, rec, 404, "NOT_FOUND", msg, "unknown path");
	}
	if (strcmp(method, "POST") != 0)
		return reject(ans, rec, 405, "METHOD_NOT_ALLOWED", "Method not allowed",
			      "method is not POST");
	if (ctx->too_big)
		return reject(ans, rec, 413, "PAYLOAD_TOO_LARGE", "Request entity too large",
			      "body larger than 64 KiB");
	if (!fake_http_type_is(rec->content_type, JSON_TYPE))
		return invalid(ans, rec, "Content-Type is not application/json");
	return check_body(ctx, rec, ans);
}

/* {"id": rec->id, then every member of the request body}.  Caller frees with free(). */
static char *accepted_body(const struct fake_zenvia_request *rec)
{
	json_t *req = json_loads(rec->body, 0, NULL);
	json_t *out = json_object(), *v;
	const char *key;
	char *s = NULL;

	if (!req || !out || json_object_set_new(out, "id", json_string(rec->id)) < 0)
		goto out;
	json_object_foreach(req, key, v)
		if (strcmp(key, "id") != 0 && json_object_set(out, key, v) < 0)
			goto out;
	s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(out);
	json_decref(req);
	return s;
}

/* {"code": ..., "message": ...}.  Caller frees with free(). */
static char *error_body(const struct scripted *ans)
{
	json_t *j = json_pack("{s:s,s:s}", "code", ans->code, "message", ans->message);
	char *s;

	if (!j)
		j = json_pack("{s:s,s:s}", "code", "INTERNAL_ERROR", "message", "not UTF-8");
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

/* Under the lock: takes the next scripted answer, or the default 200, for an accepted request. */
static void take_answer(struct fake_zenvia *fz, struct scripted *out)
{
	if (fake_http_dequeue(&fz->http, out) < 0) {
		memset(out, 0, sizeof(*out));
		out->status = 200;
	}
}

/* Under the lock: a fresh UUID-shaped id into `out`. */
static void next_id(struct fake_zenvia *fz, char out[FAKE_ZENVIA_ID_LEN])
{
	uint64_t seq = ++fz->id_seq;

	snprintf(out, FAKE_ZENVIA_ID_LEN, "%08x-%04x-4%03x-%04x-%012llx",
		 (unsigned)fz->id_nonce[0], (unsigned)(fz->id_nonce[1] & 0xffff),
		 (unsigned)((fz->id_nonce[1] >> 16) & 0xfff),
		 (unsigned)(0x8000 | (fz->id_nonce[2] & 0x3fff)),
		 (unsigned long long)(seq & 0xffffffffffffULL));
}

/* A new record of what arrived: method, path, headers, raw body.  NULL when out of memory. */
static struct fake_zenvia_request *new_record(struct MHD_Connection *conn, const char *url,
					      const char *method, struct fake_http_upload *ctx)
{
	struct fake_zenvia_request *rec = calloc(1, sizeof(*rec));
	const char *channel = path_channel(url);

	if (!rec)
		return NULL;
	snprintf(rec->method, sizeof(rec->method), "%s", method);
	rec->path = strdup(url);
	rec->body = strdup(buf_cstr(&ctx->body));
	rec->channel = dup_or_null(channel);
	rec->content_type = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_CONTENT_TYPE));
	rec->api_token = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								 "X-API-TOKEN"));
	if (!rec->path || !rec->body || (channel && !rec->channel)) {
		request_free(rec);
		return NULL;
	}
	return rec;
}

/*
 * The whole request has arrived: check it, pick the answer, record the request (before answering,
 * so a test that sees the gateway react also sees the record), then answer.
 */
static enum MHD_Result answer_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, struct fake_http_upload *ctx)
{
	struct fake_zenvia *fz = cls;
	struct fake_zenvia_request *rec = new_record(conn, url, method, ctx);
	struct scripted ans = { 0 };
	char *body = NULL;
	enum MHD_Result r = MHD_NO;

	if (!rec)
		return MHD_NO;
	rec->ok = check_request(fz, url, method, ctx, rec, &ans) == 0;

	pthread_mutex_lock(&fz->http.lock);
	if (rec->ok) {
		take_answer(fz, &ans);
		if (ans.status == 200)
			next_id(fz, rec->id);
	}
	rec->status = ans.status;
	if (fake_http_record(&fz->http, rec) < 0) {
		pthread_mutex_unlock(&fz->http.lock);
		request_free(rec);
		return MHD_NO;
	}
	pthread_mutex_unlock(&fz->http.lock);

	if (ans.status == 200)
		body = accepted_body(rec);
	else if (ans.has_code)
		body = error_body(&ans);
	if ((ans.status == 200 || ans.has_code) && !body)
		goto out;
	r = fake_http_respond(conn, ans.status, body, "application/json; charset=utf-8", NULL);
out:
	free(body);
	return r;
}

static const struct fake_http_ops zenvia_http_ops = {
	.name = "fake_zenvia",
	.answer = answer_request,
	.free_req = request_free,
	.answer_size = sizeof(struct scripted),
};

struct fake_zenvia *fake_zenvia_start(const char *api_token)
{
	struct fake_zenvia *fz = calloc(1, sizeof(*fz));

	if (!fz)
		return NULL;
	fz->api_token = strdup(api_token);
	if (!fz->api_token)
		goto fail;
	if (getrandom(fz->id_nonce, sizeof(fz->id_nonce), 0) != sizeof(fz->id_nonce)) {
		fz->id_nonce[0] = (uint32_t)time(NULL);
		fz->id_nonce[1] = (uint32_t)getpid();
		fz->id_nonce[2] = (uint32_t)(uintptr_t)fz;
	}
	if (fake_http_start(&fz->http, &zenvia_http_ops, fz) < 0)
		goto fail;
	return fz;
fail:
	fake_zenvia_stop(fz);
	return NULL;
}

void fake_zenvia_stop(struct fake_zenvia *fz)
{
	if (!fz)
		return;
	/* first: the daemon thread reads everything below */
	fake_http_stop(&fz->http);
	free(fz->api_token);
	free(fz);
}

int fake_zenvia_port(const struct fake_zenvia *fz)
{
	return fz->http.port;
}

int fake_zenvia_queue(struct fake_zenvia *fz, int status, const char *code, const char *message)
{
	struct scripted s = { .status = status, .has_code = code != NULL };

	snprintf(s.code, sizeof(s.code), "%s", code ? code : "");
	if (message)
		snprintf(s.message, sizeof(s.message), "%s", message);
	else
		snprintf(s.message, sizeof(s.message), "Error %d", status);
	return fake_http_queue(&fz->http, &s);
}

size_t fake_zenvia_count(struct fake_zenvia *fz)
{
	return fake_http_count(&fz->http);
}

const struct fake_zenvia_request *fake_zenvia_request(struct fake_zenvia *fz, size_t i)
{
	return fake_http_get(&fz->http, i);
}

size_t fake_zenvia_wait(struct fake_zenvia *fz, size_t n, int timeout_ms)
{
	return fake_http_wait(&fz->http, n, timeout_ms);
}

const char *fake_zenvia_text(const struct fake_zenvia_request *req, size_t i)
{
	const json_t *c = json_array_get(req->contents, i);
	const char *type = json_string_value(json_object_get(c, "type"));

	if (!type || strcmp(type, "text") != 0)
		return NULL;
	return json_string_value(json_object_get(c, "text"));
}

/* ---- speaking as Zenvia ---- */

/* Loads a JSON object fixture; NULL after a message. */
static json_t *load_fixture(const char *dir, const char *name)
{
	char path[HARNESS_PATH_LEN];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	j = json_load_file(path, 0, &e);
	if (!j || !json_is_object(j)) {
		fprintf(stderr, "fake_zenvia: %s: %s\n", path, j ? "not an object" : e.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Replaces the existing member `key` of `obj` with the string `value` (its place in the object
 * kept).  -1 when `obj` is not an object, has no such member or `value` is not UTF-8. */
static int rewrite(json_t *obj, const char *key, const char *value)
{
	json_t *s;

	if (!json_is_object(obj) || !json_object_get(obj, key) || !(s = json_string(value)))
		return -1;
	return json_object_set_new(obj, key, s);
}

/* The fixture as text once rewritten; frees `j`.  NULL after a message when `rc` < 0. */
static char *dump_event(json_t *j, int rc, const char *fixture)
{
	char *s = NULL;

	if (rc < 0)
		fprintf(stderr, "fake_zenvia: %s lacks a member to rewrite (or a value is not "
			"UTF-8)\n", fixture);
	else
		s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

char *fake_zenvia_message_event(const char *fixtures_dir, const char *id, const char *channel,
				const char *from, const char *to, const char *text)
{
	static const char fixture[] = "zenvia-webhook-message-in.json";
	json_t *j = load_fixture(fixtures_dir, fixture), *msg, *c;
	size_t i;
	int rc = -1;

	if (!j)
		return NULL;
	msg = json_object_get(j, "message");
	if (rewrite(j, "id", id) < 0 || rewrite(j, "channel", channel) < 0 ||
	    rewrite(msg, "from", from) < 0 || rewrite(msg, "to", to) < 0 ||
	    rewrite(msg, "channel", channel) < 0 ||
	    json_object_set_new(msg, "id", json_string(id)) < 0)
		goto out;
	json_array_foreach(json_object_get(msg, "contents"), i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));

		if (type && strcmp(type, "text") == 0) {
			rc = rewrite(c, "text", text);
			break;
		}
	}
out:
	return dump_event(j, rc, fixture);
}

char *fake_zenvia_status_event(const char *fixtures_dir, const char *id, const char *message_id,
			       const char *channel, const char *code)
{
	static const char fixture[] = "zenvia-webhook-message-status-sent.json";
	json_t *j = load_fixture(fixtures_dir, fixture);
	int rc;

	if (!j)
		return NULL;
	rc = rewrite(j, "id", id) < 0 || rewrite(j, "messageId", message_id) < 0 ||
	     rewrite(j, "channel", channel) < 0 ||
	     rewrite(json_object_get(j, "messageStatus"), "code", code) < 0 ? -1 : 0;
	return dump_event(j, rc, fixture);
}

int fake_zenvia_post_webhook(const char *gw_base_url, const char *token, const char *body,
			     struct harness_http_resp *r)
{
	char url[512], hdr[512];
	const char *headers[3] = { "Content-Type: application/json", NULL, NULL };

	if ((size_t)snprintf(url, sizeof(url), "%s/webhooks/zenvia", gw_base_url) >= sizeof(url))
		return -1;
	if (token) {
		if ((size_t)snprintf(hdr, sizeof(hdr), "X-Gateway-Token: %s", token) >= sizeof(hdr))
			return -1;
		headers[1] = hdr;
	}
	return harness_http("POST", url, headers, body, strlen(body), r);
}
