/*
 * pg_customers.c - a customer's history, erasing a customer's personal data, and purging old
 * texts, on PostgreSQL (see pg_store.h and store.h, section "customers").
 *
 * The same statements and the same counts as the SQLite store's store_customers.c.  What
 * several instances sharing the database add:
 *  - an erasure locks the customer's surveys' rows and their own row first (SELECT ... FOR
 *    UPDATE), so that a trigger, an answer or an opt-out for them being written by another
 *    instance either commits before the erasure reads anything (and is erased with the rest)
 *    or waits for the erasure to commit (and is then a new fact, kept);
 *  - the retention purge is a sweeper: one instance at a time runs it, under an advisory lock
 *    taken in its transaction (pg_try_advisory_xact_lock); another instance finding it taken
 *    answers 0 with nothing purged.
 * A suppression outlives its number as store_phone_hash() of it, computed here in C for the
 * erasure and in SQL (sha256() of the number's UTF-8 bytes, the same digest) for the history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"


/* store_phone_hash() of a text column, in SQL. */
#define PHONE_HASH_SQL(col) "'sha256:' || encode(sha256(convert_to(" col ", 'UTF8')), 'hex')"

/* ---- small helpers --------------------------------------------------------------------- */

/* Runs `sql` in the writer's job: rows changed into *n (may be NULL), or, for a statement that
 * returns rows, the first column of the first one (0 without a row).  0, or -1 with err. */
static int wcount(struct pg_store *st, const char *sql, int nv, const char *const *vals,
		  const char *what, int64_t *n, struct gw_err *err)
{
	PGresult *r = pg_wrun(st, sql, nv, vals, what, err);

	if (!r)
		return -1;
	if (n && PQresultStatus(r) == PGRES_TUPLES_OK)
		*n = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	else if (n)
		*n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

/* Column `col` of row `row` into dst (n bytes), cut to fit; NULL as "". */
static void get_copy(const PGresult *r, int row, int col, char *dst, size_t n)
{
	size_t len = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);

	if (len >= n)
		len = n - 1;
	memcpy(dst, PQgetvalue(r, row, col), len);
	dst[len] = '\0';
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int oom(struct gw_err *err)
{
	return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
}

/* ---- erasure --------------------------------------------------------------------------- */

/* A message's texts, number and provider references blanked ($1: now); an outbound message
 * not yet sent is cancelled (also an `uncertain` one, so that a requeue never sends it to
 * nobody, and one being sent, so that its outcome, arriving later, writes nothing back). */
#define SCRUB_MESSAGES                                                                           \
	"UPDATE messages SET body = '', phone = '', error_message = NULL,"                       \
	" provider_message_id = NULL, updated_at = $1,"                                          \
	" status = CASE WHEN direction = 'out' AND status IN ('queued', 'sending', 'uncertain')" \
	"   THEN 'cancelled' ELSE status END"                                                    \
	" WHERE (body <> '' OR phone <> '' OR error_message IS NOT NULL"                         \
	"   OR provider_message_id IS NOT NULL)"

struct erase_args {
	const char *customer_id;
	int64_t now;
	struct erase_summary *sum;
	int found;
	char row[24]; /* the customer's id (row), as text */
	char now_s[24];
	PGresult *phones; /* every number the customer had */
};

/* What is kept about the number `phone` outside the customer's surveys. */
static int erase_phone(struct pg_store *st, struct erase_args *a, const char *phone,
		       struct gw_err *err)
{
	struct erase_summary *sum = a->sum;
	char hash[STORE_PHONE_HASH_LEN];
	int64_t n = 0;

	if (store_phone_hash(phone, hash) < 0)
		return oom(err);
	/* Texts from or to the number outside any survey (unmatched replies, confirmations). */
	if (wcount(st, SCRUB_MESSAGES " AND phone = $2 AND survey_id IS NULL", 2,
		   (const char *const[]){ a->now_s, phone }, "erase messages", &n, err) < 0)
		return -1;
	sum->messages += (size_t)n;
	/* A hash left by an earlier erasure of the same number gives way to the current state
	 * (SQLite's UPDATE OR REPLACE; the replaced row is not counted there either). */
	if (wcount(st,
		   "DELETE FROM suppressions WHERE phone = $2"
		   " AND EXISTS (SELECT 1 FROM suppressions WHERE phone = $1)",
		   2, (const char *const[]){ phone, hash }, "hash suppression", NULL, err) < 0 ||
	    wcount(st, "UPDATE suppressions SET phone = $2 WHERE phone = $1", 2,
		   (const char *const[]){ phone, hash }, "hash suppression", &n, err) < 0)
		return -1;
	sum->suppressions += (size_t)n;
	/* A kept 2xx answer to a trigger names the number. */
	if (wcount(st, "DELETE FROM idempotency WHERE strpos(response, $1) > 0", 1,
		   (const char *const[]){ phone }, "forget idempotent answers", &n, err) < 0)
		return -1;
	sum->idempotency_keys += (size_t)n;
	n = 0;
	if (wcount(st,
		   "SELECT opted_out FROM suppressions WHERE phone IN ($1, $2)"
		   " ORDER BY opted_out DESC LIMIT 1",
		   2, (const char *const[]){ phone, hash }, "read suppression", &n, err) < 0)
		return -1;
	sum->opted_out |= n != 0;
	if (wcount(st, "SELECT count(*) FROM customers WHERE phone = $1 AND id <> $2", 2,
		   (const char *const[]){ phone, a->row }, "count customers", &n, err) < 0)
		return -1;
	sum->phone_shared += (size_t)n;
	return 0;
}

/* Outbound events not yet delivered (or given up and kept) carry the number (opt-outs) or the
 * comment (responses): they go, unsent. */
static int erase_events(struct pg_store *st, struct erase_args *a, struct gw_err *err)
{
	int64_t n = 0;

	if (wcount(st,
		   "DELETE FROM events WHERE EXISTS (SELECT 1 FROM surveys s"
		   " WHERE s.customer_id = $1 AND strpos(events.body, s.id) > 0)",
		   1, (const char *const[]){ a->row }, "erase events", &n, err) < 0)
		return -1;
	a->sum->events += (size_t)n;
	for (int i = 0; i < PQntuples(a->phones); i++) {
		if (wcount(st, "DELETE FROM events WHERE strpos(body, $1) > 0", 1,
			   (const char *const[]){ PQgetvalue(a->phones, i, 0) }, "erase events", &n,
			   err) < 0)
			return -1;
		a->sum->events += (size_t)n;
	}
	return 0;
}

/* What the customer's own rows (surveys, their messages and responses) hold. */
static int erase_customer_rows(struct pg_store *st, struct erase_args *a, struct gw_err *err)
{
	struct erase_summary *sum = a->sum;
	const char *const row[] = { a->row };
	const char *const now_row[] = { a->now_s, a->row };
	int64_t n = 0;

	/* Cancelled before the numbers go: nothing is ever sent to an erased customer. */
	if (wcount(st,
		   "UPDATE surveys SET status = 'skipped', reason = 'erased'"
		   " WHERE customer_id = $1 AND status IN ('queued', 'sending')",
		   1, row, "cancel surveys", &n, err) < 0)
		return -1;
	sum->cancelled += (size_t)n;
	if (wcount(st,
		   SCRUB_MESSAGES
		   " AND survey_id IN (SELECT id FROM surveys WHERE customer_id = $2)",
		   2, now_row, "erase messages", &n, err) < 0)
		return -1;
	sum->messages += (size_t)n;
	if (wcount(st,
		   "UPDATE responses SET comment = '', raw_text = ''"
		   " WHERE survey_id IN (SELECT id FROM surveys WHERE customer_id = $1)"
		   " AND (comment <> '' OR raw_text <> '')",
		   1, row, "erase responses", &n, err) < 0)
		return -1;
	sum->responses += (size_t)n;
	/* Provider message ids go too: Meta's wamid carries the number, base64-encoded. */
	if (wcount(st,
		   "UPDATE surveys SET phone = '', name = NULL, timezone = NULL,"
		   " error_message = NULL, provider_message_id = NULL"
		   " WHERE customer_id = $1 AND (phone <> '' OR name IS NOT NULL"
		   " OR timezone IS NOT NULL OR error_message IS NOT NULL"
		   " OR provider_message_id IS NOT NULL)",
		   1, row, "erase surveys", &n, err) < 0)
		return -1;
	sum->surveys += (size_t)n;
	return 0;
}

/*
 * The customer's surveys' rows and then their own row, locked until the group commits: an
 * instance writing a survey, an answer or an opt-out for them commits first or waits for this
 * erasure.  Surveys first, as an opt-out (pg_suppress_tx()) takes them before the customers:
 * the other order would deadlock with it.  1 found (a->row set, *erased_at, *opted and
 * *had_identity read), 0 none, -1 error.
 */
static int lock_customer(struct pg_store *st, struct erase_args *a, int64_t *erased_at, int *opted,
			 int *had_identity, struct gw_err *err)
{
	const char *const id[] = { a->customer_id };
	PGresult *r = pg_wrun(st,
			      "SELECT s.id FROM surveys s JOIN customers c ON c.id = s.customer_id"
			      " WHERE c.ext_id = $1 FOR UPDATE OF s",
			      1, id, "lock surveys", err);

	if (!r)
		return -1;
	PQclear(r);
	if (!(r = pg_wrun(st,
			  "SELECT id, coalesce(erased_at, 0), opted_out,"
			  " phone <> '' OR name IS NOT NULL OR timezone IS NOT NULL"
			  " FROM customers WHERE ext_id = $1 FOR UPDATE",
			  1, id, "find customer", err)))
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	get_copy(r, 0, 0, a->row, sizeof(a->row));
	*erased_at = get_i64(r, 0, 1);
	*opted = get_i64(r, 0, 2) != 0;
	*had_identity = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
	PQclear(r);
	return 1;
}

static int erase_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct erase_args *a = arg;
	struct erase_summary *sum = a->sum;
	char opted_s[24], erased_s[24];
	int64_t erased_at = 0;
	int rc, opted = 0, had_identity = 0;

	memset(sum, 0, sizeof(*sum));
	a->found = 0;
	I64(a->now_s, a->now);
	if ((rc = lock_customer(st, a, &erased_at, &opted, &had_identity, err)) <= 0)
		return rc;
	a->found = 1;
	if (!(a->phones = pg_wrun(st,
				  "SELECT phone FROM customers WHERE id = $1 AND phone <> ''"
				  " UNION SELECT phone FROM surveys WHERE customer_id = $1"
				  " AND phone <> ''",
				  1, (const char *const[]){ a->row }, "read the customer's numbers",
				  err)))
		return -1;
	rc = -1;
	/* An erased customer's opt-out can no longer be looked up by number: it stays as it was. */
	sum->opted_out = PQntuples(a->phones) ? 0 : opted;
	for (int i = 0; i < PQntuples(a->phones); i++)
		if (erase_phone(st, a, PQgetvalue(a->phones, i, 0), err) < 0)
			goto out;
	if (erase_events(st, a, err) < 0 || erase_customer_rows(st, a, err) < 0)
		goto out;
	/* A second erasure with nothing left to erase keeps the first one's time. */
	if (had_identity || !erased_at || sum->surveys || sum->messages || sum->responses ||
	    sum->suppressions || sum->idempotency_keys || sum->events || sum->cancelled)
		erased_at = a->now;
	sum->erased_at = erased_at;
	if (wcount(st,
		   "UPDATE customers SET phone = '', name = NULL, timezone = NULL, opted_out = $2,"
		   " erased_at = $3, updated_at = $4 WHERE id = $1",
		   4,
		   (const char *const[]){ a->row, I64(opted_s, sum->opted_out),
					  I64(erased_s, erased_at), a->now_s },
		   "erase customer", NULL, err) < 0)
		goto out;
	rc = 0;
out:
	PQclear(a->phones);
	a->phones = NULL;
	return rc;
}

int pg_erase_customer(struct pg_store *st, const char *customer_id, int64_t now,
		      struct erase_summary *sum, struct gw_err *err)
{
	struct erase_args a = { .customer_id = customer_id, .now = now, .sum = sum };

	if (pg_run(st, erase_job, &a, err) < 0)
		return -1;
	return a.found ? 0 : 1;
}

/* ---- history --------------------------------------------------------------------------- */

/* The customer's row; 1 when there is none. */
static int read_customer(struct pg_store *st, PGconn *c, const char *customer_id,
			 struct customer_info *ci, char *row, size_t rown, struct gw_err *err)
{
	static const char sql[] =
		"SELECT id, ext_id, phone, coalesce(name, ''), locale, coalesce(timezone, ''),"
		" opted_out, created_at, updated_at, coalesce(erased_at, 0),"
		" coalesce((SELECT opted_out FROM suppressions"
		"  WHERE phone IN (c.phone, " PHONE_HASH_SQL(
			"c.phone") ")"
				   "  ORDER BY opted_out DESC LIMIT 1), 0)"
				   " FROM customers c WHERE ext_id = $1";
	PGresult *r = pg_params(c, st->where, sql, 1, (const char *const[]){ customer_id },
				"read customer", err);

	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1;
	}
	get_copy(r, 0, 0, row, rown);
	get_copy(r, 0, 1, ci->id, sizeof(ci->id));
	get_copy(r, 0, 2, ci->phone, sizeof(ci->phone));
	get_copy(r, 0, 3, ci->name, sizeof(ci->name));
	get_copy(r, 0, 4, ci->locale, sizeof(ci->locale));
	get_copy(r, 0, 5, ci->timezone, sizeof(ci->timezone));
	ci->created_at = get_i64(r, 0, 7);
	ci->updated_at = get_i64(r, 0, 8);
	ci->erased_at = get_i64(r, 0, 9);
	/* A number's suppression is the truth; an erased customer keeps the state they had when
	 * erased (their number can no longer be looked up). */
	ci->opted_out = ci->phone[0] ? get_i64(r, 0, 10) != 0 : get_i64(r, 0, 6) != 0;
	PQclear(r);
	return 0;
}

/* Survey i of the result (read_surveys()'s columns) into *v. */
static int survey_from_row(const PGresult *r, int i, struct customer_survey *v, struct gw_err *err)
{
	get_copy(r, i, 0, v->id, sizeof(v->id));
	get_copy(r, i, 1, v->kind, sizeof(v->kind));
	get_copy(r, i, 2, v->channel, sizeof(v->channel));
	get_copy(r, i, 3, v->status, sizeof(v->status));
	get_copy(r, i, 4, v->reason, sizeof(v->reason));
	get_copy(r, i, 5, v->interaction_id, sizeof(v->interaction_id));
	get_copy(r, i, 6, v->touchpoint, sizeof(v->touchpoint));
	get_copy(r, i, 7, v->agent, sizeof(v->agent));
	v->created_at = get_i64(r, i, 8);
	v->sent_at = get_i64(r, i, 9);
	v->delivered_at = get_i64(r, i, 10);
	v->answered_at = get_i64(r, i, 11);
	v->expires_at = get_i64(r, i, 12);
	if (PQgetisnull(r, i, 13))
		return 0;
	v->has_response = 1;
	v->score = (int)get_i64(r, i, 13);
	if (!(v->comment = strndup(PQgetvalue(r, i, 14), (size_t)PQgetlength(r, i, 14))))
		return oom(err);
	return 0;
}

/* Up to `max` of the customer's surveys, newest first (ties: the greater id first, PostgreSQL
 * having no insertion order to fall back on); h->more when there are more. */
static int read_surveys(struct pg_store *st, PGconn *c, const char *row, size_t max,
			struct customer_history *h, struct gw_err *err)
{
	static const char sql[] =
		"SELECT s.id, s.kind, s.channel, s.status, coalesce(s.reason, ''), s.interaction_id,"
		" coalesce(s.touchpoint, ''), coalesce(s.agent, ''), s.created_at,"
		" coalesce(s.sent_at, 0), coalesce(s.delivered_at, 0), coalesce(r.answered_at, 0),"
		" coalesce(s.expires_at, 0), r.score, r.comment"
		" FROM surveys s LEFT JOIN responses r ON r.survey_id = s.id"
		" WHERE s.customer_id = $1 ORDER BY s.created_at DESC, s.seq DESC LIMIT $2";
	char limit[24];
	PGresult *r;
	int rows, rc = 0;

	/* one more than asked: are there more? */
	if (!(r = pg_params(c, st->where, sql, 2,
			    (const char *const[]){ row, I64(limit, max < (size_t)INT64_MAX ?
									   (int64_t)max + 1 :
									   INT64_MAX) },
			    "read surveys", err)))
		return -1;
	/* as many as came back, not as many as asked for */
	rows = PQntuples(r);
	if (!(h->surveys = calloc(rows ? (size_t)rows : 1, sizeof(*h->surveys)))) {
		PQclear(r);
		return oom(err);
	}
	for (int i = 0; i < rows && rc == 0; i++) {
		if (h->n == max) {
			h->more = 1;
			break;
		}
		rc = survey_from_row(r, i, &h->surveys[h->n], err);
		h->n++;
	}
	PQclear(r);
	return rc;
}

/* The newest NPS response of the customer (whatever `max` cut from the list). */
static int read_latest_nps(struct pg_store *st, PGconn *c, const char *row,
			   struct customer_history *h, struct gw_err *err)
{
	static const char sql[] =
		"SELECT s.id, r.score, r.answered_at FROM responses r"
		" JOIN surveys s ON s.id = r.survey_id"
		" WHERE s.customer_id = $1 AND s.kind = 'nps'"
		" ORDER BY r.answered_at DESC, s.created_at DESC, s.seq DESC LIMIT 1";
	PGresult *r = pg_params(c, st->where, sql, 1, (const char *const[]){ row },
				"read latest score", err);

	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		h->has_latest_nps = 1;
		get_copy(r, 0, 0, h->latest_nps_survey, sizeof(h->latest_nps_survey));
		h->latest_nps_score = (int)get_i64(r, 0, 1);
		h->latest_nps_at = get_i64(r, 0, 2);
	}
	PQclear(r);
	return 0;
}

int pg_customer_history(struct pg_store *st, const char *customer_id, size_t max,
			struct customer_history *h, struct gw_err *err)
{
	PGconn *c;
	char row[24];
	int rc = -1;

	memset(h, 0, sizeof(*h));
	if (!(c = pg_reader_get(st, err)))
		return -1;
	/* One snapshot: the customer, their surveys and their latest score agree. */
	if (pg_exec(c, st->where, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		    "read customer", NULL, err) < 0)
		goto out;
	if ((rc = read_customer(st, c, customer_id, &h->customer, row, sizeof(row), err)) != 0)
		goto out;
	if (read_surveys(st, c, row, max, h, err) < 0 || read_latest_nps(st, c, row, h, err) < 0) {
		customer_history_release(h);
		rc = -1;
	}
out:
	/* Nothing was written: a failed end only costs the connection (not kept when not idle). */
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		pg_exec(c, st->where, "ROLLBACK", "end read", NULL, NULL);
	pg_reader_put(st, c);
	return rc;
}

/* ---- retention ------------------------------------------------------------------------- */

struct purge_args {
	int64_t before;
	int64_t n;
};

static int purge_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct purge_args *a = arg;
	char before[24], key[24], got[8] = "";
	const char *const cutoff[] = { I64(before, a->before) };
	int64_t n = 0;

	a->n = 0;
	/* Held until the group commits: another instance's purge meanwhile does nothing. */
	if (pg_wrun_one(st, "SELECT pg_try_advisory_xact_lock($1)", 1,
			(const char *const[]){ I64(key, PG_PURGE_LOCK) }, "take the purge lock",
			got, sizeof(got), err) < 0)
		return -1;
	if (strcmp(got, "t") != 0)
		return 0;
	/* Not a message still to be sent (or resent): it would go out empty. */
	if (wcount(st,
		   "UPDATE messages SET body = '' WHERE created_at < $1 AND body <> ''"
		   " AND status NOT IN ('queued', 'sending', 'uncertain')",
		   1, cutoff, "purge texts", &n, err) < 0)
		return -1;
	a->n += n;
	if (wcount(st,
		   "UPDATE responses SET comment = '', raw_text = ''"
		   " WHERE answered_at < $1 AND (comment <> '' OR raw_text <> '')",
		   1, cutoff, "purge comments", &n, err) < 0)
		return -1;
	a->n += n;
	return 0;
}

int pg_purge_texts(struct pg_store *st, int64_t before, size_t *n, struct gw_err *err)
{
	struct purge_args a = { .before = before };
	int rc = pg_run(st, purge_job, &a, err);

	*n = rc == 0 ? (size_t)a.n : 0;
	return rc;
}
