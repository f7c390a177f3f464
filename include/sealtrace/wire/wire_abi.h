/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire capture: the layout shared by bpf/wire.bpf.c and user/wire/wire.c.
 *
 * Syscall tracepoints of the tracked processes (tgids in wire_tgids) on the
 * sockets they accepted on a watched port (conns) become ring events: one
 * CONN_OPEN per accepted connection, DATA chunks of what read/write-family
 * syscalls moved (at most WIRE_CHUNK bytes each, in order), CLOSE. Each
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
	WIRE_CONN_OPEN = 1,	/* accept(4) returned a socket on a watched port */
	WIRE_DATA_IN,		/* bytes the process read from the socket */
	WIRE_DATA_OUT,		/* bytes it wrote */
	WIRE_CLOSE,		/* close(fd) of a tracked connection */
	WIRE_SENDFILE,		/* sendfile() to the socket: length only */
	WIRE_HOLE_IN,		/* bytes moved but not captured (past WIRE_MAX_CHUNKS) */
	WIRE_HOLE_OUT,
};

/* Event flags. */
#define WIRE_F_PREEXISTING	(1u << 0)	/* connection open before the agent */
#define WIRE_F_TLS		(1u << 1)	/* plaintext from SSL_read/SSL_write */

struct wire_event {
	__u32 kind;		/* enum wire_kind */
	__u32 tgid;
	__u32 tid;
	__s32 fd;
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
	char comm[WIRE_COMM_LEN];
	/* DATA: len bytes follow */
};

struct wire_conn_key {
	__u32 tgid;
	__s32 fd;
};

struct wire_conn {
	__u64 id;
	__u64 seq;		/* next event number */
	__u32 flags;
	__u16 lport;
	__u16 pad;
};

/*
 * A read/write-family syscall between its enter and its exit, by thread.
 * The agent also enters these for threads it finds blocked in a read on a
 * connection that was open before the process was tracked (from
 * /proc/PID/task/TID/syscall), so that read's bytes are not missed.
 */
struct wire_pending {
	__s32 fd;
	__u32 kind;		/* WIRE_DATA_IN, WIRE_DATA_OUT or WIRE_SENDFILE */
	__u64 buf;		/* buffer, or the iovec array */
	__u32 iovcnt;		/* 0: buf is a plain buffer; 0xffffffff: empty vector */
	__u32 nr;		/* syscall number: the exit must be of the same call */
};

/* Counters per CPU (userspace sums them). Never reset. */
struct wire_counters {
	__u64 syscalls;		/* tracked-socket syscalls seen */
	__u64 events;		/* events written */
	__u64 rb_full;		/* events the ring could not take */
	__u64 bytes_lost;	/* data bytes in those */
	__u64 requests_lost;	/* lost inbound chunks that start with a method */
	__u64 conns_full;	/* accepted connections the table could not hold */
	__u64 sendfile_bytes;
	__u64 hole_bytes;	/* moved past WIRE_MAX_CHUNKS per syscall */
	__u64 tls_unattributed;	/* SSL_read/SSL_write plaintext without a known fd */
};

#endif /* SEALTRACE_WIRE_ABI_H */
