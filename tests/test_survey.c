/*
 * test_survey.c - the shared vocabulary: kinds and their scales, channels; and the small helpers
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
#include "survey.h"

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
		cmocka_unit_test(unknown_names_are_refused),
		cmocka_unit_test(channels_round_trip),
		cmocka_unit_test(phones_are_masked_in_logs),
		cmocka_unit_test(errors_carry_status_code_field_and_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
