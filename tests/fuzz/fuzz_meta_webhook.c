/*
 * fuzz_meta_webhook.c - the Meta (WhatsApp Cloud API) provider's parse_webhook on any POST body.
 *
 * One instance is made at start from a config section built by hand (phone_number_id,
 * access_token, app_secret), as a test would.  Each input is the body of POST /webhooks/meta,
 * handed over as the gateway does (a heap copy of exactly its bytes) with a correct
 * X-Hub-Signature-256 computed for it, so that parsing is reached.  Checked:
 *   - success answers 200; failure answers a 4xx/5xx with an error code and leaves no event;
 *   - every event is WhatsApp's, has a non-empty NUL-terminated message id, and an inbound one has
 *     an E.164 sender and its text NUL-terminated at text_len;
 *   - the same body with the signature's last digit changed, or without the header, is refused
 *     with 403 before anything is parsed.
 */
#include <strings.h>

#include "crypto.h"
#include "fuzz.h"
#include "provider.h"

#define APP_SECRET "fuzz-app-secret"
#define PHONE_NUMBER_ID "106540352242922"   /* the one in tests/fixtures/meta-inbound-*.json */

static struct provider *meta;

struct headers {
	const char *signature;      /* X-Hub-Signature-256, NULL: absent */
};

static const char *view_header(const struct http_req_view *req, const char *name)
{
	const struct headers *h = req->ctx;

	if (strcasecmp(name, "X-Hub-Signature-256") == 0)
		return h->signature;
	if (strcasecmp(name, "Content-Type") == 0)
		return "application/json";
	return NULL;
}

static const char *view_query(const struct http_req_view *req, const char *name)
{
	(void)req;
	(void)name;
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct config_entry entries[] = {
		{ .key = "phone_number_id", .value = PHONE_NUMBER_ID, .origin = "fuzz" },
		{ .key = "access_token", .value = "EAAfuzztoken", .origin = "fuzz" },
		{ .key = "app_secret", .value = APP_SECRET, .origin = "fuzz" },
	};
	static struct config_section section = {
		.name = "provider.meta", .entries = entries, .n = 3,
	};
	struct gw_err err = { 0 };

	(void)argc;
	(void)argv;
	meta = provider_create(provider_find("meta"), &section, NULL, "https://gw.example.com", &err);
	if (!meta) {
		fprintf(stderr, "provider_create(meta): %s\n", err.msg);
		abort();
	}
	return 0;
}

/* POSTs `body` with X-Hub-Signature-256 `signature` (NULL: none) and checks the answer. */
static int post(const char *body, size_t len, const char *signature, struct event_list *ev)
{
	struct headers h = { signature };
	struct http_req_view view = {
		.method = "POST", .path = "/webhooks/meta",
		.url = "https://gw.example.com/webhooks/meta", .body = body, .body_len = len,
		.header = view_header, .query = view_query, .ctx = &h,
	};
	struct webhook_reply reply;
	int rc;

	memset(&reply, 0, sizeof(reply));
	buf_init(&reply.body, 64 * 1024);
	event_list_init(ev);
	rc = provider_parse_webhook(meta, &view, ev, &reply);
	if (rc == 0) {
		FUZZ_CHECK(reply.status == 200);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(reply.status >= 400 && reply.status < 600);
		FUZZ_CHECK(reply.err.code[0] != '\0' && reply.err.msg[0] != '\0');
		FUZZ_CHECK(ev->n == 0);
	}
	buf_release(&reply.body);
	return rc < 0 ? reply.status : 200;
}

static void check_events(const struct event_list *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		const struct event *e = &ev->items[i];

		FUZZ_CHECK(e->channel == CHANNEL_WHATSAPP);
		FUZZ_CHECK(memchr(e->provider_message_id, '\0', sizeof(e->provider_message_id)));
		FUZZ_CHECK(e->provider_message_id[0] != '\0');
		FUZZ_CHECK(memchr(e->error_code, '\0', sizeof(e->error_code)));
		FUZZ_CHECK(memchr(e->error_message, '\0', sizeof(e->error_message)));
		if (e->type == EVENT_INBOUND) {
			FUZZ_CHECK(memchr(e->from, '\0', sizeof(e->from)) && phone_is_e164(e->from));
			FUZZ_CHECK(e->text && e->text[e->text_len] == '\0');
		} else {
			FUZZ_CHECK(e->type == EVENT_STATUS);
			FUZZ_CHECK(e->status >= DELIVERY_SENT && e->status <= DELIVERY_FAILED);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size);
	char sig[sizeof("sha256=") + 2 * SHA256_LEN];
	uint8_t mac[SHA256_LEN];
	struct event_list ev;

	hmac_sha256(APP_SECRET, strlen(APP_SECRET), body, size, mac);
	memcpy(sig, "sha256=", 7);
	hex_encode(mac, SHA256_LEN, sig + 7);

	post(body, size, sig, &ev);
	check_events(&ev);
	event_list_release(&ev);

	sig[sizeof(sig) - 2] = sig[sizeof(sig) - 2] == '0' ? '1' : '0';
	FUZZ_CHECK(post(body, size, sig, &ev) == 403);
	event_list_release(&ev);
	FUZZ_CHECK(post(body, size, NULL, &ev) == 403);
	event_list_release(&ev);

	free(body);
	return 0;
}
