/*
 * front.c - store.h's front: one struct store on either backend, and what both share that
 * is not SQL.
 *
 * A store is opened on SQLite (store/sqlite/, the embedded default) or on PostgreSQL
 * (store/postgres/, several instances sharing one database); every call goes to the backend it
 * was opened on, whose function of the same name does the work (sqlite_X(), pg_X()).  Nothing
 * outside store/ learns which one runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "pg_store.h"
#include "sqlite_store.h"
#include "store.h"

struct store {
	struct sqlite_store *sq; /* exactly one of the two */
	struct pg_store *pg;
	char where[256]; /* store_where() */
};

/* The backend's function `fn` for st, with st's backend as its first argument. */
#define BACKEND(st, fn, ...) \
	((st)->pg ? pg_##fn((st)->pg, __VA_ARGS__) : sqlite_##fn((st)->sq, __VA_ARGS__))

/* ---- opening ----------------------------------------------------------------------------- */

struct store *store_open(const char *path, struct gw_err *err)
{
	return store_open_backend("sqlite", path, NULL, err);
}

struct store *store_open_backend(const char *backend, const char *path, const char *url,
				 struct gw_err *err)
{
	struct store *st = calloc(1, sizeof(*st));

	if (!st) {
		gw_errf(err, "out of memory");
		return NULL;
	}
	if (strcmp(backend, "postgres") == 0)
		st->pg = pg_store_open(url, err);
	else if (strcmp(backend, "sqlite") == 0)
		st->sq = sqlite_store_open(path, err);
	else
		gw_errf(err, "unknown store backend \"%s\" (sqlite or postgres)", backend);
	if (!st->pg && !st->sq) {
		free(st);
		return NULL;
	}
	if (st->pg)
		snprintf(st->where, sizeof(st->where), "postgres %s", pg_store_where(st->pg));
	else
		snprintf(st->where, sizeof(st->where), "%s", path);
	return st;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->pg)
		pg_store_close(st->pg);
	else
		sqlite_store_close(st->sq);
	free(st);
}

const char *store_where(const struct store *st)
{
	return st->where;
}

const char *store_backend(const struct store *st)
{
	return st->pg ? "postgres" : "sqlite";
}

int store_schema_version(void)
{
	return sqlite_store_schema_version();
}

const char *store_sqlite_version(void)
{
	return sqlite_store_library_version();
}

/* ---- what both backends share ------------------------------------------------------------ */

int store_phone_hash(const char *phone, char out[STORE_PHONE_HASH_LEN])
{
	uint8_t digest[SHA256_LEN];

	if (sha256(phone, strlen(phone), digest) < 0)
		return -1;
	memcpy(out, "sha256:", 7);
	hex_encode(digest, sizeof(digest), out + 7);
	return 0;
}

void survey_release(struct survey *s)
{
	free(s->comment);
	free(s->raw_text);
	s->comment = s->raw_text = NULL;
	s->has_response = 0;
}

void outbox_item_release(struct outbox_item *it)
{
	free(it->body);
	it->body = NULL;
}

void evt_item_release(struct evt_item *it)
{
	free(it->body);
	it->body = NULL;
}

void customer_history_release(struct customer_history *h)
{
	for (size_t i = 0; h->surveys && i < h->n; i++)
		free(h->surveys[i].comment);
	free(h->surveys);
	h->surveys = NULL;
	h->n = 0;
}

static const char *const type_names[EVT__COUNT] = {
	[EVT_RESPONSE_CREATED] = "response.created",
	[EVT_RESPONSE_UPDATED] = "response.updated",
	[EVT_RESPONSE_COMMENTED] = "response.commented",
	[EVT_OPTED_OUT] = "customer.opted_out",
	[EVT_OPTED_IN] = "customer.opted_in",
};

const char *evt_type_name(enum evt_type t)
{
	return (unsigned)t < EVT__COUNT ? type_names[t] : "unknown";
}

/* ---- calls that go to the backend as they are --------------------------------------------- */

int store_check_writable(struct store *st, struct gw_err *err)
{
	return BACKEND(st, check_writable, err);
}

int store_create_survey(struct store *st, const struct survey_new *in, char id_out[SURVEY_ID_LEN],
			int *outcome, struct gw_err *err)
{
	return BACKEND(st, create_survey, in, id_out, outcome, err);
}

int store_create_survey_async(struct store *st, const struct survey_new *in,
			      char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err,
			      void (*done)(void *ctx, int rc), void *ctx)
{
	return BACKEND(st, create_survey_async, in, id_out, outcome, err, done, ctx);
}

int store_get_survey(struct store *st, const char *id, struct survey *out, struct gw_err *err)
{
	return BACKEND(st, get_survey, id, out, err);
}

int store_find_survey(struct store *st, const char *interaction_id, const char *kind,
		      struct survey *out, struct gw_err *err)
{
	return BACKEND(st, find_survey, interaction_id, kind, out, err);
}

int store_claim_due(struct store *st, int64_t now, const char *provider, struct outbox_item *items,
		    size_t max, size_t *n, struct gw_err *err)
{
	return BACKEND(st, claim_due, now, provider, items, max, n, err);
}

void store_set_pair_interval(struct store *st, int64_t seconds)
{
	if (st->pg)
		pg_store_set_pair_interval(st->pg, seconds);
	else
		sqlite_store_set_pair_interval(st->sq, seconds);
}

int store_send_accepted(struct store *st, int64_t message_id, const char *provider_message_id,
			int64_t now, struct gw_err *err)
{
	return BACKEND(st, send_accepted, message_id, provider_message_id, now, err);
}

int store_send_retry(struct store *st, int64_t message_id, int64_t next_at, const char *code,
		     const char *message, struct gw_err *err)
{
	return BACKEND(st, send_retry, message_id, next_at, code, message, err);
}

int store_send_needs_template(struct store *st, int64_t message_id, int64_t now, const char *code,
			      const char *message, struct gw_err *err)
{
	return BACKEND(st, send_needs_template, message_id, now, code, message, err);
}

int store_suppress_phone(struct store *st, const char *phone, const char *provider, int64_t now,
			 struct gw_err *err)
{
	return BACKEND(st, suppress_phone, phone, provider, now, err);
}

int store_send_failed(struct store *st, int64_t message_id, const char *code, const char *message,
		      int64_t now, struct gw_err *err)
{
	return BACKEND(st, send_failed, message_id, code, message, now, err);
}

int store_record_sends(struct store *st, struct send_record *recs, size_t n, struct gw_err *err)
{
	return BACKEND(st, record_sends, recs, n, err);
}

int store_expire_due(struct store *st, int64_t now, size_t *n, struct gw_err *err)
{
	return BACKEND(st, expire_due, now, n, err);
}

int store_list_surveys(struct store *st, const char *status, size_t max, char (*ids)[SURVEY_ID_LEN],
		       size_t *n, struct gw_err *err)
{
	return BACKEND(st, list_surveys, status, max, ids, n, err);
}

int store_requeue_uncertain(struct store *st, int64_t now, size_t *n, struct gw_err *err)
{
	return BACKEND(st, requeue_uncertain, now, n, err);
}

int store_mark_uncertain(struct store *st, int64_t now, size_t *n, struct gw_err *err)
{
	return BACKEND(st, mark_uncertain, now, n, err);
}

int store_expire_leases(struct store *st, int64_t now, size_t *n, struct gw_err *err)
{
	return BACKEND(st, expire_leases, now, n, err);
}

void store_set_send_lease(struct store *st, int64_t seconds)
{
	if (st->pg)
		pg_store_set_send_lease(st->pg, seconds);
	else
		sqlite_store_set_send_lease(st->sq, seconds);
}

int store_outbox_depth(struct store *st, struct store_outbox_depth *out, struct gw_err *err)
{
	return BACKEND(st, outbox_depth, out, err);
}

int store_record_inbound(struct store *st, const struct inbound_in *in, inbound_decide_fn decide,
			 void *ctx, struct inbound_result *res, struct gw_err *err)
{
	return BACKEND(st, record_inbound, in, decide, ctx, res, err);
}

int store_record_status(struct store *st, const char *provider, const char *provider_message_id,
			const char *status, const char *code, const char *message, int64_t now,
			int *found, struct gw_err *err)
{
	return BACKEND(st, record_status, provider, provider_message_id, status, code, message, now,
		       found, err);
}

int store_record_events(struct store *st, struct store_event *evs, size_t n, struct gw_err *err)
{
	return BACKEND(st, record_events, evs, n, err);
}

int store_record_events_async(struct store *st, struct store_event *evs, size_t n,
			      struct gw_err *err, void (*done)(void *ctx, int rc), void *ctx)
{
	return BACKEND(st, record_events_async, evs, n, err, done, ctx);
}

int store_idem_begin(struct store *st, const char *key, const char *body_sha256, int64_t now,
		     int64_t stale_s, enum idem_state *state, int *status, char **response,
		     struct gw_err *err)
{
	return BACKEND(st, idem_begin, key, body_sha256, now, stale_s, state, status, response,
		       err);
}

int store_idem_finish(struct store *st, const char *key, int status, const char *response,
		      struct gw_err *err)
{
	return BACKEND(st, idem_finish, key, status, response, err);
}

int store_idem_purge(struct store *st, int64_t before, size_t *n, struct gw_err *err)
{
	return BACKEND(st, idem_purge, before, n, err);
}

void store_set_event_format(struct store *st, event_format_fn fn, void *ctx)
{
	if (st->pg)
		pg_store_set_event_format(st->pg, fn, ctx);
	else
		sqlite_store_set_event_format(st->sq, fn, ctx);
}

int store_events_due(struct store *st, int64_t now, struct evt_item *items, size_t max, size_t *n,
		     struct gw_err *err)
{
	return BACKEND(st, events_due, now, items, max, n, err);
}

int store_events_record(struct store *st, const struct evt_outcome *o, size_t n, struct gw_err *err)
{
	return BACKEND(st, events_record, o, n, err);
}

int store_customer_history(struct store *st, const char *customer_id, size_t max,
			   struct customer_history *h, struct gw_err *err)
{
	return BACKEND(st, customer_history, customer_id, max, h, err);
}

int store_erase_customer(struct store *st, const char *customer_id, int64_t now,
			 struct erase_summary *sum, struct gw_err *err)
{
	return BACKEND(st, erase_customer, customer_id, now, sum, err);
}

int store_purge_texts(struct store *st, int64_t before, size_t *n, struct gw_err *err)
{
	return BACKEND(st, purge_texts, before, n, err);
}

/* ---- export and report cursors
 * ------------------------------------------------------------ */

struct export_cursor {
	struct sqlite_export_cursor *sq; /* exactly one of the two */
	struct pg_export_cursor *pg;
};

struct export_cursor *store_export_open(struct store *st, const struct export_filter *f,
					struct gw_err *err)
{
	struct export_cursor *c = calloc(1, sizeof(*c));

	if (!c) {
		gw_err_set(err, 503, "unavailable", "", "out of memory");
		return NULL;
	}
	if (st->pg ? !(c->pg = pg_export_open(st->pg, f, err)) :
		     !(c->sq = sqlite_export_open(st->sq, f, err))) {
		free(c);
		return NULL;
	}
	return c;
}

int store_export_open_many(struct store *st, const struct export_filter *f,
			   struct export_cursor **cur, size_t *n, struct gw_err *err)
{
	size_t want = *n, got = want;
	struct sqlite_export_cursor **sq = NULL;
	struct pg_export_cursor **pg = NULL;
	int rc;

	*n = 0;
	if (st->pg ? !(pg = calloc(want + 1, sizeof(*pg))) : !(sq = calloc(want + 1, sizeof(*sq))))
		return gw_err_set(err, 503, "unavailable", "", "out of memory");
	rc = st->pg ? pg_export_open_many(st->pg, f, pg, &got, err) :
		      sqlite_export_open_many(st->sq, f, sq, &got, err);
	for (size_t i = 0; rc == 0 && i < got; i++) {
		if (!(cur[i] = calloc(1, sizeof(*cur[i])))) {
			rc = gw_err_set(err, 503, "unavailable", "", "out of memory");
			break;
		}
		cur[i]->pg = pg ? pg[i] : NULL;
		cur[i]->sq = sq ? sq[i] : NULL;
		*n = i + 1;
	}
	for (size_t i = *n; rc < 0 && i < got; i++) { /* opened, not handed out */
		if (pg)
			pg_export_close(pg[i]);
		else
			sqlite_export_close(sq[i]);
	}
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			store_export_close(cur[i]);
		*n = 0;
	}
	free(pg);
	free(sq);
	return rc;
}

/* The cursor's backend function `fn`, with its backend cursor as the first
 * argument. */
#define CURSOR(c, fn, ...) \
	((c)->pg ? pg_##fn((c)->pg, __VA_ARGS__) : sqlite_##fn((c)->sq, __VA_ARGS__))

int store_export_bounds(struct export_cursor *c, size_t step, int64_t **bounds, size_t *n,
			struct gw_err *err)
{
	return CURSOR(c, export_bounds, step, bounds, n, err);
}

int store_export_range(struct export_cursor *c, int64_t from, int64_t to, struct gw_err *err)
{
	return CURSOR(c, export_range, from, to, err);
}

int store_export_count(struct export_cursor *c, int64_t *n, struct gw_err *err)
{
	return CURSOR(c, export_count, n, err);
}

int store_export_next(struct export_cursor *c, struct export_row *r, struct gw_err *err)
{
	return CURSOR(c, export_next, r, err);
}

void store_export_close(struct export_cursor *c)
{
	if (!c)
		return;
	if (c->pg)
		pg_export_close(c->pg);
	else
		sqlite_export_close(c->sq);
	free(c);
}

struct report_cursor {
	struct sqlite_report_cursor *sq; /* exactly one of the two */
	struct pg_report_cursor *pg;
};

struct report_cursor *store_report_open(struct store *st, const struct report_query *q,
					struct gw_err *err)
{
	struct report_cursor *c = calloc(1, sizeof(*c));

	if (!c) {
		gw_err_set(err, 503, "unavailable", "", "out of memory");
		return NULL;
	}
	if (st->pg ? !(c->pg = pg_report_open(st->pg, q, err)) :
		     !(c->sq = sqlite_report_open(st->sq, q, err))) {
		free(c);
		return NULL;
	}
	return c;
}

int store_report_next(struct report_cursor *c, struct report_row *r, struct gw_err *err)
{
	return CURSOR(c, report_next, r, err);
}

void store_report_close(struct report_cursor *c)
{
	if (!c)
		return;
	if (c->pg)
		pg_report_close(c->pg);
	else
		sqlite_report_close(c->sq);
	free(c);
}

int store_pace_take(struct store *st, const char *provider, double rate_per_s, double burst,
		    size_t want, size_t *granted, struct gw_err *err)
{
	if (st->pg)
		return pg_pace_take(st->pg, provider, rate_per_s, burst, want, granted, err);
	*granted = want;
	return 0;
}

int store_server_stats(struct store *st, struct store_server_stats *out, struct gw_err *err)
{
	memset(out, 0, sizeof(*out));
	return st->pg ? pg_server_stats(st->pg, out, err) : 0;
}

/* ---- SQLite's write-ahead log ----------------------------------------------------------- */

/* PostgreSQL keeps its own log, which the server checkpoints and recycles: nothing of the
 * store's to limit, and nothing to report. */

int store_set_log_limit(struct store *st, int64_t bytes, struct gw_err *err)
{
	return st->pg ? 0 : sqlite_set_log_limit(st->sq, bytes, err);
}

void store_log_stats(struct store *st, struct store_log_stats *out)
{
	if (st->pg) {
		memset(out, 0, sizeof(*out));
		out->since_complete_s = -1;
		return;
	}
	sqlite_log_stats(st->sq, out);
}

int store_wipe_freed(struct store *st, int wait_ms, struct gw_err *err)
{
	return BACKEND(st, wipe_freed, wait_ms, err);
}
