/*
 * sqlite_customers.c - a customer's history, erasing a customer's personal data, and purging old
 * texts (see store.h).
 *
 * Erasure keeps what reports count (scores, kinds, channels, touchpoints, agents, times) and blanks
 * what says who the customer is or what they wrote.  A suppression outlives its number: it is kept
 * as "sha256:<hex>" of the number, and every suppression lookup asks for the number and its hash
 * (phone_hash() in SQL, registered on the write connection at open).
 *
 * Old copies: the write connection runs with secure_delete (sqlite_store_open()), so the bytes a write
 * replaces are zeroed in the database's pages; the page images written before the erasure still
 * sit in the write-ahead log until a checkpoint copies the new ones back and the log is
 * truncated, which sqlite_wipe_freed() does.
 *
 * These statements run rarely (an erasure, an hourly purge), so they are prepared per call rather
 * than kept among the writer's prepared statements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "sqlite_priv.h"
#include "sqlite_store.h"

#define WIPE_ATTEMPT_MS 200     /* longest a checkpoint attempt holds the writer back */
#define WIPE_PAUSE_MS 100       /* writers go on between two attempts */

/* ---- the phone hash -------------------------------------------------------------------- */

/* phone_hash(text) in SQL: store_phone_hash() of its argument; NULL for NULL. */
static void sql_phone_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *p = (const char *)sqlite3_value_text(argv[0]);
	char out[STORE_PHONE_HASH_LEN];

	(void)argc;
	if (!p) {
		sqlite3_result_null(ctx);
		return;
	}
	if (store_phone_hash(p, out) < 0) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

int register_phone_hash(sqlite3 *db)
{
	return sqlite3_create_function(db, "phone_hash", 1,
				       SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
				       sql_phone_hash, NULL, NULL);
}

/* ---- small helpers --------------------------------------------------------------------- */

/* The parameters every erasure statement may use: ?1 the customer's row id, ?2 a phone number,
 * ?3 its hash, ?4 now.  A statement binds the ones it names. */
struct erase_params {
	int64_t customer;
	const char *phone;
	const char *hash;
	int64_t now;
};

static void bind_params(sqlite3_stmt *s, const struct erase_params *p)
{
	int n = sqlite3_bind_parameter_count(s);

	if (n >= 1)
		sqlite3_bind_int64(s, 1, p->customer);
	if (n >= 2)
		bind_str(s, 2, p->phone);
	if (n >= 3)
		bind_str(s, 3, p->hash);
	if (n >= 4)
		sqlite3_bind_int64(s, 4, p->now);
}

/* Runs `sql` on the write connection: rows changed into *changes (may be NULL), or, for a
 * statement that returns a row, its first column into *changes.  0, or -1 with err. */
static int run_sql(struct sqlite_store *st, const char *sql, const struct erase_params *p,
		   const char *what, int64_t *changes, struct gw_err *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);

	if (rc != SQLITE_OK)
		return db_fail(st->db, rc, what, err);
	bind_params(s, p);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && changes)
		*changes = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE && changes)
		*changes = sqlite3_changes(st->db);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st->db, rc, what, err);
	return 0;
}

/* ---- erasure --------------------------------------------------------------------------- */

/* Every number the customer had: theirs now and any their surveys were sent to.  Malloc'd array
 * of malloc'd strings into *out (caller frees both), count into *n. */
static int customer_phones(struct sqlite_store *st, int64_t customer, char ***out, size_t *n,
			   struct gw_err *err)
{
	static const char sql[] =
		"SELECT phone FROM customers WHERE id = ?1 AND phone <> ''"
		" UNION SELECT phone FROM surveys WHERE customer_id = ?1 AND phone <> ''";
	sqlite3_stmt *s = NULL;
	char **v = NULL, **nv;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return db_fail(st->db, rc, "read the customer's numbers", err);
	sqlite3_bind_int64(s, 1, customer);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!(nv = realloc(v, (*n + 1) * sizeof(*v))) || !(nv[*n] = col_dup(s, 0))) {
			v = nv ? nv : v;
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		(*n)++;
	}
	sqlite3_finalize(s);
	*out = v;
	if (rc != SQLITE_DONE)
		return db_fail(st->db, rc, "read the customer's numbers", err);
	return 0;
}

/* A message's texts, number and provider references blanked; an outbound message not yet sent
 * is cancelled (also an `uncertain` one, so resend_uncertain never sends it to nobody, and one
 * being sent, so that its outcome, arriving later, writes nothing back). */
#define SCRUB_MESSAGES                                                                          \
	"UPDATE messages SET body = '', phone = '', error_message = NULL,"                      \
	" provider_message_id = NULL, updated_at = ?4,"                                         \
	" status = CASE WHEN direction = 'out' AND status IN ('queued', 'sending', 'uncertain')"\
	"   THEN 'cancelled' ELSE status END"                                                   \
	" WHERE (body <> '' OR phone <> '' OR error_message IS NOT NULL"                        \
	"   OR provider_message_id IS NOT NULL)"

/* What the customer's own rows (customer, surveys, their messages and responses) hold. */
static int erase_customer_rows(struct sqlite_store *st, const struct erase_params *p,
			       struct erase_summary *sum, struct gw_err *err)
{
	int64_t n = 0;

	/* Cancelled before the numbers go: nothing is ever sent to an erased customer. */
	if (run_sql(st, "UPDATE surveys SET status = 'skipped', reason = 'erased'"
		    " WHERE customer_id = ?1 AND status IN ('queued', 'sending')", p,
		    "cancel surveys", &n,
		    err) < 0)
		return -1;
	sum->cancelled += (size_t)n;
	if (run_sql(st, SCRUB_MESSAGES " AND survey_id IN (SELECT id FROM surveys"
		    " WHERE customer_id = ?1)", p, "erase messages", &n, err) < 0)
		return -1;
	sum->messages += (size_t)n;
	if (run_sql(st, "UPDATE responses SET comment = '', raw_text = ''"
		    " WHERE survey_id IN (SELECT id FROM surveys WHERE customer_id = ?1)"
		    " AND (comment <> '' OR raw_text <> '')", p, "erase responses", &n, err) < 0)
		return -1;
	sum->responses += (size_t)n;
	/* Provider message ids go too: Meta's wamid carries the number, base64-encoded. */
	if (run_sql(st, "UPDATE surveys SET phone = '', name = NULL, timezone = NULL,"
		    " error_message = NULL, provider_message_id = NULL"
		    " WHERE customer_id = ?1 AND (phone <> '' OR name IS NOT NULL"
		    " OR timezone IS NOT NULL OR error_message IS NOT NULL"
		    " OR provider_message_id IS NOT NULL)", p, "erase surveys", &n, err) < 0)
		return -1;
	sum->surveys += (size_t)n;
	return 0;
}

/* What is kept about one of the customer's numbers outside their surveys. */
static int erase_phone(struct sqlite_store *st, const struct erase_params *p,
		       struct erase_summary *sum, struct gw_err *err)
{
	int64_t n = 0;

	/* Texts from or to the number outside any survey (unmatched replies, confirmations). */
	if (run_sql(st, SCRUB_MESSAGES " AND phone = ?2 AND survey_id IS NULL", p,
		    "erase messages", &n, err) < 0)
		return -1;
	sum->messages += (size_t)n;
	/* OR REPLACE: a hash left by an earlier erasure of the same number gives way to the
	 * current state. */
	if (run_sql(st, "UPDATE OR REPLACE suppressions SET phone = ?3 WHERE phone = ?2", p,
		    "hash suppression", &n, err) < 0)
		return -1;
	sum->suppressions += (size_t)n;
	/* A kept 2xx answer to a trigger names the number. */
	if (run_sql(st, "DELETE FROM idempotency WHERE instr(response, ?2) > 0", p,
		    "forget idempotent answers", &n, err) < 0)
		return -1;
	sum->idempotency_keys += (size_t)n;
	n = 0;
	if (run_sql(st, "SELECT opted_out FROM suppressions WHERE phone IN (?2, ?3)"
		    " ORDER BY opted_out DESC LIMIT 1", p, "read suppression", &n, err) < 0)
		return -1;
	sum->opted_out |= n != 0;
	n = 0;
	if (run_sql(st, "SELECT count(*) FROM customers WHERE phone = ?2 AND id <> ?1", p,
		    "count customers", &n, err) < 0)
		return -1;
	sum->phone_shared += (size_t)n;
	return 0;
}

/*
 * Outbound events not yet delivered (or given up and kept) carry the number (opt-outs) or the
 * comment (responses): they go, unsent.  Only when the events table exists: it comes with the
 * outbound events feature.
 */
static int erase_events(struct sqlite_store *st, struct erase_params *p, const char *const *phones,
			size_t n_phones, struct erase_summary *sum, struct gw_err *err)
{
	int64_t n = 0;

	if (run_sql(st, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
		    " AND name = 'events'", p, "look for events", &n, err) < 0)
		return -1;
	if (!n)
		return 0;
	if (run_sql(st, "DELETE FROM events WHERE EXISTS (SELECT 1 FROM surveys s"
		    " WHERE s.customer_id = ?1 AND instr(events.body, s.id) > 0)", p,
		    "erase events", &n, err) < 0)
		return -1;
	sum->events += (size_t)n;
	for (size_t i = 0; i < n_phones; i++) {
		p->phone = phones[i];
		if (run_sql(st, "DELETE FROM events WHERE instr(body, ?2) > 0", p, "erase events",
			    &n, err) < 0)
			return -1;
		sum->events += (size_t)n;
	}
	return 0;
}

struct erase_args {
	const char *customer_id;
	int64_t now;
	struct erase_summary *sum;
	int found;
};

static int erase_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct erase_args *a = arg;
	struct erase_summary *sum = a->sum;
	struct erase_params p = { .now = a->now };
	sqlite3_stmt *s = NULL;
	char **phones = NULL, hash[STORE_PHONE_HASH_LEN];
	size_t n_phones = 0;
	int64_t erased_at = 0, opted = 0;
	int rc = -1, step, had_identity = 0;

	memset(sum, 0, sizeof(*sum));
	a->found = 0;
	step = sqlite3_prepare_v2(st->db, "SELECT id, coalesce(erased_at, 0), opted_out,"
				  " phone <> '' OR name IS NOT NULL OR timezone IS NOT NULL"
				  " FROM customers WHERE ext_id = ?1", -1, &s, NULL);
	if (step != SQLITE_OK)
		return db_fail(st->db, step, "find customer", err);
	bind_str(s, 1, a->customer_id);
	if ((step = sqlite3_step(s)) == SQLITE_ROW) {
		a->found = 1;
		p.customer = sqlite3_column_int64(s, 0);
		erased_at = sqlite3_column_int64(s, 1);
		opted = sqlite3_column_int64(s, 2);
		had_identity = sqlite3_column_int(s, 3);
	}
	sqlite3_finalize(s);
	if (step != SQLITE_ROW)
		return step == SQLITE_DONE ? 0 : db_fail(st->db, step, "find customer", err);

	if (customer_phones(st, p.customer, &phones, &n_phones, err) < 0)
		goto out;
	/* An erased customer's opt-out can no longer be looked up by number: it stays as it was. */
	sum->opted_out = n_phones ? 0 : opted != 0;
	for (size_t i = 0; i < n_phones; i++) {
		if (store_phone_hash(phones[i], hash) < 0) {
			gw_err_set(err, 503, "store_unavailable", "", "out of memory");
			goto out;
		}
		p.phone = phones[i];
		p.hash = hash;
		if (erase_phone(st, &p, sum, err) < 0)
			goto out;
	}
	if (erase_events(st, &p, (const char *const *)phones, n_phones, sum, err) < 0)
		goto out;
	p.phone = p.hash = NULL;
	if (erase_customer_rows(st, &p, sum, err) < 0)
		goto out;
	/* A second erasure with nothing left to erase keeps the first one's time. */
	if (had_identity || !erased_at || sum->surveys || sum->messages || sum->responses ||
	    sum->suppressions || sum->idempotency_keys || sum->events || sum->cancelled)
		erased_at = a->now;
	sum->erased_at = erased_at;
	s = NULL;
	step = sqlite3_prepare_v2(st->db, "UPDATE customers SET phone = '', name = NULL,"
				  " timezone = NULL, opted_out = ?2, erased_at = ?3, updated_at = ?4"
				  " WHERE id = ?1", -1, &s, NULL);
	if (step != SQLITE_OK) {
		db_fail(st->db, step, "erase customer", err);
		goto out;
	}
	sqlite3_bind_int64(s, 1, p.customer);
	sqlite3_bind_int(s, 2, sum->opted_out);
	sqlite3_bind_int64(s, 3, erased_at);
	sqlite3_bind_int64(s, 4, a->now);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step != SQLITE_DONE) {
		db_fail(st->db, step, "erase customer", err);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n_phones; i++)
		free(phones[i]);
	free(phones);
	return rc;
}

int sqlite_erase_customer(struct sqlite_store *st, const char *customer_id, int64_t now,
			  struct erase_summary *sum, struct gw_err *err)
{
	struct erase_args a = { .customer_id = customer_id, .now = now, .sum = sum };

	if (sqlite_run(st, erase_job, &a, err) < 0)
		return -1;
	return a.found ? 0 : 1;
}

/*
 * A checkpoint in TRUNCATE mode copies every page of the log into the database file and empties
 * the log, so the page images from before an erasure are gone from both.  It needs every reader
 * to have left the log and holds the writer lock while it waits, so each attempt waits briefly
 * and writers get their turn between attempts.
 */
int sqlite_wipe_freed(struct sqlite_store *st, int wait_ms, struct gw_err *err)
{
	struct timespec pause = { 0, WIPE_PAUSE_MS * 1000000L };
	sqlite3 *db = NULL;
	int rc, log = 0, done = 0, waited = 0;

	if (open_conn(st->path, SQLITE_OPEN_READWRITE, &db, err) < 0)
		return -1;
	pthread_mutex_lock(&st->ckpt_lock);     /* not while the checkpointer runs one */
	sqlite3_busy_timeout(db, WIPE_ATTEMPT_MS);
	/* A connection finds the log at its first read; before that a checkpoint does nothing. */
	if ((rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL)) !=
	    SQLITE_OK) {
		pthread_mutex_unlock(&st->ckpt_lock);
		db_fail(db, rc, "checkpoint", err);
		sqlite3_close(db);
		return -1;
	}
	for (;;) {
		rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
		if (rc == SQLITE_OK || (rc & 0xff) != SQLITE_BUSY || waited >= wait_ms)
			break;
		nanosleep(&pause, NULL);
		waited += WIPE_ATTEMPT_MS + WIPE_PAUSE_MS;
	}
	pthread_mutex_unlock(&st->ckpt_lock);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_BUSY)
			gw_err_set(err, 503, "store_busy", "",
				   "earlier copies of erased data are still in the database's log: "
				   "long reads kept it busy; retry");
		else
			db_fail(db, rc, "checkpoint", err);
	}
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* ---- history --------------------------------------------------------------------------- */

/* The customer's row; 1 when there is none. */
static int read_customer(sqlite3 *db, const char *customer_id, struct customer_info *c,
			 int64_t *row, struct gw_err *err)
{
	static const char sql[] =
		"SELECT id, ext_id, phone, coalesce(name, ''), locale, coalesce(timezone, ''),"
		" opted_out, created_at, updated_at, coalesce(erased_at, 0),"
		" (SELECT opted_out FROM suppressions WHERE phone IN (c.phone, phone_hash(c.phone))"
		"  ORDER BY opted_out DESC LIMIT 1)"
		" FROM customers c WHERE ext_id = ?1";
	sqlite3_stmt *s = NULL;
	int step = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (step != SQLITE_OK)
		return db_fail(db, step, "read customer", err);
	bind_str(s, 1, customer_id);
	if ((step = sqlite3_step(s)) == SQLITE_ROW) {
		*row = sqlite3_column_int64(s, 0);
		col_copy(s, 1, c->id, sizeof(c->id));
		col_copy(s, 2, c->phone, sizeof(c->phone));
		col_copy(s, 3, c->name, sizeof(c->name));
		col_copy(s, 4, c->locale, sizeof(c->locale));
		col_copy(s, 5, c->timezone, sizeof(c->timezone));
		c->created_at = sqlite3_column_int64(s, 7);
		c->updated_at = sqlite3_column_int64(s, 8);
		c->erased_at = sqlite3_column_int64(s, 9);
		/* A number's suppression is the truth; an erased customer keeps the state they had
		 * when erased (their number can no longer be looked up). */
		c->opted_out = c->phone[0] ? sqlite3_column_int(s, 10) != 0
					   : sqlite3_column_int(s, 6) != 0;
	}
	sqlite3_finalize(s);
	if (step == SQLITE_ROW)
		return 0;
	return step == SQLITE_DONE ? 1 : db_fail(db, step, "read customer", err);
}

static int read_surveys(sqlite3 *db, int64_t row, size_t max, struct customer_history *h,
			struct gw_err *err)
{
	static const char sql[] =
		"SELECT s.id, s.kind, s.channel, s.status, coalesce(s.reason, ''), s.interaction_id,"
		" coalesce(s.touchpoint, ''), coalesce(s.agent, ''), s.created_at,"
		" coalesce(s.sent_at, 0), coalesce(s.delivered_at, 0), coalesce(r.answered_at, 0),"
		" coalesce(s.expires_at, 0), r.score, r.comment"
		" FROM surveys s LEFT JOIN responses r ON r.survey_id = s.id"
		" WHERE s.customer_id = ?1 ORDER BY s.created_at DESC, s.rowid DESC LIMIT ?2";
	sqlite3_stmt *s = NULL;
	int step = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (step != SQLITE_OK)
		return db_fail(db, step, "read surveys", err);
	if (!(h->surveys = calloc(max ? max : 1, sizeof(*h->surveys)))) {
		sqlite3_finalize(s);
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	}
	sqlite3_bind_int64(s, 1, row);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max + 1);       /* one more: are there more? */
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct customer_survey *v = &h->surveys[h->n];

		if (h->n == max) {
			h->more = 1;
			continue;
		}
		col_copy(s, 0, v->id, sizeof(v->id));
		col_copy(s, 1, v->kind, sizeof(v->kind));
		col_copy(s, 2, v->channel, sizeof(v->channel));
		col_copy(s, 3, v->status, sizeof(v->status));
		col_copy(s, 4, v->reason, sizeof(v->reason));
		col_copy(s, 5, v->interaction_id, sizeof(v->interaction_id));
		col_copy(s, 6, v->touchpoint, sizeof(v->touchpoint));
		col_copy(s, 7, v->agent, sizeof(v->agent));
		v->created_at = sqlite3_column_int64(s, 8);
		v->sent_at = sqlite3_column_int64(s, 9);
		v->delivered_at = sqlite3_column_int64(s, 10);
		v->answered_at = sqlite3_column_int64(s, 11);
		v->expires_at = sqlite3_column_int64(s, 12);
		h->n++;
		if (sqlite3_column_type(s, 13) == SQLITE_NULL)
			continue;
		v->has_response = 1;
		v->score = sqlite3_column_int(s, 13);
		if (!(v->comment = col_dup(s, 14))) {
			sqlite3_finalize(s);
			return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		}
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? 0 : db_fail(db, step, "read surveys", err);
}

/* The newest NPS response of the customer (whatever `max` cut from the list). */
static int read_latest_nps(sqlite3 *db, int64_t row, struct customer_history *h,
			   struct gw_err *err)
{
	static const char sql[] =
		"SELECT s.id, r.score, r.answered_at FROM responses r"
		" JOIN surveys s ON s.id = r.survey_id"
		" WHERE s.customer_id = ?1 AND s.kind = 'nps'"
		" ORDER BY r.answered_at DESC, s.created_at DESC, s.rowid DESC LIMIT 1";
	sqlite3_stmt *s = NULL;
	int step = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (step != SQLITE_OK)
		return db_fail(db, step, "read latest score", err);
	sqlite3_bind_int64(s, 1, row);
	if ((step = sqlite3_step(s)) == SQLITE_ROW) {
		h->has_latest_nps = 1;
		col_copy(s, 0, h->latest_nps_survey, sizeof(h->latest_nps_survey));
		h->latest_nps_score = sqlite3_column_int(s, 1);
		h->latest_nps_at = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0
							  : db_fail(db, step, "read latest score", err);
}

int sqlite_customer_history(struct sqlite_store *st, const char *customer_id, size_t max,
			    struct customer_history *h, struct gw_err *err)
{
	struct reader *r = reader_get(st, err);
	sqlite3 *db;
	int64_t row = 0;
	int rc = -1;

	memset(h, 0, sizeof(*h));
	if (!r)
		return -1;
	db = r->db;
	/* One snapshot: the customer, their surveys and their latest score agree. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, sqlite3_errcode(db), "read customer", err);
		goto out;
	}
	if ((rc = read_customer(db, customer_id, &h->customer, &row, err)) != 0)
		goto out;
	if (read_surveys(db, row, max, h, err) < 0 || read_latest_nps(db, row, h, err) < 0) {
		customer_history_release(h);
		rc = -1;
	}
out:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	reader_put(st, r);
	return rc;
}

/* ---- retention ------------------------------------------------------------------------- */

struct purge_args {
	int64_t before;
	int64_t n;
};

static int purge_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct purge_args *a = arg;
	struct erase_params p = { .customer = a->before };     /* ?1: the cutoff */
	int64_t n = 0;

	a->n = 0;
	/* Not a message still to be sent (or resent): it would go out empty. */
	if (run_sql(st, "UPDATE messages SET body = '' WHERE created_at < ?1 AND body <> ''"
		    " AND status NOT IN ('queued', 'sending', 'uncertain')", &p, "purge texts", &n,
		    err) < 0)
		return -1;
	a->n += n;
	if (run_sql(st, "UPDATE responses SET comment = '', raw_text = ''"
		    " WHERE answered_at < ?1 AND (comment <> '' OR raw_text <> '')", &p,
		    "purge comments", &n, err) < 0)
		return -1;
	a->n += n;
	return 0;
}

int sqlite_purge_texts(struct sqlite_store *st, int64_t before, size_t *n, struct gw_err *err)
{
	struct purge_args a = { .before = before };
	int rc = sqlite_run(st, purge_job, &a, err);

	*n = rc == 0 ? (size_t)a.n : 0;
	return rc;
}
