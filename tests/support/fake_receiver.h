/*
 * fake_receiver.h - a receiver of the gateway's outbound events on loopback, run in-process by an
 * end-to-end test: a CRM endpoint that can be down, answer errors, and come back on the same
 * port.
 *
 * Every request is recorded with what a receiver would check, in this order:
 *   X-Gateway-Signature "t=<unix>,v1=<hex>" present and well formed, v1 the lower-case hex
 *   HMAC-SHA256(secret, "<t>.<body>"), t within 300 s of now      else 400 (sig_ok 0)
 *   the body a JSON object with a string "id" and "type"             else 400
 * A request that passes gets the configured answer status (fake_receiver_set_status(); 200 at
 * start), with an empty body.
 *
 * Threads: the receiver answers on its own libmicrohttpd thread; every function may be called
 * from the test thread while it runs.  Recorded requests are immutable once recorded.
 */
#ifndef GW_TESTS_FAKE_RECEIVER_H
#define GW_TESTS_FAKE_RECEIVER_H

#include <stddef.h>

struct fake_receiver;

/* One request as the receiver saw it; strings NUL-terminated, "" when absent, valid until
 * fake_receiver_free(). */
struct fake_receiver_request {
	char *body;
	char id[64];                    /* the body's "id" */
	char type[40];                  /* the body's "type" */
	char header_id[64];             /* X-Gateway-Event-Id */
	char content_type[64];
	char user_agent[64];
	int sig_ok;                     /* the signature checked out */
	int status;                     /* what the receiver answered */
};

/* A receiver checking signatures with `secret`, not yet listening.  NULL when out of memory. */
struct fake_receiver *fake_receiver_new(const char *secret);

/* Starts listening on 127.0.0.1:`port` (0: a free port, remembered for the next start).
 * 0, or -1 after a message on stderr. */
int fake_receiver_listen(struct fake_receiver *r, int port);

/* Closes the port (and every connection): the receiver is down.  Safe to call twice. */
void fake_receiver_close(struct fake_receiver *r);

/* Stops listening and frees everything, recorded requests included.  NULL is allowed. */
void fake_receiver_free(struct fake_receiver *r);

/* The port it listens (or last listened) on. */
int fake_receiver_port(const struct fake_receiver *r);

/* The status every later request that passes the checks is answered with (e.g. 503). */
void fake_receiver_set_status(struct fake_receiver *r, int status);

/* The number of requests received so far, whatever their outcome. */
size_t fake_receiver_count(struct fake_receiver *r);

/* Request `i` (0 = first), or NULL when there is none yet. */
const struct fake_receiver_request *fake_receiver_request(struct fake_receiver *r, size_t i);

/* Waits until at least `n` requests were answered 2xx, or `timeout_ms` passed; returns how many
 * were then. */
size_t fake_receiver_wait_accepted(struct fake_receiver *r, size_t n, int timeout_ms);

#endif
