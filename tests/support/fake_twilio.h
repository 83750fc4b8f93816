/*
 * fake_twilio.h - a fake Twilio Programmable Messaging REST API on loopback, run in-process by an
 * end-to-end test, plus the two things a test needs to speak *as* Twilio to the gateway: webhook
 * form bodies built from the captured fixtures and their X-Twilio-Signature.
 *
 * The fake serves exactly `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` and checks each
 * request the way Twilio does, in this order:
 *   HTTP Basic auth AccountSid:AuthToken            401, code 20003
 *   the path names that account's Messages.json     404, code 20404
 *   the method is POST                              405, code 20004
 *   Content-Type application/x-www-form-urlencoded  400, code 21604 (Twilio sees no To at all)
 *   To present and E.164                            400, code 21604 / 21211
 *   Body present, at most 1600 characters           400, code 21602 / 21617
 *   exactly one of From and MessagingServiceSid     400, code 21603
 * Error answers are tests/fixtures/twilio-error-400-20001.json with `code`, `message`, `more_info`
 * (and `status`, when it is not 400) rewritten.  A request that passes every check gets the next
 * scripted answer (fake_twilio_queue) or, with none queued, 201 with
 * tests/fixtures/twilio-create-message-201.json where only `sid` (a fresh "SM" + 32 hex digits),
 * `to` and `body` (the request's) are rewritten.
 *
 * Threads: the fake answers on its own libmicrohttpd thread; every function here may be called from
 * the test thread while it runs.  Recorded requests are immutable once recorded.
 */
#ifndef GW_TESTS_FAKE_TWILIO_H
#define GW_TESTS_FAKE_TWILIO_H

#include <stddef.h>

#include "buf.h"
#include "crypto.h"

struct fake_twilio;

/* One request as the fake saw it.  String members are NUL-terminated copies, NULL when the request
 * did not carry them; they are valid until fake_twilio_stop(). */
struct fake_twilio_request {
	char method[16];
	char *path;
	char *content_type;
	char *to;
	char *from;
	char *messaging_service_sid;
	char *body;
	char *status_callback;
	int ok;                 /* 1: passed every check above; 0: `why` says which one failed */
	char why[160];
	int status;             /* the HTTP status the fake answered with */
	char sid[40];           /* the message sid of a 201 answer, "" otherwise */
	long long at_ms;        /* when it was recorded, harness_now_ms(); never decreasing */
};

/*
 * Starts a fake for the account `account_sid` / `auth_token` on a free port of 127.0.0.1, reading
 * its answer bodies from `fixtures_dir` (tests/fixtures).  Returns NULL (after a message on stderr)
 * when the fixtures cannot be read or the daemon cannot start.  Stop with fake_twilio_stop().
 */
struct fake_twilio *fake_twilio_start(const char *account_sid, const char *auth_token,
				      const char *fixtures_dir);

/* Stops the daemon (closing every connection) and frees everything, recorded requests included.
 * NULL is allowed. */
void fake_twilio_stop(struct fake_twilio *ft);

/* The TCP port it listens on. */
int fake_twilio_port(const struct fake_twilio *ft);

/*
 * Queues the answer to the next request that passes the checks (answers are used in queue order,
 * one per request):
 *   status 201                      the default success answer
 *   error_code 0                    `status` with an empty body (e.g. a bare 500 or 503)
 *   error_code != 0                 `status` with the Twilio error JSON, `code` = error_code and
 *                                   `message` = message (NULL: "Error <code>")
 * A 429 also carries "Retry-After: 1" (fake_twilio_queue_retry_after() chooses another).  0, or
 * -1 when the queue (16 answers) is full.
 */
int fake_twilio_queue(struct fake_twilio *ft, int status, int error_code, const char *message);

/*
 * Queues, like fake_twilio_queue(), Twilio's rate-limit answer: 429 with code 20429 ("Too Many
 * Requests") and the header "Retry-After: `retry_after`", the value sent verbatim, so it may be
 * delta-seconds ("4"), an HTTP date or something malformed; NULL sends no Retry-After at all.
 * 0, or -1 when the queue is full or `retry_after` is 64 bytes or longer.
 */
int fake_twilio_queue_retry_after(struct fake_twilio *ft, const char *retry_after);

/* Queues, like fake_twilio_queue(), a 201 whose message sid is `sid` verbatim (anything a
 * provider might answer, e.g. with spaces in it).  0, or -1 when the queue is full or `sid` is
 * 40 bytes or longer. */
int fake_twilio_queue_sid(struct fake_twilio *ft, const char *sid);

/* From now on every 201 not scripted otherwise carries the message sid `sid`, as sandboxes and
 * mocks answer (NULL: a fresh sid each again).  0, or -1 when `sid` is 40 bytes or longer. */
int fake_twilio_repeat_sid(struct fake_twilio *ft, const char *sid);

/* The number of requests received so far (whatever their outcome). */
size_t fake_twilio_count(struct fake_twilio *ft);

/* Request `i` (0 = first), or NULL when there is none yet; valid until fake_twilio_stop(). */
const struct fake_twilio_request *fake_twilio_request(struct fake_twilio *ft, size_t i);

/* Waits until at least `n` requests arrived or `timeout_ms` passed; returns the count then. */
size_t fake_twilio_wait(struct fake_twilio *ft, size_t n, int timeout_ms);

/*
 * The rate the fake saw: the most requests (whatever their outcome) recorded within any
 * `window_ms` milliseconds (arrival times `at_ms` less than `window_ms` apart): a window
 * sliding over the whole record.  *first_ms and *last_ms (either may be NULL) get the arrival times of the first and the
 * last request, 0 when there is none.
 */
size_t fake_twilio_max_in_window(struct fake_twilio *ft, long long window_ms, long long *first_ms,
				 long long *last_ms);

/* X-Twilio-Signature for a form POST to `url`: base64(HMAC-SHA1(auth_token, url + every distinct
 * key and value pair, sorted by key then value)), from the urlencoded `form` (`len` bytes).
 * Written independently of providers/twilio_sign.c so the two check each other.  Writes it,
 * NUL-terminated, to `out`.  0, or -1 when the form cannot be parsed. */
#define FAKE_TWILIO_SIG_LEN base64_encoded_len(SHA1_LEN)
int fake_twilio_sign(const char *auth_token, const char *url, const char *form, size_t len,
		     char out[FAKE_TWILIO_SIG_LEN]);

/*
 * Builds a webhook body from a captured form fixture (`fixture_path`): every field in its order,
 * with the value of each key named in `set` (a NULL-terminated list of key, value, key, value...)
 * replaced; keys of `set` the fixture lacks are appended.  Everything else stays as captured.
 * Appends to `out`.  0, or -1 on a read, parse or cap failure.
 */
int fake_twilio_form(const char *fixture_path, const char *const *set, struct buf *out);

#endif
