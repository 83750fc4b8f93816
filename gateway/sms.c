/* sms.c - see sms.h. */
#include "sms.h"

#include <stdint.h>
#include <string.h>

/* The non-ASCII characters of the GSM 7-bit default alphabet, as code points. */
static const uint32_t gsm_basic_extra[] = {
	0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8, 0x00C5,
	0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3, 0x0398, 0x039E,
	0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC, 0x00A7,
	0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* Septets a code point takes in GSM-7: 1, 2 (extension table), or 0 when it has none. */
static int gsm_septets(uint32_t cp)
{
	if (cp == '\n' || cp == '\r' || (cp >= 0x20 && cp < 0x7F && !strchr("`[]{}\\^~|", (int)cp)))
		return 1;
	if (cp && cp < 0x80 && strchr("[]{}\\^~|", (int)cp))
		return 2;
	if (cp == 0x20AC)       /* euro sign, extension table */
		return 2;
	for (size_t i = 0; i < sizeof(gsm_basic_extra) / sizeof(gsm_basic_extra[0]); i++)
		if (gsm_basic_extra[i] == cp)
			return 1;
	return 0;
}

/* Decodes one UTF-8 sequence; returns its length (1 for an invalid byte, with *cp = 0xFFFD). */
static size_t next_cp(const unsigned char *s, size_t left, uint32_t *cp)
{
	size_t n = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 :
		   (s[0] >> 3) == 30 ? 4 : 0;

	if (!n || n > left) {
		*cp = 0xFFFD;
		return 1;
	}
	*cp = n == 1 ? s[0] : (uint32_t)(s[0] & (0x7F >> n));
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	return n;
}

void sms_count(const char *text, size_t len, struct sms_count *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t septets = 0, utf16 = 0, i = 0;
	int gsm = 1;

	while (i < len) {
		uint32_t cp;
		int sept;

		i += next_cp(s + i, len - i, &cp);
		sept = gsm_septets(cp);
		if (!sept)
			gsm = 0;
		septets += (size_t)sept;
		utf16 += cp > 0xFFFF ? 2 : 1;
	}
	out->ucs2 = !gsm;
	out->units = gsm ? septets : utf16;
	if (!out->units)
		out->segments = 0;
	else if (gsm)
		out->segments = out->units <= 160 ? 1 : (int)((out->units + 152) / 153);
	else
		out->segments = out->units <= 70 ? 1 : (int)((out->units + 66) / 67);
}
