/*
 * fuzz_form.c - form_parse(), form_add(), form_find() and form_decode_component()
 * (lib/form.h) on any bytes.
 *
 * The input is an application/x-www-form-urlencoded body.  Checked:
 *   - form_parse() agrees with the WHATWG parser written out plainly below (split on '&', skip
 *     empty sequences, split at the first '=', '+' is a space, %XX a byte, any other '%' itself),
 *     field by field, and fails only past FORM_MAX_FIELDS;
 *   - every decoded key and value is NUL-terminated at its length;
 *   - the fields serialized again with form_add() parse back to the same fields (form_add() takes
 *     C strings, so each is cut at its first NUL), and form_find() finds the first of each key;
 *   - form_decode_component() of the whole input equals the reference decode, into a buffer with
 *     room, and into a short one either the same or a failure that leaves the buffer as it was.
 */
#include "buf.h"
#include "form.h"
#include "fuzz.h"

static int ref_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The WHATWG percent-decode with '+' as space, into out (room for len bytes); the length. */
static size_t ref_decode(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '+') {
			out[n++] = ' ';
		} else if (in[i] == '%' && i + 2 < len && ref_hex(in[i + 1]) >= 0 &&
			   ref_hex(in[i + 2]) >= 0) {
			out[n++] = (uint8_t)(ref_hex(in[i + 1]) << 4 | ref_hex(in[i + 2]));
			i += 2;
		} else {
			out[n++] = in[i];
		}
	}
	return n;
}

/* 1 when the decoded s[0, len) is exactly `want` (want_len bytes). */
static int decodes_to(const uint8_t *s, size_t len, const char *want, size_t want_len)
{
	uint8_t *tmp = malloc(len ? len : 1);
	size_t n;
	int same;

	FUZZ_CHECK(tmp);
	n = ref_decode(s, len, tmp);
	same = n == want_len && memcmp(tmp, want, n) == 0;
	free(tmp);
	return same;
}

/* form_parse()'s fields against the reference split and decode of the input. */
static void check_against_reference(const struct form *f, const uint8_t *in, size_t len)
{
	size_t start = 0, k = 0;

	for (size_t i = 0; i <= len; i++) {
		const uint8_t *seq, *eq;
		size_t seq_len, name_len;

		if (i < len && in[i] != '&')
			continue;
		seq = in + start;
		seq_len = i - start;
		start = i + 1;
		if (!seq_len)
			continue;
		FUZZ_CHECK(k < f->n);
		eq = memchr(seq, '=', seq_len);
		name_len = eq ? (size_t)(eq - seq) : seq_len;
		FUZZ_CHECK(decodes_to(seq, name_len, f->fields[k].key, f->fields[k].key_len));
		FUZZ_CHECK(eq ? decodes_to(eq + 1, seq_len - name_len - 1, f->fields[k].value,
					   f->fields[k].value_len)
			      : f->fields[k].value_len == 0);
		FUZZ_CHECK(f->fields[k].key[f->fields[k].key_len] == '\0');
		FUZZ_CHECK(f->fields[k].value[f->fields[k].value_len] == '\0');
		k++;
	}
	FUZZ_CHECK(k == f->n);
}

/* Serializes f's fields with form_add() and parses them back. */
static void check_round_trip(const struct form *f)
{
	struct buf out;
	struct form back;

	buf_init(&out, 64 * 1024 * 1024);
	for (size_t i = 0; i < f->n; i++)
		FUZZ_CHECK(form_add(&out, f->fields[i].key, f->fields[i].value) == 0);
	FUZZ_CHECK(form_parse(&back, buf_cstr(&out), out.len) == 0);
	FUZZ_CHECK(back.n == f->n);
	for (size_t i = 0; i < f->n; i++) {
		const struct form_field *a = &f->fields[i], *b = &back.fields[i];
		const struct form_field *first = form_find(&back, b->key);

		FUZZ_CHECK(b->key_len == strlen(a->key) && memcmp(b->key, a->key, b->key_len) == 0);
		FUZZ_CHECK(b->value_len == strlen(a->value) &&
			   memcmp(b->value, a->value, b->value_len) == 0);
		FUZZ_CHECK(first && first <= b && strcmp(first->key, b->key) == 0);
		FUZZ_CHECK(strcmp(form_get(&back, b->key), first->value) == 0);
	}
	form_release(&back);
	buf_release(&out);
}

/* form_decode_component() of the whole input, with room and with too little. */
static void check_decode_component(const uint8_t *in, size_t len, size_t small_cap)
{
	uint8_t *want = malloc(len ? len : 1);
	size_t want_len;
	struct buf big, small;

	FUZZ_CHECK(want);
	want_len = ref_decode(in, len, want);
	buf_init(&big, len + 1);
	FUZZ_CHECK(form_decode_component(&big, (const char *)in, len) == 0);
	FUZZ_CHECK(big.len == want_len && (!want_len || memcmp(big.data, want, want_len) == 0));

	buf_init(&small, small_cap);
	FUZZ_CHECK(buf_append(&small, "x", 1) == 0);
	if (form_decode_component(&small, (const char *)in, len) == 0) {
		FUZZ_CHECK(small.len == want_len + 1 && memcmp(small.data + 1, want, want_len) == 0);
	} else {
		FUZZ_CHECK(small.len == 1 && small.data[0] == 'x' && small.data[1] == '\0');
	}
	FUZZ_CHECK(small.data[small.len] == '\0');
	buf_release(&small);
	buf_release(&big);
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_copy(data, size);
	size_t pairs = 0, start = 0;
	struct form f;

	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '&') {
			pairs += i > start;
			start = i + 1;
		}
	}
	if (form_parse(&f, in, size) < 0) {
		FUZZ_CHECK(pairs > FORM_MAX_FIELDS);
		FUZZ_CHECK(f.n == 0 && f.fields == NULL);
	} else {
		FUZZ_CHECK(pairs <= FORM_MAX_FIELDS);
		check_against_reference(&f, data, size);
		check_round_trip(&f);
		form_release(&f);
	}
	check_decode_component(data, size, 2 + size % 64);
	free(in);
	return 0;
}
