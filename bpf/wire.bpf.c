// SPDX-License-Identifier: GPL-2.0
/*
 * Wire capture: the HTTP/1.1 bytes a tracked process moves on the sockets
 * it accepted on a watched port, from syscall tracepoints (kprobes and
 * fentry are not available here). Layout: include/sealtrace/wire/wire_abi.h.
 *
 * Cost for everyone else: every program starts with one lookup of the
 * caller's tgid in wire_tgids (filled by the agent's discovery) and returns
 * when it is absent. A tracked process pays a second lookup, (tgid, fd) in
 * conns, on every read/write-family syscall.
 *
 * Data is copied straight from the process's buffer into ring space
 * reserved per chunk (WIRE_SMALL or WIRE_CHUNK bytes): syscall tracepoints
 * may be preempted, so a per-CPU scratch buffer (as capture.bpf.c uses
 * under uprobes) could be reused under a running program.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sealtrace/wire/wire_abi.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET		2
#define AF_INET6	10

const volatile __u64 wakeup_bytes = 1 << 20;	/* wake the consumer past this fill */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);	/* resized from the config before load */
} wire_events SEC(".maps");

/* Tracked processes: tgid -> target index. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WIRE_MAX_TGIDS);
	__type(key, __u32);
	__type(value, __u32);
} wire_tgids SEC(".maps");

/*
 * The same set as a bitmap indexed by tgid (pid_max <= 2^22): an array
 * lookup the verifier inlines, so that the check every other process pays
 * on every syscall exit is a load and a bit test, not a hash.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WIRE_TGID_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} wire_tgid_bits SEC(".maps");

/* Watched local ports (host order); port 0 means every port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WIRE_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} wire_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WIRE_MAX_CONNS);
	__type(key, struct wire_conn_key);
	__type(value, struct wire_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wire_counters);
} wire_counters SEC(".maps");

/* Connection ids: one counter (userspace takes ids from the top half). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} conn_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);	/* tid */
	__type(value, struct wire_pending);
} pending SEC(".maps");

/* An SSL_read/SSL_write(_ex) call in progress, by thread. */
struct ssl_call {
	__u64 ssl, buf, nbytes_ptr;	/* nbytes_ptr: the _ex calls' size_t * */
	__u32 kind;
	__s32 fd;			/* from the syscall inside the call; -1 */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);	/* tid */
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

/* SSL * -> fd, learned from the syscalls inside earlier calls. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WIRE_MAX_CONNS);
	__type(key, __u64);
	__type(value, __s32);
} ssl_fds SEC(".maps");

struct iovec_u {
	__u64 base;
	__u64 len;
};

static __always_inline struct wire_counters *counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&wire_counters, &zero);
}

static __always_inline bool tracked(__u32 tgid)
{
	__u32 word = tgid / 64;
	__u64 *bits = bpf_map_lookup_elem(&wire_tgid_bits, &word);

	return bits && (*bits & (1ULL << (tgid % 64)));
}

static __always_inline __u64 flags_for_output(void)
{
	__u64 avail = bpf_ringbuf_query(&wire_events, BPF_RB_AVAIL_DATA);

	return avail > wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void fill(struct wire_event *e, __u32 kind, __u32 tgid,
				 __s32 fd, __u64 conn_id, __u64 seq, __u32 len,
				 __u32 flags)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->kind = kind;
	e->tgid = tgid;
	e->tid = (__u32)id;
	e->fd = fd;
	e->conn_id = conn_id;
	e->seq = seq;
	e->ts = bpf_ktime_get_tai_ns();
	e->len = len;
	e->flags = flags;
	e->family = 0;
	e->lport = 0;
	e->rport = 0;
	e->pad = 0;
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/* An event without data (OPEN, CLOSE, SENDFILE, HOLE); false when lost. */
static __always_inline bool emit_meta(__u32 kind, __u32 tgid, __s32 fd,
				      const struct wire_conn *c, __u64 seq,
				      __u32 len, struct sock *sk)
{
	struct wire_counters *k = counters();
	struct wire_event *e;

	e = bpf_ringbuf_reserve(&wire_events, sizeof(*e), 0);
	if (!e) {
		if (k)
			__sync_fetch_and_add(&k->rb_full, 1);
		return false;
	}
	fill(e, kind, tgid, fd, c->id, seq, len, c->flags);
	if (sk) {
		e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
		e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (e->family == AF_INET6)
			BPF_CORE_READ_INTO(&e->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		else
			BPF_CORE_READ_INTO(&e->raddr, sk, __sk_common.skc_daddr);
	}
	bpf_ringbuf_submit(e, flags_for_output());
	if (k)
		__sync_fetch_and_add(&k->events, 1);
	return true;
}

/* ---- accept: a connection on a watched port -------------------------- */

static __always_inline struct sock *sock_of_fd(int fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	struct file **fds, *f = NULL;
	struct socket *so;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	so = BPF_CORE_READ(f, private_data);
	if (!so)
		return NULL;
	return BPF_CORE_READ(so, sk);
}

static __always_inline int on_accept(long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct wire_conn c = { 0 };
	struct wire_conn_key key;
	struct wire_counters *k;
	struct sock *sk;
	__u16 port, any = 0;
	__u64 *ids;
	int fd = (int)ret;

	if (!tracked(tgid) || fd < 0)
		return 0;
	sk = sock_of_fd(fd);
	if (!sk)
		return 0;
	port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (!bpf_map_lookup_elem(&wire_ports, &port) &&
	    !bpf_map_lookup_elem(&wire_ports, &any))
		return 0;
	ids = bpf_map_lookup_elem(&conn_ids, &zero);
	if (!ids)
		return 0;
	c.id = __sync_fetch_and_add(ids, 1) + 1;
	c.seq = 1;
	c.lport = port;
	key.tgid = tgid;
	key.fd = fd;
	if (bpf_map_update_elem(&conns, &key, &c, BPF_ANY)) {
		k = counters();
		if (k)
			__sync_fetch_and_add(&k->conns_full, 1);
		return 0;
	}
	emit_meta(WIRE_CONN_OPEN, tgid, fd, &c, 0, 0, sk);
	return 0;
}


/* ---- read/write family: remember the buffer at enter ----------------- */

static __always_inline int remember(long nr, __s32 fd, __u32 kind, __u64 buf,
				    __u32 iovcnt)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct wire_conn_key key = { .tgid = tgid, .fd = fd };
	struct wire_pending p = {
		.fd = fd, .kind = kind, .buf = buf, .iovcnt = iovcnt, .nr = (__u32)nr,
	};
	struct wire_conn *c;
	struct ssl_call *sc;

	if (!tracked(tgid))
		return 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c) {
		/* not a connection: no entry the agent made may outlive this call */
		bpf_map_delete_elem(&pending, &tid);
		return 0;
	}
	sc = bpf_map_lookup_elem(&ssl_calls, &tid);
	if (sc) {
		/* inside SSL_read/SSL_write: this is the TLS record; the plaintext
		 * comes from the uretprobe, tied to this fd */
		sc->fd = fd;
		bpf_map_update_elem(&ssl_fds, &sc->ssl, &fd, BPF_ANY);
		c->flags |= WIRE_F_TLS;
		bpf_map_delete_elem(&pending, &tid);
		return 0;
	}
	bpf_map_update_elem(&pending, &tid, &p, BPF_ANY);
	return 0;
}

/* struct user_msghdr: msg_iov at 16, msg_iovlen at 24 (x86-64, arm64) */
static __always_inline int remember_msg(long nr, __s32 fd, __u32 kind, __u64 msg)
{
	__u64 iov = 0, iovlen = 0;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!tracked(tgid))
		return 0;
	bpf_probe_read_user(&iov, sizeof(iov), (void *)(msg + 16));
	bpf_probe_read_user(&iovlen, sizeof(iovlen), (void *)(msg + 24));
	return remember(nr, fd, kind, iov, iovlen ? (__u32)iovlen : 0xffffffff);
}

/* ---- at exit: emit what moved, chunk by chunk ------------------------- */

/*
 * One span of user memory as chunks. The callback only reads its context
 * (chunk i is at offset i * WIRE_CHUNK): state that changed per iteration
 * would keep the verifier from seeing the loop body converge.
 */
struct span {
	__u64 conn_id, seq0, buf;
	__u32 len, tgid, kind, flags;
	__s32 fd;
	__u32 first;		/* the syscall's first span: a lost chunk 0 may be a request */
};

static __always_inline bool looks_like_request(__u64 buf)
{
	__u32 w = 0;

	if (bpf_probe_read_user(&w, sizeof(w), (void *)buf))
		return false;
	/* "GET ", "POST", "PUT ", "HEAD", "DELE", "PATC", "OPTI" (little endian) */
	return w == 0x20544547 || w == 0x54534f50 || w == 0x20545550 ||
	       w == 0x44414548 || w == 0x454c4544 || w == 0x43544150 ||
	       w == 0x4954504f;
}

static long emit_chunk(__u64 i, struct span *x)
{
	__u64 off = i * WIRE_CHUNK, src;
	struct wire_counters *k;
	struct wire_event *e;
	__u32 n;

	if (off >= x->len)
		return 1;
	n = x->len - (__u32)off;
	if (n > WIRE_CHUNK)
		n = WIRE_CHUNK;
	src = x->buf + off;
	if (n <= WIRE_SMALL)
		e = bpf_ringbuf_reserve(&wire_events, sizeof(*e) + WIRE_SMALL, 0);
	else
		e = bpf_ringbuf_reserve(&wire_events, sizeof(*e) + WIRE_CHUNK, 0);
	if (!e) {
		k = counters();
		if (k) {
			__sync_fetch_and_add(&k->rb_full, 1);
			__sync_fetch_and_add(&k->bytes_lost, n);
			if (!i && x->first && x->kind == WIRE_DATA_IN && looks_like_request(src))
				__sync_fetch_and_add(&k->requests_lost, 1);
		}
		return 0;
	}
	fill(e, x->kind, x->tgid, x->fd, x->conn_id, x->seq0 + i, n, x->flags);
	if (n > WIRE_CHUNK)	/* for the verifier: n is at most one chunk */
		n = WIRE_CHUNK;
	if (bpf_probe_read_user(e + 1, n, (void *)src))
		e->len = 0;	/* unreadable: seen as a gap by the reassembler */
	bpf_ringbuf_submit(e, flags_for_output());
	k = counters();
	if (k)
		__sync_fetch_and_add(&k->events, 1);
	return 0;
}

/* Emit len bytes at buf from event number seq on; the numbers it used. */
static __always_inline __u32 emit_span(struct span *x)
{
	__u32 chunks = (x->len + WIRE_CHUNK - 1) / WIRE_CHUNK;

	if (chunks > WIRE_MAX_CHUNKS)
		chunks = WIRE_MAX_CHUNKS;
	bpf_loop(chunks, emit_chunk, x, 0);
	return chunks;
}

static __always_inline int on_exit_data(long nr, long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), iov, max = (__u64)WIRE_MAX_CHUNKS * WIRE_CHUNK;
	__u32 tgid = id >> 32, tid = (__u32)id, iovcnt, j, used;
	struct wire_conn_key key;
	struct wire_counters *k;
	struct iovec_u iv;
	struct span x = { 0 };
	struct wire_conn *c;
	struct wire_pending *p;
	__u64 remaining, seq;

	if (!tracked(tgid))
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p)
		return 0;
	if (p->nr != (__u32)nr) {
		bpf_map_delete_elem(&pending, &tid);
		return 0;
	}
	key.tgid = tgid;
	key.fd = p->fd;
	x.kind = p->kind;
	/* iovcnt: 0 for a plain buffer, 0xffffffff for an empty vector */
	iovcnt = p->iovcnt;
	iov = p->buf;
	bpf_map_delete_elem(&pending, &tid);
	if (ret <= 0 || iovcnt == 0xffffffff)
		return 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	k = counters();
	if (k)
		__sync_fetch_and_add(&k->syscalls, 1);
	if (c->flags & WIRE_F_TLS)
		return 0;	/* TLS records: the plaintext comes from SSL_read/SSL_write */
	if (!iovcnt && x.kind == WIRE_DATA_IN && c->seq == 1) {
		__u8 b0 = 0;

		/* a TLS handshake record (0x16) first: never parse it as HTTP */
		if (!bpf_probe_read_user(&b0, 1, (void *)iov) && b0 == 0x16) {
			c->flags |= WIRE_F_TLS;
			return 0;
		}
	}
	x.conn_id = c->id;
	x.tgid = tgid;
	x.fd = key.fd;
	x.flags = c->flags;
	x.first = 1;
	seq = c->seq;
	remaining = (__u64)ret;
	if (!iovcnt) {
		x.buf = iov;
		x.len = remaining > max ? (__u32)max : (__u32)remaining;
		x.seq0 = seq;
		seq += emit_span(&x);
		remaining -= x.len;
	} else {
		for (j = 0; j < WIRE_MAX_IOV && j < iovcnt && remaining; j++) {
			if (bpf_probe_read_user(&iv, sizeof(iv), (void *)(iov + j * sizeof(iv))))
				break;
			used = iv.len < remaining ? (__u32)iv.len : (__u32)remaining;
			if (used > max)
				used = (__u32)max;
			x.buf = iv.base;
			x.len = used;
			x.seq0 = seq;
			seq += emit_span(&x);
			remaining -= used;
			x.first = 0;
		}
	}
	if (remaining) {
		/* beyond what one syscall may copy: a hole of known length */
		if (k)
			__sync_fetch_and_add(&k->hole_bytes, remaining);
		emit_meta(x.kind == WIRE_DATA_IN ? WIRE_HOLE_IN : WIRE_HOLE_OUT, tgid,
			  key.fd, c, seq, remaining > 0xffffffff ? 0xffffffff : (__u32)remaining,
			  NULL);
		seq++;
	}
	c->seq = seq;
	return 0;
}

/* ---- sendfile: counted, flagged, never captured ----------------------- */

static __always_inline int on_exit_sendfile(long nr, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct wire_conn_key key;
	struct wire_counters *k;
	struct wire_conn *c;
	struct wire_pending *p;

	if (!tracked(tgid))
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p)
		return 0;
	key.tgid = tgid;
	key.fd = p->fd;
	bpf_map_delete_elem(&pending, &tid);
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c || ret <= 0 || p->nr != (__u32)nr)
		return 0;
	k = counters();
	if (k)
		__sync_fetch_and_add(&k->sendfile_bytes, ret);
	emit_meta(WIRE_SENDFILE, tgid, key.fd, c, c->seq, (__u32)ret, NULL);
	c->seq++;
	return 0;
}

/* ---- close ------------------------------------------------------------ */

static __always_inline int on_close(__s32 fd)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct wire_conn_key key = { .tgid = tgid, .fd = fd };
	struct wire_conn *c;

	if (!tracked(tgid))
		return 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	emit_meta(WIRE_CLOSE, tgid, key.fd, c, c->seq, 0, NULL);
	bpf_map_delete_elem(&conns, &key);
	return 0;
}


/* ---- the two raw syscall tracepoints ----------------------------------- */

/*
 * One program each for every syscall's enter and exit (raw tracepoints:
 * no perf buffer is filled per call, unlike syscalls:sys_enter_*): a
 * syscall that is not one of ours returns after one compare, one of ours
 * from a process that is not tracked after one map lookup.
 * x86-64 syscall numbers.
 */
#define NR_READ		0
#define NR_WRITE	1
#define NR_CLOSE	3
#define NR_READV	19
#define NR_WRITEV	20
#define NR_SENDFILE	40
#define NR_ACCEPT	43
#define NR_SENDTO	44
#define NR_RECVFROM	45
#define NR_SENDMSG	46
#define NR_RECVMSG	47
#define NR_ACCEPT4	288

SEC("raw_tp/sys_enter")
int wire_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = (long)ctx->args[1];
	__s32 fd;
	__u64 a1, a2;

	switch (nr) {
	case NR_READ: case NR_RECVFROM: case NR_READV: case NR_RECVMSG:
	case NR_WRITE: case NR_SENDTO: case NR_WRITEV: case NR_SENDMSG:
	case NR_SENDFILE: case NR_CLOSE:
		break;
	default:
		return 0;
	}
	if (!tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	fd = (__s32)BPF_CORE_READ(regs, di);
	a1 = BPF_CORE_READ(regs, si);
	a2 = BPF_CORE_READ(regs, dx);
	switch (nr) {
	case NR_READ: case NR_RECVFROM:
		return remember(nr, fd, WIRE_DATA_IN, a1, 0);
	case NR_WRITE: case NR_SENDTO:
		return remember(nr, fd, WIRE_DATA_OUT, a1, 0);
	case NR_READV:
		return remember(nr, fd, WIRE_DATA_IN, a1, a2 ? (__u32)a2 : 0xffffffff);
	case NR_WRITEV:
		return remember(nr, fd, WIRE_DATA_OUT, a1, a2 ? (__u32)a2 : 0xffffffff);
	case NR_RECVMSG:
		return remember_msg(nr, fd, WIRE_DATA_IN, a1);
	case NR_SENDMSG:
		return remember_msg(nr, fd, WIRE_DATA_OUT, a1);
	case NR_SENDFILE:
		return remember(nr, fd, WIRE_SENDFILE, 0, 0);
	default:
		return on_close(fd);
	}
}

SEC("raw_tp/sys_exit")
int wire_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = (long)ctx->args[1], nr;

	if (!tracked(bpf_get_current_pid_tgid() >> 32))
		return 0;
	nr = BPF_CORE_READ(regs, orig_ax);
	switch (nr) {
	case NR_ACCEPT: case NR_ACCEPT4:
		return on_accept(ret);
	case NR_SENDFILE:
		return on_exit_sendfile(nr, ret);
	case NR_READ: case NR_RECVFROM: case NR_READV: case NR_RECVMSG:
	case NR_WRITE: case NR_SENDTO: case NR_WRITEV: case NR_SENDMSG:
		return on_exit_data(nr, ret);
	default:
		return 0;
	}
}

/* ---- TLS: SSL_read/SSL_write(_ex) of the libssl the process maps ------- */

static __always_inline int ssl_enter(struct pt_regs *ctx, __u32 kind, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct ssl_call sc = { .kind = kind, .fd = -1 };
	__s32 *fd;

	if (!tracked(tgid))
		return 0;
	sc.ssl = PT_REGS_PARM1(ctx);
	sc.buf = PT_REGS_PARM2(ctx);
	sc.nbytes_ptr = ex ? PT_REGS_PARM4(ctx) : 0;
	fd = bpf_map_lookup_elem(&ssl_fds, &sc.ssl);
	if (fd)
		sc.fd = *fd;	/* data already buffered in SSL makes no syscall */
	bpf_map_update_elem(&ssl_calls, &tid, &sc, BPF_ANY);
	return 0;
}

static __always_inline int ssl_exit(struct pt_regs *ctx, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 0;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct wire_conn_key key = { .tgid = tgid };
	struct span x = { 0 };
	struct wire_counters *k;
	struct wire_conn *c;
	struct ssl_call *sc;
	long ret = PT_REGS_RC(ctx);

	if (!tracked(tgid))
		return 0;
	sc = bpf_map_lookup_elem(&ssl_calls, &tid);
	if (!sc)
		return 0;
	x.kind = sc->kind;
	x.buf = sc->buf;
	key.fd = sc->fd;
	if (ex) {
		if (ret == 1 && sc->nbytes_ptr)
			bpf_probe_read_user(&n, sizeof(n), (void *)sc->nbytes_ptr);
	} else if (ret > 0) {
		n = (__u64)ret;
	}
	bpf_map_delete_elem(&ssl_calls, &tid);
	if (!n)
		return 0;
	c = key.fd >= 0 ? bpf_map_lookup_elem(&conns, &key) : NULL;
	if (!c) {
		k = counters();
		if (k)	/* plaintext of a connection we do not know: counted */
			__sync_fetch_and_add(&k->tls_unattributed, 1);
		return 0;
	}
	c->flags |= WIRE_F_TLS;
	x.conn_id = c->id;
	x.tgid = tgid;
	x.fd = key.fd;
	x.flags = c->flags;
	x.first = 1;
	x.len = n > (__u64)WIRE_MAX_CHUNKS * WIRE_CHUNK ?
		WIRE_MAX_CHUNKS * WIRE_CHUNK : (__u32)n;
	x.seq0 = c->seq;
	c->seq += emit_span(&x);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(wire_ssl_read_entry)
{
	return ssl_enter(ctx, WIRE_DATA_IN, false);
}

SEC("uprobe")
int BPF_KPROBE(wire_ssl_read_ex_entry)
{
	return ssl_enter(ctx, WIRE_DATA_IN, true);
}

SEC("uprobe")
int BPF_KPROBE(wire_ssl_write_entry)
{
	return ssl_enter(ctx, WIRE_DATA_OUT, false);
}

SEC("uprobe")
int BPF_KPROBE(wire_ssl_write_ex_entry)
{
	return ssl_enter(ctx, WIRE_DATA_OUT, true);
}

SEC("uretprobe")
int BPF_KRETPROBE(wire_ssl_ret)
{
	return ssl_exit(ctx, false);
}

SEC("uretprobe")
int BPF_KRETPROBE(wire_ssl_ex_ret)
{
	return ssl_exit(ctx, true);
}
