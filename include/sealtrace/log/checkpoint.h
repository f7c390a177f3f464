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
/* A note with its signature and a few dozen cosignatures (C2SP sets no
 * limit; litetlog and sumdb readers accept notes of some KiB). */
#define ST_NOTE_MAX	16384

struct st_ckpt {
	char origin[ST_ORIGIN_MAX];
	uint64_t size;
	uint8_t root[ST_HASH_LEN];
	unsigned cosigs;	/* cosignature/v1 lines seen (parse only) */
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

/*
 * The same, identifying each key by (name, key id) as C2SP does: names[i]
 * is the key name of keys[i] (from a verifier key string), or NULL for
 * the name the note's origin implies ("sealtrace/<system>/<node>"). A
 * signature line under any other name is another signer's and is
 * skipped, as are lines of algorithms not checked here (ECDSA, ML-DSA)
 * and cosignatures (counted in out->cosigs); a line that is not a
 * signature line at all makes the note malformed.
 */
int st_ckpt_parse_named(const char *note, size_t len, EVP_PKEY *const *keys,
			const char *const *names, size_t nkeys,
			struct st_ckpt *out, size_t *signer, char *err,
			size_t errlen);

/*
 * c2sp.org/tlog-cosignature cosignature/v1 (Ed25519): sign "cosignature/
 * v1\ntime <ts>\n" + the note's text, append "— <name> base64(key id ||
 * ts (8 bytes, big-endian) || signature)\n" to line.
 */
int st_cosig_sign(const char *note, size_t len, const char *name,
		  EVP_PKEY *key, uint64_t ts, struct st_buf *line, char *err,
		  size_t errlen);
/*
 * Find and check the cosignature of (name, key) in a note: 0 with *ts,
 * 1 when there is none (err says so), -1 when it does not verify or the
 * note is malformed.
 */
int st_cosig_find(const char *note, size_t len, const char *name,
		  EVP_PKEY *key, uint64_t *ts, char *err, size_t errlen);

/* Read a note file (at most ST_NOTE_MAX bytes) into out (NUL-terminated). */
int st_ckpt_read_file(const char *path, char *out, size_t outlen,
		      size_t *len, char *err, size_t errlen);

#endif /* SEALTRACE_CHECKPOINT_H */
