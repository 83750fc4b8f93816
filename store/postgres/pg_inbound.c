/*
 * pg_inbound.c - inbound texts, delivery statuses and suppressions on PostgreSQL (see
 * pg_store.h).
 *
 * The same decisions as the SQLite store's store_inbound.c, in jobs of the writer's group
 * commit, for several instances sharing the database:
 *  - everything a text, a delivery status or a suppression does to one number runs under a
 *    transaction-level advisory lock on that number (PHONE_LOCK): two replies of one customer
 *    reaching two instances at once are applied one after the other, the second job seeing
 *    what the first committed (its survey answered, re-prompted, its number suppressed), as on
 *    SQLite's one writer.  A lock on the matched survey row alone would not do: the suppression
 *    a STOP writes, and a text matching no survey, have no survey row to lock.
 *  - the lock is held until the group's commit, with the other jobs' locks: a job waiting for
 *    it could close a cycle with another instance's group (each holding a number the other
 *    waits for; PostgreSQL then fails one of them).  So a job never waits: it tries the lock,
 *    and when another instance holds it the job is undone (JOB_BUSY) and runs again in a later
 *    group, once that instance has committed.
 *  - a text is stored once per (provider, provider_message_id): the insert does nothing when
 *    the row exists or another instance is committing it (it waits for that commit).
 *  - a delivery status also locks its message and survey rows while it compares states.
 *  - PostgreSQL's text refuses NUL bytes and invalid UTF-8, which SQLite kept as they came: the
 *    text and its comment are stored with each of them replaced by U+FFFD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_priv.h"
#include "pg_store.h"
#include "utf8.h"

/* A number's advisory lock: the two-key form (PG_PHONE_LOCK, hashtext(phone)). */
#define PHONE_LOCK PG_PHONE_LOCK

/* A job's undo that is not a failure: another instance holds the number; run it again. */
#define JOB_BUSY 2

/* How long a write waits for a number other instances keep busy, before answering 503. */
#define BUSY_WAIT_MS 30000
#define BUSY_SLEEP_MAX_MS 32

/* Serialises, until the group's commit, every job touching `phone` on any instance: 1 taken,
 * 0 another instance holds it, -1 error. */
static int try_lock_phone(struct pg_store *st, const char *phone, struct gw_err *err)
{
	char got[8] = "";

	if (pg_wrun_one(st, "SELECT pg_try_advisory_xact_lock(" PHONE_LOCK ", hashtext($1))", 1,
			(const char *const[]){ phone }, "lock the number", got, sizeof(got),
			err) < 0)
		return -1;
	return strcmp(got, "t") == 0;
}

/* The same, waiting for the lock: for pg_suppress_tx(), which other jobs call and which cannot
 * be run again on its own. */
static int lock_phone(struct pg_store *st, const char *phone, struct gw_err *err)
{
	return pg_wrun_one(st, "SELECT pg_advisory_xact_lock(" PHONE_LOCK ", hashtext($1))", 1,
			   (const char *const[]){ phone }, "lock the number", NULL, 0, err) < 0 ?
		       -1 :
		       0;
}

static int busy_too_long(struct gw_err *err)
{
	return gw_err_set(err, 503, "store_unavailable", "",
			  "another instance kept the number busy for %d s; try again",
			  BUSY_WAIT_MS / 1000);
}

/* pg_run() of a job that may answer JOB_BUSY, run again (after a pause growing to
 * BUSY_SLEEP_MAX_MS) until it does not, for BUSY_WAIT_MS at most. */
static int run_when_free(struct pg_store *st, pg_job_fn fn, void *arg, struct gw_err *err)
{
	int64_t until = pg_monotonic_ms() + BUSY_WAIT_MS;
	long sleep_ms = 1;
	int rc;

	while ((rc = pg_run(st, fn, arg, err)) == JOB_BUSY) {
		struct timespec ts = { 0, sleep_ms * 1000000L };

		if (pg_monotonic_ms() >= until)
			return busy_too_long(err);
		nanosleep(&ts, NULL);
		if (sleep_ms < BUSY_SLEEP_MAX_MS)
			sleep_ms *= 2;
	}
	return rc;
}

int pg_phone_suppressed(struct pg_store *st, const char *phone, int *suppressed, struct gw_err *err)
{
	char hash[STORE_PHONE_HASH_LEN], flag[8] = "";

	if (store_phone_hash(phone, hash) < 0)
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	if (pg_wrun_one(
		    st,
		    "SELECT coalesce((SELECT opted_out FROM suppressions WHERE phone = $1), 0)"
		    " <> 0 OR coalesce((SELECT opted_out FROM suppressions WHERE phone = $2), 0)"
		    " <> 0",
		    2, (const char *const[]){ phone, hash }, "read suppression", flag, sizeof(flag),
		    err) < 0)
		return -1;
	*suppressed = strcmp(flag, "t") == 0;
	return 0;
}

/* Suppresses (opt_out 1) or restores (0) the number; an opt-out also skips its queued surveys
 * and cancels their queued messages, before any confirmation is queued. */
static int record_opt(struct pg_store *st, const char *phone, const char *provider, int64_t now,
		      int opt_out, struct gw_err *err)
{
	char t[24], hash[STORE_PHONE_HASH_LEN];
	const char *const v[] = { phone, I64(t, now), provider, opt_out ? "1" : "0" };

	if (opt_out) {
		if (pg_wrun_one(
			    st,
			    "INSERT INTO suppressions (phone, opted_out, opted_out_at, provider,"
			    " updated_at) VALUES ($1, 1, $2, $3, $2) ON CONFLICT (phone) DO UPDATE"
			    " SET opted_out = 1, opted_out_at = $2, provider = $3, updated_at = $2",
			    3, v, "save suppression", NULL, 0, err) < 0 ||
		    pg_wrun_one(st,
				"UPDATE surveys SET status = 'skipped', reason = 'opted_out'"
				" WHERE phone = $1 AND status = 'queued'",
				1, v, "skip surveys", NULL, 0, err) < 0 ||
		    pg_wrun_one(st,
				"UPDATE messages SET status = 'cancelled', updated_at = $2"
				" WHERE phone = $1 AND direction = 'out' AND status = 'queued'",
				2, v, "cancel messages", NULL, 0, err) < 0)
			return -1;
	} else {
		if (store_phone_hash(phone, hash) < 0)
			return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		if (pg_wrun_one(
			    st,
			    "UPDATE suppressions SET opted_out = 0, opted_in_at = $2, updated_at = $2"
			    " WHERE phone IN ($1, $3)",
			    3, (const char *const[]){ phone, t, hash }, "lift suppression", NULL, 0,
			    err) < 0)
			return -1;
	}
	return pg_wrun_one(st, "UPDATE customers SET opted_out = $2 WHERE phone = $1", 2,
			   (const char *const[]){ phone, v[3] }, "mark customers", NULL, 0,
			   err) < 0 ?
		       -1 :
		       0;
}

/* pg_suppress_tx() once the number is locked. */
static int suppress_locked(struct pg_store *st, const char *phone, const char *provider,
			   int64_t now, struct gw_err *err)
{
	int before;

	if (pg_phone_suppressed(st, phone, &before, err) < 0 ||
	    record_opt(st, phone, provider, now, 1, err) < 0)
		return -1;
	return before ? 0 : pg_events_after_suppress(st, phone, now, err);
}

int pg_suppress_tx(struct pg_store *st, const char *phone, const char *provider, int64_t now,
		   struct gw_err *err)
{
	if (lock_phone(st, phone, err) < 0)
		return -1;
	return suppress_locked(st, phone, provider, now, err);
}

struct suppress_args {
	const char *phone, *provider;
	int64_t now;
};

static int suppress_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	const struct suppress_args *a = arg;
	int got = try_lock_phone(st, a->phone, err);

	if (got <= 0)
		return got < 0 ? -1 : JOB_BUSY;
	return suppress_locked(st, a->phone, a->provider, a->now, err);
}

int pg_suppress_phone(struct pg_store *st, const char *phone, const char *provider, int64_t now,
		      struct gw_err *err)
{
	struct suppress_args a = { phone, provider, now };

	return run_when_free(st, suppress_job, &a, err);
}

/* ---- inbound texts ------------------------------------------------------------------------ */

/* SQLite breaks ties of created_at by rowid (insertion order); surveys have none here, their
 * id breaks them. */
static const char match_sql[] =
	"SELECT s.id, c.ext_id, coalesce(s.name, ''), s.locale, s.kind, s.channel, s.status,"
	" s.reprompted, coalesce(s.follow_up_until, 0) > $4"
	" FROM surveys s JOIN customers c ON c.id = s.customer_id"
	" WHERE s.phone = $1 AND s.provider = $2 AND ($3::text IS NULL OR s.channel = $3)"
	" AND ((s.status IN ('sending', 'sent', 'delivered', 'read', 'uncertain', 'answered')"
	"       AND (s.expires_at IS NULL OR s.expires_at > $4))"
	"      OR coalesce(s.follow_up_until, 0) > $4)"
	" ORDER BY s.created_at DESC, s.seq DESC LIMIT 1";

/* The newest open survey for the text's number: 1 found, 0 none, -1 error. */
static int match_open(struct pg_store *st, const struct inbound_in *in, struct matched_survey *m,
		      struct gw_err *err)
{
	char t[24];
	PGresult *r = pg_wrun(st, match_sql, 4,
			      (const char *const[]){ in->from, in->provider, in->channel,
						     I64(t, in->now) },
			      "match survey", err);
	int found;

	if (!r)
		return -1;
	if ((found = PQntuples(r) > 0)) {
		pg_copy_col(r, 0, 0, m->id, sizeof(m->id));
		pg_copy_col(r, 0, 1, m->customer_id, sizeof(m->customer_id));
		pg_copy_col(r, 0, 2, m->name, sizeof(m->name));
		pg_copy_col(r, 0, 3, m->locale, sizeof(m->locale));
		pg_copy_col(r, 0, 4, m->kind, sizeof(m->kind));
		pg_copy_col(r, 0, 5, m->channel, sizeof(m->channel));
		pg_copy_col(r, 0, 6, m->status, sizeof(m->status));
		m->reprompted = (int)strtol(PQgetvalue(r, 0, 7), NULL, 10);
		m->follow_up_pending = strcmp(PQgetvalue(r, 0, 8), "t") == 0;
	}
	PQclear(r);
	return found;
}

/* Fills what the store knows of the number beside its survey: suppression, locale, name. */
static int phone_view(struct pg_store *st, const char *phone, struct inbound_view *v,
		      struct gw_err *err)
{
	PGresult *r;

	if (pg_phone_suppressed(st, phone, &v->suppressed, err) < 0)
		return -1;
	r = pg_wrun(st,
		    "SELECT locale, coalesce(name, '') FROM customers WHERE phone = $1"
		    " ORDER BY updated_at DESC, id DESC LIMIT 1",
		    1, (const char *const[]){ phone }, "read customer", err);
	if (!r)
		return -1;
	if (PQntuples(r) > 0) {
		pg_copy_col(r, 0, 0, v->locale, sizeof(v->locale));
		pg_copy_col(r, 0, 1, v->name, sizeof(v->name));
	}
	PQclear(r);
	return 0;
}

/* The decision's comment as PostgreSQL can store it, into *out (malloc'd, "" for none). */
static int clean_comment(const struct inbound_decision *d, char **out, struct gw_err *err)
{
	size_t n;

	*out = utf8_sanitize(d->comment ? d->comment : "", d->comment ? d->comment_len : 0, &n);
	return *out ? 0 : gw_err_set(err, 503, "store_unavailable", "", "out of memory");
}

static int record_answer(struct pg_store *st, const struct inbound_in *in, const char *text,
			 const char *msg_id, const struct matched_survey *m,
			 const struct inbound_decision *d, struct gw_err *err)
{
	char score[16], t[24], until[24], *comment;
	int rc;

	if (clean_comment(d, &comment, err) < 0)
		return -1;
	snprintf(score, sizeof(score), "%d", d->score);
	I64(t, in->now);
	rc = pg_wrun_one(st,
			 "INSERT INTO responses (survey_id, score, comment, raw_text, message_id,"
			 " answered_at) VALUES ($1, $2, $3, $4, $5, $6)"
			 " ON CONFLICT (survey_id) DO UPDATE SET score = $2,"
			 " comment = CASE WHEN $3 <> '' THEN $3 ELSE responses.comment END,"
			 " raw_text = $4, message_id = $5, answered_at = $6",
			 6, (const char *const[]){ m->id, score, comment, text, msg_id, t },
			 "save response", NULL, 0, err);
	free(comment);
	if (rc < 0)
		return -1;
	return pg_wrun_one(st,
			   "UPDATE surveys SET status = 'answered', answered_at = $2,"
			   " follow_up_until = $3 WHERE id = $1",
			   3,
			   (const char *const[]){
				   m->id, t,
				   d->follow_up_until ? I64(until, d->follow_up_until) : NULL },
			   "mark answered", NULL, 0, err) < 0 ?
		       -1 :
		       0;
}

static int record_comment(struct pg_store *st, const struct matched_survey *m,
			  const struct inbound_decision *d, struct gw_err *err)
{
	char *comment;
	int rc;

	if (clean_comment(d, &comment, err) < 0)
		return -1;
	rc = pg_wrun_one(st, "UPDATE responses SET comment = $2 WHERE survey_id = $1", 2,
			 (const char *const[]){ m->id, comment }, "save comment", NULL, 0, err);
	free(comment);
	if (rc < 0)
		return -1;
	return pg_wrun_one(st, "UPDATE surveys SET follow_up_until = NULL WHERE id = $1", 1,
			   (const char *const[]){ m->id }, "close follow-up", NULL, 0, err) < 0 ?
		       -1 :
		       0;
}

static int apply_decision(struct pg_store *st, const struct inbound_in *in, const char *text,
			  const char *msg_id, const struct matched_survey *m,
			  const struct inbound_decision *d, struct gw_err *err)
{
	int rc = 0;

	/* Rules about a survey mean nothing without one: no change, no reply. */
	if (!m && (d->action == INBOUND_ANSWER || d->action == INBOUND_REPROMPT ||
		   d->action == INBOUND_COMMENT))
		return 0;
	switch (d->action) {
	case INBOUND_ANSWER:
		rc = record_answer(st, in, text, msg_id, m, d, err);
		break;
	case INBOUND_REPROMPT:
		rc = pg_wrun_one(st, "UPDATE surveys SET reprompted = 1 WHERE id = $1", 1,
				 (const char *const[]){ m->id }, "mark reprompted", NULL, 0, err);
		break;
	case INBOUND_COMMENT:
		rc = record_comment(st, m, d, err);
		break;
	case INBOUND_OPT_OUT:
	case INBOUND_OPT_IN:
		rc = record_opt(st, in->from, in->provider, in->now, d->action == INBOUND_OPT_OUT,
				err);
		break;
	case INBOUND_STORE_ONLY:
		break;
	}
	if (rc < 0 || !d->reply)
		return rc < 0 ? -1 : 0;
	return pg_insert_outbound(st, m ? m->id : NULL, d->reply_purpose,
				  m           ? m->channel :
				  in->channel ? in->channel :
						"sms",
				  in->provider, in->from, d->reply, in->now, in->now, err);
}

/* Stores the text (`text`, cleaned) unless its provider id is known: 1 stored (its id in
 * msg_id), 0 a duplicate, -1 error. */
static int insert_text(struct pg_store *st, const struct inbound_in *in, const char *text,
		       char msg_id[24], struct gw_err *err)
{
	char t[24];

	return pg_wrun_one(
		st,
		"INSERT INTO messages (direction, purpose, channel, provider, phone, body,"
		" status, provider_message_id, created_at, updated_at)"
		" VALUES ('in', 'reply', $1, $2, $3, $4, 'received', $5, $6, $6)"
		" ON CONFLICT (provider, provider_message_id)"
		" WHERE provider_message_id IS NOT NULL AND direction = 'in'"
		" DO NOTHING RETURNING id",
		6,
		(const char *const[]){ in->channel, in->provider, in->from, text,
				       in->provider_message_id, I64(t, in->now) },
		"save inbound text", msg_id, 24, err);
}

static int record_inbound_tx(struct pg_store *st, const struct inbound_in *in,
			     inbound_decide_fn decide, void *ctx, struct inbound_result *res,
			     struct gw_err *err)
{
	struct matched_survey m;
	struct inbound_view v;
	struct inbound_decision d;
	char msg_id[24], *text;
	size_t text_len;
	int rc = -1, found;

	if (!(text = utf8_sanitize(in->text ? in->text : "", in->text ? in->text_len : 0,
				   &text_len)))
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	/* The number first: an instance taking the same webhook waits here, then finds the text
	 * stored; one taking another text of the number sees what this one did. */
	if ((found = try_lock_phone(st, in->from, err)) <= 0) {
		rc = found < 0 ? -1 : JOB_BUSY;
		goto out;
	}
	if ((found = insert_text(st, in, text, msg_id, err)) < 0)
		goto out;
	if (!found) {
		res->duplicate = 1;
		rc = 0;
		goto out;
	}
	memset(&m, 0, sizeof(m));
	memset(&v, 0, sizeof(v));
	memset(&d, 0, sizeof(d));
	if ((found = match_open(st, in, &m, err)) < 0 || phone_view(st, in->from, &v, err) < 0)
		goto out;
	v.survey = found ? &m : NULL;
	decide(ctx, &v, &d);
	res->action = d.action;
	if (found) {
		res->matched = 1;
		snprintf(res->survey_id, sizeof(res->survey_id), "%s", m.id);
		if (pg_wrun_one(st,
				"UPDATE messages SET survey_id = $2, channel = $3 WHERE id = $1", 3,
				(const char *const[]){ msg_id, m.id, m.channel },
				"link inbound text", NULL, 0, err) < 0)
			goto out;
	}
	if (apply_decision(st, in, text, msg_id, v.survey, &d, err) < 0)
		goto out;
	/* Same transaction: no response without its event, no event without its response. */
	rc = pg_events_after_inbound(st, in, v.survey, v.suppressed, &d, err);
out:
	free(text);
	return rc;
}

struct inbound_args {
	const struct inbound_in *in;
	inbound_decide_fn decide;
	void *ctx;
	struct inbound_result *res;
};

static int record_inbound_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct inbound_args *a = arg;

	memset(a->res, 0, sizeof(*a->res));
	return record_inbound_tx(st, a->in, a->decide, a->ctx, a->res, err);
}

int pg_record_inbound(struct pg_store *st, const struct inbound_in *in, inbound_decide_fn decide,
		      void *ctx, struct inbound_result *res, struct gw_err *err)
{
	struct inbound_args a = { in, decide, ctx, res };
	int rc = run_when_free(st, record_inbound_job, &a, err);

	if (rc < 0)
		memset(res, 0, sizeof(*res));
	return rc;
}

/* ---- delivery statuses -------------------------------------------------------------------- */

/* Order of delivery states; a status only replaces one of lower rank. */
static int delivery_rank(const char *s)
{
	static const char *const order[] = { "queued", "sending",   "uncertain",
					     "sent",   "delivered", "read" };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(s, order[i]) == 0)
			return (int)i;
	return 100; /* failed, answered, expired, ...: final */
}

/* May a message or survey in state `cur` move to `next`? */
static int status_advances(const char *cur, const char *next)
{
	if (strcmp(next, "failed") == 0)
		return delivery_rank(cur) <= delivery_rank("sent");
	return delivery_rank(next) > delivery_rank(cur) && delivery_rank(cur) < 100;
}

/* Under the number's lock (another instance's status or text of it is waited for by running
 * again), the rows locked while their states are compared. */
static int record_status_tx(struct pg_store *st, const char *provider, const char *pid,
			    const char *status, const char *code, const char *message, int64_t now,
			    int *found, struct gw_err *err)
{
	char cur[16], msg_id[24], survey_id[SURVEY_ID_LEN], purpose[16], t[24];
	PGresult *r =
		pg_wrun(st,
			"SELECT id, coalesce(survey_id, ''), purpose, phone FROM messages"
			" WHERE provider = $1 AND provider_message_id = $2 AND direction = 'out'"
			" AND provider_message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
			2, (const char *const[]){ provider, pid }, "find message", err);
	int got;

	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	pg_copy_col(r, 0, 0, msg_id, sizeof(msg_id));
	pg_copy_col(r, 0, 1, survey_id, sizeof(survey_id));
	pg_copy_col(r, 0, 2, purpose, sizeof(purpose));
	got = try_lock_phone(st, PQgetvalue(r, 0, 3), err);
	PQclear(r);
	if (got <= 0)
		return got < 0 ? -1 : JOB_BUSY;
	got = pg_wrun_one(st, "SELECT status FROM messages WHERE id = $1 FOR UPDATE", 1,
			  (const char *const[]){ msg_id }, "read message status", cur, sizeof(cur),
			  err);
	if (got <= 0)
		return got; /* 0: purged meanwhile, as if never found */
	*found = 1;
	if (!status_advances(cur, status))
		return 0;
	I64(t, now);
	if (pg_wrun_one(
		    st,
		    "UPDATE messages SET status = $2, error_code = coalesce($3, error_code),"
		    " error_message = coalesce($4, error_message), updated_at = $5 WHERE id = $1",
		    5, (const char *const[]){ msg_id, status, code, message, t },
		    "update message status", NULL, 0, err) < 0)
		return -1;
	if (strcmp(purpose, "survey") != 0 || !survey_id[0])
		return 0;
	/* The survey follows its message, unless it moved on (answered, expired, ...). */
	got = pg_wrun_one(st, "SELECT status FROM surveys WHERE id = $1 FOR UPDATE", 1,
			  (const char *const[]){ survey_id }, "read survey status", cur,
			  sizeof(cur), err);
	if (got <= 0)
		return got < 0 ? -1 :
				 gw_err_set(err, 500, "internal", "", "survey %s vanished",
					    survey_id);
	if (!status_advances(cur, status))
		return 0;
	return pg_wrun_one(st,
			   "UPDATE surveys SET status = $2,"
			   " delivered_at = CASE WHEN $2 IN ('delivered', 'read')"
			   "   THEN coalesce(delivered_at, $5) ELSE delivered_at END,"
			   " error_code = coalesce($3, error_code),"
			   " error_message = coalesce($4, error_message) WHERE id = $1",
			   5, (const char *const[]){ survey_id, status, code, message, t },
			   "update survey status", NULL, 0, err) < 0 ?
		       -1 :
		       0;
}

struct status_args {
	const char *provider, *pid, *status, *code, *message;
	int64_t now;
	int *found;
};

static int record_status_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct status_args *a = arg;

	*a->found = 0;
	return record_status_tx(st, a->provider, a->pid, a->status, a->code, a->message, a->now,
				a->found, err);
}

int pg_record_status(struct pg_store *st, const char *provider, const char *provider_message_id,
		     const char *status, const char *code, const char *message, int64_t now,
		     int *found, struct gw_err *err)
{
	struct status_args a = { provider, provider_message_id, status, code, message, now, found };

	*found = 0;
	return run_when_free(st, record_status_job, &a, err);
}

/* ---- a webhook's events in one transaction ------------------------------------------------ */

struct events_args {
	struct store_event *evs;
	size_t n;
};

static int record_events_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct events_args *a = arg;

	for (size_t i = 0; i < a->n; i++) {
		struct store_event *e = &a->evs[i];
		int rc;

		memset(&e->res, 0, sizeof(e->res));
		e->found = 0;
		if (e->is_status)
			rc = record_status_tx(st, e->provider, e->provider_message_id, e->status,
					      e->code, e->message, e->now, &e->found, err);
		else
			rc = record_inbound_tx(st, &e->in, e->decide, e->decide_ctx, &e->res, err);
		if (rc != 0)
			return rc; /* -1, or JOB_BUSY: nothing of the webhook kept */
	}
	return 0;
}

int pg_record_events(struct pg_store *st, struct store_event *evs, size_t n, struct gw_err *err)
{
	struct events_args a = { evs, n };

	return run_when_free(st, record_events_job, &a, err);
}

/* pg_record_events_async()'s job, submitted again from its callback (on the writer thread,
 * without a pause) while the job finds a number busy. */
struct events_retry {
	struct pg_store *st;
	struct events_args a;
	struct gw_err *err;
	int64_t until;
	void (*done)(void *ctx, int rc);
	void *ctx;
};

static void events_done(void *ctx, int rc)
{
	struct events_retry *r = ctx;

	if (rc == JOB_BUSY) {
		if (pg_monotonic_ms() >= r->until)
			rc = busy_too_long(r->err);
		else if (pg_submit(r->st, record_events_job, &r->a, sizeof(r->a), r->err,
				   events_done, r) == 0)
			return;
		else
			rc = -1;
	}
	r->done(r->ctx, rc == 0 ? 0 : -1);
	free(r);
}

int pg_record_events_async(struct pg_store *st, struct store_event *evs, size_t n,
			   struct gw_err *err, void (*done)(void *ctx, int rc), void *ctx)
{
	struct events_retry *r = malloc(sizeof(*r));

	if (!r)
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	*r = (struct events_retry){
		st, { evs, n }, err, pg_monotonic_ms() + BUSY_WAIT_MS, done, ctx
	};
	if (pg_submit(st, record_events_job, &r->a, sizeof(r->a), err, events_done, r) < 0) {
		free(r);
		return -1;
	}
	return 0;
}
