/*
 * metrics.h - the gateway's counters, served by GET /metrics in Prometheus' text format (0.0.4).
 *
 * Counters are lock-free (relaxed atomics) and bumped where things happen: the trigger route,
 * the dispatcher, the conversation rules, the HTTP server.  The gauges (the outbox's depth,
 * whether a provider is paused, the store's log) are read by status.c when /metrics is asked
 * for.  Labels take a small fixed set of values each, so a scrape is a few hundred lines at
 * most.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>

#include "buf.h"
#include "vocab.h"

/* What became of a trigger. */
enum metric_trigger { MT_QUEUED, MT_EXISTING, MT_SKIPPED, MT_OPTED_OUT, MT__COUNT };

/* What became of one send attempt (the dispatcher's result names). */
enum metric_send { MS_ACCEPTED, MS_RETRY, MS_FAILED, MS_TEMPLATE, MS_PAUSED, MS__COUNT };

/* What the conversation rules did with an inbound text (store.h's enum inbound_action), and a
 * redelivered one. */
enum metric_reply {
	MR_STORE, MR_ANSWER, MR_REPROMPT, MR_COMMENT, MR_OPT_OUT, MR_OPT_IN, MR_DUPLICATE, MR__COUNT
};

#define METRICS_MAX_PROVIDERS 8

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

void metrics_trigger(struct metrics *m, enum survey_kind k, enum channel c, enum metric_trigger t);
/* provider: its index in gw->providers; seconds < 0 when no HTTP call was made. */
void metrics_send(struct metrics *m, size_t provider, enum metric_send r, double seconds);
/* The word for r, as /metrics labels it and the send log prints it ("accepted", "retry", ...). */
const char *metrics_send_name(enum metric_send r);
void metrics_reply(struct metrics *m, size_t provider, enum metric_reply r);
/* An SMS the provider accepted: the segments it is billed as, in GSM-7 or (ucs2) UCS-2. */
void metrics_sms_segments(struct metrics *m, size_t provider, int ucs2, int segments);
void metrics_http(struct metrics *m, int status);
/* GET /healthz ran its write probe. */
void metrics_health_probe(struct metrics *m);

/* Writes every counter of `m` as Prometheus text; providers[0..np) name the provider indexes
 * the counters were bumped with (the gauges are status.c's). */
void metrics_render_counters(struct metrics *m, const char *const *providers, size_t np,
			     struct buf *out);

/* The "# HELP" and "# TYPE" lines of one metric. */
void metrics_head(struct buf *out, const char *name, const char *type, const char *help);

#endif
