/*
 * gen_responses.c - fills a gateway database with answered surveys, for `make bench`'s export.
 *
 *	gen_responses DB N
 *
 * DB must already hold the gateway's schema (the benchmark runs `gateway export` on it once,
 * which creates it) and no surveys.  Adds N answered surveys, one response each, for N/10
 * customers, spread over the year before now and written in the order they were answered, as a
 * gateway would have: the three kinds and channels, scores in each kind's scale, comments empty
 * or with commas and quotes (CSV quoting), ids and names starting with '=' or '+' now and then
 * (the formula guard).
 *
 * This is test scaffolding, so it writes SQL itself; the columns it fills are the ones migration
 * 1 made NOT NULL without a default, plus what the export reads.  One transaction, no journal
 * and no fsync: the data is made to be read, and regenerated when lost.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CUSTOMERS_PER_SURVEY 10
#define YEAR_S (365 * 86400)

static const char *const kinds[] = { "nps", "ces", "csat" };
static const int kind_max[] = { 10, 7, 5 };
static const int kind_min[] = { 0, 1, 1 };
static const char *const channels[] = { "sms", "whatsapp" };
static const char *const locales[] = { "es", "pt", "en" };
static const char *const touchpoints[] = { "support_chat", "phone", "email", "=HYPERLINK(1)" };
static const char *const comments[] = {
	"", "", "", "muy amables", "el pedido 12345 llegó tarde, \"otra vez\"", "todo bien",
	"rápido y claro", "", "-no volveré", "nada que añadir",
};

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	fprintf(stderr, "gen_responses: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(db, sql, -1, s, NULL) == SQLITE_OK)
		return 0;
	fprintf(stderr, "gen_responses: %s: %s\n", sql, sqlite3_errmsg(db));
	return -1;
}

/* Steps and resets `s`; -1 with a message on failure. */
static int step(sqlite3 *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	fprintf(stderr, "gen_responses: %s\n", sqlite3_errmsg(db));
	return -1;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static int insert_customers(sqlite3 *db, long n, int64_t t0)
{
	sqlite3_stmt *s = NULL;
	char ext[32], phone[32], name[32];
	int rc = -1;

	if (prepare(db, "INSERT INTO customers (id, ext_id, phone, name, locale, created_at,"
		    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", &s) < 0)
		goto out;
	for (long i = 1; i <= n; i++) {
		/* every 97th customer id looks like a formula, to exercise the CSV guard */
		snprintf(ext, sizeof(ext), i % 97 ? "cust-%ld" : "=cust-%ld", i);
		snprintf(phone, sizeof(phone), "+34600%07ld", i);
		snprintf(name, sizeof(name), "Cliente %ld", i);
		sqlite3_bind_int64(s, 1, i);
		bind_text(s, 2, ext);
		bind_text(s, 3, phone);
		bind_text(s, 4, name);
		bind_text(s, 5, locales[i % 3]);
		sqlite3_bind_int64(s, 6, t0);
		if (step(db, s) < 0)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	return rc;
}

/* Survey i (0-based) of n, answered at t0 + i * YEAR_S / n, with its response. */
static int insert_surveys(sqlite3 *db, long n, long customers, int64_t t0)
{
	sqlite3_stmt *s = NULL, *r = NULL;
	char id[48], interaction[32], phone[32], agent[32];
	int rc = -1;

	if (prepare(db, "INSERT INTO surveys (id, customer_id, phone, name, locale, kind, channel,"
		    " provider, interaction_id, touchpoint, agent, opened_at, closed_at, status,"
		    " created_at, send_after, sent_at, delivered_at, answered_at, expires_at,"
		    " attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'twilio', ?8, ?9, ?10,"
		    " '2026-01-01T10:00:00Z', '2026-01-01T10:12:30Z', 'answered', ?11, ?11, ?12,"
		    " ?12, ?13, ?14, 1)", &s) < 0 ||
	    prepare(db, "INSERT INTO responses (survey_id, score, comment, raw_text, answered_at)"
		    " VALUES (?1, ?2, ?3, ?4, ?5)", &r) < 0)
		goto out;
	for (long i = 0; i < n; i++) {
		long c = i % customers + 1;
		int k = (int)(i % 3);
		int score = kind_min[k] + (int)((i / 3) % (kind_max[k] - kind_min[k] + 1));
		int64_t answered = t0 + (int64_t)i * YEAR_S / n;
		const char *comment = comments[i % (sizeof(comments) / sizeof(comments[0]))];
		char raw[160], name[32];

		snprintf(id, sizeof(id), "%08lx-0000-4000-8000-%012lx", i, c);
		snprintf(interaction, sizeof(interaction), "chat-%ld", i);
		snprintf(phone, sizeof(phone), "+34600%07ld", c);
		snprintf(agent, sizeof(agent), "agent-%ld", i % 50);
		snprintf(name, sizeof(name), "Cliente %ld", c);
		snprintf(raw, sizeof(raw), "%d %s", score, comment);
		bind_text(s, 1, id);
		sqlite3_bind_int64(s, 2, c);
		bind_text(s, 3, phone);
		bind_text(s, 4, name);
		bind_text(s, 5, locales[c % 3]);
		bind_text(s, 6, kinds[k]);
		bind_text(s, 7, channels[(i / 3) % 2]);
		bind_text(s, 8, interaction);
		bind_text(s, 9, touchpoints[i % 4]);
		bind_text(s, 10, agent);
		sqlite3_bind_int64(s, 11, answered - 900);
		sqlite3_bind_int64(s, 12, answered - 600);
		sqlite3_bind_int64(s, 13, answered);
		sqlite3_bind_int64(s, 14, answered - 600 + 48 * 3600);
		bind_text(r, 1, id);
		sqlite3_bind_int(r, 2, score);
		bind_text(r, 3, comment);
		bind_text(r, 4, raw);
		sqlite3_bind_int64(r, 5, answered);
		if (step(db, s) < 0 || step(db, r) < 0)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(r);
	sqlite3_finalize(s);
	return rc;
}

int main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	char *end;
	long n, customers;
	int64_t t0 = (int64_t)time(NULL) - YEAR_S;
	int rc = 1;

	if (argc != 3 || (n = strtol(argv[2], &end, 10)) <= 0 || *end) {
		fprintf(stderr, "usage: gen_responses DB N\n");
		return 2;
	}
	customers = n / CUSTOMERS_PER_SURVEY > 0 ? n / CUSTOMERS_PER_SURVEY : 1;
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fprintf(stderr, "gen_responses: %s: %s\n", argv[1], db ? sqlite3_errmsg(db) : "?");
		goto out;
	}
	/* The gateway keeps the file in WAL mode; a million rows in one WAL transaction would first
	 * be written to the WAL and then copied again, so switch it off for the load and back. */
	if (exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
		 " PRAGMA cache_size = -65536; PRAGMA foreign_keys = OFF") < 0 ||
	    exec(db, "BEGIN") < 0 ||
	    insert_customers(db, customers, t0) < 0 ||
	    insert_surveys(db, n, customers, t0) < 0 ||
	    exec(db, "COMMIT") < 0 ||
	    exec(db, "PRAGMA journal_mode = WAL") < 0)
		goto out;
	rc = 0;
out:
	sqlite3_close(db);
	return rc;
}
