/*
 * fake_http.h - the libmicrohttpd plumbing shared by the fake provider servers (fake_twilio,
 * fake_meta, fake_zenvia): a daemon on a free port of 127.0.0.1, the capped collection of each
 * request body, the log of recorded requests that a test thread counts, reads and waits on, and a
 * fixed-size queue of scripted answers.  What a fake checks and answers stays in the fake.
 *
 * A fake embeds a struct fake_http, describes itself with a const struct fake_http_ops and calls
 * fake_http_start() last in its own start function.  The daemon thread calls ops->answer once per
 * request, with the whole body gathered; the answer function records the request with
 * fake_http_record() (under `lock`) before it answers, so a test that sees the gateway react also
 * sees the record.
 *
 * Threads: `lock` guards the recorded requests and the queue; every function below except the two
 * marked "under the lock" takes it itself.  Recorded requests are immutable once recorded and are
 * freed by fake_http_stop() with ops->free_req.
 */
#ifndef GW_TESTS_FAKE_HTTP_H
#define GW_TESTS_FAKE_HTTP_H

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>

#include "buf.h"

#define FAKE_HTTP_QUEUE_LEN 16          /* scripted answers a fake holds at once */
#define FAKE_HTTP_BODY_CAP (64u << 10)  /* request bodies past this are flagged, not kept */

/* A request body as gathered; `too_big` set once it went past FAKE_HTTP_BODY_CAP (`body` then
 * holds what came before). */
struct fake_http_upload {
	struct buf body;
	int too_big;
};

struct fake_http_ops {
	const char *name;               /* "fake_twilio": prefixes messages on stderr */
	/* Answers one complete request (queues a response on `conn`); `cls` is fake_http_start()'s.
	 * `up` is freed after the connection's request completes. */
	enum MHD_Result (*answer)(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, struct fake_http_upload *up);
	void (*free_req)(void *req);    /* frees one recorded request */
	size_t answer_size;             /* sizeof one scripted answer, as the fake defines it */
};

struct fake_http {
	const struct fake_http_ops *ops; /* NULL until fake_http_start() got as far as the lock */
	void *cls;
	struct MHD_Daemon *daemon;
	int port;

	pthread_mutex_t lock;           /* guards everything below */
	pthread_cond_t arrived;         /* signalled on every recorded request */
	void **reqs;
	size_t n_reqs, alloc;
	unsigned char *queue;           /* FAKE_HTTP_QUEUE_LEN answers of ops->answer_size bytes */
	size_t q_head, q_len;
};

/*
 * Starts answering on a free port of 127.0.0.1: `fh` (zeroed by the caller) then calls
 * ops->answer(cls, ...) for every request.  `ops` must outlive `fh`.  0, or -1 after a message on
 * stderr; either way fake_http_stop() releases what was taken.
 */
int fake_http_start(struct fake_http *fh, const struct fake_http_ops *ops, void *cls);

/* Stops the daemon (closing every connection, so no answer runs afterwards) and frees the recorded
 * requests and the queue.  Harmless on a zeroed `fh` and on one whose start failed. */
void fake_http_stop(struct fake_http *fh);

/* Under the lock: appends `req` (ownership passes to `fh`) and wakes waiters.  -1 when out of
 * memory, `req` then still the caller's. */
int fake_http_record(struct fake_http *fh, void *req);

/* The number of requests recorded so far. */
size_t fake_http_count(struct fake_http *fh);

/* Recorded request `i` (0 = first), or NULL when there is none yet; valid until
 * fake_http_stop(). */
void *fake_http_get(struct fake_http *fh, size_t i);

/* Waits until at least `n` requests were recorded or `timeout_ms` passed; returns the count
 * then. */
size_t fake_http_wait(struct fake_http *fh, size_t n, int timeout_ms);

/* Copies `answer` (ops->answer_size bytes) to the end of the queue.  0, or -1 when it is full. */
int fake_http_queue(struct fake_http *fh, const void *answer);

/* Under the lock: moves the oldest queued answer to `out`.  0, or -1 when the queue is empty. */
int fake_http_dequeue(struct fake_http *fh, void *out);

/* 1 when the Content-Type header value `ct` (may be NULL) names the media type `type`, in any
 * case and with or without parameters ("application/json; charset=utf-8"); 0 otherwise. */
int fake_http_type_is(const char *ct, const char *type);

/*
 * Queues the answer `status` on `conn`: `body` (copied; NULL sends an empty body and no
 * Content-Type) with "Content-Type: `content_type`", plus `headers`, a NULL-terminated list of
 * name, value, name, value... (NULL: none).  What MHD_queue_response() returns, or MHD_NO when
 * the response cannot be built.
 */
enum MHD_Result fake_http_respond(struct MHD_Connection *conn, int status, const char *body,
				  const char *content_type, const char *const *headers);

#endif
