/*
 * test_pg_events.c - outbound events on the PostgreSQL store (store/postgres/pg_events.c), as a
 * specification.
 *
 * What the SQLite store's events tests (tests/test_events.c) check of the queue, each on a
 * database of its own (support/pg_test.h), and what several instances sharing the queue add:
 * each due event is claimed by one instance under a lease, an instance that dies leaves its
 * events to the next claim after the lease, and a late outcome from an instance that lost its
 * claim changes nothing.
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

#include "pg_priv.h"
#include "pg_store.h"
#include "support/pg_test.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	struct pg_test_db db;
	struct pg_store *st;
	int fail_format; /* the format function fails (as when out of memory) */
	int formatted;
};

/* A format that records the type and survey in the body, with ids evt_1, evt_2, ... */
static char *format_plain(void *ctx, const struct evt_facts *fa, char id_out[EVENT_ID_LEN])
{
	struct fx *f = ctx;
	char *body = malloc(512);

	if (f->fail_format || !body) {
		free(body);
		return NULL;
	}
	snprintf(id_out, EVENT_ID_LEN, "evt_%d", ++f->formatted);
	snprintf(body, 512, "%s survey=%s customer=%s score=%d comment=%s phone=%s source=%s",
		 evt_type_name(fa->type), fa->has_survey ? fa->survey_id : "-", fa->customer_id,
		 fa->has_response ? fa->score : -1, fa->has_response ? fa->comment : "-",
		 fa->phone ? fa->phone : "-", fa->source ? fa->source : "-");
	return body;
}

static struct pg_store *open_ok(const struct pg_test_db *db)
{
	struct gw_err err = { 0 };
	struct pg_store *st = pg_store_open(db->url, &err);

	if (!st)
		fail_msg("pg_store_open: %s", err.msg);
	return st;
}

static int fx_open(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	pg_test_db_create(&f->db);
	f->st = open_ok(&f->db);
	pg_store_set_event_format(f->st, format_plain, f);
	*state = f;
	return 0;
}

static int fx_free(void **state)
{
	struct fx *f = *state;

	if (f) {
		pg_store_close(f->st);
		pg_test_db_drop(&f->db);
	}
	free(f);
	return 0;
}

static void assert_query(struct fx *f, const char *sql, const char *want)
{
	char got[1024];

	pg_test_query(&f->db, sql, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", sql, got, want);
}

/* Survey `id` (interaction `interaction`) for +34600111222 on twilio, sent at t=100. */
static void sent_survey(struct fx *f, const char *id, const char *interaction)
{
	char sql[1600];

	snprintf(
		sql, sizeof(sql),
		"INSERT INTO customers (ext_id, phone, locale, created_at, updated_at)"
		" VALUES ('cust-42', '+34600111222', 'es', 100, 100) ON CONFLICT DO NOTHING;"
		"INSERT INTO surveys (id, customer_id, phone, locale, kind, channel, provider,"
		" interaction_id, touchpoint, status, created_at, send_after, expires_at)"
		" SELECT '%s', id, phone, 'es', 'nps', 'sms', 'twilio', '%s', 'support_chat', 'sent',"
		" 100 + (SELECT count(*) FROM surveys), 100, 100000 FROM customers;"
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
		" status, provider_message_id, created_at, updated_at) VALUES ('%s', 'out',"
		" 'survey', 'sms', 'twilio', '+34600111222', '¿0-10?', 'sent', '%s', 100, 100)",
		id, interaction, id, id);
	pg_test_exec(&f->db, sql);
}

static void decide_as(void *ctx, const struct inbound_view *v, struct inbound_decision *out)
{
	(void)v;
	*out = *(const struct inbound_decision *)ctx;
}

/* A text from +34600111222 the rules answer with `d`; 0 or -1 as the store said. */
static int text(struct fx *f, const char *pid, int64_t now, struct inbound_decision d)
{
	struct inbound_in in = { .provider = "twilio",
				 .provider_message_id = pid,
				 .from = "+34600111222",
				 .text = "x",
				 .text_len = 1,
				 .now = now };
	struct inbound_result res;
	struct gw_err err = { 0 };

	return pg_record_inbound(f->st, &in, decide_as, &d, &res, &err);
}

static size_t due(struct pg_store *st, int64_t now, struct evt_item *items, size_t max)
{
	struct gw_err err = { 0 };
	size_t n = 99;

	if (pg_events_due(st, now, items, max, &n, &err) != 0)
		fail_msg("pg_events_due: %s", err.msg);
	return n;
}

static void record(struct pg_store *st, const struct evt_outcome *o, size_t n)
{
	struct gw_err err = { 0 };

	if (pg_events_record(st, o, n, &err) != 0)
		fail_msg("pg_events_record: %s", err.msg);
}

/* The bodies of the events due (and claimed) at `now`, in the order handed out, joined by
 * " | ". */
static void due_bodies(struct fx *f, int64_t now, char *out, size_t len)
{
	struct evt_item items[8];
	size_t n = due(f->st, now, items, ARRAY_LEN(items));

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " | " : "",
			 items[i].body);
		evt_item_release(&items[i]);
	}
}

/* ---- written with what they report ------------------------------------------------------ */

static void test_no_event_without_a_format(void **state)
{
	struct fx *f = *state;
	char got[512];

	pg_store_set_event_format(f->st, NULL, NULL);
	sent_survey(f, "srv_1", "chat-1");
	assert_int_equal(text(f, "SM1", 200,
			      (struct inbound_decision){ .action = INBOUND_ANSWER, .score = 9 }),
			 0);
	due_bodies(f, 1000, got, sizeof(got));
	assert_string_equal(got, "");
	assert_query(f, "SELECT count(*) || '/' || (SELECT count(*) FROM responses) FROM events",
		     "0/1");
}

/* A first score, the follow-up comment, a second score, a re-prompt: one event each for the
 * first three, with the response as it stands after the write; nothing for the re-prompt. */
static void test_responses_write_created_updated_and_commented_events(void **state)
{
	struct fx *f = *state;
	char got[1024];

	sent_survey(f, "srv_1", "chat-1");
	assert_int_equal(text(f, "SM0", 150,
			      (struct inbound_decision){ .action = INBOUND_REPROMPT }),
			 0);
	assert_int_equal(text(f, "SM1", 200,
			      (struct inbound_decision){ .action = INBOUND_ANSWER,
							 .score = 9,
							 .comment = "bien",
							 .comment_len = 4,
							 .follow_up_until = 1000 }),
			 0);
	assert_int_equal(text(f, "SM2", 210,
			      (struct inbound_decision){ .action = INBOUND_COMMENT,
							 .comment = "muy amables",
							 .comment_len = 11 }),
			 0);
	assert_int_equal(text(f, "SM3", 220,
			      (struct inbound_decision){ .action = INBOUND_ANSWER, .score = 10 }),
			 0);
	due_bodies(f, 220, got, sizeof(got));
	assert_string_equal(
		got, "response.created survey=srv_1 customer=cust-42 score=9 comment=bien phone=- "
		     "source=customer | "
		     "response.commented survey=srv_1 customer=cust-42 score=9 comment=muy amables "
		     "phone=- source=customer | "
		     "response.updated survey=srv_1 customer=cust-42 score=10 comment=muy amables "
		     "phone=- source=customer");
	assert_query(f, "SELECT count(*) FROM events WHERE created_at = next_attempt_at", "3");
}

/* An event that cannot be written takes its response with it, and the webhook's text too: the
 * provider's retry then finds nothing stored and everything happens once. */
static void test_no_response_without_its_event(void **state)
{
	struct fx *f = *state;
	struct inbound_decision d = { .action = INBOUND_ANSWER, .score = 9 };
	const char *counts =
		"SELECT (SELECT count(*) FROM responses) || '/' || (SELECT count(*)"
		" FROM messages WHERE direction = 'in') || '/' || count(*) FROM events";

	sent_survey(f, "srv_1", "chat-1");
	f->fail_format = 1;
	assert_int_equal(text(f, "SM1", 200, d), -1);
	assert_query(f, counts, "0/0/0");
	f->fail_format = 0;
	assert_int_equal(text(f, "SM1", 200, d), 0);
	assert_query(f, counts, "1/1/1");
}

/* Opt-out and opt-in events report a change of the number's state, once each. */
static void test_opt_out_and_opt_in_events_report_changes_only(void **state)
{
	struct fx *f = *state;
	struct gw_err err = { 0 };
	char got[1024];

	sent_survey(f, "srv_1", "chat-1");
	assert_int_equal(text(f, "SM1", 200,
			      (struct inbound_decision){ .action = INBOUND_OPT_OUT }),
			 0);
	/* already suppressed: a second STOP (or a provider saying the same) is not news */
	assert_int_equal(text(f, "SM2", 201,
			      (struct inbound_decision){ .action = INBOUND_OPT_OUT }),
			 0);
	assert_int_equal(pg_suppress_phone(f->st, "+34600111222", "twilio", 202, &err), 0);
	assert_int_equal(text(f, "SM3", 203, (struct inbound_decision){ .action = INBOUND_OPT_IN }),
			 0);
	assert_int_equal(text(f, "SM4", 204, (struct inbound_decision){ .action = INBOUND_OPT_IN }),
			 0);
	assert_int_equal(pg_suppress_phone(f->st, "+34600111222", "twilio", 205, &err), 0);
	assert_int_equal(pg_suppress_phone(f->st, "+34600999888", "twilio", 206, &err), 0);
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

/* ---- the queue ---------------------------------------------------------------------------- */

/* Due events come oldest first, claimed for the lease (60 s): a claimed event is not handed
 * out again before it ends, not even to the same instance; a retry waits until its time and
 * counts the attempt; a delivered event is gone; an expired one stays, never handed out
 * again. */
static void test_queue_order_lease_retry_delivery_and_expiry(void **state)
{
	struct fx *f = *state;
	struct evt_item items[8];
	size_t n;
	char got[1024];

	sent_survey(f, "srv_1", "chat-1");
	sent_survey(f, "srv_2", "chat-2");
	sent_survey(f, "srv_3", "chat-3");
	for (int i = 0; i < 3; i++) {
		char pid[16];

		snprintf(pid, sizeof(pid), "SM%d", i + 1);
		assert_int_equal(text(f, pid, 200 + i,
				      (struct inbound_decision){ .action = INBOUND_ANSWER,
								 .score = i + 1 }),
				 0);
	}
	/* the newest open survey (srv_3) took every score: one created, two updated */
	assert_int_equal(due(f->st, 199, items, ARRAY_LEN(items)), 0);
	n = due(f->st, 202, items, 2);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].id, "evt_1");
	assert_string_equal(items[0].type, "response.created");
	assert_string_equal(items[1].id, "evt_2");
	assert_int_equal(items[0].attempts, 0);
	assert_int_equal(items[0].created_at, 200);
	{
		struct evt_outcome o[2] = {
			{ .seq = items[0].seq,
			  .result = EVT_RETRY,
			  .next_at = 300,
			  .error = "HTTP 503" },
			{ .seq = items[1].seq, .result = EVT_DELIVERED },
		};

		record(f->st, o, 2);
	}
	evt_item_release(&items[0]);
	evt_item_release(&items[1]);
	due_bodies(f, 299, got, sizeof(got)); /* evt_3, claimed until 359 */
	assert_string_equal(got, "response.updated survey=srv_3 customer=cust-42 score=3 comment= "
				 "phone=- source=customer");
	n = due(f->st, 300, items, ARRAY_LEN(items));
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, "evt_1");
	assert_int_equal(items[0].attempts, 1);
	{
		struct evt_outcome o = { .seq = items[0].seq,
					 .result = EVT_EXPIRED,
					 .error = "HTTP 400" };

		record(f->st, &o, 1);
	}
	evt_item_release(&items[0]);
	assert_int_equal(due(f->st, 358, items, ARRAY_LEN(items)), 0);
	n = due(f->st, 359, items, ARRAY_LEN(items));
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, "evt_3");
	{
		struct evt_outcome o = { .seq = items[0].seq, .result = EVT_DELIVERED };

		record(f->st, &o, 1);
	}
	evt_item_release(&items[0]);
	assert_int_equal(due(f->st, 1000000, items, ARRAY_LEN(items)), 0);
	assert_query(f, "SELECT count(*) FROM events", "1");
	assert_query(f,
		     "SELECT attempts || '|' || coalesce(claimed_by, '-') FROM events"
		     " WHERE id = 'evt_1' AND status = 'expired' AND last_error = 'HTTP 400'",
		     "2|-");
}

#define EVENT_CLAIMERS 3
#define CLAIMED_EVENTS 300

struct claimer {
	const struct pg_test_db *db;
	int64_t seqs[CLAIMED_EVENTS];
	size_t n;
	struct gw_err err;
	int failed;
};

static void *claim_until_empty(void *arg)
{
	struct claimer *c = arg;
	struct pg_store *st = pg_store_open(c->db->url, &c->err);
	struct evt_item it[7];
	size_t n;

	if (!st) {
		c->failed = 1;
		return NULL;
	}
	do {
		if (pg_events_due(st, 1000, it, ARRAY_LEN(it), &n, &c->err) < 0) {
			c->failed = 1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (c->n < CLAIMED_EVENTS)
				c->seqs[c->n] = it[i].seq;
			c->n++;
			evt_item_release(&it[i]);
		}
	} while (n > 0);
	pg_store_close(st);
	return NULL;
}

/* Three instances claim one queue of 300 events at once until it is empty: each event is
 * claimed by exactly one of them (without SKIP LOCKED and the lease, two claims of the same
 * rows both win). */
static void test_instances_claiming_at_once_take_each_event_once(void **state)
{
	struct fx *f = *state;
	struct claimer *c = calloc(EVENT_CLAIMERS, sizeof(*c));
	pthread_t t[EVENT_CLAIMERS];
	static unsigned char seen[CLAIMED_EVENTS + 1];
	size_t total = 0;

	assert_non_null(c);
	pg_test_exec(&f->db, "INSERT INTO events (id, type, body, next_attempt_at, created_at)"
			     " SELECT 'evt_' || g, 'response.created', 'b' || g, g % 50, 1"
			     " FROM generate_series(1, 300) g");
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < EVENT_CLAIMERS; i++) {
		c[i].db = &f->db;
		assert_int_equal(pthread_create(&t[i], NULL, claim_until_empty, &c[i]), 0);
	}
	for (int i = 0; i < EVENT_CLAIMERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < EVENT_CLAIMERS; i++) {
		if (c[i].failed)
			fail_msg("claimer %d: %s", i, c[i].err.msg);
		assert_true(c[i].n <= CLAIMED_EVENTS);
		for (size_t k = 0; k < c[i].n; k++) {
			int64_t seq = c[i].seqs[k];

			assert_true(seq >= 1 && seq <= CLAIMED_EVENTS);
			if (seen[seq]++)
				fail_msg("event %lld claimed twice", (long long)seq);
		}
		total += c[i].n;
		printf("  claimer %d: %zu events\n", i, c[i].n);
	}
	free(c);
	assert_int_equal(total, CLAIMED_EVENTS);
	assert_query(f,
		     "SELECT count(*) FROM events WHERE claimed_by IS NOT NULL"
		     " AND lease_until = 1060",
		     "300");
}

/* Instance a claims an event and dies: nobody else gets it during a's lease, instance b gets it
 * once the lease has ended (at least once). */
static struct pg_store *claimed_then_taken_over(struct fx *f, int64_t *seq)
{
	struct pg_store *b = open_ok(&f->db);
	struct evt_item it[2];
	char sql[256];

	pg_test_exec(&f->db, "INSERT INTO events (id, type, body, next_attempt_at, created_at)"
			     " VALUES ('evt_1', 'response.created', 'b1', 1000, 1000)");
	assert_int_equal(due(f->st, 1000, it, 2), 1);
	*seq = it[0].seq;
	evt_item_release(&it[0]);
	assert_int_equal(due(b, 1059, it, 2), 0);
	assert_int_equal(due(b, 1060, it, 2), 1);
	assert_int_equal(it[0].seq, *seq);
	assert_string_equal(it[0].body, "b1");
	evt_item_release(&it[0]);
	snprintf(sql, sizeof(sql), "SELECT (claimed_by = '%s') || '|' || lease_until FROM events",
		 pg_store_instance(b));
	assert_query(f, sql, "true|1120");
	return b;
}

static void test_an_event_whose_claimant_died_is_claimed_again_after_its_lease(void **state)
{
	struct fx *f = *state;
	int64_t seq;

	pg_store_close(claimed_then_taken_over(f, &seq));
}

/* The first claimant, alive after all, reports late: its delivered, retry or expiry changes
 * nothing of the event b now holds; b's outcome lands. */
static void test_a_late_outcome_from_the_old_claimant_changes_nothing(void **state)
{
	struct fx *f = *state;
	int64_t seq;
	struct pg_store *b = claimed_then_taken_over(f, &seq);
	struct evt_outcome late[3] = {
		{ .seq = seq, .result = EVT_DELIVERED },
		{ .seq = seq, .result = EVT_RETRY, .next_at = 5000, .error = "HTTP 503" },
		{ .seq = seq, .result = EVT_EXPIRED, .error = "HTTP 400" },
	};
	char sql[256];

	for (size_t i = 0; i < ARRAY_LEN(late); i++)
		record(f->st, &late[i], 1);
	snprintf(sql, sizeof(sql),
		 "SELECT status || '|' || attempts || '|' || next_attempt_at || '|' ||"
		 " coalesce(last_error, '-') || '|' || (claimed_by = '%s') FROM events",
		 pg_store_instance(b));
	assert_query(f, sql, "pending|0|1000|-|true");
	record(b, &late[1], 1);
	assert_query(f,
		     "SELECT status || '|' || attempts || '|' || next_attempt_at || '|' ||"
		     " last_error || '|' || coalesce(claimed_by, '-') FROM events",
		     "pending|1|5000|HTTP 503|-");
	/* held by nobody now: a's outcome still lands nowhere */
	record(f->st, &late[0], 1);
	assert_query(f, "SELECT count(*) FROM events", "1");
	pg_store_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_open, fx_free)
		T(test_no_event_without_a_format),
		T(test_responses_write_created_updated_and_commented_events),
		T(test_no_response_without_its_event),
		T(test_opt_out_and_opt_in_events_report_changes_only),
		T(test_queue_order_lease_retry_delivery_and_expiry),
		T(test_instances_claiming_at_once_take_each_event_once),
		T(test_an_event_whose_claimant_died_is_claimed_again_after_its_lease),
		T(test_a_late_outcome_from_the_old_claimant_changes_nothing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
