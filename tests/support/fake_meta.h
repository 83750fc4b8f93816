/*
 * fake_meta.h - a fake Meta Graph API (WhatsApp Cloud API "send message" endpoint) on loopback,
 * run in-process by an end-to-end test, plus the two things a test needs to speak *as* Meta to the
 * gateway: webhook bodies built from the captured fixtures and their X-Hub-Signature-256.
 *
 * The fake serves exactly `POST /{graph_version}/{phone_number_id}/messages` and checks each
 * request in this order, answering a failed check with the Graph error JSON of
 * tests/fixtures/meta-error-100-invalid-param.json where only `error.code` and `error.message` are
 * rewritten:
 *   Authorization "Bearer {access_token}"                401, code 190
 *   the path names that version's and number's messages  400, code 100
 *   the method is POST                                   400, code 100
 *   Content-Type application/json (parameters allowed)   400, code 100
 *   the body is a JSON object (at most 64 KiB)           400, code 100
 *   messaging_product "whatsapp"                         400, code 100
 *   to: 8 to 15 digits, no '+'                           400, code 100
 *   type "text" with a non-empty text.body, or
 *   type "template" with template.name, template.language.code and, when there are components,
 *   components[0] of type "body" whose parameters (at most 8) are all
 *   {"type":"text","text":"<non-empty>"}
 *                                                        400, code 100
 * A request that passes every check gets the next scripted answer (fake_meta_queue) or, with none
 * queued, 200 with tests/fixtures/meta-send-response-200.json where only messages[0].id is
 * rewritten, to a fresh "wamid.<n>" (n counts from 1 in each fake).
 *
 * Threads: the fake answers on its own libmicrohttpd thread; every function here may be called from
 * the test thread while it runs.  Recorded requests are immutable once recorded.  Every wait is
 * bounded by the caller's timeout.
 */
#ifndef GW_TESTS_FAKE_META_H
#define GW_TESTS_FAKE_META_H

#include <stddef.h>

#include "buf.h"
#include "crypto.h"

#define FAKE_META_MAX_PARAMS 8

struct fake_meta;

/* One request as the fake saw it.  String members are NUL-terminated copies, NULL when the request
 * did not carry them; they are valid until fake_meta_stop(). */
struct fake_meta_request {
	char method[16];
	char *path;
	char *content_type;
	char *authorization;
	char *body;                     /* the raw body, as received */
	char *type;                     /* "text", "template", ... */
	char *to;
	char *text;                     /* text.body */
	char *template_name;            /* template.name */
	char *template_lang;            /* template.language.code */
	char *params[FAKE_META_MAX_PARAMS];   /* components[0].parameters[i].text */
	size_t n_params;
	int ok;                 /* 1: passed every check above; 0: `why` says which one failed */
	char why[160];
	int status;             /* the HTTP status the fake answered with */
	int code;               /* the Graph error code it answered with, 0 for none */
	char wamid[48];         /* the message id of a 200 answer, "" otherwise */
	long long at_ms;        /* when it arrived, on harness_now_ms()'s clock */
};

/*
 * Starts a fake for the WhatsApp Business phone number `phone_number_id`, reached at
 * /`graph_version`/`phone_number_id`/messages with `access_token`, on a free port of 127.0.0.1,
 * reading its answer bodies from `fixtures_dir` (tests/fixtures).  Returns NULL (after a message on
 * stderr) when the fixtures cannot be read or the daemon cannot start.  Stop with fake_meta_stop().
 */
struct fake_meta *fake_meta_start(const char *graph_version, const char *phone_number_id,
				  const char *access_token, const char *fixtures_dir);

/* Stops the daemon (closing every connection) and frees everything, recorded requests included.
 * NULL is allowed. */
void fake_meta_stop(struct fake_meta *fm);

/* The TCP port it listens on. */
int fake_meta_port(const struct fake_meta *fm);

/*
 * Queues the answer to the next request that passes the checks (answers are used in queue order,
 * one per request):
 *   status 200                      the default success answer
 *   code 0                          `status` with an empty body (e.g. a bare 500)
 *   code != 0                       `status` with the Graph error JSON, `error.code` = code and
 *                                   `error.message` = message (NULL: "(#<code>) Error <code>")
 * 0, or -1 when the queue (16 answers) is full.
 */
int fake_meta_queue(struct fake_meta *fm, int status, int code, const char *message);

/* The number of requests received so far (whatever their outcome). */
size_t fake_meta_count(struct fake_meta *fm);

/* Request `i` (0 = first), or NULL when there is none yet; valid until fake_meta_stop(). */
const struct fake_meta_request *fake_meta_request(struct fake_meta *fm, size_t i);

/* Waits until at least `n` requests arrived or `timeout_ms` passed; returns the count then. */
size_t fake_meta_wait(struct fake_meta *fm, size_t n, int timeout_ms);

/* X-Hub-Signature-256 for a webhook body: "sha256=" + lower-case hex HMAC-SHA256(app_secret, the
 * raw body's `len` bytes), NUL-terminated, into `out`. */
#define FAKE_META_SIG_LEN (7 + 2 * SHA256_LEN + 1)
void fake_meta_sign(const char *app_secret, const void *body, size_t len,
		    char out[FAKE_META_SIG_LEN]);

/* What fake_meta_webhook_body() rewrites; a NULL member leaves the fixture's value. */
struct fake_meta_set {
	const char *from;               /* entry[0].changes[0].value.messages[0].from */
	const char *message_id;         /* ...messages[0].id (a wamid) */
	const char *text;               /* ...messages[0].text.body */
	const char *list_reply_id;      /* ...messages[0].interactive.list_reply.id */
	const char *button_payload;     /* ...messages[0].button.payload */
	const char *status;             /* ...statuses[0].status */
	const char *status_id;          /* ...statuses[0].id (the wamid the status is about) */
};

/*
 * Builds a webhook body from a captured JSON fixture (`fixture_path`, e.g.
 * tests/fixtures/meta-inbound-text.json): the fixture with only the members `set` names rewritten,
 * every other member and the member order kept, serialised compactly as Meta sends it.  A member
 * `set` names that the fixture lacks is an error: the tests never invent shapes.  Appends to `out`.
 * 0, or -1 (after a message on stderr) on a read, parse, shape or cap failure.
 */
int fake_meta_webhook_body(const char *fixture_path, const struct fake_meta_set *set,
			   struct buf *out);

#endif
