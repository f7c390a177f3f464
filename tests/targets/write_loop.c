// SPDX-License-Identifier: Apache-2.0
/*
 * write_loop: N one-byte writes, timed, by a process that is not a target:
 * with the agent's wire capture attached it pays only what the tracepoints
 * cost everyone else. Prints "ns_per_write <wall> cpu_ns_per_write <cpu>":
 * the CPU time (CLOCK_PROCESS_CPUTIME_ID, user + system) is what the
 * tracepoints add; wall time also counts waiting for a shared CPU.
 *
 *   write_loop [N] [--udp]   (default 1000000 write()s to /dev/null;
 *                             --udp: to a connected UDP socket on
 *                             127.0.0.1 that nobody reads, so that socket
 *                             tracepoints fire on every call)
 *   write_loop N --pread FILE   N one-byte pread()s of a cached file: the
 *                             page cache's read tracepoint on every call
 *   write_loop N --fault FILE   N times: map 64 KiB of FILE, touch it (one
 *                             fault, its fault-around tracepoint), unmap
 */
#include <sys/mman.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A UDP socket connected to a bound one on loopback: a datagram past the
 * receiver's buffer is dropped by the kernel, the write still succeeds. */
static int udp_pair(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);

	if (rx < 0 || tx < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(rx, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(rx, (struct sockaddr *)&a, &len) ||
	    connect(tx, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	return tx;
}

/* One operation of the loop; 0 when it did what it should. */
static int one_op(int mode, int fd)
{
	volatile const char *map;
	char c = 'x';

	switch (mode) {
	case 'p':
		return pread(fd, &c, 1, 0) != 1;
	case 'f':
		map = mmap(NULL, 1 << 16, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			return 1;
		c = map[0];	/* the fault */
		munmap((void *)map, 1 << 16);
		return 0;
	default:
		return write(fd, &c, 1) != 1;
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 && argv[1][0] != '-' ? atol(argv[1]) : 1000000, i;
	int udp = argc > 1 && !strcmp(argv[argc - 1], "--udp");
	int mode = argc > 3 && !strcmp(argv[2], "--pread") ? 'p' :
		   argc > 3 && !strcmp(argv[2], "--fault") ? 'f' : 'w';
	struct timespec a, b, ca, cb;
	int fd = udp ? udp_pair() : mode != 'w' ? open(argv[3], O_RDONLY) :
		 open("/dev/null", O_WRONLY);

	if (fd < 0 || n <= 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (i = 0; i < n; i++)
		if (one_op(mode, fd))
			return 1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("ns_per_write %.2f cpu_ns_per_write %.2f\n",
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n,
	       ((cb.tv_sec - ca.tv_sec) * 1e9 + (cb.tv_nsec - ca.tv_nsec)) / (double)n);
	return 0;
}
