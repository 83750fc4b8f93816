/*
 * crypto.c - SHA-1 and SHA-256 (FIPS 180-4), HMAC (RFC 2104), base64 (RFC 4648), hex, a
 * constant-time comparison and the kernel's random bytes.  See crypto.h.
 *
 * Written for clarity, not speed: webhook bodies are a few kilobytes.
 */
#include "crypto.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define BLOCK_LEN 64

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

typedef void (*compress_fn)(uint32_t *h, const uint8_t *block);

/*
 * The Merkle-Damgård buffering both hashes share: feeds `len` bytes through `compress` one 64-byte
 * block at a time, keeping a partial block in `block`/`*used` between calls.
 */
static void md_update(uint32_t *h, uint8_t *block, size_t *used, uint64_t *total,
		      compress_fn compress, const uint8_t *p, size_t len)
{
	if (!len)
		return;     /* data may then be NULL, which memcpy must never see */
	*total += len;
	if (*used) {
		size_t take = BLOCK_LEN - *used;

		if (take > len)
			take = len;
		memcpy(block + *used, p, take);
		*used += take;
		p += take;
		len -= take;
		if (*used < BLOCK_LEN)
			return;
		compress(h, block);
		*used = 0;
	}
	for (; len >= BLOCK_LEN; p += BLOCK_LEN, len -= BLOCK_LEN)
		compress(h, p);
	memcpy(block, p, len);
	*used = len;
}

/*
 * Appends the FIPS 180-4 §5.1.1 padding: 0x80, zeros, then the message length in bits as a
 * 64-bit big-endian number, and compresses the last block(s).
 */
static void md_pad(uint32_t *h, uint8_t *block, size_t used, uint64_t total, compress_fn compress)
{
	uint64_t bits = total * 8;
	int i;

	block[used++] = 0x80;
	if (used > BLOCK_LEN - 8) {
		memset(block + used, 0, BLOCK_LEN - used);
		compress(h, block);
		used = 0;
	}
	memset(block + used, 0, BLOCK_LEN - 8 - used);
	for (i = 0; i < 8; i++)
		block[BLOCK_LEN - 1 - i] = (uint8_t)(bits >> (8 * i));
	compress(h, block);
}

/* ---- SHA-1 ---- */

static void sha1_compress(uint32_t *h, const uint8_t *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = load_be32(p + 4 * i);
	for (i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void sha1_init(struct sha1_ctx *c)
{
	static const uint32_t iv[5] = {
		0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0,
	};

	memcpy(c->h, iv, sizeof(iv));
	c->total = 0;
	c->used = 0;
}

void sha1_update(struct sha1_ctx *c, const void *data, size_t len)
{
	md_update(c->h, c->block, &c->used, &c->total, sha1_compress, data, len);
}

/* Writes the digest and wipes the context; sha1_init() it again before reuse. */
void sha1_final(struct sha1_ctx *c, uint8_t out[SHA1_LEN])
{
	int i;

	md_pad(c->h, c->block, c->used, c->total, sha1_compress);
	for (i = 0; i < 5; i++)
		store_be32(out + 4 * i, c->h[i]);
	explicit_bzero(c, sizeof(*c));
}

/* ---- SHA-256 ---- */

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_compress(uint32_t *h, const uint8_t *p)
{
	uint32_t w[64], v[8], s0, s1, ch, maj, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = load_be32(p + 4 * i);
	for (i = 16; i < 64; i++) {
		s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (i = 0; i < 64; i++) {
		s1 = ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25);
		ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
		t1 = v[7] + s1 + ch + sha256_k[i] + w[i];
		s0 = ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22);
		maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
		t2 = s0 + maj;
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += v[i];
}

void sha256_init(struct sha256_ctx *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->h, iv, sizeof(iv));
	c->total = 0;
	c->used = 0;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	md_update(c->h, c->block, &c->used, &c->total, sha256_compress, data, len);
}

/* Writes the digest and wipes the context; sha256_init() it again before reuse. */
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN])
{
	int i;

	md_pad(c->h, c->block, c->used, c->total, sha256_compress);
	for (i = 0; i < 8; i++)
		store_be32(out + 4 * i, c->h[i]);
	explicit_bzero(c, sizeof(*c));
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}

/* ---- HMAC ---- */

/*
 * RFC 2104 §2: a key longer than the block is replaced by its hash, then the key is zero-padded
 * to the block size and XORed with `pad`.  `hashed_key` is the caller's hash of the key, used
 * only when key_len > BLOCK_LEN.
 */
static void hmac_pad_key(uint8_t out[BLOCK_LEN], const void *key, size_t key_len,
			 const uint8_t *hashed_key, size_t hash_len, uint8_t pad)
{
	size_t i;

	memset(out, 0, BLOCK_LEN);
	if (key_len > BLOCK_LEN)
		memcpy(out, hashed_key, hash_len);
	else if (key_len)
		memcpy(out, key, key_len);
	for (i = 0; i < BLOCK_LEN; i++)
		out[i] ^= pad;
}

void hmac_sha1_init(struct hmac_sha1_ctx *c, const void *key, size_t key_len)
{
	uint8_t hashed[SHA1_LEN], ikey[BLOCK_LEN];

	if (key_len > BLOCK_LEN) {
		sha1_init(&c->inner);
		sha1_update(&c->inner, key, key_len);
		sha1_final(&c->inner, hashed);
	}
	hmac_pad_key(ikey, key, key_len, hashed, SHA1_LEN, 0x36);
	hmac_pad_key(c->okey, key, key_len, hashed, SHA1_LEN, 0x5c);
	sha1_init(&c->inner);
	sha1_update(&c->inner, ikey, BLOCK_LEN);
	explicit_bzero(ikey, sizeof(ikey));
	explicit_bzero(hashed, sizeof(hashed));
}

void hmac_sha1_update(struct hmac_sha1_ctx *c, const void *data, size_t len)
{
	sha1_update(&c->inner, data, len);
}

/* Writes the MAC and wipes the context (key material included). */
void hmac_sha1_final(struct hmac_sha1_ctx *c, uint8_t out[SHA1_LEN])
{
	struct sha1_ctx outer;
	uint8_t ihash[SHA1_LEN];

	sha1_final(&c->inner, ihash);
	sha1_init(&outer);
	sha1_update(&outer, c->okey, BLOCK_LEN);
	sha1_update(&outer, ihash, SHA1_LEN);
	sha1_final(&outer, out);
	explicit_bzero(c, sizeof(*c));
	explicit_bzero(ihash, sizeof(ihash));
}

void hmac_sha1(const void *key, size_t key_len, const void *data, size_t len, uint8_t out[SHA1_LEN])
{
	struct hmac_sha1_ctx c;

	hmac_sha1_init(&c, key, key_len);
	hmac_sha1_update(&c, data, len);
	hmac_sha1_final(&c, out);
}

void hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		 uint8_t out[SHA256_LEN])
{
	struct sha256_ctx c;
	uint8_t hashed[SHA256_LEN], pad[BLOCK_LEN], ihash[SHA256_LEN];

	if (key_len > BLOCK_LEN)
		sha256(key, key_len, hashed);
	hmac_pad_key(pad, key, key_len, hashed, SHA256_LEN, 0x36);
	sha256_init(&c);
	sha256_update(&c, pad, BLOCK_LEN);
	sha256_update(&c, data, len);
	sha256_final(&c, ihash);

	hmac_pad_key(pad, key, key_len, hashed, SHA256_LEN, 0x5c);
	sha256_init(&c);
	sha256_update(&c, pad, BLOCK_LEN);
	sha256_update(&c, ihash, SHA256_LEN);
	sha256_final(&c, out);
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(hashed, sizeof(hashed));
	explicit_bzero(ihash, sizeof(ihash));
}

/* ---- encodings ---- */

size_t base64_encode(const uint8_t *in, size_t len, char *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
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

/*
 * Unequal lengths answer at once: the length of a MAC or token is not secret.  For equal lengths
 * every byte is visited and the differences are ORed together, so the time does not reveal where
 * the first mismatch is.  `volatile` keeps the compiler from turning the loop into an early exit.
 */
int ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
	const volatile uint8_t *pa = a, *pb = b;
	volatile uint8_t diff = 0;
	size_t i;

	if (a_len != b_len)
		return 0;
	for (i = 0; i < a_len; i++)
		diff |= pa[i] ^ pb[i];
	return diff == 0;
}

int ct_streq(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	return ct_equal(a, strlen(a), b, strlen(b));
}

/*
 * getrandom(2) on the urandom source, blocking only until the pool is first initialised.  Large
 * requests come back short (at most 32 MiB - 1 per call) and any request may be cut short by a
 * signal, so loop until everything is filled.
 */
int random_bytes(void *out, size_t len)
{
	uint8_t *p = out;
	ssize_t n;

	while (len) {
		n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
