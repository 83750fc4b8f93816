/*
 * pg_outbox.c - the outbox on PostgreSQL, shared by several instances (see pg_store.h).
 *
 * A claim is one statement: the due messages are picked with FOR UPDATE SKIP LOCKED (rows
 * another instance is claiming at that moment are passed over, never waited for or taken
 * twice), moved to `sending` with this instance's name and a lease, and returned with what the
 * send needs; it commits before any provider is called.  An outcome is recorded only by the
 * instance that claimed the message (`claimed_by`), while it is `sending` or, once its lease
 * ran out, `uncertain`: the outcome is known after all.  A message queued again (an operator's
 * resend of uncertain ones) and claimed by another instance is never touched by a late answer
 * to the first claim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"

static void copy_col(PGresult *r, int row, int col, char *dst, size_t n)
{
	snprintf(dst, n, "%s", PQgetvalue(r, row, col));
}

static const char claim_sql[] =
	"WITH c AS MATERIALIZED ("
	"  SELECT m.id FROM messages m"
	"  WHERE m.status = 'queued' AND m.next_attempt_at <= $1 AND m.provider = $3"
	"  ORDER BY m.next_attempt_at, m.id LIMIT $2 FOR UPDATE SKIP LOCKED),"
	" u AS ("
	"  UPDATE messages m SET status = 'sending', attempts = m.attempts + 1, updated_at = $1,"
	"   lease_until = $1 + $4, claimed_by = $5"
	"  FROM c WHERE m.id = c.id"
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

int pg_claim_due(struct pg_store *st, int64_t now, const char *provider, struct outbox_item *items,
		 size_t max, size_t *n, struct gw_err *err)
{
	char a[24], b[24], c[24];
	const char *vals[5] = { I64(a, now), I64(b, max), provider, I64(c, st->send_lease_s),
				st->instance };
	PGresult *r = pg_crun(st, claim_sql, 5, vals, "claim due messages", err);

	*n = 0;
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && *n < max; i++) {
		struct outbox_item *it = &items[*n];

		memset(it, 0, sizeof(*it));
		it->message_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		copy_col(r, i, 1, it->survey_id, sizeof(it->survey_id));
		copy_col(r, i, 2, it->provider, sizeof(it->provider));
		copy_col(r, i, 3, it->channel, sizeof(it->channel));
		copy_col(r, i, 4, it->purpose, sizeof(it->purpose));
		copy_col(r, i, 5, it->phone, sizeof(it->phone));
		it->attempts = (int)strtol(PQgetvalue(r, i, 7), NULL, 10);
		copy_col(r, i, 8, it->kind, sizeof(it->kind));
		copy_col(r, i, 9, it->locale, sizeof(it->locale));
		copy_col(r, i, 10, it->name, sizeof(it->name));
		it->needs_template = (int)strtol(PQgetvalue(r, i, 11), NULL, 10);
		it->last_inbound_at = strtoll(PQgetvalue(r, i, 12), NULL, 10);
		if (!(it->body = strdup(PQgetvalue(r, i, 6)))) {
			PQclear(r);
			return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		}
		(*n)++;
	}
	PQclear(r);
	return 0;
}

static const char sent_sql[] =
	"WITH m AS ("
	"  UPDATE messages SET status = 'sent', provider_message_id = $3, sent_at = $2,"
	"   updated_at = $2, error_code = NULL, error_message = NULL"
	"  WHERE id = $1 AND claimed_by = $4 AND status IN ('sending', 'uncertain')"
	"  RETURNING survey_id, purpose)"
	" UPDATE surveys s SET status = 'sent', sent_at = $2, provider_message_id = $3,"
	"  expires_at = $2 + expire_after_s, error_code = NULL, error_message = NULL"
	" FROM m WHERE s.id = m.survey_id AND m.purpose = 'survey'"
	"  AND s.status IN ('sending', 'uncertain')";

int pg_send_accepted(struct pg_store *st, int64_t message_id, const char *provider_message_id,
		     int64_t now, struct gw_err *err)
{
	char a[24], b[24];
	const char *vals[4] = { I64(a, message_id), I64(b, now), provider_message_id,
				st->instance };
	PGresult *r = pg_crun(st, sent_sql, 4, vals, "record a send", err);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

static const char expire_sql[] =
	"WITH m AS ("
	"  UPDATE messages SET status = 'uncertain', updated_at = $2"
	"  WHERE status = 'sending' AND coalesce(lease_until, 0) <= $1"
	"  RETURNING survey_id, purpose),"
	" s AS ("
	"  UPDATE surveys v SET status = 'uncertain' FROM m"
	"  WHERE v.id = m.survey_id AND m.purpose = 'survey' AND v.status = 'sending')"
	" SELECT count(*) FROM m";

int pg_expire_leases(struct pg_store *st, int64_t now, size_t *n, struct gw_err *err)
{
	char a[24];
	const char *vals[2] = { I64(a, now), a };
	PGresult *r = pg_crun(st, expire_sql, 2, vals, "expire send leases", err);

	*n = 0;
	if (!r)
		return -1;
	*n = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
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
