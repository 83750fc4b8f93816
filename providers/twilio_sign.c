/*
 * twilio_sign.c - X-Twilio-Signature computation and validation.  See twilio_sign.h.
 *
 * The URL variants tried follow Twilio's helper libraries (twilio-python RequestValidator,
 * twilio-node webhooks.js validateRequest): the URL with and without its port, and, from
 * twilio-node, the URL as the WHATWG URL serializer re-escapes its query.  Every variant is fed
 * into the HMAC piece by piece, so nothing is copied or allocated.
 */
#include "twilio_sign.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Offsets into a URL: [0, host_end) scheme://userinfo@host, [host_end, port_end) ":port" (empty
 * when none), then path; the query is [query, query_end) (empty when none, '#...' after it). */
struct url_parts {
	const char *s;
	size_t len;
	size_t host_end;
	size_t port_end;
	size_t query;
	size_t query_end;
	const char *default_port;   /* ":443", ":80", or NULL for other schemes */
	int has_authority;
};

/* Fields sorted for signing, pointing into the caller's form. */
struct sorted_params {
	const struct form_field *f[FORM_MAX_FIELDS];
	size_t n;
};

static int is_scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '-' || c == '.';
}

/* The offset of the first of `stops` in s[from, to), or `to`. */
static size_t find_any(const char *s, size_t from, size_t to, const char *stops)
{
	while (from < to && !strchr(stops, s[from]))
		from++;
	return from;
}

/*
 * Splits `url` into the parts a port or query variant touches.  Userinfo ends at the authority's
 * last '@' (a password may not contain a raw '@', but be safe), and an IPv6 host runs to its ']',
 * so the port is always the ":digits" right after the host.  A URL without "scheme://" has no
 * authority and so no port variants.
 */
static void url_split(struct url_parts *u, const char *url)
{
	size_t i = 0, auth, auth_end, host, at, q;

	memset(u, 0, sizeof(*u));
	u->s = url;
	u->len = strlen(url);
	while (i < u->len && is_scheme_char(url[i]))
		i++;
	if (i > 0 && strncmp(url + i, "://", 3) == 0) {
		u->has_authority = 1;
		if (i == 5 && strncasecmp(url, "https", 5) == 0)
			u->default_port = ":443";
		else if (i == 4 && strncasecmp(url, "http", 4) == 0)
			u->default_port = ":80";
		auth = i + 3;
		auth_end = find_any(url, auth, u->len, "/?#");
		host = auth;
		for (at = auth; at < auth_end; at++)
			if (url[at] == '@')
				host = at + 1;
		if (host < auth_end && url[host] == '[')
			u->host_end = find_any(url, host, auth_end, "]") + 1;
		else
			u->host_end = find_any(url, host, auth_end, ":");
		if (u->host_end > auth_end)
			u->host_end = auth_end;     /* unterminated '[' */
		u->port_end = u->host_end;
		if (u->host_end < auth_end && url[u->host_end] == ':')
			u->port_end = auth_end;
	}
	q = find_any(url, u->port_end, u->len, "?#");
	if (q < u->len && url[q] == '?') {
		u->query = q + 1;
		u->query_end = find_any(url, u->query, u->len, "#");
	} else {
		u->query = u->query_end = q;
	}
}

/* Whether the port can be toggled: removed when present, added when the scheme has a default. */
static int url_has_port_variant(const struct url_parts *u)
{
	return u->has_authority && (u->port_end > u->host_end || u->default_port);
}

/* The WHATWG special-query percent-encode set, less '#', which cannot occur inside a query. */
static int query_escapes(unsigned char c)
{
	return c < 0x21 || c > 0x7e || c == '"' || c == '<' || c == '>' || c == '\'';
}

static int url_has_escape_variant(const struct url_parts *u)
{
	size_t i;

	for (i = u->query; i < u->query_end; i++)
		if (query_escapes((unsigned char)u->s[i]))
			return 1;
	return 0;
}

/* Feeds s[0, len) to the HMAC with query_escapes() bytes written as %XX (upper-case hex). */
static void hmac_escaped(struct hash_ctx *c, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;
	char esc[3];

	for (i = 0; i < len; i++) {
		unsigned char b = (unsigned char)s[i];

		if (!query_escapes(b))
			continue;
		hash_update(c, s + run, i - run);
		esc[0] = '%';
		esc[1] = hex[b >> 4];
		esc[2] = hex[b & 15];
		hash_update(c, esc, sizeof(esc));
		run = i + 1;
	}
	hash_update(c, s + run, len - run);
}

/* Feeds one spelling of the URL to the HMAC; see twilio_signature_valid() for the variants. */
static void hmac_url(struct hash_ctx *c, const struct url_parts *u, int toggle_port,
		     int escape_query)
{
	const char *s = u->s;

	hash_update(c, s, u->host_end);
	if (!toggle_port)
		hash_update(c, s + u->host_end, u->port_end - u->host_end);
	else if (u->port_end == u->host_end && u->default_port)
		hash_update(c, u->default_port, strlen(u->default_port));
	/* else: toggling an existing port drops it */
	if (!escape_query) {
		hash_update(c, s + u->port_end, u->len - u->port_end);
		return;
	}
	hash_update(c, s + u->port_end, u->query - u->port_end);
	hmac_escaped(c, s + u->query, u->query_end - u->query);
	hash_update(c, s + u->query_end, u->len - u->query_end);
}

static int bytes_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int r = memcmp(a, b, a_len < b_len ? a_len : b_len);

	if (r)
		return r;
	return a_len < b_len ? -1 : a_len > b_len;
}

/* Orders fields by key, then value, bytewise (memcmp compares as unsigned char). */
static int field_cmp(const void *pa, const void *pb)
{
	const struct form_field *a = *(const struct form_field *const *)pa;
	const struct form_field *b = *(const struct form_field *const *)pb;
	int r = bytes_cmp(a->key, a->key_len, b->key, b->key_len);

	return r ? r : bytes_cmp(a->value, a->value_len, b->value, b->value_len);
}

/* Sorts pointers to the fields of `params` (NULL: none).  -1 past FORM_MAX_FIELDS. */
static int params_sort(struct sorted_params *sp, const struct form *params)
{
	size_t i;

	sp->n = params ? params->n : 0;
	if (sp->n > FORM_MAX_FIELDS)
		return -1;
	for (i = 0; i < sp->n; i++)
		sp->f[i] = &params->fields[i];
	if (sp->n > 1)
		qsort(sp->f, sp->n, sizeof(sp->f[0]), field_cmp);
	return 0;
}

/*
 * The signature of one URL variant: after the URL, key+value for each field in sorted order, a
 * field equal in key and value to the one before it skipped (Twilio de-duplicates the values of a
 * repeated key).
 */
static void sign_variant(const char *auth_token, const struct url_parts *u, int toggle_port,
			 int escape_query, const struct sorted_params *sp,
			 char out[TWILIO_SIGNATURE_LEN])
{
	struct hash_ctx c;
	uint8_t mac[SHA1_LEN];
	size_t i;

	hmac_init(&c, HASH_SHA1, auth_token, strlen(auth_token));
	hmac_url(&c, u, toggle_port, escape_query);
	for (i = 0; i < sp->n; i++) {
		if (i > 0 && field_cmp(&sp->f[i], &sp->f[i - 1]) == 0)
			continue;
		hash_update(&c, sp->f[i]->key, sp->f[i]->key_len);
		hash_update(&c, sp->f[i]->value, sp->f[i]->value_len);
	}
	if (hash_final(&c, mac) < 0)
		out[0] = '\0'; /* libcrypto failed: the empty string, which no signature equals */
	else
		base64_encode(mac, SHA1_LEN, out);
}

void twilio_signature_compute(const char *auth_token, const char *url, const struct form *params,
			      char out[TWILIO_SIGNATURE_LEN])
{
	struct sorted_params sp;
	struct url_parts u;

	out[0] = '\0';
	if (params_sort(&sp, params) < 0)
		return;
	url_split(&u, url);
	sign_variant(auth_token, &u, 0, 0, &sp, out);
}

/*
 * 1 when the query of `u` has a bodySHA256 parameter equal to the lower-hex SHA-256 of the body.
 * The query is decoded with the form parser, as Twilio's libraries parse it; a query past
 * FORM_MAX_FIELDS, or out of memory, counts as no match.
 */
static int body_hash_matches(const struct url_parts *u, const char *body, size_t body_len)
{
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	struct form q;
	size_t i;
	int match = 0;

	if (form_parse(&q, u->s + u->query, u->query_end - u->query) < 0)
		return 0;
	if (sha256(body, body_len, digest) < 0)
		goto out;
	hex_encode(digest, SHA256_LEN, hex);
	for (i = 0; i < q.n; i++) {
		if (q.fields[i].key_len == 10 && memcmp(q.fields[i].key, "bodySHA256", 10) == 0) {
			match = ct_equal(hex, 2 * SHA256_LEN, q.fields[i].value,
					 q.fields[i].value_len);
			break;
		}
	}
out:
	form_release(&q);
	return match;
}

/*
 * Tries up to four spellings of the URL ({as given, port toggled} x {raw, query escaped}),
 * skipping those identical to one already tried.  Which spelling matched is not secret, so the
 * loop may stop at the first match; each comparison is constant-time.
 */
int twilio_signature_valid(const char *auth_token, const char *url, const struct form *params,
			   const char *body, size_t body_len, const char *signature)
{
	char expected[TWILIO_SIGNATURE_LEN];
	struct sorted_params sp;
	struct url_parts u;
	int toggle, escape, ntoggle, nescape;

	if (!auth_token || !*auth_token || !url || !signature || !*signature)
		return 0;
	url_split(&u, url);
	if (body) {
		/* JSON webhook: the body is bound through the URL's bodySHA256, not signed */
		if (!body_hash_matches(&u, body, body_len))
			return 0;
		params = NULL;
	}
	if (params_sort(&sp, params) < 0)
		return 0;
	ntoggle = url_has_port_variant(&u) ? 2 : 1;
	nescape = url_has_escape_variant(&u) ? 2 : 1;
	for (toggle = 0; toggle < ntoggle; toggle++) {
		for (escape = 0; escape < nescape; escape++) {
			sign_variant(auth_token, &u, toggle, escape, &sp, expected);
			if (ct_streq(expected, signature))
				return 1;
		}
	}
	return 0;
}
