/* report_api.c - see report_api.h. */
#include "report_api.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "report.h"

/* The JSON text handed out by the server's reader: a report by agent may pass the 1 MiB body
 * buffer. */
struct json_text {
	char *text;
	size_t len, off;
};

static ssize_t text_read(void *ctx, char *out, size_t max)
{
	struct json_text *t = ctx;
	size_t n = t->len - t->off < max ? t->len - t->off : max;

	memcpy(out, t->text + t->off, n);
	t->off += n;
	return (ssize_t)n;
}

static void text_release(void *ctx)
{
	struct json_text *t = ctx;

	free(t->text);
	free(t);
}

void report_api_get(struct gateway *gw, const struct request *req, struct response *resp)
{
	static const char *const known[] = { "kind", "since", "until", "group_by", NULL };
	struct report_options o;
	struct report r;
	struct gw_err err = { 0 };
	const char *unknown;
	char name[64];
	struct json_text *t;

	if (!http_method_is(req, "GET", resp))
		return;
	if ((unknown = request_query_unknown(req, known))) {
		/* Named back as printable ASCII: the name came off the network. */
		size_t i;

		for (i = 0; unknown[i] && i < sizeof(name) - 1; i++)
			name[i] = unknown[i] > 0x20 && unknown[i] < 0x7f ? unknown[i] : '?';
		name[i] = '\0';
		http_error(resp, 422, "unknown_parameter", name,
			   "unknown query parameter '%s': use kind, since, until, group_by", name);
		return;
	}
	if (report_options_parse(request_query(req, "kind"), request_query(req, "since"),
				 request_query(req, "until"), request_query(req, "group_by"), &o,
				 &err) < 0 ||
	    report_build(gw->store, &o, &r, &err) < 0) {
		http_error_from(resp, &err);
		return;
	}
	/* Not http_json_reply(): one-decimal figures need report_json_dumps()'s precision. */
	t = calloc(1, sizeof(*t));
	if (t)
		t->text = report_json_dumps(&r, JSON_COMPACT);
	report_release(&r);
	if (!t || !t->text) {
		free(t);
		http_error(resp, 503, "unavailable", "", "out of memory");
		return;
	}
	t->len = strlen(t->text);
	resp->status = 200;
	resp->content_type = "application/json";
	resp->reader = text_read;
	resp->release = text_release;
	resp->reader_ctx = t;
}
