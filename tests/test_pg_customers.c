/*
 * test_pg_customers.c - a customer's history, erasure and the retention purge on PostgreSQL
 * (pg_store.h, section "pg_customers.c"), as a specification.
 *
 * The cases of tests/test_customers.c that touch the store, on a database of its own per test
 * (support/pg_test.h), plus what several instances sharing the database add: an erasure and a
 * trigger for the same customer on two instances, and the purge run by one instance at a time.
 * What a call left behind is checked through a connection of the test's own; after an erasure,
 * every text column of every table is searched for the number, the name and the comment.
 * Answers and texts that arrive are written as rows (the inbound path is tested elsewhere).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_priv.h"
#include "pg_store.h"
#include "support/pg_test.h"
#include "support/unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define PHONE "+34600111222"
#define PHONE_2 "+34600333444"
#define NAME "Zoraida Quintanilla"
#define COMMENT "el pedido ZX-4471 llego frio"
#define T0 1000000LL
#define DAY 86400LL

/* sha256("+34600111222"), from `printf %s +34600111222 | sha256sum`. */
#define PHONE_HASH "sha256:cb24629d1dbeb6ee24e7c20610896274e8102e67aa6efc2f3a1be2893c38008b"

/* ---- fixture ------------------------------------------------------------------------------ */

struct fx {
	struct pg_test_db db;
	struct pg_store *st;
};

static int fx_open(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gw_err err = { 0 };

	if (!f)
		return -1;
	pg_test_db_create(&f->db);
	if (!(f->st = pg_store_open(f->db.url, &err))) {
		print_error("pg_store_open: %s\n", err.msg);
		pg_test_db_drop(&f->db);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_free(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	pg_store_close(f->st);
	pg_test_db_drop(&f->db);
	free(f);
	return 0;
}

static struct pg_store *open_another(struct fx *f)
{
	struct gw_err err = { 0 };
	struct pg_store *st = pg_store_open(f->db.url, &err);

	if (!st)
		fail_msg("pg_store_open: %s", err.msg);
	return st;
}

/* ---- the database, read directly ------------------------------------------------------------ */

#define ASSERT_Q(f, want, sql)                                                    \
	do {                                                                      \
		char got_[512];                                                   \
		pg_test_query(&(f)->db, (sql), got_, sizeof(got_));               \
		if (strcmp(got_, (want)) != 0)                                    \
			fail_msg("%s: \"%s\", want \"%s\"", (sql), got_, (want)); \
	} while (0)

static long long q_int(struct fx *f, const char *sql)
{
	char v[64];

	pg_test_query(&f->db, sql, v, sizeof(v));
	return strtoll(v, NULL, 10);
}

/* "table.column,..." of every text column of every table holding `needle` somewhere ("" for
 * none), as someone reading the whole database would find it. */
static void columns_holding(struct fx *f, const char *needle, char *out, size_t n)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "WITH c AS MATERIALIZED (SELECT table_name, column_name"
		 "  FROM information_schema.columns WHERE table_schema = 'public'"
		 "  AND data_type IN ('text', 'character varying'))"
		 " SELECT coalesce(string_agg(c.table_name || '.' || c.column_name, ','"
		 "  ORDER BY c.table_name, c.column_name), '') FROM c"
		 " WHERE (xpath('/row/n/text()', query_to_xml(format("
		 "  'SELECT count(*) AS n FROM public.%%I WHERE strpos(%%I, %%L) > 0',"
		 "  c.table_name, c.column_name, '%s'), false, true, '')))[1]::text::int > 0",
		 needle);
	pg_test_query(&f->db, sql, out, n);
}

/* ---- making customers, surveys and answers -------------------------------------------------- */

/* Survey `id` of customer `cust` on `phone` (NULL: PHONE), created at `now`, due at once. */
static void sn_init(struct new_survey *n, const char *id, const char *cust, const char *phone,
		    int64_t now)
{
	new_survey_init(n, id, now);
	n->sn.customer_id = cust;
	n->sn.phone = phone ? phone : PHONE;
	n->sn.name = NAME;
	n->sn.timezone = "Europe/Madrid";
	n->sn.expire_after_s = 2 * DAY;
	n->sn.question = "Hola " NAME ", del 0 al 10?";
}

static int create_on(struct pg_store *st, const struct survey_new *sn)
{
	struct gw_err err = { 0 };
	char id[SURVEY_ID_LEN];
	int outcome = -1;

	if (pg_create_survey(st, sn, id, &outcome, &err) != 0)
		fail_msg("pg_create_survey(%s): %s", sn->id, err.msg);
	return outcome;
}

static int create(struct fx *f, const struct survey_new *sn)
{
	return create_on(f->st, sn);
}

/* Sends every due message of twilio at `now` (the provider id is "SM-<message id>"). */
static void send_due(struct fx *f, int64_t now)
{
	struct outbox_item items[8];
	struct gw_err err = { 0 };
	size_t n = 0;

	assert_int_equal(pg_claim_due(f->st, now, "twilio", items, ARRAY_LEN(items), &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		char pid[64];

		snprintf(pid, sizeof(pid), "SM-%lld", (long long)items[i].message_id);
		assert_int_equal(pg_send_accepted(f->st, items[i].message_id, pid, now, &err), 0);
		outbox_item_release(&items[i]);
	}
}

/* A survey created and sent at `now`. */
static void create_sent(struct fx *f, const char *id, const char *cust, const char *phone,
			const char *kind, int64_t now)
{
	struct new_survey n;

	sn_init(&n, id, cust, phone, now);
	n.sn.kind = kind;
	assert_int_equal(create(f, &n.sn), SURVEY_CREATED);
	send_due(f, now);
}

/* A text `text` from `phone` at `at` with provider id `pid`, matched to `survey` (NULL: none),
 * as the inbound path writes it. */
static void text_in(struct fx *f, const char *survey, const char *phone, const char *pid,
		    const char *text, int64_t at)
{
	char sql[512];

	snprintf(
		sql, sizeof(sql),
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
		" status, provider_message_id, created_at, updated_at)"
		" VALUES (%s%s%s, 'in', 'reply', 'sms', 'twilio', '%s', '%s', 'received', '%s',"
		" %lld, %lld)",
		survey ? "'" : "", survey ? survey : "NULL", survey ? "'" : "", phone, text, pid,
		(long long)at, (long long)at);
	pg_test_exec(&f->db, sql);
}

/* Survey `survey` answered `score` with COMMENT by text `pid` at `at`, and a thank-you naming
 * the customer queued then. */
static void answer(struct fx *f, const char *survey, const char *pid, int score, int64_t at)
{
	char sql[512], raw[64];

	snprintf(raw, sizeof(raw), "%d " COMMENT, score);
	text_in(f, survey, PHONE, pid, raw, at);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO responses (survey_id, score, comment, raw_text, message_id,"
		 " answered_at) SELECT '%s', %d, '" COMMENT "', '%s', id, %lld FROM messages"
		 " WHERE provider_message_id = '%s'",
		 survey, score, raw, (long long)at, pid);
	pg_test_exec(&f->db, sql);
	snprintf(sql, sizeof(sql),
		 "UPDATE surveys SET status = 'answered', answered_at = %lld WHERE id = '%s'",
		 (long long)at, survey);
	pg_test_exec(&f->db, sql);
	snprintf(
		sql, sizeof(sql),
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
		" status, next_attempt_at, created_at, updated_at) VALUES ('%s', 'out', 'thanks',"
		" 'sms', 'twilio', '" PHONE "', 'Gracias " NAME "', 'queued', %lld, %lld, %lld)",
		survey, (long long)at, (long long)at, (long long)at);
	pg_test_exec(&f->db, sql);
}

static void suppress(struct fx *f, const char *phone, int64_t now)
{
	struct gw_err err = { 0 };

	if (pg_suppress_phone(f->st, phone, "twilio", now, &err) != 0)
		fail_msg("pg_suppress_phone: %s", err.msg);
}

static void erase_ok(struct fx *f, const char *cust, int64_t now, struct erase_summary *sum)
{
	struct gw_err err = { 0 };
	int rc = pg_erase_customer(f->st, cust, now, sum, &err);

	if (rc != 0)
		fail_msg("pg_erase_customer(%s): %d %s", cust, rc, err.msg);
}

static void history_ok(struct fx *f, const char *cust, size_t max, struct customer_history *h)
{
	struct gw_err err = { 0 };
	int rc = pg_customer_history(f->st, cust, max, h, &err);

	if (rc != 0)
		fail_msg("pg_customer_history(%s): %d %s", cust, rc, err.msg);
}

/* cust-42 with an answered NPS survey (score 9 and COMMENT, a thank-you sent), a later CSAT
 * survey still queued, and a text from the number outside any survey. */
static void answered_customer(struct fx *f)
{
	struct new_survey later;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	answer(f, "s1", "IN-1", 9, T0 + 60);
	send_due(f, T0 + 60);
	sn_init(&later, "s2", "cust-42", PHONE, T0 + 120);
	later.sn.kind = "csat";
	later.sn.send_after = T0 + DAY;
	assert_int_equal(create(f, &later.sn), SURVEY_CREATED);
	text_in(f, NULL, PHONE, "IN-2", "hola? " COMMENT, T0 + 3 * DAY);
}

/* ---- the phone hash ------------------------------------------------------------------------- */

/* A suppression kept as the hash of a customer's number is found by the history, which hashes
 * the number in SQL: the two hashes agree, whatever the number. */
static void test_history_finds_a_suppression_kept_as_the_hash_of_the_number(void **state)
{
	static const struct {
		const char *phone;      /* the customer's */
		const char *suppressed; /* the number whose hash is suppressed */
		int want;
	} rows[] = {
		{ PHONE, PHONE, 1 },
		{ "+14155550100", "+14155550100", 1 },
		{ "+5511987654321", "+5511987654321", 1 },
		{ "+861380013800099", "+861380013800099", 1 },
		{ "+447", "+447", 1 },
		{ PHONE, PHONE_2, 0 },
		{ "+14155550100", "14155550100", 0 },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		char sql[512], hash[STORE_PHONE_HASH_LEN], cust[32], got[128];
		struct customer_history h;

		assert_int_equal(store_phone_hash(rows[i].suppressed, hash), 0);
		/* the SQL the history uses gives the same text as the C function */
		snprintf(sql, sizeof(sql),
			 "SELECT 'sha256:' || encode(sha256(convert_to('%s', 'UTF8')), 'hex')",
			 rows[i].suppressed);
		pg_test_query(&f->db, sql, got, sizeof(got));
		EXPECT_STR(rows[i].phone, "sha256 in SQL", got, hash);

		snprintf(cust, sizeof(cust), "hash-%zu", i);
		snprintf(sql, sizeof(sql),
			 "INSERT INTO customers (ext_id, phone, locale, created_at, updated_at)"
			 " VALUES ('%s', '%s', 'es', 1, 1)",
			 cust, rows[i].phone);
		pg_test_exec(&f->db, sql);
		snprintf(
			sql, sizeof(sql),
			"INSERT INTO suppressions (phone, opted_out, updated_at) VALUES ('%s', 1, 1)"
			" ON CONFLICT (phone) DO NOTHING",
			hash);
		pg_test_exec(&f->db, sql);
		history_ok(f, cust, 10, &h);
		EXPECT_INT(rows[i].phone, "opted_out", h.customer.opted_out, rows[i].want);
		customer_history_release(&h);
		pg_test_exec(&f->db, "DELETE FROM suppressions");
	}
}

/* ---- history -------------------------------------------------------------------------------- */

static void test_history_of_unknown_customer_is_not_found(void **state)
{
	struct fx *f = *state;
	struct customer_history h;
	struct gw_err err = { 0 };

	assert_int_equal(pg_customer_history(f->st, "nobody", 10, &h, &err), 1);
	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	assert_int_equal(pg_customer_history(f->st, "cust-4", 10, &h, &err), 1);
	assert_null(h.surveys);
}

static void test_history_lists_surveys_newest_first_with_latest_nps(void **state)
{
	struct fx *f = *state;
	struct customer_history h;

	answered_customer(f);
	create_sent(f, "other", "cust-43", PHONE_2, "nps", T0 + 200);
	history_ok(f, "cust-42", 10, &h);
	assert_string_equal(h.customer.id, "cust-42");
	assert_string_equal(h.customer.phone, PHONE);
	assert_string_equal(h.customer.name, NAME);
	assert_string_equal(h.customer.locale, "es");
	assert_string_equal(h.customer.timezone, "Europe/Madrid");
	assert_int_equal(h.customer.opted_out, 0);
	assert_int_equal(h.customer.created_at, T0);
	assert_int_equal(h.customer.updated_at, T0 + 120);
	assert_int_equal(h.customer.erased_at, 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.more, 0);
	assert_string_equal(h.surveys[0].id, "s2");
	assert_string_equal(h.surveys[0].kind, "csat");
	assert_string_equal(h.surveys[0].status, "queued");
	assert_int_equal(h.surveys[0].has_response, 0);
	assert_null(h.surveys[0].comment);
	assert_string_equal(h.surveys[1].id, "s1");
	assert_string_equal(h.surveys[1].status, "answered");
	assert_string_equal(h.surveys[1].channel, "sms");
	assert_string_equal(h.surveys[1].interaction_id, "chat-s1");
	assert_string_equal(h.surveys[1].touchpoint, "support_chat");
	assert_string_equal(h.surveys[1].agent, "agent-7");
	assert_int_equal(h.surveys[1].created_at, T0);
	assert_int_equal(h.surveys[1].sent_at, T0);
	assert_int_equal(h.surveys[1].answered_at, T0 + 60);
	assert_int_equal(h.surveys[1].expires_at, T0 + 2 * DAY);
	assert_int_equal(h.surveys[1].has_response, 1);
	assert_int_equal(h.surveys[1].score, 9);
	assert_string_equal(h.surveys[1].comment, COMMENT);
	assert_int_equal(h.has_latest_nps, 1);
	assert_int_equal(h.latest_nps_score, 9);
	assert_string_equal(h.latest_nps_survey, "s1");
	assert_int_equal(h.latest_nps_at, T0 + 60);
	customer_history_release(&h);

	/* the limit cuts the list, not the latest NPS */
	history_ok(f, "cust-42", 1, &h);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.more, 1);
	assert_string_equal(h.surveys[0].id, "s2");
	assert_int_equal(h.has_latest_nps, 1);
	assert_string_equal(h.latest_nps_survey, "s1");
	customer_history_release(&h);

	/* any limit, however large, costs only what there is */
	history_ok(f, "cust-42", SIZE_MAX, &h);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.more, 0);
	customer_history_release(&h);

	/* none asked for: whether there are any */
	history_ok(f, "cust-42", 0, &h);
	assert_int_equal(h.n, 0);
	assert_int_equal(h.more, 1);
	customer_history_release(&h);
}

static void test_history_without_nps_answer_has_no_latest_nps(void **state)
{
	struct fx *f = *state;
	struct customer_history h;

	create_sent(f, "c1", "cust-42", PHONE, "csat", T0);
	answer(f, "c1", "IN-1", 5, T0 + 10);
	create_sent(f, "n1", "cust-42", PHONE, "nps", T0 + 20);
	history_ok(f, "cust-42", 10, &h);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.has_latest_nps, 0);
	customer_history_release(&h);
}

/* The newest NPS answer wins, whichever survey was created last. */
static void test_history_latest_nps_is_the_newest_answer(void **state)
{
	struct fx *f = *state;
	struct customer_history h;

	create_sent(f, "n1", "cust-42", PHONE, "nps", T0);
	create_sent(f, "n2", "cust-42", PHONE, "nps", T0 + 10);
	answer(f, "n2", "IN-2", 3, T0 + 20);
	answer(f, "n1", "IN-1", 8, T0 + 30);
	history_ok(f, "cust-42", 10, &h);
	assert_string_equal(h.surveys[0].id, "n2");
	assert_int_equal(h.has_latest_nps, 1);
	assert_string_equal(h.latest_nps_survey, "n1");
	assert_int_equal(h.latest_nps_score, 8);
	assert_int_equal(h.latest_nps_at, T0 + 30);
	customer_history_release(&h);
}

static void test_history_opted_out_follows_the_suppression(void **state)
{
	struct fx *f = *state;
	struct customer_history h;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	suppress(f, PHONE, T0 + 10);
	history_ok(f, "cust-42", 10, &h);
	assert_int_equal(h.customer.opted_out, 1);
	customer_history_release(&h);
	/* opted in again (as the inbound path records a START) */
	pg_test_exec(&f->db, "UPDATE suppressions SET opted_out = 0, opted_in_at = 1000020");
	history_ok(f, "cust-42", 10, &h);
	assert_int_equal(h.customer.opted_out, 0);
	customer_history_release(&h);
}

/* ---- erasure -------------------------------------------------------------------------------- */

static void test_erase_unknown_customer_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct gw_err err = { 0 };

	answered_customer(f);
	assert_int_equal(pg_erase_customer(f->st, "cust-4", T0 + 5 * DAY, &sum, &err), 1);
	ASSERT_Q(f, PHONE, "SELECT phone FROM customers WHERE ext_id = 'cust-42'");
	ASSERT_Q(f, "0", "SELECT count(*) FROM customers WHERE erased_at IS NOT NULL");
	ASSERT_Q(f, "0", "SELECT count(*) FROM messages WHERE body = '' OR phone = ''");
}

static void test_erase_blanks_identity_and_texts_and_keeps_scores(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct customer_history h;

	answered_customer(f);
	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	assert_int_equal(sum.surveys, 2);
	assert_int_equal(sum.responses, 1);
	assert_int_equal(sum.messages, 5); /* question, thanks, queued csat, two texts in */
	assert_int_equal(sum.cancelled, 1);
	assert_int_equal(sum.suppressions, 0);
	assert_int_equal(sum.idempotency_keys, 0);
	assert_int_equal(sum.events, 0);
	assert_int_equal(sum.opted_out, 0);
	assert_int_equal(sum.phone_shared, 0);
	assert_int_equal(sum.erased_at, T0 + 5 * DAY);

	ASSERT_Q(
		f, "|(null)|(null)|es|432000",
		"SELECT phone || '|' || coalesce(name, '(null)') || '|'"
		" || coalesce(timezone, '(null)') || '|' || locale || '|' || (updated_at - 1000000)"
		" FROM customers WHERE ext_id = 'cust-42'");
	ASSERT_Q(f, "0",
		 "SELECT count(*) FROM surveys WHERE phone <> '' OR name IS NOT NULL"
		 " OR timezone IS NOT NULL OR provider_message_id IS NOT NULL");
	ASSERT_Q(f, "0",
		 "SELECT count(*) FROM messages WHERE phone <> '' OR body <> ''"
		 " OR provider_message_id IS NOT NULL");
	ASSERT_Q(f, "9||", "SELECT score || '|' || comment || '|' || raw_text FROM responses");
	/* what reports count stays */
	ASSERT_Q(
		f, "nps|sms|support_chat|agent-7|answered",
		"SELECT kind || '|' || channel || '|' || touchpoint || '|' || agent || '|' || status"
		" FROM surveys WHERE id = 's1'");
	ASSERT_Q(f, "skipped|erased",
		 "SELECT status || '|' || reason FROM surveys WHERE id = 's2'");
	ASSERT_Q(f, "cancelled", "SELECT status FROM messages WHERE survey_id = 's2'");
	ASSERT_Q(f, "sent,sent",
		 "SELECT string_agg(status, ',') FROM messages WHERE survey_id = 's1'"
		 " AND direction = 'out'");

	history_ok(f, "cust-42", 10, &h);
	assert_string_equal(h.customer.phone, "");
	assert_string_equal(h.customer.name, "");
	assert_string_equal(h.customer.timezone, "");
	assert_int_equal(h.customer.erased_at, T0 + 5 * DAY);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.surveys[1].score, 9);
	assert_string_equal(h.surveys[1].comment, "");
	assert_int_equal(h.latest_nps_score, 9);
	customer_history_release(&h);
}

static void test_erased_customer_queued_survey_is_never_sent(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct outbox_item items[4];
	struct gw_err err = { 0 };
	size_t n = 99;

	answered_customer(f);
	erase_ok(f, "cust-42", T0 + 200, &sum);
	assert_int_equal(pg_claim_due(f->st, T0 + 30 * DAY, "twilio", items, ARRAY_LEN(items), &n,
				      &err),
			 0);
	assert_int_equal(n, 0);
}

/* A survey whose text is with the provider when its customer is erased: it is cancelled, and
 * the acceptance that comes back afterwards writes nothing (no provider id, which may encode
 * the number); another customer's send in the same moment is recorded. */
static void test_erase_while_sending_writes_nothing_back(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct outbox_item items[4];
	struct gw_err err = { 0 };
	struct new_survey a, b;
	int64_t ma = 0, mb = 0;
	size_t n = 0;

	sn_init(&a, "sa", "cust-42", PHONE, T0);
	assert_int_equal(create(f, &a.sn), SURVEY_CREATED);
	sn_init(&b, "sb", "cust-7", PHONE_2, T0);
	assert_int_equal(create(f, &b.sn), SURVEY_CREATED);
	assert_int_equal(pg_claim_due(f->st, T0, "twilio", items, ARRAY_LEN(items), &n, &err), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i].survey_id, "sa") == 0)
			ma = items[i].message_id;
		else
			mb = items[i].message_id;
		outbox_item_release(&items[i]);
	}
	erase_ok(f, "cust-42", T0 + 1, &sum);
	assert_int_equal(sum.cancelled, 1);
	ASSERT_Q(f, "skipped|erased",
		 "SELECT status || '|' || reason FROM surveys WHERE id = 'sa'");
	ASSERT_Q(f, "cancelled", "SELECT status FROM messages WHERE survey_id = 'sa'");

	/* 1: the message was cancelled meanwhile, nothing of the outcome kept (store.h) */
	assert_int_equal(pg_send_accepted(f->st, ma, "wamid.SGVsbG8rMzQ2MDAxMTEyMjI=", T0 + 2,
					  &err),
			 1);
	ASSERT_Q(f, "cancelled||",
		 "SELECT status || '|' || coalesce(provider_message_id, '') || '|'"
		 " || coalesce(error_message, '') FROM messages WHERE survey_id = 'sa'");
	ASSERT_Q(f, "skipped|",
		 "SELECT status || '|' || coalesce(provider_message_id, '')"
		 " FROM surveys WHERE id = 'sa'");
	assert_int_equal(pg_claim_due(f->st, T0 + DAY, "twilio", items, ARRAY_LEN(items), &n, &err),
			 0);
	assert_int_equal(n, 0);

	assert_int_equal(pg_send_accepted(f->st, mb, "SM-b", T0 + 2, &err), 0);
	ASSERT_Q(
		f, "sent|SM-b",
		"SELECT status || '|' || provider_message_id FROM messages WHERE survey_id = 'sb'");
}

static void test_erase_keeps_the_opt_out_as_a_hash(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct customer_history h;
	struct new_survey again, other;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	suppress(f, PHONE, T0 + 10);
	erase_ok(f, "cust-42", T0 + 20, &sum);
	assert_int_equal(sum.suppressions, 1);
	assert_int_equal(sum.opted_out, 1);
	ASSERT_Q(f, PHONE_HASH "|1", "SELECT phone || '|' || opted_out FROM suppressions");
	ASSERT_Q(f, "1", "SELECT opted_out FROM customers WHERE ext_id = 'cust-42'");
	history_ok(f, "cust-42", 10, &h);
	assert_int_equal(h.customer.opted_out, 1);
	customer_history_release(&h);

	/* a later trigger for the number, whatever the customer id, is still refused */
	sn_init(&again, "s2", "cust-99", PHONE, T0 + 30);
	assert_int_equal(create(f, &again.sn), SURVEY_OPTED_OUT);
	sn_init(&other, "s3", "cust-43", PHONE_2, T0 + 30);
	assert_int_equal(create(f, &other.sn), SURVEY_CREATED);
}

/* The number opted in after its erasure, a new customer on it, a new opt-out and a second
 * erasure: one suppression is left, the newest, under the hash. */
static void test_erase_of_a_number_erased_before_keeps_one_record(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct new_survey again;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	suppress(f, PHONE, T0 + 10);
	erase_ok(f, "cust-42", T0 + 20, &sum);
	/* opted in again (as the inbound path records a START on the hashed record) */
	pg_test_exec(&f->db, "UPDATE suppressions SET opted_out = 0, opted_in_at = 1000030,"
			     " updated_at = 1000030");
	sn_init(&again, "s2", "cust-77", PHONE, T0 + 40);
	assert_int_equal(create(f, &again.sn), SURVEY_CREATED);
	suppress(f, PHONE, T0 + 50);
	ASSERT_Q(f, "2", "SELECT count(*) FROM suppressions");
	erase_ok(f, "cust-77", T0 + 60, &sum);
	assert_int_equal(sum.suppressions, 1);
	assert_int_equal(sum.opted_out, 1);
	ASSERT_Q(f, "1", "SELECT count(*) FROM suppressions");
	ASSERT_Q(f, PHONE_HASH "|1|1000050",
		 "SELECT phone || '|' || opted_out || '|' || opted_out_at FROM suppressions");
}

static void test_erase_twice_changes_nothing_the_second_time(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;

	answered_customer(f);
	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	erase_ok(f, "cust-42", T0 + 6 * DAY, &sum);
	assert_int_equal(sum.surveys + sum.responses + sum.messages + sum.suppressions +
				 sum.idempotency_keys + sum.events + sum.cancelled,
			 0);
	assert_int_equal(sum.erased_at, T0 + 5 * DAY);
	assert_int_equal(q_int(f, "SELECT erased_at FROM customers"), T0 + 5 * DAY);
}

/* An erased customer opted out before keeps saying so at a second erasure, which finds no
 * number left to look up. */
static void test_erase_twice_keeps_the_opt_out(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	suppress(f, PHONE, T0 + 10);
	erase_ok(f, "cust-42", T0 + 20, &sum);
	erase_ok(f, "cust-42", T0 + 30, &sum);
	assert_int_equal(sum.opted_out, 1);
	assert_int_equal(sum.suppressions, 0);
	assert_int_equal(sum.erased_at, T0 + 20);
}

static void test_erase_leaves_another_customer_on_the_same_number(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct new_survey mine;

	create_sent(f, "theirs", "cust-43", PHONE, "nps", T0);
	sn_init(&mine, "mine", "cust-42", PHONE, T0 + 10);
	assert_int_equal(create(f, &mine.sn), SURVEY_CREATED);
	erase_ok(f, "cust-42", T0 + 20, &sum);
	assert_int_equal(sum.phone_shared, 1);
	ASSERT_Q(f, PHONE, "SELECT phone FROM customers WHERE ext_id = 'cust-43'");
	ASSERT_Q(f, PHONE, "SELECT phone FROM surveys WHERE id = 'theirs'");
	ASSERT_Q(f, PHONE, "SELECT phone FROM messages WHERE survey_id = 'theirs'");
	ASSERT_Q(f, "", "SELECT phone FROM surveys WHERE id = 'mine'");
}

static void test_erase_forgets_idempotent_answers_naming_the_number(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct gw_err err = { 0 };
	enum idem_state st;
	char *resp = NULL;
	int status = 0;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	assert_int_equal(pg_idem_begin(f->st, "k1", "h1", T0, 60, &st, &status, &resp, &err), 0);
	assert_int_equal(pg_idem_finish(f->st, "k1", 202, "{\"id\":\"s1\",\"phone\":\"" PHONE "\"}",
					&err),
			 0);
	assert_int_equal(pg_idem_begin(f->st, "k2", "h2", T0, 60, &st, &status, &resp, &err), 0);
	assert_int_equal(pg_idem_finish(f->st, "k2", 202,
					"{\"id\":\"x\",\"phone\":\"" PHONE_2 "\"}", &err),
			 0);
	assert_int_equal(pg_idem_begin(f->st, "k3", "h3", T0, 60, &st, &status, &resp, &err), 0);
	erase_ok(f, "cust-42", T0 + 20, &sum);
	assert_int_equal(sum.idempotency_keys, 1);
	ASSERT_Q(f, "k2,k3", "SELECT string_agg(key, ',' ORDER BY key) FROM idempotency");
}

/* Outbound events still held (not delivered, or given up) that name the customer's surveys or
 * number are dropped; others stay. */
static void test_erase_drops_held_events_about_the_customer(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	create_sent(f, "s9", "cust-43", PHONE_2, "nps", T0);
	pg_test_exec(
		&f->db,
		"INSERT INTO events (id, type, body, status, next_attempt_at, created_at) VALUES"
		" ('e1', 'response.created', '{\"survey\":{\"id\":\"s1\"},\"comment\":\"x\"}',"
		"  'pending', 0, 0),"
		" ('e2', 'customer.opted_out', '{\"customer\":{\"phone\":\"" PHONE "\"}}',"
		"  'expired', 0, 0),"
		" ('e3', 'response.created', '{\"survey\":{\"id\":\"s9\"}}', 'pending', 0, 0)");
	erase_ok(f, "cust-42", T0 + 10, &sum);
	assert_int_equal(sum.events, 2);
	ASSERT_Q(f, "e3", "SELECT string_agg(id, ',') FROM events");
}

/* After an erasure no text column of any table holds the customer's number (with or without
 * its +), name or comment; the other customer's number is still there. */
static void test_erase_leaves_the_customer_in_no_column_of_any_table(void **state)
{
	static const char *const gone[] = { PHONE, PHONE + 1, NAME, COMMENT, PHONE_HASH + 7 };
	struct fx *f = *state;
	struct erase_summary sum;
	struct new_survey other;
	struct gw_err err = { 0 };
	enum idem_state ist;
	char *resp = NULL, got[512];
	int status = 0;

	answered_customer(f);
	sn_init(&other, "other", "cust-43", PHONE_2, T0 + 200);
	other.sn.name = "Bea";
	other.sn.question = "Hola Bea, del 0 al 10?";
	assert_int_equal(create(f, &other.sn), SURVEY_CREATED);
	send_due(f, T0 + 200);
	suppress(f, PHONE, T0 + 300);
	assert_int_equal(pg_idem_begin(f->st, "k1", "h1", T0, 60, &ist, &status, &resp, &err), 0);
	assert_int_equal(pg_idem_finish(f->st, "k1", 202, "{\"id\":\"s1\",\"phone\":\"" PHONE "\"}",
					&err),
			 0);
	pg_test_exec(&f->db,
		     "INSERT INTO events (id, type, body, next_attempt_at, created_at) VALUES"
		     " ('e1', 'customer.opted_out', '{\"customer\":{\"phone\":\"" PHONE
		     "\"}}', 0, 0)");
	pg_test_exec(&f->db, "UPDATE messages SET error_message = 'To " PHONE " failed'"
			     " WHERE survey_id = 's1' AND purpose = 'survey'");

	/* the search is not blind */
	columns_holding(f, PHONE, got, sizeof(got));
	assert_string_equal(
		got, "customers.phone,events.body,idempotency.response,messages.error_message,"
		     "messages.phone,suppressions.phone,surveys.phone");
	columns_holding(f, NAME, got, sizeof(got));
	assert_string_equal(got, "customers.name,messages.body,surveys.name");
	columns_holding(f, COMMENT, got, sizeof(got));
	assert_string_equal(got, "messages.body,responses.comment,responses.raw_text");

	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	for (size_t i = 0; i < ARRAY_LEN(gone); i++) {
		columns_holding(f, gone[i], got, sizeof(got));
		EXPECT_STR(gone[i], "columns holding it", got,
			   strcmp(gone[i], PHONE_HASH + 7) == 0 ? "suppressions.phone" : "");
	}
	columns_holding(f, PHONE_2, got, sizeof(got));
	assert_string_equal(got, "customers.phone,messages.phone,surveys.phone");
}

/* A statement of the erasure refused by the database: 503 store_unavailable, and nothing of
 * the erasure is kept (its earlier statements are undone with it). */
static void test_erase_refused_by_the_database_fails_503_and_keeps_nothing(void **state)
{
	struct fx *f = *state;
	struct erase_summary sum;
	struct gw_err err = { 0 };

	answered_customer(f);
	pg_test_exec(&f->db, "INSERT INTO suppressions (phone, opted_out, updated_at)"
			     " VALUES ('" PHONE "', 1, 1)");
	pg_test_exec(&f->db, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
			     " $$BEGIN RAISE EXCEPTION 'refused'; END$$");
	pg_test_exec(&f->db, "CREATE TRIGGER refuse BEFORE UPDATE ON customers"
			     " FOR EACH ROW EXECUTE FUNCTION refuse()");
	assert_int_equal(pg_erase_customer(f->st, "cust-42", T0 + 5 * DAY, &sum, &err), -1);
	assert_int_equal(err.http_status, 503);
	assert_string_equal(err.code, "store_unavailable");
	ASSERT_Q(f, "2", "SELECT count(*) FROM surveys WHERE phone = '" PHONE "'");
	ASSERT_Q(f, "queued", "SELECT status FROM surveys WHERE id = 's2'");
	ASSERT_Q(f, PHONE, "SELECT phone FROM suppressions");
	ASSERT_Q(f, "0", "SELECT count(*) FROM messages WHERE body = '' OR phone = ''");
	ASSERT_Q(f, "9|" COMMENT, "SELECT score || '|' || comment FROM responses");
	/* the store goes on */
	pg_test_exec(&f->db, "DROP TRIGGER refuse ON customers");
	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	assert_int_equal(sum.surveys, 2);
}

/* The purge refused halfway: 503, nothing purged. */
static void test_purge_refused_by_the_database_fails_503_and_keeps_nothing(void **state)
{
	struct fx *f = *state;
	struct gw_err err = { 0 };
	size_t n = 99;

	answered_customer(f);
	pg_test_exec(&f->db, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
			     " $$BEGIN RAISE EXCEPTION 'refused'; END$$");
	pg_test_exec(&f->db, "CREATE TRIGGER refuse BEFORE UPDATE ON responses"
			     " FOR EACH ROW EXECUTE FUNCTION refuse()");
	assert_int_equal(pg_purge_texts(f->st, T0 + DAY, &n, &err), -1);
	assert_int_equal(n, 0);
	assert_int_equal(err.http_status, 503);
	assert_string_equal(err.code, "store_unavailable");
	ASSERT_Q(f, "0", "SELECT count(*) FROM messages WHERE body = ''");
}

/* ---- erasure and other instances -------------------------------------------------------------- */

/* A transaction held open on an instance's writer: the job signals that it runs, then waits to
 * be let go. */
struct gate {
	pthread_mutex_t m;
	pthread_cond_t c;
	int running, released;
	const char *sql;       /* run first, when set */
	const char *sql_after; /* run once let go, when set */
	struct pg_store *st;
	int rc;
	struct gw_err err;
};

static void gate_init(struct gate *g, struct pg_store *st, const char *sql)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->m, NULL);
	pthread_cond_init(&g->c, NULL);
	g->st = st;
	g->sql = sql;
}

static int gate_job(struct pg_store *st, void *arg, struct gw_err *err)
{
	struct gate *g = arg;

	if (g->sql && pg_exec(st->wconn, st->where, g->sql, "gate", NULL, err) < 0)
		return -1;
	pthread_mutex_lock(&g->m);
	g->running = 1;
	pthread_cond_broadcast(&g->c);
	while (!g->released)
		pthread_cond_wait(&g->c, &g->m);
	pthread_mutex_unlock(&g->m);
	if (g->sql_after && pg_exec(st->wconn, st->where, g->sql_after, "gate", NULL, err) < 0)
		return -1;
	return 0;
}

static void *gate_thread(void *arg)
{
	struct gate *g = arg;

	g->rc = pg_run(g->st, gate_job, g, &g->err);
	return NULL;
}

static void gate_wait_running(struct gate *g)
{
	pthread_mutex_lock(&g->m);
	while (!g->running)
		pthread_cond_wait(&g->c, &g->m);
	pthread_mutex_unlock(&g->m);
}

static void gate_release(struct gate *g)
{
	pthread_mutex_lock(&g->m);
	g->released = 1;
	pthread_cond_broadcast(&g->c);
	pthread_mutex_unlock(&g->m);
}

static void gate_free(struct gate *g)
{
	pthread_mutex_destroy(&g->m);
	pthread_cond_destroy(&g->c);
}

/* Whether a session of the database waits for a lock (the erasure, on another instance). */
static int someone_waits_for_a_lock(struct fx *f)
{
	return q_int(f, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
			" AND datname = current_database()") > 0;
}

struct eraser {
	struct pg_store *st;
	const char *cust;
	int64_t now;
	struct erase_summary sum;
	struct gw_err err;
	int rc;
};

static void *erase_thread(void *arg)
{
	struct eraser *e = arg;

	e->rc = pg_erase_customer(e->st, e->cust, e->now, &e->sum, &e->err);
	return NULL;
}

/* Erases cust-42 on the fixture's instance while instance b holds `sql` written and
 * uncommitted, letting b commit once the erasure waits for it; the erasure's outcome in *e. */
static void erase_while_another_instance_writes(struct fx *f, const char *sql,
						const char *sql_after, struct eraser *e)
{
	struct pg_store *b = open_another(f);
	struct gate g;
	pthread_t tg, te;

	*e = (struct eraser){ .st = f->st, .cust = "cust-42", .now = T0 + 100 };
	gate_init(&g, b, sql);
	g.sql_after = sql_after;
	assert_int_equal(pthread_create(&tg, NULL, gate_thread, &g), 0);
	gate_wait_running(&g);
	assert_int_equal(pthread_create(&te, NULL, erase_thread, e), 0);
	for (int i = 0; i < 500 && !someone_waits_for_a_lock(f); i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	assert_true(someone_waits_for_a_lock(f));
	gate_release(&g);
	pthread_join(tg, NULL);
	pthread_join(te, NULL);
	gate_free(&g);
	pg_store_close(b);
	if (g.rc != 0)
		fail_msg("instance b: %s", g.err.msg);
	if (e->rc != 0)
		fail_msg("pg_erase_customer: %d %s", e->rc, e->err.msg);
}

/* A trigger for the customer being written by another instance when the erasure starts: the
 * erasure waits for it to commit and erases its survey with the rest. */
static void test_erase_waits_for_a_trigger_in_flight_on_another_instance(void **state)
{
	struct fx *f = *state;
	struct eraser e;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	/* what pg_create_survey writes */
	erase_while_another_instance_writes(
		f,
		"UPDATE customers SET phone = '" PHONE "', name = '" NAME "', updated_at = 1000050"
		" WHERE ext_id = 'cust-42';"
		"INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
		" interaction_id, status, created_at, send_after)"
		" SELECT 's2', id, '" PHONE "', '" NAME "', 'es', 'csat', 'sms', 'twilio',"
		" 'chat-s2', 'queued', 1000050, 1000050 FROM customers WHERE ext_id = 'cust-42';"
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone,"
		" body, status, next_attempt_at, created_at, updated_at) VALUES ('s2', 'out',"
		" 'survey', 'sms', 'twilio', '" PHONE "', 'Hola " NAME "', 'queued', 1000050,"
		" 1000050, 1000050)",
		NULL, &e);
	assert_int_equal(e.sum.surveys, 2);
	assert_int_equal(e.sum.cancelled, 1);
	ASSERT_Q(f, "skipped|erased|",
		 "SELECT status || '|' || reason || '|' || phone FROM surveys WHERE id = 's2'");
	ASSERT_Q(f, "cancelled|",
		 "SELECT status || '|' || phone FROM messages WHERE survey_id = 's2'");
	ASSERT_Q(f, "0", "SELECT count(*) FROM customers WHERE phone <> '' OR name IS NOT NULL");
}

/* An answer to the customer's survey being written by another instance when the erasure
 * starts: the erasure waits for it to commit and blanks its comment and text. */
static void test_erase_waits_for_an_answer_in_flight_on_another_instance(void **state)
{
	struct fx *f = *state;
	struct eraser e;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	/* what the inbound path writes for an answer */
	erase_while_another_instance_writes(
		f,
		"UPDATE surveys SET status = 'answered', answered_at = 1000060 WHERE id = 's1';"
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
		" status, provider_message_id, created_at, updated_at) VALUES ('s1', 'in', 'reply',"
		" 'sms', 'twilio', '" PHONE "', '9 " COMMENT "', 'received', 'IN-1', 1000060,"
		" 1000060);"
		"INSERT INTO responses (survey_id, score, comment, raw_text, message_id, answered_at)"
		" SELECT 's1', 9, '" COMMENT "', '9 " COMMENT "', id, 1000060 FROM messages"
		" WHERE provider_message_id = 'IN-1'",
		NULL, &e);
	assert_int_equal(e.sum.responses, 1);
	assert_int_equal(e.sum.messages, 2);
	ASSERT_Q(f, "9||", "SELECT score || '|' || comment || '|' || raw_text FROM responses");
	ASSERT_Q(f, "0", "SELECT count(*) FROM messages WHERE body <> '' OR phone <> ''");
}

/* A STOP from the customer's number being recorded by another instance when the erasure
 * starts (its surveys first, then its customers, as pg_suppress_phone() writes them): the
 * erasure waits for it, without a deadlock, and keeps the opt-out as the number's hash. */
static void test_erase_waits_for_an_opt_out_in_flight_on_another_instance(void **state)
{
	struct fx *f = *state;
	struct new_survey later;
	struct eraser e;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	sn_init(&later, "s2", "cust-42", PHONE, T0 + 10);
	later.sn.send_after = T0 + DAY;
	assert_int_equal(create(f, &later.sn), SURVEY_CREATED);
	erase_while_another_instance_writes(
		f,
		"INSERT INTO suppressions (phone, opted_out, opted_out_at, provider, updated_at)"
		" VALUES ('" PHONE "', 1, 1000050, 'twilio', 1000050);"
		"UPDATE surveys SET status = 'skipped', reason = 'opted_out'"
		" WHERE phone = '" PHONE "' AND status = 'queued'",
		"UPDATE customers SET opted_out = 1 WHERE phone = '" PHONE "'", &e);
	assert_int_equal(e.sum.suppressions, 1);
	assert_int_equal(e.sum.opted_out, 1);
	assert_int_equal(e.sum.cancelled, 0);
	ASSERT_Q(f, PHONE_HASH "|1", "SELECT phone || '|' || opted_out FROM suppressions");
	ASSERT_Q(f, "skipped|opted_out",
		 "SELECT status || '|' || reason FROM surveys"
		 " WHERE id = 's2'");
	ASSERT_Q(f, "|1", "SELECT phone || '|' || opted_out FROM customers");
}

/* A trigger after the erasure committed, on another instance, is a new fact: its survey and
 * the number it brings stay. */
static void test_a_trigger_after_the_erasure_is_a_new_fact(void **state)
{
	struct fx *f = *state;
	struct pg_store *b;
	struct erase_summary sum;
	struct new_survey again;
	struct customer_history h;

	answered_customer(f);
	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	b = open_another(f);
	sn_init(&again, "s3", "cust-42", PHONE, T0 + 6 * DAY);
	assert_int_equal(create_on(b, &again.sn), SURVEY_CREATED);
	pg_store_close(b);
	ASSERT_Q(f, PHONE "|queued", "SELECT phone || '|' || status FROM surveys WHERE id = 's3'");
	history_ok(f, "cust-42", 10, &h);
	assert_string_equal(h.customer.phone, PHONE);
	assert_int_equal(h.customer.erased_at, T0 + 5 * DAY);
	assert_int_equal(h.n, 3);
	assert_string_equal(h.surveys[0].id, "s3");
	customer_history_release(&h);
}

/* ---- retention ------------------------------------------------------------------------------ */

static void test_purge_blanks_old_texts_and_keeps_new_and_unsent_ones(void **state)
{
	struct fx *f = *state;
	struct gw_err err = { 0 };
	size_t n = 0;

	answered_customer(f); /* texts at T0, T0+60 (answer, thanks), T0+120 (queued), T0+3d */
	assert_int_equal(pg_purge_texts(f->st, T0 + DAY, &n, &err), 0);
	assert_int_equal(n, 4); /* question, answer, thanks; the response */
	ASSERT_Q(f, "0",
		 "SELECT count(*) FROM messages WHERE created_at < 1086400 AND body <> ''"
		 " AND status <> 'queued'");
	ASSERT_Q(f, "Hola " NAME ", del 0 al 10?",
		 "SELECT body FROM messages WHERE survey_id = 's2'");
	ASSERT_Q(f, "hola? " COMMENT,
		 "SELECT body FROM messages WHERE provider_message_id = 'IN-2'");
	ASSERT_Q(f, "9||", "SELECT score || '|' || comment || '|' || raw_text FROM responses");
	ASSERT_Q(f, PHONE, "SELECT phone FROM customers");
	assert_int_equal(pg_purge_texts(f->st, T0 + DAY, &n, &err), 0);
	assert_int_equal(n, 0);
}

/* Messages still to be sent or resent keep their text, however old. */
static void test_purge_spares_messages_still_to_be_sent(void **state)
{
	static const struct {
		const char *status;
		int purged;
	} rows[] = {
		{ "queued", 0 },    { "sending", 0 }, { "uncertain", 0 }, { "sent", 1 },
		{ "delivered", 1 }, { "failed", 1 },  { "cancelled", 1 }, { "received", 1 },
	};
	struct fx *f = *state;
	struct gw_err err = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		char sql[512];

		snprintf(sql, sizeof(sql),
			 "INSERT INTO messages (direction, purpose, provider, phone, body, status,"
			 " created_at, updated_at) VALUES ('out', 'thanks', 'twilio', '" PHONE "',"
			 " 'text %s', '%s', 10, 10)",
			 rows[i].status, rows[i].status);
		pg_test_exec(&f->db, sql);
	}
	assert_int_equal(pg_purge_texts(f->st, 11, &n, &err), 0);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		char sql[256], got[64];

		snprintf(sql, sizeof(sql), "SELECT body FROM messages WHERE status = '%s'",
			 rows[i].status);
		pg_test_query(&f->db, sql, got, sizeof(got));
		EXPECT_INT(rows[i].status, "purged", got[0] == '\0', rows[i].purged);
	}
	assert_int_equal(n, 5);
}

struct purger {
	struct pg_store *st;
	size_t n;
	int rc;
	struct gw_err err;
};

static void *purge_thread(void *arg)
{
	struct purger *p = arg;

	p->rc = pg_purge_texts(p->st, T0 + DAY, &p->n, &p->err);
	return NULL;
}

static int gate_job_ptr(struct pg_store *st, void *arg, struct gw_err *err)
{
	return gate_job(st, *(struct gate **)arg, err);
}

/* Whether a job waits in instance st's writer queue. */
static int job_waiting(struct pg_store *st)
{
	int waiting;

	pthread_mutex_lock(&st->q.lock);
	waiting = st->q.head != NULL;
	pthread_mutex_unlock(&st->q.lock);
	return waiting;
}

/* One instance purges at a time: while instance a's purge is in its open transaction, instance
 * b's purge answers at once, 0 with nothing done (it neither waits for a's rows nor purges
 * them twice); a's purge then commits what it did. */
static void test_purge_runs_on_one_instance_at_a_time(void **state)
{
	struct fx *f = *state;
	struct pg_store *b;
	struct gate first, after, *afterp = &after;
	struct purger pa = { .st = f->st }, pb = { 0 };
	struct gw_err err = { 0 };
	struct timespec until;
	pthread_t t0, ta, tb;
	int answered;

	answered_customer(f);
	b = open_another(f);
	pb.st = b;
	pb.n = 99;
	/* instance a's writer: [first] then [purge, after], `after` holding the purge's
	 * transaction open */
	gate_init(&first, f->st, NULL);
	gate_init(&after, f->st, NULL);
	assert_int_equal(pthread_create(&t0, NULL, gate_thread, &first), 0);
	gate_wait_running(&first);
	assert_int_equal(pthread_create(&ta, NULL, purge_thread, &pa), 0);
	while (!job_waiting(f->st))
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	assert_int_equal(pg_submit(f->st, gate_job_ptr, &afterp, sizeof(afterp), &err, NULL, NULL),
			 0);
	gate_release(&first);
	pthread_join(t0, NULL);
	gate_wait_running(&after);

	assert_int_equal(pthread_create(&tb, NULL, purge_thread, &pb), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	answered = pthread_timedjoin_np(tb, NULL, &until) == 0;
	gate_release(&after);
	if (!answered)
		pthread_join(tb, NULL);
	pthread_join(ta, NULL);
	while (job_waiting(f->st))
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	gate_free(&first);
	if (!answered)
		fail_msg("instance b's purge waited for instance a's");
	assert_int_equal(pb.rc, 0);
	assert_int_equal(pb.n, 0);
	assert_int_equal(pa.rc, 0);
	assert_int_equal(pa.n, 4);
	ASSERT_Q(f, "9||", "SELECT score || '|' || comment || '|' || raw_text FROM responses");
	/* the lock went with a's transaction */
	pb.n = 99;
	purge_thread(&pb);
	assert_int_equal(pb.rc, 0);
	assert_int_equal(pb.n, 0);
	pg_store_close(b); /* after `after` ran: it uses the gate */
	gate_free(&after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_open, fx_free)
		T(test_history_finds_a_suppression_kept_as_the_hash_of_the_number),
		T(test_history_of_unknown_customer_is_not_found),
		T(test_history_lists_surveys_newest_first_with_latest_nps),
		T(test_history_without_nps_answer_has_no_latest_nps),
		T(test_history_latest_nps_is_the_newest_answer),
		T(test_history_opted_out_follows_the_suppression),
		T(test_erase_unknown_customer_writes_nothing),
		T(test_erase_blanks_identity_and_texts_and_keeps_scores),
		T(test_erased_customer_queued_survey_is_never_sent),
		T(test_erase_while_sending_writes_nothing_back),
		T(test_erase_keeps_the_opt_out_as_a_hash),
		T(test_erase_of_a_number_erased_before_keeps_one_record),
		T(test_erase_twice_changes_nothing_the_second_time),
		T(test_erase_twice_keeps_the_opt_out),
		T(test_erase_leaves_another_customer_on_the_same_number),
		T(test_erase_forgets_idempotent_answers_naming_the_number),
		T(test_erase_drops_held_events_about_the_customer),
		T(test_erase_leaves_the_customer_in_no_column_of_any_table),
		T(test_erase_refused_by_the_database_fails_503_and_keeps_nothing),
		T(test_erase_waits_for_a_trigger_in_flight_on_another_instance),
		T(test_erase_waits_for_an_answer_in_flight_on_another_instance),
		T(test_erase_waits_for_an_opt_out_in_flight_on_another_instance),
		T(test_a_trigger_after_the_erasure_is_a_new_fact),
		T(test_purge_blanks_old_texts_and_keeps_new_and_unsent_ones),
		T(test_purge_spares_messages_still_to_be_sent),
		T(test_purge_runs_on_one_instance_at_a_time),
		T(test_purge_refused_by_the_database_fails_503_and_keeps_nothing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
