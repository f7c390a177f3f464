// SPDX-License-Identifier: Apache-2.0
/*
 * A toy model server for the lifecycle e2e tests: loads its "model" (and
 * reads any other file) like a real engine, then serves N inferences
 * through st_infer(), then exits, optionally by a signal.
 *
 *   model_server --model FILE [--load read|close|mmap] [--open FILE]... --count N
 *                [--go FILE] [--signal SIG] [--sleep-ms MS] [--read-dir DIR]
 *
 * --load: read its first bytes and keep it open (read, the default), read
 * them and close it (close), or map it, close the descriptor and touch the
 * mapping (mmap: no read() at all). --open (up to 4): read the file's first
 * byte and keep it open. --sleep-ms: wait that long first.
 * --read-dir: then read the first byte of every file in DIR (many files
 * read at start, as an interpreter does).
 * Prints "ready pid=<pid>" once the files are loaded (see st_target.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>

#include "st_target.h"

ST_PROBED int st_infer(const uint8_t *in, size_t n)
{
	int sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += in[i];
	ST_BARRIER();
	return sum;
}

static int open_file(const char *path)
{
	int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

/* One byte of every regular file in dir; -1 on an error. */
static int read_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char c;
	int fd, r = 0;

	if (!d)
		return -1;
	while (!r && (de = readdir(d))) {
		if (de->d_type != DT_REG)
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		r = fd < 0 || read(fd, &c, 1) < 0 ? -1 : 0;
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	return r;
}

/* The model's first bytes into buf, as --load says. */
static int load_model(const char *path, const char *how, uint8_t *buf, size_t n)
{
	int fd = open_file(path);
	const uint8_t *map;

	if (strcmp(how, "mmap")) {
		if (read(fd, buf, n) < 0)
			return -1;
		if (!strcmp(how, "close"))
			close(fd);
		return 0;
	}
	map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	memcpy(buf, map, n);	/* the fault: the only access to the file's pages */
	return 0;
}

int main(int argc, char **argv)
{
	const char *model = NULL, *other[4], *go = NULL, *how = "read", *dir = NULL;
	uint8_t buf[64], other_byte;
	uint64_t count = 1, i;
	int k, n, nother = 0, sig = 0, sleep_ms = 0;

	for (k = 1; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--model"))
			model = argv[k + 1];
		else if (!strcmp(argv[k], "--load"))
			how = argv[k + 1];
		else if (!strcmp(argv[k], "--open") && nother < 4)
			other[nother++] = argv[k + 1];
		else if (!strcmp(argv[k], "--count"))
			count = strtoull(argv[k + 1], NULL, 10);
		else if (!strcmp(argv[k], "--go"))
			go = argv[k + 1];
		else if (!strcmp(argv[k], "--signal"))
			sig = atoi(argv[k + 1]);
		else if (!strcmp(argv[k], "--sleep-ms"))
			sleep_ms = atoi(argv[k + 1]);
		else if (!strcmp(argv[k], "--read-dir"))
			dir = argv[k + 1];
	}
	if (!model) {
		fprintf(stderr, "usage: model_server --model FILE [--load read|close|mmap] "
			"[--open FILE]... --count N [--go FILE] [--signal SIG] [--sleep-ms MS] "
			"[--read-dir DIR]\n");
		return 2;
	}
	if (sleep_ms)
		usleep((useconds_t)sleep_ms * 1000);
	if (load_model(model, how, buf, sizeof(buf)))
		return 1;
	for (n = 0; n < nother; n++)	/* read, kept open, no model */
		if (read(open_file(other[n]), &other_byte, 1) < 0)
			return 1;
	if (dir && read_dir(dir))
		return 1;
	st_ready_and_wait(go);
	for (i = 0; i < count; i++)
		st_infer(buf, (size_t)(i % sizeof(buf)));
	printf("done calls=%llu\n", (unsigned long long)count);
	fflush(stdout);
	if (sig)
		raise(sig);
	return 0;
}
