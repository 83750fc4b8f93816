/*
 * test_export.c - export.h as a specification: the CLI/HTTP filter (one row per input), the CSV a
 * spreadsheet user receives (byte for byte, over a real store in a fresh temp dir), the same bytes
 * whatever the read size, and ISO 8601 UTC times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define T0 1795305600           /* 2026-11-22T00:00:00Z */
#define DAY 86400

/* ---- export_filter_parse ----------------------------------------------------------------- */

struct filter_row {
	const char *kind, *since, *until;
	const char *want_field;         /* NULL: accepted */
	const char *want_kind;          /* accepted rows: the filter built */
	int64_t want_since, want_until;
};

#define OK(k, s, u, wk, ws, wu)  { k, s, u, NULL, wk, ws, wu }
#define BAD(k, s, u, field)      { k, s, u, field, NULL, 0, 0 }

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
};

/* Ten characters with the dashes in place, but a sign or a space where a digit belongs. */
static const struct filter_row non_digit_rows[] = {
	BAD(NULL, "2026-+1-01", NULL, "since"),
	BAD(NULL, "2026-01- 1", NULL, "since"),
	BAD(NULL, "2026-01-+1", NULL, "since"),
	BAD(NULL, NULL, "2026- 1-01", "until"),
	BAD(NULL, NULL, "2026-01-+1", "until"),
};

/* Runs filter rows; prints every row that differs and returns how many did. */
static int run_filter_rows(const struct filter_row *rows, size_t n)
{
	int failures = 0;

	for (size_t i = 0; i < n; i++) {
		const struct filter_row *r = &rows[i];
		struct gw_err err = { 0 };
		struct export_filter f;
		int rc = export_filter_parse(r->kind, r->since, r->until, &f, &err);
		int ok;

		if (r->want_field)
			ok = rc == -1 && strcmp(err.field, r->want_field) == 0 &&
			     err.http_status == 422 && err.msg[0] != '\0';
		else
			ok = rc == 0 && f.since == r->want_since && f.until == r->want_until &&
			     (r->want_kind ? f.kind && strcmp(f.kind, r->want_kind) == 0 : !f.kind);
		if (!ok) {
			print_message("row %zu (kind %s, since %s, until %s): rc %d field \"%s\" "
				      "status %d since %lld until %lld; want %s\n", i,
				      r->kind ? r->kind : "-", r->since ? r->since : "-",
				      r->until ? r->until : "-", rc, rc ? err.field : "",
				      err.http_status, rc ? 0LL : (long long)f.since,
				      rc ? 0LL : (long long)f.until,
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

/* The messages name the field and show the expected form. */
static void test_filter_parse_messages(void **state)
{
	struct export_filter f;
	struct gw_err err = { 0 };

	(void)state;
	assert_int_equal(export_filter_parse("xyz", NULL, NULL, &f, &err), -1);
	assert_non_null(strstr(err.msg, "nps"));
	gw_err_clear(&err);
	assert_int_equal(export_filter_parse(NULL, "2026-1-1", NULL, &f, &err), -1);
	assert_non_null(strstr(err.msg, "YYYY-MM-DD"));
	gw_err_clear(&err);
	assert_int_equal(export_filter_parse(NULL, "2026-11-23", "2026-11-22", &f, &err), -1);
	assert_non_null(strstr(err.msg, "before"));
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

struct fx {
	char dir[64];
	char path[160];
	struct store *st;
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static int fx_free(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	store_close(f->st);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int fx_open(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gw_err err = { 0 };

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_export.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/gateway.db", f->dir);
	*state = f;
	if (!(f->st = store_open(f->path, &err))) {
		print_message("store_open: %s\n", err.msg);
		fx_free(state);         /* cmocka skips the teardown of a failed setup */
		*state = NULL;
		return -1;
	}
	return 0;
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
};

static const struct seed seeds[] = {
	{ "e-1", "=HYPERLINK(\"http://x\",\"y\")", "+34600111222", "Ana", "es", "nps", "sms",
	  "chat-981", "support_chat", "agent-7", T0, 1, T0 + 750, 9,
	  "muy amables, \"de verdad\"\nvolveré" },
	{ "e-2", "cust-2", "+5511988887777", "João", "pt", "ces", "whatsapp",
	  "i-2", "-x", "@x", T0 + 60, 1, T0 + 700, 6, "+1" },
	/* answered while its message was still `sending`: no sent_at; optional fields left out */
	{ "e-3", "cust-3", "+34600000003", NULL, "es", "csat", "sms",
	  "i-3", NULL, NULL, T0 + 120, 0, T0 + 900, 5, NULL },
	/* sent, never answered: not exported */
	{ "e-4", "cust-4", "+34600000004", "Dan", "en", "nps", "sms",
	  "i-4", "shop", "agent-1", T0 + 180, 1, 0, 0, NULL },
};

/* In answer order: e-2, e-1, e-3. */
#define ROW_E2 "e-2,cust-2,+5511988887777,whatsapp,ces,6,'+1,i-2,'-x,'@x," \
	       "2026-11-22T00:01:01Z,2026-11-22T00:11:40Z,Jo\xc3\xa3o,pt\r\n"
#define ROW_E1 "e-1,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",+34600111222,sms,nps,9," \
	       "\"muy amables, \"\"de verdad\"\"\nvolver\xc3\xa9\",chat-981,support_chat,agent-7," \
	       "2026-11-22T00:00:01Z,2026-11-22T00:12:30Z,Ana,es\r\n"
#define ROW_E3 "e-3,cust-3,+34600000003,sms,csat,5,,i-3,,,,2026-11-22T00:15:00Z,,es\r\n"

struct answer_ctx {
	const struct seed *seed;
};

static void decide_answer(void *ctx, const struct inbound_view *v, struct inbound_decision *out)
{
	const struct seed *e = ((struct answer_ctx *)ctx)->seed;
	const struct matched_survey *s = v->survey;

	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->action = INBOUND_ANSWER;
	out->score = e->score;
	out->comment = e->comment;
	out->comment_len = e->comment ? strlen(e->comment) : 0;
}

static void seed_store(struct fx *f)
{
	struct gw_err err = { 0 };

	for (size_t i = 0; i < ARRAY_LEN(seeds); i++) {
		const struct seed *e = &seeds[i];
		struct survey_new sn = {
			.id = e->id, .customer_id = e->customer_id, .phone = e->phone,
			.name = e->name, .locale = e->locale, .kind = e->kind, .channel = e->channel,
			.provider = "twilio", .interaction_id = e->interaction_id,
			.touchpoint = e->touchpoint, .agent = e->agent,
			.now = e->send_after, .send_after = e->send_after,
			.expires_at = e->send_after + 2 * DAY, .question = "¿Del 0 al 10?",
		};
		char id[SURVEY_ID_LEN], pid[32];
		struct outbox_item it;
		int created = 0;
		size_t n = 0;

		assert_int_equal(store_create_survey(f->st, &sn, id, &created, &err), 0);
		assert_int_equal(created, 1);
		assert_int_equal(store_claim_due(f->st, e->send_after, "twilio", &it, 1, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_string_equal(it.survey_id, e->id);
		snprintf(pid, sizeof(pid), "SM-%s", e->id);
		if (e->accepted)
			assert_int_equal(store_send_accepted(f->st, it.message_id, pid,
							     e->send_after + 1, &err), 0);
		outbox_item_release(&it);
	}
	for (size_t i = 0; i < ARRAY_LEN(seeds); i++) {
		const struct seed *e = &seeds[i];
		struct answer_ctx ctx = { e };
		char pid[32];
		struct inbound_in in = {
			.provider = "twilio", .provider_message_id = pid, .from = e->phone,
			.text = "reply", .text_len = 5, .now = e->answered_at,
		};
		struct inbound_result res;

		if (!e->answered_at)
			continue;
		snprintf(pid, sizeof(pid), "SM-in-%s", e->id);
		assert_int_equal(store_record_inbound(f->st, &in, decide_answer, &ctx, &res, &err), 0);
		assert_int_equal(res.matched, 1);
		assert_string_equal(res.survey_id, e->id);
	}
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
	while ((n = csv_export_read(x, out + *len, chunk)) > 0) {
		assert_true((size_t)n <= chunk);
		*len += (size_t)n;
		assert_true(*len + chunk < cap);
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
	struct fx *f = *state;
	struct export_filter all = { 0 };
	size_t len;
	char *csv = read_all(f->st, &all, 4096, &len);

	assert_csv(csv, len, EXPORT_HEADER "\r\n");
	free(csv);
}

static void test_csv_header_and_rows(void **state)
{
	static const char want[] = EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3;
	struct fx *f = *state;
	struct export_filter all = { 0 };
	size_t len;
	char *csv;

	/* the contract's columns come first, in this order */
	assert_memory_equal(EXPORT_HEADER, "survey_id,customer_id,phone,channel,kind,score,comment,"
			    "interaction_id,touchpoint,agent,sent_at,answered_at,",
			    strlen("survey_id,customer_id,phone,channel,kind,score,comment,"
				   "interaction_id,touchpoint,agent,sent_at,answered_at,"));
	seed_store(f);
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
	struct fx *f = *state;
	struct export_filter all = { 0 };
	size_t len;
	char *csv;

	size_t bare_lf = 0, crlf = 0;

	seed_store(f);
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

static void test_csv_filters(void **state)
{
	static const struct {
		const char *kind, *since, *until;
		const char *want;
	} rows[] = {
		{ NULL, NULL, NULL, EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3 },
		{ "nps", NULL, NULL, EXPORT_HEADER "\r\n" ROW_E1 },
		{ "ces", "2026-11-22", "2026-11-22", EXPORT_HEADER "\r\n" ROW_E2 },
		{ NULL, "2026-11-23", NULL, EXPORT_HEADER "\r\n" },
		{ NULL, NULL, "2026-11-21", EXPORT_HEADER "\r\n" },
		{ NULL, "2026-11-22", "2026-11-22", EXPORT_HEADER "\r\n" ROW_E2 ROW_E1 ROW_E3 },
	};
	struct fx *f = *state;

	seed_store(f);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct export_filter filter;
		struct gw_err err = { 0 };
		size_t len;
		char *csv;

		assert_int_equal(export_filter_parse(rows[i].kind, rows[i].since, rows[i].until,
						     &filter, &err), 0);
		csv = read_all(f->st, &filter, 4096, &len);
		if (len != strlen(rows[i].want))
			print_message("row %zu\n", i);
		assert_csv(csv, len, rows[i].want);
		free(csv);
	}
}

static void test_csv_tiny_reads_give_the_same_bytes(void **state)
{
	static const size_t chunks[] = { 1, 2, 7, 13, 64 };
	struct fx *f = *state;
	struct export_filter all = { 0 };
	size_t whole_len;
	char *whole;

	seed_store(f);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_parse),
		cmocka_unit_test(test_filter_parse_rejects_non_digits),
		cmocka_unit_test(test_filter_parse_messages),
		cmocka_unit_test(test_iso8601_utc),
		cmocka_unit_test_setup_teardown(test_csv_empty_store_is_header_only, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_header_and_rows, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_cells, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_filters, fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_csv_tiny_reads_give_the_same_bytes, fx_open,
						fx_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
