/* customers.c - see customers.h. */
#include "customers.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "export.h"
#include "log.h"
#include "vocab.h"

#define ID_MAX 128              /* customer.id is at most 128 bytes (POST /v1/surveys) */
#define HISTORY_DEFAULT 100
#define HISTORY_MAX 200         /* surveys per answer: comments can be long, answers are capped */
#define ERASE_WIPE_WAIT_MS 10000        /* how long an erasure waits for readers to leave the log */

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

/* The category of `score` for a kind named `kind` ("promoter", ...), or NULL. */
static json_t *category_json(const char *kind, int score)
{
	enum survey_kind k;

	if (kind_from_name(kind, &k) < 0)
		return json_null();
	return str_or_null(score_category(k, score));
}

static json_t *history_survey_json(const struct customer_survey *v)
{
	json_t *j = json_object(), *resp = json_null();

	if (!j)
		return NULL;
	if (v->has_response)
		resp = json_pack("{s:i,s:o,s:s,s:o}", "score", v->score, "category",
				 category_json(v->kind, v->score), "comment", v->comment,
				 "answered_at", time_or_null(v->answered_at));
	json_object_set_new(j, "id", json_string(v->id));
	json_object_set_new(j, "status", json_string(v->status));
	json_object_set_new(j, "reason", str_or_null(v->reason));
	json_object_set_new(j, "kind", json_string(v->kind));
	json_object_set_new(j, "channel", json_string(v->channel));
	json_object_set_new(j, "interaction_id", json_string(v->interaction_id));
	json_object_set_new(j, "touchpoint", str_or_null(v->touchpoint));
	json_object_set_new(j, "agent", str_or_null(v->agent));
	json_object_set_new(j, "created_at", time_or_null(v->created_at));
	json_object_set_new(j, "sent_at", time_or_null(v->sent_at));
	json_object_set_new(j, "delivered_at", time_or_null(v->delivered_at));
	json_object_set_new(j, "answered_at", time_or_null(v->answered_at));
	json_object_set_new(j, "expires_at", time_or_null(v->expires_at));
	json_object_set_new(j, "response", resp ? resp : json_null());
	return j;
}

static json_t *customer_json(const struct customer_info *c)
{
	return json_pack("{s:s,s:o,s:o,s:s,s:o,s:b,s:b,s:o,s:o,s:o}", "id", c->id,
			 "phone", str_or_null(c->phone), "name", str_or_null(c->name),
			 "locale", c->locale, "timezone", str_or_null(c->timezone),
			 "opted_out", c->opted_out, "erased", c->erased_at != 0,
			 "erased_at", time_or_null(c->erased_at),
			 "created_at", time_or_null(c->created_at),
			 "updated_at", time_or_null(c->updated_at));
}

static json_t *history_json(const struct customer_history *h)
{
	json_t *surveys = json_array(), *latest = json_null();

	for (size_t i = 0; surveys && i < h->n; i++)
		json_array_append_new(surveys, history_survey_json(&h->surveys[i]));
	if (h->has_latest_nps)
		latest = json_pack("{s:i,s:o,s:s,s:o}", "score", h->latest_nps_score, "category",
				   category_json("nps", h->latest_nps_score), "survey_id",
				   h->latest_nps_survey, "answered_at",
				   time_or_null(h->latest_nps_at));
	return json_pack("{s:o,s:o,s:o,s:b}", "customer", customer_json(&h->customer),
			 "latest_nps", latest ? latest : json_null(), "surveys",
			 surveys ? surveys : json_array(), "more", h->more);
}

/* GET /v1/customers/{id}[?limit=N]. */
static void get_customer(struct gateway *gw, const struct request *req, const char *id,
			 struct response *resp)
{
	const char *limit_s = request_query(req, "limit");
	struct customer_history h;
	struct gw_err err = { 0 };
	size_t limit = HISTORY_DEFAULT;
	int rc;

	if (limit_s) {
		char *end;
		unsigned long v = strtoul(limit_s, &end, 10);

		if (end == limit_s || *end || limit_s[0] < '0' || limit_s[0] > '9' || v < 1 ||
		    v > HISTORY_MAX) {
			http_error(resp, 422, "invalid_limit", "limit",
				   "limit must be a whole number from 1 to %d", HISTORY_MAX);
			return;
		}
		limit = v;
	}
	rc = strlen(id) > ID_MAX ? 1 : store_customer_history(gw->store, id, limit, &h, &err);
	if (rc < 0) {
		http_error_from(resp, &err);
		return;
	}
	if (rc == 1) {
		http_error(resp, 404, "customer_not_found", "id", "no customer has this id");
		return;
	}
	http_json_reply(resp, 200, history_json(&h));
	customer_history_release(&h);
}

/* DELETE /v1/customers/{id}: erase, then wipe the log; 200 with what changed. */
static void erase_customer(struct gateway *gw, const char *id, struct response *resp)
{
	struct erase_summary sum;
	struct gw_err err = { 0 };
	int rc = strlen(id) > ID_MAX ? 1
				     : store_erase_customer(gw->store, id, gateway_now(gw), &sum,
							    &err);

	if (rc < 0) {
		http_error_from(resp, &err);
		return;
	}
	if (rc == 1) {
		http_error(resp, 404, "customer_not_found", "id", "no customer has this id");
		return;
	}
	/* The erasure is committed; until the log is emptied, copies from before it remain in the
	 * log file.  A retry of the DELETE (idempotent) tries again. */
	if (store_wipe_freed(gw->store, ERASE_WIPE_WAIT_MS, &err) < 0) {
		http_error(resp, 503, err.code[0] ? err.code : "store_unavailable", "",
			   "the customer is erased, but %s", err.msg);
		return;
	}
	printf("event=erase surveys=%zu responses=%zu messages=%zu cancelled=%zu\n", sum.surveys,
	       sum.responses, sum.messages, sum.cancelled);
	fflush(stdout);
	http_json_reply(resp, 200,
			json_pack("{s:s,s:b,s:o,s:b,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I}}",
				 "customer_id", id, "erased", 1, "erased_at",
				 time_or_null(sum.erased_at), "opted_out", sum.opted_out,
				 "cancelled_surveys", (json_int_t)sum.cancelled,
				 "other_customers_with_number", (json_int_t)sum.phone_shared,
				 "changed", "surveys", (json_int_t)sum.surveys, "responses",
				 (json_int_t)sum.responses, "messages", (json_int_t)sum.messages,
				 "suppressions", (json_int_t)sum.suppressions, "idempotency_keys",
				 (json_int_t)sum.idempotency_keys, "events", (json_int_t)sum.events));
}

void customers_route(struct gateway *gw, const struct request *req, const char *id,
		     struct response *resp)
{
	if (strcmp(req->method, "GET") == 0) {
		get_customer(gw, req, id, resp);
	} else if (strcmp(req->method, "DELETE") == 0) {
		erase_customer(gw, id, resp);
	} else {
		http_error(resp, 405, "method_not_allowed", "", "%s is not allowed here (use GET or "
			   "DELETE)", req->method);
		resp->extra_header = "Allow: GET, DELETE";
	}
}
