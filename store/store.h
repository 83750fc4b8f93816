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

/* Opens the store on `backend` ([store] backend): "sqlite", the database file at `path`
 * (created when needed, with its folder), or "postgres", the server and database at `url` (a
 * libpq URL or key=value string; the password is never in a message).  The schema is brought
 * up to date.  NULL with err set on failure.  Close with store_close(). */
struct store *store_open_backend(const char *backend, const char *path, const char *url,
				 struct gw_err *err);
/* store_open_backend("sqlite", path, NULL, err). */
struct store *store_open(const char *path, struct gw_err *err);
void store_close(struct store *st);

/* "sqlite" or "postgres". */
const char *store_backend(const struct store *st);
/* Where the data is, for messages: the SQLite file, or "postgres host:port/database" (never
 * the password). */
const char *store_where(const struct store *st);

/* The schema version this build writes on SQLite (PRAGMA user_version after store_open()). */
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

/* The same, answered later: returns at once, and done(ctx, rc) is called on the store's writer
 * thread once the transaction has committed (rc: 0, or -1 with err set); it must return
 * quickly.  `in`, its strings, id_out, outcome and err must live until then.  -1 with err,
 * done never called, when the work cannot be queued (the store is closing, out of memory). */
int store_create_survey_async(struct store *st, const struct survey_new *in,
			      char id_out[SURVEY_ID_LEN], int *outcome, struct gw_err *err,
			      void (*done)(void *ctx, int rc), void *ctx);

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

/* The survey made for (interaction_id, kind), as store_create_survey() finds it, read without
 * the writer in one statement: 1 with it in *out (released with survey_release()), 0 none yet,
 * -1 error.  A survey once made keeps its interaction and kind, so a 1 stays true; a 0 may be
 * out of date by the time it is acted on, and store_create_survey() decides again. */
int store_find_survey(struct store *st, const char *interaction_id, const char *kind,
		      struct survey *out, struct gw_err *err);
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

/* Send outcomes.  Each returns 0 when recorded, 1 when the message had been cancelled meanwhile
 * (its customer erased: nothing of the outcome is kept), -1 on error. */

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

/* One send outcome of a batch (store_record_sends()). */
struct send_record {
	enum send_record_kind {
		SEND_REC_ACCEPTED,      /* a: the provider's message id; t: now */
		SEND_REC_RETRY,         /* a, b: the error; t: when to try again */
		SEND_REC_TEMPLATE,      /* a, b: the error; t: now */
		SEND_REC_FAILED,        /* a, b: the error; t: now */
	} kind;
	int64_t message_id;
	int64_t t;
	const char *a, *b;
	/* SEND_REC_FAILED: the provider says the number refuses these messages; it is
	 * suppressed (store_suppress_phone()) with this provider's name. */
	const char *suppress_phone, *suppress_provider;
	int cancelled;          /* out: 1 when the message had been cancelled (nothing kept) */
	int refused;            /* out: 1 when this outcome could not be recorded (nothing kept) */
	char why[GW_ERR_LEN];   /* out: why, when refused */
};

/* Records n outcomes in one transaction, as the store_send_*() calls above would one by one,
 * each on its own: one that cannot be recorded (refused, with why) leaves its message as it was
 * (`sending`, until its lease makes it uncertain) and the others are kept.  An accepted
 * outcome's provider id must be 1 to STORE_PROVIDER_ID_LEN - 1 printable ASCII characters
 * without spaces.  0, or -1 with none of them recorded (the transaction itself failed). */
int store_record_sends(struct store *st, struct send_record *recs, size_t n, struct gw_err *err);

/* Surveys sent (or uncertain) whose expires_at has passed become `expired`; *n receives how
 * many. */
int store_expire_due(struct store *st, int64_t now, size_t *n, struct gw_err *err);

/* Up to `max` ids of surveys with `status`, oldest first, into ids; *n receives how many.
 * Reads on a pooled reader connection (no writer, no snapshot kept). */
int store_list_surveys(struct store *st, const char *status, size_t max,
		       char (*ids)[SURVEY_ID_LEN], size_t *n, struct gw_err *err);

/* [dispatch] resend_uncertain = on: uncertain messages (and their surveys) are queued again,
 * accepting that the customer may get them twice.  *n receives how many. */
int store_requeue_uncertain(struct store *st, int64_t now, size_t *n, struct gw_err *err);

/* At start-up: messages left in `sending` by a previous process may have reached the provider.
 * They (and their surveys) become `uncertain` and are never resent by themselves.  *n receives
 * how many. */
int store_mark_uncertain(struct store *st, int64_t now, size_t *n, struct gw_err *err);

/* While running: a claim holds a lease of store_set_send_lease() seconds (default 120).  Messages
 * still `sending` when their lease has ended by `now` are treated as above (`uncertain`); an
 * outcome recorded later still lands, since it is then known after all. */
int store_expire_leases(struct store *st, int64_t now, size_t *n, struct gw_err *err);
void store_set_send_lease(struct store *st, int64_t seconds);

/* Provider pacing shared by every process on the store: takes up to `want` sends from the
 * provider's bucket (refilled at rate_per_s up to `burst`), *granted how many.  A store of one
 * process (SQLite) has no shared bucket and grants them all: the process's own bucket paces. */
int store_pace_take(struct store *st, const char *provider, double rate_per_s, double burst,
		    size_t want, size_t *granted, struct gw_err *err);

/* How many outbound messages are queued, being sent, or uncertain (for GET /metrics).  Reads on
 * a pooled reader connection. */
struct store_outbox_depth {
	int64_t queued, sending, uncertain;
};
int store_outbox_depth(struct store *st, struct store_outbox_depth *out, struct gw_err *err);

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
 * survey's channel (the text's channel, else sms, when no survey matched).  On PostgreSQL, whose
 * text holds neither, a NUL byte or an invalid UTF-8 sequence in the text is stored as U+FFFD.
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

/* One event of a webhook for store_record_events(): an inbound text (as store_record_inbound()
 * takes it, its result in `res`) or a delivery status (as store_record_status(), `found`). */
struct store_event {
	int is_status;
	struct inbound_in in;
	inbound_decide_fn decide;
	void *decide_ctx;
	struct inbound_result res;
	const char *provider, *provider_message_id, *status, *code, *message;
	int64_t now;
	int found;
};

/*
 * Records every event of one webhook in one transaction, in order, each as
 * store_record_inbound() or store_record_status() would: all of them, or none (-1 with err).
 * The _async form returns at once and calls done(ctx, rc) on the store's writer thread after the
 * commit (it must return quickly); `evs`, their strings, decide contexts and err must live until
 * then.  It returns -1 with err, done never called, when the work cannot be queued.
 */
int store_record_events(struct store *st, struct store_event *evs, size_t n, struct gw_err *err);
int store_record_events_async(struct store *st, struct store_event *evs, size_t n,
			      struct gw_err *err, void (*done)(void *ctx, int rc), void *ctx);

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
	const char *channel;    /* exact matches; NULL: any */
	const char *touchpoint;
	const char *agent;
};

struct export_row {
	const char *survey_id, *customer_id, *phone, *channel, *kind;
	int score;
	const char *comment;
	size_t comment_len;
	const char *interaction_id, *touchpoint, *agent;
	int64_t sent_at, answered_at;   /* 0: unknown */
	const char *name, *locale;
	const char *opened_at, *closed_at;      /* the interaction's, as given; "" when not */
};

struct export_cursor;

/* Starts an export of the responses that pass the filter, in answer order, on a read connection
 * of its own, in one read transaction (one snapshot, constant memory, never blocks intake).  The
 * filter's strings are bound at once: the caller may free them after the call.  NULL with err
 * set on failure.  The caller walks it with store_export_next() and frees it with
 * store_export_close(). */
struct export_cursor *store_export_open(struct store *st, const struct export_filter *f,
					struct gw_err *err);

/* Opens up to *n cursors (as store_export_open()) that all read one snapshot, to walk disjoint
 * answer-time ranges of one export at once (store_export_range()).  The snapshot is taken under
 * a moment's write lock, so that nothing commits between the cursors' first reads; when the
 * lock cannot be had (a read-only file, a writer holding it past the busy timeout) one cursor
 * is opened.  0 with *n set and cur[0..*n) filled; -1 with err set when none could be opened. */
int store_export_open_many(struct store *st, const struct export_filter *f,
			   struct export_cursor **cur, size_t *n, struct gw_err *err);

/* Boundaries that cut the cursor's answer-time range into slices of about `step` responses
 * each (ascending, distinct; a run of answers of one second stays in one slice): 0 with
 * *bounds malloc'd (NULL when none) and *n set, -1 with err set. */
int store_export_bounds(struct export_cursor *c, size_t step, int64_t **bounds, size_t *n,
			struct gw_err *err);

/* Restarts the cursor on the answers of [from, to) that its filter lets through (0: no bound
 * of its own on that side). */
int store_export_range(struct export_cursor *c, int64_t from, int64_t to, struct gw_err *err);

/* How many rows the cursor returns, in its snapshot, when an index answers that (the filter
 * bounds the answer time only): 1 and *n set.  0 when counting would cost a scan of its own
 * (*n untouched), -1 with err on failure.  Call it before the first store_export_next(). */
int store_export_count(struct export_cursor *c, int64_t *n, struct gw_err *err);

/* The next row: 1 and *r filled (strings valid until the next call), 0 at the end, -1 on error. */
int store_export_next(struct export_cursor *c, struct export_row *r, struct gw_err *err);

void store_export_close(struct export_cursor *c);

/* ---- reports --------------------------------------------------------------------------- */

/* The order report rows come in: every group's surveys are adjacent, oldest first inside it. */
enum report_order {
	REPORT_ORDER_TIME,              /* by created_at */
	REPORT_ORDER_CHANNEL,
	REPORT_ORDER_TOUCHPOINT,        /* a missing touchpoint reads as "" and comes first */
	REPORT_ORDER_AGENT,             /* likewise */
};

struct report_query {
	const char *kind;               /* "nps", "ces", "csat": required */
	int64_t since;                  /* created (triggered) at or after; 0: no bound */
	int64_t until;                  /* created before; 0: no bound */
	enum report_order order;
};

/* One survey as a report sees it.  Strings are "" when unset. */
struct report_row {
	const char *channel, *touchpoint, *agent;
	const char *opened_at, *closed_at;      /* the interaction's, as the trigger gave them */
	const char *status, *reason;
	int64_t created_at, sent_at, answered_at;       /* 0: unset; answered_at is the response's */
	int has_response;
	int score;                      /* when has_response */
	int stop_reply;                 /* the customer answered this survey with a stop word */
};

struct report_cursor;

/* Starts reading every survey of q->kind created in [since, until), in q->order, with one
 * statement on a read connection of its own (constant memory, never blocks intake).  NULL with
 * err set on failure.  Walk with store_report_next(), free with store_report_close(). */
struct report_cursor *store_report_open(struct store *st, const struct report_query *q,
					struct gw_err *err);

/* The next row: 1 and *r filled (strings valid until the next call), 0 at the end, -1 on error. */
int store_report_next(struct report_cursor *c, struct report_row *r, struct gw_err *err);

void store_report_close(struct report_cursor *c);

/* ---- outbound events ------------------------------------------------------------------- */

/*
 * Outbound events tell a receiver outside the gateway what customers did: a response, its
 * follow-up comment, an opt-out, an opt-in.  Each event is written in the same transaction as
 * what it reports, so a committed response always has its event and a rolled-back one never
 * does.  The store does not know the wire format: the gateway sets a format function that turns
 * the facts into the body to send and an id; the store keeps both until the receiver took them.
 */

#define EVENT_ID_LEN 40         /* "evt_" + 24 hex digits, with room to spare */

enum evt_type {
	EVT_RESPONSE_CREATED,   /* the survey's first score */
	EVT_RESPONSE_UPDATED,   /* a later score replaced it */
	EVT_RESPONSE_COMMENTED, /* the follow-up comment arrived */
	EVT_OPTED_OUT,          /* the number was suppressed */
	EVT_OPTED_IN,           /* its suppression was lifted */
	EVT__COUNT
};

/* "response.created", "response.updated", "response.commented", "customer.opted_out",
 * "customer.opted_in". */
const char *evt_type_name(enum evt_type t);

/* What one event reports.  Strings are borrowed for the call; "" when unknown. */
struct evt_facts {
	enum evt_type type;
	int64_t at;                     /* when it happened */
	const char *source;             /* opt-out/in: "customer" (a text) or "provider" */
	int has_survey;                 /* the survey_id ... agent members are set */
	const char *survey_id, *kind, *channel, *interaction_id, *touchpoint, *agent;
	const char *customer_id;
	const char *phone;              /* opt-out/in only (the suppression is the number's) */
	int has_response;               /* score and comment are set */
	int score;
	const char *comment;
};

/* Formats `f` as the body to deliver, a malloc'd NUL-terminated string the store frees, and
 * writes the event's unique id to id_out.  NULL when it cannot (out of memory, no randomness):
 * the write the event belongs to then fails as a whole.  Called on the store's writer thread
 * inside the transaction: it must only compute. */
typedef char *(*event_format_fn)(void *ctx, const struct evt_facts *f, char id_out[EVENT_ID_LEN]);

/* From now on every write that records a response, comment, opt-out or opt-in also writes its
 * event, formatted by `fn` (NULL, the default: no events at all, so nothing piles up when
 * delivery is off).  Call before the store is shared between threads. */
void store_set_event_format(struct store *st, event_format_fn fn, void *ctx);

/* A pending event as store_events_due() hands it out. */
struct evt_item {
	int64_t seq;                    /* delivery order */
	char id[EVENT_ID_LEN];
	char type[32];
	char *body;                     /* malloc'd; released by evt_item_release() */
	int attempts;                   /* failed attempts so far */
	int64_t created_at;
};

/*
 * Up to `max` pending events due at `now`, oldest first (by seq), into items; *n receives how
 * many.  Nothing is written: one delivery thread owns the queue, and an event stays due until
 * store_events_record() says otherwise, so a crash in between delivers it again (at least once).
 */
int store_events_due(struct store *st, int64_t now, struct evt_item *items, size_t max,
		     size_t *n, struct gw_err *err);
void evt_item_release(struct evt_item *it);

enum evt_result {
	EVT_DELIVERED, /* the receiver took it: deleted */
	EVT_RETRY,     /* an attempt failed: attempts + 1, due again at next_at */
	EVT_EXPIRED,   /* failed past [events] max_age: kept as expired, never sent again */
	EVT_UNTRIED,   /* handed out but not attempted (an earlier one failed): due as it
				 * was, to whoever asks next */
};

struct evt_outcome {
	int64_t seq;
	enum evt_result result;
	int64_t next_at;        /* EVT_RETRY */
	const char *error;      /* EVT_RETRY, EVT_EXPIRED: why, kept as the event's last error */
};

/* Records the outcomes of `n` events in one transaction.  Every event store_events_due() handed
 * out should get one: on a store shared by instances the events handed out are kept from the
 * others until then (or until a lease of about a minute ends). */
int store_events_record(struct store *st, const struct evt_outcome *o, size_t n,
			struct gw_err *err);

/* ---- customers: history, erasure, retention (store_customers.c) ------------------------ */

/*
 * A customer is known by the CRM's id (customer.id of the trigger).  Erasing one blanks their
 * number, name, time zone, message texts, comments and raw replies, and provider references
 * (Meta's message ids carry the number); it keeps their id, scores, kinds, channels,
 * touchpoints, agents and times, so reports still count them.  Their queued surveys become
 * `skipped` with reason `erased` and their unsent messages `cancelled`.  A suppression of one of
 * their numbers stays, as "sha256:<hex>" of the number (store_phone_hash()); every suppression
 * check looks up a number and its hash, so a later trigger for that number is still refused.
 */

#define STORE_PHONE_HASH_LEN 72         /* "sha256:" + 64 hex digits + NUL */

/* "sha256:<hex>" of the E.164 number `phone`, as suppressions keep it after an erasure.  0, or
 * -1 when it could not be computed (out of memory). */
int store_phone_hash(const char *phone, char out[STORE_PHONE_HASH_LEN]);

struct customer_info {
	char id[STORE_ID_LEN];          /* the CRM's id */
	char phone[STORE_PHONE_LEN];    /* "" once erased */
	char name[STORE_TEXT_LEN];      /* "" when unknown or erased */
	char locale[8];
	char timezone[64];              /* "" when unknown or erased */
	int opted_out;                  /* the number's suppression; frozen at the erasure */
	int64_t created_at, updated_at;
	int64_t erased_at;              /* 0: never erased */
};

struct customer_survey {
	char id[SURVEY_ID_LEN];
	char kind[8];
	char channel[16];
	char status[16];
	char reason[32];
	char interaction_id[STORE_ID_LEN];
	char touchpoint[STORE_TEXT_LEN];
	char agent[STORE_TEXT_LEN];
	int64_t created_at, sent_at, delivered_at, answered_at, expires_at;    /* 0: unset */
	int has_response;
	int score;                      /* when has_response */
	char *comment;                  /* malloc'd when has_response ("" when none or erased) */
};

struct customer_history {
	struct customer_info customer;
	struct customer_survey *surveys;        /* newest first; malloc'd */
	size_t n;
	int more;                               /* the customer has more surveys than asked for */
	int has_latest_nps;                     /* the newest NPS response, of all the surveys */
	int latest_nps_score;
	char latest_nps_survey[SURVEY_ID_LEN];
	int64_t latest_nps_at;
};

/* The customer `customer_id` and up to `max` of their surveys, newest first, read in one
 * snapshot on a pooled reader connection.  0 found (release `h` with customer_history_release()),
 * 1 no such customer, -1 error. */
int store_customer_history(struct store *st, const char *customer_id, size_t max,
			   struct customer_history *h, struct gw_err *err);
void customer_history_release(struct customer_history *h);

/* What one erasure changed: rows per table, 0 each for a customer erased before with nothing
 * new since. */
struct erase_summary {
	size_t surveys, responses, messages, suppressions, idempotency_keys;
	size_t events;                  /* outbound events not delivered yet: dropped */
	size_t cancelled;               /* queued surveys skipped (reason erased) */
	size_t phone_shared;            /* other customers with one of the numbers: theirs stay */
	int opted_out;                  /* a number of theirs is suppressed (kept as its hash) */
	int64_t erased_at;              /* this erasure, or the earlier one when nothing was left */
};

/* Erases the customer's personal data (see above) in one transaction.  0 done, 1 no such
 * customer (nothing written), -1 error.  The old page images stay in the database's log until
 * store_wipe_freed(). */
int store_erase_customer(struct store *st, const char *customer_id, int64_t now,
			 struct erase_summary *sum, struct gw_err *err);

/* ---- the write-ahead log ------------------------------------------------------------------ */

/*
 * Commits go to a log beside the database file; a checkpointer thread copies them back into the
 * database every 200 ms without holding up writes or readers.  When the log file passes the
 * limit (default 64 MiB), the writer resets it between two groups of writes (waiting at most
 * 100 ms for readers of older snapshots): the log starts over and the file is cut back to the
 * limit at the next commit, or emptied when no write is waiting.  The limit is a target, not a
 * cap: a burst may overshoot it until the next round.
 * store_set_log_limit(): 0, or -1 with err.
 */
#define STORE_LOG_LIMIT_DEFAULT (64 * 1024 * 1024)
int store_set_log_limit(struct store *st, int64_t bytes, struct gw_err *err);

/* What the checkpoints achieved, for GET /metrics, /healthz and the logs. */
struct store_log_stats {
	int64_t bytes;                  /* the log file's size at the last round */
	int64_t limit;                  /* store_set_log_limit() */
	int64_t frames;                 /* pages in the log at the last checkpoint */
	int64_t frames_pending;         /* of those, not yet copied into the database */
	uint64_t frames_copied;         /* pages copied back since open */
	uint64_t checkpoints;           /* checkpoints run since open */
	uint64_t resets;                /* of those, the ones that had the log start over */
	double since_complete_s;        /* since a checkpoint last copied the whole log; -1: never */
	char error[GW_ERR_LEN];         /* why the last checkpoint failed or was held back; "" */
	int kept;                       /* 0: the store keeps no log of its own (PostgreSQL) */
};
void store_log_stats(struct store *st, struct store_log_stats *out);

/* What a database server shared by several processes says of the store's database, for GET
 * /metrics: rows that were updated or deleted and not vacuumed yet, and how long the oldest
 * transaction open on it has been (which holds vacuum back).  1 with *out filled; 0 when the
 * store is a file of its own (SQLite: store_log_stats() says what there is); -1 with err. */
struct store_server_stats {
	int64_t dead_rows;
	double oldest_transaction_s; /* 0: none open */
	/* writes of this process the server ended to break a deadlock with another process,
	 * and ran again */
	uint64_t writes_retried;
};
int store_server_stats(struct store *st, struct store_server_stats *out, struct gw_err *err);

/* Copies the log into the database file and truncates it (a TRUNCATE checkpoint), retrying
 * for up to `wait_ms` while readers hold it; freed bytes were already zeroed (secure_delete).
 * 0, or -1 with err (503 store_busy when readers kept it busy throughout). */
int store_wipe_freed(struct store *st, int wait_ms, struct gw_err *err);

/* [store] retain_days: blanks message bodies created before `before` (not those still to be
 * sent) and the comments and raw replies of responses answered before it.  *n receives how many
 * rows changed. */
int store_purge_texts(struct store *st, int64_t before, size_t *n, struct gw_err *err);

#endif
