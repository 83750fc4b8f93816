/* http.c - see http.h. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_error(struct response *resp, int status, const char *code, const char *field,
		const char *fmt, ...)
{
	char msg[GW_ERR_LEN];
	json_t *e;
	char *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code, "message", msg, "field",
		      field ? field : "");
	text = e ? json_dumps(e, JSON_COMPACT) : NULL;
	resp->status = status;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	buf_puts(&resp->body, text ? text : "{\"error\":{\"code\":\"internal\"}}");
	free(text);
	json_decref(e);
}

void http_error_from(struct response *resp, const struct gw_err *err)
{
	http_error(resp, err->http_status ? err->http_status : 500,
		  err->code[0] ? err->code : "internal", err->field, "%s", err->msg);
}

void http_json_reply(struct response *resp, int status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!text) {
		http_error(resp, 503, "unavailable", "", "out of memory");
		return;
	}
	resp->status = status;
	resp->content_type = "application/json";
	buf_reset(&resp->body);
	if (buf_puts(&resp->body, text) < 0)
		http_error(resp, 503, "unavailable", "", "response too large");
	free(text);
}

int http_method_is(const struct request *req, const char *m, struct response *resp)
{
	if (strcmp(req->method, m) == 0)
		return 1;
	http_error(resp, 405, "method_not_allowed", "", "%s is not allowed here (use %s)", req->method, m);
	resp->extra_header = strcmp(m, "GET") == 0 ? "Allow: GET" : "Allow: POST";
	return 0;
}
