// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's floor under wire capture: empty programs on the same two raw
 * syscall tracepoints (sys_enter, sys_exit). bench/wire_bench.py reports
 * what wire.bpf.c adds to a non-target's syscall next to what these cost.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp/sys_enter")
int floor_enter(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_exit")
int floor_exit(void *ctx)
{
	return 0;
}
