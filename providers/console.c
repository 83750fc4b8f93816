/*
 * console.c - the local stand-in provider.
 *
 * Outbound messages are printed on standard output, one line each, and count as sent at once.
 * Inbound texts come as POST /webhooks/console with {"from":"+34600111222","text":"9"} (and an
 * optional "channel": "sms" or "whatsapp"); the route is guarded by the gateway's API key, since
 * there is no provider signature to check.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "provider.h"

static const struct config_key console_keys[] = {
	{ NULL, 0, NULL, NULL },
};

static enum send_result console_deliver(struct provider *p, const struct outbound *msg,
					struct send_outcome *out)
{
	printf("[console] to %s (%s): %s\n", msg->to, channel_name(msg->channel), msg->body);
	fflush(stdout);
	snprintf(out->provider_message_id, sizeof(out->provider_message_id), "console-out-%lld",
		 (long long)msg->id);
	snprintf(out->status, sizeof(out->status), "sent");
	return SEND_ACCEPTED;
}

/* Reads {"from","text"[,"channel"][,"id"]}; an id lets a client retry without doubling. */
static int console_parse_webhook(struct provider *p, const struct http_req_view *req,
				 struct event_list *out, struct webhook_reply *reply)
{
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *from, *text, *channel, *id;
	struct event *ev;
	uint8_t rnd[12];
	char hex[25];
	int rc = -1;

	if (!root || !json_is_object(root)) {
		webhook_fail(reply, 400, "invalid_json", "", "body must be a JSON object");
		goto out;
	}
	from = json_object_get(root, "from");
	text = json_object_get(root, "text");
	channel = json_object_get(root, "channel");
	id = json_object_get(root, "id");
	if (!json_is_string(from) || !phone_is_e164(json_string_value(from))) {
		webhook_fail(reply, 422, "invalid_phone", "from",
			     "from must be E.164, e.g. +34600111222");
		goto out;
	}
	if (!json_is_string(text)) {
		webhook_fail(reply, 422, "invalid_text", "text", "text must be a string");
		goto out;
	}
	if (id && (!json_is_string(id) || !provider_id_usable(json_string_value(id)) ||
		   json_string_length(id) >= PROVIDER_ID_LEN - 12)) {
		webhook_fail(reply, 422, "invalid_id", "id",
			     "id must be a short string, not empty or blank");
		goto out;
	}
	if (!(ev = event_list_add(out)))
		goto oom;
	ev->type = EVENT_INBOUND;
	ev->channel = CHANNEL_ANY;
	if (channel && (!json_is_string(channel) ||
			channel_from_name(json_string_value(channel), &ev->channel) < 0)) {
		webhook_fail(reply, 422, "invalid_channel", "channel", "channel must be sms or whatsapp");
		goto out;
	}
	snprintf(ev->from, sizeof(ev->from), "%s", json_string_value(from));
	if (id) {
		snprintf(ev->provider_message_id, sizeof(ev->provider_message_id), "console-in-%s",
			 json_string_value(id));
	} else {
		if (random_bytes(rnd, sizeof(rnd)) < 0)
			goto oom;
		hex_encode(rnd, sizeof(rnd), hex);
		snprintf(ev->provider_message_id, sizeof(ev->provider_message_id), "console-in-%s", hex);
	}
	ev->text_len = json_string_length(text);
	if (!(ev->text = malloc(ev->text_len + 1)))
		goto oom;
	memcpy(ev->text, json_string_value(text), ev->text_len + 1);
	reply->status = 200;
	rc = 0;
	goto out;
oom:
	webhook_fail(reply, 503, "unavailable", "", "out of memory");
out:
	json_decref(root);
	return rc;
}

const struct provider_ops console_ops = {
	.name = "console",
	.caps = PROVIDER_CAP_LOCAL | PROVIDER_CAP_WEBHOOK_API_KEY,
	.keys = console_keys,
	.default_rate = "off",
	.deliver = console_deliver,
	.parse_webhook = console_parse_webhook,
};
