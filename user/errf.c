// SPDX-License-Identifier: Apache-2.0
/* errf: see include/sealtrace/errf.h. */
#include <stdarg.h>
#include <stdio.h>

#include "sealtrace/errf.h"

int st_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
