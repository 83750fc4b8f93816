/*
 * reply_lex.h - the lexer and word lexicon of the reply parser.
 *
 * Private to the reply parser: only survey/reply.c (the grammar) and survey/reply_lex.c include
 * it.  Everyone else goes through reply.h.
 *
 *   lexer    cuts the reply into tokens: runs of white space, numbers (the decimal digits of
 *            every script, keycap digits, the 🔟 emoji), punctuation, dashes, slashes,
 *            decorations (* _ # " ( ¡ ...), runs of stars, ½, and "words" (every other run of
 *            bytes: letters, other emoji, NULs, invalid sequences).  It never looks at a byte at
 *            or past the end it was given.
 *   lexicon  one sorted table of the words the grammar knows (number words, articles, rating
 *            verbs, connectives, units), looked up after folding case and Latin accents.  Each
 *            word token carries its lexicon flags (LX_*) and, for a number word, its value.
 *
 * Like the parser, all of it is pure: no I/O, no allocation, no global state.  Tokens point into
 * the text being lexed and are valid while it is.  Every token but TOK_END is at least one byte
 * long, so a loop that consumes a token each turn ends.
 */
#ifndef GW_REPLY_LEX_H
#define GW_REPLY_LEX_H

#include <stddef.h>

/* Digit runs saturate here: any value this large is outside every scale, and it cannot overflow. */
#define NUMBER_SATURATED 100000

enum tok_type {
	TOK_END, TOK_SPACE, TOK_NUMBER, TOK_PUNCT, TOK_DASH, TOK_SLASH, TOK_DECOR, TOK_STAR,
	TOK_HALF, TOK_WORD,
};

/* The bit of token type `type` in a mask of types, as lex_skip() takes. */
#define T(type) (1u << (type))

struct token {
	enum tok_type type;
	const char *p;          /* first byte of the token */
	size_t n;               /* its length in bytes */
	int value;              /* TOK_NUMBER: the value, saturated at NUMBER_SATURATED;
				   TOK_WORD: the number a number word stands for;
				   TOK_STAR: how many filled stars (⭐ ★ 🌟), saturated too */
	int empty;              /* TOK_STAR: how many empty stars (☆), saturated too */
	int newline;            /* TOK_SPACE: it holds a line break */
	int mixed;              /* TOK_NUMBER: its digits come from different sets of ten, "1٠"
				   (ASCII digits and keycaps are one set) */
	unsigned flags;         /* TOK_WORD: its LX_* flags in the lexicon, 0 when not there */
};

/*
 * The grammar looks ahead a few tokens at a time and often looks at the same token again; this
 * remembers the last tokens cut, by position, so that each is lexed (and looked up) about once.
 * Set it up with lex_cache_init() before a lexer uses it.
 */
#define TOK_CACHE 32

struct tok_cache {
	struct {
		size_t pos, end;        /* the token cut at pos from s[.., end); pos -1: empty */
		struct token t;
	} slot[TOK_CACHE];
};

/*
 * A position in a text.  It is a plain value: copy it to look ahead, assign the copy back to
 * consume what was looked at.  Copies may share one cache.
 */
struct lexer {
	const char *s;
	size_t pos, end;        /* tokens are cut from s[pos, end) */
	struct tok_cache *cache;        /* may be NULL; the caller owns it */
};

/* A word's flags in the lexicon. */
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

/* ---- bytes: helpers the grammar shares for trimming ---------------------------------------- */

/* Whether the n bytes of `seq` are at s[pos] (pos <= end). */
int lex_at(const char *s, size_t pos, size_t end, const char *seq, size_t n);

/* Length of the white-space character at s[pos] (ASCII or UTF-8 NBSP), 0 when there is none. */
size_t lex_space_len(const char *s, size_t pos, size_t end);

/* ---- tokens ---------------------------------------------------------------------------------- */

/* Marks every slot of `c` empty. */
void lex_cache_init(struct tok_cache *c);

/*
 * The next token of `lx` into `t`, without consuming it: its type.  At the end it is TOK_END (a
 * zero-length token) as often as it is asked for.
 */
enum tok_type lex_peek(const struct lexer *lx, struct token *t);

/* Cuts the next token from `lx` into `t` and advances past it (not past the end). */
void lex_next(struct lexer *lx, struct token *t);

/* Consumes tokens while their type is in `mask` (T(TOK_SPACE) | ...); returns how many. */
int lex_skip(struct lexer *lx, unsigned mask);

/* Whether `t` is the punctuation mark `c`. */
int lex_is_punct(const struct token *t, char c);

/* Whether `t` is a mark that may stand for a decimal point: '.', ',' or the Arabic ٫ (U+066B). */
int lex_is_decimal_point(const struct token *t);

/* Whether the word `t` starts with a letter (ASCII or Latin), not an emoji or a stray byte. */
int lex_word_is_text(const struct token *t);

/* ---- words ----------------------------------------------------------------------------------- */

/* The lexicon flags of token `t` (0 for anything but a known word), its number in *value. */
unsigned lex_word_flags(const struct token *t, int *value);

/* The flags of the next token at `lx` when it is a word, else 0; its number in *value. */
unsigned lex_peek_flags(const struct lexer *lx, int *value);

#endif
