// SPDX-License-Identifier: Apache-2.0
/*
 * A toy model server for the lifecycle e2e tests: opens its "model" (and any
 * other file) with openat() like a real engine, then serves N inferences
 * through st_infer(), then exits, optionally by a signal.
 *
 *   model_server --model FILE [--open FILE] --count N [--go FILE] [--signal SIG]
 *
 * Prints "ready pid=<pid>" once the files are open (see st_target.h).
 */
#include <fcntl.h>
#include <signal.h>

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

int main(int argc, char **argv)
{
	const char *model = NULL, *other = NULL, *go = NULL;
	uint8_t buf[64];
	uint64_t count = 1, i;
	int k, sig = 0, fd;

	for (k = 1; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--model"))
			model = argv[k + 1];
		else if (!strcmp(argv[k], "--open"))
			other = argv[k + 1];
		else if (!strcmp(argv[k], "--count"))
			count = strtoull(argv[k + 1], NULL, 10);
		else if (!strcmp(argv[k], "--go"))
			go = argv[k + 1];
		else if (!strcmp(argv[k], "--signal"))
			sig = atoi(argv[k + 1]);
	}
	if (!model) {
		fprintf(stderr, "usage: model_server --model FILE [--open FILE] --count N "
			"[--go FILE] [--signal SIG]\n");
		return 2;
	}
	fd = open_file(model);
	if (read(fd, buf, sizeof(buf)) < 0)
		return 1;
	if (other)
		close(open_file(other));
	st_ready_and_wait(go);
	for (i = 0; i < count; i++)
		st_infer(buf, (size_t)(i % sizeof(buf)));
	printf("done calls=%llu\n", (unsigned long long)count);
	fflush(stdout);
	if (sig)
		raise(sig);
	return 0;
}
