/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Progress lines on stderr for the verbs that read a whole log (verify,
 * lookup, status --since): a scan that ends quickly prints nothing, a long
 * one prints at most one line per interval. The clock is read once every
 * ST_PROGRESS_EVERY records, so counting costs next to nothing.
 *
 *	if (st_progress_tick(&p))
 *		st_progress_print("verify: %s: %" PRIu64 " records checked...", ...);
 */
#ifndef SEALTRACE_PROGRESS_H
#define SEALTRACE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#define ST_PROGRESS_EVERY	8192	/* records between clock reads */

struct st_progress {
	bool on;			/* false (--quiet): ticks count, nothing is due */
	uint64_t interval_ns;		/* at most one line per interval */
	uint64_t started_ns;		/* monotonic, at st_progress_init */
	uint64_t last_ns;		/* the last line; 0: the first clock read */
	uint64_t count;			/* records ticked */
};

/*
 * from_start: the first line is due one interval after init; otherwise one
 * interval after the first clock read (ST_PROGRESS_EVERY records in).
 */
void st_progress_init(struct st_progress *p, bool on, uint64_t interval_ns,
		      bool from_start);

/* One more record; true when a line is due now. */
bool st_progress_tick(struct st_progress *p);

/* Seconds since st_progress_init. */
double st_progress_elapsed_s(const struct st_progress *p);

/* One line on stderr: fmt and a newline. */
void st_progress_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SEALTRACE_PROGRESS_H */
