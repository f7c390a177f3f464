// SPDX-License-Identifier: Apache-2.0
/* file: see include/sealtrace/base/file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/base/file.h"

int st_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int st_replace_file(const char *dir, const char *path, const char *tmp,
		    const void *data, size_t len, mode_t mode, char *err,
		    size_t errlen)
{
	int fd, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return st_errf(err, errlen, "%s: %s", tmp, strerror(errno));
	if (st_write_all(fd, data, len) || fsync(fd)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		return st_errf(err, errlen, "%s: %s", tmp, strerror(saved));
	}
	if (close(fd) || rename(tmp, path)) {
		saved = errno;
		unlink(tmp);
		return st_errf(err, errlen, "%s -> %s: %s", tmp, path, strerror(saved));
	}
	return st_fsync_dir(dir, err, errlen);
}
