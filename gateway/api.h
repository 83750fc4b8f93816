/*
 * api.h - the HTTP routes: /v1 (API key), /webhooks/<provider>, /healthz.
 *
 * Every error is JSON: {"error":{"code":"invalid_phone","message":"...","field":"customer.phone"}}
 * with a specific 4xx (or 503 when the store cannot take a write), and a rejected request leaves
 * the database as it was.  A 2xx is sent only after what it acknowledges is durable.
 */
#ifndef GW_API_H
#define GW_API_H

#include <stddef.h>

#include "gateway.h"
#include "server.h"

/* The largest body accepted for this route (0: no body expected). */
size_t api_body_limit(const char *method, const char *path);

/* Routes one complete request and fills `resp`. */
void api_handle(struct gateway *gw, const struct request *req, struct response *resp);

/* Fills `resp` with a JSON error. */
void api_error(struct response *resp, int status, const char *code, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
