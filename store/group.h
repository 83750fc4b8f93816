/*
 * group.h - group commit, for any store backend (private to store/).
 *
 * Jobs come from many threads; one writer thread takes every job queued meanwhile (up to a
 * backend's limit), runs them in one transaction, each in a savepoint of its own (a failing job
 * rolls back alone), and commits once: many callers share one durable commit.  A job's caller
 * learns its result only after that commit: group_run() waits for it, group_submit() is called
 * back on the writer thread.  A failed commit fails every job of the group.
 */
#ifndef GW_GROUP_H
#define GW_GROUP_H

#include <pthread.h>
#include <stddef.h>

#include "gwerr.h"

/* A backend's job function, of the backend's own type: stored as this and given back to the
 * backend's invoke(), which converts it back before calling it. */
typedef void (*group_fn)(void);

/* What the writer asks of the backend, always on the writer thread, with `be` as given to
 * group_start().  Each returns 0, or -1 with err set. */
struct group_ops {
	int (*invoke)(void *be, group_fn fn, void *arg, struct gw_err *err);
	int (*begin)(void *be, struct gw_err *err);
	int (*savepoint)(void *be, struct gw_err *err);
	/* Ends the job's savepoint, first undoing the job's writes when `undo`. */
	void (*end_savepoint)(void *be, int undo);
	/* 0 once the backend ended the transaction by itself (SQLite does after a full disk or
	 * an I/O error): every job of it so far is undone. */
	int (*in_transaction)(void *be);
	int (*commit)(void *be, struct gw_err *err);
	void (*rollback)(void *be);
	/* Asked for with group_ask(): runs between two groups; `idle` when no job waits. */
	void (*between)(void *be, int idle);
};

struct group_job;

struct group_queue {
	const struct group_ops *ops;
	void *be;
	size_t max_group; /* jobs per transaction at most; 0: no limit */
	const char *name; /* the writer thread's (at most 15 bytes) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct group_job *head, *tail;
	int stopping, asked, running;
	pthread_t thread;
};

/* Starts the writer thread, named `name` (a string that outlives the queue).  0, or -1 with
 * err. */
int group_start(struct group_queue *q, const struct group_ops *ops, void *be, size_t max_group,
		const char *name, struct gw_err *err);
/* Runs every job already queued, then stops the writer; later jobs are refused (503). */
void group_stop(struct group_queue *q);

/* Queues `fn` and waits: its result, 0 only once its group's commit is durable. */
int group_run(struct group_queue *q, group_fn fn, void *arg, struct gw_err *err);
/* Queues `fn` without waiting: on_done(ctx, rc) (when not NULL) on the writer thread after the
 * commit.  The
 * job gets its own copy of the arg_len bytes at `arg`; what they point to, and `err`, must live
 * until then.  -1 with err (on_done never called) when it cannot be queued. */
int group_submit(struct group_queue *q, group_fn fn, const void *arg, size_t arg_len,
		 struct gw_err *err, void (*on_done)(void *ctx, int rc), void *ctx);

/* Has the writer call ops->between() between its next two groups. */
void group_ask(struct group_queue *q);

#endif
