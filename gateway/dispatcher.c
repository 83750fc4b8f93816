/* dispatcher.c - see dispatcher.h. */
#include "dispatcher.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "log.h"
#include "customers.h"
#include "metrics.h"

#define BATCH_MAX 32
#define RECORDERS BATCH_MAX
#define RESPONSE_CAP (256 * 1024)
#define IDLE_WAIT_MS 250

struct bucket {
	double tokens;
	double last;            /* monotonic seconds of the last refill */
};

struct dispatcher {
	struct gateway *gw;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop, woken;
	CURLM *multi;
	struct bucket buckets[GATEWAY_MAX_PROVIDERS];
	int64_t last_expiry_sweep;
	int64_t last_retain_purge;      /* [store] retain_days: the last purge of old texts */
	/* Written under rlock by whichever recorder sees the refusal first, the reason before the
	 * flag; read by /healthz and /metrics. */
	_Atomic int paused[GATEWAY_MAX_PROVIDERS];
	char pause_reason[GATEWAY_MAX_PROVIDERS][300];
	/* Recorders: a batch's outcomes are recorded by several threads at once, so that their
	 * writes share one group commit instead of one commit (and fsync) per message. */
	pthread_t recorders[RECORDERS];
	size_t n_recorders;
	pthread_mutex_t rlock;
	pthread_cond_t rwork, rdone;
	struct job *rqueue[BATCH_MAX];  /* outcomes handed over, not yet taken by a recorder */
	size_t rhead, rtail;            /* rqueue[rhead..rtail) waits */
	size_t rsubmitted, rfinished;   /* of the batch being sent */
	int rstop;
};

/* One send in flight. */
struct job {
	struct outbox_item item;
	struct provider *p;
	struct http_request req;
	struct curl_slist *headers;
	CURL *easy;
	struct buf response;
	int retry_after_s;      /* the answer's Retry-After, in seconds; 0 when absent */
	double seconds;         /* the HTTP exchange's duration; -1 without one */
	/* the outcome, handed to a recorder as soon as it is known (record_submit()) */
	enum send_result res;
	struct send_outcome out;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t dispatcher_backoff_ms(int64_t base_ms, int64_t cap_ms, int attempt, uint32_t rnd)
{
	int64_t ceiling = base_ms;

	for (int i = 1; i < attempt && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	ceiling = (int64_t)((double)ceiling * ((double)rnd / 4294967296.0));
	return ceiling < 1000 ? 1000 : ceiling;
}

/* Tokens a provider may spend now (at most BATCH_MAX); unpaced providers always have a batch. */
static size_t bucket_take(struct dispatcher *d, size_t i, const struct rate *r)
{
	struct bucket *b = &d->buckets[i];
	double now = mono_now(), burst = r->per_second < 1 ? 1 : r->per_second;
	size_t n;

	if (r->off)
		return BATCH_MAX;
	b->tokens += (now - b->last) * r->per_second;
	b->last = now;
	if (b->tokens > burst)
		b->tokens = burst;
	n = b->tokens >= BATCH_MAX ? BATCH_MAX : (size_t)b->tokens;
	b->tokens -= (double)n;
	return n;
}

/* The index of provider p in gw->providers. */
static size_t provider_index(const struct dispatcher *d, const struct provider *p)
{
	size_t i = 0;

	while (i < d->gw->n_providers && d->gw->providers[i] != p)
		i++;
	return i;
}

/* A transient failure: queued again after backoff, or at least retry_after_s. */
static int record_retry(struct dispatcher *d, struct job *j, const struct send_outcome *o,
			int64_t now, struct gw_err *err)
{
	const struct config *cfg = &d->gw->cfg;
	uint32_t rnd = 0;
	int64_t wait_s;

	random_bytes(&rnd, sizeof(rnd));
	wait_s = dispatcher_backoff_ms(cfg->retry_base_ms, cfg->retry_cap_ms, j->item.attempts,
				       rnd) / 1000;
	if (o->retry_after_s > wait_s)
		wait_s = o->retry_after_s;
	return store_send_retry(d->gw->store, j->item.message_id, now + wait_s, o->error_code,
				o->error_message, err);
}

/*
 * Records one send's outcome.  Beyond accepted / transient / permanent, the provider's flags say:
 * resend as a template now (once), the customer refuses these messages (an opt-out), the
 * credentials were refused (pause the provider: the message waits, nothing else is sent through
 * it until a restart with fixed credentials), or a template is misconfigured (failed, and said so).
 */
static void record(struct dispatcher *d, struct job *j, enum send_result res,
		   const struct send_outcome *o)
{
	struct gateway *gw = d->gw;
	struct gw_err err = { 0 };
	int64_t now = gateway_now(gw);
	const char *result;
	char masked[32];
	int rc;

	if (res == SEND_TRANSIENT && j->item.attempts >= gw->cfg.max_attempts &&
	    !(o->flags & SEND_AUTH_FAILED))
		res = SEND_PERMANENT;
	if ((o->flags & SEND_NEEDS_TEMPLATE) && !j->item.needs_template) {
		result = "template";
		rc = store_send_needs_template(gw->store, j->item.message_id, now, o->error_code,
					       o->error_message, &err);
	} else if (o->flags & SEND_AUTH_FAILED) {
		size_t pi = provider_index(d, j->p);

		result = "paused";
		/* Recorders run at once: one of them pauses, the reason written before the flag. */
		pthread_mutex_lock(&d->rlock);
		if (pi < GATEWAY_MAX_PROVIDERS && !d->paused[pi]) {
			snprintf(d->pause_reason[pi], sizeof(d->pause_reason[pi]), "%s: %s",
				 o->error_code, o->error_message);
			d->paused[pi] = 1;
			log_error("provider_paused", "%s refused the credentials (%s: %s); sending "
				  "through it is paused until the gateway restarts with working "
				  "credentials", provider_name(j->p), o->error_code,
				  o->error_message);
		}
		pthread_mutex_unlock(&d->rlock);
		rc = store_send_retry(gw->store, j->item.message_id, now, o->error_code,
				      o->error_message, &err);
	} else if (res == SEND_ACCEPTED) {
		result = "accepted";
		rc = store_send_accepted(gw->store, j->item.message_id, o->provider_message_id, now,
					 &err);
	} else if (res == SEND_TRANSIENT) {
		result = "retry";
		rc = record_retry(d, j, o, now, &err);
	} else {
		result = "failed";
		if (o->flags & SEND_CONFIG_ERROR)
			log_error("provider_config", "configuration: %s refused a message (%s: %s); check "
				  "[templates.%s]", provider_name(j->p), o->error_code,
				  o->error_message, provider_name(j->p));
		rc = store_send_failed(gw->store, j->item.message_id, o->error_code, o->error_message,
				       now, &err);
		/* rc 1: the message was cancelled (its customer erased): no number to keep. */
		if (rc == 0 && (o->flags & SEND_OPTED_OUT))
			rc = store_suppress_phone(gw->store, j->item.phone, provider_name(j->p), now,
						  &err);
	}
	metrics_send(gw->metrics, provider_index(d, j->p),
		     strcmp(result, "accepted") == 0 ? MS_ACCEPTED :
		     strcmp(result, "retry") == 0 ? MS_RETRY :
		     strcmp(result, "template") == 0 ? MS_TEMPLATE :
		     strcmp(result, "paused") == 0 ? MS_PAUSED : MS_FAILED, j->seconds);
	mask_phone(j->item.phone, masked, sizeof(masked));
	printf("event=send provider=%s message=%lld survey=%s to=%s attempt=%d result=%s code=%s\n",
	       provider_name(j->p), (long long)j->item.message_id,
	       j->item.survey_id[0] ? j->item.survey_id : "-", masked, j->item.attempts, result,
	       o->error_code[0] ? o->error_code : "-");
	if (rc < 0)
		log_error("send_record", "recording message %lld failed: %s",
			  (long long)j->item.message_id, err.msg);
	fflush(stdout);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;

	/* Past the cap the answer is cut short; curl then reports a write error (transient). */
	return buf_append(&j->response, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* WhatsApp's customer-service window: free-form text within 24 h of the customer's message. */
#define SESSION_WINDOW_S (24 * 3600)

/* Reads Retry-After (delta-seconds or an HTTP date) from the answer's headers. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb;
	char value[64];

	if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		size_t len = n - 12 < sizeof(value) - 1 ? n - 12 : sizeof(value) - 1;
		char *end;
		long secs;

		memcpy(value, data + 12, len);
		value[len] = '\0';
		secs = strtol(value, &end, 10);
		if (end != value && secs >= 0) {
			j->retry_after_s = secs > 86400 ? 86400 : (int)secs;
		} else {
			time_t when = curl_getdate(value, NULL);

			if (when > 0 && when > time(NULL))
				j->retry_after_s = (int)(when - time(NULL) > 86400 ? 86400
								     : when - time(NULL));
		}
	}
	return n;
}

static void outbound_of(const struct dispatcher *d, const struct outbox_item *it,
			struct outbound *out)
{
	const struct config *cfg = &d->gw->cfg;
	int64_t now = gateway_now(d->gw);

	memset(out, 0, sizeof(*out));
	out->id = it->message_id;
	if (channel_from_name(it->channel, &out->channel) < 0)
		out->channel = CHANNEL_SMS;
	out->purpose = strcmp(it->purpose, "survey") == 0 ? PURPOSE_SURVEY :
		       strcmp(it->purpose, "reprompt") == 0 ? PURPOSE_REPROMPT : PURPOSE_THANKS;
	out->to = it->phone;
	out->body = it->body;
	if (kind_from_name(it->kind, &out->kind) < 0)
		out->kind = KIND_NPS;
	out->locale = it->locale[0] ? it->locale : cfg->default_locale;
	out->name = it->name;
	out->brand = cfg->brand;
	out->in_session = !it->needs_template && it->last_inbound_at &&
			  now - it->last_inbound_at < SESSION_WINDOW_S;
}

/* Prepares the curl handle of one job; -1 when the request cannot even be built (permanent). */
static int job_prepare(struct dispatcher *d, struct job *j, struct send_outcome *o)
{
	struct outbound msg;
	struct gw_err err = { 0 };

	outbound_of(d, &j->item, &msg);
	provider_request_init(&j->req);
	buf_init(&j->response, RESPONSE_CAP);
	if (provider_build_send(j->p, &msg, &j->req, &err) < 0) {
		snprintf(o->error_code, sizeof(o->error_code), "build_failed");
		snprintf(o->error_message, sizeof(o->error_message), "%s", err.msg);
		return -1;
	}
	for (size_t i = 0; i < j->req.n_headers; i++) {
		struct curl_slist *h = curl_slist_append(j->headers, j->req.headers[i]);

		if (!h)
			goto oom;
		j->headers = h;
	}
	if (!(j->easy = curl_easy_init()))
		goto oom;
	curl_easy_setopt(j->easy, CURLOPT_URL, buf_cstr(&j->req.url));
	curl_easy_setopt(j->easy, CURLOPT_CUSTOMREQUEST, j->req.method);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, buf_cstr(&j->req.body));
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->req.body.len);
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(j->easy, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_multi_add_handle(d->multi, j->easy);
	return 0;
oom:
	snprintf(o->error_code, sizeof(o->error_code), "network");
	snprintf(o->error_message, sizeof(o->error_message), "out of memory");
	return 1;
}

static void job_release(struct dispatcher *d, struct job *j)
{
	if (j->easy) {
		curl_multi_remove_handle(d->multi, j->easy);
		curl_easy_cleanup(j->easy);
	}
	curl_slist_free_all(j->headers);
	provider_request_release(&j->req);
	buf_release(&j->response);
	outbox_item_release(&j->item);
}

/* Runs the multi handle until every job of the batch has an answer (or timed out). */
static void record_submit(struct dispatcher *d, struct job *j);

static void run_multi(struct dispatcher *d)
{
	int running = 1;

	while (running) {
		CURLMsg *m;
		int left;

		curl_multi_perform(d->multi, &running);
		while ((m = curl_multi_info_read(d->multi, &left))) {
			struct job *j;
			struct send_outcome o;
			long status = 0;
			enum send_result res;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			if (m->data.result == CURLE_OK)
				curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME, &j->seconds);
			res = provider_parse_send_response(j->p, status, j->response.data,
							   j->response.len, &o);
			if (m->data.result != CURLE_OK)
				snprintf(o.error_message, sizeof(o.error_message), "%s",
					 curl_easy_strerror(m->data.result));
			/* The provider's Retry-After wins over a shorter wait of our own. */
			if (j->retry_after_s > o.retry_after_s)
				o.retry_after_s = j->retry_after_s;
			j->res = res;
			j->out = o;
			record_submit(d, j);
		}
		if (running)
			curl_multi_poll(d->multi, NULL, 0, 1000, NULL);
	}
}

static void *recorder_main(void *arg)
{
	struct dispatcher *d = arg;

	pthread_mutex_lock(&d->rlock);
	for (;;) {
		struct job *j;

		while (!d->rstop && d->rhead == d->rtail)
			pthread_cond_wait(&d->rwork, &d->rlock);
		if (d->rhead == d->rtail)
			break;
		j = d->rqueue[d->rhead++];
		pthread_mutex_unlock(&d->rlock);
		record(d, j, j->res, &j->out);
		pthread_mutex_lock(&d->rlock);
		if (++d->rfinished == d->rsubmitted)
			pthread_cond_signal(&d->rdone);
	}
	pthread_mutex_unlock(&d->rlock);
	return NULL;
}

/*
 * Records j's outcome as soon as it is known: on a recorder thread, so that the outcomes of a
 * batch share group commits and none waits for the batch's slowest send (a provider's status
 * callback for a message can arrive a moment after its send was accepted, and must find its
 * provider id recorded).  Without recorders, here.
 */
static void record_submit(struct dispatcher *d, struct job *j)
{
	if (!d->n_recorders) {
		record(d, j, j->res, &j->out);
		return;
	}
	pthread_mutex_lock(&d->rlock);
	d->rqueue[d->rtail++] = j;
	d->rsubmitted++;
	pthread_cond_signal(&d->rwork);
	pthread_mutex_unlock(&d->rlock);
}

/* Waits until every outcome submitted for this batch is recorded, and readies the next batch. */
static void record_wait(struct dispatcher *d)
{
	pthread_mutex_lock(&d->rlock);
	while (d->rfinished < d->rsubmitted)
		pthread_cond_wait(&d->rdone, &d->rlock);
	d->rhead = d->rtail = d->rsubmitted = d->rfinished = 0;
	pthread_mutex_unlock(&d->rlock);
}

/* Sends one batch for provider index i; returns how many messages it handled. */
static size_t send_batch(struct dispatcher *d, size_t pi)
{
	struct gateway *gw = d->gw;
	struct provider *p = gw->providers[pi];
	struct job jobs[BATCH_MAX];
	struct outbox_item items[BATCH_MAX];
	struct gw_err err = { 0 };
	size_t want = d->paused[pi] ? 0 : bucket_take(d, pi, &p->rate), n = 0, http = 0;

	if (!want)
		return 0;
	if (store_claim_due(gw->store, gateway_now(gw), provider_name(p), items, want, &n, &err) < 0) {
		log_error("outbox_claim", "claiming messages failed: %s", err.msg);
		return 0;
	}
	if (!p->rate.off)
		d->buckets[pi].tokens += (double)(want - n);    /* unused tokens go back */
	memset(jobs, 0, sizeof(jobs));
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		struct send_outcome o = { 0 };
		int prc;

		j->item = items[i];
		j->p = p;
		j->seconds = -1;
		if (provider_has(p, PROVIDER_CAP_LOCAL)) {
			struct outbound msg;

			outbound_of(d, &j->item, &msg);
			j->res = provider_deliver(p, &msg, &o);
			j->out = o;
			record_submit(d, j);
			continue;
		}
		if ((prc = job_prepare(d, j, &o)) != 0) {
			j->res = prc < 0 ? SEND_PERMANENT : SEND_TRANSIENT;
			j->out = o;
			record_submit(d, j);
			continue;
		}
		http++;
	}
	if (http)
		run_multi(d);
	record_wait(d);
	for (size_t i = 0; i < n; i++)
		job_release(d, &jobs[i]);
	return n;
}

/* Once a second (of the gateway's clock), surveys past their expiry become expired. */
static void sweep_expired(struct dispatcher *d)
{
	struct gw_err err = { 0 };
	int64_t now = gateway_now(d->gw);
	size_t n;

	if (now == d->last_expiry_sweep)
		return;
	d->last_expiry_sweep = now;
	/* Idempotency keys are kept for 48 hours (the contract promises 24). */
	if (now % 60 == 0 && store_idem_purge(d->gw->store, now - 48 * 3600, &n, &err) < 0)
		log_error("idempotency_purge", "purging idempotency keys failed: %s", err.msg);
	/* A claim whose lease ran out (a send hung far past curl's own timeout) is uncertain. */
	if (store_expire_leases(d->gw->store, now, &n, &err) < 0)
		log_error("lease_expiry", "expiring send leases failed: %s", err.msg);
	else if (n)
		log_warn("lease_expired", "%zu message(s) still sending after their lease: now "
			 "uncertain", n);
	if (store_expire_due(d->gw->store, now, &n, &err) < 0)
		log_error("survey_expiry", "expiring surveys failed: %s", err.msg);
	else if (n) {
		printf("event=expire surveys=%zu\n", n);
		fflush(stdout);
	}
	customers_retain_tick(d->gw, now, &d->last_retain_purge);
}

static void *dispatcher_main(void *arg)
{
	struct dispatcher *d = arg;

	for (;;) {
		size_t sent = 0;
		struct timespec until;

		pthread_mutex_lock(&d->lock);
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		d->woken = 0;
		pthread_mutex_unlock(&d->lock);

		sweep_expired(d);
		for (size_t i = 0; i < d->gw->n_providers; i++)
			sent += send_batch(d, i);
		if (sent)
			continue;

		pthread_mutex_lock(&d->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += IDLE_WAIT_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!d->stop && !d->woken)
			if (pthread_cond_timedwait(&d->cond, &d->lock, &until) != 0)
				break;
		pthread_mutex_unlock(&d->lock);
	}
	return NULL;
}

static void stop_recorders(struct dispatcher *d)
{
	pthread_mutex_lock(&d->rlock);
	d->rstop = 1;
	pthread_cond_broadcast(&d->rwork);
	pthread_mutex_unlock(&d->rlock);
	for (size_t i = 0; i < d->n_recorders; i++)
		pthread_join(d->recorders[i], NULL);
	pthread_mutex_destroy(&d->rlock);
	pthread_cond_destroy(&d->rwork);
	pthread_cond_destroy(&d->rdone);
}

struct dispatcher *dispatcher_start(struct gateway *gw, struct gw_err *err)
{
	struct dispatcher *d = calloc(1, sizeof(*d));
	double now = mono_now();

	if (!d || !(d->multi = curl_multi_init())) {
		free(d);
		gw_errf(err, "dispatcher: out of memory");
		return NULL;
	}
	d->gw = gw;
	for (size_t i = 0; i < GATEWAY_MAX_PROVIDERS; i++) {
		d->buckets[i].last = now;
		d->buckets[i].tokens = 1;
	}
	curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	pthread_mutex_init(&d->rlock, NULL);
	pthread_cond_init(&d->rwork, NULL);
	pthread_cond_init(&d->rdone, NULL);
	for (size_t i = 0; i < RECORDERS; i++) {
		if (pthread_create(&d->recorders[i], NULL, recorder_main, d) != 0)
			break;          /* fewer recorders: outcomes are recorded one by one */
		d->n_recorders++;
	}
	if (pthread_create(&d->thread, NULL, dispatcher_main, d) != 0) {
		stop_recorders(d);
		curl_multi_cleanup(d->multi);
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->cond);
		free(d);
		gw_errf(err, "dispatcher: cannot start its thread");
		return NULL;
	}
	return d;
}

const char *dispatcher_paused(const struct dispatcher *d, const struct provider *p)
{
	size_t pi;

	if (!d)
		return NULL;
	pi = provider_index(d, p);
	return pi < GATEWAY_MAX_PROVIDERS && d->paused[pi] ? d->pause_reason[pi] : NULL;
}

void dispatcher_wake(struct dispatcher *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->woken = 1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

void dispatcher_stop(struct dispatcher *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	stop_recorders(d);
	curl_multi_cleanup(d->multi);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}
