/*
 * sms.h - how many SMS segments a text costs (3GPP TS 23.038 / 23.040).
 *
 * A text that uses only the GSM 7-bit default alphabet (and its extension table, whose characters
 * count twice) fits 160 characters in one segment and 153 per segment when split; any other
 * character makes the whole text UCS-2: 70 UTF-16 units in one segment, 67 per segment when split.
 */
#ifndef GW_SMS_H
#define GW_SMS_H

#include <stddef.h>

struct sms_count {
	int ucs2;               /* 1 when the text needs UCS-2 */
	size_t units;           /* septets (GSM-7) or UTF-16 units (UCS-2) */
	int segments;           /* 0 for an empty text */
};

/* Counts the len bytes of UTF-8 at `text` (invalid bytes count as one UCS-2 unit each). */
void sms_count(const char *text, size_t len, struct sms_count *out);

#endif
