/*
 * test_pg_copy.c - a SQLite database copied into PostgreSQL (store/postgres/pg_copy.c, gateway
 * migrate-store), as a specification.
 *
 * The SQLite side is a real store file (store_open() made its schema) filled with rows whose
 * texts hold everything COPY's text format must escape; the PostgreSQL side a database of its
 * own on the test server (support/pg_test.h).
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
#include <sys/wait.h>

#include "pg_store.h"
#include "store.h"
#include "support/pg_test.h"
#include "support/unit.h"

struct fx {
	struct temp_store sq;
	struct pg_test_db pg;
};

/* Rows of every table; texts with tabs, newlines, backslashes, control characters, accents and
 * an emoji, and NULLs where the schema allows them. */
static const char fill_sql[] =
	"INSERT INTO customers (id, ext_id, phone, name, locale, created_at, updated_at, timezone)"
	" VALUES (1, 'c1', '+34600000001', 'Ana' || char(9) || 'Tab', 'es', 10, 11, NULL),"
	" (2, 'c2', '+34600000002', 'Jo\\ão' || char(10) || 'Silva', 'pt', 12, 13, 'America/Sao_Paulo'),"
	" (7, 'c7', '+34600000007', NULL, 'en', 14, 15, NULL);"
	"INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
	" interaction_id, touchpoint, agent, status, created_at, send_after, sent_at, reason)"
	" VALUES ('s-a', 1, '+34600000001', 'Ana', 'es', 'nps', 'sms', 'twilio', 'chat-1',"
	"  'support_chat', 'agent ✓', 'sent', 20, 20, 21, NULL),"
	" ('s-B', 2, '+34600000002', NULL, 'pt', 'ces', 'whatsapp', 'meta', 'chat-2', NULL, NULL,"
	"  'answered', 22, 22, 23, NULL),"
	" ('s-c', 7, '+34600000007', NULL, 'en', 'csat', 'sms', 'twilio', 'chat-3', NULL, NULL,"
	"  'skipped', 24, 24, NULL, 'recently_surveyed');"
	"INSERT INTO messages (id, survey_id, direction, purpose, channel, provider, phone, body,"
	" status, provider_message_id, next_attempt_at, created_at, updated_at)"
	" VALUES (3, 's-a', 'out', 'survey', 'sms', 'twilio', '+34600000001',"
	"  'Del 0 al 10' || char(13) || char(10) || '¿nos recomendarías? 😀', 'sent', 'SM1', 20, 20, 21),"
	" (9, 's-B', 'in', 'reply', 'whatsapp', 'meta', '+34600000002',"
	"  'fácil\\\\ ' || char(8) || char(11) || char(12) || ' 6', 'received', 'wamid.1', NULL, 23, 23),"
	" (10, NULL, 'out', 'thanks', 'sms', 'twilio', '+34600000001', '', 'queued', NULL, 30, 30, 30);"
	"INSERT INTO responses (survey_id, score, comment, raw_text, message_id, answered_at)"
	" VALUES ('s-B', 6, 'tab' || char(9) || 'and \\N literal', 'fácil 6', 9, 23);"
	"INSERT INTO suppressions (phone, opted_out, opted_out_at, provider, updated_at)"
	" VALUES ('+34600000009', 1, 40, 'twilio', 40);"
	"INSERT INTO idempotency (key, body_sha256, status, response, created_at)"
	" VALUES ('key-1', 'ab12', 202, '{\"id\":\"s-a\"}', 50);"
	"INSERT INTO events (seq, id, type, body, next_attempt_at, created_at)"
	" VALUES (4, 'evt-1', 'response.created', '{\"score\":6,\"comment\":\"a\\\\nb\"}', 60, 60);"
	"UPDATE heartbeat SET at = 123;";

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	sqlite3 *db = NULL;
	char *msg = NULL;

	if (!f || temp_store_open(&f->sq, "test_pg_copy", "gateway.db") < 0) {
		free(f);
		return -1;
	}
	store_close(f->sq.st);
	f->sq.st = NULL;
	if (sqlite3_open(f->sq.path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, fill_sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "fill: %s\n", msg ? msg : sqlite3_errmsg(db));
		sqlite3_close(db);
		temp_store_remove(&f->sq);
		free(f);
		return -1;
	}
	sqlite3_close(db);
	pg_test_db_create(&f->pg);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f) {
		pg_test_db_drop(&f->pg);
		temp_store_remove(&f->sq);
	}
	free(f);
	return 0;
}

struct seen {
	char lines[16][160];
	int n;
};

static void remember(void *ctx, const char *table, long long rows, const char *sha256_hex)
{
	struct seen *s = ctx;

	if (s->n < 16)
		snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s:%lld:%zu", table, rows,
			 strlen(sha256_hex));
}

static void assert_pg(const struct fx *f, const char *sql, const char *want)
{
	char got[512];

	pg_test_query(&f->pg, sql, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", sql, got, want);
}

static void copy_ok(struct fx *f, struct seen *s)
{
	struct gw_err err = { 0 };

	if (pg_copy_from_sqlite(f->sq.path, f->pg.url, remember, s, &err) < 0)
		fail_msg("pg_copy_from_sqlite: %s", err.msg);
}

/* Every table arrives whole: its rows counted and checked, every text byte for byte (the
 * escapes of COPY's format included), NULLs as NULLs, ids as they were. */
static void test_every_row_arrives_as_it_was(void **state)
{
	struct fx *f = *state;
	static const char *const want[] = {
		"customers:3:64",    "surveys:3:64",     "messages:3:64", "responses:1:64",
		"suppressions:1:64", "idempotency:1:64", "events:1:64",   "heartbeat:1:64",
	};
	struct seen s = { 0 };

	copy_ok(f, &s);
	assert_int_equal(s.n, 8);
	for (int i = 0; i < 8; i++)
		assert_string_equal(s.lines[i], want[i]);
	assert_pg(f, "SELECT name = 'Ana' || chr(9) || 'Tab' FROM customers WHERE id = 1", "t");
	assert_pg(f, "SELECT name = 'Jo\\ão' || chr(10) || 'Silva' FROM customers WHERE id = 2",
		  "t");
	assert_pg(f, "SELECT name IS NULL AND timezone IS NULL FROM customers WHERE id = 7", "t");
	assert_pg(f,
		  "SELECT body = 'Del 0 al 10' || chr(13) || chr(10) || '¿nos recomendarías? 😀'"
		  " FROM messages WHERE id = 3",
		  "t");
	assert_pg(f,
		  "SELECT body = 'fácil\\\\ ' || chr(8) || chr(11) || chr(12) || ' 6'"
		  " FROM messages WHERE id = 9",
		  "t");
	assert_pg(f, "SELECT comment FROM responses", "tab\tand \\N literal");
	assert_pg(f, "SELECT survey_id IS NULL FROM messages WHERE id = 10", "t");
	assert_pg(f, "SELECT agent FROM surveys WHERE id = 's-a'", "agent ✓");
	assert_pg(f, "SELECT reason FROM surveys WHERE id = 's-c'", "recently_surveyed");
	assert_pg(f, "SELECT string_agg(id, ',' ORDER BY id COLLATE \"C\") FROM surveys",
		  "s-B,s-a,s-c");
	assert_pg(f, "SELECT at FROM heartbeat", "123");
	/* new rows get ids after the copied ones */
	pg_test_exec(&f->pg, "INSERT INTO customers (ext_id, phone, locale, created_at, updated_at)"
			     " VALUES ('c8', '+34600000008', 'es', 1, 1)");
	assert_pg(f, "SELECT id FROM customers WHERE ext_id = 'c8'", "8");
	pg_test_exec(&f->pg, "INSERT INTO events (id, type, body, next_attempt_at, created_at)"
			     " VALUES ('evt-2', 't', '{}', 1, 1)");
	assert_pg(f, "SELECT seq FROM events WHERE id = 'evt-2'", "5");
}

/* A database that already holds rows is refused, and left as it was. */
static void test_a_target_with_rows_is_refused(void **state)
{
	struct fx *f = *state;
	struct gw_err err = { 0 };
	struct seen s = { 0 };

	copy_ok(f, &s);
	assert_int_equal(pg_copy_from_sqlite(f->sq.path, f->pg.url, NULL, NULL, &err), -1);
	if (!strstr(err.msg, "already holds"))
		fail_msg("message: %s", err.msg);
	assert_pg(f, "SELECT count(*) FROM customers", "3");
}

/* A SQLite file of another schema version is refused before anything is written. */
static void test_a_source_of_another_version_is_refused(void **state)
{
	struct fx *f = *state;
	struct gw_err err = { 0 };
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(f->sq.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(pg_copy_from_sqlite(f->sq.path, f->pg.url, NULL, NULL, &err), -1);
	if (!strstr(err.msg, "has schema version 3"))
		fail_msg("message: %s", err.msg);
	assert_pg(f, "SELECT count(*) FROM pg_tables WHERE tablename = 'customers'", "0");
}

/* gateway migrate-store: a line per table, exit 0; run again, exit 1 with the reason. */
static void test_the_command(void **state)
{
	struct fx *f = *state;
	const char *bin = getenv("GATEWAY_BIN");
	char cmd[2048], out[4096] = "";
	FILE *p;
	size_t got;
	int status;

	if (!bin)
		fail_msg("GATEWAY_BIN is not set (make check sets it)");
	snprintf(cmd, sizeof(cmd), "%s migrate-store --from sqlite:%s --to \"postgres:%s\" 2>&1",
		 bin, f->sq.path, f->pg.url);
	assert_non_null(p = popen(cmd, "r"));
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("exit %d: %s", WEXITSTATUS(status), out);
	if (!strstr(out, "customers              3 rows  sha256 ") ||
	    !strstr(out, "every table's rows and checksum match"))
		fail_msg("output: %s", out);
	assert_non_null(p = popen(cmd, "r"));
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	status = pclose(p);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	if (!strstr(out, "already holds"))
		fail_msg("output: %s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_row_arrives_as_it_was, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_a_target_with_rows_is_refused, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_a_source_of_another_version_is_refused,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_the_command, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
