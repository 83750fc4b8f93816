/* sqlite_report.c - the surveys a report counts, one row each, in group order (see store.h). */
#include <stdint.h>
#include <stdlib.h>

#include "sqlite_priv.h"
#include "sqlite_store.h"

/*
 * One statement per order, so that no SQL is assembled at run time.  The time order walks the
 * index surveys_by_kind_time without a sort; the others sort once in SQLite.  stop_reply: a stop
 * word that matched an open survey queues its confirmation (purpose opt_out) on that survey,
 * which is how an opt-out is attributed to the survey it answered.
 */
#define REPORT_SELECT                                                                       \
	"SELECT s.channel, coalesce(s.touchpoint, ''), coalesce(s.agent, ''),"             \
	" coalesce(s.opened_at, ''), coalesce(s.closed_at, ''), s.status,"                 \
	" coalesce(s.reason, ''), s.created_at, coalesce(s.sent_at, 0), r.score,"          \
	" coalesce(r.answered_at, 0),"                                                      \
	" EXISTS (SELECT 1 FROM messages m WHERE m.survey_id = s.id AND m.direction = 'out'" \
	"   AND m.purpose = 'opt_out')"                                                     \
	" FROM surveys s LEFT JOIN responses r ON r.survey_id = s.id"                      \
	" WHERE s.kind = ?1 AND s.created_at >= ?2 AND s.created_at < ?3"

static const char *const report_sql[] = {
	[REPORT_ORDER_TIME] = REPORT_SELECT " ORDER BY s.created_at, s.rowid",
	[REPORT_ORDER_CHANNEL] = REPORT_SELECT " ORDER BY s.channel, s.created_at, s.rowid",
	[REPORT_ORDER_TOUCHPOINT] =
		REPORT_SELECT " ORDER BY coalesce(s.touchpoint, ''), s.created_at, s.rowid",
	[REPORT_ORDER_AGENT] = REPORT_SELECT " ORDER BY coalesce(s.agent, ''), s.created_at, s.rowid",
};

struct sqlite_report_cursor {
	sqlite3 *db;
	sqlite3_stmt *stmt;
};

struct sqlite_report_cursor *sqlite_report_open(struct sqlite_store *st,
						const struct report_query *q, struct gw_err *err)
{
	struct sqlite_report_cursor *c;
	int rc;

	if ((unsigned)q->order >= sizeof(report_sql) / sizeof(report_sql[0]) || !q->kind) {
		gw_err_set(err, 500, "internal", "", "report: bad query");
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		return NULL;
	}
	if (open_conn(st->path, SQLITE_OPEN_READONLY, &c->db, err) < 0)
		goto fail;
	if ((rc = sqlite3_prepare_v2(c->db, report_sql[q->order], -1, &c->stmt, NULL)) != SQLITE_OK) {
		db_fail(c->db, rc, "report", err);
		goto fail;
	}
	bind_str(c->stmt, 1, q->kind);
	sqlite3_bind_int64(c->stmt, 2, q->since);
	sqlite3_bind_int64(c->stmt, 3, q->until ? q->until : INT64_MAX);
	return c;
fail:
	sqlite_report_close(c);
	return NULL;
}

int sqlite_report_next(struct sqlite_report_cursor *c, struct report_row *r, struct gw_err *err)
{
	sqlite3_stmt *s = c->stmt;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(c->db, rc, "report", err);
	r->channel = col_str(s, 0);
	r->touchpoint = col_str(s, 1);
	r->agent = col_str(s, 2);
	r->opened_at = col_str(s, 3);
	r->closed_at = col_str(s, 4);
	r->status = col_str(s, 5);
	r->reason = col_str(s, 6);
	r->created_at = sqlite3_column_int64(s, 7);
	r->sent_at = sqlite3_column_int64(s, 8);
	r->has_response = sqlite3_column_type(s, 9) != SQLITE_NULL;
	r->score = r->has_response ? sqlite3_column_int(s, 9) : 0;
	r->answered_at = sqlite3_column_int64(s, 10);
	r->stop_reply = sqlite3_column_int(s, 11) != 0;
	return 1;
}

void sqlite_report_close(struct sqlite_report_cursor *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->stmt);
	sqlite3_close(c->db);
	free(c);
}
