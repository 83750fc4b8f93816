/* unit.c - see unit.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"

/* The whole fixture `name` as a malloc'd NUL-terminated string; its length in *len. */
char *fixture_read(const char *name, size_t *len)
{
	const char *dir = getenv("FIXTURES");
	char path[512];
	FILE *f;
	long size;
	char *s;

	if (!dir || !*dir)
		dir = "tests/fixtures";
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
	if (!(f = fopen(path, "rb")))
		fail_msg("%s: cannot open (set FIXTURES to the fixtures directory)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	s = malloc((size_t)size + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)size, f), (size_t)size);
	s[size] = '\0';
	fclose(f);
	*len = (size_t)size;
	return s;
}

int temp_store_make(struct temp_store *t, const char *name, const char *db)
{
	t->on_pg = 0;
	snprintf(t->dir, sizeof(t->dir), "/tmp/%s.XXXXXX", name);
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, db);
	return 0;
}

int temp_store_on_postgres(void)
{
	const char *b = getenv("GATEWAY_TEST_BACKEND");

	return b && strcmp(b, "postgres") == 0;
}

struct store *temp_store_reopen(struct temp_store *t, struct gw_err *err)
{
	if (!temp_store_on_postgres())
		return store_open(t->path, err);
	if (!t->on_pg) {
		pg_test_db_create(&t->pg);
		t->on_pg = 1;
	}
	return store_open_backend("postgres", NULL, t->pg.url, err);
}

int temp_store_open(struct temp_store *t, const char *name, const char *db)
{
	struct gw_err err = { 0 };

	if (temp_store_make(t, name, db) < 0)
		return -1;
	if (!(t->st = temp_store_reopen(t, &err))) {
		print_message("store_open(%s): %s\n", t->on_pg ? t->pg.name : t->path, err.msg);
		temp_store_remove(t);
		return -1;
	}
	return 0;
}

static void query_sqlite(const char *path, const char *sql, char *out, size_t n, int *is_null)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("%s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		print_message("prepare \"%s\": %s\n", sql, sqlite3_errmsg(db));
		sqlite3_close(db);
		fail();
	}
	*is_null = sqlite3_step(s) != SQLITE_ROW || sqlite3_column_type(s, 0) == SQLITE_NULL;
	if (!*is_null)
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void query_pg(const struct pg_test_db *db, const char *sql, char *out, size_t n,
		     int *is_null)
{
	PGconn *c = PQconnectdb(db->url);
	PGresult *r = NULL;
	char msg[512];

	if (PQstatus(c) != CONNECTION_OK)
		goto fail;
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		goto fail;
	*is_null = PQntuples(r) == 0 || PQgetisnull(r, 0, 0);
	if (!*is_null)
		snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return;
fail:
	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	fail_msg("PostgreSQL \"%s\": %s", sql, msg);
}

void temp_store_query(struct temp_store *t, const char *sql, char *out, size_t n, int *is_null)
{
	int null = 1;

	if (t->on_pg)
		query_pg(&t->pg, sql, out, n, &null);
	else
		query_sqlite(t->path, sql, out, n, &null);
	if (null)
		snprintf(out, n, "(null)");
	if (is_null)
		*is_null = null;
}

void temp_store_exec(struct temp_store *t, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	if (t->on_pg) {
		pg_test_exec(&t->pg, sql);
		return;
	}
	if (sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		fail_msg("%s: %s", t->path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		print_message("\"%s\": %s\n", sql, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_close(db);
		fail();
	}
	sqlite3_close(db);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

void temp_store_remove(struct temp_store *t)
{
	store_close(t->st);
	t->st = NULL;
	nftw(t->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (t->on_pg)
		pg_test_db_drop(&t->pg);
	t->on_pg = 0;
}

int temp_store_setup(void **state, const char *name, const char *db, int open)
{
	struct temp_store *t = calloc(1, sizeof(*t));
	int rc;

	*state = NULL;
	if (!t)
		return -1;
	rc = open ? temp_store_open(t, name, db) : temp_store_make(t, name, db);
	if (rc < 0) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

int temp_store_teardown(void **state)
{
	struct temp_store *t = *state;

	if (t)
		temp_store_remove(t);
	free(t);
	return 0;
}

void new_survey_init(struct new_survey *n, const char *id, int64_t now)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->interaction, sizeof(n->interaction), "chat-%s", id);
	n->sn.id = id;
	n->sn.customer_id = "cust-42";
	n->sn.phone = "+34600111222";
	n->sn.name = "Ana";
	n->sn.locale = "es";
	n->sn.kind = "nps";
	n->sn.channel = "sms";
	n->sn.provider = "twilio";
	n->sn.interaction_id = n->interaction;
	n->sn.touchpoint = "support_chat";
	n->sn.agent = "agent-7";
	n->sn.now = now;
	n->sn.send_after = now;
	n->sn.expires_at = now + 2 * 86400;
	n->sn.question = "Del 0 al 10, ¿nos recomendarías?";
}
