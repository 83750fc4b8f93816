/*
 * verify_webhooks.c - what checking a webhook's signature costs, alone, for `make bench`.
 *
 *	verify_webhooks --url URL --token TOKEN POOL_FILE
 *
 * POOL_FILE is bench/sign_webhooks' output ("X-Twilio-Signature<TAB>form body" a line).  Each
 * body is decoded with form_parse() first; then, over the whole pool, rounds of
 *   twilio  twilio_signature_valid() as the gateway calls it for an inbound SMS (every one must
 *           be valid, or the tool fails),
 *   meta    the check Meta's X-Hub-Signature-256 gets: HMAC-SHA256 of the raw body, lower hex,
 *           compared in constant time (providers/meta.c), on the same bodies,
 *   sha256  SHA-256 of the body alone,
 * each timed with the process's CPU clock until it has run for at least a second.  Prints one
 * line "bench body_bytes=... twilio_us=... meta_us=... sha256_us=..." (microseconds per body).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "form.h"
#include "twilio_sign.h"

#define META_SECRET "bench-app-secret"

struct hook {
	char sig[TWILIO_SIGNATURE_LEN];
	char *body;
	size_t len;
	struct form form;
};

struct pool {
	struct hook *v;
	size_t n;
	const char *url, *token;
	char (*meta_sig)[sizeof("sha256=") + 2 * SHA256_LEN];
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads and decodes every line.  -1 with a message when a line is not "signature<TAB>body". */
static int pool_load(struct pool *p, const char *path)
{
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "verify_webhooks: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		char *tab = strchr(line, '\t');
		struct hook *h;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!tab || (size_t)(tab - line) >= TWILIO_SIGNATURE_LEN)
			goto bad;
		if (p->n == alloc) {
			size_t n = alloc ? 2 * alloc : 1024;
			struct hook *v = realloc(p->v, n * sizeof(*v));

			if (!v)
				goto bad;
			p->v = v;
			alloc = n;
		}
		h = &p->v[p->n];
		memcpy(h->sig, line, (size_t)(tab - line));
		h->sig[tab - line] = '\0';
		h->len = (size_t)(line + len - tab - 1);
		h->body = strdup(tab + 1);
		if (!h->body || form_parse(&h->form, h->body, h->len) < 0)
			goto bad;
		p->n++;
	}
	free(line);
	fclose(f);
	return p->n ? 0 : (fprintf(stderr, "verify_webhooks: %s: empty\n", path), -1);
bad:
	fprintf(stderr, "verify_webhooks: %s: line %zu unreadable\n", path, p->n + 1);
	free(line);
	fclose(f);
	return -1;
}

static int check_twilio(const struct pool *p, size_t i)
{
	const struct hook *h = &p->v[i];

	return twilio_signature_valid(p->token, p->url, &h->form, NULL, 0, h->sig);
}

/* The same steps as signature_valid() in providers/meta.c. */
static int check_meta(const struct pool *p, size_t i)
{
	const struct hook *h = &p->v[i];
	uint8_t mac[SHA256_LEN];
	char want[sizeof(p->meta_sig[0])];

	if (hmac_sha256(META_SECRET, strlen(META_SECRET), h->body, h->len, mac) < 0)
		return 0;
	memcpy(want, "sha256=", 7);
	hex_encode(mac, SHA256_LEN, want + 7);
	return ct_streq(want, p->meta_sig[i]);
}

static int hash_only(const struct pool *p, size_t i)
{
	uint8_t d[SHA256_LEN];

	return sha256(p->v[i].body, p->v[i].len, d) == 0;
}

/* Microseconds of CPU per body for `check` over the pool, rounds until a second has passed;
 * -1 when a check fails. */
static double time_check(const struct pool *p, int (*check)(const struct pool *, size_t))
{
	double t0 = cpu_now(), t;
	size_t i, done = 0;

	do {
		for (i = 0; i < p->n; i++)
			if (!check(p, i))
				return -1;
		done += p->n;
		t = cpu_now() - t0;
	} while (t < 1.0);
	return t * 1e6 / (double)done;
}

int main(int argc, char **argv)
{
	struct pool p = { 0 };
	double twilio, meta, hash;
	size_t i, bytes = 0;
	uint8_t mac[SHA256_LEN];

	if (argc != 6 || strcmp(argv[1], "--url") || strcmp(argv[3], "--token")) {
		fprintf(stderr, "usage: verify_webhooks --url URL --token TOKEN POOL_FILE\n");
		return 2;
	}
	p.url = argv[2];
	p.token = argv[4];
	if (pool_load(&p, argv[5]) < 0)
		return 1;
	p.meta_sig = calloc(p.n, sizeof(p.meta_sig[0]));
	if (!p.meta_sig)
		return 1;
	for (i = 0; i < p.n; i++) {
		bytes += p.v[i].len;
		if (hmac_sha256(META_SECRET, strlen(META_SECRET), p.v[i].body, p.v[i].len, mac) < 0)
			return 1;
		memcpy(p.meta_sig[i], "sha256=", 7);
		hex_encode(mac, SHA256_LEN, p.meta_sig[i] + 7);
	}
	twilio = time_check(&p, check_twilio);
	meta = time_check(&p, check_meta);
	hash = time_check(&p, hash_only);
	if (twilio < 0 || meta < 0 || hash < 0) {
		fprintf(stderr, "verify_webhooks: a signature in the pool did not verify\n");
		return 1;
	}
	printf("bench bodies=%zu body_bytes=%zu twilio_us=%.2f meta_us=%.2f sha256_us=%.2f\n", p.n,
	       bytes / p.n, twilio, meta, hash);
	for (i = 0; i < p.n; i++) {
		form_release(&p.v[i].form);
		free(p.v[i].body);
	}
	free(p.v);
	free(p.meta_sig);
	return 0;
}
