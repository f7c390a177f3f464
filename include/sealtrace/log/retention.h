/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Retention: deleting whole old segments without losing verifiability.
 *
 * A purge removes the oldest segment of a stream, seqs [first, last].
 * Before the file goes, the log appends a `retention_purge` record to the
 * system stream and signs a checkpoint over it. The record carries what a
 * verifier needs to go on without the deleted lines:
 *   last_hash  SHA-256 of the segment's last line: the next record's
 *              preceding_event_hash;
 *   frontier   the RFC 6962 tree of seqs 0..last as its frontier (the
 *              hashes of the perfect subtrees, one per set bit of
 *              last + 1, largest first): with it and the remaining lines
 *              every later signed root is recomputed, so a forged
 *              frontier fails at the next signed head.
 * A stream whose first segment starts at seq N > 0 is read from the
 * latest such record with last_seq + 1 == N (its "anchor"); without one
 * seqs 0..N-1 are missing, as before. verify also demands that the anchor
 * is covered by a signed head of the system stream.
 *
 * Legal hold: every file in <state_dir>/legal-hold/ is one hold:
 *   from: <RFC 3339>      with  to: <RFC 3339>   (both inclusive), or
 *   all                   (the whole log)
 * Any other line is free text (the reason). A segment with a record
 * timestamp in any held window is kept. A file that does not parse
 * blocks every purge (fail safe) until it is fixed.
 */
#ifndef SEALTRACE_RETENTION_H
#define SEALTRACE_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/log/purge_record.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/log/store.h"

/* AI Act Art. 19(1) / 26(6): logs kept at least six months */
#define ST_RETENTION_MIN_DECISION_DAYS	183
#define ST_RETENTION_DEF_SYSTEM_DAYS	3650
#define ST_RETENTION_DEF_CHECK_SECONDS	3600
#define ST_LEGAL_HOLD_DIR		"legal-hold"
#define ST_DAY_NS			(86400ull * 1000000000ull)

/* ---- legal hold ------------------------------------------------------- */

struct st_hold {
	uint64_t from_ns, to_ns;	/* inclusive; all: 0 .. UINT64_MAX */
};

struct st_holds {
	struct st_hold *v;
	size_t n;
};

/* One hold file's text; 0, or -1 with "line N: what" in why. */
int st_hold_parse(const char *text, size_t len, struct st_hold *out,
		  char *why, size_t whylen);
/*
 * Every file in <state_dir>/legal-hold (a missing dir holds nothing).
 * 0; 1 when a file is malformed ("<path>: line N: what"); -1 on I/O.
 * out is empty unless 0.
 */
int st_holds_load(const char *state_dir, struct st_holds *out, char *err,
		  size_t errlen);
void st_holds_free(struct st_holds *h);
/* Does any hold overlap the timestamps [min_ns, max_ns]? */
bool st_holds_cover(const struct st_holds *h, uint64_t min_ns, uint64_t max_ns);

/* ---- selection -------------------------------------------------------- */

struct st_seg_info {
	uint64_t first_seq, last_seq;
	uint64_t min_ts, max_ts;	/* of its records */
};

enum st_purge_verdict {
	ST_PURGE_OK = 0,
	ST_KEEP_FOREVER,	/* retention 0 days */
	ST_KEEP_CURRENT,	/* the newest segment: still written to */
	ST_KEEP_UNSIGNED,	/* not wholly under a signed checkpoint */
	ST_KEEP_YOUNG,		/* a record within the retention period */
	ST_KEEP_HELD,		/* a legal hold covers a record */
	ST_KEEP_ANCHOR,		/* holds the record that vouches for a purge */
	ST_KEEP_UNSHIPPED,	/* shipping is configured and a record of it
				 * is not in the database yet */
};

struct st_purge_ctx {
	uint64_t days;			/* 0: keep forever */
	uint64_t now_ns;
	uint64_t signed_size;		/* of the stream's last signed head */
	const struct st_holds *holds;
	/* system stream: seq of the anchor of the decision stream's purge
	 * (UINT64_MAX: none) — purging it would orphan the decision head */
	uint64_t keep_seq;
	/* shipping configured (<state_dir>/shipped/ exists): records from
	 * shipped_size on are not in the database yet and stay */
	bool ship_required;
	uint64_t shipped_size;
};

/*
 * The shipper's mark (sealtrace ship): <state_dir>/shipped/<stream> holds
 * how many records of the stream the database has (seqs 0..n-1), written
 * after each commit (tmp, fsync, rename). The directory's existence says
 * shipping is configured: retention then keeps every segment not wholly
 * shipped. st_ship_mark_read: 0 with *required and *size (0 when the
 * stream has no mark yet), -1 on a malformed mark (purging stops).
 */
#define ST_SHIPPED_DIR	"shipped"
int st_ship_mark_read(const char *state_dir, int stream, bool *required,
		      uint64_t *size, char *err, size_t errlen);
int st_ship_mark_write(const char *state_dir, int stream, uint64_t size,
		       char *err, size_t errlen);

/* Decide for the oldest segment; is_newest: it is the only one left. */
enum st_purge_verdict st_purge_decide(const struct st_seg_info *seg,
				      bool is_newest,
				      const struct st_purge_ctx *c);
const char *st_purge_verdict_name(enum st_purge_verdict v);

#endif /* SEALTRACE_RETENTION_H */
