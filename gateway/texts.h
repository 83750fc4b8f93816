/*
 * texts.h - every text a customer reads, in Spanish, Portuguese and English.
 *
 * Texts are templates with placeholders: {name} (the customer's name; when empty, the placeholder
 * and the separator before it are dropped, so "Hola {name}," reads "Hola,"), {brand}, and {min} /
 * {max} (the survey's scale).
 */
#ifndef GW_TEXTS_H
#define GW_TEXTS_H

#include "buf.h"
#include "survey.h"

enum text_id { TEXT_QUESTION, TEXT_THANKS, TEXT_REPROMPT, TEXT__COUNT };

struct text_vars {
	const char *name;       /* may be NULL or "" */
	const char *brand;
	enum survey_kind kind;
};

/* Renders text `id` for `kind` in `locale` ("es", "pt", "en"; anything else reads as "es") into
 * `out`.  0, or -1 when `out` is full. */
int texts_render(struct buf *out, const char *locale, enum text_id id, const struct text_vars *v);

/* The template itself (before placeholders), for documentation and tests. */
const char *texts_template(const char *locale, enum text_id id, enum survey_kind kind);

#endif
