/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log: record -> chain -> Merkle tree -> store -> checkpoints.
 *
 * st_log_append() turns an event into its canonical line (record.h),
 * assigns stream, seq, event_id and preceding_event_hash, adds the line
 * to the stream's Merkle tree and to the stream's current block. A block
 * is compressed and written as one gzip member when it holds 256 KiB, at
 * a segment boundary, once it is 100 ms old (checked in st_log_tick), or
 * on st_log_flush/st_log_close. fsync: after every block write when
 * fsync_every_ms is 0, else at most every fsync_every_ms (in tick), and
 * always before a checkpoint is signed, so a signed head never covers a
 * record that a crash could take back.
 *
 * A checkpoint (every ckpt_every_records appended records, every
 * ckpt_every_seconds even when idle, at open and at close) flushes and
 * syncs both streams, signs both tree heads (checkpoint.h), replaces
 * <state_dir>/<stream>/checkpoint with the note and appends a
 * `checkpoint` record per stream to the system stream.
 *
 * Signing epochs (epoch_seconds > 0, forward security): once the current
 * epoch is that old, st_log_tick makes a new Ed25519 key
 * (signing.key.next), appends a `key_epoch` record to the system stream
 * that carries the new public key signed by the current key, flushes and
 * syncs it, then installs the new key and erases the old private key
 * (keys.h st_epoch_commit: zeroed, fdatasync'd, its last name gone) and
 * signs a checkpoint with the new key. A verifier that holds the first
 * public key follows the chain of key_epoch records; a key taken from
 * the node later cannot sign for an earlier epoch. An open that finds
 * signing.key.next finishes the change when the log holds its key_epoch
 * record, and erases it otherwise.
 *
 * Not thread-safe: one thread owns a log. All times are CLOCK_REALTIME ns.
 */
#ifndef SEALTRACE_LOG_H
#define SEALTRACE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/log/record.h"

struct st_log_opts {
	const char *state_dir;		/* segments in <state_dir>/<stream>/ */
	const char *keys_dir;		/* signing.key, retired/ (hmac.key is
					 * keyring.h's) */
	const char *system_id, *operator_id, *node_id;
	uint64_t seg_max_records;	/* 0: no limit */
	uint64_t seg_max_bytes;		/* compressed; 0: no limit */
	uint64_t seg_max_seconds;	/* 0: no limit */
	uint64_t ckpt_every_records;	/* 0: not by count */
	uint64_t ckpt_every_seconds;	/* 0: not by time */
	uint64_t fsync_every_ms;	/* 0: fsync every block */
	uint64_t epoch_seconds;		/* signing key epochs; 0: one key */
	/* compress + write (+ the policy's fsync) of a finished block on a
	 * second thread while the next block fills; flush, checkpoints and
	 * close still return only once everything is written and fsync'd */
	bool writer_thread;
};

struct st_log;

/*
 * Open or create. Takes an exclusive lock on <state_dir>/.lock, moves
 * torn tails aside (store.h), reads both streams back with every check
 * (scan.h) and refuses to continue one that fails them or that is
 * shorter than its own last signed checkpoint. A stream whose resume
 * state (resume.h, written at every checkpoint) reproduces its signed
 * checkpoint is read only from there on; otherwise (stderr says why) it
 * is read whole. `verify` always reads everything. That checkpoint may be
 * signed by signing.key or by a retired key (any .pub in <keys_dir>/retired,
 * keys.h); any other signer refuses the open. Writes a `recovery` record
 * when a tail was torn or the last run did not close, a `config_change`
 * record (signing_key_rotated) when a retired key signed it, then a
 * checkpoint signed by signing.key.
 */
int st_log_open(struct st_log **out, const struct st_log_opts *o, char *err,
		size_t errlen);
/*
 * 0: the record is in the chain and will reach disk (a failed block write
 * is retried and reported by the next tick/flush). -1: refused (invalid
 * record, or the store has been failing long enough that the buffer is
 * full); the caller must account it as lost.
 */
int st_log_append(struct st_log *log, const struct st_record *rec, char *err,
		  size_t errlen);
/* Call every 100 ms or so: old blocks out, fsync policy, checkpoints by
 * time (also when idle), segment rotation by age. */
int st_log_tick(struct st_log *log, uint64_t now_ns, char *err, size_t errlen);
/* Every block out and fsync'd now. */
int st_log_flush(struct st_log *log, char *err, size_t errlen);
/* Final checkpoint, flush, fsync, free (also on error). */
int st_log_close(struct st_log *log, char *err, size_t errlen);
/*
 * event_id of the record last appended to a stream by this log (NULL
 * before the first), e.g. for a record about the decision just written.
 */
const char *st_log_last_event_id(const struct st_log *log, enum st_stream s);
/* Next seq of a stream == records in it (for metrics). */
uint64_t st_log_seq(const struct st_log *log, enum st_stream s);

/*
 * Retention (retention.h): purge the oldest segments of each stream whose
 * every record is older than days[stream] (0: keep forever), oldest
 * first and never the newest segment, nor one not wholly under a signed
 * checkpoint, nor one a legal hold covers. For each segment: append a
 * retention_purge record to the system stream, sign a checkpoint over it
 * (flush + fsync first), then unlink the file and fsync the directory.
 * 0: done (rep says what); 1: a legal hold file is malformed: nothing
 * purged, err names it, and a config_change record says so (once per
 * distinct problem); -1: error.
 */
struct st_retain_report {
	uint64_t segments[ST_STREAM__COUNT];	/* purged now */
	uint64_t records[ST_STREAM__COUNT];
	int kept[ST_STREAM__COUNT];		/* enum st_purge_verdict of
						 * the oldest segment left */
	uint64_t holds;				/* hold files in force */
};

int st_log_retain(struct st_log *log, const uint64_t days[ST_STREAM__COUNT],
		  uint64_t now_ns, struct st_retain_report *rep, char *err,
		  size_t errlen);

struct st_log_stats {
	uint64_t appended[ST_STREAM__COUNT];	/* accepted since open */
	uint64_t persisted[ST_STREAM__COUNT];	/* written to a segment */
	uint64_t bytes_written;			/* compressed */
	uint64_t blocks_written, fsyncs;
	uint64_t checkpoints;			/* signed heads (2 per round) */
	uint64_t last_checkpoint_ns;
	uint64_t recoveries;			/* recovery records at open */
	/* records st_log_open read back per stream: all of them, or from
	 * the resume state on (resume.h) */
	uint64_t records_scanned_at_open[ST_STREAM__COUNT];
	uint64_t resumed_at_open;		/* streams opened from it (0-2) */
	uint64_t resume_write_failures;		/* reported on stderr */
};
void st_log_get_stats(const struct st_log *log, struct st_log_stats *out);

#endif /* SEALTRACE_LOG_H */
