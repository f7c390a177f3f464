// SPDX-License-Identifier: Apache-2.0
/* RFC 6962 Merkle tree: frontier, roots and multiproofs (see merkle.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/merkle.h"

int st_merkle_leaf(struct st_hasher *h, const void *line, size_t len,
		   uint8_t out[ST_HASH_LEN])
{
	return st_sha256_pfx(h, 0x00, line, len, NULL, 0, out);
}

int st_merkle_node(struct st_hasher *h, const uint8_t l[ST_HASH_LEN],
		   const uint8_t r[ST_HASH_LEN], uint8_t out[ST_HASH_LEN])
{
	return st_sha256_pfx(h, 0x01, l, ST_HASH_LEN, r, ST_HASH_LEN, out);
}

void st_merkle_init(struct st_merkle *m)
{
	m->size = 0;
}

int st_merkle_append(struct st_merkle *m, struct st_hasher *h,
		     const uint8_t leaf[ST_HASH_LEN])
{
	uint8_t acc[ST_HASH_LEN];
	unsigned i = 0;

	/* >=, not ==: a size read from a resume file may be any 64-bit value,
	 * and the carry below must stay within node[] */
	if (m->size >= UINT64_MAX >> 1)
		return -1;
	memcpy(acc, leaf, ST_HASH_LEN);
	/* carry: every full subtree of the same height merges with acc */
	while (m->size & (1ULL << i)) {
		if (st_merkle_node(h, m->node[i], acc, acc))
			return -1;
		i++;
	}
	memcpy(m->node[i], acc, ST_HASH_LEN);
	m->size++;
	return 0;
}

int st_merkle_root(const struct st_merkle *m, struct st_hasher *h,
		   uint8_t out[ST_HASH_LEN])
{
	uint8_t acc[ST_HASH_LEN];
	unsigned i = 0;

	if (!m->size)
		return st_sha256(h, NULL, 0, NULL, 0, out);
	while (!(m->size & (1ULL << i)))
		i++;
	memcpy(acc, m->node[i], ST_HASH_LEN);
	/* fold the smaller right-hand subtrees into the larger left ones */
	for (i++; i < ST_MERKLE_LEVELS; i++)
		if (m->size & (1ULL << i))
			if (st_merkle_node(h, m->node[i], acc, acc))
				return -1;
	memcpy(out, acc, ST_HASH_LEN);
	return 0;
}

/* ---- multiproof builder ---------------------------------------------- */

void st_mproof_init(struct st_mproof_builder *b, st_mproof_emit_fn emit,
		    void *ctx)
{
	st_merkle_init(&b->m);
	b->emit = emit;
	b->ctx = ctx;
}

static int emit(struct st_mproof_builder *b, uint64_t lo, uint64_t hi,
		const uint8_t hash[ST_HASH_LEN])
{
	struct st_mproof_node n = { .lo = lo, .hi = hi };

	memcpy(n.hash, hash, ST_HASH_LEN);
	return b->emit(b->ctx, &n);
}

/*
 * Join two sibling subtrees. When exactly one of them holds a selected
 * leaf, the other one is what a verifier cannot compute: emit it.
 */
static int join(struct st_mproof_builder *b, struct st_hasher *h,
		const uint8_t l[ST_HASH_LEN], bool lsel, uint64_t llo,
		const uint8_t r[ST_HASH_LEN], bool rsel, uint64_t rlo,
		uint64_t rhi, uint8_t out[ST_HASH_LEN], bool *osel)
{
	if (lsel && !rsel && emit(b, rlo, rhi, r))
		return -1;
	if (!lsel && rsel && emit(b, llo, rlo, l))
		return -1;
	*osel = lsel || rsel;
	return st_merkle_node(h, l, r, out);
}

int st_mproof_append(struct st_mproof_builder *b, struct st_hasher *h,
		     const uint8_t leaf[ST_HASH_LEN], bool selected)
{
	struct st_merkle *m = &b->m;
	uint8_t acc[ST_HASH_LEN];
	bool sel = selected;
	uint64_t lo, span;
	unsigned i = 0;

	if (m->size >= 1ULL << 62)
		return -1;
	memcpy(acc, leaf, ST_HASH_LEN);
	while (m->size & (1ULL << i)) {
		span = 1ULL << i;
		lo = m->size & ~((span << 1) - 1);
		if (join(b, h, m->node[i], b->sel[i], lo, acc, sel, lo + span,
			 lo + 2 * span, acc, &sel))
			return -1;
		i++;
	}
	memcpy(m->node[i], acc, ST_HASH_LEN);
	b->sel[i] = sel;
	m->size++;
	return 0;
}

int st_mproof_finish(struct st_mproof_builder *b, struct st_hasher *h,
		     uint8_t root[ST_HASH_LEN])
{
	const struct st_merkle *m = &b->m;
	uint8_t acc[ST_HASH_LEN];
	uint64_t lo, accl;
	unsigned i = 0;
	bool sel;

	if (!m->size)
		return st_sha256(h, NULL, 0, NULL, 0, root);
	while (!(m->size & (1ULL << i)))
		i++;
	memcpy(acc, m->node[i], ST_HASH_LEN);
	sel = b->sel[i];
	accl = m->size & ~((2ULL << i) - 1);
	for (i++; i < ST_MERKLE_LEVELS - 2; i++) {
		if (!(m->size & (1ULL << i)))
			continue;
		lo = m->size & ~((2ULL << i) - 1);
		if (join(b, h, m->node[i], b->sel[i], lo, acc, sel, accl,
			 m->size, acc, &sel))
			return -1;
		accl = lo;
	}
	if (!sel && emit(b, 0, m->size, acc))
		return -1;
	memcpy(root, acc, ST_HASH_LEN);
	return 0;
}

/* ---- multiproof verification ----------------------------------------- */

struct mroot {
	struct st_hasher *h;
	const uint64_t *idx;
	const uint8_t (*leaf)[ST_HASH_LEN];
	struct st_mproof_node *nodes;	/* sorted copy */
	bool *used;
	size_t nnodes;
	char *err;
	size_t errlen;
};

static int node_cmp(const void *a, const void *b)
{
	const struct st_mproof_node *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

/*
 * Largest power of two < n (n >= 2). Compared as k < n - k, not
 * 2k < n: for n above 2^63 the shift would wrap to 0 and loop for ever
 * (a signed checkpoint may claim such a size).
 */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

static int mroot_rec(struct mroot *r, uint64_t lo, uint64_t hi, size_t a,
		     size_t b, uint8_t out[ST_HASH_LEN])
{
	struct st_mproof_node key = { .lo = lo, .hi = hi }, *n;
	uint8_t l[ST_HASH_LEN], rr[ST_HASH_LEN];
	uint64_t mid;
	size_t m;

	if (a == b) {
		n = bsearch(&key, r->nodes, r->nnodes, sizeof(key), node_cmp);
		if (!n)
			return st_errf(r->err, r->errlen, "proof lacks the hash of leaves [%llu, %llu)",
				      (unsigned long long)lo,
				      (unsigned long long)hi);
		r->used[n - r->nodes] = true;
		memcpy(out, n->hash, ST_HASH_LEN);
		return 0;
	}
	if (hi - lo == 1) {
		memcpy(out, r->leaf[a], ST_HASH_LEN);
		return 0;
	}
	mid = lo + split_point(hi - lo);
	for (m = a; m < b && r->idx[m] < mid; m++)
		;
	if (mroot_rec(r, lo, mid, a, m, l) || mroot_rec(r, mid, hi, m, b, rr))
		return -1;
	return st_merkle_node(r->h, l, rr, out) ? st_errf(r->err, r->errlen, "hash failed") : 0;
}

int st_mproof_root(struct st_hasher *h, uint64_t size, const uint64_t *idx,
		   const uint8_t (*leaf)[ST_HASH_LEN], size_t nleaves,
		   const struct st_mproof_node *nodes, size_t nnodes,
		   uint8_t root[ST_HASH_LEN], char *err, size_t errlen)
{
	struct mroot r = {
		.h = h, .idx = idx, .leaf = leaf, .nnodes = nnodes,
		.err = err, .errlen = errlen,
	};
	size_t i;
	int rc = -1;

	for (i = 0; i < nleaves; i++)
		if (idx[i] >= size || (i && idx[i] <= idx[i - 1]))
			return st_errf(err, errlen, "leaf index %llu out of order or beyond tree size %llu",
				       (unsigned long long)idx[i],
				       (unsigned long long)size);
	if (!size) {
		if (nnodes)
			return st_errf(err, errlen, "proof nodes for an empty tree");
		return st_sha256(h, NULL, 0, NULL, 0, root);
	}
	r.nodes = malloc((nnodes ? nnodes : 1) * sizeof(*nodes));
	r.used = calloc(nnodes ? nnodes : 1, sizeof(bool));
	if (!r.nodes || !r.used) {
		st_errf(err, errlen, "out of memory");
		goto out;
	}
	if (nnodes)
		memcpy(r.nodes, nodes, nnodes * sizeof(*nodes));
	qsort(r.nodes, nnodes, sizeof(*nodes), node_cmp);
	for (i = 1; i < nnodes; i++)
		if (!node_cmp(&r.nodes[i - 1], &r.nodes[i])) {
			st_errf(err, errlen, "duplicate proof node [%llu, %llu)",
			       (unsigned long long)r.nodes[i].lo,
			       (unsigned long long)r.nodes[i].hi);
			goto out;
		}
	if (mroot_rec(&r, 0, size, 0, nleaves, root))
		goto out;
	for (i = 0; i < nnodes; i++)
		if (!r.used[i]) {
			st_errf(err, errlen, "proof node [%llu, %llu) is not part of the tree",
			       (unsigned long long)r.nodes[i].lo,
			       (unsigned long long)r.nodes[i].hi);
			goto out;
		}
	rc = 0;
out:
	free(r.nodes);
	free(r.used);
	return rc;
}
