/*
 * test_dispatcher.c - the retry schedule.  (Sending itself is exercised end to end against a fake
 * Twilio in test_e2e_twilio.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dispatcher.h"

struct backoff_case {
	int64_t base_ms, cap_ms;
	int attempt;
	uint32_t rnd;
	int64_t want_ms;
};

static void backoff_follows_full_jitter_with_cap_and_floor(void **state)
{
	static const struct backoff_case cases[] = {
		/* rnd = 2^31 is half the ceiling; the ceiling doubles per attempt */
		{ 2000, 600000, 1, 0x80000000u, 1000 },
		{ 2000, 600000, 2, 0x80000000u, 2000 },
		{ 2000, 600000, 3, 0x80000000u, 4000 },
		{ 2000, 600000, 4, 0x80000000u, 8000 },
		/* capped: 2000 * 2^19 is far past 10 minutes */
		{ 2000, 600000, 20, 0x80000000u, 300000 },
		{ 2000, 600000, 1000, 0xFFFFFFFFu, 599999 },
		/* never below one second, even with rnd 0 */
		{ 2000, 600000, 1, 0, 1000 },
		{ 100, 600000, 1, 0xFFFFFFFFu, 1000 },
		/* a cap below the base wins */
		{ 5000, 3000, 1, 0xFFFFFFFFu, 2999 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct backoff_case *c = &cases[i];

		assert_int_equal(dispatcher_backoff_ms(c->base_ms, c->cap_ms, c->attempt, c->rnd),
				 c->want_ms);
	}
}

static void backoff_never_exceeds_cap(void **state)
{
	(void)state;
	for (int attempt = 1; attempt < 70; attempt++)
		for (uint32_t r = 0; r < 0xF0000000u; r += 0x10000001u)
			assert_true(dispatcher_backoff_ms(2000, 600000, attempt, r) <= 600000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_follows_full_jitter_with_cap_and_floor),
		cmocka_unit_test(backoff_never_exceeds_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
