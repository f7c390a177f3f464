/* SPDX-License-Identifier: Apache-2.0 */
/* errf: format an error message into a caller's buffer and return -1. */
#ifndef SEALTRACE_ERRF_H
#define SEALTRACE_ERRF_H

#include <stddef.h>

/* Every module reports errors the same way: err gets the text, -1 the caller. */
int st_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* SEALTRACE_ERRF_H */
