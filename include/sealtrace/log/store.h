/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Store: one directory per stream, <state_dir>/<stream>/, holding
 * segments named by the seq of their first record, zero-padded so that
 * `ls` sorts them: 00000000000000120000.seg.
 *
 * A segment is a sequence of blocks; a block is one gzip member (RFC 1952)
 * of whole '\n'-terminated lines, so `zcat` reads a segment. Segments are
 * only ever appended to (O_APPEND) and fsync'd by the caller's policy.
 * A segment is closed (fsync'd) when it reaches max_records, max_bytes
 * (compressed) or max_seconds; the next block opens a new one.
 *
 * Recovery (at start): in the newest segment, everything after the last
 * whole block is a torn tail; its bytes are copied to
 * <segment>.torn-<ns> before the segment is cut back, so nothing is lost
 * silently (the caller then writes a `recovery` record).
 *
 * Sealed segments (seal.h): when a data key is installed
 * (st_seal_install), every segment the store creates is sealed under the
 * current key: a header, AES-256-GCM blocks, and a final block when the
 * segment is closed. Recovery gives a sealed newest segment that an agent
 * left open its final block (after cutting a torn tail).
 */
#ifndef SEALTRACE_STORE_H
#define SEALTRACE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/json.h"

#define ST_SEG_NAME_LEN		24	/* 20 digits + ".seg" */
/*
 * Level 1: on the inference node CPU counts more than disk. Measured on
 * 256 KiB blocks of 64 B-input records (BENCHMARKS.md): libdeflate level 1
 * is ~1.5x faster than zlib level 1 and 12 % smaller; levels 2-6 save
 * another 5-9 % of disk for 1.3-1.9x the CPU.
 */
#define ST_STORE_LEVEL		1
#define ST_BLOCK_MAX_PLAIN	(64u << 20)	/* refuse bigger blocks when reading */

/* "00000000000000000042.seg" */
void st_seg_name(uint64_t first_seq, char out[ST_SEG_NAME_LEN + 1]);

/* ---- writing --------------------------------------------------------- */

struct st_store_opts {
	uint64_t max_records;	/* 0: no limit */
	uint64_t max_bytes;	/* compressed bytes; 0: no limit */
	uint64_t max_seconds;	/* 0: no limit */
	/* DEFLATE level (libdeflate, 1..12); 0 picks ST_STORE_LEVEL */
	int level;
};

struct st_store;

/* Open (creating) the stream directory for appending. */
int st_store_open(struct st_store **out, const char *dir,
		  const struct st_store_opts *o, char *err, size_t errlen);
/*
 * Compress data[0..len) (nrec whole lines, the first with seq first_seq)
 * into one gzip member and append it, creating <first_seq>.seg when no
 * segment is open. No fsync. On a failed write the segment is cut back to
 * where it ended, so a later retry leaves no garbage between blocks.
 */
int st_store_append(struct st_store *s, const void *data, size_t len,
		    uint64_t first_seq, uint64_t nrec, uint64_t now_ns,
		    char *err, size_t errlen);
/* fsync the open segment if anything was written since the last sync. */
int st_store_sync(struct st_store *s, char *err, size_t errlen);
/* How many more records the open (or next) segment takes. */
uint64_t st_store_room(const struct st_store *s);
/* Close the open segment once it is max_seconds old. */
int st_store_tick(struct st_store *s, uint64_t now_ns, char *err, size_t errlen);
/*
 * Where the last block appended went: its segment, its first byte and the
 * byte after it. 0, or -1 when nothing was appended since open.
 */
int st_store_last_block(const struct st_store *s, char name[ST_SEG_NAME_LEN + 1],
			uint64_t *offset, uint64_t *end);
/* Compressed bytes appended since open (for metrics). */
uint64_t st_store_bytes(const struct st_store *s);
/* fsync, close, free; NULL is fine. */
int st_store_close(struct st_store *s, char *err, size_t errlen);

/* ---- reading --------------------------------------------------------- */

struct st_seg_list {
	uint64_t *first;	/* sorted first seqs */
	size_t n;
};

/* Segments in dir (a missing dir is an empty list); other files ignored. */
int st_seg_list(const char *dir, struct st_seg_list *out, char *err,
		size_t errlen);
void st_seg_list_free(struct st_seg_list *l);

enum st_block_rc {
	ST_BLOCK_OK = 0,	/* out holds one block's lines */
	ST_BLOCK_END,		/* clean end of the segment */
	ST_BLOCK_TORN,		/* input ends inside a block */
	ST_BLOCK_CORRUPT,	/* not gzip, CRC mismatch, not whole lines ... */
	ST_BLOCK_ERROR = -1,	/* I/O or memory */
};

struct st_seg_reader;

int st_seg_open(struct st_seg_reader **out, const char *path, char *err,
		size_t errlen);
/* Next block into out (replacing its contents); *offset = its start. */
int st_seg_next(struct st_seg_reader *r, struct st_buf *out, uint64_t *offset,
		char *err, size_t errlen);
uint64_t st_seg_good_end(const struct st_seg_reader *r);	/* after last OK */
uint64_t st_seg_size(const struct st_seg_reader *r);
/*
 * Sealed segments (seal.h): st_seg_open fails, saying which data key is
 * needed, when none is installed. st_seg_next returns ST_BLOCK_END at
 * the final block, or at the end of a file that has none
 * (st_seg_finalized false: cut short, or still being written).
 */
bool st_seg_sealed(const struct st_seg_reader *r);
bool st_seg_finalized(const struct st_seg_reader *r);
uint64_t st_seg_sealed_blocks(const struct st_seg_reader *r);
/* Read on from byte offset (a block boundary); -1 beyond the end. */
int st_seg_seek(struct st_seg_reader *r, uint64_t offset);
void st_seg_close(struct st_seg_reader *r);

/* ---- recovery -------------------------------------------------------- */

struct st_recovery {
	bool torn;
	char segment[ST_SEG_NAME_LEN + 1];
	uint64_t good_end;	/* bytes kept in the segment */
	uint64_t torn_bytes;	/* bytes moved aside */
	char torn_file[64];	/* name of the copy, in the stream dir */
	char reason[128];	/* what ended the readable part */
};

int st_store_recover(const char *dir, uint64_t now_ns, struct st_recovery *out,
		     char *err, size_t errlen);

#endif /* SEALTRACE_STORE_H */
