/* SPDX-License-Identifier: Apache-2.0 */
/* file: open the files the log and the tools read, refusing special files;
 * whole writes and durable whole-file replacement (tmp + rename). */
#ifndef SEALTRACE_FILE_H
#define SEALTRACE_FILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* write(2) until all len bytes are written (EINTR retried); 0, or -1 with errno. */
int st_write_all(int fd, const void *buf, size_t len);

/*
 * Replace path (in directory dir) by data, durably: write tmp (in dir too),
 * fsync it, rename it over path, fsync dir. A reader sees the old file or
 * the new one, never half. 0, or -1 with "<file>: what" in err and no tmp
 * left behind.
 */
int st_replace_file(const char *dir, const char *path, const char *tmp,
		    const void *data, size_t len, mode_t mode, char *err,
		    size_t errlen);

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
