/*
 * fuzz_config.c - config_load() (lib/config.h) on any gateway.conf.
 *
 * Each input is written to one temp file (made at start, removed at exit) and loaded; the
 * environment's GATEWAY_* overrides are cleared at start so that the file alone decides.
 * Checked:
 *   - a refused file names itself: the error starts with "PATH:" (FILE:LINE: key: reason);
 *   - a loaded one has every typed value in its range (port 1-65535, a known locale and
 *     providers, a time zone the system knows, a real span of quiet hours, an http(s) URL, API
 *     keys trimmed and non-empty), and each section holds each key once;
 *   - config_release() frees it all (LeakSanitizer) and leaves the struct zeroed.
 */
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "provider.h"

extern char **environ;

static char path[] = "/tmp/fuzz_config_XXXXXX";
static int fd = -1;

static void remove_temp(void)
{
	unlink(path);
}

/* Unsets every GATEWAY_* variable (names gathered first: unsetenv() changes environ). */
static void clear_gateway_env(void)
{
	char *names[256];
	size_t n = 0;

	for (char **e = environ; *e && n < 256; e++)
		if (strncmp(*e, "GATEWAY_", 8) == 0)
			names[n++] = strndup(*e, strcspn(*e, "="));
	for (size_t i = 0; i < n; i++) {
		unsetenv(names[i]);
		free(names[i]);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	clear_gateway_env();
	if ((fd = mkstemp(path)) < 0) {
		perror("fuzz_config: mkstemp");
		abort();
	}
	atexit(remove_temp);
	return 0;
}

static void check_sections(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_sections; i++) {
		const struct config_section *sec = &cfg->sections[i];

		FUZZ_CHECK(sec->name && config_section_find(cfg, sec->name) == sec);
		for (size_t j = 0; j < sec->n; j++) {
			FUZZ_CHECK(sec->entries[j].key && sec->entries[j].value && sec->entries[j].origin);
			FUZZ_CHECK(config_entry_find(sec, sec->entries[j].key) == &sec->entries[j]);
		}
	}
}

static void check_loaded(const struct config *cfg)
{
	FUZZ_CHECK(cfg->listen_port >= 1 && cfg->listen_port <= 65535);
	FUZZ_CHECK(memchr(cfg->listen_host, '\0', sizeof(cfg->listen_host)));
	FUZZ_CHECK(cfg->public_url && (strncmp(cfg->public_url, "http://", 7) == 0 ||
				       strncmp(cfg->public_url, "https://", 8) == 0));
	FUZZ_CHECK(cfg->default_locale && (strcmp(cfg->default_locale, "es") == 0 ||
					   strcmp(cfg->default_locale, "pt") == 0 ||
					   strcmp(cfg->default_locale, "en") == 0));
	FUZZ_CHECK(cfg->timezone && config_check_timezone(cfg->timezone, NULL) == 0);
	for (int c = 0; c < CHANNEL__COUNT; c++)
		FUZZ_CHECK(cfg->channel_provider[c] && provider_find(cfg->channel_provider[c]));
	if (!cfg->quiet_hours.off)
		FUZZ_CHECK(cfg->quiet_hours.start_min >= 0 && cfg->quiet_hours.start_min < 1440 &&
			   cfg->quiet_hours.end_min >= 0 && cfg->quiet_hours.end_min < 1440 &&
			   cfg->quiet_hours.start_min != cfg->quiet_hours.end_min);
	FUZZ_CHECK(cfg->expire_after_ms >= 0 && cfg->follow_up_window_ms >= 0 &&
		   cfg->connection_timeout_ms >= 0 && cfg->retry_base_ms >= 0 &&
		   cfg->retry_cap_ms >= 0);
	FUZZ_CHECK(cfg->connection_limit >= 0 && cfg->per_ip_connection_limit >= 0 &&
		   cfg->min_days_between >= 0 && cfg->max_attempts >= 0);
	FUZZ_CHECK(cfg->follow_up == 0 || cfg->follow_up == 1);
	FUZZ_CHECK(cfg->store_path && cfg->brand);
	for (size_t i = 0; i < cfg->n_api_keys; i++) {
		const char *k = cfg->api_keys[i];
		size_t n = strlen(k);

		FUZZ_CHECK(n > 0 && !strchr(k, ','));
		FUZZ_CHECK(k[0] != ' ' && k[0] != '\t' && k[n - 1] != ' ' && k[n - 1] != '\t');
	}
	FUZZ_CHECK(cfg->api_keys == NULL || cfg->api_keys[cfg->n_api_keys] == NULL);
	check_sections(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg, zero;
	struct gw_err err = { 0 };

	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror("fuzz_config: temp file");
		abort();
	}
	if (provider_config_load(&cfg, path, &err) == 0) {
		check_loaded(&cfg);
		config_release(&cfg);
		memset(&zero, 0, sizeof(zero));
		FUZZ_CHECK(memcmp(&cfg, &zero, sizeof(cfg)) == 0);
	} else {
		if (strncmp(err.msg, path, strlen(path)) != 0 || err.msg[strlen(path)] != ':')
			fprintf(stderr, "error does not name the file: %s\n", err.msg);
		FUZZ_CHECK(strncmp(err.msg, path, strlen(path)) == 0 && err.msg[strlen(path)] == ':');
	}
	return 0;
}
