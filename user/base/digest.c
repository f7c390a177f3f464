// SPDX-License-Identifier: Apache-2.0
/* SHA-256 contexts, hex and base64 (see digest.h). */
#include <stdlib.h>
#include <string.h>

/*
 * SHA-256 through OpenSSL's SHA256_* functions, not EVP: in OpenSSL 3.0
 * every EVP_DigestInit_ex allocates a provider context (measured: ~7.7
 * malloc per record on the log's hot path, ~110 ns per hash of a short
 * line, BENCHMARKS.md), and HMAC through EVP_MAC allocates two per
 * reference. SHA256_CTX is a plain struct: a hash, and an HMAC from
 * precomputed inner/outer states, need no heap at all. Same library, same
 * SHA-256 code underneath (SHA-NI where the CPU has it); the functions
 * are deprecated in 3.0, not removed.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "sealtrace/base/digest.h"

struct st_hasher {
	SHA256_CTX c;
};

struct st_hasher *st_hasher_new(void)
{
	return calloc(1, sizeof(struct st_hasher));
}

void st_hasher_free(struct st_hasher *h)
{
	free(h);
}

/* inlined: st_sha256 and st_sha256_pfx keep their own stack frames, which
 * is how a profile tells the chain's hashing from the tree's */
static inline __attribute__((always_inline))
int sha256_parts(SHA256_CTX *c, const void *a, size_t alen,
			const void *b, size_t blen, uint8_t out[ST_HASH_LEN])
{
	if ((alen && SHA256_Update(c, a, alen) != 1) ||
	    (blen && SHA256_Update(c, b, blen) != 1) ||
	    SHA256_Final(out, c) != 1)
		return -1;
	return 0;
}

int st_sha256_pfx(struct st_hasher *h, uint8_t pfx, const void *a,
		  size_t alen, const void *b, size_t blen,
		  uint8_t out[ST_HASH_LEN])
{
	if (SHA256_Init(&h->c) != 1 || SHA256_Update(&h->c, &pfx, 1) != 1)
		return -1;
	return sha256_parts(&h->c, a, alen, b, blen, out);
}

int st_sha256(struct st_hasher *h, const void *a, size_t alen,
	      const void *b, size_t blen, uint8_t out[ST_HASH_LEN])
{
	if (SHA256_Init(&h->c) != 1)
		return -1;
	return sha256_parts(&h->c, a, alen, b, blen, out);
}

/* ---- HMAC-SHA256 (RFC 2104) from precomputed states ------------------ */

#define HMAC_BLOCK	64

struct st_hmac_key {
	SHA256_CTX inner, outer;	/* after (K ^ ipad), (K ^ opad) */
};

struct st_hmac_key *st_hmac_key_new(const void *key, size_t klen)
{
	uint8_t k[HMAC_BLOCK] = { 0 }, pad[HMAC_BLOCK];
	struct st_hmac_key *h = calloc(1, sizeof(*h));
	int ok, i;

	if (!h)
		return NULL;
	if (klen > HMAC_BLOCK) {
		ok = SHA256_Init(&h->inner) == 1 &&
		     SHA256_Update(&h->inner, key, klen) == 1 &&
		     SHA256_Final(k, &h->inner) == 1;
	} else {
		if (klen)
			memcpy(k, key, klen);
		ok = 1;
	}
	for (i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	ok = ok && SHA256_Init(&h->inner) == 1 &&
	     SHA256_Update(&h->inner, pad, HMAC_BLOCK) == 1;
	for (i = 0; i < HMAC_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && SHA256_Init(&h->outer) == 1 &&
	     SHA256_Update(&h->outer, pad, HMAC_BLOCK) == 1;
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	if (!ok) {
		st_hmac_key_free(h);
		return NULL;
	}
	return h;
}

void st_hmac_key_free(struct st_hmac_key *h)
{
	if (!h)
		return;
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
}

int st_hmac_key_mac(const struct st_hmac_key *h, const void *msg, size_t len,
		    uint8_t out[ST_HASH_LEN])
{
	SHA256_CTX c = h->inner;	/* the key's states stay untouched */
	uint8_t in[ST_HASH_LEN];
	int rc;

	rc = sha256_parts(&c, msg, len, NULL, 0, in);
	c = h->outer;
	if (!rc)
		rc = sha256_parts(&c, in, sizeof(in), NULL, 0, out);
	OPENSSL_cleanse(&c, sizeof(c));
	return rc;
}

void st_hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* upper case is not canonical */
}

int st_unhex(const char *in, size_t inlen, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (inlen != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		hi = hexval(in[2 * i]);
		lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

size_t st_b64(const uint8_t *in, size_t n, char *out)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

long st_unb64(const char *in, size_t inlen, uint8_t *out, size_t outcap)
{
	unsigned char tmp[1024];
	char again[sizeof(tmp) * 4 / 3 + 4];
	size_t pad = 0;
	int n;

	if (inlen == 0 || inlen % 4 || inlen > sizeof(tmp) / 3 * 4)
		return -1;
	if (in[inlen - 1] == '=')
		pad++;
	if (in[inlen - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)inlen);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > outcap)
		return -1;
	n -= (int)pad;
	/* strict: re-encoding must give the same text (no junk, no odd bits) */
	st_b64(tmp, (size_t)n, again);
	if (strlen(again) != inlen || memcmp(again, in, inlen))
		return -1;
	memcpy(out, tmp, (size_t)n);
	return n;
}
