/*
 * form.c - application/x-www-form-urlencoded parser and serializer, following the WHATWG URL
 * Standard §5 (https://url.spec.whatwg.org/#application/x-www-form-urlencoded).  See form.h.
 */
#include "form.h"

#include <stdlib.h>
#include <string.h>

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes `len` bytes of `in`: '+' becomes a space, "%XX" with two hex digits becomes that byte,
 * and any other '%' stays as it is (the standard's percent-decode, not an error).  Writes to `out`
 * when it is non-NULL (the output is never longer than the input) and returns the decoded length,
 * so a NULL `out` measures.
 */
static size_t percent_decode(const char *in, size_t len, char *out)
{
	size_t i, n = 0;
	int hi, lo;
	char c;

	for (i = 0; i < len; i++, n++) {
		c = in[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && len - i > 2 &&
			   (hi = hex_value((unsigned char)in[i + 1])) >= 0 &&
			   (lo = hex_value((unsigned char)in[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (out)
			out[n] = c;
	}
	return n;
}

/* A NUL-terminated, decoded copy of `in`, its length in *out_len; NULL when out of memory. */
static char *decode_copy(const char *in, size_t len, size_t *out_len)
{
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	*out_len = percent_decode(in, len, s);
	s[*out_len] = '\0';
	return s;
}

/* The number of non-empty '&'-separated sequences in `in`. */
static size_t count_pairs(const char *in, size_t len)
{
	size_t i, n = 0, start = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || in[i] == '&') {
			if (i > start)
				n++;
			start = i + 1;
		}
	}
	return n;
}

/* Splits one non-empty sequence at its first '=' (none: all name, empty value) and decodes both. */
static int parse_pair(struct form_field *fld, const char *seq, size_t len)
{
	const char *eq = memchr(seq, '=', len);
	size_t name_len = eq ? (size_t)(eq - seq) : len;
	const char *val = eq ? eq + 1 : seq + len;
	size_t val_len = eq ? len - name_len - 1 : 0;

	fld->key = decode_copy(seq, name_len, &fld->key_len);
	fld->value = decode_copy(val, val_len, &fld->value_len);
	return fld->key && fld->value ? 0 : -1;
}

/*
 * Two passes: count the pairs so the cap is checked and the array allocated once, then split and
 * decode.  On failure every field decoded so far is freed through form_release().
 */
int form_parse(struct form *f, const char *in, size_t len)
{
	size_t i, start = 0, total;
	int rc = -1;

	f->fields = NULL;
	f->n = 0;
	total = count_pairs(in, len);
	if (total > FORM_MAX_FIELDS)
		goto out;
	if (!total) {
		rc = 0;
		goto out;
	}
	f->fields = calloc(total, sizeof(*f->fields));
	if (!f->fields)
		goto out;
	for (i = 0; i <= len; i++) {
		if (i < len && in[i] != '&')
			continue;
		if (i > start) {
			/* counted before the parse, so a failed pair is released too */
			f->n++;
			if (parse_pair(&f->fields[f->n - 1], in + start, i - start) < 0)
				goto out;
		}
		start = i + 1;
	}
	rc = 0;
out:
	if (rc < 0)
		form_release(f);
	return rc;
}

void form_release(struct form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->fields[i].key);
		free(f->fields[i].value);
	}
	free(f->fields);
	f->fields = NULL;
	f->n = 0;
}

const struct form_field *form_find(const struct form *f, const char *key)
{
	size_t i, len = strlen(key);

	for (i = 0; i < f->n; i++)
		if (f->fields[i].key_len == len && memcmp(f->fields[i].key, key, len) == 0)
			return &f->fields[i];
	return NULL;
}

const char *form_get(const struct form *f, const char *key)
{
	const struct form_field *field = form_find(f, key);

	return field ? field->value : NULL;
}

/* Puts `b` back to `len` bytes, undoing a partial append (struct buf has no truncate). */
static void buf_cut(struct buf *b, size_t len)
{
	if (b->data) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* The serializer's percent-encode set: everything but ASCII alphanumerics, *-._ and space. */
static int form_keeps(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '*' || c == '-' || c == '.' || c == '_';
}

/* Appends `s` encoded; stages output in a small local buffer to keep buf_append calls few. */
static int encode_component(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char tmp[192];
	size_t n = 0;
	unsigned char c;

	for (; *s; s++) {
		if (n > sizeof(tmp) - 3) {
			if (buf_append(out, tmp, n) < 0)
				return -1;
			n = 0;
		}
		c = (unsigned char)*s;
		if (form_keeps(c)) {
			tmp[n++] = (char)c;
		} else if (c == ' ') {
			tmp[n++] = '+';
		} else {
			tmp[n++] = '%';
			tmp[n++] = hex[c >> 4];
			tmp[n++] = hex[c & 15];
		}
	}
	return buf_append(out, tmp, n);
}

/* All or nothing: a pair that does not fit leaves `out` as it was. */
int form_add(struct buf *out, const char *key, const char *value)
{
	size_t old = out->len;
	int rc = -1;

	if (old && buf_putc(out, '&') < 0)
		goto out;
	if (encode_component(out, key) < 0 || buf_putc(out, '=') < 0 ||
	    encode_component(out, value) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		buf_cut(out, old);
	return rc;
}

/*
 * Measures first, then reserves exactly the decoded size with one buf_append (of the input's own
 * bytes, which are at least as many) and decodes over them in place, so a component that does not
 * fit leaves `out` unchanged.
 */
int form_decode_component(struct buf *out, const char *in, size_t len)
{
	size_t old = out->len, n = percent_decode(in, len, NULL);

	if (!n)
		return 0;
	if (buf_append(out, in, n) < 0)
		return -1;
	percent_decode(in, len, out->data + old);
	return 0;
}
