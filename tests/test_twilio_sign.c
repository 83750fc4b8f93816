/*
 * test_twilio_sign.c - twilio_sign.c against every vector in
 * $FIXTURES/twilio-signature-vectors.json (default tests/fixtures), compiled from Twilio's own
 * helper-library tests, plus the URL-variant rules, JSON-body binding and argument edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "crypto.h"
#include "form.h"
#include "twilio_sign.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VECTORS_FILE "twilio-signature-vectors.json"
/* The file holds 28 vectors; fewer means it was truncated or replaced, and the test must say so. */
#define VECTORS_EXPECTED 28

static json_t *load_vectors(void)
{
	const char *dir = getenv("FIXTURES");
	char path[512];
	json_error_t jerr;
	json_t *root, *vectors;

	if (!dir || !*dir)
		dir = "tests/fixtures";
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, VECTORS_FILE) < (int)sizeof(path));
	root = json_load_file(path, 0, &jerr);
	if (!root)
		fail_msg("%s:%d: %s (set FIXTURES to the fixtures directory)", path, jerr.line,
			 jerr.text);
	vectors = json_object_get(root, "vectors");
	assert_true(json_is_array(vectors));
	json_incref(vectors);
	json_decref(root);
	return vectors;
}

/* A malloc'd NUL-terminated copy of a JSON string, NUL bytes (\u0000) included in *len. */
static char *dup_json_string(const json_t *s, size_t *len)
{
	char *p;

	assert_true(json_is_string(s));
	*len = json_string_length(s);
	p = malloc(*len + 1);
	assert_non_null(p);
	memcpy(p, json_string_value(s), *len + 1);
	return p;
}

static void form_push(struct form *f, const char *key, const json_t *value)
{
	struct form_field *fld = &f->fields[f->n++];

	fld->key = malloc(strlen(key) + 1);
	assert_non_null(fld->key);
	memcpy(fld->key, key, strlen(key) + 1);
	fld->key_len = strlen(key);
	fld->value = dup_json_string(value, &fld->value_len);
}

/*
 * Fills `f` from a vector's "params": an object whose members are a string or an array of strings
 * (a repeated key).  Returns -1, `f` empty, for null or a missing member (no form).
 * `reversed` puts the fields in reverse order, to show the signature does not depend on it.
 * Release with form_release().
 */
static int form_from_json(struct form *f, const json_t *params, int reversed)
{
	const char *key;
	json_t *value, *item;
	size_t count = 0, i;

	f->fields = NULL;
	f->n = 0;
	if (!params || json_is_null(params))
		return -1;
	assert_true(json_is_object(params));
	json_object_foreach((json_t *)params, key, value)
		count += json_is_array(value) ? json_array_size(value) : 1;
	f->fields = calloc(count ? count : 1, sizeof(*f->fields));
	assert_non_null(f->fields);
	json_object_foreach((json_t *)params, key, value) {
		if (json_is_array(value)) {
			json_array_foreach(value, i, item)
				form_push(f, key, item);
		} else {
			form_push(f, key, value);
		}
	}
	for (i = 0; reversed && i < f->n / 2; i++) {
		struct form_field tmp = f->fields[i];

		f->fields[i] = f->fields[f->n - 1 - i];
		f->fields[f->n - 1 - i] = tmp;
	}
	return 0;
}

static const char *vector_str(const json_t *v, const char *member)
{
	const json_t *s = json_object_get(v, member);

	if (!s)
		return NULL;
	assert_true(json_is_string(s));
	return json_string_value(s);
}

/* One vector: the validator's verdict, and for valid ones the signature of the signed URL. */
static void check_vector(const json_t *v, int reversed)
{
	const char *name = vector_str(v, "name");
	const char *token = vector_str(v, "auth_token");
	const char *url = vector_str(v, "url");
	const char *sig = vector_str(v, "x_twilio_signature");
	const char *signed_url = vector_str(v, "signed_url_variant");
	const json_t *valid = json_object_get(v, "valid");
	const json_t *body = json_object_get(v, "body");
	const char *body_s = NULL;
	size_t body_len = 0;
	char out[TWILIO_SIGNATURE_LEN], bad[64];
	struct form f;
	const struct form *params;

	assert_non_null(name);
	print_message("vector %s%s\n", name, reversed ? " (fields reversed)" : "");
	assert_non_null(token);
	assert_non_null(url);
	assert_non_null(sig);
	assert_true(json_is_boolean(valid));
	if (body) {
		assert_true(json_is_string(body));
		body_s = json_string_value(body);
		body_len = json_string_length(body);
	}
	params = form_from_json(&f, json_object_get(v, "params"), reversed) == 0 ? &f : NULL;

	assert_int_equal(twilio_signature_valid(token, url, params, body_s, body_len, sig),
			 json_is_true(valid));
	if (json_is_true(valid)) {
		/* the signing is right for the URL spelling Twilio actually signed */
		assert_non_null(signed_url);
		twilio_signature_compute(token, signed_url, body ? NULL : params, out);
		assert_string_equal(out, sig);
		/* and a signature differing in one character is refused */
		assert_true(strlen(sig) < sizeof(bad));
		memcpy(bad, sig, strlen(sig) + 1);
		bad[3] = bad[3] == 'A' ? 'B' : 'A';
		assert_int_equal(twilio_signature_valid(token, url, params, body_s, body_len, bad),
				 0);
	}
	form_release(&f);
}

static void test_vectors(void **state)
{
	json_t *vectors = load_vectors();
	size_t i, n_valid = 0;
	json_t *v;

	(void)state;
	if (json_array_size(vectors) < VECTORS_EXPECTED)
		fail_msg("%s has %zu vectors, expected at least %d", VECTORS_FILE,
			 json_array_size(vectors), VECTORS_EXPECTED);
	json_array_foreach(vectors, i, v) {
		assert_true(json_is_object(v));
		check_vector(v, 0);
		check_vector(v, 1);
		n_valid += json_is_true(json_object_get(v, "valid"));
	}
	/* both verdicts are exercised */
	assert_true(n_valid > 0 && n_valid < json_array_size(vectors));
	json_decref(vectors);
}

/* The vectors' signing strings agree with plain HMAC-SHA1: the fixture is self-consistent. */
static void test_vector_signing_strings(void **state)
{
	json_t *vectors = load_vectors();
	uint8_t mac[SHA1_LEN];
	char out[TWILIO_SIGNATURE_LEN];
	size_t i, checked = 0;
	json_t *v, *s;

	(void)state;
	json_array_foreach(vectors, i, v) {
		s = json_object_get(v, "signing_string");
		if (!s)
			continue;
		hmac_sha1(vector_str(v, "auth_token"), strlen(vector_str(v, "auth_token")),
			  json_string_value(s), json_string_length(s), mac);
		base64_encode(mac, SHA1_LEN, out);
		assert_string_equal(out, vector_str(v, "x_twilio_signature"));
		checked++;
	}
	assert_true(checked >= VECTORS_EXPECTED - 3);
	json_decref(vectors);
}

/* ---- JSON bodies ---- */

#define JSON_TOKEN "12345"
#define JSON_BODY "{\"property\": \"value\", \"boolean\": true}"
#define JSON_URL "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=" \
	"0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
#define JSON_SIG "a9nBmqA0ju/hNViExpshrM61xv4="

struct body_case {
	const char *name;
	const char *body;
	int valid;
};

static const struct body_case body_cases[] = {
	{ "original", JSON_BODY, 1 },
	{ "one byte changed", "{\"property\": \"valuE\", \"boolean\": true}", 0 },
	{ "truncated", "{\"property\": \"value\", \"boolean\": true", 0 },
	{ "whitespace added", "{\"property\": \"value\", \"boolean\": true}\n", 0 },
	{ "re-serialised", "{\"property\":\"value\",\"boolean\":true}", 0 },
	{ "empty", "", 0 },
};

/* The signature over the URL binds the body through bodySHA256: a tampered body fails. */
static void test_json_body_tampered(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(body_cases); i++) {
		const char *body = body_cases[i].body;

		print_message("body: %s\n", body_cases[i].name);
		assert_int_equal(twilio_signature_valid(JSON_TOKEN, JSON_URL, NULL, body,
							strlen(body), JSON_SIG),
				 body_cases[i].valid);
	}
}

/*
 * The fixture's body_without_bodySHA256 vector carries no body, so it cannot show that a JSON body
 * needs bodySHA256.  Here the signature is right for the URL, yet a body without (or with a
 * wrong) bodySHA256 in the URL is refused.
 */
static void test_json_body_requires_hash(void **state)
{
	static const char *urls[] = {
		"https://mycompany.com/myapp.php?foo=1&bar=2",
		"https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=",
		"https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
		"0A1FF7634D9AB3B95DB5C9A2DFE9416E41502B283A80C7CF19632632F96E6620",
		"https://mycompany.com/myapp.php?foo=1&bar=2&bodysha256="
		"0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
		"https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
		"0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e662",
		"https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
		"0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620%00",
		"https://mycompany.com/myapp.php?foo=1&bar=2#bodySHA256="
		"0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
	};
	char sig[TWILIO_SIGNATURE_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(urls); i++) {
		print_message("url: %s\n", urls[i]);
		twilio_signature_compute(JSON_TOKEN, urls[i], NULL, sig);
		/* as a form webhook with no fields the URL-only signature is fine... */
		assert_int_equal(twilio_signature_valid(JSON_TOKEN, urls[i], NULL, NULL, 0, sig),
				 1);
		/* ...but not with a JSON body it does not bind */
		assert_int_equal(twilio_signature_valid(JSON_TOKEN, urls[i], NULL, JSON_BODY,
							strlen(JSON_BODY), sig), 0);
	}
}

/* With a body, form params are not signed: passing some changes nothing. */
static void test_json_body_ignores_params(void **state)
{
	static const char fields[] = "Digits=1234";
	struct form f;

	(void)state;
	assert_int_equal(form_parse(&f, fields, sizeof(fields) - 1), 0);
	assert_int_equal(twilio_signature_valid(JSON_TOKEN, JSON_URL, &f, JSON_BODY,
						strlen(JSON_BODY), JSON_SIG), 1);
	form_release(&f);
}

/* ---- URL variants ---- */

struct variant_case {
	const char *url;         /* the URL the server reconstructs */
	const char *signed_url;  /* the URL Twilio signed */
	int valid;
};

static const struct variant_case variant_cases[] = {
	{ "https://h.example/x", "https://h.example:443/x", 1 },
	{ "https://h.example:8443/x", "https://h.example/x", 1 },
	{ "https://h.example/x", "https://h.example:80/x", 0 },          /* wrong default */
	{ "http://h.example/x", "http://h.example:80/x", 1 },
	{ "HTTPS://h.example/x", "HTTPS://h.example:443/x", 1 },         /* scheme is case-blind */
	{ "ftp://h.example/x", "ftp://h.example:443/x", 0 },             /* no default port */
	{ "ftp://h.example:21/x", "ftp://h.example/x", 1 },
	{ "https://[::1]/x", "https://[::1]:443/x", 1 },                 /* IPv6: port after ] */
	{ "https://[::1]:8443/x", "https://[::1]/x", 1 },
	{ "https://u:p@h.example/x", "https://u:p@h.example:443/x", 1 }, /* port after userinfo */
	{ "https://u:p@h.example:99/x", "https://u:p@h.example/x", 1 },
	{ "https://u:p@h.example/x", "https://h.example/x", 0 },         /* userinfo is signed */
	{ "https://h.example?x=1", "https://h.example:443?x=1", 1 },     /* no path */
	{ "https://h.example", "https://h.example:443", 1 },
	{ "https://h.example/x?q=it's", "https://h.example/x?q=it%27s", 1 },
	{ "https://h.example/x?q=it's", "https://h.example:443/x?q=it%27s", 1 },
	{ "https://h.example/x?q=a b\"<>", "https://h.example/x?q=a%20b%22%3C%3E", 1 },
	{ "https://h.example/x?q=a\xc3\xb1", "https://h.example/x?q=a%C3%B1", 1 },
	{ "https://h.example/x?q=a\xc3\xb1", "https://h.example/x?q=a\xc3\xb1", 1 },
	{ "https://h.example/it's?q=1", "https://h.example/it%27s?q=1", 0 }, /* path not escaped */
	{ "https://h.example/x?q=1#it's", "https://h.example/x?q=1#it%27s", 0 },
	{ "https://h.example/x?q=%27", "https://h.example/x?q=%2527", 0 },  /* % stays */
	{ "https://h.example/x?q=%27", "https://h.example/x?q='", 0 },      /* never decoded */
	{ "https://h.example/x", "https://h.example/x/", 0 },
	{ "https://h.example//x", "https://h.example/x", 0 },
	{ "https://h.example/x", "https://H.example/x", 0 },
	{ "/relative?q='", "/relative?q=%27", 1 },
	{ "/relative", "/relative:443", 0 },
};

static void test_url_variants(void **state)
{
	static const char fields[] = "CallSid=CA1&Digits=1234&From=%2B14158675309";
	char sig[TWILIO_SIGNATURE_LEN];
	struct form f;
	size_t i;

	(void)state;
	assert_int_equal(form_parse(&f, fields, sizeof(fields) - 1), 0);
	for (i = 0; i < ARRAY_SIZE(variant_cases); i++) {
		const struct variant_case *t = &variant_cases[i];

		print_message("variant: %s signed as %s\n", t->url, t->signed_url);
		twilio_signature_compute("token", t->signed_url, &f, sig);
		assert_int_equal(strlen(sig), TWILIO_SIGNATURE_LEN - 1);
		assert_int_equal(twilio_signature_valid("token", t->url, &f, NULL, 0, sig),
				 t->valid);
		assert_int_equal(twilio_signature_valid("other", t->url, &f, NULL, 0, sig), 0);
	}
	form_release(&f);
}

/* ---- params ---- */

/* A POST body through form_parse validates against the first vector: values are decoded. */
static void test_parsed_form_body(void **state)
{
	static const char body[] = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
				   "&From=%2B14158675309&To=%2B18005551212";
	static const char url[] = "https://mycompany.com/myapp.php?foo=1&bar=2";
	struct form f;

	(void)state;
	assert_int_equal(form_parse(&f, body, sizeof(body) - 1), 0);
	assert_int_equal(twilio_signature_valid("12345", url, &f, NULL, 0,
						"RSOYDt4T1cUTdK1PDd93/VVr8B8="), 1);
	assert_int_equal(twilio_signature_valid("12346", url, &f, NULL, 0,
						"RSOYDt4T1cUTdK1PDd93/VVr8B8="), 0);
	/* an extra field is signed too */
	form_release(&f);
	assert_int_equal(form_parse(&f, body, sizeof(body) - 1 - strlen("&To=%2B18005551212")), 0);
	assert_int_equal(twilio_signature_valid("12345", url, &f, NULL, 0,
						"RSOYDt4T1cUTdK1PDd93/VVr8B8="), 0);
	form_release(&f);
}

/* Values are signed by their exact length: a decoded NUL byte is part of the value. */
static void test_value_with_nul(void **state)
{
	static const char body[] = "b=2&a=x%00y&a=x%00y";
	static const char url[] = "https://h.example/";
	static const char signing[] = "https://h.example/ax\0yb2";
	char sig[TWILIO_SIGNATURE_LEN], want[TWILIO_SIGNATURE_LEN];
	uint8_t mac[SHA1_LEN];
	struct form f;

	(void)state;
	assert_int_equal(form_parse(&f, body, sizeof(body) - 1), 0);
	twilio_signature_compute("k", url, &f, sig);
	hmac_sha1("k", 1, signing, sizeof(signing) - 1, mac);
	base64_encode(mac, SHA1_LEN, want);
	assert_string_equal(sig, want);
	form_release(&f);
}

/* A hand-built form past FORM_MAX_FIELDS signs as "" and never validates. */
static void test_too_many_params(void **state)
{
	struct form_field fields[FORM_MAX_FIELDS + 1];
	struct form f = { fields, FORM_MAX_FIELDS + 1 };
	char sig[TWILIO_SIGNATURE_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		fields[i] = (struct form_field){ "k", 1, "v", 1 };
	twilio_signature_compute("k", "https://h.example/", &f, sig);
	assert_string_equal(sig, "");
	assert_int_equal(twilio_signature_valid("k", "https://h.example/", &f, NULL, 0, sig), 0);
	f.n = FORM_MAX_FIELDS;
	twilio_signature_compute("k", "https://h.example/", &f, sig);
	assert_int_equal(strlen(sig), TWILIO_SIGNATURE_LEN - 1);
	assert_int_equal(twilio_signature_valid("k", "https://h.example/", &f, NULL, 0, sig), 1);
}

/* ---- arguments ---- */

static void test_bad_arguments(void **state)
{
	static const char url[] = "https://mycompany.com/myapp.php?foo=1&bar=2";
	char sig[TWILIO_SIGNATURE_LEN], empty_key_sig[TWILIO_SIGNATURE_LEN];
	struct form none = { NULL, 0 };

	(void)state;
	twilio_signature_compute("12345", url, NULL, sig);
	assert_string_equal(sig, "zYQTYrRWXE7LtzbG4PfP7/bkkGo=");     /* the empty_params vector */
	assert_int_equal(twilio_signature_valid("12345", url, NULL, NULL, 0, sig), 1);
	assert_int_equal(twilio_signature_valid("12345", url, &none, NULL, 0, sig), 1);
	assert_int_equal(twilio_signature_valid("12345", url, NULL, NULL, 0, NULL), 0);
	assert_int_equal(twilio_signature_valid("12345", url, NULL, NULL, 0, ""), 0);
	assert_int_equal(twilio_signature_valid(NULL, url, NULL, NULL, 0, sig), 0);
	assert_int_equal(twilio_signature_valid("12345", NULL, NULL, NULL, 0, sig), 0);
	/* trailing garbage or a missing pad character is a different signature */
	assert_int_equal(twilio_signature_valid("12345", url, NULL, NULL, 0,
						"zYQTYrRWXE7LtzbG4PfP7/bkkGo= "), 0);
	assert_int_equal(twilio_signature_valid("12345", url, NULL, NULL, 0,
						"zYQTYrRWXE7LtzbG4PfP7/bkkGo"), 0);
	/* an unset auth token must not make signatures anyone can compute acceptable */
	twilio_signature_compute("", url, NULL, empty_key_sig);
	assert_int_equal(twilio_signature_valid("", url, NULL, NULL, 0, empty_key_sig), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vector_signing_strings),
		cmocka_unit_test(test_json_body_tampered),
		cmocka_unit_test(test_json_body_requires_hash),
		cmocka_unit_test(test_json_body_ignores_params),
		cmocka_unit_test(test_url_variants),
		cmocka_unit_test(test_parsed_form_body),
		cmocka_unit_test(test_value_with_nul),
		cmocka_unit_test(test_too_many_params),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
