/* utf8.c - see utf8.h. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid, NUL-free UTF-8 sequence at s (at most `left` bytes), or 0. */
static size_t seq_len(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xBF;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	/* The second byte's range excludes overlongs, surrogates and code points past U+10FFFF. */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

int utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if (!(n = seq_len(p + i, len - i)))
			return 0;
		i += n;
	}
	return 1;
}

char *utf8_sanitize(const char *s, size_t len, size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out;
	size_t i = 0, o = 0, n;

	if (len > ((size_t)-1 - 1) / 3 || !(out = malloc(len * 3 + 1)))
		return NULL;
	while (i < len) {
		if ((n = seq_len(p + i, len - i))) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

size_t utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i;
	uint32_t c;

	if (!len || !(n = seq_len(p, len)))
		return 0;
	/* seq_len() checked the lead and continuation bytes: only the payload bits are left. */
	c = n == 1 ? p[0] : p[0] & (0x7Fu >> n);
	for (i = 1; i < n; i++)
		c = (c << 6) | (p[i] & 0x3Fu);
	*cp = c;
	return n;
}

/*
 * The 0 of every set of ten decimal digits, sorted: Unicode keeps each general category Nd
 * character in a run of ten code points valued 0 to 9 in order (a stability policy), so a set's
 * 0 defines it.  Unicode 17.0, 77 sets; from a later UnicodeData.txt, the list is
 *   awk -F';' '$3 == "Nd" && $7 == 0 { print "0x" $1 "," }' UnicodeData.txt
 * (tests/test_utf8.c checks every code point against the Nd ranges of the same version).
 */
static const uint32_t digit_zeros[] = {
	0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6,
	0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0,
	0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
	0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900,
	0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x10D40,
	0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
	0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50,
	0x11D50, 0x11DA0, 0x11DE0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50,
	0x16D70, 0x1CCF0, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140,
	0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
};

int utf8_digit_value(uint32_t cp, uint32_t *zero)
{
	size_t lo = 0, hi = sizeof(digit_zeros) / sizeof(digit_zeros[0]);

	/* The last set whose 0 is at or before cp: lo ends as the count of zeros <= cp. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (digit_zeros[mid] <= cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || cp - digit_zeros[lo - 1] > 9)
		return -1;
	if (zero)
		*zero = digit_zeros[lo - 1];
	return (int)(cp - digit_zeros[lo - 1]);
}
