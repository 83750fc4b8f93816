/*
 * survey_sql.h - the statement that reads a survey with its response, in the SQL both store
 * backends speak (private to store/).  It ends in its WHERE: the caller appends the condition.
 * Columns, in order: id, customer ext_id, phone, name, locale, kind, channel, provider,
 * interaction_id, touchpoint, agent, opened_at, closed_at, status, created_at, send_after,
 * sent_at, delivered_at, answered_at, expires_at, attempts, reprompted, provider_message_id,
 * error_code, error_message, score, comment, raw_text (those three NULL without a response),
 * reason, timezone.  Texts are never NULL but for the response's; times 0 when unset.
 */
#ifndef GW_SURVEY_SQL_H
#define GW_SURVEY_SQL_H

#define SURVEY_SELECT                                                                        \
	"SELECT s.id, c.ext_id, s.phone, coalesce(s.name, ''), s.locale, s.kind, s.channel," \
	" s.provider, s.interaction_id, coalesce(s.touchpoint, ''), coalesce(s.agent, ''),"  \
	" coalesce(s.opened_at, ''), coalesce(s.closed_at, ''), s.status, s.created_at,"     \
	" s.send_after, coalesce(s.sent_at, 0), coalesce(s.delivered_at, 0),"                \
	" coalesce(s.answered_at, 0), coalesce(s.expires_at, 0), s.attempts, s.reprompted,"  \
	" coalesce(s.provider_message_id, ''), coalesce(s.error_code, ''),"                  \
	" coalesce(s.error_message, ''), r.score, r.comment, r.raw_text,"                    \
	" coalesce(s.reason, ''), coalesce(s.timezone, '')"                                  \
	" FROM surveys s JOIN customers c ON c.id = s.customer_id"                           \
	" LEFT JOIN responses r ON r.survey_id = s.id WHERE "

#include "gwerr.h"
#include "store.h"

#define SURVEY_COLUMNS 30

/* Fills *out (zeroed first) from SURVEY_SELECT's columns given as text, NULL for SQL NULL, and
 * their lengths in bytes; the response's texts are copied whole, bytes after a NUL included
 * (survey_release()).  0, or -1 with err (out of memory). */
int survey_from_columns(const char *const col[SURVEY_COLUMNS], const size_t len[SURVEY_COLUMNS],
			struct survey *out, struct gw_err *err);

#endif
