/* status.c - see status.h. */
#include "status.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dispatcher.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

/* ---- /healthz ------------------------------------------------------------------------- */

/* The store's write probe, run at most once per [server] health_check_interval: callers within
 * it, and those that arrive while a probe runs, share its result.  *age_ms: how old it is. */
static int probe_store(struct gateway *gw, struct gw_err *err, int64_t *age_ms)
{
	struct health_probe *h = &gw->health;
	int64_t now;
	int rc;

	pthread_mutex_lock(&h->lock);
	now = gateway_monotonic_ms();
	if (!h->at_ms || now - h->at_ms >= gw->cfg.health_check_interval_ms) {
		gw_err_clear(&h->err);
		h->rc = store_check_writable(gw->store, &h->err);
		h->at_ms = now = gateway_monotonic_ms();
		metrics_health_probe(gw->metrics);
	}
	rc = h->rc;
	*err = h->err;
	*age_ms = now - h->at_ms;
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* Past this many times its limit, the write-ahead log is not being emptied: /healthz says so. */
#define LOG_DEGRADED_FACTOR 4

/* The log's state for /healthz; *why is set when it has grown far past its limit. */
static json_t *log_health(struct gateway *gw, const char **why)
{
	struct store_log_stats ls;
	json_t *j;

	store_log_stats(gw->store, &ls);
	*why = NULL;
	if (!ls.kept)
		return NULL;
	if (ls.bytes > LOG_DEGRADED_FACTOR * ls.limit)
		*why = "the write-ahead log is more than 4 times its limit: checkpoints cannot keep up";
	j = json_pack("{s:s,s:I,s:I}", "state", *why ? "degraded" : "ok", "bytes",
		      (json_int_t)ls.bytes, "limit", (json_int_t)ls.limit);
	if (*why || ls.error[0])
		json_object_set_new(j, "reason", json_string(*why ? *why : ls.error));
	return j;
}

/* 200 while the store takes writes: {"status":"ok"}, or "degraded" with the reason when a
 * provider is paused or the log is far past its limit; 503 when the store cannot be written.
 * "checked_ms_ago" tells how old the shared write probe's result is. */
void status_healthz(struct gateway *gw, struct response *resp)
{
	struct gw_err err = { 0 };
	json_t *provs = json_object(), *log;
	const char *log_why;
	int64_t age_ms;
	int degraded = 0;

	for (size_t i = 0; i < gw->n_providers; i++) {
		const char *why = dispatcher_paused(gw->dispatcher, gw->providers[i]);

		degraded |= why != NULL;
		json_object_set_new(provs, provider_name(gw->providers[i]),
				    why ? json_pack("{s:s,s:s}", "state", "paused", "reason", why)
					: json_pack("{s:s}", "state", "ok"));
	}
	log = log_health(gw, &log_why);
	degraded |= log_why != NULL;
	if (probe_store(gw, &err, &age_ms) < 0) {
		http_json_reply(resp, 503,
				json_pack("{s:s,s:s,s:I,s:o*,s:o}", "status", "unavailable",
					  "store", err.msg, "checked_ms_ago", (json_int_t)age_ms,
					  "log", log, "providers", provs));
		return;
	}
	http_json_reply(resp, 200,
			json_pack("{s:s,s:s,s:I,s:o*,s:o}", "status", degraded ? "degraded" : "ok",
				  "store", "ok", "checked_ms_ago", (json_int_t)age_ms, "log", log,
				  "providers", provs));
}

/* ---- /metrics ------------------------------------------------------------------------- */

/* The write-ahead log and its checkpoints (store_log_stats()). */
static void render_store_log(struct gateway *gw, struct buf *out)
{
	struct store_log_stats ls;

	store_log_stats(gw->store, &ls);
	if (!ls.kept)
		return;
	metrics_head(out, "gateway_store_wal_bytes", "gauge",
		     "Size of the database's write-ahead log file.");
	buf_printf(out, "gateway_store_wal_bytes %lld\n", (long long)ls.bytes);
	metrics_head(out, "gateway_store_wal_limit_bytes", "gauge",
		     "[store] wal_limit_mb: past it the log starts over.");
	buf_printf(out, "gateway_store_wal_limit_bytes %lld\n", (long long)ls.limit);
	metrics_head(out, "gateway_store_wal_frames", "gauge",
		     "Pages in the write-ahead log at the last checkpoint, by whether they were copied "
		     "into the database yet.");
	buf_printf(out, "gateway_store_wal_frames{state=\"copied\"} %lld\n",
		   (long long)(ls.frames - ls.frames_pending));
	buf_printf(out, "gateway_store_wal_frames{state=\"pending\"} %lld\n",
		   (long long)ls.frames_pending);
	metrics_head(out, "gateway_store_wal_frames_checkpointed_total", "counter",
		     "Pages copied from the write-ahead log into the database.");
	buf_printf(out, "gateway_store_wal_frames_checkpointed_total %llu\n",
		   (unsigned long long)ls.frames_copied);
	metrics_head(out, "gateway_store_checkpoints_total", "counter",
		     "Checkpoints run (every 200 ms, and when the log passes its limit).");
	buf_printf(out, "gateway_store_checkpoints_total %llu\n",
		   (unsigned long long)ls.checkpoints);
	metrics_head(out, "gateway_store_wal_resets_total", "counter",
		     "Checkpoints that copied the whole log back and had it start over.");
	buf_printf(out, "gateway_store_wal_resets_total %llu\n", (unsigned long long)ls.resets);
	metrics_head(out, "gateway_store_checkpoint_age_seconds", "gauge",
		     "Seconds since a checkpoint last copied the whole log (-1: none yet).");
	buf_printf(out, "gateway_store_checkpoint_age_seconds %.3f\n", ls.since_complete_s);
}

/* What a database server shared by instances says of the store's database
 * (store_server_stats()): nothing on a store of its own. */
static void render_store_server(struct gateway *gw, struct buf *out)
{
	struct store_server_stats ss;
	struct gw_err err = { 0 };
	int rc = store_server_stats(gw->store, &ss, &err);

	if (rc == 0)
		return;
	if (rc < 0) {
		log_error("metrics", "reading the database server's statistics failed: %s",
			  err.msg);
		return;
	}
	metrics_head(
		out, "gateway_store_dead_rows", "gauge",
		"Row versions updated or deleted and not vacuumed yet, over the store's tables.");
	buf_printf(out, "gateway_store_dead_rows %lld\n", (long long)ss.dead_rows);
	metrics_head(out, "gateway_store_oldest_transaction_seconds", "gauge",
		     "Age of the oldest transaction open on the store's database, from any client "
		     "(0: none); a long one holds vacuum back.");
	buf_printf(out, "gateway_store_oldest_transaction_seconds %.3f\n", ss.oldest_transaction_s);
	metrics_head(out, "gateway_store_writes_retried_total", "counter",
		     "Writes the database ended to break a deadlock with another instance, run "
		     "again (at most twice more before the request is answered 503).");
	buf_printf(out, "gateway_store_writes_retried_total %llu\n",
		   (unsigned long long)ss.writes_retried);
}

/* The counters, then the gauges read now: 0, or -1 when the outbox could not be read (the rest
 * is written all the same). */
static int render_metrics(struct gateway *gw, struct buf *out)
{
	const char *names[GATEWAY_MAX_PROVIDERS] = { NULL };
	struct store_outbox_depth depth;
	struct gw_err err = { 0 };
	size_t np = gw->n_providers < METRICS_MAX_PROVIDERS ? gw->n_providers
							     : METRICS_MAX_PROVIDERS;
	int rc = 0;

	for (size_t p = 0; p < np; p++)
		names[p] = provider_name(gw->providers[p]);
	metrics_render_counters(gw->metrics, names, np, out);
	metrics_head(out, "gateway_provider_paused", "gauge",
		     "1 while sending through the provider is paused (credentials refused).");
	for (size_t p = 0; p < np; p++)
		buf_printf(out, "gateway_provider_paused{provider=\"%s\"} %d\n", names[p],
			   dispatcher_paused(gw->dispatcher, gw->providers[p]) != NULL);

	render_store_log(gw, out);
	render_store_server(gw, out);

	if (store_outbox_depth(gw->store, &depth, &err) == 0) {
		metrics_head(out, "gateway_outbox_messages", "gauge",
			     "Outbound messages waiting (queued), being sent, or uncertain.");
		buf_printf(out, "gateway_outbox_messages{state=\"queued\"} %lld\n",
			   (long long)depth.queued);
		buf_printf(out, "gateway_outbox_messages{state=\"sending\"} %lld\n",
			   (long long)depth.sending);
		buf_printf(out, "gateway_outbox_messages{state=\"uncertain\"} %lld\n",
			   (long long)depth.uncertain);
	} else {
		rc = -1;
	}
	return rc;
}

/* GET /metrics: Prometheus text, open like /healthz (counts only: no ids, numbers or texts). */
void status_metrics(struct gateway *gw, struct response *resp)
{
	if (render_metrics(gw, &resp->body) < 0)
		log_error("metrics", "the outbox gauges could not be read");
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
