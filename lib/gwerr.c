/* gwerr.c - see gwerr.h. */
#include "gwerr.h"

#include <stdio.h>
#include <string.h>

void gw_err_clear(struct gw_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int gw_errf(struct gw_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int gw_err_set(struct gw_err *err, int http_status, const char *code, const char *field,
	       const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->http_status = http_status;
	snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
