/*
 * crypto.c - crypto.h on OpenSSL's libcrypto: digests through EVP_MD, HMACs through EVP_MAC,
 * CRYPTO_memcmp, RAND_bytes and EVP_EncodeBlock.  Hex stays here: libcrypto's is upper-case.
 *
 * libcrypto looks an algorithm up by name in a locked table, and an HMAC context told its digest
 * by name looks the digest up again.  So the digests, and an HMAC context for each digest with
 * no key yet, are made once, on first use; each HMAC starts as a copy of one of those (copying
 * reads the original only, so every thread may copy it at once) and then gets its key.
 */
#include "crypto.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static const char *const digest_names[] = { [HASH_SHA1] = "SHA1", [HASH_SHA256] = "SHA256" };
static const size_t digest_lens[] = { [HASH_SHA1] = SHA1_LEN, [HASH_SHA256] = SHA256_LEN };

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
/* kept for the life of the process; NULL when libcrypto could not make them */
static EVP_MD *digests[2];
static EVP_MAC_CTX *hmac_blank[2];

static void fetch_algorithms(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	for (int alg = HASH_SHA1; alg <= HASH_SHA256; alg++) {
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							 (char *)digest_names[alg], 0),
			OSSL_PARAM_construct_end(),
		};

		digests[alg] = EVP_MD_fetch(NULL, digest_names[alg], NULL);
		hmac_blank[alg] = mac ? EVP_MAC_CTX_new(mac) : NULL;
		if (hmac_blank[alg] && !EVP_MAC_CTX_set_params(hmac_blank[alg], params)) {
			EVP_MAC_CTX_free(hmac_blank[alg]);
			hmac_blank[alg] = NULL;
		}
	}
	EVP_MAC_free(mac); /* the contexts hold their own reference */
}

size_t hash_len(enum hash_alg alg)
{
	return digest_lens[alg];
}

static void ctx_release(struct hash_ctx *c)
{
	if (c->is_mac)
		EVP_MAC_CTX_free(c->impl);
	else
		EVP_MD_CTX_free(c->impl);
	c->impl = NULL;
}

int hash_init(struct hash_ctx *c, enum hash_alg alg)
{
	EVP_MD_CTX *md;

	pthread_once(&fetch_once, fetch_algorithms);
	c->alg = alg;
	c->is_mac = 0;
	c->held = 0;
	c->impl = md = digests[alg] ? EVP_MD_CTX_new() : NULL;
	if (md && !EVP_DigestInit_ex2(md, digests[alg], NULL))
		ctx_release(c);
	return c->impl ? 0 : -1;
}

int hmac_init(struct hash_ctx *c, enum hash_alg alg, const void *key, size_t key_len)
{
	EVP_MAC_CTX *mac;

	pthread_once(&fetch_once, fetch_algorithms);
	c->alg = alg;
	c->is_mac = 1;
	c->held = 0;
	c->impl = mac = hmac_blank[alg] ? EVP_MAC_CTX_dup(hmac_blank[alg]) : NULL;
	/* an empty key is still a key: libcrypto takes NULL as "the key set before" */
	if (mac && !EVP_MAC_init(mac, key_len ? key : (const void *)"", key_len, NULL))
		ctx_release(c);
	return c->impl ? 0 : -1;
}

static void feed(struct hash_ctx *c, const void *data, size_t len)
{
	int ok;

	if (!c->impl || !len)
		return;
	ok = c->is_mac ? EVP_MAC_update(c->impl, data, len) : EVP_DigestUpdate(c->impl, data, len);
	if (!ok)
		ctx_release(c);
}

/*
 * Each call into libcrypto costs about as much as hashing a hundred bytes, and a Twilio signature
 * is fed in some forty pieces of a few bytes each: pieces are gathered in `hold` and handed over
 * together.
 */
void hash_update(struct hash_ctx *c, const void *data, size_t len)
{
	if (c->held + len > sizeof(c->hold)) {
		feed(c, c->hold, c->held);
		c->held = 0;
	}
	if (len > sizeof(c->hold)) {
		feed(c, data, len);
	} else if (len) {
		memcpy(c->hold + c->held, data, len);
		c->held += len;
	}
}

int hash_final(struct hash_ctx *c, uint8_t *out)
{
	size_t want = digest_lens[c->alg], got = 0;
	unsigned int md_len = 0;
	int ok = 0;

	feed(c, c->hold, c->held);
	explicit_bzero(c->hold, c->held); /* what was signed may be a secret */
	c->held = 0;
	if (c->impl && c->is_mac) {
		ok = EVP_MAC_final(c->impl, out, &got, want);
	} else if (c->impl) {
		ok = EVP_DigestFinal_ex(c->impl, out, &md_len);
		got = md_len;
	}
	if (c->impl)
		ctx_release(c);
	if (!ok || got != want) {
		memset(out, 0, want);
		return -1;
	}
	return 0;
}

int sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	struct hash_ctx c;

	hash_init(&c, HASH_SHA256);
	hash_update(&c, data, len);
	return hash_final(&c, out);
}

static int hmac_once(enum hash_alg alg, const void *key, size_t key_len, const void *data,
		     size_t len, uint8_t *out)
{
	struct hash_ctx c;

	hmac_init(&c, alg, key, key_len);
	hash_update(&c, data, len);
	return hash_final(&c, out);
}

int hmac_sha1(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[SHA1_LEN])
{
	return hmac_once(HASH_SHA1, key, key_len, data, len, out);
}

int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		uint8_t out[SHA256_LEN])
{
	return hmac_once(HASH_SHA256, key, key_len, data, len, out);
}

/* ---- encodings ---- */

size_t base64_encode(const uint8_t *in, size_t len, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* ---- comparison and randomness ---- */

/* Unequal lengths answer at once: the length of a MAC or token is not secret. */
int ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
	if (a_len != b_len)
		return 0;
	return a_len == 0 || CRYPTO_memcmp(a, b, a_len) == 0;
}

int ct_streq(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	return ct_equal(a, strlen(a), b, strlen(b));
}

/* RAND_bytes takes an int: larger requests go in pieces. */
int random_bytes(void *out, size_t len)
{
	unsigned char *p = out;
	size_t n;

	for (; len; p += n, len -= n) {
		n = len < INT_MAX ? len : INT_MAX;
		if (RAND_bytes(p, (int)n) != 1)
			return -1;
	}
	return 0;
}
