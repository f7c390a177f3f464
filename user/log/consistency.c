// SPDX-License-Identifier: Apache-2.0
/* RFC 6962 / RFC 9162 consistency proofs (see consistency.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/consistency.h"
#include "sealtrace/log/merkle.h"

/* The largest power of two smaller than n (n > 1). */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

struct prover {
	st_subtree_fn subtree;
	void *ctx;
	uint8_t (*proof)[ST_HASH_LEN];
	size_t n;
	char *err;
	size_t errlen;
};

static int put(struct prover *p, uint64_t lo, uint64_t hi)
{
	if (p->n == ST_CONSISTENCY_MAX)
		return st_errf(p->err, p->errlen, "consistency proof longer than %d hashes",
			       ST_CONSISTENCY_MAX);
	return p->subtree(p->ctx, lo, hi, p->proof[p->n++], p->err, p->errlen);
}

/*
 * SUBPROOF(m, D[lo:hi], whole) of RFC 6962 2.1.2: the deeper part first,
 * then the sibling subtree, as the RFC orders the hashes. The depth is at
 * most 64, one frame per level of the tree.
 */
static int subproof(struct prover *p, uint64_t m, uint64_t lo, uint64_t hi,
		    bool whole)
{
	uint64_t k;

	if (m == hi - lo)
		return whole ? 0 : put(p, lo, hi);
	k = split_point(hi - lo);
	if (m <= k) {
		if (subproof(p, m, lo, lo + k, whole))
			return -1;
		return put(p, lo + k, hi);
	}
	if (subproof(p, m - k, lo + k, hi, false))
		return -1;
	return put(p, lo, lo + k);
}

int st_consistency_prove(uint64_t old_size, uint64_t new_size,
			 st_subtree_fn subtree, void *ctx,
			 uint8_t (*proof)[ST_HASH_LEN], size_t *n,
			 char *err, size_t errlen)
{
	struct prover p = {
		.subtree = subtree, .ctx = ctx, .proof = proof,
		.err = err, .errlen = errlen,
	};

	*n = 0;
	if (old_size > new_size)
		return st_errf(err, errlen, "consistency: old size %" PRIu64
			       " is larger than new size %" PRIu64, old_size, new_size);
	if (!old_size || old_size == new_size)
		return 0;
	if (subproof(&p, old_size, 0, new_size, true))
		return -1;
	*n = p.n;
	return 0;
}

static int node(struct st_hasher *h, const uint8_t *l, const uint8_t *r,
		uint8_t out[ST_HASH_LEN])
{
	return st_merkle_node(h, l, r, out);
}

/* RFC 9162 2.1.4.2 steps 4-8, once the trivial cases are out. */
static int verify_path(struct st_hasher *h, uint64_t old_size,
		       uint64_t new_size, const uint8_t *old_root,
		       const uint8_t *new_root, const uint8_t (*path)[ST_HASH_LEN],
		       size_t n, char *err, size_t errlen)
{
	uint64_t fn = old_size - 1, sn = new_size - 1;
	uint8_t fr[ST_HASH_LEN], sr[ST_HASH_LEN];
	size_t i;

	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, path[0], ST_HASH_LEN);
	memcpy(sr, path[0], ST_HASH_LEN);
	for (i = 1; i < n; i++) {
		if (!sn)
			return st_failf(err, errlen, "consistency proof has %zu hashes, more than sizes %"
					PRIu64 " -> %" PRIu64 " need", n, old_size, new_size);
		if ((fn & 1) || fn == sn) {
			if (node(h, path[i], fr, fr) || node(h, path[i], sr, sr))
				return -1;
			while (!(fn & 1) && fn) {
				fn >>= 1;
				sn >>= 1;
			}
		} else if (node(h, sr, path[i], sr)) {
			return -1;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn)
		return st_failf(err, errlen, "consistency proof has %zu hashes, fewer than sizes %"
				PRIu64 " -> %" PRIu64 " need", n, old_size, new_size);
	if (memcmp(fr, old_root, ST_HASH_LEN))
		return st_failf(err, errlen, "consistency proof does not lead to the root of size %"
				PRIu64, old_size);
	if (memcmp(sr, new_root, ST_HASH_LEN))
		return st_failf(err, errlen, "consistency proof does not lead to the root of size %"
				PRIu64 " (the tree of size %" PRIu64 " is not a prefix of it)",
				new_size, old_size);
	return 0;
}

int st_consistency_verify(struct st_hasher *h, uint64_t old_size,
			  uint64_t new_size, const uint8_t old_root[ST_HASH_LEN],
			  const uint8_t new_root[ST_HASH_LEN],
			  const uint8_t (*proof)[ST_HASH_LEN], size_t n,
			  char *err, size_t errlen)
{
	uint8_t path[ST_CONSISTENCY_MAX + 1][ST_HASH_LEN];

	if (old_size > new_size)
		return st_failf(err, errlen, "consistency: old size %" PRIu64
				" is larger than new size %" PRIu64 " (rollback)",
				old_size, new_size);
	/* nothing to be consistent with: the caller trusts a first head */
	if (!old_size)
		return st_failf(err, errlen, "consistency: a proof from the empty tree proves nothing");
	if (old_size == new_size) {
		if (n)
			return st_failf(err, errlen, "consistency: equal sizes need an empty proof, got %zu hashes", n);
		if (memcmp(old_root, new_root, ST_HASH_LEN))
			return st_failf(err, errlen, "consistency: two different roots for size %" PRIu64
					" (a fork)", old_size);
		return 0;
	}
	if (!n)
		return st_failf(err, errlen, "consistency: empty proof for sizes %" PRIu64
				" -> %" PRIu64, old_size, new_size);
	if (n > ST_CONSISTENCY_MAX)
		return st_failf(err, errlen, "consistency: proof of %zu hashes is too long", n);
	/* an old tree that is a whole subtree is not in the proof: put it first */
	if (!(old_size & (old_size - 1))) {
		memcpy(path[0], old_root, ST_HASH_LEN);
		memcpy(path[1], proof, n * ST_HASH_LEN);
		n++;
	} else {
		memcpy(path[0], proof, n * ST_HASH_LEN);
	}
	return verify_path(h, old_size, new_size, old_root, new_root,
			   (const uint8_t (*)[ST_HASH_LEN])path, n, err, errlen);
}

int st_subtree_from_leaves(struct st_hasher *h,
			   const uint8_t (*leaves)[ST_HASH_LEN], uint64_t lo,
			   uint64_t hi, uint8_t out[ST_HASH_LEN])
{
	uint8_t l[ST_HASH_LEN], r[ST_HASH_LEN];
	uint64_t k;

	if (hi <= lo)
		return -1;
	if (hi - lo == 1) {
		memcpy(out, leaves[lo], ST_HASH_LEN);
		return 0;
	}
	k = split_point(hi - lo);
	if (st_subtree_from_leaves(h, leaves, lo, lo + k, l) ||
	    st_subtree_from_leaves(h, leaves, lo + k, hi, r))
		return -1;
	return st_merkle_node(h, l, r, out);
}
