/*
 * pg_reads.c - reading surveys on PostgreSQL, on connections kept between calls (pg_store.h).
 *
 * A read takes an idle connection (or opens one), runs one statement outside any transaction
 * of its own (so it holds no snapshot afterwards) and gives the connection back; one that is
 * not idle and healthy then, or one past PG_READERS_IDLE_MAX idle, is closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_priv.h"
#include "pg_store.h"
#include "survey_sql.h"

PGconn *pg_reader_get(struct pg_store *st, struct gw_err *err)
{
	PGconn *c = NULL;

	pthread_mutex_lock(&st->rlock);
	if (st->n_idle)
		c = st->idle[--st->n_idle];
	pthread_mutex_unlock(&st->rlock);
	return c ? c : pg_connect_session(st->url, st->where, st->password, err);
}

void pg_reader_put(struct pg_store *st, PGconn *c)
{
	if (!c)
		return;
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
		pthread_mutex_lock(&st->rlock);
		if (st->n_idle < PG_READERS_IDLE_MAX) {
			st->idle[st->n_idle++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&st->rlock);
	}
	PQfinish(c);
}

void pg_readers_close(struct pg_store *st)
{
	while (st->n_idle)
		PQfinish(st->idle[--st->n_idle]);
}

/* The survey of row 0 (SURVEY_SELECT's columns) into *out. */
static int survey_from_result(PGresult *r, struct survey *out, struct gw_err *err)
{
	const char *col[SURVEY_COLUMNS];
	size_t len[SURVEY_COLUMNS];

	for (int i = 0; i < SURVEY_COLUMNS; i++) {
		col[i] = PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i);
		len[i] = (size_t)PQgetlength(r, 0, i);
	}
	return survey_from_columns(col, len, out, err);
}

/* One survey by a SURVEY_SELECT ending in `where`: 1 found, 0 not, -1 error. */
static int read_survey(struct pg_store *st, const char *where, int n, const char *const *vals,
		       struct survey *out, struct gw_err *err)
{
	char sql[sizeof(SURVEY_SELECT) + 64];
	PGconn *c;
	PGresult *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(c = pg_reader_get(st, err)))
		return -1;
	snprintf(sql, sizeof(sql), "%s%s", SURVEY_SELECT, where);
	if (!(r = pg_params(c, st->where, sql, n, vals, "read survey", err))) {
		pg_reader_put(st, c);
		return -1;
	}
	rc = PQntuples(r) == 0 ? 0 : survey_from_result(r, out, err) < 0 ? -1 : 1;
	PQclear(r);
	pg_reader_put(st, c);
	return rc;
}

int pg_get_survey(struct pg_store *st, const char *id, struct survey *out, struct gw_err *err)
{
	int rc = read_survey(st, "s.id = $1", 1, (const char *const[]){ id }, out, err);

	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

int pg_find_survey(struct pg_store *st, const char *interaction_id, const char *kind,
		   struct survey *out, struct gw_err *err)
{
	return read_survey(st, "s.interaction_id = $1 AND s.kind = $2", 2,
			   (const char *const[]){ interaction_id, kind }, out, err);
}
