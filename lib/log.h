/*
 * log.h - one line per event, key=value, so that logs can be grepped and parsed alike:
 *
 *   level=error event=send_record msg="recording message 12 failed: disk I/O error"
 *
 * The routine event lines (event=send, event=inbound, ...) are printed where they happen with the
 * same shape; these are for diagnostics.  msg is quoted, with `"`, `\` and control characters
 * escaped, so a line never breaks or forges another key.  Phone numbers must be masked by the
 * caller (mask_phone()), and secrets never passed.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

/* Writes `level=LEVEL event=EVENT msg="..."` to standard error. */
void log_msg(const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(event, ...) log_msg("error", event, __VA_ARGS__)
#define log_warn(event, ...) log_msg("warn", event, __VA_ARGS__)

#endif
