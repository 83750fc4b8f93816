/*
 * test_export.c - export.h as a specification: the CLI/HTTP filter (one row per input), the CSV a
 * spreadsheet user receives (byte for byte, over a real store in a fresh temp dir), the same bytes
 * whatever the read size, ISO 8601 UTC times, the category and ttr_seconds columns, a large data
 * set of hostile texts read back by a strict RFC 4180 reader, and the export verb and
 * GET /v1/responses.csv of the real binary (filters, errors, silence off a terminal, progress on
 * one).
 *
 * Environment: GATEWAY_BIN (default build/gateway) for the tests that run the binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pty.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "support/harness.h"
#include "support/unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define T0 1795305600           /* 2026-11-22T00:00:00Z */
#define DAY 86400
#define N_COLUMNS 16

#define X16 "xxxxxxxxxxxxxxxx"
#define X128 X16 X16 X16 X16 X16 X16 X16 X16

/* ---- export_args_parse ----------------------------------------------------------------------- */

struct filter_row {
	struct export_args in;
	const char *want_field;         /* NULL: accepted */
	const char *want_kind;          /* accepted rows: the filter built */
	int64_t want_since, want_until;
	const char *want_channel, *want_touchpoint, *want_agent;
};

#define OK(k, s, u, wk, ws, wu)  { { .kind = k, .since = s, .until = u }, NULL, wk, ws, wu, \
				   NULL, NULL, NULL }
#define BAD(k, s, u, field)      { { .kind = k, .since = s, .until = u }, field, NULL, 0, 0, \
				   NULL, NULL, NULL }
/* channel, touchpoint, agent in; what the filter holds, or the field refused */
#define OK3(c, t, a, wc, wt, wa) { { .channel = c, .touchpoint = t, .agent = a }, NULL, NULL, 0, 0, \
				   wc, wt, wa }
#define BAD3(c, t, a, field)     { { .channel = c, .touchpoint = t, .agent = a }, field, NULL, 0, 0, \
				   NULL, NULL, NULL }

static const struct filter_row filter_rows[] = {
	OK(NULL, NULL, NULL, NULL, 0, 0),
	/* kinds */
	OK("nps", NULL, NULL, "nps", 0, 0),
	OK("ces", NULL, NULL, "ces", 0, 0),
	OK("csat", NULL, NULL, "csat", 0, 0),
	BAD("", NULL, NULL, "kind"),
	BAD("NPS", NULL, NULL, "kind"),
	BAD("nps ", NULL, NULL, "kind"),
	BAD("csat,nps", NULL, NULL, "kind"),
	BAD("xyz", "2026-11-22", NULL, "kind"),
	/* since: that day's midnight UTC */
	OK(NULL, "2026-11-22", NULL, NULL, T0, 0),
	OK(NULL, "2024-02-29", NULL, NULL, 1709164800, 0),     /* a leap day */
	OK(NULL, "2026-12-31", NULL, NULL, 1798675200, 0),
	/* until: the whole day is included, so the bound is the next midnight */
	OK(NULL, NULL, "2026-11-22", NULL, 0, T0 + DAY),
	OK(NULL, NULL, "2026-12-31", NULL, 0, 1798761600),
	OK(NULL, NULL, "2026-02-28", NULL, 0, 1772323200),
	OK("ces", "2026-11-22", "2026-11-22", "ces", T0, T0 + DAY),   /* one whole day */
	OK(NULL, "2026-11-01", "2026-11-22", NULL, 1793491200, T0 + DAY),
	/* until before since */
	BAD(NULL, "2026-11-23", "2026-11-22", "until"),
	BAD(NULL, "2026-12-01", "2026-11-01", "until"),
	/* days that do not exist */
	BAD(NULL, "2026-02-30", NULL, "since"),
	BAD(NULL, NULL, "2026-02-30", "until"),
	BAD(NULL, "2026-02-29", NULL, "since"),
	BAD(NULL, "2026-04-31", NULL, "since"),
	BAD(NULL, "2026-13-01", NULL, "since"),
	BAD(NULL, NULL, "2026-13-01", "until"),
	BAD(NULL, "2026-00-10", NULL, "since"),
	BAD(NULL, "2026-01-00", NULL, "since"),
	BAD(NULL, "2026-01-32", NULL, "since"),
	/* not YYYY-MM-DD */
	BAD(NULL, "2026-1-1", NULL, "since"),
	BAD(NULL, NULL, "2026-1-1", "until"),
	BAD(NULL, "2026-11-1", NULL, "since"),
	BAD(NULL, "", NULL, "since"),
	BAD(NULL, "yesterday", NULL, "since"),
	BAD(NULL, "22-11-2026", NULL, "since"),
	BAD(NULL, "2026/11/22", NULL, "since"),
	BAD(NULL, "2026-11-22T00:00:00Z", NULL, "since"),
	BAD(NULL, "2026-11-22 ", NULL, "since"),
	BAD(NULL, "2026-11-2x", NULL, "since"),
	BAD(NULL, "20261-11-22", NULL, "since"),
	/* channels: the two the gateway sends on, spelled as POST /v1/surveys spells them */
	OK3("sms", NULL, NULL, "sms", NULL, NULL),
	OK3("whatsapp", NULL, NULL, "whatsapp", NULL, NULL),
	BAD3("", NULL, NULL, "channel"),
	BAD3("SMS", NULL, NULL, "channel"),
	BAD3("sms ", NULL, NULL, "channel"),
	BAD3("sms,whatsapp", NULL, NULL, "channel"),
	BAD3("email", NULL, NULL, "channel"),
	BAD3("twilio", NULL, NULL, "channel"),
	/* touchpoint and agent: exact matches, kept as given (spaces, case, UTF-8, formula starters) */
	OK3(NULL, "support_chat", NULL, NULL, "support_chat", NULL),
	OK3(NULL, " Shop ", NULL, NULL, " Shop ", NULL),
	OK3(NULL, "tienda-\xc3\xb1", NULL, NULL, "tienda-\xc3\xb1", NULL),
	OK3(NULL, "=x", "-1", NULL, "=x", "-1"),
	OK3(NULL, NULL, "agent-7", NULL, NULL, "agent-7"),
	OK3(NULL, X128, X128, NULL, X128, X128),                        /* the longest stored */
	OK3("whatsapp", "shop", "agent-1", "whatsapp", "shop", "agent-1"),
	BAD3(NULL, "", NULL, "touchpoint"),
	BAD3(NULL, X128 "x", NULL, "touchpoint"),
	BAD3(NULL, "a\tb", NULL, "touchpoint"),
	BAD3(NULL, "line\n", NULL, "touchpoint"),
	BAD3(NULL, "\x01", NULL, "touchpoint"),         /* the server's mark for a %00 value */
	BAD3(NULL, "del\x7f", NULL, "touchpoint"),
	BAD3(NULL, NULL, "", "agent"),
	BAD3(NULL, NULL, X128 "x", "agent"),
	BAD3(NULL, NULL, "\x01", "agent"),
	BAD3(NULL, NULL, "a\rb", "agent"),
	BAD3("fax", "shop", "agent-1", "channel"),
};

/* Ten characters with the dashes in place, but a sign or a space where a digit belongs. */
static const struct filter_row non_digit_rows[] = {
	BAD(NULL, "2026-+1-01", NULL, "since"),
	BAD(NULL, "2026-01- 1", NULL, "since"),
	BAD(NULL, "2026-01-+1", NULL, "since"),
	BAD(NULL, NULL, "2026- 1-01", "until"),
	BAD(NULL, NULL, "2026-01-+1", "until"),
};

static int same_opt(const char *got, const char *want)
{
	return want ? got && strcmp(got, want) == 0 : !got;
}

static const char *opt(const char *s)
{
	return s ? s : "-";
}

/* Runs filter rows; prints every row that differs and returns how many did. */
static int run_filter_rows(const struct filter_row *rows, size_t n)
{
	int failures = 0;

	for (size_t i = 0; i < n; i++) {
		const struct filter_row *r = &rows[i];
		struct gw_err err = { 0 };
		struct export_filter f;
		int rc = export_args_parse(&r->in, &f, &err);
		int ok;

		if (r->want_field)
			ok = rc == -1 && strcmp(err.field, r->want_field) == 0 &&
			     err.http_status == 422 && err.msg[0] != '\0' &&
			     strncmp(err.code, "invalid_", 8) == 0;
		else
			ok = rc == 0 && f.since == r->want_since && f.until == r->want_until &&
			     same_opt(f.kind, r->want_kind) && same_opt(f.channel, r->want_channel) &&
			     same_opt(f.touchpoint, r->want_touchpoint) &&
			     same_opt(f.agent, r->want_agent);
		if (!ok) {
			print_message("row %zu (kind %s, channel %s, touchpoint %s, agent %s, since %s, "
				      "until %s): rc %d field \"%s\" status %d; want %s\n", i,
				      opt(r->in.kind), opt(r->in.channel), opt(r->in.touchpoint),
				      opt(r->in.agent), opt(r->in.since), opt(r->in.until), rc,
				      rc ? err.field : "", err.http_status,
				      r->want_field ? r->want_field : "accepted");
			failures++;
		}
	}
	return failures;
}

static void test_filter_parse(void **state)
{
	(void)state;
	assert_int_equal(run_filter_rows(filter_rows, ARRAY_LEN(filter_rows)), 0);
}

static void test_filter_parse_rejects_non_digits(void **state)
{
	(void)state;
	assert_int_equal(run_filter_rows(non_digit_rows, ARRAY_LEN(non_digit_rows)), 0);
}

/* The messages name the field and show the expected form; the codes name the field's kind. */
static void test_filter_parse_messages(void **state)
{
	static const struct {
		struct export_args in;
		const char *code, *msg_part;
	} rows[] = {
		{ { .kind = "xyz" }, "invalid_kind", "nps" },
		{ { .since = "2026-1-1" }, "invalid_date", "YYYY-MM-DD" },
		{ { .since = "2026-11-23", .until = "2026-11-22" }, "invalid_date", "before" },
		{ { .channel = "fax" }, "invalid_channel", "sms or whatsapp" },
		{ { .touchpoint = "" }, "invalid_touchpoint", "1 to 128 bytes" },
		{ { .agent = X128 "x" }, "invalid_agent", "1 to 128 bytes" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct export_filter f;
		struct gw_err err = { 0 };

		assert_int_equal(export_args_parse(&rows[i].in, &f, &err), -1);
		assert_string_equal(err.code, rows[i].code);
		if (!strstr(err.msg, rows[i].msg_part))
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, err.msg, rows[i].msg_part);
	}
}

/* The three-argument form reports share reads kind, since and until by the same rules. */
static void test_filter_parse_three_arguments(void **state)
{
	struct export_filter f;
	struct gw_err err = { 0 };

	(void)state;
	assert_int_equal(export_filter_parse("csat", "2026-11-22", "2026-11-22", &f, &err), 0);
	assert_string_equal(f.kind, "csat");
	assert_int_equal(f.since, T0);
	assert_int_equal(f.until, T0 + DAY);
	assert_null(f.channel);
	assert_null(f.touchpoint);
	assert_null(f.agent);
	assert_int_equal(export_filter_parse(NULL, "2026-02-30", NULL, &f, &err), -1);
	assert_string_equal(err.field, "since");
}

/* ---- iso8601_utc ---------------------------------------------------------------------------- */

static const struct {
	int64_t t;
	const char *want;
} iso_rows[] = {
	{ 0, "" },                                      /* unset */
	{ -1, "" },
	{ 1, "1970-01-01T00:00:01Z" },
	{ T0, "2026-11-22T00:00:00Z" },
	{ T0 + 750, "2026-11-22T00:12:30Z" },
	{ 1795428750, "2026-11-23T10:12:30Z" },
	{ 1767225599, "2025-12-31T23:59:59Z" },
	{ 1767225600, "2026-01-01T00:00:00Z" },
	{ 951782400, "2000-02-29T00:00:00Z" },
	{ 1709164800, "2024-02-29T00:00:00Z" },
	{ 2147483648LL, "2038-01-19T03:14:08Z" },     /* past 32-bit time_t */
	{ 253402300799LL, "9999-12-31T23:59:59Z" },
	{ 253402300800LL, "10000-01-01T00:00:00Z" },  /* past four digits */
};

static void test_iso8601_utc(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(iso_rows); i++) {
		char out[32];

		memset(out, 'x', sizeof(out));
		iso8601_utc(iso_rows[i].t, out);
		if (strcmp(out, iso_rows[i].want) != 0)
			print_message("row %zu (%lld): \"%s\", want \"%s\"\n", i,
				      (long long)iso_rows[i].t, out, iso_rows[i].want);
		assert_string_equal(out, iso_rows[i].want);
	}
}

/* ---- a store with a few answered surveys ------------------------------------------------------ */

static int fx_open(void **state)
{
	return temp_store_setup(state, "test_export", "gateway.db", 1);
}

static int fx_free(void **state)
{
	return temp_store_teardown(state);
}

/* One survey of the fixture and what becomes of it. */
struct seed {
	const char *id, *customer_id, *phone, *name, *locale, *kind, *channel;
	const char *interaction_id, *touchpoint, *agent;
	int64_t send_after;
	int accepted;           /* the provider's acceptance is recorded (sent_at = send_after + 1) */
	int64_t answered_at;    /* 0: never answered */
	int score;
	const char *comment;
	const char *opened_at, *closed_at;
};

static const struct seed seeds[] = {
	{ "e-1", "=HYPERLINK(\"http://x\",\"y\")", "+34600111222", "Ana", "es", "nps", "sms",
	  "chat-981", "support_chat", "agent-7", T0, 1, T0 + 750, 9,
	  "muy amables, \"de verdad\"\nvolveré", "2026-11-22T10:00:00Z", "2026-11-22T10:12:30Z" },
	{ "e-2", "cust-2", "+5511988887777", "João", "pt", "ces", "whatsapp",
	  "i-2", "-x", "@x", T0 + 60, 1, T0 + 700, 6, "+1", "2026-11-22T09:00:00Z", NULL },
	/* answered while its message was still `sending`: no sent_at; optional fields left out */
	{ "e-3", "cust-3", "+34600000003", NULL, "es", "csat", "sms",
	  "i-3", NULL, NULL, T0 + 120, 0, T0 + 900, 5, NULL, NULL, NULL },
	/* sent, never answered: not exported */
	{ "e-4", "cust-4", "+34600000004", "Dan", "en", "nps", "sms",
	  "i-4", "shop", "agent-1", T0 + 180, 1, 0, 0, NULL, NULL, NULL },
};

/* In answer order: e-2, e-1, e-3. */
#define ROW_E2 "e-2,cust-2,+5511988887777,whatsapp,ces,6,'+1,i-2,'-x,'@x," \
	       "2026-11-22T00:01:01Z,2026-11-22T00:11:40Z,Jo\xc3\xa3o,pt,easy,\r\n"
#define ROW_E1 "e-1,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",+34600111222,sms,nps,9," \
	       "\"muy amables, \"\"de verdad\"\"\nvolver\xc3\xa9\",chat-981,support_chat,agent-7," \
	       "2026-11-22T00:00:01Z,2026-11-22T00:12:30Z,Ana,es,promoter,750\r\n"
#define ROW_E3 "e-3,cust-3,+34600000003,sms,csat,5,,i-3,,,,2026-11-22T00:15:00Z,,es,satisfied,\r\n"

static void decide_answer(void *ctx, const struct inbound_view *v, struct inbound_decision *out)
{
	const struct seed *e = ctx;

	memset(out, 0, sizeof(*out));
	if (!v->survey)
		return;
	out->action = INBOUND_ANSWER;
	out->score = e->score;
	out->comment = e->comment;
	out->comment_len = e->comment ? strlen(e->comment) : 0;
}

/* Creates, sends and (when e->answered_at) answers one survey through the store's own API. */
static void seed_one(struct store *st, const struct seed *e)
{
	struct gw_err err = { 0 };
	struct survey_new sn = {
		.id = e->id, .customer_id = e->customer_id, .phone = e->phone,
		.name = e->name, .locale = e->locale, .kind = e->kind, .channel = e->channel,
		.provider = "twilio", .interaction_id = e->interaction_id,
		.touchpoint = e->touchpoint, .agent = e->agent,
		.opened_at = e->opened_at, .closed_at = e->closed_at,
		.now = e->send_after, .send_after = e->send_after,
		.expires_at = e->send_after + 2 * DAY, .question = "¿Del 0 al 10?",
	};
	char id[SURVEY_ID_LEN], pid[32];
	struct outbox_item it;
	int created = 0;
	size_t n = 0;

	if (store_create_survey(st, &sn, id, &created, &err) < 0)
		fail_msg("%s: %s", e->id, err.msg);
	assert_int_equal(created, 1);
	assert_int_equal(store_claim_due(st, e->send_after, "twilio", &it, 1, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it.survey_id, e->id);
	snprintf(pid, sizeof(pid), "SM-%s", e->id);
	if (e->accepted)
		assert_int_equal(store_send_accepted(st, it.message_id, pid, e->send_after + 1,
						     &err), 0);
	outbox_item_release(&it);
}

static void answer_one(struct store *st, const struct seed *e)
{
	struct gw_err err = { 0 };
	char pid[32];
	struct inbound_in in = {
		.provider = "twilio", .provider_message_id = pid, .from = e->phone,
		.text = "reply", .text_len = 5, .now = e->answered_at,
	};
	struct inbound_result res;

	snprintf(pid, sizeof(pid), "SM-in-%s", e->id);
	assert_int_equal(store_record_inbound(st, &in, decide_answer, (void *)e, &res, &err), 0);
	assert_int_equal(res.matched, 1);
	assert_string_equal(res.survey_id, e->id);
}

static void seed_store(struct store *st)
{
	for (size_t i = 0; i < ARRAY_LEN(seeds); i++)
		seed_one(st, &seeds[i]);
	for (size_t i = 0; i < ARRAY_LEN(seeds); i++)
		if (seeds[i].answered_at)
			answer_one(st, &seeds[i]);
}

/* Reads a whole export `chunk` bytes at a time into a malloc'd string; *len gets its length.
 * Checks that the end is sticky (0, then 0 again). */
static char *read_all(struct store *st, const struct export_filter *filter, size_t chunk,
		      size_t *len)
{
	struct gw_err err = { 0 };
	struct csv_export *x = csv_export_open(st, filter, &err);
	size_t cap = 1 << 16;
	char *out = malloc(cap);
	ssize_t n;

	if (!x)
		print_message("csv_export_open: %s\n", err.msg);
	assert_non_null(x);
	assert_non_null(out);
	*len = 0;
	for (;;) {
		if (*len + chunk + 1 > cap) {
			cap *= 2;
			assert_non_null(out = realloc(out, cap));
		}
		if ((n = csv_export_read(x, out + *len, chunk)) <= 0)
			break;
		assert_true((size_t)n <= chunk);
		*len += (size_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(csv_export_read(x, out + *len, chunk), 0);
	csv_export_close(x);
	out[*len] = '\0';
	return out;
}

static void assert_csv(const char *got, size_t got_len, const char *want)
{
	if (got_len != strlen(want) || memcmp(got, want, got_len) != 0)
		print_message("got:\n%.*s\nwant:\n%s\n", (int)got_len, got, want);
	assert_int_equal(got_len, strlen(want));
	assert_memory_equal(got, want, got_len);
}

static void test_csv_empty_store_is_header_only(void **state)
{
	struct temp_store *f = *state;
	struct export_filter all = { 0 };
	size_t len;
	char *csv = read_all(f->st, &all, 4096, &len);

	assert_csv(csv, len, EXPORT_HEADER "\r\n");
	free(csv);
}

/* The contract's twelve columns first, in order, then name and locale as before, then the two
 * added ones: each named once. */
static void test_csv_header_columns(void **state)
{
	(void)state;
	assert_string_equal(EXPORT_HEADER, "survey_id,customer_id,phone,channel,kind,score,comment,"
			    "interaction_id,touchpoint,agent,sent_at,answered_at,name,locale,"
			    "category,ttr_seconds");
}

static void test_csv_header_and_rows(void **state)
{
	static const char want[] = EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3;
	struct temp_store *f = *state;
	struct export_filter all = { 0 };
	size_t len;
	char *csv;

	seed_store(f->st);
	csv = read_all(f->st, &all, 4096, &len);
	assert_csv(csv, len, want);
	free(csv);
}

/* The same rules, one cell at a time, in the rows above:
 *  - a comment with a comma, a quote and a newline is quoted, quotes doubled, the newline kept;
 *  - free-text cells starting with = + - @ get a leading ' (inside the quotes when quoted);
 *  - the phone is never touched, though it starts with '+';
 *  - times are ISO 8601 UTC, empty when unknown; rows end with CRLF. */
static void test_csv_cells(void **state)
{
	struct temp_store *f = *state;
	struct export_filter all = { 0 };
	size_t len;
	char *csv;

	size_t bare_lf = 0, crlf = 0;

	seed_store(f->st);
	csv = read_all(f->st, &all, 4096, &len);
	assert_non_null(strstr(csv, ",\"muy amables, \"\"de verdad\"\"\nvolver\xc3\xa9\","));
	assert_non_null(strstr(csv, "\r\ne-1,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","));
	assert_non_null(strstr(csv, ",'+1,"));
	assert_non_null(strstr(csv, ",'-x,'@x,"));
	assert_non_null(strstr(csv, ",+34600111222,"));
	assert_non_null(strstr(csv, ",+5511988887777,"));
	assert_null(strstr(csv, "'+34"));
	assert_null(strstr(csv, "'+55"));
	assert_non_null(strstr(csv, ",2026-11-22T00:00:01Z,2026-11-22T00:12:30Z,"));
	assert_non_null(strstr(csv, ",,2026-11-22T00:15:00Z,"));        /* e-3: never sent */
	/* header and three rows end in CRLF; the one bare LF is the comment's own */
	for (size_t i = 0; i < len; i++) {
		if (csv[i] == '\n' && i > 0 && csv[i - 1] == '\r')
			crlf++;
		else if (csv[i] == '\n')
			bare_lf++;
	}
	assert_int_equal(crlf, 4);
	assert_int_equal(bare_lf, 1);
	assert_memory_equal(csv + len - 2, "\r\n", 2);
	free(csv);
}

static const struct {
	struct export_args in;
	const char *want;
} csv_filter_rows[] = {
	{ { 0 }, EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3 },
	{ { .kind = "nps" }, EXPORT_HEADER "\r\n" ROW_E1 },
	{ { .kind = "ces", .since = "2026-11-22", .until = "2026-11-22" },
	  EXPORT_HEADER "\r\n" ROW_E2 },
	{ { .since = "2026-11-23" }, EXPORT_HEADER "\r\n" },
	{ { .until = "2026-11-21" }, EXPORT_HEADER "\r\n" },
	{ { .since = "2026-11-22", .until = "2026-11-22" }, EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3 },
	/* channel */
	{ { .channel = "sms" }, EXPORT_HEADER "\r\n" ROW_E1 ROW_E3 },
	{ { .channel = "whatsapp" }, EXPORT_HEADER "\r\n" ROW_E2 },
	{ { .channel = "sms", .kind = "csat" }, EXPORT_HEADER "\r\n" ROW_E3 },
	{ { .channel = "whatsapp", .kind = "nps" }, EXPORT_HEADER "\r\n" },
	/* touchpoint: the stored value, exactly (not the guarded cell, no prefix, case counts) */
	{ { .touchpoint = "support_chat" }, EXPORT_HEADER "\r\n" ROW_E1 },
	{ { .touchpoint = "-x" }, EXPORT_HEADER "\r\n" ROW_E2 },
	{ { .touchpoint = "'-x" }, EXPORT_HEADER "\r\n" },
	{ { .touchpoint = "support" }, EXPORT_HEADER "\r\n" },
	{ { .touchpoint = "SUPPORT_CHAT" }, EXPORT_HEADER "\r\n" },
	{ { .touchpoint = "shop" }, EXPORT_HEADER "\r\n" },      /* e-4 was never answered */
	/* agent */
	{ { .agent = "agent-7" }, EXPORT_HEADER "\r\n" ROW_E1 },
	{ { .agent = "@x" }, EXPORT_HEADER "\r\n" ROW_E2 },
	{ { .agent = "agent-7", .channel = "whatsapp" }, EXPORT_HEADER "\r\n" },
	{ { .agent = "agent-7", .touchpoint = "support_chat", .channel = "sms", .kind = "nps",
	    .since = "2026-11-22", .until = "2026-11-22" }, EXPORT_HEADER "\r\n" ROW_E1 },
	{ { .agent = "agent-7", .since = "2026-11-23" }, EXPORT_HEADER "\r\n" },
};

static void test_csv_filters(void **state)
{
	struct temp_store *f = *state;

	seed_store(f->st);
	for (size_t i = 0; i < ARRAY_LEN(csv_filter_rows); i++) {
		struct export_filter filter;
		struct gw_err err = { 0 };
		size_t len;
		char *csv;

		assert_int_equal(export_args_parse(&csv_filter_rows[i].in, &filter, &err), 0);
		csv = read_all(f->st, &filter, 4096, &len);
		if (len != strlen(csv_filter_rows[i].want) ||
		    memcmp(csv, csv_filter_rows[i].want, len) != 0)
			print_message("row %zu\n", i);
		assert_csv(csv, len, csv_filter_rows[i].want);
		free(csv);
	}
}

static void test_csv_tiny_reads_give_the_same_bytes(void **state)
{
	static const size_t chunks[] = { 1, 2, 7, 13, 64, 300, 100000 };
	struct temp_store *f = *state;
	struct export_filter all = { 0 };
	size_t whole_len;
	char *whole;

	seed_store(f->st);
	whole = read_all(f->st, &all, 1 << 15, &whole_len);
	assert_true(whole_len > strlen(EXPORT_HEADER) + 100);
	for (size_t i = 0; i < ARRAY_LEN(chunks); i++) {
		size_t len;
		char *csv = read_all(f->st, &all, chunks[i], &len);

		if (len != whole_len || memcmp(csv, whole, len) != 0)
			print_message("chunk %zu differs\n", chunks[i]);
		assert_int_equal(len, whole_len);
		assert_memory_equal(csv, whole, len);
		free(csv);
	}
	free(whole);
}

/* A read fills the caller's buffer with as many records as fit (an HTTP block carries many). */
static void test_csv_read_fills_the_buffer(void **state)
{
	struct temp_store *f = *state;
	struct export_filter all = { 0 };
	struct gw_err err = { 0 };
	struct csv_export *x;
	char out[8192];

	seed_store(f->st);
	assert_non_null(x = csv_export_open(f->st, &all, &err));
	assert_int_equal(csv_export_read(x, out, sizeof(out)),
			 strlen(EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3));
	assert_int_equal(csv_export_rows(x), 3);
	assert_int_equal(csv_export_read(x, out, sizeof(out)), 0);
	csv_export_close(x);
}

/* ---- a strict RFC 4180 reader ------------------------------------------------------------------ */

/*
 * The reader a picky consumer would be: records end with CRLF (the exporter's terminator, the
 * last record's included); a cell is either quoted, with quotes doubled inside and anything
 * else (commas, CR, LF) taken as it is, or bare, with no quote, CR or LF in it; a closing quote
 * is followed by a separator or the terminator.  Cells go to cells[] as NUL-terminated strings
 * inside `scratch`.
 */
struct csv_reader {
	const char *p, *end;
	char *scratch;
	size_t scratch_cap;
	const char *why;                /* the first violation */
};

/* The next record: its number of cells, 0 at the end of the input, -1 on a violation. */
static int reader_next(struct csv_reader *r, char **cells, int max_cells)
{
	size_t used = 0;
	int n = 0;

	if (r->p == r->end)
		return 0;
	for (;;) {
		char *cell = r->scratch + used;

		if (n == max_cells)
			return r->why = "too many cells", -1;
		if (r->p < r->end && *r->p == '"') {
			r->p++;
			for (;;) {
				if (r->p == r->end)
					return r->why = "unterminated quoted cell", -1;
				if (*r->p == '"') {
					if (r->p + 1 < r->end && r->p[1] == '"') {
						r->p += 2;
						r->scratch[used++] = '"';
						continue;
					}
					r->p++;
					break;
				}
				r->scratch[used++] = *r->p++;
				if (used + 1 >= r->scratch_cap)
					return r->why = "cell too long", -1;
			}
			if (r->p < r->end && *r->p != ',' && *r->p != '\r')
				return r->why = "text after a closing quote", -1;
		} else {
			while (r->p < r->end && *r->p != ',' && *r->p != '\r') {
				if (*r->p == '"')
					return r->why = "quote inside a bare cell", -1;
				if (*r->p == '\n')
					return r->why = "LF without CR", -1;
				r->scratch[used++] = *r->p++;
				if (used + 1 >= r->scratch_cap)
					return r->why = "cell too long", -1;
			}
		}
		r->scratch[used++] = '\0';
		cells[n++] = cell;
		if (r->p == r->end)
			return r->why = "last record not ended by CRLF", -1;
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p + 1 >= r->end || r->p[1] != '\n')
			return r->why = "CR without LF", -1;
		r->p += 2;
		return n;
	}
}

/* Reads all of `csv`, requiring `columns` cells in every record; the number of records, or -1
 * with *why set. */
static long reader_count(const char *csv, size_t len, int columns, const char **why)
{
	char scratch[256], *cells[32];
	struct csv_reader r = { csv, csv + len, scratch, sizeof(scratch), NULL };
	long records = 0;
	int n;

	while ((n = reader_next(&r, cells, 32)) > 0) {
		if (n != columns) {
			*why = "wrong number of cells";
			return -1;
		}
		records++;
	}
	*why = r.why;
	return n < 0 ? -1 : records;
}

/* The reader refuses what a sloppy writer would produce, so a pass below means something. */
static void test_strict_reader(void **state)
{
	static const struct {
		const char *in;
		long want;              /* records, or -1 */
	} rows[] = {
		{ "", 0 },
		{ "a,b\r\n", 1 },
		{ "a,b\r\n\"x,\"\"y\"\"\r\nz\",\r\n", 2 },
		{ "\"\",\r\n", 1 },
		{ "a,b", -1 },                          /* no final CRLF */
		{ "a,b\n", -1 },                        /* LF alone */
		{ "a,b\r", -1 },
		{ "a,b\rc\r\n", -1 },                   /* CR alone inside a bare cell */
		{ "a,b\"c\r\n", -1 },                   /* quote inside a bare cell */
		{ "a,\"b\"c\r\n", -1 },                 /* text after the closing quote */
		{ "a,\"b\r\n", -1 },                    /* never closed */
		{ "a,b,c\r\n", -1 },                    /* three cells, two expected */
		{ "a\r\n", -1 },
		{ "a,b\r\nc,d\r\ne\r\n", -1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const char *why = NULL;
		long got = reader_count(rows[i].in, strlen(rows[i].in), 2, &why);

		if (got != rows[i].want)
			fail_msg("row %zu: %ld records (%s), want %ld", i, got, why ? why : "-",
				 rows[i].want);
	}
}

/* Column index by name in EXPORT_HEADER. */
static int column(const char *name)
{
	static const char hdr[] = EXPORT_HEADER "\r\n";
	char scratch[512], *cells[32];
	struct csv_reader r = { hdr, hdr + strlen(hdr), scratch, sizeof(scratch), NULL };
	int n = reader_next(&r, cells, 32);

	for (int i = 0; i < n; i++)
		if (strcmp(cells[i], name) == 0)
			return i;
	fail_msg("no column %s", name);
	return -1;
}

/* ---- category and ttr_seconds ------------------------------------------------------------------ */

struct derived_row {
	const char *kind;
	int score;
	const char *opened_at, *closed_at;
	const char *want_category, *want_ttr;
};

static const struct derived_row derived_rows[] = {
	/* NPS: detractor 0-6, passive 7-8, promoter 9-10 */
	{ "nps", 0, NULL, NULL, "detractor", "" },
	{ "nps", 6, NULL, NULL, "detractor", "" },
	{ "nps", 7, NULL, NULL, "passive", "" },
	{ "nps", 8, NULL, NULL, "passive", "" },
	{ "nps", 9, NULL, NULL, "promoter", "" },
	{ "nps", 10, NULL, NULL, "promoter", "" },
	{ "nps", 11, NULL, NULL, "", "" },              /* off the scale: no category */
	/* CES: difficult 1-3, neutral 4, easy 5-7 */
	{ "ces", 1, NULL, NULL, "difficult", "" },
	{ "ces", 3, NULL, NULL, "difficult", "" },
	{ "ces", 4, NULL, NULL, "neutral", "" },
	{ "ces", 5, NULL, NULL, "easy", "" },
	{ "ces", 7, NULL, NULL, "easy", "" },
	{ "ces", 0, NULL, NULL, "", "" },
	/* CSAT: dissatisfied 1-2, neutral 3, satisfied 4-5 */
	{ "csat", 1, NULL, NULL, "dissatisfied", "" },
	{ "csat", 2, NULL, NULL, "dissatisfied", "" },
	{ "csat", 3, NULL, NULL, "neutral", "" },
	{ "csat", 4, NULL, NULL, "satisfied", "" },
	{ "csat", 5, NULL, NULL, "satisfied", "" },
	{ "csat", 6, NULL, NULL, "", "" },
	/* ttr_seconds: closed_at - opened_at, whole seconds; empty when it cannot be known */
	{ "nps", 9, "2026-11-22T10:00:00Z", "2026-11-22T10:12:30Z", "promoter", "750" },
	{ "nps", 9, "2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z", "promoter", "0" },
	{ "nps", 9, "2026-11-21T23:59:59Z", "2026-11-23T00:00:00Z", "promoter", "86401" },
	{ "nps", 9, "2026-11-22T10:00:00.900Z", "2026-11-22T10:00:01.100Z", "promoter", "1" },
	{ "nps", 9, "2026-11-22T10:12:30Z", "2026-11-22T10:00:00Z", "promoter", "" },
	{ "nps", 9, "2026-11-22T10:00:00Z", NULL, "promoter", "" },
	{ "nps", 9, NULL, "2026-11-22T10:12:30Z", "promoter", "" },
};

static void test_csv_category_and_ttr(void **state)
{
	struct temp_store *f = *state;
	struct export_filter all = { 0 };
	char scratch[4096], *cells[32];
	const int c_cat = column("category"), c_ttr = column("ttr_seconds"), c_id = column("survey_id");
	size_t len;
	char *csv;
	struct csv_reader r;

	for (size_t i = 0; i < ARRAY_LEN(derived_rows); i++) {
		const struct derived_row *d = &derived_rows[i];
		char id[32], phone[32], inter[32];
		struct seed e = {
			.id = id, .customer_id = "cust-d", .phone = phone, .locale = "es",
			.kind = d->kind, .channel = "sms", .interaction_id = inter,
			.send_after = T0 + (int64_t)i, .accepted = 1,
			.answered_at = T0 + 1000 + (int64_t)i, .score = d->score,
			.opened_at = d->opened_at, .closed_at = d->closed_at,
		};

		snprintf(id, sizeof(id), "d-%02zu", i);
		snprintf(phone, sizeof(phone), "+346000000%02zu", i);
		snprintf(inter, sizeof(inter), "int-%02zu", i);
		seed_one(f->st, &e);
		answer_one(f->st, &e);
	}
	csv = read_all(f->st, &all, 4096, &len);
	r = (struct csv_reader){ csv, csv + len, scratch, sizeof(scratch), NULL };
	assert_int_equal(reader_next(&r, cells, 32), N_COLUMNS);
	for (size_t i = 0; i < ARRAY_LEN(derived_rows); i++) {
		const struct derived_row *d = &derived_rows[i];
		int n = reader_next(&r, cells, 32);
		char id[32];

		if (n != N_COLUMNS)
			fail_msg("record %zu: %d cells (%s)", i, n, r.why ? r.why : "-");
		snprintf(id, sizeof(id), "d-%02zu", i);
		assert_string_equal(cells[c_id], id);
		if (strcmp(cells[c_cat], d->want_category) != 0 || strcmp(cells[c_ttr], d->want_ttr) != 0)
			fail_msg("row %zu (%s %d, %s .. %s): category \"%s\" ttr \"%s\", want \"%s\" \"%s\"",
				 i, d->kind, d->score, opt(d->opened_at), opt(d->closed_at), cells[c_cat],
				 cells[c_ttr], d->want_category, d->want_ttr);
	}
	assert_int_equal(reader_next(&r, cells, 32), 0);
	free(csv);
}

/* ---- a large data set, read back strictly -------------------------------------------------------- */

#define BIG_ROWS 30000

/* Texts a customer, a helpdesk or an agent might send: separators, quotes, CR and LF in every
 * position, formula starters, multi-byte UTF-8, empty. */
static const char *const big_texts[] = {
	"", "plain", "comma, inside", "\"quoted\"", "a \"b\" c", "line1\nline2", "crlf\r\nnext",
	"cr\ronly", "trailing,", ",leading", "=SUM(A1:A9)", "+34 600", "-minus", "@at", "\ttab",
	"\rcr first", "\ncr lf first", "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x8e\x89",
	"\"\"", "\"", "'already", " spaced ", "x\"\r\n\"y,", "\xc3\xb1,\xc3\xb1\r\n",
};
static const char *const big_id_prefixes[] = { "cust-", "=cmd|", "+", "-", "@", "a,b-", "q\"",
					       "\t" };

struct big_row {
	char survey_id[16], customer_id[32], phone[16], interaction_id[16];
	const char *kind, *channel, *locale, *touchpoint, *agent, *name;
	int score;
	char comment[2048];
	int64_t sent_at, answered_at;
	char opened_at[24], closed_at[24];
	long ttr;                       /* -1: none */
};

static void utc(int64_t t, char out[24])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Row i of the data set, the same every time it is asked for. */
static void big_row(int i, struct big_row *b)
{
	static const char *const kinds[] = { "nps", "ces", "csat" };
	static const int lo[] = { 0, 1, 1 }, span[] = { 11, 7, 5 };
	static const char *const locales[] = { "es", "pt", "en" };
	const size_t nt = ARRAY_LEN(big_texts);
	int64_t opened = T0 + 36000 + i;

	memset(b, 0, sizeof(*b));
	snprintf(b->survey_id, sizeof(b->survey_id), "big-%06d", i);
	snprintf(b->customer_id, sizeof(b->customer_id), "%s%d",
		 big_id_prefixes[i % ARRAY_LEN(big_id_prefixes)], i);
	snprintf(b->phone, sizeof(b->phone), "+34%09d", 600000000 + i);
	snprintf(b->interaction_id, sizeof(b->interaction_id), "int-%06d", i);
	b->kind = kinds[i % 3];
	b->score = lo[i % 3] + (i / 3) % span[i % 3];
	b->channel = i % 2 ? "sms" : "whatsapp";
	b->locale = locales[(i / 2) % 3];
	b->touchpoint = i % 4 == 0 ? NULL : big_texts[(size_t)i * 5 % nt];
	b->agent = i % 6 == 0 ? NULL : big_texts[(size_t)i * 11 % nt];
	b->name = i % 5 == 0 ? NULL : big_texts[(size_t)i * 3 % nt];
	if (i % 1000 == 999) {          /* now and then a long one */
		for (size_t k = 0; k + 5 < sizeof(b->comment); k += 5)
			memcpy(b->comment + k, "a\",\r\n", 5);
	} else {
		snprintf(b->comment, sizeof(b->comment), "%s", big_texts[(size_t)i * 7 % nt]);
	}
	b->sent_at = i % 13 == 0 ? 0 : T0 + i;
	b->answered_at = T0 + 100000 + i / 2;   /* two answers a second: the id breaks the tie */
	b->ttr = -1;
	switch (i % 4) {
	case 0:
		utc(opened, b->opened_at);
		utc(opened + i % 5000, b->closed_at);
		b->ttr = i % 5000;
		break;
	case 2:
		utc(opened, b->opened_at);
		break;
	case 3:                         /* closed before opened */
		utc(opened, b->opened_at);
		utc(opened - 60, b->closed_at);
		break;
	}
}

/* big_fill() on PostgreSQL: each row's customer, survey and response in one statement, all in
 * one transaction. */
static void big_fill_pg(const struct pg_test_db *pg, int n)
{
	static const char sql[] =
		"WITH c AS (INSERT INTO customers (ext_id, phone, locale, created_at, updated_at)"
		"  VALUES ($1, $2, 'es', $3, $3) RETURNING id),"
		" s AS (INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel,"
		"  provider, interaction_id, touchpoint, agent, opened_at, closed_at, status,"
		"  created_at, send_after, sent_at, answered_at, expires_at)"
		"  SELECT $4, c.id, $2, $5, $6, $7, $8, 'twilio', $9, $10, $11, $12, $13, 'answered',"
		"  $14, $14, $15, $16, $17 FROM c RETURNING id)"
		" INSERT INTO responses (survey_id, score, comment, raw_text, answered_at)"
		"  SELECT s.id, $18, $19, $19, $16 FROM s";
	PGconn *c = PQconnectdb(pg->url);
	struct big_row b;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQclear(PQexec(c, "BEGIN"));
	for (int i = 0; i < n; i++) {
		char t0[24], created[24], sent[24], answered[24], expires[24], score[8];
		const char *v[19];
		PGresult *r;

		big_row(i, &b);
		snprintf(t0, sizeof(t0), "%lld", (long long)T0);
		snprintf(created, sizeof(created), "%lld", (long long)(T0 + i));
		snprintf(sent, sizeof(sent), "%lld", (long long)b.sent_at);
		snprintf(answered, sizeof(answered), "%lld", (long long)b.answered_at);
		snprintf(expires, sizeof(expires), "%lld", (long long)(T0 + 3 * DAY));
		snprintf(score, sizeof(score), "%d", b.score);
		v[0] = b.customer_id;
		v[1] = b.phone;
		v[2] = t0;
		v[3] = b.survey_id;
		v[4] = b.name;
		v[5] = b.locale;
		v[6] = b.kind;
		v[7] = b.channel;
		v[8] = b.interaction_id;
		v[9] = b.touchpoint;
		v[10] = b.agent;
		v[11] = b.opened_at[0] ? b.opened_at : NULL;
		v[12] = b.closed_at[0] ? b.closed_at : NULL;
		v[13] = created;
		v[14] = b.sent_at ? sent : NULL;
		v[15] = answered;
		v[16] = expires;
		v[17] = score;
		v[18] = b.comment;
		r = PQexecParams(c, sql, 19, NULL, v, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fail_msg("row %d: %s", i, PQerrorMessage(c));
		PQclear(r);
	}
	PQclear(PQexec(c, "COMMIT"));
	PQfinish(c);
}

/* Writes the data set straight into the schema store_open() created, in one transaction: the
 * store's own API commits (and syncs) once per call, far too slow for tens of thousands. */
static void big_fill(const char *path, int n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *cust = NULL, *surv = NULL, *resp = NULL;
	struct big_row b;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO customers (ext_id, phone, locale,"
					    " created_at, updated_at) VALUES (?1, ?2, 'es', ?3, ?3)",
					    -1, &cust, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO surveys (id, customer_id, phone, name,"
					    " locale, kind, channel, provider, interaction_id,"
					    " touchpoint, agent, opened_at, closed_at, status,"
					    " created_at, send_after, sent_at, answered_at, expires_at)"
					    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'twilio', ?8, ?9,"
					    " ?10, ?11, ?12, 'answered', ?13, ?13, ?14, ?15, ?16)",
					    -1, &surv, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO responses (survey_id, score, comment,"
					    " raw_text, answered_at) VALUES (?1, ?2, ?3, ?3, ?4)",
					    -1, &resp, NULL), SQLITE_OK);
	for (int i = 0; i < n; i++) {
		big_row(i, &b);
		sqlite3_bind_text(cust, 1, b.customer_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(cust, 2, b.phone, -1, SQLITE_STATIC);
		sqlite3_bind_int64(cust, 3, T0);
		assert_int_equal(sqlite3_step(cust), SQLITE_DONE);
		sqlite3_reset(cust);

		sqlite3_bind_text(surv, 1, b.survey_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(surv, 2, sqlite3_last_insert_rowid(db));
		sqlite3_bind_text(surv, 3, b.phone, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 4, b.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 5, b.locale, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 6, b.kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 7, b.channel, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 8, b.interaction_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 9, b.touchpoint, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 10, b.agent, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 11, b.opened_at[0] ? b.opened_at : NULL, -1, SQLITE_STATIC);
		sqlite3_bind_text(surv, 12, b.closed_at[0] ? b.closed_at : NULL, -1, SQLITE_STATIC);
		sqlite3_bind_int64(surv, 13, T0 + i);
		if (b.sent_at)
			sqlite3_bind_int64(surv, 14, b.sent_at);
		else
			sqlite3_bind_null(surv, 14);
		sqlite3_bind_int64(surv, 15, b.answered_at);
		sqlite3_bind_int64(surv, 16, T0 + 3 * DAY);
		assert_int_equal(sqlite3_step(surv), SQLITE_DONE);
		sqlite3_reset(surv);

		sqlite3_bind_text(resp, 1, b.survey_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(resp, 2, b.score);
		sqlite3_bind_text(resp, 3, b.comment, -1, SQLITE_STATIC);
		sqlite3_bind_int64(resp, 4, b.answered_at);
		assert_int_equal(sqlite3_step(resp), SQLITE_DONE);
		sqlite3_reset(resp);
	}
	sqlite3_finalize(cust);
	sqlite3_finalize(surv);
	sqlite3_finalize(resp);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* What a spreadsheet-safe cell holds for a free-text value (NULL: empty). */
static const char *guarded(const char *v, char *out, size_t n)
{
	if (!v)
		v = "";
	snprintf(out, n, "%s%s", v[0] && strchr("=+-@\t\r", v[0]) ? "'" : "", v);
	return out;
}

static const char *category_of(const char *kind, int score)
{
	if (strcmp(kind, "nps") == 0)
		return score >= 9 ? "promoter" : score >= 7 ? "passive" : "detractor";
	if (strcmp(kind, "ces") == 0)
		return score >= 5 ? "easy" : score == 4 ? "neutral" : "difficult";
	return score >= 4 ? "satisfied" : score == 3 ? "neutral" : "dissatisfied";
}

/* Compares one parsed record with row i; fails naming the row and the column. */
static void big_check(int i, char **cells)
{
	static const char *const names[N_COLUMNS] = {
		"survey_id", "customer_id", "phone", "channel", "kind", "score", "comment",
		"interaction_id", "touchpoint", "agent", "sent_at", "answered_at", "name", "locale",
		"category", "ttr_seconds" };
	char g[5][2100], score[8], sent[24] = "", answered[24], ttr[24] = "";
	struct big_row b;
	const char *want[N_COLUMNS];

	big_row(i, &b);
	snprintf(score, sizeof(score), "%d", b.score);
	if (b.sent_at)
		utc(b.sent_at, sent);
	utc(b.answered_at, answered);
	if (b.ttr >= 0)
		snprintf(ttr, sizeof(ttr), "%ld", b.ttr);
	want[0] = b.survey_id;
	want[1] = guarded(b.customer_id, g[0], sizeof(g[0]));
	want[2] = b.phone;
	want[3] = b.channel;
	want[4] = b.kind;
	want[5] = score;
	want[6] = guarded(b.comment, g[1], sizeof(g[1]));
	want[7] = b.interaction_id;
	want[8] = guarded(b.touchpoint, g[2], sizeof(g[2]));
	want[9] = guarded(b.agent, g[3], sizeof(g[3]));
	want[10] = sent;
	want[11] = answered;
	want[12] = guarded(b.name, g[4], sizeof(g[4]));
	want[13] = b.locale;
	want[14] = category_of(b.kind, b.score);
	want[15] = ttr;
	for (int c = 0; c < N_COLUMNS; c++)
		if (strcmp(cells[c], want[c]) != 0)
			fail_msg("record %d, %s: \"%s\", want \"%s\"", i, names[c], cells[c], want[c]);
}

static void test_csv_large_data_set_reads_back_strictly(void **state)
{
	static char scratch[16384];
	struct temp_store *f = *state;
	struct export_filter all = { 0 };
	struct gw_err err = { 0 };
	struct csv_export *x;
	struct csv_reader r;
	char *cells[32], *csv;
	int64_t total = 0;
	size_t len;
	int n, i;

	if (f->on_pg)
		big_fill_pg(&f->pg, BIG_ROWS);
	else
		big_fill(f->path, BIG_ROWS);
	/* the count a terminal's progress line shows */
	assert_non_null(x = csv_export_open(f->st, &all, &err));
	assert_int_equal(csv_export_total(x, &total), 1);
	assert_int_equal(total, BIG_ROWS);
	csv_export_close(x);

	csv = read_all(f->st, &all, 8191, &len);    /* odd reads split records anywhere */
	r = (struct csv_reader){ csv, csv + len, scratch, sizeof(scratch), NULL };
	n = reader_next(&r, cells, 32);
	if (n != N_COLUMNS)
		fail_msg("header: %d cells (%s)", n, r.why ? r.why : "-");
	assert_string_equal(cells[0], "survey_id");
	assert_string_equal(cells[N_COLUMNS - 1], "ttr_seconds");
	for (i = 0; (n = reader_next(&r, cells, 32)) > 0; i++) {
		if (n != N_COLUMNS)
			fail_msg("record %d: %d cells", i, n);
		assert_true(i < BIG_ROWS);
		big_check(i, cells);
	}
	if (n < 0)
		fail_msg("record %d: %s at byte %zu", i, r.why, (size_t)(r.p - csv));
	assert_int_equal(i, BIG_ROWS);
	free(csv);
}

/* The count is taken only when an index answers it; it matches what is then written. */
static void test_csv_total(void **state)
{
	static const struct {
		struct export_args in;
		int want_rc;
		int64_t want;
	} rows[] = {
		{ { 0 }, 1, 3 },
		{ { .since = "2026-11-22", .until = "2026-11-22" }, 1, 3 },
		{ { .since = "2026-11-23" }, 1, 0 },
		{ { .kind = "nps" }, 0, -1 },
		{ { .channel = "sms" }, 0, -1 },
		{ { .touchpoint = "support_chat" }, 0, -1 },
		{ { .agent = "agent-7" }, 0, -1 },
	};
	struct temp_store *f = *state;
	char buf[4096];

	seed_store(f->st);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct export_filter filter;
		struct gw_err err = { 0 };
		struct csv_export *x;
		int64_t total = -1;

		assert_int_equal(export_args_parse(&rows[i].in, &filter, &err), 0);
		assert_non_null(x = csv_export_open(f->st, &filter, &err));
		assert_int_equal(csv_export_total(x, &total), rows[i].want_rc);
		assert_int_equal(total, rows[i].want);
		while (csv_export_read(x, buf, sizeof(buf)) > 0)
			;
		if (rows[i].want_rc == 1)
			assert_int_equal(csv_export_rows(x), (uint64_t)total);
		csv_export_close(x);
	}
}

/* ---- the binary: gateway export and GET /v1/responses.csv ---------------------------------------- */

static const char *gateway_bin(void)
{
	const char *bin = getenv("GATEWAY_BIN");

	return bin && *bin ? bin : "build/gateway";
}

/* Runs the gateway with `args` (args[0] is its name), stdin from /dev/null, stdout to out_fd and
 * stderr to err_fd; its exit code, or -1 when it did not exit. */
static int run_gateway(const char *const *args, int out_fd, int err_fd)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		if (in < 0 || dup2(in, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			_exit(126);
		execv(gateway_bin(), (char *const *)args);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path, size_t *len)
{
	char *s = harness_read_file(path, 1 << 20, len);

	assert_non_null(s);
	return s;
}

/* A config naming the fixture's database; its path in conf. */
static void write_conf(const struct temp_store *f, char *conf, size_t n)
{
	FILE *c;

	snprintf(conf, n, "%s/gateway.conf", f->dir);
	assert_non_null(c = fopen(conf, "w"));
	if (f->on_pg)
		fprintf(c, "[store]\nbackend = postgres\nurl = %s\n", f->pg.url);
	else
		fprintf(c, "[store]\npath = %s\n", f->path);
	assert_int_equal(fclose(c), 0);
}

struct cli_row {
	const char *args[12];           /* after "export"; "CONF" and "OUT" stand for the paths */
	int want_exit;
	const char *want_csv;           /* in OUT when -o is given, else on stdout; NULL: none */
	const char *want_err[3];        /* parts of stderr; none: stderr must stay empty */
};

static const struct cli_row cli_rows[] = {
	{ { "-c", "CONF" }, 0, EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3, { NULL } },
	{ { "-c", "CONF", "--channel", "whatsapp", "-o", "OUT" }, 0, EXPORT_HEADER "\r\n" ROW_E2,
	  { NULL } },
	{ { "-c", "CONF", "--touchpoint", "support_chat", "--agent", "agent-7" }, 0,
	  EXPORT_HEADER "\r\n" ROW_E1, { NULL } },
	{ { "-c", "CONF", "--channel", "sms", "--kind", "csat", "--since", "2026-11-22", "-o",
	    "OUT" }, 0, EXPORT_HEADER "\r\n" ROW_E3, { NULL } },
	{ { "-c", "CONF", "--agent", "nobody" }, 0, EXPORT_HEADER "\r\n", { NULL } },
	{ { "-c", "CONF", "--channel", "fax" }, 2, NULL, { "--channel", "sms or whatsapp" } },
	{ { "-c", "CONF", "--touchpoint", "" }, 2, NULL, { "--touchpoint", "1 to 128 bytes" } },
	{ { "-c", "CONF", "--agent", "a\tb" }, 2, NULL, { "--agent", "control characters" } },
	{ { "-c", "CONF", "--agent" }, 2, NULL, { "--agent needs a value" } },
	{ { "-c", "CONF", "--channels", "sms" }, 2, NULL, { "usage", "--channel sms|whatsapp" } },
};

static void test_cli_export(void **state)
{
	struct temp_store *f = *state;
	char conf[256], out[256], errp[256], outp[256];

	seed_store(f->st);
	write_conf(f, conf, sizeof(conf));
	snprintf(out, sizeof(out), "%s/out.csv", f->dir);
	snprintf(errp, sizeof(errp), "%s/stderr", f->dir);
	snprintf(outp, sizeof(outp), "%s/stdout", f->dir);
	for (size_t i = 0; i < ARRAY_LEN(cli_rows); i++) {
		const struct cli_row *row = &cli_rows[i];
		const char *args[16] = { "gateway", "export" };
		int to_file = 0, out_fd, err_fd, rc;
		size_t n = 2, len, err_len;
		char *got, *err_text;

		for (size_t k = 0; row->args[k]; k++) {
			const char *a = row->args[k];

			to_file |= strcmp(a, "OUT") == 0;
			args[n++] = strcmp(a, "CONF") == 0 ? conf : strcmp(a, "OUT") == 0 ? out : a;
		}
		unlink(out);
		assert_true((out_fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
		assert_true((err_fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
		rc = run_gateway(args, out_fd, err_fd);
		close(out_fd);
		close(err_fd);
		err_text = slurp(errp, &err_len);
		if (rc != row->want_exit)
			fail_msg("row %zu: exit %d, want %d; stderr: %s", i, rc, row->want_exit,
				 err_text);
		if (!row->want_err[0] && err_len)
			fail_msg("row %zu: stderr not empty: %s", i, err_text);
		for (size_t k = 0; k < ARRAY_LEN(row->want_err) && row->want_err[k]; k++)
			if (!strstr(err_text, row->want_err[k]))
				fail_msg("row %zu: stderr lacks \"%s\": %s", i, row->want_err[k],
					 err_text);
		free(err_text);
		got = slurp(to_file ? out : outp, &len);
		if (row->want_csv)
			assert_csv(got, len, row->want_csv);
		else
			assert_int_equal(len, 0);
		if (to_file) {          /* and nothing on stdout */
			free(got);
			got = slurp(outp, &len);
			assert_int_equal(len, 0);
		}
		free(got);
	}
}

/* Everything the child wrote to the terminal, once it has exited. */
static char *drain_pty(int master, size_t *len)
{
	size_t cap = 1 << 16;
	char *s = malloc(cap);
	ssize_t n;

	assert_non_null(s);
	*len = 0;
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	while (*len + 1 < cap && (n = read(master, s + *len, cap - 1 - *len)) > 0)
		*len += (size_t)n;
	s[*len] = '\0';
	return s;
}

/* On a terminal the export shows its progress and a summary on stderr, but never when the CSV
 * itself goes to that terminal; the CSV is the same bytes either way. */
static void test_cli_progress_on_a_terminal(void **state)
{
	static const struct {
		int with_o;             /* -o FILE (else stdout) */
		int stdout_on_tty;
		int want_progress;
	} rows[] = {
		{ 1, 0, 1 },
		{ 0, 0, 1 },            /* stdout redirected to a file */
		{ 0, 1, 0 },            /* the CSV is on the screen: no progress in it */
		{ 1, 1, 1 },            /* -o: the terminal only shows progress */
	};
	struct temp_store *f = *state;
	char conf[256], out[256], outp[256];

	seed_store(f->st);
	write_conf(f, conf, sizeof(conf));
	snprintf(out, sizeof(out), "%s/out.csv", f->dir);
	snprintf(outp, sizeof(outp), "%s/stdout", f->dir);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const char *args[] = { "gateway", "export", "-c", conf, rows[i].with_o ? "-o" : NULL,
				       out, NULL };
		int master, slave, out_fd, rc;
		size_t len, csv_len;
		char *tty, *csv;

		assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
		assert_true((out_fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
		unlink(out);
		rc = run_gateway(args, rows[i].stdout_on_tty ? slave : out_fd, slave);
		close(slave);
		close(out_fd);
		tty = drain_pty(master, &len);
		close(master);
		if (rc != 0)
			fail_msg("row %zu: exit %d: %s", i, rc, tty);
		if (rows[i].want_progress != (strstr(tty, "exported 3 rows in ") != NULL))
			fail_msg("row %zu: terminal shows \"%s\"", i, tty);
		if (rows[i].want_progress)
			assert_true(tty[0] == '\r');
		if (rows[i].stdout_on_tty && !rows[i].with_o) {
			assert_non_null(strstr(tty, "survey_id,customer_id"));
		} else {
			csv = slurp(rows[i].with_o ? out : outp, &csv_len);
			assert_csv(csv, csv_len, EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3);
			free(csv);
		}
		free(tty);
	}
}

struct http_row {
	const char *query;
	long want_status;
	const char *want;               /* 200: the body; 422: the field */
	const char *want_code;
};

#define H EXPORT_HEADER "\r\n"

static const struct http_row http_rows[] = {
	{ "", 200, H ROW_E2 ROW_E1 ROW_E3, NULL },
	{ "?channel=whatsapp", 200, H ROW_E2, NULL },
	{ "?channel=sms&kind=csat", 200, H ROW_E3, NULL },
	{ "?touchpoint=support_chat&agent=agent-7", 200, H ROW_E1, NULL },
	{ "?touchpoint=-x", 200, H ROW_E2, NULL },
	{ "?agent=%40x&since=2026-11-22&until=2026-11-22", 200, H ROW_E2, NULL },
	{ "?touchpoint=support", 200, H, NULL },
	/* parameters the export does not know are ignored, as before */
	{ "?kind=ces&format=xlsx&foo", 200, H ROW_E2, NULL },
	{ "?channel=fax", 422, "channel", "invalid_channel" },
	{ "?channel=", 422, "channel", "invalid_channel" },
	{ "?channel=SMS&touchpoint=support_chat", 422, "channel", "invalid_channel" },
	{ "?touchpoint=", 422, "touchpoint", "invalid_touchpoint" },
	{ "?touchpoint=a%00b", 422, "touchpoint", "invalid_touchpoint" },
	{ "?touchpoint=a%0Ab", 422, "touchpoint", "invalid_touchpoint" },
	{ "?agent=%01", 422, "agent", "invalid_agent" },
	{ "?agent=" X128 "x", 422, "agent", "invalid_agent" },
	{ "?agent=agent-7&since=2026-13-01", 422, "since", "invalid_date" },
};

static void test_http_filters(void **state)
{
	char dir[HARNESS_PATH_LEN], conf[HARNESS_PATH_LEN], db[HARNESS_PATH_LEN], url[1024];
	const char *const headers[] = { "Authorization: Bearer " HARNESS_API_KEY, NULL };
	struct gw_err err = { 0 };
	struct harness_gw gw;
	struct store *st;
	int port;

	(void)state;
	assert_int_equal(harness_tmpdir_create(dir, sizeof(dir)), 0);
	assert_true((port = harness_free_port()) > 0);
	assert_int_equal(harness_write_config(dir, port, harness_free_port(), NULL, conf, db), 0);
	/* on PostgreSQL db is HARNESS_PG_PREFIX and the database's connection string */
	st = harness_on_postgres() ?
		     store_open_backend("postgres", NULL, db + strlen(HARNESS_PG_PREFIX), &err) :
		     store_open(db, &err);
	if (!st)
		fail_msg("store_open(%s): %s", db, err.msg);
	seed_store(st);
	store_close(st);
	assert_int_equal(harness_gw_start(&gw, dir, conf, port, NULL), 0);
	for (size_t i = 0; i < ARRAY_LEN(http_rows); i++) {
		const struct http_row *row = &http_rows[i];
		struct harness_http_resp r;

		snprintf(url, sizeof(url), "%s/v1/responses.csv%s", gw.base_url, row->query);
		assert_int_equal(harness_http("GET", url, headers, NULL, 0, &r), 0);
		if (r.status != row->want_status)
			fail_msg("row %zu (%s): %ld %s", i, row->query, r.status, r.body);
		if (row->want_status == 200) {
			assert_csv(r.body, r.len, row->want);
		} else {
			json_t *j = json_loads(r.body, 0, NULL);
			json_t *e = json_object_get(j, "error");
			const char *field = json_string_value(json_object_get(e, "field"));
			const char *code = json_string_value(json_object_get(e, "code"));

			if (!field || strcmp(field, row->want) != 0 || !code ||
			    strcmp(code, row->want_code) != 0)
				fail_msg("row %zu (%s): %s", i, row->query, r.body);
			json_decref(j);
		}
		harness_http_release(&r);
	}
	assert_int_equal(harness_gw_stop(&gw), 0);
	harness_tmpdir_remove(dir);
}

static int group_setup(void **state)
{
	(void)state;
	return harness_global_init();
}

static int group_teardown(void **state)
{
	(void)state;
	harness_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_parse),
		cmocka_unit_test(test_filter_parse_rejects_non_digits),
		cmocka_unit_test(test_filter_parse_messages),
		cmocka_unit_test(test_filter_parse_three_arguments),
		cmocka_unit_test(test_iso8601_utc),
		cmocka_unit_test(test_csv_header_columns),
		cmocka_unit_test(test_strict_reader),
		cmocka_unit_test_setup_teardown(test_csv_empty_store_is_header_only, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_header_and_rows, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_cells, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_filters, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_tiny_reads_give_the_same_bytes, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_csv_read_fills_the_buffer, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_category_and_ttr, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_total, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_large_data_set_reads_back_strictly, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_cli_export, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_cli_progress_on_a_terminal, fx_open, fx_free),
		cmocka_unit_test(test_http_filters),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
