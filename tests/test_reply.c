/*
 * test_reply.c - the reply grammar, one row per reply: kind, exact bytes, expected outcome.
 *
 * Every input is copied into a heap block of exactly its length (no NUL after it), so that a
 * parser reading one byte too far is caught by AddressSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

struct row {
	enum survey_kind kind;
	const char *text;
	size_t len;
	enum reply_outcome outcome;
	enum reply_reason reason;
	int score;
	const char *comment;    /* expected comment bytes ("" when none) */
	size_t comment_len;
};

/* String literals only: the lengths come from sizeof, so rows may hold NUL bytes. */
#define ROW(k, s, o, r, sc, c) { KIND_##k, s, sizeof(s) - 1, o, r, sc, c, sizeof(c) - 1 }
#define SCORE(k, s, sc, c)     ROW(k, s, REPLY_SCORE, REASON_NONE, sc, c)
#define INVALID(k, s, r)       ROW(k, s, REPLY_INVALID, REASON_##r, 0, "")
#define OPT_OUT(k, s)          ROW(k, s, REPLY_OPT_OUT, REASON_NONE, 0, "")
#define OPT_IN(k, s)           ROW(k, s, REPLY_OPT_IN, REASON_NONE, 0, "")

/* Careful with hex escapes: "\xa0" "9" is NBSP then '9', whereas "\xa09" would be one escape. */
#define NBSP "\xc2\xa0"
#define INV_EXCL "\xc2\xa1"     /* ¡ */
#define INV_QUEST "\xc2\xbf"    /* ¿ */

static const struct row rows[] = {
	/* NPS 0-10: borders, leading zeros */
	SCORE(NPS, "0", 0, ""),
	SCORE(NPS, "10", 10, ""),
	SCORE(NPS, "5", 5, ""),
	SCORE(NPS, "09", 9, ""),
	SCORE(NPS, "00", 0, ""),
	SCORE(NPS, "010", 10, ""),
	SCORE(NPS, "0000000000000000000000000000010", 10, ""),
	INVALID(NPS, "11", OUT_OF_RANGE),
	INVALID(NPS, "100", OUT_OF_RANGE),
	INVALID(NPS, "99999999999999999999", OUT_OF_RANGE),
	INVALID(NPS, "18446744073709551626", OUT_OF_RANGE),     /* 2^64 + 10 */
	INVALID(NPS, "4294967306", OUT_OF_RANGE),               /* 2^32 + 10 */
	INVALID(NPS, "-1", NO_NUMBER),

	/* whitespace, CR/LF, NBSP, punctuation, Spanish openers */
	SCORE(NPS, " 9 ", 9, ""),
	SCORE(NPS, "\t9\t", 9, ""),
	SCORE(NPS, "9\r\n", 9, ""),
	SCORE(NPS, "\r\n 9 \r\n", 9, ""),
	SCORE(NPS, NBSP "9" NBSP, 9, ""),
	SCORE(NPS, NBSP NBSP " 10 " NBSP, 10, ""),
	SCORE(NPS, "9.", 9, ""),
	SCORE(NPS, "9!", 9, ""),
	SCORE(NPS, "9?", 9, ""),
	SCORE(NPS, "9,", 9, ""),
	SCORE(NPS, "9;", 9, ""),
	SCORE(NPS, "10!!!", 10, ""),
	SCORE(NPS, "10 !", 10, ""),
	SCORE(NPS, "10...", 10, ""),
	SCORE(NPS, INV_EXCL "10!", 10, ""),
	SCORE(NPS, INV_QUEST "8?", 8, ""),
	SCORE(NPS, " " INV_EXCL " 10 !\r\n", 10, ""),

	/* a score then a comment (es, pt, en) */
	SCORE(NPS, "10 pero el pedido 12345 lleg\xc3\xb3 tarde", 10,
	      "pero el pedido 12345 lleg\xc3\xb3 tarde"),
	SCORE(NPS, "9 muy amables", 9, "muy amables"),
	SCORE(NPS, "10. Muy buen servicio!", 10, "Muy buen servicio!"),
	SCORE(NPS, "10,  excelente  ", 10, "excelente"),
	SCORE(NPS, "8\r\nGracias\r\n", 8, "Gracias"),
	SCORE(NPS, "7" NBSP "regular" NBSP, 7, "regular"),
	SCORE(NPS, "10 10 10", 10, ""),
	SCORE(NPS, "10 10 10 muy bien", 10, "muy bien"),
	SCORE(NPS, "10, 10!", 10, ""),
	SCORE(NPS, "10 12345 es mi pedido", 10, "12345 es mi pedido"),
	SCORE(NPS, "6 o atendimento foi lento", 6, "o atendimento foi lento"),
	SCORE(NPS, "9 great service, thanks!", 9, "great service, thanks!"),
	SCORE(NPS, "0 nunca m\xc3\xa1s", 0, "nunca m\xc3\xa1s"),
	SCORE(NPS, "10 stop", 10, "stop"),
	INVALID(NPS, "11 muy bueno", OUT_OF_RANGE),

	/* two different candidate scores */
	INVALID(NPS, "7 8", AMBIGUOUS),
	INVALID(NPS, "7 u 8", AMBIGUOUS),
	INVALID(NPS, "7 o 8", AMBIGUOUS),
	INVALID(NPS, "7 or 8", AMBIGUOUS),
	INVALID(NPS, "7, 8", AMBIGUOUS),
	INVALID(NPS, "7 \xc3\xb3 8", AMBIGUOUS),
	SCORE(NPS, "7 o 7", 7, "o 7"),                  /* the same score is no alternative */

	/* fractions */
	INVALID(NPS, "9.5", NOT_INTEGER),
	INVALID(NPS, "9,5", NOT_INTEGER),
	INVALID(NPS, "9,5 muy bien", NOT_INTEGER),
	INVALID(NPS, "10.0", NOT_INTEGER),
	INVALID(NPS, " 9.5! ", NOT_INTEGER),

	/* nothing understood (yet) */
	INVALID(NPS, "", NO_NUMBER),
	INVALID(NPS, "   ", NO_NUMBER),
	INVALID(NPS, "\r\n", NO_NUMBER),
	INVALID(NPS, NBSP, NO_NUMBER),
	INVALID(NPS, "...", NO_NUMBER),
	INVALID(NPS, "gracias", NO_NUMBER),
	INVALID(NPS, "nueve", NO_NUMBER),
	INVALID(NPS, "le doy 9", NO_NUMBER),
	INVALID(NPS, "8/10", NO_NUMBER),
	INVALID(NPS, "10%", NO_NUMBER),
	INVALID(NPS, "9abc", NO_NUMBER),
	INVALID(NPS, "\xf0\x9f\x91\x8d", NO_NUMBER),                       /* thumbs up */
	INVALID(NPS, "9\xef\xb8\x8f\xe2\x83\xa3", NO_NUMBER),             /* keycap 9 */
	INVALID(NPS, "\xef\xbc\x99", NO_NUMBER),                          /* fullwidth 9 */

	/* NUL bytes */
	INVALID(NPS, "\0", NO_NUMBER),
	INVALID(NPS, "1\0" "0", NO_NUMBER),
	INVALID(NPS, "\0" "9", NO_NUMBER),
	INVALID(NPS, "9\0", NO_NUMBER),
	SCORE(NPS, "9 \0", 9, "\0"),
	SCORE(NPS, "10 muy\0bien", 10, "muy\0bien"),

	/* invalid UTF-8, truncated sequences */
	SCORE(NPS, "9 \xff\xfe", 9, "\xff\xfe"),
	SCORE(NPS, "9 \xc2", 9, "\xc2"),
	INVALID(NPS, "\xff" "9", NO_NUMBER),
	INVALID(NPS, "9\xc2", NO_NUMBER),
	INVALID(NPS, "\xc2", NO_NUMBER),
	INVALID(NPS, "9\xc3\x28", NO_NUMBER),
	INVALID(NPS, "\xa0" "9", NO_NUMBER),

	/* CES 1-7 */
	SCORE(CES, "1", 1, ""),
	SCORE(CES, "7", 7, ""),
	SCORE(CES, "07", 7, ""),
	SCORE(CES, "7.", 7, ""),
	SCORE(CES, "1 1", 1, ""),
	SCORE(CES, "4 fue f\xc3\xa1" "cil", 4, "fue f\xc3\xa1" "cil"),
	SCORE(CES, "6 muito f\xc3\xa1" "cil", 6, "muito f\xc3\xa1" "cil"),
	SCORE(CES, "2 it took three calls", 2, "it took three calls"),
	INVALID(CES, "0", OUT_OF_RANGE),
	INVALID(CES, "00", OUT_OF_RANGE),
	INVALID(CES, "8", OUT_OF_RANGE),
	INVALID(CES, "0 0", OUT_OF_RANGE),
	INVALID(CES, "10", OUT_OF_RANGE),
	INVALID(CES, "3 o 4", AMBIGUOUS),
	INVALID(CES, "6,5", NOT_INTEGER),
	INVALID(CES, "Nota 5", NO_NUMBER),

	/* CSAT 1-5 */
	SCORE(CSAT, "1", 1, ""),
	SCORE(CSAT, "5", 5, ""),
	SCORE(CSAT, "5!!", 5, ""),
	SCORE(CSAT, "  2  ", 2, ""),
	SCORE(CSAT, "3 3 3", 3, ""),
	SCORE(CSAT, "5 estrelas", 5, "estrelas"),
	SCORE(CSAT, "4 bom atendimento", 4, "bom atendimento"),
	SCORE(CSAT, "5 stars, great service", 5, "stars, great service"),
	SCORE(CSAT, "5 10 minutos de espera", 5, "10 minutos de espera"),
	INVALID(CSAT, "0", OUT_OF_RANGE),
	INVALID(CSAT, "6", OUT_OF_RANGE),
	INVALID(CSAT, "10", OUT_OF_RANGE),
	INVALID(CSAT, "4,5", NOT_INTEGER),
	INVALID(CSAT, "4/5", NO_NUMBER),
	INVALID(CSAT, "1 2 3 4 5", AMBIGUOUS),

	/* opt-out words, any case, trailing ASCII punctuation */
	OPT_OUT(NPS, "STOP"),
	OPT_OUT(NPS, "stop"),
	OPT_OUT(NPS, "Stop."),
	OPT_OUT(NPS, " StOp!! \r\n"),
	OPT_OUT(NPS, "STOPALL"),
	OPT_OUT(CES, "unsubscribe"),
	OPT_OUT(CES, "Cancel"),
	OPT_OUT(CES, "end"),
	OPT_OUT(CES, "QUIT"),
	OPT_OUT(NPS, "baja"),
	OPT_OUT(NPS, "Baja."),
	OPT_OUT(NPS, INV_EXCL "BAJA!"),
	OPT_OUT(NPS, "parar"),
	OPT_OUT(CSAT, "CANCELAR"),
	OPT_OUT(CSAT, "sair"),
	OPT_OUT(CSAT, "Sair!"),
	OPT_OUT(CSAT, "PARE"),
	OPT_OUT(CSAT, "pare\r\n"),
	OPT_OUT(NPS, NBSP "Stop" NBSP),

	/* opt-in words */
	OPT_IN(NPS, "START"),
	OPT_IN(NPS, "start"),
	OPT_IN(CES, "Unstop"),
	OPT_IN(CSAT, "alta"),
	OPT_IN(NPS, "ALTA!"),

	/* near misses: not the whole reply, or not exactly the word */
	INVALID(NPS, "stop please", NO_NUMBER),
	INVALID(NPS, "no stop", NO_NUMBER),
	INVALID(NPS, "STOPP", NO_NUMBER),
	INVALID(NPS, "STOP\0", NO_NUMBER),
	INVALID(NPS, "ST\0OP", NO_NUMBER),
	INVALID(NPS, "\0STOP", NO_NUMBER),
	INVALID(NPS, "STO", NO_NUMBER),
	INVALID(NPS, "stop 10", NO_NUMBER),
	INVALID(NPS, "dar de baja", NO_NUMBER),
	INVALID(NPS, "startx", NO_NUMBER),
};

/* Prints bytes with C escapes so that a failing row can be read. */
static void print_bytes(const char *label, const char *s, size_t n)
{
	size_t i;

	print_message("%s\"", label);
	for (i = 0; i < n && i < 80; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			print_message("%c", c);
		else
			print_message("\\x%02x", c);
	}
	print_message("\"%s\n", n > 80 ? "..." : "");
}

/* Parses `text` from an exact-size heap copy and checks the answer's invariants. */
static void parse_copy(enum survey_kind kind, const char *text, size_t len, struct reply *out,
		       char **copy)
{
	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	if (len)
		memcpy(*copy, text, len);
	reply_parse(kind, *copy, len, out);
	assert_true(out->comment_len <= len);
	if (out->comment_len) {
		assert_true(out->comment >= *copy);
		assert_true(out->comment + out->comment_len <= *copy + len);
	}
	assert_true((out->outcome == REPLY_INVALID) == (out->reason != REASON_NONE));
	if (out->outcome == REPLY_SCORE) {
		assert_true(out->score >= kind_min(kind));
		assert_true(out->score <= kind_max(kind));
	} else {
		assert_int_equal(out->comment_len, 0);
	}
}

static int row_matches(const struct row *r, const struct reply *got)
{
	if (got->outcome != r->outcome || got->reason != r->reason)
		return 0;
	if (r->outcome != REPLY_SCORE)
		return 1;
	return got->score == r->score && got->comment_len == r->comment_len &&
	       memcmp(got->comment, r->comment, r->comment_len) == 0;
}

/* Runs every row and reports all mismatches before failing, not just the first. */
static void test_rows(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct reply got;
		char *copy;

		parse_copy(r->kind, r->text, r->len, &got, &copy);
		if (!row_matches(r, &got)) {
			failed++;
			print_message("row %zu (%s):\n", i, kind_name(r->kind));
			print_bytes("  input:    ", r->text, r->len);
			print_message("  expected: %s %s %d\n", reply_outcome_name(r->outcome),
				      reply_reason_name(r->reason), r->score);
			print_bytes("            comment ", r->comment, r->comment_len);
			print_message("  got:      %s %s %d\n", reply_outcome_name(got.outcome),
				      reply_reason_name(got.reason), got.score);
			print_bytes("            comment ", got.comment, got.comment_len);
		}
		free(copy);
	}
	print_message("%zu rows, %zu failed\n", i, failed);
	assert_int_equal(failed, 0);
}

static void test_names(void **state)
{
	static const struct { enum reply_outcome o; const char *name; } outcomes[] = {
		{ REPLY_SCORE, "score" },
		{ REPLY_INVALID, "invalid" },
		{ REPLY_OPT_OUT, "opt_out" },
		{ REPLY_OPT_IN, "opt_in" },
	};
	static const struct { enum reply_reason r; const char *name; } reasons[] = {
		{ REASON_NONE, "" },
		{ REASON_OUT_OF_RANGE, "out_of_range" },
		{ REASON_AMBIGUOUS, "ambiguous" },
		{ REASON_NO_NUMBER, "no_number" },
		{ REASON_NOT_INTEGER, "not_integer" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		assert_string_equal(reply_outcome_name(outcomes[i].o), outcomes[i].name);
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		assert_string_equal(reply_reason_name(reasons[i].r), reasons[i].name);
}

static void test_null_text(void **state)
{
	struct reply got;

	(void)state;
	reply_parse(KIND_NPS, NULL, 0, &got);
	assert_int_equal(got.outcome, REPLY_INVALID);
	assert_int_equal(got.reason, REASON_NO_NUMBER);
	assert_int_equal(got.comment_len, 0);
}

#define MB (1024 * 1024)

/* 1 MB replies, built as `head`, then `fill` bytes of the repeated `unit`, then `tail`. */
static const struct big_row {
	const char *head, *unit, *tail;
	size_t fill;
	enum survey_kind kind;
	enum reply_outcome outcome;
	enum reply_reason reason;
	int score;
	size_t comment_len;     /* expected comment length */
} big_rows[] = {
	{ "10 ", "a", "", MB, KIND_NPS, REPLY_SCORE, REASON_NONE, 10, MB },
	{ "", " ", "7", MB, KIND_CES, REPLY_SCORE, REASON_NONE, 7, 0 },
	{ "", "\r\n", "5\r\n", MB, KIND_CSAT, REPLY_SCORE, REASON_NONE, 5, 0 },
	{ "", "9", "", MB, KIND_NPS, REPLY_INVALID, REASON_OUT_OF_RANGE, 0, 0 },
	{ "", "0", "5", MB, KIND_CSAT, REPLY_SCORE, REASON_NONE, 5, 0 },
	{ "", "10 ", "", MB - 1, KIND_NPS, REPLY_SCORE, REASON_NONE, 10, 0 },
	{ "", "", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },   /* NULs */
	{ "", NBSP, "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "", "\xc2", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
	{ "STOP", "!", "", MB, KIND_NPS, REPLY_OPT_OUT, REASON_NONE, 0, 0 },
	{ "9", ".5", "", MB, KIND_NPS, REPLY_INVALID, REASON_NO_NUMBER, 0, 0 },
};

static void test_big(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(big_rows) / sizeof(big_rows[0]); i++) {
		const struct big_row *b = &big_rows[i];
		size_t hl = strlen(b->head), ul = strlen(b->unit), tl = strlen(b->tail);
		size_t len = hl + b->fill + tl, pos;
		char *text = malloc(len), *copy;
		struct reply got;

		assert_non_null(text);
		memcpy(text, b->head, hl);
		if (ul == 0)
			memset(text + hl, 0, b->fill);
		for (pos = 0; ul && pos < b->fill; pos++)
			text[hl + pos] = b->unit[pos % ul];
		memcpy(text + hl + b->fill, b->tail, tl);
		parse_copy(b->kind, text, len, &got, &copy);
		print_message("big row %zu: %s %s %d, comment %zu bytes\n", i,
			      reply_outcome_name(got.outcome), reply_reason_name(got.reason),
			      got.score, got.comment_len);
		assert_int_equal(got.outcome, b->outcome);
		assert_int_equal(got.reason, b->reason);
		assert_int_equal(got.score, b->score);
		assert_int_equal(got.comment_len, b->comment_len);
		free(copy);
		free(text);
	}
}

/*
 * Every input of one and two bytes, for every kind: the parser must keep its invariants (checked
 * in parse_copy) and read a lone in-scale digit as that score.
 */
static void test_every_short_input(void **state)
{
	int k, a, b;

	(void)state;
	for (k = 0; k < KIND__COUNT; k++) {
		for (a = 0; a < 256; a++) {
			char in[2] = { (char)a, 0 };
			struct reply got;
			char *copy;

			parse_copy((enum survey_kind)k, in, 1, &got, &copy);
			free(copy);
			if (a >= '0' && a <= '9' && a - '0' >= kind_min(k) && a - '0' <= kind_max(k)) {
				assert_int_equal(got.outcome, REPLY_SCORE);
				assert_int_equal(got.score, a - '0');
			} else if (a >= '0' && a <= '9') {
				assert_int_equal(got.reason, REASON_OUT_OF_RANGE);
			} else {
				assert_int_equal(got.reason, REASON_NO_NUMBER);
			}
			for (b = 0; b < 256; b++) {
				in[1] = (char)b;
				parse_copy((enum survey_kind)k, in, 2, &got, &copy);
				free(copy);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_null_text),
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_every_short_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
