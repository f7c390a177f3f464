/* SPDX-License-Identifier: Apache-2.0 */
/* file: open the files the log and the tools read, refusing special files. */
#ifndef SEALTRACE_FILE_H
#define SEALTRACE_FILE_H

#include <stdio.h>

/*
 * Open path read-only if it is a regular file. The open itself is
 * non-blocking, so a FIFO (or a device) put where a segment, a checkpoint
 * or status.json belongs is refused at once instead of blocking verify,
 * export, status or the agent for ever. fd, or -1 with errno kept from
 * open() (ENOENT ...) or EINVAL for a special file, and err set to
 * "PATH: what is wrong".
 */
int st_open_regular(const char *path, char *err, size_t errlen);
/* The same as a stdio stream ("r"). */
FILE *st_fopen_regular(const char *path, char *err, size_t errlen);

#endif /* SEALTRACE_FILE_H */
