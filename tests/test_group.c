/*
 * test_group.c - group commit (store/group.c), as a specification, on a backend that writes
 * down what it is asked: B begin, S savepoint, the job's name, U/E its savepoint ended with or
 * without undoing it, C commit, R rollback, idle:/busy: a call between two groups.
 *
 * Jobs queued while the writer is held by a gate job (which waits for the test to let it go)
 * all land in the next group, so what a group is made of is decided by the test, not by timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "group.h"

struct fake {
	pthread_mutex_t lock;
	char log[1024];
	int fail_commit; /* counted down at each commit: the one that brings it to 0 fails */
	int end_after; /* the backend ends the transaction after this job (its number), 0: never */
	int in_tx;
	sem_t gate;         /* the gate job waits on it */
	sem_t gate_running; /* posted once the gate job runs */
};

static void note(struct fake *f, const char *what)
{
	pthread_mutex_lock(&f->lock);
	snprintf(f->log + strlen(f->log), sizeof(f->log) - strlen(f->log), "%s ", what);
	pthread_mutex_unlock(&f->lock);
}

/* A job: its argument is its number; odd numbers above 100 fail. */
static int job(struct fake *f, void *arg, struct gw_err *err)
{
	int n = *(int *)arg;
	char name[16];

	snprintf(name, sizeof(name), "J%d", n);
	note(f, name);
	if (f->end_after == n)
		f->in_tx = 0;
	if (n > 100 && n % 2)
		return gw_err_set(err, 422, "job_failed", "", "job %d failed", n);
	return 0;
}

static int gate_job(struct fake *f, void *arg, struct gw_err *err)
{
	(void)arg;
	(void)err;
	note(f, "gate");
	sem_post(&f->gate_running);
	while (sem_wait(&f->gate) < 0)
		;
	return 0;
}

typedef int (*fake_fn)(struct fake *f, void *arg, struct gw_err *err);

static int f_invoke(void *be, group_fn fn, void *arg, struct gw_err *err)
{
	return ((fake_fn)fn)(be, arg, err);
}

static int f_begin(void *be, struct gw_err *err)
{
	struct fake *f = be;

	(void)err;
	f->in_tx = 1;
	note(f, "B");
	return 0;
}

static int f_savepoint(void *be, struct gw_err *err)
{
	(void)err;
	note(be, "S");
	return 0;
}

static void f_end_savepoint(void *be, int undo)
{
	note(be, undo ? "U" : "E");
}

static int f_in_transaction(void *be)
{
	return ((struct fake *)be)->in_tx;
}

static int f_commit(void *be, struct gw_err *err)
{
	struct fake *f = be;

	if (f->fail_commit && --f->fail_commit == 0) {
		note(f, "C!");
		return gw_err_set(err, 503, "store_unavailable", "", "disk full");
	}
	f->in_tx = 0;
	note(f, "C");
	return 0;
}

static void f_rollback(void *be)
{
	struct fake *f = be;

	f->in_tx = 0;
	note(f, "R");
}

static void f_between(void *be, int idle)
{
	note(be, idle ? "idle:" : "busy:");
}

static const struct group_ops fake_ops = {
	.invoke = f_invoke,
	.begin = f_begin,
	.savepoint = f_savepoint,
	.end_savepoint = f_end_savepoint,
	.in_transaction = f_in_transaction,
	.commit = f_commit,
	.rollback = f_rollback,
	.between = f_between,
};

struct fx {
	struct fake f;
	struct group_queue q;
	/* submitted jobs: their numbers, results and errors */
	int n[16];
	int rc[16];
	struct gw_err err[16];
	sem_t done;
};

static sem_t answered; /* posted by on_done() */

static void on_done(void *ctx, int rc)
{
	int *slot = ctx;

	*slot = rc;
	sem_post(&answered);
}

static int fx_start(void **state, size_t max_group)
{
	static struct fx fx;
	struct gw_err err = { 0 };

	memset(&fx, 0, sizeof(fx));
	sem_init(&answered, 0, 0);
	pthread_mutex_init(&fx.f.lock, NULL);
	sem_init(&fx.f.gate, 0, 0);
	sem_init(&fx.f.gate_running, 0, 0);
	if (group_start(&fx.q, &fake_ops, &fx.f, max_group, "gw-test", &err) < 0)
		return -1;
	*state = &fx;
	return 0;
}

static int fx_open(void **state)
{
	return fx_start(state, 0);
}

static int fx_open_max3(void **state)
{
	return fx_start(state, 3);
}

static int fx_close(void **state)
{
	struct fx *x = *state;

	group_stop(&x->q);
	return 0;
}

/* Holds the writer in a group of its own until release(). */
static void hold(struct fx *x)
{
	struct gw_err err = { 0 };

	assert_int_equal(group_submit(&x->q, (group_fn)gate_job, NULL, 0, &err, NULL, NULL), 0);
	while (sem_wait(&x->f.gate_running) < 0)
		;
}

static void release(struct fx *x)
{
	sem_post(&x->f.gate);
}

/* Queues job number `n` into slot i (its result in x->rc[i], -9 until known). */
static void submit(struct fx *x, int i, int n)
{
	x->n[i] = n;
	x->rc[i] = -9;
	assert_int_equal(group_submit(&x->q, (group_fn)job, &x->n[i], sizeof(int), &x->err[i],
				      on_done, &x->rc[i]),
			 0);
}

/* Waits for `n` submitted jobs to be answered. */
static void wait_answers(int n)
{
	for (int i = 0; i < n; i++)
		while (sem_wait(&answered) < 0)
			;
}

/* Waits (at most 5 s) for the log to end with `tail`. */
static void wait_log_ends(struct fx *x, const char *tail)
{
	for (int i = 0; i < 5000; i++) {
		size_t n, t = strlen(tail);
		int done;

		pthread_mutex_lock(&x->f.lock);
		n = strlen(x->f.log);
		done = n >= t && strcmp(x->f.log + n - t, tail) == 0;
		pthread_mutex_unlock(&x->f.lock);
		if (done)
			return;
		usleep(1000);
	}
	fail_msg("the log never ended with '%s'", tail);
}

static void assert_log(struct fx *x, const char *want)
{
	pthread_mutex_lock(&x->f.lock);
	if (strcmp(x->f.log, want) != 0)
		fail_msg("log: '%s'\n want: '%s'", x->f.log, want);
	pthread_mutex_unlock(&x->f.lock);
}

/* Jobs queued together share one transaction: one begin, a savepoint each, one commit; each
 * result is given after that commit. */
static void test_jobs_queued_together_share_one_commit(void **state)
{
	struct fx *x = *state;

	hold(x);
	submit(x, 0, 1);
	submit(x, 1, 2);
	submit(x, 2, 3);
	release(x);
	wait_answers(3);
	assert_log(x, "B S gate E C B S J1 E S J2 E S J3 E C ");
	for (int i = 0; i < 3; i++)
		assert_int_equal(x->rc[i], 0);
}

/* A failing job rolls back alone, with its own error; the others of its group commit. */
static void test_a_failing_job_rolls_back_alone(void **state)
{
	struct fx *x = *state;

	hold(x);
	submit(x, 0, 102);
	submit(x, 1, 103);
	submit(x, 2, 104);
	release(x);
	wait_answers(3);
	assert_log(x, "B S gate E C B S J102 E S J103 U S J104 E C ");
	assert_int_equal(x->rc[0], 0);
	assert_int_equal(x->rc[1], -1);
	assert_string_equal(x->err[1].code, "job_failed");
	assert_int_equal(x->rc[2], 0);
}

/* A commit that fails fails every job of its group with the commit's reason, and the
 * transaction is rolled back; the next group is fine. */
static void test_a_failed_commit_fails_the_whole_group(void **state)
{
	struct fx *x = *state;

	hold(x);
	x->f.fail_commit = 2; /* the gate's commit, then this group's */
	submit(x, 0, 1);
	submit(x, 1, 103);
	release(x);
	wait_answers(2);
	assert_log(x, "B S gate E C B S J1 E S J103 U C! R ");
	assert_int_equal(x->rc[0], -1);
	assert_int_equal(x->err[0].http_status, 503);
	assert_string_equal(x->err[0].msg, "disk full");
	assert_int_equal(x->rc[1], -1);
	assert_string_equal(x->err[1].code, "job_failed"); /* its own reason first */
}

/* The backend ends the transaction by itself after job 2 (SQLite after a full disk): jobs 1 and
 * 2 fail with job 2's reason, job 3 runs in a transaction of its own. */
static void test_a_transaction_the_backend_ended_is_begun_again(void **state)
{
	struct fx *x = *state;

	hold(x);
	x->f.end_after = 2;
	submit(x, 0, 1);
	submit(x, 1, 2);
	submit(x, 2, 3);
	release(x);
	wait_answers(3);
	assert_log(x, "B S gate E C B S J1 E S J2 E B S J3 E C ");
	assert_int_equal(x->rc[0], -1);
	assert_int_equal(x->rc[1], -1);
	assert_int_equal(x->err[0].http_status, 503);
	assert_int_equal(x->rc[2], 0);
}

/* A backend's limit splits what is queued into groups of at most that many. */
static void test_groups_hold_at_most_the_limit(void **state)
{
	struct fx *x = *state;

	hold(x);
	for (int i = 0; i < 5; i++)
		submit(x, i, i + 1);
	release(x);
	wait_answers(5);
	assert_log(x, "B S gate E C B S J1 E S J2 E S J3 E C B S J4 E S J5 E C ");
}

/* group_ask(): the backend is called between two groups, told whether jobs wait. */
static void test_asked_for_a_call_between_groups(void **state)
{
	struct fx *x = *state;

	hold(x);
	group_ask(&x->q);
	release(x);
	wait_log_ends(x, "idle: ");
	hold(x);
	submit(x, 0, 1);
	group_ask(&x->q);
	release(x);
	wait_answers(1);
	assert_log(x, "B S gate E C idle: B S gate E C busy: B S J1 E C ");
}

/* Stopping runs what is queued first; afterwards jobs are refused with 503. */
static void test_stop_runs_what_is_queued_then_refuses(void **state)
{
	struct fx *x = *state;
	struct gw_err err = { 0 };
	int n = 7;

	hold(x);
	submit(x, 0, 1);
	release(x);
	group_stop(&x->q);
	assert_int_equal(x->rc[0], 0);
	assert_int_equal(group_run(&x->q, (group_fn)job, &n, &err), -1);
	assert_int_equal(err.http_status, 503);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_jobs_queued_together_share_one_commit, fx_open,
						fx_close),
		cmocka_unit_test_setup_teardown(test_a_failing_job_rolls_back_alone, fx_open,
						fx_close),
		cmocka_unit_test_setup_teardown(test_a_failed_commit_fails_the_whole_group, fx_open,
						fx_close),
		cmocka_unit_test_setup_teardown(test_a_transaction_the_backend_ended_is_begun_again,
						fx_open, fx_close),
		cmocka_unit_test_setup_teardown(test_groups_hold_at_most_the_limit, fx_open_max3,
						fx_close),
		cmocka_unit_test_setup_teardown(test_asked_for_a_call_between_groups, fx_open,
						fx_close),
		cmocka_unit_test_setup_teardown(test_stop_runs_what_is_queued_then_refuses, fx_open,
						fx_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
