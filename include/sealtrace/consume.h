/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Consume: pair ring-buffer ENTRY and RETURN events into calls.
 *
 * Entry and return of one call carry the same per-probe kernel sequence
 * number (kseq), so pairing is by (probe, kseq) and survives events of other
 * threads interleaving in the ring. A thread that exits with calls open
 * (THREAD_EXIT) completes them as incomplete; a return whose entry was
 * lost arrives as a call without entry. The pairing table owns a copy of
 * each pending entry until its call is delivered.
 */
#ifndef SEALTRACE_CONSUME_H
#define SEALTRACE_CONSUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/capture.h"

enum st_call_state {
	ST_CALL_COMPLETE = 0,	/* entry and return seen */
	ST_CALL_INCOMPLETE,	/* the thread exited (or the agent stopped) mid-call */
	ST_CALL_NO_ENTRY,	/* return seen, its entry was lost */
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
	void *ctx;
};

struct st_pairing;

struct st_pairing *st_pairing_new(const struct st_consume_ops *ops);

/* Feed one ring-buffer record; -1 when it is malformed (ignored). */
int st_pairing_event(struct st_pairing *p, const struct st_event *ev, size_t size);

/* Deliver every pending call as incomplete (agent stop). */
void st_pairing_flush(struct st_pairing *p);

size_t st_pairing_pending(const struct st_pairing *p);

void st_pairing_free(struct st_pairing *p);

#endif /* SEALTRACE_CONSUME_H */
