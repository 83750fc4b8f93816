/*
 * test_lingering.c - the lingering close (gateway/lingering.h), on Unix socket pairs: the module
 * holds one end, the test writes into the other as the client would.
 *
 * The contract under test: a socket handed over is read from (what the client writes is taken,
 * never refused) until the client closes, more than max_bytes arrive, idle_ms pass without a byte
 * or total_ms in all, and then closed -- which the client sees as its next writes failing
 * (EPIPE); past max_sockets a socket is closed at once; stopping closes whatever still lingers.
 * Times are checked with a margin of LATE_MS for a loaded machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lingering.h"

#define LATE_MS 400
#define STEP_MS 20

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A connected pair: [0] for the module, [1] the client's (non-blocking, so a full buffer shows
 * as EAGAIN instead of a hang). */
static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK), 0);
}

/* 1 once the module's end is closed: a write then fails with EPIPE (at once on a Unix socket). */
static int closed_by_module(int client)
{
	return send(client, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE;
}

/* Writes one byte every STEP_MS for `ms`; fails the test if one is refused. */
static void trickle(int client, int ms)
{
	for (long long until = now_ms() + ms; now_ms() < until; sleep_ms(STEP_MS))
		if (send(client, "x", 1, MSG_NOSIGNAL) != 1)
			fail_msg("a byte refused while lingering: %s", strerror(errno));
}

/* Waits up to `ms` for the module to close its end; the milliseconds it took, or -1. */
static long long wait_closed(int client, int ms)
{
	long long t0 = now_ms();

	while (now_ms() - t0 <= ms) {
		if (closed_by_module(client))
			return now_ms() - t0;
		sleep_ms(STEP_MS);
	}
	return -1;
}

/* Read on while the client writes; closed once it has said nothing for idle_ms (a probe byte is
 * a byte too: each one starts the idle time again). */
static void test_idle_limit(void **state)
{
	struct gw_err err = { 0 };
	struct lingering *l = lingering_start(4, 1 << 20, &err);
	int sv[2];

	(void)state;
	assert_non_null(l);
	pair(sv);
	lingering_add(l, sv[0], 300, 0);
	trickle(sv[1], 600);            /* twice the idle limit, never idle for it */
	sleep_ms(200);
	if (closed_by_module(sv[1]))
		fail_msg("closed after 200 ms of silence (idle_ms 300)");
	sleep_ms(300 + LATE_MS / 2);
	if (!closed_by_module(sv[1]))
		fail_msg("still open after %d ms of silence (idle_ms 300)", 300 + LATE_MS / 2);
	close(sv[1]);
	lingering_stop(l);
}

/* Closed after total_ms however steadily the client writes. */
static void test_total_limit(void **state)
{
	struct gw_err err = { 0 };
	struct lingering *l = lingering_start(4, 1 << 20, &err);
	long long t0 = now_ms(), t = -1;
	int sv[2];

	(void)state;
	assert_non_null(l);
	pair(sv);
	lingering_add(l, sv[0], 300, 500);
	while (now_ms() - t0 < 500 + LATE_MS) {
		if (closed_by_module(sv[1])) {
			t = now_ms() - t0;
			break;
		}
		sleep_ms(STEP_MS);
	}
	if (t < 0)
		fail_msg("still open after %d ms of steady writing (total_ms 500)", 500 + LATE_MS);
	if (t < 500 - 50)
		fail_msg("closed after %lld ms, before total_ms 500", t);
	close(sv[1]);
	lingering_stop(l);
}

/* More than max_bytes: closed without waiting for the limits of time. */
static void test_byte_limit(void **state)
{
	static char block[4096];
	struct gw_err err = { 0 };
	struct lingering *l = lingering_start(4, 64 * 1024, &err);
	size_t sent = 0;
	long long t0 = now_ms();
	int sv[2];

	(void)state;
	assert_non_null(l);
	pair(sv);
	lingering_add(l, sv[0], 10000, 0);
	while (sent <= 64 * 1024 && now_ms() - t0 < 2000) {
		ssize_t n = send(sv[1], block, sizeof(block), MSG_NOSIGNAL);

		if (n > 0)
			sent += (size_t)n;
		else if (errno == EAGAIN)
			sleep_ms(1);
		else
			fail_msg("refused after %zu bytes, within max_bytes: %s", sent, strerror(errno));
	}
	if (wait_closed(sv[1], LATE_MS) < 0)
		fail_msg("still open after %zu bytes (max_bytes 65536)", sent);
	close(sv[1]);
	lingering_stop(l);
}

/* The client closing its end ends the lingering; the slot is free again. */
static void test_client_close_frees_the_slot(void **state)
{
	struct gw_err err = { 0 };
	struct lingering *l = lingering_start(1, 1 << 20, &err);
	int a[2], b[2];

	(void)state;
	assert_non_null(l);
	pair(a);
	lingering_add(l, a[0], 10000, 0);
	close(a[1]);
	sleep_ms(100);                  /* the thread sees the end of stream and closes a[0] */
	pair(b);
	lingering_add(l, b[0], 10000, 0);
	sleep_ms(100);
	if (closed_by_module(b[1]))
		fail_msg("the only slot was not freed when its client closed");
	close(b[1]);
	lingering_stop(l);
}

/* Past max_sockets a socket is closed at once; stopping closes those still lingering. */
static void test_full_and_stop(void **state)
{
	struct gw_err err = { 0 };
	struct lingering *l = lingering_start(1, 1 << 20, &err);
	int a[2], b[2];

	(void)state;
	assert_non_null(l);
	pair(a);
	pair(b);
	lingering_add(l, a[0], 10000, 0);
	lingering_add(l, b[0], 10000, 0);
	if (!closed_by_module(b[1]))
		fail_msg("a second socket with max_sockets 1 was not closed at once");
	if (closed_by_module(a[1]))
		fail_msg("the first socket was closed: it should linger");
	lingering_stop(l);
	if (!closed_by_module(a[1]))
		fail_msg("lingering_stop() left a socket open");
	close(a[1]);
	close(b[1]);
	lingering_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_limit),
		cmocka_unit_test(test_total_limit),
		cmocka_unit_test(test_byte_limit),
		cmocka_unit_test(test_client_close_frees_the_slot),
		cmocka_unit_test(test_full_and_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
