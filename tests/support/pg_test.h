/*
 * pg_test.h - databases of their own for the tests of the PostgreSQL store.
 *
 * The server is GATEWAY_TEST_PG_URL: the throwaway cluster `make check` starts
 * (tools/pg-cluster.sh), or a server of the developer's choosing.
 */
#ifndef GW_TEST_PG_H
#define GW_TEST_PG_H

#include <stddef.h>

struct pg_test_db {
	char name[64];  /* gw_test_<pid>_<n> */
	char url[1024]; /* a key=value connection string for it */
};

/* Creates a new, empty database on the test server.  Fails the running test (cmocka) when
 * GATEWAY_TEST_PG_URL is unset or the server cannot make one. */
void pg_test_db_create(struct pg_test_db *db);

/* Drops it (connections to it closed by force). */
void pg_test_db_drop(const struct pg_test_db *db);

/* Runs one statement on the database as a client of its own would; fails the test on error. */
void pg_test_exec(const struct pg_test_db *db, const char *sql);

/* The first column of the first row of a query, as text ("" for NULL, no rows), in out. */
void pg_test_query(const struct pg_test_db *db, const char *sql, char *out, size_t n);

#endif
