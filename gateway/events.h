/*
 * events.h - outbound events: their JSON, their signature, and the thread that delivers them.
 *
 * With [events] url set, every response, follow-up comment, opt-out and opt-in writes an event
 * in the same store transaction (store.h, "outbound events"); this module formats it, and one
 * thread POSTs the queued events to the url in order, signed with X-Gateway-Signature.  A 2xx
 * answer deletes the event; anything else (another status, no connection, a timeout) keeps it
 * and tries again after exponential backoff with full jitter ([events] retry_base, retry_cap),
 * while the whole queue waits as long as the receiver looks down.  An event is given up only
 * when it is still refused [events] max_age after it happened.  Delivery is at least once: a
 * crash between the receiver's answer and the commit that records it sends the event again, so
 * receivers deduplicate by the event's id.
 *
 * Contract: events_start() either fails (no thread runs) or starts the thread, which runs until
 * events_stop().
 */
#ifndef GW_EVENTS_H
#define GW_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "gateway.h"
#include "store.h"

/* "t=" + up to 20 digits + ",v1=" + 64 hex digits + NUL. */
#define EVENTS_SIG_LEN (2 + 20 + 4 + 2 * SHA256_LEN + 1)

/*
 * The JSON body of event `id` reporting `f`, one line, members in this order:
 *   {"id","type","created_at","survey":{"id","kind","channel","interaction_id","touchpoint",
 *    "agent"} or null,"customer":{"id"[,"phone"]},"response":{"score","category","comment"}
 *    (response events) | "source" (opt-out/in)}
 * Unknown strings are null; the phone is there only for opt-out/in.  Caller frees with free();
 * NULL when out of memory.
 */
char *events_format_json(const struct evt_facts *f, const char *id);

/* event_format_fn for store_set_event_format(): a fresh id ("evt_" + 24 random hex digits) into
 * id_out and events_format_json().  NULL when out of memory or randomness. */
char *events_format(void *ctx, const struct evt_facts *f, char id_out[EVENT_ID_LEN]);

/* X-Gateway-Signature's value for `body` (`len` bytes) sent at Unix time `t`:
 * "t=<t>,v1=<lower-case hex HMAC-SHA256(secret, "<t>.<body>")>".  0, or -1 when out of memory. */
int events_sign(const char *secret, int64_t t, const char *body, size_t len,
		char out[EVENTS_SIG_LEN]);

/* Starts the delivery thread for [events] url (which must be set).  NULL with err on failure. */
struct events *events_start(struct gateway *gw, struct gw_err *err);

/* Lets an attempt in flight end (aborted when it takes long), stops the thread and frees
 * everything.  Events not yet delivered stay queued for the next start.  NULL is allowed. */
void events_stop(struct events *ev);

#endif
