/* SPDX-License-Identifier: Apache-2.0 */
/* errf: format an error message into a caller's buffer; durable directory changes. */
#ifndef SEALTRACE_ERRF_H
#define SEALTRACE_ERRF_H

#include <stddef.h>

/* Every module reports errors the same way: err gets the text, -1 the caller. */
int st_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same for "the thing checked is not intact" (verify, export): returns 1. */
int st_failf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* fsync a directory, so that a rename or unlink in it is durable. */
int st_fsync_dir(const char *dir, char *err, size_t errlen);

#endif /* SEALTRACE_ERRF_H */
