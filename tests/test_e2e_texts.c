/*
 * test_e2e_texts.c - what a customer's phone receives, from the outside: texts sent by SMS have
 * their GSM-7 look-alikes replaced under [sms] encoding = gsm7-smart (the customer's name
 * included, the survey question and the replies alike), never on WhatsApp and never under
 * encoding = unicode; letters with accents are folded only with fold_accents = on.  What each
 * SMS costs shows in its send log line (segments=N encoding=gsm7|ucs2) and in /metrics
 * (gateway_sms_segments_total by provider and encoding).
 *
 * Each test starts build/gateway against a fake Twilio for SMS; WhatsApp goes to the console
 * provider, whose lines in the gateway's log show what it would have sent.
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

#define PHONE_1 "+34600111222"
#define PHONE_2 "+34600111333"
#define PHONE_3 "+34600111444"
#define RSQ "\xE2\x80\x99"              /* ’ */
#define I_ACUTE "\xC3\xAD"              /* í, not GSM-7 */

/* Triggers an NPS survey of `channel` for `name` at `phone` in `locale`; must answer 202. */
static void trigger(struct e2e *e, const char *interaction, const char *phone, const char *name,
		    const char *locale, const char *channel)
{
	struct harness_http_resp r;
	char body[512];
	int n = snprintf(body, sizeof(body),
			 "{\"customer\":{\"id\":\"%s\",\"phone\":\"%s\",\"name\":\"%s\","
			 "\"locale\":\"%s\"},\"kind\":\"nps\",\"channel\":\"%s\","
			 "\"interaction\":{\"id\":\"%s\"}}",
			 interaction, phone, name, locale, channel, interaction);

	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, (size_t)n, &r);
	if (r.status != 202)
		fail_msg("POST /v1/surveys (%s): %ld: %s", interaction, r.status, r.body);
	harness_http_release(&r);
}

/* The body of the fake Twilio's request number `i` (0-based), waiting for it; it must go to
 * `to`. */
static const char *sms_body(struct e2e *e, size_t i, const char *to)
{
	const struct fake_twilio_request *req;

	if (fake_twilio_wait(e->tw, i + 1, E2E_POLL_MS) < i + 1)
		fail_msg("no SMS number %zu (%zu sent)", i + 1, fake_twilio_count(e->tw));
	req = fake_twilio_request(e->tw, i);
	if (!req->to || strcmp(req->to, to) != 0)
		fail_msg("SMS %zu went to %s, want %s", i + 1, req->to ? req->to : "-", to);
	return req->body ? req->body : "";
}

static void assert_starts(const char *text, const char *prefix)
{
	if (strncmp(text, prefix, strlen(prefix)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", text, prefix);
}

/* Waits until a line of the gateway's log holds every one of `needles`. */
static void wait_log_line(struct e2e *e, const char *const *needles)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;

	while (harness_gw_log_has_line(&e->gw, needles) != 1) {
		if (harness_now_ms() > deadline)
			fail_msg("no log line with \"%s\"...", needles[0]);
		usleep(E2E_POLL_STEP_MS * 1000);
	}
}

/*
 * gsm7-smart (the default): the SMS question and the thank-you read the name O’Neil with a plain
 * apostrophe; María keeps her í (the text goes as UCS-2); on WhatsApp O’Neil is as written.
 */
static void test_sms_texts_get_lookalikes_replaced(void **state)
{
	struct e2e *e = *state;
	const char *const whatsapp[] = { "[console] to " PHONE_3 " (whatsapp): Hi O" RSQ "Neil, how",
					 NULL };

	trigger(e, "chat-1", PHONE_1, "O" RSQ "Neil", "en", "sms");
	assert_starts(sms_body(e, 0, PHONE_1), "Hi O'Neil, how likely");
	say(e, PHONE_1, "9", NULL);
	assert_string_equal(sms_body(e, 1, PHONE_1), "Thank you for your answer, O'Neil!");

	trigger(e, "chat-2", PHONE_2, "Mar" I_ACUTE "a", "es", "sms");
	assert_starts(sms_body(e, 2, PHONE_2), "Hola Mar" I_ACUTE "a, \xC2\xBFqu\xC3\xA9");

	trigger(e, "chat-3", PHONE_3, "O" RSQ "Neil", "en", "whatsapp");
	wait_log_line(e, whatsapp);
	e->passed = 1;
}

static const struct harness_config fold_conf = { .extra = "[sms]\nfold_accents = on\n" };

/* fold_accents = on: María reads Maria by SMS, the ¿ and é GSM-7 has stay. */
static void test_fold_accents_on(void **state)
{
	struct e2e *e = *state;

	trigger(e, "chat-1", PHONE_1, "Mar" I_ACUTE "a O" RSQ "Neil", "es", "sms");
	assert_starts(sms_body(e, 0, PHONE_1), "Hola Maria O'Neil, \xC2\xBFqu\xC3\xA9");
	e->passed = 1;
}

static const struct harness_config unicode_conf = { .extra = "[sms]\nencoding = unicode\n" };

/* encoding = unicode: the text goes as written. */
static void test_encoding_unicode(void **state)
{
	struct e2e *e = *state;

	trigger(e, "chat-1", PHONE_1, "O" RSQ "Neil", "en", "sms");
	assert_starts(sms_body(e, 0, PHONE_1), "Hi O" RSQ "Neil, how likely");
	e->passed = 1;
}

/* The value of the sample whose name and labels are exactly `series` in the metrics text; fails
 * when absent. */
static double sample(const char *text, const char *series)
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

/* Scrapes /metrics until `series` reads `want`; returns that scrape (caller frees). */
static char *scrape_until(struct e2e *e, const char *series, double want)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;

	for (;;) {
		struct harness_http_resp r;
		char *m;

		api(e, "GET", "/metrics", NULL, NULL, NULL, 0, &r);
		assert_int_equal(r.status, 200);
		m = strdup(r.body);
		assert_non_null(m);
		harness_http_release(&r);
		if (sample(m, series) == want)
			return m;
		if (harness_now_ms() > deadline)
			fail_msg("%s stays at %g, want %g", series, sample(m, series), want);
		free(m);
		usleep(E2E_POLL_STEP_MS * 1000);
	}
}

/*
 * Ana's question is one GSM-7 segment; María's, whose í GSM-7 lacks, goes as UCS-2: 131
 * characters, two segments.  Each send's log line says so, /metrics adds them up by encoding,
 * and a WhatsApp send has no segments to speak of.
 */
static void test_segments_in_log_and_metrics(void **state)
{
	struct e2e *e = *state;
	const char *const ana[] = { "event=send provider=twilio", "*1222 ", "result=accepted",
				    "segments=1 encoding=gsm7", NULL };
	const char *const maria[] = { "event=send provider=twilio", "*1333 ", "result=accepted",
				      "segments=2 encoding=ucs2", NULL };
	const char *const whatsapp_sent[] = { "event=send provider=console", NULL };
	const char *const whatsapp_segments[] = { "event=send provider=console", "segments=",
						  NULL };
	char *m;

	trigger(e, "chat-1", PHONE_1, "Ana", "es", "sms");
	trigger(e, "chat-2", PHONE_2, "Mar" I_ACUTE "a", "es", "sms");
	trigger(e, "chat-3", PHONE_3, "Ana", "es", "whatsapp");
	wait_log_line(e, ana);
	wait_log_line(e, maria);
	wait_log_line(e, whatsapp_sent);
	assert_int_equal(harness_gw_log_has_line(&e->gw, whatsapp_segments), 0);
	m = scrape_until(e, "gateway_sms_segments_total{provider=\"twilio\",encoding=\"ucs2\"}", 2);
	assert_true(sample(m, "gateway_sms_segments_total{provider=\"twilio\",encoding=\"gsm7\"}")
		    == 1);
	assert_true(sample(m, "gateway_sms_segments_total{provider=\"console\",encoding=\"gsm7\"}")
		    == 0);
	free(m);
	e->passed = 1;
}

/* cmocka setup: the gateway on the harness_config of the prestate (NULL: the defaults). */
static int texts_setup(void **state)
{
	struct e2e *e = e2e_start(*state, 0);

	if (!e)
		return -1;
	*state = e;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sms_texts_get_lookalikes_replaced, texts_setup,
						e2e_teardown),
		cmocka_unit_test_setup_teardown(test_segments_in_log_and_metrics, texts_setup,
						e2e_teardown),
		cmocka_unit_test_prestate_setup_teardown(test_fold_accents_on, texts_setup,
							 e2e_teardown, (void *)&fold_conf),
		cmocka_unit_test_prestate_setup_teardown(test_encoding_unicode, texts_setup,
							 e2e_teardown, (void *)&unicode_conf),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
