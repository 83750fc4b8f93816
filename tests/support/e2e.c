/* e2e.c - see e2e.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

const char *fixtures_dir(void)
{
	const char *d = getenv("FIXTURES");

	return d && *d ? d : "tests/fixtures";
}

/* ---- one fake Twilio + one gateway per test ---- */

static void e2e_free(struct e2e *e)
{
	fake_twilio_stop(e->tw);
	if (e->dir[0])
		harness_tmpdir_remove(e->dir);
	free(e);
}

struct e2e *e2e_start(const struct harness_config *hc, long long clock_start)
{
	struct e2e *e = calloc(1, sizeof(*e));
	char env_clock[HARNESS_PATH_LEN + 32];
	const char *env[] = { env_clock, NULL };
	int port;

	if (!e)
		return NULL;
	if (harness_tmpdir_create(e->dir, sizeof(e->dir)) < 0)
		goto fail;
	if (clock_start) {
		if ((size_t)snprintf(e->clock, sizeof(e->clock), "%.*s/clock",
				     HARNESS_PATH_LEN - 16, e->dir) >= sizeof(e->clock))
			goto fail;
		e->now = clock_start;
		if (harness_clock_set(e->clock, e->now) < 0)
			goto fail;
		snprintf(env_clock, sizeof(env_clock), "GATEWAY_FAKE_CLOCK=%s", e->clock);
	}
	e->tw = fake_twilio_start(HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, fixtures_dir());
	if (!e->tw)
		goto fail;
	port = harness_free_port();
	if (port < 0 || harness_write_config_opts(e->dir, port, fake_twilio_port(e->tw), hc, e->conf,
						  e->db) < 0)
		goto fail;
	if (harness_gw_start(&e->gw, e->dir, e->conf, port, clock_start ? env : NULL) < 0)
		goto fail;
	return e;
fail:
	e2e_free(e);
	return NULL;
}

int e2e_setup(void **state)
{
	struct e2e *e = e2e_start(NULL, 0);

	if (!e)
		return -1;
	*state = e;
	return 0;
}

int e2e_teardown(void **state)
{
	struct e2e *e = *state;
	int code = harness_gw_stop(&e->gw);

	if (code != 0)
		fprintf(stderr, "gateway exit status on SIGTERM: %d (want 0)\n", code);
	if (code != 0 || !e->passed)
		harness_gw_print_log(&e->gw, 6000);
	e2e_free(e);
	return code == 0 ? 0 : -1;
}

int e2e_group_setup(void **state)
{
	return harness_global_init();
}

int e2e_group_teardown(void **state)
{
	harness_global_cleanup();
	return 0;
}

/* ---- checks on an answer ---- */

void assert_content_type(const struct harness_http_resp *r, const char *want)
{
	if (strncasecmp(r->content_type, want, strlen(want)) != 0)
		fail_msg("Content-Type \"%s\", want %s (body %.300s)", r->content_type, want,
			 r->body);
}

json_t *parse_json(const struct harness_http_resp *r)
{
	json_error_t err;
	json_t *j = json_loadb(r->body, r->len, 0, &err);

	if (!j || !json_is_object(j))
		fail_msg("answer is not a JSON object (%s): %.300s", j ? "not an object" : err.text,
			 r->body);
	return j;
}

const char *jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (!s) {
		char *dump = json_dumps(obj, JSON_COMPACT);

		fail_msg("\"%s\" is not a string in %s", key, dump ? dump : "?");
	}
	return s;
}

void assert_jstr(json_t *obj, const char *key, const char *want)
{
	const char *got = jstr(obj, key);

	if (strcmp(got, want) != 0) {
		char *dump = json_dumps(obj, JSON_COMPACT);

		fail_msg("\"%s\" is \"%s\", want \"%s\" in %s", key, got, want, dump ? dump : "?");
	}
}

/* ---- the gateway's API ---- */

void api(struct e2e *e, const char *method, const char *path, const char *key, const char *ctype,
	 const char *body, size_t len, struct harness_http_resp *r)
{
	char url[512], auth[128], ct[128];
	const char *headers[3] = { NULL };
	size_t n = 0;

	snprintf(url, sizeof(url), "%s%s", e->gw.base_url, path);
	if (key) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
		headers[n++] = auth;
	}
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "");
	/* "Content-Type:" with no value makes libcurl send none at all */
	headers[n++] = ct;
	if (harness_http(method, url, headers, body, len, r) < 0)
		fail_msg("%s %s: no answer", method, path);
}

json_t *survey_get(struct e2e *e, const char *id)
{
	struct harness_http_resp r;
	char path[256];
	json_t *j;

	snprintf(path, sizeof(path), "/v1/surveys/%s", id);
	api(e, "GET", path, HARNESS_API_KEY, NULL, NULL, 0, &r);
	if (r.status != 200)
		fail_msg("GET %s: %ld %.300s", path, r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	return j;
}

json_t *wait_status(struct e2e *e, const char *id, const char *want)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;
	char last[32] = "";

	for (;;) {
		json_t *s = survey_get(e, id);
		const char *st = json_string_value(json_object_get(s, "status"));

		if (st && strcmp(st, want) == 0)
			return s;
		snprintf(last, sizeof(last), "%s", st ? st : "(none)");
		json_decref(s);
		if (harness_now_ms() >= deadline)
			fail_msg("survey %s: status %s after %d ms, want %s", id, last, E2E_POLL_MS,
				 want);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

/* ---- what the fake Twilio received ---- */

void assert_no_more_requests(struct e2e *e, size_t n)
{
	size_t got = fake_twilio_wait(e->tw, n + 1, E2E_QUIET_MS);

	if (got != n) {
		const struct fake_twilio_request *req = fake_twilio_request(e->tw, got - 1);

		fail_msg("fake Twilio got %zu requests, want %zu; the last: To=%s Body=%s", got, n,
			 req->to ? req->to : "-", req->body ? req->body : "-");
	}
}

/* ---- speaking as Twilio ---- */

void next_sid(struct e2e *e, char out[40])
{
	snprintf(out, 40, "SMe2e%027x", ++e->sid_seq);
}

void twilio_webhook(struct e2e *e, const char *path, const char *fixture,
		    const char *const *set, enum sig_mode mode, struct harness_http_resp *r)
{
	char file[HARNESS_PATH_LEN], url[512], sig[FAKE_TWILIO_SIG_LEN], sig_hdr[96];
	const char *headers[3] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	struct buf body;

	buf_init(&body, 64u << 10);
	snprintf(file, sizeof(file), "%s/%s", fixtures_dir(), fixture);
	assert_int_equal(fake_twilio_form(file, set, &body), 0);
	/* public_url is the gateway's own base URL in the generated config */
	snprintf(url, sizeof(url), "%s%s", e->gw.base_url, path);
	assert_int_equal(fake_twilio_sign(mode == SIG_WRONG ? "0123456789abcdef0123456789abcdef" :
					  HARNESS_TWILIO_TOKEN, url, buf_cstr(&body), body.len,
					  sig), 0);
	if (mode != SIG_NONE) {
		snprintf(sig_hdr, sizeof(sig_hdr), "X-Twilio-Signature: %s", sig);
		headers[1] = sig_hdr;
	}
	if (harness_http("POST", url, headers, buf_cstr(&body), body.len, r) < 0)
		fail_msg("POST %s: no answer", path);
	buf_release(&body);
}

void twilio_inbound(struct e2e *e, const char *from, const char *text, const char *sid,
		    enum sig_mode mode, struct harness_http_resp *r)
{
	const char *set[] = {
		"From", from, "To", HARNESS_TWILIO_FROM, "Body", text,
		"MessageSid", sid, "SmsSid", sid, "SmsMessageSid", sid,
		"AccountSid", HARNESS_TWILIO_SID, NULL
	};

	twilio_webhook(e, "/webhooks/twilio", "twilio-inbound-sms.form", set, mode, r);
}

void assert_twiml_ok(const struct harness_http_resp *r)
{
	if (r->status != 200)
		fail_msg("inbound webhook: %ld %.300s, want 200", r->status, r->body);
	assert_content_type(r, "text/xml");
	if (!strstr(r->body, "<Response/>") && !strstr(r->body, "<Response />") &&
	    !strstr(r->body, "<Response></Response>"))
		fail_msg("inbound webhook answer is not an empty TwiML <Response>: %.300s", r->body);
}

void say(struct e2e *e, const char *from, const char *text, char *sid_out)
{
	struct harness_http_resp r;
	char sid[40];

	next_sid(e, sid);
	twilio_inbound(e, from, text, sid, SIG_OK, &r);
	/* says which text was refused, which assert_twiml_ok() cannot */
	if (r.status != 200)
		fail_msg("inbound \"%s\" from %s: %ld %.300s, want 200", text, from, r.status,
			 r.body);
	assert_twiml_ok(&r);
	harness_http_release(&r);
	if (sid_out)
		snprintf(sid_out, 40, "%s", sid);
}

char *metrics_scrape(struct e2e *e)
{
	struct harness_http_resp r;
	char *text;

	api(e, "GET", "/metrics", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_content_type(&r, "text/plain; version=0.0.4");
	text = strdup(r.body);
	assert_non_null(text);
	harness_http_release(&r);
	return text;
}

double metrics_sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');

		if (strncmp(line, series, n) == 0 && line[n] == ' ')
			return strtod(line + n + 1, NULL);
		if (!eol)
			break;
		line = eol + 1;
	}
	fail_msg("no sample %s in:\n%.3000s", series, text);
	return -1;
}

char *metrics_scrape_until(struct e2e *e, const char *series, double want)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;

	for (;;) {
		char *m = metrics_scrape(e);

		if (metrics_sample(m, series) == want)
			return m;
		if (harness_now_ms() > deadline)
			fail_msg("%s stays at %g, want %g", series, metrics_sample(m, series), want);
		free(m);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}
