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
		if (out < tt)           /* a DST jump may skip the end: never go back in time */
			out = tt;
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
