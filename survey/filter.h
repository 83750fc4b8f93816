/*
 * filter.h - which responses an export or a report covers, as the CLI options and the HTTP query
 * parameters spell it (kind, channel, touchpoint, agent, since, until), checked and turned into
 * the store's struct export_filter.
 */
#ifndef GW_FILTER_H
#define GW_FILTER_H

#include "gwerr.h"
#include "store.h"

/* The longest touchpoint or agent worth filtering on: POST /v1/surveys stores none longer. */
#define EXPORT_MAX_TEXT 128

/* The filter as the CLI options and HTTP query parameters spell it; each member may be NULL. */
struct export_args {
	const char *kind;               /* nps | ces | csat */
	const char *channel;            /* sms | whatsapp */
	const char *touchpoint;         /* exact match, 1..EXPORT_MAX_TEXT bytes, no control bytes */
	const char *agent;              /* likewise */
	const char *since, *until;      /* YYYY-MM-DD, both days included */
};

/* Builds a filter from `a`.  0, or -1 with err naming the field (422, code invalid_kind,
 * invalid_channel, invalid_touchpoint, invalid_agent or invalid_date).  The filter borrows
 * a->touchpoint and a->agent: they must outlive its use. */
int export_args_parse(const struct export_args *a, struct export_filter *f, struct gw_err *err);

/* export_args_parse() of kind, since and until alone: the rules reports share with the export. */
int export_filter_parse(const char *kind, const char *since, const char *until,
			struct export_filter *f, struct gw_err *err);

#endif
