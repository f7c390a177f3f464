// SPDX-License-Identifier: Apache-2.0
/* Progress lines for long scans (see progress.h). */
#include <stdarg.h>
#include <stdio.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/base/progress.h"

void st_progress_init(struct st_progress *p, bool on, uint64_t interval_ns,
		      bool from_start)
{
	p->on = on;
	p->interval_ns = interval_ns;
	p->started_ns = st_monotonic_ns();
	p->last_ns = from_start ? p->started_ns : 0;
	p->count = 0;
}

bool st_progress_tick(struct st_progress *p)
{
	uint64_t now;

	if (++p->count % ST_PROGRESS_EVERY || !p->on)
		return false;
	now = st_monotonic_ns();
	if (!p->last_ns) {
		p->last_ns = now;
		return false;
	}
	if (now - p->last_ns < p->interval_ns)
		return false;
	p->last_ns = now;
	return true;
}

double st_progress_elapsed_s(const struct st_progress *p)
{
	return (double)(st_monotonic_ns() - p->started_ns) / 1e9;
}

void st_progress_print(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);	/* one write: lines never interleave */
}
