/*
 * test_utf8.c - UTF-8 checks for text from the network (lib/utf8.h).
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

/* ---- utf8_decode() ------------------------------------------------------------------------- */

static const struct decode_row {
	const char *name;
	const char *in;
	size_t len;             /* bytes given to utf8_decode() */
	size_t want_len;        /* 0: no sequence starts there */
	uint32_t want_cp;
} decode_rows[] = {
	{ "ascii", "9x", 2, 1, 0x39 },
	{ "U+0080", "\xC2\x80", 2, 2, 0x80 },
	{ "U+0669 arabic-indic nine", "\xD9\xA9", 2, 2, 0x669 },
	{ "U+07FF", "\xDF\xBF", 2, 2, 0x7FF },
	{ "U+0800", "\xE0\xA0\x80", 3, 3, 0x800 },
	{ "U+096F devanagari nine", "\xE0\xA5\xAF", 3, 3, 0x96F },
	{ "U+FF19 fullwidth nine", "\xEF\xBC\x99", 3, 3, 0xFF19 },
	{ "U+FFFF", "\xEF\xBF\xBF", 3, 3, 0xFFFF },
	{ "U+10000", "\xF0\x90\x80\x80", 4, 4, 0x10000 },
	{ "U+1D7D7 mathematical bold nine", "\xF0\x9D\x9F\x97", 4, 4, 0x1D7D7 },
	{ "U+10FFFF", "\xF4\x8F\xBF\xBF", 4, 4, 0x10FFFF },
	{ "only the first sequence", "\xD9\xA9\xD9\xA9", 4, 2, 0x669 },
	{ "empty", "", 0, 0, 0 },
	{ "NUL", "\0", 1, 0, 0 },
	{ "cut by len", "\xE0\xA5\xAF", 2, 0, 0 },
	{ "lone continuation", "\x80", 1, 0, 0 },
	{ "overlong", "\xC0\xB9", 2, 0, 0 },
	{ "surrogate", "\xED\xA0\x80", 3, 0, 0 },
	{ "past U+10FFFF", "\xF4\x90\x80\x80", 4, 0, 0 },
};

static void test_decode(void **state)
{
	for (size_t i = 0; i < sizeof(decode_rows) / sizeof(decode_rows[0]); i++) {
		const struct decode_row *r = &decode_rows[i];
		char *in = exact_copy(r->in, r->len);
		uint32_t cp = 0xDEADBEEF;
		size_t n = utf8_decode(in, r->len, &cp);

		if (n != r->want_len || (n && cp != r->want_cp))
			print_message("row %zu (%s): %zu bytes, U+%04X\n", i, r->name, n,
				      (unsigned)cp);
		assert_int_equal(n, r->want_len);
		if (n)
			assert_int_equal(cp, r->want_cp);
		free(in);
	}
}

/* cp as UTF-8 into buf (4 bytes); its length. */
static size_t encode(uint32_t cp, char *buf)
{
	unsigned char *b = (unsigned char *)buf;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	b[0] = (unsigned char)(0xF0 | cp >> 18);
	b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
	b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
	b[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Every scalar value, as UTF-8 in a block of its exact size, decodes to itself. */
static void test_decode_every_code_point(void **state)
{
	char buf[4];

	for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
		size_t n;
		uint32_t got = 0;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		n = encode(cp, buf);
		if (utf8_decode(buf, n, &got) != n || got != cp)
			print_message("U+%04X decodes to U+%04X\n", (unsigned)cp, (unsigned)got);
		assert_int_equal(utf8_decode(buf, n, &got), n);
		assert_int_equal(got, cp);
	}
}

/* ---- utf8_digit_value() -------------------------------------------------------------------- */

/*
 * The general category Nd ranges of Unicode 17.0, as DerivedGeneralCategory.txt lists them (a
 * range may hold several sets of ten: U+116D0..U+116E3, U+1D7CE..U+1D7FF), written out apart
 * from the table in lib/utf8.c so that each checks the other.
 */
static const struct { uint32_t first, last; } nd_ranges[] = {
	{ 0x0030, 0x0039 }, { 0x0660, 0x0669 }, { 0x06F0, 0x06F9 }, { 0x07C0, 0x07C9 },
	{ 0x0966, 0x096F }, { 0x09E6, 0x09EF }, { 0x0A66, 0x0A6F }, { 0x0AE6, 0x0AEF },
	{ 0x0B66, 0x0B6F }, { 0x0BE6, 0x0BEF }, { 0x0C66, 0x0C6F }, { 0x0CE6, 0x0CEF },
	{ 0x0D66, 0x0D6F }, { 0x0DE6, 0x0DEF }, { 0x0E50, 0x0E59 }, { 0x0ED0, 0x0ED9 },
	{ 0x0F20, 0x0F29 }, { 0x1040, 0x1049 }, { 0x1090, 0x1099 }, { 0x17E0, 0x17E9 },
	{ 0x1810, 0x1819 }, { 0x1946, 0x194F }, { 0x19D0, 0x19D9 }, { 0x1A80, 0x1A89 },
	{ 0x1A90, 0x1A99 }, { 0x1B50, 0x1B59 }, { 0x1BB0, 0x1BB9 }, { 0x1C40, 0x1C49 },
	{ 0x1C50, 0x1C59 }, { 0xA620, 0xA629 }, { 0xA8D0, 0xA8D9 }, { 0xA900, 0xA909 },
	{ 0xA9D0, 0xA9D9 }, { 0xA9F0, 0xA9F9 }, { 0xAA50, 0xAA59 }, { 0xABF0, 0xABF9 },
	{ 0xFF10, 0xFF19 }, { 0x104A0, 0x104A9 }, { 0x10D30, 0x10D39 }, { 0x10D40, 0x10D49 },
	{ 0x11066, 0x1106F }, { 0x110F0, 0x110F9 }, { 0x11136, 0x1113F }, { 0x111D0, 0x111D9 },
	{ 0x112F0, 0x112F9 }, { 0x11450, 0x11459 }, { 0x114D0, 0x114D9 }, { 0x11650, 0x11659 },
	{ 0x116C0, 0x116C9 }, { 0x116D0, 0x116E3 }, { 0x11730, 0x11739 }, { 0x118E0, 0x118E9 },
	{ 0x11950, 0x11959 }, { 0x11BF0, 0x11BF9 }, { 0x11C50, 0x11C59 }, { 0x11D50, 0x11D59 },
	{ 0x11DA0, 0x11DA9 }, { 0x11DE0, 0x11DE9 }, { 0x11F50, 0x11F59 }, { 0x16130, 0x16139 },
	{ 0x16A60, 0x16A69 }, { 0x16AC0, 0x16AC9 }, { 0x16B50, 0x16B59 }, { 0x16D70, 0x16D79 },
	{ 0x1CCF0, 0x1CCF9 }, { 0x1D7CE, 0x1D7FF }, { 0x1E140, 0x1E149 }, { 0x1E2F0, 0x1E2F9 },
	{ 0x1E4F0, 0x1E4F9 }, { 0x1E5F1, 0x1E5FA }, { 0x1E950, 0x1E959 }, { 0x1FBF0, 0x1FBF9 },
};

#define N_ND_RANGES (sizeof(nd_ranges) / sizeof(nd_ranges[0]))

/*
 * Every code point from U+0000 to U+10FFFF and a little past it: each Nd one reads as its place
 * in its range modulo ten and names its set's 0; every other one, the neighbours just before and
 * after each range included, is no digit.
 */
static void test_digit_every_code_point(void **state)
{
	size_t r = 0, digits = 0;

	for (uint32_t cp = 0; cp <= 0x110010; cp++) {
		int want = -1, got;
		uint32_t zero = 0xDEADBEEF;

		while (r < N_ND_RANGES && nd_ranges[r].last < cp)
			r++;
		if (r < N_ND_RANGES && cp >= nd_ranges[r].first)
			want = (int)((cp - nd_ranges[r].first) % 10);
		got = utf8_digit_value(cp, &zero);
		if (got != want)
			print_message("U+%04X: %d, want %d\n", (unsigned)cp, got, want);
		assert_int_equal(got, want);
		if (want >= 0) {
			assert_int_equal(zero, cp - (uint32_t)want);
			digits++;
		} else {
			assert_int_equal(zero, 0xDEADBEEF);     /* untouched */
		}
	}
	assert_int_equal(digits, 770);
	assert_int_equal(utf8_digit_value(0xFFFFFFFF, NULL), -1);
}

/* Digits people type, and characters that look like digits but are not decimal ones. */
static const struct digit_row {
	const char *name;
	const char *utf8;
	int value;
} digit_rows[] = {
	{ "ASCII 7", "7", 7 },
	{ "Arabic-Indic nine", "٩", 9 },
	{ "Arabic-Indic zero", "٠", 0 },
	{ "Extended Arabic-Indic nine (Persian, Urdu)", "۹", 9 },
	{ "Devanagari nine", "९", 9 },
	{ "Bengali nine", "৯", 9 },
	{ "Thai nine", "๙", 9 },
	{ "Khmer nine", "៩", 9 },
	{ "Myanmar nine", "၉", 9 },
	{ "fullwidth nine", "９", 9 },
	{ "mathematical bold nine", "𝟗", 9 },
	{ "mathematical monospace nine", "𝟿", 9 },
	{ "segmented nine", "🯹", 9 },
	{ "Adlam nine", "𞥙", 9 },
	{ "superscript two", "²", -1 },
	{ "subscript two", "₂", -1 },
	{ "circled nine", "⑨", -1 },
	{ "dingbat negative circled nine", "❾", -1 },
	{ "Roman numeral nine", "Ⅸ", -1 },
	{ "CJK nine", "九", -1 },
	{ "Tamil ten (a number, not a digit)", "௰", -1 },
	{ "Ethiopic nine", "፱", -1 },
	{ "vulgar fraction one half", "½", -1 },
	{ "Arabic percent sign, after the Arabic-Indic digits", "٪", -1 },
	{ "Arabic decimal separator", "٫", -1 },
	{ "keycap (combining enclosing keycap)", "\xE2\x83\xA3", -1 },
	{ "letter O", "O", -1 },
};

static void test_digit_examples(void **state)
{
	for (size_t i = 0; i < sizeof(digit_rows) / sizeof(digit_rows[0]); i++) {
		const struct digit_row *r = &digit_rows[i];
		size_t len = strlen(r->utf8);
		uint32_t cp = 0;
		int got;

		assert_int_equal(utf8_decode(r->utf8, len, &cp), len);
		got = utf8_digit_value(cp, NULL);
		if (got != r->value)
			print_message("row %zu (%s): %d, want %d\n", i, r->name, got, r->value);
		assert_int_equal(got, r->value);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_is_idempotent),
		cmocka_unit_test(test_len_bounds_the_input),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_every_code_point),
		cmocka_unit_test(test_digit_every_code_point),
		cmocka_unit_test(test_digit_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
