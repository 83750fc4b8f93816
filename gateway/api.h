/*
 * api.h - the HTTP routes: /v1 (API key), /webhooks/<provider>, /healthz.
 *
 * Every error is JSON: {"error":{"code":"invalid_phone","message":"...","field":"customer.phone"}}
 * with a specific 4xx (or 503 when the store cannot take a write), and a rejected request leaves
 * the database as it was.  A 2xx is sent only after what it acknowledges is durable.
 */
#ifndef GW_API_H
#define GW_API_H

#include <jansson.h>
#include <stddef.h>

#include "gateway.h"
#include "http.h"

/* The largest body accepted for this route (0: no body expected). */
size_t api_body_limit(const char *method, const char *path);

/* Routes one complete request and fills `resp`. */
void api_handle(struct gateway *gw, const struct request *req, struct response *resp);

/* A validated POST /v1/surveys body; strings point into the JSON it came from. */
struct trigger {
	const char *customer_id, *phone, *name, *locale, *timezone;
	enum survey_kind kind;
	enum channel channel;
	const char *interaction_id, *touchpoint, *agent, *opened_at, *closed_at;
	int64_t delay;
};

/* Validates a trigger body (`root`, any JSON value) against gw's config (default locale).  0, or
 * -1 with err naming the field (status 400 or 422).  Pure: no store, no I/O but the time zone
 * lookup. */
int api_parse_trigger(struct gateway *gw, json_t *root, struct trigger *t, struct gw_err *err);

/* 1 when `req` is answered on the server's own thread (with request_defer() for its commit)
 * rather than on a handler thread that waits for the store. */
int api_answers_inline(const struct request *req);

#endif
