/*
 * store.h - the gateway's persistent state: customers, surveys, messages (the outbox and every
 * inbound text) and responses.
 *
 * The interface speaks of surveys and messages only; no SQL and no backend type leaves store/.
 * Every write is one transaction that is durable when the call returns 0: a caller may acknowledge
 * a request as soon as its store call succeeded, and must not when it failed.
 *
 * Threads: one `struct store` is shared by every thread.  Writes are serialised inside the store;
 * reads use connections of their own, so a long export never blocks intake.
 *
 * Times are Unix seconds (UTC).  Strings passed in are copied; strings handed out live in the
 * caller's structs (fixed buffers, or malloc'd members released by the matching _release()).
 *
 * Errors: functions return 0 on success and -1 on failure with err->msg set; err->http_status is
 * 503 when the database could not be written (disk full, I/O error, locked), so that callers
 * answer "try again" and never a 2xx.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gwerr.h"

#define SURVEY_ID_LEN 40
#define STORE_ID_LEN 129        /* customer, interaction ids: up to 128 bytes */
#define STORE_TEXT_LEN 129      /* name, touchpoint, agent: up to 128 bytes */
#define STORE_PHONE_LEN 24
#define STORE_PROVIDER_ID_LEN 128

struct store;

/* Opens (creating when needed) the database at `path`, creating its folder, and brings the
 * schema up to date.  NULL with err set on failure.  Close with store_close(). */
struct store *store_open(const char *path, struct gw_err *err);
void store_close(struct store *st);

/* The schema version this build writes (PRAGMA user_version after store_open()). */
int store_schema_version(void);

/* The storage engine's version, for `gateway version`. */
const char *store_sqlite_version(void);

/* 0 when the store takes a write now (it writes one heartbeat row and commits it). */
int store_check_writable(struct store *st, struct gw_err *err);

/* ---- surveys --------------------------------------------------------------------------- */

struct survey_new {
	const char *id;                 /* new survey id, chosen by the caller */
	const char *customer_id, *phone, *name, *locale;   /* name may be NULL */
	const char *timezone;           /* the customer's IANA zone, or NULL */
	const char *kind, *channel, *provider;
	const char *interaction_id;
	const char *touchpoint, *agent, *opened_at, *closed_at;   /* each may be NULL */
	int64_t now, send_after, expires_at;
	int64_t expire_after_s;         /* expires_at is reset to sent_at + this at send */
	int fatigue_days;               /* skip when surveyed within this many days (0: off) */
	const char *question;           /* the survey text to send */
};

/* What store_create_survey() did. */
enum survey_create {
	SURVEY_EXISTING = 0,    /* same (interaction_id, kind) seen before: nothing written */
	SURVEY_CREATED = 1,     /* survey, customer and outbound message written */
	SURVEY_SKIPPED = 2,     /* surveyed recently: a survey row with status skipped, nothing sent */
	SURVEY_OPTED_OUT = 3,   /* the phone opted out: nothing written */
};

/*
 * In one transaction: when a survey with the same (interaction_id, kind) exists, nothing is
 * written and id_out is its id (SURVEY_EXISTING); when the phone has opted out, nothing is written
 * (SURVEY_OPTED_OUT); when the same customer id or phone has a survey created within
 * in->fatigue_days days that was not skipped or failed, a survey row with status `skipped` and
 * reason `recently_surveyed` is written and nothing is queued (SURVEY_SKIPPED); otherwise the
 * survey, its customer (created or updated) and its outbound message, queued for `send_after`, are
 * written (SURVEY_CREATED).  *outcome receives the enum survey_create value.
 */
int store_create_survey(struct store *st, const struct survey_new *in, char id_out[SURVEY_ID_LEN],
			int *outcome, struct gw_err *err);

struct survey {
	char id[SURVEY_ID_LEN];
	char customer_id[STORE_ID_LEN];
	char phone[STORE_PHONE_LEN];
	char name[STORE_TEXT_LEN];
	char locale[8];
	char kind[8];
	char channel[16];
	char provider[16];
	char interaction_id[STORE_ID_LEN];
	char touchpoint[STORE_TEXT_LEN];
	char agent[STORE_TEXT_LEN];
	char opened_at[40], closed_at[40];
	char status[16];
	char reason[32];        /* why skipped: recently_surveyed, opted_out; "" otherwise */
	char timezone[64];
	int64_t created_at, send_after, sent_at, delivered_at, answered_at, expires_at; /* 0: unset */
	int attempts;
	int reprompted;
	char provider_message_id[STORE_PROVIDER_ID_LEN];
	char error_code[32];
	char error_message[256];
	int has_response;
	int score;
	char *comment;          /* malloc'd when has_response */
	char *raw_text;         /* malloc'd when has_response */
};

/* Reads one survey with its response.  0 found, 1 no such survey, -1 error.  The caller releases
 * `out` with survey_release() after 0. */
int store_get_survey(struct store *st, const char *id, struct survey *out, struct gw_err *err);
void survey_release(struct survey *s);

/* ---- the outbox ------------------------------------------------------------------------ */

struct outbox_item {
	int64_t message_id;
	char survey_id[SURVEY_ID_LEN];  /* "" for messages outside a survey */
	char provider[16];
	char channel[16];
	char purpose[16];               /* "survey", "thanks", "reprompt" */
	char phone[STORE_PHONE_LEN];
	char *body;                     /* malloc'd */
	int attempts;                   /* including the one being claimed */
	char kind[8];                   /* the survey's, "" without a survey */
	char locale[8];                 /* the survey's, "" without a survey */
	char name[STORE_TEXT_LEN];      /* the survey's customer name, "" when unknown */
	int64_t last_inbound_at;        /* the number's last text to this provider, 0: never */
	int needs_template;             /* the provider refused it as free-form text */
};

/*
 * Claims up to `max` queued outbound messages for `provider` due at `now` (oldest first): they
 * move to `sending` (their survey too) in one transaction, so that a crash from here on leaves
 * evidence that a send may have happened.  *n receives how many were claimed.  Each item's body
 * is released with outbox_item_release().
 */
int store_claim_due(struct store *st, int64_t now, const char *provider,
		    struct outbox_item *items, size_t max, size_t *n, struct gw_err *err);
void outbox_item_release(struct outbox_item *it);

/* WhatsApp messages to one person are claimed at least `seconds` apart, and never while another
 * is being sent (Meta's pair rate limit; default 6, 0: off). */
void store_set_pair_interval(struct store *st, int64_t seconds);

/* The earliest time a queued message falls due, or 0 when none is queued. */
int store_next_due(struct store *st, int64_t *when, struct gw_err *err);

/* The provider took message `message_id`: it is sent, with the provider's id. */
int store_send_accepted(struct store *st, int64_t message_id, const char *provider_message_id,
			int64_t now, struct gw_err *err);
/* A transient failure: queued again for `next_at`, with the failure kept as the last error. */
int store_send_retry(struct store *st, int64_t message_id, int64_t next_at, const char *code,
		     const char *message, struct gw_err *err);
/* The provider refused free-form text (outside a WhatsApp session): queued again at once, to be
 * sent as a template. */
int store_send_needs_template(struct store *st, int64_t message_id, int64_t now,
			      const char *code, const char *message, struct gw_err *err);

/* The provider says the number refuses these messages: the number is suppressed as after an
 * opt-out (its queued surveys skipped, queued messages cancelled), without a confirmation. */
int store_suppress_phone(struct store *st, const char *phone, const char *provider, int64_t now,
			 struct gw_err *err);

/* A permanent failure: the message, and its survey, are failed with the provider's code. */
int store_send_failed(struct store *st, int64_t message_id, const char *code, const char *message,
		      int64_t now, struct gw_err *err);

/* Surveys sent (or uncertain) whose expires_at has passed become `expired`; *n receives how
 * many. */
int store_expire_due(struct store *st, int64_t now, size_t *n, struct gw_err *err);

/* Up to `max` ids of surveys with `status`, oldest first, into ids; *n receives how many.
 * Reads on a connection of its own. */
int store_list_surveys(struct store *st, const char *status, size_t max,
		       char (*ids)[SURVEY_ID_LEN], size_t *n, struct gw_err *err);

/* [dispatch] resend_uncertain = on: uncertain messages (and their surveys) are queued again,
 * accepting that the customer may get them twice.  *n receives how many. */
int store_requeue_uncertain(struct store *st, int64_t now, size_t *n, struct gw_err *err);

/* At start-up: messages left in `sending` by a previous process may have reached the provider.
 * They (and their surveys) become `uncertain` and are never resent by themselves.  *n receives
 * how many. */
int store_mark_uncertain(struct store *st, size_t *n, struct gw_err *err);

/* ---- inbound texts and statuses -------------------------------------------------------- */

/* The open survey an inbound text was matched to. */
struct matched_survey {
	char id[SURVEY_ID_LEN];
	char customer_id[STORE_ID_LEN];
	char name[STORE_TEXT_LEN];
	char locale[8];
	char kind[8];
	char channel[16];
	char status[16];
	int reprompted;
	int follow_up_pending;          /* answered, and the follow-up window is still open */
};

/* What the store knows about an inbound text when the rules are asked about it. */
struct inbound_view {
	const struct matched_survey *survey;    /* the open survey, or NULL */
	int suppressed;                         /* the number has opted out */
	char locale[8];                         /* the number's newest customer's, or "" */
	char name[STORE_TEXT_LEN];
};

enum inbound_action {
	INBOUND_STORE_ONLY,     /* keep the text, nothing else */
	INBOUND_ANSWER,         /* record (or replace) the response */
	INBOUND_REPROMPT,       /* mark the survey re-prompted */
	INBOUND_COMMENT,        /* the text is the follow-up comment of the survey's response */
	INBOUND_OPT_OUT,        /* suppress the number, cancel its queued surveys */
	INBOUND_OPT_IN,         /* lift the number's suppression (the record stays) */
};

/* What the conversation rules decided about one inbound text. */
struct inbound_decision {
	enum inbound_action action;
	int score;                      /* INBOUND_ANSWER */
	const char *comment;            /* INBOUND_ANSWER, INBOUND_COMMENT; may be NULL */
	size_t comment_len;
	int64_t follow_up_until;        /* INBOUND_ANSWER: 0, or when the follow-up window closes */
	const char *reply;              /* text to queue back to the customer, or NULL */
	const char *reply_purpose;      /* "thanks", "follow_up", "reprompt", "opt_out", "opt_in" */
};

/* Called inside the store's transaction; must only compute, never call the store. */
typedef void (*inbound_decide_fn)(void *ctx, const struct inbound_view *v,
				  struct inbound_decision *out);

struct inbound_in {
	const char *provider;
	const char *provider_message_id;
	const char *channel;            /* NULL: any channel this provider serves */
	const char *from;               /* the customer's number */
	const char *text;
	size_t text_len;
	int64_t now;
};

struct inbound_result {
	int duplicate;                  /* this provider message id was stored before: nothing done */
	int matched;
	char survey_id[SURVEY_ID_LEN];
	enum inbound_action action;
};

/*
 * Stores one inbound text and applies what `decide` says, all in one transaction: the text is
 * stored once per (provider, provider_message_id); it is matched to the newest open survey for
 * that number, provider and channel (sending, sent, delivered, read, uncertain or answered, and
 * not expired; or answered with its follow-up window open); an answer records (or replaces) the
 * response and marks the survey answered; a reprompt marks it reprompted; a comment replaces the
 * response's comment and closes the follow-up window; an opt-out suppresses the number and skips
 * its queued surveys (reason opted_out); an opt-in lifts the suppression; a reply is queued on the
 * survey's channel (the text's channel, else sms, when no survey matched).
 */
int store_record_inbound(struct store *st, const struct inbound_in *in, inbound_decide_fn decide,
			 void *ctx, struct inbound_result *res, struct gw_err *err);

/*
 * Records a delivery status ("sent", "delivered", "read", "failed") for an outbound message known
 * by its provider id.  States only move forward (a late "delivered" never overwrites "read"); an
 * answered survey keeps its status.  *found is 0 when no message has that id.
 */
int store_record_status(struct store *st, const char *provider, const char *provider_message_id,
			const char *status, const char *code, const char *message, int64_t now,
			int *found, struct gw_err *err);

/* ---- idempotency keys ------------------------------------------------------------------ */

enum idem_state {
	IDEM_NEW,               /* first use: recorded as in flight, the caller goes on */
	IDEM_REPLAY,            /* finished before with the same body: *status and *response */
	IDEM_MISMATCH,          /* used before with another body */
	IDEM_IN_FLIGHT,         /* the first request with this key has not finished */
};

/*
 * Claims idempotency key `key` for a request whose body hashes to `body_sha256` (hex).  A claim
 * left in flight for longer than `stale_s` (its process died) is taken over as IDEM_NEW.  On
 * IDEM_REPLAY, *response is malloc'd (caller frees).
 */
int store_idem_begin(struct store *st, const char *key, const char *body_sha256, int64_t now,
		     int64_t stale_s, enum idem_state *state, int *status, char **response,
		     struct gw_err *err);

/* Records the answer to replay for `key` (status 0 forgets the key: the request may be retried
 * as new). */
int store_idem_finish(struct store *st, const char *key, int status, const char *response,
		      struct gw_err *err);

/* Forgets keys created before `before`; *n receives how many. */
int store_idem_purge(struct store *st, int64_t before, size_t *n, struct gw_err *err);

/* ---- export ---------------------------------------------------------------------------- */

struct export_filter {
	const char *kind;       /* NULL: every kind */
	int64_t since;          /* answered at or after; 0: no bound */
	int64_t until;          /* answered before; 0: no bound */
};

struct export_row {
	const char *survey_id, *customer_id, *phone, *channel, *kind;
	int score;
	const char *comment;
	size_t comment_len;
	const char *interaction_id, *touchpoint, *agent;
	int64_t sent_at, answered_at;   /* 0: unknown */
	const char *name, *locale;
};

struct export_cursor;

/* Starts an export of the responses that pass the filter, in answer order, on a read connection
 * of its own (constant memory, never blocks intake).  NULL with err set on failure.  The caller
 * walks it with store_export_next() and frees it with store_export_close(). */
struct export_cursor *store_export_open(struct store *st, const struct export_filter *f,
					struct gw_err *err);

/* The next row: 1 and *r filled (strings valid until the next call), 0 at the end, -1 on error. */
int store_export_next(struct export_cursor *c, struct export_row *r, struct gw_err *err);

void store_export_close(struct export_cursor *c);

#endif
