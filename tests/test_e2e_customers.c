/*
 * test_e2e_customers.c - customer history, erasure and retention through build/gateway's HTTP API.
 *
 * Each test gets a fresh temp dir, database, fake Twilio and gateway (tests/support/e2e.h) on a
 * fake clock starting at T0.  The tests speak the external contract only -- POST /v1/surveys,
 * GET and DELETE /v1/customers/{id}, GET /v1/surveys/{id}, GET /v1/responses.csv, signed Twilio
 * webhooks -- and then read the raw bytes of gateway.db, gateway.db-wal and gateway.db-shm, the
 * way someone with a copy of the disk would, to prove an erased phone number, name and comment
 * are nowhere in them.
 *
 * Environment: GATEWAY_BIN (default build/gateway), FIXTURES (default tests/fixtures),
 * E2E_KEEP_TMP=1 keeps the temp dirs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/e2e.h"

#define DAY 86400LL
#define T0 1795604400LL         /* Wed 2026-11-25 11:00 UTC */
#define PHONE "+34600111222"
#define PHONE_DIGITS "34600111222"
#define PHONE_2 "+34600333444"
#define NAME "Zoraida Quintanilla"
#define COMMENT "el pedido ZX-4471 llego frio"

/* ---- setup ---------------------------------------------------------------------------- */

static int cust_setup(void **state)
{
	const struct harness_config *hc = *state;
	struct e2e *e = e2e_start(hc, T0);

	if (!e)
		return -1;
	*state = e;
	return 0;
}

static void clock_set(struct e2e *e, long long t)
{
	assert_int_equal(harness_clock_set(e->clock, t), 0);
	e->now = t;
}

/* ---- the API ---------------------------------------------------------------------------- */

/* POST /v1/surveys for `cust` on `phone` called `name`; answers `want`; returns the survey id
 * (caller frees). */
static char *trigger(struct e2e *e, const char *cust, const char *phone, const char *name,
		     const char *kind, const char *interaction, long delay, long want)
{
	struct harness_http_resp r;
	json_t *body = json_pack("{s:{s:s,s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s,s:s,s:s},s:i}",
				 "customer", "id", cust, "phone", phone, "name", name, "locale",
				 "es", "timezone", "Europe/Madrid", "kind", kind, "channel", "sms",
				 "interaction", "id", interaction, "touchpoint", "support_chat",
				 "agent", "agent-7", "delay_seconds", (int)delay);
	char *s = json_dumps(body, JSON_COMPACT), *id = NULL;
	json_t *j;

	assert_non_null(s);
	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", s, strlen(s), &r);
	if (r.status != want)
		fail_msg("POST /v1/surveys %s: %ld %.300s, want %ld", interaction, r.status, r.body,
			 want);
	if (want < 300) {
		j = parse_json(&r);
		id = strdup(jstr(j, "id"));
		json_decref(j);
	}
	harness_http_release(&r);
	json_decref(body);
	free(s);
	return id;
}

/* A call to /v1/customers/{id} (or any path) that must answer `want`; its JSON (caller
 * json_decref()s). */
static json_t *call(struct e2e *e, const char *method, const char *path, long want)
{
	struct harness_http_resp r;
	json_t *j;

	api(e, method, path, HARNESS_API_KEY, NULL, NULL, 0, &r);
	if (r.status != want)
		fail_msg("%s %s: %ld %.400s, want %ld", method, path, r.status, r.body, want);
	assert_content_type(&r, "application/json");
	j = parse_json(&r);
	harness_http_release(&r);
	return j;
}

static void assert_error(json_t *j, const char *code, const char *field)
{
	json_t *err = json_object_get(j, "error");

	if (!json_is_object(err))
		fail_msg("no error object");
	assert_jstr(err, "code", code);
	assert_jstr(err, "field", field);
}

static long long jint(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		fail_msg("member %s is not an integer", key);
	return json_integer_value(v);
}

static int jbool(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_boolean(v))
		fail_msg("member %s is not a boolean", key);
	return json_is_true(v);
}

static void assert_jnull(json_t *obj, const char *key)
{
	if (!json_is_null(json_object_get(obj, key)))
		fail_msg("member %s is not null", key);
}

/* A survey sent to `phone` and recorded: the fake's request `i`. */
static void wait_sent(struct e2e *e, const char *id, size_t i, const char *phone)
{
	const struct fake_twilio_request *req;

	if (fake_twilio_wait(e->tw, i + 1, E2E_POLL_MS) < i + 1)
		fail_msg("no request %zu to Twilio", i);
	req = fake_twilio_request(e->tw, i);
	assert_non_null(req->to);
	assert_string_equal(req->to, phone);
	json_decref(wait_status(e, id, "sent"));
}

/* ---- the files -------------------------------------------------------------------------- */

/* How many of gateway.db, -wal and -shm hold `needle` in their raw bytes.  On PostgreSQL, 1
 * when a row of the database holds it (old row versions and the server's own log are the
 * server's, out of the gateway's reach: docs/scaling-out.md). */
static int files_holding(struct e2e *e, const char *needle)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	int found = 0;

	if (harness_on_postgres()) {
		long n = harness_db_count_mentions(e->db, NULL, needle);

		assert_true(n >= 0);
		return n > 0;
	}

	for (size_t i = 0; i < 3; i++) {
		char p[HARNESS_PATH_LEN + 8];
		size_t len = 0;
		char *buf;

		snprintf(p, sizeof(p), "%s%s", e->db, suffix[i]);
		if (!(buf = harness_read_file(p, 256u << 20, &len)))
			continue;
		if (memmem(buf, len, needle, strlen(needle)))
			found++;
		free(buf);
	}
	return found;
}

/* ---- history and erasure --------------------------------------------------------------- */

/*
 * cust-42 answers an NPS survey with a comment and has a CSAT survey queued for later; cust-43
 * has a survey too.  GET shows cust-42's history; DELETE erases cust-42: the number, name and
 * comment are in none of the database files afterwards, the scores still count (GET, CSV), the
 * queued survey is never sent, and a second DELETE changes nothing.
 */
static void test_history_then_erasure_leaves_no_trace_in_the_files(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;
	char *nps, *csat, *other;
	json_t *j, *c, *l, *s, *resp, *chg;
	char erased_at[32];

	nps = trigger(e, "cust-42", PHONE, NAME, "nps", "chat-1", 0, 202);
	wait_sent(e, nps, 0, PHONE);
	say(e, PHONE, "9 " COMMENT, NULL);
	json_decref(wait_status(e, nps, "answered"));
	csat = trigger(e, "cust-42", PHONE, NAME, "csat", "chat-2", 3600, 202);
	other = trigger(e, "cust-43", PHONE_2, "Bea", "nps", "chat-3", 0, 202);

	j = call(e, "GET", "/v1/customers/cust-42", 200);
	c = json_object_get(j, "customer");
	assert_jstr(c, "id", "cust-42");
	assert_jstr(c, "phone", PHONE);
	assert_jstr(c, "name", NAME);
	assert_jstr(c, "locale", "es");
	assert_jstr(c, "timezone", "Europe/Madrid");
	assert_false(jbool(c, "opted_out"));
	assert_false(jbool(c, "erased"));
	assert_jnull(c, "erased_at");
	l = json_object_get(j, "latest_nps");
	assert_int_equal(jint(l, "score"), 9);
	assert_jstr(l, "category", "promoter");
	assert_jstr(l, "survey_id", nps);
	jstr(l, "answered_at");
	s = json_object_get(j, "surveys");
	assert_int_equal(json_array_size(s), 2);
	assert_jstr(json_array_get(s, 0), "id", csat);
	assert_jstr(json_array_get(s, 0), "status", "queued");
	assert_jnull(json_array_get(s, 0), "response");
	assert_jstr(json_array_get(s, 1), "id", nps);
	assert_jstr(json_array_get(s, 1), "status", "answered");
	assert_jstr(json_array_get(s, 1), "touchpoint", "support_chat");
	assert_jstr(json_array_get(s, 1), "created_at", "2026-11-25T11:00:00Z");
	resp = json_object_get(json_array_get(s, 1), "response");
	assert_int_equal(jint(resp, "score"), 9);
	assert_jstr(resp, "category", "promoter");
	assert_jstr(resp, "comment", COMMENT);
	assert_false(jbool(j, "more"));
	json_decref(j);

	if (!files_holding(e, PHONE_DIGITS) || !files_holding(e, NAME) ||
	    !files_holding(e, COMMENT))
		fail_msg("the database files do not hold the customer before the erasure: the scan "
			 "is blind");

	j = call(e, "DELETE", "/v1/customers/cust-42", 200);
	assert_jstr(j, "customer_id", "cust-42");
	assert_true(jbool(j, "erased"));
	snprintf(erased_at, sizeof(erased_at), "%s", jstr(j, "erased_at"));
	assert_string_equal(erased_at, "2026-11-25T11:00:00Z");
	assert_int_equal(jint(j, "cancelled_surveys"), 1);
	assert_int_equal(jint(j, "other_customers_with_number"), 0);
	assert_false(jbool(j, "opted_out"));
	chg = json_object_get(j, "changed");
	assert_int_equal(jint(chg, "surveys"), 2);
	assert_int_equal(jint(chg, "responses"), 1);
	assert_true(jint(chg, "messages") >= 3);        /* question, reply, thanks, queued csat */
	json_decref(j);

	/* the answer came after the log was emptied: nothing to wait for */
	if (files_holding(e, PHONE_DIGITS))
		fail_msg("the phone number is still in %d database file(s)",
			 files_holding(e, PHONE_DIGITS));
	if (files_holding(e, NAME))
		fail_msg("the name is still in %d database file(s)", files_holding(e, NAME));
	if (files_holding(e, COMMENT))
		fail_msg("the comment is still in %d database file(s)", files_holding(e, COMMENT));
	assert_true(files_holding(e, PHONE_2) >= 1);

	j = call(e, "GET", "/v1/customers/cust-42", 200);
	c = json_object_get(j, "customer");
	assert_jnull(c, "phone");
	assert_jnull(c, "name");
	assert_jnull(c, "timezone");
	assert_true(jbool(c, "erased"));
	assert_jstr(c, "erased_at", erased_at);
	assert_int_equal(jint(json_object_get(j, "latest_nps"), "score"), 9);
	s = json_object_get(j, "surveys");
	assert_jstr(json_array_get(s, 0), "status", "skipped");
	assert_jstr(json_array_get(s, 0), "reason", "erased");
	resp = json_object_get(json_array_get(s, 1), "response");
	assert_int_equal(jint(resp, "score"), 9);
	assert_jstr(resp, "comment", "");
	json_decref(j);

	/* the score still counts in the export */
	api(e, "GET", "/v1/responses.csv?kind=nps", HARNESS_API_KEY, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	if (!strstr(r.body, nps) || strstr(r.body, PHONE_DIGITS) || strstr(r.body, COMMENT))
		fail_msg("CSV after the erasure: %.600s", r.body);
	harness_http_release(&r);

	/* the cancelled CSAT survey is never sent, even once due */
	wait_sent(e, other, 2, PHONE_2);       /* after the question and the thank-you */
	clock_set(e, T0 + 2 * 3600);
	assert_no_more_requests(e, 3);

	/* again: nothing left to erase, the first erasure's time */
	j = call(e, "DELETE", "/v1/customers/cust-42", 200);
	assert_jstr(j, "erased_at", erased_at);
	chg = json_object_get(j, "changed");
	assert_int_equal(jint(chg, "surveys") + jint(chg, "responses") + jint(chg, "messages") +
			 jint(chg, "suppressions") + jint(chg, "idempotency_keys"), 0);
	json_decref(j);
	free(nps);
	free(csat);
	free(other);
	e->passed = 1;
}

/* An opted-out number stays opted out after its customer is erased: a later trigger for it,
 * under any customer id, is refused, yet the number is in no database file. */
static void test_opt_out_outlives_the_erasure(void **state)
{
	struct e2e *e = *state;
	char *id;
	json_t *j;

	id = trigger(e, "cust-42", PHONE, NAME, "nps", "chat-1", 0, 202);
	wait_sent(e, id, 0, PHONE);
	say(e, PHONE, "STOP", NULL);
	j = call(e, "GET", "/v1/customers/cust-42", 200);
	assert_true(jbool(json_object_get(j, "customer"), "opted_out"));
	json_decref(j);
	j = call(e, "DELETE", "/v1/customers/cust-42", 200);
	assert_true(jbool(j, "opted_out"));
	assert_int_equal(jint(json_object_get(j, "changed"), "suppressions"), 1);
	json_decref(j);
	if (files_holding(e, PHONE_DIGITS))
		fail_msg("the phone number is still in a database file after the erasure");
	j = call(e, "GET", "/v1/customers/cust-42", 200);
	assert_true(jbool(json_object_get(j, "customer"), "opted_out"));
	json_decref(j);
	trigger(e, "cust-99", PHONE, "Otra", "nps", "chat-2", 0, 409);
	trigger(e, "cust-42", PHONE, NAME, "csat", "chat-3", 0, 409);
	free(id);
	e->passed = 1;
}

static void test_unknown_customer_wrong_method_and_bad_limit(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;
	char *before, *after, *id;
	json_t *j;

	id = trigger(e, "cust-42", PHONE, NAME, "nps", "chat-1", 0, 202);
	wait_sent(e, id, 0, PHONE);
	before = db_snapshot(e->db);
	assert_non_null(before);
	j = call(e, "GET", "/v1/customers/cust-4", 404);
	assert_error(j, "customer_not_found", "id");
	json_decref(j);
	j = call(e, "DELETE", "/v1/customers/nobody", 404);
	assert_error(j, "customer_not_found", "id");
	json_decref(j);
	j = call(e, "PUT", "/v1/customers/cust-42", 405);
	assert_error(j, "method_not_allowed", "");
	assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"), "GET or DELETE"));
	json_decref(j);
	j = call(e, "GET", "/v1/customers/cust-42?limit=0", 422);
	assert_error(j, "invalid_limit", "limit");
	json_decref(j);
	j = call(e, "GET", "/v1/customers/cust-42?limit=abc", 422);
	assert_error(j, "invalid_limit", "limit");
	json_decref(j);
	api(e, "DELETE", "/v1/customers/cust-42", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 401);
	harness_http_release(&r);
	api(e, "DELETE", "/v1/customers/cust-42", "wrong-key", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 403);
	harness_http_release(&r);
	after = db_snapshot(e->db);
	assert_non_null(after);
	if (strcmp(before, after) != 0)
		fail_msg("a refused request changed the database");
	j = call(e, "GET", "/v1/customers/cust-42?limit=1", 200);
	assert_int_equal(json_array_size(json_object_get(j, "surveys")), 1);
	json_decref(j);
	free(before);
	free(after);
	free(id);
	e->passed = 1;
}

/* ---- retention -------------------------------------------------------------------------- */

static const struct harness_config retain_conf = { .extra = "[store]\nretain_days = 1\n" };

/* With retain_days = 1, a day after the answer its comment and raw text are blank; the score
 * stays.  Without it (the default), they stay. */
static void test_retain_days_blanks_old_texts(void **state)
{
	struct e2e *e = *state;
	long long deadline;
	char *id;
	json_t *s, *resp;

	id = trigger(e, "cust-42", PHONE, NAME, "nps", "chat-1", 0, 202);
	wait_sent(e, id, 0, PHONE);
	say(e, PHONE, "9 " COMMENT, NULL);
	json_decref(wait_status(e, id, "answered"));
	clock_set(e, T0 + DAY / 2);
	harness_sleep_ms(E2E_QUIET_MS);
	s = survey_get(e, id);
	assert_jstr(json_object_get(s, "response"), "comment", COMMENT);
	json_decref(s);

	clock_set(e, T0 + DAY + 3600);
	deadline = harness_now_ms() + E2E_POLL_MS;
	for (;;) {
		s = survey_get(e, id);
		resp = json_object_get(s, "response");
		if (strcmp(jstr(resp, "comment"), "") == 0 && strcmp(jstr(resp, "raw_text"), "") == 0)
			break;
		json_decref(s);
		if (harness_now_ms() > deadline)
			fail_msg("the comment of a response answered over a day ago is still there");
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
	assert_int_equal(jint(resp, "score"), 9);
	json_decref(s);
	/* the log is emptied just after the purge's commit, on the same sweep */
	for (deadline = harness_now_ms() + E2E_POLL_MS; files_holding(e, COMMENT);
	     harness_sleep_ms(E2E_POLL_STEP_MS))
		if (harness_now_ms() > deadline)
			fail_msg("the purged comment is still in a database file");
	free(id);
	e->passed = 1;
}

static void test_retain_days_off_keeps_texts(void **state)
{
	struct e2e *e = *state;
	char *id;
	json_t *s;

	id = trigger(e, "cust-42", PHONE, NAME, "nps", "chat-1", 0, 202);
	wait_sent(e, id, 0, PHONE);
	say(e, PHONE, "9 " COMMENT, NULL);
	json_decref(wait_status(e, id, "answered"));
	clock_set(e, T0 + 400 * DAY);
	harness_sleep_ms(E2E_QUIET_MS);
	s = survey_get(e, id);
	assert_jstr(json_object_get(s, "response"), "comment", COMMENT);
	json_decref(s);
	free(id);
	e->passed = 1;
}

#define CUST_TEST(f, conf) \
	cmocka_unit_test_prestate_setup_teardown(f, cust_setup, e2e_teardown, (void *)(conf))

int main(void)
{
	const struct CMUnitTest tests[] = {
		CUST_TEST(test_history_then_erasure_leaves_no_trace_in_the_files, NULL),
		CUST_TEST(test_opt_out_outlives_the_erasure, NULL),
		CUST_TEST(test_unknown_customer_wrong_method_and_bad_limit, NULL),
		CUST_TEST(test_retain_days_blanks_old_texts, &retain_conf),
		CUST_TEST(test_retain_days_off_keeps_texts, NULL),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
