/*
 * test_sms.c - SMS segment counting (survey/sms.h, 3GPP TS 23.038 / 23.040).
 *
 * Each row builds a text from pieces repeated a number of times, so that the boundaries (160 / 153
 * septets, 70 / 67 UTF-16 units) are met exactly, and says which encoding it must need, how many
 * units and how many segments.
 *
 * sms_smart_encode(): one row per text and setting ([sms] encoding, fold_accents) with the text
 * that must go out and how many characters were replaced; one row per look-alike of the
 * documented list (docs/providers.md, "SMS encoding") with its replacement; letters GSM-7 has
 * are never changed; a replacement that would cost more segments, or not fit the buffer, is not
 * made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
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

/* ---- sms_smart_encode() ------------------------------------------------------------------ */

static const struct sms_options smart = { .smart = 1 };
static const struct sms_options smart_fold = { .smart = 1, .fold_accents = 1 };
static const struct sms_options unicode = { .smart = 0 };
static const struct sms_options unicode_fold = { .smart = 0, .fold_accents = 1 };

#define LDQ "\xE2\x80\x9C"      /* “ */
#define RDQ "\xE2\x80\x9D"      /* ” */
#define RSQ "\xE2\x80\x99"      /* ’ */
#define EM_DASH "\xE2\x80\x94"  /* — */
#define ELLIPSIS "\xE2\x80\xA6" /* … */
#define NBSP "\xC2\xA0"
#define I_ACUTE "\xC3\xAD"      /* í, not GSM-7 */

struct smart_row {
	const char *what;
	const struct sms_options *o;
	const char *in;
	const char *want;
	int replaced;
};

static const struct smart_row smart_rows[] = {
	{ "GSM-7 already", &smart, "Hola Ana, \xC2\xBFqu" E_ACUTE "?", "Hola Ana, \xC2\xBFqu" E_ACUTE "?", 0 },
	{ "empty", &smart, "", "", 0 },
	{ "curly quotes", &smart, LDQ "Hola" RDQ " it" RSQ "s", "\"Hola\" it's", 3 },
	{ "dash, ellipsis, nbsp", &smart, "a" EM_DASH "b" ELLIPSIS NBSP "c", "a-b... c", 3 },
	{ "invisible characters dropped", &smart, "a\xE2\x80\x8B" "b\xEF\xBB\xBF", "ab", 2 },
	{ "full-width letters and digits", &smart, "\xEF\xBC\xA1\xEF\xBD\x82\xEF\xBC\x99",
	  "Ab9", 3 },
	{ "extension-table replacement", &smart, "a\xEF\xBD\x9C" "b", "a|b", 1 },
	{ "GSM-7 letters stay next to a replacement", &smart,
	  E_ACUTE "\xC3\xB1\xC3\xBC\xC3\xA0\xC2\xA1\xC2\xBF\xC3\x87" RSQ,
	  E_ACUTE "\xC3\xB1\xC3\xBC\xC3\xA0\xC2\xA1\xC2\xBF\xC3\x87'", 1 },
	/* an accent GSM-7 lacks keeps the text UCS-2: nothing is replaced at all */
	{ "accent without fold_accents", &smart, "Mar" I_ACUTE "a" RSQ "s",
	  "Mar" I_ACUTE "a" RSQ "s", 0 },
	{ "accent with fold_accents", &smart_fold, "Mar" I_ACUTE "a" RSQ "s", "Maria's", 2 },
	{ "Portuguese folded", &smart_fold,
	  "Ol" A_ACUTE " Jo\xC3\xA3o, voc\xC3\xAA n\xC3\xA3o \xC3\xA7 \xC3\x87 \xC3\x95 \xC3\xB4",
	  "Ola Joao, voce nao c \xC3\x87 O o", 7 },
	{ "fold keeps GSM-7 letters", &smart_fold, E_ACUTE "\xC3\xA8\xC3\xB1" A_ACUTE,
	  E_ACUTE "\xC3\xA8\xC3\xB1" "a", 1 },
	{ "decomposed accent dropped with fold", &smart_fold, "na\xCC\x83o", "nao", 1 },
	{ "decomposed accent kept without fold", &smart, "na\xCC\x83o", "na\xCC\x83o", 0 },
	/* no look-alike: the whole text goes as written */
	{ "emoji", &smart, LDQ "Hola" RDQ " " EMOJI, LDQ "Hola" RDQ " " EMOJI, 0 },
	{ "emoji with fold", &smart_fold, "Mar" I_ACUTE "a " EMOJI, "Mar" I_ACUTE "a " EMOJI, 0 },
	{ "CJK", &smart, RSQ "\xE4\xBD\xA0", RSQ "\xE4\xBD\xA0", 0 },
	{ "invalid UTF-8", &smart, RSQ "\xFF", RSQ "\xFF", 0 },
	/* [sms] encoding = unicode: as written, fold_accents or not */
	{ "unicode", &unicode, LDQ "Hola" RDQ, LDQ "Hola" RDQ, 0 },
	{ "unicode with fold", &unicode_fold, "Mar" I_ACUTE "a", "Mar" I_ACUTE "a", 0 },
};

static void test_smart_encode_table(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(smart_rows); i++) {
		const struct smart_row *r = &smart_rows[i];
		struct buf b;
		int n;

		buf_init(&b, 4096);
		n = sms_smart_encode(r->in, strlen(r->in), r->o, &b);
		if (n != r->replaced || strcmp(buf_cstr(&b), r->want) != 0)
			print_message("row %zu (%s): \"%s\" (%d replaced), want \"%s\" (%d)\n", i, r->what,
				      buf_cstr(&b), n, r->want, r->replaced);
		assert_int_equal(n, r->replaced);
		assert_string_equal(buf_cstr(&b), r->want);
		buf_release(&b);
	}
}

/* The look-alikes docs/providers.md lists, each between two letters: the replacement, and a
 * GSM-7 text. */
static const struct {
	unsigned cp;
	const char *to;
} lookalike_rows[] = {
	{ 0x0009, " " }, { 0x0060, "'" }, { 0x00A0, " " }, { 0x00AB, "\"" }, { 0x00AD, "" },
	{ 0x00B4, "'" }, { 0x00BB, "\"" }, { 0x00BC, "1/4" }, { 0x00BD, "1/2" }, { 0x00BE, "3/4" },
	{ 0x00F7, "/" }, { 0x02B9, "'" }, { 0x02BA, "\"" }, { 0x02BB, "'" }, { 0x02BC, "'" },
	{ 0x02BD, "'" }, { 0x02C6, "^" }, { 0x02C8, "'" }, { 0x02CA, "'" }, { 0x02CB, "'" },
	{ 0x02DC, "~" }, { 0x02EE, "\"" },
	{ 0x2000, " " }, { 0x2001, " " }, { 0x2002, " " }, { 0x2003, " " }, { 0x2004, " " },
	{ 0x2005, " " }, { 0x2006, " " }, { 0x2007, " " }, { 0x2008, " " }, { 0x2009, " " },
	{ 0x200A, " " }, { 0x200B, "" },
	{ 0x2010, "-" }, { 0x2011, "-" }, { 0x2012, "-" }, { 0x2013, "-" }, { 0x2014, "-" },
	{ 0x2015, "-" }, { 0x2018, "'" }, { 0x2019, "'" }, { 0x201A, "," }, { 0x201B, "'" },
	{ 0x201C, "\"" }, { 0x201D, "\"" }, { 0x201E, "\"" }, { 0x201F, "\"" }, { 0x2022, "-" },
	{ 0x2026, "..." }, { 0x2028, " " }, { 0x2029, " " }, { 0x202F, " " }, { 0x2039, "<" },
	{ 0x203A, ">" }, { 0x203C, "!!" }, { 0x2043, "-" }, { 0x2044, "/" }, { 0x205F, " " },
	{ 0x2060, "" }, { 0x2212, "-" }, { 0x2215, "/" }, { 0x2223, "|" }, { 0x223C, "~" },
	{ 0x275B, "'" }, { 0x275C, "'" }, { 0x275D, "\"" }, { 0x275E, "\"" },
	{ 0x3000, " " }, { 0x3001, "," }, { 0x3002, "." }, { 0x301D, "\"" }, { 0x301E, "\"" },
	{ 0xFE50, "," }, { 0xFE51, "," }, { 0xFE52, "." }, { 0xFE54, ";" }, { 0xFE55, ":" },
	{ 0xFE56, "?" }, { 0xFE57, "!" }, { 0xFE59, "(" }, { 0xFE5A, ")" }, { 0xFE5B, "{" },
	{ 0xFE5C, "}" }, { 0xFE5F, "#" }, { 0xFE60, "&" }, { 0xFE61, "*" }, { 0xFE62, "+" },
	{ 0xFE63, "-" }, { 0xFE64, "<" }, { 0xFE65, ">" }, { 0xFE66, "=" }, { 0xFE68, "\\" },
	{ 0xFE69, "$" }, { 0xFE6A, "%" }, { 0xFE6B, "@" }, { 0xFEFF, "" },
	{ 0xFF01, "!" }, { 0xFF02, "\"" }, { 0xFF07, "'" }, { 0xFF0D, "-" }, { 0xFF10, "0" },
	{ 0xFF21, "A" }, { 0xFF3B, "[" }, { 0xFF3F, "_" }, { 0xFF40, "'" }, { 0xFF41, "a" },
	{ 0xFF5E, "~" }, { 0xFF61, "." }, { 0xFF64, "," },
};

/* Encodes code point cp as UTF-8 into out (NUL-terminated). */
static void utf8_of(unsigned cp, char out[5])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = '\0';
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		out[2] = '\0';
	} else {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		out[3] = '\0';
	}
}

static void test_smart_encode_lookalikes(void **state)
{
	for (size_t i = 0; i < ARRAY_LEN(lookalike_rows); i++) {
		char ch[5], in[16], want[16];
		struct sms_count c;
		struct buf b;
		int n;

		utf8_of(lookalike_rows[i].cp, ch);
		snprintf(in, sizeof(in), "x%sy", ch);
		snprintf(want, sizeof(want), "x%sy", lookalike_rows[i].to);
		sms_count(in, strlen(in), &c);
		assert_int_equal(c.ucs2, 1);    /* the character really is outside GSM-7 */
		buf_init(&b, 64);
		n = sms_smart_encode(in, strlen(in), &smart, &b);
		if (n != 1 || strcmp(buf_cstr(&b), want) != 0)
			print_message("U+%04X: \"%s\" (%d replaced), want \"%s\"\n", lookalike_rows[i].cp,
				      buf_cstr(&b), n, want);
		assert_int_equal(n, 1);
		assert_string_equal(buf_cstr(&b), want);
		sms_count(buf_cstr(&b), b.len, &c);
		assert_int_equal(c.ucs2, 0);
		buf_release(&b);
	}
}

/*
 * Every code point below U+10000 that GSM-7 has goes out unchanged with fold_accents on, next to a
 * curly apostrophe that is replaced; every Latin-1 letter it lacks (U+00C0-U+00FF) is folded to a
 * GSM-7 letter with fold_accents and keeps the text UCS-2 without.
 */
static void test_smart_encode_never_changes_gsm7_letters(void **state)
{
	for (unsigned cp = 0x20; cp < 0x10000; cp++) {
		char ch[5], in[16];
		struct sms_count c;
		struct buf b;
		int n;

		if ((cp >= 0x7F && cp < 0xA0) || (cp >= 0xD800 && cp < 0xE000))
			continue;
		utf8_of(cp, ch);
		sms_count(ch, strlen(ch), &c);
		if (c.ucs2)
			continue;
		snprintf(in, sizeof(in), "%s" RSQ, ch);
		buf_init(&b, 64);
		n = sms_smart_encode(in, strlen(in), &smart_fold, &b);
		assert_int_equal(n, 1);
		assert_int_equal(strncmp(buf_cstr(&b), ch, strlen(ch)), 0);
		assert_string_equal(buf_cstr(&b) + strlen(ch), "'");
		buf_release(&b);
	}
	for (unsigned cp = 0xC0; cp <= 0xFF; cp++) {
		char ch[5];
		struct sms_count c;
		struct buf b;
		int n;

		utf8_of(cp, ch);
		sms_count(ch, strlen(ch), &c);
		if (!c.ucs2 || cp == 0xD7 || cp == 0xF7 || cp == 0xDE || cp == 0xFE)
			continue;       /* GSM-7 has it, or it is no letter (×, ÷) or has no plain form (Þ) */
		buf_init(&b, 64);
		n = sms_smart_encode(ch, strlen(ch), &smart_fold, &b);
		sms_count(buf_cstr(&b), b.len, &c);
		if (n != 1 || c.ucs2 || b.len != 1)
			print_message("U+%04X folds to \"%s\"\n", cp, buf_cstr(&b));
		assert_int_equal(n, 1);
		assert_int_equal(c.ucs2, 0);
		buf_reset(&b);
		assert_int_equal(sms_smart_encode(ch, strlen(ch), &smart, &b), 0);
		assert_string_equal(buf_cstr(&b), ch);
		buf_release(&b);
	}
}

/* 70 ellipses are one UCS-2 segment; as 210 dots they would be two GSM-7 ones: kept as written. */
static void test_smart_encode_never_costs_more_segments(void **state)
{
	char in[70 * 3 + 8];
	struct buf b;
	size_t at = 0;

	for (int i = 0; i < 70; i++)
		at += (size_t)snprintf(in + at, sizeof(in) - at, ELLIPSIS);
	buf_init(&b, 4096);
	assert_int_equal(sms_smart_encode(in, at, &smart, &b), 0);
	assert_string_equal(buf_cstr(&b), in);
	buf_reset(&b);
	/* 53 of them are 159 dots: one segment either way, so replaced */
	assert_int_equal(sms_smart_encode(in, 53 * 3, &smart, &b), 53);
	assert_int_equal(b.len, 159);
	buf_release(&b);
}

/*
 * The text is appended after what `out` holds.  When the replaced text does not fit but the
 * text as written does ("½" is 2 bytes, "1/2" 3), it goes as written; when neither fits, -1 and
 * `out` as it was.
 */
static void test_smart_encode_full_buffer(void **state)
{
	static const char half[] = "\xC2\xBD";
	struct buf b;

	buf_init(&b, 64);
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_int_equal(sms_smart_encode(RSQ, strlen(RSQ), &smart, &b), 1);
	assert_string_equal(buf_cstr(&b), "ab'");
	buf_release(&b);

	buf_init(&b, 3);
	assert_int_equal(sms_smart_encode(half, 2, &smart, &b), 0);
	assert_string_equal(buf_cstr(&b), half);
	buf_release(&b);

	buf_init(&b, 4);
	assert_int_equal(buf_puts(&b, "a"), 0);
	assert_int_equal(sms_smart_encode(half, 2, &smart, &b), 0);      /* "a½" fits, "a1/2" not */
	assert_string_equal(buf_cstr(&b), "a" "\xC2\xBD");
	buf_release(&b);

	buf_init(&b, 4);
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_int_equal(sms_smart_encode(half, 2, &smart, &b), -1);
	assert_string_equal(buf_cstr(&b), "ab");
	assert_int_equal(sms_smart_encode("cd", 2, &unicode, &b), -1);
	assert_string_equal(buf_cstr(&b), "ab");
	buf_release(&b);
}

/* Only `len` bytes are read (ASan sees any read past them). */
static void test_smart_encode_reads_len_bytes_only(void **state)
{
	static const char text[] = RSQ "a" RSQ;
	char *copy = malloc(4);
	struct buf b;

	assert_non_null(copy);
	memcpy(copy, text, 4);                  /* ’a, no NUL */
	buf_init(&b, 64);
	assert_int_equal(sms_smart_encode(copy, 4, &smart, &b), 1);
	assert_string_equal(buf_cstr(&b), "'a");
	buf_release(&b);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sms_count_table),
		cmocka_unit_test(test_sms_count_reads_len_bytes_only),
		cmocka_unit_test(test_sms_count_nul_is_not_an_extension_char),
		cmocka_unit_test(test_sms_count_random_bytes),
		cmocka_unit_test(test_smart_encode_table),
		cmocka_unit_test(test_smart_encode_lookalikes),
		cmocka_unit_test(test_smart_encode_never_changes_gsm7_letters),
		cmocka_unit_test(test_smart_encode_never_costs_more_segments),
		cmocka_unit_test(test_smart_encode_full_buffer),
		cmocka_unit_test(test_smart_encode_reads_len_bytes_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
