/*
 * test_twilio.c - providers/twilio.c as the core sees it, through provider.h:
 *
 *  - init() refuses a section without account_sid, auth_token, or both from and
 *    messaging_service_sid, naming the key;
 *  - build_send() makes Twilio's Messages.json request (URL, Basic auth, form body with To,
 *    From or MessagingServiceSid, Body, StatusCallback; "whatsapp:" addresses);
 *  - parse_send_response() classifies Twilio's real answers ($FIXTURES/twilio-create-message-201*
 *    and twilio-error-400-20001.json, a member rewritten where a row needs another value);
 *  - parse_webhook() authenticates captured webhook bodies ($FIXTURES/twilio-*.form, signed here
 *    with twilio_signature_compute() over the public URL) and turns them into neutral events.
 *
 * Every body handed to the provider is a malloc'd copy of exactly its length, so ASan catches a
 * read past it.  $FIXTURES defaults to tests/fixtures.
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
#include "form.h"
#include "provider.h"
#include "support/provider_call.h"
#include "support/unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define SID        "AC0123456789abcdef0123456789abcdef"
#define TOKEN      "5f1d2c3b4a5968778695a4b3c2d1e0f0"
#define FROM       "+15005550006"
#define MSS        "MG0123456789abcdef0123456789abcdef"
#define PUBLIC_URL "https://surveys.example.com"
/* printf 'SID:TOKEN' | base64 */
#define BASIC_AUTH "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjo1ZjFkMmMzYjRhNTk2ODc3" \
		   "ODY5NWE0YjNjMmQxZTBmMA=="

#define INBOUND_URL PUBLIC_URL "/webhooks/twilio"
#define STATUS_URL  PUBLIC_URL "/webhooks/twilio/status"

/* The ids the captured fixtures carry. */
#define SID_201           "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SID_INBOUND       "SMe287d7109a5a925f182f0e07fe5b223b"
#define SID_STATUS_DOCS   "SM1342fe1b2c904d1ab04f0fc7a58abca9"
#define SID_STATUS_MS     "SM0b6e2697aae04182a9f5b5c7a8994c7f"

/* A UTF-8 survey text: inverted question mark, accents, an emoji outside the BMP. */
#define UTF8_TEXT "\xc2\xbfQu\xc3\xa9 tal te atendimos? Responde de 0 a 10 \xf0\x9f\x91\x8d"


/* ---- fixtures and their variants --------------------------------------------------------- */


/*
 * Rewrites every `key=...` member of the urlencoded form `in` to `key=enc` (enc already
 * urlencoded, written verbatim), or drops it when enc is NULL; a key the form lacks is appended.
 * Every other byte stays as captured.  Returns a malloc'd NUL-terminated string, length in *len.
 */
static char *form_rewrite(const char *in, const char *key, const char *enc, size_t *len)
{
	struct buf b;
	const char *p = in, *amp;
	size_t klen = strlen(key);
	int found = 0;

	buf_init(&b, 1 << 20);
	while (*p) {
		size_t seg;

		amp = strchr(p, '&');
		seg = amp ? (size_t)(amp - p) : strlen(p);
		if (seg > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			found = 1;
			if (enc) {
				if (b.len)
					assert_int_equal(buf_putc(&b, '&'), 0);
				assert_int_equal(buf_printf(&b, "%s=%s", key, enc), 0);
			}
		} else if (seg) {
			if (b.len)
				assert_int_equal(buf_putc(&b, '&'), 0);
			assert_int_equal(buf_append(&b, p, seg), 0);
		}
		p += seg + (amp ? 1 : 0);
	}
	if (!found && enc)
		assert_int_equal(buf_printf(&b, "%s%s=%s", b.len ? "&" : "", key, enc), 0);
	return buf_detach(&b, len);
}

/* ---- provider instances ------------------------------------------------------------------- */

/* A [provider.twilio] section built by hand: the NULL-valued keys are left out. */
static const struct config_section *twilio_section(struct hand_section *h, const char *sid,
						    const char *token, const char *from,
						    const char *mss, const char *base_url)
{
	static const char *const keys[] = { "account_sid", "auth_token", "from",
					    "messaging_service_sid", "base_url" };
	const char *const values[] = { sid, token, from, mss, base_url };

	return hand_section(h, "provider.twilio", keys, values, ARRAY_SIZE(keys));
}

/*
 * A Twilio instance from `ini` (the body of a gateway.conf) loaded with config_load(), the way
 * the gateway makes one, so the key table's defaults apply.
 */
static struct provider *twilio_from_ini(const char *ini, const char *public_url)
{
	struct config cfg;
	struct gw_err err = { 0 };
	struct provider *p;

	if (config_load_text(&cfg, ini, &err) < 0)
		fail_msg("config_load: %s", err.msg);
	p = provider_create(provider_find("twilio"), config_section_find(&cfg, "provider.twilio"), NULL,
			    public_url, &err);
	config_release(&cfg);       /* init() copied what it keeps */
	if (!p)
		fail_msg("provider_create: %s", err.msg);
	return p;
}

#define INI_FROM "[provider.twilio]\naccount_sid = " SID "\nauth_token = " TOKEN "\nfrom = " FROM "\n"
#define INI_MSS  "[provider.twilio]\naccount_sid = " SID "\nauth_token = " TOKEN \
		 "\nmessaging_service_sid = " MSS "\n"
#define INI_BOTH INI_FROM "messaging_service_sid = " MSS "\n"

static struct provider *twilio_default(void)
{
	return twilio_from_ini(INI_FROM, PUBLIC_URL);
}

static int group_setup(void **state)
{
	static const char *const keys[] = { "ACCOUNT_SID", "AUTH_TOKEN", "FROM",
					    "MESSAGING_SERVICE_SID", "BASE_URL", "RATE" };
	char name[96];

	(void)state;
	/* An override in the caller's shell must not change the configs written here. */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(name, sizeof(name), "GATEWAY_PROVIDER_TWILIO_%s", keys[i]);
		unsetenv(name);
	}
	return 0;
}

/* ---- init --------------------------------------------------------------------------------- */

struct init_case {
	const char *name;
	const char *sid, *token, *from, *mss;
	const char *want_key;       /* NULL: init succeeds; else the key the error names */
};

#define LONG_SID "AC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd" /* 64 */

static const struct init_case init_cases[] = {
	{ "everything set, from", SID, TOKEN, FROM, NULL, NULL },
	{ "everything set, messaging service", SID, TOKEN, NULL, MSS, NULL },
	{ "from and messaging service", SID, TOKEN, FROM, MSS, NULL },
	{ "no account_sid", NULL, TOKEN, FROM, NULL, "account_sid" },
	{ "empty account_sid", "", TOKEN, FROM, NULL, "account_sid" },
	{ "no auth_token", SID, NULL, FROM, NULL, "auth_token" },
	{ "empty auth_token", SID, "", FROM, NULL, "auth_token" },
	{ "neither from nor messaging_service_sid", SID, TOKEN, NULL, NULL, "from" },
	{ "both empty", SID, TOKEN, "", "", "from" },
	{ "account_sid too long", LONG_SID, TOKEN, FROM, NULL, "account_sid" },
	{ "nothing at all", NULL, NULL, NULL, NULL, "account_sid" },
};

static void test_init_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(init_cases); i++) {
		const struct init_case *t = &init_cases[i];
		struct hand_section h;

		expect_init(t->name, "twilio",
			    twilio_section(&h, t->sid, t->token, t->from, t->mss, NULL), t->want_key);
	}
}

/* The message for a section with neither sender tells the user both ways out. */
static void test_init_no_sender_names_both_keys(void **state)
{
	struct hand_section h;
	struct gw_err err = { 0 };

	(void)state;
	assert_null(provider_create(provider_find("twilio"),
				    twilio_section(&h, SID, TOKEN, NULL, NULL, NULL), NULL, PUBLIC_URL, &err));
	assert_non_null(strstr(err.msg, "from"));
	assert_non_null(strstr(err.msg, "messaging_service_sid"));
}

/* ---- build_send --------------------------------------------------------------------------- */

/* Runs build_send for one message; the request is left in *req and its decoded body in *f. */
static void build(struct provider *p, enum channel ch, const char *to, const char *text,
		  struct http_request *req, struct form *f)
{
	struct outbound msg = { .id = 42, .channel = ch, .purpose = PURPOSE_SURVEY, .to = to,
				.body = text };
	struct gw_err err = { 0 };

	provider_request_init(req);
	if (provider_build_send(p, &msg, req, &err) < 0)
		fail_msg("build_send: %s", err.msg);
	assert_int_equal(form_parse(f, req->body.data, req->body.len), 0);
}

static void test_build_send_request_line_and_headers(void **state)
{
	struct provider *p = twilio_default();
	struct http_request req;
	struct form f;

	(void)state;
	build(p, CHANNEL_SMS, "+34600111222", "9", &req, &f);
	assert_string_equal(req.method, "POST");
	assert_string_equal(buf_cstr(&req.url),
			    "https://api.twilio.com/2010-04-01/Accounts/" SID "/Messages.json");
	assert_string_equal(header_value(&req, "Authorization"), BASIC_AUTH);
	assert_string_equal(header_value(&req, "Content-Type"), "application/x-www-form-urlencoded");
	form_release(&f);
	provider_request_release(&req);
	provider_free(p);
}

static void test_build_send_uses_base_url(void **state)
{
	struct provider *p = twilio_from_ini(INI_FROM "base_url = http://127.0.0.1:18099\n",
					     PUBLIC_URL);
	struct http_request req;
	struct form f;

	(void)state;
	build(p, CHANNEL_SMS, "+34600111222", "9", &req, &f);
	assert_string_equal(buf_cstr(&req.url),
			    "http://127.0.0.1:18099/2010-04-01/Accounts/" SID "/Messages.json");
	form_release(&f);
	provider_request_release(&req);
	provider_free(p);
}

struct send_form_case {
	const char *name;
	const char *ini;
	enum channel channel;
	const char *want_to;
	const char *want_from;      /* NULL: no From member */
	const char *want_mss;       /* NULL: no MessagingServiceSid member */
};

static const struct send_form_case send_form_cases[] = {
	{ "sms from a number", INI_FROM, CHANNEL_SMS, "+34600111222", FROM, NULL },
	{ "whatsapp from a number", INI_FROM, CHANNEL_WHATSAPP, "whatsapp:+34600111222",
	  "whatsapp:" FROM, NULL },
	{ "sms through a messaging service", INI_MSS, CHANNEL_SMS, "+34600111222", NULL, MSS },
	{ "messaging service wins over from", INI_BOTH, CHANNEL_SMS, "+34600111222", NULL, MSS },
	{ "whatsapp through a messaging service", INI_MSS, CHANNEL_WHATSAPP,
	  "whatsapp:+34600111222", NULL, MSS },
};

static void test_build_send_form_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(send_form_cases); i++) {
		const struct send_form_case *t = &send_form_cases[i];
		struct provider *p = twilio_from_ini(t->ini, PUBLIC_URL);
		struct http_request req;
		struct form f;
		const char *body;

		build(p, t->channel, "+34600111222", UTF8_TEXT, &req, &f);
		EXPECT_STR(t->name, "To", form_get(&f, "To"), t->want_to);
		if (t->want_from)
			EXPECT_STR(t->name, "From", form_get(&f, "From"), t->want_from);
		else if (form_get(&f, "From"))
			fail_msg("%s: From is \"%s\", want none", t->name, form_get(&f, "From"));
		if (t->want_mss)
			EXPECT_STR(t->name, "MessagingServiceSid", form_get(&f, "MessagingServiceSid"),
				   t->want_mss);
		else if (form_get(&f, "MessagingServiceSid"))
			fail_msg("%s: MessagingServiceSid present, want none", t->name);
		EXPECT_STR(t->name, "StatusCallback", form_get(&f, "StatusCallback"),
			   PUBLIC_URL "/webhooks/twilio/status");
		/* The text round-trips byte for byte. */
		body = form_get(&f, "Body");
		EXPECT_STR(t->name, "Body", body, UTF8_TEXT);
		for (size_t j = 0; j < f.n; j++)
			if (strcmp(f.fields[j].key, "Body") == 0)
				EXPECT_INT(t->name, "Body length", f.fields[j].value_len,
					   strlen(UTF8_TEXT));
		form_release(&f);
		provider_request_release(&req);
		provider_free(p);
	}
}

/* On the wire '+' must be %2B (a bare '+' is a space to Twilio) and UTF-8 is percent-encoded. */
static void test_build_send_wire_encoding(void **state)
{
	struct provider *p = twilio_default();
	struct http_request req;
	struct form f;
	const char *raw;

	(void)state;
	build(p, CHANNEL_SMS, "+34600111222", UTF8_TEXT, &req, &f);
	raw = buf_cstr(&req.body);
	assert_int_equal(strlen(raw), req.body.len);
	assert_non_null(strstr(raw, "To=%2B34600111222"));
	assert_non_null(strstr(raw, "From=%2B15005550006"));
	assert_non_null(strstr(raw, "Body=%C2%BFQu%C3%A9+tal"));
	assert_non_null(strstr(raw, "%F0%9F%91%8D"));
	for (const char *c = raw; *c; c++)
		assert_true((unsigned char)*c < 0x80);
	form_release(&f);
	provider_request_release(&req);
	provider_free(p);
}

/* Without a public URL there is nowhere for Twilio to call back: no StatusCallback. */
static void test_build_send_without_public_url(void **state)
{
	struct provider *p = twilio_from_ini(INI_FROM, NULL);
	struct http_request req;
	struct form f;

	(void)state;
	build(p, CHANNEL_SMS, "+34600111222", "9", &req, &f);
	assert_null(form_get(&f, "StatusCallback"));
	assert_string_equal(form_get(&f, "Body"), "9");
	form_release(&f);
	provider_request_release(&req);
	provider_free(p);
}

/* ---- parse_send_response ------------------------------------------------------------------ */

struct send_case {
	const char *name;
	long status;
	const char *fixture;
	const char *member;         /* rewrite this member (NULL: none) ... */
	const char *value;          /* ... to this JSON literal */
	enum send_result want;
	const char *want_id;
	const char *want_status;
	const char *want_code;
	const char *want_message;
};

/*
 * WhatsApp outside the customer's 24-hour session: a survey goes as the approved Content template
 * of [templates.twilio] (ContentSid + numbered ContentVariables, no Body); inside the session, or
 * without a template, as text.
 */
struct wa_case {
	const char *row;
	enum channel ch;
	enum outbound_purpose purpose;
	int in_session;
	const char *locale, *name;
	const char *want_sid;           /* NULL: a Body, no ContentSid */
	const char *want_vars;
};

static const struct wa_case wa_cases[] = {
	{ "survey outside the session", CHANNEL_WHATSAPP, PURPOSE_SURVEY, 0, "es", "Ana",
	  "HXnps_es", "{\"1\":\"Ana\",\"2\":\"Acme\"}" },
	{ "portuguese template", CHANNEL_WHATSAPP, PURPOSE_SURVEY, 0, "pt", "Rui",
	  "HXnps_pt", "{\"1\":\"Rui\",\"2\":\"Acme\"}" },
	{ "english falls back to the spanish template", CHANNEL_WHATSAPP, PURPOSE_SURVEY, 0, "en",
	  "", "HXnps_es", "{\"1\":\"customer\",\"2\":\"Acme\"}" },
	{ "survey inside the session", CHANNEL_WHATSAPP, PURPOSE_SURVEY, 1, "es", "Ana", NULL, NULL },
	{ "sms never uses a template", CHANNEL_SMS, PURPOSE_SURVEY, 0, "es", "Ana", NULL, NULL },
};

/* Like EXPECT_STR, where NULL means "absent". */
#define EXPECT_MAYBE(row, what, got, want)                                                  \
	do {                                                                                \
		const char *gm_ = (got), *wm_ = (want);                                     \
		if ((gm_ == NULL) != (wm_ == NULL) || (gm_ && strcmp(gm_, wm_) != 0))       \
			fail_msg("%s: %s is \"%s\", want \"%s\"", (row), (what),            \
				 gm_ ? gm_ : "(absent)", wm_ ? wm_ : "(absent)");           \
	} while (0)

static void test_whatsapp_templates_outside_session(void **state)
{
	static const char ini[] = INI_FROM "[templates.twilio]\nnps.es = HXnps_es\n"
				  "nps.pt = HXnps_pt\nparams = name, brand\n";
	char path[] = "/tmp/test_twilio-XXXXXX";
	struct config cfg;
	struct gw_err err = { 0 };
	struct provider *p;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, ini, sizeof(ini) - 1), (ssize_t)(sizeof(ini) - 1));
	close(fd);
	if (provider_config_load(&cfg, path, &err) < 0)
		fail_msg("config_load: %s", err.msg);
	unlink(path);
	p = provider_create(provider_find("twilio"), config_section_find(&cfg, "provider.twilio"),
			    config_section_find(&cfg, "templates.twilio"), PUBLIC_URL, &err);
	if (!p)
		fail_msg("provider_create: %s", err.msg);
	for (size_t i = 0; i < ARRAY_SIZE(wa_cases); i++) {
		const struct wa_case *c = &wa_cases[i];
		struct outbound msg = { .id = 1, .channel = c->ch, .purpose = c->purpose,
					.to = "+34600111222", .body = "texto", .kind = KIND_NPS,
					.locale = c->locale, .name = c->name, .brand = "Acme",
					.in_session = c->in_session };
		struct http_request req;
		struct form f = { 0 };

		provider_request_init(&req);
		assert_int_equal(provider_build_send(p, &msg, &req, &err), 0);
		assert_int_equal(form_parse(&f, req.body.data, req.body.len), 0);
		EXPECT_MAYBE(c->row, "ContentSid", form_get(&f, "ContentSid"), c->want_sid);
		EXPECT_MAYBE(c->row, "ContentVariables", form_get(&f, "ContentVariables"),
			     c->want_vars);
		EXPECT_MAYBE(c->row, "Body", form_get(&f, "Body"), c->want_sid ? NULL : "texto");
		form_release(&f);
		provider_request_release(&req);
	}
	provider_free(p);
	config_release(&cfg);
}

#define F201    "twilio-create-message-201.json"
#define F201_MS "twilio-create-message-201-messaging-service.json"
#define F201_WA "twilio-create-message-201-whatsapp-scheduled.json"
#define F400    "twilio-error-400-20001.json"

static const struct send_case send_cases[] = {
	{ "201 create", 201, F201, NULL, NULL, SEND_ACCEPTED, SID_201, "queued", "", "" },
	{ "201 with messaging service", 201, F201_MS, NULL, NULL, SEND_ACCEPTED, SID_201,
	  "queued", "", "" },
	{ "201 whatsapp scheduled", 201, F201_WA, NULL, NULL, SEND_ACCEPTED, SID_201,
	  "scheduled", "", "" },
	{ "201 with another sid", 201, F201, "sid", "\"SM0123456789abcdef0123456789abcdef\"",
	  SEND_ACCEPTED, "SM0123456789abcdef0123456789abcdef", "queued", "", "" },
	{ "400 bad request 20001", 400, F400, NULL, NULL, SEND_PERMANENT, "", "", "20001",
	  "Bad request" },
	{ "400 invalid To 21211", 400, F400, "code", "21211", SEND_PERMANENT, "", "", "21211",
	  "Bad request" },
	{ "400 opted out 21610", 400, F400, "code", "21610", SEND_PERMANENT, "", "", "21610",
	  "Bad request" },
	{ "401 authenticate 20003", 401, F400, "code", "20003", SEND_PERMANENT, "", "",
	  "20003", "Bad request" },
	{ "404 not found 20404", 404, F400, "code", "20404", SEND_PERMANENT, "", "", "20404",
	  "Bad request" },
	{ "429 too many requests 20429", 429, F400, "code", "20429", SEND_TRANSIENT, "", "",
	  "20429", "Bad request" },
	{ "500 with Twilio's error JSON", 500, F400, "code", "20500", SEND_TRANSIENT, "", "",
	  "20500", "Bad request" },
};

/* Twilio's own answers; what any answer without them means is in test_provider_contract.c. */
static void test_parse_send_response_table(void **state)
{
	struct provider *p = twilio_default();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(send_cases); i++) {
		const struct send_case *t = &send_cases[i];
		struct send_outcome out;
		size_t len;
		char *text = fixture_read(t->fixture, &len), *copy;

		if (t->member) {
			char *v = json_rewrite(text, t->member, t->value);

			free(text);
			text = v;
			len = strlen(v);
		}
		copy = exact_copy(text, len);
		memset(&out, 'x', sizeof(out));     /* the wrapper clears what the provider leaves */
		EXPECT_INT(t->name, "result",
			   provider_parse_send_response(p, t->status, copy, len, &out), t->want);
		EXPECT_STR(t->name, "provider_message_id", out.provider_message_id, t->want_id);
		EXPECT_STR(t->name, "status", out.status, t->want_status);
		EXPECT_STR(t->name, "error_code", out.error_code, t->want_code);
		EXPECT_STR(t->name, "error_message", out.error_message, t->want_message);
		free(copy);
		free(text);
	}
	provider_free(p);
}

/* ---- parse_webhook ------------------------------------------------------------------------ */

/* A POST of `body` (`len` bytes) to `path` with X-Twilio-Signature `signature` (NULL:
 * absent). */
static void post(struct provider *p, const char *path, const char *signature, const char *body,
		 size_t len, struct hook *h)
{
	webhook_post(p, path, "application/x-www-form-urlencoded", "X-Twilio-Signature", signature,
		     body, len, h);
}

/* A signed POST of `body` to `path`, signed for exactly that URL. */
static void post_signed(struct provider *p, const char *path, const char *body, size_t len,
			struct hook *h)
{
	char url[256], sig[WEBHOOK_SIG_MAX];

	snprintf(url, sizeof(url), "%s%s", PUBLIC_URL, path);
	webhook_sign_twilio(TOKEN, url, body, len, sig);
	post(p, path, sig, body, len, h);
}

struct inbound_case {
	const char *name;
	const char *key;            /* member of twilio-inbound-sms.form to rewrite (NULL: none) */
	const char *enc;            /* its urlencoded value (NULL: drop it) */
	/* success */
	const char *want_from;
	enum channel want_channel;
	const char *want_id;
	const char *want_text;
	size_t want_text_len;
	/* failure: want_status != 0 */
	int want_status;
	const char *want_field;
};

#define TXT(s) s, sizeof(s) - 1

static const struct inbound_case inbound_cases[] = {
	{ "captured SMS", NULL, NULL, "+14133881111", CHANNEL_SMS, SID_INBOUND, TXT("Msg"), 0, NULL },
	{ "a reply with a score", "Body", "9", "+14133881111", CHANNEL_SMS, SID_INBOUND, TXT("9"),
	  0, NULL },
	{ "from WhatsApp", "From", "whatsapp%3A%2B14133881111", "+14133881111", CHANNEL_WHATSAPP,
	  SID_INBOUND, TXT("Msg"), 0, NULL },
	{ "UTF-8 body", "Body", "%C2%BFQu%C3%A9%3F+9+%F0%9F%91%8D", "+14133881111", CHANNEL_SMS,
	  SID_INBOUND, TXT("\xc2\xbfQu\xc3\xa9? 9 \xf0\x9f\x91\x8d"), 0, NULL },
	{ "body with %00 keeps its length", "Body", "9%00muy+bien", "+14133881111", CHANNEL_SMS,
	  SID_INBOUND, TXT("9\0muy bien"), 0, NULL },
	{ "body that is only %00", "Body", "%00", "+14133881111", CHANNEL_SMS, SID_INBOUND,
	  TXT("\0"), 0, NULL },
	{ "another MessageSid", "MessageSid", "SM0123456789abcdef0123456789abcdef", "+14133881111",
	  CHANNEL_SMS, "SM0123456789abcdef0123456789abcdef", TXT("Msg"), 0, NULL },
	{ "no From", "From", NULL, NULL, 0, NULL, NULL, 0, 400, "From" },
	{ "From is only whatsapp:", "From", "whatsapp%3A", NULL, 0, NULL, NULL, 0, 400, "From" },
};

static void test_inbound_table(void **state)
{
	struct provider *p = twilio_default();
	size_t flen;
	char *fixture = fixture_read("twilio-inbound-sms.form", &flen);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(inbound_cases); i++) {
		const struct inbound_case *t = &inbound_cases[i];
		const struct event *e;
		struct hook h;
		size_t len = flen;
		char *body = t->key ? form_rewrite(fixture, t->key, t->enc, &len) : strdup(fixture);

		assert_non_null(body);
		post_signed(p, "/webhooks/twilio", body, len, &h);
		if (t->want_status) {
			expect_refused(t->name, &h, t->want_status, "missing_field", t->want_field);
		} else {
			expect_webhook_ok(t->name, &h, 1);
			EXPECT_INT(t->name, "events", h.ev.n, 1);
			e = &h.ev.items[0];
			EXPECT_INT(t->name, "type", e->type, EVENT_INBOUND);
			EXPECT_INT(t->name, "channel", e->channel, t->want_channel);
			EXPECT_STR(t->name, "from", e->from, t->want_from);
			EXPECT_STR(t->name, "provider_message_id", e->provider_message_id, t->want_id);
			EXPECT_INT(t->name, "text_len", e->text_len, t->want_text_len);
			assert_non_null(e->text);
			if (memcmp(e->text, t->want_text, t->want_text_len) != 0)
				fail_msg("%s: text bytes differ", t->name);
			EXPECT_INT(t->name, "text NUL", e->text[e->text_len], '\0');
		}
		hook_release(&h);
		free(body);
	}
	free(fixture);
	provider_free(p);
}

/* The two ids Twilio has used: MessageSid, and the older SmsSid when it is the only one. */
static void test_inbound_message_sid_fallback(void **state)
{
	struct provider *p = twilio_default();
	size_t len;
	char *fixture = fixture_read("twilio-inbound-sms.form", &len);
	char *body = form_rewrite(fixture, "MessageSid", NULL, &len), *none;
	struct hook h;

	(void)state;
	post_signed(p, "/webhooks/twilio", body, len, &h);
	expect_webhook_ok("SmsSid only", &h, 1);
	assert_int_equal(h.ev.n, 1);
	assert_string_equal(h.ev.items[0].provider_message_id, SID_INBOUND);
	hook_release(&h);

	none = form_rewrite(body, "SmsSid", NULL, &len);
	post_signed(p, "/webhooks/twilio", none, len, &h);
	expect_refused("neither MessageSid nor SmsSid", &h, 400, "missing_field", "MessageSid");
	hook_release(&h);
	free(none);
	free(body);
	free(fixture);
	provider_free(p);
}

/* Missing, empty and blank ids are all absent: MessageSid falls back to SmsSid, and with neither
 * usable the message is refused (it could never be told from its redelivery). */
static const struct {
	const char *name;
	const char *message_sid, *sms_sid;      /* urlencoded values; NULL: dropped */
	const char *want_id;                    /* NULL: refused 400 MessageSid */
} blank_sid_cases[] = {
	{ "both empty", "", "", NULL },
	{ "both a space", "+", "+", NULL },
	{ "both white space", "%20%09", "%0D%0A", NULL },
	{ "MessageSid blank, no SmsSid", "+++", NULL, NULL },
	{ "MessageSid empty, SmsSid as captured", "", SID_INBOUND, SID_INBOUND },
	{ "MessageSid blank, SmsSid as captured", "%09", SID_INBOUND, SID_INBOUND },
};

static void test_inbound_blank_sids(void **state)
{
	struct provider *p = twilio_default();
	size_t flen;
	char *fixture = fixture_read("twilio-inbound-sms.form", &flen);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(blank_sid_cases); i++) {
		size_t len;
		char *one = form_rewrite(fixture, "MessageSid", blank_sid_cases[i].message_sid, &len);
		char *body = form_rewrite(one, "SmsSid", blank_sid_cases[i].sms_sid, &len);
		const char *name = blank_sid_cases[i].name;
		struct hook h;

		post_signed(p, "/webhooks/twilio", body, len, &h);
		if (!blank_sid_cases[i].want_id) {
			expect_refused(name, &h, 400, "missing_field", "MessageSid");
		} else {
			expect_webhook_ok(name, &h, 1);
			EXPECT_INT(name, "events", h.ev.n, 1);
			EXPECT_STR(name, "provider_message_id", h.ev.items[0].provider_message_id,
				   blank_sid_cases[i].want_id);
		}
		hook_release(&h);
		free(body);
		free(one);
	}
	free(fixture);
	provider_free(p);
}

/*
 * Body's length must be the length of the Body member that form_get() returns.  A key that
 * decodes to "Body" followed by a NUL ("Body%00") is another key, yet twilio.c's length lookup
 * compares keys with strcmp and takes its length for the real Body's bytes.  (With the other key's
 * value longer than the real Body, the same lookup reads past the Body allocation.)
 */
static void test_inbound_body_length_ignores_body_nul_key(void **state)
{
	struct provider *p = twilio_default();
	size_t flen;
	char *fixture = fixture_read("twilio-inbound-sms.form", &flen);
	struct buf b;
	size_t len;
	char *body;
	struct hook h;
	char text[8] = "";
	size_t text_len = 0;

	(void)state;
	buf_init(&b, 1 << 16);
	assert_int_equal(buf_puts(&b, "Body%00=x&"), 0);
	assert_int_equal(buf_append(&b, fixture, flen), 0);
	body = buf_detach(&b, &len);
	post_signed(p, "/webhooks/twilio", body, len, &h);
	expect_webhook_ok("Body%00 before Body", &h, 1);
	assert_int_equal(h.ev.n, 1);
	text_len = h.ev.items[0].text_len;
	if (text_len < sizeof(text))
		memcpy(text, h.ev.items[0].text, text_len + 1);
	hook_release(&h);
	free(body);
	free(fixture);
	provider_free(p);
	assert_int_equal(text_len, 3);
	assert_memory_equal(text, "Msg", 4);
}

struct status_case {
	const char *name;
	const char *fixture;
	const char *key;            /* member to rewrite (NULL: none) */
	const char *enc;            /* its urlencoded value (NULL: drop it) */
	const char *key2;           /* a second member to rewrite (NULL: none) */
	const char *enc2;
	int want_event;             /* 1: one EVENT_STATUS; 0: none, 200 */
	enum delivery_status want_status;
	const char *want_id;
	const char *want_code;
	int want_http;              /* non-zero: refused with this status */
	const char *want_field;
};

#define S_DOCS   "twilio-status-sent-docs.form"
#define S_FAILED "twilio-status-failed-21610.form"
#define S_MS     "twilio-status-sent-messaging-service.form"

static const struct status_case status_cases[] = {
	{ "sent (Twilio docs)", S_DOCS, NULL, NULL, NULL, NULL, 1, DELIVERY_SENT, SID_STATUS_DOCS,
	  "", 0, NULL },
	{ "failed 21610 (captured)", S_FAILED, NULL, NULL, NULL, NULL, 1, DELIVERY_FAILED,
	  SID_INBOUND, "21610", 0, NULL },
	{ "sent through a messaging service (captured)", S_MS, NULL, NULL, NULL, NULL, 1,
	  DELIVERY_SENT, SID_STATUS_MS, "", 0, NULL },
	{ "delivered", S_DOCS, "MessageStatus", "delivered", NULL, NULL, 1, DELIVERY_DELIVERED,
	  SID_STATUS_DOCS, "", 0, NULL },
	{ "read", S_DOCS, "MessageStatus", "read", NULL, NULL, 1, DELIVERY_READ, SID_STATUS_DOCS, "",
	  0, NULL },
	{ "undelivered 30003", S_FAILED, "MessageStatus", "undelivered", "ErrorCode", "30003", 1,
	  DELIVERY_FAILED, SID_INBOUND, "30003", 0, NULL },
	{ "undelivered", S_DOCS, "MessageStatus", "undelivered", NULL, NULL, 1, DELIVERY_FAILED,
	  SID_STATUS_DOCS, "", 0, NULL },
	{ "queued says nothing new", S_DOCS, "MessageStatus", "queued", NULL, NULL, 0, 0, NULL, NULL,
	  0, NULL },
	{ "sending says nothing new", S_DOCS, "MessageStatus", "sending", NULL, NULL, 0, 0, NULL,
	  NULL, 0, NULL },
	{ "accepted says nothing new", S_MS, "MessageStatus", "accepted", NULL, NULL, 0, 0, NULL,
	  NULL, 0, NULL },
	{ "another MessageSid", S_DOCS, "MessageSid", "SM0123456789abcdef0123456789abcdef", "SmsSid",
	  "SM0123456789abcdef0123456789abcdef", 1, DELIVERY_SENT,
	  "SM0123456789abcdef0123456789abcdef", "", 0, NULL },
	{ "no MessageSid", S_FAILED, "MessageSid", NULL, NULL, NULL, 0, 0, NULL, NULL, 400,
	  "MessageSid" },
	{ "neither MessageSid nor SmsSid", S_DOCS, "MessageSid", NULL, "SmsSid", NULL, 0, 0, NULL,
	  NULL, 400, "MessageSid" },
	{ "MessageSid and SmsSid empty", S_DOCS, "MessageSid", "", "SmsSid", "", 0, 0, NULL, NULL,
	  400, "MessageSid" },
	{ "MessageSid and SmsSid blank", S_DOCS, "MessageSid", "+", "SmsSid", "%09", 0, 0, NULL,
	  NULL, 400, "MessageSid" },
	{ "MessageSid blank, no SmsSid", S_FAILED, "MessageSid", "%20%0A", NULL, NULL, 0, 0, NULL,
	  NULL, 400, "MessageSid" },
	{ "MessageSid blank, SmsSid as in the docs", S_DOCS, "MessageSid", "++", NULL, NULL, 1,
	  DELIVERY_SENT, SID_STATUS_DOCS, "", 0, NULL },
	{ "neither MessageStatus nor SmsStatus", S_DOCS, "MessageStatus", NULL, "SmsStatus", NULL, 0,
	  0, NULL, NULL, 400, "MessageStatus" },
};

static void test_status_table(void **state)
{
	struct provider *p = twilio_default();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(status_cases); i++) {
		const struct status_case *t = &status_cases[i];
		const struct event *e;
		struct hook h;
		size_t len;
		char *body = fixture_read(t->fixture, &len), *v;

		if (t->key) {
			v = form_rewrite(body, t->key, t->enc, &len);
			free(body);
			body = v;
		}
		if (t->key2) {
			v = form_rewrite(body, t->key2, t->enc2, &len);
			free(body);
			body = v;
		}
		post_signed(p, "/webhooks/twilio/status", body, len, &h);
		if (t->want_http) {
			expect_refused(t->name, &h, t->want_http, "missing_field", t->want_field);
		} else {
			expect_webhook_ok(t->name, &h, 1);
			EXPECT_INT(t->name, "events", h.ev.n, t->want_event);
		}
		if (t->want_event) {
			e = &h.ev.items[0];
			EXPECT_INT(t->name, "type", e->type, EVENT_STATUS);
			EXPECT_INT(t->name, "status", e->status, t->want_status);
			EXPECT_STR(t->name, "provider_message_id", e->provider_message_id, t->want_id);
			EXPECT_STR(t->name, "error_code", e->error_code, t->want_code);
			EXPECT_INT(t->name, "channel", e->channel, CHANNEL_ANY);
			assert_null(e->text);
		}
		hook_release(&h);
		free(body);
	}
	provider_free(p);
}

/* ---- authentication and routing ----------------------------------------------------------- */

/* What every provider does with a missing, empty, wrong or stale signature and an unknown path is
 * in test_provider_contract.c; here, what is Twilio's own: the signature covers the URL. */
struct auth_case {
	const char *name;
	const char *path;
	const char *fixture;
	const char *sign_url;       /* NULL: signed for the URL posted to */
	int want_http;
	const char *want_code;
	const char *want_field;
};

#define F_IN "twilio-inbound-sms.form"

static const struct auth_case auth_cases[] = {
	{ "signed for the status URL, posted to inbound", "/webhooks/twilio", F_IN, STATUS_URL, 403,
	  "invalid_signature", "X-Twilio-Signature" },
	{ "signed for the inbound URL, posted to status", "/webhooks/twilio/status", S_DOCS,
	  INBOUND_URL, 403, "invalid_signature", "X-Twilio-Signature" },
	{ "signed for another host", "/webhooks/twilio", F_IN,
	  "https://attacker.example.net/webhooks/twilio", 403, "invalid_signature",
	  "X-Twilio-Signature" },
	{ "signed for http instead of https", "/webhooks/twilio", F_IN,
	  "http://surveys.example.com/webhooks/twilio", 403, "invalid_signature",
	  "X-Twilio-Signature" },
	{ "status with a suffix", "/webhooks/twilio/statusx", S_DOCS, NULL, 404, "not_found", NULL },
};

static void test_auth_and_routing_table(void **state)
{
	struct provider *p = twilio_default();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(auth_cases); i++) {
		const struct auth_case *t = &auth_cases[i];
		char url[256], sig[WEBHOOK_SIG_MAX];
		struct hook h;
		size_t len;
		char *body = fixture_read(t->fixture, &len);

		snprintf(url, sizeof(url), "%s%s", PUBLIC_URL, t->path);
		webhook_sign_twilio(TOKEN, t->sign_url ? t->sign_url : url, body, len, sig);
		post(p, t->path, sig, body, len, &h);
		expect_refused(t->name, &h, t->want_http, t->want_code, t->want_field);
		hook_release(&h);
		free(body);
	}
	provider_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_table),
		cmocka_unit_test(test_init_no_sender_names_both_keys),
		cmocka_unit_test(test_build_send_request_line_and_headers),
		cmocka_unit_test(test_build_send_uses_base_url),
		cmocka_unit_test(test_build_send_form_table),
		cmocka_unit_test(test_build_send_wire_encoding),
		cmocka_unit_test(test_whatsapp_templates_outside_session),
		cmocka_unit_test(test_build_send_without_public_url),
		cmocka_unit_test(test_parse_send_response_table),
		cmocka_unit_test(test_inbound_table),
		cmocka_unit_test(test_inbound_message_sid_fallback),
		cmocka_unit_test(test_inbound_blank_sids),
		cmocka_unit_test(test_inbound_body_length_ignores_body_nul_key),
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_auth_and_routing_table),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
