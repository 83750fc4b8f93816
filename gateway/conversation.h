/*
 * conversation.h - what the gateway does with each event a provider delivered: an inbound text is
 * stored and matched to the customer's open survey, read as a reply, and answered (a thank-you
 * after a score, one re-prompt after a reply that is not one); a delivery status moves the
 * message and its survey forward.
 *
 * Every effect of one webhook's events (the stored texts, the responses, the queued replies, the
 * statuses) is one store transaction, so a crash never leaves a text stored but unanswered, and a
 * provider's retry of the same message ids changes nothing.
 */
#ifndef GW_CONVERSATION_H
#define GW_CONVERSATION_H

#include "gateway.h"
#include "provider.h"

/*
 * One webhook's events on their way to the store.  conversation_begin() prepares them (NULL with
 * err, 503, when out of memory); conversation_record() records them all in one transaction and
 * returns 0 once that is durable (the webhook may then be acknowledged), -1 with err (503)
 * otherwise; conversation_record_async() returns at once and calls done(ctx, rc) on the store's
 * writer thread after the commit (-1 with err, done never called, when it cannot be queued).
 * `events` must live until conversation_end(), which counts and logs what was recorded (when
 * `recorded`), sets *queued to 1 when a reply was queued (the dispatcher should be woken), and
 * frees c.
 */
struct conversation;

struct conversation *conversation_begin(struct gateway *gw, struct provider *p,
					const struct event_list *events, struct gw_err *err);
int conversation_record(struct conversation *c, struct gw_err *err);
int conversation_record_async(struct conversation *c, struct gw_err *err,
			      void (*done)(void *ctx, int rc), void *ctx);
void conversation_end(struct conversation *c, int recorded, int *queued);

#endif
