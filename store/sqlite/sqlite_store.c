/*
 * sqlite_store.c - store.h on SQLite.
 *
 * One write connection, owned by the store's writer thread, which commits the queued writes of
 * every thread in groups (sqlite_run()); every statement on it is prepared once at open.
 * Readers (store_get_survey, store_export) open read-only connections of their own, which WAL
 * lets run beside the writer.
 *
 * Durability: WAL with synchronous=FULL, so a transaction is on disk (fsync of the WAL) before
 * COMMIT returns, and every call that returns 0 has its rows durable, across a process crash and a
 * power loss alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "schema.h"
#include "sqlite_priv.h"
#include "sqlite_store.h"

static const char *const stmt_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT job",
	[S_RELEASE] = "RELEASE job",
	[S_ROLLBACK_TO] = "ROLLBACK TO job",
	[S_SAVEPOINT_ITEM] = "SAVEPOINT item",
	[S_RELEASE_ITEM] = "RELEASE item",
	[S_ROLLBACK_TO_ITEM] = "ROLLBACK TO item",
	[S_SURVEY_BY_INTERACTION] = "SELECT id FROM surveys WHERE interaction_id = ?1 AND kind = ?2",
	[S_CUSTOMER_UPSERT] =
		"INSERT INTO customers (ext_id, phone, name, locale, timezone, created_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?6, ?5, ?5)"
		" ON CONFLICT (ext_id) DO UPDATE SET phone = ?2, name = coalesce(?3, name),"
		" locale = ?4, timezone = coalesce(?6, timezone), updated_at = ?5"
		" RETURNING id",
	[S_SURVEY_INSERT] =
		"INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
		" interaction_id, touchpoint, agent, opened_at, closed_at, status, created_at,"
		" send_after, expires_at, reason, timezone, expire_after_s)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?17, ?14, ?15, ?16,"
		" ?18, ?19, ?20)",
	[S_MESSAGE_OUT_INSERT] =
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
		" status, next_attempt_at, created_at, updated_at)"
		" VALUES (?1, 'out', ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?8)",
	[S_DUE_SELECT] =
		"SELECT m.id, coalesce(m.survey_id, ''), m.provider, m.channel, m.purpose, m.phone,"
		" m.body, m.attempts, coalesce(s.kind, ''), coalesce(s.locale, ''),"
		" coalesce(s.name, ''), m.needs_template,"
		" coalesce((SELECT max(i.created_at) FROM messages i WHERE i.phone = m.phone"
		"   AND i.provider = m.provider AND i.direction = 'in'), 0)"
		" FROM messages m LEFT JOIN surveys s ON s.id = m.survey_id"
		" WHERE m.status = 'queued' AND m.next_attempt_at <= ?1 AND m.provider = ?3"
		/* WhatsApp: one message per ?4 s to the same person (Meta's pair rate limit). */
		" AND NOT (?4 > 0 AND m.channel = 'whatsapp' AND EXISTS (SELECT 1 FROM messages o"
		"   WHERE o.phone = m.phone AND o.direction = 'out' AND o.channel = 'whatsapp'"
		"   AND o.id <> m.id AND (o.status = 'sending'"
		"        OR (o.status IN ('sent', 'delivered', 'read') AND o.sent_at > ?1 - ?4))))"
		" ORDER BY m.next_attempt_at, m.id LIMIT ?2",
	[S_MESSAGE_CLAIM] =
		"UPDATE messages SET status = 'sending', attempts = attempts + 1, updated_at = ?2,"
		" lease_until = ?2 + ?3 WHERE id = ?1",
	[S_SURVEY_SET_STATUS] =
		"UPDATE surveys SET status = ?2, attempts = (SELECT attempts FROM messages WHERE id = ?3)"
		" WHERE id = ?1 AND status IN ('queued', 'sending')",
	[S_MESSAGE_SENT] =
		"UPDATE messages SET status = 'sent', provider_message_id = ?3, sent_at = ?2,"
		" updated_at = ?2, error_code = NULL, error_message = NULL"
		" WHERE id = ?1 AND status <> 'cancelled'",
	[S_SURVEY_SENT] =
		"UPDATE surveys SET status = 'sent', sent_at = ?2, provider_message_id = ?3,"
		" expires_at = ?2 + expire_after_s, error_code = NULL, error_message = NULL"
		" WHERE id = (SELECT survey_id FROM messages WHERE id = ?1 AND purpose = 'survey')"
		" AND status IN ('sending', 'uncertain')",
	[S_MESSAGE_RETRY] =
		"UPDATE messages SET status = 'queued', next_attempt_at = ?2, error_code = ?3,"
		" error_message = ?4, updated_at = unixepoch() WHERE id = ?1 AND status <> 'cancelled'",
	[S_SURVEY_RETRY] =
		"UPDATE surveys SET status = 'queued', error_code = ?3, error_message = ?4"
		" WHERE id = (SELECT survey_id FROM messages WHERE id = ?1 AND purpose = 'survey')"
		" AND status IN ('sending', 'uncertain')",
	[S_MESSAGE_FAILED] =
		"UPDATE messages SET status = 'failed', error_code = ?3, error_message = ?4,"
		" updated_at = ?2 WHERE id = ?1 AND status <> 'cancelled'",
	[S_SURVEY_FAILED] =
		"UPDATE surveys SET status = 'failed', error_code = ?3, error_message = ?4"
		" WHERE id = (SELECT survey_id FROM messages WHERE id = ?1 AND purpose = 'survey')"
		" AND status IN ('queued', 'sending', 'sent', 'uncertain')",

	[S_UNCERTAIN_SURVEYS] =
		"UPDATE surveys SET status = 'uncertain' WHERE status = 'sending' AND id IN"
		" (SELECT survey_id FROM messages WHERE status = 'sending' AND purpose = 'survey'"
		"  AND coalesce(lease_until, 0) <= ?1)",
	[S_UNCERTAIN_MESSAGES] =
		"UPDATE messages SET status = 'uncertain', updated_at = ?2 WHERE status = 'sending'"
		" AND coalesce(lease_until, 0) <= ?1",
	[S_INBOUND_INSERT] =
		"INSERT INTO messages (direction, purpose, channel, provider, phone, body, status,"
		" provider_message_id, created_at, updated_at)"
		" VALUES ('in', 'reply', ?1, ?2, ?3, ?4, 'received', ?5, ?6, ?6)"
		" ON CONFLICT (provider, provider_message_id)"
		" WHERE provider_message_id IS NOT NULL AND direction = 'in'"
		" DO NOTHING RETURNING id",
	[S_MATCH_OPEN] =
		"SELECT s.id, c.ext_id, coalesce(s.name, ''), s.locale, s.kind, s.channel, s.status,"
		" s.reprompted, coalesce(s.follow_up_until, 0) > ?4"
		" FROM surveys s JOIN customers c ON c.id = s.customer_id"
		" WHERE s.phone = ?1 AND s.provider = ?2 AND (?3 IS NULL OR s.channel = ?3)"
		" AND ((s.status IN ('sending', 'sent', 'delivered', 'read', 'uncertain', 'answered')"
		"       AND (s.expires_at IS NULL OR s.expires_at > ?4))"
		"      OR coalesce(s.follow_up_until, 0) > ?4)"
		" ORDER BY s.created_at DESC, s.rowid DESC LIMIT 1",
	[S_INBOUND_LINK] = "UPDATE messages SET survey_id = ?2, channel = ?3 WHERE id = ?1",
	[S_RESPONSE_UPSERT] =
		"INSERT INTO responses (survey_id, score, comment, raw_text, message_id, answered_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT (survey_id) DO UPDATE SET score = ?2,"
		" comment = CASE WHEN ?3 <> '' THEN ?3 ELSE comment END, raw_text = ?4,"
		" message_id = ?5, answered_at = ?6",
	[S_SURVEY_ANSWERED] =
		"UPDATE surveys SET status = 'answered', answered_at = ?2, follow_up_until = ?3"
		" WHERE id = ?1",
	[S_RESPONSE_COMMENT] =
		"UPDATE responses SET comment = ?2 WHERE survey_id = ?1",
	[S_FOLLOW_UP_DONE] = "UPDATE surveys SET follow_up_until = NULL WHERE id = ?1",
	/* A number or its hash: an erased customer's suppression outlives the number. */
	[S_SUPPRESSED] =
		/* Two point lookups (the number, and its hash after an erasure): an IN list with
		 * ORDER BY built two temporary b-trees per call, a tenth of a trigger's time. */
		"SELECT coalesce((SELECT opted_out FROM suppressions WHERE phone = ?1), 0)"
		" OR coalesce((SELECT opted_out FROM suppressions WHERE phone = phone_hash(?1)), 0)",
	[S_PHONE_CUSTOMER] =
		"SELECT locale, coalesce(name, '') FROM customers WHERE phone = ?1"
		" ORDER BY updated_at DESC, id DESC LIMIT 1",
	[S_RECENTLY_SURVEYED] =
		/* Two indexed lookups (by customer, by phone): an OR across the join would read
		 * every survey for each trigger. */
		"SELECT 1 FROM surveys WHERE customer_id = (SELECT id FROM customers WHERE ext_id = ?1)"
		" AND created_at > ?3 AND status NOT IN ('skipped', 'failed')"
		" UNION ALL"
		" SELECT 1 FROM surveys WHERE phone = ?2 AND created_at > ?3"
		" AND status NOT IN ('skipped', 'failed') LIMIT 1",
	[S_SUPPRESS] =
		"INSERT INTO suppressions (phone, opted_out, opted_out_at, provider, updated_at)"
		" VALUES (?1, 1, ?2, ?3, ?2)"
		" ON CONFLICT (phone) DO UPDATE SET opted_out = 1, opted_out_at = ?2, provider = ?3,"
		" updated_at = ?2",
	[S_UNSUPPRESS] =
		"UPDATE suppressions SET opted_out = 0, opted_in_at = ?2, updated_at = ?2"
		" WHERE phone IN (?1, phone_hash(?1))",
	[S_CUSTOMERS_OPTED] = "UPDATE customers SET opted_out = ?2 WHERE phone = ?1",
	[S_SKIP_QUEUED_SURVEYS] =
		"UPDATE surveys SET status = 'skipped', reason = 'opted_out'"
		" WHERE phone = ?1 AND status = 'queued'",
	[S_CANCEL_QUEUED_MESSAGES] =
		"UPDATE messages SET status = 'cancelled', updated_at = ?2"
		" WHERE phone = ?1 AND direction = 'out' AND status = 'queued'",
	[S_MESSAGE_NEEDS_TEMPLATE] =
		"UPDATE messages SET status = 'queued', needs_template = 1, next_attempt_at = ?2,"
		" error_code = ?3, error_message = ?4, updated_at = ?2"
		" WHERE id = ?1 AND status <> 'cancelled'",
	[S_IDEM_GET] =
		"SELECT body_sha256, status, response, created_at FROM idempotency WHERE key = ?1",
	[S_IDEM_CLAIM] =
		"INSERT INTO idempotency (key, body_sha256, created_at) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (key) DO UPDATE SET body_sha256 = ?2, created_at = ?3, status = 0,"
		" response = NULL",
	[S_IDEM_FINISH] = "UPDATE idempotency SET status = ?2, response = ?3 WHERE key = ?1",
	[S_IDEM_FORGET] = "DELETE FROM idempotency WHERE key = ?1",
	[S_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_at < ?1",
	[S_REQUEUE_UNCERTAIN_SURVEYS] =
		"UPDATE surveys SET status = 'queued' WHERE status = 'uncertain' AND id IN"
		" (SELECT survey_id FROM messages WHERE status = 'uncertain' AND purpose = 'survey')",
	[S_REQUEUE_UNCERTAIN_MESSAGES] =
		"UPDATE messages SET status = 'queued', next_attempt_at = ?1, updated_at = ?1"
		" WHERE status = 'uncertain'",
	/* Rewrites the row as it is: a real page write, no visible change. */
	[S_HEARTBEAT] = "UPDATE heartbeat SET at = at WHERE id = 1",
	[S_EXPIRE] =
		"UPDATE surveys SET status = 'expired'"
		" WHERE status IN ('sent', 'delivered', 'read', 'uncertain') AND expires_at <= ?1",
	[S_SURVEY_REPROMPTED] = "UPDATE surveys SET reprompted = 1 WHERE id = ?1",
	[S_STATUS_FIND] =
		"SELECT id, status, coalesce(survey_id, ''), purpose FROM messages"
		" WHERE provider = ?1 AND provider_message_id = ?2 AND direction = 'out'"
		" AND provider_message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
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
	/* outbound events (sqlite_events.c) */
	[S_EVENT_INSERT] =
		"INSERT INTO events (id, type, body, next_attempt_at, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?4)",
	[S_EVENTS_DUE] =
		"SELECT seq, id, type, body, attempts, created_at FROM events"
		" WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY seq LIMIT ?2",
	[S_EVENT_DELETE] = "DELETE FROM events WHERE seq = ?1",
	[S_EVENT_RETRY] =
		"UPDATE events SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3"
		" WHERE seq = ?1",
	[S_EVENT_EXPIRE] =
		"UPDATE events SET status = 'expired', attempts = attempts + 1, last_error = ?3"
		" WHERE seq = ?1",
	[S_EVENT_SURVEY] =
		"SELECT s.kind, s.channel, s.interaction_id, coalesce(s.touchpoint, ''),"
		" coalesce(s.agent, ''), c.ext_id, r.survey_id IS NOT NULL, coalesce(r.score, 0),"
		" coalesce(r.comment, '')"
		" FROM surveys s JOIN customers c ON c.id = s.customer_id"
		" LEFT JOIN responses r ON r.survey_id = s.id WHERE s.id = ?1",
	[S_EVENT_PHONE_CUSTOMER] =
		"SELECT ext_id FROM customers WHERE phone = ?1"
		" ORDER BY updated_at DESC, id DESC LIMIT 1",
};

/* ---- small helpers --------------------------------------------------------------------- */

/* Records a failure of `db`.  Errors that a retry may cure (full disk, I/O, lock, read-only
 * file) map to 503; anything else to 500. */
int db_fail(sqlite3 *db, int rc, const char *what, struct gw_err *err)
{
	int prim = rc & 0xff;
	int status = (prim == SQLITE_FULL || prim == SQLITE_IOERR || prim == SQLITE_BUSY ||
		      prim == SQLITE_LOCKED || prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN ||
		      prim == SQLITE_NOMEM) ? 503 : 500;

	return gw_err_set(err, status, "store_unavailable", "", "database %s failed: %s", what,
			  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

sqlite3_stmt *st_get(struct sqlite_store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

void bind_opt_str(sqlite3_stmt *s, int i, const char *v)
{
	bind_str(s, i, v && *v ? v : NULL);
}

void col_copy(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	size_t len = v ? (size_t)sqlite3_column_bytes(s, i) : 0;

	if (len >= n)
		len = n - 1;
	if (len)
		memcpy(dst, v, len);
	dst[len] = '\0';
}

char *col_dup(sqlite3_stmt *s, int i)
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
int step_done(struct sqlite_store *st, sqlite3_stmt *s, const char *what, struct gw_err *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_fail(st->db, rc, what, err);
	return 0;
}

/* ---- group commit (group.c) on the write connection ---------------------------------------- */

static int g_invoke(void *be, group_fn fn, void *arg, struct gw_err *err)
{
	return ((sqlite_job_fn)fn)(be, arg, err);
}

static int g_begin(void *be, struct gw_err *err)
{
	struct sqlite_store *st = be;

	return step_done(st, st_get(st, S_BEGIN), "begin", err);
}

static int g_savepoint(void *be, struct gw_err *err)
{
	struct sqlite_store *st = be;

	return step_done(st, st_get(st, S_SAVEPOINT), "savepoint", err);
}

static void g_end_savepoint(void *be, int undo)
{
	struct sqlite_store *st = be;

	if (undo)
		sqlite3_step(st_get(st, S_ROLLBACK_TO));
	sqlite3_step(st_get(st, S_RELEASE));
	sqlite3_reset(st->stmt[S_ROLLBACK_TO]);
	sqlite3_reset(st->stmt[S_RELEASE]);
}

/* After some errors (a full disk, an I/O error) SQLite rolls the whole transaction back by
 * itself. */
static int g_in_transaction(void *be)
{
	return !sqlite3_get_autocommit(((struct sqlite_store *)be)->db);
}

/* synchronous = FULL: COMMIT returns once the WAL is fsync'ed, for the whole group. */
static int g_commit(void *be, struct gw_err *err)
{
	struct sqlite_store *st = be;
	int rc = sqlite3_step(st_get(st, S_COMMIT));

	sqlite3_reset(st->stmt[S_COMMIT]);
	return rc == SQLITE_DONE ? 0 : db_fail(st->db, rc, "commit", err);
}

static void g_rollback(void *be)
{
	struct sqlite_store *st = be;

	sqlite3_step(st_get(st, S_ROLLBACK));
	sqlite3_reset(st->stmt[S_ROLLBACK]);
}

static void reset_log(struct sqlite_store *st, int idle);

static void g_between(void *be, int idle)
{
	reset_log(be, idle);
}

static const struct group_ops sqlite_group = {
	.invoke = g_invoke,
	.begin = g_begin,
	.savepoint = g_savepoint,
	.end_savepoint = g_end_savepoint,
	.in_transaction = g_in_transaction,
	.commit = g_commit,
	.rollback = g_rollback,
	.between = g_between,
};

/* ---- checkpoints ----------------------------------------------------------------------- */

/*
 * Every CHECKPOINT_MS the checkpointer thread runs a passive checkpoint on a connection of its
 * own: it copies what it can of the log into the database without waiting for the writer or for
 * readers.  Once the whole log is copied and no reader still needs it, the writer starts it again
 * from its beginning at its next commit (and cuts the file to journal_size_limit).  Under
 * sustained writes a passive checkpoint seldom catches up (pages keep arriving while it copies),
 * and readers that keep an old snapshot hold the log too; past the limit the checkpointer then
 * asks the writer to reset the log, which it does between two groups (reset_log()): a RESTART
 * checkpoint while writes are waiting (the next commit starts the log over and cuts the file to
 * the limit), a TRUNCATE one, which empties the file, when none is.  Truncating a large file
 * under load held writes up for tens of milliseconds; a restart reuses the file's pages.
 * (The writer's own automatic checkpoint is off: it would run inside a commit.)
 */
#define CHECKPOINT_MS 200
#define RESET_WAIT_MS 100       /* longest a reset waits for readers, holding up writes */
#define RESET_BACKOFF_MS 1000   /* after a reset readers held back: then doubling */
#define RESET_BACKOFF_MAX_MS 16000
#define CATCH_UP_ROUNDS 4       /* passive checkpoints before a reset, to leave it little */
#define CATCH_UP_PAGES 256
#define BUSY_TIMEOUT_MS 5000

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t min_i64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* Records what one checkpoint (on either thread) did: SQLite's result `rc` and its counts of
 * pages in the log (nlog) and copied back so far (nckpt), against what the previous checkpoint
 * saw, so that frames_copied counts each page once. */
static void note_checkpoint(struct sqlite_store *st, sqlite3 *db, int rc, int nlog, int nckpt,
			    int resetting)
{
	struct store_log_stats *ls = &st->log_stats;

	pthread_mutex_lock(&st->log_lock);
	ls->checkpoints++;
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		snprintf(ls->error, sizeof(ls->error), "checkpoint failed: %s", sqlite3_errmsg(db));
	} else if (nlog < 0) {
		snprintf(ls->error, sizeof(ls->error), "checkpoint found no log to copy");
	} else {
		/* A log that shrank or whose copy count went back has started over. */
		int64_t from = (nlog < ls->frames || nckpt < ls->frames - ls->frames_pending) ?
			0 : ls->frames - ls->frames_pending;

		ls->frames_copied += (uint64_t)(nckpt - from);
		ls->frames = nlog;
		ls->frames_pending = nlog - nckpt;
		if (nckpt == nlog && rc == SQLITE_OK) {
			st->log_complete_ms = monotonic_ms();
			ls->error[0] = '\0';
			if (resetting) {
				ls->resets++;
				st->reset_backoff_ms = 0;
			}
		} else {
			/* Readers kept the log busy: holding writes up again at once would only
			 * slow intake down while they read. */
			if (resetting)
				st->reset_backoff_ms = st->reset_backoff_ms ?
					min_i64(2 * st->reset_backoff_ms, RESET_BACKOFF_MAX_MS) :
					RESET_BACKOFF_MS;
			snprintf(ls->error, sizeof(ls->error), "%d of %d log pages could not be copied "
				 "yet: a reader still uses an older snapshot", nlog - nckpt, nlog);
		}
	}
	pthread_mutex_unlock(&st->log_lock);
}

/* On the writer thread, between two groups: copies the whole log back and has it start over,
 * waiting at most RESET_WAIT_MS for readers of older snapshots (writes wait meanwhile).  `idle`
 * (no write waiting): the file is emptied too. */
static void reset_log(struct sqlite_store *st, int idle)
{
	int nlog = -1, nckpt = -1, rc;

	/* Never wait for the checkpointer's round (writes would wait with it): it asks again. */
	if (pthread_mutex_trylock(&st->ckpt_lock) != 0)
		return;
	sqlite3_busy_timeout(st->db, RESET_WAIT_MS);
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, idle ? SQLITE_CHECKPOINT_TRUNCATE :
				       SQLITE_CHECKPOINT_RESTART, &nlog, &nckpt);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	pthread_mutex_unlock(&st->ckpt_lock);
	note_checkpoint(st, st->db, rc, nlog, nckpt, 1);
}

/* One passive checkpoint on `db`: 0 and the pages still to copy in *pending, or -1. */
static int checkpoint_passive(struct sqlite_store *st, sqlite3 *db, int *pending)
{
	int nlog = -1, nckpt = -1, rc;

	rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
	if (rc == SQLITE_OK && nlog < 0) {
		/* SQLite opens the log on a connection's first read; before it a checkpoint
		 * succeeds and copies nothing (-1, -1).  Read, and try again. */
		sqlite3_exec(db, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL);
		rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
	}
	note_checkpoint(st, db, rc, nlog, nckpt, 0);
	*pending = nlog - nckpt;
	return rc == SQLITE_OK && nlog >= 0 ? 0 : -1;
}

static void checkpoint_round(struct sqlite_store *st, sqlite3 *db, int64_t *last_ask_ms)
{
	char wal[4200];
	int pending, rc;
	int64_t bytes, backoff_ms, limit;

	pthread_mutex_lock(&st->ckpt_lock);
	rc = checkpoint_passive(st, db, &pending);
	pthread_mutex_unlock(&st->ckpt_lock);
	if (rc < 0)
		return;         /* left for the next round: the log keeps every commit */
	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	bytes = file_size(wal);
	pthread_mutex_lock(&st->log_lock);
	st->log_stats.bytes = bytes;
	backoff_ms = st->reset_backoff_ms;
	limit = st->log_stats.limit;
	pthread_mutex_unlock(&st->log_lock);
	if (bytes > limit && monotonic_ms() - *last_ask_ms >= backoff_ms) {
		/* The writer waits while a reset copies what is left: copy the pages that came
		 * during this round first, a few times, so that little is. */
		pthread_mutex_lock(&st->ckpt_lock);
		for (int i = 0; i < CATCH_UP_ROUNDS && pending > CATCH_UP_PAGES; i++)
			if (checkpoint_passive(st, db, &pending) < 0)
				break;
		pthread_mutex_unlock(&st->ckpt_lock);
		*last_ask_ms = monotonic_ms();
		group_ask(&st->q);
	}
}

static void *checkpointer_main(void *arg)
{
	struct sqlite_store *st = arg;
	struct gw_err err = { 0 };
	sqlite3 *db = NULL;
	int64_t last_ask_ms = 0;

	pthread_setname_np(pthread_self(), "gw-checkpoint");
	if (open_conn(st->path, SQLITE_OPEN_READWRITE, &db, &err) < 0) {
		pthread_mutex_lock(&st->log_lock);
		snprintf(st->log_stats.error, sizeof(st->log_stats.error), "%s", err.msg);
		pthread_mutex_unlock(&st->log_lock);
		return NULL;
	}
	pthread_mutex_lock(&st->ckpt_wait);
	while (!st->ckpt_stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += CHECKPOINT_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&st->ckpt_cond, &st->ckpt_wait, &until);
		if (st->ckpt_stop)
			break;
		pthread_mutex_unlock(&st->ckpt_wait);
		/* A failure (a full disk) is left for the next round: the log keeps every commit. */
		checkpoint_round(st, db, &last_ask_ms);
		pthread_mutex_lock(&st->ckpt_wait);
	}
	pthread_mutex_unlock(&st->ckpt_wait);
	sqlite3_close(db);
	return NULL;
}

/* Whenever the writer starts the log over, the file is cut back to the limit. */
static int set_log_limit(sqlite3 *db, int64_t bytes, struct gw_err *err)
{
	char sql[64];
	int rc;

	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %lld", (long long)bytes);
	if ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return db_fail(db, rc, "set the log's size limit", err);
	return 0;
}

static int log_limit_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	return set_log_limit(st->db, *(const int64_t *)arg, err);
}

int sqlite_set_log_limit(struct sqlite_store *st, int64_t bytes, struct gw_err *err)
{
	if (sqlite_run(st, log_limit_job, &bytes, err) < 0)
		return -1;
	pthread_mutex_lock(&st->log_lock);
	st->log_stats.limit = bytes;
	pthread_mutex_unlock(&st->log_lock);
	return 0;
}

void sqlite_log_stats(struct sqlite_store *st, struct store_log_stats *out)
{
	pthread_mutex_lock(&st->log_lock);
	*out = st->log_stats;
	out->since_complete_s = st->log_complete_ms ?
		(double)(monotonic_ms() - st->log_complete_ms) / 1000.0 : -1.0;
	out->kept = 1;
	pthread_mutex_unlock(&st->log_lock);
}

int sqlite_run(struct sqlite_store *st, sqlite_job_fn fn, void *arg, struct gw_err *err)
{
	return group_run(&st->q, (group_fn)fn, arg, err);
}

int sqlite_submit(struct sqlite_store *st, sqlite_job_fn fn, const void *arg, size_t arg_len,
		  struct gw_err *err, void (*on_done)(void *ctx, int rc), void *ctx)
{
	return group_submit(&st->q, (group_fn)fn, arg, arg_len, err, on_done, ctx);
}

const char *col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? (const char *)v : "";
}

int insert_outbound(struct sqlite_store *st, const char *survey_id, const char *purpose,
		    const char *channel, const char *provider, const char *phone, const char *body,
		    int64_t due, int64_t now, struct gw_err *err)
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

static int migrate(struct sqlite_store *st, struct gw_err *err)
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

void sqlite_store_set_pair_interval(struct sqlite_store *st, int64_t seconds)
{
	st->pair_interval_s = seconds;
}

void sqlite_store_set_send_lease(struct sqlite_store *st, int64_t seconds)
{
	st->send_lease_s = seconds;
}

int sqlite_store_schema_version(void)
{
	return schema_version();
}

const char *sqlite_store_library_version(void)
{
	return sqlite3_libversion();
}

/* Opens a connection with the pragmas every connection of the store uses, on the VFS that
 * gathers the log's writes (wal_vfs.c; the default one if it could not be registered). */
int open_conn(const char *path, int flags, sqlite3 **out, struct gw_err *err)
{
	int rc = sqlite3_open_v2(path, out, flags | SQLITE_OPEN_NOMUTEX, sqlite_vfs());

	if (rc != SQLITE_OK) {
		db_fail(*out, rc, "open", err);
		sqlite3_close(*out);
		*out = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*out, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(*out, 1);
	return 0;
}

struct sqlite_store *sqlite_store_open(const char *path, struct gw_err *err)
{
	struct sqlite_store *st = calloc(1, sizeof(*st));
	char *msg = NULL;
	int rc;

	if (!st || !(st->path = strdup(path))) {
		free(st);
		gw_errf(err, "out of memory");
		return NULL;
	}
	/* SQLite counts every allocation under one global mutex unless told not to; the writer, the
	 * checkpointer and every reader share it.  Only possible before SQLite starts (later calls
	 * fail harmlessly). */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	pthread_mutex_init(&st->ckpt_wait, NULL);
	pthread_cond_init(&st->ckpt_cond, NULL);
	pthread_mutex_init(&st->log_lock, NULL);
	pthread_mutex_init(&st->ckpt_lock, NULL);
	pthread_mutex_init(&st->readers_lock, NULL);
	st->log_stats.limit = STORE_LOG_LIMIT_DEFAULT;
	if (make_parent_dirs(path, err) < 0 ||
	    open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &st->db, err) < 0)
		goto fail;
	/* secure_delete: what a write replaces is zeroed, so an erasure leaves no old copy in the
	 * database's free space (sqlite_erase_customer()). */
	if (sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
			 "PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -16384;"
			 "PRAGMA temp_store = MEMORY;", NULL, NULL,
			 &msg) != SQLITE_OK || register_phone_hash(st->db) != SQLITE_OK) {
		gw_errf(err, "%s: cannot set up the database: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	if (migrate(st, err) < 0 || set_log_limit(st->db, STORE_LOG_LIMIT_DEFAULT, err) < 0)
		goto fail;
	for (int i = 0; i < S__COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			gw_errf(err, "preparing statement %d: %s", i, sqlite3_errmsg(st->db));
			goto fail;
		}
	}
	st->pair_interval_s = 6;
	st->send_lease_s = 120;
	if (group_start(&st->q, &sqlite_group, st, 0, "gw-writer", err) < 0)
		goto fail;
	if (pthread_create(&st->checkpointer, NULL, checkpointer_main, st) != 0) {
		gw_errf(err, "cannot start the store's checkpoint thread");
		goto fail;
	}
	st->checkpointer_running = 1;
	return st;
fail:
	sqlite_store_close(st);
	return NULL;
}

void sqlite_store_close(struct sqlite_store *st)
{
	if (!st)
		return;
	/* The checkpointer first: it asks the writer for resets (group_ask()). */
	if (st->checkpointer_running) {
		pthread_mutex_lock(&st->ckpt_wait);
		st->ckpt_stop = 1;
		pthread_cond_signal(&st->ckpt_cond);
		pthread_mutex_unlock(&st->ckpt_wait);
		pthread_join(st->checkpointer, NULL);
	}
	group_stop(&st->q); /* the writer runs every queued job before it stops */
	readers_close_all(st);
	for (int i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->ckpt_wait);
	pthread_cond_destroy(&st->ckpt_cond);
	pthread_mutex_destroy(&st->log_lock);
	pthread_mutex_destroy(&st->ckpt_lock);
	pthread_mutex_destroy(&st->readers_lock);
	free(st->path);
	free(st);
}

/* A real write: in WAL mode a transaction that writes nothing commits even on a full disk. */
static int heartbeat_job(struct sqlite_store *st, void *arg, struct gw_err *err)
{
	(void)arg;
	return step_done(st, st_get(st, S_HEARTBEAT), "write heartbeat", err);
}

#define PROBE_BYTES (256 * 1024)

/* Writes, syncs and removes PROBE_BYTES beside the database: SQLite reuses its WAL file from the
 * start after a checkpoint, so a small write can succeed on a full disk that refuses any real
 * request; this one cannot. */
static int probe_space(const struct sqlite_store *st, struct gw_err *err)
{
	static const char zeros[4096];
	char path[4200];
	int fd, rc = -1, e = 0;

	snprintf(path, sizeof(path), "%s-healthz", st->path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return gw_err_set(err, 503, "store_unavailable", "", "cannot write beside %s: %s",
				  st->path, strerror(errno));
	for (size_t done = 0; done < PROBE_BYTES; done += sizeof(zeros))
		if (write(fd, zeros, sizeof(zeros)) != (ssize_t)sizeof(zeros)) {
			e = errno ? errno : ENOSPC;
			goto out;
		}
	if (fsync(fd) != 0) {
		e = errno;
		goto out;
	}
	rc = 0;
out:
	close(fd);
	unlink(path);
	if (rc < 0)
		gw_err_set(err, 503, "store_unavailable", "", "no room to write beside %s: %s",
			   st->path, strerror(e));
	return rc;
}

int sqlite_check_writable(struct sqlite_store *st, struct gw_err *err)
{
	if (probe_space(st, err) < 0)
		return -1;
	return sqlite_run(st, heartbeat_job, NULL, err);
}
