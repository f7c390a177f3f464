// SPDX-License-Identifier: Apache-2.0
/*
 * The fetch-arg parser. What it accepts must format back to text that
 * parses to the same fetch-arg (the round trip --check-config prints).
 */
#include "fuzz.h"

#include "sealtrace/capture/fetcharg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), err[256], a[512], b[512];
	struct st_fetch f, g;

	if (!st_fetcharg_parse(text, &f, err, sizeof(err))) {
		(void)st_fetcharg_uses_retval(&f);
		if (st_fetcharg_format(&f, a, sizeof(a)) >= 0) {
			if (st_fetcharg_parse(a, &g, err, sizeof(err)))
				abort();	/* formatted text does not parse */
			if (st_fetcharg_format(&g, b, sizeof(b)) < 0 || strcmp(a, b))
				abort();	/* the round trip changed it */
		}
	} else if (!err[0]) {
		abort();
	}
	free(text);
	return 0;
}
