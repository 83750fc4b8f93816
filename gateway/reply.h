/*
 * reply.h - understanding a customer's text reply to a survey question.
 *
 * Pure functions: no I/O, no allocation, no global state; safe from any thread.  The input is a
 * pointer and a length (no NUL needed) and may be any bytes, including invalid UTF-8 and NULs.
 *
 * Outcomes:
 *   REPLY_SCORE    a score inside the kind's scale; `score` holds it and `comment` points into the
 *                  input at the text that followed it (trimmed; length 0 when none).
 *   REPLY_INVALID  no usable score; `reason` says why.
 *   REPLY_OPT_OUT  the whole reply is a stop word (STOP, BAJA, SAIR, ...).
 *   REPLY_OPT_IN   the whole reply is a start word (START, UNSTOP, ALTA).
 */
#ifndef GW_REPLY_H
#define GW_REPLY_H

#include <stddef.h>

#include "survey.h"

enum reply_outcome { REPLY_SCORE, REPLY_INVALID, REPLY_OPT_OUT, REPLY_OPT_IN };

enum reply_reason {
	REASON_NONE,          /* outcome is not REPLY_INVALID */
	REASON_OUT_OF_RANGE,  /* a whole number outside the scale: "11" for NPS, "0" for CES */
	REASON_AMBIGUOUS,     /* two different candidate scores: "7 u 8" */
	REASON_NO_NUMBER,     /* nothing that reads as a number: "gracias", "", "👍" */
	REASON_NOT_INTEGER,   /* a fraction: "9.5", "9,5" */
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

#endif
