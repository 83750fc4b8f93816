/*
 * utf8.h - UTF-8 checks for text that came from the network.
 */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stddef.h>

/* 1 when the len bytes at s are valid UTF-8 (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF) without NUL bytes. */
int utf8_valid(const char *s, size_t len);

/* A malloc'd, NUL-terminated copy of the len bytes at s in which every invalid sequence and every
 * NUL byte is replaced by U+FFFD; its length in *out_len.  NULL when out of memory. */
char *utf8_sanitize(const char *s, size_t len, size_t *out_len);

#endif
