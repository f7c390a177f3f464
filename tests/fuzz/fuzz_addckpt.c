// SPDX-License-Identifier: Apache-2.0
/*
 * The C2SP tlog-witness add-checkpoint body (proof/addckpt.c), which the
 * witness takes from the network: parsed, written back and parsed again
 * (the same fields), its note parsed, and its proof checked as the
 * witness checks it (st_consistency_verify) from a stored head whose size
 * and root come from the input too, so sizes up to 2^64 and proofs of any
 * length reach the verifier. Seeds: `sealtrace prove --consistency` of a
 * log written by gen_log and signed with the RFC 8032 test key.
 */
#include "fuzz.h"

#include "sealtrace/base/digest.h"
#include "sealtrace/base/json.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/proof/addckpt.h"

static void roundtrip(const struct st_addckpt *a)
{
	struct st_addckpt b;
	struct st_buf out = { 0 };
	char err[256];

	st_addckpt_write(&out, a->old_size, (const uint8_t (*)[ST_HASH_LEN])a->proof,
			 a->nproof, a->note, a->note_len);
	if (out.oom)
		abort();
	if (st_addckpt_parse(out.p, out.len, &b, err, sizeof(err)) ||
	    b.old_size != a->old_size || b.nproof != a->nproof ||
	    memcmp(b.proof, a->proof, a->nproof * ST_HASH_LEN) ||
	    b.note_len != a->note_len || memcmp(b.note, a->note, a->note_len))
		abort();	/* what the witness writes it reads back */
	st_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *key = fuzz_key();
	uint8_t stored[ST_HASH_LEN] = { 0 };
	struct st_addckpt req;
	struct st_hasher *h;
	struct st_ckpt ck;
	char err[512];
	int rc;

	err[0] = '\0';
	if (st_addckpt_parse((const char *)data, size, &req, err, sizeof(err))) {
		if (!err[0])
			abort();	/* a 400 says why */
		return 0;
	}
	if (req.nproof > ST_CONSISTENCY_MAX || req.note + req.note_len > (const char *)data + size)
		abort();
	roundtrip(&req);
	if (st_ckpt_parse_any(req.note, req.note_len, &key, 1, &ck, NULL, err, sizeof(err)) &&
	    st_ckpt_parse_any(req.note, req.note_len, NULL, 0, &ck, NULL, err, sizeof(err)))
		return 0;
	/* the stored head: the proof's first hash stands in for its root */
	if (req.nproof)
		memcpy(stored, req.proof[0], ST_HASH_LEN);
	h = st_hasher_new();
	if (!h)
		abort();
	err[0] = '\0';
	rc = st_consistency_verify(h, req.old_size, ck.size, stored, ck.root,
				   (const uint8_t (*)[ST_HASH_LEN])req.proof, req.nproof,
				   err, sizeof(err));
	if (rc == 1 && !err[0])
		abort();	/* a 422 says why */
	st_hasher_free(h);
	return 0;
}
