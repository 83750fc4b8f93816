/*
 * meta.c - WhatsApp Business Platform, Cloud API (Meta's Graph API).
 *
 * Send: POST {base_url}/{graph_version}/{phone_number_id}/messages with a JSON body and
 * "Authorization: Bearer {access_token}".  Within the 24-hour customer-service window the text
 * goes out as it is (`type: "text"`); outside it WhatsApp takes only an approved template
 * (`type: "template"`), named in [templates.meta] as "template_name, language_code".  The 200
 * answer carries the message id (a "wamid."); errors carry Graph's numeric `error.code`, which
 * alone decides what a failure means (developers.facebook.com/docs/whatsapp/cloud-api/support/
 * error-codes).
 *
 * Webhooks: GET /webhooks/meta is the subscription handshake (hub.mode, hub.verify_token,
 * hub.challenge).  POST /webhooks/meta carries messages and delivery statuses, any number of them
 * in entry[].changes[].value, signed with X-Hub-Signature-256 (HMAC-SHA256 of the raw body under
 * the app secret).  A POST with a bad or missing signature is refused before any of its content is
 * looked at.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "provider.h"

#define META_VALUE_LEN 256
#define META_TOKEN_LEN 1024
#define META_PATH "/webhooks/meta"
#define SIGNATURE_PREFIX "sha256="

struct meta {
	char phone_number_id[64];
	char access_token[META_TOKEN_LEN];
	char app_secret[META_VALUE_LEN];
	char verify_token[META_VALUE_LEN];
	char graph_version[16];
	char base_url[META_VALUE_LEN];
	char authorization[META_TOKEN_LEN + 8];     /* "Bearer {access_token}" */
};

static const struct config_key meta_keys[] = {
	{ "phone_number_id", CFG_STRING, NULL,
	  "WhatsApp Business phone number id (not the number), from WhatsApp Manager" },
	{ "access_token", CFG_STRING, NULL,
	  "Graph API access token, a system user's (set it with GATEWAY_PROVIDER_META_ACCESS_TOKEN)" },
	{ "app_secret", CFG_STRING, NULL,
	  "app secret; signs webhooks (X-Hub-Signature-256)" },
	{ "verify_token", CFG_STRING, NULL,
	  "token for the GET /webhooks/meta handshake (unset: the handshake is refused)" },
	{ "graph_version", CFG_STRING, "v23.0", "Graph API version" },
	{ "base_url", CFG_URL, "https://graph.facebook.com", "Graph API base URL" },
	{ NULL, 0, NULL, NULL },
};

/* ---- init ------------------------------------------------------------------------------ */

/* 1 for "v" digits "." digits, the form of every Graph API version ("v23.0"). */
static int graph_version_valid(const char *v)
{
	size_t major, minor;

	if (v[0] != 'v')
		return 0;
	major = strspn(v + 1, "0123456789");
	if (!major || v[1 + major] != '.')
		return 0;
	minor = strspn(v + 2 + major, "0123456789");
	return minor && v[2 + major + minor] == '\0';
}

static int meta_init(struct provider *p, const struct config_section *cfg, struct gw_err *err)
{
	struct meta *m = p->priv;
	const struct {
		const char *key;
		char *dst;
		size_t n;
		int required;
	} values[] = {
		{ "phone_number_id", m->phone_number_id, sizeof(m->phone_number_id), 1 },
		{ "access_token", m->access_token, sizeof(m->access_token), 1 },
		{ "app_secret", m->app_secret, sizeof(m->app_secret), 1 },
		{ "verify_token", m->verify_token, sizeof(m->verify_token), 0 },
		{ "graph_version", m->graph_version, sizeof(m->graph_version), 0 },
		{ "base_url", m->base_url, sizeof(m->base_url), 0 },
	};
	size_t len;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (provider_config_copy(p, cfg, values[i].key, values[i].dst, values[i].n, err) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (values[i].required && !values[i].dst[0])
			return gw_errf(err, "[provider.meta] %s: required when a channel uses meta",
				       values[i].key);
	if (!graph_version_valid(m->graph_version))
		return gw_errf(err, "[provider.meta] graph_version: '%s' is not a Graph API version "
			       "(e.g. v23.0)", m->graph_version);
	/* A hand-made section skips CFG_URL's normalisation: drop the trailing slash here too. */
	len = strlen(m->base_url);
	while (len && m->base_url[len - 1] == '/')
		m->base_url[--len] = '\0';
	if (!len)
		return gw_errf(err, "[provider.meta] base_url: required (default "
			       "https://graph.facebook.com)");
	snprintf(m->authorization, sizeof(m->authorization), "Bearer %s", m->access_token);
	return 0;
}

/* ---- build_send ------------------------------------------------------------------------ */

/* The [templates.meta] key provider_template() reads for msg: "nps.pt" when set, else "nps.es". */
static void template_key(const struct provider *p, const struct outbound *msg, char *out, size_t n)
{
	const char *locale = msg->locale ? msg->locale : "es";
	const char *v;

	snprintf(out, n, "%s.%s", kind_name(msg->kind), locale);
	if (!(v = config_get(p->templates, out)) || !*v)
		snprintf(out, n, "%s.es", kind_name(msg->kind));
}

static int missing_template(const struct outbound *msg, struct gw_err *err)
{
	const char *locale = msg->locale ? msg->locale : "es";
	const char *kind = kind_name(msg->kind);

	if (strcmp(locale, "es") == 0)
		return gw_errf(err, "[templates.meta] %s.es: not set; outside the 24-hour WhatsApp "
			       "session a survey goes out only as an approved template "
			       "(\"template_name, language_code\")", kind);
	return gw_errf(err, "[templates.meta] %s.%s (or %s.es): not set; outside the 24-hour "
		       "WhatsApp session a survey goes out only as an approved template "
		       "(\"template_name, language_code\")", kind, locale, kind);
}

/* Copies s[0..len) with the blanks around it trimmed into out; -1 when it does not fit. */
static int copy_trimmed(const char *s, size_t len, char *out, size_t n)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= n)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/*
 * Splits a [templates.meta] value, "encuesta_nps, es" or just "encuesta_nps" (the language is
 * then the message's locale), into the template's name and language code.  0, or -1 with err
 * naming the key.
 */
static int template_split(const struct provider *p, const struct outbound *msg, const char *value,
			  char *name, size_t name_n, char *lang, size_t lang_n, struct gw_err *err)
{
	const char *comma = strchr(value, ',');
	size_t name_len = comma ? (size_t)(comma - value) : strlen(value);
	char key[32];

	if (copy_trimmed(value, name_len, name, name_n) < 0 ||
	    copy_trimmed(comma ? comma + 1 : "", comma ? strlen(comma + 1) : 0, lang, lang_n) < 0 ||
	    !name[0] || strpbrk(name, " \t") || strpbrk(lang, ", \t"))
		goto bad;
	if (!lang[0])
		snprintf(lang, lang_n, "%s", msg->locale && *msg->locale ? msg->locale : "es");
	return 0;
bad:
	template_key(p, msg, key, sizeof(key));
	return gw_errf(err, "[templates.meta] %s: '%s' is not \"template_name, language_code\" "
		       "(e.g. encuesta_nps, es)", key, value);
}

/* {"type":"text","text":{"body":...,"preview_url":false}}: free-form, within the session. */
static json_t *text_message(const struct outbound *msg, const char *to, struct gw_err *err)
{
	json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:b}}",
				 "messaging_product", "whatsapp", "recipient_type", "individual",
				 "to", to, "type", "text",
				 "text", "body", msg->body ? msg->body : "", "preview_url", 0);

	if (!root)
		gw_errf(err, "message body is not valid UTF-8 (or out of memory)");
	return root;
}

/*
 * {"type":"template","template":{"name","language":{"code"},"components":[{"type":"body",
 * "parameters":[{"type":"text","text":...}, ...]}]}}: an approved template, outside the session.
 * A template without parameters is sent without components.
 */
static json_t *template_message(const struct provider *p, const struct outbound *msg,
				const char *to, const char *value, struct gw_err *err)
{
	const char *vals[TEMPLATE_MAX_PARAMS];
	size_t n = provider_template_params(p, msg, vals);
	char name[512], lang[32];
	json_t *root = NULL, *params = NULL, *components;

	if (template_split(p, msg, value, name, sizeof(name), lang, sizeof(lang), err) < 0)
		return NULL;
	root = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}}",
			 "messaging_product", "whatsapp", "recipient_type", "individual",
			 "to", to, "type", "template",
			 "template", "name", name, "language", "code", lang);
	if (!root || !(params = json_array()))
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(params, json_pack("{s:s, s:s}", "type", "text", "text",
							     vals[i])) < 0)
			goto bad;
	if (n) {
		components = json_pack("[{s:s, s:O}]", "type", "body", "parameters", params);
		if (json_object_set_new(json_object_get(root, "template"), "components",
					components) < 0)
			goto bad;
	}
	json_decref(params);
	return root;
bad:
	json_decref(params);
	json_decref(root);
	gw_errf(err, "template name, customer name or brand is not valid UTF-8 (or out of memory)");
	return NULL;
}

/*
 * A survey outside the 24-hour session goes out as the kind's approved template; without one it
 * cannot be sent at all (Meta would refuse it with 131047), and the error names the key to set.
 * Everything else is free-form text: within the session, and thanks and re-prompts always (they
 * answer a message the customer has just sent, and [templates.meta] holds only the survey's
 * question, which must never go out as a thank-you).
 */
static int meta_build_send(struct provider *p, const struct outbound *msg,
			   struct http_request *out, struct gw_err *err)
{
	struct meta *m = p->priv;
	int needs_template = msg->purpose == PURPOSE_SURVEY && !msg->in_session;
	const char *tmpl = needs_template ? provider_template(p, msg) : NULL;
	json_t *root = NULL;
	char *text = NULL;
	int rc = -1;

	/* `to` is the number's digits, as in Graph's own request examples. */
	if (!phone_is_e164(msg->to)) {
		gw_errf(err, "to: '%s' is not an E.164 number", msg->to ? msg->to : "");
		goto out;
	}
	if (needs_template && !tmpl) {
		missing_template(msg, err);
		goto out;
	}
	root = tmpl ? template_message(p, msg, msg->to + 1, tmpl, err)
		    : text_message(msg, msg->to + 1, err);
	if (!root)
		goto out;
	if (!(text = json_dumps(root, JSON_COMPACT))) {
		gw_errf(err, "out of memory");
		goto out;
	}
	if (buf_printf(&out->url, "%s/%s/%s/messages", m->base_url, m->graph_version,
		       m->phone_number_id) < 0 ||
	    buf_puts(&out->body, text) < 0 ||
	    provider_request_header(out, "Authorization", m->authorization) < 0 ||
	    provider_request_header(out, "Content-Type", "application/json") < 0) {
		gw_errf(err, "message too large for one Meta request");
		goto out;
	}
	rc = 0;
out:
	free(text);
	json_decref(root);
	return rc;
}

/* ---- parse_send_response --------------------------------------------------------------- */

/* What Graph's error codes mean for a send (cloud-api/support/error-codes). */
static const struct {
	long long code;
	enum send_result result;
	unsigned flags;
	int retry_after_s;
} graph_errors[] = {
	/* Re-engagement: more than 24 hours since the customer's last message. */
	{ 131047, SEND_PERMANENT, SEND_NEEDS_TEMPLATE, 0 },
	/* Undeliverable: not on WhatsApp, an old app, terms not accepted. */
	{ 131026, SEND_PERMANENT, 0, 0 },
	/* Throughput, the app's call rate, the account's rate: back off and try again. */
	{ 130429, SEND_TRANSIENT, 0, 0 },
	{ 4, SEND_TRANSIENT, 0, 0 },
	{ 80007, SEND_TRANSIENT, 0, 0 },
	/* Pair rate limit: too many messages to this one number; about one per 6 seconds. */
	{ 131056, SEND_TRANSIENT, 0, 6 },
	/* "Not delivered to maintain healthy ecosystem engagement": Meta asks not to retry within
	 * 24 hours, and a survey a day late about a conversation is not worth sending. */
	{ 131049, SEND_PERMANENT, 0, 0 },
	/* The customer stopped marketing messages from this business. */
	{ 131050, SEND_PERMANENT, SEND_OPTED_OUT, 0 },
	/* Access token invalid or expired. */
	{ 190, SEND_PERMANENT, SEND_AUTH_FAILED, 0 },
	/* Invalid parameter, template parameter count, template translation missing. */
	{ 100, SEND_PERMANENT, SEND_CONFIG_ERROR, 0 },
	{ 132000, SEND_PERMANENT, SEND_CONFIG_ERROR, 0 },
	{ 132001, SEND_PERMANENT, SEND_CONFIG_ERROR, 0 },
};

/* Reads Graph's {"error":{"code":N,"message":...}}; 1 and the code in *code when there is one. */
static int read_error(const char *body, size_t len, struct send_outcome *out, long long *code)
{
	json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
	json_t *error = json_object_get(root, "error");
	json_t *c = json_object_get(error, "code"), *msg = json_object_get(error, "message");
	int found = json_is_integer(c);

	if (found) {
		*code = (long long)json_integer_value(c);
		snprintf(out->error_code, sizeof(out->error_code), "%lld", *code);
	}
	if (json_is_string(msg))
		snprintf(out->error_message, sizeof(out->error_message), "%s", json_string_value(msg));
	json_decref(root);
	return found;
}

/*
 * 2xx: accepted, with messages[0].id.  Otherwise Graph's error code decides (graph_errors[],
 * never the message text, which Meta rewords); an unknown code or no code at all: no answer, 429
 * and 5xx are transient, any other status permanent.
 */
static enum send_result meta_parse_send_response(struct provider *p, long status, const char *body,
						 size_t len, struct send_outcome *out)
{
	json_t *root, *first;
	long long code = 0;

	if (status >= 200 && status < 300) {
		root = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
		first = json_array_get(json_object_get(root, "messages"), 0);
		if (json_is_string(json_object_get(first, "id")))
			snprintf(out->provider_message_id, sizeof(out->provider_message_id), "%s",
				 json_string_value(json_object_get(first, "id")));
		if (json_is_string(json_object_get(first, "message_status")))
			snprintf(out->status, sizeof(out->status), "%s",
				 json_string_value(json_object_get(first, "message_status")));
		json_decref(root);
		/* Accepted even without a readable id: sending again would text the customer twice. */
		return SEND_ACCEPTED;
	}
	if (status == 0) {
		snprintf(out->error_code, sizeof(out->error_code), "network");
		snprintf(out->error_message, sizeof(out->error_message), "no answer from Meta");
		return SEND_TRANSIENT;
	}
	/* Graph's own message, when there is one, replaces this. */
	snprintf(out->error_message, sizeof(out->error_message), "Meta answered HTTP %ld", status);
	if (read_error(body, len, out, &code)) {
		for (size_t i = 0; i < sizeof(graph_errors) / sizeof(graph_errors[0]); i++) {
			if (graph_errors[i].code == code) {
				out->flags = graph_errors[i].flags;
				out->retry_after_s = graph_errors[i].retry_after_s;
				return graph_errors[i].result;
			}
		}
	} else {
		snprintf(out->error_code, sizeof(out->error_code), "http_%ld", status);
	}
	return (status == 429 || status >= 500) ? SEND_TRANSIENT : SEND_PERMANENT;
}

/* ---- parse_webhook: the GET handshake -------------------------------------------------- */

/* hub.mode=subscribe and our verify_token: answer hub.challenge as plain text. */
static int verify_subscription(const struct meta *m, const struct http_req_view *req,
			       struct webhook_reply *reply)
{
	const char *mode = req->query ? req->query(req, "hub.mode") : NULL;
	const char *token = req->query ? req->query(req, "hub.verify_token") : NULL;
	const char *challenge = req->query ? req->query(req, "hub.challenge") : NULL;

	if (!m->verify_token[0])
		return webhook_fail(reply, 403, "forbidden", "hub.verify_token",
				    "[provider.meta] verify_token is not set: no handshake can succeed");
	if (!mode || strcmp(mode, "subscribe") != 0 || !ct_streq(token, m->verify_token))
		return webhook_fail(reply, 403, "forbidden", "hub.verify_token",
				    "hub.mode must be subscribe and hub.verify_token must match "
				    "[provider.meta] verify_token");
	if (!challenge || !*challenge)
		return webhook_fail(reply, 400, "missing_field", "hub.challenge",
				    "hub.challenge is required");
	if (buf_puts(&reply->body, challenge) < 0)
		return webhook_fail(reply, 400, "invalid_field", "hub.challenge",
				    "hub.challenge is too long");
	reply->status = 200;
	reply->content_type = "text/plain";
	return 0;
}

/* ---- parse_webhook: messages and statuses ---------------------------------------------- */

/* 1 when the raw body's HMAC-SHA256 under the app secret is `header` ("sha256=" lower hex). */
static int signature_valid(const struct meta *m, const struct http_req_view *req,
			   const char *header)
{
	uint8_t mac[SHA256_LEN];
	char want[sizeof(SIGNATURE_PREFIX) + 2 * SHA256_LEN];

	if (hmac_sha256(m->app_secret, strlen(m->app_secret), req->body ? req->body : "",
			req->body ? req->body_len : 0, mac) < 0)
		return 0;
	memcpy(want, SIGNATURE_PREFIX, sizeof(SIGNATURE_PREFIX) - 1);
	hex_encode(mac, SHA256_LEN, want + sizeof(SIGNATURE_PREFIX) - 1);
	return ct_streq(want, header);
}

/* A score a button or row id carries: the whole id ("9") or its tail after '_', '-' or ':'
 * ("nps_9"), a whole number 0..10; -1 when it carries none. */
static int score_in_id(const char *id, size_t len)
{
	size_t start = len;
	int v = 0;

	while (start && id[start - 1] >= '0' && id[start - 1] <= '9')
		start--;
	if (start == len || len - start > 2)
		return -1;
	if (start && id[start - 1] != '_' && id[start - 1] != '-' && id[start - 1] != ':')
		return -1;
	for (size_t i = start; i < len; i++)
		v = v * 10 + (id[i] - '0');
	return v <= 10 ? v : -1;
}

/* An interactive reply's text: the score its id carries, else its title.  -1 for other kinds
 * (a flow's nfm_reply, ...). */
static int interactive_text(json_t *inter, char num[4], const char **text, size_t *len)
{
	const char *kind = json_string_value(json_object_get(inter, "type"));
	json_t *answer, *id, *title;
	int score;

	if (!kind || (strcmp(kind, "button_reply") != 0 && strcmp(kind, "list_reply") != 0))
		return -1;
	answer = json_object_get(inter, kind);
	id = json_object_get(answer, "id");
	title = json_object_get(answer, "title");
	if (json_is_string(id) &&
	    (score = score_in_id(json_string_value(id), json_string_length(id))) >= 0) {
		*len = (size_t)snprintf(num, 4, "%d", score);
		*text = num;
		return 0;
	}
	if (!json_is_string(title))
		return -1;
	*text = json_string_value(title);
	*len = json_string_length(title);
	return 0;
}

/* The reply text of a message of `type` (pointing into msg, or into num); -1 when it carries
 * none (an image, a location, a reaction ...). */
static int message_text(json_t *msg, const char *type, char num[4], const char **text,
			size_t *len)
{
	json_t *v = NULL, *button;

	if (strcmp(type, "text") == 0) {
		v = json_object_get(json_object_get(msg, "text"), "body");
	} else if (strcmp(type, "interactive") == 0) {
		return interactive_text(json_object_get(msg, "interactive"), num, text, len);
	} else if (strcmp(type, "button") == 0) {
		/* A template's quick reply: the payload, else the button's label. */
		button = json_object_get(msg, "button");
		v = json_object_get(button, "payload");
		if (!json_is_string(v) || !json_string_length(v))
			v = json_object_get(button, "text");
	}
	if (!json_is_string(v))
		return -1;
	*text = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int read_message(json_t *msg, struct event_list *out, struct webhook_reply *reply)
{
	const char *id = json_string_value(json_object_get(msg, "id"));
	const char *from = json_string_value(json_object_get(msg, "from"));
	const char *type = json_string_value(json_object_get(msg, "type"));
	const char *text = NULL;
	char num[4], placeholder[72], phone[PHONE_LEN];
	size_t len = 0;
	struct event *ev;

	if (!provider_id_usable(id))
		return webhook_fail(reply, 400, "missing_field", "messages[].id",
				    "every message needs an id: not empty or blank, up to 127 "
				    "characters");
	if (!from || strlen(from) >= sizeof(phone) - 1 ||
	    (snprintf(phone, sizeof(phone), "+%s", from), !phone_is_e164(phone)))
		return webhook_fail(reply, 400, "missing_field", "messages[].from",
				    "every message needs a from: the sender's number, digits only");
	if (!type)
		type = "unknown";
	if (!(ev = event_list_add(out)))
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	ev->type = EVENT_INBOUND;
	ev->channel = CHANNEL_WHATSAPP;
	snprintf(ev->provider_message_id, sizeof(ev->provider_message_id), "%s", id);
	memcpy(ev->from, phone, sizeof(phone));
	if (message_text(msg, type, num, &text, &len) < 0) {
		/* Kept as "[image]" so the conversation shows something was sent; never answered. */
		ev->not_text = 1;
		len = (size_t)snprintf(placeholder, sizeof(placeholder), "[%.64s]", type);
		text = placeholder;
	}
	/* The exact bytes: a text may hold NUL (\u0000), which json_string_length() counts. */
	if (!(ev->text = malloc(len + 1)))
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	if (len)
		memcpy(ev->text, text, len);
	ev->text[len] = '\0';
	ev->text_len = len;
	return 0;
}

/* Meta's status words; 0 and the status, or -1 for those that say nothing we record. */
static int status_word(const char *s, enum delivery_status *out)
{
	static const struct { const char *word; enum delivery_status st; } map[] = {
		{ "sent", DELIVERY_SENT }, { "delivered", DELIVERY_DELIVERED },
		{ "read", DELIVERY_READ }, { "failed", DELIVERY_FAILED },
	};

	for (size_t i = 0; s && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].word) == 0)
			return *out = map[i].st, 0;
	return -1;
}

static int read_status(json_t *st, struct event_list *out, struct webhook_reply *reply)
{
	const char *id = json_string_value(json_object_get(st, "id"));
	json_t *error = json_array_get(json_object_get(st, "errors"), 0);
	json_t *code = json_object_get(error, "code");
	json_t *title = json_object_get(error, "title");
	enum delivery_status status;
	struct event *ev;

	if (!provider_id_usable(id))
		return webhook_fail(reply, 400, "missing_field", "statuses[].id",
				    "every status needs an id: not empty or blank, up to 127 "
				    "characters");
	if (status_word(json_string_value(json_object_get(st, "status")), &status) < 0)
		return 0;
	if (!(ev = event_list_add(out)))
		return webhook_fail(reply, 503, "unavailable", "", "out of memory");
	ev->type = EVENT_STATUS;
	ev->channel = CHANNEL_WHATSAPP;
	ev->status = status;
	snprintf(ev->provider_message_id, sizeof(ev->provider_message_id), "%s", id);
	if (json_is_integer(code))
		snprintf(ev->error_code, sizeof(ev->error_code), "%lld",
			 (long long)json_integer_value(code));
	if (!json_is_string(title))
		title = json_object_get(error, "message");
	if (json_is_string(title))
		snprintf(ev->error_message, sizeof(ev->error_message), "%s", json_string_value(title));
	return 0;
}

/* 1 when a change is about another WhatsApp number of the same app (one app may serve several
 * numbers; each gateway answers for its own phone_number_id only). */
static int other_number(const struct meta *m, json_t *value)
{
	json_t *id = json_object_get(json_object_get(value, "metadata"), "phone_number_id");

	return json_is_string(id) && strcmp(json_string_value(id), m->phone_number_id) != 0;
}

/* How the entries of one notification fared. */
struct tally {
	size_t read;            /* messages and statuses read (an event, or nothing to record) */
	size_t refused;         /* refused for what they lack (no id, no sender) */
	struct gw_err first;    /* why the first of those was refused */
};

/*
 * Counts one entry's outcome (`rc` of read_message() or read_status()).  An entry refused for
 * what it lacks is left out and the walk goes on; anything else that failed (out of memory)
 * fails the whole notification: -1 with reply set.
 */
static int count_entry(int rc, struct webhook_reply *reply, struct tally *t)
{
	if (rc == 0) {
		t->read++;
		return 0;
	}
	if (reply->status != 400)
		return -1;
	if (!t->refused++)
		t->first = reply->err;
	reply->status = 0;
	gw_err_clear(&reply->err);
	return 0;
}

/*
 * Walks every entry[].changes[].value: its messages[], then its statuses[].  An entry that lacks
 * its id (or its sender) is left out and the others are kept: Meta answers a non-2xx by sending
 * the whole notification again, for days, and a redelivery could never supply what the entry
 * lacks, while the good entries, stored now, would only be recognised as duplicates.  Only a
 * notification whose every entry is refused is refused (400, the first entry's field), as any
 * other provider's message without an id is.  reply->skipped counts the entries left out.
 */
static int read_notification(const struct meta *m, json_t *root, struct event_list *out,
			     struct webhook_reply *reply)
{
	json_t *entries = json_object_get(root, "entry"), *entry, *change, *item, *value;
	struct tally t = { 0 };
	size_t i, j, k;

	if (!json_is_array(entries))
		return webhook_fail(reply, 400, "missing_field", "entry",
				    "entry must be an array (a WhatsApp Business Account notification)");
	json_array_foreach(entries, i, entry) {
		json_array_foreach(json_object_get(entry, "changes"), j, change) {
			value = json_object_get(change, "value");
			if (other_number(m, value))
				continue;
			json_array_foreach(json_object_get(value, "messages"), k, item)
				if (count_entry(read_message(item, out, reply), reply, &t) < 0)
					return -1;
			json_array_foreach(json_object_get(value, "statuses"), k, item)
				if (count_entry(read_status(item, out, reply), reply, &t) < 0)
					return -1;
		}
	}
	reply->err = t.first;
	if (t.refused && !t.read) {
		reply->status = t.first.http_status;
		return -1;
	}
	reply->skipped = t.refused;
	return 0;
}

static int meta_parse_webhook(struct provider *p, const struct http_req_view *req,
			      struct event_list *out, struct webhook_reply *reply)
{
	struct meta *m = p->priv;
	const char *sig;
	json_t *root = NULL;
	int rc = -1;

	if (strcmp(req->path, META_PATH) != 0)
		return webhook_fail(reply, 404, "not_found", "", "no such Meta webhook");
	if (strcmp(req->method, "GET") == 0)
		return verify_subscription(m, req, reply);
	sig = req->header(req, "X-Hub-Signature-256");
	if (!sig || !*sig)
		return webhook_fail(reply, 403, "missing_signature", "X-Hub-Signature-256",
				    "X-Hub-Signature-256 header is required");
	if (!signature_valid(m, req, sig))
		return webhook_fail(reply, 403, "invalid_signature", "X-Hub-Signature-256",
				    "X-Hub-Signature-256 does not match this body and "
				    "[provider.meta] app_secret");
	/* JSON_ALLOW_NUL: a customer's text may hold \u0000; refusing it would make Meta resend
	 * the whole notification for days. */
	root = json_loadb(req->body ? req->body : "", req->body ? req->body_len : 0, JSON_ALLOW_NUL,
			  NULL);
	if (!json_is_object(root)) {
		webhook_fail(reply, 400, "invalid_json", "", "body must be a JSON object");
		goto out;
	}
	if (read_notification(m, root, out, reply) < 0)
		goto out;
	reply->status = 200;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

const struct provider_ops meta_ops = {
	.name = "meta",
	.caps = PROVIDER_CAP_TEMPLATES | PROVIDER_CAP_WEBHOOK_GET,
	.priv_size = sizeof(struct meta),
	.keys = meta_keys,
	.default_rate = "80/s",
	.init = meta_init,
	.build_send = meta_build_send,
	.parse_send_response = meta_parse_send_response,
	.parse_webhook = meta_parse_webhook,
};
