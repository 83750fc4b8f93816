/* export.c - see export.h. */
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "csv.h"
#include "survey.h"

#define ROW_CAP (1 << 20)
#define WRITE_CHUNK (256 * 1024)
#define PROGRESS_EVERY_NS 250000000L    /* four updates a second at most */

struct csv_export {
	struct export_cursor *cur;
	struct buf pending;     /* rendered bytes not yet handed out: one record at most */
	size_t off;
	uint64_t rows;
	int done;
	int failed;
	struct gw_err err;
};

static void put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* y-m-d of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
 * civil_from_days): gmtime_r() takes the time-zone lock on every call. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void iso8601_utc(int64_t t, char out[32])
{
	int64_t y, secs = t % 86400;
	unsigned m, d;

	out[0] = '\0';
	if (t <= 0)
		return;
	civil_from_days(t / 86400, &y, &m, &d);
	if (y > 9999) {
		snprintf(out, 32, "%lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
			 (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
		return;
	}
	/* Two of these per row: strftime() took a tenth of a million-row export. */
	put_digits(out, (unsigned)y, 4);
	out[4] = '-';
	put_digits(out + 5, m, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = 'T';
	put_digits(out + 11, (unsigned)(secs / 3600), 2);
	out[13] = ':';
	put_digits(out + 14, (unsigned)(secs / 60 % 60), 2);
	out[16] = ':';
	put_digits(out + 17, (unsigned)(secs % 60), 2);
	out[19] = 'Z';
	out[20] = '\0';
}

/* ---- the filter --------------------------------------------------------------------------- */

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

/* Whether `s` could be a stored touchpoint or agent: 1 to EXPORT_MAX_TEXT bytes, none of them a
 * control byte (which also refuses the server's marker for a value that held %00). */
static int text_filter_ok(const char *s)
{
	size_t len = strnlen(s, EXPORT_MAX_TEXT + 1);

	if (len == 0 || len > EXPORT_MAX_TEXT)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int export_args_parse(const struct export_args *a, struct export_filter *f, struct gw_err *err)
{
	enum survey_kind k;
	enum channel c;

	memset(f, 0, sizeof(*f));
	if (a->kind) {
		if (kind_from_name(a->kind, &k) < 0)
			return gw_err_set(err, 422, "invalid_kind", "kind", "kind must be nps, ces or csat");
		f->kind = kind_name(k);
	}
	if (a->channel) {
		if (channel_from_name(a->channel, &c) < 0)
			return gw_err_set(err, 422, "invalid_channel", "channel",
					  "channel must be sms or whatsapp");
		f->channel = channel_name(c);
	}
	f->touchpoint = a->touchpoint;
	f->agent = a->agent;
	if (f->touchpoint && !text_filter_ok(f->touchpoint))
		return gw_err_set(err, 422, "invalid_touchpoint", "touchpoint",
				  "touchpoint must be 1 to %d bytes without control characters, "
				  "e.g. support_chat", EXPORT_MAX_TEXT);
	if (f->agent && !text_filter_ok(f->agent))
		return gw_err_set(err, 422, "invalid_agent", "agent",
				  "agent must be 1 to %d bytes without control characters, e.g. agent-7",
				  EXPORT_MAX_TEXT);
	if (a->since && parse_day(a->since, &f->since) < 0)
		return gw_err_set(err, 422, "invalid_date", "since",
				  "since must be a date YYYY-MM-DD, e.g. 2026-11-01");
	if (a->until) {
		if (parse_day(a->until, &f->until) < 0)
			return gw_err_set(err, 422, "invalid_date", "until",
					  "until must be a date YYYY-MM-DD, e.g. 2026-11-30");
		f->until += 86400;      /* the whole day is included */
	}
	if (f->since && f->until && f->until <= f->since)
		return gw_err_set(err, 422, "invalid_date", "until", "until must not be before since");
	return 0;
}

int export_filter_parse(const char *kind, const char *since, const char *until,
			struct export_filter *f, struct gw_err *err)
{
	struct export_args a = { .kind = kind, .since = since, .until = until };

	return export_args_parse(&a, f, err);
}

/* ---- rendering ---------------------------------------------------------------------------- */

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

static const char *row_category(const struct export_row *r)
{
	enum survey_kind k;

	return kind_from_name(r->kind, &k) == 0 ? score_category(k, r->score) : "";
}

/* v in decimal into out (room for 21 bytes): snprintf() was a twentieth of an export. */
static void format_int(char *out, long long v)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*out++ = '-';
	while (n)
		*out++ = tmp[--n];
	*out = '\0';
}

/* Appends one record; the buffer is left as it was on failure (a record past ROW_CAP). */
static int render_row(struct buf *b, const struct export_row *r)
{
	char score[16], sent[32], answered[32], ttr[24] = "";
	long long secs = -1;

	format_int(score, r->score);
	iso8601_utc(r->sent_at, sent);
	iso8601_utc(r->answered_at, answered);
	if (r->opened_at[0] && r->closed_at[0])
		secs = interaction_ttr_seconds(r->opened_at, r->closed_at);
	if (secs >= 0)
		format_int(ttr, secs);
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
	    csv_cell_str(b, 0, r->locale, 0) < 0 ||
	    csv_cell_str(b, 0, row_category(r), 0) < 0 ||
	    csv_cell_str(b, 0, ttr, 0) < 0 ||
	    csv_row_end(b) < 0) {
		buf_reset(b);
		return -1;
	}
	return 0;
}

/* Renders the next record into x->pending: 1, 0 at the end, -1 on failure (x->err set). */
static int next_record(struct csv_export *x)
{
	struct export_row r;
	int rc;

	buf_reset(&x->pending);
	x->off = 0;
	if (x->done)
		return 0;
	rc = store_export_next(x->cur, &r, &x->err);
	if (rc <= 0) {
		x->done = rc == 0;
		return rc;
	}
	if (render_row(&x->pending, &r) < 0)
		return gw_errf(&x->err, "survey %s: its record is longer than %d bytes", r.survey_id,
			       ROW_CAP);
	x->rows++;
	return 1;
}

/* Fills `out` with as many records as fit, so that an HTTP block or a write() carries hundreds
 * of them rather than one. */
ssize_t csv_export_read(struct csv_export *x, char *out, size_t max)
{
	size_t n = 0;

	if (x->failed)
		return -1;
	while (n < max) {
		size_t k;

		if (x->off == x->pending.len) {
			int rc = next_record(x);

			if (rc < 0) {
				x->failed = 1;
				return -1;
			}
			if (rc == 0)
				break;
		}
		k = x->pending.len - x->off;
		if (k > max - n)
			k = max - n;
		memcpy(out + n, x->pending.data + x->off, k);
		x->off += k;
		n += k;
	}
	return (ssize_t)n;
}

uint64_t csv_export_rows(const struct csv_export *x)
{
	return x->rows;
}

int csv_export_total(struct csv_export *x, int64_t *n)
{
	return store_export_count(x->cur, n, &x->err);
}

const char *csv_export_error(const struct csv_export *x)
{
	return x->err.msg;
}

void csv_export_close(struct csv_export *x)
{
	if (!x)
		return;
	store_export_close(x->cur);
	buf_release(&x->pending);
	free(x);
}

/* ---- writing to a file, with progress on a terminal --------------------------------------- */

struct progress {
	FILE *f;                        /* NULL: show nothing */
	int64_t total;                  /* -1: unknown */
	struct timespec start, last;
	int width;                      /* columns of the line on screen */
};

static double elapsed_s(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) + (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

/* Rewrites the line: '\r', the text, and blanks over what a longer previous text left. */
static void progress_line(struct progress *p, const char *text, int final)
{
	int len = (int)strlen(text);

	fprintf(p->f, "\r%s%*s%s", text, p->width > len ? p->width - len : 0, "",
		final ? "\n" : "");
	fflush(p->f);
	p->width = final ? 0 : len;
}

static void progress_start(struct progress *p, FILE *f, struct csv_export *x)
{
	memset(p, 0, sizeof(*p));
	p->f = f;
	p->total = -1;
	if (!f)
		return;
	if (csv_export_total(x, &p->total) != 1)
		p->total = -1;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->last = p->start;
}

static void progress_tick(struct progress *p, uint64_t rows)
{
	struct timespec now;
	char text[96];

	if (!p->f)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - p->last.tv_sec) * 1000000000L + (now.tv_nsec - p->last.tv_nsec) <
	    PROGRESS_EVERY_NS)
		return;
	p->last = now;
	if (p->total > 0)
		snprintf(text, sizeof(text), "exporting: %llu of %lld rows (%d%%)",
			 (unsigned long long)rows, (long long)p->total,
			 (int)(rows * 100 / (uint64_t)p->total));
	else
		snprintf(text, sizeof(text), "exporting: %llu rows", (unsigned long long)rows);
	progress_line(p, text, 0);
}

static void progress_end(struct progress *p, uint64_t rows, int ok)
{
	struct timespec now;
	char text[96];

	if (!p->f)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(text, sizeof(text), "%s %llu rows in %.1f s", ok ? "exported" : "stopped after",
		 (unsigned long long)rows, elapsed_s(&p->start, &now));
	progress_line(p, text, 1);
}

int csv_export_write(struct csv_export *x, FILE *out, FILE *progress, struct gw_err *err)
{
	char *chunk = malloc(WRITE_CHUNK);
	struct progress p;
	ssize_t n = 0;
	int rc = -1;

	progress_start(&p, progress, x);
	if (!chunk) {
		gw_errf(err, "out of memory");
		goto out;
	}
	while ((n = csv_export_read(x, chunk, WRITE_CHUNK)) > 0) {
		if (fwrite(chunk, 1, (size_t)n, out) != (size_t)n) {
			gw_errf(err, "writing failed: %s", strerror(errno));
			goto out;
		}
		progress_tick(&p, x->rows);
	}
	if (n < 0) {
		gw_errf(err, "%s", x->err.msg);
		goto out;
	}
	if (fflush(out) != 0 || ferror(out)) {
		gw_errf(err, "writing failed: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	progress_end(&p, x->rows, rc == 0);
	free(chunk);
	return rc;
}
