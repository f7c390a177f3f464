// SPDX-License-Identifier: Apache-2.0
/* The config loader (YAML) on arbitrary bytes, as from a file. */
#include "fuzz.h"

#include "sealtrace/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_config cfg;
	char err[512];

	if (!st_config_load_string("fuzz.yaml", (const char *)data, size, &cfg,
				   err, sizeof(err)))
		st_config_free(&cfg);
	else if (!err[0])
		abort();	/* every rejection says why */
	return 0;
}
