/*
 * sms.h - how many SMS segments a text costs (3GPP TS 23.038 / 23.040), and how to make it cost
 * fewer.
 *
 * A text that uses only the GSM 7-bit default alphabet (and its extension table, whose characters
 * count twice) fits 160 characters in one segment and 153 per segment when split; any other
 * character makes the whole text UCS-2: 70 UTF-16 units in one segment, 67 per segment when split.
 *
 * One curly quote, dash or non-breaking space pasted into a template therefore triples a text's
 * cost.  sms_smart_encode() replaces such characters by their GSM-7 look-alikes (the characters
 * Twilio's Smart Encoding replaces: https://www.twilio.com/docs/messaging/services/
 * smart-encoding-char-list), and, only when asked to, letters with accents that GSM-7 lacks (á,
 * í, ó, ú, ã, õ, ç, ê, ...) by the same letters without them.
 */
#ifndef GW_SMS_H
#define GW_SMS_H

#include <stddef.h>

#include "buf.h"

struct sms_count {
	int ucs2;               /* 1 when the text needs UCS-2 */
	size_t units;           /* septets (GSM-7) or UTF-16 units (UCS-2) */
	int segments;           /* 0 for an empty text */
};

/* Counts the len bytes of UTF-8 at `text` (invalid bytes count as one UCS-2 unit each). */
void sms_count(const char *text, size_t len, struct sms_count *out);

/* [sms] encoding and fold_accents. */
struct sms_options {
	int smart;              /* 1: gsm7-smart (replace look-alikes); 0: unicode (as written) */
	int fold_accents;       /* with smart: letters with accents GSM-7 lacks lose them */
};

/*
 * Appends to `out` the len bytes of UTF-8 at `text` as they should go by SMS.  With o->smart, a
 * text that is not GSM-7 is appended with every character that has a look-alike replaced (with
 * o->fold_accents, every letter with an accent GSM-7 lacks too) when that makes the whole text
 * GSM-7 in no more segments than before; otherwise, and without o->smart, it is appended as it
 * is.  Characters GSM-7 has (é, ñ, ü, à, ¿, ¡, ...) are never changed.
 *
 * Returns how many characters were replaced (0: the text went as it is), or -1 when `out` is full
 * (out is then as it was).
 */
int sms_smart_encode(const char *text, size_t len, const struct sms_options *o, struct buf *out);

#endif
