/*
 * test_e2e_instances.c - three build/gateway processes on one PostgreSQL database, one of them
 * killed with SIGKILL and started again, round after round, under load.
 *
 * One database of its own on the test server (GATEWAY_TEST_PG_URL; whatever
 * GATEWAY_TEST_BACKEND says), one fake Twilio that all three send to, and three `gateway serve`
 * processes with the same config but their listen port (and public_url): `[provider.twilio]
 * rate = R/s` and `[dispatch] send_lease = 3s`.
 *
 *  - Client threads post INSTANCES_TRIGGERS triggers (default 30000), each with its own
 *    interaction id and customer phone, round-robin over the three instances, up to 3 R a second,
 *    so that the outbox holds more than the rate lets out: paced, the fake sees R a second; not
 *    paced together, it would see what the machine can send (~350/s here), well above R.  For
 *    a quarter of the surveys (chosen by the seed), once the fake received the question, a
 *    signed inbound "9" goes to another instance than the one that took the trigger, signed
 *    for that instance's URL.
 *  - INSTANCES_ROUNDS rounds (default 10), spread over the run by the fake's progress: at a
 *    random moment of each round one instance (in turn) gets SIGKILL, stays down for 0-300 ms
 *    and is started again on the same database, on a new port.
 *  - A request that got no answer (or a 5xx) is retried as a client would, same interaction id
 *    or same MessageSid, at another live instance: a trigger must then answer 200 (the dead
 *    process had stored it) or 202, a webhook 200.  A new interaction answers 202 at once.
 *  - Once every trigger is acknowledged the instances keep running until nothing is queued or
 *    sending any more (a killed instance's claims turn `uncertain` when their lease ends), then
 *    stop on SIGTERM (exit 0).
 *
 * Then, from the database (one query per table) and what the fake recorded:
 *  - every trigger answered 2xx is the survey of its interaction, with the id the answer gave;
 *    the database holds no other survey;
 *  - every inbound answered 200 is stored with its MessageSid, and its survey is answered with
 *    score 9;
 *  - no question reached the fake twice unless its survey is `uncertain`; a survey sent, answered
 *    or delivered had its question reach the fake exactly once; no thank-you went twice to a
 *    customer unless that message is `uncertain`; every request the fake got was well-formed;
 *  - the provider's shared token bucket (R tokens a second, a burst of R) held: in any 1 s the
 *    fake saw at most R + burst requests, in any 10 s at most 10 R + burst, over the whole run
 *    at most R * its length + burst.
 * The figures are printed: triggers, retries, surveys, sent, uncertain, duplicates, replies, the
 * rates measured against those allowed, and the time.
 *
 * Environment: GATEWAY_BIN, FIXTURES, E2E_KEEP_TMP (e2e.h), GATEWAY_TEST_PG_URL (pg_test.h);
 * INSTANCES_TRIGGERS, INSTANCES_ROUNDS, INSTANCES_RATE (sends a second, default 200; built with
 * AddressSanitizer: 4000 triggers at 60/s), INSTANCES_SEED (replays the kill moments, the
 * surveys replied to and the instance each reply goes to; thread scheduling stays the
 * machine's).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "support/e2e.h"
#include "support/pg_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
/* an instrumented gateway is 2-3 times slower: the same test, smaller, within the same time */
#define DEFAULT_TRIGGERS 4000
#define DEFAULT_RATE 60
#else
#define DEFAULT_TRIGGERS 30000
#define DEFAULT_RATE 200
#endif
#define DEFAULT_ROUNDS 10
#define N_INST 3
#define N_CLIENTS 8
#define REPLY_PERCENT 25 /* of the surveys get a "9" */
#define TRIGGER_PACE 3.0 /* triggers a second, times the rate: a backlog to pace */
#define SEND_LEASE "3s"
#define MAX_DOWN_MS 300      /* how long a killed instance stays down, at most */
#define STALL_MS 30000       /* the fake getting nothing for this long fails the test */
#define PHONE_PREFIX "+3462" /* + 7 digits: the item's index */
#define INTERACTION_PREFIX "inst-i"
#define QUESTION_MARK "recomiend" /* in the Spanish NPS question, not in the thank-you */

/* ---- the run's state ---- */

enum trigger_state { T_NEW, T_INFLIGHT, T_RETRY, T_ACKED };
enum reply_state { R_NONE, R_QUEUED, R_INFLIGHT, R_ACKED };

/* One survey asked for: item i has phone PHONE_PREFIX + i and interaction inst-i<i>. */
struct item {
	unsigned char state;       /* enum trigger_state */
	unsigned char reply;       /* enum reply_state */
	unsigned char wants_reply; /* chosen by the seed to get a "9" */
	signed char inst;          /* the instance that acknowledged the trigger */
	signed char failed_at;     /* the instance the last unanswered attempt went to */
	unsigned char retried;     /* the trigger went unanswered at least once */
	unsigned char reply_retried;
	signed char reply_failed_at;
	short round; /* the round of its acknowledgement */
	long status; /* the answer that acknowledged it */
	char id[40]; /* the survey id, once acknowledged */
};

/* A FIFO of item indexes; every item is in one at most once at a time, so `cap` = items. */
struct queue {
	size_t *v;
	size_t cap, head, len;
};

struct instance {
	struct harness_gw gw;
	char dir[HARNESS_PATH_LEN];
	char conf[HARNESS_PATH_LEN];
	int up; /* the clients send to it */
	int starts;
};

struct run {
	char dir[HARNESS_PATH_LEN];
	struct pg_test_db db;
	int have_db;
	struct fake_twilio *tw;
	struct instance inst[N_INST];
	uint64_t seed; /* INSTANCES_SEED */
	uint64_t rng;  /* the main thread's draws from it */
	size_t n;      /* triggers */
	int rounds;
	double rate; /* [provider.twilio] rate, a second */
	int passed;

	pthread_t clients[N_CLIENTS];
	int n_clients;

	pthread_mutex_t lock; /* guards everything below */
	int stop;
	int round;
	long long t0; /* when the first trigger was due */
	struct item *items;
	size_t next;          /* the next item never posted */
	struct queue retry;   /* triggers to post again */
	struct queue replies; /* items whose "9" is to be posted (again) */
	size_t scanned;       /* fake requests looked at by scan_fake() */
	size_t inflight;
	char bad[512]; /* the first answer a client thread did not expect */
	char first_5xx[160];
	/* figures */
	size_t acked, acked_first, unanswered, stored_unanswered, answered_5xx;
	size_t replies_acked, replies_retried;
};

static int queue_init(struct queue *q, size_t cap)
{
	q->v = calloc(cap ? cap : 1, sizeof(*q->v));
	q->cap = cap;
	q->head = q->len = 0;
	return q->v ? 0 : -1;
}

static void queue_push(struct queue *q, size_t idx)
{
	q->v[(q->head + q->len++) % q->cap] = idx;
}

static size_t queue_pop(struct queue *q)
{
	size_t idx = q->v[q->head];

	q->head = (q->head + 1) % q->cap;
	q->len--;
	return idx;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void note_bad(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_bad(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->bad[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->bad, sizeof(r->bad), fmt, ap);
	va_end(ap);
}

/* ---- requests as the helpdesk and as Twilio ---- */

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	return buf_append(userdata, data, size * n) < 0 ? 0 : size * n;
}

/*
 * One POST on the client's own handle (its connections kept alive between calls), quiet when
 * the gateway dies under it.  0 with *status (and the body in `out`) when an answer arrived, -1
 * when none did.
 */
static int quiet_post(CURL *c, const char *url, const char *const *headers, const char *body,
		      size_t len, long *status, struct buf *out)
{
	struct curl_slist *list = NULL, *tmp;
	int rc = -1;

	*status = 0;
	for (size_t i = 0; headers && headers[i]; i++) {
		if (!(tmp = curl_slist_append(list, headers[i])))
			goto done;
		list = tmp;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		rc = 0;
	}
done:
	curl_slist_free_all(list);
	return rc;
}

/* POST /v1/surveys for item `idx` at `base`: 0 and the status (and the survey id of a 200/202,
 * "" when the body has none) when answered, -1 when not. */
static int post_trigger(CURL *c, const char *base, size_t idx, long *status, char id[40])
{
	const char *headers[] = { "Authorization: Bearer " HARNESS_API_KEY,
				  "Content-Type: application/json", NULL };
	char url[128], body[512];
	struct buf out;
	json_t *j;
	int n, rc;

	n = snprintf(
		body, sizeof(body),
		"{\"customer\": {\"id\": \"inst-c%zu\", \"phone\": \"" PHONE_PREFIX "%07zu\","
		" \"name\": \"Ana\", \"locale\": \"es\"}, \"kind\": \"nps\", \"channel\": \"sms\","
		" \"interaction\": {\"id\": \"" INTERACTION_PREFIX "%zu\", \"touchpoint\":"
		" \"support_chat\"}, \"delay_seconds\": 0}",
		idx, idx, idx);
	id[0] = '\0';
	snprintf(url, sizeof(url), "%s/v1/surveys", base);
	buf_init(&out, 1u << 16);
	rc = quiet_post(c, url, headers, body, (size_t)n, status, &out);
	if (rc == 0 && (*status == 200 || *status == 202) &&
	    (j = json_loadb(buf_cstr(&out), out.len, 0, NULL))) {
		const char *s = json_string_value(json_object_get(j, "id"));

		snprintf(id, 40, "%s", s ? s : "");
		json_decref(j);
	}
	buf_release(&out);
	return rc;
}

/* The inbound MessageSid of item `idx`'s "9": "SM" and 32 hex digits, the item in the last 16. */
static void reply_sid(const struct run *r, size_t idx, char out[40])
{
	snprintf(out, 40, "SM%016llx%016zx", (unsigned long long)(r->seed & 0xffffffffffffULL),
		 idx);
}

/* A signed Twilio inbound SMS "9" from item `idx`'s phone to the instance at `base`, which is
 * also the URL Twilio signs (its public_url). */
static int post_reply(CURL *c, const struct run *r, const char *base, size_t idx, long *status)
{
	char phone[32], sid[40], file[HARNESS_PATH_LEN], url[160], sig[FAKE_TWILIO_SIG_LEN],
		sig_hdr[96];
	const char *headers[] = { "Content-Type: application/x-www-form-urlencoded", sig_hdr,
				  NULL };
	/* clang-format off */
	const char *set[] = {
		"From", phone, "To", HARNESS_TWILIO_FROM, "Body", "9",
		"MessageSid", sid, "SmsSid", sid, "SmsMessageSid", sid,
		"AccountSid", HARNESS_TWILIO_SID, NULL
	};
	/* clang-format on */
	struct buf body, out;
	int rc = -1;

	snprintf(phone, sizeof(phone), PHONE_PREFIX "%07zu", idx);
	reply_sid(r, idx, sid);
	snprintf(file, sizeof(file), "%s/twilio-inbound-sms.form", fixtures_dir());
	snprintf(url, sizeof(url), "%s/webhooks/twilio", base);
	buf_init(&body, 64u << 10);
	buf_init(&out, 1u << 16);
	*status = 0;
	if (fake_twilio_form(file, set, &body) == 0 &&
	    fake_twilio_sign(HARNESS_TWILIO_TOKEN, url, buf_cstr(&body), body.len, sig) == 0) {
		snprintf(sig_hdr, sizeof(sig_hdr), "X-Twilio-Signature: %s", sig);
		rc = quiet_post(c, url, headers, buf_cstr(&body), body.len, status, &out);
	} else {
		*status = -1; /* the test's own failure, reported as a bad answer */
		rc = 0;
	}
	buf_release(&out);
	buf_release(&body);
	return rc;
}

/* ---- the clients ---- */

/* Item index of a phone we made up, or (size_t)-1. */
static size_t phone_item(const char *to)
{
	char *end;
	unsigned long v;

	if (!to || strncmp(to, PHONE_PREFIX, strlen(PHONE_PREFIX)) != 0)
		return (size_t)-1;
	v = strtoul(to + strlen(PHONE_PREFIX), &end, 10);
	return *end ? (size_t)-1 : (size_t)v;
}

/* Under the lock: items chosen for a "9" whose question the fake has received are queued. */
static void scan_fake(struct run *r)
{
	size_t n = fake_twilio_count(r->tw);

	for (; r->scanned < n; r->scanned++) {
		const struct fake_twilio_request *req = fake_twilio_request(r->tw, r->scanned);
		size_t idx = phone_item(req->to);

		if (idx < r->n && req->body && strstr(req->body, QUESTION_MARK) &&
		    r->items[idx].wants_reply && r->items[idx].reply == R_NONE) {
			r->items[idx].reply = R_QUEUED;
			queue_push(&r->replies, idx);
		}
	}
}

/* Under the lock: a live instance other than `not1` and `not2` (-1: none excluded), drawn with
 * `rng`; the least excluded live one when every other is down; -1 when none is up. */
static int pick_instance(struct run *r, uint64_t *rng, int not1, int not2)
{
	int k0 = (int)(rng_next(rng) % N_INST), fallback = -1;

	for (int i = 0; i < N_INST; i++) {
		int k = (k0 + i) % N_INST;

		if (!r->inst[k].up)
			continue;
		if (k != not1 && k != not2)
			return k;
		if (k != not1 || fallback < 0)
			fallback = k;
	}
	return fallback;
}

/* What a client does next, chosen under the lock. */
struct job {
	enum { J_NONE, J_TRIGGER, J_REPLY } kind;
	size_t idx;
	int inst;
	int retry;
	char base[64];
};

/* Under the lock: retried triggers first, then a "9" or a new trigger when one is due. */
static void next_job(struct run *r, uint64_t *rng, struct job *j)
{
	long long now = harness_now_ms();
	int trigger_due = r->next < r->n && now >= r->t0 + (long long)((double)r->next * 1000.0 /
								       (r->rate * TRIGGER_PACE));

	j->kind = J_NONE;
	scan_fake(r);
	if (r->retry.len) {
		j->idx = queue_pop(&r->retry);
		j->kind = J_TRIGGER;
		j->retry = 1;
		/* a client that got no answer tries another instance */
		j->inst = pick_instance(r, rng, r->items[j->idx].failed_at, -1);
	} else if (r->replies.len && (!trigger_due || rng_next(rng) % 2)) {
		struct item *it;

		j->idx = queue_pop(&r->replies);
		it = &r->items[j->idx];
		j->kind = J_REPLY;
		j->retry = it->reply_retried;
		/* the "wrong" instance: never the one that took the trigger */
		j->inst = pick_instance(r, rng, it->inst, it->reply_failed_at);
		it->reply = R_INFLIGHT;
	} else if (trigger_due) {
		j->idx = r->next++;
		j->kind = J_TRIGGER;
		j->retry = 0;
		/* round-robin; a load balancer skips an instance it knows is down */
		j->inst = (int)(j->idx % N_INST);
		if (!r->inst[j->inst].up)
			j->inst = pick_instance(r, rng, j->inst, -1);
	}
	if (j->kind == J_NONE)
		return;
	if (j->kind == J_TRIGGER)
		r->items[j->idx].state = T_INFLIGHT;
	if (j->inst < 0) /* nothing up: the request goes nowhere and is retried */
		j->inst = 0;
	snprintf(j->base, sizeof(j->base), "%s", r->inst[j->inst].gw.base_url);
	r->inflight++;
}

/* Under the lock: what the answer (or its absence) to a trigger means. */
static void trigger_done(struct run *r, const struct job *j, int rc, long status, const char *id)
{
	struct item *it = &r->items[j->idx];

	if (rc == 0 && id[0] && (status == 202 || (status == 200 && j->retry))) {
		it->state = T_ACKED;
		it->inst = (signed char)j->inst;
		it->status = status;
		it->round = (short)r->round;
		snprintf(it->id, sizeof(it->id), "%s", id);
		r->acked++;
		r->acked_first += !j->retry;
		r->stored_unanswered += status == 200;
		return;
	}
	if (rc == 0 && status < 500) {
		note_bad(r,
			 "round %d: trigger of %s interaction " INTERACTION_PREFIX "%zu at "
			 "instance %d answered %ld (id \"%s\"), want %s",
			 r->round, j->retry ? "retried" : "new", j->idx, j->inst, status, id,
			 j->retry ? "200 or 202" : "202");
		it->state = T_ACKED; /* counted as bad, not retried */
		return;
	}
	/* no answer, or "try again": a client posts it again elsewhere */
	if (rc == 0 && !r->answered_5xx++)
		snprintf(r->first_5xx, sizeof(r->first_5xx),
			 "round %d: trigger at instance %d: %ld", r->round, j->inst, status);
	r->unanswered += !it->retried;
	it->retried = 1;
	it->failed_at = (signed char)j->inst;
	it->state = T_RETRY;
	queue_push(&r->retry, j->idx);
}

/* Under the lock: what the answer (or its absence) to a "9" means. */
static void reply_done(struct run *r, const struct job *j, int rc, long status)
{
	struct item *it = &r->items[j->idx];

	if (rc == 0 && status == 200) {
		it->reply = R_ACKED;
		r->replies_acked++;
		return;
	}
	if (rc == 0 && status < 500) {
		note_bad(r,
			 "round %d: inbound \"9\" from " PHONE_PREFIX "%07zu at instance %d "
			 "answered %ld, want 200",
			 r->round, j->idx, j->inst, status);
		it->reply = R_ACKED;
		return;
	}
	if (rc == 0 && !r->answered_5xx++)
		snprintf(r->first_5xx, sizeof(r->first_5xx),
			 "round %d: inbound at instance %d: %ld", r->round, j->inst, status);
	r->replies_retried += !it->reply_retried;
	it->reply_retried = 1;
	it->reply_failed_at = (signed char)j->inst;
	it->reply = R_QUEUED;
	queue_push(&r->replies, j->idx);
}

struct client {
	struct run *r;
	uint64_t rng;
};

static struct client client_args[N_CLIENTS];

static void *client_main(void *arg)
{
	struct client *cl = arg;
	struct run *r = cl->r;
	CURL *c = curl_easy_init();

	for (;;) {
		struct job j;
		char id[40] = "";
		long status = 0;
		int rc;

		pthread_mutex_lock(&r->lock);
		if (r->stop || !c) {
			if (!c)
				note_bad(r, "curl_easy_init failed in a client thread");
			pthread_mutex_unlock(&r->lock);
			break;
		}
		next_job(r, &cl->rng, &j);
		pthread_mutex_unlock(&r->lock);
		if (j.kind == J_NONE) {
			harness_sleep_ms(2);
			continue;
		}
		if (j.kind == J_TRIGGER)
			rc = post_trigger(c, j.base, j.idx, &status, id);
		else
			rc = post_reply(c, r, j.base, j.idx, &status);
		pthread_mutex_lock(&r->lock);
		if (j.kind == J_TRIGGER)
			trigger_done(r, &j, rc, status, id);
		else
			reply_done(r, &j, rc, status);
		r->inflight--;
		pthread_mutex_unlock(&r->lock);
		if (rc < 0)
			harness_sleep_ms(5); /* a refused connection answers at once */
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void start_clients(struct run *r)
{
	for (int t = 0; t < N_CLIENTS; t++) {
		client_args[t].r = r;
		client_args[t].rng = rng_next(&r->rng);
		assert_int_equal(pthread_create(&r->clients[t], NULL, client_main, &client_args[t]),
				 0);
		r->n_clients++;
	}
}

/* Stops and joins the client threads (harmless when they are not running). */
static void stop_clients(struct run *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_mutex_unlock(&r->lock);
	for (int t = 0; t < r->n_clients; t++)
		pthread_join(r->clients[t], NULL);
	r->n_clients = 0;
}

/* ---- the instances ---- */

/* Writes instance k's config: the shared database, the paced fake, its own port. */
static int write_config(struct run *r, int k, int port)
{
	struct instance *in = &r->inst[k];
	/* 0600: the file holds the auth token and the API key */
	int fd = open(in->conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f,
		"[server]\n"
		"listen = 127.0.0.1:%d\n"
		"public_url = http://127.0.0.1:%d\n"
		"api_keys = " HARNESS_API_KEY "\n"
		"[store]\n"
		"backend = postgres\n"
		"url = %s\n"
		"[survey]\n"
		"brand = Acme\n"
		"default_locale = es\n"
		"expire_after = 48h\n"
		"min_days_between = 0\n"
		"quiet_hours = off\n"
		"[channels]\n"
		"sms = twilio\n"
		"whatsapp = console\n"
		"[provider.twilio]\n"
		"account_sid = " HARNESS_TWILIO_SID "\n"
		"auth_token = " HARNESS_TWILIO_TOKEN "\n"
		"from = " HARNESS_TWILIO_FROM "\n"
		"base_url = http://127.0.0.1:%d\n"
		"rate = %g/s\n"
		"[dispatch]\n"
		"retry_base = 100ms\n"
		"send_lease = " SEND_LEASE "\n",
		port, port, r->db.url, fake_twilio_port(r->tw), r->rate);
	return fclose(f) == 0 ? 0 : -1;
}

/* Starts instance k on a free port (its last log kept as gateway.prev.log).  0 or -1. */
static int start_instance(struct run *r, int k)
{
	struct instance *in = &r->inst[k];
	char prev[HARNESS_PATH_LEN + 32];
	int port = harness_free_port();

	if (in->starts) {
		snprintf(prev, sizeof(prev), "%s/gateway.prev.log", in->dir);
		rename(in->gw.log_path, prev);
	}
	if (port < 0 || write_config(r, k, port) < 0)
		return -1;
	if (harness_gw_start(&in->gw, in->dir, in->conf, port, NULL) < 0)
		return -1;
	in->starts++;
	return 0;
}

static void print_logs(const struct run *r)
{
	for (int k = 0; k < N_INST; k++) {
		struct harness_gw prev = { 0 };

		snprintf(prev.log_path, sizeof(prev.log_path), "%.*s/gateway.prev.log",
			 HARNESS_PATH_LEN - 24, r->inst[k].dir);
		if (!r->inst[k].gw.log_path[0])
			continue;
		fprintf(stderr, "instance %d (started %d times):\n", k, r->inst[k].starts);
		if (access(prev.log_path, R_OK) == 0)
			harness_gw_print_log(&prev, 2000);
		harness_gw_print_log(&r->inst[k].gw, 3000);
	}
}

#define INST_FAIL(r, fmt, ...)                                                                \
	do {                                                                                  \
		stop_clients(r);                                                              \
		print_logs(r);                                                                \
		fail_msg("INSTANCES_SEED=%llu round %d: " fmt, (unsigned long long)(r)->seed, \
			 (r)->round, __VA_ARGS__);                                            \
	} while (0)

static int instances_setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));

	*state = r;
	if (!r || harness_tmpdir_create(r->dir, sizeof(r->dir)) < 0)
		return -1;
	pthread_mutex_init(&r->lock, NULL);
	return 0;
}

static int instances_teardown(void **state)
{
	struct run *r = *state;
	int rc = 0;

	if (!r)
		return 0;
	stop_clients(r);
	for (int k = 0; k < N_INST; k++) {
		int code = harness_gw_stop(&r->inst[k].gw);

		if (code > 0) {
			fprintf(stderr, "instance %d: exit status on SIGTERM: %d (want 0)\n", k,
				code);
			rc = -1;
		}
	}
	if (rc < 0 && r->passed)
		print_logs(r);
	fake_twilio_stop(r->tw);
	if (r->have_db && !getenv("E2E_KEEP_TMP"))
		pg_test_db_drop(&r->db);
	if (r->dir[0])
		harness_tmpdir_remove(r->dir);
	pthread_mutex_destroy(&r->lock);
	free(r->items);
	free(r->retry.v);
	free(r->replies.v);
	free(r);
	return rc;
}

/* ---- the rounds ---- */

/* A whole number from the environment variable `name`, or `def` when it is unset or empty;
 * fails the test on anything else or outside [min, max]. */
static long env_number(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max)
		fail_msg("%s=%s: want a whole number from %ld to %ld", name, v, min, max);
	return n;
}

/* The first column of the first row of `sql` on the run's database, as a number. */
static long long db_number(struct run *r, const char *sql)
{
	char out[32];

	pg_test_query(&r->db, sql, out, sizeof(out));
	return strtoll(out, NULL, 10);
}

/* 1 when the process `pid` has ended (a zombie waiting for harness_gw_stop()) or is gone. */
static int process_ended(pid_t pid)
{
	char path[64], *text, *p;
	int ended;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(text = harness_read_file(path, 4096, NULL)))
		return 1;
	p = strrchr(text, ')');
	ended = !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
	free(text);
	return ended;
}

/* Progress of the run, for the checks made while waiting. */
struct progress {
	size_t fake, acked, replies;
	long long at; /* when one of them last changed */
};

/* Fails the test when a client saw an answer it should not have, an instance died by itself,
 * or neither the fake nor the clients got anywhere for STALL_MS. */
static void check_progress(struct run *r, struct progress *p)
{
	size_t fake = fake_twilio_count(r->tw), acked, replies;
	char bad[sizeof(r->bad)];

	pthread_mutex_lock(&r->lock);
	acked = r->acked;
	replies = r->replies_acked;
	snprintf(bad, sizeof(bad), "%s", r->bad);
	pthread_mutex_unlock(&r->lock);
	if (bad[0])
		INST_FAIL(r, "%s", bad);
	for (int k = 0; k < N_INST; k++)
		if (r->inst[k].gw.pid > 0 && process_ended(r->inst[k].gw.pid))
			INST_FAIL(r, "instance %d (pid %d) ended by itself", k,
				  (int)r->inst[k].gw.pid);
	if (fake != p->fake || acked != p->acked || replies != p->replies || !p->at) {
		p->fake = fake;
		p->acked = acked;
		p->replies = replies;
		p->at = harness_now_ms();
	} else if (harness_now_ms() - p->at > STALL_MS) {
		INST_FAIL(r,
			  "STALLED: nothing sent and no trigger or reply acknowledged for %d s "
			  "(%zu sends, %zu of %zu triggers and %zu replies acknowledged)",
			  STALL_MS / 1000, fake, acked, r->n, replies);
	}
}

/* SIGKILL for instance k, down for 0-MAX_DOWN_MS, started again on the same database. */
static void kill_and_restart(struct run *r, int k)
{
	struct instance *in = &r->inst[k];
	int down = (int)(rng_next(&r->rng) % (MAX_DOWN_MS + 1)), code;

	kill(in->gw.pid, SIGKILL);
	/* after the kill, not before: requests already on their way to it are cut */
	pthread_mutex_lock(&r->lock);
	in->up = 0;
	pthread_mutex_unlock(&r->lock);
	code = harness_gw_stop(&in->gw);
	if (code != 128 + SIGKILL)
		INST_FAIL(r, "instance %d ended with %d before its kill -9", k, code);
	harness_sleep_ms(down);
	if (start_instance(r, k) < 0)
		INST_FAIL(r, "instance %d did not start again after kill -9", k);
	pthread_mutex_lock(&r->lock);
	in->up = 1;
	pthread_mutex_unlock(&r->lock);
}

/*
 * The rounds: each kills one instance (in turn) once the fake got a random share of the round's
 * part of `expected` sends (90% of them over all rounds, so the last kill comes before the
 * end).
 */
static void run_rounds(struct run *r, size_t expected)
{
	struct progress p = { 0 };

	for (int round = 1; round <= r->rounds; round++) {
		double u = (double)(rng_next(&r->rng) % 1000) / 1000.0;
		size_t at = (size_t)((double)expected * 0.9 * ((double)(round - 1) + u) /
				     r->rounds);

		pthread_mutex_lock(&r->lock);
		r->round = round;
		pthread_mutex_unlock(&r->lock);
		while (fake_twilio_count(r->tw) < at) {
			check_progress(r, &p);
			harness_sleep_ms(5);
		}
		kill_and_restart(r, (round - 1) % N_INST);
	}
	pthread_mutex_lock(&r->lock);
	r->round = r->rounds + 1; /* after the last kill */
	pthread_mutex_unlock(&r->lock);
}

#define PENDING_SQL                                                             \
	"SELECT (SELECT count(*) FROM messages WHERE direction = 'out'"         \
	" AND status IN ('queued', 'sending')) + (SELECT count(*) FROM surveys" \
	" WHERE status IN ('queued', 'sending'))"

/* Waits until every trigger is acknowledged, nothing is queued or sending, and every "9" due is
 * acknowledged; the instances keep running meanwhile. */
static void drain(struct run *r)
{
	struct progress p = { 0 };

	for (;;) {
		int triggers_done, busy;

		check_progress(r, &p);
		pthread_mutex_lock(&r->lock);
		triggers_done = r->acked == r->n;
		pthread_mutex_unlock(&r->lock);
		if (triggers_done && db_number(r, PENDING_SQL) == 0) {
			/* nothing will reach the fake any more: every question there is, seen */
			pthread_mutex_lock(&r->lock);
			scan_fake(r);
			busy = r->replies.len || r->inflight;
			pthread_mutex_unlock(&r->lock);
			/* a "9" acknowledged before the check above had its thank-you queued */
			if (!busy && db_number(r, PENDING_SQL) == 0)
				return;
		}
		harness_sleep_ms(200);
	}
}

/* ---- the checks at the end ---- */

/* What the database and the fake say about one item. */
struct outcome {
	char id[40];
	char status[16];
	int score; /* -1: no response */
	unsigned found, questions, others, inbound;
	int thanks_uncertain; /* a thank-you of its phone is uncertain */
};

/* The next line of the text at *p (cut at its newline, which *p then moves past), or NULL at
 * the end. */
static char *next_line(char **p)
{
	char *line = *p, *nl;

	if (!line || !*line)
		return NULL;
	if ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = line + strlen(line);
	}
	return line;
}

/* Reads `sql` (one text of lines) into a malloc'd buffer sized for `lines` lines of `width`. */
static char *db_text(struct run *r, const char *sql, size_t lines, size_t width)
{
	size_t cap = lines * width + 4096;
	char *out = malloc(cap);

	assert_non_null(out);
	pg_test_query(&r->db, sql, out, cap);
	if (strlen(out) + 1 >= cap)
		fail_msg("the answer to %s did not fit in %zu bytes", sql, cap);
	return out;
}

/* Fills the outcomes from the database: surveys and responses, uncertain thank-yous, inbound. */
static void read_database(struct run *r, struct outcome *o, size_t *surveys)
{
	char *text, *line, *rest;

	*surveys = (size_t)db_number(r, "SELECT count(*) FROM surveys");
	text = db_text(r,
		       "SELECT string_agg(substr(s.interaction_id, 7) || ' ' || s.id || ' ' ||"
		       " s.status || ' ' || coalesce(p.score, -1)::text, E'\\n')"
		       " FROM surveys s LEFT JOIN responses p ON p.survey_id = s.id",
		       r->n, 96);
	for (rest = text; (line = next_line(&rest));) {
		char id[40], status[16];
		size_t idx;
		int score;

		if (sscanf(line, "%zu %39s %15s %d", &idx, id, status, &score) != 4 || idx >= r->n)
			fail_msg("a survey the test did not ask for: %s", line);
		o[idx].found++;
		snprintf(o[idx].id, sizeof(o[idx].id), "%s", id);
		snprintf(o[idx].status, sizeof(o[idx].status), "%s", status);
		o[idx].score = score;
	}
	free(text);
	text = db_text(r,
		       "SELECT string_agg(phone, E'\\n') FROM messages WHERE direction = 'out'"
		       " AND purpose <> 'survey' AND status = 'uncertain'",
		       r->n, 24);
	for (rest = text; (line = next_line(&rest));) {
		size_t idx = phone_item(line);

		if (idx < r->n)
			o[idx].thanks_uncertain = 1;
	}
	free(text);
	text = db_text(r,
		       "SELECT string_agg(provider_message_id, E'\\n') FROM messages"
		       " WHERE direction = 'in'",
		       r->n, 40);
	for (rest = text; (line = next_line(&rest));) {
		char want[40];
		size_t idx = strlen(line) == 34 ? (size_t)strtoull(line + 18, NULL, 16) : r->n;

		if (idx >= r->n)
			fail_msg("an inbound message the test did not send: %s", line);
		reply_sid(r, idx, want);
		if (strcmp(want, line) != 0)
			fail_msg("an inbound message the test did not send: %s", line);
		o[idx].inbound++;
	}
	free(text);
}

/* Counts what reached the fake per item: questions and everything else (thank-yous); fails on a
 * request the fake refused or to a phone the test never used. */
static void read_fake(struct run *r, struct outcome *o, size_t *total)
{
	*total = fake_twilio_count(r->tw);
	for (size_t i = 0; i < *total; i++) {
		const struct fake_twilio_request *req = fake_twilio_request(r->tw, i);
		size_t idx = phone_item(req->to);

		if (req->status != 201 || idx >= r->n)
			fail_msg("the fake answered %d to request %zu (To=%s): %s", req->status, i,
				 req->to ? req->to : "(none)", req->why);
		if (req->body && strstr(req->body, QUESTION_MARK))
			o[idx].questions++;
		else
			o[idx].others++;
	}
}

struct figures {
	size_t surveys, sent, answered, uncertain, duplicates, dup_uncertain, requests;
	size_t failures;
	char first[1024]; /* the first guarantee broken */
};

static void broken(struct figures *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void broken(struct figures *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->failures++) {
		va_start(ap, fmt);
		vsnprintf(f->first, sizeof(f->first), fmt, ap);
		va_end(ap);
	}
}

/* Every guarantee of the header, item by item: counts the figures and what broke. */
static void check_items(struct run *r, const struct outcome *o, struct figures *f)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct item *it = &r->items[i];
		const struct outcome *x = &o[i];
		const char *s = x->status;

		if (it->state != T_ACKED || !x->found) {
			broken(f,
			       "LOST: trigger " INTERACTION_PREFIX "%zu was answered %ld with "
			       "survey %s in round %d (instance %d); the database has no survey "
			       "for it",
			       i, it->status, it->id, it->round, it->inst);
			continue;
		}
		if (strcmp(x->id, it->id) != 0)
			broken(f,
			       "trigger " INTERACTION_PREFIX "%zu was answered %ld with survey %s "
			       "(instance %d, round %d); its survey in the database is %s",
			       i, it->status, it->id, it->inst, it->round, x->id);
		if (!strcmp(s, "uncertain")) {
			f->uncertain++;
			f->dup_uncertain += x->questions > 1;
			f->duplicates += x->questions > 1;
		} else if (!strcmp(s, "sent") || !strcmp(s, "delivered") || !strcmp(s, "read") ||
			   !strcmp(s, "answered")) {
			f->sent++;
			if (x->questions != 1)
				broken(f,
				       "%s: survey %s (" INTERACTION_PREFIX
				       "%zu, phone " PHONE_PREFIX
				       "%07zu) is %s but its question reached Twilio %u times, want "
				       "exactly once",
				       x->questions > 1 ? "DOUBLE SEND" : "NOT SENT", x->id, i, i,
				       s, x->questions);
		} else {
			broken(f, "survey %s (" INTERACTION_PREFIX "%zu) ended %s", x->id, i, s);
		}
		if (x->questions > 1 && strcmp(s, "uncertain") != 0)
			f->duplicates++;
		f->answered += !strcmp(s, "answered");
		if (it->reply == R_ACKED) {
			if (x->inbound != 1)
				broken(f,
				       "LOST: the \"9\" from " PHONE_PREFIX "%07zu (survey %s) was "
				       "answered 200; the database holds it %u times",
				       i, x->id, x->inbound);
			if (strcmp(s, "answered") != 0 || x->score != 9)
				broken(f,
				       "survey %s (" INTERACTION_PREFIX
				       "%zu): its \"9\" was answered "
				       "200, but the survey is %s with score %d",
				       x->id, i, s, x->score);
		}
		if (x->others > 1) {
			f->duplicates++;
			if (x->thanks_uncertain)
				f->dup_uncertain++;
			else
				broken(f,
				       "DOUBLE SEND: phone " PHONE_PREFIX
				       "%07zu (survey %s) got %u "
				       "thank-yous after one \"9\", none of them uncertain",
				       i, x->id, x->others);
		}
		if (x->others && it->reply != R_ACKED)
			broken(f,
			       "phone " PHONE_PREFIX
			       "%07zu (survey %s) got %u messages besides its "
			       "question without replying",
			       i, x->id, x->others);
	}
}

/* The shared bucket held: R tokens a second, a burst of R. */
static void check_rate(struct run *r, struct figures *f, long long elapsed_ms)
{
	long long first, last, span;
	size_t in1 = fake_twilio_max_in_window(r->tw, 1000, &first, &last);
	size_t in10 = fake_twilio_max_in_window(r->tw, 10000, NULL, NULL);
	double burst = r->rate, allow1 = r->rate + burst, allow10 = 10 * r->rate + burst;
	double allow_all;

	span = last - first;
	allow_all = r->rate * (double)span / 1000.0 + burst;
	print_message("instances: %zu triggers over 3 instances, %d rounds of kill -9, "
		      "INSTANCES_SEED=%llu, rate %g/s\n",
		      r->n, r->rounds, (unsigned long long)r->seed, r->rate);
	print_message(
		"instances: triggers acknowledged %zu (%zu at the first attempt; %zu retried "
		"after no answer or a 5xx, %zu of them had been stored); 5xx answers %zu%s%s\n",
		r->acked, r->acked_first, r->unanswered, r->stored_unanswered, r->answered_5xx,
		r->answered_5xx ? ", the first: " : "", r->first_5xx);
	print_message(
		"instances: surveys %zu, sent %zu (answered %zu), uncertain %zu; "
		"duplicates %zu (all uncertain: %zu); replies acknowledged %zu (%zu retried)\n",
		f->surveys, f->sent, f->answered, f->uncertain, f->duplicates, f->dup_uncertain,
		r->replies_acked, r->replies_retried);
	print_message("instances: Twilio got %zu requests in %.1f s (%.1f/s on average); most in "
		      "any 1 s: %zu, allowed %.0f; in any 10 s: %zu, allowed %.0f; whole run "
		      "allowed %.0f; time %.1f s\n",
		      f->requests, (double)span / 1000.0,
		      span > 0 ? (double)f->requests * 1000.0 / (double)span : 0.0, in1, allow1,
		      in10, allow10, allow_all, (double)elapsed_ms / 1000.0);
	if ((double)in1 > allow1 || (double)in10 > allow10 || (double)f->requests > allow_all)
		broken(f,
		       "RATE: the provider's rate %g/s (burst %g) was exceeded by more than one "
		       "refill: %zu requests in 1 s (allowed %.0f), %zu in 10 s (allowed %.0f), "
		       "%zu in %.1f s (allowed %.0f)",
		       r->rate, burst, in1, allow1, in10, allow10, f->requests,
		       (double)span / 1000.0, allow_all);
}

static void test_three_instances_kill9(void **state)
{
	struct run *r = *state;
	long long t0 = harness_now_ms();
	struct outcome *o;
	struct figures f = { 0 };
	size_t expected;

	r->n = (size_t)env_number("INSTANCES_TRIGGERS", DEFAULT_TRIGGERS, 1, 9999999);
	r->rounds = (int)env_number("INSTANCES_ROUNDS", DEFAULT_ROUNDS, 0, 1000);
	r->rate = (double)env_number("INSTANCES_RATE", DEFAULT_RATE, 1, 100000);
	r->seed = (uint64_t)env_number("INSTANCES_SEED",
				       (long)((((uint64_t)time(NULL) << 16) ^ (uint64_t)getpid()) &
					      0x7fffffffffffULL),
				       0, LONG_MAX);
	r->rng = r->seed;
	print_message("instances: %zu triggers, %d rounds, rate %g/s, INSTANCES_SEED=%llu (set "
		      "INSTANCES_TRIGGERS, INSTANCES_ROUNDS, INSTANCES_RATE, INSTANCES_SEED to "
		      "change them)\n",
		      r->n, r->rounds, r->rate, (unsigned long long)r->seed);
	r->items = calloc(r->n, sizeof(*r->items));
	assert_non_null(r->items);
	assert_int_equal(queue_init(&r->retry, r->n), 0);
	assert_int_equal(queue_init(&r->replies, r->n), 0);
	for (size_t i = 0; i < r->n; i++) {
		r->items[i].wants_reply = rng_next(&r->rng) % 100 < REPLY_PERCENT;
		r->items[i].inst = r->items[i].failed_at = r->items[i].reply_failed_at = -1;
	}
	expected = r->n + r->n * REPLY_PERCENT / 100;

	pg_test_db_create(&r->db);
	r->have_db = 1;
	r->tw = fake_twilio_start(HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, fixtures_dir());
	assert_non_null(r->tw);
	for (int k = 0; k < N_INST; k++) {
		char path[HARNESS_PATH_LEN];

		/* through `path`: gcc cannot tell that r->dir and r->inst[k] do not overlap */
		snprintf(path, sizeof(path), "%.*s/gw%c", HARNESS_PATH_LEN - 8, r->dir, '0' + k);
		memcpy(r->inst[k].dir, path, sizeof(path));
		snprintf(path, sizeof(path), "%.*s/gateway.conf", HARNESS_PATH_LEN - 16,
			 r->inst[k].dir);
		memcpy(r->inst[k].conf, path, sizeof(path));
		assert_int_equal(mkdir(r->inst[k].dir, 0700), 0);
		if (start_instance(r, k) < 0)
			INST_FAIL(r, "instance %d did not start on %s", k, r->db.name);
		r->inst[k].up = 1;
	}
	r->t0 = harness_now_ms();
	start_clients(r);
	run_rounds(r, expected);
	drain(r);
	stop_clients(r);
	for (int k = 0; k < N_INST; k++) {
		int code = harness_gw_stop(&r->inst[k].gw);

		if (code != 0)
			INST_FAIL(r, "instance %d: exit status on SIGTERM %d, want 0", k, code);
	}

	o = calloc(r->n, sizeof(*o));
	assert_non_null(o);
	read_database(r, o, &f.surveys);
	read_fake(r, o, &f.requests);
	check_items(r, o, &f);
	if (f.surveys != r->n)
		broken(&f, "the database holds %zu surveys for %zu triggers", f.surveys, r->n);
	check_rate(r, &f, harness_now_ms() - t0);
	free(o);
	if (f.failures)
		fail_msg("INSTANCES_SEED=%llu: %zu guarantees broken; the first: %s",
			 (unsigned long long)r->seed, f.failures, f.first);
	r->passed = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_instances_kill9, instances_setup,
						instances_teardown),
	};

	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
