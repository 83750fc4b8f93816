/*
 * pg_schema.h - the PostgreSQL schema as forward migrations (private to store/postgres/).
 */
#ifndef GW_PG_SCHEMA_H
#define GW_PG_SCHEMA_H

/* The newest schema version. */
int pg_schema_version(void);

/* The SQL that takes the schema from to_version-1 to to_version; NULL when out of range. */
const char *pg_schema_migration(int to_version);

#endif
