/* sqlite_outbox.c - the outbox: claiming due messages and recording send outcomes (see store.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite_priv.h"
#include "sqlite_store.h"

/* ---- the outbox ------------------------------------------------------------------------ */

/* 1 when a WhatsApp message to it->phone is already in this batch: the pair limit allows one. */
static int pair_taken(const struct sqlite_store *st, const struct outbox_item *items, size_t n,
		      const struct outbox_item *it)
{
	if (!st->pair_interval_s || strcmp(it->channel, "whatsapp") != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i].channel, "whatsapp") == 0 && strcmp(items[i].phone, it->phone) == 0)
			return 1;
	return 0;
}

static int claim_due_tx(struct sqlite_store *st, int64_t now, const char *provider,
			struct outbox_item *items, size_t max, size_t *n, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_DUE_SELECT);
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	bind_str(s, 3, provider);
	sqlite3_bind_int64(s, 4, st->pair_interval_s);
	while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct outbox_item *it = &items[*n];

		memset(it, 0, sizeof(*it));
		it->message_id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, it->survey_id, sizeof(it->survey_id));
		col_copy(s, 2, it->provider, sizeof(it->provider));
		col_copy(s, 3, it->channel, sizeof(it->channel));
		col_copy(s, 4, it->purpose, sizeof(it->purpose));
		col_copy(s, 5, it->phone, sizeof(it->phone));
		it->attempts = sqlite3_column_int(s, 7) + 1;
		col_copy(s, 8, it->kind, sizeof(it->kind));
		col_copy(s, 9, it->locale, sizeof(it->locale));
		col_copy(s, 10, it->name, sizeof(it->name));
		it->needs_template = sqlite3_column_int(s, 11);
		it->last_inbound_at = sqlite3_column_int64(s, 12);
		if (pair_taken(st, items, *n, it)) {
			outbox_item_release(it);
			continue;
		}
		if (!(it->body = col_dup(s, 6))) {
			sqlite3_reset(s);
			return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		}
		(*n)++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st->db, rc, "find due messages", err);
	for (size_t i = 0; i < *n; i++) {
		s = st_get(st, S_MESSAGE_CLAIM);
		sqlite3_bind_int64(s, 1, items[i].message_id);
		sqlite3_bind_int64(s, 2, now);
		sqlite3_bind_int64(s, 3, st->send_lease_s);
		if (step_done(st, s, "claim message", err) < 0)
			return -1;
		if (strcmp(items[i].purpose, "survey") != 0)
			continue;
		s = st_get(st, S_SURVEY_SET_STATUS);
		bind_str(s, 1, items[i].survey_id);
		bind_str(s, 2, "sending");
		sqlite3_bind_int64(s, 3, items[i].message_id);
		if (step_done(st, s, "claim survey", err) < 0)
			return -1;
	}
	return 0;
}

struct claim_args {
	int64_t now;
	const char *provider;
	struct outbox_item *items;
	size_t max, *n;
};

static int claim_due_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct claim_args *a = arg;

	return claim_due_tx(st, a->now, a->provider, a->items, a->max, a->n, err);
}

int sqlite_claim_due(struct sqlite_store *st, int64_t now, const char *provider,
		     struct outbox_item *items, size_t max, size_t *n, struct gw_err *err)
{
	struct claim_args a = { now, provider, items, max, n };
	int rc;

	*n = 0;
	rc = sqlite_run(st, claim_due_job, &a, err);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			outbox_item_release(&items[i]);
		*n = 0;
	}
	return rc;
}

/*
 * Send outcomes: statement ids[0] on the message, then ids[1] on the survey the message asks for
 * (none for thanks and re-prompts).  Both are bound alike: ?1 the message id, ?2 a time, ?3 the
 * provider's id or error code, ?4 the error message.
 */
static const enum stmt_id outcome_stmts[][2] = {
	[SEND_REC_ACCEPTED] = { S_MESSAGE_SENT, S_SURVEY_SENT },
	[SEND_REC_RETRY] = { S_MESSAGE_RETRY, S_SURVEY_RETRY },
	[SEND_REC_TEMPLATE] = { S_MESSAGE_NEEDS_TEMPLATE, S_SURVEY_RETRY },
	[SEND_REC_FAILED] = { S_MESSAGE_FAILED, S_SURVEY_FAILED },
};

/* A provider's message id as the store keeps it: it is logged and matched against status
 * callbacks, so control characters, spaces and bytes outside ASCII are refused. */
static int provider_id_ok(const char *id)
{
	size_t n = 0;

	for (; id && id[n]; n++)
		if ((unsigned char)id[n] <= ' ' || (unsigned char)id[n] >= 0x7f)
			return 0;
	return n > 0 && n < STORE_PROVIDER_ID_LEN;
}

static int record_send_tx(struct sqlite_store *st, struct send_record *r, struct gw_err *err)
{
	r->cancelled = 0;
	if (r->kind == SEND_REC_ACCEPTED && r->a && !provider_id_ok(r->a))
		return gw_err_set(err, 422, "invalid_provider_message_id", "provider_message_id",
				  "the provider's message id is not 1-%d printable ASCII characters "
				  "without spaces", STORE_PROVIDER_ID_LEN - 1);
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *s = st_get(st, outcome_stmts[r->kind][i]);

		sqlite3_bind_int64(s, 1, r->message_id);
		sqlite3_bind_int64(s, 2, r->t);
		bind_opt_str(s, 3, r->a);
		bind_opt_str(s, 4, r->b);
		if (step_done(st, s, "record send outcome", err) < 0)
			return -1;
		/* The message was cancelled meanwhile (its customer erased): nothing of the
		 * outcome is kept, and the caller learns so. */
		if (i == 0 && sqlite3_changes(st->db) == 0) {
			r->cancelled = 1;
			return 0;
		}
	}
	if (r->kind == SEND_REC_FAILED && r->suppress_phone)
		return suppress_tx(st, r->suppress_phone, r->suppress_provider, r->t, err);
	return 0;
}

struct record_args {
	struct send_record *recs;
	size_t n;
};

/* Each outcome in a savepoint of its own: one that fails is undone alone and marked refused.
 * Only when SQLite dropped the whole transaction (a full disk) does the job fail. */
static int record_sends_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct record_args *a = arg;

	for (size_t i = 0; i < a->n; i++) {
		struct send_record *r = &a->recs[i];
		struct gw_err why = { 0 };

		r->refused = 0;
		r->why[0] = '\0';
		if (step_done(st, st_get(st, S_SAVEPOINT_ITEM), "savepoint", err) < 0)
			return -1;
		if (record_send_tx(st, r, &why) == 0) {
			if (step_done(st, st_get(st, S_RELEASE_ITEM), "release", err) < 0)
				return -1;
			continue;
		}
		sqlite3_step(st_get(st, S_ROLLBACK_TO_ITEM));
		sqlite3_step(st_get(st, S_RELEASE_ITEM));
		sqlite3_reset(st->stmt[S_ROLLBACK_TO_ITEM]);
		sqlite3_reset(st->stmt[S_RELEASE_ITEM]);
		if (sqlite3_get_autocommit(st->db)) {
			*err = why;
			return -1;
		}
		r->refused = 1;
		r->cancelled = 0;
		memcpy(r->why, why.msg, sizeof(r->why));
	}
	return 0;
}

int sqlite_record_sends(struct sqlite_store *st, struct send_record *recs, size_t n,
			struct gw_err *err)
{
	struct record_args a = { recs, n };

	return n ? sqlite_run(st, record_sends_job, &a, err) : 0;
}

static int record_one(struct sqlite_store *st, enum send_record_kind kind, int64_t message_id,
		      int64_t t, const char *a, const char *b, struct gw_err *err)
{
	struct send_record r = { .kind = kind, .message_id = message_id, .t = t, .a = a, .b = b };

	if (sqlite_record_sends(st, &r, 1, err) < 0)
		return -1;
	if (r.refused)
		return gw_err_set(err, 422, "invalid_provider_message_id", "provider_message_id",
				  "%s", r.why);
	return r.cancelled;
}

int sqlite_send_accepted(struct sqlite_store *st, int64_t message_id,
			 const char *provider_message_id, int64_t now, struct gw_err *err)
{
	return record_one(st, SEND_REC_ACCEPTED, message_id, now, provider_message_id, NULL, err);
}

int sqlite_send_retry(struct sqlite_store *st, int64_t message_id, int64_t next_at,
		      const char *code, const char *message, struct gw_err *err)
{
	return record_one(st, SEND_REC_RETRY, message_id, next_at, code, message, err);
}

int sqlite_send_needs_template(struct sqlite_store *st, int64_t message_id, int64_t now,
			       const char *code, const char *message, struct gw_err *err)
{
	return record_one(st, SEND_REC_TEMPLATE, message_id, now, code, message, err);
}

int sqlite_send_failed(struct sqlite_store *st, int64_t message_id, const char *code,
		       const char *message, int64_t now, struct gw_err *err)
{
	return record_one(st, SEND_REC_FAILED, message_id, now, code, message, err);
}

struct count_args {
	int64_t now;
	size_t *n;
};

static int expire_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct count_args *a = arg;
	sqlite3_stmt *s = st_get(st, S_EXPIRE);
	int rc;

	sqlite3_bind_int64(s, 1, a->now);
	rc = step_done(st, s, "expire surveys", err);
	if (rc == 0)
		*a->n = (size_t)sqlite3_changes(st->db);
	return rc;
}

int sqlite_expire_due(struct sqlite_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	struct count_args a = { now, n };

	*n = 0;
	return sqlite_run(st, expire_job, &a, err);
}

/* Messages in `sending` whose lease ended by a->now (all of them: INT64_MAX) become uncertain. */
struct uncertain_args {
	int64_t cutoff, now;
	size_t *n;
};

static int uncertain_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct uncertain_args *a = arg;
	sqlite3_stmt *s = st_get(st, S_UNCERTAIN_SURVEYS);
	int rc;

	sqlite3_bind_int64(s, 1, a->cutoff);
	rc = step_done(st, s, "mark uncertain", err);
	if (rc == 0) {
		s = st_get(st, S_UNCERTAIN_MESSAGES);
		sqlite3_bind_int64(s, 1, a->cutoff);
		sqlite3_bind_int64(s, 2, a->now);
		rc = step_done(st, s, "mark uncertain", err);
		*a->n = (size_t)sqlite3_changes(st->db);
	}
	return rc;
}

static int requeue_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct count_args *a = arg;
	sqlite3_stmt *s;
	int rc = step_done(st, st_get(st, S_REQUEUE_UNCERTAIN_SURVEYS), "requeue uncertain", err);

	if (rc == 0) {
		s = st_get(st, S_REQUEUE_UNCERTAIN_MESSAGES);
		sqlite3_bind_int64(s, 1, a->now);
		rc = step_done(st, s, "requeue uncertain", err);
		*a->n = (size_t)sqlite3_changes(st->db);
	}
	return rc;
}

int sqlite_requeue_uncertain(struct sqlite_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	struct count_args a = { now, n };

	*n = 0;
	return sqlite_run(st, requeue_job, &a, err);
}

int sqlite_mark_uncertain(struct sqlite_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	struct uncertain_args a = { INT64_MAX, now, n };

	*n = 0;
	return sqlite_run(st, uncertain_job, &a, err);
}

int sqlite_expire_leases(struct sqlite_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	struct uncertain_args a = { now, now, n };

	*n = 0;
	return sqlite_run(st, uncertain_job, &a, err);
}
int sqlite_outbox_depth(struct sqlite_store *st, struct store_outbox_depth *out, struct gw_err *err)
{
	/* Each count is answered by a partial index (messages_due, _sending, _uncertain). */
	struct reader *r = reader_get(st, err);
	sqlite3_stmt *s;
	int rc = -1, step;

	memset(out, 0, sizeof(*out));
	if (!r)
		return -1;
	if (!(s = reader_stmt(r, R_OUTBOX_DEPTH, err)))
		goto out;
	if ((step = sqlite3_step(s)) != SQLITE_ROW) {
		db_fail(r->db, step, "count the outbox", err);
		goto out;
	}
	out->queued = sqlite3_column_int64(s, 0);
	out->sending = sqlite3_column_int64(s, 1);
	out->uncertain = sqlite3_column_int64(s, 2);
	rc = 0;
out:
	reader_put(st, r);
	return rc;
}
