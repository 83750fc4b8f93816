/*
 * test_store.c - store.h on either backend, as a specification.
 *
 * Each test gets a fresh temp directory under /tmp with its own database (removed afterwards):
 * the SQLite file, or with GATEWAY_TEST_BACKEND=postgres a fresh PostgreSQL database (tests/
 * support/unit.h).  It drives the store only through store.h; the rows a call wrote are then
 * checked from a connection of the test's own, the way an operator would inspect them, in SQL
 * both backends accept.  Tests about SQLite itself (its file, log, locks) skip on PostgreSQL.
 *
 * Times are small made-up Unix seconds: what matters is their order, never the wall clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "support/unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixture: a temp dir, a database path inside a folder that does not exist yet ---------- */

/* fx_new: the temp dir only, for the tests of opening; fx_open: the store already open. */
static int fx_new(void **state)
{
	return temp_store_setup(state, "test_store", "var/db/gateway.db", 0);
}

static int fx_open(void **state)
{
	return temp_store_setup(state, "test_store", "var/db/gateway.db", 1);
}

static int fx_free(void **state)
{
	return temp_store_teardown(state);
}

/* ---- looking at the file directly ------------------------------------------------------- */

static sqlite3 *db_open_ro(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/* The integer a one-value query (printf-style SQL) returns, on a connection of its own to the
 * store's database, whichever the backend (NULL reads as -1, so that "unset" is visible).  SQL
 * meant for both backends: no rowid, typeof or PRAGMA, booleans as CASE WHEN ... THEN 1 ELSE 0. */
static int64_t q_int(struct temp_store *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int64_t q_int(struct temp_store *f, const char *fmt, ...)
{
	char sql[1024], out[64];
	int is_null;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	temp_store_query(f, sql, out, sizeof(out), &is_null);
	return is_null ? -1 : strtoll(out, NULL, 10);
}

/* The text the query returns, "(null)" for NULL. */
static void q_text(struct temp_store *f, char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void q_text(struct temp_store *f, char *out, size_t n, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	temp_store_query(f, sql, out, n, NULL);
}

#define ASSERT_TEXT(f, want, ...) do {                                  \
		char got_[512];                                         \
		q_text((f), got_, sizeof(got_), __VA_ARGS__);           \
		assert_string_equal(got_, (want));                      \
	} while (0)

static int64_t count_rows(struct temp_store *f, const char *table)
{
	return q_int(f, "SELECT count(*) FROM %s", table);
}

/* ---- making surveys --------------------------------------------------------------------- */

/* A complete survey_new for survey `id` (interaction "chat-<id>"), created at `now`, due at once
 * and open for two days: the shared defaults, with the chat's times. */
static void sn_init(struct new_survey *n, const char *id, int64_t now)
{
	new_survey_init(n, id, now);
	n->sn.opened_at = "2026-11-22T10:00:00Z";
	n->sn.closed_at = "2026-11-22T10:12:30Z";
}

static void create_ok(struct temp_store *f, const struct survey_new *sn, int want_created,
		      const char *want_id)
{
	struct gw_err err = { 0 };
	char id[SURVEY_ID_LEN] = "";
	int created = -1;

	if (store_create_survey(f->st, sn, id, &created, &err) != 0)
		print_message("store_create_survey(%s): %s\n", sn->id, err.msg);
	assert_int_equal(created, want_created);
	assert_string_equal(id, want_id);
}

/* Claims due messages of `provider` at `now`; expects exactly one, for survey `id` (purpose
 * "survey"), and returns its message id. */
static int64_t claim_one(struct temp_store *f, const char *provider, int64_t now, const char *id)
{
	struct outbox_item items[4];
	struct gw_err err = { 0 };
	size_t n = 99;
	int64_t mid;

	assert_int_equal(store_claim_due(f->st, now, provider, items, ARRAY_LEN(items), &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].survey_id, id);
	mid = items[0].message_id;
	outbox_item_release(&items[0]);
	return mid;
}

/* Creates survey n and takes it to `sent` with provider id `pid` (claimed at send_after,
 * accepted one second later).  Returns the message id. */
static int64_t create_sent(struct temp_store *f, struct new_survey *n, const char *pid)
{
	struct gw_err err = { 0 };
	int64_t mid;

	create_ok(f, &n->sn, 1, n->sn.id);
	mid = claim_one(f, n->sn.provider, n->sn.send_after, n->sn.id);
	assert_int_equal(store_send_accepted(f->st, mid, pid, n->sn.send_after + 1, &err), 0);
	return mid;
}

/* A start-up's store_mark_uncertain(); returns how many it marked.  The backends differ on
 * purpose: SQLite's start-up takes every claim left in `sending` (one process owns the file, and
 * is given no time, as the gateway's start does), PostgreSQL's only the claims whose lease had
 * ended by `pg_now` (another instance's live claims are its own to finish), so the test gives it
 * a time past the leases it means to end. */
static size_t start_up_uncertain(struct temp_store *f, int64_t pg_now)
{
	struct gw_err err = { 0 };
	size_t k = 99;

	if (store_mark_uncertain(f->st, temp_store_on_postgres() ? pg_now : 0, &k, &err) != 0)
		fail_msg("store_mark_uncertain: %s", err.msg);
	return k;
}

/* ---- inbound helpers ---------------------------------------------------------------------- */

/* A scripted decide callback: records what it was shown and answers with `answer`. */
struct decider {
	int calls;
	int got_null;
	struct matched_survey seen;
	struct inbound_view view;       /* the last view, its survey pointer cleared */
	struct inbound_decision answer;
};

static void decide_scripted(void *ctx, const struct inbound_view *v, struct inbound_decision *out)
{
	struct decider *d = ctx;
	const struct matched_survey *s = v->survey;

	d->calls++;
	d->got_null = s == NULL;
	if (s)
		d->seen = *s;
	d->view = *v;
	d->view.survey = NULL;
	*out = d->answer;
}

static int inbound(struct temp_store *f, const char *provider, const char *pid, const char *channel,
		   const char *from, const char *text, size_t len, int64_t now, struct decider *d,
		   struct inbound_result *res)
{
	struct inbound_in in = {
		.provider = provider, .provider_message_id = pid, .channel = channel, .from = from,
		.text = text, .text_len = len, .now = now,
	};
	struct gw_err err = { 0 };
	int rc = store_record_inbound(f->st, &in, decide_scripted, d, res, &err);

	if (rc != 0)
		print_message("store_record_inbound(%s): %s\n", pid, err.msg);
	return rc;
}

/* Answers the open survey of `from` (twilio, any channel) with `score`, no reply queued. */
static void answer(struct temp_store *f, const char *from, const char *pid, int score, int64_t now,
		   const char *want_survey)
{
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = score } };
	struct inbound_result res;

	assert_int_equal(inbound(f, "twilio", pid, NULL, from, "ok", 2, now, &d, &res), 0);
	assert_int_equal(res.matched, 1);
	assert_string_equal(res.survey_id, want_survey);
}

/* ---- open, migrate ------------------------------------------------------------------------ */

static void test_open_creates_folder_file_wal_and_version(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	char folder[256];
	struct stat sb;

	SKIP_ON_POSTGRES("the SQLite file, its folder, write-ahead log and PRAGMA user_version");

	snprintf(folder, sizeof(folder), "%s/var/db", f->dir);
	assert_int_equal(stat(folder, &sb), -1);

	f->st = store_open(f->path, &err);
	assert_non_null(f->st);
	assert_int_equal(stat(folder, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(stat(f->path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));

	assert_true(store_schema_version() >= 1);
	assert_int_equal(q_int(f, "PRAGMA user_version"), store_schema_version());
	ASSERT_TEXT(f, "wal", "PRAGMA journal_mode");
	/* the schema is there and empty */
	assert_int_equal(count_rows(f, "surveys"), 0);
	assert_int_equal(count_rows(f, "messages"), 0);
	assert_int_equal(count_rows(f, "customers"), 0);
	assert_int_equal(count_rows(f, "responses"), 0);
	assert_int_equal(store_check_writable(f->st, &err), 0);
}

static void test_reopen_keeps_data_and_skips_migrations(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;

	sn_init(&n, "s-keep", 1000);
	create_ok(f, &n.sn, 1, "s-keep");
	store_close(f->st);

	/* Were migration 1 run again, its CREATE TABLE would fail and the open with it. */
	f->st = temp_store_reopen(f, &err);
	if (!f->st)
		print_message("reopen: %s\n", err.msg);
	assert_non_null(f->st);
	/* PostgreSQL keeps its schema version in a table of its own, not in a PRAGMA */
	if (!temp_store_on_postgres())
		assert_int_equal(q_int(f, "PRAGMA user_version"), store_schema_version());
	assert_int_equal(store_get_survey(f->st, "s-keep", &s, &err), 0);
	assert_string_equal(s.status, "queued");
	survey_release(&s);
	assert_int_equal(count_rows(f, "messages"), 1);

	/* ... and the same interaction is still known */
	n.sn.id = "s-keep-2";
	create_ok(f, &n.sn, 0, "s-keep");
	assert_int_equal(count_rows(f, "surveys"), 1);
}

static void test_open_refuses_newer_schema(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	sqlite3 *db = NULL;
	char folder[256], sql[128];

	SKIP_ON_POSTGRES("SQLite's PRAGMA user_version in the file");

	snprintf(folder, sizeof(folder), "%s/var", f->dir);
	assert_int_equal(mkdir(folder, 0700), 0);
	snprintf(folder, sizeof(folder), "%s/var/db", f->dir);
	assert_int_equal(mkdir(folder, 0700), 0);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "CREATE TABLE future (x); PRAGMA user_version = %d;",
		 store_schema_version() + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	f->st = store_open(f->path, &err);
	assert_null(f->st);
	/* the message names the file, both versions and what to do */
	assert_non_null(strstr(err.msg, f->path));
	assert_non_null(strstr(err.msg, "newer"));
	snprintf(sql, sizeof(sql), "%d", store_schema_version() + 1);
	assert_non_null(strstr(err.msg, sql));
	/* and the database is left alone: same version, no tables of ours */
	assert_int_equal(q_int(f, "PRAGMA user_version"), store_schema_version() + 1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE name = 'surveys'"), 0);
}

static void test_open_fails_cleanly_when_folder_cannot_be_made(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	char file[256], path[320];
	FILE *fp;

	SKIP_ON_POSTGRES("the folder of the SQLite file");

	/* a regular file where the folder should be */
	snprintf(file, sizeof(file), "%s/var", f->dir);
	assert_non_null(fp = fopen(file, "w"));
	fclose(fp);
	snprintf(path, sizeof(path), "%s/var/db/gateway.db", f->dir);
	assert_null(store_open(path, &err));
	assert_non_null(strstr(err.msg, "cannot create"));
}

/* While another process holds the write lock, a write fails with 503 ("try again") and writes
 * nothing; once the lock is gone the store is writable again.  (Waits for the busy timeout.) */
static void test_locked_database_answers_503(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	char id[SURVEY_ID_LEN];
	int created = -1;
	sqlite3 *db = NULL;

	SKIP_ON_POSTGRES("SQLite's file lock held by another process");

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	sn_init(&n, "s-locked", 1000);
	assert_int_equal(store_create_survey(f->st, &n.sn, id, &created, &err), -1);
	assert_int_equal(err.http_status, 503);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(count_rows(f, "surveys"), 0);
	assert_int_equal(store_check_writable(f->st, &err), 0);
	create_ok(f, &n.sn, 1, "s-locked");
}

/* ---- surveys ------------------------------------------------------------------------------ */

static void test_create_survey_writes_customer_survey_and_queued_message(void **state)
{
	struct temp_store *f = *state;
	struct new_survey n;

	sn_init(&n, "s-1", 1000);
	n.sn.send_after = 1300;
	create_ok(f, &n.sn, 1, "s-1");

	assert_int_equal(count_rows(f, "customers"), 1);
	ASSERT_TEXT(f, "+34600111222|Ana|es",
		    "SELECT phone || '|' || name || '|' || locale FROM customers"
		    " WHERE ext_id = 'cust-42'");
	assert_int_equal(count_rows(f, "surveys"), 1);
	ASSERT_TEXT(f, "queued", "SELECT status FROM surveys WHERE id = 's-1'");
	assert_int_equal(q_int(f, "SELECT send_after FROM surveys WHERE id = 's-1'"), 1300);
	assert_int_equal(q_int(f, "SELECT CASE WHEN s.customer_id = c.id THEN 1 ELSE 0 END"
				  " FROM surveys s, customers c"),
			 1);

	assert_int_equal(count_rows(f, "messages"), 1);
	ASSERT_TEXT(f, "s-1|out|survey|sms|twilio|+34600111222|queued",
		    "SELECT survey_id || '|' || direction || '|' || purpose || '|' || channel || '|'"
		    " || provider || '|' || phone || '|' || status FROM messages");
	ASSERT_TEXT(f, "Del 0 al 10, ¿nos recomendarías?", "SELECT body FROM messages");
	assert_int_equal(q_int(f, "SELECT next_attempt_at FROM messages"), 1300);
	assert_int_equal(q_int(f, "SELECT attempts FROM messages"), 0);
	assert_int_equal(count_rows(f, "responses"), 0);
}

static void test_create_survey_same_interaction_and_kind_writes_nothing(void **state)
{
	struct temp_store *f = *state;
	struct new_survey first, again;

	sn_init(&first, "s-first", 1000);
	create_ok(f, &first.sn, 1, "s-first");

	/* a retried trigger: new id, new customer details, same interaction and kind */
	sn_init(&again, "s-again", 2000);
	snprintf(again.interaction, sizeof(again.interaction), "%s", first.interaction);
	again.sn.phone = "+34600999888";
	again.sn.name = "Ana María";
	again.sn.locale = "en";
	again.sn.question = "other";
	create_ok(f, &again.sn, 0, "s-first");

	assert_int_equal(count_rows(f, "surveys"), 1);
	assert_int_equal(count_rows(f, "messages"), 1);
	assert_int_equal(count_rows(f, "customers"), 1);
	ASSERT_TEXT(f, "+34600111222|Ana|es",
		    "SELECT phone || '|' || name || '|' || locale FROM customers");
	assert_int_equal(q_int(f, "SELECT updated_at FROM customers"), 1000);
}

/* store_find_survey() sees what store_create_survey() would find: the survey of an interaction
 * and kind, not one of another kind, nothing for an interaction never triggered. */
static void test_find_survey_by_interaction_and_kind(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey sv;

	sn_init(&n, "s-find", 1000);
	assert_int_equal(store_find_survey(f->st, n.interaction, "nps", &sv, &err), 0);
	create_ok(f, &n.sn, 1, "s-find");
	assert_int_equal(store_find_survey(f->st, n.interaction, "nps", &sv, &err), 1);
	assert_string_equal(sv.id, "s-find");
	assert_string_equal(sv.interaction_id, n.interaction);
	assert_string_equal(sv.kind, "nps");
	assert_string_equal(sv.status, "queued");
	assert_string_equal(sv.customer_id, n.sn.customer_id);
	assert_int_equal(sv.created_at, 1000);
	survey_release(&sv);
	assert_int_equal(store_find_survey(f->st, n.interaction, "ces", &sv, &err), 0);
	assert_int_equal(store_find_survey(f->st, "chat-never", "nps", &sv, &err), 0);
}

/*
 * Reads run on connections the store keeps open between calls; one given back must hold no
 * snapshot, or the write-ahead log could never be emptied again.  After every kind of read
 * (found and not found, lists, counts, a customer's history), a TRUNCATE checkpoint from
 * another connection, which needs every reader to be on the newest data, completes.
 */
static void test_reads_leave_no_snapshot_behind(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct store_outbox_depth depth;
	struct customer_history h;
	struct survey sv;
	struct new_survey n;
	char ids[4][SURVEY_ID_LEN];
	sqlite3 *db = NULL;
	int log = -1, ckpt = -1;
	size_t k;

	SKIP_ON_POSTGRES("SQLite's write-ahead log and its checkpoints");

	sn_init(&n, "s-snap", 1000);
	create_ok(f, &n.sn, 1, "s-snap");
	for (int round = 0; round < 3; round++) {
		assert_int_equal(store_get_survey(f->st, "s-snap", &sv, &err), 0);
		survey_release(&sv);
		assert_int_equal(store_get_survey(f->st, "s-none", &sv, &err), 1);
		assert_int_equal(store_find_survey(f->st, n.interaction, "nps", &sv, &err), 1);
		survey_release(&sv);
		assert_int_equal(store_list_surveys(f->st, "queued", 4, ids, &k, &err), 0);
		assert_int_equal(k, 1);
		assert_int_equal(store_outbox_depth(f->st, &depth, &err), 0);
		assert_int_equal(depth.queued, 1);
		assert_int_equal(store_customer_history(f->st, n.sn.customer_id, 10, &h, &err), 0);
		customer_history_release(&h);
		assert_int_equal(store_customer_history(f->st, "nobody", 10, &h, &err), 1);
	}
	/* something for the checkpoint to copy, written after the reads */
	sn_init(&n, "s-snap-2", 2000);
	create_ok(f, &n.sn, 1, "s-snap-2");
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	/* a connection that never read has not opened the log: its checkpoint would copy nothing */
	assert_int_equal(sqlite3_exec(db, "SELECT count(*) FROM surveys", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log,
						   &ckpt),
			 SQLITE_OK);
	assert_int_equal(log, 0); /* the log was emptied: no reader held it */
	sqlite3_close(db);
	/* and the readers still read, now from the emptied log's database */
	assert_int_equal(store_get_survey(f->st, "s-snap-2", &sv, &err), 0);
	survey_release(&sv);
}

static void test_create_survey_same_interaction_other_kind_is_new(void **state)
{
	struct temp_store *f = *state;
	struct new_survey nps, ces;

	sn_init(&nps, "s-nps", 1000);
	create_ok(f, &nps.sn, 1, "s-nps");
	sn_init(&ces, "s-ces", 1001);
	snprintf(ces.interaction, sizeof(ces.interaction), "%s", nps.interaction);
	ces.sn.kind = "ces";
	create_ok(f, &ces.sn, 1, "s-ces");

	assert_int_equal(count_rows(f, "surveys"), 2);
	assert_int_equal(count_rows(f, "messages"), 2);
	assert_int_equal(count_rows(f, "customers"), 1);
	ASSERT_TEXT(f, "ces", "SELECT kind FROM surveys WHERE id = 's-ces'");
}

static void test_customer_upsert_updates_phone_name_locale(void **state)
{
	struct temp_store *f = *state;
	struct new_survey a, b, c;

	sn_init(&a, "s-a", 1000);
	create_ok(f, &a.sn, 1, "s-a");

	sn_init(&b, "s-b", 2000);
	b.sn.phone = "+34600999888";
	b.sn.name = "Ana María";
	b.sn.locale = "en";
	create_ok(f, &b.sn, 1, "s-b");
	assert_int_equal(count_rows(f, "customers"), 1);
	ASSERT_TEXT(f, "+34600999888|Ana María|en",
		    "SELECT phone || '|' || name || '|' || locale FROM customers");
	assert_int_equal(q_int(f, "SELECT updated_at FROM customers"), 2000);
	assert_int_equal(q_int(f, "SELECT created_at FROM customers"), 1000);
	/* both surveys point at the one customer */
	assert_int_equal(q_int(f, "SELECT count(DISTINCT customer_id) FROM surveys"), 1);

	/* no name given: the known name stays */
	sn_init(&c, "s-c", 3000);
	c.sn.name = NULL;
	create_ok(f, &c.sn, 1, "s-c");
	ASSERT_TEXT(f, "+34600111222|Ana María|es",
		    "SELECT phone || '|' || name || '|' || locale FROM customers");
}

static void test_get_survey_round_trips_fields(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;

	sn_init(&n, "s-rt", 1000);
	n.sn.customer_id = "cust-7";
	n.sn.phone = "+5511988887777";
	n.sn.name = "João";
	n.sn.locale = "pt";
	n.sn.kind = "csat";
	n.sn.channel = "whatsapp";
	n.sn.provider = "meta";
	n.sn.touchpoint = "store_visit";
	n.sn.agent = "agent-9";
	n.sn.send_after = 1060;
	n.sn.expires_at = 9000;
	create_ok(f, &n.sn, 1, "s-rt");

	memset(&s, 0x5a, sizeof(s));
	assert_int_equal(store_get_survey(f->st, "s-rt", &s, &err), 0);
	assert_string_equal(s.id, "s-rt");
	assert_string_equal(s.customer_id, "cust-7");
	assert_string_equal(s.phone, "+5511988887777");
	assert_string_equal(s.name, "João");
	assert_string_equal(s.locale, "pt");
	assert_string_equal(s.kind, "csat");
	assert_string_equal(s.channel, "whatsapp");
	assert_string_equal(s.provider, "meta");
	assert_string_equal(s.interaction_id, "chat-s-rt");
	assert_string_equal(s.touchpoint, "store_visit");
	assert_string_equal(s.agent, "agent-9");
	assert_string_equal(s.opened_at, "2026-11-22T10:00:00Z");
	assert_string_equal(s.closed_at, "2026-11-22T10:12:30Z");
	assert_string_equal(s.status, "queued");
	assert_int_equal(s.created_at, 1000);
	assert_int_equal(s.send_after, 1060);
	assert_int_equal(s.sent_at, 0);
	assert_int_equal(s.delivered_at, 0);
	assert_int_equal(s.answered_at, 0);
	assert_int_equal(s.expires_at, 9000);
	assert_int_equal(s.attempts, 0);
	assert_int_equal(s.reprompted, 0);
	assert_string_equal(s.provider_message_id, "");
	assert_string_equal(s.error_code, "");
	assert_string_equal(s.error_message, "");
	assert_int_equal(s.has_response, 0);
	assert_null(s.comment);
	assert_null(s.raw_text);
	survey_release(&s);

	/* optional fields left out read back empty */
	sn_init(&n, "s-min", 1000);
	n.sn.name = NULL;
	n.sn.touchpoint = n.sn.agent = n.sn.opened_at = n.sn.closed_at = NULL;
	create_ok(f, &n.sn, 1, "s-min");
	assert_int_equal(store_get_survey(f->st, "s-min", &s, &err), 0);
	assert_string_equal(s.name, "");
	assert_string_equal(s.touchpoint, "");
	assert_string_equal(s.agent, "");
	assert_string_equal(s.opened_at, "");
	assert_string_equal(s.closed_at, "");
	survey_release(&s);
}

static void test_get_survey_not_found(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct survey s;

	assert_int_equal(store_get_survey(f->st, "nope", &s, &err), 1);
	survey_release(&s);     /* harmless on a not-found survey */
}

/* ---- the outbox -------------------------------------------------------------------------- */

struct claim_setup {
	const char *id, *provider;
	int64_t created, send_after;
};

static void test_claim_due_picks_due_messages_of_provider_oldest_first(void **state)
{
	/* created in this order; due order is q2, q1, q5 (at 150), q3 (at 200) */
	static const struct claim_setup setup[] = {
		{ "q1", "twilio", 50, 100 },
		{ "q2", "twilio", 60, 90 },
		{ "q3", "twilio", 70, 200 },
		{ "q4", "meta", 80, 80 },
		{ "q5", "twilio", 90, 150 },
	};
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct outbox_item items[8];
	struct new_survey n;
	size_t k = 99;

	for (size_t i = 0; i < ARRAY_LEN(setup); i++) {
		sn_init(&n, setup[i].id, setup[i].created);
		n.sn.provider = setup[i].provider;
		n.sn.send_after = setup[i].send_after;
		n.sn.phone = i % 2 ? "+34600000001" : "+34600000002";
		create_ok(f, &n.sn, 1, setup[i].id);
	}

	/* max 0: nothing */
	assert_int_equal(store_claim_due(f->st, 150, "twilio", items, 0, &k, &err), 0);
	assert_int_equal(k, 0);

	/* max 2 at 150: the two oldest due twilio messages */
	assert_int_equal(store_claim_due(f->st, 150, "twilio", items, 2, &k, &err), 0);
	assert_int_equal(k, 2);
	assert_string_equal(items[0].survey_id, "q2");
	assert_string_equal(items[1].survey_id, "q1");
	assert_string_equal(items[0].provider, "twilio");
	assert_string_equal(items[0].channel, "sms");
	assert_string_equal(items[0].purpose, "survey");
	assert_string_equal(items[0].phone, "+34600000001");
	assert_string_equal(items[1].phone, "+34600000002");
	assert_string_equal(items[0].body, "Del 0 al 10, ¿nos recomendarías?");
	assert_int_equal(items[0].attempts, 1);
	assert_int_equal(items[0].message_id,
			 q_int(f, "SELECT id FROM messages WHERE survey_id = 'q2'"));
	for (size_t i = 0; i < k; i++)
		outbox_item_release(&items[i]);
	ASSERT_TEXT(f, "sending|1|sending|1",
		    "SELECT m.status || '|' || m.attempts || '|' || s.status || '|' || s.attempts"
		    " FROM messages m JOIN surveys s ON s.id = m.survey_id WHERE s.id = 'q2'");
	ASSERT_TEXT(f, "sending", "SELECT status FROM surveys WHERE id = 'q1'");

	/* the rest due at 150 (send_after == now is due), never one already claimed */
	assert_int_equal(store_claim_due(f->st, 150, "twilio", items, 8, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_string_equal(items[0].survey_id, "q5");
	outbox_item_release(&items[0]);
	assert_int_equal(store_claim_due(f->st, 150, "twilio", items, 8, &k, &err), 0);
	assert_int_equal(k, 0);
	ASSERT_TEXT(f, "queued", "SELECT status FROM surveys WHERE id = 'q3'");
	ASSERT_TEXT(f, "queued", "SELECT status FROM messages WHERE survey_id = 'q3'");
	ASSERT_TEXT(f, "queued", "SELECT status FROM surveys WHERE id = 'q4'");

	/* later, q3; the other provider only when asked for */
	assert_int_equal(store_claim_due(f->st, 200, "twilio", items, 8, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_string_equal(items[0].survey_id, "q3");
	outbox_item_release(&items[0]);
	assert_int_equal(store_claim_due(f->st, 10000, "zenvia", items, 8, &k, &err), 0);
	assert_int_equal(k, 0);
	assert_int_equal(store_claim_due(f->st, 10000, "meta", items, 8, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_string_equal(items[0].survey_id, "q4");
	assert_string_equal(items[0].provider, "meta");
	outbox_item_release(&items[0]);
}

static void test_send_accepted_marks_message_and_survey_sent(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;
	int64_t mid;

	sn_init(&n, "s-ok", 1000);
	create_ok(f, &n.sn, 1, "s-ok");
	mid = claim_one(f, "twilio", 1000, "s-ok");
	assert_int_equal(store_send_accepted(f->st, mid, "SM0001", 1005, &err), 0);

	ASSERT_TEXT(f, "sent|SM0001", "SELECT status || '|' || provider_message_id FROM messages");
	assert_int_equal(q_int(f, "SELECT sent_at FROM messages"), 1005);
	assert_int_equal(store_get_survey(f->st, "s-ok", &s, &err), 0);
	assert_string_equal(s.status, "sent");
	assert_string_equal(s.provider_message_id, "SM0001");
	assert_int_equal(s.sent_at, 1005);
	assert_int_equal(s.attempts, 1);
	survey_release(&s);
}

static void test_send_retry_requeues_with_error_kept(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct outbox_item it;
	struct new_survey n;
	struct survey s;
	int64_t mid;
	size_t k;

	sn_init(&n, "s-retry", 1000);
	create_ok(f, &n.sn, 1, "s-retry");
	mid = claim_one(f, "twilio", 1000, "s-retry");
	assert_int_equal(store_send_retry(f->st, mid, 1060, "http_503", "Service Unavailable", &err), 0);

	ASSERT_TEXT(f, "queued|http_503|Service Unavailable",
		    "SELECT status || '|' || error_code || '|' || error_message FROM messages");
	assert_int_equal(q_int(f, "SELECT next_attempt_at FROM messages"), 1060);
	assert_int_equal(store_get_survey(f->st, "s-retry", &s, &err), 0);
	assert_string_equal(s.status, "queued");
	assert_string_equal(s.error_code, "http_503");
	assert_string_equal(s.error_message, "Service Unavailable");
	survey_release(&s);

	/* not before next_at; then again, with the attempt counted */
	assert_int_equal(store_claim_due(f->st, 1059, "twilio", &it, 1, &k, &err), 0);
	assert_int_equal(k, 0);
	assert_int_equal(store_claim_due(f->st, 1060, "twilio", &it, 1, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_int_equal(it.message_id, mid);
	assert_int_equal(it.attempts, 2);
	outbox_item_release(&it);
	assert_int_equal(q_int(f, "SELECT attempts FROM messages"), 2);
	assert_int_equal(q_int(f, "SELECT attempts FROM surveys"), 2);
	ASSERT_TEXT(f, "sending", "SELECT status FROM surveys");
}

static void test_send_failed_marks_message_and_survey_failed(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;
	int64_t mid;

	sn_init(&n, "s-fail", 1000);
	create_ok(f, &n.sn, 1, "s-fail");
	mid = claim_one(f, "twilio", 1000, "s-fail");
	assert_int_equal(store_send_failed(f->st, mid, "21211", "Invalid 'To' Phone Number", 1002,
					   &err), 0);

	ASSERT_TEXT(f, "failed|21211|Invalid 'To' Phone Number",
		    "SELECT status || '|' || error_code || '|' || error_message FROM messages");
	assert_int_equal(store_get_survey(f->st, "s-fail", &s, &err), 0);
	assert_string_equal(s.status, "failed");
	assert_string_equal(s.error_code, "21211");
	assert_string_equal(s.error_message, "Invalid 'To' Phone Number");
	survey_release(&s);
}

static void test_mark_uncertain_turns_sending_into_uncertain(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = 9,
					 .reply = "¡Gracias!", .reply_purpose = "thanks" } };
	struct inbound_result res;
	struct outbox_item items[4];
	struct new_survey n;
	size_t k = 99;

	sn_init(&n, "u-sending", 1000);
	n.sn.phone = "+34600000001";
	create_ok(f, &n.sn, 1, "u-sending");
	claim_one(f, "twilio", 1000, "u-sending");

	sn_init(&n, "u-sent", 1010);
	n.sn.phone = "+34600000002";
	create_sent(f, &n, "SM-sent");

	/* an answered survey whose thank-you is in flight */
	sn_init(&n, "u-answered", 1020);
	n.sn.phone = "+34600000003";
	create_sent(f, &n, "SM-answered");
	assert_int_equal(inbound(f, "twilio", "SM-in-1", NULL, "+34600000003", "9", 1, 1030, &d,
				 &res), 0);
	assert_int_equal(store_claim_due(f->st, 1030, "twilio", items, 4, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_string_equal(items[0].purpose, "thanks");
	outbox_item_release(&items[0]);

	sn_init(&n, "u-queued", 1040);
	n.sn.phone = "+34600000004";
	n.sn.send_after = 5000;
	create_ok(f, &n.sn, 1, "u-queued");

	assert_int_equal(start_up_uncertain(f, 2000), 2);
	ASSERT_TEXT(f, "uncertain", "SELECT status FROM surveys WHERE id = 'u-sending'");
	ASSERT_TEXT(f, "uncertain", "SELECT status FROM messages WHERE survey_id = 'u-sending'");
	ASSERT_TEXT(f, "sent", "SELECT status FROM surveys WHERE id = 'u-sent'");
	ASSERT_TEXT(f, "answered", "SELECT status FROM surveys WHERE id = 'u-answered'");
	ASSERT_TEXT(f, "uncertain", "SELECT status FROM messages WHERE purpose = 'thanks'");
	ASSERT_TEXT(f, "queued", "SELECT status FROM surveys WHERE id = 'u-queued'");

	/* never claimed again: only the queued survey comes out */
	assert_int_equal(store_claim_due(f->st, 100000, "twilio", items, 4, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_string_equal(items[0].survey_id, "u-queued");
	outbox_item_release(&items[0]);
	assert_int_equal(store_claim_due(f->st, 100000, "twilio", items, 4, &k, &err), 0);
	assert_int_equal(k, 0);

	/* a second start-up finds nothing left in `sending` besides what was just claimed */
	assert_int_equal(start_up_uncertain(f, 200000), 1);
	assert_int_equal(start_up_uncertain(f, 200000), 0);
}

/* The text was matched while its survey was still `sending` (store.h counts `sending` as open), so
 * the survey is answered; the process then dies before the provider's acceptance was recorded.
 * At the next start-up the message is uncertain, but the answered survey must stay answered, as it
 * does for late statuses, retries and failures. */
static void test_mark_uncertain_keeps_answered_survey(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;

	sn_init(&n, "u-race", 1000);
	create_ok(f, &n.sn, 1, "u-race");
	claim_one(f, "twilio", 1000, "u-race");
	answer(f, "+34600111222", "SM-in-race", 10, 1001, "u-race");

	assert_int_equal(start_up_uncertain(f, 5000), 1);
	ASSERT_TEXT(f, "uncertain", "SELECT status FROM messages WHERE purpose = 'survey'");
	assert_int_equal(store_get_survey(f->st, "u-race", &s, &err), 0);
	survey_release(&s);     /* before asserting: a failure must not leak the response */
	assert_int_equal(s.answered_at, 1001);
	assert_string_equal(s.status, "answered");
}

/* A claim holds a lease (here 60 s): until it ends the message stays `sending`; after it, the
 * message and its survey are `uncertain`, never claimed again by themselves; an outcome that
 * arrives after all (accepted, or a transient failure) is still recorded. */
static void test_send_lease_expires_into_uncertain(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct outbox_item items[4];
	struct new_survey a, b;
	int64_t ma, mb;
	size_t k;

	store_set_send_lease(f->st, 60);
	sn_init(&a, "lease-a", 1000);
	create_ok(f, &a.sn, 1, "lease-a");
	ma = claim_one(f, "twilio", 1000, "lease-a");
	sn_init(&b, "lease-b", 1030);
	b.sn.phone = "+34600000009";
	create_ok(f, &b.sn, 1, "lease-b");
	mb = claim_one(f, "twilio", 1030, "lease-b");

	assert_int_equal(store_expire_leases(f->st, 1059, &k, &err), 0);
	assert_int_equal(k, 0);
	ASSERT_TEXT(f, "sending", "SELECT status FROM surveys WHERE id = 'lease-a'");
	assert_int_equal(store_expire_leases(f->st, 1060, &k, &err), 0);
	assert_int_equal(k, 1);
	ASSERT_TEXT(f, "uncertain", "SELECT status FROM surveys WHERE id = 'lease-a'");
	ASSERT_TEXT(f, "uncertain", "SELECT status FROM messages WHERE survey_id = 'lease-a'");
	ASSERT_TEXT(f, "sending", "SELECT status FROM surveys WHERE id = 'lease-b'");
	assert_int_equal(store_claim_due(f->st, 5000, "twilio", items, 4, &k, &err), 0);
	assert_int_equal(k, 0);

	/* the hung send comes back accepted after all: it is sent */
	assert_int_equal(store_send_accepted(f->st, ma, "SM-late", 1070, &err), 0);
	ASSERT_TEXT(f, "sent", "SELECT status FROM surveys WHERE id = 'lease-a'");
	ASSERT_TEXT(f, "sent", "SELECT status FROM messages WHERE survey_id = 'lease-a'");

	/* the other one's lease ends too; its late transient failure queues it again */
	assert_int_equal(store_expire_leases(f->st, 1090, &k, &err), 0);
	assert_int_equal(k, 1);
	ASSERT_TEXT(f, "uncertain", "SELECT status FROM surveys WHERE id = 'lease-b'");
	assert_int_equal(store_send_retry(f->st, mb, 1100, "429", "slow down", &err), 0);
	ASSERT_TEXT(f, "queued", "SELECT status FROM surveys WHERE id = 'lease-b'");
	claim_one(f, "twilio", 1100, "lease-b");
}

/* A reply can answer a survey while its send is still in flight; a retry and a new claim of that
 * send must not turn the answer back into "queued" or "sending". */
static void test_claim_keeps_answered_survey(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct outbox_item items[4];
	struct new_survey n;
	struct survey s;
	int64_t mid;
	size_t k;

	sn_init(&n, "c-race", 1000);
	create_ok(f, &n.sn, 1, "c-race");
	mid = claim_one(f, "twilio", 1000, "c-race");
	answer(f, "+34600111222", "SM-in-c-race", 9, 1001, "c-race");
	assert_int_equal(store_send_retry(f->st, mid, 1002, "http_500", "boom", &err), 0);
	assert_int_equal(store_claim_due(f->st, 1002, "twilio", items, 4, &k, &err), 0);
	assert_int_equal(k, 1);         /* the survey text, claimed again */
	for (size_t i = 0; i < k; i++)
		outbox_item_release(&items[i]);
	assert_int_equal(store_get_survey(f->st, "c-race", &s, &err), 0);
	survey_release(&s);
	assert_string_equal(s.status, "answered");
}

/* ---- inbound texts ------------------------------------------------------------------------- */

static void test_inbound_duplicate_changes_nothing(void **state)
{
	struct temp_store *f = *state;
	struct decider d = { .answer = { .action = INBOUND_REPROMPT, .reply = "Del 0 al 10, por favor",
					 .reply_purpose = "reprompt" } };
	struct decider d2 = { .answer = { .action = INBOUND_ANSWER, .score = 3 } };
	struct inbound_result res;
	struct new_survey n;
	struct survey s;
	struct gw_err err = { 0 };

	sn_init(&n, "s-dup", 1000);
	create_sent(f, &n, "SM-out");
	assert_int_equal(inbound(f, "twilio", "SM-in", "sms", "+34600111222", "hola", 4, 1100, &d,
				 &res), 0);
	assert_int_equal(res.duplicate, 0);
	assert_int_equal(res.matched, 1);
	assert_int_equal(d.calls, 1);
	assert_int_equal(count_rows(f, "messages"), 3);

	/* the provider delivers the same webhook again, this time the rules would answer */
	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(inbound(f, "twilio", "SM-in", "sms", "+34600111222", "3", 1, 1200, &d2,
				 &res), 0);
	assert_int_equal(res.duplicate, 1);
	assert_int_equal(res.matched, 0);
	assert_int_equal(d2.calls, 0);
	assert_int_equal(count_rows(f, "messages"), 3);
	assert_int_equal(count_rows(f, "responses"), 0);
	ASSERT_TEXT(f, "hola", "SELECT body FROM messages WHERE direction = 'in'");
	assert_int_equal(q_int(f, "SELECT created_at FROM messages WHERE direction = 'in'"), 1100);
	assert_int_equal(store_get_survey(f->st, "s-dup", &s, &err), 0);
	assert_string_equal(s.status, "sent");
	assert_int_equal(s.reprompted, 1);
	survey_release(&s);

	/* the same id from another provider is another message */
	assert_int_equal(inbound(f, "meta", "SM-in", NULL, "+34600111222", "3", 1, 1300, &d2,
				 &res), 0);
	assert_int_equal(res.duplicate, 0);
	assert_int_equal(count_rows(f, "messages"), 4);
}

/* One survey per row: who it was sent to, how, when, and what became of it. */
struct match_survey {
	const char *id, *phone, *provider, *channel;
	int64_t created, expires_at;
	const char *state;      /* "queued", "sending", "sent", "delivered", "read", "uncertain",
				 * "answered", "failed" */
};

/* One inbound text per row and the survey it must match ("" for none). */
struct match_row {
	const char *from, *provider, *channel;
	int64_t now;
	const char *want;
};

static const struct match_survey match_surveys[] = {
	/* +34600000001: two sms surveys, a newer WhatsApp one, and one by another provider */
	{ "p1-old", "+34600000001", "twilio", "sms", 100, 10000, "sent" },
	{ "p1-new", "+34600000001", "twilio", "sms", 200, 10000, "sent" },
	{ "p1-wa", "+34600000001", "twilio", "whatsapp", 300, 10000, "delivered" },
	{ "p1-meta", "+34600000001", "meta", "whatsapp", 400, 10000, "sent" },
	/* +34600000002: the newer survey expires at 1000, the older one later */
	{ "p2-old", "+34600000002", "twilio", "sms", 110, 10000, "sent" },
	{ "p2-new", "+34600000002", "twilio", "sms", 210, 1000, "sent" },
	/* +34600000003: the newer one is answered (a new score may still replace its answer) */
	{ "p3-old", "+34600000003", "twilio", "sms", 120, 10000, "read" },
	{ "p3-new", "+34600000003", "twilio", "sms", 220, 10000, "answered" },
	/* +34600000004: the newer one failed */
	{ "p4-old", "+34600000004", "twilio", "sms", 130, 10000, "sent" },
	{ "p4-new", "+34600000004", "twilio", "sms", 230, 10000, "failed" },
	/* +34600000005: the newer one is not sent yet */
	{ "p5-old", "+34600000005", "twilio", "sms", 140, 10000, "sent" },
	{ "p5-new", "+34600000005", "twilio", "sms", 240, 10000, "queued" },
	/* one survey per open state (the uncertain one first: marking it touches every `sending`) */
	{ "p7", "+34600000007", "twilio", "sms", 150, 10000, "uncertain" },
	{ "p6", "+34600000006", "twilio", "sms", 160, 10000, "sending" },
	{ "p8", "+34600000008", "twilio", "sms", 170, 10000, "read" },
	/* answered, still open for a new score; and one past its expiry */
	{ "p9", "+34600000009", "twilio", "sms", 180, 10000, "answered" },
	{ "p10", "+34600000010", "twilio", "sms", 190, 500, "sent" },
};

static const struct match_row match_rows[] = {
	{ "+34600000001", "twilio", NULL, 900, "p1-wa" },      /* any channel: the newest */
	{ "+34600000001", "twilio", "sms", 900, "p1-new" },
	{ "+34600000001", "twilio", "whatsapp", 900, "p1-wa" },
	{ "+34600000001", "meta", NULL, 900, "p1-meta" },
	{ "+34600000001", "meta", "sms", 900, "" },
	{ "+34600000001", "zenvia", NULL, 900, "" },
	{ "+34600000002", "twilio", "sms", 999, "p2-new" },
	{ "+34600000002", "twilio", "sms", 1000, "p2-old" },   /* expires_at == now: expired */
	{ "+34600000002", "twilio", "sms", 1001, "p2-old" },
	{ "+34600000002", "twilio", "sms", 10000, "" },
	{ "+34600000003", "twilio", NULL, 900, "p3-new" },     /* answered: open until expiry */
	{ "+34600000004", "twilio", NULL, 900, "p4-old" },
	{ "+34600000005", "twilio", NULL, 900, "p5-old" },
	{ "+34600000006", "twilio", NULL, 900, "p6" },
	{ "+34600000007", "twilio", NULL, 900, "p7" },
	{ "+34600000008", "twilio", NULL, 900, "p8" },
	{ "+34600000009", "twilio", NULL, 900, "p9" },
	{ "+34600000010", "twilio", NULL, 499, "p10" },
	{ "+34600000010", "twilio", NULL, 500, "" },
	{ "+34699999999", "twilio", NULL, 900, "" },
	{ "34600000001", "twilio", NULL, 900, "" },            /* the number must match exactly */
};

/* Takes survey `m` (just created, the only one due for its provider at m->created) to m->state. */
static void bring_to_state(struct temp_store *f, const struct match_survey *m)
{
	struct gw_err err = { 0 };
	char pid[64];
	int found = 0;
	int64_t mid;

	if (strcmp(m->state, "queued") == 0)
		return;
	mid = claim_one(f, m->provider, m->created, m->id);
	if (strcmp(m->state, "sending") == 0)
		return;
	if (strcmp(m->state, "uncertain") == 0) {
		/* past its lease (no other claim is left in `sending` while the table is set up) */
		assert_int_equal(start_up_uncertain(f, m->created + 3600), 1);
		return;
	}
	if (strcmp(m->state, "failed") == 0) {
		assert_int_equal(store_send_failed(f->st, mid, "21610", "unsubscribed", m->created,
						   &err), 0);
		return;
	}
	snprintf(pid, sizeof(pid), "SM-%s", m->id);
	assert_int_equal(store_send_accepted(f->st, mid, pid, m->created, &err), 0);
	if (strcmp(m->state, "delivered") == 0 || strcmp(m->state, "read") == 0) {
		assert_int_equal(store_record_status(f->st, m->provider, pid, m->state, NULL, NULL,
						     m->created, &found, &err), 0);
		assert_int_equal(found, 1);
	} else if (strcmp(m->state, "answered") == 0) {
		snprintf(pid, sizeof(pid), "SM-in-%s", m->id);
		answer(f, m->phone, pid, 8, m->created, m->id);
	}
}

static void test_inbound_matching(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	int64_t before;

	for (size_t i = 0; i < ARRAY_LEN(match_surveys); i++) {
		const struct match_survey *m = &match_surveys[i];
		struct new_survey n;
		struct survey s;

		sn_init(&n, m->id, m->created);
		n.sn.phone = m->phone;
		n.sn.provider = m->provider;
		n.sn.channel = m->channel;
		n.sn.expires_at = m->expires_at;
		n.sn.expire_after_s = m->expires_at - m->created;      /* kept at send */
		if (strcmp(m->state, "queued") == 0)
			n.sn.send_after = 100000;       /* never due while the table is set up */
		create_ok(f, &n.sn, 1, m->id);
		bring_to_state(f, m);
		assert_int_equal(store_get_survey(f->st, m->id, &s, &err), 0);
		assert_string_equal(s.status, m->state);
		survey_release(&s);
	}
	before = count_rows(f, "messages");

	for (size_t i = 0; i < ARRAY_LEN(match_rows); i++) {
		const struct match_row *r = &match_rows[i];
		struct decider d = { .answer = { .action = INBOUND_STORE_ONLY } };
		struct inbound_result res;
		char pid[32];

		snprintf(pid, sizeof(pid), "SM-match-%zu", i);
		assert_int_equal(inbound(f, r->provider, pid, r->channel, r->from, "hola", 4, r->now,
					 &d, &res), 0);
		if (res.matched != (r->want[0] != '\0') || strcmp(res.survey_id, r->want) != 0)
			print_message("row %zu (%s via %s/%s at %lld): matched %d \"%s\", want \"%s\"\n",
				      i, r->from, r->provider, r->channel ? r->channel : "any",
				      (long long)r->now, res.matched, res.survey_id, r->want);
		assert_int_equal(d.calls, 1);
		assert_int_equal(res.duplicate, 0);
		assert_int_equal(res.action, INBOUND_STORE_ONLY);
		assert_int_equal(res.matched, r->want[0] != '\0');
		assert_string_equal(res.survey_id, r->want);
		/* the callback sees the match, or NULL */
		assert_int_equal(d.got_null, r->want[0] == '\0');
		if (r->want[0])
			assert_string_equal(d.seen.id, r->want);
		/* the text is stored either way, linked to its survey when matched */
		assert_int_equal(count_rows(f, "messages"), before + (int64_t)i + 1);
		ASSERT_TEXT(f, r->want[0] ? r->want : "(null)",
			    "SELECT survey_id FROM messages WHERE provider_message_id = '%s'", pid);
	}
	/* store-only texts answered nothing and queued nothing */
	assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE direction = 'out'"
			       " AND purpose <> 'survey'"), 0);
	assert_int_equal(count_rows(f, "responses"), 2);        /* p3-new, p9 */
}

static void test_inbound_decide_sees_the_matched_survey(void **state)
{
	struct temp_store *f = *state;
	struct decider d = { .answer = { .action = INBOUND_STORE_ONLY } };
	struct inbound_result res;
	struct new_survey n;

	sn_init(&n, "s-seen", 1000);
	n.sn.customer_id = "cust-9";
	n.sn.name = "Bea";
	n.sn.locale = "pt";
	n.sn.kind = "ces";
	n.sn.channel = "whatsapp";
	create_sent(f, &n, "SM-seen");
	assert_int_equal(inbound(f, "twilio", "SM-in", NULL, "+34600111222", "x", 1, 1100, &d, &res),
			 0);
	assert_int_equal(d.got_null, 0);
	assert_string_equal(d.seen.id, "s-seen");
	assert_string_equal(d.seen.customer_id, "cust-9");
	assert_string_equal(d.seen.name, "Bea");
	assert_string_equal(d.seen.locale, "pt");
	assert_string_equal(d.seen.kind, "ces");
	assert_string_equal(d.seen.channel, "whatsapp");
	assert_string_equal(d.seen.status, "sent");
	assert_int_equal(d.seen.reprompted, 0);
	ASSERT_TEXT(f, "whatsapp", "SELECT channel FROM messages WHERE direction = 'in'");
}

static void test_inbound_answer_stores_response_and_queues_reply(void **state)
{
	static const char text[] = "9\0 muy amables";         /* an embedded NUL byte */
	static const char pg_raw[] = "9\xef\xbf\xbd muy amables";
	static const char comment[] = "muy amables";
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = 9, .comment = comment,
					 .comment_len = sizeof(comment) - 1,
					 .reply = "¡Gracias, Ana!", .reply_purpose = "thanks" } };
	struct inbound_result res;
	struct outbox_item it;
	struct new_survey n;
	struct survey s;
	const char *raw = text;
	size_t raw_len = sizeof(text) - 1;
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t k;

	sn_init(&n, "s-ans", 1000);
	n.sn.channel = "whatsapp";
	create_sent(f, &n, "SM-ans");
	assert_int_equal(inbound(f, "twilio", "SM-in-ans", "whatsapp", "+34600111222", text,
				 sizeof(text) - 1, 1500, &d, &res), 0);
	assert_int_equal(res.duplicate, 0);
	assert_int_equal(res.matched, 1);
	assert_string_equal(res.survey_id, "s-ans");
	assert_int_equal(res.action, INBOUND_ANSWER);

	/* the raw text keeps every byte, the NUL and what follows it; PostgreSQL's text cannot hold
	 * a NUL, so that backend stores U+FFFD in its place (store/postgres/pg_inbound.c) */
	if (temp_store_on_postgres()) {
		raw = pg_raw;
		raw_len = sizeof(pg_raw) - 1;
		ASSERT_TEXT(f, "9|muy amables|1500|1",
			    "SELECT score || '|' || comment || '|' || answered_at || '|' ||"
			    " CASE WHEN message_id = (SELECT id FROM messages WHERE"
			    " provider_message_id = 'SM-in-ans') THEN 1 ELSE 0 END"
			    " FROM responses WHERE survey_id = 's-ans'");
		ASSERT_TEXT(f, pg_raw, "SELECT raw_text FROM responses WHERE survey_id = 's-ans'");
		goto read_back;
	}
	db = db_open_ro(f->path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT raw_text, score, comment, answered_at,"
					    " message_id FROM responses WHERE survey_id = 's-ans'",
					    -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), (int)sizeof(text) - 1);
	assert_memory_equal(sqlite3_column_blob(st, 0), text, sizeof(text) - 1);
	assert_int_equal(sqlite3_column_int(st, 1), 9);
	assert_string_equal((const char *)sqlite3_column_text(st, 2), comment);
	assert_int_equal(sqlite3_column_int64(st, 3), 1500);
	assert_int_equal(sqlite3_column_int64(st, 4),
			 q_int(f, "SELECT id FROM messages WHERE provider_message_id = 'SM-in-ans'"));
	sqlite3_finalize(st);
	sqlite3_close(db);

read_back:
	assert_int_equal(store_get_survey(f->st, "s-ans", &s, &err), 0);
	assert_string_equal(s.status, "answered");
	assert_int_equal(s.answered_at, 1500);
	assert_int_equal(s.has_response, 1);
	assert_int_equal(s.score, 9);
	assert_string_equal(s.comment, comment);
	assert_memory_equal(s.raw_text, raw, raw_len); /* length proven above */
	survey_release(&s);

	/* the thank-you is queued on the survey's channel, due at once */
	ASSERT_TEXT(f, "s-ans|out|thanks|whatsapp|twilio|+34600111222|queued|¡Gracias, Ana!",
		    "SELECT survey_id || '|' || direction || '|' || purpose || '|' || channel || '|'"
		    " || provider || '|' || phone || '|' || status || '|' || body FROM messages"
		    " WHERE purpose = 'thanks'");
	assert_int_equal(store_claim_due(f->st, 1500, "twilio", &it, 1, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_string_equal(it.purpose, "thanks");
	assert_string_equal(it.survey_id, "s-ans");
	outbox_item_release(&it);
	/* sending the thank-you leaves the survey answered */
	ASSERT_TEXT(f, "answered", "SELECT status FROM surveys");

	/* a new score before expiry replaces the answer; both texts stay */
	d.answer.score = 2;
	assert_int_equal(inbound(f, "twilio", "SM-in-2", NULL, "+34600111222", "2", 1, 1600, &d,
				 &res), 0);
	assert_int_equal(res.matched, 1);
	assert_int_equal(q_int(f, "SELECT score FROM responses"), 2);
	assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE direction = 'in'"), 2);
}

static void test_inbound_answer_without_comment(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;

	sn_init(&n, "s-bare", 1000);
	create_sent(f, &n, "SM-bare");
	answer(f, "+34600111222", "SM-in", 0, 1200, "s-bare");
	assert_int_equal(store_get_survey(f->st, "s-bare", &s, &err), 0);
	assert_int_equal(s.has_response, 1);
	assert_int_equal(s.score, 0);
	assert_string_equal(s.comment, "");
	assert_string_equal(s.raw_text, "ok");
	survey_release(&s);
	assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE direction = 'out'"), 1);
}

static void test_inbound_reprompt_marks_reprompted(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct decider d = { .answer = { .action = INBOUND_REPROMPT,
					 .reply = "Responde con un número del 0 al 10",
					 .reply_purpose = "reprompt" } };
	struct inbound_result res;
	struct new_survey n;
	struct survey s;

	sn_init(&n, "s-rep", 1000);
	create_sent(f, &n, "SM-rep");
	assert_int_equal(inbound(f, "twilio", "SM-in", "sms", "+34600111222", "genial", 6, 1100, &d,
				 &res), 0);
	assert_int_equal(res.matched, 1);
	assert_int_equal(res.action, INBOUND_REPROMPT);
	assert_int_equal(store_get_survey(f->st, "s-rep", &s, &err), 0);
	assert_int_equal(s.reprompted, 1);
	assert_string_equal(s.status, "sent");
	assert_int_equal(s.has_response, 0);
	survey_release(&s);
	ASSERT_TEXT(f, "reprompt|sms|queued|Responde con un número del 0 al 10",
		    "SELECT purpose || '|' || channel || '|' || status || '|' || body FROM messages"
		    " WHERE direction = 'out' AND purpose <> 'survey'");

	/* the next text shows the rules that it was re-asked already */
	d.answer = (struct inbound_decision){ .action = INBOUND_STORE_ONLY };
	assert_int_equal(inbound(f, "twilio", "SM-in-2", "sms", "+34600111222", "??", 2, 1200, &d,
				 &res), 0);
	assert_int_equal(d.seen.reprompted, 1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE purpose = 'reprompt'"), 1);
}

static void test_inbound_unmatched_is_stored_only(void **state)
{
	struct temp_store *f = *state;
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = 7,
					 .reply = "gracias", .reply_purpose = "thanks" } };
	struct inbound_result res;

	assert_int_equal(inbound(f, "twilio", "SM-stray", "sms", "+34600111222", "7", 1, 1000, &d,
				 &res), 0);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.got_null, 1);
	assert_int_equal(res.matched, 0);
	assert_string_equal(res.survey_id, "");
	assert_int_equal(count_rows(f, "messages"), 1);
	ASSERT_TEXT(f, "in|(null)|7", "SELECT direction || '|' || coalesce(survey_id, '(null)')"
		    " || '|' || body FROM messages");
	assert_int_equal(count_rows(f, "responses"), 0);
}

/* ---- survey outcomes: fatigue, opt-out, reason, time zone ---------------------------------- */

#define DAY 86400

/* store_create_survey() that must succeed; returns its outcome, the id in id_out. */
static int create_outcome(struct temp_store *f, const struct survey_new *sn,
			  char id_out[SURVEY_ID_LEN])
{
	struct gw_err err = { 0 };
	int outcome = -1;

	id_out[0] = '\0';
	if (store_create_survey(f->st, sn, id_out, &outcome, &err) != 0)
		fail_msg("store_create_survey(%s): %s", sn->id, err.msg);
	return outcome;
}

/* Sends one inbound text through `provider` with the rules deciding `action`, no reply. */
static void inbound_action(struct temp_store *f, const char *provider, const char *pid,
			   const char *from, enum inbound_action action, int score, int64_t now)
{
	struct decider d = { .answer = { .action = action, .score = score } };
	struct inbound_result res;

	assert_int_equal(inbound(f, provider, pid, NULL, from, "x", 1, now, &d, &res), 0);
	assert_int_equal(res.duplicate, 0);
}

/* Reads survey `id`'s status and reason as "status|reason". */
static void status_reason(struct temp_store *f, const char *id, char *out, size_t n)
{
	struct gw_err err = { 0 };
	struct survey s;

	assert_int_equal(store_get_survey(f->st, id, &s, &err), 0);
	snprintf(out, n, "%s|%s", s.status, s.reason);
	survey_release(&s);
}

#define ASSERT_STATUS_REASON(f, id, want) do {                          \
		char sr_[64];                                           \
		status_reason((f), (id), sr_, sizeof(sr_));             \
		if (strcmp(sr_, (want)) != 0)                           \
			print_message("%s: %s, want %s\n", (id), sr_, (want)); \
		assert_string_equal(sr_, (want));                       \
	} while (0)

/* The state an earlier survey of the same customer or phone is left in. */
enum prior {
	PRIOR_QUEUED, PRIOR_SENT, PRIOR_ANSWERED, PRIOR_FAILED, PRIOR_EXPIRED,
	PRIOR_SKIPPED_RECENT,   /* skipped as recently surveyed (after a counted one 33 days back) */
	PRIOR_SKIPPED_OPT_OUT,  /* skipped by an opt-out, then the number opted in again */
};

struct fatigue_row {
	const char *what;
	enum prior prior;
	int64_t age;                    /* how long before the new survey the prior was created */
	int same_customer, same_phone;  /* does the new survey share them with the prior? */
	int fatigue_days;
	int want;                       /* enum survey_create */
};

static const struct fatigue_row fatigue_rows[] = {
	{ "same customer and phone, 1 day", PRIOR_SENT, 1 * DAY, 1, 1, 30, SURVEY_SKIPPED },
	{ "same customer, other phone", PRIOR_SENT, 1 * DAY, 1, 0, 30, SURVEY_SKIPPED },
	{ "other customer, same phone", PRIOR_SENT, 1 * DAY, 0, 1, 30, SURVEY_SKIPPED },
	{ "other customer and phone", PRIOR_SENT, 1 * DAY, 0, 0, 30, SURVEY_CREATED },
	{ "29 days of 30", PRIOR_SENT, 29 * DAY, 1, 1, 30, SURVEY_SKIPPED },
	{ "31 days of 30", PRIOR_SENT, 31 * DAY, 1, 1, 30, SURVEY_CREATED },
	{ "2 days of 1", PRIOR_SENT, 2 * DAY, 1, 1, 1, SURVEY_CREATED },
	{ "2 days of 3", PRIOR_SENT, 2 * DAY, 0, 1, 3, SURVEY_SKIPPED },
	{ "fatigue off", PRIOR_SENT, 60, 1, 1, 0, SURVEY_CREATED },
	{ "prior still queued", PRIOR_QUEUED, 1 * DAY, 1, 1, 30, SURVEY_SKIPPED },
	{ "prior answered", PRIOR_ANSWERED, 1 * DAY, 0, 1, 30, SURVEY_SKIPPED },
	{ "prior expired", PRIOR_EXPIRED, 1 * DAY, 1, 0, 30, SURVEY_SKIPPED },
	{ "prior failed: ignored", PRIOR_FAILED, 1 * DAY, 1, 1, 30, SURVEY_CREATED },
	{ "prior skipped as recent: ignored", PRIOR_SKIPPED_RECENT, 10 * DAY, 1, 1, 30,
	  SURVEY_CREATED },
	{ "prior skipped by opt-out: ignored", PRIOR_SKIPPED_OPT_OUT, 1 * DAY, 0, 1, 30,
	  SURVEY_CREATED },
};

/* Who row i's surveys are for, through a provider of its own so claims never mix rows. */
struct fatigue_names {
	char provider[16], phone[24], other_phone[24], customer[16], other_customer[16];
	char prior[32], prior_first[32], fresh[32];
};

static void fatigue_names(size_t i, struct fatigue_names *nm)
{
	snprintf(nm->provider, sizeof(nm->provider), "prov%zu", i);
	snprintf(nm->phone, sizeof(nm->phone), "+34610000%03zu", i);
	snprintf(nm->other_phone, sizeof(nm->other_phone), "+34620000%03zu", i);
	snprintf(nm->customer, sizeof(nm->customer), "fc-%zu", i);
	snprintf(nm->other_customer, sizeof(nm->other_customer), "fo-%zu", i);
	snprintf(nm->prior, sizeof(nm->prior), "f%zu-prior", i);
	snprintf(nm->prior_first, sizeof(nm->prior_first), "f%zu-first", i);
	snprintf(nm->fresh, sizeof(nm->fresh), "f%zu-new", i);
}

/* Creates the row's earlier survey at `at` (customer, phone, provider of `nm`) and takes it to
 * the row's state. */
static void make_prior(struct temp_store *f, const struct fatigue_row *r,
		       const struct fatigue_names *nm, int64_t at)
{
	struct gw_err err = { 0 };
	struct new_survey n;
	char pid[64], id[SURVEY_ID_LEN];
	size_t k;

	sn_init(&n, nm->prior, at);
	n.sn.customer_id = nm->customer;
	n.sn.phone = nm->phone;
	n.sn.provider = nm->provider;
	snprintf(pid, sizeof(pid), "SM-%s", nm->prior);
	switch (r->prior) {
	case PRIOR_QUEUED:
		n.sn.send_after = at + 1000 * DAY;
		create_ok(f, &n.sn, SURVEY_CREATED, nm->prior);
		ASSERT_STATUS_REASON(f, nm->prior, "queued|");
		break;
	case PRIOR_SENT:
		create_sent(f, &n, pid);
		break;
	case PRIOR_ANSWERED:
		create_sent(f, &n, pid);
		snprintf(pid, sizeof(pid), "SM-in-%s", nm->prior);
		inbound_action(f, nm->provider, pid, nm->phone, INBOUND_ANSWER, 8, at + 10);
		ASSERT_STATUS_REASON(f, nm->prior, "answered|");
		break;
	case PRIOR_FAILED:
		create_ok(f, &n.sn, SURVEY_CREATED, nm->prior);
		assert_int_equal(store_send_failed(f->st, claim_one(f, nm->provider, at, nm->prior),
						   "21211", "Invalid 'To' Phone Number", at, &err), 0);
		ASSERT_STATUS_REASON(f, nm->prior, "failed|");
		break;
	case PRIOR_EXPIRED:
		n.sn.expire_after_s = 60;
		create_sent(f, &n, pid);
		assert_int_equal(store_expire_due(f->st, at + 100, &k, &err), 0);
		ASSERT_STATUS_REASON(f, nm->prior, "expired|");
		break;
	case PRIOR_SKIPPED_RECENT:
		/* a counted survey 33 days before the new one: outside its 30-day window, but
		 * inside the window of the prior, which is skipped because of it */
		sn_init(&n, nm->prior_first, at + r->age - 33 * DAY);
		n.sn.customer_id = nm->customer;
		n.sn.phone = nm->phone;
		n.sn.provider = nm->provider;
		create_sent(f, &n, "SM-first-unused");
		sn_init(&n, nm->prior, at);
		n.sn.customer_id = nm->customer;
		n.sn.phone = nm->phone;
		n.sn.provider = nm->provider;
		n.sn.fatigue_days = 30;
		assert_int_equal(create_outcome(f, &n.sn, id), SURVEY_SKIPPED);
		ASSERT_STATUS_REASON(f, nm->prior, "skipped|recently_surveyed");
		break;
	case PRIOR_SKIPPED_OPT_OUT:
		n.sn.send_after = at + 1000 * DAY;
		create_ok(f, &n.sn, SURVEY_CREATED, nm->prior);
		snprintf(pid, sizeof(pid), "SM-stop-%s", nm->prior);
		inbound_action(f, nm->provider, pid, nm->phone, INBOUND_OPT_OUT, 0, at + 10);
		snprintf(pid, sizeof(pid), "SM-start-%s", nm->prior);
		inbound_action(f, nm->provider, pid, nm->phone, INBOUND_OPT_IN, 0, at + 20);
		ASSERT_STATUS_REASON(f, nm->prior, "skipped|opted_out");
		break;
	}
}

/*
 * One row per earlier survey and how the new one relates to it: skipped when the same customer
 * id or the same phone has a counted survey (anything but skipped or failed) created within
 * fatigue_days; then the new survey is a row with status skipped, reason recently_surveyed, and
 * no outbound message.
 */
static void test_create_survey_fatigue(void **state)
{
	struct temp_store *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(fatigue_rows); i++) {
		const struct fatigue_row *r = &fatigue_rows[i];
		int64_t now = 1000 * DAY + (int64_t)i * 100 * DAY;
		struct fatigue_names nm;
		struct new_survey n;
		char id[SURVEY_ID_LEN], sr[64];
		int64_t messages;
		int got;

		fatigue_names(i, &nm);
		make_prior(f, r, &nm, now - r->age);
		messages = count_rows(f, "messages");

		sn_init(&n, nm.fresh, now);
		n.sn.customer_id = r->same_customer ? nm.customer : nm.other_customer;
		n.sn.phone = r->same_phone ? nm.phone : nm.other_phone;
		n.sn.provider = nm.provider;
		n.sn.fatigue_days = r->fatigue_days;
		got = create_outcome(f, &n.sn, id);
		status_reason(f, nm.fresh, sr, sizeof(sr));
		if (got != r->want)
			print_message("row %zu (%s): outcome %d (%s), want %d\n", i, r->what, got, sr,
				      r->want);
		assert_int_equal(got, r->want);
		assert_string_equal(id, nm.fresh);
		if (r->want == SURVEY_SKIPPED) {
			assert_string_equal(sr, "skipped|recently_surveyed");
			assert_int_equal(count_rows(f, "messages"), messages);
		} else {
			assert_string_equal(sr, "queued|");
			assert_int_equal(count_rows(f, "messages"), messages + 1);
		}
		assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE survey_id = '%s'",
				       nm.fresh), r->want == SURVEY_SKIPPED ? 0 : 1);
	}
}

/* A skipped survey's row keeps the trigger's details, and its interaction is known after. */
static void test_create_survey_skipped_row(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;
	char id[SURVEY_ID_LEN];

	sn_init(&n, "sk-1", 1000);
	create_ok(f, &n.sn, SURVEY_CREATED, "sk-1");
	sn_init(&n, "sk-2", 1000 + DAY);
	n.sn.kind = "csat";
	n.sn.fatigue_days = 30;
	n.sn.timezone = "America/Mexico_City";
	assert_int_equal(create_outcome(f, &n.sn, id), SURVEY_SKIPPED);
	assert_string_equal(id, "sk-2");

	assert_int_equal(store_get_survey(f->st, "sk-2", &s, &err), 0);
	assert_string_equal(s.status, "skipped");
	assert_string_equal(s.reason, "recently_surveyed");
	assert_string_equal(s.kind, "csat");
	assert_string_equal(s.phone, "+34600111222");
	assert_string_equal(s.customer_id, "cust-42");
	assert_string_equal(s.interaction_id, "chat-sk-2");
	assert_string_equal(s.timezone, "America/Mexico_City");
	assert_int_equal(s.created_at, 1000 + DAY);
	assert_int_equal(s.sent_at, 0);
	assert_int_equal(s.has_response, 0);
	survey_release(&s);
	assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE survey_id = 'sk-2'"), 0);

	/* a retried trigger finds the skipped survey: nothing new */
	n.sn.id = "sk-3";
	assert_int_equal(create_outcome(f, &n.sn, id), SURVEY_EXISTING);
	assert_string_equal(id, "sk-2");
	assert_int_equal(count_rows(f, "surveys"), 2);
	assert_int_equal(count_rows(f, "messages"), 1);
}

/* A suppressed phone gets nothing written, whoever the customer; opting in lifts that. */
static void test_create_survey_opted_out_writes_nothing(void **state)
{
	struct temp_store *f = *state;
	struct new_survey n;
	char id[SURVEY_ID_LEN];

	/* the number opts out before the gateway ever surveyed it */
	inbound_action(f, "twilio", "SM-stop", "+34600111222", INBOUND_OPT_OUT, 0, 500);
	assert_int_equal(count_rows(f, "suppressions"), 1);

	sn_init(&n, "o-1", 1000);
	assert_int_equal(create_outcome(f, &n.sn, id), SURVEY_OPTED_OUT);
	sn_init(&n, "o-2", 1001);
	n.sn.customer_id = "cust-other";
	n.sn.provider = "meta";
	n.sn.channel = "whatsapp";
	assert_int_equal(create_outcome(f, &n.sn, id), SURVEY_OPTED_OUT);
	assert_int_equal(count_rows(f, "surveys"), 0);
	assert_int_equal(count_rows(f, "customers"), 0);
	assert_int_equal(count_rows(f, "messages"), 1);         /* the STOP text itself */
	assert_int_equal(count_rows(f, "responses"), 0);

	/* another number is surveyed as usual */
	sn_init(&n, "o-3", 1002);
	n.sn.phone = "+34600999888";
	assert_int_equal(create_outcome(f, &n.sn, id), SURVEY_CREATED);

	/* once the number opts in again, it is surveyed */
	inbound_action(f, "twilio", "SM-start", "+34600111222", INBOUND_OPT_IN, 0, 2000);
	sn_init(&n, "o-4", 3000);
	n.sn.customer_id = "cust-9";
	assert_int_equal(create_outcome(f, &n.sn, id), SURVEY_CREATED);
	assert_string_equal(id, "o-4");
	ASSERT_STATUS_REASON(f, "o-4", "queued|");
}

/* A retried trigger after the opt-out still finds its survey (which the opt-out skipped). */
static void test_create_survey_existing_wins_over_opt_out(void **state)
{
	struct temp_store *f = *state;
	struct new_survey n;
	char id[SURVEY_ID_LEN];

	sn_init(&n, "e-1", 1000);
	n.sn.send_after = 5000;
	create_ok(f, &n.sn, SURVEY_CREATED, "e-1");
	inbound_action(f, "twilio", "SM-stop", "+34600111222", INBOUND_OPT_OUT, 0, 1100);
	ASSERT_STATUS_REASON(f, "e-1", "skipped|opted_out");
	n.sn.id = "e-2";
	assert_int_equal(create_outcome(f, &n.sn, id), SURVEY_EXISTING);
	assert_string_equal(id, "e-1");
	assert_int_equal(count_rows(f, "surveys"), 1);
}

static void test_get_survey_reason_and_timezone(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;

	sn_init(&n, "tz-1", 1000);
	n.sn.timezone = "America/Sao_Paulo";
	create_ok(f, &n.sn, SURVEY_CREATED, "tz-1");
	assert_int_equal(store_get_survey(f->st, "tz-1", &s, &err), 0);
	assert_string_equal(s.timezone, "America/Sao_Paulo");
	assert_string_equal(s.reason, "");
	survey_release(&s);
	ASSERT_TEXT(f, "America/Sao_Paulo", "SELECT timezone FROM customers WHERE ext_id = 'cust-42'");

	/* no zone given: none on the survey, and the customer keeps the one known */
	sn_init(&n, "tz-2", 2000);
	n.sn.timezone = NULL;
	create_ok(f, &n.sn, SURVEY_CREATED, "tz-2");
	assert_int_equal(store_get_survey(f->st, "tz-2", &s, &err), 0);
	assert_string_equal(s.timezone, "");
	assert_string_equal(s.reason, "");
	survey_release(&s);
	ASSERT_TEXT(f, "America/Sao_Paulo", "SELECT timezone FROM customers WHERE ext_id = 'cust-42'");

	/* the longest IANA names fit */
	sn_init(&n, "tz-3", 3000);
	n.sn.customer_id = "cust-tz3";
	n.sn.phone = "+34600000333";
	n.sn.timezone = "America/Argentina/ComodRivadavia";
	create_ok(f, &n.sn, SURVEY_CREATED, "tz-3");
	assert_int_equal(store_get_survey(f->st, "tz-3", &s, &err), 0);
	assert_string_equal(s.timezone, "America/Argentina/ComodRivadavia");
	survey_release(&s);
}

/* ---- expiry --------------------------------------------------------------------------------- */

/* expires_at is set at creation, then reset to sent_at + expire_after_s when the provider takes
 * the survey, however late that is. */
static void test_send_resets_expires_at(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;
	int64_t mid;

	sn_init(&n, "x-1", 1000);
	n.sn.send_after = 50000;                /* quiet hours, say */
	n.sn.expires_at = 1000 + 3600;
	n.sn.expire_after_s = 3600;
	create_ok(f, &n.sn, SURVEY_CREATED, "x-1");
	assert_int_equal(store_get_survey(f->st, "x-1", &s, &err), 0);
	assert_int_equal(s.expires_at, 1000 + 3600);
	survey_release(&s);

	/* claimed late, retried, then accepted */
	mid = claim_one(f, "twilio", 50000, "x-1");
	assert_int_equal(store_send_retry(f->st, mid, 50100, "http_503", "busy", &err), 0);
	assert_int_equal(store_get_survey(f->st, "x-1", &s, &err), 0);
	assert_int_equal(s.expires_at, 1000 + 3600);    /* not sent yet: unchanged */
	survey_release(&s);
	mid = claim_one(f, "twilio", 50100, "x-1");
	assert_int_equal(store_send_accepted(f->st, mid, "SM-x1", 50123, &err), 0);
	assert_int_equal(store_get_survey(f->st, "x-1", &s, &err), 0);
	assert_int_equal(s.sent_at, 50123);
	assert_int_equal(s.expires_at, 50123 + 3600);
	survey_release(&s);

	/* so a reply an hour after the original expiry still matches */
	answer(f, "+34600111222", "SM-in-x1", 7, 50123 + 3599, "x-1");
}

struct expire_setup {
	const char *id;
	const char *state;      /* as in bring_to_state() */
	int64_t expire_after;   /* seconds after sending */
	const char *want;       /* status after store_expire_due(EXPIRE_NOW) */
};

#define EXPIRE_NOW 10000

/* Survey i is created at 100 * (i + 1) and taken to its state then by bring_to_state(). */
static const struct expire_setup expire_setup[] = {
	{ "ex-sent", "sent", 100, "expired" },
	{ "ex-delivered", "delivered", 100, "expired" },
	{ "ex-read", "read", 100, "expired" },
	{ "ex-uncertain", "uncertain", 100, "expired" },
	{ "ex-answered", "answered", 100, "answered" },
	{ "ex-queued", "queued", 100, "queued" },
	{ "ex-failed", "failed", 100, "failed" },
	{ "ex-later", "sent", 100000, "sent" },
	{ "ex-edge", "sent", 0, "expired" },            /* expires_at == EXPIRE_NOW */
};

static void test_expire_due(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	size_t n = 99;

	for (size_t i = 0; i < ARRAY_LEN(expire_setup); i++) {
		const struct expire_setup *e = &expire_setup[i];
		struct match_survey m = { e->id, NULL, "twilio", "sms", 100 * ((int64_t)i + 1), 0,
					  e->state };
		char phone[24];
		struct new_survey ns;

		snprintf(phone, sizeof(phone), "+3460070%04zu", i);
		m.phone = phone;
		sn_init(&ns, e->id, m.created);
		ns.sn.phone = phone;
		ns.sn.expires_at = m.created + 5;      /* past for the ones never sent, too */
		/* sent at m.created; ex-edge then expires exactly at EXPIRE_NOW */
		ns.sn.expire_after_s = strcmp(e->id, "ex-edge") == 0 ? EXPIRE_NOW - m.created
								       : e->expire_after;
		if (strcmp(e->state, "queued") == 0)
			ns.sn.send_after = 100000;
		create_ok(f, &ns.sn, SURVEY_CREATED, e->id);
		bring_to_state(f, &m);
	}

	assert_int_equal(store_expire_due(f->st, EXPIRE_NOW, &n, &err), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < ARRAY_LEN(expire_setup); i++) {
		char got[32];

		q_text(f, got, sizeof(got), "SELECT status FROM surveys WHERE id = '%s'",
		       expire_setup[i].id);
		if (strcmp(got, expire_setup[i].want) != 0)
			print_message("%s: %s, want %s\n", expire_setup[i].id, got,
				      expire_setup[i].want);
		assert_string_equal(got, expire_setup[i].want);
	}
	/* the answer of an answered survey stays */
	assert_int_equal(q_int(f, "SELECT count(*) FROM responses WHERE survey_id = 'ex-answered'"), 1);

	/* nothing is expired twice */
	n = 99;
	assert_int_equal(store_expire_due(f->st, EXPIRE_NOW, &n, &err), 0);
	assert_int_equal(n, 0);

	/* an expired survey takes no more replies */
	{
		struct decider d = { .answer = { .action = INBOUND_STORE_ONLY } };
		struct inbound_result res;

		assert_int_equal(inbound(f, "twilio", "SM-late", NULL, "+34600700000", "9", 1,
					 EXPIRE_NOW + 1, &d, &res), 0);
		assert_int_equal(res.matched, 0);
	}

	/* later the last one goes too */
	assert_int_equal(store_expire_due(f->st, 200000, &n, &err), 0);
	assert_int_equal(n, 1);
	ASSERT_TEXT(f, "expired", "SELECT status FROM surveys WHERE id = 'ex-later'");
	ASSERT_TEXT(f, "queued", "SELECT status FROM surveys WHERE id = 'ex-queued'");
}

/* ---- inbound: the view, opt-out, opt-in ------------------------------------------------------ */

/* Without any survey open, the rules still learn the number's suppression and newest customer. */
static void test_inbound_view_without_survey(void **state)
{
	struct temp_store *f = *state;
	struct decider d = { .answer = { .action = INBOUND_STORE_ONLY } };
	struct inbound_result res;
	struct new_survey n;

	/* a number the gateway never saw */
	memset(&d.view, 0x5a, sizeof(d.view));
	assert_int_equal(inbound(f, "twilio", "SM-v1", NULL, "+34600111222", "hola", 4, 100, &d,
				 &res), 0);
	assert_int_equal(d.got_null, 1);
	assert_int_equal(d.view.suppressed, 0);
	assert_string_equal(d.view.locale, "");
	assert_string_equal(d.view.name, "");

	/* two customers share the number; their surveys are queued, so nothing matches */
	sn_init(&n, "v-a", 1000);
	n.sn.customer_id = "cust-a";
	n.sn.name = "Ana";
	n.sn.locale = "es";
	n.sn.send_after = 100000;
	create_ok(f, &n.sn, SURVEY_CREATED, "v-a");
	sn_init(&n, "v-b", 2000);
	n.sn.customer_id = "cust-b";
	n.sn.name = "Bea";
	n.sn.locale = "pt";
	n.sn.send_after = 100000;
	create_ok(f, &n.sn, SURVEY_CREATED, "v-b");
	assert_int_equal(inbound(f, "twilio", "SM-v2", NULL, "+34600111222", "hola", 4, 2100, &d,
				 &res), 0);
	assert_int_equal(d.got_null, 1);
	assert_int_equal(res.matched, 0);
	assert_int_equal(d.view.suppressed, 0);
	assert_string_equal(d.view.locale, "pt");       /* the newest customer */
	assert_string_equal(d.view.name, "Bea");

	/* customer a is updated later: it is the newest now */
	sn_init(&n, "v-a2", 3000);
	n.sn.customer_id = "cust-a";
	n.sn.name = "Ana";
	n.sn.locale = "en";
	n.sn.send_after = 100000;
	create_ok(f, &n.sn, SURVEY_CREATED, "v-a2");
	assert_int_equal(inbound(f, "twilio", "SM-v3", NULL, "+34600111222", "hola", 4, 3100, &d,
				 &res), 0);
	assert_string_equal(d.view.locale, "en");
	assert_string_equal(d.view.name, "Ana");

	/* suppressed after an opt-out, not after the opt-in */
	inbound_action(f, "twilio", "SM-v4", "+34600111222", INBOUND_OPT_OUT, 0, 3200);
	assert_int_equal(inbound(f, "twilio", "SM-v5", NULL, "+34600111222", "hola", 4, 3300, &d,
				 &res), 0);
	assert_int_equal(d.view.suppressed, 1);
	assert_string_equal(d.view.locale, "en");
	inbound_action(f, "twilio", "SM-v6", "+34600111222", INBOUND_OPT_IN, 0, 3400);
	assert_int_equal(inbound(f, "twilio", "SM-v7", NULL, "+34600111222", "hola", 4, 3500, &d,
				 &res), 0);
	assert_int_equal(d.view.suppressed, 0);

	/* the view of another number is its own */
	assert_int_equal(inbound(f, "twilio", "SM-v8", NULL, "+34600999888", "hola", 4, 3600, &d,
				 &res), 0);
	assert_string_equal(d.view.locale, "");
	assert_string_equal(d.view.name, "");
}

/*
 * An opt-out with a survey open: the number is suppressed (a suppressions row, customers flagged),
 * its queued surveys are skipped with reason opted_out and their messages cancelled, the open
 * survey is left as it is, and the confirmation is queued afterwards on the survey's channel.
 * Another number's queued survey is untouched.
 */
static void test_inbound_opt_out_suppresses_skips_and_cancels(void **state)
{
	struct temp_store *f = *state;
	struct decider d = { .answer = { .action = INBOUND_OPT_OUT, .reply = "Listo, no más",
					 .reply_purpose = "opt_out" } };
	struct inbound_result res;
	struct outbox_item items[4];
	struct gw_err err = { 0 };
	struct new_survey n;
	size_t k;

	sn_init(&n, "oo-open", 1000);
	n.sn.channel = "whatsapp";
	create_sent(f, &n, "SM-open");
	sn_init(&n, "oo-q1", 1100);
	n.sn.send_after = 90000;
	create_ok(f, &n.sn, SURVEY_CREATED, "oo-q1");
	sn_init(&n, "oo-q2", 1200);
	n.sn.customer_id = "cust-43";           /* another customer on the same number */
	n.sn.provider = "meta";
	n.sn.send_after = 90000;
	create_ok(f, &n.sn, SURVEY_CREATED, "oo-q2");
	sn_init(&n, "oo-other", 1300);
	n.sn.customer_id = "cust-77";
	n.sn.phone = "+34600999888";
	n.sn.provider = "zenvia";               /* out of the claims below */
	n.sn.send_after = 90000;
	create_ok(f, &n.sn, SURVEY_CREATED, "oo-other");

	assert_int_equal(inbound(f, "twilio", "SM-stop", NULL, "+34600111222", "BAJA", 4, 2000, &d,
				 &res), 0);
	assert_int_equal(res.matched, 1);
	assert_string_equal(res.survey_id, "oo-open");
	assert_int_equal(res.action, INBOUND_OPT_OUT);

	ASSERT_TEXT(
		f, "+34600111222|1|2000|(null)|twilio",
		"SELECT phone || '|' || opted_out || '|' || opted_out_at || '|' ||"
		" coalesce(CAST(opted_in_at AS text), '(null)') || '|' || provider FROM suppressions");
	assert_int_equal(count_rows(f, "suppressions"), 1);
	assert_int_equal(q_int(f, "SELECT opted_out FROM customers WHERE ext_id = 'cust-42'"), 1);
	assert_int_equal(q_int(f, "SELECT opted_out FROM customers WHERE ext_id = 'cust-43'"), 1);
	assert_int_equal(q_int(f, "SELECT opted_out FROM customers WHERE ext_id = 'cust-77'"), 0);

	ASSERT_STATUS_REASON(f, "oo-q1", "skipped|opted_out");
	ASSERT_STATUS_REASON(f, "oo-q2", "skipped|opted_out");
	ASSERT_STATUS_REASON(f, "oo-open", "sent|");
	ASSERT_STATUS_REASON(f, "oo-other", "queued|");
	ASSERT_TEXT(f, "cancelled", "SELECT status FROM messages WHERE survey_id = 'oo-q1'");
	ASSERT_TEXT(f, "cancelled", "SELECT status FROM messages WHERE survey_id = 'oo-q2'");
	ASSERT_TEXT(f, "sent", "SELECT status FROM messages WHERE survey_id = 'oo-open'"
		    " AND purpose = 'survey'");
	ASSERT_TEXT(f, "queued", "SELECT status FROM messages WHERE survey_id = 'oo-other'");

	/* the confirmation: queued (not cancelled with the rest), on the survey's channel */
	ASSERT_TEXT(f, "oo-open|whatsapp|twilio|+34600111222|queued|Listo, no más",
		    "SELECT coalesce(survey_id, '(null)') || '|' || channel || '|' || provider || '|'"
		    " || phone || '|' || status || '|' || body FROM messages"
		    " WHERE purpose = 'opt_out'");
	assert_int_equal(q_int(f, "SELECT next_attempt_at FROM messages WHERE purpose = 'opt_out'"),
			 2000);
	assert_int_equal(store_claim_due(f->st, 100000, "twilio", items, ARRAY_LEN(items), &k, &err),
			 0);
	assert_int_equal(k, 1);                 /* the confirmation; never oo-q1 */
	assert_string_equal(items[0].purpose, "opt_out");
	outbox_item_release(&items[0]);
	assert_int_equal(store_claim_due(f->st, 100000, "meta", items, ARRAY_LEN(items), &k, &err), 0);
	assert_int_equal(k, 0);                 /* never oo-q2 */
}

struct opt_out_reply_row {
	const char *channel;    /* of the inbound text */
	const char *want;       /* channel of the confirmation */
};

/* An opt-out with no survey open: the confirmation has no survey and goes back on the text's
 * channel, sms when the provider did not say. */
static void test_inbound_opt_out_reply_without_survey(void **state)
{
	static const struct opt_out_reply_row rows[] = {
		{ NULL, "sms" }, { "sms", "sms" }, { "whatsapp", "whatsapp" },
	};
	struct temp_store *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct decider d = { .answer = { .action = INBOUND_OPT_OUT, .reply = "ok",
						 .reply_purpose = "opt_out" } };
		struct inbound_result res;
		char phone[24], pid[24];

		snprintf(phone, sizeof(phone), "+3460080000%zu", i);
		snprintf(pid, sizeof(pid), "SM-oo-%zu", i);
		assert_int_equal(inbound(f, "twilio", pid, rows[i].channel, phone, "STOP", 4, 1000, &d,
					 &res), 0);
		assert_int_equal(res.matched, 0);
		assert_int_equal(res.action, INBOUND_OPT_OUT);
		ASSERT_TEXT(f, rows[i].want, "SELECT channel FROM messages WHERE purpose = 'opt_out'"
			    " AND phone = '%s'", phone);
		assert_int_equal(q_int(f, "SELECT survey_id FROM messages WHERE purpose = 'opt_out'"
				       " AND phone = '%s'", phone), -1);   /* NULL */
		assert_int_equal(q_int(f, "SELECT opted_out FROM suppressions WHERE phone = '%s'",
				       phone), 1);
	}
	assert_int_equal(count_rows(f, "suppressions"), ARRAY_LEN(rows));
}

/* Opting in flips the suppression off and keeps the record of the opt-out. */
static void test_inbound_opt_in_keeps_the_row(void **state)
{
	struct temp_store *f = *state;
	struct decider d = { .answer = { .action = INBOUND_OPT_IN, .reply = "De vuelta",
					 .reply_purpose = "opt_in" } };
	struct inbound_result res;
	struct new_survey n;

	sn_init(&n, "oi-1", 500);
	n.sn.send_after = 90000;
	create_ok(f, &n.sn, SURVEY_CREATED, "oi-1");
	inbound_action(f, "twilio", "SM-stop", "+34600111222", INBOUND_OPT_OUT, 0, 1000);
	assert_int_equal(q_int(f, "SELECT opted_out FROM customers"), 1);

	assert_int_equal(inbound(f, "twilio", "SM-start", "sms", "+34600111222", "ALTA", 4, 2000, &d,
				 &res), 0);
	assert_int_equal(res.action, INBOUND_OPT_IN);
	assert_int_equal(count_rows(f, "suppressions"), 1);
	ASSERT_TEXT(f, "+34600111222|0|1000|2000",
		    "SELECT phone || '|' || opted_out || '|' || opted_out_at || '|' ||"
		    " coalesce(CAST(opted_in_at AS text), '(null)') FROM suppressions");
	assert_int_equal(q_int(f, "SELECT opted_out FROM customers"), 0);
	ASSERT_TEXT(f, "(null)|sms|queued|De vuelta",
		    "SELECT coalesce(survey_id, '(null)') || '|' || channel || '|' || status || '|'"
		    " || body FROM messages WHERE purpose = 'opt_in'");
	/* the survey the opt-out skipped stays skipped */
	ASSERT_STATUS_REASON(f, "oi-1", "skipped|opted_out");

	/* opting out again sets it back, still one row */
	inbound_action(f, "twilio", "SM-stop-2", "+34600111222", INBOUND_OPT_OUT, 0, 3000);
	assert_int_equal(count_rows(f, "suppressions"), 1);
	ASSERT_TEXT(f, "1|3000|2000", "SELECT opted_out || '|' || opted_out_at || '|' || opted_in_at"
		    " FROM suppressions");
}

/* ---- inbound: follow-up and comments ---------------------------------------------------- */

/* A survey sent at 1001 that expires at 1501. */
static void create_sent_expiring(struct temp_store *f, const char *id)
{
	struct new_survey n;
	char pid[48];

	sn_init(&n, id, 1000);
	n.sn.expire_after_s = 500;
	snprintf(pid, sizeof(pid), "SM-%s", id);
	create_sent(f, &n, pid);
}

/* What a store-only text from the survey's number at `now` matches ("" for none), and whether a
 * follow-up was pending. */
static void peek(struct temp_store *f, const char *pid, int64_t now, char *matched, int *pending)
{
	struct decider d = { .answer = { .action = INBOUND_STORE_ONLY } };
	struct inbound_result res;

	assert_int_equal(inbound(f, "twilio", pid, NULL, "+34600111222", "?", 1, now, &d, &res), 0);
	snprintf(matched, SURVEY_ID_LEN, "%s", res.survey_id);
	*pending = res.matched ? d.seen.follow_up_pending : -1;
}

struct follow_up_row {
	int64_t now;
	const char *want_match;
	int want_pending;       /* -1: not matched */
};

/* Answered at 1100 with a follow-up window to 3000; the survey expires at 1501. */
static const struct follow_up_row follow_up_rows[] = {
	{ 1200, "fu-1", 1 },
	{ 1500, "fu-1", 1 },
	{ 1501, "fu-1", 1 },    /* past expires_at: the window keeps it open */
	{ 2999, "fu-1", 1 },
	{ 3000, "", -1 },
	{ 9000, "", -1 },
};

static void test_inbound_follow_up_window_outlives_expiry(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = 9,
					 .follow_up_until = 3000, .reply = "¿Por qué?",
					 .reply_purpose = "follow_up" } };
	struct inbound_result res;
	size_t n;

	create_sent_expiring(f, "fu-1");
	assert_int_equal(inbound(f, "twilio", "SM-ans", NULL, "+34600111222", "9", 1, 1100, &d, &res),
			 0);
	assert_int_equal(res.matched, 1);
	assert_int_equal(q_int(f, "SELECT follow_up_until FROM surveys WHERE id = 'fu-1'"), 3000);
	ASSERT_TEXT(f, "fu-1|follow_up|¿Por qué?",
		    "SELECT survey_id || '|' || purpose || '|' || body FROM messages"
		    " WHERE purpose = 'follow_up'");
	/* expiry leaves an answered survey alone */
	assert_int_equal(store_expire_due(f->st, 2000, &n, &err), 0);
	assert_int_equal(n, 0);

	for (size_t i = 0; i < ARRAY_LEN(follow_up_rows); i++) {
		const struct follow_up_row *r = &follow_up_rows[i];
		char pid[32], matched[SURVEY_ID_LEN];
		int pending;

		snprintf(pid, sizeof(pid), "SM-peek-%zu", i);
		peek(f, pid, r->now, matched, &pending);
		if (strcmp(matched, r->want_match) != 0 || pending != r->want_pending)
			print_message("at %lld: matched \"%s\" pending %d, want \"%s\" %d\n",
				      (long long)r->now, matched, pending, r->want_match,
				      r->want_pending);
		assert_string_equal(matched, r->want_match);
		assert_int_equal(pending, r->want_pending);
	}
}

/* Without a follow-up, or after its window, an answered survey is open (to a new score) only
 * until it expires, and no follow-up is pending. */
static void test_inbound_answer_without_follow_up(void **state)
{
	struct temp_store *f = *state;
	char matched[SURVEY_ID_LEN];
	int pending;

	create_sent_expiring(f, "nf-1");
	answer(f, "+34600111222", "SM-ans", 9, 1100, "nf-1");
	assert_int_equal(q_int(f, "SELECT follow_up_until FROM surveys WHERE id = 'nf-1'"), -1);
	peek(f, "SM-p1", 1200, matched, &pending);
	assert_string_equal(matched, "nf-1");
	assert_int_equal(pending, 0);
	peek(f, "SM-p2", 1501, matched, &pending);
	assert_string_equal(matched, "");

	/* a window shorter than the survey's life: open, nothing pending after it */
	{
		struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = 4,
						 .follow_up_until = 1300 } };
		struct inbound_result res;

		create_sent_expiring(f, "nf-2");
		assert_int_equal(inbound(f, "twilio", "SM-ans-2", NULL, "+34600111222", "4", 1, 1250,
					 &d, &res), 0);
		assert_string_equal(res.survey_id, "nf-2");
		peek(f, "SM-p3", 1299, matched, &pending);
		assert_string_equal(matched, "nf-2");
		assert_int_equal(pending, 1);
		peek(f, "SM-p4", 1300, matched, &pending);
		assert_string_equal(matched, "nf-2");
		assert_int_equal(pending, 0);
	}
}

/* The follow-up comment replaces the response's comment (only comment_len bytes of it), keeps
 * the score, closes the window and queues the reply. */
static void test_inbound_comment_replaces_comment_and_closes_follow_up(void **state)
{
	static const char first[] = "rápido";
	static const char second[] = "el precio, nada más";
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = 9, .comment = first,
					 .comment_len = sizeof(first) - 1,
					 .follow_up_until = 5000 } };
	struct inbound_result res;
	char matched[SURVEY_ID_LEN];
	struct survey s;
	int pending;

	create_sent_expiring(f, "cm-1");
	assert_int_equal(inbound(f, "twilio", "SM-ans", NULL, "+34600111222", "9 rápido", 9, 1100,
				 &d, &res), 0);

	d.answer = (struct inbound_decision){ .action = INBOUND_COMMENT, .comment = second,
					      .comment_len = 9,         /* "el precio" */
					      .reply = "¡Gracias!", .reply_purpose = "thanks" };
	assert_int_equal(inbound(f, "twilio", "SM-cm", NULL, "+34600111222", second,
				 sizeof(second) - 1, 2000, &d, &res), 0);
	assert_int_equal(res.matched, 1);
	assert_string_equal(res.survey_id, "cm-1");
	assert_int_equal(res.action, INBOUND_COMMENT);
	assert_int_equal(d.seen.follow_up_pending, 1);  /* what the rules saw */

	assert_int_equal(store_get_survey(f->st, "cm-1", &s, &err), 0);
	assert_string_equal(s.status, "answered");
	assert_int_equal(s.score, 9);
	assert_string_equal(s.comment, "el precio");
	assert_int_equal(s.answered_at, 1100);
	survey_release(&s);
	assert_int_equal(q_int(f, "SELECT follow_up_until FROM surveys WHERE id = 'cm-1'"), -1);
	ASSERT_TEXT(f, "cm-1|thanks|queued|¡Gracias!",
		    "SELECT survey_id || '|' || purpose || '|' || status || '|' || body"
		    " FROM messages WHERE purpose = 'thanks'");
	/* the comment text is stored and linked like any other */
	ASSERT_TEXT(f, "cm-1", "SELECT survey_id FROM messages WHERE provider_message_id = 'SM-cm'");

	/* the window is closed: past the survey's expiry nothing matches any more */
	peek(f, "SM-p1", 2001, matched, &pending);
	assert_string_equal(matched, "");
}

struct reanswer_row {
	int score;
	const char *comment;    /* NULL: none given */
	const char *want_comment;
};

/* Successive answers to one survey: the score always follows the newest; the comment only when
 * the newest has one. */
static const struct reanswer_row reanswer_rows[] = {
	{ 9, "bien", "bien" },
	{ 3, NULL, "bien" },
	{ 4, "", "bien" },
	{ 5, "mal", "mal" },
	{ 6, NULL, "mal" },
};

static void test_inbound_reanswer_keeps_comment_when_new_is_empty(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;

	sn_init(&n, "ra-1", 1000);
	create_sent(f, &n, "SM-ra");
	for (size_t i = 0; i < ARRAY_LEN(reanswer_rows); i++) {
		const struct reanswer_row *r = &reanswer_rows[i];
		struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = r->score,
						 .comment = r->comment,
						 .comment_len = r->comment ? strlen(r->comment) : 0 } };
		struct inbound_result res;
		char pid[32];
		struct survey s;

		snprintf(pid, sizeof(pid), "SM-ra-%zu", i);
		assert_int_equal(inbound(f, "twilio", pid, NULL, "+34600111222", "x", 1,
					 1100 + (int64_t)i, &d, &res), 0);
		assert_string_equal(res.survey_id, "ra-1");
		assert_int_equal(store_get_survey(f->st, "ra-1", &s, &err), 0);
		if (s.score != r->score || strcmp(s.comment, r->want_comment) != 0)
			print_message("answer %zu: score %d comment \"%s\", want %d \"%s\"\n", i,
				      s.score, s.comment, r->score, r->want_comment);
		assert_int_equal(s.score, r->score);
		assert_string_equal(s.comment, r->want_comment);
		assert_int_equal(s.answered_at, 1100 + (int64_t)i);
		survey_release(&s);
	}
	assert_int_equal(count_rows(f, "responses"), 1);
}

/* Rules about a survey without a survey: the text is stored, nothing else changes, the reply
 * is not queued - also when the number has a survey that is not open (queued). */
static void test_inbound_survey_actions_without_match_do_nothing(void **state)
{
	static const enum inbound_action actions[] = { INBOUND_ANSWER, INBOUND_REPROMPT,
						       INBOUND_COMMENT };
	struct temp_store *f = *state;
	struct new_survey n;

	sn_init(&n, "nm-q", 1000);
	n.sn.send_after = 90000;
	create_ok(f, &n.sn, SURVEY_CREATED, "nm-q");

	for (size_t i = 0; i < ARRAY_LEN(actions); i++) {
		static const char *const from[] = { "+34600111222", "+34699999999" };

		for (size_t k = 0; k < ARRAY_LEN(from); k++) {
			struct decider d = { .answer = { .action = actions[i], .score = 7,
							 .comment = "c", .comment_len = 1,
							 .follow_up_until = 5000, .reply = "r",
							 .reply_purpose = "thanks" } };
			struct inbound_result res;
			int64_t before = count_rows(f, "messages");
			char pid[32];

			snprintf(pid, sizeof(pid), "SM-nm-%zu-%zu", i, k);
			assert_int_equal(inbound(f, "twilio", pid, NULL, from[k], "7 c", 3, 2000, &d,
						 &res), 0);
			assert_int_equal(d.calls, 1);
			assert_int_equal(res.matched, 0);
			assert_int_equal(count_rows(f, "messages"), before + 1);
			assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE direction = 'out'"
					       " AND purpose <> 'survey'"), 0);
			assert_int_equal(count_rows(f, "responses"), 0);
			assert_int_equal(count_rows(f, "suppressions"), 0);
			ASSERT_TEXT(
				f, "queued|0|(null)",
				"SELECT status || '|' || reprompted || '|' ||"
				" coalesce(CAST(follow_up_until AS text), '(null)') FROM surveys"
				" WHERE id = 'nm-q'");
		}
	}
}

/* ---- delivery statuses --------------------------------------------------------------------- */

struct status_row {
	const char *before[3];          /* statuses recorded first (NULL-terminated) */
	int answered;                   /* the survey is answered before `status` arrives */
	const char *status;
	const char *want_message, *want_survey;
};

static const struct status_row status_rows[] = {
	{ { NULL }, 0, "sent", "sent", "sent" },
	{ { NULL }, 0, "delivered", "delivered", "delivered" },
	{ { NULL }, 0, "read", "read", "read" },
	{ { "delivered" }, 0, "read", "read", "read" },
	{ { "read" }, 0, "delivered", "read", "read" },        /* late delivered: ignored */
	{ { "read" }, 0, "sent", "read", "read" },
	{ { "delivered" }, 0, "sent", "delivered", "delivered" },
	{ { "delivered" }, 0, "delivered", "delivered", "delivered" },
	{ { NULL }, 0, "failed", "failed", "failed" },
	{ { "delivered" }, 0, "failed", "delivered", "delivered" },
	{ { "read" }, 0, "failed", "read", "read" },
	{ { "failed" }, 0, "delivered", "failed", "failed" },
	{ { "failed" }, 0, "read", "failed", "failed" },
	{ { NULL }, 1, "delivered", "delivered", "answered" },
	{ { NULL }, 1, "read", "read", "answered" },
	{ { NULL }, 1, "failed", "failed", "answered" },
	{ { "delivered" }, 1, "read", "read", "answered" },
};

static void test_record_status_moves_forward_only(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(status_rows); i++) {
		const struct status_row *r = &status_rows[i];
		int64_t t = 1000 + (int64_t)i * 100;
		char id[32], pid[32], phone[32];
		struct new_survey n;
		struct survey s;
		int found = 0;

		snprintf(id, sizeof(id), "st-%zu", i);
		snprintf(pid, sizeof(pid), "SM-st-%zu", i);
		snprintf(phone, sizeof(phone), "+346000001%02zu", i);
		sn_init(&n, id, t);
		n.sn.phone = phone;
		create_sent(f, &n, pid);
		for (size_t j = 0; r->before[j]; j++) {
			assert_int_equal(store_record_status(f->st, "twilio", pid, r->before[j], NULL,
							     NULL, t + 2, &found, &err), 0);
			assert_int_equal(found, 1);
		}
		if (r->answered) {
			char in_pid[32];

			snprintf(in_pid, sizeof(in_pid), "SM-in-st-%zu", i);
			answer(f, phone, in_pid, 9, t + 3, id);
		}
		found = 0;
		assert_int_equal(store_record_status(f->st, "twilio", pid, r->status,
						     strcmp(r->status, "failed") ? NULL : "30008",
						     strcmp(r->status, "failed") ? NULL : "Unknown error",
						     t + 4, &found, &err), 0);
		assert_int_equal(found, 1);
		assert_int_equal(store_get_survey(f->st, id, &s, &err), 0);
		{
			char msg_status[32];

			q_text(f, msg_status, sizeof(msg_status),
			       "SELECT status FROM messages WHERE provider_message_id = '%s'", pid);
			if (strcmp(msg_status, r->want_message) || strcmp(s.status, r->want_survey))
				print_message("row %zu (%s%s then %s): message %s survey %s, want %s %s\n",
					      i, r->before[0] ? r->before[0] : "sent",
					      r->answered ? ", answered" : "", r->status, msg_status,
					      s.status, r->want_message, r->want_survey);
			assert_string_equal(msg_status, r->want_message);
		}
		assert_string_equal(s.status, r->want_survey);
		if (strcmp(r->want_survey, "failed") == 0 && !r->before[0]) {
			assert_string_equal(s.error_code, "30008");
			assert_string_equal(s.error_message, "Unknown error");
		}
		survey_release(&s);
	}
}

static void test_record_status_delivered_at_and_unknown_ids(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct new_survey n;
	struct survey s;
	int found = 1;

	sn_init(&n, "s-dl", 1000);
	create_sent(f, &n, "SM-dl");
	assert_int_equal(store_record_status(f->st, "twilio", "SM-dl", "delivered", NULL, NULL, 1010,
					     &found, &err), 0);
	assert_int_equal(store_record_status(f->st, "twilio", "SM-dl", "read", NULL, NULL, 1020,
					     &found, &err), 0);
	assert_int_equal(store_get_survey(f->st, "s-dl", &s, &err), 0);
	assert_string_equal(s.status, "read");
	assert_int_equal(s.delivered_at, 1010);         /* the first delivery, not the read */
	survey_release(&s);

	/* unknown id, or a known id under another provider: not found, nothing written */
	found = 1;
	assert_int_equal(store_record_status(f->st, "twilio", "SM-nope", "delivered", NULL, NULL,
					     1030, &found, &err), 0);
	assert_int_equal(found, 0);
	found = 1;
	assert_int_equal(store_record_status(f->st, "meta", "SM-dl", "failed", "1", "x", 1030,
					     &found, &err), 0);
	assert_int_equal(found, 0);
	ASSERT_TEXT(f, "read", "SELECT status FROM messages WHERE provider_message_id = 'SM-dl'");
}

/* ---- export --------------------------------------------------------------------------------- */

#define T0 1795305600           /* 2026-11-22T00:00:00Z */

struct export_setup {
	const char *id, *kind, *phone;
	int score;
	int64_t answered_at;    /* 0: never answered */
};

static const struct export_setup export_setup[] = {
	{ "ex-1", "nps", "+34600000101", 9, T0 + 300 },
	{ "ex-2", "ces", "+34600000102", 6, T0 + 100 },
	{ "ex-3", "nps", "+34600000103", 3, T0 + 200 },
	{ "ex-4", "csat", "+34600000104", 5, T0 + 86400 },
	{ "ex-5", "nps", "+34600000105", 0, 0 },
};

struct export_case {
	struct export_filter f;
	const char *want;       /* survey ids, comma-separated, in order */
};

static const struct export_case export_cases[] = {
	{ { .kind = NULL }, "ex-2,ex-3,ex-1,ex-4" },
	{ { .kind = "nps" }, "ex-3,ex-1" },
	{ { .kind = "ces" }, "ex-2" },
	{ { .kind = "csat" }, "ex-4" },
	{ { .since = T0 + 200 }, "ex-3,ex-1,ex-4" },           /* since: included */
	{ { .until = T0 + 200 }, "ex-2" },                     /* until: excluded */
	{ { .since = T0 + 100, .until = T0 + 301 }, "ex-2,ex-3,ex-1" },
	{ { .since = T0, .until = T0 + 86400 }, "ex-2,ex-3,ex-1" },
	{ { .kind = "nps", .since = T0 + 250 }, "ex-1" },
	{ { .kind = "ces", .since = T0 + 101 }, "" },
	{ { .since = T0 + 86401 }, "" },
};

static void export_fill(struct temp_store *f)
{
	for (size_t i = 0; i < ARRAY_LEN(export_setup); i++) {
		const struct export_setup *e = &export_setup[i];
		struct new_survey n;
		char pid[32];

		sn_init(&n, e->id, T0 - 1000 + (int64_t)i);
		n.sn.kind = e->kind;
		n.sn.phone = e->phone;
		n.sn.expires_at = T0 + 3 * 86400;
		snprintf(pid, sizeof(pid), "SM-%s", e->id);
		create_sent(f, &n, pid);
	}
	for (size_t i = 0; i < ARRAY_LEN(export_setup); i++) {
		const struct export_setup *e = &export_setup[i];
		char pid[32];

		if (!e->answered_at)
			continue;
		snprintf(pid, sizeof(pid), "SM-in-%s", e->id);
		answer(f, e->phone, pid, e->score, e->answered_at, e->id);
	}
}

static void test_export_filters_and_order(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };

	export_fill(f);
	for (size_t i = 0; i < ARRAY_LEN(export_cases); i++) {
		const struct export_case *c = &export_cases[i];
		struct export_cursor *cur = store_export_open(f->st, &c->f, &err);
		struct export_row r;
		char got[256] = "";
		size_t len = 0;
		int rc;

		assert_non_null(cur);
		while ((rc = store_export_next(cur, &r, &err)) == 1) {
			len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s",
						len ? "," : "", r.survey_id);
			assert_true(len < sizeof(got));
		}
		assert_int_equal(rc, 0);
		store_export_close(cur);
		if (strcmp(got, c->want) != 0)
			print_message("case %zu (kind %s, since %lld, until %lld): got \"%s\"\n", i,
				      c->f.kind ? c->f.kind : "any", (long long)c->f.since,
				      (long long)c->f.until, got);
		assert_string_equal(got, c->want);
	}
}

/* The ids a cursor returns, comma-separated, over [from, to). */
static void export_ids(struct export_cursor *cur, int64_t from, int64_t to, char *got, size_t cap)
{
	struct gw_err err = { 0 };
	struct export_row r;
	size_t len = 0;
	int rc;

	assert_int_equal(store_export_range(cur, from, to, &err), 0);
	got[0] = '\0';
	while ((rc = store_export_next(cur, &r, &err)) == 1) {
		len += (size_t)snprintf(got + len, cap - len, "%s%s", len ? "," : "", r.survey_id);
		assert_true(len < cap);
	}
	assert_int_equal(rc, 0);
}

/* Cursors opened together read one snapshot, taken when they open (an answer committed later is
 * in none of them), and their ranges cut the export into parts that add up to it. */
static void test_export_cursors_share_one_snapshot(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct export_filter all = { 0 };
	struct export_cursor *cur[2];
	struct new_survey n;
	char whole[256], first[256], second[256], joined[520];
	int64_t *bounds = NULL;
	size_t ncur = 2, nb = 0;

	export_fill(f);
	assert_int_equal(store_export_open_many(f->st, &all, cur, &ncur, &err), 0);
	assert_int_equal(ncur, 2);

	sn_init(&n, "s-late", T0);
	n.sn.phone = "+34600999888";
	n.sn.expires_at = T0 + 3 * 86400;
	create_sent(f, &n, "SM-late");
	answer(f, "+34600999888", "SM-in-late", 9, T0 + 100, "s-late");

	export_ids(cur[0], 0, 0, whole, sizeof(whole));
	assert_null(strstr(whole, "s-late"));
	export_ids(cur[1], 0, 0, second, sizeof(second));
	assert_string_equal(second, whole);

	/* Every second answer time is a boundary: two slices, read on the two cursors. */
	assert_int_equal(store_export_bounds(cur[0], 2, &bounds, &nb, &err), 0);
	assert_true(nb >= 1);
	export_ids(cur[0], 0, bounds[0], first, sizeof(first));
	export_ids(cur[1], bounds[0], 0, second, sizeof(second));
	assert_true(first[0] && second[0]);
	snprintf(joined, sizeof(joined), "%s,%s", first, second);
	assert_string_equal(joined, whole);
	free(bounds);
	store_export_close(cur[0]);
	store_export_close(cur[1]);
}

static void test_export_row_fields(void **state)
{
	static const char comment[] = "muy amables,\n\"todo\" bien";
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = 10, .comment = comment,
					 .comment_len = sizeof(comment) - 1 } };
	struct export_filter filter = { 0 };
	struct inbound_result res;
	struct export_cursor *cur;
	struct export_row r;
	struct new_survey n;

	sn_init(&n, "s-row", T0);
	n.sn.customer_id = "cust-77";
	n.sn.name = "Ana";
	n.sn.locale = "es";
	n.sn.channel = "whatsapp";
	create_sent(f, &n, "SM-row");            /* sent at T0 + 1 */
	assert_int_equal(inbound(f, "twilio", "SM-in", NULL, "+34600111222", "10 muy", 6, T0 + 750,
				 &d, &res), 0);

	assert_non_null(cur = store_export_open(f->st, &filter, &err));
	assert_int_equal(store_export_next(cur, &r, &err), 1);
	assert_string_equal(r.survey_id, "s-row");
	assert_string_equal(r.customer_id, "cust-77");
	assert_string_equal(r.phone, "+34600111222");
	assert_string_equal(r.channel, "whatsapp");
	assert_string_equal(r.kind, "nps");
	assert_int_equal(r.score, 10);
	assert_int_equal(r.comment_len, sizeof(comment) - 1);
	assert_memory_equal(r.comment, comment, sizeof(comment) - 1);
	assert_string_equal(r.interaction_id, "chat-s-row");
	assert_string_equal(r.touchpoint, "support_chat");
	assert_string_equal(r.agent, "agent-7");
	assert_int_equal(r.sent_at, T0 + 1);
	assert_int_equal(r.answered_at, T0 + 750);
	assert_string_equal(r.name, "Ana");
	assert_string_equal(r.locale, "es");
	assert_int_equal(store_export_next(cur, &r, &err), 0);
	store_export_close(cur);

	store_export_close(NULL);       /* closing nothing is allowed */
}

/* WhatsApp takes one message per 6 s to the same person: a second message to that number waits
 * while the first is being sent and for 6 s after it was; other numbers and SMS do not wait. */
static void test_whatsapp_pair_pacing(void **state)
{
	static const struct { const char *id, *phone, *channel; } surveys[] = {
		{ "wa-1", "+34600000001", "whatsapp" }, { "wa-2", "+34600000001", "whatsapp" },
		{ "wa-3", "+34600000002", "whatsapp" }, { "sms-1", "+34600000001", "sms" },
		{ "sms-2", "+34600000001", "sms" },
	};
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct outbox_item items[8];
	struct new_survey n[5];
	size_t k;
	int64_t wa1 = 0;

	for (size_t i = 0; i < 5; i++) {
		sn_init(&n[i], surveys[i].id, 1000);
		snprintf(n[i].interaction, sizeof(n[i].interaction), "chat-%s", surveys[i].id);
		n[i].sn.phone = surveys[i].phone;
		n[i].sn.channel = surveys[i].channel;
		create_ok(f, &n[i].sn, 1, surveys[i].id);
	}
	/* At 1000 every message is due: one per WhatsApp number, every SMS. */
	assert_int_equal(store_claim_due(f->st, 1000, "twilio", items, 8, &k, &err), 0);
	assert_int_equal(k, 4);
	for (size_t i = 0; i < k; i++) {
		assert_string_not_equal(items[i].survey_id, "wa-2");
		if (strcmp(items[i].survey_id, "wa-1") == 0)
			wa1 = items[i].message_id;
		outbox_item_release(&items[i]);
	}
	/* While wa-1 is being sent, and until 6 s after it was, wa-2 waits. */
	assert_int_equal(store_claim_due(f->st, 1003, "twilio", items, 8, &k, &err), 0);
	assert_int_equal(k, 0);
	assert_int_equal(store_send_accepted(f->st, wa1, "SM-wa-1", 1004, &err), 0);
	assert_int_equal(store_claim_due(f->st, 1009, "twilio", items, 8, &k, &err), 0);
	assert_int_equal(k, 0);
	assert_int_equal(store_claim_due(f->st, 1010, "twilio", items, 8, &k, &err), 0);
	assert_int_equal(k, 1);
	assert_string_equal(items[0].survey_id, "wa-2");
	outbox_item_release(&items[0]);
}

/* ---- idempotency keys ------------------------------------------------------------------- */

/* One step of an Idempotency-Key's life: begin with a body hash at a time, expect a state. */
struct idem_step {
	const char *row;
	const char *key, *hash;
	int64_t now;
	enum idem_state want;
	int finish_status;              /* after IDEM_NEW: the answer recorded (0: forget) */
	int want_status;                /* IDEM_REPLAY: the recorded status */
};

static const struct idem_step idem_steps[] = {
	{ "first use", "k1", "h1", 1000, IDEM_NEW, 202, 0 },
	{ "same body again: the first answer", "k1", "h1", 1001, IDEM_REPLAY, 0, 202 },
	{ "another body: reused", "k1", "h2", 1002, IDEM_MISMATCH, 0, 0 },
	{ "a day later: still kept", "k1", "h1", 1000 + 86400, IDEM_REPLAY, 0, 202 },
	{ "second key, in flight", "k2", "h1", 2000, IDEM_NEW, -1, 0 },
	{ "same key while the first runs", "k2", "h1", 2001, IDEM_IN_FLIGHT, 0, 0 },
	{ "other body while the first runs", "k2", "h9", 2002, IDEM_MISMATCH, 0, 0 },
	{ "a claim left by a dead process is taken over", "k2", "h1", 2000 + 61, IDEM_NEW, 0, 0 },
	{ "a 5xx answer was forgotten: new again", "k2", "h1", 2100, IDEM_NEW, 422, 0 },
	{ "a 4xx answer is replayed", "k2", "h1", 2101, IDEM_REPLAY, 0, 422 },
};

static void test_idempotency_keys(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	size_t n;

	for (size_t i = 0; i < sizeof(idem_steps) / sizeof(idem_steps[0]); i++) {
		const struct idem_step *t = &idem_steps[i];
		enum idem_state got;
		char *resp = NULL, want_body[32];
		int status;

		assert_int_equal(store_idem_begin(f->st, t->key, t->hash, t->now, 60, &got, &status,
						  &resp, &err), 0);
		if (got != t->want)
			fail_msg("%s: state %d, want %d", t->row, got, t->want);
		snprintf(want_body, sizeof(want_body), "{\"status\":%d}", t->want_status);
		if (t->want == IDEM_REPLAY) {
			assert_int_equal(status, t->want_status);
			assert_string_equal(resp, want_body);
		} else {
			assert_null(resp);
		}
		free(resp);
		if (t->want == IDEM_NEW && t->finish_status >= 0) {
			snprintf(want_body, sizeof(want_body), "{\"status\":%d}", t->finish_status);
			assert_int_equal(store_idem_finish(f->st, t->key, t->finish_status, want_body,
							   &err), 0);
		}
	}
	/* Purged after the retention: k1 (created at 1000) goes, k2 (2100) stays. */
	assert_int_equal(store_idem_purge(f->st, 2000, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM idempotency"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_folder_file_wal_and_version,
						fx_new, fx_free),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data_and_skips_migrations,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_open_refuses_newer_schema, fx_new, fx_free),
		cmocka_unit_test_setup_teardown(test_open_fails_cleanly_when_folder_cannot_be_made,
						fx_new, fx_free),
		cmocka_unit_test_setup_teardown(test_locked_database_answers_503, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(
			test_create_survey_writes_customer_survey_and_queued_message, fx_open,
			fx_free),
		cmocka_unit_test_setup_teardown(
			test_create_survey_same_interaction_and_kind_writes_nothing, fx_open,
			fx_free),
		cmocka_unit_test_setup_teardown(test_find_survey_by_interaction_and_kind, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_reads_leave_no_snapshot_behind, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(
			test_create_survey_same_interaction_other_kind_is_new, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_customer_upsert_updates_phone_name_locale,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_get_survey_round_trips_fields, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_get_survey_not_found, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(
			test_claim_due_picks_due_messages_of_provider_oldest_first, fx_open,
			fx_free),
		cmocka_unit_test_setup_teardown(test_send_accepted_marks_message_and_survey_sent,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_send_retry_requeues_with_error_kept, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_send_failed_marks_message_and_survey_failed,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_mark_uncertain_turns_sending_into_uncertain,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_claim_keeps_answered_survey, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_send_lease_expires_into_uncertain, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_mark_uncertain_keeps_answered_survey, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_duplicate_changes_nothing, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_matching, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_decide_sees_the_matched_survey,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(
			test_inbound_answer_stores_response_and_queues_reply, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_answer_without_comment, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_reprompt_marks_reprompted, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_unmatched_is_stored_only, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_create_survey_fatigue, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_create_survey_skipped_row, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_create_survey_opted_out_writes_nothing,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_create_survey_existing_wins_over_opt_out,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_get_survey_reason_and_timezone, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_send_resets_expires_at, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_expire_due, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_view_without_survey, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_opt_out_suppresses_skips_and_cancels,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_opt_out_reply_without_survey, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_opt_in_keeps_the_row, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_follow_up_window_outlives_expiry,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_inbound_answer_without_follow_up, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(
			test_inbound_comment_replaces_comment_and_closes_follow_up, fx_open,
			fx_free),
		cmocka_unit_test_setup_teardown(
			test_inbound_reanswer_keeps_comment_when_new_is_empty, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(
			test_inbound_survey_actions_without_match_do_nothing, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_record_status_moves_forward_only, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_record_status_delivered_at_and_unknown_ids,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_export_filters_and_order, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_export_cursors_share_one_snapshot, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_export_row_fields, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_idempotency_keys, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_whatsapp_pair_pacing, fx_open, fx_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
