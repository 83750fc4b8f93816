/*
 * pg_idem.c - Idempotency-Key records on PostgreSQL, shared by instances (see pg_store.h).
 *
 * The claim is one statement: the key is inserted, or taken over when its first request was
 * abandoned (in flight for longer than stale_s), and only then is a row returned.  Two
 * instances claiming one key at once cannot both win: the second one's insert waits for the
 * first's commit and then finds the key taken; it reads the record to tell the request what it
 * is (in flight, a replay, or another body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"

struct idem_args {
	const char *key, *hash;
	int64_t now, stale_s;
	enum idem_state *state;
	int *status;
	char **response;
	size_t purged;
};

static int idem_begin_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct idem_args *a = arg;
	char now[24], stale[24];
	PGresult *r;
	int taken;

	r = pg_params(st->wconn, st->where,
		      "INSERT INTO idempotency (key, body_sha256, created_at) VALUES ($1, $2, $3)"
		      " ON CONFLICT (key) DO UPDATE SET body_sha256 = $2, created_at = $3,"
		      " status = 0, response = NULL"
		      " WHERE idempotency.status = 0 AND idempotency.created_at + $4 <= $3"
		      " RETURNING key",
		      4,
		      (const char *const[]){ a->key, a->hash, I64(now, a->now),
					     I64(stale, a->stale_s) },
		      "claim idempotency key", err);
	if (!r)
		return -1;
	taken = PQntuples(r) == 1;
	PQclear(r);
	if (taken) {
		*a->state = IDEM_NEW;
		return 0;
	}
	r = pg_params(st->wconn, st->where,
		      "SELECT body_sha256, status, response FROM idempotency WHERE key = $1", 1,
		      (const char *const[]){ a->key }, "read idempotency key", err);
	if (!r)
		return -1;
	if (PQntuples(r) != 1) { /* forgotten meanwhile: the request may try again */
		PQclear(r);
		return gw_err_set(err, 503, "store_unavailable", "",
				  "the idempotency key changed hands; try again");
	}
	{
		int same = strcmp(PQgetvalue(r, 0, 0), a->hash) == 0;
		int status = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);

		if (!same)
			*a->state = IDEM_MISMATCH;
		else if (!status)
			*a->state = IDEM_IN_FLIGHT;
		else {
			*a->state = IDEM_REPLAY;
			*a->status = status;
			if (!(*a->response = strdup(PQgetvalue(r, 0, 2)))) {
				PQclear(r);
				return gw_err_set(err, 503, "store_unavailable", "",
						  "out of memory");
			}
		}
	}
	PQclear(r);
	return 0;
}

int pg_idem_begin(struct pg_store *st, const char *key, const char *body_sha256, int64_t now,
		  int64_t stale_s, enum idem_state *state, int *status, char **response,
		  struct gw_err *err)
{
	struct idem_args a = { key, body_sha256, now, stale_s, state, status, response, 0 };

	*response = NULL;
	*status = 0;
	if (pg_run(st, idem_begin_job, &a, err) < 0) {
		free(*response);
		*response = NULL;
		return -1;
	}
	return 0;
}

static int idem_finish_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct idem_args *a = arg;
	char status[16];
	PGresult *r;

	if (!*a->status)
		r = pg_params(st->wconn, st->where, "DELETE FROM idempotency WHERE key = $1", 1,
			      (const char *const[]){ a->key }, "forget idempotency key", err);
	else
		r = pg_params(st->wconn, st->where,
			      "UPDATE idempotency SET status = $2, response = $3 WHERE key = $1", 3,
			      (const char *const[]){ a->key, I64(status, *a->status),
						     *a->response },
			      "record idempotent answer", err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

int pg_idem_finish(struct pg_store *st, const char *key, int status, const char *response,
		   struct gw_err *err)
{
	char *resp = (char *)response;
	struct idem_args a = { .key = key, .status = &status, .response = &resp };

	return pg_run(st, idem_finish_job, &a, err);
}

static int idem_purge_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct idem_args *a = arg;
	char before[24];
	PGresult *r = pg_params(st->wconn, st->where,
				"DELETE FROM idempotency WHERE created_at < $1"
				" AND (SELECT pg_try_advisory_xact_lock(" PG_IDEM_LOCK "))",
				1, (const char *const[]){ I64(before, a->now) },
				"purge idempotency keys", err);

	if (!r)
		return -1;
	a->purged = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

int pg_idem_purge(struct pg_store *st, int64_t before, size_t *n, struct gw_err *err)
{
	struct idem_args a = { .now = before };
	int rc = pg_run(st, idem_purge_job, &a, err);

	*n = a.purged;
	return rc;
}
