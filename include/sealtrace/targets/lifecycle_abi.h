/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lifecycle: process exec/exit and file opens, the layout shared by
 * bpf/lifecycle.bpf.c and user/targets/lifecycle.c.
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
 *   ST_EV_FILE_OPEN	a successful openat() by any process whose file's
 *			basename matches a watched library (flags ST_LC_F_LIB;
 *			ret: fd), or, where model files are seen by their opens
 *			(kernels without the page cache's tracepoints), by a
 *			tracked process; the openat tracepoints are attached
 *			only for one of the two
 *   ST_EV_FILE_READ	the first read or page fault of a regular file's
 *			pages by a tracked process (dev, ino; path: the
 *			file's components from its own file system's root,
 *			last first, '/'-separated: "x.gguf/models/srv")
 *
 * Why reads and not opens for model files: any syscalls:* tracepoint puts
 * every thread of every process on the slow syscall path (~75-115 ns a
 * syscall on this kind of VM, bench/wire_bench.py), while the page cache's
 * tracepoints run only where a file's pages are read or faulted in, and a
 * model that is loaded is read.
 * Matching in the kernel is only a pre-filter (basenames); the agent
 * decides with /proc/PID/exe and /proc/PID/maps whether a process really
 * is a target, and resumes it either way.
 */
#ifndef SEALTRACE_LIFECYCLE_ABI_H
#define SEALTRACE_LIFECYCLE_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#include "sealtrace/capture/capture_abi.h"	/* ST_EV_PROC_*, ST_EV_FILE_*, ST_COMM_LEN */

#define ST_LC_PATH_MAX		256	/* bytes of a path, NUL included */
#define ST_LC_NAME_MAX		48	/* watched name, NUL included */
#define ST_LC_MAX_WATCH		16
#define ST_LC_TGID_WORDS	65536	/* tracked bitmap words: tgids below 2^22 */
#define ST_LC_MAX_SUFFIX	8	/* model name suffixes the kernel filters reads by */
#define ST_LC_SUFFIX_MAX	16	/* bytes of one, NUL included */

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

/*
 * A model glob of the form "*<literal>" ("*.gguf") or "<literal>*"
 * ("sha256-*", Ollama's blobs): when every glob is one, the kernel reports
 * only reads of files whose name ends (or starts) so, and a process that
 * reads thousands of files at start (Python, Node) does not fill the ring
 * that also carries exec and exit.
 */
struct st_lc_suffix {
	__u8 len;		/* strlen(s) */
	__u8 prefix;		/* 1: the name starts with s; 0: ends with it */
	char s[ST_LC_SUFFIX_MAX - 1];
};

/* st_lc_event.flags */
#define ST_LC_F_HELD	(1u << 0)	/* the process was sent SIGSTOP: resume it */
#define ST_LC_F_LIB	(1u << 1)	/* FILE_OPEN of a watched library */
#define ST_LC_F_TRACKED	(1u << 2)	/* the process was already tracked */
#define ST_LC_F_COVERED	(1u << 3)	/* a watch matched; its file has probes: not held */
#define ST_LC_F_PARTIAL	(1u << 4)	/* FILE_READ: path cut short (too deep or long) */

struct st_lc_event {
	__u16 kind;		/* ST_EV_PROC_EXEC, ST_EV_PROC_EXIT, ST_EV_FILE_* */
	__u16 flags;		/* ST_LC_F_* */
	__u16 watch;		/* index of the matching watch + 1; 0: none */
	__u16 path_len;		/* bytes in path, without the NUL */
	__u32 tgid;
	__u32 tid;
	__u64 ts_ns;		/* CLOCK_TAI */
	__s64 ret;		/* PROC_EXIT: wait status; FILE_OPEN: fd */
	__s32 dfd;		/* FILE_OPEN: the directory fd of openat() */
	__u32 dev;		/* FILE_READ: the file's device, as the kernel encodes it */
	__u64 ino;		/* FILE_READ: its inode number */
	char comm[ST_COMM_LEN];
	char path[ST_LC_PATH_MAX];	/* exec'd or opened file as given; FILE_READ: see above */
};

#endif /* SEALTRACE_LIFECYCLE_ABI_H */
