/*
 * test_e2e_zenvia.c - build/gateway end to end with SMS and WhatsApp through a fake Zenvia.
 *
 * Each test gets a fresh temp dir, config, database, fake Zenvia (tests/support/fake_zenvia.h) and
 * gateway process with both channels on Zenvia, and talks to the gateway only through the external
 * contract of DESIGN.md §2: HTTP on its loopback port as the helpdesk (POST /v1/surveys,
 * GET /v1/surveys/{id}) and as Zenvia's webhook subscription (POST /webhooks/zenvia with the
 * X-Gateway-Token header, bodies built from the captured payloads in tests/fixtures).  The SQLite
 * file is read directly only to prove it unchanged (db_snapshot) or to count what it holds about
 * one event id.
 *
 * The first tests check the fake itself (refusals, answers, webhook bodies), so that a failure
 * further down is the gateway's doing, not the fake's.
 *
 * Bad or missing webhook authentication, replies without a message id, redelivered replies and
 * statuses, a send refused for good (400, 404), one retried (500, 503, 429) and the credentials
 * refused (401), which every provider must handle alike, are in test_e2e_provider_contract.c;
 * 409 DUPLICATED, refused for good too, stays here.
 *
 * Environment: GATEWAY_BIN (default build/gateway), FIXTURES (default tests/fixtures),
 * E2E_KEEP_TMP=1 keeps the temp dirs.  A failed test prints the tail of the gateway's log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/e2e.h"
#include "support/e2e_providers.h"
#include "support/fake_zenvia.h"

#define PHONE "+34600111222"
#define PHONE_DIGITS "34600111222"
#define PHONE_2 "+34600333444"
#define SMS_PATH "/v2/channels/sms/messages"
#define WA_PATH "/v2/channels/whatsapp/messages"
/* How long "nothing more is sent" is watched: longer than the 1 s retry_base of the config, so a
 * wrong retry (full jitter: at most retry_base) would land inside it. */
#define ZV_QUIET_MS 1500

/* One test's world: the shared e2e world (dir, conf, db, gateway; no fake Twilio) plus the fake
 * Zenvia.  `e` comes first so e2e.h's helpers take &z->e. */
struct zen {
	struct e2e e;
	struct fake_zenvia *zv;
	unsigned event_seq;     /* for webhook event ids (next_event_id()) */
	/* the ids of the surveys the test triggered: owned here, so a failing test leaks nothing */
	char survey_ids[4][64];
	size_t n_surveys;
};

/* ---- fixtures: one fake Zenvia + one gateway per test ---- */

/* DIR/gateway.conf for a gateway on `gw_port`: harness_write_config_opts() with both channels on
 * Zenvia at `zv_port` (support/e2e_providers.h) and a 1 s retry_base. */
static int write_config(struct zen *z, int gw_port, int zv_port)
{
	char extra[1024];
	struct harness_config hc = { .sms = "zenvia",
				     .whatsapp = "zenvia",
				     .retry_base = "1s",
				     .extra = extra };

	/* replies follow the question at once here; pacing is test_store's */
	snprintf(extra, sizeof(extra), "whatsapp_pair_interval = 0s\n" E2E_ZENVIA_CONF, zv_port);
	return harness_write_config_opts(z->e.dir, gw_port, 1, &hc, z->e.conf, z->e.db);
}

static void zen_free(struct zen *z)
{
	fake_zenvia_stop(z->zv);
	if (z->e.dir[0])
		harness_tmpdir_remove(z->e.dir);
	free(z);
}

/* cmocka setup: temp dir, fake Zenvia, config, gateway; the world into *state. */
static int zen_setup(void **state)
{
	struct zen *z = calloc(1, sizeof(*z));
	int port;

	if (!z)
		return -1;
	if (harness_tmpdir_create(z->e.dir, sizeof(z->e.dir)) < 0)
		goto fail;
	z->zv = fake_zenvia_start(ZV_TOKEN);
	if (!z->zv)
		goto fail;
	port = harness_free_port();
	if (port < 0 || write_config(z, port, fake_zenvia_port(z->zv)) < 0)
		goto fail;
	if (harness_gw_start(&z->e.gw, z->e.dir, z->e.conf, port, NULL) < 0)
		goto fail;
	*state = z;
	return 0;
fail:
	zen_free(z);
	return -1;
}

/* cmocka teardown: the gateway must exit 0 on SIGTERM; its log is shown when it did not or the
 * test did not get to its end. */
static int zen_teardown(void **state)
{
	struct zen *z = *state;
	int code = harness_gw_stop(&z->e.gw);

	if (code != 0)
		fprintf(stderr, "gateway exit status on SIGTERM: %d (want 0)\n", code);
	if (code != 0 || !z->e.passed)
		harness_gw_print_log(&z->e.gw, 6000);
	zen_free(z);
	return code == 0 ? 0 : -1;
}

/* ---- small checks ---- */

/* 1 when `num` occurs in `text` as a whole number (no digit right before or after it). */
static int has_number(const char *text, const char *num)
{
	size_t n = strlen(num);

	for (const char *p = text; (p = strstr(p, num)) != NULL; p++) {
		int before = p > text && p[-1] >= '0' && p[-1] <= '9';
		int after = p[n] >= '0' && p[n] <= '9';

		if (!before && !after)
			return 1;
	}
	return 0;
}

/* The survey's response score, or -1 without a response. */
static long long score_of(json_t *survey)
{
	json_t *r = json_object_get(survey, "response");

	return json_is_object(r) ? json_integer_value(json_object_get(r, "score")) : -1;
}

/* ---- the gateway's API ---- */

/* POST /v1/surveys for Ana (PHONE, es) on `channel`, interaction `interaction`; must answer 202.
 * Returns the survey id, valid for the test (owned by `z`). */
static const char *trigger(struct zen *z, const char *channel, const char *interaction)
{
	struct harness_http_resp r;
	json_t *body, *j;
	char *text, *id;

	body = json_pack("{s:{s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s,s:s}}",
			 "customer", "id", "cust-42", "phone", PHONE, "name", "Ana", "locale", "es",
			 "kind", "nps", "channel", channel,
			 "interaction", "id", interaction, "touchpoint", "support_chat");
	assert_non_null(body);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	assert_non_null(text);
	api(&z->e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", text, strlen(text),
	    &r);
	free(text);
	if (r.status != 202)
		fail_msg("POST /v1/surveys: %ld %.300s, want 202", r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	assert_jstr(j, "status", "queued");
	assert_jstr(j, "channel", channel);
	assert_true(z->n_surveys < sizeof(z->survey_ids) / sizeof(z->survey_ids[0]));
	id = z->survey_ids[z->n_surveys++];
	snprintf(id, sizeof(z->survey_ids[0]), "%s", jstr(j, "id"));
	json_decref(j);
	assert_true(id[0] != '\0');
	return id;
}

/* ---- what the fake Zenvia received ---- */

/* The fake's request `i`, which must have arrived within E2E_POLL_MS and passed Zenvia's checks. */
static const struct fake_zenvia_request *wait_request(struct zen *z, size_t i)
{
	const struct fake_zenvia_request *req;

	if (fake_zenvia_wait(z->zv, i + 1, E2E_POLL_MS) < i + 1)
		fail_msg("fake Zenvia got %zu requests within %d ms, want %zu",
			 fake_zenvia_count(z->zv), E2E_POLL_MS, i + 1);
	req = fake_zenvia_request(z->zv, i);
	if (!req->ok)
		fail_msg("request %zu to Zenvia is not one Zenvia accepts: %s (%s %s, "
			 "Content-Type %s, body %.300s)", i, req->why, req->method, req->path,
			 req->content_type ? req->content_type : "none", req->body);
	return req;
}

/* Watches the fake for ZV_QUIET_MS: it must still have exactly `n` requests. */
static void assert_quiet(struct zen *z, size_t n)
{
	size_t got = fake_zenvia_wait(z->zv, n + 1, ZV_QUIET_MS);

	if (got != n) {
		const struct fake_zenvia_request *req = fake_zenvia_request(z->zv, got - 1);

		fail_msg("fake Zenvia got %zu requests, want %zu; the last: %s %.300s", got, n,
			 req->path, req->body);
	}
}

/* Request `req` went to `path` from ZV_FROM to PHONE_DIGITS with one text content, returned. */
static const char *assert_text_request(const struct fake_zenvia_request *req, const char *path)
{
	const char *text;

	assert_string_equal(req->method, "POST");
	assert_string_equal(req->path, path);
	assert_string_equal(req->from, ZV_FROM);
	assert_string_equal(req->to, PHONE_DIGITS);
	if (json_array_size(req->contents) != 1 || !(text = fake_zenvia_text(req, 0)))
		fail_msg("want exactly one text content: %.300s", req->body);
	return text;
}

/* Triggers an NPS survey on `channel` and waits until the gateway shows it sent with the id the
 * fake gave the send.  Returns the survey id (owned by `z`); the message id into `msg_id`. */
static const char *survey_sent(struct zen *z, const char *channel, const char *interaction,
			 char msg_id[FAKE_ZENVIA_ID_LEN])
{
	size_t n = fake_zenvia_count(z->zv);
	const char *id = trigger(z, channel, interaction);
	const struct fake_zenvia_request *req = wait_request(z, n);
	json_t *j;

	assert_string_equal(req->channel, channel);
	j = wait_status(&z->e, id, "sent");
	assert_jstr(j, "provider", "zenvia");
	assert_jstr(j, "provider_message_id", req->id);
	json_decref(j);
	snprintf(msg_id, FAKE_ZENVIA_ID_LEN, "%s", req->id);
	return id;
}

/* ---- speaking as Zenvia ---- */

/* A fresh UUID-shaped webhook event id into `out`. */
static void next_event_id(struct zen *z, char out[FAKE_ZENVIA_ID_LEN])
{
	snprintf(out, FAKE_ZENVIA_ID_LEN, "e2e0e2e0-0000-4000-8000-%012x", ++z->event_seq);
}

/* POSTs `body` to /webhooks/zenvia with `token` (NULL: no X-Gateway-Token); frees `body`. */
static void post_event(struct zen *z, char *body, const char *token, struct harness_http_resp *r)
{
	assert_non_null(body);
	if (fake_zenvia_post_webhook(z->e.gw.base_url, token, body, r) < 0)
		fail_msg("POST /webhooks/zenvia: no answer");
	free(body);
}

/* The customer (PHONE) writes `text` on `channel` as MESSAGE event `event_id`; the gateway must
 * answer 200. */
static void customer_says(struct zen *z, const char *channel, const char *text,
			  const char *event_id)
{
	struct harness_http_resp r;

	post_event(z, fake_zenvia_message_event(fixtures_dir(), event_id, channel, PHONE_DIGITS,
						ZV_FROM, text), ZV_WEBHOOK_TOKEN, &r);
	if (r.status != 200)
		fail_msg("MESSAGE \"%s\" on %s: %ld %.300s, want 200", text, channel, r.status,
			 r.body);
	harness_http_release(&r);
}

/* A MESSAGE_STATUS event `code` for message `msg_id` on `channel`; the gateway must answer 200. */
static void status_event(struct zen *z, const char *msg_id, const char *channel, const char *code)
{
	struct harness_http_resp r;
	char event_id[FAKE_ZENVIA_ID_LEN];

	next_event_id(z, event_id);
	post_event(z, fake_zenvia_status_event(fixtures_dir(), event_id, msg_id, channel, code),
		   ZV_WEBHOOK_TOKEN, &r);
	if (r.status != 200)
		fail_msg("MESSAGE_STATUS %s for %s: %ld %.300s, want 200", code, msg_id, r.status,
			 r.body);
	harness_http_release(&r);
}

/* ---- the tests: the gateway ---- */

/* 1 + 2 on SMS: the question goes to /sms/ as one Spanish text on 0-10; "9" answers it and the
 * thank-you goes out on SMS too. */
static void test_sms_survey_round_trip(void **state)
{
	struct zen *z = *state;
	const struct fake_zenvia_request *req;
	char event_id[FAKE_ZENVIA_ID_LEN], msg_id[FAKE_ZENVIA_ID_LEN];
	const char *text;
	const char *id;
	json_t *j;

	id = survey_sent(z, "sms", "chat-sms-1", msg_id);
	req = fake_zenvia_request(z->zv, 0);
	assert_string_equal(req->api_token, ZV_TOKEN);
	text = assert_text_request(req, SMS_PATH);
	if (!has_number(text, "0") || !has_number(text, "10") || !strcasestr(text, "recom"))
		fail_msg("survey question is not a Spanish NPS question on 0-10: %s", text);

	next_event_id(z, event_id);
	customer_says(z, "sms", "9", event_id);
	j = wait_status(&z->e, id, "answered");
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	req = wait_request(z, 1);
	text = assert_text_request(req, SMS_PATH);
	if (!strcasestr(text, "gracias"))
		fail_msg("second message is not a Spanish thank-you: %s", text);
	assert_quiet(z, 2);
	z->e.passed = 1;
}

/* 1 + 2 on WhatsApp: a customer who never wrote gets the survey as the configured template with
 * the name and brand fields; "9" answers it and the thank-you is WhatsApp text (in session now). */
static void test_whatsapp_template_round_trip(void **state)
{
	struct zen *z = *state;
	const struct fake_zenvia_request *req;
	char event_id[FAKE_ZENVIA_ID_LEN], msg_id[FAKE_ZENVIA_ID_LEN];
	json_t *c, *want, *j;
	const char *text;
	const char *id;

	id = survey_sent(z, "whatsapp", "chat-wa-1", msg_id);
	req = fake_zenvia_request(z->zv, 0);
	assert_string_equal(req->path, WA_PATH);
	assert_string_equal(req->from, ZV_FROM);
	assert_string_equal(req->to, PHONE_DIGITS);
	if (json_array_size(req->contents) != 1)
		fail_msg("want exactly one content: %.300s", req->body);
	c = json_array_get(req->contents, 0);
	assert_jstr(c, "type", "template");
	assert_jstr(c, "templateId", ZV_TEMPLATE);
	want = json_pack("{s:s,s:s}", "name", "Ana", "brand", "Acme");
	if (!json_equal(json_object_get(c, "fields"), want))
		fail_msg("template fields are not {\"name\":\"Ana\",\"brand\":\"Acme\"}: %.300s",
			 req->body);
	json_decref(want);

	next_event_id(z, event_id);
	customer_says(z, "whatsapp", "9", event_id);
	j = wait_status(&z->e, id, "answered");
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	req = wait_request(z, 1);
	text = assert_text_request(req, WA_PATH);
	if (!strcasestr(text, "gracias"))
		fail_msg("second message is not a Spanish thank-you: %s", text);
	assert_quiet(z, 2);
	z->e.passed = 1;
}

/* 3: SENT keeps `sent`, DELIVERED makes it `delivered`, READ `read`, and a late SENT after READ
 * does not move it back. */
static void test_status_events(void **state)
{
	struct zen *z = *state;
	char msg_id[FAKE_ZENVIA_ID_LEN];
	const char *id = survey_sent(z, "sms", "chat-st-1", msg_id);
	json_t *j;

	status_event(z, msg_id, "sms", "SENT");
	j = survey_get(&z->e, id);
	assert_jstr(j, "status", "sent");
	json_decref(j);

	status_event(z, msg_id, "sms", "DELIVERED");
	j = wait_status(&z->e, id, "delivered");
	jstr(j, "delivered_at");
	json_decref(j);

	status_event(z, msg_id, "sms", "READ");
	json_decref(wait_status(&z->e, id, "read"));

	status_event(z, msg_id, "sms", "SENT");
	j = survey_get(&z->e, id);
	assert_jstr(j, "status", "read");
	assert_true(json_is_null(json_object_get(j, "error")));
	json_decref(j);
	assert_quiet(z, 1);
	z->e.passed = 1;
}

/* 3: NOT_DELIVERED fails the survey with error.code NOT_DELIVERED; nothing is resent. */
static void test_status_not_delivered(void **state)
{
	struct zen *z = *state;
	char msg_id[FAKE_ZENVIA_ID_LEN];
	const char *id = survey_sent(z, "whatsapp", "chat-nd-1", msg_id);
	json_t *j, *err;

	status_event(z, msg_id, "whatsapp", "NOT_DELIVERED");
	j = wait_status(&z->e, id, "failed");
	err = json_object_get(j, "error");
	if (!json_is_object(err))
		fail_msg("failed survey has no error object");
	assert_jstr(err, "code", "NOT_DELIVERED");
	json_decref(j);
	assert_quiet(z, 1);
	z->e.passed = 1;
}

/* The MESSAGE event of customer_says() (event `event_id`, the customer's "9" by SMS) with its
 * message.id set to `msg_id`, or removed when msg_id is NULL.  Caller frees with free(). */
static char *message_with_id(const char *event_id, const char *msg_id)
{
	char *built = fake_zenvia_message_event(fixtures_dir(), event_id, "sms", PHONE_DIGITS,
						ZV_FROM, "9");
	json_t *j = json_loads(built ? built : "", 0, NULL), *msg = json_object_get(j, "message");
	char *out;

	assert_true(json_is_object(msg));
	if (msg_id)
		assert_int_equal(json_object_set_new(msg, "id", json_string(msg_id)), 0);
	else
		assert_int_equal(json_object_del(msg, "id"), 0);
	out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(out);
	json_decref(j);
	free(built);
	return out;
}

/* 4: one message in two events (two event ids, one message.id): it is known by its own id, so
 * the second changes nothing and is not thanked again. */
static void test_message_known_by_its_own_id(void **state)
{
	struct zen *z = *state;
	char event_id[FAKE_ZENVIA_ID_LEN], msg_id[FAKE_ZENVIA_ID_LEN];
	const char *id = survey_sent(z, "sms", "chat-twice-1", msg_id);
	struct harness_http_resp r;
	long stored;

	for (int i = 0; i < 2; i++) {
		next_event_id(z, event_id);
		post_event(z, message_with_id(event_id, "zmsg-twice-1"), ZV_WEBHOOK_TOKEN, &r);
		if (r.status != 200)
			fail_msg("MESSAGE event %d: %ld %.300s, want 200", i + 1, r.status, r.body);
		harness_http_release(&r);
		if (i == 0) {
			json_decref(wait_status(&z->e, id, "answered"));
			wait_request(z, 1);
		}
	}
	stored = harness_db_count_value(z->e.db, "zmsg-twice-1");
	if (stored < 1)
		fail_msg("message zmsg-twice-1 was not stored by its message.id");
	assert_quiet(z, 2);
	assert_int_equal(harness_db_count_value(z->e.db, "zmsg-twice-1"), stored);
	assert_int_equal(harness_db_count_value(z->e.db, event_id), 0);
	z->e.passed = 1;
}

/* 6: Zenvia refuses the send with `status` and error `code`: the survey fails with that code and
 * the send is never retried. */
static void send_refused(struct zen *z, int status, const char *code, const char *message)
{
	json_t *j, *err;
	const char *id;

	assert_int_equal(fake_zenvia_queue(z->zv, status, code, message), 0);
	id = trigger(z, "sms", "chat-err-1");
	assert_int_equal(wait_request(z, 0)->status, status);
	j = wait_status(&z->e, id, "failed");
	err = json_object_get(j, "error");
	if (!json_is_object(err))
		fail_msg("failed survey has no error object");
	assert_jstr(err, "code", code);
	assert_true(jstr(err, "message")[0] != '\0');
	json_decref(j);
	assert_quiet(z, 1);
	j = survey_get(&z->e, id);
	assert_jstr(j, "status", "failed");
	json_decref(j);
	z->e.passed = 1;
}

/* 409 DUPLICATED: the same message again cannot succeed either, so it is not retried. */
static void test_send_409_duplicated(void **state)
{
	send_refused(*state, 409, "DUPLICATED", "Duplicated message");
}

/* ---- the tests: the fake itself ---- */

/* One request to the fake; `token`, `ctype` NULL: that header is not sent. */
static void fake_post(struct fake_zenvia *zv, const char *method, const char *path,
		      const char *token, const char *ctype, const char *body,
		      struct harness_http_resp *r)
{
	char url[256], tok[128], ct[128];
	const char *headers[3] = { NULL };
	size_t n = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fake_zenvia_port(zv), path);
	if (token) {
		snprintf(tok, sizeof(tok), "X-API-TOKEN: %s", token);
		headers[n++] = tok;
	}
	/* "Content-Type:" with no value makes libcurl send none at all */
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "");
	headers[n++] = ct;
	assert_int_equal(harness_http(method, url, headers, body, body ? strlen(body) : 0, r), 0);
}

/* Asserts a Zenvia error answer: `status`, JSON {"code": code, "message": "..."}. */
static void assert_zenvia_error(struct harness_http_resp *r, long status, const char *code)
{
	json_t *j;

	if (r->status != status)
		fail_msg("fake answered %ld, want %ld: %.300s", r->status, status, r->body);
	assert_content_type(r, "application/json");
	j = parse_json(r);
	assert_jstr(j, "code", code);
	assert_true(jstr(j, "message")[0] != '\0');
	json_decref(j);
	harness_http_release(r);
}

#define GOOD_TEXT "{\"from\":\"acme\",\"to\":\"34600111222\"," \
		  "\"contents\":[{\"type\":\"text\",\"text\":\"Hola \xf0\x9f\x91\x8d\"}]}"
#define GOOD_TEMPLATE "{\"from\":\"acme\",\"to\":\"34600111222\",\"contents\":[{\"type\":" \
		      "\"template\",\"templateId\":\"" ZV_TEMPLATE "\",\"fields\":" \
		      "{\"name\":\"Ana\",\"brand\":\"Acme\"}}]}"
#define JSON_CT "application/json"

/* The fake refuses what Zenvia refuses, with Zenvia's error shape. */
static void test_fake_zenvia_refusals(void **state)
{
	static const struct {
		const char *method, *path, *token, *ctype, *body;
		long status;
		const char *code;
	} rows[] = {
		{ "POST", SMS_PATH, NULL, JSON_CT, GOOD_TEXT, 401, "UNAUTHORIZED" },
		{ "POST", SMS_PATH, "wrong", JSON_CT, GOOD_TEXT, 401, "UNAUTHORIZED" },
		{ "POST", "/v2/channels/email/messages", ZV_TOKEN, JSON_CT, GOOD_TEXT, 404,
		  "NOT_FOUND" },
		{ "POST", SMS_PATH "/", ZV_TOKEN, JSON_CT, GOOD_TEXT, 404, "NOT_FOUND" },
		{ "POST", "/v1/channels/sms/messages", ZV_TOKEN, JSON_CT, GOOD_TEXT, 404,
		  "NOT_FOUND" },
		{ "GET", SMS_PATH, ZV_TOKEN, NULL, NULL, 405, "METHOD_NOT_ALLOWED" },
		{ "POST", SMS_PATH, ZV_TOKEN, "text/plain", GOOD_TEXT, 400, "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, NULL, GOOD_TEXT, 400, "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, JSON_CT, "from=acme", 400, "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, JSON_CT, "[]", 400, "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, JSON_CT,
		  "{\"to\":\"34600111222\",\"contents\":[{\"type\":\"text\",\"text\":\"x\"}]}",
		  400, "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, JSON_CT,
		  "{\"from\":\"acme\",\"to\":\"+34600111222\",\"contents\":[{\"type\":\"text\","
		  "\"text\":\"x\"}]}", 400, "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, JSON_CT,
		  "{\"from\":\"acme\",\"contents\":[{\"type\":\"text\",\"text\":\"x\"}]}", 400,
		  "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, JSON_CT,
		  "{\"from\":\"acme\",\"to\":\"34600111222\",\"contents\":[]}", 400,
		  "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, JSON_CT,
		  "{\"from\":\"acme\",\"to\":\"34600111222\",\"contents\":[{\"type\":\"file\","
		  "\"fileUrl\":\"http://x/y.png\"}]}", 400, "VALIDATION_ERROR" },
		{ "POST", SMS_PATH, ZV_TOKEN, JSON_CT,
		  "{\"from\":\"acme\",\"to\":\"34600111222\",\"contents\":[{\"type\":\"text\","
		  "\"text\":\"\"}]}", 400, "VALIDATION_ERROR" },
		{ "POST", WA_PATH, ZV_TOKEN, JSON_CT,
		  "{\"from\":\"acme\",\"to\":\"34600111222\",\"contents\":[{\"type\":\"template\","
		  "\"fields\":{\"name\":\"Ana\"}}]}", 400, "VALIDATION_ERROR" },
		{ "POST", WA_PATH, ZV_TOKEN, JSON_CT,
		  "{\"from\":\"acme\",\"to\":\"34600111222\",\"contents\":[{\"type\":\"template\","
		  "\"templateId\":\"t\",\"fields\":{\"name\":7}}]}", 400, "VALIDATION_ERROR" },
		{ "POST", WA_PATH, ZV_TOKEN, JSON_CT,
		  "{\"from\":\"acme\",\"to\":\"34600111222\",\"contents\":[{\"type\":\"template\","
		  "\"templateId\":\"t\"}]}", 400, "VALIDATION_ERROR" },
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct fake_zenvia *zv = fake_zenvia_start(ZV_TOKEN);
	struct harness_http_resp r;

	assert_non_null(zv);
	for (size_t i = 0; i < n; i++) {
		fake_post(zv, rows[i].method, rows[i].path, rows[i].token, rows[i].ctype,
			  rows[i].body, &r);
		assert_zenvia_error(&r, rows[i].status, rows[i].code);
		assert_false(fake_zenvia_request(zv, i)->ok);
		assert_int_equal(fake_zenvia_request(zv, i)->status, rows[i].status);
		assert_true(fake_zenvia_request(zv, i)->why[0] != '\0');
	}
	assert_int_equal(fake_zenvia_count(zv), n);
	fake_zenvia_stop(zv);
}

/* A 200 answer of the fake: the request's JSON plus a fresh UUID-shaped "id", which it returns
 * (caller frees). */
static char *assert_echo(struct harness_http_resp *r, const char *request)
{
	json_t *j, *req = json_loads(request, 0, NULL);
	char *id;

	assert_non_null(req);
	if (r->status != 200)
		fail_msg("fake answered %ld, want 200: %.300s", r->status, r->body);
	assert_content_type(r, "application/json");
	j = parse_json(r);
	id = strdup(jstr(j, "id"));
	assert_non_null(id);
	assert_int_equal(strlen(id), 36);
	assert_true(id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-');
	json_object_del(j, "id");
	if (!json_equal(j, req))
		fail_msg("200 answer is not the request plus an id: %.300s", r->body);
	json_decref(req);
	json_decref(j);
	harness_http_release(r);
	return id;
}

/* The fake accepts text and template sends with an echo and a unique id, records what it got, and
 * plays scripted answers in order, then the default again. */
static void test_fake_zenvia_answers(void **state)
{
	struct fake_zenvia *zv = fake_zenvia_start(ZV_TOKEN);
	const struct fake_zenvia_request *req;
	struct harness_http_resp r;
	char *id1, *id2, *id3;

	assert_non_null(zv);
	fake_post(zv, "POST", SMS_PATH, ZV_TOKEN, "application/json; charset=utf-8", GOOD_TEXT,
		  &r);
	id1 = assert_echo(&r, GOOD_TEXT);
	req = fake_zenvia_request(zv, 0);
	assert_true(req->ok);
	assert_string_equal(req->channel, "sms");
	assert_string_equal(req->from, "acme");
	assert_string_equal(req->to, PHONE_DIGITS);
	assert_string_equal(req->api_token, ZV_TOKEN);
	assert_string_equal(fake_zenvia_text(req, 0), "Hola \xf0\x9f\x91\x8d");
	assert_string_equal(req->id, id1);

	fake_post(zv, "POST", WA_PATH, ZV_TOKEN, JSON_CT, GOOD_TEMPLATE, &r);
	id2 = assert_echo(&r, GOOD_TEMPLATE);
	req = fake_zenvia_request(zv, 1);
	assert_string_equal(req->channel, "whatsapp");
	assert_null(fake_zenvia_text(req, 0));
	assert_true(strcmp(id1, id2) != 0);

	assert_int_equal(fake_zenvia_queue(zv, 409, "DUPLICATED", "Duplicated message"), 0);
	assert_int_equal(fake_zenvia_queue(zv, 503, NULL, NULL), 0);
	assert_int_equal(fake_zenvia_queue(zv, 429, NULL, NULL), 0);
	fake_post(zv, "POST", SMS_PATH, ZV_TOKEN, JSON_CT, GOOD_TEXT, &r);
	assert_zenvia_error(&r, 409, "DUPLICATED");
	fake_post(zv, "POST", SMS_PATH, ZV_TOKEN, JSON_CT, GOOD_TEXT, &r);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.len, 0);
	harness_http_release(&r);
	fake_post(zv, "POST", SMS_PATH, ZV_TOKEN, JSON_CT, GOOD_TEXT, &r);
	assert_int_equal(r.status, 429);
	harness_http_release(&r);
	fake_post(zv, "POST", SMS_PATH, ZV_TOKEN, JSON_CT, GOOD_TEXT, &r);
	id3 = assert_echo(&r, GOOD_TEXT);
	assert_true(strcmp(id3, id1) != 0 && strcmp(id3, id2) != 0);

	assert_int_equal(fake_zenvia_wait(zv, 6, 100), 6);
	assert_int_equal(fake_zenvia_wait(zv, 7, 100), 6);
	req = fake_zenvia_request(zv, 2);
	assert_true(req->ok);
	assert_int_equal(req->status, 409);
	assert_string_equal(req->id, "");
	assert_null(fake_zenvia_request(zv, 6));
	free(id3);
	free(id2);
	free(id1);
	fake_zenvia_stop(zv);
}

/* `built` equals the fixture `name` once `edit` has rewritten the fixture's copy. */
static void assert_fixture_but(const char *built, const char *name, void (*edit)(json_t *))
{
	char path[HARNESS_PATH_LEN];
	json_t *fixture, *got;

	assert_non_null(built);
	snprintf(path, sizeof(path), "%s/%s", fixtures_dir(), name);
	fixture = json_load_file(path, 0, NULL);
	got = json_loads(built, 0, NULL);
	assert_non_null(fixture);
	assert_non_null(got);
	edit(fixture);
	if (!json_equal(fixture, got))
		fail_msg("%s: built event differs from the fixture beyond the rewritten members: %s",
			 name, built);
	json_decref(got);
	json_decref(fixture);
}

static void edit_message(json_t *j)
{
	json_t *msg = json_object_get(j, "message");

	json_object_set_new(j, "id", json_string("ev-1"));
	json_object_set_new(j, "channel", json_string("sms"));
	json_object_set_new(msg, "id", json_string("ev-1"));
	json_object_set_new(msg, "from", json_string(PHONE_DIGITS));
	json_object_set_new(msg, "to", json_string(ZV_FROM));
	json_object_set_new(msg, "channel", json_string("sms"));
	json_object_set_new(json_array_get(json_object_get(msg, "contents"), 0), "text",
			    json_string("9, muy amables"));
}

static void edit_status(json_t *j)
{
	json_object_set_new(j, "id", json_string("ev-2"));
	json_object_set_new(j, "messageId", json_string("msg-1"));
	json_object_set_new(j, "channel", json_string("sms"));
	json_object_set_new(json_object_get(j, "messageStatus"), "code",
			    json_string("NOT_DELIVERED"));
}

/* Webhook bodies are the captured payloads with only the named members rewritten, and the POST
 * helper sends them as JSON with the token header (seen here by the fake, which refuses them). */
static void test_fake_zenvia_webhook_bodies(void **state)
{
	char *msg = fake_zenvia_message_event(fixtures_dir(), "ev-1", "sms", PHONE_DIGITS, ZV_FROM,
					      "9, muy amables");
	char *st = fake_zenvia_status_event(fixtures_dir(), "ev-2", "msg-1", "sms",
					    "NOT_DELIVERED");
	struct fake_zenvia *zv = fake_zenvia_start(ZV_TOKEN);
	const struct fake_zenvia_request *req;
	struct harness_http_resp r;
	char base[64];

	assert_fixture_but(msg, "zenvia-webhook-message-in.json", edit_message);
	assert_fixture_but(st, "zenvia-webhook-message-status-sent.json", edit_status);

	assert_non_null(zv);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", fake_zenvia_port(zv));
	assert_int_equal(fake_zenvia_post_webhook(base, ZV_WEBHOOK_TOKEN, msg, &r), 0);
	harness_http_release(&r);
	req = fake_zenvia_request(zv, 0);
	assert_non_null(req);
	assert_string_equal(req->method, "POST");
	assert_string_equal(req->path, "/webhooks/zenvia");
	assert_string_equal(req->content_type, "application/json");
	assert_string_equal(req->body, msg);
	fake_zenvia_stop(zv);
	free(st);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_zenvia_refusals),
		cmocka_unit_test(test_fake_zenvia_answers),
		cmocka_unit_test(test_fake_zenvia_webhook_bodies),
		cmocka_unit_test_setup_teardown(test_sms_survey_round_trip, zen_setup,
						zen_teardown),
		cmocka_unit_test_setup_teardown(test_whatsapp_template_round_trip, zen_setup,
						zen_teardown),
		cmocka_unit_test_setup_teardown(test_status_events, zen_setup, zen_teardown),
		cmocka_unit_test_setup_teardown(test_status_not_delivered, zen_setup, zen_teardown),
		cmocka_unit_test_setup_teardown(test_message_known_by_its_own_id, zen_setup,
						zen_teardown),
		cmocka_unit_test_setup_teardown(test_send_409_duplicated, zen_setup, zen_teardown),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
