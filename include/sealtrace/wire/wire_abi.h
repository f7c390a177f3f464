/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire capture: the layout shared by bpf/wire.bpf.c and user/wire/wire.c.
 *
 * The socket I/O of the tracked processes (tgids in wire_tgids) on TCP
 * connections on a watched local port (conns) becomes ring events: one
 * CONN_OPEN when a connection first moves bytes, DATA chunks of what each
 * read/write-family call moved (at most WIRE_CHUNK bytes each, in order),
 * CLOSE when the server closes it or it is reset. Each
 * event of a connection carries its per-connection number (seq), so a
 * chunk the ring could not take is a visible gap, never a silent one.
 */
#ifndef SEALTRACE_WIRE_ABI_H
#define SEALTRACE_WIRE_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define WIRE_CHUNK		4096	/* data bytes per DATA event */
#define WIRE_SMALL		512	/* a smaller reservation for short moves */
#define WIRE_MAX_CHUNKS		512	/* per syscall: 2 MiB; the rest is a hole */
#define WIRE_MAX_IOV		16	/* iovecs read per readv/writev/msg */
#define WIRE_MAX_TGIDS		4096
#define WIRE_TGID_WORDS		65536	/* bitmap words: tgids below 2^22 (pid_max limit) */
#define WIRE_MAX_CONNS		65536
#define WIRE_MAX_PORTS		64
#define WIRE_COMM_LEN		16

enum wire_kind {
	WIRE_CONN_OPEN = 1,	/* first bytes on a TCP socket on a watched port */
	WIRE_DATA_IN,		/* bytes the process read from the socket */
	WIRE_DATA_OUT,		/* bytes it wrote */
	WIRE_CLOSE,		/* closed by the server (FIN) or reset */
	WIRE_SENDFILE,		/* sendfile()/splice() to the socket: length only */
	WIRE_HOLE_IN,		/* bytes moved but not captured: past WIRE_MAX_CHUNKS,
				 * or by a call whose buffer is not known (recvmmsg,
				 * io_uring) */
	WIRE_HOLE_OUT,
};

/* Event flags. */
#define WIRE_F_PREEXISTING	(1u << 0)	/* connection open before the agent */
#define WIRE_F_TLS		(1u << 1)	/* plaintext from SSL_read/SSL_write */
#define WIRE_F_CLOSED		(1u << 2)	/* in conns: CLOSE sent, bytes ignored */

struct wire_event {
	__u32 kind;		/* enum wire_kind */
	__u32 tgid;
	__u32 tid;		/* CLOSE: 0 or whatever ran (a reset comes in softirq) */
	__s32 fd;		/* the fd of the call that opened the connection */
	__u64 conn_id;		/* unique per connection for this boot */
	__u64 seq;		/* per-connection event number, from 0 */
	__u64 ts;		/* CLOCK_TAI ns */
	__u32 len;		/* DATA: bytes in this chunk; others: bytes moved */
	__u32 flags;
	__u16 family;		/* CONN_OPEN: AF_INET or AF_INET6 */
	__u16 lport;		/* host order */
	__u16 rport;		/* host order */
	__u16 pad;
	__u8 raddr[16];		/* IPv4 in the first 4 bytes */
	char comm[WIRE_COMM_LEN];	/* CONN_OPEN only; zeros in the others */
	/* DATA: len bytes follow */
};

/* conns: by struct sock address. */
struct wire_conn {
	__u64 id;
	__u64 seq;		/* next event number */
	__u32 flags;
	__u32 tgid;
	__s32 fd;
	__u32 portpair;		/* local and remote port: the same socket? */
	__u16 lport;
	__u16 family;
	__u32 pad;
};

/* Counters per CPU (userspace sums them). Never reset. */
struct wire_counters {
	__u64 syscalls;		/* calls that moved bytes on a tracked connection */
	__u64 events;		/* events written */
	__u64 rb_full;		/* events the ring could not take */
	__u64 bytes_lost;	/* data bytes in those */
	__u64 requests_lost;	/* lost inbound chunks that start with a method */
	__u64 conns_full;	/* accepted connections the table could not hold */
	__u64 sendfile_bytes;
	__u64 hole_bytes;	/* moved past WIRE_MAX_CHUNKS per syscall */
	__u64 tls_unattributed;	/* SSL_read/SSL_write plaintext without a known socket */
	__u64 unattributed_bytes; /* moved by calls whose buffer is not known */
};

#endif /* SEALTRACE_WIRE_ABI_H */
