/*
 * test_report.c - report.h as a specification: the options (one row per input), the TTR buckets
 * at their borders, and every figure of a report over a real store in a fresh temp dir, filled
 * through the store's own calls (trigger, send, reply), checked against figures computed by hand
 * below: category borders 6/7 and 8/9 (NPS), 3/4 (CSAT), 4/5 (CES); TTR borders 15 min, 1 h,
 * 4 h, 24 h; empty days, weeks and months; a group sent to but never answered (no division by
 * zero); opt-outs by stop word and by skip; a trigger refused for an opted-out number (not
 * counted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "support/unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define T0 1795392000LL         /* Mon 2026-11-23T00:00:00Z, ISO week 2026-W48 */
#define HOUR 3600LL
#define DAY 86400LL
#define NONE LLONG_MIN          /* a figure that must not exist */

/* ---- report_options_parse ------------------------------------------------------------------ */

static const struct {
	const char *kind, *since, *until, *group_by;
	const char *want_field;         /* NULL: accepted */
	enum report_group_by want_group;
} option_rows[] = {
	{ "nps", NULL, NULL, NULL, NULL, REPORT_GROUP_NONE },
	{ "ces", "2026-11-01", "2026-11-30", "day", NULL, REPORT_GROUP_DAY },
	{ "csat", NULL, NULL, "week", NULL, REPORT_GROUP_WEEK },
	{ "nps", NULL, NULL, "month", NULL, REPORT_GROUP_MONTH },
	{ "nps", NULL, NULL, "channel", NULL, REPORT_GROUP_CHANNEL },
	{ "nps", NULL, NULL, "touchpoint", NULL, REPORT_GROUP_TOUCHPOINT },
	{ "nps", NULL, NULL, "agent", NULL, REPORT_GROUP_AGENT },
	{ NULL, NULL, NULL, NULL, "kind", 0 },                  /* kind is required */
	{ "", NULL, NULL, NULL, "kind", 0 },
	{ "NPS", NULL, NULL, NULL, "kind", 0 },
	{ "nps", "2026-11-31", NULL, NULL, "since", 0 },
	{ "nps", "yesterday", NULL, NULL, "since", 0 },
	{ "nps", NULL, "2026-1-1", NULL, "until", 0 },
	{ "nps", "2026-11-02", "2026-11-01", NULL, "until", 0 },
	{ "nps", NULL, NULL, "", "group_by", 0 },
	{ "nps", NULL, NULL, "Day", "group_by", 0 },
	{ "nps", NULL, NULL, "year", "group_by", 0 },
	{ "nps", NULL, NULL, "day ", "group_by", 0 },
	/* a day series is capped; the same range by month is not */
	{ "nps", "2000-01-01", "2026-12-31", "day", "group_by", 0 },
	{ "nps", "2000-01-01", "2026-12-31", "month", NULL, REPORT_GROUP_MONTH },
	{ "nps", "2000-01-01", "2026-12-31", NULL, NULL, REPORT_GROUP_NONE },
};

static void test_options_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(option_rows); i++) {
		struct report_options o;
		struct gw_err err = { 0 };
		char row[32];
		int rc = report_options_parse(option_rows[i].kind, option_rows[i].since,
					      option_rows[i].until, option_rows[i].group_by, &o,
					      &err);

		snprintf(row, sizeof(row), "options row %zu", i);
		if (option_rows[i].want_field) {
			EXPECT_INT(row, "rc", rc, -1);
			EXPECT_INT(row, "status", err.http_status, 422);
			EXPECT_STR(row, "field", err.field, option_rows[i].want_field);
		} else {
			if (rc != 0)
				fail_msg("%s: refused: %s", row, err.msg);
			EXPECT_INT(row, "group_by", o.group_by, option_rows[i].want_group);
		}
	}
}

static void test_options_parse_days_are_inclusive(void **state)
{
	struct report_options o;
	struct gw_err err = { 0 };

	(void)state;
	assert_int_equal(report_options_parse("csat", "2026-11-23", "2026-11-23", NULL, &o, &err), 0);
	assert_int_equal(o.kind, KIND_CSAT);
	assert_int_equal(o.since, T0);
	assert_int_equal(o.until, T0 + DAY);
	assert_string_equal(o.since_day, "2026-11-23");
	assert_string_equal(o.until_day, "2026-11-23");
}

/* ---- TTR buckets: a value on a border belongs to the slower bucket ------------------------- */

static const struct {
	long long s;
	enum report_ttr_bucket want;
} bucket_rows[] = {
	{ -1, TTR_UNKNOWN },
	{ 0, TTR_UNDER_15M }, { 899, TTR_UNDER_15M },
	{ 900, TTR_UNDER_1H }, { 3599, TTR_UNDER_1H },
	{ 3600, TTR_UNDER_4H }, { 14399, TTR_UNDER_4H },
	{ 14400, TTR_UNDER_24H }, { 86399, TTR_UNDER_24H },
	{ 86400, TTR_LONGER }, { 30 * 86400, TTR_LONGER },
};

static void test_ttr_bucket_borders(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bucket_rows); i++) {
		char row[32];

		snprintf(row, sizeof(row), "ttr %llds", bucket_rows[i].s);
		EXPECT_STR(row, "bucket", report_ttr_bucket_name(report_ttr_bucket(bucket_rows[i].s)),
			   report_ttr_bucket_name(bucket_rows[i].want));
	}
}

/* ---- a store filled through the store's calls --------------------------------------------- */

static int fx_open(void **state)
{
	return temp_store_setup(state, "test_report", "gateway.db", 1);
}

static int fx_free(void **state)
{
	return temp_store_teardown(state);
}

/* One trigger and what becomes of it. */
struct seed {
	const char *id, *kind, *customer, *phone, *channel, *touchpoint, *agent;
	const char *opened_at, *closed_at;
	long long created;
	int sent;               /* claimed and accepted 60 s after creation */
	long long answer_after; /* seconds from the send to the answer; 0: none */
	int score;
	int stop_reply;         /* the customer texts STOP 120 s after the send */
	int fatigue;            /* triggered with min_days_between 30: expect a skip */
	int queued;             /* due in 30 days: stays queued */
	int stop_queued;        /* the number texts STOP (no open survey) 60 s after creation */
};

/* What becomes of a trigger (the members after `created`). */
#define ANSWERED(after, sc) .sent = 1, .answer_after = (after), .score = (sc)
#define SENT_ONLY .sent = 1
#define STOP_AFTER_SEND .sent = 1, .stop_reply = 1
#define RECENTLY_SURVEYED .fatigue = 1
#define OPTED_OUT_WHILE_QUEUED .queued = 1, .stop_queued = 1

#define TP_CHAT "chat"
#define TP_SHOP "shop"

/*
 * The NPS data set.  Hand-computed figures are in the tests below; the TTR of each survey is
 * noted beside it.
 */
static const struct seed nps_seeds[] = {
	/* Mon 2026-11-23: the NPS category borders */
	{ "n1", "nps", "c1", "+34600000001", "sms", TP_CHAT, "a1", "2026-11-22T10:00:00Z",
	  "2026-11-22T10:15:00Z", T0 + 1 * HOUR, ANSWERED(600, 6) },          /* TTR 900: < 1 h */
	{ "n2", "nps", "c2", "+34600000002", "sms", TP_CHAT, "a1", "2026-11-22T10:00:00Z",
	  "2026-11-22T10:14:59Z", T0 + 2 * HOUR, ANSWERED(1200, 7) },         /* 899: < 15 min */
	{ "n3", "nps", "c3", "+34600000003", "sms", TP_CHAT, "a2", "2026-11-22T10:00:00Z",
	  "2026-11-22T11:00:00Z", T0 + 3 * HOUR, ANSWERED(300, 8) },          /* 3600: < 4 h */
	{ "n4", "nps", "c4", "+34600000004", "sms", TP_CHAT, "a2", "2026-11-21T10:00:00Z",
	  "2026-11-22T10:00:00Z", T0 + 4 * HOUR, ANSWERED(900, 9) },          /* 86400: longer */
	{ "n5", "nps", "c5", "+34600000005", "sms", TP_CHAT, "a2", NULL, NULL,
	  T0 + 5 * HOUR, ANSWERED(60, 10) },                                   /* unknown */
	{ "n6", "nps", "c6", "+34600000006", "sms", TP_SHOP, "a3", "2026-11-22T06:00:00Z",
	  "2026-11-22T10:00:00Z", T0 + 6 * HOUR, SENT_ONLY },            /* 14400: < 24 h */
	/* Tue 2026-11-24: nothing.  Wed 2026-11-25: */
	{ "n7", "nps", "c7", "+34600000007", "sms", TP_SHOP, "a3", "2026-11-25T09:00:00Z",
	  "2026-11-25T09:00:00Z", T0 + 2 * DAY + 1 * HOUR, STOP_AFTER_SEND },      /* 0: < 15 min */
	{ "n8", "nps", "c1", "+34600000008", "sms", TP_SHOP, "a3", "2026-11-25T10:00:00Z",
	  "2026-11-25T10:05:00Z", T0 + 2 * DAY + 2 * HOUR, RECENTLY_SURVEYED },   /* 300, skipped */
	{ "n9", "nps", "c9", "+34600000009", "sms", NULL, NULL, NULL, NULL,
	  T0 + 2 * DAY + 3 * HOUR, OPTED_OUT_WHILE_QUEUED },                     /* opted out */
	/* Mon 2026-11-30, week 49, on WhatsApp */
	{ "n10", "nps", "c10", "+34600000010", "whatsapp", TP_CHAT, "a1", "2026-11-30T08:00:00Z",
	  "2026-11-30T08:30:00Z", T0 + 7 * DAY, ANSWERED(7200, 10) },         /* 1800: < 1 h */
	/* other kinds on the same days, which an NPS report must not count */
	{ "s1", "csat", "d1", "+34610000001", "sms", TP_CHAT, "a1", NULL, NULL,
	  T0 + 1 * HOUR + 1, ANSWERED(100, 3) },
	{ "s2", "csat", "d2", "+34610000002", "sms", TP_CHAT, "a1", NULL, NULL,
	  T0 + 1 * HOUR + 2, ANSWERED(100, 4) },
	{ "s3", "csat", "d3", "+34610000003", "sms", TP_CHAT, "a1", NULL, NULL,
	  T0 + 1 * HOUR + 3, ANSWERED(100, 5) },
	{ "s4", "csat", "d4", "+34610000004", "sms", TP_CHAT, "a1", NULL, NULL,
	  T0 + 1 * HOUR + 4, ANSWERED(100, 1) },
	{ "e1", "ces", "g1", "+34620000001", "sms", TP_CHAT, "a1", NULL, NULL,
	  T0 + 1 * HOUR + 5, ANSWERED(100, 4) },
	{ "e2", "ces", "g2", "+34620000002", "sms", TP_CHAT, "a1", NULL, NULL,
	  T0 + 1 * HOUR + 6, ANSWERED(100, 5) },
	{ "e3", "ces", "g3", "+34620000003", "sms", TP_CHAT, "a1", NULL, NULL,
	  T0 + 1 * HOUR + 7, ANSWERED(100, 7) },
	{ "e4", "ces", "g4", "+34620000004", "sms", TP_CHAT, "a1", NULL, NULL,
	  T0 + 1 * HOUR + 8, ANSWERED(100, 1) },
};

struct decide_ctx {
	enum inbound_action action;
	int score;
};

static void decide(void *ctx, const struct inbound_view *v, struct inbound_decision *out)
{
	const struct decide_ctx *d = ctx;

	(void)v;
	memset(out, 0, sizeof(*out));
	out->action = d->action;
	out->score = d->score;
	if (d->action == INBOUND_OPT_OUT) {
		out->reply = "bye";
		out->reply_purpose = "opt_out";
	}
}

static void inbound(struct temp_store *f, const char *phone, const char *tag, long long now,
		    enum inbound_action action, int score, int want_matched)
{
	struct decide_ctx ctx = { action, score };
	struct gw_err err = { 0 };
	char pid[48];
	struct inbound_in in = {
		.provider = "twilio", .provider_message_id = pid, .from = phone,
		.text = "x", .text_len = 1, .now = now,
	};
	struct inbound_result res;

	snprintf(pid, sizeof(pid), "SM-in-%s", tag);
	if (store_record_inbound(f->st, &in, decide, &ctx, &res, &err) != 0)
		fail_msg("inbound %s: %s", tag, err.msg);
	EXPECT_INT(tag, "matched", res.matched, want_matched);
}

static void create(struct temp_store *f, const struct seed *e, const char *phone, int want)
{
	long long due = e->queued ? e->created + 30 * DAY : e->created;
	struct survey_new sn = {
		.id = e->id, .customer_id = e->customer, .phone = phone, .locale = "es",
		.kind = e->kind, .channel = e->channel, .provider = "twilio",
		.interaction_id = e->id, .touchpoint = e->touchpoint, .agent = e->agent,
		.opened_at = e->opened_at, .closed_at = e->closed_at, .now = e->created,
		.send_after = due, .expires_at = due + 2 * DAY, .expire_after_s = 2 * DAY,
		.fatigue_days = e->fatigue ? 30 : 0, .question = "?",
	};
	struct gw_err err = { 0 };
	char id[SURVEY_ID_LEN];
	int outcome = -1;

	if (store_create_survey(f->st, &sn, id, &outcome, &err) != 0)
		fail_msg("create %s: %s", e->id, err.msg);
	EXPECT_INT(e->id, "outcome", outcome, want);
}

static void seed_store(struct temp_store *f)
{
	struct gw_err err = { 0 };

	/* Every trigger and send first: a reply queues texts that a later claim would take. */
	for (size_t i = 0; i < ARRAY_LEN(nps_seeds); i++) {
		const struct seed *e = &nps_seeds[i];
		struct outbox_item it;
		size_t n = 0;

		create(f, e, e->phone, e->fatigue ? SURVEY_SKIPPED : SURVEY_CREATED);
		if (!e->sent)
			continue;
		assert_int_equal(store_claim_due(f->st, e->created + 60, "twilio", &it, 1, &n, &err),
				 0);
		assert_int_equal(n, 1);
		EXPECT_STR(e->id, "claimed", it.survey_id, e->id);
		assert_int_equal(store_send_accepted(f->st, it.message_id, e->id, e->created + 60,
						     &err), 0);
		outbox_item_release(&it);
	}
	for (size_t i = 0; i < ARRAY_LEN(nps_seeds); i++) {
		const struct seed *e = &nps_seeds[i];

		if (e->answer_after)
			inbound(f, e->phone, e->id, e->created + 60 + e->answer_after, INBOUND_ANSWER,
				e->score, 1);
		if (e->stop_reply)
			inbound(f, e->phone, e->id, e->created + 180, INBOUND_OPT_OUT, 0, 1);
		if (e->stop_queued)
			inbound(f, e->phone, e->id, e->created + 60, INBOUND_OPT_OUT, 0, 0);
	}
	/* n9's number opted out: a new trigger for it writes nothing, and counts nowhere. */
	{
		struct seed again = nps_seeds[8];

		again.id = "n11";
		again.created = T0 + 3 * DAY;
		create(f, &again, again.phone, SURVEY_OPTED_OUT);
	}
}

/* ---- expected figures ----------------------------------------------------------------------- */

struct want {
	const char *label;
	long long triggered, sent, answered, skipped, opted_out;
	long long cat0, cat1, cat2;
	long long rate, headline, mean;         /* tenths, tenths (NPS / % best), hundredths */
	long long tta_n, tta_mean, tta_median;
	long long ttr_n, ttr_mean, ttr_median;
};

#define EMPTY(l) { l, 0, 0, 0, 0, 0, 0, 0, 0, NONE, NONE, NONE, 0, 0, 0, 0, 0, 0 }

/* A derived figure, or NONE when it does not exist. */
static long long figure(int (*fn)(const struct report_counts *, long long *),
			const struct report_counts *c)
{
	long long v;

	return fn(c, &v) < 0 ? NONE : v;
}

static int best_pct(const struct report_counts *c, long long *out)
{
	return report_cat_pct_tenths(c, 0, out);
}

static void check_counts(const char *row, enum survey_kind k, const struct report_counts *c,
			 const struct want *w)
{
	EXPECT_INT(row, "triggered", c->triggered, w->triggered);
	EXPECT_INT(row, "sent", c->sent, w->sent);
	EXPECT_INT(row, "answered", c->answered, w->answered);
	EXPECT_INT(row, "skipped", c->skipped, w->skipped);
	EXPECT_INT(row, "opted_out", c->opted_out, w->opted_out);
	EXPECT_INT(row, "best category", c->cat[0], w->cat0);
	EXPECT_INT(row, "middle category", c->cat[1], w->cat1);
	EXPECT_INT(row, "worst category", c->cat[2], w->cat2);
	EXPECT_INT(row, "response rate", figure(report_rate_tenths, c), w->rate);
	if (k == KIND_NPS)
		EXPECT_INT(row, "NPS", figure(report_nps_tenths, c), w->headline);
	else
		EXPECT_INT(row, "% best", figure(best_pct, c), w->headline);
	EXPECT_INT(row, "mean score", figure(report_mean_hundredths, c), w->mean);
}

static void check_group(enum survey_kind k, const struct report_group *g, const struct want *w)
{
	char row[160];

	snprintf(row, sizeof(row), "group \"%s\"", w->label);
	EXPECT_STR(row, "label", g->label, w->label);
	check_counts(row, k, &g->all, w);
	EXPECT_INT(row, "answer n", g->answer.n, w->tta_n);
	EXPECT_INT(row, "answer mean", g->answer.mean_s, w->tta_mean);
	EXPECT_INT(row, "answer median", g->answer.median_s, w->tta_median);
	EXPECT_INT(row, "ttr n", g->ttr.n, w->ttr_n);
	EXPECT_INT(row, "ttr mean", g->ttr.mean_s, w->ttr_mean);
	EXPECT_INT(row, "ttr median", g->ttr.median_s, w->ttr_median);
}

static void build(struct temp_store *f, const char *kind, const char *since, const char *until,
		  const char *group_by, struct report *r)
{
	struct report_options o;
	struct gw_err err = { 0 };

	if (report_options_parse(kind, since, until, group_by, &o, &err) != 0)
		fail_msg("options: %s", err.msg);
	if (report_build(f->st, &o, r, &err) != 0)
		fail_msg("report_build: %s", err.msg);
}

static void check_groups(const struct report *r, const struct want *w, size_t n)
{
	if (r->n_groups != n) {
		for (size_t i = 0; i < r->n_groups; i++)
			print_message("got group \"%s\"\n", r->groups[i].label);
		fail_msg("%zu groups, want %zu", r->n_groups, n);
	}
	for (size_t i = 0; i < n; i++)
		check_group(r->opt.kind, &r->groups[i], &w[i]);
}

/*
 * NPS total, by hand:
 *   triggered n1..n10 = 10 (n11 was refused: the number had opted out);
 *   sent n1-n7, n10 = 8; answered n1-n5, n10 = 6; rate 6/8 = 75.0%;
 *   skipped n8 (recently surveyed), n9 (opted out) = 2; opted out n9 + n7 (STOP) = 2;
 *   scores 6 7 8 9 10 10: promoters 2+1 = 3, passives 2, detractors 1;
 *   NPS = (3 - 1) / 6 = 33.33 -> 33.3; mean 50 / 6 = 8.33;
 *   time to answer 60 300 600 900 1200 7200: mean 10260 / 6 = 1710, median (600 + 900) / 2 = 750;
 *   TTR 0 300 899 900 1800 3600 14400 86400: mean 108299 / 8 = 13537.4 -> 13537,
 *   median (900 + 1800) / 2 = 1350.
 */
static const struct want nps_total = {
	"", 10, 8, 6, 2, 2, 3, 2, 1, 750, 333, 833, 6, 1710, 750, 8, 13537, 1350,
};

static void test_nps_total(void **state)
{
	struct temp_store *f = *state;
	struct report r;

	seed_store(f);
	build(f, "nps", NULL, NULL, NULL, &r);
	assert_int_equal(r.n_groups, 0);
	check_group(KIND_NPS, &r.total, &nps_total);
	report_release(&r);
}

/*
 * The total by TTR bucket:
 *   < 15 min: n2 (899, score 7), n7 (0, STOP), n8 (300, skipped): 3 triggered, 2 sent,
 *             1 answered, 50.0%, NPS 0;
 *   < 1 h:    n1 (900, 6), n10 (1800, 10): NPS (1 - 1) / 2 = 0;
 *   < 4 h:    n3 (3600, 8): NPS 0;
 *   < 24 h:   n6 (14400): sent, never answered: rate 0.0, NPS null;
 *   longer:   n4 (86400, 9): NPS 100;
 *   unknown:  n5 (10), n9 (opted out, never sent): NPS 100.
 */
static const struct want nps_buckets[TTR__COUNT] = {
	[TTR_UNDER_15M] = { "", 3, 2, 1, 1, 1, 0, 1, 0, 500, 0, 700 },
	[TTR_UNDER_1H] = { "", 2, 2, 2, 0, 0, 1, 0, 1, 1000, 0, 800 },
	[TTR_UNDER_4H] = { "", 1, 1, 1, 0, 0, 0, 1, 0, 1000, 0, 800 },
	[TTR_UNDER_24H] = { "", 1, 1, 0, 0, 0, 0, 0, 0, 0, NONE, NONE },
	[TTR_LONGER] = { "", 1, 1, 1, 0, 0, 1, 0, 0, 1000, 1000, 900 },
	[TTR_UNKNOWN] = { "", 2, 1, 1, 1, 1, 1, 0, 0, 1000, 1000, 1000 },
};

static void test_nps_by_ttr_bucket(void **state)
{
	struct temp_store *f = *state;
	struct report r;

	seed_store(f);
	build(f, "nps", NULL, NULL, "week", &r);
	for (int b = 0; b < TTR__COUNT; b++)
		check_counts(report_ttr_bucket_name(b), KIND_NPS, &r.total.by_ttr[b], &nps_buckets[b]);
	/* the groups split the same way: week 49 is n10 alone, < 1 h */
	assert_int_equal(r.n_groups, 2);
	assert_int_equal(r.groups[1].by_ttr[TTR_UNDER_1H].answered, 1);
	assert_int_equal(r.groups[1].by_ttr[TTR_UNDER_1H].cat[0], 1);
	assert_int_equal(r.groups[0].by_ttr[TTR_UNDER_1H].answered, 1);
	assert_int_equal(r.groups[0].by_ttr[TTR_UNDER_1H].cat[2], 1);
	report_release(&r);
}

/*
 * By day, 2026-11-23 .. 2026-12-01, every day listed:
 *   11-23: n1-n6: 6 sent, 5 answered (83.3%), scores 6 7 8 9 10: NPS (2 - 1) / 5 = 20,
 *          mean 40 / 5 = 8.00; answer 60 300 600 900 1200: mean 612, median 600;
 *          TTR 899 900 3600 14400 86400: mean 106199 / 5 = 21239.8 -> 21240, median 3600;
 *   11-24: empty;
 *   11-25: n7 (sent, STOP), n8 (skipped), n9 (opted out): rate 0/1 = 0.0, NPS null;
 *          TTR 0 300: mean = median = 150;
 *   11-26 .. 11-29: empty;
 *   11-30: n10: NPS 100, answer 7200, TTR 1800;
 *   12-01: empty.
 */
static const struct want nps_days[] = {
	{ "2026-11-23", 6, 6, 5, 0, 0, 2, 2, 1, 833, 200, 800, 5, 612, 600, 5, 21240, 3600 },
	EMPTY("2026-11-24"),
	{ "2026-11-25", 3, 1, 0, 2, 2, 0, 0, 0, 0, NONE, NONE, 0, 0, 0, 2, 150, 150 },
	EMPTY("2026-11-26"), EMPTY("2026-11-27"), EMPTY("2026-11-28"), EMPTY("2026-11-29"),
	{ "2026-11-30", 1, 1, 1, 0, 0, 1, 0, 0, 1000, 1000, 1000, 1, 7200, 7200, 1, 1800, 1800 },
	EMPTY("2026-12-01"),
};

static void test_nps_by_day_lists_empty_days(void **state)
{
	struct temp_store *f = *state;
	struct report r;

	seed_store(f);
	build(f, "nps", "2026-11-23", "2026-12-01", "day", &r);
	check_groups(&r, nps_days, ARRAY_LEN(nps_days));
	check_group(KIND_NPS, &r.total, &nps_total);
	report_release(&r);
}

/* Without since/until the series runs from the first survey's day to the last one's. */
static void test_by_day_without_bounds_spans_the_data(void **state)
{
	struct temp_store *f = *state;
	struct report r;

	seed_store(f);
	build(f, "nps", NULL, NULL, "day", &r);
	check_groups(&r, nps_days, ARRAY_LEN(nps_days) - 1);
	report_release(&r);
}

/* With since and no until, the days run to the last survey: the period cap holds all the same
 * (422 on group_by), where a far since would have listed tens of thousands of empty days. */
static void test_by_day_since_far_back_without_until_is_capped(void **state)
{
	struct temp_store *f = *state;
	struct report_options o;
	struct report r;
	struct gw_err err = { 0 };

	seed_store(f);
	assert_int_equal(report_options_parse("nps", "1971-01-01", NULL, "day", &o, &err), 0);
	assert_int_equal(report_build(f->st, &o, &r, &err), -1);
	assert_int_equal(err.http_status, 422);
	assert_string_equal(err.code, "too_many_periods");
	assert_string_equal(err.field, "group_by");
	build(f, "nps", "1971-01-01", NULL, "month", &r);     /* 671 months: within the cap */
	assert_true(r.n_groups > 600 && r.n_groups < REPORT_MAX_PERIODS);
	report_release(&r);
}

/* since/until select by the day a survey was triggered, both days included. */
static void test_since_until_select_by_trigger_day(void **state)
{
	struct temp_store *f = *state;
	struct report r;
	struct want w = nps_days[2];

	seed_store(f);
	w.label = "";
	build(f, "nps", "2026-11-25", "2026-11-25", NULL, &r);
	check_group(KIND_NPS, &r.total, &w);
	report_release(&r);
	build(f, "nps", "2026-11-24", "2026-11-24", "day", &r);
	check_groups(&r, nps_days + 1, 1);
	report_release(&r);
}

/* ISO weeks from Monday: 2026-11-23 .. 29 is W48 (n1-n9), 2026-11-30 W49 (n10).
 * W48: 7 sent, 5 answered: 71.4%; NPS 20; TTR 0 300 899 900 3600 14400 86400: mean
 * 106499 / 7 = 15214.1 -> 15214, median 900. */
static const struct want nps_weeks[] = {
	{ "2026-W48", 9, 7, 5, 2, 2, 2, 2, 1, 714, 200, 800, 5, 612, 600, 7, 15214, 900 },
	{ "2026-W49", 1, 1, 1, 0, 0, 1, 0, 0, 1000, 1000, 1000, 1, 7200, 7200, 1, 1800, 1800 },
};

static void test_nps_by_week(void **state)
{
	struct temp_store *f = *state;
	struct report r;

	seed_store(f);
	build(f, "nps", NULL, NULL, "week", &r);
	check_groups(&r, nps_weeks, ARRAY_LEN(nps_weeks));
	report_release(&r);
}

/* Week labels across a year end (2026 has 53 ISO weeks) and months, with no survey at all. */
static void test_empty_periods_across_year_end(void **state)
{
	static const struct want weeks[] = { EMPTY("2026-W53"), EMPTY("2027-W01") };
	static const struct want months[] = {
		EMPTY("2026-12"), EMPTY("2027-01"), EMPTY("2027-02"),
	};
	struct temp_store *f = *state;
	struct report r;

	build(f, "csat", "2026-12-28", "2027-01-10", "week", &r);
	check_groups(&r, weeks, ARRAY_LEN(weeks));
	check_group(KIND_CSAT, &r.total, &(struct want)EMPTY(""));
	report_release(&r);
	build(f, "csat", "2026-12-31", "2027-02-01", "month", &r);
	check_groups(&r, months, ARRAY_LEN(months));
	report_release(&r);
}

/* By touchpoint: the one without a touchpoint first (label ""), and "shop", sent to but never
 * answered: a 0.0% rate and no NPS, no mean, no answer time. */
static const struct want nps_touchpoints[] = {
	{ "", 1, 0, 0, 1, 1, 0, 0, 0, NONE, NONE, NONE, 0, 0, 0, 0, 0, 0 },
	/* chat: n1-n5, n10: scores 6 7 8 9 10 10: NPS 33.3, mean 8.33; answer as the total;
	 * TTR 899 900 1800 3600 86400: mean 93599 / 5 = 18719.8 -> 18720, median 1800 */
	{ TP_CHAT, 6, 6, 6, 0, 0, 3, 2, 1, 1000, 333, 833, 6, 1710, 750, 5, 18720, 1800 },
	/* shop: n6 (sent), n7 (sent, STOP), n8 (skipped): TTR 0 300 14400: mean 4900, median 300 */
	{ TP_SHOP, 3, 2, 0, 1, 1, 0, 0, 0, 0, NONE, NONE, 0, 0, 0, 3, 4900, 300 },
};

static void test_nps_by_touchpoint(void **state)
{
	struct temp_store *f = *state;
	struct report r;

	seed_store(f);
	build(f, "nps", NULL, NULL, "touchpoint", &r);
	check_groups(&r, nps_touchpoints, ARRAY_LEN(nps_touchpoints));
	report_release(&r);
}

/* By channel and by agent: groups in name order. */
static void test_nps_by_channel_and_agent(void **state)
{
	struct temp_store *f = *state;
	struct report r;

	seed_store(f);
	build(f, "nps", NULL, NULL, "channel", &r);
	assert_int_equal(r.n_groups, 2);
	assert_string_equal(r.groups[0].label, "sms");
	assert_int_equal(r.groups[0].all.triggered, 9);
	assert_string_equal(r.groups[1].label, "whatsapp");
	assert_int_equal(r.groups[1].all.answered, 1);
	report_release(&r);
	build(f, "nps", NULL, NULL, "agent", &r);
	assert_int_equal(r.n_groups, 4);
	assert_string_equal(r.groups[0].label, "");     /* n9 */
	assert_string_equal(r.groups[1].label, "a1");   /* n1 6, n2 7, n10 10 */
	assert_int_equal(r.groups[1].all.answered, 3);
	assert_int_equal(r.groups[1].all.cat[0], 1);
	assert_int_equal(r.groups[1].all.cat[1], 1);
	assert_int_equal(r.groups[1].all.cat[2], 1);
	assert_string_equal(r.groups[2].label, "a2");   /* n3 8, n4 9, n5 10: NPS 66.7 */
	{
		long long v;

		assert_int_equal(report_nps_tenths(&r.groups[2].all, &v), 0);
		assert_int_equal(v, 667);
	}
	assert_string_equal(r.groups[3].label, "a3");
	report_release(&r);
}

/* CSAT 3 4 5 1: satisfied 4-5 = 2 (50.0%), neutral 3 = 1, dissatisfied 1; mean 13 / 4 = 3.25.
 * CES 4 5 7 1: easy 5-7 = 2 (50.0%), neutral 4 = 1, difficult 1; mean 17 / 4 = 4.25.
 * Each answered 100 s after its send, no TTR. */
static void test_csat_and_ces_borders(void **state)
{
	static const struct want csat = { "", 4, 4, 4, 0, 0, 2, 1, 1, 1000, 500, 325,
					  4, 100, 100, 0, 0, 0 };
	static const struct want ces = { "", 4, 4, 4, 0, 0, 2, 1, 1, 1000, 500, 425,
					 4, 100, 100, 0, 0, 0 };
	struct temp_store *f = *state;
	struct report r;
	long long v;

	seed_store(f);
	build(f, "csat", NULL, NULL, NULL, &r);
	check_group(KIND_CSAT, &r.total, &csat);
	assert_int_equal(report_cat_pct_tenths(&r.total.all, 1, &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(r.total.by_ttr[TTR_UNKNOWN].answered, 4);
	report_release(&r);
	build(f, "ces", NULL, NULL, NULL, &r);
	check_group(KIND_CES, &r.total, &ces);
	report_release(&r);
}

/* A survey answered while its send was still being recorded (no sent_at) was sent: an answer
 * proves it; it has no time to answer. */
static void test_answered_without_send_time_counts_as_sent(void **state)
{
	static const struct seed e = { "w1", "nps", "w1", "+34630000001", "sms", TP_CHAT, "a1",
				       NULL, NULL, T0, ANSWERED(100, 9) };
	struct temp_store *f = *state;
	struct gw_err err = { 0 };
	struct outbox_item it;
	struct report r;
	size_t n = 0;

	create(f, &e, e.phone, SURVEY_CREATED);
	assert_int_equal(store_claim_due(f->st, T0 + 60, "twilio", &it, 1, &n, &err), 0);
	assert_int_equal(n, 1);
	outbox_item_release(&it);
	inbound(f, e.phone, e.id, T0 + 160, INBOUND_ANSWER, 9, 1);
	build(f, "nps", NULL, NULL, NULL, &r);
	assert_int_equal(r.total.all.sent, 1);
	assert_int_equal(r.total.all.answered, 1);
	assert_int_equal(figure(report_rate_tenths, &r.total.all), 1000);
	assert_int_equal(r.total.answer.n, 0);
	report_release(&r);
}

/* ---- formats ----------------------------------------------------------------------------- */

static json_t *jget(json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while (o && (dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return o ? json_object_get(o, path) : NULL;
}

/* `text` holds `needle`; otherwise the test fails showing both. */
static void assert_has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("missing \"%s\" in:\n%s", needle, text);
}

/* One decimal where promised, an integer NPS when whole, null for what does not exist. */
static void test_json_numbers_and_nulls(void **state)
{
	struct temp_store *f = *state;
	struct report r;
	char *text, *day;
	json_t *j, *groups;

	seed_store(f);
	build(f, "nps", "2026-11-23", "2026-11-25", "day", &r);
	text = report_json_dumps(&r, JSON_COMPACT);
	report_release(&r);
	assert_non_null(text);
	/* the text itself: 83.3, not 83.299999999999997; NPS 20, not 20.0 */
	assert_has(text, "\"response_rate\":83.3,");
	assert_has(text, "\"nps\":20,");
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(jget(j, "kind")), "nps");
	assert_string_equal(json_string_value(jget(j, "group_by")), "day");
	assert_string_equal(json_string_value(jget(j, "since")), "2026-11-23");
	groups = jget(j, "groups");
	assert_int_equal(json_array_size(groups), 3);
	/* the empty day: nothing to divide, every ratio null */
	day = json_dumps(json_array_get(groups, 1), JSON_COMPACT);
	assert_has(day, "\"group\":\"2026-11-24\"");
	assert_has(day, "\"response_rate\":null");
	assert_has(day, "\"nps\":null");
	assert_has(day, "\"mean\":null");
	assert_has(day, "\"time_to_answer\":{\"n\":0,\"mean_s\":null,\"median_s\":null}");
	free(day);
	/* sent, never answered: a rate of 0.0 and no NPS */
	assert_true(json_is_real(jget(json_array_get(groups, 2), "response_rate")));
	assert_true(json_real_value(jget(json_array_get(groups, 2), "response_rate")) == 0.0);
	assert_true(json_is_null(jget(json_array_get(groups, 2), "nps")));
	assert_int_equal(json_integer_value(jget(j, "total.opted_out")), 2);
	assert_int_equal(json_integer_value(jget(j, "total.ttr.median_s")), 900);
	assert_int_equal(json_array_size(jget(j, "total.by_ttr")), TTR__COUNT);
	assert_string_equal(json_string_value(jget(json_array_get(jget(j, "total.by_ttr"), 0),
						   "bucket")), "under_15m");
	json_decref(j);
	free(text);
}

/* Writes the report to a memory stream; returns the text (caller frees). */
static char *render(const struct report *r, int csv)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	assert_non_null(m);
	assert_int_equal(csv ? report_write_csv(r, m) : report_write_table(r, m), 0);
	fclose(m);
	return text;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_csv_rows(void **state)
{
	struct temp_store *f = *state;
	struct report r;
	char *csv;

	seed_store(f);
	build(f, "nps", NULL, NULL, "touchpoint", &r);
	csv = render(&r, 1);
	report_release(&r);
	assert_memory_equal(csv, "scope,group,ttr_bucket,triggered,sent,answered,response_rate,"
			    "skipped,opted_out,nps,promoters,passives,detractors,promoters_pct,",
			    strlen("scope,group,ttr_bucket,triggered,sent,answered,response_rate,"
				   "skipped,opted_out,nps,promoters,passives,detractors,promoters_pct,"));
	/* header + (3 groups + total) x (all + 6 buckets) */
	assert_int_equal(count_lines(csv), 1 + 4 * (1 + TTR__COUNT));
	assert_has(csv, "\r\ngroup,chat,all,6,6,6,100.0,0,0,33.3,3,2,1,50.0,33.3,16.7,"
				    "8.33,6,1710,750,5,18720,1800\r\n");
	/* shop: no answer, so no NPS, percentages, mean or answer time */
	assert_has(csv, "\r\ngroup,shop,all,3,2,0,0.0,1,1,,0,0,0,,,,,0,,,3,4900,300\r\n");
	assert_has(csv, "\r\ntotal,,all,10,8,6,75.0,2,2,33.3,");
	free(csv);
}

static void test_table(void **state)
{
	struct temp_store *f = *state;
	struct report r;
	char *t;

	seed_store(f);
	build(f, "nps", "2026-11-23", "2026-11-25", "day", &r);
	t = render(&r, 0);
	report_release(&r);
	assert_has(t, "NPS report: surveys triggered 2026-11-23 .. 2026-11-25");
	assert_has(t, "2026-11-24");
	assert_has(t, "By time to resolution");
	assert_has(t, "< 15 min");
	/* 11-23: 83.3%, NPS 20, answer median 10m00s, TTR mean 5h54m, median 1h00m */
	assert_has(t, "83.3%");
	assert_has(t, "10m00s");
	assert_has(t, "5h54m");
	free(t);
}

#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_open, fx_free)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_parse),
		cmocka_unit_test(test_options_parse_days_are_inclusive),
		cmocka_unit_test(test_ttr_bucket_borders),
		FX_TEST(test_nps_total),
		FX_TEST(test_nps_by_ttr_bucket),
		FX_TEST(test_nps_by_day_lists_empty_days),
		FX_TEST(test_by_day_since_far_back_without_until_is_capped),
		FX_TEST(test_by_day_without_bounds_spans_the_data),
		FX_TEST(test_since_until_select_by_trigger_day),
		FX_TEST(test_nps_by_week),
		FX_TEST(test_empty_periods_across_year_end),
		FX_TEST(test_nps_by_touchpoint),
		FX_TEST(test_nps_by_channel_and_agent),
		FX_TEST(test_csat_and_ces_borders),
		FX_TEST(test_answered_without_send_time_counts_as_sent),
		FX_TEST(test_json_numbers_and_nulls),
		FX_TEST(test_csv_rows),
		FX_TEST(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
