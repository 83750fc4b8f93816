/*
 * test_e2e_hostile.c - the hostile-input catalogue: build/gateway refuses what it must refuse,
 * says why in its JSON error shape, and stores nothing.
 *
 * Two gateways serve the whole file, each started once (a start costs ~0.3 s):
 *   A  sms = twilio, whatsapp = meta, each against its fake; [server] connection_timeout = 1s
 *   B  sms = zenvia against its fake, whatsapp = console (so POST /webhooks/console exists)
 * Each sends one survey before the catalogue runs, so look-ups have a row to (not) find.
 *
 * `rows[]` is the catalogue, one request per row: gateway, method, path, headers, body, and the
 * answer it must get: status, error code and field.  Each row is its own cmocka test, named
 * "category: what", and passes when
 *   - the status, code and field are exactly the row's, in the contract's error shape
 *     {"error":{"code","message","field"}} with Content-Type application/json, and
 *   - the database is the same afterwards as before (db_snapshot(): every row of every table).
 * Rows marked "Fixed:" pin answers the gateway once got wrong; the comment says what it answered
 * before the fix.  Rows with `lib` are answered by libmicrohttpd before the gateway sees
 * the request: their status is checked, their (HTML) body is reported, not asserted.
 *
 * After the catalogue: slow clients (a stalled or trickling connection is closed by the idle
 * timeout, nothing is stored, others are served meanwhile), and two positive tests that do change
 * the database: SQL metacharacters are stored verbatim, CSV metacharacters are exported inert.
 *
 * Decisions (what "right" means where the contract is silent):
 *   - /v1 errors follow the gateway's own rule (api.c opt_string/req_string): absent or null ->
 *     missing_field, wrong JSON type -> invalid_type, too long -> too_long, bad value ->
 *     invalid_<what>; an object member (customer, interaction) that is not an object is
 *     invalid_type of that member.  Webhook refusals only need the right status and field (their
 *     readers are providers' retry logic, not people).
 *   - A number JSON cannot hold (1e400, 99999999999999999999) is 400 invalid_json: RFC 8259 §9
 *     lets a parser limit number range.
 *   - An oversize body is 413 before authentication (the server refuses it unread).
 *   - Authorization: the scheme is case-insensitive ("bearer", "BEARER" work; RFC 9110 §11.1),
 *     "Bearer" alone, "Basic ..." or no scheme is 401, a wrong key is 403; whitespace around the
 *     field value is not part of it (RFC 9110 §5.5), so "Bearer KEY " is KEY; 1*SP may separate
 *     scheme and credentials (RFC 9110 §11.4).  A NUL in a header value is never ignored.
 *     A folded or "Name :" Authorization line is no Authorization at all: 401.
 *   - 401 carries WWW-Authenticate and 405 carries Allow (RFC 9110 §11.6.1, §15.5.6: MUST).
 *   - A body sent to an unknown route or with the wrong method gets that route's 404 / 405, not
 *     413: the body is not what is wrong.
 *   - POST /v1/surveys with a valid Idempotency-Key and a body refused by validation stores
 *     nothing (as Stripe's keys do), so the client may fix the body and retry with the same key.
 * Header lines holding CR, LF or NUL are written on a plain socket (SEND_RAW), byte for byte.
 *
 * Environment: GATEWAY_BIN (default build/gateway), FIXTURES (default tests/fixtures),
 * E2E_KEEP_TMP=1 keeps the temp dirs.  When a test fails, both gateways' log tails are printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "support/e2e.h"
#include "support/fake_meta.h"
#include "support/fake_zenvia.h"

#define PHONE "+34600111222"                    /* the seeded customer, on both gateways */
#define GRAPH_VERSION "v23.0"
#define META_PNID "106540352242922"
#define META_TOKEN "EAAGe2eHostileAccessToken0123456789"
#define META_SECRET "e2e-hostile-app-secret-0123456789"
#define META_VERIFY "hostile-verify-token"
#define ZV_TOKEN "zv-hostile-api-token-9f2c"
#define ZV_WEBHOOK "zv-hostile-webhook-secret-7c1d"
#define OTHER_TWILIO_TOKEN "0123456789abcdef0123456789abcdef"

#define BODY_CAP (4u << 20)
#define RAW_ANSWER_CAP (1u << 20)
#define RAW_TIMEOUT_MS 5000
#define SETTLE_MS 3000
#define IDLE_TIMEOUT_MS 1000                    /* [server] connection_timeout of gateway A */
#define SLOW_SLACK_MS 2500                      /* how late past it a close may come (ASan) */

/* ---- the two gateways ---- */

/* One gateway with its fakes.  `e` comes first so e2e.h's helpers (api(), wait_status(), say())
 * take &g->e; e.tw is gateway A's fake Twilio, NULL for B. */
struct gw_world {
	struct e2e e;
	struct fake_meta *fm;           /* A only */
	struct fake_zenvia *zv;         /* B only */
	char seed_id[64];               /* the survey sent before the catalogue */
	const char *label;
};

struct world {
	struct gw_world a, b;
};

enum target { GW_A, GW_B };

/* ---- the catalogue's rows ---- */

enum sign {
	SIGN_NONE,
	SIGN_TWILIO,            /* X-Twilio-Signature with the account's auth token */
	SIGN_TWILIO_WRONG,      /* ... with another token */
	SIGN_META,              /* X-Hub-Signature-256 with the app secret */
	SIGN_META_WRONG,        /* ... with another secret */
};

enum send_mode {
	SEND_CURL,              /* libcurl (harness_http) */
	SEND_RAW,               /* a socket: `raw` verbatim, else the request written from the row */
	SEND_CHUNKED,           /* a socket, the body with Transfer-Encoding: chunked, 4 KiB chunks */
};

struct row {
	const char *cat;
	const char *name;
	enum target gw;
	const char *method;
	const char *path;               /* "@BIG@" in it is replaced when big_in_path is set */
	/* NULL: "Bearer <key>" on /v1 and /webhooks/console, nothing elsewhere; "": none; else the
	 * whole value of Authorization */
	const char *auth;
	/* NULL: the route's own (a form for Twilio, JSON elsewhere) when there is a body; "": none */
	const char *ctype;
	const char *hdr[3];             /* more header lines, as sent ("Name;" is curl's empty value) */
	const char *body;               /* NULL: no body; "@BIG@" in it becomes `big` bytes */
	size_t len;                     /* 0: strlen(body) */
	size_t big;
	const char *big_pat;            /* what "@BIG@" repeats ("a" when NULL) */
	int big_in_path;
	size_t pad_to;                  /* spaces appended up to this many bytes */
	enum sign sign;
	const char *sign_body;          /* signed instead of the body sent: a replay, altered */
	const char *sign_url;           /* Twilio: signed for this path ("/...") or URL instead */
	const char *sig_fmt;            /* the header's value, "%s" standing for the signature */
	int sig_case;                   /* 1: upper-case, -1: lower-case the signature */
	enum send_mode send;
	const char *raw;                /* SEND_RAW: the whole request, verbatim */
	size_t raw_len;
	long status;
	const char *code;               /* NULL: any non-empty code */
	const char *field;              /* NULL: any */
	int lib;                        /* answered by libmicrohttpd, not by the gateway */
	const char *want_header;        /* the answer must carry it (socket sends only) */
	const char *bad_header;         /* the answer must not carry it (socket sends only) */
};

#define R(s) .body = s, .len = sizeof(s) - 1
#define RAW(s) .send = SEND_RAW, .raw = s, .raw_len = sizeof(s) - 1
#define E(s, c, f) .status = s, .code = c, .field = f
#define BAD_JSON E(400, "invalid_json", "")
#define TOO_BIG E(413, "body_too_large", "")
#define NOT_FOUND E(404, "not_found", "")
#define NOT_ALLOWED E(405, "method_not_allowed", "")
#define NO_KEY E(401, "unauthorized", "Authorization")
#define BAD_KEY E(403, "forbidden", "Authorization")
#define MEDIA E(415, "unsupported_media_type", "Content-Type")
#define SURVEYS .method = "POST", .path = "/v1/surveys"
#define CONSOLE .gw = GW_B, .method = "POST", .path = "/webhooks/console"
#define ZENVIA .gw = GW_B, .method = "POST", .path = "/webhooks/zenvia"
#define TWILIO_IN .method = "POST", .path = "/webhooks/twilio"
#define TWILIO_ST .method = "POST", .path = "/webhooks/twilio/status"
#define META .method = "POST", .path = "/webhooks/meta"
#define CSV_Q(q) .method = "GET", .path = "/v1/responses.csv?" q
#define LIST_Q(q) .method = "GET", .path = "/v1/surveys?" q
#define IDEM_BAD E(400, "invalid_idempotency_key", "Idempotency-Key")
#define ZV_OK "X-Gateway-Token: " ZV_WEBHOOK
#define K1 "e2e-key-1"
#define HOST "Host: 127.0.0.1\r\n"
#define KEY_LINE "Authorization: Bearer " K1 "\r\n"

/* Trigger bodies: a valid trigger with one part replaced (JSON text). */
#define C_OK "{\"id\":\"cust-h\",\"phone\":\"" PHONE "\"}"
#define I_OK "{\"id\":\"int-h\"}"
#define TRIG(cust, kind, chan, inter, more) \
	"{\"customer\":" cust ",\"kind\":" kind ",\"channel\":" chan ",\"interaction\":" inter more "}"
#define T_C(c) TRIG(c, "\"nps\"", "\"sms\"", I_OK, "")
#define T_ID(v) T_C("{\"id\":" v ",\"phone\":\"" PHONE "\"}")
#define T_PH(v) T_C("{\"id\":\"cust-h\",\"phone\":" v "}")
#define T_CM(m) T_C("{\"id\":\"cust-h\",\"phone\":\"" PHONE "\"," m "}")
#define T_K(v) TRIG(C_OK, v, "\"sms\"", I_OK, "")
#define T_CH(v) TRIG(C_OK, "\"nps\"", v, I_OK, "")
#define T_I(v) TRIG(C_OK, "\"nps\"", "\"sms\"", v, "")
#define T_IM(m) T_I("{\"id\":\"int-h\"," m "}")
/* the same with an interaction id of its own: a row the gateway may wrongly accept must not find
 * another row's survey (and answer 200 for it) */
#define T_CMI(m, inter) TRIG("{\"id\":\"cust-h\",\"phone\":\"" PHONE "\"," m "}", "\"nps\"", \
			     "\"sms\"", "{\"id\":\"" inter "\"}", "")
#define T_IMI(m, inter) T_I("{\"id\":\"" inter "\"," m "}")
#define T_X(m) TRIG(C_OK, "\"nps\"", "\"sms\"", I_OK, "," m)
/* a trigger the gateway must accept: any refusal row sending it proves the refusal */
#define T_GOOD(inter) T_I("{\"id\":\"" inter "\"}")
/* a trigger refused for its phone: proves a request got past authentication */
#define T_BADPHONE T_PH("\"600111222\"")
#define BADPHONE E(422, "invalid_phone", "customer.phone")

/* Console bodies (gateway B). */
#define CON(from, text) "{\"from\":" from ",\"text\":" text "}"
#define CON_X(from, text, more) "{\"from\":" from ",\"text\":" text "," more "}"
#define CON_OK CON("\"" PHONE "\"", "\"9\"")
#define CON_PHONE(v) CON(v, "\"9\"")
#define BAD_FROM E(422, "invalid_phone", "from")

/* Twilio forms (gateway A). */
#define TW_SID "SMh0000000000000000000000000000001"
#define TW_FORM(sid, from, body) \
	"MessageSid=" sid "&AccountSid=" HARNESS_TWILIO_SID "&From=" from \
	"&To=%2B15005550006&Body=" body "&NumMedia=0"
#define TW_OK TW_FORM(TW_SID, "%2B34600111222", "9")
#define TW_STATUS(sid, st) \
	"MessageSid=" sid "&MessageStatus=" st "&AccountSid=" HARNESS_TWILIO_SID \
	"&From=%2B15005550006&To=%2B34600111222"
#define TW_ST_OK TW_STATUS("SMh0000000000000000000000000000002", "delivered")
#define SIG_BAD E(403, "invalid_signature", "X-Twilio-Signature")
#define SIG_MISSING E(403, "missing_signature", "X-Twilio-Signature")

/* Meta notifications (gateway A): one text message from `from` with id `id` saying `text`. */
#define META_MSG(from, id, text) \
	"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\"," \
	"\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":" \
	"{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"" META_PNID "\"}," \
	"\"messages\":[{\"from\":" from ",\"id\":" id ",\"timestamp\":\"1795604400\"," \
	"\"type\":\"text\",\"text\":{\"body\":" text "}}]},\"field\":\"messages\"}]}]}"
#define META_OK META_MSG("\"34600111222\"", "\"wamid.hostile1\"", "\"9\"")
#define META_STATUS_NO_ID \
	"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\"," \
	"\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":" \
	"{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"" META_PNID "\"}," \
	"\"statuses\":[{\"status\":\"delivered\",\"timestamp\":\"1795604400\"," \
	"\"recipient_id\":\"34600111222\"}]},\"field\":\"messages\"}]}]}"
#define HUB_BAD E(403, "invalid_signature", "X-Hub-Signature-256")
#define HUB_MISSING E(403, "missing_signature", "X-Hub-Signature-256")
#define HUB(q) .method = "GET", .path = "/webhooks/meta?" q

/* Zenvia events (gateway B). */
#define ZV_MSG(id, from, text) \
	"{\"id\":" id ",\"timestamp\":\"2026-11-25T11:00:00Z\",\"type\":\"MESSAGE\"," \
	"\"subscriptionId\":\"sub-1\",\"channel\":\"sms\",\"direction\":\"IN\",\"message\":" \
	"{\"id\":\"zmsg-1\",\"from\":" from ",\"to\":\"acme\",\"direction\":\"IN\"," \
	"\"channel\":\"sms\",\"contents\":[{\"type\":\"text\",\"text\":" text "}]}}"
#define ZV_EV_OK ZV_MSG("\"zev-hostile-1\"", "\"34600111222\"", "\"9\"")

#define S200 "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"
#define LONG_ID S200 S200               /* 200 characters: longer than any provider id */

static const struct row rows[] = {
	/* ---- json: malformed and truncated JSON ---- */
	{ "json", "empty body", SURVEYS, R(""), BAD_JSON },
	{ "json", "whitespace only", SURVEYS, R("  \r\n\t "), BAD_JSON },
	{ "json", "lone {", SURVEYS, R("{"), BAD_JSON },
	{ "json", "lone }", SURVEYS, R("}"), BAD_JSON },
	{ "json", "truncated after a key", SURVEYS, R("{\"customer\":"), BAD_JSON },
	{ "json", "truncated inside a string", SURVEYS, R("{\"customer\":{\"id\":\"cu"), BAD_JSON },
	{ "json", "truncated inside an escape", SURVEYS, R("{\"customer\":{\"id\":\"\\u00"), BAD_JSON },
	{ "json", "valid trigger minus its last brace", SURVEYS,
	  R("{\"customer\":" C_OK ",\"kind\":\"nps\",\"channel\":\"sms\",\"interaction\":" I_OK),
	  BAD_JSON },
	{ "json", "single quotes", SURVEYS, R("{'customer':{'id':'c'}}"), BAD_JSON },
	{ "json", "unquoted keys", SURVEYS, R("{customer:{id:\"c\"}}"), BAD_JSON },
	{ "json", "trailing comma", SURVEYS, R(T_X("\"delay_seconds\":0,")), BAD_JSON },
	{ "json", "nested trailing comma", SURVEYS,
	  R(T_C("{\"id\":\"cust-h\",\"phone\":\"" PHONE "\",}")), BAD_JSON },
	{ "json", "missing comma", SURVEYS, R("{\"kind\":\"nps\" \"channel\":\"sms\"}"), BAD_JSON },
	{ "json", "key without value", SURVEYS, R("{\"customer\"}"), BAD_JSON },
	{ "json", "comment", SURVEYS, R("/* x */" T_GOOD("json-comment")), BAD_JSON },
	{ "json", "two objects", SURVEYS, R(T_GOOD("json-two") "{}"), BAD_JSON },
	{ "json", "duplicate key", SURVEYS, R(T_X("\"kind\":\"ces\"")), BAD_JSON },
	{ "json", "NaN", SURVEYS, R(T_X("\"delay_seconds\":NaN")), BAD_JSON },
	{ "json", "Infinity", SURVEYS, R(T_X("\"delay_seconds\":Infinity")), BAD_JSON },
	{ "json", "leading zero", SURVEYS, R(T_X("\"delay_seconds\":01")), BAD_JSON },
	{ "json", "hex number", SURVEYS, R(T_X("\"delay_seconds\":0x10")), BAD_JSON },
	{ "json", "bare word", SURVEYS, R(T_K("nps")), BAD_JSON },
	{ "json", "raw newline in a string", SURVEYS, R(T_ID("\"cu\nst\"")), BAD_JSON },
	{ "json", "raw tab in a string", SURVEYS, R(T_ID("\"cu\tst\"")), BAD_JSON },
	{ "json", "unterminated array", SURVEYS, R("{\"customer\":[1,2"), BAD_JSON },
	{ "json", "5000 nested arrays", SURVEYS, R("@BIG@"), .big = 5000, .big_pat = "[",
	  BAD_JSON },
	{ "json", "array, not an object", SURVEYS, R("[" T_GOOD("json-array") "]"), BAD_JSON },
	{ "json", "null", SURVEYS, R("null"), BAD_JSON },
	{ "json", "a string", SURVEYS, R("\"customer\""), BAD_JSON },
	{ "json", "a number", SURVEYS, R("42"), BAD_JSON },
	{ "json", "true", SURVEYS, R("true"), BAD_JSON },

	/* ---- types: the wrong JSON type for each trigger field ---- */
	{ "types", "customer.id number", SURVEYS, R(T_ID("42")),
	  E(422, "invalid_type", "customer.id") },
	{ "types", "customer.id true", SURVEYS, R(T_ID("true")),
	  E(422, "invalid_type", "customer.id") },
	{ "types", "customer.id array", SURVEYS, R(T_ID("[\"cust-h\"]")),
	  E(422, "invalid_type", "customer.id") },
	{ "types", "customer.id object", SURVEYS, R(T_ID("{}")),
	  E(422, "invalid_type", "customer.id") },
	{ "types", "customer.id null", SURVEYS, R(T_ID("null")),
	  E(422, "missing_field", "customer.id") },
	{ "types", "customer.id empty", SURVEYS, R(T_ID("\"\"")),
	  E(422, "missing_field", "customer.id") },
	{ "types", "customer.phone number", SURVEYS, R(T_PH("34600111222")),
	  E(422, "invalid_type", "customer.phone") },
	{ "types", "customer.phone array", SURVEYS, R(T_PH("[\"" PHONE "\"]")),
	  E(422, "invalid_type", "customer.phone") },
	{ "types", "customer.phone object", SURVEYS, R(T_PH("{\"e164\":\"" PHONE "\"}")),
	  E(422, "invalid_type", "customer.phone") },
	{ "types", "customer.phone null", SURVEYS, R(T_PH("null")),
	  E(422, "missing_field", "customer.phone") },
	{ "types", "customer.phone empty", SURVEYS, R(T_PH("\"\"")),
	  E(422, "missing_field", "customer.phone") },
	{ "types", "customer.phone absent", SURVEYS, R(T_C("{\"id\":\"cust-h\"}")),
	  E(422, "missing_field", "customer.phone") },
	/* Fixed: customer is there, of the wrong type (gateway: missing_field "customer is
	 * required") */
	{ "types", "customer string", SURVEYS, R(T_C("\"cust-42\"")),
	  E(422, "invalid_type", "customer") },
	{ "types", "customer array", SURVEYS, R(T_C("[" C_OK "]")),
	  E(422, "invalid_type", "customer") },
	{ "types", "customer null", SURVEYS, R(T_C("null")), E(422, "missing_field", "customer") },
	{ "types", "customer absent", SURVEYS,
	  R("{\"kind\":\"nps\",\"channel\":\"sms\",\"interaction\":" I_OK "}"),
	  E(422, "missing_field", "customer") },
	{ "types", "customer.name number", SURVEYS, R(T_CM("\"name\":42")),
	  E(422, "invalid_type", "customer.name") },
	{ "types", "customer.name object", SURVEYS, R(T_CM("\"name\":{\"first\":\"Ana\"}")),
	  E(422, "invalid_type", "customer.name") },
	{ "types", "customer.locale number", SURVEYS, R(T_CM("\"locale\":1")),
	  E(422, "invalid_type", "customer.locale") },
	{ "types", "customer.locale array", SURVEYS, R(T_CM("\"locale\":[\"es\"]")),
	  E(422, "invalid_type", "customer.locale") },
	{ "types", "customer.locale fr", SURVEYS, R(T_CM("\"locale\":\"fr\"")),
	  E(422, "invalid_locale", "customer.locale") },
	{ "types", "customer.locale empty", SURVEYS, R(T_CM("\"locale\":\"\"")),
	  E(422, "invalid_locale", "customer.locale") },
	{ "types", "customer.timezone number", SURVEYS, R(T_CM("\"timezone\":3600")),
	  E(422, "invalid_type", "customer.timezone") },
	{ "types", "customer.timezone unknown", SURVEYS, R(T_CM("\"timezone\":\"Mars/Olympus\"")),
	  E(422, "invalid_timezone", "customer.timezone") },
	{ "types", "customer.timezone path", SURVEYS,
	  R(T_CM("\"timezone\":\"../../../etc/passwd\"")),
	  E(422, "invalid_timezone", "customer.timezone") },
	{ "types", "customer.timezone empty", SURVEYS, R(T_CM("\"timezone\":\"\"")),
	  E(422, "invalid_timezone", "customer.timezone") },
	/* Fixed: a directory of /usr/share/zoneinfo is not a time zone (gateway: 202, stored) */
	{ "types", "customer.timezone a zoneinfo directory", SURVEYS,
	  R(T_CMI("\"timezone\":\"Europe\"", "tz-dir")), E(422, "invalid_timezone", "customer.timezone") },
	/* Fixed: a text file of /usr/share/zoneinfo is not a time zone (gateway: 202, stored) */
	{ "types", "customer.timezone a zoneinfo data file", SURVEYS,
	  R(T_CMI("\"timezone\":\"leapseconds\"", "tz-file")), E(422, "invalid_timezone", "customer.timezone") },
	/* RIGHT (kind, channel): req_string's own error (missing_field, invalid_type, too_long);
	 * the gateway overwrites it with invalid_kind / invalid_channel */
	{ "types", "kind null", SURVEYS, R(T_K("null")), E(422, "missing_field", "kind") },
	{ "types", "kind absent", SURVEYS,
	  R("{\"customer\":" C_OK ",\"channel\":\"sms\",\"interaction\":" I_OK "}"),
	  E(422, "missing_field", "kind") },
	{ "types", "kind number", SURVEYS, R(T_K("9")), E(422, "invalid_type", "kind") },
	{ "types", "kind array", SURVEYS, R(T_K("[\"nps\"]")), E(422, "invalid_type", "kind") },
	{ "types", "kind upper case", SURVEYS, R(T_K("\"NPS\"")), E(422, "invalid_kind", "kind") },
	{ "types", "kind with a space", SURVEYS, R(T_K("\"nps \"")), E(422, "invalid_kind", "kind") },
	{ "types", "channel object", SURVEYS, R(T_CH("{\"sms\":true}")),
	  E(422, "invalid_type", "channel") },
	{ "types", "channel number", SURVEYS, R(T_CH("1")), E(422, "invalid_type", "channel") },
	{ "types", "channel null", SURVEYS, R(T_CH("null")), E(422, "missing_field", "channel") },
	{ "types", "channel absent", SURVEYS,
	  R("{\"customer\":" C_OK ",\"kind\":\"nps\",\"interaction\":" I_OK "}"),
	  E(422, "missing_field", "channel") },
	{ "types", "channel upper case", SURVEYS, R(T_CH("\"SMS\"")),
	  E(422, "invalid_channel", "channel") },
	{ "types", "channel email", SURVEYS, R(T_CH("\"email\"")),
	  E(422, "invalid_channel", "channel") },
	/* Fixed: interaction is there, of the wrong type (gateway: missing_field interaction.id) */
	{ "types", "interaction string", SURVEYS, R(T_I("\"chat-981\"")),
	  E(422, "invalid_type", "interaction") },
	{ "types", "interaction array", SURVEYS, R(T_I("[" I_OK "]")),
	  E(422, "invalid_type", "interaction") },
	{ "types", "interaction null", SURVEYS, R(T_I("null")),
	  E(422, "missing_field", "interaction.id") },
	{ "types", "interaction absent", SURVEYS,
	  R("{\"customer\":" C_OK ",\"kind\":\"nps\",\"channel\":\"sms\"}"),
	  E(422, "missing_field", "interaction.id") },
	{ "types", "interaction.id number", SURVEYS, R(T_I("{\"id\":981}")),
	  E(422, "invalid_type", "interaction.id") },
	{ "types", "interaction.id empty", SURVEYS, R(T_I("{\"id\":\"\"}")),
	  E(422, "missing_field", "interaction.id") },
	{ "types", "interaction.touchpoint number", SURVEYS, R(T_IM("\"touchpoint\":5")),
	  E(422, "invalid_type", "interaction.touchpoint") },
	{ "types", "interaction.agent array", SURVEYS, R(T_IM("\"agent\":[\"a\"]")),
	  E(422, "invalid_type", "interaction.agent") },
	{ "types", "interaction.opened_at number", SURVEYS, R(T_IM("\"opened_at\":1795604400")),
	  E(422, "invalid_type", "interaction.opened_at") },
	{ "types", "interaction.closed_at object", SURVEYS, R(T_IM("\"closed_at\":{}")),
	  E(422, "invalid_type", "interaction.closed_at") },
	{ "types", "interaction.closed_at words", SURVEYS, R(T_IM("\"closed_at\":\"yesterday\"")),
	  E(422, "invalid_timestamp", "interaction.closed_at") },
	{ "types", "interaction.opened_at with a space", SURVEYS,
	  R(T_IM("\"opened_at\":\"2026-11-22 10:00:00Z\"")),
	  E(422, "invalid_timestamp", "interaction.opened_at") },
	{ "types", "interaction.opened_at month 13", SURVEYS,
	  R(T_IM("\"opened_at\":\"2026-13-01T00:00:00Z\"")),
	  E(422, "invalid_timestamp", "interaction.opened_at") },
	{ "types", "interaction.opened_at not UTC", SURVEYS,
	  R(T_IM("\"opened_at\":\"2026-11-22T10:00:00+01:00\"")),
	  E(422, "invalid_timestamp", "interaction.opened_at") },
	{ "types", "interaction.opened_at no zone", SURVEYS,
	  R(T_IM("\"opened_at\":\"2026-11-22T10:00:00\"")),
	  E(422, "invalid_timestamp", "interaction.opened_at") },
	{ "types", "interaction.opened_at empty fraction", SURVEYS,
	  R(T_IM("\"opened_at\":\"2026-11-22T10:00:00.Z\"")),
	  E(422, "invalid_timestamp", "interaction.opened_at") },
	/* Fixed: sscanf's %4d takes a sign: "+026" passes as a year (gateway: 202, stored) */
	{ "types", "interaction.opened_at signed year", SURVEYS,
	  R(T_IMI("\"opened_at\":\"+026-11-22T10:00:00Z\"", "ts-signed")),
	  E(422, "invalid_timestamp", "interaction.opened_at") },
	/* Fixed: February 31st does not exist; parse_day() of export.c refuses it (gateway: 202) */
	{ "types", "interaction.closed_at February 31", SURVEYS,
	  R(T_IMI("\"closed_at\":\"2026-02-31T10:00:00Z\"", "ts-feb31")),
	  E(422, "invalid_timestamp", "interaction.closed_at") },
	{ "types", "delay_seconds string", SURVEYS, R(T_X("\"delay_seconds\":\"10\"")),
	  E(422, "invalid_delay", "delay_seconds") },
	{ "types", "delay_seconds negative", SURVEYS, R(T_X("\"delay_seconds\":-1")),
	  E(422, "invalid_delay", "delay_seconds") },
	{ "types", "delay_seconds past 30 days", SURVEYS, R(T_X("\"delay_seconds\":2592001")),
	  E(422, "invalid_delay", "delay_seconds") },
	{ "types", "delay_seconds float", SURVEYS, R(T_X("\"delay_seconds\":1.5")),
	  E(422, "invalid_delay", "delay_seconds") },
	{ "types", "delay_seconds true", SURVEYS, R(T_X("\"delay_seconds\":true")),
	  E(422, "invalid_delay", "delay_seconds") },
	{ "types", "delay_seconds array", SURVEYS, R(T_X("\"delay_seconds\":[5]")),
	  E(422, "invalid_delay", "delay_seconds") },
	{ "types", "delay_seconds object", SURVEYS, R(T_X("\"delay_seconds\":{}")),
	  E(422, "invalid_delay", "delay_seconds") },

	/* ---- huge: numbers past what JSON parsers hold ---- */
	{ "huge", "delay_seconds 1e400", SURVEYS, R(T_X("\"delay_seconds\":1e400")), BAD_JSON },
	{ "huge", "delay_seconds 99999999999999999999", SURVEYS,
	  R(T_X("\"delay_seconds\":99999999999999999999")), BAD_JSON },
	{ "huge", "delay_seconds -99999999999999999999", SURVEYS,
	  R(T_X("\"delay_seconds\":-99999999999999999999")), BAD_JSON },
	{ "huge", "delay_seconds 2^63", SURVEYS, R(T_X("\"delay_seconds\":9223372036854775808")),
	  BAD_JSON },
	{ "huge", "delay_seconds INT64_MAX", SURVEYS,
	  R(T_X("\"delay_seconds\":9223372036854775807")), E(422, "invalid_delay", "delay_seconds") },
	{ "huge", "delay_seconds INT64_MIN", SURVEYS,
	  R(T_X("\"delay_seconds\":-9223372036854775808")), E(422, "invalid_delay", "delay_seconds") },
	{ "huge", "delay_seconds 1e-400 (underflows to 0.0)", SURVEYS,
	  R(T_X("\"delay_seconds\":1e-400")), E(422, "invalid_delay", "delay_seconds") },
	{ "huge", "delay_seconds 2592000.5", SURVEYS, R(T_X("\"delay_seconds\":2592000.5")),
	  E(422, "invalid_delay", "delay_seconds") },
	{ "huge", "customer.id 1e400", SURVEYS, R(T_ID("1e400")), BAD_JSON },
	{ "huge", "customer.phone 99999999999999999999", SURVEYS,
	  R(T_PH("99999999999999999999")), BAD_JSON },
	{ "huge", "console text 1e999", CONSOLE, R(CON("\"" PHONE "\"", "1e999")), BAD_JSON },

	/* ---- size: 1 MB bodies, 60 KiB strings, the 64 KiB cap ---- */
	{ "size", "1 MB trigger", SURVEYS, R("{\"customer\":{\"id\":\"@BIG@\"}}"), .big = 1 << 20,
	  TOO_BIG },
	{ "size", "1 MB trigger without an API key", SURVEYS, .auth = "",
	  R("{\"customer\":{\"id\":\"@BIG@\"}}"), .big = 1 << 20, TOO_BIG },
	{ "size", "1 MB Twilio inbound", TWILIO_IN, R("Body=@BIG@"), .big = 1 << 20, TOO_BIG },
	{ "size", "1 MB Twilio status", TWILIO_ST, R("MessageStatus=@BIG@"), .big = 1 << 20,
	  TOO_BIG },
	{ "size", "1 MB Meta notification", META, R("{\"entry\":\"@BIG@\"}"), .big = 1 << 20,
	  TOO_BIG },
	{ "size", "1 MB Zenvia event", ZENVIA, .hdr = { ZV_OK }, R("{\"id\":\"@BIG@\"}"),
	  .big = 1 << 20, TOO_BIG },
	{ "size", "1 MB console message", CONSOLE, R(CON("\"" PHONE "\"", "\"@BIG@\"")),
	  .big = 1 << 20, TOO_BIG },
	{ "size", "65537-byte trigger", SURVEYS, R(T_BADPHONE), .pad_to = 65537, TOO_BIG },
	{ "size", "65536-byte trigger is read (the cap is inclusive)", SURVEYS, R(T_BADPHONE),
	  .pad_to = 65536, BADPHONE },
	{ "size", "60 KiB customer.id", SURVEYS, R(T_ID("\"@BIG@\"")), .big = 61440,
	  E(422, "too_long", "customer.id") },
	{ "size", "129-byte customer.id", SURVEYS, R(T_ID("\"@BIG@\"")), .big = 129,
	  E(422, "too_long", "customer.id") },
	{ "size", "60 KiB customer.phone", SURVEYS, R(T_PH("\"+@BIG@\"")), .big = 61440,
	  .big_pat = "1", E(422, "too_long", "customer.phone") },
	{ "size", "60 KiB customer.name", SURVEYS, R(T_CM("\"name\":\"@BIG@\"")), .big = 61440,
	  E(422, "too_long", "customer.name") },
	{ "size", "129-byte customer.name", SURVEYS, R(T_CM("\"name\":\"@BIG@\"")), .big = 129,
	  E(422, "too_long", "customer.name") },
	{ "size", "60 KiB customer.locale", SURVEYS, R(T_CM("\"locale\":\"es-@BIG@\"")),
	  .big = 61440, E(422, "too_long", "customer.locale") },
	{ "size", "60 KiB customer.timezone", SURVEYS, R(T_CM("\"timezone\":\"@BIG@\"")),
	  .big = 61440, E(422, "too_long", "customer.timezone") },
	/* Fixed: too_long, as for every other string field (gateway: invalid_kind/_channel) */
	{ "size", "60 KiB kind", SURVEYS, R(T_K("\"@BIG@\"")), .big = 61440,
	  E(422, "too_long", "kind") },
	{ "size", "60 KiB channel", SURVEYS, R(T_CH("\"@BIG@\"")), .big = 61440,
	  E(422, "too_long", "channel") },
	{ "size", "60 KiB interaction.id", SURVEYS, R(T_I("{\"id\":\"@BIG@\"}")), .big = 61440,
	  E(422, "too_long", "interaction.id") },
	{ "size", "129-byte interaction.id", SURVEYS, R(T_I("{\"id\":\"@BIG@\"}")), .big = 129,
	  E(422, "too_long", "interaction.id") },
	{ "size", "60 KiB interaction.touchpoint", SURVEYS, R(T_IM("\"touchpoint\":\"@BIG@\"")),
	  .big = 61440, E(422, "too_long", "interaction.touchpoint") },
	{ "size", "60 KiB interaction.agent", SURVEYS, R(T_IM("\"agent\":\"@BIG@\"")),
	  .big = 61440, E(422, "too_long", "interaction.agent") },
	{ "size", "60 KiB interaction.opened_at", SURVEYS, R(T_IM("\"opened_at\":\"@BIG@\"")),
	  .big = 61440, E(422, "too_long", "interaction.opened_at") },
	{ "size", "60 KiB console from", CONSOLE, R(CON_PHONE("\"+@BIG@\"")), .big = 61440,
	  .big_pat = "3", BAD_FROM },
	{ "size", "60 KiB console id", CONSOLE, R(CON_X("\"" PHONE "\"", "\"9\"", "\"id\":\"@BIG@\"")),
	  .big = 61440, E(422, "invalid_id", "id") },
	{ "size", "Content-Length 65537, no body sent: refused at once", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Content-Length: 65537\r\n\r\n"), TOO_BIG },
	{ "size", "Content-Length 2^64-1", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Content-Length: 18446744073709551615\r\nConnection: close\r\n\r\n"), TOO_BIG },
	{ "size", "Content-Length 99999999999999999999999", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Content-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n"), TOO_BIG,
	  .lib = 1 },
	{ "size", "Content-Length -1", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Content-Length: -1\r\nConnection: close\r\n\r\n"), E(400, NULL, NULL), .lib = 1 },
	{ "size", "Content-Length 1x", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Content-Length: 1x\r\nConnection: close\r\n\r\n{"), E(400, NULL, NULL), .lib = 1 },
	/* Fixed: two different Content-Lengths are an unrecoverable framing error, 400 (RFC 9112
	 * §6.3); the gateway reads the first and answers the body's 422 */
	{ "size", "two different Content-Lengths", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Content-Length: 2\r\nContent-Length: 70000\r\nConnection: close\r\n\r\n{}"),
	  E(400, NULL, NULL) },
	{ "size", "Content-Length and chunked together", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Content-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	  "3\r\n{}x\r\n0\r\n\r\n"), E(400, NULL, NULL) },
	{ "size", "chunk size past 2^64", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nabc"),
	  TOO_BIG, .lib = 1 },
	{ "size", "chunked 70 KiB trigger", SURVEYS, R("@BIG@"), .big = 70000,
	  .send = SEND_CHUNKED, TOO_BIG },
	{ "size", "chunked 65536-byte trigger is read", SURVEYS, R(T_BADPHONE), .pad_to = 65536,
	  .send = SEND_CHUNKED, BADPHONE },
	{ "size", "chunked 65537-byte trigger", SURVEYS, R(T_BADPHONE), .pad_to = 65537,
	  .send = SEND_CHUNKED, TOO_BIG },
	{ "size", "chunked 70 KiB Twilio inbound", TWILIO_IN, R("Body=@BIG@"), .big = 70000,
	  .send = SEND_CHUNKED, TOO_BIG },
	{ "size", "chunked 70 KiB Twilio status", TWILIO_ST, R("Body=@BIG@"), .big = 70000,
	  .send = SEND_CHUNKED, TOO_BIG },
	{ "size", "chunked 70 KiB Meta notification", META, R("@BIG@"), .big = 70000,
	  .send = SEND_CHUNKED, TOO_BIG },
	{ "size", "chunked 70 KiB Zenvia event", ZENVIA, .hdr = { ZV_OK }, R("@BIG@"),
	  .big = 70000, .send = SEND_CHUNKED, TOO_BIG },
	{ "size", "chunked 70 KiB console message", CONSOLE, R("@BIG@"), .big = 70000,
	  .send = SEND_CHUNKED, TOO_BIG },

	/* ---- utf8: invalid UTF-8 in JSON strings ---- */
	{ "utf8", "0xFF in customer.id", SURVEYS, R(T_ID("\"cust\xff\"")), BAD_JSON },
	{ "utf8", "Latin-1 in customer.name", SURVEYS, R(T_CM("\"name\":\"Jos\xe9\"")), BAD_JSON },
	{ "utf8", "overlong slash", SURVEYS, R(T_ID("\"\xc0\xaf\"")), BAD_JSON },
	{ "utf8", "lone continuation byte", SURVEYS, R(T_ID("\"a\x80" "b\"")), BAD_JSON },
	{ "utf8", "truncated 3-byte sequence", SURVEYS, R(T_ID("\"\xe2\x82\"")), BAD_JSON },
	{ "utf8", "UTF-8 encoded surrogate", SURVEYS, R(T_ID("\"\xed\xa0\x80\"")), BAD_JSON },
	{ "utf8", "past U+10FFFF", SURVEYS, R(T_ID("\"\xf4\x90\x80\x80\"")), BAD_JSON },
	{ "utf8", "5-byte sequence", SURVEYS, R(T_ID("\"\xf8\x88\x80\x80\x80\"")), BAD_JSON },
	{ "utf8", "escaped lone high surrogate", SURVEYS, R(T_ID("\"\\ud800\"")), BAD_JSON },
	{ "utf8", "escaped lone low surrogate", SURVEYS, R(T_ID("\"\\udc00\"")), BAD_JSON },
	{ "utf8", "high surrogate then a letter", SURVEYS, R(T_ID("\"\\ud800\\u0041\"")),
	  BAD_JSON },
	{ "utf8", "invalid byte in a member name", SURVEYS, R(T_X("\"pad\xff\":1")), BAD_JSON },
	{ "utf8", "invalid byte in kind", SURVEYS, R(T_K("\"nps\xff\"")), BAD_JSON },
	{ "utf8", "console text 0xFF", CONSOLE, R(CON("\"" PHONE "\"", "\"\xff\"")), BAD_JSON },
	{ "utf8", "Meta notification, signed, 0xFE", META,
	  R(META_MSG("\"34600111222\"", "\"wamid.hostile2\"", "\"\xfe\"")), .sign = SIGN_META,
	  BAD_JSON },
	{ "utf8", "Zenvia event 0xFF", ZENVIA, .hdr = { ZV_OK },
	  R(ZV_MSG("\"zev-hostile-2\"", "\"34600111222\"", "\"\xff\"")), BAD_JSON },

	/* ---- nul: NUL bytes ---- */
	{ "nul", "\\u0000 in customer.id", SURVEYS, R(T_ID("\"a\\u0000b\"")), BAD_JSON },
	{ "nul", "\\u0000 after customer.phone", SURVEYS, R(T_PH("\"" PHONE "\\u0000\"")),
	  BAD_JSON },
	{ "nul", "\\u0000 in kind", SURVEYS, R(T_K("\"nps\\u0000\"")), BAD_JSON },
	{ "nul", "raw NUL inside a string", SURVEYS, R(T_ID("\"a\0b\"")), BAD_JSON },
	{ "nul", "raw NUL after the object", SURVEYS, R(T_GOOD("nul-after") "\0"), BAD_JSON },
	{ "nul", "raw NUL as the whole body", SURVEYS, R("\0"), BAD_JSON },
	{ "nul", "console text \\u0000", CONSOLE, R(CON("\"" PHONE "\"", "\"9\\u0000\"")),
	  BAD_JSON },
	{ "nul", "console from \\u0000", CONSOLE, R(CON_PHONE("\"" PHONE "\\u0000\"")), BAD_JSON },
	{ "nul", "form body with raw NUL to /v1/surveys", SURVEYS,
	  .ctype = "application/x-www-form-urlencoded", R("customer=a\0b"), MEDIA },
	{ "nul", "Twilio form with raw NUL, unsigned", TWILIO_IN,
	  R(TW_FORM(TW_SID, "%2B34600111222", "9\0")), SIG_MISSING },
	{ "nul", "Twilio form with raw NUL, badly signed", TWILIO_IN,
	  R(TW_FORM(TW_SID, "%2B34600111222", "9\0")), .sign = SIGN_TWILIO_WRONG, SIG_BAD },
	{ "nul", "Twilio form with %00, badly signed", TWILIO_IN,
	  R(TW_FORM(TW_SID, "%2B34600111222", "9%00")), .sign = SIGN_TWILIO_WRONG, SIG_BAD },
	{ "nul", "Twilio MessageSid %00..., signed", TWILIO_IN,
	  R(TW_FORM("%00SMh0000000000000000000000000000003", "%2B34600111222", "9")),
	  .sign = SIGN_TWILIO, E(400, "missing_field", "MessageSid") },
	{ "nul", "GET /v1/surveys/%00", .method = "GET", .path = "/v1/surveys/%00", NOT_FOUND },
	/* Fixed: "nps\0x" is not a kind; request_query() reads the value as a C string, "nps"
	 * (gateway: 200 with the nps export) */
	{ "nul", "responses.csv kind=nps%00x", CSV_Q("kind=nps%00x"),
	  E(422, "invalid_kind", "kind") },
	{ "nul", "responses.csv since=2026-01-01%00junk", CSV_Q("since=2026-01-01%00junk"),
	  E(422, "invalid_date", "since") },
	{ "nul", "responses.csv since=%00", CSV_Q("since=%00"), E(422, "invalid_date", "since") },

	/* ---- sql: SQL metacharacters where they are not valid values ---- */
	{ "sql", "kind ' OR '1'='1", SURVEYS, R(T_K("\"nps' OR '1'='1\"")),
	  E(422, "invalid_kind", "kind") },
	{ "sql", "channel '; DROP TABLE", SURVEYS, R(T_CH("\"sms'; DROP TABLE surveys; --\"")),
	  E(422, "too_long", "channel") },
	{ "sql", "customer.phone ' OR 1=1", SURVEYS, R(T_PH("\"" PHONE "' OR 1=1 --\"")),
	  E(422, "invalid_phone", "customer.phone") },
	{ "sql", "customer.locale es'--", SURVEYS, R(T_CM("\"locale\":\"es'--\"")),
	  E(422, "invalid_locale", "customer.locale") },
	{ "sql", "customer.timezone with a quote", SURVEYS,
	  R(T_CM("\"timezone\":\"Europe/Madrid'; --\"")),
	  E(422, "invalid_timezone", "customer.timezone") },
	{ "sql", "interaction.opened_at with a quote", SURVEYS,
	  R(T_IM("\"opened_at\":\"2026-11-22T10:00:00Z' --\"")),
	  E(422, "invalid_timestamp", "interaction.opened_at") },
	{ "sql", "survey id ' OR '1'='1", .method = "GET",
	  .path = "/v1/surveys/%27%20OR%20%271%27%3D%271", E(404, "not_found", "id") },
	{ "sql", "survey id %", .method = "GET", .path = "/v1/surveys/%25",
	  E(404, "not_found", "id") },
	{ "sql", "survey id of 24 LIKE wildcards", .method = "GET",
	  .path = "/v1/surveys/________________________", E(404, "not_found", "id") },
	{ "sql", "survey id *", .method = "GET", .path = "/v1/surveys/*",
	  E(404, "not_found", "id") },
	{ "sql", "survey id 1;DROP TABLE", .method = "GET",
	  .path = "/v1/surveys/1;DROP%20TABLE%20surveys", E(404, "not_found", "id") },
	{ "sql", "responses.csv kind=nps'--", CSV_Q("kind=nps%27--"),
	  E(422, "invalid_kind", "kind") },
	{ "sql", "responses.csv since ' OR '1'='1", CSV_Q("since=2026-01-01%27%20OR%20%271%27%3D%271"),
	  E(422, "invalid_date", "since") },
	{ "sql", "responses.csv until ;DROP", CSV_Q("until=2026-01-01;DROP"),
	  E(422, "invalid_date", "until") },
	{ "sql", "console from ' OR 1=1", CONSOLE, R(CON_PHONE("\"" PHONE "' OR 1=1\"")),
	  BAD_FROM },

	/* ---- csv: CSV and formula metacharacters where they are not valid values ---- */
	{ "csv", "kind =1+1", SURVEYS, R(T_K("\"=1+1\"")), E(422, "invalid_kind", "kind") },
	{ "csv", "channel sms,whatsapp", SURVEYS, R(T_CH("\"sms,whatsapp\"")),
	  E(422, "invalid_channel", "channel") },
	{ "csv", "customer.phone =+34...", SURVEYS, R(T_PH("\"=" PHONE "\"")), BADPHONE },
	{ "csv", "customer.phone two numbers", SURVEYS, R(T_PH("\"" PHONE ",+34600111333\"")),
	  BADPHONE },
	{ "csv", "customer.phone quoted", SURVEYS, R(T_PH("\"\\\"" PHONE "\\\"\"")), BADPHONE },
	{ "csv", "customer.phone @SUM", SURVEYS, R(T_PH("\"@SUM(1+1)\"")), BADPHONE },
	{ "csv", "customer.phone with CRLF", SURVEYS, R(T_PH("\"" PHONE "\\r\\n\"")), BADPHONE },
	{ "csv", "customer.locale formula", SURVEYS, R(T_CM("\"locale\":\"=cmd|'/C calc'\"")),
	  E(422, "invalid_locale", "customer.locale") },
	{ "csv", "customer.timezone =1+1", SURVEYS, R(T_CM("\"timezone\":\"=1+1\"")),
	  E(422, "invalid_timezone", "customer.timezone") },
	{ "csv", "interaction.opened_at =NOW()", SURVEYS, R(T_IM("\"opened_at\":\"=NOW()\"")),
	  E(422, "invalid_timestamp", "interaction.opened_at") },
	{ "csv", "responses.csv kind==HYPERLINK", CSV_Q("kind=%3DHYPERLINK(%22x%22)"),
	  E(422, "invalid_kind", "kind") },
	{ "csv", "responses.csv since==1+1", CSV_Q("since=%3D1%2B1"),
	  E(422, "invalid_date", "since") },
	{ "csv", "console from =1+1", CONSOLE, R(CON_PHONE("\"=1+1\"")), BAD_FROM },
	{ "csv", "console channel with CRLF", CONSOLE,
	  R(CON_X("\"" PHONE "\"", "\"9\"", "\"channel\":\"sms\\r\\n\"")),
	  E(422, "invalid_channel", "channel") },

	/* ---- header: CR, LF and NUL in header values; reflected values ---- */
	{ "header", "bare CR inside Authorization", .method = "GET", .path = "/v1/surveys/x",
	  .auth = "", .hdr = { "Authorization: Bearer " K1 "\rX-Injected: 1" }, .send = SEND_RAW,
	  BAD_KEY },
	{ "header", "bare LF makes a second Authorization", .method = "GET",
	  .path = "/v1/surveys/x", .auth = "",
	  .hdr = { "Authorization: Bearer wrong\nAuthorization: Bearer " K1 }, .send = SEND_RAW,
	  BAD_KEY },
	{ "header", "Authorization folded over two lines", .method = "GET", .path = "/v1/surveys/x",
	  .auth = "", .hdr = { "Authorization: Bearer\r\n " K1 }, .send = SEND_RAW, NO_KEY },
	{ "header", "space between Authorization and its colon", .method = "GET",
	  .path = "/v1/surveys/x", .auth = "", .hdr = { "Authorization : Bearer " K1 },
	  .send = SEND_RAW, NO_KEY },
	/* libmicrohttpd ends a header value at a NUL byte, so the gateway sees only what comes
	 * before it; that prefix must itself be the whole secret (key, token), so nothing is
	 * weakened, and the rows below pin what the gateway then answers. */
	{ "header", "NUL inside Authorization", RAW(
	  "GET /v1/surveys/x HTTP/1.1\r\n" HOST "Authorization: Bearer " K1 "\0junk\r\n"
	  "Connection: close\r\n\r\n"), E(404, "not_found", "id") },
	{ "header", "NUL inside X-Gateway-Token", .gw = GW_B, RAW(
	  "POST /webhooks/zenvia HTTP/1.1\r\n" HOST "X-Gateway-Token: " ZV_WEBHOOK "\0junk\r\n"
	  "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"),
	  E(400, "missing_field", "type") },
	{ "header", "NUL inside Content-Type", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\0x\r\n"
	  "Content-Length: 2\r\nConnection: close\r\n\r\n{}"), E(422, "missing_field", "customer") },
	{ "header", "bare CR inside Content-Type", SURVEYS, .ctype = "",
	  .hdr = { "Content-Type: text/plain\rapplication/json" }, R(T_GOOD("hdr-ct-cr")),
	  .send = SEND_RAW, MEDIA },
	{ "header", "bare CR inside X-Gateway-Token", ZENVIA,
	  .hdr = { "X-Gateway-Token: " ZV_WEBHOOK "\rX-Injected: 1" }, R(ZV_EV_OK),
	  .send = SEND_RAW, E(403, "invalid_token", "X-Gateway-Token") },
	{ "header", "bare CR inside X-Twilio-Signature", TWILIO_IN,
	  .hdr = { "X-Twilio-Signature: bm90LWEtc2lnbmF0dXJl\rX-Injected: 1" }, R(TW_OK),
	  .send = SEND_RAW, SIG_BAD },
	{ "header", "bare LF makes a second X-Hub-Signature-256", META,
	  .hdr = { "X-Hub-Signature-256: sha256=00\nX-Hub-Signature-256: sha256=11" }, R(META_OK),
	  .send = SEND_RAW, HUB_BAD },
	{ "header", "CRLF in a reflected survey id", .method = "GET",
	  .path = "/v1/surveys/%0D%0ASet-Cookie:%20h=1", .send = SEND_RAW,
	  E(404, "not_found", "id"), .bad_header = "Set-Cookie" },
	{ "header", "CRLF in a reflected kind", CSV_Q("kind=%0D%0ASet-Cookie:%20h=1"),
	  .send = SEND_RAW, E(422, "invalid_kind", "kind"), .bad_header = "Set-Cookie" },
	{ "header", "CRLF in hub.challenge with a wrong token",
	  HUB("hub.mode=subscribe&hub.verify_token=x&hub.challenge=%0D%0ASet-Cookie:%20h=1"),
	  .send = SEND_RAW, E(403, "forbidden", "hub.verify_token"), .bad_header = "Set-Cookie" },
	{ "header", "CRLF inside the request line", RAW(
	  "GET /v1/surveys/x\r\nX-Injected: 1 HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n"),
	  E(400, NULL, NULL), .lib = 1 },

	/* ---- phone: customer.phone (and the console's from) that are not E.164 ---- */
	{ "phone", "no plus", SURVEYS, R(T_PH("\"34600111222\"")), BADPHONE },
	{ "phone", "00 prefix", SURVEYS, R(T_PH("\"0034600111222\"")), BADPHONE },
	{ "phone", "spaces", SURVEYS, R(T_PH("\"+34 600 111 222\"")), BADPHONE },
	{ "phone", "dashes", SURVEYS, R(T_PH("\"+34-600-111-222\"")), BADPHONE },
	{ "phone", "dots", SURVEYS, R(T_PH("\"+34.600.111.222\"")), BADPHONE },
	{ "phone", "parentheses", SURVEYS, R(T_PH("\"+34(600)111222\"")), BADPHONE },
	{ "phone", "a letter", SURVEYS, R(T_PH("\"+3460011122a\"")), BADPHONE },
	{ "phone", "letters only", SURVEYS, R(T_PH("\"+PHONE\"")), BADPHONE },
	{ "phone", "7 digits", SURVEYS, R(T_PH("\"+1234567\"")), BADPHONE },
	{ "phone", "16 digits", SURVEYS, R(T_PH("\"+1234567890123456\"")), BADPHONE },
	{ "phone", "leading zero", SURVEYS, R(T_PH("\"+034600111222\"")), BADPHONE },
	{ "phone", "+0", SURVEYS, R(T_PH("\"+0\"")), BADPHONE },
	{ "phone", "plus only", SURVEYS, R(T_PH("\"+\"")), BADPHONE },
	{ "phone", "two pluses", SURVEYS, R(T_PH("\"++34600111222\"")), BADPHONE },
	{ "phone", "plus minus", SURVEYS, R(T_PH("\"+-34600111222\"")), BADPHONE },
	{ "phone", "trailing space", SURVEYS, R(T_PH("\"" PHONE " \"")), BADPHONE },
	{ "phone", "leading space", SURVEYS, R(T_PH("\" " PHONE "\"")), BADPHONE },
	{ "phone", "trailing newline", SURVEYS, R(T_PH("\"" PHONE "\\n\"")), BADPHONE },
	{ "phone", "full-width plus and digits", SURVEYS,
	  R(T_PH("\"＋３４６００１１１２\"")), BADPHONE },
	{ "phone", "full-width digits", SURVEYS, R(T_PH("\"+３４６００１１１２\"")),
	  BADPHONE },
	{ "phone", "Arabic-Indic digits", SURVEYS, R(T_PH("\"+٣٤٦٠٠١١١٢٢٢\"")), BADPHONE },
	{ "phone", "superscript digits", SURVEYS, R(T_PH("\"+³⁴⁶⁰⁰¹¹¹²²²\"")), BADPHONE },
	{ "phone", "zero-width space", SURVEYS, R(T_PH("\"" PHONE "\\u200b\"")), BADPHONE },
	{ "phone", "tel: URI", SURVEYS, R(T_PH("\"tel:" PHONE "\"")), BADPHONE },
	{ "phone", "whatsapp: address", SURVEYS, R(T_PH("\"whatsapp:" PHONE "\"")), BADPHONE },
	{ "phone", "extension", SURVEYS, R(T_PH("\"" PHONE ";ext=1\"")), BADPHONE },
	{ "phone", "exponent", SURVEYS, R(T_PH("\"+1e10\"")), BADPHONE },
	{ "phone", "40 digits", SURVEYS,
	  R(T_PH("\"+3460011122234600111222346001112223460011\"")),
	  E(422, "too_long", "customer.phone") },
	{ "phone", "console from without plus", CONSOLE, R(CON_PHONE("\"34600111222\"")),
	  BAD_FROM },
	{ "phone", "console from with spaces", CONSOLE, R(CON_PHONE("\"+34 600 111 222\"")),
	  BAD_FROM },
	{ "phone", "console from 7 digits", CONSOLE, R(CON_PHONE("\"+1234567\"")), BAD_FROM },
	{ "phone", "console from full-width", CONSOLE, R(CON_PHONE("\"＋３４６００１１１２\"")),
	  BAD_FROM },
	{ "phone", "console from a number", CONSOLE, R(CON_PHONE("34600111222")), BAD_FROM },
	{ "phone", "console from absent", CONSOLE, R("{\"text\":\"9\"}"), BAD_FROM },
	{ "phone", "Meta from with a plus, signed", META,
	  R(META_MSG("\"+34600111222\"", "\"wamid.hostile3\"", "\"9\"")), .sign = SIGN_META,
	  E(400, "missing_field", "messages[].from") },
	{ "phone", "Meta from 7 digits, signed", META,
	  R(META_MSG("\"3460011\"", "\"wamid.hostile4\"", "\"9\"")), .sign = SIGN_META,
	  E(400, "missing_field", "messages[].from") },

	/* ---- ctype: a valid trigger with another Content-Type ---- */
	{ "ctype", "text/plain", SURVEYS, .ctype = "text/plain", R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "form", SURVEYS, .ctype = "application/x-www-form-urlencoded",
	  R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "none", SURVEYS, .ctype = "", R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "empty value", SURVEYS, .ctype = "", .hdr = { "Content-Type:" },
	  R(T_GOOD("ct-ok")), .send = SEND_RAW, MEDIA },
	{ "ctype", "application/jsonx", SURVEYS, .ctype = "application/jsonx", R(T_GOOD("ct-ok")),
	  MEDIA },
	{ "ctype", "application/jsonp", SURVEYS, .ctype = "application/jsonp", R(T_GOOD("ct-ok")),
	  MEDIA },
	{ "ctype", "application/json,", SURVEYS, .ctype = "application/json,", R(T_GOOD("ct-ok")),
	  MEDIA },
	{ "ctype", "multipart/form-data", SURVEYS, .ctype = "multipart/form-data; boundary=xyz",
	  R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "application/json-patch+json", SURVEYS, .ctype = "application/json-patch+json",
	  R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "application/vnd.api+json", SURVEYS, .ctype = "application/vnd.api+json",
	  R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "text/json", SURVEYS, .ctype = "text/json", R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "application/*", SURVEYS, .ctype = "application/*", R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "*/*", SURVEYS, .ctype = "*/*", R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "application/javascript", SURVEYS, .ctype = "application/javascript",
	  R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "application/xml", SURVEYS, .ctype = "application/xml", R(T_GOOD("ct-ok")),
	  MEDIA },
	{ "ctype", "json", SURVEYS, .ctype = "json", R(T_GOOD("ct-ok")), MEDIA },
	{ "ctype", "text/plain then application/json", SURVEYS, .ctype = "",
	  .hdr = { "Content-Type: text/plain", "Content-Type: application/json" },
	  R(T_GOOD("ct-ok")), .send = SEND_RAW, MEDIA },

	/* ---- auth: missing and wrong API keys, on every /v1 route and /webhooks/console ---- */
	{ "auth", "POST /v1/surveys: no Authorization", SURVEYS, .auth = "",
	  R(T_GOOD("auth-ok")), NO_KEY },
	{ "auth", "POST /v1/surveys: Bearer alone", SURVEYS, .auth = "Bearer",
	  R(T_GOOD("auth-ok")), NO_KEY },
	{ "auth", "POST /v1/surveys: Basic", SURVEYS, .auth = "Basic ZTJlLWtleS0xOg==",
	  R(T_GOOD("auth-ok")), NO_KEY },
	{ "auth", "POST /v1/surveys: Token scheme", SURVEYS, .auth = "Token " K1,
	  R(T_GOOD("auth-ok")), NO_KEY },
	{ "auth", "POST /v1/surveys: key without scheme", SURVEYS, .auth = K1,
	  R(T_GOOD("auth-ok")), NO_KEY },
	{ "auth", "POST /v1/surveys: Bearer, tab, key", SURVEYS, .auth = "Bearer\t" K1,
	  R(T_GOOD("auth-ok")), NO_KEY },
	{ "auth", "POST /v1/surveys: wrong key", SURVEYS, .auth = "Bearer wrong",
	  R(T_GOOD("auth-ok")), BAD_KEY },
	{ "auth", "POST /v1/surveys: a prefix of the key", SURVEYS, .auth = "Bearer e2e-key",
	  R(T_GOOD("auth-ok")), BAD_KEY },
	{ "auth", "POST /v1/surveys: the key plus a character", SURVEYS, .auth = "Bearer " K1 "x",
	  R(T_GOOD("auth-ok")), BAD_KEY },
	{ "auth", "POST /v1/surveys: the key in upper case", SURVEYS, .auth = "Bearer E2E-KEY-1",
	  R(T_GOOD("auth-ok")), BAD_KEY },
	{ "auth", "POST /v1/surveys: both keys in one", SURVEYS,
	  .auth = "Bearer " K1 ", Bearer e2e-key-2", R(T_GOOD("auth-ok")), BAD_KEY },
	{ "auth", "POST /v1/surveys: key in the query", .method = "POST",
	  .path = "/v1/surveys?api_key=" K1, .auth = "", R(T_GOOD("auth-ok")), NO_KEY },
	{ "auth", "POST /v1/surveys: key in X-API-Key", SURVEYS, .auth = "",
	  .hdr = { "X-API-Key: " K1 }, R(T_GOOD("auth-ok")), NO_KEY },
	{ "auth", "lower-case bearer is the key", SURVEYS, .auth = "bearer " K1, R(T_BADPHONE),
	  BADPHONE },
	{ "auth", "upper-case BEARER is the key", SURVEYS, .auth = "BEARER " K1, R(T_BADPHONE),
	  BADPHONE },
	{ "auth", "the second key works", SURVEYS, .auth = "Bearer e2e-key-2", R(T_BADPHONE),
	  BADPHONE },
	/* RIGHT (next three): OWS around a field value and 1*SP after the scheme are not part of
	 * the credentials (RFC 9110 §5.5, §11.4); the gateway answers 403 forbidden */
	{ "auth", "a trailing space is not part of the key", SURVEYS, .auth = "",
	  .hdr = { "Authorization: Bearer " K1 " " }, R(T_BADPHONE), .send = SEND_RAW, BADPHONE },
	{ "auth", "a trailing tab is not part of the key", SURVEYS, .auth = "",
	  .hdr = { "Authorization: Bearer " K1 "\t" }, R(T_BADPHONE), .send = SEND_RAW, BADPHONE },
	{ "auth", "two spaces after Bearer", SURVEYS, .auth = "",
	  .hdr = { "Authorization: Bearer  " K1 }, R(T_BADPHONE), .send = SEND_RAW, BADPHONE },
	/* Fixed: a 401 MUST carry WWW-Authenticate (RFC 9110 §11.6.1); the gateway sends none */
	{ "auth", "401 names its scheme in WWW-Authenticate", .method = "GET",
	  .path = "/v1/surveys/x", .auth = "", .send = SEND_RAW, NO_KEY,
	  .want_header = "WWW-Authenticate" },
	{ "auth", "GET /v1/surveys/{id}: no Authorization", .method = "GET",
	  .path = "/v1/surveys/0123456789abcdef01234567", .auth = "", NO_KEY },
	{ "auth", "GET /v1/surveys/{id}: Bearer alone", .method = "GET",
	  .path = "/v1/surveys/0123456789abcdef01234567", .auth = "Bearer", NO_KEY },
	{ "auth", "GET /v1/surveys/{id}: Basic", .method = "GET",
	  .path = "/v1/surveys/0123456789abcdef01234567", .auth = "Basic ZTJlLWtleS0xOg==",
	  NO_KEY },
	{ "auth", "GET /v1/surveys/{id}: wrong key", .method = "GET",
	  .path = "/v1/surveys/0123456789abcdef01234567", .auth = "Bearer wrong", BAD_KEY },
	{ "auth", "GET /v1/surveys/{id}: a prefix of the key", .method = "GET",
	  .path = "/v1/surveys/0123456789abcdef01234567", .auth = "Bearer e2e-key", BAD_KEY },
	{ "auth", "GET /v1/surveys?status=: no Authorization", LIST_Q("status=sent"), .auth = "",
	  NO_KEY },
	{ "auth", "GET /v1/surveys?status=: Bearer alone", LIST_Q("status=sent"),
	  .auth = "Bearer", NO_KEY },
	{ "auth", "GET /v1/surveys?status=: Basic", LIST_Q("status=sent"),
	  .auth = "Basic ZTJlLWtleS0xOg==", NO_KEY },
	{ "auth", "GET /v1/surveys?status=: wrong key", LIST_Q("status=sent"),
	  .auth = "Bearer wrong", BAD_KEY },
	{ "auth", "GET /v1/surveys?status=: a prefix of the key", LIST_Q("status=sent"),
	  .auth = "Bearer e2e-key", BAD_KEY },
	{ "auth", "GET /v1/responses.csv: no Authorization", CSV_Q("kind=nps"), .auth = "",
	  NO_KEY },
	{ "auth", "GET /v1/responses.csv: Bearer alone", CSV_Q("kind=nps"), .auth = "Bearer",
	  NO_KEY },
	{ "auth", "GET /v1/responses.csv: Basic", CSV_Q("kind=nps"),
	  .auth = "Basic ZTJlLWtleS0xOg==", NO_KEY },
	{ "auth", "GET /v1/responses.csv: wrong key", CSV_Q("kind=nps"), .auth = "Bearer wrong",
	  BAD_KEY },
	{ "auth", "GET /v1/responses.csv: a prefix of the key", CSV_Q("kind=nps"),
	  .auth = "Bearer e2e-key", BAD_KEY },
	{ "auth", "GET /v1/responses.csv: bad filter, no key", CSV_Q("kind=xyz"), .auth = "",
	  NO_KEY },
	{ "auth", "unknown /v1 route: no Authorization", .method = "GET", .path = "/v1/nope",
	  .auth = "", NO_KEY },
	{ "auth", "OPTIONS /v1/surveys: no Authorization", .method = "OPTIONS",
	  .path = "/v1/surveys", .auth = "", NO_KEY },
	{ "auth", "console: no Authorization", CONSOLE, .auth = "", R(CON_OK), NO_KEY },
	{ "auth", "console: Bearer alone", CONSOLE, .auth = "Bearer", R(CON_OK), NO_KEY },
	{ "auth", "console: Basic", CONSOLE, .auth = "Basic ZTJlLWtleS0xOg==", R(CON_OK), NO_KEY },
	{ "auth", "console: key without scheme", CONSOLE, .auth = K1, R(CON_OK), NO_KEY },
	{ "auth", "console: wrong key", CONSOLE, .auth = "Bearer wrong", R(CON_OK), BAD_KEY },
	{ "auth", "console: a prefix of the key", CONSOLE, .auth = "Bearer e2e-key", R(CON_OK),
	  BAD_KEY },
	{ "auth", "console: the Zenvia token instead", CONSOLE, .auth = "", .hdr = { ZV_OK },
	  R(CON_OK), NO_KEY },

	/* ---- twilio: X-Twilio-Signature missing, wrong, or over another request ---- */
	{ "twilio", "inbound: no signature", TWILIO_IN, R(TW_OK), SIG_MISSING },
	{ "twilio", "inbound: empty signature", TWILIO_IN, .hdr = { "X-Twilio-Signature;" },
	  R(TW_OK), SIG_MISSING },
	{ "twilio", "inbound: another auth token", TWILIO_IN, R(TW_OK), .sign = SIGN_TWILIO_WRONG,
	  SIG_BAD },
	{ "twilio", "inbound: garbage", TWILIO_IN, .hdr = { "X-Twilio-Signature: abc" }, R(TW_OK),
	  SIG_BAD },
	{ "twilio", "inbound replayed, Body altered", TWILIO_IN,
	  R(TW_FORM(TW_SID, "%2B34600111222", "10")), .sign = SIGN_TWILIO, .sign_body = TW_OK,
	  SIG_BAD },
	{ "twilio", "inbound replayed, From altered", TWILIO_IN,
	  R(TW_FORM(TW_SID, "%2B34600111333", "9")), .sign = SIGN_TWILIO, .sign_body = TW_OK,
	  SIG_BAD },
	{ "twilio", "inbound replayed, MessageSid altered", TWILIO_IN,
	  R(TW_FORM("SMh0000000000000000000000000000009", "%2B34600111222", "9")),
	  .sign = SIGN_TWILIO, .sign_body = TW_OK, SIG_BAD },
	{ "twilio", "inbound replayed, a field appended", TWILIO_IN, R(TW_OK "&OptOutType=STOP"),
	  .sign = SIGN_TWILIO, .sign_body = TW_OK, SIG_BAD },
	{ "twilio", "inbound replayed, a field dropped", TWILIO_IN,
	  R("MessageSid=" TW_SID "&AccountSid=" HARNESS_TWILIO_SID "&From=%2B34600111222&Body=9"),
	  .sign = SIGN_TWILIO, .sign_body = TW_OK, SIG_BAD },
	{ "twilio", "inbound signed for /webhooks/twilio/status", TWILIO_IN, R(TW_OK),
	  .sign = SIGN_TWILIO, .sign_url = "/webhooks/twilio/status", SIG_BAD },
	{ "twilio", "inbound signed for another host", TWILIO_IN, R(TW_OK), .sign = SIGN_TWILIO,
	  .sign_url = "https://evil.example/webhooks/twilio", SIG_BAD },
	{ "twilio", "inbound signature without its padding", TWILIO_IN, R(TW_OK),
	  .sign = SIGN_TWILIO, .sig_fmt = "%s@STRIP=", SIG_BAD },
	{ "twilio", "inbound signature in lower case", TWILIO_IN, R(TW_OK), .sign = SIGN_TWILIO,
	  .sig_case = -1, SIG_BAD },
	{ "twilio", "inbound signature twice in one value", TWILIO_IN, R(TW_OK),
	  .sign = SIGN_TWILIO, .sig_fmt = "%s,%s", SIG_BAD },
	{ "twilio", "inbound as JSON, unsigned", TWILIO_IN, .ctype = "application/json",
	  R("{\"MessageSid\":\"" TW_SID "\",\"From\":\"" PHONE "\",\"Body\":\"9\"}"), SIG_MISSING },
	{ "twilio", "status: no signature", TWILIO_ST, R(TW_ST_OK), SIG_MISSING },
	{ "twilio", "status: another auth token", TWILIO_ST, R(TW_ST_OK),
	  .sign = SIGN_TWILIO_WRONG, SIG_BAD },
	{ "twilio", "status replayed, MessageStatus altered", TWILIO_ST,
	  R(TW_STATUS("SMh0000000000000000000000000000002", "read")), .sign = SIGN_TWILIO,
	  .sign_body = TW_ST_OK, SIG_BAD },
	{ "twilio", "status signed for /webhooks/twilio", TWILIO_ST, R(TW_ST_OK),
	  .sign = SIGN_TWILIO, .sign_url = "/webhooks/twilio", SIG_BAD },
	/* Fixed: a badly signed request is refused before its content is looked at (twilio.c's
	 * own header comment); 300 fields make it a 400 invalid_form instead */
	{ "twilio", "inbound with 300 fields, badly signed", TWILIO_IN,
	  .hdr = { "X-Twilio-Signature: bm90LWEtc2lnbmF0dXJl" }, R(TW_OK "&@BIG@"), .big = 600,
	  .big_pat = "a&", SIG_BAD },
	{ "twilio", "inbound signed, no MessageSid", TWILIO_IN,
	  R("AccountSid=" HARNESS_TWILIO_SID "&From=%2B34600111222&To=%2B15005550006&Body=9"),
	  .sign = SIGN_TWILIO, E(400, "missing_field", "MessageSid") },
	{ "twilio", "inbound signed, 200-character MessageSid", TWILIO_IN,
	  R(TW_FORM(LONG_ID, "%2B34600111222", "9")), .sign = SIGN_TWILIO,
	  E(400, "missing_field", "MessageSid") },
	{ "twilio", "inbound signed, no From", TWILIO_IN,
	  R("MessageSid=" TW_SID "&AccountSid=" HARNESS_TWILIO_SID "&To=%2B15005550006&Body=9"),
	  .sign = SIGN_TWILIO, E(400, "missing_field", "From") },
	{ "twilio", "inbound signed, empty From", TWILIO_IN, R(TW_FORM(TW_SID, "", "9")),
	  .sign = SIGN_TWILIO, E(400, "missing_field", "From") },
	{ "twilio", "status signed, no MessageStatus", TWILIO_ST,
	  R("MessageSid=SMh0000000000000000000000000000002&AccountSid=" HARNESS_TWILIO_SID),
	  .sign = SIGN_TWILIO, E(400, "missing_field", "MessageStatus") },
	{ "twilio", "status signed, no MessageSid", TWILIO_ST,
	  R("MessageStatus=delivered&AccountSid=" HARNESS_TWILIO_SID), .sign = SIGN_TWILIO,
	  E(400, "missing_field", "MessageSid") },
	{ "twilio", "GET /webhooks/twilio", .method = "GET", .path = "/webhooks/twilio",
	  NOT_ALLOWED },
	{ "twilio", "PUT /webhooks/twilio/status", .method = "PUT",
	  .path = "/webhooks/twilio/status", NOT_ALLOWED },
	{ "twilio", "POST /webhooks/twilio/", .method = "POST", .path = "/webhooks/twilio/",
	  R(TW_OK), .sign = SIGN_TWILIO, NOT_FOUND },
	{ "twilio", "POST /webhooks/twilio/statusx", .method = "POST",
	  .path = "/webhooks/twilio/statusx", R(TW_ST_OK), .sign = SIGN_TWILIO, NOT_FOUND },

	/* ---- meta: X-Hub-Signature-256 missing, wrong, not hex; bad notifications ---- */
	{ "meta", "no signature", META, R(META_OK), HUB_MISSING },
	{ "meta", "empty signature", META, .hdr = { "X-Hub-Signature-256;" }, R(META_OK),
	  HUB_MISSING },
	{ "meta", "only the SHA-1 X-Hub-Signature", META,
	  .hdr = { "X-Hub-Signature: sha1=0123456789abcdef0123456789abcdef01234567" }, R(META_OK),
	  HUB_MISSING },
	{ "meta", "sha256= and nothing", META, .hdr = { "X-Hub-Signature-256: sha256=" },
	  R(META_OK), HUB_BAD },
	{ "meta", "sha256= and 64 non-hex characters", META,
	  .hdr = { "X-Hub-Signature-256: sha256="
		   "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" },
	  R(META_OK), HUB_BAD },
	{ "meta", "sha256= and 64 spaces", META,
	  .hdr = { "X-Hub-Signature-256: sha256=                                "
		   "                                " }, R(META_OK), HUB_BAD },
	{ "meta", "another app secret", META, R(META_OK), .sign = SIGN_META_WRONG, HUB_BAD },
	{ "meta", "replayed, text altered", META,
	  R(META_MSG("\"34600111222\"", "\"wamid.hostile1\"", "\"10\"")), .sign = SIGN_META,
	  .sign_body = META_OK, HUB_BAD },
	{ "meta", "replayed, sender altered", META,
	  R(META_MSG("\"34600111333\"", "\"wamid.hostile1\"", "\"9\"")), .sign = SIGN_META,
	  .sign_body = META_OK, HUB_BAD },
	{ "meta", "replayed with a trailing newline", META, R(META_OK "\n"), .sign = SIGN_META,
	  .sign_body = META_OK, HUB_BAD },
	{ "meta", "hex in upper case", META, R(META_OK), .sign = SIGN_META, .sig_case = 1,
	  HUB_BAD },
	{ "meta", "SHA256= prefix", META, R(META_OK), .sign = SIGN_META, .sig_fmt = "SHA256=%s",
	  HUB_BAD },
	{ "meta", "hex without sha256=", META, R(META_OK), .sign = SIGN_META,
	  .sig_fmt = "%s@STRIPPREFIX", HUB_BAD },
	{ "meta", "sha1= with the right hex", META, R(META_OK), .sign = SIGN_META,
	  .sig_fmt = "sha1=%s@STRIPPREFIX", HUB_BAD },
	{ "meta", "right signature and trailing hex", META, R(META_OK), .sign = SIGN_META,
	  .sig_fmt = "%s00", HUB_BAD },
	{ "meta", "right signature cut by one digit", META, R(META_OK), .sign = SIGN_META,
	  .sig_fmt = "%s@CUT1", HUB_BAD },
	{ "meta", "signed, not JSON", META, R("entry=1"), .sign = SIGN_META, BAD_JSON },
	{ "meta", "signed, a JSON array", META, R("[" META_OK "]"), .sign = SIGN_META, BAD_JSON },
	{ "meta", "signed, truncated JSON", META,
	  R("{\"entry\":["), .sign = SIGN_META, BAD_JSON },
	{ "meta", "signed, entry a string", META, R("{\"object\":\"x\",\"entry\":\"e\"}"),
	  .sign = SIGN_META, E(400, "missing_field", "entry") },
	{ "meta", "signed, no entry", META, R("{\"object\":\"whatsapp_business_account\"}"),
	  .sign = SIGN_META, E(400, "missing_field", "entry") },
	{ "meta", "signed, message without id", META,
	  R(META_MSG("\"34600111222\"", "null", "\"9\"")), .sign = SIGN_META,
	  E(400, "missing_field", "messages[].id") },
	{ "meta", "signed, message with a 200-character id", META,
	  R(META_MSG("\"34600111222\"", "\"" LONG_ID "\"", "\"9\"")), .sign = SIGN_META,
	  E(400, "missing_field", "messages[].id") },
	{ "meta", "signed, message without from", META,
	  R(META_MSG("null", "\"wamid.hostile5\"", "\"9\"")), .sign = SIGN_META,
	  E(400, "missing_field", "messages[].from") },
	{ "meta", "signed, status without id", META, R(META_STATUS_NO_ID), .sign = SIGN_META,
	  E(400, "missing_field", "statuses[].id") },
	{ "meta", "handshake: wrong verify token",
	  HUB("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=123"),
	  E(403, "forbidden", "hub.verify_token") },
	{ "meta", "handshake: the token's prefix",
	  HUB("hub.mode=subscribe&hub.verify_token=hostile&hub.challenge=123"),
	  E(403, "forbidden", "hub.verify_token") },
	{ "meta", "handshake: mode unsubscribe",
	  HUB("hub.mode=unsubscribe&hub.verify_token=" META_VERIFY "&hub.challenge=123"),
	  E(403, "forbidden", "hub.verify_token") },
	{ "meta", "handshake: no parameters", .method = "GET", .path = "/webhooks/meta",
	  E(403, "forbidden", "hub.verify_token") },
	{ "meta", "handshake: no challenge",
	  HUB("hub.mode=subscribe&hub.verify_token=" META_VERIFY),
	  E(400, "missing_field", "hub.challenge") },
	{ "meta", "PUT /webhooks/meta", .method = "PUT", .path = "/webhooks/meta", NOT_ALLOWED },
	{ "meta", "DELETE /webhooks/meta", .method = "DELETE", .path = "/webhooks/meta",
	  NOT_ALLOWED },
	{ "meta", "POST /webhooks/meta/x", .method = "POST", .path = "/webhooks/meta/x",
	  R(META_OK), .sign = SIGN_META, NOT_FOUND },

	/* ---- zenvia: X-Gateway-Token missing or wrong; bad events ---- */
	{ "zenvia", "no token", ZENVIA, R(ZV_EV_OK),
	  E(403, "missing_token", "X-Gateway-Token") },
	{ "zenvia", "empty token", ZENVIA, .hdr = { "X-Gateway-Token;" }, R(ZV_EV_OK),
	  E(403, "missing_token", "X-Gateway-Token") },
	{ "zenvia", "wrong token", ZENVIA, .hdr = { "X-Gateway-Token: wrong" }, R(ZV_EV_OK),
	  E(403, "invalid_token", "X-Gateway-Token") },
	{ "zenvia", "a prefix of the token", ZENVIA, .hdr = { "X-Gateway-Token: zv-hostile" },
	  R(ZV_EV_OK), E(403, "invalid_token", "X-Gateway-Token") },
	{ "zenvia", "the token plus a character", ZENVIA, .hdr = { ZV_OK "x" }, R(ZV_EV_OK),
	  E(403, "invalid_token", "X-Gateway-Token") },
	{ "zenvia", "the token in upper case", ZENVIA,
	  .hdr = { "X-Gateway-Token: ZV-HOSTILE-WEBHOOK-SECRET-7C1D" }, R(ZV_EV_OK),
	  E(403, "invalid_token", "X-Gateway-Token") },
	{ "zenvia", "the API token instead", ZENVIA, .hdr = { "X-Gateway-Token: " ZV_TOKEN },
	  R(ZV_EV_OK), E(403, "invalid_token", "X-Gateway-Token") },
	{ "zenvia", "the token as a Bearer key", ZENVIA, .auth = "Bearer " ZV_WEBHOOK, R(ZV_EV_OK),
	  E(403, "missing_token", "X-Gateway-Token") },
	{ "zenvia", "the token in the query", .gw = GW_B, .method = "POST",
	  .path = "/webhooks/zenvia?token=" ZV_WEBHOOK, R(ZV_EV_OK),
	  E(403, "missing_token", "X-Gateway-Token") },
	/* Fixed: trailing OWS is not part of the value (RFC 9110 §5.5); the gateway answers 403
	 * invalid_token */
	{ "zenvia", "a trailing space is not part of the token", ZENVIA, .hdr = { ZV_OK " " },
	  R("{\"id\":\"zev-hostile-3\"}"), .send = SEND_RAW, E(400, "missing_field", "type") },
	{ "zenvia", "not JSON", ZENVIA, .hdr = { ZV_OK }, R("type=MESSAGE"), BAD_JSON },
	{ "zenvia", "a JSON array", ZENVIA, .hdr = { ZV_OK }, R("[" ZV_EV_OK "]"), BAD_JSON },
	{ "zenvia", "duplicate members", ZENVIA, .hdr = { ZV_OK },
	  R("{\"id\":\"a\",\"id\":\"b\",\"type\":\"MESSAGE\"}"), BAD_JSON },
	{ "zenvia", "no type", ZENVIA, .hdr = { ZV_OK }, R("{\"id\":\"zev-hostile-4\"}"),
	  E(400, "missing_field", "type") },
	{ "zenvia", "no id", ZENVIA, .hdr = { ZV_OK }, R("{\"type\":\"MESSAGE\"}"),
	  E(400, "missing_field", "id") },
	{ "zenvia", "a 200-character id", ZENVIA, .hdr = { ZV_OK },
	  R(ZV_MSG("\"" LONG_ID "\"", "\"34600111222\"", "\"9\"")), E(400, "missing_field", "id") },
	{ "zenvia", "MESSAGE IN without message", ZENVIA, .hdr = { ZV_OK },
	  R("{\"id\":\"zev-hostile-5\",\"type\":\"MESSAGE\",\"direction\":\"IN\"}"),
	  E(400, "missing_field", "message") },
	{ "zenvia", "MESSAGE IN without from", ZENVIA, .hdr = { ZV_OK },
	  R(ZV_MSG("\"zev-hostile-6\"", "null", "\"9\"")), E(400, "missing_field", "message.from") },
	{ "zenvia", "MESSAGE_STATUS without messageId", ZENVIA, .hdr = { ZV_OK },
	  R("{\"id\":\"zev-hostile-7\",\"type\":\"MESSAGE_STATUS\",\"messageStatus\":"
	    "{\"code\":\"DELIVERED\"}}"), E(400, "missing_field", "messageId") },
	{ "zenvia", "MESSAGE_STATUS without a code", ZENVIA, .hdr = { ZV_OK },
	  R("{\"id\":\"zev-hostile-8\",\"type\":\"MESSAGE_STATUS\",\"messageId\":\"m-1\","
	    "\"messageStatus\":{}}"), E(400, "missing_field", "messageStatus.code") },
	{ "zenvia", "GET /webhooks/zenvia", .gw = GW_B, .method = "GET", .path = "/webhooks/zenvia",
	  NOT_ALLOWED },
	{ "zenvia", "POST /webhooks/zenvia/x", .gw = GW_B, .method = "POST",
	  .path = "/webhooks/zenvia/x", .hdr = { ZV_OK }, R(ZV_EV_OK), NOT_FOUND },

	/* ---- console: bad messages (with the API key) ---- */
	{ "console", "not JSON", CONSOLE, R("from=%2B34600111222&text=9"), BAD_JSON },
	{ "console", "a JSON array", CONSOLE, R("[" CON_OK "]"), BAD_JSON },
	{ "console", "duplicate members", CONSOLE,
	  R("{\"from\":\"" PHONE "\",\"text\":\"9\",\"text\":\"10\"}"), BAD_JSON },
	{ "console", "text absent", CONSOLE, R("{\"from\":\"" PHONE "\"}"),
	  E(422, "invalid_text", "text") },
	{ "console", "text a number", CONSOLE, R(CON("\"" PHONE "\"", "9")),
	  E(422, "invalid_text", "text") },
	{ "console", "text null", CONSOLE, R(CON("\"" PHONE "\"", "null")),
	  E(422, "invalid_text", "text") },
	{ "console", "id empty", CONSOLE, R(CON_X("\"" PHONE "\"", "\"9\"", "\"id\":\"\"")),
	  E(422, "invalid_id", "id") },
	{ "console", "id a number", CONSOLE, R(CON_X("\"" PHONE "\"", "\"9\"", "\"id\":5")),
	  E(422, "invalid_id", "id") },
	{ "console", "id of 200 characters", CONSOLE,
	  R(CON_X("\"" PHONE "\"", "\"9\"", "\"id\":\"" LONG_ID "\"")),
	  E(422, "invalid_id", "id") },
	{ "console", "channel fax", CONSOLE, R(CON_X("\"" PHONE "\"", "\"9\"", "\"channel\":\"fax\"")),
	  E(422, "invalid_channel", "channel") },
	{ "console", "channel a number", CONSOLE,
	  R(CON_X("\"" PHONE "\"", "\"9\"", "\"channel\":1")), E(422, "invalid_channel", "channel") },
	{ "console", "GET /webhooks/console", .gw = GW_B, .method = "GET",
	  .path = "/webhooks/console", NOT_ALLOWED },
	/* Fixed: 405; the body cap (0 bytes for anything but a known POST) is applied before
	 * routing, so the gateway answers 413 "larger than 0 bytes" */
	{ "console", "PUT /webhooks/console", .gw = GW_B, .method = "PUT",
	  .path = "/webhooks/console", R(CON_OK), NOT_ALLOWED },

	/* ---- route: unknown routes and wrong methods ---- */
	{ "route", "GET /", .method = "GET", .path = "/", NOT_FOUND },
	{ "route", "GET /v1", .method = "GET", .path = "/v1", NOT_FOUND },
	{ "route", "GET /v1/", .method = "GET", .path = "/v1/", NOT_FOUND },
	{ "route", "GET /v2/surveys", .method = "GET", .path = "/v2/surveys", NOT_FOUND },
	/* RIGHT (these three, and PUT and PATCH below): 404 / 405; the body cap (0 bytes for
	 * anything but a known POST route) is applied before routing, so a request with a body
	 * gets 413 "request body is larger than 0 bytes" */
	{ "route", "POST /V1/surveys", .method = "POST", .path = "/V1/surveys",
	  R(T_GOOD("route-case")), NOT_FOUND },
	{ "route", "POST /v1/surveys/", .method = "POST", .path = "/v1/surveys/",
	  R(T_GOOD("route-slash")), NOT_FOUND },
	{ "route", "POST /v1//surveys", .method = "POST", .path = "/v1//surveys",
	  R(T_GOOD("route-double")), NOT_FOUND },
	{ "route", "GET /v1/surveys/a/b", .method = "GET", .path = "/v1/surveys/a/b", NOT_FOUND },
	{ "route", "GET /v1/surveys/{unknown}", .method = "GET",
	  .path = "/v1/surveys/0123456789abcdef01234567", E(404, "not_found", "id") },
	{ "route", "GET /v1/surveys/{unknown}?x=1", .method = "GET",
	  .path = "/v1/surveys/0123456789abcdef01234567?x=1", E(404, "not_found", "id") },
	{ "route", "GET /v1/responses.csv/", .method = "GET", .path = "/v1/responses.csv/",
	  NOT_FOUND },
	{ "route", "GET /v1/responses.CSV", .method = "GET", .path = "/v1/responses.CSV",
	  NOT_FOUND },
	{ "route", "GET /v1/responses.json", .method = "GET", .path = "/v1/responses.json",
	  NOT_FOUND },
	{ "route", "GET /healthz/", .method = "GET", .path = "/healthz/", NOT_FOUND },
	{ "route", "GET /.env", .method = "GET", .path = "/.env", NOT_FOUND },
	{ "route", "GET /../../etc/passwd", RAW(
	  "GET /../../etc/passwd HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n"), NOT_FOUND },
	{ "route", "GET /v1/../healthz", RAW(
	  "GET /v1/../healthz HTTP/1.1\r\n" HOST KEY_LINE "Connection: close\r\n\r\n"), NOT_FOUND },
	{ "route", "GET /webhooks/", .method = "GET", .path = "/webhooks/", NOT_FOUND },
	{ "route", "POST /webhooks/unknown", .method = "POST", .path = "/webhooks/unknown",
	  R("{}"), NOT_FOUND },
	{ "route", "POST /webhooks/console on A (no channel uses it)", .method = "POST",
	  .path = "/webhooks/console", R(CON_OK), NOT_FOUND },
	{ "route", "POST /webhooks/zenvia on A", .method = "POST", .path = "/webhooks/zenvia",
	  .hdr = { ZV_OK }, R(ZV_EV_OK), NOT_FOUND },
	{ "route", "POST /webhooks/twilio on B", .gw = GW_B, TWILIO_IN, R(TW_OK),
	  .sign = SIGN_TWILIO, NOT_FOUND },
	{ "route", "POST /webhooks/meta on B", .gw = GW_B, META, R(META_OK), .sign = SIGN_META,
	  NOT_FOUND },
	{ "route", "a 40 KB URL", .method = "GET", .path = "/v1/surveys/@BIG@", .big = 40000,
	  .big_in_path = 1, .send = SEND_RAW, E(414, NULL, NULL), .lib = 1 },
	/* Fixed: a 405 MUST carry Allow (RFC 9110 §15.5.6); the gateway sends none */
	{ "route", "405 names the allowed methods in Allow", .method = "DELETE",
	  .path = "/v1/surveys", .send = SEND_RAW, NOT_ALLOWED, .want_header = "Allow" },
	{ "route", "PUT /v1/surveys", .method = "PUT", .path = "/v1/surveys",
	  R(T_GOOD("route-put")), NOT_ALLOWED },
	{ "route", "PATCH /v1/surveys", .method = "PATCH", .path = "/v1/surveys",
	  R(T_GOOD("route-patch")), NOT_ALLOWED },
	{ "route", "DELETE /v1/surveys", .method = "DELETE", .path = "/v1/surveys", NOT_ALLOWED },
	{ "route", "DELETE /v1/surveys/{id}", .method = "DELETE",
	  .path = "/v1/surveys/0123456789abcdef01234567", NOT_ALLOWED },
	{ "route", "PUT /v1/surveys/{id}", .method = "PUT",
	  .path = "/v1/surveys/0123456789abcdef01234567", NOT_ALLOWED },
	{ "route", "POST /v1/responses.csv", .method = "POST", .path = "/v1/responses.csv",
	  NOT_ALLOWED },
	{ "route", "POST /healthz", .method = "POST", .path = "/healthz", NOT_ALLOWED },
	{ "route", "DELETE /healthz", .method = "DELETE", .path = "/healthz", NOT_ALLOWED },
	{ "route", "lower-case post", RAW(
	  "post /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Connection: close\r\n\r\n"),
	  NOT_ALLOWED },
	{ "route", "unknown method FOO", RAW(
	  "FOO /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Connection: close\r\n\r\n"), NOT_ALLOWED },

	/* ---- query: bad filters on GET /v1/responses.csv ---- */
	{ "query", "kind=foo", CSV_Q("kind=foo"), E(422, "invalid_kind", "kind") },
	{ "query", "kind empty", CSV_Q("kind="), E(422, "invalid_kind", "kind") },
	{ "query", "kind=NPS", CSV_Q("kind=NPS"), E(422, "invalid_kind", "kind") },
	{ "query", "kind=nps,ces", CSV_Q("kind=nps,ces"), E(422, "invalid_kind", "kind") },
	{ "query", "kind=nps%20", CSV_Q("kind=nps%20"), E(422, "invalid_kind", "kind") },
	{ "query", "since month 13", CSV_Q("since=2026-13-01"), E(422, "invalid_date", "since") },
	{ "query", "since February 30", CSV_Q("since=2026-02-30"),
	  E(422, "invalid_date", "since") },
	{ "query", "since one-digit month", CSV_Q("since=2026-1-01"),
	  E(422, "invalid_date", "since") },
	{ "query", "since without dashes", CSV_Q("since=20260101"),
	  E(422, "invalid_date", "since") },
	{ "query", "since with a time", CSV_Q("since=2026-01-01T00:00:00Z"),
	  E(422, "invalid_date", "since") },
	{ "query", "since a word", CSV_Q("since=yesterday"), E(422, "invalid_date", "since") },
	{ "query", "since empty", CSV_Q("since="), E(422, "invalid_date", "since") },
	{ "query", "since 1969", CSV_Q("since=1969-12-31"), E(422, "invalid_date", "since") },
	{ "query", "since signed year", CSV_Q("since=%2B026-01-01"),
	  E(422, "invalid_date", "since") },
	{ "query", "since with a trailing space", CSV_Q("since=2026-01-01%20"),
	  E(422, "invalid_date", "since") },
	{ "query", "since with a leading space", CSV_Q("since=%202026-01-1"),
	  E(422, "invalid_date", "since") },
	{ "query", "until month 0", CSV_Q("until=2026-00-10"), E(422, "invalid_date", "until") },
	{ "query", "until November 31", CSV_Q("until=2026-11-31"),
	  E(422, "invalid_date", "until") },
	{ "query", "until before since", CSV_Q("since=2026-11-10&until=2026-11-01"),
	  E(422, "invalid_date", "until") },
	{ "query", "until a number", CSV_Q("until=1795604400"), E(422, "invalid_date", "until") },
	{ "query", "list without status", .method = "GET", .path = "/v1/surveys",
	  E(422, "invalid_status", "status") },
	{ "query", "list status=bogus", LIST_Q("status=bogus"), E(422, "invalid_status", "status") },
	{ "query", "list status=UNCERTAIN", LIST_Q("status=UNCERTAIN"),
	  E(422, "invalid_status", "status") },
	{ "query", "list status empty", LIST_Q("status="), E(422, "invalid_status", "status") },
	{ "query", "list status ' OR 1=1", LIST_Q("status=sent%27%20OR%201=1"),
	  E(422, "invalid_status", "status") },
	/* Fixed: "uncertain\0x" is not a status (gateway: 200, read as "uncertain") */
	{ "query", "list status=uncertain%00x", LIST_Q("status=uncertain%00x"),
	  E(422, "invalid_status", "status") },
	{ "query", "list limit=0", LIST_Q("status=sent&limit=0"),
	  E(422, "invalid_limit", "limit") },
	{ "query", "list limit=1001", LIST_Q("status=sent&limit=1001"),
	  E(422, "invalid_limit", "limit") },
	{ "query", "list limit=-1", LIST_Q("status=sent&limit=-1"),
	  E(422, "invalid_limit", "limit") },
	{ "query", "list limit=abc", LIST_Q("status=sent&limit=abc"),
	  E(422, "invalid_limit", "limit") },
	{ "query", "list limit=10x", LIST_Q("status=sent&limit=10x"),
	  E(422, "invalid_limit", "limit") },
	{ "query", "list limit=1e3", LIST_Q("status=sent&limit=1e3"),
	  E(422, "invalid_limit", "limit") },
	{ "query", "list limit=99999999999999999999", LIST_Q("status=sent&limit=99999999999999999999"),
	  E(422, "invalid_limit", "limit") },
	{ "query", "list limit empty", LIST_Q("status=sent&limit="),
	  E(422, "invalid_limit", "limit") },

	/* ---- idem: bad Idempotency-Key headers on POST /v1/surveys ---- */
	{ "idem", "empty key", SURVEYS, .hdr = { "Idempotency-Key;" }, R(T_GOOD("idem-ok")),
	  IDEM_BAD },
	{ "idem", "256-character key", SURVEYS,
	  .hdr = { "Idempotency-Key: " LONG_ID "0123456789012345678901234567890123456789"
		   "0123456789012345" }, R(T_GOOD("idem-ok")), IDEM_BAD },
	{ "idem", "key with a space", SURVEYS, .hdr = { "Idempotency-Key: a b" },
	  R(T_GOOD("idem-ok")), IDEM_BAD },
	{ "idem", "key with a tab", SURVEYS, .hdr = { "Idempotency-Key: a\tb" },
	  R(T_GOOD("idem-ok")), .send = SEND_RAW, IDEM_BAD },
	{ "idem", "key with non-ASCII", SURVEYS, .hdr = { "Idempotency-Key: clé-1" },
	  R(T_GOOD("idem-ok")), IDEM_BAD },
	{ "idem", "key with a bare CR", SURVEYS, .hdr = { "Idempotency-Key: a\rb" },
	  R(T_GOOD("idem-ok")), .send = SEND_RAW, IDEM_BAD },
	/* libmicrohttpd hands over "abc": the body is answered (422), and a refusal is not kept
	 * under the key */
	{ "idem", "key with a NUL", RAW(
	  "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
	  "Idempotency-Key: abc\0def\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"),
	  E(422, "missing_field", "customer") },
	/* RIGHT (a judgment call): a request refused by validation executes nothing, so it leaves
	 * nothing behind (Stripe keeps no result for it: the client can fix the body and retry
	 * with the same key); the gateway stores the 422 under the key */
	{ "idem", "valid key, invalid trigger: nothing stored", SURVEYS,
	  .hdr = { "Idempotency-Key: hostile-idem-1" }, R(T_BADPHONE), BADPHONE },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- small helpers ---- */

/* Appends `len` bytes of `s` printable: other bytes as \xHH, at most `max` bytes shown. */
static void excerpt(struct buf *out, const char *s, size_t len, size_t max)
{
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			buf_putc(out, (char)c);
		else
			buf_printf(out, "\\x%02x", c);
	}
	if (len > max)
		buf_printf(out, "...(%zu bytes)", len);
}

/* 1 when `head` (a response's status line and headers) has a header named `name`. */
static int head_has(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
			return 1;
	return 0;
}

/* Copies the value of header `name` of `head` into `out` (`n` bytes), "" when absent. */
static void head_value(const char *head, const char *name, char *out, size_t n)
{
	size_t len = strlen(name);

	out[0] = '\0';
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, len) == 0 && p[2 + len] == ':') {
			const char *v = p + 3 + len, *end;

			v += strspn(v, " \t");
			end = strstr(v, "\r\n");
			snprintf(out, n, "%.*s", (int)(end ? (size_t)(end - v) : strlen(v)), v);
			return;
		}
	}
}

/* Waits until the database stops changing (a refused row that was accepted may have woken the
 * dispatcher), so the next row's snapshot is its own. */
static void db_settle(const char *db)
{
	long long deadline = harness_now_ms() + SETTLE_MS;
	char *prev = db_snapshot(db), *cur;

	while (prev && harness_now_ms() < deadline) {
		harness_sleep_ms(250);
		cur = db_snapshot(db);
		if (cur && strcmp(cur, prev) == 0) {
			free(cur);
			break;
		}
		free(prev);
		prev = cur;
	}
	free(prev);
}

/* Appends the first line that differs between two snapshots. */
static void db_diff(const char *before, const char *after, struct buf *why)
{
	const char *b = before, *a = after;

	while (*b && *a) {
		const char *be = strchr(b, '\n'), *ae = strchr(a, '\n');
		size_t bl = be ? (size_t)(be - b) : strlen(b), al = ae ? (size_t)(ae - a) : strlen(a);

		if (bl != al || memcmp(a, b, bl) != 0)
			break;
		b += bl + (be != NULL);
		a += al + (ae != NULL);
	}
	buf_puts(why, "the database changed: before \"");
	excerpt(why, b, strcspn(b, "\n"), 160);
	buf_puts(why, "\", after \"");
	excerpt(why, a, strcspn(a, "\n"), 160);
	buf_puts(why, "\"; ");
}

/* ---- one row's request ---- */

struct request {
	struct buf path;
	struct buf body;
	int has_body;
	char auth[512], ctype[256], sig[512];
	const char *lines[8];   /* header lines, NULL-terminated */
	size_t n_lines;
	struct buf raw;         /* the bytes a socket send writes */
};

/* Copies `s` (`len` bytes) with "@BIG@" replaced by `big` bytes of `pat`. */
static int expand_big(struct buf *out, const char *s, size_t len, size_t big, const char *pat)
{
	const char *mark = big ? memmem(s, len, "@BIG@", 5) : NULL;
	size_t plen;

	if (!mark)
		return buf_append(out, s, len);
	pat = pat ? pat : "a";
	plen = strlen(pat);
	if (buf_append(out, s, (size_t)(mark - s)) < 0)
		return -1;
	for (size_t i = 0; i < big; i++)
		if (buf_putc(out, pat[i % plen]) < 0)
			return -1;
	return buf_append(out, mark + 5, len - (size_t)(mark - s) - 5);
}

/* Writes the signature header's value for `sig` (the right signature) as the row's sig_fmt says:
 * "%s" stands for the signature, and a trailing marker changes it first: "@STRIP=" drops its
 * base64 padding, "@STRIPPREFIX" its "sha256=", "@CUT1" its last character.  sig_case changes the
 * case of everything after a "sha256=" prefix. */
static void format_signature(const struct row *r, const char *sig, char *out, size_t n)
{
	const char *fmt = r->sig_fmt ? r->sig_fmt : "%s", *at = strchr(fmt, '@');
	size_t skip = strncmp(sig, "sha256=", 7) == 0 ? 7 : 0, len, used;
	char core[256];

	snprintf(core, sizeof(core), "%s", sig);
	for (char *p = core + skip; r->sig_case && *p; p++)
		*p = (char)(r->sig_case > 0 ? toupper((unsigned char)*p) :
			    tolower((unsigned char)*p));
	len = strlen(core);
	if (at && strcmp(at, "@STRIP=") == 0) {
		while (len && core[len - 1] == '=')
			core[--len] = '\0';
	} else if (at && strcmp(at, "@STRIPPREFIX") == 0) {
		memmove(core, core + skip, len - skip + 1);
	} else if (at && strcmp(at, "@CUT1") == 0 && len) {
		core[len - 1] = '\0';
	}
	out[0] = '\0';
	for (const char *p = fmt; *p && p != at; p++) {
		used = strlen(out);
		if (p[0] == '%' && p[1] == 's') {
			snprintf(out + used, n - used, "%s", core);
			p++;
		} else if (used + 1 < n) {
			out[used] = *p;
			out[used + 1] = '\0';
		}
	}
}

/* The signature header line of a row that signs, into q->sig; 0, or -1 when it cannot. */
static int sign_request(const struct row *r, const struct gw_world *g, struct request *q)
{
	const char *body = r->sign_body ? r->sign_body : buf_cstr(&q->body);
	size_t len = r->sign_body ? strlen(r->sign_body) : q->body.len;
	char url[1024], sig[256], value[400];
	const char *name;

	if (r->sign == SIGN_TWILIO || r->sign == SIGN_TWILIO_WRONG) {
		const char *target = r->sign_url ? r->sign_url : buf_cstr(&q->path);

		/* public_url is the gateway's own base URL in the generated config */
		snprintf(url, sizeof(url), "%s%s", target[0] == '/' ? g->e.gw.base_url : "", target);
		if (fake_twilio_sign(r->sign == SIGN_TWILIO ? HARNESS_TWILIO_TOKEN : OTHER_TWILIO_TOKEN,
				     url, body, len, sig) < 0)
			return -1;
		name = "X-Twilio-Signature";
	} else {
		fake_meta_sign(r->sign == SIGN_META ? META_SECRET : "another-app-secret", body, len,
			       sig);
		name = "X-Hub-Signature-256";
	}
	format_signature(r, sig, value, sizeof(value));
	snprintf(q->sig, sizeof(q->sig), "%s: %s", name, value);
	return 0;
}

/* 1 when `path` is guarded by the API key. */
static int needs_key(const char *path)
{
	return strncmp(path, "/v1", 3) == 0 || strncmp(path, "/webhooks/console", 17) == 0;
}

/* Writes the bytes of a socket send: the row's `raw`, or the request line, Host, the header
 * lines, the body with its Content-Length (or chunked), and Connection: close. */
static int build_raw(const struct row *r, struct request *q)
{
	if (r->raw)
		return buf_append(&q->raw, r->raw, r->raw_len);
	buf_printf(&q->raw, "%s %s HTTP/1.1\r\n" HOST, r->method, buf_cstr(&q->path));
	for (size_t i = 0; i < q->n_lines; i++) {
		/* "Content-Type:" alone tells curl to send none; a socket sends no such line */
		if (q->lines[i] == q->ctype && strcmp(q->ctype, "Content-Type:") == 0)
			continue;
		buf_printf(&q->raw, "%s\r\n", q->lines[i]);
	}
	if (r->send == SEND_CHUNKED) {
		buf_puts(&q->raw, "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
		for (size_t off = 0; off < q->body.len; off += 4096) {
			size_t n = q->body.len - off < 4096 ? q->body.len - off : 4096;

			buf_printf(&q->raw, "%zx\r\n", n);
			buf_append(&q->raw, q->body.data + off, n);
			buf_puts(&q->raw, "\r\n");
		}
		return buf_puts(&q->raw, "0\r\n\r\n");
	}
	if (q->has_body)
		buf_printf(&q->raw, "Content-Length: %zu\r\n", q->body.len);
	buf_puts(&q->raw, "Connection: close\r\n\r\n");
	return buf_append(&q->raw, q->body.data ? q->body.data : "", q->body.len);
}

static void request_release(struct request *q)
{
	buf_release(&q->path);
	buf_release(&q->body);
	buf_release(&q->raw);
}

/* Builds what the row sends: path, body, header lines, signature, and the socket bytes. */
static int request_build(const struct row *r, const struct gw_world *g, struct request *q)
{
	const char *ctype = r->ctype;

	memset(q, 0, sizeof(*q));
	buf_init(&q->path, 64 * 1024);
	buf_init(&q->body, BODY_CAP);
	buf_init(&q->raw, BODY_CAP);
	if (r->path && expand_big(&q->path, r->path, strlen(r->path), r->big_in_path ? r->big : 0,
				  r->big_pat) < 0)
		return -1;
	q->has_body = r->body != NULL;
	if (q->has_body) {
		if (expand_big(&q->body, r->body, r->len ? r->len : strlen(r->body),
			       r->big_in_path ? 0 : r->big, r->big_pat) < 0)
			return -1;
		while (q->body.len < r->pad_to)
			if (buf_putc(&q->body, ' ') < 0)
				return -1;
	}
	if (!r->auth && r->path && needs_key(r->path)) {
		snprintf(q->auth, sizeof(q->auth), "Authorization: Bearer " K1);
		q->lines[q->n_lines++] = q->auth;
	} else if (r->auth && r->auth[0]) {
		snprintf(q->auth, sizeof(q->auth), "Authorization: %s", r->auth);
		q->lines[q->n_lines++] = q->auth;
	}
	if (!ctype && q->has_body)
		ctype = r->path && strncmp(r->path, "/webhooks/twilio", 16) == 0 ?
			"application/x-www-form-urlencoded" : "application/json";
	snprintf(q->ctype, sizeof(q->ctype), "Content-Type:%s%s", ctype && *ctype ? " " : "",
		 ctype ? ctype : "");
	q->lines[q->n_lines++] = q->ctype;
	for (size_t i = 0; i < 3 && r->hdr[i]; i++)
		q->lines[q->n_lines++] = r->hdr[i];
	if (r->sign != SIGN_NONE) {
		if (sign_request(r, g, q) < 0)
			return -1;
		q->lines[q->n_lines++] = q->sig;
	}
	q->lines[q->n_lines] = NULL;
	return r->send == SEND_CURL ? 0 : build_raw(r, q);
}

/* ---- answers ---- */

struct answer {
	long status;
	char content_type[128];
	char *body;             /* NUL-terminated */
	size_t len;
	char *head;             /* socket sends: the status line and headers; NULL for curl */
};

static void answer_release(struct answer *a)
{
	free(a->body);
	free(a->head);
	memset(a, 0, sizeof(*a));
}

/* Decodes a chunked body in place; its decoded length. */
static size_t dechunk(char *s, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		char *end;
		unsigned long n = strtoul(s + in, &end, 16);
		char *crlf = memmem(s + in, len - in, "\r\n", 2);

		if (!crlf || n == 0 || (size_t)(crlf - s) + 2 + n > len)
			break;
		in = (size_t)(crlf - s) + 2;
		memmove(s + out, s + in, n);
		out += n;
		in += n + 2;
	}
	return out;
}

/* Parses what a socket received into `a`: the first status line, headers, body. */
static void parse_raw_answer(const char *in, size_t n, struct answer *a)
{
	const char *end = memmem(in, n, "\r\n\r\n", 4);
	size_t head_len = end ? (size_t)(end - in) + 2 : n, body_len;
	char te[64];

	memset(a, 0, sizeof(*a));
	a->head = strndup(in, head_len);
	if (n >= 12 && strncmp(in, "HTTP/1.", 7) == 0)
		a->status = strtol(in + 9, NULL, 10);
	body_len = end ? n - head_len - 2 : 0;
	a->body = malloc(body_len + 1);
	if (!a->head || !a->body)
		return;
	memcpy(a->body, end ? end + 4 : "", body_len);
	head_value(a->head, "Content-Type", a->content_type, sizeof(a->content_type));
	head_value(a->head, "Transfer-Encoding", te, sizeof(te));
	if (strcasecmp(te, "chunked") == 0)
		body_len = dechunk(a->body, body_len);
	a->body[body_len] = '\0';
	a->len = body_len;
}

/* 1 when `in` holds a whole answer: headers, then Content-Length bytes or the last chunk. */
static int answer_complete(const char *in, size_t n)
{
	const char *end = memmem(in, n, "\r\n\r\n", 4);
	char *head, cl[32], te[64];
	int done = 0;

	if (!end)
		return 0;
	head = strndup(in, (size_t)(end - in) + 2);
	if (!head)
		return 0;
	head_value(head, "Content-Length", cl, sizeof(cl));
	head_value(head, "Transfer-Encoding", te, sizeof(te));
	if (cl[0])
		done = n - (size_t)(end + 4 - in) >= strtoull(cl, NULL, 10);
	else if (strcasecmp(te, "chunked") == 0)
		done = memmem(end + 4, n - (size_t)(end + 4 - in), "0\r\n\r\n", 5) != NULL;
	free(head);
	return done;
}

/* Connects to 127.0.0.1:port; a non-blocking socket, or -1. */
static int connect_loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Writes `len` bytes of `data` to the gateway and reads its answer until it is complete, the
 * connection ends, or RAW_TIMEOUT_MS pass.  The gateway may answer (413) and close before taking
 * the whole request, so a failed write stops the writing, not the reading.  0 when an answer
 * arrived; -1 (with `why` told) otherwise.
 */
static int raw_exchange(int port, const char *data, size_t len, struct answer *a, struct buf *why)
{
	long long deadline = harness_now_ms() + RAW_TIMEOUT_MS;
	size_t sent = 0;
	struct buf in;
	char tmp[16384];
	int fd = connect_loopback(port), rc = -1;

	buf_init(&in, RAW_ANSWER_CAP);
	if (fd < 0) {
		buf_printf(why, "cannot connect: %s; ", strerror(errno));
		goto out;
	}
	while (harness_now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
		ssize_t n;

		if (poll(&p, 1, 50) < 0 && errno != EINTR)
			break;
		if ((p.revents & POLLOUT) && sent < len) {
			n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				sent = len;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, tmp, sizeof(tmp), 0);
			if (n > 0 && buf_append(&in, tmp, (size_t)n) < 0)
				break;
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break;
			if (answer_complete(in.data, in.len))
				break;
		}
	}
	if (!in.len || !in.data) {
		buf_printf(why, "no answer (%zu of %zu bytes written); ", sent, len);
		goto out;
	}
	parse_raw_answer(in.data, in.len, a);
	rc = a->body && a->head ? 0 : -1;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&in);
	return rc;
}

/* Checks the answer against the row; appends every mismatch to `why`. */
static void check_answer(const struct row *r, const struct answer *a, struct buf *why)
{
	json_t *root, *err;
	const char *code, *msg, *field;

	if (a->status != r->status)
		buf_printf(why, "status %ld, want %ld; ", a->status, r->status);
	if (a->head && r->want_header && !head_has(a->head, r->want_header))
		buf_printf(why, "no %s header; ", r->want_header);
	if (a->head && r->bad_header && head_has(a->head, r->bad_header))
		buf_printf(why, "a %s header came back; ", r->bad_header);
	if (r->lib) {
		if (strncasecmp(a->content_type, "application/json", 16) != 0)
			print_message("note: %s: %s: libmicrohttpd's own answer, not the contract's "
				      "JSON error (Content-Type \"%s\")\n", r->cat, r->name,
				      a->content_type);
		return;
	}
	if (strncasecmp(a->content_type, "application/json", 16) != 0)
		buf_printf(why, "Content-Type \"%s\", want application/json; ", a->content_type);
	root = json_loadb(a->body, a->len, 0, NULL);
	err = json_object_get(root, "error");
	code = json_string_value(json_object_get(err, "code"));
	msg = json_string_value(json_object_get(err, "message"));
	field = json_string_value(json_object_get(err, "field"));
	if (!json_is_object(root) || !code || !*code || !msg || !*msg || !field) {
		buf_puts(why, "not {\"error\":{\"code\",\"message\",\"field\"}}; ");
	} else {
		if (r->code && strcmp(code, r->code) != 0)
			buf_printf(why, "code \"%s\", want \"%s\"; ", code, r->code);
		if (r->field && strcmp(field, r->field) != 0)
			buf_printf(why, "field \"%s\", want \"%s\"; ", field, r->field);
	}
	json_decref(root);
}

/* ---- the catalogue's test ---- */

struct row_ctx {
	const struct row *row;
	struct world *w;
	char name[200];
};

/* One row: send it, check the answer and that the database did not change. */
static void test_row(void **state)
{
	const struct row_ctx *ctx = *state;
	const struct row *r = ctx->row;
	struct gw_world *g = r->gw == GW_B ? &ctx->w->b : &ctx->w->a;
	struct request q;
	struct answer a;
	struct buf why;
	char *before = NULL, *after = NULL, msg[4096] = "";
	int got = -1;

	memset(&a, 0, sizeof(a));
	buf_init(&why, 16384);
	if (request_build(r, g, &q) < 0) {
		buf_puts(&why, "cannot build the request (a cap, or a form the signer refuses); ");
		goto out;
	}
	before = db_snapshot(g->e.db);
	if (r->send == SEND_CURL) {
		struct harness_http_resp resp;
		char url[70 * 1024];

		snprintf(url, sizeof(url), "%s%s", g->e.gw.base_url, buf_cstr(&q.path));
		got = harness_http(r->method, url, q.lines, q.has_body ? buf_cstr(&q.body) : NULL,
				   q.body.len, &resp);
		if (got == 0) {
			a.status = resp.status;
			snprintf(a.content_type, sizeof(a.content_type), "%s", resp.content_type);
			a.body = resp.body;
			a.len = resp.len;
		} else {
			buf_puts(&why, "no answer; ");
		}
	} else {
		got = raw_exchange(g->e.gw.port, q.raw.data, q.raw.len, &a, &why);
	}
	after = db_snapshot(g->e.db);
	if (!before || !after)
		buf_puts(&why, "cannot snapshot the database; ");
	else if (strcmp(before, after) != 0)
		db_diff(before, after, &why);
	if (got == 0)
		check_answer(r, &a, &why);
	if (a.status >= 200 && a.status < 300)
		db_settle(g->e.db);
out:
	if (why.len) {
		struct buf m;

		buf_init(&m, sizeof(msg));
		buf_printf(&m, "gateway %s: %s %.*s%s\n  request body: ", g->label,
			   r->method ? r->method : "(raw)", 160, buf_cstr(&q.path),
			   q.path.len > 160 ? "..." : "");
		excerpt(&m, r->raw ? r->raw : buf_cstr(&q.body), r->raw ? r->raw_len : q.body.len,
			200);
		buf_printf(&m, "\n  want: %ld %s %s\n  got:  %ld ", r->status,
			   r->code ? r->code : "(any code)", r->field ? r->field : "(any field)",
			   a.status);
		excerpt(&m, a.body ? a.body : "", a.len, 300);
		buf_puts(&m, "\n  why:  ");
		buf_append(&m, why.data, why.len < 1500 ? why.len : 1500);
		snprintf(msg, sizeof(msg), "%s", buf_cstr(&m));
		buf_release(&m);
	}
	answer_release(&a);
	request_release(&q);
	free(before);
	free(after);
	buf_release(&why);
	if (msg[0])
		fail_msg("%s", msg);
}

/* ---- slow clients (gateway A, connection_timeout = 1s) ---- */

#define SLOW_HEAD "POST /v1/surveys HTTP/1.1\r\n" HOST KEY_LINE "Content-Type: application/json\r\n"
#define SLOW_BODY_1 "{\"customer\":{\"id\":\"slow\",\"phone\":\"" PHONE "\"},"
#define SLOW_BODY_2 "\"kind\":\"nps\",\"channel\":\"sms\",\"interaction\":{\"id\":\"slow-1\"}}"

struct slow_row {
	const char *name;
	const char *first;      /* sent at once, or byte by byte `gap_ms` apart; "@LEN@" is the
				 * length of SLOW_BODY_1 SLOW_BODY_2 */
	int gap_ms;
	int pause_ms;           /* then silence this long ... */
	const char *then;       /* ... then this (NULL: nothing), which must find it closed */
};

static const struct slow_row slow_rows[] = {
	{ "headers byte by byte, then silence", SLOW_HEAD, 8, 0, NULL },
	{ "request line cut short", "GET /heal", 20, 0, NULL },
	{ "body stalls after its first bytes",
	  SLOW_HEAD "Content-Length: 200\r\n\r\n{\"customer\":", 0, 0, NULL },
	/* the rest would complete a valid trigger: if the gateway waited, it would store it */
	{ "body slower than the idle timeout", SLOW_HEAD "Content-Length: @LEN@\r\n\r\n" SLOW_BODY_1,
	  0, 1800, SLOW_BODY_2 },
	{ "Expect: 100-continue, then no body",
	  SLOW_HEAD "Expect: 100-continue\r\nContent-Length: 120\r\n\r\n", 0, 0, NULL },
	{ "Twilio webhook body stalls",
	  "POST /webhooks/twilio HTTP/1.1\r\n" HOST "X-Twilio-Signature: bm90LWEtc2lnbmF0dXJl\r\n"
	  "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 300\r\n\r\n"
	  "From=%2B34600111222&Body=9", 0, 0, NULL },
	{ "chunked body stalls mid-chunk",
	  SLOW_HEAD "Transfer-Encoding: chunked\r\n\r\n40\r\n{\"customer\":", 0, 0, NULL },
	/* completed, this would be answered 200: the idle timeout must apply between bytes */
	{ "a GET whose bytes come slower than the idle timeout",
	  "GET /healthz HTTP/1.1\r\n" HOST "\r\n", 1500, 0, NULL },
};

#define N_SLOW (sizeof(slow_rows) / sizeof(slow_rows[0]))

struct slow_client {
	const struct slow_row *row;
	char first[1024];
	size_t first_len, sent;
	int fd, closed, then_sent;
	long long next_at, last_sent_at, then_at, closed_at;
	char got[512];
	size_t got_len;
};

/* One step of a slow client: its next byte(s) when due, then `then` when due. */
static void slow_step(struct slow_client *c, long long now)
{
	ssize_t n;

	if (c->sent < c->first_len && now >= c->next_at) {
		n = send(c->fd, c->first + c->sent, c->row->gap_ms ? 1 : c->first_len - c->sent,
			 MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			c->closed = 1;
			c->closed_at = now;
			return;
		}
		if (n > 0) {
			c->sent += (size_t)n;
			c->last_sent_at = now;
			c->next_at = now + c->row->gap_ms;
			if (c->sent == c->first_len)
				c->then_at = now + c->row->pause_ms;
		}
	} else if (c->sent == c->first_len && c->row->then && !c->then_sent && now >= c->then_at) {
		c->then_sent = 1;
		n = send(c->fd, c->row->then, strlen(c->row->then), MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			c->closed = 1;
			c->closed_at = now;
		}
	}
}

/* Reads what a slow client was sent; marks it closed at EOF or a reset. */
static void slow_read(struct slow_client *c, long long now)
{
	char tmp[512];
	ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
	size_t room = sizeof(c->got) - 1 - c->got_len;

	if (n > 0) {
		memcpy(c->got + c->got_len, tmp, (size_t)n < room ? (size_t)n : room);
		c->got_len += (size_t)n < room ? (size_t)n : room;
		c->got[c->got_len] = '\0';
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		c->closed = 1;
		c->closed_at = now;
	}
}

/* GET /healthz must answer 200 within a second while the slow clients hold their connections. */
static void served_meanwhile(struct gw_world *g, struct buf *why)
{
	struct harness_http_resp r;
	char url[128];
	long long t = harness_now_ms();

	snprintf(url, sizeof(url), "%s/healthz", g->e.gw.base_url);
	if (harness_http("GET", url, NULL, NULL, 0, &r) < 0) {
		buf_puts(why, "GET /healthz got no answer while slow clients stalled; ");
		return;
	}
	if (r.status != 200 || harness_now_ms() - t > 1000)
		buf_printf(why, "GET /healthz while slow clients stalled: %ld after %lld ms; ",
			   r.status, harness_now_ms() - t);
	harness_http_release(&r);
}

/* Every slow client at once: each connection must end (no 2xx) within the idle timeout plus
 * slack after its last byte, others must be served meanwhile, and nothing may be stored. */
static void test_slow_clients(void **state)
{
	struct world *w = *state;
	struct gw_world *g = &w->a;
	struct slow_client cl[N_SLOW];
	char *before = db_snapshot(g->e.db), *after, msg[4096] = "", len_text[16];
	long long t0 = harness_now_ms(), now;
	size_t open;
	int checked = 0;
	struct buf why;

	buf_init(&why, 8192);
	snprintf(len_text, sizeof(len_text), "%zu", strlen(SLOW_BODY_1 SLOW_BODY_2));
	for (size_t i = 0; i < N_SLOW; i++) {
		const char *f = slow_rows[i].first, *mark = strstr(f, "@LEN@");

		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].row = &slow_rows[i];
		if (mark)
			snprintf(cl[i].first, sizeof(cl[i].first), "%.*s%s%s", (int)(mark - f), f,
				 len_text, mark + 5);
		else
			snprintf(cl[i].first, sizeof(cl[i].first), "%s", f);
		cl[i].first_len = strlen(cl[i].first);
		cl[i].next_at = t0;
		cl[i].fd = connect_loopback(g->e.gw.port);
		if (cl[i].fd < 0)
			cl[i].closed = 1;
	}
	do {
		struct pollfd p[N_SLOW];

		now = harness_now_ms();
		open = 0;
		for (size_t i = 0; i < N_SLOW; i++) {
			if (!cl[i].closed)
				slow_step(&cl[i], now);
			p[i] = (struct pollfd){ .fd = cl[i].closed ? -1 : cl[i].fd, .events = POLLIN };
		}
		poll(p, N_SLOW, 5);
		now = harness_now_ms();
		for (size_t i = 0; i < N_SLOW; i++) {
			if (!cl[i].closed && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				slow_read(&cl[i], now);
			open += !cl[i].closed;
		}
		if (!checked && now - t0 >= 600) {
			served_meanwhile(g, &why);
			checked = 1;
		}
	} while (open && now - t0 < 8000);

	for (size_t i = 0; i < N_SLOW; i++) {
		struct slow_client *c = &cl[i];
		long long limit = c->last_sent_at + IDLE_TIMEOUT_MS + SLOW_SLACK_MS;

		if (c->fd < 0)
			buf_printf(&why, "[%s] cannot connect; ", c->row->name);
		else if (!c->closed)
			buf_printf(&why, "[%s] still open %lld ms after its last byte; ",
				   c->row->name, now - c->last_sent_at);
		else if (c->closed_at > limit)
			buf_printf(&why, "[%s] closed %lld ms after its last byte (idle timeout %d); ",
				   c->row->name, c->closed_at - c->last_sent_at, IDLE_TIMEOUT_MS);
		if (strncmp(c->got, "HTTP/1.1 2", 10) == 0 || strncmp(c->got, "HTTP/1.0 2", 10) == 0) {
			buf_printf(&why, "[%s] answered ", c->row->name);
			excerpt(&why, c->got, c->got_len, 40);
			buf_puts(&why, "; ");
		}
		if (c->fd >= 0)
			close(c->fd);
	}
	served_meanwhile(g, &why);
	after = db_snapshot(g->e.db);
	if (!before || !after)
		buf_puts(&why, "cannot snapshot the database; ");
	else if (strcmp(before, after) != 0)
		db_diff(before, after, &why);
	if (why.len)
		snprintf(msg, sizeof(msg), "slow clients: %s", buf_cstr(&why));
	free(before);
	free(after);
	buf_release(&why);
	if (msg[0])
		fail_msg("%s", msg);
}

/* ---- the two gateways: start, seed, stop ---- */

/* Gateway A: SMS through the fake Twilio, WhatsApp through the fake Meta, 1 s idle timeout. */
static int start_a(struct gw_world *g)
{
	char extra[1024];
	const struct harness_config hc = { .extra = extra };
	const char *env[] = { "GATEWAY_CHANNELS_WHATSAPP=meta",
			      "GATEWAY_SERVER_CONNECTION_TIMEOUT=1s", NULL };
	int port;

	g->label = "A (twilio + meta)";
	if (harness_tmpdir_create(g->e.dir, sizeof(g->e.dir)) < 0)
		return -1;
	g->e.tw = fake_twilio_start(HARNESS_TWILIO_SID, HARNESS_TWILIO_TOKEN, fixtures_dir());
	g->fm = fake_meta_start(GRAPH_VERSION, META_PNID, META_TOKEN, fixtures_dir());
	if (!g->e.tw || !g->fm)
		return -1;
	snprintf(extra, sizeof(extra),
		 "[provider.meta]\n"
		 "phone_number_id = " META_PNID "\n"
		 "access_token = " META_TOKEN "\n"
		 "app_secret = " META_SECRET "\n"
		 "verify_token = " META_VERIFY "\n"
		 "graph_version = " GRAPH_VERSION "\n"
		 "base_url = http://127.0.0.1:%d\n"
		 "rate = off\n", fake_meta_port(g->fm));
	port = harness_free_port();
	if (port < 0 || harness_write_config_opts(g->e.dir, port, fake_twilio_port(g->e.tw), &hc,
						  g->e.conf, g->e.db) < 0)
		return -1;
	return harness_gw_start(&g->e.gw, g->e.dir, g->e.conf, port, env);
}

/* Gateway B: SMS through the fake Zenvia, WhatsApp on the console. */
static int start_b(struct gw_world *g)
{
	char extra[1024];
	const struct harness_config hc = { .extra = extra };
	const char *env[] = { "GATEWAY_CHANNELS_SMS=zenvia", NULL };
	int port;

	g->label = "B (zenvia + console)";
	if (harness_tmpdir_create(g->e.dir, sizeof(g->e.dir)) < 0)
		return -1;
	g->zv = fake_zenvia_start(ZV_TOKEN);
	if (!g->zv)
		return -1;
	snprintf(extra, sizeof(extra),
		 "[provider.zenvia]\n"
		 "api_token = " ZV_TOKEN "\n"
		 "from = acme\n"
		 "base_url = http://127.0.0.1:%d\n"
		 "webhook_token = " ZV_WEBHOOK "\n"
		 "rate = off\n", fake_zenvia_port(g->zv));
	port = harness_free_port();
	/* no channel uses Twilio here: its base_url (port 9, discard) is never called */
	if (port < 0 || harness_write_config_opts(g->e.dir, port, 9, &hc, g->e.conf, g->e.db) < 0)
		return -1;
	return harness_gw_start(&g->e.gw, g->e.dir, g->e.conf, port, env);
}

/* Stops the gateway (0 when it exited 0), its fakes, and removes its temp dir. */
static int stop_gw(struct gw_world *g, int show_log)
{
	int code = g->e.gw.pid ? harness_gw_stop(&g->e.gw) : 0;

	if (code != 0 || show_log) {
		fprintf(stderr, "gateway %s exited %d; its log:\n", g->label ? g->label : "?", code);
		harness_gw_print_log(&g->e.gw, 4000);
	}
	fake_twilio_stop(g->e.tw);
	fake_meta_stop(g->fm);
	fake_zenvia_stop(g->zv);
	if (g->e.dir[0])
		harness_tmpdir_remove(g->e.dir);
	return code == 0 ? 0 : -1;
}

/* Triggers one survey on `g` and waits until it is sent: the catalogue then runs against a
 * database with a customer, a survey and its outbound message, all settled. */
static void seed(struct gw_world *g)
{
	static const char body[] = T_GOOD("seed-1");
	struct harness_http_resp r;
	json_t *j;

	api(&g->e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body,
	    strlen(body), &r);
	if (r.status != 202)
		fail_msg("gateway %s: seed trigger answered %ld %.300s", g->label, r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	snprintf(g->seed_id, sizeof(g->seed_id), "%s", jstr(j, "id"));
	json_decref(j);
	json_decref(wait_status(&g->e, g->seed_id, "sent"));
	db_settle(g->e.db);
}

static void test_seed(void **state)
{
	struct world *w = *state;

	seed(&w->a);
	seed(&w->b);
}

/* ---- positive tests: hostile text that is valid is stored verbatim and exported inert ---- */

/* SQL metacharacters in every free-text field: accepted (202), stored byte for byte, found
 * again by the idempotency look-up, and no table was dropped. */
static void test_sql_metachar_stored_verbatim(void **state)
{
	struct world *w = *state;
	struct gw_world *g = &w->a;
	static const char id[] = "'; DROP TABLE surveys; --";
	static const char inter[] = "1' OR '1'='1";
	static const char agent[] = "Robert'); DROP TABLE students;--";
	static const char touch[] = "x\" OR \"\"=\"";
	static const char body[] =
		"{\"customer\":{\"id\":\"'; DROP TABLE surveys; --\",\"phone\":\"+34600111333\","
		"\"name\":\"O'Brien\"},\"kind\":\"nps\",\"channel\":\"sms\",\"interaction\":"
		"{\"id\":\"1' OR '1'='1\",\"touchpoint\":\"x\\\" OR \\\"\\\"=\\\"\","
		"\"agent\":\"Robert'); DROP TABLE students;--\"}}";
	struct harness_http_resp r;
	char *sid;
	json_t *j;

	api(&g->e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body,
	    strlen(body), &r);
	if (r.status != 202)
		fail_msg("trigger with SQL metacharacters: %ld %.300s", r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	sid = strdup(jstr(j, "id"));
	assert_non_null(sid);
	json_decref(j);

	j = survey_get(&g->e, sid);
	assert_jstr(j, "customer_id", id);
	assert_jstr(j, "interaction_id", inter);
	assert_jstr(j, "agent", agent);
	assert_jstr(j, "touchpoint", touch);
	json_decref(j);
	assert_true(harness_db_count_value(g->e.db, id) >= 1);
	assert_true(harness_db_count_value(g->e.db, inter) >= 1);
	assert_true(harness_db_count_value(g->e.db, agent) >= 1);

	/* the same interaction again: found by its hostile id, nothing new */
	api(&g->e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body,
	    strlen(body), &r);
	if (r.status != 200)
		fail_msg("repeated trigger with SQL metacharacters: %ld %.300s", r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	assert_jstr(j, "id", sid);
	json_decref(j);

	/* every table still there: the seeded survey reads back */
	json_decref(survey_get(&g->e, g->seed_id));
	json_decref(wait_status(&g->e, sid, "sent"));
	free(sid);
}

/* Parses the RFC 4180 `csv` (`len` bytes) record by record; returns the cells of the record
 * whose first cell is `key` (and the header's, into `hdr`) as malloc'd strings, their count in
 * *n / *n_hdr.  Caller frees each cell.  0, or -1 when no record matches. */
static int csv_find(const char *csv, size_t len, const char *key, char **cells, size_t *n,
		    char **hdr, size_t *n_hdr, size_t max)
{
	size_t i = 0, rec = 0;

	*n = *n_hdr = 0;
	while (i < len) {
		char *cur[32];
		size_t nc = 0;
		int end = 0;

		while (!end && nc < 32) {
			struct buf cell;

			buf_init(&cell, len + 1);
			buf_puts(&cell, "");
			if (i < len && csv[i] == '"') {
				for (i++; i < len; i++) {
					if (csv[i] == '"' && i + 1 < len && csv[i + 1] == '"')
						buf_putc(&cell, csv[i++]);
					else if (csv[i] == '"')
						break;
					else
						buf_putc(&cell, csv[i]);
				}
				i++;
			} else {
				while (i < len && csv[i] != ',' && csv[i] != '\r' && csv[i] != '\n')
					buf_putc(&cell, csv[i++]);
			}
			cur[nc++] = buf_detach(&cell, NULL);
			if (i >= len || csv[i] == '\r' || csv[i] == '\n') {
				end = 1;
				i += (i < len && csv[i] == '\r') ? 2 : 1;
			} else {
				i++;
			}
		}
		for (size_t k = 0; k < nc; k++) {
			if (rec == 0 && k < max)
				hdr[(*n_hdr)++] = cur[k];
			else if (rec > 0 && !*n && cur[0] && strcmp(cur[0], key) == 0 && k < max)
				cells[k] = cur[k];
			else
				free(cur[k]);
		}
		if (rec > 0 && !*n && cells[0] && nc)
			*n = nc < max ? nc : max;
		rec++;
	}
	return *n ? 0 : -1;
}

/* The cell a free-text value must export as: a leading ' when it starts like a formula. */
static void csv_inert(const char *v, char *out, size_t n)
{
	snprintf(out, n, "%s%s", v[0] && strchr("=+-@\t\r", v[0]) ? "'" : "", v);
}

/* CSV and formula metacharacters in every free-text field: accepted, and in the export each
 * free-text cell starting like a formula has a leading ', quotes, commas and line breaks are
 * quoted (the record parses back to the stored values), and the phone is left as E.164. */
static void test_csv_metachar_exported_inert(void **state)
{
	struct world *w = *state;
	struct gw_world *g = &w->a;
	static const char body[] =
		"{\"customer\":{\"id\":\"=HYPERLINK(\\\"http://evil.example/\\\",\\\"x\\\")\","
		"\"phone\":\"+34600111444\",\"name\":\"@SUM(1+1)\"},\"kind\":\"nps\","
		"\"channel\":\"sms\",\"interaction\":{\"id\":\"\\tchat,\\\"981\\\"\\r\\nnext\","
		"\"touchpoint\":\"+cmd|' /C calc'!A0\",\"agent\":\"-2+3\"}}";
	static const char *const cols[] = { "customer_id", "interaction_id", "touchpoint", "agent",
					    "comment", "name" };
	const char *want[6];
	struct harness_http_resp r;
	char *cells[32] = { 0 }, *hdr[32] = { 0 }, *sid, expect[512];
	size_t n, n_hdr;
	json_t *j, *s;

	api(&g->e, "POST", "/v1/surveys", HARNESS_API_KEY, "application/json", body,
	    strlen(body), &r);
	if (r.status != 202)
		fail_msg("trigger with CSV metacharacters: %ld %.300s", r.status, r.body);
	j = parse_json(&r);
	harness_http_release(&r);
	sid = strdup(jstr(j, "id"));
	json_decref(j);
	assert_non_null(sid);
	json_decref(wait_status(&g->e, sid, "sent"));
	say(&g->e, "+34600111444", "9 =HYPERLINK(\"x\"), \"ok\"", NULL);
	s = wait_status(&g->e, sid, "answered");

	api(&g->e, "GET", "/v1/responses.csv", HARNESS_API_KEY, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	if (csv_find(r.body, r.len, sid, cells, &n, hdr, &n_hdr, 32) < 0)
		fail_msg("no CSV record for survey %s: %.600s", sid, r.body);
	harness_http_release(&r);
	want[0] = jstr(s, "customer_id");
	want[1] = jstr(s, "interaction_id");
	want[2] = jstr(s, "touchpoint");
	want[3] = jstr(s, "agent");
	want[4] = jstr(json_object_get(s, "response"), "comment");
	want[5] = "@SUM(1+1)";
	for (size_t c = 0; c < 6; c++) {
		size_t k = 0;

		while (k < n_hdr && strcmp(hdr[k], cols[c]) != 0)
			k++;
		if (k == n_hdr || k >= n)
			fail_msg("CSV has no %s column", cols[c]);
		csv_inert(want[c], expect, sizeof(expect));
		if (strcmp(cells[k], expect) != 0)
			fail_msg("CSV %s cell \"%s\", want \"%s\"", cols[c], cells[k], expect);
	}
	for (size_t k = 0; k < n_hdr && k < n; k++)
		if (strcmp(hdr[k], "phone") == 0)
			assert_string_equal(cells[k], "+34600111444");
	json_decref(s);
	for (size_t k = 0; k < 32; k++) {
		free(cells[k]);
		free(hdr[k]);
	}
	free(sid);
}

/* ---- main ---- */

int main(void)
{
	static const char *const cats[] = { "json", "types", "huge", "size", "utf8", "nul", "sql",
					    "csv", "header", "phone", "ctype", "auth", "twilio",
					    "meta", "zenvia", "console", "route", "query", "idem" };
	struct world *w = calloc(1, sizeof(*w));
	struct row_ctx *ctx = calloc(N_ROWS, sizeof(*ctx));
	struct CMUnitTest *tests = calloc(N_ROWS + 4, sizeof(*tests));
	size_t n = 0;
	int failed = -1;

	if (!w || !ctx || !tests || harness_global_init() < 0)
		return 1;
	printf("hostile catalogue: %zu rows (", N_ROWS);
	for (size_t c = 0; c < sizeof(cats) / sizeof(cats[0]); c++) {
		size_t k = 0;

		for (size_t i = 0; i < N_ROWS; i++)
			k += strcmp(rows[i].cat, cats[c]) == 0;
		printf("%s%s %zu", c ? ", " : "", cats[c], k);
	}
	printf("), %zu slow clients\n", N_SLOW);
	if (start_a(&w->a) < 0 || start_b(&w->b) < 0) {
		fprintf(stderr, "test_e2e_hostile: the gateways did not start\n");
		goto out;
	}
	tests[n++] = (struct CMUnitTest){ .name = "seed: one survey sent on each gateway",
					  .test_func = test_seed, .initial_state = w };
	for (size_t i = 0; i < N_ROWS; i++) {
		ctx[i].row = &rows[i];
		ctx[i].w = w;
		snprintf(ctx[i].name, sizeof(ctx[i].name), "%s: %s", rows[i].cat, rows[i].name);
		tests[n++] = (struct CMUnitTest){ .name = ctx[i].name, .test_func = test_row,
						  .initial_state = &ctx[i] };
	}
	tests[n++] = (struct CMUnitTest){ .name = "slow: stalled and trickling clients are closed",
					  .test_func = test_slow_clients, .initial_state = w };
	tests[n++] = (struct CMUnitTest){ .name = "positive: SQL metacharacters stored verbatim",
					  .test_func = test_sql_metachar_stored_verbatim,
					  .initial_state = w };
	tests[n++] = (struct CMUnitTest){ .name = "positive: CSV metacharacters exported inert",
					  .test_func = test_csv_metachar_exported_inert,
					  .initial_state = w };
	failed = _cmocka_run_group_tests("test_e2e_hostile", tests, n, NULL, NULL);
out:
	if (stop_gw(&w->a, failed != 0) < 0 || stop_gw(&w->b, failed != 0) < 0)
		failed = failed ? failed : 1;
	harness_global_cleanup();
	free(tests);
	free(ctx);
	free(w);
	return failed ? 1 : 0;
}
