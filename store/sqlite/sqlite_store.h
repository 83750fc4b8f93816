/*
 * sqlite_store.h - the store on SQLite (store/sqlite/): the embedded default.
 *
 * Each sqlite_X() behaves as store_X() in store.h (store.c calls it when the store was opened
 * on a file); sqlite_priv.h says how the files share the work.
 */
#ifndef GW_SQLITE_STORE_H
#define GW_SQLITE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gwerr.h"
#include "store.h"

struct sqlite_store;
struct sqlite_export_cursor;
struct sqlite_report_cursor;

/* Opens (creating when needed) the database at `path`, creating its folder, and brings the
 * schema up to date.  NULL with err set on failure. */
struct sqlite_store *sqlite_store_open(const char *path, struct gw_err *err);
void sqlite_store_close(struct sqlite_store *st);
/* The schema version this build writes (PRAGMA user_version), and SQLite's own version. */
int sqlite_store_schema_version(void);
const char *sqlite_store_library_version(void);

int sqlite_check_writable(struct sqlite_store *st, struct gw_err *err);
int sqlite_create_survey(struct sqlite_store *st, const struct survey_new *in,
			 char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err);
int sqlite_create_survey_async(struct sqlite_store *st, const struct survey_new *in,
			       char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err,
			       void (*done)(void *ctx, int rc), void *ctx);
int sqlite_get_survey(struct sqlite_store *st, const char *id, struct survey *out,
		      struct gw_err *err);
int sqlite_find_survey(struct sqlite_store *st, const char *interaction_id, const char *kind,
		       struct survey *out, struct gw_err *err);
int sqlite_claim_due(struct sqlite_store *st, int64_t now, const char *provider,
		     struct outbox_item *items, size_t max, size_t *n, struct gw_err *err);
void sqlite_store_set_pair_interval(struct sqlite_store *st, int64_t seconds);
int sqlite_send_accepted(struct sqlite_store *st, int64_t message_id,
			 const char *provider_message_id, int64_t now, struct gw_err *err);
int sqlite_send_retry(struct sqlite_store *st, int64_t message_id, int64_t next_at,
		      const char *code, const char *message, struct gw_err *err);
int sqlite_send_needs_template(struct sqlite_store *st, int64_t message_id, int64_t now,
			       const char *code, const char *message, struct gw_err *err);
int sqlite_suppress_phone(struct sqlite_store *st, const char *phone, const char *provider,
			  int64_t now, struct gw_err *err);
int sqlite_send_failed(struct sqlite_store *st, int64_t message_id, const char *code,
		       const char *message, int64_t now, struct gw_err *err);
int sqlite_record_sends(struct sqlite_store *st, struct send_record *recs, size_t n,
			struct gw_err *err);
int sqlite_expire_due(struct sqlite_store *st, int64_t now, size_t *n, struct gw_err *err);
int sqlite_list_surveys(struct sqlite_store *st, const char *status, size_t max,
			char (*ids)[SURVEY_ID_LEN], size_t *n, struct gw_err *err);
int sqlite_requeue_uncertain(struct sqlite_store *st, int64_t now, size_t *n, struct gw_err *err);
int sqlite_mark_uncertain(struct sqlite_store *st, int64_t now, size_t *n, struct gw_err *err);
int sqlite_expire_leases(struct sqlite_store *st, int64_t now, size_t *n, struct gw_err *err);
void sqlite_store_set_send_lease(struct sqlite_store *st, int64_t seconds);
int sqlite_outbox_depth(struct sqlite_store *st, struct store_outbox_depth *out,
			struct gw_err *err);
int sqlite_record_inbound(struct sqlite_store *st, const struct inbound_in *in,
			  inbound_decide_fn decide, void *ctx, struct inbound_result *res,
			  struct gw_err *err);
int sqlite_record_status(struct sqlite_store *st, const char *provider,
			 const char *provider_message_id, const char *status, const char *code,
			 const char *message, int64_t now, int *found, struct gw_err *err);
int sqlite_record_events(struct sqlite_store *st, struct store_event *evs, size_t n,
			 struct gw_err *err);
int sqlite_record_events_async(struct sqlite_store *st, struct store_event *evs, size_t n,
			       struct gw_err *err, void (*done)(void *ctx, int rc), void *ctx);
int sqlite_idem_begin(struct sqlite_store *st, const char *key, const char *body_sha256,
		      int64_t now, int64_t stale_s, enum idem_state *state, int *status,
		      char **response, struct gw_err *err);
int sqlite_idem_finish(struct sqlite_store *st, const char *key, int status, const char *response,
		       struct gw_err *err);
int sqlite_idem_purge(struct sqlite_store *st, int64_t before, size_t *n, struct gw_err *err);
struct sqlite_export_cursor *sqlite_export_open(struct sqlite_store *st,
						const struct export_filter *f, struct gw_err *err);
int sqlite_export_open_many(struct sqlite_store *st, const struct export_filter *f,
			    struct sqlite_export_cursor **cur, size_t *n, struct gw_err *err);
int sqlite_export_bounds(struct sqlite_export_cursor *c, size_t step, int64_t **bounds, size_t *n,
			 struct gw_err *err);
int sqlite_export_range(struct sqlite_export_cursor *c, int64_t from, int64_t to,
			struct gw_err *err);
int sqlite_export_count(struct sqlite_export_cursor *c, int64_t *n, struct gw_err *err);
int sqlite_export_next(struct sqlite_export_cursor *c, struct export_row *r, struct gw_err *err);
void sqlite_export_close(struct sqlite_export_cursor *c);
struct sqlite_report_cursor *sqlite_report_open(struct sqlite_store *st,
						const struct report_query *q, struct gw_err *err);
int sqlite_report_next(struct sqlite_report_cursor *c, struct report_row *r, struct gw_err *err);
void sqlite_report_close(struct sqlite_report_cursor *c);
void sqlite_store_set_event_format(struct sqlite_store *st, event_format_fn fn, void *ctx);
int sqlite_events_due(struct sqlite_store *st, int64_t now, struct evt_item *items, size_t max,
		      size_t *n, struct gw_err *err);
int sqlite_events_record(struct sqlite_store *st, const struct evt_outcome *o, size_t n,
			 struct gw_err *err);
int sqlite_customer_history(struct sqlite_store *st, const char *customer_id, size_t max,
			    struct customer_history *h, struct gw_err *err);
int sqlite_erase_customer(struct sqlite_store *st, const char *customer_id, int64_t now,
			  struct erase_summary *sum, struct gw_err *err);
int sqlite_set_log_limit(struct sqlite_store *st, int64_t bytes, struct gw_err *err);
void sqlite_log_stats(struct sqlite_store *st, struct store_log_stats *out);
int sqlite_wipe_freed(struct sqlite_store *st, int wait_ms, struct gw_err *err);
int sqlite_purge_texts(struct sqlite_store *st, int64_t before, size_t *n, struct gw_err *err);

#endif
