/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key files in a keys directory (sealtrace keygen):
 *   hmac.key     HMAC key ring, "<key_id> <64 hex>" lines, mode 0600
 *   signing.key  Ed25519 private key, PEM PKCS#8, mode 0600
 *   signing.pub  Ed25519 public key, PEM SubjectPublicKeyInfo, mode 0644
 *   retired/signing-<YYYYMMDDTHHMMSSZ>.pub
 *                public keys of signing keys retired by
 *                st_keys_rotate_signing, mode 0644; their private keys are
 *                overwritten and deleted (nothing may sign with them again)
 * Keys come from the OS CSPRNG (OpenSSL's DRBG seeded by getrandom).
 */
#ifndef SEALTRACE_KEYS_H
#define SEALTRACE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

/* Create all three; refuses (touching nothing) when any already exists. */
int st_keys_generate(const char *dir, char *err, size_t errlen);
/* Append a new current HMAC key to hmac.key; its id goes to new_id. */
int st_keys_rotate_hmac(const char *dir, char *new_id, size_t idlen,
			char *err, size_t errlen);

/* One new "<YYYYMMDD>-<8 hex> <64 hex>\n" key line from the CSPRNG (the
 * format of hmac.key and of the data key file, datakey.h). */
int st_keys_new_line(char *line, size_t linelen, char *id, size_t idlen);

#define ST_KEYS_RETIRED_DIR	"retired"
/* "sha256:" and 64 hex: SHA-256 of the 32 raw Ed25519 public key bytes */
#define ST_PUBKEY_HASH_LEN	(7 + 64)

/*
 * Retire the current signing pair and make a new one: the public half of
 * signing.key goes to retired/signing-<UTC time>.pub (0644), a new pair
 * replaces signing.key and signing.pub (each by rename), and the old
 * private key is overwritten in place before its last link goes. Refuses
 * (touching nothing) without a current signing.key, or when signing.pub
 * is not its public half. The retired file's path goes to retired.
 */
int st_keys_rotate_signing(const char *dir, char *retired, size_t retiredlen,
			   char *err, size_t errlen);

/* <keys_dir>/signing.key; must be Ed25519. */
int st_signing_key_load(const char *keys_dir, EVP_PKEY **out, char *err,
			size_t errlen);
/* A PEM public key file; must be Ed25519. */
int st_pubkey_load(const char *path, EVP_PKEY **out, char *err,
		   size_t errlen);
/* The 32 raw bytes of an Ed25519 key's public half. */
int st_pubkey_raw(EVP_PKEY *key, uint8_t out[32]);
/* "sha256:<hex>" of the raw public key: names a key across nodes (the
 * signed note's key id also hashes the node's key name). */
int st_pubkey_hash(EVP_PKEY *key, char out[ST_PUBKEY_HASH_LEN + 1]);

/*
 * The public keys checkpoints may be signed by. Owns its keys; a key
 * already in the set (same raw public key) is not added twice.
 */
struct st_keyset {
	EVP_PKEY **key;
	char **name;			/* where it came from, for messages */
	char **note_name;		/* signed-note key name (from a verifier
					 * key string), NULL for a PEM key */
	size_t n;
};

/* Add key (taken over, freed on failure too) under name: 0 added, 1 it
 * was already there, -1 error. */
int st_keyset_add(struct st_keyset *ks, EVP_PKEY *key, const char *name,
		  char *err, size_t errlen);
/* The same, with the signed-note key name a verifier key string gave. */
int st_keyset_add_named(struct st_keyset *ks, EVP_PKEY *key, const char *name,
			const char *note_name, char *err, size_t errlen);
/*
 * Add the Ed25519 public key in a PEM file, or in a file holding a C2SP
 * verifier key string (vkey.h; signing.vkey), or given as that string
 * itself when no file of that name exists.
 */
int st_keyset_add_file(struct st_keyset *ks, const char *path, char *err,
		       size_t errlen);
/*
 * Add every *.pub in dir, in name order; *found counts the files read.
 * A missing dir adds nothing when missing_ok, else it is an error.
 */
int st_keyset_add_dir(struct st_keyset *ks, const char *dir, bool missing_ok,
		      size_t *found, char *err, size_t errlen);
/*
 * A keys directory as an auditor holds it: every *.pub in dir and in
 * dir/retired. Finding no key at all is an error.
 */
int st_keyset_add_keys_dir(struct st_keyset *ks, const char *dir, char *err,
			   size_t errlen);
void st_keyset_free(struct st_keyset *ks);

/*
 * Signing epochs (forward security, log.h): every epoch the log makes a
 * new signing key, announces it in a key_epoch record signed by the
 * current one, then erases the current private key. Files in keys_dir:
 *   signing.key.next   the announced key until it is installed (0600)
 *   signing.epoch      "epoch N started_ns T key sha256:HEX": the epoch
 *   retired/signing-epoch-<N>.pub   epoch N's public key (0644)
 */
struct st_epoch_state {
	uint64_t epoch;		/* 1 for the key keygen made */
	uint64_t started_ns;	/* 0: unknown (no signing.epoch yet) */
	char key_hash[ST_PUBKEY_HASH_LEN + 1];	/* the epoch's key: a file
						 * naming another key is
						 * one epoch behind */
};

/* 0 read, 1 no signing.epoch (epoch 1, started 0), -1 error. */
int st_epoch_read(const char *dir, struct st_epoch_state *out, char *err,
		  size_t errlen);
int st_epoch_write(const char *dir, const struct st_epoch_state *s, char *err,
		   size_t errlen);
/* A new Ed25519 key, written to signing.key.next (0600, fsync'd). */
int st_epoch_prepare(const char *dir, EVP_PKEY **next, char *err, size_t errlen);
/* signing.key.next left by an interrupted change: 1 loaded, 0 none. */
int st_epoch_pending(const char *dir, EVP_PKEY **next, char *err, size_t errlen);
/* Overwrite and unlink signing.key.next (never announced). */
int st_epoch_discard(const char *dir, char *err, size_t errlen);
/*
 * Install next: cur's public half to retired/signing-epoch-<old>.pub,
 * signing.key.next renamed over signing.key and the old key's bytes
 * zeroed (fdatasync) through a descriptor held across the rename,
 * signing.pub replaced, signing.epoch = old + 1 from now_ns.
 */
int st_epoch_commit(const char *dir, EVP_PKEY *cur, EVP_PKEY *next,
		    uint64_t old_epoch, uint64_t now_ns, char *err, size_t errlen);
/*
 * What a key_epoch record's signature covers (docs/schema.md):
 *   "sealtrace key_epoch v1\n<key name>\n<new epoch>\n<system seq>\n
 *    <preceding_event_hash>\n<hex of the new raw public key>\n"
 * Its length, or -1 when out is too small.
 */
int st_epoch_message(char *out, size_t outlen, const char *key_name,
		     uint64_t epoch, uint64_t seq, const char *prev_hex,
		     const uint8_t pub[32]);
int st_ed25519_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[64]);
/* 0 valid, -1 not */
int st_ed25519_verify(EVP_PKEY *key, const void *msg, size_t len,
		      const uint8_t sig[64]);

#endif /* SEALTRACE_KEYS_H */
