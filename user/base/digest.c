// SPDX-License-Identifier: Apache-2.0
/* SHA-256 contexts, hex and base64 (see digest.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sealtrace/base/digest.h"

struct st_hasher {
	EVP_MD_CTX *ctx;
};

/*
 * EVP_sha256() makes OpenSSL 3 look the provider algorithm up again on
 * every init; fetching it once keeps a hash of a short line cheap.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Reachable from a global until exit, so leak checkers do not report it. */
static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

struct st_hasher *st_hasher_new(void)
{
	struct st_hasher *h;

	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx) {
		free(h);
		return NULL;
	}
	return h;
}

void st_hasher_free(struct st_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int st_sha256_pfx(struct st_hasher *h, uint8_t pfx, const void *a,
		  size_t alen, const void *b, size_t blen,
		  uint8_t out[ST_HASH_LEN])
{
	if (EVP_DigestInit_ex(h->ctx, sha256_md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, &pfx, 1) != 1 ||
	    (alen && EVP_DigestUpdate(h->ctx, a, alen) != 1) ||
	    (blen && EVP_DigestUpdate(h->ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, NULL) != 1)
		return -1;
	return 0;
}

int st_sha256(struct st_hasher *h, const void *a, size_t alen,
	      const void *b, size_t blen, uint8_t out[ST_HASH_LEN])
{
	if (EVP_DigestInit_ex(h->ctx, sha256_md, NULL) != 1 ||
	    (alen && EVP_DigestUpdate(h->ctx, a, alen) != 1) ||
	    (blen && EVP_DigestUpdate(h->ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, NULL) != 1)
		return -1;
	return 0;
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
