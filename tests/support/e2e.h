/*
 * e2e.h - what the end-to-end tests (tests/test_e2e_*.c) share: one fake Twilio plus one
 * build/gateway per test, and the checks every such test makes on the gateway's answers.
 *
 * Invariants:
 *  - A `struct e2e` comes from e2e_start() (or the cmocka setup e2e_setup()) with its gateway
 *    running and healthy, and goes with e2e_teardown(), which stops the gateway, the fake and
 *    removes the temp dir.  A test that got to its end sets `passed`; otherwise the teardown
 *    prints the tail of the gateway's log.
 *  - The tests talk to the gateway only through its external contract: HTTP on its loopback port
 *    as the helpdesk (api()), and signed webhooks as Twilio (twilio_webhook()).
 *  - Every check fails the running cmocka test (fail_msg, which does not return) instead of
 *    returning an error; a helper that returns a value has passed its checks.  Waits are bounded
 *    polls of at most E2E_POLL_MS, never a sleep for the thing awaited.
 *
 * Environment: GATEWAY_BIN (default build/gateway, read by harness_gw_start()), FIXTURES (default
 * tests/fixtures), E2E_KEEP_TMP=1 keeps the temp dirs (harness.h).
 */
#ifndef GW_TESTS_E2E_H
#define GW_TESTS_E2E_H

#include <stddef.h>

#include <jansson.h>

#include "fake_twilio.h"
#include "harness.h"

#define E2E_POLL_MS 5000        /* longest wait for something that must happen */
#define E2E_POLL_STEP_MS 50
/* how long "nothing more happens" is watched: 4 of the dispatcher's 250 ms idle waits */
#define E2E_QUIET_MS 1000

/* One test's world.  Paths are under `dir`; `clock` is "" when the gateway runs on the real
 * clock. */
struct e2e {
	char dir[HARNESS_PATH_LEN];
	char conf[HARNESS_PATH_LEN];
	char db[HARNESS_PATH_LEN];
	char clock[HARNESS_PATH_LEN];   /* the fake clock file, named by GATEWAY_FAKE_CLOCK */
	long long now;                  /* what the clock file says */
	struct fake_twilio *tw;
	struct harness_gw gw;
	unsigned sid_seq;               /* for inbound MessageSids (next_sid()) */
	int passed;                     /* set by a test that got to its end, else the log is shown */
};

/* $FIXTURES, or tests/fixtures when it is unset or empty. */
const char *fixtures_dir(void);

/* ---- one fake Twilio + one gateway per test ---- */

/*
 * Creates a fresh temp dir, starts a fake Twilio, writes the config of
 * harness_write_config_opts(hc) (NULL: the defaults) pointing at it and starts the gateway on a
 * free port.  With `clock_start` non-zero the gateway runs on a fake clock: DIR/clock, reading
 * `clock_start` (Unix seconds) until a test rewrites it.  Returns the test's world (release with
 * e2e_teardown()), or NULL after a message on stderr, having released whatever it took.
 */
struct e2e *e2e_start(const struct harness_config *hc, long long clock_start);

/* cmocka setup: e2e_start() with the default config on the real clock, into *state. */
int e2e_setup(void **state);

/* cmocka teardown of *state: stops the gateway, which must exit 0 on SIGTERM (else -1), prints its
 * log when that or the test failed, stops the fake, removes the temp dir and frees *state. */
int e2e_teardown(void **state);

/* cmocka group setup and teardown: harness_global_init() and harness_global_cleanup(). */
int e2e_group_setup(void **state);
int e2e_group_teardown(void **state);

/* ---- checks on an answer ---- */

/* The answer's Content-Type starts with `want` (ASCII case-insensitive). */
void assert_content_type(const struct harness_http_resp *r, const char *want);

/* The answer's body as a JSON object (caller json_decref()s). */
json_t *parse_json(const struct harness_http_resp *r);

/* The string member `key` of `obj` (borrowed from `obj`); fails the test when it is absent or
 * not a string. */
const char *jstr(json_t *obj, const char *key);

/* The string member `key` of `obj` is exactly `want`. */
void assert_jstr(json_t *obj, const char *key, const char *want);

/* ---- the gateway's API ---- */

/* One call to the gateway at `path`: `key` NULL sends no Authorization, `ctype` NULL no
 * Content-Type.  Fails the test when no answer arrives; release *r with harness_http_release(). */
void api(struct e2e *e, const char *method, const char *path, const char *key, const char *ctype,
	 const char *body, size_t len, struct harness_http_resp *r);

/* GET /v1/surveys/{id}, which must answer 200; the survey (caller json_decref()s). */
json_t *survey_get(struct e2e *e, const char *id);

/* Polls GET /v1/surveys/{id} until its status is `want`; returns that survey (caller
 * json_decref()s). */
json_t *wait_status(struct e2e *e, const char *id, const char *want);

/* GET /metrics, which must answer 200 with Prometheus text; the text (caller frees). */
char *metrics_scrape(struct e2e *e);

/* The value of the sample whose name and labels are exactly `series` in the metrics `text`;
 * fails the test when there is none. */
double metrics_sample(const char *text, const char *series);

/* Scrapes until the sample `series` reads `want` (the gateway counts some things just after it
 * answered); returns that scrape (caller frees).  Fails after E2E_POLL_MS. */
char *metrics_scrape_until(struct e2e *e, const char *series, double want);

/* ---- what the fake Twilio received ---- */

/* Watches the fake for E2E_QUIET_MS: it must still have exactly `n` requests. */
void assert_no_more_requests(struct e2e *e, size_t n);

/* ---- speaking as Twilio ---- */

/* How twilio_webhook() signs: with the account's token, with another one, or not at all. */
enum sig_mode { SIG_OK, SIG_WRONG, SIG_NONE };

/* A fresh inbound MessageSid ("SMe2e" + 27 hex digits) into `out`. */
void next_sid(struct e2e *e, char out[40]);

/*
 * POSTs a Twilio webhook to `path`: the form fixture `fixture` (a file in fixtures_dir()) with the
 * `set` fields replaced (fake_twilio_form()), signed for public_url + path according to `mode`.
 * Fails the test when no answer arrives; release *r with harness_http_release().
 */
void twilio_webhook(struct e2e *e, const char *path, const char *fixture,
		    const char *const *set, enum sig_mode mode, struct harness_http_resp *r);

/* A customer's SMS `text` from `from` with MessageSid `sid`, as Twilio delivers it to
 * /webhooks/twilio; release *r with harness_http_release(). */
void twilio_inbound(struct e2e *e, const char *from, const char *text, const char *sid,
		    enum sig_mode mode, struct harness_http_resp *r);

/* An accepted inbound webhook: 200, text/xml, an empty TwiML <Response>. */
void assert_twiml_ok(const struct harness_http_resp *r);

/* A signed inbound SMS `text` from `from` with a fresh MessageSid (written to `sid_out`, 40 bytes,
 * when not NULL), which the gateway must accept (assert_twiml_ok()). */
void say(struct e2e *e, const char *from, const char *text, char *sid_out);

#endif
