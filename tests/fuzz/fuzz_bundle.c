// SPDX-License-Identifier: Apache-2.0
/*
 * Export bundles: what `sealtrace verify --export` runs on a file an
 * auditor received. The first byte picks the keys: odd, the fuzz key
 * (the seeds are signed with it); even, no key, so that notes the fuzzer
 * changed still reach the proof and record checks behind the signature.
 */
#include "fuzz.h"

#include "sealtrace/proof/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY *key = fuzz_key();
	char *name = (char *)"fuzz.bundle";
	struct st_keyset keys = { .key = &key, .name = &name, .n = 1 };
	struct st_bundle_report rep;
	char err[1024];
	FILE *f;
	int rc;

	if (size < 2)
		return 0;
	if (!(data[0] & 1))
		keys.n = 0;
	f = fmemopen((void *)(data + 1), size - 1, "r");
	if (!f)
		abort();
	err[0] = '\0';
	rc = st_bundle_verify(f, "fuzz.bundle", &keys, &rep, err, sizeof(err));
	fclose(f);
	if (rc && !err[0])
		abort();	/* a FAIL says why */
	return 0;
}
