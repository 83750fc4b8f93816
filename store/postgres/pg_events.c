/*
 * pg_events.c - outbound events on PostgreSQL (see pg_store.h): written inside the
 * transactions that record what they report, claimed by one instance at a time for delivery,
 * deleted once delivered.
 *
 * A claim is one statement on the shared connection, committed before it returns: the due
 * pending events nobody holds (or whose holder's lease ran out) are picked oldest first with
 * FOR UPDATE SKIP LOCKED, so instances claiming at once never take one event twice, and leased
 * to this instance for EVENT_LEASE_S.  An instance that dies holding events leaves them to
 * whoever claims after the lease: delivered at least once.  Outcomes are fenced by the claim:
 * an outcome for an event this instance no longer holds (another claimed it after the lease)
 * changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "shared.h"
#include "pg_store.h"

void pg_store_set_event_format(struct pg_store *st, event_format_fn fn, void *ctx)
{
	st->event_format = fn;
	st->event_ctx = ctx;
}

/* Formats `f` and queues it, due at once; inside the caller's job. */
static int insert_event(struct pg_store *st, const struct evt_facts *f, struct gw_err *err)
{
	char id[EVENT_ID_LEN] = "", at[24];
	char *body = st->event_format(st->event_ctx, f, id);
	int rc;

	if (!body)
		return gw_err_set(err, 503, "store_unavailable", "", "cannot format the %s event",
				  evt_type_name(f->type));
	rc = pg_wrun_one(st,
			 "INSERT INTO events (id, type, body, next_attempt_at, created_at)"
			 " VALUES ($1, $2, $3, $4, $4)",
			 4,
			 (const char *const[]){ id, evt_type_name(f->type), body, I64(at, f->at) },
			 "queue event", NULL, 0, err);
	free(body);
	return rc < 0 ? -1 : 0;
}

/* Fills the survey half of `f` (and the response, as this transaction left it) from survey
 * `id`, then queues the event. */
static int survey_event(struct pg_store *st, const char *id, struct evt_facts *f,
			struct gw_err *err)
{
	PGresult *r =
		pg_wrun(st,
			"SELECT s.kind, s.channel, s.interaction_id, coalesce(s.touchpoint, ''),"
			" coalesce(s.agent, ''), c.ext_id, r.survey_id IS NOT NULL,"
			" coalesce(r.score, 0), coalesce(r.comment, '')"
			" FROM surveys s JOIN customers c ON c.id = s.customer_id"
			" LEFT JOIN responses r ON r.survey_id = s.id WHERE s.id = $1",
			1, (const char *const[]){ id }, "read survey", err);
	int rc;

	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return gw_err_set(err, 500, "internal", "", "survey %s vanished", id);
	}
	f->has_survey = 1;
	f->survey_id = id;
	f->kind = PQgetvalue(r, 0, 0);
	f->channel = PQgetvalue(r, 0, 1);
	f->interaction_id = PQgetvalue(r, 0, 2);
	f->touchpoint = PQgetvalue(r, 0, 3);
	f->agent = PQgetvalue(r, 0, 4);
	if (!f->customer_id)
		f->customer_id = PQgetvalue(r, 0, 5);
	if (f->type != EVT_OPTED_OUT && f->type != EVT_OPTED_IN) {
		f->has_response = strcmp(PQgetvalue(r, 0, 6), "t") == 0;
		f->score = (int)strtol(PQgetvalue(r, 0, 7), NULL, 10);
		f->comment = PQgetvalue(r, 0, 8);
	}
	rc = insert_event(st, f, err);
	PQclear(r);
	return rc;
}

/* An opt-out or opt-in of `phone`, with the survey the text answered when there is one. */
static int opt_event(struct pg_store *st, enum evt_type type, const char *phone, const char *source,
		     const struct matched_survey *m, int64_t now, struct gw_err *err)
{
	char customer[STORE_ID_LEN] = "";
	struct evt_facts f = { .type = type, .at = now, .source = source, .phone = phone };

	if (m) {
		f.customer_id = m->customer_id;
		return survey_event(st, m->id, &f, err);
	}
	if (pg_wrun_one(st,
			"SELECT ext_id FROM customers WHERE phone = $1"
			" ORDER BY updated_at DESC, id DESC LIMIT 1",
			1, (const char *const[]){ phone }, "read customer", customer,
			sizeof(customer), err) < 0)
		return -1;
	f.customer_id = customer;
	f.survey_id = f.kind = f.channel = f.interaction_id = f.touchpoint = f.agent = "";
	f.comment = "";
	return insert_event(st, &f, err);
}

int pg_events_after_inbound(struct pg_store *st, const struct inbound_in *in,
			    const struct matched_survey *m, int was_suppressed,
			    const struct inbound_decision *d, struct gw_err *err)
{
	struct evt_facts f = { .at = in->now, .source = "customer" };

	if (!st->event_format || !evt_after_inbound(m, was_suppressed, d, &f.type))
		return 0;
	if (f.type == EVT_OPTED_OUT || f.type == EVT_OPTED_IN)
		return opt_event(st, f.type, in->from, "customer", m, in->now, err);
	f.customer_id = m->customer_id;
	return survey_event(st, m->id, &f, err);
}

int pg_events_after_suppress(struct pg_store *st, const char *phone, int64_t now,
			     struct gw_err *err)
{
	if (!st->event_format)
		return 0;
	return opt_event(st, EVT_OPTED_OUT, phone, "provider", NULL, now, err);
}

/* ---- delivery ----------------------------------------------------------------------------- */

/* How long a claim keeps an event from other instances: longer than one delivery attempt
 * ([events] timeout) takes, short enough that a dead instance's events are soon sent again. */
#define EVENT_LEASE_S 60

static const char due_sql[] =
	"WITH c AS MATERIALIZED ("
	"  SELECT seq FROM events"
	"  WHERE status = 'pending' AND next_attempt_at <= $1"
	"  AND (claimed_by IS NULL OR lease_until <= $1)"
	"  ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED),"
	" u AS ("
	"  UPDATE events e SET claimed_by = $3, lease_until = $1 + $4 FROM c WHERE e.seq = c.seq"
	"  RETURNING e.seq, e.id, e.type, e.body, e.attempts, e.created_at)"
	" SELECT seq, id, type, body, attempts, created_at FROM u ORDER BY seq";

int pg_events_due(struct pg_store *st, int64_t now, struct evt_item *items, size_t max, size_t *n,
		  struct gw_err *err)
{
	char a[24], b[24], c[24];
	const char *vals[4] = { I64(a, now), I64(b, max), st->instance, I64(c, EVENT_LEASE_S) };
	PGresult *r;

	*n = 0;
	if (!max)
		return 0;
	if (!(r = pg_crun(st, due_sql, 4, vals, "claim due events", err)))
		return -1;
	for (int i = 0; i < PQntuples(r) && *n < max; i++) {
		struct evt_item *it = &items[*n];

		memset(it, 0, sizeof(*it));
		it->seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		snprintf(it->id, sizeof(it->id), "%s", PQgetvalue(r, i, 1));
		snprintf(it->type, sizeof(it->type), "%s", PQgetvalue(r, i, 2));
		it->attempts = (int)strtol(PQgetvalue(r, i, 4), NULL, 10);
		it->created_at = strtoll(PQgetvalue(r, i, 5), NULL, 10);
		if (!(it->body = strdup(PQgetvalue(r, i, 3)))) {
			/* the claims lapse with their lease: delivered later, by whoever claims */
			for (size_t k = 0; k < *n; k++)
				evt_item_release(&items[k]);
			*n = 0;
			PQclear(r);
			return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		}
		(*n)++;
	}
	PQclear(r);
	return 0;
}

struct record_args {
	const struct evt_outcome *o;
	size_t n;
};

/* Each outcome lands only while this instance holds the event; a retried or expired event is
 * held by nobody. */
static int record_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	static const char *const sql[] = {
		[EVT_DELIVERED] = "DELETE FROM events WHERE seq = $1 AND claimed_by = $2",
		[EVT_RETRY] = "UPDATE events SET attempts = attempts + 1, next_attempt_at = $3,"
			      " last_error = $4, claimed_by = NULL, lease_until = NULL"
			      " WHERE seq = $1 AND claimed_by = $2",
		[EVT_EXPIRED] = "UPDATE events SET status = 'expired', attempts = attempts + 1,"
				" last_error = $3, claimed_by = NULL, lease_until = NULL"
				" WHERE seq = $1 AND claimed_by = $2",
		[EVT_UNTRIED] = "UPDATE events SET claimed_by = NULL, lease_until = NULL"
				" WHERE seq = $1 AND claimed_by = $2",
	};
	static const int nvals[] = {
		[EVT_DELIVERED] = 2,
		[EVT_RETRY] = 4,
		[EVT_EXPIRED] = 3,
		[EVT_UNTRIED] = 2,
	};
	struct record_args *a = arg;

	for (size_t i = 0; i < a->n; i++) {
		const struct evt_outcome *o = &a->o[i];
		char seq[24], next[24];
		const char *vals[4] = { I64(seq, o->seq), st->instance,
					o->result == EVT_RETRY ? I64(next, o->next_at) : o->error,
					o->error };

		if ((unsigned)o->result > EVT_UNTRIED)
			return gw_err_set(err, 500, "internal", "", "unknown event outcome %d",
					  (int)o->result);
		if (pg_wrun_one(st, sql[o->result], nvals[o->result], vals, "record event outcome",
				NULL, 0, err) < 0)
			return -1;
	}
	return 0;
}

int pg_events_record(struct pg_store *st, const struct evt_outcome *o, size_t n, struct gw_err *err)
{
	struct record_args a = { o, n };

	if (!n)
		return 0;
	return pg_run(st, record_job, &a, err);
}
