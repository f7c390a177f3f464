/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealed segments: every gzip block of a segment encrypted with
 * AES-256-GCM, in the manner of C2SP chunked encryption (age's STREAM).
 *
 *   segment = header || block 0 || block 1 || ... || final block
 *   header  = "sealtrc" 0x01 | key id length (1) | key id, zero-padded
 *             (32) | salt (32, random per segment file) | 7 zero bytes
 *   block   = plain length L (4, big-endian) | block index (8, BE) |
 *             flags (1; 0x01 final) | ciphertext (L) | GCM tag (16)
 *
 * segment key = HKDF-SHA256(data key, salt, "sealtrace segment v1" ||
 *               the 80 header bytes): a fresh key for every segment file,
 *               so a file that is re-created under the same name (a
 *               first block that never completed) never reuses a nonce.
 * nonce (12)  = low 32 bits of the segment's first seq (BE) || block
 *               index (56 bits, BE) || flags: derived from where the
 *               block is, never random, never read from a state file.
 * AAD (21)    = first seq (8) || block index (8) || flags (1) || L (4):
 *               a block renamed into another segment, moved to another
 *               place, or cut shorter fails its tag.
 * Data blocks carry indexes 0, 1, 2 ... in file order. The final block
 * (flag 0x01) holds the number of data blocks as 8 bytes BE; its index is
 * that number, or one more when a write of that index failed or was torn
 * (the index is then skipped, never reused). A segment without a final
 * block was cut short, or is the one an agent is appending to right now.
 * Every tag (all 16 bytes) is checked before a block's plaintext is used.
 *
 * The keys are process-wide (st_seal_install): the store seals the
 * segments it creates under the current data key, and opens sealed
 * segments with whichever key their header names.
 */
#ifndef SEALTRACE_SEAL_H
#define SEALTRACE_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/keys/datakey.h"

#define ST_SEAL_MAGIC		"sealtrc\x01"
#define ST_SEAL_MAGIC_LEN	8
#define ST_SEAL_HDR_LEN		80
#define ST_SEAL_BLOCK_HDR	13
#define ST_SEAL_TAG_LEN		16
#define ST_SEAL_FINAL		0x01

/* Use dk (not owned; NULL: seal nothing, open nothing sealed). */
void st_seal_install(const struct st_datakeys *dk);
const struct st_datakeys *st_seal_keys(void);
/* Load a data key file and install it (owned here until st_seal_unload). */
int st_seal_load(const char *path, char *err, size_t errlen);
void st_seal_unload(void);
/* The environment variable the CLI verbs read a data key file name from. */
#define ST_SEAL_KEY_ENV		"SEALTRACE_DATA_KEY"
/* Does a file starting with these bytes hold sealed blocks? */
bool st_seal_is_sealed(const void *head, size_t len);

struct st_seal;

/* A new segment sealed under the current key; hdr is what to write first. */
int st_seal_new(struct st_seal **out, uint64_t first_seq,
		uint8_t hdr[ST_SEAL_HDR_LEN], char *err, size_t errlen);
/*
 * An existing segment (to read, or to finish after a crash): the key its
 * header names. Fails clearly when no data key is installed or the
 * header names a key the installed file does not hold.
 */
int st_seal_open(struct st_seal **out, uint64_t first_seq, const void *hdr,
		 size_t len, const char *path, char *err, size_t errlen);
void st_seal_free(struct st_seal *s);
const char *st_seal_key_id(const struct st_seal *s);

/*
 * ---- writing. Each call uses up the next index, also when the caller's
 * write then fails: an index is never sealed twice. *out points into s,
 * valid until the next call.
 */
int st_seal_block(struct st_seal *s, const void *gz, size_t len,
		  const uint8_t **out, size_t *outlen);
/* The final block after data_blocks data blocks. */
int st_seal_final(struct st_seal *s, uint64_t data_blocks,
		  const uint8_t **out, size_t *outlen);
/* Set the next index (recovery: blocks read, +1 when a tail was torn). */
void st_seal_set_next(struct st_seal *s, uint64_t index);

/* ---- reading */
enum st_seal_rc {
	ST_SEAL_OK = 0,		/* a data block: *plain, *plain_len */
	ST_SEAL_END,		/* the final block, at the end of the file */
	ST_SEAL_TORN,		/* the file ends inside a block */
	ST_SEAL_CORRUPT,	/* bad tag, index, length, marker ... */
	ST_SEAL_ERROR = -1,	/* memory, OpenSSL */
};

/*
 * Open the block at data[0..avail) (avail: bytes to the end of the
 * file). *used = its length in the file. Data blocks must come in index
 * order from the first one read (after st_seal_reset, any index may come
 * first: a read that starts in the middle).
 */
int st_seal_read(struct st_seal *s, const uint8_t *data, size_t avail,
		 const uint8_t **plain, size_t *plain_len, size_t *used,
		 char *err, size_t errlen);
void st_seal_reset(struct st_seal *s);
/* Data blocks read, and whether the final block was. */
uint64_t st_seal_blocks_read(const struct st_seal *s);
bool st_seal_finalized(const struct st_seal *s);

/*
 * Can the segment at path be opened with the installed keys? 0 yes (or
 * not sealed, or too damaged to tell: the reader names that), 1 no: err
 * names the file and the key id it needs; -1 runtime error.
 */
int st_seal_check_file(const char *path, char *err, size_t errlen);

/*
 * The nonce of every block of a segment file, in file order, to check
 * that none repeats (tests). fn gets each 12-byte nonce; 0 ok, 1 the
 * file is not whole, -1 error.
 */
int st_seal_nonces(const uint8_t *file, size_t size, uint64_t first_seq,
		   void (*fn)(void *ctx, const uint8_t nonce[12]), void *ctx);

#endif /* SEALTRACE_SEAL_H */
