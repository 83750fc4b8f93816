/*
 * pg_export.c - export and report cursors on PostgreSQL (see pg_store.h and store.h).
 *
 * The same rows, columns, filters and order as the SQLite store's (store_surveys.c,
 * store_report.c).  Each cursor has a connection of its own, opened for it and closed with it
 * (an export may last minutes: it must not hold one of the readers kept for short reads), in
 * one REPEATABLE READ READ ONLY transaction: every statement of the cursor reads one snapshot,
 * taken when it opens.  Rows come through a server-side cursor, EXPORT_BATCH at a time, so a
 * cursor holds one batch in memory whatever the size of the export.
 *
 * Text is ordered bytewise (COLLATE "C"), as SQLite's BINARY collation orders it, whatever the
 * database's default collation.  SQLite's rowid (the order surveys were inserted in) breaks
 * ties in a report's order there; PostgreSQL has no such order, so the survey id breaks them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"

/* Rows per FETCH: what a cursor holds in memory at most. */
#define EXPORT_BATCH 1000
#define STR_(x) #x
#define STR(x) STR_(x)
#define FETCH_SQL "FETCH " STR(EXPORT_BATCH) " FROM gw_rows"

/* A query read through the server-side cursor gw_rows, batch by batch, in the connection's
 * one read-only transaction. */
struct pg_stream {
	PGconn *conn;
	char where[200];
	int declared; /* gw_rows is open */
	PGresult *batch;
	int row, n; /* the next row of the batch, its rows */
	int last;   /* the batch was the query's last */
};

struct pg_export_cursor {
	struct pg_stream s;
	char *kind, *channel, *touchpoint, *agent; /* the filter's, copied; NULL: any */
	int64_t since, until;                      /* the filter's answer-time range (0: none) */
	int countable;                             /* the filter bounds the answer time only */
};

struct pg_report_cursor {
	struct pg_stream s;
};

/* Opens the stream's connection and its transaction: 0, or -1 with err.  The snapshot is
 * taken by the first statement that follows (or imported before it). */
static int stream_open(struct pg_stream *s, struct pg_store *st, struct gw_err *err)
{
	snprintf(s->where, sizeof(s->where), "%s", st->where);
	if (!(s->conn = pg_connect_session(st->url, st->where, st->password, err)))
		return -1;
	/* The session's idle_in_transaction_session_timeout (PG_IDLE_TX_TIMEOUT_MS) ends a
	 * transaction a stuck thread left open; an export's transaction stays open while its
	 * consumer (an HTTP client, a disk) is slow to take rows, for minutes maybe: on this
	 * connection alone, no limit.  statement_timeout stays: each FETCH is a statement. */
	if (pg_exec(s->conn, s->where, "SET idle_in_transaction_session_timeout = 0", "export",
		    NULL, err) < 0 ||
	    pg_exec(s->conn, s->where, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "export",
		    NULL, err) < 0)
		return -1;
	return 0;
}

/* (Re)starts the stream on `declare` (a DECLARE gw_rows ... with n text parameters). */
static int stream_declare(struct pg_stream *s, const char *declare, int n, const char *const *vals,
			  const char *what, struct gw_err *err)
{
	PGresult *r;

	PQclear(s->batch);
	s->batch = NULL;
	s->row = s->n = s->last = 0;
	if (s->declared && pg_exec(s->conn, s->where, "CLOSE gw_rows", what, NULL, err) < 0)
		return -1;
	s->declared = 0;
	if (!(r = pg_params(s->conn, s->where, declare, n, vals, what, err)))
		return -1;
	PQclear(r);
	s->declared = 1;
	return 0;
}

/* The next row: 1 and *row (its index in s->batch, valid until the next call), 0 at the end,
 * -1 with err. */
static int stream_next(struct pg_stream *s, int *row, const char *what, struct gw_err *err)
{
	if (!s->declared)
		return gw_err_set(err, 500, "internal", "", "%s: the cursor is not started", what);
	if (s->row >= s->n) {
		if (s->batch && s->last)
			return 0;
		PQclear(s->batch);
		s->row = s->n = 0;
		if (!(s->batch = pg_params(s->conn, s->where, FETCH_SQL, 0, NULL, what, err)))
			return -1;
		s->n = PQntuples(s->batch);
		s->last = s->n < EXPORT_BATCH;
		if (s->n == 0)
			return 0;
	}
	*row = s->row++;
	return 1;
}

/* Ends the transaction with the connection (nothing was written: nothing to keep). */
static void stream_close(struct pg_stream *s)
{
	PQclear(s->batch);
	PQfinish(s->conn);
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- export ---------------------------------------------------------------------------- */

/*
 * The plan walks responses_by_time and sorts each run of equal answered_at on s.id (an
 * incremental sort), so the first rows come without reading the rest.  "$n::text IS NULL OR
 * ..." costs nothing: the statement is planned with its parameters' values.
 */
static const char export_declare[] =
	"DECLARE gw_rows NO SCROLL CURSOR FOR"
	" SELECT s.id, c.ext_id, s.phone, s.channel, s.kind, r.score, r.comment,"
	" s.interaction_id, s.touchpoint, s.agent, coalesce(s.sent_at, 0), r.answered_at,"
	" s.name, s.locale, s.opened_at, s.closed_at"
	" FROM responses r JOIN surveys s ON s.id = r.survey_id"
	" JOIN customers c ON c.id = s.customer_id"
	" WHERE ($1::text IS NULL OR s.kind = $1) AND r.answered_at >= $2"
	" AND r.answered_at < $3 AND ($4::text IS NULL OR s.channel = $4)"
	" AND ($5::text IS NULL OR s.touchpoint = $5) AND ($6::text IS NULL OR s.agent = $6)"
	" ORDER BY r.answered_at, s.id COLLATE \"C\"";

/* Every response has its survey and customer (foreign keys), so counting the responses in the
 * time range counts the export's rows, from the index alone. */
static const char export_count_sql[] =
	"SELECT count(*) FROM responses WHERE answered_at >= $1 AND answered_at < $2";

/* Every step-th answer time in order, once each (a run of equal times gives one boundary). */
static const char export_bounds_sql[] =
	"SELECT DISTINCT t FROM (SELECT answered_at AS t,"
	" row_number() OVER (ORDER BY answered_at) AS k FROM responses"
	" WHERE answered_at >= $1 AND answered_at < $2) AS a WHERE k % $3 = 0 ORDER BY t";

/* [since, until) as the statements' bounds: 0 is no bound on that side. */
static void answer_range(int64_t since, int64_t until, char lo[24], char hi[24])
{
	snprintf(lo, 24, "%lld", (long long)(since ? since : INT64_MIN));
	snprintf(hi, 24, "%lld", (long long)(until ? until : INT64_MAX));
}

/* Declares the export's query over [since, until). */
static int export_declare_range(struct pg_export_cursor *c, int64_t since, int64_t until,
				struct gw_err *err)
{
	char lo[24], hi[24];

	answer_range(since, until, lo, hi);
	return stream_declare(&c->s, export_declare, 6,
			      (const char *const[]){ c->kind, lo, hi, c->channel, c->touchpoint,
						     c->agent },
			      "export", err);
}

/* A copy of a filter string (NULL stays NULL): 0, or -1 out of memory. */
static int copy_opt(char **dst, const char *src)
{
	*dst = NULL;
	return src && !(*dst = strdup(src)) ? -1 : 0;
}

/* A cursor for filter f with its transaction begun, no statement run yet. */
static struct pg_export_cursor *export_new(struct pg_store *st, const struct export_filter *f,
					   struct gw_err *err)
{
	struct pg_export_cursor *c = calloc(1, sizeof(*c));

	if (!c || copy_opt(&c->kind, f->kind) < 0 || copy_opt(&c->channel, f->channel) < 0 ||
	    copy_opt(&c->touchpoint, f->touchpoint) < 0 || copy_opt(&c->agent, f->agent) < 0) {
		gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		goto fail;
	}
	c->since = f->since;
	c->until = f->until;
	c->countable = !f->kind && !f->channel && !f->touchpoint && !f->agent;
	if (stream_open(&c->s, st, err) < 0)
		goto fail;
	return c;
fail:
	pg_export_close(c);
	return NULL;
}

struct pg_export_cursor *pg_export_open(struct pg_store *st, const struct export_filter *f,
					struct gw_err *err)
{
	struct pg_export_cursor *c = export_new(st, f, err);

	/* DECLARE is the transaction's first statement: the snapshot is taken now. */
	if (c && export_declare_range(c, c->since, c->until, err) < 0) {
		pg_export_close(c);
		return NULL;
	}
	return c;
}

/* The snapshot of cursor c's transaction, exported for others to import (into id). */
static int export_snapshot(struct pg_export_cursor *c, char *id, size_t n, struct gw_err *err)
{
	PGresult *r = pg_params(c->s.conn, c->s.where, "SELECT pg_export_snapshot()", 0, NULL,
				"export snapshot", err);
	int rc = -1;

	if (!r)
		return -1;
	snprintf(id, n, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
	/* It goes into a statement's text (SET TRANSACTION takes no parameters): the server's
	 * form alone, hex digits and dashes, gets there. */
	if (id[0] && strspn(id, "0123456789ABCDEFabcdef-") == strlen(id))
		rc = 0;
	else
		gw_err_set(err, 503, "store_unavailable", "",
			   "PostgreSQL at %s: export snapshot: unexpected snapshot name",
			   c->s.where);
	PQclear(r);
	return rc;
}

/* A cursor reading snapshot `snap` (imported before its first statement). */
static struct pg_export_cursor *export_open_at(struct pg_store *st, const struct export_filter *f,
					       const char *snap, struct gw_err *err)
{
	struct pg_export_cursor *c = export_new(st, f, err);
	char sql[128];

	if (!c)
		return NULL;
	snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", snap);
	if (pg_exec(c->s.conn, c->s.where, sql, "export snapshot", NULL, err) < 0 ||
	    export_declare_range(c, c->since, c->until, err) < 0) {
		pg_export_close(c);
		return NULL;
	}
	return c;
}

/*
 * The first cursor exports its snapshot (valid while its transaction lasts, which is past
 * this call) and every other imports it before its first statement: all read one snapshot,
 * whatever commits meanwhile.  A cursor after the first that cannot be opened (no connection
 * left on the server) ends the list there, as on SQLite.
 */
int pg_export_open_many(struct pg_store *st, const struct export_filter *f,
			struct pg_export_cursor **cur, size_t *n, struct gw_err *err)
{
	size_t want = *n, i;
	char snap[64];

	*n = 0;
	if (!(cur[0] = export_new(st, f, err)))
		return -1;
	if (export_snapshot(cur[0], snap, sizeof(snap), err) < 0 ||
	    export_declare_range(cur[0], cur[0]->since, cur[0]->until, err) < 0) {
		pg_export_close(cur[0]);
		cur[0] = NULL;
		return -1;
	}
	for (i = 1; i < want; i++)
		if (!(cur[i] = export_open_at(st, f, snap, err)))
			break;
	*n = i;
	memset(err, 0, sizeof(*err));
	return 0;
}

int pg_export_bounds(struct pg_export_cursor *c, size_t step, int64_t **bounds, size_t *n,
		     struct gw_err *err)
{
	char lo[24], hi[24], k[24];
	PGresult *r;
	int64_t *b = NULL;
	size_t rows;

	*bounds = NULL;
	*n = 0;
	if (step == 0)
		return gw_err_set(err, 500, "internal", "", "export bounds: a step of 0 rows");
	answer_range(c->since, c->until, lo, hi);
	if (!(r = pg_params(c->s.conn, c->s.where, export_bounds_sql, 3,
			    (const char *const[]){ lo, hi, I64(k, step) }, "export", err)))
		return -1;
	rows = (size_t)PQntuples(r);
	if (rows && !(b = malloc(rows * sizeof(*b)))) {
		PQclear(r);
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	}
	for (size_t i = 0; i < rows; i++)
		b[i] = col_i64(r, (int)i, 0);
	PQclear(r);
	*bounds = b;
	*n = rows;
	return 0;
}

int pg_export_range(struct pg_export_cursor *c, int64_t from, int64_t to, struct gw_err *err)
{
	int64_t lo = c->since, hi = c->until;

	if (from && (!lo || from > lo))
		lo = from;
	if (to && (!hi || to < hi))
		hi = to;
	return export_declare_range(c, lo, hi, err);
}

int pg_export_count(struct pg_export_cursor *c, int64_t *n, struct gw_err *err)
{
	char lo[24], hi[24];
	PGresult *r;

	if (!c->countable)
		return 0;
	answer_range(c->since, c->until, lo, hi);
	if (!(r = pg_params(c->s.conn, c->s.where, export_count_sql, 2,
			    (const char *const[]){ lo, hi }, "export count", err)))
		return -1;
	*n = col_i64(r, 0, 0);
	PQclear(r);
	return 1;
}

int pg_export_next(struct pg_export_cursor *c, struct export_row *r, struct gw_err *err)
{
	const PGresult *b;
	int i, rc = stream_next(&c->s, &i, "export", err);

	if (rc <= 0)
		return rc;
	b = c->s.batch;
	r->survey_id = PQgetvalue(b, i, 0);
	r->customer_id = PQgetvalue(b, i, 1);
	r->phone = PQgetvalue(b, i, 2);
	r->channel = PQgetvalue(b, i, 3);
	r->kind = PQgetvalue(b, i, 4);
	r->score = (int)strtol(PQgetvalue(b, i, 5), NULL, 10);
	r->comment = PQgetvalue(b, i, 6);
	r->comment_len = (size_t)PQgetlength(b, i, 6);
	r->interaction_id = PQgetvalue(b, i, 7);
	r->touchpoint = PQgetvalue(b, i, 8); /* "" for NULL, as on SQLite */
	r->agent = PQgetvalue(b, i, 9);
	r->sent_at = col_i64(b, i, 10);
	r->answered_at = col_i64(b, i, 11);
	r->name = PQgetvalue(b, i, 12);
	r->locale = PQgetvalue(b, i, 13);
	r->opened_at = PQgetvalue(b, i, 14);
	r->closed_at = PQgetvalue(b, i, 15);
	return 1;
}

void pg_export_close(struct pg_export_cursor *c)
{
	if (!c)
		return;
	stream_close(&c->s);
	free(c->kind);
	free(c->channel);
	free(c->touchpoint);
	free(c->agent);
	free(c);
}

/* ---- reports --------------------------------------------------------------------------- */

/*
 * One statement per order, so that no SQL is assembled at run time.  stop_reply: a stop word
 * that matched an open survey queues its confirmation (purpose opt_out) on that survey, which
 * is how an opt-out is attributed to the survey it answered.
 */
#define REPORT_DECLARE                                                                       \
	"DECLARE gw_rows NO SCROLL CURSOR FOR"                                               \
	" SELECT s.channel, coalesce(s.touchpoint, ''), coalesce(s.agent, ''),"              \
	" coalesce(s.opened_at, ''), coalesce(s.closed_at, ''), s.status,"                   \
	" coalesce(s.reason, ''), s.created_at, coalesce(s.sent_at, 0), r.score,"            \
	" coalesce(r.answered_at, 0),"                                                       \
	" EXISTS (SELECT 1 FROM messages m WHERE m.survey_id = s.id AND m.direction = 'out'" \
	"   AND m.purpose = 'opt_out')"                                                      \
	" FROM surveys s LEFT JOIN responses r ON r.survey_id = s.id"                        \
	" WHERE s.kind = $1 AND s.created_at >= $2 AND s.created_at < $3"
#define BY_TIME " s.created_at, s.seq" /* ties in creation order, as SQLite's rowid */

static const char *const report_declare[] = {
	[REPORT_ORDER_TIME] = REPORT_DECLARE " ORDER BY" BY_TIME,
	[REPORT_ORDER_CHANNEL] = REPORT_DECLARE " ORDER BY s.channel COLLATE \"C\"," BY_TIME,
	[REPORT_ORDER_TOUCHPOINT] = REPORT_DECLARE
	" ORDER BY coalesce(s.touchpoint, '') COLLATE \"C\"," BY_TIME,
	[REPORT_ORDER_AGENT] = REPORT_DECLARE
	" ORDER BY coalesce(s.agent, '') COLLATE \"C\"," BY_TIME,
};

struct pg_report_cursor *pg_report_open(struct pg_store *st, const struct report_query *q,
					struct gw_err *err)
{
	struct pg_report_cursor *c;
	char since[24], until[24];

	if ((unsigned)q->order >= sizeof(report_declare) / sizeof(report_declare[0]) || !q->kind) {
		gw_err_set(err, 500, "internal", "", "report: bad query");
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		return NULL;
	}
	if (stream_open(&c->s, st, err) < 0 ||
	    stream_declare(&c->s, report_declare[q->order], 3,
			   (const char *const[]){ q->kind, I64(since, q->since),
						  I64(until, q->until ? q->until : INT64_MAX) },
			   "report", err) < 0) {
		pg_report_close(c);
		return NULL;
	}
	return c;
}

int pg_report_next(struct pg_report_cursor *c, struct report_row *r, struct gw_err *err)
{
	const PGresult *b;
	int i, rc = stream_next(&c->s, &i, "report", err);

	if (rc <= 0)
		return rc;
	b = c->s.batch;
	r->channel = PQgetvalue(b, i, 0);
	r->touchpoint = PQgetvalue(b, i, 1);
	r->agent = PQgetvalue(b, i, 2);
	r->opened_at = PQgetvalue(b, i, 3);
	r->closed_at = PQgetvalue(b, i, 4);
	r->status = PQgetvalue(b, i, 5);
	r->reason = PQgetvalue(b, i, 6);
	r->created_at = col_i64(b, i, 7);
	r->sent_at = col_i64(b, i, 8);
	r->has_response = !PQgetisnull(b, i, 9);
	r->score = r->has_response ? (int)strtol(PQgetvalue(b, i, 9), NULL, 10) : 0;
	r->answered_at = col_i64(b, i, 10);
	r->stop_reply = strcmp(PQgetvalue(b, i, 11), "t") == 0;
	return 1;
}

void pg_report_close(struct pg_report_cursor *c)
{
	if (!c)
		return;
	stream_close(&c->s);
	free(c);
}
