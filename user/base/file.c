// SPDX-License-Identifier: Apache-2.0
/* file: see include/sealtrace/base/file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/base/file.h"

static const char *kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "a special file";
}

int st_open_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		st_errf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st)) {
		e = errno;
		st_errf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		st_errf(err, errlen, "%s: not a regular file but %s", path,
			kind(st.st_mode));
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* reads of a regular file never block; drop the flag all the same */
	if (fcntl(fd, F_SETFL, 0)) {
		e = errno;
		st_errf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

FILE *st_fopen_regular(const char *path, char *err, size_t errlen)
{
	int fd = st_open_regular(path, err, errlen), e;
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f) {
		e = errno;
		st_errf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
	}
	return f;
}

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
