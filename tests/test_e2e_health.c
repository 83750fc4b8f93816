/*
 * test_e2e_health.c - what a gateway under sustained load leaves on disk, and what /healthz costs.
 *
 *  - The write-ahead log beside the database stays near [store] wal_limit_mb while tens of
 *    thousands of surveys are triggered and sent, and what it held reaches the database file
 *    itself: a copy of gateway.db alone, taken after a kill -9, holds every survey and send.
 *  - GET /metrics reports the log and its checkpoints; /healthz shows the log's state, and
 *    degrades while a reader's old snapshot keeps the log far past its limit.
 *  - GET /healthz runs its write probe at most once per [server] health_check_interval, however
 *    many callers ask; with 0s every call probes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "buf.h"
#include "support/e2e.h"

#define LOAD_SURVEYS 20000
#define LOAD_CLIENTS 8
#define LOG_LIMIT_MB 1
#define LOG_LIMIT (LOG_LIMIT_MB << 20)
#define SEND_WAIT_MS 180000     /* the whole load's sends, under a sanitizer on a busy machine */

/* ---- the load ---- */

struct client {
	pthread_t thread;
	const char *base;
	size_t from, to;        /* survey indexes [from, to) */
	size_t accepted;        /* answered 202 */
	char why[200];          /* the first failure, or "" */
};

static size_t sink(char *data, size_t size, size_t n, void *userdata)
{
	(void)data;
	(void)userdata;
	return size * n;
}

/* POSTs its surveys one after another on one keep-alive connection. */
static void *client_main(void *arg)
{
	struct client *c = arg;
	struct curl_slist *headers = NULL;
	CURL *h = curl_easy_init();
	char url[128], body[512];

	snprintf(url, sizeof(url), "%s/v1/surveys", c->base);
	headers = curl_slist_append(headers, "Authorization: Bearer " HARNESS_API_KEY);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	if (!h || !headers) {
		snprintf(c->why, sizeof(c->why), "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	for (size_t i = c->from; i < c->to; i++) {
		int n = snprintf(body, sizeof(body),
				 "{\"customer\": {\"id\": \"load-c%zu\", \"phone\": \"+3462%07zu\","
				 " \"name\": \"Ana\", \"locale\": \"es\"}, \"kind\": \"nps\","
				 " \"channel\": \"sms\", \"interaction\": {\"id\": \"load-i%zu\"}}",
				 i, i, i);
		long status = 0;
		CURLcode rc;

		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)n);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		rc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK || status != 202) {
			snprintf(c->why, sizeof(c->why), "survey %zu: %s, status %ld", i,
				 curl_easy_strerror(rc), status);
			break;
		}
		c->accepted++;
	}
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return NULL;
}

static int64_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* Scrapes /metrics until every message is sent and recorded and the last checkpoint copied the
 * whole log, which is then within its limit; returns that scrape (caller frees). */
static char *wait_settled(struct e2e *e)
{
	long long deadline = harness_now_ms() + 20000;

	for (;;) {
		char *m = metrics_scrape(e);

		if (metrics_sample(m, "gateway_outbox_messages{state=\"queued\"}") == 0 &&
		    metrics_sample(m, "gateway_outbox_messages{state=\"sending\"}") == 0 &&
		    metrics_sample(m, "gateway_store_wal_frames{state=\"pending\"}") == 0 &&
		    metrics_sample(m, "gateway_store_wal_bytes") <= LOG_LIMIT)
			return m;
		if (harness_now_ms() > deadline)
			fail_msg("the gateway did not settle in 20 s: log %.0f bytes (limit %d), %.0f "
				 "pages not copied back, %.0f messages queued, %.0f sending",
				 metrics_sample(m, "gateway_store_wal_bytes"), LOG_LIMIT,
				 metrics_sample(m, "gateway_store_wal_frames{state=\"pending\"}"),
				 metrics_sample(m, "gateway_outbox_messages{state=\"queued\"}"),
				 metrics_sample(m, "gateway_outbox_messages{state=\"sending\"}"));
		free(m);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

/* One number that `sql` selects from the database at `path`. */
static long long db_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s: %s", path, sql, db ? sqlite3_errmsg(db) : "cannot open");
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* Copies the file `from` to `to`. */
static void copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = harness_read_file(from, 1u << 30, &len);
	FILE *f = fopen(to, "wb");

	assert_non_null(data);
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(data);
}

static void test_log_stays_bounded_under_load(void **state)
{
	struct harness_config hc = { .extra = "[store]\nwal_limit_mb = 1\n" };
	struct e2e *e;
	struct client clients[LOAD_CLIENTS];
	char wal[HARNESS_PATH_LEN + 8], copy[HARNESS_PATH_LEN + 16], *m;
	size_t accepted = 0, sent;
	int64_t wal_bytes;

	if (harness_on_postgres()) {
		fprintf(stderr, "skipped: SQLite's write-ahead log; PostgreSQL keeps its own\n");
		skip();
	}
	e = e2e_start(&hc, 0);
	assert_non_null(e);
	*state = e;
	for (int t = 0; t < LOAD_CLIENTS; t++) {
		clients[t] = (struct client){ .base = e->gw.base_url,
					      .from = (size_t)t * LOAD_SURVEYS / LOAD_CLIENTS,
					      .to = (size_t)(t + 1) * LOAD_SURVEYS / LOAD_CLIENTS };
		assert_int_equal(pthread_create(&clients[t].thread, NULL, client_main, &clients[t]),
				 0);
	}
	for (int t = 0; t < LOAD_CLIENTS; t++) {
		pthread_join(clients[t].thread, NULL);
		if (clients[t].why[0])
			fail_msg("client %d: %s", t, clients[t].why);
		accepted += clients[t].accepted;
	}
	assert_int_equal(accepted, LOAD_SURVEYS);
	sent = fake_twilio_wait(e->tw, LOAD_SURVEYS, SEND_WAIT_MS);
	assert_int_equal(sent, LOAD_SURVEYS);

	/* Every page of the log was copied back and the log kept near its limit. */
	m = wait_settled(e);
	snprintf(wal, sizeof(wal), "%s-wal", e->db);
	wal_bytes = file_size(wal);
	print_message("%d surveys sent: %s-wal %lld bytes (limit %d), %s %lld bytes, %.0f pages "
		      "checkpointed, %.0f resets\n", LOAD_SURVEYS, e->db,
		      (long long)wal_bytes, LOG_LIMIT, e->db, (long long)file_size(e->db),
		      metrics_sample(m, "gateway_store_wal_frames_checkpointed_total"),
		      metrics_sample(m, "gateway_store_wal_resets_total"));
	assert_true(wal_bytes <= LOG_LIMIT);
	assert_true(metrics_sample(m, "gateway_store_wal_limit_bytes") == LOG_LIMIT);
	assert_true(metrics_sample(m, "gateway_store_wal_frames_checkpointed_total") > 0);
	assert_true(metrics_sample(m, "gateway_store_wal_resets_total") >= 1);
	assert_true(metrics_sample(m, "gateway_store_checkpoint_age_seconds") >= 0);
	free(m);

	/* A crash now: the database file alone, without its log, holds every row. */
	kill(e->gw.pid, SIGKILL);
	assert_int_equal(harness_gw_stop(&e->gw), 128 + SIGKILL);
	snprintf(copy, sizeof(copy), "%s/alone.db", e->dir);
	copy_file(e->db, copy);
	assert_int_equal(db_count(copy, "SELECT count(*) FROM surveys"), LOAD_SURVEYS);
	assert_int_equal(db_count(copy, "SELECT count(*) FROM messages WHERE direction = 'out'"
				  " AND status = 'sent' AND provider_message_id IS NOT NULL"),
			 LOAD_SURVEYS);

	/* And the gateway starts again on what the crash left. */
	assert_int_equal(harness_gw_start(&e->gw, e->dir, e->conf, e->gw.port, NULL), 0);
	e->passed = 1;
}

/* ---- /healthz ---- */

/* GET /healthz's "log" object's "state", and the answer's "status" (caller frees both). */
static void log_state(struct e2e *e, char **status, char **state)
{
	struct harness_http_resp r;
	json_t *j;

	api(e, "GET", "/healthz", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = parse_json(&r);
	*status = strdup(jstr(j, "status"));
	*state = strdup(jstr(json_object_get(j, "log"), "state"));
	json_decref(j);
	harness_http_release(&r);
}

/*
 * A reader that keeps an old snapshot keeps the log from being emptied: past 4 times its limit
 * /healthz says so ("degraded", the log's state too), and once the reader is gone the log is
 * emptied and /healthz is "ok" again.  (The snapshot is taken right after a write of its own,
 * while the log holds pages not yet copied back, so that it holds a read mark.)
 */
static void test_healthz_degrades_while_the_log_is_held(void **state)
{
	struct harness_config hc = { .extra = "[store]\nwal_limit_mb = 1\n" };
	struct e2e *e;
	sqlite3 *reader = NULL;
	char *status, *log, wal[HARNESS_PATH_LEN + 8];
	int i;

	if (harness_on_postgres()) {
		fprintf(stderr, "skipped: SQLite's write-ahead log; PostgreSQL keeps its own\n");
		skip();
	}
	e = e2e_start(&hc, 0);
	assert_non_null(e);
	*state = e;
	snprintf(wal, sizeof(wal), "%s-wal", e->db);
	assert_int_equal(sqlite3_open_v2(e->db, &reader, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(reader, 5000);
	assert_int_equal(sqlite3_exec(reader, "UPDATE heartbeat SET at = at;"
				      "BEGIN; SELECT count(*) FROM surveys;", NULL, NULL, NULL),
			 SQLITE_OK);
	for (i = 0; i < 2000 && file_size(wal) <= 5 * LOG_LIMIT; i++) {
		struct harness_http_resp r;
		char body[256];
		int n = snprintf(body, sizeof(body),
				 "{\"customer\": {\"id\": \"held-%d\", \"phone\": \"+3464%07d\"},"
				 " \"kind\": \"nps\", \"channel\": \"sms\","
				 " \"interaction\": {\"id\": \"held-i%d\"}}", i, i, i);

		api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, (size_t)n,
		    &r);
		assert_int_equal(r.status, 202);
		harness_http_release(&r);
	}
	if (file_size(wal) <= 5 * LOG_LIMIT)
		fail_msg("the log stayed at %lld bytes after %d surveys while a reader held it",
			 (long long)file_size(wal), i);
	/* the checkpointer reads the log's size every 200 ms */
	for (long long deadline = harness_now_ms() + E2E_POLL_MS;; harness_sleep_ms(50)) {
		log_state(e, &status, &log);
		if (strcmp(log, "degraded") == 0 || harness_now_ms() > deadline)
			break;
		free(status);
		free(log);
	}
	assert_string_equal(log, "degraded");
	assert_string_equal(status, "degraded");
	free(status);
	free(log);

	sqlite3_close(reader);
	for (long long deadline = harness_now_ms() + 20000;; harness_sleep_ms(50)) {
		log_state(e, &status, &log);
		if (strcmp(log, "ok") == 0 || harness_now_ms() > deadline)
			break;
		free(status);
		free(log);
	}
	assert_string_equal(log, "ok");
	assert_string_equal(status, "ok");
	free(status);
	free(log);
	assert_true(file_size(wal) <= LOG_LIMIT);
	e->passed = 1;
}

/* GET /healthz, which must answer 200; the answer (caller json_decref()s). */
static json_t *healthz(struct e2e *e)
{
	struct harness_http_resp r;
	json_t *j;

	api(e, "GET", "/healthz", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = parse_json(&r);
	harness_http_release(&r);
	return j;
}

static double probes(struct e2e *e)
{
	char *m = metrics_scrape(e);
	double n = metrics_sample(m, "gateway_health_probes_total");

	free(m);
	return n;
}

#define BURST_THREADS 8
#define BURST_CALLS 10          /* each */

struct burst {
	pthread_t thread;
	const char *url;
	int ok;                 /* calls answered 200 */
};

static void *burst_main(void *arg)
{
	struct burst *b = arg;
	struct harness_http_resp r;

	for (int i = 0; i < BURST_CALLS; i++) {
		if (harness_http("GET", b->url, NULL, NULL, 0, &r) == 0) {
			b->ok += r.status == 200;
			harness_http_release(&r);
		}
	}
	return NULL;
}

/* 80 calls from 8 threads at once within one interval: one probe between them all, and each
 * answer says how old its result is. */
static void test_healthz_burst_shares_one_probe(void **state)
{
	struct harness_config hc = { .extra = "[server]\nhealth_check_interval = 1h\n" };
	struct e2e *e = e2e_start(&hc, 0);
	struct burst b[BURST_THREADS];
	char url[128];
	json_t *j;
	double before;

	assert_non_null(e);
	*state = e;
	j = healthz(e);
	assert_jstr(j, "status", "ok");
	assert_true(json_integer_value(json_object_get(j, "checked_ms_ago")) >= 0);
	if (harness_on_postgres()) { /* PostgreSQL keeps its own log: nothing of it here */
		assert_null(json_object_get(j, "log"));
	} else {
		assert_jstr(json_object_get(j, "log"), "state", "ok");
		assert_true(json_integer_value(json_object_get(json_object_get(j, "log"),
							       "limit")) == 64 << 20);
	}
	json_decref(j);
	/* the harness's start-up polls and the call above made the first probe */
	before = probes(e);
	assert_true(before >= 1);
	snprintf(url, sizeof(url), "%s/healthz", e->gw.base_url);
	for (int t = 0; t < BURST_THREADS; t++) {
		b[t] = (struct burst){ .url = url };
		assert_int_equal(pthread_create(&b[t].thread, NULL, burst_main, &b[t]), 0);
	}
	for (int t = 0; t < BURST_THREADS; t++) {
		pthread_join(b[t].thread, NULL);
		assert_int_equal(b[t].ok, BURST_CALLS);
	}
	assert_true(probes(e) == before);
	e->passed = 1;
}

static void test_healthz_interval_zero_probes_every_call(void **state)
{
	struct harness_config hc = { .extra = "[server]\nhealth_check_interval = 0s\n" };
	struct e2e *e = e2e_start(&hc, 0);
	double before;

	assert_non_null(e);
	*state = e;
	before = probes(e);
	for (int i = 0; i < 5; i++)
		json_decref(healthz(e));
	assert_true(probes(e) == before + 5);
	e->passed = 1;
}

static int teardown(void **state)
{
	return *state ? e2e_teardown(state) : 0;
}

static int clear(void **state)
{
	*state = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log_stays_bounded_under_load, clear, teardown),
		cmocka_unit_test_setup_teardown(test_healthz_degrades_while_the_log_is_held, clear,
						teardown),
		cmocka_unit_test_setup_teardown(test_healthz_burst_shares_one_probe, clear,
						teardown),
		cmocka_unit_test_setup_teardown(test_healthz_interval_zero_probes_every_call, clear,
						teardown),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
