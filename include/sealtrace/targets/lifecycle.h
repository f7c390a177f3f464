/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lifecycle: process exec/exit and file opens, the layout shared by
 * bpf/lifecycle.bpf.c and user/lifecycle.c.
 *
 * A separate BPF object with its own ring buffer ("lc_events"), not the
 * capture ring: lifecycle events are rare (a few per process lifetime) and
 * must wake the agent at once, because a process that matches a watch is
 * held (SIGSTOP) until the agent has attached its probes; capture events
 * are many and wake the agent by fill level. Keeping the two apart also
 * keeps capture's pinned maps free of lifecycle state.
 *
 * What the BPF side reports:
 *   ST_EV_PROC_EXEC	an exec whose file's basename equals a watched
 *			executable name, or any exec of a tracked process
 *   ST_EV_PROC_EXIT	the last thread of a tracked process exits
 *			(ret: the wait status, exit code << 8 | signal)
 *   ST_EV_FILE_OPEN	a successful openat() by a tracked process (ret: fd),
 *			or by any process whose file's basename matches a
 *			watched library (flags ST_LC_F_LIB)
 * Matching in the kernel is only a pre-filter (basenames); the agent
 * decides with /proc/PID/exe and /proc/PID/maps whether a process really
 * is a target, and resumes it either way.
 */
#ifndef SEALTRACE_LIFECYCLE_H
#define SEALTRACE_LIFECYCLE_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#include "sealtrace/capture/capture.h"	/* ST_EV_PROC_*, ST_EV_FILE_OPEN, ST_COMM_LEN */

#define ST_LC_PATH_MAX		256	/* bytes of a path, NUL included */
#define ST_LC_NAME_MAX		48	/* watched name, NUL included */
#define ST_LC_MAX_WATCH		16

enum st_lc_watch_kind {
	ST_LC_WATCH_EXE = 1,	/* basename of the exec'd file == name */
	ST_LC_WATCH_LIB = 2,	/* basename of an opened file starts with name + "." */
};

struct st_lc_watch {
	__u8 kind;		/* enum st_lc_watch_kind */
	__u8 hold;		/* SIGSTOP the process until the agent resumes it */
	__u8 len;		/* strlen(name) */
	__u8 tracked_only;	/* LIB: only processes already tracked (exe matched) */
	char name[ST_LC_NAME_MAX];
};

/* st_lc_event.flags */
#define ST_LC_F_HELD	(1u << 0)	/* the process was sent SIGSTOP: resume it */
#define ST_LC_F_LIB	(1u << 1)	/* FILE_OPEN of a watched library */
#define ST_LC_F_TRACKED	(1u << 2)	/* the process was already tracked */

struct st_lc_event {
	__u16 kind;		/* ST_EV_PROC_EXEC, ST_EV_PROC_EXIT, ST_EV_FILE_OPEN */
	__u16 flags;		/* ST_LC_F_* */
	__u16 watch;		/* index of the matching watch + 1; 0: none */
	__u16 path_len;		/* bytes in path, without the NUL */
	__u32 tgid;
	__u32 tid;
	__u64 ts_ns;		/* CLOCK_TAI */
	__s64 ret;		/* PROC_EXIT: wait status; FILE_OPEN: fd */
	__s32 dfd;		/* FILE_OPEN: the directory fd of openat() */
	__u32 pad;
	char comm[ST_COMM_LEN];
	char path[ST_LC_PATH_MAX];	/* exec'd file or opened file, as given */
};

#ifndef __bpf__
/* ---- userspace API (user/lifecycle.c) ---- */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct st_lc_ctx;

typedef void (*st_lc_event_fn)(void *ctx, const struct st_lc_event *ev);

/*
 * Load and attach the lifecycle programs with these watches (copied into
 * the object's read-only data, so the kernel-side filter is fixed for the
 * agent's lifetime). The openat programs are attached only when there is
 * something to watch or track.
 */
int st_lifecycle_open(struct st_lc_ctx **out, const struct st_lc_watch *watch,
		      size_t nwatch, const char *pin_dir, st_lc_event_fn fn, void *fn_ctx,
		      char *err, size_t errlen);

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
#endif /* !__bpf__ */

#endif /* SEALTRACE_LIFECYCLE_H */
