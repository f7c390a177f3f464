/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one clock helper: nanoseconds of a POSIX clock, and the kernel's
 * CLOCK_TAI (what BPF stamps events with) converted to UTC (what records
 * carry).
 */
#ifndef SEALTRACE_CLOCK_H
#define SEALTRACE_CLOCK_H

#include <stdint.h>
#include <time.h>

#define ST_NS_PER_SEC	1000000000ull
#define ST_NS_PER_MS	1000000ull

/* Nanoseconds of clock id (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_TAI). */
uint64_t st_clock_ns(clockid_t id);

static inline uint64_t st_realtime_ns(void)
{
	return st_clock_ns(CLOCK_REALTIME);
}

static inline uint64_t st_monotonic_ns(void)
{
	return st_clock_ns(CLOCK_MONOTONIC);
}

/* CLOCK_TAI - CLOCK_REALTIME now (leap seconds; 0 until ntpd sets it). */
int64_t st_tai_offset_ns(void);

/* A CLOCK_TAI stamp in UTC, given the offset; 0 (no stamp) is "now". */
uint64_t st_tai_to_utc(uint64_t tai, int64_t tai_offset_ns);

#endif /* SEALTRACE_CLOCK_H */
