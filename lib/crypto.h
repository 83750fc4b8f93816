/*
 * crypto.h - the few primitives webhook signatures and API keys need: SHA-1, SHA-256, HMAC over
 * both, base64 and hex encoding, and a constant-time comparison.
 *
 * Self-contained (no library), pure functions, no allocation.  SHA-1 is here only because Twilio's
 * X-Twilio-Signature is HMAC-SHA1; nothing else should use it.
 */
#ifndef GW_CRYPTO_H
#define GW_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20
#define SHA256_LEN 32

struct sha1_ctx {
	uint32_t h[5];
	uint64_t total;     /* bytes fed so far */
	uint8_t block[64];
	size_t used;        /* bytes waiting in block */
};

struct sha256_ctx {
	uint32_t h[8];
	uint64_t total;
	uint8_t block[64];
	size_t used;
};

void sha1_init(struct sha1_ctx *c);
void sha1_update(struct sha1_ctx *c, const void *data, size_t len);
void sha1_final(struct sha1_ctx *c, uint8_t out[SHA1_LEN]);

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]);
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Streaming HMAC-SHA1 (RFC 2104), for signing strings built in pieces. */
struct hmac_sha1_ctx {
	struct sha1_ctx inner;
	uint8_t okey[64];   /* key XOR opad */
};
void hmac_sha1_init(struct hmac_sha1_ctx *c, const void *key, size_t key_len);
void hmac_sha1_update(struct hmac_sha1_ctx *c, const void *data, size_t len);
void hmac_sha1_final(struct hmac_sha1_ctx *c, uint8_t out[SHA1_LEN]);

/* One-shot HMACs. */
void hmac_sha1(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[SHA1_LEN]);
void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		 uint8_t out[SHA256_LEN]);

/* Standard base64 with padding (RFC 4648 §4).  `out` must hold base64_encoded_len(len) bytes
 * (NUL included).  Returns the length written, NUL excluded. */
#define base64_encoded_len(n) ((((n) + 2) / 3) * 4 + 1)
size_t base64_encode(const uint8_t *in, size_t len, char *out);

/* Lower-case hex; `out` holds 2*len+1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);

/* 1 when a and b hold the same bytes, 0 otherwise.  Runs in time that depends only on the lengths,
 * never on where the first difference is. */
int ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* 1 when two NUL-terminated strings are equal, compared with ct_equal; NULL never equals. */
int ct_streq(const char *a, const char *b);

/* Fills `out` with `len` bytes from the kernel's random source.  0, or -1 on failure. */
int random_bytes(void *out, size_t len);

#endif
