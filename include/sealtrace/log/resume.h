/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resume state: what st_log_open needs to continue a stream without
 * reading all of it. Written to <state_dir>/<stream>/resume (tmp, fsync,
 * rename, dir fsync) whenever the log signs a checkpoint:
 *
 *   sealtrace-resume 1
 *   size N                       tree size of the signed checkpoint
 *   frontier <hex,...>           the tree of seqs 0..N-1 (retention.h format)
 *   chain_head <hex>             SHA-256 of record N-1
 *   segment <first seq>.seg      the segment of the block ending with N-1
 *   block <offset> <end> <first seq>
 *   block_frontier <hex,...>     the tree before that block
 *   note                         then the signed checkpoint note, verbatim
 *
 * Nothing in it is trusted. st_resume_check accepts it only when the note
 * is the stream's checkpoint file (whose signature st_log_open checks),
 * the frontier's root is the signed root of size N, and the block, read
 * again from the segment and added to block_frontier, gives that same
 * frontier and ends with record N-1 whose hash is chain_head.
 */
#ifndef SEALTRACE_RESUME_H
#define SEALTRACE_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/retention.h"
#include "sealtrace/log/scan.h"

#define ST_RESUME_FILE	"resume"
/* two frontiers, the note and a few short lines */
#define ST_RESUME_MAX	(2 * ST_FRONTIER_HEX_MAX + ST_NOTE_MAX + 1024)

struct st_resume {
	uint64_t size;
	struct st_merkle tree;		/* seqs 0..size-1 */
	uint8_t head[ST_HASH_LEN];	/* SHA-256 of record size-1 */
	struct st_scan_block block;	/* ends with record size-1 */
	char note[ST_NOTE_MAX];
	size_t note_len;
};

/* Replace <dir>/resume; 0 or -1 with err. */
int st_resume_write(const char *dir, const struct st_resume *r, char *err,
		    size_t errlen);
/* 0 read; 1 no such file; -1 unreadable or malformed (why). */
int st_resume_read(const char *dir, struct st_resume *r, char *why,
		   size_t whylen);

/*
 * Check r against the stream's signed checkpoint ck (note: its exact
 * text) and the segment on disk, as described above; fn sees the
 * block's records (with tree NULL). 0: *from is where to scan on, *lines
 * the records read again; 1: r does not hold (why); -1: runtime error.
 */
int st_resume_check(const char *dir, enum st_stream stream,
		    const struct st_resume *r, const struct st_ckpt *ck,
		    const char *note, size_t note_len, struct st_hasher *h,
		    st_scan_fn fn, void *ctx, struct st_scan_from *from,
		    uint64_t *lines, char *why, size_t whylen);

#endif /* SEALTRACE_RESUME_H */
