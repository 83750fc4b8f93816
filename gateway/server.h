/*
 * server.h - the HTTP server (libmicrohttpd): it hands each request to api_handle() as the
 * types of http.h, and implements http.h's request accessors.
 *
 * The server collects each request body into a buffer capped per route (api_body_limit()), so a
 * handler only ever sees a complete body within its cap.  A larger body is never kept, but it is
 * read and dropped (up to 16 MiB, within [server] request_timeout) so that a client that writes
 * its whole request before reading gets its 413 rather than a reset: a declared one is answered
 * 413 at once and read by the lingering close (lingering.h), a chunked one is read to its end and
 * then answered.  Every 413 closes the connection.  Handlers fill a `struct response` (http.h)
 * and never touch libmicrohttpd.
 *
 * Threads: libmicrohttpd's internal thread pool (one thread per core, poll(2) based); handlers run
 * on those threads concurrently.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "gateway.h"
#include "http.h"

struct server;

/* Starts listening on [server] listen.  NULL with err set on failure. */
struct server *server_start(struct gateway *gw, struct gw_err *err);
void server_stop(struct server *s);

#endif
