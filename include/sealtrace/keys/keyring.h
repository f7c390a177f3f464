/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pseudonymisation: captured bytes become a keyed reference
 *   hmac-sha256:<key_id>:<64 hex>
 * and the bytes themselves go nowhere. A keyed MAC and not a plain hash:
 * low-entropy inputs (names, e-mail addresses) would otherwise be found
 * again by hashing a dictionary.
 *
 * The key ring is <keys_dir>/hmac.key, one key a line:
 *   <key_id> <64 hex digits>
 * key_id is [A-Za-z0-9_.-]{1,32}. The LAST line is the current key; the
 * older ones stay for looking old references up after a rotation.
 */
#ifndef SEALTRACE_KEYRING_H
#define SEALTRACE_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#define ST_HMAC_KEY_LEN		32
#define ST_KEY_ID_MAX		32
/* "hmac-sha256:" + id + ":" + 64 hex + NUL */
#define ST_PSEUDO_REF_MAX	(12 + ST_KEY_ID_MAX + 1 + 64 + 1)

struct st_keyring;

int st_keyring_load(struct st_keyring **out, const char *keys_dir,
		    char *err, size_t errlen);
int st_keyring_load_file(struct st_keyring **out, const char *path,
			 char *err, size_t errlen);
/* Wipes the key material. */
void st_keyring_free(struct st_keyring *kr);
const char *st_keyring_current(const struct st_keyring *kr);
size_t st_keyring_count(const struct st_keyring *kr);
/* Id of key i, oldest first (i < count; the last is the current key). */
const char *st_keyring_id(const struct st_keyring *kr, size_t i);

/* Reference of bytes[0..len) under the current key. 0, or -1 (outlen too
 * small or OpenSSL failure). Safe to call from several threads. */
int st_pseudo_ref(const struct st_keyring *kr, const void *bytes, size_t len,
		  char *out, size_t outlen);
/* Same under a named (possibly retired) key; -1 if unknown. */
int st_pseudo_ref_with(const struct st_keyring *kr, const char *key_id,
		       const void *bytes, size_t len, char *out, size_t outlen);

/* Plain HMAC-SHA256 with any key length (RFC 4231 vectors test this). */
int st_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		   uint8_t out[32]);

/* True for [A-Za-z0-9_.-]{1,ST_KEY_ID_MAX}. */
int st_key_id_valid(const char *id, size_t len);

#endif /* SEALTRACE_KEYRING_H */
