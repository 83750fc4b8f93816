/*
 * pg_store.h - the store on PostgreSQL: opening a database and bringing its schema up to date.
 *
 * The PostgreSQL backend of store/store.h is being built (docs/scaling-out.md says what works);
 * until it implements all of store.h the gateway does not offer it in its configuration.  What
 * is here is whole: a connection with the settings every one of its connections gets, and the
 * schema migrated once however many instances start together.
 */
#ifndef GW_PG_STORE_H
#define GW_PG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gwerr.h"
#include "store.h"

struct pg_store;

/* Connects to `url` (a libpq URL or key=value string), sets the session up and migrates the
 * schema under an advisory lock.  NULL with err set on failure: the message names the server
 * (host or socket folder, port, database) and libpq's reason, never the password. */
struct pg_store *pg_store_open(const char *url, struct gw_err *err);
void pg_store_close(struct pg_store *st);

/* The schema version this gateway writes. */
int pg_store_schema_version(void);

/* The server as messages name it: host:port/database (never the password). */
const char *pg_store_where(const struct pg_store *st);
/* This instance's name in the leases it takes (host:pid:random, unique per process). */
const char *pg_store_instance(const struct pg_store *st);
/* A claim's lease (default 120 s): past it, a message still `sending` becomes `uncertain`. */
void pg_store_set_send_lease(struct pg_store *st, int64_t seconds);

/* ---- surveys (pg_surveys.c) --------------------------------------------------------------- */

/* As store_create_survey(), through the writer's group commit (at most 63 jobs per
 * transaction).  Instances taking the same trigger at once: one creates the survey, the others
 * answer SURVEY_EXISTING with its id and keep nothing of their own. */
int pg_create_survey(struct pg_store *st, const struct survey_new *in, char id_out[SURVEY_ID_LEN],
		     int *outcome, struct gw_err *err);

/* As store_get_survey() (0 found, 1 none, -1 error) and store_find_survey() (1 found, 0
 * none, -1 error), on reading connections kept between calls (pg_reads.c). */
int pg_get_survey(struct pg_store *st, const char *id, struct survey *out, struct gw_err *err);
int pg_find_survey(struct pg_store *st, const char *interaction_id, const char *kind,
		   struct survey *out, struct gw_err *err);

/* ---- Idempotency-Key records, shared by instances (pg_idem.c) ------------------------------ */

/* As store_idem_begin(), store_idem_finish() and store_idem_purge(), through the writer.  Two
 * instances claiming one key at once: one gets IDEM_NEW, the other the record as it is then. */
int pg_idem_begin(struct pg_store *st, const char *key, const char *body_sha256, int64_t now,
		  int64_t stale_s, enum idem_state *state, int *status, char **response,
		  struct gw_err *err);
int pg_idem_finish(struct pg_store *st, const char *key, int status, const char *response,
		   struct gw_err *err);
int pg_idem_purge(struct pg_store *st, int64_t before, size_t *n, struct gw_err *err);

/* ---- the outbox, shared by instances (pg_outbox.c) ---------------------------------------- */

/* As store_claim_due(): up to `max` due messages of `provider`, oldest first, claimed by this
 * instance in one statement (rows other instances are claiming are skipped, never taken twice)
 * and committed before it returns. */
int pg_claim_due(struct pg_store *st, int64_t now, const char *provider, struct outbox_item *items,
		 size_t max, size_t *n, struct gw_err *err);
/* As store_send_accepted(), fenced: recorded only when this instance holds the claim and the
 * message is `sending` (or `uncertain`, its lease expired: the outcome is known after all). */
int pg_send_accepted(struct pg_store *st, int64_t message_id, const char *provider_message_id,
		     int64_t now, struct gw_err *err);
/* As store_expire_leases(): messages `sending` past their lease, whoever claimed them, become
 * `uncertain` with their surveys; *n how many. */
int pg_expire_leases(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err);
/* Provider pacing shared by every instance: takes up to `want` whole tokens from the
 * provider's bucket (refilled at rate_per_s up to `burst`, by the database's clock) in one
 * statement; *granted how many. */
int pg_pace_take(struct pg_store *st, const char *provider, double rate_per_s, double burst,
		 size_t want, size_t *granted, struct gw_err *err);

/*
 * ---- the rest of store.h -------------------------------------------------------------------
 * Each pg_X() below behaves as store_X() in store.h, on PostgreSQL, for several instances
 * sharing the database; what differs is said beside it.  Writes run as jobs of the writer's
 * group commit (pg_run(), pg_submit()); reads on reading connections (pg_reader_get()).
 */

/* pg_surveys.c */
int pg_create_survey_async(struct pg_store *st, const struct survey_new *in,
			   char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err,
			   void (*done)(void *ctx, int rc), void *ctx);
int pg_check_writable(struct pg_store *st, struct gw_err *err);

/* pg_store.c: after an erasure, the old row versions are removed from the tables (VACUUM of
 * every table that holds personal data); the server's write-ahead log and the free space of
 * its pages are the server's, out of the gateway's reach (docs/scaling-out.md). */
int pg_wipe_freed(struct pg_store *st, int wait_ms, struct gw_err *err);
/* As store_server_stats(): 1 with *out filled from pg_stat_user_tables and pg_stat_activity. */
int pg_server_stats(struct pg_store *st, struct store_server_stats *out, struct gw_err *err);

/* pg_sends.c: outcomes fenced like pg_send_accepted(); the sweepers (expire_due,
 * expire_leases) run on one instance at a time (pg_try_advisory_xact_lock: another instance
 * sweeping answers 0 with *n = 0). */
int pg_send_retry(struct pg_store *st, int64_t message_id, int64_t next_at, const char *code,
		  const char *message, struct gw_err *err);
int pg_send_needs_template(struct pg_store *st, int64_t message_id, int64_t now,
			   const char *code, const char *message, struct gw_err *err);
int pg_send_failed(struct pg_store *st, int64_t message_id, const char *code, const char *message,
		   int64_t now, struct gw_err *err);
int pg_record_sends(struct pg_store *st, struct send_record *recs, size_t n, struct gw_err *err);
int pg_expire_due(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err);
int pg_list_surveys(struct pg_store *st, const char *status, size_t max,
		    char (*ids)[SURVEY_ID_LEN], size_t *n, struct gw_err *err);
int pg_requeue_uncertain(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err);
/* At start-up, with other instances possibly sending: only messages whose lease has ended
 * become uncertain (a crashed instance's claims end with their leases). */
int pg_mark_uncertain(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err);
int pg_outbox_depth(struct pg_store *st, struct store_outbox_depth *out, struct gw_err *err);
/* WhatsApp spacing per recipient, across instances (the claim skips a number another
 * instance sent to less than `seconds` ago or is sending to). */
void pg_store_set_pair_interval(struct pg_store *st, int64_t seconds);

/* pg_inbound.c */
int pg_suppress_phone(struct pg_store *st, const char *phone, const char *provider, int64_t now,
		      struct gw_err *err);
int pg_record_inbound(struct pg_store *st, const struct inbound_in *in, inbound_decide_fn decide,
		      void *ctx, struct inbound_result *res, struct gw_err *err);
int pg_record_status(struct pg_store *st, const char *provider, const char *provider_message_id,
		     const char *status, const char *code, const char *message, int64_t now,
		     int *found, struct gw_err *err);
int pg_record_events(struct pg_store *st, struct store_event *evs, size_t n, struct gw_err *err);
int pg_record_events_async(struct pg_store *st, struct store_event *evs, size_t n,
			   struct gw_err *err, void (*done)(void *ctx, int rc), void *ctx);

/* pg_events.c: events are claimed like the outbox, so that each is delivered by one instance:
 * pg_events_due() leases what it returns to this instance (a lease that ends makes the event
 * due again: at least once), pg_events_record() is fenced by that lease. */
void pg_store_set_event_format(struct pg_store *st, event_format_fn fn, void *ctx);
int pg_events_due(struct pg_store *st, int64_t now, struct evt_item *items, size_t max,
		  size_t *n, struct gw_err *err);
int pg_events_record(struct pg_store *st, const struct evt_outcome *o, size_t n,
		     struct gw_err *err);

/* pg_export.c: cursors read one REPEATABLE READ snapshot on a reading connection of their
 * own; pg_export_open_many() shares it between its cursors (pg_export_snapshot()). */
struct pg_export_cursor;
struct pg_export_cursor *pg_export_open(struct pg_store *st, const struct export_filter *f,
					struct gw_err *err);
int pg_export_open_many(struct pg_store *st, const struct export_filter *f,
			struct pg_export_cursor **cur, size_t *n, struct gw_err *err);
int pg_export_bounds(struct pg_export_cursor *c, size_t step, int64_t **bounds, size_t *n,
		     struct gw_err *err);
int pg_export_range(struct pg_export_cursor *c, int64_t from, int64_t to, struct gw_err *err);
int pg_export_count(struct pg_export_cursor *c, int64_t *n, struct gw_err *err);
int pg_export_next(struct pg_export_cursor *c, struct export_row *r, struct gw_err *err);
void pg_export_close(struct pg_export_cursor *c);

struct pg_report_cursor;
struct pg_report_cursor *pg_report_open(struct pg_store *st, const struct report_query *q,
					struct gw_err *err);
int pg_report_next(struct pg_report_cursor *c, struct report_row *r, struct gw_err *err);
void pg_report_close(struct pg_report_cursor *c);

/* pg_customers.c: pg_purge_texts() sweeps on one instance at a time, as above. */
int pg_customer_history(struct pg_store *st, const char *customer_id, size_t max,
			struct customer_history *h, struct gw_err *err);
int pg_erase_customer(struct pg_store *st, const char *customer_id, int64_t now,
		      struct erase_summary *sum, struct gw_err *err);
int pg_purge_texts(struct pg_store *st, int64_t before, size_t *n, struct gw_err *err);

/* ---- gateway migrate-store (pg_copy.c) ------------------------------------------------------ */

typedef void (*pg_copy_report_fn)(void *ctx, const char *table, long long rows,
				  const char *sha256_hex);

/* Copies every row of the SQLite database at sqlite_path (at this gateway's schema version;
 * read from one snapshot, so a running gateway may keep writing to it) into the PostgreSQL
 * database at url, which is migrated first and must hold no surveys, messages or other rows.
 * One transaction: each table's rows and SHA-256 as PostgreSQL holds them are checked against
 * what was read before it commits, and `report` is told of each table.  0, or -1 with err set
 * and nothing kept. */
int pg_copy_from_sqlite(const char *sqlite_path, const char *url, pg_copy_report_fn report,
			void *ctx, struct gw_err *err);

#endif
