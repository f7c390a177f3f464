// SPDX-License-Identifier: Apache-2.0
/*
 * cet_target: loop mode of workload, built with -fcf-protection=full
 * (TARGET_CFLAGS_cet_target in the Makefile) so every function, st_predict
 * included, starts with endbr64. A uprobe on endbr64 is single-stepped
 * (tens of µs); the agent must attach at symbol+4 instead, and the e2e
 * test checks that it does and still captures every call.
 *
 *   cet_target [loop] [--count N] [--seed S] [--cap C] [--go FILE] [--dump]
 *
 * Inputs, outputs and --dump lines are those of "workload loop --seed S
 * --cap C" (tests/targets/st_target.h), so tests/e2e/workload_inputs.py
 * checks them too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_target.h"

volatile uint64_t st_sink;

int st_predict(const unsigned char *in, size_t in_len, unsigned char *out,
	       size_t out_cap);

ST_PROBED int st_predict(const unsigned char *in, size_t in_len,
			 unsigned char *out, size_t out_cap)
{
	ST_BARRIER();
	return (int)st_transform(in, in_len, out, out_cap);
}

static void dump_bytes(const char *what, uint64_t i, const void *b, size_t n)
{
	printf("%s i=%llu len=%zu hex=", what, (unsigned long long)i, n);
	st_hex(stdout, b, n);
	putchar('\n');
}

int main(int argc, char **argv)
{
	uint64_t count = 1000, seed = 1, cap = 4096, i, len;
	unsigned char *in, out[64];
	const char *go = NULL;
	int k, n, dump = 0;

	/* "loop" is accepted so a workload command line works unchanged. */
	for (k = argc > 1 && !strcmp(argv[1], "loop") ? 2 : 1; k < argc; k++) {
		if (!strcmp(argv[k], "--dump")) {
			dump = 1;
			continue;
		}
		if (k + 1 >= argc) {
			fprintf(stderr, "usage: cet_target [--count N] [--seed S] "
					"[--cap C] [--go FILE] [--dump]\n");
			return 2;
		}
		if (!strcmp(argv[k], "--count"))
			count = st_parse_u64(argv[k], argv[k + 1]);
		else if (!strcmp(argv[k], "--seed"))
			seed = st_parse_u64(argv[k], argv[k + 1]);
		else if (!strcmp(argv[k], "--cap"))
			cap = st_parse_u64(argv[k], argv[k + 1]);
		else if (!strcmp(argv[k], "--go"))
			go = argv[k + 1];
		else {
			fprintf(stderr, "unknown option '%s'\n", argv[k]);
			return 2;
		}
		k++;
	}
	if (cap < 1 || cap > (1u << 24)) {
		fprintf(stderr, "--cap must be 1..16M\n");
		return 2;
	}
	in = malloc(2 * cap + 100);
	if (!in) {
		perror("malloc");
		return 1;
	}
	st_ready_and_wait(go);
	for (i = 0; i < count; i++) {
		len = st_input_len(i, cap);
		st_input_fill(seed, i, in, len);
		n = st_predict(in, len, out, sizeof(out));
		st_sink += (uint64_t)n;
		if (dump) {
			dump_bytes("in", i, in, len);
			dump_bytes("out", i, out, (size_t)n);
		}
	}
	free(in);
	printf("done calls=%llu\n", (unsigned long long)count);
	return 0;
}
