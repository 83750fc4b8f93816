/* group.c - group commit, for any store backend (see group.h). */
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"

struct group_job {
	group_fn fn;
	void *arg;
	struct gw_err *err;
	int rc;
	/* posted at its group's commit: its caller alone wakes, and takes no lock to do so */
	sem_t done;
	/* group_submit(): the job is the writer's to free, after on_done() when there is one */
	int submitted;
	void (*on_done)(void *ctx, int rc);
	void *done_ctx;
	struct group_job *next;
	max_align_t args[]; /* group_submit(): its copy of the job's arguments */
};

/* Jobs [from, to) were undone with their transaction: those that had succeeded fail too, with
 * the reason `why` gives (the failing job's error) or a plain 503. */
static void fail_jobs(struct group_job *from, struct group_job *to, const struct gw_err *why)
{
	for (struct group_job *j = from; j != to; j = j->next) {
		if (j->rc != 0)
			continue; /* failed already, with its own reason */
		j->rc = -1;
		if (!j->err)
			continue;
		if (why && why->msg[0] && j->err != why)
			*j->err = *why;
		else
			gw_err_set(j->err, 503, "store_unavailable", "",
				   "the store rolled the write back; try again");
	}
}

/* Runs one group of jobs in one transaction; sets each job's rc. */
static void run_group(struct group_queue *q, struct group_job *group)
{
	const struct group_ops *o = q->ops;
	struct group_job *j;
	struct gw_err cerr = { 0 };

	if (o->begin(q->be, group->err) < 0) {
		for (j = group; j; j = j->next) {
			j->rc = -1;
			if (j != group && j->err && group->err)
				*j->err = *group->err;
		}
		return;
	}
	for (j = group; j; j = j->next) {
		if (o->savepoint(q->be, j->err) < 0) {
			j->rc = -1;
			continue;
		}
		j->rc = o->invoke(q->be, j->fn, j->arg, j->err);
		o->end_savepoint(q->be, j->rc != 0);
		/* A backend that rolled the whole transaction back by itself: every job so far is
		 * undone and must fail, and the rest need a transaction of their own (a savepoint
		 * outside one would commit on its own). */
		if (!o->in_transaction(q->be)) {
			fail_jobs(group, j->next, j->err);
			if (!j->next)
				return;
			group = j->next;
			if (o->begin(q->be, group->err) < 0) {
				fail_jobs(group, NULL, group->err);
				return;
			}
		}
	}
	if (o->commit(q->be, &cerr) == 0)
		return;
	for (j = group; j; j = j->next) {
		if (j->rc == 0) {
			j->rc = -1;
			if (j->err)
				*j->err = cerr;
		}
	}
	if (o->in_transaction(q->be))
		o->rollback(q->be);
}

/* Takes the jobs queued, at most q->max_group of them; under q->lock. */
static struct group_job *take_group(struct group_queue *q)
{
	struct group_job *group = q->head, *last = group;
	size_t n = 1;

	if (!q->max_group) {
		q->head = q->tail = NULL;
		return group;
	}
	while (last->next && n < q->max_group) {
		last = last->next;
		n++;
	}
	q->head = last->next;
	if (!q->head)
		q->tail = NULL;
	last->next = NULL;
	return group;
}

static void *writer_main(void *arg)
{
	struct group_queue *q = arg;

	pthread_setname_np(pthread_self(), q->name);
	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct group_job *group;

		while (!q->head && !q->stopping && !q->asked)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->asked) {
			int idle = !q->head;

			q->asked = 0;
			pthread_mutex_unlock(&q->lock);
			q->ops->between(q->be, idle);
			pthread_mutex_lock(&q->lock);
			continue;
		}
		if (!q->head)
			break;
		group = take_group(q);
		pthread_mutex_unlock(&q->lock);
		run_group(q, group);
		for (struct group_job *j = group, *next; j; j = next) {
			next = j->next; /* j is gone once its caller wakes */
			if (j->submitted) {
				if (j->on_done)
					j->on_done(j->done_ctx, j->rc);
				free(j);
			} else {
				sem_post(&j->done);
			}
		}
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int group_start(struct group_queue *q, const struct group_ops *ops, void *be, size_t max_group,
		const char *name, struct gw_err *err)
{
	memset(q, 0, sizeof(*q));
	q->ops = ops;
	q->be = be;
	q->max_group = max_group;
	q->name = name;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	if (pthread_create(&q->thread, NULL, writer_main, q) != 0) {
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->cond);
		return gw_errf(err, "cannot start the store's writer thread (%s)", name);
	}
	q->running = 1;
	return 0;
}

void group_stop(struct group_queue *q)
{
	if (!q->running)
		return;
	/* The writer finishes every queued job before it stops. */
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	q->running = 0;
	/* the lock stays: a job queued from now on is refused under it */
}

/* Queues `job`: 0, or -1 with err (503) when the writer is stopping. */
static int enqueue(struct group_queue *q, struct group_job *job, struct gw_err *err)
{
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		pthread_mutex_unlock(&q->lock);
		return gw_err_set(err, 503, "store_unavailable", "", "the store is closing");
	}
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int group_run(struct group_queue *q, group_fn fn, void *arg, struct gw_err *err)
{
	struct group_job job = { .fn = fn, .arg = arg, .err = err };
	int rc;

	sem_init(&job.done, 0, 0);
	if (enqueue(q, &job, err) < 0) {
		sem_destroy(&job.done);
		return -1;
	}
	while (sem_wait(&job.done) < 0)
		; /* EINTR: a signal handler ran; the job is still the writer's */
	rc = job.rc;
	sem_destroy(&job.done);
	return rc;
}

int group_submit(struct group_queue *q, group_fn fn, const void *arg, size_t arg_len,
		 struct gw_err *err, void (*on_done)(void *ctx, int rc), void *ctx)
{
	struct group_job *job = calloc(1, sizeof(*job) + arg_len);

	if (!job)
		return gw_err_set(err, 503, "store_unavailable", "", "out of memory");
	if (arg_len)
		memcpy(job->args, arg, arg_len);
	job->fn = fn;
	job->arg = job->args;
	job->err = err;
	job->submitted = 1;
	job->on_done = on_done;
	job->done_ctx = ctx;
	if (enqueue(q, job, err) < 0) {
		free(job);
		return -1;
	}
	return 0;
}

void group_ask(struct group_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->asked = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}
