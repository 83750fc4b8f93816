/*
 * test_e2e_postgres.c - build/gateway on PostgreSQL when the database itself fails.
 *
 * Always on PostgreSQL (the test server of GATEWAY_TEST_PG_URL, a database of its own per test):
 *  - a server that cannot be reached, or that refuses the login, at start: the gateway exits
 *    non-zero with one line naming the server and the reason, never the password;
 *  - the server stopped under load and started again (the cluster of GATEWAY_TEST_PG_DIR, which
 *    `make check` starts; skipped with a message when the tests use a server of their own): while
 *    it is away triggers answer 503 and GET /healthz 503; every trigger answered 2xx before,
 *    during or after is a survey; once the server is back the gateway opens its connections
 *    again by itself and takes triggers without a restart.
 *
 * Environment: GATEWAY_BIN, FIXTURES (e2e.h), GATEWAY_TEST_PG_URL, GATEWAY_TEST_PG_DIR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/e2e.h"
#include "support/harness.h"
#include "support/pg_test.h"

#define PASSWORD "s3cret-Pw-9f2"
#define LOADERS 3
#define MAX_ACKED 20000

/* ---- a gateway that must not start ---- */

/* Runs `$GATEWAY_BIN serve -c conf` with its output into `log`, and waits (at most 20 s) for it
 * to exit: its exit code, or -1 when it had to be killed. */
static int run_to_exit(const char *conf, const char *log)
{
	const char *bin = getenv("GATEWAY_BIN");
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(bin && bin[0] ? bin : "build/gateway", "gateway", "serve", "-c", conf,
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		harness_sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* The test server's socket folder and port, as libpq reads GATEWAY_TEST_PG_URL. */
static void test_server(char *host, size_t hn, char *port, size_t pn)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(getenv("GATEWAY_TEST_PG_URL"), &msg);

	assert_non_null(opts);
	snprintf(host, hn, "/tmp");
	snprintf(port, pn, "5432");
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val && strcmp(o->keyword, "host") == 0)
			snprintf(host, hn, "%s", o->val);
		if (o->val && strcmp(o->keyword, "port") == 0)
			snprintf(port, pn, "%s", o->val);
	}
	PQconninfoFree(opts);
}

struct start_fault {
	const char *what;
	const char *url_fmt; /* %1$s: the test server's socket folder, %2$s: its port */
	const char *names;   /* what the line must name */
	const char *reason;  /* and the reason it must give */
};

static const struct start_fault start_faults[] = {
	{ "a port nobody listens on", "postgresql://gateway:" PASSWORD "@127.0.0.1:1/surveys",
	  "127.0.0.1:1/surveys", "refused" },
	{ "an unknown role",
	  "host=%1$s port=%2$s dbname=postgres user=nosuchrole password=" PASSWORD, "/postgres",
	  "nosuchrole" },
	{ "an unknown database",
	  "host=%1$s port=%2$s dbname=nosuchdb user=gateway password=" PASSWORD, "/nosuchdb",
	  "nosuchdb" },
};

static void test_a_database_that_refuses_at_start_stops_the_gateway(void **state)
{
	char dir[HARNESS_PATH_LEN], conf[HARNESS_PATH_LEN + 16], log[HARNESS_PATH_LEN + 16];
	char host[256], port[16], url[600];

	(void)state;
	test_server(host, sizeof(host), port, sizeof(port));
	assert_int_equal(harness_tmpdir_create(dir, sizeof(dir)), 0);
	snprintf(conf, sizeof(conf), "%s/gateway.conf", dir);
	snprintf(log, sizeof(log), "%s/gateway.log", dir);
	for (size_t i = 0; i < sizeof(start_faults) / sizeof(start_faults[0]); i++) {
		const struct start_fault *f = &start_faults[i];
		FILE *c = fopen(conf, "w");
		char *out;
		int code;

		snprintf(url, sizeof(url), f->url_fmt, host, port);
		assert_non_null(c);
		fprintf(c,
			"[server]\nlisten = 127.0.0.1:%d\napi_keys = k\n[store]\nbackend = postgres\n"
			"url = %s\n",
			harness_free_port(), url);
		assert_int_equal(fclose(c), 0);
		assert_int_equal(chmod(conf, 0600), 0);
		code = run_to_exit(conf, log);
		out = harness_read_file(log, 1 << 20, NULL);
		assert_non_null(out);
		fprintf(stderr, "%s: exit %d: %s", f->what, code, out);
		if (code <= 0)
			fail_msg("%s: the gateway exited %d, want non-zero", f->what, code);
		if (!strstr(out, f->names) || !strstr(out, f->reason))
			fail_msg("%s: want a line naming \"%s\" and \"%s\": %s", f->what, f->names,
				 f->reason, out);
		if (strstr(out, PASSWORD))
			fail_msg("%s: the password is in the output: %s", f->what, out);
		free(out);
	}
	harness_tmpdir_remove(dir);
}

/* ---- the server stopped and started under load ---- */

struct load {
	struct e2e *e;
	int stop; /* set by the test: the loaders finish */
	pthread_mutex_t lock;
	char (*acked)[48]; /* ids of the surveys answered 2xx */
	size_t n_acked, n_refused, n_other;
	char other[300]; /* the first answer that was neither 2xx nor 503 */
	unsigned seq;
};

static void *loader(void *arg)
{
	struct load *l = arg;

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		struct harness_http_resp r;
		char url[128], body[512];
		const char *hdr[] = { "Authorization: Bearer " HARNESS_API_KEY,
				      "Content-Type: application/json", NULL };
		unsigned n;

		pthread_mutex_lock(&l->lock);
		n = ++l->seq;
		pthread_mutex_unlock(&l->lock);
		snprintf(url, sizeof(url), "%s/v1/surveys", l->e->gw.base_url);
		snprintf(
			body, sizeof(body),
			"{\"customer\": {\"id\": \"c-%u\", \"phone\": \"+3460%07u\"},"
			" \"kind\": \"nps\", \"channel\": \"sms\", \"interaction\": {\"id\": \"i-%u\"},"
			" \"delay_seconds\": 3600}",
			n, n, n);
		if (harness_http("POST", url, hdr, body, strlen(body), &r) < 0) {
			harness_sleep_ms(20);
			continue;
		}
		pthread_mutex_lock(&l->lock);
		if (r.status == 200 || r.status == 202) {
			json_t *j = json_loads(r.body, 0, NULL);
			const char *id = json_string_value(json_object_get(j, "id"));

			if (id && l->n_acked < MAX_ACKED)
				snprintf(l->acked[l->n_acked++], sizeof(l->acked[0]), "%s", id);
			json_decref(j);
		} else if (r.status == 503) {
			l->n_refused++;
		} else if (!l->n_other++) {
			snprintf(l->other, sizeof(l->other), "%ld %.200s", r.status, r.body);
		}
		pthread_mutex_unlock(&l->lock);
		harness_http_release(&r);
		if (r.status == 503)
			harness_sleep_ms(20);
	}
	return NULL;
}

/* GET /healthz until it answers `want` (at most `ms`); the milliseconds it took. */
static long long healthz_until(struct e2e *e, long want, int ms)
{
	long long start = harness_now_ms();

	for (;;) {
		struct harness_http_resp r;
		long status;

		api(e, "GET", "/healthz", NULL, NULL, NULL, 0, &r);
		status = r.status;
		harness_http_release(&r);
		if (status == want)
			return harness_now_ms() - start;
		if (harness_now_ms() - start > ms)
			fail_msg("GET /healthz still %ld after %d ms, want %ld", status, ms, want);
		harness_sleep_ms(50);
	}
}

static size_t acked_now(struct load *l)
{
	size_t n;

	pthread_mutex_lock(&l->lock);
	n = l->n_acked;
	pthread_mutex_unlock(&l->lock);
	return n;
}

static void cluster(const char *verb)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "bash tools/pg-cluster.sh %s '%s' > /dev/null", verb,
		 getenv("GATEWAY_TEST_PG_DIR"));
	if (system(cmd) != 0)
		fail_msg("%s", cmd);
}

static void test_the_database_stopped_under_load_loses_nothing(void **state)
{
	struct e2e *e;
	struct load l = { 0 };
	pthread_t t[LOADERS];
	size_t before, during, after;
	long long down_ms, up_ms;
	struct pg_test_db db = { 0 };
	char got[32];

	(void)state;
	if (!getenv("GATEWAY_TEST_PG_DIR") || !getenv("GATEWAY_TEST_PG_DIR")[0]) {
		fprintf(stderr, "skipped: GATEWAY_TEST_PG_DIR is unset (a server of your own: this "
				"test stops and starts the test cluster)\n");
		skip();
	}
	assert_non_null(e = e2e_start(NULL, 0));
	assert_non_null(l.acked = calloc(MAX_ACKED, sizeof(*l.acked)));
	l.e = e;
	pthread_mutex_init(&l.lock, NULL);
	for (int i = 0; i < LOADERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, loader, &l), 0);
	harness_sleep_ms(1000);
	before = acked_now(&l);

	cluster("halt");
	down_ms = healthz_until(e, 503, 5000);
	harness_sleep_ms(1500);
	during = acked_now(&l);
	cluster("start");
	up_ms = healthz_until(e, 200, 15000);
	harness_sleep_ms(1000);
	__atomic_store_n(&l.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < LOADERS; i++)
		pthread_join(t[i], NULL);
	after = l.n_acked;

	fprintf(stderr,
		"triggers answered 2xx: %zu before the stop, %zu by the start, %zu in all; 503: %zu;"
		" /healthz 503 %lld ms after the stop, 200 %lld ms after the start\n",
		before, during, after, l.n_refused, down_ms, up_ms);
	if (l.n_other)
		fail_msg("%zu answers were neither 2xx nor 503, the first: %s", l.n_other, l.other);
	assert_true(before > 0);
	assert_true(l.n_refused > 0); /* the stop was seen */
	assert_true(after > during);  /* intake resumed by itself */
	for (size_t i = 0; i < after; i++)
		json_decref(survey_get(e, l.acked[i]));
	snprintf(db.url, sizeof(db.url), "%s", e->db + strlen(HARNESS_PG_PREFIX));
	/* More only when a commit in flight as the server stopped was kept after all (its
	 * trigger answered 503: retried, it answers 200 with that survey). */
	pg_test_query(&db, "SELECT count(*) FROM surveys", got, sizeof(got));
	fprintf(stderr, "surveys in the database: %s\n", got);
	assert_true(strtoll(got, NULL, 10) >= (long long)after);

	free(l.acked);
	pthread_mutex_destroy(&l.lock);
	e->passed = 1;
	*state = e;
}

static int teardown(void **state)
{
	return *state ? e2e_teardown(state) : 0;
}

static int clear(void **state)
{
	*state = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_a_database_that_refuses_at_start_stops_the_gateway, clear, teardown),
		cmocka_unit_test_setup_teardown(test_the_database_stopped_under_load_loses_nothing,
						clear, teardown),
	};

	setenv("GATEWAY_TEST_BACKEND", "postgres", 1);
	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
