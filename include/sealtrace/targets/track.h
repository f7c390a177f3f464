/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Track: the agent's view of the target processes on this node.
 *
 *   lifecycle events (exec, library open, model open, exit)
 *     + /proc (discover) -> which process is which target
 *     -> attach the target's probes once per (target, device, inode)
 *     -> system_activation / model_loaded / system_deactivation records
 *     -> container_id, model_artifact and model_version for the records
 *        of each tracked process (st_tracker_annotate)
 *
 * The tracker makes records but does not write them: the agent's ops do,
 * on the agent's one loop, so the order of the log stays the order of
 * events. Attaching goes back to the agent too (it owns probe ids and the
 * capture object).
 *
 * Matching (first target that matches wins):
 *   maps: LIB	the process maps a library whose basename matches LIB
 *		(discover.h); probes go into that library (or into `path`,
 *		inside the process's root, when given). With `exe` too, the
 *		executable's name must also match.
 *   exe: NAME	the basename of /proc/PID/exe (or of the exec'd file) is
 *		NAME; probes go into the executable (or `path`).
 *   path only	the process runs the file at `path` (same device and inode);
 *		the agent attached `path` at start, discovery only adds the
 *		lifecycle records and the model fingerprints.
 */
#ifndef SEALTRACE_TRACK_H
#define SEALTRACE_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/config/config.h"
#include "sealtrace/log/record.h"

struct st_tracker;

/* Who a file is being attached for (for the probe_attached record). */
struct st_attach_req {
	size_t target;		/* index into cfg->targets */
	const char *path;	/* where the agent found it: /proc/PID/root/... */
	/* the very file the tracker checked (/proc/self/fd/N, open during
	 * the call): read and attached by this, as path may since name
	 * another file (a container can swap a directory on the way) */
	const char *open_path;
	const char *file;	/* the path as the process sees it */
	const char *ident;	/* stable identity "dev:ino:file", for pin keys */
	int pid;
	const char *container_id;	/* NULL when none */
};

struct st_tracker_ops {
	void *ctx;
	/* Attach every probe of the target to the file; 0, or -1 and err. */
	int (*attach)(void *ctx, const struct st_attach_req *req, char *err, size_t errlen);
	/* Write a record (the tracker's pointers are valid during the call). */
	void (*record)(void *ctx, const struct st_record *rec);
	/* Read every capture event already in the ring (before an exit record). */
	void (*drain)(void *ctx);
	/* A process of a target appeared (alive) or ended (wire capture); may be NULL. */
	void (*process)(void *ctx, int pid, size_t target, bool alive);
};

/* Load the lifecycle programs for cfg's targets and start the hasher. */
int st_tracker_open(struct st_tracker **out, const struct st_config *cfg,
		    const struct st_tracker_ops *ops, char *err, size_t errlen);

/* Find the targets that already run (at agent start). */
int st_tracker_scan(struct st_tracker *t);

/* Epoll fd that is readable when lifecycle events wait. */
int st_tracker_fd(struct st_tracker *t);

/* Handle waiting lifecycle events and finished hashes; never blocks. */
int st_tracker_poll(struct st_tracker *t);

/* Fill container_id, model_artifact, model_version of rec from rec->pid. */
void st_tracker_annotate(struct st_tracker *t, struct st_record *rec);

/* Lifecycle events lost so far (ring full) and recorded as such; 0 for NULL. */
uint64_t st_tracker_lifecycle_lost(const struct st_tracker *t);

/* Processes currently tracked. */
size_t st_tracker_count(struct st_tracker *t);

/* Wait (bounded) for pending hashes, record them, then free everything. */
void st_tracker_close(struct st_tracker *t);

#endif /* SEALTRACE_TRACK_H */
