/* server.c - see server.h. */
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"

struct server {
	struct gateway *gw;
	struct MHD_Daemon *daemon;
	_Atomic int open_connections;
};

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

	(void)conn;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		s->open_connections++;
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		s->open_connections--;
}

/* Per-request state kept by libmicrohttpd between calls of the access handler. */
#define MAX_TRIMMED 8

struct request_state {
	struct buf body;
	int too_large;
	char *trimmed[MAX_TRIMMED];     /* header values copied without trailing white space */
	size_t n_trimmed;
};

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
static enum MHD_Result send_response(struct MHD_Connection *conn, struct response *r)
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
		*con_cls = rs;
		MHD_get_connection_values(conn, MHD_HEADER_KIND, count_lengths, lengths);
		if (lengths[1]) {
			rs->too_large = 1;      /* read nothing more of it */
			if (!(r = response_new()))
				return MHD_NO;
			api_error(r, 400, "invalid_header", "Content-Length",
				  "the request has two different Content-Length headers");
			return send_response(conn, r);
		}
		/* Refuse a declared oversize body before reading any of it. */
		if (cl && strtoull(cl, NULL, 10) > limit) {
			rs->too_large = 1;
			if (!(r = response_new()))
				return MHD_NO;
			api_error(r, 413, "body_too_large", "", "request body is larger than %zu bytes",
				  limit);
			return send_response(conn, r);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rs->too_large && buf_append(&rs->body, upload_data, *upload_data_size) < 0)
			rs->too_large = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!(r = response_new()))
		return MHD_NO;
	if (rs->too_large) {
		api_error(r, 413, "body_too_large", "", "request body is larger than %zu bytes", limit);
	} else {
		req.body = buf_cstr(&rs->body);
		req.body_len = rs->body.len;
		api_handle(s->gw, &req, r);
	}
	return send_response(conn, r);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct request_state *rs = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rs) {
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
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (!s) {
		gw_errf(err, "out of memory");
		return NULL;
	}
	s->gw = gw;
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
		free(s);
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
		free(s);
		gw_errf(err, "cannot listen on %s:%d (address in use?)", gw->cfg.listen_host,
			gw->cfg.listen_port);
		return NULL;
	}
	return s;
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	free(s);
}
