/*
 * test_utf8.c - UTF-8 checks for text from the network (gateway/utf8.h).
 *
 * One row per byte sequence: whether utf8_valid() accepts it (RFC 3629: shortest form only, no
 * surrogates, nothing past U+10FFFF, and no NUL bytes) and what utf8_sanitize() turns it into:
 * valid text unchanged, every byte that does not start a valid sequence replaced by U+FFFD
 * (EF BF BD).  Inputs are copied into heap blocks of their exact length, so that under ASan a read
 * past `len` is caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define FFFD "\xEF\xBF\xBD"

struct row {
	const char *name;
	const char *in;
	size_t len;
	int valid;
	const char *out;        /* utf8_sanitize() result */
	size_t out_len;
};

#define OK(name, s)             { name, s, sizeof(s) - 1, 1, s, sizeof(s) - 1 }
#define BAD(name, s, o)         { name, s, sizeof(s) - 1, 0, o, sizeof(o) - 1 }

static const struct row rows[] = {
	OK("empty", ""),
	OK("ascii", "hello, 9"),
	OK("U+0001", "\x01"),
	OK("U+007F, last 1-byte", "\x7F"),
	OK("U+0080, first 2-byte", "\xC2\x80"),
	OK("U+00F1 n tilde", "\xC3\xB1"),
	OK("U+07FF, last 2-byte", "\xDF\xBF"),
	OK("U+0800, first 3-byte", "\xE0\xA0\x80"),
	OK("U+20AC euro", "\xE2\x82\xAC"),
	OK("U+D7FF, before the surrogates", "\xED\x9F\xBF"),
	OK("U+E000, after the surrogates", "\xEE\x80\x80"),
	OK("U+FFFD", FFFD),
	OK("U+FFFF, last 3-byte", "\xEF\xBF\xBF"),
	OK("U+10000, first 4-byte", "\xF0\x90\x80\x80"),
	OK("U+1F44D thumbs up", "\xF0\x9F\x91\x8D"),
	OK("U+10FFFF, last code point", "\xF4\x8F\xBF\xBF"),
	OK("mixed text", "lleg\xC3\xB3 tarde \xF0\x9F\x91\x8D, S\xC3\xA3o Paulo \xE2\x82\xAC"),

	/* NUL is refused even though it is well-formed UTF-8 */
	BAD("NUL", "\0", FFFD),
	BAD("NUL inside", "a\0b", "a" FFFD "b"),

	/* overlong forms */
	BAD("overlong NUL C0 80", "\xC0\x80", FFFD FFFD),
	BAD("overlong C1 BF", "\xC1\xBF", FFFD FFFD),
	BAD("overlong E0 80 80", "\xE0\x80\x80", FFFD FFFD FFFD),
	BAD("overlong E0 9F BF", "\xE0\x9F\xBF", FFFD FFFD FFFD),
	BAD("overlong F0 80 80 80", "\xF0\x80\x80\x80", FFFD FFFD FFFD FFFD),
	BAD("overlong F0 8F BF BF", "\xF0\x8F\xBF\xBF", FFFD FFFD FFFD FFFD),

	/* UTF-16 surrogates */
	BAD("surrogate U+D800 ED A0 80", "\xED\xA0\x80", FFFD FFFD FFFD),
	BAD("surrogate U+DFFF ED BF BF", "\xED\xBF\xBF", FFFD FFFD FFFD),
	BAD("surrogate pair", "\xED\xA0\xBD\xED\xB1\x8D", FFFD FFFD FFFD FFFD FFFD FFFD),

	/* past U+10FFFF and bytes that never occur */
	BAD("U+110000 F4 90 80 80", "\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD),
	BAD("F5 lead", "\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD),
	BAD("FE", "\xFE", FFFD),
	BAD("FF", "\xFF", FFFD),
	BAD("FF FE (UTF-16 BOM)", "\xFF\xFE", FFFD FFFD),

	/* lone continuation bytes */
	BAD("lone 80", "\x80", FFFD),
	BAD("lone BF", "\xBF", FFFD),
	BAD("continuation between ascii", "a\x80" "b", "a" FFFD "b"),
	BAD("two continuations", "\x80\x80", FFFD FFFD),

	/* sequences cut short, at the end and in the middle */
	BAD("2-byte lead at end", "\xC3", FFFD),
	BAD("3-byte lead + 1 at end", "\xE2\x82", FFFD FFFD),
	BAD("4-byte lead + 2 at end", "\xF0\x9F\x91", FFFD FFFD FFFD),
	BAD("valid then cut at end", "ok \xC3\xB1\xC3", "ok \xC3\xB1" FFFD),
	BAD("2-byte lead then ascii", "\xC3" "A", FFFD "A"),
	BAD("3-byte lead, bad third byte", "\xE2\x82(", FFFD FFFD "("),
	BAD("3-byte lead, bad second byte", "\xE2(\xA1", FFFD "(" FFFD),
	BAD("4-byte lead then valid 2-byte", "\xF0\xC3\xB1", FFFD "\xC3\xB1"),
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* A heap copy of exactly len bytes (at least one byte allocated so malloc(0) is not a question). */
static char *exact_copy(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static void test_valid(void **state)
{
	for (size_t i = 0; i < N_ROWS; i++) {
		char *in = exact_copy(rows[i].in, rows[i].len);
		int got = utf8_valid(in, rows[i].len);

		if (got != rows[i].valid)
			print_message("row %zu (%s): utf8_valid = %d, want %d\n", i, rows[i].name, got,
				      rows[i].valid);
		assert_int_equal(got, rows[i].valid);
		free(in);
	}
}

static void test_sanitize(void **state)
{
	for (size_t i = 0; i < N_ROWS; i++) {
		char *in = exact_copy(rows[i].in, rows[i].len);
		size_t out_len = (size_t)-1;
		char *out = utf8_sanitize(in, rows[i].len, &out_len);

		assert_non_null(out);
		if (out_len != rows[i].out_len || memcmp(out, rows[i].out, out_len) != 0)
			print_message("row %zu (%s): sanitized to %zu bytes, want %zu\n", i, rows[i].name,
				      out_len, rows[i].out_len);
		assert_int_equal(out_len, rows[i].out_len);
		assert_memory_equal(out, rows[i].out, out_len);
		assert_int_equal(out[out_len], '\0');
		/* whatever came in, what comes out is valid */
		assert_int_equal(utf8_valid(out, out_len), 1);
		free(out);
		free(in);
	}
}

/* Valid text is returned byte for byte, so sanitizing twice changes nothing. */
static void test_sanitize_is_idempotent(void **state)
{
	for (size_t i = 0; i < N_ROWS; i++) {
		size_t len1, len2;
		char *once = utf8_sanitize(rows[i].in, rows[i].len, &len1);
		char *twice;

		assert_non_null(once);
		twice = utf8_sanitize(once, len1, &len2);
		assert_non_null(twice);
		assert_int_equal(len2, len1);
		assert_memory_equal(twice, once, len1);
		free(twice);
		free(once);
	}
}

/* Only `len` bytes count: a sequence cut by len is invalid; bytes after len are ignored. */
static void test_len_bounds_the_input(void **state)
{
	static const char s[] = "\xC3\xB1\xFF";

	assert_int_equal(utf8_valid(s, 2), 1);
	assert_int_equal(utf8_valid(s, 3), 0);
	assert_int_equal(utf8_valid(s, 1), 0);
	assert_int_equal(utf8_valid(s, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_is_idempotent),
		cmocka_unit_test(test_len_bounds_the_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
