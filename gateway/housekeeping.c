/* housekeeping.c - see housekeeping.h. */
#include "housekeeping.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "store.h"

#define RETAIN_EVERY_S 3600
#define TICK_MS 100             /* how often the clock is looked at */

struct housekeeping {
	struct gateway *gw;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int64_t last_sweep;             /* the gateway clock's second of the last sweep */
	int64_t last_retain_purge;      /* [store] retain_days: the last purge of old texts */
	int64_t last_log_warning;       /* monotonic ms: the last "checkpoints held back" line */
};

/* [store] retain_days: once an hour (of the gateway's clock), texts older than that are blanked,
 * and the log that still holds them emptied. */
static void retain_tick(struct gateway *gw, int64_t now, int64_t *last_run)
{
	struct gw_err err = { 0 };
	size_t n = 0;

	if (gw->cfg.retain_days <= 0)
		return;
	/* A clock moved back (a test's fake clock) counts as a new hour. */
	if (*last_run && now >= *last_run && now - *last_run < RETAIN_EVERY_S)
		return;
	*last_run = now;
	if (store_purge_texts(gw->store, now - (int64_t)gw->cfg.retain_days * 86400, &n,
			      &err) < 0) {
		log_error("retain_purge", "purging texts older than %d days failed: %s",
			  gw->cfg.retain_days, err.msg);
		return;
	}
	if (!n)
		return;
	printf("event=retain_purge rows=%zu\n", n);
	fflush(stdout);
	/* Best effort, one short attempt: the log is emptied by later checkpoints anyway. */
	if (store_wipe_freed(gw->store, 0, &err) < 0)
		log_error("retain_purge", "emptying the log after the purge: %s", err.msg);
}

/* A log that no checkpoint has copied back whole for LOG_STALL_S (a reader holding an old
 * snapshot, a failing disk) is said in the log, with the reason, once every LOG_STALL_S. */
#define LOG_STALL_S 30

static void watch_store_log(struct housekeeping *h)
{
	struct store_log_stats ls;
	int64_t now = gateway_monotonic_ms();

	if (h->last_log_warning && now - h->last_log_warning < LOG_STALL_S * 1000)
		return;
	store_log_stats(h->gw->store, &ls);
	if (ls.since_complete_s < LOG_STALL_S && ls.since_complete_s >= 0)
		return;
	if (ls.since_complete_s < 0 && ls.checkpoints < LOG_STALL_S * 5)
		return;         /* none has completed yet, but the gateway has only just started */
	h->last_log_warning = now;
	log_warn("checkpoint_stalled", "no checkpoint has copied the whole write-ahead log for %s%.0f s "
		 "(log %lld bytes, limit %lld, %lld pages pending): %s",
		 ls.since_complete_s < 0 ? "over " : "",
		 ls.since_complete_s < 0 ? (double)LOG_STALL_S : ls.since_complete_s,
		 (long long)ls.bytes, (long long)ls.limit, (long long)ls.frames_pending,
		 ls.error[0] ? ls.error : "no reason given");
}

/* Once a second of the gateway's clock: idempotency keys past 48 h, send leases and surveys past
 * their expiry, retention, the log's watch. */
static void sweep(struct housekeeping *h)
{
	struct gw_err err = { 0 };
	int64_t now = gateway_now(h->gw);
	size_t n;

	if (now == h->last_sweep)
		return;
	h->last_sweep = now;
	/* Idempotency keys are kept for 48 hours (the contract promises 24). */
	if (now % 60 == 0 && store_idem_purge(h->gw->store, now - 48 * 3600, &n, &err) < 0)
		log_error("idempotency_purge", "purging idempotency keys failed: %s", err.msg);
	/* A claim whose lease ran out (a send hung far past curl's own timeout) is uncertain. */
	if (store_expire_leases(h->gw->store, now, &n, &err) < 0)
		log_error("lease_expiry", "expiring send leases failed: %s", err.msg);
	else if (n)
		log_warn("lease_expired", "%zu message(s) still sending after their lease: now "
			 "uncertain", n);
	if (store_expire_due(h->gw->store, now, &n, &err) < 0)
		log_error("survey_expiry", "expiring surveys failed: %s", err.msg);
	else if (n) {
		printf("event=expire surveys=%zu\n", n);
		fflush(stdout);
	}
	retain_tick(h->gw, now, &h->last_retain_purge);
	watch_store_log(h);
}

static void *housekeeping_main(void *arg)
{
	struct housekeeping *h = arg;

	pthread_setname_np(pthread_self(), "gw-housekeeping");
	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		struct timespec until;

		pthread_mutex_unlock(&h->lock);
		sweep(h);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&h->lock);
		if (!h->stop)
			pthread_cond_timedwait(&h->cond, &h->lock, &until);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct housekeeping *housekeeping_start(struct gateway *gw, struct gw_err *err)
{
	struct housekeeping *h = calloc(1, sizeof(*h));

	if (!h) {
		gw_errf(err, "out of memory");
		return NULL;
	}
	h->gw = gw;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->thread, NULL, housekeeping_main, h) != 0) {
		gw_errf(err, "cannot start the housekeeping thread");
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
		free(h);
		return NULL;
	}
	return h;
}

void housekeeping_stop(struct housekeeping *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}
