/* report.c - see report.h.  Figures here; JSON, CSV and the table in report_format.c. */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter.h"

const char report_definitions[] =
	"Definitions:\n"
	"  period       a survey counts on the UTC day it was triggered; --since/--until are days\n"
	"               YYYY-MM-DD, both included; week = ISO week from Monday (2026-W48),\n"
	"               day 2026-11-23, month 2026-11; every day/week/month from since (or the\n"
	"               first survey) to until (or the last) is listed, empty ones too\n"
	"  triggered    surveys recorded (a trigger refused for an opted-out number is not)\n"
	"  sent         the text left the gateway (sent_at set), or the survey was answered\n"
	"  answered     the survey has a response; response rate = answered / sent\n"
	"  skipped      status skipped (surveyed recently, or the number had opted out)\n"
	"  opted out    skipped because the number had opted out, or answered with a stop word\n"
	"  NPS          promoters 9-10, passives 7-8, detractors 0-6;\n"
	"               NPS = % promoters - % detractors (of the answered)\n"
	"  CSAT         satisfied 4-5, neutral 3, dissatisfied 1-2; % satisfied and the mean\n"
	"  CES          easy 5-7, neutral 4, difficult 1-3; the mean and % easy\n"
	"  answer time  answered_at - sent_at of the answered surveys: mean and median\n"
	"  TTR          time to resolution, interaction.closed_at - opened_at of the trigger:\n"
	"               mean and median; buckets < 15 min, < 1 h, < 4 h, < 24 h, longer (a\n"
	"               value on a border goes to the slower bucket), unknown\n"
	"  rounding     percentages and NPS one decimal, mean score two, times whole seconds;\n"
	"               a figure with nothing to divide by is null / empty / \"-\"\n";

static const char *const group_names[] = {
	[REPORT_GROUP_NONE] = NULL,
	[REPORT_GROUP_DAY] = "day",
	[REPORT_GROUP_WEEK] = "week",
	[REPORT_GROUP_MONTH] = "month",
	[REPORT_GROUP_CHANNEL] = "channel",
	[REPORT_GROUP_TOUCHPOINT] = "touchpoint",
	[REPORT_GROUP_AGENT] = "agent",
};

const char *report_group_by_name(enum report_group_by g)
{
	return group_names[g];
}

static int is_time_group(enum report_group_by g)
{
	return g == REPORT_GROUP_DAY || g == REPORT_GROUP_WEEK || g == REPORT_GROUP_MONTH;
}

/* ---- periods (UTC) --------------------------------------------------------------------- */

#define DAY_S 86400

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* The start of the day, ISO week (Monday) or month holding t. */
static int64_t period_start(enum report_group_by g, int64_t t)
{
	int64_t days = floor_div(t, DAY_S);
	time_t tt = (time_t)t;
	struct tm tm;

	switch (g) {
	case REPORT_GROUP_WEEK:
		/* 1970-01-01 was a Thursday: day 0 is 3 days after a Monday. */
		return (days - ((days + 3) % 7 + 7) % 7) * DAY_S;
	case REPORT_GROUP_MONTH:
		gmtime_r(&tt, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		return (int64_t)timegm(&tm);
	default:
		return days * DAY_S;
	}
}

static int64_t period_next(enum report_group_by g, int64_t start)
{
	time_t tt = (time_t)start;
	struct tm tm;

	switch (g) {
	case REPORT_GROUP_WEEK:
		return start + 7 * DAY_S;
	case REPORT_GROUP_MONTH:
		gmtime_r(&tt, &tm);
		tm.tm_mon++;
		return (int64_t)timegm(&tm);
	default:
		return start + DAY_S;
	}
}

static void period_label(enum report_group_by g, int64_t start, char *out, size_t n)
{
	time_t tt = (time_t)start;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, n, g == REPORT_GROUP_WEEK ? "%G-W%V" : g == REPORT_GROUP_MONTH ? "%Y-%m"
										      : "%Y-%m-%d", &tm);
}

/* ---- options --------------------------------------------------------------------------- */

int report_options_parse(const char *kind, const char *since, const char *until,
			 const char *group_by, struct report_options *o, struct gw_err *err)
{
	struct export_filter f;
	size_t g;

	memset(o, 0, sizeof(*o));
	if (!kind)
		return gw_err_set(err, 422, "missing_kind", "kind",
				  "kind is required: nps, ces or csat");
	/* The same kind and day rules as the CSV export, so that both read a period alike. */
	if (export_filter_parse(kind, since, until, &f, err) < 0)
		return -1;
	kind_from_name(f.kind, &o->kind);
	o->since = f.since;
	o->until = f.until;
	if (since)
		memcpy(o->since_day, since, 10);
	if (until)
		memcpy(o->until_day, until, 10);
	if (group_by) {
		for (g = 1; g < sizeof(group_names) / sizeof(group_names[0]); g++)
			if (strcmp(group_by, group_names[g]) == 0)
				break;
		if (g == sizeof(group_names) / sizeof(group_names[0]))
			return gw_err_set(err, 422, "invalid_group_by", "group_by",
					  "group_by must be day, week, month, channel, touchpoint "
					  "or agent");
		o->group_by = (enum report_group_by)g;
	}
	if (is_time_group(o->group_by) && o->since && o->until) {
		int64_t p = period_start(o->group_by, o->since);
		int n = 0;

		for (; p < o->until && n <= REPORT_MAX_PERIODS; p = period_next(o->group_by, p))
			n++;
		if (n > REPORT_MAX_PERIODS)
			return gw_err_set(err, 422, "too_many_periods", "group_by",
					  "group_by=%s over since..until lists more than %d periods; "
					  "narrow since/until or group by a longer period",
					  group_names[o->group_by], REPORT_MAX_PERIODS);
	}
	return 0;
}

/* ---- buckets and categories ------------------------------------------------------------ */

static const char *const bucket_names[TTR__COUNT] = {
	[TTR_UNDER_15M] = "under_15m",
	[TTR_UNDER_1H] = "under_1h",
	[TTR_UNDER_4H] = "under_4h",
	[TTR_UNDER_24H] = "under_24h",
	[TTR_LONGER] = "24h_or_more",
	[TTR_UNKNOWN] = "unknown",
};

const char *report_ttr_bucket_name(enum report_ttr_bucket b)
{
	return bucket_names[b];
}

enum report_ttr_bucket report_ttr_bucket(long long s)
{
	if (s < 0)
		return TTR_UNKNOWN;
	if (s < 15 * 60)
		return TTR_UNDER_15M;
	if (s < 3600)
		return TTR_UNDER_1H;
	if (s < 4 * 3600)
		return TTR_UNDER_4H;
	if (s < 24 * 3600)
		return TTR_UNDER_24H;
	return TTR_LONGER;
}

/* score_category()'s names per kind, best first: only the order lives here, not the borders. */
static const char *const category_names[KIND__COUNT][3] = {
	[KIND_NPS] = { "promoter", "passive", "detractor" },
	[KIND_CES] = { "easy", "neutral", "difficult" },
	[KIND_CSAT] = { "satisfied", "neutral", "dissatisfied" },
};

static int category_index(enum survey_kind k, int score)
{
	const char *c = score_category(k, score);

	for (int i = 0; i < 3; i++)
		if (strcmp(c, category_names[k][i]) == 0)
			return i;
	return -1;
}

/* ---- derived figures ------------------------------------------------------------------- */

/* num/den in units of 1/scale, rounded half away from zero. */
static long long div_round(long long num, long long den, long long scale)
{
	long long n = num < 0 ? -num : num, q = (2 * n * scale + den) / (2 * den);

	return num < 0 ? -q : q;
}

int report_rate_tenths(const struct report_counts *c, long long *out)
{
	if (!c->sent)
		return -1;
	*out = div_round(c->answered * 100, c->sent, 10);
	return 0;
}

int report_cat_pct_tenths(const struct report_counts *c, int cat, long long *out)
{
	if (!c->answered || cat < 0 || cat > 2)
		return -1;
	*out = div_round(c->cat[cat] * 100, c->answered, 10);
	return 0;
}

int report_nps_tenths(const struct report_counts *c, long long *out)
{
	if (!c->answered)
		return -1;
	*out = div_round((c->cat[0] - c->cat[2]) * 100, c->answered, 10);
	return 0;
}

int report_mean_hundredths(const struct report_counts *c, long long *out)
{
	if (!c->answered)
		return -1;
	*out = div_round(c->score_sum, c->answered, 100);
	return 0;
}

/* ---- building -------------------------------------------------------------------------- */

struct vec {
	int64_t *v;
	size_t n, cap;
};

static int vec_push(struct vec *a, int64_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		int64_t *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Mean and median of v[0..n), which it sorts. */
static void timing_of(int64_t *v, size_t n, struct report_timing *t)
{
	long long sum = 0;

	memset(t, 0, sizeof(*t));
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_i64);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	t->n = (long long)n;
	t->mean_s = div_round(sum, (long long)n, 1);
	t->median_s = n % 2 ? v[n / 2] : div_round(v[n / 2 - 1] + v[n / 2], 2, 1);
}

struct builder {
	struct report *r;
	size_t cap;
	struct vec answer, ttr;         /* every value of the report; a group owns a tail slice */
	size_t answer_start, ttr_start; /* where the open group's slice begins */
	int open;                       /* a group is open (the last of r->groups) */
	int64_t next_period;            /* time groups: the period expected next */
	int have_next;
	int too_many;                   /* more than REPORT_MAX_PERIODS periods to list */
};

static struct report_group *add_group(struct builder *b, const char *label)
{
	struct report *r = b->r;
	struct report_group *g;

	if (r->n_groups == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;

		g = realloc(r->groups, cap * sizeof(*g));
		if (!g)
			return NULL;
		r->groups = g;
		b->cap = cap;
	}
	g = &r->groups[r->n_groups++];
	memset(g, 0, sizeof(*g));
	snprintf(g->label, sizeof(g->label), "%s", label);
	return g;
}

static void close_group(struct builder *b)
{
	struct report_group *g;

	if (!b->open)
		return;
	g = &b->r->groups[b->r->n_groups - 1];
	timing_of(b->answer.v + b->answer_start, b->answer.n - b->answer_start, &g->answer);
	timing_of(b->ttr.v + b->ttr_start, b->ttr.n - b->ttr_start, &g->ttr);
	b->open = 0;
}

static int open_group(struct builder *b, const char *label)
{
	close_group(b);
	if (!add_group(b, label))
		return -1;
	b->answer_start = b->answer.n;
	b->ttr_start = b->ttr.n;
	b->open = 1;
	return 0;
}

/* Lists the empty periods from the one expected next up to (not including) `upto`. */
static int fill_periods(struct builder *b, int64_t upto)
{
	enum report_group_by g = b->r->opt.group_by;
	char label[16];

	for (; b->have_next && b->next_period < upto; b->next_period = period_next(g, b->next_period)) {
		/* Without `until` the span runs to the last survey: the cap holds here too. */
		if (b->r->n_groups >= REPORT_MAX_PERIODS) {
			b->too_many = 1;
			return -1;
		}
		period_label(g, b->next_period, label, sizeof(label));
		close_group(b);
		if (!add_group(b, label))
			return -1;
	}
	return 0;
}

/* Opens the group `row` belongs to when it is not the open one. */
static int enter_group(struct builder *b, const struct report_row *row)
{
	enum report_group_by g = b->r->opt.group_by;
	const char *key = g == REPORT_GROUP_CHANNEL ? row->channel :
			  g == REPORT_GROUP_TOUCHPOINT ? row->touchpoint : row->agent;
	char label[STORE_TEXT_LEN];
	int64_t p;

	if (g == REPORT_GROUP_NONE)
		return 0;
	if (!is_time_group(g)) {
		snprintf(label, sizeof(label), "%s", key);
		if (b->open && strcmp(b->r->groups[b->r->n_groups - 1].label, label) == 0)
			return 0;
		return open_group(b, label);
	}
	p = period_start(g, row->created_at);
	if (b->open && b->have_next && p < b->next_period)
		return 0;
	if (!b->have_next) {
		b->next_period = p;
		b->have_next = 1;
	}
	if (fill_periods(b, p) < 0)
		return -1;
	period_label(g, p, label, sizeof(label));
	b->next_period = period_next(g, p);
	return open_group(b, label);
}

static void count_row(struct report_counts *c, enum survey_kind k, const struct report_row *row)
{
	int cat;

	c->triggered++;
	if (row->sent_at > 0 || row->has_response)
		c->sent++;
	if (strcmp(row->status, "skipped") == 0) {
		c->skipped++;
		if (strcmp(row->reason, "opted_out") == 0)
			c->opted_out++;
	} else if (row->stop_reply) {
		c->opted_out++;
	}
	if (!row->has_response)
		return;
	c->answered++;
	c->score_sum += row->score;
	if ((cat = category_index(k, row->score)) >= 0)
		c->cat[cat]++;
}

static int add_row(struct builder *b, const struct report_row *row)
{
	struct report *r = b->r;
	enum survey_kind k = r->opt.kind;
	long long ttr = interaction_ttr_seconds(row->opened_at, row->closed_at);
	enum report_ttr_bucket bucket = report_ttr_bucket(ttr);
	struct report_group *g;

	if (enter_group(b, row) < 0)
		return -1;
	count_row(&r->total.all, k, row);
	count_row(&r->total.by_ttr[bucket], k, row);
	if (b->open) {
		g = &r->groups[r->n_groups - 1];
		count_row(&g->all, k, row);
		count_row(&g->by_ttr[bucket], k, row);
	}
	if (row->has_response && row->sent_at > 0 && row->answered_at >= row->sent_at &&
	    vec_push(&b->answer, row->answered_at - row->sent_at) < 0)
		return -1;
	if (ttr >= 0 && vec_push(&b->ttr, ttr) < 0)
		return -1;
	return 0;
}

static const enum report_order orders[] = {
	[REPORT_GROUP_NONE] = REPORT_ORDER_TIME,
	[REPORT_GROUP_DAY] = REPORT_ORDER_TIME,
	[REPORT_GROUP_WEEK] = REPORT_ORDER_TIME,
	[REPORT_GROUP_MONTH] = REPORT_ORDER_TIME,
	[REPORT_GROUP_CHANNEL] = REPORT_ORDER_CHANNEL,
	[REPORT_GROUP_TOUCHPOINT] = REPORT_ORDER_TOUCHPOINT,
	[REPORT_GROUP_AGENT] = REPORT_ORDER_AGENT,
};

int report_build(struct store *st, const struct report_options *o, struct report *r,
		 struct gw_err *err)
{
	struct report_query q = { kind_name(o->kind), o->since, o->until, orders[o->group_by] };
	struct builder b = { .r = r };
	struct report_cursor *c;
	struct report_row row;
	int rc = -1, step;

	memset(r, 0, sizeof(*r));
	r->opt = *o;
	if (is_time_group(o->group_by) && o->since) {
		b.next_period = period_start(o->group_by, o->since);
		b.have_next = 1;
	}
	if (!(c = store_report_open(st, &q, err)))
		return -1;
	while ((step = store_report_next(c, &row, err)) == 1)
		if (add_row(&b, &row) < 0)
			goto nomem;
	if (step < 0)
		goto out;
	close_group(&b);
	if (is_time_group(o->group_by) && o->until &&
	    fill_periods(&b, period_start(o->group_by, o->until - 1) + 1) < 0)
		goto nomem;
	timing_of(b.answer.v, b.answer.n, &r->total.answer);
	timing_of(b.ttr.v, b.ttr.n, &r->total.ttr);
	rc = 0;
	goto out;
nomem:
	if (b.too_many)
		gw_err_set(err, 422, "too_many_periods", "group_by",
			   "group_by=%s lists more than %d periods; narrow since/until or group by a "
			   "longer period", group_names[o->group_by], REPORT_MAX_PERIODS);
	else
		gw_err_set(err, 503, "unavailable", "", "out of memory");
out:
	store_report_close(c);
	free(b.answer.v);
	free(b.ttr.v);
	if (rc < 0)
		report_release(r);
	return rc;
}

void report_release(struct report *r)
{
	free(r->groups);
	r->groups = NULL;
	r->n_groups = 0;
}
