/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lifecycle: the userspace API of user/targets/lifecycle.c. The layout shared
 * with bpf/lifecycle.bpf.c is in lifecycle_abi.h.
 */
#ifndef SEALTRACE_LIFECYCLE_H
#define SEALTRACE_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sealtrace/targets/lifecycle_abi.h"

struct st_lc_ctx;

typedef void (*st_lc_event_fn)(void *ctx, const struct st_lc_event *ev);

/* How the files tracked processes read are reported (model fingerprints). */
enum st_lc_reads {
	ST_LC_READS_NONE = 0,		/* not at all */
	ST_LC_READS_PAGE_CACHE,		/* first read or fault of each file */
	ST_LC_READS_OPENAT,		/* every open (FILE_OPEN without ST_LC_F_LIB) */
};

/* The kernel has the page cache's tracepoints (mm_filemap_*, 6.10+). */
bool st_lifecycle_page_cache_traceable(void);

/*
 * Load and attach the lifecycle programs with these watches (copied into
 * the object's read-only data, so the kernel-side filter is fixed for the
 * agent's lifetime). The openat programs are attached only when a library
 * is watched or reads is ST_LC_READS_OPENAT: a syscall tracepoint puts
 * every task on the machine on the syscall slow path (~75-115 ns a syscall
 * measured here). The page cache's programs (the first read of each file
 * by a tracked process, for model artifacts) only with
 * ST_LC_READS_PAGE_CACHE; they cost other processes a bit test per read or
 * file fault, not per syscall. When every one of the model
 * globs (all targets') is "*<literal>", at most ST_LC_MAX_SUFFIX of them,
 * the kernel reports only files whose name ends with one; else every
 * file's first read.
 */
int st_lifecycle_open(struct st_lc_ctx **out, const struct st_lc_watch *watch,
		      size_t nwatch, enum st_lc_reads reads, const char *const *globs,
		      size_t nglobs, const char *pin_dir,
		      st_lc_event_fn fn, void *fn_ctx, char *err, size_t errlen);

/*
 * Holds are bounded: a process stopped at exec or library load waits at
 * most this long for the agent. A guard process (a child of the agent that
 * touches only the held map) resumes it then, also when the agent is frozen
 * or gone; its calls before the agent attaches are not captured, and the
 * activation record says hold_expired.
 */
#define ST_HOLD_MAX_MS	5000

/* A held process was resumed: forget it. */
void st_lifecycle_unhold(struct st_lc_ctx *c, uint32_t tgid);

/*
 * Resume (SIGCONT) every process still listed as held: left by an agent
 * that died between stopping and resuming it. Returns how many.
 */
int st_lifecycle_release_held(struct st_lc_ctx *c);

/*
 * Uninstall: resume every process in the held list pinned under pin_dir
 * (whether or not a lifecycle object is loaded) and remove the pin.
 * Returns how many were resumed, or -1 when the list cannot be opened.
 */
int st_lifecycle_release_pinned(const char *pin_dir);

/*
 * The file (stat's device and inode) has the probes of a target: processes
 * that run or load it are covered from their first instruction, and the
 * kernel no longer holds them.
 */
int st_lifecycle_cover(struct st_lc_ctx *c, dev_t dev, ino_t ino);

/* The hold guard resumed tgid (the hold bound was hit); forgets it. */
bool st_lifecycle_hold_expired(struct st_lc_ctx *c, uint32_t tgid);

/* Add or remove a process (tgid) from the kernel's tracked set. */
int st_lifecycle_track(struct st_lc_ctx *c, uint32_t tgid, bool on);

/* Epoll fd that becomes readable when events are waiting. */
int st_lifecycle_fd(struct st_lc_ctx *c);

/* Wait up to timeout_ms, then deliver events; returns events or -errno. */
int st_lifecycle_poll(struct st_lc_ctx *c, int timeout_ms);

/* Events the kernel could not put into the ring buffer (never silent). */
uint64_t st_lifecycle_lost(struct st_lc_ctx *c);

void st_lifecycle_close(struct st_lc_ctx *c);

/* Decode a wait status: exit code (or -1) and signal (or 0). */
void st_wait_status(int64_t status, int *exit_code, int *signo);

#endif /* SEALTRACE_LIFECYCLE_H */
