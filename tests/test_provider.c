/*
 * test_provider.c - providers/provider.c: the registry, the life cycle and wrappers the core
 * calls, the neutral containers (http_request headers, event_list) and phone_is_e164().
 *
 * The wrappers are driven through a provider made here ("recorder"), whose ops append events,
 * fail on request and count their calls, so the core's side of each contract is tested apart
 * from any real provider.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "provider.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- registry ----------------------------------------------------------------------------- */

struct find_case {
	const char *name;
	int found;
};

static const struct find_case find_cases[] = {
	{ "console", 1 },
	{ "twilio", 1 },
	{ "meta", 1 },
	{ "zenvia", 1 },
	{ "Meta", 0 },
	{ "Twilio", 0 },            /* names are exact */
	{ "twilio ", 0 },
	{ "twil", 0 },
	{ "", 0 },
};

static void test_find_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(find_cases); i++) {
		const struct find_case *t = &find_cases[i];
		const struct provider_ops *ops = provider_find(t->name);

		if (!t->found) {
			if (ops)
				fail_msg("provider_find(\"%s\") found %s, want NULL", t->name, ops->name);
			continue;
		}
		if (!ops)
			fail_msg("provider_find(\"%s\") is NULL", t->name);
		assert_string_equal(ops->name, t->name);
	}
	assert_null(provider_find(NULL));
}

/* Every registered provider can be used by the core: unique name, keys table, and the ops its
 * capabilities call for. */
static void test_registry_entries_are_complete(void **state)
{
	size_t n = 0;

	(void)state;
	for (size_t i = 0; providers[i]; i++, n++) {
		const struct provider_ops *ops = providers[i];

		assert_non_null(ops->name);
		assert_true(ops->name[0] != '\0');
		assert_ptr_equal(provider_find(ops->name), ops);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(providers[j]->name, ops->name);
		assert_non_null(ops->keys);
		assert_non_null(ops->parse_webhook);
		if (ops->caps & PROVIDER_CAP_LOCAL) {
			assert_non_null(ops->deliver);
		} else {
			assert_non_null(ops->build_send);
			assert_non_null(ops->parse_send_response);
		}
	}
	assert_true(n >= 2);
}

static void test_capabilities(void **state)
{
	(void)state;
	assert_int_equal(provider_find("console")->caps,
			 PROVIDER_CAP_LOCAL | PROVIDER_CAP_WEBHOOK_API_KEY);
	assert_int_equal(provider_find("twilio")->caps & PROVIDER_CAP_LOCAL, 0);
	assert_int_equal(provider_find("twilio")->caps & PROVIDER_CAP_WEBHOOK_API_KEY, 0);
}

/* ---- phone_is_e164 ------------------------------------------------------------------------ */

struct phone_case {
	const char *in;
	int valid;
};

static const struct phone_case phone_cases[] = {
	{ "+34600111222", 1 },
	{ "+14155552345", 1 },
	{ "+12345678", 1 },                 /* 8 digits, the shortest */
	{ "+123456789012345", 1 },          /* 15 digits, the longest */
	{ "+1234567", 0 },                  /* 7 digits */
	{ "+1234567890123456", 0 },         /* 16 digits */
	{ "34600111222", 0 },               /* no plus */
	{ "0034600111222", 0 },
	{ "+034600111222", 0 },             /* country code cannot start with 0 */
	{ "+34 600 111 222", 0 },
	{ " +34600111222", 0 },
	{ "+34600111222 ", 0 },
	{ "+34600111222\n", 0 },
	{ "+34-600-111-222", 0 },
	{ "+3460011122a", 0 },
	{ "+34600O11222", 0 },              /* letter O */
	{ "whatsapp:+34600111222", 0 },
	{ "++34600111222", 0 },
	{ "+", 0 },
	{ "", 0 },
	{ "+\xd9\xa3\xd9\xa4\xd9\xa6\xd9\xa0\xd9\xa0\xd9\xa1\xd9\xa1\xd9\xa1", 0 }, /* Arabic digits */
};

static void test_phone_is_e164_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(phone_cases); i++)
		if (phone_is_e164(phone_cases[i].in) != phone_cases[i].valid)
			fail_msg("phone_is_e164(\"%s\") is %d, want %d", phone_cases[i].in,
				 phone_is_e164(phone_cases[i].in), phone_cases[i].valid);
	assert_int_equal(phone_is_e164(NULL), 0);
}

/* ---- event_list --------------------------------------------------------------------------- */

/* Events survive growth: every one keeps what was written into it, and each new one is zeroed. */
static void test_event_list_growth(void **state)
{
	enum { N = 1000 };
	struct event_list l;
	struct event zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	event_list_init(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	for (size_t i = 0; i < N; i++) {
		struct event *e = event_list_add(&l);

		assert_non_null(e);
		assert_ptr_equal(e, &l.items[i]);
		assert_memory_equal(e, &zero, sizeof(zero));
		assert_int_equal(l.n, i + 1);
		assert_true(l.alloc >= l.n);
		e->type = (i % 2) ? EVENT_STATUS : EVENT_INBOUND;
		snprintf(e->provider_message_id, sizeof(e->provider_message_id), "SM%zu", i);
		e->text = malloc(16);
		assert_non_null(e->text);
		e->text_len = (size_t)snprintf(e->text, 16, "t%zu", i);
	}
	for (size_t i = 0; i < N; i++) {
		char want[32];

		snprintf(want, sizeof(want), "SM%zu", i);
		assert_string_equal(l.items[i].provider_message_id, want);
		snprintf(want, sizeof(want), "t%zu", i);
		assert_string_equal(l.items[i].text, want);
	}
	event_list_release(&l);        /* frees every text: ASan reports a leak otherwise */
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	event_list_release(&l);        /* a released list is empty and may be released again */
}

/* ---- http_request ------------------------------------------------------------------------- */

static void test_request_init(void **state)
{
	struct http_request r;

	(void)state;
	memset(&r, 0x5a, sizeof(r));
	provider_request_init(&r);
	assert_string_equal(r.method, "POST");
	assert_int_equal(r.n_headers, 0);
	assert_int_equal(r.url.len, 0);
	assert_int_equal(r.body.len, 0);
	assert_string_equal(buf_cstr(&r.url), "");
	provider_request_release(&r);
	provider_request_release(&r);
}

/* HTTP_MAX_HEADERS headers fit; the next one fails and leaves the request as it was. */
static void test_request_header_cap(void **state)
{
	struct http_request r;
	char name[16], value[16];

	(void)state;
	provider_request_init(&r);
	for (int i = 0; i < HTTP_MAX_HEADERS; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		snprintf(value, sizeof(value), "v%d", i);
		assert_int_equal(provider_request_header(&r, name, value), 0);
		assert_int_equal(r.n_headers, (size_t)i + 1);
	}
	assert_int_equal(provider_request_header(&r, "X-One-Too-Many", "v"), -1);
	assert_int_equal(r.n_headers, HTTP_MAX_HEADERS);
	for (int i = 0; i < HTTP_MAX_HEADERS; i++) {
		char want[32];

		snprintf(want, sizeof(want), "X-H%d: v%d", i, i);
		assert_string_equal(r.headers[i], want);
	}
	provider_request_release(&r);
	assert_int_equal(r.n_headers, 0);
}

/* A header too large for one line is refused without taking a slot. */
static void test_request_header_too_long(void **state)
{
	struct http_request r;
	size_t n = 16 * 1024;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	provider_request_init(&r);
	assert_int_equal(provider_request_header(&r, "X-Big", big), -1);
	assert_int_equal(r.n_headers, 0);
	assert_int_equal(provider_request_header(&r, "Accept", "application/json"), 0);
	assert_string_equal(r.headers[0], "Accept: application/json");
	provider_request_release(&r);
	free(big);
}

/* ---- a provider made here, for the wrappers ----------------------------------------------- */

/* What the recorder does on its next parse_webhook, and what it saw. */
struct recorder_plan {
	size_t append;          /* events to append, each with a malloc'd text */
	int fail;               /* 1: return -1 with a 422 after appending */
	int set_status;         /* 0: leave reply->status as the wrapper set it */
	int init_fail;
	int destroy_calls;
	int parse_send_calls;
	int deliver_calls;
	int outcome_was_zeroed;
};

/* Tests run one at a time; the recorder reads its plan from here. */
static struct recorder_plan plan;

struct recorder {
	const struct config_section *cfg;
	const char *public_url_at_init;
	size_t priv_was_zero;
	unsigned char rest[200];
};

static int outcome_is_zero(const struct send_outcome *o)
{
	static const struct send_outcome zero;

	return memcmp(o, &zero, sizeof(zero)) == 0;
}

static int recorder_init(struct provider *p, const struct config_section *cfg, struct gw_err *err)
{
	struct recorder *r = p->priv;
	static const unsigned char zero[sizeof(r->rest)];

	r->priv_was_zero = memcmp(r->rest, zero, sizeof(zero)) == 0;
	r->cfg = cfg;
	r->public_url_at_init = p->public_url;
	if (plan.init_fail)
		return gw_errf(err, "[provider.recorder] key: planned failure");
	return 0;
}

static enum send_result recorder_parse_send(struct provider *p, long status, const char *body,
					    size_t len, struct send_outcome *out)
{
	plan.parse_send_calls++;
	plan.outcome_was_zeroed = outcome_is_zero(out);
	snprintf(out->error_code, sizeof(out->error_code), "http_%ld", status);
	return SEND_TRANSIENT;
}

static enum send_result recorder_deliver(struct provider *p, const struct outbound *msg,
					 struct send_outcome *out)
{
	plan.deliver_calls++;
	plan.outcome_was_zeroed = outcome_is_zero(out);
	snprintf(out->provider_message_id, sizeof(out->provider_message_id), "rec-%lld",
		 (long long)msg->id);
	return SEND_ACCEPTED;
}

static int recorder_parse_webhook(struct provider *p, const struct http_req_view *req,
				  struct event_list *out, struct webhook_reply *reply)
{
	for (size_t i = 0; i < plan.append; i++) {
		struct event *e = event_list_add(out);

		assert_non_null(e);
		e->type = EVENT_INBOUND;
		snprintf(e->provider_message_id, sizeof(e->provider_message_id), "new-%zu", i);
		e->text = malloc(8);
		assert_non_null(e->text);
		memcpy(e->text, "planned", 8);
		e->text_len = 7;
	}
	if (plan.fail)
		return webhook_fail(reply, 422, "planned", "text", "planned failure");
	if (plan.set_status)
		reply->status = plan.set_status;
	return 0;
}

static void recorder_destroy(struct provider *p)
{
	plan.destroy_calls++;
}

static const struct config_key recorder_keys[] = {
	{ NULL, 0, NULL, NULL },
};

static const struct provider_ops recorder_ops = {
	.name = "recorder",
	.caps = PROVIDER_CAP_LOCAL,
	.priv_size = sizeof(struct recorder),
	.keys = recorder_keys,
	.default_rate = "2/s",
	.init = recorder_init,
	.parse_send_response = recorder_parse_send,
	.deliver = recorder_deliver,
	.parse_webhook = recorder_parse_webhook,
	.destroy = recorder_destroy,
};

static int reset_plan(void **state)
{
	(void)state;
	memset(&plan, 0, sizeof(plan));
	return 0;
}

static struct provider *recorder_new(const struct config_section *cfg)
{
	struct gw_err err = { 0 };
	struct provider *p = provider_create(&recorder_ops, cfg, NULL, "https://gw.example.com", &err);

	if (!p)
		fail_msg("provider_create: %s", err.msg);
	return p;
}

/* ---- life cycle --------------------------------------------------------------------------- */

static void test_create_allocates_zeroed_priv_and_calls_init(void **state)
{
	struct provider *p = recorder_new(NULL);
	struct recorder *r = p->priv;

	(void)state;
	assert_ptr_equal(p->ops, &recorder_ops);
	assert_string_equal(provider_name(p), "recorder");
	assert_non_null(r);
	assert_true(r->priv_was_zero);
	assert_null(r->cfg);
	/* init sees the public URL already set, to build callback URLs from it. */
	assert_string_equal(r->public_url_at_init, "https://gw.example.com");
	assert_true(provider_has(p, PROVIDER_CAP_LOCAL));
	assert_false(provider_has(p, PROVIDER_CAP_WEBHOOK_API_KEY));
	provider_free(p);
	assert_int_equal(plan.destroy_calls, 1);
	provider_free(NULL);
	assert_int_equal(plan.destroy_calls, 1);
}

static void test_create_fails_when_init_fails(void **state)
{
	struct gw_err err = { 0 };

	(void)state;
	plan.init_fail = 1;
	assert_null(provider_create(&recorder_ops, NULL, NULL, NULL, &err));
	assert_string_equal(err.msg, "[provider.recorder] key: planned failure");
	/* destroy() belongs to instances that were made; ASan reports the priv if it leaked. */
	assert_int_equal(plan.destroy_calls, 0);
}

struct rate_case {
	const char *name;
	const char *rate;           /* NULL: no rate key in the section */
	int want_ok;
	int want_off;
	double want_per_second;
};

static const struct rate_case rate_cases[] = {
	{ "no rate: the provider's default", NULL, 1, 0, 2.0 },
	{ "per second", "80/s", 1, 0, 80.0 },
	{ "per minute", "30/min", 1, 0, 0.5 },
	{ "off", "off", 1, 1, 0.0 },
	{ "not a rate", "fast", 0, 0, 0.0 },
	{ "empty", "", 0, 0, 0.0 },
};

static void test_create_rate_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rate_cases); i++) {
		const struct rate_case *t = &rate_cases[i];
		struct config_entry e = { .key = (char *)"rate", .value = (char *)t->rate,
					  .origin = (char *)"test" };
		struct config_section sec = { .name = (char *)"provider.recorder", .entries = &e,
					      .n = t->rate ? 1 : 0 };
		struct gw_err err = { 0 };
		struct provider *p = provider_create(&recorder_ops, &sec, NULL, NULL, &err);

		if (!t->want_ok) {
			if (p)
				fail_msg("%s: created, want a rate error", t->name);
			if (!err.msg[0])
				fail_msg("%s: no error message", t->name);
			continue;
		}
		if (!p)
			fail_msg("%s: %s", t->name, err.msg);
		if (p->rate.off != t->want_off || p->rate.per_second != t->want_per_second)
			fail_msg("%s: rate off=%d %g/s, want off=%d %g/s", t->name, p->rate.off,
				 p->rate.per_second, t->want_off, t->want_per_second);
		assert_ptr_equal(((struct recorder *)p->priv)->cfg, &sec);
		provider_free(p);
	}
}

/* A provider with no default rate and no rate key is unpaced. */
static void test_create_without_default_rate_is_unpaced(void **state)
{
	struct provider_ops ops = recorder_ops;
	struct gw_err err = { 0 };
	struct provider *p;

	(void)state;
	ops.default_rate = NULL;
	p = provider_create(&ops, NULL, NULL, NULL, &err);
	assert_non_null(p);
	assert_int_equal(p->rate.off, 1);
	provider_free(p);
}

/* ---- wrappers ----------------------------------------------------------------------------- */

static void test_parse_send_response_clears_outcome(void **state)
{
	struct provider *p = recorder_new(NULL);
	struct send_outcome out;

	(void)state;
	memset(&out, 'x', sizeof(out));
	assert_int_equal(provider_parse_send_response(p, 503, NULL, 0, &out), SEND_TRANSIENT);
	assert_int_equal(plan.parse_send_calls, 1);
	assert_true(plan.outcome_was_zeroed);
	assert_string_equal(out.error_code, "http_503");
	assert_string_equal(out.provider_message_id, "");
	provider_free(p);
}

static void test_deliver_clears_outcome(void **state)
{
	struct provider *p = recorder_new(NULL);
	struct outbound msg = { .id = 9, .channel = CHANNEL_SMS, .to = "+34600111222", .body = "x" };
	struct send_outcome out;

	(void)state;
	memset(&out, 'x', sizeof(out));
	assert_int_equal(provider_deliver(p, &msg, &out), SEND_ACCEPTED);
	assert_int_equal(plan.deliver_calls, 1);
	assert_true(plan.outcome_was_zeroed);
	assert_string_equal(out.provider_message_id, "rec-9");
	assert_string_equal(out.error_code, "");
	provider_free(p);
}

static const char *no_header(const struct http_req_view *req, const char *name)
{
	(void)req;
	(void)name;
	return NULL;
}

/*
 * The list already holds `before` events (from earlier webhooks of the same batch); the recorder
 * appends plan.append more and then fails or succeeds.
 */
struct webhook_case {
	const char *name;
	size_t before;
	size_t append;
	int fail;
	int set_status;
	int want_rc;
	int want_status;
	size_t want_n;
};

static const struct webhook_case webhook_cases[] = {
	{ "success keeps the new events", 0, 3, 0, 0, 0, 200, 3 },
	{ "success after earlier events", 2, 3, 0, 0, 0, 200, 5 },
	{ "success with a provider status", 0, 1, 0, 204, 0, 204, 1 },
	{ "failure removes what it appended", 0, 3, 1, 0, -1, 422, 0 },
	{ "failure keeps earlier events", 2, 3, 1, 0, -1, 422, 2 },
	{ "failure past a growth of the list", 3, 9, 1, 0, -1, 422, 3 },
	{ "failure that appended nothing", 1, 0, 1, 0, -1, 422, 1 },
};

static void test_parse_webhook_table(void **state)
{
	struct provider *p = recorder_new(NULL);
	struct http_req_view view = { .method = "POST", .path = "/webhooks/recorder",
				      .url = "https://gw.example.com/webhooks/recorder",
				      .body = "{}", .body_len = 2, .header = no_header,
				      .query = no_header };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(webhook_cases); i++) {
		const struct webhook_case *t = &webhook_cases[i];
		struct event_list l;
		struct webhook_reply reply;
		int rc;

		event_list_init(&l);
		for (size_t j = 0; j < t->before; j++) {
			struct event *e = event_list_add(&l);

			assert_non_null(e);
			snprintf(e->provider_message_id, sizeof(e->provider_message_id), "old-%zu", j);
			e->text = malloc(4);
			assert_non_null(e->text);
			memcpy(e->text, "old", 4);
			e->text_len = 3;
		}
		memset(&reply, 0, sizeof(reply));
		reply.status = 599;                         /* the wrapper resets it */
		reply.content_type = "stale/type";
		buf_init(&reply.body, 4096);
		plan.append = t->append;
		plan.fail = t->fail;
		plan.set_status = t->set_status;
		rc = provider_parse_webhook(p, &view, &l, &reply);
		if (rc != t->want_rc || reply.status != t->want_status || l.n != t->want_n)
			fail_msg("%s: rc %d status %d events %zu, want rc %d status %d events %zu",
				 t->name, rc, reply.status, l.n, t->want_rc, t->want_status,
				 t->want_n);
		assert_null(reply.content_type);
		for (size_t j = 0; j < l.n; j++) {
			char want[32];

			if (j < t->before)
				snprintf(want, sizeof(want), "old-%zu", j);
			else
				snprintf(want, sizeof(want), "new-%zu", j - t->before);
			assert_string_equal(l.items[j].provider_message_id, want);
			assert_non_null(l.items[j].text);
		}
		if (t->fail) {
			assert_int_equal(reply.err.http_status, 422);
			assert_string_equal(reply.err.code, "planned");
			assert_string_equal(reply.err.field, "text");
		}
		/* The list stays usable after a rejection. */
		assert_non_null(event_list_add(&l));
		buf_release(&reply.body);
		event_list_release(&l);     /* ASan: a removed event's text must have been freed */
	}
	provider_free(p);
}

static void test_webhook_fail(void **state)
{
	struct webhook_reply reply;

	(void)state;
	memset(&reply, 0, sizeof(reply));
	assert_int_equal(webhook_fail(&reply, 403, "invalid_signature", "X-Twilio-Signature",
				      "X-Twilio-Signature does not match this request"), -1);
	assert_int_equal(reply.status, 403);
	assert_int_equal(reply.err.http_status, 403);
	assert_string_equal(reply.err.code, "invalid_signature");
	assert_string_equal(reply.err.field, "X-Twilio-Signature");
	assert_string_equal(reply.err.msg, "X-Twilio-Signature does not match this request");
	/* A message is copied as text, never used as a format. */
	assert_int_equal(webhook_fail(&reply, 400, "c", "", "100% %s %n"), -1);
	assert_string_equal(reply.err.msg, "100% %s %n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_table),
		cmocka_unit_test(test_registry_entries_are_complete),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_phone_is_e164_table),
		cmocka_unit_test(test_event_list_growth),
		cmocka_unit_test(test_request_init),
		cmocka_unit_test(test_request_header_cap),
		cmocka_unit_test(test_request_header_too_long),
		cmocka_unit_test_setup(test_create_allocates_zeroed_priv_and_calls_init, reset_plan),
		cmocka_unit_test_setup(test_create_fails_when_init_fails, reset_plan),
		cmocka_unit_test_setup(test_create_rate_table, reset_plan),
		cmocka_unit_test_setup(test_create_without_default_rate_is_unpaced, reset_plan),
		cmocka_unit_test_setup(test_parse_send_response_clears_outcome, reset_plan),
		cmocka_unit_test_setup(test_deliver_clears_outcome, reset_plan),
		cmocka_unit_test_setup(test_parse_webhook_table, reset_plan),
		cmocka_unit_test(test_webhook_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
