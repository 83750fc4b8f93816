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

/* What decides a trigger, read in one round trip: the survey of the interaction, whether the
 * number (or its hash, after an erasure) opted out, and whether the customer or the number was
 * surveyed within the fatigue window ($7 days; 0: off). */
static const char decide_sql[] =
	"SELECT (SELECT id FROM surveys WHERE interaction_id = $1 AND kind = $2),"
	" coalesce((SELECT opted_out FROM suppressions WHERE phone = $3), 0) <> 0"
	" OR coalesce((SELECT opted_out FROM suppressions WHERE phone = $4), 0) <> 0,"
	" $7::int > 0 AND EXISTS (SELECT 1 FROM surveys WHERE customer_id = (SELECT id FROM customers"
	"  WHERE ext_id = $5) AND created_at > $6 AND status NOT IN ('skipped', 'failed')"
	"  UNION ALL SELECT 1 FROM surveys WHERE phone = $3 AND created_at > $6"
	"  AND status NOT IN ('skipped', 'failed'))";

/* The customer (made or updated), the survey and, when it is queued, its message, in one round
 * trip.  The survey's insert does nothing when (interaction_id, kind) exists or is being
 * committed by another instance (it waits for that commit): no row then, and no message. */
static const char write_sql[] =
	"WITH c AS ("
	"  INSERT INTO customers (ext_id, phone, name, locale, timezone, created_at, updated_at)"
	"  VALUES ($2, $3, $4, $5, $19, $14, $14)"
	"  ON CONFLICT (ext_id) DO UPDATE SET phone = $3, name = coalesce($4, customers.name),"
	"  locale = $5, timezone = coalesce($19, customers.timezone), updated_at = $14"
	"  RETURNING id),"
	" s AS ("
	"  INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
	"   interaction_id, touchpoint, agent, opened_at, closed_at, status, created_at, send_after,"
	"   expires_at, reason, timezone, expire_after_s)"
	"  SELECT $1, c.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $17, $14, $15, $16, $18,"
	"   $19, $20 FROM c"
	"  ON CONFLICT (interaction_id, kind) DO NOTHING RETURNING id),"
	" m AS ("
	"  INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
	"   status, next_attempt_at, created_at, updated_at)"
	"  SELECT s.id, 'out', 'survey', $7, $8, $3, $21, 'queued', $15, $14, $14 FROM s"
	"  WHERE $17 = 'queued')"
	" SELECT id FROM s";

static int create_survey_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct create_args *a = arg;
	const struct survey_new *in = a->in;
	char hash[STORE_PHONE_HASH_LEN], since[24], days[16], now[24], send_after[24], expires[24],
		expire_after[24];
	const char *status = "queued", *reason = NULL;
	PGresult *r;
	int rc, done = -1;

	if (store_phone_hash(in->phone, hash) < 0)
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	r = pg_wrun(st, decide_sql, 7,
		    (const char *const[]){ in->interaction_id, in->kind, in->phone, hash,
					   in->customer_id,
					   I64(since, in->now - (int64_t)in->fatigue_days * 86400),
					   I64(days, in->fatigue_days > 0 ? in->fatigue_days : 0) },
		    "read the trigger's survey, suppression and fatigue", err);
	if (!r)
		return -1;
	if (!PQgetisnull(r, 0, 0)) {
		snprintf(a->id_out, SURVEY_ID_LEN, "%s", PQgetvalue(r, 0, 0));
		done = SURVEY_EXISTING;
	} else if (strcmp(PQgetvalue(r, 0, 1), "t") == 0) {
		done = SURVEY_OPTED_OUT;
	} else if (strcmp(PQgetvalue(r, 0, 2), "t") == 0) {
		status = "skipped";
		reason = "recently_surveyed";
	}
	PQclear(r);
	if (done >= 0) { /* nothing to write */
		*a->outcome = done;
		return 0;
	}
	r = pg_wrun(st, write_sql, 21,
		    (const char *const[]){
			    in->id,
			    in->customer_id,
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
			    I64(now, in->now),
			    I64(send_after, in->send_after),
			    I64(expires, in->expires_at),
			    status,
			    reason,
			    in->timezone,
			    I64(expire_after, in->expire_after_s > 0 ? in->expire_after_s : 172800),
			    in->question },
		    "save survey", err);
	if (!r)
		return -1;
	rc = PQntuples(r);
	PQclear(r);
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
	*a->outcome = reason ? SURVEY_SKIPPED : SURVEY_CREATED;
	return 0;
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
