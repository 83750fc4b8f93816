/* fake_zenvia.c - see fake_zenvia.h. */
#include "fake_zenvia.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define QUEUE_LEN 16
#define REQUEST_BODY_CAP (64u << 10)
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
	struct MHD_Daemon *daemon;
	int port;
	char *api_token;
	uint32_t id_nonce[3];           /* random: ids differ between fakes and runs */

	pthread_mutex_t lock;           /* guards everything below */
	pthread_cond_t arrived;         /* signalled on every recorded request */
	struct fake_zenvia_request **reqs;
	size_t n_reqs, alloc_reqs;
	struct scripted queue[QUEUE_LEN];
	size_t q_head, q_len;
	uint64_t id_seq;
};

/* Per-connection upload state, freed by on_completed(). */
struct conn_ctx {
	struct buf body;
	int too_big;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void request_free(struct fake_zenvia_request *r)
{
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

/* 1 when the Content-Type header names application/json (parameters allowed). */
static int is_json_type(const char *ct)
{
	size_t n = strlen(JSON_TYPE);

	if (!ct || strncasecmp(ct, JSON_TYPE, n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
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
static int check_body(struct conn_ctx *ctx, struct fake_zenvia_request *rec, struct scripted *ans)
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
			 struct conn_ctx *ctx, struct fake_zenvia_request *rec,
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
	if (!is_json_type(rec->content_type))
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
	if (fz->q_len) {
		*out = fz->queue[fz->q_head];
		fz->q_head = (fz->q_head + 1) % QUEUE_LEN;
		fz->q_len--;
	} else {
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

/* Under the lock: appends the record and wakes waiters.  -1 when out of memory. */
static int record(struct fake_zenvia *fz, struct fake_zenvia_request *rec)
{
	if (fz->n_reqs == fz->alloc_reqs) {
		size_t n = fz->alloc_reqs ? 2 * fz->alloc_reqs : 16;
		struct fake_zenvia_request **p = realloc(fz->reqs, n * sizeof(*p));

		if (!p)
			return -1;
		fz->reqs = p;
		fz->alloc_reqs = n;
	}
	fz->reqs[fz->n_reqs++] = rec;
	pthread_cond_broadcast(&fz->arrived);
	return 0;
}

/* Queues `body` (may be NULL: empty) with `status` on the connection. */
static enum MHD_Result send_answer(struct MHD_Connection *conn, int status, const char *body)
{
	struct MHD_Response *resp;
	enum MHD_Result r;
	size_t len = body ? strlen(body) : 0;

	resp = MHD_create_response_from_buffer(len, (void *)(body ? body : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json; charset=utf-8");
	r = MHD_queue_response(conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return r;
}

/* A new record of what arrived: method, path, headers, raw body.  NULL when out of memory. */
static struct fake_zenvia_request *new_record(struct MHD_Connection *conn, const char *url,
					      const char *method, struct conn_ctx *ctx)
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
static enum MHD_Result answer_request(struct fake_zenvia *fz, struct MHD_Connection *conn,
				      const char *url, const char *method, struct conn_ctx *ctx)
{
	struct fake_zenvia_request *rec = new_record(conn, url, method, ctx);
	struct scripted ans = { 0 };
	char *body = NULL;
	enum MHD_Result r = MHD_NO;

	if (!rec)
		return MHD_NO;
	rec->ok = check_request(fz, url, method, ctx, rec, &ans) == 0;

	pthread_mutex_lock(&fz->lock);
	if (rec->ok) {
		take_answer(fz, &ans);
		if (ans.status == 200)
			next_id(fz, rec->id);
	}
	rec->status = ans.status;
	if (record(fz, rec) < 0) {
		pthread_mutex_unlock(&fz->lock);
		request_free(rec);
		return MHD_NO;
	}
	pthread_mutex_unlock(&fz->lock);

	if (ans.status == 200)
		body = accepted_body(rec);
	else if (ans.has_code)
		body = error_body(&ans);
	if ((ans.status == 200 || ans.has_code) && !body)
		goto out;
	r = send_answer(conn, ans.status, body);
out:
	free(body);
	return r;
}

/* libmicrohttpd's access handler: gathers the upload (capped), then answers once it is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct conn_ctx *ctx = *con_cls;

	if (!ctx) {
		ctx = calloc(1, sizeof(*ctx));
		if (!ctx)
			return MHD_NO;
		buf_init(&ctx->body, REQUEST_BODY_CAP);
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!ctx->too_big && buf_append(&ctx->body, upload, *upload_size) < 0)
			ctx->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	return answer_request(cls, conn, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *ctx = *con_cls;

	if (!ctx)
		return;
	buf_release(&ctx->body);
	free(ctx);
	*con_cls = NULL;
}

struct fake_zenvia *fake_zenvia_start(const char *api_token)
{
	struct fake_zenvia *fz = calloc(1, sizeof(*fz));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;
	pthread_condattr_t ca;

	if (!fz)
		return NULL;
	pthread_mutex_init(&fz->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fz->arrived, &ca);
	pthread_condattr_destroy(&ca);
	fz->api_token = strdup(api_token);
	if (!fz->api_token)
		goto fail;
	if (getrandom(fz->id_nonce, sizeof(fz->id_nonce), 0) != sizeof(fz->id_nonce)) {
		fz->id_nonce[0] = (uint32_t)time(NULL);
		fz->id_nonce[1] = (uint32_t)getpid();
		fz->id_nonce[2] = (uint32_t)(uintptr_t)fz;
	}

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fz->daemon = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0,
				      NULL, NULL, on_request, fz,
				      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				      MHD_OPTION_NOTIFY_COMPLETED, on_completed, fz,
				      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				      MHD_OPTION_END);
	if (!fz->daemon) {
		fprintf(stderr, "fake_zenvia: MHD_start_daemon failed\n");
		goto fail;
	}
	info = MHD_get_daemon_info(fz->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		fprintf(stderr, "fake_zenvia: no bound port\n");
		goto fail;
	}
	fz->port = info->port;
	return fz;
fail:
	fake_zenvia_stop(fz);
	return NULL;
}

void fake_zenvia_stop(struct fake_zenvia *fz)
{
	if (!fz)
		return;
	if (fz->daemon)
		MHD_stop_daemon(fz->daemon);
	for (size_t i = 0; i < fz->n_reqs; i++)
		request_free(fz->reqs[i]);
	free(fz->reqs);
	free(fz->api_token);
	pthread_cond_destroy(&fz->arrived);
	pthread_mutex_destroy(&fz->lock);
	free(fz);
}

int fake_zenvia_port(const struct fake_zenvia *fz)
{
	return fz->port;
}

int fake_zenvia_queue(struct fake_zenvia *fz, int status, const char *code, const char *message)
{
	struct scripted *s;
	int rc = -1;

	pthread_mutex_lock(&fz->lock);
	if (fz->q_len == QUEUE_LEN)
		goto out;
	s = &fz->queue[(fz->q_head + fz->q_len) % QUEUE_LEN];
	memset(s, 0, sizeof(*s));
	s->status = status;
	s->has_code = code != NULL;
	snprintf(s->code, sizeof(s->code), "%s", code ? code : "");
	if (message)
		snprintf(s->message, sizeof(s->message), "%s", message);
	else
		snprintf(s->message, sizeof(s->message), "Error %d", status);
	fz->q_len++;
	rc = 0;
out:
	pthread_mutex_unlock(&fz->lock);
	return rc;
}

size_t fake_zenvia_count(struct fake_zenvia *fz)
{
	size_t n;

	pthread_mutex_lock(&fz->lock);
	n = fz->n_reqs;
	pthread_mutex_unlock(&fz->lock);
	return n;
}

const struct fake_zenvia_request *fake_zenvia_request(struct fake_zenvia *fz, size_t i)
{
	const struct fake_zenvia_request *r = NULL;

	pthread_mutex_lock(&fz->lock);
	if (i < fz->n_reqs)
		r = fz->reqs[i];
	pthread_mutex_unlock(&fz->lock);
	return r;
}

size_t fake_zenvia_wait(struct fake_zenvia *fz, size_t n, int timeout_ms)
{
	struct timespec until;
	size_t got;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&fz->lock);
	while (fz->n_reqs < n)
		if (pthread_cond_timedwait(&fz->arrived, &fz->lock, &until) != 0)
			break;
	got = fz->n_reqs;
	pthread_mutex_unlock(&fz->lock);
	return got;
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
	    rewrite(msg, "channel", channel) < 0)
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
