/*
 * pg_priv.h - what the PostgreSQL backend's files share (private to store/postgres/).
 */
#ifndef GW_PG_PRIV_H
#define GW_PG_PRIV_H

#include <libpq-fe.h>
#include <stdint.h>

#include "gwerr.h"

/* Session settings of every connection: a commit is on the server's disk before it returns
 * (the guarantee a 2xx rests on), one statement cannot hold a connection for ever, and a
 * transaction left open by a stuck thread is ended by the server. */
#define PG_STATEMENT_TIMEOUT_MS 30000
#define PG_IDLE_TX_TIMEOUT_MS 60000

/* The advisory lock key under which instances migrate, one at a time ("gwschema"). */
#define PG_MIGRATE_LOCK 0x677773636865LL

struct pg_store {
	PGconn *conn;
	char where[200];   /* the server as messages name it: host:port/database */
	char instance[96]; /* this process as claimed_by names it: host:pid:random */
	int64_t send_lease_s;
};

/* Fills `where` from a connection string without connecting: "host:port/database" with
 * libpq's defaults for what the string leaves out.  -1 (err set, the string not echoed) when
 * libpq cannot parse it. */
int pg_describe(const char *url, char *where, size_t n, char *password, size_t pn,
		struct gw_err *err);

/* Sets err from the connection's last error: `what` (e.g. "migrate") and libpq's message, its
 * first line, with `secret` (when not empty) blanked out.  Returns -1. */
int pg_fail(PGconn *c, const char *where, const char *what, const char *secret, struct gw_err *err);

#endif
