/*
 * fuzz_twilio_sign.c - twilio_signature_compute() and twilio_signature_valid()
 * (providers/twilio_sign.h) on any token, URL and form body.
 *
 * The input is "TOKEN\nURL\nBODY": the auth token and the URL are cut at their first NUL (they are
 * C strings), the body is a form (form_parse()).  Checked:
 *   - a computed signature is 28 base64 characters and validates for the same request, with the
 *     fields in any order (here: reversed), and a signature with one character changed does not;
 *   - what Twilio signs in the wild is accepted for the URL the gateway sees: the URL with the
 *     default port added (https :443, http :80) and the URL with its query percent-escaped the
 *     WHATWG way;
 *   - a JSON webhook: the URL with bodySHA256=<hex SHA-256 of the body> appended validates with
 *     the body, and not with the body one byte longer;
 *   - an empty token or signature never validates.
 */
#include <stdbool.h>
#include <strings.h>

#include "form.h"
#include "fuzz.h"
#include "twilio_sign.h"

/* Twilio's validators sign the query with these bytes escaped (space, ", <, >, ', controls and
 * non-ASCII), the WHATWG special-query percent-encode set. */
static bool query_byte_escaped(unsigned char c)
{
	return c < 0x21 || c > 0x7e || c == '"' || c == '<' || c == '>' || c == '\'';
}

/* `url` with every query byte in the escape set written %XX; NULL when nothing would change or
 * the URL has a fragment (a '#' before the '?' makes it no query at all).  The caller frees it. */
static char *escape_query(const char *url)
{
	const char *q = strchr(url, '?');
	size_t n = 0;
	char *out;
	bool changed = false;

	if (!q || strchr(url, '#'))
		return NULL;
	out = malloc(3 * strlen(url) + 1);
	FUZZ_CHECK(out);
	for (const char *c = url; *c; c++) {
		unsigned char b = (unsigned char)*c;

		if (c > q && query_byte_escaped(b)) {
			out[n++] = '%';
			out[n++] = "0123456789ABCDEF"[b >> 4];
			out[n++] = "0123456789ABCDEF"[b & 15];
			changed = true;
		} else {
			out[n++] = (char)b;
		}
	}
	out[n] = '\0';
	if (!changed) {
		free(out);
		return NULL;
	}
	return out;
}

/* For a plain "http(s)://host/..." URL (no port, user info or IPv6 literal), the URL with the
 * scheme's default port written out; NULL otherwise.  The caller frees it. */
static char *add_default_port(const char *url)
{
	const char *port, *host, *end;
	char *out;

	if (strncasecmp(url, "https://", 8) == 0)
		port = ":443", host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		port = ":80", host = url + 7;
	else
		return NULL;
	end = host + strcspn(host, "/?#");
	if (memchr(host, ':', (size_t)(end - host)) || memchr(host, '@', (size_t)(end - host)) ||
	    memchr(host, '[', (size_t)(end - host)))
		return NULL;
	out = malloc(strlen(url) + 5);
	FUZZ_CHECK(out);
	snprintf(out, strlen(url) + 5, "%.*s%s%s", (int)(end - url), url, port, end);
	return out;
}

/* The fields of f in reverse order, sharing f's strings (free only the array). */
static struct form reversed(const struct form *f)
{
	struct form r = { .fields = malloc((f->n ? f->n : 1) * sizeof(*f->fields)), .n = f->n };

	FUZZ_CHECK(r.fields);
	for (size_t i = 0; i < f->n; i++)
		r.fields[i] = f->fields[f->n - 1 - i];
	return r;
}

/* A query that already names bodySHA256 (in any spelling that decodes to it), or is too big for
 * one more field, would make the appended parameter not the one that counts. */
static bool query_takes_body_hash(const char *url)
{
	const char *q = strchr(url, '?');
	struct form f;
	bool ok;

	if (strchr(url, '#'))
		return false;
	if (!q)
		return true;
	if (form_parse(&f, q + 1, strlen(q + 1)) < 0)
		return false;
	ok = f.n < FORM_MAX_FIELDS && !form_find(&f, "bodySHA256");
	form_release(&f);
	return ok;
}

static void check_json_body(const char *token, const char *url, const char *body, size_t len)
{
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], sig[TWILIO_SIGNATURE_LEN];
	char *signed_url;
	size_t n = strlen(url) + sizeof(hex) + 16;

	if (!query_takes_body_hash(url))
		return;
	sha256(body, len, digest);
	hex_encode(digest, SHA256_LEN, hex);
	signed_url = malloc(n);
	FUZZ_CHECK(signed_url);
	snprintf(signed_url, n, "%s%sbodySHA256=%s", url, strchr(url, '?') ? "&" : "?", hex);
	twilio_signature_compute(token, signed_url, NULL, sig);
	FUZZ_CHECK(twilio_signature_valid(token, signed_url, NULL, body, len, sig) == 1);
	/* The body is bound by its hash: any other body is refused. */
	{
		char *longer = malloc(len + 1);

		FUZZ_CHECK(longer);
		if (len)
			memcpy(longer, body, len);
		longer[len] = 'x';
		FUZZ_CHECK(twilio_signature_valid(token, signed_url, NULL, longer, len + 1, sig) == 0);
		free(longer);
	}
	free(signed_url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *token = fuzz_take_until(&p, end, '\n');
	char *url = fuzz_take_until(&p, end, '\n');
	size_t body_len = (size_t)(end - p);
	char *body = fuzz_copy(p, body_len);
	char sig[TWILIO_SIGNATURE_LEN], other[TWILIO_SIGNATURE_LEN];
	char *variant;
	struct form f, rev;
	int parsed;

	parsed = form_parse(&f, body, body_len) == 0;
	twilio_signature_compute(token, url, parsed ? &f : NULL, sig);
	FUZZ_CHECK(strlen(sig) == TWILIO_SIGNATURE_LEN - 1);
	FUZZ_CHECK(twilio_signature_valid("", url, &f, NULL, 0, sig) == 0);
	FUZZ_CHECK(twilio_signature_valid(token, url, &f, NULL, 0, "") == 0);
	FUZZ_CHECK(twilio_signature_valid(token, url, &f, NULL, 0, NULL) == 0);
	/* The JSON form of the check on the same request: no crash, whatever the answer. */
	(void)twilio_signature_valid(token, url, &f, body, body_len, sig);
	if (*token) {
		FUZZ_CHECK(twilio_signature_valid(token, url, parsed ? &f : NULL, NULL, 0, sig) == 1);
		rev = reversed(&f);
		FUZZ_CHECK(twilio_signature_valid(token, url, &rev, NULL, 0, sig) == 1);
		free(rev.fields);
		memcpy(other, sig, sizeof(sig));
		other[3] = other[3] == 'A' ? 'B' : 'A';
		FUZZ_CHECK(twilio_signature_valid(token, url, &f, NULL, 0, other) == 0);

		if ((variant = add_default_port(url))) {
			twilio_signature_compute(token, variant, &f, other);
			FUZZ_CHECK(twilio_signature_valid(token, url, &f, NULL, 0, other) == 1);
			FUZZ_CHECK(twilio_signature_valid(token, variant, &f, NULL, 0, sig) == 1);
			free(variant);
		}
		if ((variant = escape_query(url))) {
			twilio_signature_compute(token, variant, &f, other);
			FUZZ_CHECK(twilio_signature_valid(token, url, &f, NULL, 0, other) == 1);
			free(variant);
		}
		check_json_body(token, url, body, body_len);
	}
	if (parsed)
		form_release(&f);
	free(body);
	free(url);
	free(token);
	return 0;
}
