/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 6962 / RFC 9162 (2.1.4) consistency proofs between two sizes of one
 * Merkle tree (merkle.h): the hashes that show the tree of old_size leaves
 * is a prefix of the tree of new_size leaves. C2SP tlog-witness asks for
 * them with every new checkpoint, and a holder of an old checkpoint needs
 * them to see that the log only grew (no truncation, rollback or fork).
 *
 * Proof generation needs the hashes of subtrees of the new tree; it asks
 * for them through a callback, so the caller decides where they come from
 * (leaf hashes read back from the segments, a retention frontier ...).
 */
#ifndef SEALTRACE_CONSISTENCY_H
#define SEALTRACE_CONSISTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/digest.h"

/* A proof has at most two hashes per level of the new tree. */
#define ST_CONSISTENCY_MAX 128

/* MTH(D[lo:hi]) of the new tree; 0, or -1 with a reason in err. */
typedef int (*st_subtree_fn)(void *ctx, uint64_t lo, uint64_t hi,
			     uint8_t out[ST_HASH_LEN], char *err,
			     size_t errlen);

/*
 * PROOF(old_size, D[new_size]) of RFC 6962 2.1.2 into proof (at most
 * ST_CONSISTENCY_MAX hashes, count in *n). Empty for old_size 0 or
 * old_size == new_size. -1 with err when old_size > new_size or a
 * subtree hash cannot be had.
 */
int st_consistency_prove(uint64_t old_size, uint64_t new_size,
			 st_subtree_fn subtree, void *ctx,
			 uint8_t (*proof)[ST_HASH_LEN], size_t *n,
			 char *err, size_t errlen);

/*
 * RFC 9162 2.1.4.2: 0 when proof shows that old_root (old_size leaves)
 * and new_root (new_size leaves) are heads of one growing tree; 1 with
 * the reason in err when it does not (or the sizes, roots or proof are
 * wrong for each other); -1 when SHA-256 fails. old_size 0 is refused
 * (as transparency-dev/merkle does): a proof from the empty tree shows
 * nothing, and a caller with no earlier head has nothing to check.
 */
int st_consistency_verify(struct st_hasher *h, uint64_t old_size,
			  uint64_t new_size, const uint8_t old_root[ST_HASH_LEN],
			  const uint8_t new_root[ST_HASH_LEN],
			  const uint8_t (*proof)[ST_HASH_LEN], size_t n,
			  char *err, size_t errlen);

/* MTH(D[lo:hi]) from an array of leaf hashes indexed by leaf number. */
int st_subtree_from_leaves(struct st_hasher *h,
			   const uint8_t (*leaves)[ST_HASH_LEN], uint64_t lo,
			   uint64_t hi, uint8_t out[ST_HASH_LEN]);

#endif /* SEALTRACE_CONSISTENCY_H */
