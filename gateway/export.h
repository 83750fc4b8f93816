/*
 * export.h - responses as CSV (RFC 4180, UTF-8, header row first), pulled chunk by chunk so that
 * an export of any size streams in constant memory, over HTTP and to a file alike.
 *
 * Columns (EXPORT_HEADER): the contract's twelve, survey_id .. answered_at, then
 *   name         the customer's name as given to POST /v1/surveys ("" when none);
 *   locale       the language the survey was asked in;
 *   category     the score's category for its kind (score_category() in vocab.h): NPS
 *                promoter/passive/detractor, CSAT satisfied/neutral/dissatisfied, CES
 *                easy/neutral/difficult;
 *   ttr_seconds  whole seconds from interaction.opened_at to interaction.closed_at, empty when
 *                either is missing or closed_at comes first.
 * Times are ISO 8601 UTC; free-text cells are guarded against spreadsheet formulas (csv.h).
 * Every record, the header's too, ends with CRLF; a CR or LF inside a comment stays inside its
 * quoted cell.  Rows come in answer order (answered_at, then survey_id).
 */
#ifndef GW_EXPORT_H
#define GW_EXPORT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "gwerr.h"
#include "filter.h"
#include "store.h"

#define EXPORT_HEADER "survey_id,customer_id,phone,channel,kind,score,comment,interaction_id," \
		      "touchpoint,agent,sent_at,answered_at,name,locale,category,ttr_seconds"

struct csv_export;

/* Starts an export (its header is the first thing read).  NULL with err set on failure; free with
 * csv_export_close(). */
struct csv_export *csv_export_open(struct store *st, const struct export_filter *f,
				   struct gw_err *err);

/* Copies the next bytes of CSV into out, as many as fit (at most max): the count, 0 at the end
 * (and at every call after it), -1 on error (the reason: csv_export_error()).  A record may be
 * split across calls. */
ssize_t csv_export_read(struct csv_export *x, char *out, size_t max);

/* Records rendered so far, the header not counted. */
uint64_t csv_export_rows(const struct csv_export *x);

/* The number of records the export will hold, when the store can count them cheaply (see
 * store_export_count()): 1 and *n set; 0 when not; -1 on error.  Before the first read only. */
int csv_export_total(struct csv_export *x, int64_t *n);

/* Why the last read failed; "" when none did. */
const char *csv_export_error(const struct csv_export *x);

/*
 * Writes the whole export to `out` and flushes it.  When `progress` is not NULL (a terminal),
 * shows on it one line that is rewritten at most four times a second ("exporting: 12000 of 50000
 * rows (24%)", the total when csv_export_total() knows it), then a summary line ending in '\n'.
 * 0, or -1 with err set (a store failure, or a write failure with its errno text).
 */
int csv_export_write(struct csv_export *x, FILE *out, FILE *progress, struct gw_err *err);

void csv_export_close(struct csv_export *x);

/* Formats a Unix time as "2026-11-22T10:12:30Z" ("" for 0 or less). */
void iso8601_utc(int64_t t, char out[32]);

#endif
