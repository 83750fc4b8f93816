/*
 * fake_zenvia.h - a fake Zenvia API v2 (messages on the sms and whatsapp channels) on loopback, run
 * in-process by an end-to-end test, plus what a test needs to speak *as* Zenvia to the gateway:
 * webhook bodies built from the captured fixtures and their POST to /webhooks/zenvia.
 *
 * The fake serves exactly `POST /v2/channels/{sms|whatsapp}/messages` and checks each request in
 * this order (error bodies are Zenvia's shape, {"code": "...", "message": "..."}):
 *   header X-API-TOKEN is the configured token         401 UNAUTHORIZED
 *   the path is /v2/channels/{sms|whatsapp}/messages   404 NOT_FOUND
 *   the method is POST                                 405 METHOD_NOT_ALLOWED
 *   the body is at most 64 KiB                         413 PAYLOAD_TOO_LARGE
 *   Content-Type application/json                      400 VALIDATION_ERROR
 *   the body is a JSON object with a non-empty string
 *   `from`, a `to` of 8 to 15 digits (no '+'), and a
 *   non-empty array `contents` whose every item is
 *   {"type":"text","text": non-empty string} or
 *   {"type":"template","templateId": non-empty string,
 *    "fields": {name: string, ...}}                     400 VALIDATION_ERROR
 * Only VALIDATION_ERROR comes from Zenvia's documentation; the codes of the other refusals are
 * this fake's, in the same shape.
 *
 * A request that passes every check gets the next scripted answer (fake_zenvia_queue) or, with
 * none queued, 200 with the request's JSON preceded by a fresh `"id"` (Zenvia answers a send with
 * the message it accepted, id included).  Ids look like UUIDs and are unique per fake.
 *
 * Threads: the fake answers on its own libmicrohttpd thread; every function here may be called from
 * the test thread while it runs.  Recorded requests are immutable once recorded.
 */
#ifndef GW_TESTS_FAKE_ZENVIA_H
#define GW_TESTS_FAKE_ZENVIA_H

#include <stddef.h>

#include <jansson.h>

#include "harness.h"

#define FAKE_ZENVIA_ID_LEN 40

struct fake_zenvia;

/* One request as the fake saw it.  String members are NUL-terminated copies, NULL when the request
 * did not carry them; `contents` is the body's `contents` member as sent (NULL when absent or the
 * body is not JSON), never modified.  All are valid until fake_zenvia_stop(). */
struct fake_zenvia_request {
	char method[16];
	char *path;
	char *content_type;
	char *api_token;        /* the X-API-TOKEN header */
	char *channel;          /* "sms" or "whatsapp", from the path; NULL for another path */
	char *body;             /* the raw body */
	char *from;
	char *to;
	json_t *contents;
	int ok;                 /* 1: passed every check above; 0: `why` says which one failed */
	char why[160];
	int status;             /* the HTTP status the fake answered with */
	char id[FAKE_ZENVIA_ID_LEN];   /* the message id of a 200 answer, "" otherwise */
};

/*
 * Starts a fake that accepts the token `api_token` on a free port of 127.0.0.1.  Returns NULL
 * (after a message on stderr) when the daemon cannot start.  Stop with fake_zenvia_stop().
 */
struct fake_zenvia *fake_zenvia_start(const char *api_token);

/* Stops the daemon (closing every connection) and frees everything, recorded requests included.
 * NULL is allowed. */
void fake_zenvia_stop(struct fake_zenvia *fz);

/* The TCP port it listens on. */
int fake_zenvia_port(const struct fake_zenvia *fz);

/*
 * Queues the answer to the next request that passes the checks (answers are used in queue order,
 * one per request):
 *   status 200                 the default success answer
 *   code NULL                  `status` with an empty body (e.g. a bare 500, 503 or 429)
 *   code not NULL              `status` with {"code": code, "message": message} (message NULL:
 *                              "Error <status>"), e.g. 409 and "DUPLICATED"
 * 0, or -1 when the queue (16 answers) is full.  `code` and `message` are copied.
 */
int fake_zenvia_queue(struct fake_zenvia *fz, int status, const char *code, const char *message);

/* The number of requests received so far (whatever their outcome). */
size_t fake_zenvia_count(struct fake_zenvia *fz);

/* Request `i` (0 = first), or NULL when there is none yet; valid until fake_zenvia_stop(). */
const struct fake_zenvia_request *fake_zenvia_request(struct fake_zenvia *fz, size_t i);

/* Waits until at least `n` requests arrived or `timeout_ms` passed; returns the count then. */
size_t fake_zenvia_wait(struct fake_zenvia *fz, size_t n, int timeout_ms);

/* The `text` of request content `i` when it is a text content, else NULL (borrowed from req). */
const char *fake_zenvia_text(const struct fake_zenvia_request *req, size_t i);

/* ---- speaking as Zenvia ---- */

/*
 * A MESSAGE event (the customer wrote): tests/fixtures/zenvia-webhook-message-in.json from
 * `fixtures_dir` with only the top `id`, `channel`, `message.from` (the customer's digits, no '+'),
 * `message.to`, `message.channel` (= `channel`) and the first text content's `text` rewritten,
 * and `message.id` (= `id`) added: Zenvia's message object carries it and the gateway knows an
 * inbound message by it, but the SDK's test literal the fixture was copied from leaves it out.
 * Every other member as captured.  The JSON text, caller frees with free(); NULL after a message
 * on stderr.
 */
char *fake_zenvia_message_event(const char *fixtures_dir, const char *id, const char *channel,
				const char *from, const char *to, const char *text);

/*
 * A MESSAGE_STATUS event: tests/fixtures/zenvia-webhook-message-status-sent.json with only `id`,
 * `messageId`, `channel` and `messageStatus.code` ("SENT", "DELIVERED", "READ",
 * "NOT_DELIVERED"...) rewritten.  Caller frees with free(); NULL after a message on stderr.
 */
char *fake_zenvia_status_event(const char *fixtures_dir, const char *id, const char *message_id,
			       const char *channel, const char *code);

/*
 * POSTs `body` to `{gw_base_url}/webhooks/zenvia` as Zenvia's subscription does: Content-Type
 * application/json and, unless `token` is NULL, `X-Gateway-Token: {token}`.  0 when an answer
 * arrived (release *r with harness_http_release()), -1 when none did.
 */
int fake_zenvia_post_webhook(const char *gw_base_url, const char *token, const char *body,
			     struct harness_http_resp *r);

#endif
