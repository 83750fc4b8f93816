/*
 * test_fuzz_regressions.c - inputs the libFuzzer targets in tests/fuzz/ found to break a contract,
 * one row each: the input exactly as the fuzzer saved it (or its smallest spelling), and what the
 * module's header or docs/ say must happen.  Each row failed before its bug was fixed.
 *
 * The crash files themselves are kept under tests/fuzz/regressions/<target>/ and replay with
 *   build/fuzz/fuzz_<target> tests/fuzz/regressions/<target>/<file>
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

/* ---- POST /v1/surveys: interaction.opened_at / closed_at ------------------------------------ */

/*
 * docs/http-api.md: "opened_at, closed_at (ISO 8601 UTC)", e.g. 2026-11-22T10:12:30Z.
 * check_timestamp() in gateway/api.c reads them with sscanf("%4d-%2d-%2dT%2d:%2d:%2d%n") and
 * checks n == 19, but %d skips leading white space and takes a sign, and the hour, minute and
 * second are not checked against 0, so times that are not ISO 8601 pass: "T1: 12:15Z"
 * (fuzz_trigger, crash-0088a80fab072e84214aba4cd26f1caf1ea1cfc0), a negative hour, signed fields.
 */
struct time_row {
	const char *body;
	int accepted;           /* 1: api_parse_trigger() returns 0 */
};

#define TRIGGER(closed_at)                                                                      \
	"{\"customer\":{\"id\":\"c\",\"phone\":\"+34600111222\"},\"kind\":\"nps\",\"channel\":\"sms\"," \
	"\"interaction\":{\"id\":\"i\",\"closed_at\":\"" closed_at "\"}}"

static const struct time_row time_rows[] = {
	/* controls: real ISO 8601 UTC times are accepted */
	{ TRIGGER("2026-11-22T10:12:30Z"), 1 },
	{ TRIGGER("2026-11-22T10:12:30.250Z"), 1 },
	{ TRIGGER("2026-11-22T10:12:30+00:00"), 1 },
	/* the fuzzer's input, byte for byte */
	{ "{\"customer\": {\"id\": \"c\", \"phone\":\"+19999888\"},\"kind\": \"nps\", \"channel\":\"sms\", "
	  "\"interaction\": {\"id\": \"Z\", \"closed_at\": \"2026-11-22T1: 12:15Z\"}}", 0 },
	/* the same flaw, spelled other ways */
	{ TRIGGER("2026-11-22T 1:12:15Z"), 0 },     /* white space inside */
	{ TRIGGER("2026-11-22T-1:00:00Z"), 0 },     /* hour -1 */
	{ TRIGGER("2026-11-22T10:-5:00Z"), 0 },     /* minute -5 */
	{ TRIGGER("2026-11-22T10:00:-1Z"), 0 },     /* second -1 */
	{ TRIGGER("2026-+1-+1T+1:+1:+1Z"), 0 },     /* signs everywhere */
};

static void test_trigger_times(void **state)
{
	struct gateway gw;
	int failures = 0;

	(void)state;
	memset(&gw, 0, sizeof(gw));
	gw.cfg.default_locale = (char *)"es";      /* the only part of gw the parse reads */
	for (size_t i = 0; i < sizeof(time_rows) / sizeof(time_rows[0]); i++) {
		const struct time_row *r = &time_rows[i];
		json_error_t jerr;
		json_t *root = json_loads(r->body, JSON_REJECT_DUPLICATES, &jerr);
		struct gw_err err = { 0 };
		struct trigger t;
		int rc;

		if (!root)
			fail_msg("row %zu: not JSON: %s", i, jerr.text);
		rc = api_parse_trigger(&gw, root, &t, &err);
		if (r->accepted && rc != 0) {
			print_error("row %zu: %s: refused: %s\n", i, r->body, err.msg);
			failures++;
		} else if (!r->accepted &&
			   (rc == 0 || err.http_status != 422 ||
			    strcmp(err.code, "invalid_timestamp") != 0 ||
			    strcmp(err.field, "interaction.closed_at") != 0)) {
			print_error("row %zu: %s: want 422 invalid_timestamp interaction.closed_at, "
				    "got rc %d %d %s %s\n", i, r->body, rc, err.http_status, err.code,
				    err.field);
			failures++;
		}
		json_decref(root);
	}
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trigger_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
