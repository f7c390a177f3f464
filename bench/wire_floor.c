// SPDX-License-Identifier: Apache-2.0
/*
 * wire_floor: attach the empty programs of bench/wire_floor.bpf.c named on
 * the command line (send, recv, state, enter, exit, close, pages, map,
 * fault; default: send
 * recv state, the tracepoints wire.bpf.c uses), print "attached", and hold
 * them until stdin closes or a signal arrives.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "wire_floor.skel.h"

static int attach(struct wire_floor_bpf *s, const char *name)
{
	struct bpf_program *p;

	if (!strcmp(name, "enter"))
		p = s->progs.floor_enter;
	else if (!strcmp(name, "exit"))
		p = s->progs.floor_exit;
	else if (!strcmp(name, "close"))
		p = s->progs.floor_close;
	else if (!strcmp(name, "send"))
		p = s->progs.floor_send;
	else if (!strcmp(name, "recv"))
		p = s->progs.floor_recv;
	else if (!strcmp(name, "state"))
		p = s->progs.floor_state;
	else if (!strcmp(name, "pages"))
		p = s->progs.floor_pages;
	else if (!strcmp(name, "map"))
		p = s->progs.floor_map;
	else if (!strcmp(name, "fault"))
		p = s->progs.floor_fault;
	else {
		fprintf(stderr, "wire_floor: unknown program '%s' "
			"(send, recv, state, enter, exit, close, pages, map, fault)\n", name);
		return -1;
	}
	if (!bpf_program__attach(p)) {
		fprintf(stderr, "wire_floor: cannot attach %s\n", name);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char *const wire_set[] = { "send", "recv", "state" };
	struct wire_floor_bpf *s = wire_floor_bpf__open_and_load();
	char *const *names = argc > 1 ? argv + 1 : wire_set;
	int n = argc > 1 ? argc - 1 : 3;
	char c;

	if (!s) {
		fprintf(stderr, "wire_floor: cannot load\n");
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (attach(s, names[i])) {
			wire_floor_bpf__destroy(s);
			return 1;
		}
	printf("attached\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	wire_floor_bpf__destroy(s);
	return 0;
}
