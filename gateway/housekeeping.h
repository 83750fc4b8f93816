/*
 * housekeeping.h - the sweeps a running gateway makes on a thread of their own, once per second
 * of its clock (GATEWAY_FAKE_CLOCK included): send leases that ran out become uncertain, surveys
 * past their expiry become expired, idempotency keys older than 48 hours go (once a minute), texts
 * older than [store] retain_days are blanked (once an hour), and a write-ahead log that no
 * checkpoint has copied back for 30 s is reported in the log.
 */
#ifndef GW_HOUSEKEEPING_H
#define GW_HOUSEKEEPING_H

#include "gateway.h"

struct housekeeping;

/* Starts the thread.  NULL with err set when it cannot. */
struct housekeeping *housekeeping_start(struct gateway *gw, struct gw_err *err);
/* Stops the thread (after the sweep under way, if any) and frees h.  NULL is fine. */
void housekeeping_stop(struct housekeeping *h);

#endif
