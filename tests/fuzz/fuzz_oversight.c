// SPDX-License-Identifier: Apache-2.0
/*
 * The annotate socket's request parser (what any local client may send).
 * An accepted request formats to a line that parses to the same request.
 */
#include "fuzz.h"

#include "sealtrace/ops/oversight.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_oversight_req req, again;
	char err[256], line[4096], line2[4096];
	int n;

	err[0] = '\0';
	if (st_oversight_parse((const char *)data, size, &req, err, sizeof(err))) {
		if (!err[0])
			abort();
		return 0;
	}
	n = st_oversight_format(&req, line, sizeof(line));
	if (n < 0)
		return 0;
	if (st_oversight_parse(line, strlen(line), &again, err, sizeof(err)))
		abort();	/* a formatted request does not parse */
	if (st_oversight_format(&again, line2, sizeof(line2)) < 0 ||
	    strcmp(line, line2))
		abort();
	return 0;
}
