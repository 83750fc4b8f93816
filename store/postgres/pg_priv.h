/*
 * pg_priv.h - what the PostgreSQL backend's files share (private to store/postgres/).
 */
#ifndef GW_PG_PRIV_H
#define GW_PG_PRIV_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>

#include "group.h"
#include "gwerr.h"
#include "store.h"

/* Session settings of every connection: a commit is on the server's disk before it returns
 * (the guarantee a 2xx rests on), one statement cannot hold a connection for ever, and a
 * transaction left open by a stuck thread is ended by the server. */
#define PG_STATEMENT_TIMEOUT_MS 30000
#define PG_IDLE_TX_TIMEOUT_MS 60000

/*
 * Advisory lock keys, all in one place so that no two meet by accident.  One-key locks: the
 * migrations (a session lock), and each sweeper's, taken with pg_try_advisory_xact_lock() in its
 * transaction so that one instance at a time sweeps and the others do nothing that round.
 * Two-key locks (a class and a hash): a number, never met by the one-key ones.
 */
#define PG_MIGRATE_LOCK 0x677773636865LL /* "gwschema" */
#define PG_LEASES_LOCK "113762617352563" /* "gwleas": leases ended become uncertain */
#define PG_EXPIRE_LOCK "113762501161060" /* "gwexpd": surveys past expires_at */
#define PG_PURGE_LOCK 0x67777075726765LL /* "gwpurge": [store] retain_days */
#define PG_IDEM_LOCK "113762566956397"   /* "gwidem": idempotency keys past 48 h */
#define PG_PHONE_LOCK "1735879010"       /* "gwib" + hashtext(phone): one number's texts */
#define PG_PAIR_LOCK "1735880801"        /* "gwpa" + hash: WhatsApp spacing of one number */

/* An integer as a statement's text parameter, written into buf (a char array). */
#define I64(buf, v) (snprintf((buf), sizeof(buf), "%lld", (long long)(v)), (buf))

/* Reading connections kept idle at most. */
#define PG_READERS_IDLE_MAX 8

/* A lost connection is opened again at most this often, the wait doubling from the first. */
#define PG_RECONNECT_MIN_MS 100
#define PG_RECONNECT_MAX_MS 5000

struct pg_backoff {
	int64_t next_ms; /* monotonic ms before which no new attempt is made */
	int64_t wait_ms; /* the last wait; 0 after a success */
};

/* err->code of a statement the server ended for a deadlock or a serialisation failure (503):
 * the writer runs such a job again, up to PG_CONFLICT_TRIES times in all. */
#define PG_CONFLICT "store_conflict"
#define PG_CONFLICT_TRIES 3

/* Statements the writer keeps prepared at most (pg_wrun()); more run unprepared. */
#define PG_WRITER_PREPARED 96

/* Jobs per group transaction at most (pg_writer.c says why). */
#define PG_GROUP_MAX 63

struct pg_store {
	PGconn *conn; /* migrations, claims, pacing: any thread, under conn_lock (pg_crun()) */
	pthread_mutex_t conn_lock;
	PGconn *wconn; /* the writer thread's alone */
	/* The statements prepared on wconn (pg_wrun()): wsql[i] as "gw_s<i>"; emptied when wconn is
	 * opened again.  The writer thread's alone. */
	const char *wsql[PG_WRITER_PREPARED];
	int n_wsql;
	struct pg_backoff conn_backoff, wconn_backoff;
	struct group_queue q;
	char where[200];   /* the server as messages name it: host:port/database */
	char instance[96]; /* this process as claimed_by names it: host:pid:random */
	int64_t send_lease_s;
	unsigned long conflicts_retried; /* jobs run again after a deadlock (the writer's) */
	int64_t pair_interval_s;      /* WhatsApp: seconds between two messages to one person */
	event_format_fn event_format; /* outbound events: NULL writes none */
	void *event_ctx;
	/* Reading connections kept between calls (pg_reads.c), under rlock. */
	char *url; /* to open more (it may hold the password: wiped at close) */
	char password[200];
	pthread_mutex_t rlock;
	PGconn *idle[PG_READERS_IDLE_MAX];
	int n_idle;
};

/* A connection with the session settings every one of the store's gets; NULL with err. */
PGconn *pg_connect_session(const char *url, const char *where, const char *password,
			   struct gw_err *err);
/* Connection c of the store opened again when it was lost (PQreset() and the session
 * settings), at most once per backoff step: 0 when it is usable, else -1 with err (503). */
int pg_heal(struct pg_store *st, PGconn *c, struct pg_backoff *b, struct gw_err *err);
/* A reading connection (kept or new), and giving it back: kept only when idle and healthy. */
PGconn *pg_reader_get(struct pg_store *st, struct gw_err *err);
void pg_reader_put(struct pg_store *st, PGconn *c);
void pg_readers_close(struct pg_store *st);

/* Statements without parameters on connection c (several, separated by ';', run as one
 * implicit transaction): 0 when the last one succeeded, else -1 with err set as pg_fail() sets
 * it, `secret` blanked. */
int pg_exec(PGconn *c, const char *where, const char *sql, const char *what, const char *secret,
	    struct gw_err *err);

/* A statement with text parameters on connection c: its result (rows or none), or NULL with
 * err set as pg_fail() sets it. */
PGresult *pg_params(PGconn *c, const char *where, const char *sql, int n, const char *const *vals,
		    const char *what, struct gw_err *err);

/* Milliseconds on the monotonic clock. */
int64_t pg_monotonic_ms(void);
/* Column `col` of row `row` of r as text into dst (cut to n - 1 bytes). */
void pg_copy_col(const PGresult *r, int row, int col, char *dst, size_t n);

/* A statement on the shared connection st->conn, under conn_lock, the connection opened again
 * first when it was lost: its result, or NULL with err (503 while the server is away). */
PGresult *pg_crun(struct pg_store *st, const char *sql, int n, const char *const *vals,
		  const char *what, struct gw_err *err);

/* A statement on the writer's connection (writer thread only, inside a job): its result, or
 * NULL with err.  `sql` must be a string that never changes while the store is open (a literal
 * or a static table's): the writer prepares each on first use and runs it by name after, so
 * that the server parses and plans it once per connection (PG_WRITER_PREPARED at most; they
 * are prepared again once the connection was opened again).  pg_wrun_one() copies the first column of the first row into out (outn bytes;
 * out may be NULL): 1, 0 without a row, -1 on error. */
PGresult *pg_wrun(struct pg_store *st, const char *sql, int n, const char *const *vals,
		  const char *what, struct gw_err *err);
int pg_wrun_one(struct pg_store *st, const char *sql, int n, const char *const *vals,
		const char *what, char *out, size_t outn, struct gw_err *err);

/* Queues an outbound message due at `due`, inside a writer job (the SQLite store's
 * insert_outbound()). */
int pg_insert_outbound(struct pg_store *st, const char *survey_id, const char *purpose,
		       const char *channel, const char *provider, const char *phone,
		       const char *body, int64_t due, int64_t now, struct gw_err *err);

/* Inside a writer job (pg_inbound.c): whether `phone` (or its hash, after an erasure) is
 * suppressed; and suppressing it as store_suppress_phone() does, with its opt-out event. */
int pg_phone_suppressed(struct pg_store *st, const char *phone, int *suppressed,
			struct gw_err *err);
int pg_suppress_tx(struct pg_store *st, const char *phone, const char *provider, int64_t now,
		   struct gw_err *err);

/* Outbound events written inside a writer job, when an event format is set (pg_events.c), as
 * the SQLite store's events_after_inbound() and events_after_suppress(). */
int pg_events_after_inbound(struct pg_store *st, const struct inbound_in *in,
			    const struct matched_survey *m, int was_suppressed,
			    const struct inbound_decision *d, struct gw_err *err);
int pg_events_after_suppress(struct pg_store *st, const char *phone, int64_t now,
			     struct gw_err *err);

/* A unit of write work on the writer's connection, inside the group's transaction and a
 * savepoint of its own: 0, or non-zero (its savepoint undone).  -1 sets err. */
typedef int (*pg_job_fn)(struct pg_store *st, void *arg, struct gw_err *err);

/* Starts the writer thread on st->wconn (pg_writer.c). */
int pg_writer_start(struct pg_store *st, struct gw_err *err);
/* Queues `fn` for the writer and waits for its group's commit: its result, 0 only once the
 * commit is durable; a failed commit fails the job (503). */
int pg_run(struct pg_store *st, pg_job_fn fn, void *arg, struct gw_err *err);
/* pg_run() without waiting, as group_submit(): on_done(ctx, rc) on the writer thread after
 * the group's commit; the job gets its own copy of the arg_len bytes at arg. */
int pg_submit(struct pg_store *st, pg_job_fn fn, const void *arg, size_t arg_len,
	      struct gw_err *err, void (*on_done)(void *ctx, int rc), void *ctx);

/* r, the result of a statement on connection c, when it succeeded; else NULL with err set as
 * pg_params() sets it (r cleared). */
PGresult *pg_result(PGconn *c, const char *where, PGresult *r, const char *what,
		    struct gw_err *err);

/* Fills `where` from a connection string without connecting: "host:port/database" with
 * libpq's defaults for what the string leaves out.  -1 (err set, the string not echoed) when
 * libpq cannot parse it. */
int pg_describe(const char *url, char *where, size_t n, char *password, size_t pn,
		struct gw_err *err);

/* Sets err from the connection's last error: `what` (e.g. "migrate") and libpq's message, its
 * first line, with `secret` (when not empty) blanked out.  Returns -1. */
int pg_fail(PGconn *c, const char *where, const char *what, const char *secret, struct gw_err *err);

#endif
