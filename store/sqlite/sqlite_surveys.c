/* sqlite_surveys.c - creating and reading surveys, and the CSV export cursor (see store.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite_priv.h"
#include "sqlite_store.h"
#include "survey_sql.h"

/* ---- surveys --------------------------------------------------------------------------- */

/* 1 when the phone has opted out, 0 when not, -1 on error. */
static int phone_suppressed(struct sqlite_store *st, const char *phone, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_SUPPRESSED);
	int rc, out = 0;

	bind_str(s, 1, phone);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		out = sqlite3_column_int(s, 0) != 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st->db, rc, "read suppression", err);
	return out;
}

/* 1 when the customer id or the phone has a survey created after `since` that counts (not
 * skipped, not failed), 0 when not, -1 on error. */
static int recently_surveyed(struct sqlite_store *st, const struct survey_new *in, int64_t since,
			     struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_RECENTLY_SURVEYED);
	int rc;

	bind_str(s, 1, in->customer_id);
	bind_str(s, 2, in->phone);
	sqlite3_bind_int64(s, 3, since);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st->db, rc, "check recent surveys", err);
	return rc == SQLITE_ROW;
}

/* Creates or updates the customer; their row id in *customer. */
static int upsert_customer(struct sqlite_store *st, const struct survey_new *in, int64_t *customer,
			   struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_CUSTOMER_UPSERT);
	int rc;

	bind_str(s, 1, in->customer_id);
	bind_str(s, 2, in->phone);
	bind_opt_str(s, 3, in->name);
	bind_str(s, 4, in->locale);
	sqlite3_bind_int64(s, 5, in->now);
	bind_opt_str(s, 6, in->timezone);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*customer = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : db_fail(st->db, rc, "save customer", err);
}

static int insert_survey(struct sqlite_store *st, const struct survey_new *in, int64_t customer,
			 const char *status, const char *reason, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_SURVEY_INSERT);

	bind_str(s, 1, in->id);
	sqlite3_bind_int64(s, 2, customer);
	bind_str(s, 3, in->phone);
	bind_opt_str(s, 4, in->name);
	bind_str(s, 5, in->locale);
	bind_str(s, 6, in->kind);
	bind_str(s, 7, in->channel);
	bind_str(s, 8, in->provider);
	bind_str(s, 9, in->interaction_id);
	bind_opt_str(s, 10, in->touchpoint);
	bind_opt_str(s, 11, in->agent);
	bind_opt_str(s, 12, in->opened_at);
	bind_opt_str(s, 13, in->closed_at);
	sqlite3_bind_int64(s, 14, in->now);
	sqlite3_bind_int64(s, 15, in->send_after);
	sqlite3_bind_int64(s, 16, in->expires_at);
	bind_str(s, 17, status);
	bind_opt_str(s, 18, reason);
	bind_opt_str(s, 19, in->timezone);
	sqlite3_bind_int64(s, 20, in->expire_after_s > 0 ? in->expire_after_s : 172800);
	return step_done(st, s, "save survey", err);
}

/* The body of sqlite_create_survey(), inside its transaction. */
static int create_survey_tx(struct sqlite_store *st, const struct survey_new *in,
			    char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_SURVEY_BY_INTERACTION);
	int64_t customer = 0;
	int rc, recent = 0;

	bind_str(s, 1, in->interaction_id);
	bind_str(s, 2, in->kind);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		col_copy(s, 0, id_out, SURVEY_ID_LEN);
		sqlite3_reset(s);
		*outcome = SURVEY_EXISTING;
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_fail(st->db, rc, "find survey", err);
	if ((rc = phone_suppressed(st, in->phone, err)) != 0) {
		*outcome = SURVEY_OPTED_OUT;
		return rc < 0 ? -1 : 0;
	}
	if (in->fatigue_days > 0 &&
	    (recent = recently_surveyed(st, in, in->now - (int64_t)in->fatigue_days * 86400, err)) < 0)
		return -1;
	if (upsert_customer(st, in, &customer, err) < 0)
		return -1;
	snprintf(id_out, SURVEY_ID_LEN, "%s", in->id);
	if (recent) {
		*outcome = SURVEY_SKIPPED;
		return insert_survey(st, in, customer, "skipped", "recently_surveyed", err);
	}
	*outcome = SURVEY_CREATED;
	if (insert_survey(st, in, customer, "queued", NULL, err) < 0)
		return -1;
	return insert_outbound(st, in->id, "survey", in->channel, in->provider, in->phone,
			       in->question, in->send_after, in->now, err);
}

struct create_args {
	const struct survey_new *in;
	char *id_out;
	int *outcome;
};

static int create_survey_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct create_args *a = arg;

	return create_survey_tx(st, a->in, a->id_out, a->outcome, err);
}

int sqlite_create_survey(struct sqlite_store *st, const struct survey_new *in,
			 char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err)
{
	struct create_args a = { in, id_out, outcome };

	return sqlite_run(st, create_survey_job, &a, err);
}

int sqlite_create_survey_async(struct sqlite_store *st, const struct survey_new *in,
			       char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err,
			       void (*done)(void *ctx, int rc), void *ctx)
{
	struct create_args a = { in, id_out, outcome };

	return sqlite_submit(st, create_survey_job, &a, sizeof(a), err, done, ctx);
}

/* The survey a statement of SURVEY_SELECT (survey_sql.h) stepped to, into *out. */
static int survey_from_row(sqlite3_stmt *s, struct survey *out, struct gw_err *err)
{
	const char *col[SURVEY_COLUMNS];
	size_t len[SURVEY_COLUMNS];

	for (int i = 0; i < SURVEY_COLUMNS; i++) {
		col[i] = (const char *)sqlite3_column_text(s, i);
		len[i] = (size_t)sqlite3_column_bytes(s, i);
	}
	return survey_from_columns(col, len, out, err);
}

/* One survey by a reader statement of SURVEY_SELECT bound to key1 (and key2 when not NULL):
 * 1 found, 0 not, -1 error. */
static int read_survey(struct sqlite_store *st, enum reader_stmt which, const char *key1,
		       const char *key2, struct survey *out, struct gw_err *err)
{
	struct reader *r = reader_get(st, err);
	sqlite3_stmt *s;
	int rc = -1, step;

	memset(out, 0, sizeof(*out));
	if (!r)
		return -1;
	if (!(s = reader_stmt(r, which, err)))
		goto out;
	bind_str(s, 1, key1);
	if (key2)
		bind_str(s, 2, key2);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW)
		rc = survey_from_row(s, out, err) < 0 ? -1 : 1;
	else if (step == SQLITE_DONE)
		rc = 0;
	else
		db_fail(r->db, step, "read survey", err);
out:
	reader_put(st, r);
	return rc;
}

int sqlite_get_survey(struct sqlite_store *st, const char *id, struct survey *out,
		      struct gw_err *err)
{
	int rc = read_survey(st, R_SURVEY_GET, id, NULL, out, err);

	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

int sqlite_find_survey(struct sqlite_store *st, const char *interaction_id, const char *kind,
		       struct survey *out, struct gw_err *err)
{
	return read_survey(st, R_SURVEY_BY_INTERACTION, interaction_id, kind, out, err);
}

int sqlite_list_surveys(struct sqlite_store *st, const char *status, size_t max,
			char (*ids)[SURVEY_ID_LEN], size_t *n, struct gw_err *err)
{
	struct reader *r = reader_get(st, err);
	sqlite3_stmt *s;
	int rc = -1, step;

	*n = 0;
	if (!r)
		return -1;
	if (!(s = reader_stmt(r, R_SURVEY_LIST, err)))
		goto out;
	bind_str(s, 1, status);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		col_copy(s, 0, ids[(*n)++], SURVEY_ID_LEN);
	if (step != SQLITE_DONE && step != SQLITE_ROW) {
		db_fail(r->db, step, "list surveys", err);
		goto out;
	}
	rc = 0;
out:
	reader_put(st, r);
	return rc;
}

/* ---- export ---------------------------------------------------------------------------- */

struct sqlite_export_cursor {
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int in_txn;             /* BEGIN ran: COMMIT at close */
	int countable;          /* the filter bounds the answer time only */
	int64_t since, until;
};

/*
 * One statement stepped row by row: SQLite walks responses_by_time and looks each survey and
 * customer up by key, so nothing is buffered but the tie-break on s.id among answers of the same
 * second (USE TEMP B-TREE FOR RIGHT PART OF ORDER BY: a run of equal answered_at at a time).
 */
static const char export_sql[] =
	"SELECT s.id, c.ext_id, s.phone, s.channel, s.kind, r.score, r.comment,"
	" s.interaction_id, s.touchpoint, s.agent, coalesce(s.sent_at, 0), r.answered_at,"
	" s.name, s.locale, s.opened_at, s.closed_at"
	" FROM responses r JOIN surveys s ON s.id = r.survey_id"
	" JOIN customers c ON c.id = s.customer_id"
	" WHERE (?1 IS NULL OR s.kind = ?1) AND r.answered_at >= ?2"
	" AND r.answered_at < ?3 AND (?4 IS NULL OR s.channel = ?4)"
	" AND (?5 IS NULL OR s.touchpoint = ?5) AND (?6 IS NULL OR s.agent = ?6)"
	" ORDER BY r.answered_at, s.id";

/* Every response has its survey and customer (foreign keys), so counting the responses in the
 * time range counts the export's rows, from the index alone. */
static const char export_count_sql[] =
	"SELECT count(*) FROM responses r WHERE r.answered_at >= ?1 AND r.answered_at < ?2";

/* Binds ?i and ?i+1, the answer-time range [since, until) of the export's statements (0: no bound
 * on that side), as plain bounds: "?i IS NULL OR answered_at >= ?i" made SQLite walk the whole of
 * responses_by_time and test each entry, where plain bounds read only the range. */
static int bind_answer_range(sqlite3_stmt *s, int i, int64_t since, int64_t until)
{
	int rc = sqlite3_bind_int64(s, i, since ? since : INT64_MIN);

	return rc == SQLITE_OK ? sqlite3_bind_int64(s, i + 1, until ? until : INT64_MAX) : rc;
}

struct sqlite_export_cursor *sqlite_export_open(struct sqlite_store *st,
						const struct export_filter *f, struct gw_err *err)
{
	struct sqlite_export_cursor *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		return NULL;
	}
	if (open_conn(st->path, SQLITE_OPEN_READONLY, &c->db, err) < 0)
		goto fail;
	/* One read transaction: a count taken first sees the very rows the export then writes. */
	if ((rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK) {
		db_fail(c->db, rc, "export", err);
		goto fail;
	}
	c->in_txn = 1;
	if ((rc = sqlite3_prepare_v2(c->db, export_sql, -1, &c->stmt, NULL)) != SQLITE_OK) {
		db_fail(c->db, rc, "export", err);
		goto fail;
	}
	bind_str(c->stmt, 1, f->kind);
	bind_answer_range(c->stmt, 2, f->since, f->until);
	bind_str(c->stmt, 4, f->channel);
	bind_str(c->stmt, 5, f->touchpoint);
	bind_str(c->stmt, 6, f->agent);
	c->countable = !f->kind && !f->channel && !f->touchpoint && !f->agent;
	c->since = f->since;
	c->until = f->until;
	return c;
fail:
	sqlite_export_close(c);
	return NULL;
}

/* Starts c's read transaction now (BEGIN alone waits for the first read). */
static int start_snapshot(struct sqlite_export_cursor *c, struct gw_err *err)
{
	int rc = sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : db_fail(c->db, rc, "export", err);
}

int sqlite_export_open_many(struct sqlite_store *st, const struct export_filter *f,
			    struct sqlite_export_cursor **cur, size_t *n, struct gw_err *err)
{
	sqlite3 *lock = NULL;
	size_t want = *n, i;
	int rc;

	*n = 0;
	if (!(cur[0] = sqlite_export_open(st, f, err)))
		return -1;
	*n = 1;
	/* Under the write lock nothing commits, so every cursor that starts reading meanwhile
	 * reads the same snapshot.  Without the lock (a read-only file, a writer that holds it
	 * past the busy timeout), one cursor. */
	if (want < 2 || open_conn(st->path, SQLITE_OPEN_READWRITE, &lock, err) < 0)
		goto one;
	if (sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto one;
	for (i = 0; i < want; i++) {
		if (i > 0 && !(cur[i] = sqlite_export_open(st, f, err)))
			break;
		if (start_snapshot(cur[i], err) < 0) {
			if (i > 0)
				sqlite_export_close(cur[i]);
			break;
		}
	}
	rc = sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(lock);
	if (i == 0) {                   /* cursor 0 could not read */
		sqlite_export_close(cur[0]);
		*n = 0;
		return -1;
	}
	if (rc != SQLITE_OK) {          /* the snapshots may differ: keep one */
		for (size_t k = 1; k < i; k++)
			sqlite_export_close(cur[k]);
		i = 1;
	}
	*n = i;
	memset(err, 0, sizeof(*err));
	return 0;
one:
	sqlite3_close(lock);
	memset(err, 0, sizeof(*err));
	return 0;
}

int sqlite_export_bounds(struct sqlite_export_cursor *c, size_t step, int64_t **bounds, size_t *n,
			 struct gw_err *err)
{
	static const char sql[] =
		"SELECT answered_at FROM responses WHERE answered_at >= ?1 AND answered_at < ?2"
		" ORDER BY answered_at";
	sqlite3_stmt *s = NULL;
	int64_t *b = NULL, last = INT64_MIN;
	size_t count = 0, cap = 0, seen = 0;
	int rc;

	*bounds = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return db_fail(c->db, rc, "export", err);
	bind_answer_range(s, 1, c->since, c->until);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t t;

		if (++seen % step != 0 || (t = sqlite3_column_int64(s, 0)) <= last)
			continue;
		if (count == cap) {
			int64_t *nb = realloc(b, (cap = cap ? 2 * cap : 64) * sizeof(*b));

			if (!nb) {
				rc = SQLITE_NOMEM;
				break;
			}
			b = nb;
		}
		b[count++] = last = t;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		free(b);
		return db_fail(c->db, rc, "export", err);
	}
	*bounds = b;
	*n = count;
	return 0;
}

int sqlite_export_range(struct sqlite_export_cursor *c, int64_t from, int64_t to,
			struct gw_err *err)
{
	int64_t lo = c->since, hi = c->until;
	int rc;

	if (from && (!lo || from > lo))
		lo = from;
	if (to && (!hi || to < hi))
		hi = to;
	sqlite3_reset(c->stmt);
	rc = bind_answer_range(c->stmt, 2, lo, hi);
	return rc == SQLITE_OK ? 0 : db_fail(c->db, rc, "export", err);
}

int sqlite_export_count(struct sqlite_export_cursor *c, int64_t *n, struct gw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (!c->countable)
		return 0;
	if ((rc = sqlite3_prepare_v2(c->db, export_count_sql, -1, &s, NULL)) != SQLITE_OK)
		return db_fail(c->db, rc, "export count", err);
	bind_answer_range(s, 1, c->since, c->until);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return db_fail(c->db, rc, "export count", err);
	return 1;
}

int sqlite_export_next(struct sqlite_export_cursor *c, struct export_row *r, struct gw_err *err)
{
	sqlite3_stmt *s = c->stmt;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(c->db, rc, "export", err);
	r->survey_id = col_str(s, 0);
	r->customer_id = col_str(s, 1);
	r->phone = col_str(s, 2);
	r->channel = col_str(s, 3);
	r->kind = col_str(s, 4);
	r->score = sqlite3_column_int(s, 5);
	r->comment = col_str(s, 6);
	r->comment_len = (size_t)sqlite3_column_bytes(s, 6);
	r->interaction_id = col_str(s, 7);
	r->touchpoint = col_str(s, 8);
	r->agent = col_str(s, 9);
	r->sent_at = sqlite3_column_int64(s, 10);
	r->answered_at = sqlite3_column_int64(s, 11);
	r->name = col_str(s, 12);
	r->locale = col_str(s, 13);
	r->opened_at = col_str(s, 14);
	r->closed_at = col_str(s, 15);
	return 1;
}

void sqlite_export_close(struct sqlite_export_cursor *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->stmt);
	/* A read-only transaction: ending it releases the snapshot, nothing is written. */
	if (c->in_txn)
		sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(c->db);
	free(c);
}
