// SPDX-License-Identifier: Apache-2.0
/*
 * Checkpoint notes (C2SP signed notes) as verify reads them from
 * checkpoint files and bundles: once against the fuzz key, once with no
 * key (the parse alone, so mutated bodies get past the signature); then
 * as verify checks a note's signature, by C2SP key name and key id
 * (st_ckpt_parse_named; the name the origin implies).
 */
#include "fuzz.h"

#include "sealtrace/log/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *key = fuzz_key();
	const char *const names[1] = { NULL };
	struct st_ckpt ck;
	char err[512];
	size_t signer;

	if (!st_ckpt_parse_any((const char *)data, size, &key, 1, &ck, &signer,
			       err, sizeof(err)) && signer != 0)
		abort();
	if (!st_ckpt_parse_any((const char *)data, size, NULL, 0, &ck, NULL,
			       err, sizeof(err)))
		(void)st_ckpt_stream(&ck);
	if (!st_ckpt_parse_named((const char *)data, size, &key, names, 1, &ck,
				 &signer, err, sizeof(err)) && signer != 0)
		abort();
	return 0;
}
