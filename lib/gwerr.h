/*
 * gwerr.h - the one error carrier of the gateway.
 *
 * Functions that can fail take a `struct gw_err *err` (may be NULL) and, on failure, write a message
 * a user can act on into it, plus an optional machine code and field.  Error paths never allocate:
 * everything lives in the caller's struct.
 */
#ifndef GW_GWERR_H
#define GW_GWERR_H

#include <stdarg.h>

#define GW_ERR_LEN 256

struct gw_err {
	char code[48];          /* machine code, e.g. "invalid_phone"; "" when not set */
	char field[64];         /* offending field, e.g. "customer.phone"; "" when not set */
	char msg[GW_ERR_LEN];   /* human message */
	int http_status;        /* HTTP status a handler should answer with, 0 when not set */
};

/* Clears every member. */
void gw_err_clear(struct gw_err *err);

/* Formats msg; code, field and status are left as they are.  Returns -1 so that callers can write
 * `return gw_errf(err, ...)`.  A NULL err is allowed and ignored. */
int gw_errf(struct gw_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets status, code, field and message at once.  Returns -1. */
int gw_err_set(struct gw_err *err, int http_status, const char *code, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
