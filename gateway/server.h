/*
 * server.h - the HTTP server (libmicrohttpd) and the request/response types handlers see.
 *
 * The server collects each request body into a buffer capped per route (api_body_limit()), so a
 * handler only ever sees a complete body within its cap.  A larger body is never kept, but it is
 * read and dropped (up to 16 MiB, within [server] request_timeout) so that a client that writes
 * its whole request before reading gets its 413 rather than a reset: a declared one is answered
 * 413 at once and read by the lingering close (lingering.h), a chunked one is read to its end and
 * then answered.  Every 413 closes the connection.  Handlers fill a `struct response` and never
 * touch libmicrohttpd.
 *
 * Threads: libmicrohttpd's internal thread pool (one thread per core, poll(2) based); handlers run
 * on those threads concurrently.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "gateway.h"

struct request {
	const char *method;
	const char *path;
	const char *body;       /* NUL-terminated for convenience; use body_len */
	size_t body_len;
	void *conn;             /* server-private */
	void *state;            /* server-private */
};

/* A value that held a NUL byte: no header or query value the gateway accepts looks like it
 * ("\x01").  One object, so that it can be recognised by its address. */
extern const char request_value_invalid[];
#define REQUEST_VALUE_INVALID request_value_invalid

/* A header's value without the white space around it (RFC 9110 §5.5), or NULL; a value holding a
 * NUL byte reads as REQUEST_VALUE_INVALID.  Valid until the request is answered. */
const char *request_header(const struct request *req, const char *name);
/* A decoded query argument, or NULL; one holding a NUL byte (%00) reads as
 * REQUEST_VALUE_INVALID. */
const char *request_query(const struct request *req, const char *name);
/* The name of the first query argument that is not in `known` (NULL-terminated), or NULL when
 * every one is known.  Valid until the request is answered. */
const char *request_query_unknown(const struct request *req, const char *const *known);

/* Streams a body: fill up to `max` bytes of `out`; return the count, 0 at the end, -1 on error.
 * `release` is called once when the response is done (or abandoned). */
typedef ssize_t (*response_reader)(void *ctx, char *out, size_t max);

struct response {
	int status;
	const char *content_type;       /* static string */
	struct buf body;
	response_reader reader;         /* instead of body, when set */
	void (*release)(void *ctx);
	void *reader_ctx;
	const char *extra_header;       /* "Name: value" (static), or NULL */
};

struct server;

/* Starts listening on [server] listen.  NULL with err set on failure. */
struct server *server_start(struct gateway *gw, struct gw_err *err);
void server_stop(struct server *s);

#endif
