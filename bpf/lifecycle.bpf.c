// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle: exec, exit, library opens and file reads of the processes the
 * agent cares about (see include/sealtrace/lifecycle.h for what is reported when).
 *
 * Discovery without polling: an exec whose basename matches a watched
 * executable, or an open of a watched library, is reported at once, and
 * the process is stopped (SIGSTOP, delivered before it returns to user
 * space) until the agent has attached its probes and resumes it. That is
 * what makes "logged from its first call" hold for processes that start
 * after the agent. The stop is sent only once the event is in the ring,
 * so a process is never stopped without the agent hearing of it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "sealtrace/targets/lifecycle_abi.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGSTOP_NR 19

/* Written by userspace before load: the kernel-side pre-filter. */
const volatile struct st_lc_watch watch[ST_LC_MAX_WATCH] = {};
const volatile __u32 nwatch = 0;
const volatile __u32 nlib = 0;	/* watches of kind LIB: openat is filtered only then */
/* Opens by tracked processes too (model files where the page cache has no tracepoints). */
const volatile __u32 tracked_opens = 0;
/* Model name suffixes; 0: every file's first read is reported. */
const volatile struct st_lc_suffix suffixes[ST_LC_MAX_SUFFIX] = {};
const volatile __u32 nsuffix = 0;
const volatile bool any_prefix = false;	/* one of them is a prefix: read the name's head */
/* The agent opens target files itself (symbols, digests): never hold it. */
const volatile __u32 agent_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} lc_events SEC(".maps");

/* tgid -> 1: processes the agent tracks (exit and first reads of files reported). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} tracked SEC(".maps");

/*
 * The same set as a bitmap indexed by tgid, for the page cache's programs,
 * which every read and file fault on the node runs: a load and a bit test
 * instead of a hash lookup (~120 ns a read measured with the hash). Set and
 * cleared atomically here and by the agent (mmap'd), beside the hash; the
 * hash stays the truth, a stale bit costs a lookup.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, ST_LC_TGID_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} tracked_bits SEC(".maps");

static __always_inline void mark_tracked(__u32 tgid, bool on)
{
	__u32 word = tgid / 64;
	__u64 *bits = bpf_map_lookup_elem(&tracked_bits, &word);

	if (!bits)
		return;
	if (on)
		__sync_fetch_and_or(bits, 1ULL << (tgid % 64));
	else
		__sync_fetch_and_and(bits, ~(1ULL << (tgid % 64)));
}

static __always_inline bool maybe_tracked(__u32 tgid)
{
	__u32 word = tgid / 64;
	__u64 *bits = bpf_map_lookup_elem(&tracked_bits, &word);

	return bits && (*bits & (1ULL << (tgid % 64)));
}

/*
 * tgid -> CLOCK_TAI ns: processes stopped by hold() and not yet resumed.
 * Pinned, so that an agent killed between the stop and the resume leaves
 * its successor the list of processes to resume.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} held SEC(".maps");

/*
 * Files whose probes are attached (device as the kernel encodes it, inode):
 * uprobes are per inode, so a process that runs or loads such a file is
 * covered from its first instruction and is not held. Filled by the agent
 * after each attach; not pinned (a new agent fills it again).
 */
struct file_key {
	__u32 dev;
	__u32 pad;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct file_key);
	__type(value, __u8);
} covered SEC(".maps");

/*
 * tgid -> CLOCK_TAI ns: held processes that the agent's hold guard resumed
 * because the agent had not within the hold bound; the agent records it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} hold_expired SEC(".maps");

/* An openat() between enter and exit: what the exit needs. */
struct pending_open {
	__u64 filename;		/* user pointer */
	__s32 dfd;
	__u16 flags;		/* ST_LC_F_* */
	__u16 watch;		/* LIB watch index + 1 */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);		/* tid */
	__type(value, struct pending_open);
} pending SEC(".maps");

/* Events that did not fit into the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lc_lost SEC(".maps");

struct path_buf {
	char s[ST_LC_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_buf);
} scratch SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lc_lost, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

/*
 * Name matching runs in bpf_loop() callbacks over the per-CPU scratch copy
 * of the path: verified once, whatever the path's length, where unrolled
 * loops made the verifier walk every (length, basename offset) pair.
 */
static __always_inline struct path_buf *scratch_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

struct base_ctx {
	__u32 base;
};

/* Finds the offset of the last path component (after the last '/'). */
static long base_cb(__u64 i, void *data)
{
	struct base_ctx *c = data;
	struct path_buf *b = scratch_buf();
	char ch;

	if (!b)
		return 1;
	ch = b->s[i & (ST_LC_PATH_MAX - 1)];
	if (!ch)
		return 1;
	if (ch == '/')
		c->base = (__u32)i + 1;
	return 0;
}

struct cmp_ctx {
	__u32 base;
	__u32 wi;
	__u32 ok;
};

/*
 * The basename equals watch[wi].name (EXE), or starts with it followed by
 * '.' (LIB: "libllama" matches libllama.so.0 and libllama.v0.5.0.so, not
 * libllama-common.so).
 */
static long cmp_cb(__u64 j, void *data)
{
	struct cmp_ctx *c = data;
	struct path_buf *b = scratch_buf();
	const volatile struct st_lc_watch *w = &watch[c->wi & (ST_LC_MAX_WATCH - 1)];
	__u32 at = c->base + (__u32)j;
	char got;

	c->ok = 0;
	if (!b || at >= ST_LC_PATH_MAX)
		return 1;
	got = b->s[at & (ST_LC_PATH_MAX - 1)];
	if (j < w->len) {
		if (got != w->name[j & (ST_LC_NAME_MAX - 1)])
			return 1;
		c->ok = 1;	/* so far */
		return 0;
	}
	c->ok = w->kind == ST_LC_WATCH_LIB ? got == '.' : got == '\0';
	return 1;
}

/* Index of the first watch of kind that matches the scratch path, or -1. */
static __always_inline int match(__u8 kind)
{
	struct base_ctx bc = {};
	struct cmp_ctx cc = {};
	__u32 i;

	bpf_loop(ST_LC_PATH_MAX, base_cb, &bc, 0);
	for (i = 0; i < ST_LC_MAX_WATCH; i++) {
		if (i >= nwatch)
			break;
		if (watch[i].kind != kind)
			continue;
		cc.base = bc.base;
		cc.wi = i;
		cc.ok = 0;
		bpf_loop(ST_LC_NAME_MAX, cmp_cb, &cc, 0);
		if (cc.ok)
			return (int)i;
	}
	return -1;
}

static __always_inline void fill(struct st_lc_event *ev, __u16 kind, __u64 pid_tgid)
{
	ev->kind = kind;
	ev->flags = 0;
	ev->watch = 0;
	ev->path_len = 0;
	ev->tgid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->ts_ns = bpf_ktime_get_tai_ns();
	ev->ret = 0;
	ev->dfd = 0;
	ev->dev = 0;
	ev->ino = 0;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
}

static __always_inline void set_path_len(struct st_lc_event *ev, long n)
{
	ev->path_len = n > 0 ? (__u16)(n - 1) : 0;
	if (n <= 0)
		ev->path[0] = '\0';
}

static __always_inline bool is_covered(struct file *f)
{
	struct file_key k = {};
	struct inode *inode;

	if (!f)
		return false;
	inode = BPF_CORE_READ(f, f_inode);
	if (!inode)
		return false;
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.ino = BPF_CORE_READ(inode, i_ino);
	return bpf_map_lookup_elem(&covered, &k) != NULL;
}

/* The file of the current process's descriptor fd, or NULL. */
static __always_inline struct file *fd_file(long fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
	struct file *f = NULL;

	if (fd < 0 || fd >= max || !fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/*
 * Stop the current process until the agent resumes it; flag the event.
 * Not when f (the exec'd file, the opened library) is already covered.
 */
static __always_inline void hold(struct st_lc_event *ev, int wi, struct file *f)
{
	if (wi < 0 || !watch[wi & (ST_LC_MAX_WATCH - 1)].hold)
		return;
	if (is_covered(f)) {
		ev->flags |= ST_LC_F_COVERED;
		return;
	}
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 now = bpf_ktime_get_tai_ns();

	if (bpf_send_signal(SIGSTOP_NR) == 0) {
		ev->flags |= ST_LC_F_HELD;
		bpf_map_update_elem(&held, &tgid, &now, BPF_ANY);
	}
}

SEC("tp/sched/sched_process_exec")
int lc_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, one = 1;
	struct st_lc_event *ev;
	struct path_buf *b;
	bool was_tracked;
	long n;
	int wi;

	was_tracked = bpf_map_lookup_elem(&tracked, &tgid) != NULL;
	if (!nwatch && !was_tracked)
		return 0;
	b = scratch_buf();
	if (!b)
		return 0;
	n = bpf_probe_read_kernel_str(b->s, sizeof(b->s),
				      (void *)ctx + (ctx->__data_loc_filename & 0xffff));
	if (n <= 0)
		b->s[0] = '\0';
	wi = match(ST_LC_WATCH_EXE);
	if (wi < 0 && !was_tracked)
		return 0;
	ev = bpf_ringbuf_reserve(&lc_events, sizeof(*ev), 0);
	if (!ev) {
		count_lost();
		return 0;
	}
	fill(ev, ST_EV_PROC_EXEC, pid_tgid);
	bpf_probe_read_kernel(ev->path, sizeof(ev->path), b->s);
	ev->path[ST_LC_PATH_MAX - 1] = '\0';
	set_path_len(ev, n);
	if (was_tracked)
		ev->flags |= ST_LC_F_TRACKED;
	if (wi >= 0) {
		ev->watch = wi + 1;
		/* tracked now, so that its first opens are not missed */
		bpf_map_update_elem(&tracked, &tgid, &one, BPF_ANY);
		mark_tracked(tgid, true);
		hold(ev, wi, BPF_CORE_READ(bpf_get_current_task_btf(), mm, exe_file));
	}
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int lc_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct task_struct *task;
	struct st_lc_event *ev;

	/* the last thread of the process: the process is gone */
	if (!ctx->group_dead)
		return 0;
	if (!bpf_map_lookup_elem(&tracked, &tgid))
		return 0;
	bpf_map_delete_elem(&tracked, &tgid);
	mark_tracked(tgid, false);
	ev = bpf_ringbuf_reserve(&lc_events, sizeof(*ev), 0);
	if (!ev) {
		count_lost();
		return 0;
	}
	fill(ev, ST_EV_PROC_EXIT, pid_tgid);
	task = bpf_get_current_task_btf();
	ev->ret = BPF_CORE_READ(task, exit_code);
	ev->path[0] = '\0';
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int lc_openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct pending_open po = {};
	struct path_buf *buf;
	bool in_tracked;
	int wi = -1;

	if (tgid == agent_tgid || (!nlib && !tracked_opens))
		return 0;
	in_tracked = bpf_map_lookup_elem(&tracked, &tgid) != NULL;
	if (!nlib && !in_tracked)
		return 0;
	po.filename = ctx->args[1];
	po.dfd = (__s32)ctx->args[0];
	if (nlib) {
		buf = scratch_buf();
		if (!buf)
			return 0;
		if (bpf_probe_read_user_str(buf->s, sizeof(buf->s), (void *)po.filename) <= 0)
			buf->s[0] = '\0';
		wi = match(ST_LC_WATCH_LIB);
		/* a target with exe and maps: only its executable's processes */
		if (wi >= 0 && watch[wi & (ST_LC_MAX_WATCH - 1)].tracked_only && !in_tracked)
			wi = -1;
	}
	if (wi < 0 && !(tracked_opens && in_tracked))
		return 0;
	if (wi >= 0) {
		po.flags |= ST_LC_F_LIB;
		po.watch = wi + 1;
	}
	if (in_tracked)
		po.flags |= ST_LC_F_TRACKED;
	bpf_map_update_elem(&pending, &tid, &po, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int lc_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid, one = 1;
	struct pending_open *pp, po;
	struct st_lc_event *ev;
	long n;

	pp = bpf_map_lookup_elem(&pending, &tid);
	if (!pp)
		return 0;
	po = *pp;
	bpf_map_delete_elem(&pending, &tid);
	if (ctx->ret < 0)
		return 0;
	ev = bpf_ringbuf_reserve(&lc_events, sizeof(*ev), 0);
	if (!ev) {
		count_lost();
		return 0;
	}
	fill(ev, ST_EV_FILE_OPEN, pid_tgid);
	ev->ret = ctx->ret;
	ev->dfd = po.dfd;
	ev->flags = po.flags;
	ev->watch = po.watch;
	n = bpf_probe_read_user_str(ev->path, sizeof(ev->path), (void *)po.filename);
	set_path_len(ev, n);
	if (po.flags & ST_LC_F_LIB) {
		bpf_map_update_elem(&tracked, &tgid, &one, BPF_ANY);
		mark_tracked(tgid, true);
		hold(ev, (int)po.watch - 1, fd_file(ctx->ret));
	}
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* ---- model files: the first page a tracked process reads of each file ---- */

#define S_IFMT_	0170000
#define S_IFREG_	0100000
#define WALK_DEPTH	32	/* path components; deeper paths are flagged partial */

/* A file read by one process instance, reported once. */
struct read_key {
	__u64 start_ns;		/* the process's start: a reused pid is another process */
	__u64 ino;
	__u32 tgid;
	__u32 exec_id;		/* a new program in the same process reads anew */
	__u32 dev;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct read_key);
	__type(value, __u8);
} reads_seen SEC(".maps");

/* Twice a path: a component read at any offset below one path fits. */
struct walk_buf {
	char s[2 * ST_LC_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_buf);
} walk_scratch SEC(".maps");

struct walk_ctx {
	struct walk_buf *b;
	struct dentry *d;
	__u32 off;		/* bytes written, each component followed by '/' */
	__u32 at_root;		/* reached the file system's root */
};

/* One component (the current dentry's name), then up to its parent. */
static long walk_cb(__u64 i, void *data)
{
	struct walk_ctx *c = data;
	struct dentry *d = c->d, *parent;
	struct walk_buf *b = c->b;
	const unsigned char *name;
	__u32 off = c->off;
	long n;

	if (!d || !b)
		return 1;
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d) {
		c->at_root = 1;
		return 1;
	}
	if (off >= ST_LC_PATH_MAX - 1)
		return 1;
	name = BPF_CORE_READ(d, d_name.name);
	n = bpf_probe_read_kernel_str(&b->s[off & (ST_LC_PATH_MAX - 1)], ST_LC_PATH_MAX, name);
	if (n <= 0)
		return 1;
	off += (__u32)n;
	b->s[(off - 1) & (2 * ST_LC_PATH_MAX - 1)] = '/';
	c->off = off;
	c->d = parent;
	return 0;
}

/* An inode's first dentry (any of its names will do), or NULL. */
static __always_inline struct dentry *first_dentry(struct inode *inode)
{
	struct hlist_node *alias = BPF_CORE_READ(inode, i_dentry.first);

	if (!alias)
		return NULL;
	return (void *)alias - bpf_core_field_offset(struct dentry, d_u.d_alias);
}

/*
 * The file's path from the root of its file system, last component first.
 * Which mount it was reached through the page cache does not know: the
 * agent finds that in the process's (or its own) mountinfo by device.
 */
static __always_inline void write_fs_path(struct st_lc_event *ev, struct inode *inode)
{
	__u32 zero = 0;
	struct walk_ctx c = {};

	c.b = bpf_map_lookup_elem(&walk_scratch, &zero);
	c.d = first_dentry(inode);
	if (!c.b || !c.d) {
		ev->flags |= ST_LC_F_PARTIAL;
		return;
	}
	bpf_loop(WALK_DEPTH, walk_cb, &c, 0);
	if (!c.at_root || c.off >= ST_LC_PATH_MAX)
		ev->flags |= ST_LC_F_PARTIAL;
	if (c.off)
		c.b->s[(c.off - 1) & (2 * ST_LC_PATH_MAX - 1)] = '\0';
	bpf_probe_read_kernel(ev->path, sizeof(ev->path), c.b->s);
	ev->path[ST_LC_PATH_MAX - 1] = '\0';
	ev->path_len = c.off ? (__u16)(c.off < ST_LC_PATH_MAX ? c.off - 1 : ST_LC_PATH_MAX - 1) : 0;
}

#define TAIL	(ST_LC_SUFFIX_MAX - 1)	/* the most of a name a suffix can need */

/* The name's first and last bytes (the tail right-aligned in tail[0..n)), and n. */
struct name_ends {
	char head[ST_LC_SUFFIX_MAX];
	char s[2 * ST_LC_SUFFIX_MAX];
	__u32 n;
};

/* Whether the name's end (or, for a prefix, its start) is suffixes[i]. */
static __always_inline bool name_matches(const struct name_ends *t, __u32 len, __u32 i)
{
	__u32 j, slen = suffixes[i].len;
	bool prefix = suffixes[i].prefix;

	if (!slen || slen > (prefix ? len : t->n) || slen > TAIL)
		return false;
	for (j = 0; j < TAIL && j < slen; j++) {
		char c = prefix ? t->head[j] : t->s[(t->n - slen + j) & (2 * ST_LC_SUFFIX_MAX - 1)];

		if (c != suffixes[i].s[j])
			return false;
	}
	return true;
}

/* Whether the file's name ends (or starts) with one of the model patterns. */
static __always_inline bool name_wanted(struct inode *inode)
{
	struct name_ends t = {};
	const unsigned char *name;
	struct dentry *d;
	__u32 len, i;

	if (!nsuffix)
		return true;
	d = first_dentry(inode);
	if (!d)
		return false;
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	t.n = len < TAIL ? len : TAIL;
	if (bpf_probe_read_kernel(t.s, ST_LC_SUFFIX_MAX, name + (len - t.n)) ||
	    (any_prefix && bpf_probe_read_kernel(t.head, ST_LC_SUFFIX_MAX, name)))
		return false;
	for (i = 0; i < ST_LC_MAX_SUFFIX; i++) {
		if (i >= nsuffix)
			break;
		if (name_matches(&t, len, i))
			return true;
	}
	return false;
}

/*
 * Every read and file fault on the node passes here; any process but a
 * tracked one leaves after a bit test, and a tracked one's reads of files
 * not named like a model after a look at the name.
 */
static __always_inline int on_file_pages(struct address_space *mapping)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct task_struct *leader;
	struct read_key k = {};
	struct st_lc_event *ev;
	struct inode *inode;
	__u8 one = 1;

	if (!maybe_tracked(tgid) || !bpf_map_lookup_elem(&tracked, &tgid) || !mapping)
		return 0;
	inode = BPF_CORE_READ(mapping, host);
	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT_) != S_IFREG_ ||
	    !name_wanted(inode))
		return 0;
	leader = BPF_CORE_READ((struct task_struct *)bpf_get_current_task_btf(), group_leader);
	k.start_ns = BPF_CORE_READ(leader, start_time);
	k.exec_id = (__u32)BPF_CORE_READ(leader, self_exec_id);
	k.tgid = tgid;
	k.ino = BPF_CORE_READ(inode, i_ino);
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (bpf_map_update_elem(&reads_seen, &k, &one, BPF_NOEXIST))
		return 0;	/* reported already */
	ev = bpf_ringbuf_reserve(&lc_events, sizeof(*ev), 0);
	if (!ev) {
		count_lost();
		bpf_map_delete_elem(&reads_seen, &k);	/* its next read tries again */
		return 0;
	}
	fill(ev, ST_EV_FILE_READ, pid_tgid);
	ev->flags = ST_LC_F_TRACKED;
	ev->dev = k.dev;
	ev->ino = k.ino;
	write_fs_path(ev, inode);
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* mm_filemap_get_pages(mapping, index, last_index): read(), splice */
SEC("raw_tp/mm_filemap_get_pages")
int lc_file_read(struct bpf_raw_tracepoint_args *ctx)
{
	return on_file_pages((struct address_space *)ctx->args[0]);
}

/* mm_filemap_map_pages(mapping, index, last_index): a mapped file's fault-around */
SEC("raw_tp/mm_filemap_map_pages")
int lc_file_map(struct bpf_raw_tracepoint_args *ctx)
{
	return on_file_pages((struct address_space *)ctx->args[0]);
}

/* mm_filemap_fault(mapping, index): a mapped file's page not mapped around */
SEC("raw_tp/mm_filemap_fault")
int lc_file_fault(struct bpf_raw_tracepoint_args *ctx)
{
	return on_file_pages((struct address_space *)ctx->args[0]);
}
