/*
 * report.h - survey reports: NPS, CSAT and CES figures per day, week, month, channel, touchpoint
 * or agent, with response rates, time to answer and time to resolution, as JSON, CSV or a table.
 *
 * Definitions (also in docs/reports.md and `gateway report --help`):
 *  - a survey belongs to the UTC day it was triggered (created); since/until are days, both
 *    included;
 *  - triggered: surveys written for the kind in the period (a trigger refused 409 for an
 *    opted-out number writes nothing and is not counted);
 *  - sent: the text left the gateway (sent_at set), or the survey has a response (an answer proves
 *    it left, e.g. an `uncertain` send);  answered: the survey has a response;
 *  - response rate = answered / sent;  skipped: status skipped (any reason);
 *  - opted out: skipped because the number had opted out, or answered with a stop word;
 *  - categories come from score_category() (vocab.h); percentages are of the answered;
 *    NPS = % promoters - % detractors, from the unrounded shares;
 *  - time to answer = response's answered_at - sent_at, over answered surveys with sent_at;
 *  - TTR = interaction_ttr_seconds(opened_at, closed_at), over the group's surveys that have both;
 *    buckets < 15 min, < 1 h, < 4 h, < 24 h, longer (a border value goes to the slower bucket:
 *    exactly 15 min is "< 1 h"), and unknown;
 *  - week: ISO 8601, from Monday (label 2026-W48); day 2026-11-23; month 2026-11;
 *  - a figure with nothing to divide by is null (JSON), empty (CSV) or "-" (table).
 *
 * Rounding: percentages, NPS: one decimal, half away from zero; means of scores: two decimals;
 * times: whole seconds, half up; the median of an even count is the mean of the middle two.
 *
 * Memory: counts stream; the medians keep one 8-byte value per answered survey and per survey with
 * a known TTR, for the report's total (the groups use slices of the same arrays).
 */
#ifndef GW_REPORT_H
#define GW_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "gwerr.h"
#include "store.h"
#include "vocab.h"

enum report_group_by {
	REPORT_GROUP_NONE,      /* the total only */
	REPORT_GROUP_DAY,
	REPORT_GROUP_WEEK,
	REPORT_GROUP_MONTH,
	REPORT_GROUP_CHANNEL,
	REPORT_GROUP_TOUCHPOINT,
	REPORT_GROUP_AGENT,
};

enum report_ttr_bucket {
	TTR_UNDER_15M, TTR_UNDER_1H, TTR_UNDER_4H, TTR_UNDER_24H, TTR_LONGER, TTR_UNKNOWN,
	TTR__COUNT
};

/* The longest day/week/month series a report lists (since..until). */
#define REPORT_MAX_PERIODS 3660

struct report_options {
	enum survey_kind kind;
	int64_t since, until;           /* Unix seconds, [since, until); 0: no bound */
	enum report_group_by group_by;
	char since_day[11], until_day[11];      /* as given, "" when not */
};

/*
 * Builds options from the CLI/HTTP values (each may be NULL but kind, which is required): kind
 * nps|ces|csat, since/until YYYY-MM-DD, group_by day|week|month|channel|touchpoint|agent.  0, or
 * -1 with err naming the field (422).
 */
int report_options_parse(const char *kind, const char *since, const char *until,
			 const char *group_by, struct report_options *o, struct gw_err *err);

/* "day", ..., "agent"; NULL for REPORT_GROUP_NONE. */
const char *report_group_by_name(enum report_group_by g);

/* The bucket of a TTR in seconds (-1: unknown). */
enum report_ttr_bucket report_ttr_bucket(long long ttr_s);
/* "under_15m", "under_1h", "under_4h", "under_24h", "24h_or_more", "unknown". */
const char *report_ttr_bucket_name(enum report_ttr_bucket b);

/* Counts over a set of surveys. */
struct report_counts {
	long long triggered, sent, answered, skipped, opted_out;
	long long cat[3];       /* answered per category, in score_category() order: the best
				 * (promoter, satisfied, easy), the middle, the worst */
	long long score_sum;    /* of the answered */
};

/* A mean and a median in whole seconds, over n values (n == 0: neither exists). */
struct report_timing {
	long long n, mean_s, median_s;
};

struct report_group {
	char label[STORE_TEXT_LEN];     /* "2026-11-23", "2026-W48", "2026-11", the channel,
					 * touchpoint or agent ("" when the surveys had none) */
	struct report_counts all;
	struct report_counts by_ttr[TTR__COUNT];
	struct report_timing answer;    /* time to answer */
	struct report_timing ttr;       /* time to resolution */
};

struct report {
	struct report_options opt;
	struct report_group *groups;    /* in order; empty days/weeks/months included */
	size_t n_groups;
	struct report_group total;      /* label "" */
};

/* Reads the surveys `o` selects from `st` and computes the report into *r (release with
 * report_release()).  0, or -1 with err set (503 when the store or memory failed). */
int report_build(struct store *st, const struct report_options *o, struct report *r,
		 struct gw_err *err);
void report_release(struct report *r);

/* Derived figures, in tenths (percentages, NPS) or hundredths (mean score); each returns 0, or -1
 * when the figure does not exist (nothing to divide by). */
int report_rate_tenths(const struct report_counts *c, long long *out);         /* answered/sent */
int report_cat_pct_tenths(const struct report_counts *c, int cat, long long *out);
int report_nps_tenths(const struct report_counts *c, long long *out);
int report_mean_hundredths(const struct report_counts *c, long long *out);

/* The report as JSON (caller json_decref()s); NULL when out of memory. */
json_t *report_json(const struct report *r);
/* report_json() as text with one-decimal numbers printed as such (caller frees); flags as for
 * json_dumps() (JSON_COMPACT, JSON_INDENT(n)). */
char *report_json_dumps(const struct report *r, size_t flags);

/* Writes the report as CSV (header first, RFC 4180, free-text cells guarded as in exports), or as
 * a table for a terminal.  0, or -1 when writing failed. */
int report_write_csv(const struct report *r, FILE *out);
int report_write_table(const struct report *r, FILE *out);

/* The definitions above, for --help. */
extern const char report_definitions[];

#endif
