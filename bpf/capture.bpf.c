// SPDX-License-Identifier: GPL-2.0
/*
 * Capture: generic uprobe/uretprobe programs. Which probe fired comes from
 * the attach cookie; what to capture comes from recipes[cookie], written by
 * userspace before attaching (user/capture.c). Every entry and every return
 * becomes one ring-buffer event (struct st_event + captured bytes).
 *
 * Why a per-CPU scratch buffer plus bpf_ringbuf_output() rather than
 * bpf_ringbuf_reserve(): the reserve size must be a verifier constant, so
 * reserving would cost the full cap (64 KiB) of ring space for every event,
 * while most inputs are a few hundred bytes. Building the event in scratch
 * and copying exactly header + captured bytes uses ring space in proportion
 * to what was captured, at the price of one memcpy in the kernel.
 *
 * Uprobe programs attached through perf events run with preemption
 * disabled (trace_call_bpf), so a CPU-indexed scratch slot cannot be
 * reused under our feet.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sealtrace/capture/capture_abi.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by userspace before load. */
const volatile __u64 wakeup_bytes = 1 << 20;	/* wake the consumer past this fill */
const volatile __u64 heartbeat_deadline_ns = 0;	/* fail-closed: agent stale after this */

/* A lost event counts as agent_down when the agent's heartbeat is this old. */
#define AGENT_AWAY_NS (5ULL * 1000000000ULL)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);	/* resized from the config before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_MAX_PROBES);
	__type(key, __u32);
	__type(value, struct st_recipe);
} recipes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_MAX_PROBES);
	__type(key, __u32);
	__type(value, struct st_probe_counters);
} counters SEC(".maps");

/* Per-probe call numbers: the kernel's own proof of how many calls it saw. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_MAX_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} call_seq SEC(".maps");

/*
 * Entry and return events that could not be written, by call number. The
 * consumer pops these before it drains the ring (an entry is committed
 * before its return can be lost), so it knows exactly which calls are
 * missing their input, their output, or both.
 */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 65536);
	__type(value, struct st_lost_event);
} lost_events SEC(".maps");

/* ST_LAYOUT_VERSION of the agent that created the pinned maps. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} layout SEC(".maps");

/* Written by the agent only; pinned so that it survives a restart. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct st_accounting);
} accounting SEC(".maps");

/* The agent's last sign of life (CLOCK_TAI ns), for fail-closed targets. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} agent_heartbeat SEC(".maps");

/*
 * How far the agent has read (a ring position, like the producer's). The
 * ring's consumer position moves only when what was read is durable (up to
 * an fsync interval later), so the ring's own fill counts data the agent
 * already holds; this one does not.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);	/* [0] the agent's read position, [1] see wake_agent() */
	__type(key, __u32);
	__type(value, __u64);
} agent_read_pos SEC(".maps");

#define ST_SCRATCH_DATA (2 * ST_MAX_CAPTURE + 64)

struct scratch {
	struct st_event ev;
	__u8 data[ST_SCRATCH_DATA];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* set to the number of possible CPUs */
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_buf SEC(".maps");

/* What the entry saw that the return needs: one frame per nesting level. */
struct frame {
	__u64 kseq;
	__u64 entry_lost;	/* the entry event did not reach the ring */
	__u64 in_ptr;
	__u64 in_len;
	__u64 out_ptr;
	__u64 out_len;
};

struct call_key {
	__u32 tid;
	__u32 probe_id;
};

struct call_state {
	__u32 depth;
	__u32 pad;
	struct frame frames[ST_MAX_DEPTH];
};

/* Too big for the 512-byte BPF stack; the initial value of a new entry. */
static const struct call_state zero_call_state;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct call_key);
	__type(value, struct call_state);
} calls SEC(".maps");

/*
 * The probes a thread has frame stacks for, a bit per probe id, so that its
 * exit visits only those. Set when a stack is created, not at every call:
 * a count of open calls updated at entry and return (a second hash lookup
 * and an atomic add each) cost ~100 ns a call.
 */
struct thread_probes {
	__u64 bits[ST_MAX_PROBES / 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct thread_probes);
} thread_probes SEC(".maps");

/*
 * One register of the probed task, as a load from ctx at a constant
 * offset. Written in asm because clang turns a switch of field loads into
 * one load at a computed offset, which the verifier refuses for ctx; the
 * way round that, bpf_probe_read_kernel() of the field, cost ~50 ns a
 * register (a helper call and copy_from_kernel_nofault's checks: 5 % of a
 * traced process's time at an emulated probe site, measured).
 */
#define CTX_REG(regs, field)							\
	({									\
		__u64 __v;							\
		asm volatile("%[v] = *(u64 *)(%[r] + %[o])"			\
			     : [v] "=r"(__v)					\
			     : [r] "r"(regs),					\
			       [o] "i"(offsetof(struct pt_regs, field)));	\
		__v;								\
	})

static __always_inline __u64 reg_value(struct pt_regs *regs, __u8 reg)
{
	switch (reg) {
	case ST_REG_DI: return CTX_REG(regs, di);
	case ST_REG_SI: return CTX_REG(regs, si);
	case ST_REG_DX: return CTX_REG(regs, dx);
	case ST_REG_CX: return CTX_REG(regs, cx);
	case ST_REG_R8: return CTX_REG(regs, r8);
	case ST_REG_R9: return CTX_REG(regs, r9);
	case ST_REG_AX: return CTX_REG(regs, ax);
	case ST_REG_SP: return CTX_REG(regs, sp);
	case ST_REG_BP: return CTX_REG(regs, bp);
	case ST_REG_BX: return CTX_REG(regs, bx);
	case ST_REG_R10: return CTX_REG(regs, r10);
	case ST_REG_R11: return CTX_REG(regs, r11);
	case ST_REG_R12: return CTX_REG(regs, r12);
	case ST_REG_R13: return CTX_REG(regs, r13);
	case ST_REG_R14: return CTX_REG(regs, r14);
	case ST_REG_R15: return CTX_REG(regs, r15);
	case ST_REG_IP: return CTX_REG(regs, ip);
	}
	return 0;
}

static __always_inline __u32 type_size(__u8 type)
{
	switch (type) {
	case ST_FT_U8:
	case ST_FT_S8: return 1;
	case ST_FT_U16:
	case ST_FT_S16: return 2;
	case ST_FT_U32:
	case ST_FT_S32: return 4;
	}
	return 8;
}

/* Truncate or sign-extend a raw value to the fetch-arg's type. */
static __always_inline __u64 apply_type(__u64 v, __u8 type)
{
	switch (type) {
	case ST_FT_U8: return (__u8)v;
	case ST_FT_U16: return (__u16)v;
	case ST_FT_U32: return (__u32)v;
	case ST_FT_S8: return (__u64)(__s64)(__s8)v;
	case ST_FT_S16: return (__u64)(__s64)(__s16)v;
	case ST_FT_S32: return (__u64)(__s64)(__s32)v;
	}
	return v;
}

/* Evaluate a compiled fetch-arg; see struct st_fetch. 0 or -1 on a fault. */
static __always_inline int fetch(struct pt_regs *regs, const struct st_fetch *f,
				 __u64 *out)
{
	__u64 v, tmp;
	__u32 sz;
	int i;

	v = f->base == ST_FETCH_IMM ? f->imm : reg_value(regs, f->reg);
	for (i = 0; i < ST_MAX_DEREF; i++) {
		if (i >= f->nderef)
			break;
		sz = i == f->nderef - 1 ? type_size(f->type) : 8;
		tmp = 0;
		if (bpf_probe_read_user(&tmp, sz & 15, (void *)(v + f->off[i])))
			return -1;
		v = tmp;
	}
	v += f->add;
	if (f->type != ST_FT_STRING)
		v = apply_type(v, f->type);
	*out = v;
	return 0;
}

/*
 * Pointer and requested length of a capture. For ST_LEN_STRING the length
 * is found while reading, so *want is the cap plus one (meaning "up to").
 */
static __always_inline int locate(struct pt_regs *regs, const struct st_capture *c,
				  __u64 *ptr, __u64 *want)
{
	if (fetch(regs, &c->ptr, ptr))
		return -1;
	switch (c->mode) {
	case ST_LEN_FIXED:
		*want = c->fixed_len;
		return 0;
	case ST_LEN_FETCH:
		if (fetch(regs, &c->len, want))
			return -1;
		/* a negative s32 length is a fault, not 4 GiB of data */
		if ((__s64)*want < 0)
			return -1;
		*want *= c->elem_size;
		return 0;
	case ST_LEN_STRING:
		*want = (__u64)c->max + 1;
		return 0;
	}
	*want = 0;
	return 0;
}

/*
 * Copy the bytes of one capture to dst (ST_MAX_CAPTURE + 1 bytes room).
 * Returns the number of bytes captured; sets the event's trunc/fault flags.
 */
static __always_inline __u32 read_bytes(const struct st_capture *c, __u64 ptr,
					__u64 want, __u8 *dst, __u16 *flags,
					__u16 trunc_flag, __u16 fault_flag,
					__u32 *want_out)
{
	__u32 cap = c->max;
	__u32 n;
	long r;

	if (cap > ST_MAX_CAPTURE)
		cap = ST_MAX_CAPTURE;
	*want_out = want > 0xffffffffULL ? 0xffffffff : (__u32)want;
	if (c->mode == ST_LEN_STRING) {
		/* room for cap bytes, one more to see whether it goes on, and NUL */
		n = cap + 2;
		if (n > ST_MAX_CAPTURE + 2)
			n = ST_MAX_CAPTURE + 2;
		r = bpf_probe_read_user_str(dst, n, (void *)ptr);
		if (r < 0) {
			*flags |= fault_flag;
			return 0;
		}
		n = r > 0 ? r - 1 : 0;	/* drop the NUL */
		if (n > cap) {
			*flags |= trunc_flag;
			n = cap;
		} else {
			*want_out = n;
		}
		return n;
	}
	n = want > cap ? cap : (__u32)want;
	if (want > cap)
		*flags |= trunc_flag;
	if (n > ST_MAX_CAPTURE)
		n = ST_MAX_CAPTURE;
	if (n == 0)
		return 0;
	if (bpf_probe_read_user(dst, n, (void *)ptr)) {
		*flags |= fault_flag;
		return 0;
	}
	return n;
}

static __always_inline struct st_probe_counters *counters_of(__u32 probe_id)
{
	return bpf_map_lookup_elem(&counters, &probe_id);
}

/* Fail closed: the caller gets the configured signal instead of an unlogged call. */
static __always_inline void maybe_signal(const struct st_recipe *r,
					 struct st_probe_counters *cnt)
{
	if (!(r->flags & ST_RECIPE_SIGNAL_ON_LOSS))
		return;
	if (bpf_send_signal(r->signal) == 0 && cnt)
		cnt->signals++;
}

/* The agent is stale when its heartbeat is older than the deadline. */
static __always_inline bool agent_stale(__u64 now)
{
	__u32 zero = 0;
	__u64 *hb;

	if (!heartbeat_deadline_ns)
		return false;
	hb = bpf_map_lookup_elem(&agent_heartbeat, &zero);
	return hb && *hb && now - *hb > heartbeat_deadline_ns;
}

/* A ring-buffer write failed: count it, as agent_down when the agent is away. */
static __always_inline void count_lost_event(struct st_probe_counters *cnt, __u64 now)
{
	__u32 zero = 0;
	__u64 *hb = bpf_map_lookup_elem(&agent_heartbeat, &zero);

	cnt->rb_full++;
	if (hb && *hb && now - *hb > AGENT_AWAY_NS)
		cnt->rb_full_agent_down++;
}

/*
 * Tell the consumer which call an event belonged to. The notice is only
 * for the call number: the count of calls lost whole is kept in
 * calls_lost, so a full queue costs the range, never the count.
 */
static __always_inline void notify_lost(struct st_probe_counters *cnt, __u32 probe_id,
					__u32 what, __u64 kseq)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct st_lost_event le = {
		.probe_id = probe_id,
		.what = what,
		.tgid = pid_tgid >> 32,
		.tid = (__u32)pid_tgid,
		.kseq = kseq,
	};

	if (bpf_map_push_elem(&lost_events, &le, 0))
		cnt->lost_queue_full++;
}

/* Neither event of this call is in the ring: lost whole, counted here. */
static __always_inline void call_lost(struct st_probe_counters *cnt, __u32 probe_id,
				      __u64 kseq)
{
	cnt->calls_lost++;
	notify_lost(cnt, probe_id, ST_LOST_CALL, kseq);
}

/* The entry event could not be written: the return (or thread exit) decides. */
static __always_inline void lose_entry(struct st_probe_counters *cnt, struct frame *fr,
				       __u64 now)
{
	count_lost_event(cnt, now);
	if (fr)
		fr->entry_lost = 1;
}

/*
 * The return event of a call could not be written. If its entry was lost
 * too, the call is lost whole; otherwise the consumer holds the entry and
 * is told to record the call without its output.
 */
static __always_inline void lose_return(struct st_probe_counters *cnt, __u32 probe_id,
					const struct frame *f, bool have_frame, __u64 now)
{
	count_lost_event(cnt, now);
	if (!have_frame)
		return;
	if (f->entry_lost)
		call_lost(cnt, probe_id, f->kseq);
	else
		notify_lost(cnt, probe_id, ST_LOST_RETURN, f->kseq);
}

/*
 * Whether to wake the agent. A wakeup is an interrupt raised in the traced
 * process (irq_work and an APIC write: ~2-4 us a call on a VM), so: only
 * when wakeup_bytes are waiting *unread* (the ring's own fill also counts
 * what the agent has read but not yet committed, up to an fsync interval:
 * a threshold on it fired on every event of that interval, 24 % of a
 * traced process's time at an emulated probe site, measured), and at most
 * once per position the agent has published (an agent that is reading
 * but slower than the process needs no wakeup per event: 15 %, measured).
 * Without a published position (an older agent), the ring's fill.
 */
static __always_inline bool wake_agent(void)
{
	__u64 prod = bpf_ringbuf_query(&events, BPF_RB_PROD_POS), *rp, *woken;
	__u32 zero = 0, one = 1;

	rp = bpf_map_lookup_elem(&agent_read_pos, &zero);
	woken = bpf_map_lookup_elem(&agent_read_pos, &one);
	if (!rp || !woken || !*rp || *rp > prod)
		return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes;
	if (prod - *rp < wakeup_bytes || *woken == *rp)
		return false;
	*woken = *rp;
	return true;
}

static __always_inline long emit(struct scratch *s, __u32 len)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (wake_agent())
		flags = BPF_RB_FORCE_WAKEUP;
	if (len > sizeof(*s))
		return -1;
	return bpf_ringbuf_output(&events, s, len, flags);
}

static __always_inline struct scratch *scratch_slot(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch_buf, &cpu);
}

static __always_inline void fill_header(struct scratch *s, __u16 kind,
					__u32 probe_id, __u64 pid_tgid, __u64 now)
{
	s->ev.kind = kind;
	s->ev.probe_id = probe_id;
	s->ev.flags = 0;
	s->ev.depth = 0;
	s->ev.tgid = pid_tgid >> 32;
	s->ev.tid = (__u32)pid_tgid;
	s->ev.ts_ns = now;
	s->ev.kseq = 0;
	s->ev.ret = 0;
	s->ev.in_len = 0;
	s->ev.in_want = 0;
	s->ev.out_len = 0;
	s->ev.out_want = 0;
}

/*
 * The thread's name. A return whose entry event is in the ring goes
 * without (zeroed: the consumer takes the entry's), which saves a helper
 * call and a string copy at every return.
 */
static __always_inline void set_comm(struct scratch *s, bool needed)
{
	if (needed)
		bpf_get_current_comm(s->ev.comm, sizeof(s->ev.comm));
	else
		__builtin_memset(s->ev.comm, 0, sizeof(s->ev.comm));
}

/* Where one capture's bytes are, as located at entry or at return. */
struct located {
	__u64 ptr;
	__u64 want;	/* bytes the call has there, before the cap */
	int fault;	/* the pointer or length could not be read */
};

/* Capture c (if it is due at this moment) into the data area after `used` bytes. */
static __always_inline __u32 capture_into(struct scratch *s, const struct st_capture *c,
					  const struct located *at, __u32 used,
					  __u16 trunc_flag, __u16 fault_flag,
					  __u32 *want_out)
{
	if (at->fault) {
		s->ev.flags |= fault_flag;
		return 0;
	}
	if (used > ST_MAX_CAPTURE)
		return 0;
	return read_bytes(c, at->ptr, at->want, s->data + used, &s->ev.flags, trunc_flag,
			  fault_flag, want_out);
}

/* The input, then the output, of the captures the recipe takes at this moment. */
static __always_inline void capture_due(struct scratch *s, const struct st_recipe *r,
					__u8 moment, const struct located *in,
					const struct located *out)
{
	if (r->in.mode != ST_LEN_NONE && r->in.at == moment)
		s->ev.in_len = capture_into(s, &r->in, in, 0, ST_F_IN_TRUNC, ST_F_IN_FAULT,
					    &s->ev.in_want);
	if (r->out.mode != ST_LEN_NONE && r->out.at == moment)
		s->ev.out_len = capture_into(s, &r->out, out, s->ev.in_len, ST_F_OUT_TRUNC,
					     ST_F_OUT_FAULT, &s->ev.out_want);
}

static __always_inline void count_capture(struct st_probe_counters *cnt, __u16 flags)
{
	if (flags & (ST_F_IN_TRUNC | ST_F_OUT_TRUNC))
		cnt->truncated++;
	if (flags & (ST_F_IN_FAULT | ST_F_OUT_FAULT))
		cnt->faults++;
}

/* Count the captures, then write the event: 0, or -1 when the ring refused it. */
static __always_inline int submit(struct scratch *s, struct st_probe_counters *cnt)
{
	count_capture(cnt, s->ev.flags);
	if (emit(s, sizeof(s->ev) + s->ev.in_len + s->ev.out_len))
		return -1;
	cnt->emitted++;
	return 0;
}

/* Pointer and length of a capture at entry; a return-time length is fetched later. */
static __always_inline void locate_at_entry(struct pt_regs *ctx, const struct st_capture *c,
					    struct located *at)
{
	at->fault = -1;
	if (c->mode != ST_LEN_NONE)
		at->fault = locate(ctx, c, &at->ptr, &at->want);
	/* at return the pointer is still needed even if the length is due then */
	if (c->at == ST_AT_RETURN && c->len_at_return)
		at->fault = fetch(ctx, &c->ptr, &at->ptr);
}

/*
 * The thread has a frame stack for this probe now. Only the thread itself
 * writes its bits (its probes and its exit run in its own context), so a
 * plain or is enough.
 */
static __always_inline void note_thread_probe(const struct call_key *key)
{
	static const struct thread_probes none;
	struct thread_probes *tp;

	tp = bpf_map_lookup_elem(&thread_probes, &key->tid);
	if (!tp) {
		bpf_map_update_elem(&thread_probes, &key->tid, &none, BPF_NOEXIST);
		tp = bpf_map_lookup_elem(&thread_probes, &key->tid);
	}
	if (tp)
		tp->bits[(key->probe_id / 64) & (ST_MAX_PROBES / 64 - 1)] |=
			1ULL << (key->probe_id % 64);
}

/* Push this call's frame on the thread's stack for the probe; NULL past ST_MAX_DEPTH. */
static __always_inline struct frame *push_frame(const struct call_key *key,
						struct st_probe_counters *cnt, __u64 kseq,
						const struct located *in,
						const struct located *out, __u32 *depth)
{
	struct call_state *st;
	struct frame *f = NULL;

	*depth = 0;
	st = bpf_map_lookup_elem(&calls, key);
	if (!st) {
		bpf_map_update_elem(&calls, key, &zero_call_state, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&calls, key);
		note_thread_probe(key);
	}
	if (!st)
		return NULL;
	*depth = st->depth;
	if (*depth < ST_MAX_DEPTH) {
		f = &st->frames[*depth & (ST_MAX_DEPTH - 1)];
		f->kseq = kseq;
		f->entry_lost = 0;
		f->in_ptr = in->fault ? 0 : in->ptr;
		f->in_len = in->fault ? ~0ULL : in->want;
		f->out_ptr = out->fault ? 0 : out->ptr;
		f->out_len = out->fault ? ~0ULL : out->want;
	} else {
		cnt->depth_overflow++;
	}
	st->depth = *depth + 1;
	return f;
}

/*
 * Pop the frame of the returning call into *f. 1 with the frame, 0 when
 * the call was nested too deep, -1 when no call of the thread is open
 * (the entry ran before the agent, or the LRU evicted the state).
 *
 * A thread's state stays in the map at depth 0 (thread exit or the LRU
 * removes it): an insert and a delete of the LRU hash on every call cost
 * ~17 % of a traced process's time at an emulated probe site.
 */
static __always_inline int pop_frame(const struct call_key *key, struct frame *f,
				     __u32 *depth)
{
	struct call_state *st;

	*depth = 0;
	st = bpf_map_lookup_elem(&calls, key);
	if (!st || st->depth == 0)
		return -1;
	*depth = st->depth - 1;
	st->depth = *depth;
	if (*depth >= ST_MAX_DEPTH)
		return 0;
	*f = st->frames[*depth & (ST_MAX_DEPTH - 1)];
	return 1;
}

SEC("uprobe")
int st_entry(struct pt_regs *ctx)
{
	__u32 probe_id = (__u32)bpf_get_attach_cookie(ctx);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct call_key key = { .tid = (__u32)pid_tgid, .probe_id = probe_id };
	__u64 now = bpf_ktime_get_tai_ns(), kseq, *seqp;
	struct located in = {}, out = {};
	struct st_probe_counters *cnt;
	const struct st_recipe *r;
	struct frame *fr;
	struct scratch *s;
	__u32 depth;

	r = bpf_map_lookup_elem(&recipes, &probe_id);
	cnt = counters_of(probe_id);
	seqp = bpf_map_lookup_elem(&call_seq, &probe_id);
	if (!r || !cnt || !seqp)
		return 0;
	cnt->hits++;
	kseq = __sync_fetch_and_add(seqp, 1);
	locate_at_entry(ctx, &r->in, &in);
	locate_at_entry(ctx, &r->out, &out);
	fr = push_frame(&key, cnt, kseq, &in, &out, &depth);

	s = scratch_slot();
	if (!s)
		goto lost;
	fill_header(s, ST_EV_ENTRY, probe_id, pid_tgid, now);
	set_comm(s, true);
	s->ev.kseq = kseq;
	s->ev.depth = depth;
	if (depth >= ST_MAX_DEPTH)
		s->ev.flags |= ST_F_DEPTH_OVERFLOW;
	capture_due(s, r, ST_AT_ENTRY, &in, &out);
	if (submit(s, cnt))
		goto lost;
	if (agent_stale(now))
		maybe_signal(r, cnt);
	return 0;
lost:
	lose_entry(cnt, fr, now);
	maybe_signal(r, cnt);
	return 0;
}

/*
 * A capture taken at return: the pointer and length fetched at entry, except
 * a fetch-arg that reads %ax (the return value), which is evaluated now.
 */
static __always_inline int relocate_at_return(struct pt_regs *ctx,
					      const struct st_capture *c,
					      __u64 *ptr, __u64 *want)
{
	if (c->ptr.base == ST_FETCH_REG && c->ptr.reg == ST_REG_AX) {
		if (fetch(ctx, &c->ptr, ptr))
			return -1;
	}
	if (c->mode == ST_LEN_FETCH && c->len_at_return) {
		if (fetch(ctx, &c->len, want) || (__s64)*want < 0)
			return -1;
		*want *= c->elem_size;
		return 0;
	}
	if (c->mode == ST_LEN_STRING) {
		*want = (__u64)c->max + 1;
		return 0;
	}
	return *want == ~0ULL ? -1 : 0;
}

/* A capture due at return, from what its entry frame kept. */
static __always_inline void locate_at_return(struct pt_regs *ctx, const struct st_capture *c,
					     __u64 ptr, __u64 want, struct located *at)
{
	at->ptr = ptr;
	at->want = want;
	at->fault = -1;
	if (c->mode != ST_LEN_NONE && c->at == ST_AT_RETURN)
		at->fault = relocate_at_return(ctx, c, &at->ptr, &at->want);
}

SEC("uretprobe")
int st_return(struct pt_regs *ctx)
{
	__u32 probe_id = (__u32)bpf_get_attach_cookie(ctx);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct call_key key = { .tid = (__u32)pid_tgid, .probe_id = probe_id };
	__u64 now = bpf_ktime_get_tai_ns();
	struct located in = {}, out = {};
	struct st_probe_counters *cnt;
	const struct st_recipe *r;
	struct frame f = {};
	struct scratch *s;
	__u32 depth;
	int have;

	r = bpf_map_lookup_elem(&recipes, &probe_id);
	cnt = counters_of(probe_id);
	if (!r || !cnt)
		return 0;
	cnt->returns++;
	have = pop_frame(&key, &f, &depth);

	s = scratch_slot();
	if (!s)
		goto lost;
	fill_header(s, ST_EV_RETURN, probe_id, pid_tgid, now);
	set_comm(s, have <= 0 || f.entry_lost);
	s->ev.ret = ctx->ax;
	s->ev.depth = depth;
	if (have <= 0) {
		s->ev.flags |= have == 0 ? ST_F_DEPTH_OVERFLOW : ST_F_NO_ENTRY_STATE;
	} else {
		s->ev.kseq = f.kseq;
		locate_at_return(ctx, &r->in, f.in_ptr, f.in_len, &in);
		locate_at_return(ctx, &r->out, f.out_ptr, f.out_len, &out);
		capture_due(s, r, ST_AT_RETURN, &in, &out);
	}
	if (submit(s, cnt)) {
		lose_return(cnt, probe_id, &f, have > 0, now);
		maybe_signal(r, cnt);
	}
	return 0;
lost:
	lose_return(cnt, probe_id, &f, have > 0, now);
	return 0;
}

/*
 * A dying thread's open calls whose entry was lost will never return: no
 * event of theirs can reach the ring, so they are lost whole.
 */
static __always_inline void count_dead_calls(const struct call_key *key)
{
	struct st_probe_counters *cnt;
	struct call_state *st;
	__u32 d;

	st = bpf_map_lookup_elem(&calls, key);
	if (!st)
		return;
	cnt = counters_of(key->probe_id);
	if (!cnt)
		return;
	for (d = 0; d < ST_MAX_DEPTH; d++) {
		if (d >= st->depth)
			break;
		if (st->frames[d].entry_lost)
			call_lost(cnt, key->probe_id, st->frames[d].kseq);
	}
}

/* What the exit of a thread walks: its probes, and whether a call was open. */
struct exit_walk {
	struct call_key key;
	struct thread_probes probes;
	bool open;
};

/* bpf_loop callback: one probe's state of the dying thread, if it has one. */
static long end_thread_calls(__u32 probe_id, void *ctx)
{
	struct exit_walk *w = ctx;
	struct call_state *st;

	if (!(w->probes.bits[(probe_id / 64) & (ST_MAX_PROBES / 64 - 1)] & (1ULL << (probe_id % 64))))
		return 0;
	w->key.probe_id = probe_id;
	st = bpf_map_lookup_elem(&calls, &w->key);
	if (st && st->depth) {
		w->open = true;
		count_dead_calls(&w->key);
	}
	bpf_map_delete_elem(&calls, &w->key);
	return 0;
}

/*
 * A thread that exits with calls open will never return from them: tell
 * the consumer (it records them as incomplete) and drop the thread's state.
 * Every thread on the node passes here; one that never hit a probe leaves
 * after one lookup.
 */
SEC("tp/sched/sched_process_exit")
int st_thread_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct exit_walk w = { .key.tid = (__u32)pid_tgid };
	struct thread_probes *tp;
	struct scratch *s;

	tp = bpf_map_lookup_elem(&thread_probes, &w.key.tid);
	if (!tp)
		return 0;
	w.probes = *tp;
	bpf_map_delete_elem(&thread_probes, &w.key.tid);
	/* bpf_loop: a plain loop over every probe and frame is too much for the verifier */
	bpf_loop(ST_MAX_PROBES, end_thread_calls, &w, 0);
	if (!w.open)
		return 0;
	s = scratch_slot();
	if (!s)
		return 0;
	fill_header(s, ST_EV_THREAD_EXIT, 0, pid_tgid, bpf_ktime_get_tai_ns());
	set_comm(s, true);
	s->ev.ret = ((struct task_struct *)bpf_get_current_task_btf())->exit_code;
	bpf_ringbuf_output(&events, s, sizeof(s->ev), BPF_RB_FORCE_WAKEUP);
	return 0;
}
