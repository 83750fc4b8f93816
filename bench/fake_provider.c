/*
 * fake_provider.c - a fast stand-in for Twilio's Messages API, for `make bench`.
 *
 *	fake_provider [--port N] [--to-file FILE]
 *	fake_provider --free-port
 *
 * Answers every POST /2010-04-01/Accounts/{sid}/Messages.json with 201 and a Twilio-shaped JSON
 * body carrying a fresh message sid (the gateway keeps provider message ids unique, so no two
 * answers may share one).  Unlike tests/support/fake_twilio.c it checks nothing and records
 * nothing but a count, the times of the first and last send, and (with --to-file) each `To`
 * number, one a line: the benchmark replies from those numbers afterwards.
 *
 * GET /stats answers {"accepted":N,"first_ns":T,"last_ns":T} (CLOCK_MONOTONIC) and flushes the
 * To file; POST /reset zeroes the count and times.  Prints "port N" once listening; stops on
 * SIGINT or SIGTERM.  --free-port prints a loopback port that was free a moment ago and exits.
 *
 * One libmicrohttpd thread (epoll): the benchmark's two cores are better spent on the gateway,
 * and a single thread needs no locks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "form.h"

#define BODY_CAP (64u << 10)
#define ANSWER_LEN 1024
#define MESSAGES_PREFIX "/2010-04-01/Accounts/"
#define MESSAGES_SUFFIX "/Messages.json"

struct fake {
	FILE *to_file;          /* NULL: numbers not recorded */
	uint64_t nonce;         /* makes sids differ from one run to the next */
	uint64_t seq;
	uint64_t accepted;
	int64_t first_ns, last_ns;
};

/* Per-request upload, freed by on_completed(). */
struct upload {
	struct buf body;
	int too_big;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* '+' and digits only: safe to write into JSON unescaped. */
static int is_plain_number(const char *s)
{
	if (!s || *s != '+')
		return 0;
	for (s++; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status, const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A create-message request has arrived whole: count it, note its To, answer 201. */
static enum MHD_Result answer_send(struct fake *fk, struct MHD_Connection *conn,
				   const struct upload *up)
{
	struct form f = { 0 };
	const char *to = NULL;
	char sid[40], json[ANSWER_LEN];
	int64_t t = now_ns();

	if (up->too_big)
		return answer(conn, 413, "{\"code\":20001,\"message\":\"Request entity too large\","
			      "\"status\":413}");
	if (form_parse(&f, buf_cstr(&up->body), up->body.len) == 0)
		to = form_get(&f, "To");
	if (!is_plain_number(to)) {
		form_release(&f);
		return answer(conn, 400, "{\"code\":21211,\"message\":\"Invalid 'To' Phone Number\","
			      "\"status\":400}");
	}
	snprintf(sid, sizeof(sid), "SM%016llx%016llx", (unsigned long long)fk->nonce,
		 (unsigned long long)++fk->seq);
	snprintf(json, sizeof(json),
		 "{\"account_sid\":\"ACbench\",\"api_version\":\"2010-04-01\","
		 "\"direction\":\"outbound-api\",\"error_code\":null,\"error_message\":null,"
		 "\"num_media\":\"0\",\"num_segments\":\"1\",\"price\":null,\"sid\":\"%s\","
		 "\"status\":\"queued\",\"to\":\"%s\"}", sid, to);
	if (fk->to_file)
		fprintf(fk->to_file, "%s\n", to);
	form_release(&f);
	if (!fk->accepted++)
		fk->first_ns = t;
	fk->last_ns = t;
	return answer(conn, 201, json);
}

static enum MHD_Result answer_stats(struct fake *fk, struct MHD_Connection *conn)
{
	char json[160];

	if (fk->to_file)
		fflush(fk->to_file);
	snprintf(json, sizeof(json), "{\"accepted\":%llu,\"first_ns\":%lld,\"last_ns\":%lld}\n",
		 (unsigned long long)fk->accepted, (long long)fk->first_ns, (long long)fk->last_ns);
	return answer(conn, 200, json);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct fake *fk = cls;
	struct upload *up = *con_cls;

	if (!up) {
		if (!(up = calloc(1, sizeof(*up))))
			return MHD_NO;
		buf_init(&up->body, BODY_CAP);
		*con_cls = up;
		return MHD_YES;
	}
	if (*data_size) {
		if (!up->too_big && buf_append(&up->body, data, *data_size) < 0)
			up->too_big = 1;
		*data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") == 0 && strncmp(url, MESSAGES_PREFIX,
						   strlen(MESSAGES_PREFIX)) == 0 &&
	    has_suffix(url, MESSAGES_SUFFIX))
		return answer_send(fk, conn, up);
	if (strcmp(method, "GET") == 0 && strcmp(url, "/stats") == 0)
		return answer_stats(fk, conn);
	if (strcmp(method, "POST") == 0 && strcmp(url, "/reset") == 0) {
		fk->accepted = 0;
		fk->first_ns = fk->last_ns = 0;
		return answer_stats(fk, conn);
	}
	return answer(conn, 404, "{\"code\":20404,\"message\":\"not found\",\"status\":404}");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	if (!up)
		return;
	buf_release(&up->body);
	free(up);
	*con_cls = NULL;
}

/* Binds port 0 on loopback and prints the port the kernel chose; the benchmark gives it to the
 * gateway's [server] listen. */
static int print_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		fprintf(stderr, "fake_provider: no free port: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	printf("%d\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: fake_provider [--port N] [--to-file FILE] | --free-port\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct fake fk = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	sigset_t sigs;
	long port = 0;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--free-port") == 0)
			return print_free_port();
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--port") == 0) {
			char *end;

			port = strtol(argv[++i], &end, 10);
			if (*end || port < 0 || port > 65535)
				return usage();
		} else if (strcmp(argv[i], "--to-file") == 0) {
			if (!(fk.to_file = fopen(argv[++i], "w"))) {
				fprintf(stderr, "fake_provider: %s: %s\n", argv[i], strerror(errno));
				return 1;
			}
		} else {
			return usage();
		}
	}
	if (getrandom(&fk.nonce, sizeof(fk.nonce), 0) != sizeof(fk.nonce))
		fk.nonce = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	/* Taken by sigwait() below; the daemon's thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     on_request, &fk,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &fk,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fake_provider: cannot listen on 127.0.0.1:%ld\n", port);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("port %u\n", info ? (unsigned int)info->port : 0u);
	fflush(stdout);
	sigwait(&sigs, &sig);
	MHD_stop_daemon(d);
	if (fk.to_file)
		fclose(fk.to_file);
	return 0;
}
