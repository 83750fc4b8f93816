/* api.c - see api.h. */
#include "api.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conversation.h"
#include "customers.h"
#include "crypto.h"
#include "dispatcher.h"
#include "export.h"
#include "localtime.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "report_api.h"
#include "texts.h"

#define BODY_LIMIT (64 * 1024)
#define MAX_ID_LEN 128
#define MAX_DELAY_S (30 * 86400)

/* Every route's bodies are capped alike, so that a body sent to the wrong route or with the
 * wrong method is answered 404/405 by the router, not 413. */
size_t api_body_limit(const char *method, const char *path)
{
	(void)method;
	(void)path;
	return BODY_LIMIT;
}

/* Checks Authorization: Bearer <key> against [server] api_keys, in constant time per key.
 * 0 when allowed; otherwise fills resp (401 without a key, 403 with a wrong one). */
static int authorize(struct gateway *gw, const struct request *req, struct response *resp)
{
	const char *h = request_header(req, "Authorization");
	int ok = 0;

	const char *key;

	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !*(key = h + 7 + strspn(h + 7, " \t"))) {
		http_error(resp, 401, "unauthorized", "Authorization",
			   "send the API key as Authorization: Bearer <key>");
		resp->extra_header = "WWW-Authenticate: Bearer";
		return -1;
	}
	for (size_t i = 0; i < gw->cfg.n_api_keys; i++)
		ok |= ct_streq(key, gw->cfg.api_keys[i]);
	if (!ok) {
		http_error(resp, 403, "forbidden", "Authorization", "the API key is not valid");
		return -1;
	}
	return 0;
}

/* 1 when Content-Type is application/json (parameters such as charset allowed). */
static int is_json(const struct request *req)
{
	const char *ct = request_header(req, "Content-Type");
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* ---- survey JSON --------------------------------------------------------------------- */

static json_t *time_or_null(int64_t t)
{
	char s[32];

	if (!t)
		return json_null();
	iso8601_utc(t, s);
	return json_string(s);
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *survey_json(const struct survey *s)
{
	json_t *j = json_object(), *resp = json_null(), *error = json_null();

	if (s->has_response)
		resp = json_pack("{s:i,s:s,s:s,s:o}", "score", s->score, "comment", s->comment,
				 "raw_text", s->raw_text, "answered_at", time_or_null(s->answered_at));
	if (s->error_code[0] || s->error_message[0])
		error = json_pack("{s:s,s:s}", "code", s->error_code, "message", s->error_message);
	if (!j)
		return NULL;
	json_object_set_new(j, "id", json_string(s->id));
	json_object_set_new(j, "status", json_string(s->status));
	json_object_set_new(j, "reason", str_or_null(s->reason));
	json_object_set_new(j, "kind", json_string(s->kind));
	json_object_set_new(j, "channel", json_string(s->channel));
	json_object_set_new(j, "customer_id", json_string(s->customer_id));
	json_object_set_new(j, "interaction_id", json_string(s->interaction_id));
	json_object_set_new(j, "phone", json_string(s->phone));
	json_object_set_new(j, "locale", json_string(s->locale));
	json_object_set_new(j, "timezone", str_or_null(s->timezone));
	json_object_set_new(j, "touchpoint", str_or_null(s->touchpoint));
	json_object_set_new(j, "agent", str_or_null(s->agent));
	json_object_set_new(j, "created_at", time_or_null(s->created_at));
	json_object_set_new(j, "send_after", time_or_null(s->send_after));
	json_object_set_new(j, "sent_at", time_or_null(s->sent_at));
	json_object_set_new(j, "delivered_at", time_or_null(s->delivered_at));
	json_object_set_new(j, "answered_at", time_or_null(s->answered_at));
	json_object_set_new(j, "expires_at", time_or_null(s->expires_at));
	json_object_set_new(j, "provider", json_string(s->provider));
	json_object_set_new(j, "provider_message_id", str_or_null(s->provider_message_id));
	json_object_set_new(j, "attempts", json_integer(s->attempts));
	json_object_set_new(j, "error", error ? error : json_null());
	json_object_set_new(j, "response", resp ? resp : json_null());
	return j;
}

/* The JSON of a survey just created from `sn` with `status` (and `reason`), before anything
 * else happened to it. */
static json_t *survey_json_new(const struct survey_new *sn, const char *status,
			       const char *reason)
{
	struct survey s;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", sn->id);
	snprintf(s.status, sizeof(s.status), "%s", status);
	snprintf(s.reason, sizeof(s.reason), "%s", reason ? reason : "");
	snprintf(s.timezone, sizeof(s.timezone), "%s", sn->timezone ? sn->timezone : "");
	snprintf(s.kind, sizeof(s.kind), "%s", sn->kind);
	snprintf(s.channel, sizeof(s.channel), "%s", sn->channel);
	snprintf(s.customer_id, sizeof(s.customer_id), "%s", sn->customer_id);
	snprintf(s.interaction_id, sizeof(s.interaction_id), "%s", sn->interaction_id);
	snprintf(s.phone, sizeof(s.phone), "%s", sn->phone);
	snprintf(s.locale, sizeof(s.locale), "%s", sn->locale);
	snprintf(s.touchpoint, sizeof(s.touchpoint), "%s", sn->touchpoint ? sn->touchpoint : "");
	snprintf(s.agent, sizeof(s.agent), "%s", sn->agent ? sn->agent : "");
	snprintf(s.provider, sizeof(s.provider), "%s", sn->provider);
	s.created_at = sn->now;
	s.send_after = sn->send_after;
	s.expires_at = sn->expires_at;
	return survey_json(&s);
}

static void reply_survey(struct gateway *gw, const char *id, int status, struct response *resp)
{
	struct survey s;
	struct gw_err err = { 0 };
	int rc = store_get_survey(gw->store, id, &s, &err);

	if (rc < 0) {
		http_error_from(resp, &err);
		return;
	}
	if (rc == 1) {
		http_error(resp, 404, "not_found", "id", "no survey with id '%s'", id);
		return;
	}
	http_json_reply(resp, status, survey_json(&s));
	survey_release(&s);
}

/* ---- POST /v1/surveys ---------------------------------------------------------------- */

/* An optional string member: NULL when absent or null; error when not a string or too long. */
static int opt_string(json_t *obj, const char *key, const char *field, size_t max,
		      const char **out, struct gw_err *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return gw_err_set(err, 422, "invalid_type", field, "%s must be a string", field);
	if (json_string_length(v) > max)
		return gw_err_set(err, 422, "too_long", field, "%s must be at most %zu bytes", field,
				  max);
	*out = json_string_value(v);
	return 0;
}

/* A required, non-empty string member. */
static int req_string(json_t *obj, const char *key, const char *field, size_t max,
		      const char **out, struct gw_err *err)
{
	if (opt_string(obj, key, field, max, out, err) < 0)
		return -1;
	if (!*out || !**out)
		return gw_err_set(err, 422, "missing_field", field, "%s is required", field);
	return 0;
}

/* "2026-11-22T10:00:00Z" (fractional seconds allowed). */
static int check_timestamp(const char *s, const char *field, struct gw_err *err)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	int y, mo, d, h, mi, sec, n = 0;
	struct tm tm, back;
	time_t t;

	if (!s)
		return 0;
	/* Digits where digits belong: sscanf's %d alone would take "+026" or " 26". */
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			goto bad;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		goto bad;
	/* A day that exists (no 31 February): timegm() would carry it into March. */
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	if (!gmtime_r(&t, &back) || back.tm_mday != d)
		goto bad;
	s += 19;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			goto bad;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (strcmp(s, "Z") == 0 || strcmp(s, "+00:00") == 0)
		return 0;
bad:
	return gw_err_set(err, 422, "invalid_timestamp", field,
			  "%s must be ISO 8601 UTC, e.g. 2026-11-22T10:12:30Z", field);
}

/* "es", "pt", "en", or a tag starting with them ("pt-BR"); NULL -> default. */
static int pick_locale(const char *tag, const char *def, const char **out, struct gw_err *err)
{
	static const char *const known[] = { "es", "pt", "en" };

	if (!tag) {
		*out = def;
		return 0;
	}
	for (size_t i = 0; i < 3; i++) {
		if (strncasecmp(tag, known[i], 2) == 0 && (tag[2] == '\0' || tag[2] == '-' ||
							    tag[2] == '_')) {
			*out = known[i];
			return 0;
		}
	}
	return gw_err_set(err, 422, "invalid_locale", "customer.locale",
			  "customer.locale must be es, pt or en (e.g. es, pt-BR)");
}

/* Validates the trigger body; every failure names its field. */
int api_parse_trigger(struct gateway *gw, json_t *root, struct trigger *t, struct gw_err *err)
{
	json_t *cust = json_object_get(root, "customer"), *inter = json_object_get(root, "interaction");
	json_t *delay = json_object_get(root, "delay_seconds");
	const char *kind, *channel;

	if (!json_is_object(root))
		return gw_err_set(err, 400, "invalid_json", "", "body must be a JSON object");
	if (cust && !json_is_null(cust) && !json_is_object(cust))
		return gw_err_set(err, 422, "invalid_type", "customer",
				  "customer must be an object with id and phone");
	if (!json_is_object(cust))
		return gw_err_set(err, 422, "missing_field", "customer",
				  "customer is required (an object with id and phone)");
	if (req_string(cust, "id", "customer.id", MAX_ID_LEN, &t->customer_id, err) < 0 ||
	    req_string(cust, "phone", "customer.phone", 32, &t->phone, err) < 0)
		return -1;
	if (!phone_is_e164(t->phone))
		return gw_err_set(err, 422, "invalid_phone", "customer.phone",
				  "customer.phone must be E.164, e.g. +34600111222");
	if (opt_string(cust, "name", "customer.name", MAX_ID_LEN, &t->name, err) < 0 ||
	    opt_string(cust, "locale", "customer.locale", 16, &t->locale, err) < 0 ||
	    pick_locale(t->locale, gw->cfg.default_locale, &t->locale, err) < 0 ||
	    opt_string(cust, "timezone", "customer.timezone", 64, &t->timezone, err) < 0)
		return -1;
	if (t->timezone && config_check_timezone(t->timezone, err) < 0)
		return gw_err_set(err, 422, "invalid_timezone", "customer.timezone",
				  "customer.timezone must be an IANA time zone, e.g. America/Mexico_City");
	if (req_string(root, "kind", "kind", 16, &kind, err) < 0)
		return -1;
	if (kind_from_name(kind, &t->kind) < 0)
		return gw_err_set(err, 422, "invalid_kind", "kind", "kind must be nps, ces or csat");
	if (req_string(root, "channel", "channel", 16, &channel, err) < 0)
		return -1;
	if (channel_from_name(channel, &t->channel) < 0)
		return gw_err_set(err, 422, "invalid_channel", "channel",
				  "channel must be sms or whatsapp");
	if (inter && !json_is_null(inter) && !json_is_object(inter))
		return gw_err_set(err, 422, "invalid_type", "interaction",
				  "interaction must be an object with an id");
	if (!json_is_object(inter))
		return gw_err_set(err, 422, "missing_field", "interaction.id",
				  "interaction.id is required");
	if (req_string(inter, "id", "interaction.id", MAX_ID_LEN, &t->interaction_id, err) < 0 ||
	    opt_string(inter, "touchpoint", "interaction.touchpoint", MAX_ID_LEN, &t->touchpoint,
		       err) < 0 ||
	    opt_string(inter, "agent", "interaction.agent", MAX_ID_LEN, &t->agent, err) < 0 ||
	    opt_string(inter, "opened_at", "interaction.opened_at", 40, &t->opened_at, err) < 0 ||
	    opt_string(inter, "closed_at", "interaction.closed_at", 40, &t->closed_at, err) < 0 ||
	    check_timestamp(t->opened_at, "interaction.opened_at", err) < 0 ||
	    check_timestamp(t->closed_at, "interaction.closed_at", err) < 0)
		return -1;
	t->delay = 0;
	if (delay && !json_is_null(delay)) {
		if (!json_is_integer(delay) || json_integer_value(delay) < 0 ||
		    json_integer_value(delay) > MAX_DELAY_S)
			return gw_err_set(err, 422, "invalid_delay", "delay_seconds",
					  "delay_seconds must be a whole number from 0 to %d",
					  MAX_DELAY_S);
		t->delay = json_integer_value(delay);
	}
	return 0;
}

/* A request set aside (request_defer()) until its commit: the store's result, and the request to
 * bring back. */
struct set_aside {
	void *state;
	int rc;
};

/* On the store's writer thread, after the commit: the result, and the request comes back to the
 * server, which answers it on its own thread. */
static void set_aside_committed(void *ctx, int rc)
{
	struct set_aside *a = ctx;

	a->rc = rc;
	request_resume(a->state);
}

/* A POST /v1/surveys between its checks and its answer: what the answer is made of, and what the
 * store's transaction reads, kept until the commit. */
struct trigger_job {
	struct gateway *gw;
	struct set_aside aside;
	json_t *root; /* t's strings point into it */
	struct trigger t;
	struct survey_new sn;
	struct buf question;
	char id[SURVEY_ID_LEN], hex[25];
	int outcome;
	const struct survey *found; /* a repeated trigger's survey, read before the writer */
	struct gw_err err;
};

static void trigger_job_free(struct trigger_job *tj)
{
	json_decref(tj->root);
	buf_release(&tj->question);
	free(tj);
}

/* The answer once the store has decided (tj->aside.rc, tj->outcome); frees tj. */
static void trigger_answer(void *ctx, struct response *resp)
{
	struct trigger_job *tj = ctx;
	struct gateway *gw = tj->gw;
	int outcome = tj->outcome;

	if (tj->aside.rc < 0) {
		http_error_from(resp, &tj->err);
		trigger_job_free(tj);
		return;
	}
	metrics_trigger(gw->metrics, tj->t.kind, tj->t.channel,
			outcome == SURVEY_EXISTING  ? MT_EXISTING :
			outcome == SURVEY_OPTED_OUT ? MT_OPTED_OUT :
			outcome == SURVEY_SKIPPED   ? MT_SKIPPED :
						      MT_QUEUED);
	switch (outcome) {
	case SURVEY_EXISTING:
		if (tj->found)
			http_json_reply(resp, 200, survey_json(tj->found));
		else
			reply_survey(gw, tj->id, 200, resp);
		break;
	case SURVEY_OPTED_OUT:
		http_error(
			resp, 409, "customer_opted_out", "customer.phone",
			"this phone number opted out of surveys; it is surveyed again only after it "
			"texts START");
		break;
	case SURVEY_SKIPPED:
		http_json_reply(resp, 200,
				survey_json_new(&tj->sn, "skipped", "recently_surveyed"));
		break;
	default:
		/* The answer describes the survey as committed: the dispatcher may pick it up the
		 * moment it is woken, and the caller must still read "queued". */
		http_json_reply(resp, 202, survey_json_new(&tj->sn, "queued", NULL));
		dispatcher_wake(gw->dispatcher);
		break;
	}
	trigger_job_free(tj);
}

/*
 * Checks the trigger, then hands it to the store.  On libmicrohttpd's thread the request is set
 * aside until the commit (request_defer()) and no thread waits for it; otherwise (a handler
 * thread, a stopping server) the store is waited for here.
 */
static void create_survey(struct gateway *gw, const struct request *req, struct response *resp)
{
	struct trigger_job *tj = calloc(1, sizeof(*tj));
	struct survey_new *sn;
	struct trigger *t;
	struct survey found;
	json_error_t jerr;
	uint8_t rnd[12];

	if (!tj) {
		http_error(resp, 503, "unavailable", "", "out of memory");
		return;
	}
	tj->gw = gw;
	tj->aside.state = req->state;
	t = &tj->t;
	sn = &tj->sn;
	buf_init(&tj->question, 4096);
	if (!is_json(req)) {
		http_error(resp, 415, "unsupported_media_type", "Content-Type",
			   "Content-Type must be application/json");
		goto out;
	}
	if (!(tj->root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr))) {
		http_error(resp, 400, "invalid_json", "", "body is not valid JSON: %s (line %d, column %d)",
			   jerr.text, jerr.line, jerr.column);
		goto out;
	}
	if (api_parse_trigger(gw, tj->root, t, &tj->err) < 0) {
		http_error_from(resp, &tj->err);
		goto out;
	}
	/* A trigger repeated by a helpdesk is answered from a reader, the writer never involved;
	 * not found (or not readable), the writer's transaction decides as for any trigger. */
	if (store_find_survey(gw->store, t->interaction_id, kind_name(t->kind), &found, &tj->err) ==
	    1) {
		tj->outcome = SURVEY_EXISTING;
		tj->found = &found;
		trigger_answer(tj, resp);
		survey_release(&found);
		return;
	}
	gw_err_clear(&tj->err);
	/* The id: 4 bytes of the time (seconds, big-endian) then 8 random ones, so that ids sort by
	 * creation and a new survey's key goes at the end of the index instead of into a random
	 * page of it (one page written per commit rather than one per survey). */
	if (random_bytes(rnd + 4, sizeof(rnd) - 4) < 0) {
		http_error(resp, 503, "unavailable", "", "no random source");
		goto out;
	}
	{
		uint32_t secs = (uint32_t)gateway_now(gw);

		rnd[0] = (uint8_t)(secs >> 24);
		rnd[1] = (uint8_t)(secs >> 16);
		rnd[2] = (uint8_t)(secs >> 8);
		rnd[3] = (uint8_t)secs;
	}
	hex_encode(rnd, sizeof(rnd), tj->hex);
	if (texts_compose(gw->texts, &tj->question, t->locale, text_question(t->kind),
			  &(struct text_vars){ .name = t->name,
					       .brand = gw->cfg.brand,
					       .kind = t->kind },
			  t->channel) < 0) {
		http_error(resp, 422, "too_long", "customer.name", "the survey text is too long");
		goto out;
	}
	sn->id = tj->hex;
	sn->customer_id = t->customer_id;
	sn->phone = t->phone;
	sn->name = t->name;
	sn->locale = t->locale;
	sn->kind = kind_name(t->kind);
	sn->channel = channel_name(t->channel);
	sn->provider = provider_name(gw->channel_provider[t->channel]);
	sn->interaction_id = t->interaction_id;
	sn->touchpoint = t->touchpoint;
	sn->agent = t->agent;
	sn->opened_at = t->opened_at;
	sn->closed_at = t->closed_at;
	sn->timezone = t->timezone;
	sn->now = gateway_now(gw);
	/* Quiet hours are the customer's: a send that would fall in them waits for their end. */
	sn->send_after = quiet_hours_next_allowed(sn->now + t->delay, &gw->cfg.quiet_hours,
						  t->timezone ? t->timezone : gw->cfg.timezone);
	sn->expire_after_s = gw->cfg.expire_after_ms / 1000;
	sn->expires_at = sn->send_after + sn->expire_after_s;
	sn->fatigue_days = gw->cfg.min_days_between;
	sn->question = buf_cstr(&tj->question);
	if (!request_defer(req, resp, trigger_answer, tj)) {
		tj->aside.rc = store_create_survey(gw->store, sn, tj->id, &tj->outcome, &tj->err);
		trigger_answer(tj, resp);
		return;
	}
	/* set aside: answered by trigger_answer() once set_aside_committed() brings it back */
	if (store_create_survey_async(gw->store, sn, tj->id, &tj->outcome, &tj->err,
				      set_aside_committed, &tj->aside) < 0)
		set_aside_committed(&tj->aside, -1);
	return;
out:
	trigger_job_free(tj);
}

/*
 * Answered on libmicrohttpd's thread: POST /v1/surveys without an Idempotency-Key and every
 * webhook, their commit waited for by nobody (create_survey(), webhook()), and
 * GET /v1/surveys/{id}, one lookup on a kept reader.  Every other request goes to a handler
 * thread: it may wait for the writer more than once, or read for long (lists, exports,
 * reports).
 */
int api_answers_inline(const struct request *req)
{
	const char *p = req->path;

	if (strncmp(p, "/webhooks/", 10) == 0)
		return 1;
	if (strcmp(p, "/v1/surveys") == 0)
		return strcmp(req->method, "POST") == 0 && !request_header(req, "Idempotency-Key");
	return strncmp(p, "/v1/surveys/", 12) == 0 && p[12] && !strchr(p + 12, '/') &&
	       strcmp(req->method, "GET") == 0;
}

#define IDEM_KEY_MAX 255
#define IDEM_STALE_S 60         /* a claim older than this was left by a process that died */

/* 1 when an Idempotency-Key is 1 to 255 printable ASCII characters. */
static int idem_key_valid(const char *k)
{
	size_t n = strlen(k);

	if (!n || n > IDEM_KEY_MAX)
		return 0;
	for (; *k; k++)
		if (*k < 0x21 || *k > 0x7e)
			return 0;
	return 1;
}

/*
 * POST /v1/surveys, with the Idempotency-Key contract: the same key with the same body gets the
 * first answer again (status and body); with another body, 422 idempotency_key_reused; while
 * the first is still being answered, 409.  Answers are kept at least 24 hours; a refused request
 * (4xx, 5xx) is not kept, so it can be fixed and retried with the same key.
 */
static void post_survey(struct gateway *gw, const struct request *req, struct response *resp)
{
	const char *key = request_header(req, "Idempotency-Key");
	struct gw_err err = { 0 };
	enum idem_state state;
	uint8_t digest[SHA256_LEN];
	char hash[2 * SHA256_LEN + 1], *stored = NULL;
	int status;

	if (!key) {
		create_survey(gw, req, resp);
		return;
	}
	if (!idem_key_valid(key)) {
		http_error(resp, 400, "invalid_idempotency_key", "Idempotency-Key",
			   "Idempotency-Key must be 1 to %d printable ASCII characters", IDEM_KEY_MAX);
		return;
	}
	if (sha256(req->body, req->body_len, digest) < 0) {
		http_error(resp, 503, "unavailable", "", "cannot hash the request body");
		return;
	}
	hex_encode(digest, sizeof(digest), hash);
	if (store_idem_begin(gw->store, key, hash, gateway_now(gw), IDEM_STALE_S, &state, &status,
			     &stored, &err) < 0) {
		http_error_from(resp, &err);
		return;
	}
	switch (state) {
	case IDEM_REPLAY:
		resp->status = status;
		resp->content_type = "application/json";
		resp->extra_header = "Idempotent-Replayed: true";
		buf_reset(&resp->body);
		buf_puts(&resp->body, stored ? stored : "");
		break;
	case IDEM_MISMATCH:
		http_error(resp, 422, "idempotency_key_reused", "Idempotency-Key",
			   "this Idempotency-Key was used with a different body");
		break;
	case IDEM_IN_FLIGHT:
		http_error(resp, 409, "idempotency_key_in_flight", "Idempotency-Key",
			   "a request with this Idempotency-Key is still being answered; retry later");
		break;
	case IDEM_NEW:
		create_survey(gw, req, resp);
		/* Only a request that was carried out is kept: a refusal (4xx, 5xx) leaves the key
		 * free, so the client can fix the request and retry with it. */
		if (store_idem_finish(gw->store, key,
				      resp->status >= 200 && resp->status < 300 ? resp->status : 0,
				      buf_cstr(&resp->body), &err) < 0)
			log_error("idempotency_record", "recording the answer for an "
				  "Idempotency-Key failed: %s", err.msg);
		break;
	}
	free(stored);
}

#define LIST_MAX 1000

/* GET /v1/surveys?status=uncertain[&limit=N]: {"surveys":[...]} oldest first, at most 1000. */
static void list_surveys(struct gateway *gw, const struct request *req, struct response *resp)
{
	static const char *const statuses[] = { "queued", "sending", "sent", "delivered", "read",
						"answered", "skipped", "expired", "failed",
						"uncertain", NULL };
	const char *status = request_query(req, "status"), *limit_s = request_query(req, "limit");
	char (*ids)[SURVEY_ID_LEN] = NULL;
	struct gw_err err = { 0 };
	json_t *list;
	size_t n = 0, limit = 100, k;
	char *end;

	for (k = 0; status && statuses[k] && strcmp(status, statuses[k]) != 0; k++)
		;
	if (!status || !statuses[k]) {
		http_error(resp, 422, "invalid_status", "status",
			   "status is required: one of queued, sending, sent, delivered, read, "
			   "answered, skipped, expired, failed, uncertain");
		return;
	}
	if (limit_s) {
		unsigned long v = strtoul(limit_s, &end, 10);

		if (end == limit_s || *end || v < 1 || v > LIST_MAX) {
			http_error(resp, 422, "invalid_limit", "limit",
				   "limit must be a whole number from 1 to %d", LIST_MAX);
			return;
		}
		limit = v;
	}
	if (!(ids = calloc(limit, sizeof(*ids))) ||
	    store_list_surveys(gw->store, status, limit, ids, &n, &err) < 0 ||
	    !(list = json_array())) {
		if (!err.msg[0])
			gw_err_set(&err, 503, "unavailable", "", "out of memory");
		http_error_from(resp, &err);
		free(ids);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct survey s;

		if (store_get_survey(gw->store, ids[i], &s, &err) == 0) {
			json_array_append_new(list, survey_json(&s));
			survey_release(&s);
		}
	}
	free(ids);
	http_json_reply(resp, 200, json_pack("{s:o}", "surveys", list));
}

/* ---- GET /v1/responses.csv ----------------------------------------------------------- */

static ssize_t csv_reader(void *ctx, char *out, size_t max)
{
	return csv_export_read(ctx, out, max);
}

static void csv_release(void *ctx)
{
	csv_export_close(ctx);
}

static void get_responses_csv(struct gateway *gw, const struct request *req, struct response *resp)
{
	/* Query parameters the export does not know are ignored, as on every GET route. */
	struct export_args a = {
		.kind = request_query(req, "kind"), .channel = request_query(req, "channel"),
		.touchpoint = request_query(req, "touchpoint"), .agent = request_query(req, "agent"),
		.since = request_query(req, "since"), .until = request_query(req, "until"),
	};
	struct export_filter f;
	struct gw_err err = { 0 };
	struct csv_export *x;

	/* The filter's strings are bound by csv_export_open(), before the request is answered. */
	if (export_args_parse(&a, &f, &err) < 0 || !(x = csv_export_open(gw->store, &f, &err))) {
		http_error_from(resp, &err);
		return;
	}
	resp->status = 200;
	resp->content_type = "text/csv; charset=utf-8";
	resp->extra_header = "Content-Disposition: attachment; filename=\"responses.csv\"";
	resp->reader = csv_reader;
	resp->release = csv_release;
	resp->reader_ctx = x;
}

/* ---- webhooks ------------------------------------------------------------------------ */

struct view_ctx {
	const struct request *req;
};

static const char *view_header(const struct http_req_view *v, const char *name)
{
	return request_header(((struct view_ctx *)v->ctx)->req, name);
}

static const char *view_query(const struct http_req_view *v, const char *name)
{
	return request_query(((struct view_ctx *)v->ctx)->req, name);
}

/* A webhook between its parse and its answer: the events, what the store records of them, and
 * the provider's answer, kept until the commit. */
struct webhook_job {
	struct gateway *gw;
	struct provider *p;
	struct set_aside aside;
	struct event_list events;
	struct webhook_reply reply;
	struct conversation *conv;
	struct gw_err err;
};

static void webhook_job_free(struct webhook_job *wj)
{
	buf_release(&wj->reply.body);
	event_list_release(&wj->events);
	free(wj);
}

/* The answer once the store has recorded every event (wj->aside.rc); frees wj. */
static void webhook_answer(void *ctx, struct response *resp)
{
	struct webhook_job *wj = ctx;
	struct webhook_reply *reply = &wj->reply;
	int any_queued = 0;

	conversation_end(wj->conv, wj->aside.rc == 0, &any_queued);
	if (wj->aside.rc < 0) {
		http_error_from(resp, &wj->err);
		webhook_job_free(wj);
		return;
	}
	if (any_queued)
		dispatcher_wake(wj->gw->dispatcher);
	if (reply->skipped)
		log_warn("webhook_skipped",
			 "%s: %zu entries of a notification left out, the rest "
			 "stored; the first: %s (%s)",
			 provider_name(wj->p), reply->skipped, reply->err.msg, reply->err.field);
	resp->status = reply->status;
	if (reply->content_type) {
		resp->content_type = reply->content_type;
		buf_append(&resp->body, buf_cstr(&reply->body), reply->body.len);
	} else {
		http_json_reply(resp, reply->status, json_pack("{s:s}", "status", "ok"));
	}
	webhook_job_free(wj);
}

static void webhook(struct gateway *gw, const struct request *req, struct response *resp)
{
	const char *name = req->path + strlen("/webhooks/");
	size_t name_len = strcspn(name, "/");
	char pname[32], url[2048];
	struct provider *p;
	struct view_ctx vctx = { req };
	struct http_req_view view;
	struct webhook_job *wj;

	snprintf(pname, sizeof(pname), "%.*s", (int)(name_len < 31 ? name_len : 31), name);
	if (!(p = gateway_provider(gw, pname))) {
		http_error(resp, 404, "not_found", "", "no channel uses provider '%s'", pname);
		return;
	}
	if (strcmp(req->method, "POST") != 0 &&
	    !(strcmp(req->method, "GET") == 0 && provider_has(p, PROVIDER_CAP_WEBHOOK_GET))) {
		http_error(resp, 405, "method_not_allowed", "", "%s is not allowed here (use POST)",
			   req->method);
		resp->extra_header = provider_has(p, PROVIDER_CAP_WEBHOOK_GET) ? "Allow: GET, POST"
									      : "Allow: POST";
		return;
	}
	if (provider_has(p, PROVIDER_CAP_WEBHOOK_API_KEY) && authorize(gw, req, resp) < 0)
		return;
	if (!(wj = calloc(1, sizeof(*wj)))) {
		http_error(resp, 503, "unavailable", "", "out of memory");
		return;
	}
	wj->gw = gw;
	wj->p = p;
	wj->aside.state = req->state;
	snprintf(url, sizeof(url), "%s%s", gw->cfg.public_url, req->path);
	view = (struct http_req_view){ .method = req->method, .path = req->path, .url = url,
				       .body = req->body, .body_len = req->body_len,
				       .header = view_header, .query = view_query, .ctx = &vctx };
	event_list_init(&wj->events);
	buf_init(&wj->reply.body, 64 * 1024);
	if (provider_parse_webhook(p, &view, &wj->events, &wj->reply) < 0) {
		http_error_from(resp, &wj->reply.err);
		webhook_job_free(wj);
		return;
	}
	/* Everything is durable before the provider hears 2xx; a failure makes it retry. */
	if (!(wj->conv = conversation_begin(gw, p, &wj->events, &wj->err))) {
		wj->aside.rc = -1;
		webhook_answer(wj, resp);
		return;
	}
	if (!wj->events.n) { /* nothing to record: a handshake, a notification of
					 * nothing the gateway keeps */
		webhook_answer(wj, resp);
		return;
	}
	if (!request_defer(req, resp, webhook_answer, wj)) {
		wj->aside.rc = conversation_record(wj->conv, &wj->err);
		webhook_answer(wj, resp);
		return;
	}
	/* set aside: answered by webhook_answer() once set_aside_committed() brings it back */
	if (conversation_record_async(wj->conv, &wj->err, set_aside_committed, &wj->aside) < 0)
		set_aside_committed(&wj->aside, -1);
}

/* ---- routing ------------------------------------------------------------------------- */

void api_handle(struct gateway *gw, const struct request *req, struct response *resp)
{
	const char *path = req->path;

	if (strcmp(path, "/healthz") == 0) {
		if (http_method_is(req, "GET", resp))
			status_healthz(gw, resp);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		if (http_method_is(req, "GET", resp))
			status_metrics(gw, resp);
		return;
	}
	if (strncmp(path, "/webhooks/", 10) == 0) {
		webhook(gw, req, resp);
		return;
	}
	if (strncmp(path, "/v1/", 4) != 0) {
		http_error(resp, 404, "not_found", "", "no route %s", path);
		return;
	}
	if (authorize(gw, req, resp) < 0)
		return;
	if (strcmp(path, "/v1/surveys") == 0) {
		if (strcmp(req->method, "GET") == 0)
			list_surveys(gw, req, resp);
		else if (http_method_is(req, "POST", resp))
			post_survey(gw, req, resp);
		else
			resp->extra_header = "Allow: GET, POST";
	} else if (strncmp(path, "/v1/surveys/", 12) == 0 && path[12] && !strchr(path + 12, '/')) {
		if (http_method_is(req, "GET", resp))
			reply_survey(gw, path + 12, 200, resp);
	} else if (strcmp(path, "/v1/responses.csv") == 0) {
		if (http_method_is(req, "GET", resp))
			get_responses_csv(gw, req, resp);
	} else if (strcmp(path, "/v1/reports") == 0) {
		report_api_get(gw, req, resp);
	} else if (strncmp(path, "/v1/customers/", 14) == 0 && path[14] &&
		   !strchr(path + 14, '/')) {
		customers_route(gw, req, path + 14, resp);
	} else {
		http_error(resp, 404, "not_found", "", "no route %s", path);
	}
}
