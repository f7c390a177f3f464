/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checkpoints: signed tree heads in the C2SP tlog-checkpoint format, a
 * signed note (c2sp.org/signed-note) with an Ed25519 signature:
 *
 *   sealtrace/<system_id>/<node_id>/<stream>\n      origin
 *   <tree size, decimal>\n
 *   <base64 RFC 6962 root hash>\n
 *   \n
 *   — <key name> <base64(key id[4] || Ed25519 signature[64])>\n
 *
 * The signed message is the text up to and including the newline before
 * the blank line. key name = "sealtrace/<system_id>/<node_id>",
 * key id = SHA-256(key name || 0x0A || 0x01 || raw public key)[0:4].
 * ids are reduced to [A-Za-z0-9._-] (anything else becomes '_').
 */
#ifndef SEALTRACE_CHECKPOINT_H
#define SEALTRACE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "sealtrace/base/digest.h"
#include "sealtrace/base/json.h"
#include "sealtrace/log/record.h"

#define ST_ORIGIN_MAX	256
#define ST_NOTE_MAX	2048

struct st_ckpt {
	char origin[ST_ORIGIN_MAX];
	uint64_t size;
	uint8_t root[ST_HASH_LEN];
};

int st_ckpt_origin(char *out, size_t outlen, const char *system_id,
		   const char *node_id, enum st_stream stream);
int st_ckpt_key_name(char *out, size_t outlen, const char *system_id,
		     const char *node_id);
/* The stream an origin names (its last '/' component), or -1. */
int st_ckpt_stream(const struct st_ckpt *c);

/* Append the signed note to out. */
int st_ckpt_sign(const struct st_ckpt *c, const char *key_name, EVP_PKEY *key,
		 struct st_buf *out, char *err, size_t errlen);
/*
 * Parse a note. With pub, also require a signature line whose key id
 * matches pub under its name and whose Ed25519 signature verifies; other
 * signature lines are ignored (notes may be cosigned).
 */
int st_ckpt_parse(const char *note, size_t len, EVP_PKEY *pub,
		  struct st_ckpt *out, char *err, size_t errlen);
/*
 * The same with any of nkeys keys (a signing key and those it replaced):
 * some signature line must verify under one of them; its index goes to
 * *signer (may be NULL). nkeys 0 checks the format only.
 */
int st_ckpt_parse_any(const char *note, size_t len, EVP_PKEY *const *keys,
		      size_t nkeys, struct st_ckpt *out, size_t *signer,
		      char *err, size_t errlen);

/* Read a note file (at most ST_NOTE_MAX bytes) into out (NUL-terminated). */
int st_ckpt_read_file(const char *path, char *out, size_t outlen,
		      size_t *len, char *err, size_t errlen);

#endif /* SEALTRACE_CHECKPOINT_H */
