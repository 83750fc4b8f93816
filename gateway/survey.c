/* survey.c - see survey.h. */
#include "survey.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
	const char *name;
	int min, max;
} kinds[KIND__COUNT] = {
	[KIND_NPS] = { "nps", 0, 10 },
	[KIND_CES] = { "ces", 1, 7 },
	[KIND_CSAT] = { "csat", 1, 5 },
};

static const char *const channels[CHANNEL__COUNT] = {
	[CHANNEL_SMS] = "sms",
	[CHANNEL_WHATSAPP] = "whatsapp",
};

const char *kind_name(enum survey_kind k) { return kinds[k].name; }
int kind_min(enum survey_kind k) { return kinds[k].min; }
int kind_max(enum survey_kind k) { return kinds[k].max; }
const char *channel_name(enum channel c) { return channels[c]; }

int kind_from_name(const char *s, enum survey_kind *out)
{
	for (int k = 0; s && k < KIND__COUNT; k++) {
		if (strcmp(s, kinds[k].name) == 0) {
			*out = (enum survey_kind)k;
			return 0;
		}
	}
	return -1;
}

int channel_from_name(const char *s, enum channel *out)
{
	for (int c = 0; s && c < CHANNEL__COUNT; c++) {
		if (strcmp(s, channels[c]) == 0) {
			*out = (enum channel)c;
			return 0;
		}
	}
	return -1;
}

const char *score_category(enum survey_kind k, int score)
{
	if (score < kinds[k].min || score > kinds[k].max)
		return "";
	switch (k) {
	case KIND_NPS:
		return score >= 9 ? "promoter" : score >= 7 ? "passive" : "detractor";
	case KIND_CSAT:
		return score >= 4 ? "satisfied" : score == 3 ? "neutral" : "dissatisfied";
	case KIND_CES:
		return score >= 5 ? "easy" : score == 4 ? "neutral" : "difficult";
	default:
		return "";
	}
}

/* "2026-11-22T10:00:00Z" (optionally with a fraction, or +00:00) as Unix seconds; -1 if not. */
static long long parse_utc(const char *s)
{
	struct tm tm;
	int n = 0;

	if (!s)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

long long interaction_ttr_seconds(const char *opened_at, const char *closed_at)
{
	long long o = parse_utc(opened_at), c = parse_utc(closed_at);

	if (o < 0 || c < 0 || c < o)
		return -1;
	return c - o;
}
