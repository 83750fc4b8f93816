/* server.c - see server.h. */
#include "server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "lingering.h"
#include "log.h"
#include "metrics.h"

/*
 * One per open connection, for [server] request_timeout.  libmicrohttpd's own timeout counts idle
 * time only, so a client that sends one byte a second keeps its connection (and a worker's
 * attention) for ever; the reaper thread shuts down a connection whose request has not arrived
 * whole within request_timeout.  All fields are guarded by server.lock.
 */
struct tracked {
	struct tracked *prev, *next;
	int fd;
	int64_t since_ms;       /* when the request now arriving could begin: the connection opened,
				 * or the previous answer was sent */
	int busy;               /* a whole request is being handled or answered */
	int cut;                /* already shut down by the reaper */
	int linger;             /* answered before its body was read: linger when closed */
};

struct request_state;

/*
 * Handlers run on a pool of their own threads, not on libmicrohttpd's: a handler that writes waits
 * for the group commit (an fsync), and while it waits its connection is suspended and the
 * libmicrohttpd thread goes on serving others.  So as many requests as there are handler threads
 * can share one commit, where libmicrohttpd's one thread per core would allow only that many.
 */
#define HANDLER_THREADS 64

struct server {
	struct gateway *gw;
	struct MHD_Daemon *daemon;
	_Atomic int open_connections;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct tracked *conns;
	int stopping;
	pthread_t reaper;
	int reaper_started;
	/* the handler pool: requests waiting for a handler thread, oldest first */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct request_state *qhead, *qtail;
	int qstopping;                  /* handlers drain the queue and exit; new requests are
					 * handled on libmicrohttpd's thread */
	int deferred;                   /* answers set aside by request_defer(), not yet resumed */
	pthread_cond_t deferred_cond;   /* signalled when the last one is resumed */
	pthread_t handlers[HANDLER_THREADS];
	size_t n_handlers;
	struct lingering *linger;       /* lingering close of answered, unread connections */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *reaper_main(void *arg)
{
	struct server *s = arg;
	int64_t limit = s->gw->cfg.request_timeout_ms;

	pthread_setname_np(pthread_self(), "gw-reaper");
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec until;
		int64_t now = mono_ms();

		for (struct tracked *t = s->conns; t; t = t->next) {
			if (t->busy || t->cut || now - t->since_ms < limit)
				continue;
			/* The connection is closed by libmicrohttpd's thread, which sees the end of
			 * the stream; the fd stays valid until the CLOSED notice, taken under lock. */
			t->cut = 1;
			shutdown(t->fd, SHUT_RDWR);
			log_warn("request_timeout", "closed a connection whose request was not "
				 "whole after %lld ms (request_timeout %lld ms)",
				 (long long)(now - t->since_ms), (long long)limit);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->wake, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static struct tracked *tracked_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* A whole request arrived (busy = 1), or its answer was sent (busy = 0: the clock restarts). */
static void tracked_mark(struct server *s, struct MHD_Connection *conn, int busy)
{
	struct tracked *t = tracked_of(conn);

	if (!t)
		return;
	pthread_mutex_lock(&s->lock);
	t->busy = busy;
	if (!busy)
		t->since_ms = mono_ms();
	pthread_mutex_unlock(&s->lock);
}

/*
 * [server] connection_limit, refused at accept.  libmicrohttpd's own limit is split between its
 * worker threads, and a thread at its share stops accepting, so extra clients would wait in the
 * kernel's queue instead of being refused: the gateway counts connections itself and gives
 * libmicrohttpd a higher limit.
 */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct server *s = cls;

	(void)addr;
	(void)len;
	return s->open_connections < s->gw->cfg.connection_limit ? MHD_YES : MHD_NO;
}

static void connection_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			      enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;

	struct tracked *t;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		s->open_connections++;
		if (!ci || !(t = calloc(1, sizeof(*t))))
			return;         /* untracked: only the idle timeout applies */
		t->fd = ci->connect_fd;
		pthread_mutex_lock(&s->lock);
		t->since_ms = mono_ms();
		t->next = s->conns;
		if (s->conns)
			s->conns->prev = t;
		s->conns = t;
		pthread_mutex_unlock(&s->lock);
		*socket_ctx = t;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		s->open_connections--;
		if (!(t = *socket_ctx))
			return;
		pthread_mutex_lock(&s->lock);
		/* libmicrohttpd closes its descriptor after this notice; a copy keeps the socket
		 * open for the lingering close (its answer sent, its writing side shut down). */
		if (t->linger && !t->cut && s->linger) {
			int fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);

			if (fd >= 0)
				lingering_add(s->linger, fd, s->gw->cfg.connection_timeout_ms,
					      s->gw->cfg.request_timeout_ms);
		}
		if (t->prev)
			t->prev->next = t->next;
		else
			s->conns = t->next;
		if (t->next)
			t->next->prev = t->prev;
		pthread_mutex_unlock(&s->lock);
		free(t);
		*socket_ctx = NULL;
	}
}

/* Per-request state kept by libmicrohttpd between calls of the access handler. */
#define MAX_TRIMMED 8

/*
 * A body over the route's cap is never kept, but it is read and dropped, up to this many bytes:
 * a client that writes its whole request before it reads (Python's http.client, most libraries
 * without Expect: 100-continue) would otherwise find the connection reset under it while still
 * writing, and see a broken pipe instead of the 413.  A declared body over the cap is answered
 * at once and the rest read by the lingering close (lingering.h); a chunked one is read to its
 * end here, then answered.  Past this many bytes the connection is closed without more ado (a
 * declared body that large is not lingered for at all).  The time it may take is bounded by
 * [server] request_timeout and connection_timeout, as for any request.
 */
#define DISCARD_LIMIT ((size_t)16 << 20)
#define LINGER_SOCKETS 64       /* lingering at once; more are closed at once */

struct request_state {
	struct buf body;
	int too_large;                  /* over the cap: the rest is dropped, then 413 */
	size_t received;                /* body bytes seen so far, kept or dropped */
	char *trimmed[MAX_TRIMMED];     /* header values copied without trailing white space */
	size_t n_trimmed;
	/* while a handler thread has it (the connection suspended) */
	struct request req;
	struct response *resp;          /* filled by the handler */
	int answered;                   /* the handler is done: queue resp when resumed */
	struct request_state *qnext;
	struct server *srv;
	int inline_call; /* api_handle() runs on libmicrohttpd's thread */
};

/* Calls the finish() of an answer set aside by request_defer(), once; nothing for another. */
static void finish_deferred(struct response *r)
{
	void (*finish)(void *, struct response *) = r->finish;

	if (!finish)
		return;
	r->finish = NULL;
	finish(r->finish_ctx, r);
}

int request_defer(const struct request *req, struct response *resp,
		  void (*finish)(void *ctx, struct response *resp), void *ctx)
{
	struct request_state *rs = req->state;
	struct server *s;

	if (!rs || !rs->inline_call)
		return 0;
	s = rs->srv;
	pthread_mutex_lock(&s->qlock);
	if (s->qstopping) {
		pthread_mutex_unlock(&s->qlock);
		return 0;
	}
	s->deferred++;
	pthread_mutex_unlock(&s->qlock);
	resp->finish = finish;
	resp->finish_ctx = ctx;
	MHD_suspend_connection(rs->req.conn);
	return 1;
}

/* From any thread.  Once the connection is resumed, libmicrohttpd's thread may answer and free
 * rs at once: nothing of it is touched after. */
void request_resume(void *state)
{
	struct request_state *rs = state;
	struct server *s = rs->srv;

	rs->answered = 1;
	MHD_resume_connection(rs->req.conn);
	pthread_mutex_lock(&s->qlock);
	if (--s->deferred == 0)
		pthread_cond_broadcast(&s->deferred_cond);
	pthread_mutex_unlock(&s->qlock);
}

const char request_value_invalid[] = "\x01";

/* The value of `name` of `kind`, checked for NUL bytes; its length in *len. */
static const char *lookup(const struct request *req, enum MHD_ValueKind kind, const char *name,
			  size_t *len)
{
	const char *v = NULL;

	if (MHD_lookup_connection_value_n(req->conn, kind, name, strlen(name), &v, len) != MHD_YES ||
	    !v)
		return NULL;
	return strlen(v) == *len ? v : REQUEST_VALUE_INVALID;
}

const char *request_header(const struct request *req, const char *name)
{
	struct request_state *rs = req->state;
	size_t len, end;
	const char *v = lookup(req, MHD_HEADER_KIND, name, &len);
	char *copy;

	if (!v || v == REQUEST_VALUE_INVALID)
		return v;
	v += strspn(v, " \t");
	end = strlen(v);
	if (!end || (v[end - 1] != ' ' && v[end - 1] != '\t'))
		return v;
	while (end && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;
	if (!rs || rs->n_trimmed == MAX_TRIMMED || !(copy = strndup(v, end)))
		return REQUEST_VALUE_INVALID;
	rs->trimmed[rs->n_trimmed++] = copy;
	return copy;
}

const char *request_query(const struct request *req, const char *name)
{
	size_t len;

	return lookup(req, MHD_GET_ARGUMENT_KIND, name, &len);
}

struct unknown_arg {
	const char *const *known;
	const char *first;
};

static enum MHD_Result find_unknown_arg(void *cls, enum MHD_ValueKind kind, const char *key,
					const char *value)
{
	struct unknown_arg *u = cls;
	size_t i;

	(void)kind;
	(void)value;
	for (i = 0; u->known[i] && strcmp(key, u->known[i]) != 0; i++)
		;
	if (u->known[i])
		return MHD_YES;
	u->first = key;
	return MHD_NO;
}

const char *request_query_unknown(const struct request *req, const char *const *known)
{
	struct unknown_arg u = { known, NULL };

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, find_unknown_arg, &u);
	return u.first;
}

/* Counts Content-Length headers that disagree with the first (RFC 9112 §6.3: refuse them). */
static enum MHD_Result count_lengths(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	const char **first = cls;

	(void)kind;
	if (strcasecmp(key, "Content-Length") != 0)
		return MHD_YES;
	if (!first[0])
		first[0] = value;
	else if (strcmp(first[0], value) != 0)
		first[1] = value;
	return MHD_YES;
}

static ssize_t read_stream(void *cls, uint64_t pos, char *out, size_t max)
{
	struct response *r = cls;
	ssize_t n;

	(void)pos;
	n = r->reader(r->reader_ctx, out, max);
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static void free_stream(void *cls)
{
	struct response *r = cls;

	if (r->release)
		r->release(r->reader_ctx);
	buf_release(&r->body);
	free(r);
}

/* Hands `r` to libmicrohttpd; takes ownership of r (heap-allocated). */
static enum MHD_Result send_response(struct server *s, struct MHD_Connection *conn,
				      struct response *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	int status = r->status ? r->status : 500;

	if (r->reader) {
		mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_stream, r,
						       free_stream);
	} else {
		size_t len;
		char *body = buf_detach(&r->body, &len);

		mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (!mr)
			free(body);
	}
	if (!mr) {
		free_stream(r);
		return MHD_NO;
	}
	if (r->content_type)
		MHD_add_response_header(mr, "Content-Type", r->content_type);
	if (r->extra_header) {
		const char *colon = strchr(r->extra_header, ':');
		char name[64];

		if (colon && (size_t)(colon - r->extra_header) < sizeof(name)) {
			memcpy(name, r->extra_header, (size_t)(colon - r->extra_header));
			name[colon - r->extra_header] = '\0';
			MHD_add_response_header(mr, name, colon + 2);
		}
	}
	metrics_http(s->gw->metrics, status);
	ret = MHD_queue_response(conn, (unsigned)status, mr);
	MHD_destroy_response(mr);
	if (!r->reader)
		free_stream(r);         /* a streamed response is freed by libmicrohttpd */
	return ret;
}

static struct response *response_new(void)
{
	struct response *r = calloc(1, sizeof(*r));

	if (r)
		buf_init(&r->body, 1 << 20);
	return r;
}

/* 413 body_too_large, and the connection closed after it: what is left of an unread body must
 * never be taken for the next request. */
static enum MHD_Result send_too_large(struct server *s, struct MHD_Connection *conn, size_t limit)
{
	struct response *r = response_new();

	if (!r)
		return MHD_NO;
	http_error(r, 413, "body_too_large", "", "request body is larger than %zu bytes", limit);
	r->extra_header = "Connection: close";
	return send_response(s, conn, r);
}

/* The connection is being answered before its body is read: once libmicrohttpd is done with
 * it, it lingers (connection_notify()). */
static void linger_when_closed(struct server *s, struct MHD_Connection *conn)
{
	struct tracked *t = tracked_of(conn);

	if (!t)
		return;
	pthread_mutex_lock(&s->lock);
	t->linger = 1;
	pthread_mutex_unlock(&s->lock);
}

/* Suspends the request's connection and queues it for a handler thread: 1, or 0 when the pool is
 * stopping (the caller then handles it itself). */
static int hand_over(struct server *s, struct request_state *rs)
{
	pthread_mutex_lock(&s->qlock);
	if (s->qstopping || !s->n_handlers) {
		pthread_mutex_unlock(&s->qlock);
		return 0;
	}
	MHD_suspend_connection(rs->req.conn);
	rs->qnext = NULL;
	if (s->qtail)
		s->qtail->qnext = rs;
	else
		s->qhead = rs;
	s->qtail = rs;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	return 1;
}

static void *handler_main(void *arg)
{
	struct server *s = arg;

	pthread_setname_np(pthread_self(), "gw-handler");
	for (;;) {
		struct request_state *rs;

		pthread_mutex_lock(&s->qlock);
		while (!s->qhead && !s->qstopping)
			pthread_cond_wait(&s->qcond, &s->qlock);
		rs = s->qhead;
		if (!rs) {
			pthread_mutex_unlock(&s->qlock);
			return NULL;
		}
		s->qhead = rs->qnext;
		if (!s->qhead)
			s->qtail = NULL;
		pthread_mutex_unlock(&s->qlock);

		rs->req.state = rs;
		api_handle(s->gw, &rs->req, rs->resp);
		rs->answered = 1;
		MHD_resume_connection(rs->req.conn);
	}
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct server *s = cls;
	struct request_state *rs = *con_cls;
	struct request req = { .method = method, .path = url, .conn = conn, .state = rs };
	struct response *r;
	size_t limit = api_body_limit(method, url);

	(void)version;
	if (!rs) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

		const char *lengths[2] = { NULL, NULL };

		if (!(rs = calloc(1, sizeof(*rs))))
			return MHD_NO;
		buf_init(&rs->body, limit + 1);
		rs->srv = s;
		*con_cls = rs;
		MHD_get_connection_values(conn, MHD_HEADER_KIND, count_lengths, lengths);
		if (lengths[1]) {
			rs->too_large = 1;      /* read nothing more of it */
			linger_when_closed(s, conn);
			if (!(r = response_new()))
				return MHD_NO;
			http_error(r, 400, "invalid_header", "Content-Length",
				   "the request has two different Content-Length headers");
			return send_response(s, conn, r);
		}
		/* A declared oversize body: answered before any of it is read (a client that
		 * waits for an answer, or sent Expect: 100-continue, gets it at once), then read
		 * and dropped by the lingering close. */
		if (cl && strtoull(cl, NULL, 10) > limit) {
			rs->too_large = 1;
			if (strtoull(cl, NULL, 10) <= DISCARD_LIMIT)
				linger_when_closed(s, conn);
			return send_too_large(s, conn, limit);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		rs->received += *upload_data_size;
		if (!rs->too_large && buf_append(&rs->body, upload_data, *upload_data_size) < 0)
			rs->too_large = 1;
		*upload_data_size = 0;
		if (rs->too_large && rs->received > DISCARD_LIMIT) {
			log_warn("body_too_large", "closed a connection whose body went past %zu bytes "
				 "(the cap is %zu): not read to its end", DISCARD_LIMIT, limit);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (rs->answered) { /* resumed: the handler thread's answer, or a deferred one */
		r = rs->resp;
		rs->resp = NULL;
		rs->answered = 0;
		finish_deferred(r);
		return send_response(s, conn, r);
	}
	tracked_mark(s, conn, 1);
	if (rs->too_large)
		return send_too_large(s, conn, limit);
	if (!(r = response_new()))
		return MHD_NO;
	req.body = buf_cstr(&rs->body);
	req.body_len = rs->body.len;
	rs->req = req;
	rs->resp = r;
	if (!api_answers_inline(&req) && hand_over(s, rs))
		return MHD_YES;
	rs->inline_call = 1;
	api_handle(s->gw, &rs->req, r);
	rs->inline_call = 0;
	if (r->finish)
		return MHD_YES; /* set aside: request_resume() brings it back */
	rs->resp = NULL;
	return send_response(s, conn, r);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct request_state *rs = *con_cls;

	(void)toe;
	tracked_mark(cls, conn, 0);
	if (rs) {
		if (rs->resp) {
			finish_deferred(rs->resp); /* a context set aside is freed there */
			free_stream(rs->resp);  /* answered, but the connection went first */
		}
		buf_release(&rs->body);
		for (size_t i = 0; i < rs->n_trimmed; i++)
			free(rs->trimmed[i]);
		free(rs);
		*con_cls = NULL;
	}
}

struct server *server_start(struct gateway *gw, struct gw_err *err)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	struct sockaddr *addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (!s) {
		gw_errf(err, "out of memory");
		return NULL;
	}
	s->gw = gw;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_mutex_init(&s->qlock, NULL);
	pthread_cond_init(&s->qcond, NULL);
	pthread_cond_init(&s->deferred_cond, NULL);
	for (size_t i = 0; i < HANDLER_THREADS; i++) {
		if (pthread_create(&s->handlers[i], NULL, handler_main, s) != 0)
			break;
		s->n_handlers++;
	}
	if (!s->n_handlers) {
		server_stop(s);
		gw_errf(err, "cannot start a thread");
		return NULL;
	}
	if (!(s->linger = lingering_start(LINGER_SOCKETS, DISCARD_LIMIT, err))) {
		server_stop(s);
		return NULL;
	}
	memset(&a4, 0, sizeof(a4));
	memset(&a6, 0, sizeof(a6));
	if (inet_pton(AF_INET, gw->cfg.listen_host, &a4.sin_addr) == 1) {
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)gw->cfg.listen_port);
		addr = (struct sockaddr *)&a4;
	} else if (inet_pton(AF_INET6, gw->cfg.listen_host, &a6.sin6_addr) == 1) {
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)gw->cfg.listen_port);
		addr = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		server_stop(s);
		gw_errf(err, "[server] listen: '%s' is not an IP address", gw->cfg.listen_host);
		return NULL;
	}
	s->daemon = MHD_start_daemon(flags, (uint16_t)gw->cfg.listen_port, accept_policy, s,
				     access_handler, s,
				     MHD_OPTION_SOCK_ADDR, addr,
				     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cores > 1 ? cores : 2),
				     MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)((gw->cfg.connection_timeout_ms + 999) / 1000),
				     MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)(2 * gw->cfg.connection_limit + 64),
				     MHD_OPTION_NOTIFY_CONNECTION, connection_notify, s,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				     (unsigned)gw->cfg.per_ip_connection_limit,
				     MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
				     MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
				     MHD_OPTION_END);
	if (!s->daemon) {
		server_stop(s);
		gw_errf(err, "cannot listen on %s:%d (address in use?)", gw->cfg.listen_host,
			gw->cfg.listen_port);
		return NULL;
	}
	if (gw->cfg.request_timeout_ms > 0) {
		if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
			server_stop(s);
			gw_errf(err, "cannot start a thread");
			return NULL;
		}
		s->reaper_started = 1;
	}
	return s;
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	/* Handlers first: every suspended connection is in their queue or in their hands, and
	 * libmicrohttpd must not be stopped while one is suspended. */
	pthread_mutex_lock(&s->qlock);
	s->qstopping = 1;
	pthread_cond_broadcast(&s->qcond);
	while (s->deferred) /* the writer brings each back after its commit */
		pthread_cond_wait(&s->deferred_cond, &s->qlock);
	pthread_mutex_unlock(&s->qlock);
	for (size_t i = 0; i < s->n_handlers; i++)
		pthread_join(s->handlers[i], NULL);
	if (s->reaper_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->reaper, NULL);
	}
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	lingering_stop(s->linger);      /* after the daemon, whose last closes may linger */
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->qcond);
	pthread_cond_destroy(&s->deferred_cond);
	pthread_mutex_destroy(&s->qlock);
	free(s);
}
