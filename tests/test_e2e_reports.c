/*
 * test_e2e_reports.c - GET /v1/reports and `gateway report` of build/gateway, end to end, on a
 * fake clock: the API key, the method, every bad option answered 422 naming its field (the
 * database unchanged), and the figures of surveys triggered, sent through a fake Twilio and
 * answered by signed inbound texts, as the API and the CLI (JSON, CSV, table) report them.
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

/* Mon 2026-11-23 09:00 UTC. */
#define T0 1795424400LL

static int rep_setup(void **state)
{
	struct e2e *e = e2e_start(NULL, T0);

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

/* GET `path` with the API key; the answer must be `want` (caller releases *r). */
static void get(struct e2e *e, const char *path, long want, struct harness_http_resp *r)
{
	api(e, "GET", path, HARNESS_API_KEY, NULL, NULL, 0, r);
	if (r->status != want)
		fail_msg("GET %s: %ld %.400s, want %ld", path, r->status, r->body, want);
	assert_content_type(r, "application/json");
}

/* ---- access and validation ---- */

static void test_reports_need_the_api_key(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;

	api(e, "GET", "/v1/reports?kind=nps", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 401);
	harness_http_release(&r);
	api(e, "GET", "/v1/reports?kind=nps", "not-a-key", NULL, NULL, 0, &r);
	assert_int_equal(r.status, 403);
	harness_http_release(&r);
	e->passed = 1;
}

static void test_reports_only_get(void **state)
{
	static const char *const methods[] = { "POST", "PUT", "DELETE", "PATCH" };
	struct e2e *e = *state;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		struct harness_http_resp r;
		json_t *j;

		api(e, methods[i], "/v1/reports?kind=nps", HARNESS_API_KEY, "application/json", "{}",
		    2, &r);
		if (r.status != 405)
			fail_msg("%s /v1/reports: %ld, want 405", methods[i], r.status);
		j = parse_json(&r);
		assert_jstr(json_object_get(j, "error"), "code", "method_not_allowed");
		json_decref(j);
		harness_http_release(&r);
	}
	e->passed = 1;
}

static const struct {
	const char *query;
	const char *field;
} bad_rows[] = {
	{ "", "kind" },
	{ "?since=2026-11-01", "kind" },
	{ "?kind=", "kind" },
	{ "?kind=nps,csat", "kind" },
	{ "?kind=nps&since=2026-13-01", "since" },
	{ "?kind=nps&since=1.11.2026", "since" },
	{ "?kind=nps&until=2026-02-30", "until" },
	{ "?kind=nps&since=2026-11-02&until=2026-11-01", "until" },
	{ "?kind=nps&group_by=year", "group_by" },
	{ "?kind=nps&group_by=", "group_by" },
	{ "?kind=nps&since=1990-01-01&until=2026-01-01&group_by=day", "group_by" },
	{ "?kind=nps&format=csv", "format" },
	{ "?kind=nps&group_by=day&groupby=week", "groupby" },
	{ "?kind=nps&Kind=nps", "Kind" },
};

static void test_reports_bad_options_are_422_naming_the_field(void **state)
{
	struct e2e *e = *state;
	char *before = db_snapshot(e->db), *after;

	assert_non_null(before);
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		struct harness_http_resp r;
		char path[256];
		json_t *j, *err;

		snprintf(path, sizeof(path), "/v1/reports%s", bad_rows[i].query);
		get(e, path, 422, &r);
		j = parse_json(&r);
		err = json_object_get(j, "error");
		if (!json_is_object(err))
			fail_msg("%s: no error object: %s", path, r.body);
		assert_jstr(err, "field", bad_rows[i].field);
		jstr(err, "code");
		if (!*jstr(err, "message"))
			fail_msg("%s: empty message", path);
		json_decref(j);
		harness_http_release(&r);
	}
	after = db_snapshot(e->db);
	assert_non_null(after);
	assert_string_equal(before, after);
	free(before);
	free(after);
	e->passed = 1;
}

/* ---- figures ---- */

/* Triggers an NPS survey for `phone` at `touchpoint`, resolved in `ttr_s` seconds, and waits
 * until the fake Twilio took it. */
static void trigger_sent(struct e2e *e, const char *n, const char *phone, const char *touchpoint,
			 int ttr_s)
{
	struct harness_http_resp r;
	char body[1024];
	json_t *j, *s;

	snprintf(body, sizeof(body),
		 "{\"customer\":{\"id\":\"cust-%s\",\"phone\":\"%s\",\"locale\":\"es\"},"
		 "\"kind\":\"nps\",\"channel\":\"sms\",\"interaction\":{\"id\":\"chat-%s\","
		 "\"touchpoint\":\"%s\",\"opened_at\":\"2026-11-23T08:00:00Z\","
		 "\"closed_at\":\"2026-11-23T08:%02d:%02dZ\"}}", n, phone, n, touchpoint,
		 ttr_s / 60, ttr_s % 60);
	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, strlen(body), &r);
	if (r.status != 202)
		fail_msg("trigger %s: %ld %.300s", n, r.status, r.body);
	j = parse_json(&r);
	s = wait_status(e, jstr(j, "id"), "sent");
	json_decref(s);
	json_decref(j);
	harness_http_release(&r);
}

/* The member at `path` ("total.ttr.median_s") of `o`, or NULL. */
static json_t *jpath(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while (o && (dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return o ? json_object_get(o, path) : NULL;
}

static void expect_int(json_t *j, const char *path, long long want)
{
	json_t *v = jpath(j, path);

	if (!json_is_integer(v) || json_integer_value(v) != want)
		fail_msg("%s is %s, want %lld", path, v ? (json_is_null(v) ? "null" : "other") :
			 "absent", want);
}

static void expect_real(json_t *j, const char *path, double want)
{
	json_t *v = jpath(j, path);

	if (!json_is_real(v) || json_real_value(v) != want)
		fail_msg("%s is not %.1f", path, want);
}

static void expect_null(json_t *j, const char *path)
{
	if (!json_is_null(jpath(j, path)))
		fail_msg("%s is not null", path);
}

/* Runs `gateway report -c CONF ARGS`; its standard output (caller frees). */
static char *run_cli(struct e2e *e, const char *args)
{
	const char *bin = getenv("GATEWAY_BIN");
	char cmd[2048], *out;
	size_t len = 0, cap = 1 << 16;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s report -c %s %s", bin && *bin ? bin : "build/gateway",
		 e->conf, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	out = malloc(cap);
	assert_non_null(out);
	len = fread(out, 1, cap - 1, p);
	out[len] = '\0';
	if (pclose(p) != 0)
		fail_msg("%s failed:\n%s", cmd, out);
	return out;
}

/*
 * Three NPS surveys sent at T0: "a" (chat, TTR 10 min) answered 9 at T0 + 600, "b" (chat, TTR
 * 45 min) answered 6 at T0 + 900, "c" (shop, TTR 2 min) never answered.  By hand:
 *   total: sent 3, answered 2, 66.7%; promoters 1, detractors 1: NPS 0; answer 600 and 900:
 *          mean = median = 750; TTR 120 600 2700: mean 1140, median 600;
 *   chat:  sent 2, answered 2, 100.0%, NPS 0;   shop: sent 1, answered 0, 0.0%, NPS null;
 *   < 15 min: a and c: 1 answered of 2, NPS 100;   < 1 h: b: NPS -100.
 */
static void test_reports_figures(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;
	char *out;
	json_t *j;

	trigger_sent(e, "a", "+34600000101", "chat", 600);
	trigger_sent(e, "b", "+34600000102", "chat", 2700);
	trigger_sent(e, "c", "+34600000103", "shop", 120);
	clock_set(e, T0 + 600);
	say(e, "+34600000101", "9", NULL);
	clock_set(e, T0 + 900);
	say(e, "+34600000102", "6", NULL);

	get(e, "/v1/reports?kind=nps&since=2026-11-23&until=2026-11-23&group_by=touchpoint", 200,
	    &r);
	j = parse_json(&r);
	expect_int(j, "total.triggered", 3);
	expect_int(j, "total.sent", 3);
	expect_int(j, "total.answered", 2);
	expect_real(j, "total.response_rate", 66.7);
	expect_int(j, "total.nps", 0);
	expect_int(j, "total.promoters", 1);
	expect_int(j, "total.detractors", 1);
	expect_int(j, "total.time_to_answer.mean_s", 750);
	expect_int(j, "total.time_to_answer.median_s", 750);
	expect_int(j, "total.ttr.mean_s", 1140);
	expect_int(j, "total.ttr.median_s", 600);
	assert_int_equal(json_array_size(jpath(j, "groups")), 2);
	assert_jstr(json_array_get(jpath(j, "groups"), 0), "group", "chat");
	expect_real(json_array_get(jpath(j, "groups"), 0), "response_rate", 100.0);
	assert_jstr(json_array_get(jpath(j, "groups"), 1), "group", "shop");
	expect_real(json_array_get(jpath(j, "groups"), 1), "response_rate", 0.0);
	expect_null(json_array_get(jpath(j, "groups"), 1), "nps");
	expect_int(json_array_get(jpath(j, "total.by_ttr"), 0), "nps", 100);
	expect_int(json_array_get(jpath(j, "total.by_ttr"), 1), "nps", -100);
	json_decref(j);
	harness_http_release(&r);

	/* another day: nothing, and no division by zero */
	get(e, "/v1/reports?kind=nps&since=2026-11-24&until=2026-11-24", 200, &r);
	j = parse_json(&r);
	expect_int(j, "total.sent", 0);
	expect_null(j, "total.response_rate");
	expect_null(j, "total.nps");
	json_decref(j);
	harness_http_release(&r);

	/* the CLI reads the same figures from the same database */
	out = run_cli(e, "--kind nps --group-by touchpoint --csv");
	if (!strstr(out, "\r\ngroup,chat,all,2,2,2,100.0,0,0,0,1,0,1,50.0,0.0,50.0,7.50,2,750,750,"
			 "2,1650,1650\r\n") ||
	    !strstr(out, "\r\ntotal,,all,3,3,2,66.7,0,0,0,"))
		fail_msg("CSV:\n%s", out);
	free(out);
	out = run_cli(e, "--kind nps --json");
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	expect_real(j, "total.response_rate", 66.7);
	json_decref(j);
	free(out);
	out = run_cli(e, "--kind nps --group-by day");
	if (!strstr(out, "NPS report") || !strstr(out, "2026-11-23") || !strstr(out, "66.7%"))
		fail_msg("table:\n%s", out);
	if (getenv("E2E_SHOW_TABLE"))
		fputs(out, stderr);
	free(out);
	e->passed = 1;
}

#define REP_TEST(f) cmocka_unit_test_setup_teardown(f, rep_setup, e2e_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		REP_TEST(test_reports_need_the_api_key),
		REP_TEST(test_reports_only_get),
		REP_TEST(test_reports_bad_options_are_422_naming_the_field),
		REP_TEST(test_reports_figures),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
