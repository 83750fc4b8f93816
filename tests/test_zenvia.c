/*
 * test_zenvia.c - providers/zenvia.c as the core sees it, through provider.h:
 *
 *  - init() refuses a section without api_token, from or webhook_token, naming the key;
 *  - build_send() makes Zenvia's v2 request (URL per channel, X-API-TOKEN, a JSON body with
 *    exactly the members of $FIXTURES/zenvia-send-sms-request.json), and a WhatsApp survey
 *    outside the session as a template content with named fields;
 *  - parse_send_response() classifies Zenvia's answers: the message with its id, and the error
 *    objects of the API's "Error Handling" table (zenvia/zenvia-openapi-spec
 *    spec/info/description.md: 400 VALIDATION_ERROR, 401 AUTHENTICATION_ERROR, 404 NOT_FOUND,
 *    409 DUPLICATED, 500 INTERNAL_ERROR, code and message verbatim);
 *  - parse_webhook() checks X-Gateway-Token before anything else and turns the SDK's events
 *    ($FIXTURES/zenvia-webhook-*.json, a member changed where a row needs another value) into
 *    neutral events.
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
#include <jansson.h>

#include "buf.h"
#include "config.h"
#include "provider.h"
#include "support/provider_call.h"
#include "support/unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TOKEN      "hKp94crjv9OF3UGrCpSXUJw1-UYHhRvLKNLt"
#define FROM       "acme-sender"
#define HOOK       "s3cr3t-hook-token-0123456789"
#define PUBLIC_URL "https://surveys.example.com"
#define TO         "+34600111222"

/* The ids the fixtures carry. */
#define ID_IN     "3fcdb9f9-a44d-4bb2-944c-84cc104e2e9d"   /* the MESSAGE event's own id */
/* The message's id, message.id: Zenvia's message object carries one (zenvia-openapi-spec
 * spec/components/schemas/message/base.ts, "Message ID"; courier's Zenvia handler requires it),
 * but the SDK's test literal in the fixture leaves it out, so the inbound rows add it. */
#define ID_MSG    "6b4c1d2e-8f3a-4e5b-9c7d-0a1b2c3d4e5f"
#define ID_STATUS "7391518c-e719-468c-812a-ab00a8b442e4"   /* messageId: what our send got */

#define F_SEND   "zenvia-send-sms-request.json"
#define F_IN     "zenvia-webhook-message-in.json"
#define F_STATUS "zenvia-webhook-message-status-sent.json"

/* A UTF-8 survey text: inverted question mark, accents, an emoji outside the BMP. */
#define UTF8_TEXT "\xc2\xbfQu\xc3\xa9 tal te atendimos? Responde de 0 a 10 \xf0\x9f\x91\x8d"


/* ---- fixtures and their variants --------------------------------------------------------- */


/* One change to a JSON document: at `path` ("message.contents.0.text"; numbers index arrays)
 * put the JSON literal `value`, or remove the member when value is NULL. */
struct edit {
	const char *path;
	const char *value;
};

#define NO_EDIT { NULL, NULL }

static void json_edit(json_t *root, const struct edit *e)
{
	char path[128], *seg, *next;
	json_t *parent = root, *v = NULL;

	snprintf(path, sizeof(path), "%s", e->path);
	if (e->value) {
		json_error_t err;

		v = json_loads(e->value, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
		if (!v)
			fail_msg("%s: bad literal %s: %s", e->path, e->value, err.text);
	}
	for (seg = path; (next = strchr(seg, '.')); seg = next + 1) {
		*next = '\0';
		parent = json_is_array(parent) ? json_array_get(parent, strtoul(seg, NULL, 10))
					       : json_object_get(parent, seg);
		if (!parent)
			fail_msg("%s: no %s in the fixture", e->path, seg);
	}
	if (json_is_array(parent)) {
		size_t i = strtoul(seg, NULL, 10);

		assert_int_equal(v ? json_array_set_new(parent, i, v) : json_array_remove(parent, i), 0);
	} else if (v) {
		assert_int_equal(json_object_set_new(parent, seg, v), 0);
	} else if (json_object_del(parent, seg) < 0) {
		fail_msg("%s: not in the fixture", e->path);
	}
}

/* The fixture with `base` (NULL: none) and then up to two edits applied in order (path NULL:
 * none), as malloc'd JSON text. */
static char *fixture_variant(const char *name, const struct edit *base, const struct edit edits[2],
			     size_t *len)
{
	json_t *root = fixture_json(name);
	char *text;

	if (base)
		json_edit(root, base);
	for (size_t i = 0; i < 2; i++)
		if (edits[i].path)
			json_edit(root, &edits[i]);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(text);
	json_decref(root);
	*len = strlen(text);
	return text;
}

/* ---- provider instances ------------------------------------------------------------------- */

/* A [provider.zenvia] section built by hand: the NULL-valued keys are left out. */
static const struct config_section *zenvia_section(struct hand_section *h, const char *token,
						    const char *from, const char *hook)
{
	static const char *const keys[] = { "api_token", "from", "webhook_token" };
	const char *const values[] = { token, from, hook };

	return hand_section(h, "provider.zenvia", keys, values, ARRAY_SIZE(keys));
}

/* A Zenvia instance made the way the gateway makes one: from a gateway.conf loaded with
 * config_load() (so the key table's defaults apply), with its [templates.zenvia] section, which
 * must outlive the instance: inst_close() releases both. */
struct inst {
	struct config cfg;
	struct provider *p;
};

static struct provider *inst_open(struct inst *in, const char *ini)
{
	struct gw_err err = { 0 };

	if (config_load_text(&in->cfg, ini, &err) < 0)
		fail_msg("config_load: %s", err.msg);
	in->p = provider_create(provider_find("zenvia"),
				config_section_find(&in->cfg, "provider.zenvia"),
				config_section_find(&in->cfg, "templates.zenvia"), PUBLIC_URL, &err);
	if (!in->p)
		fail_msg("provider_create: %s", err.msg);
	return in->p;
}

static void inst_close(struct inst *in)
{
	provider_free(in->p);
	config_release(&in->cfg);
}

#define INI "[provider.zenvia]\napi_token = " TOKEN "\nfrom = " FROM "\nwebhook_token = " HOOK "\n"
#define INI_TPL INI "[templates.zenvia]\nnps.es = tpl-nps-es\nnps.pt = tpl-nps-pt\n"

static int group_setup(void **state)
{
	static const char *const names[] = {
		"GATEWAY_PROVIDER_ZENVIA_API_TOKEN", "GATEWAY_PROVIDER_ZENVIA_FROM",
		"GATEWAY_PROVIDER_ZENVIA_BASE_URL", "GATEWAY_PROVIDER_ZENVIA_WEBHOOK_TOKEN",
		"GATEWAY_PROVIDER_ZENVIA_RATE", "GATEWAY_TEMPLATES_ZENVIA_NPS_ES",
		"GATEWAY_TEMPLATES_ZENVIA_NPS_PT", "GATEWAY_TEMPLATES_ZENVIA_PARAMS",
	};

	(void)state;
	/* An override in the caller's shell must not change the configs written here. */
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		unsetenv(names[i]);
	return 0;
}

/* ---- init --------------------------------------------------------------------------------- */

struct init_case {
	const char *name;
	const char *token, *from, *hook;
	const char *want_key;       /* NULL: init succeeds; else the key the error names */
};

/* 256 characters: one past what init() keeps. */
#define LONG_VALUE                                                                          \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"                  \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"                  \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"                  \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct init_case init_cases[] = {
	{ "everything set", TOKEN, FROM, HOOK, NULL },
	{ "no api_token", NULL, FROM, HOOK, "api_token" },
	{ "empty api_token", "", FROM, HOOK, "api_token" },
	{ "no from", TOKEN, NULL, HOOK, "from" },
	{ "empty from", TOKEN, "", HOOK, "from" },
	{ "no webhook_token", TOKEN, FROM, NULL, "webhook_token" },
	{ "empty webhook_token", TOKEN, FROM, "", "webhook_token" },
	{ "api_token too long", LONG_VALUE, FROM, HOOK, "api_token" },
	{ "webhook_token too long", TOKEN, FROM, LONG_VALUE, "webhook_token" },
	{ "nothing at all", NULL, NULL, NULL, "api_token" },
};

static void test_init_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(init_cases); i++) {
		const struct init_case *t = &init_cases[i];
		struct hand_section h;

		expect_init(t->name, "zenvia", zenvia_section(&h, t->token, t->from, t->hook),
			    t->want_key);
	}
}

/* Registered as "zenvia", sends templates (its pace is in test_provider_contract.c). */
static void test_ops(void **state)
{
	struct inst in;

	(void)state;
	inst_open(&in, INI);
	assert_string_equal(provider_name(in.p), "zenvia");
	assert_true(provider_has(in.p, PROVIDER_CAP_TEMPLATES));
	assert_false(provider_has(in.p, PROVIDER_CAP_LOCAL | PROVIDER_CAP_WEBHOOK_API_KEY |
					PROVIDER_CAP_WEBHOOK_GET));
	inst_close(&in);
}

/* ---- build_send --------------------------------------------------------------------------- */

struct send_msg {
	enum channel channel;
	enum outbound_purpose purpose;
	int in_session;
	const char *locale;
	const char *name;
	const char *body;
};

/* Runs build_send for one message; the request is left in *req, its JSON body is returned. */
static json_t *build(struct provider *p, const struct send_msg *m, struct http_request *req)
{
	struct outbound msg = { .id = 42, .channel = m->channel, .purpose = m->purpose, .to = TO,
				.body = m->body ? m->body : UTF8_TEXT, .kind = KIND_NPS,
				.locale = m->locale ? m->locale : "es",
				.name = m->name ? m->name : "Ana", .brand = "Acme",
				.in_session = m->in_session };
	struct gw_err err = { 0 };
	json_error_t jerr;
	json_t *body;

	provider_request_init(req);
	if (provider_build_send(p, &msg, req, &err) < 0)
		fail_msg("build_send: %s", err.msg);
	assert_string_equal(req->method, "POST");
	if (!(body = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &jerr)))
		fail_msg("body is not JSON (%s): %s", jerr.text, buf_cstr(&req->body));
	return body;
}

/* 1 when objects a and b have the same member names (values not compared). */
static int same_keys(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;

	if (!json_is_object(a) || !json_is_object(b) || json_object_size(a) != json_object_size(b))
		return 0;
	json_object_foreach((json_t *)a, k, v)
		if (!json_object_get(b, k))
			return 0;
	return 1;
}

/* The SMS text request has exactly the shape of Zenvia's own sample, our values in it. */
static void test_build_send_sms_matches_fixture(void **state)
{
	struct inst in;
	struct http_request req;
	json_t *want = fixture_json(F_SEND), *got, *content;
	struct send_msg m = { .channel = CHANNEL_SMS, .purpose = PURPOSE_SURVEY };

	(void)state;
	inst_open(&in, INI_TPL);
	got = build(in.p, &m, &req);
	assert_string_equal(buf_cstr(&req.url), "https://api.zenvia.com/v2/channels/sms/messages");
	assert_string_equal(header_value(&req, "X-API-TOKEN"), TOKEN);
	assert_string_equal(header_value(&req, "Content-Type"), "application/json");
	assert_true(same_keys(got, want));
	assert_int_equal(json_array_size(json_object_get(got, "contents")), 1);
	content = json_array_get(json_object_get(got, "contents"), 0);
	assert_true(same_keys(content, json_array_get(json_object_get(want, "contents"), 0)));
	assert_string_equal(json_string_value(json_object_get(got, "from")), FROM);
	assert_string_equal(json_string_value(json_object_get(got, "to")), "34600111222");
	assert_string_equal(json_string_value(json_object_get(content, "type")), "text");
	assert_string_equal(json_string_value(json_object_get(content, "text")), UTF8_TEXT);
	json_decref(got);
	json_decref(want);
	provider_request_release(&req);
	inst_close(&in);
}

struct build_case {
	const char *name;
	const char *ini;
	struct send_msg msg;
	const char *want_url;
	const char *want_template;  /* NULL: a text content with the message body */
	const char *want_fields;    /* the template's fields, as JSON */
};

#define URL_SMS "https://api.zenvia.com/v2/channels/sms/messages"
#define URL_WA  "https://api.zenvia.com/v2/channels/whatsapp/messages"
#define SURVEY_OUT(...) { CHANNEL_WHATSAPP, PURPOSE_SURVEY, 0, __VA_ARGS__ }

static const struct build_case build_cases[] = {
	{ "sms text", INI, { CHANNEL_SMS, PURPOSE_SURVEY, 0, NULL, NULL, NULL }, URL_SMS, NULL,
	  NULL },
	{ "whatsapp text, no template configured", INI, SURVEY_OUT(NULL, NULL, NULL), URL_WA, NULL,
	  NULL },
	{ "whatsapp survey outside the session", INI_TPL, SURVEY_OUT(NULL, NULL, NULL), URL_WA,
	  "tpl-nps-es", "{\"name\":\"Ana\",\"brand\":\"Acme\"}" },
	{ "whatsapp survey in the session", INI_TPL,
	  { CHANNEL_WHATSAPP, PURPOSE_SURVEY, 1, NULL, NULL, NULL }, URL_WA, NULL, NULL },
	{ "whatsapp thanks outside the session", INI_TPL,
	  { CHANNEL_WHATSAPP, PURPOSE_THANKS, 0, NULL, NULL, "Gracias" }, URL_WA, NULL, NULL },
	{ "whatsapp re-prompt outside the session", INI_TPL,
	  { CHANNEL_WHATSAPP, PURPOSE_REPROMPT, 0, NULL, NULL, NULL }, URL_WA, NULL, NULL },
	{ "sms survey never uses the template", INI_TPL,
	  { CHANNEL_SMS, PURPOSE_SURVEY, 0, NULL, NULL, NULL }, URL_SMS, NULL, NULL },
	{ "template for the locale", INI_TPL, SURVEY_OUT("pt", NULL, NULL), URL_WA, "tpl-nps-pt",
	  "{\"name\":\"Ana\",\"brand\":\"Acme\"}" },
	{ "locale without a template falls back to Spanish", INI_TPL, SURVEY_OUT("en", NULL, NULL),
	  URL_WA, "tpl-nps-es", "{\"name\":\"Ana\",\"brand\":\"Acme\"}" },
	{ "unknown name is greeted generically", INI_TPL, SURVEY_OUT(NULL, "", NULL), URL_WA,
	  "tpl-nps-es", "{\"name\":\"cliente\",\"brand\":\"Acme\"}" },
	{ "params names the fields", INI_TPL "params = brand\n", SURVEY_OUT(NULL, NULL, NULL),
	  URL_WA, "tpl-nps-es", "{\"brand\":\"Acme\"}" },
	{ "params in another order, an unknown word", INI_TPL "params = brand,name  ,agent\n",
	  SURVEY_OUT(NULL, "Jos\xc3\xa9", NULL), URL_WA, "tpl-nps-es",
	  "{\"brand\":\"Acme\",\"name\":\"Jos\xc3\xa9\",\"agent\":\"\"}" },
	{ "base_url", INI "base_url = http://127.0.0.1:18099/\n",
	  { CHANNEL_WHATSAPP, PURPOSE_SURVEY, 1, NULL, NULL, NULL },
	  "http://127.0.0.1:18099/v2/channels/whatsapp/messages", NULL, NULL },
};

static void test_build_send_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(build_cases); i++) {
		const struct build_case *t = &build_cases[i];
		struct inst in;
		struct http_request req;
		json_t *got, *contents, *c, *fields;

		inst_open(&in, t->ini);
		got = build(in.p, &t->msg, &req);
		EXPECT_STR(t->name, "url", buf_cstr(&req.url), t->want_url);
		EXPECT_STR(t->name, "X-API-TOKEN", header_value(&req, "X-API-TOKEN"), TOKEN);
		EXPECT_STR(t->name, "Content-Type", header_value(&req, "Content-Type"),
			   "application/json");
		EXPECT_INT(t->name, "members", json_object_size(got), 3);
		EXPECT_STR(t->name, "from", json_string_value(json_object_get(got, "from")), FROM);
		EXPECT_STR(t->name, "to", json_string_value(json_object_get(got, "to")), "34600111222");
		contents = json_object_get(got, "contents");
		EXPECT_INT(t->name, "contents", json_array_size(contents), 1);
		c = json_array_get(contents, 0);
		if (!t->want_template) {
			EXPECT_INT(t->name, "content members", json_object_size(c), 2);
			EXPECT_STR(t->name, "type", json_string_value(json_object_get(c, "type")), "text");
			EXPECT_STR(t->name, "text", json_string_value(json_object_get(c, "text")),
				   t->msg.body ? t->msg.body : UTF8_TEXT);
		} else {
			json_t *want = json_loads(t->want_fields, 0, NULL);

			assert_non_null(want);
			EXPECT_INT(t->name, "content members", json_object_size(c), 3);
			EXPECT_STR(t->name, "type", json_string_value(json_object_get(c, "type")),
				   "template");
			EXPECT_STR(t->name, "templateId",
				   json_string_value(json_object_get(c, "templateId")), t->want_template);
			fields = json_object_get(c, "fields");
			if (!json_equal(fields, want)) {
				char *s = json_dumps(fields, JSON_COMPACT);

				fail_msg("%s: fields are %s, want %s", t->name, s ? s : "(none)",
					 t->want_fields);
			}
			json_decref(want);
		}
		json_decref(got);
		provider_request_release(&req);
		inst_close(&in);
	}
}

struct build_error_case {
	const char *name;
	const char *to;
	const char *body;
};

static const struct build_error_case build_error_cases[] = {
	{ "number with a space", "+34 600111222", "9" },
	{ "number with letters", "+3460011122x", "9" },
	{ "empty number", "", "9" },
	{ "only a plus", "+", "9" },
	{ "body not UTF-8", TO, "9 \xff\xfe" },
};

/* A message the request cannot carry fails with a reason, never with a malformed request. */
static void test_build_send_errors(void **state)
{
	struct inst in;

	(void)state;
	inst_open(&in, INI);
	for (size_t i = 0; i < ARRAY_SIZE(build_error_cases); i++) {
		const struct build_error_case *t = &build_error_cases[i];
		struct outbound msg = { .channel = CHANNEL_SMS, .purpose = PURPOSE_SURVEY, .to = t->to,
					.body = t->body, .locale = "es", .name = "", .brand = "" };
		struct http_request req;
		struct gw_err err = { 0 };

		provider_request_init(&req);
		EXPECT_INT(t->name, "rc", provider_build_send(in.p, &msg, &req, &err), -1);
		if (!err.msg[0])
			fail_msg("%s: no reason given", t->name);
		provider_request_release(&req);
	}
	inst_close(&in);
}

/* ---- parse_send_response ------------------------------------------------------------------ */

struct send_case {
	const char *name;
	long status;
	const char *body;           /* NULL: no body at all; "@send-200": see below */
	enum send_result want;
	const char *want_id;
	const char *want_code;
	const char *want_message;   /* NULL: any non-empty message */
	unsigned want_flags;
};

/* Zenvia answers a send with the message resource: the request's members plus its `id`.  Built
 * from the request fixture with the id that the status fixture reports for it. */
#define SEND_200 "@send-200"

#define ERR(code, msg) "{\"code\":\"" code "\",\"message\":\"" msg "\"}"

static const struct send_case send_cases[] = {
	{ "200 message with id", 200, SEND_200, SEND_ACCEPTED, ID_STATUS, "", "", 0 },
	{ "201 message with id", 201, SEND_200, SEND_ACCEPTED, ID_STATUS, "", "", 0 },
	{ "200 not JSON", 200, "OK", SEND_ACCEPTED, "", "", "", 0 },
	{ "400 VALIDATION_ERROR", 400,
	  "{\"code\":\"VALIDATION_ERROR\",\"message\":\"Validation error\",\"details\":[{\"code\":"
	  "\"INVALID_PARAMETER\",\"path\":\"to\",\"message\":\"to is invalid\"}]}",
	  SEND_PERMANENT, "", "VALIDATION_ERROR", "Validation error", 0 },
	{ "400 with the spec's description member", 400,
	  "{\"code\":\"VALIDATION_ERROR\",\"description\":\"Validation error\"}", SEND_PERMANENT, "",
	  "VALIDATION_ERROR", "Validation error", 0 },
	{ "401 AUTHENTICATION_ERROR", 401,
	  ERR("AUTHENTICATION_ERROR", "No authorization token was found"), SEND_PERMANENT, "",
	  "AUTHENTICATION_ERROR", "No authorization token was found", SEND_AUTH_FAILED },
	{ "404 NOT_FOUND", 404, ERR("NOT_FOUND", "Not found"), SEND_PERMANENT, "", "NOT_FOUND",
	  "Not found", 0 },
	{ "409 DUPLICATED", 409, ERR("DUPLICATED", "Entity already exists"), SEND_PERMANENT, "",
	  "DUPLICATED", "Entity already exists", 0 },
	{ "500 INTERNAL_ERROR", 500, ERR("INTERNAL_ERROR", "Internal error"), SEND_TRANSIENT, "",
	  "INTERNAL_ERROR", "Internal error", 0 },
};

static char *send_200_body(void)
{
	json_t *j = fixture_json(F_SEND);
	char *s;

	assert_int_equal(json_object_set_new(j, "id", json_string(ID_STATUS)), 0);
	s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(s);
	json_decref(j);
	return s;
}

static void test_parse_send_response_table(void **state)
{
	struct inst in;

	(void)state;
	inst_open(&in, INI);
	for (size_t i = 0; i < ARRAY_SIZE(send_cases); i++) {
		const struct send_case *t = &send_cases[i];
		struct send_outcome out;
		char *text = NULL, *copy = NULL;
		size_t len = 0;
		enum send_result got;

		if (t->body)
			text = strcmp(t->body, SEND_200) == 0 ? send_200_body() : strdup(t->body);
		len = text ? strlen(text) : 0;
		copy = exact_copy(text, len);
		memset(&out, 'x', sizeof(out));     /* the wrapper clears what the provider leaves */
		got = provider_parse_send_response(in.p, t->status, copy, len, &out);
		EXPECT_INT(t->name, "result", got, t->want);
		EXPECT_STR(t->name, "provider_message_id", out.provider_message_id, t->want_id);
		EXPECT_STR(t->name, "error_code", out.error_code, t->want_code);
		if (t->want_message)
			EXPECT_STR(t->name, "error_message", out.error_message, t->want_message);
		else if (!out.error_message[0])
			fail_msg("%s: error_message is empty, want a human message", t->name);
		EXPECT_INT(t->name, "flags", out.flags, t->want_flags);
		free(copy);
		free(text);
	}
	inst_close(&in);
}

/* ---- parse_webhook ------------------------------------------------------------------------ */

/* POSTs `body` (`len` bytes) to `path` with `token` as X-Gateway-Token (NULL: absent), sent
 * under the header name `header` (NULL: "X-Gateway-Token").  Release with hook_release(). */
static void post_as(struct provider *p, const char *path, const char *header, const char *token,
		    const char *body, size_t len, struct hook *h)
{
	webhook_post(p, path, "application/json", header ? header : "X-Gateway-Token", token, body,
		     len, h);
}

static void post(struct provider *p, const char *body, size_t len, struct hook *h)
{
	post_as(p, "/webhooks/zenvia", NULL, HOOK, body, len, h);
}

/* message.id added to the SDK's MESSAGE event, the edit every inbound row starts from. */
static const struct edit with_message_id = { "message.id", "\"" ID_MSG "\"" };

/* The SDK's MESSAGE event, as captured, lacks message.id: refused, as a message without an id
 * could never be told from its redelivery.  With message.id it is one inbound text on WhatsApp,
 * known by that id (not by the event's). */
static void test_webhook_message_in_fixture(void **state)
{
	static const struct edit none[2] = { NO_EDIT, NO_EDIT };
	struct inst in;
	size_t len;
	char *body = fixture_read(F_IN, &len);
	const struct event *e;
	struct hook h;

	(void)state;
	inst_open(&in, INI);
	post(in.p, body, len, &h);
	expect_refused("message-in fixture as captured", &h, 400, "missing_field", "message.id");
	hook_release(&h);
	free(body);

	body = fixture_variant(F_IN, &with_message_id, none, &len);
	post(in.p, body, len, &h);
	expect_webhook_ok("message-in fixture with message.id", &h, 0);
	assert_int_equal(h.ev.n, 1);
	e = &h.ev.items[0];
	assert_int_equal(e->type, EVENT_INBOUND);
	assert_int_equal(e->channel, CHANNEL_WHATSAPP);
	assert_string_equal(e->provider_message_id, ID_MSG);
	assert_string_equal(e->from, "FROM");       /* not digits: as given */
	assert_int_equal(e->not_text, 0);
	assert_int_equal(e->text_len, strlen("Some message"));
	assert_string_equal(e->text, "Some message");
	hook_release(&h);
	free(body);
	inst_close(&in);
}

/* The SDK's MESSAGE_STATUS event, as captured: our message was sent. */
static void test_webhook_message_status_fixture(void **state)
{
	struct inst in;
	size_t len;
	char *body = fixture_read(F_STATUS, &len);
	const struct event *e;
	struct hook h;

	(void)state;
	inst_open(&in, INI);
	post(in.p, body, len, &h);
	expect_webhook_ok("message-status fixture", &h, 0);
	assert_int_equal(h.ev.n, 1);
	e = &h.ev.items[0];
	assert_int_equal(e->type, EVENT_STATUS);
	assert_int_equal(e->status, DELIVERY_SENT);
	assert_int_equal(e->channel, CHANNEL_WHATSAPP);
	assert_string_equal(e->provider_message_id, ID_STATUS);
	assert_string_equal(e->error_code, "");
	assert_null(e->text);
	hook_release(&h);
	free(body);
	inst_close(&in);
}

struct inbound_case {
	const char *name;
	struct edit edits[2];       /* applied in order to zenvia-webhook-message-in.json */
	int want_events;            /* 0 or 1 */
	const char *want_from;
	enum channel want_channel;
	const char *want_id;
	int want_not_text;
	const char *want_text;
	size_t want_text_len;
	/* failure: want_status != 0 */
	int want_status;
	const char *want_code;
	const char *want_field;
};

#define TXT(s) s, sizeof(s) - 1
#define DIGITS_22 "1234567890123456789012"
#define ID_OTHER "0f8e2c1d-9b7a-4c3e-8d2f-1a2b3c4d5e6f"
#define ID_128 \
	"\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""

static const struct inbound_case inbound_cases[] = {
	{ "a score from a Brazilian number", { { "message.from", "\"5511999999999\"" },
					       { "message.contents.0.text", "\"9\"" } },
	  1, "+5511999999999", CHANNEL_WHATSAPP, ID_MSG, 0, TXT("9"), 0, NULL, NULL },
	{ "from already with +", { { "message.from", "\"+5511999999999\"" }, NO_EDIT }, 1,
	  "+5511999999999", CHANNEL_WHATSAPP, ID_MSG, 0, TXT("Some message"), 0, NULL, NULL },
	{ "22 digits fit with the +", { { "message.from", "\"" DIGITS_22 "\"" }, NO_EDIT }, 1,
	  "+" DIGITS_22, CHANNEL_WHATSAPP, ID_MSG, 0, TXT("Some message"), 0, NULL, NULL },
	{ "23 digits do not", { { "message.from", "\"" DIGITS_22 "3\"" }, NO_EDIT }, 0, NULL, 0,
	  NULL, 0, NULL, 0, 400, "missing_field", "message.from" },
	{ "23 other characters fit", { { "message.from", "\"abcdefghijklmnopqrstuvw\"" }, NO_EDIT },
	  1, "abcdefghijklmnopqrstuvw", CHANNEL_WHATSAPP, ID_MSG, 0, TXT("Some message"), 0, NULL,
	  NULL },
	{ "24 other characters do not", { { "message.from", "\"abcdefghijklmnopqrstuvwx\"" },
					  NO_EDIT },
	  0, NULL, 0, NULL, 0, NULL, 0, 400, "missing_field", "message.from" },
	{ "no message.from", { { "message.from", NULL }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400,
	  "missing_field", "message.from" },
	{ "empty message.from", { { "message.from", "\"\"" }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL,
	  0, 400, "missing_field", "message.from" },
	{ "no message", { { "message", NULL }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400,
	  "missing_field", "message" },
	{ "OUT: the echo of our own send", { { "direction", "\"OUT\"" },
					     { "message.direction", "\"OUT\"" } },
	  0, NULL, 0, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "direction only inside message", { { "direction", NULL }, NO_EDIT }, 1, "FROM",
	  CHANNEL_WHATSAPP, ID_MSG, 0, TXT("Some message"), 0, NULL, NULL },
	{ "no direction at all", { { "direction", NULL }, { "message.direction", NULL } }, 0, NULL, 0,
	  NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "sms", { { "channel", "\"sms\"" }, NO_EDIT }, 1, "FROM", CHANNEL_SMS, ID_MSG, 0,
	  TXT("Some message"), 0, NULL, NULL },
	{ "a channel we do not speak", { { "channel", "\"rcs\"" }, { "message.channel", "\"rcs\"" } },
	  1, "FROM", CHANNEL_ANY, ID_MSG, 0, TXT("Some message"), 0, NULL, NULL },
	{ "another event id: the message keeps its own", { { "id", "\"" ID_OTHER "\"" }, NO_EDIT },
	  1, "FROM", CHANNEL_WHATSAPP, ID_MSG, 0, TXT("Some message"), 0, NULL, NULL },
	{ "another message.id", { { "message.id", "\"" ID_OTHER "\"" }, NO_EDIT }, 1, "FROM",
	  CHANNEL_WHATSAPP, ID_OTHER, 0, TXT("Some message"), 0, NULL, NULL },
	/* Without an id of its own a message is refused, whatever the event's id. */
	{ "no message.id", { { "message.id", NULL }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400,
	  "missing_field", "message.id" },
	{ "empty message.id", { { "message.id", "\"\"" }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0,
	  400, "missing_field", "message.id" },
	{ "message.id a space", { { "message.id", "\" \"" }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL,
	  0, 400, "missing_field", "message.id" },
	{ "message.id only white space", { { "message.id", "\"\\t\\r\\n \"" }, NO_EDIT }, 0, NULL,
	  0, NULL, 0, NULL, 0, 400, "missing_field", "message.id" },
	{ "message.id of 128 characters", { { "message.id", ID_128 }, NO_EDIT }, 0, NULL, 0, NULL,
	  0, NULL, 0, 400, "missing_field", "message.id" },
	{ "message.id not a string", { { "message.id", "42" }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL,
	  0, 400, "missing_field", "message.id" },
	{ "message.id null", { { "message.id", "null" }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0,
	  400, "missing_field", "message.id" },
	{ "an OUT echo needs no message.id", { { "direction", "\"OUT\"" }, { "message.id", NULL } },
	  0, NULL, 0, NULL, 0, NULL, 0, 0, NULL, NULL },
	{ "blank event id", { { "id", "\"  \"" }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400,
	  "missing_field", "id" },
	{ "a picture and no text", { { "message.contents.0", NULL }, NO_EDIT }, 1, "FROM",
	  CHANNEL_WHATSAPP, ID_MSG, 1, TXT("[file]"), 0, NULL, NULL },
	{ "text after a picture", { { "message.contents.0", NULL },
				    { "message.contents.1", "{\"type\":\"text\",\"text\":\"10\"}" } },
	  1, "FROM", CHANNEL_WHATSAPP, ID_MSG, 0, TXT("10"), 0, NULL, NULL },
	{ "no contents", { { "message.contents", "[]" }, NO_EDIT }, 1, "FROM", CHANNEL_WHATSAPP,
	  ID_MSG, 1, TXT("[unknown]"), 0, NULL, NULL },
	{ "UTF-8 text", { { "message.contents.0.text",
			    "\"\\u00bfQu\\u00e9? 9 \\ud83d\\udc4d\"" }, NO_EDIT },
	  1, "FROM", CHANNEL_WHATSAPP, ID_MSG, 0, TXT("\xc2\xbfQu\xc3\xa9? 9 \xf0\x9f\x91\x8d"), 0,
	  NULL, NULL },
	{ "text with a NUL keeps its length", { { "message.contents.0.text", "\"9\\u0000bien\"" },
						NO_EDIT },
	  1, "FROM", CHANNEL_WHATSAPP, ID_MSG, 0, TXT("9\0bien"), 0, NULL, NULL },
	{ "empty text", { { "message.contents.0.text", "\"\"" }, NO_EDIT }, 1, "FROM",
	  CHANNEL_WHATSAPP, ID_MSG, 0, TXT(""), 0, NULL, NULL },
	{ "no id", { { "id", NULL }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400, "missing_field",
	  "id" },
	{ "empty id", { { "id", "\"\"" }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400,
	  "missing_field", "id" },
	{ "id of 128 characters", { { "id", ID_128 }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400,
	  "missing_field", "id" },
	{ "id not a string", { { "id", "42" }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400,
	  "missing_field", "id" },
	{ "no type", { { "type", NULL }, NO_EDIT }, 0, NULL, 0, NULL, 0, NULL, 0, 400,
	  "missing_field", "type" },
	{ "type with a NUL", { { "type", "\"MESSAGE\\u0000X\"" }, NO_EDIT }, 0, NULL, 0, NULL, 0,
	  NULL, 0, 400, "missing_field", "type" },
	{ "an event type we do not use", { { "type", "\"CONVERSATION_STATUS\"" }, NO_EDIT }, 0, NULL,
	  0, NULL, 0, NULL, 0, 0, NULL, NULL },
};

static void test_inbound_table(void **state)
{
	struct inst in;

	(void)state;
	inst_open(&in, INI);
	for (size_t i = 0; i < ARRAY_SIZE(inbound_cases); i++) {
		const struct inbound_case *t = &inbound_cases[i];
		const struct event *e;
		struct hook h;
		size_t len;
		char *body = fixture_variant(F_IN, &with_message_id, t->edits, &len);

		post(in.p, body, len, &h);
		if (t->want_status) {
			expect_refused(t->name, &h, t->want_status, t->want_code, t->want_field);
		} else {
			expect_webhook_ok(t->name, &h, 0);
			EXPECT_INT(t->name, "events", h.ev.n, t->want_events);
		}
		if (t->want_events) {
			e = &h.ev.items[0];
			EXPECT_INT(t->name, "type", e->type, EVENT_INBOUND);
			EXPECT_INT(t->name, "channel", e->channel, t->want_channel);
			EXPECT_STR(t->name, "from", e->from, t->want_from);
			EXPECT_STR(t->name, "provider_message_id", e->provider_message_id, t->want_id);
			EXPECT_INT(t->name, "not_text", e->not_text, t->want_not_text);
			EXPECT_INT(t->name, "text_len", e->text_len, t->want_text_len);
			assert_non_null(e->text);
			if (memcmp(e->text, t->want_text, t->want_text_len) != 0)
				fail_msg("%s: text bytes differ", t->name);
			EXPECT_INT(t->name, "text NUL", e->text[e->text_len], '\0');
		}
		hook_release(&h);
		free(body);
	}
	inst_close(&in);
}

struct status_case {
	const char *name;
	struct edit edits[2];       /* applied in order to zenvia-webhook-message-status-sent.json */
	int want_event;             /* 1: one EVENT_STATUS; 0: none, 200 */
	enum delivery_status want_status;
	const char *want_id;
	const char *want_code;
	const char *want_message;
	int want_http;              /* non-zero: refused with this status */
	const char *want_field;
};

#define FWD "The message has been forwarded to the provider"

static const struct status_case status_cases[] = {
	{ "DELIVERED", { { "messageStatus.code", "\"DELIVERED\"" }, NO_EDIT }, 1, DELIVERY_DELIVERED,
	  ID_STATUS, "", "", 0, NULL },
	{ "READ", { { "messageStatus.code", "\"READ\"" }, NO_EDIT }, 1, DELIVERY_READ, ID_STATUS, "",
	  "", 0, NULL },
	{ "NOT_DELIVERED", { { "messageStatus.code", "\"NOT_DELIVERED\"" },
			     { "messageStatus.description", "\"Number does not exist\"" } },
	  1, DELIVERY_FAILED, ID_STATUS, "NOT_DELIVERED", "Number does not exist", 0, NULL },
	{ "REJECTED", { { "messageStatus.code", "\"REJECTED\"" }, NO_EDIT }, 1, DELIVERY_FAILED,
	  ID_STATUS, "REJECTED", FWD, 0, NULL },
	{ "REJECTED without a description", { { "messageStatus.code", "\"REJECTED\"" },
					      { "messageStatus.description", NULL } },
	  1, DELIVERY_FAILED, ID_STATUS, "REJECTED", "", 0, NULL },
	{ "a code that says nothing new", { { "messageStatus.code", "\"CLICKED\"" }, NO_EDIT }, 0, 0,
	  NULL, NULL, NULL, 0, NULL },
	{ "lower case is not Zenvia's", { { "messageStatus.code", "\"sent\"" }, NO_EDIT }, 0, 0,
	  NULL, NULL, NULL, 0, NULL },
	{ "another messageId", { { "messageId", "\"" ID_OTHER "\"" }, NO_EDIT }, 1, DELIVERY_SENT,
	  ID_OTHER, "", "", 0, NULL },
	{ "no messageId", { { "messageId", NULL }, NO_EDIT }, 0, 0, NULL, NULL, NULL, 400,
	  "messageId" },
	{ "empty messageId", { { "messageId", "\"\"" }, NO_EDIT }, 0, 0, NULL, NULL, NULL, 400,
	  "messageId" },
	{ "blank messageId", { { "messageId", "\" \\t\"" }, NO_EDIT }, 0, 0, NULL, NULL, NULL, 400,
	  "messageId" },
	{ "messageId of 128 characters", { { "messageId", ID_128 }, NO_EDIT }, 0, 0, NULL, NULL, NULL,
	  400, "messageId" },
	{ "no messageStatus.code", { { "messageStatus.code", NULL }, NO_EDIT }, 0, 0, NULL, NULL,
	  NULL, 400, "messageStatus.code" },
	{ "no messageStatus", { { "messageStatus", NULL }, NO_EDIT }, 0, 0, NULL, NULL, NULL, 400,
	  "messageStatus.code" },
	{ "no id", { { "id", NULL }, NO_EDIT }, 0, 0, NULL, NULL, NULL, 400, "id" },
};

static void test_status_table(void **state)
{
	struct inst in;

	(void)state;
	inst_open(&in, INI);
	for (size_t i = 0; i < ARRAY_SIZE(status_cases); i++) {
		const struct status_case *t = &status_cases[i];
		const struct event *e;
		struct hook h;
		size_t len;
		char *body = fixture_variant(F_STATUS, NULL, t->edits, &len);

		post(in.p, body, len, &h);
		if (t->want_http) {
			expect_refused(t->name, &h, t->want_http, "missing_field", t->want_field);
		} else {
			expect_webhook_ok(t->name, &h, 0);
			EXPECT_INT(t->name, "events", h.ev.n, t->want_event);
		}
		if (t->want_event) {
			e = &h.ev.items[0];
			EXPECT_INT(t->name, "type", e->type, EVENT_STATUS);
			EXPECT_INT(t->name, "status", e->status, t->want_status);
			EXPECT_STR(t->name, "provider_message_id", e->provider_message_id, t->want_id);
			EXPECT_STR(t->name, "error_code", e->error_code, t->want_code);
			EXPECT_STR(t->name, "error_message", e->error_message, t->want_message);
			EXPECT_INT(t->name, "channel", e->channel, CHANNEL_WHATSAPP);
			assert_null(e->text);
		}
		hook_release(&h);
		free(body);
	}
	inst_close(&in);
}

/* ---- authentication, routing and bad bodies ----------------------------------------------- */

/* What every provider does with a missing, empty or wrong token, with an unauthenticated body that
 * does not parse and with an unknown path is in test_provider_contract.c; here, what is Zenvia's
 * own: the token compares whole, and what an authenticated body must be. */

struct auth_case {
	const char *name;
	const char *path;
	const char *token;          /* NULL: no X-Gateway-Token header */
	const char *body;           /* NULL: the MESSAGE fixture */
	int want_http;
	const char *want_code;
	const char *want_field;
};

static const struct auth_case auth_cases[] = {
	{ "token cut short", "/webhooks/zenvia", "s3cr3t-hook-token-012345678", NULL, 403,
	  "invalid_token", "X-Gateway-Token" },
	{ "token with more after it", "/webhooks/zenvia", HOOK "0", NULL, 403, "invalid_token",
	  "X-Gateway-Token" },
	{ "the API token instead", "/webhooks/zenvia", TOKEN, NULL, 403, "invalid_token",
	  "X-Gateway-Token" },
	{ "body not JSON", "/webhooks/zenvia", HOOK, "{not json", 400, "invalid_json", NULL },
	{ "empty body", "/webhooks/zenvia", HOOK, "", 400, "invalid_json", NULL },
	{ "an array", "/webhooks/zenvia", HOOK, "[]", 400, "invalid_json", NULL },
	{ "a string", "/webhooks/zenvia", HOOK, "\"MESSAGE\"", 400, "invalid_json", NULL },
	{ "a member twice", "/webhooks/zenvia", HOOK,
	  "{\"id\":\"a\",\"type\":\"MESSAGE_STATUS\",\"type\":\"MESSAGE\"}", 400, "invalid_json",
	  NULL },
};

static void test_auth_routing_and_bad_bodies(void **state)
{
	struct inst in;
	size_t flen;
	char *fixture = fixture_read(F_IN, &flen);

	(void)state;
	inst_open(&in, INI);
	for (size_t i = 0; i < ARRAY_SIZE(auth_cases); i++) {
		const struct auth_case *t = &auth_cases[i];
		const char *body = t->body ? t->body : fixture;
		struct hook h;

		post_as(in.p, t->path, NULL, t->token, body, t->body ? strlen(body) : flen, &h);
		expect_refused(t->name, &h, t->want_http, t->want_code, t->want_field);
		hook_release(&h);
	}
	free(fixture);
	inst_close(&in);
}

/* A fixture cut anywhere is refused as invalid JSON, never read past its end. */
static void test_truncated_bodies(void **state)
{
	struct inst in;
	size_t len;
	char *fixture = fixture_read(F_STATUS, &len);

	(void)state;
	inst_open(&in, INI);
	for (size_t cut = 0; cut < len; cut += 7) {
		struct hook h;
		char row[48];

		snprintf(row, sizeof(row), "cut at %zu", cut);
		post(in.p, fixture, cut, &h);
		expect_refused(row, &h, 400, "invalid_json", NULL);
		hook_release(&h);
	}
	free(fixture);
	inst_close(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_table),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_build_send_sms_matches_fixture),
		cmocka_unit_test(test_build_send_table),
		cmocka_unit_test(test_build_send_errors),
		cmocka_unit_test(test_parse_send_response_table),
		cmocka_unit_test(test_webhook_message_in_fixture),
		cmocka_unit_test(test_webhook_message_status_fixture),
		cmocka_unit_test(test_inbound_table),
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_auth_routing_and_bad_bodies),
		cmocka_unit_test(test_truncated_bodies),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
