// SPDX-License-Identifier: Apache-2.0
/* Sealed segments: AES-256-GCM blocks, HKDF segment keys (seal.h). */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/base/file.h"
#include "sealtrace/log/seal.h"

#define HKDF_INFO	"sealtrace segment v1"
#define AAD_LEN		21
#define NONCE_LEN	12
#define FINAL_LEN	8
#define KEY_ID_OFF	9
#define SALT_OFF	41
#define RESERVED_OFF	73
/* a sealed block is at most this much gzip (store.h reads at most 64 MiB
 * of lines; gzip of incompressible data grows only slightly) */
#define PLAIN_MAX	((64u << 20) + (1u << 20))

static const struct st_datakeys *installed;
static struct st_datakeys *loaded;	/* what st_seal_load owns */

struct st_seal {
	uint64_t first_seq;
	uint8_t key[32];
	char key_id[ST_DATA_KEY_ID_MAX + 1];
	EVP_CIPHER_CTX *enc, *dec;
	uint8_t *buf;
	size_t cap;
	uint64_t next;		/* writing: next index to use */
	/* reading */
	bool any_index;		/* the first block after open/reset */
	uint64_t expect;	/* index of the next data block */
	uint64_t read_blocks;
	bool finalized;
};

void st_seal_install(const struct st_datakeys *dk)
{
	installed = dk;
}

int st_seal_load(const char *path, char *err, size_t errlen)
{
	struct st_datakeys *dk;

	if (st_datakeys_load(&dk, path, err, errlen))
		return -1;
	st_seal_unload();
	loaded = dk;
	installed = dk;
	return 0;
}

void st_seal_unload(void)
{
	if (installed == loaded)
		installed = NULL;
	st_datakeys_free(loaded);
	loaded = NULL;
}

const struct st_datakeys *st_seal_keys(void)
{
	return installed;
}

bool st_seal_is_sealed(const void *head, size_t len)
{
	return len >= ST_SEAL_MAGIC_LEN &&
	       !memcmp(head, ST_SEAL_MAGIC, ST_SEAL_MAGIC_LEN);
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int derive_key(struct st_seal *s, const uint8_t *data_key,
		      const uint8_t hdr[ST_SEAL_HDR_LEN])
{
	uint8_t info[sizeof(HKDF_INFO) - 1 + ST_SEAL_HDR_LEN];
	OSSL_PARAM p[6], *q = p;
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int ok;

	memcpy(info, HKDF_INFO, sizeof(HKDF_INFO) - 1);
	memcpy(info + sizeof(HKDF_INFO) - 1, hdr, ST_SEAL_HDR_LEN);
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!kdf)
		return -1;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!kctx)
		return -1;
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)data_key, ST_DATA_KEY_LEN);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						 (void *)(hdr + SALT_OFF), 32);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
						 sizeof(info));
	*q = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, s->key, sizeof(s->key), p) == 1;
	EVP_KDF_CTX_free(kctx);
	return ok ? 0 : -1;
}

static struct st_seal *seal_alloc(uint64_t first_seq)
{
	struct st_seal *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->first_seq = first_seq;
	s->any_index = true;
	return s;
}

void st_seal_free(struct st_seal *s)
{
	if (!s)
		return;
	EVP_CIPHER_CTX_free(s->enc);
	EVP_CIPHER_CTX_free(s->dec);
	if (s->buf)
		OPENSSL_clear_free(s->buf, s->cap);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
}

const char *st_seal_key_id(const struct st_seal *s)
{
	return s->key_id;
}

int st_seal_new(struct st_seal **out, uint64_t first_seq,
		uint8_t hdr[ST_SEAL_HDR_LEN], char *err, size_t errlen)
{
	const uint8_t *key;
	const char *id;
	struct st_seal *s;

	*out = NULL;
	if (!installed)
		return st_errf(err, errlen, "no data key installed");
	id = st_datakeys_current(installed, &key);
	memset(hdr, 0, ST_SEAL_HDR_LEN);
	memcpy(hdr, ST_SEAL_MAGIC, ST_SEAL_MAGIC_LEN);
	hdr[ST_SEAL_MAGIC_LEN] = (uint8_t)strlen(id);
	memcpy(hdr + KEY_ID_OFF, id, strlen(id));
	if (RAND_bytes(hdr + SALT_OFF, 32) != 1)
		return st_errf(err, errlen, "no randomness for a segment salt");
	s = seal_alloc(first_seq);
	if (!s)
		return st_errf(err, errlen, "out of memory");
	snprintf(s->key_id, sizeof(s->key_id), "%s", id);
	if (derive_key(s, key, hdr)) {
		st_seal_free(s);
		return st_errf(err, errlen, "HKDF-SHA256 failed");
	}
	*out = s;
	return 0;
}

int st_seal_open(struct st_seal **out, uint64_t first_seq, const void *hdr,
		 size_t len, const char *path, char *err, size_t errlen)
{
	const uint8_t *h = hdr, *key;
	struct st_seal *s;
	size_t idlen, i;

	*out = NULL;
	if (len < ST_SEAL_HDR_LEN || !st_seal_is_sealed(h, len))
		return st_errf(err, errlen, "%s: not a whole sealed segment header", path);
	idlen = h[ST_SEAL_MAGIC_LEN];
	for (i = RESERVED_OFF; i < ST_SEAL_HDR_LEN; i++)
		if (h[i])
			return st_errf(err, errlen, "%s: sealed segment header has reserved bytes set",
				       path);
	if (!idlen || idlen > ST_DATA_KEY_ID_MAX)
		return st_errf(err, errlen, "%s: sealed segment header: bad key id length %zu",
			       path, idlen);
	if (!installed)
		return st_errf(err, errlen, "%s is encrypted (AES-256-GCM, data key '%.*s'): "
			       "give the data key file (--data-key FILE)",
			       path, (int)idlen, (const char *)h + KEY_ID_OFF);
	key = st_datakeys_find(installed, (const char *)h + KEY_ID_OFF, idlen);
	if (!key)
		return st_errf(err, errlen, "%s is sealed under data key '%.*s', which %s does not hold",
			       path, (int)idlen, (const char *)h + KEY_ID_OFF,
			       st_datakeys_path(installed));
	s = seal_alloc(first_seq);
	if (!s)
		return st_errf(err, errlen, "%s: out of memory", path);
	memcpy(s->key_id, h + KEY_ID_OFF, idlen);
	if (derive_key(s, key, h)) {
		st_seal_free(s);
		return st_errf(err, errlen, "%s: HKDF-SHA256 failed", path);
	}
	*out = s;
	return 0;
}

static int grow(struct st_seal *s, size_t need)
{
	uint8_t *b;

	if (need <= s->cap)
		return 0;
	b = OPENSSL_zalloc(need);
	if (!b)
		return -1;
	if (s->buf)
		OPENSSL_clear_free(s->buf, s->cap);
	s->buf = b;
	s->cap = need;
	return 0;
}

static void nonce_aad(const struct st_seal *s, uint64_t index, uint8_t flags,
		      uint32_t len, uint8_t nonce[NONCE_LEN], uint8_t aad[AAD_LEN])
{
	put_be(nonce, s->first_seq & 0xffffffffu, 4);
	put_be(nonce + 4, index, 7);
	nonce[11] = flags;
	put_be(aad, s->first_seq, 8);
	put_be(aad + 8, index, 8);
	aad[16] = flags;
	put_be(aad + 17, len, 4);
}

static int cipher_ctx(struct st_seal *s, bool enc)
{
	EVP_CIPHER_CTX **c = enc ? &s->enc : &s->dec;

	if (*c)
		return 0;
	*c = EVP_CIPHER_CTX_new();
	if (!*c)
		return -1;
	/* the key once; each block sets its own nonce */
	return EVP_CipherInit_ex(*c, EVP_aes_256_gcm(), NULL, s->key, NULL,
				 enc ? 1 : 0) == 1 ? 0 : -1;
}

/* One block at s->buf: header, ciphertext, tag. */
static int seal_one(struct st_seal *s, uint64_t index, uint8_t flags,
		    const void *in, size_t len, const uint8_t **out,
		    size_t *outlen)
{
	uint8_t nonce[NONCE_LEN], aad[AAD_LEN], *p;
	int n = 0, m = 0;

	if (len > PLAIN_MAX || index >= (1ull << 56) || cipher_ctx(s, true) ||
	    grow(s, ST_SEAL_BLOCK_HDR + len + ST_SEAL_TAG_LEN))
		return -1;
	nonce_aad(s, index, flags, (uint32_t)len, nonce, aad);
	p = s->buf;
	put_be(p, len, 4);
	put_be(p + 4, index, 8);
	p[12] = flags;
	p += ST_SEAL_BLOCK_HDR;
	if (EVP_EncryptInit_ex(s->enc, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(s->enc, NULL, &n, aad, AAD_LEN) != 1 ||
	    EVP_EncryptUpdate(s->enc, p, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(s->enc, p + n, &m) != 1 ||
	    (size_t)(n + m) != len ||
	    EVP_CIPHER_CTX_ctrl(s->enc, EVP_CTRL_GCM_GET_TAG, ST_SEAL_TAG_LEN,
				p + len) != 1)
		return -1;
	*out = s->buf;
	*outlen = ST_SEAL_BLOCK_HDR + len + ST_SEAL_TAG_LEN;
	return 0;
}

int st_seal_block(struct st_seal *s, const void *gz, size_t len,
		  const uint8_t **out, size_t *outlen)
{
	/* the index is used up whether or not the write succeeds */
	return seal_one(s, s->next++, 0, gz, len, out, outlen);
}

int st_seal_final(struct st_seal *s, uint64_t data_blocks,
		  const uint8_t **out, size_t *outlen)
{
	uint8_t count[FINAL_LEN];

	put_be(count, data_blocks, FINAL_LEN);
	return seal_one(s, s->next++, ST_SEAL_FINAL, count, sizeof(count), out,
			outlen);
}

void st_seal_set_next(struct st_seal *s, uint64_t index)
{
	s->next = index;
}

void st_seal_reset(struct st_seal *s)
{
	s->any_index = true;
	s->finalized = false;
}

uint64_t st_seal_blocks_read(const struct st_seal *s)
{
	return s->read_blocks;
}

bool st_seal_finalized(const struct st_seal *s)
{
	return s->finalized;
}

/* Decrypt and authenticate; the plaintext is in s->buf only on success. */
static int open_one(struct st_seal *s, const uint8_t *blk, uint64_t index,
		    uint8_t flags, size_t len)
{
	uint8_t nonce[NONCE_LEN], aad[AAD_LEN];
	int n = 0, m = 0;

	if (cipher_ctx(s, false) || grow(s, len + 1))
		return ST_SEAL_ERROR;
	nonce_aad(s, index, flags, (uint32_t)len, nonce, aad);
	if (EVP_DecryptInit_ex(s->dec, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_GCM_SET_TAG, ST_SEAL_TAG_LEN,
				(void *)(blk + ST_SEAL_BLOCK_HDR + len)) != 1 ||
	    EVP_DecryptUpdate(s->dec, NULL, &n, aad, AAD_LEN) != 1 ||
	    EVP_DecryptUpdate(s->dec, s->buf, &n, blk + ST_SEAL_BLOCK_HDR,
			      (int)len) != 1)
		return ST_SEAL_ERROR;
	if (EVP_DecryptFinal_ex(s->dec, s->buf + n, &m) != 1) {
		/* never hand out what was decrypted before the tag failed */
		OPENSSL_cleanse(s->buf, len);
		return ST_SEAL_CORRUPT;
	}
	return ST_SEAL_OK;
}

static int check_index(struct st_seal *s, uint64_t index, uint8_t flags,
		       char *err, size_t errlen)
{
	if (s->any_index) {
		/* a read that starts mid-segment: the index says where (a
		 * final block's count, checked by read_final, says the rest) */
		s->expect = index;
		s->read_blocks = index;
		s->any_index = false;
		if (flags & ST_SEAL_FINAL)
			return 0;
	}
	if (!(flags & ST_SEAL_FINAL) && index != s->expect)
		return st_errf(err, errlen, "sealed block has index %llu where %llu belongs "
			       "(blocks swapped, dropped or copied in)",
			       (unsigned long long)index, (unsigned long long)s->expect);
	if ((flags & ST_SEAL_FINAL) && index != s->expect && index != s->expect + 1)
		return st_errf(err, errlen, "final block has index %llu after %llu data blocks "
			       "(blocks dropped?)", (unsigned long long)index,
			       (unsigned long long)s->expect);
	return 0;
}

static int read_final(struct st_seal *s, uint64_t index, bool first, size_t len,
		      size_t used, size_t avail, char *err, size_t errlen)
{
	uint64_t count = len == FINAL_LEN ? get_be(s->buf, FINAL_LEN) : UINT64_MAX;

	/* first block read after a seek: its index is count or count + 1 */
	if (first && len == FINAL_LEN && (count == index || count + 1 == index))
		s->expect = s->read_blocks = count;
	if (len != FINAL_LEN || count != s->expect)
		return st_errf(err, errlen, "final block counts %llu data blocks, the segment has %llu "
			       "(blocks dropped?)",
			       (unsigned long long)(len == FINAL_LEN ? get_be(s->buf, FINAL_LEN) : 0),
			       (unsigned long long)s->expect), ST_SEAL_CORRUPT;
	if (used != avail)
		return st_errf(err, errlen, "%zu bytes follow the final block", avail - used),
		       ST_SEAL_CORRUPT;
	s->finalized = true;
	return ST_SEAL_END;
}

int st_seal_read(struct st_seal *s, const uint8_t *data, size_t avail,
		 const uint8_t **plain, size_t *plain_len, size_t *used,
		 char *err, size_t errlen)
{
	bool first = s->any_index;
	uint64_t len, index;
	uint8_t flags;
	int rc;

	*used = 0;
	if (avail < ST_SEAL_BLOCK_HDR)
		return st_errf(err, errlen, "%zu bytes are not a whole sealed block header",
			       avail), ST_SEAL_TORN;
	len = get_be(data, 4);
	index = get_be(data + 4, 8);
	flags = data[12];
	if (len > PLAIN_MAX || (flags & ~ST_SEAL_FINAL))
		return st_errf(err, errlen, "not a sealed block header (length %llu, flags 0x%02x)",
			       (unsigned long long)len, flags), ST_SEAL_CORRUPT;
	if (avail < ST_SEAL_BLOCK_HDR + len + ST_SEAL_TAG_LEN)
		return st_errf(err, errlen, "%zu bytes are not a whole sealed block of %llu",
			       avail, (unsigned long long)len), ST_SEAL_TORN;
	if (check_index(s, index, flags, err, errlen))
		return ST_SEAL_CORRUPT;
	rc = open_one(s, data, index, flags, (size_t)len);
	if (rc == ST_SEAL_CORRUPT)
		return st_errf(err, errlen, "sealed block %llu fails its AES-GCM tag "
			       "(altered, moved, or another key)",
			       (unsigned long long)index), rc;
	if (rc)
		return st_errf(err, errlen, "OpenSSL AES-256-GCM failed"), rc;
	*used = ST_SEAL_BLOCK_HDR + (size_t)len + ST_SEAL_TAG_LEN;
	if (flags & ST_SEAL_FINAL)
		return read_final(s, index, first, (size_t)len, *used, avail, err, errlen);
	s->expect++;
	s->read_blocks++;
	*plain = s->buf;
	*plain_len = (size_t)len;
	return ST_SEAL_OK;
}

int st_seal_nonces(const uint8_t *file, size_t size, uint64_t first_seq,
		   void (*fn)(void *ctx, const uint8_t nonce[12]), void *ctx)
{
	struct st_seal s = { .first_seq = first_seq };
	uint8_t nonce[NONCE_LEN], aad[AAD_LEN];
	size_t pos = ST_SEAL_HDR_LEN;
	uint64_t len;

	if (size < ST_SEAL_HDR_LEN || !st_seal_is_sealed(file, size))
		return -1;
	while (pos < size) {
		if (size - pos < ST_SEAL_BLOCK_HDR)
			return 1;
		len = get_be(file + pos, 4);
		if (len > PLAIN_MAX || size - pos < ST_SEAL_BLOCK_HDR + len + ST_SEAL_TAG_LEN)
			return 1;
		nonce_aad(&s, get_be(file + pos + 4, 8), file[pos + 12],
			  (uint32_t)len, nonce, aad);
		fn(ctx, nonce);
		pos += ST_SEAL_BLOCK_HDR + len + ST_SEAL_TAG_LEN;
	}
	return 0;
}

/* 1 when path is sealed under a key not installed (err says which). */
int st_seal_check_file(const char *path, char *err, size_t errlen)
{
	uint8_t hdr[ST_SEAL_HDR_LEN];
	ssize_t n;
	/* non-blocking open: a FIFO named like a segment is refused, not waited on */
	int fd = st_open_regular(path, err, errlen);

	if (fd < 0)
		return -1;
	n = read(fd, hdr, sizeof(hdr));
	close(fd);
	if (n < (ssize_t)sizeof(hdr) || !st_seal_is_sealed(hdr, (size_t)n) ||
	    !hdr[ST_SEAL_MAGIC_LEN] || hdr[ST_SEAL_MAGIC_LEN] > ST_DATA_KEY_ID_MAX)
		return 0;	/* not sealed, or the reader names the damage */
	if (!installed) {
		st_errf(err, errlen, "%s is encrypted (AES-256-GCM, data key '%.*s'): "
			"reading it needs the data key file (--data-key FILE or %s=FILE)",
			path, hdr[ST_SEAL_MAGIC_LEN], (const char *)hdr + KEY_ID_OFF,
			ST_SEAL_KEY_ENV);
		return 1;
	}
	if (!st_datakeys_find(installed, (const char *)hdr + KEY_ID_OFF,
			      hdr[ST_SEAL_MAGIC_LEN])) {
		st_errf(err, errlen, "%s is sealed under data key '%.*s', which %s does not hold",
			path, hdr[ST_SEAL_MAGIC_LEN], (const char *)hdr + KEY_ID_OFF,
			st_datakeys_path(installed));
		return 1;
	}
	return 0;
}
