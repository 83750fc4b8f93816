/*
 * reply_lex.c - see reply_lex.h.  The lexer first, then the lexicon it looks words up in.
 */
#include "reply_lex.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Longest word the lexicon is asked about, after folding; longer words are in no table. */
#define FOLD_MAX 16

/* ---- lexer ------------------------------------------------------------------------------- */

/* Whether the n bytes of `seq` are at s[pos] (pos <= end). */
int lex_at(const char *s, size_t pos, size_t end, const char *seq, size_t n)
{
	return end - pos >= n && memcmp(s + pos, seq, n) == 0;
}

/* Length of the white-space character at s[pos] (ASCII or UTF-8 NBSP), 0 when there is none. */
size_t lex_space_len(const char *s, size_t pos, size_t end)
{
	switch (s[pos]) {
	case ' ': case '\t': case '\n': case '\v': case '\f': case '\r':
		return 1;
	case '\xc2':
		return lex_at(s, pos, end, "\xc2\xa0", 2) ? 2 : 0;
	}
	return 0;
}

/*
 * Length of the digit at s[pos], its value in *d and the 0 of its set of ten in *set: an ASCII
 * digit (with the keycap sequence U+FE0F U+20E3 or U+20E3 after it: "9️⃣", "9⃣"), any other
 * Unicode decimal digit (fullwidth ９, Arabic-Indic ٩, Devanagari ९, ...: utf8_digit_value()),
 * or the keycap ten 🔟 (*d = 10, a set of its own).  0 when no digit starts there.
 */
static size_t digit_len(const char *s, size_t pos, size_t end, int *d, uint32_t *set)
{
	unsigned char c = (unsigned char)s[pos];
	uint32_t cp;
	size_t n;

	if (c >= '0' && c <= '9') {
		*d = c - '0';
		*set = '0';
		if (lex_at(s, pos + 1, end, "\xef\xb8\x8f\xe2\x83\xa3", 6))
			return 7;
		if (lex_at(s, pos + 1, end, "\xe2\x83\xa3", 3))
			return 4;
		return 1;
	}
	if (lex_at(s, pos, end, "\xf0\x9f\x94\x9f", 4)) {
		*d = 10;
		*set = 0;
		return 4;
	}
	/* No decimal digit past ASCII is below U+0660, which starts with 0xd9. */
	if (c < 0xd9 || !(n = utf8_decode(s + pos, end - pos, &cp)) ||
	    (*d = utf8_digit_value(cp, set)) < 0)
		return 0;
	return n;
}

/*
 * Length of the star at s[pos] with the variation selectors after it ("⭐️", "★︎"), 0 when none
 * starts there: filled ⭐ (U+2B50), ★ (U+2605), 🌟 (U+1F31F), or empty ☆ (U+2606), *empty 1.
 */
static size_t star_len(const char *s, size_t pos, size_t end, int *empty)
{
	static const struct { const char *seq; unsigned char n, empty; } stars[] = {
		{ "\xe2\xad\x90", 3, 0 },       /* ⭐ */
		{ "\xe2\x98\x85", 3, 0 },       /* ★ */
		{ "\xf0\x9f\x8c\x9f", 4, 0 },   /* 🌟 */
		{ "\xe2\x98\x86", 3, 1 },       /* ☆ */
	};
	size_t i, n = 0;

	for (i = 0; i < sizeof(stars) / sizeof(stars[0]) && !n; i++) {
		if (lex_at(s, pos, end, stars[i].seq, stars[i].n)) {
			n = stars[i].n;
			*empty = stars[i].empty;
		}
	}
	/* VS16 asks for the emoji look, VS15 for the text look: the same star either way. */
	while (n && (lex_at(s, pos + n, end, "\xef\xb8\x8f", 3) ||
		     lex_at(s, pos + n, end, "\xef\xb8\x8e", 3)))
		n += 3;
	return n;
}

/* Length of the single-token mark at s[pos] and its type in *type; 0 when there is none. */
static size_t mark_len(const char *s, size_t pos, size_t end, enum tok_type *type)
{
	static const struct { const char *seq; unsigned char n; unsigned char type; } marks[] = {
		{ "\xe2\x80\xa6", 3, TOK_PUNCT },       /* … */
		{ "\xe2\x80\x93", 3, TOK_DASH },        /* – */
		{ "\xe2\x80\x94", 3, TOK_DASH },        /* — */
		{ "\xe2\x88\x92", 3, TOK_DASH },        /* − minus sign */
		{ "\xc2\xa1", 2, TOK_DECOR },           /* ¡ */
		{ "\xc2\xbf", 2, TOK_DECOR },           /* ¿ */
		{ "\xc2\xab", 2, TOK_DECOR },           /* « */
		{ "\xc2\xbb", 2, TOK_DECOR },           /* » */
		{ "\xe2\x80\x98", 3, TOK_DECOR },       /* ‘ */
		{ "\xe2\x80\x99", 3, TOK_DECOR },       /* ’ */
		{ "\xe2\x80\x9c", 3, TOK_DECOR },       /* “ */
		{ "\xe2\x80\x9d", 3, TOK_DECOR },       /* ” */
		{ "\xef\xb8\x8f", 3, TOK_DECOR },       /* VS16, left over from an emoji */
		{ "\xc2\xbd", 2, TOK_HALF },            /* ½ */
		{ "\xd9\xab", 2, TOK_PUNCT },           /* ٫ Arabic decimal separator: "٩٫٥" */
	};
	size_t i, k;
	int empty;

	switch (s[pos]) {
	case '.': case '!': case '?': case ',': case ';': case ':':
		*type = TOK_PUNCT;
		return 1;
	case '-':
		*type = TOK_DASH;
		return 1;
	case '/':
		*type = TOK_SLASH;
		return 1;
	case '*': case '_': case '#': case '"': case '\'': case '(': case ')': case '[': case ']':
	case '`': case '~': case '+':
		*type = TOK_DECOR;
		return 1;
	}
	if (s[pos] != '\xc2' && s[pos] != '\xd9' && s[pos] != '\xe2' && s[pos] != '\xef' &&
	    s[pos] != '\xf0')
		return 0;
	if ((k = star_len(s, pos, end, &empty))) {
		*type = TOK_STAR;
		return k;
	}
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		if (lex_at(s, pos, end, marks[i].seq, marks[i].n)) {
			*type = (enum tok_type)marks[i].type;
			return marks[i].n;
		}
	}
	return 0;
}

/* Whether s[pos] is an apostrophe, which stays inside a word ("I'd", "I’d"). */
static size_t apostrophe_len(const char *s, size_t pos, size_t end)
{
	if (s[pos] == '\'')
		return 1;
	return lex_at(s, pos, end, "\xe2\x80\x99", 3) ? 3 : 0;
}

/* Length of whatever starts a token other than a word at s[pos], its type in *type; 0: a word. */
static size_t other_len(const char *s, size_t pos, size_t end, enum tok_type *type, int *d,
			uint32_t *set)
{
	size_t k;

	if ((k = lex_space_len(s, pos, end))) {
		*type = TOK_SPACE;
		return k;
	}
	if ((k = digit_len(s, pos, end, d, set))) {
		*type = TOK_NUMBER;
		return k;
	}
	return mark_len(s, pos, end, type);
}

/* Whether byte c inside a word certainly continues it: a letter, or a UTF-8 byte no mark uses. */
static int plain_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= 0x80 && c != 0xc2 && c != 0xe2 && c != 0xef && c != 0xf0);
}

static unsigned lookup_word(const char *p, size_t n, int *value);

/* Cuts the token at s[pos, end) into `t`; returns the position after it. */
static size_t lex_cut(const char *s, size_t pos, size_t end, struct token *t)
{
	size_t k;
	enum tok_type type;
	int d = 0;
	uint32_t set = 0, first_set;

	t->p = s + pos;
	t->value = 0;
	t->newline = 0;
	t->mixed = 0;
	t->empty = 0;
	t->flags = 0;
	t->type = TOK_END;
	if (pos < end && !(k = other_len(s, pos, end, &type, &d, &set))) {
		t->type = TOK_WORD;
		for (pos++; pos < end; pos += k) {
			if (plain_word_byte((unsigned char)s[pos])) {
				k = 1;
				continue;
			}
			if ((k = apostrophe_len(s, pos, end)))
				continue;
			if (other_len(s, pos, end, &type, &d, &set))
				break;
			k = 1;
		}
		t->n = (size_t)(s + pos - t->p);
		t->flags = lookup_word(t->p, t->n, &t->value);
	} else if (pos < end) {
		t->type = type;
		if (type == TOK_NUMBER && d == 10) {
			t->value = 10;          /* 🔟 stands alone */
			pos += k;
		} else if (type == TOK_NUMBER) {
			/* One token for the whole run, so that "1٠" is not read as 1 then 0. */
			first_set = set;
			while (pos < end && (k = digit_len(s, pos, end, &d, &set)) && d < 10) {
				t->mixed |= set != first_set;
				if (t->value < NUMBER_SATURATED)
					t->value = t->value * 10 + d;
				pos += k;
			}
		} else if (type == TOK_SPACE) {
			do {
				t->newline |= s[pos] == '\n' || s[pos] == '\r';
				pos += k;
			} while (pos < end && (k = other_len(s, pos, end, &type, &d, &set)) &&
				 type == TOK_SPACE);
		} else if (type == TOK_STAR) {
			/* A run of stars, counted: `value` the filled ones, `empty` the others. */
			int empty;

			while (pos < end && (k = star_len(s, pos, end, &empty))) {
				int *count = empty ? &t->empty : &t->value;

				if (*count < NUMBER_SATURATED)
					(*count)++;
				pos += k;
			}
		} else {
			pos += k;
		}
	}
	t->n = (size_t)(s + pos - t->p);
	return pos;
}

/* Marks every slot empty: no position is (size_t)-1, as a token is shorter than the text. */
void lex_cache_init(struct tok_cache *c)
{
	size_t i;

	for (i = 0; i < TOK_CACHE; i++)
		c->slot[i].pos = (size_t)-1;
}

/*
 * The next token of `lx` into `t`, without consuming it: its type.  At the end it is TOK_END (a
 * zero-length token) as often as it is asked for.
 */
enum tok_type lex_peek(const struct lexer *lx, struct token *t)
{
	struct tok_cache *c = lx->cache;
	size_t pos = lx->pos, i = pos % TOK_CACHE;

	if (c && c->slot[i].pos == pos && c->slot[i].end == lx->end) {
		*t = c->slot[i].t;
		return t->type;
	}
	lex_cut(lx->s, pos, lx->end, t);
	if (c) {
		c->slot[i].pos = pos;
		c->slot[i].end = lx->end;
		c->slot[i].t = *t;
	}
	return t->type;
}

/* Cuts the next token from `lx` into `t` and advances past it (not past the end). */
void lex_next(struct lexer *lx, struct token *t)
{
	lex_peek(lx, t);
	lx->pos += t->n;
}

/* Consumes tokens while their type is in `mask`; returns how many. */
int lex_skip(struct lexer *lx, unsigned mask)
{
	struct token t;
	int n;

	for (n = 0;; n++) {
		struct lexer l = *lx;

		lex_next(&l, &t);
		if (!(mask & T(t.type)))
			return n;
		*lx = l;
	}
}

/* Whether `t` is the punctuation mark `c`. */
int lex_is_punct(const struct token *t, char c)
{
	return t->type == TOK_PUNCT && t->n == 1 && t->p[0] == c;
}

/* Whether `t` is a decimal point between digits: '.', ',' or the Arabic ٫. */
int lex_is_decimal_point(const struct token *t)
{
	return lex_is_punct(t, '.') || lex_is_punct(t, ',') ||
	       (t->type == TOK_PUNCT && t->n == 2 && t->p[0] == '\xd9');
}

/* Whether the word `t` starts with a letter (ASCII or Latin), not an emoji or a stray byte. */
int lex_word_is_text(const struct token *t)
{
	unsigned char c = (unsigned char)t->p[0];

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xc3 && c <= 0xc5);
}

/* ---- lexicon ----------------------------------------------------------------------------- */

struct lex_entry {
	const char *word;       /* folded: lower case ASCII, accents removed, ’ as ' */
	unsigned flags;
	int value;
};

/* Sorted by strcmp() of `word`, for bsearch(). */
static const struct lex_entry lexicon[] = {
	{ "a", LX_ARTICLE | LX_RANGE, 0 },
	{ "acho", LX_WEAK, 0 },
	{ "al", LX_RANGE, 0 },
	{ "an", LX_ARTICLE, 0 },
	{ "and", LX_AND, 0 },
	{ "ate", LX_RANGE, 0 },
	{ "avaliacao", LX_STRONG, 0 },
	{ "avalio", LX_STRONG, 0 },
	{ "between", LX_STRONG, 0 },
	{ "calificacion", LX_STRONG, 0 },
	{ "calificaria", LX_STRONG, 0 },
	{ "califico", LX_STRONG, 0 },
	{ "cero", LX_NUM, 0 },
	{ "cinco", LX_NUM, 5 },
	{ "con", LX_FOLLOWER, 0 },
	{ "creo", LX_WEAK, 0 },
	{ "cuatro", LX_NUM, 4 },
	{ "damos", LX_STRONG, 0 },
	{ "dar", LX_STRONG, 0 },
	{ "dare", LX_STRONG, 0 },
	{ "darei", LX_STRONG, 0 },
	{ "daria", LX_STRONG, 0 },
	{ "de", LX_DENOM | LX_FOLLOWER, 0 },
	{ "dez", LX_NUM, 10 },
	{ "diez", LX_NUM, 10 },
	{ "diria", LX_STRONG, 0 },
	{ "dois", LX_NUM, 2 },
	{ "dos", LX_NUM, 2 },
	{ "dou", LX_STRONG, 0 },
	{ "doy", LX_STRONG, 0 },
	{ "duas", LX_NUM, 2 },
	{ "e", LX_AND | LX_FOLLOWER, 0 },       /* also "é" (is) once folded */
	{ "eight", LX_NUM, 8 },
	{ "eleven", LX_NUM, 11 },
	{ "em", LX_DENOM, 0 },
	{ "entre", LX_STRONG, 0 },
	{ "es", LX_WEAK, 0 },
	{ "estrela", LX_UNIT, 0 },
	{ "estrelas", LX_UNIT, 0 },
	{ "estrella", LX_UNIT, 0 },
	{ "estrellas", LX_UNIT, 0 },
	{ "eu", LX_WEAK, 0 },
	{ "five", LX_NUM, 5 },
	{ "four", LX_NUM, 4 },
	{ "gave", LX_STRONG, 0 },
	{ "give", LX_STRONG, 0 },
	{ "half", LX_HALF, 0 },
	{ "i", LX_WEAK, 0 },
	{ "i'd", LX_WEAK, 0 },
	{ "i'll", LX_WEAK, 0 },
	{ "is", LX_WEAK, 0 },
	{ "it", LX_WEAK, 0 },
	{ "le", LX_WEAK, 0 },
	{ "les", LX_WEAK, 0 },
	{ "lhe", LX_WEAK, 0 },
	{ "lo", LX_WEAK, 0 },
	{ "media", LX_HALF, 0 },
	{ "medio", LX_HALF, 0 },
	{ "meio", LX_HALF, 0 },
	{ "merece", LX_STRONG, 0 },
	{ "merecem", LX_STRONG, 0 },
	{ "merecen", LX_STRONG, 0 },
	{ "meu", LX_WEAK, 0 },
	{ "mi", LX_WEAK, 0 },
	{ "minha", LX_WEAK, 0 },
	{ "my", LX_WEAK, 0 },
	{ "nine", LX_NUM, 9 },
	{ "nota", LX_STRONG, 0 },
	{ "nove", LX_NUM, 9 },
	{ "nueve", LX_NUM, 9 },
	{ "o", LX_ALT, 0 },                     /* also "ó" once folded */
	{ "ocho", LX_NUM, 8 },
	{ "of", LX_DENOM, 0 },
	{ "oito", LX_NUM, 8 },
	{ "once", LX_NUM, 11 },
	{ "one", LX_NUM, 1 },
	{ "onze", LX_NUM, 11 },
	{ "or", LX_ALT, 0 },
	{ "ou", LX_ALT, 0 },
	{ "out", LX_OUT, 0 },
	{ "point", LX_UNIT, 0 },
	{ "points", LX_UNIT, 0 },
	{ "pondria", LX_STRONG, 0 },
	{ "ponemos", LX_STRONG, 0 },
	{ "pongo", LX_STRONG, 0 },
	{ "ponto", LX_UNIT, 0 },
	{ "pontos", LX_UNIT, 0 },
	{ "pts", LX_UNIT, 0 },
	{ "puntaje", LX_STRONG, 0 },
	{ "punto", LX_UNIT, 0 },
	{ "puntos", LX_UNIT, 0 },
	{ "puntuacion", LX_STRONG, 0 },
	{ "puntuo", LX_STRONG, 0 },
	{ "quatro", LX_NUM, 4 },
	{ "que", LX_FOLLOWER, 0 },
	{ "rate", LX_STRONG, 0 },
	{ "rating", LX_STRONG, 0 },
	{ "say", LX_STRONG, 0 },
	{ "score", LX_STRONG, 0 },
	{ "seis", LX_NUM, 6 },
	{ "seria", LX_WEAK, 0 },
	{ "sete", LX_NUM, 7 },
	{ "seven", LX_NUM, 7 },
	{ "siete", LX_NUM, 7 },
	{ "six", LX_NUM, 6 },
	{ "sobre", LX_DENOM, 0 },
	{ "solid", LX_WEAK, 0 },
	{ "star", LX_UNIT, 0 },
	{ "stars", LX_UNIT, 0 },
	{ "te", LX_WEAK, 0 },
	{ "ten", LX_NUM, 10 },
	{ "them", LX_WEAK, 0 },
	{ "they", LX_WEAK, 0 },
	{ "think", LX_WEAK, 0 },
	{ "three", LX_NUM, 3 },
	{ "to", LX_RANGE, 0 },
	{ "tres", LX_NUM, 3 },
	{ "two", LX_NUM, 2 },
	{ "u", LX_ALT, 0 },
	{ "um", LX_NUM | LX_ARTICLE, 1 },
	{ "uma", LX_NUM | LX_ARTICLE, 1 },
	{ "un", LX_ARTICLE, 0 },
	{ "una", LX_NUM | LX_ARTICLE, 1 },
	{ "uno", LX_NUM, 1 },
	{ "valoracion", LX_STRONG, 0 },
	{ "valoro", LX_STRONG, 0 },
	{ "vou", LX_WEAK, 0 },
	{ "we", LX_WEAK, 0 },
	{ "we'd", LX_WEAK, 0 },
	{ "would", LX_WEAK, 0 },
	{ "y", LX_AND, 0 },
	{ "yo", LX_WEAK, 0 },
	{ "you", LX_WEAK, 0 },
	{ "zero", LX_NUM, 0 },
};

/* The ASCII letter a Latin-1 letter U+00C0..U+00FF (second UTF-8 byte `b`) folds to, or 0. */
static char fold_latin1(unsigned char b)
{
	/* Upper and lower case share the low five bits: À 0x80 / à 0xA0. */
	static const char base[33] = "aaaaaa\0ceeeeiiii\0nooooo\0\0uuuu\0\0\0";

	return b >= 0x80 && b <= 0xbf ? base[b & 0x1f] : 0;
}

/*
 * Writes the word at p (n bytes) to `buf` in lower case, without accents and with ’ as ', as a
 * NUL-terminated string.  Returns 0 when it cannot be in the lexicon: too long, or a byte that
 * folds to nothing.
 */
static int fold_word(const char *p, size_t n, char buf[FOLD_MAX + 1])
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (o == FOLD_MAX)
			return 0;
		if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
		} else if (c == '\xc3' && i + 1 < n) {
			if (!(c = fold_latin1((unsigned char)p[++i])))
				return 0;
		} else if (lex_at(p, i, n, "\xe2\x80\x99", 3)) {
			c = '\'';
			i += 2;
		} else if ((unsigned char)c >= 0x80 || c == '\0') {
			return 0;
		}
		buf[o++] = c;
	}
	buf[o] = '\0';
	return 1;
}

static int entry_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct lex_entry *)elem)->word);
}

/* The lexicon flags of the word at p (n bytes), 0 when it is not there; its number in *value. */
static unsigned lookup_word(const char *p, size_t n, int *value)
{
	char folded[FOLD_MAX + 1];
	const struct lex_entry *e;

	*value = 0;
	if (n > 2 * FOLD_MAX || !fold_word(p, n, folded))
		return 0;
	e = bsearch(folded, lexicon, sizeof(lexicon) / sizeof(lexicon[0]), sizeof(lexicon[0]),
		    entry_cmp);
	if (!e)
		return 0;
	*value = e->value;
	return e->flags;
}

/* The lexicon flags of token `t` (0 for anything but a known word), its number in *value. */
unsigned lex_word_flags(const struct token *t, int *value)
{
	*value = t->type == TOK_WORD ? t->value : 0;
	return t->type == TOK_WORD ? t->flags : 0;
}

/* The flags of the next token at `lx` when it is a word, else 0. */
unsigned lex_peek_flags(const struct lexer *lx, int *value)
{
	struct token t;

	*value = 0;
	return lex_peek(lx, &t) == TOK_WORD ? lex_word_flags(&t, value) : 0;
}
