/*
 * gateway.h - the running gateway: configuration, store, provider instances, dispatcher and HTTP
 * server, all owned by one `struct gateway` that is passed to whoever needs it (no globals).
 */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <stdint.h>

#include "config.h"
#include "provider.h"
#include "store.h"
#include "survey.h"

#define GATEWAY_MAX_PROVIDERS 8

struct dispatcher;
struct metrics;
struct events;
struct server;
struct texts;

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
	char fake_clock[256];               /* GATEWAY_FAKE_CLOCK, or "" for the system clock */
};

/* Creates the provider instances the channels need and opens the store.  0, or -1 with err. */
int gateway_init(struct gateway *gw, struct gw_err *err);
void gateway_release(struct gateway *gw);

/* The instance called `name`, or NULL when no channel uses it. */
struct provider *gateway_provider(struct gateway *gw, const char *name);

/* Now, in Unix seconds.  Tests move time with GATEWAY_FAKE_CLOCK=FILE: the gateway then reads
 * now from FILE (Unix seconds as text) each time it asks, and falls back to the system clock
 * when the file cannot be read. */
int64_t gateway_now(const struct gateway *gw);

/* Masks a phone number for logs: "+34*****1222". */
void mask_phone(const char *phone, char *out, size_t n);

#endif
