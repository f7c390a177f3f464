/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capture: the userspace API of user/capture/capture.c (load, pin, attach,
 * read the ring, count). The layout shared with bpf/capture.bpf.c is in
 * capture_abi.h.
 */
#ifndef SEALTRACE_CAPTURE_H
#define SEALTRACE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/capture/capture_abi.h"

/* Bytes that follow an event header: in_len input, then out_len output. */
static inline const __u8 *st_event_data(const struct st_event *ev)
{
	return (const __u8 *)(ev + 1);
}

struct st_capture_ctx;

struct st_capture_opts {
	uint64_t ringbuf_bytes;		/* power of two */
	uint64_t wakeup_bytes;		/* wake the consumer past this fill */
	uint64_t heartbeat_deadline_ns;	/* fail-closed staleness; 0 = off */
	const char *pin_dir;		/* bpffs directory for maps and links */
};

/*
 * Called for every ring-buffer record, with its position in the ring
 * (a byte counter that never wraps); return non-zero to stop draining.
 */
typedef int (*st_event_fn)(void *ctx, const struct st_event *ev, size_t size,
			   uint64_t pos);

/*
 * Load the BPF object. Maps are pinned under pin_dir and reused when
 * already there (a previous agent's ring buffer is drained, not lost);
 * *reused tells which.
 */
int st_capture_open(struct st_capture_ctx **out, const struct st_capture_opts *opts,
		    st_event_fn fn, void *fn_ctx, bool *reused, char *err, size_t errlen);

/* Stable identity of a probe: its pins carry it, so a restart finds them. */
void st_capture_probe_key(const char *target, const char *path, uint64_t offset,
			  const struct st_recipe *recipe, char key[17]);

/*
 * A probe that a previous agent left pinned, with this key: its id, or -1.
 * Adopting keeps its links (no gap in capture across a restart).
 */
int st_capture_adopt(struct st_capture_ctx *c, const char *key);

/* The lowest probe id that no pinned probe uses and no adopted one has. */
int st_capture_free_id(struct st_capture_ctx *c);

/*
 * Write recipe probe_id and attach a uprobe and a uretprobe at file
 * offset `offset` of `path` (pid 0: every process mapping the file); pin
 * both links as probe-<id>-<key>-{entry,return}.
 */
int st_capture_attach(struct st_capture_ctx *c, uint32_t probe_id, const char *key,
		      const struct st_recipe *recipe, const char *path,
		      uint64_t offset, int pid, char *err, size_t errlen);

/* Same, but not pinned: the probe lives as long as this agent (the canary). */
int st_capture_attach_ephemeral(struct st_capture_ctx *c, uint32_t probe_id,
				const struct st_recipe *recipe, const char *path,
				uint64_t offset, int pid, char *err, size_t errlen);

/*
 * Pinned probes that nobody adopted or attached in this run (the config
 * no longer names them): calls fn for each, then detaches and unpins.
 */
int st_capture_detach_stale(struct st_capture_ctx *c,
			    void (*fn)(void *ctx, uint32_t probe_id, const char *key),
			    void *ctx);

/* Detach and unpin everything (uninstall); the pin dir is removed. */
int st_capture_detach_all(struct st_capture_ctx *c, char *err, size_t errlen);

/*
 * Wait up to timeout_ms, then read every committed record; returns the
 * records handled or -errno. Reading does not free ring space: see commit.
 */
int st_capture_poll(struct st_capture_ctx *c, int timeout_ms);

/* Position after the last record read. */
uint64_t st_capture_read_pos(const struct st_capture_ctx *c);

/*
 * Hand ring space up to pos back to the kernel. Call it only once the
 * records made from everything before pos are durable: a crash before
 * that leaves those events in the (pinned) ring for the successor.
 */
void st_capture_commit(struct st_capture_ctx *c, uint64_t pos);

/* Pop the lost-event queue; returns how many were written to out. */
int st_capture_lost_events(struct st_capture_ctx *c, struct st_lost_event *out, int max);

/* The agent's own accounting, kept in the pinned map "accounting". */
int st_capture_accounting_load(struct st_capture_ctx *c, struct st_accounting *acct);
int st_capture_accounting_store(struct st_capture_ctx *c, const struct st_accounting *acct);

/* A loss reason's name in records and reports ("ringbuf_full", ...). */
const char *st_loss_reason_name(enum st_loss_reason r);
/* The reason a loss record names; -1 for a name this build does not know. */
int st_loss_reason_parse(const char *name, enum st_loss_reason *r);

/* Sum of the per-CPU counters of a probe. */
int st_capture_counters(struct st_capture_ctx *c, uint32_t probe_id,
			struct st_probe_counters *sum);

/* Bytes written to the ring buffer and not yet committed; and its size. */
uint64_t st_capture_ringbuf_used(const struct st_capture_ctx *c);
uint64_t st_capture_ringbuf_size(const struct st_capture_ctx *c);

/* Tell the BPF side the agent is alive (fail-closed targets, agent_down). */
int st_capture_heartbeat(struct st_capture_ctx *c, uint64_t tai_ns);

/* Epoll fd readable when the ring has data (for waiting on several rings). */
int st_capture_fd(const struct st_capture_ctx *c);

/*
 * Let fd's readability end st_capture_poll's wait too (another ring the
 * agent drains in the same round, e.g. the wire capture's); 0 or -1.
 */
int st_capture_wake_on(struct st_capture_ctx *c, int fd, char *err, size_t errlen);

/* Close: pinned maps and links stay for the successor. */
void st_capture_close(struct st_capture_ctx *c);

#endif /* SEALTRACE_CAPTURE_H */
