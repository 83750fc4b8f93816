/* lingering.c - see lingering.h. */
#include "lingering.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DROP_CHUNK (64 * 1024)

struct lingerer {
	int fd;                 /* -1: a free slot */
	size_t dropped;
	int64_t last_ms;        /* the last byte read, or the hand-over */
	int64_t idle_ms, until_ms;      /* 0: no such limit */
};

/*
 * lingering_add() fills a free slot and the thread frees it, both under `lock`; the thread reads
 * which slots are taken under the lock too, and the rest of a taken slot is the thread's alone.
 */
struct lingering {
	pthread_t thread;
	pthread_mutex_t lock;
	int wake[2];            /* a byte written to wake[1] makes the thread look again */
	int stopping;
	size_t max_sockets, max_bytes;
	struct lingerer *slots;
	struct pollfd *polled;  /* the thread's: [0] is wake[0], then the taken slots... */
	size_t *slot_of;        /* ... slot_of[k] being polled[k]'s */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads and drops what is there.  1 while the socket should linger on, 0 when it is done. */
static int drop_input(struct lingerer *g, size_t max_bytes, int64_t now)
{
	static char sink[DROP_CHUNK];   /* never read: its contents do not matter */

	for (int round = 0; round < 4; round++) {
		ssize_t n = recv(g->fd, sink, sizeof(sink), 0);

		if (n > 0) {
			g->dropped += (size_t)n;
			g->last_ms = now;
			if (g->dropped > max_bytes)
				return 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	return 1;               /* more may be there: the next poll says so at once */
}

/* The poll timeout until the earliest limit of a taken slot; -1 (none) when no limit applies. */
static int next_timeout(const struct lingering *l, size_t n, int64_t now)
{
	int64_t wait = -1;

	for (size_t k = 1; k < n; k++) {
		const struct lingerer *g = &l->slots[l->slot_of[k]];
		int64_t at[2] = { g->idle_ms ? g->last_ms + g->idle_ms : 0, g->until_ms };

		for (int j = 0; j < 2; j++) {
			int64_t left = at[j] > now ? at[j] - now : 0;

			if (at[j] && (wait < 0 || left < wait))
				wait = left;
		}
	}
	return wait > 60000 ? 60000 : (int)wait;        /* fits an int; looked at again then */
}

/* Fills polled[] with the wake pipe and every taken slot; their count. */
static size_t gather(struct lingering *l)
{
	size_t n = 0;

	l->polled[n++] = (struct pollfd){ .fd = l->wake[0], .events = POLLIN };
	for (size_t i = 0; i < l->max_sockets; i++) {
		if (l->slots[i].fd < 0)
			continue;
		l->slot_of[n] = i;
		l->polled[n++] = (struct pollfd){ .fd = l->slots[i].fd, .events = POLLIN };
	}
	return n;
}

/* 1 while `g` may linger on after what poll() said of it (`revents`). */
static int still_lingering(struct lingerer *g, short revents, size_t max_bytes, int64_t now)
{
	if (revents && !drop_input(g, max_bytes, now))
		return 0;
	if (g->idle_ms && now - g->last_ms >= g->idle_ms)
		return 0;
	return !g->until_ms || now < g->until_ms;
}

static void *linger_main(void *arg)
{
	struct lingering *l = arg;
	char drain[64];

	pthread_setname_np(pthread_self(), "gw-linger");
	for (;;) {
		size_t n;
		int timeout;

		pthread_mutex_lock(&l->lock);
		if (l->stopping) {
			pthread_mutex_unlock(&l->lock);
			return NULL;
		}
		n = gather(l);
		pthread_mutex_unlock(&l->lock);
		timeout = next_timeout(l, n, mono_ms());
		if (poll(l->polled, n, timeout) < 0 && errno != EINTR)
			continue;
		if (l->polled[0].revents)
			while (read(l->wake[0], drain, sizeof(drain)) > 0)
				;
		for (size_t k = 1; k < n; k++) {
			struct lingerer *g = &l->slots[l->slot_of[k]];

			if (still_lingering(g, l->polled[k].revents, l->max_bytes, mono_ms()))
				continue;
			pthread_mutex_lock(&l->lock);
			close(g->fd);
			g->fd = -1;
			pthread_mutex_unlock(&l->lock);
		}
	}
}

static void wake_up(struct lingering *l)
{
	ssize_t n = write(l->wake[1], "", 1);

	(void)n;                /* a full pipe already holds a wake-up */
}

/* Frees what lingering_start() took; the thread must not be running. */
static void lingering_free(struct lingering *l)
{
	if (l->wake[0] >= 0) {
		close(l->wake[0]);
		close(l->wake[1]);
	}
	free(l->slot_of);
	free(l->polled);
	free(l->slots);
	free(l);
}

struct lingering *lingering_start(size_t max_sockets, size_t max_bytes, struct gw_err *err)
{
	struct lingering *l = calloc(1, sizeof(*l));

	if (!l) {
		gw_errf(err, "out of memory");
		return NULL;
	}
	l->wake[0] = l->wake[1] = -1;
	l->max_sockets = max_sockets;
	l->max_bytes = max_bytes;
	if (!max_sockets || !(l->slots = calloc(max_sockets, sizeof(*l->slots))) ||
	    !(l->polled = calloc(max_sockets + 1, sizeof(*l->polled))) ||
	    !(l->slot_of = calloc(max_sockets + 1, sizeof(*l->slot_of)))) {
		gw_errf(err, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < max_sockets; i++)
		l->slots[i].fd = -1;
	if (pipe2(l->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		gw_errf(err, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&l->lock, NULL);
	if (pthread_create(&l->thread, NULL, linger_main, l) != 0) {
		pthread_mutex_destroy(&l->lock);
		gw_errf(err, "cannot start a thread");
		goto fail;
	}
	return l;
fail:
	lingering_free(l);
	return NULL;
}

void lingering_add(struct lingering *l, int fd, int64_t idle_ms, int64_t total_ms)
{
	int64_t now = mono_ms();
	size_t i;

	pthread_mutex_lock(&l->lock);
	for (i = 0; !l->stopping && i < l->max_sockets && l->slots[i].fd >= 0; i++)
		;
	if (l->stopping || i == l->max_sockets) {
		pthread_mutex_unlock(&l->lock);
		close(fd);
		return;
	}
	/* libmicrohttpd's sockets are non-blocking already; the thread must never block on one */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	l->slots[i] = (struct lingerer){ .fd = fd, .last_ms = now, .idle_ms = idle_ms,
					 .until_ms = total_ms ? now + total_ms : 0 };
	pthread_mutex_unlock(&l->lock);
	wake_up(l);
}

void lingering_stop(struct lingering *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	pthread_mutex_unlock(&l->lock);
	wake_up(l);
	pthread_join(l->thread, NULL);
	for (size_t i = 0; i < l->max_sockets; i++)
		if (l->slots[i].fd >= 0)
			close(l->slots[i].fd);
	pthread_mutex_destroy(&l->lock);
	lingering_free(l);
}
