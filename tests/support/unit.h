/*
 * unit.h - what the unit tests share: row-naming expectations, fixture reading, a store of its
 * own in a fresh temp directory and a complete survey to create in it.  Include after <cmocka.h>.
 */
#ifndef GW_TESTS_UNIT_H
#define GW_TESTS_UNIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pg_test.h"
#include "store.h"

/* Fails the test naming the table row and the member when got differs from want. */
#define EXPECT_STR(row, what, got, want)                                                    \
	do {                                                                                \
		const char *g_ = (got), *w_ = (want);                                       \
		if (!g_ || strcmp(g_, w_) != 0)                                             \
			fail_msg("%s: %s is \"%s\", want \"%s\"", (row), (what),            \
				 g_ ? g_ : "(null)", w_);                                   \
	} while (0)
#define EXPECT_INT(row, what, got, want)                                                    \
	do {                                                                                \
		long long g_ = (long long)(got), w_ = (long long)(want);                    \
		if (g_ != w_)                                                               \
			fail_msg("%s: %s is %lld, want %lld", (row), (what), g_, w_);       \
	} while (0)

/* The whole fixture `name` (from $FIXTURES, default tests/fixtures) as a malloc'd NUL-terminated
 * string; its length in *len.  Fails the test when it cannot be read. */
char *fixture_read(const char *name, size_t *len);

/* ---- a store of its own in a fresh temp directory ------------------------------------------ */

/* A database file in a directory of its own under /tmp, removed with everything in it.  With
 * GATEWAY_TEST_BACKEND=postgres, temp_store_open() puts the store on a fresh PostgreSQL database
 * of the test server (pg_test.h) instead, dropped with the directory; the directory is still
 * made, for the files a test writes beside its store. */
struct temp_store {
	char dir[64];           /* /tmp/<name>.XXXXXX */
	char path[192];         /* <dir>/<db>; its folders are not made (store_open() makes them) */
	struct store *st;       /* NULL until opened */
	int on_pg;              /* 1 once pg has been created (and must be dropped) */
	struct pg_test_db pg;   /* the PostgreSQL database, when on_pg */
};

/* 1 when GATEWAY_TEST_BACKEND=postgres: the stores of temp_store_open() are on PostgreSQL. */
int temp_store_on_postgres(void);

/* At the top of a test about SQLite itself (its file, log, locks): on PostgreSQL, says why on
 * stderr and skips the test (cmocka's skip()). */
#define SKIP_ON_POSTGRES(why)                                                  \
	do {                                                                   \
		if (temp_store_on_postgres()) {                                \
			fprintf(stderr, "skipped on PostgreSQL: %s\n", (why)); \
			skip();                                                \
		}                                                              \
	} while (0)

/* Makes t->dir a fresh /tmp/<name>.XXXXXX and sets t->path to <dir>/<db>, opening nothing.
 * 0, or -1 when the directory cannot be made. */
int temp_store_make(struct temp_store *t, const char *name, const char *db);

/* temp_store_make(), then opens the store: at t->path, or on a fresh PostgreSQL database when
 * temp_store_on_postgres().  When it cannot be opened, prints why, removes the directory (and
 * the database) and returns -1 (cmocka skips the teardown of a failed setup). */
int temp_store_open(struct temp_store *t, const char *name, const char *db);

/* Opens the store of a made temp_store once more, as a restarted gateway would: t->path, or
 * t->pg (created on the first call) on PostgreSQL.  The caller closes it (or leaves it in
 * t->st for temp_store_remove()).  NULL with err set when it cannot be opened. */
struct store *temp_store_reopen(struct temp_store *t, struct gw_err *err);

/* Closes the store (if open), removes the directory with everything in it and drops the
 * PostgreSQL database, if one was made. */
void temp_store_remove(struct temp_store *t);

/* Runs the one-value query `sql` on the store's database from a connection of its own, read-only
 * on SQLite (an operator looking at it): the first column of the first row as text into out,
 * "(null)" for NULL or no row (*is_null, when not NULL, says which it was).  Fails the test when
 * the query fails.  PostgreSQL prints booleans as t/f: queries meant for both compare in SQL. */
void temp_store_query(struct temp_store *t, const char *sql, char *out, size_t n, int *is_null);

/* Runs the statement `sql` on the store's database from a connection of its own, as another
 * client would (waiting up to 2 s for SQLite's write lock).  Fails the test when it fails. */
void temp_store_exec(struct temp_store *t, const char *sql);

/* cmocka setup: *state becomes a malloc'd temp_store, made as by temp_store_make() and, when
 * `open`, opened as by temp_store_open().  0, or -1 with *state NULL and nothing left behind. */
int temp_store_setup(void **state, const char *name, const char *db, int open);

/* cmocka teardown of temp_store_setup(): removes the temp_store in *state (NULL is fine) and
 * frees it. */
int temp_store_teardown(void **state);

/* A survey_new and the storage its interaction id points into. */
struct new_survey {
	struct survey_new sn;
	char interaction[64];
};

/* A complete survey_new for survey `id` of customer "cust-42" ("Ana", +34600111222, "es"): an
 * NPS by SMS through twilio for interaction "chat-<id>" at "support_chat" with "agent-7",
 * created at `now`, due at once and open for two days.  Tests override what they are about. */
void new_survey_init(struct new_survey *n, const char *id, int64_t now);

#endif
