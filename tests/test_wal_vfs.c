/*
 * test_wal_vfs.c - the VFS that gathers the write-ahead log's writes (store/wal_vfs.c).
 *
 * What it must never change: a commit is on the file before SQLite reports it, whatever its
 * size; every other connection (here one on SQLite's own VFS, as another process would use)
 * reads every commit the moment it is reported; the file is a valid database afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "sqlite_priv.h"
#include "support/unit.h"

static int fx_new(void **state)
{
	return temp_store_setup(state, "test_wal_vfs", "wal.db", 0);
}

static int fx_free(void **state)
{
	return temp_store_teardown(state);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* The store's writer connection: this VFS, the log, a sync at every commit. */
static sqlite3 *open_writer(const char *path)
{
	struct gw_err err = { 0 };
	sqlite3 *db = NULL;

	if (open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db, &err) < 0)
		fail_msg("open_conn: %s", err.msg);
	exec_ok(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
		    "PRAGMA wal_autocheckpoint = 0;"
		    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b TEXT NOT NULL);");
	return db;
}

/* Another process's view: SQLite's own VFS. */
static sqlite3 *open_plain(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

/* A row's text, made of its id (2,000 bytes); BAD_ROWS counts the rows that differ from it. */
#define ROW_TEXT "replace(hex(zeroblob(2000)), '00', char(65 + id - id / 26 * 26))"
#define BAD_ROWS "SELECT count(*) FROM t WHERE b <> " ROW_TEXT

static void test_store_connections_use_it(void **state)
{
	struct temp_store *f = *state;
	sqlite3 *db = open_writer(f->path);
	sqlite3_vfs *vfs = NULL;

	assert_non_null(sqlite_vfs());
	assert_int_equal(sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs),
			 SQLITE_OK);
	assert_non_null(vfs);
	assert_string_equal(vfs->zName, sqlite_vfs());
	sqlite3_close(db);
}

/* 2 MB in one commit: far more than one gathered write (the default VFS takes < 128 KiB per
 * call), so the commit is handed over in many pieces, and every piece arrives. */
static void test_a_commit_larger_than_a_gathered_write(void **state)
{
	struct temp_store *f = *state;
	sqlite3 *db = open_writer(f->path), *other;

	exec_ok(db,
		"BEGIN; WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n"
		" WHERE id < 1000) INSERT INTO t (id, b) SELECT id, " ROW_TEXT " FROM n; COMMIT;");
	other = open_plain(f->path);
	assert_int_equal(q_int(other, "SELECT count(*) FROM t"), 1000);
	assert_int_equal(q_int(other, BAD_ROWS), 0);
	sqlite3_close(other);
	sqlite3_close(db);
}

/* Every commit is read by the other connection as soon as it is reported, small or large,
 * across a checkpoint that empties the log and the log starting over. */
static void test_another_connection_reads_every_commit_at_once(void **state)
{
	struct temp_store *f = *state;
	sqlite3 *db = open_writer(f->path), *other = open_plain(f->path);
	char sql[256];

	for (int i = 1; i <= 300; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO t (id, b) SELECT id, " ROW_TEXT " FROM (SELECT %d AS id)", i);
		exec_ok(db, sql);
		assert_int_equal(q_int(other, "SELECT count(*) FROM t"), i);
		if (i % 100 == 0)
			exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	}
	assert_int_equal(q_int(other, BAD_ROWS), 0);
	sqlite3_close(other);
	sqlite3_close(db);
}

/* Closed and opened again, on SQLite's own VFS: every row there, the file sound. */
static void test_the_file_is_sound_after_close(void **state)
{
	struct temp_store *f = *state;
	sqlite3 *db = open_writer(f->path), *other;
	char sql[256];

	for (int i = 1; i <= 50; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO t (id, b) SELECT id, " ROW_TEXT " FROM (SELECT %d AS id)", i);
		exec_ok(db, sql);
	}
	exec_ok(db,
		"BEGIN; WITH RECURSIVE n(id) AS (SELECT 51 UNION ALL SELECT id + 1 FROM n"
		" WHERE id < 600) INSERT INTO t (id, b) SELECT id, " ROW_TEXT " FROM n; COMMIT;");
	sqlite3_close(db);
	other = open_plain(f->path);
	assert_int_equal(q_int(other, "SELECT count(*) FROM t"), 600);
	assert_int_equal(q_int(other, BAD_ROWS), 0);
	assert_int_equal(q_int(other, "SELECT count(*) FROM pragma_integrity_check"
				      " WHERE integrity_check <> 'ok'"),
			 0);
	sqlite3_close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_connections_use_it, fx_new, fx_free),
		cmocka_unit_test_setup_teardown(test_a_commit_larger_than_a_gathered_write, fx_new,
						fx_free),
		cmocka_unit_test_setup_teardown(test_another_connection_reads_every_commit_at_once,
						fx_new, fx_free),
		cmocka_unit_test_setup_teardown(test_the_file_is_sound_after_close, fx_new,
						fx_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
