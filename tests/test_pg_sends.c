/*
 * test_pg_sends.c - send outcomes, sweeps and outbox reads on PostgreSQL (store/postgres/
 * pg_sends.c, pg_outbox.c), as a specification: what test_store.c asks of SQLite, and what
 * several instances sharing one database add (the fence, one sweeper at a time, WhatsApp pair
 * spacing across instances).
 *
 * Each test gets a database of its own (support/pg_test.h) and checks what the store left
 * there through a connection of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_store.h"
#include "support/pg_test.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The sweepers' advisory lock keys, as pg_sends.c and pg_outbox.c take them. */
#define EXPIRE_LOCK "113762501161060"
#define LEASES_LOCK "113762617352563"

static int fx_db(void **state)
{
	struct pg_test_db *db = calloc(1, sizeof(*db));
	struct gw_err err = { 0 };
	struct pg_store *st;

	if (!db)
		return -1;
	pg_test_db_create(db);
	if (!(st = pg_store_open(db->url, &err))) /* the schema, once */
		fail_msg("pg_store_open: %s", err.msg);
	pg_store_close(st);
	*state = db;
	return 0;
}

static int fx_db_free(void **state)
{
	struct pg_test_db *db = *state;

	if (db)
		pg_test_db_drop(db);
	free(db);
	return 0;
}

static void sql(const struct pg_test_db *db, const char *fmt, ...)
{
	char q[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	pg_test_exec(db, q);
}

/* The query's first value equals want ("" for NULL or no row). */
static void assert_query(const struct pg_test_db *db, const char *q, const char *want)
{
	char got[1024];

	pg_test_query(db, q, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", q, got, want);
}

static struct pg_store *open_ok(const struct pg_test_db *db, int64_t lease)
{
	struct gw_err err = { 0 };
	struct pg_store *st = pg_store_open(db->url, &err);

	if (!st)
		fail_msg("pg_store_open: %s", err.msg);
	pg_store_set_send_lease(st, lease);
	return st;
}

/* Survey `id` (customer, survey and its outbound text due at `due`) to `phone` on `channel`,
 * through twilio; expires 3600 s after it is sent. */
static void add_survey(const struct pg_test_db *db, const char *id, const char *phone,
		       const char *channel, int64_t due)
{
	sql(db,
	    "INSERT INTO customers (ext_id, phone, name, locale, created_at, updated_at)"
	    " VALUES ('c-%s', '%s', 'Ana', 'es', 1, 1);"
	    "INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
	    " interaction_id, status, created_at, send_after, expire_after_s)"
	    " SELECT '%s', id, phone, name, 'es', 'nps', '%s', 'twilio', 'chat-%s', 'queued',"
	    " %lld, %lld, 3600 FROM customers WHERE ext_id = 'c-%s';"
	    "INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
	    " status, next_attempt_at, created_at, updated_at)"
	    " VALUES ('%s', 'out', 'survey', '%s', 'twilio', '%s', 'q-%s', 'queued', %lld, 1, 1)",
	    id, phone, id, channel, id, (long long)due, (long long)due, id, id, channel, phone, id,
	    (long long)due);
}

/* Claims at `now`; expects exactly `want` messages, released; the first one's id. */
static int64_t claim_n(struct pg_store *st, int64_t now, size_t want)
{
	struct outbox_item it[64];
	struct gw_err err = { 0 };
	int64_t first = 0;
	size_t n;

	if (pg_claim_due(st, now, "twilio", it, ARRAY_LEN(it), &n, &err) < 0)
		fail_msg("pg_claim_due: %s", err.msg);
	if (n != want)
		fail_msg("claimed %zu at %lld, want %zu", n, (long long)now, want);
	for (size_t i = 0; i < n; i++) {
		if (i == 0)
			first = it[i].message_id;
		outbox_item_release(&it[i]);
	}
	return first;
}

/* "message status|survey status" of survey id's text. */
static void assert_states(const struct pg_test_db *db, const char *id, const char *want)
{
	char q[256];

	snprintf(q, sizeof(q),
		 "SELECT m.status || '|' || s.status FROM messages m JOIN surveys s"
		 " ON s.id = m.survey_id WHERE s.id = '%s'",
		 id);
	assert_query(db, q, want);
}

/* ---- outcomes, as on SQLite --------------------------------------------------------------- */

static void test_an_accepted_send_marks_message_and_survey_sent(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct gw_err err = { 0 };
	int64_t mid;

	add_survey(db, "s-ok", "+34600000001", "sms", 1000);
	mid = claim_n(st, 1000, 1);
	assert_int_equal(pg_send_accepted(st, mid, "SM0001", 1005, &err), 0);
	assert_query(db,
		     "SELECT status || '|' || provider_message_id || '|' || sent_at || '|'"
		     " || coalesce(error_code, '-') FROM messages",
		     "sent|SM0001|1005|-");
	assert_query(db,
		     "SELECT status || '|' || provider_message_id || '|' || sent_at || '|'"
		     " || attempts || '|' || expires_at FROM surveys",
		     "sent|SM0001|1005|1|4605");
	pg_store_close(st);
}

/* A transient failure queues the text again for next_at with the failure kept as the last
 * error (message and survey); it is claimed again then, the attempt counted. */
static void test_a_retry_requeues_with_the_last_error_kept(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct gw_err err = { 0 };
	int64_t mid;

	add_survey(db, "s-retry", "+34600000001", "sms", 1000);
	mid = claim_n(st, 1000, 1);
	assert_int_equal(pg_send_retry(st, mid, 1060, "http_503", "Service Unavailable", &err), 0);
	assert_query(db,
		     "SELECT status || '|' || error_code || '|' || error_message || '|'"
		     " || next_attempt_at FROM messages",
		     "queued|http_503|Service Unavailable|1060");
	assert_query(db, "SELECT status || '|' || error_code || '|' || error_message FROM surveys",
		     "queued|http_503|Service Unavailable");
	claim_n(st, 1059, 0);
	assert_int_equal(claim_n(st, 1060, 1), mid);
	assert_query(db,
		     "SELECT (SELECT attempts FROM messages) || '|' || attempts || '|' || status"
		     " FROM surveys",
		     "2|2|sending");
	pg_store_close(st);
}

/* Free-form text refused outside a WhatsApp session: queued again at once, as a template. */
static void test_a_refused_free_form_text_is_queued_again_as_a_template(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct outbox_item it[2];
	struct gw_err err = { 0 };
	int64_t mid;
	size_t n;

	add_survey(db, "s-tpl", "+34600000001", "whatsapp", 1000);
	mid = claim_n(st, 1000, 1);
	assert_int_equal(pg_send_needs_template(st, mid, 1001, "63016", "outside the window", &err),
			 0);
	assert_query(db,
		     "SELECT status || '|' || needs_template || '|' || next_attempt_at || '|'"
		     " || error_code FROM messages",
		     "queued|1|1001|63016");
	assert_query(db, "SELECT status || '|' || error_code FROM surveys", "queued|63016");
	assert_int_equal(pg_claim_due(st, 1001, "twilio", it, 2, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(it[0].needs_template, 1);
	outbox_item_release(&it[0]);
	pg_store_close(st);
}

static void test_a_failure_fails_message_and_survey(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct gw_err err = { 0 };
	int64_t mid;

	add_survey(db, "s-fail", "+34600000001", "sms", 1000);
	mid = claim_n(st, 1000, 1);
	assert_int_equal(pg_send_failed(st, mid, "21211", "Invalid 'To' Phone Number", 1002, &err),
			 0);
	assert_query(
		db,
		"SELECT status || '|' || error_code || '|' || error_message || '|' || updated_at"
		" FROM messages",
		"failed|21211|Invalid 'To' Phone Number|1002");
	assert_query(db, "SELECT status || '|' || error_code || '|' || error_message FROM surveys",
		     "failed|21211|Invalid 'To' Phone Number");
	pg_store_close(st);
}

/* A failure saying the number refuses these messages suppresses it, as an opt-out does: its
 * queued surveys skipped, their texts cancelled. */
static void test_a_failure_naming_the_number_suppresses_it(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct gw_err err = { 0 };
	struct send_record r = { .kind = SEND_REC_FAILED,
				 .t = 1002,
				 .a = "21610",
				 .b = "unsubscribed",
				 .suppress_phone = "+34600000001",
				 .suppress_provider = "twilio" };

	add_survey(db, "s-sent", "+34600000001", "sms", 1000);
	add_survey(db, "s-later", "+34600000001", "sms", 5000);
	r.message_id = claim_n(st, 1000, 1);
	assert_int_equal(pg_record_sends(st, &r, 1, &err), 0);
	assert_int_equal(r.refused, 0);
	assert_int_equal(r.cancelled, 0);
	assert_states(db, "s-sent", "failed|failed");
	assert_states(db, "s-later", "cancelled|skipped");
	assert_query(db, "SELECT reason FROM surveys WHERE id = 's-later'", "opted_out");
	assert_query(db, "SELECT opted_out || '|' || provider FROM suppressions", "1|twilio");
	assert_query(db, "SELECT opted_out FROM customers WHERE ext_id = 'c-s-sent'", "1");
	pg_store_close(st);
}

/* One batch, one transaction: an outcome the store refuses (a provider id with a space), or one
 * the server refuses (here a trigger raising), is undone alone and says why; the others land. */
static void test_a_batch_keeps_the_outcomes_around_a_refused_one(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct gw_err err = { 0 };
	struct send_record r[4] = {
		{ .kind = SEND_REC_ACCEPTED, .t = 1001, .a = "SM-1" },
		{ .kind = SEND_REC_ACCEPTED, .t = 1001, .a = "SM 2" },
		{ .kind = SEND_REC_ACCEPTED, .t = 1001, .a = "BOOM" },
		{ .kind = SEND_REC_RETRY, .t = 1100, .a = "429", .b = "slow down" },
	};
	const char *ids[4] = { "b-1", "b-2", "b-3", "b-4" };
	char phone[32];

	for (int i = 0; i < 4; i++) {
		snprintf(phone, sizeof(phone), "+3460000000%d", i);
		add_survey(db, ids[i], phone, "sms", 1000);
	}
	sql(db,
	    "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
	    " IF NEW.provider_message_id = 'BOOM' THEN RAISE EXCEPTION 'boom'; END IF;"
	    " RETURN NEW; END $$;"
	    "CREATE TRIGGER boom BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION boom()");
	claim_n(st, 1000, 4);
	for (int i = 0; i < 4; i++) {
		char q[128];

		snprintf(q, sizeof(q), "SELECT id FROM messages WHERE survey_id = '%s'", ids[i]);
		pg_test_query(db, q, phone, sizeof(phone));
		r[i].message_id = strtoll(phone, NULL, 10);
	}
	assert_int_equal(pg_record_sends(st, r, 4, &err), 0);
	assert_int_equal(r[0].refused, 0);
	assert_int_equal(r[1].refused, 1);
	assert_non_null(strstr(r[1].why, "printable ASCII"));
	assert_int_equal(r[2].refused, 1);
	assert_non_null(strstr(r[2].why, "boom"));
	assert_int_equal(r[3].refused, 0);
	assert_states(db, "b-1", "sent|sent");
	assert_states(db, "b-2", "sending|sending");
	assert_states(db, "b-3", "sending|sending");
	assert_states(db, "b-4", "queued|queued");
	/* alone, the same refusals are errors: 422 for the id, 503 for the server's */
	assert_int_equal(pg_send_accepted(st, r[1].message_id, "SM 2", 1002, &err), -1);
	assert_int_equal(err.http_status, 422);
	assert_string_equal(err.code, "invalid_provider_message_id");
	assert_int_equal(pg_send_accepted(st, r[2].message_id, "BOOM", 1002, &err), -1);
	assert_int_equal(err.http_status, 503);
	assert_states(db, "b-2", "sending|sending");
	pg_store_close(st);
}

/* Every kind of outcome for a text cancelled meanwhile (its customer erased) keeps nothing and
 * answers 1. */
static void test_an_outcome_for_a_cancelled_text_keeps_nothing(void **state)
{
	static const enum send_record_kind kinds[] = { SEND_REC_ACCEPTED, SEND_REC_RETRY,
						       SEND_REC_TEMPLATE, SEND_REC_FAILED };
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct gw_err err = { 0 };

	add_survey(db, "s-gone", "+34600000001", "sms", 1000);
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
		struct send_record r = { .kind = kinds[i],
					 .t = 1001,
					 .a = "SM-x",
					 .b = "x",
					 .suppress_phone = "+34600000001",
					 .suppress_provider = "twilio" };

		sql(db, "UPDATE messages SET status = 'queued', next_attempt_at = 1000;"
			" UPDATE surveys SET status = 'queued'");
		r.message_id = claim_n(st, 1000, 1);
		sql(db, "UPDATE messages SET status = 'cancelled'; UPDATE surveys SET status ="
			" 'cancelled'");
		assert_int_equal(pg_record_sends(st, &r, 1, &err), 0);
		assert_int_equal(r.refused, 0);
		assert_int_equal(r.cancelled, 1);
		assert_states(db, "s-gone", "cancelled|cancelled");
		assert_query(db, "SELECT count(*) FROM suppressions", "0");
	}
	assert_int_equal(pg_send_failed(st, 1, "x", "y", 1002, &err), 1);
	assert_int_equal(pg_send_retry(st, 1, 1002, "x", "y", &err), 1);
	pg_store_close(st);
}

/* ---- the fence ---------------------------------------------------------------------------- */

/* Every kind of outcome lands only from the instance holding the claim: another instance's
 * keeps nothing (answered as cancelled); the claimant's lands even after its lease ended. */
static void test_outcomes_land_only_for_the_claimant(void **state)
{
	static const struct {
		enum send_record_kind kind;
		const char *want; /* message|survey after the claimant's outcome */
	} rows[] = {
		{ SEND_REC_ACCEPTED, "sent|sent" },
		{ SEND_REC_RETRY, "queued|queued" },
		{ SEND_REC_TEMPLATE, "queued|queued" },
		{ SEND_REC_FAILED, "failed|failed" },
	};
	struct pg_test_db *db = *state;
	struct pg_store *a = open_ok(db, 60), *b = open_ok(db, 60);
	struct gw_err err = { 0 };
	size_t n;

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct send_record r = { .kind = rows[i].kind, .t = 1001, .a = "SM-1", .b = "e" };
		char id[32], phone[32];

		snprintf(id, sizeof(id), "f-%zu", i);
		snprintf(phone, sizeof(phone), "+3460000001%zu", i);
		add_survey(db, id, phone, "sms", 1000);
		r.message_id = claim_n(a, 1000, 1);
		assert_int_equal(pg_record_sends(b, &r, 1, &err), 0);
		assert_int_equal(r.cancelled, 1);
		assert_states(db, id, "sending|sending");
		/* the lease ends: uncertain; the claimant's outcome is known after all */
		assert_int_equal(pg_expire_leases(b, 1060, &n, &err), 0);
		assert_int_equal(n, 1);
		assert_states(db, id, "uncertain|uncertain");
		assert_int_equal(pg_record_sends(b, &r, 1, &err), 0);
		assert_int_equal(r.cancelled, 1);
		assert_states(db, id, "uncertain|uncertain");
		assert_int_equal(pg_record_sends(a, &r, 1, &err), 0);
		assert_int_equal(r.cancelled, 0);
		assert_states(db, id, rows[i].want);
		/* a second copy of the same answer finds nothing left to change */
		assert_int_equal(pg_record_sends(a, &r, 1, &err), 0);
		assert_int_equal(r.cancelled, 1);
		sql(db, "UPDATE messages SET status = 'failed' WHERE survey_id = '%s'", id);
	}
	pg_store_close(a);
	pg_store_close(b);
}

/* ---- sweeps ------------------------------------------------------------------------------- */

#define EXPIRE_NOW 10000

static const struct {
	const char *id, *status;
	int64_t expires_at;
	const char *want;
} expiries[] = {
	{ "ex-sent", "sent", 9000, "expired" },
	{ "ex-delivered", "delivered", 9000, "expired" },
	{ "ex-read", "read", 9000, "expired" },
	{ "ex-uncertain", "uncertain", 9000, "expired" },
	{ "ex-edge", "sent", EXPIRE_NOW, "expired" },
	{ "ex-answered", "answered", 9000, "answered" },
	{ "ex-queued", "queued", 9000, "queued" },
	{ "ex-sending", "sending", 9000, "sending" },
	{ "ex-failed", "failed", 9000, "failed" },
	{ "ex-later", "sent", 100000, "sent" },
};

static void add_expiries(const struct pg_test_db *db)
{
	for (size_t i = 0; i < ARRAY_LEN(expiries); i++) {
		char phone[32];

		snprintf(phone, sizeof(phone), "+346000002%02zu", i);
		add_survey(db, expiries[i].id, phone, "sms", 100000);
		sql(db, "UPDATE surveys SET status = '%s', expires_at = %lld WHERE id = '%s'",
		    expiries[i].status, (long long)expiries[i].expires_at, expiries[i].id);
	}
}

/* Surveys sent (or uncertain) past their expiry become expired, once; the rest stay. */
static void test_expiry_takes_sent_surveys_past_their_time(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct gw_err err = { 0 };
	size_t n = 99;

	add_expiries(db);
	assert_int_equal(pg_expire_due(st, EXPIRE_NOW, &n, &err), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < ARRAY_LEN(expiries); i++) {
		char q[128];

		snprintf(q, sizeof(q), "SELECT status FROM surveys WHERE id = '%s'",
			 expiries[i].id);
		assert_query(db, q, expiries[i].want);
	}
	n = 99;
	assert_int_equal(pg_expire_due(st, EXPIRE_NOW, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pg_expire_due(st, 200000, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_query(db, "SELECT status FROM surveys WHERE id = 'ex-later'", "expired");
	pg_store_close(st);
}

/* A connection of the test's holding advisory lock `key` in an open transaction. */
static PGconn *hold_lock(const struct pg_test_db *db, const char *key)
{
	PGconn *c = PQconnectdb(db->url);
	char q[128];
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	snprintf(q, sizeof(q), "BEGIN; SELECT pg_advisory_xact_lock(%s)", key);
	r = PQexec(c, q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(c));
	PQclear(r);
	return c;
}

static void release_lock(PGconn *c)
{
	PQclear(PQexec(c, "COMMIT"));
	PQfinish(c);
}

/* While another instance sweeps expiries (holding the sweeper's lock), this one changes
 * nothing and says so; once it is done, this one sweeps. */
static void test_one_instance_sweeps_expiries_at_a_time(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *a = open_ok(db, 60), *b = open_ok(db, 60);
	struct gw_err err = { 0 };
	PGconn *other;
	size_t n = 99;

	add_expiries(db);
	other = hold_lock(db, EXPIRE_LOCK);
	assert_int_equal(pg_expire_due(a, EXPIRE_NOW, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_query(db, "SELECT count(*) FROM surveys WHERE status = 'expired'", "0");
	/* the lease sweeper's lock is another one */
	assert_int_equal(pg_expire_leases(b, EXPIRE_NOW, &n, &err), 0);
	release_lock(other);
	assert_int_equal(pg_expire_due(b, EXPIRE_NOW, &n, &err), 0);
	assert_int_equal(n, 5);
	pg_store_close(a);
	pg_store_close(b);
}

/* The same for leases: a second instance's sweep waits for nothing and changes nothing. */
static void test_one_instance_sweeps_leases_at_a_time(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *a = open_ok(db, 60), *b = open_ok(db, 60);
	struct gw_err err = { 0 };
	PGconn *other;
	size_t n = 99;

	add_survey(db, "l-1", "+34600000001", "sms", 1000);
	claim_n(a, 1000, 1);
	other = hold_lock(db, LEASES_LOCK);
	assert_int_equal(pg_expire_leases(b, 2000, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_states(db, "l-1", "sending|sending");
	assert_int_equal(pg_expire_due(b, 2000, &n, &err), 0); /* not this sweeper's lock */
	release_lock(other);
	assert_int_equal(pg_expire_leases(b, 2000, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_states(db, "l-1", "uncertain|uncertain");
	pg_store_close(a);
	pg_store_close(b);
}

/* ---- start-up ----------------------------------------------------------------------------- */

/* At start-up, only claims whose lease has ended (an instance that crashed) become uncertain,
 * never a live instance's current ones, which it then records as usual; an answered survey
 * stays answered. */
static void test_mark_uncertain_leaves_live_claims_alone(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *live = open_ok(db, 60), *starting;
	struct gw_err err = { 0 };
	int64_t mid;
	size_t n = 99;

	add_survey(db, "m-live", "+34600000001", "sms", 1000);
	add_survey(db, "m-crashed", "+34600000002", "sms", 1000);
	add_survey(db, "m-answered", "+34600000003", "sms", 1000);
	add_survey(db, "m-queued", "+34600000004", "sms", 5000);
	mid = claim_n(live, 1000, 3);
	sql(db, "UPDATE messages SET lease_until = 1005, claimed_by = 'gone:1:0'"
		" WHERE survey_id IN ('m-crashed', 'm-answered');"
		" UPDATE surveys SET status = 'answered' WHERE id = 'm-answered'");
	starting = open_ok(db, 60);
	assert_int_equal(pg_mark_uncertain(starting, 1010, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_states(db, "m-crashed", "uncertain|uncertain");
	assert_states(db, "m-answered", "uncertain|answered");
	assert_states(db, "m-queued", "queued|queued");
	assert_query(db,
		     "SELECT string_agg(s.id || ':' || m.status, ',' ORDER BY s.id) FROM messages m"
		     " JOIN surveys s ON s.id = m.survey_id WHERE m.claimed_by <> 'gone:1:0'",
		     "m-live:sending");
	assert_int_equal(pg_send_accepted(live, mid, "SM-live", 1011, &err), 0);
	assert_states(db, "m-live", "sent|sent");
	/* never claimed again by themselves */
	claim_n(starting, 4000, 0);
	assert_int_equal(pg_mark_uncertain(starting, 1010, &n, &err), 0);
	assert_int_equal(n, 0);
	pg_store_close(live);
	pg_store_close(starting);
}

/* resend_uncertain: uncertain texts and their surveys are queued again, due now, and claimed
 * by whichever instance; a late answer to the first claim then changes nothing. */
static void test_requeue_uncertain_queues_them_again(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *a = open_ok(db, 60), *b = open_ok(db, 60);
	struct gw_err err = { 0 };
	int64_t mid;
	size_t n = 99;

	add_survey(db, "r-1", "+34600000001", "sms", 1000);
	add_survey(db, "r-2", "+34600000002", "sms", 1000);
	add_survey(db, "r-3", "+34600000003", "sms", 9000);
	mid = claim_n(a, 1000, 2);
	assert_int_equal(pg_expire_leases(a, 1060, &n, &err), 0);
	assert_int_equal(n, 2);
	sql(db, "UPDATE surveys SET status = 'answered' WHERE id = 'r-2'");
	assert_int_equal(pg_requeue_uncertain(b, 2000, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_states(db, "r-1", "queued|queued");
	assert_states(db, "r-2", "queued|answered");
	assert_query(db, "SELECT next_attempt_at FROM messages WHERE survey_id = 'r-1'", "2000");
	assert_int_equal(pg_send_accepted(a, mid, "SM-late", 2001, &err), 1);
	assert_states(db, "r-1", "queued|queued");
	claim_n(b, 2000, 2);
	assert_int_equal(pg_requeue_uncertain(b, 2000, &n, &err), 0);
	assert_int_equal(n, 0);
	pg_store_close(a);
	pg_store_close(b);
}

/* ---- reads -------------------------------------------------------------------------------- */

static void test_list_surveys_gives_ids_of_a_status_oldest_first(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	char ids[4][SURVEY_ID_LEN];
	struct gw_err err = { 0 };
	size_t n = 99;

	add_survey(db, "l-c", "+34600000001", "sms", 300);
	add_survey(db, "l-a", "+34600000002", "sms", 100);
	add_survey(db, "l-b", "+34600000003", "sms", 200);
	add_survey(db, "l-x", "+34600000004", "sms", 50);
	sql(db, "UPDATE surveys SET status = 'failed' WHERE id = 'l-x'");
	assert_int_equal(pg_list_surveys(st, "queued", 4, ids, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ids[0], "l-a");
	assert_string_equal(ids[1], "l-b");
	assert_string_equal(ids[2], "l-c");
	assert_int_equal(pg_list_surveys(st, "queued", 2, ids, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[1], "l-b");
	assert_int_equal(pg_list_surveys(st, "expired", 4, ids, &n, &err), 0);
	assert_int_equal(n, 0);
	pg_store_close(st);
}

static void test_outbox_depth_counts_queued_sending_and_uncertain(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct store_outbox_depth d;
	struct gw_err err = { 0 };
	size_t n;

	for (int i = 0; i < 6; i++) {
		char id[32], phone[32];

		snprintf(id, sizeof(id), "d-%d", i);
		snprintf(phone, sizeof(phone), "+3460000000%d", i);
		add_survey(db, id, phone, "sms", i < 3 ? 1000 : 1100);
	}
	claim_n(st, 1000, 3);
	assert_int_equal(pg_expire_leases(st, 1060, &n, &err), 0);
	claim_n(st, 1100, 3);
	sql(db, "UPDATE messages SET status = 'queued' WHERE survey_id = 'd-5';"
		" UPDATE messages SET status = 'sent' WHERE survey_id = 'd-0'");
	assert_int_equal(pg_outbox_depth(st, &d, &err), 0);
	assert_int_equal(d.queued, 1);
	assert_int_equal(d.sending, 2);
	assert_int_equal(d.uncertain, 2);
	pg_store_close(st);
}

/* ---- WhatsApp pair spacing ---------------------------------------------------------------- */

/* One message per 6 s to a WhatsApp number: a second waits while the first is being sent and
 * for 6 s after it was; other numbers and SMS do not wait (test_store.c's case). */
static void test_whatsapp_texts_to_one_number_are_spaced(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db, 60);
	struct outbox_item it[8];
	struct gw_err err = { 0 };
	int64_t wa1 = 0;
	size_t n;

	add_survey(db, "wa-1", "+34600000001", "whatsapp", 1000);
	add_survey(db, "wa-2", "+34600000001", "whatsapp", 1000);
	add_survey(db, "wa-3", "+34600000002", "whatsapp", 1000);
	add_survey(db, "sms-1", "+34600000001", "sms", 1000);
	add_survey(db, "sms-2", "+34600000001", "sms", 1000);
	pg_store_set_pair_interval(st, 6);
	assert_int_equal(pg_claim_due(st, 1000, "twilio", it, 8, &n, &err), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(it[i].survey_id, "wa-2");
		if (strcmp(it[i].survey_id, "wa-1") == 0)
			wa1 = it[i].message_id;
		outbox_item_release(&it[i]);
	}
	claim_n(st, 1003, 0);
	assert_int_equal(pg_send_accepted(st, wa1, "SM-wa-1", 1004, &err), 0);
	claim_n(st, 1009, 0);
	assert_int_equal(pg_claim_due(st, 1010, "twilio", it, 8, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].survey_id, "wa-2");
	outbox_item_release(&it[0]);
	/* spacing off: nothing waits */
	sql(db, "UPDATE messages SET status = 'queued' WHERE survey_id IN ('wa-1', 'wa-2')");
	pg_store_set_pair_interval(st, 0);
	claim_n(st, 1011, 2);
	pg_store_close(st);
}

#define PAIR_PHONES 40
#define PAIR_TEXTS 4 /* per number */
#define PAIR_CLAIMERS 3

struct pair_claimer {
	const struct pg_test_db *db;
	pthread_barrier_t *start;
	int64_t now;
	size_t claimed;
	struct gw_err err;
	int failed;
};

/* An instance claiming WhatsApp texts at `now`, a few at a time, until none is left for it. */
static void *claim_whatsapp(void *arg)
{
	struct pair_claimer *c = arg;
	struct pg_store *st = pg_store_open(c->db->url, &c->err);
	struct outbox_item it[5];
	size_t n;

	pthread_barrier_wait(c->start);
	if (!st) {
		c->failed = 1;
		return NULL;
	}
	pg_store_set_pair_interval(st, 6);
	do {
		if (pg_claim_due(st, c->now, "twilio", it, ARRAY_LEN(it), &n, &c->err) < 0) {
			c->failed = 1;
			break;
		}
		for (size_t i = 0; i < n; i++)
			outbox_item_release(&it[i]);
		c->claimed += n;
	} while (n > 0);
	pg_store_close(st);
	return NULL;
}

/* Three instances at once, claiming one at a time. */
static size_t claim_together(const struct pg_test_db *db, int64_t now)
{
	struct pair_claimer c[PAIR_CLAIMERS];
	pthread_t t[PAIR_CLAIMERS];
	pthread_barrier_t start;
	size_t total = 0;

	pthread_barrier_init(&start, NULL, PAIR_CLAIMERS);
	for (int i = 0; i < PAIR_CLAIMERS; i++) {
		c[i] = (struct pair_claimer){ .db = db, .start = &start, .now = now };
		assert_int_equal(pthread_create(&t[i], NULL, claim_whatsapp, &c[i]), 0);
	}
	for (int i = 0; i < PAIR_CLAIMERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < PAIR_CLAIMERS; i++) {
		if (c[i].failed)
			fail_msg("instance %d: %s", i, c[i].err.msg);
		total += c[i].claimed;
	}
	return total;
}

/* Instances claiming one outbox at once (a number's texts next to each other in it) never send
 * two texts to one WhatsApp number within the interval: one per number is `sending` after they all claimed at 1000; once those are sent at
 * 1000, nothing more before 1006, then again one per number. */
static void test_instances_claiming_at_once_keep_whatsapp_pairs_apart(void **state)
{
	struct pg_test_db *db = *state;
	char want[16];
	size_t got;

	sql(db,
	    "INSERT INTO messages (direction, purpose, channel, provider, phone, body, status,"
	    " next_attempt_at, created_at, updated_at)"
	    " SELECT 'out', 'thanks', 'whatsapp', 'twilio', '+346001' || lpad((g / %d)::text, 5,"
	    " '0'), 'hi', 'queued', 900, 1, 1 FROM generate_series(0, %d) g",
	    PAIR_TEXTS, PAIR_PHONES * PAIR_TEXTS - 1);
	snprintf(want, sizeof(want), "%d", PAIR_PHONES);
	got = claim_together(db, 1000);
	printf("  claimed %zu at 1000\n", got);
	assert_int_equal(got, PAIR_PHONES);
	assert_query(db,
		     "SELECT coalesce(max(c), 0) FROM (SELECT count(*) c FROM messages"
		     " WHERE status = 'sending' GROUP BY phone) x",
		     "1");
	assert_query(db, "SELECT count(DISTINCT phone) FROM messages WHERE status = 'sending'",
		     want);
	sql(db, "UPDATE messages SET status = 'sent', sent_at = 1000 WHERE status = 'sending'");
	assert_int_equal(claim_together(db, 1005), 0);
	assert_int_equal(claim_together(db, 1006), PAIR_PHONES);
	assert_query(db,
		     "SELECT coalesce(max(c), 0) FROM (SELECT count(*) c FROM messages"
		     " WHERE status = 'sending' GROUP BY phone) x",
		     "1");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_db, fx_db_free)
	const struct CMUnitTest tests[] = {
		T(test_an_accepted_send_marks_message_and_survey_sent),
		T(test_a_retry_requeues_with_the_last_error_kept),
		T(test_a_refused_free_form_text_is_queued_again_as_a_template),
		T(test_a_failure_fails_message_and_survey),
		T(test_a_failure_naming_the_number_suppresses_it),
		T(test_a_batch_keeps_the_outcomes_around_a_refused_one),
		T(test_an_outcome_for_a_cancelled_text_keeps_nothing),
		T(test_outcomes_land_only_for_the_claimant),
		T(test_expiry_takes_sent_surveys_past_their_time),
		T(test_one_instance_sweeps_expiries_at_a_time),
		T(test_one_instance_sweeps_leases_at_a_time),
		T(test_mark_uncertain_leaves_live_claims_alone),
		T(test_requeue_uncertain_queues_them_again),
		T(test_list_surveys_gives_ids_of_a_status_oldest_first),
		T(test_outbox_depth_counts_queued_sending_and_uncertain),
		T(test_whatsapp_texts_to_one_number_are_spaced),
		T(test_instances_claiming_at_once_keep_whatsapp_pairs_apart),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
