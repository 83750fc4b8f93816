/* fake_twilio.c - see fake_twilio.h. */
#include "fake_twilio.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fake_http.h"
#include "form.h"
#include "harness.h"

#define TWILIO_BODY_MAX_CHARS 1600   /* Twilio error 21617 past this */
#define FORM_TYPE "application/x-www-form-urlencoded"

struct scripted {
	int status;
	int code;
	char message[256];
	char retry_after[64];   /* the Retry-After header's value; "" sends none */
	char sid[40];           /* a 201's message sid; "" for the fake's own */
};

struct fake_twilio {
	struct fake_http http;          /* its lock also guards sid_seq */
	char *account_sid;
	char *auth_token;
	char *messages_path;            /* /2010-04-01/Accounts/{sid}/Messages.json */
	json_t *created;                /* twilio-create-message-201.json */
	json_t *error;                  /* twilio-error-400-20001.json */
	uint64_t sid_nonce;
	uint64_t sid_seq;
	char repeated_sid[40];          /* fake_twilio_repeat_sid(); "" for fresh sids */
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
	struct fake_twilio_request *r = req;

	if (!r)
		return;
	free(r->path);
	free(r->content_type);
	free(r->to);
	free(r->from);
	free(r->messaging_service_sid);
	free(r->body);
	free(r->status_callback);
	free(r);
}

/* Fills `rej` and the record's `why`; returns -1 so checks can `return reject(...)`. */
static int reject(struct rejection *rej, struct fake_twilio_request *rec, int status, int code,
		  const char *message, const char *why)
{
	rej->status = status;
	rej->code = code;
	snprintf(rej->message, sizeof(rej->message), "%s", message);
	snprintf(rec->why, sizeof(rec->why), "%s", why);
	return -1;
}

/* '+', a non-zero digit, then up to 14 more digits: 8 to 15 digits in all (ITU-T E.164). */
static int is_e164(const char *s)
{
	size_t n = 0;

	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	for (s++; *s; s++, n++)
		if (*s < '0' || *s > '9')
			return 0;
	return n >= 8 && n <= 15;
}

/* Characters, as Twilio counts them for the 1600 limit: UTF-8 code points. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* The credential check: Basic auth with exactly this account's sid and token. */
static int check_auth(struct fake_twilio *ft, struct MHD_Connection *conn)
{
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(conn, &pass);
	int ok = user && pass && strcmp(user, ft->account_sid) == 0 &&
		 strcmp(pass, ft->auth_token) == 0;

	MHD_free(user);
	MHD_free(pass);
	return ok;
}

/* Checks the form fields of an authenticated POST to Messages.json and copies them into `rec`. */
static int check_fields(struct fake_twilio_request *rec, const char *data, size_t len,
			struct rejection *rej)
{
	struct form f = { 0 };
	const char *to, *body, *from, *mss;
	int rc = -1;

	if (form_parse(&f, data, len) < 0) {
		reject(rej, rec, 400, 21604, "A 'To' phone number is required.",
		       "form body does not parse");
		goto out;
	}
	to = form_get(&f, "To");
	body = form_get(&f, "Body");
	from = form_get(&f, "From");
	mss = form_get(&f, "MessagingServiceSid");
	rec->to = dup_or_null(to);
	rec->body = dup_or_null(body);
	rec->from = dup_or_null(from);
	rec->messaging_service_sid = dup_or_null(mss);
	rec->status_callback = dup_or_null(form_get(&f, "StatusCallback"));
	if (!to || !*to) {
		reject(rej, rec, 400, 21604, "A 'To' phone number is required.", "no To");
		goto out;
	}
	if (!is_e164(to)) {
		reject(rej, rec, 400, 21211, "Invalid 'To' Phone Number", "To is not E.164");
		goto out;
	}
	if (!body || !*body) {
		reject(rej, rec, 400, 21602, "Message body is required.", "no Body");
		goto out;
	}
	if (utf8_chars(body) > TWILIO_BODY_MAX_CHARS) {
		reject(rej, rec, 400, 21617,
		       "The concatenated message body exceeds the 1600 character limit.",
		       "Body longer than 1600 characters");
		goto out;
	}
	if (!from == !mss) {
		reject(rej, rec, 400, 21603,
		       "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
		       from ? "both From and MessagingServiceSid" :
			      "neither From nor MessagingServiceSid");
		goto out;
	}
	rc = 0;
out:
	form_release(&f);
	return rc;
}

/* Every check of fake_twilio.h, in Twilio's order.  0 when the request is acceptable. */
static int check_request(struct fake_twilio *ft, struct MHD_Connection *conn, const char *url,
			 const char *method, struct fake_http_upload *ctx,
			 struct fake_twilio_request *rec, struct rejection *rej)
{
	char msg[200];

	if (!check_auth(ft, conn))
		return reject(rej, rec, 401, 20003, "Authenticate",
			      "missing or wrong Basic auth");
	if (strcmp(url, ft->messages_path) != 0) {
		snprintf(msg, sizeof(msg), "The requested resource %s was not found", url);
		return reject(rej, rec, 404, 20404, msg, "unknown path");
	}
	if (strcmp(method, "POST") != 0)
		return reject(rej, rec, 405, 20004, "Method not allowed", "method is not POST");
	if (ctx->too_big)
		return reject(rej, rec, 413, 20001, "Request entity too large",
			      "body larger than 64 KiB");
	if (!fake_http_type_is(rec->content_type, FORM_TYPE))
		return reject(rej, rec, 400, 21604, "A 'To' phone number is required.",
			      "Content-Type is not application/x-www-form-urlencoded");
	return check_fields(rec, buf_cstr(&ctx->body), ctx->body.len, rej);
}

/* The error fixture with code, message and more_info (and status, when it differs) rewritten.
 * Caller frees with free(); NULL when out of memory. */
static char *error_body(struct fake_twilio *ft, int status, int code, const char *message)
{
	json_t *j = json_deep_copy(ft->error);
	json_t *msg = json_string(message);
	char more[96];
	char *s = NULL;

	if (!j)
		return NULL;
	if (!msg)
		msg = json_string("(message is not UTF-8)");
	snprintf(more, sizeof(more), "https://www.twilio.com/docs/errors/%d", code);
	json_object_set_new(j, "code", json_integer(code));
	json_object_set_new(j, "message", msg);
	json_object_set_new(j, "more_info", json_string(more));
	if (json_integer_value(json_object_get(j, "status")) != status)
		json_object_set_new(j, "status", json_integer(status));
	s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

/* The 201 fixture with sid, to and body rewritten.  Caller frees with free(). */
static char *created_body(struct fake_twilio *ft, const struct fake_twilio_request *rec)
{
	json_t *j = json_deep_copy(ft->created);
	json_t *to = json_string(rec->to), *body = json_string(rec->body);
	char *s = NULL;

	if (!j || !to || !body)
		goto out;
	json_object_set_new(j, "sid", json_string(rec->sid));
	json_object_set(j, "to", to);
	json_object_set(j, "body", body);
	s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(body);
	json_decref(to);
	json_decref(j);
	return s;
}

/* Under the lock: takes the next scripted answer, or the default 201, for an accepted request. */
static void take_answer(struct fake_twilio *ft, struct scripted *out)
{
	if (fake_http_dequeue(&ft->http, out) < 0) {
		memset(out, 0, sizeof(*out));
		out->status = 201;
	}
}

/* Queues `body` (may be NULL: empty) with `status` on the connection, with a Retry-After header
 * when `retry_after` is not "". */
static enum MHD_Result send_answer(struct MHD_Connection *conn, int status, const char *body,
				   const char *retry_after)
{
	const char *headers[5] = { NULL };
	size_t n = 0;

	if (status == 401) {
		headers[n++] = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		headers[n++] = "Basic realm=\"Twilio API\"";
	}
	if (retry_after[0]) {
		headers[n++] = MHD_HTTP_HEADER_RETRY_AFTER;
		headers[n++] = retry_after;
	}
	return fake_http_respond(conn, status, body, "application/json; charset=utf-8", headers);
}

/*
 * The whole request has arrived: check it, pick the answer, record the request (before answering,
 * so a test that sees the gateway react also sees the record), then answer.
 */
static enum MHD_Result answer_request(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, struct fake_http_upload *ctx)
{
	struct fake_twilio *ft = cls;
	struct fake_twilio_request *rec = calloc(1, sizeof(*rec));
	struct rejection rej = { 0 };
	struct scripted ans = { 0 };
	char *body = NULL;
	enum MHD_Result r = MHD_NO;

	if (!rec)
		return MHD_NO;
	snprintf(rec->method, sizeof(rec->method), "%s", method);
	rec->path = strdup(url);
	rec->content_type = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_CONTENT_TYPE));
	rec->ok = check_request(ft, conn, url, method, ctx, rec, &rej) == 0;

	pthread_mutex_lock(&ft->http.lock);
	if (rec->ok) {
		take_answer(ft, &ans);
		if (ans.status == 201 && ans.sid[0])
			memcpy(rec->sid, ans.sid, sizeof(rec->sid));
		else if (ans.status == 201 && ft->repeated_sid[0])
			memcpy(rec->sid, ft->repeated_sid, sizeof(rec->sid));
		else if (ans.status == 201)
			snprintf(rec->sid, sizeof(rec->sid), "SM%016llx%016llx",
				 (unsigned long long)ft->sid_nonce,
				 (unsigned long long)++ft->sid_seq);
	} else {
		ans.status = rej.status;
		ans.code = rej.code;
		snprintf(ans.message, sizeof(ans.message), "%s", rej.message);
	}
	rec->status = ans.status;
	rec->at_ms = harness_now_ms(); /* under the lock: in the order of the records */
	if (fake_http_record(&ft->http, rec) < 0) {
		pthread_mutex_unlock(&ft->http.lock);
		request_free(rec);
		return MHD_NO;
	}
	pthread_mutex_unlock(&ft->http.lock);

	if (ans.status == 201)
		body = created_body(ft, rec);
	else if (ans.code)
		body = error_body(ft, ans.status, ans.code, ans.message);
	if ((ans.status == 201 || ans.code) && !body)
		goto out;
	r = send_answer(conn, ans.status, body, ans.retry_after);
out:
	free(body);
	return r;
}

static const struct fake_http_ops twilio_http_ops = {
	.name = "fake_twilio",
	.answer = answer_request,
	.free_req = request_free,
	.answer_size = sizeof(struct scripted),
};

/* Loads a JSON object fixture; NULL after a message. */
static json_t *load_fixture(const char *dir, const char *name)
{
	char path[HARNESS_PATH_LEN];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	j = json_load_file(path, 0, &e);
	if (!j || !json_is_object(j)) {
		fprintf(stderr, "fake_twilio: %s: %s\n", path, j ? "not an object" : e.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

struct fake_twilio *fake_twilio_start(const char *account_sid, const char *auth_token,
				      const char *fixtures_dir)
{
	struct fake_twilio *ft = calloc(1, sizeof(*ft));
	char path[256];

	if (!ft)
		return NULL;
	snprintf(path, sizeof(path), "/2010-04-01/Accounts/%s/Messages.json", account_sid);
	ft->account_sid = strdup(account_sid);
	ft->auth_token = strdup(auth_token);
	ft->messages_path = strdup(path);
	ft->created = load_fixture(fixtures_dir, "twilio-create-message-201.json");
	ft->error = load_fixture(fixtures_dir, "twilio-error-400-20001.json");
	if (!ft->account_sid || !ft->auth_token || !ft->messages_path || !ft->created ||
	    !ft->error)
		goto fail;
	if (getrandom(&ft->sid_nonce, sizeof(ft->sid_nonce), 0) != sizeof(ft->sid_nonce))
		ft->sid_nonce = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (fake_http_start(&ft->http, &twilio_http_ops, ft) < 0)
		goto fail;
	return ft;
fail:
	fake_twilio_stop(ft);
	return NULL;
}

void fake_twilio_stop(struct fake_twilio *ft)
{
	if (!ft)
		return;
	/* first: the daemon thread reads everything below */
	fake_http_stop(&ft->http);
	json_decref(ft->created);
	json_decref(ft->error);
	free(ft->messages_path);
	free(ft->auth_token);
	free(ft->account_sid);
	free(ft);
}

int fake_twilio_port(const struct fake_twilio *ft)
{
	return ft->http.port;
}

/* Appends one scripted answer; `retry_after` NULL sends no Retry-After.  0, or -1 when the queue
 * is full or `retry_after` does not fit. */
static int queue_answer(struct fake_twilio *ft, int status, int error_code, const char *message,
			const char *retry_after)
{
	struct scripted s = { .status = status, .code = error_code };

	if (retry_after && strlen(retry_after) >= sizeof(s.retry_after))
		return -1;
	if (message)
		snprintf(s.message, sizeof(s.message), "%s", message);
	else
		snprintf(s.message, sizeof(s.message), "Error %d", error_code);
	snprintf(s.retry_after, sizeof(s.retry_after), "%s", retry_after ? retry_after : "");
	return fake_http_queue(&ft->http, &s);
}

int fake_twilio_queue(struct fake_twilio *ft, int status, int error_code, const char *message)
{
	/* a wait short enough that tests on the real clock stay quick */
	return queue_answer(ft, status, error_code, message, status == 429 ? "1" : NULL);
}

int fake_twilio_queue_retry_after(struct fake_twilio *ft, const char *retry_after)
{
	return queue_answer(ft, 429, 20429, "Too Many Requests", retry_after);
}

int fake_twilio_queue_sid(struct fake_twilio *ft, const char *sid)
{
	struct scripted s = { .status = 201 };

	if (strlen(sid) >= sizeof(s.sid))
		return -1;
	memcpy(s.sid, sid, strlen(sid) + 1);
	return fake_http_queue(&ft->http, &s);
}

int fake_twilio_repeat_sid(struct fake_twilio *ft, const char *sid)
{
	if (sid && strlen(sid) >= sizeof(ft->repeated_sid))
		return -1;
	pthread_mutex_lock(&ft->http.lock);
	snprintf(ft->repeated_sid, sizeof(ft->repeated_sid), "%s", sid ? sid : "");
	pthread_mutex_unlock(&ft->http.lock);
	return 0;
}

size_t fake_twilio_count(struct fake_twilio *ft)
{
	return fake_http_count(&ft->http);
}

const struct fake_twilio_request *fake_twilio_request(struct fake_twilio *ft, size_t i)
{
	return fake_http_get(&ft->http, i);
}

size_t fake_twilio_wait(struct fake_twilio *ft, size_t n, int timeout_ms)
{
	return fake_http_wait(&ft->http, n, timeout_ms);
}

size_t fake_twilio_max_in_window(struct fake_twilio *ft, long long window_ms, long long *first_ms,
				 long long *last_ms)
{
	struct fake_http *fh = &ft->http;
	const struct fake_twilio_request *const *r;
	size_t best = 0, lo = 0;

	pthread_mutex_lock(&fh->lock);
	r = (const struct fake_twilio_request *const *)fh->reqs;
	for (size_t hi = 0; hi < fh->n_reqs; hi++) {
		while (r[hi]->at_ms - r[lo]->at_ms >= window_ms)
			lo++;
		if (hi - lo + 1 > best)
			best = hi - lo + 1;
	}
	if (first_ms)
		*first_ms = fh->n_reqs ? r[0]->at_ms : 0;
	if (last_ms)
		*last_ms = fh->n_reqs ? r[fh->n_reqs - 1]->at_ms : 0;
	pthread_mutex_unlock(&fh->lock);
	return best;
}

/* Byte-wise order of two fields by key, then value (Twilio sorts a repeated key's values). */
static int field_cmp(const void *a, const void *b)
{
	const struct form_field *x = *(const struct form_field *const *)a;
	const struct form_field *y = *(const struct form_field *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	if (c || x->key_len != y->key_len)
		return c ? c : (x->key_len < y->key_len ? -1 : 1);
	n = x->value_len < y->value_len ? x->value_len : y->value_len;
	c = memcmp(x->value, y->value, n);
	if (c || x->value_len != y->value_len)
		return c ? c : (x->value_len < y->value_len ? -1 : 1);
	return 0;
}

int fake_twilio_sign(const char *auth_token, const char *url, const char *form, size_t len,
		     char out[FAKE_TWILIO_SIG_LEN])
{
	struct form f = { 0 };
	const struct form_field **sorted = NULL;
	struct hash_ctx h;
	uint8_t mac[SHA1_LEN];
	int rc = -1;

	if (form_parse(&f, form, len) < 0)
		goto out;
	sorted = calloc(f.n ? f.n : 1, sizeof(*sorted));
	if (!sorted)
		goto out;
	for (size_t i = 0; i < f.n; i++)
		sorted[i] = &f.fields[i];
	qsort(sorted, f.n, sizeof(*sorted), field_cmp);
	hmac_init(&h, HASH_SHA1, auth_token, strlen(auth_token));
	hash_update(&h, url, strlen(url));
	for (size_t i = 0; i < f.n; i++) {
		/* a key repeated with the same value counts once */
		if (i && field_cmp(&sorted[i - 1], &sorted[i]) == 0)
			continue;
		hash_update(&h, sorted[i]->key, sorted[i]->key_len);
		hash_update(&h, sorted[i]->value, sorted[i]->value_len);
	}
	if (hash_final(&h, mac) < 0)
		goto out;
	base64_encode(mac, sizeof(mac), out);
	rc = 0;
out:
	free(sorted);
	form_release(&f);
	return rc;
}

/* The replacement `set` holds for `key`, or NULL; marks it used. */
static const char *set_lookup(const char *const *set, int *used, const char *key)
{
	for (size_t i = 0; set && set[i] && set[i + 1]; i += 2) {
		if (strcmp(set[i], key) == 0) {
			used[i / 2] = 1;
			return set[i + 1];
		}
	}
	return NULL;
}

int fake_twilio_form(const char *fixture_path, const char *const *set, struct buf *out)
{
	struct form f = { 0 };
	int used[64] = { 0 };
	size_t len = 0, pairs = 0;
	char *text;
	int rc = -1;

	while (set && set[2 * pairs] && set[2 * pairs + 1])
		pairs++;
	if (pairs > 64)
		return -1;
	text = harness_read_file(fixture_path, 64u << 10, &len);
	if (!text)
		return -1;
	/* the captured file ends with a newline that is not part of the body */
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (form_parse(&f, text, len) < 0)
		goto out;
	for (size_t i = 0; i < f.n; i++) {
		const char *v = set_lookup(set, used, f.fields[i].key);

		if (form_add(out, f.fields[i].key, v ? v : f.fields[i].value) < 0)
			goto out;
	}
	for (size_t i = 0; i < pairs; i++)
		if (!used[i] && form_add(out, set[2 * i], set[2 * i + 1]) < 0)
			goto out;
	rc = 0;
out:
	form_release(&f);
	free(text);
	return rc;
}
