/*
 * test_provider_contract.c - what every provider that talks to a real API must do, said once and
 * run against each of them (twilio, meta, zenvia) through provider.h, with each one's captured
 * fixtures:
 *
 *  - webhook authentication: a webhook without its authentication header, with it empty, made
 *    with another secret or (where the header covers the body) with the body changed after it was
 *    made is refused 403 naming the header, before the body is looked at; a path it does not
 *    serve is 404 whether or not the request is authenticated; the header is found whatever its
 *    case;
 *  - send answers: no answer, a bare 429 or 5xx, an HTML page from a proxy are transient; a
 *    non-JSON 400, a bare 401 or 409 are permanent; a success without a body is accepted with no
 *    id; each with the error code "network" or "http_<status>" and a human message;
 *  - configuration: a hand-built section without base_url sends to the provider's documented API;
 *    init() through config_load() names the required key that is missing; the pace is the
 *    provider's default unless `rate` says otherwise.
 *
 * What one provider does differently (its signature scheme's corner cases, its error codes, its
 * payloads) stays in tests/test_<provider>.c.  A row names the provider it failed for.  Every
 * body handed to a provider is a malloc'd copy of exactly its length, so ASan catches a read past
 * it.  $FIXTURES defaults to tests/fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "provider.h"
#include "support/provider_call.h"
#include "support/unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define PUBLIC_URL "https://surveys.example.com"

/* ---- the table of providers --------------------------------------------------------------- */

struct contract {
	const char *name;               /* provider_find() name */
	const char *ini;                /* a gateway.conf with every key it needs */
	const char *ini_missing;        /* the same less one required key ... */
	const char *missing_key;        /* ... which init() names */
	double default_rate;            /* per second, with no `rate` key */
	const char *const *hand;        /* key, value, ... NULL: a section without base_url */
	enum channel channel;           /* the channel of the message sent to default_url */
	const char *default_url;        /* where that message goes */
	/* webhooks */
	const char *ctype;              /* the Content-Type its webhooks carry */
	const char *header;             /* the header that authenticates them */
	webhook_sign_fn *sign;
	const char *secret, *wrong_secret;
	const char *tamper_old;         /* NULL: the header does not cover the body */
	const char *tamper_new;
	const char *missing_code, *invalid_code;
	const char *inbound_path, *inbound_fixture;
	const char *status_path, *status_fixture;   /* accepted as captured: one EVENT_STATUS */
	const char *unknown_path;
	int twiml;                      /* success answers TwiML; else nothing (the core answers) */
	/* send answers */
	long ok_status;                 /* the status of a successful send */
	unsigned bare_401_flags;        /* what a 401 without a body flags */
};

#define TW_SID   "AC0123456789abcdef0123456789abcdef"
#define TW_TOKEN "5f1d2c3b4a5968778695a4b3c2d1e0f0"
#define TW_FROM  "+15005550006"
#define TW_INI_NO_TOKEN "[provider.twilio]\naccount_sid = " TW_SID "\nfrom = " TW_FROM "\n"

#define META_PNID   "106540352242922"
#define META_TOKEN  "EAAGm0PX4ZCpsBAKZCz1JtZCmZCZBo2ZA4ZBZCTestToken"
#define META_SECRET "TEST_APP_SECRET"   /* the secret of meta-signature-vectors.json */
#define META_INI_NO_SECRET "[provider.meta]\nphone_number_id = " META_PNID "\naccess_token = " \
			   META_TOKEN "\n"

#define ZV_TOKEN "hKp94crjv9OF3UGrCpSXUJw1-UYHhRvLKNLt"
#define ZV_FROM  "acme-sender"
#define ZV_HOOK  "s3cr3t-hook-token-0123456789"
#define ZV_INI_NO_HOOK "[provider.zenvia]\napi_token = " ZV_TOKEN "\nfrom = " ZV_FROM "\n"

static const char *const tw_hand[] = { "account_sid", TW_SID, "auth_token", TW_TOKEN, "from",
				       TW_FROM, NULL };
static const char *const meta_hand[] = { "phone_number_id", META_PNID, "access_token",
					 META_TOKEN, "app_secret", META_SECRET, NULL };
static const char *const zv_hand[] = { "api_token", ZV_TOKEN, "from", ZV_FROM, "webhook_token",
				       ZV_HOOK, NULL };

static const struct contract contracts[] = {
	{ .name = "twilio", .ini = TW_INI_NO_TOKEN "auth_token = " TW_TOKEN "\n",
	  .ini_missing = TW_INI_NO_TOKEN, .missing_key = "auth_token", .default_rate = 1.0,
	  .hand = tw_hand, .channel = CHANNEL_SMS,
	  .default_url = "https://api.twilio.com/2010-04-01/Accounts/" TW_SID "/Messages.json",
	  .ctype = "application/x-www-form-urlencoded", .header = "X-Twilio-Signature",
	  .sign = webhook_sign_twilio, .secret = TW_TOKEN, .wrong_secret = "0123456789abcdef0123456789abcdef",
	  .tamper_old = "Body=Msg", .tamper_new = "Body=10",
	  .missing_code = "missing_signature", .invalid_code = "invalid_signature",
	  .inbound_path = "/webhooks/twilio", .inbound_fixture = "twilio-inbound-sms.form",
	  .status_path = "/webhooks/twilio/status", .status_fixture = "twilio-status-sent-docs.form",
	  .unknown_path = "/webhooks/twilio/other", .twiml = 1, .ok_status = 201,
	  .bare_401_flags = SEND_AUTH_FAILED },
	{ .name = "meta", .ini = META_INI_NO_SECRET "app_secret = " META_SECRET "\n",
	  .ini_missing = META_INI_NO_SECRET, .missing_key = "app_secret", .default_rate = 80.0,
	  .hand = meta_hand, .channel = CHANNEL_WHATSAPP,
	  .default_url = "https://graph.facebook.com/v23.0/" META_PNID "/messages",
	  .ctype = "application/json", .header = "X-Hub-Signature-256", .sign = webhook_sign_meta,
	  .secret = META_SECRET, .wrong_secret = "ANOTHER_APP_SECRET",
	  .tamper_old = "Does it come in another color?", .tamper_new = "10",
	  .missing_code = "missing_signature", .invalid_code = "invalid_signature",
	  .inbound_path = "/webhooks/meta", .inbound_fixture = "meta-inbound-text.json",
	  .status_path = "/webhooks/meta", .status_fixture = "meta-status-sent.json",
	  .unknown_path = "/webhooks/meta/status", .twiml = 0, .ok_status = 200,
	  .bare_401_flags = 0 },
	{ .name = "zenvia", .ini = ZV_INI_NO_HOOK "webhook_token = " ZV_HOOK "\n",
	  .ini_missing = ZV_INI_NO_HOOK, .missing_key = "webhook_token", .default_rate = 10.0,
	  .hand = zv_hand, .channel = CHANNEL_WHATSAPP,
	  .default_url = "https://api.zenvia.com/v2/channels/whatsapp/messages",
	  .ctype = "application/json", .header = "X-Gateway-Token", .sign = webhook_sign_token,
	  .secret = ZV_HOOK, .wrong_secret = "not-the-token", .tamper_old = NULL,
	  .missing_code = "missing_token", .invalid_code = "invalid_token",
	  .inbound_path = "/webhooks/zenvia", .inbound_fixture = "zenvia-webhook-message-in.json",
	  .status_path = "/webhooks/zenvia",
	  .status_fixture = "zenvia-webhook-message-status-sent.json",
	  .unknown_path = "/webhooks/zenvia/status", .twiml = 0, .ok_status = 200,
	  .bare_401_flags = SEND_AUTH_FAILED },
};

/* "provider: row" into `out`, the name every expectation reports. */
static const char *row_name(char out[160], const struct contract *c, const char *row)
{
	snprintf(out, 160, "%s: %s", c->name, row);
	return out;
}

/* ---- provider instances ------------------------------------------------------------------- */

/* An instance of c's provider from `ini` through config_load(); NULL with err set when init()
 * refuses it. */
static struct provider *from_ini(const struct contract *c, const char *ini, struct gw_err *err)
{
	char section[64];
	struct config cfg;
	struct provider *p;

	if (config_load_text(&cfg, ini, err) < 0)
		fail_msg("%s: config_load: %s", c->name, err->msg);
	snprintf(section, sizeof(section), "provider.%s", c->name);
	p = provider_create(provider_find(c->name), config_section_find(&cfg, section), NULL,
			    PUBLIC_URL, err);
	config_release(&cfg);       /* init() copied what it keeps */
	return p;
}

static struct provider *open_provider(const struct contract *c)
{
	struct gw_err err = { 0 };
	struct provider *p = from_ini(c, c->ini, &err);

	if (!p)
		fail_msg("%s: provider_create: %s", c->name, err.msg);
	return p;
}

static int group_setup(void **state)
{
	static const char *const providers_up[] = { "TWILIO", "META", "ZENVIA" };
	static const char *const keys[] = { "ACCOUNT_SID", "AUTH_TOKEN", "FROM",
					    "MESSAGING_SERVICE_SID", "PHONE_NUMBER_ID",
					    "ACCESS_TOKEN", "APP_SECRET", "VERIFY_TOKEN",
					    "GRAPH_VERSION", "API_TOKEN", "WEBHOOK_TOKEN",
					    "BASE_URL", "RATE" };
	char name[96];

	(void)state;
	/* An override in the caller's shell must not change the configs written here. */
	for (size_t i = 0; i < ARRAY_SIZE(providers_up); i++) {
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			snprintf(name, sizeof(name), "GATEWAY_PROVIDER_%s_%s", providers_up[i],
				 keys[k]);
			unsetenv(name);
		}
	}
	return 0;
}

/* ---- webhooks: authentication and routing -------------------------------------------------- */

enum auth_kind {
	AUTH_NONE,     /* no header */
	AUTH_EMPTY,    /* the header, empty */
	AUTH_WRONG,    /* made with another secret */
	AUTH_CHANGED,  /* the right one with its middle character changed: the same length */
	AUTH_SHORT,    /* the right one less its last character */
	AUTH_LONG,     /* the right one and a character more */
	AUTH_TAMPERED, /* made right, then the body changed (providers whose header covers it) */
	AUTH_GOOD,
};

enum auth_body { BODY_INBOUND, BODY_STATUS, BODY_GARBAGE };

enum auth_path { PATH_INBOUND, PATH_STATUS, PATH_UNKNOWN, PATH_SLASH };

struct auth_case {
	const char *name;
	enum auth_path path;
	enum auth_body body;
	enum auth_kind auth;
	int want_http;              /* 403: the missing or invalid code, by `auth`; 404 not_found */
};

static const struct auth_case auth_cases[] = {
	{ "inbound without the header", PATH_INBOUND, BODY_INBOUND, AUTH_NONE, 403 },
	{ "status without the header", PATH_STATUS, BODY_STATUS, AUTH_NONE, 403 },
	{ "inbound with the header empty", PATH_INBOUND, BODY_INBOUND, AUTH_EMPTY, 403 },
	{ "status with the header empty", PATH_STATUS, BODY_STATUS, AUTH_EMPTY, 403 },
	{ "inbound made with another secret", PATH_INBOUND, BODY_INBOUND, AUTH_WRONG, 403 },
	{ "status made with another secret", PATH_STATUS, BODY_STATUS, AUTH_WRONG, 403 },
	{ "right length, one character changed", PATH_INBOUND, BODY_INBOUND, AUTH_CHANGED, 403 },
	{ "one character short", PATH_INBOUND, BODY_INBOUND, AUTH_SHORT, 403 },
	{ "one character more", PATH_INBOUND, BODY_INBOUND, AUTH_LONG, 403 },
	{ "body changed after signing", PATH_INBOUND, BODY_INBOUND, AUTH_TAMPERED, 403 },
	/* The header is checked before the body is looked at. */
	{ "no header, a body that does not parse", PATH_INBOUND, BODY_GARBAGE, AUTH_NONE, 403 },
	{ "another secret, a body that does not parse", PATH_INBOUND, BODY_GARBAGE, AUTH_WRONG,
	  403 },
	{ "unknown path, authenticated", PATH_UNKNOWN, BODY_INBOUND, AUTH_GOOD, 404 },
	{ "unknown path, not authenticated", PATH_UNKNOWN, BODY_INBOUND, AUTH_NONE, 404 },
	{ "trailing slash", PATH_SLASH, BODY_INBOUND, AUTH_GOOD, 404 },
};

static void run_auth_case(const struct contract *c, struct provider *p, const struct auth_case *t)
{
	char row[160], path[96], url[256], auth[WEBHOOK_SIG_MAX] = "";
	const char *header = auth;
	struct hook h;
	size_t len, n;
	char *body, *v;

	row_name(row, c, t->name);
	switch (t->path) {
	case PATH_INBOUND:
		snprintf(path, sizeof(path), "%s", c->inbound_path);
		break;
	case PATH_STATUS:
		snprintf(path, sizeof(path), "%s", c->status_path);
		break;
	case PATH_UNKNOWN:
		snprintf(path, sizeof(path), "%s", c->unknown_path);
		break;
	case PATH_SLASH:
		snprintf(path, sizeof(path), "%s/", c->inbound_path);
		break;
	}
	if (t->body == BODY_GARBAGE) {
		body = strdup("{not json");
		assert_non_null(body);
		len = strlen(body);
	} else {
		body = fixture_read(t->body == BODY_STATUS ? c->status_fixture : c->inbound_fixture,
				    &len);
	}
	snprintf(url, sizeof(url), "%s%s", PUBLIC_URL, path);
	switch (t->auth) {
	case AUTH_NONE:
		header = NULL;
		break;
	case AUTH_EMPTY:
		break;
	case AUTH_WRONG:
		c->sign(c->wrong_secret, url, body, len, auth);
		break;
	case AUTH_TAMPERED:
		if (!c->tamper_old)
			goto out;       /* the header says nothing about the body */
		c->sign(c->secret, url, body, len, auth);
		v = text_replace(body, c->tamper_old, c->tamper_new);
		free(body);
		body = v;
		len = strlen(body);
		break;
	case AUTH_CHANGED:
	case AUTH_SHORT:
	case AUTH_LONG:
		c->sign(c->secret, url, body, len, auth);
		n = strlen(auth);
		assert_true(n > 8 && n + 1 < sizeof(auth));
		if (t->auth == AUTH_CHANGED) /* '0' and '1' are in every alphabet (hex, base64) */
			auth[n / 2] = auth[n / 2] == '0' ? '1' : '0';
		else if (t->auth == AUTH_SHORT)
			auth[n - 1] = '\0';
		else
			memcpy(auth + n, "0", 2);
		break;
	case AUTH_GOOD:
		c->sign(c->secret, url, body, len, auth);
		break;
	}
	webhook_post(p, path, c->ctype, c->header, header, body, len, &h);
	if (t->want_http == 404)
		expect_refused(row, &h, 404, "not_found", NULL);
	else
		expect_refused(row, &h, 403, t->auth == AUTH_NONE || t->auth == AUTH_EMPTY
				     ? c->missing_code : c->invalid_code, c->header);
	hook_release(&h);
out:
	free(body);
}

static void test_webhook_auth_and_routing(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(contracts); i++) {
		struct provider *p = open_provider(&contracts[i]);

		for (size_t j = 0; j < ARRAY_SIZE(auth_cases); j++)
			run_auth_case(&contracts[i], p, &auth_cases[j]);
		provider_free(p);
	}
}

/* The status fixture as captured, authenticated right, under the header's canonical name and in
 * lower case (the view matches names case-insensitively; the provider asks by its name): taken,
 * one EVENT_STATUS. */
static void test_webhook_authenticated_any_header_case(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(contracts); i++) {
		const struct contract *c = &contracts[i];
		struct provider *p = open_provider(c);
		char url[256], auth[WEBHOOK_SIG_MAX], lower[64], row[160];
		const char *headers[] = { c->header, lower };
		size_t len;
		char *body = fixture_read(c->status_fixture, &len);

		snprintf(lower, sizeof(lower), "%s", c->header);
		for (char *s = lower; *s; s++)
			if (*s >= 'A' && *s <= 'Z')
				*s = (char)(*s - 'A' + 'a');
		snprintf(url, sizeof(url), "%s%s", PUBLIC_URL, c->status_path);
		c->sign(c->secret, url, body, len, auth);
		for (size_t j = 0; j < ARRAY_SIZE(headers); j++) {
			struct hook h;

			snprintf(row, sizeof(row), "%s: status fixture, header %s", c->name,
				 headers[j]);
			webhook_post(p, c->status_path, c->ctype, headers[j], auth, body, len, &h);
			expect_webhook_ok(row, &h, c->twiml);
			EXPECT_INT(row, "events", h.ev.n, 1);
			EXPECT_INT(row, "type", h.ev.items[0].type, EVENT_STATUS);
			hook_release(&h);
		}
		free(body);
		provider_free(p);
	}
}

/* ---- send answers -------------------------------------------------------------------------- */

struct send_case {
	const char *name;
	long status;                /* 0: no answer; -1: the provider's success status */
	const char *body;           /* NULL: no body at all */
	enum send_result want;
	const char *want_code;
	int want_401_flags;         /* 1: the provider's bare_401_flags; 0: no flags */
};

static const struct send_case send_cases[] = {
	{ "success with an empty body", -1, "", SEND_ACCEPTED, "", 0 },
	{ "success with no body at all", -1, NULL, SEND_ACCEPTED, "", 0 },
	{ "no answer (status 0)", 0, NULL, SEND_TRANSIENT, "network", 0 },
	{ "429 without a body", 429, "", SEND_TRANSIENT, "http_429", 0 },
	{ "500 without a body", 500, "", SEND_TRANSIENT, "http_500", 0 },
	{ "502 HTML from a proxy", 502, "<html><body>Bad Gateway</body></html>", SEND_TRANSIENT,
	  "http_502", 0 },
	{ "503 without a body", 503, NULL, SEND_TRANSIENT, "http_503", 0 },
	{ "400 not JSON", 400, "Bad Request", SEND_PERMANENT, "http_400", 0 },
	{ "401 without a body", 401, "", SEND_PERMANENT, "http_401", 1 },
	{ "409 without a body", 409, NULL, SEND_PERMANENT, "http_409", 0 },
};

/* Answers that carry nothing of the provider's own are classed by their status alone: no id, no
 * provider status, no pause beyond the backoff; an error code "network" or "http_<status>" with a
 * human message, and none on success. */
static void test_send_answers_by_status(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(contracts); i++) {
		const struct contract *c = &contracts[i];
		struct provider *p = open_provider(c);

		for (size_t j = 0; j < ARRAY_SIZE(send_cases); j++) {
			const struct send_case *t = &send_cases[j];
			size_t len = t->body ? strlen(t->body) : 0;
			char *copy = exact_copy(t->body, len), row[160];
			struct send_outcome out;

			row_name(row, c, t->name);
			memset(&out, 'x', sizeof(out));     /* the wrapper clears what is left */
			EXPECT_INT(row, "result", provider_parse_send_response(p, t->status < 0 ?
					c->ok_status : t->status, copy, len, &out), t->want);
			EXPECT_STR(row, "provider_message_id", out.provider_message_id, "");
			EXPECT_STR(row, "status", out.status, "");
			EXPECT_STR(row, "error_code", out.error_code, t->want_code);
			if (t->want == SEND_ACCEPTED)
				EXPECT_STR(row, "error_message", out.error_message, "");
			else if (!out.error_message[0])
				fail_msg("%s: error_message is empty, want a human message", row);
			EXPECT_INT(row, "flags", out.flags, t->want_401_flags ? c->bare_401_flags : 0);
			EXPECT_INT(row, "retry_after_s", out.retry_after_s, 0);
			free(copy);
		}
		provider_free(p);
	}
}

/* ---- configuration ------------------------------------------------------------------------- */

/* init() through config_load(), as the gateway makes it, names the required key that is missing
 * and the section it belongs in. */
static void test_init_names_missing_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(contracts); i++) {
		const struct contract *c = &contracts[i];
		struct gw_err err = { 0 };
		char row[160], section[64];

		row_name(row, c, "config file without a required key");
		snprintf(section, sizeof(section), "provider.%s", c->name);
		if (from_ini(c, c->ini_missing, &err))
			fail_msg("%s: init succeeded, want an error naming %s", row, c->missing_key);
		if (!strstr(err.msg, c->missing_key))
			fail_msg("%s: error \"%s\" does not name %s", row, err.msg, c->missing_key);
		if (!strstr(err.msg, section))
			fail_msg("%s: error \"%s\" does not name %s", row, err.msg, section);
	}
}

/* The pace is the provider's default until `rate` says otherwise. */
static void test_rate_default_and_override(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(contracts); i++) {
		const struct contract *c = &contracts[i];
		char ini[512], row[160];
		const double want[] = { c->default_rate, 5.0 };

		snprintf(ini, sizeof(ini), "%srate = 5/s\n", c->ini);
		for (size_t j = 0; j < ARRAY_SIZE(want); j++) {
			struct gw_err err = { 0 };
			struct provider *p = from_ini(c, j ? ini : c->ini, &err);

			row_name(row, c, j ? "rate = 5/s" : "no rate key");
			if (!p)
				fail_msg("%s: provider_create: %s", row, err.msg);
			EXPECT_INT(row, "rate.off", p->rate.off, 0);
			if (p->rate.per_second < want[j] - 0.001 || p->rate.per_second > want[j] + 0.001)
				fail_msg("%s: %g per second, want %g", row, p->rate.per_second, want[j]);
			provider_free(p);
		}
	}
}

/*
 * provider_create() documents that a section may leave keys out ("NULL: all defaults"): a
 * hand-built section without base_url, not through config_load() and its key table's defaults,
 * still sends to the provider's documented API, never to a relative URL.
 */
static void test_default_base_url_without_config_load(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(contracts); i++) {
		const struct contract *c = &contracts[i];
		struct config_entry e[8];
		struct config_section sec = { .name = NULL, .entries = e, .n = 0 };
		char section[64], row[160];
		struct gw_err err = { 0 };
		struct outbound msg = { .id = 42, .channel = c->channel, .purpose = PURPOSE_SURVEY,
					.to = "+34600111222", .body = "9", .kind = KIND_NPS,
					.locale = "es", .name = "Ana", .brand = "Acme",
					.in_session = 1 };
		struct http_request req;
		struct provider *p;

		row_name(row, c, "hand-built section without base_url");
		snprintf(section, sizeof(section), "provider.%s", c->name);
		sec.name = section;
		for (const char *const *kv = c->hand; *kv; kv += 2, sec.n++) {
			assert_true(sec.n < ARRAY_SIZE(e));
			e[sec.n] = (struct config_entry){ .key = (char *)kv[0], .value = (char *)kv[1],
							  .origin = (char *)"test" };
		}
		p = provider_create(provider_find(c->name), &sec, NULL, PUBLIC_URL, &err);
		if (!p)
			fail_msg("%s: provider_create: %s", row, err.msg);
		provider_request_init(&req);
		if (provider_build_send(p, &msg, &req, &err) < 0)
			fail_msg("%s: build_send: %s", row, err.msg);
		EXPECT_STR(row, "url", buf_cstr(&req.url), c->default_url);
		provider_request_release(&req);
		provider_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_auth_and_routing),
		cmocka_unit_test(test_webhook_authenticated_any_header_case),
		cmocka_unit_test(test_send_answers_by_status),
		cmocka_unit_test(test_init_names_missing_key),
		cmocka_unit_test(test_rate_default_and_override),
		cmocka_unit_test(test_default_base_url_without_config_load),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
