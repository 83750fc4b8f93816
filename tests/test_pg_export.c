/*
 * test_pg_export.c - export and report cursors on PostgreSQL (store/postgres/pg_export.c), as
 * a specification.
 *
 * The cases of the SQLite store's export and report tests (tests/test_store.c, test_report.c)
 * on a database of each test's own (support/pg_test.h), seeded with SQL as an operator would
 * see the rows; then what only a shared server asks: cursors of several instances reading one
 * snapshot while another client commits, an export of 20,000 rows read in bounded memory, and
 * the server ending the session in the middle of one.
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
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
/* <sanitizer/allocator_interface.h>'s, which Debian ships apart from the compiler */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#include "pg_store.h"
#include "support/pg_test.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define T0 1795305600 /* 2026-11-22T00:00:00Z */

static int fx_db(void **state)
{
	struct pg_test_db *db = calloc(1, sizeof(*db));

	if (!db)
		return -1;
	pg_test_db_create(db);
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

static struct pg_store *open_ok(const struct pg_test_db *db)
{
	struct gw_err err = { 0 };
	struct pg_store *st = pg_store_open(db->url, &err);

	if (!st)
		fail_msg("pg_store_open: %s", err.msg);
	return st;
}

/* A statement with text parameters on a connection of the test's own; fails the test on
 * error. */
static void exec_params(const struct pg_test_db *db, const char *sql, int n,
			const char *const *vals)
{
	PGconn *c = PQconnectdb(db->url);
	PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, msg);
}

/* ---- seeding ------------------------------------------------------------------------------ */

/* One survey, its customer, and what became of it. */
struct seed {
	const char *id, *kind, *channel, *touchpoint, *agent; /* NULL touchpoint/agent: unset */
	int64_t created_at;
	int64_t answered_at; /* 0: never answered */
	int score;
	const char *comment;
	const char *name;   /* NULL: unset */
	int64_t sent_at;    /* 0: unset */
	const char *status; /* NULL: answered when answered_at, else sent */
	int stop_reply;     /* an opt_out confirmation queued on it */
};

static void seed_one(const struct pg_test_db *db, const struct seed *e)
{
	char cust[64], phone[32], inter[64], created[24], sent[24], answered[24], score[8];
	const char *status = e->status ? e->status : e->answered_at ? "answered" : "sent";

	snprintf(cust, sizeof(cust), "cust-%s", e->id);
	snprintf(phone, sizeof(phone), "+34600%06u", (unsigned)(strlen(e->id) * 7919u) % 1000000u);
	snprintf(inter, sizeof(inter), "chat-%s", e->id);
	snprintf(created, sizeof(created), "%lld", (long long)e->created_at);
	snprintf(sent, sizeof(sent), "%lld", (long long)e->sent_at);
	snprintf(answered, sizeof(answered), "%lld", (long long)e->answered_at);
	snprintf(score, sizeof(score), "%d", e->score);
	exec_params(db,
		    "INSERT INTO customers (ext_id, phone, name, locale, created_at, updated_at)"
		    " VALUES ($1, $2, $3, 'es', $4, $4)",
		    4, (const char *const[]){ cust, phone, e->name, created });
	exec_params(db,
		    "INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel,"
		    " provider, interaction_id, touchpoint, agent, opened_at, closed_at, status,"
		    " reason, created_at, send_after, sent_at)"
		    " SELECT $1, c.id, $2, $3, 'es', $4, $5, 'twilio', $6, $7, $8,"
		    " CASE WHEN $7::text IS NULL THEN NULL ELSE '2026-11-21T10:00:00Z' END,"
		    " CASE WHEN $7::text IS NULL THEN NULL ELSE '2026-11-21T10:15:00Z' END,"
		    " $9, CASE WHEN $9 = 'skipped' THEN 'recently_surveyed' END, $10, $10,"
		    " nullif($11::bigint, 0) FROM customers c WHERE c.ext_id = $12",
		    12,
		    (const char *const[]){ e->id, phone, e->name, e->kind, e->channel, inter,
					   e->touchpoint, e->agent, status, created, sent, cust });
	if (e->answered_at)
		exec_params(
			db,
			"INSERT INTO responses (survey_id, score, comment, raw_text, answered_at)"
			" VALUES ($1, $2, $3, $5, $4)",
			5,
			(const char *const[]){ e->id, score, e->comment ? e->comment : "", answered,
					       score });
	if (e->stop_reply)
		exec_params(
			db,
			"INSERT INTO messages (survey_id, direction, purpose, channel, provider,"
			" phone, body, status, created_at, updated_at)"
			" VALUES ($1, 'out', 'opt_out', 'sms', 'twilio', $2, 'bye', 'queued', $3,"
			" $3)",
			3, (const char *const[]){ e->id, phone, created });
}

static void seed_all(const struct pg_test_db *db, const struct seed *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		seed_one(db, &s[i]);
}

/* ---- export: the SQLite store's cases ---------------------------------------------------- */

/* test_store.c's data set, with channels, touchpoints and agents, and two answers of one
 * second (ex-6, ex-10: the id breaks the tie, bytewise). */
/* A survey (its id, kind, channel, touchpoint, agent, creation time) and what became of it. */
#define SV(i, k, ch, tp, ag, t)                                                     \
	.id = (i), .kind = (k), .channel = (ch), .touchpoint = (tp), .agent = (ag), \
	.created_at = (t)
#define ANSWERED(at, sc) .answered_at = (at), .score = (sc)

static const struct seed export_seeds[] = {
	{ SV("ex-1", "nps", "sms", "chat", "a1", T0 - 1000), ANSWERED(T0 + 300, 9) },
	{ SV("ex-2", "ces", "whatsapp", "shop", "a2", T0 - 999), ANSWERED(T0 + 100, 6) },
	{ SV("ex-3", "nps", "sms", NULL, NULL, T0 - 998), ANSWERED(T0 + 200, 3) },
	{ SV("ex-4", "csat", "sms", "chat", "a2", T0 - 997), ANSWERED(T0 + 86400, 5) },
	{ SV("ex-5", "nps", "sms", "chat", "a1", T0 - 996) },
	{ SV("ex-6", "nps", "whatsapp", "", "a1", T0 - 995), ANSWERED(T0 + 400, 8) },
	{ SV("ex-10", "nps", "sms", "chat", "a1", T0 - 994), ANSWERED(T0 + 400, 7) },
};

struct export_case {
	struct export_filter f;
	const char *want; /* survey ids, comma-separated, in order */
};

static const struct export_case export_cases[] = {
	{ { .kind = NULL }, "ex-2,ex-3,ex-1,ex-10,ex-6,ex-4" },
	{ { .kind = "nps" }, "ex-3,ex-1,ex-10,ex-6" },
	{ { .kind = "ces" }, "ex-2" },
	{ { .kind = "csat" }, "ex-4" },
	{ { .kind = "NPS" }, "" },                              /* exact match */
	{ { .since = T0 + 200 }, "ex-3,ex-1,ex-10,ex-6,ex-4" }, /* since: included */
	{ { .until = T0 + 200 }, "ex-2" },                      /* until: excluded */
	{ { .since = T0 + 100, .until = T0 + 301 }, "ex-2,ex-3,ex-1" },
	{ { .since = T0, .until = T0 + 86400 }, "ex-2,ex-3,ex-1,ex-10,ex-6" },
	{ { .kind = "nps", .since = T0 + 250 }, "ex-1,ex-10,ex-6" },
	{ { .kind = "ces", .since = T0 + 101 }, "" },
	{ { .since = T0 + 86401 }, "" },
	{ { .channel = "whatsapp" }, "ex-2,ex-6" },
	{ { .channel = "sms", .kind = "nps" }, "ex-3,ex-1,ex-10" },
	{ { .touchpoint = "chat" }, "ex-1,ex-10,ex-4" },
	{ { .touchpoint = "" }, "ex-6" }, /* "" is not unset */
	{ { .agent = "a2" }, "ex-2,ex-4" },
	{ { .agent = "a1", .touchpoint = "chat", .until = T0 + 400 }, "ex-1" },
	{ { .agent = "nobody" }, "" },
};

/* The ids a cursor returns from where it is, comma-separated. */
static void walk_ids(struct pg_export_cursor *cur, char *got, size_t cap)
{
	struct gw_err err = { 0 };
	struct export_row r;
	size_t len = 0;
	int rc;

	got[0] = '\0';
	while ((rc = pg_export_next(cur, &r, &err)) == 1) {
		len += (size_t)snprintf(got + len, cap - len, "%s%s", len ? "," : "", r.survey_id);
		assert_true(len < cap);
	}
	if (rc != 0)
		fail_msg("pg_export_next: %s", err.msg);
}

/* The ids over [from, to), the cursor restarted there. */
static void range_ids(struct pg_export_cursor *cur, int64_t from, int64_t to, char *got, size_t cap)
{
	struct gw_err err = { 0 };

	if (pg_export_range(cur, from, to, &err) != 0)
		fail_msg("pg_export_range: %s", err.msg);
	walk_ids(cur, got, cap);
}

static void test_the_filters_select_responses_in_answer_order(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);

	seed_all(db, export_seeds, ARRAY_LEN(export_seeds));
	for (size_t i = 0; i < ARRAY_LEN(export_cases); i++) {
		const struct export_case *c = &export_cases[i];
		struct gw_err err = { 0 };
		struct pg_export_cursor *cur = pg_export_open(st, &c->f, &err);
		char got[256];

		if (!cur)
			fail_msg("case %zu: %s", i, err.msg);
		walk_ids(cur, got, sizeof(got));
		pg_export_close(cur);
		if (strcmp(got, c->want) != 0)
			fail_msg(
				"case %zu (kind %s, since %lld, until %lld, channel %s, touchpoint %s,"
				" agent %s): got \"%s\", want \"%s\"",
				i, c->f.kind ? c->f.kind : "any", (long long)c->f.since,
				(long long)c->f.until, c->f.channel ? c->f.channel : "any",
				c->f.touchpoint ? c->f.touchpoint : "any",
				c->f.agent ? c->f.agent : "any", got, c->want);
	}
	pg_store_close(st);
}

/* The filter's strings are the cursor's own once it is open: the caller's may go. */
static void test_the_filter_strings_may_be_freed_after_open(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct gw_err err = { 0 };
	struct export_filter f = { .kind = strdup("nps"), .agent = strdup("a1") };
	struct pg_export_cursor *cur;
	char got[256];

	seed_all(db, export_seeds, ARRAY_LEN(export_seeds));
	assert_non_null(cur = pg_export_open(st, &f, &err));
	free((char *)f.kind);
	free((char *)f.agent);
	range_ids(cur, T0 + 300, 0, got, sizeof(got)); /* the filter is bound again here */
	assert_string_equal(got, "ex-1,ex-10,ex-6");
	pg_export_close(cur);
	pg_store_close(st);
}

/* Every column as the trigger and the answer left it; unset strings read ""; a comment's
 * commas, quotes, newlines and accents come back byte for byte, with its length. */
static void test_a_row_has_every_field(void **state)
{
	static const char comment[] = "muy amables,\n\"todo\" bien; ¡qué rápido! 'ok'\r\n€";
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	const struct seed rows[] = {
		{ SV("s-row", "nps", "whatsapp", "support_chat", "agent-7", T0),
		  ANSWERED(T0 + 750, 10), .comment = comment, .name = "Ana", .sent_at = T0 + 1 },
		{ SV("s-bare", "ces", "sms", NULL, NULL, T0), ANSWERED(T0 + 800, 0) },
	};
	struct export_filter all = { 0 };
	struct gw_err err = { 0 };
	struct pg_export_cursor *cur;
	struct export_row r;

	seed_all(db, rows, ARRAY_LEN(rows));
	assert_non_null(cur = pg_export_open(st, &all, &err));
	assert_int_equal(pg_export_next(cur, &r, &err), 1);
	assert_string_equal(r.survey_id, "s-row");
	assert_string_equal(r.customer_id, "cust-s-row");
	assert_string_equal(r.channel, "whatsapp");
	assert_string_equal(r.kind, "nps");
	assert_int_equal(r.score, 10);
	assert_int_equal(r.comment_len, sizeof(comment) - 1);
	assert_memory_equal(r.comment, comment, sizeof(comment) - 1);
	assert_string_equal(r.interaction_id, "chat-s-row");
	assert_string_equal(r.touchpoint, "support_chat");
	assert_string_equal(r.agent, "agent-7");
	assert_int_equal(r.sent_at, T0 + 1);
	assert_int_equal(r.answered_at, T0 + 750);
	assert_string_equal(r.name, "Ana");
	assert_string_equal(r.locale, "es");
	assert_string_equal(r.opened_at, "2026-11-21T10:00:00Z");
	assert_string_equal(r.closed_at, "2026-11-21T10:15:00Z");
	assert_true(r.phone[0] == '+');

	assert_int_equal(pg_export_next(cur, &r, &err), 1);
	assert_string_equal(r.survey_id, "s-bare");
	assert_int_equal(r.score, 0);
	assert_int_equal(r.comment_len, 0);
	assert_string_equal(r.comment, "");
	assert_string_equal(r.touchpoint, "");
	assert_string_equal(r.agent, "");
	assert_string_equal(r.name, "");
	assert_string_equal(r.opened_at, "");
	assert_string_equal(r.closed_at, "");
	assert_int_equal(r.sent_at, 0);
	assert_int_equal(pg_export_next(cur, &r, &err), 0);
	assert_int_equal(pg_export_next(cur, &r, &err), 0); /* and stays at the end */
	pg_export_close(cur);
	pg_export_close(NULL); /* closing nothing is allowed */
	pg_store_close(st);
}

/* A count when the filter bounds the answer time only (1, *n); else 0 with *n untouched. */
static void test_a_count_is_given_when_only_time_bounds_the_export(void **state)
{
	static const struct {
		struct export_filter f;
		int want_rc;
		int64_t want_n; /* -1: untouched */
	} cases[] = {
		{ { 0 }, 1, 6 },
		{ { .since = T0 + 200 }, 1, 5 },
		{ { .until = T0 + 200 }, 1, 1 },
		{ { .since = T0 + 86401 }, 1, 0 },
		{ { .kind = "nps" }, 0, -1 },
		{ { .channel = "sms" }, 0, -1 },
		{ { .touchpoint = "chat" }, 0, -1 },
		{ { .agent = "a1", .since = T0 }, 0, -1 },
	};
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);

	seed_all(db, export_seeds, ARRAY_LEN(export_seeds));
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct gw_err err = { 0 };
		struct pg_export_cursor *cur = pg_export_open(st, &cases[i].f, &err);
		int64_t n = -1;
		int rc;

		assert_non_null(cur);
		rc = pg_export_count(cur, &n, &err);
		if (rc != cases[i].want_rc || n != cases[i].want_n)
			fail_msg("case %zu: rc %d n %lld, want %d %lld", i, rc, (long long)n,
				 cases[i].want_rc, (long long)cases[i].want_n);
		pg_export_close(cur);
	}
	pg_store_close(st);
}

/* ---- export: one snapshot ---------------------------------------------------------------- */

/* Cursors opened together read the snapshot of their opening: an answer committed later (by
 * another client, or another instance's connection) is in none of them, nor in their count,
 * even after a restart on a range; bounds cut the export into slices that add up to it. */
static void test_cursors_opened_together_share_one_snapshot(void **state)
{
	static const struct seed late = { SV("s-late", "nps", "sms", "chat", "a1", T0),
					  ANSWERED(T0 + 100, 9) };
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct export_filter all = { 0 };
	struct gw_err err = { 0 };
	struct pg_export_cursor *cur[3];
	char whole[256], first[256], joined[520], other[256];
	int64_t *bounds = NULL, n = -1;
	size_t ncur = 3, nb = 0;

	seed_all(db, export_seeds, ARRAY_LEN(export_seeds));
	assert_int_equal(pg_export_open_many(st, &all, cur, &ncur, &err), 0);
	assert_int_equal(ncur, 3);
	seed_one(db, &late);

	assert_int_equal(pg_export_count(cur[2], &n, &err), 1);
	assert_int_equal(n, 6);
	walk_ids(cur[0], whole, sizeof(whole));
	assert_string_equal(whole, "ex-2,ex-3,ex-1,ex-10,ex-6,ex-4");
	for (size_t i = 1; i < ncur; i++) {
		range_ids(cur[i], 0, 0, other, sizeof(other));
		assert_string_equal(other, whole);
	}

	/* Every second answer time is a boundary (ex-10 and ex-6 share one): slices on
	 * different cursors that add up to the whole. */
	assert_int_equal(pg_export_bounds(cur[0], 2, &bounds, &nb, &err), 0);
	assert_int_equal(nb, 3);
	assert_int_equal(bounds[0], T0 + 200);
	assert_int_equal(bounds[1], T0 + 400);
	assert_int_equal(bounds[2], T0 + 86400);
	for (size_t k = 0, len = 0; k <= nb; k++) {
		range_ids(cur[k % ncur], k ? bounds[k - 1] : 0, k < nb ? bounds[k] : 0, first,
			  sizeof(first));
		assert_true(first[0] != '\0');
		len += (size_t)snprintf(joined + len, sizeof(joined) - len, "%s%s", k ? "," : "",
					first);
		assert_true(len < sizeof(joined));
	}
	assert_string_equal(joined, whole);
	free(bounds);
	for (size_t i = 0; i < ncur; i++)
		pg_export_close(cur[i]);

	/* A cursor opened now sees it. */
	assert_non_null(cur[0] = pg_export_open(st, &all, &err));
	walk_ids(cur[0], whole, sizeof(whole));
	assert_string_equal(whole, "ex-2,s-late,ex-3,ex-1,ex-10,ex-6,ex-4");
	pg_export_close(cur[0]);
	pg_store_close(st);
}

/* Bounds over the cursor's own range, one per run of equal times, none for an empty range. */
static void test_bounds_keep_a_run_of_equal_times_in_one_slice(void **state)
{
	static const struct {
		struct export_filter f;
		size_t step;
		const char *want; /* seconds after T0 */
	} cases[] = {
		{ { 0 }, 1, "100,200,300,400,86400" }, /* ex-6 and ex-10: one bound */
		{ { 0 }, 2, "200,400,86400" },
		{ { 0 }, 4, "400" },
		{ { 0 }, 5, "400" },
		{ { 0 }, 6, "86400" },
		{ { 0 }, 7, "" },
		{ { .since = T0 + 200, .until = T0 + 86400 }, 1, "200,300,400" },
		{ { .since = T0 + 90000 }, 1, "" },
	};
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);

	seed_all(db, export_seeds, ARRAY_LEN(export_seeds));
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct gw_err err = { 0 };
		struct pg_export_cursor *cur = pg_export_open(st, &cases[i].f, &err);
		int64_t *b = NULL;
		size_t n = 99, len = 0;
		char got[128] = "";

		assert_non_null(cur);
		if (pg_export_bounds(cur, cases[i].step, &b, &n, &err) != 0)
			fail_msg("case %zu: %s", i, err.msg);
		for (size_t k = 0; k < n; k++)
			len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%lld",
						k ? "," : "", (long long)(b[k] - T0));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, cases[i].want);
		if (n == 0)
			assert_null(b);
		free(b);
		pg_export_close(cur);
	}
	pg_store_close(st);
}

/* A client committing answers all the time (one every few ms). */
struct committer {
	const struct pg_test_db *db;
	volatile int stop;
	int made, failed;
	char msg[256];
};

static void *commit_answers(void *arg)
{
	struct committer *w = arg;
	PGconn *c = PQconnectdb(w->db->url);

	while (!w->stop && PQstatus(c) == CONNECTION_OK) {
		char id[32], t[24];
		PGresult *r;

		snprintf(id, sizeof(id), "w-%d", w->made);
		snprintf(t, sizeof(t), "%lld", (long long)(T0 + w->made));
		r = PQexecParams(
			c,
			"WITH s AS (INSERT INTO surveys (id, customer_id, phone, locale, kind,"
			" channel, provider, interaction_id, status, created_at, send_after)"
			" SELECT $1, id, phone, 'es', 'nps', 'sms', 'twilio', $1, 'answered',"
			" $2, $2 FROM customers WHERE ext_id = 'cust-ex-1' RETURNING id)"
			" INSERT INTO responses (survey_id, score, raw_text, answered_at)"
			" SELECT id, 9, '9', $2 FROM s",
			2, NULL, (const char *const[]){ id, t }, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(w->msg, sizeof(w->msg), "%s", PQerrorMessage(c));
			w->failed = 1;
			w->stop = 1;
		}
		PQclear(r);
		w->made++;
		usleep(500);
	}
	PQfinish(c);
	return NULL;
}

#define ROUNDS 6
#define CURSORS 3

/* One instance opening cursors together, again and again, while answers are committed. */
struct exporter {
	struct pg_store *st;
	int failed;
	char msg[400];
};

/* Every cursor of one open_many counts the same rows and walks as many as it counts. */
static void *export_rounds(void *arg)
{
	struct exporter *x = arg;
	struct export_filter all = { 0 };

	for (int round = 0; round < ROUNDS && !x->failed; round++) {
		struct pg_export_cursor *cur[CURSORS];
		struct gw_err err = { 0 };
		int64_t counts[CURSORS];
		size_t n = CURSORS;

		if (pg_export_open_many(x->st, &all, cur, &n, &err) != 0 || n != CURSORS) {
			snprintf(x->msg, sizeof(x->msg), "open_many: %zu cursors: %s", n, err.msg);
			x->failed = 1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			struct export_row r;
			int64_t walked = 0;
			int rc;

			usleep(3000); /* commits land between the cursors' reads */
			if (pg_export_count(cur[i], &counts[i], &err) != 1)
				counts[i] = -1;
			while ((rc = pg_export_next(cur[i], &r, &err)) == 1)
				walked++;
			if (rc != 0 || walked != counts[i] || counts[i] != counts[0]) {
				snprintf(
					x->msg, sizeof(x->msg),
					"round %d cursor %zu: counted %lld (cursor 0: %lld), walked"
					" %lld: %s",
					round, i, (long long)counts[i], (long long)counts[0],
					(long long)walked, err.msg);
				x->failed = 1;
			}
		}
		for (size_t i = 0; i < n; i++)
			pg_export_close(cur[i]);
	}
	return NULL;
}

/* Two instances export at once, each with three cursors opened together, while a client
 * commits answers every few milliseconds: the cursors of one opening always read the same
 * rows (without the shared snapshot, each cursor's would include the commits made while the
 * ones before it were being opened). */
static void test_instances_exporting_while_answers_commit_read_one_snapshot_each(void **state)
{
	struct pg_test_db *db = *state;
	struct exporter x[2] = { { .st = open_ok(db) }, { .st = open_ok(db) } };
	struct committer w = { .db = db };
	pthread_t tw, tx[2];

	seed_all(db, export_seeds, ARRAY_LEN(export_seeds));
	assert_int_equal(pthread_create(&tw, NULL, commit_answers, &w), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&tx[i], NULL, export_rounds, &x[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(tx[i], NULL);
	w.stop = 1;
	pthread_join(tw, NULL);
	for (int i = 0; i < 2; i++) {
		pg_store_close(x[i].st);
		if (x[i].failed)
			fail_msg("instance %d: %s", i, x[i].msg);
	}
	if (w.failed)
		fail_msg("committer: %s", w.msg);
	assert_true(w.made > 20); /* commits did land while the cursors were open */
}

/* ---- export: size, faults ------------------------------------------------------------------ */

#define BIG 20000
#define BIG_COMMENT 1000

/* BIG answers of BIG_COMMENT bytes each, three per second: L-00001 .. L-20000 in that order. */
static void seed_big(const struct pg_test_db *db)
{
	char sql[1024];

	pg_test_exec(db, "INSERT INTO customers (ext_id, phone, locale, created_at, updated_at)"
			 " VALUES ('cust-big', '+34600000000', 'es', 1, 1)");
	pg_test_exec(db,
		     "INSERT INTO surveys (id, customer_id, phone, locale, kind, channel,"
		     " provider, interaction_id, status, created_at, send_after)"
		     " SELECT 'L-' || lpad(g::text, 5, '0'), c.id, c.phone, 'es', 'nps', 'sms',"
		     " 'twilio', 'i-' || g, 'answered', g, g"
		     " FROM customers c, generate_series(1, 20000) g WHERE c.ext_id = 'cust-big'");
	snprintf(sql, sizeof(sql),
		 "INSERT INTO responses (survey_id, score, comment, raw_text, answered_at)"
		 " SELECT 'L-' || lpad(g::text, 5, '0'), g %% 11, repeat('x', %d), '',"
		 " %d + g / 3 FROM generate_series(1, %d) g",
		 BIG_COMMENT, T0, BIG);
	pg_test_exec(db, sql);
}

/* Bytes this process has allocated and not freed. */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
#endif
}

/* 20,000 answers (20 MB of comments) come each once, in order, while the process holds a few
 * batches' worth at most: read as a whole result, the heap would grow by the 20 MB. */
static void test_a_large_export_comes_in_order_in_bounded_memory(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct export_filter all = { 0 };
	struct gw_err err = { 0 };
	struct pg_export_cursor *cur;
	struct export_row r;
	size_t base, peak = 0;
	int64_t n = 0, last_t = 0;
	int rc, k = 0;

	seed_big(db);
	base = heap_in_use();
	assert_non_null(cur = pg_export_open(st, &all, &err));
	assert_int_equal(pg_export_count(cur, &n, &err), 1);
	assert_int_equal(n, BIG);
	while ((rc = pg_export_next(cur, &r, &err)) == 1) {
		char want[16];
		size_t used;

		k++;
		snprintf(want, sizeof(want), "L-%05d", k);
		if (strcmp(r.survey_id, want) != 0)
			fail_msg("row %d: %s, want %s", k, r.survey_id, want);
		assert_true(r.answered_at >= last_t);
		last_t = r.answered_at;
		assert_int_equal(r.comment_len, BIG_COMMENT);
		if (k % 250 == 0 && (used = heap_in_use()) > peak)
			peak = used;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(k, BIG);
	pg_export_close(cur);
	pg_store_close(st);
	printf("  %d rows; the heap grew by %zu KiB at most\n", k,
	       (peak > base ? peak - base : 0) / 1024);
	assert_true(peak < base + 6u * 1024 * 1024);
}

/* The server ends the export's session in the middle: the rows already fetched come, then -1
 * with a 503 that names the server; closing the cursor afterwards is safe. */
static void test_an_export_whose_session_ends_fails_with_an_error(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct export_filter all = { 0 };
	struct gw_err err = { 0 };
	struct pg_export_cursor *cur;
	struct export_row r;
	char sql[256], ended[16];
	int rc, k = 0;

	seed_big(db);
	assert_non_null(cur = pg_export_open(st, &all, &err));
	assert_int_equal(pg_export_next(cur, &r, &err), 1);
	/* The export's is the one session of the database in a transaction. */
	snprintf(sql, sizeof(sql),
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
		 " WHERE datname = '%s' AND state = 'idle in transaction'",
		 db->name);
	pg_test_query(db, sql, ended, sizeof(ended));
	assert_string_equal(ended, "1");
	while ((rc = pg_export_next(cur, &r, &err)) == 1)
		k++;
	assert_int_equal(rc, -1);
	assert_true(k < BIG - 1);
	assert_int_equal(err.http_status, 503);
	assert_string_equal(err.code, "store_unavailable");
	if (!strstr(err.msg, "PostgreSQL at") || !strstr(err.msg, "export"))
		fail_msg("message: %s", err.msg);
	assert_int_equal(pg_export_next(cur, &r, &err), -1); /* and stays failed */
	assert_int_equal(pg_export_range(cur, 0, 0, &err), -1);
	pg_export_close(cur);
	pg_store_close(st);
}

/* An export whose consumer stalls longer than the sessions' idle-in-transaction limit (1 min)
 * goes on.  Slow: runs when GATEWAY_TEST_SLOW is set. */
static void test_an_export_outlasts_the_idle_transaction_limit(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st;
	struct export_filter all = { 0 };
	struct gw_err err = { 0 };
	struct pg_export_cursor *cur;
	struct export_row r;
	int rc, k = 1;

	if (!getenv("GATEWAY_TEST_SLOW")) {
		skip();
		return;
	}
	st = open_ok(db);
	seed_big(db);
	assert_non_null(cur = pg_export_open(st, &all, &err));
	assert_int_equal(pg_export_next(cur, &r, &err), 1);
	sleep(65);
	while ((rc = pg_export_next(cur, &r, &err)) == 1)
		k++;
	if (rc != 0)
		fail_msg("after the stall: %s", err.msg);
	assert_int_equal(k, BIG);
	pg_export_close(cur);
	pg_store_close(st);
}

/* ---- reports ----------------------------------------------------------------------------- */

/*
 * test_report.c's kinds of survey: answered, sent only, stopped by a stop word, skipped,
 * queued; missing touchpoints and agents; another kind and times outside the range that a
 * report must not see.  Touchpoints and agents whose bytewise order differs from a
 * dictionary's ("Shop" before "chat").
 */
static const struct seed report_seeds[] = {
	{ SV("n1", "nps", "sms", "chat", "a1", T0 + 100), ANSWERED(T0 + 700, 6) },
	{ SV("n2", "nps", "whatsapp", "Shop", "b2", T0 + 200), ANSWERED(T0 + 900, 10) },
	{ SV("n3", "nps", "sms", NULL, NULL, T0 + 300), .sent_at = T0 + 360, .status = "sent" },
	{ SV("n4", "nps", "sms", "chat", "A3", T0 + 400), .sent_at = T0 + 460,
	  .status = "opted_out", .stop_reply = 1 },
	{ SV("n5", "nps", "whatsapp", "Shop", "a1", T0 + 500), .status = "skipped" },
	{ SV("n6", "nps", "sms", "chat", NULL, T0 + 500), .status = "queued" },
	{ SV("c1", "csat", "sms", "chat", "a1", T0 + 150), ANSWERED(T0 + 600, 4) },
	{ SV("n0", "nps", "sms", "chat", "a1", T0 - 100), ANSWERED(T0 + 50, 9) },
	{ SV("n9", "nps", "sms", "chat", "a1", T0 + 86400), ANSWERED(T0 + 86500, 9) },
};

struct report_case {
	struct report_query q;
	const char *want; /* one "channel/touchpoint/agent@created" per row, in order */
};

static const struct report_case report_cases[] = {
	{ { "nps", T0, T0 + 86400, REPORT_ORDER_TIME },
	  "sms/chat/a1@100,whatsapp/Shop/b2@200,sms//@300,sms/chat/A3@400,"
	  "whatsapp/Shop/a1@500,sms/chat/@500" },
	{ { "nps", T0, T0 + 86400, REPORT_ORDER_CHANNEL },
	  "sms/chat/a1@100,sms//@300,sms/chat/A3@400,sms/chat/@500,"
	  "whatsapp/Shop/b2@200,whatsapp/Shop/a1@500" },
	{ { "nps", T0, T0 + 86400, REPORT_ORDER_TOUCHPOINT },
	  "sms//@300,whatsapp/Shop/b2@200,whatsapp/Shop/a1@500,sms/chat/a1@100,"
	  "sms/chat/A3@400,sms/chat/@500" },
	{ { "nps", T0, T0 + 86400, REPORT_ORDER_AGENT },
	  "sms//@300,sms/chat/@500,sms/chat/A3@400,sms/chat/a1@100,whatsapp/Shop/a1@500,"
	  "whatsapp/Shop/b2@200" },
	{ { "nps", 0, 0, REPORT_ORDER_TIME },
	  "sms/chat/a1@-100,sms/chat/a1@100,whatsapp/Shop/b2@200,sms//@300,sms/chat/A3@400,"
	  "whatsapp/Shop/a1@500,sms/chat/@500,sms/chat/a1@86400" },
	{ { "nps", T0 + 200, T0 + 400, REPORT_ORDER_TIME }, "whatsapp/Shop/b2@200,sms//@300" },
	{ { "csat", 0, 0, REPORT_ORDER_AGENT }, "sms/chat/a1@150" },
	{ { "ces", 0, 0, REPORT_ORDER_TIME }, "" },
};

static void report_walk(struct pg_store *st, const struct report_query *q, char *got, size_t cap)
{
	struct gw_err err = { 0 };
	struct pg_report_cursor *c = pg_report_open(st, q, &err);
	struct report_row r;
	size_t len = 0;
	int rc;

	if (!c)
		fail_msg("pg_report_open: %s", err.msg);
	got[0] = '\0';
	while ((rc = pg_report_next(c, &r, &err)) == 1) {
		len += (size_t)snprintf(got + len, cap - len, "%s%s/%s/%s@%lld", len ? "," : "",
					r.channel, r.touchpoint, r.agent,
					(long long)(r.created_at - T0));
		assert_true(len < cap);
	}
	if (rc != 0)
		fail_msg("pg_report_next: %s", err.msg);
	pg_report_close(c);
}

/* Every survey of the kind created in [since, until), each group adjacent and in bytewise
 * order with "" (missing) first, oldest first inside it. */
static void test_a_report_reads_every_survey_of_its_kind_in_group_order(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);

	seed_all(db, report_seeds, ARRAY_LEN(report_seeds));
	for (size_t i = 0; i < ARRAY_LEN(report_cases); i++) {
		char got[512];

		report_walk(st, &report_cases[i].q, got, sizeof(got));
		if (strcmp(got, report_cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, got, report_cases[i].want);
	}
	pg_store_close(st);
}

/* The orders stay bytewise when the columns' collation is a dictionary's (a database made
 * with a linguistic default): "Shop" before "chat", "A3" before "a1", and in an export,
 * survey "tie-B" before "tie-a" answered in the same second. */
static void test_orders_are_bytewise_whatever_the_collation(void **state)
{
	static const struct seed ties[] = {
		{ SV("tie-a", "ces", "sms", NULL, NULL, T0), ANSWERED(T0 + 5000, 1) },
		{ SV("tie-B", "ces", "sms", NULL, NULL, T0), ANSWERED(T0 + 5000, 2) },
	};
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct export_filter f = { .since = T0 + 5000, .until = T0 + 5001 };
	struct pg_export_cursor *cur;
	struct gw_err err = { 0 };
	char coll[64], sql[256], got[512];

	pg_test_query(
		db,
		"SELECT collname FROM pg_collation WHERE collname IN ('en-x-icu', 'und-x-icu',"
		" 'en_US.utf8') ORDER BY collname LIMIT 1",
		coll, sizeof(coll));
	if (!coll[0]) {
		pg_store_close(st);
		skip();
		return;
	}
	for (int i = 0; i < 4; i++) {
		static const char *const col[] = { "channel", "touchpoint", "agent", "id" };

		snprintf(sql, sizeof(sql),
			 "ALTER TABLE surveys ALTER COLUMN %s TYPE text COLLATE \"%s\"", col[i],
			 coll);
		pg_test_exec(db, sql);
	}
	seed_all(db, report_seeds, ARRAY_LEN(report_seeds));
	for (size_t i = 1; i < 4; i++) {
		report_walk(st, &report_cases[i].q, got, sizeof(got));
		if (strcmp(got, report_cases[i].want) != 0)
			fail_msg("%s, case %zu: got \"%s\", want \"%s\"", coll, i, got,
				 report_cases[i].want);
	}
	seed_all(db, ties, ARRAY_LEN(ties));
	assert_non_null(cur = pg_export_open(st, &f, &err));
	walk_ids(cur, got, sizeof(got));
	assert_string_equal(got, "tie-B,tie-a");
	pg_export_close(cur);
	pg_store_close(st);
}

/* Each field of a report row: unset strings "", the response's score and time, the send time,
 * status and reason, and stop_reply for the survey a stop word answered. */
static void test_a_report_row_has_every_field(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct report_query q = { "nps", T0, T0 + 86400, REPORT_ORDER_TIME };
	struct gw_err err = { 0 };
	struct pg_report_cursor *c;
	struct report_row r;

	seed_all(db, report_seeds, ARRAY_LEN(report_seeds));
	pg_test_exec(db, "UPDATE surveys SET sent_at = created_at + 60 WHERE id = 'n1'");
	assert_non_null(c = pg_report_open(st, &q, &err));

	assert_int_equal(pg_report_next(c, &r, &err), 1); /* n1: answered */
	assert_string_equal(r.channel, "sms");
	assert_string_equal(r.touchpoint, "chat");
	assert_string_equal(r.agent, "a1");
	assert_string_equal(r.opened_at, "2026-11-21T10:00:00Z");
	assert_string_equal(r.closed_at, "2026-11-21T10:15:00Z");
	assert_string_equal(r.status, "answered");
	assert_string_equal(r.reason, "");
	assert_int_equal(r.created_at, T0 + 100);
	assert_int_equal(r.sent_at, T0 + 160);
	assert_int_equal(r.has_response, 1);
	assert_int_equal(r.score, 6);
	assert_int_equal(r.answered_at, T0 + 700);
	assert_int_equal(r.stop_reply, 0);

	assert_int_equal(pg_report_next(c, &r, &err), 1); /* n2 */
	assert_int_equal(r.score, 10);
	assert_int_equal(r.sent_at, 0);

	assert_int_equal(pg_report_next(c, &r, &err), 1); /* n3: sent, no answer, nothing set */
	assert_string_equal(r.touchpoint, "");
	assert_string_equal(r.agent, "");
	assert_string_equal(r.opened_at, "");
	assert_string_equal(r.closed_at, "");
	assert_string_equal(r.status, "sent");
	assert_int_equal(r.sent_at, T0 + 360);
	assert_int_equal(r.has_response, 0);
	assert_int_equal(r.score, 0);
	assert_int_equal(r.answered_at, 0);
	assert_int_equal(r.stop_reply, 0);

	assert_int_equal(pg_report_next(c, &r, &err), 1); /* n4: answered with a stop word */
	assert_string_equal(r.status, "opted_out");
	assert_int_equal(r.stop_reply, 1);
	assert_int_equal(r.has_response, 0);

	assert_int_equal(pg_report_next(c, &r, &err), 1); /* n5: skipped */
	assert_string_equal(r.status, "skipped");
	assert_string_equal(r.reason, "recently_surveyed");
	assert_int_equal(r.stop_reply, 0);

	assert_int_equal(pg_report_next(c, &r, &err), 1); /* n6: queued */
	assert_string_equal(r.status, "queued");
	assert_int_equal(pg_report_next(c, &r, &err), 0);
	pg_report_close(c);
	pg_report_close(NULL);
	pg_store_close(st);
}

/* A query without a kind or with an order that does not exist is refused before any work. */
static void test_a_report_query_without_a_kind_or_order_is_refused(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	const struct report_query bad[] = {
		{ NULL, 0, 0, REPORT_ORDER_TIME },
		{ "nps", 0, 0, (enum report_order)4 },
		{ "nps", 0, 0, (enum report_order) - 1 },
	};

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct gw_err err = { 0 };

		assert_null(pg_report_open(st, &bad[i], &err));
		assert_int_equal(err.http_status, 500);
	}
	pg_store_close(st);
}

/* A report read across many batches: every survey once, in order. */
static void test_a_large_report_comes_whole_in_order(void **state)
{
	struct pg_test_db *db = *state;
	struct pg_store *st = open_ok(db);
	struct report_query q = { "nps", 0, 0, REPORT_ORDER_CHANNEL };
	struct gw_err err = { 0 };
	struct pg_report_cursor *c;
	struct report_row r;
	int rc, k = 0;

	seed_big(db);
	assert_non_null(c = pg_report_open(st, &q, &err));
	while ((rc = pg_report_next(c, &r, &err)) == 1) {
		k++;
		assert_int_equal(r.created_at, k);
		assert_int_equal(r.has_response, 1);
		assert_int_equal(r.score, k % 11);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(k, BIG);
	pg_report_close(c);
	pg_store_close(st);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_db, fx_db_free)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_the_filters_select_responses_in_answer_order),
		T(test_the_filter_strings_may_be_freed_after_open),
		T(test_a_row_has_every_field),
		T(test_a_count_is_given_when_only_time_bounds_the_export),
		T(test_cursors_opened_together_share_one_snapshot),
		T(test_bounds_keep_a_run_of_equal_times_in_one_slice),
		T(test_instances_exporting_while_answers_commit_read_one_snapshot_each),
		T(test_a_large_export_comes_in_order_in_bounded_memory),
		T(test_an_export_whose_session_ends_fails_with_an_error),
		T(test_an_export_outlasts_the_idle_transaction_limit),
		T(test_a_report_reads_every_survey_of_its_kind_in_group_order),
		T(test_orders_are_bytewise_whatever_the_collation),
		T(test_a_report_row_has_every_field),
		T(test_a_report_query_without_a_kind_or_order_is_refused),
		T(test_a_large_report_comes_whole_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
