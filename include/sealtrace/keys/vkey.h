/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C2SP signed-note verifier keys: "<name>+<key id, 8 hex>+<base64(type ||
 * public key)>", the string standard note tooling (golang.org/x/mod/
 * sumdb/note, litetlog, sigsum) takes to identify a signer by name and
 * key id. Types: 0x01 Ed25519 note signatures (the log's checkpoints),
 * 0x04 Ed25519 cosignature/v1 (a witness, c2sp.org/tlog-cosignature).
 * key id = SHA-256(name || "\n" || type || public key)[0:4].
 */
#ifndef SEALTRACE_VKEY_H
#define SEALTRACE_VKEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define ST_VKEY_ED25519		0x01
#define ST_VKEY_COSIG_V1	0x04
#define ST_VKEY_NAME_MAX	256
#define ST_VKEY_MAX		(ST_VKEY_NAME_MAX + 64)

int st_note_key_id(const char *name, size_t namelen, uint8_t type,
		   EVP_PKEY *key, uint8_t id[4]);
/* The verifier key string of key under name (NUL-terminated). */
int st_vkey_format(const char *name, uint8_t type, EVP_PKEY *key, char *out,
		   size_t outlen);
/*
 * Parse a verifier key string (trailing newline allowed): its name, type
 * and an Ed25519 public key; the key id must be the one the name and key
 * give. 0, or -1 with err.
 */
int st_vkey_parse(const char *s, char *name, size_t namelen, uint8_t *type,
		  EVP_PKEY **key, char *err, size_t errlen);
/* A key name C2SP allows: non-empty, no '+', no whitespace. */
int st_vkey_name_ok(const char *name, size_t len);

/*
 * The key name a log signs its checkpoints under:
 * "sealtrace/<system_id>/<node_id>", ids reduced to [A-Za-z0-9._-]
 * (anything else becomes '_', an empty id is "_").
 */
int st_note_log_key_name(char *out, size_t outlen, const char *system_id,
			 const char *node_id);

/* DIR/signing.vkey: the verifier key string of DIR/signing.key's public
 * half under the log's key name, one line, 0644 (replaced by rename). */
#define ST_VKEY_FILE	"signing.vkey"
int st_vkey_write(const char *dir, const char *name, char *out, size_t outlen,
		  char *err, size_t errlen);
/* The key name in an existing DIR/signing.vkey (1 when there is none). */
int st_vkey_file_name(const char *dir, char *name, size_t namelen, char *err,
		      size_t errlen);

#endif /* SEALTRACE_VKEY_H */
