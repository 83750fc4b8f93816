/*
 * test_e2e_crash.c - build/gateway killed with SIGKILL under load, and a store that cannot write.
 *
 * 1. Crash rounds (test_kill9_rounds): one database, one fake Twilio, CRASH_ROUNDS (default 30)
 *    rounds of: 2-4 client threads send triggers (each with its own interaction id and customer
 *    phone, so every request the fake receives names one survey) and signed inbound "9" replies
 *    for surveys whose question the fake received; after a random 0-300 ms the gateway gets
 *    SIGKILL and is started again on the same database.  After every restart:
 *      - every trigger answered 2xx is a survey GET /v1/surveys/{id} finds, and every inbound
 *        webhook answered 200 has its MessageSid in the database;
 *      - the requests that got no answer are retried as a client would (same interaction id,
 *        same MessageSid) and must now be answered 2xx: 200 for a trigger the dead process had
 *        stored, 202 for one it had not;
 *      - no survey's question reached the fake twice unless the survey is `uncertain`.
 *    At the end every survey leaves `queued`/`sending` within a bounded wait; a sent or answered
 *    survey's question reached the fake exactly once, an uncertain one's at most once; every
 *    survey with an acknowledged "9" is answered with score 9; no customer got two replies.
 *    The delays and thread counts come from a seed, printed first: CRASH_SEED=N replays them
 *    (thread scheduling stays what the machine makes of it).
 *
 * 2. A store that cannot write answers 503, never 2xx, and recovers without a restart:
 *      - tmpfs: the database lives on a small tmpfs this test mounts in a private mount namespace
 *        (needs CAP_SYS_ADMIN; skipped with a message when unshare or mount is refused), filled to
 *        the last page with a filler file: SQLite's WAL append fails with ENOSPC (SQLITE_FULL);
 *      - fsize: RLIMIT_FSIZE of the running gateway is lowered to the WAL's current size
 *        (prlimit), so the next append fails with EFBIG (SQLITE_IOERR_WRITE).  The gateway is
 *        started with SIGXFSZ ignored (inherited through exec), because it does not ignore it
 *        itself and the signal's default action kills it.
 *    For each: triggers and inbound webhooks answer 503 with error code store_unavailable, and a
 *    survey that falls due meanwhile is not sent; then the space (or limit) comes back and, with
 *    the same process, a retried trigger answers 202 and is sent, the retried webhook answers 200
 *    and its survey is answered, the survey that fell due is sent once.  A separate test per
 *    fault checks GET /healthz: 503 while the store cannot write, 200 after.
 *
 * Environment: GATEWAY_BIN, FIXTURES, E2E_KEEP_TMP (see e2e.h); CRASH_SEED, CRASH_ROUNDS.
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
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <sqlite3.h>
#include <unistd.h>

#include "buf.h"
#include "support/e2e.h"

#define DEFAULT_ROUNDS 30
#define MAX_KILL_DELAY_MS 300
#define ROUND_REQUEST_CAP 100   /* requests the clients start per round, at most */
#define CLIENT_PAUSE_MS 8       /* a client waits 0..this between requests, so that the load
				 * spans the whole kill window instead of ending before it */
#define SETTLE_MS 20000         /* how long queued surveys get to be sent at the end */
#define PHONE_PREFIX "+3461"    /* + 7 digits: the item's index */
#define QUESTION_MARK "recomiend"       /* in the Spanish NPS question, not in the replies */

/* ---- a quiet HTTP client for the client threads ---- */

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	return buf_append(userdata, data, size * n) < 0 ? 0 : size * n;
}

/*
 * One POST that says nothing when the gateway dies under it (harness_http() prints every failed
 * transfer, and a killed gateway makes several per round).  0 with *status (and the body in `out`
 * when not NULL; caller releases) when an answer arrived, -1 when none did.
 */
static int quiet_post(const char *url, const char *const *headers, const char *body, size_t len,
		      long *status, struct buf *out)
{
	struct curl_slist *list = NULL, *tmp;
	struct buf sink;
	CURL *c = curl_easy_init();
	int rc = -1;

	*status = 0;
	buf_init(&sink, 1u << 20);
	if (!out)
		out = &sink;
	if (!c)
		return -1;
	for (size_t i = 0; headers && headers[i]; i++) {
		if (!(tmp = curl_slist_append(list, headers[i])))
			goto done;
		list = tmp;
	}
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
	curl_easy_cleanup(c);
	buf_release(&sink);
	return rc;
}

/* ---- requests as the helpdesk and as Twilio ---- */

/* The trigger of item `idx`: its own customer, phone and interaction. */
static int trigger_body(size_t idx, char *out, size_t len)
{
	return snprintf(out, len,
			"{\"customer\": {\"id\": \"crash-c%zu\", \"phone\": \"" PHONE_PREFIX "%07zu\","
			" \"name\": \"Ana\", \"locale\": \"es\"}, \"kind\": \"nps\", \"channel\": \"sms\","
			" \"interaction\": {\"id\": \"crash-i%zu\", \"touchpoint\": \"support_chat\"},"
			" \"delay_seconds\": 0}", idx, idx, idx);
}

/* POST /v1/surveys for item `idx` at `base`: 0 and the status (and the survey id of a 200/202,
 * "" when the body has none) when answered, -1 when not. */
static int post_trigger(const char *base, size_t idx, long *status, char id[64])
{
	const char *headers[] = { "Authorization: Bearer " HARNESS_API_KEY,
				  "Content-Type: application/json", NULL };
	char url[128], body[512];
	struct buf out;
	json_t *j;
	int n = trigger_body(idx, body, sizeof(body)), rc;

	id[0] = '\0';
	snprintf(url, sizeof(url), "%s/v1/surveys", base);
	buf_init(&out, 1u << 20);
	rc = quiet_post(url, headers, body, (size_t)n, status, &out);
	if (rc == 0 && (*status == 200 || *status == 202) &&
	    (j = json_loadb(buf_cstr(&out), out.len, 0, NULL))) {
		const char *s = json_string_value(json_object_get(j, "id"));

		snprintf(id, 64, "%s", s ? s : "");
		json_decref(j);
	}
	buf_release(&out);
	return rc;
}

/* A signed Twilio inbound SMS "9" from item `idx`'s phone with MessageSid `sid`. */
static int post_reply(const char *base, size_t idx, const char *sid, long *status)
{
	char phone[32], file[HARNESS_PATH_LEN], url[160], sig[FAKE_TWILIO_SIG_LEN], sig_hdr[96];
	const char *headers[] = { "Content-Type: application/x-www-form-urlencoded", sig_hdr, NULL };
	const char *set[] = {
		"From", phone, "To", HARNESS_TWILIO_FROM, "Body", "9",
		"MessageSid", sid, "SmsSid", sid, "SmsMessageSid", sid,
		"AccountSid", HARNESS_TWILIO_SID, NULL
	};
	struct buf body;
	int rc = -1;

	snprintf(phone, sizeof(phone), PHONE_PREFIX "%07zu", idx);
	snprintf(file, sizeof(file), "%s/twilio-inbound-sms.form", fixtures_dir());
	snprintf(url, sizeof(url), "%s/webhooks/twilio", base);
	buf_init(&body, 64u << 10);
	*status = 0;
	if (fake_twilio_form(file, set, &body) == 0 &&
	    fake_twilio_sign(HARNESS_TWILIO_TOKEN, url, buf_cstr(&body), body.len, sig) == 0) {
		snprintf(sig_hdr, sizeof(sig_hdr), "X-Twilio-Signature: %s", sig);
		rc = quiet_post(url, headers, buf_cstr(&body), body.len, status, NULL);
	} else {
		*status = -1;   /* the test's own failure, reported as a bad answer */
	}
	buf_release(&body);
	return rc;
}

/* ---- the crash rounds ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

enum trigger_state { T_UNUSED, T_INFLIGHT, T_ACKED, T_FAILED };
enum reply_state { R_NONE, R_INFLIGHT, R_ACKED, R_FAILED };

/* One survey the test asked for: item i has phone PHONE_PREFIX + i and interaction crash-i<i>. */
struct item {
	int state;              /* enum trigger_state */
	int round;              /* the round of its first attempt */
	long status;            /* the answer that acknowledged it */
	char id[64];            /* the survey id, once acknowledged */
	int checked;            /* found by GET after a restart since its acknowledgement */
	int in_ready;           /* its question reached the fake; queued for a reply */
	int reply;              /* enum reply_state */
	int reply_round;
	char sid[40];
	int reply_checked;
	char final_status[16];
};

struct crash {
	struct e2e *e;
	uint64_t seed;
	int rounds, round;
	pthread_mutex_t lock;           /* guards everything below */
	struct item *items;
	size_t cap, n;
	size_t *ready;                  /* items whose question the fake received, to reply to */
	size_t n_ready, ready_head;
	size_t scanned;                 /* fake requests looked at by scan_fake() */
	int stop;
	size_t round_requests;
	unsigned sid_seq;
	char base[64];
	char bad[512];                  /* the first answer a client thread did not expect */
	/* statistics */
	unsigned acked_triggers, acked_replies, unanswered_triggers;
	unsigned stored_unanswered;     /* unanswered triggers whose retry said 200: stored */
	unsigned retried_replies;
};

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

/* Under the lock: items whose question the fake has received join the reply queue. */
static void scan_fake(struct crash *c)
{
	size_t n = fake_twilio_count(c->e->tw);

	for (; c->scanned < n; c->scanned++) {
		const struct fake_twilio_request *req = fake_twilio_request(c->e->tw, c->scanned);
		size_t idx = phone_item(req->to);

		if (idx < c->n && req->body && strstr(req->body, QUESTION_MARK) &&
		    !c->items[idx].in_ready) {
			c->items[idx].in_ready = 1;
			c->ready[c->n_ready++] = idx;
		}
	}
}

struct client {
	struct crash *c;
	uint64_t rng;
	pthread_t thread;
};

static void note_bad(struct crash *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_bad(struct crash *c, const char *fmt, ...)
{
	va_list ap;

	if (c->bad[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->bad, sizeof(c->bad), fmt, ap);
	va_end(ap);
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	struct crash *c = cl->c;

	for (;;) {
		char base[64], sid[40], id[64];
		size_t idx;
		int is_reply = 0, rc;
		long status;

		pthread_mutex_lock(&c->lock);
		if (c->stop) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		if (c->round_requests >= ROUND_REQUEST_CAP) {
			pthread_mutex_unlock(&c->lock);
			harness_sleep_ms(5);
			continue;
		}
		scan_fake(c);
		if (c->ready_head < c->n_ready && rng_next(&cl->rng) % 2) {
			is_reply = 1;
			idx = c->ready[c->ready_head++];
			c->items[idx].reply = R_INFLIGHT;
			c->items[idx].reply_round = c->round;
			snprintf(c->items[idx].sid, sizeof(c->items[idx].sid), "SMc%031x",
				 ++c->sid_seq);
			snprintf(sid, sizeof(sid), "%s", c->items[idx].sid);
		} else if (c->n < c->cap) {
			idx = c->n++;
			c->items[idx].state = T_INFLIGHT;
			c->items[idx].round = c->round;
		} else {
			pthread_mutex_unlock(&c->lock);
			harness_sleep_ms(5);
			continue;
		}
		c->round_requests++;
		snprintf(base, sizeof(base), "%s", c->base);
		pthread_mutex_unlock(&c->lock);

		if (is_reply)
			rc = post_reply(base, idx, sid, &status);
		else
			rc = post_trigger(base, idx, &status, id);

		pthread_mutex_lock(&c->lock);
		if (is_reply) {
			struct item *it = &c->items[idx];

			if (rc == 0 && status == 200) {
				it->reply = R_ACKED;
				c->acked_replies++;
			} else {
				it->reply = R_FAILED;
				if (rc == 0 && status < 500)
					note_bad(c, "round %d: inbound %s from item %zu answered %ld",
						 c->round, sid, idx, status);
			}
		} else {
			struct item *it = &c->items[idx];

			if (rc == 0 && status == 202 && id[0]) {
				it->state = T_ACKED;
				it->status = status;
				snprintf(it->id, sizeof(it->id), "%s", id);
				c->acked_triggers++;
			} else {
				it->state = T_FAILED;
				/* a new interaction must be 202; 5xx is "try again" */
				if (rc == 0 && status < 500)
					note_bad(c, "round %d: trigger of new interaction crash-i%zu "
						 "answered %ld (id \"%s\"), want 202", c->round, idx,
						 status, id);
			}
		}
		pthread_mutex_unlock(&c->lock);
		harness_sleep_ms((int)(rng_next(&cl->rng) % (CLIENT_PAUSE_MS + 1)));
	}
	return NULL;
}

/* The log of the gateway that was killed last (the running one's is shown by e2e_teardown()). */
static void print_killed_log(const struct crash *c)
{
	struct harness_gw old = { 0 };

	snprintf(old.log_path, sizeof(old.log_path), "%.*s/gateway.prev.log",
		 HARNESS_PATH_LEN - 24, c->e->dir);
	if (access(old.log_path, R_OK) == 0)
		harness_gw_print_log(&old, 4000);
}

#define CRASH_FAIL(c, fmt, ...) do { \
		print_killed_log(c); \
		fail_msg("CRASH_SEED=%llu round %d: " fmt, (unsigned long long)(c)->seed, \
			 (c)->round, __VA_ARGS__); \
	} while (0)

/* Starts the gateway again on the same database (a new port, the old log kept as .prev). */
static void restart(struct crash *c)
{
	struct e2e *e = c->e;
	char prev[HARNESS_PATH_LEN + 32];
	int port = harness_free_port();

	snprintf(prev, sizeof(prev), "%s/gateway.prev.log", e->dir);
	rename(e->gw.log_path, prev);
	assert_true(port > 0);
	assert_int_equal(harness_write_config_opts(e->dir, port, fake_twilio_port(e->tw), NULL,
						   e->conf, e->db), 0);
	if (harness_gw_start(&e->gw, e->dir, e->conf, port, NULL) < 0)
		CRASH_FAIL(c, "the gateway did not start again after kill -9 on %s", e->db);
}

/* GET /v1/surveys/{id}: its status into `out`; 0, or the HTTP status when not 200. */
static long survey_status(struct e2e *e, const char *id, char out[16], json_t **full)
{
	struct harness_http_resp r;
	char path[128];
	json_t *j;
	long status;

	snprintf(path, sizeof(path), "/v1/surveys/%s", id);
	api(e, "GET", path, HARNESS_API_KEY, NULL, NULL, 0, &r);
	status = r.status;
	if (status == 200) {
		j = parse_json(&r);
		snprintf(out, 16, "%s", jstr(j, "status"));
		if (full)
			*full = j;
		else
			json_decref(j);
		status = 0;
	}
	harness_http_release(&r);
	return status;
}

/* The requests the fake received, per item: questions and everything else (thanks, re-asks). */
static void count_fake(struct crash *c, unsigned *questions, unsigned *others)
{
	size_t n = fake_twilio_count(c->e->tw);

	memset(questions, 0, c->cap * sizeof(*questions));
	memset(others, 0, c->cap * sizeof(*others));
	for (size_t i = 0; i < n; i++) {
		const struct fake_twilio_request *req = fake_twilio_request(c->e->tw, i);
		size_t idx = phone_item(req->to);

		if (idx >= c->cap)
			continue;
		if (req->body && strstr(req->body, QUESTION_MARK))
			questions[idx]++;
		else
			others[idx]++;
	}
}

/* After a restart: nothing acknowledged is lost; unanswered requests retried; no double send. */
static void check_after_restart(struct crash *c, unsigned *questions, unsigned *others)
{
	struct e2e *e = c->e;
	char st[16];
	/* one read of the whole database serves every MessageSid looked for below */
	char *snapshot = db_snapshot(e->db);

	assert_non_null(snapshot);
	for (size_t i = 0; i < c->n; i++) {
		struct item *it = &c->items[i];
		long code;

		if (it->state == T_ACKED && !it->checked) {
			if ((code = survey_status(e, it->id, st, NULL)) != 0)
				CRASH_FAIL(c, "LOST: trigger crash-i%zu was answered %ld with survey %s "
					   "in round %d; after kill -9 and restart GET /v1/surveys/%s "
					   "answers %ld", i, it->status, it->id, it->round, it->id, code);
			it->checked = 1;
		}
		if (it->reply == R_ACKED && !it->reply_checked) {
			if (!strstr(snapshot, it->sid))
				CRASH_FAIL(c, "LOST: inbound %s (\"9\" from item %zu, survey %s) was "
					   "answered 200 in round %d; after kill -9 the database does "
					   "not hold it (%ld rows)", it->sid, i, it->id,
					   it->reply_round, harness_db_count_value(e->db, it->sid));
			it->reply_checked = 1;
		}
	}
	free(snapshot);
	/* A client retries what got no answer: same interaction, same MessageSid. */
	for (size_t i = 0; i < c->n; i++) {
		struct item *it = &c->items[i];
		long status;
		char id[64];

		if (it->state == T_FAILED) {
			if (post_trigger(e->gw.base_url, i, &status, id) < 0 ||
			    (status != 200 && status != 202) || !id[0])
				CRASH_FAIL(c, "retrying trigger crash-i%zu after a restart: %ld, id "
					   "\"%s\"; want 200 or 202", i, status, id);
			c->stored_unanswered += status == 200;
			it->state = T_ACKED;
			it->status = status;
			it->checked = 0;        /* checked again after the next kill */
			snprintf(it->id, sizeof(it->id), "%s", id);
			c->unanswered_triggers++;
		}
		if (it->reply == R_FAILED) {
			if (post_reply(e->gw.base_url, i, it->sid, &status) < 0 || status != 200)
				CRASH_FAIL(c, "retrying inbound %s from item %zu after a restart: %ld, "
					   "want 200", it->sid, i, status);
			it->reply = R_ACKED;
			it->reply_checked = 0;
			c->retried_replies++;
		}
	}
	count_fake(c, questions, others);
	for (size_t i = 0; i < c->n; i++) {
		struct item *it = &c->items[i];

		if (questions[i] <= 1)
			continue;
		if (survey_status(e, it->id, st, NULL) != 0 || strcmp(st, "uncertain") != 0)
			CRASH_FAIL(c, "DOUBLE SEND: the question of survey %s (crash-i%zu, phone "
				   PHONE_PREFIX "%07zu) reached Twilio %u times, and the survey is %s, "
				   "not uncertain", it->id, i, i, questions[i], st);
	}
}

/* At the end: every survey out of queued/sending, sent once, answered when a "9" was taken. */
static void check_final(struct crash *c, unsigned *questions, unsigned *others,
			unsigned *uncertain)
{
	struct e2e *e = c->e;
	long long deadline = harness_now_ms() + SETTLE_MS;
	size_t pending;

	do {
		pending = 0;
		for (size_t i = 0; i < c->n; i++) {
			struct item *it = &c->items[i];

			if (it->final_status[0] && strcmp(it->final_status, "queued") &&
			    strcmp(it->final_status, "sending"))
				continue;
			if (survey_status(e, it->id, it->final_status, NULL) != 0)
				CRASH_FAIL(c, "survey %s of crash-i%zu vanished", it->id, i);
			pending += !strcmp(it->final_status, "queued") ||
				   !strcmp(it->final_status, "sending");
		}
		if (pending)
			harness_sleep_ms(100);
	} while (pending && harness_now_ms() < deadline);
	count_fake(c, questions, others);
	*uncertain = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct item *it = &c->items[i];
		const char *s = it->final_status;

		if (!strcmp(s, "queued") || !strcmp(s, "sending"))
			CRASH_FAIL(c, "NOT SENT: survey %s (crash-i%zu) is still %s %d s after the "
				   "last restart", it->id, i, s, SETTLE_MS / 1000);
		if (!strcmp(s, "uncertain")) {
			++*uncertain;
			if (questions[i] > 1)
				print_message("note: uncertain survey %s got its question %u times\n",
					      it->id, questions[i]);
		} else if (strcmp(s, "sent") && strcmp(s, "delivered") && strcmp(s, "read") &&
			   strcmp(s, "answered")) {
			CRASH_FAIL(c, "survey %s (crash-i%zu) ended %s", it->id, i, s);
		} else if (questions[i] != 1) {
			CRASH_FAIL(c, "survey %s (crash-i%zu) is %s but its question reached Twilio "
				   "%u times, want exactly 1", it->id, i, s, questions[i]);
		}
		if (it->reply == R_ACKED) {
			json_t *j = NULL, *resp;
			char st[16];

			if (survey_status(e, it->id, st, &j) != 0)
				CRASH_FAIL(c, "survey %s vanished", it->id);
			resp = json_object_get(j, "response");
			if (strcmp(st, "answered") != 0 ||
			    json_integer_value(json_object_get(resp, "score")) != 9)
				CRASH_FAIL(c, "survey %s (crash-i%zu): \"9\" (%s) was answered 200 in "
					   "round %d, but the survey is %s with score %lld", it->id, i,
					   it->sid, it->reply_round, st,
					   (long long)json_integer_value(json_object_get(resp,
											  "score")));
			json_decref(j);
		}
		if (others[i] > 1)
			CRASH_FAIL(c, "DOUBLE SEND: phone " PHONE_PREFIX "%07zu (survey %s) got %u "
				   "replies after one \"9\"", i, it->id, others[i]);
	}
}

static void test_kill9_rounds(void **state)
{
	struct crash c;
	struct client clients[4];
	const char *env_seed = getenv("CRASH_SEED"), *env_rounds = getenv("CRASH_ROUNDS");
	unsigned *questions, *others, uncertain = 0;
	long long t0 = harness_now_ms();
	uint64_t rng;

	memset(&c, 0, sizeof(c));
	c.e = *state;
	c.seed = env_seed && *env_seed ? strtoull(env_seed, NULL, 10) :
		 ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	c.rounds = DEFAULT_ROUNDS;
	if (env_rounds && *env_rounds) {
		char *end;
		long n = strtol(env_rounds, &end, 10);

		if (*end || n < 1 || n > INT_MAX)
			fail_msg("CRASH_ROUNDS=%s: want a whole number of rounds, 1 or more",
				 env_rounds);
		c.rounds = (int)n;
	}
	print_message("kill -9 rounds: %d, CRASH_SEED=%llu (set it to replay the same kill "
		      "delays and thread counts)\n", c.rounds, (unsigned long long)c.seed);
	rng = c.seed;
	pthread_mutex_init(&c.lock, NULL);
	c.cap = (size_t)c.rounds * ROUND_REQUEST_CAP;
	c.items = calloc(c.cap, sizeof(*c.items));
	c.ready = calloc(c.cap, sizeof(*c.ready));
	questions = calloc(c.cap, sizeof(*questions));
	others = calloc(c.cap, sizeof(*others));
	assert_true(c.items && c.ready && questions && others);

	for (c.round = 1; c.round <= c.rounds; c.round++) {
		int delay = (int)(rng_next(&rng) % (MAX_KILL_DELAY_MS + 1));
		int threads = 2 + (int)(rng_next(&rng) % 3), code;

		pthread_mutex_lock(&c.lock);
		c.stop = 0;
		c.round_requests = 0;
		snprintf(c.base, sizeof(c.base), "%s", c.e->gw.base_url);
		pthread_mutex_unlock(&c.lock);
		for (int t = 0; t < threads; t++) {
			clients[t].c = &c;
			clients[t].rng = rng_next(&rng);
			assert_int_equal(pthread_create(&clients[t].thread, NULL, client_main,
							&clients[t]), 0);
		}
		harness_sleep_ms(delay);
		kill(c.e->gw.pid, SIGKILL);
		pthread_mutex_lock(&c.lock);
		c.stop = 1;
		pthread_mutex_unlock(&c.lock);
		for (int t = 0; t < threads; t++)
			pthread_join(clients[t].thread, NULL);
		code = harness_gw_stop(&c.e->gw);
		if (code != 128 + SIGKILL)
			CRASH_FAIL(&c, "the gateway ended with %d before its kill -9 (after %d ms)",
				   code, delay);
		if (c.bad[0])
			CRASH_FAIL(&c, "%s", c.bad);
		restart(&c);
		check_after_restart(&c, questions, others);
	}
	c.round = c.rounds;
	check_final(&c, questions, others, &uncertain);
	print_message("kill -9 rounds: %d rounds, %zu surveys (%u triggers answered 2xx, %u without "
		      "answer: %u of them had been stored), %u replies answered 200 (%u retried), "
		      "%u surveys uncertain, %lld ms\n", c.rounds, c.n, c.acked_triggers,
		      c.unanswered_triggers, c.stored_unanswered, c.acked_replies, c.retried_replies,
		      uncertain, harness_now_ms() - t0);
	pthread_mutex_destroy(&c.lock);
	free(others);
	free(questions);
	free(c.ready);
	free(c.items);
	c.e->passed = 1;
}

/* ---- a store that cannot write ---- */

/* Why the tmpfs tests cannot run here ("" when they can): set by main() before any thread. */
static char mount_ns_error[200];

/*
 * Moves the test process into a mount namespace of its own with private propagation, so the tmpfs
 * it mounts is seen by it and its gateway children only, and goes away with them even when the
 * test is killed.  unshare(CLONE_NEWNS) needs a process without threads: main() calls this first.
 */
static void private_mount_ns(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		snprintf(mount_ns_error, sizeof(mount_ns_error),
			 "unshare(CLONE_NEWNS): %s (mounting a tmpfs needs CAP_SYS_ADMIN)",
			 strerror(errno));
	else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		snprintf(mount_ns_error, sizeof(mount_ns_error),
			 "making / private in the new mount namespace: %s", strerror(errno));
}

enum fault { FAULT_TMPFS_FULL, FAULT_FSIZE };

#define TMPFS_SIZE "size=2m"

struct faulty {
	struct e2e e;
	enum fault mode;
	char fs[HARNESS_PATH_LEN];      /* the tmpfs mount point */
	char filler[HARNESS_PATH_LEN + 16];
	int mounted, filled, limited;
	sqlite3 *reader;                /* holds a snapshot while the tmpfs is full (fault_on) */
	struct rlimit fsize;            /* the gateway's RLIMIT_FSIZE before the fault */
	char skip[HARNESS_PATH_LEN + 200];     /* why this test cannot run here */
};

static int faulty_teardown(void **state);

/* A full disk and a file size limit are faults of the SQLite file: on PostgreSQL the database's
 * own faults are tested by test_e2e_postgres. */
static void skip_on_postgres(void)
{
	if (harness_on_postgres()) {
		fprintf(stderr, "skipped: the store is on PostgreSQL, not a file\n");
		skip();
	}
}

/* faulty_setup() without the clean-up of a failure. */
static int faulty_start(void **state, enum fault mode)
{
	struct faulty *f = calloc(1, sizeof(*f));
	struct e2e *e;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	char env_path[HARNESS_PATH_LEN + 32];
	/* Every /healthz call probes the disk: the test asks right after it fills up. */
	const char *env[] = { "GATEWAY_SERVER_HEALTH_CHECK_INTERVAL=0s", env_path, NULL };
	int port, rc;

	if (!f)
		return -1;
	*state = f;
	e = &f->e;
	f->mode = mode;
	if (harness_tmpdir_create(e->dir, sizeof(e->dir)) < 0)
		return -1;
	if (mode == FAULT_TMPFS_FULL) {
		if (mount_ns_error[0]) {
			snprintf(f->skip, sizeof(f->skip), "%s", mount_ns_error);
			return 0;
		}
		snprintf(f->fs, sizeof(f->fs), "%.*s/fs", HARNESS_PATH_LEN - 8, e->dir);
		if (mkdir(f->fs, 0700) < 0)
			return -1;
		if (mount("tmpfs", f->fs, "tmpfs", MS_NOSUID | MS_NODEV, TMPFS_SIZE ",mode=0700") < 0) {
			snprintf(f->skip, sizeof(f->skip), "mount -t tmpfs %s: %s", f->fs,
				 strerror(errno));
			return 0;
		}
		f->mounted = 1;
		snprintf(f->filler, sizeof(f->filler), "%s/filler", f->fs);
	}
	if (!(e->tw = fake_twilio_start(HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, fixtures_dir())))
		return -1;
	port = harness_free_port();
	if (port < 0 || harness_write_config_opts(e->dir, port, fake_twilio_port(e->tw), NULL,
						  e->conf, e->db) < 0)
		return -1;
	if (mode == FAULT_TMPFS_FULL) {
		/* the store on the tmpfs; the config and the log stay outside it */
		snprintf(e->db, sizeof(e->db), "%.*s/gateway.db", HARNESS_PATH_LEN - 16, f->fs);
		snprintf(env_path, sizeof(env_path), "GATEWAY_STORE_PATH=%s", e->db);
		return harness_gw_start(&e->gw, e->dir, e->conf, port, env);
	}
	/* The gateway leaves SIGXFSZ at its default (terminate and dump core), so a write past
	 * RLIMIT_FSIZE would kill it; an ignored signal stays ignored across fork and exec. */
	sigaction(SIGXFSZ, &ign, &old);
	env[1] = NULL;
	rc = harness_gw_start(&e->gw, e->dir, e->conf, port, env);
	sigaction(SIGXFSZ, &old, NULL);
	return rc;
}

/* cmocka does not tear down after a failed setup: a failure cleans up here, the mount first. */
static int faulty_setup(void **state, enum fault mode)
{
	*state = NULL;
	if (harness_on_postgres()) /* the faults of a file: the tests skip */
		return 0;
	if (faulty_start(state, mode) == 0)
		return 0;
	faulty_teardown(state);
	*state = NULL;
	return -1;
}

static int faulty_setup_tmpfs(void **state)
{
	return faulty_setup(state, FAULT_TMPFS_FULL);
}

static int faulty_setup_fsize(void **state)
{
	return faulty_setup(state, FAULT_FSIZE);
}

static int faulty_teardown(void **state)
{
	struct faulty *f = *state;
	struct e2e *e;
	int code = -1;

	if (!f)
		return 0;
	e = &f->e;
	if (f->limited && e->gw.pid > 0)
		prlimit(e->gw.pid, RLIMIT_FSIZE, &f->fsize, NULL);
	if (f->filled)
		unlink(f->filler);
	sqlite3_close_v2(f->reader);
	if (e->gw.pid > 0) {
		code = harness_gw_stop(&e->gw);
		if (code != 0)
			fprintf(stderr, "gateway exit status on SIGTERM: %d (want 0)\n", code);
		if (code != 0 || !e->passed)
			harness_gw_print_log(&e->gw, 6000);
	} else {
		code = 0;
	}
	if (f->mounted && umount2(f->fs, 0) < 0 && umount2(f->fs, MNT_DETACH) < 0)
		fprintf(stderr, "umount %s: %s\n", f->fs, strerror(errno));
	fake_twilio_stop(e->tw);
	if (e->dir[0])
		harness_tmpdir_remove(e->dir);
	free(f);
	return code == 0 ? 0 : -1;
}

static const char *fault_name(enum fault mode)
{
	return mode == FAULT_TMPFS_FULL ? "tmpfs full (ENOSPC)" : "RLIMIT_FSIZE (EFBIG)";
}

/* Makes the store's writes fail: fills the tmpfs to its last page, or caps the gateway's file
 * size at 0, so that no write of the process lands anywhere.  Once checkpointed, the write-ahead
 * log is written again from its start, into pages the file already has: a full disk does not
 * stop those writes (nor need it, they are durable), so a reader holds a snapshot meanwhile and
 * every commit has to grow the log.  For the same reason a file-size cap at the log's length
 * would not do.  The gateway's own log file refuses its lines meanwhile too. */
static void fault_on(struct faulty *f)
{
	struct e2e *e = &f->e;

	if (f->mode == FAULT_TMPFS_FULL) {
		static const size_t sizes[] = { 64 * 1024, 4096, 512, 1 };
		static char chunk[64 * 1024];
		struct statvfs vfs;
		int fd;

		/* A snapshot taken while the log holds pages not yet copied back takes a read mark
		 * that keeps the log from starting over (one taken when all is copied would not):
		 * a write of its own first, then the snapshot at once, well inside the 200 ms
		 * between two checkpoints. */
		if (sqlite3_open_v2(e->db, &f->reader, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
		    sqlite3_busy_timeout(f->reader, 5000) != SQLITE_OK ||
		    sqlite3_exec(f->reader, "UPDATE heartbeat SET at = at;"
				 "BEGIN; SELECT count(*) FROM surveys;", NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("%s: cannot hold a read snapshot: %s", e->db,
				 sqlite3_errmsg(f->reader));
		fd = open(f->filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		f->filled = 1;
		memset(chunk, 0x5a, sizeof(chunk));
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			ssize_t w;

			while ((w = write(fd, chunk, sizes[i])) == (ssize_t)sizes[i])
				;
			if (w < 0 && errno != ENOSPC)
				fail_msg("filling %s: %s", f->filler, strerror(errno));
		}
		close(fd);
		assert_int_equal(statvfs(f->fs, &vfs), 0);
		if (vfs.f_bavail != 0)
			fail_msg("%s still has %llu free blocks after filling", f->fs,
				 (unsigned long long)vfs.f_bavail);
	} else {
		struct rlimit cap;

		assert_int_equal(prlimit(e->gw.pid, RLIMIT_FSIZE, NULL, &f->fsize), 0);
		cap.rlim_cur = 0;
		cap.rlim_max = f->fsize.rlim_max;
		if (prlimit(e->gw.pid, RLIMIT_FSIZE, &cap, NULL) < 0)
			fail_msg("prlimit --fsize=0 on the gateway: %s", strerror(errno));
		f->limited = 1;
	}
}

static void fault_off(struct faulty *f)
{
	if (f->mode == FAULT_TMPFS_FULL) {
		assert_int_equal(unlink(f->filler), 0);
		f->filled = 0;
		sqlite3_close_v2(f->reader);    /* its snapshot goes with it */
		f->reader = NULL;
	} else {
		assert_int_equal(prlimit(f->e.gw.pid, RLIMIT_FSIZE, &f->fsize, NULL), 0);
		f->limited = 0;
	}
}

/* The gateway process is still the one started, and alive (not a zombie). */
static void assert_alive(struct faulty *f, pid_t pid)
{
	char path[64], *stat_text, *p;

	assert_int_equal(f->e.gw.pid, pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat_text = harness_read_file(path, 4096, NULL);
	assert_non_null(stat_text);
	p = strrchr(stat_text, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		fail_msg("the gateway died while its store could not write (%s)",
			 p ? p + 2 : stat_text);
	free(stat_text);
}

static const char fault_trigger_fmt[] =
	"{\"customer\": {\"id\": \"fault-c-%s\", \"phone\": \"%s\", \"locale\": \"es\"},"
	" \"kind\": \"nps\", \"channel\": \"sms\", \"interaction\": {\"id\": \"fault-i-%s\"}}";

/* POST /v1/surveys for interaction `name` and `phone`; the status, the body in *j (caller
 * json_decref()s). */
static long fault_trigger(struct e2e *e, const char *name, const char *phone, json_t **j)
{
	struct harness_http_resp r;
	char body[512];
	int n = snprintf(body, sizeof(body), fault_trigger_fmt, name, phone, name);
	long status;

	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, (size_t)n, &r);
	status = r.status;
	*j = parse_json(&r);
	harness_http_release(&r);
	return status;
}

/* A refusal because the store cannot write: 503, {"error":{"code":"store_unavailable",...}}. */
static void assert_store_unavailable(const struct harness_http_resp *r, enum fault mode,
				     const char *what)
{
	json_t *j, *err;

	if (r->status != 503)
		fail_msg("%s answered %ld while the store cannot write (%s), want 503: %.300s", what,
			 r->status, fault_name(mode), r->body);
	assert_content_type(r, "application/json");
	j = parse_json(r);
	err = json_object_get(j, "error");
	assert_true(json_is_object(err));
	assert_jstr(err, "code", "store_unavailable");
	json_decref(j);
}

static long healthz_status(struct e2e *e, struct harness_http_resp *r)
{
	api(e, "GET", "/healthz", NULL, NULL, NULL, 0, r);
	return r->status;
}

#define FAULT_PHONE_A "+34620000001"
#define FAULT_PHONE_B "+34620000002"
#define FAULT_PHONE_C "+34620000003"
#define FAULT_DELAY_S 2
#define STR_(x) #x
#define STR(x) STR_(x)

static const char delayed_body[] =
	"{\"customer\": {\"id\": \"fault-c-c\", \"phone\": \"" FAULT_PHONE_C "\", \"locale\": \"es\"},"
	" \"kind\": \"nps\", \"channel\": \"sms\", \"interaction\": {\"id\": \"fault-i-c\"},"
	" \"delay_seconds\": " STR(FAULT_DELAY_S) "}";

/*
 * Triggers and webhooks answer 503 while the store cannot write, 2xx again once it can, in the
 * same process.  Survey A is sent before the fault (its "9" comes during it); survey C falls due
 * during the fault, so the dispatcher cannot record its claim: nothing may be sent until the store
 * writes again, then C goes out once.
 */
static void run_writes_refused(struct faulty *f)
{
	struct e2e *e = &f->e;
	struct harness_http_resp r;
	pid_t pid = e->gw.pid;
	json_t *j;
	char *id_a, *id_b, *id_c, sid[40], name[32];
	long status;
	long long t_fault;
	size_t sent, questions_c;
	int watch_ms;

	if (f->skip[0]) {
		print_message("skipped: %s\n", f->skip);
		skip();
	}
	/* before: survey A is sent */
	assert_int_equal(fault_trigger(e, "a", FAULT_PHONE_A, &j), 202);
	id_a = strdup(jstr(j, "id"));
	json_decref(j);
	json_decref(wait_status(e, id_a, "sent"));
	sent = fake_twilio_count(e->tw);
	assert_int_equal(sent, 1);
	/* survey C falls due while the store cannot write: the dispatcher cannot claim it */
	api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", delayed_body,
	    strlen(delayed_body), &r);
	assert_int_equal(r.status, 202);
	j = parse_json(&r);
	id_c = strdup(jstr(j, "id"));
	json_decref(j);
	harness_http_release(&r);

	fault_on(f);
	t_fault = harness_now_ms();
	for (int i = 0; i < 5; i++) {
		char body[512];
		int n;

		snprintf(name, sizeof(name), "b%d", i);
		n = snprintf(body, sizeof(body), fault_trigger_fmt, name, FAULT_PHONE_B, name);
		api(e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body, (size_t)n,
		    &r);
		assert_store_unavailable(&r, f->mode, "POST /v1/surveys");
		harness_http_release(&r);
	}
	next_sid(e, sid);
	twilio_inbound(e, FAULT_PHONE_A, "9", sid, SIG_OK, &r);
	assert_store_unavailable(&r, f->mode, "the inbound webhook");
	harness_http_release(&r);
	assert_alive(f, pid);
	j = survey_get(e, id_a);
	assert_jstr(j, "status", "sent");
	json_decref(j);
	/* C is due FAULT_DELAY_S after its trigger: watch until well past that, nothing is sent
	 * without its claim recorded */
	watch_ms = (int)(t_fault + (FAULT_DELAY_S + 1) * 1000 + E2E_QUIET_MS - harness_now_ms());
	if (watch_ms < E2E_QUIET_MS)
		watch_ms = E2E_QUIET_MS;
	if (fake_twilio_wait(e->tw, sent + 1, watch_ms) != sent)
		fail_msg("Twilio got a message while the store could not write (%s): To=%s",
			 fault_name(f->mode), fake_twilio_request(e->tw, sent)->to);
	j = survey_get(e, id_c);
	assert_jstr(j, "status", "queued");
	json_decref(j);
	assert_alive(f, pid);

	/* after: the same process takes writes again */
	fault_off(f);
	status = fault_trigger(e, "b0", FAULT_PHONE_B, &j);
	if (status != 202 && status != 200)
		fail_msg("POST /v1/surveys answered %ld once the store could write again (%s), "
			 "without a restart", status, fault_name(f->mode));
	if (status == 200)
		print_message("note: a trigger answered 503 had been stored\n");
	id_b = strdup(jstr(j, "id"));
	json_decref(j);
	json_decref(wait_status(e, id_b, "sent"));
	twilio_inbound(e, FAULT_PHONE_A, "9", sid, SIG_OK, &r);
	assert_twiml_ok(&r);
	harness_http_release(&r);
	assert_true(harness_db_count_value(e->db, sid) >= 1);
	j = wait_status(e, id_a, "answered");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "response"),
							    "score")), 9);
	json_decref(j);
	assert_int_equal(healthz_status(e, &r), 200);
	harness_http_release(&r);
	/* C, due during the fault, goes out once */
	json_decref(wait_status(e, id_c, "sent"));
	for (int i = 1; i < 5; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		status = fault_trigger(e, name, FAULT_PHONE_B, &j);
		json_decref(j);
		if (status != 202 && status != 200)
			fail_msg("retried trigger %s: %ld", name, status);
	}
	assert_alive(f, pid);
	questions_c = 0;
	for (size_t i = 0; i < fake_twilio_count(e->tw); i++) {
		const struct fake_twilio_request *req = fake_twilio_request(e->tw, i);

		questions_c += req->to && !strcmp(req->to, FAULT_PHONE_C);
	}
	assert_int_equal(questions_c, 1);
	free(id_c);
	free(id_b);
	free(id_a);
	e->passed = 1;
}

/* GET /healthz says 503 while the store cannot write, 200 once it can. */
static void run_healthz(struct faulty *f)
{
	struct e2e *e = &f->e;
	struct harness_http_resp r;
	long health, trig;
	json_t *j;

	if (f->skip[0]) {
		print_message("skipped: %s\n", f->skip);
		skip();
	}
	assert_int_equal(healthz_status(e, &r), 200);
	harness_http_release(&r);
	fault_on(f);
	health = healthz_status(e, &r);
	harness_http_release(&r);
	/* proves the store really refuses writes at this moment */
	trig = fault_trigger(e, "h", FAULT_PHONE_A, &j);
	json_decref(j);
	if (trig == 202 || trig == 200)
		fail_msg("POST /v1/surveys answered %ld while the store cannot write (%s)", trig,
			 fault_name(f->mode));
	if (health != 503)
		fail_msg("GET /healthz answered %ld while the store cannot write (%s: POST "
			 "/v1/surveys at the same moment answered %ld), want 503", health,
			 fault_name(f->mode), trig);
	assert_int_equal(healthz_status(e, &r), 503);
	harness_http_release(&r);
	fault_off(f);
	assert_int_equal(healthz_status(e, &r), 200);
	harness_http_release(&r);
	e->passed = 1;
}

static void test_tmpfs_full_writes_refused(void **state)
{
	skip_on_postgres();
	run_writes_refused(*state);
}

static void test_tmpfs_full_healthz(void **state)
{
	skip_on_postgres();
	run_healthz(*state);
}

static void test_fsize_writes_refused(void **state)
{
	skip_on_postgres();
	run_writes_refused(*state);
}

static void test_fsize_healthz(void **state)
{
	skip_on_postgres();
	run_healthz(*state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill9_rounds, e2e_setup, e2e_teardown),
		cmocka_unit_test_setup_teardown(test_tmpfs_full_writes_refused, faulty_setup_tmpfs,
						faulty_teardown),
		cmocka_unit_test_setup_teardown(test_tmpfs_full_healthz, faulty_setup_tmpfs,
						faulty_teardown),
		cmocka_unit_test_setup_teardown(test_fsize_writes_refused, faulty_setup_fsize,
						faulty_teardown),
		cmocka_unit_test_setup_teardown(test_fsize_healthz, faulty_setup_fsize,
						faulty_teardown),
	};

	/* before any thread exists */
	private_mount_ns();
	return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
