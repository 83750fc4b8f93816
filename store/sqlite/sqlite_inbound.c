/* sqlite_inbound.c - inbound texts and delivery statuses (see store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite_priv.h"
#include "sqlite_store.h"

/* ---- inbound texts and statuses -------------------------------------------------------- */

/* Finds the newest open survey for the text's number; 1 found, 0 none, -1 error. */
static int match_open(struct sqlite_store *st, const struct inbound_in *in,
		      struct matched_survey *m, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_MATCH_OPEN);
	int rc;

	bind_str(s, 1, in->from);
	bind_str(s, 2, in->provider);
	bind_str(s, 3, in->channel);
	sqlite3_bind_int64(s, 4, in->now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		col_copy(s, 0, m->id, sizeof(m->id));
		col_copy(s, 1, m->customer_id, sizeof(m->customer_id));
		col_copy(s, 2, m->name, sizeof(m->name));
		col_copy(s, 3, m->locale, sizeof(m->locale));
		col_copy(s, 4, m->kind, sizeof(m->kind));
		col_copy(s, 5, m->channel, sizeof(m->channel));
		col_copy(s, 6, m->status, sizeof(m->status));
		m->reprompted = sqlite3_column_int(s, 7);
		m->follow_up_pending = sqlite3_column_int(s, 8);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(st->db, rc, "match survey", err);
}

/* Fills what the store knows of the number beside its survey: suppression, locale, name. */
static int phone_view(struct sqlite_store *st, const char *phone, struct inbound_view *v,
		      struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_SUPPRESSED);
	int rc;

	bind_str(s, 1, phone);
	rc = sqlite3_step(s);
	v->suppressed = rc == SQLITE_ROW && sqlite3_column_int(s, 0) != 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st->db, rc, "read suppression", err);
	s = st_get(st, S_PHONE_CUSTOMER);
	bind_str(s, 1, phone);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		col_copy(s, 0, v->locale, sizeof(v->locale));
		col_copy(s, 1, v->name, sizeof(v->name));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st->db, rc, "read customer", err);
	return 0;
}

/* Runs statement `id` bound with ?1 text and ?2 a time (or int). */
static int run_text_int(struct sqlite_store *st, enum stmt_id id, const char *a, int64_t b,
			const char *what, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, id);

	bind_str(s, 1, a);
	sqlite3_bind_int64(s, 2, b);
	return step_done(st, s, what, err);
}

static int record_answer(struct sqlite_store *st, const struct inbound_in *in, int64_t msg_id,
			 const struct matched_survey *m, const struct inbound_decision *d,
			 struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_RESPONSE_UPSERT);

	bind_str(s, 1, m->id);
	sqlite3_bind_int(s, 2, d->score);
	sqlite3_bind_text(s, 3, d->comment ? d->comment : "", (int)d->comment_len,
			  SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, in->text, (int)in->text_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, msg_id);
	sqlite3_bind_int64(s, 6, in->now);
	if (step_done(st, s, "save response", err) < 0)
		return -1;
	s = st_get(st, S_SURVEY_ANSWERED);
	bind_str(s, 1, m->id);
	sqlite3_bind_int64(s, 2, in->now);
	if (d->follow_up_until)
		sqlite3_bind_int64(s, 3, d->follow_up_until);
	return step_done(st, s, "mark answered", err);
}

static int record_comment(struct sqlite_store *st, const struct matched_survey *m,
			  const struct inbound_decision *d, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_RESPONSE_COMMENT);

	bind_str(s, 1, m->id);
	sqlite3_bind_text(s, 2, d->comment ? d->comment : "", (int)d->comment_len,
			  SQLITE_TRANSIENT);
	if (step_done(st, s, "save comment", err) < 0)
		return -1;
	s = st_get(st, S_FOLLOW_UP_DONE);
	bind_str(s, 1, m->id);
	return step_done(st, s, "close follow-up", err);
}

/* Suppresses (opt_out 1) or restores (0) the number; an opt-out also skips its queued surveys
 * and cancels their queued messages, before any confirmation is queued. */
static int record_opt(struct sqlite_store *st, const struct inbound_in *in, int opt_out,
		      struct gw_err *err)
{
	sqlite3_stmt *s;

	if (opt_out) {
		s = st_get(st, S_SUPPRESS);
		bind_str(s, 1, in->from);
		sqlite3_bind_int64(s, 2, in->now);
		bind_str(s, 3, in->provider);
		if (step_done(st, s, "save suppression", err) < 0 ||
		    run_text_int(st, S_SKIP_QUEUED_SURVEYS, in->from, 0, "skip surveys", err) < 0 ||
		    run_text_int(st, S_CANCEL_QUEUED_MESSAGES, in->from, in->now, "cancel messages",
				 err) < 0)
			return -1;
	} else if (run_text_int(st, S_UNSUPPRESS, in->from, in->now, "lift suppression", err) < 0) {
		return -1;
	}
	return run_text_int(st, S_CUSTOMERS_OPTED, in->from, opt_out, "mark customers", err);
}

int suppress_tx(struct sqlite_store *st, const char *phone, const char *provider, int64_t now,
		struct gw_err *err)
{
	struct inbound_in in = { .provider = provider, .from = phone, .now = now };
	struct inbound_view before = { 0 };

	if (phone_view(st, in.from, &before, err) < 0 || record_opt(st, &in, 1, err) < 0)
		return -1;
	return before.suppressed ? 0 : events_after_suppress(st, in.from, in.now, err);
}

static int suppress_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	const struct inbound_in *in = arg;

	return suppress_tx(st, in->from, in->provider, in->now, err);
}

int sqlite_suppress_phone(struct sqlite_store *st, const char *phone, const char *provider,
			  int64_t now, struct gw_err *err)
{
	struct inbound_in in = { .provider = provider, .from = phone, .now = now };

	return sqlite_run(st, suppress_job, &in, err);
}

static int apply_decision(struct sqlite_store *st, const struct inbound_in *in, int64_t msg_id,
			  const struct matched_survey *m, const struct inbound_decision *d,
			  struct gw_err *err)
{
	int rc = 0;

	/* Rules about a survey mean nothing without one: no change, no reply. */
	if (!m && (d->action == INBOUND_ANSWER || d->action == INBOUND_REPROMPT ||
		   d->action == INBOUND_COMMENT))
		return 0;
	switch (d->action) {
	case INBOUND_ANSWER:
		rc = record_answer(st, in, msg_id, m, d, err);
		break;
	case INBOUND_REPROMPT:
		rc = run_text_int(st, S_SURVEY_REPROMPTED, m->id, 0, "mark reprompted", err);
		break;
	case INBOUND_COMMENT:
		rc = record_comment(st, m, d, err);
		break;
	case INBOUND_OPT_OUT:
	case INBOUND_OPT_IN:
		rc = record_opt(st, in, d->action == INBOUND_OPT_OUT, err);
		break;
	case INBOUND_STORE_ONLY:
		break;
	}
	if (rc < 0 || !d->reply)
		return rc;
	return insert_outbound(st, m ? m->id : NULL, d->reply_purpose,
			       m ? m->channel : in->channel ? in->channel : "sms", in->provider,
			       in->from, d->reply, in->now, in->now, err);
}

static int record_inbound_tx(struct sqlite_store *st, const struct inbound_in *in,
			     inbound_decide_fn decide, void *ctx, struct inbound_result *res,
			     struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_INBOUND_INSERT);
	struct matched_survey m;
	struct inbound_view v;
	struct inbound_decision d;
	int64_t msg_id;
	int rc;

	bind_str(s, 1, in->channel);
	bind_str(s, 2, in->provider);
	bind_str(s, 3, in->from);
	sqlite3_bind_text(s, 4, in->text, (int)in->text_len, SQLITE_TRANSIENT);
	bind_str(s, 5, in->provider_message_id);
	sqlite3_bind_int64(s, 6, in->now);
	rc = sqlite3_step(s);
	msg_id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		res->duplicate = 1;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return db_fail(st->db, rc, "save inbound text", err);

	memset(&m, 0, sizeof(m));
	memset(&v, 0, sizeof(v));
	memset(&d, 0, sizeof(d));
	if ((rc = match_open(st, in, &m, err)) < 0 || phone_view(st, in->from, &v, err) < 0)
		return -1;
	v.survey = rc ? &m : NULL;
	decide(ctx, &v, &d);
	res->action = d.action;
	if (rc) {
		res->matched = 1;
		snprintf(res->survey_id, sizeof(res->survey_id), "%s", m.id);
		s = st_get(st, S_INBOUND_LINK);
		sqlite3_bind_int64(s, 1, msg_id);
		bind_str(s, 2, m.id);
		bind_str(s, 3, m.channel);
		if (step_done(st, s, "link inbound text", err) < 0)
			return -1;
	}
	if (apply_decision(st, in, msg_id, v.survey, &d, err) < 0)
		return -1;
	/* Same transaction: no response without its event, no event without its response. */
	return events_after_inbound(st, in, v.survey, v.suppressed, &d, err);
}

struct inbound_args {
	const struct inbound_in *in;
	inbound_decide_fn decide;
	void *ctx;
	struct inbound_result *res;
};

static int record_inbound_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct inbound_args *a = arg;

	memset(a->res, 0, sizeof(*a->res));
	return record_inbound_tx(st, a->in, a->decide, a->ctx, a->res, err);
}

int sqlite_record_inbound(struct sqlite_store *st, const struct inbound_in *in,
			  inbound_decide_fn decide, void *ctx, struct inbound_result *res,
			  struct gw_err *err)
{
	struct inbound_args a = { in, decide, ctx, res };
	int rc = sqlite_run(st, record_inbound_job, &a, err);

	if (rc < 0)
		memset(res, 0, sizeof(*res));
	return rc;
}

/* Order of delivery states; a status only replaces one of lower rank. */
static int delivery_rank(const char *s)
{
	static const char *const order[] = { "queued", "sending", "uncertain", "sent", "delivered",
					     "read" };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(s, order[i]) == 0)
			return (int)i;
	return 100;     /* failed, answered, expired, ...: final */
}

/* May a message or survey in state `cur` move to `next`? */
static int status_advances(const char *cur, const char *next)
{
	if (strcmp(next, "failed") == 0)
		return delivery_rank(cur) <= delivery_rank("sent");
	return delivery_rank(next) > delivery_rank(cur) && delivery_rank(cur) < 100;
}

static int record_status_tx(struct sqlite_store *st, const char *provider, const char *pid,
			    const char *status, const char *code, const char *message, int64_t now,
			    int *found, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_STATUS_FIND);
	char cur[16], survey_id[SURVEY_ID_LEN], purpose[16];
	int64_t msg_id;
	int rc;

	bind_str(s, 1, provider);
	bind_str(s, 2, pid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		msg_id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, cur, sizeof(cur));
		col_copy(s, 2, survey_id, sizeof(survey_id));
		col_copy(s, 3, purpose, sizeof(purpose));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : db_fail(st->db, rc, "find message", err);
	*found = 1;
	if (!status_advances(cur, status))
		return 0;
	s = st_get(st, S_MESSAGE_STATUS);
	sqlite3_bind_int64(s, 1, msg_id);
	bind_str(s, 2, status);
	bind_opt_str(s, 3, code);
	bind_opt_str(s, 4, message);
	sqlite3_bind_int64(s, 5, now);
	if (step_done(st, s, "update message status", err) < 0)
		return -1;
	if (strcmp(purpose, "survey") != 0 || !survey_id[0])
		return 0;
	/* The survey follows its message, unless it moved on (answered, expired, ...). */
	s = st_get(st, S_SURVEY_STATUS);
	bind_str(s, 1, survey_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		col_copy(s, 0, cur, sizeof(cur));
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return db_fail(st->db, rc, "read survey status", err);
	if (!status_advances(cur, status))
		return 0;
	s = st_get(st, S_SURVEY_STATUS_BY_DELIVERY);
	bind_str(s, 1, survey_id);
	bind_str(s, 2, status);
	bind_opt_str(s, 3, code);
	bind_opt_str(s, 4, message);
	sqlite3_bind_int64(s, 5, now);
	return step_done(st, s, "update survey status", err);
}

struct status_args {
	const char *provider, *pid, *status, *code, *message;
	int64_t now;
	int *found;
};

static int record_status_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct status_args *a = arg;

	*a->found = 0;
	return record_status_tx(st, a->provider, a->pid, a->status, a->code, a->message, a->now,
				a->found, err);
}

int sqlite_record_status(struct sqlite_store *st, const char *provider,
			 const char *provider_message_id, const char *status, const char *code,
			 const char *message, int64_t now, int *found, struct gw_err *err)
{
	struct status_args a = { provider, provider_message_id, status, code, message, now, found };

	*found = 0;
	return sqlite_run(st, record_status_job, &a, err);
}

/* ---- a webhook's events in one transaction --------------------------------------------- */

struct events_args {
	struct store_event *evs;
	size_t n;
};

static int record_events_job(struct sqlite_store *st, void *arg, struct gw_err *err)
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
		if (rc < 0)
			return -1;
	}
	return 0;
}

int sqlite_record_events(struct sqlite_store *st, struct store_event *evs, size_t n,
			 struct gw_err *err)
{
	struct events_args a = { evs, n };

	return sqlite_run(st, record_events_job, &a, err);
}

int sqlite_record_events_async(struct sqlite_store *st, struct store_event *evs, size_t n,
			       struct gw_err *err, void (*done)(void *ctx, int rc), void *ctx)
{
	struct events_args a = { evs, n };

	return sqlite_submit(st, record_events_job, &a, sizeof(a), err, done, ctx);
}
