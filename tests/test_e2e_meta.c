/*
 * test_e2e_meta.c - build/gateway end to end with WhatsApp through a fake Meta Graph API
 * (tests/support/fake_meta.h), on a fake clock.
 *
 * Each gateway test gets a fresh temp dir, database, fake Meta and gateway process, started with
 * the harness's config ([channels] whatsapp = meta, [provider.meta] pointing at the fake and
 * [templates.meta] nps.es = encuesta_nps, es from support/e2e_providers.h) and with GATEWAY_FAKE_CLOCK pointing at DIR/clock,
 * which reads T0 until a test moves it.  The tests talk to the gateway only through its external
 * contract (DESIGN.md §2): POST /v1/surveys and GET /v1/surveys/{id} as the helpdesk, GET /healthz,
 * GET and signed POST /webhooks/meta as Meta (bodies built from the captured payloads in
 * tests/fixtures/meta-*, with only the members a test needs rewritten), and what the fake Meta
 * received.  The SQLite file is read (read-only) only to prove it unchanged (db_snapshot) or to
 * count what it holds about one message id.
 *
 * The customer is the fixtures' own WhatsApp user, +16505551234 (wa_id 16505551234), so every
 * payload stays as Meta published it apart from the rewritten members.
 *
 * What is covered, one section each below:
 *   0  the fake Meta and the webhook signer themselves (no gateway)
 *   1  a survey to a customer who never wrote goes as the approved template
 *   2  replies: a text, an interactive list row, a template quick-reply button; the thank-you
 *      goes as free-form text inside the 24-hour session
 *   3  delivery statuses: sent, read, a late delivered; failed with Meta's error code
 *   4  a message without an id is left out of a notification whose other entries are kept
 *      (one without an id on its own is refused: test_e2e_provider_contract.c)
 *   5  the GET verification handshake
 *   6  how each class of send error is handled
 *
 * Bad or missing signatures, redelivered replies and statuses, a send refused for good, a bare
 * 500 or a rate limit (4, 130429, 80007) retried and the access token refused (190), which every
 * provider must handle alike, are in test_e2e_provider_contract.c; 131026 and 190 are also here
 * for what an hour later on the fake clock shows.
 *
 * Environment: GATEWAY_BIN (default build/gateway), FIXTURES (default tests/fixtures),
 * E2E_KEEP_TMP=1 keeps the temp dirs, E2E_ONLY=PATTERN runs the matching tests only.  A failed
 * test prints the tail of the gateway's log.
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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "support/e2e.h"
#include "support/e2e_providers.h"
#include "support/fake_meta.h"

#define CUSTOMER_PHONE "+16505551234"           /* the fixtures' customer */
#define CUSTOMER_WA "16505551234"
#define CUSTOMER_NAME "Ana"
#define BRAND "Acme" /* the harness config's [survey] brand */

/* Wed 2026-11-25 12:00 CET = 11:00 UTC: a weekday noon in Europe/Madrid. */
#define T0 1795604400LL
#define HOUR 3600LL

/* ---- one fake Meta + one gateway on a fake clock per test ---- */

/* One test's world.  `e` comes first and has no fake Twilio (e.tw is NULL), so the helpers of
 * e2e.h that speak to the gateway (api(), survey_get(), wait_status()) take &m->e. */
struct meta_e2e {
	struct e2e e;
	struct fake_meta *fm;
	const void *prestate;           /* what the test's table row says (NULL: none) */
	unsigned seq;                   /* for inbound wamids */
};

/* Writes DIR/gateway.conf: harness_write_config_opts() with WhatsApp through Meta at the fake
 * (support/e2e_providers.h), SMS on the console and a 1 s retry_base. */
static int write_meta_config(struct meta_e2e *m, int gw_port)
{
	char extra[1024];
	struct harness_config hc = { .sms = "console",
				     .whatsapp = "meta",
				     .retry_base = "1s",
				     .extra = extra };

	/* replies follow the question at once here; pacing is test_store's */
	snprintf(extra, sizeof(extra), "whatsapp_pair_interval = 0s\n" E2E_META_CONF,
		 fake_meta_port(m->fm));
	return harness_write_config_opts(m->e.dir, gw_port, 1, &hc, m->e.conf, m->e.db);
}

static void meta_free(struct meta_e2e *m)
{
	fake_meta_stop(m->fm);
	if (m->e.dir[0])
		harness_tmpdir_remove(m->e.dir);
	free(m);
}

/* cmocka setup: a fake Meta and the gateway on a fake clock at T0; the prestate (a table row, may
 * be NULL) stays in m->prestate. */
static int meta_setup(void **state)
{
	struct meta_e2e *m = calloc(1, sizeof(*m));
	char env_clock[HARNESS_PATH_LEN + 32];
	const char *env[] = { env_clock, NULL };
	int port;

	if (!m)
		return -1;
	m->prestate = *state;
	if (harness_tmpdir_create(m->e.dir, sizeof(m->e.dir)) < 0)
		goto fail;
	snprintf(m->e.clock, sizeof(m->e.clock), "%.*s/clock", HARNESS_PATH_LEN - 16, m->e.dir);
	m->e.now = T0;
	if (harness_clock_set(m->e.clock, m->e.now) < 0)
		goto fail;
	snprintf(env_clock, sizeof(env_clock), "GATEWAY_FAKE_CLOCK=%s", m->e.clock);
	m->fm = fake_meta_start(META_GRAPH, META_PNID, META_TOKEN, fixtures_dir());
	if (!m->fm)
		goto fail;
	port = harness_free_port();
	if (port < 0 || write_meta_config(m, port) < 0)
		goto fail;
	if (harness_gw_start(&m->e.gw, m->e.dir, m->e.conf, port, env) < 0)
		goto fail;
	*state = m;
	return 0;
fail:
	meta_free(m);
	return -1;
}

/* cmocka teardown: stops the gateway, which must exit 0 on SIGTERM, prints its log when that or
 * the test failed, stops the fake and removes the temp dir. */
static int meta_teardown(void **state)
{
	struct meta_e2e *m = *state;
	int code = harness_gw_stop(&m->e.gw);

	if (code != 0)
		fprintf(stderr, "gateway exit status on SIGTERM: %d (want 0)\n", code);
	if (code != 0 || !m->e.passed)
		harness_gw_print_log(&m->e.gw, 6000);
	meta_free(m);
	return code == 0 ? 0 : -1;
}

/* Moves the fake clock to `t` (Unix seconds). */
static void clock_set(struct meta_e2e *m, long long t)
{
	assert_int_equal(harness_clock_set(m->e.clock, t), 0);
	m->e.now = t;
}

/* ---- small checks ---- */

/* The survey's response score, or -1 without a response. */
static long long score_of(json_t *survey)
{
	json_t *r = json_object_get(survey, "response");

	return json_is_object(r) ? json_integer_value(json_object_get(r, "score")) : -1;
}

/* The survey's error.code, or NULL without an error. */
static const char *error_code_of(json_t *survey)
{
	return json_string_value(json_object_get(json_object_get(survey, "error"), "code"));
}

/* A JSON error answer with `status`: {"error":{"code":"...","message":"..."}}. */
static void assert_json_error(const struct harness_http_resp *r, long status)
{
	json_t *j, *err;

	if (r->status != status)
		fail_msg("status %ld, want %ld: %.300s", r->status, status, r->body);
	assert_content_type(r, "application/json");
	j = parse_json(r);
	err = json_object_get(j, "error");
	if (!json_is_object(err))
		fail_msg("a %ld without an error object: %.300s", status, r->body);
	jstr(err, "code");
	jstr(err, "message");
	json_decref(j);
}

/* Polls until the survey's response has score `score`; returns that survey. */
static json_t *wait_score(struct meta_e2e *m, const char *id, long long score)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS, last;

	for (;;) {
		json_t *s = survey_get(&m->e, id);

		last = score_of(s);
		if (last == score)
			return s;
		json_decref(s);
		if (harness_now_ms() >= deadline)
			fail_msg("survey %s: score %lld after %d ms, want %lld", id, last,
				 E2E_POLL_MS, score);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

/* Watches GET /v1/surveys/{id} for E2E_QUIET_MS: its status must stay `want`. */
static void assert_status_stays(struct meta_e2e *m, const char *id, const char *want)
{
	long long deadline = harness_now_ms() + E2E_QUIET_MS;

	do {
		json_t *s = survey_get(&m->e, id);
		const char *st = json_string_value(json_object_get(s, "status"));

		if (!st || strcmp(st, want) != 0)
			fail_msg("survey %s: status %s, want it to stay %s", id, st ? st : "(none)",
				 want);
		json_decref(s);
		harness_sleep_ms(E2E_POLL_STEP_MS * 4);
	} while (harness_now_ms() < deadline);
}

/* Watches GET /v1/surveys/{id} for E2E_QUIET_MS: its status must never be `unwanted`. */
static void assert_status_never(struct meta_e2e *m, const char *id, const char *unwanted)
{
	long long deadline = harness_now_ms() + E2E_QUIET_MS;

	do {
		json_t *s = survey_get(&m->e, id);
		const char *st = json_string_value(json_object_get(s, "status"));

		if (!st || strcmp(st, unwanted) == 0) {
			char *dump = json_dumps(s, JSON_COMPACT);

			fail_msg("survey %s is %s: %s", id, st ? st : "(no status)",
				 dump ? dump : "?");
		}
		json_decref(s);
		harness_sleep_ms(E2E_POLL_STEP_MS * 4);
	} while (harness_now_ms() < deadline);
}

/* Polls the gateway's log until one line holds every string of `needles`. */
static void wait_log_line(struct meta_e2e *m, const char *const *needles)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;

	while (harness_gw_log_has_line(&m->e.gw, needles) != 1) {
		if (harness_now_ms() >= deadline)
			fail_msg("no line of the gateway's log contains \"%s\"%s%s", needles[0],
				 needles[1] ? " and \"" : "", needles[1] ? needles[1] : "");
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

/* ---- the gateway's API ---- */

/* POST /v1/surveys: customer cust-42 (CUSTOMER_PHONE, Ana, es) asked `kind` by WhatsApp. */
static void post_trigger(struct meta_e2e *m, const char *interaction, const char *kind,
			 struct harness_http_resp *r)
{
	json_t *root = json_pack("{s:{s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s,s:s}}",
				 "customer", "id", "cust-42", "phone", CUSTOMER_PHONE, "name",
				 CUSTOMER_NAME, "locale", "es", "kind", kind, "channel", "whatsapp",
				 "interaction", "id", interaction, "touchpoint", "support_chat");
	char *body;

	assert_non_null(root);
	body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(body);
	api(&m->e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, strlen(body),
	    r);
	free(body);
}

/* A new WhatsApp survey (202, queued); returns its id (caller frees). */
static char *trigger(struct meta_e2e *m, const char *interaction, const char *kind)
{
	struct harness_http_resp r;
	json_t *j;
	char *id;

	post_trigger(m, interaction, kind, &r);
	if (r.status != 202)
		fail_msg("POST /v1/surveys (%s, %s): %ld %.300s, want 202", interaction, kind,
			 r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	assert_jstr(j, "status", "queued");
	assert_jstr(j, "channel", "whatsapp");
	id = strdup(jstr(j, "id"));
	assert_non_null(id);
	json_decref(j);
	return id;
}

/* GET /healthz as JSON (200 required). */
static json_t *healthz(struct meta_e2e *m)
{
	struct harness_http_resp r;
	json_t *j;

	api(&m->e, "GET", "/healthz", NULL, NULL, NULL, 0, &r);
	if (r.status != 200)
		fail_msg("GET /healthz: %ld %.300s", r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	return j;
}

/* ---- what the fake Meta received ---- */

/* Request `i` to the fake, which must have arrived within E2E_POLL_MS and passed its checks. */
static const struct fake_meta_request *expect_request(struct meta_e2e *m, size_t i)
{
	const struct fake_meta_request *req;

	if (fake_meta_wait(m->fm, i + 1, E2E_POLL_MS) < i + 1)
		fail_msg("fake Meta got %zu requests within %d ms, want %zu",
			 fake_meta_count(m->fm), E2E_POLL_MS, i + 1);
	req = fake_meta_request(m->fm, i);
	if (!req->ok)
		fail_msg("request %zu to Meta is not one the Cloud API accepts: %s (%s %s, "
			 "Content-Type %s): %.400s", i, req->why, req->method, req->path,
			 req->content_type ? req->content_type : "none", req->body);
	if (!req->to || strcmp(req->to, CUSTOMER_WA) != 0)
		fail_msg("request %zu went to %s, want %s", i, req->to ? req->to : "-",
			 CUSTOMER_WA);
	return req;
}

/* Watches the fake for E2E_QUIET_MS: it must still have exactly `n` requests. */
static void assert_no_more_requests_meta(struct meta_e2e *m, size_t n)
{
	size_t got = fake_meta_wait(m->fm, n + 1, E2E_QUIET_MS);

	if (got != n) {
		const struct fake_meta_request *req = fake_meta_request(m->fm, got - 1);

		fail_msg("fake Meta got %zu requests, want %zu; the last: %.400s", got, n,
			 req->body ? req->body : "-");
	}
}

/*
 * Waits for request `i`, a retry, moving the fake clock forward when it does not come by itself:
 * first 2 s past now (the 1 s retry_base backoff), then a minute, then an hour, whatever wait the
 * gateway chose for the error.  The request must pass the fake's checks.
 */
static const struct fake_meta_request *expect_retry(struct meta_e2e *m, size_t i)
{
	static const long long steps[] = { 2, 60, HOUR };
	long long start = m->e.now;

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		clock_set(m, start + steps[s]);
		if (fake_meta_wait(m->fm, i + 1, 1500) >= i + 1)
			return expect_request(m, i);
	}
	fail_msg("no retry reached the fake Meta within an hour of fake time (%zu requests)",
		 fake_meta_count(m->fm));
	return NULL;
}

/* The request is the WhatsApp template `name` in `lang`, with body parameters [Ana, Acme]. */
static void assert_template(const struct fake_meta_request *req, const char *name,
			    const char *lang)
{
	if (!req->type || strcmp(req->type, "template") != 0)
		fail_msg("type %s, want template: %.400s", req->type ? req->type : "-", req->body);
	assert_string_equal(req->template_name, name);
	assert_string_equal(req->template_lang, lang);
	if (req->n_params != 2)
		fail_msg("%zu body parameters, want 2 (name, brand): %.400s", req->n_params,
			 req->body);
	assert_string_equal(req->params[0], CUSTOMER_NAME);
	assert_string_equal(req->params[1], BRAND);
}

/* The request is free-form text; returns its body. */
static const char *assert_text(const struct fake_meta_request *req)
{
	if (!req->type || strcmp(req->type, "text") != 0)
		fail_msg("type %s, want text (free-form): %.400s", req->type ? req->type : "-",
			 req->body);
	assert_non_null(req->text);
	return req->text;
}

/* Triggers an NPS survey (interaction `interaction`), expects it as the fake's request `i` and the
 * survey `sent` with that request's wamid; returns its id (caller frees) and, when `wamid` is not
 * NULL, the wamid (48 bytes). */
static char *survey_sent(struct meta_e2e *m, const char *interaction, size_t i, char *wamid)
{
	char *id = trigger(m, interaction, "nps");
	const struct fake_meta_request *req = expect_request(m, i);
	json_t *j;

	assert_int_equal(req->status, 200);
	j = wait_status(&m->e, id, "sent");
	assert_jstr(j, "provider", "meta");
	assert_jstr(j, "provider_message_id", req->wamid);
	json_decref(j);
	if (wamid)
		snprintf(wamid, 48, "%s", req->wamid);
	return id;
}

/* ---- speaking as Meta ---- */

/* A fresh inbound wamid into `out` (48 bytes). */
static void next_wamid(struct meta_e2e *m, char *out)
{
	snprintf(out, 48, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRE2E%08X", ++m->seq);
}

/* POSTs `len` bytes of `body` to /webhooks/meta, signed with the app secret (what the gateway
 * does with a bad signature is in test_e2e_provider_contract.c). */
static void meta_post(struct meta_e2e *m, const char *body, size_t len,
		      struct harness_http_resp *r)
{
	char url[256], sig[FAKE_META_SIG_LEN], hdr[128];
	const char *headers[3] = { "Content-Type: application/json", hdr, NULL };

	fake_meta_sign(META_SECRET, body, len, sig);
	snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
	snprintf(url, sizeof(url), "%s/webhooks/meta", m->e.gw.base_url);
	if (harness_http("POST", url, headers, body, len, r) < 0)
		fail_msg("POST /webhooks/meta: no answer");
}

/* The fixture `fixture` with `set` rewritten, as fake_meta_webhook_body() builds it, parsed. */
static json_t *meta_json(const char *fixture, const struct fake_meta_set *set)
{
	char file[HARNESS_PATH_LEN];
	struct buf body;
	json_t *root;

	buf_init(&body, 64u << 10);
	snprintf(file, sizeof(file), "%s/%s", fixtures_dir(), fixture);
	assert_int_equal(fake_meta_webhook_body(file, set, &body), 0);
	root = json_loads(buf_cstr(&body), 0, NULL);
	assert_non_null(root);
	buf_release(&body);
	return root;
}

/* Signs and POSTs `root` as compact JSON (its members in order); frees `root`. */
static void meta_post_json(struct meta_e2e *m, json_t *root, struct harness_http_resp *r)
{
	char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);

	assert_non_null(text);
	meta_post(m, text, strlen(text), r);
	free(text);
	json_decref(root);
}

/* POSTs to /webhooks/meta the fixture `fixture` with `set` rewritten, signed. */
static void meta_webhook(struct meta_e2e *m, const char *fixture, const struct fake_meta_set *set,
			 struct harness_http_resp *r)
{
	char file[HARNESS_PATH_LEN];
	struct buf body;

	buf_init(&body, 64u << 10);
	snprintf(file, sizeof(file), "%s/%s", fixtures_dir(), fixture);
	assert_int_equal(fake_meta_webhook_body(file, set, &body), 0);
	meta_post(m, buf_cstr(&body), body.len, r);
	buf_release(&body);
}

/* A signed webhook the gateway must accept with 200. */
static void meta_webhook_ok(struct meta_e2e *m, const char *fixture,
			    const struct fake_meta_set *set)
{
	struct harness_http_resp r;

	meta_webhook(m, fixture, set, &r);
	if (r.status != 200)
		fail_msg("POST /webhooks/meta (%s): %ld %.300s, want 200", fixture, r.status,
			 r.body);
	harness_http_release(&r);
}

/* The customer's WhatsApp text `text` (meta-inbound-text.json), with a fresh wamid (written to
 * `wamid_out`, 48 bytes, unless NULL), which the gateway must accept. */
static void customer_says(struct meta_e2e *m, const char *text, char *wamid_out)
{
	char wamid[48];
	struct fake_meta_set set = { .from = CUSTOMER_WA, .message_id = wamid, .text = text };

	next_wamid(m, wamid);
	meta_webhook_ok(m, "meta-inbound-text.json", &set);
	if (wamid_out)
		snprintf(wamid_out, 48, "%s", wamid);
}

/* A status webhook about message `wamid`: `fixture` with statuses[0].status = `status` (NULL:
 * the fixture's). */
static void meta_status(struct meta_e2e *m, const char *fixture, const char *wamid,
			const char *status, struct harness_http_resp *r)
{
	struct fake_meta_set set = { .status_id = wamid, .status = status };

	meta_webhook(m, fixture, &set, r);
}

static void meta_status_ok(struct meta_e2e *m, const char *fixture, const char *wamid,
			   const char *status)
{
	struct harness_http_resp r;

	meta_status(m, fixture, wamid, status, &r);
	if (r.status != 200)
		fail_msg("status webhook %s (%s): %ld %.300s, want 200", status ? status : fixture,
			 wamid, r.status, r.body);
	harness_http_release(&r);
}

/* ======== 0. the fake Meta and the signer, without a gateway ======== */

/* The test's signer agrees with the published vector (and the regression one), so a 403 from the
 * gateway below is the gateway's doing, not the test's. */
static void test_signer_matches_meta_vectors(void **state)
{
	char path[HARNESS_PATH_LEN], sig[FAKE_META_SIG_LEN], want[FAKE_META_SIG_LEN + 8];
	json_error_t jerr;
	json_t *doc, *v;
	size_t i, checked = 0;

	snprintf(path, sizeof(path), "%s/meta-signature-vectors.json", fixtures_dir());
	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		fail_msg("%s: %s", path, jerr.text);
	json_array_foreach(json_object_get(doc, "vectors"), i, v) {
		const char *body = json_string_value(json_object_get(v, "body"));
		const char *file = json_string_value(json_object_get(v, "body_file"));
		char *text = NULL;
		size_t len;

		if (file) {
			char fpath[HARNESS_PATH_LEN];

			snprintf(fpath, sizeof(fpath), "%s/%s", fixtures_dir(), file);
			text = harness_read_file(fpath, 1u << 20, &len);
			assert_non_null(text);
			body = text;
		} else {
			assert_non_null(body);
			len = strlen(body);
		}
		fake_meta_sign(jstr(v, "app_secret"), body, len, sig);
		snprintf(want, sizeof(want), "sha256=%s", jstr(v, "expected_hex"));
		if (strcmp(sig, want) != 0)
			fail_msg("vector %s: signed %s, want %s", jstr(v, "name"), sig, want);
		if (json_object_get(v, "header"))
			assert_string_equal(sig, jstr(v, "header"));
		free(text);
		checked++;
	}
	json_decref(doc);
	assert_int_equal(checked, 2);
}

#define FAKE_MESSAGES "/" META_GRAPH "/" META_PNID "/messages"
#define FAKE_AUTH "Bearer " META_TOKEN

/* One request to the fake: `auth` NULL sends no Authorization, `ctype` NULL no Content-Type. */
static void fake_call(struct fake_meta *fm, const char *method, const char *path, const char *auth,
		      const char *ctype, const char *body, struct harness_http_resp *r)
{
	char url[256], ah[256], ch[128];
	const char *headers[3] = { NULL };
	size_t n = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fake_meta_port(fm), path);
	if (auth) {
		snprintf(ah, sizeof(ah), "Authorization: %s", auth);
		headers[n++] = ah;
	}
	snprintf(ch, sizeof(ch), "Content-Type: %s", ctype ? ctype : "");
	headers[n++] = ch;
	assert_int_equal(harness_http(method, url, headers, body, body ? strlen(body) : 0, r), 0);
}

/* A send-request fixture with its "{{Recipient-Phone-Number}}" placeholder set to `to` and, when
 * `drop` is not NULL, that top-level member removed (caller frees). */
static char *request_fixture(const char *name, const char *to, const char *drop)
{
	char path[HARNESS_PATH_LEN];
	json_t *j;
	char *s;

	snprintf(path, sizeof(path), "%s/%s", fixtures_dir(), name);
	j = json_load_file(path, 0, NULL);
	assert_non_null(j);
	assert_string_equal(jstr(j, "to"), "{{Recipient-Phone-Number}}");
	json_object_set_new(j, "to", json_string(to));
	if (drop)
		assert_int_equal(json_object_del(j, drop), 0);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_non_null(s);
	return s;
}

/* Asserts a Graph error answer with `status` and `code`, shaped like the fixture. */
static void assert_graph_error(struct harness_http_resp *r, long status, long code)
{
	json_t *j, *err;

	if (r->status != status)
		fail_msg("fake answered %ld, want %ld: %.300s", r->status, status, r->body);
	assert_content_type(r, "application/json");
	j = parse_json(r);
	err = json_object_get(j, "error");
	assert_true(json_is_object(err));
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_object_size(err), 3);
	assert_int_equal(json_integer_value(json_object_get(err, "code")), code);
	assert_jstr(err, "type", "OAuthException");
	jstr(err, "message");
	json_decref(j);
	harness_http_release(r);
}

/* The fake refuses what the Cloud API refuses, with the Graph error shape, and records why. */
static void test_fake_meta_refusals(void **state)
{
	char *good = request_fixture("meta-send-text-request.json", CUSTOMER_WA, NULL);
	char *plus = request_fixture("meta-send-text-request.json", CUSTOMER_PHONE, NULL);
	char *no_product = request_fixture("meta-send-text-request.json", CUSTOMER_WA,
					   "messaging_product");
	char *no_text = request_fixture("meta-send-text-request.json", CUSTOMER_WA, "text");
	char *no_type = request_fixture("meta-send-text-request.json", CUSTOMER_WA, "type");
	/* Meta's own example uses currency and date_time parameters: the gateway sends text only */
	char *rich = request_fixture("meta-send-template-request.json", CUSTOMER_WA, NULL);
	char *no_tpl = request_fixture("meta-send-template-request.json", CUSTOMER_WA, "template");
	const struct {
		const char *method, *path, *auth, *ctype, *body;
		long status, code;
	} rows[] = {
		{ "POST", FAKE_MESSAGES, NULL, "application/json", good, 401, 190 },
		{ "POST", FAKE_MESSAGES, "Bearer wrong", "application/json", good, 401, 190 },
		{ "POST", FAKE_MESSAGES, META_TOKEN, "application/json", good, 401, 190 },
		{ "POST", "/v22.0/" META_PNID "/messages", FAKE_AUTH, "application/json", good, 400,
		  100 },
		{ "POST", "/" META_GRAPH "/1/messages", FAKE_AUTH, "application/json", good, 400,
		  100 },
		{ "GET", FAKE_MESSAGES, FAKE_AUTH, NULL, NULL, 400, 100 },
		{ "POST", FAKE_MESSAGES, FAKE_AUTH, "application/x-www-form-urlencoded", good, 400,
		  100 },
		{ "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", "{\"to\":", 400, 100 },
		{ "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", no_product, 400, 100 },
		{ "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", plus, 400, 100 },
		{ "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", no_type, 400, 100 },
		{ "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", no_text, 400, 100 },
		{ "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", rich, 400, 100 },
		{ "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", no_tpl, 400, 100 },
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct fake_meta *fm = fake_meta_start(META_GRAPH, META_PNID, META_TOKEN, fixtures_dir());
	struct harness_http_resp r;

	assert_non_null(fm);
	/* a scripted answer is for requests that pass the checks: refusals leave it queued */
	assert_int_equal(fake_meta_queue(fm, 400, 131026, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		const struct fake_meta_request *req;

		fake_call(fm, rows[i].method, rows[i].path, rows[i].auth, rows[i].ctype,
			  rows[i].body, &r);
		if (r.status != rows[i].status)
			fail_msg("row %zu: %ld, want %ld: %.300s", i, r.status, rows[i].status,
				 r.body);
		assert_graph_error(&r, rows[i].status, rows[i].code);
		req = fake_meta_request(fm, i);
		assert_non_null(req);
		assert_false(req->ok);
		assert_true(req->why[0] != '\0');
		assert_int_equal(req->status, rows[i].status);
		assert_int_equal(req->code, rows[i].code);
		assert_string_equal(req->wamid, "");
	}
	assert_int_equal(fake_meta_count(fm), n);
	fake_call(fm, "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", good, &r);
	assert_graph_error(&r, 400, 131026);
	fake_meta_stop(fm);
	free(no_tpl);
	free(rich);
	free(no_type);
	free(no_text);
	free(no_product);
	free(plus);
	free(good);
}

/* The default 200 is the fixture with only messages[0].id rewritten; a text and a template are
 * recorded as sent; scripted answers come in order, then the default again. */
static void test_fake_meta_answers(void **state)
{
	char *text = request_fixture("meta-send-text-request.json", CUSTOMER_WA, NULL);
	char *tpl = request_fixture("meta-send-template-quick-reply-request.json", CUSTOMER_WA,
				    NULL);
	char path[HARNESS_PATH_LEN];
	struct fake_meta *fm = fake_meta_start(META_GRAPH, META_PNID, META_TOKEN, fixtures_dir());
	const struct fake_meta_request *req;
	struct harness_http_resp r;
	json_t *j, *fixture;

	assert_non_null(fm);
	fake_call(fm, "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json; charset=utf-8", text,
		  &r);
	assert_int_equal(r.status, 200);
	assert_content_type(&r, "application/json");
	j = parse_json(&r);
	harness_http_release(&r);
	snprintf(path, sizeof(path), "%s/meta-send-response-200.json", fixtures_dir());
	fixture = json_load_file(path, 0, NULL);
	assert_non_null(fixture);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
				    json_object_get(j, "messages"), 0), "id")), "wamid.1");
	json_object_set_new(json_array_get(json_object_get(j, "messages"), 0), "id",
			    json_string(jstr(json_array_get(json_object_get(fixture, "messages"),
							     0), "id")));
	assert_true(json_equal(j, fixture));
	json_decref(fixture);
	json_decref(j);
	req = fake_meta_request(fm, 0);
	assert_true(req->ok);
	assert_int_equal(req->status, 200);
	assert_string_equal(req->wamid, "wamid.1");
	assert_string_equal(req->method, "POST");
	assert_string_equal(req->path, FAKE_MESSAGES);
	assert_string_equal(req->authorization, FAKE_AUTH);
	assert_string_equal(req->type, "text");
	assert_string_equal(req->to, CUSTOMER_WA);
	assert_string_equal(req->text, "text-message-content");
	assert_null(req->template_name);
	assert_string_equal(req->body, text);

	fake_call(fm, "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", tpl, &r);
	assert_int_equal(r.status, 200);
	harness_http_release(&r);
	req = fake_meta_request(fm, 1);
	assert_true(req->ok);
	assert_string_equal(req->type, "template");
	assert_string_equal(req->template_name, "sample_issue_resolution");
	assert_string_equal(req->template_lang, "en_US");
	assert_int_equal(req->n_params, 1);
	assert_string_equal(req->params[0], "*Mr. Jones*");
	assert_string_equal(req->wamid, "wamid.2");

	assert_int_equal(fake_meta_queue(fm, 400, 131047, "(#131047) Re-engagement message"), 0);
	assert_int_equal(fake_meta_queue(fm, 500, 0, NULL), 0);
	assert_int_equal(fake_meta_queue(fm, 429, 130429, NULL), 0);
	fake_call(fm, "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", text, &r);
	j = parse_json(&r);
	assert_jstr(json_object_get(j, "error"), "message", "(#131047) Re-engagement message");
	json_decref(j);
	assert_graph_error(&r, 400, 131047);
	fake_call(fm, "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", text, &r);
	assert_int_equal(r.status, 500);
	assert_int_equal(r.len, 0);
	harness_http_release(&r);
	fake_call(fm, "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", tpl, &r);
	assert_graph_error(&r, 429, 130429);
	fake_call(fm, "POST", FAKE_MESSAGES, FAKE_AUTH, "application/json", text, &r);
	assert_int_equal(r.status, 200);
	harness_http_release(&r);
	assert_int_equal(fake_meta_wait(fm, 6, 100), 6);
	assert_true(fake_meta_request(fm, 2)->ok);
	assert_int_equal(fake_meta_request(fm, 2)->code, 131047);
	assert_int_equal(fake_meta_request(fm, 3)->status, 500);
	assert_int_equal(fake_meta_request(fm, 4)->status, 429);
	assert_string_equal(fake_meta_request(fm, 5)->wamid, "wamid.3");
	assert_true(fake_meta_request(fm, 5)->at_ms >= fake_meta_request(fm, 0)->at_ms);
	fake_meta_stop(fm);
	free(tpl);
	free(text);
}

/* fake_meta_webhook_body() rewrites exactly the members it is given and refuses to invent any. */
static void test_fake_meta_webhook_bodies(void **state)
{
	static const char *const names[] = {
		"meta-inbound-text.json", "meta-inbound-interactive-list-reply.json",
		"meta-inbound-template-button.json", "meta-status-sent.json",
	};
	const struct fake_meta_set sets[] = {
		{ .from = "34600111222", .message_id = "wamid.X1", .text = "9" },
		{ .from = "34600111222", .message_id = "wamid.X2", .list_reply_id = "nps_8" },
		{ .from = "34600111222", .message_id = "wamid.X3", .button_payload = "7" },
		{ .status_id = "wamid.X4", .status = "read" },
	};
	struct fake_meta_set invented = { .text = "9" };
	char path[HARNESS_PATH_LEN];
	struct buf b;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *got, *want, *value, *m0, *s0;

		snprintf(path, sizeof(path), "%s/%s", fixtures_dir(), names[i]);
		buf_init(&b, 64u << 10);
		assert_int_equal(fake_meta_webhook_body(path, &sets[i], &b), 0);
		assert_null(memchr(buf_cstr(&b), '\n', b.len));   /* compact, as Meta sends */
		got = json_loads(buf_cstr(&b), 0, NULL);
		want = json_load_file(path, 0, NULL);
		assert_non_null(got);
		assert_non_null(want);
		/* put the expected rewrites into the fixture: then the two must be equal */
		value = json_object_get(json_array_get(json_object_get(json_array_get(
				json_object_get(want, "entry"), 0), "changes"), 0), "value");
		m0 = json_array_get(json_object_get(value, "messages"), 0);
		s0 = json_array_get(json_object_get(value, "statuses"), 0);
		if (sets[i].from) {
			json_object_set_new(m0, "from", json_string(sets[i].from));
			json_object_set_new(m0, "id", json_string(sets[i].message_id));
		}
		if (sets[i].text)
			json_object_set_new(json_object_get(m0, "text"), "body",
					    json_string(sets[i].text));
		if (sets[i].list_reply_id)
			json_object_set_new(json_object_get(json_object_get(m0, "interactive"),
							    "list_reply"), "id",
					    json_string(sets[i].list_reply_id));
		if (sets[i].button_payload)
			json_object_set_new(json_object_get(m0, "button"), "payload",
					    json_string(sets[i].button_payload));
		if (sets[i].status) {
			json_object_set_new(s0, "id", json_string(sets[i].status_id));
			json_object_set_new(s0, "status", json_string(sets[i].status));
		}
		if (!json_equal(got, want))
			fail_msg("%s: the body differs from the fixture beyond the rewrites: %s",
				 names[i], buf_cstr(&b));
		json_decref(want);
		json_decref(got);
		buf_release(&b);
	}
	/* the members of `set` must exist: no text.body in a status, no list_reply in a text */
	snprintf(path, sizeof(path), "%s/meta-status-sent.json", fixtures_dir());
	buf_init(&b, 64u << 10);
	assert_int_equal(fake_meta_webhook_body(path, &invented, &b), -1);
	invented = (struct fake_meta_set){ .list_reply_id = "nps_8" };
	snprintf(path, sizeof(path), "%s/meta-inbound-text.json", fixtures_dir());
	assert_int_equal(fake_meta_webhook_body(path, &invented, &b), -1);
	buf_release(&b);
}

/* ======== 1. a survey to a customer who never wrote: the approved template ======== */

static void test_survey_to_new_customer_is_template(void **state)
{
	struct meta_e2e *m = *state;
	const struct fake_meta_request *req;
	char *id = trigger(m, "chat-1", "nps"), *id2;
	json_t *j;

	req = expect_request(m, 0);
	assert_template(req, "encuesta_nps", "es");
	assert_int_equal(req->status, 200);
	j = wait_status(&m->e, id, "sent");
	assert_jstr(j, "channel", "whatsapp");
	assert_jstr(j, "phone", CUSTOMER_PHONE);
	assert_jstr(j, "provider", "meta");
	assert_jstr(j, "provider_message_id", req->wamid);
	assert_true(json_is_null(json_object_get(j, "error")));
	json_decref(j);

	/* the kind picks the template: CES is encuesta_ces */
	id2 = trigger(m, "chat-2", "ces");
	req = expect_request(m, 1);
	assert_template(req, "encuesta_ces", "es");
	json_decref(wait_status(&m->e, id2, "sent"));
	assert_no_more_requests_meta(m, 2);
	free(id2);
	free(id);
	m->e.passed = 1;
}

/* ======== 2. replies ======== */

/* A text "9" answers the survey; the customer just wrote, so the thank-you is free-form text. */
static void test_text_reply_answers_and_thanks_in_session(void **state)
{
	struct meta_e2e *m = *state;
	const struct fake_meta_request *req;
	char *id = survey_sent(m, "chat-1", 0, NULL);
	json_t *j;

	assert_template(fake_meta_request(m->fm, 0), "encuesta_nps", "es");
	customer_says(m, "9", NULL);
	j = wait_status(&m->e, id, "answered");
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	req = expect_request(m, 1);
	if (!strcasestr(assert_text(req), "gracias"))
		fail_msg("the thank-you is not a Spanish thank-you: %s", req->text);
	assert_no_more_requests_meta(m, 2);
	free(id);
	m->e.passed = 1;
}

/* An interactive list reply whose row id is "nps_8" answers 8 (the row's title is Meta's example
 * text, so only the id can say 8). */
static void test_list_reply_answers(void **state)
{
	struct meta_e2e *m = *state;
	char *id = survey_sent(m, "chat-1", 0, NULL), wamid[48];
	struct fake_meta_set set = { .from = CUSTOMER_WA, .message_id = wamid,
				     .list_reply_id = "nps_8" };

	next_wamid(m, wamid);
	meta_webhook_ok(m, "meta-inbound-interactive-list-reply.json", &set);
	json_decref(wait_score(m, id, 8));
	json_decref(wait_status(&m->e, id, "answered"));
	assert_text(expect_request(m, 1));
	free(id);
	m->e.passed = 1;
}

/* A template quick-reply button with payload "7" answers 7. */
static void test_button_payload_answers(void **state)
{
	struct meta_e2e *m = *state;
	char *id = survey_sent(m, "chat-1", 0, NULL), wamid[48];
	struct fake_meta_set set = { .from = CUSTOMER_WA, .message_id = wamid,
				     .button_payload = "7" };

	next_wamid(m, wamid);
	meta_webhook_ok(m, "meta-inbound-template-button.json", &set);
	json_decref(wait_score(m, id, 7));
	json_decref(wait_status(&m->e, id, "answered"));
	assert_text(expect_request(m, 1));
	free(id);
	m->e.passed = 1;
}

/* ======== 3. delivery statuses ======== */

/* sent, then read, then a late delivered: the survey stays read. */
static void test_status_read_not_undone_by_late_delivered(void **state)
{
	struct meta_e2e *m = *state;
	char wamid[48], *id = survey_sent(m, "chat-1", 0, wamid);

	meta_status_ok(m, "meta-status-sent.json", wamid, NULL);
	assert_status_stays(m, id, "sent");
	/* Meta introduces this example as a v24.0 "read" webhook */
	meta_status_ok(m, "meta-status-v24-minimal.json", wamid, "read");
	json_decref(wait_status(&m->e, id, "read"));
	meta_status_ok(m, "meta-status-sent.json", wamid, "delivered");
	assert_status_stays(m, id, "read");
	assert_no_more_requests_meta(m, 1);
	free(id);
	m->e.passed = 1;
}

/* A failed status marks the survey failed with Meta's errors[0].code. */
static void test_status_failed_keeps_code(void **state)
{
	struct meta_e2e *m = *state;
	char wamid[48], *id = survey_sent(m, "chat-1", 0, wamid);
	json_t *j;

	meta_status_ok(m, "meta-status-failed-131049.json", wamid, NULL);
	j = wait_status(&m->e, id, "failed");
	if (!error_code_of(j) || strcmp(error_code_of(j), "131049") != 0)
		fail_msg("error.code %s, want 131049", error_code_of(j) ? error_code_of(j) : "-");
	json_decref(j);
	free(id);
	m->e.passed = 1;
}

/* ======== 4. messages without an id ======== */

/* entry[0].changes[0].value.messages of a notification (borrowed). */
static json_t *messages_of(json_t *root)
{
	json_t *entry = json_array_get(json_object_get(root, "entry"), 0);
	json_t *change = json_array_get(json_object_get(entry, "changes"), 0);
	json_t *messages = json_object_get(json_object_get(change, "value"), "messages");

	assert_true(json_is_array(messages));
	return messages;
}

/* The customer's "9" (meta-inbound-text.json) with messages[0].id set to `id`, or removed when
 * id is NULL. */
static json_t *text_with_id(const char *id)
{
	struct fake_meta_set set = { .from = CUSTOMER_WA, .text = "9" };
	json_t *root = meta_json("meta-inbound-text.json", &set);
	json_t *msg = json_array_get(messages_of(root), 0);

	if (id)
		assert_int_equal(json_object_set_new(msg, "id", json_string(id)), 0);
	else
		assert_int_equal(json_object_del(msg, "id"), 0);
	return root;
}

/*
 * One notification, two messages: the customer's "9" and a copy without a usable id.  The good
 * one is stored and answered, the other left out and logged, and the answer is 200: a non-2xx
 * would have Meta send the whole notification again for days, and no redelivery could supply the
 * missing id.  Sent again anyway, it changes nothing.
 */
static void test_notification_keeps_good_messages(void **state)
{
	static const char *const logged[] = { "event=webhook_skipped", "messages[].id", NULL };
	static const char *const bad_ids[] = { NULL, " " };
	struct meta_e2e *m = *state;
	char *id = survey_sent(m, "chat-1", 0, NULL), wamid[48];
	struct harness_http_resp r;
	long stored = 0;
	json_t *j;

	next_wamid(m, wamid);
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		json_t *root = text_with_id(wamid), *messages = messages_of(root);
		json_t *copy = json_deep_copy(json_array_get(messages, 0));

		if (bad_ids[i])
			assert_int_equal(json_object_set_new(copy, "id", json_string(bad_ids[i])), 0);
		else
			assert_int_equal(json_object_del(copy, "id"), 0);
		assert_int_equal(json_array_append_new(messages, copy), 0);
		meta_post_json(m, root, &r);
		if (r.status != 200)
			fail_msg("two messages, the second's id %s: %ld %.300s, want 200",
				 bad_ids[i] ? "blank" : "missing", r.status, r.body);
		harness_http_release(&r);
		if (i > 0)
			continue;
		j = wait_status(&m->e, id, "answered");
		assert_int_equal(score_of(j), 9);
		json_decref(j);
		assert_text(expect_request(m, 1));
		stored = harness_db_count_mentions(m->e.db, "message", wamid);
		if (stored < 1)
			fail_msg("the good message %s is not stored", wamid);
		wait_log_line(m, logged);
	}
	assert_no_more_requests_meta(m, 2);
	assert_int_equal(harness_db_count_mentions(m->e.db, "message", wamid), stored);
	j = survey_get(&m->e, id);
	assert_jstr(j, "status", "answered");
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	free(id);
	m->e.passed = 1;
}

/* ======== 5. the verification handshake ======== */

/* The query of meta-webhook-verify.http's request line into `out`; the token replaced by `token`
 * when it is not NULL. */
static void verify_query(const char *token, char *out, size_t len)
{
	char path[HARNESS_PATH_LEN];
	char *text, *q, *end, *tok;

	snprintf(path, sizeof(path), "%s/meta-webhook-verify.http", fixtures_dir());
	text = harness_read_file(path, 4096, NULL);
	assert_non_null(text);
	q = strchr(text, '?');
	assert_non_null(q);
	end = strchr(q, ' ');
	assert_non_null(end);
	*end = '\0';
	tok = strstr(q, "hub.verify_token=" META_VERIFY);
	assert_non_null(tok);
	if (token)
		snprintf(out, len, "%.*shub.verify_token=%s%s", (int)(tok - q - 1), q + 1, token,
			 tok + strlen("hub.verify_token=" META_VERIFY));
	else
		snprintf(out, len, "%s", q + 1);
	free(text);
}

static void test_verify_handshake(void **state)
{
	struct meta_e2e *m = *state;
	struct harness_http_resp r;
	char query[512], path[600];

	verify_query(NULL, query, sizeof(query));
	snprintf(path, sizeof(path), "/webhooks/meta?%s", query);
	api(&m->e, "GET", path, NULL, NULL, NULL, 0, &r);
	if (r.status != 200)
		fail_msg("GET %s: %ld %.300s, want 200", path, r.status, r.body);
	assert_content_type(&r, "text/plain");
	assert_int_equal(r.len, strlen("1158201444"));
	assert_string_equal(r.body, "1158201444");
	harness_http_release(&r);

	verify_query("not-the-verify-token", query, sizeof(query));
	snprintf(path, sizeof(path), "/webhooks/meta?%s", query);
	api(&m->e, "GET", path, NULL, NULL, NULL, 0, &r);
	if (r.status != 403)
		fail_msg("GET %s: %ld %.300s, want 403", path, r.status, r.body);
	if (strstr(r.body, "1158201444"))
		fail_msg("a refused handshake echoed the challenge: %.300s", r.body);
	harness_http_release(&r);
	m->e.passed = 1;
}

/* ======== 6. send errors ======== */

/* What a send-error test scripts and expects (the prestate of its table row). */
struct send_case {
	int status, code;
	const char *message;
	unsigned checks;
};

enum {
	CHECK_OPTED_OUT = 1 << 0,       /* later triggers for the phone answer 409 */
	CHECK_CONFIG_LOG = 1 << 1,      /* the log says "configuration" */
};

static const struct send_case case_131026 = {
	400, 131026, "(#131026) Message undeliverable", 0 };
static const struct send_case case_131049 = {
	400, 131049, "(#131049) This message was not delivered to maintain healthy ecosystem "
	"engagement.", 0 };
static const struct send_case case_131050 = {
	400, 131050, "(#131050) Unable to deliver the message. This recipient has chosen to stop "
	"receiving marketing messages on WhatsApp from your business.", CHECK_OPTED_OUT };
static const struct send_case case_100 = {
	400, 100, "(#100) Invalid parameter", CHECK_CONFIG_LOG };
static const struct send_case case_132001 = {
	400, 132001, "(#132001) Template name does not exist in the translation", CHECK_CONFIG_LOG
};

/* A permanent error: the survey fails with Meta's code after one request, never retried (not even
 * an hour later); an opt-out error suppresses the phone, a configuration error says so in the log,
 * any other leaves later triggers alone. */
static void test_send_fails_permanently(void **state)
{
	struct meta_e2e *m = *state;
	const struct send_case *c = m->prestate;
	const struct fake_meta_request *req;
	struct harness_http_resp r;
	char code[16], *id;
	json_t *j;

	snprintf(code, sizeof(code), "%d", c->code);
	assert_int_equal(fake_meta_queue(m->fm, c->status, c->code, c->message), 0);
	id = trigger(m, "chat-1", "nps");
	req = expect_request(m, 0);
	assert_int_equal(req->status, c->status);
	assert_int_equal(req->code, c->code);
	j = wait_status(&m->e, id, "failed");
	if (!error_code_of(j) || strcmp(error_code_of(j), code) != 0)
		fail_msg("error.code %s, want %s", error_code_of(j) ? error_code_of(j) : "-", code);
	json_decref(j);
	if (c->checks & CHECK_CONFIG_LOG) {
		static const char *const needles[] = { "configuration", NULL };

		wait_log_line(m, needles);
	}
	clock_set(m, m->e.now + HOUR);
	assert_no_more_requests_meta(m, 1);

	/* the suppression is written right after the failure; give it a bounded moment */
	if (c->checks & CHECK_OPTED_OUT) {
		long long deadline = harness_now_ms() + E2E_POLL_MS;

		while (harness_db_count_mentions(m->e.db, "suppress", CUSTOMER_PHONE) < 1 &&
		       harness_now_ms() < deadline)
			harness_sleep_ms(E2E_POLL_STEP_MS);
	}
	post_trigger(m, "chat-2", "nps", &r);
	if (c->checks & CHECK_OPTED_OUT) {
		json_t *err;

		assert_json_error(&r, 409);
		j = parse_json(&r);
		err = json_object_get(j, "error");
		assert_jstr(err, "code", "customer_opted_out");
		json_decref(j);
		assert_no_more_requests_meta(m, 1);
	} else if (r.status != 202) {
		fail_msg("a later trigger after error %s: %ld %.300s, want 202", code, r.status,
			 r.body);
	}
	harness_http_release(&r);
	free(id);
	m->e.passed = 1;
}

/* 131056 (pair rate limit: one message every 6 s to the same user): the retry waits until the
 * fake clock moved at least 6 s, not just the 1 s backoff. */
static void test_send_pair_rate_limit_waits(void **state)
{
	struct meta_e2e *m = *state;
	const struct fake_meta_request *req;
	long long t_first = m->e.now;
	char *id;
	json_t *j;

	assert_int_equal(fake_meta_queue(m->fm, 400, 131056, "(#131056) (Business Account, "
					 "Consumer Account) pair rate limit hit"), 0);
	id = trigger(m, "chat-1", "nps");
	req = expect_request(m, 0);
	assert_int_equal(req->code, 131056);
	assert_no_more_requests_meta(m, 1);
	clock_set(m, t_first + 2);
	assert_no_more_requests_meta(m, 1);
	clock_set(m, t_first + 5);
	assert_no_more_requests_meta(m, 1);
	assert_status_never(m, id, "failed");
	/* at +6 s the retry is due; should the gateway have chosen a longer wait, expect_retry()
	 * moves the clock on from here (the contract is the lower bound) */
	clock_set(m, t_first + 6);
	if (fake_meta_wait(m->fm, 2, 1500) >= 2)
		req = expect_request(m, 1);
	else
		req = expect_retry(m, 1);
	assert_int_equal(req->status, 200);
	j = wait_status(&m->e, id, "sent");
	assert_jstr(j, "provider_message_id", req->wamid);
	json_decref(j);
	assert_no_more_requests_meta(m, 2);
	free(id);
	m->e.passed = 1;
}

/* 190 (the access token is refused): the provider pauses; the survey is not failed, /healthz says
 * degraded with meta paused, and nothing more reaches Meta, not even a new survey. */
static void test_send_auth_error_pauses(void **state)
{
	struct meta_e2e *m = *state;
	const struct fake_meta_request *req;
	long long deadline;
	char *id, *id2;
	json_t *h, *meta;

	assert_int_equal(fake_meta_queue(m->fm, 401, 190, "Invalid OAuth access token - Cannot "
					 "parse access token"), 0);
	id = trigger(m, "chat-1", "nps");
	req = expect_request(m, 0);
	assert_int_equal(req->status, 401);
	deadline = harness_now_ms() + E2E_POLL_MS;
	for (;;) {
		const char *st;

		h = healthz(m);
		meta = json_object_get(json_object_get(h, "providers"), "meta");
		st = json_string_value(json_object_get(meta, "state"));
		if (st && strcmp(st, "paused") == 0)
			break;
		if (harness_now_ms() >= deadline) {
			char *dump = json_dumps(h, JSON_COMPACT);

			fail_msg("/healthz does not show meta paused after a 190: %s",
				 dump ? dump : "?");
		}
		json_decref(h);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
	assert_jstr(h, "status", "degraded");
	jstr(meta, "reason");
	json_decref(h);
	assert_status_never(m, id, "failed");

	id2 = trigger(m, "chat-2", "nps");
	clock_set(m, m->e.now + HOUR);
	assert_no_more_requests_meta(m, 1);
	assert_status_never(m, id, "failed");
	assert_status_never(m, id2, "failed");
	free(id2);
	free(id);
	m->e.passed = 1;
}

/* 131047 (outside the 24-hour window) on a free-form survey: the same message goes again at once,
 * as the template. */
static void test_send_outside_window_resent_as_template(void **state)
{
	struct meta_e2e *m = *state;
	const struct fake_meta_request *req;
	char *id;
	json_t *j;

	/* a text with no survey open: stored, unanswered, and it opens the session */
	customer_says(m, "hola", NULL);
	assert_no_more_requests_meta(m, 0);
	assert_int_equal(fake_meta_queue(m->fm, 400, 131047, "(#131047) Re-engagement message"),
			 0);
	id = trigger(m, "chat-1", "nps");
	req = expect_request(m, 0);
	assert_int_equal(req->code, 131047);
	if (!strstr(assert_text(req), "10"))
		fail_msg("the free-form survey does not name the 0-10 scale: %s", req->text);
	req = expect_request(m, 1);
	assert_template(req, "encuesta_nps", "es");
	assert_int_equal(req->status, 200);
	j = wait_status(&m->e, id, "sent");
	assert_jstr(j, "provider_message_id", req->wamid);
	json_decref(j);
	assert_no_more_requests_meta(m, 2);
	free(id);
	m->e.passed = 1;
}

#define FAKE_TEST(f) cmocka_unit_test(f)
#define META_TEST(f) cmocka_unit_test_setup_teardown(f, meta_setup, meta_teardown)
#define SEND_CASE(name, f, c) { name, f, meta_setup, meta_teardown, (void *)(c) }

int main(void)
{
	const char *only = getenv("E2E_ONLY");
	const struct CMUnitTest tests[] = {
		/* 0 */
		FAKE_TEST(test_signer_matches_meta_vectors),
		FAKE_TEST(test_fake_meta_refusals),
		FAKE_TEST(test_fake_meta_answers),
		FAKE_TEST(test_fake_meta_webhook_bodies),
		/* 1 */
		META_TEST(test_survey_to_new_customer_is_template),
		/* 2 */
		META_TEST(test_text_reply_answers_and_thanks_in_session),
		META_TEST(test_list_reply_answers),
		META_TEST(test_button_payload_answers),
		/* 3 */
		META_TEST(test_status_read_not_undone_by_late_delivered),
		META_TEST(test_status_failed_keeps_code),
		/* 4 */
		/* 4b */
		META_TEST(test_notification_keeps_good_messages),
		/* 5 */
		/* 6 */
		META_TEST(test_verify_handshake),
		/* 7 */
		SEND_CASE("test_send_131026_fails", test_send_fails_permanently, &case_131026),
		SEND_CASE("test_send_131049_fails_no_retry", test_send_fails_permanently,
			  &case_131049),
		SEND_CASE("test_send_131050_opts_out", test_send_fails_permanently, &case_131050),
		SEND_CASE("test_send_100_config_error", test_send_fails_permanently, &case_100),
		SEND_CASE("test_send_132001_config_error", test_send_fails_permanently,
			  &case_132001),
		META_TEST(test_send_pair_rate_limit_waits),
		META_TEST(test_send_auth_error_pauses),
		META_TEST(test_send_outside_window_resent_as_template),
	};

	/* E2E_ONLY=test_send_* runs the matching tests only (cmocka's * and ? wildcards) */
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
