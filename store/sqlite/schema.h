/*
 * schema.h - the SQLite schema as forward migrations (private to store/).
 */
#ifndef GW_SCHEMA_H
#define GW_SCHEMA_H

/* The newest schema version. */
int schema_version(void);

/* The SQL that takes the schema from to_version-1 to to_version; NULL when out of range. */
const char *schema_migration(int to_version);

#endif
