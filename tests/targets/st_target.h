/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the e2e test targets (workload.c, cet_target.c): the start
 * protocol, the deterministic input generator of "loop" mode and the toy
 * transform st_predict() applies. tests/e2e/workload_inputs.py reproduces
 * the generator and the transform bit for bit; change both together.
 *
 * Start protocol: print "ready pid=<pid>" (flushed), then, when --go FILE
 * was given, poll every 10 ms until FILE exists. The agent attaches in
 * between, so no call happens before the probes are in place.
 *
 * Inputs of loop mode, call i (0-based) with seed S and cap C (C >= 1):
 *
 *   length:  i % 7  == 0  ->  0
 *            i % 11 == 0  ->  C              (exactly the cap)
 *            i % 13 == 0  ->  C + 1          (one over the cap)
 *            i % 17 == 0  ->  2*C + i % 100  (well over the cap)
 *            otherwise    ->  1 + (i * 37) % C
 *            (first matching rule wins; all arithmetic on uint64_t)
 *
 *   bytes:   xorshift64* with state x = S * 1000003 + i (mod 2^64),
 *            x = 0x9e3779b97f4a7c15 if that is 0; each byte is
 *                x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
 *                byte = (x * 0x2545f4914f6cdd1d) & 0xff   (mod 2^64)
 *
 * Output of st_predict(in, n, out, cap): k = min(cap, 32) bytes,
 *   h = FNV-1a-64 over in[0..n)   (offset 0xcbf29ce484222325,
 *                                  prime 0x100000001b3)
 *   for j in 0..k-1:  h += 0x9e3779b97f4a7c15; z = h;
 *                     z = (z ^ z >> 30) * 0xbf58476d1ce4e5b9;
 *                     z = (z ^ z >> 27) * 0x94d049bb133111eb;
 *                     out[j] = (z ^ z >> 31) & 0xff
 *   (SplitMix64 steps), return k.
 */
#ifndef ST_TARGET_H
#define ST_TARGET_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * A probed function must exist under its own name and be really called:
 * noipa stops GCC from cloning it (.constprop/.isra clones would be called
 * instead of the symbol the probe is on) and from inlining it.
 */
#define ST_PROBED __attribute__((noinline, noipa, used))

/* Keeps the compiler from dropping or merging work the probe observes. */
#define ST_BARRIER() asm volatile("" ::: "memory")

#define ST_OUT_MAX 32

static inline void st_ready_and_wait(const char *go)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	if (!go)
		return;
	while (access(go, F_OK) != 0)
		nanosleep(&ts, NULL);
}

static inline uint64_t st_input_len(uint64_t i, uint64_t cap)
{
	if (i % 7 == 0)
		return 0;
	if (i % 11 == 0)
		return cap;
	if (i % 13 == 0)
		return cap + 1;
	if (i % 17 == 0)
		return 2 * cap + i % 100;
	return 1 + (i * 37) % cap;
}

static inline void st_input_fill(uint64_t seed, uint64_t i, unsigned char *buf,
				 size_t len)
{
	uint64_t x = seed * 1000003u + i;
	size_t k;

	if (!x)
		x = 0x9e3779b97f4a7c15ull;
	for (k = 0; k < len; k++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		buf[k] = (unsigned char)(x * 0x2545f4914f6cdd1dull);
	}
}

/*
 * always_inline (honoured under -fno-inline) keeps st_predict() a leaf whose
 * first instruction is an ordinary -O2 one, as in real model code, rather
 * than a call that uprobes would emulate cheaply.
 */
static inline __attribute__((always_inline)) size_t
st_transform(const unsigned char *in, size_t in_len,
	     unsigned char *out, size_t out_cap)
{
	uint64_t h = 0xcbf29ce484222325ull, z;
	size_t k = out_cap < ST_OUT_MAX ? out_cap : ST_OUT_MAX;
	size_t j;

	for (j = 0; j < in_len; j++) {
		h ^= in[j];
		h *= 0x100000001b3ull;
	}
	for (j = 0; j < k; j++) {
		h += 0x9e3779b97f4a7c15ull;
		z = h;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		out[j] = (unsigned char)(z ^ (z >> 31));
	}
	return k;
}

/* Strict unsigned parse for option values; exits with a message on junk. */
static inline uint64_t st_parse_u64(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "bad value for %s: '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

static inline void st_hex(FILE *f, const unsigned char *b, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		fprintf(f, "%02x", b[k]);
}

static inline uint64_t st_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* ST_TARGET_H */
