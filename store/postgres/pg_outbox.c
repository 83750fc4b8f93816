/*
 * pg_outbox.c - the outbox on PostgreSQL, shared by several instances (see pg_store.h).
 *
 * A claim is one statement: the due messages are picked with FOR UPDATE SKIP LOCKED (rows
 * another instance is claiming at that moment are passed over, never waited for or taken
 * twice), moved to `sending` with this instance's name and a lease, and returned with what the
 * send needs; it commits before any provider is called.  With WhatsApp pair spacing on, the
 * claim is a transaction of two statements instead: the recipients' advisory locks first, then
 * the claim, whose snapshot is taken once they are held (claim_sql says why that suffices).
 * An outcome (pg_sends.c) is recorded only by the instance that claimed the message
 * (`claimed_by`), while it is `sending` or, once its lease ran out, `uncertain`: the outcome
 * is known after all.  A message queued again (an operator's resend of uncertain ones) and
 * claimed by another instance is never touched by a late answer to the first claim.  The
 * lease sweeper runs on one instance at a time (an advisory lock tried, never waited for).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"

/* A queued WhatsApp message m whose number this provider is sending to, or sent to less than
 * $4 seconds before $1 (Meta's pair rate limit; store_set_pair_interval()). */
#define PAIR_SPACED                                                                            \
	"EXISTS (SELECT 1 FROM messages o WHERE o.phone = m.phone AND o.provider = m.provider" \
	"  AND o.direction = 'out' AND o.channel = 'whatsapp' AND o.id <> m.id"                \
	"  AND (o.status = 'sending' OR (o.status IN ('sent', 'delivered', 'read')"            \
	"   AND o.sent_at > $1 - $4)))"
/* A WhatsApp number's lock: two keys (never met by the one-key locks of migrations and
 * sweepers), "gwpa" and the hash of provider and number. */
#define PAIR_LOCK_NS PG_PAIR_LOCK
#define PAIR_KEY "hashtext(m.provider || ' ' || m.phone)"

/*
 * Pair spacing across instances, first statement of the claim's transaction: the numbers of
 * the oldest due WhatsApp messages (a window of 4 * $2 of them), each locked for this
 * transaction unless another instance holds it (pg_try_advisory_xact_lock: never waited for,
 * so never a deadlock), oldest first and at most $2 locks, so that instances claiming at once
 * share the numbers out instead of all stopping at the first ones.  The keys it got are
 * returned.  $1 now, $2 max, $3 provider, $4 the interval.
 */
static const char pair_lock_sql[] =
	"WITH c AS MATERIALIZED ("
	"  SELECT m.id, m.next_attempt_at, " PAIR_KEY " AS k FROM messages m"
	"  WHERE m.status = 'queued' AND m.next_attempt_at <= $1 AND m.provider = $3"
	"   AND m.channel = 'whatsapp' AND NOT " PAIR_SPACED
	"  ORDER BY m.next_attempt_at, m.id LIMIT 4 * $2::bigint),"
	" k AS MATERIALIZED ("
	"  SELECT k FROM c GROUP BY k ORDER BY min(next_attempt_at), min(id))"
	" SELECT k FROM k WHERE pg_try_advisory_xact_lock(" PAIR_LOCK_NS ", k) LIMIT $2::bigint";

/*
 * The claim: $1 now, $2 max, $3 provider, $4 the pair interval (0: off), $5 the lease, $6 this
 * instance, $7 the keys of the WhatsApp numbers this transaction holds locked ("{}" when off).
 * With the interval on, a WhatsApp message is taken only when its number is locked here and
 * (read by this statement's snapshot, taken after the lock) nobody is sending to it nor sent to
 * it within the interval, and only the oldest per number: another instance's claim of that
 * number either committed before the lock was ours (and is seen) or waits for our commit
 * (its lock refused, the number skipped).
 */
static const char claim_sql[] =
	"WITH c AS MATERIALIZED ("
	"  SELECT m.id, m.phone, m.channel, m.next_attempt_at FROM messages m"
	"  WHERE m.status = 'queued' AND m.next_attempt_at <= $1 AND m.provider = $3"
	"   AND NOT ($4::bigint > 0 AND m.channel = 'whatsapp'"
	"    AND (" PAIR_KEY " <> ALL ($7::int[]) OR " PAIR_SPACED "))"
	"  ORDER BY m.next_attempt_at, m.id LIMIT $2 FOR UPDATE OF m SKIP LOCKED),"
	" p AS ("
	"  SELECT id FROM (SELECT id, $4::bigint > 0 AND channel = 'whatsapp' AS paced,"
	"   row_number() OVER (PARTITION BY $4::bigint > 0 AND channel = 'whatsapp',"
	"    CASE WHEN $4::bigint > 0 AND channel = 'whatsapp' THEN phone END"
	"    ORDER BY next_attempt_at, id) AS nth FROM c) x"
	"  WHERE NOT paced OR nth = 1),"
	" u AS ("
	"  UPDATE messages m SET status = 'sending', attempts = m.attempts + 1, updated_at = $1,"
	"   lease_until = $1 + $5, claimed_by = $6"
	"  FROM p WHERE m.id = p.id"
	"  RETURNING m.id, m.survey_id, m.provider, m.channel, m.purpose, m.phone, m.body,"
	"   m.attempts, m.needs_template, m.next_attempt_at),"
	" s AS ("
	"  UPDATE surveys v SET status = 'sending', attempts = u.attempts FROM u"
	"  WHERE v.id = u.survey_id AND u.purpose = 'survey' AND v.status IN ('queued', 'sending'))"
	" SELECT u.id, coalesce(u.survey_id, ''), u.provider, coalesce(u.channel, ''), u.purpose,"
	"  u.phone, u.body, u.attempts, coalesce(v.kind, ''), coalesce(v.locale, ''),"
	"  coalesce(v.name, ''), u.needs_template,"
	"  coalesce((SELECT max(i.created_at) FROM messages i WHERE i.phone = u.phone"
	"   AND i.provider = u.provider AND i.direction = 'in'), 0)"
	" FROM u LEFT JOIN surveys v ON v.id = u.survey_id"
	" ORDER BY u.next_attempt_at, u.id";

/* The lock keys of r's first column as an array's text, "{k1,k2}", into *out (malloc'd). */
static int keys_array(PGresult *r, char **out, struct gw_err *err)
{
	size_t cap = 3 + (size_t)PQntuples(r) * 13, len = 1;
	char *a = malloc(cap);

	if (!a)
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	a[0] = '{';
	for (int i = 0; i < PQntuples(r); i++) {
		long k = strtol(PQgetvalue(r, i, 0), NULL, 10); /* an int4: at most 11 chars */

		len += (size_t)snprintf(a + len, cap - len, "%s%ld", i ? "," : "", k);
	}
	snprintf(a + len, cap - len, "}");
	*out = a;
	return 0;
}

/*
 * The claim on the shared connection, held for the whole transaction: without pair spacing one
 * statement; with it BEGIN, the numbers' locks, the claim (its snapshot taken after the locks),
 * COMMIT, which releases them.  The claim's rows, or NULL with err (rolled back).
 */
static PGresult *claim_run(struct pg_store *st, const char *const vals[7], int paced,
			   struct gw_err *err)
{
	PGconn *c = st->conn;
	PGresult *locked = NULL, *r = NULL;
	char *keys = NULL;
	const char *v[7];

	memcpy(v, vals, sizeof(v));
	pthread_mutex_lock(&st->conn_lock);
	if (pg_heal(st, c, &st->conn_backoff, err) < 0)
		goto out;
	if (!paced) {
		r = pg_params(c, st->where, claim_sql, 7, v, "claim due messages", err);
		goto out;
	}
	if (pg_exec(c, st->where, "BEGIN", "claim due messages", NULL, err) < 0 ||
	    !(locked = pg_params(c, st->where, pair_lock_sql, 4, v, "lock WhatsApp numbers",
				 err)) ||
	    keys_array(locked, &keys, err) < 0)
		goto rollback;
	v[6] = keys;
	if (!(r = pg_params(c, st->where, claim_sql, 7, v, "claim due messages", err)))
		goto rollback;
	if (pg_exec(c, st->where, "COMMIT", "claim due messages", NULL, err) == 0)
		goto out;
	PQclear(r);
	r = NULL;
rollback:
	if (PQtransactionStatus(c) != PQTRANS_IDLE && PQtransactionStatus(c) != PQTRANS_UNKNOWN)
		PQclear(PQexec(c, "ROLLBACK"));
out:
	pthread_mutex_unlock(&st->conn_lock);
	PQclear(locked);
	free(keys);
	return r;
}

int pg_claim_due(struct pg_store *st, int64_t now, const char *provider, struct outbox_item *items,
		 size_t max, size_t *n, struct gw_err *err)
{
	int64_t interval = st->pair_interval_s;
	char a[24], b[24], c[24], d[24];
	const char *vals[7] = { I64(a, now),
				I64(b, max),
				provider,
				I64(d, interval > 0 ? interval : 0),
				I64(c, st->send_lease_s),
				st->instance,
				"{}" };
	PGresult *r;

	*n = 0;
	if (!(r = claim_run(st, vals, interval > 0, err)))
		return -1;
	for (int i = 0; i < PQntuples(r) && *n < max; i++) {
		struct outbox_item *it = &items[*n];

		memset(it, 0, sizeof(*it));
		it->message_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		pg_copy_col(r, i, 1, it->survey_id, sizeof(it->survey_id));
		pg_copy_col(r, i, 2, it->provider, sizeof(it->provider));
		pg_copy_col(r, i, 3, it->channel, sizeof(it->channel));
		pg_copy_col(r, i, 4, it->purpose, sizeof(it->purpose));
		pg_copy_col(r, i, 5, it->phone, sizeof(it->phone));
		it->attempts = (int)strtol(PQgetvalue(r, i, 7), NULL, 10);
		pg_copy_col(r, i, 8, it->kind, sizeof(it->kind));
		pg_copy_col(r, i, 9, it->locale, sizeof(it->locale));
		pg_copy_col(r, i, 10, it->name, sizeof(it->name));
		it->needs_template = (int)strtol(PQgetvalue(r, i, 11), NULL, 10);
		it->last_inbound_at = strtoll(PQgetvalue(r, i, 12), NULL, 10);
		if (!(it->body = strdup(PQgetvalue(r, i, 6)))) {
			for (size_t k = 0; k < *n; k++)
				outbox_item_release(&items[k]);
			*n = 0;
			PQclear(r);
			return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		}
		(*n)++;
	}
	PQclear(r);
	return 0;
}

#define LEASES_LOCK PG_LEASES_LOCK

/* Messages `sending` whose lease ended by $1 become uncertain with their surveys, when $3 is
 * false or this transaction gets the lease sweeper's lock (another instance sweeping: none). */
static const char expire_sql[] =
	"WITH m AS ("
	"  UPDATE messages SET status = 'uncertain', updated_at = $2"
	"  WHERE status = 'sending' AND coalesce(lease_until, 0) <= $1"
	"   AND (NOT $3::boolean OR (SELECT pg_try_advisory_xact_lock(" LEASES_LOCK ")))"
	"  RETURNING survey_id, purpose),"
	" s AS ("
	"  UPDATE surveys v SET status = 'uncertain' FROM m"
	"  WHERE v.id = m.survey_id AND m.purpose = 'survey' AND v.status = 'sending')"
	" SELECT count(*) FROM m";

static int expire_leases(struct pg_store *st, int64_t now, int sweeper, size_t *n,
			 struct gw_err *err)
{
	char a[24];
	const char *vals[3] = { I64(a, now), a, sweeper ? "true" : "false" };
	PGresult *r = pg_crun(st, expire_sql, 3, vals, "expire send leases", err);

	*n = 0;
	if (!r)
		return -1;
	*n = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int pg_expire_leases(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	return expire_leases(st, now, 1, n, err);
}

/* Only claims whose lease has ended: the other instances' live ones are theirs to finish. */
int pg_mark_uncertain(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	return expire_leases(st, now, 0, n, err);
}

/* The bucket is refilled from the database's clock, the one clock every instance shares, and
 * taken from under the row's lock in one statement (its first use inserts it full): whole
 * tokens only, the fraction kept for the next call.  An instance that waited for another's
 * take sees an earlier statement time than the bucket's, and gets nothing for it. */
#define PACE_NOW "(extract(epoch FROM statement_timestamp()) * 1000)::bigint"
#define PACE_HAVE                                                                   \
	"least($3::float8, p.tokens + greatest(0, " PACE_NOW " - p.refilled_at_ms)" \
	" * $2::float8 / 1000.0)"
static const char pace_sql[] =
	"INSERT INTO provider_pacing AS p (provider, tokens, refilled_at_ms, last_taken)"
	" VALUES ($1, $3::float8 - least($4::float8, floor($3::float8)), " PACE_NOW ","
	"  least($4::float8, floor($3::float8))::bigint)"
	" ON CONFLICT (provider) DO UPDATE SET"
	"  tokens = " PACE_HAVE " - least($4::float8, floor(" PACE_HAVE ")),"
	"  refilled_at_ms = greatest(p.refilled_at_ms, " PACE_NOW "),"
	"  last_taken = least($4::float8, floor(" PACE_HAVE "))::bigint"
	" RETURNING last_taken";

int pg_pace_take(struct pg_store *st, const char *provider, double rate_per_s, double burst,
		 size_t want, size_t *granted, struct gw_err *err)
{
	char a[32], b[32], c[24];
	const char *vals[4] = { provider, a, b, I64(c, want) };
	PGresult *r;

	*granted = 0;
	snprintf(a, sizeof(a), "%.6f", rate_per_s);
	snprintf(b, sizeof(b), "%.6f", burst);
	if (!(r = pg_crun(st, pace_sql, 4, vals, "take send tokens", err)))
		return -1;
	if (PQntuples(r) == 1)
		*granted = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}
