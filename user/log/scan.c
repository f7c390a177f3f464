// SPDX-License-Identifier: Apache-2.0
/* Reading a stream back with every keyless check (see scan.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/purge_record.h"
#include "sealtrace/log/scan.h"

struct scan {
	const char *stream_name;
	enum st_stream stream;
	st_scan_fn fn;
	void *ctx;
	struct st_scan_result *res;
	struct st_hasher *h;
	struct st_buf block, scratch;
	char *err;
	size_t errlen;
	char seg[ST_SEG_NAME_LEN + 1];
	bool partial;		/* window scan: no Merkle tree, chain from here */
	bool unlinked;		/* partial, nothing read yet: no prev to check */
	bool live;		/* window scan of a log being written */
	bool newest;		/* the segment being read is the newest */
	const struct st_scan_from *from;	/* resumed scan */
	const char *state_dir;
};

static int bad(struct scan *s, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An integrity failure, located as "<stream>/<segment> seq N: ...". */
static int bad(struct scan *s, uint64_t seq, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(s->err, s->errlen, "%s/%s seq %" PRIu64 ": ",
		     s->stream_name, s->seg, seq);
	if (k > 0 && (size_t)k < s->errlen) {
		va_start(ap, fmt);
		vsnprintf(s->err + k, s->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return 1;
}

static int check_line(struct scan *s, const char *line, size_t len,
		      uint64_t block_off)
{
	struct st_scan_result *res = s->res;
	uint64_t seq = res->records;
	struct st_record_parsed p;
	struct st_scan_rec r;
	char why[256], want[ST_HASH_HEX + 1];
	int rc = 1;

	if (st_record_parse(line, len, &p, &s->scratch, why, sizeof(why))) {
		bad(s, seq, "bad record: %s", why);
		goto out;
	}
	if (p.hdr.stream != s->stream) {
		bad(s, seq, "record of stream %s in the %s stream",
		    st_stream_name(p.hdr.stream), s->stream_name);
		goto out;
	}
	if (p.hdr.seq != seq) {
		bad(s, seq, "found seq %" PRIu64 " where seq %" PRIu64
		    " belongs (records deleted, inserted or reordered)",
		    p.hdr.seq, seq);
		goto out;
	}
	st_chain_prev_hex(&res->chain, want);
	if (s->unlinked) {
		/* what comes before was not read: the link is verify's to check */
		s->unlinked = false;
	} else if (strcmp(p.hdr.prev_hex, want)) {
		if (seq)
			bad(s, seq, "preceding_event_hash does not match seq %" PRIu64
			    " (that record was altered, or records around it were removed, inserted or reordered)",
			    seq - 1);
		else
			bad(s, seq, "preceding_event_hash is not the genesis value");
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.stream = s->stream;
	r.segment = s->seg;
	r.block_offset = block_off;
	r.line = line;
	r.len = len;
	r.p = &p;
	r.tree = s->partial ? NULL : &res->tree;
	r.h = s->h;
	if (st_merkle_leaf(s->h, line, len, r.leaf)) {
		rc = st_errf(s->err, s->errlen, "SHA-256 failed");
		goto out;
	}
	if (s->fn) {
		rc = s->fn(s->ctx, &r, s->err, s->errlen);
		if (rc)
			goto out;
	}
	if ((!s->partial && st_merkle_append(&res->tree, s->h, r.leaf)) ||
	    st_chain_advance(&res->chain, s->h, line, len)) {
		rc = st_errf(s->err, s->errlen, "SHA-256 failed");
		goto out;
	}
	if (!res->has_last)
		res->first_ts = p.rec.timestamp_ns;
	res->last_ts = p.rec.timestamp_ns;
	res->last_type = p.rec.type;
	res->has_last = true;
	res->records++;
	rc = 0;
out:
	st_record_parsed_free(&p);
	return rc;
}

static int scan_block(struct scan *s, uint64_t off)
{
	const char *line = s->block.p, *end = s->block.p + s->block.len, *nl;
	int rc;

	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		/* the reader guarantees the block ends with '\n' */
		rc = check_line(s, line, (size_t)(nl - line), off);
		if (rc)
			return rc;
		line = nl + 1;
	}
	return 0;
}

/*
 * Does a writer hold <state_dir>/.lock (log.h) right now? Only then may
 * the newest sealed segment lack its final block: an agent that stops
 * writes it, one that crashed gets it at its next start. Read from
 * /proc/locks, not by trying the lock: a reader that took it, even for a
 * moment, could make an agent starting then fail. What cannot be told
 * counts as held (no claim of truncation we cannot back).
 */
static bool writer_active(const char *state_dir)
{
	char path[4200], want[64], line[256];
	struct stat st;
	bool held = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/.lock", state_dir);
	if (stat(path, &st))
		return errno != ENOENT;
	f = fopen("/proc/locks", "re");
	if (!f)
		return true;
	/* "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF" */
	snprintf(want, sizeof(want), " %02x:%02x:%llu ", major(st.st_dev),
		 minor(st.st_dev), (unsigned long long)st.st_ino);
	while (!held && fgets(line, sizeof(line), f))
		held = strstr(line, "FLOCK") && strstr(line, want);
	fclose(f);
	return held;
}

/* A sealed segment must end with its final block (seal.h). */
static int check_final(struct scan *s, struct st_seg_reader *r)
{
	if (!st_seg_sealed(r) || st_seg_finalized(r))
		return 0;
	if (s->newest && (s->live || writer_active(s->state_dir)))
		return 0;
	return bad(s, s->res->records, "sealed segment ends without its final block "
		   "after %" PRIu64 " blocks: cut short (blocks dropped?)%s",
		   st_seg_sealed_blocks(r), s->newest ?
		   ", or an agent crashed and has not restarted (`sealtrace run` "
		   "finishes it on start)" : "");
}

/* After a whole block: remember it, the log resumes after such a block. */
static void note_block(struct scan *s, uint64_t off, uint64_t end,
		       uint64_t first_seq, const struct st_merkle *before)
{
	struct st_scan_block *b = &s->res->last_block;

	if (s->partial)
		return;
	b->valid = true;
	memcpy(b->segment, s->seg, sizeof(s->seg));
	b->offset = off;
	b->end = end;
	b->first_seq = first_seq;
	b->next_seq = s->res->records;
	b->tree = *before;
}

static int read_blocks(struct scan *s, struct st_seg_reader *r, char *why,
		       size_t whylen, int *brc)
{
	struct st_merkle before;
	uint64_t off, first;
	int rc;

	while ((*brc = st_seg_next(r, &s->block, &off, why, whylen)) ==
	       ST_BLOCK_OK) {
		s->res->blocks++;
		first = s->res->records;
		before = s->res->tree;
		rc = scan_block(s, off);
		if (rc)
			return rc;	/* from a record: err is set */
		note_block(s, off, st_seg_good_end(r), first, &before);
	}
	return 0;
}

/*
 * resumed: the segment a resumed scan starts in, from s->from->offset;
 * its records before that were checked against a signed head instead.
 */
static int scan_segment(struct scan *s, const char *dir, uint64_t first,
			bool resumed)
{
	struct st_seg_reader *r;
	char path[4200], why[256];
	uint64_t before = s->res->records;
	int rc, brc;

	st_seg_name(first, s->seg);
	if (resumed) {
		/* its start was checked by the caller against the signed head */
	} else if (first != s->res->records) {
		if (first > s->res->records)
			return bad(s, s->res->records, "segment starts at seq %" PRIu64
				   ": records %" PRIu64 "..%" PRIu64
				   " are missing (segment deleted?%s)",
				   first, s->res->records, first - 1,
				   s->res->records ? "" :
				   " no retention_purge record covers them");
		return bad(s, first, "segment starts at seq %" PRIu64
			   " but the one before ends at seq %" PRIu64
			   " (segment inserted or duplicated?)", first,
			   s->res->records - 1);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, s->seg);
	if (st_seg_open(&r, path, s->err, s->errlen))
		return -1;
	if (resumed && st_seg_seek(r, s->from->offset)) {
		st_seg_close(r);
		return st_errf(s->err, s->errlen, "%s: shorter than the resume offset %" PRIu64,
			       path, s->from->offset);
	}
	rc = read_blocks(s, r, why, sizeof(why), &brc);
	if (!rc && brc == ST_BLOCK_END)
		rc = check_final(s, r);
	st_seg_close(r);
	if (rc)
		return rc;
	/* a block or a segment the agent is writing at this moment */
	if (s->live && s->newest && (brc == ST_BLOCK_TORN ||
				     (brc == ST_BLOCK_END && s->res->records == before)))
		return 0;
	switch (brc) {
	case ST_BLOCK_END:
		break;
	case ST_BLOCK_TORN:
		return bad(s, s->res->records, "torn tail: %s (a crash during a write; `sealtrace run` moves it aside on start)",
			   why);
	case ST_BLOCK_CORRUPT:
		return bad(s, s->res->records, "%s", why);
	default:
		return st_errf(s->err, s->errlen, "%s: %s", path, why);
	}
	if (s->res->records == before && !resumed)
		return bad(s, before, "segment holds no records");
	s->res->segments++;
	memcpy(s->res->last_segment, s->seg, sizeof(s->seg));
	return 0;
}

/* Last modification of <dir>/<segment>, UTC ns. */
static int seg_mtime(struct scan *s, const char *dir, uint64_t first, uint64_t *ns)
{
	char name[ST_SEG_NAME_LEN + 1], path[4200];
	struct stat st;

	st_seg_name(first, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st))
		return st_errf(s->err, s->errlen, "%s: %m", path);
	*ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	return 0;
}

/*
 * Index of the first segment a window scan reads: the leading segments
 * written to last well before since_ns hold no record of the window. Only
 * a prefix is skipped, so what is read is one contiguous run of the chain.
 */
static int window_start(struct scan *s, const char *dir, const struct st_seg_list *l,
			uint64_t since_ns, size_t *start)
{
	uint64_t mtime = 0;
	size_t i;

	*start = 0;
	if (since_ns <= ST_SCAN_MTIME_SLACK_NS)
		return 0;
	for (i = 0; i + 1 < l->n; i++) {
		if (seg_mtime(s, dir, l->first[i], &mtime))
			return -1;
		if (mtime >= since_ns - ST_SCAN_MTIME_SLACK_NS)
			break;
		*start = i + 1;
	}
	return 0;
}

/* The stream's directory, a hasher and its segment list; -1 with err set. */
static int scan_begin(struct scan *s, const char *state_dir, char *dir, size_t dirlen,
		      struct st_seg_list *l)
{
	s->state_dir = state_dir;
	if ((size_t)snprintf(dir, dirlen, "%s/%s", state_dir, s->stream_name) >= dirlen)
		return st_errf(s->err, s->errlen, "%s: path too long", state_dir);
	s->h = st_hasher_new();
	if (!s->h)
		return st_errf(s->err, s->errlen, "OpenSSL SHA-256 unavailable");
	return st_seg_list(dir, l, s->err, s->errlen) ? -1 : 0;
}

static void scan_end(struct scan *s, struct st_seg_list *l)
{
	st_seg_list_free(l);
	st_buf_free(&s->block);
	st_buf_free(&s->scratch);
	st_hasher_free(s->h);
}

static int scan_run(struct scan *s, const char *state_dir,
		    const struct st_scan_window *w)
{
	struct st_scan_result *res = s->res;
	struct st_seg_list l = { 0 };
	size_t i, start = 0;
	char dir[4096];
	int rc = 0;

	memset(res, 0, sizeof(*res));
	st_chain_init(&res->chain);
	st_merkle_init(&res->tree);
	rc = scan_begin(s, state_dir, dir, sizeof(dir), &l);
	if (rc)
		goto out;
	if (w && window_start(s, dir, &l, w->since_ns, &start)) {
		rc = -1;
		goto out;
	}
	if (!w && l.n && l.first[0]) {
		/* purged by retention: start where its record vouches */
		rc = st_scan_stream_head(state_dir, s->stream, &res->head,
				       s->err, s->errlen);
		if (rc)
			goto out;
		res->records = res->head.seq;
		res->chain = res->head.chain;
		res->tree = res->head.tree;
	}
	if (w && start < l.n) {
		s->partial = s->unlinked = l.first[start] != 0;
		s->live = w->live;
		res->first_seq = res->records = l.first[start];
		res->segments_skipped = start;
	}
	for (i = start; i < l.n && !rc; i++) {
		s->newest = i + 1 == l.n;
		rc = scan_segment(s, dir, l.first[i], false);
	}
out:
	scan_end(s, &l);
	return rc;
}

int st_scan_stream_window(const char *state_dir, enum st_stream stream,
			  const struct st_scan_window *w, st_scan_fn fn,
			  void *ctx, struct st_scan_result *res, char *err,
			  size_t errlen)
{
	struct scan s = {
		.stream_name = st_stream_name(stream), .stream = stream,
		.fn = fn, .ctx = ctx, .res = res, .err = err, .errlen = errlen,
	};

	return scan_run(&s, state_dir, w);
}

int st_scan_stream(const char *state_dir, enum st_stream stream,
		   st_scan_fn fn, void *ctx, struct st_scan_result *res,
		   char *err, size_t errlen)
{
	return st_scan_stream_window(state_dir, stream, NULL, fn, ctx, res, err, errlen);
}
/* Index of the resume segment in l, or l->n. */
static size_t find_seg(const struct st_seg_list *l, uint64_t first)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->first[i] == first)
			break;
	return i;
}

static int scan_from_run(struct scan *s, const char *state_dir)
{
	const struct st_scan_from *from = s->from;
	struct st_scan_result *res = s->res;
	struct st_seg_list l = { 0 };
	char dir[4096];
	size_t i;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->records = from->seq;
	res->chain = from->chain;
	res->tree = from->tree;
	res->last_block = from->block;
	/* record seq-1 exists: the caller read it when checking the state */
	res->has_last = from->seq > 0;
	rc = scan_begin(s, state_dir, dir, sizeof(dir), &l);
	if (rc)
		goto out;
	i = find_seg(&l, from->seg_first);
	if (i == l.n) {
		rc = st_errf(s->err, s->errlen, "%s: segment %020" PRIu64 ".seg is gone",
			     dir, from->seg_first);
		goto out;
	}
	for (; i < l.n && !rc; i++) {
		s->newest = i + 1 == l.n;
		rc = scan_segment(s, dir, l.first[i], l.first[i] == from->seg_first);
	}
out:
	scan_end(s, &l);
	return rc;
}

int st_scan_stream_from(const char *state_dir, enum st_stream stream,
			const struct st_scan_from *from, st_scan_fn fn,
			void *ctx, struct st_scan_result *res, char *err,
			size_t errlen)
{
	struct scan s = {
		.stream_name = st_stream_name(stream), .stream = stream,
		.fn = fn, .ctx = ctx, .res = res, .err = err, .errlen = errlen,
		.from = from,
	};

	return scan_from_run(&s, state_dir);
}

/* ---- finding a stream's head -------------------------------------------- */

struct head_find {
	enum st_stream stream;
	uint64_t first;			/* first seq on disk */
	struct st_scan_head *head;
	bool found;
};

static int head_cb(void *ctx, const struct st_scan_rec *r, char *err,
		   size_t errlen)
{
	struct head_find *f = ctx;
	struct st_purge p;
	char why[256];

	if (r->p->rec.type != ST_ET_RETENTION_PURGE)
		return 0;
	if (st_purge_parse(&r->p->rec, &p, why, sizeof(why))) {
		st_errf(err, errlen, "system/%s seq %" PRIu64 ": %s", r->segment,
			r->p->hdr.seq, why);
		return 1;
	}
	if (p.stream != f->stream || p.last_seq + 1 != f->first)
		return 0;
	/* the latest one wins; they all vouch for the same state anyway */
	f->head->seq = f->first;
	memcpy(f->head->chain.prev, p.last_hash, ST_HASH_LEN);
	f->head->tree = p.tree;
	f->head->anchor_seq = r->p->hdr.seq;
	memcpy(f->head->anchor_segment, r->segment, ST_SEG_NAME_LEN + 1);
	f->found = true;
	return 0;
}

static int first_seq_of(const char *state_dir, enum st_stream s, uint64_t *first,
			char *err, size_t errlen)
{
	struct st_seg_list l = { 0 };
	char dir[4200];

	snprintf(dir, sizeof(dir), "%s/%s", state_dir, st_stream_name(s));
	if (st_seg_list(dir, &l, err, errlen))
		return -1;
	*first = l.n ? l.first[0] : 0;
	st_seg_list_free(&l);
	return 0;
}

int st_scan_stream_head(const char *state_dir, enum st_stream s,
		      struct st_scan_head *head, char *err, size_t errlen)
{
	/* live: the system stream's torn tail may not be moved aside yet */
	struct st_scan_window w = { .since_ns = 0, .live = true };
	struct head_find f = { .stream = s, .head = head };
	struct st_scan_result *res;
	int rc;

	memset(head, 0, sizeof(*head));
	st_chain_init(&head->chain);
	st_merkle_init(&head->tree);
	if (first_seq_of(state_dir, s, &f.first, err, errlen))
		return -1;
	if (!f.first)
		return 0;
	res = malloc(sizeof(*res));	/* big: a Merkle frontier */
	if (!res)
		return st_errf(err, errlen, "out of memory");
	rc = st_scan_stream_window(state_dir, ST_STREAM_SYSTEM, &w, head_cb, &f,
				   res, err, errlen);
	free(res);
	if (rc)
		return rc;
	if (!f.found) {
		/* the scan reports seqs 0..first-1 as missing */
		memset(head, 0, sizeof(*head));
		st_chain_init(&head->chain);
		st_merkle_init(&head->tree);
	}
	return 0;
}
