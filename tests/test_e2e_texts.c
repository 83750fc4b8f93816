/*
 * test_e2e_texts.c - what a customer's phone receives, from the outside: texts sent by SMS have
 * their GSM-7 look-alikes replaced under [sms] encoding = gsm7-smart (the customer's name
 * included, the survey question and the replies alike), never on WhatsApp and never under
 * encoding = unicode; letters with accents are folded only with fold_accents = on.  What each
 * SMS costs shows in its send log line (segments=N encoding=gsm7|ucs2) and in /metrics
 * (gateway_sms_segments_total by provider and encoding).
 *
 * `gateway texts -c FILE` prints every text (24: 8 per locale, built-in or overridden) with its
 * encoding and segments as it would be sent, so an operator sees the cost before going live.
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
#include <sys/wait.h>
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
	m = metrics_scrape_until(e, "gateway_sms_segments_total{provider=\"twilio\",encoding=\"ucs2\"}", 2);
	assert_true(metrics_sample(m, "gateway_sms_segments_total{provider=\"twilio\",encoding=\"gsm7\"}")
		    == 1);
	assert_true(metrics_sample(m, "gateway_sms_segments_total{provider=\"console\",encoding=\"gsm7\"}")
		    == 0);
	free(m);
	e->passed = 1;
}

/* ---- gateway texts ---------------------------------------------------------------------------- */

#define EM_DASH "\xE2\x80\x94"          /* — */
#define A_ACUTE "\xC3\xA1"              /* á, not GSM-7 */

/* Writes `ini` as DIR/texts.conf into `path`. */
static void write_conf(const char *dir, const char *ini, char path[HARNESS_PATH_LEN])
{
	FILE *f;

	snprintf(path, HARNESS_PATH_LEN, "%s/texts.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(ini, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Runs `$GATEWAY_BIN texts ARGS` (a shell-quoted argument string); its stdout in *out (caller
 * frees), stderr dropped.  Returns the exit code. */
static int run_texts(const char *args, char **out)
{
	const char *bin = getenv("GATEWAY_BIN") && *getenv("GATEWAY_BIN") ? getenv("GATEWAY_BIN")
									 : "build/gateway";
	char cmd[2048];
	size_t len = 0, cap = 1 << 16;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "env -u GATEWAY_SMS_ENCODING -u GATEWAY_SMS_FOLD_ACCENTS "
		 "-u GATEWAY_SURVEY_BRAND '%s' %s 2>/dev/null", bin, args);
	*out = malloc(cap);
	assert_non_null(*out);
	p = popen(cmd, "r");
	assert_non_null(p);
	len = fread(*out, 1, cap - 1, p);
	(*out)[len] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The row of `key` ("es.nps") in the output, its columns split; fails when absent or listed
 * twice. */
struct texts_row {
	char source[16], encoding[16];
	int chars, segments, replaced;
	char text[1024];
};

static void texts_row(const char *out, const char *key, struct texts_row *r)
{
	const char *line = NULL;
	char want[40];
	int found = 0, n = 0;

	snprintf(want, sizeof(want), "%s ", key);
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, want, strlen(want)) == 0) {
			line = p;
			found++;
		}
	if (found != 1)
		fail_msg("%s is listed %d times in:\n%s", key, found, out);
	if (sscanf(line + strlen(want), "%15s %15s %d %d %d %n", r->source, r->encoding, &r->chars,
		   &r->segments, &r->replaced, &n) != 5)
		fail_msg("unreadable row: %.200s", line);
	snprintf(r->text, sizeof(r->text), "%.*s", (int)strcspn(line + strlen(want) + n, "\n"),
		 line + strlen(want) + n);
}

static const char *const locales[] = { "es", "pt", "en" };
static const char *const keys[] = { "nps", "ces", "csat", "thanks", "follow_up", "reprompt",
				    "opt_out", "opt_in" };

/*
 * The built-ins (a config without [templates.*]): 24 rows, each GSM-7 in one segment with nothing
 * replaced, and the closing line says so.  Overrides: a curly apostrophe and a dash are replaced
 * (GSM-7, 2 replaced), 100 characters with an á stay UCS-2 (2 segments), and the closing line
 * counts it; under encoding = unicode nothing is replaced and the thanks is UCS-2 too.
 */
static void test_texts_command(void **state)
{
	char dir[HARNESS_PATH_LEN], conf[HARNESS_PATH_LEN], ini[1024];
	struct texts_row r;
	char *out;

	assert_int_equal(harness_tmpdir_create(dir, sizeof(dir)), 0);
	write_conf(dir, "[survey]\nbrand = Acme Telecom\n", conf);
	snprintf(ini, sizeof(ini), "texts -c '%s' --name 'Maria Fernanda'", conf);
	assert_int_equal(run_texts(ini, &out), 0);
	for (size_t l = 0; l < 3; l++)
		for (size_t k = 0; k < 8; k++) {
			char key[32];

			snprintf(key, sizeof(key), "%s.%s", locales[l], keys[k]);
			texts_row(out, key, &r);
			if (strcmp(r.encoding, "GSM-7") != 0 || r.segments != 1)
				fail_msg("%s: %s, %d segments: %s", key, r.encoding, r.segments, r.text);
			assert_string_equal(r.source, "built-in");
			assert_int_equal(r.replaced, 0);
			assert_true(r.chars > 0 && r.chars <= 160);
		}
	texts_row(out, "es.nps", &r);
	assert_starts(r.text, "Hola Maria Fernanda, \xC2\xBFqu\xC3\xA9 probabilidad hay de que "
		      "recomiendes Acme Telecom a un amigo");
	assert_int_equal(r.chars, (int)strlen(r.text) - 2);     /* ¿ and é: 2 bytes, 1 septet */
	assert_non_null(strstr(out, "encoding = gsm7-smart, fold_accents = off"));
	assert_non_null(strstr(out, "\nEvery text fits one SMS segment.\n"));
	free(out);

	snprintf(ini, sizeof(ini), "[templates.en]\nthanks = Thanks, {name} " EM_DASH " it" RSQ
		 "s noted\n[templates.pt]\nnps = " A_ACUTE "%0100d\n", 0);
	write_conf(dir, ini, conf);
	snprintf(ini, sizeof(ini), "texts -c '%s'", conf);
	assert_int_equal(run_texts(ini, &out), 0);
	texts_row(out, "en.thanks", &r);
	assert_string_equal(r.source, "config");
	assert_string_equal(r.encoding, "GSM-7");
	assert_int_equal(r.replaced, 2);
	assert_string_equal(r.text, "Thanks, Alejandra - it's noted");
	texts_row(out, "pt.nps", &r);
	assert_string_equal(r.source, "config");
	assert_string_equal(r.encoding, "UCS-2");
	assert_int_equal(r.chars, 101);
	assert_int_equal(r.segments, 2);
	texts_row(out, "pt.ces", &r);
	assert_string_equal(r.source, "built-in");
	assert_non_null(strstr(out, "\n1 of 24 texts need more than one SMS segment.\n"));
	free(out);

	snprintf(ini, sizeof(ini), "[sms]\nencoding = unicode\n[templates.en]\nthanks = Thanks, "
		 "{name} " EM_DASH " it" RSQ "s noted\n");
	write_conf(dir, ini, conf);
	snprintf(ini, sizeof(ini), "texts -c '%s' --name Ann", conf);
	assert_int_equal(run_texts(ini, &out), 0);
	texts_row(out, "en.thanks", &r);
	assert_string_equal(r.encoding, "UCS-2");
	assert_int_equal(r.replaced, 0);
	assert_string_equal(r.text, "Thanks, Ann " EM_DASH " it" RSQ "s noted");
	assert_non_null(strstr(out, "encoding = unicode"));
	free(out);
	assert_int_equal(harness_tmpdir_remove(dir), 0);
}

/* A config that does not load stops it (1); an unknown option is a usage error (2); --help lists
 * the verb. */
static void test_texts_command_errors(void **state)
{
	char dir[HARNESS_PATH_LEN], conf[HARNESS_PATH_LEN], args[1024];
	char *out;

	assert_int_equal(harness_tmpdir_create(dir, sizeof(dir)), 0);
	write_conf(dir, "[sms]\nencoding = ascii\n", conf);
	snprintf(args, sizeof(args), "texts -c '%s'", conf);
	assert_int_equal(run_texts(args, &out), 1);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(run_texts("texts --bogus", &out), 2);
	free(out);
	assert_int_equal(run_texts("texts -c", &out), 2);
	free(out);
	assert_int_equal(run_texts("--help", &out), 0);
	assert_non_null(strstr(out, "gateway texts        [-c FILE] [--name NAME]"));
	free(out);
	assert_int_equal(run_texts("texts --help", &out), 0);
	assert_non_null(strstr(out, "gateway texts        [-c FILE] [--name NAME]"));
	free(out);
	assert_int_equal(harness_tmpdir_remove(dir), 0);
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
		cmocka_unit_test(test_texts_command),
		cmocka_unit_test(test_texts_command_errors),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
