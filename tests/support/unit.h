/*
 * unit.h - what the providers' unit tests share: row-naming expectations and fixture reading.
 * Include after <cmocka.h>.
 */
#ifndef GW_TESTS_UNIT_H
#define GW_TESTS_UNIT_H

#include <stddef.h>
#include <string.h>

/* Fails the test naming the table row and the member when got differs from want. */
#define EXPECT_STR(row, what, got, want)                                                    \
	do {                                                                                \
		const char *g_ = (got), *w_ = (want);                                       \
		if (!g_ || strcmp(g_, w_) != 0)                                             \
			fail_msg("%s: %s is \"%s\", want \"%s\"", (row), (what),            \
				 g_ ? g_ : "(null)", w_);                                   \
	} while (0)
#define EXPECT_INT(row, what, got, want)                                                    \
	do {                                                                                \
		long long g_ = (long long)(got), w_ = (long long)(want);                    \
		if (g_ != w_)                                                               \
			fail_msg("%s: %s is %lld, want %lld", (row), (what), g_, w_);       \
	} while (0)

/* The whole fixture `name` (from $FIXTURES, default tests/fixtures) as a malloc'd NUL-terminated
 * string; its length in *len.  Fails the test when it cannot be read. */
char *fixture_read(const char *name, size_t *len);

#endif
