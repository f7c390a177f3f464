/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status window: what the log itself says about the calls since a time,
 * for `sealtrace status --since`.
 *
 * The snapshot's counters (status.h) are cumulative since the probes were
 * attached, so one old loss would fail every later check. The window reads
 * the log back instead: `loss` records of the system stream and
 * `inference`/`incomplete` records of the decision stream whose
 * timestamp_utc is at or after since_ns, summed per probe.
 */
#ifndef SEALTRACE_STATUS_WINDOW_H
#define SEALTRACE_STATUS_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/progress.h"
#include "sealtrace/log/record.h"
#include "sealtrace/ops/status.h"

struct st_window_probe {
	char probe[256];		/* the records' "probe" */
	uint64_t persisted;		/* inference + incomplete records */
	uint64_t loss_records;
	uint64_t lost[ST_LOSS__COUNT];	/* details.count by details.reason */
	uint64_t lost_other;		/* reasons this build does not know */
};

struct st_window_scan {
	uint64_t records;		/* records read (the window's and before) */
	uint64_t segments_read, segments_skipped;
};

struct st_window {
	uint64_t since_ns;
	uint64_t loss_records;		/* in the window, all probes */
	struct st_window_scan scan[ST_STREAM__COUNT];
	size_t nprobes, cap;
	struct st_window_probe *probes;
	/* progress lines on stderr for a scan longer than a few seconds */
	struct st_progress progress;
};

/*
 * Read the window [since_ns, now] of both streams of state_dir into w
 * (initialised here; free with st_window_free). live: the agent may be
 * writing (a half-written newest block ends the scan). 0, or -1 with
 * "<stream>: what went wrong" in err (unreadable or broken log).
 */
int st_window_read(const char *state_dir, uint64_t since_ns, bool live, bool progress,
		   struct st_window *w, char *err, size_t errlen);
void st_window_free(struct st_window *w);

/* The probe's window figures, or NULL when it has no record in the window. */
const struct st_window_probe *st_window_probe(const struct st_window *w, const char *probe);

/* Calls lost in the window, all reasons (known or not). */
uint64_t st_window_lost_total(const struct st_window_probe *p);

#endif /* SEALTRACE_STATUS_WINDOW_H */
