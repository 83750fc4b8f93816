/*
 * provider.h - the neutral interface between the gateway and messaging providers.
 *
 * A provider is one `const struct provider_ops` (designated initializers) listed once in the
 * NULL-terminated registry in provider.c.  The core never looks at a provider's name to decide
 * anything: it calls the ops through the provider_*() wrappers below and asks capability flags.
 *
 * Providers speak wire formats only: they turn neutral sends (`struct outbound`) into HTTP requests
 * (`struct http_request`, no I/O), classify the provider's answers (`struct send_outcome`), and
 * authenticate webhooks and turn them into neutral events (`struct event`).  They never touch the
 * store and never decide survey logic.
 *
 * Life cycle: provider_create() allocates the instance and its private state
 * (`ops->priv_size` bytes, zeroed) and calls init(); provider_free() calls destroy() and frees both.
 * An instance is shared by the HTTP threads (parse_webhook) and the dispatcher (build_send,
 * parse_send_response): after init() the ops must only read the instance.
 */
#ifndef GW_PROVIDER_H
#define GW_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "gwerr.h"
#include "phone.h"
#include "vocab.h"

#define PROVIDER_ID_LEN 128
#define PHONE_LEN 24

/* Capability flags (provider_ops.caps). */
enum {
	PROVIDER_CAP_LOCAL = 1 << 0,          /* delivers with deliver(), no HTTP (console) */
	PROVIDER_CAP_WEBHOOK_API_KEY = 1 << 1, /* webhook is authenticated by the gateway's API key */
	PROVIDER_CAP_TEMPLATES = 1 << 2,      /* sends [templates.NAME] templates outside sessions */
	PROVIDER_CAP_WEBHOOK_GET = 1 << 3,    /* parse_webhook also takes GET (verification) */
};

/* What a message is for; providers may pick a wire form by it (templates for surveys). */
enum outbound_purpose { PURPOSE_SURVEY, PURPOSE_THANKS, PURPOSE_REPROMPT, PURPOSE__COUNT };

/* One message to send.  Every pointer is owned by the caller and valid for the call. */
struct outbound {
	int64_t id;                 /* the gateway's message id (unique, for logs and local ids) */
	enum channel channel;
	enum outbound_purpose purpose;
	const char *to;             /* E.164, "+34600111222" */
	const char *body;           /* UTF-8 text, always set: the free-form version */
	enum survey_kind kind;      /* the survey's kind */
	const char *locale;         /* "es", "pt", "en" */
	const char *name;           /* the customer's name, "" when unknown: a template parameter */
	const char *brand;          /* [survey] brand: a template parameter */
	/* WhatsApp allows free-form text only within 24 hours of the customer's last message; a
	 * provider sends anything else as an approved template (PROVIDER_CAP_TEMPLATES). */
	int in_session;
};

#define HTTP_MAX_HEADERS 8

/* An HTTP request for the dispatcher to perform.  Owned by the dispatcher: provider_request_init()
 * before build_send(), provider_request_release() after. */
struct http_request {
	const char *method;                         /* static string, "POST" */
	struct buf url;
	char *headers[HTTP_MAX_HEADERS];            /* "Name: value", malloc'd */
	size_t n_headers;
	struct buf body;
};

void provider_request_init(struct http_request *r);
void provider_request_release(struct http_request *r);
/* Adds "Name: value"; 0, or -1 when full or out of memory. */
int provider_request_header(struct http_request *r, const char *name, const char *value);

enum send_result {
	SEND_ACCEPTED,      /* the provider took it; provider_message_id is set */
	SEND_TRANSIENT,     /* try again later (network, 429, 5xx) */
	SEND_PERMANENT,     /* never retry (bad number, bad request, auth) */
};

/* What a send's answer means beyond accepted / transient / permanent (send_outcome.flags). */
enum {
	SEND_NEEDS_TEMPLATE = 1 << 0,   /* outside the 24-hour window: send again now, as a template */
	SEND_OPTED_OUT = 1 << 1,        /* the customer refuses these messages: treat as an opt-out */
	SEND_AUTH_FAILED = 1 << 2,      /* credentials refused: stop sending on this provider */
	SEND_CONFIG_ERROR = 1 << 3,     /* template or parameter wrong: an operator must fix it */
};

struct send_outcome {
	char provider_message_id[PROVIDER_ID_LEN];
	char status[24];            /* provider's own status word, e.g. "queued" */
	char error_code[32];        /* provider's code, e.g. "21211" */
	char error_message[256];
	int retry_after_s;          /* SEND_TRANSIENT: wait at least this long (0: backoff only) */
	unsigned flags;             /* SEND_NEEDS_TEMPLATE, ... */
};

/* A read-only view of an incoming webhook request. */
struct http_req_view {
	const char *method;
	const char *path;           /* "/webhooks/twilio/status" */
	const char *url;            /* public URL the provider called: public_url + path [+ "?" query] */
	const char *body;           /* not NUL-terminated for the provider's purposes: use body_len */
	size_t body_len;
	const char *(*header)(const struct http_req_view *req, const char *name); /* NULL when absent */
	const char *(*query)(const struct http_req_view *req, const char *name);  /* decoded, or NULL */
	void *ctx;                  /* for header() and query() */
};

enum event_type { EVENT_INBOUND, EVENT_STATUS };

/* Delivery states, in the order a message moves through them. */
enum delivery_status { DELIVERY_SENT, DELIVERY_DELIVERED, DELIVERY_READ, DELIVERY_FAILED };

#define CHANNEL_ANY ((enum channel)-1)

/* One neutral event from a webhook.  `text` is malloc'd (owned by the list). */
struct event {
	enum event_type type;
	int not_text;                       /* EVENT_INBOUND that is not a reply (an image, ...):
					     * stored, never answered */
	enum channel channel;               /* CHANNEL_ANY when the provider cannot tell */
	char provider_message_id[PROVIDER_ID_LEN];
	char from[PHONE_LEN];               /* E.164 */
	char *text;                         /* EVENT_INBOUND: the customer's text, exact bytes */
	size_t text_len;
	enum delivery_status status;        /* EVENT_STATUS */
	char error_code[32];
	char error_message[256];
};

struct event_list {
	struct event *items;
	size_t n, alloc;
};

void event_list_init(struct event_list *l);
void event_list_release(struct event_list *l);
/* Appends a zeroed event and returns it, or NULL when out of memory. */
struct event *event_list_add(struct event_list *l);

/* What to answer the provider.  On success the provider sets status (200) and may fill body and
 * content_type (Twilio wants TwiML).  On failure it sets a 4xx status and the error members; the
 * gateway answers them as its JSON error.  A notification that carries several entries (Meta)
 * may succeed with some of them left out: `skipped` counts them and `err` then says what was
 * wrong with the first, for the gateway's log. */
struct webhook_reply {
	int status;
	const char *content_type;   /* static string */
	struct buf body;
	struct gw_err err;
	size_t skipped;
};

struct provider;

struct provider_ops {
	const char *name;                       /* "twilio", "meta", "zenvia", "console" */
	unsigned caps;                          /* PROVIDER_CAP_* */
	size_t priv_size;                       /* bytes of private state the core allocates */
	const struct config_key *keys;          /* its [provider.NAME] keys, {NULL} terminated */
	const char *default_rate;               /* pacing when `rate` is not set */
	int (*init)(struct provider *p, const struct config_section *cfg, struct gw_err *err);
	/* Builds the HTTP request for one outbound message; no I/O.  0, or -1 with err set (the
	 * message then fails permanently). */
	int (*build_send)(struct provider *p, const struct outbound *msg, struct http_request *out,
			  struct gw_err *err);
	/* Classifies the provider's answer (status 0: no answer, e.g. connection refused). */
	enum send_result (*parse_send_response)(struct provider *p, long status, const char *body,
						size_t len, struct send_outcome *out);
	/* PROVIDER_CAP_LOCAL providers: deliver at once, no HTTP. */
	enum send_result (*deliver)(struct provider *p, const struct outbound *msg,
				    struct send_outcome *out);
	/* Authenticates a webhook and appends its events.  0 and reply->status 2xx, or -1 with
	 * reply->status 4xx and reply->err set; on -1 no event is kept. */
	int (*parse_webhook)(struct provider *p, const struct http_req_view *req,
			     struct event_list *out, struct webhook_reply *reply);
	void (*destroy)(struct provider *p);
};

struct provider {
	const struct provider_ops *ops;
	const char *public_url;     /* the gateway's public base URL, for callbacks and signatures */
	struct rate rate;
	const struct config_section *templates;  /* [templates.NAME], or NULL */
	void *priv;                 /* ops->priv_size bytes */
};

/* The registry: NULL-terminated. */
extern const struct provider_ops *const providers[];

/* config_load() with every registered provider's [provider.NAME] and [templates.NAME]
 * sections: how the gateway reads its configuration. */
int provider_config_load(struct config *cfg, const char *path, struct gw_err *err);

/* The ops called `name`, or NULL. */
const struct provider_ops *provider_find(const char *name);

/* Creates and initialises an instance from its config section (which may be NULL: all defaults)
 * and its [templates.NAME] section (NULL: none; it must outlive the instance).  NULL with err set
 * on failure. */
struct provider *provider_create(const struct provider_ops *ops, const struct config_section *cfg,
				 const struct config_section *templates, const char *public_url,
				 struct gw_err *err);

/* The [templates.NAME] value for the message's kind and locale ("nps.es"), else for the kind in
 * Spanish, else NULL.  Values are provider-specific (a Meta template "name, language", a Twilio
 * ContentSid, a Zenvia template id). */
const char *provider_template(const struct provider *p, const struct outbound *msg);
void provider_free(struct provider *p);

/* Copies the value of `key` (provider_config(); unset: "") into dst (n bytes) for a provider's
 * init(); -1 with "[provider.NAME] key: ..." in err when it does not fit or holds a control
 * character (values end up in HTTP headers). */
int provider_config_copy(const struct provider *p, const struct config_section *cfg,
			 const char *key, char *dst, size_t n, struct gw_err *err);

/* The value of `key` for a provider's init(): the section's value, else the default in the
 * provider's key table, else NULL.  Valid while `cfg` is. */
const char *provider_config(const struct provider *p, const struct config_section *cfg,
			    const char *key);

#define TEMPLATE_MAX_PARAMS 8

/* The template's body parameters, in order, from [templates.NAME] params (a comma-separated list
 * of "name" and "brand"; default "name, brand"): their values for `msg` into out (at most
 * TEMPLATE_MAX_PARAMS; an unknown word gives ""; a missing name gives "cliente", or "customer"
 * in English), their count as the result.  The values point into `msg` or static text. */
size_t provider_template_params(const struct provider *p, const struct outbound *msg,
				const char *out[TEMPLATE_MAX_PARAMS]);

/* Wrappers the core calls. */
int provider_build_send(struct provider *p, const struct outbound *msg, struct http_request *out,
			struct gw_err *err);
enum send_result provider_parse_send_response(struct provider *p, long status, const char *body,
					      size_t len, struct send_outcome *out);
enum send_result provider_deliver(struct provider *p, const struct outbound *msg,
				  struct send_outcome *out);
int provider_parse_webhook(struct provider *p, const struct http_req_view *req,
			   struct event_list *out, struct webhook_reply *reply);
static inline int provider_has(const struct provider *p, unsigned cap)
{
	return (p->ops->caps & cap) != 0;
}
static inline const char *provider_name(const struct provider *p)
{
	return p->ops->name;
}


/*
 * 1 when `id` (NULL: absent) can name an inbound message or a status: it holds something besides
 * white space and is shorter than PROVIDER_ID_LEN.  Missing, empty and blank ids are all absent:
 * a message without an id could never be told from its own redelivery.
 */
int provider_id_usable(const char *id);

/* Fills a webhook_reply's error in one call: status, code, field, message.  Returns -1. */
int webhook_fail(struct webhook_reply *reply, int status, const char *code, const char *field,
		 const char *msg);

#endif
