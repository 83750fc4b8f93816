/*
 * test_form.c - form.c: the WHATWG urlencoded parser on one table of inputs (each copied into a
 * buffer of exactly its length, so ASan catches any read past it), the field cap, the serializer,
 * and Twilio's real webhook bodies from $FIXTURES (default tests/fixtures).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "form.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BYTES(s) s, sizeof(s) - 1
#define KV(k, v) { k, sizeof(k) - 1, v, sizeof(v) - 1 }

struct kv {
	const char *k;
	size_t k_len;
	const char *v;
	size_t v_len;
};

struct parse_case {
	const char *name;
	const char *in;
	size_t len;
	size_t n;
	struct kv f[4];
};

static const struct parse_case parse_cases[] = {
	{ "normal", BYTES("a=1&b=2"), 2, { KV("a", "1"), KV("b", "2") } },
	{ "repeated keys kept in order", BYTES("a=1&a=2&b=3"), 3,
	  { KV("a", "1"), KV("a", "2"), KV("b", "3") } },
	{ "+ is space", BYTES("q=a+b+"), 1, { KV("q", "a b ") } },
	{ "%2B is plus", BYTES("q=a%2Bb"), 1, { KV("q", "a+b") } },
	{ "+ in key", BYTES("a+b=c"), 1, { KV("a b", "c") } },
	{ "lone % at end", BYTES("a=%"), 1, { KV("a", "%") } },
	{ "% with one digit at end", BYTES("a=%4"), 1, { KV("a", "%4") } },
	{ "% with non-hex", BYTES("a=%zz"), 1, { KV("a", "%zz") } },
	{ "% with one hex, one not", BYTES("a=%4g&b=%g4"), 2, { KV("a", "%4g"), KV("b", "%g4") } },
	{ "%% then escape", BYTES("a=%%41"), 1, { KV("a", "%A") } },
	{ "trailing percent", BYTES("a=100%"), 1, { KV("a", "100%") } },
	{ "escape ends exactly at input end", BYTES("a=%41"), 1, { KV("a", "A") } },
	{ "bad escape in key", BYTES("%x=1"), 1, { KV("%x", "1") } },
	{ "embedded %00", BYTES("a=x%00y"), 1, { KV("a", "x\0y") } },
	{ "raw NUL byte in input", BYTES("a\0b=c\0"), 1, { KV("a\0b", "c\0") } },
	{ "UTF-8 upper-case hex", BYTES("n=%C3%B1"), 1, { KV("n", "\xc3\xb1") } },
	{ "UTF-8 lower-case hex", BYTES("n=%c3%b1"), 1, { KV("n", "\xc3\xb1") } },
	{ "invalid UTF-8 kept as bytes", BYTES("\xff=%FE"), 1, { KV("\xff", "\xfe") } },
	{ "empty input", BYTES(""), 0, { { 0 } } },
	{ "empty value", BYTES("a="), 1, { KV("a", "") } },
	{ "empty name", BYTES("=b"), 1, { KV("", "b") } },
	{ "only =", BYTES("="), 1, { KV("", "") } },
	{ "no = at all", BYTES("a"), 1, { KV("a", "") } },
	{ "no = then pair", BYTES("flag&a=1"), 2, { KV("flag", ""), KV("a", "1") } },
	{ "&& only", BYTES("&&"), 0, { { 0 } } },
	{ "empty pairs skipped", BYTES("&a=1&&b=2&"), 2, { KV("a", "1"), KV("b", "2") } },
	{ "second = is value", BYTES("a=1=2"), 1, { KV("a", "1=2") } },
	{ "escaped separators", BYTES("%26=%3D&x=%26"), 2, { KV("&", "="), KV("x", "&") } },
	{ "length bounds the input", "a=1&b=2", 3, 1, { KV("a", "1") } },
	{ "length cuts an escape", "a=%41", 4, 1, { KV("a", "%4") } },
};

static void check_field(const struct form_field *got, const struct kv *want)
{
	assert_int_equal(got->key_len, want->k_len);
	assert_memory_equal(got->key, want->k, want->k_len);
	assert_int_equal(got->key[got->key_len], '\0');
	assert_int_equal(got->value_len, want->v_len);
	assert_memory_equal(got->value, want->v, want->v_len);
	assert_int_equal(got->value[got->value_len], '\0');
}

/*
 * Parses `t` from a copy of exactly its bytes followed by `tail` (tail_len 0: nothing, so ASan sees
 * any read past the end; otherwise bytes that would change the result if they were read).
 */
static void parse_one(const struct parse_case *t, const char *tail, size_t tail_len)
{
	struct form f;
	size_t j;
	char *copy;

	copy = malloc(t->len + tail_len + 1);
	assert_non_null(copy);
	memcpy(copy, t->in, t->len);
	memcpy(copy + t->len, tail, tail_len);
	assert_int_equal(form_parse(&f, copy, t->len), 0);
	assert_int_equal(f.n, t->n);
	for (j = 0; j < t->n; j++)
		check_field(&f.fields[j], &t->f[j]);
	form_release(&f);
	assert_null(f.fields);
	assert_int_equal(f.n, 0);
	free(copy);
}

static void test_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		print_message("parse: %s\n", parse_cases[i].name);
		parse_one(&parse_cases[i], "", 0);
		parse_one(&parse_cases[i], BYTES("41=x&y=z"));
	}
}

static void test_get(void **state)
{
	static const char in[] = "a=1&a=2&b=&c%00d=3";
	struct form f;

	(void)state;
	assert_int_equal(form_parse(&f, in, sizeof(in) - 1), 0);
	assert_string_equal(form_get(&f, "a"), "1");     /* the first of repeated keys */
	assert_string_equal(form_get(&f, "b"), "");
	assert_null(form_get(&f, "c"));                  /* "c\0d" is not "c" */
	assert_null(form_get(&f, "missing"));
	assert_null(form_get(&f, ""));
	form_release(&f);
	form_release(&f);                                /* releasing twice is harmless */
}

/* Builds `n` fields "k=v" separated by `sep`; caller frees. */
static char *many_fields(size_t n, const char *sep, size_t *len)
{
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_printf(&b, "%sk%zu=v", i ? sep : "", i), 0);
	return buf_detach(&b, len);
}

struct cap_case {
	size_t n;
	const char *sep;
	int rc;
};

static const struct cap_case cap_cases[] = {
	{ FORM_MAX_FIELDS, "&", 0 },
	{ FORM_MAX_FIELDS, "&&&", 0 },          /* empty pairs do not count */
	{ FORM_MAX_FIELDS + 1, "&", -1 },
	{ FORM_MAX_FIELDS * 4, "&", -1 },
};

static void test_field_cap(void **state)
{
	struct form f;
	size_t i, len;
	char *in;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cap_cases); i++) {
		in = many_fields(cap_cases[i].n, cap_cases[i].sep, &len);
		assert_non_null(in);
		assert_int_equal(form_parse(&f, in, len), cap_cases[i].rc);
		if (cap_cases[i].rc == 0) {
			assert_int_equal(f.n, cap_cases[i].n);
			assert_string_equal(f.fields[f.n - 1].value, "v");
		} else {
			assert_int_equal(f.n, 0);
			assert_null(f.fields);
		}
		form_release(&f);
		free(in);
	}
}

/* ---- serializer ---- */

struct add_case {
	const char *key;
	const char *value;
	const char *want;
};

static const struct add_case add_cases[] = {
	{ "a", "1", "a=1" },
	{ "a b", "x+y", "a+b=x%2By" },
	{ "*-._", "~!'()", "*-._=%7E%21%27%28%29" },
	{ "\xc3\xb1", "\xc3\xa9", "%C3%B1=%C3%A9" },
	{ "", "", "=" },
	{ "&=", "%", "%26%3D=%25" },
	{ "From", "+14133881111", "From=%2B14133881111" },
	{ "ctl", "\x01\x7f\xff", "ctl=%01%7F%FF" },
};

static void test_add_table(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(add_cases); i++) {
		buf_init(&b, 1024);
		assert_int_equal(form_add(&b, add_cases[i].key, add_cases[i].value), 0);
		assert_string_equal(buf_cstr(&b), add_cases[i].want);
		buf_release(&b);
	}
	buf_init(&b, 1024);
	assert_int_equal(form_add(&b, "a", "1"), 0);
	assert_int_equal(form_add(&b, "b", "2 3"), 0);
	assert_int_equal(form_add(&b, "a", ""), 0);
	assert_string_equal(buf_cstr(&b), "a=1&b=2+3&a=");
	buf_release(&b);
}

/* A pair that does not fit fails and leaves the buffer as it was. */
static void test_add_full(void **state)
{
	struct buf b;
	char big[600];

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(form_add(&b, "a", "1"), 0);
	assert_int_equal(form_add(&b, "bb", "22"), -1);
	assert_string_equal(buf_cstr(&b), "a=1");
	assert_int_equal(b.len, 3);
	assert_int_equal(form_add(&b, "c", "3"), 0);
	assert_string_equal(buf_cstr(&b), "a=1&c=3");
	buf_release(&b);

	/* fails in the middle of a long value, after staged chunks were appended */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 400);
	assert_int_equal(form_add(&b, "x", "y"), 0);
	assert_int_equal(form_add(&b, "big", big), -1);
	assert_string_equal(buf_cstr(&b), "x=y");
	buf_release(&b);
}

/* Every byte but NUL, as key and as value, survives serialize then parse. */
static void test_round_trip_all_bytes(void **state)
{
	char all[256];
	struct buf b;
	struct form f;
	int i;

	(void)state;
	for (i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	buf_init(&b, 4096);
	assert_int_equal(form_add(&b, all, "plain"), 0);
	assert_int_equal(form_add(&b, "plain", all), 0);
	assert_int_equal(form_add(&b, "", ""), 0);
	assert_int_equal(form_parse(&f, b.data, b.len), 0);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.fields[0].key_len, 255);
	assert_memory_equal(f.fields[0].key, all, 255);
	assert_string_equal(f.fields[0].value, "plain");
	assert_int_equal(f.fields[1].value_len, 255);
	assert_memory_equal(f.fields[1].value, all, 255);
	assert_int_equal(f.fields[2].key_len, 0);
	assert_int_equal(f.fields[2].value_len, 0);
	form_release(&f);
	buf_release(&b);
}

/* ---- form_decode_component ---- */

struct decode_case {
	const char *in;
	size_t len;
	const char *want;
	size_t want_len;
};

static const struct decode_case decode_cases[] = {
	{ BYTES(""), BYTES("") },
	{ BYTES("a+b%41%"), BYTES("a bA%") },
	{ BYTES("%2B%2b+"), BYTES("++ ") },
	{ BYTES("%00%zz%4"), BYTES("\0%zz%4") },
	{ BYTES("%C3%B1"), BYTES("\xc3\xb1") },
};

static void test_decode_component(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(decode_cases); i++) {
		const struct decode_case *t = &decode_cases[i];

		buf_init(&b, 64);
		assert_int_equal(buf_puts(&b, "pre:"), 0);
		assert_int_equal(form_decode_component(&b, t->in, t->len), 0);
		assert_int_equal(b.len, 4 + t->want_len);
		assert_memory_equal(b.data, "pre:", 4);
		if (t->want_len)
			assert_memory_equal(b.data + 4, t->want, t->want_len);
		assert_int_equal(buf_cstr(&b)[b.len], '\0');
		buf_release(&b);
	}

	/* too long: fails, buffer unchanged; the decoded size is what counts, not the input's */
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "ab"), 0);
	assert_int_equal(form_decode_component(&b, BYTES("%41%42%43%44%45%46")), -1);
	assert_string_equal(buf_cstr(&b), "ab");
	assert_int_equal(form_decode_component(&b, BYTES("%41%42%43%44%45")), 0);
	assert_string_equal(buf_cstr(&b), "abABCDE");
	buf_release(&b);
}

/* ---- Twilio fixtures ---- */

/* The whole of $FIXTURES/name, exactly its bytes (no NUL added); caller frees. */
static char *read_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("FIXTURES");
	char path[512];
	char *data;
	FILE *fp;
	long size;

	if (!dir || !*dir)
		dir = "tests/fixtures";
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
	fp = fopen(path, "rb");
	if (!fp)
		fail_msg("cannot open fixture %s (set FIXTURES to the fixtures directory)", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	assert_true(size > 0);
	assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
	data = malloc((size_t)size);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
	fclose(fp);
	*len = (size_t)size;
	return data;
}

static void test_twilio_inbound_sms(void **state)
{
	static const struct {
		const char *key;
		const char *value;
	} want[] = {
		{ "From", "+14133881111" },
		{ "To", "+12028831111" },
		{ "Body", "Msg" },
		{ "MessageSid", "SMe287d7109a5a925f182f0e07fe5b223b" },
		{ "AccountSid", "acctid" },
		{ "ToState", "District Of Columbia" },
		{ "ToCity", "" },
		{ "NumMedia", "0" },
		{ "ApiVersion", "2010-04-01" },
	};
	struct form f;
	size_t len, i;
	char *body = read_fixture("twilio-inbound-sms.form", &len);

	(void)state;
	assert_int_equal(form_parse(&f, body, len), 0);
	assert_int_equal(f.n, 19);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		print_message("inbound: %s\n", want[i].key);
		assert_non_null(form_get(&f, want[i].key));
		assert_string_equal(form_get(&f, want[i].key), want[i].value);
	}
	assert_string_equal(f.fields[0].key, "ToCountry");
	assert_null(form_get(&f, "MediaUrl0"));
	form_release(&f);
	free(body);
}

/* Twilio's bodies use the same encoding as our serializer, so parse + re-serialize is identity. */
static void test_twilio_fixtures_round_trip(void **state)
{
	static const struct {
		const char *file;
		size_t n;
	} fixtures[] = {
		{ "twilio-inbound-sms.form", 19 },
		{ "twilio-status-failed-21610.form", 4 },
		{ "twilio-status-sent-docs.form", 6 },
		{ "twilio-status-sent-messaging-service.form", 8 },
	};
	struct form f;
	struct buf b;
	size_t len, i, j;
	char *body;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(fixtures); i++) {
		print_message("round trip: %s\n", fixtures[i].file);
		body = read_fixture(fixtures[i].file, &len);
		assert_int_equal(form_parse(&f, body, len), 0);
		assert_int_equal(f.n, fixtures[i].n);
		buf_init(&b, 4096);
		for (j = 0; j < f.n; j++)
			assert_int_equal(form_add(&b, f.fields[j].key, f.fields[j].value), 0);
		assert_int_equal(b.len, len);
		assert_memory_equal(b.data, body, len);
		buf_release(&b);
		form_release(&f);
		free(body);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_field_cap),
		cmocka_unit_test(test_add_table),
		cmocka_unit_test(test_add_full),
		cmocka_unit_test(test_round_trip_all_bytes),
		cmocka_unit_test(test_decode_component),
		cmocka_unit_test(test_twilio_inbound_sms),
		cmocka_unit_test(test_twilio_fixtures_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
