/*
 * pg_sends.c - send outcomes and the outbox's other writes and reads on PostgreSQL (see
 * pg_store.h).
 *
 * An outcome is fenced as pg_outbox.c says: it lands only on a message this instance claimed
 * and that is still `sending` (or `uncertain`, its lease ended), and its survey moves with it
 * as on SQLite.  One that finds no such message (cancelled meanwhile, or no longer this
 * instance's claim) keeps nothing and reports itself cancelled.  Every outcome, the single
 * ones too, goes through pg_record_sends(): one writer job per batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"

#define EXPIRE_LOCK PG_EXPIRE_LOCK

/*
 * One outcome: $1 the message, $2 this instance, $3 the time, $4 the provider's id or the
 * error code, $5 the error message ("" reads as none, as on SQLite).  The message is updated
 * under the fence, then its survey (for a survey text only) when in one of `states`; the
 * count says whether the message was.
 */
#define OUTCOME(msg_set, survey_set, states)                                              \
	"WITH m AS (UPDATE messages SET " msg_set                                         \
	"  WHERE id = $1 AND claimed_by = $2 AND status IN ('sending', 'uncertain')"      \
	"  RETURNING survey_id, purpose),"                                                \
	" s AS (UPDATE surveys v SET " survey_set " FROM m"                               \
	"  WHERE v.id = m.survey_id AND m.purpose = 'survey' AND v.status IN " states ")" \
	" SELECT count(*) FROM m"
#define ERR_SET "error_code = nullif($4::text, ''), error_message = nullif($5::text, '')"

static const struct {
	const char *sql;
	int nparams;
} outcome[] = {
	[SEND_REC_ACCEPTED] = { OUTCOME("status = 'sent', provider_message_id = nullif($4::text, ''),"
					" sent_at = $3, updated_at = $3, error_code = NULL, error_message = NULL",
					"status = 'sent', sent_at = $3, provider_message_id = nullif($4::text, ''),"
					" expires_at = $3 + expire_after_s, error_code = NULL, error_message = NULL",
					"('sending', 'uncertain')"),
				4 },
	/* updated_at by the clock, as SQLite's unixepoch(): $3 is the next attempt's time */
	[SEND_REC_RETRY] = { OUTCOME("status = 'queued', next_attempt_at = $3, " ERR_SET ","
				     " updated_at = extract(epoch FROM statement_timestamp())::bigint",
				     "status = 'queued', " ERR_SET, "('sending', 'uncertain')"),
			     5 },
	[SEND_REC_TEMPLATE] = { OUTCOME("status = 'queued', needs_template = 1, next_attempt_at = $3, " ERR_SET
					","
					" updated_at = $3",
					"status = 'queued', " ERR_SET, "('sending', 'uncertain')"),
				5 },
	[SEND_REC_FAILED] = { OUTCOME("status = 'failed', " ERR_SET ", updated_at = $3",
				      "status = 'failed', " ERR_SET,
				      "('queued', 'sending', 'sent', 'uncertain')"),
			      5 },
};

/* A provider's message id as the store keeps it (store_outbox.c's rule): it is logged and
 * matched against status callbacks, so control characters, spaces and bytes outside ASCII are
 * refused. */
static int provider_id_ok(const char *id)
{
	size_t n = 0;

	for (; id && id[n]; n++)
		if ((unsigned char)id[n] <= ' ' || (unsigned char)id[n] >= 0x7f)
			return 0;
	return n > 0 && n < STORE_PROVIDER_ID_LEN;
}

/* Whether outcome r can be recorded at all; refused (with why) when not, nothing written. */
static int record_allowed(struct send_record *r)
{
	if ((unsigned)r->kind >= sizeof(outcome) / sizeof(outcome[0])) {
		snprintf(r->why, sizeof(r->why), "unknown send outcome %d", (int)r->kind);
		return 0;
	}
	if (r->kind == SEND_REC_ACCEPTED && r->a && !provider_id_ok(r->a)) {
		snprintf(r->why, sizeof(r->why),
			 "the provider's message id is not 1-%d printable ASCII characters without"
			 " spaces",
			 STORE_PROVIDER_ID_LEN - 1);
		return 0;
	}
	return 1;
}

/* Outcome r's statements (and the suppression a failure asks for), inside the writer's job:
 * 0 (r->cancelled set), or -1 with err, the transaction then in error. */
static int record_tx(struct pg_store *st, struct send_record *r, struct gw_err *err)
{
	char id[24], t[24], got[24] = "";
	const char *v[5] = { I64(id, r->message_id), st->instance, I64(t, r->t), r->a, r->b };

	if (pg_wrun_one(st, outcome[r->kind].sql, outcome[r->kind].nparams, v,
			"record send outcome", got, sizeof(got), err) < 0)
		return -1;
	r->cancelled = strcmp(got, "0") == 0;
	if (!r->cancelled && r->kind == SEND_REC_FAILED && r->suppress_phone)
		return pg_suppress_tx(st, r->suppress_phone, r->suppress_provider, r->t, err);
	return 0;
}

struct batch {
	struct send_record *recs;
	size_t n;
};

static int wexec(struct pg_store *st, const char *sql, struct gw_err *err)
{
	return pg_wrun_one(st, sql, 0, NULL, "record send outcomes", NULL, 0, err) < 0 ? -1 : 0;
}

/* Every allowed outcome in one savepoint: 0, or -1 (err set) with them all undone. */
static int record_all(struct pg_store *st, struct batch *b, struct gw_err *err)
{
	if (wexec(st, "SAVEPOINT outcomes", err) < 0)
		return -1;
	for (size_t i = 0; i < b->n; i++)
		if (!b->recs[i].refused && record_tx(st, &b->recs[i], err) < 0) {
			wexec(st, "ROLLBACK TO SAVEPOINT outcomes", NULL);
			wexec(st, "RELEASE SAVEPOINT outcomes", NULL);
			return -1;
		}
	return wexec(st, "RELEASE SAVEPOINT outcomes", err);
}

/* Each allowed outcome in a savepoint of its own: one the server refuses is undone alone and
 * marked refused.  -1 only when the transaction itself is gone (the connection lost). */
static int record_each(struct pg_store *st, struct batch *b, struct gw_err *err)
{
	for (size_t i = 0; i < b->n; i++) {
		struct send_record *r = &b->recs[i];
		struct gw_err why = { 0 };

		if (r->refused)
			continue;
		r->cancelled = 0;
		if (wexec(st, "SAVEPOINT outcome", err) < 0)
			return -1;
		if (record_tx(st, r, &why) == 0) {
			if (wexec(st, "RELEASE SAVEPOINT outcome", err) < 0)
				return -1;
			continue;
		}
		if (wexec(st, "ROLLBACK TO SAVEPOINT outcome", err) < 0 ||
		    wexec(st, "RELEASE SAVEPOINT outcome", err) < 0)
			return -1;
		r->refused = 1;
		r->cancelled = 0;
		memcpy(r->why, why.msg, sizeof(r->why));
	}
	return 0;
}

/*
 * The batch's job.  Every write of a savepoint takes a subtransaction id, and past 64 of them
 * in a transaction every session's snapshots read them the slow way (pg_writer.c): so the
 * outcomes are first recorded together in one savepoint, and only when the server refuses one
 * of them (a rare failure: a timeout) again each in its own, so that one refused undoes none of
 * the others.  A deadlock is no refusal: the job fails, and the writer runs it again.
 */
static int record_sends_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct batch *b = arg;
	struct gw_err first = { 0 };

	for (size_t i = 0; i < b->n; i++) {
		struct send_record *r = &b->recs[i];

		r->cancelled = 0;
		r->why[0] = '\0';
		r->refused = !record_allowed(r);
	}
	if (record_all(st, b, &first) == 0)
		return 0;
	/* a deadlock with another instance: the writer runs the whole batch again (pg_writer.c) */
	if (PQtransactionStatus(st->wconn) != PQTRANS_INTRANS ||
	    strcmp(first.code, PG_CONFLICT) == 0) {
		*err = first;
		return -1;
	}
	return record_each(st, b, err);
}

int pg_record_sends(struct pg_store *st, struct send_record *recs, size_t n, struct gw_err *err)
{
	struct batch b = { recs, n };

	return n ? pg_run(st, record_sends_job, &b, err) : 0;
}

/* One outcome as a batch of one: 0 recorded, 1 cancelled (nothing kept), -1 with err: 422 for
 * a provider id the store refuses, 503 when the server refused it. */
static int record_one(struct pg_store *st, enum send_record_kind kind, int64_t message_id,
		      int64_t t, const char *a, const char *b, struct gw_err *err)
{
	struct send_record r = { .kind = kind, .message_id = message_id, .t = t, .a = a, .b = b };

	if (pg_record_sends(st, &r, 1, err) < 0)
		return -1;
	if (!r.refused)
		return r.cancelled;
	if (kind == SEND_REC_ACCEPTED && a && !provider_id_ok(a))
		return gw_err_set(err, 422, "invalid_provider_message_id", "provider_message_id",
				  "%s", r.why);
	return gw_err_set(err, 503, "store_unavailable", "", "%s", r.why);
}

int pg_send_accepted(struct pg_store *st, int64_t message_id, const char *provider_message_id,
		     int64_t now, struct gw_err *err)
{
	return record_one(st, SEND_REC_ACCEPTED, message_id, now, provider_message_id, NULL, err);
}

int pg_send_retry(struct pg_store *st, int64_t message_id, int64_t next_at, const char *code,
		  const char *message, struct gw_err *err)
{
	return record_one(st, SEND_REC_RETRY, message_id, next_at, code, message, err);
}

int pg_send_needs_template(struct pg_store *st, int64_t message_id, int64_t now, const char *code,
			   const char *message, struct gw_err *err)
{
	return record_one(st, SEND_REC_TEMPLATE, message_id, now, code, message, err);
}

int pg_send_failed(struct pg_store *st, int64_t message_id, const char *code, const char *message,
		   int64_t now, struct gw_err *err)
{
	return record_one(st, SEND_REC_FAILED, message_id, now, code, message, err);
}

/* ---- sweeps and start-up ------------------------------------------------------------------ */

struct count_job {
	const char *sql, *what;
	int64_t now;
	size_t *n;
};

/* A statement of $1 (now) returning how many rows it changed, as a writer job. */
static int count_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct count_job *a = arg;
	char t[24], got[24] = "0";

	if (pg_wrun_one(st, a->sql, 1, (const char *const[]){ I64(t, a->now) }, a->what, got,
			sizeof(got), err) < 0)
		return -1;
	*a->n = (size_t)strtoull(got, NULL, 10);
	return 0;
}

static int run_count(struct pg_store *st, const char *sql, const char *what, int64_t now, size_t *n,
		     struct gw_err *err)
{
	struct count_job a = { sql, what, now, n };
	size_t got = 0;
	int rc;

	*n = 0;
	a.n = &got;
	if ((rc = pg_run(st, count_job, &a, err)) == 0)
		*n = got;
	return rc;
}

/* Sent (or uncertain) surveys past their expiry; the lock held until the group commits, so
 * that one instance sweeps at a time (the others change nothing). */
int pg_expire_due(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	return run_count(st,
			 "WITH e AS (UPDATE surveys SET status = 'expired'"
			 "  WHERE status IN ('sent', 'delivered', 'read', 'uncertain')"
			 "  AND expires_at <= $1"
			 "  AND (SELECT pg_try_advisory_xact_lock(" EXPIRE_LOCK "))"
			 "  RETURNING 1)"
			 " SELECT count(*) FROM e",
			 "expire surveys", now, n, err);
}

/* Uncertain messages (and their surveys) queued again, whoever had claimed them: a late answer
 * to that claim is then fenced off by the status. */
int pg_requeue_uncertain(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	return run_count(
		st,
		"WITH m AS (UPDATE messages SET status = 'queued', next_attempt_at = $1,"
		"  updated_at = $1 WHERE status = 'uncertain' RETURNING survey_id, purpose),"
		" s AS (UPDATE surveys v SET status = 'queued' FROM m"
		"  WHERE v.id = m.survey_id AND m.purpose = 'survey'"
		"  AND v.status = 'uncertain')"
		" SELECT count(*) FROM m",
		"requeue uncertain messages", now, n, err);
}

void pg_store_set_pair_interval(struct pg_store *st, int64_t seconds)
{
	st->pair_interval_s = seconds;
}

/* ---- reads -------------------------------------------------------------------------------- */

/* A read on a reading connection: its result, or NULL with err. */
static PGresult *read_rows(struct pg_store *st, const char *sql, int n, const char *const *vals,
			   const char *what, struct gw_err *err)
{
	PGconn *c = pg_reader_get(st, err);
	PGresult *r;

	if (!c)
		return NULL;
	r = pg_params(c, st->where, sql, n, vals, what, err);
	pg_reader_put(st, c);
	return r;
}

/* Oldest first; surveys made in the same second by their id (SQLite: by insertion). */
int pg_list_surveys(struct pg_store *st, const char *status, size_t max, char (*ids)[SURVEY_ID_LEN],
		    size_t *n, struct gw_err *err)
{
	char m[24];
	PGresult *r = read_rows(st,
				"SELECT id FROM surveys WHERE status = $1"
				" ORDER BY created_at, seq LIMIT $2",
				2, (const char *const[]){ status, I64(m, max) }, "list surveys",
				err);

	*n = 0;
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && *n < max; i++)
		snprintf(ids[(*n)++], SURVEY_ID_LEN, "%s", PQgetvalue(r, i, 0));
	PQclear(r);
	return 0;
}

int pg_outbox_depth(struct pg_store *st, struct store_outbox_depth *out, struct gw_err *err)
{
	/* each count answered by a partial index (messages_due, _sending, _uncertain) */
	PGresult *r = read_rows(st,
				"SELECT (SELECT count(*) FROM messages WHERE status = 'queued'),"
				" (SELECT count(*) FROM messages WHERE status = 'sending'),"
				" (SELECT count(*) FROM messages WHERE status = 'uncertain')",
				0, NULL, "count the outbox", err);

	memset(out, 0, sizeof(*out));
	if (!r)
		return -1;
	out->queued = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->sending = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	out->uncertain = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return 0;
}
