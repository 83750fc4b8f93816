/*
 * test_e2e_conversation.c - the conversation rules of build/gateway, end to end, on a fake clock.
 *
 * Each test gets a fresh temp dir, database, fake Twilio and gateway process (tests/support/e2e.h)
 * started with the config the test names (cmocka's prestate: a struct conv_conf) and with
 * GATEWAY_FAKE_CLOCK pointing at DIR/clock, which starts at T0, a Wednesday at 12:00 in
 * Europe/Madrid, unless the test says otherwise.  Time moves only when a test rewrites that file;
 * the gateway reads it whenever it needs the time and its dispatcher looks at it at least every
 * 250 ms, so every wait below is a bounded poll, never a sleep for the rule.
 *
 * The tests speak only the external contract: POST /v1/surveys and GET /v1/surveys/{id} as the
 * helpdesk, signed POST /webhooks/twilio as Twilio, and what the fake Twilio received.  The SQLite
 * file is read (read-only) to prove it unchanged (db_snapshot) or to find what it holds about one
 * message id or phone number without knowing the schema.  Distinctive templates ([templates.xx] in
 * the generated config) make the expected message bodies exact.
 *
 * The rules, one section each below:
 *   1  an invalid reply gets one re-prompt; later invalid replies are stored, unanswered
 *   2  a score gets `thanks`; with follow_up = on, `follow_up`, and the next text in the window is
 *      the comment
 *   3  a new score before expiry replaces the old one; an invalid text after an answer is not
 *      re-prompted
 *   4  opt-out / opt-in words, suppression records, 409 customer_opted_out
 *   5  expiry of unanswered surveys
 *   6  fatigue: min_days_between
 *   7  timing: delay_seconds and quiet hours in the customer's time zone
 *   8  matching: a reply answers the newest open survey for the number
 *   9  templates: overrides, and a log warning when a text needs more than one SMS segment
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
#include <time.h>

#include "support/e2e.h"

#define HOUR 3600LL
#define DAY 86400LL
/* Wed 2026-11-25 12:00 CET = 11:00 UTC: a weekday noon in Europe/Madrid. */
#define T0 1795604400LL
/* America/Mexico_City is UTC-6 all year (no DST since 2022). */
#define MX_TZ "America/Mexico_City"
#define MX_WED_0900 1795618800LL        /* 2026-11-25T15:00:00Z */
#define MX_WED_1200 1795629600LL        /* 2026-11-25T18:00:00Z */
#define MX_WED_2330 1795671000LL        /* 2026-11-26T05:30:00Z */
#define MX_THU_0900 1795705200LL        /* 2026-11-26T15:00:00Z */

#define PHONE "+34600111222"
#define PHONE_2 "+34600333444"
#define PHONE_3 "+34600555666"
#define STRANGER_PHONE "+34600999888"

/* Templates whose rendering is easy to predict; {name} is "Ana", {brand} "Acme". */
#define TPL_ES                                                  \
	"[templates.es]\n"                                      \
	"nps = NPS {name} {brand} 0-10\n"                       \
	"thanks = THANKS {name}\n"                              \
	"follow_up = FOLLOWUP {name} {brand}\n"                 \
	"reprompt = REPROMPT {min}-{max}\n"                     \
	"opt_out = OPTOUT {name}\n"                             \
	"opt_in = OPTIN {name}\n"

#define FOLLOW_UP_ON "follow_up = on\nfollow_up_window = 24h\n"

/* Every template of a locale short and plain ASCII except `nps`, so that the only text that can
 * need more than one SMS segment is the nps one under test. */
#define SHORT_SECTION(loc, nps)                                                         \
	"[templates." loc "]\nnps = " nps "\nces = C {name}\ncsat = S {name}\n"        \
	"thanks = T {name}\nfollow_up = F {name}\nreprompt = R {min}-{max}\n"         \
	"opt_out = O {name}\nopt_in = I {name}\n"
#define X9 "xxxxxxxxx"
#define X10 "xxxxxxxxxx"
#define X50 X10 X10 X10 X10 X10
#define X100 X50 X50
#define A_ACUTE "\xc3\xa1"      /* U+00E1, not in the GSM 03.38 alphabet: forces UCS-2 */

/* What a test runs against: cmocka's prestate, read by conv_setup(). */
struct conv_conf {
	struct harness_config hc;
	long long start;        /* the fake clock's first reading; 0: T0 */
};

/* ---- fixtures: one fake Twilio + one gateway on a fake clock per test ---- */

/* cmocka setup: the gateway on the config of the prestate (a struct conv_conf, NULL: defaults), on
 * a fake clock at its `start`. */
static int conv_setup(void **state)
{
	const struct conv_conf *cc = *state;
	struct e2e *e = e2e_start(cc ? &cc->hc : NULL, cc && cc->start ? cc->start : T0);

	if (!e)
		return -1;
	*state = e;
	return 0;
}

/* Moves the fake clock to `t` (Unix seconds). */
static void clock_set(struct e2e *e, long long t)
{
	assert_int_equal(harness_clock_set(e->clock, t), 0);
	e->now = t;
}

static void iso_utc(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	assert_non_null(gmtime_r(&tt, &tm));
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- small checks ---- */

/* The survey's response object, or NULL when it has none (null or absent). */
static json_t *response_of(json_t *survey)
{
	json_t *r = json_object_get(survey, "response");

	return json_is_object(r) ? r : NULL;
}

/* The survey's response score, or -1 without a response. */
static long long score_of(json_t *survey)
{
	json_t *r = response_of(survey);

	return r ? json_integer_value(json_object_get(r, "score")) : -1;
}

static void assert_no_response(json_t *survey)
{
	if (response_of(survey)) {
		char *dump = json_dumps(survey, JSON_COMPACT);

		fail_msg("survey has a response, want none: %s", dump ? dump : "?");
	}
}

/* ---- the gateway's API ---- */

/* One trigger's variable parts. */
struct trig {
	const char *customer_id, *phone, *name, *locale, *timezone, *kind, *interaction;
	long delay_seconds;
};

/* The standard customer (cust-42, PHONE, Ana, es, no time zone) asked for NPS now. */
static struct trig trig_of(const char *interaction)
{
	struct trig t = {
		.customer_id = "cust-42", .phone = PHONE, .name = "Ana", .locale = "es",
		.kind = "nps", .interaction = interaction,
	};

	return t;
}

/* The trigger's JSON body (caller frees with free()). */
static char *trig_body(const struct trig *t)
{
	json_t *cust = json_object(), *root;
	char *s;

	assert_non_null(cust);
	json_object_set_new(cust, "id", json_string(t->customer_id));
	json_object_set_new(cust, "phone", json_string(t->phone));
	if (t->name)
		json_object_set_new(cust, "name", json_string(t->name));
	if (t->locale)
		json_object_set_new(cust, "locale", json_string(t->locale));
	if (t->timezone)
		json_object_set_new(cust, "timezone", json_string(t->timezone));
	root = json_pack("{s:o,s:s,s:s,s:{s:s,s:s},s:I}", "customer", cust, "kind", t->kind,
			 "channel", "sms", "interaction", "id", t->interaction, "touchpoint",
			 "support_chat", "delay_seconds", (json_int_t)t->delay_seconds);
	assert_non_null(root);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(s);
	return s;
}

static void post_trigger(struct e2e *e, const struct trig *t, struct harness_http_resp *r)
{
	char *body = trig_body(t);

	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, strlen(body), r);
	free(body);
}

/* A trigger that must answer `want`; returns the answer (caller json_decref()s). */
static json_t *trigger(struct e2e *e, const struct trig *t, long want)
{
	struct harness_http_resp r;
	json_t *j;

	post_trigger(e, t, &r);
	if (r.status != want)
		fail_msg("POST /v1/surveys (interaction %s, phone %s): %ld %.300s, want %ld",
			 t->interaction, t->phone, r.status, r.body, want);
	assert_content_type(&r, "application/json");
	j = parse_json(&r);
	harness_http_release(&r);
	return j;
}

/* A new survey (202, queued); returns its id (caller frees). */
static char *trigger_new(struct e2e *e, const struct trig *t)
{
	json_t *j = trigger(e, t, 202);
	char *id;

	assert_jstr(j, "status", "queued");
	id = strdup(jstr(j, "id"));
	assert_non_null(id);
	json_decref(j);
	return id;
}

/* Watches GET /v1/surveys/{id} for E2E_QUIET_MS: its status must stay `want`. */
static void assert_status_stays(struct e2e *e, const char *id, const char *want)
{
	long long deadline = harness_now_ms() + E2E_QUIET_MS;

	do {
		json_t *s = survey_get(e, id);
		const char *st = json_string_value(json_object_get(s, "status"));

		if (!st || strcmp(st, want) != 0)
			fail_msg("survey %s: status %s, want it to stay %s", id, st ? st : "(none)",
				 want);
		json_decref(s);
		harness_sleep_ms(E2E_POLL_STEP_MS * 4);
	} while (harness_now_ms() < deadline);
}

/* Polls until the survey's response has score `score`; returns that survey. */
static json_t *wait_score(struct e2e *e, const char *id, long long score)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;
	long long last;

	for (;;) {
		json_t *s = survey_get(e, id);

		last = score_of(s);
		if (last == score)
			return s;
		json_decref(s);
		if (harness_now_ms() >= deadline)
			fail_msg("survey %s: score %lld after %d ms, want %lld", id, last, E2E_POLL_MS,
				 score);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

/* The response's comment as JSON text ("null" when it has none); caller frees. */
static char *comment_dump(json_t *survey)
{
	json_t *r = response_of(survey);
	json_t *c = r ? json_object_get(r, "comment") : NULL;
	char *s = c ? json_dumps(c, JSON_ENCODE_ANY) : strdup("null");

	assert_non_null(s);
	return s;
}

/* Polls until the response's comment is the string `want`. */
static void wait_comment(struct e2e *e, const char *id, const char *want)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;

	for (;;) {
		json_t *s = survey_get(e, id);
		json_t *r = response_of(s);
		const char *c = r ? json_string_value(json_object_get(r, "comment")) : NULL;
		char *dump;

		if (c && strcmp(c, want) == 0) {
			json_decref(s);
			return;
		}
		if (harness_now_ms() >= deadline) {
			dump = comment_dump(s);
			fail_msg("survey %s: comment %s after %d ms, want \"%s\"", id, dump, E2E_POLL_MS,
				 want);
		}
		json_decref(s);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

/* A refused trigger: `status`, error `code` and `field`, the database unchanged by it. */
static void assert_trigger_refused(struct e2e *e, const struct trig *t, long status,
				   const char *code, const char *field)
{
	struct harness_http_resp r;
	char *before = db_snapshot(e->db), *after;
	json_t *j, *err;

	assert_non_null(before);
	post_trigger(e, t, &r);
	if (r.status != status)
		fail_msg("POST /v1/surveys (interaction %s, phone %s): %ld %.300s, want %ld",
			 t->interaction, t->phone, r.status, r.body, status);
	assert_content_type(&r, "application/json");
	j = parse_json(&r);
	err = json_object_get(j, "error");
	if (!json_is_object(err))
		fail_msg("refusal without an error object: %.300s", r.body);
	assert_jstr(err, "code", code);
	assert_jstr(err, "field", field);
	jstr(err, "message");
	json_decref(j);
	harness_http_release(&r);
	after = db_snapshot(e->db);
	assert_non_null(after);
	if (strcmp(before, after) != 0)
		fail_msg("a refused trigger (%ld %s) changed the database", status, code);
	free(after);
	free(before);
}

/* ---- what the fake Twilio received ---- */

/* The fake's request `i`, which must have arrived within E2E_POLL_MS, passed Twilio's checks, and
 * gone to `to` with body `body` (NULL: any). */
static const struct fake_twilio_request *expect_request(struct e2e *e, size_t i, const char *to,
							const char *body)
{
	const struct fake_twilio_request *req;

	if (fake_twilio_wait(e->tw, i + 1, E2E_POLL_MS) < i + 1)
		fail_msg("fake Twilio got %zu requests within %d ms, want %zu (the next one to %s%s%s)",
			 fake_twilio_count(e->tw), E2E_POLL_MS, i + 1, to, body ? ": " : "",
			 body ? body : "");
	req = fake_twilio_request(e->tw, i);
	if (!req->ok)
		fail_msg("request %zu to Twilio is not one Twilio accepts: %s", i, req->why);
	if (!req->to || strcmp(req->to, to) != 0)
		fail_msg("request %zu went To=%s (Body=%s), want To=%s", i, req->to ? req->to : "-",
			 req->body ? req->body : "-", to);
	if (body && (!req->body || strcmp(req->body, body) != 0))
		fail_msg("request %zu to %s: Body \"%s\", want \"%s\"", i, to,
			 req->body ? req->body : "-", body);
	return req;
}

/* Waits until the gateway recorded the fake's answer to `req` (its message sid is stored), so a
 * later db_snapshot() does not race the dispatcher's bookkeeping. */
static void wait_recorded(struct e2e *e, const struct fake_twilio_request *req)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;

	while (harness_db_count_value(e->db, req->sid) < 1) {
		if (harness_now_ms() >= deadline)
			fail_msg("Twilio message %s (to %s) not recorded within %d ms", req->sid,
				 req->to, E2E_POLL_MS);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

/* Triggers `t`, waits until its question is the fake's request `i` and the survey is sent;
 * returns its id (caller frees). */
static char *survey_sent(struct e2e *e, const struct trig *t, size_t i)
{
	char *id = trigger_new(e, t);

	wait_recorded(e, expect_request(e, i, t->phone, NULL));
	json_decref(wait_status(e, id, "sent"));
	return id;
}

/* ---- speaking as Twilio ---- */

/* The inbound message `sid` is stored as a row of a messages table.  The webhook is answered
 * only after its rows are durable, so no wait is needed. */
static void assert_message_stored(struct e2e *e, const char *sid)
{
	if (harness_db_count_mentions(e->db, "message", sid) < 1)
		fail_msg("inbound message %s is not stored in a messages table", sid);
}

/* ---- rule 1: one re-prompt per survey ---- */

static const struct conv_conf reprompt_conf = {
	.hc.extra = "[templates.pt]\nreprompt = PT-REPROMPT {min}..{max}\n",
};

/* An invalid reply gets the re-prompt in the customer's language (pt) naming the kind's scale
 * (CES: 1 to 7); a second invalid reply is stored and gets nothing. */
static void test_invalid_reply_reprompts_once(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char sid[40];
	char *id;
	json_t *j;

	t.locale = "pt";
	t.name = "Joao";
	t.kind = "ces";
	id = survey_sent(e, &t, 0);
	say(e, PHONE, "oi", NULL);
	expect_request(e, 1, PHONE, "PT-REPROMPT 1..7");
	say(e, PHONE, "tudo bem", sid);
	assert_message_stored(e, sid);
	assert_no_more_requests(e, 2);
	j = survey_get(e, id);
	assert_jstr(j, "status", "sent");
	assert_no_response(j);
	json_decref(j);
	free(id);
	e->passed = 1;
}

/* ---- rule 2: thanks, follow-up question and comment ---- */

static const struct conv_conf thanks_conf = { .hc.extra = TPL_ES };

/* With follow_up off (the default) a score gets `thanks`, and the next text is not a comment: it
 * is stored and gets nothing. */
static void test_score_gets_thanks(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0), *before, *after, sid[40];
	json_t *j;

	say(e, PHONE, "9", NULL);
	j = wait_score(e, id, 9);
	assert_jstr(j, "status", "answered");
	before = comment_dump(j);
	json_decref(j);
	expect_request(e, 1, PHONE, "THANKS Ana");

	say(e, PHONE, "muy amables", sid);
	assert_message_stored(e, sid);
	assert_no_more_requests(e, 2);
	j = survey_get(e, id);
	after = comment_dump(j);
	if (strcmp(before, after) != 0)
		fail_msg("with follow_up off a later text changed the comment from %s to %s", before,
			 after);
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	free(after);
	free(before);
	free(id);
	e->passed = 1;
}

static const struct conv_conf follow_up_builtin_conf = { .hc.survey_extra = "follow_up = on\n" };

/* With follow_up on and no override the thank-you is the built-in Spanish follow-up question. */
static void test_follow_up_builtin_text(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0);
	json_t *j;

	say(e, PHONE, "9", NULL);
	expect_request(e, 1, PHONE,
		       "¡Gracias, Ana! ¿Nos cuentas el motivo de tu nota?");
	j = wait_score(e, id, 9);
	assert_jstr(j, "status", "answered");
	json_decref(j);
	assert_no_more_requests(e, 2);
	free(id);
	e->passed = 1;
}

static const struct conv_conf follow_up_conf = {
	.hc.survey_extra = FOLLOW_UP_ON,
	.hc.extra = TPL_ES,
};

/* With follow_up on: the score gets `follow_up`; the next text within the window, counted from
 * the score (not from the send), becomes the comment and gets no reply; the text after that
 * changes nothing. */
static void test_follow_up_comment(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0), sid[40];
	json_t *j;

	clock_set(e, T0 + 2 * HOUR);
	say(e, PHONE, "9", NULL);
	expect_request(e, 1, PHONE, "FOLLOWUP Ana Acme");
	json_decref(wait_score(e, id, 9));

	/* 23 h after the score, 25 h after the send */
	clock_set(e, T0 + 25 * HOUR);
	say(e, PHONE, "muy amables", sid);
	assert_message_stored(e, sid);
	wait_comment(e, id, "muy amables");
	assert_no_more_requests(e, 2);
	j = survey_get(e, id);
	assert_jstr(j, "status", "answered");
	assert_int_equal(score_of(j), 9);
	json_decref(j);

	say(e, PHONE, "y rapidos", sid);
	assert_message_stored(e, sid);
	assert_no_more_requests(e, 2);
	j = survey_get(e, id);
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	wait_comment(e, id, "muy amables");
	free(id);
	e->passed = 1;
}

/* A text after follow_up_window (24 h from the score) does not change the comment and is not
 * answered. */
static void test_follow_up_after_window(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0), *before, *after, sid[40];
	json_t *j;

	say(e, PHONE, "9", NULL);
	expect_request(e, 1, PHONE, "FOLLOWUP Ana Acme");
	j = wait_score(e, id, 9);
	before = comment_dump(j);
	json_decref(j);

	clock_set(e, T0 + 24 * HOUR + 60);
	say(e, PHONE, "muy amables", sid);
	assert_message_stored(e, sid);
	assert_no_more_requests(e, 2);
	j = survey_get(e, id);
	after = comment_dump(j);
	if (strcmp(before, after) != 0)
		fail_msg("a text after the follow-up window changed the comment from %s to %s",
			 before, after);
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	free(after);
	free(before);
	free(id);
	e->passed = 1;
}

/* ---- rule 3: a new score replaces the old one; no re-prompt once answered ---- */

static const struct conv_conf rescore_expiry_conf = {
	.hc.expire_after = "1h",
	.hc.extra = TPL_ES,
};

/* A second valid score before expiry replaces the first, is thanked again, and both texts stay
 * stored. */
static void test_new_score_replaces_old(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0), sid1[40], sid2[40];
	json_t *j;

	say(e, PHONE, "9", sid1);
	json_decref(wait_score(e, id, 9));
	expect_request(e, 1, PHONE, "THANKS Ana");

	clock_set(e, T0 + 10 * 60);
	say(e, PHONE, "6", sid2);
	j = wait_score(e, id, 6);
	assert_jstr(j, "status", "answered");
	json_decref(j);
	expect_request(e, 2, PHONE, "THANKS Ana");
	assert_message_stored(e, sid1);
	assert_message_stored(e, sid2);
	assert_no_more_requests(e, 3);
	free(id);
	e->passed = 1;
}

/* An invalid text after the survey is answered is stored and gets no re-prompt. */
static void test_invalid_after_answer_not_reprompted(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0), sid[40];
	json_t *j;

	say(e, PHONE, "9", NULL);
	json_decref(wait_score(e, id, 9));
	expect_request(e, 1, PHONE, "THANKS Ana");

	say(e, PHONE, "hola", sid);
	assert_message_stored(e, sid);
	assert_no_more_requests(e, 2);
	j = survey_get(e, id);
	assert_jstr(j, "status", "answered");
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	free(id);
	e->passed = 1;
}

/* Once the survey's expire_after has passed, a new score no longer replaces the answer. */
static void test_new_score_after_expiry_ignored(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0), sid[40];
	json_t *j;

	say(e, PHONE, "9", NULL);
	json_decref(wait_score(e, id, 9));
	expect_request(e, 1, PHONE, "THANKS Ana");

	clock_set(e, T0 + HOUR + 60);
	say(e, PHONE, "3", sid);
	assert_message_stored(e, sid);
	assert_no_more_requests(e, 2);
	j = survey_get(e, id);
	assert_int_equal(score_of(j), 9);
	json_decref(j);
	free(id);
	e->passed = 1;
}

/* ---- rule 4: opt-out and opt-in ---- */

static const struct conv_conf opt_out_conf = { .hc.extra = TPL_ES };

/* The rows of any suppression table that mention `phone`. */
static long suppression_rows(struct e2e *e, const char *phone)
{
	long n = harness_db_count_mentions(e->db, "suppress", phone);

	assert_true(n >= 0);
	return n;
}

/*
 * STOP: one confirmation, the phone's queued survey skipped (and never sent, even once due), other
 * phones untouched, triggers for the phone refused with 409 whatever the customer id, a second stop
 * word unanswered.  START: one confirmation, triggers accepted again, the suppression row kept.
 */
static void test_opt_out_and_in(void **state)
{
	struct e2e *e = *state;
	struct trig a = trig_of("chat-1"), b = trig_of("chat-2"), c = trig_of("chat-3");
	struct trig d = trig_of("chat-4"), refused = trig_of("chat-5");
	char *id_a, *id_b, *id_c, *id_d;
	json_t *j;

	id_a = survey_sent(e, &a, 0);
	b.delay_seconds = 3600;
	id_b = trigger_new(e, &b);
	d.customer_id = "cust-43";
	d.phone = PHONE_2;
	d.name = "Bea";
	d.delay_seconds = 3600;
	id_d = trigger_new(e, &d);

	say(e, PHONE, "stop", NULL);
	wait_recorded(e, expect_request(e, 1, PHONE, "OPTOUT Ana"));
	j = wait_status(e, id_b, "skipped");
	assert_jstr(j, "reason", "opted_out");
	json_decref(j);
	j = survey_get(e, id_d);
	assert_jstr(j, "status", "queued");
	json_decref(j);

	assert_trigger_refused(e, &refused, 409, "customer_opted_out", "customer.phone");
	refused.customer_id = "cust-99";
	refused.name = "Otra";
	assert_trigger_refused(e, &refused, 409, "customer_opted_out", "customer.phone");

	say(e, PHONE, "Baja", NULL);
	assert_no_more_requests(e, 2);

	/* B's and D's delay passes: only D (another phone) is sent */
	clock_set(e, T0 + 3601);
	expect_request(e, 2, PHONE_2, "NPS Bea Acme 0-10");
	json_decref(wait_status(e, id_d, "sent"));
	assert_no_more_requests(e, 3);
	j = survey_get(e, id_b);
	assert_jstr(j, "status", "skipped");
	assert_jstr(j, "reason", "opted_out");
	json_decref(j);
	assert_true(suppression_rows(e, PHONE) >= 1);

	say(e, PHONE, "START", NULL);
	expect_request(e, 3, PHONE, "OPTIN Ana");
	id_c = trigger_new(e, &c);
	expect_request(e, 4, PHONE, "NPS Ana Acme 0-10");
	json_decref(wait_status(e, id_c, "sent"));
	assert_no_more_requests(e, 5);
	j = survey_get(e, id_b);
	assert_jstr(j, "status", "skipped");
	json_decref(j);
	if (suppression_rows(e, PHONE) < 1)
		fail_msg("after opt-in no suppression table row mentions %s any more", PHONE);
	free(id_a);
	free(id_b);
	free(id_c);
	free(id_d);
	e->passed = 1;
}

static const struct conv_conf opt_out_pt_conf = {
	.hc.extra = "[templates.pt]\nopt_out = PT-OPTOUT {name}\n",
};

/* The confirmation is in the customer's locale (SAIR from a pt customer). */
static void test_opt_out_in_customer_locale(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1"), again = trig_of("chat-2");
	char *id;

	t.locale = again.locale = "pt";
	t.name = again.name = "Joao";
	id = survey_sent(e, &t, 0);
	say(e, PHONE, "sair", NULL);
	wait_recorded(e, expect_request(e, 1, PHONE, "PT-OPTOUT Joao"));
	assert_trigger_refused(e, &again, 409, "customer_opted_out", "customer.phone");
	assert_no_more_requests(e, 2);
	free(id);
	e->passed = 1;
}

/* A STOP from a number never surveyed is recorded and refuses later triggers; UNSTOP lifts it. */
static void test_opt_out_unknown_number(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	size_t n;
	char *id;

	t.customer_id = "cust-77";
	t.phone = STRANGER_PHONE;
	t.name = "Eva";
	say(e, STRANGER_PHONE, "STOP", NULL);
	if (suppression_rows(e, STRANGER_PHONE) < 1)
		fail_msg("a STOP from %s left no suppression table row mentioning it",
			 STRANGER_PHONE);
	/* a confirmation may go out; at most one, to that number, and recorded before the snapshot */
	n = fake_twilio_wait(e->tw, 1, E2E_QUIET_MS);
	if (n > 1)
		fail_msg("a STOP from an unknown number sent %zu messages", n);
	if (n == 1)
		wait_recorded(e, expect_request(e, 0, STRANGER_PHONE, NULL));
	assert_trigger_refused(e, &t, 409, "customer_opted_out", "customer.phone");

	say(e, STRANGER_PHONE, "UNSTOP", NULL);
	id = trigger_new(e, &t);
	json_decref(wait_status(e, id, "sent"));
	assert_true(suppression_rows(e, STRANGER_PHONE) >= 1);
	free(id);
	e->passed = 1;
}

/* ---- rule 5: expiry ---- */

static const struct conv_conf expiry_conf = { .hc.expire_after = "1h" };

/* Unanswered past expire_after: expired; a reply afterwards is stored, unmatched, unanswered. */
static void test_unanswered_survey_expires(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0), sid[40];
	json_t *j;

	clock_set(e, T0 + HOUR / 2);
	assert_status_stays(e, id, "sent");
	clock_set(e, T0 + HOUR + 1);
	json_decref(wait_status(e, id, "expired"));

	say(e, PHONE, "9", sid);
	assert_message_stored(e, sid);
	assert_no_more_requests(e, 1);
	j = survey_get(e, id);
	assert_jstr(j, "status", "expired");
	assert_no_response(j);
	json_decref(j);
	free(id);
	e->passed = 1;
}

/* ---- rule 6: fatigue ---- */

static const struct conv_conf fatigue_conf = { .hc.min_days_between = "30" };

/* A skipped trigger: 200, skipped, recently_surveyed, an id that is a database row; returns it. */
static char *expect_fatigue_skip(struct e2e *e, const struct trig *t, const char *other_id)
{
	json_t *j = trigger(e, t, 200);
	char *id;

	assert_jstr(j, "status", "skipped");
	assert_jstr(j, "reason", "recently_surveyed");
	id = strdup(jstr(j, "id"));
	assert_non_null(id);
	json_decref(j);
	if (!id[0] || strcmp(id, other_id) == 0)
		fail_msg("a skipped trigger answered id \"%s\" (the earlier survey is %s)", id,
			 other_id);
	j = survey_get(e, id);
	assert_jstr(j, "status", "skipped");
	assert_jstr(j, "reason", "recently_surveyed");
	json_decref(j);
	if (harness_db_count_value(e->db, id) < 1)
		fail_msg("skipped survey %s is not a database row", id);
	return id;
}

/* Same customer.id, another interaction, within 30 days: skipped, sent nothing, the same answer
 * when repeated (database unchanged); after 30 days: accepted and sent. */
static void test_fatigue_same_customer(void **state)
{
	struct e2e *e = *state;
	struct trig a = trig_of("chat-1"), b = trig_of("chat-2"), c = trig_of("chat-3");
	char *id_a = survey_sent(e, &a, 0), *id_b, *id_c, *before, *after;
	json_t *j;

	id_b = expect_fatigue_skip(e, &b, id_a);
	before = db_snapshot(e->db);
	assert_non_null(before);
	j = trigger(e, &b, 200);
	assert_jstr(j, "id", id_b);
	assert_jstr(j, "status", "skipped");
	json_decref(j);
	after = db_snapshot(e->db);
	assert_non_null(after);
	if (strcmp(before, after) != 0)
		fail_msg("repeating a skipped trigger changed the database");
	assert_no_more_requests(e, 1);

	clock_set(e, T0 + 30 * DAY + HOUR);
	id_c = survey_sent(e, &c, 1);
	assert_no_more_requests(e, 2);
	free(after);
	free(before);
	free(id_a);
	free(id_b);
	free(id_c);
	e->passed = 1;
}

/* 29 days later is still within min_days_between = 30. */
static void test_fatigue_within_30_days(void **state)
{
	struct e2e *e = *state;
	struct trig a = trig_of("chat-1"), b = trig_of("chat-2");
	char *id_a = survey_sent(e, &a, 0), *id_b;

	clock_set(e, T0 + 29 * DAY);
	id_b = expect_fatigue_skip(e, &b, id_a);
	assert_no_more_requests(e, 1);
	free(id_a);
	free(id_b);
	e->passed = 1;
}

/* The same phone under another customer.id is the same person for fatigue. */
static void test_fatigue_same_phone_other_customer(void **state)
{
	struct e2e *e = *state;
	struct trig a = trig_of("chat-1"), b = trig_of("chat-2");
	char *id_a = survey_sent(e, &a, 0), *id_b;

	b.customer_id = "cust-77";
	b.name = "Bea";
	id_b = expect_fatigue_skip(e, &b, id_a);
	assert_no_more_requests(e, 1);
	free(id_a);
	free(id_b);
	e->passed = 1;
}

/* min_days_between = 0 (the harness default): no skipping. */
static void test_fatigue_off(void **state)
{
	struct e2e *e = *state;
	struct trig a = trig_of("chat-1"), b = trig_of("chat-2");
	char *id_a = survey_sent(e, &a, 0), *id_b = survey_sent(e, &b, 1);

	assert_no_more_requests(e, 2);
	free(id_a);
	free(id_b);
	e->passed = 1;
}

/* ---- rule 7: delay and quiet hours ---- */

/* Asserts the survey is queued with send_after at `t` (UTC ISO 8601). */
static void assert_held_until(struct e2e *e, const char *id, long long t)
{
	char want[32];
	json_t *j = survey_get(e, id);

	iso_utc(t, want);
	assert_jstr(j, "status", "queued");
	assert_jstr(j, "send_after", want);
	json_decref(j);
}

/* delay_seconds = 600: nothing is sent until the clock passes T0 + 600, then it is. */
static void test_delay_seconds(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id;

	t.delay_seconds = 600;
	id = trigger_new(e, &t);
	assert_held_until(e, id, T0 + 600);
	assert_no_more_requests(e, 0);
	clock_set(e, T0 + 599);
	assert_no_more_requests(e, 0);
	assert_held_until(e, id, T0 + 600);
	clock_set(e, T0 + 601);
	expect_request(e, 0, PHONE, NULL);
	json_decref(wait_status(e, id, "sent"));
	free(id);
	e->passed = 1;
}

static const struct conv_conf quiet_mx_night_conf = {
	.hc.quiet_hours = "21:00-09:00",
	.start = MX_WED_2330,
};

/* 23:30 in the customer's zone (customer.timezone): held until 09:00 there the next morning. */
static void test_quiet_hours_customer_night(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id;

	t.timezone = MX_TZ;
	id = trigger_new(e, &t);
	assert_held_until(e, id, MX_THU_0900);
	assert_no_more_requests(e, 0);
	clock_set(e, MX_THU_0900 - 1);
	assert_no_more_requests(e, 0);
	clock_set(e, MX_THU_0900 + 1);
	expect_request(e, 0, PHONE, NULL);
	json_decref(wait_status(e, id, "sent"));
	free(id);
	e->passed = 1;
}

static const struct conv_conf quiet_madrid_conf = { .hc.quiet_hours = "21:00-09:00" };

/* At T0 (12:00 in Madrid, the default zone; 05:00 in Mexico City) a customer without a zone is
 * sent at once, one in America/Mexico_City is held until 09:00 there. */
static void test_quiet_hours_customer_zone_wins(void **state)
{
	struct e2e *e = *state;
	struct trig mx = trig_of("chat-1"), es = trig_of("chat-2");
	char *id_mx, *id_es;

	mx.timezone = MX_TZ;
	es.customer_id = "cust-43";
	es.phone = PHONE_2;
	es.name = "Bea";
	id_mx = trigger_new(e, &mx);
	id_es = survey_sent(e, &es, 0);
	assert_held_until(e, id_mx, MX_WED_0900);
	assert_no_more_requests(e, 1);
	clock_set(e, MX_WED_0900 + 1);
	expect_request(e, 1, PHONE, NULL);
	json_decref(wait_status(e, id_mx, "sent"));
	free(id_es);
	free(id_mx);
	e->passed = 1;
}

static const struct conv_conf quiet_default_mx_conf = {
	.hc.quiet_hours = "21:00-09:00",
	.hc.timezone = MX_TZ,
	.start = MX_WED_1200,
};

/* [survey] timezone = America/Mexico_City, customers without a zone: at 12:00 local sent at once;
 * at 23:30 local held until 09:00 local the next morning. */
static void test_quiet_hours_default_zone(void **state)
{
	struct e2e *e = *state;
	struct trig noon = trig_of("chat-1"), night = trig_of("chat-2");
	char *id_noon, *id_night;

	id_noon = survey_sent(e, &noon, 0);
	clock_set(e, MX_WED_2330);
	night.customer_id = "cust-43";
	night.phone = PHONE_2;
	night.name = "Bea";
	id_night = trigger_new(e, &night);
	assert_held_until(e, id_night, MX_THU_0900);
	assert_no_more_requests(e, 1);
	clock_set(e, MX_THU_0900 + 1);
	expect_request(e, 1, PHONE_2, NULL);
	json_decref(wait_status(e, id_night, "sent"));
	free(id_night);
	free(id_noon);
	e->passed = 1;
}

/* customer.timezone must be an IANA zone: 422 invalid_timezone, nothing stored or sent. */
static void test_trigger_invalid_timezone(void **state)
{
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");

	t.timezone = "Mars/Olympus_Mons";
	assert_trigger_refused(e, &t, 422, "invalid_timezone", "customer.timezone");
	assert_no_more_requests(e, 0);
	e->passed = 1;
}

/* ---- rule 8: matching ---- */

static const struct conv_conf match_conf = { .hc.extra = TPL_ES };

/* Two sent surveys for one phone: a reply answers the newer only. */
static void test_reply_answers_newest_survey(void **state)
{
	struct e2e *e = *state;
	struct trig a = trig_of("chat-1"), b = trig_of("chat-2");
	char *id_a = survey_sent(e, &a, 0), *id_b;
	json_t *j;

	clock_set(e, T0 + 60);
	id_b = survey_sent(e, &b, 1);
	clock_set(e, T0 + 120);
	say(e, PHONE, "8", NULL);
	j = wait_score(e, id_b, 8);
	assert_jstr(j, "status", "answered");
	json_decref(j);
	expect_request(e, 2, PHONE, "THANKS Ana");
	assert_no_more_requests(e, 3);
	j = survey_get(e, id_a);
	assert_jstr(j, "status", "sent");
	assert_no_response(j);
	json_decref(j);
	free(id_a);
	free(id_b);
	e->passed = 1;
}

/* A newer survey that is not sent yet (delayed) is not open: the reply answers the sent one. */
static void test_reply_skips_unsent_survey(void **state)
{
	struct e2e *e = *state;
	struct trig a = trig_of("chat-1"), b = trig_of("chat-2");
	char *id_a = survey_sent(e, &a, 0), *id_b;
	json_t *j;

	clock_set(e, T0 + 60);
	b.delay_seconds = 3600;
	id_b = trigger_new(e, &b);
	say(e, PHONE, "8", NULL);
	j = wait_score(e, id_a, 8);
	assert_jstr(j, "status", "answered");
	json_decref(j);
	expect_request(e, 1, PHONE, "THANKS Ana");
	j = survey_get(e, id_b);
	assert_jstr(j, "status", "queued");
	assert_no_response(j);
	json_decref(j);
	free(id_a);
	free(id_b);
	e->passed = 1;
}

/* ---- rule 9: templates ---- */

static const struct conv_conf templates_conf = {
	.hc.extra = "[templates.es]\nnps = ES-NPS {name} de {brand}\n"
		    "[templates.pt]\nces = PT-CES {brand} para {name}\n"
		    "[templates.en]\ncsat = EN-CSAT {name}/{brand}\n",
};

/* The overridden question of each locale and kind is what Twilio receives, placeholders filled. */
static void test_templates_override_question(void **state)
{
	static const struct {
		const char *customer, *phone, *name, *locale, *kind, *interaction, *want;
	} rows[] = {
		{ "cust-42", PHONE, "Ana", "es", "nps", "chat-1", "ES-NPS Ana de Acme" },
		{ "cust-43", PHONE_2, "Joao", "pt", "ces", "chat-2", "PT-CES Acme para Joao" },
		{ "cust-44", PHONE_3, "Kim", "en", "csat", "chat-3", "EN-CSAT Kim/Acme" },
	};
	const size_t n = sizeof(rows) / sizeof(rows[0]);
	struct e2e *e = *state;

	for (size_t i = 0; i < n; i++) {
		struct trig t = trig_of(rows[i].interaction);
		char *id;

		t.customer_id = rows[i].customer;
		t.phone = rows[i].phone;
		t.name = rows[i].name;
		t.locale = rows[i].locale;
		t.kind = rows[i].kind;
		id = survey_sent(e, &t, i);
		free(id);
		expect_request(e, i, rows[i].phone, rows[i].want);
	}
	assert_no_more_requests(e, n);
	e->passed = 1;
}

/* Polls the gateway's log until a line holds every one of `needles`. */
static void wait_log_line(struct e2e *e, const char *const *needles)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;

	while (harness_gw_log_has_line(&e->gw, needles) != 1) {
		if (harness_now_ms() >= deadline)
			fail_msg("no line of the gateway's log contains \"%s\" and \"%s\"", needles[0],
				 needles[1]);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

static const struct conv_conf segments_gsm_conf = {
	.hc.extra = SHORT_SECTION("es", X100 X100) SHORT_SECTION("pt", "Q {name}")
		    SHORT_SECTION("en", "Q {name}"),
};

/* A 200-character GSM-7 question needs 2 segments (153 each once split): a warning. */
static void test_template_segments_warning_gsm7(void **state)
{
	static const char *const needles[] = { "warning:", "2 SMS segments", NULL };
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0);

	expect_request(e, 0, PHONE, X100 X100);
	wait_log_line(e, needles);
	free(id);
	e->passed = 1;
}

static const struct conv_conf segments_ucs2_conf = {
	.hc.extra = SHORT_SECTION("es", A_ACUTE X50 X10 X10 X10 X10 X9)
		    SHORT_SECTION("pt", "Q {name}") SHORT_SECTION("en", "Q {name}"),
};

/* A 100-character question with one non-GSM character is UCS-2: 70 per single segment, so 2. */
static void test_template_segments_warning_ucs2(void **state)
{
	static const char *const needles[] = { "warning:", "2 SMS segments", NULL };
	struct e2e *e = *state;
	struct trig t = trig_of("chat-1");
	char *id = survey_sent(e, &t, 0);

	expect_request(e, 0, PHONE, A_ACUTE X50 X10 X10 X10 X10 X9);
	wait_log_line(e, needles);
	free(id);
	e->passed = 1;
}

static const struct conv_conf segments_none_conf = {
	.hc.extra = SHORT_SECTION("es", X100 X50 X10) SHORT_SECTION("pt", A_ACUTE X50 X10 X9)
		    SHORT_SECTION("en", "Q {name}"),
};

/* Exactly 160 GSM-7 characters, or exactly 70 UCS-2 ones, fit one segment: no warning. */
static void test_template_one_segment_no_warning(void **state)
{
	static const char *const needles[] = { "warning:", "segments", NULL };
	struct e2e *e = *state;
	struct trig es = trig_of("chat-1"), pt = trig_of("chat-2");
	char *id_es, *id_pt;

	pt.customer_id = "cust-43";
	pt.phone = PHONE_2;
	pt.name = "Joao";
	pt.locale = "pt";
	id_es = survey_sent(e, &es, 0);
	id_pt = survey_sent(e, &pt, 1);
	expect_request(e, 0, PHONE, X100 X50 X10);
	expect_request(e, 1, PHONE_2, A_ACUTE X50 X10 X9);
	assert_no_more_requests(e, 2);
	if (harness_gw_log_has_line(&e->gw, needles) != 0)
		fail_msg("the log warns about segments, but every text fits one segment");
	free(id_es);
	free(id_pt);
	e->passed = 1;
}

#define CONV_TEST(f, conf) \
	cmocka_unit_test_prestate_setup_teardown(f, conv_setup, e2e_teardown, (void *)(conf))

int main(void)
{
	const char *only = getenv("E2E_ONLY");
	const struct CMUnitTest tests[] = {
		/* rule 1 */
		CONV_TEST(test_invalid_reply_reprompts_once, &reprompt_conf),
		/* rule 2 */
		CONV_TEST(test_score_gets_thanks, &thanks_conf),
		CONV_TEST(test_follow_up_builtin_text, &follow_up_builtin_conf),
		CONV_TEST(test_follow_up_comment, &follow_up_conf),
		CONV_TEST(test_follow_up_after_window, &follow_up_conf),
		/* rule 3 */
		CONV_TEST(test_new_score_replaces_old, &rescore_expiry_conf),
		CONV_TEST(test_invalid_after_answer_not_reprompted, &rescore_expiry_conf),
		CONV_TEST(test_new_score_after_expiry_ignored, &rescore_expiry_conf),
		/* rule 4 */
		CONV_TEST(test_opt_out_and_in, &opt_out_conf),
		CONV_TEST(test_opt_out_in_customer_locale, &opt_out_pt_conf),
		CONV_TEST(test_opt_out_unknown_number, &opt_out_conf),
		/* rule 5 */
		CONV_TEST(test_unanswered_survey_expires, &expiry_conf),
		/* rule 6 */
		CONV_TEST(test_fatigue_same_customer, &fatigue_conf),
		CONV_TEST(test_fatigue_within_30_days, &fatigue_conf),
		CONV_TEST(test_fatigue_same_phone_other_customer, &fatigue_conf),
		CONV_TEST(test_fatigue_off, NULL),
		/* rule 7 */
		CONV_TEST(test_delay_seconds, NULL),
		CONV_TEST(test_quiet_hours_customer_night, &quiet_mx_night_conf),
		CONV_TEST(test_quiet_hours_customer_zone_wins, &quiet_madrid_conf),
		CONV_TEST(test_quiet_hours_default_zone, &quiet_default_mx_conf),
		CONV_TEST(test_trigger_invalid_timezone, NULL),
		/* rule 8 */
		CONV_TEST(test_reply_answers_newest_survey, &match_conf),
		CONV_TEST(test_reply_skips_unsent_survey, &match_conf),
		/* rule 9 */
		CONV_TEST(test_templates_override_question, &templates_conf),
		CONV_TEST(test_template_segments_warning_gsm7, &segments_gsm_conf),
		CONV_TEST(test_template_segments_warning_ucs2, &segments_ucs2_conf),
		CONV_TEST(test_template_one_segment_no_warning, &segments_none_conf),
	};

	/* E2E_ONLY=test_opt_out* runs the matching tests only (cmocka's * and ? wildcards) */
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
