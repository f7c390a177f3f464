/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire capture, userspace side: load and attach bpf/wire.bpf.c, tell it
 * which processes (tgids, from discovery) and which local ports to watch,
 * and hand its ring events to a callback (usually st_http_event).
 *
 * Connections a tracked process already had open when it was added are
 * entered from /proc (its fds that are sockets in /proc/PID/net/tcp{,6},
 * ESTABLISHED, on a watched port), flagged WIRE_F_PREEXISTING: the
 * reassembler picks them up at their next request line and says so.
 *
 * Unlike the uprobe capture, nothing here is pinned: while no agent runs
 * the programs are detached and nothing is captured (agent_start's away_ms
 * says for how long).
 */
#ifndef SEALTRACE_WIRE_H
#define SEALTRACE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/wire/wire_abi.h"

struct st_wire;

struct st_wire_opts {
	uint64_t ringbuf_bytes;		/* power of two; 0: 16 MiB */
	const uint16_t *ports;		/* watched local ports; port 0: every port */
	size_t nports;
};

typedef void (*st_wire_fn)(void *ctx, const struct wire_event *ev, const uint8_t *data);

int st_wire_open(struct st_wire **out, const struct st_wire_opts *o, char *err,
		 size_t errlen);
/* Watch a process (and its connections already open); 0 or -1 with err. */
int st_wire_track(struct st_wire *w, uint32_t tgid, uint32_t target, char *err,
		  size_t errlen);
void st_wire_untrack(struct st_wire *w, uint32_t tgid);
/* Epoll fd readable when the wire ring has data past its wakeup mark. */
int st_wire_fd(const struct st_wire *w);
/* Hand every event waiting in the ring to fn; events handled, or -1. */
int st_wire_poll(struct st_wire *w, st_wire_fn fn, void *ctx);
/* The wire ring's size and the bytes in it not yet consumed. */
uint64_t st_wire_ringbuf_size(const struct st_wire *w);
uint64_t st_wire_ringbuf_used(const struct st_wire *w);
/* The per-CPU counters, summed. */
int st_wire_counters(struct st_wire *w, struct wire_counters *sum);
void st_wire_close(struct st_wire *w);

#endif /* SEALTRACE_WIRE_H */
