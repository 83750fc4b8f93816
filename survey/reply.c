/*
 * reply.c - see reply.h.  The grammar; it reads tokens from the lexer in reply_lex.c (see
 * reply_lex.h), so that it can grow without touching the byte handling.  reply_json.c writes the
 * result as JSON.
 *
 *   grammar  a "phrase" is   [decorations] [intro words] [stars] number [fraction] [unit]
 *                            [denominator],  or  [decorations] [intro words] stars [fraction]
 *            e.g. "*8*", "le doy un 9", "I'd give it a 10", "ocho de diez", "5 ⭐", "9/10",
 *            "⭐⭐⭐⭐".  A row of stars beside a number must agree with it (stars_beside()); a
 *            row on its own stands where a bare number may, and answers only a scale that ends
 *            at STARS_TOP (CSAT): on another one it makes the reply ambiguous unless a number
 *            answers it.
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
 *            different in-scale number offered as an alternative ("7 u 8", "7-8", "4, ⭐⭐") makes
 *            it ambiguous; numbers further on belong to the comment.
 *
 * Every loop either consumes a token or stops, and lookahead is bounded (INTRO_MAX words), so a
 * reply is read in time linear in its length.
 */
#include "reply.h"

#include <string.h>

#include "reply_lex.h"

/* At most this many intro words lead up to a number ("yo le daría una nota de 9" has 6). */
#define INTRO_MAX 8

/* A row of stars on its own rates out of this many: a score only on a scale that ends here. */
#define STARS_TOP 5

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

/* ---- trimming, signatures and keywords --------------------------------------------------- */

/* Whether the line s[from, to) is a client's signature or a signature delimiter ("--"). */
static int is_signature_line(const char *s, size_t from, size_t to)
{
	const char *const *p;
	size_t k, i;

	while (from < to && (k = lex_space_len(s, from, to)))
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
		if (e > floor && (lex_space_len(s, e - 1, e) == 1 ||
				  (also_punct && strchr(".!?,;:", s[e - 1]) && s[e - 1])))
			e--;
		else if (e >= floor + 2 && lex_at(s, e - 2, e, "\xc2\xa0", 2))
			e -= 2;
		else if (also_punct && e >= floor + 3 && lex_at(s, e - 3, e, "\xe2\x80\xa6", 3))
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
	int stars_only;         /* no digits, no word: a row of stars, "⭐⭐⭐⭐" (value: filled) */
	int lone_star;          /* ... of one star, "⭐": a decoration unless it is all the reply */
	int star_conflict;      /* stars with it count another number or show another scale: "5 ⭐⭐",
				   "3 ★★★☆" for CSAT, "★★★☆" alone */
};

/* A row of stars as read_stars() adds it up. */
struct stars {
	int filled;             /* ⭐ ★ 🌟, saturated at NUMBER_SATURATED */
	int empty;              /* ☆, likewise */
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
	if (!(lex_peek_flags(&l, &v) & LX_AND))
		return 0;
	lex_next(&l, &t);
	if (!lex_skip(&l, T(TOK_SPACE)))
		return 0;
	if (lex_peek(&l, &t) == TOK_WORD && word_equals(t.p, t.n, "A")) {
		lex_next(&l, &t);
		lex_skip(&l, T(TOK_SPACE));
	}
	if (!(lex_peek_flags(&l, &v) & LX_HALF))
		return 0;
	lex_next(&l, &t);
	*lx = l;
	return 1;
}

/*
 * Consumes a row of stars at `lx`: runs of stars with white space between them ("⭐⭐⭐",
 * "⭐ ⭐ ⭐", "★★★☆☆"), not the space after the last; adds them up in *st.  Returns whether there
 * was one.
 */
static int read_stars(struct lexer *lx, struct stars *st)
{
	struct lexer l = *lx;
	struct token t;

	st->filled = st->empty = 0;
	if (lex_peek(&l, &t) != TOK_STAR)
		return 0;
	do {
		lex_next(&l, &t);
		st->filled = st->filled + t.value < NUMBER_SATURATED ? st->filled + t.value :
								       NUMBER_SATURATED;
		st->empty = st->empty + t.empty < NUMBER_SATURATED ? st->empty + t.empty :
								     NUMBER_SATURATED;
		*lx = l;
		lex_skip(&l, T(TOK_SPACE));
	} while (lex_peek(&l, &t) == TOK_STAR);
	return 1;
}

/*
 * Checks a row of stars written with the number `n`, before or after it.  One star is a unit
 * symbol, like "stars" ("5 ⭐", "⭐ 4").  A longer row counts, and must count n ("5 ⭐⭐⭐⭐⭐");
 * its empty stars show the scale, which must be the kind's ("3 ★★★☆☆" for CSAT).  Otherwise
 * the reply says two things: n->star_conflict.
 */
static void stars_beside(const struct ctx *c, struct number *n, const struct stars *st)
{
	if (st->filled + st->empty <= 1)
		return;
	if (st->filled != n->value || (st->empty && st->filled + st->empty != kind_max(c->kind)))
		n->star_conflict = 1;
}

/* Consumes "estrellas", "stars", "⭐", "⭐⭐", "⭐ ⭐" after the number `n`; returns whether it did. */
static int read_unit(const struct ctx *c, struct lexer *lx, struct number *n)
{
	struct lexer l = *lx;
	struct token t;
	struct stars st;
	int v;

	lex_skip(&l, T(TOK_SPACE));
	if (read_stars(&l, &st)) {
		stars_beside(c, n, &st);
		*lx = l;
		return 1;
	}
	if (!(lex_peek_flags(&l, &v) & LX_UNIT))
		return 0;
	lex_next(&l, &t);
	*lx = l;
	return 1;
}

/* How read_number() reads: whether number words count; whether it reads a scale's top. */
enum { RN_WORDS = 1, RN_TOP = 2 };

static int read_number(const struct ctx *c, struct lexer *lx, unsigned how, struct number *n);

/*
 * Reads on from a row of stars `st` that starts a number, `l` just past it: the number written
 * after it ("⭐ 4", "⭐⭐⭐⭐ 4"), which the row must agree with; else the row alone stands for
 * its filled stars ("⭐⭐⭐⭐"), with a half ("⭐⭐⭐½") and closing decorations.  Advances `lx`.
 */
static void read_after_stars(const struct ctx *c, struct lexer *lx, struct lexer l, unsigned how,
			     const struct stars *st, struct number *n)
{
	struct lexer after = l;
	struct token t;

	lex_skip(&after, T(TOK_SPACE));
	if (lex_peek(&after, &t) == TOK_NUMBER && read_number(c, &after, how, n)) {
		stars_beside(c, n, st);
		*lx = after;
		return;
	}
	memset(n, 0, sizeof(*n));
	n->value = st->filled;
	n->stars_only = 1;
	n->lone_star = st->filled + st->empty == 1;
	n->star_conflict = st->empty && st->filled + st->empty != STARS_TOP;
	n->fraction = read_half(&l);
	lex_skip(&l, T(TOK_DECOR));
	*lx = l;
}

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
	f = lex_peek_flags(&l, &v);
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
 * unit and a denominator.  Unless it is a top, a row of stars may stand before the number or for
 * it (read_after_stars()).  A number glued to a word ("9abc", "10%") or to more digits through
 * punctuation ("9.5.5", "9:30") is no number, and so is a top followed by another slash.
 * Returns 1 and advances `lx` when it read one; else 0, `lx` untouched.
 */
static int read_number(const struct ctx *c, struct lexer *lx, unsigned how, struct number *n)
{
	struct lexer l = *lx, peek;
	struct token t, u;
	struct stars st;

	memset(n, 0, sizeof(*n));
	if (!(how & RN_TOP) && read_stars(&l, &st)) {
		read_after_stars(c, lx, l, how, &st, n);
		return 1;
	}
	lex_next(&l, &t);
	/* '-' or U+2212 glued to digits; not the en and em dashes, which also lex as TOK_DASH. */
	if (t.type == TOK_DASH && (t.p[0] == '-' || (t.n == 3 && t.p[1] == '\x88')) &&
	    lex_peek(&l, &u) == TOK_NUMBER) {
		n->negative = 1;
		lex_next(&l, &t);
	}
	if (t.type == TOK_NUMBER) {
		if (t.mixed)
			return 0;       /* "1٠": digits of two scripts are no number we can trust */
		n->value = t.value;
		peek = l;
		lex_next(&peek, &u);
		if (lex_is_decimal_point(&u) && lex_peek(&peek, &u) == TOK_NUMBER) {
			lex_next(&peek, &u);
			l = peek;
			n->fraction = 1;
		}
		if (lex_peek(&l, &u) == TOK_WORD)
			return 0;
	} else if (t.type == TOK_WORD && (how & RN_WORDS) &&
		   (lex_word_flags(&t, &n->value) & LX_NUM)) {
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
		n->has_unit = read_unit(c, &l, n);
		switch (read_denominator(c, &l, n)) {
		case -1:
			return 0;
		case 1:
			lex_skip(&l, T(TOK_DECOR));
			if (!n->has_unit)
				n->has_unit = read_unit(c, &l, n);
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
	f = lex_peek_flags(&l, &v);
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
		unsigned f = lex_peek_flags(&l, &v);
		size_t pos = l.pos;
		int colon;

		if (!intro_word(&l, f, n > 0))
			break;
		lex_next(&l, &t);
		lex_skip(&l, T(TOK_DECOR));
		colon = lex_peek(&l, &t) == TOK_PUNCT && lex_is_punct(&t, ':');
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

	if (lex_peek(lx, &t) == TOK_PUNCT && (lex_is_punct(&t, ',') || lex_is_punct(&t, ';'))) {
		lex_next(lx, &t);
		lex_skip(lx, T(TOK_SPACE));
		kind = SEP_SPACE;
	} else if (t.type == TOK_DASH) {
		lex_next(lx, &t);
		lex_skip(lx, T(TOK_SPACE));
		return SEP_DASH;
	}
	f = lex_peek_flags(lx, &v);
	if (kind && (f & (LX_ALT | LX_AND | LX_RANGE))) {
		struct lexer l = *lx;

		lex_next(&l, &t);
		if (!lex_skip(&l, T(TOK_SPACE)))
			return kind;
		*lx = l;
		f = lex_peek_flags(lx, &v);
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
		    again.value != n->value || again.negative || again.fraction ||
		    again.denom_bad || again.lone_star)
			return;
		*lx = l;
	}
}

/*
 * Whether a different in-scale number is offered right after `n`: "7 8", "7 u 8", "7-8", "4,
 * ⭐⭐"; not a single star, which is a decoration there ("10, ⭐").
 */
static int alternative_follows(const struct ctx *c, const struct lexer *lx,
			       const struct number *n)
{
	struct lexer l = *lx;
	struct number alt;
	int sep = read_separator(&l);

	return sep && read_number(c, &l, sep != SEP_SPACE ? RN_WORDS : 0, &alt) && !alt.negative &&
	       !alt.fraction && !alt.lone_star && alt.value != n->value &&
	       in_scale(c->kind, alt.value);
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
	return t.type != TOK_WORD || !lex_word_is_text(&t);
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
		if (t.type == TOK_WORD ? lex_word_is_text(&t) :
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
	int unscaled_stars;     /* a row of stars stood where an answer goes, on a scale that does
				   not end at STARS_TOP: "⭐⭐⭐⭐⭐" for NPS */
};

/* Whether the phrase `ph`, `lx` just after it, is all there is but punctuation and decorations. */
static int whole_reply(const struct ctx *c, const struct phrase *ph, const struct lexer *lx)
{
	struct lexer l = *lx;
	struct token t;

	lex_skip(&l, T(TOK_SPACE) | T(TOK_PUNCT) | T(TOK_DECOR));
	return ph->start == c->body && lex_peek(&l, &t) == TOK_END;
}

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
		else if (e >= c->start + 3 && (lex_at(c->s, e - 3, e, "\xe2\x80\x93", 3) ||
					       lex_at(c->s, e - 3, e, "\xe2\x80\x94", 3)))
			e -= 3;
		else
			break;
	}
	set_comment(c, c->start, e, out);
}

/*
 * Decides what the phrase `ph`, with `lx` just after it, makes of the reply, given where it is.
 * Returns 1 when `out` is filled, 0 when the phrase is no answer there and the scan goes on (a
 * row of stars on another scale than STARS_TOP notes that in sc->unscaled_stars).
 */
static int take_phrase(const struct ctx *c, const struct phrase *ph, struct lexer *lx,
		       struct scan *sc, struct reply *out)
{
	const struct number *n = &ph->num;
	enum reply_reason reason = REASON_NONE;
	int alt = 0, tail;

	if (n->fraction)
		reason = REASON_NOT_INTEGER;
	else if (n->denom_bad || n->star_conflict)
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
	if (n->lone_star && !whole_reply(c, ph, lx))
		return 0;       /* "Gracias ⭐", "⭐ Excelente": a decoration */
	tail = ph->start != c->body && reaches_end(lx);
	if (ph->start != c->body && !ph->strong) {
		/* A bare number inside the text is no answer; at its end, only a plain one. */
		if (!tail || (n->is_word && !ph->fillers && !sc->apart))
			return 0;
		/* "mi pedido 12345", "llegó el 9/12" mean no score; a row of stars always does. */
		if (!ph->fillers && !n->stars_only &&
		    ((reason == REASON_OUT_OF_RANGE && !n->has_denom) || n->denom_bad))
			return 0;
		if (!reason && !ph->fillers && (sc->seen & ~(1u << n->value)))
			reason = REASON_AMBIGUOUS;
	}
	if (n->stars_only && kind_max(c->kind) != STARS_TOP) {
		sc->unscaled_stars = 1;
		return 0;
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
	struct scan sc = { 0, 1, 0 };
	enum tok_type prev = TOK_SPACE;     /* the last token that was not a decoration */
	enum tok_type before_punct = TOK_SPACE, last = TOK_SPACE;
	struct token t, u;
	size_t resume = 0;

	lex_cache_init(&cache);
	while (lex_peek(&lx, &t) != TOK_END) {
		int boundary = prev == TOK_SPACE || prev == TOK_STAR ||
			       ((prev == TOK_PUNCT || prev == TOK_DASH) &&
				before_punct != TOK_NUMBER);

		/* Stars may be glued to anything: "Excelente⭐⭐⭐⭐⭐". */
		if (lx.pos >= resume && (t.type == TOK_STAR || (boundary &&
		    ((T(t.type) & (T(TOK_WORD) | T(TOK_NUMBER) | T(TOK_DASH))) ||
		     (t.type == TOK_DECOR && last != TOK_DECOR))))) {
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
		if (t.type == TOK_NUMBER && boundary && !t.mixed && lex_peek(&lx, &u) != TOK_WORD &&
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
	if (!sc.unscaled_stars)
		return 0;
	/* Only stars, out of five, answered a question out of 10 or 7: which score is a guess. */
	out->reason = REASON_AMBIGUOUS;
	return 1;
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
