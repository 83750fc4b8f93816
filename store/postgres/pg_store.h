/*
 * pg_store.h - the store on PostgreSQL: opening a database and bringing its schema up to date.
 *
 * The PostgreSQL backend of store/store.h is being built (docs/scaling-out.md says what works);
 * until it implements all of store.h the gateway does not offer it in its configuration.  What
 * is here is whole: a connection with the settings every one of its connections gets, and the
 * schema migrated once however many instances start together.
 */
#ifndef GW_PG_STORE_H
#define GW_PG_STORE_H

#include "gwerr.h"

struct pg_store;

/* Connects to `url` (a libpq URL or key=value string), sets the session up and migrates the
 * schema under an advisory lock.  NULL with err set on failure: the message names the server
 * (host or socket folder, port, database) and libpq's reason, never the password. */
struct pg_store *pg_store_open(const char *url, struct gw_err *err);
void pg_store_close(struct pg_store *st);

/* The schema version this gateway writes. */
int pg_store_schema_version(void);

#endif
