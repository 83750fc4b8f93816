/* localtime.c - see localtime.h. */
#include "localtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* 1 when minute-of-day m lies in [start, end), a span that may cross midnight. */
static int in_span(int m, int start, int end)
{
	return start < end ? (m >= start && m < end) : (m >= start || m < end);
}

/* 1 when Unix time tt falls in the span, in the time zone TZ currently names. */
static int quiet_at(time_t tt, const struct clock_span *q)
{
	struct tm tm;

	localtime_r(&tt, &tm);
	return in_span(tm.tm_hour * 60 + tm.tm_min, q->start_min, q->end_min);
}

int64_t quiet_hours_next_allowed(int64_t t, const struct clock_span *quiet, const char *tz)
{
	char *saved = NULL, *old;
	time_t tt = (time_t)t, out;
	struct tm tm;
	int minute;

	if (quiet->off)
		return t;
	pthread_mutex_lock(&tz_lock);
	if ((old = getenv("TZ")))
		saved = strdup(old);
	setenv("TZ", tz, 1);
	tzset();
	localtime_r(&tt, &tm);
	minute = tm.tm_hour * 60 + tm.tm_min;
	if (!in_span(minute, quiet->start_min, quiet->end_min)) {
		out = tt;
	} else {
		/* The span ends today, or tomorrow when it crossed midnight and we are before it. */
		if (quiet->start_min > quiet->end_min && minute >= quiet->start_min)
			tm.tm_mday++;
		tm.tm_hour = quiet->end_min / 60;
		tm.tm_min = quiet->end_min % 60;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		out = mktime(&tm);
		/*
		 * On a DST change day the span's end may not exist (spring) or exist twice (autumn),
		 * and mktime() then lands after the first moment outside the span.  That moment is
		 * between tt (inside) and out: find it by bisection, to the second.
		 */
		if (out <= tt)
			out = tt + 1;
		for (int i = 0; i < 2 * 24 * 60 && quiet_at(out, quiet); i++)
			out += 60;
		for (time_t lo = tt; out - lo > 1;) {
			time_t mid = lo + (out - lo) / 2;

			if (quiet_at(mid, quiet))
				lo = mid;
			else
				out = mid;
		}
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	pthread_mutex_unlock(&tz_lock);
	return (int64_t)out;
}
