/*
 * harness.h - what an end-to-end test needs to drive build/gateway from the outside: a free
 * loopback port, a private temp dir, a generated config, the gateway as a child process, an HTTP
 * client, and a way to prove that the SQLite file did (or did not) change.
 *
 * Invariants:
 *  - Every child started with harness_gw_start() is either stopped with harness_gw_stop() or
 *    killed at exit (atexit) and, should the test process die without running atexit handlers,
 *    by the kernel (PR_SET_PDEATHSIG).  A failing test never leaves a gateway running.
 *  - Temp dirs live under /tmp and are removed by harness_tmpdir_remove(), or at exit when a test
 *    bailed out before its teardown.  Set E2E_KEEP_TMP=1 to keep them for a post-mortem.
 *  - The gateway sees the test's environment minus every GATEWAY_* variable (so a stray override
 *    in the shell cannot change the generated config), plus the caller's extra variables.
 *
 * Errors: functions return 0 (or a value >= 0) on success and -1 on failure, after printing one
 * line that says what failed to stderr, so a test only needs to assert on the return value.
 */
#ifndef GW_TESTS_HARNESS_H
#define GW_TESTS_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#define HARNESS_PATH_LEN 512

/* The credentials the generated config holds; tests use the same constants to speak as the API
 * client and as Twilio. */
#define HARNESS_API_KEY       "e2e-key-1"
#define HARNESS_API_KEY_2     "e2e-key-2"
#define HARNESS_TWILIO_SID    "AC0123456789abcdef0123456789abcdef"
#define HARNESS_TWILIO_TOKEN  "5f1d2c3b4a5968778695a4b3c2d1e0f0"
#define HARNESS_TWILIO_FROM   "+15005550006"

/* Process-wide set-up: curl_global_init() and the atexit() reaper.  Call once before anything
 * else (a cmocka group setup); harness_global_cleanup() undoes it. */
int harness_global_init(void);
void harness_global_cleanup(void);

/* Milliseconds on the monotonic clock, and a sleep that resumes after signals. */
long long harness_now_ms(void);
void harness_sleep_ms(int ms);

/* A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released), or -1. */
int harness_free_port(void);

/* Creates a fresh directory /tmp/gw-e2e-XXXXXX and writes its path to `out` (`len` bytes). */
int harness_tmpdir_create(char *out, size_t len);
/* Removes `dir` and everything under it (without following symlinks); forgets it for the exit
 * reaper.  Keeps it, and says where, when E2E_KEEP_TMP is set. */
int harness_tmpdir_remove(const char *dir);

/* Reads a whole file into a NUL-terminated malloc'd string (caller frees with free()).  Fails when
 * the file is larger than `cap` bytes.  `len` (may be NULL) receives the length. */
char *harness_read_file(const char *path, size_t cap, size_t *len);

/* 1 when GATEWAY_TEST_BACKEND=postgres: the gateways the harness configures keep their data in
 * PostgreSQL (below). */
int harness_on_postgres(void);

/* What harness_write_config() puts before a PostgreSQL database's connection string in db_out. */
#define HARNESS_PG_PREFIX "postgres:"

/*
 * With GATEWAY_TEST_BACKEND=postgres in the test's environment, the generated config puts the
 * store on PostgreSQL instead: a database of its own on the test server (GATEWAY_TEST_PG_URL,
 * tests/support/pg_test.h), the same one for every config written into one DIR, and db_out is
 * HARNESS_PG_PREFIX and its connection string, which db_snapshot() and the harness_db_count_*()
 * functions read as they read a SQLite file.  There a gateway started again cannot tell the sends
 * its killed predecessor had claimed from those of a live instance: they become uncertain when
 * their lease ends, so the config sets [dispatch] send_lease = 3s.
 *
 * Writes DIR/gateway.conf (mode 0600) for a gateway listening on 127.0.0.1:gw_port with its
 * database at DIR/gateway.db, sending SMS through Twilio at http://127.0.0.1:twilio_port (no
 * trailing slash: the gateway refuses one) with the HARNESS_TWILIO_* credentials, unpaced, with
 * fatigue and quiet hours off and a 100 ms first retry backoff.  `extra` (may be NULL) is appended
 * verbatim after the last section ([dispatch]); to change a [survey] key use
 * harness_write_config_opts(), any other key that is already written with an env override to
 * harness_gw_start().  The config's path goes to `conf_out` and the
 * database's to `db_out` (HARNESS_PATH_LEN bytes each).
 */
int harness_write_config(const char *dir, int gw_port, int twilio_port, const char *extra,
			 char *conf_out, char *db_out);

/* What harness_write_config_opts() writes differently.  Every member may be NULL: the value
 * harness_write_config() writes is kept. */
struct harness_config {
	const char *expire_after;       /* [survey] expire_after, default 48h */
	const char *min_days_between;   /* [survey] min_days_between, default 0 (fatigue off) */
	const char *quiet_hours;        /* [survey] quiet_hours, default off */
	const char *timezone;           /* [survey] timezone, default Europe/Madrid */
	const char *survey_extra;       /* more "key = value\n" lines at the end of [survey] */
	const char *sms, *whatsapp;     /* [channels], default twilio and console */
	const char *retry_base;         /* [dispatch] retry_base, default 100ms */
	const char *extra;              /* appended verbatim after the last section, [dispatch] */
};

/* harness_write_config() with the [survey] values of `hc` (NULL: all defaults). */
int harness_write_config_opts(const char *dir, int gw_port, int twilio_port,
			      const struct harness_config *hc, char *conf_out, char *db_out);

/*
 * The gateway's fake clock: a file holding "now" as decimal Unix seconds, named to the gateway by
 * GATEWAY_FAKE_CLOCK.  Writes `unix_s` to a temp file next to `path`, then renames it over `path`,
 * so the gateway, which reads the file whenever it needs the time, never sees half a number.
 */
int harness_clock_set(const char *path, long long unix_s);

/* One gateway child process. */
struct harness_gw {
	pid_t pid;                      /* 0 when not running */
	int port;
	char base_url[64];              /* "http://127.0.0.1:PORT", no trailing slash */
	char log_path[HARNESS_PATH_LEN];
};

/*
 * Runs `$GATEWAY_BIN serve -c conf` (default build/gateway) with stdin from /dev/null and
 * stdout+stderr to DIR/gateway.log, `env` (NULL or a NULL-terminated list of "KEY=VALUE") added to
 * its environment, and waits up to 10 s until GET /healthz on `port` answers 200.  On failure the
 * child is killed, the log's tail is printed and -1 is returned; `gw` is then not running.
 */
int harness_gw_start(struct harness_gw *gw, const char *dir, const char *conf, int port,
		     const char *const *env);

/*
 * Stops the gateway: SIGTERM, up to 10 s for it to exit, then SIGKILL.  Returns its exit code
 * (0-255), 128 + the signal number when a signal ended it (or SIGKILL had to), or -1 when it was
 * not running.  Safe to call twice.
 */
int harness_gw_stop(struct harness_gw *gw);

/* Prints the last `max_bytes` of the gateway's log to stderr, framed so it stands out. */
void harness_gw_print_log(const struct harness_gw *gw, size_t max_bytes);

/* 1 when one line of the gateway's log contains every string of `needles` (NULL-terminated), 0
 * when no line does, -1 when the log cannot be read. */
int harness_gw_log_has_line(const struct harness_gw *gw, const char *const *needles);

/* What an HTTP call answered.  `body` is NUL-terminated (and never NULL after a successful call);
 * `content_type` is "" when the answer had none.  Release with harness_http_release(). */
struct harness_http_resp {
	long status;
	char *body;
	size_t len;
	char content_type[128];
};

#define HARNESS_HTTP_BODY_CAP (8u << 20)

/*
 * One HTTP request with libcurl: `method` ("GET", "POST", ...), `url`, `headers` (NULL or a
 * NULL-terminated list of "Name: value"), `body` of `body_len` bytes (NULL for none).  Never uses a
 * proxy, gives up after 10 s.  Returns 0 when an answer arrived, whatever its status; -1 when the
 * transfer failed (connection refused, timeout, answer larger than HARNESS_HTTP_BODY_CAP).
 */
int harness_http(const char *method, const char *url, const char *const *headers,
		 const char *body, size_t body_len, struct harness_http_resp *out);
void harness_http_release(struct harness_http_resp *r);

/*
 * Every row of every user table of the SQLite database at `path`, read in one read transaction
 * through a read-only connection, as text: tables by name, rows by rowid (primary key order for
 * WITHOUT ROWID tables), every column with its name and type-tagged value.  Two snapshots are
 * equal (strcmp) exactly when the stored data is.  Caller frees with free(); NULL on error.
 */
char *db_snapshot(const char *path);

/* The number of rows, over every user table of the database at `path`, that hold a column whose
 * text (or blob) is exactly `value` -- a way to count what was stored about a message id without
 * knowing the schema.  -1 on error. */
long harness_db_count_value(const char *path, const char *value);

/* The number of rows, over the user tables of the database at `path` whose name contains
 * `table_part` (ASCII case-insensitive; NULL: every table), that hold a text (or blob) column
 * containing `needle` -- e.g. the rows of any "suppressions" table that mention a phone number.
 * -1 on error. */
long harness_db_count_mentions(const char *path, const char *table_part, const char *needle);

#endif
