/*
 * dispatcher.h - the thread that sends the outbox.
 *
 * It claims due messages per provider (as many as that provider's token bucket allows), sends
 * them (HTTP providers concurrently through one libcurl multi handle, which keeps connections
 * alive between batches; local providers directly), and records each outcome: accepted (with the
 * provider's message id), transient (queued again after exponential backoff with jitter, up to
 * [dispatch] max_attempts) or permanent (failed, with the provider's code and message).
 *
 * Contract: dispatcher_start() either fails (no thread runs) or starts the thread, which runs until
 * dispatcher_stop(); dispatcher_wake() may be called from any thread at any time in between.
 */
#ifndef GW_DISPATCHER_H
#define GW_DISPATCHER_H

#include "gateway.h"

struct dispatcher *dispatcher_start(struct gateway *gw, struct gw_err *err);

/* Makes the thread look at the outbox now (new messages were queued). */
void dispatcher_wake(struct dispatcher *d);

/* Why sending through `p` is paused (its credentials were refused), or NULL when it is not. */
const char *dispatcher_paused(const struct dispatcher *d, const struct provider *p);

/* Finishes the sends in flight (recording their outcomes), stops the thread and frees everything. */
void dispatcher_stop(struct dispatcher *d);

/* The wait before attempt `attempt` + 1 after a transient failure: full jitter over
 * min(cap, base * 2^(attempt-1)), never below 1 s; `rnd` is a uniform random 32-bit value. */
int64_t dispatcher_backoff_ms(int64_t base_ms, int64_t cap_ms, int attempt, uint32_t rnd);

#endif
