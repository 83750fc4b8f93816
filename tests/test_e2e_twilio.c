/*
 * test_e2e_twilio.c - build/gateway end to end with SMS through a fake Twilio.
 *
 * Each test gets a fresh temp dir, config, database, fake Twilio and gateway process
 * (tests/support/e2e.h), and talks to the gateway only through the external contract of
 * DESIGN.md §2: HTTP on its loopback port, as the helpdesk (POST /v1/surveys), as Twilio (signed
 * webhooks built from captured payloads) and as the analyst (GET /v1/responses.csv).
 * The SQLite file is read directly only to prove it unchanged (db_snapshot) or to count what it
 * holds about one message id.
 *
 * Bad or missing webhook authentication, replies without a message id, redelivered replies and
 * statuses, a send refused for good, a 500 or a rate limit retried and the credentials refused
 * (20003), which every provider must handle alike, are in test_e2e_provider_contract.c;
 * Retry-After stays here.
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
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <signal.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "form.h"
#include "support/e2e.h"

#define CUSTOMER_PHONE "+34600111222"
#define STRANGER_PHONE "+34600999888"
#define CSV_HEADER "survey_id,customer_id,phone,channel,kind,score,comment,interaction_id," \
		   "touchpoint,agent,sent_at,answered_at"

static const char trigger_body[] =
	"{\"customer\": {\"id\": \"cust-42\", \"phone\": \"" CUSTOMER_PHONE "\", "
	"\"name\": \"Ana\", \"locale\": \"es\"},"
	" \"kind\": \"nps\", \"channel\": \"sms\","
	" \"interaction\": {\"id\": \"chat-981\", \"touchpoint\": \"support_chat\", "
	"\"agent\": \"agent-7\", \"opened_at\": \"2026-11-22T10:00:00Z\", "
	"\"closed_at\": \"2026-11-22T10:12:30Z\"},"
	" \"delay_seconds\": 0}";

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

/* A JSON error answer with `status`: {"error":{"code":"...","message":"...",...}}.  Returns the
 * "error" object (borrowed from *owner, which the caller releases). */
static json_t *assert_error(const struct harness_http_resp *r, long status, json_t **owner)
{
	json_t *err;

	if (r->status != status)
		fail_msg("status %ld, want %ld: %.300s", r->status, status, r->body);
	assert_content_type(r, "application/json");
	*owner = parse_json(r);
	err = json_object_get(*owner, "error");
	assert_true(json_is_object(err));
	jstr(err, "code");
	jstr(err, "message");
	return err;
}

/* ---- the gateway's API ---- */

/* POST /v1/surveys with the standard trigger body; returns the answer, its status in *status. */
static json_t *trigger(struct e2e *e, long *status)
{
	struct harness_http_resp r;
	json_t *j;

	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", trigger_body,
	    strlen(trigger_body), &r);
	*status = r.status;
	if (r.status != 200 && r.status != 202)
		fail_msg("POST /v1/surveys: %ld %.300s", r.status, r.body);
	assert_content_type(&r, "application/json");
	j = parse_json(&r);
	harness_http_release(&r);
	return j;
}

/* The fake's request `i`, which must have arrived within E2E_POLL_MS and passed Twilio's checks. */
static const struct fake_twilio_request *wait_request(struct e2e *e, size_t i)
{
	const struct fake_twilio_request *req;

	if (fake_twilio_wait(e->tw, i + 1, E2E_POLL_MS) < i + 1)
		fail_msg("fake Twilio got %zu requests within %d ms, want %zu",
			 fake_twilio_count(e->tw), E2E_POLL_MS, i + 1);
	req = fake_twilio_request(e->tw, i);
	if (!req->ok)
		fail_msg("request %zu to Twilio is not one Twilio accepts: %s (%s %s, Content-Type %s)",
			 i, req->why, req->method, req->path,
			 req->content_type ? req->content_type : "none");
	return req;
}

/* Triggers the standard survey and waits until it is sent; returns its id (caller frees). */
static char *survey_sent(struct e2e *e)
{
	json_t *j;
	long status;
	char *id;

	j = trigger(e, &status);
	assert_int_equal(status, 202);
	id = strdup(jstr(j, "id"));
	json_decref(j);
	assert_non_null(id);
	wait_request(e, 0);
	json_decref(wait_status(e, id, "sent"));
	return id;
}

/* ---- speaking as Twilio ---- */

/* Twilio's status callback for message `sid` with status `status`. */
static void twilio_status(struct e2e *e, const char *sid, const char *status, enum sig_mode mode,
			  struct harness_http_resp *r)
{
	const char *set[] = {
		"AccountSid", HARNESS_TWILIO_SID, "From", HARNESS_TWILIO_FROM,
		"MessageSid", sid, "SmsSid", sid, "MessageStatus", status, "SmsStatus", status, NULL
	};

	twilio_webhook(e, "/webhooks/twilio/status", "twilio-status-sent-docs.form", set, mode, r);
}

/* ---- the tests ---- */

/* (a), first step: the survey question went to Twilio as one correct Messages.json request. */
static const struct fake_twilio_request *assert_question_sent(struct e2e *e)
{
	const struct fake_twilio_request *req = wait_request(e, 0);
	char callback[128];

	assert_string_equal(req->method, "POST");
	assert_non_null(req->to);
	assert_string_equal(req->to, CUSTOMER_PHONE);
	assert_non_null(req->from);
	assert_string_equal(req->from, HARNESS_TWILIO_FROM);
	assert_null(req->messaging_service_sid);
	snprintf(callback, sizeof(callback), "%s/webhooks/twilio/status", e->gw.base_url);
	if (!req->status_callback || strcmp(req->status_callback, callback) != 0)
		fail_msg("StatusCallback %s, want %s",
			 req->status_callback ? req->status_callback : "(none)", callback);
	if (!has_number(req->body, "0") || !has_number(req->body, "10") ||
	    !strcasestr(req->body, "recom"))
		fail_msg("survey question is not a Spanish NPS question on 0-10: %s", req->body);
	return req;
}

/* (a), the survey as GET /v1/surveys/{id} shows it once sent with Twilio message `msg_sid`. */
static void assert_survey_sent(struct e2e *e, const char *id, const char *msg_sid)
{
	json_t *j = wait_status(e, id, "sent");

	assert_jstr(j, "id", id);
	assert_jstr(j, "kind", "nps");
	assert_jstr(j, "channel", "sms");
	assert_jstr(j, "customer_id", "cust-42");
	assert_jstr(j, "interaction_id", "chat-981");
	assert_jstr(j, "phone", CUSTOMER_PHONE);
	assert_jstr(j, "provider", "twilio");
	assert_jstr(j, "provider_message_id", msg_sid);
	jstr(j, "created_at");
	jstr(j, "sent_at");
	assert_true(json_integer_value(json_object_get(j, "attempts")) >= 1);
	assert_true(json_is_null(json_object_get(j, "error")));
	assert_true(json_is_null(json_object_get(j, "response")));
	json_decref(j);
}

/* (a), last step: GET /v1/responses.csv has the contract's header and the answered row. */
static void assert_csv_row(struct e2e *e, const char *id)
{
	struct harness_http_resp r;
	char prefix[256];

	api(e, "GET", "/v1/responses.csv", HARNESS_API_KEY, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_content_type(&r, "text/csv");
	if (strncmp(r.body, CSV_HEADER, strlen(CSV_HEADER)) != 0)
		fail_msg("CSV header: %.200s", r.body);
	snprintf(prefix, sizeof(prefix), "\n%s,cust-42," CUSTOMER_PHONE ",sms,nps,9,", id);
	if (!strstr(r.body, prefix))
		fail_msg("CSV lacks a row starting %s: %.600s", prefix + 1, r.body);
	harness_http_release(&r);
}

/* (a) trigger → Twilio send → sent → signed reply "9" → answered, thanks, CSV row. */
static void test_survey_round_trip(void **state)
{
	struct e2e *e = *state;
	const struct fake_twilio_request *req;
	json_t *j, *resp;
	char *id;
	long status;

	j = trigger(e, &status);
	assert_int_equal(status, 202);
	assert_jstr(j, "status", "queued");
	assert_jstr(j, "kind", "nps");
	assert_jstr(j, "channel", "sms");
	assert_jstr(j, "customer_id", "cust-42");
	assert_jstr(j, "interaction_id", "chat-981");
	id = strdup(jstr(j, "id"));
	assert_non_null(id);
	assert_true(id[0] != '\0');
	json_decref(j);

	req = assert_question_sent(e);
	assert_survey_sent(e, id, req->sid);

	say(e, CUSTOMER_PHONE, "9", NULL);
	j = wait_status(e, id, "answered");
	resp = json_object_get(j, "response");
	assert_true(json_is_object(resp));
	assert_true(json_is_integer(json_object_get(resp, "score")));
	assert_int_equal(json_integer_value(json_object_get(resp, "score")), 9);
	jstr(resp, "answered_at");
	jstr(j, "answered_at");
	json_decref(j);

	req = wait_request(e, 1);
	assert_string_equal(req->to, CUSTOMER_PHONE);
	if (!strcasestr(req->body, "gracias"))
		fail_msg("second message is not a Spanish thank-you: %s", req->body);
	assert_csv_row(e, id);
	free(id);
	e->passed = 1;
}

/* (c) the same interaction twice: 202 then 200, same id, one send, nothing new stored. */
static void test_trigger_idempotent(void **state)
{
	struct e2e *e = *state;
	char *id = survey_sent(e), *before, *after;
	json_t *j;
	long status, rows;

	before = db_snapshot(e->db);
	assert_non_null(before);
	rows = harness_db_count_value(e->db, "chat-981");
	assert_true(rows >= 1);
	j = trigger(e, &status);
	assert_int_equal(status, 200);
	assert_jstr(j, "id", id);
	json_decref(j);
	after = db_snapshot(e->db);
	assert_non_null(after);
	if (strcmp(before, after) != 0)
		fail_msg("a repeated trigger changed the database");
	assert_int_equal(harness_db_count_value(e->db, "chat-981"), rows);
	assert_no_more_requests(e, 1);
	free(after);
	free(before);
	free(id);
	e->passed = 1;
}

/* The config holds secrets: readable by others, the gateway says so at start (and starts). */
static void test_config_permission_warning(void **state)
{
	static const char *const warning[] = { "warning:", "readable by other users", NULL };
	struct e2e *e = *state;

	assert_int_equal(harness_gw_log_has_line(&e->gw, warning), 0);
	assert_int_equal(harness_gw_stop(&e->gw), 0);
	assert_int_equal(chmod(e->conf, 0644), 0);
	assert_int_equal(harness_gw_start(&e->gw, e->dir, e->conf, e->gw.port, NULL), 0);
	assert_int_equal(harness_gw_log_has_line(&e->gw, warning), 1);
	e->passed = 1;
}

/* A loopback port that accepts connections (the kernel's backlog) and never answers. */
static int silent_port(int *fd_out)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*fd_out = fd;
	return ntohs(a.sin_port);
}

/*
 * The process dies while Twilio holds the request: the send may or may not have happened.  After
 * a restart the survey is `uncertain`, listed by GET /v1/surveys?status=uncertain, and not sent
 * again; with [dispatch] resend_uncertain = on it is sent again.
 */
static void test_uncertain_after_crash(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;
	char conf[HARNESS_PATH_LEN + 16], db[HARNESS_PATH_LEN];
	int silent_fd, status;
	long st;
	json_t *j, *list;
	char *id;

	/* First life: Twilio never answers, and the gateway is killed mid-send. */
	assert_int_equal(harness_gw_stop(&e->gw), 0);
	assert_int_equal(harness_write_config(e->dir, e->gw.port, silent_port(&silent_fd), NULL,
					      conf, db), 0);
	assert_int_equal(harness_gw_start(&e->gw, e->dir, conf, e->gw.port, NULL), 0);
	j = trigger(e, &st);
	id = strdup(jstr(j, "id"));
	json_decref(j);
	json_decref(wait_status(e, id, "sending"));
	kill(e->gw.pid, SIGKILL);
	waitpid(e->gw.pid, &status, 0);
	e->gw.pid = 0;
	close(silent_fd);

	/* Second life, Twilio answering: uncertain, listed, never resent by itself. */
	assert_int_equal(harness_write_config(e->dir, e->gw.port, fake_twilio_port(e->tw), NULL,
					      conf, db), 0);
	assert_int_equal(harness_gw_start(&e->gw, e->dir, conf, e->gw.port, NULL), 0);
	json_decref(wait_status(e, id, "uncertain"));
	api(e, "GET", "/v1/surveys?status=uncertain", HARNESS_API_KEY, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = parse_json(&r);
	harness_http_release(&r);
	list = json_object_get(j, "surveys");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(jstr(json_array_get(list, 0), "id"), id);
	json_decref(j);
	assert_no_more_requests(e, 0);

	/* Third life, resend_uncertain = on: sent again. */
	assert_int_equal(harness_gw_stop(&e->gw), 0);
	assert_int_equal(harness_write_config(e->dir, e->gw.port, fake_twilio_port(e->tw),
					      "[dispatch]\nresend_uncertain = on\n", conf, db), 0);
	assert_int_equal(harness_gw_start(&e->gw, e->dir, conf, e->gw.port, NULL), 0);
	json_decref(wait_status(e, id, "sent"));
	assert_int_equal(fake_twilio_count(e->tw), 1);
	free(id);
	e->passed = 1;
}

/* POST /v1/surveys with an Idempotency-Key; the answer in *r. */
static void keyed_trigger(struct e2e *e, const char *key, const char *body,
			  struct harness_http_resp *r)
{
	char url[512], idem[300];
	const char *headers[] = { "Authorization: Bearer " HARNESS_API_KEY,
				  "Content-Type: application/json", idem, NULL };

	snprintf(url, sizeof(url), "%s/v1/surveys", e->gw.base_url);
	snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
	if (harness_http("POST", url, headers, body, strlen(body), r) < 0)
		fail_msg("POST /v1/surveys: no answer");
}

/* Idempotency-Key: the same key and body replay the first answer byte for byte (even after the
 * survey moved on); another body with the key is 422; a malformed key is 400. */
static void test_idempotency_key(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp first, again, other, bad;
	char *before, *after;
	json_t *j;

	keyed_trigger(e, "order-981-nps", trigger_body, &first);
	assert_int_equal(first.status, 202);
	j = parse_json(&first);
	json_decref(wait_status(e, jstr(j, "id"), "sent"));
	json_decref(j);
	before = db_snapshot(e->db);
	keyed_trigger(e, "order-981-nps", trigger_body, &again);
	assert_int_equal(again.status, 202);
	assert_string_equal(again.body, first.body);
	keyed_trigger(e, "order-981-nps", "{\"other\":1}", &other);
	assert_error(&other, 422, &j);        /* borrowed from j */
	json_decref(j);
	keyed_trigger(e, "bad key with spaces", trigger_body, &bad);
	assert_int_equal(bad.status, 400);
	after = db_snapshot(e->db);
	assert_string_equal(before, after);
	assert_int_equal(fake_twilio_count(e->tw), 1);
	free(before);
	free(after);
	harness_http_release(&first);
	harness_http_release(&again);
	harness_http_release(&other);
	harness_http_release(&bad);
	e->passed = 1;
}

/*
 * Twilio's Retry-After, when longer than the gateway's own backoff, is the earliest retry.  The
 * dispatcher schedules retries on the gateway's clock, so this runs on the fake one: the backoff
 * is pinned to its 1 s floor (retry_base 100ms, retry_cap 1s), Twilio asks for RETRY_AFTER_S, and
 * the test moves the clock itself instead of waiting for either.
 */
#define T0 1795604400LL         /* Wed 2026-11-25 11:00 UTC, after the trigger's interaction */
#define RETRY_AFTER_S 4
#define OWN_BACKOFF_CONF "retry_cap = 1s\n"     /* continues the harness's [dispatch] */

/* cmocka setup: e2e_start() on a fake clock at T0 with the backoff of OWN_BACKOFF_CONF. */
static int retry_after_setup(void **state)
{
	static const struct harness_config hc = { .extra = OWN_BACKOFF_CONF };
	struct e2e *e = e2e_start(&hc, T0);

	if (!e)
		return -1;
	*state = e;
	return 0;
}

/* Moves the gateway's fake clock to `t` (Unix seconds). */
static void clock_set(struct e2e *e, long long t)
{
	assert_int_equal(harness_clock_set(e->clock, t), 0);
	e->now = t;
}

/* Polls GET /v1/surveys/{id} until a failed attempt is on record: queued again with an error (it is
 * "queued" without one before its first claim).  Returns that survey (caller json_decref()s). */
static json_t *wait_retry_recorded(struct e2e *e, const char *id)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;

	for (;;) {
		json_t *s = survey_get(e, id);
		const char *st = json_string_value(json_object_get(s, "status"));

		if (st && strcmp(st, "queued") == 0 && json_is_object(json_object_get(s, "error")))
			return s;
		json_decref(s);
		if (harness_now_ms() >= deadline)
			fail_msg("survey %s: no failed attempt on record after %d ms", id,
				 E2E_POLL_MS);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

static void test_send_waits_for_longer_retry_after(void **state)
{
	struct e2e *e = *state;
	const struct fake_twilio_request *second;
	char retry_after[16];
	json_t *j;
	char *id;
	long status;

	snprintf(retry_after, sizeof(retry_after), "%d", RETRY_AFTER_S);
	assert_int_equal(fake_twilio_queue_retry_after(e->tw, retry_after), 0);
	j = trigger(e, &status);
	assert_int_equal(status, 202);
	id = strdup(jstr(j, "id"));
	json_decref(j);
	assert_int_equal(wait_request(e, 0)->status, 429);
	/* the clock moves only once the 429 is recorded, so the retry was scheduled from T0 */
	j = wait_retry_recorded(e, id);
	assert_jstr(json_object_get(j, "error"), "code", "20429");
	json_decref(j);

	/* past our own backoff, one second short of Twilio's wait: still no retry */
	clock_set(e, T0 + RETRY_AFTER_S - 1);
	assert_no_more_requests(e, 1);
	json_decref(wait_retry_recorded(e, id));

	clock_set(e, T0 + RETRY_AFTER_S);
	second = wait_request(e, 1);
	assert_int_equal(second->status, 201);
	j = wait_status(e, id, "sent");
	assert_jstr(j, "provider_message_id", second->sid);
	assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 2);
	assert_true(json_is_null(json_object_get(j, "error")));
	json_decref(j);
	assert_no_more_requests(e, 2);
	free(id);
	e->passed = 1;
}

/* (f) an invalid reply gets one re-prompt naming the scale; a second invalid one gets nothing. */
static void test_invalid_reply_reprompts_once(void **state)
{
	struct e2e *e = *state;
	const struct fake_twilio_request *req;
	char *id = survey_sent(e);
	json_t *j;

	say(e, CUSTOMER_PHONE, "hola", NULL);
	req = wait_request(e, 1);
	assert_string_equal(req->to, CUSTOMER_PHONE);
	if (!has_number(req->body, "0") || !has_number(req->body, "10"))
		fail_msg("re-prompt does not name the 0-10 scale: %s", req->body);
	say(e, CUSTOMER_PHONE, "buenas tardes", NULL);
	assert_no_more_requests(e, 2);
	j = survey_get(e, id);
	assert_jstr(j, "status", "sent");
	assert_true(json_is_null(json_object_get(j, "response")));
	json_decref(j);
	free(id);
	e->passed = 1;
}

/* (g) a text from a number with no survey: 200, stored, no answer sent, no survey touched. */
static void test_reply_unknown_number(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;
	char *id = survey_sent(e), sid[40];
	json_t *j;

	next_sid(e, sid);
	twilio_inbound(e, STRANGER_PHONE, "9", sid, SIG_OK, &r);
	assert_twiml_ok(&r);
	harness_http_release(&r);
	/* the webhook is answered once its rows are durable */
	if (harness_db_count_value(e->db, sid) < 1)
		fail_msg("inbound message %s from an unknown number was not stored", sid);
	assert_no_more_requests(e, 1);
	j = survey_get(e, id);
	assert_jstr(j, "status", "sent");
	json_decref(j);
	free(id);
	e->passed = 1;
}

/* (i) a signed status callback marks the survey delivered; an answer is never undone by one. */
static void test_status_callback(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;
	char *id = survey_sent(e), *msg_sid;
	json_t *j, *owner;

	j = survey_get(e, id);
	msg_sid = strdup(jstr(j, "provider_message_id"));
	json_decref(j);

	twilio_status(e, msg_sid, "delivered", SIG_WRONG, &r);
	assert_error(&r, 403, &owner);
	json_decref(owner);
	harness_http_release(&r);
	j = survey_get(e, id);
	assert_jstr(j, "status", "sent");
	json_decref(j);

	twilio_status(e, msg_sid, "delivered", SIG_OK, &r);
	if (r.status < 200 || r.status > 299)
		fail_msg("status callback: %ld %.300s", r.status, r.body);
	harness_http_release(&r);
	j = wait_status(e, id, "delivered");
	jstr(j, "delivered_at");
	json_decref(j);

	say(e, CUSTOMER_PHONE, "9", NULL);
	json_decref(wait_status(e, id, "answered"));
	twilio_status(e, msg_sid, "delivered", SIG_OK, &r);
	if (r.status < 200 || r.status > 299)
		fail_msg("late status callback: %ld %.300s", r.status, r.body);
	harness_http_release(&r);
	j = survey_get(e, id);
	assert_jstr(j, "status", "answered");
	json_decref(j);
	free(msg_sid);
	free(id);
	e->passed = 1;
}

/* One refused trigger: `status`, a JSON error (naming `field` unless NULL), database unchanged. */
static void refused_trigger(struct e2e *e, const char *key, const char *ctype, const char *body,
			    size_t len, long status, const char *field)
{
	struct harness_http_resp r;
	char *before = db_snapshot(e->db), *after;
	json_t *owner, *err;

	assert_non_null(before);
	api(e, "POST", "/v1/surveys", key, ctype, body, len, &r);
	if (status == 400 && r.status == 422)
		status = 422;   /* the contract allows either for a bad field */
	err = assert_error(&r, status, &owner);
	if (field)
		assert_jstr(err, "field", field);
	json_decref(owner);
	harness_http_release(&r);
	after = db_snapshot(e->db);
	assert_non_null(after);
	if (strcmp(before, after) != 0)
		fail_msg("a refused trigger (%ld) changed the database", status);
	free(after);
	free(before);
}

/* (j) triggers refused for auth, a bad phone, size and media type; none stores anything. */
static void test_trigger_refused(void **state)
{
	struct e2e *e = *state;
	static const char bad_phone[] =
		"{\"customer\":{\"id\":\"c\",\"phone\":\"600111222\"},\"kind\":\"nps\","
		"\"channel\":\"sms\",\"interaction\":{\"id\":\"x\"}}";
	static const char big_head[] =
		"{\"customer\":{\"id\":\"cust-42\",\"phone\":\"" CUSTOMER_PHONE "\"},"
		"\"kind\":\"nps\",\"channel\":\"sms\",\"interaction\":{\"id\":\"big\"},\"pad\":\"";
	size_t big_len = 64 * 1024 + 4096;
	char *big = malloc(big_len);

	assert_non_null(big);
	memset(big, 'x', big_len);
	memcpy(big, big_head, strlen(big_head));
	memcpy(big + big_len - 2, "\"}", 2);

	refused_trigger(e, NULL, "application/json", trigger_body, strlen(trigger_body), 401,
			NULL);
	refused_trigger(e, "not-a-key", "application/json", trigger_body, strlen(trigger_body),
			403, NULL);
	refused_trigger(e, HARNESS_API_KEY, "application/json", bad_phone, strlen(bad_phone), 400,
			"customer.phone");
	refused_trigger(e, HARNESS_API_KEY, "application/json", big, big_len, 413, NULL);
	refused_trigger(e, HARNESS_API_KEY, "text/plain", trigger_body, strlen(trigger_body), 415,
			NULL);
	assert_no_more_requests(e, 0);
	free(big);
	e->passed = 1;
}

/* The test's own Twilio signer agrees with Twilio's published vectors (plain form POSTs), so a
 * 403 from the gateway in the tests above is the gateway's doing, not the test's. */
static void test_signer_matches_twilio_vectors(void **state)
{
	char path[HARNESS_PATH_LEN], sig[FAKE_TWILIO_SIG_LEN];
	json_error_t jerr;
	json_t *doc, *v;
	size_t i, checked = 0;

	snprintf(path, sizeof(path), "%s/twilio-signature-vectors.json", fixtures_dir());
	doc = json_load_file(path, 0, &jerr);
	if (!doc)
		fail_msg("%s: %s", path, jerr.text);
	json_array_foreach(json_object_get(doc, "vectors"), i, v) {
		json_t *params = json_object_get(v, "params"), *val;
		const char *url = json_string_value(json_object_get(v, "url"));
		const char *su = json_string_value(json_object_get(v, "signed_url_variant"));
		const char *key;
		struct buf body;
		int plain = 1;

		/* only vectors where the URL is signed as given and every param is one string */
		if (!json_is_true(json_object_get(v, "valid")) || !json_is_object(params) ||
		    !url || !su || strcmp(url, su) != 0)
			continue;
		json_object_foreach(params, key, val)
			plain &= json_is_string(val);
		if (!plain)
			continue;
		buf_init(&body, 64u << 10);
		json_object_foreach(params, key, val)
			assert_int_equal(form_add(&body, key, json_string_value(val)), 0);
		assert_int_equal(fake_twilio_sign(jstr(v, "auth_token"), url, buf_cstr(&body),
						  body.len, sig), 0);
		if (strcmp(sig, jstr(v, "x_twilio_signature")) != 0)
			fail_msg("vector %s: signed %s, want %s", jstr(v, "name"), sig,
				 jstr(v, "x_twilio_signature"));
		buf_release(&body);
		checked++;
	}
	json_decref(doc);
	assert_true(checked >= 5);
}

/* POSTs a form to the fake directly, with Basic auth `user`:`pass` (NULL: none). */
static void fake_post(struct fake_twilio *tw, const char *path, const char *user,
		      const char *pass, const char *form, struct harness_http_resp *r)
{
	char url[256], auth[256], cred[160], b64[base64_encoded_len(160)];
	const char *headers[3] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	int n;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fake_twilio_port(tw), path);
	if (user) {
		n = snprintf(cred, sizeof(cred), "%s:%s", user, pass);
		base64_encode((const uint8_t *)cred, (size_t)n, b64);
		snprintf(auth, sizeof(auth), "Authorization: Basic %s", b64);
		headers[1] = auth;
	}
	assert_int_equal(harness_http("POST", url, headers, form, strlen(form), r), 0);
}

/* Asserts a Twilio error answer with `status` and `code`. */
static void assert_twilio_error(struct harness_http_resp *r, long status, long code)
{
	json_t *j;

	if (r->status != status)
		fail_msg("fake answered %ld, want %ld: %.300s", r->status, status, r->body);
	j = parse_json(r);
	assert_int_equal(json_integer_value(json_object_get(j, "code")), code);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
	jstr(j, "message");
	jstr(j, "more_info");
	assert_true(json_is_object(json_object_get(j, "details")));
	json_decref(j);
	harness_http_release(r);
}

#define FAKE_MESSAGES "/2010-04-01/Accounts/" HARNESS_TWILIO_SID "/Messages.json"
#define FAKE_GOOD_FORM "To=%2B34600111222&From=%2B15005550006&Body=Hola+%F0%9F%91%8D"

/* The fake refuses what Twilio refuses, with Twilio's error shape. */
static void test_fake_twilio_refusals(void **state)
{
	static const struct {
		const char *path, *user, *pass, *form;
		long status, code;
	} rows[] = {
		{ FAKE_MESSAGES, NULL, NULL, FAKE_GOOD_FORM, 401, 20003 },
		{ FAKE_MESSAGES, HARNESS_TWILIO_SID, "wrong", FAKE_GOOD_FORM, 401, 20003 },
		{ "/2010-04-01/Accounts/" HARNESS_TWILIO_SID "//Messages.json", HARNESS_TWILIO_SID,
		  HARNESS_TWILIO_TOKEN, FAKE_GOOD_FORM, 404, 20404 },
		{ FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN,
		  "From=%2B15005550006&Body=x", 400, 21604 },
		{ FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN,
		  "To=600111222&From=%2B15005550006&Body=x", 400, 21211 },
		{ FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN,
		  "To=%2B34600111222&Body=x", 400, 21603 },
		{ FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN,
		  "To=%2B34600111222&From=%2B15005550006&MessagingServiceSid=MG1&Body=x", 400, 21603 },
		{ FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN,
		  "To=%2B34600111222&From=%2B15005550006", 400, 21602 },
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct fake_twilio *tw;
	struct harness_http_resp r;

	tw = fake_twilio_start(HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, fixtures_dir());
	assert_non_null(tw);
	for (size_t i = 0; i < n; i++) {
		fake_post(tw, rows[i].path, rows[i].user, rows[i].pass, rows[i].form, &r);
		assert_twilio_error(&r, rows[i].status, rows[i].code);
		assert_false(fake_twilio_request(tw, i)->ok);
		assert_int_equal(fake_twilio_request(tw, i)->status, rows[i].status);
	}
	assert_int_equal(fake_twilio_count(tw), n);
	fake_twilio_stop(tw);
}

/* The fake's default 201 is the fixture with only sid, to and body rewritten; scripted answers
 * come in order, then the default again. */
static void test_fake_twilio_answers(void **state)
{
	struct fake_twilio *tw;
	struct harness_http_resp r;
	char path[HARNESS_PATH_LEN];
	json_t *j, *fixture, *val;
	const char *key;

	tw = fake_twilio_start(HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, fixtures_dir());
	assert_non_null(tw);
	fake_post(tw, FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, FAKE_GOOD_FORM, &r);
	assert_int_equal(r.status, 201);
	j = parse_json(&r);
	harness_http_release(&r);
	snprintf(path, sizeof(path), "%s/twilio-create-message-201.json", fixtures_dir());
	fixture = json_load_file(path, 0, NULL);
	assert_non_null(fixture);
	assert_int_equal(json_object_size(j), json_object_size(fixture));
	json_object_foreach(fixture, key, val) {
		if (strcmp(key, "sid") && strcmp(key, "to") && strcmp(key, "body") &&
		    !json_equal(val, json_object_get(j, key)))
			fail_msg("201 member %s differs from the fixture", key);
	}
	assert_jstr(j, "to", CUSTOMER_PHONE);
	assert_jstr(j, "body", "Hola \xf0\x9f\x91\x8d");
	assert_int_equal(strlen(jstr(j, "sid")), 34);
	assert_jstr(j, "sid", fake_twilio_request(tw, 0)->sid);
	assert_true(fake_twilio_request(tw, 0)->ok);
	json_decref(fixture);
	json_decref(j);

	assert_int_equal(fake_twilio_queue(tw, 400, 21211, "Invalid 'To' Phone Number"), 0);
	assert_int_equal(fake_twilio_queue(tw, 503, 0, NULL), 0);
	fake_post(tw, FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, FAKE_GOOD_FORM, &r);
	assert_twilio_error(&r, 400, 21211);
	fake_post(tw, FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, FAKE_GOOD_FORM, &r);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.len, 0);
	harness_http_release(&r);
	fake_post(tw, FAKE_MESSAGES, HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, FAKE_GOOD_FORM, &r);
	assert_int_equal(r.status, 201);
	harness_http_release(&r);
	assert_int_equal(fake_twilio_wait(tw, 4, 100), 4);
	assert_true(fake_twilio_request(tw, 1)->ok);
	assert_true(strcmp(fake_twilio_request(tw, 3)->sid, fake_twilio_request(tw, 0)->sid) != 0);
	fake_twilio_stop(tw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signer_matches_twilio_vectors),
		cmocka_unit_test(test_fake_twilio_refusals),
		cmocka_unit_test(test_fake_twilio_answers),
		cmocka_unit_test_setup_teardown(test_survey_round_trip, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_trigger_idempotent, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_idempotency_key, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_uncertain_after_crash, e2e_setup,
						e2e_teardown),
		cmocka_unit_test_setup_teardown(test_config_permission_warning, e2e_setup,
						e2e_teardown),
		cmocka_unit_test_setup_teardown(test_send_waits_for_longer_retry_after,
						retry_after_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_reply_reprompts_once, e2e_setup,
						e2e_teardown),
		cmocka_unit_test_setup_teardown(test_reply_unknown_number, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_status_callback, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_trigger_refused, e2e_setup, e2e_teardown),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
