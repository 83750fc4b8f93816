/*
 * test_pg_store.c - the store on PostgreSQL (store/postgres/), as a specification.
 *
 * Each test gets a database of its own on the test server (support/pg_test.h: the throwaway
 * cluster `make check` starts, or GATEWAY_TEST_PG_URL) and checks what the store left there
 * through a connection of its own, as an operator would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"
#include "support/pg_test.h"

static int fx_db(void **state)
{
	struct pg_test_db *db = calloc(1, sizeof(*db));

	if (!db)
		return -1;
	pg_test_db_create(db);
	*state = db;
	return 0;
}

static int fx_db_free(void **state)
{
	struct pg_test_db *db = *state;

	if (db)
		pg_test_db_drop(db);
	free(db);
	return 0;
}

static void query(const struct pg_test_db *db, const char *sql, char *out, size_t n)
{
	pg_test_query(db, sql, out, n);
}

static void assert_query(const struct pg_test_db *db, const char *sql, const char *want)
{
	char got[512];

	query(db, sql, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", sql, got, want);
}

static struct pg_store *open_ok(const struct pg_test_db *db)
{
	struct gw_err err = { 0 };
	struct pg_store *st = pg_store_open(db->url, &err);

	if (!st)
		fail_msg("pg_store_open: %s", err.msg);
	return st;
}

/* ---- migrations ----------------------------------------------------------------------------- */

/* An empty database gets every table, and the version this gateway writes. */
static void test_open_migrates_an_empty_database(void **state)
{
	struct pg_test_db *db = *state;
	char want[16];

	pg_store_close(open_ok(db));
	snprintf(want, sizeof(want), "%d", pg_store_schema_version());
	assert_query(db, "SELECT version FROM gateway_schema", want);
	assert_query(
		db,
		"SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables"
		" WHERE table_schema = 'public'",
		"customers,events,gateway_schema,heartbeat,idempotency,messages,provider_pacing,"
		"responses,suppressions,surveys");
	/* the claim's partial index and the dedupe of inbound provider ids are there */
	assert_query(
		db,
		"SELECT count(*) FROM pg_indexes WHERE indexname IN ('messages_due',"
		" 'messages_in_by_provider_id', 'messages_sending', 'events_pending_in_order')",
		"4");
}

/* Opened again, a migrated database is left as it is. */
static void test_open_again_changes_nothing(void **state)
{
	struct pg_test_db *db = *state;
	char before[64], after[64];

	pg_store_close(open_ok(db));
	pg_test_exec(db, "INSERT INTO heartbeat (id, at) VALUES (1, 42) ON CONFLICT (id) DO UPDATE"
			 " SET at = 42");
	query(db, "SELECT count(*) || '/' || max(version) FROM gateway_schema", before,
	      sizeof(before));
	pg_store_close(open_ok(db));
	query(db, "SELECT count(*) || '/' || max(version) FROM gateway_schema", after,
	      sizeof(after));
	assert_string_equal(before, after);
	assert_query(db, "SELECT at FROM heartbeat", "42");
}

struct opener {
	const struct pg_test_db *db;
	struct gw_err err;
	int ok;
};

static void *open_in_thread(void *arg)
{
	struct opener *o = arg;
	struct pg_store *st = pg_store_open(o->db->url, &o->err);

	o->ok = st != NULL;
	pg_store_close(st);
	return NULL;
}

/* Instances started together on an empty database: every one opens, the schema is made once
 * (without the advisory lock, the second CREATE TABLE of the same name fails). */
static void test_instances_starting_together_migrate_once(void **state)
{
	struct pg_test_db *db = *state;
	struct opener o[6];
	pthread_t t[6];
	char want[32];

	for (int i = 0; i < 6; i++) {
		o[i] = (struct opener){ .db = db };
		assert_int_equal(pthread_create(&t[i], NULL, open_in_thread, &o[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		if (!o[i].ok)
			fail_msg("instance %d: %s", i, o[i].err.msg);
	}
	snprintf(want, sizeof(want), "1/%d", pg_store_schema_version());
	assert_query(db, "SELECT count(*) || '/' || max(version) FROM gateway_schema", want);
}

/* A database a newer gateway migrated is refused, untouched, with both versions named. */
static void test_a_newer_schema_is_refused(void **state)
{
	struct pg_test_db *db = *state;
	struct gw_err err = { 0 };
	char sql[128], want[160];

	pg_store_close(open_ok(db));
	snprintf(sql, sizeof(sql), "UPDATE gateway_schema SET version = %d",
		 pg_store_schema_version() + 1);
	pg_test_exec(db, sql);
	assert_null(pg_store_open(db->url, &err));
	snprintf(want, sizeof(want), "has schema version %d, newer than this gateway's %d",
		 pg_store_schema_version() + 1, pg_store_schema_version());
	if (!strstr(err.msg, want))
		fail_msg("message: %s", err.msg);
	snprintf(want, sizeof(want), "%d", pg_store_schema_version() + 1);
	assert_query(db, "SELECT version FROM gateway_schema", want);
}

/* ---- sessions ------------------------------------------------------------------------------ */

/* A setting of the store's own session, read through its connection. */
static void assert_setting(struct pg_store *st, const char *name, const char *want)
{
	char sql[128];
	PGresult *r;

	snprintf(sql, sizeof(sql), "SHOW %s", name);
	r = PQexec(st->conn, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	if (strcmp(PQgetvalue(r, 0, 0), want) != 0)
		fail_msg("%s: %s, want %s", name, PQgetvalue(r, 0, 0), want);
	PQclear(r);
}

/* The store's connection commits synchronously (whatever the server's default), one statement
 * cannot hold it for ever, a transaction left open is ended by the server, and the server's
 * view of its sessions names the gateway. */
static void test_sessions_commit_synchronously_with_timeouts(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st;
	char sql[256];

	pg_test_exec(db, "SELECT 1"); /* the database exists before ALTER DATABASE */
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s SET synchronous_commit = off", db->name);
	pg_test_exec(db, sql);
	st = open_ok(db);
	assert_setting(st, "synchronous_commit", "on");
	assert_setting(st, "statement_timeout", "30s");
	assert_setting(st, "idle_in_transaction_session_timeout", "1min");
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
		 " AND application_name = 'gateway'",
		 db->name);
	assert_query(db, sql, "1");
	pg_store_close(st);
}

/* ---- faults at start ----------------------------------------------------------------------- */

struct bad_url {
	const char *name;
	const char *url;
	const char *must;     /* in the message */
	const char *must_too; /* also in it, or NULL */
};

/* A server that is not there, a role or database it does not know, a string libpq cannot
 * read: one message naming the server and the reason, and never the password (s3cr3t-pw). */
static void test_faults_at_start_name_the_server_never_the_password(void **state)
{
	static const struct bad_url cases[] = {
		{ "no server at that socket folder",
		  "postgresql://gateway:s3cr3t-pw@/postgres?host=/nonexistent-gw-dir",
		  "PostgreSQL at /nonexistent-gw-dir:5432/postgres: cannot connect",
		  "No such file or directory" },
		{ "nothing listening on that port",
		  "postgresql://gateway:s3cr3t-pw@127.0.0.1:9/postgres?connect_timeout=2",
		  "PostgreSQL at 127.0.0.1:9/postgres: cannot connect", "refused" },
		{ "a URL libpq cannot read", "postgresql://gateway:s3cr3t-pw@h/db?bogus=s3cr3t-pw",
		  "the PostgreSQL URL is not valid", NULL },
		{ "key=value string cut short", "host=/tmp password='s3cr3t-pw",
		  "the PostgreSQL URL is not valid", NULL },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gw_err err = { 0 };

		if (pg_store_open(cases[i].url, &err))
			fail_msg("%s: opened", cases[i].name);
		if (!strstr(err.msg, cases[i].must) ||
		    (cases[i].must_too && !strstr(err.msg, cases[i].must_too)))
			fail_msg("%s: message '%s' lacks '%s' / '%s'", cases[i].name, err.msg,
				 cases[i].must, cases[i].must_too ? cases[i].must_too : "");
		if (strstr(err.msg, "s3cr3t"))
			fail_msg("%s: the password is in '%s'", cases[i].name, err.msg);
	}
}

/* A role or a database the server does not know: the server's own reason, the password (sent
 * for nothing, the test server trusts its socket) nowhere. */
static void test_refusals_by_the_server_name_the_reason(void **state)
{
	struct pg_test_db *db = *state;
	struct gw_err err = { 0 };
	char url[1200];

	snprintf(url, sizeof(url), "%s user='nosuchrole' password='s3cr3t-pw'", db->url);
	assert_null(pg_store_open(url, &err));
	if (!strstr(err.msg, "role \"nosuchrole\" does not exist") || strstr(err.msg, "s3cr3t"))
		fail_msg("message: %s", err.msg);
	snprintf(url, sizeof(url), "%s dbname='gw_no_such_db' password='s3cr3t-pw'", db->url);
	assert_null(pg_store_open(url, &err));
	if (!strstr(err.msg, "gw_no_such_db") || !strstr(err.msg, "does not exist") ||
	    strstr(err.msg, "s3cr3t"))
		fail_msg("message: %s", err.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_migrates_an_empty_database, fx_db,
						fx_db_free),
		cmocka_unit_test_setup_teardown(test_open_again_changes_nothing, fx_db, fx_db_free),
		cmocka_unit_test_setup_teardown(test_instances_starting_together_migrate_once,
						fx_db, fx_db_free),
		cmocka_unit_test_setup_teardown(test_a_newer_schema_is_refused, fx_db, fx_db_free),
		cmocka_unit_test_setup_teardown(test_sessions_commit_synchronously_with_timeouts,
						fx_db, fx_db_free),
		cmocka_unit_test(test_faults_at_start_name_the_server_never_the_password),
		cmocka_unit_test_setup_teardown(test_refusals_by_the_server_name_the_reason, fx_db,
						fx_db_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
