// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's floor under wire capture: empty programs on the tracepoints
 * wire.bpf.c uses (sock_send_length, sock_recv_length, inet_sock_set_state)
 * and, for comparison, on the syscall tracepoints a syscall-level design
 * would use (raw sys_enter/sys_exit, syscalls:sys_enter_close), and on the
 * page cache's, which lifecycle.bpf.c uses to find model files read.
 * bench/wire_bench.py reports what wire capture adds to a non-target's
 * calls next to what these cost.
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

SEC("tracepoint/syscalls/sys_enter_close")
int floor_close(void *ctx)
{
	return 0;
}

SEC("raw_tp/sock_send_length")
int floor_send(void *ctx)
{
	return 0;
}

SEC("raw_tp/sock_recv_length")
int floor_recv(void *ctx)
{
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int floor_state(void *ctx)
{
	return 0;
}

SEC("raw_tp/mm_filemap_get_pages")
int floor_pages(void *ctx)
{
	return 0;
}

SEC("raw_tp/mm_filemap_map_pages")
int floor_map(void *ctx)
{
	return 0;
}

SEC("raw_tp/mm_filemap_fault")
int floor_fault(void *ctx)
{
	return 0;
}
