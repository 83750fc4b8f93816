/*
 * reply.c - see reply.h.
 *
 * Three layers, so that the grammar can grow without touching the byte handling:
 *
 *   lexer    cuts the reply into tokens: runs of white space, numbers (ASCII, fullwidth and keycap
 *            digits, the 🔟 emoji), punctuation, dashes, slashes, decorations (* _ # " ( ¡ ...),
 *            star emoji, ½, and "words" (every other run of bytes: letters, other emoji, NULs,
 *            invalid sequences).  It never looks at a byte at or past the end it was given.
 *   lexicon  one sorted table of the words the grammar knows (number words, articles, rating
 *            verbs, connectives, units), looked up after folding case and Latin accents.
 *   grammar  a "phrase" is   [decorations] [intro words] number [fraction] [unit] [denominator]
 *            e.g. "*8*", "le doy un 9", "I'd give it a 10", "ocho de diez", "5 ⭐", "9/10".
 *            The reply is scanned left to right for the first phrase that its position allows:
 *              - at the start of the reply, any phrase (a number word must stand apart: "Diez,
 *                gracias" is 10, "Dos veces llamé" is no score); the text after is the comment;
 *              - anywhere, a phrase led by a rating word ("le doy", "nota", "give") whose number
 *                stands apart; the comment is the text before it, or the whole reply when text
 *                follows too;
 *              - at the end of the reply, a bare number ("Muy buena atención, 10"); the comment
 *                is the text before it, and a different in-scale number before it makes the
 *                reply ambiguous.
 *            After the phrase, repeats of the same value are skipped ("10 10 10", "9, 9") and a
 *            different in-scale number offered as an alternative ("7 u 8", "7-8") makes it
 *            ambiguous; numbers further on belong to the comment.
 *
 * Every loop either consumes a token or stops, and lookahead is bounded (INTRO_MAX words), so a
 * reply is read in time linear in its length.
 */
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Digit runs saturate here: any value this large is outside every scale, and it cannot overflow. */
#define NUMBER_SATURATED 100000
/* At most this many intro words lead up to a number ("yo le daría una nota de 9" has 6). */
#define INTRO_MAX 8
/* Longest word the lexicon is asked about, after folding; longer words are in no table. */
#define FOLD_MAX 16

enum tok_type {
	TOK_END, TOK_SPACE, TOK_NUMBER, TOK_PUNCT, TOK_DASH, TOK_SLASH, TOK_DECOR, TOK_STAR,
	TOK_HALF, TOK_WORD,
};

#define T(type) (1u << (type))

struct token {
	enum tok_type type;
	const char *p;          /* first byte of the token */
	size_t n;               /* its length in bytes */
	int value;              /* TOK_NUMBER: the value, saturated at NUMBER_SATURATED;
				   TOK_WORD: the number a number word stands for */
	int newline;            /* TOK_SPACE: it holds a line break */
	unsigned flags;         /* TOK_WORD: its LX_* flags in the lexicon, 0 when not there */
};

/*
 * The grammar looks ahead a few tokens at a time and often looks at the same token again; this
 * remembers the last tokens cut, by position, so that each is lexed (and looked up) about once.
 */
#define TOK_CACHE 32

struct tok_cache {
	struct {
		size_t pos, end;        /* the token cut at pos from s[.., end); pos -1: empty */
		struct token t;
	} slot[TOK_CACHE];
};

struct lexer {
	const char *s;
	size_t pos, end;        /* tokens are cut from s[pos, end) */
	struct tok_cache *cache;        /* may be NULL */
};

/* The trimmed views of one reply, shared by every rule. */
struct ctx {
	enum survey_kind kind;
	const char *s;
	size_t start;           /* first byte after leading white space */
	size_t body;            /* `start` less leading Spanish openers (¡ ¿) too */
	size_t end;             /* one past the last byte, less trailing white space, signatures */
	size_t core_end;        /* `end` less trailing punctuation too */
};

static const char *const stop_words[] = {
	"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
	"BAJA", "PARAR", "CANCELAR", "SAIR", "PARE", NULL,
};
static const char *const start_words[] = { "START", "UNSTOP", "ALTA", NULL };

/*
 * Lines that mail and phone clients append, dropped from the end of a reply (compared as ASCII
 * prefixes, any case, after the line's leading white space).
 */
static const char *const signature_prefixes[] = {
	"sent from my ", "sent from yahoo mail", "sent from outlook", "sent from mail for ",
	"enviado desde mi ", "enviado de mi ", "enviado desde yahoo", "enviado desde outlook",
	"enviado do meu ", "enviado do yahoo", "enviado do outlook",
	"get outlook for ", "obtener outlook para ", "obter o outlook para ", "baixe o outlook",
	NULL,
};

/* ---- lexer ------------------------------------------------------------------------------- */

/* Whether the n bytes of `seq` are at s[pos] (pos <= end). */
static int at(const char *s, size_t pos, size_t end, const char *seq, size_t n)
{
	return end - pos >= n && memcmp(s + pos, seq, n) == 0;
}

/* Length of the white-space character at s[pos] (ASCII or UTF-8 NBSP), 0 when there is none. */
static size_t space_len(const char *s, size_t pos, size_t end)
{
	switch (s[pos]) {
	case ' ': case '\t': case '\n': case '\v': case '\f': case '\r':
		return 1;
	case '\xc2':
		return at(s, pos, end, "\xc2\xa0", 2) ? 2 : 0;
	}
	return 0;
}

/*
 * Length of the digit at s[pos] and its value in *d: an ASCII digit (with the keycap sequence
 * U+FE0F U+20E3 or U+20E3 after it: "9️⃣", "9⃣"), a fullwidth digit U+FF10..U+FF19, or the
 * keycap ten 🔟 (*d = 10).  0 when no digit starts there.
 */
static size_t digit_len(const char *s, size_t pos, size_t end, int *d)
{
	unsigned char c = (unsigned char)s[pos];

	if (c >= '0' && c <= '9') {
		*d = c - '0';
		if (at(s, pos + 1, end, "\xef\xb8\x8f\xe2\x83\xa3", 6))
			return 7;
		if (at(s, pos + 1, end, "\xe2\x83\xa3", 3))
			return 4;
		return 1;
	}
	if (c == 0xef && end - pos >= 3 && s[pos + 1] == '\xbc' &&
	    (unsigned char)s[pos + 2] >= 0x90 && (unsigned char)s[pos + 2] <= 0x99) {
		*d = (unsigned char)s[pos + 2] - 0x90;
		return 3;
	}
	if (at(s, pos, end, "\xf0\x9f\x94\x9f", 4)) {
		*d = 10;
		return 4;
	}
	return 0;
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
		{ "\xe2\xad\x90", 3, TOK_STAR },        /* ⭐ */
		{ "\xe2\x98\x85", 3, TOK_STAR },        /* ★ */
		{ "\xf0\x9f\x8c\x9f", 4, TOK_STAR },    /* 🌟 */
		{ "\xc2\xbd", 2, TOK_HALF },            /* ½ */
	};
	size_t i;

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
	if (s[pos] != '\xc2' && s[pos] != '\xe2' && s[pos] != '\xef' && s[pos] != '\xf0')
		return 0;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		if (at(s, pos, end, marks[i].seq, marks[i].n)) {
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
	return at(s, pos, end, "\xe2\x80\x99", 3) ? 3 : 0;
}

/* Length of whatever starts a token other than a word at s[pos], its type in *type; 0: a word. */
static size_t other_len(const char *s, size_t pos, size_t end, enum tok_type *type, int *d)
{
	size_t k;

	if ((k = space_len(s, pos, end))) {
		*type = TOK_SPACE;
		return k;
	}
	if ((k = digit_len(s, pos, end, d))) {
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

	t->p = s + pos;
	t->value = 0;
	t->newline = 0;
	t->flags = 0;
	t->type = TOK_END;
	if (pos < end && !(k = other_len(s, pos, end, &type, &d))) {
		t->type = TOK_WORD;
		for (pos++; pos < end; pos += k) {
			if (plain_word_byte((unsigned char)s[pos])) {
				k = 1;
				continue;
			}
			if ((k = apostrophe_len(s, pos, end)))
				continue;
			if (other_len(s, pos, end, &type, &d))
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
			while (pos < end && (k = digit_len(s, pos, end, &d)) && d < 10) {
				if (t->value < NUMBER_SATURATED)
					t->value = t->value * 10 + d;
				pos += k;
			}
		} else if (type == TOK_SPACE || type == TOK_STAR) {
			/* A run; star emoji keep the VS16 that often follows them ("⭐️"). */
			do {
				t->newline |= s[pos] == '\n' || s[pos] == '\r';
				pos += k;
			} while (pos < end && (k = other_len(s, pos, end, &type, &d)) &&
				 (type == t->type || (t->type == TOK_STAR &&
						      at(s, pos, end, "\xef\xb8\x8f", 3))));
		} else {
			pos += k;
		}
	}
	t->n = (size_t)(s + pos - t->p);
	return pos;
}

/*
 * The next token of `lx` into `t`, without consuming it: its type.  At the end it is TOK_END (a
 * zero-length token) as often as it is asked for.
 */
static enum tok_type lex_peek(const struct lexer *lx, struct token *t)
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
static void lex_next(struct lexer *lx, struct token *t)
{
	lex_peek(lx, t);
	lx->pos += t->n;
}

/* Consumes tokens while their type is in `mask`; returns how many. */
static int lex_skip(struct lexer *lx, unsigned mask)
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
static int is_punct(const struct token *t, char c)
{
	return t->type == TOK_PUNCT && t->n == 1 && t->p[0] == c;
}

/* Whether the word `t` starts with a letter (ASCII or Latin), not an emoji or a stray byte. */
static int word_is_text(const struct token *t)
{
	unsigned char c = (unsigned char)t->p[0];

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= 0xc3 && c <= 0xc5);
}

/* ---- lexicon ----------------------------------------------------------------------------- */

enum {
	LX_NUM = 1 << 0,        /* a number word; `value` holds it */
	LX_ARTICLE = 1 << 1,    /* an article before a number: "un 8", "uma nota 7", "a 10" */
	LX_WEAK = 1 << 2,       /* may lead up to a number: "yo", "le", "es", "I'd", "eu" */
	LX_STRONG = 1 << 3,     /* names a rating: "doy", "nota", "give", "entre" */
	LX_FOLLOWER = 1 << 4,   /* an intro word only after another one: "creo que", "nota de" */
	LX_ALT = 1 << 5,        /* joins alternatives: "o", "u", "or", "ou" */
	LX_AND = 1 << 6,        /* joins numbers or a half: "y", "e", "and" */
	LX_RANGE = 1 << 7,      /* joins a range: "a", "al", "to", "até" */
	LX_DENOM = 1 << 8,      /* introduces the scale's top: "de", "of", "sobre", "em" */
	LX_OUT = 1 << 9,        /* "out" of "out of 10" */
	LX_HALF = 1 << 10,      /* "medio", "meio", "half" */
	LX_UNIT = 1 << 11,      /* "estrellas", "stars", "puntos" */
};

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
		} else if (at(p, i, n, "\xe2\x80\x99", 3)) {
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
static unsigned word_flags(const struct token *t, int *value)
{
	*value = t->type == TOK_WORD ? t->value : 0;
	return t->type == TOK_WORD ? t->flags : 0;
}

/* The flags of the next token at `lx` when it is a word, else 0. */
static unsigned peek_flags(const struct lexer *lx, int *value)
{
	struct token t;

	*value = 0;
	return lex_peek(lx, &t) == TOK_WORD ? word_flags(&t, value) : 0;
}

/* ---- trimming, signatures and keywords --------------------------------------------------- */

/* Whether the line s[from, to) is a client's signature or a signature delimiter ("--"). */
static int is_signature_line(const char *s, size_t from, size_t to)
{
	const char *const *p;
	size_t k, i;

	while (from < to && (k = space_len(s, from, to)))
		from += k;
	for (i = from; i < to && (s[i] == '-' || s[i] == '_'); i++)
		;
	if (i == to && to - from >= 2)
		return 1;
	for (p = signature_prefixes; *p; p++) {
		size_t n = strlen(*p);

		if (to - from < n)
			continue;
		for (i = 0; i < n; i++) {
			char c = s[from + i];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != (*p)[i])
				break;
		}
		if (i == n)
			return 1;
	}
	return 0;
}

/* `e` less the white space before it (ASCII and NBSP), not going below `floor`. */
static size_t trim_back(const char *s, size_t floor, size_t e, int also_punct)
{
	for (;;) {
		if (e > floor && (space_len(s, e - 1, e) == 1 ||
				  (also_punct && strchr(".!?,;:", s[e - 1]) && s[e - 1])))
			e--;
		else if (e >= floor + 2 && at(s, e - 2, e, "\xc2\xa0", 2))
			e -= 2;
		else if (also_punct && e >= floor + 3 && at(s, e - 3, e, "\xe2\x80\xa6", 3))
			e -= 3;
		else
			return e;
	}
}

/*
 * Fills the trimmed views of `s` (len bytes): leading white space goes from `start`, openers too
 * from `body`; trailing white space and trailing signature lines go from `end`, trailing
 * punctuation too from `core_end`.
 */
static void ctx_init(struct ctx *c, enum survey_kind kind, const char *s, size_t len)
{
	struct lexer lx = { s, 0, len, NULL };
	struct token t;
	size_t e, nl;

	c->kind = kind;
	c->s = s;
	lex_skip(&lx, T(TOK_SPACE));
	c->start = lx.pos;
	while (lex_peek(&lx, &t) == TOK_SPACE || (t.type == TOK_DECOR && t.n == 2 &&
						 (t.p[1] == '\xa1' || t.p[1] == '\xbf')))
		lex_next(&lx, &t);
	c->body = lx.pos;
	e = trim_back(s, c->start, len, 0);
	for (;;) {
		for (nl = e; nl > c->start && s[nl - 1] != '\n' && s[nl - 1] != '\r'; nl--)
			;
		if (nl == c->start || !is_signature_line(s, nl, e))
			break;
		e = trim_back(s, c->start, nl, 0);
	}
	c->end = e < c->body ? c->body : e;
	c->core_end = trim_back(s, c->body, c->end, 1);
}

/* Case-insensitive comparison of the `n` bytes at `p` with the whole of `word` (upper case). */
static int word_equals(const char *p, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char a = p[i];

		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (word[i] == '\0' || a != word[i])   /* a NUL in `p` must not match the end */
			return 0;
	}
	return word[n] == '\0';
}

static int word_in(const char *p, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (word_equals(p, n, *words))
			return 1;
	return 0;
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

/* ---- numbers and phrases ----------------------------------------------------------------- */

/* One number as written, with what was attached to it. */
struct number {
	int value;              /* saturated at NUMBER_SATURATED */
	int is_word;            /* spelled out: "nueve" */
	int negative;           /* "-1" */
	int fraction;           /* "9.5", "9,5", "9½", "nueve y medio" */
	int has_unit;           /* "5 estrellas", "5 ⭐" */
	int has_denom;          /* "/10", "de 10", "out of 10" */
	int denom_bad;          /* ... and that top is not the scale's: "9/12" for NPS */
};

static int in_scale(enum survey_kind kind, int v)
{
	return v >= kind_min(kind) && v <= kind_max(kind);
}

/* Consumes "y medio", "e meio", "and a half", "½" after a number; returns whether it did. */
static int read_half(struct lexer *lx)
{
	struct lexer l = *lx;
	struct token t;
	int v;

	if (lex_peek(&l, &t) == TOK_HALF) {
		lex_next(lx, &t);
		return 1;
	}
	if (!lex_skip(&l, T(TOK_SPACE)))
		return 0;
	if (lex_peek(&l, &t) == TOK_HALF) {
		lex_next(&l, &t);
		*lx = l;
		return 1;
	}
	if (!(peek_flags(&l, &v) & LX_AND))
		return 0;
	lex_next(&l, &t);
	if (!lex_skip(&l, T(TOK_SPACE)))
		return 0;
	if (lex_peek(&l, &t) == TOK_WORD && word_equals(t.p, t.n, "A")) {
		lex_next(&l, &t);
		lex_skip(&l, T(TOK_SPACE));
	}
	if (!(peek_flags(&l, &v) & LX_HALF))
		return 0;
	lex_next(&l, &t);
	*lx = l;
	return 1;
}

/* Consumes "estrellas", "stars", "⭐⭐", "⭐ ⭐" after a number; returns whether it did. */
static int read_unit_word(struct lexer *lx)
{
	struct lexer l = *lx;
	struct token t;
	int v;

	lex_skip(&l, T(TOK_SPACE));
	if (lex_peek(&l, &t) == TOK_STAR) {
		do {
			lex_next(&l, &t);
			*lx = l;
			lex_skip(&l, T(TOK_SPACE));
		} while (lex_peek(&l, &t) == TOK_STAR);
		return 1;
	}
	if (!(peek_flags(&l, &v) & LX_UNIT))
		return 0;
	lex_next(&l, &t);
	*lx = l;
	return 1;
}

/* How read_number() reads: whether number words count; whether it reads a scale's top. */
enum { RN_WORDS = 1, RN_TOP = 2 };

static int read_number(const struct ctx *c, struct lexer *lx, unsigned how, struct number *n);

/*
 * Consumes a denominator after a number: "/10", " / 10", " de 10", " de diez", " of 10",
 * " out of 10", " sobre 10".  Returns 1 when it did, 0 when there is none, -1 when the slash
 * makes the number something else ("9/12/2024", "9/10abc").
 */
static int read_denominator(const struct ctx *c, struct lexer *lx, struct number *n)
{
	struct lexer l = *lx;
	struct token t;
	struct number top;
	int spaced, slash = 0, v;
	unsigned f;

	spaced = lex_skip(&l, T(TOK_SPACE));
	f = peek_flags(&l, &v);
	if (lex_peek(&l, &t) == TOK_SLASH) {
		slash = 1;
		lex_next(&l, &t);
		lex_skip(&l, T(TOK_SPACE));
		if (lex_peek(&l, &t) != TOK_NUMBER)
			return 0;
	} else if (spaced && (f & (LX_DENOM | LX_OUT))) {
		lex_next(&l, &t);
		if (!lex_skip(&l, T(TOK_SPACE)))
			return 0;
		if (f & LX_OUT) {
			if (lex_peek(&l, &t) != TOK_WORD || !word_equals(t.p, t.n, "OF"))
				return 0;
			lex_next(&l, &t);
			if (!lex_skip(&l, T(TOK_SPACE)))
				return 0;
		}
	} else {
		return 0;
	}
	if (!read_number(c, &l, RN_TOP | (slash ? 0 : RN_WORDS), &top) || top.negative ||
	    top.fraction)
		return slash ? -1 : 0;
	n->has_denom = 1;
	n->denom_bad = top.value != kind_max(c->kind);
	*lx = l;
	return 1;
}

/*
 * Reads one number at `lx` with what is attached to it: a minus sign, digits or (with RN_WORDS)
 * a number word, a fraction, closing decorations ("*8*"), then, unless it is a top (RN_TOP), a
 * unit and a denominator.  A number glued to a word ("9abc", "10%") or to more digits through
 * punctuation ("9.5.5", "9:30") is no number, and so is a top followed by another slash.
 * Returns 1 and advances `lx` when it read one; else 0, `lx` untouched.
 */
static int read_number(const struct ctx *c, struct lexer *lx, unsigned how, struct number *n)
{
	struct lexer l = *lx, peek;
	struct token t, u;

	memset(n, 0, sizeof(*n));
	lex_next(&l, &t);
	/* '-' or U+2212 glued to digits; not the en and em dashes, which also lex as TOK_DASH. */
	if (t.type == TOK_DASH && (t.p[0] == '-' || (t.n == 3 && t.p[1] == '\x88')) &&
	    lex_peek(&l, &u) == TOK_NUMBER) {
		n->negative = 1;
		lex_next(&l, &t);
	}
	if (t.type == TOK_NUMBER) {
		n->value = t.value;
		peek = l;
		lex_next(&peek, &u);
		if ((is_punct(&u, '.') || is_punct(&u, ',')) && lex_peek(&peek, &u) == TOK_NUMBER) {
			lex_next(&peek, &u);
			l = peek;
			n->fraction = 1;
		}
		if (lex_peek(&l, &u) == TOK_WORD)
			return 0;
	} else if (t.type == TOK_WORD && (how & RN_WORDS) &&
		   (word_flags(&t, &n->value) & LX_NUM)) {
		n->is_word = 1;
	} else {
		return 0;
	}
	peek = l;
	lex_next(&peek, &u);
	if ((u.type == TOK_PUNCT || (u.type == TOK_SLASH && (how & RN_TOP))) &&
	    lex_peek(&peek, &u) == TOK_NUMBER)
		return 0;
	n->fraction |= read_half(&l);
	lex_skip(&l, T(TOK_DECOR));
	if (!(how & RN_TOP)) {
		n->has_unit = read_unit_word(&l);
		switch (read_denominator(c, &l, n)) {
		case -1:
			return 0;
		case 1:
			lex_skip(&l, T(TOK_DECOR));
			if (!n->has_unit)
				n->has_unit = read_unit_word(&l);
			break;
		}
	}
	*lx = l;
	return 1;
}

/* A number and the intro words before it, as found in the reply. */
struct phrase {
	struct number num;
	size_t start;           /* where the phrase starts, decorations included */
	int fillers;            /* intro words and articles read */
	int strong;             /* one of them names a rating ("doy", "nota", "give") */
	size_t stop;            /* no phrase: where reading stopped; none starts before it */
};

/*
 * Whether the word at `lx`, an article that is also the number one ("una", "um", "uma"), is used
 * as an article: a number or an intro word follows it ("uma nota 7", "una 9"), not another
 * such word ("una una").
 */
static int article_use(const struct lexer *lx)
{
	struct lexer l = *lx;
	struct token t;
	unsigned f;
	int v;

	lex_next(&l, &t);
	if (!lex_skip(&l, T(TOK_SPACE)))
		return 0;
	if (lex_peek(&l, &t) == TOK_NUMBER)
		return 1;
	f = peek_flags(&l, &v);
	return (f & (LX_WEAK | LX_STRONG)) || ((f & LX_NUM) && !(f & LX_ARTICLE));
}

/* Whether the word at `lx`, with flags `f`, is an intro word, given whether one came before. */
static int intro_word(const struct lexer *lx, unsigned f, int after_another)
{
	if (f & LX_NUM)
		return (f & LX_ARTICLE) && article_use(lx);
	return (f & (LX_ARTICLE | LX_WEAK | LX_STRONG)) || ((f & LX_FOLLOWER) && after_another);
}

/*
 * Reads a phrase at `lx`: decorations or a bullet dash, intro words each followed by white space
 * or ':', then a number; of a longer run of intro words only the last INTRO_MAX lead up to the
 * number ("le le le ... doy un 9"), so that a run is read once, not once from each of its words.
 * Returns 1 and advances `lx` past the number when there is one; else 0 with ph->stop set.
 */
static int read_phrase(const struct ctx *c, struct lexer *lx, struct phrase *ph)
{
	struct { size_t pos; unsigned flags; } ring[INTRO_MAX];   /* the last intro words */
	struct lexer l = *lx, bullet;
	struct token t;
	size_t n, first, num_pos;
	int v;

	ph->start = l.pos;
	ph->fillers = ph->strong = 0;
	lex_skip(&l, T(TOK_DECOR));
	bullet = l;
	lex_next(&bullet, &t);
	if (t.type == TOK_DASH && lex_skip(&bullet, T(TOK_SPACE)))
		l = bullet;     /* "- 9"; "-9" is a negative number */
	for (n = 0;; n++) {
		unsigned f = peek_flags(&l, &v);
		size_t pos = l.pos;
		int colon;

		if (!intro_word(&l, f, n > 0))
			break;
		lex_next(&l, &t);
		lex_skip(&l, T(TOK_DECOR));
		colon = lex_peek(&l, &t) == TOK_PUNCT && is_punct(&t, ':');
		if (colon)
			lex_next(&l, &t);
		if (!lex_skip(&l, T(TOK_SPACE) | T(TOK_DECOR)) && !colon) {
			ph->stop = l.pos;
			return 0;
		}
		ring[n % INTRO_MAX].pos = pos;
		ring[n % INTRO_MAX].flags = f;
	}
	num_pos = l.pos;
	if (!read_number(c, &l, RN_WORDS, &ph->num)) {
		ph->stop = l.pos;
		return 0;
	}
	/* The window may not start with a word that needs another before it ("que", "de"). */
	first = n > INTRO_MAX ? n - INTRO_MAX : 0;
	while (first < n && !(ring[first % INTRO_MAX].flags & (LX_ARTICLE | LX_WEAK | LX_STRONG)))
		first++;
	if (first > 0)
		ph->start = first < n ? ring[first % INTRO_MAX].pos : num_pos;
	ph->fillers = (int)(n - first);
	for (; first < n; first++)
		ph->strong |= (ring[first % INTRO_MAX].flags & LX_STRONG) != 0;
	*lx = l;
	return 1;
}

/* What separates a number from the next: see read_separator(). */
enum { SEP_NONE, SEP_SPACE, SEP_DASH, SEP_WORD };

/*
 * Consumes separators after a number and returns what kind: SEP_SPACE white space or a comma
 * ("7 8", "9, 9"), SEP_DASH a dash ("7-8"), SEP_WORD a connective word ("7 u 8", "entre 7 y
 * 8"), after which an article is skipped too ("un 7 o un 8").
 */
static int read_separator(struct lexer *lx)
{
	struct token t;
	int kind = lex_skip(lx, T(TOK_SPACE)) ? SEP_SPACE : SEP_NONE, v;
	unsigned f;

	if (lex_peek(lx, &t) == TOK_PUNCT && (is_punct(&t, ',') || is_punct(&t, ';'))) {
		lex_next(lx, &t);
		lex_skip(lx, T(TOK_SPACE));
		kind = SEP_SPACE;
	} else if (t.type == TOK_DASH) {
		lex_next(lx, &t);
		lex_skip(lx, T(TOK_SPACE));
		return SEP_DASH;
	}
	f = peek_flags(lx, &v);
	if (kind && (f & (LX_ALT | LX_AND | LX_RANGE))) {
		struct lexer l = *lx;

		lex_next(&l, &t);
		if (!lex_skip(&l, T(TOK_SPACE)))
			return kind;
		*lx = l;
		f = peek_flags(lx, &v);
		if ((f & LX_ARTICLE) && (!(f & LX_NUM) || article_use(lx))) {
			lex_next(&l, &t);
			if (lex_skip(&l, T(TOK_SPACE)))
				*lx = l;
		}
		return SEP_WORD;
	}
	return kind;
}

/* Skips repeats of the number `n` after it: "10 10 10", "9, 9", "10/10 10/10", "🔟🔟". */
static void skip_repeats(const struct ctx *c, struct lexer *lx, const struct number *n)
{
	for (;;) {
		struct lexer l = *lx;
		struct number again;

		if (read_separator(&l) == SEP_WORD ||
		    !read_number(c, &l, n->is_word ? RN_WORDS : 0, &again) ||
		    again.value != n->value || again.negative || again.fraction || again.denom_bad)
			return;
		*lx = l;
	}
}

/* Whether a different in-scale number is offered right after `n`: "7 8", "7 u 8", "7-8". */
static int alternative_follows(const struct ctx *c, const struct lexer *lx,
			       const struct number *n)
{
	struct lexer l = *lx;
	struct number alt;
	int sep = read_separator(&l);

	return sep && read_number(c, &l, sep != SEP_SPACE ? RN_WORDS : 0, &alt) && !alt.negative &&
	       !alt.fraction && alt.value != n->value && in_scale(c->kind, alt.value);
}

/*
 * Whether a number word read without intro, unit or denominator stands apart from what follows,
 * so that it is an answer and not the start of a sentence: "Diez!", "Ocho. Muy bien", "Diez 👍"
 * yes; "Dos veces llamé", "Una maravilla", "Cero problemas" no.
 */
static int stands_apart(const struct phrase *ph, const struct lexer *lx)
{
	const struct number *n = &ph->num;
	struct lexer l = *lx;
	struct token t;

	if (!n->is_word || ph->fillers || n->has_unit || n->has_denom || n->fraction)
		return 1;
	if (lex_peek(&l, &t) == TOK_SPACE) {
		if (t.newline)
			return 1;
		lex_next(&l, &t);
		lex_peek(&l, &t);
	}
	return t.type != TOK_WORD || !word_is_text(&t);
}

/* Whether only punctuation, decorations and emoji remain from `lx` to the end of the reply. */
static int reaches_end(const struct lexer *lx)
{
	struct lexer l = *lx;
	struct token t;

	for (;;) {
		lex_next(&l, &t);
		if (t.type == TOK_END)
			return 1;
		if (t.type == TOK_WORD ? word_is_text(&t) :
		    !(T(t.type) & (T(TOK_SPACE) | T(TOK_PUNCT) | T(TOK_DASH) | T(TOK_DECOR) |
				   T(TOK_STAR))))
			return 0;
	}
}

/* ---- the reply --------------------------------------------------------------------------- */

/* What the scan has seen before the phrase it is looking at. */
struct scan {
	unsigned seen;          /* bit v: an in-scale number v stood on its own */
	int apart;              /* the last mark was punctuation or a line break: "Gracias. Diez" */
};

/* The comment is s[from, to), or none when only punctuation is there. */
static void set_comment(const struct ctx *c, size_t from, size_t to, struct reply *out)
{
	if (from < to && trim_back(c->s, from, to, 1) > from) {
		out->comment = c->s + from;
		out->comment_len = to - from;
	}
}

/* The comment is the text after a leading phrase, past separators: "10. Muy bien". */
static void comment_after(const struct ctx *c, const struct lexer *lx, struct reply *out)
{
	struct lexer l = *lx;

	lex_skip(&l, T(TOK_SPACE) | T(TOK_PUNCT) | T(TOK_DASH));
	if (l.pos < c->core_end)
		set_comment(c, l.pos, c->end, out);
}

/* The comment is the text before a phrase at `start`, less separators ("Muy bien, 10"). */
static void comment_before(const struct ctx *c, size_t start, struct reply *out)
{
	size_t e = start;

	for (;;) {
		e = trim_back(c->s, c->start, e, 0);
		if (e > c->start && strchr(",;:-", c->s[e - 1]) && c->s[e - 1])
			e--;
		else if (e >= c->start + 3 && (at(c->s, e - 3, e, "\xe2\x80\x93", 3) ||
					       at(c->s, e - 3, e, "\xe2\x80\x94", 3)))
			e -= 3;
		else
			break;
	}
	set_comment(c, c->start, e, out);
}

/*
 * Decides what the phrase `ph`, with `lx` just after it, makes of the reply, given where it is.
 * Returns 1 when `out` is filled, 0 when the phrase is no answer there and the scan goes on.
 */
static int take_phrase(const struct ctx *c, const struct phrase *ph, struct lexer *lx,
		       const struct scan *sc, struct reply *out)
{
	const struct number *n = &ph->num;
	enum reply_reason reason = REASON_NONE;
	int alt = 0, tail;

	if (n->fraction)
		reason = REASON_NOT_INTEGER;
	else if (n->denom_bad)
		reason = REASON_AMBIGUOUS;
	else if (n->negative || !in_scale(c->kind, n->value))
		reason = REASON_OUT_OF_RANGE;
	if (!reason) {
		skip_repeats(c, lx, n);
		alt = alternative_follows(c, lx, n);
		reason = alt ? REASON_AMBIGUOUS : REASON_NONE;
	}
	if (!alt && !stands_apart(ph, lx))
		return 0;
	tail = ph->start != c->body && reaches_end(lx);
	if (ph->start != c->body && !ph->strong) {
		/* A bare number inside the text is no answer; at its end, only a plain one. */
		if (!tail || (n->is_word && !ph->fillers && !sc->apart))
			return 0;
		if (!ph->fillers && ((reason == REASON_OUT_OF_RANGE && !n->has_denom) ||
				     n->denom_bad))
			return 0;       /* "mi pedido 12345", "llegó el 9/12" */
		if (!reason && !ph->fillers && (sc->seen & ~(1u << n->value)))
			reason = REASON_AMBIGUOUS;
	}
	out->reason = reason;
	if (reason)
		return 1;
	out->outcome = REPLY_SCORE;
	out->score = n->value;
	if (ph->start == c->body)
		comment_after(c, lx, out);
	else if (tail)
		comment_before(c, ph->start, out);
	else
		set_comment(c, c->start, c->end, out);
	return 1;
}

/*
 * Rule: the first phrase, left to right, that its place in the reply makes an answer (see the
 * top of this file).  A phrase may start at a token that follows white space, punctuation or the
 * start, not one glued to a word or a number ("abc9", "9.5.5"), and at the first of a run of
 * decorations only.  Once a phrase is turned down or reading one stops, none is tried inside
 * what was read: one that starts there would end alike, and trying each would make long runs of
 * intro words or repeats quadratic.
 */
static int rule_score(const struct ctx *c, struct reply *out)
{
	struct tok_cache cache;
	struct lexer lx = { c->s, c->body, c->end, &cache };
	struct scan sc = { 0, 1 };
	enum tok_type prev = TOK_SPACE;     /* the last token that was not a decoration */
	enum tok_type before_punct = TOK_SPACE, last = TOK_SPACE;
	struct token t, u;
	size_t i, resume = 0;

	for (i = 0; i < TOK_CACHE; i++)
		cache.slot[i].pos = (size_t)-1;
	while (lex_peek(&lx, &t) != TOK_END) {
		int boundary = prev == TOK_SPACE || prev == TOK_STAR ||
			       ((prev == TOK_PUNCT || prev == TOK_DASH) &&
				before_punct != TOK_NUMBER);

		if (boundary && lx.pos >= resume &&
		    (T(t.type) & (T(TOK_WORD) | T(TOK_NUMBER) | T(TOK_DASH))
		     || (t.type == TOK_DECOR && last != TOK_DECOR))) {
			struct lexer l = lx;
			struct phrase ph;

			if (!read_phrase(c, &l, &ph))
				resume = ph.stop;
			else if (take_phrase(c, &ph, &l, &sc, out))
				return 1;
			else
				resume = l.pos;
		}
		lex_next(&lx, &t);
		last = t.type;
		if (t.type == TOK_NUMBER && boundary && lex_peek(&lx, &u) != TOK_WORD &&
		    in_scale(c->kind, t.value))
			sc.seen |= 1u << t.value;
		if (t.type == TOK_DECOR)
			continue;
		if (t.type == TOK_SPACE)
			sc.apart = t.newline || prev == TOK_PUNCT || prev == TOK_DASH;
		else
			sc.apart = t.type == TOK_PUNCT || t.type == TOK_DASH;
		before_punct = prev;
		prev = t.type;
	}
	return 0;
}

/*
 * Runs the rules in order; the first that recognises the reply wins.  `out` starts as "no
 * number, empty comment" (the comment pointer is the input, never NULL unless the input is), so
 * a rule only sets what it decides.
 */
void reply_parse(enum survey_kind kind, const char *text, size_t len, struct reply *out)
{
	struct ctx c;

	out->outcome = REPLY_INVALID;
	out->reason = REASON_NO_NUMBER;
	out->score = 0;
	out->comment = text;
	out->comment_len = 0;
	if (!text || (unsigned)kind >= KIND__COUNT)
		return;
	ctx_init(&c, kind, text, len);
	if (rule_keyword(&c, out) || rule_score(&c, out)) {
		if (out->outcome != REPLY_INVALID)
			out->reason = REASON_NONE;
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

/* ---- JSON -------------------------------------------------------------------------------- */

/* Output that counts every byte and stores those that fit. */
struct out_buf {
	char *buf;
	size_t cap, len;
};

static void put(struct out_buf *o, const char *p, size_t n)
{
	if (o->len < o->cap) {
		size_t room = o->cap - o->len;

		memcpy(o->buf + o->len, p, n < room ? n : room);
	}
	o->len += n;
}

static void put_str(struct out_buf *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_int(struct out_buf *o, int v)
{
	char digits[16];
	size_t i = sizeof(digits);
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		digits[--i] = '-';
	put(o, digits + i, sizeof(digits) - i);
}

/* Length of the UTF-8 sequence its lead byte announces, 0 for a byte that leads none. */
static size_t utf8_lead_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	return c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

/* The n bytes at p as the inside of a JSON string; invalid UTF-8 becomes U+FFFD. */
static void put_json_string(struct out_buf *o, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, run, k;

	while (i < n) {
		unsigned char c = u[i];

		for (run = i; run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' &&
			      u[run] != '\\'; run++)
			;
		if (run > i) {
			put(o, p + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			put(o, esc, 2);
		} else if (c == '\n') {
			put_str(o, "\\n");
		} else if (c == '\r') {
			put_str(o, "\\r");
		} else if (c == '\t') {
			put_str(o, "\\t");
		} else if (c < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			put(o, esc, 6);
		} else if ((k = utf8_lead_len(c)) && k <= n - i && utf8_valid(p + i, k)) {
			put(o, p + i, k);
			i += k;
			continue;
		} else {
			put_str(o, "\xef\xbf\xbd");
		}
		i++;
	}
}

size_t reply_format_json(const struct reply *r, char *buf, size_t cap)
{
	struct out_buf o = { buf, cap, 0 };

	put_str(&o, "{\"outcome\":\"");
	put_str(&o, reply_outcome_name(r->outcome));
	put_str(&o, "\"");
	if (r->outcome == REPLY_SCORE) {
		put_str(&o, ",\"score\":");
		put_int(&o, r->score);
		put_str(&o, ",\"comment\":\"");
		if (r->comment)
			put_json_string(&o, r->comment, r->comment_len);
		put_str(&o, "\"");
	} else if (r->outcome == REPLY_INVALID) {
		put_str(&o, ",\"reason\":\"");
		put_str(&o, reply_reason_name(r->reason));
		put_str(&o, "\"");
	}
	put_str(&o, "}");
	if (cap)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}
