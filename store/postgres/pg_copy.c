/*
 * pg_copy.c - a SQLite database copied into an empty PostgreSQL one (gateway migrate-store).
 *
 * Every table is read from one SQLite snapshot in key order and streamed to PostgreSQL with
 * COPY in one transaction.  The stream is COPY's text format, and PostgreSQL's COPY TO of the
 * same columns in the same order is that text again when every value arrived whole: the two
 * SHA-256 sums of each table (and its row count) are compared before the transaction commits.
 * Text keys are ordered byte by byte on both sides (SQLite's BINARY, PostgreSQL's "C").
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "pg_priv.h"
#include "pg_store.h"
#include "schema.h"

/* The tables in an order their references allow, each with its key. */
static const struct {
	const char *name, *key;
	int text_key;
} tables[] = {
	{ "customers", "id", 0 },       { "surveys", "id", 1 },
	{ "messages", "id", 0 },        { "responses", "survey_id", 1 },
	{ "suppressions", "phone", 1 }, { "idempotency", "key", 1 },
	{ "events", "seq", 0 },         { "heartbeat", "id", 0 },
};

#define FLUSH_AT (64 * 1024)

/* Appends v as one field of COPY's text format, escaped as PostgreSQL's COPY TO escapes. */
static int put_field(struct buf *b, const char *v)
{
	for (; *v; v++) {
		const char *e = NULL;

		switch (*v) {
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		case '\v':
			e = "\\v";
			break;
		default:
			break;
		}
		if (e ? buf_append(b, e, 2) < 0 : buf_append(b, v, 1) < 0)
			return -1;
	}
	return 0;
}

struct copy_ctx {
	sqlite3 *src;
	struct pg_store *dst;
	char password[200];
};

/* The table's columns in SQLite, as "a, b, c" into cols. */
static int columns_of(struct copy_ctx *c, const char *table, struct buf *cols, int *n,
		      struct gw_err *err)
{
	sqlite3_stmt *s = NULL;
	char sql[128];
	int rc;

	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT name FROM pragma_table_info('%s') ORDER BY cid", table);
	if (sqlite3_prepare_v2(c->src, sql, -1, &s, NULL) != SQLITE_OK)
		return gw_errf(err, "SQLite: %s", sqlite3_errmsg(c->src));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((*n && buf_append(cols, ", ", 2) < 0) ||
		    buf_append(cols, (const char *)sqlite3_column_text(s, 0),
			       (size_t)sqlite3_column_bytes(s, 0)) < 0) {
			sqlite3_finalize(s);
			return gw_errf(err, "out of memory");
		}
		(*n)++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE || !*n)
		return gw_errf(err, "SQLite: cannot read the columns of %s", table);
	return 0;
}

/* Streams `table` from SQLite into PostgreSQL's COPY, hashing the stream; rows in *rows. */
static int send_table(struct copy_ctx *c, const char *table, const char *key, const char *cols,
		      int ncols, struct hash_ctx *h, long long *rows, struct gw_err *err)
{
	struct buf sql, out;
	sqlite3_stmt *s = NULL;
	PGresult *r;
	int rc = -1, step;

	*rows = 0;
	buf_init(&sql, 4096);
	buf_init(&out, 64u << 20); /* flushed at FLUSH_AT: only a huge row makes it grow */
	if (buf_printf(&sql, "COPY %s (%s) FROM STDIN", table, cols) < 0)
		goto oom;
	r = PQexec(c->dst->conn, buf_cstr(&sql));
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		PQclear(r);
		pg_fail(c->dst->conn, c->dst->where, "start the copy", c->password, err);
		goto out;
	}
	PQclear(r);
	buf_reset(&sql);
	if (buf_printf(&sql, "SELECT %s FROM %s ORDER BY %s", cols, table, key) < 0)
		goto oom;
	if (sqlite3_prepare_v2(c->src, buf_cstr(&sql), -1, &s, NULL) != SQLITE_OK) {
		gw_errf(err, "SQLite: %s", sqlite3_errmsg(c->src));
		goto end_copy;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++) {
			if ((i && buf_append(&out, "\t", 1) < 0) ||
			    (sqlite3_column_type(s, i) == SQLITE_NULL ?
				     buf_append(&out, "\\N", 2) :
				     put_field(&out, (const char *)sqlite3_column_text(s, i))) < 0)
				goto oom_copy;
		}
		if (buf_append(&out, "\n", 1) < 0)
			goto oom_copy;
		(*rows)++;
		if (out.len >= FLUSH_AT) {
			hash_update(h, out.data, out.len);
			if (PQputCopyData(c->dst->conn, out.data, (int)out.len) != 1) {
				gw_errf(err, "PostgreSQL at %s: the copy of %s failed",
					c->dst->where, table);
				goto end_copy;
			}
			buf_reset(&out);
		}
	}
	if (step != SQLITE_DONE) {
		gw_errf(err, "SQLite: %s", sqlite3_errmsg(c->src));
		goto end_copy;
	}
	hash_update(h, out.data, out.len);
	if (out.len && PQputCopyData(c->dst->conn, out.data, (int)out.len) != 1) {
		gw_errf(err, "PostgreSQL at %s: the copy of %s failed", c->dst->where, table);
		goto end_copy;
	}
	rc = 0;
	goto end_copy;
oom_copy:
	gw_errf(err, "out of memory");
end_copy:
	sqlite3_finalize(s);
	PQputCopyEnd(c->dst->conn, rc == 0 ? NULL : "aborted");
	r = PQgetResult(c->dst->conn);
	if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(c->dst->conn, c->dst->where, "copy", c->password, err);
	PQclear(r);
	while ((r = PQgetResult(c->dst->conn)) != NULL)
		PQclear(r);
	goto out;
oom:
	gw_errf(err, "out of memory");
out:
	buf_release(&sql);
	buf_release(&out);
	return rc;
}

/* PostgreSQL's COPY TO of the table, in key order (text keys byte by byte), hashed. */
static int hash_copied(struct copy_ctx *c, const char *table, const char *key, int text_key,
		       const char *cols, struct hash_ctx *h, struct gw_err *err)
{
	struct buf sql;
	PGresult *r;
	char *row;
	int n, rc = 0;

	buf_init(&sql, 4096);
	if (buf_printf(&sql, "COPY (SELECT %s FROM %s ORDER BY %s%s) TO STDOUT", cols, table, key,
		       text_key ? " COLLATE \"C\"" : "") < 0) {
		buf_release(&sql);
		return gw_errf(err, "out of memory");
	}
	r = PQexec(c->dst->conn, buf_cstr(&sql));
	buf_release(&sql);
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		PQclear(r);
		return pg_fail(c->dst->conn, c->dst->where, "read the copy back", c->password, err);
	}
	PQclear(r);
	while ((n = PQgetCopyData(c->dst->conn, &row, 0)) > 0) {
		hash_update(h, row, (size_t)n);
		PQfreemem(row);
	}
	r = PQgetResult(c->dst->conn);
	if (n == -2 || PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_fail(c->dst->conn, c->dst->where, "read the copy back", c->password, err);
	PQclear(r);
	while ((r = PQgetResult(c->dst->conn)) != NULL)
		PQclear(r);
	return rc;
}

static int exec_ok(struct copy_ctx *c, const char *sql, const char *what, struct gw_err *err)
{
	return pg_exec(c->dst->conn, c->dst->where, sql, what, c->password, err);
}

/* 1 when the PostgreSQL database holds rows (a heartbeat other than the one migrations make
 * does not count either way), 0 when empty, -1 on error. */
static int target_has_rows(struct copy_ctx *c, struct gw_err *err)
{
	PGresult *r =
		PQexec(c->dst->conn,
		       "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM surveys)"
		       " + (SELECT count(*) FROM messages) + (SELECT count(*) FROM responses)"
		       " + (SELECT count(*) FROM suppressions) + (SELECT count(*) FROM idempotency)"
		       " + (SELECT count(*) FROM events)");
	int rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return pg_fail(c->dst->conn, c->dst->where, "look at the target", c->password, err);
	}
	rc = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
	PQclear(r);
	return rc;
}

static int open_source(struct copy_ctx *c, const char *path, struct gw_err *err)
{
	sqlite3_stmt *s = NULL;
	int version = -1;

	if (sqlite3_open_v2(path, &c->src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return gw_errf(err, "%s: %s", path, sqlite3_errmsg(c->src));
	sqlite3_busy_timeout(c->src, 5000);
	if (sqlite3_prepare_v2(c->src, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version != schema_version())
		return gw_errf(
			err,
			"%s has schema version %d, this gateway writes %d: start this gateway on "
			"it once (it migrates the file), then copy it",
			path, version, schema_version());
	/* one snapshot for every table */
	if (sqlite3_exec(c->src, "BEGIN; SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return gw_errf(err, "%s: %s", path, sqlite3_errmsg(c->src));
	return 0;
}

int pg_copy_from_sqlite(const char *sqlite_path, const char *url, pg_copy_report_fn report,
			void *ctx, struct gw_err *err)
{
	struct copy_ctx c = { 0 };
	int rc = -1, has;
	char where[200];

	if (pg_describe(url, where, sizeof(where), c.password, sizeof(c.password), err) < 0 ||
	    open_source(&c, sqlite_path, err) < 0 || !(c.dst = pg_store_open(url, err)))
		goto out;
	if ((has = target_has_rows(&c, err)) != 0) {
		if (has > 0)
			gw_errf(err,
				"PostgreSQL at %s already holds surveys or messages: the copy goes "
				"into an empty database only",
				c.dst->where);
		goto out;
	}
	if (exec_ok(&c, "BEGIN; DELETE FROM heartbeat", "begin", err) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		struct hash_ctx sent, back;
		uint8_t a[32], b[32];
		char hex[65];
		struct buf cols;
		long long rows = 0;
		int ncols = 0, ok;

		buf_init(&cols, 1024);
		hash_init(&sent, HASH_SHA256);
		hash_init(&back, HASH_SHA256);
		ok = columns_of(&c, tables[i].name, &cols, &ncols, err) == 0 &&
		     send_table(&c, tables[i].name, tables[i].key, buf_cstr(&cols), ncols, &sent,
				&rows, err) == 0 &&
		     hash_copied(&c, tables[i].name, tables[i].key, tables[i].text_key,
				 buf_cstr(&cols), &back, err) == 0;
		/* every init has its final, whatever failed */
		if (hash_final(&sent, a) < 0 || hash_final(&back, b) < 0) {
			if (ok)
				gw_errf(err, "cannot compute the checksums");
			ok = 0;
		}
		if (!ok) {
			buf_release(&cols);
			goto rollback;
		}
		buf_release(&cols);
		if (memcmp(a, b, sizeof(a)) != 0) {
			gw_errf(err,
				"%s: what PostgreSQL holds differs from what was sent; nothing "
				"was kept",
				tables[i].name);
			goto rollback;
		}
		hex_encode(a, sizeof(a), hex);
		if (report)
			report(ctx, tables[i].name, rows, hex);
	}
	/* the identities go on after the copied ids */
	if (exec_ok(&c,
		    "SELECT setval(pg_get_serial_sequence('customers', 'id'),"
		    "  coalesce((SELECT max(id) FROM customers), 0) + 1, false);"
		    "SELECT setval(pg_get_serial_sequence('messages', 'id'),"
		    "  coalesce((SELECT max(id) FROM messages), 0) + 1, false);"
		    "SELECT setval(pg_get_serial_sequence('events', 'seq'),"
		    "  coalesce((SELECT max(seq) FROM events), 0) + 1, false);"
		    "COMMIT",
		    "commit", err) == 0) {
		rc = 0;
		goto out;
	}
rollback:
	PQclear(PQexec(c.dst->conn, "ROLLBACK"));
out:
	memset(c.password, 0, sizeof(c.password));
	pg_store_close(c.dst);
	if (c.src)
		sqlite3_close(c.src);
	return rc;
}
