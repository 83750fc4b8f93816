/*
 * test_e2e_provider_contract.c - what build/gateway must do with every provider's webhooks, said
 * once and run end to end against each fake provider (tests/support/fake_twilio.h, fake_meta.h,
 * fake_zenvia.h):
 *
 *  - authentication: a reply or a status webhook without the provider's authentication header,
 *    with one made with another secret, or with one altered (made over other bytes; for Zenvia's
 *    token, the token with one more character) is refused 403 with a JSON error, stores nothing
 *    and sends nothing;
 *  - a reply whose message id is missing, empty or only white space (for Twilio also a status
 *    callback about such an id) is refused 400 missing_field naming the provider's id field, as
 *    it could never be told from its redelivery: nothing stored, nothing sent; the same reply
 *    with an id is then taken;
 *  - redelivery: the same reply delivered twice is answered the second time as the first, stores
 *    nothing new, sends no second thank-you and leaves the answer as it was; the same status twice
 *    leaves the survey where the first put it;
 *  - a send refused for good (a row per provider error): the survey failed with the provider's
 *    code and a message after the one request, never retried;
 *  - a send error that passes (500, 503) and a rate limit (429 with the provider's code): the same
 *    request again, answered, and the survey sent with that answer's message id after two
 *    attempts and no error; nothing more sent;
 *  - the credentials refused (401 with the provider's code): the provider paused (/healthz
 *    degraded, the provider paused with a reason), the message queued again and never failed, and
 *    nothing more sent, not even a new survey.
 *
 * Each test gets a fresh temp dir, database, fake provider and gateway process: the config of
 * harness_write_config_opts() with the provider's section appended and its channel chosen by an
 * environment override.  The tests talk to the gateway only through its external contract
 * (DESIGN.md §2): POST /v1/surveys and GET /v1/surveys/{id} as the helpdesk, the provider's
 * webhooks built from its captured fixtures, and what the fake received.  The SQLite file is read
 * (read-only) only to prove it unchanged or to count what it holds about one message id.
 *
 * What one provider does differently stays in tests/test_e2e_<provider>.c.  A failing test names
 * its provider in cmocka's test name ("twilio: ...") and prints the gateway's log.
 *
 * Environment: GATEWAY_BIN (default build/gateway), FIXTURES (default tests/fixtures),
 * E2E_KEEP_TMP=1 keeps the temp dirs.
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

#include "buf.h"
#include "support/e2e.h"
#include "support/e2e_providers.h"
#include "support/fake_meta.h"
#include "support/fake_zenvia.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* How long "nothing more is sent" is watched: longer than the 1 s retry_base of Zenvia's own
 * tests, so a wrong retry would land inside it. */
#define QUIET_MS 1500

#define META_WA      "16505551234"              /* the fixtures' customer */

/* How a webhook is authenticated. */
enum auth {
	AUTH_OK,
	AUTH_WRONG,         /* made with another secret */
	AUTH_NONE,          /* no header at all */
	AUTH_ALTERED,       /* the right secret over other bytes; Zenvia: the token and one more */
};

struct world;

/* One send request as the fake provider received and answered it. */
struct sent {
	/* 1: passed the fake's checks; else `why` says which failed */
	int ok;
	const char *why, *path, *to, *body;
	/* what the fake answered, with the message id of a success ("" otherwise) */
	int status;
	const char *id;
};

/* One provider as the gateway meets it. */
struct e2e_contract {
	const char *name;
	const char *channel;            /* the channel its surveys go on */
	const char *phone;              /* the customer, E.164 */
	const char *extra;              /* appended to the harness config */
	const char *env_channel;        /* the override that puts `channel` on this provider */
	const char *inbound_path, *status_path;
	const char *id_format;          /* a fresh inbound message id from one unsigned */
	const char *stored_table;       /* NULL: count the id's rows anywhere; else in this table */
	int twiml;                      /* a taken reply is answered with TwiML */
	int (*start_fake)(struct world *w);     /* 0, or -1 after a message */
	size_t (*wait)(struct world *w, size_t n, int ms);  /* the fake's requests, waiting for n */
	/* The body of the customer's reply `text` known by `id`, and of a "delivered" status for our
	 * message `msg_id` (malloc'd, length in *len). */
	char *(*inbound)(struct world *w, const char *text, const char *id, size_t *len);
	char *(*delivered)(struct world *w, const char *msg_id, size_t *len);
	/* The authentication header line for `body` posted to `path` ("" for none). */
	void (*auth)(struct world *w, const char *path, enum auth mode, const char *body,
		     size_t len, char hdr[256]);
	const char *ctype;
	/* The customer's "9" whose message id is `id` (NULL: left out), malloc'd, length in *len;
	 * the ids without a use the gateway must refuse, and the field its error names. */
	char *(*reply_id_as)(struct world *w, const char *id, size_t *len);
	const char *blank_ids[4];
	size_t n_blank_ids;
	const char *id_field;
	const char *status_id_field;    /* NULL: a status about a blank id is not tried */
};

/* How one provider is sent to, for the send tests. */
struct e2e_send {
	const struct e2e_contract *c;
	/* Scripts the fake's next answer (`code` NULL: a bare error body). */
	int (*queue)(struct world *w, int status, const char *code, const char *message);
	/* Request `i` as the fake received and answered it. */
	void (*request)(struct world *w, size_t i, struct sent *out);
	/* The status of a successful send; the customer as the request names them. */
	int sent_status;
	const char *send_to;
	/* NULL, or what the provider's own file also checks of every send request `i`. */
	void (*check_send)(struct world *w, size_t i);
};

/* A send error scripted for one provider (the state of a send test). */
struct send_case {
	const struct e2e_send *s;
	int status;
	/* The provider's error code (NULL: none), also the survey's error.code. */
	const char *code;
	const char *message;
};

/* One test's world.  `e` comes first (with no fake Twilio unless the provider is Twilio), so
 * e2e.h's helpers take &w->e. */
struct world {
	struct e2e e;
	const struct e2e_contract *c;
	const struct send_case *k; /* NULL outside the send tests */
	struct fake_meta *fm;
	struct fake_zenvia *zv;
	unsigned seq;
};

/* `body` (freed here) with the member at `path` (member names, or array indexes in decimal,
 * NULL-terminated) set to the string `value`, or removed when value is NULL; compact JSON,
 * malloc'd, length in *len. */
static char *json_with(char *body, size_t *len, const char *const path[], const char *value)
{
	json_t *root = json_loadb(body, *len, 0, NULL), *at = root;
	char *out;
	size_t i;

	assert_non_null(root);
	for (i = 0; path[i + 1]; i++) {
		at = json_is_array(at) ? json_array_get(at, strtoul(path[i], NULL, 10))
				       : json_object_get(at, path[i]);
		assert_true(json_is_object(at) || json_is_array(at));
	}
	if (value)
		assert_int_equal(json_object_set_new(at, path[i], json_string(value)), 0);
	else
		assert_int_equal(json_object_del(at, path[i]), 0);
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(out);
	json_decref(root);
	free(body);
	*len = strlen(out);
	return out;
}

/* ---- Twilio ---- */

static int tw_start(struct world *w)
{
	w->e.tw = fake_twilio_start(HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, fixtures_dir());
	return w->e.tw ? fake_twilio_port(w->e.tw) : -1;
}

static size_t tw_wait(struct world *w, size_t n, int ms)
{
	return fake_twilio_wait(w->e.tw, n, ms);
}

/* The form fixture `fixture` with `set` rewritten (fake_twilio_form()). */
static char *tw_form(const char *fixture, const char *const *set, size_t *len)
{
	char file[HARNESS_PATH_LEN];
	struct buf b;

	buf_init(&b, 64u << 10);
	snprintf(file, sizeof(file), "%s/%s", fixtures_dir(), fixture);
	assert_int_equal(fake_twilio_form(file, set, &b), 0);
	return buf_detach(&b, len);
}

static char *tw_inbound(struct world *w, const char *text, const char *id, size_t *len)
{
	const char *set[] = {
		"From", w->c->phone, "To", HARNESS_TWILIO_FROM, "Body", text,
		"MessageSid", id, "SmsSid", id, "SmsMessageSid", id,
		"AccountSid", HARNESS_TWILIO_SID, NULL
	};

	return tw_form("twilio-inbound-sms.form", set, len);
}

static char *tw_delivered(struct world *w, const char *msg_id, size_t *len)
{
	const char *set[] = {
		"AccountSid", HARNESS_TWILIO_SID, "From", HARNESS_TWILIO_FROM,
		"MessageSid", msg_id, "SmsSid", msg_id, "MessageStatus", "delivered",
		"SmsStatus", "delivered", NULL
	};

	(void)w;
	return tw_form("twilio-status-sent-docs.form", set, len);
}

/* X-Twilio-Signature over the public URL (the gateway's own base URL in the config) and form. */
static void tw_auth(struct world *w, const char *path, enum auth mode, const char *body,
		    size_t len, char hdr[256])
{
	char url[512], sig[FAKE_TWILIO_SIG_LEN];

	snprintf(url, sizeof(url), "%s%s", w->e.gw.base_url, path);
	assert_int_equal(fake_twilio_sign(mode == AUTH_WRONG ? "0123456789abcdef0123456789abcdef" :
					  HARNESS_TWILIO_TOKEN, url, body,
					  mode == AUTH_ALTERED ? len - 1 : len, sig), 0);
	snprintf(hdr, 256, "X-Twilio-Signature: %s", sig);
}

static char *tw_reply_id_as(struct world *w, const char *id, size_t *len)
{
	return tw_inbound(w, "9", id, len);
}

static int tw_queue(struct world *w, int status, const char *code, const char *message)
{
	return fake_twilio_queue(w->e.tw, status, code ? (int)strtol(code, NULL, 10) : 0, message);
}

static void tw_request(struct world *w, size_t i, struct sent *out)
{
	const struct fake_twilio_request *r = fake_twilio_request(w->e.tw, i);

	*out = (struct sent){ r->ok, r->why, r->path, r->to, r->body, r->status, r->sid };
}

/* ---- Meta ---- */

static int meta_start(struct world *w)
{
	w->fm = fake_meta_start(META_GRAPH, META_PNID, META_TOKEN, fixtures_dir());
	return w->fm ? fake_meta_port(w->fm) : -1;
}

static size_t meta_wait(struct world *w, size_t n, int ms)
{
	return fake_meta_wait(w->fm, n, ms);
}

static char *meta_body(const char *fixture, const struct fake_meta_set *set, size_t *len)
{
	char file[HARNESS_PATH_LEN];
	struct buf b;

	buf_init(&b, 64u << 10);
	snprintf(file, sizeof(file), "%s/%s", fixtures_dir(), fixture);
	assert_int_equal(fake_meta_webhook_body(file, set, &b), 0);
	return buf_detach(&b, len);
}

static char *meta_inbound(struct world *w, const char *text, const char *id, size_t *len)
{
	struct fake_meta_set set = { .from = META_WA, .message_id = id, .text = text };

	(void)w;
	return meta_body("meta-inbound-text.json", &set, len);
}

static char *meta_delivered(struct world *w, const char *msg_id, size_t *len)
{
	struct fake_meta_set set = { .status_id = msg_id, .status = "delivered" };

	(void)w;
	return meta_body("meta-status-sent.json", &set, len);
}

static void meta_auth(struct world *w, const char *path, enum auth mode, const char *body,
		      size_t len, char hdr[256])
{
	char sig[FAKE_META_SIG_LEN];

	(void)w;
	(void)path;
	fake_meta_sign(mode == AUTH_WRONG ? "not-the-app-secret" : META_SECRET, body,
		       mode == AUTH_ALTERED ? len - 1 : len, sig);
	snprintf(hdr, 256, "X-Hub-Signature-256: %s", sig);
}

static char *meta_reply_id_as(struct world *w, const char *id, size_t *len)
{
	static const char *const path[] = { "entry", "0", "changes", "0", "value", "messages", "0",
					    "id", NULL };

	return json_with(meta_inbound(w, "9", "wamid.placeholder", len), len, path, id);
}

static int meta_queue(struct world *w, int status, const char *code, const char *message)
{
	return fake_meta_queue(w->fm, status, code ? (int)strtol(code, NULL, 10) : 0, message);
}

static void meta_request(struct world *w, size_t i, struct sent *out)
{
	const struct fake_meta_request *r = fake_meta_request(w->fm, i);

	*out = (struct sent){ r->ok, r->why, r->path, r->to, r->body, r->status, r->wamid };
}

/* A survey to a customer who never wrote goes as the approved template, [Ana, Acme]. */
static void meta_check_send(struct world *w, size_t i)
{
	const struct fake_meta_request *r = fake_meta_request(w->fm, i);

	if (!r->type || strcmp(r->type, "template") != 0)
		fail_msg("meta: type %s, want template: %.400s", r->type ? r->type : "-", r->body);
	assert_string_equal(r->template_name, "encuesta_nps");
	assert_string_equal(r->template_lang, "es");
	if (r->n_params != 2)
		fail_msg("meta: %zu body parameters, want 2 (name, brand): %.400s", r->n_params,
			 r->body);
	assert_string_equal(r->params[0], "Ana");
	assert_string_equal(r->params[1], "Acme");
}

/* ---- Zenvia ---- */

static int zv_start(struct world *w)
{
	w->zv = fake_zenvia_start(ZV_TOKEN);
	return w->zv ? fake_zenvia_port(w->zv) : -1;
}

static size_t zv_wait(struct world *w, size_t n, int ms)
{
	return fake_zenvia_wait(w->zv, n, ms);
}

/* The customer's digits: Zenvia's addresses carry no '+'. */
static const char *zv_digits(struct world *w)
{
	return w->c->phone + 1;
}

static char *zv_inbound(struct world *w, const char *text, const char *id, size_t *len)
{
	char *s = fake_zenvia_message_event(fixtures_dir(), id, w->c->channel, zv_digits(w),
					    ZV_FROM, text);

	assert_non_null(s);
	*len = strlen(s);
	return s;
}

static char *zv_delivered(struct world *w, const char *msg_id, size_t *len)
{
	char event_id[FAKE_ZENVIA_ID_LEN], *s;

	snprintf(event_id, sizeof(event_id), "e2e0e2e0-0000-4000-9000-%012x", ++w->seq);
	s = fake_zenvia_status_event(fixtures_dir(), event_id, msg_id, w->c->channel, "DELIVERED");
	assert_non_null(s);
	*len = strlen(s);
	return s;
}

static void zv_auth(struct world *w, const char *path, enum auth mode, const char *body,
		    size_t len, char hdr[256])
{
	(void)w;
	(void)path;
	(void)body;
	(void)len;
	snprintf(hdr, 256, "X-Gateway-Token: %s",
		 mode == AUTH_WRONG   ? "wrong-token" :
		 mode == AUTH_ALTERED ? ZV_WEBHOOK_TOKEN "x" :
					ZV_WEBHOOK_TOKEN);
}

/* A MESSAGE event of its own (a fresh event id) whose message.id is `id`. */
static char *zv_reply_id_as(struct world *w, const char *id, size_t *len)
{
	static const char *const path[] = { "message", "id", NULL };
	char event_id[FAKE_ZENVIA_ID_LEN];

	snprintf(event_id, sizeof(event_id), "e2e0e2e0-0000-4000-a000-%012x", ++w->seq);
	return json_with(zv_inbound(w, "9", event_id, len), len, path, id);
}

static int zv_queue(struct world *w, int status, const char *code, const char *message)
{
	return fake_zenvia_queue(w->zv, status, code, message);
}

static void zv_request(struct world *w, size_t i, struct sent *out)
{
	const struct fake_zenvia_request *r = fake_zenvia_request(w->zv, i);

	*out = (struct sent){ r->ok, r->why, r->path, r->to, r->body, r->status, r->id };
}

/* ---- the table of providers ---- */

static const struct e2e_contract contracts[] = {
	{ .name = "twilio",
	  .channel = "sms",
	  .phone = "+34600111222",
	  .extra = NULL,
	  .env_channel = NULL,
	  .inbound_path = "/webhooks/twilio",
	  .status_path = "/webhooks/twilio/status",
	  .id_format = "SMe2e%027x",
	  .stored_table = NULL,
	  .twiml = 1,
	  .start_fake = tw_start,
	  .wait = tw_wait,
	  .inbound = tw_inbound,
	  .delivered = tw_delivered,
	  .auth = tw_auth,
	  .ctype = "application/x-www-form-urlencoded",
	  .reply_id_as = tw_reply_id_as,
	  .blank_ids = { "", " ", "\t \r\n" },
	  .n_blank_ids = 3,
	  .id_field = "MessageSid",
	  .status_id_field = "MessageSid" },
	{ .name = "meta",
	  .channel = "whatsapp",
	  .phone = "+" META_WA,
	  .extra = "whatsapp_pair_interval = 0s\n" E2E_META_CONF,
	  .env_channel = "GATEWAY_CHANNELS_WHATSAPP=meta",
	  .inbound_path = "/webhooks/meta",
	  .status_path = "/webhooks/meta",
	  .id_format = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBRE2E%08X",
	  .stored_table = "message",
	  .twiml = 0,
	  .start_fake = meta_start,
	  .wait = meta_wait,
	  .inbound = meta_inbound,
	  .delivered = meta_delivered,
	  .auth = meta_auth,
	  .ctype = "application/json",
	  .reply_id_as = meta_reply_id_as,
	  .blank_ids = { NULL, "", " ", "\t\r\n " },
	  .n_blank_ids = 4,
	  .id_field = "messages[].id",
	  .status_id_field = NULL },
	{ .name = "zenvia",
	  .channel = "sms",
	  .phone = "+34600111222",
	  .extra = E2E_ZENVIA_CONF,
	  .env_channel = "GATEWAY_CHANNELS_SMS=zenvia",
	  .inbound_path = "/webhooks/zenvia",
	  .status_path = "/webhooks/zenvia",
	  .id_format = "e2e0e2e0-0000-4000-8000-%012x",
	  .stored_table = NULL,
	  .twiml = 0,
	  .start_fake = zv_start,
	  .wait = zv_wait,
	  .inbound = zv_inbound,
	  .delivered = zv_delivered,
	  .auth = zv_auth,
	  .ctype = "application/json",
	  .reply_id_as = zv_reply_id_as,
	  .blank_ids = { NULL, "", " ", " \t\r\n" },
	  .n_blank_ids = 4,
	  .id_field = "message.id",
	  .status_id_field = NULL },
};

/* ---- how each provider is sent to ---- */

static const struct e2e_send sends[] = {
	{ .c = &contracts[0],
	  .queue = tw_queue,
	  .request = tw_request,
	  .sent_status = 201,
	  .send_to = "+34600111222",
	  .check_send = NULL },
	{ .c = &contracts[1],
	  .queue = meta_queue,
	  .request = meta_request,
	  .sent_status = 200,
	  .send_to = META_WA,
	  .check_send = meta_check_send },
	{ .c = &contracts[2],
	  .queue = zv_queue,
	  .request = zv_request,
	  .sent_status = 200,
	  .send_to = "34600111222",
	  .check_send = NULL },
};

/* ---- one fake provider + one gateway per test ---- */

static void world_free(struct world *w)
{
	fake_twilio_stop(w->e.tw);
	fake_meta_stop(w->fm);
	fake_zenvia_stop(w->zv);
	if (w->e.dir[0])
		harness_tmpdir_remove(w->e.dir);
	free(w);
}

/* cmocka setup: *state is the provider's row; it becomes the world. */
static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct harness_config hc = { 0 };
	const char *env[] = { NULL, NULL };
	char extra[1024];
	int fake_port, port;

	if (!w)
		return -1;
	w->c = *state;
	if (harness_tmpdir_create(w->e.dir, sizeof(w->e.dir)) < 0)
		goto fail;
	if ((fake_port = w->c->start_fake(w)) < 0 || (port = harness_free_port()) < 0)
		goto fail;
	if (w->c->extra) {
		snprintf(extra, sizeof(extra), w->c->extra, fake_port);
		hc.extra = extra;
	}
	env[0] = w->c->env_channel;
	if (harness_write_config_opts(w->e.dir, port, w->e.tw ? fake_port : 1, &hc, w->e.conf,
				      w->e.db) < 0 ||
	    harness_gw_start(&w->e.gw, w->e.dir, w->e.conf, port, env) < 0)
		goto fail;
	*state = w;
	return 0;
fail:
	world_free(w);
	return -1;
}

/* cmocka setup of a send test: *state is its send_case; it becomes the world. */
static int send_setup(void **state)
{
	const struct send_case *k = *state;

	*state = (void *)k->s->c;
	if (world_setup(state) < 0)
		return -1;
	((struct world *)*state)->k = k;
	return 0;
}

/* cmocka teardown: the gateway must exit 0 on SIGTERM; its log is shown when it did not or the
 * test did not get to its end. */
static int world_teardown(void **state)
{
	struct world *w = *state;
	int code = harness_gw_stop(&w->e.gw);

	if (code != 0)
		fprintf(stderr, "gateway exit status on SIGTERM: %d (want 0)\n", code);
	if (code != 0 || !w->e.passed)
		harness_gw_print_log(&w->e.gw, 6000);
	world_free(w);
	return code == 0 ? 0 : -1;
}

/* ---- speaking to the gateway ---- */

/* Triggers an NPS survey (interaction `interaction`) to the customer on the provider's channel:
 * 202, queued.  Returns its id (caller frees). */
static char *trigger(struct world *w, const char *interaction)
{
	struct harness_http_resp r;
	json_t *body, *j;
	char *text, *id;

	body = json_pack("{s:{s:s,s:s,s:s,s:s},s:s,s:s,s:{s:s,s:s}}", "customer", "id", "cust-42",
			 "phone", w->c->phone, "name", "Ana", "locale", "es", "kind", "nps",
			 "channel", w->c->channel, "interaction", "id", interaction, "touchpoint",
			 "support_chat");
	assert_non_null(body);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	assert_non_null(text);
	api(&w->e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", text, strlen(text),
	    &r);
	free(text);
	if (r.status != 202)
		fail_msg("POST /v1/surveys: %ld %.300s, want 202", r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	assert_jstr(j, "status", "queued");
	id = strdup(jstr(j, "id"));
	assert_non_null(id);
	json_decref(j);
	return id;
}

/* Triggers an NPS survey to the customer on the provider's channel and waits until the gateway
 * shows it sent as the fake's first request.  Returns its id (caller frees); the provider's
 * message id into `msg_id` (64 bytes). */
static char *survey_sent(struct world *w, char msg_id[64])
{
	char *id = trigger(w, "chat-1");
	json_t *j;

	if (w->c->wait(w, 1, E2E_POLL_MS) < 1)
		fail_msg("the fake %s got no send within %d ms", w->c->name, E2E_POLL_MS);
	j = wait_status(&w->e, id, "sent");
	assert_jstr(j, "provider", w->c->name);
	snprintf(msg_id, 64, "%s", jstr(j, "provider_message_id"));
	json_decref(j);
	return id;
}

/* Watches the fake for QUIET_MS: it must still have exactly `n` requests. */
static void assert_quiet(struct world *w, size_t n)
{
	size_t got = w->c->wait(w, n + 1, QUIET_MS);

	if (got != n)
		fail_msg("the fake %s got %zu requests, want %zu", w->c->name, got, n);
}

/* POSTs `body` (freed here) to `path`, authenticated per `mode`. */
static void post(struct world *w, const char *path, char *body, size_t len, enum auth mode,
		 struct harness_http_resp *r)
{
	char url[512], ctype[96], auth[256];
	const char *headers[3] = { ctype, NULL, NULL };

	snprintf(ctype, sizeof(ctype), "Content-Type: %s", w->c->ctype);
	if (mode != AUTH_NONE) {
		w->c->auth(w, path, mode, body, len, auth);
		headers[1] = auth;
	}
	snprintf(url, sizeof(url), "%s%s", w->e.gw.base_url, path);
	if (harness_http("POST", url, headers, body, len, r) < 0)
		fail_msg("POST %s: no answer", path);
	free(body);
}

/* The customer's reply `text` known by `id`, authenticated per `mode`. */
static void reply(struct world *w, const char *text, const char *id, enum auth mode,
		  struct harness_http_resp *r)
{
	size_t len;
	char *body = w->c->inbound(w, text, id, &len);

	post(w, w->c->inbound_path, body, len, mode, r);
}

/* A "delivered" status for our message `msg_id`, authenticated per `mode`. */
static void delivered(struct world *w, const char *msg_id, enum auth mode,
		      struct harness_http_resp *r)
{
	size_t len;
	char *body = w->c->delivered(w, msg_id, &len);

	post(w, w->c->status_path, body, len, mode, r);
}

/* A webhook taken: 200 and, for Twilio's replies, an empty TwiML <Response>. */
static void assert_taken(struct world *w, const struct harness_http_resp *r, int is_reply,
			 const char *what)
{
	if (r->status != 200)
		fail_msg("%s: %s: %ld %.300s, want 200", w->c->name, what, r->status, r->body);
	if (is_reply && w->c->twiml)
		assert_twiml_ok(r);
}

/* A JSON error answer with `status`: {"error":{"code":"...","message":"...",...}}. */
static void assert_json_error(const struct harness_http_resp *r, long status)
{
	json_t *j, *err;

	if (r->status != status)
		fail_msg("status %ld, want %ld: %.300s", r->status, status, r->body);
	assert_content_type(r, "application/json");
	j = parse_json(r);
	err = json_object_get(j, "error");
	if (!json_is_object(err))
		fail_msg("no \"error\" object in %.300s", r->body);
	jstr(err, "code");
	jstr(err, "message");
	json_decref(j);
}

/* The rows that hold message id `id` (in the provider's column of the table, when it names one). */
static long stored(struct world *w, const char *id)
{
	return w->c->stored_table ? harness_db_count_mentions(w->e.db, w->c->stored_table, id)
				  : harness_db_count_value(w->e.db, id);
}

static void next_id(struct world *w, char out[64])
{
	snprintf(out, 64, w->c->id_format, ++w->seq);
}

/* ---- the contract ---- */

/* A reply and a status webhook without authentication, made with another secret or altered: 403
 * with a JSON error each, the database unchanged, the survey still sent with no response, nothing
 * more sent. */
static void test_unauthenticated_webhooks_refused(void **state)
{
	static const enum auth modes[] = { AUTH_WRONG, AUTH_NONE, AUTH_ALTERED };
	static const char *const mode_names[] = { "wrong-secret", "unauthenticated", "altered" };
	struct world *w = *state;
	char msg_id[64], in_id[64], *id = survey_sent(w, msg_id), *before, *after;
	struct harness_http_resp r;
	json_t *j;

	assert_quiet(w, 1);     /* the send's bookkeeping settles before the snapshot */
	before = db_snapshot(w->e.db);
	assert_non_null(before);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		next_id(w, in_id);
		reply(w, "9", in_id, modes[i], &r);
		assert_json_error(&r, 403);
		harness_http_release(&r);
		delivered(w, msg_id, modes[i], &r);
		assert_json_error(&r, 403);
		harness_http_release(&r);
		after = db_snapshot(w->e.db);
		assert_non_null(after);
		if (strcmp(before, after) != 0)
			fail_msg("%s: a %s webhook changed the database", w->c->name, mode_names[i]);
		free(after);
	}
	j = survey_get(&w->e, id);
	assert_jstr(j, "status", "sent");
	assert_true(json_is_null(json_object_get(j, "response")));
	json_decref(j);
	assert_quiet(w, 1);
	free(before);
	free(id);
	w->e.passed = 1;
}

/* `r` (released here) is 400 missing_field naming `field`, and the database is still `before`. */
static void assert_missing_field(struct world *w, struct harness_http_resp *r, const char *field,
				 const char *what, const char *id, const char *before)
{
	json_t *j;
	char *after;

	assert_json_error(r, 400);
	j = parse_json(r);
	assert_jstr(json_object_get(j, "error"), "code", "missing_field");
	assert_jstr(json_object_get(j, "error"), "field", field);
	json_decref(j);
	harness_http_release(r);
	after = db_snapshot(w->e.db);
	assert_non_null(after);
	if (strcmp(before, after) != 0)
		fail_msg("%s: %s whose id is %s%s%s changed the database", w->c->name, what,
			 id ? "\"" : "", id ? id : "absent", id ? "\"" : "");
	free(after);
}

/* A reply whose message id is missing, empty or white space (and, where the row says so, a status
 * about such an id) is refused 400 naming the id field and changes nothing; the survey stays
 * sent with nothing more sent, and the same reply with an id is then taken as the answer. */
static void test_reply_without_id_refused(void **state)
{
	struct world *w = *state;
	const struct e2e_contract *c = w->c;
	char msg_id[64], in_id[64], *id = survey_sent(w, msg_id), *before, *body;
	struct harness_http_resp r;
	size_t len;
	json_t *j;

	assert_quiet(w, 1);     /* the send's bookkeeping settles before the snapshot */
	before = db_snapshot(w->e.db);
	assert_non_null(before);
	for (size_t i = 0; i < c->n_blank_ids; i++) {
		body = c->reply_id_as(w, c->blank_ids[i], &len);
		post(w, c->inbound_path, body, len, AUTH_OK, &r);
		assert_missing_field(w, &r, c->id_field, "a reply", c->blank_ids[i], before);
		if (c->status_id_field) {
			delivered(w, c->blank_ids[i], AUTH_OK, &r);
			assert_missing_field(w, &r, c->status_id_field, "a status", c->blank_ids[i],
					     before);
		}
	}
	j = survey_get(&w->e, id);
	assert_jstr(j, "status", "sent");
	json_decref(j);
	assert_quiet(w, 1);

	next_id(w, in_id);
	reply(w, "9", in_id, AUTH_OK, &r);
	assert_taken(w, &r, 1, "the same reply with an id");
	harness_http_release(&r);
	j = wait_status(&w->e, id, "answered");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "response"),
							    "score")), 9);
	json_decref(j);
	free(before);
	free(id);
	w->e.passed = 1;
}

/* The customer's "9" answers the survey and is thanked; the same reply again (same message id) is
 * taken as the first was, stores nothing new, is not thanked again and leaves the score 9. */
static void test_reply_redelivered(void **state)
{
	struct world *w = *state;
	char msg_id[64], in_id[64], *id = survey_sent(w, msg_id);
	struct harness_http_resp r;
	long rows;
	json_t *j;

	next_id(w, in_id);
	reply(w, "9", in_id, AUTH_OK, &r);
	assert_taken(w, &r, 1, "the reply");
	harness_http_release(&r);
	json_decref(wait_status(&w->e, id, "answered"));
	if (w->c->wait(w, 2, E2E_POLL_MS) < 2)
		fail_msg("%s: no thank-you within %d ms", w->c->name, E2E_POLL_MS);
	rows = stored(w, in_id);
	if (rows < 1)
		fail_msg("%s: inbound message %s is not stored", w->c->name, in_id);

	reply(w, "9", in_id, AUTH_OK, &r);
	assert_taken(w, &r, 1, "the same reply again");
	harness_http_release(&r);
	assert_quiet(w, 2);
	assert_int_equal(stored(w, in_id), rows);
	j = survey_get(&w->e, id);
	assert_jstr(j, "status", "answered");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "response"),
							    "score")), 9);
	json_decref(j);
	free(id);
	w->e.passed = 1;
}

/* The same "delivered" twice: taken both times, the survey delivered and staying so. */
static void test_status_redelivered(void **state)
{
	struct world *w = *state;
	char msg_id[64], *id = survey_sent(w, msg_id);
	struct harness_http_resp r;
	long long deadline;

	delivered(w, msg_id, AUTH_OK, &r);
	assert_taken(w, &r, 0, "delivered");
	harness_http_release(&r);
	json_decref(wait_status(&w->e, id, "delivered"));
	delivered(w, msg_id, AUTH_OK, &r);
	assert_taken(w, &r, 0, "delivered again");
	harness_http_release(&r);
	deadline = harness_now_ms() + E2E_QUIET_MS;
	do {
		json_t *s = survey_get(&w->e, id);
		const char *st = json_string_value(json_object_get(s, "status"));

		if (!st || strcmp(st, "delivered") != 0)
			fail_msg("%s: status %s, want it to stay delivered", w->c->name,
				 st ? st : "(none)");
		json_decref(s);
		harness_sleep_ms(E2E_POLL_STEP_MS * 4);
	} while (harness_now_ms() < deadline);
	free(id);
	w->e.passed = 1;
}

/* ---- send errors ---- */

/* The fake's request `i`, which must have arrived within E2E_POLL_MS, passed the provider's
 * checks and gone to the customer. */
static void send_request(struct world *w, size_t i, struct sent *out)
{
	const struct e2e_send *s = w->k->s;

	if (w->c->wait(w, i + 1, E2E_POLL_MS) < i + 1)
		fail_msg("the fake %s got no request %zu within %d ms", w->c->name, i, E2E_POLL_MS);
	s->request(w, i, out);
	if (!out->ok)
		fail_msg("%s: request %zu is not one the provider accepts: %s (%s): %.400s",
			 w->c->name, i, out->why, out->path, out->body);
	if (!out->to || strcmp(out->to, s->send_to) != 0)
		fail_msg("%s: request %zu went to %s, want %s", w->c->name, i,
			 out->to ? out->to : "-", s->send_to);
	if (s->check_send)
		s->check_send(w, i);
}

/* A permanent refusal: the survey fails with the provider's code and a message after the one
 * request, which is never retried. */
static void test_send_refused(void **state)
{
	struct world *w = *state;
	const struct send_case *k = w->k;
	struct sent req;
	json_t *j, *err;
	char *id;

	assert_int_equal(k->s->queue(w, k->status, k->code, k->message), 0);
	id = trigger(w, "chat-err-1");
	send_request(w, 0, &req);
	assert_int_equal(req.status, k->status);
	j = wait_status(&w->e, id, "failed");
	err = json_object_get(j, "error");
	if (!json_is_object(err))
		fail_msg("%s: the failed survey has no error object", w->c->name);
	assert_jstr(err, "code", k->code);
	assert_true(jstr(err, "message")[0] != '\0');
	json_decref(j);
	assert_quiet(w, 1);
	j = survey_get(&w->e, id);
	assert_jstr(j, "status", "failed");
	json_decref(j);
	free(id);
	w->e.passed = 1;
}

/* An error the send is retried after: the same request again, answered as a success, and the
 * survey sent with that answer's message id after exactly two attempts and no error. */
static void test_send_retried(void **state)
{
	struct world *w = *state;
	const struct send_case *k = w->k;
	struct sent first, second;
	json_t *j;
	char *id;

	assert_int_equal(k->s->queue(w, k->status, k->code, k->message), 0);
	id = trigger(w, "chat-retry-1");
	send_request(w, 0, &first);
	send_request(w, 1, &second);
	assert_int_equal(first.status, k->status);
	assert_int_equal(second.status, k->s->sent_status);
	assert_string_equal(second.path, first.path);
	assert_string_equal(second.to, first.to);
	assert_string_equal(second.body, first.body);
	j = wait_status(&w->e, id, "sent");
	assert_jstr(j, "provider_message_id", second.id);
	assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 2);
	assert_true(json_is_null(json_object_get(j, "error")));
	json_decref(j);
	assert_quiet(w, 2);
	j = survey_get(&w->e, id);
	assert_jstr(j, "status", "sent");
	assert_jstr(j, "provider_message_id", second.id);
	json_decref(j);
	free(id);
	w->e.passed = 1;
}

/* Watches GET /v1/surveys/{id} for E2E_QUIET_MS: its status must never be `unwanted`. */
static void assert_status_never(struct world *w, const char *id, const char *unwanted)
{
	long long deadline = harness_now_ms() + E2E_QUIET_MS;

	do {
		json_t *s = survey_get(&w->e, id);
		const char *st = json_string_value(json_object_get(s, "status"));

		if (!st || strcmp(st, unwanted) == 0)
			fail_msg("%s: survey %s is %s", w->c->name, id, st ? st : "(no status)");
		json_decref(s);
		harness_sleep_ms(E2E_POLL_STEP_MS * 4);
	} while (harness_now_ms() < deadline);
}

/* Polls GET /healthz until it shows the provider paused: the whole is degraded and the provider
 * says why. */
static void wait_paused(struct world *w)
{
	long long deadline = harness_now_ms() + E2E_POLL_MS;
	struct harness_http_resp r;
	json_t *h, *p;

	for (;;) {
		const char *st;

		api(&w->e, "GET", "/healthz", NULL, NULL, NULL, 0, &r);
		if (r.status != 200)
			fail_msg("GET /healthz: %ld %.300s", r.status, r.body);
		h = parse_json(&r);
		harness_http_release(&r);
		p = json_object_get(json_object_get(h, "providers"), w->c->name);
		st = json_string_value(json_object_get(p, "state"));
		if (st && strcmp(st, "paused") == 0)
			break;
		if (harness_now_ms() >= deadline) {
			char *dump = json_dumps(h, JSON_COMPACT);

			fail_msg("/healthz does not show %s paused: %s", w->c->name,
				 dump ? dump : "?");
		}
		json_decref(h);
		harness_sleep_ms(E2E_POLL_STEP_MS);
	}
	assert_jstr(h, "status", "degraded");
	jstr(p, "reason");
	json_decref(h);
}

/* The credentials refused: the fault is the account's, not the message's.  Sending through the
 * provider pauses (/healthz degraded, the provider paused with a reason), the message is queued
 * again, not failed, and nothing more reaches the provider, not even a new survey. */
static void test_send_credentials_refused(void **state)
{
	struct world *w = *state;
	const struct send_case *k = w->k;
	struct sent req;
	char *id, *id2;

	assert_int_equal(k->s->queue(w, k->status, k->code, k->message), 0);
	id = trigger(w, "chat-1");
	send_request(w, 0, &req);
	assert_int_equal(req.status, k->status);
	wait_paused(w);
	/* the pause is set before the recorder puts the message back in the queue */
	json_decref(wait_status(&w->e, id, "queued"));
	id2 = trigger(w, "chat-2");
	assert_quiet(w, 1);
	assert_status_never(w, id, "failed");
	assert_status_never(w, id2, "failed");
	free(id2);
	free(id);
	w->e.passed = 1;
}

/* The send errors of each provider, one row each: what the fake answers first. */
static const struct send_case refused[] = {
	{ &sends[0], 400, "21211", "The 'To' number +34600111222 is not a valid phone number." },
	{ &sends[1], 400, "131026", "(#131026) Message undeliverable" },
	{ &sends[2], 400, "VALIDATION_ERROR", "Validation error: to is not a valid number" },
	{ &sends[2], 404, "NOT_FOUND", "Channel or sender not found" },
};

static const struct send_case transient[] = {
	{ &sends[0], 500, NULL, NULL },
	{ &sends[1], 500, NULL, NULL },
	{ &sends[2], 500, NULL, NULL },
	{ &sends[2], 503, NULL, NULL },
};

static const struct send_case rate_limited[] = {
	{ &sends[0], 429, "20429", "Too Many Requests" },
	{ &sends[1], 429, "4", "(#4) Application request limit reached" },
	{ &sends[1], 429, "130429", "(#130429) Rate limit hit" },
	{ &sends[1], 429, "80007", "(#80007) Rate limit issues" },
	{ &sends[2], 429, NULL, NULL },
};

static const struct send_case credentials[] = {
	{ &sends[0], 401, "20003", "Authenticate" },
	{ &sends[1], 401, "190", "Invalid OAuth access token - Cannot parse access token" },
	{ &sends[2], 401, "UNAUTHORIZED", "Invalid API token" },
};

#define SEND_TEST(row, f, k)                                    \
	{                                                       \
		row, f, send_setup, world_teardown, (void *)(k) \
	}

#define CONTRACT_TESTS(row, p)                                                               \
	{ row ": unauthenticated webhooks refused", test_unauthenticated_webhooks_refused, \
	  world_setup, world_teardown, (void *)(p) },                                       \
	{ row ": reply without an id refused", test_reply_without_id_refused, world_setup,  \
	  world_teardown, (void *)(p) },                                                    \
	{ row ": reply redelivered", test_reply_redelivered, world_setup, world_teardown,   \
	  (void *)(p) },                                                                    \
	{ row ": status redelivered", test_status_redelivered, world_setup, world_teardown, \
	  (void *)(p) }

int main(void)
{
	const struct CMUnitTest tests[] = {
		CONTRACT_TESTS("twilio", &contracts[0]),
		CONTRACT_TESTS("meta", &contracts[1]),
		CONTRACT_TESTS("zenvia", &contracts[2]),
		SEND_TEST("twilio: send refused 400 21211", test_send_refused, &refused[0]),
		SEND_TEST("meta: send refused 400 131026", test_send_refused, &refused[1]),
		SEND_TEST("zenvia: send refused 400 VALIDATION_ERROR", test_send_refused,
			  &refused[2]),
		SEND_TEST("zenvia: send refused 404 NOT_FOUND", test_send_refused, &refused[3]),
		SEND_TEST("twilio: send 500 retried then sent", test_send_retried, &transient[0]),
		SEND_TEST("meta: send 500 retried then sent", test_send_retried, &transient[1]),
		SEND_TEST("zenvia: send 500 retried then sent", test_send_retried, &transient[2]),
		SEND_TEST("zenvia: send 503 retried then sent", test_send_retried, &transient[3]),
		SEND_TEST("twilio: send rate limited 20429 retried", test_send_retried,
			  &rate_limited[0]),
		SEND_TEST("meta: send rate limited 4 retried", test_send_retried, &rate_limited[1]),
		SEND_TEST("meta: send rate limited 130429 retried", test_send_retried,
			  &rate_limited[2]),
		SEND_TEST("meta: send rate limited 80007 retried", test_send_retried,
			  &rate_limited[3]),
		SEND_TEST("zenvia: send rate limited 429 retried", test_send_retried,
			  &rate_limited[4]),
		SEND_TEST("twilio: send credentials refused 20003", test_send_credentials_refused,
			  &credentials[0]),
		SEND_TEST("meta: send credentials refused 190", test_send_credentials_refused,
			  &credentials[1]),
		SEND_TEST("zenvia: send credentials refused 401", test_send_credentials_refused,
			  &credentials[2]),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
