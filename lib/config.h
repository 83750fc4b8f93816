/*
 * config.h - gateway.conf: an INI file, overridden key by key by GATEWAY_<SECTION>_<KEY>
 * environment variables, validated against one declarative table.
 *
 * Every key the gateway knows is a row of that table ({section, key, type, default, doc}): the core
 * sections' rows live in config.c, each provider's in its own `provider_ops.keys`.  The table drives
 * parsing, validation, defaults and environment overrides, so a key exists in exactly one place.
 *
 * Any error stops start-up with "FILE:LINE: key: reason" (for an environment override,
 * "GATEWAY_X: key: reason").  A missing file is allowed only when no path was asked for: the
 * embedded defaults then run the gateway on SQLite and the console provider.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gwerr.h"
#include "vocab.h"

enum config_type {
	CFG_STRING,     /* any text */
	CFG_INT,        /* a whole number >= 0 */
	CFG_BOOL,       /* on/off, true/false, yes/no, 1/0 */
	CFG_DURATION,   /* 250ms, 90s, 30m, 48h, 2d */
	CFG_RATE,       /* 80/s, 30/min, 1000/h, off */
	CFG_LISTEN,     /* host:port */
	CFG_URL,        /* http:// or https://; a trailing slash is dropped */
	CFG_LIST,       /* comma-separated words */
	CFG_CLOCK_SPAN, /* HH:MM-HH:MM, or off */
	CFG_LOCALE,     /* es, pt, en */
	CFG_PROVIDER,   /* the name of a registered provider */
	CFG_TIMEZONE,   /* an IANA time zone name found in the system's zoneinfo */
	CFG_SMS_ENCODING, /* gsm7-smart or unicode */
};

/* One row of the table. */
struct config_key {
	const char *key;
	enum config_type type;
	const char *def;        /* default as it would be written in the file; NULL: no default */
	const char *doc;        /* one line for --help and the example file */
};

/* One key's effective value and where it came from. */
struct config_entry {
	char *key;
	char *value;
	char *origin;           /* file path, "GATEWAY_..." or "default" (owned) */
	int line;               /* 0 for defaults and environment overrides */
	int from_default;
};

/* A section's effective values: what a provider reads in its init(). */
struct config_section {
	char *name;             /* "server", "provider.twilio", ... */
	struct config_entry *entries;
	size_t n;
};

struct rate {
	int off;                /* 1: unpaced */
	double per_second;
};

struct clock_span {
	int off;
	int start_min, end_min; /* minutes after midnight */
};

/* The typed view of the core sections, filled by config_load(). */
struct config {
	char *path;                             /* file that was read, or NULL */
	char listen_host[64];
	int listen_port;
	char *public_url;
	int connection_limit;                   /* open connections at most */
	int per_ip_connection_limit;            /* from one client address at most */
	int64_t connection_timeout_ms;          /* idle connections are closed after this */
	int64_t request_timeout_ms;             /* a request must arrive whole within this (0: off) */
	char **api_keys;
	size_t n_api_keys;
	int64_t health_check_interval_ms;       /* /healthz probes the disk at most this often */
	char *store_backend;                    /* "sqlite" or "postgres" */
	char *store_path;
	char *store_url;                        /* postgres: may hold the password */
	int wal_limit_mb;                       /* the log is emptied past this size */
	int retain_days;                        /* texts older than this are blanked (0: never) */
	char *brand;
	char *default_locale;
	int64_t expire_after_ms;
	int min_days_between;
	struct clock_span quiet_hours;
	char *timezone;
	int follow_up;                          /* ask an open question after the score */
	int64_t follow_up_window_ms;
	char *channel_provider[CHANNEL__COUNT]; /* provider name per channel */
	int64_t retry_base_ms, retry_cap_ms;
	int max_attempts;
	int resend_uncertain;
	int64_t whatsapp_pair_interval_ms;
	int64_t send_lease_ms; /* a claim's lease */
	/* [sms]: how texts sent by SMS are encoded (texts.h, sms.h) */
	char *sms_encoding;                     /* "gsm7-smart" or "unicode" */
	int sms_fold_accents;
	/* [events]: outbound events; no url, no events */
	char *events_url;
	char *events_secret;                    /* required with a url */
	int64_t events_retry_base_ms, events_retry_cap_ms;
	int64_t events_max_age_ms;              /* 0: retry for ever */
	int64_t events_timeout_ms;

	const struct config_plugin *plugins;    /* config_load()'s, NULL-name-terminated */
	struct config_section *sections;        /* every section, defaults included */
	size_t n_sections;
};

/*
 * A plug-in's sections (a provider's, given by the provider registry: config knows no provider):
 * [provider.NAME] with `keys` ({NULL}-terminated) plus `rate` (default `default_rate`), and
 * [templates.NAME] with KIND.LOCALE and params.  Arrays of them end with a NULL name.
 */
struct config_plugin {
	const char *name;
	const struct config_key *keys;
	const char *default_rate;
};

/* Reads `path` (NULL: gateway.conf, else gateway.conf.example, else embedded defaults), applies
 * environment overrides and validates every value; `plugins` (may be NULL) adds their sections
 * and the names a CFG_PROVIDER value may take, and must outlive `cfg`.  0, or -1 with
 * "FILE:LINE: key: reason" in err->msg.  On success the caller releases `cfg` with
 * config_release().  (provider_config_load() calls it with every registered provider.) */
int config_load(struct config *cfg, const char *path, const struct config_plugin *plugins,
		struct gw_err *err);

/* Frees everything config_load() allocated. */
void config_release(struct config *cfg);

/* The section called `name`, or NULL. */
const struct config_section *config_section_find(const struct config *cfg, const char *name);

/* The value of `key` in `sec`, or NULL when unset and without default. */
const char *config_get(const struct config_section *sec, const char *key);
const struct config_entry *config_entry_find(const struct config_section *sec, const char *key);

/* Value parsers, shared with providers and tests.  0 on success, -1 with a reason in err->msg. */
int config_parse_duration_ms(const char *s, int64_t *ms, struct gw_err *err);
int config_parse_rate(const char *s, struct rate *out, struct gw_err *err);
int config_parse_bool(const char *s, int *out, struct gw_err *err);
int config_parse_clock_span(const char *s, struct clock_span *out, struct gw_err *err);

/* 0 when `name` is an IANA time zone the system knows (a file under /usr/share/zoneinfo). */
int config_check_timezone(const char *name, struct gw_err *err);

/* The [templates.<locale>] keys, NULL-terminated: nps ces csat thanks follow_up reprompt opt_out
 * opt_in. */
extern const char *const config_template_keys[];

/* Writes "GATEWAY_<SECTION>_<KEY>" for a section and key into out (size n). */
void config_env_name(const char *section, const char *key, char *out, size_t n);

#endif
