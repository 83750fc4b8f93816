/* events.c - see events.h. */
#include "events.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatcher.h"
#include "log.h"
#include "vocab.h"

#define BATCH_MAX 16
#define IDLE_WAIT_MS 250
#define USER_AGENT "survey-gateway-events/1"

struct events {
	struct gateway *gw;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_int stop;
	CURL *easy;             /* one handle, so the connection to the receiver is kept alive */
	int down_streak;        /* failed attempts in a row: how long the receiver has looked down */
	int64_t resume_at;      /* no attempt before this (gateway clock, seconds) */
};

/* ---- the event's JSON ------------------------------------------------------------------ */

/* A JSON string, or null for "" (and, defensively, for text that is not UTF-8). */
static json_t *str_or_null(const char *s)
{
	json_t *j = s && *s ? json_string(s) : NULL;

	return j ? j : json_null();
}

static json_t *survey_json(const struct evt_facts *f)
{
	json_t *s;

	if (!f->has_survey || !(s = json_object()))
		return json_null();
	json_object_set_new(s, "id", str_or_null(f->survey_id));
	json_object_set_new(s, "kind", str_or_null(f->kind));
	json_object_set_new(s, "channel", str_or_null(f->channel));
	json_object_set_new(s, "interaction_id", str_or_null(f->interaction_id));
	json_object_set_new(s, "touchpoint", str_or_null(f->touchpoint));
	json_object_set_new(s, "agent", str_or_null(f->agent));
	return s;
}

static json_t *response_json(const struct evt_facts *f)
{
	enum survey_kind k;
	json_t *r = json_object();

	if (!r)
		return NULL;
	json_object_set_new(r, "score", json_integer(f->score));
	json_object_set_new(r, "category", kind_from_name(f->kind, &k) == 0 ?
				str_or_null(score_category(k, f->score)) : json_null());
	json_object_set_new(r, "comment", str_or_null(f->comment));
	return r;
}

char *events_format_json(const struct evt_facts *f, const char *id)
{
	json_t *root = json_object(), *customer = json_object();
	time_t t = (time_t)f->at;
	char when[32] = "";
	struct tm tm;
	char *out = NULL;
	int opt = f->type == EVT_OPTED_OUT || f->type == EVT_OPTED_IN;

	if (!root || !customer)
		goto out;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(root, "id", json_string(id));
	json_object_set_new(root, "type", json_string(evt_type_name(f->type)));
	json_object_set_new(root, "created_at", json_string(when));
	json_object_set_new(root, "survey", survey_json(f));
	json_object_set_new(customer, "id", str_or_null(f->customer_id));
	/* The suppression belongs to the number (every customer sharing it), and a stop word can
	 * come from a number no customer id is known for: the receiver needs the number itself. */
	if (opt)
		json_object_set_new(customer, "phone", str_or_null(f->phone));
	json_object_set(root, "customer", customer);
	if (opt)
		json_object_set_new(root, "source", str_or_null(f->source));
	else if (json_object_set_new(root, "response", response_json(f)) < 0)
		goto out;
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(customer);
	json_decref(root);
	return out;
}

char *events_format(void *ctx, const struct evt_facts *f, char id_out[EVENT_ID_LEN])
{
	uint8_t rnd[12];
	char hex[2 * sizeof(rnd) + 1];

	(void)ctx;
	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return NULL;
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(id_out, EVENT_ID_LEN, "evt_%s", hex);
	return events_format_json(f, id_out);
}

int events_sign(const char *secret, int64_t t, const char *body, size_t len,
		char out[EVENTS_SIG_LEN])
{
	char ts[21], hex[2 * SHA256_LEN + 1];
	uint8_t mac[SHA256_LEN];
	size_t tl = (size_t)snprintf(ts, sizeof(ts), "%" PRId64, t);
	char *signed_text = malloc(tl + 1 + len);

	if (!signed_text)
		return -1;
	memcpy(signed_text, ts, tl);
	signed_text[tl] = '.';
	memcpy(signed_text + tl + 1, body, len);
	if (hmac_sha256(secret, strlen(secret), signed_text, tl + 1 + len, mac) < 0) {
		free(signed_text);
		return -1;
	}
	free(signed_text);
	hex_encode(mac, sizeof(mac), hex);
	snprintf(out, EVENTS_SIG_LEN, "t=%s,v1=%s", ts, hex);
	return 0;
}

/* ---- delivery -------------------------------------------------------------------------- */

static size_t discard_body(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

/* Aborts a transfer in flight when the gateway stops. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct events *ev = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&ev->stop) ? 1 : 0;
}

/*
 * POSTs one event, signed at `now`.  Returns 1 when the receiver answered 2xx, 0 when it did not
 * (`why` says what happened, *status is its HTTP status or 0), -1 when the attempt was aborted
 * because the gateway is stopping (it does not count).
 */
static int post_event(struct events *ev, const struct evt_item *it, int64_t now, long *status,
		      char *why, size_t why_len)
{
	char sig[EVENTS_SIG_LEN], h_sig[EVENTS_SIG_LEN + 32], h_id[EVENT_ID_LEN + 32];
	const char *fixed[] = { "Content-Type: application/json", "User-Agent: " USER_AGENT,
				/* no 100-continue round trip before the body */
				"Expect:", h_sig, h_id };
	struct curl_slist *headers = NULL, *h;
	size_t len = strlen(it->body);
	CURLcode cc;
	int rc = 0;

	*status = 0;
	if (events_sign(ev->gw->cfg.events_secret, now, it->body, len, sig) < 0) {
		snprintf(why, why_len, "out of memory");
		return 0;
	}
	snprintf(h_sig, sizeof(h_sig), "X-Gateway-Signature: %s", sig);
	snprintf(h_id, sizeof(h_id), "X-Gateway-Event-Id: %s", it->id);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!(h = curl_slist_append(headers, fixed[i]))) {
			snprintf(why, why_len, "out of memory");
			goto out;
		}
		headers = h;
	}
	curl_easy_setopt(ev->easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(ev->easy, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(ev->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(ev->easy);
	if (cc == CURLE_ABORTED_BY_CALLBACK && atomic_load(&ev->stop)) {
		rc = -1;
		goto out;
	}
	if (cc != CURLE_OK) {
		snprintf(why, why_len, "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(ev->easy, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status < 300)
		rc = 1;
	else
		snprintf(why, why_len, "HTTP %ld", *status);
out:
	curl_easy_setopt(ev->easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	return rc;
}

/* Logs one attempt as key=value. */
static void log_attempt(const struct evt_item *it, int attempt, const char *result, long status,
			const char *why, int64_t wait_s)
{
	printf("event=deliver id=%s type=%s attempt=%d result=%s status=%ld", it->id, it->type,
	       attempt, result, status);
	if (why[0])
		printf(" error=\"%s\"", why);
	if (wait_s >= 0)
		printf(" next_in=%llds", (long long)wait_s);
	printf("\n");
	fflush(stdout);
}

/*
 * Tries one event and fills its outcome.  Returns 1 when delivered, 0 when it failed (the
 * receiver looks down: the caller pauses the queue), -1 when aborted (nothing to record).
 */
static int attempt(struct events *ev, const struct evt_item *it, int64_t now,
		   struct evt_outcome *o, char *why, size_t why_len)
{
	const struct config *cfg = &ev->gw->cfg;
	int64_t max_age_s = cfg->events_max_age_ms / 1000;
	uint32_t rnd = 0;
	long status;
	int rc;

	why[0] = '\0';
	o->seq = it->seq;
	o->error = why;
	if ((rc = post_event(ev, it, now, &status, why, why_len)) < 0)
		return -1;
	if (rc == 1) {
		o->result = EVT_DELIVERED;
		log_attempt(it, it->attempts + 1, "delivered", status, why, -1);
		return 1;
	}
	/* Every other answer is retried, 4xx included: a receiver that refuses events is a
	 * configuration to fix, and the events should still arrive once it is fixed. */
	if (max_age_s > 0 && now - it->created_at >= max_age_s) {
		o->result = EVT_EXPIRED;
		log_attempt(it, it->attempts + 1, "expired", status, why, -1);
		log_error("event_expired", "event %s (%s) given up after %d attempts over [events] "
			  "max_age: %s", it->id, it->type, it->attempts + 1, why);
		return 0;
	}
	random_bytes(&rnd, sizeof(rnd));
	o->result = EVT_RETRY;
	o->next_at = now + dispatcher_backoff_ms(cfg->events_retry_base_ms,
						 cfg->events_retry_cap_ms, it->attempts + 1,
						 rnd) / 1000;
	log_attempt(it, it->attempts + 1, "retry", status, why, o->next_at - now);
	return 0;
}

/*
 * Delivers the due events in order until one fails; then the queue waits (backoff over the
 * failures in a row), so a receiver that is down gets one attempt per wait, not one per event.
 * Returns how many were attempted.
 */
static size_t deliver_batch(struct events *ev, int64_t now)
{
	const struct config *cfg = &ev->gw->cfg;
	struct evt_item items[BATCH_MAX];
	struct evt_outcome outcomes[BATCH_MAX];
	char why[BATCH_MAX][CURL_ERROR_SIZE];
	struct gw_err err = { 0 };
	size_t n = 0, done = 0;

	if (store_events_due(ev->gw->store, now, items, BATCH_MAX, &n, &err) < 0) {
		log_error("events_read", "reading the queue failed: %s", err.msg);
		return 0;
	}
	while (done < n && !atomic_load(&ev->stop)) {
		int rc = attempt(ev, &items[done], now, &outcomes[done], why[done], sizeof(why[0]));
		uint32_t rnd = 0;

		if (rc < 0)
			break;
		done++;
		if (rc == 1) {
			ev->down_streak = 0;
			continue;
		}
		ev->down_streak++;
		random_bytes(&rnd, sizeof(rnd));
		ev->resume_at = now + dispatcher_backoff_ms(cfg->events_retry_base_ms,
							    cfg->events_retry_cap_ms,
							    ev->down_streak, rnd) / 1000;
		break;
	}
	for (size_t i = done; i < n; i++) /* handed back, in their place in the queue */
		outcomes[i] = (struct evt_outcome){ .seq = items[i].seq, .result = EVT_UNTRIED };
	if (store_events_record(ev->gw->store, outcomes, n, &err) < 0)
		log_error("events_record", "recording %zu outcome(s) failed (they will be sent "
			  "again): %s", done, err.msg);
	for (size_t i = 0; i < n; i++)
		evt_item_release(&items[i]);
	return done;
}

static void wait_ms(struct events *ev, long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ev->lock);
	while (!atomic_load(&ev->stop))
		if (pthread_cond_timedwait(&ev->cond, &ev->lock, &until) != 0)
			break;
	pthread_mutex_unlock(&ev->lock);
}

static void *events_main(void *arg)
{
	struct events *ev = arg;

	pthread_setname_np(pthread_self(), "gw-events");
	while (!atomic_load(&ev->stop)) {
		int64_t now = gateway_now(ev->gw);

		if (now >= ev->resume_at && deliver_batch(ev, now) == BATCH_MAX)
			continue;
		wait_ms(ev, IDLE_WAIT_MS);
	}
	return NULL;
}

struct events *events_start(struct gateway *gw, struct gw_err *err)
{
	const struct config *cfg = &gw->cfg;
	struct events *ev = calloc(1, sizeof(*ev));

	if (!ev || !(ev->easy = curl_easy_init())) {
		free(ev);
		gw_errf(err, "events: out of memory");
		return NULL;
	}
	ev->gw = gw;
	curl_easy_setopt(ev->easy, CURLOPT_URL, cfg->events_url);
	curl_easy_setopt(ev->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(ev->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(ev->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ev->easy, CURLOPT_TIMEOUT_MS, (long)cfg->events_timeout_ms);
	curl_easy_setopt(ev->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->events_timeout_ms);
	curl_easy_setopt(ev->easy, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(ev->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(ev->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(ev->easy, CURLOPT_XFERINFODATA, ev);
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cond, NULL);
	if (pthread_create(&ev->thread, NULL, events_main, ev) != 0) {
		curl_easy_cleanup(ev->easy);
		pthread_mutex_destroy(&ev->lock);
		pthread_cond_destroy(&ev->cond);
		free(ev);
		gw_errf(err, "events: cannot start the delivery thread");
		return NULL;
	}
	return ev;
}

void events_stop(struct events *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&ev->lock);
	atomic_store(&ev->stop, 1);
	pthread_cond_signal(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
	pthread_join(ev->thread, NULL);
	curl_easy_cleanup(ev->easy);
	pthread_mutex_destroy(&ev->lock);
	pthread_cond_destroy(&ev->cond);
	free(ev);
}
