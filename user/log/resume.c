// SPDX-License-Identifier: Apache-2.0
/* The log's resume state: write, read, and check against a signed head. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/base/file.h"
#include "sealtrace/log/resume.h"
#include "sealtrace/base/file.h"

/* ---- writing ------------------------------------------------------------ */

static void format_resume(const struct st_resume *r, struct st_buf *b)
{
	char fr[ST_FRONTIER_HEX_MAX + 1], head[ST_HASH_HEX + 1], line[160];

	st_buf_puts(b, "sealtrace-resume 1\n");
	snprintf(line, sizeof(line), "size %" PRIu64 "\n", r->size);
	st_buf_puts(b, line);
	st_frontier_format(&r->tree, fr);
	st_buf_puts(b, "frontier ");
	st_buf_puts(b, fr);
	st_hex(r->head, ST_HASH_LEN, head);
	snprintf(line, sizeof(line), "\nchain_head %s\nsegment %s\nblock %" PRIu64
		 " %" PRIu64 " %" PRIu64 "\n", head, r->block.segment,
		 r->block.offset, r->block.end, r->block.first_seq);
	st_buf_puts(b, line);
	st_frontier_format(&r->block.tree, fr);
	st_buf_puts(b, "block_frontier ");
	st_buf_puts(b, fr);
	st_buf_puts(b, "\nnote\n");
	st_buf_put(b, r->note, r->note_len);
}

int st_resume_write(const char *dir, const struct st_resume *r, char *err,
		    size_t errlen)
{
	struct st_buf b = { 0 };
	char tmp[4200], final[4200];
	int rc = -1;

	snprintf(tmp, sizeof(tmp), "%s/" ST_RESUME_FILE ".tmp", dir);
	snprintf(final, sizeof(final), "%s/" ST_RESUME_FILE, dir);
	format_resume(r, &b);
	if (b.oom) {
		st_errf(err, errlen, "%s: out of memory", final);
		goto out;
	}
	/* the next open sees the old state or the new, never half */
	rc = st_replace_file(dir, final, tmp, b.p, b.len, 0640, err, errlen);
out:
	st_buf_free(&b);
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

/* The text after "<key> " up to the newline, NUL-terminated in place. */
static char *field(char **pos, const char *key)
{
	size_t k = strlen(key);
	char *p = *pos, *nl;

	if (strncmp(p, key, k) || p[k] != ' ')
		return NULL;
	nl = strchr(p + k + 1, '\n');
	if (!nl)
		return NULL;
	*nl = '\0';
	*pos = nl + 1;
	return p + k + 1;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int parse_block(const char *s, struct st_scan_block *b)
{
	char end[3][24];

	if (sscanf(s, "%23s %23s %23s", end[0], end[1], end[2]) != 3 ||
	    parse_u64(end[0], &b->offset) || parse_u64(end[1], &b->end) ||
	    parse_u64(end[2], &b->first_seq))
		return -1;
	return 0;
}

/* <20 digits>.seg: nothing else, so it cannot name a path elsewhere */
static int parse_segment(const char *s, uint64_t *first)
{
	int i;

	if (strlen(s) != ST_SEG_NAME_LEN || strcmp(s + 20, ".seg"))
		return -1;
	for (i = 0; i < 20; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	*first = strtoull(s, NULL, 10);
	return 0;
}

static int parse_resume(char *text, size_t len, struct st_resume *r)
{
	char *pos = text, *v[6];
	uint64_t first;
	static const char *const keys[] = {
		"size", "frontier", "chain_head", "segment", "block",
		"block_frontier",
	};
	size_t i;

	if (strncmp(pos, "sealtrace-resume 1\n", 19))
		return -1;
	pos += 19;
	for (i = 0; i < 6; i++)
		if (!(v[i] = field(&pos, keys[i])))
			return -1;
	if (strncmp(pos, "note\n", 5))
		return -1;
	pos += 5;
	r->note_len = len - (size_t)(pos - text);
	if (r->note_len >= sizeof(r->note))
		return -1;
	memcpy(r->note, pos, r->note_len);
	r->note[r->note_len] = '\0';
	if (parse_u64(v[0], &r->size) || !r->size ||
	    st_frontier_parse(v[1], r->size, &r->tree) ||
	    strlen(v[2]) != ST_HASH_HEX ||
	    st_unhex(v[2], ST_HASH_HEX, r->head, ST_HASH_LEN) ||
	    parse_segment(v[3], &first) || parse_block(v[4], &r->block) ||
	    r->block.first_seq >= r->size || r->block.offset >= r->block.end ||
	    st_frontier_parse(v[5], r->block.first_seq, &r->block.tree))
		return -1;
	memcpy(r->block.segment, v[3], ST_SEG_NAME_LEN + 1);
	r->block.next_seq = r->size;
	r->block.valid = true;
	return 0;
}

int st_resume_read(const char *dir, struct st_resume *r, char *why,
		   size_t whylen)
{
	char path[4200], *text;
	ssize_t n;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/" ST_RESUME_FILE, dir);
	fd = st_open_regular(path, why, whylen);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return -1;
	text = malloc(ST_RESUME_MAX + 1);
	if (!text) {
		close(fd);
		return st_errf(why, whylen, "%s: out of memory", path);
	}
	n = read(fd, text, ST_RESUME_MAX + 1);
	close(fd);
	if (n < 0 || n > ST_RESUME_MAX) {
		st_errf(why, whylen, "%s: %s", path, n < 0 ? strerror(errno) : "too large");
		free(text);
		return -1;
	}
	text[n] = '\0';
	rc = parse_resume(text, (size_t)n, r);
	free(text);
	if (rc)
		return st_errf(why, whylen, "%s: malformed", path);
	return 0;
}

/* ---- checking ----------------------------------------------------------- */

struct reread {
	enum st_stream stream;
	struct st_hasher *h;
	struct st_merkle tree;		/* grows from block.tree */
	uint64_t seq;
	st_scan_fn fn;
	void *ctx;
	const char *segment;
	uint64_t offset;
	const char *last;		/* the last line seen, in the block */
	size_t last_len;
};

/* One line of the block: the record it must be, added to the tree. */
static int reread_line(struct reread *rr, const char *line, size_t len,
		       struct st_buf *scratch, char *why, size_t whylen)
{
	struct st_record_parsed p;
	struct st_scan_rec sr;
	char e[256];
	int rc = 1;

	if (st_record_parse(line, len, &p, scratch, e, sizeof(e))) {
		st_errf(why, whylen, "seq %" PRIu64 ": %s", rr->seq, e);
		goto out;
	}
	if (p.hdr.seq != rr->seq || p.hdr.stream != rr->stream) {
		st_errf(why, whylen, "the block holds seq %" PRIu64 " where %" PRIu64
			" belongs", p.hdr.seq, rr->seq);
		goto out;
	}
	memset(&sr, 0, sizeof(sr));
	sr.stream = rr->stream;
	sr.segment = rr->segment;
	sr.block_offset = rr->offset;
	sr.line = line;
	sr.len = len;
	sr.p = &p;
	sr.h = rr->h;
	sr.tree = &rr->tree;
	if (st_merkle_leaf(rr->h, line, len, sr.leaf)) {
		rc = st_errf(why, whylen, "SHA-256 failed");
		goto out;
	}
	/* fn's own verdicts are about the log, not the resume state */
	if (rr->fn && rr->fn(rr->ctx, &sr, why, whylen)) {
		rc = -1;
		goto out;
	}
	if (st_merkle_append(&rr->tree, rr->h, sr.leaf)) {
		rc = st_errf(why, whylen, "SHA-256 failed");
		goto out;
	}
	rr->last = line;
	rr->last_len = len;
	rr->seq++;
	rc = 0;
out:
	st_record_parsed_free(&p);
	return rc;
}

static int reread_lines(struct reread *rr, const struct st_buf *block,
			char *why, size_t whylen)
{
	const char *line = block->p, *end = block->p + block->len, *nl;
	struct st_buf scratch = { 0 };
	int rc = 0;

	for (; !rc && line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		rc = reread_line(rr, line, (size_t)(nl - line), &scratch, why,
				 whylen);
	}
	st_buf_free(&scratch);
	return rc;
}

/* The block [offset, end) of the segment, whole, into out. */
static int read_block(const char *dir, const struct st_scan_block *b,
		      struct st_buf *out, char *why, size_t whylen)
{
	struct st_seg_reader *r;
	char path[4200], e[256];
	uint64_t off;
	int brc;

	snprintf(path, sizeof(path), "%s/%s", dir, b->segment);
	if (access(path, F_OK))
		return st_failf(why, whylen, "%s: %s", path, strerror(errno));
	if (st_seg_open(&r, path, why, whylen))
		return -1;
	if (st_seg_seek(r, b->offset)) {
		st_seg_close(r);
		st_errf(why, whylen, "%s: shorter than offset %" PRIu64, path, b->offset);
		return 1;
	}
	brc = st_seg_next(r, out, &off, e, sizeof(e));
	if (brc == ST_BLOCK_OK && st_seg_good_end(r) != b->end) {
		st_errf(why, whylen, "%s: the block at %" PRIu64 " ends at %" PRIu64
			", not %" PRIu64, path, off, st_seg_good_end(r), b->end);
		brc = ST_BLOCK_CORRUPT;
	} else if (brc != ST_BLOCK_OK) {
		st_errf(why, whylen, "%s: %s", path, brc == ST_BLOCK_END ?
			"no block at the resume offset" : e);
	}
	st_seg_close(r);
	if (brc == ST_BLOCK_ERROR)
		return -1;
	return brc == ST_BLOCK_OK ? 0 : 1;
}

static int same_tree(const struct st_merkle *a, const struct st_merkle *b)
{
	int i;

	if (a->size != b->size)
		return 0;
	for (i = 0; i < ST_MERKLE_LEVELS; i++)
		if ((a->size >> i & 1) && memcmp(a->node[i], b->node[i], ST_HASH_LEN))
			return 0;
	return 1;
}

/*
 * The anchor is the signed root of size N. A frontier with that root is
 * the signed tree's own (another would be a SHA-256 collision), and the
 * block re-read from disk and added to block_frontier must reproduce it,
 * so its lines are the signed records up to N-1: record N-1, and with it
 * the chain head, comes from the segment, not from this file.
 */
static int check_anchor(const struct st_resume *r, const struct st_ckpt *ck,
			const char *note, size_t note_len, struct st_hasher *h,
			char *why, size_t whylen)
{
	uint8_t root[ST_HASH_LEN];

	if (r->note_len != note_len || memcmp(r->note, note, note_len))
		return st_failf(why, whylen, "its checkpoint note is not the stream's checkpoint");
	if (r->size != ck->size)
		return st_failf(why, whylen, "size %" PRIu64 " but the checkpoint signs %" PRIu64,
			       r->size, ck->size);
	if (st_merkle_root(&r->tree, h, root))
		return st_errf(why, whylen, "SHA-256 failed");
	if (memcmp(root, ck->root, ST_HASH_LEN))
		return st_failf(why, whylen, "its frontier is not the signed tree of size %" PRIu64,
			       r->size);
	return 0;
}

int st_resume_check(const char *dir, enum st_stream stream,
		    const struct st_resume *r, const struct st_ckpt *ck,
		    const char *note, size_t note_len, struct st_hasher *h,
		    st_scan_fn fn, void *ctx, struct st_scan_from *from,
		    uint64_t *lines, char *why, size_t whylen)
{
	struct reread rr = {
		.stream = stream, .h = h, .tree = r->block.tree,
		.seq = r->block.first_seq, .fn = fn, .ctx = ctx,
		.segment = r->block.segment, .offset = r->block.offset,
	};
	struct st_buf block = { 0 };
	uint8_t head[ST_HASH_LEN];
	int rc;

	rc = check_anchor(r, ck, note, note_len, h, why, whylen);
	if (!rc)
		rc = read_block(dir, &r->block, &block, why, whylen);
	if (!rc)
		rc = reread_lines(&rr, &block, why, whylen);
	/* rr.last points into block: hash it before the block goes */
	if (!rc && st_sha256(h, rr.last, rr.last_len, NULL, 0, head))
		rc = st_errf(why, whylen, "SHA-256 failed");
	st_buf_free(&block);
	if (rc)
		return rc;
	if (rr.seq != r->size || !same_tree(&rr.tree, &r->tree))
		return st_failf(why, whylen, "the block at %s:%" PRIu64 " does not end the signed tree of size %" PRIu64,
			       r->block.segment, r->block.offset, r->size);
	if (memcmp(head, r->head, ST_HASH_LEN))
		return st_failf(why, whylen, "chain_head is not the hash of seq %" PRIu64,
			       r->size - 1);
	memset(from, 0, sizeof(*from));
	from->seq = r->size;
	memcpy(from->chain.prev, head, ST_HASH_LEN);
	from->tree = r->tree;
	from->seg_first = strtoull(r->block.segment, NULL, 10);	/* parsed */
	from->offset = r->block.end;
	from->block = r->block;
	*lines = r->size - r->block.first_seq;
	return 0;
}
