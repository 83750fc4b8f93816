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
#include <time.h>
#include <unistd.h>

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

static void assert_query(const struct pg_test_db *db, const char *sql, const char *want)
{
	char got[512];

	pg_test_query(db, sql, got, sizeof(got));
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	pg_test_query(db, "SELECT count(*) || '/' || max(version) FROM gateway_schema", before,
		      sizeof(before));
	pg_store_close(open_ok(db));
	pg_test_query(db, "SELECT count(*) || '/' || max(version) FROM gateway_schema", after,
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
	assert_query(db, sql, "2"); /* its own and its writer's */
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

/* ---- surveys ---------------------------------------------------------------------------- */

/* A trigger for interaction `n`, customer `c`. */
struct trig {
	struct survey_new sn;
	char id[40], interaction[40], customer[40], phone[24];
};

static void trig_init(struct trig *t, const char *tag, int n, int c, int64_t now)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s-%d", tag, n);
	snprintf(t->interaction, sizeof(t->interaction), "chat-%d", n);
	snprintf(t->customer, sizeof(t->customer), "cust-%d", c);
	snprintf(t->phone, sizeof(t->phone), "+3461%07d", c);
	t->sn = (struct survey_new){ .id = t->id,
				     .customer_id = t->customer,
				     .phone = t->phone,
				     .name = "Ana",
				     .locale = "es",
				     .kind = "nps",
				     .channel = "sms",
				     .provider = "twilio",
				     .interaction_id = t->interaction,
				     .touchpoint = "support_chat",
				     .now = now,
				     .send_after = now,
				     .expires_at = now + 172800,
				     .expire_after_s = 172800,
				     .question = "¿Del 0 al 10?" };
}

static int create(struct pg_store *st, struct trig *t, char *id)
{
	struct gw_err err = { 0 };
	int outcome = -1;

	if (pg_create_survey(st, &t->sn, id, &outcome, &err) < 0)
		fail_msg("pg_create_survey: %s", err.msg);
	return outcome;
}

/* The survey as both reads give it: every field the trigger set, no response yet; the
 * reading connections are idle afterwards (no transaction holding a snapshot). */
static void read_back(struct pg_store *st, const struct pg_test_db *db)
{
	struct gw_err err = { 0 };
	struct survey sv;
	char sql[256];

	assert_int_equal(pg_get_survey(st, "s-1", &sv, &err), 0);
	assert_string_equal(sv.id, "s-1");
	assert_string_equal(sv.customer_id, "cust-1");
	assert_string_equal(sv.phone, "+34610000001");
	assert_string_equal(sv.name, "Ana");
	assert_string_equal(sv.interaction_id, "chat-1");
	assert_string_equal(sv.touchpoint, "support_chat");
	assert_string_equal(sv.agent, "");
	assert_string_equal(sv.status, "queued");
	assert_int_equal(sv.created_at, 1000);
	assert_int_equal(sv.expires_at, 1000 + 172800);
	assert_int_equal(sv.sent_at, 0);
	assert_int_equal(sv.has_response, 0);
	survey_release(&sv);
	assert_int_equal(pg_get_survey(st, "s-none", &sv, &err), 1);
	assert_int_equal(pg_find_survey(st, "chat-1", "nps", &sv, &err), 1);
	assert_string_equal(sv.id, "s-1");
	survey_release(&sv);
	assert_int_equal(pg_find_survey(st, "chat-1", "ces", &sv, &err), 0);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
		 " AND application_name = 'gateway' AND state <> 'idle'",
		 db->name);
	assert_query(db, sql, "0");
}

/* A trigger makes its customer, survey and queued message; the same interaction again makes
 * nothing and answers the first survey; a number that opted out gets nothing; a customer
 * surveyed within the fatigue window gets a skipped survey and no message. */
static void test_a_trigger_makes_a_survey_once(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct trig t;
	char id[SURVEY_ID_LEN];

	trig_init(&t, "s", 1, 1, 1000);
	assert_int_equal(create(st, &t, id), SURVEY_CREATED);
	assert_string_equal(id, "s-1");
	assert_query(db, "SELECT status || ':' || kind || ':' || provider FROM surveys",
		     "queued:nps:twilio");
	assert_query(db, "SELECT status || ':' || body || ':' || next_attempt_at FROM messages",
		     "queued:¿Del 0 al 10?:1000");
	trig_init(&t, "s-again", 1, 1, 1001);
	assert_int_equal(create(st, &t, id), SURVEY_EXISTING);
	assert_string_equal(id, "s-1");
	read_back(st, db);
	assert_query(db, "SELECT count(*) FROM surveys", "1");
	pg_test_exec(db, "INSERT INTO suppressions (phone, opted_out, updated_at)"
			 " VALUES ('+34610000002', 1, 1)");
	trig_init(&t, "s", 2, 2, 1002);
	assert_int_equal(create(st, &t, id), SURVEY_OPTED_OUT);
	assert_query(db, "SELECT count(*) FROM surveys", "1");
	trig_init(&t, "s", 3, 1, 2000);
	t.sn.fatigue_days = 30;
	assert_int_equal(create(st, &t, id), SURVEY_SKIPPED);
	assert_query(db, "SELECT status || ':' || reason FROM surveys WHERE id = 's-3'",
		     "skipped:recently_surveyed");
	assert_query(db, "SELECT count(*) FROM messages", "1");
	pg_store_close(st);
}

#define TRIGGERERS 6
#define TRIGGERS_EACH 60

struct triggerer {
	const struct pg_test_db *db;
	int first; /* interactions first .. first + TRIGGERS_EACH - 1 */
	const char *tag;
	int created, existing;
	struct gw_err err;
	int failed;
};

static void *trigger_many(void *arg)
{
	struct triggerer *tr = arg;
	struct pg_store *st = pg_store_open(tr->db->url, &tr->err);

	if (!st) {
		tr->failed = 1;
		return NULL;
	}
	for (int i = 0; i < TRIGGERS_EACH && !tr->failed; i++) {
		struct trig t;
		char id[SURVEY_ID_LEN];
		int outcome = -1;

		trig_init(&t, tr->tag, tr->first + i, tr->first + i, 1000);
		if (pg_create_survey(st, &t.sn, id, &outcome, &tr->err) < 0)
			tr->failed = 1;
		else if (outcome == SURVEY_CREATED)
			tr->created++;
		else if (outcome == SURVEY_EXISTING)
			tr->existing++;
	}
	pg_store_close(st);
	return NULL;
}

/* Six instances, paired on the same 60 interactions each (a helpdesk retrying through a
 * load balancer): every interaction has one survey and one message, one instance of each pair
 * created it and the other was answered with it, and nobody got an error. */
static void test_instances_taking_the_same_triggers_make_one_survey_each(void **state)
{
	struct pg_test_db *db = *state;
	struct triggerer tr[TRIGGERERS];
	pthread_t t[TRIGGERERS];
	int created = 0, existing = 0;
	char want[16];

	pg_store_close(open_ok(db));
	for (int i = 0; i < TRIGGERERS; i++) {
		tr[i] = (struct triggerer){ .db = db,
					    .first = 1 + (i / 2) * TRIGGERS_EACH,
					    .tag = i % 2 ? "odd" : "even" };
		assert_int_equal(pthread_create(&t[i], NULL, trigger_many, &tr[i]), 0);
	}
	for (int i = 0; i < TRIGGERERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < TRIGGERERS; i++) {
		if (tr[i].failed)
			fail_msg("instance %d: %s", i, tr[i].err.msg);
		created += tr[i].created;
		existing += tr[i].existing;
	}
	assert_int_equal(created, TRIGGERERS / 2 * TRIGGERS_EACH);
	assert_int_equal(existing, TRIGGERERS / 2 * TRIGGERS_EACH);
	snprintf(want, sizeof(want), "%d", TRIGGERERS / 2 * TRIGGERS_EACH);
	assert_query(db, "SELECT count(*) FROM surveys", want);
	assert_query(db, "SELECT count(DISTINCT interaction_id) FROM surveys", want);
	assert_query(db, "SELECT count(*) FROM messages", want);
	assert_query(db, "SELECT count(*) FROM messages m JOIN surveys s ON s.id = m.survey_id",
		     want);
}

/* ---- Idempotency-Key records ------------------------------------------------------------- */

static enum idem_state idem(struct pg_store *st, const char *key, const char *hash, int64_t now,
			    int *status, char **response)
{
	struct gw_err err = { 0 };
	enum idem_state state = -1;

	if (pg_idem_begin(st, key, hash, now, 60, &state, status, response, &err) < 0)
		fail_msg("pg_idem_begin: %s", err.msg);
	return state;
}

/* A key's life: new, in flight while its request runs (another body: a mismatch), then its
 * answer replayed; forgotten when the request failed; taken over once abandoned; purged by age. */
static void test_an_idempotency_key_from_first_use_to_purge(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct gw_err err = { 0 };
	char *resp = NULL;
	int status = 0;
	size_t n;

	assert_int_equal(idem(st, "k1", "h1", 1000, &status, &resp), IDEM_NEW);
	assert_int_equal(idem(st, "k1", "h1", 1001, &status, &resp), IDEM_IN_FLIGHT);
	assert_int_equal(idem(st, "k1", "h2", 1001, &status, &resp), IDEM_MISMATCH);
	assert_int_equal(pg_idem_finish(st, "k1", 202, "{\"id\":\"s-1\"}", &err), 0);
	assert_int_equal(idem(st, "k1", "h1", 1002, &status, &resp), IDEM_REPLAY);
	assert_int_equal(status, 202);
	assert_string_equal(resp, "{\"id\":\"s-1\"}");
	free(resp);
	resp = NULL;
	assert_int_equal(idem(st, "k1", "h2", 1002, &status, &resp), IDEM_MISMATCH);
	/* a request that failed forgets its key */
	assert_int_equal(idem(st, "k2", "h1", 1000, &status, &resp), IDEM_NEW);
	assert_int_equal(pg_idem_finish(st, "k2", 0, NULL, &err), 0);
	assert_int_equal(idem(st, "k2", "h1", 1001, &status, &resp), IDEM_NEW);
	/* in flight past stale_s (60 s): its process died, the key is taken over */
	assert_int_equal(idem(st, "k2", "h9", 1059, &status, &resp), IDEM_MISMATCH);
	assert_int_equal(idem(st, "k2", "h9", 1061, &status, &resp), IDEM_NEW);
	/* while another instance purges (holding the sweeper's lock), this one purges nothing */
	{
		PGconn *other = PQconnectdb(db->url);
		PGresult *r = PQexec(other, "BEGIN; SELECT pg_advisory_xact_lock(113762566956397)");

		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		PQclear(r);
		assert_int_equal(pg_idem_purge(st, 1061, &n, &err), 0);
		assert_int_equal(n, 0);
		PQclear(PQexec(other, "COMMIT"));
		PQfinish(other);
	}
	assert_int_equal(pg_idem_purge(st, 1061, &n, &err), 0);
	assert_int_equal(n, 1); /* k1 */
	assert_query(db, "SELECT string_agg(key, ',') FROM idempotency", "k2");
	pg_store_close(st);
}

#define IDEM_INSTANCES 6
#define IDEM_KEYS 40

struct idem_claimer {
	const struct pg_test_db *db;
	int won[IDEM_KEYS];
	struct gw_err err;
	int failed;
};

static void *claim_keys(void *arg)
{
	struct idem_claimer *c = arg;
	struct pg_store *st = pg_store_open(c->db->url, &c->err);

	if (!st) {
		c->failed = 1;
		return NULL;
	}
	for (int k = 0; k < IDEM_KEYS && !c->failed; k++) {
		enum idem_state state;
		char key[16], *resp = NULL;
		int status;

		snprintf(key, sizeof(key), "key-%d", k);
		if (pg_idem_begin(st, key, "same-body", 1000, 60, &state, &status, &resp, &c->err) <
		    0)
			c->failed = 1;
		else if (state == IDEM_NEW)
			c->won[k] = 1;
		else if (state != IDEM_IN_FLIGHT)
			c->failed = 1;
		free(resp);
	}
	pg_store_close(st);
	return NULL;
}

/* Six instances claiming the same 40 keys at once: each key is won by exactly one of them. */
static void test_instances_claiming_one_key_at_once_one_wins(void **state)
{
	struct pg_test_db *db = *state;
	struct idem_claimer c[IDEM_INSTANCES];
	pthread_t t[IDEM_INSTANCES];

	pg_store_close(open_ok(db));
	for (int i = 0; i < IDEM_INSTANCES; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].db = db;
		assert_int_equal(pthread_create(&t[i], NULL, claim_keys, &c[i]), 0);
	}
	for (int i = 0; i < IDEM_INSTANCES; i++)
		pthread_join(t[i], NULL);
	for (int k = 0; k < IDEM_KEYS; k++) {
		int winners = 0;

		for (int i = 0; i < IDEM_INSTANCES; i++) {
			if (c[i].failed)
				fail_msg("instance %d: %s", i, c[i].err.msg);
			winners += c[i].won[k];
		}
		if (winners != 1)
			fail_msg("key-%d won by %d instances", k, winners);
	}
}

/* ---- the database lost and back ---------------------------------------------------------- */

/* Creates survey `n` until it is created, for at most 10 s: the attempts that failed meanwhile
 * (each a 503), or -1 when it never was. */
static int create_until_done(struct pg_store *st, int n)
{
	double until = now_s() + 10;
	int failed = 0;

	while (now_s() < until) {
		struct gw_err err = { 0 };
		struct trig t;
		char id[SURVEY_ID_LEN];
		int outcome;

		trig_init(&t, "r", n, n, 1000);
		if (pg_create_survey(st, &t.sn, id, &outcome, &err) == 0) {
			assert_int_equal(outcome, SURVEY_CREATED);
			return failed;
		}
		if (err.http_status != 503)
			fail_msg("a write while the database was away: %d %s", err.http_status,
				 err.msg);
		failed++;
		usleep(20000);
	}
	return -1;
}

/* The server restarts under the store (every session cut): writes answer 503 meanwhile, then
 * the writer's and the caller's connections are opened again by themselves, and what was
 * committed before is there. */
static void test_a_restarted_server_is_reconnected_to(void **state)
{
	struct pg_test_db *db = *state;
	const char *dir = getenv("GATEWAY_TEST_PG_DIR");
	struct pg_store *st;
	struct outbox_item it[4];
	struct gw_err err = { 0 };
	char cmd[512];
	size_t n = 0;
	int failed, tries;

	if (!dir || !dir[0]) {
		printf("  (skipped: GATEWAY_TEST_PG_DIR names no cluster of make check's to restart)\n");
		skip();
	}
	st = open_ok(db);
	assert_int_equal(create_until_done(st, 1), 0);
	snprintf(cmd, sizeof(cmd), "bash tools/pg-cluster.sh restart '%s'", dir);
	assert_int_equal(system(cmd), 0);
	failed = create_until_done(st, 2);
	assert_true(failed >= 0);
	printf("  after the restart: %d write(s) answered 503, then written\n", failed);
	for (tries = 0; tries < 500; tries++) {
		if (pg_claim_due(st, 2000, "twilio", it, 4, &n, &err) == 0)
			break;
		assert_int_equal(err.http_status, 503);
		usleep(20000);
	}
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		outbox_item_release(&it[i]);
	assert_query(db, "SELECT string_agg(id, ',' ORDER BY id) FROM surveys", "r-1,r-2");
	pg_store_close(st);
}

/* ---- the outbox, shared by instances ------------------------------------------------------ */

/* A customer, a survey of theirs and its outbound message due at `due`; `n` names them. */
static void add_survey(const struct pg_test_db *db, int n, int64_t due)
{
	char sql[1400];

	snprintf(
		sql, sizeof(sql),
		"INSERT INTO customers (ext_id, phone, name, locale, created_at, updated_at)"
		" VALUES ('cust-%d', '+3460000%04d', 'Ana %d', 'es', 1, 1);"
		"INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
		" interaction_id, status, created_at, send_after)"
		" SELECT 'sv-%d', id, phone, name, 'es', 'nps', 'sms', 'twilio', 'chat-%d', 'queued',"
		" 1, %lld FROM customers WHERE ext_id = 'cust-%d';"
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
		" status, next_attempt_at, created_at, updated_at)"
		" VALUES ('sv-%d', 'out', 'survey', 'sms', 'twilio', '+3460000%04d', 'q%d', 'queued',"
		" %lld, 1, 1)",
		n, n, n, n, n, (long long)due, n, n, n, n, (long long)due);
	pg_test_exec(db, sql);
}

static struct pg_store *open_with_lease(const struct pg_test_db *db, int64_t lease)
{
	struct pg_store *st = open_ok(db);

	pg_store_set_send_lease(st, lease);
	return st;
}

static void claim(struct pg_store *st, int64_t now, struct outbox_item *items, size_t max,
		  size_t *n)
{
	struct gw_err err = { 0 };

	if (pg_claim_due(st, now, "twilio", items, max, n, &err) < 0)
		fail_msg("pg_claim_due: %s", err.msg);
}

/* Due messages are claimed oldest first, with what their send needs, each moved to `sending`
 * under this instance's name and lease, its survey too; messages not yet due stay queued. */
static void test_a_claim_takes_due_messages_oldest_first(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st;
	struct outbox_item it[4];
	char sql[256];
	size_t n;

	pg_store_close(open_ok(db));
	add_survey(db, 1, 300);
	add_survey(db, 2, 100);
	add_survey(db, 3, 200);
	add_survey(db, 4, 5000);
	st = open_with_lease(db, 60);
	claim(st, 1000, it, 2, &n);
	assert_int_equal(n, 2);
	assert_string_equal(it[0].survey_id, "sv-2");
	assert_string_equal(it[1].survey_id, "sv-3");
	assert_string_equal(it[0].body, "q2");
	assert_string_equal(it[0].kind, "nps");
	assert_string_equal(it[0].locale, "es");
	assert_string_equal(it[0].name, "Ana 2");
	assert_string_equal(it[0].purpose, "survey");
	assert_int_equal(it[0].attempts, 1);
	snprintf(sql, sizeof(sql),
		 "SELECT string_agg(survey_id || ':' || status || ':' || coalesce(lease_until, 0)"
		 " || ':' || coalesce((claimed_by = '%s')::text, ''), ',' ORDER BY survey_id)"
		 " FROM messages",
		 pg_store_instance(st));
	assert_query(db, sql,
		     "sv-1:queued:0:,sv-2:sending:1060:true,sv-3:sending:1060:true,sv-4:queued:0:");
	assert_query(db, "SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM surveys",
		     "sv-1:queued,sv-2:sending,sv-3:sending,sv-4:queued");
	for (size_t i = 0; i < n; i++)
		outbox_item_release(&it[i]);
	claim(st, 1000, it, 4, &n);
	assert_int_equal(n, 1); /* sv-1; sv-4 is not due */
	assert_string_equal(it[0].survey_id, "sv-1");
	outbox_item_release(&it[0]);
	pg_store_close(st);
}

#define CLAIMERS 3
#define CLAIMED_MESSAGES 3000

struct claimer {
	const struct pg_test_db *db;
	int64_t *ids; /* what it claimed */
	size_t n;
	struct gw_err err;
	int failed;
};

static void *claim_until_empty(void *arg)
{
	struct claimer *c = arg;
	struct pg_store *st = pg_store_open(c->db->url, &c->err);
	struct outbox_item it[50];
	size_t n;

	if (!st) {
		c->failed = 1;
		return NULL;
	}
	do {
		if (pg_claim_due(st, 1000, "twilio", it, 50, &n, &c->err) < 0) {
			c->failed = 1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			c->ids[c->n++] = it[i].message_id;
			outbox_item_release(&it[i]);
		}
	} while (n > 0);
	pg_store_close(st);
	return NULL;
}

/* Three instances claim one outbox at once until it is empty: every message is claimed, none
 * twice, and each row names the instance that got it (without FOR UPDATE, two claims of the
 * same rows both win). */
static void test_instances_claiming_at_once_take_each_message_once(void **state)
{
	struct pg_test_db *db = *state;
	struct claimer c[CLAIMERS];
	pthread_t t[CLAIMERS];
	static unsigned char seen[CLAIMED_MESSAGES + 1];
	char want[16];
	size_t total = 0;

	pg_store_close(open_ok(db));
	pg_test_exec(db,
		     "INSERT INTO messages (direction, purpose, channel, provider, phone, body,"
		     " status, next_attempt_at, created_at, updated_at)"
		     " SELECT 'out', 'thanks', 'sms', 'twilio', '+34600' || g, 'thanks', 'queued',"
		     " g % 97, 1, 1 FROM generate_series(1, 3000) g");
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < CLAIMERS; i++) {
		c[i] = (struct claimer){ .db = db };
		c[i].ids = calloc(CLAIMED_MESSAGES, sizeof(int64_t));
		assert_non_null(c[i].ids);
		assert_int_equal(pthread_create(&t[i], NULL, claim_until_empty, &c[i]), 0);
	}
	for (int i = 0; i < CLAIMERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < CLAIMERS; i++) {
		if (c[i].failed)
			fail_msg("claimer %d: %s", i, c[i].err.msg);
		for (size_t k = 0; k < c[i].n; k++) {
			int64_t id = c[i].ids[k];

			assert_true(id >= 1 && id <= CLAIMED_MESSAGES);
			if (seen[id]++)
				fail_msg("message %lld claimed twice", (long long)id);
		}
		total += c[i].n;
		printf("  claimer %d: %zu messages\n", i, c[i].n);
		free(c[i].ids);
	}
	assert_int_equal(total, CLAIMED_MESSAGES);
	snprintf(want, sizeof(want), "%d", CLAIMED_MESSAGES);
	assert_query(db, "SELECT count(*) FROM messages WHERE status = 'sending'", want);
	assert_query(db, "SELECT count(DISTINCT claimed_by) FROM messages", "3");
}

static void accepted(struct pg_store *st, int64_t id, const char *sid, int64_t now)
{
	struct gw_err err = { 0 };

	if (pg_send_accepted(st, id, sid, now, &err) < 0)
		fail_msg("pg_send_accepted: %s", err.msg);
}

/* An outcome lands only from the instance holding the claim: not from another, still after the
 * lease made it uncertain, never on a claim another instance took since. */
static void test_an_outcome_lands_only_for_its_claimant(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *a, *b;
	struct outbox_item it[2];
	struct gw_err err = { 0 };
	size_t n;

	pg_store_close(open_ok(db));
	add_survey(db, 1, 100);
	a = open_with_lease(db, 60);
	b = open_with_lease(db, 60);
	claim(a, 1000, it, 2, &n);
	assert_int_equal(n, 1);
	outbox_item_release(&it[0]);
	accepted(b, it[0].message_id, "SM-b", 1001); /* not b's claim: nothing */
	assert_query(db, "SELECT status || ':' || coalesce(provider_message_id, '') FROM messages",
		     "sending:");
	/* the lease runs out: uncertain, message and survey */
	assert_int_equal(pg_expire_leases(b, 1060, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_query(db,
		     "SELECT (SELECT status FROM messages) || ':' || (SELECT status FROM surveys)",
		     "uncertain:uncertain");
	/* a's answer arrives late: the outcome is known after all */
	accepted(a, it[0].message_id, "SM-a", 1070);
	assert_query(
		db,
		"SELECT (SELECT status || ':' || provider_message_id FROM messages) || ':' ||"
		" (SELECT status || ':' || provider_message_id || ':' || expires_at FROM surveys)",
		"sent:SM-a:sent:SM-a:173870");
	/* queued again by an operator and claimed by b: a's second late answer changes nothing */
	pg_test_exec(db, "UPDATE messages SET status = 'queued';"
			 " UPDATE surveys SET status = 'queued'");
	claim(b, 2000, it, 2, &n);
	assert_int_equal(n, 1);
	outbox_item_release(&it[0]);
	accepted(a, it[0].message_id, "SM-late", 2001);
	assert_query(db, "SELECT status || ':' || provider_message_id FROM messages",
		     "sending:SM-a");
	accepted(b, it[0].message_id, "SM-b2", 2002);
	assert_query(db, "SELECT status || ':' || provider_message_id FROM messages", "sent:SM-b2");
	pg_store_close(a);
	pg_store_close(b);
}

static void take(struct pg_store *st, double rate, double burst, size_t want, size_t *got)
{
	struct gw_err err = { 0 };

	if (pg_pace_take(st, "twilio", rate, burst, want, got, &err) < 0)
		fail_msg("pg_pace_take: %s", err.msg);
}

/* A bucket starts full and gives whole tokens only; with no time to refill, it is empty. */
static void test_pacing_gives_what_the_bucket_holds(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	size_t got;

	take(st, 0.001, 3, 5, &got);
	assert_int_equal(got, 3);
	take(st, 0.001, 3, 5, &got);
	assert_int_equal(got, 0);
	pg_store_close(st);
}

#define PACERS 4

struct pacer {
	const struct pg_test_db *db;
	size_t taken;
	struct gw_err err;
	int failed;
};

static void *pace_for_a_while(void *arg)
{
	struct pacer *p = arg;
	struct pg_store *st = pg_store_open(p->db->url, &p->err);
	double until = now_s() + 1.5;
	size_t got;

	if (!st) {
		p->failed = 1;
		return NULL;
	}
	while (now_s() < until) {
		if (pg_pace_take(st, "twilio", 200, 20, 5, &got, &p->err) < 0) {
			p->failed = 1;
			break;
		}
		p->taken += got;
		usleep(1000);
	}
	pg_store_close(st);
	return NULL;
}

/* Four instances taking from one provider's bucket (200/s, burst 20) for 1.5 s: together they
 * never get more than the burst plus what the rate refilled over the time they took. */
static void test_pacing_is_shared_by_instances(void **state)
{
	struct pg_test_db *db = *state;
	struct pacer p[PACERS];
	pthread_t t[PACERS];
	double t0, elapsed, bound;
	size_t total = 0;

	pg_store_close(open_ok(db));
	t0 = now_s();
	for (int i = 0; i < PACERS; i++) {
		p[i] = (struct pacer){ .db = db };
		assert_int_equal(pthread_create(&t[i], NULL, pace_for_a_while, &p[i]), 0);
	}
	for (int i = 0; i < PACERS; i++)
		pthread_join(t[i], NULL);
	elapsed = now_s() - t0;
	for (int i = 0; i < PACERS; i++) {
		if (p[i].failed)
			fail_msg("instance %d: %s", i, p[i].err.msg);
		total += p[i].taken;
	}
	bound = 20 + 200 * elapsed;
	printf("  4 instances took %zu tokens in %.2f s (at most %.0f)\n", total, elapsed, bound);
	assert_true((double)total <= bound);
	assert_true(total >= 20); /* the full bucket at least */
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
		cmocka_unit_test_setup_teardown(test_a_trigger_makes_a_survey_once, fx_db,
						fx_db_free),
		cmocka_unit_test_setup_teardown(
			test_instances_taking_the_same_triggers_make_one_survey_each, fx_db,
			fx_db_free),
		cmocka_unit_test_setup_teardown(test_an_idempotency_key_from_first_use_to_purge,
						fx_db, fx_db_free),
		cmocka_unit_test_setup_teardown(test_instances_claiming_one_key_at_once_one_wins,
						fx_db, fx_db_free),
		cmocka_unit_test_setup_teardown(test_a_restarted_server_is_reconnected_to, fx_db,
						fx_db_free),
		cmocka_unit_test_setup_teardown(test_a_claim_takes_due_messages_oldest_first, fx_db,
						fx_db_free),
		cmocka_unit_test_setup_teardown(
			test_instances_claiming_at_once_take_each_message_once, fx_db, fx_db_free),
		cmocka_unit_test_setup_teardown(test_an_outcome_lands_only_for_its_claimant, fx_db,
						fx_db_free),
		cmocka_unit_test_setup_teardown(test_pacing_gives_what_the_bucket_holds, fx_db,
						fx_db_free),
		cmocka_unit_test_setup_teardown(test_pacing_is_shared_by_instances, fx_db,
						fx_db_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
