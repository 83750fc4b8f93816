/* fake_receiver.c - see fake_receiver.h. */
#include "fake_receiver.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "harness.h"

#define REQUEST_BODY_CAP (256u << 10)
#define SIG_TOLERANCE_S 300

struct fake_receiver {
	struct MHD_Daemon *daemon;
	int port;
	char *secret;

	pthread_mutex_t lock;           /* guards everything below */
	int status;
	struct fake_receiver_request **reqs;
	size_t n_reqs, alloc_reqs, accepted;
};

struct conn_ctx {
	struct buf body;
};

/* Checks "t=<digits>,v1=<64 hex>" against HMAC-SHA256(secret, "<t>.<body>") the way a receiver
 * would: recompute, compare in constant time, refuse an old or future t. */
static int signature_ok(const char *secret, const char *header, const char *body, size_t len)
{
	uint8_t mac[SHA256_LEN];
	char want[2 * SHA256_LEN + 1], *signed_text;
	const char *v1;
	long long t;
	size_t tl;
	int ok;

	if (!header || strncmp(header, "t=", 2) != 0 || !(v1 = strstr(header, ",v1=")))
		return 0;
	tl = (size_t)(v1 - header - 2);
	if (tl == 0 || tl > 19 || strspn(header + 2, "0123456789") != tl)
		return 0;
	t = strtoll(header + 2, NULL, 10);
	if (llabs(t - (long long)time(NULL)) > SIG_TOLERANCE_S)
		return 0;
	if (!(signed_text = malloc(tl + 1 + len)))
		return 0;
	memcpy(signed_text, header + 2, tl);
	signed_text[tl] = '.';
	memcpy(signed_text + tl + 1, body, len);
	hmac_sha256(secret, strlen(secret), signed_text, tl + 1 + len, mac);
	free(signed_text);
	hex_encode(mac, sizeof(mac), want);
	ok = ct_streq(v1 + 4, want);
	return ok;
}

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t n)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	snprintf(out, n, "%s", v ? v : "");
}

/* Records the request, then answers it. */
static enum MHD_Result answer(struct fake_receiver *r, struct MHD_Connection *conn,
			      struct conn_ctx *ctx)
{
	struct fake_receiver_request *rec = calloc(1, sizeof(*rec));
	const char *body = buf_cstr(&ctx->body);
	json_t *j = NULL, *id, *type;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int status = 400;

	if (!rec || !(rec->body = strdup(body))) {
		free(rec);
		return MHD_NO;
	}
	copy_header(conn, "X-Gateway-Event-Id", rec->header_id, sizeof(rec->header_id));
	copy_header(conn, "Content-Type", rec->content_type, sizeof(rec->content_type));
	copy_header(conn, "User-Agent", rec->user_agent, sizeof(rec->user_agent));
	rec->sig_ok = signature_ok(r->secret, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									 "X-Gateway-Signature"),
				   body, ctx->body.len);
	j = json_loadb(body, ctx->body.len, 0, NULL);
	id = json_object_get(j, "id");
	type = json_object_get(j, "type");
	if (json_is_string(id) && json_is_string(type)) {
		snprintf(rec->id, sizeof(rec->id), "%s", json_string_value(id));
		snprintf(rec->type, sizeof(rec->type), "%s", json_string_value(type));
	}
	json_decref(j);
	pthread_mutex_lock(&r->lock);
	if (rec->sig_ok && rec->id[0])
		status = r->status;
	rec->status = status;
	if (r->n_reqs == r->alloc_reqs) {
		size_t want = r->alloc_reqs ? 2 * r->alloc_reqs : 64;
		struct fake_receiver_request **v = realloc(r->reqs, want * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&r->lock);
			free(rec->body);
			free(rec);
			return MHD_NO;
		}
		r->reqs = v;
		r->alloc_reqs = want;
	}
	r->reqs[r->n_reqs++] = rec;
	if (status >= 200 && status < 300)
		r->accepted++;
	pthread_mutex_unlock(&r->lock);
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct conn_ctx *ctx = *con_cls;

	(void)url, (void)method, (void)version;
	if (!ctx) {
		if (!(ctx = calloc(1, sizeof(*ctx))))
			return MHD_NO;
		buf_init(&ctx->body, REQUEST_BODY_CAP);
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_size) {
		if (buf_append(&ctx->body, upload, *upload_size) < 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	return answer(cls, conn, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *ctx = *con_cls;

	(void)cls, (void)conn, (void)toe;
	if (!ctx)
		return;
	buf_release(&ctx->body);
	free(ctx);
	*con_cls = NULL;
}

struct fake_receiver *fake_receiver_new(const char *secret)
{
	struct fake_receiver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (!(r->secret = strdup(secret))) {
		free(r);
		return NULL;
	}
	r->status = 200;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

int fake_receiver_listen(struct fake_receiver *r, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;

	if (r->daemon)
		return 0;
	if (!port)
		port = r->port;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	r->daemon = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				     NULL, on_request, r,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				     MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				     MHD_OPTION_END);
	if (!r->daemon) {
		fprintf(stderr, "fake_receiver: cannot listen on port %d\n", port);
		return -1;
	}
	info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		fprintf(stderr, "fake_receiver: no bound port\n");
		fake_receiver_close(r);
		return -1;
	}
	r->port = info->port;
	return 0;
}

void fake_receiver_close(struct fake_receiver *r)
{
	if (r && r->daemon) {
		MHD_stop_daemon(r->daemon);
		r->daemon = NULL;
	}
}

void fake_receiver_free(struct fake_receiver *r)
{
	if (!r)
		return;
	fake_receiver_close(r);
	for (size_t i = 0; i < r->n_reqs; i++) {
		free(r->reqs[i]->body);
		free(r->reqs[i]);
	}
	free(r->reqs);
	free(r->secret);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int fake_receiver_port(const struct fake_receiver *r)
{
	return r->port;
}

void fake_receiver_set_status(struct fake_receiver *r, int status)
{
	pthread_mutex_lock(&r->lock);
	r->status = status;
	pthread_mutex_unlock(&r->lock);
}

size_t fake_receiver_count(struct fake_receiver *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->n_reqs;
	pthread_mutex_unlock(&r->lock);
	return n;
}

const struct fake_receiver_request *fake_receiver_request(struct fake_receiver *r, size_t i)
{
	const struct fake_receiver_request *rec = NULL;

	pthread_mutex_lock(&r->lock);
	if (i < r->n_reqs)
		rec = r->reqs[i];
	pthread_mutex_unlock(&r->lock);
	return rec;
}

size_t fake_receiver_wait_accepted(struct fake_receiver *r, size_t n, int timeout_ms)
{
	long long until = harness_now_ms() + timeout_ms;
	size_t got;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		got = r->accepted;
		pthread_mutex_unlock(&r->lock);
		if (got >= n || harness_now_ms() >= until)
			return got;
		harness_sleep_ms(20);
	}
}
