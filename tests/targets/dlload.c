// SPDX-License-Identifier: Apache-2.0
/*
 * dlload: an "engine" that loads its inference library at run time, then
 * its model file, then calls st_lib_predict("call-<i>") --count times.
 *
 *   dlload LIB MODEL --count N --go FILE
 *
 * Prints "ready pid=<pid>" first, "loaded" once library and model are
 * open (the model stays open), then waits until FILE exists (polling every
 * 10 ms) before the calls, and prints "done calls=<N>" at the end. The
 * library and the model are opened by the paths given (dlopen, open), so
 * the agent sees exactly what a real engine's loader does.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*predict_fn)(const char *in, size_t n, uint8_t *out);

int main(int argc, char **argv)
{
	char in[32], buf[4096];
	uint8_t out[8];
	predict_fn predict;
	void *lib;
	long i, count;
	int fd;

	if (argc != 7 || strcmp(argv[3], "--count") || strcmp(argv[5], "--go")) {
		fprintf(stderr, "usage: dlload LIB MODEL --count N --go FILE\n");
		return 2;
	}
	count = atol(argv[4]);
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	lib = dlopen(argv[1], RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "dlload: %s\n", dlerror());
		return 1;
	}
	predict = (predict_fn)dlsym(lib, "st_lib_predict");
	if (!predict) {
		fprintf(stderr, "dlload: %s\n", dlerror());
		return 1;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	printf("loaded\n");
	fflush(stdout);
	while (access(argv[6], F_OK))
		usleep(10000);
	for (i = 0; i < count; i++) {
		int n = snprintf(in, sizeof(in), "call-%ld", i);

		predict(in, (size_t)n, out);
	}
	close(fd);
	printf("done calls=%ld\n", count);
	return 0;
}
