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
#include "metrics.h"
#include "sms.h"

#define BATCH_MAX 32
/* Sends in flight at once: a new batch is claimed as soon as a batch's worth of them is done and
 * recorded, so that the sends of one batch overlap the claim and the records of others. */
#define WINDOW (8 * BATCH_MAX)
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
	/* The provider's last claim found fewer due messages than it asked for. */
	int drained[GATEWAY_MAX_PROVIDERS];
	/* Written by the dispatcher's thread (pause_on_auth_failure()), the reason before the
	 * flag; read by /healthz and /metrics. */
	_Atomic int paused[GATEWAY_MAX_PROVIDERS];
	char pause_reason[GATEWAY_MAX_PROVIDERS][300];
	/* The window: WINDOW job slots, each free or sending.  Only the dispatcher's thread
	 * touches them. */
	struct job *jobs;
	struct job *free_jobs;          /* a stack, through job.next */
	size_t in_use;
	/* Outcomes known this round (outcome_known()), handed to the recorder together. */
	struct job *done[WINDOW];
	size_t n_done;
	/* The recorder: a thread that records the outcomes handed to it in one transaction per
	 * hand-over while the dispatcher goes on sending, then gives their slots back. */
	pthread_t recorder;
	int has_recorder;
	pthread_mutex_t rlock;
	pthread_cond_t rcond;
	struct job *rpending[WINDOW];   /* handed over, not yet recorded */
	size_t n_rpending;
	struct job *recorded[WINDOW];   /* recorded, for the dispatcher to release */
	size_t n_recorded;
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
	/* the outcome, recorded with the others known at the same time (record_done()) */
	enum send_result res;
	struct send_outcome out;
	enum metric_send result;        /* for the log and metrics */
	int in_multi;           /* easy is added to the multi handle */
	struct job *next;       /* on the free stack */
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

/* Tokens a provider may spend now (at most max); unpaced providers always have max. */
static size_t bucket_take(struct dispatcher *d, size_t i, const struct rate *r, size_t max)
{
	struct bucket *b = &d->buckets[i];
	double now = mono_now(), burst = r->per_second < 1 ? 1 : r->per_second;
	size_t n;

	if (r->off)
		return max;
	b->tokens += (now - b->last) * r->per_second;
	b->last = now;
	if (b->tokens > burst)
		b->tokens = burst;
	n = b->tokens >= (double)max ? max : (size_t)b->tokens;
	b->tokens -= (double)n;
	return n;
}

/* Of the `want` sends provider pi's own bucket allowed, those the store's shared bucket allows
 * too (all of them on a store of one process), into *got; the others go back to the own
 * bucket.  -1 when the store could not be asked (nothing is sent this round). */
static int pace_shared(struct dispatcher *d, size_t pi, size_t want, size_t *got)
{
	const struct provider *p = d->gw->providers[pi];
	double burst = p->rate.per_second < 1 ? 1 : p->rate.per_second;
	struct gw_err err = { 0 };
	size_t n = 0;
	int rc = store_pace_take(d->gw->store, provider_name(p), p->rate.per_second, burst, want,
				 &n, &err);

	if (rc < 0)
		log_error("outbox_pace", "taking send tokens failed: %s", err.msg);
	d->buckets[pi].tokens += (double)(want - n);
	*got = n;
	return rc < 0 || n == 0 ? -1 : 0;
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
static int64_t retry_at(struct dispatcher *d, const struct job *j, const struct send_outcome *o,
			int64_t now)
{
	const struct config *cfg = &d->gw->cfg;
	uint32_t rnd = 0;
	int64_t wait_s;

	random_bytes(&rnd, sizeof(rnd));
	wait_s = dispatcher_backoff_ms(cfg->retry_base_ms, cfg->retry_cap_ms, j->item.attempts,
				       rnd) / 1000;
	if (o->retry_after_s > wait_s)
		wait_s = o->retry_after_s;
	return now + wait_s;
}

/*
 * What one send's outcome writes.  Beyond accepted / transient / permanent, the provider's flags
 * say: resend as a template now (once), the customer refuses these messages (an opt-out), the
 * credentials were refused (the provider is paused: the message waits, nothing else is sent
 * through it until a restart with fixed credentials), or a template is misconfigured (failed,
 * and said so).
 */
static void decide(struct dispatcher *d, struct job *j, int64_t now, struct send_record *r)
{
	const struct send_outcome *o = &j->out;
	enum send_result res = j->res;

	memset(r, 0, sizeof(*r));
	r->message_id = j->item.message_id;
	r->t = now;
	r->a = o->error_code;
	r->b = o->error_message;
	if (res == SEND_TRANSIENT && j->item.attempts >= d->gw->cfg.max_attempts &&
	    !(o->flags & SEND_AUTH_FAILED))
		res = SEND_PERMANENT;
	if ((o->flags & SEND_NEEDS_TEMPLATE) && !j->item.needs_template) {
		j->result = MS_TEMPLATE;
		r->kind = SEND_REC_TEMPLATE;
	} else if (o->flags & SEND_AUTH_FAILED) {
		j->result = MS_PAUSED;  /* paused already: pause_on_auth_failure() */
		r->kind = SEND_REC_RETRY;
	} else if (res == SEND_ACCEPTED) {
		j->result = MS_ACCEPTED;
		r->kind = SEND_REC_ACCEPTED;
		r->a = o->provider_message_id;
		r->b = NULL;
	} else if (res == SEND_TRANSIENT) {
		j->result = MS_RETRY;
		r->kind = SEND_REC_RETRY;
		r->t = retry_at(d, j, o, now);
	} else {
		j->result = MS_FAILED;
		r->kind = SEND_REC_FAILED;
		if (o->flags & SEND_CONFIG_ERROR)
			log_error("provider_config", "configuration: %s refused a message (%s: %s); check "
				  "[templates.%s]", provider_name(j->p), o->error_code,
				  o->error_message, provider_name(j->p));
		if (o->flags & SEND_OPTED_OUT) {
			r->suppress_phone = j->item.phone;
			r->suppress_provider = provider_name(j->p);
		}
	}
}

static void job_release(struct dispatcher *d, struct job *j);

/*
 * Records jobs[0..n) in one transaction, so that many outcomes share one commit, then counts and
 * logs them.  A failure to record leaves those messages `sending`: their lease runs out and they
 * become uncertain.
 */
static void record_jobs(struct dispatcher *d, struct job *const *jobs, size_t n)
{
	struct gateway *gw = d->gw;
	struct send_record recs[WINDOW];
	struct gw_err err = { 0 };
	int64_t now = gateway_now(gw);
	int rc;

	for (size_t i = 0; i < n; i++)
		decide(d, jobs[i], now, &recs[i]);
	rc = store_record_sends(gw->store, recs, n, &err);
	if (rc < 0)
		log_error("send_record", "recording %zu send outcome(s) failed: %s", n, err.msg);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (recs[i].refused)
			log_error("send_record", "recording the outcome of message %lld failed (the "
				  "others were recorded): %s; it stays sending until its lease ends, "
				  "then becomes uncertain", (long long)jobs[i]->item.message_id,
				  recs[i].why);
	for (size_t i = 0; i < n; i++) {
		struct job *j = jobs[i];
		char masked[32], cost[48] = "";
		enum channel ch;

		metrics_send(gw->metrics, provider_index(d, j->p), j->result, j->seconds);
		/* What an SMS is billed as, read from the body that was sent (texts_compose()). */
		if (channel_from_name(j->item.channel, &ch) == 0 && ch == CHANNEL_SMS) {
			const char *body = j->item.body ? j->item.body : "";
			struct sms_count c;

			sms_count(body, strlen(body), &c);
			snprintf(cost, sizeof(cost), " segments=%d encoding=%s", c.segments,
				 c.ucs2 ? "ucs2" : "gsm7");
			if (j->result == MS_ACCEPTED)
				metrics_sms_segments(gw->metrics, provider_index(d, j->p), c.ucs2,
						     c.segments);
		}
		mask_phone(j->item.phone, masked, sizeof(masked));
		printf("event=send provider=%s message=%lld survey=%s to=%s attempt=%d result=%s "
		       "code=%s%s%s\n", provider_name(j->p), (long long)j->item.message_id,
		       j->item.survey_id[0] ? j->item.survey_id : "-", masked, j->item.attempts,
		       metrics_send_name(j->result), j->out.error_code[0] ? j->out.error_code : "-",
		       cost, rc < 0 || recs[i].refused ? " recorded=no" :
		       recs[i].cancelled ? " recorded=cancelled" : "");
	}
	fflush(stdout);
}

static void *recorder_main(void *arg)
{
	struct dispatcher *d = arg;
	struct job *batch[WINDOW];
	size_t n;

	pthread_setname_np(pthread_self(), "gw-recorder");
	pthread_mutex_lock(&d->rlock);
	for (;;) {
		while (!d->rstop && !d->n_rpending)
			pthread_cond_wait(&d->rcond, &d->rlock);
		if (!d->n_rpending)
			break;
		n = d->n_rpending;
		memcpy(batch, d->rpending, n * sizeof(*batch));
		d->n_rpending = 0;
		pthread_mutex_unlock(&d->rlock);
		record_jobs(d, batch, n);
		pthread_mutex_lock(&d->rlock);
		memcpy(d->recorded + d->n_recorded, batch, n * sizeof(*batch));
		d->n_recorded += n;
		curl_multi_wakeup(d->multi);    /* their slots are free again */
	}
	pthread_mutex_unlock(&d->rlock);
	return NULL;
}

/* Hands the outcomes known this round to the recorder (or records them here without one). */
static void record_done(struct dispatcher *d)
{
	if (!d->n_done)
		return;
	if (!d->has_recorder) {
		record_jobs(d, d->done, d->n_done);
		for (size_t i = 0; i < d->n_done; i++)
			job_release(d, d->done[i]);
	} else {
		pthread_mutex_lock(&d->rlock);
		memcpy(d->rpending + d->n_rpending, d->done, d->n_done * sizeof(*d->done));
		d->n_rpending += d->n_done;
		pthread_cond_signal(&d->rcond);
		pthread_mutex_unlock(&d->rlock);
	}
	d->n_done = 0;
}

/* Releases the slots of every job the recorder is done with. */
static void reap_recorded(struct dispatcher *d)
{
	struct job *batch[WINDOW];
	size_t n;

	if (!d->has_recorder)
		return;
	pthread_mutex_lock(&d->rlock);
	n = d->n_recorded;
	memcpy(batch, d->recorded, n * sizeof(*batch));
	d->n_recorded = 0;
	pthread_mutex_unlock(&d->rlock);
	for (size_t i = 0; i < n; i++)
		job_release(d, batch[i]);
}

/* j's outcome is known: it is recorded with the others at the next record_done(). */
static void outcome_known(struct dispatcher *d, struct job *j)
{
	d->done[d->n_done++] = j;
}

/*
 * Credentials refused: nothing more is sent through that provider until a restart with working
 * ones.  Done on the dispatcher's thread as the answer arrives, before the outcome is recorded:
 * the message goes back to the queue due at once, and no claim may see it there unpaused.
 */
static void pause_on_auth_failure(struct dispatcher *d, const struct job *j,
				  const struct send_outcome *o)
{
	size_t pi = provider_index(d, j->p);

	if (!(o->flags & SEND_AUTH_FAILED) || pi >= GATEWAY_MAX_PROVIDERS || d->paused[pi])
		return;
	pthread_mutex_lock(&d->lock);
	/* The reason is written before the flag: /healthz reads the flag, then the reason. */
	snprintf(d->pause_reason[pi], sizeof(d->pause_reason[pi]), "%s: %s", o->error_code,
		 o->error_message);
	d->paused[pi] = 1;
	pthread_mutex_unlock(&d->lock);
	log_error("provider_paused", "%s refused the credentials (%s: %s); sending through it is "
		  "paused until the gateway restarts with working credentials", provider_name(j->p),
		  o->error_code, o->error_message);
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
	if (curl_multi_add_handle(d->multi, j->easy) != CURLM_OK)
		goto oom;
	j->in_multi = 1;
	return 0;
oom:
	snprintf(o->error_code, sizeof(o->error_code), "network");
	snprintf(o->error_message, sizeof(o->error_message), "out of memory");
	return 1;
}

/* Frees what the job holds and puts its slot back on the free stack. */
static void job_release(struct dispatcher *d, struct job *j)
{
	if (j->in_multi)
		curl_multi_remove_handle(d->multi, j->easy);
	if (j->easy)
		curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->headers);
	provider_request_release(&j->req);
	buf_release(&j->response);
	outbox_item_release(&j->item);
	memset(j, 0, sizeof(*j));
	j->next = d->free_jobs;
	d->free_jobs = j;
	d->in_use--;
}

/* Records the outcome of every finished transfer. */
static void collect_answers(struct dispatcher *d)
{
	CURLMsg *m;
	int running, left;

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
		res = provider_parse_send_response(j->p, status, j->response.data, j->response.len,
						   &o);
		if (m->data.result != CURLE_OK)
			snprintf(o.error_message, sizeof(o.error_message), "%s",
				 curl_easy_strerror(m->data.result));
		/* The provider's Retry-After wins over a shorter wait of our own. */
		if (j->retry_after_s > o.retry_after_s)
			o.retry_after_s = j->retry_after_s;
		curl_multi_remove_handle(d->multi, j->easy);
		j->in_multi = 0;
		pause_on_auth_failure(d, j, &o);
		j->res = res;
		j->out = o;
		outcome_known(d, j);
	}
	record_done(d);
}

/* Claims a batch for provider index pi into free slots and starts its sends; returns how many
 * messages it claimed. */
static size_t claim_batch(struct dispatcher *d, size_t pi)
{
	struct gateway *gw = d->gw;
	struct provider *p = gw->providers[pi];
	struct outbox_item items[WINDOW];
	struct gw_err err = { 0 };
	size_t room = WINDOW - d->in_use, want, n = 0;

	if (d->paused[pi] || room < BATCH_MAX)
		return 0;
	/* Without a backlog (messages trickling in, a thank-you per reply), claim again once the
	 * sends in flight are done: those that came meanwhile then share one claim, where a
	 * claim at every wake-up would cost a commit for one or two messages. */
	if (d->drained[pi] && d->in_use)
		return 0;
	/* Everything the window has room for, in one claim: each claim is a commit the
	 * dispatcher waits for while its connections go idle. */
	if (!(want = bucket_take(d, pi, &p->rate, room)))
		return 0;
	/* Processes sharing the store share the provider's rate too. */
	if (!p->rate.off && pace_shared(d, pi, want, &want) < 0)
		return 0;
	if (store_claim_due(gw->store, gateway_now(gw), provider_name(p), items, want, &n, &err) < 0) {
		log_error("outbox_claim", "claiming messages failed: %s", err.msg);
		n = 0;
	}
	d->drained[pi] = n < want;
	if (!p->rate.off)
		d->buckets[pi].tokens += (double)(want - n);    /* unused tokens go back */
	for (size_t i = 0; i < n; i++) {
		struct job *j = d->free_jobs;
		struct send_outcome o = { 0 };
		int prc;

		d->free_jobs = j->next;
		d->in_use++;
		j->next = NULL;
		j->item = items[i];
		j->p = p;
		j->seconds = -1;
		if (provider_has(p, PROVIDER_CAP_LOCAL)) {
			struct outbound msg;

			outbound_of(d, &j->item, &msg);
			j->res = provider_deliver(p, &msg, &o);
			j->out = o;
			outcome_known(d, j);
			continue;
		}
		if ((prc = job_prepare(d, j, &o)) != 0) {
			j->res = prc < 0 ? SEND_PERMANENT : SEND_TRANSIENT;
			j->out = o;
			outcome_known(d, j);
		}
	}
	record_done(d);
	return n;
}

/* Waits until IDLE_WAIT_MS pass, dispatcher_wake() is called or the dispatcher is stopped. */
static void idle_wait(struct dispatcher *d)
{
	struct timespec until;

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

/*
 * The loop: claim while the window has room for a batch, drive the transfers, record the outcomes
 * known.  With sends in flight it waits in curl (a transfer's progress and dispatcher_wake() end
 * the wait); with none, on the condition variable.  Once stopped it claims nothing more and ends
 * when every send in flight is recorded.
 */
static void *dispatcher_main(void *arg)
{
	struct dispatcher *d = arg;

	pthread_setname_np(pthread_self(), "gw-dispatcher");
	for (;;) {
		size_t claimed = 0;
		int stop;

		pthread_mutex_lock(&d->lock);
		stop = d->stop;
		d->woken = 0;
		pthread_mutex_unlock(&d->lock);

		reap_recorded(d);
		if (!stop) {
			for (size_t i = 0; i < d->gw->n_providers; i++)
				claimed += claim_batch(d, i);
		}
		if (!d->in_use) {
			if (stop)
				break;
			if (!claimed)
				idle_wait(d);
			continue;
		}
		collect_answers(d);
		/* A full batch claimed and room for another: claim again before waiting. */
		if (claimed >= BATCH_MAX && WINDOW - d->in_use >= BATCH_MAX)
			continue;
		curl_multi_poll(d->multi, NULL, 0, IDLE_WAIT_MS, NULL);
		collect_answers(d);
	}
	return NULL;
}

static void stop_recorder(struct dispatcher *d)
{
	if (d->has_recorder) {
		pthread_mutex_lock(&d->rlock);
		d->rstop = 1;
		pthread_cond_signal(&d->rcond);
		pthread_mutex_unlock(&d->rlock);
		pthread_join(d->recorder, NULL);
	}
	pthread_mutex_destroy(&d->rlock);
	pthread_cond_destroy(&d->rcond);
}

struct dispatcher *dispatcher_start(struct gateway *gw, struct gw_err *err)
{
	struct dispatcher *d = calloc(1, sizeof(*d));
	double now = mono_now();

	if (!d || !(d->jobs = calloc(WINDOW, sizeof(*d->jobs))) ||
	    !(d->multi = curl_multi_init())) {
		if (d)
			free(d->jobs);
		free(d);
		gw_errf(err, "dispatcher: out of memory");
		return NULL;
	}
	d->gw = gw;
	for (size_t i = WINDOW; i-- > 0;) {
		d->jobs[i].next = d->free_jobs;
		d->free_jobs = &d->jobs[i];
	}
	for (size_t i = 0; i < GATEWAY_MAX_PROVIDERS; i++) {
		d->buckets[i].last = now;
		d->buckets[i].tokens = 1;
	}
	curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	pthread_mutex_init(&d->rlock, NULL);
	pthread_cond_init(&d->rcond, NULL);
	/* Without the recorder thread, outcomes are recorded on the dispatcher's. */
	d->has_recorder = pthread_create(&d->recorder, NULL, recorder_main, d) == 0;
	if (pthread_create(&d->thread, NULL, dispatcher_main, d) != 0) {
		stop_recorder(d);
		curl_multi_cleanup(d->multi);
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->cond);
		free(d->jobs);
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
	curl_multi_wakeup(d->multi);    /* when it waits on sends in flight */
}

void dispatcher_stop(struct dispatcher *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	curl_multi_wakeup(d->multi);
	pthread_join(d->thread, NULL);
	stop_recorder(d);
	curl_multi_cleanup(d->multi);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d->jobs);
	free(d);
}
