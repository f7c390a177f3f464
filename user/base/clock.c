// SPDX-License-Identifier: Apache-2.0
/* clock: see include/sealtrace/base/clock.h. */
#include "sealtrace/base/clock.h"

uint64_t st_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * ST_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

int64_t st_tai_offset_ns(void)
{
	return (int64_t)(st_clock_ns(CLOCK_TAI) - st_clock_ns(CLOCK_REALTIME));
}

uint64_t st_tai_to_utc(uint64_t tai, int64_t tai_offset_ns)
{
	return tai ? (uint64_t)((int64_t)tai - tai_offset_ns) : st_realtime_ns();
}
