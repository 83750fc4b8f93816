/* sqlite_idem.c - Idempotency-Key records (see store.h). */
#include <stdlib.h>
#include <string.h>

#include "sqlite_priv.h"
#include "sqlite_store.h"

struct idem_args {
	const char *key, *hash;
	int64_t now, stale_s;
	enum idem_state *state;
	int *status;
	char **response;
};

static int idem_begin_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct idem_args *a = arg;
	sqlite3_stmt *s = st_get(st, S_IDEM_GET);
	int rc;

	bind_str(s, 1, a->key);
	rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		int same = strcmp(col_str(s, 0), a->hash) == 0;
		int status = sqlite3_column_int(s, 1);
		int64_t created = sqlite3_column_int64(s, 3);

		if (status == 0 && created + a->stale_s > a->now) {
			*a->state = same ? IDEM_IN_FLIGHT : IDEM_MISMATCH;
		} else if (status != 0) {
			*a->state = same ? IDEM_REPLAY : IDEM_MISMATCH;
			*a->status = status;
			if (same && !(*a->response = col_dup(s, 2))) {
				sqlite3_reset(s);
				return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
			}
		}
		sqlite3_reset(s);
		if (status != 0 || created + a->stale_s > a->now)
			return 0;
	} else {
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return db_fail(st->db, rc, "read idempotency key", err);
	}
	/* New, or a claim abandoned by a process that died: this request takes it. */
	*a->state = IDEM_NEW;
	s = st_get(st, S_IDEM_CLAIM);
	bind_str(s, 1, a->key);
	bind_str(s, 2, a->hash);
	sqlite3_bind_int64(s, 3, a->now);
	return step_done(st, s, "claim idempotency key", err);
}

int sqlite_idem_begin(struct sqlite_store *st, const char *key, const char *body_sha256,
		      int64_t now, int64_t stale_s, enum idem_state *state, int *status,
		      char **response, struct gw_err *err)
{
	struct idem_args a = { key, body_sha256, now, stale_s, state, status, response };

	*response = NULL;
	*status = 0;
	if (sqlite_run(st, idem_begin_job, &a, err) < 0) {
		free(*response);
		*response = NULL;
		return -1;
	}
	return 0;
}

static int idem_finish_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct idem_args *a = arg;
	sqlite3_stmt *s;

	if (!*a->status) {
		s = st_get(st, S_IDEM_FORGET);
		bind_str(s, 1, a->key);
		return step_done(st, s, "forget idempotency key", err);
	}
	s = st_get(st, S_IDEM_FINISH);
	bind_str(s, 1, a->key);
	sqlite3_bind_int(s, 2, *a->status);
	bind_str(s, 3, *a->response);
	return step_done(st, s, "record idempotent answer", err);
}

int sqlite_idem_finish(struct sqlite_store *st, const char *key, int status, const char *response,
		       struct gw_err *err)
{
	char *resp = (char *)response;
	struct idem_args a = { .key = key, .status = &status, .response = &resp };

	return sqlite_run(st, idem_finish_job, &a, err);
}

static int idem_purge_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	struct idem_args *a = arg;
	sqlite3_stmt *s = st_get(st, S_IDEM_PURGE);
	int rc;

	sqlite3_bind_int64(s, 1, a->now);
	rc = step_done(st, s, "purge idempotency keys", err);
	if (rc == 0)
		*a->status = sqlite3_changes(st->db);
	return rc;
}

int sqlite_idem_purge(struct sqlite_store *st, int64_t before, size_t *n, struct gw_err *err)
{
	int count = 0;
	struct idem_args a = { .now = before, .status = &count };
	int rc = sqlite_run(st, idem_purge_job, &a, err);

	*n = (size_t)count;
	return rc;
}
