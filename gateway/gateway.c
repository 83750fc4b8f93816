/* gateway.c - see gateway.h. */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "texts.h"

/* [templates.NAME] of provider NAME, or NULL. */
static const struct config_section *templates_section(const struct config *cfg, const char *name)
{
	char section[64];

	snprintf(section, sizeof(section), "templates.%s", name);
	return config_section_find(cfg, section);
}

int gateway_init(struct gateway *gw, struct gw_err *err)
{
	const char *fake = getenv("GATEWAY_FAKE_CLOCK");
	char section[64];

	snprintf(gw->fake_clock, sizeof(gw->fake_clock), "%s", fake ? fake : "");
	pthread_mutex_init(&gw->health.lock, NULL);
	if (!(gw->metrics = metrics_new()))
		return gw_errf(err, "out of memory");
	if (!(gw->texts = texts_create(&gw->cfg, err)))
		return -1;
	for (int c = 0; c < CHANNEL__COUNT; c++) {
		const char *name = gw->cfg.channel_provider[c];
		const struct provider_ops *ops = provider_find(name);
		struct provider *p = gateway_provider(gw, name);

		if (!p) {
			snprintf(section, sizeof(section), "provider.%s", name);
			if (!ops || gw->n_providers == GATEWAY_MAX_PROVIDERS)
				return gw_errf(err, "[channels] %s: no provider '%s'",
					       channel_name((enum channel)c), name);
			p = provider_create(ops, config_section_find(&gw->cfg, section),
					    templates_section(&gw->cfg, name), gw->cfg.public_url, err);
			if (!p)
				return -1;
			gw->providers[gw->n_providers++] = p;
		}
		gw->channel_provider[c] = p;
	}
	if (!(gw->store = store_open_backend(gw->cfg.store_backend, gw->cfg.store_path,
					     gw->cfg.store_url, err)))
		return -1;
	if (store_set_log_limit(gw->store, (int64_t)gw->cfg.wal_limit_mb << 20, err) < 0)
		return -1;
	store_set_pair_interval(gw->store, (gw->cfg.whatsapp_pair_interval_ms + 999) / 1000);
	store_set_send_lease(gw->store, (gw->cfg.send_lease_ms + 999) / 1000);
	return 0;
}

void gateway_release(struct gateway *gw)
{
	for (size_t i = 0; i < gw->n_providers; i++)
		provider_free(gw->providers[i]);
	gw->n_providers = 0;
	store_close(gw->store);
	gw->store = NULL;
	texts_free(gw->texts);
	gw->texts = NULL;
	metrics_free(gw->metrics);
	gw->metrics = NULL;
	pthread_mutex_destroy(&gw->health.lock);
}

struct provider *gateway_provider(struct gateway *gw, const char *name)
{
	for (size_t i = 0; name && i < gw->n_providers; i++)
		if (strcmp(provider_name(gw->providers[i]), name) == 0)
			return gw->providers[i];
	return NULL;
}

int64_t gateway_now(const struct gateway *gw)
{
	char text[32];
	long long t;
	size_t n;
	FILE *f;

	if (!gw->fake_clock[0] || !(f = fopen(gw->fake_clock, "r")))
		return (int64_t)time(NULL);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (sscanf(text, "%lld", &t) != 1)
		return (int64_t)time(NULL);
	return (int64_t)t;
}

int64_t gateway_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
