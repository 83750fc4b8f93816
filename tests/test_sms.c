/*
 * test_sms.c - SMS segment counting (gateway/sms.h, 3GPP TS 23.038 / 23.040).
 *
 * Each row builds a text from pieces repeated a number of times, so that the boundaries (160 / 153
 * septets, 70 / 67 UTF-16 units) are met exactly, and says which encoding it must need, how many
 * units and how many segments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sms.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A text: up to three pieces, each repeated `times`. */
struct piece {
	const char *s;
	size_t times;
};

struct sms_row {
	const char *what;
	struct piece p[3];
	int ucs2;
	size_t units;
	int segments;
};

#define E_ACUTE "\xC3\xA9"      /* é, GSM-7 */
#define A_ACUTE "\xC3\xA1"      /* á, not GSM-7 */
#define EURO "\xE2\x82\xAC"     /* €, GSM-7 extension table */
#define EMOJI "\xF0\x9F\x98\x80"        /* U+1F600, a surrogate pair in UTF-16 */

static const struct sms_row rows[] = {
	{ "empty", { { NULL, 0 } }, 0, 0, 0 },
	{ "one letter", { { "a", 1 } }, 0, 1, 1 },
	/* GSM-7: 160 in one segment, 153 per part after that */
	{ "159 GSM-7", { { "a", 159 } }, 0, 159, 1 },
	{ "160 GSM-7", { { "a", 160 } }, 0, 160, 1 },
	{ "161 GSM-7", { { "a", 161 } }, 0, 161, 2 },
	{ "306 GSM-7", { { "a", 306 } }, 0, 306, 2 },
	{ "307 GSM-7", { { "a", 307 } }, 0, 307, 3 },
	{ "459 GSM-7", { { "a", 459 } }, 0, 459, 3 },
	{ "460 GSM-7", { { "a", 460 } }, 0, 460, 4 },
	{ "ASCII punctuation", { { "@$_!\"#%&'()*+,-./:;<=>?", 1 } }, 0, 23, 1 },
	{ "newline and CR", { { "a\nb\r", 1 } }, 0, 4, 1 },
	/* the extension table: two septets each */
	{ "[", { { "[", 1 } }, 0, 2, 1 },
	{ "]", { { "]", 1 } }, 0, 2, 1 },
	{ "{", { { "{", 1 } }, 0, 2, 1 },
	{ "}", { { "}", 1 } }, 0, 2, 1 },
	{ "backslash", { { "\\", 1 } }, 0, 2, 1 },
	{ "^", { { "^", 1 } }, 0, 2, 1 },
	{ "~", { { "~", 1 } }, 0, 2, 1 },
	{ "|", { { "|", 1 } }, 0, 2, 1 },
	{ "euro", { { EURO, 1 } }, 0, 2, 1 },
	{ "all extension chars", { { "[]{}\\^~|" EURO, 1 } }, 0, 18, 1 },
	{ "158 + euro = 160", { { "a", 158 }, { EURO, 1 } }, 0, 160, 1 },
	{ "159 + euro = 161", { { "a", 159 }, { EURO, 1 } }, 0, 161, 2 },
	{ "80 braces = 160", { { "{", 80 } }, 0, 160, 1 },
	{ "81 braces = 162", { { "{", 81 } }, 0, 162, 2 },
	/* Latin letters of the GSM-7 default alphabet stay GSM-7, one septet each */
	{ "e acute", { { E_ACUTE, 1 } }, 0, 1, 1 },
	{ "n tilde", { { "\xC3\xB1", 1 } }, 0, 1, 1 },
	{ "u umlaut", { { "\xC3\xBC", 1 } }, 0, 1, 1 },
	{ "a grave", { { "\xC3\xA0", 1 } }, 0, 1, 1 },
	{ "inverted ?", { { "\xC2\xBF", 1 } }, 0, 1, 1 },
	{ "inverted !", { { "\xC2\xA1", 1 } }, 0, 1, 1 },
	{ "capital N tilde, E acute, C cedilla", { { "\xC3\x91\xC3\x89\xC3\x87", 1 } }, 0, 3, 1 },
	{ "pound, yen, section", { { "\xC2\xA3\xC2\xA5\xC2\xA7", 1 } }, 0, 3, 1 },
	{ "Greek capital Delta, Omega", { { "\xCE\x94\xCE\xA9", 1 } }, 0, 2, 1 },
	{ "Spanish question", { { "\xC2\xBFQu" E_ACUTE " tal? \xC2\xA1" "Ma\xC3\xB1" "ana!", 1 } },
	  0, 18, 1 },
	{ "160 e acute", { { E_ACUTE, 160 } }, 0, 160, 1 },
	{ "161 e acute", { { E_ACUTE, 161 } }, 0, 161, 2 },
	/* any other character makes the whole text UCS-2 */
	{ "a acute", { { A_ACUTE, 1 } }, 1, 1, 1 },
	{ "i acute", { { "\xC3\xAD", 1 } }, 1, 1, 1 },
	{ "o acute", { { "\xC3\xB3", 1 } }, 1, 1, 1 },
	{ "u acute", { { "\xC3\xBA", 1 } }, 1, 1, 1 },
	{ "c cedilla", { { "\xC3\xA7", 1 } }, 1, 1, 1 },
	{ "a tilde", { { "\xC3\xA3", 1 } }, 1, 1, 1 },
	{ "o tilde", { { "\xC3\xB5", 1 } }, 1, 1, 1 },
	{ "backtick", { { "`", 1 } }, 1, 1, 1 },
	{ "tab", { { "\t", 1 } }, 1, 1, 1 },
	{ "emoji: two UTF-16 units", { { EMOJI, 1 } }, 1, 2, 1 },
	{ "ASCII + a acute", { { "Ol", 1 }, { A_ACUTE, 1 } }, 1, 3, 1 },
	/* extension characters are one UTF-16 unit in a UCS-2 text */
	{ "euro in UCS-2", { { EURO "{", 1 }, { A_ACUTE, 1 } }, 1, 3, 1 },
	/* UCS-2: 70 in one segment, 67 per part after that */
	{ "70 UCS-2", { { A_ACUTE, 70 } }, 1, 70, 1 },
	{ "71 UCS-2", { { A_ACUTE, 71 } }, 1, 71, 2 },
	{ "134 UCS-2", { { A_ACUTE, 134 } }, 1, 134, 2 },
	{ "135 UCS-2", { { A_ACUTE, 135 } }, 1, 135, 3 },
	{ "201 UCS-2", { { A_ACUTE, 201 } }, 1, 201, 3 },
	{ "202 UCS-2", { { A_ACUTE, 202 } }, 1, 202, 4 },
	{ "159 ASCII + a acute", { { "a", 159 }, { A_ACUTE, 1 } }, 1, 160, 3 },
	{ "69 ASCII + a acute", { { "a", 69 }, { A_ACUTE, 1 } }, 1, 70, 1 },
	{ "35 emoji = 70 units", { { EMOJI, 35 } }, 1, 70, 1 },
	{ "36 emoji = 72 units", { { EMOJI, 36 } }, 1, 72, 2 },
	{ "69 ASCII + emoji = 71", { { "a", 69 }, { EMOJI, 1 } }, 1, 71, 2 },
	/* invalid UTF-8: each bad byte is one UCS-2 unit, and nothing is read past len */
	{ "lone continuation", { { "\x80", 1 } }, 1, 1, 1 },
	{ "0xFF", { { "\xFF", 1 } }, 1, 1, 1 },
	{ "truncated 2-byte", { { "ab\xC3", 1 } }, 1, 3, 1 },
	{ "truncated 4-byte", { { "\xF0\x9F\x98", 1 } }, 1, 3, 1 },
	{ "bad continuation", { { "\xC3(", 1 } }, 1, 2, 1 },
	{ "71 bad bytes", { { "\xFE", 71 } }, 1, 71, 2 },
};

/* Concatenates the row's pieces into a malloc'd buffer of exactly the text's length (no NUL:
 * ASan sees any read past len). */
static char *build(const struct sms_row *r, size_t *len)
{
	size_t n = 0, at = 0;
	char *s;

	for (size_t i = 0; i < ARRAY_LEN(r->p) && r->p[i].s; i++)
		n += strlen(r->p[i].s) * r->p[i].times;
	s = malloc(n ? n : 1);
	assert_non_null(s);
	for (size_t i = 0; i < ARRAY_LEN(r->p) && r->p[i].s; i++)
		for (size_t k = 0; k < r->p[i].times; k++) {
			memcpy(s + at, r->p[i].s, strlen(r->p[i].s));
			at += strlen(r->p[i].s);
		}
	*len = n;
	return s;
}

static void test_sms_count_table(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const struct sms_row *r = &rows[i];
		struct sms_count c = { .ucs2 = -1, .units = 999999, .segments = -1 };
		size_t len;
		char *text = build(r, &len);

		sms_count(text, len, &c);
		free(text);
		if (c.ucs2 != r->ucs2 || c.units != r->units || c.segments != r->segments)
			print_message("row %zu (%s): ucs2 %d units %zu segments %d, want %d %zu %d\n",
				      i, r->what, c.ucs2, c.units, c.segments, r->ucs2, r->units,
				      r->segments);
		assert_int_equal(c.ucs2, r->ucs2);
		assert_int_equal(c.units, r->units);
		assert_int_equal(c.segments, r->segments);
	}
}

/* Only `len` bytes count: a NUL-free buffer with more after it, and a text with a NUL inside. */
static void test_sms_count_reads_len_bytes_only(void **state)
{
	static const char text[] = "hello\xC3\xA1 world";
	struct sms_count c;

	sms_count(text, 5, &c);                 /* "hello": the á after it is not read */
	assert_int_equal(c.ucs2, 0);
	assert_int_equal(c.units, 5);
	assert_int_equal(c.segments, 1);

	sms_count(text, 0, &c);
	assert_int_equal(c.units, 0);
	assert_int_equal(c.segments, 0);
}

/*
 * A NUL byte inside len is a character, not a terminator, and GSM-7 has no U+0000 (its 0x00 is
 * '@'): like every other control character but CR and LF (a tab, U+0001) it makes the text UCS-2,
 * one unit.  It must not count as a two-septet extension character, which is what
 * strchr("[]{}\\^~|", 0) finding the string's own terminator would make of it.
 */
static void test_sms_count_nul_is_not_an_extension_char(void **state)
{
	static const char with_nul[] = "ab\0cd";
	static const char with_soh[] = "ab\1cd";
	struct sms_count c;

	sms_count(with_soh, sizeof(with_soh) - 1, &c);
	assert_int_equal(c.ucs2, 1);
	assert_int_equal(c.units, 5);

	sms_count(with_nul, sizeof(with_nul) - 1, &c);
	if (c.ucs2 != 1 || c.units != 5)
		print_message("\"ab\\0cd\": ucs2 %d units %zu, want ucs2 1 units 5 (as \"ab\\1cd\")\n",
			      c.ucs2, c.units);
	assert_int_equal(c.ucs2, 1);
	assert_int_equal(c.units, 5);
	assert_int_equal(c.segments, 1);
}

/* Random bytes never crash, and segments always agree with the units counted. */
static void test_sms_count_random_bytes(void **state)
{
	unsigned int seed = 12345;
	unsigned char buf[400];

	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		struct sms_count c;
		size_t per_one, per_part;
		int want;
		char *copy;

		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)rand_r(&seed);
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, buf, len);
		sms_count(copy, len, &c);
		free(copy);
		per_one = c.ucs2 ? 70 : 160;
		per_part = c.ucs2 ? 67 : 153;
		want = c.units == 0 ? 0 : c.units <= per_one ? 1 :
		       (int)((c.units + per_part - 1) / per_part);
		assert_int_equal(c.segments, want);
		assert_true(c.units <= 2 * len);
		assert_true(len == 0 || c.units > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sms_count_table),
		cmocka_unit_test(test_sms_count_reads_len_bytes_only),
		cmocka_unit_test(test_sms_count_nul_is_not_an_extension_char),
		cmocka_unit_test(test_sms_count_random_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
