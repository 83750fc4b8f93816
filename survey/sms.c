/* sms.c - see sms.h. */
#include "sms.h"

#include <stdint.h>
#include <stdlib.h>
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

/*
 * Characters with a GSM-7 look-alike, by code point, and what replaces each: the quotes, primes
 * and apostrophes, dashes, spaces, invisible characters and punctuation forms of Twilio's Smart
 * Encoding list (https://www.twilio.com/docs/messaging/services/smart-encoding-char-list), plus
 * the non-breaking hyphen, figure dash, minus sign and soft hyphen, which word processors insert
 * as readily.  Its combining marks are left out: a decomposed "ã" must not become "a~".  Ranges
 * handled in lookalike() instead: U+2000-U+200A (spaces) and U+FF01-U+FF5E (full-width ASCII).
 * Sorted by code point for bsearch().
 */
struct lookalike {
	uint32_t cp;
	const char *to;
};

static const struct lookalike lookalikes[] = {
	{ 0x0009, " " },        /* character tabulation */
	{ 0x0060, "'" },        /* grave accent */
	{ 0x00A0, " " },        /* no-break space */
	{ 0x00AB, "\"" },       /* left-pointing double angle quotation mark */
	{ 0x00AD, "" },         /* soft hyphen (invisible) */
	{ 0x00B4, "'" },        /* acute accent */
	{ 0x00BB, "\"" },       /* right-pointing double angle quotation mark */
	{ 0x00BC, "1/4" },      /* vulgar fraction one quarter */
	{ 0x00BD, "1/2" },      /* vulgar fraction one half */
	{ 0x00BE, "3/4" },      /* vulgar fraction three quarters */
	{ 0x00F7, "/" },        /* division sign */
	{ 0x02B9, "'" },        /* modifier letter prime */
	{ 0x02BA, "\"" },       /* modifier letter double prime */
	{ 0x02BB, "'" },        /* modifier letter turned comma */
	{ 0x02BC, "'" },        /* modifier letter apostrophe */
	{ 0x02BD, "'" },        /* modifier letter reversed comma */
	{ 0x02C6, "^" },        /* modifier letter circumflex accent */
	{ 0x02C8, "'" },        /* modifier letter vertical line */
	{ 0x02CA, "'" },        /* modifier letter acute accent */
	{ 0x02CB, "'" },        /* modifier letter grave accent */
	{ 0x02DC, "~" },        /* small tilde */
	{ 0x02EE, "\"" },       /* modifier letter double apostrophe */
	{ 0x200B, "" },         /* zero width space */
	{ 0x2010, "-" },        /* hyphen */
	{ 0x2011, "-" },        /* non-breaking hyphen */
	{ 0x2012, "-" },        /* figure dash */
	{ 0x2013, "-" },        /* en dash */
	{ 0x2014, "-" },        /* em dash */
	{ 0x2015, "-" },        /* horizontal bar */
	{ 0x2018, "'" },        /* left single quotation mark */
	{ 0x2019, "'" },        /* right single quotation mark */
	{ 0x201A, "," },        /* single low-9 quotation mark */
	{ 0x201B, "'" },        /* single high-reversed-9 quotation mark */
	{ 0x201C, "\"" },       /* left double quotation mark */
	{ 0x201D, "\"" },       /* right double quotation mark */
	{ 0x201E, "\"" },       /* double low-9 quotation mark */
	{ 0x201F, "\"" },       /* double high-reversed-9 quotation mark */
	{ 0x2022, "-" },        /* bullet */
	{ 0x2026, "..." },      /* horizontal ellipsis */
	{ 0x2028, " " },        /* line separator */
	{ 0x2029, " " },        /* paragraph separator */
	{ 0x202F, " " },        /* narrow no-break space */
	{ 0x2039, "<" },        /* single left-pointing angle quotation mark */
	{ 0x203A, ">" },        /* single right-pointing angle quotation mark */
	{ 0x203C, "!!" },       /* double exclamation mark */
	{ 0x2043, "-" },        /* hyphen bullet */
	{ 0x2044, "/" },        /* fraction slash */
	{ 0x205F, " " },        /* medium mathematical space */
	{ 0x2060, "" },         /* word joiner */
	{ 0x2212, "-" },        /* minus sign */
	{ 0x2215, "/" },        /* division slash */
	{ 0x2223, "|" },        /* divides */
	{ 0x223C, "~" },        /* tilde operator */
	{ 0x275B, "'" },        /* heavy single turned comma quotation mark ornament */
	{ 0x275C, "'" },        /* heavy single comma quotation mark ornament */
	{ 0x275D, "\"" },       /* heavy double turned comma quotation mark ornament */
	{ 0x275E, "\"" },       /* heavy double comma quotation mark ornament */
	{ 0x3000, " " },        /* ideographic space */
	{ 0x3001, "," },        /* ideographic comma */
	{ 0x3002, "." },        /* ideographic full stop */
	{ 0x301D, "\"" },       /* reversed double prime quotation mark */
	{ 0x301E, "\"" },       /* double prime quotation mark */
	{ 0xFE50, "," },        /* small comma */
	{ 0xFE51, "," },        /* small ideographic comma */
	{ 0xFE52, "." },        /* small full stop */
	{ 0xFE54, ";" },        /* small semicolon */
	{ 0xFE55, ":" },        /* small colon */
	{ 0xFE56, "?" },        /* small question mark */
	{ 0xFE57, "!" },        /* small exclamation mark */
	{ 0xFE59, "(" },        /* small left parenthesis */
	{ 0xFE5A, ")" },        /* small right parenthesis */
	{ 0xFE5B, "{" },        /* small left curly bracket */
	{ 0xFE5C, "}" },        /* small right curly bracket */
	{ 0xFE5F, "#" },        /* small number sign */
	{ 0xFE60, "&" },        /* small ampersand */
	{ 0xFE61, "*" },        /* small asterisk */
	{ 0xFE62, "+" },        /* small plus sign */
	{ 0xFE63, "-" },        /* small hyphen-minus */
	{ 0xFE64, "<" },        /* small less-than sign */
	{ 0xFE65, ">" },        /* small greater-than sign */
	{ 0xFE66, "=" },        /* small equals sign */
	{ 0xFE68, "\\" },       /* small reverse solidus */
	{ 0xFE69, "$" },        /* small dollar sign */
	{ 0xFE6A, "%" },        /* small percent sign */
	{ 0xFE6B, "@" },        /* small commercial at */
	{ 0xFEFF, "" },         /* zero width no-break space (byte order mark) */
	{ 0xFF40, "'" },        /* full-width grave accent (GSM-7 has no grave accent) */
	{ 0xFF61, "." },        /* halfwidth ideographic full stop */
	{ 0xFF64, "," },        /* halfwidth ideographic comma */
};

/* [sms] fold_accents: the Latin-1 letters U+00C0-U+00FF that GSM-7 lacks, as the same letter
 * without its accent ('.': GSM-7 has the letter, or it is no letter to fold). */
static const char folds[] = "AAAA....E.EEIIII" "D.OOOO...UUU.Y.." ".aaa...c..ee.iii" "d..ooo....uu.y.y";

static int lookalike_cmp(const void *key, const void *elem)
{
	uint32_t cp = *(const uint32_t *)key, other = ((const struct lookalike *)elem)->cp;

	return cp < other ? -1 : cp > other;
}

/*
 * Writes the GSM-7 replacement of cp to `to` (up to 3 bytes, no NUL) and returns its length (0:
 * the character is dropped), or -1 when cp has none.
 */
static int lookalike(uint32_t cp, int fold_accents, char to[3])
{
	const struct lookalike *l;

	if (cp >= 0x2000 && cp <= 0x200A) {             /* en quad ... hair space */
		to[0] = ' ';
		return 1;
	}
	if (cp >= 0xFF01 && cp <= 0xFF5E && cp != 0xFF40) {     /* full-width ASCII */
		to[0] = (char)(cp - 0xFEE0);
		return 1;
	}
	if (fold_accents && cp >= 0xC0 && cp <= 0xFF && folds[cp - 0xC0] != '.') {
		to[0] = folds[cp - 0xC0];
		return 1;
	}
	if (fold_accents && cp >= 0x0300 && cp <= 0x036F)       /* a combining accent */
		return 0;
	l = bsearch(&cp, lookalikes, sizeof(lookalikes) / sizeof(lookalikes[0]), sizeof(lookalikes[0]),
		    lookalike_cmp);
	if (!l)
		return -1;
	memcpy(to, l->to, strlen(l->to));
	return (int)strlen(l->to);
}

int sms_smart_encode(const char *text, size_t len, const struct sms_options *o, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t start = out->len, i = 0;
	struct sms_count before, after;
	int replaced = 0;

	sms_count(text, len, &before);
	if (!o->smart || !before.ucs2)
		return buf_append(out, text, len) < 0 ? -1 : 0;
	while (i < len) {
		uint32_t cp;
		size_t n = next_cp(s + i, len - i, &cp);
		char to[3];
		int gsm = gsm_septets(cp) > 0;
		int k = gsm ? -1 : lookalike(cp, o->fold_accents, to);

		if (!gsm && k < 0)
			goto as_written;        /* a character without a look-alike: UCS-2 anyway */
		if (buf_append(out, k >= 0 ? to : text + i, k >= 0 ? (size_t)k : n) < 0)
			goto as_written;
		replaced += k >= 0;
		i += n;
	}
	/* "..." for "…" lengthens the text: never pay more segments for it than before. */
	sms_count(buf_cstr(out) + start, out->len - start, &after);
	if (!after.ucs2 && after.segments <= before.segments)
		return replaced;
as_written:
	buf_truncate(out, start);
	return buf_append(out, text, len) < 0 ? -1 : 0;
}
