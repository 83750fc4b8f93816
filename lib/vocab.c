/* vocab.c - see vocab.h. */
#include "vocab.h"

#include <string.h>

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

/* n decimal digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil). */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "2026-11-22T10:00:00Z" (anything may follow the seconds: a fraction, Z, +00:00) as Unix
 * seconds; -1 if not.  Hand-written: an export calls it twice a row. */
static long long parse_utc(const char *s)
{
	int y, mo, d, h, mi, sec;

	if (!s || strlen(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return -1;
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

long long interaction_ttr_seconds(const char *opened_at, const char *closed_at)
{
	long long o = parse_utc(opened_at), c = parse_utc(closed_at);

	if (o < 0 || c < 0 || c < o)
		return -1;
	return c - o;
}
