/*
 * pg_writer.c - group commit on PostgreSQL: store/group.c's writer on a connection of its own.
 *
 * Jobs run in one transaction per group, each in a savepoint.  A savepoint that writes is a
 * subtransaction, and a session keeps at most 64 of them in the shared cache other sessions'
 * snapshots read; past that every snapshot of every session looks them up the slow way.  So a
 * group holds at most PG_GROUP_MAX jobs.
 */
#include <stdio.h>
#include <string.h>

#include "group.h"
#include "pg_priv.h"
#include "pg_store.h"

/* One statement without parameters on the writer's connection: 0, or -1 with err. */
static int wexec(struct pg_store *st, const char *sql, const char *what, struct gw_err *err)
{
	return pg_exec(st->wconn, st->where, sql, what, NULL, err);
}

/* A job the server ended to break a deadlock with another instance (or a serialisation
 * failure) is undone and run again in its savepoint, at most PG_CONFLICT_TRIES times: the
 * other side went on meanwhile, and the request need not see a 503 for it. */
static int w_invoke(void *be, group_fn fn, void *arg, struct gw_err *err)
{
	struct pg_store *st = be;
	int rc;

	for (int tries = 1;; tries++) {
		rc = ((pg_job_fn)fn)(st, arg, err);
		if (rc != -1 || strcmp(err->code, PG_CONFLICT) != 0)
			return rc;
		if (tries == PG_CONFLICT_TRIES) { /* the caller sees what any failed write is */
			snprintf(err->code, sizeof(err->code), "store_unavailable");
			return rc;
		}
		__atomic_add_fetch(&st->conflicts_retried, 1, __ATOMIC_RELAXED);
		if (wexec(st, "ROLLBACK TO SAVEPOINT job", "roll a job back", NULL) < 0)
			return rc;
		gw_err_clear(err);
	}
}

/* A connection lost since the last group is opened again first (with backoff). */
static int w_begin(void *be, struct gw_err *err)
{
	struct pg_store *st = be;

	if (pg_heal(st, st->wconn, &st->wconn_backoff, err) < 0)
		return -1;
	return wexec(st, "BEGIN", "begin", err);
}

static int w_savepoint(void *be, struct gw_err *err)
{
	return wexec(be, "SAVEPOINT job", "savepoint", err);
}

static void w_end_savepoint(void *be, int undo)
{
	if (undo)
		wexec(be, "ROLLBACK TO SAVEPOINT job", "roll a job back", NULL);
	wexec(be, "RELEASE SAVEPOINT job", "release a savepoint", NULL);
}

/* A lost connection has no transaction: the group's jobs so far fail, the rest begin again
 * (and fail at BEGIN until the connection is back). */
static int w_in_transaction(void *be)
{
	PGTransactionStatusType t = PQtransactionStatus(((struct pg_store *)be)->wconn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* synchronous_commit = on: COMMIT returns once the server has flushed the group's WAL.  A
 * transaction that had failed answers ROLLBACK, not an error: it is a failure all the same. */
static int w_commit(void *be, struct gw_err *err)
{
	struct pg_store *st = be;
	PGresult *r = PQexec(st->wconn, "COMMIT");
	int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	int rolled_back = ok && strcmp(PQcmdStatus(r), "ROLLBACK") == 0;

	PQclear(r);
	if (rolled_back)
		return gw_err_set(err, 503, "store_unavailable", "",
				  "PostgreSQL at %s rolled the transaction back", st->where);
	return ok ? 0 : pg_fail(st->wconn, st->where, "commit", NULL, err);
}

static void w_rollback(void *be)
{
	wexec(be, "ROLLBACK", "roll back", NULL);
}

static void w_between(void *be, int idle)
{
	(void)be;
	(void)idle;
}

static const struct group_ops pg_group = {
	.invoke = w_invoke,
	.begin = w_begin,
	.savepoint = w_savepoint,
	.end_savepoint = w_end_savepoint,
	.in_transaction = w_in_transaction,
	.commit = w_commit,
	.rollback = w_rollback,
	.between = w_between,
};

int pg_writer_start(struct pg_store *st, struct gw_err *err)
{
	return group_start(&st->q, &pg_group, st, PG_GROUP_MAX, "gw-writer", err);
}

int pg_run(struct pg_store *st, pg_job_fn fn, void *arg, struct gw_err *err)
{
	return group_run(&st->q, (group_fn)fn, arg, err);
}

int pg_submit(struct pg_store *st, pg_job_fn fn, const void *arg, size_t arg_len,
	      struct gw_err *err, void (*on_done)(void *ctx, int rc), void *ctx)
{
	return group_submit(&st->q, (group_fn)fn, arg, arg_len, err, on_done, ctx);
}

/* The index of `sql` among the statements prepared on the writer's connection, preparing it
 * when there is room; -1 to run it unprepared. */
static int prepared(struct pg_store *st, const char *sql)
{
	char name[16];
	PGresult *r;
	int ok;

	for (int i = 0; i < st->n_wsql; i++)
		if (st->wsql[i] == sql)
			return i;
	if (st->n_wsql == PG_WRITER_PREPARED)
		return -1;
	snprintf(name, sizeof(name), "gw_s%d", st->n_wsql);
	r = PQprepare(st->wconn, name, sql, 0, NULL);
	ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok) /* run unprepared: the same error, if any, comes back from the server */
		return -1;
	st->wsql[st->n_wsql] = sql;
	return st->n_wsql++;
}

PGresult *pg_wrun(struct pg_store *st, const char *sql, int n, const char *const *vals,
		  const char *what, struct gw_err *err)
{
	int i = prepared(st, sql);
	char name[16];

	if (i < 0)
		return pg_params(st->wconn, st->where, sql, n, vals, what, err);
	snprintf(name, sizeof(name), "gw_s%d", i);
	return pg_result(st->wconn, st->where,
			 PQexecPrepared(st->wconn, name, n, vals, NULL, NULL, 0), what, err);
}

int pg_wrun_one(struct pg_store *st, const char *sql, int n, const char *const *vals,
		const char *what, char *out, size_t outn, struct gw_err *err)
{
	PGresult *r = pg_wrun(st, sql, n, vals, what, err);
	int rc;

	if (!r)
		return -1;
	rc = PQntuples(r) > 0;
	if (rc && out)
		snprintf(out, outn, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

int pg_insert_outbound(struct pg_store *st, const char *survey_id, const char *purpose,
		       const char *channel, const char *provider, const char *phone,
		       const char *body, int64_t due, int64_t now, struct gw_err *err)
{
	char d[24], t[24];

	return pg_wrun_one(st,
			   "INSERT INTO messages (survey_id, direction, purpose, channel, provider,"
			   " phone, body, status, next_attempt_at, created_at, updated_at)"
			   " VALUES ($1, 'out', $2, $3, $4, $5, $6, 'queued', $7, $8, $8)",
			   8,
			   (const char *const[]){ survey_id, purpose, channel, provider, phone, body,
						  I64(d, due), I64(t, now) },
			   "queue message", NULL, 0, err) < 0 ?
		       -1 :
		       0;
}
