/* filter.c - see filter.h. */
#include "filter.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vocab.h"

/* "YYYY-MM-DD" into the Unix time of that day's midnight UTC; -1 when malformed. */
static int parse_day(const char *s, int64_t *out)
{
	struct tm tm;
	int y, m, d;
	char tail;

	if (strlen(s) != 10)
		return -1;
	/* Digits everywhere but the dashes: sscanf's %d alone would take "+1" and " 1". */
	for (int i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return -1;
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*out = (int64_t)timegm(&tm);
	/* timegm() normalises 2026-02-31 to March: refuse days that do not exist. */
	{
		time_t t = (time_t)*out;
		struct tm back;

		gmtime_r(&t, &back);
		if (back.tm_mday != d)
			return -1;
	}
	return 0;
}

/* Whether `s` could be a stored touchpoint or agent: 1 to EXPORT_MAX_TEXT bytes, none of them a
 * control byte (which also refuses the server's marker for a value that held %00). */
static int text_filter_ok(const char *s)
{
	size_t len = strnlen(s, EXPORT_MAX_TEXT + 1);

	if (len == 0 || len > EXPORT_MAX_TEXT)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int export_args_parse(const struct export_args *a, struct export_filter *f, struct gw_err *err)
{
	enum survey_kind k;
	enum channel c;

	memset(f, 0, sizeof(*f));
	if (a->kind) {
		if (kind_from_name(a->kind, &k) < 0)
			return gw_err_set(err, 422, "invalid_kind", "kind", "kind must be nps, ces or csat");
		f->kind = kind_name(k);
	}
	if (a->channel) {
		if (channel_from_name(a->channel, &c) < 0)
			return gw_err_set(err, 422, "invalid_channel", "channel",
					  "channel must be sms or whatsapp");
		f->channel = channel_name(c);
	}
	f->touchpoint = a->touchpoint;
	f->agent = a->agent;
	if (f->touchpoint && !text_filter_ok(f->touchpoint))
		return gw_err_set(err, 422, "invalid_touchpoint", "touchpoint",
				  "touchpoint must be 1 to %d bytes without control characters, "
				  "e.g. support_chat", EXPORT_MAX_TEXT);
	if (f->agent && !text_filter_ok(f->agent))
		return gw_err_set(err, 422, "invalid_agent", "agent",
				  "agent must be 1 to %d bytes without control characters, e.g. agent-7",
				  EXPORT_MAX_TEXT);
	if (a->since && parse_day(a->since, &f->since) < 0)
		return gw_err_set(err, 422, "invalid_date", "since",
				  "since must be a date YYYY-MM-DD, e.g. 2026-11-01");
	if (a->until) {
		if (parse_day(a->until, &f->until) < 0)
			return gw_err_set(err, 422, "invalid_date", "until",
					  "until must be a date YYYY-MM-DD, e.g. 2026-11-30");
		f->until += 86400;      /* the whole day is included */
	}
	if (f->since && f->until && f->until <= f->since)
		return gw_err_set(err, 422, "invalid_date", "until", "until must not be before since");
	return 0;
}

int export_filter_parse(const char *kind, const char *since, const char *until,
			struct export_filter *f, struct gw_err *err)
{
	struct export_args a = { .kind = kind, .since = since, .until = until };

	return export_args_parse(&a, f, err);
}
