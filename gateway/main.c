/*
 * main.c - the command line: serve, export, report, texts, parse-reply, version.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatcher.h"
#include "events.h"
#include "export.h"
#include "gateway.h"
#include "housekeeping.h"
#include "pg_store.h"
#include "reply.h"
#include "report.h"
#include "server.h"
#include "texts.h"

#define GATEWAY_VERSION "0.1.0"

static int usage(FILE *f)
{
	fprintf(f,
		"usage:\n"
		"  gateway serve        [-c FILE]\n"
		"  gateway export       [-c FILE] [--kind nps|ces|csat] [--since YYYY-MM-DD]"
		" [--until YYYY-MM-DD] [-o FILE]\n"
		"                       [--channel sms|whatsapp] [--touchpoint NAME] [--agent NAME]\n"
		"  gateway report       [-c FILE] --kind nps|ces|csat [--since YYYY-MM-DD]"
		" [--until YYYY-MM-DD]\n"
		"                       [--group-by day|week|month|channel|touchpoint|agent]"
		" [--json | --csv]\n"
		"  gateway texts        [-c FILE] [--name NAME]\n"
		"  gateway parse-reply  --kind nps|ces|csat [TEXT]\n"
		"  gateway migrate-store --from sqlite:PATH --to postgres:URL\n"
		"  gateway version\n"
		"\n"
		"FILE defaults to gateway.conf, else gateway.conf.example; any key can be overridden\n"
		"by an environment variable GATEWAY_<SECTION>_<KEY>.\n"
		"export writes CSV to -o FILE or stdout; --touchpoint and --agent match exactly, --since\n"
		"and --until include both days (UTC).  On a terminal it shows its progress on stderr.\n"
		"report prints NPS/CES/CSAT figures (definitions: gateway report --help).\n"
		"texts prints every text a customer can receive as it goes by SMS (with NAME, default\n" TEXTS_SAMPLE_NAME
		", and [survey] brand), its encoding and how many segments it costs.\n"
		"migrate-store copies a SQLite database into an empty PostgreSQL one, checked table by\n"
		"table (rows and SHA-256); URL is libpq's, which also reads PGPASSWORD and ~/.pgpass.\n");
	return f == stderr ? 2 : 0;
}

/* The value after option argv[*i] (advancing *i), or NULL with a message. */
static const char *opt_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "gateway: %s needs a value\n", argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

/* Warns when the config file, which may hold secrets, is readable by other users. */
static void warn_permissions(const char *path)
{
	struct stat st;

	if (path && stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) &&
	    strstr(path, ".example") == NULL)
		fprintf(stderr, "warning: %s may hold secrets and is readable by other users "
			"(chmod 600 %s)\n", path, path);
}

/* Each connection is a file descriptor: make room for connection_limit of them (up to the hard
 * limit, which only root can raise). */
static void raise_file_limit(int want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= (rlim_t)want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)want ? (rlim_t)want
										  : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < (rlim_t)want)
		fprintf(stderr, "warning: only %llu file descriptors for %d connections "
			"([server] connection_limit); raise the hard limit (ulimit -Hn)\n",
			(unsigned long long)rl.rlim_cur, want - 64);
}

static int cmd_serve(int argc, char **argv)
{
	struct gateway gw;
	struct gw_err err = { 0 };
	struct housekeeping *housekeeping = NULL;
	const char *conf = NULL;
	sigset_t sigs;
	size_t uncertain = 0;
	int sig, rc = 1;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0) {
			if (!(conf = opt_value(argc, argv, &i)))
				return 2;
		} else {
			return usage(stderr);
		}
	}
	memset(&gw, 0, sizeof(gw));
	if (provider_config_load(&gw.cfg, conf, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	warn_permissions(gw.cfg.path);
	raise_file_limit(gw.cfg.connection_limit + 64);
	/* Signals are taken by sigwait() below; every thread started from here inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Past a file-size limit a write must fail (and be answered 503), not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	/* Many threads each free what they allocated per request: without a fixed threshold glibc
	 * hands every arena's free top back to the kernel (madvise) and faults it in again at the
	 * next request, which cost the writer thread a sixth of its time under load. */
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	if (gateway_init(&gw, &err) < 0 ||
	    store_mark_uncertain(gw.store, gateway_now(&gw), &uncertain, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	/* Without a receiver no event is written: the queue cannot grow while nobody reads it. */
	if (gw.cfg.events_url)
		store_set_event_format(gw.store, events_format, NULL);
	if (uncertain && !gw.cfg.resend_uncertain)
		fprintf(stderr, "warning: %zu message(s) were being sent when the gateway last stopped; "
			"they are marked uncertain and not resent (GET /v1/surveys?status=uncertain; "
			"[dispatch] resend_uncertain = on sends them again)\n", uncertain);
	if (gw.cfg.resend_uncertain) {
		if (store_requeue_uncertain(gw.store, gateway_now(&gw), &uncertain, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			goto out;
		}
		if (uncertain)
			fprintf(stderr, "warning: %zu uncertain message(s) queued again "
				"([dispatch] resend_uncertain = on): a customer may get one twice\n",
				uncertain);
	}
	texts_warn_segments(gw.texts, gw.cfg.brand, stderr);
	if (!gw.cfg.n_api_keys)
		fprintf(stderr, "warning: [server] api_keys is empty: every /v1 call will be refused\n");
	if (!(gw.dispatcher = dispatcher_start(&gw, &err)) ||
	    !(housekeeping = housekeeping_start(&gw, &err)) ||
	    (gw.cfg.events_url && !(gw.events = events_start(&gw, &err))) ||
	    !(gw.server = server_start(&gw, &err))) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	printf("gateway %s listening on http://%s:%d (config: %s, store: %s, sms: %s, whatsapp: %s)\n",
	       GATEWAY_VERSION, gw.cfg.listen_host, gw.cfg.listen_port,
	       gw.cfg.path ? gw.cfg.path : "embedded defaults", store_where(gw.store),
	       gw.cfg.channel_provider[CHANNEL_SMS], gw.cfg.channel_provider[CHANNEL_WHATSAPP]);
	fflush(stdout);
	sigwait(&sigs, &sig);
	printf("stopping (signal %d)\n", sig);
	rc = 0;
out:
	server_stop(gw.server);
	events_stop(gw.events);
	housekeeping_stop(housekeeping);
	dispatcher_stop(gw.dispatcher);
	gateway_release(&gw);
	config_release(&gw.cfg);
	return rc;
}

static int cmd_export(int argc, char **argv)
{
	const char *conf = NULL, *outpath = NULL;
	struct export_args a = { 0 };
	struct config cfg;
	struct gw_err err = { 0 };
	struct export_filter f;
	struct store *st = NULL;
	struct csv_export *x = NULL;
	FILE *out = stdout, *progress = NULL;
	int rc = 1;

	for (int i = 2; i < argc; i++) {
		const char **dst = strcmp(argv[i], "-c") == 0 ? &conf :
				   strcmp(argv[i], "--kind") == 0 ? &a.kind :
				   strcmp(argv[i], "--channel") == 0 ? &a.channel :
				   strcmp(argv[i], "--touchpoint") == 0 ? &a.touchpoint :
				   strcmp(argv[i], "--agent") == 0 ? &a.agent :
				   strcmp(argv[i], "--since") == 0 ? &a.since :
				   strcmp(argv[i], "--until") == 0 ? &a.until :
				   strcmp(argv[i], "-o") == 0 ? &outpath : NULL;

		if (!dst)
			return usage(stderr);
		if (!(*dst = opt_value(argc, argv, &i)))
			return 2;
	}
	if (export_args_parse(&a, &f, &err) < 0) {
		fprintf(stderr, "gateway export: --%s: %s\n", err.field, err.msg);
		return 2;
	}
	if (provider_config_load(&cfg, conf, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (!(st = store_open_backend(cfg.store_backend, cfg.store_path, cfg.store_url, &err)) ||
	    !(x = csv_export_open(st, &f, &err))) {
		fprintf(stderr, "gateway export: %s\n", err.msg);
		goto out;
	}
	if (outpath && !(out = fopen(outpath, "w"))) {
		fprintf(stderr, "gateway export: %s: %s\n", outpath, strerror(errno));
		goto out;
	}
	/* Progress only for a person watching a terminal, and never mixed into CSV on that screen:
	 * scripts, pipes and tests see nothing on stderr. */
	if (isatty(STDERR_FILENO) && (outpath || !isatty(STDOUT_FILENO)))
		progress = stderr;
	if (csv_export_write(x, out, progress, &err) < 0) {
		fprintf(stderr, "gateway export: %s\n", err.msg);
		goto out;
	}
	rc = 0;
out:
	if (out && out != stdout && fclose(out) != 0)
		rc = 1;
	csv_export_close(x);
	store_close(st);
	config_release(&cfg);
	return rc;
}

static int report_usage(FILE *f)
{
	fprintf(f, "usage: gateway report [-c FILE] --kind nps|ces|csat [--since YYYY-MM-DD]"
		" [--until YYYY-MM-DD]\n"
		"                      [--group-by day|week|month|channel|touchpoint|agent]"
		" [--json | --csv]\n"
		"A table by default; --json as GET /v1/reports answers; --csv one row per group and\n"
		"TTR bucket.\n\n%s", report_definitions);
	return f == stderr ? 2 : 0;
}

/* report: the figures of GET /v1/reports, as a table, JSON or CSV on stdout. */
static int cmd_report(int argc, char **argv)
{
	const char *conf = NULL, *kind = NULL, *since = NULL, *until = NULL, *group_by = NULL;
	int json = 0, csv = 0, rc = 1;
	struct report_options o;
	struct report r;
	struct config cfg;
	struct gw_err err = { 0 };
	struct store *st = NULL;
	char *text;

	for (int i = 2; i < argc; i++) {
		const char **dst = strcmp(argv[i], "-c") == 0 ? &conf :
				   strcmp(argv[i], "--kind") == 0 ? &kind :
				   strcmp(argv[i], "--since") == 0 ? &since :
				   strcmp(argv[i], "--until") == 0 ? &until :
				   strcmp(argv[i], "--group-by") == 0 ? &group_by : NULL;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return report_usage(stdout);
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--csv") == 0) {
			*(argv[i][2] == 'j' ? &json : &csv) = 1;
			continue;
		}
		if (!dst)
			return report_usage(stderr);
		if (!(*dst = opt_value(argc, argv, &i)))
			return 2;
	}
	if (json && csv) {
		fprintf(stderr, "gateway report: --json and --csv exclude each other\n");
		return 2;
	}
	if (report_options_parse(kind, since, until, group_by, &o, &err) < 0) {
		fprintf(stderr, "gateway report: --%s: %s\n",
			strcmp(err.field, "group_by") == 0 ? "group-by" : err.field, err.msg);
		return 2;
	}
	if (provider_config_load(&cfg, conf, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (!(st = store_open_backend(cfg.store_backend, cfg.store_path, cfg.store_url, &err)) ||
	    report_build(st, &o, &r, &err) < 0) {
		fprintf(stderr, "gateway report: %s\n", err.msg);
		goto out;
	}
	if (json) {
		text = report_json_dumps(&r, JSON_INDENT(2));
		rc = text && printf("%s\n", text) > 0 && fflush(stdout) == 0 ? 0 : 1;
		free(text);
	} else {
		rc = (csv ? report_write_csv(&r, stdout) : report_write_table(&r, stdout)) < 0;
	}
	if (rc)
		fprintf(stderr, "gateway report: writing failed\n");
	report_release(&r);
out:
	store_close(st);
	config_release(&cfg);
	return rc;
}

/* texts: every text with its SMS encoding and segments, before a single one is sent. */
static int cmd_texts(int argc, char **argv)
{
	const char *conf = NULL, *name = TEXTS_SAMPLE_NAME;
	struct gw_err err = { 0 };
	struct texts *t = NULL;
	struct config cfg;
	int rc = 1;

	for (int i = 2; i < argc; i++) {
		const char **dst = strcmp(argv[i], "-c") == 0 ? &conf :
				   strcmp(argv[i], "--name") == 0 ? &name : NULL;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage(stdout);
		if (!dst)
			return usage(stderr);
		if (!(*dst = opt_value(argc, argv, &i)))
			return 2;
	}
	if (provider_config_load(&cfg, conf, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (!(t = texts_create(&cfg, &err)))
		fprintf(stderr, "gateway texts: %s\n", err.msg);
	else if (texts_write_costs(t, cfg.brand, name, stdout) < 0)
		fprintf(stderr, "gateway texts: writing failed\n");
	else
		rc = 0;
	texts_free(t);
	config_release(&cfg);
	return rc;
}

/*
 * Prints one reply's reading as one JSON line.  The line is formatted into a stack buffer, so a
 * million replies cost no allocation; only a comment too long for it takes a heap buffer.
 * Returns 0, or -1 when out of memory.
 */
static int print_reply(enum survey_kind kind, const char *text, size_t len)
{
	struct reply r;
	char small[2048], *big = NULL, *line = small;
	size_t n;

	reply_parse(kind, text, len, &r);
	n = reply_format_json(&r, small, sizeof(small));
	if (n >= sizeof(small)) {
		if (!(big = malloc(n + 1)))
			return -1;
		reply_format_json(&r, big, n + 1);
		line = big;
	}
	line[n] = '\n';        /* replaces the NUL: the line is written by length */
	fwrite(line, 1, n + 1, stdout);
	free(big);
	return 0;
}

/*
 * parse-reply --kind K [TEXT]: reads TEXT, or each line of standard input (without its line
 * break), as a reply to a survey of kind K and prints one JSON object per reply.  Returns 0, 1
 * when memory or writing failed, 2 on a usage error.
 */
static int cmd_parse_reply(int argc, char **argv)
{
	const char *kind_s = NULL, *text = NULL;
	enum survey_kind kind;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--kind") == 0) {
			if (!(kind_s = opt_value(argc, argv, &i)))
				return 2;
		} else if (!text) {
			text = argv[i];
		} else {
			return usage(stderr);
		}
	}
	if (!kind_s || kind_from_name(kind_s, &kind) < 0) {
		fprintf(stderr, "gateway parse-reply: --kind must be nps, ces or csat\n");
		return 2;
	}
	if (text) {
		rc = print_reply(kind, text, strlen(text));
	} else {
		while (rc == 0 && (n = getline(&line, &cap, stdin)) >= 0) {
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				n--;
			rc = print_reply(kind, line, (size_t)n);
		}
		free(line);
	}
	if (rc < 0)
		fprintf(stderr, "gateway parse-reply: out of memory\n");
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gateway parse-reply: writing failed\n");
		rc = -1;
	}
	return rc < 0 ? 1 : 0;
}

static void copy_report(void *ctx, const char *table, long long rows, const char *sha256_hex)
{
	(void)ctx;
	printf("%-13s %10lld rows  sha256 %s\n", table, rows, sha256_hex);
}

/* gateway migrate-store --from sqlite:PATH --to postgres:URL: 0 copied, 1 not (nothing kept),
 * 2 on a usage error. */
static int cmd_migrate_store(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	struct gw_err err = { 0 };

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage(stdout);
		if (strcmp(argv[i], "--from") == 0) {
			if (!(from = opt_value(argc, argv, &i)))
				return 2;
		} else if (strcmp(argv[i], "--to") == 0) {
			if (!(to = opt_value(argc, argv, &i)))
				return 2;
		} else {
			fprintf(stderr, "gateway migrate-store: unknown option '%s'\n", argv[i]);
			return usage(stderr);
		}
	}
	if (!from || strncmp(from, "sqlite:", 7) != 0 || !from[7] || !to ||
	    strncmp(to, "postgres:", 9) != 0) {
		fprintf(stderr,
			"gateway migrate-store: needs --from sqlite:PATH and --to postgres:URL\n");
		return 2;
	}
	if (pg_copy_from_sqlite(from + 7, to + 9, copy_report, NULL, &err) < 0) {
		fprintf(stderr, "gateway migrate-store: %s\n", err.msg);
		return 1;
	}
	printf("copied %s: every table's rows and checksum match in PostgreSQL\n", from + 7);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("gateway %s (libcurl %s, jansson %s, sqlite %s)\n", GATEWAY_VERSION,
		       curl_version_info(CURLVERSION_NOW)->version, JANSSON_VERSION,
		       store_sqlite_version());
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		return usage(stdout);
	if (strcmp(argv[1], "parse-reply") == 0)
		return cmd_parse_reply(argc, argv);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(argv[1], "serve") == 0)
		rc = cmd_serve(argc, argv);
	else if (strcmp(argv[1], "export") == 0)
		rc = cmd_export(argc, argv);
	else if (strcmp(argv[1], "report") == 0)
		rc = cmd_report(argc, argv);
	else if (strcmp(argv[1], "texts") == 0)
		rc = cmd_texts(argc, argv);
	else if (strcmp(argv[1], "migrate-store") == 0)
		rc = cmd_migrate_store(argc, argv);
	else
		rc = usage(stderr);
	curl_global_cleanup();
	return rc;
}
