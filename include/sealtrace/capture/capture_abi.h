/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capture: the layout shared by bpf/capture.bpf.c and user/capture/capture.c.
 *
 * Included by the BPF object too, so it holds only the event and map
 * layout and limits, in fixed-width kernel types, and no libc.
 *
 * A probe is one uprobe (and, when it captures at return or needs a
 * duration, one uretprobe) on one function. Its id is the attach cookie;
 * its capture recipe is recipes[id]. Each hit emits one ring-buffer event
 * (ENTRY at the uprobe, RETURN at the uretprobe); userspace pairs them.
 */
#ifndef SEALTRACE_CAPTURE_ABI_H
#define SEALTRACE_CAPTURE_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define ST_MAX_PROBES		256
/*
 * The agent's liveness canary always uses the last id, so that canary
 * events a previous agent left in the pinned ring are never taken for a
 * target's calls.
 */
#define ST_CANARY_PROBE_ID	(ST_MAX_PROBES - 1)
#define ST_MAX_DEREF		3	/* memory reads in one fetch-arg */
#define ST_MAX_CAPTURE		65536	/* bytes per capture (cap upper bound) */
#define ST_DEFAULT_CAPTURE	4096	/* cap when the recipe names none */
#define ST_MAX_DEPTH		8	/* nested calls of one probe per thread */
#define ST_COMM_LEN		16

/* Registers a fetch-arg may start from (x86-64 names, as in perf probe). */
enum st_reg {
	ST_REG_DI = 0,
	ST_REG_SI,
	ST_REG_DX,
	ST_REG_CX,
	ST_REG_R8,
	ST_REG_R9,
	ST_REG_AX,	/* the return value at a uretprobe */
	ST_REG_SP,
	ST_REG_BP,
	ST_REG_BX,
	ST_REG_R10,
	ST_REG_R11,
	ST_REG_R12,
	ST_REG_R13,
	ST_REG_R14,
	ST_REG_R15,
	ST_REG_IP,
	ST_REG_COUNT,
};

/* Value type of a fetch-arg (the ":u32" suffix). */
enum st_ftype {
	ST_FT_U64 = 0,	/* default */
	ST_FT_U8,
	ST_FT_U16,
	ST_FT_U32,
	ST_FT_S8,
	ST_FT_S16,
	ST_FT_S32,
	ST_FT_S64,
	ST_FT_STRING,	/* only on a capture pointer: NUL-terminated bytes */
};

enum st_fetch_base {
	ST_FETCH_NONE = 0,
	ST_FETCH_REG,	/* start from a register */
	ST_FETCH_IMM,	/* a constant ("\$16" or "16") */
};

/*
 * A compiled fetch-arg. Evaluation:
 *	v = base == REG ? regs[reg] : imm;
 *	for (i = 0; i < nderef; i++)
 *		v = *(u64 *)(v + off[i]);	(the last read has the type's width)
 *	v += add;
 * so "+8(+0(%di))" is reg=DI, nderef=2, off={0, 8}. For ST_FT_STRING the
 * outermost dereference is not read: like the kernel's "+0(%si):string",
 * the computed address is where the string starts (nderef-1 reads, then
 * add = the outermost offset).
 */
struct st_fetch {
	__u8 base;	/* enum st_fetch_base */
	__u8 reg;	/* enum st_reg */
	__u8 nderef;	/* 0..ST_MAX_DEREF */
	__u8 type;	/* enum st_ftype */
	__s32 off[ST_MAX_DEREF];
	__s64 add;
	__u64 imm;
};

enum st_len_mode {
	ST_LEN_NONE = 0,	/* capture disabled */
	ST_LEN_FIXED,		/* fixed_len bytes */
	ST_LEN_FETCH,		/* value of len times elem_size */
	ST_LEN_STRING,		/* up to the first NUL */
};

enum st_at {
	ST_AT_ENTRY = 0,
	ST_AT_RETURN,	/* pointer and length fetched at entry, bytes read at return */
};

/* Where the bytes of one capture (input or output) are. */
struct st_capture {
	struct st_fetch ptr;
	struct st_fetch len;
	__u32 fixed_len;
	__u32 elem_size;	/* >= 1 for ST_LEN_FETCH */
	__u32 max;		/* cap in bytes, 1..ST_MAX_CAPTURE */
	__u8 mode;		/* enum st_len_mode */
	__u8 at;		/* enum st_at */
	/*
	 * ST_AT_RETURN only: fetch-args that start from %ax are evaluated
	 * with the return registers; everything else at entry.
	 */
	__u8 len_at_return;
	__u8 pad;
};

#define ST_RECIPE_SIGNAL_ON_LOSS	(1u << 0)	/* fail closed: signal the caller */

struct st_recipe {
	struct st_capture in;
	struct st_capture out;
	__u32 flags;
	__u32 signal;		/* signal number for ST_RECIPE_SIGNAL_ON_LOSS */
};

enum st_event_kind {
	ST_EV_ENTRY = 1,
	ST_EV_RETURN = 2,
	ST_EV_THREAD_EXIT = 3,	/* a thread died with calls still open */
	ST_EV_PROC_EXEC = 4,
	ST_EV_PROC_EXIT = 5,
	ST_EV_FILE_OPEN = 6,
	ST_EV_FILE_READ = 7,	/* a tracked process's first page of a file */
};

/* st_event.flags */
#define ST_F_IN_TRUNC		(1u << 0)	/* input longer than the cap */
#define ST_F_OUT_TRUNC		(1u << 1)
#define ST_F_IN_FAULT		(1u << 2)	/* input unreadable (bad pointer, paged out) */
#define ST_F_OUT_FAULT		(1u << 3)
#define ST_F_DEPTH_OVERFLOW	(1u << 4)	/* nested deeper than ST_MAX_DEPTH */
#define ST_F_NO_ENTRY_STATE	(1u << 5)	/* return without a recorded entry */

/*
 * One ring-buffer record: this header, then in_len input bytes, then
 * out_len output bytes (no flexible array member, so that the BPF side can
 * embed the header in its scratch buffer). Entry and return of one call share kseq.
 */
struct st_event {
	__u16 kind;		/* enum st_event_kind */
	__u16 probe_id;
	__u16 flags;
	__u16 depth;		/* nesting depth of this call, 0 = outermost */
	__u32 tgid;
	__u32 tid;
	__u64 ts_ns;		/* CLOCK_TAI at the hit */
	__u64 kseq;		/* per-probe call number, assigned at the hit */
	__u64 ret;		/* RETURN: %ax; PROC_EXIT: exit code; FILE_OPEN: fd */
	__u32 in_len;		/* captured input bytes following the header */
	__u32 in_want;		/* input length the recipe asked for, before the cap */
	__u32 out_len;
	__u32 out_want;
	char comm[ST_COMM_LEN];
	/* followed by in_len + out_len bytes: see st_event_data() */
};

/* Per-probe counters, one slot per CPU (BPF_MAP_TYPE_PERCPU_ARRAY). */
struct st_probe_counters {
	__u64 hits;		/* uprobe entries seen */
	__u64 returns;		/* uretprobe hits seen */
	__u64 emitted;		/* events written to the ring buffer */
	__u64 rb_full;		/* events lost: bpf_ringbuf_output() failed */
	__u64 truncated;	/* captures cut at the cap */
	__u64 faults;		/* captures that could not be read */
	__u64 depth_overflow;
	__u64 signals;		/* fail-closed signals sent */
	__u64 rb_full_agent_down;	/* of rb_full: while the agent was away */
	__u64 lost_queue_full;	/* lost-event notices that did not fit the queue */
	/*
	 * Calls lost whole: neither entry nor return reached the ring (the
	 * return failed too, or the thread died after a lost entry). Counted
	 * in the kernel, so the count is exact even when notices overflow.
	 */
	__u64 calls_lost;
};

/*
 * What the agent has accounted for, per probe: kept in a pinned map so
 * that it survives restarts together with the kernel counters it is
 * compared with. counted_through is the ring position up to which every
 * event is reflected in these numbers (written after the records are
 * durable, before the ring space is committed).
 */
/*
 * Why calls were lost: the index of st_accounting.lost, of status's lost
 * counters, and (as names, st_loss_reason_name) the "reason" of loss
 * records. New reasons go at the end, with a ST_LAYOUT_VERSION bump.
 */
enum st_loss_reason {
	ST_LOSS_RINGBUF_FULL = 0,
	ST_LOSS_CAPTURE_FAULT,
	ST_LOSS_AGENT_DOWN,
	ST_LOSS_UNPAIRED,
	ST_LOSS_WRITE_FAILED,	/* the log refused the call's record (e.g. disk full) */
	ST_LOSS__COUNT,
};

struct st_accounting {
	__u64 counted_through;
	__u64 persisted[ST_MAX_PROBES];
	__u64 lost[ST_MAX_PROBES][ST_LOSS__COUNT];
	/* the kernel's calls_lost already turned into loss records */
	__u64 calls_lost_seen[ST_MAX_PROBES];
};

/* An entry or return event the ring could not take (queue map lost_events). */
#define ST_LOST_CALL	1	/* a call lost whole (also in calls_lost) */
#define ST_LOST_RETURN	2	/* the return of a call whose entry is in the ring */
struct st_lost_event {
	__u32 probe_id;
	__u32 what;		/* ST_LOST_CALL or ST_LOST_RETURN */
	__u32 tgid;
	__u32 tid;
	__u64 kseq;
};


/*
 * Version of everything a pinned map holds (event, recipe, counter and
 * accounting layouts). A pinned ring from another version would be misread,
 * so an agent refuses pinned state stamped with another version. Bump it
 * with any change to the structs above; the asserts in user/capture/capture.c
 * fail until the sizes there are updated too.
 */
#define ST_LAYOUT_VERSION	3

#endif /* SEALTRACE_CAPTURE_ABI_H */
