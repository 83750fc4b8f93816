/*
 * test_customers.c - a customer's history, erasure and the retention purge (store.h, section
 * "customers"), on either backend (GATEWAY_TEST_BACKEND=postgres: PostgreSQL), as a
 * specification.
 *
 * Each test gets a fresh temp directory with its own database and drives the store only through
 * store.h; what a call left behind is checked from a connection of the test's own, and, for
 * erasure on SQLite, by scanning the raw bytes of the database, its -wal and its -shm files for
 * the phone number, the name and the comment, the way someone holding a copy of the disk would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
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

/* ---- fixture ---------------------------------------------------------------------------- */

static int fx_open(void **state)
{
	return temp_store_setup(state, "test_customers", "gateway.db", 1);
}

static int fx_free(void **state)
{
	return temp_store_teardown(state);
}

/* ---- the file, read directly ------------------------------------------------------------ */

/* The one text (or "(null)") or integer the query answers, on a connection of its own to the
 * store's database, whichever the backend: SQL both accept. */
static void q_text(struct temp_store *f, char *out, size_t n, const char *sql)
{
	temp_store_query(f, sql, out, n, NULL);
}

static long long q_int(struct temp_store *f, const char *sql)
{
	char v[64];

	q_text(f, v, sizeof(v), sql);
	return strtoll(v, NULL, 10);
}

#define ASSERT_Q(f, want, sql) do {                                     \
		char got_[512];                                         \
		q_text((f), got_, sizeof(got_), (sql));                 \
		if (strcmp(got_, (want)) != 0)                          \
			fail_msg("%s: \"%s\", want \"%s\"", (sql), got_, (want)); \
	} while (0)

/* How many of gateway.db, -wal and -shm hold `needle` somewhere in their bytes (a missing file
 * holds nothing). */
static int files_holding(struct temp_store *f, const char *needle)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	int found = 0;

	for (size_t i = 0; i < ARRAY_LEN(suffix); i++) {
		char p[256];
		FILE *fp;
		char *buf;
		long len;

		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		if (!(fp = fopen(p, "rb")))
			continue;
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		rewind(fp);
		buf = malloc((size_t)len + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
		fclose(fp);
		if (memmem(buf, (size_t)len, needle, strlen(needle)))
			found++;
		free(buf);
	}
	return found;
}

/* ---- making customers, surveys and answers ----------------------------------------------- */

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

static int create(struct temp_store *f, const struct survey_new *sn)
{
	struct gw_err err = { 0 };
	char id[SURVEY_ID_LEN];
	int outcome = -1;

	if (store_create_survey(f->st, sn, id, &outcome, &err) != 0)
		fail_msg("store_create_survey(%s): %s", sn->id, err.msg);
	return outcome;
}

/* Sends every due message of twilio at `now` (the provider id is "SM-<message id>"). */
static void send_due(struct temp_store *f, int64_t now)
{
	struct outbox_item items[8];
	struct gw_err err = { 0 };
	size_t n = 0;

	assert_int_equal(store_claim_due(f->st, now, "twilio", items, ARRAY_LEN(items), &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		char pid[64];

		snprintf(pid, sizeof(pid), "SM-%lld", (long long)items[i].message_id);
		assert_int_equal(store_send_accepted(f->st, items[i].message_id, pid, now, &err), 0);
		outbox_item_release(&items[i]);
	}
}

/* A survey created and sent at `now`. */
static void create_sent(struct temp_store *f, const char *id, const char *cust, const char *phone,
			const char *kind, int64_t now)
{
	struct new_survey n;

	sn_init(&n, id, cust, phone, now);
	n.sn.kind = kind;
	assert_int_equal(create(f, &n.sn), SURVEY_CREATED);
	send_due(f, now);
}

struct decision_ctx {
	struct inbound_decision d;
};

static void decide(void *ctx, const struct inbound_view *v, struct inbound_decision *out)
{
	(void)v;
	*out = ((struct decision_ctx *)ctx)->d;
}

/* A text from `from`, which the rules take as `action` (a score with COMMENT), replying with
 * `reply` (NULL: none). */
static void text_in(struct temp_store *f, const char *from, const char *pid, const char *text,
		    enum inbound_action action, int score, const char *reply, int64_t now)
{
	struct decision_ctx c = { .d = { .action = action, .score = score, .comment = COMMENT,
					 .comment_len = strlen(COMMENT), .reply = reply,
					 .reply_purpose = "thanks" } };
	struct inbound_in in = { .provider = "twilio", .provider_message_id = pid, .from = from,
				 .text = text, .text_len = strlen(text), .now = now };
	struct inbound_result res;
	struct gw_err err = { 0 };

	if (store_record_inbound(f->st, &in, decide, &c, &res, &err) != 0)
		fail_msg("store_record_inbound(%s): %s", pid, err.msg);
}

static void erase_ok(struct temp_store *f, const char *cust, int64_t now, struct erase_summary *sum)
{
	struct gw_err err = { 0 };
	int rc = store_erase_customer(f->st, cust, now, sum, &err);

	if (rc != 0)
		fail_msg("store_erase_customer(%s): %d %s", cust, rc, err.msg);
}

static void wipe_ok(struct temp_store *f)
{
	struct gw_err err = { 0 };

	if (store_wipe_freed(f->st, 1000, &err) != 0)
		fail_msg("store_wipe_freed: %s", err.msg);
}

/* cust-42 with an answered NPS survey (score 9 and COMMENT, a thank-you sent), a later CSAT
 * survey still queued, and a text from the number outside any survey. */
static void answered_customer(struct temp_store *f)
{
	struct new_survey later;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	text_in(f, PHONE, "IN-1", "9 " COMMENT, INBOUND_ANSWER, 9, "Gracias " NAME, T0 + 60);
	send_due(f, T0 + 60);
	sn_init(&later, "s2", "cust-42", PHONE, T0 + 120);
	later.sn.kind = "csat";
	later.sn.send_after = T0 + DAY;
	assert_int_equal(create(f, &later.sn), SURVEY_CREATED);
	text_in(f, PHONE, "IN-2", "hola? " COMMENT, INBOUND_STORE_ONLY, 0, NULL, T0 + 3 * DAY);
}

/* ---- the phone hash ----------------------------------------------------------------------- */

static void test_phone_hash_is_sha256_hex_of_the_number(void **state)
{
	char h[STORE_PHONE_HASH_LEN];

	(void)state;
	store_phone_hash(PHONE, h);
	assert_string_equal(h, PHONE_HASH);
	store_phone_hash(PHONE_2, h);
	assert_int_equal(strlen(h), STORE_PHONE_HASH_LEN - 1);
	assert_string_not_equal(h, PHONE_HASH);
}

/* ---- history ------------------------------------------------------------------------------ */

static void test_history_of_unknown_customer_is_not_found(void **state)
{
	struct temp_store *f = *state;
	struct customer_history h;
	struct gw_err err = { 0 };

	assert_int_equal(store_customer_history(f->st, "nobody", 10, &h, &err), 1);
	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	assert_int_equal(store_customer_history(f->st, "cust-4", 10, &h, &err), 1);
}

static void test_history_lists_surveys_newest_first_with_latest_nps(void **state)
{
	struct temp_store *f = *state;
	struct customer_history h;
	struct gw_err err = { 0 };

	answered_customer(f);
	create_sent(f, "other", "cust-43", PHONE_2, "nps", T0 + 200);
	assert_int_equal(store_customer_history(f->st, "cust-42", 10, &h, &err), 0);
	assert_string_equal(h.customer.id, "cust-42");
	assert_string_equal(h.customer.phone, PHONE);
	assert_string_equal(h.customer.name, NAME);
	assert_string_equal(h.customer.locale, "es");
	assert_string_equal(h.customer.timezone, "Europe/Madrid");
	assert_int_equal(h.customer.opted_out, 0);
	assert_int_equal(h.customer.erased_at, 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.more, 0);
	assert_string_equal(h.surveys[0].id, "s2");
	assert_string_equal(h.surveys[0].kind, "csat");
	assert_string_equal(h.surveys[0].status, "queued");
	assert_int_equal(h.surveys[0].has_response, 0);
	assert_string_equal(h.surveys[1].id, "s1");
	assert_string_equal(h.surveys[1].status, "answered");
	assert_string_equal(h.surveys[1].touchpoint, "support_chat");
	assert_string_equal(h.surveys[1].agent, "agent-7");
	assert_int_equal(h.surveys[1].created_at, T0);
	assert_int_equal(h.surveys[1].sent_at, T0);
	assert_int_equal(h.surveys[1].answered_at, T0 + 60);
	assert_int_equal(h.surveys[1].has_response, 1);
	assert_int_equal(h.surveys[1].score, 9);
	assert_string_equal(h.surveys[1].comment, COMMENT);
	assert_int_equal(h.has_latest_nps, 1);
	assert_int_equal(h.latest_nps_score, 9);
	assert_string_equal(h.latest_nps_survey, "s1");
	assert_int_equal(h.latest_nps_at, T0 + 60);
	customer_history_release(&h);

	/* the limit cuts the list, not the latest NPS */
	assert_int_equal(store_customer_history(f->st, "cust-42", 1, &h, &err), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.more, 1);
	assert_string_equal(h.surveys[0].id, "s2");
	assert_int_equal(h.has_latest_nps, 1);
	assert_string_equal(h.latest_nps_survey, "s1");
	customer_history_release(&h);
}

static void test_history_without_nps_answer_has_no_latest_nps(void **state)
{
	struct temp_store *f = *state;
	struct customer_history h;
	struct gw_err err = { 0 };

	create_sent(f, "c1", "cust-42", PHONE, "csat", T0);
	text_in(f, PHONE, "IN-1", "5", INBOUND_ANSWER, 5, NULL, T0 + 10);
	create_sent(f, "n1", "cust-42", PHONE, "nps", T0 + 20);
	assert_int_equal(store_customer_history(f->st, "cust-42", 10, &h, &err), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.has_latest_nps, 0);
	customer_history_release(&h);
}

static void test_history_opted_out_follows_the_suppression(void **state)
{
	struct temp_store *f = *state;
	struct customer_history h;
	struct gw_err err = { 0 };

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	text_in(f, PHONE, "IN-1", "STOP", INBOUND_OPT_OUT, 0, NULL, T0 + 10);
	assert_int_equal(store_customer_history(f->st, "cust-42", 10, &h, &err), 0);
	assert_int_equal(h.customer.opted_out, 1);
	customer_history_release(&h);
	text_in(f, PHONE, "IN-2", "START", INBOUND_OPT_IN, 0, NULL, T0 + 20);
	assert_int_equal(store_customer_history(f->st, "cust-42", 10, &h, &err), 0);
	assert_int_equal(h.customer.opted_out, 0);
	customer_history_release(&h);
}

/* ---- erasure ------------------------------------------------------------------------------ */

static void test_erase_unknown_customer_writes_nothing(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct gw_err err = { 0 };

	answered_customer(f);
	assert_int_equal(store_erase_customer(f->st, "cust-4", T0 + 5 * DAY, &sum, &err), 1);
	ASSERT_Q(f, PHONE, "SELECT phone FROM customers WHERE ext_id = 'cust-42'");
	ASSERT_Q(f, "0", "SELECT count(*) FROM customers WHERE erased_at IS NOT NULL");
}

static void test_erase_blanks_identity_and_texts_and_keeps_scores(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct customer_history h;
	struct gw_err err = { 0 };

	answered_customer(f);
	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	assert_int_equal(sum.surveys, 2);
	assert_int_equal(sum.responses, 1);
	assert_int_equal(sum.messages, 5);     /* question, thanks, queued csat, two texts in */
	assert_int_equal(sum.cancelled, 1);
	assert_int_equal(sum.suppressions, 0);
	assert_int_equal(sum.opted_out, 0);
	assert_int_equal(sum.phone_shared, 0);
	assert_int_equal(sum.erased_at, T0 + 5 * DAY);

	ASSERT_Q(f, "|(null)|(null)|es", "SELECT phone || '|' || coalesce(name, '(null)') || '|'"
		 " || coalesce(timezone, '(null)') || '|' || locale FROM customers"
		 " WHERE ext_id = 'cust-42'");
	ASSERT_Q(f, "0", "SELECT count(*) FROM surveys WHERE phone <> '' OR name IS NOT NULL"
		 " OR timezone IS NOT NULL OR provider_message_id IS NOT NULL");
	ASSERT_Q(f, "0", "SELECT count(*) FROM messages WHERE phone <> '' OR body <> ''"
		 " OR provider_message_id IS NOT NULL");
	ASSERT_Q(f, "9||", "SELECT score || '|' || comment || '|' || raw_text FROM responses");
	/* what reports count stays */
	ASSERT_Q(f, "nps|sms|support_chat|agent-7|answered",
		 "SELECT kind || '|' || channel || '|' || touchpoint || '|' || agent || '|' || status"
		 " FROM surveys WHERE id = 's1'");
	ASSERT_Q(f, "skipped|erased", "SELECT status || '|' || reason FROM surveys WHERE id = 's2'");
	ASSERT_Q(f, "cancelled", "SELECT status FROM messages WHERE survey_id = 's2'");

	assert_int_equal(store_customer_history(f->st, "cust-42", 10, &h, &err), 0);
	assert_string_equal(h.customer.phone, "");
	assert_string_equal(h.customer.name, "");
	assert_int_equal(h.customer.erased_at, T0 + 5 * DAY);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.surveys[1].score, 9);
	assert_string_equal(h.surveys[1].comment, "");
	assert_int_equal(h.latest_nps_score, 9);
	customer_history_release(&h);
}

static void test_erased_customer_queued_survey_is_never_sent(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct outbox_item items[4];
	struct gw_err err = { 0 };
	size_t n = 99;

	answered_customer(f);
	erase_ok(f, "cust-42", T0 + 200, &sum);
	assert_int_equal(store_claim_due(f->st, T0 + 30 * DAY, "twilio", items, ARRAY_LEN(items), &n,
					 &err), 0);
	assert_int_equal(n, 0);
}

/* A survey whose text is with the provider when its customer is erased: it is cancelled, and the
 * outcome that comes back afterwards writes nothing (no provider id, which may encode the number;
 * no retry to an empty number); another customer's send in the same moment is recorded. */
static void test_erase_while_sending_writes_nothing_back(void **state)
{
	struct temp_store *f = *state;
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
	assert_int_equal(store_claim_due(f->st, T0, "twilio", items, ARRAY_LEN(items), &n, &err), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(items[i].survey_id, "sa") == 0)
			ma = items[i].message_id;
		else
			mb = items[i].message_id;
		outbox_item_release(&items[i]);
	}
	erase_ok(f, "cust-42", T0 + 1, &sum);
	ASSERT_Q(f, "skipped|erased", "SELECT status || '|' || reason FROM surveys WHERE id = 'sa'");
	ASSERT_Q(f, "cancelled", "SELECT status FROM messages WHERE survey_id = 'sa'");

	assert_int_equal(store_send_accepted(f->st, ma, "wamid.SGVsbG8rMzQ2MDAxMTEyMjI=", T0 + 2,
					     &err), 1);
	assert_int_equal(store_send_retry(f->st, ma, T0 + 10, "429", "slow down", &err), 1);
	assert_int_equal(store_send_failed(f->st, ma, "21211", "The 'To' number " PHONE
					   " is not valid", T0 + 3, &err), 1);
	ASSERT_Q(f, "cancelled||", "SELECT status || '|' || coalesce(provider_message_id, '') || '|'"
		 " || coalesce(error_message, '') FROM messages WHERE survey_id = 'sa'");
	ASSERT_Q(f, "skipped", "SELECT status FROM surveys WHERE id = 'sa'");
	assert_int_equal(store_claim_due(f->st, T0 + DAY, "twilio", items, ARRAY_LEN(items), &n,
					 &err), 0);
	assert_int_equal(n, 0);

	assert_int_equal(store_send_accepted(f->st, mb, "SM-b", T0 + 2, &err), 0);
	ASSERT_Q(f, "sent|SM-b", "SELECT status || '|' || provider_message_id FROM messages"
		 " WHERE survey_id = 'sb'");
}

static void test_erase_keeps_the_opt_out_as_a_hash(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct customer_history h;
	struct new_survey again, other;
	struct gw_err err = { 0 };

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	text_in(f, PHONE, "IN-1", "STOP", INBOUND_OPT_OUT, 0, NULL, T0 + 10);
	erase_ok(f, "cust-42", T0 + 20, &sum);
	assert_int_equal(sum.suppressions, 1);
	assert_int_equal(sum.opted_out, 1);
	ASSERT_Q(f, PHONE_HASH "|1", "SELECT phone || '|' || opted_out FROM suppressions");
	assert_int_equal(store_customer_history(f->st, "cust-42", 10, &h, &err), 0);
	assert_int_equal(h.customer.opted_out, 1);
	customer_history_release(&h);

	/* a later trigger for the number, whatever the customer id, is still refused */
	sn_init(&again, "s2", "cust-99", PHONE, T0 + 30);
	assert_int_equal(create(f, &again.sn), SURVEY_OPTED_OUT);
	sn_init(&other, "s3", "cust-43", PHONE_2, T0 + 30);
	assert_int_equal(create(f, &other.sn), SURVEY_CREATED);
	/* the number opting in again lifts the hashed record */
	text_in(f, PHONE, "IN-2", "START", INBOUND_OPT_IN, 0, NULL, T0 + 40);
	ASSERT_Q(f, "0", "SELECT opted_out FROM suppressions WHERE phone = '" PHONE_HASH "'");
	assert_int_equal(create(f, &again.sn), SURVEY_CREATED);
}

static void test_erase_of_a_number_erased_before_keeps_one_record(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct new_survey again;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	text_in(f, PHONE, "IN-1", "STOP", INBOUND_OPT_OUT, 0, NULL, T0 + 10);
	erase_ok(f, "cust-42", T0 + 20, &sum);
	text_in(f, PHONE, "IN-2", "START", INBOUND_OPT_IN, 0, NULL, T0 + 30);
	sn_init(&again, "s2", "cust-77", PHONE, T0 + 40);
	assert_int_equal(create(f, &again.sn), SURVEY_CREATED);
	text_in(f, PHONE, "IN-3", "STOP", INBOUND_OPT_OUT, 0, NULL, T0 + 50);
	erase_ok(f, "cust-77", T0 + 60, &sum);
	assert_int_equal(sum.suppressions, 1);
	ASSERT_Q(f, "1", "SELECT count(*) FROM suppressions");
	ASSERT_Q(f, PHONE_HASH "|1", "SELECT phone || '|' || opted_out FROM suppressions");
}

static void test_erase_twice_changes_nothing_the_second_time(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;

	answered_customer(f);
	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	erase_ok(f, "cust-42", T0 + 6 * DAY, &sum);
	assert_int_equal(sum.surveys + sum.responses + sum.messages + sum.suppressions +
			 sum.idempotency_keys + sum.cancelled, 0);
	assert_int_equal(sum.erased_at, T0 + 5 * DAY);
	assert_int_equal(q_int(f, "SELECT erased_at FROM customers"), T0 + 5 * DAY);
}

static void test_erase_leaves_another_customer_on_the_same_number(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct new_survey mine;

	create_sent(f, "theirs", "cust-43", PHONE, "nps", T0);
	sn_init(&mine, "mine", "cust-42", PHONE, T0 + 10);
	mine.sn.interaction_id = "chat-mine";
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
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct gw_err err = { 0 };
	enum idem_state st;
	char *resp = NULL;
	int status = 0;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	assert_int_equal(store_idem_begin(f->st, "k1", "h1", T0, 60, &st, &status, &resp, &err), 0);
	assert_int_equal(store_idem_finish(f->st, "k1", 202, "{\"id\":\"s1\",\"phone\":\"" PHONE
					   "\"}", &err), 0);
	assert_int_equal(store_idem_begin(f->st, "k2", "h2", T0, 60, &st, &status, &resp, &err), 0);
	assert_int_equal(store_idem_finish(f->st, "k2", 202, "{\"id\":\"x\",\"phone\":\"" PHONE_2
					   "\"}", &err), 0);
	erase_ok(f, "cust-42", T0 + 20, &sum);
	assert_int_equal(sum.idempotency_keys, 1);
	ASSERT_Q(f, "1|k2", "SELECT count(*) || '|' || min(key) FROM idempotency");
}

/* Outbound events still held (not delivered, or given up) that name the customer's surveys or
 * number are dropped; others stay. */
static void test_erase_drops_held_events_about_the_customer(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;

	create_sent(f, "s1", "cust-42", PHONE, "nps", T0);
	create_sent(f, "s9", "cust-43", PHONE_2, "nps", T0);
	temp_store_exec(
		f,
		"INSERT INTO events (id, type, body, next_attempt_at, created_at) VALUES"
		" ('e1', 'response.created', '{\"survey\":{\"id\":\"s1\"},\"comment\":\"x\"}', 0, 0),"
		" ('e2', 'customer.opted_out', '{\"customer\":{\"phone\":\"" PHONE "\"}}', 0, 0),"
		" ('e3', 'response.created', '{\"survey\":{\"id\":\"s9\"}}', 0, 0)");
	erase_ok(f, "cust-42", T0 + 10, &sum);
	assert_int_equal(sum.events, 2);
	ASSERT_Q(f, "1|e3", "SELECT count(*) || '|' || min(id) FROM events");
}

/* The erasure alone leaves the old page images in the log; the wipe removes them. */
static void test_erase_then_wipe_leaves_no_copy_in_the_files(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct new_survey other;

	SKIP_ON_POSTGRES("the freed bytes in the SQLite file and its log");

	answered_customer(f);
	sn_init(&other, "other", "cust-43", PHONE_2, T0 + 200);
	other.sn.name = "Bea";
	other.sn.question = "Hola Bea, del 0 al 10?";
	assert_int_equal(create(f, &other.sn), SURVEY_CREATED);
	send_due(f, T0 + 200);
	if (files_holding(f, PHONE) < 1 || files_holding(f, NAME) < 1 ||
	    files_holding(f, COMMENT) < 1)
		fail_msg("the files do not hold the customer before the erasure: the scan is blind");
	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	assert_true(files_holding(f, PHONE) >= 1);
	wipe_ok(f);
	assert_int_equal(files_holding(f, PHONE), 0);
	assert_int_equal(files_holding(f, PHONE + 1), 0);       /* without the + either */
	assert_int_equal(files_holding(f, NAME), 0);
	assert_int_equal(files_holding(f, COMMENT), 0);
	assert_true(files_holding(f, PHONE_2) >= 1);    /* the other customer is still there */
}

/* A reader holding a snapshot keeps the log busy: the wipe says so (503) instead of hanging, and
 * succeeds once the reader is gone. */
static void test_wipe_fails_503_while_a_reader_holds_the_log(void **state)
{
	struct temp_store *f = *state;
	struct erase_summary sum;
	struct gw_err err = { 0 };
	sqlite3 *reader = NULL;
	sqlite3_stmt *s;

	SKIP_ON_POSTGRES("a reader holding SQLite's write-ahead log");
	answered_customer(f);
	assert_int_equal(sqlite3_open_v2(f->path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(reader, "SELECT count(*) FROM surveys", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	sqlite3_finalize(s);
	erase_ok(f, "cust-42", T0 + 5 * DAY, &sum);
	assert_int_equal(store_wipe_freed(f->st, 300, &err), -1);
	assert_int_equal(err.http_status, 503);
	assert_string_equal(err.code, "store_busy");
	assert_true(files_holding(f, PHONE) >= 1);
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);
	wipe_ok(f);
	assert_int_equal(files_holding(f, PHONE), 0);
}

/* ---- retention ---------------------------------------------------------------------------- */

static void test_purge_blanks_old_texts_and_keeps_new_and_unsent_ones(void **state)
{
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	size_t n = 0;

	answered_customer(f);   /* texts at T0, T0+60 (answer, thanks), T0+120 (queued), T0+3d */
	assert_int_equal(store_purge_texts(f->st, T0 + DAY, &n, &err), 0);
	assert_int_equal(n, 4);         /* question, answer, thanks; the response */
	ASSERT_Q(f, "0", "SELECT count(*) FROM messages WHERE created_at < 1086400 AND body <> ''"
		 " AND status <> 'queued'");
	ASSERT_Q(f, "Hola " NAME ", del 0 al 10?",
		 "SELECT body FROM messages WHERE survey_id = 's2'");
	ASSERT_Q(f, "hola? " COMMENT, "SELECT body FROM messages WHERE provider_message_id = 'IN-2'");
	ASSERT_Q(f, "9||", "SELECT score || '|' || comment || '|' || raw_text FROM responses");
	ASSERT_Q(f, PHONE, "SELECT phone FROM customers");
	assert_int_equal(store_purge_texts(f->st, T0 + DAY, &n, &err), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_hash_is_sha256_hex_of_the_number),
		cmocka_unit_test_setup_teardown(test_history_of_unknown_customer_is_not_found,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_history_lists_surveys_newest_first_with_latest_nps,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_history_without_nps_answer_has_no_latest_nps,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_history_opted_out_follows_the_suppression,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_erase_unknown_customer_writes_nothing, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_erase_blanks_identity_and_texts_and_keeps_scores,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_erase_while_sending_writes_nothing_back, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_erased_customer_queued_survey_is_never_sent,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_erase_keeps_the_opt_out_as_a_hash, fx_open,
						fx_free),
		cmocka_unit_test_setup_teardown(test_erase_of_a_number_erased_before_keeps_one_record,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_erase_twice_changes_nothing_the_second_time,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_erase_leaves_another_customer_on_the_same_number,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_erase_forgets_idempotent_answers_naming_the_number,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_erase_drops_held_events_about_the_customer,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_erase_then_wipe_leaves_no_copy_in_the_files,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_wipe_fails_503_while_a_reader_holds_the_log,
						fx_open, fx_free),
		cmocka_unit_test_setup_teardown(test_purge_blanks_old_texts_and_keeps_new_and_unsent_ones,
						fx_open, fx_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
