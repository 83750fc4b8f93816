/*
 * http.h - what a route sees of HTTP: the request (method, path, complete body, headers and
 * query arguments), the response it fills, and the JSON error and reply helpers every route
 * shares.  The server (server.c), the only code that knows libmicrohttpd, builds the requests,
 * implements the request_*() accessors and sends the responses.
 *
 * Every error is JSON: {"error":{"code":"invalid_phone","message":"...","field":"customer.phone"}}.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "gwerr.h"

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
	/* An answer that waits for a write (request_defer()): finish(ctx, resp) fills the rest on
	 * the server's thread once request_resume() is called; NULL otherwise. */
	void (*finish)(void *ctx, struct response *resp);
	void *finish_ctx;
};

/*
 * Answers that wait for the store's writer without a thread waiting with them.  A handler that
 * has everything but a commit calls request_defer(): the connection is set aside and the
 * handler returns at once.  Whoever completes the work (the writer, after its group's commit)
 * calls request_resume(state) from any thread; the server then calls finish(ctx, resp) on its
 * own thread, which fills resp, and sends it.  finish is called exactly once, also when the
 * client has gone (resp is then dropped), so it is where ctx is freed.
 *
 * request_defer() returns 0 when the request may not wait (the server is stopping, or the
 * request is not answered on the server's own thread): the handler then does the work itself.
 */
int request_defer(const struct request *req, struct response *resp,
		  void (*finish)(void *ctx, struct response *resp), void *ctx);
void request_resume(void *state);

/* Fills `resp` with a JSON error. */
void http_error(struct response *resp, int status, const char *code, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Fills `resp` with the JSON error `err` describes (its status, code and field). */
void http_error_from(struct response *resp, const struct gw_err *err);

/* Sends `j` (stolen) as the JSON body with `status`; 503 when it cannot be formatted. */
void http_json_reply(struct response *resp, int status, json_t *j);

/* 1 when the request's method is `m`; otherwise fills `resp` with 405 and an Allow header. */
int http_method_is(const struct request *req, const char *m, struct response *resp);

#endif
