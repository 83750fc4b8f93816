/*
 * test_events.c - outbound events as a specification: the signature against vectors computed
 * with openssl, the JSON of every event type, and the queue in the store (written in the same
 * transaction as what it reports, handed out in order, retried, deleted, expired).
 *
 * Signature vectors were computed with
 *   printf '%s' "<t>.<body>" | openssl dgst -sha256 -hmac "<secret>"
 * Store tests get a fresh temp directory and database each (on PostgreSQL with
 * GATEWAY_TEST_BACKEND=postgres); times are small made-up Unix seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "events.h"
#include "provider.h"
#include "store.h"
#include "support/unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the signature --------------------------------------------------------------------- */

static const struct {
	const char *name, *secret;
	int64_t t;
	const char *body, *want;
} sig_rows[] = {
	{ "a JSON body", "whsec_test", 1700000000,
	  "{\"id\":\"evt_0123456789abcdef01234567\",\"type\":\"response.created\"}",
	  "t=1700000000,v1=e1e0ef2916cf5cbca8b0b618355a3430415ffc08061d32af6eb05fdac9ee9b52" },
	{ "an empty body at t=0", "k", 0, "",
	  "t=0,v1=6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7" },
};

static void test_signature_matches_openssl_vectors(void **state)
{
	char got[EVENTS_SIG_LEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(sig_rows); i++) {
		assert_int_equal(events_sign(sig_rows[i].secret, sig_rows[i].t, sig_rows[i].body,
					     strlen(sig_rows[i].body), got), 0);
		if (strcmp(got, sig_rows[i].want) != 0)
			fail_msg("%s: got %s, want %s", sig_rows[i].name, got, sig_rows[i].want);
	}
}

/* Secret, time and every byte of the body are signed: changing any changes v1. */
static void test_signature_covers_secret_time_and_body(void **state)
{
	const char *body = sig_rows[0].body;
	char base[EVENTS_SIG_LEN], other[EVENTS_SIG_LEN];

	(void)state;
	assert_int_equal(events_sign("whsec_test", 1700000000, body, strlen(body), base), 0);
	assert_int_equal(events_sign("whsec_tesT", 1700000000, body, strlen(body), other), 0);
	assert_string_not_equal(strchr(base, ','), strchr(other, ','));
	assert_int_equal(events_sign("whsec_test", 1700000001, body, strlen(body), other), 0);
	assert_string_not_equal(strchr(base, ','), strchr(other, ','));
	assert_int_equal(events_sign("whsec_test", 1700000000, body, strlen(body) - 1, other), 0);
	assert_string_not_equal(strchr(base, ','), strchr(other, ','));
}

/* ---- the JSON -------------------------------------------------------------------------- */

#define SURVEY_FACTS(kind_)                                                                  \
	.has_survey = 1, .survey_id = "srv_1", .kind = kind_, .channel = "sms",              \
	.interaction_id = "chat-981", .touchpoint = "support_chat", .agent = "agent-7"
#define SURVEY_JSON(kind_)                                                                   \
	"\"survey\":{\"id\":\"srv_1\",\"kind\":\"" kind_ "\",\"channel\":\"sms\","              \
	"\"interaction_id\":\"chat-981\",\"touchpoint\":\"support_chat\",\"agent\":\"agent-7\"}"
#define HEAD(type) "{\"id\":\"evt_x\",\"type\":\"" type "\",\"created_at\":\"2026-11-22T10:15:00Z\","

static const struct {
	const char *name;
	struct evt_facts f;
	const char *want;
} json_rows[] = {
	{ "a first NPS score with its comment",
	  { .type = EVT_RESPONSE_CREATED, .at = 1795342500, SURVEY_FACTS("nps"),
	    .customer_id = "cust-42", .has_response = 1, .score = 9, .comment = "muy amables" },
	  HEAD("response.created") SURVEY_JSON("nps") ",\"customer\":{\"id\":\"cust-42\"},"
	  "\"response\":{\"score\":9,\"category\":\"promoter\",\"comment\":\"muy amables\"}}" },
	{ "a score without comment, touchpoint or agent: null, never \"\"",
	  { .type = EVT_RESPONSE_CREATED, .at = 1795342500, .has_survey = 1, .survey_id = "srv_1",
	    .kind = "nps", .channel = "whatsapp", .interaction_id = "chat-1", .touchpoint = "",
	    .agent = "", .customer_id = "cust-42", .has_response = 1, .score = 6, .comment = "" },
	  HEAD("response.created") "\"survey\":{\"id\":\"srv_1\",\"kind\":\"nps\","
	  "\"channel\":\"whatsapp\",\"interaction_id\":\"chat-1\",\"touchpoint\":null,"
	  "\"agent\":null},\"customer\":{\"id\":\"cust-42\"},"
	  "\"response\":{\"score\":6,\"category\":\"detractor\",\"comment\":null}}" },
	{ "a replaced CES score",
	  { .type = EVT_RESPONSE_UPDATED, .at = 1795342500, SURVEY_FACTS("ces"),
	    .customer_id = "cust-42", .has_response = 1, .score = 4, .comment = "" },
	  HEAD("response.updated") SURVEY_JSON("ces") ",\"customer\":{\"id\":\"cust-42\"},"
	  "\"response\":{\"score\":4,\"category\":\"neutral\",\"comment\":null}}" },
	{ "a CSAT follow-up comment, quotes and accents escaped as JSON",
	  { .type = EVT_RESPONSE_COMMENTED, .at = 1795342500, SURVEY_FACTS("csat"),
	    .customer_id = "cust-42", .has_response = 1, .score = 2,
	    .comment = "tardó \"mucho\"\n" },
	  HEAD("response.commented") SURVEY_JSON("csat") ",\"customer\":{\"id\":\"cust-42\"},"
	  "\"response\":{\"score\":2,\"category\":\"dissatisfied\","
	  "\"comment\":\"tardó \\\"mucho\\\"\\n\"}}" },
	{ "an opt-out answering a survey: the number, no response",
	  { .type = EVT_OPTED_OUT, .at = 1795342500, .source = "customer", SURVEY_FACTS("nps"),
	    .customer_id = "cust-42", .phone = "+34600111222" },
	  HEAD("customer.opted_out") SURVEY_JSON("nps") ",\"customer\":{\"id\":\"cust-42\","
	  "\"phone\":\"+34600111222\"},\"source\":\"customer\"}" },
	{ "a provider-reported opt-out of a number nobody was surveyed at",
	  { .type = EVT_OPTED_OUT, .at = 1795342500, .source = "provider", .customer_id = "",
	    .phone = "+34600999888" },
	  HEAD("customer.opted_out") "\"survey\":null,\"customer\":{\"id\":null,"
	  "\"phone\":\"+34600999888\"},\"source\":\"provider\"}" },
	{ "an opt-in",
	  { .type = EVT_OPTED_IN, .at = 1795342500, .source = "customer", .customer_id = "cust-7",
	    .phone = "+34600111222" },
	  HEAD("customer.opted_in") "\"survey\":null,\"customer\":{\"id\":\"cust-7\","
	  "\"phone\":\"+34600111222\"},\"source\":\"customer\"}" },
};

static void test_event_json_of_every_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(json_rows); i++) {
		char *got = events_format_json(&json_rows[i].f, "evt_x");

		assert_non_null(got);
		if (strcmp(got, json_rows[i].want) != 0)
			fail_msg("%s:\n got  %s\n want %s", json_rows[i].name, got, json_rows[i].want);
		free(got);
	}
}

/* Each formatted event gets a fresh id "evt_" + 24 hex digits, the same one its body carries. */
static void test_format_gives_each_event_a_fresh_id(void **state)
{
	char a[EVENT_ID_LEN], b[EVENT_ID_LEN];
	char *ja = events_format(NULL, &json_rows[0].f, a);
	char *jb = events_format(NULL, &json_rows[0].f, b);
	json_t *pa = ja ? json_loads(ja, 0, NULL) : NULL;

	(void)state;
	assert_non_null(jb);
	assert_non_null(pa);
	assert_int_equal(strlen(a), 28);
	assert_int_equal(strncmp(a, "evt_", 4), 0);
	assert_int_equal(strspn(a + 4, "0123456789abcdef"), 24);
	assert_string_not_equal(a, b);
	assert_string_equal(json_string_value(json_object_get(pa, "id")), a);
	json_decref(pa);
	free(ja);
	free(jb);
}

/* ---- the queue in the store ------------------------------------------------------------ */

struct fx {
	struct temp_store ts;
	int fail_format;        /* the format function fails (as when out of memory) */
	int formatted;
};

/* A format that records the type and survey in the body, with ids evt_1, evt_2, ... */
static char *format_plain(void *ctx, const struct evt_facts *f, char id_out[EVENT_ID_LEN])
{
	struct fx *x = ctx;
	char *body = malloc(512);

	if (x->fail_format || !body) {
		free(body);
		return NULL;
	}
	x->formatted++;
	snprintf(id_out, EVENT_ID_LEN, "evt_%d", x->formatted);
	snprintf(body, 512, "%s survey=%s customer=%s score=%d comment=%s phone=%s source=%s",
		 evt_type_name(f->type), f->has_survey ? f->survey_id : "-", f->customer_id,
		 f->has_response ? f->score : -1, f->has_response ? f->comment : "-",
		 f->phone ? f->phone : "-", f->source ? f->source : "-");
	return body;
}

static int fx_open(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || temp_store_open(&f->ts, "test_events", "gateway.db") < 0) {
		free(f);
		return -1;
	}
	store_set_event_format(f->ts.st, format_plain, f);
	*state = f;
	return 0;
}

static int fx_free(void **state)
{
	struct fx *f = *state;

	if (f)
		temp_store_remove(&f->ts);
	free(f);
	return 0;
}

/* One integer from the store's database, read the way an operator would, whichever the backend
 * (NULL reads as -1). */
static int64_t q_int(struct fx *f, const char *sql)
{
	char v[64];
	int is_null;

	temp_store_query(&f->ts, sql, v, sizeof(v), &is_null);
	return is_null ? -1 : strtoll(v, NULL, 10);
}

/* Survey `id` for +34600111222 on twilio, sent at t=100. */
static void sent_survey(struct fx *f, const char *id, const char *interaction)
{
	struct survey_new sn = {
		.id = id, .customer_id = "cust-42", .phone = "+34600111222", .locale = "es",
		.kind = "nps", .channel = "sms", .provider = "twilio", .interaction_id = interaction,
		.touchpoint = "support_chat", .now = 100, .send_after = 100, .expires_at = 100000,
		.expire_after_s = 100000, .question = "¿0-10?",
	};
	struct outbox_item it;
	struct gw_err err = { 0 };
	char got[SURVEY_ID_LEN];
	size_t n = 0;
	int outcome;

	assert_int_equal(store_create_survey(f->ts.st, &sn, got, &outcome, &err), 0);
	assert_int_equal(outcome, SURVEY_CREATED);
	assert_int_equal(store_claim_due(f->ts.st, 100, "twilio", &it, 1, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_send_accepted(f->ts.st, it.message_id, id, 100, &err), 0);
	outbox_item_release(&it);
}

static void decide_as(void *ctx, const struct inbound_view *v, struct inbound_decision *out)
{
	(void)v;
	*out = *(const struct inbound_decision *)ctx;
}

/* A text from +34600111222 the rules answer with `d`; 0 or -1 as the store said. */
static int text(struct fx *f, const char *pid, int64_t now, struct inbound_decision d)
{
	struct inbound_in in = { .provider = "twilio", .provider_message_id = pid,
				 .from = "+34600111222", .text = "x", .text_len = 1, .now = now };
	struct inbound_result res;
	struct gw_err err = { 0 };

	return store_record_inbound(f->ts.st, &in, decide_as, &d, &res, &err);
}

/* The bodies of the events due at `now`, in the order handed out, joined by " | "; then hands
 * them back untried. */
static void due_bodies(struct fx *f, int64_t now, char *out, size_t len)
{
	struct evt_item items[8];
	struct gw_err err = { 0 };
	size_t n = 99;

	struct evt_outcome untried[8];

	out[0] = '\0';
	assert_int_equal(store_events_due(f->ts.st, now, items, ARRAY_LEN(items), &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " | " : "",
			 items[i].body);
		untried[i] = (struct evt_outcome){ .seq = items[i].seq, .result = EVT_UNTRIED };
		evt_item_release(&items[i]);
	}
	/* Handed back as store.h asks: on PostgreSQL the events handed out are leased, kept from
	 * store_events_due() until their outcome (SQLite writes nothing when handing out). */
	if (n)
		assert_int_equal(store_events_record(f->ts.st, untried, n, &err), 0);
}

static void test_no_event_without_a_format(void **state)
{
	struct fx *f = *state;
	char got[512];

	store_set_event_format(f->ts.st, NULL, NULL);
	sent_survey(f, "srv_1", "chat-1");
	assert_int_equal(text(f, "SM1", 200, (struct inbound_decision){ .action = INBOUND_ANSWER,
									.score = 9 }), 0);
	due_bodies(f, 1000, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM responses"), 1);
}

/* A first score, a second one, the follow-up comment, a re-prompt: one event each for the
 * first three, with the response as it stands after the write; nothing for the re-prompt. */
static void test_responses_write_created_updated_and_commented_events(void **state)
{
	struct fx *f = *state;
	char got[1024];

	sent_survey(f, "srv_1", "chat-1");
	assert_int_equal(text(f, "SM0", 150, (struct inbound_decision){
		.action = INBOUND_REPROMPT }), 0);
	assert_int_equal(text(f, "SM1", 200, (struct inbound_decision){
		.action = INBOUND_ANSWER, .score = 9, .comment = "bien", .comment_len = 4,
		.follow_up_until = 1000 }), 0);
	assert_int_equal(text(f, "SM2", 210, (struct inbound_decision){
		.action = INBOUND_COMMENT, .comment = "muy amables", .comment_len = 11 }), 0);
	assert_int_equal(text(f, "SM3", 220, (struct inbound_decision){
		.action = INBOUND_ANSWER, .score = 10 }), 0);
	due_bodies(f, 220, got, sizeof(got));
	assert_string_equal(got,
		"response.created survey=srv_1 customer=cust-42 score=9 comment=bien phone=- "
		"source=customer | "
		"response.commented survey=srv_1 customer=cust-42 score=9 comment=muy amables "
		"phone=- source=customer | "
		"response.updated survey=srv_1 customer=cust-42 score=10 comment=muy amables "
		"phone=- source=customer");
	assert_int_equal(q_int(f, "SELECT count(*) FROM events WHERE created_at = next_attempt_at"),
			 3);
}

/* An event that cannot be written takes its response with it, and the webhook's text too: the
 * provider's retry then finds nothing stored and everything happens once. */
static void test_no_response_without_its_event(void **state)
{
	struct fx *f = *state;
	struct inbound_decision d = { .action = INBOUND_ANSWER, .score = 9 };

	sent_survey(f, "srv_1", "chat-1");
	f->fail_format = 1;
	assert_int_equal(text(f, "SM1", 200, d), -1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM responses"), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE direction = 'in'"), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 0);
	f->fail_format = 0;
	assert_int_equal(text(f, "SM1", 200, d), 0);
	assert_int_equal(q_int(f, "SELECT count(*) FROM responses"), 1);
	assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 1);
}

/* Opt-out and opt-in events report a change of the number's state, once each. */
static void test_opt_out_and_opt_in_events_report_changes_only(void **state)
{
	struct fx *f = *state;
	struct gw_err err = { 0 };
	char got[1024];

	sent_survey(f, "srv_1", "chat-1");
	assert_int_equal(text(f, "SM1", 200, (struct inbound_decision){
		.action = INBOUND_OPT_OUT }), 0);
	/* Already suppressed: a second STOP (or a provider saying the same) is not news. */
	assert_int_equal(text(f, "SM2", 201, (struct inbound_decision){
		.action = INBOUND_OPT_OUT }), 0);
	assert_int_equal(store_suppress_phone(f->ts.st, "+34600111222", "twilio", 202, &err), 0);
	assert_int_equal(text(f, "SM3", 203, (struct inbound_decision){
		.action = INBOUND_OPT_IN }), 0);
	assert_int_equal(text(f, "SM4", 204, (struct inbound_decision){
		.action = INBOUND_OPT_IN }), 0);
	assert_int_equal(store_suppress_phone(f->ts.st, "+34600111222", "twilio", 205, &err), 0);
	assert_int_equal(store_suppress_phone(f->ts.st, "+34600999888", "twilio", 206, &err), 0);
	due_bodies(f, 1000, got, sizeof(got));
	assert_string_equal(got,
		"customer.opted_out survey=srv_1 customer=cust-42 score=-1 comment=- "
		"phone=+34600111222 source=customer | "
		"customer.opted_in survey=srv_1 customer=cust-42 score=-1 comment=- "
		"phone=+34600111222 source=customer | "
		"customer.opted_out survey=- customer=cust-42 score=-1 comment=- "
		"phone=+34600111222 source=provider | "
		"customer.opted_out survey=- customer= score=-1 comment=- "
		"phone=+34600999888 source=provider");
}

/* Due events come oldest first; a retry waits until its time and counts the attempt; a delivered
 * event is gone; an expired one stays, never handed out again. */
static void test_queue_order_retry_delivery_and_expiry(void **state)
{
	struct fx *f = *state;
	struct gw_err err = { 0 };
	struct evt_item items[8];
	size_t n = 0;
	char got[1024];

	sent_survey(f, "srv_1", "chat-1");
	sent_survey(f, "srv_2", "chat-2");
	sent_survey(f, "srv_3", "chat-3");
	assert_int_equal(text(f, "SM1", 200, (struct inbound_decision){
		.action = INBOUND_ANSWER, .score = 1 }), 0);
	assert_int_equal(text(f, "SM2", 201, (struct inbound_decision){
		.action = INBOUND_ANSWER, .score = 2 }), 0);
	assert_int_equal(text(f, "SM3", 202, (struct inbound_decision){
		.action = INBOUND_ANSWER, .score = 3 }), 0);
	/* The newest open survey (srv_3) took every score: one created, two updated. */
	assert_int_equal(store_events_due(f->ts.st, 199, items, ARRAY_LEN(items), &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_events_due(f->ts.st, 202, items, 2, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].id, "evt_1");
	assert_string_equal(items[0].type, "response.created");
	assert_string_equal(items[1].id, "evt_2");
	assert_int_equal(items[0].attempts, 0);
	assert_int_equal(items[0].created_at, 200);
	{
		struct evt_outcome o[2] = {
			{ .seq = items[0].seq, .result = EVT_RETRY, .next_at = 300, .error = "HTTP 503" },
			{ .seq = items[1].seq, .result = EVT_DELIVERED },
		};

		assert_int_equal(store_events_record(f->ts.st, o, 2, &err), 0);
	}
	evt_item_release(&items[0]);
	evt_item_release(&items[1]);
	due_bodies(f, 299, got, sizeof(got));
	assert_string_equal(got, "response.updated survey=srv_3 customer=cust-42 score=3 comment= "
				 "phone=- source=customer");
	assert_int_equal(store_events_due(f->ts.st, 300, items, ARRAY_LEN(items), &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].id, "evt_1");
	assert_int_equal(items[0].attempts, 1);
	assert_string_equal(items[1].id, "evt_3");
	{
		struct evt_outcome o[2] = {
			{ .seq = items[0].seq, .result = EVT_EXPIRED, .error = "HTTP 400" },
			{ .seq = items[1].seq, .result = EVT_DELIVERED },
		};

		assert_int_equal(store_events_record(f->ts.st, o, 2, &err), 0);
	}
	evt_item_release(&items[0]);
	evt_item_release(&items[1]);
	due_bodies(f, 1000000, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 1);
	assert_int_equal(q_int(f, "SELECT attempts FROM events WHERE id = 'evt_1' AND "
				  "status = 'expired' AND last_error = 'HTTP 400'"), 2);
}

/* ---- configuration --------------------------------------------------------------------- */

static const struct {
	const char *text;
	const char *want_err;   /* NULL: loads */
} conf_rows[] = {
	{ "[events]\nurl = http://127.0.0.1:9/hooks\n",
	  ":2: secret: required when [events] url is set" },
	{ "[events]\nsecret = s\nurl = ftp://crm.example/hooks\n", ":3: url: 'ftp://crm.example" },
	{ "[events]\nurl = http://crm.example/h\nsecret = s\ntimeout = 0s\n",
	  ":4: timeout: must be more than 0" },
	{ "[events]\nurl = http://crm.example/h\nsecret = s\nmax_age = forever\n",
	  ":4: max_age: 'forever' is not a duration" },
	{ "[events]\nurl = https://crm.example/hooks/\nsecret = s\nretry_cap = 1s\n", NULL },
	{ "[events]\nsecret = s\n", NULL },
};

/* [events] keys: a url needs a secret and a timeout, and bad values name FILE:LINE: key. */
static void test_events_config(void **state)
{
	char path[] = "/tmp/test_events_conf.XXXXXX";

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(conf_rows); i++) {
		struct config cfg;
		struct gw_err err = { 0 };
		int fd = mkstemp(path);
		int rc;

		assert_true(fd >= 0);
		assert_int_equal(write(fd, conf_rows[i].text, strlen(conf_rows[i].text)),
				 (ssize_t)strlen(conf_rows[i].text));
		close(fd);
		rc = provider_config_load(&cfg, path, &err);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
		if (conf_rows[i].want_err) {
			if (rc == 0 || !strstr(err.msg, conf_rows[i].want_err))
				fail_msg("row %zu: got \"%s\", want \"...%s...\"", i,
					 rc == 0 ? "(loaded)" : err.msg, conf_rows[i].want_err);
			continue;
		}
		if (rc != 0)
			fail_msg("row %zu: %s", i, err.msg);
		if (i == 4) {
			assert_string_equal(cfg.events_url, "https://crm.example/hooks");
			assert_int_equal(cfg.events_retry_cap_ms, 1000);
			assert_int_equal(cfg.events_retry_base_ms, 2000);
			assert_int_equal(cfg.events_max_age_ms, 72 * 3600 * 1000LL);
			assert_int_equal(cfg.events_timeout_ms, 10000);
		} else {
			assert_null(cfg.events_url);
		}
		config_release(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_matches_openssl_vectors),
		cmocka_unit_test(test_signature_covers_secret_time_and_body),
		cmocka_unit_test(test_event_json_of_every_type),
		cmocka_unit_test(test_format_gives_each_event_a_fresh_id),
		cmocka_unit_test(test_events_config),
		cmocka_unit_test_setup_teardown(test_no_event_without_a_format, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(
			test_responses_write_created_updated_and_commented_events, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_no_response_without_its_event, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_opt_out_and_opt_in_events_report_changes_only,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_queue_order_retry_delivery_and_expiry, fx_open,
						fx_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
