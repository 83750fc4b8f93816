/*
 * conversation.h - what the gateway does with each event a provider delivered: an inbound text is
 * stored and matched to the customer's open survey, read as a reply, and answered (a thank-you
 * after a score, one re-prompt after a reply that is not one); a delivery status moves the
 * message and its survey forward.
 *
 * Every effect of one event (the stored text, the response, the queued reply) is one store
 * transaction, so a crash never leaves a text stored but unanswered, and a provider's retry of the
 * same message id changes nothing.
 */
#ifndef GW_CONVERSATION_H
#define GW_CONVERSATION_H

#include "gateway.h"
#include "provider.h"

/* Applies one event that provider `p` delivered.  0 when it is durably recorded (the webhook may
 * then be acknowledged), -1 with err (http_status 503) otherwise.  *queued is set to 1 when an
 * outbound reply was queued (the dispatcher should be woken). */
int conversation_handle_event(struct gateway *gw, struct provider *p, const struct event *ev,
			      int *queued, struct gw_err *err);

#endif
