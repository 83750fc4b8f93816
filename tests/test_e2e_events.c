/*
 * test_e2e_events.c - outbound events through build/gateway and a receiver on loopback
 * (tests/support/fake_receiver.c) that checks every X-Gateway-Signature as docs/guarantees.md
 * ("Outbound events") tells receivers to.
 *
 * The gateway sends surveys through the console provider (GATEWAY_CHANNELS_SMS=console) and
 * customers answer through POST /webhooks/console, so only the events leave the process.  Retries
 * are short ([events] retry_base 100ms, retry_cap 1s) so an outage costs seconds.
 *
 *  - a reply reaches the receiver once, signed, with the documented JSON;
 *  - a receiver answering 503 while replies (and an opt-out) arrive gets every event once it
 *    answers 200 again, each exactly once after its 2xx, none missing;
 *  - events survive a gateway killed (SIGKILL) while the receiver's port is closed: after a
 *    restart and the receiver's return, every event arrives;
 *  - without [events] url no event is written at all.
 *
 * Environment: GATEWAY_BIN, FIXTURES, E2E_KEEP_TMP (see e2e.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/e2e.h"
#include "support/fake_receiver.h"

#define SECRET "whsec_e2e_0123456789"
#define DELIVERY_WAIT_MS 20000  /* an outage's backoff is capped at 1 s: seconds suffice */

struct world {
	struct e2e e;                   /* dir, conf, db, gw: what api() and survey_get() use */
	struct fake_receiver *rcv;
	const char *env[2];
	unsigned seq;
};

static int start_gateway(struct world *w)
{
	return harness_gw_start(&w->e.gw, w->e.dir, w->e.conf, w->e.gw.port, w->env);
}

/* A gateway with (events = 1) or without [events], and a receiver listening. */
static int setup_world(void **state, int events)
{
	struct world *w = calloc(1, sizeof(*w));
	char extra[512];
	struct harness_config hc = { .extra = extra };
	int port;

	*state = w;
	if (!w || harness_tmpdir_create(w->e.dir, sizeof(w->e.dir)) < 0 ||
	    !(w->rcv = fake_receiver_new(SECRET)) || fake_receiver_listen(w->rcv, 0) < 0 ||
	    (port = harness_free_port()) < 0)
		return -1;
	w->e.gw.port = port;
	snprintf(extra, sizeof(extra),
		 events ? "[events]\nurl = http://127.0.0.1:%d/hooks/surveys\nsecret = " SECRET
			  "\nretry_base = 100ms\nretry_cap = 1s\ntimeout = 2s\n" : "",
		 fake_receiver_port(w->rcv));
	w->env[0] = "GATEWAY_CHANNELS_SMS=console";
	if (harness_write_config_opts(w->e.dir, port, 1, &hc, w->e.conf, w->e.db) < 0)
		return -1;
	return start_gateway(w);
}

static int setup_events(void **state)
{
	return setup_world(state, 1);
}

static int setup_no_events(void **state)
{
	return setup_world(state, 0);
}

static int teardown_world(void **state)
{
	struct world *w = *state;
	int rc = 0;

	if (!w)
		return 0;
	if (w->e.gw.pid && harness_gw_stop(&w->e.gw) != 0)
		rc = -1;
	if (!w->e.passed || rc < 0)
		harness_gw_print_log(&w->e.gw, 4000);
	fake_receiver_free(w->rcv);
	if (w->e.dir[0])
		harness_tmpdir_remove(w->e.dir);
	free(w);
	return rc;
}

/* ---- speaking to the gateway ----------------------------------------------------------- */

/* The phone of customer i. */
static void phone_of(unsigned i, char out[24])
{
	snprintf(out, 24, "+3460011%04u", i);
}

/* Triggers an NPS survey for customer i and waits until it is sent; its id into id_out. */
static void survey_sent(struct world *w, unsigned i, char id_out[64])
{
	struct harness_http_resp r;
	char body[512], phone[24];
	json_t *j;

	phone_of(i, phone);
	snprintf(body, sizeof(body),
		 "{\"customer\":{\"id\":\"cust-%u\",\"phone\":\"%s\",\"locale\":\"es\"},"
		 "\"kind\":\"nps\",\"channel\":\"sms\",\"interaction\":{\"id\":\"chat-%u-%u\","
		 "\"touchpoint\":\"support_chat\",\"agent\":\"agent-7\"}}", i, phone, i, ++w->seq);
	api(&w->e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, strlen(body),
	    &r);
	if (r.status != 202)
		fail_msg("trigger %u: %ld %s", i, r.status, r.body);
	j = parse_json(&r);
	snprintf(id_out, 64, "%s", jstr(j, "id"));
	json_decref(j);
	harness_http_release(&r);
	json_decref(wait_status(&w->e, id_out, "sent"));
}

/* Customer `phone` texts `text` through the console provider; the gateway must take it. */
static void text_from(struct world *w, const char *phone, const char *text)
{
	struct harness_http_resp r;
	char body[256];

	snprintf(body, sizeof(body), "{\"from\":\"%s\",\"text\":\"%s\",\"channel\":\"sms\"}", phone,
		 text);
	api(&w->e, "POST", "/webhooks/console", HARNESS_API_KEY, "application/json", body,
	    strlen(body), &r);
	if (r.status != 200)
		fail_msg("console text %s: %ld %s", text, r.status, r.body);
	harness_http_release(&r);
}

/* Events still queued in the database. */
static long events_queued(struct world *w)
{
	return harness_db_count_mentions(w->e.db, "events", "evt_");
}

static void wait_queue_empty(struct world *w)
{
	long long until = harness_now_ms() + E2E_POLL_MS;

	while (events_queued(w) != 0) {
		if (harness_now_ms() >= until)
			fail_msg("%ld event(s) still queued after %d ms", events_queued(w),
				 E2E_POLL_MS);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

static void wait_log_line(struct world *w, const char *const *needles)
{
	long long until = harness_now_ms() + DELIVERY_WAIT_MS;

	while (harness_gw_log_has_line(&w->e.gw, needles) != 1) {
		if (harness_now_ms() >= until)
			fail_msg("no log line with %s ... after %d ms", needles[0], DELIVERY_WAIT_MS);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
}

/*
 * What the receiver took: every request must carry a valid signature; every event id answered
 * 2xx exactly once (the gateway never resends what was taken, short of a crash), and every id it
 * ever saw refused must be among them (nothing given up).  Returns the accepted ids, in order,
 * into ids (max) and their count.
 */
static size_t accepted_ids(struct world *w, char (*ids)[64], char (*types)[40], size_t max)
{
	size_t n = 0, total = fake_receiver_count(w->rcv);

	for (size_t i = 0; i < total; i++) {
		const struct fake_receiver_request *q = fake_receiver_request(w->rcv, i);

		if (!q->sig_ok)
			fail_msg("request %zu: the signature did not check out: %s", i, q->body);
		if (q->status < 200 || q->status >= 300)
			continue;
		for (size_t k = 0; k < n; k++)
			if (strcmp(ids[k], q->id) == 0)
				fail_msg("event %s accepted twice", q->id);
		assert_true(n < max);
		snprintf(ids[n], 64, "%s", q->id);
		snprintf(types[n], 40, "%s", q->type);
		n++;
	}
	for (size_t i = 0; i < total; i++) {
		const struct fake_receiver_request *q = fake_receiver_request(w->rcv, i);
		size_t k = 0;

		while (k < n && strcmp(ids[k], q->id) != 0)
			k++;
		if (k == n)
			fail_msg("event %s (%s) was refused and never delivered", q->id, q->type);
	}
	return n;
}

static size_t count_type(char (*types)[40], size_t n, const char *type)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += strcmp(types[i], type) == 0;
	return c;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_a_reply_reaches_the_receiver_signed_with_its_response(void **state)
{
	struct world *w = *state;
	const struct fake_receiver_request *q;
	char id[64], phone[24];
	json_t *j, *s, *c, *r;

	survey_sent(w, 1, id);
	phone_of(1, phone);
	text_from(w, phone, "9 muy amables");
	assert_int_equal(fake_receiver_wait_accepted(w->rcv, 1, DELIVERY_WAIT_MS), 1);
	q = fake_receiver_request(w->rcv, 0);
	assert_true(q->sig_ok);
	assert_string_equal(q->content_type, "application/json");
	assert_string_equal(q->header_id, q->id);
	assert_true(q->user_agent[0] != '\0');
	assert_non_null(j = json_loads(q->body, 0, NULL));
	assert_int_equal(strncmp(jstr(j, "id"), "evt_", 4), 0);
	assert_jstr(j, "type", "response.created");
	assert_int_equal(strlen(jstr(j, "created_at")), 20);
	s = json_object_get(j, "survey");
	assert_jstr(s, "id", id);
	assert_jstr(s, "kind", "nps");
	assert_jstr(s, "channel", "sms");
	assert_jstr(s, "touchpoint", "support_chat");
	assert_jstr(s, "agent", "agent-7");
	c = json_object_get(j, "customer");
	assert_jstr(c, "id", "cust-1");
	assert_null(json_object_get(c, "phone"));       /* no phone numbers in response events */
	assert_null(strstr(q->body, phone + 1));
	r = json_object_get(j, "response");
	assert_int_equal(json_integer_value(json_object_get(r, "score")), 9);
	assert_jstr(r, "category", "promoter");
	assert_jstr(r, "comment", "muy amables");
	json_decref(j);
	wait_queue_empty(w);
	/* Delivered once: nothing more comes. */
	harness_sleep_ms(E2E_QUIET_MS);
	assert_int_equal(fake_receiver_count(w->rcv), 1);
	w->e.passed = 1;
}

static void test_a_receiver_answering_503_gets_every_event_once_it_is_back(void **state)
{
	struct world *w = *state;
	static const char *const retry_line[] = { "event=deliver", "result=retry", "status=503",
						  NULL };
	char id[64], phone[24], ids[16][64], types[16][40];
	size_t n;

	fake_receiver_set_status(w->rcv, 503);
	for (unsigned i = 1; i <= 4; i++) {
		survey_sent(w, i, id);
		phone_of(i, phone);
		text_from(w, phone, i % 2 ? "10" : "7, tardaron");
	}
	text_from(w, "+34600999000", "STOP");  /* never surveyed: an opt-out all the same */
	/* The receiver keeps refusing for a while; the gateway keeps trying and logs it. */
	wait_log_line(w, retry_line);
	for (long long until = harness_now_ms() + DELIVERY_WAIT_MS;
	     fake_receiver_count(w->rcv) < 3 && harness_now_ms() < until;)
		harness_sleep_ms(E2E_POLL_STEP_MS);
	assert_true(fake_receiver_count(w->rcv) >= 3);
	assert_int_equal(events_queued(w), 5);

	fake_receiver_set_status(w->rcv, 200);
	assert_int_equal(fake_receiver_wait_accepted(w->rcv, 5, DELIVERY_WAIT_MS), 5);
	wait_queue_empty(w);
	n = accepted_ids(w, ids, types, 16);
	assert_int_equal(n, 5);
	assert_int_equal(count_type(types, n, "response.created"), 4);
	assert_int_equal(count_type(types, n, "customer.opted_out"), 1);
	harness_sleep_ms(E2E_QUIET_MS);
	assert_int_equal(accepted_ids(w, ids, types, 16), 5);
	w->e.passed = 1;
}

static void test_events_survive_a_gateway_killed_while_the_receiver_is_down(void **state)
{
	struct world *w = *state;
	static const char *const refused_line[] = { "event=deliver", "result=retry", "status=0",
						    NULL };
	char id[3][64], phone[24], ids[16][64], types[16][40];
	size_t n;

	fake_receiver_close(w->rcv);
	for (unsigned i = 0; i < 3; i++) {
		survey_sent(w, i + 1, id[i]);
		phone_of(i + 1, phone);
		text_from(w, phone, "8");
	}
	wait_log_line(w, refused_line);
	assert_int_equal(events_queued(w), 3);

	kill(w->e.gw.pid, SIGKILL);
	assert_int_equal(harness_gw_stop(&w->e.gw), 128 + SIGKILL);
	assert_int_equal(events_queued(w), 3);
	assert_int_equal(start_gateway(w), 0);
	assert_int_equal(fake_receiver_listen(w->rcv, 0), 0);

	assert_int_equal(fake_receiver_wait_accepted(w->rcv, 3, DELIVERY_WAIT_MS), 3);
	wait_queue_empty(w);
	n = accepted_ids(w, ids, types, 16);
	assert_int_equal(n, 3);
	assert_int_equal(count_type(types, n, "response.created"), 3);
	for (size_t i = 0; i < 3; i++) {
		size_t k = 0;

		while (k < fake_receiver_count(w->rcv) &&
		       !strstr(fake_receiver_request(w->rcv, k)->body, id[i]))
			k++;
		if (k == fake_receiver_count(w->rcv))
			fail_msg("no event for survey %s", id[i]);
	}
	w->e.passed = 1;
}

static void test_without_a_url_no_event_is_written(void **state)
{
	struct world *w = *state;
	char id[64], phone[24];

	survey_sent(w, 1, id);
	phone_of(1, phone);
	text_from(w, phone, "9");
	json_decref(wait_status(&w->e, id, "answered"));
	text_from(w, phone, "STOP");
	assert_int_equal(events_queued(w), 0);
	assert_int_equal(fake_receiver_count(w->rcv), 0);
	w->e.passed = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_a_reply_reaches_the_receiver_signed_with_its_response, setup_events,
			teardown_world),
		cmocka_unit_test_setup_teardown(
			test_a_receiver_answering_503_gets_every_event_once_it_is_back, setup_events,
			teardown_world),
		cmocka_unit_test_setup_teardown(
			test_events_survive_a_gateway_killed_while_the_receiver_is_down,
			setup_events, teardown_world),
		cmocka_unit_test_setup_teardown(test_without_a_url_no_event_is_written,
						setup_no_events, teardown_world),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
