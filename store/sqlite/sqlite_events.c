/*
 * sqlite_events.c - outbound events (see store.h): written inside the transactions that record
 * what they report, handed to the one delivery thread, deleted once delivered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_priv.h"
#include "shared.h"
#include "sqlite_store.h"

void sqlite_store_set_event_format(struct sqlite_store *st, event_format_fn fn, void *ctx)
{
	st->event_format = fn;
	st->event_ctx = ctx;
}

/* Formats `f` and queues it, due at once; inside the caller's transaction. */
static int insert_event(struct sqlite_store *st, const struct evt_facts *f, struct gw_err *err)
{
	char id[EVENT_ID_LEN] = "";
	char *body = st->event_format(st->event_ctx, f, id);
	sqlite3_stmt *s;
	int rc;

	if (!body)
		return gw_err_set(err, 503, "store_unavailable", "",
				  "cannot format the %s event", evt_type_name(f->type));
	s = st_get(st, S_EVENT_INSERT);
	bind_str(s, 1, id);
	bind_str(s, 2, evt_type_name(f->type));
	bind_str(s, 3, body);
	sqlite3_bind_int64(s, 4, f->at);
	rc = step_done(st, s, "queue event", err);
	free(body);
	return rc;
}

/* The newest customer id of `phone` into out ("" when it has none). */
static int phone_customer(struct sqlite_store *st, const char *phone, char *out, size_t n,
			  struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_EVENT_PHONE_CUSTOMER);
	int rc;

	out[0] = '\0';
	bind_str(s, 1, phone);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		col_copy(s, 0, out, n);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st->db, rc, "read customer", err);
	return 0;
}

/*
 * Fills the survey half of `f` (and the response, as it stands now that this transaction wrote
 * it) from survey `id`, then queues the event.  The statement's strings stay valid until it is
 * reset, which is after insert_event() has formatted them.
 */
static int survey_event(struct sqlite_store *st, const char *id, struct evt_facts *f,
			struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_EVENT_SURVEY);
	int rc;

	bind_str(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			return gw_err_set(err, 500, "internal", "", "survey %s vanished", id);
		return db_fail(st->db, rc, "read survey", err);
	}
	f->has_survey = 1;
	f->survey_id = id;
	f->kind = col_str(s, 0);
	f->channel = col_str(s, 1);
	f->interaction_id = col_str(s, 2);
	f->touchpoint = col_str(s, 3);
	f->agent = col_str(s, 4);
	if (!f->customer_id)
		f->customer_id = col_str(s, 5);
	if (f->type != EVT_OPTED_OUT && f->type != EVT_OPTED_IN) {
		f->has_response = sqlite3_column_int(s, 6);
		f->score = sqlite3_column_int(s, 7);
		f->comment = col_str(s, 8);
	}
	rc = insert_event(st, f, err);
	sqlite3_reset(s);
	return rc;
}

/* An opt-out or opt-in of `phone`, with the survey the text answered when there is one. */
static int opt_event(struct sqlite_store *st, enum evt_type type, const char *phone,
		     const char *source, const struct matched_survey *m, int64_t now,
		     struct gw_err *err)
{
	char customer[STORE_ID_LEN];
	struct evt_facts f = { .type = type, .at = now, .source = source, .phone = phone };

	if (m) {
		f.customer_id = m->customer_id;
		return survey_event(st, m->id, &f, err);
	}
	if (phone_customer(st, phone, customer, sizeof(customer), err) < 0)
		return -1;
	f.customer_id = customer;
	f.survey_id = f.kind = f.channel = f.interaction_id = f.touchpoint = f.agent = "";
	f.comment = "";
	return insert_event(st, &f, err);
}

int events_after_inbound(struct sqlite_store *st, const struct inbound_in *in,
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

int events_after_suppress(struct sqlite_store *st, const char *phone, int64_t now,
			  struct gw_err *err)
{
	if (!st->event_format)
		return 0;
	return opt_event(st, EVT_OPTED_OUT, phone, "provider", NULL, now, err);
}

/* ---- delivery ------------------------------------------------------------------------- */

struct due_args {
	int64_t now;
	struct evt_item *items;
	size_t max, *n;
};

static int due_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct due_args *a = arg;
	sqlite3_stmt *s = st_get(st, S_EVENTS_DUE);
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(s, 1, a->now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)a->max);
	while (*a->n < a->max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct evt_item *it = &a->items[*a->n];

		memset(it, 0, sizeof(*it));
		it->seq = sqlite3_column_int64(s, 0);
		col_copy(s, 1, it->id, sizeof(it->id));
		col_copy(s, 2, it->type, sizeof(it->type));
		if (!(it->body = col_dup(s, 3))) {
			rc = SQLITE_NOMEM;
			break;
		}
		it->attempts = sqlite3_column_int(s, 4);
		it->created_at = sqlite3_column_int64(s, 5);
		(*a->n)++;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return db_fail(st->db, rc, "read due events", err);
}

int sqlite_events_due(struct sqlite_store *st, int64_t now, struct evt_item *items, size_t max,
		      size_t *n, struct gw_err *err)
{
	struct due_args a = { now, items, max, n };
	int rc;

	*n = 0;
	if (!max)
		return 0;
	rc = sqlite_run(st, due_job, &a, err);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			evt_item_release(&items[i]);
		*n = 0;
	}
	return rc;
}

struct record_args {
	const struct evt_outcome *o;
	size_t n;
};

static int record_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct record_args *a = arg;

	for (size_t i = 0; i < a->n; i++) {
		const struct evt_outcome *o = &a->o[i];
		static const enum stmt_id ids[] = {
			[EVT_DELIVERED] = S_EVENT_DELETE,
			[EVT_RETRY] = S_EVENT_RETRY,
			[EVT_EXPIRED] = S_EVENT_EXPIRE,
		};
		sqlite3_stmt *s;

		if (o->result == EVT_UNTRIED) /* never held: nothing to hand back */
			continue;
		s = st_get(st, ids[o->result]);
		sqlite3_bind_int64(s, 1, o->seq);
		if (o->result == EVT_RETRY)
			sqlite3_bind_int64(s, 2, o->next_at);
		if (o->result == EVT_RETRY || o->result == EVT_EXPIRED)
			bind_opt_str(s, 3, o->error);
		if (step_done(st, s, "record event outcome", err) < 0)
			return -1;
	}
	return 0;
}

int sqlite_events_record(struct sqlite_store *st, const struct evt_outcome *o, size_t n,
			 struct gw_err *err)
{
	struct record_args a = { o, n };

	if (!n)
		return 0;
	return sqlite_run(st, record_job, &a, err);
}
