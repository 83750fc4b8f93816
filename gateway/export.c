/* export.c - see export.h. */
#include "export.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "csv.h"
#include "vocab.h"

#define ROW_CAP (1 << 20)
#define WRITE_CHUNK (256 * 1024)
#define PROGRESS_EVERY_NS 250000000L    /* four updates a second at most */

/*
 * The export runs on up to MAX_WORKERS threads, each with a cursor of its own on one snapshot
 * (store_export_open_many()).  The answer-time range is cut into slices of about SLICE_ROWS
 * responses; workers take slices in order and render each into chunks of CHUNK bytes, which the
 * reader hands out slice after slice, so the output is the one ordered export.  Memory stays
 * bounded: a worker ahead of the slice being read waits while MAX_CHUNKS chunks are waiting.
 */
#define MAX_WORKERS 4
#define SLICE_ROWS 20000
#define CHUNK (256 * 1024)
#define MAX_CHUNKS 16

struct chunk {
	struct chunk *next;
	char *data;
	size_t len, off;
	uint64_t rows;
};

struct slice {
	int64_t from, to;               /* [from, to): 0 for no bound of the slice's own */
	struct chunk *head, *tail;      /* rendered, not yet read */
	int done;                       /* its worker rendered all of it */
};

struct csv_export {
	struct export_cursor *cur[MAX_WORKERS];
	size_t n_cur;
	pthread_t workers[MAX_WORKERS];
	size_t n_workers;
	int started;                    /* the first read started the workers */
	struct slice *slices;
	size_t n_slices, next_slice;    /* slices [0, next_slice) are taken by workers */
	size_t reading;                 /* the slice being read */
	size_t n_chunks;                /* chunks rendered and not yet read */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct buf header;              /* the header line, read first */
	size_t header_off;
	uint64_t rows;                  /* records read out */
	int stop;                       /* closing: workers leave */
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

/* ---- rendering ---------------------------------------------------------------------------- */

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

/* ---- the export's threads ----------------------------------------------------------------- */

static void fail_locked(struct csv_export *x, const struct gw_err *err)
{
	if (!x->failed) {
		x->failed = 1;
		x->err = *err;
	}
	pthread_cond_broadcast(&x->cond);
}

/* Hands a rendered chunk of slice k to the reader; waits while too many are waiting, unless k is
 * the slice being read (its chunks are the next to go).  0, or -1 when the export is over. */
static int publish(struct csv_export *x, size_t k, struct buf *b, uint64_t rows)
{
	struct chunk *c = calloc(1, sizeof(*c));
	struct slice *sl = &x->slices[k];

	if (!c)
		return -1;
	c->data = b->data;
	c->len = b->len;
	c->rows = rows;
	buf_init(b, b->cap_limit);      /* the chunk owns the bytes now */
	pthread_mutex_lock(&x->lock);
	while (!x->stop && !x->failed && k != x->reading && x->n_chunks >= MAX_CHUNKS)
		pthread_cond_wait(&x->cond, &x->lock);
	if (x->stop || x->failed) {
		pthread_mutex_unlock(&x->lock);
		free(c->data);
		free(c);
		return -1;
	}
	if (sl->tail)
		sl->tail->next = c;
	else
		sl->head = c;
	sl->tail = c;
	x->n_chunks++;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

/* Renders slice k on cursor cur: 0, or -1 (the export failed or is being closed). */
static int render_slice(struct csv_export *x, struct export_cursor *cur, size_t k)
{
	struct slice *sl = &x->slices[k];
	struct gw_err err = { 0 };
	struct export_row r;
	struct buf b;
	uint64_t rows = 0;
	int rc = -1;

	buf_init(&b, CHUNK + ROW_CAP + 1);
	if (store_export_range(cur, sl->from, sl->to, &err) < 0)
		goto fail;
	while ((rc = store_export_next(cur, &r, &err)) == 1) {
		if (render_row(&b, &r) < 0) {
			gw_errf(&err, "survey %s: its record is longer than %d bytes", r.survey_id,
				ROW_CAP);
			rc = -1;
			goto fail;
		}
		rows++;
		if (b.len >= CHUNK) {
			if (publish(x, k, &b, rows) < 0)
				goto out;
			rows = 0;
		}
	}
	if (rc < 0)
		goto fail;
	if (b.len && publish(x, k, &b, rows) < 0) {
		rc = -1;
		goto out;
	}
	pthread_mutex_lock(&x->lock);
	sl->done = 1;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	rc = 0;
	goto out;
fail:
	pthread_mutex_lock(&x->lock);
	fail_locked(x, &err);
	pthread_mutex_unlock(&x->lock);
out:
	buf_release(&b);
	return rc;
}

struct worker_arg {
	struct csv_export *x;
	struct export_cursor *cur;
};

static void *worker_main(void *arg)
{
	struct csv_export *x = ((struct worker_arg *)arg)->x;
	struct export_cursor *cur = ((struct worker_arg *)arg)->cur;

	pthread_setname_np(pthread_self(), "gw-export");
	free(arg);
	for (;;) {
		size_t k;

		pthread_mutex_lock(&x->lock);
		if (x->stop || x->failed || x->next_slice == x->n_slices) {
			pthread_mutex_unlock(&x->lock);
			return NULL;
		}
		k = x->next_slice++;
		pthread_mutex_unlock(&x->lock);
		if (render_slice(x, cur, k) < 0)
			return NULL;
	}
}

/* Cuts the range into slices and starts a worker per cursor: 0, or -1 with x->err set. */
static int start_workers(struct csv_export *x)
{
	int64_t *bounds = NULL;
	size_t n_bounds = 0;

	x->started = 1;
	if (x->n_cur > 1 &&
	    store_export_bounds(x->cur[0], SLICE_ROWS, &bounds, &n_bounds, &x->err) < 0)
		return -1;
	if (!(x->slices = calloc(n_bounds + 1, sizeof(*x->slices)))) {
		free(bounds);
		return gw_errf(&x->err, "out of memory");
	}
	x->n_slices = n_bounds + 1;
	for (size_t i = 0; i < x->n_slices; i++) {
		x->slices[i].from = i ? bounds[i - 1] : 0;
		x->slices[i].to = i < n_bounds ? bounds[i] : 0;
	}
	free(bounds);
	for (size_t i = 0; i < x->n_cur; i++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a)
			break;
		a->x = x;
		a->cur = x->cur[i];
		if (pthread_create(&x->workers[i], NULL, worker_main, a) != 0) {
			free(a);
			break;
		}
		x->n_workers++;
	}
	return x->n_workers ? 0 : gw_errf(&x->err, "cannot start the export's threads");
}

struct csv_export *csv_export_open(struct store *st, const struct export_filter *f,
				   struct gw_err *err)
{
	struct csv_export *x = calloc(1, sizeof(*x));
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (!x) {
		gw_err_set(err, 503, "unavailable", "", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);
	buf_init(&x->header, 4096);
	x->n_cur = cores < 1 ? 1 : cores > MAX_WORKERS ? MAX_WORKERS : (size_t)cores;
	if (store_export_open_many(st, f, x->cur, &x->n_cur, err) < 0 ||
	    buf_puts(&x->header, EXPORT_HEADER "\r\n") < 0) {
		if (!err->msg[0])
			gw_err_set(err, 503, "unavailable", "", "out of memory");
		csv_export_close(x);
		return NULL;
	}
	return x;
}

/* Fills `out` with as many bytes as fit, so that an HTTP block or a write() carries hundreds of
 * records rather than one; waits for the workers when the next bytes are not rendered yet. */
ssize_t csv_export_read(struct csv_export *x, char *out, size_t max)
{
	size_t n = 0;
	int failed;

	if (x->header_off < x->header.len) {
		n = x->header.len - x->header_off < max ? x->header.len - x->header_off : max;
		memcpy(out, x->header.data + x->header_off, n);
		x->header_off += n;
	}
	if (!x->started && start_workers(x) < 0) {
		x->failed = 1;
		return -1;
	}
	pthread_mutex_lock(&x->lock);
	while (n < max && x->reading < x->n_slices) {
		struct slice *sl = &x->slices[x->reading];
		struct chunk *c = sl->head;
		size_t k;

		if (x->failed)
			break;
		if (!c) {
			if (sl->done) {
				x->reading++;
				pthread_cond_broadcast(&x->cond);
				continue;
			}
			pthread_cond_wait(&x->cond, &x->lock);
			continue;
		}
		/* The chunk is the reader's alone once published: copy without the lock. */
		pthread_mutex_unlock(&x->lock);
		k = c->len - c->off < max - n ? c->len - c->off : max - n;
		memcpy(out + n, c->data + c->off, k);
		c->off += k;
		n += k;
		pthread_mutex_lock(&x->lock);
		if (c->off == c->len) {
			sl->head = c->next;
			if (!sl->head)
				sl->tail = NULL;
			x->n_chunks--;
			x->rows += c->rows;
			free(c->data);
			free(c);
			pthread_cond_broadcast(&x->cond);
		}
	}
	failed = x->failed;
	pthread_mutex_unlock(&x->lock);
	return failed ? -1 : (ssize_t)n;
}

uint64_t csv_export_rows(const struct csv_export *x)
{
	return x->rows;
}

int csv_export_total(struct csv_export *x, int64_t *n)
{
	if (x->started)
		return 0;       /* cursor 0 belongs to a worker now */
	return store_export_count(x->cur[0], n, &x->err);
}

const char *csv_export_error(const struct csv_export *x)
{
	return x->err.msg;
}

void csv_export_close(struct csv_export *x)
{
	if (!x)
		return;
	pthread_mutex_lock(&x->lock);
	x->stop = 1;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
	for (size_t i = 0; i < x->n_workers; i++)
		pthread_join(x->workers[i], NULL);
	for (size_t i = 0; i < x->n_slices; i++) {
		for (struct chunk *c = x->slices[i].head, *next; c; c = next) {
			next = c->next;
			free(c->data);
			free(c);
		}
	}
	free(x->slices);
	for (size_t i = 0; i < x->n_cur; i++)
		store_export_close(x->cur[i]);
	buf_release(&x->header);
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
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
