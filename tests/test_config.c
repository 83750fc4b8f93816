/*
 * test_config.c - gateway.conf (lib/config.h), against DESIGN.md §2 "Config".
 *
 * Each test writes its INI text to a temp file (mkstemp under /tmp, removed in teardown) and calls
 * config_load().  Covered: the embedded defaults when there is no file; every documented key
 * accepted, including [provider.meta] and [provider.zenvia] (not built, still accepted) and
 * [dispatch]; the typed fields; every start-up error as "FILE:LINE: key: reason"; environment
 * overrides GATEWAY_<SECTION>_<KEY>; comments, blank lines and CRLF; and the value parsers one
 * table each.
 *
 * Every GATEWAY_* variable is removed from the environment before the tests, so a developer's
 * shell cannot change their outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "gwerr.h"
#include "provider.h"
#include "vocab.h"

static char conf_path[64];      /* the current test's file, "" when none */

/* ---- helpers ---------------------------------------------------------------------------- */

/* Writes `len` bytes of INI text to a new temp file, whose name goes into conf_path. */
static void write_conf_len(const char *text, size_t len)
{
	int fd;

	if (conf_path[0])
		unlink(conf_path);
	snprintf(conf_path, sizeof(conf_path), "/tmp/test_config_XXXXXX");
	fd = mkstemp(conf_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void write_conf(const char *text)
{
	write_conf_len(text, strlen(text));
}

/* Writes `text` and loads it; returns config_load()'s result. */
static int load_text(struct config *cfg, const char *text, struct gw_err *err)
{
	write_conf(text);
	gw_err_clear(err);
	return provider_config_load(cfg, conf_path, err);
}

/* Loads `text`, failing the test with the error message when it does not load. */
static void load_ok(struct config *cfg, const char *text)
{
	struct gw_err err;

	if (load_text(cfg, text, &err) != 0)
		fail_msg("config_load failed: %s", err.msg);
}

static const char *get(const struct config *cfg, const char *section, const char *key)
{
	return config_get(config_section_find(cfg, section), key);
}

/* Removes every GATEWAY_* variable (collected first: unsetenv changes environ). */
static void clear_gateway_env(void)
{
	char names[64][128];
	size_t n = 0;

	for (char **e = environ; *e && n < 64; e++) {
		const char *eq = strchr(*e, '=');

		if (strncmp(*e, "GATEWAY_", 8) == 0 && eq && (size_t)(eq - *e) < sizeof(names[0]))
			snprintf(names[n++], sizeof(names[0]), "%.*s", (int)(eq - *e), *e);
	}
	for (size_t i = 0; i < n; i++)
		unsetenv(names[i]);
}

static int group_setup(void **state)
{
	clear_gateway_env();
	return 0;
}

static int teardown(void **state)
{
	if (conf_path[0])
		unlink(conf_path);
	conf_path[0] = '\0';
	clear_gateway_env();
	return 0;
}

/* ---- no file: the embedded defaults ----------------------------------------------------- */

/* Runs config_load(NULL) in an empty temp dir holding only the files named in `files`. */
static int load_in_dir(struct config *cfg, const char *const *files, const char *const *texts,
		       size_t n, struct gw_err *err)
{
	char cwd[PATH_MAX], dir[] = "/tmp/test_config_dir_XXXXXX";
	int rc;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chdir(dir), 0);
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(files[i], "w");

		assert_non_null(f);
		fputs(texts[i], f);
		fclose(f);
	}
	gw_err_clear(err);
	rc = provider_config_load(cfg, NULL, err);
	for (size_t i = 0; i < n; i++)
		unlink(files[i]);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rmdir(dir), 0);
	return rc;
}

static void test_defaults_without_any_file(void **state)
{
	struct config cfg;
	struct gw_err err;

	if (load_in_dir(&cfg, NULL, NULL, 0, &err) != 0)
		fail_msg("config_load(NULL) without files: %s", err.msg);
	assert_null(cfg.path);
	assert_string_equal(cfg.listen_host, "127.0.0.1");
	assert_int_equal(cfg.listen_port, 8080);
	assert_string_equal(cfg.public_url, "http://127.0.0.1:8080");
	assert_int_equal(cfg.n_api_keys, 0);
	assert_string_equal(cfg.store_backend, "sqlite");
	assert_string_equal(cfg.store_path, "var/gateway.db");
	assert_null(cfg.store_url);
	assert_int_equal(cfg.wal_limit_mb, 64);
	assert_int_equal(cfg.health_check_interval_ms, 1000);
	assert_string_equal(cfg.brand, "Acme");
	assert_string_equal(cfg.default_locale, "es");
	assert_int_equal(cfg.expire_after_ms, 48LL * 3600 * 1000);
	assert_int_equal(cfg.min_days_between, 30);
	assert_int_equal(cfg.quiet_hours.off, 0);
	assert_int_equal(cfg.quiet_hours.start_min, 21 * 60);
	assert_int_equal(cfg.quiet_hours.end_min, 9 * 60);
	assert_string_equal(cfg.timezone, "Europe/Madrid");
	assert_string_equal(cfg.channel_provider[CHANNEL_SMS], "console");
	assert_string_equal(cfg.channel_provider[CHANNEL_WHATSAPP], "console");
	assert_int_equal(cfg.retry_base_ms, 2000);
	assert_int_equal(cfg.retry_cap_ms, 10 * 60 * 1000);
	assert_int_equal(cfg.max_attempts, 8);
	assert_string_equal(cfg.sms_encoding, "gsm7-smart");
	assert_int_equal(cfg.sms_fold_accents, 0);
	/* provider sections exist with their defaults, marked as such */
	assert_string_equal(get(&cfg, "provider.console", "rate"), "off");
	assert_string_equal(get(&cfg, "provider.twilio", "rate"), "1/s");
	assert_string_equal(get(&cfg, "provider.twilio", "base_url"), "https://api.twilio.com");
	assert_null(get(&cfg, "provider.twilio", "auth_token"));
	assert_string_equal(get(&cfg, "provider.meta", "graph_version"), "v23.0");
	assert_string_equal(get(&cfg, "provider.meta", "base_url"), "https://graph.facebook.com");
	assert_string_equal(get(&cfg, "provider.zenvia", "base_url"), "https://api.zenvia.com");
	{
		const struct config_entry *e =
			config_entry_find(config_section_find(&cfg, "server"), "listen");

		assert_non_null(e);
		assert_int_equal(e->from_default, 1);
		assert_string_equal(e->origin, "default");
		assert_int_equal(e->line, 0);
	}
	config_release(&cfg);
}

/* Without -c: gateway.conf when it exists, else gateway.conf.example. */
static void test_default_file_choice(void **state)
{
	static const char *const both[] = { "gateway.conf", "gateway.conf.example" };
	static const char *const texts[] = { "[survey]\nbrand = FromConf\n",
					     "[survey]\nbrand = FromExample\n" };
	struct config cfg;
	struct gw_err err;

	if (load_in_dir(&cfg, both, texts, 2, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.path, "gateway.conf");
	assert_string_equal(cfg.brand, "FromConf");
	config_release(&cfg);

	if (load_in_dir(&cfg, both + 1, texts + 1, 1, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg.path, "gateway.conf.example");
	assert_string_equal(cfg.brand, "FromExample");
	config_release(&cfg);
}

/* A file that was asked for must exist. */
static void test_missing_named_file_is_an_error(void **state)
{
	struct config cfg;
	struct gw_err err;

	gw_err_clear(&err);
	assert_int_equal(provider_config_load(&cfg, "/tmp/test_config_no_such_file.conf", &err), -1);
	assert_non_null(strstr(err.msg, "/tmp/test_config_no_such_file.conf"));
}

/* The shipped example loads as it is (run from the repository root, as `make check` does). */
static void test_shipped_example_loads(void **state)
{
	struct config cfg;
	struct gw_err err;

	if (access("gateway.conf.example", R_OK) != 0)
		skip();
	gw_err_clear(&err);
	if (provider_config_load(&cfg, "gateway.conf.example", &err) != 0)
		fail_msg("gateway.conf.example: %s", err.msg);
	config_release(&cfg);
}

/* ---- every documented key --------------------------------------------------------------- */

struct kv {
	const char *section, *key, *value;
};

/* Every key of DESIGN.md §2, plus [dispatch], each with a value other than its default. */
static const struct kv every_key[] = {
	{ "server", "listen", "0.0.0.0:9090" },
	{ "server", "public_url", "https://surveys.example.com" },
	{ "server", "api_keys", "k1, k2 ,k3" },
	{ "server", "health_check_interval", "5s" },
	{ "store", "path", "/var/lib/gateway/gw.db" },
	{ "store", "wal_limit_mb", "16" },
	{ "survey", "brand", "Acme Telecom" },
	{ "survey", "default_locale", "pt" },
	{ "survey", "expire_after", "36h" },
	{ "survey", "min_days_between", "14" },
	{ "survey", "quiet_hours", "22:30-08:15" },
	{ "survey", "timezone", "America/Sao_Paulo" },
	{ "channels", "sms", "twilio" },
	{ "channels", "whatsapp", "console" },
	{ "dispatch", "retry_base", "500ms" },
	{ "dispatch", "retry_cap", "5m" },
	{ "dispatch", "max_attempts", "5" },
	{ "sms", "encoding", "unicode" },
	{ "sms", "fold_accents", "on" },
	{ "provider.twilio", "account_sid", "AC0123456789abcdef" },
	{ "provider.twilio", "auth_token", "file-token" },
	{ "provider.twilio", "from", "+15005550006" },
	{ "provider.twilio", "messaging_service_sid", "MG0123456789abcdef" },
	{ "provider.twilio", "base_url", "http://127.0.0.1:9999" },
	{ "provider.twilio", "rate", "30/min" },
	{ "provider.meta", "phone_number_id", "106540352242922" },
	{ "provider.meta", "access_token", "EAAB-token" },
	{ "provider.meta", "app_secret", "meta-secret" },
	{ "provider.meta", "verify_token", "verify-me" },
	{ "provider.meta", "graph_version", "v22.0" },
	{ "provider.meta", "base_url", "https://graph.example.test" },
	{ "provider.meta", "rate", "40/s" },
	{ "provider.zenvia", "api_token", "zenvia-token" },
	{ "provider.zenvia", "from", "acme-sender" },
	{ "provider.zenvia", "base_url", "https://api.zenvia.example" },
	{ "provider.zenvia", "webhook_token", "zenvia-hook" },
	{ "provider.zenvia", "rate", "5/s" },
	{ "provider.console", "rate", "off" },
};

#define N_EVERY (sizeof(every_key) / sizeof(every_key[0]))

/* The INI text of `every_key`, one [section] header each time the section changes; line[i] gets
 * the line number of row i. */
static void every_key_text(char *out, size_t n, int *line)
{
	const char *section = "";
	size_t len = 0;
	int lineno = 0;

	len += (size_t)snprintf(out + len, n - len, "# every key\n");
	lineno++;
	for (size_t i = 0; i < N_EVERY; i++) {
		if (strcmp(section, every_key[i].section) != 0) {
			section = every_key[i].section;
			len += (size_t)snprintf(out + len, n - len, "\n[%s]\n", section);
			lineno += 2;
		}
		len += (size_t)snprintf(out + len, n - len, "%s = %s\n", every_key[i].key,
					every_key[i].value);
		line[i] = ++lineno;
		assert_true(len < n);
	}
}

static void test_every_documented_key_is_accepted(void **state)
{
	char text[4096];
	int line[N_EVERY];
	struct config cfg;

	every_key_text(text, sizeof(text), line);
	load_ok(&cfg, text);
	for (size_t i = 0; i < N_EVERY; i++) {
		const struct config_entry *e =
			config_entry_find(config_section_find(&cfg, every_key[i].section), every_key[i].key);

		if (!e || strcmp(e->value, every_key[i].value) != 0)
			fail_msg("[%s] %s: got \"%s\", want \"%s\"", every_key[i].section, every_key[i].key,
				 e ? e->value : "(unset)", every_key[i].value);
		assert_string_equal(e->origin, conf_path);
		assert_int_equal(e->line, line[i]);
		assert_int_equal(e->from_default, 0);
	}
	assert_string_equal(cfg.path, conf_path);
	config_release(&cfg);
}

static void test_typed_fields(void **state)
{
	char text[4096];
	int line[N_EVERY];
	struct config cfg;

	every_key_text(text, sizeof(text), line);
	load_ok(&cfg, text);
	assert_string_equal(cfg.listen_host, "0.0.0.0");
	assert_int_equal(cfg.listen_port, 9090);
	assert_string_equal(cfg.public_url, "https://surveys.example.com");
	assert_int_equal(cfg.n_api_keys, 3);
	assert_string_equal(cfg.api_keys[0], "k1");
	assert_string_equal(cfg.api_keys[1], "k2");
	assert_string_equal(cfg.api_keys[2], "k3");
	assert_null(cfg.api_keys[3]);
	assert_string_equal(cfg.store_path, "/var/lib/gateway/gw.db");
	assert_int_equal(cfg.wal_limit_mb, 16);
	assert_int_equal(cfg.health_check_interval_ms, 5000);
	assert_string_equal(cfg.brand, "Acme Telecom");
	assert_string_equal(cfg.default_locale, "pt");
	assert_int_equal(cfg.expire_after_ms, 36LL * 3600 * 1000);
	assert_int_equal(cfg.min_days_between, 14);
	assert_int_equal(cfg.quiet_hours.off, 0);
	assert_int_equal(cfg.quiet_hours.start_min, 22 * 60 + 30);
	assert_int_equal(cfg.quiet_hours.end_min, 8 * 60 + 15);
	assert_string_equal(cfg.timezone, "America/Sao_Paulo");
	assert_string_equal(cfg.channel_provider[CHANNEL_SMS], "twilio");
	assert_string_equal(cfg.channel_provider[CHANNEL_WHATSAPP], "console");
	assert_int_equal(cfg.retry_base_ms, 500);
	assert_int_equal(cfg.retry_cap_ms, 5 * 60 * 1000);
	assert_int_equal(cfg.max_attempts, 5);
	assert_string_equal(cfg.sms_encoding, "unicode");
	assert_int_equal(cfg.sms_fold_accents, 1);
	config_release(&cfg);
}

/* min_days_between = 0 and quiet_hours = off switch those rules off. */
static void test_survey_rules_switched_off(void **state)
{
	struct config cfg;

	load_ok(&cfg, "[survey]\nmin_days_between = 0\nquiet_hours = off\n");
	assert_int_equal(cfg.min_days_between, 0);
	assert_int_equal(cfg.quiet_hours.off, 1);
	config_release(&cfg);
}

/* A key the file leaves out keeps its default; the file's keys say where they came from. */
static void test_partial_file_keeps_other_defaults(void **state)
{
	struct config cfg;
	const struct config_entry *e;

	load_ok(&cfg, "[server]\nlisten = 10.0.0.1:81\n");
	assert_string_equal(cfg.listen_host, "10.0.0.1");
	assert_int_equal(cfg.listen_port, 81);
	assert_string_equal(cfg.public_url, "http://127.0.0.1:8080");
	assert_string_equal(cfg.brand, "Acme");
	e = config_entry_find(config_section_find(&cfg, "server"), "listen");
	assert_non_null(e);
	assert_int_equal(e->from_default, 0);
	assert_int_equal(e->line, 2);
	assert_string_equal(e->origin, conf_path);
	e = config_entry_find(config_section_find(&cfg, "server"), "public_url");
	assert_non_null(e);
	assert_int_equal(e->from_default, 1);
	config_release(&cfg);
}

static void test_empty_file_is_all_defaults(void **state)
{
	struct config cfg;

	load_ok(&cfg, "");
	assert_string_equal(cfg.path, conf_path);
	assert_int_equal(cfg.listen_port, 8080);
	assert_int_equal(cfg.max_attempts, 8);
	config_release(&cfg);
}

/* ---- api_keys ----------------------------------------------------------------------------- */

struct keys_row {
	const char *value;
	size_t n;
	const char *want[4];
};

static const struct keys_row keys_rows[] = {
	{ "", 0, { NULL } },
	{ "single", 1, { "single" } },
	{ "k1, k2", 2, { "k1", "k2" } },
	{ "k1,k2,k3", 3, { "k1", "k2", "k3" } },
	{ "  a  ,b ,\tc\t", 3, { "a", "b", "c" } },
	{ "k1,,k2,", 2, { "k1", "k2" } },
	{ ", ,", 0, { NULL } },
	{ "key with space, other", 2, { "key with space", "other" } },
};

static void test_api_keys_split_and_trimmed(void **state)
{
	for (size_t i = 0; i < sizeof(keys_rows) / sizeof(keys_rows[0]); i++) {
		const struct keys_row *r = &keys_rows[i];
		char text[256];
		struct config cfg;

		snprintf(text, sizeof(text), "[server]\napi_keys = %s\n", r->value);
		load_ok(&cfg, text);
		if (cfg.n_api_keys != r->n)
			fail_msg("row %zu \"%s\": %zu keys, want %zu", i, r->value, cfg.n_api_keys, r->n);
		for (size_t k = 0; k < r->n; k++)
			assert_string_equal(cfg.api_keys[k], r->want[k]);
		assert_non_null(cfg.api_keys);
		assert_null(cfg.api_keys[r->n]);
		config_release(&cfg);
	}
}

/* "https://api.twilio.com/" means the same as without the slash: the slash is dropped, so
 * "{base_url}/2010-04-01/..." never holds "//". */
static void test_url_trailing_slash_dropped(void **state)
{
	struct config cfg;

	load_ok(&cfg, "[server]\npublic_url = https://surveys.example.com//\n"
		      "[provider.twilio]\nbase_url = http://127.0.0.1:9/\n");
	assert_string_equal(cfg.public_url, "https://surveys.example.com");
	assert_string_equal(config_get(config_section_find(&cfg, "provider.twilio"), "base_url"),
			    "http://127.0.0.1:9");
	config_release(&cfg);
}

/* An API key is a secret: it is kept whole however long it is, never cut to a shorter (weaker)
 * key that would then be what the gateway accepts. */
static void test_long_api_key_kept_whole(void **state)
{
	char key[601], text[700], got[700];
	struct config cfg;
	size_t n;

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(text, sizeof(text), "[server]\napi_keys = short, %s\n", key);
	load_ok(&cfg, text);
	n = cfg.n_api_keys;
	snprintf(got, sizeof(got), "%s", n == 2 ? cfg.api_keys[1] : "");
	config_release(&cfg);
	assert_int_equal(n, 2);
	if (strcmp(got, key) != 0)
		fail_msg("a %zu-byte api key was loaded as %zu bytes", strlen(key), strlen(got));
}

/* ---- comments, blank lines, CRLF -------------------------------------------------------- */

static void test_comments_and_blank_lines(void **state)
{
	static const char text[] =
		"# a comment\n"
		"; another comment\n"
		"\n"
		"   \t \n"
		"  # indented comment\n"
		"[ server ]\n"
		"\n"
		"  listen   =   127.0.0.1:7000   \n"
		"\tapi_keys=a,b\n"
		"[survey]\n"
		"brand = Acme = Co\n"       /* only the first '=' splits */
		"# brand = ignored\n";
	struct config cfg;

	load_ok(&cfg, text);
	assert_int_equal(cfg.listen_port, 7000);
	assert_int_equal(cfg.n_api_keys, 2);
	assert_string_equal(cfg.brand, "Acme = Co");
	assert_int_equal(config_entry_find(config_section_find(&cfg, "server"), "listen")->line, 8);
	config_release(&cfg);
}

static void test_crlf_line_endings(void **state)
{
	static const char text[] =
		"# windows file\r\n"
		"\r\n"
		"[server]\r\n"
		"listen = 127.0.0.1:7001\r\n"
		"api_keys = k1, k2\r\n"
		"public_url = https://surveys.example.com\r\n"
		"[survey]\r\n"
		"brand = Acme\r\n"
		"default_locale = en\r\n"
		"expire_after = 2d\r\n"
		"quiet_hours = 20:00-08:00\r\n"
		"[channels]\r\n"
		"sms = twilio\r\n"
		"[provider.twilio]\r\n"
		"rate = 2/s\r\n";
	struct config cfg;

	load_ok(&cfg, text);
	assert_int_equal(cfg.listen_port, 7001);
	assert_int_equal(cfg.n_api_keys, 2);
	assert_string_equal(cfg.api_keys[1], "k2");
	assert_string_equal(cfg.public_url, "https://surveys.example.com");
	assert_string_equal(cfg.brand, "Acme");
	assert_string_equal(cfg.default_locale, "en");
	assert_int_equal(cfg.expire_after_ms, 2LL * 86400 * 1000);
	assert_int_equal(cfg.quiet_hours.end_min, 8 * 60);
	assert_string_equal(cfg.channel_provider[CHANNEL_SMS], "twilio");
	assert_string_equal(get(&cfg, "provider.twilio", "rate"), "2/s");
	config_release(&cfg);
}

/* The last line needs no newline. */
static void test_last_line_without_newline(void **state)
{
	struct config cfg;

	load_ok(&cfg, "[survey]\nbrand = Last");
	assert_string_equal(cfg.brand, "Last");
	config_release(&cfg);
}

/* ---- start-up errors: "FILE:LINE: key: reason" ------------------------------------------ */

struct error_row {
	const char *text;
	int line;
	const char *key;        /* what follows "FILE:LINE: "; NULL: nothing checked there */
	const char *reason;     /* a part of the reason */
};

static const struct error_row error_rows[] = {
	/* structure */
	{ "[server]\nlisten = 127.0.0.1:8080\nnosuch = 1\n", 3, "nosuch", "unknown key" },
	{ "[survey]\nlisten = 127.0.0.1:8080\n", 2, "listen", "unknown key" },
	{ "[provider.meta]\nnosuch = 1\n", 2, "nosuch", "unknown key" },
	{ "[provider.console]\nbase_url = https://x.example\n", 2, "base_url", "unknown key" },
	{ "# c\n\n[nosuch]\n", 3, "[nosuch]", "unknown section" },
	{ "[provider.nosuch]\n", 1, "[provider.nosuch]", "unknown section" },
	{ "[server]\nlisten\n", 2, "listen", "key = value" },
	{ "[server\nlisten = 127.0.0.1:1\n", 1, NULL, "section" },
	{ "[server]\nlisten = 127.0.0.1:1\n\nlisten = 127.0.0.1:2\n", 4, "listen", "twice" },
	{ "[server]\napi_keys = a\n[survey]\n[server]\napi_keys = b\n", 5, "api_keys", "twice" },
	{ "brand = Acme\n[survey]\n", 1, "brand", "section" },

	/* [server] listen */
	{ "[server]\nlisten = 127.0.0.1\n", 2, "listen", "host:port" },
	{ "[server]\nlisten = 127.0.0.1:70000\n", 2, "listen", "host:port" },
	{ "[server]\nlisten = 127.0.0.1:0\n", 2, "listen", "host:port" },
	{ "[server]\nlisten = 127.0.0.1:\n", 2, "listen", "host:port" },
	{ "[server]\nlisten = :8080\n", 2, "listen", "host:port" },
	{ "[server]\nlisten = 127.0.0.1:80x\n", 2, "listen", "host:port" },
	/* URLs */
	{ "[server]\npublic_url = surveys.example.com\n", 2, "public_url", "http" },
	{ "[server]\npublic_url = ftp://surveys.example.com\n", 2, "public_url", "http" },
	{ "[server]\npublic_url = https://\n", 2, "public_url", "http" },
	{ "[server]\npublic_url = https://surveys example.com\n", 2, "public_url", "spaces" },
	{ "[provider.twilio]\nbase_url = api.twilio.com\n", 2, "base_url", "http" },
	{ "[provider.meta]\nbase_url = https://graph.facebook .com\n", 2, "base_url", "spaces" },
	{ "[provider.zenvia]\nbase_url =\n", 2, "base_url", "http" },
	/* durations */
	{ "[survey]\nexpire_after = 48\n", 2, "expire_after", "unit" },
	{ "[survey]\nexpire_after = 2 days\n", 2, "expire_after", "unit" },
	{ "[survey]\nexpire_after = soon\n", 2, "expire_after", "duration" },
	{ "[dispatch]\nretry_base = -2s\n", 2, "retry_base", "duration" },
	{ "[dispatch]\nretry_cap = 10\n", 2, "retry_cap", "unit" },
	/* whole numbers */
	{ "[survey]\nmin_days_between = -1\n", 2, "min_days_between", "whole number" },
	{ "[survey]\nmin_days_between = thirty\n", 2, "min_days_between", "whole number" },
	{ "[dispatch]\nmax_attempts = 8x\n", 2, "max_attempts", "whole number" },
	{ "[dispatch]\nmax_attempts =\n", 2, "max_attempts", "whole number" },
	{ "[store]\nwal_limit_mb = 0\n", 2, "wal_limit_mb", "at least 1" },
	{ "[store]\n\nwal_limit_mb = 64MB\n", 3, "wal_limit_mb", "whole number" },
	{ "[dispatch]\nsend_lease = 0s\n", 2, "send_lease", "at least 1s" },
	/* the store's backend */
	{ "[store]\nbackend = mysql\n", 2, "backend", "sqlite or postgres" },
	{ "[store]\nbackend = postgres\n", 2, "url", "required when [store] backend = postgres" },
	{ "[server]\nhealth_check_interval = 1\n", 2, "health_check_interval", "unit" },
	/* rates */
	{ "[provider.twilio]\nrate = 5/week\n", 2, "rate", "/s" },
	{ "[provider.console]\nrate = 0/s\n", 2, "rate", "rate" },
	{ "[provider.meta]\nrate = fast\n", 2, "rate", "rate" },
	/* quiet hours */
	{ "[survey]\nquiet_hours = 25:00-09:00\n", 2, "quiet_hours", "span of hours" },
	{ "[survey]\nquiet_hours = 21:00\n", 2, "quiet_hours", "span of hours" },
	{ "[survey]\nquiet_hours = none\n", 2, "quiet_hours", "span of hours" },
	/* locale */
	{ "[survey]\ndefault_locale = fr\n", 2, "default_locale", "es, pt or en" },
	{ "[survey]\ndefault_locale = ES\n", 2, "default_locale", "es, pt or en" },
	/* channel providers */
	{ "[channels]\nsms = nosuch\n", 2, "sms", "'nosuch' is not a provider" },
	{ "[channels]\nwhatsapp = \n", 2, "whatsapp", "not a provider" },
	{ "[channels]\nsms = whatsapp\n", 2, "sms", "(console, twilio, meta, zenvia)" },
	{ "[templates.meta]\nnps.fr = x\n", 2, "nps.fr", "unknown key" },
	{ "[templates.meta]\nstars.es = x\n", 2, "stars.es", "unknown key" },
	{ "[templates.nosuch]\nnps.es = x\n", 1, "[templates.nosuch]", "unknown section" },
	/* [sms] */
	{ "[sms]\nencoding = gsm7\n", 2, "encoding", "gsm7-smart or unicode" },
	{ "[sms]\nencoding = UCS-2\n", 2, "encoding", "gsm7-smart or unicode" },
	{ "[sms]\nencoding =\n", 2, "encoding", "gsm7-smart or unicode" },
	{ "[sms]\nfold_accents = maybe\n", 2, "fold_accents", "on or off" },
	{ "[sms]\nsegments = 1\n", 2, "segments", "unknown key" },
	/* the line counts comments, blank lines and CRLF lines */
	{ "# one\r\n\r\n; three\r\n[survey]\r\n\r\nbrand = ok\r\nexpire_after = 9\r\n", 7,
	  "expire_after", "unit" },
};

static void test_errors_name_file_line_and_key(void **state)
{
	for (size_t i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++) {
		const struct error_row *r = &error_rows[i];
		struct config cfg;
		struct gw_err err;
		char prefix[160];
		int rc = load_text(&cfg, r->text, &err);

		if (r->key)
			snprintf(prefix, sizeof(prefix), "%s:%d: %s: ", conf_path, r->line, r->key);
		else
			snprintf(prefix, sizeof(prefix), "%s:%d: ", conf_path, r->line);
		if (rc == 0) {
			config_release(&cfg);
			fail_msg("row %zu loaded, want \"%s...%s...\"", i, prefix, r->reason);
		}
		if (strncmp(err.msg, prefix, strlen(prefix)) != 0 ||
		    !strstr(err.msg + strlen(prefix), r->reason))
			fail_msg("row %zu: error \"%s\", want \"%s...%s...\"", i, err.msg, prefix, r->reason);
	}
}

/* A line too long for the reader is an error, not two lines. */
static void test_overlong_line(void **state)
{
	static char text[6000];
	struct config cfg;
	struct gw_err err;
	char prefix[80];
	size_t len;

	len = (size_t)snprintf(text, sizeof(text), "[survey]\nbrand = ");
	memset(text + len, 'x', 5000);
	len += 5000;
	text[len++] = '\n';
	write_conf_len(text, len);
	gw_err_clear(&err);
	assert_int_equal(provider_config_load(&cfg, conf_path, &err), -1);
	snprintf(prefix, sizeof(prefix), "%s:2: ", conf_path);
	assert_int_equal(strncmp(err.msg, prefix, strlen(prefix)), 0);
}

/* ---- environment overrides -------------------------------------------------------------- */

static void test_env_replaces_file_api_keys(void **state)
{
	struct config cfg;
	const struct config_entry *e;

	setenv("GATEWAY_SERVER_API_KEYS", " env1 , env2 ", 1);
	load_ok(&cfg, "[server]\napi_keys = file1, file2, file3\n");
	assert_int_equal(cfg.n_api_keys, 2);
	assert_string_equal(cfg.api_keys[0], "env1");
	assert_string_equal(cfg.api_keys[1], "env2");
	e = config_entry_find(config_section_find(&cfg, "server"), "api_keys");
	assert_non_null(e);
	assert_string_equal(e->origin, "GATEWAY_SERVER_API_KEYS");
	assert_int_equal(e->line, 0);
	assert_int_equal(e->from_default, 0);
	config_release(&cfg);
}

static void test_env_replaces_file_twilio_auth_token(void **state)
{
	struct config cfg;

	setenv("GATEWAY_PROVIDER_TWILIO_AUTH_TOKEN", "env-secret", 1);
	load_ok(&cfg, "[provider.twilio]\naccount_sid = AC1\nauth_token = file-secret\n");
	assert_string_equal(get(&cfg, "provider.twilio", "auth_token"), "env-secret");
	assert_string_equal(get(&cfg, "provider.twilio", "account_sid"), "AC1");
	config_release(&cfg);
}

/* A variable sets a key the file does not mention, and works without any file section. */
static void test_env_sets_key_absent_from_file(void **state)
{
	struct config cfg;

	setenv("GATEWAY_PROVIDER_TWILIO_AUTH_TOKEN", "only-env", 1);
	setenv("GATEWAY_SURVEY_EXPIRE_AFTER", "90m", 1);
	setenv("GATEWAY_PROVIDER_META_ACCESS_TOKEN", "meta-env", 1);
	setenv("GATEWAY_DISPATCH_MAX_ATTEMPTS", "3", 1);
	setenv("GATEWAY_SMS_ENCODING", "unicode", 1);
	setenv("GATEWAY_SMS_FOLD_ACCENTS", "on", 1);
	load_ok(&cfg, "[survey]\nbrand = Acme\n");
	assert_string_equal(get(&cfg, "provider.twilio", "auth_token"), "only-env");
	assert_int_equal(cfg.expire_after_ms, 90LL * 60 * 1000);
	assert_string_equal(get(&cfg, "provider.meta", "access_token"), "meta-env");
	assert_int_equal(cfg.max_attempts, 3);
	assert_string_equal(cfg.sms_encoding, "unicode");
	assert_int_equal(cfg.sms_fold_accents, 1);
	config_release(&cfg);
}

struct env_error_row {
	const char *var, *value;
	const char *key;
	const char *reason;
};

static const struct env_error_row env_error_rows[] = {
	{ "GATEWAY_SERVER_LISTEN", "127.0.0.1", "listen", "host:port" },
	{ "GATEWAY_SERVER_PUBLIC_URL", "x.example", "public_url", "http" },
	{ "GATEWAY_SURVEY_EXPIRE_AFTER", "48", "expire_after", "unit" },
	{ "GATEWAY_SURVEY_DEFAULT_LOCALE", "fr", "default_locale", "es, pt or en" },
	{ "GATEWAY_CHANNELS_SMS", "telegram", "sms", "not a provider" },
	{ "GATEWAY_PROVIDER_TWILIO_RATE", "5/week", "rate", "/s" },
	{ "GATEWAY_DISPATCH_MAX_ATTEMPTS", "many", "max_attempts", "whole number" },
	{ "GATEWAY_SMS_ENCODING", "ascii", "encoding", "gsm7-smart or unicode" },
};

/* A bad value from the environment names the variable instead of FILE:LINE, even when the file
 * had a good value for the key. */
static void test_env_bad_value_names_variable(void **state)
{
	for (size_t i = 0; i < sizeof(env_error_rows) / sizeof(env_error_rows[0]); i++) {
		const struct env_error_row *r = &env_error_rows[i];
		struct config cfg;
		struct gw_err err;
		char prefix[128];
		int rc;

		setenv(r->var, r->value, 1);
		rc = load_text(&cfg, "[server]\nlisten = 127.0.0.1:8080\n", &err);
		unsetenv(r->var);
		snprintf(prefix, sizeof(prefix), "%s: %s: ", r->var, r->key);
		if (rc == 0) {
			config_release(&cfg);
			fail_msg("row %zu: %s=%s loaded", i, r->var, r->value);
		}
		if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, r->reason))
			fail_msg("row %zu: error \"%s\", want \"%s...%s...\"", i, err.msg, prefix, r->reason);
	}
}

/* ---- value parsers ---------------------------------------------------------------------- */

struct duration_row {
	const char *in;
	int ok;
	int64_t ms;
};

static const struct duration_row duration_rows[] = {
	{ "250ms", 1, 250 },
	{ "0ms", 1, 0 },
	{ "0s", 1, 0 },
	{ "90s", 1, 90000 },
	{ "30m", 1, 1800000 },
	{ "30min", 1, 1800000 },
	{ "48h", 1, 172800000 },
	{ "2d", 1, 172800000 },
	{ "1000000000ms", 1, 1000000000 },
	{ "1000000000d", 1, 1000000000LL * 86400000 },
	{ "1000000001ms", 0, 0 },
	{ "99999999999999999999s", 0, 0 },
	{ "48", 0, 0 },
	{ "", 0, 0 },
	{ "h", 0, 0 },
	{ "ms", 0, 0 },
	{ "-5s", 0, 0 },
	{ "+5s", 0, 0 },
	{ " 5s", 0, 0 },
	{ "5 s", 0, 0 },
	{ "5s ", 0, 0 },
	{ "1.5h", 0, 0 },
	{ "5sec", 0, 0 },
	{ "5w", 0, 0 },
	{ "5hs", 0, 0 },
};

static void test_parse_duration_ms(void **state)
{
	for (size_t i = 0; i < sizeof(duration_rows) / sizeof(duration_rows[0]); i++) {
		const struct duration_row *r = &duration_rows[i];
		struct gw_err err;
		int64_t ms = -42;
		int rc;

		gw_err_clear(&err);
		rc = config_parse_duration_ms(r->in, &ms, &err);
		if (rc != (r->ok ? 0 : -1) || (r->ok && ms != r->ms))
			fail_msg("\"%s\": rc %d ms %lld, want %s %lld", r->in, rc, (long long)ms,
				 r->ok ? "ok" : "error", (long long)r->ms);
		if (!r->ok) {
			assert_non_null(strstr(err.msg, r->in));    /* the reason quotes the value */
			assert_int_equal(ms, -42);                  /* nothing written on failure */
		}
		/* NULL err is allowed */
		assert_int_equal(config_parse_duration_ms(r->in, &ms, NULL), r->ok ? 0 : -1);
	}
}

struct rate_row {
	const char *in;
	int ok;
	int off;
	double per_second;
};

static const struct rate_row rate_rows[] = {
	{ "1/s", 1, 0, 1.0 },
	{ "80/s", 1, 0, 80.0 },
	{ "0.5/s", 1, 0, 0.5 },
	{ "30/min", 1, 0, 0.5 },
	{ "30/m", 1, 0, 0.5 },
	{ "3600/h", 1, 0, 1.0 },
	{ "1000000/s", 1, 0, 1000000.0 },
	{ "off", 1, 1, 0.0 },
	{ "5/week", 0, 0, 0 },
	{ "5/d", 0, 0, 0 },
	{ "5", 0, 0, 0 },
	{ "5/", 0, 0, 0 },
	{ "/s", 0, 0, 0 },
	{ "0/s", 0, 0, 0 },
	{ "-1/s", 0, 0, 0 },
	{ "1e7/s", 0, 0, 0 },
	{ "inf/s", 0, 0, 0 },
	{ "nan/s", 0, 0, 0 },
	{ " 1/s", 0, 0, 0 },
	{ "1 /s", 0, 0, 0 },
	{ "", 0, 0, 0 },
	{ "on", 0, 0, 0 },
};

static void test_parse_rate(void **state)
{
	for (size_t i = 0; i < sizeof(rate_rows) / sizeof(rate_rows[0]); i++) {
		const struct rate_row *r = &rate_rows[i];
		struct gw_err err;
		struct rate out = { .off = -1, .per_second = -1 };
		int rc;

		gw_err_clear(&err);
		rc = config_parse_rate(r->in, &out, &err);
		if (rc != (r->ok ? 0 : -1))
			fail_msg("\"%s\": rc %d, want %s", r->in, rc, r->ok ? "ok" : "error");
		if (r->ok) {
			assert_int_equal(out.off, r->off);
			if (fabs(out.per_second - r->per_second) > 1e-9)
				fail_msg("\"%s\": %g per second, want %g", r->in, out.per_second,
					 r->per_second);
		} else {
			assert_true(err.msg[0] != '\0');
		}
	}
}

struct bool_row {
	const char *in;
	int ok, value;
};

static const struct bool_row bool_rows[] = {
	{ "on", 1, 1 }, { "true", 1, 1 }, { "yes", 1, 1 }, { "1", 1, 1 },
	{ "ON", 1, 1 }, { "True", 1, 1 }, { "YES", 1, 1 },
	{ "off", 1, 0 }, { "false", 1, 0 }, { "no", 1, 0 }, { "0", 1, 0 },
	{ "OFF", 1, 0 }, { "False", 1, 0 }, { "No", 1, 0 },
	{ "", 0, 0 }, { "2", 0, 0 }, { "enabled", 0, 0 }, { "onn", 0, 0 }, { "y", 0, 0 },
	{ " on", 0, 0 }, { "on ", 0, 0 }, { "-1", 0, 0 },
};

static void test_parse_bool(void **state)
{
	for (size_t i = 0; i < sizeof(bool_rows) / sizeof(bool_rows[0]); i++) {
		const struct bool_row *r = &bool_rows[i];
		struct gw_err err;
		int out = -1, rc;

		gw_err_clear(&err);
		rc = config_parse_bool(r->in, &out, &err);
		if (rc != (r->ok ? 0 : -1) || (r->ok && out != r->value))
			fail_msg("\"%s\": rc %d value %d, want %s %d", r->in, rc, out,
				 r->ok ? "ok" : "error", r->value);
		if (!r->ok) {
			assert_int_equal(out, -1);
			assert_true(err.msg[0] != '\0');
		}
	}
}

struct span_row {
	const char *in;
	int ok, off, start, end;
};

static const struct span_row span_rows[] = {
	{ "21:00-09:00", 1, 0, 21 * 60, 9 * 60 },       /* over midnight */
	{ "09:00-17:30", 1, 0, 9 * 60, 17 * 60 + 30 },
	{ "00:00-23:59", 1, 0, 0, 23 * 60 + 59 },
	{ "23:59-00:00", 1, 0, 23 * 60 + 59, 0 },
	{ "off", 1, 1, 0, 0 },
	{ "25:00-09:00", 0, 0, 0, 0 },
	{ "24:00-09:00", 0, 0, 0, 0 },
	{ "21:00-09:60", 0, 0, 0, 0 },
	{ "9:00-17:00", 0, 0, 0, 0 },
	{ "09:00-17:0", 0, 0, 0, 0 },
	{ "0900-1700", 0, 0, 0, 0 },
	{ "21:00", 0, 0, 0, 0 },
	{ "21:00-", 0, 0, 0, 0 },
	{ "-09:00", 0, 0, 0, 0 },
	{ "09:00-09:00", 0, 0, 0, 0 },                  /* empty span */
	{ "21:00-09:00-10:00", 0, 0, 0, 0 },
	{ "21:00 - 09:00", 0, 0, 0, 0 },
	{ "ab:cd-09:00", 0, 0, 0, 0 },
	{ "", 0, 0, 0, 0 },
	{ "none", 0, 0, 0, 0 },
	{ "OFF", 0, 0, 0, 0 },
};

static void test_parse_clock_span(void **state)
{
	for (size_t i = 0; i < sizeof(span_rows) / sizeof(span_rows[0]); i++) {
		const struct span_row *r = &span_rows[i];
		struct gw_err err;
		struct clock_span out = { .off = -1, .start_min = -1, .end_min = -1 };
		int rc;

		gw_err_clear(&err);
		rc = config_parse_clock_span(r->in, &out, &err);
		if (rc != (r->ok ? 0 : -1))
			fail_msg("\"%s\": rc %d, want %s", r->in, rc, r->ok ? "ok" : "error");
		if (r->ok) {
			assert_int_equal(out.off, r->off);
			if (!r->off) {
				assert_int_equal(out.start_min, r->start);
				assert_int_equal(out.end_min, r->end);
			}
		} else {
			assert_non_null(strstr(err.msg, r->in));
		}
	}
}

struct env_name_row {
	const char *section, *key, *want;
};

static const struct env_name_row env_name_rows[] = {
	{ "server", "api_keys", "GATEWAY_SERVER_API_KEYS" },
	{ "server", "listen", "GATEWAY_SERVER_LISTEN" },
	{ "survey", "min_days_between", "GATEWAY_SURVEY_MIN_DAYS_BETWEEN" },
	{ "provider.twilio", "auth_token", "GATEWAY_PROVIDER_TWILIO_AUTH_TOKEN" },
	{ "provider.meta", "graph_version", "GATEWAY_PROVIDER_META_GRAPH_VERSION" },
	{ "a-b.c", "d-e.f", "GATEWAY_A_B_C_D_E_F" },
	{ "MiXeD", "CaSe", "GATEWAY_MIXED_CASE" },
};

static void test_env_name(void **state)
{
	for (size_t i = 0; i < sizeof(env_name_rows) / sizeof(env_name_rows[0]); i++) {
		char out[128];

		config_env_name(env_name_rows[i].section, env_name_rows[i].key, out, sizeof(out));
		assert_string_equal(out, env_name_rows[i].want);
	}
}

/*
 * With an output smaller than the name, config_env_name() writes a NUL-terminated prefix of it
 * and nothing at or past out[n].  Sizes from 9 ("GATEWAY_" and its NUL) up.
 */
static void test_env_name_truncates_within_n(void **state)
{
	static const char full[] = "GATEWAY_PROVIDER_TWILIO_AUTH_TOKEN";

	for (size_t n = 9; n <= sizeof(full) + 2; n++) {
		char out[64];

		memset(out, 'X', sizeof(out));
		config_env_name("provider.twilio", "auth_token", out, n);
		assert_true(strlen(out) < n);
		assert_int_equal(strncmp(out, full, strlen(out)), 0);
		for (size_t j = n; j < sizeof(out); j++)
			if (out[j] != 'X')
				fail_msg("n %zu: byte %zu written", n, j);
	}
}

/* The same for outputs too small even for "GATEWAY_": nothing may be written past out[n - 1]. */
static void test_env_name_tiny_output_stays_in_bounds(void **state)
{
	for (size_t n = 1; n <= 8; n++) {
		char out[64];

		memset(out, 'X', sizeof(out));
		config_env_name("server", "listen", out, n);
		for (size_t j = n; j < sizeof(out); j++)
			if (out[j] != 'X')
				fail_msg("n %zu: byte %zu written (0x%02x) past the %zu-byte output", n, j,
					 (unsigned char)out[j], n);
		assert_true(strlen(out) < n);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults_without_any_file),
		T(test_default_file_choice),
		T(test_missing_named_file_is_an_error),
		T(test_shipped_example_loads),
		T(test_every_documented_key_is_accepted),
		T(test_typed_fields),
		T(test_survey_rules_switched_off),
		T(test_partial_file_keeps_other_defaults),
		T(test_empty_file_is_all_defaults),
		T(test_api_keys_split_and_trimmed),
		T(test_long_api_key_kept_whole),
		T(test_url_trailing_slash_dropped),
		T(test_comments_and_blank_lines),
		T(test_crlf_line_endings),
		T(test_last_line_without_newline),
		T(test_errors_name_file_line_and_key),
		T(test_overlong_line),
		T(test_env_replaces_file_api_keys),
		T(test_env_replaces_file_twilio_auth_token),
		T(test_env_sets_key_absent_from_file),
		T(test_env_bad_value_names_variable),
		T(test_parse_duration_ms),
		T(test_parse_rate),
		T(test_parse_bool),
		T(test_parse_clock_span),
		T(test_env_name),
		T(test_env_name_truncates_within_n),
		T(test_env_name_tiny_output_stays_in_bounds),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
