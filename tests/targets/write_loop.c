// SPDX-License-Identifier: Apache-2.0
/*
 * write_loop: N one-byte write()s to /dev/null, timed; the process is not a
 * target, so with the agent's wire capture attached it pays only the
 * syscall tracepoints' check. Prints "ns_per_write <wall> cpu_ns_per_write
 * <cpu>": the CPU time (CLOCK_PROCESS_CPUTIME_ID, user + system) is what
 * the tracepoints add; wall time also counts waiting for a shared CPU.
 *
 *   write_loop [N]   (default 1000000)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, i;
	struct timespec a, b, ca, cb;
	int fd = open("/dev/null", O_WRONLY);
	char c = 'x';

	if (fd < 0 || n <= 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (i = 0; i < n; i++)
		if (write(fd, &c, 1) != 1)
			return 1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("ns_per_write %.2f cpu_ns_per_write %.2f\n",
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n,
	       ((cb.tv_sec - ca.tv_sec) * 1e9 + (cb.tv_nsec - ca.tv_nsec)) / (double)n);
	return 0;
}
