/*
 * test_localtime.c - quiet hours in the customer's time zone (lib/localtime.h).
 *
 * Expected instants are Unix seconds computed outside the code under test, with
 * `TZ=<zone> date -d '<local time>' +%s` (tzdata 2024+), and written here with the local times they
 * stand for.  A second test checks the "first allowed moment" contract minute by minute against
 * UTC offsets written out by hand (fixed zones, and Madrid's 2026 transitions), so it does not
 * use the C library's time-zone code either.  Then: the process's TZ variable is left as it was,
 * and calls from several threads at once each get their own zone.
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

#include "config.h"
#include "localtime.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static struct clock_span span_of(const char *text)
{
	struct clock_span s;
	struct gw_err err = { 0 };

	if (config_parse_clock_span(text, &s, &err) != 0)
		fail_msg("config_parse_clock_span(\"%s\"): %s", text, err.msg);
	return s;
}

/* ---- the table ------------------------------------------------------------------------- */

struct quiet_row {
	const char *tz;
	const char *span;
	int64_t t;
	int64_t want;           /* == t: allowed as it is */
};

static const struct quiet_row rows[] = {
	/* 2026-06-10 23:30:00 CEST -> 2026-06-11 09:00:00 CEST: before midnight: next day */
	{ "Europe/Madrid", "21:00-09:00", 1781127000, 1781161200 },
	/* 2026-06-10 23:30:45 CEST -> 2026-06-11 09:00:00 CEST: seconds are dropped at the end */
	{ "Europe/Madrid", "21:00-09:00", 1781127045, 1781161200 },
	/* 2026-06-10 21:00:00 CEST -> 2026-06-11 09:00:00 CEST: the start minute is inside */
	{ "Europe/Madrid", "21:00-09:00", 1781118000, 1781161200 },
	/* 2026-06-10 00:00:00 CEST -> 2026-06-10 09:00:00 CEST: midnight: same day */
	{ "Europe/Madrid", "21:00-09:00", 1781042400, 1781074800 },
	/* 2026-06-10 02:00:00 CEST -> 2026-06-10 09:00:00 CEST: after midnight: same day */
	{ "Europe/Madrid", "21:00-09:00", 1781049600, 1781074800 },
	/* 2026-06-10 08:59:59 CEST -> 2026-06-10 09:00:00 CEST: last second inside */
	{ "Europe/Madrid", "21:00-09:00", 1781074799, 1781074800 },
	/* 2026-06-10 09:00:00 CEST -> 2026-06-10 09:00:00 CEST: the end minute is outside */
	{ "Europe/Madrid", "21:00-09:00", 1781074800, 1781074800 },
	/* 2026-06-10 09:00:30 CEST -> 2026-06-10 09:00:30 CEST: inside the end minute */
	{ "Europe/Madrid", "21:00-09:00", 1781074830, 1781074830 },
	/* 2026-06-10 12:00:00 CEST -> 2026-06-10 12:00:00 CEST: outside */
	{ "Europe/Madrid", "21:00-09:00", 1781085600, 1781085600 },
	/* 2026-06-10 20:59:59 CEST -> 2026-06-10 20:59:59 CEST: just before the start */
	{ "Europe/Madrid", "21:00-09:00", 1781117999, 1781117999 },
	/* 2026-12-31 23:59:00 CET -> 2027-01-01 09:00:00 CET: across the year */
	{ "Europe/Madrid", "21:00-09:00", 1798757940, 1798790400 },
	/* 2026-06-10 23:30:00 CST -> 2026-06-11 09:00:00 CST: UTC-6 */
	{ "America/Mexico_City", "21:00-09:00", 1781155800, 1781190000 },
	/* 2026-06-10 02:00:00 CST -> 2026-06-10 09:00:00 CST */
	{ "America/Mexico_City", "21:00-09:00", 1781078400, 1781103600 },
	/* 2026-06-10 10:00:00 CST -> 2026-06-10 10:00:00 CST */
	{ "America/Mexico_City", "21:00-09:00", 1781107200, 1781107200 },
	/* 2026-06-10 09:00:00 CST -> 2026-06-10 09:00:00 CST */
	{ "America/Mexico_City", "21:00-09:00", 1781103600, 1781103600 },
	/* 2026-12-31 22:15:00 -03 -> 2027-01-01 09:00:00 -03: UTC-3, across the year */
	{ "America/Sao_Paulo", "21:00-09:00", 1798766100, 1798804800 },
	/* 2026-06-10 06:45:00 -03 -> 2026-06-10 09:00:00 -03 */
	{ "America/Sao_Paulo", "21:00-09:00", 1781084700, 1781092800 },
	/* 2026-06-10 09:00:00 -03 -> 2026-06-10 09:00:00 -03 */
	{ "America/Sao_Paulo", "21:00-09:00", 1781092800, 1781092800 },
	/* 2026-06-10 20:00:00 -03 -> 2026-06-10 20:00:00 -03 */
	{ "America/Sao_Paulo", "21:00-09:00", 1781132400, 1781132400 },
	/* 2026-06-10 23:30:00 IST -> 2026-06-11 09:00:00 IST: UTC+5:30 */
	{ "Asia/Kolkata", "21:00-09:00", 1781114400, 1781148600 },
	/* 2026-06-10 02:00:00 IST -> 2026-06-10 09:00:00 IST */
	{ "Asia/Kolkata", "21:00-09:00", 1781037000, 1781062200 },
	/* 2026-06-10 18:00:00 IST -> 2026-06-10 18:00:00 IST */
	{ "Asia/Kolkata", "21:00-09:00", 1781094600, 1781094600 },
	/* 2026-06-10 09:00:00 IST -> 2026-06-10 09:00:00 IST */
	{ "Asia/Kolkata", "21:00-09:00", 1781062200, 1781062200 },
	/* 2026-06-10 23:30:00 UTC -> 2026-06-11 09:00:00 UTC */
	{ "UTC", "21:00-09:00", 1781134200, 1781168400 },
	/* 2026-06-10 02:00:00 UTC -> 2026-06-10 09:00:00 UTC */
	{ "UTC", "21:00-09:00", 1781056800, 1781082000 },
	/* 2026-06-10 09:00:00 UTC -> 2026-06-10 09:00:00 UTC */
	{ "UTC", "21:00-09:00", 1781082000, 1781082000 },
	/* 2026-06-10 15:00:00 UTC -> 2026-06-10 15:00:00 UTC */
	{ "UTC", "21:00-09:00", 1781103600, 1781103600 },
	/* 2026-06-10 13:00:00 CEST -> 2026-06-10 15:00:00 CEST: a span within the day */
	{ "Europe/Madrid", "13:00-15:00", 1781089200, 1781096400 },
	/* 2026-06-10 14:59:00 CEST -> 2026-06-10 15:00:00 CEST */
	{ "Europe/Madrid", "13:00-15:00", 1781096340, 1781096400 },
	/* 2026-06-10 15:00:00 CEST -> 2026-06-10 15:00:00 CEST */
	{ "Europe/Madrid", "13:00-15:00", 1781096400, 1781096400 },
	/* 2026-06-10 12:59:00 CEST -> 2026-06-10 12:59:00 CEST */
	{ "Europe/Madrid", "13:00-15:00", 1781089140, 1781089140 },
	/* 2026-06-10 23:30:00 CEST -> 2026-06-10 23:30:00 CEST: never the next day */
	{ "Europe/Madrid", "13:00-15:00", 1781127000, 1781127000 },
	/* 2026-06-10 02:00:00 CEST -> 2026-06-10 02:00:00 CEST */
	{ "Europe/Madrid", "13:00-15:00", 1781049600, 1781049600 },
	/* 2026-06-10 13:30:00 CST -> 2026-06-10 15:00:00 CST */
	{ "America/Mexico_City", "13:00-15:00", 1781119800, 1781125200 },
	/* 2026-06-10 16:00:00 CST -> 2026-06-10 16:00:00 CST */
	{ "America/Mexico_City", "13:00-15:00", 1781128800, 1781128800 },
	/* 2026-06-10 14:00:00 -03 -> 2026-06-10 15:00:00 -03 */
	{ "America/Sao_Paulo", "13:00-15:00", 1781110800, 1781114400 },
	/* 2026-06-10 16:00:00 -03 -> 2026-06-10 16:00:00 -03 */
	{ "America/Sao_Paulo", "13:00-15:00", 1781118000, 1781118000 },
	/* 2026-06-10 14:10:00 IST -> 2026-06-10 15:00:00 IST */
	{ "Asia/Kolkata", "13:00-15:00", 1781080800, 1781083800 },
	/* 2026-06-10 15:00:00 IST -> 2026-06-10 15:00:00 IST */
	{ "Asia/Kolkata", "13:00-15:00", 1781083800, 1781083800 },
	/* 2026-06-10 13:00:00 UTC -> 2026-06-10 15:00:00 UTC */
	{ "UTC", "13:00-15:00", 1781096400, 1781103600 },
	/* 2026-06-10 12:00:00 UTC -> 2026-06-10 12:00:00 UTC */
	{ "UTC", "13:00-15:00", 1781092800, 1781092800 },
	/* 2026-03-28 23:30:00 CET -> 2026-03-29 09:00:00 CEST: spring forward */
	{ "Europe/Madrid", "21:00-09:00", 1774737000, 1774767600 },
	/* 2026-03-29 01:30:00 CET -> 2026-03-29 09:00:00 CEST: before the jump */
	{ "Europe/Madrid", "21:00-09:00", 1774744200, 1774767600 },
	/* 2026-03-29 03:00:00 CEST -> 2026-03-29 09:00:00 CEST: right after the jump */
	{ "Europe/Madrid", "21:00-09:00", 1774746000, 1774767600 },
	/* 2026-03-29 21:30:00 CEST -> 2026-03-30 09:00:00 CEST */
	{ "Europe/Madrid", "21:00-09:00", 1774812600, 1774854000 },
	/* 2026-03-29 12:00:00 CEST -> 2026-03-29 12:00:00 CEST */
	{ "Europe/Madrid", "21:00-09:00", 1774778400, 1774778400 },
	/* 2026-03-29 14:00:00 CEST -> 2026-03-29 15:00:00 CEST */
	{ "Europe/Madrid", "13:00-15:00", 1774785600, 1774789200 },
	/* 2026-10-24 23:30:00 CEST -> 2026-10-25 09:00:00 CET: fall back */
	{ "Europe/Madrid", "21:00-09:00", 1792877400, 1792915200 },
	/* 2026-10-25 02:30:00 CEST -> 2026-10-25 09:00:00 CET: 02:30 CEST, the first time */
	{ "Europe/Madrid", "21:00-09:00", 1792888200, 1792915200 },
	/* 2026-10-25 02:30:00 CET -> 2026-10-25 09:00:00 CET: 02:30 CET, the second time */
	{ "Europe/Madrid", "21:00-09:00", 1792891800, 1792915200 },
	/* 2026-10-25 04:00:00 CET -> 2026-10-25 09:00:00 CET */
	{ "Europe/Madrid", "21:00-09:00", 1792897200, 1792915200 },
	/* 2026-10-25 22:00:00 CET -> 2026-10-26 09:00:00 CET */
	{ "Europe/Madrid", "21:00-09:00", 1792962000, 1793001600 },
	/* 2026-10-25 09:00:00 CET -> 2026-10-25 09:00:00 CET */
	{ "Europe/Madrid", "21:00-09:00", 1792915200, 1792915200 },
	/* 2026-10-25 13:45:00 CET -> 2026-10-25 15:00:00 CET */
	{ "Europe/Madrid", "13:00-15:00", 1792932300, 1792936800 },
};

static void test_quiet_hours_table(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const struct quiet_row *r = &rows[i];
		struct clock_span s = span_of(r->span);
		int64_t got = quiet_hours_next_allowed(r->t, &s, r->tz);

		if (got != r->want)
			print_message("row %zu (%s, quiet %s, t %lld): got %lld (%+lld s), want %lld"
				      " (%+lld s)\n", i, r->tz, r->span, (long long)r->t,
				      (long long)got, (long long)(got - r->t), (long long)r->want,
				      (long long)(r->want - r->t));
		assert_int_equal(got, r->want);
		assert_true(got >= r->t);
	}
}

/* "off" never moves anything, whatever the zone and hour. */
static void test_quiet_hours_off(void **state)
{
	struct clock_span off = span_of("off");

	assert_int_equal(off.off, 1);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++)
		assert_int_equal(quiet_hours_next_allowed(rows[i].t, &off, rows[i].tz), rows[i].t);
	/* an "off" span keeps whatever minutes it holds out of the decision */
	off.start_min = 0;
	off.end_min = 23 * 60 + 59;
	assert_int_equal(quiet_hours_next_allowed(1781127000, &off, "UTC"), 1781127000);
}

/* ---- the contract, minute by minute ------------------------------------------------------ */

/* Madrid's 2026 transitions: 2026-03-29 01:00:00Z and 2026-10-25 01:00:00Z. */
#define MADRID_SUMMER_START 1774746000
#define MADRID_SUMMER_END 1792890000

/* UTC offset in seconds of `tz` at `t`, written out by hand for the zones and years used. */
static int64_t utc_offset(const char *tz, int64_t t)
{
	if (strcmp(tz, "Europe/Madrid") == 0)
		return t >= MADRID_SUMMER_START && t < MADRID_SUMMER_END ? 7200 : 3600;
	if (strcmp(tz, "America/Mexico_City") == 0)
		return -6 * 3600;       /* no DST since 2022 */
	if (strcmp(tz, "America/Sao_Paulo") == 0)
		return -3 * 3600;       /* no DST since 2019 */
	if (strcmp(tz, "Asia/Kolkata") == 0)
		return 5 * 3600 + 1800;
	return 0;
}

static int local_minute(const char *tz, int64_t t)
{
	int64_t local = t + utc_offset(tz, t);

	return (int)(((local % 86400) + 86400) % 86400 / 60);
}

static int quiet_at(const struct clock_span *s, const char *tz, int64_t t)
{
	int m = local_minute(tz, t);

	return s->start_min < s->end_min ? m >= s->start_min && m < s->end_min
					 : m >= s->start_min || m < s->end_min;
}

/*
 * Around both of Madrid's 2026 changes and on an ordinary day, every 7 minutes and 13 seconds, in
 * every zone and for both spans: the result is t when t is allowed; otherwise it is later than t,
 * on a whole local minute, allowed, and every minute from t to it is quiet (so it is the first
 * allowed moment, and never earlier than t).
 */
static void test_quiet_hours_first_allowed_moment(void **state)
{
	static const char *const zones[] = { "Europe/Madrid", "America/Mexico_City",
					     "America/Sao_Paulo", "Asia/Kolkata", "UTC" };
	static const char *const spans[] = { "21:00-09:00", "13:00-15:00", "00:00-06:30" };
	static const int64_t from[] = { 1774569600, 1792713600, 1781049600 };  /* 03-27, 10-23, 06-10 */
	size_t checked = 0;

	for (size_t z = 0; z < ARRAY_LEN(zones); z++)
		for (size_t k = 0; k < ARRAY_LEN(spans); k++) {
			struct clock_span s = span_of(spans[k]);

			for (size_t d = 0; d < ARRAY_LEN(from); d++)
				for (int64_t t = from[d]; t < from[d] + 4 * 86400; t += 7 * 60 + 13) {
					int64_t r = quiet_hours_next_allowed(t, &s, zones[z]);
					int ok = r >= t && !quiet_at(&s, zones[z], r) &&
						 (r == t || ((r + utc_offset(zones[z], r)) % 60 == 0 &&
							     quiet_at(&s, zones[z], t)));

					for (int64_t m = t; ok && m < r; m += 60)
						ok = quiet_at(&s, zones[z], m);
					if (!ok)
						fail_msg("%s, quiet %s, t %lld: got %lld (%+lld s)", zones[z],
							 spans[k], (long long)t, (long long)r,
							 (long long)(r - t));
					checked++;
				}
		}
	assert_true(checked > 10000);
}

/*
 * A span that ends inside the hour a DST change skips or repeats.  On 2026-03-29 Madrid's clocks
 * jump from 01:59:59 CET to 03:00 CEST, so "22:00-02:30" ends at 03:00 CEST (1774746000), the first
 * allowed moment; on 2026-10-25 they go back from 02:59:59 CEST to 02:00 CET, and 02:30 CEST
 * (1792888200) comes first.  The header promises "the first moment at or after t that is outside
 * quiet".
 */
static const struct quiet_row dst_edge_rows[] = {
	/* 2026-03-29 01:30 CET -> 03:00 CEST (02:30 does not exist that day) */
	{ "Europe/Madrid", "22:00-02:30", 1774744200, 1774746000 },
	/* 2026-10-25 01:00 CEST -> 02:30 CEST, the first of the two 02:30s */
	{ "Europe/Madrid", "22:00-02:30", 1792882800, 1792888200 },
	/* 2026-10-25 02:10 CEST (first time) -> 02:30 CEST */
	{ "Europe/Madrid", "22:00-02:30", 1792887000, 1792888200 },
	/* 2026-10-25 02:10 CET (second time) -> 02:30 CET */
	{ "Europe/Madrid", "22:00-02:30", 1792890600, 1792891800 },
};

static void test_quiet_hours_span_ending_in_the_dst_hour(void **state)
{
	int failed = 0;

	for (size_t i = 0; i < ARRAY_LEN(dst_edge_rows); i++) {
		const struct quiet_row *r = &dst_edge_rows[i];
		struct clock_span s = span_of(r->span);
		int64_t got = quiet_hours_next_allowed(r->t, &s, r->tz);

		if (got != r->want) {
			print_message("row %zu (%s, quiet %s, t %lld): got %lld (%+lld s), want %lld"
				      " (%+lld s)\n", i, r->tz, r->span, (long long)r->t,
				      (long long)got, (long long)(got - r->t), (long long)r->want,
				      (long long)(r->want - r->t));
			failed++;
		}
		assert_true(got >= r->t);
	}
	assert_int_equal(failed, 0);
}

/* ---- the process's TZ ------------------------------------------------------------------ */

/* The zone this process converts in now, as its UTC offset at t. */
static long process_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	tzset();
	localtime_r(&tt, &tm);
	return tm.tm_gmtoff;
}

static void test_tz_variable_restored(void **state)
{
	static const char *const before[] = { "America/Sao_Paulo", "UTC", "", NULL };
	struct clock_span s = span_of("21:00-09:00");
	const int64_t t = 1781127000;   /* 23:30 in Madrid, 02:30 in Kolkata: quiet in both */
	char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	for (size_t i = 0; i < ARRAY_LEN(before); i++) {
		const char *now;

		if (before[i])
			assert_int_equal(setenv("TZ", before[i], 1), 0);
		else
			assert_int_equal(unsetenv("TZ"), 0);
		tzset();
		assert_int_equal(quiet_hours_next_allowed(t, &s, "Europe/Madrid"), 1781161200);
		assert_int_equal(quiet_hours_next_allowed(t, &s, "Asia/Kolkata"), 1781148600);
		now = getenv("TZ");
		if (before[i]) {
			assert_non_null(now);
			assert_string_equal(now, before[i]);
		} else {
			assert_null(now);
		}
		/* and the C library converts in that zone again, not the last one asked for */
		if (before[i] && strcmp(before[i], "America/Sao_Paulo") == 0)
			assert_int_equal(process_offset(t), -3 * 3600);
		else if (before[i])
			assert_int_equal(process_offset(t), 0);
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

/* ---- threads ------------------------------------------------------------------------------ */

struct worker {
	size_t first;           /* the row this thread starts at */
	int mismatches;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (size_t n = 0; n < 300; n++) {
		const struct quiet_row *r = &rows[(w->first + n * 7) % ARRAY_LEN(rows)];
		struct clock_span s = span_of(r->span);

		if (quiet_hours_next_allowed(r->t, &s, r->tz) != r->want)
			w->mismatches++;
	}
	return NULL;
}

/* Four threads converting in different zones at once each get their own zone's answer. */
static void test_threads_do_not_mix_zones(void **state)
{
	pthread_t th[4];
	struct worker w[4];

	for (size_t i = 0; i < ARRAY_LEN(th); i++) {
		w[i] = (struct worker){ .first = i * 11 };
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (size_t i = 0; i < ARRAY_LEN(th); i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].mismatches, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_hours_table),
		cmocka_unit_test(test_quiet_hours_off),
		cmocka_unit_test(test_quiet_hours_first_allowed_moment),
		cmocka_unit_test(test_quiet_hours_span_ending_in_the_dst_hour),
		cmocka_unit_test(test_tz_variable_restored),
		cmocka_unit_test(test_threads_do_not_mix_zones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
