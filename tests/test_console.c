/*
 * test_console.c - providers/console.c, the local stand-in provider, through provider.h:
 *
 *  - deliver() prints one line per outbound message on standard output and counts it as sent at
 *    once, with the id "console-out-<message id>";
 *  - parse_webhook() takes {"from","text"[,"channel"][,"id"]} and makes one EVENT_INBOUND: a fresh
 *    id each time, or "console-in-<id>" when the client names one (so its retries are
 *    recognised); anything else is refused with the field at fault and no event left behind.
 *
 * Every body is handed over as a malloc'd copy of exactly its length (no NUL after it), so ASan
 * catches a read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "provider.h"
#include "support/provider_call.h"
#include "support/unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))


#define UTF8_TEXT "\xc2\xbfQu\xc3\xa9 tal? \xf0\x9f\x91\x8d"

static struct provider *console_new(void)
{
	struct gw_err err = { 0 };
	const struct provider_ops *ops = provider_find("console");
	struct provider *p;

	assert_non_null(ops);
	p = provider_create(ops, NULL, NULL, "http://127.0.0.1:8080", &err);
	if (!p)
		fail_msg("provider_create: %s", err.msg);
	return p;
}

/* ---- deliver ------------------------------------------------------------------------------ */

/* Runs provider_deliver() with stdout captured; the printed text goes to `printed` (malloc'd). */
static enum send_result deliver_captured(struct provider *p, const struct outbound *msg,
					 struct send_outcome *out, char **printed)
{
	char path[] = "/tmp/test_console-XXXXXX";
	int fd = mkstemp(path), saved;
	enum send_result r;
	FILE *f;
	long size;

	assert_true(fd >= 0);
	unlink(path);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	r = provider_deliver(p, msg, out);
	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) >= 0);
	close(saved);
	f = fdopen(fd, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	*printed = calloc(1, (size_t)size + 1);
	assert_non_null(*printed);
	assert_int_equal(fread(*printed, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return r;
}

struct deliver_case {
	const char *name;
	int64_t id;
	enum channel channel;
	const char *to;
	const char *body;
	const char *want_id;
	const char *want_line;
};

static const struct deliver_case deliver_cases[] = {
	{ "sms survey", 42, CHANNEL_SMS, "+34600111222", "Del 0 al 10, ¿nos recomendarías?",
	  "console-out-42", "[console] to +34600111222 (sms): Del 0 al 10, ¿nos recomendarías?\n" },
	{ "whatsapp with emoji", 7, CHANNEL_WHATSAPP, "+5511987654321", UTF8_TEXT, "console-out-7",
	  "[console] to +5511987654321 (whatsapp): " UTF8_TEXT "\n" },
	{ "large id", INT64_C(9007199254740993), CHANNEL_SMS, "+14155552345", "9",
	  "console-out-9007199254740993", "[console] to +14155552345 (sms): 9\n" },
};

static void test_deliver_table(void **state)
{
	struct provider *p = console_new();

	(void)state;
	assert_true(provider_has(p, PROVIDER_CAP_LOCAL));
	for (size_t i = 0; i < ARRAY_SIZE(deliver_cases); i++) {
		const struct deliver_case *t = &deliver_cases[i];
		struct outbound msg = { .id = t->id, .channel = t->channel,
					.purpose = PURPOSE_SURVEY, .to = t->to, .body = t->body };
		struct send_outcome out;
		char *printed;
		enum send_result r;

		memset(&out, 'x', sizeof(out));
		r = deliver_captured(p, &msg, &out, &printed);
		EXPECT_INT(t->name, "result", r, SEND_ACCEPTED);
		EXPECT_STR(t->name, "provider_message_id", out.provider_message_id, t->want_id);
		EXPECT_STR(t->name, "status", out.status, "sent");
		EXPECT_STR(t->name, "error_code", out.error_code, "");
		EXPECT_STR(t->name, "printed", printed, t->want_line);
		free(printed);
	}
	provider_free(p);
}

/* ---- parse_webhook ------------------------------------------------------------------------ */

/* POSTs `len` bytes of `body` (NULL: a request without a body) to /webhooks/console.  Release
 * with hook_release(). */
static void post(struct provider *p, const char *body, size_t len, struct hook *h)
{
	webhook_call(p, "POST", "http://127.0.0.1:8080", "/webhooks/console", NULL, body, len, h);
}

static void post_str(struct provider *p, const char *body, struct hook *h)
{
	post(p, body, strlen(body), h);
}

/* A generated id: "console-in-" and 24 lower-case hex digits. */
static void expect_generated_id(const char *id)
{
	assert_int_equal(strncmp(id, "console-in-", 11), 0);
	assert_int_equal(strlen(id), 11 + 24);
	assert_int_equal(strspn(id + 11, "0123456789abcdef"), 24);
}

struct inbound_case {
	const char *name;
	const char *body;
	enum channel want_channel;
	const char *want_from;
	const char *want_text;
	size_t want_text_len;
	const char *want_id;        /* NULL: a generated one */
};

#define TXT(s) s, sizeof(s) - 1

static const struct inbound_case inbound_cases[] = {
	{ "from and text", "{\"from\":\"+34600111222\",\"text\":\"9\"}", CHANNEL_ANY,
	  "+34600111222", TXT("9"), NULL },
	{ "UTF-8 text", "{\"from\":\"+34600111222\",\"text\":\"" UTF8_TEXT "\"}", CHANNEL_ANY,
	  "+34600111222", TXT(UTF8_TEXT), NULL },
	{ "escaped UTF-8 text", "{\"from\":\"+34600111222\",\"text\":\"\\u00bfQu\\u00e9\"}",
	  CHANNEL_ANY, "+34600111222", TXT("\xc2\xbfQu\xc3\xa9"), NULL },
	{ "empty text", "{\"from\":\"+34600111222\",\"text\":\"\"}", CHANNEL_ANY, "+34600111222",
	  TXT(""), NULL },
	{ "channel sms", "{\"from\":\"+34600111222\",\"text\":\"9\",\"channel\":\"sms\"}",
	  CHANNEL_SMS, "+34600111222", TXT("9"), NULL },
	{ "channel whatsapp", "{\"from\":\"+34600111222\",\"text\":\"9\",\"channel\":\"whatsapp\"}",
	  CHANNEL_WHATSAPP, "+34600111222", TXT("9"), NULL },
	{ "with an id", "{\"id\":\"abc-1\",\"from\":\"+34600111222\",\"text\":\"10 gracias\"}",
	  CHANNEL_ANY, "+34600111222", TXT("10 gracias"), "console-in-abc-1" },
	{ "unknown members ignored", "{\"from\":\"+14155552345\",\"text\":\"7\",\"note\":1}",
	  CHANNEL_ANY, "+14155552345", TXT("7"), NULL },
	{ "id of 115 characters",
	  "{\"from\":\"+34600111222\",\"text\":\"9\",\"id\":\""
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "012345678901234567890123456789012345678901234\"}",
	  CHANNEL_ANY, "+34600111222", TXT("9"),
	  "console-in-0123456789012345678901234567890123456789012345678901234567890123456789"
	  "012345678901234567890123456789012345678901234" },
};

static void test_inbound_table(void **state)
{
	struct provider *p = console_new();

	(void)state;
	assert_true(provider_has(p, PROVIDER_CAP_WEBHOOK_API_KEY));
	for (size_t i = 0; i < ARRAY_SIZE(inbound_cases); i++) {
		const struct inbound_case *t = &inbound_cases[i];
		const struct event *e;
		struct hook h;

		post_str(p, t->body, &h);
		if (h.rc != 0)
			fail_msg("%s: refused with %d %s (%s)", t->name, h.reply.status,
				 h.reply.err.code, h.reply.err.msg);
		EXPECT_INT(t->name, "reply status", h.reply.status, 200);
		EXPECT_INT(t->name, "events", h.ev.n, 1);
		e = &h.ev.items[0];
		EXPECT_INT(t->name, "type", e->type, EVENT_INBOUND);
		EXPECT_INT(t->name, "channel", e->channel, t->want_channel);
		EXPECT_STR(t->name, "from", e->from, t->want_from);
		EXPECT_INT(t->name, "text_len", e->text_len, t->want_text_len);
		assert_non_null(e->text);
		if (memcmp(e->text, t->want_text, t->want_text_len + 1) != 0)
			fail_msg("%s: text is \"%s\", want \"%s\"", t->name, e->text, t->want_text);
		if (t->want_id)
			EXPECT_STR(t->name, "provider_message_id", e->provider_message_id,
				   t->want_id);
		else
			expect_generated_id(e->provider_message_id);
		hook_release(&h);
	}
	provider_free(p);
}

/* Without an id, the same text twice is two messages: each gets its own id. */
static void test_generated_ids_are_unique(void **state)
{
	static const char body[] = "{\"from\":\"+34600111222\",\"text\":\"9\"}";
	char seen[64][PROVIDER_ID_LEN];
	struct provider *p = console_new();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(seen); i++) {
		struct hook h;

		post_str(p, body, &h);
		assert_int_equal(h.rc, 0);
		assert_int_equal(h.ev.n, 1);
		expect_generated_id(h.ev.items[0].provider_message_id);
		memcpy(seen[i], h.ev.items[0].provider_message_id, PROVIDER_ID_LEN);
		for (size_t j = 0; j < i; j++)
			if (strcmp(seen[i], seen[j]) == 0)
				fail_msg("post %zu got the id of post %zu: %s", i, j, seen[i]);
		hook_release(&h);
	}
	provider_free(p);
}

/* With an id, a client's retry maps to the same provider message id. */
static void test_client_id_is_stable_across_retries(void **state)
{
	static const char body[] = "{\"from\":\"+34600111222\",\"text\":\"9\",\"id\":\"r-77\"}";
	struct provider *p = console_new();
	struct hook a, b;

	(void)state;
	post_str(p, body, &a);
	post_str(p, body, &b);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_string_equal(a.ev.items[0].provider_message_id, "console-in-r-77");
	assert_string_equal(b.ev.items[0].provider_message_id, "console-in-r-77");
	hook_release(&a);
	hook_release(&b);
	provider_free(p);
}

struct error_case {
	const char *name;
	const char *body;           /* NULL: no body at all */
	int want_status;
	const char *want_code;
	const char *want_field;
};

#define ID116 "01234567890123456789012345678901234567890123456789" \
	      "01234567890123456789012345678901234567890123456789" "0123456789012345"

static const struct error_case error_cases[] = {
	{ "no body", NULL, 400, "invalid_json", "" },
	{ "empty body", "", 400, "invalid_json", "" },
	{ "form instead of JSON", "from=%2B34600111222&text=9", 400, "invalid_json", "" },
	{ "truncated JSON", "{\"from\":\"+34600111222\",\"text\":\"9\"", 400, "invalid_json", "" },
	{ "array", "[{\"from\":\"+34600111222\",\"text\":\"9\"}]", 400, "invalid_json", "" },
	{ "string", "\"9\"", 400, "invalid_json", "" },
	{ "duplicate member", "{\"from\":\"+34600111222\",\"from\":\"+34600111333\",\"text\":\"9\"}",
	  400, "invalid_json", "" },
	{ "missing from", "{\"text\":\"9\"}", 422, "invalid_phone", "from" },
	{ "from is a number", "{\"from\":34600111222,\"text\":\"9\"}", 422, "invalid_phone", "from" },
	{ "from without +", "{\"from\":\"34600111222\",\"text\":\"9\"}", 422, "invalid_phone",
	  "from" },
	{ "from with spaces", "{\"from\":\"+34 600 111 222\",\"text\":\"9\"}", 422, "invalid_phone",
	  "from" },
	{ "from empty", "{\"from\":\"\",\"text\":\"9\"}", 422, "invalid_phone", "from" },
	{ "from whatsapp: prefixed", "{\"from\":\"whatsapp:+34600111222\",\"text\":\"9\"}", 422,
	  "invalid_phone", "from" },
	{ "missing text", "{\"from\":\"+34600111222\"}", 422, "invalid_text", "text" },
	{ "text is a number", "{\"from\":\"+34600111222\",\"text\":9}", 422, "invalid_text",
	  "text" },
	{ "text is null", "{\"from\":\"+34600111222\",\"text\":null}", 422, "invalid_text", "text" },
	{ "text is an object", "{\"from\":\"+34600111222\",\"text\":{\"body\":\"9\"}}", 422,
	  "invalid_text", "text" },
	{ "unknown channel", "{\"from\":\"+34600111222\",\"text\":\"9\",\"channel\":\"telegram\"}",
	  422, "invalid_channel", "channel" },
	{ "channel in capitals", "{\"from\":\"+34600111222\",\"text\":\"9\",\"channel\":\"SMS\"}",
	  422, "invalid_channel", "channel" },
	{ "channel is a number", "{\"from\":\"+34600111222\",\"text\":\"9\",\"channel\":1}", 422,
	  "invalid_channel", "channel" },
	{ "empty id", "{\"from\":\"+34600111222\",\"text\":\"9\",\"id\":\"\"}", 422, "invalid_id",
	  "id" },
	{ "id only white space", "{\"from\":\"+34600111222\",\"text\":\"9\",\"id\":\" \\t \"}", 422,
	  "invalid_id", "id" },
	{ "id is a number", "{\"from\":\"+34600111222\",\"text\":\"9\",\"id\":42}", 422,
	  "invalid_id", "id" },
	{ "id of 116 characters", "{\"from\":\"+34600111222\",\"text\":\"9\",\"id\":\"" ID116 "\"}",
	  422, "invalid_id", "id" },
};

static void test_error_table(void **state)
{
	struct provider *p = console_new();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
		const struct error_case *t = &error_cases[i];
		struct hook h;

		post(p, t->body, t->body ? strlen(t->body) : 0, &h);
		EXPECT_INT(t->name, "rc", h.rc, -1);
		EXPECT_INT(t->name, "reply status", h.reply.status, t->want_status);
		EXPECT_INT(t->name, "err.http_status", h.reply.err.http_status, t->want_status);
		EXPECT_STR(t->name, "err.code", h.reply.err.code, t->want_code);
		EXPECT_STR(t->name, "err.field", h.reply.err.field, t->want_field);
		if (!h.reply.err.msg[0])
			fail_msg("%s: no human message", t->name);
		EXPECT_INT(t->name, "events left", h.ev.n, 0);
		hook_release(&h);
	}
	provider_free(p);
}

/* The whole body is read by its length: bytes after it are never looked at. */
static void test_body_read_by_length(void **state)
{
	static const char body[] = "{\"from\":\"+34600111222\",\"text\":\"9\"}garbage";
	struct provider *p = console_new();
	struct hook h;

	(void)state;
	post(p, body, sizeof(body) - 1 - strlen("garbage"), &h);
	assert_int_equal(h.rc, 0);
	assert_int_equal(h.ev.n, 1);
	assert_string_equal(h.ev.items[0].text, "9");
	hook_release(&h);
	provider_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deliver_table),
		cmocka_unit_test(test_inbound_table),
		cmocka_unit_test(test_generated_ids_are_unique),
		cmocka_unit_test(test_client_id_is_stable_across_retries),
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_body_read_by_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
