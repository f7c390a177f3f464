// SPDX-License-Identifier: Apache-2.0
/*
 * Checkpoint notes (C2SP signed notes) as verify reads them from
 * checkpoint files and bundles: once against the fuzz key, once with no
 * key (the parse alone, so mutated bodies get past the signature).
 */
#include "fuzz.h"

#include "sealtrace/log/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *key = fuzz_key();
	struct st_ckpt ck;
	char err[512];
	size_t signer;

	if (!st_ckpt_parse_any((const char *)data, size, &key, 1, &ck, &signer,
			       err, sizeof(err)) && signer != 0)
		abort();
	if (!st_ckpt_parse_any((const char *)data, size, NULL, 0, &ck, NULL,
			       err, sizeof(err)))
		(void)st_ckpt_stream(&ck);
	return 0;
}
