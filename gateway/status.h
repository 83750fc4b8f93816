/*
 * status.h - what the gateway says about itself: GET /healthz (the store takes writes, the
 * providers are not paused, the write-ahead log is within bounds) and GET /metrics (the counters
 * of metrics.h and the gauges read at each scrape), both open without an API key and free of
 * ids, numbers and texts.
 */
#ifndef GW_STATUS_H
#define GW_STATUS_H

#include "gateway.h"
#include "http.h"

/* GET /healthz: 200 {"status":"ok"|"degraded",...}, or 503 when the store cannot be written.
 * The disk probe runs at most once per [server] health_check_interval (see gateway.h). */
void status_healthz(struct gateway *gw, struct response *resp);

/* GET /metrics: Prometheus text format 0.0.4. */
void status_metrics(struct gateway *gw, struct response *resp);

#endif
