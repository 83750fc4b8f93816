/*
 * pg_store.c - opening the store on PostgreSQL (see pg_store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "pg_priv.h"
#include "pg_schema.h"
#include "pg_store.h"

int pg_describe(const char *url, char *where, size_t n, char *password, size_t pn,
		struct gw_err *err)
{
	const char *host = "", *port = "", *db = "", *user = "";
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &msg);

	if (password && pn)
		password[0] = '\0';
	if (!opts) {
		/* libpq quotes the offending part of the string, which may hold the password:
		 * only its words before the quote are kept */
		char reason[120] = "out of memory";

		if (msg) {
			snprintf(reason, sizeof(reason), "%s", msg);
			reason[strcspn(reason, "\"\n")] = '\0';
			for (size_t k = strlen(reason); k && strchr(": ", reason[k - 1]); k--)
				reason[k - 1] = '\0';
			PQfreemem(msg);
		}
		return gw_errf(err, "the PostgreSQL URL is not valid: %s", reason);
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !o->val[0])
			continue;
		if (strcmp(o->keyword, "host") == 0 ||
		    (strcmp(o->keyword, "hostaddr") == 0 && !host[0]))
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
		else if (strcmp(o->keyword, "user") == 0)
			user = o->val;
		else if (strcmp(o->keyword, "password") == 0 && password && pn)
			snprintf(password, pn, "%s", o->val);
	}
	snprintf(where, n, "%s:%s/%s", host[0] ? host : "the local socket", port[0] ? port : "5432",
		 db[0]   ? db :
		 user[0] ? user :
			   "(the user's database)");
	PQconninfoFree(opts);
	return 0;
}

int pg_fail(PGconn *c, const char *where, const char *what, const char *secret, struct gw_err *err)
{
	char reason[GW_ERR_LEN];
	const char *m = c ? PQerrorMessage(c) : "out of memory";
	char *p;

	snprintf(reason, sizeof(reason), "%s", m && m[0] ? m : "unknown error");
	reason[strcspn(reason, "\n")] = '\0';
	if (secret && secret[0])
		while ((p = strstr(reason, secret)) != NULL)
			memset(p, '*', strlen(secret));
	gw_err_set(err, 503, "store_unavailable", "", "PostgreSQL at %s: %s: %s", where, what,
		   reason);
	return -1;
}

PGresult *pg_params(PGconn *c, const char *where, const char *sql, int n, const char *const *vals,
		    const char *what, struct gw_err *err)
{
	return pg_result(c, where, PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0), what, err);
}

PGresult *pg_result(PGconn *c, const char *where, PGresult *r, const char *what, struct gw_err *err)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	const char *state;
	int conflict;

	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
		return r;
	state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	/* 40P01 deadlock_detected, 40001 serialization_failure */
	conflict = state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
	PQclear(r);
	pg_fail(c, where, what, NULL, err);
	if (conflict)
		snprintf(err->code, sizeof(err->code), "%s", PG_CONFLICT);
	return NULL;
}

int pg_exec(PGconn *c, const char *where, const char *sql, const char *what, const char *secret,
	    struct gw_err *err)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	PQclear(r);
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return 0;
	return pg_fail(c, where, what, secret, err);
}

/* A statement on the store's own connection (migrations). */
static int exec_ok(struct pg_store *st, const char *sql, const char *what, struct gw_err *err)
{
	return pg_exec(st->conn, st->where, sql, what, NULL, err);
}

/* One integer from a one-row query; -1 on error. */
static int query_int(struct pg_store *st, const char *sql, long long *out, struct gw_err *err)
{
	PGresult *r = PQexec(st->conn, sql);
	int rc = -1;

	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		*out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		rc = 0;
	} else {
		pg_fail(st->conn, st->where, "read the schema version", NULL, err);
	}
	PQclear(r);
	return rc;
}

/* The migrations this database lacks, each in a transaction with its version, under a session
 * advisory lock: instances that start together wait for the first, then find nothing to do. */
static int migrate(struct pg_store *st, struct gw_err *err)
{
	char sql[160];
	long long have = 0;
	int rc = -1;

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", PG_MIGRATE_LOCK);
	if (exec_ok(st, sql, "wait for the migration lock", err) < 0)
		return -1;
	if (exec_ok(st, "CREATE TABLE IF NOT EXISTS gateway_schema (version INTEGER NOT NULL)",
		    "create the schema version table", err) < 0 ||
	    query_int(st, "SELECT coalesce(max(version), 0) FROM gateway_schema", &have, err) < 0)
		goto unlock;
	if (have > pg_schema_version()) {
		gw_errf(err,
			"PostgreSQL at %s has schema version %lld, newer than this gateway's %d: "
			"run a newer gateway",
			st->where, have, pg_schema_version());
		goto unlock;
	}
	for (int v = (int)have + 1; v <= pg_schema_version(); v++) {
		if (exec_ok(st, "BEGIN", "migrate", err) < 0)
			goto unlock;
		snprintf(sql, sizeof(sql),
			 "DELETE FROM gateway_schema; INSERT INTO gateway_schema VALUES (%d)", v);
		if (exec_ok(st, pg_schema_migration(v), "migrate", err) < 0 ||
		    exec_ok(st, sql, "migrate", err) < 0 ||
		    exec_ok(st, "COMMIT", "migrate", err) < 0) {
			PQclear(PQexec(st->conn, "ROLLBACK"));
			goto unlock;
		}
	}
	rc = 0;
unlock:
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", PG_MIGRATE_LOCK);
	PQclear(PQexec(st->conn, sql));
	return rc;
}

/* host:pid:random: unique among the instances of one database, even across restarts. */
static int name_instance(struct pg_store *st, struct gw_err *err)
{
	char host[64] = "?";
	uint8_t rnd[4];

	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return gw_errf(err, "no random source");
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(st->instance, sizeof(st->instance), "%s:%d:%02x%02x%02x%02x", host, (int)getpid(),
		 rnd[0], rnd[1], rnd[2], rnd[3]);
	return 0;
}

/* The server's notices ("already exists, skipping") are not the gateway's to print. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* The session settings every connection of the store gets: 0, or -1 with err. */
static int session_setup(PGconn *c, const char *where, const char *password, struct gw_err *err)
{
	char setup[300];

	PQsetNoticeProcessor(c, ignore_notice, NULL);
	snprintf(setup, sizeof(setup),
		 "SET synchronous_commit = on; SET statement_timeout = %d;"
		 " SET idle_in_transaction_session_timeout = %d; SET application_name = 'gateway'",
		 PG_STATEMENT_TIMEOUT_MS, PG_IDLE_TX_TIMEOUT_MS);
	return pg_exec(c, where, setup, "set the session up", password, err);
}

PGconn *pg_connect_session(const char *url, const char *where, const char *password,
			   struct gw_err *err)
{
	PGconn *c = PQconnectdb(url);

	if (!c || PQstatus(c) != CONNECTION_OK) {
		pg_fail(c, where, "cannot connect", password, err);
		PQfinish(c);
		return NULL;
	}
	if (session_setup(c, where, password, err) < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

int64_t pg_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pg_copy_col(const PGresult *r, int row, int col, char *dst, size_t n)
{
	snprintf(dst, n, "%s", PQgetvalue(r, row, col));
}

int pg_heal(struct pg_store *st, PGconn *c, struct pg_backoff *b, struct gw_err *err)
{
	int64_t now;

	if (PQstatus(c) == CONNECTION_OK)
		return 0;
	now = pg_monotonic_ms();
	if (now < b->next_ms)
		return gw_err_set(err, 503, "store_unavailable", "",
				  "PostgreSQL at %s is unreachable; trying again shortly",
				  st->where);
	PQreset(c);
	if (c == st->wconn)
		st->n_wsql = 0; /* a new session: its statements are prepared again */
	if (PQstatus(c) == CONNECTION_OK && session_setup(c, st->where, st->password, err) == 0) {
		b->wait_ms = 0;
		return 0;
	}
	b->wait_ms = b->wait_ms ? b->wait_ms * 2 : PG_RECONNECT_MIN_MS;
	if (b->wait_ms > PG_RECONNECT_MAX_MS)
		b->wait_ms = PG_RECONNECT_MAX_MS;
	b->next_ms = now + b->wait_ms;
	if (PQstatus(c) != CONNECTION_OK)
		pg_fail(c, st->where, "cannot connect again", st->password, err);
	return -1;
}

PGresult *pg_crun(struct pg_store *st, const char *sql, int n, const char *const *vals,
		  const char *what, struct gw_err *err)
{
	PGresult *r = NULL;

	pthread_mutex_lock(&st->conn_lock);
	if (pg_heal(st, st->conn, &st->conn_backoff, err) == 0)
		r = pg_params(st->conn, st->where, sql, n, vals, what, err);
	pthread_mutex_unlock(&st->conn_lock);
	if (!r && strcmp(err->code, PG_CONFLICT) == 0) /* no writer here to run it again */
		snprintf(err->code, sizeof(err->code), "store_unavailable");
	return r;
}

int pg_wipe_freed(struct pg_store *st, int wait_ms, struct gw_err *err)
{
	int rc = -1;

	(void)wait_ms;
	pthread_mutex_lock(&st->conn_lock);
	if (pg_heal(st, st->conn, &st->conn_backoff, err) == 0)
		rc = pg_exec(st->conn, st->where,
			     "VACUUM customers, surveys, responses, messages, suppressions, events,"
			     " idempotency",
			     "vacuum", NULL, err);
	pthread_mutex_unlock(&st->conn_lock);
	return rc;
}

int pg_server_stats(struct pg_store *st, struct store_server_stats *out, struct gw_err *err)
{
	PGresult *r =
		pg_crun(st,
			"SELECT (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables),"
			" (SELECT coalesce(extract(epoch FROM now() - min(xact_start)), 0)"
			"  FROM pg_stat_activity WHERE datname = current_database()"
			"  AND xact_start IS NOT NULL AND pid <> pg_backend_pid())",
			0, NULL, "read the server's statistics", err);

	if (!r)
		return -1;
	out->dead_rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->oldest_transaction_s = strtod(PQgetvalue(r, 0, 1), NULL);
	out->writes_retried = __atomic_load_n(&st->conflicts_retried, __ATOMIC_RELAXED);
	PQclear(r);
	return 1;
}

struct pg_store *pg_store_open(const char *url, struct gw_err *err)
{
	struct pg_store *st = calloc(1, sizeof(*st));

	if (!st || !(st->url = strdup(url))) {
		free(st);
		gw_errf(err, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&st->rlock, NULL);
	pthread_mutex_init(&st->conn_lock, NULL);
	st->send_lease_s = 120;
	st->pair_interval_s = 6;
	if (pg_describe(url, st->where, sizeof(st->where), st->password, sizeof(st->password),
			err) < 0 ||
	    !(st->conn = pg_connect_session(url, st->where, st->password, err)) ||
	    migrate(st, err) < 0 || name_instance(st, err) < 0 ||
	    !(st->wconn = pg_connect_session(url, st->where, st->password, err)) ||
	    pg_writer_start(st, err) < 0)
		goto fail;
	return st;
fail:
	pg_store_close(st);
	return NULL;
}

void pg_store_close(struct pg_store *st)
{
	if (!st)
		return;
	group_stop(&st->q); /* every queued job first */
	pg_readers_close(st);
	PQfinish(st->wconn);
	PQfinish(st->conn);
	memset(st->url, 0, strlen(st->url));
	memset(st->password, 0, sizeof(st->password));
	free(st->url);
	pthread_mutex_destroy(&st->rlock);
	pthread_mutex_destroy(&st->conn_lock);
	free(st);
}

int pg_store_schema_version(void)
{
	return pg_schema_version();
}

const char *pg_store_where(const struct pg_store *st)
{
	return st->where;
}

const char *pg_store_instance(const struct pg_store *st)
{
	return st->instance;
}

void pg_store_set_send_lease(struct pg_store *st, int64_t seconds)
{
	st->send_lease_s = seconds;
}
