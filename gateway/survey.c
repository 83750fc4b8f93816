/* survey.c - see survey.h. */
#include "survey.h"

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
