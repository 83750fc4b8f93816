/*
 * test_pg_inbound.c - inbound texts and delivery statuses on the PostgreSQL store
 * (store/postgres/pg_inbound.c), as a specification.
 *
 * The cases of the SQLite store's tests (tests/test_store.c) that apply, each on a database of
 * its own (support/pg_test.h), and what several instances sharing one database add: the same
 * webhook taken by two instances is recorded once, and replies of one customer taken by two
 * instances at once are applied as if one after the other.
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
};

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

/* The first column of the first row of a query (printf-style) as text, "" for NULL or none. */
static void q_text(struct fx *f, char *out, size_t n, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	pg_test_query(&f->db, sql, out, n);
}

#define ASSERT_Q(f, want, ...)                                                            \
	do {                                                                              \
		char got_[1024];                                                          \
		q_text((f), got_, sizeof(got_), __VA_ARGS__);                             \
		if (strcmp(got_, (want)) != 0)                                            \
			fail_msg("line %d: got '%s', want '%s'", __LINE__, got_, (want)); \
	} while (0)

/*
 * Survey `id` for `phone` (customer `cust`, Ana, es) through `provider` on `channel`, created
 * at `created`, expiring at `expires` (0: never), in `status`; its message out, in the state a
 * survey in that state has, known to the provider as SM-<id>.
 */
struct seed {
	const char *id, *phone, *provider, *channel, *status;
	int64_t created, expires;
	const char *cust;
};

static void seed_survey(struct fx *f, const struct seed *s)
{
	static const char *const sent_states[] = { "sent", "delivered", "read", "answered" };
	const char *msg_status = s->status;
	char sql[2048], expires[24];

	for (size_t i = 0; i < ARRAY_LEN(sent_states); i++)
		if (strcmp(s->status, sent_states[i]) == 0)
			msg_status = strcmp(s->status, "answered") == 0 ? "sent" : s->status;
	if (s->expires)
		snprintf(expires, sizeof(expires), "%lld", (long long)s->expires);
	else
		snprintf(expires, sizeof(expires), "NULL");
	snprintf(
		sql, sizeof(sql),
		"INSERT INTO customers (ext_id, phone, name, locale, created_at, updated_at)"
		" VALUES ('%s', '%s', 'Ana', 'es', %lld, %lld)"
		" ON CONFLICT (ext_id) DO NOTHING;"
		"INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel, provider,"
		" interaction_id, status, created_at, send_after, expires_at)"
		" SELECT '%s', id, '%s', 'Ana', 'es', 'nps', '%s', '%s', 'chat-%s', '%s', %lld,"
		" %lld, %s FROM customers WHERE ext_id = '%s';"
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone, body,"
		" status, provider_message_id, created_at, updated_at)"
		" VALUES ('%s', 'out', 'survey', '%s', '%s', '%s', '¿0-10?', '%s', 'SM-%s', %lld,"
		" %lld)",
		s->cust ? s->cust : "cust-42", s->phone, (long long)s->created,
		(long long)s->created, s->id, s->phone, s->channel, s->provider, s->id, s->status,
		(long long)s->created, (long long)s->created, expires,
		s->cust ? s->cust : "cust-42", s->id, s->channel, s->provider, s->phone, msg_status,
		s->id, (long long)s->created, (long long)s->created);
	pg_test_exec(&f->db, sql);
}

/* A sent sms survey for +34600111222 on twilio, created at 1000, expiring at 100000. */
static void sent_survey(struct fx *f, const char *id)
{
	seed_survey(f, &(struct seed){ id, "+34600111222", "twilio", "sms", "sent", 1000, 100000,
				       NULL });
}

struct decider {
	int calls;
	int got_null;
	struct matched_survey seen;
	struct inbound_view view; /* the last view, its survey pointer cleared */
	struct inbound_decision answer;
};

static void decide_scripted(void *ctx, const struct inbound_view *v, struct inbound_decision *out)
{
	struct decider *d = ctx;

	d->calls++;
	d->got_null = v->survey == NULL;
	if (v->survey)
		d->seen = *v->survey;
	d->view = *v;
	d->view.survey = NULL;
	*out = d->answer;
}

static int inbound_on(struct pg_store *st, const char *provider, const char *pid,
		      const char *channel, const char *from, const char *text, size_t len,
		      int64_t now, struct decider *d, struct inbound_result *res)
{
	struct inbound_in in = {
		.provider = provider,
		.provider_message_id = pid,
		.channel = channel,
		.from = from,
		.text = text,
		.text_len = len,
		.now = now,
	};
	struct gw_err err = { 0 };
	int rc = pg_record_inbound(st, &in, decide_scripted, d, res, &err);

	if (rc != 0)
		print_message("pg_record_inbound(%s): %s\n", pid, err.msg);
	return rc;
}

static int inbound(struct fx *f, const char *provider, const char *pid, const char *channel,
		   const char *from, const char *text, size_t len, int64_t now, struct decider *d,
		   struct inbound_result *res)
{
	return inbound_on(f->st, provider, pid, channel, from, text, len, now, d, res);
}

/* Answers the open survey of `from` (twilio, any channel) with `score`, no reply queued. */
static void answer(struct fx *f, const char *from, const char *pid, int score, int64_t now,
		   const char *want_survey)
{
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = score } };
	struct inbound_result res;

	assert_int_equal(inbound(f, "twilio", pid, NULL, from, "ok", 2, now, &d, &res), 0);
	assert_int_equal(res.matched, 1);
	assert_string_equal(res.survey_id, want_survey);
}

/* ---- one instance: what SQLite does ------------------------------------------------------- */

/* A webhook delivered again changes nothing, whatever the rules would say now; the same id
 * from another provider is another message. */
static void test_a_text_is_stored_once_per_provider_message_id(void **state)
{
	struct fx *f = *state;
	struct decider d = { .answer = { .action = INBOUND_REPROMPT,
					 .reply = "Del 0 al 10, por favor",
					 .reply_purpose = "reprompt" } };
	struct decider d2 = { .answer = { .action = INBOUND_ANSWER, .score = 3 } };
	struct inbound_result res;

	sent_survey(f, "s-dup");
	assert_int_equal(inbound(f, "twilio", "SM-in", "sms", "+34600111222", "hola", 4, 1100, &d,
				 &res),
			 0);
	assert_int_equal(res.duplicate, 0);
	assert_int_equal(res.matched, 1);
	assert_int_equal(d.calls, 1);
	ASSERT_Q(f, "3", "SELECT count(*) FROM messages");

	memset(&res, 0x5a, sizeof(res));
	assert_int_equal(inbound(f, "twilio", "SM-in", "sms", "+34600111222", "3", 1, 1200, &d2,
				 &res),
			 0);
	assert_int_equal(res.duplicate, 1);
	assert_int_equal(res.matched, 0);
	assert_int_equal(d2.calls, 0);
	ASSERT_Q(f, "3", "SELECT count(*) FROM messages");
	ASSERT_Q(f, "0", "SELECT count(*) FROM responses");
	ASSERT_Q(f, "hola:1100",
		 "SELECT body || ':' || created_at FROM messages"
		 " WHERE direction = 'in'");
	ASSERT_Q(f, "sent:1", "SELECT status || ':' || reprompted FROM surveys WHERE id = 's-dup'");

	assert_int_equal(inbound(f, "meta", "SM-in", NULL, "+34600111222", "3", 1, 1300, &d2, &res),
			 0);
	assert_int_equal(res.duplicate, 0);
	ASSERT_Q(f, "4", "SELECT count(*) FROM messages");
}

/* One inbound text per row and the survey it must match ("" for none). */
struct match_row {
	const char *from, *provider, *channel;
	int64_t now;
	const char *want;
	int want_pending;
};

static const struct seed match_surveys[] = {
	/* +34600000001: two sms surveys, a newer WhatsApp one, and one by another provider */
	{ "p1-old", "+34600000001", "twilio", "sms", "sent", 100, 10000, NULL },
	{ "p1-new", "+34600000001", "twilio", "sms", "sent", 200, 10000, NULL },
	{ "p1-wa", "+34600000001", "twilio", "whatsapp", "delivered", 300, 10000, NULL },
	{ "p1-meta", "+34600000001", "meta", "whatsapp", "sent", 400, 10000, NULL },
	/* +34600000002: the newer survey expires at 1000, the older one later */
	{ "p2-old", "+34600000002", "twilio", "sms", "sent", 110, 10000, NULL },
	{ "p2-new", "+34600000002", "twilio", "sms", "sent", 210, 1000, NULL },
	/* +34600000003: the newer one is answered (a new score may still replace its answer) */
	{ "p3-old", "+34600000003", "twilio", "sms", "read", 120, 10000, NULL },
	{ "p3-new", "+34600000003", "twilio", "sms", "answered", 220, 10000, NULL },
	/* +34600000004: the newer one failed; +34600000005: the newer one is not sent yet */
	{ "p4-old", "+34600000004", "twilio", "sms", "sent", 130, 10000, NULL },
	{ "p4-new", "+34600000004", "twilio", "sms", "failed", 230, 10000, NULL },
	{ "p5-old", "+34600000005", "twilio", "sms", "sent", 140, 10000, NULL },
	{ "p5-new", "+34600000005", "twilio", "sms", "queued", 240, 10000, NULL },
	/* one survey per open state, and one past its expiry */
	{ "p7", "+34600000007", "twilio", "sms", "uncertain", 150, 10000, NULL },
	{ "p6", "+34600000006", "twilio", "sms", "sending", 160, 10000, NULL },
	{ "p8", "+34600000008", "twilio", "sms", "read", 170, 10000, NULL },
	{ "p10", "+34600000010", "twilio", "sms", "sent", 190, 500, NULL },
	/* answered, expired at 500, its follow-up window open until 3000 */
	{ "p11", "+34600000011", "twilio", "sms", "answered", 195, 500, NULL },
};

static const struct match_row match_rows[] = {
	{ "+34600000001", "twilio", NULL, 900, "p1-wa", 0 }, /* any channel: the newest */
	{ "+34600000001", "twilio", "sms", 900, "p1-new", 0 },
	{ "+34600000001", "twilio", "whatsapp", 900, "p1-wa", 0 },
	{ "+34600000001", "meta", NULL, 900, "p1-meta", 0 },
	{ "+34600000001", "meta", "sms", 900, "", 0 },
	{ "+34600000001", "zenvia", NULL, 900, "", 0 },
	{ "+34600000002", "twilio", "sms", 999, "p2-new", 0 },
	{ "+34600000002", "twilio", "sms", 1000, "p2-old", 0 }, /* expires_at == now: expired */
	{ "+34600000002", "twilio", "sms", 10000, "", 0 },
	{ "+34600000003", "twilio", NULL, 900, "p3-new", 0 }, /* answered: open until expiry */
	{ "+34600000004", "twilio", NULL, 900, "p4-old", 0 },
	{ "+34600000005", "twilio", NULL, 900, "p5-old", 0 },
	{ "+34600000006", "twilio", NULL, 900, "p6", 0 },
	{ "+34600000007", "twilio", NULL, 900, "p7", 0 },
	{ "+34600000008", "twilio", NULL, 900, "p8", 0 },
	{ "+34600000010", "twilio", NULL, 499, "p10", 0 },
	{ "+34600000010", "twilio", NULL, 500, "", 0 },
	{ "+34600000011", "twilio", NULL, 2999, "p11", 1 }, /* the window outlives expiry */
	{ "+34600000011", "twilio", NULL, 3000, "", 0 },
	{ "+34699999999", "twilio", NULL, 900, "", 0 },
	{ "34600000001", "twilio", NULL, 900, "", 0 }, /* the number must match exactly */
};

/* A text is matched to the newest open survey of its number, provider and channel (any
 * channel when the provider does not say); the rules see the match, the text is linked to it. */
static void test_a_text_matches_the_newest_open_survey(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(match_surveys); i++) {
		struct seed s = match_surveys[i];
		char cust[24];

		snprintf(cust, sizeof(cust), "cust-%s", s.phone);
		s.cust = cust;
		seed_survey(f, &s);
	}
	pg_test_exec(&f->db, "UPDATE surveys SET follow_up_until = 3000 WHERE id = 'p11'");
	for (size_t i = 0; i < ARRAY_LEN(match_rows); i++) {
		const struct match_row *r = &match_rows[i];
		struct decider d = { .answer = { .action = INBOUND_STORE_ONLY } };
		struct inbound_result res;
		char pid[32];

		snprintf(pid, sizeof(pid), "SM-match-%zu", i);
		assert_int_equal(inbound(f, r->provider, pid, r->channel, r->from, "hola", 4,
					 r->now, &d, &res),
				 0);
		if (strcmp(res.survey_id, r->want) != 0)
			fail_msg("row %zu (%s via %s/%s at %lld): matched '%s', want '%s'", i,
				 r->from, r->provider, r->channel ? r->channel : "any",
				 (long long)r->now, res.survey_id, r->want);
		assert_int_equal(res.matched, r->want[0] != '\0');
		assert_int_equal(d.got_null, r->want[0] == '\0');
		if (r->want[0]) {
			assert_string_equal(d.seen.id, r->want);
			assert_int_equal(d.seen.follow_up_pending, r->want_pending);
		}
		ASSERT_Q(f, r->want,
			 "SELECT survey_id FROM messages WHERE provider_message_id = '%s'", pid);
	}
	ASSERT_Q(f, "0",
		 "SELECT count(*) FROM messages WHERE direction = 'out'"
		 " AND purpose <> 'survey'");
}

/* The rules see the matched survey as it is, and the number's suppression and newest
 * customer. */
static void test_the_rules_see_the_survey_and_the_number(void **state)
{
	struct fx *f = *state;
	struct decider d = { .answer = { .action = INBOUND_STORE_ONLY } };
	struct inbound_result res;

	memset(&d.view, 0x5a, sizeof(d.view));
	assert_int_equal(inbound(f, "twilio", "SM-v1", NULL, "+34600111222", "hola", 4, 100, &d,
				 &res),
			 0);
	assert_int_equal(d.got_null, 1);
	assert_int_equal(d.view.suppressed, 0);
	assert_string_equal(d.view.locale, "");
	assert_string_equal(d.view.name, "");

	seed_survey(f, &(struct seed){ "s-seen", "+34600111222", "twilio", "whatsapp", "sent", 1000,
				       100000, "cust-9" });
	pg_test_exec(&f->db, "UPDATE customers SET locale = 'pt', name = 'Bea', updated_at = 2000"
			     " WHERE ext_id = 'cust-9'");
	pg_test_exec(&f->db, "UPDATE surveys SET kind = 'ces', name = 'Bea', locale = 'pt'");
	assert_int_equal(inbound(f, "twilio", "SM-v2", NULL, "+34600111222", "x", 1, 1100, &d,
				 &res),
			 0);
	assert_int_equal(d.got_null, 0);
	assert_string_equal(d.seen.id, "s-seen");
	assert_string_equal(d.seen.customer_id, "cust-9");
	assert_string_equal(d.seen.name, "Bea");
	assert_string_equal(d.seen.locale, "pt");
	assert_string_equal(d.seen.kind, "ces");
	assert_string_equal(d.seen.channel, "whatsapp");
	assert_string_equal(d.seen.status, "sent");
	assert_int_equal(d.seen.reprompted, 0);
	assert_string_equal(d.view.locale, "pt");
	assert_string_equal(d.view.name, "Bea");
	ASSERT_Q(f, "whatsapp", "SELECT channel FROM messages WHERE provider_message_id = 'SM-v2'");

	/* suppressed after a provider's opt-out, by the number or (after an erasure) its hash */
	{
		struct gw_err err = { 0 };
		char hash[STORE_PHONE_HASH_LEN], sql[256];

		assert_int_equal(pg_suppress_phone(f->st, "+34600111222", "twilio", 1200, &err), 0);
		assert_int_equal(inbound(f, "twilio", "SM-v3", NULL, "+34600111222", "x", 1, 1300,
					 &d, &res),
				 0);
		assert_int_equal(d.view.suppressed, 1);
		assert_int_equal(store_phone_hash("+34600111222", hash), 0);
		snprintf(sql, sizeof(sql), "UPDATE suppressions SET phone = '%s'", hash);
		pg_test_exec(&f->db, sql);
		assert_int_equal(inbound(f, "twilio", "SM-v4", NULL, "+34600111222", "x", 1, 1400,
					 &d, &res),
				 0);
		assert_int_equal(d.view.suppressed, 1);
	}
}

/* An answer records the response (score, comment, raw text, the text's id), marks the survey
 * answered and queues the thank-you on the survey's channel; a later score replaces it, the
 * comment only when the new one has one. */
static void test_an_answer_records_the_response_and_queues_the_reply(void **state)
{
	static const struct {
		int score;
		const char *comment; /* NULL: none given */
		const char *want_comment;
	} rows[] = {
		{ 9, "bien", "bien" }, { 3, NULL, "bien" }, { 4, "", "bien" },
		{ 5, "mal", "mal" },   { 6, NULL, "mal" },
	};
	struct fx *f = *state;
	struct decider d = { .answer = { .action = INBOUND_ANSWER,
					 .score = 9,
					 .comment = "muy amables",
					 .comment_len = 11,
					 .reply = "¡Gracias, Ana!",
					 .reply_purpose = "thanks" } };
	struct inbound_result res;

	seed_survey(f, &(struct seed){ "s-ans", "+34600111222", "twilio", "whatsapp", "sent", 1000,
				       100000, NULL });
	assert_int_equal(inbound(f, "twilio", "SM-in-ans", "whatsapp", "+34600111222",
				 "9 muy amables", 13, 1500, &d, &res),
			 0);
	assert_int_equal(res.matched, 1);
	assert_string_equal(res.survey_id, "s-ans");
	assert_int_equal(res.action, INBOUND_ANSWER);
	ASSERT_Q(f, "9|muy amables|9 muy amables|1500|true",
		 "SELECT score || '|' || comment || '|' || raw_text || '|' || answered_at || '|' ||"
		 " (message_id = (SELECT id FROM messages WHERE provider_message_id = 'SM-in-ans'))"
		 " FROM responses WHERE survey_id = 's-ans'");
	ASSERT_Q(f, "answered|1500|",
		 "SELECT status || '|' || answered_at || '|' ||"
		 " coalesce(follow_up_until::text, '') FROM surveys");
	ASSERT_Q(f, "s-ans|out|thanks|whatsapp|twilio|+34600111222|queued|1500|¡Gracias, Ana!",
		 "SELECT survey_id || '|' || direction || '|' || purpose || '|' || channel || '|'"
		 " || provider || '|' || phone || '|' || status || '|' || next_attempt_at || '|' ||"
		 " body FROM messages WHERE purpose = 'thanks'");

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct decider d2 = { .answer = {
					      .action = INBOUND_ANSWER,
					      .score = rows[i].score,
					      .comment = rows[i].comment,
					      .comment_len = rows[i].comment ?
								     strlen(rows[i].comment) :
								     0,
				      } };
		char pid[32], want[64];

		snprintf(pid, sizeof(pid), "SM-ra-%zu", i);
		assert_int_equal(inbound(f, "twilio", pid, NULL, "+34600111222", "x", 1,
					 1600 + (int64_t)i, &d2, &res),
				 0);
		assert_string_equal(res.survey_id, "s-ans");
		snprintf(want, sizeof(want), "%d|%s|%lld", rows[i].score, rows[i].want_comment,
			 1600LL + (long long)i);
		ASSERT_Q(f, want,
			 "SELECT score || '|' || comment || '|' || answered_at FROM responses");
	}
	ASSERT_Q(f, "1", "SELECT count(*) FROM responses");
	ASSERT_Q(f, "6", "SELECT count(*) FROM messages WHERE direction = 'in'");
}

/* A re-prompt marks the survey and queues the question again; the next text shows the rules it
 * was re-asked. */
static void test_a_reprompt_marks_the_survey_and_the_next_text_sees_it(void **state)
{
	struct fx *f = *state;
	struct decider d = { .answer = { .action = INBOUND_REPROMPT,
					 .reply = "Responde con un número del 0 al 10",
					 .reply_purpose = "reprompt" } };
	struct inbound_result res;

	sent_survey(f, "s-rep");
	assert_int_equal(inbound(f, "twilio", "SM-in", "sms", "+34600111222", "genial", 6, 1100, &d,
				 &res),
			 0);
	assert_int_equal(res.action, INBOUND_REPROMPT);
	ASSERT_Q(f, "sent|1|0",
		 "SELECT status || '|' || reprompted || '|' ||"
		 " (SELECT count(*) FROM responses) FROM surveys");
	ASSERT_Q(f, "reprompt|sms|queued|Responde con un número del 0 al 10",
		 "SELECT purpose || '|' || channel || '|' || status || '|' || body FROM messages"
		 " WHERE direction = 'out' AND purpose <> 'survey'");
	d.answer = (struct inbound_decision){ .action = INBOUND_STORE_ONLY };
	assert_int_equal(inbound(f, "twilio", "SM-in-2", "sms", "+34600111222", "??", 2, 1200, &d,
				 &res),
			 0);
	assert_int_equal(d.seen.reprompted, 1);
	ASSERT_Q(f, "1", "SELECT count(*) FROM messages WHERE purpose = 'reprompt'");
}

/* The follow-up comment replaces the response's comment (comment_len bytes of it), keeps the
 * score, closes the window and queues the reply. */
static void test_a_comment_replaces_the_comment_and_closes_the_follow_up(void **state)
{
	static const char second[] = "el precio, nada más";
	struct fx *f = *state;
	struct decider d = { .answer = { .action = INBOUND_ANSWER,
					 .score = 9,
					 .comment = "rápido",
					 .comment_len = strlen("rápido"),
					 .follow_up_until = 5000 } };
	struct inbound_result res;

	seed_survey(f, &(struct seed){ "cm-1", "+34600111222", "twilio", "sms", "sent", 1000, 1501,
				       NULL });
	assert_int_equal(inbound(f, "twilio", "SM-ans", NULL, "+34600111222", "9 rápido", 9, 1100,
				 &d, &res),
			 0);
	ASSERT_Q(f, "5000", "SELECT follow_up_until FROM surveys");
	d.answer = (struct inbound_decision){ .action = INBOUND_COMMENT,
					      .comment = second,
					      .comment_len = 9, /* "el precio" */
					      .reply = "¡Gracias!",
					      .reply_purpose = "thanks" };
	assert_int_equal(inbound(f, "twilio", "SM-cm", NULL, "+34600111222", second,
				 sizeof(second) - 1, 2000, &d, &res),
			 0);
	assert_string_equal(res.survey_id, "cm-1");
	assert_int_equal(d.seen.follow_up_pending, 1);
	ASSERT_Q(f, "answered|9|el precio|1100|",
		 "SELECT s.status || '|' || r.score || '|' || r.comment || '|' || s.answered_at"
		 " || '|' || coalesce(s.follow_up_until::text, '') FROM surveys s"
		 " JOIN responses r ON r.survey_id = s.id");
	ASSERT_Q(f, "cm-1|thanks|queued|¡Gracias!",
		 "SELECT survey_id || '|' || purpose || '|' || status || '|' || body"
		 " FROM messages WHERE purpose = 'thanks'");
	ASSERT_Q(f, "cm-1", "SELECT survey_id FROM messages WHERE provider_message_id = 'SM-cm'");
	/* closed: past the survey's expiry nothing matches any more */
	d.answer = (struct inbound_decision){ .action = INBOUND_STORE_ONLY };
	assert_int_equal(inbound(f, "twilio", "SM-p", NULL, "+34600111222", "?", 1, 2001, &d, &res),
			 0);
	assert_int_equal(res.matched, 0);
}

/* An opt-out suppresses the number (customers flagged), skips its queued surveys (opted_out)
 * and cancels their messages, leaves the open survey, and queues the confirmation; an opt-in
 * lifts the suppression and keeps the row. */
static void test_an_opt_out_suppresses_skips_and_cancels_and_an_opt_in_lifts_it(void **state)
{
	struct fx *f = *state;
	struct decider d = { .answer = { .action = INBOUND_OPT_OUT,
					 .reply = "Listo, no más",
					 .reply_purpose = "opt_out" } };
	struct inbound_result res;

	seed_survey(f, &(struct seed){ "oo-open", "+34600111222", "twilio", "whatsapp", "sent",
				       1000, 100000, NULL });
	seed_survey(f, &(struct seed){ "oo-q1", "+34600111222", "twilio", "sms", "queued", 1100,
				       100000, NULL });
	seed_survey(f, &(struct seed){ "oo-q2", "+34600111222", "meta", "sms", "queued", 1200,
				       100000, "cust-43" });
	seed_survey(f, &(struct seed){ "oo-other", "+34600999888", "twilio", "sms", "queued", 1300,
				       100000, "cust-77" });
	assert_int_equal(inbound(f, "twilio", "SM-stop", NULL, "+34600111222", "BAJA", 4, 2000, &d,
				 &res),
			 0);
	assert_string_equal(res.survey_id, "oo-open");
	assert_int_equal(res.action, INBOUND_OPT_OUT);
	ASSERT_Q(f, "+34600111222|1|2000||twilio",
		 "SELECT string_agg(phone || '|' || opted_out || '|' || opted_out_at || '|' ||"
		 " coalesce(opted_in_at::text, '') || '|' || provider, ',') FROM suppressions");
	ASSERT_Q(
		f, "cust-42:1,cust-43:1,cust-77:0",
		"SELECT string_agg(ext_id || ':' || opted_out, ',' ORDER BY ext_id) FROM customers");
	ASSERT_Q(f,
		 "oo-open:sent:,oo-other:queued:,oo-q1:skipped:opted_out,oo-q2:skipped:opted_out",
		 "SELECT string_agg(id || ':' || status || ':' || coalesce(reason, ''), ','"
		 " ORDER BY id) FROM surveys");
	ASSERT_Q(f, "oo-open:sent,oo-other:queued,oo-q1:cancelled,oo-q2:cancelled",
		 "SELECT string_agg(survey_id || ':' || status, ',' ORDER BY survey_id)"
		 " FROM messages WHERE purpose = 'survey'");
	ASSERT_Q(f, "oo-open|whatsapp|twilio|queued|2000|Listo, no más",
		 "SELECT survey_id || '|' || channel || '|' || provider || '|' || status || '|' ||"
		 " next_attempt_at || '|' || body FROM messages WHERE purpose = 'opt_out'");

	d.answer = (struct inbound_decision){ .action = INBOUND_OPT_IN,
					      .reply = "De vuelta",
					      .reply_purpose = "opt_in" };
	assert_int_equal(inbound(f, "twilio", "SM-start", "sms", "+34600999888", "ALTA", 4, 2500,
				 &d, &res),
			 0); /* a number never suppressed: nothing to lift */
	assert_int_equal(inbound(f, "twilio", "SM-start-2", "sms", "+34600111222", "ALTA", 4, 3000,
				 &d, &res),
			 0);
	ASSERT_Q(f, "+34600111222|0|2000|3000",
		 "SELECT string_agg(phone || '|' || opted_out || '|' || opted_out_at || '|' ||"
		 " opted_in_at, ',') FROM suppressions");
	ASSERT_Q(
		f, "cust-42:0,cust-43:0,cust-77:0",
		"SELECT string_agg(ext_id || ':' || opted_out, ',' ORDER BY ext_id) FROM customers");
	ASSERT_Q(f, "skipped", "SELECT status FROM surveys WHERE id = 'oo-q1'");
	/* no survey matched (another channel): the reply goes back on the text's channel */
	ASSERT_Q(f, "(none)|sms|De vuelta",
		 "SELECT coalesce(survey_id, '(none)') || '|' || channel || '|' || body"
		 " FROM messages WHERE purpose = 'opt_in' AND phone = '+34600999888'");
}

/* Rules about a survey without one: the text is stored, nothing else changes, no reply. */
static void test_survey_actions_without_a_match_do_nothing(void **state)
{
	static const enum inbound_action actions[] = { INBOUND_ANSWER, INBOUND_REPROMPT,
						       INBOUND_COMMENT };
	struct fx *f = *state;

	seed_survey(f, &(struct seed){ "nm-q", "+34600111222", "twilio", "sms", "queued", 1000,
				       100000, NULL });
	for (size_t i = 0; i < ARRAY_LEN(actions); i++) {
		struct decider d = { .answer = { .action = actions[i],
						 .score = 7,
						 .comment = "c",
						 .comment_len = 1,
						 .follow_up_until = 5000,
						 .reply = "r",
						 .reply_purpose = "thanks" } };
		struct inbound_result res;
		char pid[32], want[8];

		snprintf(pid, sizeof(pid), "SM-nm-%zu", i);
		assert_int_equal(inbound(f, "twilio", pid, NULL, "+34600111222", "7 c", 3, 2000, &d,
					 &res),
				 0);
		assert_int_equal(res.matched, 0);
		snprintf(want, sizeof(want), "%zu", i + 1);
		ASSERT_Q(f, want, "SELECT count(*) FROM messages WHERE direction = 'in'");
		ASSERT_Q(
			f, "0|0|0",
			"SELECT (SELECT count(*) FROM messages WHERE direction = 'out' AND"
			" purpose <> 'survey') || '|' || (SELECT count(*) FROM responses) || '|' ||"
			" (SELECT count(*) FROM suppressions)");
		ASSERT_Q(f, "queued|0|",
			 "SELECT status || '|' || reprompted || '|' ||"
			 " coalesce(follow_up_until::text, '') FROM surveys");
	}
}

/* PostgreSQL's text takes neither NUL bytes nor invalid UTF-8, which providers may send: the
 * text, raw text and comment are stored with each replaced by U+FFFD, valid text unchanged. */
static void test_nul_bytes_and_invalid_utf8_are_stored_as_replacement_characters(void **state)
{
	static const struct {
		const char *what, *text;
		size_t len;
		const char *want;
	} rows[] = {
		{ "a NUL in the middle", "9\0 muy amables", 14, "9\xEF\xBF\xBD muy amables" },
		{ "a lone 0xFF", "\xFF", 1, "\xEF\xBF\xBD" },
		{ "a truncated two-byte sequence", "caf\xC3", 4, "caf\xEF\xBF\xBD" },
		{ "an overlong NUL", "a\xC0\x80z", 4, "a\xEF\xBF\xBD\xEF\xBF\xBDz" },
		{ "valid accents and emoji", "¡Añoranza! 😀 ç", strlen("¡Añoranza! 😀 ç"),
		  "¡Añoranza! 😀 ç" },
	};
	struct fx *f = *state;

	sent_survey(f, "s-utf");
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct decider d = { .answer = { .action = INBOUND_ANSWER,
						 .score = 9,
						 .comment = rows[i].text,
						 .comment_len = rows[i].len } };
		struct inbound_result res;
		char pid[32], got[256];

		snprintf(pid, sizeof(pid), "SM-utf-%zu", i);
		if (inbound(f, "twilio", pid, NULL, "+34600111222", rows[i].text, rows[i].len,
			    1100 + (int64_t)i, &d, &res) != 0)
			fail_msg("%s: not stored", rows[i].what);
		q_text(f, got, sizeof(got),
		       "SELECT m.body || '#' || r.raw_text || '#' || r.comment FROM messages m,"
		       " responses r WHERE m.provider_message_id = '%s'",
		       pid);
		{
			char want[256];

			snprintf(want, sizeof(want), "%s#%s#%s", rows[i].want, rows[i].want,
				 rows[i].want);
			if (strcmp(got, want) != 0)
				fail_msg("%s: stored '%s', want '%s'", rows[i].what, got, want);
		}
	}
}

/* ---- delivery statuses -------------------------------------------------------------------- */

struct status_row {
	const char *before[3]; /* statuses recorded first (NULL-terminated) */
	int answered;          /* the survey is answered before `status` arrives */
	const char *status;
	const char *want_message, *want_survey;
};

static const struct status_row status_rows[] = {
	{ { NULL }, 0, "sent", "sent", "sent" },
	{ { NULL }, 0, "delivered", "delivered", "delivered" },
	{ { NULL }, 0, "read", "read", "read" },
	{ { "delivered" }, 0, "read", "read", "read" },
	{ { "read" }, 0, "delivered", "read", "read" }, /* late delivered: ignored */
	{ { "read" }, 0, "sent", "read", "read" },
	{ { "delivered" }, 0, "sent", "delivered", "delivered" },
	{ { "delivered" }, 0, "delivered", "delivered", "delivered" },
	{ { NULL }, 0, "failed", "failed", "failed" },
	{ { "delivered" }, 0, "failed", "delivered", "delivered" },
	{ { "read" }, 0, "failed", "read", "read" },
	{ { "failed" }, 0, "delivered", "failed", "failed" },
	{ { "failed" }, 0, "read", "failed", "failed" },
	{ { NULL }, 1, "delivered", "delivered", "answered" },
	{ { NULL }, 1, "read", "read", "answered" },
	{ { NULL }, 1, "failed", "failed", "answered" },
	{ { "delivered" }, 1, "read", "read", "answered" },
};

static void status(struct fx *f, const char *pid, const char *st, int64_t now, int want_found)
{
	struct gw_err err = { 0 };
	int failed = strcmp(st, "failed") == 0, found = -1;

	if (pg_record_status(f->st, "twilio", pid, st, failed ? "30008" : NULL,
			     failed ? "Unknown error" : NULL, now, &found, &err) != 0)
		fail_msg("pg_record_status(%s, %s): %s", pid, st, err.msg);
	assert_int_equal(found, want_found);
}

/* States only move forward (a late delivered never overwrites read, failed only before
 * delivery); an answered survey keeps its status while its message moves on. */
static void test_a_status_only_moves_forward(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < ARRAY_LEN(status_rows); i++) {
		const struct status_row *r = &status_rows[i];
		int64_t t = 1000 + (int64_t)i * 100;
		char id[32], pid[32], phone[32], want[64];

		snprintf(id, sizeof(id), "st-%zu", i);
		snprintf(pid, sizeof(pid), "SM-st-%zu", i);
		snprintf(phone, sizeof(phone), "+346000001%02zu", i);
		seed_survey(f,
			    &(struct seed){ id, phone, "twilio", "sms", "sent", t, 100000, NULL });
		for (size_t j = 0; r->before[j]; j++)
			status(f, pid, r->before[j], t + 2, 1);
		if (r->answered) {
			char in_pid[32];

			snprintf(in_pid, sizeof(in_pid), "SM-in-st-%zu", i);
			answer(f, phone, in_pid, 9, t + 3, id);
		}
		status(f, pid, r->status, t + 4, 1);
		snprintf(want, sizeof(want), "%s/%s", r->want_message, r->want_survey);
		ASSERT_Q(f, want,
			 "SELECT m.status || '/' || s.status FROM messages m JOIN surveys s"
			 " ON s.id = m.survey_id WHERE m.provider_message_id = '%s'",
			 pid);
		if (strcmp(r->want_survey, "failed") == 0 && !r->before[0])
			ASSERT_Q(f, "30008|Unknown error",
				 "SELECT error_code || '|' || error_message FROM surveys"
				 " WHERE id = '%s'",
				 id);
	}
}

/* delivered_at is the first delivery's; an unknown id, or a known one of another provider, is
 * not found and changes nothing. */
static void test_delivered_at_is_the_first_and_unknown_ids_are_not_found(void **state)
{
	struct fx *f = *state;
	struct gw_err err = { 0 };
	int found = 1;

	sent_survey(f, "s-dl");
	status(f, "SM-s-dl", "delivered", 1010, 1);
	status(f, "SM-s-dl", "read", 1020, 1);
	ASSERT_Q(f, "read|1010", "SELECT status || '|' || delivered_at FROM surveys");
	status(f, "SM-nope", "delivered", 1030, 0);
	assert_int_equal(pg_record_status(f->st, "meta", "SM-s-dl", "failed", "1", "x", 1030,
					  &found, &err),
			 0);
	assert_int_equal(found, 0);
	ASSERT_Q(f, "read", "SELECT status FROM messages WHERE provider_message_id = 'SM-s-dl'");
}

/* ---- a webhook's events ------------------------------------------------------------------- */

static char *format_or_fail(void *ctx, const struct evt_facts *fa, char id_out[EVENT_ID_LEN])
{
	static int n;
	int *fail = ctx;

	if (*fail)
		return NULL;
	snprintf(id_out, EVENT_ID_LEN, "evt_%d", __atomic_add_fetch(&n, 1, __ATOMIC_SEQ_CST));
	return strdup(evt_type_name(fa->type));
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, rc;
};

static void on_done(void *ctx, int rc)
{
	struct waiter *w = ctx;

	pthread_mutex_lock(&w->mu);
	w->done = 1;
	w->rc = rc;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static int wait_done(struct waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return w->rc;
}

/* A webhook's events (a status, then a text) are recorded in order, all of them or none: a text
 * whose event cannot be written takes the status with it.  The asynchronous form tells its
 * callback 0 or -1 after the commit, with the same outcome. */
static void test_a_webhooks_events_are_recorded_all_or_none(void **state)
{
	struct fx *f = *state;
	struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = 8 } };
	struct gw_err err = { 0 };
	int fail = 1;
	struct store_event evs[2] = {
		{ .is_status = 1,
		  .provider = "twilio",
		  .provider_message_id = "SM-ev",
		  .status = "delivered",
		  .now = 1100 },
		{ .in = { .provider = "twilio",
			  .provider_message_id = "SM-in-ev",
			  .from = "+34600111222",
			  .text = "8",
			  .text_len = 1,
			  .now = 1200 },
		  .decide = decide_scripted,
		  .decide_ctx = &d },
	};

	sent_survey(f, "ev");
	pg_store_set_event_format(f->st, format_or_fail, &fail);
	assert_int_equal(pg_record_events(f->st, evs, 2, &err), -1);
	assert_int_equal(err.http_status, 503);
	ASSERT_Q(f, "sent|0|0",
		 "SELECT status || '|' || (SELECT count(*) FROM messages WHERE"
		 " direction = 'in') || '|' || (SELECT count(*) FROM events)"
		 " FROM surveys");
	{
		struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 99 };

		assert_int_equal(pg_record_events_async(f->st, evs, 2, &err, on_done, &w), 0);
		assert_int_equal(wait_done(&w), -1);
		ASSERT_Q(f, "sent|0",
			 "SELECT status || '|' || (SELECT count(*) FROM messages WHERE"
			 " direction = 'in') FROM surveys");
	}
	fail = 0;
	{
		struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 99 };

		assert_int_equal(pg_record_events_async(f->st, evs, 2, &err, on_done, &w), 0);
		assert_int_equal(wait_done(&w), 0);
	}
	assert_int_equal(evs[0].found, 1);
	assert_int_equal(evs[1].res.matched, 1);
	assert_string_equal(evs[1].res.survey_id, "ev");
	ASSERT_Q(
		f, "answered|delivered|8|response.created",
		"SELECT s.status || '|' || m.status || '|' || r.score || '|' ||"
		" (SELECT string_agg(body, ',') FROM events) FROM surveys s JOIN messages m ON"
		" m.survey_id = s.id AND m.purpose = 'survey' JOIN responses r ON r.survey_id = s.id");
	/* the same webhook again: the status changes nothing, the text is a duplicate */
	assert_int_equal(pg_record_events(f->st, evs, 2, &err), 0);
	assert_int_equal(evs[0].found, 1);
	assert_int_equal(evs[1].res.duplicate, 1);
	ASSERT_Q(f, "1", "SELECT count(*) FROM events");
}

/* ---- several instances -------------------------------------------------------------------- */

#define WEBHOOKS 120

struct deliverer {
	const struct pg_test_db *db;
	struct pg_store *st;
	int first, step; /* webhooks first, first + step, ... */
	int stored, duplicates, failed;
	struct gw_err err;
};

static void *deliver_all(void *arg)
{
	struct deliverer *w = arg;

	for (int i = w->first; i < WEBHOOKS && !w->failed; i += w->step) {
		struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = i % 11 } };
		struct inbound_in in = { .provider = "twilio",
					 .from = "+34600111222",
					 .text = "x",
					 .text_len = 1,
					 .now = 2000 + i };
		struct inbound_result res;
		char pid[32];

		snprintf(pid, sizeof(pid), "SM-hook-%d", i);
		in.provider_message_id = pid;
		if (pg_record_inbound(w->st, &in, decide_scripted, &d, &res, &w->err) < 0)
			w->failed = 1;
		else if (res.duplicate)
			w->duplicates++;
		else
			w->stored++;
	}
	return NULL;
}

/* A provider delivering every webhook twice, to two instances at once: each text is stored
 * once, one instance recording it and the other told it is a duplicate, and nobody errs. */
static void test_the_same_webhook_at_two_instances_is_recorded_once(void **state)
{
	struct fx *f = *state;
	struct pg_store *b = open_ok(&f->db);
	struct deliverer w[4];
	pthread_t t[4];
	int stored = 0, dups = 0;
	char want[16];

	sent_survey(f, "s-hook");
	for (int i = 0; i < 4; i++) {
		/* two threads per instance; instance a and b each take every webhook */
		w[i] = (struct deliverer){ .db = &f->db,
					   .st = i % 2 ? b : f->st,
					   .first = i / 2,
					   .step = 2 };
		assert_int_equal(pthread_create(&t[i], NULL, deliver_all, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pg_store_close(b);
	for (int i = 0; i < 4; i++) {
		if (w[i].failed)
			fail_msg("deliverer %d: %s", i, w[i].err.msg);
		stored += w[i].stored;
		dups += w[i].duplicates;
	}
	assert_int_equal(stored, WEBHOOKS);
	assert_int_equal(dups, WEBHOOKS);
	snprintf(want, sizeof(want), "%d", WEBHOOKS);
	ASSERT_Q(f, want,
		 "SELECT count(DISTINCT provider_message_id) FROM messages"
		 " WHERE direction = 'in'");
	ASSERT_Q(f, want, "SELECT count(*) FROM messages WHERE direction = 'in'");
}

/*
 * Rules as the conversation's: a digit answers (a thank-you the first time); anything else
 * re-prompts, once per survey.
 */
static void decide_like_a_conversation(void *ctx, const struct inbound_view *v,
				       struct inbound_decision *out)
{
	const char *text = ctx;

	memset(out, 0, sizeof(*out));
	if (!v->survey)
		return;
	if (text[0] >= '0' && text[0] <= '9') {
		out->action = INBOUND_ANSWER;
		out->score = text[0] - '0';
		if (strcmp(v->survey->status, "answered") != 0) {
			out->reply = "¡Gracias!";
			out->reply_purpose = "thanks";
		}
	} else if (!v->survey->reprompted) {
		out->action = INBOUND_REPROMPT;
		out->reply = "Del 0 al 10, por favor";
		out->reply_purpose = "reprompt";
	}
}

#define REPLIERS 6
#define REPLIES_EACH 20

struct replier {
	struct pg_store *st;
	int n;
	int failed;
	struct gw_err err;
};

static void *reply_many(void *arg)
{
	struct replier *r = arg;

	for (int i = 0; i < REPLIES_EACH && !r->failed; i++) {
		char pid[32], text[8];
		struct inbound_in in = { .provider = "twilio",
					 .from = "+34600111222",
					 .now = 2000 };
		struct inbound_result res;

		snprintf(pid, sizeof(pid), "SM-r-%d-%d", r->n, i);
		/* a third are words, the rest scores */
		snprintf(text, sizeof(text), "%s",
			 (r->n + i) % 3 == 0 ? "hola" :
					       (char[]){ (char)('0' + (r->n * 7 + i) % 10), 0 });
		in.provider_message_id = pid;
		in.text = text;
		in.text_len = strlen(text);
		if (pg_record_inbound(r->st, &in, decide_like_a_conversation, text, &res, &r->err) <
		    0)
			r->failed = 1;
	}
	return NULL;
}

/*
 * Replies of one customer taken by two instances at once (six threads, three per instance)
 * land as in some serial order: one first answer (one response.created, one thank-you), every
 * later score a response.updated, one re-prompt, and the response holds the last score applied.
 * Without the lock on the number, two instances both see the survey unanswered, or not yet
 * re-prompted, and both act on it.
 */
static void test_replies_of_one_customer_at_two_instances_apply_in_a_serial_order(void **state)
{
	struct fx *f = *state;
	struct pg_store *b = open_ok(&f->db);
	struct replier r[REPLIERS];
	pthread_t t[REPLIERS];
	int fail = 0, words = 0;
	char want[32];

	sent_survey(f, "s-race");
	pg_store_set_event_format(f->st, format_or_fail, &fail);
	pg_store_set_event_format(b, format_or_fail, &fail);
	for (int i = 0; i < REPLIERS; i++) {
		r[i] = (struct replier){ .st = i % 2 ? b : f->st, .n = i };
		assert_int_equal(pthread_create(&t[i], NULL, reply_many, &r[i]), 0);
	}
	for (int i = 0; i < REPLIERS; i++)
		pthread_join(t[i], NULL);
	pg_store_close(b);
	for (int i = 0; i < REPLIERS; i++) {
		if (r[i].failed)
			fail_msg("replier %d: %s", i, r[i].err.msg);
		for (int k = 0; k < REPLIES_EACH; k++)
			words += (i + k) % 3 == 0;
	}
	ASSERT_Q(f, "1", "SELECT count(*) FROM events WHERE body = 'response.created'");
	snprintf(want, sizeof(want), "%d", REPLIERS * REPLIES_EACH - words - 1);
	ASSERT_Q(f, want, "SELECT count(*) FROM events WHERE body = 'response.updated'");
	ASSERT_Q(f, "1|1",
		 "SELECT (SELECT count(*) FROM messages WHERE purpose = 'thanks') || '|'"
		 " || (SELECT count(*) FROM messages WHERE purpose = 'reprompt')");
	ASSERT_Q(f, "answered|1", "SELECT status || '|' || reprompted FROM surveys");
	/* the response is the last score applied: the newest scored text (ids follow the lock) */
	ASSERT_Q(f, "t",
		 "SELECT r.message_id = (SELECT max(id) FROM messages WHERE direction = 'in'"
		 " AND body ~ '^[0-9]$') AND r.raw_text = m.body AND r.score = m.body::int"
		 " FROM responses r JOIN messages m ON m.id = r.message_id");
}

#define STATUS_MESSAGES 150

struct status_sender {
	struct pg_store *st;
	const char *status;
	int failed;
	struct gw_err err;
};

static void *send_statuses(void *arg)
{
	struct status_sender *s = arg;

	for (int i = 0; i < STATUS_MESSAGES && !s->failed; i++) {
		char pid[32];
		int found = 0;

		snprintf(pid, sizeof(pid), "SM-c-%d", i);
		if (pg_record_status(s->st, "twilio", pid, s->status, NULL, NULL, 2000, &found,
				     &s->err) < 0 ||
		    !found)
			s->failed = 1;
	}
	return NULL;
}

/* "delivered" and "read" of each message reaching two instances at once (three threads each):
 * every message and survey ends read, whichever came first.  Without the row locks, the
 * instance that read "sent" before the other wrote "read" writes "delivered" over it. */
static void test_statuses_of_one_message_at_two_instances_only_move_forward(void **state)
{
	struct fx *f = *state;
	struct pg_store *b = open_ok(&f->db);
	struct status_sender s[6];
	pthread_t t[6];
	char want[16];

	pg_test_exec(
		&f->db,
		"INSERT INTO customers (ext_id, phone, locale, created_at, updated_at)"
		" VALUES ('cust-c', '+34600111222', 'es', 1, 1);"
		"INSERT INTO surveys (id, customer_id, phone, locale, kind, channel, provider,"
		" interaction_id, status, created_at, send_after, expires_at)"
		" SELECT 'c-' || g, c.id, c.phone, 'es', 'nps', 'sms', 'twilio', 'chat-c-' || g,"
		" 'sent', 1000 + g, 1000, 100000 FROM customers c, generate_series(0, 149) g;"
		"INSERT INTO messages (survey_id, direction, purpose, channel, provider, phone,"
		" body, status, provider_message_id, created_at, updated_at)"
		" SELECT 'c-' || g, 'out', 'survey', 'sms', 'twilio', '+34600111222', 'q',"
		" 'sent', 'SM-c-' || g, 1000, 1000 FROM generate_series(0, 149) g");
	for (int i = 0; i < 6; i++) {
		s[i] = (struct status_sender){ .st = i % 2 ? b : f->st,
					       .status = i % 2 ? "read" : "delivered" };
		assert_int_equal(pthread_create(&t[i], NULL, send_statuses, &s[i]), 0);
	}
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	pg_store_close(b);
	for (int i = 0; i < 6; i++)
		if (s[i].failed)
			fail_msg("sender %d: %s", i, s[i].err.msg);
	snprintf(want, sizeof(want), "%d", STATUS_MESSAGES);
	ASSERT_Q(f, want, "SELECT count(*) FROM messages WHERE status = 'read'");
	ASSERT_Q(f, want,
		 "SELECT count(*) FROM surveys WHERE status = 'read'"
		 " AND delivered_at = 2000");
}

#define NUMBERS 5
#define TEXTERS 8
#define TEXTS_EACH 40

struct texter {
	struct pg_store *st;
	int n, failed;
	struct gw_err err;
};

static void *text_many_numbers(void *arg)
{
	struct texter *w = arg;
	unsigned seed = (unsigned)w->n * 7919u + 1;

	for (int i = 0; i < TEXTS_EACH && !w->failed; i++) {
		struct decider d = { .answer = { .action = INBOUND_ANSWER, .score = i % 11 } };
		char pid[32], from[24];
		struct inbound_in in = { .provider = "twilio",
					 .text = "x",
					 .text_len = 1,
					 .now = 2000 };
		struct inbound_result res;

		seed = seed * 1103515245u + 12345u;
		snprintf(from, sizeof(from), "+3460000900%d", (int)((seed >> 16) % NUMBERS));
		snprintf(pid, sizeof(pid), "SM-m-%d-%d", w->n, i);
		in.provider_message_id = pid;
		in.from = from;
		if (pg_record_inbound(w->st, &in, decide_scripted, &d, &res, &w->err) < 0)
			w->failed = 1;
	}
	return NULL;
}

/* Texts of five customers taken by two instances at once, many threads each (groups of several
 * jobs holding several numbers' locks): every text is recorded, nobody errs. */
static void test_texts_of_many_customers_at_two_instances_are_all_recorded(void **state)
{
	struct fx *f = *state;
	struct pg_store *b = open_ok(&f->db);
	struct texter w[TEXTERS];
	pthread_t t[TEXTERS];
	int failed = 0;
	char want[16];

	for (int i = 0; i < NUMBERS; i++) {
		char id[24], phone[32], cust[24];

		snprintf(id, sizeof(id), "m-%d", i);
		snprintf(phone, sizeof(phone), "+3460000900%d", i);
		snprintf(cust, sizeof(cust), "cust-m-%d", i);
		seed_survey(f, &(struct seed){ id, phone, "twilio", "sms", "sent", 1000, 100000,
					       cust });
	}
	for (int i = 0; i < TEXTERS; i++) {
		w[i] = (struct texter){ .st = i % 2 ? b : f->st, .n = i };
		assert_int_equal(pthread_create(&t[i], NULL, text_many_numbers, &w[i]), 0);
	}
	for (int i = 0; i < TEXTERS; i++)
		pthread_join(t[i], NULL);
	pg_store_close(b);
	for (int i = 0; i < TEXTERS; i++)
		if (w[i].failed) {
			print_message("texter %d: %s\n", i, w[i].err.msg);
			failed++;
		}
	assert_int_equal(failed, 0);
	snprintf(want, sizeof(want), "%d", TEXTERS * TEXTS_EACH);
	ASSERT_Q(f, want, "SELECT count(*) FROM messages WHERE direction = 'in'");
}

#define ASYNC_HOOKS 60

struct async_sender {
	struct pg_store *st;
	int n, failed;
	struct gw_err err;
};

static void *send_async(void *arg)
{
	struct async_sender *a = arg;

	for (int i = 0; i < ASYNC_HOOKS && !a->failed; i++) {
		struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 99 };
		char pid[32], text[2] = { (char)('0' + i % 10), 0 };
		struct store_event ev = {
			.in = { .provider = "twilio",
				.from = "+34600111222",
				.text = text,
				.text_len = 1,
				.now = 2000 },
			.decide = decide_like_a_conversation,
			.decide_ctx = text,
		};

		snprintf(pid, sizeof(pid), "SM-a-%d-%d", a->n, i);
		ev.in.provider_message_id = pid;
		if (pg_record_events_async(a->st, &ev, 1, &a->err, on_done, &w) < 0 ||
		    wait_done(&w) != 0)
			a->failed = 1;
	}
	return NULL;
}

/* Webhooks of one customer recorded asynchronously by two instances at once (a job finding
 * the number busy is submitted again from its callback): every text lands, its callback told
 * 0, and one first answer is reported. */
static void test_async_webhooks_of_one_customer_at_two_instances_all_land(void **state)
{
	struct fx *f = *state;
	struct pg_store *b = open_ok(&f->db);
	struct async_sender a[4];
	pthread_t t[4];
	int fail = 0;
	char want[16];

	sent_survey(f, "s-async");
	pg_store_set_event_format(f->st, format_or_fail, &fail);
	pg_store_set_event_format(b, format_or_fail, &fail);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct async_sender){ .st = i % 2 ? b : f->st, .n = i };
		assert_int_equal(pthread_create(&t[i], NULL, send_async, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pg_store_close(b);
	for (int i = 0; i < 4; i++)
		if (a[i].failed)
			fail_msg("sender %d: %s", i, a[i].err.msg);
	snprintf(want, sizeof(want), "%d", 4 * ASYNC_HOOKS);
	ASSERT_Q(f, want, "SELECT count(*) FROM messages WHERE direction = 'in'");
	ASSERT_Q(f, "1|1",
		 "SELECT (SELECT count(*) FROM events WHERE body = 'response.created')"
		 " || '|' || (SELECT count(*) FROM messages WHERE purpose = 'thanks')");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_open, fx_free)
		T(test_a_text_is_stored_once_per_provider_message_id),
		T(test_a_text_matches_the_newest_open_survey),
		T(test_the_rules_see_the_survey_and_the_number),
		T(test_an_answer_records_the_response_and_queues_the_reply),
		T(test_a_reprompt_marks_the_survey_and_the_next_text_sees_it),
		T(test_a_comment_replaces_the_comment_and_closes_the_follow_up),
		T(test_an_opt_out_suppresses_skips_and_cancels_and_an_opt_in_lifts_it),
		T(test_survey_actions_without_a_match_do_nothing),
		T(test_nul_bytes_and_invalid_utf8_are_stored_as_replacement_characters),
		T(test_a_status_only_moves_forward),
		T(test_delivered_at_is_the_first_and_unknown_ids_are_not_found),
		T(test_a_webhooks_events_are_recorded_all_or_none),
		T(test_the_same_webhook_at_two_instances_is_recorded_once),
		T(test_replies_of_one_customer_at_two_instances_apply_in_a_serial_order),
		T(test_statuses_of_one_message_at_two_instances_only_move_forward),
		T(test_texts_of_many_customers_at_two_instances_are_all_recorded),
		T(test_async_webhooks_of_one_customer_at_two_instances_all_land),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
