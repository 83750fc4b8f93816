/*
 * test_e2e_limits.c - build/gateway's connection handling, from the outside: many keep-alive
 * connections open at once are all served (no stall at 127, 128, 129 or 1000 of them), the
 * [server] keys connection_limit, per_ip_connection_limit, connection_timeout and request_timeout
 * hold, and a body over the cap gets its 413 even from a client that writes its whole request
 * before reading (the lingering close), within 16 MiB and those timeouts.
 *
 * Each test starts its own gateway (tests/support/harness.h) with a generated config, the [server]
 * key under test set through its GATEWAY_SERVER_* override, and talks to it with plain
 * non-blocking sockets driven by one poll() loop: HTTP/1.1 GET /healthz with keep-alive, several
 * requests per connection, source addresses 127.0.0.1 and, where a second client address is
 * needed, 127.0.0.2 and up (all of 127/8 is loopback on Linux).  No Twilio is needed: nothing is
 * ever sent, so the config's Twilio base_url names a port nobody listens on.
 *
 * Every wait is bounded (a deadline on the monotonic clock, poll() in steps of at most 100 ms),
 * so a stalled gateway fails a test instead of hanging it.  Timings are printed ("# ..." lines).
 *
 * Environment: GATEWAY_BIN (default build/gateway), E2E_KEEP_TMP=1 keeps the temp dirs.  The
 * test raises its own RLIMIT_NOFILE soft limit for the 1000-connection tests (it fails when the
 * hard limit does not allow it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "support/harness.h"

#define MANY_DEADLINE_MS 10000  /* every request of a many-connection test, in all */
#define REFUSE_MS 2000          /* a connection over a limit must be closed within this */
#define AT_ONCE_MS 1000         /* ... and per_ip_connection_limit closes it at once */
#define SERVE_MS 5000           /* a connection under every limit must be answered within this */
#define PROBE_MS 1000           /* while the timeout test waits, each probe's answer */
#define TIMEOUT_MIN_MS 900      /* connection_timeout = 1s: not closed before this idle time */
#define TIMEOUT_MAX_MS 2500     /* ... and closed before this one ("within ~2 s") */
#define TRICKLE_GAP_MS 300      /* a trickling client's pause between bytes: never idle 1 s */
#define REQUEST_MIN_MS 1900     /* request_timeout = 2s: not cut before this */
#define REQUEST_MAX_MS 3500     /* ... and cut before this */

/* ---- one gateway per test ---- */

struct conn;

struct world {
	char dir[HARNESS_PATH_LEN];
	char conf[HARNESS_PATH_LEN];
	char db[HARNESS_PATH_LEN];
	struct harness_gw gw;
	struct conn *cs;                /* the test's connections, closed by the teardown */
	size_t ncs;
	int passed;
};

static void conns_free(struct world *w);

static int setup_with(void **state, const char *const *env)
{
	struct world *w = calloc(1, sizeof(*w));
	int port, nobody;

	if (!w)
		return -1;
	if (harness_tmpdir_create(w->dir, sizeof(w->dir)) < 0)
		goto fail;
	port = harness_free_port();
	nobody = harness_free_port();
	if (port < 0 || nobody < 0 ||
	    harness_write_config(w->dir, port, nobody, NULL, w->conf, w->db) < 0)
		goto fail;
	if (harness_gw_start(&w->gw, w->dir, w->conf, port, env) < 0)
		goto fail;
	*state = w;
	return 0;
fail:
	if (w->dir[0])
		harness_tmpdir_remove(w->dir);
	free(w);
	return -1;
}

static int setup_defaults(void **state)
{
	return setup_with(state, NULL);
}

static int setup_no_per_ip_limit(void **state)
{
	static const char *const env[] = { "GATEWAY_SERVER_PER_IP_CONNECTION_LIMIT=0", NULL };

	return setup_with(state, env);
}

static int setup_per_ip_10(void **state)
{
	static const char *const env[] = { "GATEWAY_SERVER_PER_IP_CONNECTION_LIMIT=10", NULL };

	return setup_with(state, env);
}

static int setup_limit_50(void **state)
{
	static const char *const env[] = { "GATEWAY_SERVER_CONNECTION_LIMIT=50",
					   "GATEWAY_SERVER_PER_IP_CONNECTION_LIMIT=0", NULL };

	return setup_with(state, env);
}

static int setup_timeout_1s(void **state)
{
	static const char *const env[] = { "GATEWAY_SERVER_CONNECTION_TIMEOUT=1s", NULL };

	return setup_with(state, env);
}

static int setup_request_timeout_2s(void **state)
{
	static const char *const env[] = { "GATEWAY_SERVER_CONNECTION_TIMEOUT=1s",
					   "GATEWAY_SERVER_REQUEST_TIMEOUT=2s", NULL };

	return setup_with(state, env);
}

/* Closes the test's connections, stops the gateway (which must exit 0 on SIGTERM), shows its log
 * when that or the test failed, removes the temp dir. */
static int teardown(void **state)
{
	struct world *w = *state;
	int code;

	conns_free(w);
	code = harness_gw_stop(&w->gw);
	if (code != 0)
		fprintf(stderr, "gateway exit status on SIGTERM: %d (want 0)\n", code);
	if (code != 0 || !w->passed)
		harness_gw_print_log(&w->gw, 6000);
	harness_tmpdir_remove(w->dir);
	free(w);
	return code == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	(void)state;
	return harness_global_init();
}

static int group_teardown(void **state)
{
	(void)state;
	harness_global_cleanup();
	return 0;
}

/* Room for `want` file descriptors in this process (the gateway raises its own). */
static void raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		fail_msg("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)want)
			fail_msg("RLIMIT_NOFILE hard limit %llu < %zu descriptors this test needs "
				 "(raise ulimit -Hn)", (unsigned long long)rl.rlim_max, want);
		rl.rlim_cur = (rlim_t)want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fail_msg("setrlimit(RLIMIT_NOFILE, %zu): %s", want, strerror(errno));
	}
}

/* ---- non-blocking HTTP/1.1 keep-alive client connections ---- */

enum conn_state {
	C_UNUSED,       /* no socket: never opened, or closed by the test */
	C_CONNECTING,
	C_OPEN,
	C_DEAD,         /* the gateway refused or closed it, or an error: see `why` */
};

struct conn {
	int fd;
	enum conn_state state;
	char src[16];                   /* source address */
	char out[512];                  /* bytes still to send, from out_off */
	size_t out_len, out_off;
	char in[4096];                  /* bytes received, not yet a whole answer */
	size_t in_len;
	int sent;                       /* requests sent (queued) */
	int answered;                   /* answers received */
	int ok;                         /* of them: 200 {"status":"ok",...} */
	int last_status;
	int server_close;               /* an answer said "Connection: close" */
	char why[96];                   /* how it died */
	long long t_opened;             /* conn_open() */
	long long t_active;             /* the last byte sent or received (or the connect) */
	long long t_request;            /* the last request queued */
	long long t_dead;
	long long max_latency;          /* longest wait for an answer, ms */
};

static struct conn *conns_new(struct world *w, size_t n)
{
	conns_free(w);
	w->cs = calloc(n, sizeof(*w->cs));
	assert_non_null(w->cs);
	w->ncs = n;
	for (size_t i = 0; i < n; i++)
		w->cs[i].fd = -1;
	return w->cs;
}

static void conn_drop(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void conns_free(struct world *w)
{
	for (size_t i = 0; w->cs && i < w->ncs; i++)
		conn_drop(&w->cs[i]);
	free(w->cs);
	w->cs = NULL;
	w->ncs = 0;
}

static void conn_die(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	conn_drop(c);
	c->state = C_DEAD;
	c->t_dead = harness_now_ms();
}

/* The test closes the connection (no longer watched). */
static void conn_close(struct conn *c)
{
	conn_drop(c);
	c->state = C_UNUSED;
}

/* Starts connecting from `src` (an IPv4 loopback address) to 127.0.0.1:port; forgets whatever
 * the slot held before. */
static void conn_open(struct conn *c, const char *src, int port)
{
	struct sockaddr_in a;
	int one = 1;

	conn_drop(c);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->src, sizeof(c->src), "%s", src);
	c->t_opened = c->t_active = harness_now_ms();
	c->state = C_CONNECTING;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_die(c, "socket: %s", strerror(errno));
		return;
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
	/* the source port is chosen by connect(), as without bind(): repeated runs do not use up
	 * the ephemeral ports of one source address with TIME_WAIT leftovers */
	(void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		conn_die(c, "bind %s: %s", src, strerror(errno));
		return;
	}
	a.sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
		conn_die(c, "connect: %s", strerror(errno));
}

/* Queues `len` raw bytes. */
static void conn_send_raw(struct conn *c, const char *bytes, size_t len)
{
	if (c->state != C_CONNECTING && c->state != C_OPEN)
		return;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	assert_true(c->out_len + len <= sizeof(c->out));
	memcpy(c->out + c->out_len, bytes, len);
	c->out_len += len;
}

/* Queues one keep-alive GET /healthz. */
static void conn_get(struct conn *c, int port)
{
	char req[160];
	int n = snprintf(req, sizeof(req),
			 "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: keep-alive\r\n"
			 "\r\n", port);

	if (c->state != C_CONNECTING && c->state != C_OPEN)
		return;
	conn_send_raw(c, req, (size_t)n);
	c->sent++;
	c->t_request = harness_now_ms();
}

/* The value of header `name` in the header block [h, end), or NULL; `*vlen` its length. */
static const char *header_value(const char *h, const char *end, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);

	for (const char *line = h; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));

		if (!eol)
			eol = end;
		if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1, *e = eol;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' '))
				e--;
			*vlen = (size_t)(e - v);
			return v;
		}
		line = eol + 1;
	}
	return NULL;
}

/* Takes every whole answer off the front of c->in. */
static void conn_parse(struct conn *c)
{
	for (;;) {
		const char *hdr_end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		const char *v;
		size_t vlen, head, total;
		char num[24];
		long long cl;
		int status;

		if (!hdr_end) {
			if (c->in_len == sizeof(c->in))
				conn_die(c, "answer header larger than %zu bytes", sizeof(c->in));
			return;
		}
		head = (size_t)(hdr_end - c->in) + 4;
		if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1) {
			conn_die(c, "not an HTTP answer: %.40s", c->in);
			return;
		}
		v = header_value(c->in, hdr_end, "Content-Length", &vlen);
		if (!v || vlen == 0 || vlen >= sizeof(num)) {
			conn_die(c, "answer %d without Content-Length", status);
			return;
		}
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		cl = strtoll(num, NULL, 10);
		if (cl < 0 || (size_t)cl > sizeof(c->in) - head) {
			conn_die(c, "answer %d with Content-Length %s", status, num);
			return;
		}
		total = head + (size_t)cl;
		if (c->in_len < total)
			return;
		v = header_value(c->in, hdr_end, "Connection", &vlen);
		if (v && vlen == 5 && strncasecmp(v, "close", 5) == 0)
			c->server_close = 1;
		c->answered++;
		c->last_status = status;
		if (status == 200 && memmem(c->in + head, (size_t)cl, "\"status\":\"ok\"", 13))
			c->ok++;
		if (harness_now_ms() - c->t_request > c->max_latency)
			c->max_latency = harness_now_ms() - c->t_request;
		memmove(c->in, c->in + total, c->in_len - total);
		c->in_len -= total;
	}
}

static void conn_on_events(struct conn *c, short revents)
{
	if (c->state == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			conn_die(c, "connect: %s", strerror(err));
			return;
		}
		c->state = C_OPEN;
		c->t_active = harness_now_ms();
		revents |= POLLOUT;
	}
	if ((revents & POLLOUT) && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
			c->t_active = harness_now_ms();
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_die(c, "send: %s", strerror(errno));
			return;
		}
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		for (;;) {
			ssize_t n;

			if (c->in_len == sizeof(c->in)) {
				conn_parse(c);
				if (c->state == C_DEAD || c->in_len == sizeof(c->in))
					return;
			}
			n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
			if (n > 0) {
				c->in_len += (size_t)n;
				c->t_active = harness_now_ms();
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n < 0 && errno == EINTR)
				continue;
			conn_parse(c);
			if (c->state != C_DEAD) {
				if (n == 0)
					conn_die(c, "closed by the gateway (EOF)");
				else
					conn_die(c, "recv: %s", strerror(errno));
			}
			return;
		}
		conn_parse(c);
	}
}

/* One poll() over every live connection of cs[0..n), at most `ms` long, and what it reported. */
static void pump(struct conn *cs, size_t n, int ms)
{
	struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));
	size_t k = 0;
	int r;

	assert_non_null(p);
	assert_non_null(idx);
	for (size_t i = 0; i < n; i++) {
		struct conn *c = &cs[i];

		if (c->state == C_CONNECTING) {
			p[k].events = POLLOUT;
		} else if (c->state == C_OPEN) {
			p[k].events = POLLIN;
			if (c->out_off < c->out_len)
				p[k].events |= POLLOUT;
		} else {
			continue;
		}
		p[k].fd = c->fd;
		idx[k++] = i;
	}
	if (k == 0) {
		free(p);
		free(idx);
		harness_sleep_ms(ms);
		return;
	}
	r = poll(p, (nfds_t)k, ms < 0 ? 0 : ms);
	if (r < 0 && errno != EINTR) {
		free(p);
		free(idx);
		fail_msg("poll: %s", strerror(errno));
	}
	for (size_t j = 0; r > 0 && j < k; j++)
		if (p[j].revents)
			conn_on_events(&cs[idx[j]], p[j].revents);
	free(p);
	free(idx);
}

/* 1 when every connection of cs[0..n) that the test still uses has every answer it asked for,
 * or died. */
static int all_settled(const struct conn *cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((cs[i].state == C_CONNECTING || cs[i].state == C_OPEN) &&
		    cs[i].answered < cs[i].sent)
			return 0;
	return 1;
}

static int step_ms(long long deadline)
{
	long long left = deadline - harness_now_ms();

	return left <= 0 ? 0 : left > 100 ? 100 : (int)left;
}

/* Pumps until all_settled() or the deadline; returns 1 when settled. */
static int pump_until_settled(struct conn *cs, size_t n, long long deadline)
{
	while (!all_settled(cs, n)) {
		if (harness_now_ms() >= deadline)
			return 0;
		pump(cs, n, step_ms(deadline));
	}
	return 1;
}

/* What became of one connection that asked for one answer, watched up to `ms`. */
enum fate { ANSWERED, CLOSED, PENDING };

static enum fate watch_one(struct conn *c, int ms)
{
	long long deadline = harness_now_ms() + ms;

	while ((c->state == C_CONNECTING || c->state == C_OPEN) && c->answered < c->sent &&
	       harness_now_ms() < deadline)
		pump(c, 1, step_ms(deadline));
	if (c->answered > 0)
		return ANSWERED;
	return c->state == C_DEAD ? CLOSED : PENDING;
}

static const char *describe(const struct conn *c, char *out, size_t len)
{
	if (c->state == C_DEAD)
		snprintf(out, len, "%s after %lld ms (%d of %d answered)", c->why,
			 c->t_dead - c->t_opened, c->answered, c->sent);
	else if (c->state == C_UNUSED)
		snprintf(out, len, "closed by the test");
	else
		snprintf(out, len, "%d of %d answered, last status %d, still %s", c->answered,
			 c->sent, c->last_status,
			 c->state == C_CONNECTING ? "connecting" : "open");
	return out;
}

/* A connection from `src` asking GET /healthz, tried again (a fresh connection) whenever the
 * gateway closes it, until one is answered 200 or `ms` pass.  Returns the number of tries. */
static int served_eventually(struct conn *c, const char *src, int port, int ms)
{
	long long deadline = harness_now_ms() + ms;
	char d[160];
	int tries = 0;

	for (;;) {
		tries++;
		conn_open(c, src, port);
		conn_get(c, port);
		watch_one(c, (int)(deadline - harness_now_ms()));
		if (c->ok == 1)
			return tries;
		if (c->state != C_DEAD || harness_now_ms() >= deadline)
			fail_msg("a new connection from %s was not served within %d ms (%d tries); the "
				 "last: %s", src, ms, tries, describe(c, d, sizeof(d)));
		harness_sleep_ms(20);
	}
}

/* ---- many keep-alive connections at once ---- */

/*
 * Opens `n` connections at once, from srcs[i % nsrc], each asking GET /healthz; when every one
 * is answered (all of them are then open at the same time), asks again on every one.  Every
 * request must be answered 200 on its own connection, all within MANY_DEADLINE_MS.
 */
static void many_keepalive(struct world *w, size_t n, const char *const *srcs, size_t nsrc)
{
	enum { ROUNDS = 2 };
	int port = w->gw.port;
	struct conn *cs;
	long long t0, deadline, t_round[ROUNDS];
	char d[160];

	raise_nofile(n + 64);
	cs = conns_new(w, n);
	t0 = harness_now_ms();
	deadline = t0 + MANY_DEADLINE_MS;
	for (size_t i = 0; i < n; i++) {
		conn_open(&cs[i], srcs[i % nsrc], port);
		conn_get(&cs[i], port);
	}
	for (int r = 0; r < ROUNDS; r++) {
		size_t answered = 0, dead = 0;
		long long worst = 0;

		if (r > 0)
			for (size_t i = 0; i < n; i++)
				conn_get(&cs[i], port);
		pump_until_settled(cs, n, deadline);
		t_round[r] = harness_now_ms();
		for (size_t i = 0; i < n; i++) {
			answered += cs[i].ok == r + 1;
			dead += cs[i].state == C_DEAD;
			if (cs[i].max_latency > worst)
				worst = cs[i].max_latency;
		}
		print_message("# %zu connections, request %d on each: %zu of %zu answered 200 in "
			      "%lld ms (slowest answer %lld ms), %zu closed\n", n, r + 1, answered, n,
			      t_round[r] - (r ? t_round[r - 1] : t0), worst, dead);
		for (size_t i = 0; i < n; i++) {
			const struct conn *c = &cs[i];

			if (c->state == C_DEAD || c->ok != r + 1 || c->server_close)
				fail_msg("%zu keep-alive connections: connection %zu (from %s), request "
					 "%d: %s%s; %zu of %zu answered 200 within %d ms", n, i, c->src,
					 r + 1, describe(c, d, sizeof(d)),
					 c->server_close ? ", the gateway answered Connection: close" : "",
					 answered, n, MANY_DEADLINE_MS);
		}
	}
	print_message("# %zu connections: %d requests each, all 200, in %lld ms\n", n, ROUNDS,
		      t_round[ROUNDS - 1] - t0);
	conns_free(w);
	w->passed = 1;
}

static const char *const loopback_1[] = { "127.0.0.1" };

static void test_keepalive_127(void **state)
{
	many_keepalive(*state, 127, loopback_1, 1);
}

static void test_keepalive_128(void **state)
{
	many_keepalive(*state, 128, loopback_1, 1);
}

static void test_keepalive_129(void **state)
{
	many_keepalive(*state, 129, loopback_1, 1);
}

/* 1000 from one address: per_ip_connection_limit = 0 (no limit). */
static void test_keepalive_1000_one_address(void **state)
{
	many_keepalive(*state, 1000, loopback_1, 1);
}

/* 1000 spread over 8 source addresses, 125 each: within the default per-address limit (256) and
 * the default connection_limit (1024). */
static void test_keepalive_1000_eight_addresses(void **state)
{
	static const char *const srcs[] = { "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
					    "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9" };

	many_keepalive(*state, 1000, srcs, 8);
}

/* ---- the limits ---- */

/* Opens cs[from..to) from `src`, each asking GET /healthz, and requires all answered 200. */
static void open_served(struct conn *cs, size_t from, size_t to, const char *src, int port)
{
	long long deadline = harness_now_ms() + SERVE_MS;
	char d[160];

	for (size_t i = from; i < to; i++) {
		conn_open(&cs[i], src, port);
		conn_get(&cs[i], port);
	}
	pump_until_settled(cs + from, to - from, deadline);
	for (size_t i = from; i < to; i++)
		if (cs[i].ok != cs[i].sent || cs[i].state == C_DEAD)
			fail_msg("connection %zu from %s (under every limit): %s", i, src,
				 describe(&cs[i], d, sizeof(d)));
}

/* Asks once more on each of cs[from..to) that the test has not closed, which must all answer
 * 200. */
static void still_served(struct conn *cs, size_t from, size_t to, int port)
{
	long long deadline = harness_now_ms() + SERVE_MS;
	char d[160];

	for (size_t i = from; i < to; i++)
		conn_get(&cs[i], port);
	pump_until_settled(cs + from, to - from, deadline);
	for (size_t i = from; i < to; i++)
		if (cs[i].state != C_UNUSED && (cs[i].ok != cs[i].sent || cs[i].state == C_DEAD))
			fail_msg("connection %zu from %s, asked again: %s", i, cs[i].src,
				 describe(&cs[i], d, sizeof(d)));
}

/* Opens `c` from `src`, asks GET /healthz and watches it for REFUSE_MS; returns what became of
 * it and writes a description. */
static enum fate over_limit(struct conn *c, const char *src, int port, char *d, size_t len)
{
	enum fate f;

	conn_open(c, src, port);
	conn_get(c, port);
	f = watch_one(c, REFUSE_MS);
	if (f == ANSWERED)
		snprintf(d, len, "answered %d after %lld ms: the limit does not hold", c->last_status,
			 c->max_latency);
	else if (f == PENDING)
		snprintf(d, len, "neither answered nor closed within %d ms (accepted by the kernel "
			 "and left waiting, not refused)", REFUSE_MS);
	else
		snprintf(d, len, "closed without an answer after %lld ms (%s)",
			 c->t_dead - c->t_opened, c->why);
	return f;
}

/* per_ip_connection_limit = 10: the 11th from one address is closed at once, while another
 * address is served, the first ten stay served, and a freed slot is given again. */
/* The harness polled /healthz from 127.0.0.1 to see the gateway up; libmicrohttpd may still
 * count those connections for a moment, so this test's own address is one nobody else uses. */
#define PER_IP_SRC "127.0.0.3"

static void test_per_ip_limit(void **state)
{
	struct world *w = *state;
	int port = w->gw.port, tries;
	struct conn *cs = conns_new(w, 32), *eleventh = &cs[10], *other = &cs[11];
	long long t0, deadline;
	char d[200];

	open_served(cs, 0, 10, PER_IP_SRC, port);

	/* the 11th from 127.0.0.3 and one from 127.0.0.2, at the same time */
	t0 = harness_now_ms();
	conn_open(eleventh, PER_IP_SRC, port);
	conn_get(eleventh, port);
	conn_open(other, "127.0.0.2", port);
	conn_get(other, port);
	deadline = t0 + REFUSE_MS;
	while ((eleventh->state != C_DEAD && eleventh->answered == 0) ||
	       (other->state != C_DEAD && other->answered == 0)) {
		if (harness_now_ms() >= deadline)
			break;
		pump(cs + 10, 2, step_ms(deadline));
	}
	print_message("# per_ip_connection_limit = 10: the 11th from 127.0.0.3: %s; 127.0.0.2: "
		      "%s\n", describe(eleventh, d, sizeof(d)),
		      other->ok ? "answered 200" : "not answered 200");
	if (other->ok != 1)
		fail_msg("a connection from 127.0.0.2 while 127.0.0.3 has 10 open: %s",
			 describe(other, d, sizeof(d)));
	if (eleventh->answered)
		fail_msg("the 11th connection from 127.0.0.3 was answered %d: "
			 "per_ip_connection_limit = 10 does not hold", eleventh->last_status);
	if (eleventh->state != C_DEAD)
		fail_msg("the 11th connection from 127.0.0.3 was neither answered nor closed within "
			 "%d ms: not refused", REFUSE_MS);
	if (eleventh->t_dead - eleventh->t_opened > AT_ONCE_MS)
		fail_msg("the 11th connection from 127.0.0.3 was closed only after %lld ms, want "
			 "at once (< %d ms)", eleventh->t_dead - eleventh->t_opened, AT_ONCE_MS);

	/* the first ten, on their own connections, and 127.0.0.2 up to its own ten */
	still_served(cs, 0, 10, port);
	open_served(cs, 12, 21, "127.0.0.2", port);
	still_served(cs, 11, 21, port);

	/* a slot freed on 127.0.0.1 is given again; then 127.0.0.1 is full again */
	t0 = harness_now_ms();
	conn_close(&cs[0]);
	tries = served_eventually(&cs[21], PER_IP_SRC, port, SERVE_MS);
	print_message("# a freed slot on 127.0.0.1 served again after %lld ms (%d tries)\n",
		      harness_now_ms() - t0, tries);
	if (over_limit(&cs[22], PER_IP_SRC, port, d, sizeof(d)) != CLOSED)
		fail_msg("127.0.0.1 with 10 open again, one more: %s", d);
	still_served(cs, 1, 10, port);
	conns_free(w);
	w->passed = 1;
}

/*
 * connection_limit = 50: the 51st is refused while 50 are open, the 50 stay served, and once some
 * close new ones are served, up to the limit again.  When the 51st is left waiting instead of
 * refused, the test goes on (it then takes one of the freed slots) to say what became of it, and
 * fails at the end.
 */
static void test_connection_limit(void **state)
{
	struct world *w = *state;
	int port = w->gw.port;
	struct conn *cs = conns_new(w, 64), *c51 = &cs[50];
	enum fate f51, f_again;
	char d51[200], d_again[200], d[200];
	size_t fresh = 5;
	long long t0;

	/* The harness's readiness polls were connections too: give the gateway a moment to see
	 * them closed, so that the fifty below are all there is. */
	usleep(500 * 1000);
	open_served(cs, 0, 50, "127.0.0.1", port);
	f51 = over_limit(c51, "127.0.0.1", port, d51, sizeof(d51));
	print_message("# connection_limit = 50, 50 open: the 51st %s\n", d51);
	if (f51 == ANSWERED)
		fail_msg("the 51st connection (50 open, connection_limit = 50) was %s", d51);
	if (f51 != PENDING)
		conn_close(c51);        /* refused: nothing more to ask on it */
	/* the fifty are still served on their own connections */
	still_served(cs, 0, 50, port);

	/* five close; new ones are served (each tried again while the gateway has not yet noticed
	 * the closes) */
	t0 = harness_now_ms();
	for (size_t i = 0; i < 5; i++)
		conn_close(&cs[i]);
	if (f51 == PENDING) {
		/* it waited in the listen queue: it should now get one of the freed slots */
		watch_one(c51, SERVE_MS);
		print_message("# the waiting 51st, after 5 closed: %s\n",
			      c51->ok ? "answered 200" : describe(c51, d, sizeof(d)));
		if (c51->ok == 1) {
			print_message("#   answered %lld ms after the closes, %lld ms after it "
				      "connected\n", harness_now_ms() - t0, c51->max_latency);
			fresh = 4;
		} else {
			conn_close(c51);
		}
	}
	for (size_t i = 51; i < 51 + fresh; i++)
		served_eventually(&cs[i], "127.0.0.1", port, SERVE_MS);
	print_message("# 5 closed: %zu new connections served within %lld ms\n", fresh,
		      harness_now_ms() - t0);
	still_served(cs, 5, 51 + fresh, port);
	/* 50 open again: one more is refused again */
	f_again = over_limit(&cs[56], "127.0.0.1", port, d_again, sizeof(d_again));
	print_message("# 50 open again: one more %s\n", d_again);
	if (f_again == ANSWERED)
		fail_msg("50 open again (connection_limit = 50), one more was %s", d_again);
	if (f51 != CLOSED)
		fail_msg("the 51st connection (50 open, connection_limit = 50) was %s", d51);
	if (f_again != CLOSED)
		fail_msg("50 open again (connection_limit = 50), one more was %s", d_again);
	conns_free(w);
	w->passed = 1;
}

/* connection_timeout = 1s: a connection that sent nothing, one that sent half a request line and
 * one idle after an answer are closed after about 1 s of silence; one that keeps asking every
 * 200 ms is not, even once it is older than 2 s; and new connections, one every 100 ms, are
 * served all along. */
static void test_connection_timeout(void **state)
{
	enum { IDLE, HALF, AFTER, ACTIVE, PROBES };
	static const char *const names[] = { "sent nothing", "sent half a request line",
					     "was idle after an answer" };
	static const char half[] = "GET /healthz HT";
	struct world *w = *state;
	int port = w->gw.port;
	struct conn *cs = conns_new(w, 128);
	size_t nprobe = PROBES, served = 0;
	long long t0, deadline, t_all_closed = 0, next_probe, worst_probe = 0;
	char d[200];

	conn_open(&cs[AFTER], "127.0.0.1", port);
	conn_get(&cs[AFTER], port);
	if (watch_one(&cs[AFTER], SERVE_MS) != ANSWERED || cs[AFTER].ok != 1)
		fail_msg("first request: %s", describe(&cs[AFTER], d, sizeof(d)));
	conn_open(&cs[IDLE], "127.0.0.1", port);
	conn_open(&cs[HALF], "127.0.0.1", port);
	conn_send_raw(&cs[HALF], half, sizeof(half) - 1);
	conn_open(&cs[ACTIVE], "127.0.0.1", port);
	conn_get(&cs[ACTIVE], port);

	t0 = harness_now_ms();
	deadline = t0 + TIMEOUT_MAX_MS + 2000;
	next_probe = t0;
	/* until the three are closed, and 1 s more (the active connection then is > 2 s old) */
	while (harness_now_ms() < deadline &&
	       (t_all_closed == 0 || harness_now_ms() < t_all_closed + 1000)) {
		long long now = harness_now_ms();

		pump(cs, nprobe, 20);
		if (t_all_closed == 0 && cs[IDLE].state == C_DEAD && cs[HALF].state == C_DEAD &&
		    cs[AFTER].state == C_DEAD)
			t_all_closed = now;
		/* the active connection asks again 200 ms after each answer */
		if (cs[ACTIVE].state == C_OPEN && cs[ACTIVE].answered == cs[ACTIVE].sent &&
		    now - cs[ACTIVE].t_active >= 200)
			conn_get(&cs[ACTIVE], port);
		/* a fresh connection every 100 ms; each must be answered within PROBE_MS */
		for (size_t i = PROBES; i < nprobe; i++) {
			struct conn *p = &cs[i];

			if (p->state == C_UNUSED)
				continue;
			if (p->ok == 1) {
				served++;
				if (p->max_latency > worst_probe)
					worst_probe = p->max_latency;
				conn_close(p);
			} else if (p->state == C_DEAD || now - p->t_opened > PROBE_MS) {
				fail_msg("while idle connections wait for the timeout, a new "
					 "connection: %s", describe(p, d, sizeof(d)));
			}
		}
		if (now >= next_probe && nprobe < 128) {
			conn_open(&cs[nprobe], "127.0.0.1", port);
			conn_get(&cs[nprobe], port);
			nprobe++;
			next_probe = now + 100;
		}
	}
	for (int i = IDLE; i <= AFTER; i++) {
		const struct conn *c = &cs[i];
		long long idle = c->t_dead - c->t_active;

		if (c->state == C_DEAD)
			print_message("# connection_timeout = 1s: the connection that %s: %s after "
				      "%lld ms of silence\n", names[i], c->why, idle);
		if (c->state != C_DEAD)
			fail_msg("connection_timeout = 1s: the connection that %s is still open "
				 "after %lld ms of silence", names[i],
				 harness_now_ms() - c->t_active);
		if (c->answered != (i == AFTER ? 1 : 0))
			fail_msg("the connection that %s got %d answers", names[i], c->answered);
		if (idle < TIMEOUT_MIN_MS || idle > TIMEOUT_MAX_MS)
			fail_msg("connection_timeout = 1s: the connection that %s was closed after "
				 "%lld ms of silence, want %d..%d ms", names[i], idle,
				 TIMEOUT_MIN_MS, TIMEOUT_MAX_MS);
	}
	print_message("# meanwhile: %zu new connections served (slowest %lld ms); the active "
		      "connection: %d of %d answered 200 (slowest %lld ms), %s after %lld ms\n",
		      served, worst_probe, cs[ACTIVE].ok, cs[ACTIVE].sent, cs[ACTIVE].max_latency,
		      cs[ACTIVE].state == C_OPEN ? "still open" : cs[ACTIVE].why,
		      harness_now_ms() - cs[ACTIVE].t_opened);
	if (served < 10)
		fail_msg("only %zu new connections served while waiting", served);
	if (cs[ACTIVE].state != C_OPEN || cs[ACTIVE].ok < 5 ||
	    cs[ACTIVE].ok + 1 < cs[ACTIVE].sent || cs[ACTIVE].max_latency > PROBE_MS)
		fail_msg("a connection asking every 200 ms (never idle for 1 s): %s",
			 describe(&cs[ACTIVE], d, sizeof(d)));
	conns_free(w);
	w->passed = 1;
}

/* request_timeout = 2s (connection_timeout = 1s): clients that send a byte every 300 ms, so are
 * never idle for 1 s, are cut off about 2 s after they began — one in its header block, one in its
 * body — while a keep-alive connection asking every 200 ms stays open well past 2 s, since each
 * answer starts its next request's clock again. */
static void test_request_timeout(void **state)
{
	enum { HEAD, BODY, ACTIVE, N };
	static const char *const names[] = { "trickles its header block", "trickles its body" };
	struct world *w = *state;
	int port = w->gw.port;
	struct conn *cs = conns_new(w, N);
	char head[256], body_head[256], d[200];
	size_t head_len, body_len, at[2] = { 0, 0 };
	const char *text[2];
	size_t len[2];
	long long t0, next_byte;

	head_len = (size_t)snprintf(head, sizeof(head),
				    "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Slow: "
				    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				    port);
	body_len = (size_t)snprintf(body_head, sizeof(body_head),
				    "POST /webhooks/console HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				    "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"
				    "{\"from\":\"+34600111222\",\"text\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				    port);
	text[HEAD] = head;
	len[HEAD] = head_len;
	text[BODY] = body_head;
	len[BODY] = body_len;
	for (int i = HEAD; i <= BODY; i++)
		conn_open(&cs[i], "127.0.0.1", port);
	/* the body's headers at once: only its body trickles */
	at[BODY] = (size_t)(strstr(body_head, "\r\n\r\n") + 4 - body_head);
	conn_send_raw(&cs[BODY], body_head, at[BODY]);
	conn_open(&cs[ACTIVE], "127.0.0.1", port);
	conn_get(&cs[ACTIVE], port);

	t0 = next_byte = harness_now_ms();
	while (harness_now_ms() < t0 + REQUEST_MAX_MS + 1000) {
		long long now = harness_now_ms();

		pump(cs, N, 20);
		if (now >= next_byte) {
			for (int i = HEAD; i <= BODY; i++) {
				if (cs[i].state == C_OPEN && at[i] < len[i]) {
					conn_send_raw(&cs[i], text[i] + at[i], 1);
					at[i]++;
				}
			}
			next_byte = now + TRICKLE_GAP_MS;
		}
		if (cs[ACTIVE].state == C_OPEN && cs[ACTIVE].answered == cs[ACTIVE].sent &&
		    now - cs[ACTIVE].t_active >= 200)
			conn_get(&cs[ACTIVE], port);
	}
	for (int i = HEAD; i <= BODY; i++) {
		const struct conn *c = &cs[i];
		long long lived = c->t_dead - c->t_opened;

		if (c->state != C_DEAD)
			fail_msg("request_timeout = 2s: the connection that %s is still open after "
				 "%lld ms (%zu bytes sent)", names[i], harness_now_ms() - c->t_opened,
				 at[i]);
		print_message("# request_timeout = 2s: the connection that %s: %s after %lld ms\n",
			      names[i], c->why, lived);
		if (lived < REQUEST_MIN_MS || lived > REQUEST_MAX_MS)
			fail_msg("request_timeout = 2s: the connection that %s was cut after %lld ms, "
				 "want %d..%d ms", names[i], lived, REQUEST_MIN_MS, REQUEST_MAX_MS);
		if (c->answered != 0)
			fail_msg("the connection that %s got %d answers", names[i], c->answered);
	}
	if (cs[ACTIVE].state != C_OPEN || cs[ACTIVE].ok < 10 ||
	    cs[ACTIVE].ok + 1 < cs[ACTIVE].sent)
		fail_msg("a keep-alive connection asking every 200 ms for %d ms: %s",
			 REQUEST_MAX_MS + 1000, describe(&cs[ACTIVE], d, sizeof(d)));
	conns_free(w);
	w->passed = 1;
}

/* ---- bodies over the cap, from a client that writes its whole request before it reads ---- */

/*
 * Such a client (Python's http.client, many libraries without Expect: 100-continue) only reads
 * once every byte is written.  Its socket's send buffer is set to 64 KiB, so that what the
 * kernels buffer between the two ends stays well below the bodies sent and the test depends on
 * the gateway reading, not on loopback's generous buffers (over a real network those are no help
 * either).  Every write and read waits at most WF_WAIT_MS.
 */
#define WF_SNDBUF (64 * 1024)
#define WF_WAIT_MS 10000
#define WF_BLOCK (64 * 1024)
#define WF_ANSWER_CAP (64 * 1024)
#define KIB (1024u)
#define MIB (1024u * 1024u)

/* What one such exchange came to. */
struct wf_result {
	size_t total;                   /* bytes of the whole request */
	size_t written;                 /* of them, taken by the gateway */
	int write_err;                  /* errno that stopped the writing; 0: all of it written */
	int read_err;                   /* errno that ended the reading; 0: end of stream */
	char answer[WF_ANSWER_CAP + 1]; /* what arrived, NUL-terminated */
	size_t answer_len;
	int status;                     /* the answer's status; 0 when none arrived */
	char code[48];                  /* its {"error":{"code"}} */
	int conn_close;                 /* it said Connection: close */
	long long ms;                   /* from connect to the end of the stream */
};

/* Sends all of `data` unless the gateway stops taking it; 0, or -1 with out->write_err set. */
static int wf_send(int fd, const char *data, size_t len, struct wf_result *out)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			out->write_err = n < 0 ? errno : EPIPE;
			return -1;
		}
		out->written += (size_t)n;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The answer's status, Connection: close and error code, from out->answer. */
static void wf_parse(struct wf_result *out)
{
	const char *end = strstr(out->answer, "\r\n\r\n"), *v;
	json_t *root;
	size_t vlen;

	if (!end || sscanf(out->answer, "HTTP/1.%*d %d", &out->status) != 1) {
		out->status = 0;
		return;
	}
	v = header_value(out->answer, end, "Connection", &vlen);
	out->conn_close = v && vlen == 5 && strncasecmp(v, "close", 5) == 0;
	root = json_loads(end + 4, 0, NULL);
	v = json_string_value(json_object_get(json_object_get(root, "error"), "code"));
	snprintf(out->code, sizeof(out->code), "%s", v ? v : "");
	json_decref(root);
}

/*
 * POSTs a body of `body_len` bytes to `path` as such a client: with Content-Length, or chunked
 * in WF_BLOCK pieces, the whole request written before anything is read, then everything read
 * until the gateway ends the stream.  A failed write stops the writing (the client would give
 * up there: the broken pipe or reset it reports); the reading is still tried, to see whether an
 * answer was there.
 */
static void write_first(int port, const char *path, size_t body_len, int chunked,
			struct wf_result *out)
{
	static char block[WF_BLOCK];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = WF_WAIT_MS / 1000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), sndbuf = WF_SNDBUF;
	char head[512], frame[32];
	size_t head_len, sent = 0;
	long long t0 = harness_now_ms();

	memset(out, 0, sizeof(*out));
	memset(block, 'a', sizeof(block));
	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail_msg("connect to 127.0.0.1:%d: %s", port, strerror(errno));
	head_len = (size_t)snprintf(head, sizeof(head),
				    "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				    "Accept-Encoding: identity\r\nContent-Type: application/json\r\n",
				    path, port);
	if (chunked)
		head_len += (size_t)snprintf(head + head_len, sizeof(head) - head_len,
					     "Transfer-Encoding: chunked\r\n\r\n");
	else
		head_len += (size_t)snprintf(head + head_len, sizeof(head) - head_len,
					     "Content-Length: %zu\r\n\r\n", body_len);
	out->total = head_len + body_len;
	if (chunked)
		out->total += (body_len / WF_BLOCK) * (sizeof("10000\r\n\r\n") - 1) +
			      sizeof("0\r\n\r\n") - 1;
	if (wf_send(fd, head, head_len, out) < 0)
		goto read;
	for (; sent < body_len; sent += WF_BLOCK) {
		size_t n = body_len - sent < WF_BLOCK ? body_len - sent : WF_BLOCK;

		assert_true(!chunked || n == WF_BLOCK);
		if (chunked && (snprintf(frame, sizeof(frame), "%zx\r\n", n),
				wf_send(fd, frame, strlen(frame), out) < 0))
			goto read;
		if (wf_send(fd, block, n, out) < 0 || (chunked && wf_send(fd, "\r\n", 2, out) < 0))
			goto read;
	}
	if (chunked)
		wf_send(fd, "0\r\n\r\n", 5, out);
read:
	for (;;) {
		ssize_t n = recv(fd, out->answer + out->answer_len, WF_ANSWER_CAP - out->answer_len,
				 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			out->read_err = n < 0 ? errno : 0;
			break;
		}
		out->answer_len += (size_t)n;
		if (out->answer_len == WF_ANSWER_CAP)
			fail_msg("POST %s: an answer of more than %d bytes", path, WF_ANSWER_CAP);
	}
	out->answer[out->answer_len] = '\0';
	out->ms = harness_now_ms() - t0;
	close(fd);
	wf_parse(out);
}

static const char *wf_errno(int e)
{
	return e == 0 ? "-" : e == EAGAIN ? "timed out" : strerror(e);
}

static void wf_print(const char *path, size_t body_len, int chunked, const struct wf_result *r)
{
	print_message("# %-24s %8zu KiB%s: %zu of %zu bytes written (%s), answer %d %s%s, "
		      "then %s, %lld ms\n", path, body_len / KIB, chunked ? " chunked" : "",
		      r->written, r->total, wf_errno(r->write_err), r->status, r->code,
		      r->conn_close ? " Connection: close" : "", r->read_err ? wf_errno(r->read_err)
									  : "end of stream", r->ms);
}

/* The whole request written, then 413 body_too_large with Connection: close, then the end of the
 * stream (not a reset). */
static void expect_413_after_write(const char *path, size_t body_len, int chunked,
				   const struct wf_result *r)
{
	const char *what = chunked ? "chunked " : "";

	if (r->write_err)
		fail_msg("POST %s, %s%zu KiB over the cap, written before reading: the write failed "
			 "after %zu of %zu bytes (%s); the 413 never reached the client", path, what,
			 body_len / KIB, r->written, r->total, wf_errno(r->write_err));
	if (r->status != 413 || strcmp(r->code, "body_too_large") != 0)
		fail_msg("POST %s, %s%zu KiB: answer %d \"%s\", want 413 body_too_large (%s; "
			 "%.200s)", path, what, body_len / KIB, r->status, r->code,
			 wf_errno(r->read_err), r->answer);
	if (!r->conn_close)
		fail_msg("POST %s, %s%zu KiB: the 413 does not say Connection: close", path, what,
			 body_len / KIB);
	if (r->read_err)
		fail_msg("POST %s, %s%zu KiB: after the 413 the stream ended with %s, want its end",
			 path, what, body_len / KIB, wf_errno(r->read_err));
}

/* GET /healthz on a fresh connection answers 200 {"status":"ok"} within SERVE_MS. */
static void expect_healthy(struct world *w, const char *after)
{
	struct conn *c = conns_new(w, 1);
	char d[160];

	conn_open(c, "127.0.0.1", w->gw.port);
	conn_get(c, w->gw.port);
	if (watch_one(c, SERVE_MS) != ANSWERED || c->ok != 1)
		fail_msg("GET /healthz after %s: %s", after, describe(c, d, sizeof(d)));
	conns_free(w);
}

static const char *const capped_routes[] = { "/v1/surveys", "/webhooks/twilio",
					     "/webhooks/twilio/status", "/webhooks/meta",
					     "/webhooks/zenvia", "/webhooks/console" };

/*
 * 100 KiB and 2 MiB with Content-Length, to the API and to every webhook (the cap is the server's,
 * applied before routing and authentication): the gateway answers 413 and reads on, dropping the
 * body (the lingering close), so the client, once done writing, reads the 413.
 */
static void test_too_large_written_first(void **state)
{
	static const size_t sizes[] = { 100 * KIB, 2 * MIB };
	struct world *w = *state;
	struct wf_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	for (size_t i = 0; i < sizeof(capped_routes) / sizeof(capped_routes[0]); i++) {
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			write_first(w->gw.port, capped_routes[i], sizes[j], 0, r);
			wf_print(capped_routes[i], sizes[j], 0, r);
			expect_413_after_write(capped_routes[i], sizes[j], 0, r);
		}
	}
	expect_healthy(w, "the oversize bodies");
	free(r);
	w->passed = 1;
}

/*
 * 20 MiB with Content-Length, past the 16 MiB the gateway reads only to drop: the 413 is sent at
 * once and the connection closed without lingering.  Such a client then cannot write it all (the
 * gateway took no more than the kernels buffer) and may or may not find the 413 before the reset;
 * either way the exchange ends at once and the gateway stays healthy.
 */
static void test_too_large_past_discard_limit(void **state)
{
	struct world *w = *state;
	struct wf_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	for (size_t i = 0; i < sizeof(capped_routes) / sizeof(capped_routes[0]); i++) {
		write_first(w->gw.port, capped_routes[i], 20 * MIB, 0, r);
		wf_print(capped_routes[i], 20 * MIB, 0, r);
		if (r->write_err == EAGAIN || r->read_err == EAGAIN)
			fail_msg("POST %s, 20 MiB: the gateway neither read nor closed for %d ms",
				 capped_routes[i], WF_WAIT_MS);
		if (!r->write_err)
			fail_msg("POST %s, 20 MiB: all %zu bytes were taken: the gateway read a body "
				 "past the 16 MiB it drops", capped_routes[i], r->total);
		if (r->status && (r->status != 413 || strcmp(r->code, "body_too_large") != 0))
			fail_msg("POST %s, 20 MiB: answer %d \"%s\", want 413 body_too_large or none",
				 capped_routes[i], r->status, r->code);
	}
	expect_healthy(w, "the 20 MiB bodies");
	free(r);
	w->passed = 1;
}

/*
 * Chunked bodies have no length to judge by: 2 MiB is read to its end and answered 413, while
 * one of 20 MiB is cut once 16 MiB were read, without an answer (the gateway never reads on
 * for ever), and says so in the log.
 */
static void test_too_large_chunked(void **state)
{
	static const char *const logged[] = { "event=body_too_large", "16777216", NULL };
	struct world *w = *state;
	struct wf_result *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	write_first(w->gw.port, "/v1/surveys", 2 * MIB, 1, r);
	wf_print("/v1/surveys", 2 * MIB, 1, r);
	expect_413_after_write("/v1/surveys", 2 * MIB, 1, r);

	write_first(w->gw.port, "/webhooks/meta", 20 * MIB, 1, r);
	wf_print("/webhooks/meta", 20 * MIB, 1, r);
	if (r->write_err == EAGAIN || r->read_err == EAGAIN)
		fail_msg("POST /webhooks/meta, 20 MiB chunked: the gateway neither read nor closed "
			 "for %d ms", WF_WAIT_MS);
	if (r->status)
		fail_msg("POST /webhooks/meta, 20 MiB chunked: answered %d after reading it all, "
			 "want the connection cut past 16 MiB", r->status);
	if (harness_gw_log_has_line(&w->gw, logged) != 1)
		fail_msg("no event=body_too_large line naming 16777216 bytes in the log");
	expect_healthy(w, "a 20 MiB chunked body");
	free(r);
	w->passed = 1;
}

/*
 * A client that sent Expect: 100-continue waits for a go-ahead before its body: it gets the 413
 * at once (no 100 Continue first), without sending the body, and then the end of the stream.
 */
static void test_too_large_expect_continue(void **state)
{
	struct world *w = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)w->gw.port) };
	struct timeval tv = { .tv_sec = 5 };
	struct wf_result *r = calloc(1, sizeof(*r));
	char head[256];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n;

	assert_non_null(r);
	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(head, sizeof(head), "POST /v1/surveys HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		     "Content-Type: application/json\r\nContent-Length: %u\r\n"
		     "Expect: 100-continue\r\n\r\n", w->gw.port, 2 * MIB);
	assert_int_equal(wf_send(fd, head, (size_t)n, r), 0);
	for (;;) {
		ssize_t got = recv(fd, r->answer + r->answer_len, WF_ANSWER_CAP - r->answer_len, 0);

		if (got <= 0)
			break;
		r->answer_len += (size_t)got;
	}
	close(fd);
	r->answer[r->answer_len] = '\0';
	wf_parse(r);
	print_message("# Expect: 100-continue, 2 MiB declared: answer %d %s%s\n", r->status,
		      r->code, r->conn_close ? " Connection: close" : "");
	if (r->status != 413 || strcmp(r->code, "body_too_large") != 0)
		fail_msg("Expect: 100-continue with 2 MiB declared: %.200s, want 413 at once",
			 r->answer_len ? r->answer : "(nothing within 5 s)");
	free(r);
	w->passed = 1;
}

/* A blocking connection to the gateway whose reads and writes give up after `wait_ms`. */
static int connect_blocking(int port, int wait_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail_msg("connect to 127.0.0.1:%d: %s", port, strerror(errno));
	return fd;
}

/* Sends the head of a POST /v1/surveys declaring a 2 MiB body, and reads what the gateway says
 * up to the end of its stream (its writing side) into r; fails unless that is the 413. */
static void ask_2mib_read_413(int fd, int port, struct wf_result *r)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "POST /v1/surveys HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
			 "Content-Type: application/json\r\nContent-Length: %u\r\n\r\n", port,
			 2 * MIB);

	memset(r, 0, sizeof(*r));
	assert_int_equal(wf_send(fd, head, (size_t)n, r), 0);
	for (;;) {
		ssize_t got = recv(fd, r->answer + r->answer_len, WF_ANSWER_CAP - r->answer_len, 0);

		if (got <= 0) {
			r->read_err = got < 0 ? errno : 0;
			break;
		}
		r->answer_len += (size_t)got;
	}
	r->answer[r->answer_len] = '\0';
	wf_parse(r);
	if (r->status != 413 || r->read_err)
		fail_msg("2 MiB declared, nothing of it sent: %s, then %s; want the 413 and the end "
			 "of the stream at once", r->answer_len ? r->answer : "(no answer)",
			 r->read_err ? wf_errno(r->read_err) : "end of stream");
}

/* Sends one body byte every `gap_ms` until a send fails or `max_ms` pass; the milliseconds from
 * the call to the failed send, or -1 when every send went through. */
static long long trickle_until_refused(int fd, int gap_ms, int max_ms)
{
	long long t0 = harness_now_ms();

	while (harness_now_ms() - t0 < max_ms) {
		if (send(fd, "a", 1, MSG_NOSIGNAL) != 1)
			return harness_now_ms() - t0;
		harness_sleep_ms(gap_ms);
	}
	return -1;
}

/*
 * The lingering close's time limits, with connection_timeout = 1s and request_timeout = 2s: after
 * its 413 a client trickling its body every 100 ms (never idle for 1 s) is read from for about
 * 2 s, then closed (its next bytes refused); one that says nothing for 1.5 s is closed by the
 * idle limit before it sends more.
 */
static void test_too_large_lingers_within_timeouts(void **state)
{
	struct world *w = *state;
	struct wf_result *r = calloc(1, sizeof(*r));
	int fd = connect_blocking(w->gw.port, 5000);
	long long refused;

	assert_non_null(r);
	ask_2mib_read_413(fd, w->gw.port, r);
	refused = trickle_until_refused(fd, 100, 5000);
	close(fd);
	print_message("# after the 413, a body trickling every 100 ms: refused after %lld ms "
		      "(request_timeout 2s)\n", refused);
	if (refused < REQUEST_MIN_MS || refused > REQUEST_MAX_MS)
		fail_msg("after its 413, a body trickling every 100 ms was refused after %lld ms, "
			 "want %d..%d ms (read on until request_timeout = 2s)", refused,
			 REQUEST_MIN_MS, REQUEST_MAX_MS);

	fd = connect_blocking(w->gw.port, 5000);
	ask_2mib_read_413(fd, w->gw.port, r);
	harness_sleep_ms(1500);
	refused = trickle_until_refused(fd, 100, 1000);
	close(fd);
	print_message("# after the 413 and 1.5 s of silence: the next bytes refused after %lld ms "
		      "(connection_timeout 1s)\n", refused);
	if (refused < 0 || refused > 500)
		fail_msg("after its 413 and 1.5 s of silence (connection_timeout = 1s), the body's "
			 "bytes were %s", refused < 0 ? "still read a second later" : "read for a while");
	expect_healthy(w, "lingering connections");
	free(r);
	w->passed = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keepalive_127, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_128, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_129, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_1000_one_address,
						setup_no_per_ip_limit, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_1000_eight_addresses, setup_defaults,
						teardown),
		cmocka_unit_test_setup_teardown(test_per_ip_limit, setup_per_ip_10, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup_limit_50, teardown),
		cmocka_unit_test_setup_teardown(test_connection_timeout, setup_timeout_1s, teardown),
		cmocka_unit_test_setup_teardown(test_request_timeout, setup_request_timeout_2s,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_large_written_first, setup_defaults,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_large_past_discard_limit, setup_defaults,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_large_chunked, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_too_large_expect_continue, setup_defaults,
						teardown),
		cmocka_unit_test_setup_teardown(test_too_large_lingers_within_timeouts,
						setup_request_timeout_2s, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
