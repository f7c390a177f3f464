// SPDX-License-Identifier: GPL-2.0
/*
 * Wire capture: the HTTP/1.1 bytes a tracked process moves on the TCP
 * connections it serves on a watched port. Kprobes and fentry are not
 * available here, so the hooks are the socket layer's own tracepoints:
 * sock_recv_length / sock_send_length fire at the end of every
 * sock_recvmsg / sock_sendmsg (read, readv, recvfrom, recvmsg, write,
 * writev, sendto, sendmsg and sendfile on a socket all end there), with
 * the struct sock and the byte count; the buffer comes from the syscall's
 * own arguments in the task's saved user registers. inet_sock_set_state
 * says when a connection ends. Layout: include/sealtrace/wire/wire_abi.h.
 *
 * Cost for everyone else: nothing on syscalls that are not socket I/O
 * (no syscall tracepoint is enabled, so no task leaves the syscall fast
 * path); socket I/O of a process that is not tracked returns after one
 * bitmap test of its tgid; a TCP state change anywhere, after one hash
 * lookup of its socket. A tracked process pays one lookup of the socket in
 * conns per call, and the copy.
 *
 * Data is copied straight from the process's buffer into ring space
 * reserved per chunk (the smallest of 512 B, 1, 2 or 4 KiB that holds it):
 * programs on these tracepoints may be preempted, so a per-CPU scratch
 * buffer (as capture.bpf.c uses under uprobes) could be reused under a
 * running program.
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

/* The tracked processes that have SSL probes (the same layout). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WIRE_TGID_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} wire_tls_bits SEC(".maps");

/* Watched local ports (host order); port 0 means every port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WIRE_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} wire_ports SEC(".maps");

/*
 * Connections by their struct sock: entered at the first byte moved on a
 * watched port, deleted when the socket reaches TCP_CLOSE (every TCP
 * socket does before it is freed, so an address is never reused under a
 * live entry; the local/remote port pair is checked all the same).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WIRE_MAX_CONNS);
	__type(key, __u64);
	__type(value, struct wire_conn);
} conns SEC(".maps");

/*
 * Inodes of the sockets a process had open on a watched port when it was
 * tracked (from /proc, by the agent): their first bytes are mid-stream.
 * Inode -> tgid (so that the agent can drop a process's unused ones).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WIRE_MAX_CONNS);
	__type(key, __u64);
	__type(value, __u32);
} wire_pre_inos SEC(".maps");

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

/* The consumer position (+1) a wakeup was last forced for. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wire_woken SEC(".maps");

/* An SSL_read/SSL_write(_ex) call in progress, by thread. */
struct ssl_call {
	__u64 ssl, buf, nbytes_ptr;	/* nbytes_ptr: the _ex calls' size_t * */
	__u64 sk;			/* from the socket I/O inside the call; 0 */
	__u32 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);	/* tid */
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

/* SSL * -> struct sock, learned from the socket I/O inside earlier calls. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WIRE_MAX_CONNS);
	__type(key, __u64);
	__type(value, __u64);
} ssl_sks SEC(".maps");

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

static __always_inline bool tls_probed(__u32 tgid)
{
	__u32 word = tgid / 64;
	__u64 *bits = bpf_map_lookup_elem(&wire_tls_bits, &word);

	return bits && (*bits & (1ULL << (tgid % 64)));
}

/*
 * A forced wakeup only past wakeup_bytes unread, and at most one per
 * consumer position: an agent that is stopped or slower than the server
 * gets one, not one per event (each is an irq_work and a self-IPI inside
 * the server's syscall: +8 % p50 on a Python server while the agent was
 * stopped). The agent also reads every ST_WIRE_POLL_MS without one.
 */
static __always_inline __u64 flags_for_output(void)
{
	__u64 cons, *woken;
	__u32 zero = 0;

	if (bpf_ringbuf_query(&wire_events, BPF_RB_AVAIL_DATA) <= wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	woken = bpf_map_lookup_elem(&wire_woken, &zero);
	if (!woken)
		return BPF_RB_FORCE_WAKEUP;
	cons = bpf_ringbuf_query(&wire_events, BPF_RB_CONS_POS) + 1;	/* 0: none yet */
	if (*woken == cons)
		return BPF_RB_NO_WAKEUP;
	*woken = cons;
	return BPF_RB_FORCE_WAKEUP;
}

/*
 * Every field of e but the peer's and comm (the current task's, on OPEN
 * only: userspace keeps it per connection); tid is the current task's.
 */
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
	__builtin_memset(e->comm, 0, sizeof(e->comm));
}

/*
 * An event without data (OPEN, CLOSE, SENDFILE, HOLE); false when lost.
 * CLOSE may come from softirq context (a reset): its tgid and fd are the
 * connection's, its tid and comm whatever ran.
 */
static __always_inline bool emit_meta(__u32 kind, const struct wire_conn *c,
				      __u64 seq, __u32 len, struct sock *sk)
{
	struct wire_counters *k = counters();
	struct wire_event *e;

	e = bpf_ringbuf_reserve(&wire_events, sizeof(*e), 0);
	if (!e) {
		if (k)
			__sync_fetch_and_add(&k->rb_full, 1);
		return false;
	}
	fill(e, kind, c->tgid, c->fd, c->id, seq, len, c->flags);
	if (kind == WIRE_CONN_OPEN)
		bpf_get_current_comm(e->comm, sizeof(e->comm));
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

/* ---- connections: entered at their first byte ------------------------- */

#define IPPROTO_TCP	6
#define MSG_PEEK	2
#define TCP_FIN_WAIT1	4
#define TCP_CLOSE	7
#define TCP_LAST_ACK	9

static __always_inline bool port_watched(__u16 port)
{
	__u16 any = 0;

	return bpf_map_lookup_elem(&wire_ports, &port) ||
	       bpf_map_lookup_elem(&wire_ports, &any);
}

/* The socket's inode number (what /proc/PID/fd shows as socket:[N]). */
static __always_inline __u64 sock_ino(struct sock *sk)
{
	struct socket *so = BPF_CORE_READ(sk, sk_socket);

	return so ? BPF_CORE_READ(so, file, f_inode, i_ino) : 0;
}

/*
 * The connection sk belongs to, entered now if it is a TCP socket on a
 * watched port the tracked process tgid moves bytes on for the first
 * time (its CONN_OPEN goes out first); NULL when it is none of ours or
 * has ended.
 */
static __always_inline struct wire_conn *conn_of(struct sock *sk, __u32 tgid, __s32 fd)
{
	__u64 key = (__u64)sk, ino, *ids;
	__u32 portpair = BPF_CORE_READ(sk, __sk_common.skc_portpair), zero = 0;
	struct wire_conn *c, n = { 0 };
	struct wire_counters *k;

	c = bpf_map_lookup_elem(&conns, &key);
	if (c && c->portpair == portpair)
		return c->flags & WIRE_F_CLOSED ? NULL : c;
	if (c && !(c->flags & WIRE_F_CLOSED)) {
		/* the address of a socket whose end we missed: end it now */
		c->flags |= WIRE_F_CLOSED;
		emit_meta(WIRE_CLOSE, c, c->seq, 0, NULL);
	}
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	n.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (n.family != AF_INET && n.family != AF_INET6)
		return NULL;
	n.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (!port_watched(n.lport))
		return NULL;
	ids = bpf_map_lookup_elem(&conn_ids, &zero);
	if (!ids)
		return NULL;
	ino = sock_ino(sk);
	if (ino && bpf_map_lookup_elem(&wire_pre_inos, &ino)) {
		n.flags = WIRE_F_PREEXISTING;
		bpf_map_delete_elem(&wire_pre_inos, &ino);
	}
	n.id = __sync_fetch_and_add(ids, 1) + 1;
	n.seq = 1;
	n.tgid = tgid;
	n.fd = fd;
	n.portpair = portpair;
	if (bpf_map_update_elem(&conns, &key, &n, BPF_ANY)) {
		k = counters();
		if (k)
			__sync_fetch_and_add(&k->conns_full, 1);
		return NULL;
	}
	c = bpf_map_lookup_elem(&conns, &key);
	if (c)
		emit_meta(WIRE_CONN_OPEN, c, 0, 0, sk);
	return c;
}

/* ---- data: what moved, chunk by chunk --------------------------------- */

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
	/* size classes: the reservation, not the bytes, is what fills the ring */
	if (n <= WIRE_SMALL)
		e = bpf_ringbuf_reserve(&wire_events, sizeof(*e) + WIRE_SMALL, 0);
	else if (n <= 2 * WIRE_SMALL)
		e = bpf_ringbuf_reserve(&wire_events, sizeof(*e) + 2 * WIRE_SMALL, 0);
	else if (n <= 4 * WIRE_SMALL)
		e = bpf_ringbuf_reserve(&wire_events, sizeof(*e) + 4 * WIRE_SMALL, 0);
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

/*
 * The syscall that moved the bytes, from the task's saved user registers
 * (x86-64 numbers and argument registers; the registers still hold the
 * arguments while the syscall runs).
 */
#define NR_READ		0
#define NR_WRITE	1
#define NR_READV	19
#define NR_WRITEV	20
#define NR_SENDFILE	40
#define NR_SENDTO	44
#define NR_RECVFROM	45
#define NR_SENDMSG	46
#define NR_RECVMSG	47
#define NR_SPLICE	275

struct syscall_args {
	long nr;
	__s32 fd;
	__u64 a1, a2;
};

#define PF_IO_WORKER	0x00000010
#define PF_KTHREAD	0x00200000

static __always_inline void current_syscall(struct syscall_args *a)
{
	struct task_struct *t = bpf_get_current_task_btf();
	/* libbpf 1.1 declares the helper as returning long */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);

	if (t->flags & (PF_IO_WORKER | PF_KTHREAD)) {
		/* an io_uring worker: its registers are not a syscall's */
		a->nr = -1;
		a->fd = -1;
		a->a1 = 0;
		a->a2 = 0;
		return;
	}

	a->nr = regs->orig_ax;
	a->fd = (__s32)regs->di;
	a->a1 = regs->si;
	a->a2 = regs->dx;
}

/* Where the syscall's bytes are: a buffer (iovcnt 0) or an iovec array. */
static __always_inline bool syscall_buffer(const struct syscall_args *a, __u64 *buf,
					   __u32 *iovcnt)
{
	__u64 iov = 0, iovlen = 0;

	switch (a->nr) {
	case NR_READ: case NR_RECVFROM: case NR_WRITE: case NR_SENDTO:
		*buf = a->a1;
		*iovcnt = 0;
		return true;
	case NR_READV: case NR_WRITEV:
		*buf = a->a1;
		*iovcnt = (__u32)a->a2;
		return a->a2 > 0;
	case NR_RECVMSG: case NR_SENDMSG:
		/* struct user_msghdr: msg_iov at 16, msg_iovlen at 24 */
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(a->a1 + 16)) ||
		    bpf_probe_read_user(&iovlen, sizeof(iovlen), (void *)(a->a1 + 24)) ||
		    !iovlen)
			return false;
		*buf = iov;
		*iovcnt = (__u32)iovlen;
		return true;
	default:
		return false;
	}
}

/*
 * Bytes counted, not copied: a HOLE (or SENDFILE) event of their length.
 * Each byte goes into one counter (why), so that the counters add up.
 */
enum hole_why { HOLE_PAST_LIMIT, HOLE_SENDFILE, HOLE_UNATTRIBUTED };

static __always_inline void emit_hole(struct wire_conn *c, __u32 kind, __u64 n,
				      enum hole_why why)
{
	struct wire_counters *k = counters();

	if (k)
		__sync_fetch_and_add(why == HOLE_SENDFILE ? &k->sendfile_bytes :
				     why == HOLE_UNATTRIBUTED ? &k->unattributed_bytes :
				     &k->hole_bytes, n);
	emit_meta(kind, c, c->seq, n > 0xffffffff ? 0xffffffff : (__u32)n, NULL);
	c->seq++;
}

/* ret bytes moved through buf (iovcnt 0) or an iovec array, as spans. */
static __always_inline void emit_moved(struct wire_conn *c, __u32 kind, __u64 buf,
				       __u32 iovcnt, __u64 ret)
{
	__u64 max = (__u64)WIRE_MAX_CHUNKS * WIRE_CHUNK, remaining = ret;
	struct span x = {
		.conn_id = c->id, .tgid = c->tgid, .kind = kind, .flags = c->flags,
		.fd = c->fd, .first = 1,
	};
	struct iovec_u iv;
	__u32 j, used;

	if (!iovcnt) {
		x.buf = buf;
		x.len = remaining > max ? (__u32)max : (__u32)remaining;
		x.seq0 = c->seq;
		c->seq += emit_span(&x);
		remaining -= x.len;
	} else {
		for (j = 0; j < WIRE_MAX_IOV && j < iovcnt && remaining; j++) {
			if (bpf_probe_read_user(&iv, sizeof(iv), (void *)(buf + j * sizeof(iv))))
				break;
			used = iv.len < remaining ? (__u32)iv.len : (__u32)remaining;
			if (used > max)
				used = (__u32)max;
			x.buf = iv.base;
			x.len = used;
			x.seq0 = c->seq;
			c->seq += emit_span(&x);
			remaining -= used;
			x.first = 0;
		}
	}
	if (remaining)	/* beyond what one call may copy: a hole of known length */
		emit_hole(c, kind == WIRE_DATA_IN ? WIRE_HOLE_IN : WIRE_HOLE_OUT, remaining,
			  HOLE_PAST_LIMIT);
}

/* n bytes moved on sk by the current task of tgid, in direction kind. */
static __always_inline int on_moved(struct sock *sk, __u32 tgid, __u32 kind, long n)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), iovcnt = 0;
	struct syscall_args a;
	struct wire_counters *k;
	struct wire_conn *c;
	struct ssl_call *sc;
	__u64 buf = 0, key = (__u64)sk;
	__u8 b0 = 0;

	current_syscall(&a);
	c = conn_of(sk, tgid, a.fd);
	if (!c)
		return 0;
	k = counters();
	if (k)
		__sync_fetch_and_add(&k->syscalls, 1);
	sc = tls_probed(tgid) ? bpf_map_lookup_elem(&ssl_calls, &tid) : NULL;
	if (sc) {
		/* inside SSL_read/SSL_write: these are TLS records; the
		 * plaintext comes from the uretprobe, tied to this socket */
		sc->sk = key;
		bpf_map_update_elem(&ssl_sks, &sc->ssl, &key, BPF_ANY);
		c->flags |= WIRE_F_TLS;
		return 0;
	}
	if (c->flags & WIRE_F_TLS)
		return 0;	/* TLS records: the plaintext comes from SSL_read/SSL_write */
	if (kind == WIRE_DATA_OUT && (a.nr == NR_SENDFILE || a.nr == NR_SPLICE)) {
		emit_hole(c, WIRE_SENDFILE, n, HOLE_SENDFILE);
		return 0;
	}
	if (!syscall_buffer(&a, &buf, &iovcnt)) {
		/* recvmmsg, io_uring, ...: counted, never silent */
		emit_hole(c, kind == WIRE_DATA_IN ? WIRE_HOLE_IN : WIRE_HOLE_OUT, n,
			  HOLE_UNATTRIBUTED);
		return 0;
	}
	/* a TLS handshake record (0x16) first: never parse it as HTTP */
	if (kind == WIRE_DATA_IN && c->seq == 1 && !iovcnt &&
	    !bpf_probe_read_user(&b0, 1, (void *)buf) && b0 == 0x16) {
		c->flags |= WIRE_F_TLS;
		return 0;
	}
	emit_moved(c, kind, buf, iovcnt, (__u64)n);
	return 0;
}

/* ---- the socket layer's tracepoints ------------------------------------ */

/* sock_recv_length(struct sock *sk, int ret, int flags): after sock_recvmsg */
SEC("raw_tp/sock_recv_length")
int wire_recv(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	int ret = (int)ctx->args[1], flags = (int)ctx->args[2];

	if (!tracked(tgid) || ret <= 0 || (flags & MSG_PEEK))
		return 0;
	return on_moved((struct sock *)ctx->args[0], tgid, WIRE_DATA_IN, ret);
}

/* sock_send_length(struct sock *sk, int ret, int flags): after sock_sendmsg */
SEC("raw_tp/sock_send_length")
int wire_send(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	int ret = (int)ctx->args[1];

	if (!tracked(tgid) || ret <= 0)
		return 0;
	return on_moved((struct sock *)ctx->args[0], tgid, WIRE_DATA_OUT, ret);
}

/*
 * inet_sock_set_state(sk, oldstate, newstate): the connection ends when
 * the server closes it (FIN_WAIT1, LAST_ACK) or it is reset (CLOSE); a
 * peer's FIN alone (CLOSE_WAIT) leaves the server free to answer.
 */
SEC("raw_tp/inet_sock_set_state")
int wire_state(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 key = ctx->args[0];
	int state = (int)ctx->args[2];
	struct wire_conn *c;

	if (state != TCP_FIN_WAIT1 && state != TCP_LAST_ACK && state != TCP_CLOSE)
		return 0;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return 0;
	if (!(c->flags & WIRE_F_CLOSED)) {
		c->flags |= WIRE_F_CLOSED;
		emit_meta(WIRE_CLOSE, c, c->seq, 0, NULL);
	}
	if (state == TCP_CLOSE)
		bpf_map_delete_elem(&conns, &key);
	return 0;
}

/* ---- TLS: SSL_read/SSL_write(_ex) of the libssl the process maps ------- */

static __always_inline int ssl_enter(struct pt_regs *ctx, __u32 kind, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct ssl_call sc = { .kind = kind };
	__u64 *sk;

	if (!tracked(tgid))
		return 0;
	sc.ssl = PT_REGS_PARM1(ctx);
	sc.buf = PT_REGS_PARM2(ctx);
	sc.nbytes_ptr = ex ? PT_REGS_PARM4(ctx) : 0;
	sk = bpf_map_lookup_elem(&ssl_sks, &sc.ssl);
	if (sk)
		sc.sk = *sk;	/* data already buffered in SSL makes no syscall */
	bpf_map_update_elem(&ssl_calls, &tid, &sc, BPF_ANY);
	return 0;
}

static __always_inline int ssl_exit(struct pt_regs *ctx, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 0;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct wire_counters *k;
	struct wire_conn *c;
	struct ssl_call *sc;
	long ret = PT_REGS_RC(ctx);
	__u64 sk, buf;
	__u32 kind;

	if (!tracked(tgid))
		return 0;
	sc = bpf_map_lookup_elem(&ssl_calls, &tid);
	if (!sc)
		return 0;
	kind = sc->kind;
	sk = sc->sk;
	buf = sc->buf;
	if (ex) {
		if (ret == 1 && sc->nbytes_ptr)
			bpf_probe_read_user(&n, sizeof(n), (void *)sc->nbytes_ptr);
	} else if (ret > 0) {
		n = (__u64)ret;
	}
	bpf_map_delete_elem(&ssl_calls, &tid);
	if (!n)
		return 0;
	c = sk ? bpf_map_lookup_elem(&conns, &sk) : NULL;
	if (!c || (c->flags & WIRE_F_CLOSED)) {
		k = counters();
		if (k)	/* plaintext of a connection we do not know: counted */
			__sync_fetch_and_add(&k->tls_unattributed, 1);
		return 0;
	}
	c->flags |= WIRE_F_TLS;
	emit_moved(c, kind, buf, 0, n);
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
