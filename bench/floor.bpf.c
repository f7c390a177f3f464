// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel's floor for a uprobe + uretprobe pair: programs that do
 * nothing. Whatever a probed call costs with these attached is the price
 * of the trap, the (single-step or emulation of the) probed instruction,
 * the return trampoline and the BPF dispatch, the part no agent can avoid.
 *
 * The counting pair exists only to prove, in a separate run, that the
 * empty pair sits where it should (an empty program cannot say it fired).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 entries;
__u64 returns;

SEC("uprobe")
int floor_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_return(void *ctx)
{
	return 0;
}

SEC("uprobe")
int count_entry(void *ctx)
{
	__sync_fetch_and_add(&entries, 1);
	return 0;
}

SEC("uretprobe")
int count_return(void *ctx)
{
	__sync_fetch_and_add(&returns, 1);
	return 0;
}
