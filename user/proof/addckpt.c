// SPDX-License-Identifier: Apache-2.0
/* The tlog-witness add-checkpoint body, and consistency proofs of a log. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/proof/addckpt.h"

static bool take_line(const char **p, const char *end, const char **l,
		      size_t *len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return false;
	*l = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return true;
}

static int parse_size(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!len || len > 19 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int st_addckpt_parse(const char *body, size_t len, struct st_addckpt *out,
		     char *err, size_t errlen)
{
	const char *p = body, *end = body + len, *l;
	size_t ll, line = 1;

	memset(out, 0, sizeof(*out));
	if (!take_line(&p, end, &l, &ll) || ll < 5 || memcmp(l, "old ", 4) ||
	    parse_size(l + 4, ll - 4, &out->old_size))
		return st_errf(err, errlen, "line 1: expected 'old <size>'");
	for (;;) {
		line++;
		if (!take_line(&p, end, &l, &ll))
			return st_errf(err, errlen, "line %zu: no blank line before the checkpoint",
				       line);
		if (!ll)
			break;
		if (out->nproof == ST_CONSISTENCY_MAX)
			return st_errf(err, errlen, "line %zu: more than %d proof hashes",
				       line, ST_CONSISTENCY_MAX);
		if (st_unb64(l, ll, out->proof[out->nproof], ST_HASH_LEN) != ST_HASH_LEN)
			return st_errf(err, errlen, "line %zu: proof hash is not base64 of 32 bytes",
				       line);
		out->nproof++;
	}
	out->note = p;
	out->note_len = (size_t)(end - p);
	if (!out->note_len)
		return st_errf(err, errlen, "line %zu: no checkpoint after the blank line", line + 1);
	return 0;
}

void st_addckpt_write(struct st_buf *out, uint64_t old_size,
		      const uint8_t (*proof)[ST_HASH_LEN], size_t n,
		      const char *note, size_t note_len)
{
	char num[32], b64[ST_HASH_LEN * 2];
	size_t i;

	snprintf(num, sizeof(num), "old %" PRIu64 "\n", old_size);
	st_buf_puts(out, num);
	for (i = 0; i < n; i++) {
		st_b64(proof[i], ST_HASH_LEN, b64);
		st_buf_puts(out, b64);
		st_buf_putc(out, '\n');
	}
	st_buf_putc(out, '\n');
	st_buf_put(out, note, note_len);
}

/* ---- a proof from the segments ----------------------------------------- */

/*
 * The proof's hashes are MTH of disjoint ranges of leaves, known from the
 * two sizes alone: find the ranges first, then fold each record's leaf
 * into its range during one scan. Memory stays one frontier per range.
 */
struct range {
	uint64_t lo, hi;
	struct st_merkle m;
};

struct plan {
	struct range r[ST_CONSISTENCY_MAX];
	size_t n;
	uint64_t new_size;
	const struct st_ckpt *note;
	bool root_checked;
};

static int plan_cb(void *ctx, uint64_t lo, uint64_t hi,
		   uint8_t out[ST_HASH_LEN], char *err, size_t errlen)
{
	struct plan *p = ctx;

	p->r[p->n].lo = lo;
	p->r[p->n].hi = hi;
	st_merkle_init(&p->r[p->n].m);
	p->n++;
	memset(out, 0, ST_HASH_LEN);
	return 0;
}

static int top_bit(uint64_t v)
{
	return 63 - __builtin_clzll(v);
}

/*
 * A range that starts before the stream's first kept record: its part
 * before `head` must be nodes of the retention frontier (seqs 0..head-1).
 */
static int seed_range(struct range *r, const struct st_scan_head *head,
		      char *err, size_t errlen)
{
	uint64_t upto = head->seq < r->hi ? head->seq : r->hi;
	uint64_t rel, mask;
	int i;

	if (r->lo >= head->seq)
		return 0;
	rel = upto - r->lo;
	mask = (2ULL << top_bit(rel)) - 1;
	if ((r->lo & mask) || (head->seq & ~mask) != r->lo)
		return st_failf(err, errlen, "the proof needs the hash of seq %" PRIu64 "..%" PRIu64
				", which retention purged and no retention_purge frontier holds",
				r->lo, r->hi - 1);
	for (i = 0; i <= top_bit(rel); i++)
		if (rel & (1ULL << i))
			memcpy(r->m.node[i], head->tree.node[i], ST_HASH_LEN);
	r->m.size = rel;
	return 0;
}

static int fold_cb(void *ctx, const struct st_scan_rec *rec, char *err,
		   size_t errlen)
{
	struct plan *p = ctx;
	uint64_t seq = rec->p->hdr.seq;
	uint8_t root[ST_HASH_LEN];
	size_t i;

	if (seq == p->new_size) {
		if (st_merkle_root(rec->tree, rec->h, root))
			return st_errf(err, errlen, "SHA-256 failed");
		if (memcmp(root, p->note->root, ST_HASH_LEN))
			return st_failf(err, errlen, "the records 0..%" PRIu64
					" do not give the root the checkpoint signs",
					seq - 1);
		p->root_checked = true;
		return 0;
	}
	if (seq > p->new_size)
		return 0;
	for (i = 0; i < p->n; i++)
		if (seq >= p->r[i].lo && seq < p->r[i].hi)
			return st_merkle_append(&p->r[i].m, rec->h, rec->leaf) ?
				st_errf(err, errlen, "SHA-256 failed") : 0;
	return 0;
}

int st_consistency_of_log(const char *state_dir, enum st_stream s,
			  uint64_t old_size, const struct st_ckpt *note,
			  uint8_t (*proof)[ST_HASH_LEN], size_t *n,
			  char *err, size_t errlen)
{
	struct st_scan_result res;
	struct st_scan_head head;
	struct st_hasher *h = NULL;
	struct plan *p;
	uint8_t root[ST_HASH_LEN];
	size_t i;
	int rc;

	if (old_size > note->size)
		return st_failf(err, errlen, "old size %" PRIu64 " is beyond the signed size %"
				PRIu64, old_size, note->size);
	p = calloc(1, sizeof(*p));
	if (!p)
		return st_errf(err, errlen, "out of memory");
	p->new_size = note->size;
	p->note = note;
	rc = st_consistency_prove(old_size, note->size, plan_cb, p, proof, n,
				  err, errlen);
	if (!rc)
		rc = st_scan_stream_head(state_dir, s, &head, err, errlen);
	for (i = 0; !rc && i < p->n; i++)
		rc = seed_range(&p->r[i], &head, err, errlen);
	if (!rc)
		rc = st_scan_stream(state_dir, s, fold_cb, p, &res, err, errlen);
	if (!rc && res.records < note->size)
		rc = st_failf(err, errlen, "%s holds %" PRIu64 " records, the checkpoint signs %" PRIu64,
			      st_stream_name(s), res.records, note->size);
	if (!rc && !p->root_checked) {
		/* the note signs the whole stream as it is */
		h = st_hasher_new();
		if (!h || st_merkle_root(&res.tree, h, root))
			rc = st_errf(err, errlen, "SHA-256 failed");
		else if (memcmp(root, note->root, ST_HASH_LEN))
			rc = st_failf(err, errlen, "the %" PRIu64 " records do not give the root the checkpoint signs",
				      note->size);
	}
	if (!h && !rc)
		h = st_hasher_new();
	for (i = 0; !rc && i < p->n; i++) {
		if (p->r[i].m.size != p->r[i].hi - p->r[i].lo)
			rc = st_failf(err, errlen, "seq %" PRIu64 "..%" PRIu64 " are not all in the log",
				      p->r[i].lo, p->r[i].hi - 1);
		else if (!h || st_merkle_root(&p->r[i].m, h, proof[i]))
			rc = st_errf(err, errlen, "SHA-256 failed");
	}
	st_hasher_free(h);
	free(p);
	return rc;
}
