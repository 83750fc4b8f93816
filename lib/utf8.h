/*
 * utf8.h - UTF-8 checks for text that came from the network, and the code points in it.
 */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when the len bytes at s are valid UTF-8 (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF) without NUL bytes. */
int utf8_valid(const char *s, size_t len);

/* A malloc'd, NUL-terminated copy of the len bytes at s in which every invalid sequence and every
 * NUL byte is replaced by U+FFFD; its length in *out_len.  NULL when out of memory. */
char *utf8_sanitize(const char *s, size_t len, size_t *out_len);

/* The code point of the valid UTF-8 sequence at s (at most len bytes) into *cp: the sequence's
 * length, or 0 when none starts there (invalid or cut short, as utf8_valid() judges, or a NUL). */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/*
 * The value 0-9 of code point cp when it is a decimal digit (Unicode general category Nd, 17.0)
 * in any script: ASCII 9, Arabic-Indic ٩, Extended Arabic-Indic ۹, Devanagari ९, Thai ๙,
 * fullwidth ９, mathematical bold 𝟗, ...  -1 for anything else, digits that are not decimal
 * included (superscript ², circled ⑨, Roman Ⅸ, CJK 九).  When cp is a digit and `zero` is not
 * NULL, *zero is the code point of the 0 of its set of ten, so that sets can be told apart.
 */
int utf8_digit_value(uint32_t cp, uint32_t *zero);

#endif
