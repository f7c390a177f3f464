/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pairing: pair ring-buffer ENTRY and RETURN events into calls.
 *
 * Entry and return of one call carry the same per-probe kernel sequence
 * number (kseq), so pairing is by (probe, kseq) and survives events of other
 * threads interleaving in the ring. A thread that exits with calls open
 * (THREAD_EXIT) completes them as incomplete; a return whose entry was
 * lost arrives as a call without entry. The pairing table owns a copy of
 * each pending entry until its call is delivered.
 */
#ifndef SEALTRACE_PAIRING_H
#define SEALTRACE_PAIRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/capture/capture.h"

enum st_call_state {
	ST_CALL_COMPLETE = 0,	/* entry and return seen */
	ST_CALL_INCOMPLETE,	/* the thread exited (or the agent stopped) mid-call */
	ST_CALL_NO_ENTRY,	/* return seen, its entry was lost */
	ST_CALL_NO_RETURN,	/* entry seen, its return event was lost */
};

struct st_call {
	enum st_call_state state;
	uint32_t probe_id;
	uint32_t tgid;
	uint32_t tid;
	char comm[ST_COMM_LEN];
	uint64_t kseq;
	uint64_t entry_ts;	/* CLOCK_TAI ns; 0 without entry */
	uint64_t return_ts;	/* CLOCK_TAI ns; 0 without return */
	uint16_t depth;
	uint16_t flags;		/* ST_F_* of entry and return together */
	uint64_t ret;		/* return value; exit code for INCOMPLETE */
	const uint8_t *in;	/* valid during the callback only */
	uint32_t in_len;
	uint32_t in_want;
	const uint8_t *out;
	uint32_t out_len;
	uint32_t out_want;
};

/* Non-call events (process exec/exit, file opens) are passed through raw. */
struct st_consume_ops {
	void (*call)(void *ctx, const struct st_call *call);
	void (*other)(void *ctx, const struct st_event *ev, size_t size);
	/* the return of a call skipped by st_pairing_skip(), read at pos */
	void (*skipped)(void *ctx, uint32_t probe_id, uint64_t kseq, uint64_t pos);
	void *ctx;
};

struct st_pairing;

struct st_pairing *st_pairing_new(const struct st_consume_ops *ops);

/*
 * Feed one ring-buffer record read at ring position pos; -1 when it is
 * malformed (ignored). now_ns (any monotonic clock) ages pending entries.
 */
int st_pairing_event(struct st_pairing *p, const struct st_event *ev, size_t size,
		     uint64_t pos, uint64_t now_ns);

/*
 * The kernel could not write the return of (probe, kseq). Delivers the
 * pending entry as ST_CALL_NO_RETURN and returns 1, or returns 0 when no
 * entry is pending either: the whole call is lost.
 */
int st_pairing_lost_return(struct st_pairing *p, uint32_t probe_id, uint64_t kseq);

/*
 * Dead threads, in two steps around a drain of the ring: mark() notes the
 * calls open on threads that alive() says are gone (their events, if any,
 * were written before they died); after the drain, settle() delivers the
 * marked calls still open as incomplete. This covers a thread-exit event
 * that the ring could not take. (A call whose entry was lost and whose
 * thread died is counted lost by the kernel itself.)
 */
void st_pairing_reap_mark(struct st_pairing *p, bool (*alive)(uint32_t tgid, uint32_t tid));
void st_pairing_reap_settle(struct st_pairing *p, uint64_t now_tai);

/*
 * Calls a previous agent already recorded: their events, if read again
 * from the ring after a crash, are dropped instead of recorded twice.
 */
int st_pairing_skip(struct st_pairing *p, uint32_t probe_id, uint64_t kseq);

/*
 * The ring position up to which space may be handed back: read_pos, or the
 * position of the oldest pending entry so that a crash does not lose it,
 * unless that entry is older than max_age_ns (a call that runs for long
 * must not pin the ring; if the agent dies, its return still arrives).
 */
uint64_t st_pairing_safe_pos(const struct st_pairing *p, uint64_t read_pos,
			     uint64_t now_ns, uint64_t max_age_ns);

/* Deliver every pending call as incomplete (agent stop). */
void st_pairing_flush(struct st_pairing *p);

size_t st_pairing_pending(const struct st_pairing *p);

void st_pairing_free(struct st_pairing *p);

#endif /* SEALTRACE_PAIRING_H */
