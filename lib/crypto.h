/*
 * crypto.h - the few primitives webhook signatures and API keys need: SHA-256, HMAC-SHA1 and
 * HMAC-SHA256 (in one go or fed in pieces), base64 and hex encoding, a constant-time comparison
 * and random bytes.
 *
 * Every hash and MAC is computed by OpenSSL's libcrypto; this interface keeps its types out of
 * the code that uses it, so that no provider includes an OpenSSL header.  SHA-1 is here only
 * because Twilio's X-Twilio-Signature is HMAC-SHA1; nothing else should use it.
 *
 * Thread-safe.  A function that computes a digest returns 0, or -1 when libcrypto failed (out of
 * memory); the output is then all zeros, which no check should accept, and the caller must treat
 * the digest as unknown: a signature is refused, a hash is not stored.
 */
#ifndef GW_CRYPTO_H
#define GW_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20
#define SHA256_LEN 32

enum hash_alg { HASH_SHA1, HASH_SHA256 };

/* Bytes of a digest of `alg`: SHA1_LEN or SHA256_LEN. */
size_t hash_len(enum hash_alg alg);

/*
 * A digest or an HMAC fed in pieces.  hash_init() or hmac_init() starts one, hash_update() feeds
 * it (a zero-length piece may have a NULL pointer), hash_final() writes hash_len(alg) bytes and
 * releases it: every init is matched by one hash_final(), also when the init failed.  A failure
 * at any step makes hash_final() return -1.
 */
struct hash_ctx {
	void *impl; /* libcrypto's context; NULL once a step failed */
	enum hash_alg alg;
	int is_mac;
	size_t held; /* bytes of small pieces gathered in hold, not yet given to libcrypto */
	uint8_t hold[256];
};

int hash_init(struct hash_ctx *c, enum hash_alg alg);
int hmac_init(struct hash_ctx *c, enum hash_alg alg, const void *key, size_t key_len);
void hash_update(struct hash_ctx *c, const void *data, size_t len);
int hash_final(struct hash_ctx *c, uint8_t *out);

/* One-shot forms. */
int sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
int hmac_sha1(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[SHA1_LEN]);
int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		uint8_t out[SHA256_LEN]);

/* Standard base64 with padding (RFC 4648 §4).  `out` must hold base64_encoded_len(len) bytes
 * (NUL included); `len` is at most a few kilobytes.  Returns the length written, NUL excluded. */
#define base64_encoded_len(n) ((((n) + 2) / 3) * 4 + 1)
size_t base64_encode(const uint8_t *in, size_t len, char *out);

/* Lower-case hex; `out` holds 2*len+1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);

/* 1 when a and b hold the same bytes, 0 otherwise.  Runs in time that depends only on the lengths,
 * never on where the first difference is (libcrypto's CRYPTO_memcmp). */
int ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* 1 when two NUL-terminated strings are equal, compared with ct_equal; NULL never equals. */
int ct_streq(const char *a, const char *b);

/* Fills `out` with `len` bytes from libcrypto's generator (seeded by the kernel).  0, or -1. */
int random_bytes(void *out, size_t len);

#endif
