/*
 * localtime.h - wall-clock time in a customer's time zone, for quiet hours.
 *
 * The C library converts through the TZ environment variable, which is process-wide; these
 * functions take a lock around every conversion, so they are safe from any thread as long as
 * nothing else in the process converts to local time (nothing in the gateway does: every other
 * time is UTC, with gmtime_r and timegm).
 */
#ifndef GW_LOCALTIME_H
#define GW_LOCALTIME_H

#include <stdint.h>

#include "config.h"

/*
 * The first moment at or after `t` (Unix seconds) that is outside `quiet` in time zone `tz`
 * (an IANA name checked with config_check_timezone()): `t` itself when it is outside, else the
 * end of the quiet span (its local HH:MM, seconds 0), on the next day when the span crosses
 * midnight.  A span "21:00-09:00" holds 21:00 and every minute to 08:59.
 */
int64_t quiet_hours_next_allowed(int64_t t, const struct clock_span *quiet, const char *tz);

#endif
