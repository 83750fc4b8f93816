/*
 * reply.h - understanding a customer's text reply to a survey question.
 *
 * Pure functions: no I/O, no allocation, no global state; safe from any thread.  The input is a
 * pointer and a length (no NUL needed) and may be any bytes, including invalid UTF-8 and NULs.
 *
 * Outcomes:
 *   REPLY_SCORE    a score inside the kind's scale; `score` holds it and `comment` points into the
 *                  input at the customer's words around it (trimmed; length 0 when none): the
 *                  text after a score the reply starts with ("10 pero tardaron"), the text before
 *                  a score it ends with ("Muy amables, 10"), the whole reply when the score sits
 *                  in the middle ("Gracias, le doy un 9 pero tardaron").  Known signature lines
 *                  at the end ("Enviado desde mi iPhone", "Sent from my iPhone", "Get Outlook
 *                  for Android", ...) are never part of it.
 *   REPLY_INVALID  no usable score; `reason` says why.
 *   REPLY_OPT_OUT  the whole reply is a stop word (STOP, BAJA, SAIR, ...), any case, with white
 *                  space and trailing punctuation around it; not a stop word inside a sentence.
 *   REPLY_OPT_IN   the whole reply is a start word (START, UNSTOP, ALTA), likewise.
 *
 * What reads as a score (Spanish, Portuguese, English):
 *   numbers        digits with decorations ("10!", "*8*", "_9_", "#9", "09"); the decimal digits
 *                  of every script, fullwidth "９", Arabic-Indic "٩", Devanagari "९", ... (Unicode
 *                  Nd), as long as one number keeps to one script ("1٠" is no number); keycap
 *                  emoji ("9️⃣", "9⃣", "🔟"); number words 0-10 in any case, with or
 *                  without accents ("nueve", "três", "ten"); "un"/"uma" before a number or
 *                  "nota" are articles ("un 8", "uma nota 7"), "una"/"uno"/"um" alone are 1.
 *   intros         rating phrases before the number: "le doy un 9", "nota 10", "dou 7",
 *                  "I'd give it a 10", "Eu daria 8".
 *   scale's top    "9/10", "8 de 10", "ocho de diez", "8 out of 10" are 9 and 8; a top that is
 *                  not the kind's ("9/12" for NPS, "7/8") is REASON_AMBIGUOUS.
 *   units          "5 estrellas", "5 stars", "5 ⭐" are 5 (the unit is not the comment).
 *   stars          a row of stars (⭐ ★ 🌟, with U+FE0F or U+FE0E or neither; ☆ is an empty one)
 *                  rates out of five.  With a number, one star is a unit ("4⭐", "⭐ 4" are 4) and
 *                  more must count it ("4 ⭐⭐⭐⭐" is 4, "5 ⭐⭐" REASON_AMBIGUOUS), their empty
 *                  stars making up the kind's top ("3 ★★★☆☆" for CSAT).  On its own, a row
 *                  stands where a bare number may ("⭐⭐⭐⭐ muy bien", "Muy bien ⭐⭐⭐⭐") and
 *                  counts its filled stars on a 1-5 scale (CSAT): "⭐⭐⭐⭐" and "★★★★☆" are 4,
 *                  "⭐⭐⭐⭐⭐⭐" REASON_OUT_OF_RANGE, "★★★☆" REASON_AMBIGUOUS (not out of
 *                  five).  For NPS and CES it is no answer, and the reply REASON_AMBIGUOUS when
 *                  nothing else is ("⭐⭐⭐⭐⭐ excelente, 10" is 10).  A lone star is a score ("⭐"
 *                  is 1) only as the whole reply; beside words it decorates them ("Gracias ⭐").
 *   repeats        the same number again counts once: "10 10 10", "9, 9".
 * A number word must stand apart when nothing leads up to it: "Diez!" and "Ocho. Muy bien" are
 * scores, "Dos veces llamé" and "Cero problemas" are not.
 */
#ifndef GW_REPLY_H
#define GW_REPLY_H

#include <stddef.h>

#include "vocab.h"

enum reply_outcome { REPLY_SCORE, REPLY_INVALID, REPLY_OPT_OUT, REPLY_OPT_IN };

enum reply_reason {
	REASON_NONE,          /* outcome is not REPLY_INVALID */
	REASON_OUT_OF_RANGE,  /* a whole number outside the scale: "11" for NPS, "0" for CES */
	REASON_AMBIGUOUS,     /* two different candidate scores: "7 u 8", "7-8", "7/8", "9/12" */
	REASON_NO_NUMBER,     /* nothing that reads as a number: "gracias", "", "👍" */
	REASON_NOT_INTEGER,   /* a fraction: "9.5", "9,5", "٩٫٥", "nueve y medio" */
};

struct reply {
	enum reply_outcome outcome;
	enum reply_reason reason;
	int score;              /* valid when outcome == REPLY_SCORE */
	const char *comment;    /* points into the input; valid while the input is */
	size_t comment_len;
};

/* Reads `text` (len bytes) as a reply to a survey of `kind` and fills `out`.  Never fails. */
void reply_parse(enum survey_kind kind, const char *text, size_t len, struct reply *out);

/* "score", "invalid", "opt_out", "opt_in". */
const char *reply_outcome_name(enum reply_outcome o);
/* "out_of_range", "ambiguous", "no_number", "not_integer"; "" for REASON_NONE. */
const char *reply_reason_name(enum reply_reason r);

/*
 * Writes `r` as one compact JSON object without a newline, as `parse-reply` prints it:
 *   {"outcome":"score","score":9,"comment":"muy amables"}
 *   {"outcome":"invalid","reason":"ambiguous"}
 *   {"outcome":"opt_out"}
 * into `buf` (cap bytes), NUL-terminated and cut short when it does not fit (nothing is written
 * when cap is 0).  Returns the length the whole object needs, not counting the NUL, like
 * snprintf(): a return >= cap means it was cut.  Control characters, quotes and backslashes in
 * the comment are escaped; bytes that are not valid UTF-8 become U+FFFD.  Allocates nothing.
 */
size_t reply_format_json(const struct reply *r, char *buf, size_t cap);

#endif
