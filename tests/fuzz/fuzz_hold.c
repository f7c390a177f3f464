// SPDX-License-Identifier: Apache-2.0
/* Legal-hold files and the RFC 3339 times in them (st_time_parse). */
#include "fuzz.h"

#include "sealtrace/log/record.h"
#include "sealtrace/log/retention.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256], *text, out[ST_TIME_LEN + 1];
	struct st_hold h;
	uint64_t ns, again;

	why[0] = '\0';
	if (st_hold_parse((const char *)data, size, &h, why, sizeof(why)) && !why[0])
		abort();
	text = fuzz_cstr(data, size);
	/* a time that parses formats back to the same instant */
	if (!st_time_parse(text, &ns) && !st_time_format(ns, out) &&
	    (st_time_parse(out, &again) || again != ns))
		abort();
	free(text);
	return 0;
}
