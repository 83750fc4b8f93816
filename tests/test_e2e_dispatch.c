/*
 * test_e2e_dispatch.c - a batch of sends whose outcomes are recorded one by one.
 *
 * The dispatcher hands the outcomes of up to 256 sends to the store together.  Each is recorded
 * on its own: an outcome the store refuses is logged with its message id and leaves that message
 * `sending` (its lease later makes it uncertain), and every other outcome of the batch is kept.
 * A provider that answers every send with the same message id (sandboxes and mocks do) gets each
 * send recorded as accepted, and a status callback for that id moves the newest of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/e2e.h"

#define BATCH 256
#define SHARED_SID "SM0123456789abcdef0123456789abcdef"
#define REFUSED_SID "SM with spaces"        /* what the store will not keep as an id */
#define DUE_IN_S 5              /* every survey falls due at once, after all are triggered */

static void test_outcomes_recorded_one_by_one(void **state)
{
	struct e2e *e = *state;
	char *ids[BATCH], *m, refused_to[32] = "";
	const char *refused_id = NULL, *newest_id = NULL;
	const char *set[] = { "AccountSid", HARNESS_TWILIO_SID, "From", HARNESS_TWILIO_FROM,
			      "MessageSid", SHARED_SID, "SmsSid", SHARED_SID,
			      "MessageStatus", "delivered", "SmsStatus", "delivered", NULL };
	struct harness_http_resp r;
	size_t sent = 0;
	json_t *j;

	assert_int_equal(fake_twilio_repeat_sid(e->tw, SHARED_SID), 0);
	assert_int_equal(fake_twilio_queue_sid(e->tw, REFUSED_SID), 0);
	for (int i = 0; i < BATCH; i++) {
		char body[512];
		int n = snprintf(body, sizeof(body),
				 "{\"customer\": {\"id\": \"batch-c%d\", \"phone\": \"+3463%07d\","
				 " \"locale\": \"es\"}, \"kind\": \"nps\", \"channel\": \"sms\","
				 " \"interaction\": {\"id\": \"batch-i%d\"}, \"delay_seconds\": %d}",
				 i, i, i, DUE_IN_S);

		api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, (size_t)n,
		    &r);
		assert_int_equal(r.status, 202);
		j = parse_json(&r);
		ids[i] = strdup(jstr(j, "id"));
		json_decref(j);
		harness_http_release(&r);
	}
	assert_int_equal(fake_twilio_wait(e->tw, BATCH, 30000), BATCH);
	for (size_t i = 0; i < BATCH; i++) {
		const struct fake_twilio_request *req = fake_twilio_request(e->tw, i);

		assert_true(req->ok);
		if (strcmp(req->sid, REFUSED_SID) == 0)
			snprintf(refused_to, sizeof(refused_to), "%s", req->to);
	}
	assert_true(refused_to[0]);

	/* Every outcome but the refused one is recorded: one message still sending. */
	for (long long deadline = harness_now_ms() + E2E_POLL_MS;; harness_sleep_ms(50)) {
		m = metrics_scrape(e);
		if (metrics_sample(m, "gateway_outbox_messages{state=\"sending\"}") <= 1 ||
		    harness_now_ms() > deadline)
			break;
		free(m);
	}
	assert_true(metrics_sample(m, "gateway_outbox_messages{state=\"sending\"}") == 1);
	assert_true(metrics_sample(m, "gateway_outbox_messages{state=\"queued\"}") == 0);
	free(m);
	for (int i = 0; i < BATCH; i++) {
		char phone[32];

		snprintf(phone, sizeof(phone), "+3463%07d", i);
		j = survey_get(e, ids[i]);
		if (strcmp(phone, refused_to) == 0) {
			refused_id = ids[i];
			assert_jstr(j, "status", "sending");
		} else {
			assert_jstr(j, "status", "sent");
			sent++;
			newest_id = ids[i];
		}
		json_decref(j);
	}
	assert_int_equal(sent, BATCH - 1);
	assert_non_null(refused_id);
	{
		char msg_id_text[64];
		const char *line[] = { "event=send_record", "the others were recorded", NULL };
		const char *send_line[] = { "event=send", msg_id_text, "recorded=no", NULL };

		assert_int_equal(harness_gw_log_has_line(&e->gw, line), 1);
		snprintf(msg_id_text, sizeof(msg_id_text), "survey=%s", refused_id);
		assert_int_equal(harness_gw_log_has_line(&e->gw, send_line), 1);
	}
	/* messages and surveys both keep the shared id, once per accepted send */
	assert_int_equal(harness_db_count_value(e->db, SHARED_SID), 2 * (BATCH - 1));

	/* A status callback for the shared id moves the newest message that carries it. */
	twilio_webhook(e, "/webhooks/twilio/status", "twilio-status-sent-docs.form", set, SIG_OK,
		       &r);
	assert_int_equal(r.status, 200);
	harness_http_release(&r);
	json_decref(wait_status(e, newest_id, "delivered"));
	j = survey_get(e, ids[0]);
	assert_jstr(j, "status", strcmp(ids[0], refused_id) == 0 ? "sending" : "sent");
	json_decref(j);
	for (int i = 0; i < BATCH; i++)
		free(ids[i]);
	e->passed = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_outcomes_recorded_one_by_one, e2e_setup,
						e2e_teardown),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
