// SPDX-License-Identifier: Apache-2.0
/*
 * wire_floor: attach bench/wire_floor.bpf.c (empty raw sys_enter/sys_exit
 * programs), print "attached", and hold them until stdin closes or a
 * signal arrives.
 */
#include <stdio.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "wire_floor.skel.h"

int main(void)
{
	struct wire_floor_bpf *s = wire_floor_bpf__open_and_load();
	char c;

	if (!s || wire_floor_bpf__attach(s)) {
		fprintf(stderr, "wire_floor: cannot load/attach\n");
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	wire_floor_bpf__destroy(s);
	return 0;
}
