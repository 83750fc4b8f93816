/*
 * zenvia.c - Zenvia API v2 (SMS and WhatsApp).
 *
 * Send: POST {base_url}/v2/channels/{sms|whatsapp}/messages with X-API-TOKEN and a JSON body
 * {"from", "to", "contents": [...]}: one text content, or for a WhatsApp survey outside the
 * session an approved template, {"type":"template","templateId", "fields": {name: value}}.  The
 * 200 answer is the message with its `id`; errors are {"code", "message", "details"}.  Numbers go
 * out as bare digits ("34600111222"), without the '+'.
 *
 * Webhooks: POST /webhooks/zenvia, one JSON event per request: MESSAGE (direction IN: the
 * customer wrote; OUT: an echo of our own send) and MESSAGE_STATUS (the delivery of a message we
 * sent, by its messageId).  Zenvia does not sign webhooks, so the subscription is created with a
 * custom header X-Gateway-Token carrying [provider.zenvia] webhook_token; a request without that
 * secret is refused before its body is parsed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "provider.h"

#define ZENVIA_VALUE_LEN 256
#define ZENVIA_FIELD_LEN 64     /* a template field name */

struct zenvia {
	char api_token[ZENVIA_VALUE_LEN];
	char from[ZENVIA_VALUE_LEN];
	char base_url[ZENVIA_VALUE_LEN];
	char webhook_token[ZENVIA_VALUE_LEN];
};

static const struct config_key zenvia_keys[] = {
	{ "api_token", CFG_STRING, NULL,
	  "API token, sent as X-API-TOKEN (set it with GATEWAY_PROVIDER_ZENVIA_API_TOKEN)" },
	{ "from", CFG_STRING, NULL, "sender identifier registered with Zenvia" },
	{ "base_url", CFG_URL, "https://api.zenvia.com", "API base URL" },
	{ "webhook_token", CFG_STRING, NULL,
	  "secret the webhook subscription sends as X-Gateway-Token (Zenvia does not sign webhooks)" },
	{ NULL, 0, NULL, NULL },
};

static int zenvia_init(struct provider *p, const struct config_section *cfg, struct gw_err *err)
{
	struct zenvia *z = p->priv;

	if (provider_config_copy(p, cfg, "api_token", z->api_token, sizeof(z->api_token), err) < 0 ||
	    provider_config_copy(p, cfg, "from", z->from, sizeof(z->from), err) < 0 ||
	    provider_config_copy(p, cfg, "base_url", z->base_url, sizeof(z->base_url), err) < 0 ||
	    provider_config_copy(p, cfg, "webhook_token", z->webhook_token,
				 sizeof(z->webhook_token), err) < 0)
		return -1;
	if (!z->api_token[0])
		return gw_errf(err, "[provider.zenvia] api_token: required when a channel uses zenvia");
	if (!z->from[0])
		return gw_errf(err, "[provider.zenvia] from: required (the sender identifier)");
	if (!z->webhook_token[0])
		return gw_errf(err, "[provider.zenvia] webhook_token: required: Zenvia does not sign "
			       "webhooks, so without this secret no webhook can be trusted");
	return 0;
}

/* ---- send ----------------------------------------------------------------------------------- */

/* {"type":"text","text": body}; NULL when out of memory or body is not UTF-8. */
static json_t *text_content(const char *body)
{
	return json_pack("{s:s, s:s}", "type", "text", "text", body);
}

/*
 * {"type":"template","templateId": id, "fields": {...}}: the field names are the words of
 * [templates.zenvia] params (default "name, brand"), read the same way provider_template_params()
 * reads them, so name i gets value i.  NULL with err set on failure.
 */
static json_t *template_content(const struct provider *p, const struct outbound *msg,
				const char *template_id, struct gw_err *err)
{
	const char *vals[TEMPLATE_MAX_PARAMS];
	size_t n = provider_template_params(p, msg, vals);
	const char *list = config_get(p->templates, "params");
	json_t *fields = json_object(), *content = NULL;
	char name[ZENVIA_FIELD_LEN];

	if (!list || !*list)
		list = "name, brand";
	for (size_t i = 0; fields && i < n; i++) {
		size_t len;

		list += strspn(list, " ,");
		len = strcspn(list, " ,");
		if (len >= sizeof(name)) {
			gw_errf(err, "[templates.zenvia] params: a field name is longer than %zu "
				"characters", sizeof(name) - 1);
			goto out;
		}
		memcpy(name, list, len);
		name[len] = '\0';
		list += len;
		if (json_object_set_new(fields, name, json_string(vals[i])) < 0) {
			gw_errf(err, "template field %s: value is not valid UTF-8", name);
			goto out;
		}
	}
	if (!fields || !(content = json_pack("{s:s, s:s, s:O}", "type", "template", "templateId",
					     template_id, "fields", fields)))
		gw_errf(err, "cannot build the Zenvia template content (template id not UTF-8?)");
out:
	json_decref(fields);
	return content;
}

static int zenvia_build_send(struct provider *p, const struct outbound *msg,
			     struct http_request *out, struct gw_err *err)
{
	struct zenvia *z = p->priv;
	const char *to = msg->to, *template_id = NULL;
	json_t *content = NULL, *root = NULL;
	char *text = NULL;
	int rc = -1;

	if (msg->channel != CHANNEL_SMS && msg->channel != CHANNEL_WHATSAPP) {
		gw_errf(err, "Zenvia sends only sms and whatsapp");
		goto out;
	}
	/* Zenvia wants the bare digits ("5511999999999"). */
	if (to && *to == '+')
		to++;
	if (!to || !*to || strspn(to, "0123456789") != strlen(to)) {
		gw_errf(err, "to must be E.164, e.g. +34600111222");
		goto out;
	}
	/* Outside the WhatsApp session only an approved template may open the conversation. */
	if (msg->channel == CHANNEL_WHATSAPP && msg->purpose == PURPOSE_SURVEY && !msg->in_session)
		template_id = provider_template(p, msg);
	if (template_id)
		content = template_content(p, msg, template_id, err);
	else if (!(content = text_content(msg->body)))
		gw_errf(err, "message body is not valid UTF-8");
	if (!content)
		goto out;
	if (!(root = json_pack("{s:s, s:s, s:[O]}", "from", z->from, "to", to, "contents",
			       content)) ||
	    !(text = json_dumps(root, JSON_COMPACT))) {
		gw_errf(err, "cannot build the Zenvia request (out of memory?)");
		goto out;
	}
	if (buf_printf(&out->url, "%s/v2/channels/%s/messages", z->base_url,
		       channel_name(msg->channel)) < 0 ||
	    buf_puts(&out->body, text) < 0 ||
	    provider_request_header(out, "X-API-TOKEN", z->api_token) < 0 ||
	    provider_request_header(out, "Content-Type", "application/json") < 0 ||
	    provider_request_header(out, "Accept", "application/json") < 0) {
		gw_errf(err, "message too large for one Zenvia request");
		goto out;
	}
	rc = 0;
out:
	free(text);
	json_decref(root);
	json_decref(content);
	return rc;
}

/*
 * Fills error_code/error_message from Zenvia's error object: {"code":"VALIDATION_ERROR",
 * "message":"Validation error","details":[...]}.  The OpenAPI spec's Error Object calls the text
 * `description` (zenvia-openapi-spec spec/components/schemas/error/base.ts): either is read.
 */
static void read_error(const char *body, size_t len, struct send_outcome *out)
{
	json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	json_t *code = json_object_get(root, "code");
	json_t *msg = json_object_get(root, "message");

	if (!json_is_string(msg))
		msg = json_object_get(root, "description");

	if (json_is_string(code))
		snprintf(out->error_code, sizeof(out->error_code), "%s", json_string_value(code));
	if (json_is_string(msg))
		snprintf(out->error_message, sizeof(out->error_message), "%s", json_string_value(msg));
	json_decref(root);
}

/*
 * 2xx: accepted, with the message `id` the status webhooks will name.  No answer, 429 and 5xx:
 * transient.  Any other 4xx (400 validation, 401 token, 404 channel or sender unknown, ...):
 * permanent, sending the same request again cannot succeed; 401 also stops the provider.
 */
static enum send_result zenvia_parse_send_response(struct provider *p, long status,
						   const char *body, size_t len,
						   struct send_outcome *out)
{
	json_t *root, *id;

	if (status >= 200 && status < 300) {
		root = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
		id = json_object_get(root, "id");
		if (json_is_string(id))
			snprintf(out->provider_message_id, sizeof(out->provider_message_id), "%s",
				 json_string_value(id));
		json_decref(root);
		/* Accepted even without a readable id: sending again would text the customer twice. */
		return SEND_ACCEPTED;
	}
	read_error(body, len, out);
	if (status == 0) {
		snprintf(out->error_code, sizeof(out->error_code), "network");
		if (!out->error_message[0])
			snprintf(out->error_message, sizeof(out->error_message), "no answer from Zenvia");
		return SEND_TRANSIENT;
	}
	if (status == 401)
		out->flags |= SEND_AUTH_FAILED;
	if (!out->error_code[0])
		snprintf(out->error_code, sizeof(out->error_code), "http_%ld", status);
	if (!out->error_message[0])
		snprintf(out->error_message, sizeof(out->error_message), "Zenvia answered HTTP %ld",
			 status);
	/*
	 * 409 DUPLICATED: Zenvia already holds this very message and refuses the copy.  Not
	 * SEND_ACCEPTED: the answer carries no message id, so no status webhook could ever be
	 * matched to this send and it would wait as "sent" with nothing to track.  Not transient:
	 * the same request would be refused again.  Permanent, with Zenvia's code, so an operator
	 * sees it (the customer may well have the original).
	 */
	if (status == 409)
		return SEND_PERMANENT;
	return (status == 429 || status >= 500) ? SEND_TRANSIENT : SEND_PERMANENT;
}

/* ---- webhooks ------------------------------------------------------------------------------- */

/* The string member `key` of `obj`, or NULL (also for a string holding a NUL byte, which the
 * webhook parser allows only so that a customer's text keeps its exact bytes). */
static const char *string_member(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	return s && strlen(s) == json_string_length(v) ? s : NULL;
}

/* "sms" / "whatsapp", else CHANNEL_ANY. */
static enum channel read_channel(const char *name)
{
	enum channel ch;

	return channel_from_name(name, &ch) == 0 ? ch : CHANNEL_ANY;
}

/* message.from: all digits → "+digits" (Zenvia drops the '+'), else as given.  -1 when empty or
 * too long for PHONE_LEN. */
static int read_from(const char *v, char out[PHONE_LEN])
{
	size_t len = v ? strlen(v) : 0;
	int digits = len && strspn(v, "0123456789") == len;

	if (!len || len + (size_t)digits >= PHONE_LEN)
		return -1;
	snprintf(out, PHONE_LEN, "%s%s", digits ? "+" : "", v);
	return 0;
}

/*
 * The event's text: the first content of type "text" (its exact bytes, NULs included), else
 * "[type]" of the first content with not_text set: a picture or a file is stored, never answered.
 * 0, or -1 when out of memory.
 */
static int read_text(const json_t *contents, struct event *ev)
{
	const json_t *c, *text;
	const char *type;
	size_t i, n;

	json_array_foreach(contents, i, c) {
		type = string_member(c, "type");
		text = json_object_get(c, "text");
		if (type && strcmp(type, "text") == 0 && json_is_string(text)) {
			n = json_string_length(text);
			if (!(ev->text = malloc(n + 1)))
				return -1;
			memcpy(ev->text, json_string_value(text), n);
			ev->text[n] = '\0';
			ev->text_len = n;
			return 0;
		}
	}
	type = string_member(json_array_get(contents, 0), "type");
	if (!type || !*type)
		type = "unknown";
	n = strlen(type) + 2;
	if (!(ev->text = malloc(n + 1)))
		return -1;
	snprintf(ev->text, n + 1, "[%s]", type);
	ev->text_len = n;
	ev->not_text = 1;
	return 0;
}

/*
 * A MESSAGE event: the customer's message (direction IN) as one EVENT_INBOUND, known by its own
 * id, message.id (Zenvia's "Message Object"; the event's id names one delivery of the event).  A
 * message without one could never be told from its redelivery: refused, nothing kept.
 */
static int parse_message(const json_t *root, struct event_list *out, struct webhook_reply *reply)
{
	const json_t *message = json_object_get(root, "message");
	const char *direction = string_member(root, "direction");
	const char *channel = string_member(root, "channel");
	const char *id;
	struct event *ev;

	if (!direction)
		direction = string_member(message, "direction");
	/* Only IN is the customer: OUT is the echo of one of our own sends, and taking it for a
	 * reply would have the gateway answer itself. */
	if (!direction || strcmp(direction, "IN") != 0)
		return 0;
	if (!json_is_object(message))
		return webhook_fail(reply, 400, "missing_field", "message",
				    "message is required in a MESSAGE event");
	if (!provider_id_usable(id = string_member(message, "id")))
		return webhook_fail(reply, 400, "missing_field", "message.id",
				    "message.id is required: not empty or blank, up to 127 "
				    "characters");
	if (!channel)
		channel = string_member(message, "channel");
	if (!(ev = event_list_add(out)))
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	ev->type = EVENT_INBOUND;
	ev->channel = read_channel(channel);
	snprintf(ev->provider_message_id, sizeof(ev->provider_message_id), "%s", id);
	if (read_from(string_member(message, "from"), ev->from) < 0)
		return webhook_fail(reply, 400, "missing_field", "message.from",
				    "message.from is required (a phone number, up to 23 characters)");
	if (read_text(json_object_get(message, "contents"), ev) < 0)
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	return 0;
}

/* Zenvia's messageStatus codes; 0 and the status, or -1 for codes that say nothing new. */
static int read_status(const char *s, enum delivery_status *out)
{
	static const struct { const char *code; enum delivery_status st; } map[] = {
		{ "SENT", DELIVERY_SENT }, { "DELIVERED", DELIVERY_DELIVERED },
		{ "READ", DELIVERY_READ }, { "NOT_DELIVERED", DELIVERY_FAILED },
		{ "REJECTED", DELIVERY_FAILED },
	};

	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].code) == 0)
			return *out = map[i].st, 0;
	return -1;
}

/* A MESSAGE_STATUS event: one EVENT_STATUS for the message our send got `messageId` for. */
static int parse_message_status(const json_t *root, struct event_list *out,
				struct webhook_reply *reply)
{
	const char *mid = string_member(root, "messageId");
	const json_t *st = json_object_get(root, "messageStatus");
	const char *code = string_member(st, "code");
	const char *desc = string_member(st, "description");
	enum delivery_status status;
	struct event *ev;

	if (!provider_id_usable(mid))
		return webhook_fail(reply, 400, "missing_field", "messageId",
				    "messageId is required: not empty or blank, up to 127 characters");
	if (!code)
		return webhook_fail(reply, 400, "missing_field", "messageStatus.code",
				    "messageStatus.code is required");
	if (read_status(code, &status) < 0)
		return 0;
	if (!(ev = event_list_add(out)))
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	ev->type = EVENT_STATUS;
	ev->channel = read_channel(string_member(root, "channel"));
	ev->status = status;
	snprintf(ev->provider_message_id, sizeof(ev->provider_message_id), "%s", mid);
	if (status == DELIVERY_FAILED) {
		snprintf(ev->error_code, sizeof(ev->error_code), "%s", code);
		if (desc)
			snprintf(ev->error_message, sizeof(ev->error_message), "%s", desc);
	}
	return 0;
}

static int zenvia_parse_webhook(struct provider *p, const struct http_req_view *req,
				struct event_list *out, struct webhook_reply *reply)
{
	struct zenvia *z = p->priv;
	const char *token, *type, *id;
	json_t *root = NULL;
	int rc = -1;

	if (strcmp(req->path, "/webhooks/zenvia") != 0)
		return webhook_fail(reply, 404, "not_found", "", "no such Zenvia webhook");
	token = req->header(req, "X-Gateway-Token");
	if (!token || !*token)
		return webhook_fail(reply, 403, "missing_token", "X-Gateway-Token",
				    "X-Gateway-Token header is required");
	if (!ct_streq(token, z->webhook_token))
		return webhook_fail(reply, 403, "invalid_token", "X-Gateway-Token",
				    "X-Gateway-Token does not match [provider.zenvia] webhook_token");
	/* JSON_ALLOW_NUL: a customer's text is kept byte for byte, "\u0000" included. */
	root = json_loadb(req->body ? req->body : "", req->body ? req->body_len : 0,
			  JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (!json_is_object(root)) {
		webhook_fail(reply, 400, "invalid_json", "", "body must be a JSON object");
		goto out;
	}
	type = string_member(root, "type");
	id = string_member(root, "id");
	if (!type || !*type) {
		webhook_fail(reply, 400, "missing_field", "type", "type is required");
		goto out;
	}
	if (!provider_id_usable(id)) {
		webhook_fail(reply, 400, "missing_field", "id",
			     "id is required: not empty or blank, up to 127 characters");
		goto out;
	}
	if (strcmp(type, "MESSAGE") == 0 && parse_message(root, out, reply) < 0)
		goto out;
	if (strcmp(type, "MESSAGE_STATUS") == 0 && parse_message_status(root, out, reply) < 0)
		goto out;
	reply->status = 200;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

const struct provider_ops zenvia_ops = {
	.name = "zenvia",
	.caps = PROVIDER_CAP_TEMPLATES,
	.priv_size = sizeof(struct zenvia),
	.keys = zenvia_keys,
	.default_rate = "10/s",
	.init = zenvia_init,
	.build_send = zenvia_build_send,
	.parse_send_response = zenvia_parse_send_response,
	.parse_webhook = zenvia_parse_webhook,
};
