/*
 * pg_surveys.c - creating surveys on PostgreSQL (see pg_store.h).
 *
 * The same decisions as the SQLite store's create_survey_tx(), in a job of the writer's group
 * commit.  Instances may take the same trigger at once: the survey's insert does nothing when
 * (interaction_id, kind) exists or is being committed by another instance (it waits for that
 * commit), and the job then undoes its own writes and answers with the survey that won.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"

/* A job's undo that is not a failure: another instance made the survey first. */
#define JOB_LOST_RACE 1

struct create_args {
	const struct survey_new *in;
	char *id_out;
	int *outcome;
};

static int create_survey_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct create_args *a = arg;
	const struct survey_new *in = a->in;
	char hash[STORE_PHONE_HASH_LEN], customer[24], since[24], now[24], send_after[24],
		expires[24], expire_after[24], flag[8];
	const char *status = "queued", *reason = NULL;
	int rc;

	if ((rc = pg_wrun_one(st, "SELECT id FROM surveys WHERE interaction_id = $1 AND kind = $2",
			      2, (const char *const[]){ in->interaction_id, in->kind },
			      "find survey", a->id_out, SURVEY_ID_LEN, err)) != 0) {
		*a->outcome = SURVEY_EXISTING;
		return rc < 0 ? -1 : 0;
	}
	if (store_phone_hash(in->phone, hash) < 0)
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	rc = pg_wrun_one(
		st,
		"SELECT coalesce((SELECT opted_out FROM suppressions WHERE phone = $1), 0) <> 0"
		" OR coalesce((SELECT opted_out FROM suppressions WHERE phone = $2), 0) <> 0",
		2, (const char *const[]){ in->phone, hash }, "read suppression", flag, sizeof(flag),
		err);
	if (rc < 0)
		return -1;
	if (strcmp(flag, "t") == 0) {
		*a->outcome = SURVEY_OPTED_OUT;
		return 0;
	}
	if (in->fatigue_days > 0) {
		rc = pg_wrun_one(
			st,
			"SELECT 1 FROM surveys WHERE customer_id = (SELECT id FROM customers"
			" WHERE ext_id = $1) AND created_at > $3"
			" AND status NOT IN ('skipped', 'failed')"
			" UNION ALL SELECT 1 FROM surveys WHERE phone = $2 AND created_at > $3"
			" AND status NOT IN ('skipped', 'failed') LIMIT 1",
			3,
			(const char *const[]){
				in->customer_id, in->phone,
				I64(since, in->now - (int64_t)in->fatigue_days * 86400) },
			"check recent surveys", NULL, 0, err);
		if (rc < 0)
			return -1;
		if (rc) {
			status = "skipped";
			reason = "recently_surveyed";
		}
	}
	I64(now, in->now);
	if (pg_wrun_one(
		    st,
		    "INSERT INTO customers (ext_id, phone, name, locale, timezone, created_at,"
		    " updated_at) VALUES ($1, $2, $3, $4, $6, $5, $5)"
		    " ON CONFLICT (ext_id) DO UPDATE SET phone = $2,"
		    " name = coalesce($3, customers.name), locale = $4,"
		    " timezone = coalesce($6, customers.timezone), updated_at = $5 RETURNING id",
		    6,
		    (const char *const[]){ in->customer_id, in->phone, in->name, in->locale, now,
					   in->timezone },
		    "save customer", customer, sizeof(customer), err) <= 0)
		return -1;
	rc = pg_wrun_one(
		st,
		"INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
		" interaction_id, touchpoint, agent, opened_at, closed_at, status, created_at,"
		" send_after, expires_at, reason, timezone, expire_after_s)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $17, $14, $15, $16,"
		" $18, $19, $20) ON CONFLICT (interaction_id, kind) DO NOTHING RETURNING id",
		20,
		(const char *const[]){
			in->id,
			customer,
			in->phone,
			in->name,
			in->locale,
			in->kind,
			in->channel,
			in->provider,
			in->interaction_id,
			in->touchpoint,
			in->agent,
			in->opened_at,
			in->closed_at,
			now,
			I64(send_after, in->send_after),
			I64(expires, in->expires_at),
			status,
			reason,
			in->timezone,
			I64(expire_after, in->expire_after_s > 0 ? in->expire_after_s : 172800) },
		"save survey", NULL, 0, err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		/* another instance committed this interaction meanwhile: its survey answers */
		if (pg_wrun_one(st,
				"SELECT id FROM surveys WHERE interaction_id = $1 AND kind = $2", 2,
				(const char *const[]){ in->interaction_id, in->kind },
				"find survey", a->id_out, SURVEY_ID_LEN, err) <= 0)
			return -1;
		*a->outcome = SURVEY_EXISTING;
		return JOB_LOST_RACE;
	}
	snprintf(a->id_out, SURVEY_ID_LEN, "%s", in->id);
	if (reason) {
		*a->outcome = SURVEY_SKIPPED;
		return 0;
	}
	*a->outcome = SURVEY_CREATED;
	return pg_wrun_one(
		       st,
		       "INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone,"
		       " body, status, next_attempt_at, created_at, updated_at)"
		       " VALUES ($1, 'out', 'survey', $2, $3, $4, $5, 'queued', $6, $7, $7)",
		       7,
		       (const char *const[]){ in->id, in->channel, in->provider, in->phone,
					      in->question, send_after, now },
		       "queue message", NULL, 0, err) < 0 ?
		       -1 :
		       0;
}

int pg_create_survey(struct pg_store *st, const struct survey_new *in, char id_out[SURVEY_ID_LEN],
		     int *outcome, struct gw_err *err)
{
	struct create_args a = { in, id_out, outcome };
	int rc = pg_run(st, create_survey_job, &a, err);

	/* lost to another instance: nothing of this job was kept, and the survey that won is
	 * committed (the insert waited for it) */
	return rc == JOB_LOST_RACE ? 0 : rc;
}

/* The caller's callback of pg_create_survey_async(), told 0 when the job lost the race. */
struct create_done {
	void (*done)(void *ctx, int rc);
	void *ctx;
};

static void created(void *ctx, int rc)
{
	struct create_done d = *(struct create_done *)ctx;

	free(ctx);
	d.done(d.ctx, rc == JOB_LOST_RACE ? 0 : rc);
}

int pg_create_survey_async(struct pg_store *st, const struct survey_new *in,
			   char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err,
			   void (*done)(void *ctx, int rc), void *ctx)
{
	struct create_args a = { in, id_out, outcome };
	struct create_done *d = malloc(sizeof(*d));

	if (!d)
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	*d = (struct create_done){ done, ctx };
	if (pg_submit(st, create_survey_job, &a, sizeof(a), err, created, d) < 0) {
		free(d);
		return -1;
	}
	return 0;
}

static int heartbeat_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	(void)arg;
	return pg_wrun_one(st, "UPDATE heartbeat SET at = at WHERE id = 1", 0, NULL,
			   "write the heartbeat", NULL, 0, err) < 0 ?
		       -1 :
		       0;
}

int pg_check_writable(struct pg_store *st, struct gw_err *err)
{
	return pg_run(st, heartbeat_job, NULL, err);
}
