/*
 * sqlite_priv.h - what the SQLite store's files share (private to store/).
 *
 * struct sqlite_store owns one write connection, used by its writer thread only, with every write
 * statement prepared once at open (stmt[], indexed by enum stmt_id).  Write paths are jobs run
 * by sqlite_run(); readers open connections of their own with open_conn().
 */
#ifndef GW_SQLITE_PRIV_H
#define GW_SQLITE_PRIV_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "group.h"
#include "store.h"

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S_SAVEPOINT_ITEM, S_RELEASE_ITEM, S_ROLLBACK_TO_ITEM,
	S_SURVEY_BY_INTERACTION, S_CUSTOMER_UPSERT, S_SURVEY_INSERT, S_MESSAGE_OUT_INSERT,
	S_DUE_SELECT, S_MESSAGE_CLAIM, S_SURVEY_SET_STATUS,
	S_MESSAGE_SENT, S_SURVEY_SENT, S_MESSAGE_RETRY, S_SURVEY_RETRY,
	S_MESSAGE_FAILED, S_SURVEY_FAILED,
	S_UNCERTAIN_SURVEYS, S_UNCERTAIN_MESSAGES,
	S_INBOUND_INSERT, S_MATCH_OPEN, S_INBOUND_LINK, S_RESPONSE_UPSERT, S_SURVEY_ANSWERED,
	S_SURVEY_REPROMPTED, S_RESPONSE_COMMENT, S_FOLLOW_UP_DONE, S_SUPPRESSED, S_PHONE_CUSTOMER,
	S_RECENTLY_SURVEYED, S_SUPPRESS, S_UNSUPPRESS, S_CUSTOMERS_OPTED, S_SKIP_QUEUED_SURVEYS,
	S_CANCEL_QUEUED_MESSAGES, S_EXPIRE, S_MESSAGE_NEEDS_TEMPLATE,
	S_REQUEUE_UNCERTAIN_SURVEYS, S_REQUEUE_UNCERTAIN_MESSAGES,
	S_HEARTBEAT, S_IDEM_GET, S_IDEM_CLAIM, S_IDEM_FINISH, S_IDEM_FORGET, S_IDEM_PURGE,
	S_STATUS_FIND, S_MESSAGE_STATUS, S_SURVEY_STATUS, S_SURVEY_STATUS_BY_DELIVERY,
	/* outbound events (store_events.c) */
	S_EVENT_INSERT, S_EVENTS_DUE, S_EVENT_DELETE, S_EVENT_RETRY, S_EVENT_EXPIRE,
	S_EVENT_SURVEY, S_EVENT_PHONE_CUSTOMER,
	S__COUNT
};

/* The statements a reader prepares once (store_readers.c). */
enum reader_stmt { R_SURVEY_GET, R_SURVEY_LIST, R_SURVEY_BY_INTERACTION, R_OUTBOX_DEPTH, R__COUNT };

/* A read-only connection kept open between calls, its statements prepared on first use. */
struct reader {
	sqlite3 *db;
	sqlite3_stmt *stmt[R__COUNT];
	struct reader *next; /* in the idle list */
};

struct sqlite_store {
	sqlite3 *db;                    /* the write connection: the writer thread's alone */
	char *path;
	sqlite3_stmt *stmt[S__COUNT];
	/* The group-commit queue and its writer thread (group.c, through sqlite_run()). */
	struct group_queue q;
	/* Checkpoints run on a thread and connection of their own, so that copying the WAL back
	 * into the database (and its fsync) never holds up a group commit. */
	pthread_t checkpointer;
	int checkpointer_running;
	pthread_mutex_t ckpt_wait;      /* the checkpointer sleeps on ckpt_cond under it */
	pthread_cond_t ckpt_cond;       /* wakes the checkpointer early at close */
	int ckpt_stop;                  /* under ckpt_wait */
	/* The write-ahead log, kept near log_stats.limit bytes (sqlite_set_log_limit()): the
	 * checkpointer copies it back every CHECKPOINT_MS; once it has passed the limit, it asks
	 * the writer (group_ask()) to reset it between two groups.  The rest under log_lock. */
	pthread_mutex_t log_lock;
	struct store_log_stats log_stats;
	int64_t log_complete_ms;        /* monotonic ms of the last complete checkpoint; 0: none */
	int64_t reset_backoff_ms;       /* after resets that readers held back; 0: none */
	/* Held by whoever checkpoints (the checkpointer's round, a reset, sqlite_wipe_freed()):
	 * SQLite answers a second checkpoint at once with SQLITE_BUSY instead of waiting. */
	pthread_mutex_t ckpt_lock;
	int64_t pair_interval_s;        /* WhatsApp: seconds between two messages to one person */
	int64_t send_lease_s;           /* a claim's lease: past it, the send is uncertain */
	event_format_fn event_format;   /* outbound events: NULL writes none */
	void *event_ctx;
	/* Idle readers (store_readers.c), under readers_lock. */
	pthread_mutex_t readers_lock;
	struct reader *readers_idle;
	int readers_idle_n;
};

/*
 * Readers for the API's reads: reader_get() takes an idle one or opens one (503 in err when it
 * cannot), reader_stmt() gives its statement `id`, compiled on first use, reader_put() resets
 * every statement, ends a transaction left open and keeps the reader for the next call (or
 * closes it: too many idle, or it holds a statement of the caller's).  A caller may run its own
 * statements on r->db, finalised before reader_put().  readers_close_all() at sqlite_store_close().
 */
struct reader *reader_get(struct sqlite_store *st, struct gw_err *err);
sqlite3_stmt *reader_stmt(struct reader *r, enum reader_stmt id, struct gw_err *err);
void reader_put(struct sqlite_store *st, struct reader *r);
void readers_close_all(struct sqlite_store *st);

/* Records a failure of `db`: 503 for what a retry may cure (full disk, I/O, lock, read-only),
 * 500 otherwise.  Returns -1. */
int db_fail(sqlite3 *db, int rc, const char *what, struct gw_err *err);
/* The prepared statement `id`, reset and unbound; only under st->lock. */
sqlite3_stmt *st_get(struct sqlite_store *st, enum stmt_id id);
/* Binds text (NULL: SQL NULL); bind_opt_str() also turns "" into NULL. */
void bind_str(sqlite3_stmt *s, int i, const char *v);
void bind_opt_str(sqlite3_stmt *s, int i, const char *v);
/* Column i as text: copied into dst (cut to n-1 bytes), malloc'd, or borrowed ("" for NULL). */
void col_copy(sqlite3_stmt *s, int i, char *dst, size_t n);
char *col_dup(sqlite3_stmt *s, int i);
const char *col_str(sqlite3_stmt *s, int i);
/* Runs a statement that returns no row; -1 with err on failure. */
int step_done(struct sqlite_store *st, sqlite3_stmt *s, const char *what, struct gw_err *err);
/* A unit of write work: runs on the writer thread inside a transaction (and a savepoint of its
 * own); 0, or -1 with err set, which rolls back its changes only. */
typedef int (*sqlite_job_fn)(struct sqlite_store *st, void *arg, struct gw_err *err);

/*
 * Group commit: queues `fn` for the writer thread and waits.  The writer takes every queued job,
 * runs them in one transaction, each in a savepoint (a failing job rolls back alone), and commits
 * once: many concurrent callers share one fsync.  Returns the job's result, 0 only once the
 * commit is durable; a failed commit fails every job of the group (503).
 */
int sqlite_run(struct sqlite_store *st, sqlite_job_fn fn, void *arg, struct gw_err *err);
/* sqlite_run() without waiting: on_done(ctx, rc) is called on the writer thread once the job's
 * group has committed (rc as sqlite_run() would return it; 0 only once durable).  The job gets
 * its own copy of the arg_len bytes at `arg`; what they point to, and `err`, must live until
 * then.  -1 with err (on_done never called) when the job cannot be queued. */
int sqlite_submit(struct sqlite_store *st, sqlite_job_fn fn, const void *arg, size_t arg_len,
		  struct gw_err *err, void (*on_done)(void *ctx, int rc), void *ctx);
/* Opens a connection with the store's settings (busy timeout, extended codes). */
int open_conn(const char *path, int flags, sqlite3 **out, struct gw_err *err);
/* The name of the VFS open_conn() uses (wal_vfs.c), or NULL for SQLite's default. */
const char *sqlite_vfs(void);
/* Queues an outbound message due at `due` (inside a transaction). */
int insert_outbound(struct sqlite_store *st, const char *survey_id, const char *purpose,
		    const char *channel, const char *provider, const char *phone, const char *body,
		    int64_t due, int64_t now, struct gw_err *err);

/* Outbound events (store_events.c): written inside the caller's transaction, and only when an
 * event format is set.  After record_inbound applied decision `d` to text `in` (matched to `m`,
 * or NULL; `was_suppressed`: the number's state before): the event it reports, if any. */
int events_after_inbound(struct sqlite_store *st, const struct inbound_in *in,
			 const struct matched_survey *m, int was_suppressed,
			 const struct inbound_decision *d, struct gw_err *err);
/* The provider reported that `phone`, not suppressed before, refuses messages. */
int events_after_suppress(struct sqlite_store *st, const char *phone, int64_t now,
			  struct gw_err *err);
/* Suppresses `phone` inside the current transaction (sqlite_suppress_phone()). */
int suppress_tx(struct sqlite_store *st, const char *phone, const char *provider, int64_t now,
		struct gw_err *err);

/* Defines phone_hash(text) on `db` (store_customers.c): store_phone_hash() in SQL, for the
 * suppression lookups that match a number or its hash.  An SQLite result code. */
int register_phone_hash(sqlite3 *db);

#endif
