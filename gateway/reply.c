/*
 * reply.c - see reply.h.
 *
 * Two layers, so that the grammar can grow without touching the byte handling:
 *
 *   lexer  cuts the trimmed reply into tokens: runs of whitespace, runs of ASCII digits, one
 *          terminal punctuation mark (. ! ? , ;), one Spanish opener (¡ ¿) and "words" (every
 *          other run of bytes: letters, UTF-8, NULs, invalid sequences).  It never looks at a
 *          byte at or past the end it was given.
 *   rules  are tried in order over the token stream; the first that recognises the reply fills
 *          the answer.  When none does, the reply is REASON_NO_NUMBER ("not understood yet").
 *
 * First-cut grammar (later rules, e.g. number words or "8/10", are new entries in rules[]):
 *   keyword        the whole reply is a stop or start word, any ASCII case.
 *   leading score  the reply starts with a number unit (digits, optional trailing punctuation)
 *                  followed by whitespace or the end; the same value repeated counts once; the
 *                  text after it is the comment.  A decimal there is NOT_INTEGER, a whole number
 *                  outside the scale OUT_OF_RANGE, and a second, different in-scale number right
 *                  after it ("7 8", "7 u 8") AMBIGUOUS.
 */
#include "reply.h"

#include <string.h>

/* Digit runs saturate here: any value this large is outside every scale, and it cannot overflow. */
#define NUMBER_SATURATED 100000

enum tok_type { TOK_END, TOK_SPACE, TOK_NUMBER, TOK_PUNCT, TOK_OPENER, TOK_WORD };

struct token {
	enum tok_type type;
	const char *p;          /* first byte of the token */
	size_t n;               /* its length in bytes */
	int value;              /* TOK_NUMBER: the value, saturated at NUMBER_SATURATED */
};

struct lexer {
	const char *s;
	size_t pos, end;        /* tokens are cut from s[pos, end) */
};

/* The trimmed views of one reply, shared by every rule. */
struct ctx {
	enum survey_kind kind;
	const char *s;
	size_t body;            /* first byte after leading whitespace and openers */
	size_t end;             /* one past the last byte before trailing whitespace */
	size_t core_end;        /* `end` less trailing whitespace and punctuation too */
};

static const char *const stop_words[] = {
	"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
	"BAJA", "PARAR", "CANCELAR", "SAIR", "PARE", NULL,
};
static const char *const start_words[] = { "START", "UNSTOP", "ALTA", NULL };
/* Words that join two alternative scores: "7 o 8", "7 u 8", "7 or 8", "7 ou 8", "7 ó 8". */
static const char *const alternative_words[] = { "o", "u", "or", "ou", "\xc3\xb3", NULL };

/* Length of the whitespace character at s[pos] (ASCII or UTF-8 NBSP), 0 when there is none. */
static size_t space_len(const char *s, size_t pos, size_t end)
{
	switch (s[pos]) {
	case ' ': case '\t': case '\n': case '\v': case '\f': case '\r':
		return 1;
	}
	if (pos + 1 < end && s[pos] == '\xc2' && s[pos + 1] == '\xa0')
		return 2;
	return 0;
}

/* Length of the Spanish opener (¡ U+00A1, ¿ U+00BF) at s[pos], 0 when there is none. */
static size_t opener_len(const char *s, size_t pos, size_t end)
{
	if (pos + 1 < end && s[pos] == '\xc2' && (s[pos + 1] == '\xa1' || s[pos + 1] == '\xbf'))
		return 2;
	return 0;
}

static int is_terminal_punct(char c)
{
	return c == '.' || c == '!' || c == '?' || c == ',' || c == ';';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether a word byte run must stop at s[pos]: something else starts there. */
static int starts_other_token(const char *s, size_t pos, size_t end)
{
	return is_digit(s[pos]) || is_terminal_punct(s[pos]) || space_len(s, pos, end) ||
	       opener_len(s, pos, end);
}

/*
 * Cuts the next token from `lx` into `t` and advances past it.  At the end it returns TOK_END (a
 * zero-length token) as often as it is called.
 */
static void lex_next(struct lexer *lx, struct token *t)
{
	const char *s = lx->s;
	size_t pos = lx->pos, end = lx->end, k;

	t->p = s + pos;
	t->value = 0;
	if (pos >= end) {
		t->type = TOK_END;
		t->n = 0;
		return;
	}
	if (space_len(s, pos, end)) {
		t->type = TOK_SPACE;
		while (pos < end && (k = space_len(s, pos, end)))
			pos += k;
	} else if ((k = opener_len(s, pos, end))) {
		t->type = TOK_OPENER;
		pos += k;
	} else if (is_terminal_punct(s[pos])) {
		t->type = TOK_PUNCT;
		pos++;
	} else if (is_digit(s[pos])) {
		t->type = TOK_NUMBER;
		for (; pos < end && is_digit(s[pos]); pos++)
			if (t->value < NUMBER_SATURATED)
				t->value = t->value * 10 + (s[pos] - '0');
	} else {
		t->type = TOK_WORD;
		for (pos++; pos < end && !starts_other_token(s, pos, end); pos++)
			;
	}
	t->n = pos - lx->pos;
	lx->pos = pos;
}

/* The type of the token `lx` would return next, without consuming it. */
static enum tok_type lex_peek(const struct lexer *lx, struct token *t)
{
	struct lexer copy = *lx;

	lex_next(&copy, t);
	return t->type;
}

/* Case-insensitive (ASCII) comparison of the `n` bytes at `p` with the whole of `word`. */
static int word_equals(const char *p, size_t n, const char *word)
{
	size_t i;

	if (strlen(word) != n)
		return 0;
	for (i = 0; i < n; i++) {
		char a = p[i], b = word[i];

		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return 1;
}

static int word_in(const char *p, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (word_equals(p, n, *words))
			return 1;
	return 0;
}

/*
 * Fills the trimmed views of `s` (len bytes): leading whitespace and openers go, trailing
 * whitespace goes from `end`, trailing whitespace and punctuation from `core_end`.
 */
static void ctx_init(struct ctx *c, enum survey_kind kind, const char *s, size_t len)
{
	struct lexer lx = { s, 0, len };
	struct token t;
	size_t e = len;

	c->kind = kind;
	c->s = s;
	while (lex_peek(&lx, &t) == TOK_SPACE || t.type == TOK_OPENER)
		lex_next(&lx, &t);
	c->body = lx.pos;
	for (;;) {
		if (e > c->body && space_len(s, e - 1, len) == 1)
			e--;
		else if (e >= c->body + 2 && space_len(s, e - 2, len) == 2)
			e -= 2;
		else
			break;
	}
	c->end = e;
	for (;;) {
		if (e > c->body && (is_terminal_punct(s[e - 1]) || space_len(s, e - 1, len) == 1))
			e--;
		else if (e >= c->body + 2 && space_len(s, e - 2, len) == 2)
			e -= 2;
		else
			break;
	}
	c->core_end = e;
}

/* Rule: the whole reply, less trailing punctuation, is a stop or start word. */
static int rule_keyword(const struct ctx *c, struct reply *out)
{
	const char *p = c->s + c->body;
	size_t n = c->core_end - c->body;

	if (word_in(p, n, stop_words))
		out->outcome = REPLY_OPT_OUT;
	else if (word_in(p, n, start_words))
		out->outcome = REPLY_OPT_IN;
	else
		return 0;
	return 1;
}

enum unit_kind { UNIT_NONE, UNIT_INTEGER, UNIT_DECIMAL };

/*
 * Reads one number unit at the lexer: digits, or digits '.'|',' digits, then any terminal
 * punctuation, and then whitespace or the end must follow (the whitespace is not consumed).
 * Returns what it read, with the integer part in *value; on UNIT_NONE `lx` is left as it was.
 */
static enum unit_kind read_unit(struct lexer *lx, int *value)
{
	struct lexer l = *lx;
	struct token t, sep, frac;
	enum unit_kind kind = UNIT_INTEGER;

	lex_next(&l, &t);
	if (t.type != TOK_NUMBER)
		return UNIT_NONE;
	*value = t.value;
	if (lex_peek(&l, &sep) == TOK_PUNCT && (*sep.p == '.' || *sep.p == ',')) {
		struct lexer after_sep = l;

		lex_next(&after_sep, &sep);
		if (lex_peek(&after_sep, &frac) == TOK_NUMBER) {
			lex_next(&after_sep, &frac);
			l = after_sep;
			kind = UNIT_DECIMAL;
		}
	}
	while (lex_peek(&l, &t) == TOK_PUNCT)
		lex_next(&l, &t);
	if (t.type != TOK_SPACE && t.type != TOK_END)
		return UNIT_NONE;
	*lx = l;
	return kind;
}

static int in_scale(enum survey_kind kind, int v)
{
	return v >= kind_min(kind) && v <= kind_max(kind);
}

/*
 * Whether, at the lexer (just after a score), another in-scale integer other than `score` is
 * offered as an alternative: "7 8", "7, 8", "7 u 8".  Consumes nothing.
 */
static int alternative_follows(const struct ctx *c, const struct lexer *lx, int score)
{
	struct lexer l = *lx;
	struct token t;
	int v;

	lex_next(&l, &t);
	if (t.type != TOK_SPACE)
		return 0;
	if (lex_peek(&l, &t) == TOK_WORD && word_in(t.p, t.n, alternative_words)) {
		lex_next(&l, &t);
		lex_next(&l, &t);
		if (t.type != TOK_SPACE)
			return 0;
	}
	return read_unit(&l, &v) == UNIT_INTEGER && v != score && in_scale(c->kind, v);
}

/*
 * Rule: the reply starts with a number unit.  Repeats of the same value are skipped; whatever
 * text follows (up to `end`, so its own punctuation stays) is the comment, empty when only
 * punctuation follows.
 */
static int rule_leading_score(const struct ctx *c, struct reply *out)
{
	struct lexer lx = { c->s, c->body, c->end };
	struct token t;
	int score = 0, again = 0;
	size_t from;

	switch (read_unit(&lx, &score)) {
	case UNIT_NONE:
		return 0;
	case UNIT_DECIMAL:
		out->reason = REASON_NOT_INTEGER;
		goto invalid;
	case UNIT_INTEGER:
		break;
	}
	if (!in_scale(c->kind, score)) {
		out->reason = REASON_OUT_OF_RANGE;
		goto invalid;
	}
	for (;;) {
		struct lexer l = lx;

		lex_next(&l, &t);
		if (t.type != TOK_SPACE || read_unit(&l, &again) != UNIT_INTEGER || again != score)
			break;
		lx = l;
	}
	if (alternative_follows(c, &lx, score)) {
		out->reason = REASON_AMBIGUOUS;
		goto invalid;
	}
	while (lex_peek(&lx, &t) == TOK_SPACE)
		lex_next(&lx, &t);
	from = lx.pos;
	out->outcome = REPLY_SCORE;
	out->score = score;
	if (from < c->core_end) {
		out->comment = c->s + from;
		out->comment_len = c->end - from;
	}
	return 1;
invalid:
	out->outcome = REPLY_INVALID;
	return 1;
}

static int (*const rules[])(const struct ctx *c, struct reply *out) = {
	rule_keyword,
	rule_leading_score,
	NULL,
};

/*
 * Runs the rules in order; the first that recognises the reply wins.  `out` starts as "no
 * number, empty comment" (the comment pointer is the input, never NULL unless the input is), so
 * a rule only sets what it decides.
 */
void reply_parse(enum survey_kind kind, const char *text, size_t len, struct reply *out)
{
	struct ctx c;
	size_t i;

	out->outcome = REPLY_INVALID;
	out->reason = REASON_NO_NUMBER;
	out->score = 0;
	out->comment = text;
	out->comment_len = 0;
	if (!text || (unsigned)kind >= KIND__COUNT)
		return;
	ctx_init(&c, kind, text, len);
	for (i = 0; rules[i]; i++) {
		if (rules[i](&c, out)) {
			if (out->outcome != REPLY_INVALID)
				out->reason = REASON_NONE;
			return;
		}
	}
}

const char *reply_outcome_name(enum reply_outcome o)
{
	switch (o) {
	case REPLY_SCORE: return "score";
	case REPLY_INVALID: return "invalid";
	case REPLY_OPT_OUT: return "opt_out";
	case REPLY_OPT_IN: return "opt_in";
	}
	return "unknown";
}

const char *reply_reason_name(enum reply_reason r)
{
	switch (r) {
	case REASON_NONE: return "";
	case REASON_OUT_OF_RANGE: return "out_of_range";
	case REASON_AMBIGUOUS: return "ambiguous";
	case REASON_NO_NUMBER: return "no_number";
	case REASON_NOT_INTEGER: return "not_integer";
	}
	return "unknown";
}
