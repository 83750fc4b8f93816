/* harness.c - see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "pg_test.h"

extern char **environ;

#define REAPER_SLOTS 32
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000
#define SNAPSHOT_CAP (64u << 20)

/*
 * What must not outlive the test process: gateway children and temp dirs.  This is the one piece
 * of process-wide state, because atexit() handlers take no argument; everything else lives in the
 * caller's structs.  Only the test's main thread touches it.
 */
static struct {
	pid_t pids[REAPER_SLOTS];
	char dirs[REAPER_SLOTS][HARNESS_PATH_LEN];
	int installed;
} reaper;

static void reaper_add_pid(pid_t pid)
{
	for (int i = 0; i < REAPER_SLOTS; i++) {
		if (reaper.pids[i] == 0) {
			reaper.pids[i] = pid;
			return;
		}
	}
	fprintf(stderr, "harness: more than %d live children; pid %d not tracked\n",
		REAPER_SLOTS, (int)pid);
}

static void reaper_del_pid(pid_t pid)
{
	for (int i = 0; i < REAPER_SLOTS; i++)
		if (reaper.pids[i] == pid)
			reaper.pids[i] = 0;
}

static void reaper_add_dir(const char *dir)
{
	for (int i = 0; i < REAPER_SLOTS; i++) {
		if (reaper.dirs[i][0] == '\0') {
			snprintf(reaper.dirs[i], HARNESS_PATH_LEN, "%s", dir);
			return;
		}
	}
}

static void reaper_del_dir(const char *dir)
{
	for (int i = 0; i < REAPER_SLOTS; i++)
		if (strcmp(reaper.dirs[i], dir) == 0)
			reaper.dirs[i][0] = '\0';
}

/* atexit: kill what a failed test left behind, then remove its temp dirs. */
static void reaper_run(void)
{
	for (int i = 0; i < REAPER_SLOTS; i++) {
		if (reaper.pids[i] > 0) {
			kill(reaper.pids[i], SIGKILL);
			waitpid(reaper.pids[i], NULL, 0);
			reaper.pids[i] = 0;
		}
	}
	for (int i = 0; i < REAPER_SLOTS; i++)
		if (reaper.dirs[i][0])
			harness_tmpdir_remove(reaper.dirs[i]);
}

int harness_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "harness: curl_global_init failed\n");
		return -1;
	}
	if (!reaper.installed) {
		if (atexit(reaper_run) != 0) {
			fprintf(stderr, "harness: atexit failed\n");
			return -1;
		}
		reaper.installed = 1;
	}
	return 0;
}

void harness_global_cleanup(void)
{
	reaper_run();
	curl_global_cleanup();
}

long long harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int harness_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd, port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto out;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		goto out;
	port = ntohs(sa.sin_port);
out:
	if (port < 0)
		fprintf(stderr, "harness: no free port: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	return port;
}

int harness_tmpdir_create(char *out, size_t len)
{
	char tmpl[] = "/tmp/gw-e2e-XXXXXX";

	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(out, len, "%s", tmpl) >= len) {
		rmdir(tmpl);
		fprintf(stderr, "harness: temp dir path does not fit\n");
		return -1;
	}
	reaper_add_dir(out);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0)
		fprintf(stderr, "harness: remove %s: %s\n", path, strerror(errno));
	return 0;
}

int harness_tmpdir_remove(const char *dir)
{
	char copy[HARNESS_PATH_LEN];
	const char *keep = getenv("E2E_KEEP_TMP");

	/* `dir` may be the reaper's own slot, which reaper_del_dir() clears. */
	snprintf(copy, sizeof(copy), "%s", dir);
	reaper_del_dir(copy);
	if (strncmp(copy, "/tmp/gw-e2e-", 12) != 0) {
		fprintf(stderr, "harness: refusing to remove %s\n", copy);
		return -1;
	}
	if (keep && *keep && strcmp(keep, "0") != 0) {
		fprintf(stderr, "harness: keeping %s (E2E_KEEP_TMP)\n", copy);
		return 0;
	}
	if (nftw(copy, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		fprintf(stderr, "harness: nftw %s: %s\n", copy, strerror(errno));
		return -1;
	}
	return 0;
}

char *harness_read_file(const char *path, size_t cap, size_t *len)
{
	struct buf b;
	char chunk[4096];
	char *res = NULL;
	size_t n;
	FILE *f;

	buf_init(&b, cap + 1);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "harness: open %s: %s\n", path, strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n) < 0) {
			fprintf(stderr, "harness: %s is larger than %zu bytes\n", path, cap);
			goto out;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "harness: read %s failed\n", path);
		goto out;
	}
	res = buf_detach(&b, len);
out:
	if (f)
		fclose(f);
	buf_release(&b);
	return res;
}

int harness_write_config(const char *dir, int gw_port, int twilio_port, const char *extra,
			 char *conf_out, char *db_out)
{
	const struct harness_config hc = { .extra = extra };

	return harness_write_config_opts(dir, gw_port, twilio_port, &hc, conf_out, db_out);
}

/* `v` unless NULL, else `def`. */
static const char *or_default(const char *v, const char *def)
{
	return v ? v : def;
}

int harness_on_postgres(void)
{
	const char *b = getenv("GATEWAY_TEST_BACKEND");

	return b && strcmp(b, "postgres") == 0;
}

/* The PostgreSQL database of the configs written into `dir` (DIR/postgres.url), made on the
 * first call: HARNESS_PG_PREFIX and its connection string into db_out. */
static int pg_database_for(const char *dir, char *db_out)
{
	char path[HARNESS_PATH_LEN];
	char *url;
	FILE *f;

	snprintf(path, sizeof(path), "%s/postgres.url", dir);
	if (access(path, F_OK) < 0) {
		struct pg_test_db db;

		pg_test_db_create(&db);
		if (!(f = fopen(path, "w")))
			return -1;
		fputs(db.url, f);
		if (fclose(f) != 0)
			return -1;
	}
	if (!(url = harness_read_file(path, HARNESS_PATH_LEN, NULL)))
		return -1;
	if (snprintf(db_out, HARNESS_PATH_LEN, "%s%s", HARNESS_PG_PREFIX, url) >=
	    HARNESS_PATH_LEN) {
		free(url);
		return -1;
	}
	free(url);
	return 0;
}

int harness_write_config_opts(const char *dir, int gw_port, int twilio_port,
			      const struct harness_config *hc, char *conf_out, char *db_out)
{
	const struct harness_config none = { 0 };
	FILE *f = NULL;
	int fd, rc = -1;

	if (!hc)
		hc = &none;

	if (snprintf(conf_out, HARNESS_PATH_LEN, "%s/gateway.conf", dir) >= HARNESS_PATH_LEN ||
	    snprintf(db_out, HARNESS_PATH_LEN, "%s/gateway.db", dir) >= HARNESS_PATH_LEN)
		goto out;
	if (harness_on_postgres() && pg_database_for(dir, db_out) < 0)
		goto out;
	/* 0600 from the start: the file holds the auth token and API keys. */
	fd = open(conf_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	fprintf(f,
		"[server]\n"
		"listen = 127.0.0.1:%d\n"
		"public_url = http://127.0.0.1:%d\n"
		"api_keys = " HARNESS_API_KEY ", " HARNESS_API_KEY_2 "\n"
		"[store]\n"
		"%s%s%s"
		"[survey]\n"
		"brand = Acme\n"
		"default_locale = es\n"
		"expire_after = %s\n"
		"min_days_between = %s\n"
		"quiet_hours = %s\n"
		"timezone = %s\n"
		"%s"
		"[channels]\n"
		"sms = %s\n"
		"whatsapp = %s\n"
		"[provider.twilio]\n"
		"account_sid = " HARNESS_TWILIO_SID "\n"
		"auth_token = " HARNESS_TWILIO_TOKEN "\n"
		"from = " HARNESS_TWILIO_FROM "\n"
		"base_url = http://127.0.0.1:%d\n"
		"rate = off\n"
		"[provider.console]\n"
		"rate = off\n"
		"[dispatch]\n"
		"%s"
		"retry_base = %s\n",
		gw_port, gw_port, harness_on_postgres() ? "backend = postgres\nurl = " : "path = ",
		harness_on_postgres() ? db_out + strlen(HARNESS_PG_PREFIX) : db_out, "\n",
		or_default(hc->expire_after, "48h"), or_default(hc->min_days_between, "0"),
		or_default(hc->quiet_hours, "off"), or_default(hc->timezone, "Europe/Madrid"),
		or_default(hc->survey_extra, ""), or_default(hc->sms, "twilio"),
		or_default(hc->whatsapp, "console"), twilio_port,
		harness_on_postgres() ? "send_lease = 3s\n" : "",
		or_default(hc->retry_base, "100ms"));
	if (hc->extra)
		fputs(hc->extra, f);
	if (fchmod(fileno(f), 0600) < 0)
		goto out;
	rc = 0;
out:
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "harness: cannot write %s/gateway.conf: %s\n", dir, strerror(errno));
	return rc;
}

int harness_clock_set(const char *path, long long unix_s)
{
	char tmp[HARNESS_PATH_LEN + 8], text[32];
	int fd, n, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		goto out;
	n = snprintf(text, sizeof(text), "%lld", unix_s);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	if (write(fd, text, (size_t)n) != n) {
		close(fd);
		goto out;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "harness: cannot set the clock in %s: %s\n", path, strerror(errno));
	return rc;
}

/* A NULL-terminated copy of environ without GATEWAY_* and with `extra` added.  The strings are
 * shared, only the array is allocated (caller frees with free()). */
static char **child_environ(const char *const *extra)
{
	size_t n = 0, k = 0, m = 0;
	char **envp;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	envp = calloc(n + m + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "GATEWAY_", 8) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0; i < m; i++)
		envp[k++] = (char *)extra[i];
	envp[k] = NULL;
	return envp;
}

/* Polls GET /healthz until 200, the child exits, or the start timeout passes.  0 when healthy. */
static int wait_healthy(struct harness_gw *gw)
{
	char url[96];
	long long deadline = harness_now_ms() + START_TIMEOUT_MS;
	int status;

	snprintf(url, sizeof(url), "%s/healthz", gw->base_url);
	while (harness_now_ms() < deadline) {
		struct harness_http_resp r;

		if (waitpid(gw->pid, &status, WNOHANG) == gw->pid) {
			fprintf(stderr, "harness: gateway exited during start-up (%s %d)\n",
				WIFEXITED(status) ? "exit" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			reaper_del_pid(gw->pid);
			gw->pid = 0;
			return -1;
		}
		if (harness_http("GET", url, NULL, NULL, 0, &r) == 0) {
			long code = r.status;

			harness_http_release(&r);
			if (code == 200)
				return 0;
		}
		harness_sleep_ms(50);
	}
	fprintf(stderr, "harness: GET /healthz did not answer 200 within %d ms\n",
		START_TIMEOUT_MS);
	return -1;
}

int harness_gw_start(struct harness_gw *gw, const char *dir, const char *conf, int port,
		     const char *const *env)
{
	const char *bin = getenv("GATEWAY_BIN");
	char *argv[5];
	char **envp = NULL;
	int log_fd = -1, null_fd = -1, rc = -1;
	pid_t parent = getpid(), pid;

	memset(gw, 0, sizeof(*gw));
	gw->port = port;
	snprintf(gw->base_url, sizeof(gw->base_url), "http://127.0.0.1:%d", port);
	snprintf(gw->log_path, sizeof(gw->log_path), "%s/gateway.log", dir);
	if (!bin || !*bin)
		bin = "build/gateway";
	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "harness: gateway binary %s: %s (set GATEWAY_BIN)\n", bin,
			strerror(errno));
		goto out;
	}
	argv[0] = (char *)bin;
	argv[1] = "serve";
	argv[2] = "-c";
	argv[3] = (char *)conf;
	argv[4] = NULL;
	/* Everything the child needs is prepared before fork(): the test process has threads (the
	 * fake provider's), so the child may only make async-signal-safe calls until execve(). */
	envp = child_environ(env);
	log_fd = open(gw->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!envp || log_fd < 0 || null_fd < 0) {
		fprintf(stderr, "harness: cannot prepare the gateway's start: %s\n", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Dies with the test process, even when that one is killed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
			_exit(127);
		execve(bin, argv, envp);
		_exit(127);
	}
	gw->pid = pid;
	reaper_add_pid(pid);
	if (wait_healthy(gw) < 0) {
		harness_gw_stop(gw);
		harness_gw_print_log(gw, 4096);
		goto out;
	}
	rc = 0;
out:
	if (null_fd >= 0)
		close(null_fd);
	if (log_fd >= 0)
		close(log_fd);
	free(envp);
	return rc;
}

/* Waits up to `ms` for the child to end; 1 and its status in *status when it did. */
static int wait_child(pid_t pid, int ms, int *status)
{
	long long deadline = harness_now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (harness_now_ms() >= deadline)
			return 0;
		harness_sleep_ms(20);
	}
}

int harness_gw_stop(struct harness_gw *gw)
{
	int status = 0, r, code = -1;

	if (gw->pid <= 0)
		return -1;
	kill(gw->pid, SIGTERM);
	r = wait_child(gw->pid, STOP_TIMEOUT_MS, &status);
	if (r == 0) {
		fprintf(stderr, "harness: gateway %d ignored SIGTERM for %d ms; SIGKILL\n",
			(int)gw->pid, STOP_TIMEOUT_MS);
		kill(gw->pid, SIGKILL);
		r = waitpid(gw->pid, &status, 0) == gw->pid;
	}
	if (r == 1) {
		if (WIFEXITED(status))
			code = WEXITSTATUS(status);
		else
			code = 128 + WTERMSIG(status);
	}
	reaper_del_pid(gw->pid);
	gw->pid = 0;
	return code;
}

void harness_gw_print_log(const struct harness_gw *gw, size_t max_bytes)
{
	char *text;
	size_t len;

	text = harness_read_file(gw->log_path, 64u << 20, &len);
	if (!text)
		return;
	fprintf(stderr, "---- %s (last %zu bytes) ----\n", gw->log_path, max_bytes);
	fputs(len > max_bytes ? text + len - max_bytes : text, stderr);
	if (len && text[len - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "---- end of log ----\n");
	free(text);
}

int harness_gw_log_has_line(const struct harness_gw *gw, const char *const *needles)
{
	char *text = harness_read_file(gw->log_path, 64u << 20, NULL);
	int found = 0;

	if (!text)
		return -1;
	for (char *line = text, *end; line && *line && !found; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		found = 1;
		for (size_t i = 0; needles[i] && found; i++)
			found = strstr(line, needles[i]) != NULL;
	}
	free(text);
	return found;
}

/* libcurl write callback: appends to the capped buffer, fails the transfer past the cap. */
static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;

	if (buf_append(b, data, size * n) < 0)
		return 0;
	return size * n;
}

int harness_http(const char *method, const char *url, const char *const *headers,
		 const char *body, size_t body_len, struct harness_http_resp *out)
{
	struct curl_slist *list = NULL, *tmp;
	struct buf b;
	CURL *c = NULL;
	CURLcode cc;
	char *ct = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	buf_init(&b, HARNESS_HTTP_BODY_CAP);
	c = curl_easy_init();
	if (!c)
		goto out;
	for (size_t i = 0; headers && headers[i]; i++) {
		tmp = curl_slist_append(list, headers[i]);
		if (!tmp)
			goto out;
		list = tmp;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (strcmp(method, "GET") != 0 || body)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		/* Connection refused is the normal answer while a gateway starts; stay quiet. */
		if (cc != CURLE_COULDNT_CONNECT)
			fprintf(stderr, "harness: %s %s: %s\n", method, url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(out->content_type, sizeof(out->content_type), "%s", ct);
	out->body = buf_detach(&b, &out->len);
	if (!out->body)
		goto out;
	rc = 0;
out:
	buf_release(&b);
	curl_slist_free_all(list);
	if (c)
		curl_easy_cleanup(c);
	return rc;
}

void harness_http_release(struct harness_http_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* Appends an SQL identifier in double quotes, doubling quotes inside. */
static int put_ident(struct buf *b, const char *name)
{
	if (buf_putc(b, '"') < 0)
		return -1;
	for (const char *p = name; *p; p++)
		if (buf_putc(b, *p) < 0 || (*p == '"' && buf_putc(b, '"') < 0))
			return -1;
	return buf_putc(b, '"');
}

/* One row as the scans hand it over, whichever database it came from: column i is vals[i]
 * (lens[i] bytes), of kind types[i]: 'N' NULL, 'i' integer, 'f' float, 't' text, 'x' blob
 * (PostgreSQL: 't' for text columns, 'i' for every other, as the server prints it). */
struct db_row {
	const char *table;
	int n;
	const char *const *names;
	const char *const *vals;
	const size_t *lens;
	const char *types;
	int has_rowid; /* column 0 is SQLite's rowid */
};

/* Appends one column value, tagged with its kind so 1, 1.0, '1' and x'31' differ. */
static int put_value(struct buf *b, const struct db_row *r, int col)
{
	const unsigned char *p = (const unsigned char *)r->vals[col];
	size_t n = r->lens[col];

	switch (r->types[col]) {
	case 'N':
		return buf_puts(b, "NULL");
	case 'i':
	case 'f':
		if (buf_printf(b, "%c:", r->types[col]) < 0)
			return -1;
		return buf_append(b, p, n);
	case 't':
		/* length-prefixed, so no text can fake a column boundary */
		if (buf_printf(b, "t%zu:", n) < 0)
			return -1;
		return buf_append(b, p, n);
	default:
		if (buf_printf(b, "x%zu:", n) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (buf_printf(b, "%02x", p[i]) < 0)
				return -1;
		return 0;
	}
}

/* Prepares "SELECT rowid, * FROM t ORDER BY rowid", or "SELECT * FROM t" (primary key order) for a
 * WITHOUT ROWID table, where the first form does not compile.  *has_rowid says which. */
static sqlite3_stmt *prepare_table_scan(sqlite3 *db, const char *table, int *has_rowid)
{
	struct buf q;
	sqlite3_stmt *st = NULL;

	buf_init(&q, 4096);
	*has_rowid = 1;
	if (buf_puts(&q, "SELECT rowid, * FROM ") < 0 || put_ident(&q, table) < 0 ||
	    buf_puts(&q, " ORDER BY rowid") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, q.data, -1, &st, NULL) == SQLITE_OK)
		goto out;
	*has_rowid = 0;
	buf_reset(&q);
	if (buf_puts(&q, "SELECT * FROM ") < 0 || put_ident(&q, table) < 0)
		goto out;
	if (sqlite3_prepare_v2(db, q.data, -1, &st, NULL) != SQLITE_OK)
		st = NULL;
out:
	buf_release(&q);
	return st;
}

#define SCAN_MAX_COLS 64

typedef int (*row_fn)(void *arg, const struct db_row *r);

/* The row `st` stepped to, handed to fn. */
static int sqlite_row(sqlite3_stmt *st, const char *table, int has_rowid, row_fn fn, void *arg)
{
	const char *names[SCAN_MAX_COLS], *vals[SCAN_MAX_COLS];
	size_t lens[SCAN_MAX_COLS];
	char types[SCAN_MAX_COLS], nums[SCAN_MAX_COLS][32];
	struct db_row r = { table, sqlite3_column_count(st), names, vals, lens, types, has_rowid };

	if (r.n > SCAN_MAX_COLS)
		return -1;
	for (int i = 0; i < r.n; i++) {
		int t = sqlite3_column_type(st, i);

		names[i] = sqlite3_column_name(st, i);
		types[i] = t == SQLITE_NULL    ? 'N' :
			   t == SQLITE_INTEGER ? 'i' :
			   t == SQLITE_FLOAT   ? 'f' :
			   t == SQLITE_TEXT    ? 't' :
						 'x';
		if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
			if (t == SQLITE_INTEGER)
				snprintf(nums[i], sizeof(nums[i]), "%lld",
					 (long long)sqlite3_column_int64(st, i));
			else
				snprintf(nums[i], sizeof(nums[i]), "%.17g",
					 sqlite3_column_double(st, i));
			vals[i] = nums[i];
			lens[i] = strlen(nums[i]);
			continue;
		}
		vals[i] = t == SQLITE_TEXT ? (const char *)sqlite3_column_text(st, i) :
					     (const char *)sqlite3_column_blob(st, i);
		lens[i] = (size_t)sqlite3_column_bytes(st, i);
		if (!vals[i])
			vals[i] = "";
	}
	return fn(arg, &r);
}

/* db_scan() on a SQLite file. */
static int sqlite_scan(const char *path, row_fn fn, void *arg)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *tables = NULL, *st = NULL;
	int rc = -1, has_rowid, step;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
			       "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name", -1, &tables,
			       NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(tables)) == SQLITE_ROW) {
		const char *table = (const char *)sqlite3_column_text(tables, 0);

		st = prepare_table_scan(db, table, &has_rowid);
		if (!st)
			goto out;
		while ((step = sqlite3_step(st)) == SQLITE_ROW)
			if (sqlite_row(st, table, has_rowid, fn, arg) < 0)
				goto out;
		if (step != SQLITE_DONE)
			goto out;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (step != SQLITE_DONE)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "harness: reading %s: %s\n", path,
			db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_finalize(st);
	sqlite3_finalize(tables);
	if (db)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* The rows of one result handed to fn, text columns as 't' and the others as 'i'. */
static int pg_rows(PGresult *res, const char *table, row_fn fn, void *arg)
{
	const char *names[SCAN_MAX_COLS], *vals[SCAN_MAX_COLS];
	size_t lens[SCAN_MAX_COLS];
	char types[SCAN_MAX_COLS];
	struct db_row r = { table, PQnfields(res), names, vals, lens, types, 0 };

	if (r.n > SCAN_MAX_COLS)
		return -1;
	for (int row = 0; row < PQntuples(res); row++) {
		for (int i = 0; i < r.n; i++) {
			Oid t = PQftype(res, i);

			names[i] = PQfname(res, i);
			vals[i] = PQgetvalue(res, row, i);
			lens[i] = (size_t)PQgetlength(res, row, i);
			types[i] = PQgetisnull(res, row, i)     ? 'N' :
				   t == 25 || t == 1043 || t == 18 ? 't' : /* text, varchar, char */
								     'i';
		}
		if (fn(arg, &r) < 0)
			return -1;
	}
	return 0;
}

/* db_scan() on a PostgreSQL database (every table of the public schema but the shared token
 * buckets, which sends change whatever a request did), in one REPEATABLE READ transaction. */
static int pg_scan(const char *url, row_fn fn, void *arg)
{
	PGconn *c = PQconnectdb(url);
	PGresult *tables = NULL, *res = NULL;
	struct buf q;
	int rc = -1;

	buf_init(&q, 256);
	if (PQstatus(c) != CONNECTION_OK)
		goto out;
	PQclear(PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
	tables = PQexec(c, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
			   " AND tablename <> 'provider_pacing' ORDER BY tablename");
	if (PQresultStatus(tables) != PGRES_TUPLES_OK)
		goto out;
	for (int i = 0; i < PQntuples(tables); i++) {
		const char *table = PQgetvalue(tables, i, 0);

		buf_reset(&q);
		if (buf_puts(&q, "SELECT * FROM ") < 0 || put_ident(&q, table) < 0 ||
		    buf_puts(&q, " ORDER BY 1") < 0)
			goto out;
		res = PQexec(c, q.data);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || pg_rows(res, table, fn, arg) < 0)
			goto out;
		PQclear(res);
		res = NULL;
	}
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "harness: reading PostgreSQL: %s\n", PQerrorMessage(c));
	PQclear(res);
	PQclear(tables);
	PQfinish(c);
	buf_release(&q);
	return rc;
}

/*
 * Calls `fn(arg, row)` for every row of every user table of the database at `path` (a SQLite
 * file, or "postgres:<url>" as harness_write_config() names a PostgreSQL database), in one read
 * transaction (so the gateway's concurrent commits are seen all or nothing).  Tables by name,
 * rows by rowid (SQLite) or first column (PostgreSQL).  0, or -1 (after a message) on error or
 * when fn fails.
 */
static int db_scan(const char *path, row_fn fn, void *arg)
{
	if (strncmp(path, HARNESS_PG_PREFIX, strlen(HARNESS_PG_PREFIX)) == 0)
		return pg_scan(path + strlen(HARNESS_PG_PREFIX), fn, arg);
	return sqlite_scan(path, fn, arg);
}

/* db_snapshot's row_fn: "table[rowid] col=value col=value\n". */
static int snapshot_row(void *arg, const struct db_row *r)
{
	struct buf *b = arg;
	int first = r->has_rowid;

	if (buf_puts(b, r->table) < 0)
		return -1;
	if (first && (buf_putc(b, '[') < 0 || buf_append(b, r->vals[0], r->lens[0]) < 0 ||
		      buf_putc(b, ']') < 0))
		return -1;
	for (int i = first; i < r->n; i++) {
		if (buf_printf(b, " %s=", r->names[i]) < 0 || put_value(b, r, i) < 0)
			return -1;
	}
	return buf_putc(b, '\n');
}

char *db_snapshot(const char *path)
{
	struct buf b;
	char *res = NULL;

	buf_init(&b, SNAPSHOT_CAP);
	if (db_scan(path, snapshot_row, &b) < 0)
		goto out;
	res = buf_detach(&b, NULL);
out:
	buf_release(&b);
	return res;
}

struct count_ctx {
	const char *value;
	size_t len;
	long count;
};

/* harness_db_count_value's row_fn. */
static int count_row(void *arg, const struct db_row *r)
{
	struct count_ctx *cc = arg;

	for (int i = r->has_rowid; i < r->n; i++) {
		if (r->types[i] != 't' && r->types[i] != 'x')
			continue;
		if (r->lens[i] == cc->len &&
		    (cc->len == 0 || memcmp(r->vals[i], cc->value, cc->len) == 0)) {
			cc->count++;
			break;
		}
	}
	return 0;
}

long harness_db_count_value(const char *path, const char *value)
{
	struct count_ctx cc = { .value = value, .len = strlen(value) };

	if (db_scan(path, count_row, &cc) < 0)
		return -1;
	return cc.count;
}

struct mention_ctx {
	const char *table_part;         /* NULL: every table */
	const char *needle;
	size_t len;
	long count;
};

/* 1 when `hay` (`n` bytes, not NUL-terminated) holds `needle` (`len` bytes). */
static int bytes_contain(const void *hay, size_t n, const char *needle, size_t len)
{
	if (len == 0)
		return 1;
	return n >= len && memmem(hay, n, needle, len) != NULL;
}

/* harness_db_count_mentions's row_fn. */
static int mention_row(void *arg, const struct db_row *r)
{
	struct mention_ctx *mc = arg;

	if (mc->table_part && !strcasestr(r->table, mc->table_part))
		return 0;
	for (int i = r->has_rowid; i < r->n; i++) {
		if (r->types[i] != 't' && r->types[i] != 'x')
			continue;
		if (bytes_contain(r->vals[i], r->lens[i], mc->needle, mc->len)) {
			mc->count++;
			break;
		}
	}
	return 0;
}

long harness_db_count_mentions(const char *path, const char *table_part, const char *needle)
{
	struct mention_ctx mc = { .table_part = table_part, .needle = needle,
				  .len = strlen(needle) };

	if (db_scan(path, mention_row, &mc) < 0)
		return -1;
	return mc.count;
}
