/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 6962 / RFC 9162 Merkle tree over a stream's canonical lines:
 *   leaf = SHA-256(0x00 || line), node = SHA-256(0x01 || left || right),
 *   MTH of n > 1 leaves splits at k, the largest power of two < n,
 *   MTH of no leaves = SHA-256("").
 * Leaf index == the record's seq, tree size == number of records.
 *
 * The tree is kept as a frontier (one perfect subtree per set bit of the
 * size), so appending costs amortised one node hash and memory is fixed.
 *
 * Multiproofs: for an export of any subset of leaves, the builder emits
 * the hashes of the maximal subtrees [lo, hi) that hold no exported leaf;
 * with them and the exported lines a verifier recomputes the root.
 */
#ifndef SEALTRACE_MERKLE_H
#define SEALTRACE_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/digest.h"

#define ST_MERKLE_LEVELS 64

struct st_merkle {
	uint64_t size;
	uint8_t node[ST_MERKLE_LEVELS][ST_HASH_LEN];	/* by bit of size */
};

int st_merkle_leaf(struct st_hasher *h, const void *line, size_t len,
		   uint8_t out[ST_HASH_LEN]);
int st_merkle_node(struct st_hasher *h, const uint8_t l[ST_HASH_LEN],
		   const uint8_t r[ST_HASH_LEN], uint8_t out[ST_HASH_LEN]);

void st_merkle_init(struct st_merkle *m);
int st_merkle_append(struct st_merkle *m, struct st_hasher *h,
		     const uint8_t leaf[ST_HASH_LEN]);
int st_merkle_root(const struct st_merkle *m, struct st_hasher *h,
		   uint8_t out[ST_HASH_LEN]);

/* One proof node: the hash of the subtree over leaves [lo, hi). */
struct st_mproof_node {
	uint64_t lo, hi;
	uint8_t hash[ST_HASH_LEN];
};

typedef int (*st_mproof_emit_fn)(void *ctx, const struct st_mproof_node *n);

struct st_mproof_builder {
	struct st_merkle m;
	bool sel[ST_MERKLE_LEVELS];	/* subtree holds a selected leaf */
	st_mproof_emit_fn emit;
	void *ctx;
};

void st_mproof_init(struct st_mproof_builder *b, st_mproof_emit_fn emit,
		    void *ctx);
int st_mproof_append(struct st_mproof_builder *b, struct st_hasher *h,
		     const uint8_t leaf[ST_HASH_LEN], bool selected);
/* Emit the remaining nodes and give the root of the whole tree. */
int st_mproof_finish(struct st_mproof_builder *b, struct st_hasher *h,
		     uint8_t root[ST_HASH_LEN]);

/*
 * Recompute the root of a tree of `size` leaves from the selected leaves
 * (idx strictly increasing, all < size) and the proof nodes (any order).
 * 0 with root set; -1 with a reason in err (missing/unused proof node ...).
 */
int st_mproof_root(struct st_hasher *h, uint64_t size, const uint64_t *idx,
		   const uint8_t (*leaf)[ST_HASH_LEN], size_t nleaves,
		   const struct st_mproof_node *nodes, size_t nnodes,
		   uint8_t root[ST_HASH_LEN], char *err, size_t errlen);

#endif /* SEALTRACE_MERKLE_H */
