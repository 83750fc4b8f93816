/*
 * sqlite_readers.c - read-only connections kept open for the API's reads (see sqlite_priv.h).
 *
 * Opening a SQLite connection reads the schema and every statement is compiled anew: a survey
 * lookup on a fresh connection cost about 300 µs of CPU where the lookup itself costs a few.
 * Readers are kept in a pool instead: a reader is taken for one call, its statements compiled
 * on first use and kept, and given back with every statement reset, so that an idle reader holds
 * no snapshot of the database and never holds a checkpoint back.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_priv.h"
#include "sqlite_store.h"
#include "survey_sql.h"

/* Idle readers kept; more readers may be open at once (one per concurrent call), the ones past
 * this are closed when given back. */
#define READERS_IDLE_MAX 16
/* Page cache of each reader: point lookups, the kernel's page cache holds the rest.  16 readers
 * at most 4 MiB together. */
#define READER_CACHE "PRAGMA cache_size = -256"

static const char *const reader_sql[R__COUNT] = {
	[R_SURVEY_GET] = SURVEY_SELECT "s.id = ?1",
	[R_SURVEY_LIST] =
		"SELECT id FROM surveys WHERE status = ?1 ORDER BY created_at, rowid LIMIT ?2",
	[R_SURVEY_BY_INTERACTION] = SURVEY_SELECT "s.interaction_id = ?1 AND s.kind = ?2",
	[R_OUTBOX_DEPTH] = "SELECT (SELECT count(*) FROM messages WHERE status = 'queued'),"
			   " (SELECT count(*) FROM messages WHERE status = 'sending'),"
			   " (SELECT count(*) FROM messages WHERE status = 'uncertain')",
};

static void reader_close(struct reader *r)
{
	for (int i = 0; i < R__COUNT; i++)
		sqlite3_finalize(r->stmt[i]);
	sqlite3_close(r->db);
	free(r);
}

struct reader *reader_get(struct sqlite_store *st, struct gw_err *err)
{
	struct reader *r;

	pthread_mutex_lock(&st->readers_lock);
	r = st->readers_idle;
	if (r) {
		st->readers_idle = r->next;
		st->readers_idle_n--;
	}
	pthread_mutex_unlock(&st->readers_lock);
	if (r)
		return r;
	if (!(r = calloc(1, sizeof(*r)))) {
		gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		return NULL;
	}
	if (open_conn(st->path, SQLITE_OPEN_READONLY, &r->db, err) < 0) {
		free(r);
		return NULL;
	}
	if (sqlite3_exec(r->db, READER_CACHE, NULL, NULL, NULL) != SQLITE_OK ||
	    register_phone_hash(r->db) != SQLITE_OK) {
		db_fail(r->db, sqlite3_errcode(r->db), "open a reader", err);
		reader_close(r);
		return NULL;
	}
	return r;
}

sqlite3_stmt *reader_stmt(struct reader *r, enum reader_stmt id, struct gw_err *err)
{
	int rc;

	if (!r->stmt[id]) {
		rc = sqlite3_prepare_v3(r->db, reader_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					&r->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			db_fail(r->db, rc, "prepare a read", err);
			return NULL;
		}
	}
	return r->stmt[id];
}

/* 1 when every statement open on the reader is one of its own (callers finalise theirs). */
static int only_own_statements(struct reader *r)
{
	for (sqlite3_stmt *s = sqlite3_next_stmt(r->db, NULL); s; s = sqlite3_next_stmt(r->db, s)) {
		int own = 0;

		for (int i = 0; i < R__COUNT; i++)
			own |= s == r->stmt[i];
		if (!own)
			return 0;
	}
	return 1;
}

void reader_put(struct sqlite_store *st, struct reader *r)
{
	if (!r)
		return;
	for (int i = 0; i < R__COUNT; i++) {
		if (r->stmt[i]) {
			sqlite3_reset(r->stmt[i]);
			sqlite3_clear_bindings(r->stmt[i]);
		}
	}
	if (!sqlite3_get_autocommit(r->db)) /* a caller's BEGIN, not ended */
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	/* a reader that could still hold a snapshot is not kept */
	if (!sqlite3_get_autocommit(r->db) || !only_own_statements(r)) {
		reader_close(r);
		return;
	}
	pthread_mutex_lock(&st->readers_lock);
	if (st->readers_idle_n < READERS_IDLE_MAX) {
		r->next = st->readers_idle;
		st->readers_idle = r;
		st->readers_idle_n++;
		r = NULL;
	}
	pthread_mutex_unlock(&st->readers_lock);
	if (r)
		reader_close(r);
}

void readers_close_all(struct sqlite_store *st)
{
	struct reader *r, *next;

	for (r = st->readers_idle; r; r = next) {
		next = r->next;
		reader_close(r);
	}
	st->readers_idle = NULL;
	st->readers_idle_n = 0;
}
