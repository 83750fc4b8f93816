/*
 * test_e2e_metrics.c - GET /metrics from the outside: Prometheus text that counts what the gateway
 * did (triggers by outcome, sends by the provider's answer with their duration, replies by what the
 * conversation rules made of them, HTTP answers by class), the outbox's depth and each provider's
 * pause state, and nothing that identifies a customer.
 *
 * Each test starts build/gateway against a fake Twilio (tests/support/e2e.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/e2e.h"

#define CUSTOMER_PHONE "+34600111222"

static void post_trigger(struct e2e *e, const char *interaction, long want)
{
	struct harness_http_resp r;
	char body[512];
	int n = snprintf(body, sizeof(body),
			 "{\"customer\":{\"id\":\"cust-42\",\"phone\":\"" CUSTOMER_PHONE "\","
			 "\"name\":\"Ana\",\"locale\":\"es\"},\"kind\":\"nps\",\"channel\":\"sms\","
			 "\"interaction\":{\"id\":\"%s\"}}", interaction);

	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, (size_t)n, &r);
	if (r.status != want)
		fail_msg("POST /v1/surveys (%s): %ld, want %ld: %s", interaction, r.status, want,
			 r.body);
	harness_http_release(&r);
}

/* A trigger that is sent, a repeat of it, a reply, an unsigned webhook: each counted where it
 * belongs, the send's duration observed once, and no phone number or name in the text. */
static void test_metrics_count_what_happened(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;
	char *m;

	post_trigger(e, "chat-1", 202);
	post_trigger(e, "chat-1", 200);
	if (fake_twilio_wait(e->tw, 1, E2E_POLL_MS) < 1)
		fail_msg("the survey was not sent");
	say(e, CUSTOMER_PHONE, "9", NULL);
	if (fake_twilio_wait(e->tw, 2, E2E_POLL_MS) < 2)
		fail_msg("the thank-you was not sent");
	twilio_inbound(e, CUSTOMER_PHONE, "10", "SMe2e00000000000000000000000000001", SIG_NONE, &r);
	assert_int_equal(r.status, 403);
	harness_http_release(&r);

	m = metrics_scrape_until(e, "gateway_messages_sent_total{provider=\"twilio\",result=\"accepted\"}",
			 2);
	assert_true(metrics_sample(m, "gateway_surveys_triggered_total{kind=\"nps\",channel=\"sms\","
			       "outcome=\"queued\"}") == 1);
	assert_true(metrics_sample(m, "gateway_surveys_triggered_total{kind=\"nps\",channel=\"sms\","
			       "outcome=\"existing\"}") == 1);
	assert_true(metrics_sample(m, "gateway_surveys_triggered_total{kind=\"csat\",channel=\"whatsapp\","
			       "outcome=\"queued\"}") == 0);
	/* the question and the thank-you, each accepted at the first attempt */
	assert_true(metrics_sample(m, "gateway_messages_sent_total{provider=\"twilio\","
			       "result=\"accepted\"}") == 2);
	assert_true(metrics_sample(m, "gateway_messages_sent_total{provider=\"twilio\","
			       "result=\"retry\"}") == 0);
	assert_true(metrics_sample(m, "gateway_send_duration_seconds_count{provider=\"twilio\"}") == 2);
	assert_true(metrics_sample(m, "gateway_send_duration_seconds_bucket{provider=\"twilio\","
			       "le=\"+Inf\"}") == 2);
	assert_true(metrics_sample(m, "gateway_send_duration_seconds_sum{provider=\"twilio\"}") > 0);
	assert_true(metrics_sample(m, "gateway_replies_total{provider=\"twilio\",outcome=\"answer\"}") == 1);
	assert_true(metrics_sample(m, "gateway_replies_total{provider=\"twilio\",outcome=\"opt_out\"}") == 0);
	assert_true(metrics_sample(m, "gateway_provider_paused{provider=\"twilio\"}") == 0);
	assert_true(metrics_sample(m, "gateway_outbox_messages{state=\"queued\"}") == 0);
	assert_true(metrics_sample(m, "gateway_outbox_messages{state=\"uncertain\"}") == 0);
	assert_true(metrics_sample(m, "gateway_http_responses_total{class=\"4xx\"}") >= 1);
	assert_true(metrics_sample(m, "gateway_http_responses_total{class=\"2xx\"}") >= 3);
	if (strstr(m, "600111222") || strstr(m, "Ana") || strstr(m, "cust-42"))
		fail_msg("the metrics name a customer:\n%.3000s", m);
	free(m);
	e->passed = 1;
}

/* A survey waiting for its send (delay_seconds) is in the outbox gauge until it goes; a
 * redelivered reply counts as a duplicate, not as a second answer. */
static void test_metrics_outbox_and_duplicates(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;
	static const char body[] =
		"{\"customer\":{\"id\":\"cust-7\",\"phone\":\"+34600111333\"},\"kind\":\"ces\","
		"\"channel\":\"sms\",\"interaction\":{\"id\":\"chat-later\"},\"delay_seconds\":3600}";
	char sid[40];
	char *m;

	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, strlen(body), &r);
	assert_int_equal(r.status, 202);
	harness_http_release(&r);
	m = metrics_scrape(e);
	assert_true(metrics_sample(m, "gateway_outbox_messages{state=\"queued\"}") == 1);
	assert_true(metrics_sample(m, "gateway_surveys_triggered_total{kind=\"ces\",channel=\"sms\","
			       "outcome=\"queued\"}") == 1);
	free(m);

	post_trigger(e, "chat-now", 202);
	if (fake_twilio_wait(e->tw, 1, E2E_POLL_MS) < 1)
		fail_msg("the survey was not sent");
	say(e, CUSTOMER_PHONE, "8", sid);
	twilio_inbound(e, CUSTOMER_PHONE, "8", sid, SIG_OK, &r);
	assert_twiml_ok(&r);
	harness_http_release(&r);
	m = metrics_scrape(e);
	assert_true(metrics_sample(m, "gateway_replies_total{provider=\"twilio\",outcome=\"answer\"}") == 1);
	assert_true(metrics_sample(m, "gateway_replies_total{provider=\"twilio\",outcome=\"duplicate\"}")
		    == 1);
	free(m);
	e->passed = 1;
}

/* /metrics takes GET only. */
static void test_metrics_method(void **state)
{
	struct e2e *e = *state;
	struct harness_http_resp r;

	api(e, "POST", "/metrics", NULL, "application/json", "{}", 2, &r);
	assert_int_equal(r.status, 405);
	harness_http_release(&r);
	e->passed = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_metrics_count_what_happened, e2e_setup,
						e2e_teardown),
		cmocka_unit_test_setup_teardown(test_metrics_outbox_and_duplicates, e2e_setup,
						e2e_teardown),
		cmocka_unit_test_setup_teardown(test_metrics_method, e2e_setup, e2e_teardown),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
