/*
 * pg_events.c - outbound events on PostgreSQL (see pg_store.h): written inside the
 * transactions that record what they report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
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

	if (!st->event_format)
		return 0;
	switch (d->action) {
	case INBOUND_ANSWER:
		if (!m)
			return 0;
		/* The matched survey's status is the one before this text was applied. */
		f.type = strcmp(m->status, "answered") == 0 ? EVT_RESPONSE_UPDATED :
							      EVT_RESPONSE_CREATED;
		f.customer_id = m->customer_id;
		return survey_event(st, m->id, &f, err);
	case INBOUND_COMMENT:
		if (!m)
			return 0;
		f.type = EVT_RESPONSE_COMMENTED;
		f.customer_id = m->customer_id;
		return survey_event(st, m->id, &f, err);
	case INBOUND_OPT_OUT:
		/* Only a change is news: a second STOP changes nothing. */
		return was_suppressed ?
			       0 :
			       opt_event(st, EVT_OPTED_OUT, in->from, "customer", m, in->now, err);
	case INBOUND_OPT_IN:
		return was_suppressed ?
			       opt_event(st, EVT_OPTED_IN, in->from, "customer", m, in->now, err) :
			       0;
	case INBOUND_STORE_ONLY:
	case INBOUND_REPROMPT:
		break;
	}
	return 0;
}

int pg_events_after_suppress(struct pg_store *st, const char *phone, int64_t now,
			     struct gw_err *err)
{
	if (!st->event_format)
		return 0;
	return opt_event(st, EVT_OPTED_OUT, phone, "provider", NULL, now, err);
}
