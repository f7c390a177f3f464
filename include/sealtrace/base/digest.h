/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Digest primitives shared by the chain, the Merkle tree and checkpoints:
 * a reusable SHA-256 context and HMAC-SHA256 keys (OpenSSL's SHA256_*
 * functions: no allocation per hash), hex and base64.
 */
#ifndef SEALTRACE_DIGEST_H
#define SEALTRACE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define ST_HASH_LEN	32
#define ST_HASH_HEX	(2 * ST_HASH_LEN)

/* A SHA-256 context that is reset per use; one per thread. */
struct st_hasher;
struct st_hasher *st_hasher_new(void);
void st_hasher_free(struct st_hasher *h);

/* SHA-256(a || b); b may be NULL/0. 0 or -1 (OpenSSL failure). */
int st_sha256(struct st_hasher *h, const void *a, size_t alen,
	      const void *b, size_t blen, uint8_t out[ST_HASH_LEN]);
/* SHA-256(pfx || a || b): the RFC 6962 leaf (pfx 0) and node (pfx 1) form. */
int st_sha256_pfx(struct st_hasher *h, uint8_t pfx, const void *a,
		  size_t alen, const void *b, size_t blen,
		  uint8_t out[ST_HASH_LEN]);

/*
 * HMAC-SHA256 under one key, keyed once: a MAC copies the precomputed
 * states onto the stack, so it allocates nothing and a const key may be
 * used from several threads at once. Freeing wipes the states.
 */
struct st_hmac_key;
struct st_hmac_key *st_hmac_key_new(const void *key, size_t klen);
void st_hmac_key_free(struct st_hmac_key *h);
int st_hmac_key_mac(const struct st_hmac_key *h, const void *msg, size_t len,
		    uint8_t out[ST_HASH_LEN]);

/* Lower-case hex; out gets 2n chars plus NUL. */
void st_hex(const uint8_t *in, size_t n, char *out);
/* Exactly 2n lower-case hex chars -> n bytes; 0 or -1. */
int st_unhex(const char *in, size_t inlen, uint8_t *out, size_t n);

/* Standard base64 with padding, no newlines; out >= 4*ceil(n/3)+1. */
size_t st_b64(const uint8_t *in, size_t n, char *out);
/* Strict decode (canonical padding, no whitespace); bytes or -1. */
long st_unb64(const char *in, size_t inlen, uint8_t *out, size_t outcap);

#endif /* SEALTRACE_DIGEST_H */
