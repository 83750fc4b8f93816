/*
 * pg_inbound.c - inbound texts, delivery statuses and suppressions on PostgreSQL (see
 * pg_store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"

int pg_phone_suppressed(struct pg_store *st, const char *phone, int *suppressed, struct gw_err *err)
{
	char hash[STORE_PHONE_HASH_LEN], flag[8] = "";

	if (store_phone_hash(phone, hash) < 0)
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	if (pg_wrun_one(
		    st,
		    "SELECT coalesce((SELECT opted_out FROM suppressions WHERE phone = $1), 0)"
		    " <> 0 OR coalesce((SELECT opted_out FROM suppressions WHERE phone = $2), 0)"
		    " <> 0",
		    2, (const char *const[]){ phone, hash }, "read suppression", flag, sizeof(flag),
		    err) < 0)
		return -1;
	*suppressed = strcmp(flag, "t") == 0;
	return 0;
}

int pg_suppress_tx(struct pg_store *st, const char *phone, const char *provider, int64_t now,
		   struct gw_err *err)
{
	char t[24];
	const char *const v[] = { phone, I64(t, now), provider };
	int before;

	if (pg_phone_suppressed(st, phone, &before, err) < 0 ||
	    pg_wrun_one(st,
			"INSERT INTO suppressions (phone, opted_out, opted_out_at, provider,"
			" updated_at) VALUES ($1, 1, $2, $3, $2) ON CONFLICT (phone) DO UPDATE"
			" SET opted_out = 1, opted_out_at = $2, provider = $3, updated_at = $2",
			3, v, "save suppression", NULL, 0, err) < 0 ||
	    pg_wrun_one(st,
			"UPDATE surveys SET status = 'skipped', reason = 'opted_out'"
			" WHERE phone = $1 AND status = 'queued'",
			1, v, "skip surveys", NULL, 0, err) < 0 ||
	    pg_wrun_one(st,
			"UPDATE messages SET status = 'cancelled', updated_at = $2"
			" WHERE phone = $1 AND direction = 'out' AND status = 'queued'",
			2, v, "cancel messages", NULL, 0, err) < 0 ||
	    pg_wrun_one(st, "UPDATE customers SET opted_out = 1 WHERE phone = $1", 1, v,
			"mark customers", NULL, 0, err) < 0)
		return -1;
	return before ? 0 : pg_events_after_suppress(st, phone, now, err);
}

struct suppress_args {
	const char *phone, *provider;
	int64_t now;
};

static int suppress_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	const struct suppress_args *a = arg;

	return pg_suppress_tx(st, a->phone, a->provider, a->now, err);
}

int pg_suppress_phone(struct pg_store *st, const char *phone, const char *provider, int64_t now,
		      struct gw_err *err)
{
	struct suppress_args a = { phone, provider, now };

	return pg_run(st, suppress_job, &a, err);
}
