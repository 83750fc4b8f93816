/*
 * texts.h - every text a customer reads, in Spanish, Portuguese and English.
 *
 * Built-in texts are overridden key by key by [templates.<locale>] in the config (keys: nps ces
 * csat thanks follow_up reprompt opt_out opt_in).  Texts are templates with placeholders: {name}
 * (the customer's name; when empty, the placeholder and the ", " or " " before it are dropped, so
 * "Hola {name}," reads "Hola,"), {brand}, and {min} / {max} (the survey's scale).
 *
 * A text sent by SMS is composed under [sms] encoding and fold_accents (sms.h): what
 * texts_compose() returns is what is stored and sent, so its segment count is what is billed.
 *
 * A `struct texts` is built once at start and read by every thread afterwards.
 */
#ifndef GW_TEXTS_H
#define GW_TEXTS_H

#include <stdio.h>

#include "buf.h"
#include "config.h"
#include "vocab.h"

/* In the order of config_template_keys. */
enum text_id {
	TEXT_NPS, TEXT_CES, TEXT_CSAT, TEXT_THANKS, TEXT_FOLLOW_UP, TEXT_REPROMPT, TEXT_OPT_OUT,
	TEXT_OPT_IN, TEXT__COUNT
};

struct text_vars {
	const char *name;       /* may be NULL or "" */
	const char *brand;
	enum survey_kind kind;  /* for {min} and {max} */
};

struct texts;

/* The built-in texts with cfg's [templates.*] overrides (copied), and cfg's [sms] settings.  NULL
 * with err when out of memory.  Free with texts_free(). */
struct texts *texts_create(const struct config *cfg, struct gw_err *err);
void texts_free(struct texts *t);

/* The question of a kind. */
enum text_id text_question(enum survey_kind kind);

/* The template (before placeholders) for `locale` ("es", "pt", "en"; anything else reads as es). */
const char *texts_template(const struct texts *t, const char *locale, enum text_id id);

/* Renders text `id` in `locale` into `out`.  0, or -1 when `out` is full. */
int texts_render(const struct texts *t, struct buf *out, const char *locale, enum text_id id,
		 const struct text_vars *v);

/*
 * Renders text `id` as it goes out on `channel`: for SMS, texts_render() followed by the [sms]
 * encoding replacements (sms_smart_encode(); t == NULL: gsm7-smart, fold_accents off), the
 * customer's name included; for WhatsApp, texts_render() alone.  Returns how many characters
 * were replaced (0 or more), or -1 when `out` is full.
 */
int texts_compose(const struct texts *t, struct buf *out, const char *locale, enum text_id id,
		  const struct text_vars *v, enum channel channel);

/* The customer name texts are costed with when no other is given. */
#define TEXTS_SAMPLE_NAME "Alejandra"

/* Writes a warning line to `f` for each text that needs more than one SMS segment once composed
 * for SMS with TEXTS_SAMPLE_NAME; returns how many it warned about. */
int texts_warn_segments(const struct texts *t, const char *brand, FILE *f);

/*
 * `gateway texts`: writes to `f` a table of every text (built-in or [templates.<locale>]), each
 * composed for SMS with `name`, `brand` and the NPS scale: its source, encoding, length, segments,
 * the characters [sms] encoding replaced and the text itself; then how many need more than one
 * segment.  0, or -1 when writing failed.
 */
int texts_write_costs(const struct texts *t, const char *brand, const char *name, FILE *f);

#endif
