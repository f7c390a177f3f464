// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel's floor for a uprobe + uretprobe pair: programs that do
 * nothing. Whatever a probed call costs with these attached is the price
 * of the trap, the (single-step or emulation of the) probed instruction,
 * the return trampoline and the BPF dispatch, the part no agent can avoid.
 *
 * The counting pair exists only to prove, in a separate run, that the
 * empty pair sits where it should (an empty program cannot say it fired).
 *
 * The copying pair is the least any tool must do to record what sealtrace
 * records of a call: at entry the time and the input's bytes (pointer in
 * %di, length in %si) into a ring buffer, the output's pointer (%dx) kept
 * for the thread; at return the time, the return value and the output's
 * bytes (%ax of them, as the bench's recipe says). No call numbers, loss
 * accounting, nesting, process names or wakeup policy: the consumer polls.
 * What sealtrace costs above it is the price of those.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define COPY_MAX 65536

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

struct copy_event {
	__u64 ts;
	__u64 ret;
	__u32 tid;
	__u32 len;
	__u8 data[COPY_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} copies SEC(".maps");

/* A slot per CPU (a per-CPU array's values are limited to 32 KiB). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* set to the number of possible CPUs */
	__type(key, __u32);
	__type(value, struct copy_event);
} copy_scratch SEC(".maps");

/* The output pointer of the thread's call in flight (one level: no nesting). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} copy_out SEC(".maps");

static __always_inline int copy_emit(struct copy_event *e, __u64 ptr, __u64 len)
{
	__u32 n = len > COPY_MAX ? COPY_MAX : (__u32)len;

	if (n && bpf_probe_read_user(e->data, n, (void *)ptr))
		n = 0;
	e->len = n;
	return bpf_ringbuf_output(&copies, e, offsetof(struct copy_event, data) + n,
				  BPF_RB_NO_WAKEUP);
}

SEC("uprobe")
int copy_entry(struct pt_regs *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id(), tid = (__u32)bpf_get_current_pid_tgid();
	struct copy_event *e = bpf_map_lookup_elem(&copy_scratch, &cpu);
	__u64 out = PT_REGS_PARM3(ctx), *slot;

	if (!e)
		return 0;
	e->ts = bpf_ktime_get_tai_ns();
	e->tid = tid;
	e->ret = 0;
	slot = bpf_map_lookup_elem(&copy_out, &tid);
	if (slot)
		*slot = out;
	else
		bpf_map_update_elem(&copy_out, &tid, &out, BPF_ANY);
	copy_emit(e, PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx));
	return 0;
}

SEC("uretprobe")
int copy_return(struct pt_regs *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id(), tid = (__u32)bpf_get_current_pid_tgid();
	struct copy_event *e = bpf_map_lookup_elem(&copy_scratch, &cpu);
	__u64 *slot = bpf_map_lookup_elem(&copy_out, &tid);

	if (!e)
		return 0;
	e->ts = bpf_ktime_get_tai_ns();
	e->tid = tid;
	e->ret = PT_REGS_RC(ctx);
	copy_emit(e, slot ? *slot : 0, slot ? e->ret : 0);
	return 0;
}
