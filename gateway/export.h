/*
 * export.h - responses as CSV (RFC 4180, UTF-8, header row first), pulled chunk by chunk so that
 * an export of any size streams in constant memory, over HTTP and to a file alike.
 *
 * Columns: survey_id,customer_id,phone,channel,kind,score,comment,interaction_id,touchpoint,agent,
 * sent_at,answered_at,name,locale.  Times are ISO 8601 UTC; free-text cells are guarded against
 * spreadsheet formulas (csv.h).
 */
#ifndef GW_EXPORT_H
#define GW_EXPORT_H

#include <sys/types.h>

#include "gwerr.h"
#include "store.h"

#define EXPORT_HEADER "survey_id,customer_id,phone,channel,kind,score,comment,interaction_id," \
		      "touchpoint,agent,sent_at,answered_at,name,locale"

/* Builds a filter from the CLI/HTTP options (each may be NULL): kind nps|ces|csat, since and
 * until YYYY-MM-DD (both days included).  0, or -1 with err naming the field (422). */
int export_filter_parse(const char *kind, const char *since, const char *until,
			struct export_filter *f, struct gw_err *err);

struct csv_export;

struct csv_export *csv_export_open(struct store *st, const struct export_filter *f,
				   struct gw_err *err);
/* Copies the next bytes of CSV into out (at most max): the count, 0 at the end, -1 on error. */
ssize_t csv_export_read(struct csv_export *x, char *out, size_t max);
void csv_export_close(struct csv_export *x);

/* Formats a Unix time as "2026-11-22T10:12:30Z" ("" for 0). */
void iso8601_utc(int64_t t, char out[32]);

#endif
