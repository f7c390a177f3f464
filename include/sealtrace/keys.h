/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key files in a keys directory (sealtrace keygen):
 *   hmac.key     HMAC key ring, "<key_id> <64 hex>" lines, mode 0600
 *   signing.key  Ed25519 private key, PEM PKCS#8, mode 0600
 *   signing.pub  Ed25519 public key, PEM SubjectPublicKeyInfo, mode 0644
 * Keys come from the OS CSPRNG (OpenSSL's DRBG seeded by getrandom).
 */
#ifndef SEALTRACE_KEYS_H
#define SEALTRACE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

/* Create all three; refuses (touching nothing) when any already exists. */
int st_keys_generate(const char *dir, char *err, size_t errlen);
/* Append a new current HMAC key to hmac.key; its id goes to new_id. */
int st_keys_rotate_hmac(const char *dir, char *new_id, size_t idlen,
			char *err, size_t errlen);

/* <keys_dir>/signing.key; must be Ed25519. */
int st_signing_key_load(const char *keys_dir, EVP_PKEY **out, char *err,
			size_t errlen);
/* A PEM public key file; must be Ed25519. */
int st_pubkey_load(const char *path, EVP_PKEY **out, char *err,
		   size_t errlen);
/* The 32 raw bytes of an Ed25519 key's public half. */
int st_pubkey_raw(EVP_PKEY *key, uint8_t out[32]);

#endif /* SEALTRACE_KEYS_H */
