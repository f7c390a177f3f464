/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scan: read one stream of a state directory back, record by record, and
 * check everything that needs no key: segment names follow on from each
 * other, every block is whole gzip of whole lines, every line is the
 * canonical form of a record of this stream, seq counts up from 0 and
 * preceding_event_hash links each record to the one before.
 *
 * Used by `verify` and `export`, and by st_log_open to continue a log.
 * The callback sees each record with the Merkle tree as it was before
 * the record (its size is the record's seq), for checking signed heads.
 */
#ifndef SEALTRACE_SCAN_H
#define SEALTRACE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/log/chain.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/store.h"

#define ST_SCAN_ERR_LEN 512

struct st_scan_rec {
	enum st_stream stream;
	const char *segment;		/* file name */
	uint64_t block_offset;
	const char *line;		/* canonical line, no newline */
	size_t len;
	const struct st_record_parsed *p;
	uint8_t leaf[ST_HASH_LEN];	/* RFC 6962 leaf hash of line */
	const struct st_merkle *tree;	/* before this leaf: size == seq */
	struct st_hasher *h;		/* free for the callback to use */
};

/* 0 goes on; non-zero stops the scan, with the reason in err. */
typedef int (*st_scan_fn)(void *ctx, const struct st_scan_rec *r, char *err,
			  size_t errlen);

/*
 * Where a full scan starts: seq 0 (genesis hash, empty tree), or, after
 * retention purged seqs 0..seq-1, the state a retention_purge record
 * (retention.h) vouches for.
 */
struct st_scan_head {
	uint64_t seq;			/* first record kept */
	struct st_chain chain;		/* its preceding_event_hash */
	struct st_merkle tree;		/* seqs 0..seq-1 */
	uint64_t anchor_seq;		/* system seq of that record (seq > 0) */
	char anchor_segment[ST_SEG_NAME_LEN + 1];
};

/*
 * One whole block as read (or written): the log's resume point is the
 * block that ends with the last record a checkpoint signs (resume.h).
 */
struct st_scan_block {
	bool valid;
	char segment[ST_SEG_NAME_LEN + 1];
	uint64_t offset, end;		/* its bytes in the segment */
	uint64_t first_seq, next_seq;	/* its records: [first_seq, next_seq) */
	struct st_merkle tree;		/* seqs 0..first_seq-1 */
};

struct st_scan_result {
	uint64_t records, segments, blocks;
	uint64_t first_ts, last_ts;	/* of the first and last record */
	struct st_chain chain;		/* after the last record */
	struct st_merkle tree;		/* after the last record */
	bool has_last;
	enum st_event_type last_type;
	char last_segment[ST_SEG_NAME_LEN + 1];
	/* window scans only (st_scan_stream_window); 0 for a full scan */
	uint64_t first_seq;		/* seq of the first record read */
	uint64_t segments_skipped;	/* leading segments not read */
	/* full scans: where the stream started (head.seq > 0: purged) */
	struct st_scan_head head;
	/* full and resumed scans: the last whole block read */
	struct st_scan_block last_block;
};

/*
 * Scan <state_dir>/<stream>. When its first segment starts after seq 0,
 * the scan starts from the retention_purge record that covers the seqs
 * before (st_scan_stream_head; res->head); without one, they are reported
 * missing. Returns 0 when intact, 1 when not (err names
 * "<stream>/<segment> seq N: what is wrong"), -1 on a runtime error (I/O,
 * memory). res holds what was read up to the first problem.
 */
int st_scan_stream(const char *state_dir, enum st_stream stream,
		   st_scan_fn fn, void *ctx, struct st_scan_result *res,
		   char *err, size_t errlen);

/*
 * A segment is only appended to, so its mtime is at or after the time of
 * its last record; the slack absorbs the coarse clock the kernel stamps
 * files with and small steps of the system clock.
 */
#define ST_SCAN_MTIME_SLACK_NS	(60ull * 1000000000ull)

struct st_scan_window {
	uint64_t since_ns;	/* UTC ns; 0 reads every segment */
	bool live;		/* the agent may be appending right now */
};

/*
 * For readers that want the records of a time window, not proof of the
 * whole stream (that is verify's job), e.g. `status --since`:
 *  - leading segments last modified more than ST_SCAN_MTIME_SLACK_NS
 *    before since_ns are not read (res->segments_skipped); the newest
 *    segment is always read. The callback still sees the older records of
 *    the segments that are read: filter by timestamp there.
 *  - the scan starts at the first segment it reads, whatever its first
 *    seq (res->first_seq): seq, segment order and the chain are checked
 *    from there on, the first record's preceding_event_hash is taken as
 *    given, and no Merkle tree is built (r->tree is NULL).
 *  - with live, a newest segment that ends inside a block, or holds no
 *    record yet, is a write in progress: the scan ends there with 0.
 * res->records is the seq after the last record read, as in a full scan.
 * Returns as st_scan_stream.
 */
int st_scan_stream_window(const char *state_dir, enum st_stream stream,
			  const struct st_scan_window *w, st_scan_fn fn,
			  void *ctx, struct st_scan_result *res, char *err,
			  size_t errlen);

/*
 * Where a resumed scan starts: record seq, the first record of the block
 * at byte offset of segment <seg_first>.seg, with the chain and tree
 * before it. st_log_open uses it once it has checked that state against
 * a signed checkpoint (resume.h); nothing else may, because the segments
 * before it are not read.
 */
struct st_scan_from {
	uint64_t seq;
	struct st_chain chain;
	struct st_merkle tree;
	uint64_t seg_first;
	uint64_t offset;
	struct st_scan_block block;	/* the block before offset, if any */
};

/*
 * Scan <state_dir>/<stream> from `from` on with the checks of a full scan:
 * segments after seg_first must follow on, records continue the chain and
 * the tree. Segments before seg_first are not read. Returns as
 * st_scan_stream; res->head is left empty (the caller knows its head).
 */
int st_scan_stream_from(const char *state_dir, enum st_stream stream,
			const struct st_scan_from *from, st_scan_fn fn,
			void *ctx, struct st_scan_result *res, char *err,
			size_t errlen);

/*
 * Where a stream starts: seq 0 with the genesis hash and an empty tree,
 * or after a purge at its anchor. 0 with *head set (head->seq is 0 when
 * no anchor matches: the scan then reports the missing records); 1 when
 * the system stream cannot be read to find the anchor (err says where);
 * -1 on a runtime error.
 */
int st_scan_stream_head(const char *state_dir, enum st_stream s,
			struct st_scan_head *head, char *err, size_t errlen);


#endif /* SEALTRACE_SCAN_H */
