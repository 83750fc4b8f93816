/*
 * test_vocab.c - the shared vocabulary: kinds and their scales, channels; and the small helpers
 * of gateway.c and gwerr.c every module leans on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway.h"
#include "gwerr.h"
#include "vocab.h"

static void kinds_have_their_scales(void **state)
{
	static const struct { const char *name; int min, max; } rows[] = {
		{ "nps", 0, 10 }, { "ces", 1, 7 }, { "csat", 1, 5 },
	};
	enum survey_kind k;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(kind_from_name(rows[i].name, &k), 0);
		assert_string_equal(kind_name(k), rows[i].name);
		assert_int_equal(kind_min(k), rows[i].min);
		assert_int_equal(kind_max(k), rows[i].max);
	}
}

/* Every score of every scale, with the category on each side of each border. */
static void scores_fall_in_their_categories(void **state)
{
	static const struct { const char *kind; int score; const char *want; } rows[] = {
		{ "nps", -1, "" }, { "nps", 0, "detractor" }, { "nps", 6, "detractor" },
		{ "nps", 7, "passive" }, { "nps", 8, "passive" }, { "nps", 9, "promoter" },
		{ "nps", 10, "promoter" }, { "nps", 11, "" },
		{ "csat", 0, "" }, { "csat", 1, "dissatisfied" }, { "csat", 2, "dissatisfied" },
		{ "csat", 3, "neutral" }, { "csat", 4, "satisfied" }, { "csat", 5, "satisfied" },
		{ "csat", 6, "" },
		{ "ces", 0, "" }, { "ces", 1, "difficult" }, { "ces", 3, "difficult" },
		{ "ces", 4, "neutral" }, { "ces", 5, "easy" }, { "ces", 7, "easy" }, { "ces", 8, "" },
	};
	enum survey_kind k;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(kind_from_name(rows[i].kind, &k), 0);
		assert_string_equal(score_category(k, rows[i].score), rows[i].want);
	}
}

static void time_to_resolution_is_closed_minus_opened(void **state)
{
	static const struct { const char *opened, *closed; long long want; } rows[] = {
		{ "2026-11-22T10:00:00Z", "2026-11-22T10:12:30Z", 750 },
		{ "2026-11-22T10:00:00.250Z", "2026-11-22T10:00:01Z", 1 },
		{ "2026-11-22T23:30:00Z", "2026-11-23T00:30:00+00:00", 3600 },
		{ "2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z", 0 },
		{ "2026-11-22T10:00:01Z", "2026-11-22T10:00:00Z", -1 },    /* closed before opened */
		{ NULL, "2026-11-22T10:00:00Z", -1 },
		{ "2026-11-22T10:00:00Z", NULL, -1 },
		{ "yesterday", "2026-11-22T10:00:00Z", -1 },
		{ "2024-02-28T23:00:00Z", "2024-03-01T01:00:00Z", 26 * 3600 },     /* leap day */
		{ "1999-12-31T23:59:59Z", "2000-01-01T00:00:00Z", 1 },
		{ "2026-11-22T10:00:00Z", "2026-11-22T10:00:0xZ", -1 },
		{ "2026-13-22T10:00:00Z", "2026-11-22T10:00:00Z", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(interaction_ttr_seconds(rows[i].opened, rows[i].closed),
				 rows[i].want);
}

static void unknown_names_are_refused(void **state)
{
	static const char *const bad[] = { "NPS", "nps ", "", "star", "sms" };
	enum survey_kind k;
	enum channel c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kind_from_name(bad[i], &k), -1);
	assert_int_equal(kind_from_name(NULL, &k), -1);
	assert_int_equal(channel_from_name("SMS", &c), -1);
	assert_int_equal(channel_from_name("telegram", &c), -1);
	assert_int_equal(channel_from_name(NULL, &c), -1);
}

static void channels_round_trip(void **state)
{
	enum channel c;

	(void)state;
	assert_int_equal(channel_from_name("sms", &c), 0);
	assert_int_equal(c, CHANNEL_SMS);
	assert_int_equal(channel_from_name("whatsapp", &c), 0);
	assert_int_equal(c, CHANNEL_WHATSAPP);
	assert_string_equal(channel_name(CHANNEL_WHATSAPP), "whatsapp");
}

/* Logs never show a whole number: the country code and the last four digits at most. */
static void phones_are_masked_in_logs(void **state)
{
	static const struct { const char *in, *want; } rows[] = {
		{ "+34600111222", "+34*****1222" },
		{ "+14155552345", "+14*****2345" },
		{ "+491511234567890", "+49*********7890" },
		{ "+1234567", "+12*4567" },
		{ "+123456", "+12***" },
		{ "", "***" },
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		mask_phone(rows[i].in, out, sizeof(out));
		assert_string_equal(out, rows[i].want);
	}
}

static void errors_carry_status_code_field_and_message(void **state)
{
	struct gw_err err;

	(void)state;
	gw_err_clear(&err);
	assert_int_equal(gw_err_set(&err, 422, "invalid_phone", "customer.phone", "bad %s", "number"),
			 -1);
	assert_int_equal(err.http_status, 422);
	assert_string_equal(err.code, "invalid_phone");
	assert_string_equal(err.field, "customer.phone");
	assert_string_equal(err.msg, "bad number");
	assert_int_equal(gw_errf(&err, "%s", "other"), -1);
	assert_string_equal(err.msg, "other");
	assert_string_equal(err.code, "invalid_phone");
	assert_int_equal(gw_errf(NULL, "ignored"), -1);
	gw_err_clear(&err);
	assert_int_equal(err.http_status, 0);
	assert_string_equal(err.msg, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kinds_have_their_scales),
		cmocka_unit_test(scores_fall_in_their_categories),
		cmocka_unit_test(time_to_resolution_is_closed_minus_opened),
		cmocka_unit_test(unknown_names_are_refused),
		cmocka_unit_test(channels_round_trip),
		cmocka_unit_test(phones_are_masked_in_logs),
		cmocka_unit_test(errors_carry_status_code_field_and_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
