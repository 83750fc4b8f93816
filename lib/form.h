/*
 * form.h - application/x-www-form-urlencoded, both ways (the WHATWG URL Standard's
 * "application/x-www-form-urlencoded parser and serializer").
 *
 * The decoder never trusts its input: it takes a pointer and a length (no NUL needed), accepts
 * malformed percent escapes as literal text the way browsers do, and caps the number of fields.
 * Decoded keys and values are NUL-terminated copies; a value may contain NUL bytes or invalid
 * UTF-8, so callers that need text check it themselves (form_field.value_len is exact).
 */
#ifndef GW_FORM_H
#define GW_FORM_H

#include <stddef.h>

#include "buf.h"

#define FORM_MAX_FIELDS 256

struct form_field {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
};

struct form {
	struct form_field *fields;
	size_t n;
};

/* Decodes `len` bytes of `in` into `f` (fields in input order, repeated keys kept).  Returns 0, or
 * -1 when there are more than FORM_MAX_FIELDS fields or memory runs out (f is then empty).  The
 * caller releases `f` with form_release(). */
int form_parse(struct form *f, const char *in, size_t len);

/* Frees every field and leaves `f` empty. */
void form_release(struct form *f);

/* The first field whose key is exactly `key` (a decoded key holding a NUL never matches a shorter
 * one), or NULL; valid until form_release(). */
const struct form_field *form_find(const struct form *f, const char *key);

/* The first value of `key` (form_find()'s), or NULL; valid until form_release(). */
const char *form_get(const struct form *f, const char *key);

/* Appends `key=value` (with a leading '&' unless `out` is empty), percent-encoding both as the
 * serializer does: ASCII alphanumerics and *-._ stay, space becomes '+', every other byte %XX
 * (upper-case hex).  0, or -1 when `out` is full. */
int form_add(struct buf *out, const char *key, const char *value);

/* Percent-decodes one component (with '+' as space) into `out`.  0, or -1 when `out` is full. */
int form_decode_component(struct buf *out, const char *in, size_t len);

#endif
