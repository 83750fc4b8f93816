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
