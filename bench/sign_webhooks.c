/*
 * sign_webhooks.c - a pool of Twilio-signed inbound SMS webhooks, for `make bench`.
 *
 *	sign_webhooks --url URL --token TOKEN --account-sid AC... --to NUMBER
 *	              --numbers FILE --count N -o FILE
 *
 * Writes N lines "X-Twilio-Signature<TAB>form body": the inbound message webhook Twilio POSTs to
 * URL (the gateway's public_url + /webhooks/twilio), with the fields Twilio sends
 * (tests/fixtures/twilio-inbound-sms.form), From taken in turn from FILE (one E.164 number a
 * line: the customers the benchmark surveyed), a reply text from a small mix of scores and
 * comments, and a MessageSid of its own on every line (the gateway stores a provider message id
 * once: a repeated sid would be answered as a duplicate, not processed).
 *
 * The signature is computed by providers/twilio_sign.c over the body as form_parse() decodes it,
 * which is exactly what the gateway checks.  wrk's Lua has no HMAC, hence this helper.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "form.h"
#include "twilio_sign.h"

#define NUMBER_LEN 32
#define BODY_CAP 4096

/* What customers text back: plain scores, scores with comments, words, the odd re-prompt. */
static const char *const replies[] = {
	"9", "10", "8", "le doy un 9", "10 muy amables", "Muy buena atención, 10", "7",
	"9/10", "nueve", "10 pero el pedido 12345 llegó tarde", "6", "gracias",
};

struct args {
	const char *url, *token, *account_sid, *to, *numbers, *out;
	long count;
};

struct numbers {
	char (*v)[NUMBER_LEN];
	size_t n;
};

static int usage(void)
{
	fprintf(stderr, "usage: sign_webhooks --url URL --token TOKEN --account-sid SID --to NUMBER"
		" --numbers FILE --count N -o FILE\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	const char *count = NULL;
	char *end;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i + 1 < argc; i += 2) {
		const char **dst = strcmp(argv[i], "--url") == 0 ? &a->url :
				   strcmp(argv[i], "--token") == 0 ? &a->token :
				   strcmp(argv[i], "--account-sid") == 0 ? &a->account_sid :
				   strcmp(argv[i], "--to") == 0 ? &a->to :
				   strcmp(argv[i], "--numbers") == 0 ? &a->numbers :
				   strcmp(argv[i], "--count") == 0 ? &count :
				   strcmp(argv[i], "-o") == 0 ? &a->out : NULL;

		if (!dst)
			return -1;
		*dst = argv[i + 1];
	}
	if (!a->url || !a->token || !a->account_sid || !a->to || !a->numbers || !a->out || !count)
		return -1;
	errno = 0;
	a->count = strtol(count, &end, 10);
	return *end || errno || a->count <= 0 ? -1 : 0;
}

/* Reads one number a line (blank lines skipped).  -1 with a message when none can be read. */
static int numbers_load(struct numbers *nums, const char *path)
{
	char line[256];
	size_t alloc = 0;
	FILE *f = fopen(path, "r");

	nums->v = NULL;
	nums->n = 0;
	if (!f) {
		fprintf(stderr, "sign_webhooks: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || strlen(line) >= NUMBER_LEN)
			continue;
		if (nums->n == alloc) {
			size_t n = alloc ? 2 * alloc : 1024;
			char (*p)[NUMBER_LEN] = realloc(nums->v, n * sizeof(*p));

			if (!p)
				break;
			nums->v = p;
			alloc = n;
		}
		memcpy(nums->v[nums->n++], line, strlen(line) + 1);
	}
	fclose(f);
	if (!nums->n) {
		fprintf(stderr, "sign_webhooks: %s: no numbers\n", path);
		free(nums->v);
		return -1;
	}
	return 0;
}

/* The form body of webhook `i`, in the order Twilio writes its fields.  0, or -1 when full. */
static int build_body(struct buf *body, const struct args *a, const char *from, const char *sid,
		      const char *text)
{
	return form_add(body, "ToCountry", "US") | form_add(body, "ToState", "CA") |
	       form_add(body, "SmsMessageSid", sid) | form_add(body, "NumMedia", "0") |
	       form_add(body, "ToCity", "") | form_add(body, "FromZip", "") |
	       form_add(body, "SmsSid", sid) | form_add(body, "FromState", "") |
	       form_add(body, "SmsStatus", "received") | form_add(body, "FromCity", "") |
	       form_add(body, "Body", text) | form_add(body, "FromCountry", "ES") |
	       form_add(body, "To", a->to) | form_add(body, "ToZip", "") |
	       form_add(body, "NumSegments", "1") | form_add(body, "MessageSid", sid) |
	       form_add(body, "AccountSid", a->account_sid) | form_add(body, "From", from) |
	       form_add(body, "ApiVersion", "2010-04-01");
}

/* Signs one body as the gateway will check it: over its decoded fields.  -1 when it cannot be
 * decoded. */
static int sign_body(const struct args *a, const struct buf *body, char sig[TWILIO_SIGNATURE_LEN])
{
	struct form f = { 0 };

	if (form_parse(&f, buf_cstr(body), body->len) < 0)
		return -1;
	twilio_signature_compute(a->token, a->url, &f, sig);
	form_release(&f);
	return sig[0] ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct args a;
	struct numbers nums;
	struct buf body;
	char sid[40], sig[TWILIO_SIGNATURE_LEN];
	uint64_t nonce;
	FILE *out;
	int rc = 1;

	if (parse_args(argc, argv, &a) < 0)
		return usage();
	if (numbers_load(&nums, a.numbers) < 0)
		return 1;
	if (!(out = fopen(a.out, "w"))) {
		fprintf(stderr, "sign_webhooks: %s: %s\n", a.out, strerror(errno));
		free(nums.v);
		return 1;
	}
	if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
		nonce = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	buf_init(&body, BODY_CAP);
	for (long i = 0; i < a.count; i++) {
		snprintf(sid, sizeof(sid), "SM%016llx%016llx", (unsigned long long)nonce,
			 (unsigned long long)i);
		buf_reset(&body);
		if (build_body(&body, &a, nums.v[(size_t)i % nums.n], sid,
			       replies[(size_t)i % (sizeof(replies) / sizeof(replies[0]))]) < 0 ||
		    sign_body(&a, &body, sig) < 0) {
			fprintf(stderr, "sign_webhooks: cannot build webhook %ld\n", i);
			goto out;
		}
		fprintf(out, "%s\t%s\n", sig, buf_cstr(&body));
	}
	rc = 0;
out:
	if (fclose(out) != 0) {
		fprintf(stderr, "sign_webhooks: %s: %s\n", a.out, strerror(errno));
		rc = 1;
	}
	buf_release(&body);
	free(nums.v);
	return rc;
}
