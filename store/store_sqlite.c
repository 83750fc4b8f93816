/*
 * store_sqlite.c - store.h on SQLite.
 *
 * One write connection, owned by the store and serialised by a mutex; every statement on it is
 * prepared once at open.  Readers (store_get_survey, store_export) open read-only connections of
 * their own, which WAL lets run beside the writer.
 *
 * Durability: WAL with synchronous=FULL, so a transaction is on disk (fsync of the WAL) before
 * COMMIT returns, and every call that returns 0 has its rows durable, across a process crash and a
 * power loss alike.
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "schema.h"

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_SURVEY_BY_INTERACTION, S_CUSTOMER_UPSERT, S_SURVEY_INSERT, S_MESSAGE_OUT_INSERT,
	S_DUE_SELECT, S_MESSAGE_CLAIM, S_SURVEY_SET_STATUS, S_NEXT_DUE,
	S_MESSAGE_SENT, S_SURVEY_SENT, S_MESSAGE_RETRY, S_SURVEY_RETRY,
	S_MESSAGE_FAILED, S_SURVEY_FAILED, S_MESSAGE_SURVEY,
	S_UNCERTAIN_SURVEYS, S_UNCERTAIN_MESSAGES,
	S_INBOUND_INSERT, S_MATCH_OPEN, S_INBOUND_LINK, S_RESPONSE_UPSERT, S_SURVEY_ANSWERED,
	S_SURVEY_REPROMPTED,
	S_STATUS_FIND, S_MESSAGE_STATUS, S_SURVEY_STATUS, S_SURVEY_STATUS_BY_DELIVERY,
	S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SURVEY_BY_INTERACTION] = "SELECT id FROM surveys WHERE interaction_id = ?1 AND kind = ?2",
	[S_CUSTOMER_UPSERT] =
		"INSERT INTO customers (ext_id, phone, name, locale, created_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?5)"
		" ON CONFLICT (ext_id) DO UPDATE SET phone = ?2, name = coalesce(?3, name),"
		" locale = ?4, updated_at = ?5"
		" RETURNING id",
	[S_SURVEY_INSERT] =
		"INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
		" interaction_id, touchpoint, agent, opened_at, closed_at, status, created_at,"
		" send_after, expires_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'queued', ?14, ?15, ?16)",
	[S_MESSAGE_OUT_INSERT] =
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
		" status, next_attempt_at, created_at, updated_at)"
		" VALUES (?1, 'out', ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?8)",
	[S_DUE_SELECT] =
		"SELECT id, coalesce(survey_id, ''), provider, channel, purpose, phone, body, attempts"
		" FROM messages WHERE status = 'queued' AND next_attempt_at <= ?1 AND provider = ?3"
		" ORDER BY next_attempt_at, id LIMIT ?2",
	[S_MESSAGE_CLAIM] =
		"UPDATE messages SET status = 'sending', attempts = attempts + 1, updated_at = ?2"
		" WHERE id = ?1",
	[S_SURVEY_SET_STATUS] =
		"UPDATE surveys SET status = ?2, attempts = (SELECT attempts FROM messages WHERE id = ?3)"
		" WHERE id = ?1",
	[S_NEXT_DUE] = "SELECT min(next_attempt_at) FROM messages WHERE status = 'queued'",
	[S_MESSAGE_SENT] =
		"UPDATE messages SET status = 'sent', provider_message_id = ?2, sent_at = ?3,"
		" updated_at = ?3, error_code = NULL, error_message = NULL WHERE id = ?1",
	[S_SURVEY_SENT] =
		"UPDATE surveys SET status = 'sent', sent_at = ?2, provider_message_id = ?3,"
		" error_code = NULL, error_message = NULL WHERE id = ?1 AND status = 'sending'",
	[S_MESSAGE_RETRY] =
		"UPDATE messages SET status = 'queued', next_attempt_at = ?2, error_code = ?3,"
		" error_message = ?4, updated_at = ?5 WHERE id = ?1",
	[S_SURVEY_RETRY] =
		"UPDATE surveys SET status = 'queued', error_code = ?2, error_message = ?3"
		" WHERE id = ?1 AND status = 'sending'",
	[S_MESSAGE_FAILED] =
		"UPDATE messages SET status = 'failed', error_code = ?2, error_message = ?3,"
		" updated_at = ?4 WHERE id = ?1",
	[S_SURVEY_FAILED] =
		"UPDATE surveys SET status = 'failed', error_code = ?2, error_message = ?3"
		" WHERE id = ?1 AND status IN ('queued', 'sending', 'sent')",
	[S_MESSAGE_SURVEY] = "SELECT coalesce(survey_id, ''), purpose FROM messages WHERE id = ?1",
	[S_UNCERTAIN_SURVEYS] =
		"UPDATE surveys SET status = 'uncertain' WHERE id IN (SELECT survey_id FROM messages"
		" WHERE status = 'sending' AND purpose = 'survey')",
	[S_UNCERTAIN_MESSAGES] =
		"UPDATE messages SET status = 'uncertain', updated_at = ?1 WHERE status = 'sending'",
	[S_INBOUND_INSERT] =
		"INSERT INTO messages (direction, purpose, channel, provider, phone, body, status,"
		" provider_message_id, created_at, updated_at)"
		" VALUES ('in', 'reply', ?1, ?2, ?3, ?4, 'received', ?5, ?6, ?6)"
		" ON CONFLICT (provider, provider_message_id) WHERE provider_message_id IS NOT NULL"
		" DO NOTHING RETURNING id",
	[S_MATCH_OPEN] =
		"SELECT s.id, c.ext_id, coalesce(s.name, ''), s.locale, s.kind, s.channel, s.status,"
		" s.reprompted"
		" FROM surveys s JOIN customers c ON c.id = s.customer_id"
		" WHERE s.phone = ?1 AND s.provider = ?2 AND (?3 IS NULL OR s.channel = ?3)"
		" AND s.status IN ('sending', 'sent', 'delivered', 'read', 'uncertain')"
		" AND (s.expires_at IS NULL OR s.expires_at > ?4)"
		" ORDER BY s.created_at DESC, s.rowid DESC LIMIT 1",
	[S_INBOUND_LINK] = "UPDATE messages SET survey_id = ?2, channel = ?3 WHERE id = ?1",
	[S_RESPONSE_UPSERT] =
		"INSERT INTO responses (survey_id, score, comment, raw_text, message_id, answered_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (survey_id) DO UPDATE SET score = ?2, comment = ?3, raw_text = ?4,"
		" message_id = ?5, answered_at = ?6",
	[S_SURVEY_ANSWERED] =
		"UPDATE surveys SET status = 'answered', answered_at = ?2 WHERE id = ?1",
	[S_SURVEY_REPROMPTED] = "UPDATE surveys SET reprompted = 1 WHERE id = ?1",
	[S_STATUS_FIND] =
		"SELECT id, status, coalesce(survey_id, ''), purpose FROM messages"
		" WHERE provider = ?1 AND provider_message_id = ?2 AND direction = 'out'",
	[S_MESSAGE_STATUS] =
		"UPDATE messages SET status = ?2, error_code = coalesce(?3, error_code),"
		" error_message = coalesce(?4, error_message), updated_at = ?5 WHERE id = ?1",
	[S_SURVEY_STATUS] = "SELECT status FROM surveys WHERE id = ?1",
	[S_SURVEY_STATUS_BY_DELIVERY] =
		"UPDATE surveys SET status = ?2,"
		" delivered_at = CASE WHEN ?2 IN ('delivered', 'read') THEN coalesce(delivered_at, ?5)"
		"   ELSE delivered_at END,"
		" error_code = coalesce(?3, error_code), error_message = coalesce(?4, error_message)"
		" WHERE id = ?1",
};

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
	char *path;
	sqlite3_stmt *stmt[S__COUNT];
};

/* ---- small helpers --------------------------------------------------------------------- */

/* Records a failure of `db`.  Errors that a retry may cure (full disk, I/O, lock, read-only
 * file) map to 503; anything else to 500. */
static int db_fail(sqlite3 *db, int rc, const char *what, struct gw_err *err)
{
	int prim = rc & 0xff;
	int status = (prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_BUSY ||
		      prim == SQLITE_LOCKED || prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN ||
		      prim == SQLITE_NOMEM) ? 503 : 500;

	return gw_err_set(err, status, "store_unavailable", "", "database %s failed: %s", what,
			  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static sqlite3_stmt *st_get(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static void bind_opt_str(sqlite3_stmt *s, int i, const char *v)
{
	bind_str(s, i, v && *v ? v : NULL);
}

static void col_copy(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	size_t len = v ? (size_t)sqlite3_column_bytes(s, i) : 0;

	if (len >= n)
		len = n - 1;
	if (len)
		memcpy(dst, v, len);
	dst[len] = '\0';
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	size_t len = v ? (size_t)sqlite3_column_bytes(s, i) : 0;
	char *p = malloc(len + 1);

	if (p) {
		if (len)
			memcpy(p, v, len);
		p[len] = '\0';
	}
	return p;
}

/* Runs a statement that returns no row. */
static int step_done(struct store *st, sqlite3_stmt *s, const char *what, struct gw_err *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_fail(st->db, rc, what, err);
	return 0;
}

/* Starts a write transaction; on success the caller holds st->lock until tx_end(). */
static int tx_begin(struct store *st, struct gw_err *err)
{
	pthread_mutex_lock(&st->lock);
	if (step_done(st, st_get(st, S_BEGIN), "begin", err) < 0) {
		pthread_mutex_unlock(&st->lock);
		return -1;
	}
	return 0;
}

/* Commits when rc is 0, rolls back otherwise; releases st->lock.  Returns 0 only when rc was 0
 * and the commit is durable. */
static int tx_end(struct store *st, int rc, struct gw_err *err)
{
	if (rc == 0 && step_done(st, st_get(st, S_COMMIT), "commit", err) < 0)
		rc = -1;
	if (rc != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_step(st_get(st, S_ROLLBACK));
	sqlite3_reset(st->stmt[S_ROLLBACK]);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* ---- open, migrate, close ------------------------------------------------------------ */

/* Creates the folders above `path` (mkdir -p of its dirname). */
static int make_parent_dirs(const char *path, struct gw_err *err)
{
	char dir[4096];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return gw_errf(err, "store path too long");
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return gw_errf(err, "cannot create %s: %s", dir, strerror(errno));
		*p = '/';
	}
	return 0;
}

static int migrate(struct store *st, struct gw_err *err)
{
	sqlite3_stmt *s;
	int have = 0, rc;
	char *msg = NULL;

	if ((rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL)) != SQLITE_OK)
		return db_fail(st->db, rc, "read schema version", err);
	if (sqlite3_step(s) == SQLITE_ROW)
		have = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (have > schema_version())
		return gw_errf(err, "%s has schema version %d, newer than this gateway's %d: "
			       "run a newer gateway", st->path, have, schema_version());
	for (int v = have + 1; v <= schema_version(); v++) {
		char bump[64];

		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v);
		if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(st->db, schema_migration(v), NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(st->db, bump, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(st->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			gw_errf(err, "migrating %s to schema %d failed: %s", st->path, v,
				msg ? msg : "?");
			sqlite3_free(msg);
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

int store_schema_version(void)
{
	return schema_version();
}

const char *store_sqlite_version(void)
{
	return sqlite3_libversion();
}

/* Opens a connection with the pragmas every connection of the store uses. */
static int open_conn(const char *path, int flags, sqlite3 **out, struct gw_err *err)
{
	int rc = sqlite3_open_v2(path, out, flags | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		db_fail(*out, rc, "open", err);
		sqlite3_close(*out);
		*out = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*out, 5000);
	sqlite3_extended_result_codes(*out, 1);
	return 0;
}

struct store *store_open(const char *path, struct gw_err *err)
{
	struct store *st = calloc(1, sizeof(*st));
	char *msg = NULL;
	int rc;

	if (!st || !(st->path = strdup(path))) {
		free(st);
		gw_errf(err, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&st->lock, NULL);
	if (make_parent_dirs(path, err) < 0 ||
	    open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &st->db, err) < 0)
		goto fail;
	if (sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 "PRAGMA foreign_keys = ON;", NULL, NULL, &msg) != SQLITE_OK) {
		gw_errf(err, "%s: cannot set up the database: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	if (migrate(st, err) < 0)
		goto fail;
	for (int i = 0; i < S__COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			gw_errf(err, "preparing statement %d: %s", i, sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	return st;
fail:
	store_close(st);
	return NULL;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

int store_check_writable(struct store *st, struct gw_err *err)
{
	if (tx_begin(st, err) < 0)
		return -1;
	/* Nothing to write: a successful BEGIN IMMEDIATE proves the write lock can be had. */
	return tx_end(st, 0, err);
}

/* ---- surveys --------------------------------------------------------------------------- */

static int insert_outbound(struct store *st, const char *survey_id, const char *purpose,
			   const char *channel, const char *provider, const char *phone,
			   const char *body, int64_t due, int64_t now, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_MESSAGE_OUT_INSERT);

	bind_str(s, 1, survey_id);
	bind_str(s, 2, purpose);
	bind_str(s, 3, channel);
	bind_str(s, 4, provider);
	bind_str(s, 5, phone);
	bind_str(s, 6, body);
	sqlite3_bind_int64(s, 7, due);
	sqlite3_bind_int64(s, 8, now);
	return step_done(st, s, "queue message", err);
}

/* The body of store_create_survey(), inside its transaction. */
static int create_survey_tx(struct store *st, const struct survey_new *in,
			    char id_out[SURVEY_ID_LEN], int *created, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_SURVEY_BY_INTERACTION);
	int64_t customer;
	int rc;

	bind_str(s, 1, in->interaction_id);
	bind_str(s, 2, in->kind);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		col_copy(s, 0, id_out, SURVEY_ID_LEN);
		sqlite3_reset(s);
		*created = 0;
		return 0;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_fail(st->db, rc, "find survey", err);

	s = st_get(st, S_CUSTOMER_UPSERT);
	bind_str(s, 1, in->customer_id);
	bind_str(s, 2, in->phone);
	bind_opt_str(s, 3, in->name);
	bind_str(s, 4, in->locale);
	sqlite3_bind_int64(s, 5, in->now);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		return db_fail(st->db, rc, "save customer", err);
	}
	customer = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);

	s = st_get(st, S_SURVEY_INSERT);
	bind_str(s, 1, in->id);
	sqlite3_bind_int64(s, 2, customer);
	bind_str(s, 3, in->phone);
	bind_opt_str(s, 4, in->name);
	bind_str(s, 5, in->locale);
	bind_str(s, 6, in->kind);
	bind_str(s, 7, in->channel);
	bind_str(s, 8, in->provider);
	bind_str(s, 9, in->interaction_id);
	bind_opt_str(s, 10, in->touchpoint);
	bind_opt_str(s, 11, in->agent);
	bind_opt_str(s, 12, in->opened_at);
	bind_opt_str(s, 13, in->closed_at);
	sqlite3_bind_int64(s, 14, in->now);
	sqlite3_bind_int64(s, 15, in->send_after);
	sqlite3_bind_int64(s, 16, in->expires_at);
	if (step_done(st, s, "save survey", err) < 0 ||
	    insert_outbound(st, in->id, "survey", in->channel, in->provider, in->phone, in->question,
			    in->send_after, in->now, err) < 0)
		return -1;
	snprintf(id_out, SURVEY_ID_LEN, "%s", in->id);
	*created = 1;
	return 0;
}

int store_create_survey(struct store *st, const struct survey_new *in, char id_out[SURVEY_ID_LEN],
			int *created, struct gw_err *err)
{
	if (tx_begin(st, err) < 0)
		return -1;
	return tx_end(st, create_survey_tx(st, in, id_out, created, err), err);
}

int store_get_survey(struct store *st, const char *id, struct survey *out, struct gw_err *err)
{
	static const char sql[] =
		"SELECT s.id, c.ext_id, s.phone, coalesce(s.name, ''), s.locale, s.kind, s.channel,"
		" s.provider, s.interaction_id, coalesce(s.touchpoint, ''), coalesce(s.agent, ''),"
		" coalesce(s.opened_at, ''), coalesce(s.closed_at, ''), s.status, s.created_at,"
		" s.send_after, coalesce(s.sent_at, 0), coalesce(s.delivered_at, 0),"
		" coalesce(s.answered_at, 0), coalesce(s.expires_at, 0), s.attempts, s.reprompted,"
		" coalesce(s.provider_message_id, ''), coalesce(s.error_code, ''),"
		" coalesce(s.error_message, ''), r.score, r.comment, r.raw_text"
		" FROM surveys s JOIN customers c ON c.id = s.customer_id"
		" LEFT JOIN responses r ON r.survey_id = s.id WHERE s.id = ?1";
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = -1, step;

	memset(out, 0, sizeof(*out));
	if (open_conn(st->path, SQLITE_OPEN_READONLY, &db, err) < 0)
		return -1;
	if ((step = sqlite3_prepare_v2(db, sql, -1, &s, NULL)) != SQLITE_OK) {
		db_fail(db, step, "read survey", err);
		goto out;
	}
	bind_str(s, 1, id);
	step = sqlite3_step(s);
	if (step == SQLITE_DONE) {
		rc = 1;
		goto out;
	}
	if (step != SQLITE_ROW) {
		db_fail(db, step, "read survey", err);
		goto out;
	}
	col_copy(s, 0, out->id, sizeof(out->id));
	col_copy(s, 1, out->customer_id, sizeof(out->customer_id));
	col_copy(s, 2, out->phone, sizeof(out->phone));
	col_copy(s, 3, out->name, sizeof(out->name));
	col_copy(s, 4, out->locale, sizeof(out->locale));
	col_copy(s, 5, out->kind, sizeof(out->kind));
	col_copy(s, 6, out->channel, sizeof(out->channel));
	col_copy(s, 7, out->provider, sizeof(out->provider));
	col_copy(s, 8, out->interaction_id, sizeof(out->interaction_id));
	col_copy(s, 9, out->touchpoint, sizeof(out->touchpoint));
	col_copy(s, 10, out->agent, sizeof(out->agent));
	col_copy(s, 11, out->opened_at, sizeof(out->opened_at));
	col_copy(s, 12, out->closed_at, sizeof(out->closed_at));
	col_copy(s, 13, out->status, sizeof(out->status));
	out->created_at = sqlite3_column_int64(s, 14);
	out->send_after = sqlite3_column_int64(s, 15);
	out->sent_at = sqlite3_column_int64(s, 16);
	out->delivered_at = sqlite3_column_int64(s, 17);
	out->answered_at = sqlite3_column_int64(s, 18);
	out->expires_at = sqlite3_column_int64(s, 19);
	out->attempts = sqlite3_column_int(s, 20);
	out->reprompted = sqlite3_column_int(s, 21);
	col_copy(s, 22, out->provider_message_id, sizeof(out->provider_message_id));
	col_copy(s, 23, out->error_code, sizeof(out->error_code));
	col_copy(s, 24, out->error_message, sizeof(out->error_message));
	if (sqlite3_column_type(s, 25) != SQLITE_NULL) {
		out->has_response = 1;
		out->score = sqlite3_column_int(s, 25);
		out->comment = col_dup(s, 26);
		out->raw_text = col_dup(s, 27);
		if (!out->comment || !out->raw_text) {
			survey_release(out);
			gw_err_set(err, 503, "store_unavailable", "", "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

void survey_release(struct survey *s)
{
	free(s->comment);
	free(s->raw_text);
	s->comment = s->raw_text = NULL;
	s->has_response = 0;
}

/* ---- the outbox ------------------------------------------------------------------------ */

void outbox_item_release(struct outbox_item *it)
{
	free(it->body);
	it->body = NULL;
}

static int claim_due_tx(struct store *st, int64_t now, const char *provider,
			struct outbox_item *items, size_t max, size_t *n, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_DUE_SELECT);
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	bind_str(s, 3, provider);
	while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct outbox_item *it = &items[*n];

		memset(it, 0, sizeof(*it));
		it->message_id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, it->survey_id, sizeof(it->survey_id));
		col_copy(s, 2, it->provider, sizeof(it->provider));
		col_copy(s, 3, it->channel, sizeof(it->channel));
		col_copy(s, 4, it->purpose, sizeof(it->purpose));
		col_copy(s, 5, it->phone, sizeof(it->phone));
		it->attempts = sqlite3_column_int(s, 7) + 1;
		if (!(it->body = col_dup(s, 6))) {
			sqlite3_reset(s);
			return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		}
		(*n)++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st->db, rc, "find due messages", err);
	for (size_t i = 0; i < *n; i++) {
		s = st_get(st, S_MESSAGE_CLAIM);
		sqlite3_bind_int64(s, 1, items[i].message_id);
		sqlite3_bind_int64(s, 2, now);
		if (step_done(st, s, "claim message", err) < 0)
			return -1;
		if (strcmp(items[i].purpose, "survey") != 0)
			continue;
		s = st_get(st, S_SURVEY_SET_STATUS);
		bind_str(s, 1, items[i].survey_id);
		bind_str(s, 2, "sending");
		sqlite3_bind_int64(s, 3, items[i].message_id);
		if (step_done(st, s, "claim survey", err) < 0)
			return -1;
	}
	return 0;
}

int store_claim_due(struct store *st, int64_t now, const char *provider,
		    struct outbox_item *items, size_t max, size_t *n, struct gw_err *err)
{
	int rc;

	*n = 0;
	if (tx_begin(st, err) < 0)
		return -1;
	rc = tx_end(st, claim_due_tx(st, now, provider, items, max, n, err), err);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			outbox_item_release(&items[i]);
		*n = 0;
	}
	return rc;
}

int store_next_due(struct store *st, int64_t *when, struct gw_err *err)
{
	sqlite3_stmt *s;
	int rc;

	pthread_mutex_lock(&st->lock);
	s = st_get(st, S_NEXT_DUE);
	rc = sqlite3_step(s);
	*when = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	pthread_mutex_unlock(&st->lock);
	return rc == SQLITE_ROW ? 0 : db_fail(st->db, rc, "find due messages", err);
}

/* The survey a message belongs to ("" when none) and its purpose. */
static int message_survey(struct store *st, int64_t message_id, char survey_id[SURVEY_ID_LEN],
			  char purpose[16], struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_MESSAGE_SURVEY);
	int rc;

	sqlite3_bind_int64(s, 1, message_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		col_copy(s, 0, survey_id, SURVEY_ID_LEN);
		col_copy(s, 1, purpose, 16);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? gw_errf(err, "no message %lld", (long long)message_id)
					 : db_fail(st->db, rc, "read message", err);
	return 0;
}

/* Runs the survey-side statement `id` for message `message_id` when it is a survey message. */
static int update_survey_of(struct store *st, int64_t message_id, enum stmt_id id,
			    const char *a2, const char *a3, int64_t t, int t_index,
			    struct gw_err *err)
{
	char survey_id[SURVEY_ID_LEN], purpose[16];
	sqlite3_stmt *s;

	if (message_survey(st, message_id, survey_id, purpose, err) < 0)
		return -1;
	if (strcmp(purpose, "survey") != 0 || !survey_id[0])
		return 0;
	s = st_get(st, id);
	bind_str(s, 1, survey_id);
	if (t_index == 2) {
		sqlite3_bind_int64(s, 2, t);
		bind_str(s, 3, a2);
	} else {
		bind_opt_str(s, 2, a2);
		bind_opt_str(s, 3, a3);
	}
	return step_done(st, s, "update survey", err);
}

static int send_accepted_tx(struct store *st, int64_t message_id, const char *pid, int64_t now,
			    struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_MESSAGE_SENT);

	sqlite3_bind_int64(s, 1, message_id);
	bind_opt_str(s, 2, pid);
	sqlite3_bind_int64(s, 3, now);
	if (step_done(st, s, "mark sent", err) < 0)
		return -1;
	return update_survey_of(st, message_id, S_SURVEY_SENT, pid && *pid ? pid : NULL, NULL,
				now, 2, err);
}

int store_send_accepted(struct store *st, int64_t message_id, const char *provider_message_id,
			int64_t now, struct gw_err *err)
{
	if (tx_begin(st, err) < 0)
		return -1;
	return tx_end(st, send_accepted_tx(st, message_id, provider_message_id, now, err), err);
}

static int send_retry_tx(struct store *st, int64_t message_id, int64_t next_at, const char *code,
			 const char *message, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_MESSAGE_RETRY);

	sqlite3_bind_int64(s, 1, message_id);
	sqlite3_bind_int64(s, 2, next_at);
	bind_opt_str(s, 3, code);
	bind_opt_str(s, 4, message);
	sqlite3_bind_int64(s, 5, next_at);
	if (step_done(st, s, "requeue message", err) < 0)
		return -1;
	return update_survey_of(st, message_id, S_SURVEY_RETRY, code, message, 0, 0, err);
}

int store_send_retry(struct store *st, int64_t message_id, int64_t next_at, const char *code,
		     const char *message, struct gw_err *err)
{
	if (tx_begin(st, err) < 0)
		return -1;
	return tx_end(st, send_retry_tx(st, message_id, next_at, code, message, err), err);
}

static int send_failed_tx(struct store *st, int64_t message_id, const char *code,
			  const char *message, int64_t now, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_MESSAGE_FAILED);

	sqlite3_bind_int64(s, 1, message_id);
	bind_opt_str(s, 2, code);
	bind_opt_str(s, 3, message);
	sqlite3_bind_int64(s, 4, now);
	if (step_done(st, s, "mark failed", err) < 0)
		return -1;
	return update_survey_of(st, message_id, S_SURVEY_FAILED, code, message, 0, 0, err);
}

int store_send_failed(struct store *st, int64_t message_id, const char *code, const char *message,
		      int64_t now, struct gw_err *err)
{
	if (tx_begin(st, err) < 0)
		return -1;
	return tx_end(st, send_failed_tx(st, message_id, code, message, now, err), err);
}

int store_mark_uncertain(struct store *st, size_t *n, struct gw_err *err)
{
	sqlite3_stmt *s;
	int rc;

	*n = 0;
	if (tx_begin(st, err) < 0)
		return -1;
	rc = step_done(st, st_get(st, S_UNCERTAIN_SURVEYS), "mark uncertain", err);
	if (rc == 0) {
		s = st_get(st, S_UNCERTAIN_MESSAGES);
		sqlite3_bind_int64(s, 1, (sqlite3_int64)time(NULL));
		rc = step_done(st, s, "mark uncertain", err);
		*n = (size_t)sqlite3_changes(st->db);
	}
	return tx_end(st, rc, err);
}

/* ---- inbound texts and statuses -------------------------------------------------------- */

/* Finds the newest open survey for the text's number; 1 found, 0 none, -1 error. */
static int match_open(struct store *st, const struct inbound_in *in, struct matched_survey *m,
		      struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_MATCH_OPEN);
	int rc;

	bind_str(s, 1, in->from);
	bind_str(s, 2, in->provider);
	bind_str(s, 3, in->channel);
	sqlite3_bind_int64(s, 4, in->now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		col_copy(s, 0, m->id, sizeof(m->id));
		col_copy(s, 1, m->customer_id, sizeof(m->customer_id));
		col_copy(s, 2, m->name, sizeof(m->name));
		col_copy(s, 3, m->locale, sizeof(m->locale));
		col_copy(s, 4, m->kind, sizeof(m->kind));
		col_copy(s, 5, m->channel, sizeof(m->channel));
		col_copy(s, 6, m->status, sizeof(m->status));
		m->reprompted = sqlite3_column_int(s, 7);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(st->db, rc, "match survey", err);
}

static int apply_decision(struct store *st, const struct inbound_in *in, int64_t msg_id,
			  const struct matched_survey *m, const struct inbound_decision *d,
			  struct gw_err *err)
{
	sqlite3_stmt *s;

	if (d->action == INBOUND_ANSWER) {
		s = st_get(st, S_RESPONSE_UPSERT);
		bind_str(s, 1, m->id);
		sqlite3_bind_int(s, 2, d->score);
		sqlite3_bind_text(s, 3, d->comment ? d->comment : "", (int)d->comment_len,
				  SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 4, in->text, (int)in->text_len, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, msg_id);
		sqlite3_bind_int64(s, 6, in->now);
		if (step_done(st, s, "save response", err) < 0)
			return -1;
		s = st_get(st, S_SURVEY_ANSWERED);
		bind_str(s, 1, m->id);
		sqlite3_bind_int64(s, 2, in->now);
		if (step_done(st, s, "mark answered", err) < 0)
			return -1;
	} else if (d->action == INBOUND_REPROMPT) {
		s = st_get(st, S_SURVEY_REPROMPTED);
		bind_str(s, 1, m->id);
		if (step_done(st, s, "mark reprompted", err) < 0)
			return -1;
	}
	if (d->reply)
		return insert_outbound(st, m->id, d->reply_purpose, m->channel, in->provider, in->from,
				       d->reply, in->now, in->now, err);
	return 0;
}

static int record_inbound_tx(struct store *st, const struct inbound_in *in,
			     inbound_decide_fn decide, void *ctx, struct inbound_result *res,
			     struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_INBOUND_INSERT);
	struct matched_survey m;
	struct inbound_decision d;
	int64_t msg_id;
	int rc;

	bind_str(s, 1, in->channel);
	bind_str(s, 2, in->provider);
	bind_str(s, 3, in->from);
	sqlite3_bind_text(s, 4, in->text, (int)in->text_len, SQLITE_TRANSIENT);
	bind_str(s, 5, in->provider_message_id);
	sqlite3_bind_int64(s, 6, in->now);
	rc = sqlite3_step(s);
	msg_id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		res->duplicate = 1;
		return 0;
	}
	if (rc != SQLITE_ROW)
		return db_fail(st->db, rc, "save inbound text", err);

	memset(&m, 0, sizeof(m));
	memset(&d, 0, sizeof(d));
	if ((rc = match_open(st, in, &m, err)) < 0)
		return -1;
	decide(ctx, rc ? &m : NULL, &d);
	res->action = d.action;
	if (!rc)
		return 0;
	res->matched = 1;
	snprintf(res->survey_id, sizeof(res->survey_id), "%s", m.id);
	s = st_get(st, S_INBOUND_LINK);
	sqlite3_bind_int64(s, 1, msg_id);
	bind_str(s, 2, m.id);
	bind_str(s, 3, m.channel);
	if (step_done(st, s, "link inbound text", err) < 0)
		return -1;
	return apply_decision(st, in, msg_id, &m, &d, err);
}

int store_record_inbound(struct store *st, const struct inbound_in *in, inbound_decide_fn decide,
			 void *ctx, struct inbound_result *res, struct gw_err *err)
{
	memset(res, 0, sizeof(*res));
	if (tx_begin(st, err) < 0)
		return -1;
	return tx_end(st, record_inbound_tx(st, in, decide, ctx, res, err), err);
}

/* Order of delivery states; a status only replaces one of lower rank. */
static int delivery_rank(const char *s)
{
	static const char *const order[] = { "queued", "sending", "uncertain", "sent", "delivered",
					     "read" };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(s, order[i]) == 0)
			return (int)i;
	return 100;     /* failed, answered, expired, ...: final */
}

/* May a message or survey in state `cur` move to `next`? */
static int status_advances(const char *cur, const char *next)
{
	if (strcmp(next, "failed") == 0)
		return delivery_rank(cur) <= delivery_rank("sent");
	return delivery_rank(next) > delivery_rank(cur) && delivery_rank(cur) < 100;
}

static int record_status_tx(struct store *st, const char *provider, const char *pid,
			    const char *status, const char *code, const char *message, int64_t now,
			    int *found, struct gw_err *err)
{
	sqlite3_stmt *s = st_get(st, S_STATUS_FIND);
	char cur[16], survey_id[SURVEY_ID_LEN], purpose[16];
	int64_t msg_id;
	int rc;

	bind_str(s, 1, provider);
	bind_str(s, 2, pid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		msg_id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, cur, sizeof(cur));
		col_copy(s, 2, survey_id, sizeof(survey_id));
		col_copy(s, 3, purpose, sizeof(purpose));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : db_fail(st->db, rc, "find message", err);
	*found = 1;
	if (!status_advances(cur, status))
		return 0;
	s = st_get(st, S_MESSAGE_STATUS);
	sqlite3_bind_int64(s, 1, msg_id);
	bind_str(s, 2, status);
	bind_opt_str(s, 3, code);
	bind_opt_str(s, 4, message);
	sqlite3_bind_int64(s, 5, now);
	if (step_done(st, s, "update message status", err) < 0)
		return -1;
	if (strcmp(purpose, "survey") != 0 || !survey_id[0])
		return 0;
	/* The survey follows its message, unless it moved on (answered, expired, ...). */
	s = st_get(st, S_SURVEY_STATUS);
	bind_str(s, 1, survey_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		col_copy(s, 0, cur, sizeof(cur));
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return db_fail(st->db, rc, "read survey status", err);
	if (!status_advances(cur, status))
		return 0;
	s = st_get(st, S_SURVEY_STATUS_BY_DELIVERY);
	bind_str(s, 1, survey_id);
	bind_str(s, 2, status);
	bind_opt_str(s, 3, code);
	bind_opt_str(s, 4, message);
	sqlite3_bind_int64(s, 5, now);
	return step_done(st, s, "update survey status", err);
}

int store_record_status(struct store *st, const char *provider, const char *provider_message_id,
			const char *status, const char *code, const char *message, int64_t now,
			int *found, struct gw_err *err)
{
	*found = 0;
	if (tx_begin(st, err) < 0)
		return -1;
	return tx_end(st, record_status_tx(st, provider, provider_message_id, status, code, message,
					   now, found, err), err);
}

/* ---- export ---------------------------------------------------------------------------- */

static const char *col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? (const char *)v : "";
}

struct export_cursor {
	sqlite3 *db;
	sqlite3_stmt *stmt;
};

struct export_cursor *store_export_open(struct store *st, const struct export_filter *f,
					struct gw_err *err)
{
	static const char sql[] =
		"SELECT s.id, c.ext_id, s.phone, s.channel, s.kind, r.score, r.comment,"
		" s.interaction_id, s.touchpoint, s.agent, coalesce(s.sent_at, 0), r.answered_at,"
		" s.name, s.locale"
		" FROM responses r JOIN surveys s ON s.id = r.survey_id"
		" JOIN customers c ON c.id = s.customer_id"
		" WHERE (?1 IS NULL OR s.kind = ?1) AND (?2 IS NULL OR r.answered_at >= ?2)"
		" AND (?3 IS NULL OR r.answered_at < ?3)"
		" ORDER BY r.answered_at, s.id";
	struct export_cursor *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		gw_err_set(err, 503, "store_unavailable", "", "out of memory");
		return NULL;
	}
	if (open_conn(st->path, SQLITE_OPEN_READONLY, &c->db, err) < 0)
		goto fail;
	if ((rc = sqlite3_prepare_v2(c->db, sql, -1, &c->stmt, NULL)) != SQLITE_OK) {
		db_fail(c->db, rc, "export", err);
		goto fail;
	}
	bind_str(c->stmt, 1, f->kind);
	if (f->since)
		sqlite3_bind_int64(c->stmt, 2, f->since);
	if (f->until)
		sqlite3_bind_int64(c->stmt, 3, f->until);
	return c;
fail:
	store_export_close(c);
	return NULL;
}

int store_export_next(struct export_cursor *c, struct export_row *r, struct gw_err *err)
{
	sqlite3_stmt *s = c->stmt;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(c->db, rc, "export", err);
	r->survey_id = col_str(s, 0);
	r->customer_id = col_str(s, 1);
	r->phone = col_str(s, 2);
	r->channel = col_str(s, 3);
	r->kind = col_str(s, 4);
	r->score = sqlite3_column_int(s, 5);
	r->comment = col_str(s, 6);
	r->comment_len = (size_t)sqlite3_column_bytes(s, 6);
	r->interaction_id = col_str(s, 7);
	r->touchpoint = col_str(s, 8);
	r->agent = col_str(s, 9);
	r->sent_at = sqlite3_column_int64(s, 10);
	r->answered_at = sqlite3_column_int64(s, 11);
	r->name = col_str(s, 12);
	r->locale = col_str(s, 13);
	return 1;
}

void store_export_close(struct export_cursor *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->stmt);
	sqlite3_close(c->db);
	free(c);
}
