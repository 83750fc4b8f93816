/*
 * provider_call.h - calling a provider through provider.h the way the gateway does, for the unit
 * tests of the providers (tests/test_<provider>.c, tests/test_provider_contract.c): a request
 * view with headers and query parameters a test sets, parse_webhook() on a body handed over as a
 * malloc'd copy of exactly its length (so ASan catches a read past it), the checks of a webhook
 * taken or refused, and the fixtures, configs and signatures those calls are made from.
 *
 * Every function fails the running cmocka test (fail_msg) on what it cannot do instead of
 * returning an error, unless it says otherwise.  Include after <cmocka.h>.
 */
#ifndef GW_TESTS_PROVIDER_CALL_H
#define GW_TESTS_PROVIDER_CALL_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "provider.h"

/* The public URL the providers of these tests are made with; webhook_post() calls under it. */
#define WEBHOOK_PUBLIC_URL "https://surveys.example.com"

/* ---- fixtures and their variants ----------------------------------------------------------- */

/* Fixture `name` ($FIXTURES, as fixture_read()) parsed with jansson; the caller json_decref()s
 * it.  Fails the test when it is not JSON. */
json_t *fixture_json(const char *name);

/* `s` with the one occurrence of `old` replaced by `new`, malloc'd (the caller frees it).  Fails
 * the test unless `old` occurs exactly once. */
char *text_replace(const char *s, const char *old, const char *new);

/* JSON text `s` with the scalar value of member `member` (which must occur exactly once as a
 * member name) replaced by the JSON literal `value`, every other byte kept.  Malloc'd. */
char *json_rewrite(const char *s, const char *member, const char *value);

/* A malloc'd copy of exactly `len` bytes of `s`, no NUL after them (a 1-byte block when len is
 * 0); NULL when `s` is NULL.  The caller frees it. */
char *exact_copy(const char *s, size_t len);

/* ---- configs ------------------------------------------------------------------------------- */

/* A config section built by hand, as provider_create() accepts one: no defaults applied. */
#define HAND_SECTION_MAX 8
struct hand_section {
	struct config_section sec;
	struct config_entry e[HAND_SECTION_MAX];
};

/* Fills *h with section `name` holding keys[i] = values[i] for the first `n` pairs, leaving out
 * those whose value is NULL; origin "test".  Returns &h->sec, which borrows every string. */
const struct config_section *hand_section(struct hand_section *h, const char *name,
					  const char *const keys[], const char *const values[],
					  size_t n);

/* Loads `ini` (a gateway.conf body) with provider_config_load() into *cfg, the way the gateway
 * does, through a temp file it removes.  0, or -1 with err set when the file is refused (*cfg is
 * then not to be released). */
int config_load_text(struct config *cfg, const char *ini, struct gw_err *err);

/* Makes a `provider` instance from `sec` (no templates, WEBHOOK_PUBLIC_URL).  want_key NULL:
 * init() must succeed (the instance is freed); else it must fail with an error naming want_key
 * and sec's section.  Fails naming `row`. */
void expect_init(const char *row, const char *provider, const struct config_section *sec,
		 const char *want_key);

/* ---- webhook signatures --------------------------------------------------------------------- */

#define WEBHOOK_SIG_MAX 128

/* Writes into `out` the authentication header value a provider's webhook carries for a POST of
 * `len` bytes of `body` to `url` under `secret`. */
typedef void webhook_sign_fn(const char *secret, const char *url, const char *body, size_t len,
			     char out[WEBHOOK_SIG_MAX]);

/* X-Twilio-Signature: twilio_signature_compute() over the url and the form `body`. */
webhook_sign_fn webhook_sign_twilio;
/* X-Hub-Signature-256: "sha256=" + lower-hex HMAC-SHA256(secret, body); `url` unused. */
webhook_sign_fn webhook_sign_meta;
/* X-Gateway-Token: the shared token itself, whatever the url and body. */
webhook_sign_fn webhook_sign_token;

/* ---- parse_webhook --------------------------------------------------------------------------- */

/* The headers and query parameters of one request: small tables the view searches by name,
 * headers case-insensitively as the server does.  Every string is borrowed. */
#define FAKE_REQ_MAX 6
struct fake_req {
	const char *h_names[FAKE_REQ_MAX], *h_values[FAKE_REQ_MAX];
	size_t n_h;
	const char *q_names[FAKE_REQ_MAX], *q_values[FAKE_REQ_MAX];
	size_t n_q;
};

/* Adds header `name: value`; nothing when value is NULL (the header is absent). */
void fake_req_header(struct fake_req *r, const char *name, const char *value);

/* Sets query parameter `name` to `value`, adding it when absent; value NULL drops it. */
void fake_req_query(struct fake_req *r, const char *name, const char *value);

/* The value of query parameter `name` in `r`, or NULL; borrowed from `r`. */
const char *fake_req_query_get(const struct fake_req *r, const char *name);

/* What parse_webhook() did with one request. */
struct hook {
	int rc;
	struct event_list ev;
	struct webhook_reply reply;
};

/* Hands one request to p's parse_webhook() as the gateway would: `method` on `path`, url `base`
 * + path, the headers and query of `r` (NULL: none), `body` as an exact_copy() of `len` bytes
 * (NULL: no body), freed before returning.  Release *h with hook_release(). */
void webhook_call(struct provider *p, const char *method, const char *base, const char *path,
		  const struct fake_req *r, const char *body, size_t len, struct hook *h);

/* A POST under WEBHOOK_PUBLIC_URL carrying Content-Type `ctype` and, unless `value` is NULL,
 * `header: value`.  Release *h with hook_release(). */
void webhook_post(struct provider *p, const char *path, const char *ctype, const char *header,
		  const char *value, const char *body, size_t len, struct hook *h);

/* Frees what webhook_call() left in *h. */
void hook_release(struct hook *h);

/* A webhook taken: rc 0, 200 and, when `twiml`, Twilio's empty TwiML answer (text/xml with
 * <Response/>), else no content type and no body (the core answers).  Fails naming `row`. */
void expect_webhook_ok(const char *row, const struct hook *h, int twiml);

/* A webhook refused: rc -1, `status` as reply and error status, error `code` (and `field`,
 * unless NULL), a human message and no events.  Fails naming `row`. */
void expect_refused(const char *row, const struct hook *h, int status, const char *code,
		    const char *field);

/* ---- build_send ------------------------------------------------------------------------------ */

/* The value of header `name` in a built request, after "Name:" and its spaces; the request
 * must hold it exactly once.  Borrowed from `r`. */
const char *header_value(const struct http_request *r, const char *name);

#endif
