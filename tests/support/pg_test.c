/* pg_test.c - databases of their own for the tests of the PostgreSQL store (pg_test.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_test.h"

static const char *server_url(void)
{
	const char *u = getenv("GATEWAY_TEST_PG_URL");

	if (!u || !u[0])
		fail_msg(
			"GATEWAY_TEST_PG_URL is not set: run the tests with make check (or make test),"
			" which start a PostgreSQL cluster of their own, or point it at a server");
	return u;
}

static PGconn *connect_to(const char *url)
{
	PGconn *c = PQconnectdb(url);

	if (PQstatus(c) != CONNECTION_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		PQfinish(c);
		fail_msg("test PostgreSQL: %s", msg);
	}
	return c;
}

static void exec_on(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(r);

	PQclear(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		PQfinish(c);
		fail_msg("test PostgreSQL: %s: %s", sql, msg);
	}
}

/* Appends key='value' (quoted as libpq's key=value strings want) to out. */
static void add_kv(char *out, size_t n, const char *key, const char *val)
{
	size_t len = strlen(out);

	len += (size_t)snprintf(out + len, n - len, "%s%s='", len ? " " : "", key);
	for (; *val && len + 3 < n; val++) {
		if (*val == '\'' || *val == '\\')
			out[len++] = '\\';
		out[len++] = *val;
	}
	snprintf(out + len, n - len, "'");
}

void pg_test_db_create(struct pg_test_db *db)
{
	static int counter;
	const char *base = server_url();
	char *msg = NULL, sql[128];
	PQconninfoOption *opts = PQconninfoParse(base, &msg);
	PGconn *c;

	if (!opts)
		fail_msg("GATEWAY_TEST_PG_URL: %s", msg ? msg : "not a connection string");
	snprintf(db->name, sizeof(db->name), "gw_test_%d_%d", (int)getpid(), ++counter);
	db->url[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (o->val && o->val[0] && strcmp(o->keyword, "dbname") != 0)
			add_kv(db->url, sizeof(db->url), o->keyword, o->val);
	add_kv(db->url, sizeof(db->url), "dbname", db->name);
	PQconninfoFree(opts);
	c = connect_to(base);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db->name);
	exec_on(c, sql);
	PQfinish(c);
}

void pg_test_db_drop(const struct pg_test_db *db)
{
	PGconn *c = connect_to(server_url());
	char sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db->name);
	exec_on(c, sql);
	PQfinish(c);
}

void pg_test_exec(const struct pg_test_db *db, const char *sql)
{
	PGconn *c = connect_to(db->url);

	exec_on(c, sql);
	PQfinish(c);
}

void pg_test_query(const struct pg_test_db *db, const char *sql, char *out, size_t n)
{
	PGconn *c = connect_to(db->url);
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		fail_msg("test PostgreSQL: %s: %s", sql, msg);
	}
	snprintf(out, n, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
}
