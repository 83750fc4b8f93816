/*
 * twilio.c - Twilio Programmable Messaging (SMS, and WhatsApp through Twilio).
 *
 * Send: POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To, From (or
 * MessagingServiceSid), Body, StatusCallback; HTTP Basic auth AccountSid:AuthToken.  The 201 answer
 * carries the message `sid`; errors carry Twilio's `code` and `message` (twilio.com/docs/errors).
 * WhatsApp addresses are written "whatsapp:+E164".
 *
 * Webhooks: POST /webhooks/twilio (an incoming message) and /webhooks/twilio/status (a status
 * callback), form-encoded and signed with X-Twilio-Signature over the public URL and the sorted
 * parameters (twilio_sign.c).  A webhook with a bad or missing signature is refused before any of
 * its content is looked at.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "form.h"
#include "provider.h"
#include "twilio_sign.h"

#define TWILIO_VALUE_LEN 256

struct twilio {
	char account_sid[64];
	char auth_token[TWILIO_VALUE_LEN];
	char from[TWILIO_VALUE_LEN];
	char messaging_service_sid[64];
	char base_url[TWILIO_VALUE_LEN];
	char authorization[512];        /* "Basic base64(sid:token)" */
};

static const struct config_key twilio_keys[] = {
	{ "account_sid", CFG_STRING, NULL, "Account SID (AC...), from the Twilio console" },
	{ "auth_token", CFG_STRING, NULL,
	  "Auth Token; signs webhooks too (set it with GATEWAY_PROVIDER_TWILIO_AUTH_TOKEN)" },
	{ "from", CFG_STRING, NULL,
	  "sender number in E.164 (or leave empty and set messaging_service_sid)" },
	{ "messaging_service_sid", CFG_STRING, NULL,
	  "Messaging Service SID (MG...), used instead of from" },
	{ "base_url", CFG_URL, "https://api.twilio.com", "REST API base URL" },
	{ NULL, 0, NULL, NULL },
};

static int twilio_init(struct provider *p, const struct config_section *cfg, struct gw_err *err)
{
	struct twilio *t = p->priv;
	char creds[sizeof(t->account_sid) + sizeof(t->auth_token) + 1];
	char b64[base64_encoded_len(sizeof(creds))];
	int n;

	if (provider_config_copy(p, cfg, "account_sid", t->account_sid, sizeof(t->account_sid),
				 err) < 0 ||
	    provider_config_copy(p, cfg, "auth_token", t->auth_token, sizeof(t->auth_token), err) < 0 ||
	    provider_config_copy(p, cfg, "from", t->from, sizeof(t->from), err) < 0 ||
	    provider_config_copy(p, cfg, "messaging_service_sid", t->messaging_service_sid,
				 sizeof(t->messaging_service_sid), err) < 0 ||
	    provider_config_copy(p, cfg, "base_url", t->base_url, sizeof(t->base_url), err) < 0)
		return -1;
	if (!t->account_sid[0])
		return gw_errf(err, "[provider.twilio] account_sid: required when a channel uses twilio");
	if (!t->auth_token[0])
		return gw_errf(err, "[provider.twilio] auth_token: required when a channel uses twilio");
	if (!t->from[0] && !t->messaging_service_sid[0])
		return gw_errf(err, "[provider.twilio] from: set from or messaging_service_sid");
	n = snprintf(creds, sizeof(creds), "%s:%s", t->account_sid, t->auth_token);
	base64_encode((const uint8_t *)creds, (size_t)n, b64);
	snprintf(t->authorization, sizeof(t->authorization), "Basic %s", b64);
	return 0;
}

/* "whatsapp:+34..." for the whatsapp channel, the number itself otherwise. */
static void address(char *out, size_t n, enum channel ch, const char *number)
{
	snprintf(out, n, "%s%s", ch == CHANNEL_WHATSAPP ? "whatsapp:" : "", number);
}

/* {"1":"Ana","2":"Acme"}: the template's parameters as Twilio's ContentVariables JSON. */
static int content_variables(const struct provider *p, const struct outbound *msg,
			     struct buf *out)
{
	const char *vals[TEMPLATE_MAX_PARAMS];
	size_t n = provider_template_params(p, msg, vals);
	json_t *o = json_object();
	char key[24], *text;
	int rc;

	for (size_t i = 0; o && i < n; i++) {
		snprintf(key, sizeof(key), "%zu", i + 1);
		json_object_set_new(o, key, json_string(vals[i]));
	}
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	rc = text ? buf_puts(out, text) : -1;
	free(text);
	json_decref(o);
	return rc;
}

static int twilio_build_send(struct provider *p, const struct outbound *msg,
			     struct http_request *out, struct gw_err *err)
{
	struct twilio *t = p->priv;
	char to[PHONE_LEN + 16], from[TWILIO_VALUE_LEN + 16];
	const char *content_sid;
	struct buf vars;
	int rc = -1;

	buf_init(&vars, 4096);
	address(to, sizeof(to), msg->channel, msg->to);
	if (buf_printf(&out->url, "%s/2010-04-01/Accounts/%s/Messages.json", t->base_url,
		       t->account_sid) < 0 ||
	    form_add(&out->body, "To", to) < 0)
		goto full;
	if (t->messaging_service_sid[0]) {
		if (form_add(&out->body, "MessagingServiceSid", t->messaging_service_sid) < 0)
			goto full;
	} else {
		address(from, sizeof(from), msg->channel, t->from);
		if (form_add(&out->body, "From", from) < 0)
			goto full;
	}
	if (msg->channel == CHANNEL_WHATSAPP && !msg->in_session &&
	    (content_sid = provider_template(p, msg))) {
		/* Outside the WhatsApp session only an approved template may open the conversation:
		 * Twilio's Content API, ContentSid plus numbered ContentVariables. */
		if (content_variables(p, msg, &vars) < 0 ||
		    form_add(&out->body, "ContentSid", content_sid) < 0 ||
		    form_add(&out->body, "ContentVariables", buf_cstr(&vars)) < 0)
			goto full;
	} else if (form_add(&out->body, "Body", msg->body) < 0) {
		goto full;
	}
	if (p->public_url) {
		char cb[TWILIO_VALUE_LEN * 2];

		snprintf(cb, sizeof(cb), "%s/webhooks/twilio/status", p->public_url);
		if (form_add(&out->body, "StatusCallback", cb) < 0)
			goto full;
	}
	if (provider_request_header(out, "Authorization", t->authorization) < 0 ||
	    provider_request_header(out, "Content-Type", "application/x-www-form-urlencoded") < 0 ||
	    provider_request_header(out, "Accept", "application/json") < 0)
		goto full;
	rc = 0;
	goto out;
full:
	gw_errf(err, "message too large for one Twilio request");
out:
	buf_release(&vars);
	return rc;
}

/* Fills error_code/error_message from Twilio's error JSON ({"code":21211,"message":...}). */
static void read_error(const char *body, size_t len, struct send_outcome *out)
{
	json_t *root = json_loadb(body ? body : "", len, 0, NULL);
	json_t *code = json_object_get(root, "code");
	json_t *msg = json_object_get(root, "message");

	if (json_is_integer(code))
		snprintf(out->error_code, sizeof(out->error_code), "%lld",
			 (long long)json_integer_value(code));
	if (json_is_string(msg))
		snprintf(out->error_message, sizeof(out->error_message), "%s", json_string_value(msg));
	json_decref(root);
}

/*
 * 2xx with a sid: accepted.  No answer, 429 and 5xx: transient (Twilio's own guidance: retry
 * with backoff).  Any other 4xx: permanent (bad number 21211, unverified 21608, opted out 21610,
 * auth 20003 ...): sending the same request again cannot succeed.
 */
static enum send_result twilio_parse_send_response(struct provider *p, long status,
						   const char *body, size_t len,
						   struct send_outcome *out)
{
	json_t *root, *sid, *st;

	if (status >= 200 && status < 300) {
		root = json_loadb(body ? body : "", len, 0, NULL);
		sid = json_object_get(root, "sid");
		st = json_object_get(root, "status");
		if (json_is_string(sid))
			snprintf(out->provider_message_id, sizeof(out->provider_message_id), "%s",
				 json_string_value(sid));
		if (json_is_string(st))
			snprintf(out->status, sizeof(out->status), "%s", json_string_value(st));
		json_decref(root);
		/* Accepted even without a readable sid: sending again would text the customer twice. */
		return SEND_ACCEPTED;
	}
	read_error(body, len, out);
	if (status == 0) {
		snprintf(out->error_code, sizeof(out->error_code), "network");
		if (!out->error_message[0])
			snprintf(out->error_message, sizeof(out->error_message), "no answer from Twilio");
		return SEND_TRANSIENT;
	}
	/* Codes that mean more than "failed" (twilio.com/docs/api/errors). */
	if (strcmp(out->error_code, "63016") == 0)          /* outside the WhatsApp window */
		out->flags |= SEND_NEEDS_TEMPLATE;
	else if (strcmp(out->error_code, "21610") == 0)     /* the recipient replied STOP */
		out->flags |= SEND_OPTED_OUT;
	else if (strcmp(out->error_code, "20003") == 0 || status == 401)
		out->flags |= SEND_AUTH_FAILED;
	if (!out->error_code[0])
		snprintf(out->error_code, sizeof(out->error_code), "http_%ld", status);
	if (!out->error_message[0])
		snprintf(out->error_message, sizeof(out->error_message), "Twilio answered HTTP %ld",
			 status);
	return (status == 429 || status >= 500) ? SEND_TRANSIENT : SEND_PERMANENT;
}

/* "whatsapp:+34..." -> channel whatsapp and "+34..."; "+34..." -> sms. */
static int read_address(const char *v, enum channel *ch, char *out, size_t n)
{
	*ch = CHANNEL_SMS;
	if (strncmp(v, "whatsapp:", 9) == 0) {
		*ch = CHANNEL_WHATSAPP;
		v += 9;
	}
	if (!*v || strlen(v) >= n)
		return -1;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* Twilio's MessageStatus words; 0 and the status, or -1 for states that say nothing new. */
static int read_status(const char *s, enum delivery_status *out)
{
	static const struct { const char *word; enum delivery_status st; } map[] = {
		{ "sent", DELIVERY_SENT }, { "delivered", DELIVERY_DELIVERED },
		{ "read", DELIVERY_READ }, { "failed", DELIVERY_FAILED },
		{ "undelivered", DELIVERY_FAILED }, { "canceled", DELIVERY_FAILED },
	};

	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].word) == 0)
			return *out = map[i].st, 0;
	return -1;
}

/* The message's id: MessageSid, else SmsSid (its older name, which Twilio still sends); NULL
 * when neither is usable. */
static const char *message_sid(const struct form *f)
{
	const char *sid = form_get(f, "MessageSid");

	if (!provider_id_usable(sid))
		sid = form_get(f, "SmsSid");
	return provider_id_usable(sid) ? sid : NULL;
}

/* Without an id a message cannot be told from its redelivery: refused, nothing stored. */
static int missing_sid(struct webhook_reply *reply)
{
	return webhook_fail(reply, 400, "missing_field", "MessageSid",
			    "MessageSid is required: not empty or blank, up to 127 characters");
}

static int parse_inbound(const struct form *f, struct event_list *out, struct webhook_reply *reply)
{
	const char *sid = message_sid(f), *from = form_get(f, "From");
	const struct form_field *body = form_find(f, "Body");
	struct event *ev;
	size_t len = body ? body->value_len : 0;

	if (!sid)
		return missing_sid(reply);
	if (!(ev = event_list_add(out)))
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	ev->type = EVENT_INBOUND;
	if (!from || read_address(from, &ev->channel, ev->from, sizeof(ev->from)) < 0)
		return webhook_fail(reply, 400, "missing_field", "From",
				    "From is required (a phone number, up to 23 characters)");
	snprintf(ev->provider_message_id, sizeof(ev->provider_message_id), "%s", sid);
	/* The exact length: a Body may hold NUL bytes, which form values keep. */
	if (!(ev->text = malloc(len + 1)))
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	if (len)
		memcpy(ev->text, body->value, len);
	ev->text[len] = '\0';
	ev->text_len = len;
	return 0;
}

static int parse_status(const struct form *f, struct event_list *out, struct webhook_reply *reply)
{
	const char *sid = message_sid(f), *st = form_get(f, "MessageStatus");
	const char *code = form_get(f, "ErrorCode"), *msg = form_get(f, "ErrorMessage");
	enum delivery_status status;
	struct event *ev;

	if (!st)
		st = form_get(f, "SmsStatus");
	if (!sid)
		return missing_sid(reply);
	if (!st)
		return webhook_fail(reply, 400, "missing_field", "MessageStatus",
				    "MessageStatus is required");
	if (read_status(st, &status) < 0)
		return 0;       /* queued, sending, ...: nothing to record */
	if (!(ev = event_list_add(out)))
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	ev->type = EVENT_STATUS;
	ev->channel = CHANNEL_ANY;
	ev->status = status;
	snprintf(ev->provider_message_id, sizeof(ev->provider_message_id), "%s", sid);
	if (code)
		snprintf(ev->error_code, sizeof(ev->error_code), "%s", code);
	if (msg)
		snprintf(ev->error_message, sizeof(ev->error_message), "%s", msg);
	return 0;
}

static int twilio_parse_webhook(struct provider *p, const struct http_req_view *req,
				struct event_list *out, struct webhook_reply *reply)
{
	struct twilio *t = p->priv;
	const char *sig = req->header(req, "X-Twilio-Signature");
	struct form f = { 0 };
	int rc = -1, is_status;

	if (strcmp(req->path, "/webhooks/twilio") == 0)
		is_status = 0;
	else if (strcmp(req->path, "/webhooks/twilio/status") == 0)
		is_status = 1;
	else
		return webhook_fail(reply, 404, "not_found", "", "no such Twilio webhook");
	if (!sig || !*sig)
		return webhook_fail(reply, 403, "missing_signature", "X-Twilio-Signature",
				    "X-Twilio-Signature header is required");
	/* The signature covers the parsed parameters: a body that cannot be parsed cannot be
	 * authenticated, and is refused as such. */
	if (form_parse(&f, req->body, req->body_len) < 0) {
		webhook_fail(reply, 403, "invalid_signature", "X-Twilio-Signature",
			     "the body cannot be read as a form, so its signature cannot be checked");
		goto out;
	}
	if (!twilio_signature_valid(t->auth_token, req->url, &f, NULL, 0, sig)) {
		webhook_fail(reply, 403, "invalid_signature", "X-Twilio-Signature",
			     "X-Twilio-Signature does not match this request");
		goto out;
	}
	if ((is_status ? parse_status(&f, out, reply) : parse_inbound(&f, out, reply)) < 0)
		goto out;
	reply->status = 200;
	reply->content_type = "text/xml";
	if (buf_puts(&reply->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>") < 0)
		goto out;
	rc = 0;
out:
	form_release(&f);
	return rc;
}

const struct provider_ops twilio_ops = {
	.name = "twilio",
	.caps = PROVIDER_CAP_TEMPLATES,
	.priv_size = sizeof(struct twilio),
	.keys = twilio_keys,
	.default_rate = "1/s",
	.init = twilio_init,
	.build_send = twilio_build_send,
	.parse_send_response = twilio_parse_send_response,
	.parse_webhook = twilio_parse_webhook,
};
