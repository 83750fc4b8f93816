/* export.c - see export.h. */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "csv.h"
#include "survey.h"

#define ROW_CAP (1 << 20)

struct csv_export {
	struct export_cursor *cur;
	struct buf pending;     /* rendered bytes not yet handed out */
	size_t off;
	int done;
};

void iso8601_utc(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	out[0] = '\0';
	if (t > 0 && gmtime_r(&tt, &tm))
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "YYYY-MM-DD" into the Unix time of that day's midnight UTC; -1 when malformed. */
static int parse_day(const char *s, int64_t *out)
{
	struct tm tm;
	int y, m, d;
	char tail;

	if (strlen(s) != 10)
		return -1;
	/* Digits everywhere but the dashes: sscanf's %d alone would take "+1" and " 1". */
	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return -1;
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*out = (int64_t)timegm(&tm);
	/* timegm() normalises 2026-02-31 to March: refuse days that do not exist. */
	{
		time_t t = (time_t)*out;
		struct tm back;

		gmtime_r(&t, &back);
		if (back.tm_mday != d)
			return -1;
	}
	return 0;
}

int export_filter_parse(const char *kind, const char *since, const char *until,
			struct export_filter *f, struct gw_err *err)
{
	enum survey_kind k;

	memset(f, 0, sizeof(*f));
	if (kind) {
		if (kind_from_name(kind, &k) < 0)
			return gw_err_set(err, 422, "invalid_kind", "kind", "kind must be nps, ces or csat");
		f->kind = kind_name(k);
	}
	if (since && parse_day(since, &f->since) < 0)
		return gw_err_set(err, 422, "invalid_date", "since",
				  "since must be a date YYYY-MM-DD, e.g. 2026-11-01");
	if (until) {
		if (parse_day(until, &f->until) < 0)
			return gw_err_set(err, 422, "invalid_date", "until",
					  "until must be a date YYYY-MM-DD, e.g. 2026-11-30");
		f->until += 86400;      /* the whole day is included */
	}
	if (f->since && f->until && f->until <= f->since)
		return gw_err_set(err, 422, "invalid_date", "until", "until must not be before since");
	return 0;
}

struct csv_export *csv_export_open(struct store *st, const struct export_filter *f,
				   struct gw_err *err)
{
	struct csv_export *x = calloc(1, sizeof(*x));

	if (!x) {
		gw_err_set(err, 503, "unavailable", "", "out of memory");
		return NULL;
	}
	buf_init(&x->pending, ROW_CAP);
	if (!(x->cur = store_export_open(st, f, err)) ||
	    buf_puts(&x->pending, EXPORT_HEADER "\r\n") < 0) {
		csv_export_close(x);
		return NULL;
	}
	return x;
}

static int render_row(struct buf *b, const struct export_row *r)
{
	char score[16], sent[32], answered[32];

	snprintf(score, sizeof(score), "%d", r->score);
	iso8601_utc(r->sent_at, sent);
	iso8601_utc(r->answered_at, answered);
	if (csv_cell_str(b, 1, r->survey_id, 1) < 0 ||
	    csv_cell_str(b, 0, r->customer_id, 1) < 0 ||
	    csv_cell_str(b, 0, r->phone, 0) < 0 ||
	    csv_cell_str(b, 0, r->channel, 0) < 0 ||
	    csv_cell_str(b, 0, r->kind, 0) < 0 ||
	    csv_cell_str(b, 0, score, 0) < 0 ||
	    csv_cell(b, 0, r->comment, r->comment_len, 1) < 0 ||
	    csv_cell_str(b, 0, r->interaction_id, 1) < 0 ||
	    csv_cell_str(b, 0, r->touchpoint, 1) < 0 ||
	    csv_cell_str(b, 0, r->agent, 1) < 0 ||
	    csv_cell_str(b, 0, sent, 0) < 0 ||
	    csv_cell_str(b, 0, answered, 0) < 0 ||
	    csv_cell_str(b, 0, r->name, 1) < 0 ||
	    csv_cell_str(b, 0, r->locale, 0) < 0)
		return -1;
	return csv_row_end(b);
}

ssize_t csv_export_read(struct csv_export *x, char *out, size_t max)
{
	struct export_row r;
	struct gw_err err;
	size_t n;

	while (x->off == x->pending.len && !x->done) {
		int rc = store_export_next(x->cur, &r, &err);

		buf_reset(&x->pending);
		x->off = 0;
		if (rc < 0)
			return -1;
		if (rc == 0) {
			x->done = 1;
			break;
		}
		if (render_row(&x->pending, &r) < 0)
			return -1;
	}
	n = x->pending.len - x->off;
	if (n > max)
		n = max;
	if (n)
		memcpy(out, x->pending.data + x->off, n);
	x->off += n;
	return (ssize_t)n;
}

void csv_export_close(struct csv_export *x)
{
	if (!x)
		return;
	store_export_close(x->cur);
	buf_release(&x->pending);
	free(x);
}
