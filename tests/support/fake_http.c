/* fake_http.c - see fake_http.h. */
#include "fake_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* libmicrohttpd's access handler: gathers the upload (capped), then answers once it is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct fake_http *fh = cls;
	struct fake_http_upload *up = *con_cls;

	if (!up) {
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		buf_init(&up->body, FAKE_HTTP_BODY_CAP);
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!up->too_big && buf_append(&up->body, upload, *upload_size) < 0)
			up->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	return fh->ops->answer(fh->cls, conn, url, method, up);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct fake_http_upload *up = *con_cls;

	if (!up)
		return;
	buf_release(&up->body);
	free(up);
	*con_cls = NULL;
}

int fake_http_start(struct fake_http *fh, const struct fake_http_ops *ops, void *cls)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;
	pthread_condattr_t ca;

	pthread_mutex_init(&fh->lock, NULL);
	/* waits are timed on the monotonic clock so a wall-clock step cannot stretch them */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fh->arrived, &ca);
	pthread_condattr_destroy(&ca);
	fh->ops = ops;
	fh->cls = cls;
	fh->queue = calloc(FAKE_HTTP_QUEUE_LEN, ops->answer_size);
	if (!fh->queue) {
		fprintf(stderr, "%s: out of memory\n", ops->name);
		return -1;
	}

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fh->daemon = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0,
				      NULL, NULL, on_request, fh,
				      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				      MHD_OPTION_NOTIFY_COMPLETED, on_completed, fh,
				      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				      MHD_OPTION_END);
	if (!fh->daemon) {
		fprintf(stderr, "%s: MHD_start_daemon failed\n", ops->name);
		return -1;
	}
	info = MHD_get_daemon_info(fh->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		fprintf(stderr, "%s: no bound port\n", ops->name);
		return -1;
	}
	fh->port = info->port;
	return 0;
}

void fake_http_stop(struct fake_http *fh)
{
	if (!fh->ops)
		return;
	if (fh->daemon)
		MHD_stop_daemon(fh->daemon);
	for (size_t i = 0; i < fh->n_reqs; i++)
		fh->ops->free_req(fh->reqs[i]);
	free(fh->reqs);
	free(fh->queue);
	pthread_cond_destroy(&fh->arrived);
	pthread_mutex_destroy(&fh->lock);
	memset(fh, 0, sizeof(*fh));
}

int fake_http_record(struct fake_http *fh, void *req)
{
	if (fh->n_reqs == fh->alloc) {
		size_t n = fh->alloc ? 2 * fh->alloc : 16;
		void **p = realloc(fh->reqs, n * sizeof(*p));

		if (!p)
			return -1;
		fh->reqs = p;
		fh->alloc = n;
	}
	fh->reqs[fh->n_reqs++] = req;
	pthread_cond_broadcast(&fh->arrived);
	return 0;
}

size_t fake_http_count(struct fake_http *fh)
{
	size_t n;

	pthread_mutex_lock(&fh->lock);
	n = fh->n_reqs;
	pthread_mutex_unlock(&fh->lock);
	return n;
}

void *fake_http_get(struct fake_http *fh, size_t i)
{
	void *r = NULL;

	pthread_mutex_lock(&fh->lock);
	if (i < fh->n_reqs)
		r = fh->reqs[i];
	pthread_mutex_unlock(&fh->lock);
	return r;
}

size_t fake_http_wait(struct fake_http *fh, size_t n, int timeout_ms)
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
	pthread_mutex_lock(&fh->lock);
	while (fh->n_reqs < n)
		if (pthread_cond_timedwait(&fh->arrived, &fh->lock, &until) != 0)
			break;
	got = fh->n_reqs;
	pthread_mutex_unlock(&fh->lock);
	return got;
}

int fake_http_queue(struct fake_http *fh, const void *answer)
{
	size_t size = fh->ops->answer_size;
	int rc = -1;

	pthread_mutex_lock(&fh->lock);
	if (fh->q_len == FAKE_HTTP_QUEUE_LEN)
		goto out;
	memcpy(fh->queue + (fh->q_head + fh->q_len) % FAKE_HTTP_QUEUE_LEN * size, answer, size);
	fh->q_len++;
	rc = 0;
out:
	pthread_mutex_unlock(&fh->lock);
	return rc;
}

int fake_http_dequeue(struct fake_http *fh, void *out)
{
	size_t size = fh->ops->answer_size;

	if (!fh->q_len)
		return -1;
	memcpy(out, fh->queue + fh->q_head * size, size);
	fh->q_head = (fh->q_head + 1) % FAKE_HTTP_QUEUE_LEN;
	fh->q_len--;
	return 0;
}

int fake_http_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	if (!ct || strncasecmp(ct, type, n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

enum MHD_Result fake_http_respond(struct MHD_Connection *conn, int status, const char *body,
				  const char *content_type, const char *const *headers)
{
	struct MHD_Response *resp;
	enum MHD_Result r;
	size_t len = body ? strlen(body) : 0;

	resp = MHD_create_response_from_buffer(len, (void *)(body ? body : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
	r = MHD_queue_response(conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return r;
}
