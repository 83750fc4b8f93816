/* report_format.c - a report as JSON, CSV or a table (see report.h). */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "csv.h"

/* The JSON/CSV names of each kind's categories, best first (report_counts.cat order). */
static const char *const category_plural[KIND__COUNT][3] = {
	[KIND_NPS] = { "promoters", "passives", "detractors" },
	[KIND_CES] = { "easy", "neutral", "difficult" },
	[KIND_CSAT] = { "satisfied", "neutral", "dissatisfied" },
};

/* Table headings for the same. */
static const char *const category_short[KIND__COUNT][3] = {
	[KIND_NPS] = { "prom", "pass", "detr" },
	[KIND_CES] = { "easy", "neut", "diff" },
	[KIND_CSAT] = { "sat", "neut", "dis" },
};

static const char *const kind_titles[KIND__COUNT] = {
	[KIND_NPS] = "NPS", [KIND_CES] = "CES", [KIND_CSAT] = "CSAT",
};

static const char *const bucket_labels[TTR__COUNT] = {
	[TTR_UNDER_15M] = "< 15 min",
	[TTR_UNDER_1H] = "< 1 h",
	[TTR_UNDER_4H] = "< 4 h",
	[TTR_UNDER_24H] = "< 24 h",
	[TTR_LONGER] = ">= 24 h",
	[TTR_UNKNOWN] = "unknown",
};

/* "33.3", "-5.0"; with `trim`, a whole number loses its ".0" ("50"). */
static void fmt_tenths(long long t, int trim, char *out, size_t n)
{
	long long a = t < 0 ? -t : t;

	if (trim && a % 10 == 0)
		snprintf(out, n, "%s%lld", t < 0 ? "-" : "", a / 10);
	else
		snprintf(out, n, "%s%lld.%lld", t < 0 ? "-" : "", a / 10, a % 10);
}

static void fmt_hundredths(long long h, char *out, size_t n)
{
	long long a = h < 0 ? -h : h;

	snprintf(out, n, "%s%lld.%02lld", h < 0 ? "-" : "", a / 100, a % 100);
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* A one-decimal figure: a real (printed with one decimal by report_json_dumps()), an integer
 * for a whole NPS, null when it does not exist (rc < 0).  *t is read here, after the call that
 * computed rc and filled it. */
static json_t *j_tenths(int rc, const long long *t, int trim)
{
	if (rc < 0)
		return json_null();
	if (trim && *t % 10 == 0)
		return json_integer(*t / 10);
	return json_real((double)*t / 10.0);
}

static json_t *j_timing(const struct report_timing *t)
{
	return json_pack("{s:I,s:o,s:o}", "n", (json_int_t)t->n,
			 "mean_s", t->n ? json_integer(t->mean_s) : json_null(),
			 "median_s", t->n ? json_integer(t->median_s) : json_null());
}

/* The counts' figures into `o`. */
static int j_counts(json_t *o, enum survey_kind k, const struct report_counts *c)
{
	long long v;
	int rc = 0;

	rc |= json_object_set_new(o, "triggered", json_integer(c->triggered));
	rc |= json_object_set_new(o, "sent", json_integer(c->sent));
	rc |= json_object_set_new(o, "answered", json_integer(c->answered));
	rc |= json_object_set_new(o, "response_rate", j_tenths(report_rate_tenths(c, &v), &v, 0));
	rc |= json_object_set_new(o, "skipped", json_integer(c->skipped));
	rc |= json_object_set_new(o, "opted_out", json_integer(c->opted_out));
	if (k == KIND_NPS)
		rc |= json_object_set_new(o, "nps", j_tenths(report_nps_tenths(c, &v), &v, 1));
	for (int i = 0; i < 3; i++) {
		char key[32];

		rc |= json_object_set_new(o, category_plural[k][i], json_integer(c->cat[i]));
		snprintf(key, sizeof(key), "%s_pct", category_plural[k][i]);
		rc |= json_object_set_new(o, key, j_tenths(report_cat_pct_tenths(c, i, &v), &v, 0));
	}
	if (report_mean_hundredths(c, &v) < 0)
		rc |= json_object_set_new(o, "mean", json_null());
	else
		rc |= json_object_set_new(o, "mean", json_real((double)v / 100.0));
	return rc ? -1 : 0;
}

static json_t *j_group(enum survey_kind k, const struct report_group *g, json_t *label)
{
	json_t *o = json_object(), *buckets = json_array();

	if (!o || !buckets || (label && json_object_set_new(o, "group", label) < 0) ||
	    j_counts(o, k, &g->all) < 0 ||
	    json_object_set_new(o, "time_to_answer", j_timing(&g->answer)) < 0 ||
	    json_object_set_new(o, "ttr", j_timing(&g->ttr)) < 0)
		goto fail;
	for (int b = 0; b < TTR__COUNT; b++) {
		json_t *bo = json_pack("{s:s}", "bucket", report_ttr_bucket_name(b));

		if (!bo || j_counts(bo, k, &g->by_ttr[b]) < 0 || json_array_append_new(buckets, bo) < 0)
			goto fail;
	}
	if (json_object_set_new(o, "by_ttr", buckets) < 0)
		goto fail_o;
	return o;
fail:
	json_decref(buckets);
fail_o:
	json_decref(o);
	return NULL;
}

static json_t *j_str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *report_json(const struct report *r)
{
	const struct report_options *o = &r->opt;
	json_t *root, *groups = json_array(), *g;

	root = json_pack("{s:s,s:o,s:o,s:o}", "kind", kind_name(o->kind),
			 "since", j_str_or_null(o->since_day), "until", j_str_or_null(o->until_day),
			 "group_by", j_str_or_null(report_group_by_name(o->group_by)));
	if (!root || !groups)
		goto fail;
	for (size_t i = 0; i < r->n_groups; i++) {
		g = j_group(o->kind, &r->groups[i], j_str_or_null(r->groups[i].label));
		if (!g || json_array_append_new(groups, g) < 0)
			goto fail;
	}
	if (json_object_set_new(root, "groups", groups) < 0) {
		groups = NULL;
		goto fail;
	}
	groups = NULL;
	if (!(g = j_group(o->kind, &r->total, NULL)) || json_object_set_new(root, "total", g) < 0)
		goto fail;
	return root;
fail:
	json_decref(groups);
	json_decref(root);
	return NULL;
}

char *report_json_dumps(const struct report *r, size_t flags)
{
	json_t *j = report_json(r);
	/* 15 significant digits print 33.3 as 33.3, not 33.299999999999997. */
	char *s = j ? json_dumps(j, flags | JSON_REAL_PRECISION(15)) : NULL;

	json_decref(j);
	return s;
}

/* ---- CSV ------------------------------------------------------------------------------- */

static int csv_num(struct buf *b, long long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", v);
	return csv_cell_str(b, 0, s, 0);
}

static int csv_tenths(struct buf *b, int rc, const long long *t, int trim)
{
	char s[32];

	if (rc < 0)
		return csv_cell_str(b, 0, NULL, 0);
	fmt_tenths(*t, trim, s, sizeof(s));
	return csv_cell_str(b, 0, s, 0);
}

static int csv_timing(struct buf *b, const struct report_timing *t)
{
	if (!t)         /* bucket rows: no timing */
		return csv_cell_str(b, 0, NULL, 0) | csv_cell_str(b, 0, NULL, 0) |
		       csv_cell_str(b, 0, NULL, 0);
	if (csv_num(b, t->n) < 0)
		return -1;
	if (!t->n)
		return csv_cell_str(b, 0, NULL, 0) | csv_cell_str(b, 0, NULL, 0);
	return csv_num(b, t->mean_s) | csv_num(b, t->median_s);
}

static int csv_row(struct buf *b, enum survey_kind k, const char *scope, const char *group,
		   const char *bucket, const struct report_counts *c,
		   const struct report_timing *answer, const struct report_timing *ttr)
{
	long long v;
	char s[32];
	int rc = 0;

	rc |= csv_cell_str(b, 1, scope, 0);
	rc |= csv_cell_str(b, 0, group, 1);
	rc |= csv_cell_str(b, 0, bucket, 0);
	rc |= csv_num(b, c->triggered) | csv_num(b, c->sent) | csv_num(b, c->answered);
	rc |= csv_tenths(b, report_rate_tenths(c, &v), &v, 0);
	rc |= csv_num(b, c->skipped) | csv_num(b, c->opted_out);
	if (k == KIND_NPS)
		rc |= csv_tenths(b, report_nps_tenths(c, &v), &v, 1);
	for (int i = 0; i < 3; i++)
		rc |= csv_num(b, c->cat[i]);
	for (int i = 0; i < 3; i++)
		rc |= csv_tenths(b, report_cat_pct_tenths(c, i, &v), &v, 0);
	if (report_mean_hundredths(c, &v) < 0) {
		rc |= csv_cell_str(b, 0, NULL, 0);
	} else {
		fmt_hundredths(v, s, sizeof(s));
		rc |= csv_cell_str(b, 0, s, 0);
	}
	rc |= csv_timing(b, answer) | csv_timing(b, ttr);
	return rc ? -1 : csv_row_end(b);
}

static int csv_group(struct buf *b, FILE *out, enum survey_kind k, const char *scope,
		     const struct report_group *g)
{
	buf_reset(b);
	if (csv_row(b, k, scope, g->label, "all", &g->all, &g->answer, &g->ttr) < 0)
		return -1;
	for (int i = 0; i < TTR__COUNT; i++)
		if (csv_row(b, k, scope, g->label, report_ttr_bucket_name(i), &g->by_ttr[i], NULL,
			    NULL) < 0)
			return -1;
	return fwrite(b->data, 1, b->len, out) == b->len ? 0 : -1;
}

int report_write_csv(const struct report *r, FILE *out)
{
	enum survey_kind k = r->opt.kind;
	struct buf b;
	int rc = -1;

	buf_init(&b, 1 << 20);
	buf_puts(&b, "scope,group,ttr_bucket,triggered,sent,answered,response_rate,skipped,opted_out");
	if (k == KIND_NPS)
		buf_puts(&b, ",nps");
	for (int i = 0; i < 3; i++)
		buf_printf(&b, ",%s", category_plural[k][i]);
	for (int i = 0; i < 3; i++)
		buf_printf(&b, ",%s_pct", category_plural[k][i]);
	if (buf_puts(&b, ",mean,answer_n,answer_mean_s,answer_median_s,ttr_n,ttr_mean_s,"
		     "ttr_median_s\r\n") < 0 || fwrite(b.data, 1, b.len, out) != b.len)
		goto out;
	for (size_t i = 0; i < r->n_groups; i++)
		if (csv_group(&b, out, k, "group", &r->groups[i]) < 0)
			goto out;
	if (csv_group(&b, out, k, "total", &r->total) < 0)
		goto out;
	rc = fflush(out) == 0 && !ferror(out) ? 0 : -1;
out:
	buf_release(&b);
	return rc;
}

/* ---- table ----------------------------------------------------------------------------- */

#define CELL 132
#define MAX_COLS 16

struct table {
	size_t ncols, nrows, cap;
	char (*cells)[MAX_COLS][CELL];
	int left[MAX_COLS];     /* left-aligned column */
};

static char *t_cell(struct table *t, size_t col)
{
	return t->cells[t->nrows - 1][col];
}

static int t_row(struct table *t)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		void *c = realloc(t->cells, cap * sizeof(*t->cells));

		if (!c)
			return -1;
		t->cells = c;
		t->cap = cap;
	}
	memset(t->cells[t->nrows++], 0, sizeof(*t->cells));
	return 0;
}

static void fmt_duration(const struct report_timing *tm, int median, char *out, size_t n)
{
	long long s = median ? tm->median_s : tm->mean_s;

	if (!tm->n)
		snprintf(out, n, "-");
	else if (s < 60)
		snprintf(out, n, "%llds", s);
	else if (s < 3600)
		snprintf(out, n, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, n, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, n, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

static void cell_tenths(char *out, int rc, long long v, int trim, const char *unit)
{
	if (rc < 0) {
		snprintf(out, CELL, "-");
		return;
	}
	fmt_tenths(v, trim, out, CELL);
	strncat(out, unit, CELL - strlen(out) - 1);
}

/* The kind's headline figures into cells from `col`; returns the next column. */
static size_t cells_kind(struct table *t, size_t col, enum survey_kind k,
			 const struct report_counts *c)
{
	long long v;
	int rc;

	if (k == KIND_NPS) {
		rc = report_nps_tenths(c, &v);
		cell_tenths(t_cell(t, col++), rc, v, 1, "");
	} else {
		if (k == KIND_CSAT) {
			rc = report_cat_pct_tenths(c, 0, &v);
			cell_tenths(t_cell(t, col++), rc, v, 0, "%");
		}
		rc = report_mean_hundredths(c, &v);
		if (rc < 0)
			snprintf(t_cell(t, col++), CELL, "-");
		else
			fmt_hundredths(v, t_cell(t, col++), CELL);
		if (k == KIND_CES) {
			rc = report_cat_pct_tenths(c, 0, &v);
			cell_tenths(t_cell(t, col++), rc, v, 0, "%");
		}
	}
	for (int i = 0; i < 3; i++)
		snprintf(t_cell(t, col++), CELL, "%lld", c->cat[i]);
	return col;
}

static size_t cells_counts(struct table *t, size_t col, const struct report_counts *c)
{
	long long v;
	int rc = report_rate_tenths(c, &v);

	snprintf(t_cell(t, col++), CELL, "%lld", c->sent);
	snprintf(t_cell(t, col++), CELL, "%lld", c->answered);
	cell_tenths(t_cell(t, col++), rc, v, 0, "%");
	return col;
}

static size_t heads_kind(struct table *t, size_t col, enum survey_kind k)
{
	if (k == KIND_NPS)
		snprintf(t_cell(t, col++), CELL, "NPS");
	if (k == KIND_CSAT)
		snprintf(t_cell(t, col++), CELL, "CSAT%%");
	if (k != KIND_NPS)
		snprintf(t_cell(t, col++), CELL, "mean");
	if (k == KIND_CES)
		snprintf(t_cell(t, col++), CELL, "easy%%");
	for (int i = 0; i < 3; i++)
		snprintf(t_cell(t, col++), CELL, "%s", category_short[k][i]);
	return col;
}

static int t_print(const struct table *t, FILE *out)
{
	size_t w[MAX_COLS] = { 0 };

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			if (strlen(t->cells[r][c]) > w[c])
				w[c] = strlen(t->cells[r][c]);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++)
			fprintf(out, c ? "  %*s" : "%*s", t->left[c] ? -(int)w[c] : (int)w[c],
				t->cells[r][c]);
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}

/* The main table: one row per group, then the total. */
static int table_groups(const struct report *r, struct table *t)
{
	enum survey_kind k = r->opt.kind;
	const char *by = report_group_by_name(r->opt.group_by);
	size_t col = 0;

	if (t_row(t) < 0)
		return -1;
	snprintf(t_cell(t, col++), CELL, "%s", by ? by : "");
	snprintf(t_cell(t, col++), CELL, "sent");
	snprintf(t_cell(t, col++), CELL, "answered");
	snprintf(t_cell(t, col++), CELL, "rate");
	col = heads_kind(t, col, k);
	snprintf(t_cell(t, col++), CELL, "skipped");
	snprintf(t_cell(t, col++), CELL, "opted out");
	snprintf(t_cell(t, col++), CELL, "answer (median)");
	snprintf(t_cell(t, col++), CELL, "TTR (mean)");
	snprintf(t_cell(t, col++), CELL, "TTR (median)");
	t->ncols = col;
	t->left[0] = 1;
	for (size_t i = 0; i <= r->n_groups; i++) {
		const struct report_group *g = i < r->n_groups ? &r->groups[i] : &r->total;

		if (t_row(t) < 0)
			return -1;
		col = 0;
		snprintf(t_cell(t, col++), CELL, "%s", i == r->n_groups ? "total" :
			 g->label[0] ? g->label : "(none)");
		col = cells_counts(t, col, &g->all);
		col = cells_kind(t, col, k, &g->all);
		snprintf(t_cell(t, col++), CELL, "%lld", g->all.skipped);
		snprintf(t_cell(t, col++), CELL, "%lld", g->all.opted_out);
		fmt_duration(&g->answer, 1, t_cell(t, col++), CELL);
		fmt_duration(&g->ttr, 0, t_cell(t, col++), CELL);
		fmt_duration(&g->ttr, 1, t_cell(t, col++), CELL);
	}
	return 0;
}

/* The total by TTR bucket. */
static int table_buckets(const struct report *r, struct table *t)
{
	enum survey_kind k = r->opt.kind;
	size_t col = 0;

	if (t_row(t) < 0)
		return -1;
	snprintf(t_cell(t, col++), CELL, "TTR");
	snprintf(t_cell(t, col++), CELL, "sent");
	snprintf(t_cell(t, col++), CELL, "answered");
	snprintf(t_cell(t, col++), CELL, "rate");
	t->ncols = heads_kind(t, col, k);
	t->left[0] = 1;
	for (int b = 0; b < TTR__COUNT; b++) {
		if (t_row(t) < 0)
			return -1;
		snprintf(t_cell(t, 0), CELL, "%s", bucket_labels[b]);
		cells_kind(t, cells_counts(t, 1, &r->total.by_ttr[b]), k, &r->total.by_ttr[b]);
	}
	return 0;
}

int report_write_table(const struct report *r, FILE *out)
{
	const struct report_options *o = &r->opt;
	const char *by = report_group_by_name(o->group_by);
	struct table t = { 0 };
	int rc = -1;

	fprintf(out, "%s report: %s%s%s%s%s%s%s\n\n", kind_titles[o->kind],
		o->since_day[0] || o->until_day[0] ? "surveys triggered " : "all surveys",
		o->since_day[0] ? o->since_day : o->until_day[0] ? "until " : "",
		o->since_day[0] && o->until_day[0] ? " .. " : o->since_day[0] ? " and later" : "",
		o->until_day[0] ? o->until_day : "",
		o->since_day[0] || o->until_day[0] ? " (UTC days)" : "",
		by ? ", by " : "", by ? by : "");
	if (table_groups(r, &t) < 0 || t_print(&t, out) < 0)
		goto out;
	t.nrows = 0;
	memset(t.left, 0, sizeof(t.left));
	fprintf(out, "\nBy time to resolution (all surveys above):\n\n");
	if (table_buckets(r, &t) < 0 || t_print(&t, out) < 0)
		goto out;
	rc = fflush(out) == 0 && !ferror(out) ? 0 : -1;
out:
	free(t.cells);
	return rc;
}
