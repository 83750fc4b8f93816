/* survey_sql.c - a survey from the columns of SURVEY_SELECT, for every backend (survey_sql.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "survey_sql.h"

static void text(const char *v, char *dst, size_t n)
{
	snprintf(dst, n, "%s", v ? v : "");
}

/* A malloc'd copy of the n bytes at v (NULL: none), NUL-terminated. */
static char *copy(const char *v, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		if (n)
			memcpy(p, v, n);
		p[n] = '\0';
	}
	return p;
}

static int64_t num(const char *v)
{
	return v ? strtoll(v, NULL, 10) : 0;
}

int survey_from_columns(const char *const col[SURVEY_COLUMNS], const size_t len[SURVEY_COLUMNS],
			struct survey *out, struct gw_err *err)
{
	memset(out, 0, sizeof(*out));
	text(col[0], out->id, sizeof(out->id));
	text(col[1], out->customer_id, sizeof(out->customer_id));
	text(col[2], out->phone, sizeof(out->phone));
	text(col[3], out->name, sizeof(out->name));
	text(col[4], out->locale, sizeof(out->locale));
	text(col[5], out->kind, sizeof(out->kind));
	text(col[6], out->channel, sizeof(out->channel));
	text(col[7], out->provider, sizeof(out->provider));
	text(col[8], out->interaction_id, sizeof(out->interaction_id));
	text(col[9], out->touchpoint, sizeof(out->touchpoint));
	text(col[10], out->agent, sizeof(out->agent));
	text(col[11], out->opened_at, sizeof(out->opened_at));
	text(col[12], out->closed_at, sizeof(out->closed_at));
	text(col[13], out->status, sizeof(out->status));
	out->created_at = num(col[14]);
	out->send_after = num(col[15]);
	out->sent_at = num(col[16]);
	out->delivered_at = num(col[17]);
	out->answered_at = num(col[18]);
	out->expires_at = num(col[19]);
	out->attempts = (int)num(col[20]);
	out->reprompted = (int)num(col[21]);
	text(col[22], out->provider_message_id, sizeof(out->provider_message_id));
	text(col[23], out->error_code, sizeof(out->error_code));
	text(col[24], out->error_message, sizeof(out->error_message));
	text(col[28], out->reason, sizeof(out->reason));
	text(col[29], out->timezone, sizeof(out->timezone));
	if (!col[25])
		return 0;
	out->has_response = 1;
	out->score = (int)num(col[25]);
	out->comment = copy(col[26], col[26] ? len[26] : 0);
	out->raw_text = copy(col[27], col[27] ? len[27] : 0);
	if (out->comment && out->raw_text)
		return 0;
	survey_release(out);
	return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
}
