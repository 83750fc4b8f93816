/*
 * test_meta.c - providers/meta.c (WhatsApp Cloud API) as the core sees it, through provider.h:
 *
 *  - the ops table: name, capabilities, default rate, keys and their defaults;
 *  - init() refuses a section without phone_number_id, access_token or app_secret, naming the key;
 *  - build_send() makes Graph's POST /{version}/{phone_number_id}/messages request: free-form text
 *    within the session (and for thanks and re-prompts), the kind's [templates.meta] template for
 *    a survey outside it, an error naming the key when that template is missing.  Bodies are
 *    compared member by member with Meta's own request examples ($FIXTURES/meta-send-*.json);
 *  - parse_send_response() classifies Meta's answers ($FIXTURES/meta-send-response-200.json and
 *    meta-error-*.json, only `code` or `message` rewritten where a row needs another value) by
 *    error.code alone;
 *  - parse_webhook() verifies X-Hub-Signature-256 before anything else (both vectors of
 *    meta-signature-vectors.json), answers the GET handshake (meta-webhook-verify.http), and turns
 *    every message and status of Meta's documented notifications (meta-inbound-*, meta-status-*)
 *    into neutral events, walking every entry and change of one POST.
 *
 * Fixture variants rewrite exactly one quoted string or member and keep every other byte, so the
 * shape is Meta's.  Every body handed to the provider is a malloc'd copy of exactly its length, so
 * ASan catches a read past it.  $FIXTURES defaults to tests/fixtures.
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

#define PNID       "106540352242922"
#define TOKEN      "EAAGm0PX4ZCpsBAKZCz1JtZCmZCZBo2ZA4ZBZCTestToken"
#define SECRET     "TEST_APP_SECRET"      /* the secret of meta-signature-vectors.json */
#define VERIFY     "meatyhamhock"         /* the token of meta-webhook-verify.http */
#define PUBLIC_URL "https://surveys.example.com"
#define PATH       "/webhooks/meta"

/* Ids and numbers the fixtures carry. */
#define WAMID_200        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA"
#define WAMID_TEXT       "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
#define WAMID_BUTTON     "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA="
#define WAMID_LIST       "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
#define WAMID_SENT       WAMID_LIST
#define WAMID_FAILED     "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"
#define FROM_DOCS        "+16505551234"
#define TEXT_DOCS        "Does it come in another color?"
#define TITLE_131049     "This message was not delivered to maintain healthy ecosystem engagement."

/* A UTF-8 survey text: inverted question mark, accents, an emoji outside the BMP, a quote. */
#define UTF8_TEXT "\xc2\xbfQu\xc3\xa9 tal te atendimos, \"Ana\"? Responde de 0 a 10 \xf0\x9f\x91\x8d"


/* ---- fixtures and their variants --------------------------------------------------------- */


/* ---- provider instances ------------------------------------------------------------------- */

static const char *const meta_key_names[] = { "phone_number_id", "access_token", "app_secret",
					      "verify_token", "graph_version", "base_url" };

static const struct config_section *meta_section(struct hand_section *h, const char *pnid,
						  const char *token, const char *secret,
						  const char *verify, const char *version,
						  const char *base_url)
{
	const char *const values[] = { pnid, token, secret, verify, version, base_url };

	return hand_section(h, "provider.meta", meta_key_names, values, ARRAY_SIZE(values));
}

/* A Meta instance from a hand-made section; `templates` may be NULL. */
static struct provider *meta_new(const char *secret, const char *verify,
				 const struct config_section *templates)
{
	struct hand_section h;
	struct gw_err err = { 0 };
	struct provider *p = provider_create(provider_find("meta"),
					     meta_section(&h, PNID, TOKEN, secret, verify, NULL,
							  NULL),
					     templates, PUBLIC_URL, &err);

	if (!p)
		fail_msg("provider_create: %s", err.msg);
	return p;
}

static struct provider *meta_default(void)
{
	return meta_new(SECRET, VERIFY, NULL);
}

#define INI_META "[provider.meta]\nphone_number_id = " PNID "\naccess_token = " TOKEN \
		 "\napp_secret = " SECRET "\n"

static int group_setup(void **state)
{
	static const char *const keys[] = { "PHONE_NUMBER_ID", "ACCESS_TOKEN", "APP_SECRET",
					    "VERIFY_TOKEN", "GRAPH_VERSION", "BASE_URL", "RATE" };
	char name[96];

	(void)state;
	/* An override in the caller's shell must not change the configs written here. */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		snprintf(name, sizeof(name), "GATEWAY_PROVIDER_META_%s", keys[i]);
		unsetenv(name);
	}
	return 0;
}

/* ---- the ops table and init --------------------------------------------------------------- */

static void test_ops_table(void **state)
{
	const struct provider_ops *ops = provider_find("meta");
	const char *want[] = { "phone_number_id", "access_token", "app_secret", "verify_token",
			       "graph_version", "base_url" };
	size_t n = 0;

	(void)state;
	assert_non_null(ops);
	assert_string_equal(ops->name, "meta");
	assert_int_equal(ops->caps, PROVIDER_CAP_TEMPLATES | PROVIDER_CAP_WEBHOOK_GET);
	assert_string_equal(ops->default_rate, "80/s");
	assert_non_null(ops->build_send);
	assert_non_null(ops->parse_send_response);
	assert_non_null(ops->parse_webhook);
	assert_null(ops->deliver);
	for (const struct config_key *k = ops->keys; k->key; k++, n++) {
		assert_true(n < ARRAY_SIZE(want));
		assert_string_equal(k->key, want[n]);
		if (strcmp(k->key, "graph_version") == 0)
			assert_string_equal(k->def, "v23.0");
		else if (strcmp(k->key, "base_url") == 0)
			assert_string_equal(k->def, "https://graph.facebook.com");
		else
			assert_null(k->def);
	}
	assert_int_equal(n, ARRAY_SIZE(want));
}

struct init_case {
	const char *name;
	const char *pnid, *token, *secret, *verify, *version, *base_url;
	const char *want_key;       /* NULL: init succeeds; else the key the error names */
};

#define LONG_256 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct init_case init_cases[] = {
	{ "everything set", PNID, TOKEN, SECRET, VERIFY, "v24.0", "http://127.0.0.1:9", NULL },
	{ "required keys only", PNID, TOKEN, SECRET, NULL, NULL, NULL, NULL },
	{ "no phone_number_id", NULL, TOKEN, SECRET, VERIFY, NULL, NULL, "phone_number_id" },
	{ "empty phone_number_id", "", TOKEN, SECRET, VERIFY, NULL, NULL, "phone_number_id" },
	{ "no access_token", PNID, NULL, SECRET, VERIFY, NULL, NULL, "access_token" },
	{ "empty access_token", PNID, "", SECRET, VERIFY, NULL, NULL, "access_token" },
	{ "no app_secret", PNID, TOKEN, NULL, VERIFY, NULL, NULL, "app_secret" },
	{ "empty app_secret", PNID, TOKEN, "", VERIFY, NULL, NULL, "app_secret" },
	{ "nothing at all", NULL, NULL, NULL, NULL, NULL, NULL, "phone_number_id" },
	{ "app_secret too long", PNID, TOKEN, LONG_256, VERIFY, NULL, NULL, "app_secret" },
	{ "access_token with a newline", PNID, "abc\r\nX-Evil: 1", SECRET, NULL, NULL, NULL,
	  "access_token" },
	{ "graph_version without v", PNID, TOKEN, SECRET, NULL, "23.0", NULL, "graph_version" },
	{ "graph_version with a path", PNID, TOKEN, SECRET, NULL, "v23.0/x", NULL, "graph_version" },
	{ "empty graph_version", PNID, TOKEN, SECRET, NULL, "", NULL, "graph_version" },
};

static void test_init_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(init_cases); i++) {
		const struct init_case *t = &init_cases[i];
		struct hand_section h;

		expect_init(t->name, "meta",
			    meta_section(&h, t->pnid, t->token, t->secret, t->verify, t->version,
					 t->base_url),
			    t->want_key);
	}
}

/* ---- build_send --------------------------------------------------------------------------- */

static struct outbound survey_msg(const char *body)
{
	return (struct outbound){ .id = 42, .channel = CHANNEL_WHATSAPP, .purpose = PURPOSE_SURVEY,
				  .to = "+34600111222", .body = body, .kind = KIND_NPS,
				  .locale = "es", .name = "Ana", .brand = "Acme" };
}

/*
 * 1 when `got` has exactly the members `want` has, at every level, with values of the same JSON
 * type; each element of an array in `got` is held to the first element of `want`'s.  On a
 * difference, where it is goes to `why`.
 */
static int same_shape(json_t *got, json_t *want, const char *at, char *why, size_t n)
{
	const char *key;
	json_t *v;
	char sub[256];
	size_t i;

	if (json_is_boolean(got) && json_is_boolean(want))
		return 1;
	if (json_typeof(got) != json_typeof(want))
		return snprintf(why, n, "%s: JSON type differs", at), 0;
	if (json_is_object(want)) {
		json_object_foreach(want, key, v) {
			if (!json_object_get(got, key))
				return snprintf(why, n, "%s.%s: missing", at, key), 0;
		}
		json_object_foreach(got, key, v) {
			snprintf(sub, sizeof(sub), "%s.%s", at, key);
			if (!json_object_get(want, key))
				return snprintf(why, n, "%s: not in Meta's example", sub), 0;
			if (!same_shape(v, json_object_get(want, key), sub, why, n))
				return 0;
		}
	} else if (json_is_array(want) && json_array_size(want)) {
		json_array_foreach(got, i, v) {
			snprintf(sub, sizeof(sub), "%s[%zu]", at, i);
			if (!same_shape(v, json_array_get(want, 0), sub, why, n))
				return 0;
		}
	}
	return 1;
}

/* The [templates.meta] entries a build_send row configures (NULL: not set). */
struct tmpl_cfg {
	const char *nps_es, *nps_pt, *ces_en, *params;
};

struct build_case {
	const char *name;
	enum outbound_purpose purpose;
	int in_session;
	enum survey_kind kind;
	const char *locale;
	const char *customer;       /* the customer's name */
	struct tmpl_cfg tmpl;
	int no_templates;           /* 1: the provider has no [templates.meta] section at all */
	/* success: want_type "text" or "template" */
	const char *want_type;
	const char *want_template, *want_lang;
	const char *want_params[3];
	size_t want_n_params;
	/* failure: want_type NULL; the error names every one of these */
	const char *want_err[3];
};

#define TMPL_ES { "encuesta_nps, es", NULL, NULL, NULL }

static const struct build_case build_cases[] = {
	{ "survey in session", PURPOSE_SURVEY, 1, KIND_NPS, "es", "Ana", TMPL_ES, 0, "text",
	  NULL, NULL, { NULL }, 0, { NULL } },
	{ "survey in session, no templates", PURPOSE_SURVEY, 1, KIND_NPS, "es", "Ana", { NULL }, 1,
	  "text", NULL, NULL, { NULL }, 0, { NULL } },
	{ "survey outside the session", PURPOSE_SURVEY, 0, KIND_NPS, "es", "Ana", TMPL_ES, 0,
	  "template", "encuesta_nps", "es", { "Ana", "Acme" }, 2, { NULL } },
	{ "params brand, name", PURPOSE_SURVEY, 0, KIND_NPS, "es", "Ana",
	  { "encuesta_nps, es", NULL, NULL, "brand, name" }, 0, "template", "encuesta_nps", "es",
	  { "Acme", "Ana" }, 2, { NULL } },
	{ "params brand only", PURPOSE_SURVEY, 0, KIND_NPS, "es", "Ana",
	  { "encuesta_nps, es", NULL, NULL, "brand" }, 0, "template", "encuesta_nps", "es",
	  { "Acme" }, 1, { NULL } },
	{ "Portuguese template with its own language", PURPOSE_SURVEY, 0, KIND_NPS, "pt", "Ana",
	  { "encuesta_nps, es", "pesquisa_nps, pt_BR", NULL, NULL }, 0, "template", "pesquisa_nps",
	  "pt_BR", { "Ana", "Acme" }, 2, { NULL } },
	{ "only a name: the language is the locale", PURPOSE_SURVEY, 0, KIND_NPS, "pt", "Ana",
	  { NULL, "pesquisa_nps", NULL, NULL }, 0, "template", "pesquisa_nps", "pt",
	  { "Ana", "Acme" }, 2, { NULL } },
	{ "no template for the locale: the .es one", PURPOSE_SURVEY, 0, KIND_NPS, "pt", "Ana",
	  TMPL_ES, 0, "template", "encuesta_nps", "es", { "Ana", "Acme" }, 2, { NULL } },
	{ "blanks around name and language", PURPOSE_SURVEY, 0, KIND_CES, "en", "Ana",
	  { NULL, NULL, "  ces_survey ,  en_US ", NULL }, 0, "template", "ces_survey", "en_US",
	  { "Ana", "Acme" }, 2, { NULL } },
	{ "params with no word: a template without variables", PURPOSE_SURVEY, 0, KIND_NPS, "es",
	  "Ana", { "encuesta_nps, es", NULL, NULL, " , " }, 0, "template", "encuesta_nps", "es",
	  { NULL }, 0, { NULL } },
	/* Meta refuses empty parameters (code 100): a missing name is greeted generically. */
	{ "unknown customer name", PURPOSE_SURVEY, 0, KIND_NPS, "es", "", TMPL_ES, 0, "template",
	  "encuesta_nps", "es", { "cliente", "Acme" }, 2, { NULL } },
	{ "thanks outside the session, no template", PURPOSE_THANKS, 0, KIND_NPS, "es", "Ana",
	  { NULL }, 1, "text", NULL, NULL, { NULL }, 0, { NULL } },
	{ "thanks outside the session, survey template set", PURPOSE_THANKS, 0, KIND_NPS, "es",
	  "Ana", TMPL_ES, 0, "text", NULL, NULL, { NULL }, 0, { NULL } },
	{ "re-prompt outside the session", PURPOSE_REPROMPT, 0, KIND_NPS, "es", "Ana", TMPL_ES, 0,
	  "text", NULL, NULL, { NULL }, 0, { NULL } },
	{ "survey outside the session, no templates", PURPOSE_SURVEY, 0, KIND_NPS, "es", "Ana",
	  { NULL }, 1, NULL, NULL, NULL, { NULL }, 0, { "[templates.meta]", "nps.es" } },
	{ "survey outside the session, other kind's template only", PURPOSE_SURVEY, 0, KIND_CSAT,
	  "es", "Ana", TMPL_ES, 0, NULL, NULL, NULL, { NULL }, 0, { "[templates.meta]", "csat.es" } },
	{ "survey outside the session in pt, no template", PURPOSE_SURVEY, 0, KIND_NPS, "pt", "Ana",
	  { NULL }, 1, NULL, NULL, NULL, { NULL }, 0, { "[templates.meta]", "nps.pt", "nps.es" } },
	{ "template value with an empty name", PURPOSE_SURVEY, 0, KIND_NPS, "es", "Ana",
	  { " , es", NULL, NULL, NULL }, 0, NULL, NULL, NULL, { NULL }, 0,
	  { "[templates.meta]", "nps.es" } },
	{ "template value with three parts", PURPOSE_SURVEY, 0, KIND_NPS, "es", "Ana",
	  { "encuesta_nps, es, pt", NULL, NULL, NULL }, 0, NULL, NULL, NULL, { NULL }, 0,
	  { "[templates.meta]", "nps.es" } },
	{ "template name with a blank inside", PURPOSE_SURVEY, 0, KIND_NPS, "pt", "Ana",
	  { NULL, "encuesta nps", NULL, NULL }, 0, NULL, NULL, NULL, { NULL }, 0,
	  { "[templates.meta]", "nps.pt" } },
};

/* Runs one build_send row's checks on a built request. */
static void check_built(const struct build_case *t, const struct http_request *req,
			const char *text, json_t *text_fixture, json_t *tmpl_fixture)
{
	json_error_t jerr;
	json_t *body = json_loadb(req->body.data, req->body.len, 0, &jerr);
	json_t *params, *want = json_deep_copy(strcmp(t->want_type, "template") == 0 ? tmpl_fixture
									     : text_fixture);
	char why[300];
	int is_template = strcmp(t->want_type, "template") == 0;

	if (!body)
		fail_msg("%s: body is not JSON: %s", t->name, jerr.text);
	/* A template without variables goes without components (Meta's examples all have some). */
	if (is_template && !t->want_n_params)
		assert_int_equal(json_object_del(json_object_get(want, "template"), "components"), 0);
	if (!same_shape(body, want, "$", why, sizeof(why)))
		fail_msg("%s: body differs from Meta's example: %s", t->name, why);
	json_decref(want);
	EXPECT_STR(t->name, "url", buf_cstr(&req->url),
		   "https://graph.facebook.com/v23.0/" PNID "/messages");
	EXPECT_STR(t->name, "messaging_product",
		   json_string_value(json_object_get(body, "messaging_product")), "whatsapp");
	EXPECT_STR(t->name, "recipient_type",
		   json_string_value(json_object_get(body, "recipient_type")), "individual");
	EXPECT_STR(t->name, "to", json_string_value(json_object_get(body, "to")), "34600111222");
	EXPECT_STR(t->name, "type", json_string_value(json_object_get(body, "type")), t->want_type);
	if (!is_template) {
		EXPECT_STR(t->name, "text.body",
			   json_string_value(json_object_get(json_object_get(body, "text"), "body")),
			   text);
		assert_true(json_is_false(json_object_get(json_object_get(body, "text"),
							  "preview_url")));
		json_decref(body);
		return;
	}
	EXPECT_STR(t->name, "template.name",
		   json_string_value(json_object_get(json_object_get(body, "template"), "name")),
		   t->want_template);
	EXPECT_STR(t->name, "template.language.code",
		   json_string_value(json_object_get(json_object_get(json_object_get(body,
			"template"), "language"), "code")), t->want_lang);
	if (!t->want_n_params) {
		json_decref(body);
		return;
	}
	params = json_object_get(json_array_get(json_object_get(json_object_get(body, "template"),
								"components"), 0), "parameters");
	EXPECT_STR(t->name, "components[0].type",
		   json_string_value(json_object_get(json_array_get(json_object_get(
			json_object_get(body, "template"), "components"), 0), "type")), "body");
	EXPECT_INT(t->name, "components", json_array_size(json_object_get(json_object_get(body,
		   "template"), "components")), 1);
	EXPECT_INT(t->name, "parameters", json_array_size(params), t->want_n_params);
	for (size_t i = 0; i < t->want_n_params; i++) {
		EXPECT_STR(t->name, "parameter type",
			   json_string_value(json_object_get(json_array_get(params, i), "type")),
			   "text");
		EXPECT_STR(t->name, "parameter text",
			   json_string_value(json_object_get(json_array_get(params, i), "text")),
			   t->want_params[i]);
	}
	json_decref(body);
}

static void test_build_send_table(void **state)
{
	json_t *text_fixture = fixture_json("meta-send-text-request.json");
	json_t *tmpl_fixture = fixture_json("meta-send-template-request.json");

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(build_cases); i++) {
		const struct build_case *t = &build_cases[i];
		static const char *const keys[] = { "nps.es", "nps.pt", "ces.en", "params" };
		const char *const values[] = { t->tmpl.nps_es, t->tmpl.nps_pt, t->tmpl.ces_en,
					       t->tmpl.params };
		struct hand_section th;
		const struct config_section *tmpl =
			t->no_templates ? NULL : hand_section(&th, "templates.meta", keys, values, 4);
		struct provider *p = meta_new(SECRET, VERIFY, tmpl);
		struct outbound msg = survey_msg(UTF8_TEXT);
		struct http_request req;
		struct gw_err err = { 0 };
		int rc;

		msg.purpose = t->purpose;
		msg.in_session = t->in_session;
		msg.kind = t->kind;
		msg.locale = t->locale;
		msg.name = t->customer;
		provider_request_init(&req);
		rc = provider_build_send(p, &msg, &req, &err);
		if (t->want_type) {
			if (rc != 0)
				fail_msg("%s: build_send failed: %s", t->name, err.msg);
			check_built(t, &req, UTF8_TEXT, text_fixture, tmpl_fixture);
		} else {
			EXPECT_INT(t->name, "build_send", rc, -1);
			for (size_t j = 0; j < ARRAY_SIZE(t->want_err) && t->want_err[j]; j++)
				if (!strstr(err.msg, t->want_err[j]))
					fail_msg("%s: error \"%s\" does not name %s", t->name, err.msg,
						 t->want_err[j]);
		}
		provider_request_release(&req);
		provider_free(p);
	}
	json_decref(text_fixture);
	json_decref(tmpl_fixture);
}

static void test_build_send_request_line_and_headers(void **state)
{
	struct provider *p = meta_default();
	struct outbound msg = survey_msg("9");
	struct http_request req;
	struct gw_err err = { 0 };

	(void)state;
	msg.in_session = 1;
	provider_request_init(&req);
	assert_int_equal(provider_build_send(p, &msg, &req, &err), 0);
	assert_string_equal(req.method, "POST");
	assert_string_equal(buf_cstr(&req.url), "https://graph.facebook.com/v23.0/" PNID "/messages");
	assert_string_equal(header_value(&req, "Authorization"), "Bearer " TOKEN);
	assert_string_equal(header_value(&req, "Content-Type"), "application/json");
	/* Compact JSON, UTF-8 as is: what the fake and Meta parse. */
	assert_int_equal(strlen(buf_cstr(&req.body)), req.body.len);
	provider_request_release(&req);
	provider_free(p);
}

/* base_url and graph_version from a config file; a trailing slash in a hand-made section. */
static void test_build_send_url_from_config(void **state)
{
	static const struct { const char *ini_extra, *hand_base, *want; } rows[] = {
		{ "base_url = http://127.0.0.1:18099\ngraph_version = v24.0\n", NULL,
		  "http://127.0.0.1:18099/v24.0/" PNID "/messages" },
		{ "base_url = http://127.0.0.1:18099/\n", NULL,
		  "http://127.0.0.1:18099/v23.0/" PNID "/messages" },
		{ NULL, "http://127.0.0.1:18099/", "http://127.0.0.1:18099/v23.0/" PNID "/messages" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct outbound msg = survey_msg("9");
		struct http_request req;
		struct gw_err err = { 0 };
		struct hand_section h;
		struct config cfg;
		struct provider *p;
		char ini[512];

		if (rows[i].ini_extra) {
			snprintf(ini, sizeof(ini), "%s%s", INI_META, rows[i].ini_extra);
			if (config_load_text(&cfg, ini, &err) < 0)
				fail_msg("config_load: %s", err.msg);
			p = provider_create(provider_find("meta"),
					    config_section_find(&cfg, "provider.meta"), NULL,
					    PUBLIC_URL, &err);
			config_release(&cfg);       /* init() copied what it keeps */
		} else {
			p = provider_create(provider_find("meta"),
					    meta_section(&h, PNID, TOKEN, SECRET, NULL, NULL,
							 rows[i].hand_base),
					    NULL, PUBLIC_URL, &err);
		}
		if (!p)
			fail_msg("row %zu: provider_create: %s", i, err.msg);
		msg.in_session = 1;
		provider_request_init(&req);
		assert_int_equal(provider_build_send(p, &msg, &req, &err), 0);
		assert_string_equal(buf_cstr(&req.url), rows[i].want);
		provider_request_release(&req);
		provider_free(p);
	}
}

/* Messages Graph could not take: refused before any request exists. */
static void test_build_send_refuses(void **state)
{
	static const struct { const char *name, *to, *body, *want; } rows[] = {
		{ "number without +", "34600111222", "9", "E.164" },
		{ "number with letters", "+34600ABC222", "9", "E.164" },
		{ "empty number", "", "9", "E.164" },
		{ "body not UTF-8", "+34600111222", "9 \xff\xfe", "UTF-8" },
	};
	struct provider *p = meta_default();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct outbound msg = survey_msg(rows[i].body);
		struct http_request req;
		struct gw_err err = { 0 };

		msg.to = rows[i].to;
		msg.in_session = 1;
		provider_request_init(&req);
		EXPECT_INT(rows[i].name, "build_send", provider_build_send(p, &msg, &req, &err), -1);
		if (!strstr(err.msg, rows[i].want))
			fail_msg("%s: error \"%s\" does not say %s", rows[i].name, err.msg,
				 rows[i].want);
		provider_request_release(&req);
	}
	provider_free(p);
}

/* ---- parse_send_response ------------------------------------------------------------------ */

struct send_case {
	const char *name;
	long status;
	const char *fixture;        /* NULL: `raw` is the body */
	const char *member;         /* with a fixture: rewrite this member ... */
	const char *value;          /* ... to this JSON literal */
	const char *raw;            /* without a fixture: the body (NULL: none at all) */
	enum send_result want;
	const char *want_id;
	const char *want_code;
	const char *want_message;   /* NULL: any non-empty message */
	unsigned want_flags;
	int want_retry_min;         /* retry_after_s at least this (and 0 when this is 0) */
};

#define F200  "meta-send-response-200.json"
#define F100  "meta-error-100-invalid-param.json"
#define F190  "meta-error-190-invalid-token.json"
#define F4    "meta-error-4-rate-limit.json"
#define M100  "Invalid template name or parameters"
#define M190  "Invalid OAuth access token"
#define M4    "Rate limit exceeded"

static const struct send_case send_cases[] = {
	{ "200 from Meta's example", 200, F200, NULL, NULL, NULL, SEND_ACCEPTED, WAMID_200, "", "",
	  0, 0 },
	{ "200 with another wamid", 200, F200, "id", "\"wamid.other\"", NULL, SEND_ACCEPTED,
	  "wamid.other", "", "", 0, 0 },
	{ "100 invalid parameter", 400, F100, NULL, NULL, NULL, SEND_PERMANENT, "", "100", M100,
	  SEND_CONFIG_ERROR, 0 },
	{ "190 invalid token", 401, F190, NULL, NULL, NULL, SEND_PERMANENT, "", "190", M190,
	  SEND_AUTH_FAILED, 0 },
	{ "4 rate limit", 429, F4, NULL, NULL, NULL, SEND_TRANSIENT, "", "4", M4, 0, 0 },
	{ "4 rate limit answered 400", 400, F4, NULL, NULL, NULL, SEND_TRANSIENT, "", "4", M4, 0, 0 },
	{ "131047 re-engagement", 400, F100, "code", "131047", NULL, SEND_PERMANENT, "", "131047",
	  M100, SEND_NEEDS_TEMPLATE, 0 },
	{ "131026 undeliverable", 400, F100, "code", "131026", NULL, SEND_PERMANENT, "", "131026",
	  M100, 0, 0 },
	{ "130429 throughput", 429, F4, "code", "130429", NULL, SEND_TRANSIENT, "", "130429", M4, 0,
	  0 },
	{ "130429 answered 400", 400, F4, "code", "130429", NULL, SEND_TRANSIENT, "", "130429", M4,
	  0, 0 },
	{ "80007 account rate limit", 400, F4, "code", "80007", NULL, SEND_TRANSIENT, "", "80007",
	  M4, 0, 0 },
	{ "131056 pair rate limit", 400, F4, "code", "131056", NULL, SEND_TRANSIENT, "", "131056",
	  M4, 0, 6 },
	{ "131049 ecosystem engagement", 400, F100, "code", "131049", NULL, SEND_PERMANENT, "",
	  "131049", M100, 0, 0 },
	{ "131050 stopped marketing messages", 400, F100, "code", "131050", NULL, SEND_PERMANENT,
	  "", "131050", M100, SEND_OPTED_OUT, 0 },
	{ "132000 template parameter count", 400, F100, "code", "132000", NULL, SEND_PERMANENT, "",
	  "132000", M100, SEND_CONFIG_ERROR, 0 },
	{ "132001 template does not exist", 404, F100, "code", "132001", NULL, SEND_PERMANENT, "",
	  "132001", M100, SEND_CONFIG_ERROR, 0 },
	{ "190 answered 500: the code decides", 500, F190, NULL, NULL, NULL, SEND_PERMANENT, "",
	  "190", M190, SEND_AUTH_FAILED, 0 },
	{ "100 answered 503: the code decides", 503, F100, NULL, NULL, NULL, SEND_PERMANENT, "",
	  "100", M100, SEND_CONFIG_ERROR, 0 },
	{ "the text never decides: 100 saying re-engagement", 400, F100, "message",
	  "\"(#131047) Re-engagement message\"", NULL, SEND_PERMANENT, "", "100",
	  "(#131047) Re-engagement message", SEND_CONFIG_ERROR, 0 },
	{ "the text never decides: 4 saying invalid token", 429, F4, "message",
	  "\"" M190 "\"", NULL, SEND_TRANSIENT, "", "4", M190, 0, 0 },
	{ "unknown code, 400", 400, F100, "code", "131999", NULL, SEND_PERMANENT, "", "131999", M100,
	  0, 0 },
	{ "unknown code, 500", 500, F100, "code", "131000", NULL, SEND_TRANSIENT, "", "131000", M100,
	  0, 0 },
	{ "400 JSON without error", 400, NULL, NULL, NULL, "{\"messages\":[]}", SEND_PERMANENT, "",
	  "http_400", NULL, 0, 0 },
};

static void test_parse_send_response_table(void **state)
{
	struct provider *p = meta_default();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(send_cases); i++) {
		const struct send_case *t = &send_cases[i];
		struct send_outcome out;
		char *text = NULL, *copy = NULL;
		size_t len = 0;
		enum send_result got;

		if (t->fixture) {
			text = fixture_read(t->fixture, &len);
			if (t->member) {
				char *v = json_rewrite(text, t->member, t->value);

				free(text);
				text = v;
				len = strlen(v);
			}
		} else if (t->raw) {
			text = strdup(t->raw);
			assert_non_null(text);
			len = strlen(text);
		}
		copy = exact_copy(text, len);
		memset(&out, 'x', sizeof(out));     /* the wrapper clears what the provider leaves */
		got = provider_parse_send_response(p, t->status, copy, len, &out);
		EXPECT_INT(t->name, "result", got, t->want);
		EXPECT_STR(t->name, "provider_message_id", out.provider_message_id, t->want_id);
		EXPECT_STR(t->name, "error_code", out.error_code, t->want_code);
		if (t->want == SEND_ACCEPTED)
			EXPECT_STR(t->name, "error_message", out.error_message, "");
		else if (t->want_message)
			EXPECT_STR(t->name, "error_message", out.error_message, t->want_message);
		else if (!out.error_message[0])
			fail_msg("%s: error_message is empty, want a human message", t->name);
		EXPECT_INT(t->name, "flags", out.flags, t->want_flags);
		if (t->want_retry_min && out.retry_after_s < t->want_retry_min)
			fail_msg("%s: retry_after_s is %d, want at least %d", t->name,
				 out.retry_after_s, t->want_retry_min);
		if (!t->want_retry_min)
			EXPECT_INT(t->name, "retry_after_s", out.retry_after_s, 0);
		free(copy);
		free(text);
	}
	provider_free(p);
}

/* ---- parse_webhook: the request view ------------------------------------------------------ */

/* A POST with X-Hub-Signature-256 `signature` (NULL: absent). */
static void post(struct provider *p, const char *path, const char *signature, const char *body,
		 size_t len, struct hook *h)
{
	webhook_post(p, path, "application/json", "X-Hub-Signature-256", signature, body, len, h);
}

/* A POST to /webhooks/meta signed with the test's app secret. */
static void post_signed(struct provider *p, const char *body, size_t len, struct hook *h)
{
	char sig[WEBHOOK_SIG_MAX];

	webhook_sign_meta(SECRET, NULL, body, len, sig);
	post(p, PATH, sig, body, len, h);
}

/* ---- parse_webhook: messages and statuses -------------------------------------------------- */

#define FI_TEXT   "meta-inbound-text.json"
#define FI_BUTTON "meta-inbound-interactive-button-reply.json"
#define FI_LIST   "meta-inbound-interactive-list-reply.json"
#define FI_TBTN   "meta-inbound-template-button.json"
#define FI_DASH   "meta-inbound-text-dashboard-test.compact.json"
#define FS_SENT   "meta-status-sent.json"
#define FS_V24    "meta-status-v24-minimal.json"
#define FS_FAILED "meta-status-failed-131049.json"

struct hook_case {
	const char *name;
	const char *fixture;
	const char *old1, *new1;    /* a quoted string or fragment to replace (NULL: none) */
	const char *old2, *new2;
	/* success: want_http 0 */
	size_t want_n;
	enum event_type want_type;
	const char *want_from;
	const char *want_id;
	const char *want_text;      /* EVENT_INBOUND */
	size_t want_text_len;
	int want_not_text;
	enum delivery_status want_status;   /* EVENT_STATUS */
	const char *want_code, *want_message;
	/* failure */
	int want_http;
	const char *want_field;
};

#define TXT(s) s, sizeof(s) - 1
#define IN(fix, o1, n1, from, id, text, not_text) \
	fix, o1, n1, NULL, NULL, 1, EVENT_INBOUND, from, id, TXT(text), not_text, 0, "", "", 0, NULL
#define IN2(fix, o1, n1, o2, n2, from, id, text) \
	fix, o1, n1, o2, n2, 1, EVENT_INBOUND, from, id, TXT(text), 0, 0, "", "", 0, NULL
#define ST(fix, o1, n1, o2, n2, id, st, code, msg) \
	fix, o1, n1, o2, n2, 1, EVENT_STATUS, "", id, NULL, 0, 0, st, code, msg, 0, NULL
#define NONE(fix, o1, n1) \
	fix, o1, n1, NULL, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, 0, NULL
#define BAD(fix, o1, n1, field) \
	fix, o1, n1, NULL, NULL, 0, 0, NULL, NULL, NULL, 0, 0, 0, NULL, NULL, 400, field

#define BTN_ID "\"cancel-button\""

static const struct hook_case hook_cases[] = {
	/* Meta's documented payloads, as published. */
	{ "text (Meta docs)", IN(FI_TEXT, NULL, NULL, FROM_DOCS, WAMID_TEXT, TEXT_DOCS, 0) },
	{ "interactive button reply (Meta docs)",
	  IN(FI_BUTTON, NULL, NULL, FROM_DOCS, WAMID_BUTTON, "Cancel", 0) },
	{ "interactive list reply (Meta docs)",
	  IN(FI_LIST, NULL, NULL, FROM_DOCS, WAMID_LIST, "Priority Mail Express", 0) },
	{ "template quick reply (Meta docs)",
	  IN(FI_TBTN, NULL, NULL, FROM_DOCS, WAMID_LIST, "Unsubscribe", 0) },
	/* The dashboard's Test button sends a made-up phone_number_id: about another number. */
	{ "dashboard test (captured): another number, no event",
	  NONE(FI_DASH, NULL, NULL) },
	{ "dashboard test addressed to this number",
	  IN(FI_DASH, "\"123456123\"", "\"" PNID "\"", "+16315551181", "ABGGFlA5Fpa",
	     "this is a text message", 0) },
	{ "status for another number of the same app: no event",
	  NONE(FS_SENT, "\"" PNID "\"", "\"999999999999\"") },
	{ "status sent (Meta docs)",
	  ST(FS_SENT, NULL, NULL, NULL, NULL, WAMID_SENT, DELIVERY_SENT, "", "") },
	{ "status, v24 example (Meta docs)",
	  ST(FS_V24, NULL, NULL, NULL, NULL, WAMID_SENT, DELIVERY_SENT, "", "") },
	{ "status failed 131049 (Meta docs)",
	  ST(FS_FAILED, NULL, NULL, NULL, NULL, WAMID_FAILED, DELIVERY_FAILED, "131049",
	     TITLE_131049) },
	/* Texts. */
	{ "a score", IN(FI_TEXT, "\"" TEXT_DOCS "\"", "\"9\"", FROM_DOCS, WAMID_TEXT, "9", 0) },
	{ "UTF-8 text", IN(FI_TEXT, "\"" TEXT_DOCS "\"",
			   "\"\xc2\xbf" "9? muy bien \xf0\x9f\x91\x8d\"", FROM_DOCS, WAMID_TEXT,
			   "\xc2\xbf" "9? muy bien \xf0\x9f\x91\x8d", 0) },
	{ "escaped UTF-16 pair", IN(FI_TEXT, "\"" TEXT_DOCS "\"", "\"9 \\ud83d\\udc4d\"", FROM_DOCS,
				    WAMID_TEXT, "9 \xf0\x9f\x91\x8d", 0) },
	{ "text with \\u0000 keeps its length",
	  IN(FI_TEXT, "\"" TEXT_DOCS "\"", "\"9\\u0000bien\"", FROM_DOCS, WAMID_TEXT, "9\0bien",
	     0) },
	{ "empty text", IN(FI_TEXT, "\"" TEXT_DOCS "\"", "\"\"", FROM_DOCS, WAMID_TEXT, "", 0) },
	/* Interactive replies: a score carried in the id wins over the title. */
	{ "button id 9", IN(FI_BUTTON, BTN_ID, "\"9\"", FROM_DOCS, WAMID_BUTTON, "9", 0) },
	{ "button id 0", IN(FI_BUTTON, BTN_ID, "\"0\"", FROM_DOCS, WAMID_BUTTON, "0", 0) },
	{ "button id 10", IN(FI_BUTTON, BTN_ID, "\"10\"", FROM_DOCS, WAMID_BUTTON, "10", 0) },
	{ "button id 07", IN(FI_BUTTON, BTN_ID, "\"07\"", FROM_DOCS, WAMID_BUTTON, "7", 0) },
	{ "button id nps_9", IN(FI_BUTTON, BTN_ID, "\"nps_9\"", FROM_DOCS, WAMID_BUTTON, "9", 0) },
	{ "button id nps-10", IN(FI_BUTTON, BTN_ID, "\"nps-10\"", FROM_DOCS, WAMID_BUTTON, "10",
				  0) },
	{ "button id csat:3", IN(FI_BUTTON, BTN_ID, "\"csat:3\"", FROM_DOCS, WAMID_BUTTON, "3", 0) },
	{ "button id 11: the title", IN(FI_BUTTON, BTN_ID, "\"11\"", FROM_DOCS, WAMID_BUTTON,
					"Cancel", 0) },
	{ "button id 100: the title", IN(FI_BUTTON, BTN_ID, "\"100\"", FROM_DOCS, WAMID_BUTTON,
					 "Cancel", 0) },
	{ "button id nps_11: the title", IN(FI_BUTTON, BTN_ID, "\"nps_11\"", FROM_DOCS,
					    WAMID_BUTTON, "Cancel", 0) },
	{ "button id nps9 (no separator): the title",
	  IN(FI_BUTTON, BTN_ID, "\"nps9\"", FROM_DOCS, WAMID_BUTTON, "Cancel", 0) },
	{ "button id nps_9a: the title", IN(FI_BUTTON, BTN_ID, "\"nps_9a\"", FROM_DOCS,
					    WAMID_BUTTON, "Cancel", 0) },
	{ "button id nps_: the title", IN(FI_BUTTON, BTN_ID, "\"nps_\"", FROM_DOCS, WAMID_BUTTON,
					  "Cancel", 0) },
	{ "button id 9.5: the title", IN(FI_BUTTON, BTN_ID, "\"9.5\"", FROM_DOCS, WAMID_BUTTON,
					 "Cancel", 0) },
	{ "button title 9, id without a score",
	  IN(FI_BUTTON, "\"Cancel\"", "\"9\"", FROM_DOCS, WAMID_BUTTON, "9", 0) },
	{ "list row id nps_3", IN(FI_LIST, "\"priority_express\"", "\"nps_3\"", FROM_DOCS,
				  WAMID_LIST, "3", 0) },
	{ "list row id 10", IN(FI_LIST, "\"priority_express\"", "\"10\"", FROM_DOCS, WAMID_LIST,
			       "10", 0) },
	{ "interactive of another kind: not text",
	  IN(FI_BUTTON, "\"type\": \"button_reply\"", "\"type\": \"nfm_reply\"", FROM_DOCS,
	     WAMID_BUTTON, "[interactive]", 1) },
	/* Template quick replies: the payload, else the label. */
	{ "quick reply payload", IN2(FI_TBTN, "\"payload\": \"Unsubscribe\"", "\"payload\": \"9\"",
				     NULL, NULL, FROM_DOCS, WAMID_LIST, "9") },
	{ "quick reply with an empty payload: the label",
	  IN2(FI_TBTN, "\"payload\": \"Unsubscribe\"", "\"payload\": \"\"",
	      "\"text\": \"Unsubscribe\"", "\"text\": \"Darse de baja\"", FROM_DOCS, WAMID_LIST,
	      "Darse de baja") },
	/* Anything else is kept, never answered. */
	{ "image", IN(FI_TEXT, "\"type\": \"text\"", "\"type\": \"image\"", FROM_DOCS, WAMID_TEXT,
		      "[image]", 1) },
	{ "audio", IN(FI_TEXT, "\"type\": \"text\"", "\"type\": \"audio\"", FROM_DOCS, WAMID_TEXT,
		      "[audio]", 1) },
	{ "location", IN(FI_TEXT, "\"type\": \"text\"", "\"type\": \"location\"", FROM_DOCS,
			 WAMID_TEXT, "[location]", 1) },
	{ "reaction", IN(FI_TEXT, "\"type\": \"text\"", "\"type\": \"reaction\"", FROM_DOCS,
			 WAMID_TEXT, "[reaction]", 1) },
	{ "unsupported", IN(FI_TEXT, "\"type\": \"text\"", "\"type\": \"unsupported\"",
			    FROM_DOCS, WAMID_TEXT, "[unsupported]", 1) },
	/* Statuses. */
	{ "delivered", ST(FS_SENT, "\"status\": \"sent\"", "\"status\": \"delivered\"", NULL, NULL,
			  WAMID_SENT, DELIVERY_DELIVERED, "", "") },
	{ "read", ST(FS_V24, "\"status\": \"sent\"", "\"status\": \"read\"", NULL, NULL, WAMID_SENT,
		     DELIVERY_READ, "", "") },
	{ "failed without a title: the message",
	  ST(FS_FAILED, "\"title\"", "\"no_title\"", "\"message\": \"This message",
	     "\"message\": \"Fallback: This message", WAMID_FAILED, DELIVERY_FAILED, "131049",
	     "Fallback: " TITLE_131049) },
	{ "deleted says nothing we record",
	  NONE(FS_SENT, "\"status\": \"sent\"", "\"status\": \"deleted\"") },
	{ "no messages or statuses (another field)", NONE(FS_SENT, "\"statuses\"", "\"other\"") },
	/* Malformed: refused, nothing kept. */
	{ "message without from", BAD(FI_TEXT, "\"from\"", "\"sender\"", "messages[].from") },
	{ "message from a non-number", BAD(FI_TEXT, "\"from\": \"16505551234\"",
					  "\"from\": \"abc\"", "messages[].from") },
	{ "message from +digits", BAD(FI_TEXT, "\"from\": \"16505551234\"",
				      "\"from\": \"+16505551234\"", "messages[].from") },
	{ "message without id", BAD(FI_TEXT, "\"id\": \"wamid", "\"xid\": \"wamid",
				    "messages[].id") },
	{ "message with an empty id", BAD(FI_TEXT, "\"id\": \"wamid", "\"id\": \"\", \"xid\": \"wamid",
					  "messages[].id") },
	{ "message with a blank id", BAD(FI_TEXT, "\"id\": \"wamid",
					 "\"id\": \" \\t \", \"xid\": \"wamid", "messages[].id") },
	{ "status without id", BAD(FS_V24, "\"id\": \"wamid", "\"xid\": \"wamid",
				   "statuses[].id") },
	{ "status with a blank id", BAD(FS_V24, "\"id\": \"wamid", "\"id\": \"\\n\", \"xid\": \"wamid",
					"statuses[].id") },
	{ "no entry array", BAD(FI_DASH, "\"entry\":[", "\"entries\":[", "entry") },
};

static void check_event(const struct hook_case *t, const struct event *e)
{
	EXPECT_INT(t->name, "type", e->type, t->want_type);
	EXPECT_INT(t->name, "channel", e->channel, CHANNEL_WHATSAPP);
	EXPECT_STR(t->name, "provider_message_id", e->provider_message_id, t->want_id);
	EXPECT_STR(t->name, "from", e->from, t->want_from);
	if (t->want_type == EVENT_STATUS) {
		EXPECT_INT(t->name, "status", e->status, t->want_status);
		EXPECT_STR(t->name, "error_code", e->error_code, t->want_code);
		EXPECT_STR(t->name, "error_message", e->error_message, t->want_message);
		assert_null(e->text);
		return;
	}
	EXPECT_INT(t->name, "not_text", e->not_text, t->want_not_text);
	EXPECT_INT(t->name, "text_len", e->text_len, t->want_text_len);
	assert_non_null(e->text);
	if (memcmp(e->text, t->want_text, t->want_text_len) != 0)
		fail_msg("%s: text is \"%s\", want \"%s\"", t->name, e->text, t->want_text);
	EXPECT_INT(t->name, "text NUL", e->text[e->text_len], '\0');
}

static void test_webhook_table(void **state)
{
	struct provider *p = meta_default();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hook_cases); i++) {
		const struct hook_case *t = &hook_cases[i];
		struct hook h;
		size_t len;
		char *body = fixture_read(t->fixture, &len), *v;

		if (t->old1) {
			v = text_replace(body, t->old1, t->new1);
			free(body);
			body = v;
		}
		if (t->old2) {
			v = text_replace(body, t->old2, t->new2);
			free(body);
			body = v;
		}
		if (t->old1)
			len = strlen(body);
		post_signed(p, body, len, &h);
		if (t->want_http) {
			expect_refused(t->name, &h, t->want_http, "missing_field", t->want_field);
		} else {
			expect_webhook_ok(t->name, &h, 0);
			EXPECT_INT(t->name, "events", h.ev.n, t->want_n);
			if (t->want_n)
				check_event(t, &h.ev.items[0]);
		}
		hook_release(&h);
		free(body);
	}
	provider_free(p);
}

/* The first change of a fixture's first entry (a new reference). */
static json_t *first_change(const char *fixture)
{
	json_t *root = fixture_json(fixture);
	json_t *change = json_array_get(json_object_get(json_array_get(json_object_get(root,
		"entry"), 0), "changes"), 0);

	assert_non_null(change);
	json_incref(change);
	json_decref(root);
	return change;
}

/*
 * One POST with two entries of two changes each, assembled from Meta's own changes: every
 * message and status of every change is an event, in order.
 */
static void test_webhook_walks_every_entry_and_change(void **state)
{
	static const char *const fixtures[2][2] = { { FI_TEXT, FS_SENT }, { FI_LIST, FS_FAILED } };
	struct provider *p = meta_default();
	json_t *root = json_pack("{s:s, s:[]}", "object", "whatsapp_business_account", "entry");
	char *body;
	struct hook h;

	(void)state;
	assert_non_null(root);
	for (size_t i = 0; i < 2; i++) {
		json_t *entry = json_pack("{s:s, s:[]}", "id", i ? "102290129340399" :
					  "102290129340398", "changes");

		assert_non_null(entry);
		for (size_t j = 0; j < 2; j++)
			assert_int_equal(json_array_append_new(json_object_get(entry, "changes"),
							       first_change(fixtures[i][j])), 0);
		assert_int_equal(json_array_append_new(json_object_get(root, "entry"), entry), 0);
	}
	body = json_dumps(root, JSON_INDENT(2));
	assert_non_null(body);
	post_signed(p, body, strlen(body), &h);
	expect_webhook_ok("two entries, two changes each", &h, 0);
	assert_int_equal(h.ev.n, 4);
	assert_int_equal(h.ev.items[0].type, EVENT_INBOUND);
	assert_string_equal(h.ev.items[0].provider_message_id, WAMID_TEXT);
	assert_string_equal(h.ev.items[0].text, TEXT_DOCS);
	assert_int_equal(h.ev.items[1].type, EVENT_STATUS);
	assert_int_equal(h.ev.items[1].status, DELIVERY_SENT);
	assert_string_equal(h.ev.items[1].provider_message_id, WAMID_SENT);
	assert_int_equal(h.ev.items[2].type, EVENT_INBOUND);
	assert_string_equal(h.ev.items[2].provider_message_id, WAMID_LIST);
	assert_string_equal(h.ev.items[2].text, "Priority Mail Express");
	assert_int_equal(h.ev.items[3].type, EVENT_STATUS);
	assert_int_equal(h.ev.items[3].status, DELIVERY_FAILED);
	assert_string_equal(h.ev.items[3].error_code, "131049");
	hook_release(&h);
	free(body);
	json_decref(root);
	provider_free(p);
}

/* The messages[] of the first change of `root` (borrowed). */
static json_t *messages_of(json_t *root)
{
	json_t *messages = json_object_get(json_object_get(json_array_get(json_object_get(
		json_array_get(json_object_get(root, "entry"), 0), "changes"), 0), "value"),
		"messages");

	assert_true(json_is_array(messages));
	return messages;
}

/*
 * Several messages in one change, some refused for what they lack (a sender, an id): the others
 * are kept and the notification is accepted, reply.skipped counting the refused ones and
 * reply.err saying what the first lacked.  Meta would answer a refusal by sending the whole
 * notification again, which could never mend the bad entries.
 */
static void test_webhook_keeps_the_good_entries(void **state)
{
	struct provider *p = meta_default();
	json_t *root = fixture_json(FI_TEXT), *messages = messages_of(root);
	json_t *second = json_deep_copy(json_array_get(messages, 0));
	json_t *third = json_deep_copy(second), *fourth = json_deep_copy(second);
	char *body;
	struct hook h;

	(void)state;
	assert_int_equal(json_object_set_new(second, "id", json_string("wamid.second")), 0);
	assert_int_equal(json_array_append_new(messages, second), 0);
	body = json_dumps(root, JSON_COMPACT);
	post_signed(p, body, strlen(body), &h);
	expect_webhook_ok("two messages in one change", &h, 0);
	assert_int_equal(h.ev.n, 2);
	assert_int_equal(h.reply.skipped, 0);
	assert_string_equal(h.ev.items[1].provider_message_id, "wamid.second");
	hook_release(&h);
	free(body);

	assert_int_equal(json_object_del(third, "from"), 0);
	assert_int_equal(json_array_append_new(messages, third), 0);
	assert_int_equal(json_object_set_new(fourth, "id", json_string(" ")), 0);
	assert_int_equal(json_array_append_new(messages, fourth), 0);
	body = json_dumps(root, JSON_COMPACT);
	post_signed(p, body, strlen(body), &h);
	expect_webhook_ok("a third message without from, a fourth with a blank id", &h, 0);
	assert_int_equal(h.ev.n, 2);
	assert_string_equal(h.ev.items[0].provider_message_id, WAMID_TEXT);
	assert_string_equal(h.ev.items[1].provider_message_id, "wamid.second");
	assert_int_equal(h.reply.skipped, 2);
	assert_string_equal(h.reply.err.field, "messages[].from");
	hook_release(&h);
	free(body);
	json_decref(root);
	provider_free(p);
}

/* A message without an id beside a status in another entry: the status is kept.  Only when
 * every entry is refused is the notification refused, naming the first entry's field. */
static void test_webhook_refused_only_when_nothing_is_kept(void **state)
{
	struct provider *p = meta_default();
	json_t *root = json_pack("{s:s, s:[]}", "object", "whatsapp_business_account", "entry");
	json_t *bad = first_change(FI_TEXT), *entry, *extra;
	json_t *bad_msg = json_array_get(json_object_get(json_object_get(bad, "value"), "messages"),
					 0);
	char *body;
	struct hook h;

	(void)state;
	assert_non_null(root);
	assert_int_equal(json_object_set_new(bad_msg, "id", json_string("")), 0);
	entry = json_pack("{s:s, s:[O]}", "id", "102290129340398", "changes", bad);
	assert_int_equal(json_array_append_new(json_object_get(root, "entry"), entry), 0);
	body = json_dumps(root, JSON_COMPACT);
	post_signed(p, body, strlen(body), &h);
	expect_refused("one message, its id empty", &h, 400, "missing_field", "messages[].id");
	hook_release(&h);
	free(body);

	extra = json_pack("{s:s, s:[o]}", "id", "102290129340399", "changes",
			  first_change(FS_SENT));
	assert_int_equal(json_array_append_new(json_object_get(root, "entry"), extra), 0);
	body = json_dumps(root, JSON_COMPACT);
	post_signed(p, body, strlen(body), &h);
	expect_webhook_ok("that message and a status in another entry", &h, 0);
	assert_int_equal(h.ev.n, 1);
	assert_int_equal(h.ev.items[0].type, EVENT_STATUS);
	assert_string_equal(h.ev.items[0].provider_message_id, WAMID_SENT);
	assert_int_equal(h.reply.skipped, 1);
	assert_string_equal(h.reply.err.field, "messages[].id");
	hook_release(&h);
	free(body);
	json_decref(bad);
	json_decref(root);
	provider_free(p);
}

/* ---- parse_webhook: signatures and routing ------------------------------------------------ */

/* Both vectors of meta-signature-vectors.json, through parse_webhook: the body and its header
 * pass the signature check; one flipped byte of the body or of the header does not. */
static void test_signature_vectors(void **state)
{
	json_t *root = fixture_json("meta-signature-vectors.json");
	json_t *vectors = json_object_get(root, "vectors"), *v;
	size_t i;

	(void)state;
	assert_int_equal(json_array_size(vectors), 2);
	json_array_foreach(vectors, i, v) {
		const char *secret = json_string_value(json_object_get(v, "app_secret"));
		const char *hex = json_string_value(json_object_get(v, "expected_hex"));
		const char *file = json_string_value(json_object_get(v, "body_file"));
		struct provider *p = meta_new(secret, NULL, NULL);
		char header[80], computed[WEBHOOK_SIG_MAX], *body;
		size_t len;
		struct hook h;

		assert_non_null(secret);
		assert_non_null(hex);
		if (file) {
			body = fixture_read(file, &len);
		} else {
			body = strdup(json_string_value(json_object_get(v, "body")));
			assert_non_null(body);
			len = strlen(body);
		}
		snprintf(header, sizeof(header), "sha256=%s", hex);
		if (json_is_string(json_object_get(v, "header")))
			assert_string_equal(json_string_value(json_object_get(v, "header")), header);
		webhook_sign_meta(secret, NULL, body, len, computed);
		assert_string_equal(computed, header);

		post(p, PATH, header, body, len, &h);
		if (file) {
			/* Signed right; its made-up phone_number_id is not this number's. */
			expect_webhook_ok("vector over the dashboard payload", &h, 0);
			assert_int_equal(h.ev.n, 0);
		} else {
			/* "test" is signed right and is not JSON: past the signature, refused. */
			expect_refused("vector over \"test\"", &h, 400, "invalid_json", NULL);
		}
		hook_release(&h);

		body[len / 2] ^= 0x01;
		post(p, PATH, header, body, len, &h);
		expect_refused("vector, one body byte flipped", &h, 403, "invalid_signature",
			       "X-Hub-Signature-256");
		hook_release(&h);
		body[len / 2] ^= 0x01;

		header[20] = header[20] == 'a' ? 'b' : 'a';
		post(p, PATH, header, body, len, &h);
		expect_refused("vector, one header byte changed", &h, 403, "invalid_signature",
			       "X-Hub-Signature-256");
		hook_release(&h);
		free(body);
		provider_free(p);
	}
	json_decref(root);
}

/* What every provider does with a missing, empty, wrong or stale signature, with an unsigned body
 * that does not parse and with an unknown path is in test_provider_contract.c; here, what is
 * Meta's own: the exact form of X-Hub-Signature-256 and what a signed body must be. */
enum sig_kind {
	SIG_NO_PREFIX,      /* the hex alone */
	SIG_UPPER_HEX,      /* "sha256=" + upper-case hex */
	SIG_SHA1_PREFIX,    /* "sha1=" + the right hex */
	SIG_TRUNCATED,      /* the right signature less its last character */
	SIG_TRAILING,       /* the right signature and a space */
	SIG_NONE,           /* no X-Hub-Signature-256 */
	SIG_GOOD,
};

struct auth_case {
	const char *name;
	const char *method, *path;
	const char *raw;            /* the body (NULL: meta-inbound-text.json) */
	enum sig_kind sig;
	int want_http;
	const char *want_code;
	const char *want_field;
};

static const struct auth_case auth_cases[] = {
	{ "hex without sha256=", "POST", PATH, NULL, SIG_NO_PREFIX, 403, "invalid_signature",
	  "X-Hub-Signature-256" },
	{ "upper-case hex", "POST", PATH, NULL, SIG_UPPER_HEX, 403, "invalid_signature",
	  "X-Hub-Signature-256" },
	{ "sha1= prefix", "POST", PATH, NULL, SIG_SHA1_PREFIX, 403, "invalid_signature",
	  "X-Hub-Signature-256" },
	{ "truncated signature", "POST", PATH, NULL, SIG_TRUNCATED, 403, "invalid_signature",
	  "X-Hub-Signature-256" },
	{ "signature with a trailing blank", "POST", PATH, NULL, SIG_TRAILING, 403,
	  "invalid_signature", "X-Hub-Signature-256" },
	{ "signed, not JSON", "POST", PATH, "{not json", SIG_GOOD, 400, "invalid_json", NULL },
	{ "signed, a JSON array", "POST", PATH, "[]", SIG_GOOD, 400, "invalid_json", NULL },
	{ "signed, empty body", "POST", PATH, "", SIG_GOOD, 400, "invalid_json", NULL },
	{ "GET on an unknown path", "GET", PATH "/verify", NULL, SIG_NONE, 404, "not_found", NULL },
	{ "another provider's path", "POST", "/webhooks/metax", NULL, SIG_GOOD, 404, "not_found",
	  NULL },
};

static void test_auth_and_routing_table(void **state)
{
	struct provider *p = meta_default();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(auth_cases); i++) {
		const struct auth_case *t = &auth_cases[i];
		struct fake_req ctx = { .n_h = 0 };
		char sig[WEBHOOK_SIG_MAX + 8], good[WEBHOOK_SIG_MAX];
		const char *header = sig;
		struct hook h;
		size_t len;
		char *body;

		if (t->raw) {
			body = strdup(t->raw);
			assert_non_null(body);
			len = strlen(body);
		} else {
			body = fixture_read(FI_TEXT, &len);
		}
		webhook_sign_meta(SECRET, NULL, body, len, good);
		switch (t->sig) {
		case SIG_NO_PREFIX:
			snprintf(sig, sizeof(sig), "%s", good + 7);
			break;
		case SIG_UPPER_HEX:
			snprintf(sig, sizeof(sig), "%s", good);
			for (char *c = sig + 7; *c; c++)
				if (*c >= 'a' && *c <= 'f')
					*c = (char)(*c - 'a' + 'A');
			break;
		case SIG_SHA1_PREFIX:
			snprintf(sig, sizeof(sig), "sha1=%s", good + 7);
			break;
		case SIG_TRUNCATED:
			snprintf(sig, sizeof(sig), "%.*s", (int)strlen(good) - 1, good);
			break;
		case SIG_TRAILING:
			snprintf(sig, sizeof(sig), "%s ", good);
			break;
		case SIG_NONE:
			header = NULL;
			break;
		case SIG_GOOD:
			snprintf(sig, sizeof(sig), "%s", good);
			break;
		}
		fake_req_header(&ctx, "X-Hub-Signature-256", header);
		webhook_call(p, t->method, PUBLIC_URL, t->path, &ctx, body, len, &h);
		expect_refused(t->name, &h, t->want_http, t->want_code, t->want_field);
		hook_release(&h);
		free(body);
	}
	provider_free(p);
}

/* ---- parse_webhook: the GET handshake ------------------------------------------------------ */

/* The query of meta-webhook-verify.http's request line, split into ctx's query table; the
 * strings point into *line (malloc'd, the caller frees it). */
static void verify_query(struct fake_req *ctx, char **line)
{
	size_t len;
	char *text = fixture_read("meta-webhook-verify.http", &len), *q, *end, *pair, *next;

	assert_int_equal(strncmp(text, "GET ", 4), 0);
	q = strchr(text, '?');
	end = strstr(text, " HTTP/1.1");
	assert_non_null(q);
	assert_non_null(end);
	*end = '\0';
	for (pair = q + 1; pair; pair = next) {
		char *eq = strchr(pair, '=');

		next = strchr(pair, '&');
		if (next)
			*next++ = '\0';
		assert_non_null(eq);
		*eq = '\0';
		assert_true(ctx->n_q < FAKE_REQ_MAX);
		ctx->q_names[ctx->n_q] = pair;
		ctx->q_values[ctx->n_q++] = eq + 1;
	}
	*line = text;
}

struct verify_case {
	const char *name;
	const char *configured;     /* [provider.meta] verify_token (NULL: unset) */
	const char *key, *value;    /* a query parameter to change (value NULL: drop it) */
	int want_http;              /* 200: answered with the challenge */
	const char *want_code, *want_field;
};

static const struct verify_case verify_cases[] = {
	{ "Meta's sample request", VERIFY, NULL, NULL, 200, NULL, NULL },
	{ "another challenge", VERIFY, "hub.challenge", "987654321", 200, NULL, NULL },
	{ "wrong token", VERIFY, "hub.verify_token", "meatyhamhocks", 403, "forbidden",
	  "hub.verify_token" },
	{ "token differing in case", VERIFY, "hub.verify_token", "MEATYHAMHOCK", 403, "forbidden",
	  "hub.verify_token" },
	{ "empty token", VERIFY, "hub.verify_token", "", 403, "forbidden", "hub.verify_token" },
	{ "no token", VERIFY, "hub.verify_token", NULL, 403, "forbidden", "hub.verify_token" },
	{ "wrong mode", VERIFY, "hub.mode", "unsubscribe", 403, "forbidden", "hub.verify_token" },
	{ "no mode", VERIFY, "hub.mode", NULL, 403, "forbidden", "hub.verify_token" },
	{ "no challenge", VERIFY, "hub.challenge", NULL, 400, "missing_field", "hub.challenge" },
	{ "empty challenge", VERIFY, "hub.challenge", "", 400, "missing_field", "hub.challenge" },
	{ "verify_token not configured", NULL, NULL, NULL, 403, "forbidden", "hub.verify_token" },
	{ "not configured, empty token sent", NULL, "hub.verify_token", "", 403, "forbidden",
	  "hub.verify_token" },
};

static void test_verify_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(verify_cases); i++) {
		const struct verify_case *t = &verify_cases[i];
		struct provider *p = meta_new(SECRET, t->configured, NULL);
		struct fake_req ctx = { .n_h = 0 };
		const char *challenge;
		struct hook h;
		char *line;

		verify_query(&ctx, &line);
		if (t->key)
			fake_req_query(&ctx, t->key, t->value);
		challenge = fake_req_query_get(&ctx, "hub.challenge");
		webhook_call(p, "GET", PUBLIC_URL, PATH, &ctx, "", 0, &h);
		if (t->want_http == 200) {
			if (h.rc != 0)
				fail_msg("%s: refused %d %s: %s", t->name, h.reply.status,
					 h.reply.err.code, h.reply.err.msg);
			EXPECT_INT(t->name, "status", h.reply.status, 200);
			EXPECT_STR(t->name, "content type", h.reply.content_type, "text/plain");
			EXPECT_STR(t->name, "body", buf_cstr(&h.reply.body), challenge);
			EXPECT_INT(t->name, "events", h.ev.n, 0);
		} else {
			expect_refused(t->name, &h, t->want_http, t->want_code, t->want_field);
			EXPECT_INT(t->name, "body", h.reply.body.len, 0);
		}
		hook_release(&h);
		free(line);
		provider_free(p);
	}
}

/* The sample's challenge comes back byte for byte. */
static void test_verify_answers_sample_challenge(void **state)
{
	struct provider *p = meta_default();
	struct fake_req ctx = { .n_h = 0 };
	struct hook h;
	char *line;

	(void)state;
	verify_query(&ctx, &line);
	webhook_call(p, "GET", PUBLIC_URL, PATH, &ctx, "", 0, &h);
	assert_int_equal(h.rc, 0);
	assert_string_equal(buf_cstr(&h.reply.body), "1158201444");
	hook_release(&h);
	free(line);
	provider_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_table),
		cmocka_unit_test(test_init_table),
		cmocka_unit_test(test_build_send_table),
		cmocka_unit_test(test_build_send_request_line_and_headers),
		cmocka_unit_test(test_build_send_url_from_config),
		cmocka_unit_test(test_build_send_refuses),
		cmocka_unit_test(test_parse_send_response_table),
		cmocka_unit_test(test_webhook_table),
		cmocka_unit_test(test_webhook_walks_every_entry_and_change),
		cmocka_unit_test(test_webhook_keeps_the_good_entries),
		cmocka_unit_test(test_webhook_refused_only_when_nothing_is_kept),
		cmocka_unit_test(test_signature_vectors),
		cmocka_unit_test(test_auth_and_routing_table),
		cmocka_unit_test(test_verify_table),
		cmocka_unit_test(test_verify_answers_sample_challenge),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
