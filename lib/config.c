/*
 * config.c - see config.h.  The core keys are the `core_keys` table below; a plug-in's keys (a
 * provider's) come from the table config_load() is given.  Parsing is two passes: collect every (section, key, value, line) from the file,
 * the environment and the defaults, then validate each value by its type and fill struct config.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define LINE_MAX_LEN 4096

struct core_key {
	const char *section;
	struct config_key k;
	size_t off;             /* offsetof the field in struct config */
};

#define CK(sec, key, type, def, doc, field) \
	{ sec, { key, type, def, doc }, offsetof(struct config, field) }

static const struct core_key core_keys[] = {
	CK("server", "listen", CFG_LISTEN, "127.0.0.1:8080",
	   "address and port the HTTP server listens on", listen_port),
	CK("server", "public_url", CFG_URL, "http://127.0.0.1:8080",
	   "URL providers reach this gateway at; webhook signatures are checked against it",
	   public_url),
	CK("server", "connection_limit", CFG_INT, "1024",
	   "open connections at most; more are refused until some close", connection_limit),
	CK("server", "per_ip_connection_limit", CFG_INT, "256",
	   "open connections from one client address at most (0: no limit)",
	   per_ip_connection_limit),
	CK("server", "connection_timeout", CFG_DURATION, "30s",
	   "a connection idle this long (a slow or stalled client) is closed",
	   connection_timeout_ms),
	CK("server", "request_timeout", CFG_DURATION, "60s",
	   "a request must arrive whole (headers and body) within this long, or its connection is "
	   "closed (0: no limit)",
	   request_timeout_ms),
	CK("server", "health_check_interval", CFG_DURATION, "1s",
	   "GET /healthz writes to the disk at most once per this long; callers in between get the "
	   "last result and its age (0s: every call)",
	   health_check_interval_ms),
	CK("server", "api_keys", CFG_LIST, "",
	   "comma-separated keys accepted in Authorization: Bearer <key> on /v1", api_keys),
	CK("store", "backend", CFG_STRING, "sqlite",
	   "where the data lives: sqlite (the file at path, one gateway process) or postgres (the "
	   "database at url, shared by any number of gateway processes)",
	   store_backend),
	CK("store", "path", CFG_STRING, "var/gateway.db", "SQLite database file", store_path),
	CK("store", "url", CFG_STRING, NULL,
	   "PostgreSQL database when backend = postgres: postgresql://user:password@host:port/db or "
	   "key=value pairs (keep a password in GATEWAY_STORE_URL or PGPASSWORD, never in a "
	   "shared file; it is never logged)",
	   store_url),
	CK("store", "wal_limit_mb", CFG_INT, "64",
	   "the write-ahead log beside the database starts over once it passes this many MiB "
	   "(at least 1)",
	   wal_limit_mb),
	CK("store", "retain_days", CFG_INT, "0",
	   "message texts, comments and raw replies older than this many days are blanked "
	   "(0: kept for ever)",
	   retain_days),
	CK("survey", "brand", CFG_STRING, "Acme", "brand name shown in survey texts ({brand})",
	   brand),
	CK("survey", "default_locale", CFG_LOCALE, "es",
	   "language for customers without customer.locale: es, pt or en", default_locale),
	CK("survey", "expire_after", CFG_DURATION, "48h",
	   "a survey not answered within this time is expired", expire_after_ms),
	CK("survey", "min_days_between", CFG_INT, "30",
	   "days before the same customer is surveyed again (0: off)", min_days_between),
	CK("survey", "quiet_hours", CFG_CLOCK_SPAN, "21:00-09:00",
	   "local hours in which no survey is sent (off: none)", quiet_hours),
	CK("survey", "timezone", CFG_TIMEZONE, "Europe/Madrid",
	   "IANA time zone for quiet hours when the customer has none", timezone),
	CK("survey", "follow_up", CFG_BOOL, "off",
	   "after a score, ask what motivated it; the next text becomes the comment", follow_up),
	CK("survey", "follow_up_window", CFG_DURATION, "24h",
	   "how long after the score a text counts as the follow-up comment", follow_up_window_ms),
	CK("channels", "sms", CFG_PROVIDER, "console", "provider for the sms channel",
	   channel_provider[CHANNEL_SMS]),
	CK("channels", "whatsapp", CFG_PROVIDER, "console", "provider for the whatsapp channel",
	   channel_provider[CHANNEL_WHATSAPP]),
	CK("dispatch", "retry_base", CFG_DURATION, "2s",
	   "first wait before retrying a transient send failure (doubles each attempt)",
	   retry_base_ms),
	CK("dispatch", "retry_cap", CFG_DURATION, "10m", "longest wait between two attempts",
	   retry_cap_ms),
	CK("dispatch", "max_attempts", CFG_INT, "8",
	   "attempts before a transiently failing message is marked failed", max_attempts),
	CK("dispatch", "whatsapp_pair_interval", CFG_DURATION, "6s",
	   "least time between two WhatsApp messages to one person (0s: no pacing)",
	   whatsapp_pair_interval_ms),
	CK("dispatch", "send_lease", CFG_DURATION, "2m",
	   "a send claimed by a process that then stopped answering (a crash, a lost database) "
	   "becomes uncertain after this long; longer than any provider call",
	   send_lease_ms),
	CK("dispatch", "resend_uncertain", CFG_BOOL, "off",
	   "at start, send again messages that may or may not have reached the provider",
	   resend_uncertain),
	CK("sms", "encoding", CFG_SMS_ENCODING, "gsm7-smart",
	   "gsm7-smart: in texts sent by SMS, curly quotes, dashes, ellipses and odd spaces become "
	   "their GSM-7 look-alikes when that makes the whole text GSM-7 (160 characters a segment "
	   "instead of 70); unicode: texts go as written",
	   sms_encoding),
	CK("sms", "fold_accents", CFG_BOOL, "off",
	   "with gsm7-smart, letters with accents GSM-7 lacks (á í ó ú ã õ ç ê ...) lose them too, "
	   "when that makes a text GSM-7",
	   sms_fold_accents),
	CK("events", "url", CFG_URL, NULL,
	   "where each outbound event (response, comment, opt-out, opt-in) is POSTed as JSON; "
	   "unset: no events are recorded",
	   events_url),
	CK("events", "secret", CFG_STRING, NULL,
	   "key of the X-Gateway-Signature HMAC-SHA256; required with url "
	   "(keep it in GATEWAY_EVENTS_SECRET)",
	   events_secret),
	CK("events", "retry_base", CFG_DURATION, "2s",
	   "first wait before delivering a refused event again (doubles each attempt)",
	   events_retry_base_ms),
	CK("events", "retry_cap", CFG_DURATION, "5m",
	   "longest wait between two attempts to deliver an event", events_retry_cap_ms),
	CK("events", "max_age", CFG_DURATION, "72h",
	   "an event still refused this long after it happened is given up (0s: never)",
	   events_max_age_ms),
	CK("events", "timeout", CFG_DURATION, "10s",
	   "how long one delivery may take before it counts as failed", events_timeout_ms),
};

#define N_CORE (sizeof(core_keys) / sizeof(core_keys[0]))


const char *const config_template_keys[] = {
	"nps", "ces", "csat", "thanks", "follow_up", "reprompt", "opt_out", "opt_in", NULL,
};

static const char *const template_locales[] = { "es", "pt", "en", NULL };

static const struct config_key template_keys[] = {
	{ "nps", CFG_STRING, NULL, "the NPS question" },
	{ "ces", CFG_STRING, NULL, "the CES question" },
	{ "csat", CFG_STRING, NULL, "the CSAT question" },
	{ "thanks", CFG_STRING, NULL, "the thank-you after a score" },
	{ "follow_up", CFG_STRING, NULL, "the thank-you that asks what motivated the score" },
	{ "reprompt", CFG_STRING, NULL, "the one re-prompt after a reply that is not a score" },
	{ "opt_out", CFG_STRING, NULL, "the confirmation of an opt-out" },
	{ "opt_in", CFG_STRING, NULL, "the confirmation of an opt-in" },
	{ NULL, 0, NULL, NULL },
};

static const struct config_key rate_key = {
	"rate", CFG_RATE, NULL, "sends per second or minute (80/s, 30/min) or off",
};

/* ---- value parsers ---------------------------------------------------------------------- */

int config_parse_duration_ms(const char *s, int64_t *ms, struct gw_err *err)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "min", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || !isdigit((unsigned char)s[0]) || errno || v < 0 || v > 1000000000LL)
		return gw_errf(err, "'%s' is not a duration (e.g. 500ms, 30s, 10m, 48h, 2d)", s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			*ms = (int64_t)v * units[i].ms;
			return 0;
		}
	}
	return gw_errf(err, "'%s' needs a unit: ms, s, m, h or d (e.g. 48h)", s);
}

int config_parse_rate(const char *s, struct rate *out, struct gw_err *err)
{
	char *end;
	double v;

	if (strcmp(s, "off") == 0) {
		out->off = 1;
		out->per_second = 0;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || !isdigit((unsigned char)s[0]) || errno || !(v > 0) || v > 1e6)
		return gw_errf(err, "'%s' is not a rate (e.g. 1/s, 80/s, 30/min, off)", s);
	out->off = 0;
	if (strcmp(end, "/s") == 0)
		out->per_second = v;
	else if (strcmp(end, "/min") == 0 || strcmp(end, "/m") == 0)
		out->per_second = v / 60.0;
	else if (strcmp(end, "/h") == 0)
		out->per_second = v / 3600.0;
	else
		return gw_errf(err, "'%s' needs a period: /s, /min or /h (e.g. 30/min)", s);
	return 0;
}

int config_parse_bool(const char *s, int *out, struct gw_err *err)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return gw_errf(err, "'%s' is not on or off", s);
}

/* "HH:MM" into minutes after midnight; -1 when malformed. */
static int parse_hhmm(const char *s, size_t len)
{
	int h, m;

	if (len != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

int config_parse_clock_span(const char *s, struct clock_span *out, struct gw_err *err)
{
	const char *dash = strchr(s, '-');

	if (strcmp(s, "off") == 0) {
		memset(out, 0, sizeof(*out));
		out->off = 1;
		return 0;
	}
	if (!dash)
		return gw_errf(err, "'%s' is not a span of hours (e.g. 21:00-09:00, or off)", s);
	out->off = 0;
	out->start_min = parse_hhmm(s, (size_t)(dash - s));
	out->end_min = parse_hhmm(dash + 1, strlen(dash + 1));
	if (out->start_min < 0 || out->end_min < 0 || out->start_min == out->end_min)
		return gw_errf(err, "'%s' is not a span of hours (e.g. 21:00-09:00, or off)", s);
	return 0;
}

static int parse_int(const char *s, int *out, struct gw_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > 1000000 || !isdigit((unsigned char)s[0]))
		return gw_errf(err, "'%s' is not a whole number from 0 to 1000000", s);
	*out = (int)v;
	return 0;
}

static int parse_listen(const char *s, char *host, size_t host_len, int *port, struct gw_err *err)
{
	const char *colon = strrchr(s, ':');
	int p;

	if (!colon || colon == s || (size_t)(colon - s) >= host_len ||
	    parse_int(colon + 1, &p, NULL) < 0 || p < 1 || p > 65535)
		return gw_errf(err, "'%s' is not host:port (e.g. 127.0.0.1:8080)", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = p;
	return 0;
}

static int check_url(const char *s, struct gw_err *err)
{
	size_t scheme = strncmp(s, "http://", 7) == 0 ? 7 : strncmp(s, "https://", 8) == 0 ? 8 : 0;

	if (!scheme || !s[scheme] || s[scheme] == '/')
		return gw_errf(err, "'%s' is not an http:// or https:// URL", s);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ')
			return gw_errf(err, "'%s' must not contain spaces or control characters", s);
	return 0;
}

/* 1 when `path` is a compiled time zone (a regular file starting with the TZif magic): not a
 * folder such as "Europe", nor a text file such as "leapseconds". */
static int is_tzif(const char *path)
{
	char magic[4];
	struct stat st;
	FILE *f;
	int ok;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !(f = fopen(path, "rb")))
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

int config_check_timezone(const char *name, struct gw_err *err)
{
	char path[512];

	/* A name, never a path: letters, digits and _+-/ only, no "..", no leading '/'. */
	if (!*name || name[0] == '/' || strstr(name, "..") || strlen(name) > 64)
		return gw_errf(err, "'%s' is not a time zone name (e.g. Europe/Madrid)", name);
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("_+-/", *c))
			return gw_errf(err, "'%s' is not a time zone name (e.g. Europe/Madrid)", name);
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	if (!is_tzif(path))
		return gw_errf(err, "'%s' is not a time zone in /usr/share/zoneinfo "
			       "(a name such as America/Mexico_City; is tzdata installed?)", name);
	return 0;
}

/* Validates `value` as `type` without storing it. */
/* The plug-in called `name`, or NULL. */
static const struct config_plugin *plugin_find(const struct config *cfg, const char *name)
{
	for (const struct config_plugin *p = cfg->plugins; p && p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static int check_value(const struct config *cfg, enum config_type type, const char *value,
		       struct gw_err *err)
{
	char host[64];
	int i;
	int64_t d;
	struct rate r;
	struct clock_span cs;

	switch (type) {
	case CFG_STRING:
	case CFG_LIST:
		return 0;
	case CFG_INT:
		return parse_int(value, &i, err);
	case CFG_BOOL:
		return config_parse_bool(value, &i, err);
	case CFG_DURATION:
		return config_parse_duration_ms(value, &d, err);
	case CFG_RATE:
		return config_parse_rate(value, &r, err);
	case CFG_LISTEN:
		return parse_listen(value, host, sizeof(host), &i, err);
	case CFG_URL:
		return check_url(value, err);
	case CFG_CLOCK_SPAN:
		return config_parse_clock_span(value, &cs, err);
	case CFG_TIMEZONE:
		return config_check_timezone(value, err);
	case CFG_SMS_ENCODING:
		if (strcmp(value, "gsm7-smart") && strcmp(value, "unicode"))
			return gw_errf(err, "'%s' is not an SMS encoding: gsm7-smart or unicode", value);
		return 0;
	case CFG_LOCALE:
		if (strcmp(value, "es") && strcmp(value, "pt") && strcmp(value, "en"))
			return gw_errf(err, "'%s' is not a supported locale: es, pt or en", value);
		return 0;
	case CFG_PROVIDER:
		if (!plugin_find(cfg, value)) {
			char names[128] = "";

			for (size_t j = 0; cfg->plugins && cfg->plugins[j].name; j++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
					 j ? ", " : "", cfg->plugins[j].name);
			return gw_errf(err, "'%s' is not a provider (%s)", value, names);
		}
		return 0;
	}
	return gw_errf(err, "unknown type");
}

/* ---- the key table, core and providers ------------------------------------------------ */

/* The key table of section "provider.NAME", or NULL. */
static const struct config_key *provider_keys(const struct config *cfg, const char *section)
{
	const struct config_plugin *p;
	static const struct config_key none[] = { { NULL, 0, NULL, NULL } };

	if (strncmp(section, "provider.", 9) != 0)
		return NULL;
	if ((p = plugin_find(cfg, section + 9)))
		return p->keys ? p->keys : none;
	return NULL;
}

/* A key of a provider's [templates.NAME]: "nps.es" ... "csat.en", or "params". */
static const struct config_key provider_template_key = {
	"template", CFG_STRING, NULL,
	"the provider's template for a kind and locale (KIND.LOCALE), or its parameters (params)",
};

/* 1 for "templates.NAME" of a registered provider. */
static int is_provider_template_section(const struct config *cfg, const char *name)
{
	char section[64];

	if (strncmp(name, "templates.", 10) != 0)
		return 0;
	snprintf(section, sizeof(section), "provider.%s", name + 10);
	return provider_keys(cfg, section) != NULL;
}

/* 1 for "nps.es" ... "csat.en" and "params". */
static int is_provider_template_key(const char *key)
{
	static const char *const kinds[] = { "nps", "ces", "csat" };

	if (strcmp(key, "params") == 0)
		return 1;
	for (size_t k = 0; k < 3; k++) {
		size_t n = strlen(kinds[k]);

		if (strncmp(key, kinds[k], n) == 0 && key[n] == '.')
			for (size_t l = 0; template_locales[l]; l++)
				if (strcmp(key + n + 1, template_locales[l]) == 0)
					return 1;
	}
	return 0;
}

/* 1 for "templates.es", "templates.pt", "templates.en". */
static int is_template_section(const char *name)
{
	if (strncmp(name, "templates.", 10) != 0)
		return 0;
	for (size_t i = 0; template_locales[i]; i++)
		if (strcmp(name + 10, template_locales[i]) == 0)
			return 1;
	return 0;
}

/* The table row for section.key, or NULL when the gateway has no such key. */
static const struct config_key *key_lookup(const struct config *cfg, const char *section,
					   const char *key)
{
	const struct config_key *keys;

	for (size_t i = 0; i < N_CORE; i++)
		if (strcmp(core_keys[i].section, section) == 0 && strcmp(core_keys[i].k.key, key) == 0)
			return &core_keys[i].k;
	if (is_provider_template_section(cfg, section))
		return is_provider_template_key(key) ? &provider_template_key : NULL;
	if (is_template_section(section)) {
		for (const struct config_key *k = template_keys; k->key; k++)
			if (strcmp(k->key, key) == 0)
				return k;
		return NULL;
	}
	if (!(keys = provider_keys(cfg, section)))
		return NULL;
	if (strcmp(key, "rate") == 0)
		return &rate_key;
	for (const struct config_key *k = keys; k->key; k++)
		if (strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

static int section_known(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < N_CORE; i++)
		if (strcmp(core_keys[i].section, name) == 0)
			return 1;
	return provider_keys(cfg, name) != NULL || is_template_section(name) ||
	       is_provider_template_section(cfg, name);
}

/* ---- sections and entries ------------------------------------------------------------- */

static struct config_section *section_get(struct config *cfg, const char *name)
{
	struct config_section *s;

	for (size_t i = 0; i < cfg->n_sections; i++)
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	s = realloc(cfg->sections, (cfg->n_sections + 1) * sizeof(*s));
	if (!s)
		return NULL;
	cfg->sections = s;
	s = &cfg->sections[cfg->n_sections];
	memset(s, 0, sizeof(*s));
	if (!(s->name = strdup(name)))
		return NULL;
	cfg->n_sections++;
	return s;
}

const struct config_section *config_section_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sections; i++)
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	return NULL;
}

const struct config_entry *config_entry_find(const struct config_section *sec, const char *key)
{
	for (size_t i = 0; sec && i < sec->n; i++)
		if (strcmp(sec->entries[i].key, key) == 0)
			return &sec->entries[i];
	return NULL;
}

const char *config_get(const struct config_section *sec, const char *key)
{
	const struct config_entry *e = config_entry_find(sec, key);

	return e ? e->value : NULL;
}

/* Sets key in sec (copies of key, value and origin), replacing an earlier value. */
static int entry_set(struct config_section *sec, const char *key, const char *value,
		     const char *origin, int line, int from_default)
{
	struct config_entry *e = (struct config_entry *)config_entry_find(sec, key);
	char *v = strdup(value), *o = strdup(origin);

	if (!v || !o) {
		free(v);
		free(o);
		return -1;
	}
	if (!e) {
		e = realloc(sec->entries, (sec->n + 1) * sizeof(*e));
		if (!e) {
			free(v);
			free(o);
			return -1;
		}
		sec->entries = e;
		e = &sec->entries[sec->n];
		if (!(e->key = strdup(key))) {
			free(v);
			free(o);
			return -1;
		}
		sec->n++;
	} else {
		free(e->value);
		free(e->origin);
	}
	e->value = v;
	e->origin = o;
	e->line = line;
	e->from_default = from_default;
	return 0;
}

void config_env_name(const char *section, const char *key, char *out, size_t n)
{
	const char *parts[2] = { section, key };
	size_t j = 0;

	if (!n)
		return;
	for (const char *c = "GATEWAY_"; *c && j + 1 < n; c++)
		out[j++] = *c;
	for (int p = 0; p < 2; p++) {
		for (const char *c = parts[p]; *c && j + 1 < n; c++)
			out[j++] = (*c == '.' || *c == '-') ? '_' : (char)toupper((unsigned char)*c);
		if (p == 0 && j + 1 < n)
			out[j++] = '_';
	}
	out[j] = '\0';
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Reads the INI file into cfg's sections.  Every error names path:line. */
static int read_file(struct config *cfg, const char *path, struct gw_err *err)
{
	char line[LINE_MAX_LEN];
	char section[64] = "";
	struct config_section *sec = NULL;
	FILE *f = fopen(path, "r");
	int lineno = 0, rc = -1;

	if (!f)
		return gw_errf(err, "%s: cannot open: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *value;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			gw_errf(err, "%s:%d: line longer than %d bytes", path, lineno, LINE_MAX_LEN - 2);
			goto out;
		}
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (!close || close[1] || close - s - 1 >= (long)sizeof(section)) {
				gw_errf(err, "%s:%d: malformed section header '%s'", path, lineno, s);
				goto out;
			}
			*close = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			if (!section_known(cfg, section)) {
				gw_errf(err, "%s:%d: [%s]: unknown section", path, lineno, section);
				goto out;
			}
			if (!(sec = section_get(cfg, section)))
				goto oom;
			continue;
		}
		if (!(eq = strchr(s, '='))) {
			gw_errf(err, "%s:%d: %s: expected key = value", path, lineno, s);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (!sec) {
			gw_errf(err, "%s:%d: %s: key outside any [section]", path, lineno, key);
			goto out;
		}
		if (!key_lookup(cfg, section, key)) {
			gw_errf(err, "%s:%d: %s: unknown key in [%s]", path, lineno, key, section);
			goto out;
		}
		if (config_entry_find(sec, key)) {
			gw_errf(err, "%s:%d: %s: set twice in [%s] (line %d)", path, lineno, key, section,
				config_entry_find(sec, key)->line);
			goto out;
		}
		if (entry_set(sec, key, value, cfg->path, lineno, 0) < 0)
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	gw_errf(err, "%s:%d: out of memory", path, lineno);
out:
	fclose(f);
	return rc;
}

/* Applies GATEWAY_<SECTION>_<KEY> for one key, then its default when still unset. */
static int apply_env_and_default(struct config *cfg, const char *section,
				 const struct config_key *k, const char *def_override)
{
	char name[128];
	const char *v, *def = def_override ? def_override : k->def;
	struct config_section *sec = section_get(cfg, section);

	if (!sec)
		return -1;
	config_env_name(section, k->key, name, sizeof(name));
	if ((v = getenv(name)))
		return entry_set(sec, k->key, v, name, 0, 0);
	if (!config_entry_find(sec, k->key) && def)
		return entry_set(sec, k->key, def, "default", 0, 1);
	return 0;
}

/* Environment overrides and defaults for one provider section's keys and its rate. */
static int apply_provider_section(struct config *cfg, const char *name,
				  const struct config_key *keys, const char *default_rate)
{
	char section[64];

	snprintf(section, sizeof(section), "provider.%s", name);
	if (apply_env_and_default(cfg, section, &rate_key, default_rate) < 0)
		return -1;
	for (const struct config_key *k = keys; k && k->key; k++)
		if (apply_env_and_default(cfg, section, k, NULL) < 0)
			return -1;
	return 0;
}

static int apply_all_env_and_defaults(struct config *cfg)
{
	for (size_t i = 0; i < N_CORE; i++)
		if (apply_env_and_default(cfg, core_keys[i].section, &core_keys[i].k, NULL) < 0)
			return -1;
	for (const struct config_plugin *p = cfg->plugins; p && p->name; p++)
		if (apply_provider_section(cfg, p->name, p->keys, p->default_rate) < 0)
			return -1;
	for (size_t i = 0; template_locales[i]; i++) {
		char section[32];

		snprintf(section, sizeof(section), "templates.%s", template_locales[i]);
		for (const struct config_key *k = template_keys; k->key; k++)
			if (apply_env_and_default(cfg, section, k, NULL) < 0)
				return -1;
	}
	return 0;
}

/* Validates every entry by its type; the error names where the value came from. */
static int validate_all(struct config *cfg, struct gw_err *err)
{
	struct gw_err why;

	for (size_t i = 0; i < cfg->n_sections; i++) {
		struct config_section *sec = &cfg->sections[i];

		for (size_t j = 0; j < sec->n; j++) {
			struct config_entry *e = &sec->entries[j];
			const struct config_key *k = key_lookup(cfg, sec->name, e->key);

			gw_err_clear(&why);
			/* "https://api.twilio.com/" means the same as without the slash. */
			if (k && k->type == CFG_URL)
				while (strlen(e->value) > 8 && e->value[strlen(e->value) - 1] == '/')
					e->value[strlen(e->value) - 1] = '\0';
			if (k && check_value(cfg, k->type, e->value, &why) == 0)
				continue;
			if (e->line)
				return gw_errf(err, "%s:%d: %s: %s", e->origin, e->line, e->key, why.msg);
			return gw_errf(err, "%s: %s: %s", e->origin, e->key, why.msg);
		}
	}
	return 0;
}

/* Splits "a, b,c" into a NULL-terminated array of trimmed non-empty words (any length). */
static int split_list(const char *s, char ***out, size_t *n)
{
	char **v = calloc(1, sizeof(*v));
	size_t cnt = 0;

	if (!v)
		return -1;
	while (*s) {
		size_t len = strcspn(s, ",");
		char *word = strndup(s, len), **nv;

		s += len + (s[len] == ',');
		if (!word)
			goto fail;
		if (!*trim(word)) {
			free(word);
			continue;
		}
		if (!(nv = realloc(v, (cnt + 2) * sizeof(*v)))) {
			free(word);
			goto fail;
		}
		v = nv;
		memmove(word, trim(word), strlen(trim(word)) + 1);
		v[cnt++] = word;
		v[cnt] = NULL;
	}
	*out = v;
	*n = cnt;
	return 0;
fail:
	for (size_t i = 0; i < cnt; i++)
		free(v[i]);
	free(v);
	return -1;
}

/* Fills the typed fields of cfg from the (already validated) core entries. */
static int fill_core(struct config *cfg)
{
	for (size_t i = 0; i < N_CORE; i++) {
		const struct core_key *ck = &core_keys[i];
		const char *v = config_get(config_section_find(cfg, ck->section), ck->k.key);
		char *field = (char *)cfg + ck->off;

		if (!v)
			continue;
		switch (ck->k.type) {
		case CFG_LISTEN:
			parse_listen(v, cfg->listen_host, sizeof(cfg->listen_host), &cfg->listen_port, NULL);
			break;
		case CFG_LIST:
			if (split_list(v, &cfg->api_keys, &cfg->n_api_keys) < 0)
				return -1;
			break;
		case CFG_INT:
			parse_int(v, (int *)field, NULL);
			break;
		case CFG_BOOL:
			config_parse_bool(v, (int *)field, NULL);
			break;
		case CFG_DURATION:
			config_parse_duration_ms(v, (int64_t *)field, NULL);
			break;
		case CFG_CLOCK_SPAN:
			config_parse_clock_span(v, (struct clock_span *)field, NULL);
			break;
		default:
			if (!(*(char **)field = strdup(v)))
				return -1;
			break;
		}
	}
	return 0;
}

/* [events]: a url needs a secret (an unsigned event could come from anyone) and a delivery needs
 * a time limit.  The error names where the url (or the timeout) was set. */
static int check_events(const struct config *cfg, struct gw_err *err)
{
	const struct config_section *sec = config_section_find(cfg, "events");
	const struct config_entry *e = config_entry_find(sec, "url");
	const char *key = "secret", *why = "required when [events] url is set";

	if (!cfg->events_url)
		return 0;
	if (cfg->events_secret && cfg->events_secret[0]) {
		if (cfg->events_timeout_ms > 0)
			return 0;
		e = config_entry_find(sec, "timeout");
		key = "timeout";
		why = "must be more than 0 when [events] url is set";
	}
	if (e && e->line)
		return gw_errf(err, "%s:%d: %s: %s", e->origin, e->line, key, why);
	return gw_errf(err, "%s: %s: %s", e ? e->origin : "[events]", key, why);
}

/* An error about [section] key, named where `at` (a key of the section) was set (file and
 * line, or the environment), else the section. */
static int config_key_error(const struct config *cfg, const char *section, const char *at,
			    const char *key, const char *why, struct gw_err *err)
{
	const struct config_entry *e = config_entry_find(config_section_find(cfg, section), at);

	if (e && e->line)
		return gw_errf(err, "%s:%d: %s: %s", e->origin, e->line, key, why);
	if (e)
		return gw_errf(err, "%s: %s: %s", e->origin, key, why);
	return gw_errf(err, "[%s]: %s: %s", section, key, why);
}

/* [store]: a known backend, PostgreSQL's url, and wal_limit_mb: a log that may never hold a
 * page would be reset after every write. */
static int check_store(const struct config *cfg, struct gw_err *err)
{
	const struct config_entry *e =
		config_entry_find(config_section_find(cfg, "store"), "wal_limit_mb");

	if (strcmp(cfg->store_backend, "sqlite") != 0 &&
	    strcmp(cfg->store_backend, "postgres") != 0)
		return config_key_error(cfg, "store", "backend", "backend",
					"must be sqlite or postgres", err);
	if (strcmp(cfg->store_backend, "postgres") == 0 && (!cfg->store_url || !cfg->store_url[0]))
		return config_key_error(cfg, "store", cfg->store_url ? "url" : "backend", "url",
					"required when [store] backend = postgres", err);
	if (cfg->send_lease_ms < 1000)
		return config_key_error(cfg, "dispatch", "send_lease", "send_lease",
					"must be at least 1s", err);
	if (cfg->wal_limit_mb >= 1)
		return 0;
	if (e && e->line)
		return gw_errf(err, "%s:%d: wal_limit_mb: must be at least 1", e->origin, e->line);
	return gw_errf(err, "%s: wal_limit_mb: must be at least 1", e ? e->origin : "[store]");
}

int config_load(struct config *cfg, const char *path, const struct config_plugin *plugins,
		struct gw_err *err)
{
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	cfg->plugins = plugins;
	if (!path) {
		if (access("gateway.conf", F_OK) == 0)
			path = "gateway.conf";
		else if (access("gateway.conf.example", F_OK) == 0)
			path = "gateway.conf.example";
	}
	if (path && !(cfg->path = strdup(path))) {
		gw_errf(err, "out of memory");
		goto out;
	}
	if (path && read_file(cfg, path, err) < 0)
		goto out;
	if (apply_all_env_and_defaults(cfg) < 0) {
		gw_errf(err, "out of memory");
		goto out;
	}
	if (validate_all(cfg, err) < 0)
		goto out;
	if (fill_core(cfg) < 0) {
		gw_errf(err, "out of memory");
		goto out;
	}
	if (check_events(cfg, err) < 0 || check_store(cfg, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		config_release(cfg);
	return rc;
}

void config_release(struct config *cfg)
{
	for (size_t i = 0; i < N_CORE; i++) {
		const struct core_key *ck = &core_keys[i];

		if (ck->k.type == CFG_STRING || ck->k.type == CFG_URL || ck->k.type == CFG_LOCALE ||
		    ck->k.type == CFG_PROVIDER || ck->k.type == CFG_TIMEZONE ||
		    ck->k.type == CFG_SMS_ENCODING)
			free(*(char **)((char *)cfg + ck->off));
	}
	for (size_t i = 0; i < cfg->n_api_keys; i++)
		free(cfg->api_keys[i]);
	free(cfg->api_keys);
	for (size_t i = 0; i < cfg->n_sections; i++) {
		for (size_t j = 0; j < cfg->sections[i].n; j++) {
			free(cfg->sections[i].entries[j].key);
			free(cfg->sections[i].entries[j].value);
			free(cfg->sections[i].entries[j].origin);
		}
		free(cfg->sections[i].entries);
		free(cfg->sections[i].name);
	}
	free(cfg->sections);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}
