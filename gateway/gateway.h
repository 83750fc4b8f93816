/*
 * gateway.h - the running gateway: configuration, store, provider instances, dispatcher and HTTP
 * server, all owned by one `struct gateway` that is passed to whoever needs it (no globals).
 */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "phone.h"
#include "provider.h"
#include "store.h"
#include "vocab.h"

#define GATEWAY_MAX_PROVIDERS 8

struct dispatcher;
struct metrics;
struct events;
struct server;
struct texts;

/* GET /healthz's write probe, shared by every caller within one [server] health_check_interval. */
struct health_probe {
	pthread_mutex_t lock;           /* held while a probe runs: callers meanwhile wait for it */
	int64_t at_ms;                  /* monotonic ms of the last probe; 0: none yet */
	int rc;                         /* its result: 0, or -1 with err */
	struct gw_err err;
};

struct gateway {
	struct config cfg;
	struct store *store;
	struct provider *providers[GATEWAY_MAX_PROVIDERS];  /* the instances [channels] uses */
	size_t n_providers;
	struct provider *channel_provider[CHANNEL__COUNT];
	struct dispatcher *dispatcher;
	struct events *events;              /* outbound events' delivery; NULL without [events] url */
	struct server *server;
	struct texts *texts;                /* what customers read, built-ins + [templates.*] */
	struct metrics *metrics;            /* GET /metrics counters */
	struct health_probe health;
	char fake_clock[256];               /* GATEWAY_FAKE_CLOCK, or "" for the system clock */
};

/* Creates the provider instances the channels need and opens the store.  0, or -1 with err;
 * either way the caller releases `gw` with gateway_release() once. */
int gateway_init(struct gateway *gw, struct gw_err *err);
void gateway_release(struct gateway *gw);

/* The instance called `name`, or NULL when no channel uses it. */
struct provider *gateway_provider(struct gateway *gw, const char *name);

/* Now, in Unix seconds.  Tests move time with GATEWAY_FAKE_CLOCK=FILE: the gateway then reads
 * now from FILE (Unix seconds as text) each time it asks, and falls back to the system clock
 * when the file cannot be read. */
int64_t gateway_now(const struct gateway *gw);

/* Milliseconds on the monotonic clock (never moved by GATEWAY_FAKE_CLOCK): for intervals. */
int64_t gateway_monotonic_ms(void);


#endif
