// SPDX-License-Identifier: Apache-2.0
/* Track: discovery, lifecycle records and model fingerprints (see track.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/targets/discover.h"
#include "sealtrace/targets/lifecycle.h"
#include "sealtrace/targets/model.h"
#include "sealtrace/targets/track.h"

#define HASH_WAIT_NS	(30ull * 1000000000ull)	/* at close, for big models */
#define PENDING_READS	64	/* model reads of tracked processes not yet targets */
#define MODELS_SEEN	32	/* model files remembered per process (shards...) */
#define RESCAN_NS	(5ull * 1000000000ull)	/* a tracked process's open files */

struct file_id {
	dev_t dev;
	ino_t ino;
};

/* One tracked process. */
struct proc {
	int pid;
	size_t target;
	uint64_t gen;			/* tells a reused pid from its predecessor */
	char comm[16];
	char exe[ST_PROC_PATH_MAX];
	char container_id[ST_CONTAINER_ID_LEN + 1];
	char model_sha256[65];		/* "" until a model was hashed */
	const char *model_version;	/* owned by the config */
	struct file_id models[MODELS_SEEN];	/* submitted for hashing, oldest first */
	size_t nmodels;
	uint64_t next_rescan_ns;	/* CLOCK_MONOTONIC: its descriptors, again */
};

/* One file the target's probes are attached to. */
struct attachment {
	size_t target;
	dev_t dev;
	ino_t ino;
};

struct st_tracker {
	const struct st_config *cfg;
	struct st_tracker_ops ops;
	struct st_lc_ctx *lc;
	struct st_model_hasher *hasher;
	int epfd;			/* the lifecycle ring and the hasher's results */
	struct proc *procs;
	size_t nprocs, cap_procs;
	struct attachment *att;
	size_t natt, cap_att;
	uint64_t next_gen;
	uint64_t lc_lost_seen;
	/*
	 * The kernel reports a file's first read by a process once; a process
	 * that reads its model before it is a target (node-llama-cpp parses the
	 * GGUF before it loads libllama) has the report kept here until then.
	 */
	struct st_lc_event pending[PENDING_READS];
	size_t npending;
	struct st_lc_watch watch[ST_LC_MAX_WATCH];	/* as loaded into the kernel */
	size_t nwatch;
};



/* ---- records ---- */

static void rec_proc(struct st_record *rec, const struct proc *p)
{
	rec->pid = p->pid;
	rec->comm = p->comm;
	rec->container_id = p->container_id[0] ? p->container_id : NULL;
}

static const struct st_target_cfg *target_of(const struct st_tracker *t, size_t ti)
{
	return &t->cfg->targets[ti];
}

/* How a process came to the agent: stopped at exec or load, and for how long. */
struct hold_state {
	bool held;		/* stopped by the kernel until resumed */
	bool expired;		/* resumed by the guard: the hold bound was hit */
	bool gone;		/* exited before the agent looked: seen in the event only */
};

static void record_activation(struct st_tracker *t, const struct proc *p, uint64_t ts,
			      const char *reason, const char *file, struct hold_state hs,
			      const char *attach_err)
{
	struct st_record rec;
	struct st_kv d[9 + ST_MAX_FACTS];
	size_t nd = 0, i;

	st_record_init(&rec, ST_ET_SYSTEM_ACTIVATION, ts);
	rec_proc(&rec, p);
	d[nd++] = st_kv_str("target", target_of(t, p->target)->name);
	d[nd++] = st_kv_str("exe", p->exe);
	d[nd++] = st_kv_str("file", file);
	d[nd++] = st_kv_str("reason", reason);
	d[nd++] = st_kv_bool("held", hs.held);
	/* it ran before its probes were in: calls until then are not in the log */
	if (hs.expired)
		d[nd++] = st_kv_bool("hold_expired", true);
	/* covered, so not held, and gone before /proc could be read */
	if (hs.gone)
		d[nd++] = st_kv_bool("process_gone", true);
	if (attach_err)
		d[nd++] = st_kv_str("attach_error", attach_err);
	/* the system's static facts, beside every activation (config system_facts) */
	for (i = 0; i < t->cfg->nfacts; i++)
		d[nd++] = st_kv_str(t->cfg->facts[i].key, t->cfg->facts[i].value);
	rec.details = d;
	rec.ndetails = nd;
	t->ops.record(t->ops.ctx, &rec);
}

/*
 * A held process that the guard resumed and that exited before the agent
 * looked at it: nothing in /proc says which target it was, but that it ran
 * unobserved is on record (pid, the file it ran or loaded).
 */
static void record_expired_gone(struct st_tracker *t, int pid, uint64_t ts, const char *reason,
				const char *file)
{
	struct st_record rec;
	struct st_kv d[5];
	size_t nd = 0;

	st_record_init(&rec, ST_ET_SYSTEM_ACTIVATION, ts);
	rec.pid = pid;
	d[nd++] = st_kv_str("file", file ? file : "");
	d[nd++] = st_kv_str("reason", reason);
	d[nd++] = st_kv_bool("held", true);
	d[nd++] = st_kv_bool("hold_expired", true);
	d[nd++] = st_kv_str("attach_error", "exited before the agent attached");
	rec.details = d;
	rec.ndetails = nd;
	t->ops.record(t->ops.ctx, &rec);
}

static void record_deactivation(struct st_tracker *t, const struct proc *p, uint64_t ts,
				const char *reason, int64_t status, bool have_status)
{
	struct st_record rec;
	struct st_kv d[5];
	size_t nd = 0;
	int code, sig;

	st_record_init(&rec, ST_ET_SYSTEM_DEACTIVATION, ts);
	rec_proc(&rec, p);
	d[nd++] = st_kv_str("target", target_of(t, p->target)->name);
	d[nd++] = st_kv_str("reason", reason);
	if (have_status) {
		st_wait_status(status, &code, &sig);
		if (sig)
			d[nd++] = st_kv_int("signal", sig);
		else
			d[nd++] = st_kv_int("exit_code", code);
	}
	d[nd++] = st_kv_str("exe", p->exe);
	rec.details = d;
	rec.ndetails = nd;
	t->ops.record(t->ops.ctx, &rec);
}

/* ---- tables ---- */

static struct proc *find_proc(struct st_tracker *t, int pid)
{
	size_t i;

	for (i = 0; i < t->nprocs; i++)
		if (t->procs[i].pid == pid)
			return &t->procs[i];
	return NULL;
}

static struct proc *add_proc(struct st_tracker *t)
{
	struct proc *bigger;
	size_t cap;

	if (t->nprocs == t->cap_procs) {
		cap = t->cap_procs ? 2 * t->cap_procs : 16;
		bigger = realloc(t->procs, cap * sizeof(*bigger));
		if (!bigger)
			return NULL;
		t->procs = bigger;
		t->cap_procs = cap;
	}
	memset(&t->procs[t->nprocs], 0, sizeof(t->procs[0]));
	return &t->procs[t->nprocs++];
}

static void remove_proc(struct st_tracker *t, struct proc *p)
{
	size_t i = (size_t)(p - t->procs);

	t->procs[i] = t->procs[--t->nprocs];
}

static bool attached(const struct st_tracker *t, size_t ti, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < t->natt; i++)
		if (t->att[i].target == ti && t->att[i].dev == dev && t->att[i].ino == ino)
			return true;
	return false;
}

static int add_attachment(struct st_tracker *t, size_t ti, dev_t dev, ino_t ino)
{
	struct attachment *bigger;
	size_t cap;

	if (t->natt == t->cap_att) {
		cap = t->cap_att ? 2 * t->cap_att : 8;
		bigger = realloc(t->att, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		t->att = bigger;
		t->cap_att = cap;
	}
	t->att[t->natt].target = ti;
	t->att[t->natt].dev = dev;
	t->att[t->natt].ino = ino;
	t->natt++;
	return 0;
}

/* ---- matching ---- */

static bool is_discovered(const struct st_target_cfg *tc)
{
	return tc->exe || tc->maps;
}

/* Same file (device and inode) as path, which the agent can open. */
static bool same_file(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* A library the process just opened (the path it gave) is the target's path. */
static bool lib_hint_is(const struct st_proc_info *pi, const char *lib_hint,
			const char *path)
{
	char mine[ST_PROC_PATH_MAX + 32], hint[ST_PROC_PATH_MAX + 32];
	struct stat st;

	if (!lib_hint || lib_hint[0] != '/')
		return false;
	if (!strcmp(lib_hint, path))
		return true;
	/* another name of the same file (a symlink such as libx.so -> libx.so.1) */
	if (st_proc_path(pi->pid, AT_FDCWD, path, mine, sizeof(mine)) ||
	    st_proc_path(pi->pid, AT_FDCWD, lib_hint, hint, sizeof(hint)) || stat(mine, &st))
		return false;
	return same_file(hint, st.st_dev, st.st_ino);
}

/*
 * A path-only target, in the process's own mount namespace: its executable
 * is that path (a host process, or one in a container whose image has the
 * file there), or it has the library at that path mapped or just opened.
 */
static bool match_path_target(const struct st_target_cfg *tc, const struct st_proc_info *pi,
			      const char *lib_hint)
{
	char mine[ST_PROC_PATH_MAX + 32];

	if (!strcmp(pi->exe, tc->path))
		return true;
	if (st_proc_path(pi->pid, AT_FDCWD, tc->path, mine, sizeof(mine)) == 0 &&
	    same_file(mine, pi->exe_dev, pi->exe_ino))
		return true;
	return lib_hint_is(pi, lib_hint, tc->path) || st_proc_maps_file(pi->pid, tc->path);
}

/*
 * Does process pi belong to target ti? If so, file gets the path (as the
 * process sees it) of the file to probe. lib_hint: a library the process
 * just opened (NULL at scan or exec).
 */
static bool match_target(const struct st_target_cfg *tc, const struct st_proc_info *pi,
			 const char *exec_path, const char *lib_hint, char *file, size_t len)
{
	bool exe_ok;

	if (tc->pid && tc->pid != pi->pid)
		return false;	/* the target names one process */
	if (!is_discovered(tc)) {
		if (!match_path_target(tc, pi, lib_hint))
			return false;
		snprintf(file, len, "%s", tc->path);
		return true;
	}
	exe_ok = !tc->exe || !strcmp(st_basename(pi->exe), tc->exe) ||
		 (exec_path && !strcmp(st_basename(exec_path), tc->exe));
	if (!exe_ok)
		return false;
	if (!tc->maps) {
		snprintf(file, len, "%s", tc->path ? tc->path : pi->exe);
		return true;
	}
	if (lib_hint && lib_hint[0] == '/' && st_lib_matches(tc->maps, lib_hint))
		snprintf(file, len, "%s", lib_hint);
	else if (st_proc_find_lib(pi->pid, tc->maps, file, len))
		return false;
	if (tc->path)
		snprintf(file, len, "%s", tc->path);
	return true;
}

/* A file the process has open or mapped is this one (dev, ino). */
static int same_identity(void *ctx, const char *entry, const char *view)
{
	const struct stat *want = ctx;

	return same_file(entry, want->st_dev, want->st_ino);
}

/*
 * The file to attach, as the agent reaches it: through /proc/PID/root; an
 * executable that is not reachable by its name there (deleted, or
 * over-mounted) through /proc/PID/exe itself. Returns an O_PATH descriptor
 * of the file checked, or -1: the probes are attached, and the file read,
 * through that descriptor, so that a path changed after the check (a
 * directory on the way renamed by the container) cannot point them at
 * another file.
 */
static int agent_open(const struct st_proc_info *pi, const char *file, bool is_exe,
		      char *path, size_t len, struct stat *st)
{
	int fd = -1;

	/*
	 * The path walk through /proc/PID/root resolves an absolute symlink on
	 * the way in the agent's own root: the file found must be one the
	 * process has (its executable, or a file it has open or mapped), or a
	 * container could point the probes at a file of the host's.
	 */
	if (st_proc_path(pi->pid, AT_FDCWD, file, path, len) == 0)
		fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
	    (is_exe ? st->st_dev == pi->exe_dev && st->st_ino == pi->exe_ino
		    : st_proc_each_file(pi->pid, same_identity, st) == 1))
		return fd;
	if (fd >= 0)
		close(fd);
	if (!is_exe)
		return -1;
	snprintf(path, len, "/proc/%d/exe", pi->pid);
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, st) == 0 && S_ISREG(st->st_mode))
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Attach the target's probes to the file (st, open as fd_path; found as
 * path) unless that (target, file) has them.
 */
static int attach_file(struct st_tracker *t, size_t ti, const struct st_proc_info *pi,
		       const char *file, const char *path, const char *fd_path,
		       const struct stat *st, char *err, size_t errlen)
{
	char ident[ST_PROC_PATH_MAX + 64];
	struct st_attach_req req;
	dev_t dev;
	ino_t ino;

	/*
	 * Uprobes sit on the inode the pages come from: for a container
	 * image (overlayfs) the layer's, shared by every container of the
	 * image, though stat gives each container's mount its own device.
	 * Attaching per mount would record every call once per container.
	 */
	if (st_file_real_id(pi->pid, fd_path, &dev, &ino)) {
		dev = st->st_dev;
		ino = st->st_ino;
	}
	/* the kernel's exec/open check sees this mount's inode: cover both */
	st_lifecycle_cover(t->lc, st->st_dev, st->st_ino);
	if (attached(t, ti, dev, ino)) {
		st_lifecycle_cover(t->lc, dev, ino);
		return 0;
	}
	snprintf(ident, sizeof(ident), "%ju:%ju:%s", (uintmax_t)dev, (uintmax_t)ino, file);
	req = (struct st_attach_req){
		.target = ti, .path = path, .open_path = fd_path, .file = file,
		.ident = ident, .pid = pi->pid,
		.container_id = pi->container_id[0] ? pi->container_id : NULL,
	};
	if (t->ops.attach(t->ops.ctx, &req, err, errlen))
		return -1;
	/* from now on, a process of this file needs no hold */
	st_lifecycle_cover(t->lc, dev, ino);
	return add_attachment(t, ti, dev, ino);
}

/* Attach the target's probes to the file unless that (target, file) has them. */
static int ensure_attached(struct st_tracker *t, size_t ti, const struct st_proc_info *pi,
			   const char *file, char *err, size_t errlen)
{
	const struct st_target_cfg *tc = target_of(t, ti);
	char path[ST_PROC_PATH_MAX + 32], fd_path[32];
	bool is_exe = !tc->maps && !tc->path;
	struct stat st;
	int fd, r;

	/*
	 * A path target's file on the host was attached at start (and is in
	 * att); the same path in a container's image is another file.
	 */
	fd = agent_open(pi, file, is_exe, path, sizeof(path), &st);
	if (fd < 0) {
		snprintf(err, errlen, "%.256s: not reachable through /proc/%d/root, or not the "
			 "file the process has open or mapped", file, pi->pid);
		return -1;
	}
	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
	r = attach_file(t, ti, pi, file, path, fd_path, &st, err, errlen);
	close(fd);
	return r;
}

/* ---- model fingerprints ---- */

static const char *version_of(const struct st_tracker *t, const char *sha)
{
	size_t i;

	for (i = 0; i < t->cfg->nmodels; i++)
		if (!strcmp(t->cfg->models[i].sha256, sha))
			return t->cfg->models[i].version;
	return NULL;
}

/* A target's model globs: its own, else the top level's, else the defaults. */
static const char *const *model_globs_of(const struct st_config *cfg,
					 const struct st_target_cfg *tc, size_t *n)
{
	if (tc->model_globs) {
		*n = tc->nmodel_globs;
		return (const char *const *)tc->model_globs;
	}
	if (cfg->model_globs) {
		*n = cfg->nmodel_globs;
		return (const char *const *)cfg->model_globs;
	}
	*n = st_default_model_nglobs;
	return st_default_model_globs;
}

static bool is_model(const struct st_tracker *t, const struct proc *p, const char *path)
{
	const char *const *globs;
	size_t n;

	globs = model_globs_of(t->cfg, target_of(t, p->target), &n);
	return st_model_glob_match(globs, n, path);
}

/* Whether (dev, ino) is among p's model files; if not, it is from now on. */
static bool model_seen(struct proc *p, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < p->nmodels; i++)
		if (p->models[i].dev == dev && p->models[i].ino == ino)
			return true;
	if (p->nmodels == MODELS_SEEN)
		memmove(&p->models[0], &p->models[1], (MODELS_SEEN - 1) * sizeof(p->models[0]));
	else
		p->nmodels++;
	p->models[p->nmodels - 1] = (struct file_id){ dev, ino };
	return false;
}

/* Hash the file fd (owned) on the worker; view names it in the record. */
static void hash_model(struct st_tracker *t, struct proc *p, int fd, const char *view)
{
	struct st_hash_job job;
	struct stat st;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "sealtrace: pid %d: model %s: not a regular file\n", p->pid, view);
		close(fd);
		return;
	}
	/* a blob store's template or license: not a model */
	if (!st_model_content_ok(fd, view)) {
		close(fd);
		return;
	}
	memset(&job, 0, sizeof(job));
	job.fd = fd;
	job.pid = p->pid;
	job.tag = p->gen;
	snprintf(job.path, sizeof(job.path), "%s", view);
	if (st_model_hasher_submit(t->hasher, &job))
		fprintf(stderr, "sealtrace: pid %d: model %s: out of memory\n", p->pid, view);
}

/*
 * A model file the process has open or mapped: entry is its /proc link
 * (/proc/PID/fd/N, /proc/PID/map_files/A-B), which opens the very file,
 * even if renamed since. One record per process and file, by the page
 * cache's identity (the same through an overlay mount and through the
 * host's path of its layer), checked before opening: rescans come back.
 */
static void submit_model(struct st_tracker *t, struct proc *p, const char *entry,
			 const char *view)
{
	dev_t dev;
	ino_t ino;
	int fd;

	if (st_file_real_id(p->pid, entry, &dev, &ino) || model_seen(p, dev, ino))
		return;	/* gone meanwhile, or known */
	/* non-blocking: a FIFO named like a model must not stall the agent */
	fd = open(entry, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "sealtrace: pid %d: model %s: cannot open %s: %s\n", p->pid,
			view, entry, strerror(errno));
		return;
	}
	hash_model(t, p, fd, view);
}

/*
 * A model file by its path: the process names it (model_detection
 * openat), or its file system's root does (read and closed already).
 * Opened inside root_pid's root (0: the host's) with symlinks resolved
 * there, never in the agent's own root, or refused (no_symlinks: a path
 * walked up from the file has none); a privileged agent must not be led
 * to hash a file of its own. want: the identity the kernel reported.
 */
static bool submit_model_at(struct st_tracker *t, struct proc *p, int root_pid,
			    const char *view, bool no_symlinks, const struct file_id *want)
{
	char self[64];
	dev_t dev;
	ino_t ino;
	int fd;

	fd = st_proc_open_in_root(root_pid, view, no_symlinks);
	if (fd < 0)
		return false;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (st_file_real_id(p->pid, self, &dev, &ino) ||
	    (want && (dev != want->dev || ino != want->ino))) {
		close(fd);
		return false;	/* another file there now */
	}
	if (model_seen(p, dev, ino)) {
		close(fd);
		return true;
	}
	hash_model(t, p, fd, view);
	return true;
}

/* The file a FILE_READ event names, looked for among a process's files. */
struct read_search {
	struct st_tracker *t;
	struct proc *p;
	dev_t dev;
	ino_t ino;
	bool need_glob;		/* the kernel had no name for it: match the view's */
	int root_pid;		/* st_mount_path's: whose root the view is in (0: host) */
};

static int submit_if_read_file(void *ctx, const char *entry, const char *view)
{
	struct read_search *s = ctx;
	dev_t dev;
	ino_t ino;

	/* the page cache's identity: an overlay file's is its layer's inode */
	if (st_file_real_id(s->p->pid, entry, &dev, &ino) || dev != s->dev || ino != s->ino)
		return 0;
	if (!s->need_glob || is_model(s->t, s->p, view))
		submit_model(s->t, s->p, entry, view);
	return 1;
}

/* A place the file is mounted: opened there, if it is the file read. */
static int submit_if_mounted(void *ctx, const char *view)
{
	struct read_search *s = ctx;
	struct file_id want = { s->dev, s->ino };

	if (s->need_glob && !is_model(s->t, s->p, view))
		return 0;
	return submit_model_at(s->t, s->p, s->root_pid, view, true, &want) ? 1 : 0;
}

/*
 * An open by a tracked process (model_detection openat): the file by the
 * name it was opened with, made absolute by its cwd or dirfd and opened in
 * its root.
 */
static void on_file_open(struct st_tracker *t, const struct st_lc_event *ev)
{
	char view[ST_PROC_PATH_MAX + ST_LC_PATH_MAX];
	struct proc *p = find_proc(t, (int)ev->tgid);

	if (!p || !ev->path[0] || !is_model(t, p, ev->path) ||
	    st_proc_abs_path(p->pid, ev->dfd, ev->path, view, sizeof(view)))
		return;
	if (!submit_model_at(t, p, p->pid, view, false, NULL))
		fprintf(stderr, "sealtrace: pid %d: model %s: cannot open it in the process's "
			"root: %s\n", p->pid, view, strerror(errno));
}

/* A model's name for some target: a process not yet a target may become one. */
static bool any_model_glob(const struct st_tracker *t, const char *name)
{
	const char *const *globs;
	size_t i, n;

	for (i = 0; i < t->cfg->ntargets; i++) {
		globs = model_globs_of(t->cfg, &t->cfg->targets[i], &n);
		if (st_model_glob_match(globs, n, name))
			return true;
	}
	return false;
}

/* Keep a read of a process that is not a target (yet); the oldest goes first. */
static void remember_read(struct st_tracker *t, const struct st_lc_event *ev)
{
	if (t->npending == PENDING_READS) {
		memmove(&t->pending[0], &t->pending[1], (PENDING_READS - 1) * sizeof(t->pending[0]));
		t->npending--;
	}
	t->pending[t->npending++] = *ev;
}

static void forget_reads(struct st_tracker *t, uint32_t tgid)
{
	size_t i, n = 0;

	for (i = 0; i < t->npending; i++)
		if (t->pending[i].tgid != tgid)
			t->pending[n++] = t->pending[i];
	t->npending = n;
}

/*
 * A tracked process read or faulted in the first page of a file. If its
 * name is a model's, find the file among the process's descriptors and
 * mappings (it is being read, so usually still open), else by its path
 * inside its file system through the process's mounts, then the host's.
 */
static void on_file_read(struct st_tracker *t, const struct st_lc_event *ev)
{
	struct read_search s = { .t = t, .ino = (ino_t)ev->ino };
	char fs_path[ST_LC_PATH_MAX + 1], name[ST_LC_PATH_MAX];

	st_walked_path(ev->path, fs_path, sizeof(fs_path), name, sizeof(name));
	s.p = find_proc(t, (int)ev->tgid);
	if (!s.p) {
		if (!name[0] || any_model_glob(t, name))
			remember_read(t, ev);
		return;
	}
	s.dev = makedev(ev->dev >> 20, ev->dev & 0xfffff);	/* the kernel's MKDEV */
	s.need_glob = !name[0];
	if (name[0] && !is_model(t, s.p, name))
		return;
	if (st_proc_each_file(s.p->pid, submit_if_read_file, &s) == 1)
		return;
	if (ev->flags & ST_LC_F_PARTIAL || !fs_path[0])
		goto not_found;
	s.root_pid = s.p->pid;
	if (st_mount_path(s.p->pid, s.dev, fs_path, submit_if_mounted, &s) == 1)
		return;
	s.root_pid = 0;
	if (st_mount_path(0, s.dev, fs_path, submit_if_mounted, &s) == 1)
		return;
not_found:
	if (name[0])
		fprintf(stderr, "sealtrace: pid %d: model %s (%s) was read, closed and is not "
			"found by its path: not hashed\n", s.p->pid, name, fs_path);
}

/* Model files a process has open or mapped when it becomes tracked. */
struct model_scan {
	struct st_tracker *t;
	struct proc *p;
};

static int submit_if_model(void *ctx, const char *entry, const char *view)
{
	struct model_scan *s = ctx;

	if (is_model(s->t, s->p, view))
		submit_model(s->t, s->p, entry, view);
	return 0;
}

/*
 * A process found running (or a target only now) may have read its model
 * before it was tracked: the kernel reports only reads from then on. Its
 * open files are looked at again every RESCAN_NS (descriptors only): a
 * file on tmpfs is read without the page cache's tracepoints.
 */
static void scan_models(struct st_tracker *t, struct proc *p, bool maps_too)
{
	struct model_scan s = { t, p };
	size_t n;

	p->next_rescan_ns = st_clock_ns(CLOCK_MONOTONIC) + RESCAN_NS;
	model_globs_of(t->cfg, target_of(t, p->target), &n);
	if (!n)
		return;
	if (maps_too)
		st_proc_each_file(p->pid, submit_if_model, &s);
	else
		st_proc_each_fd(p->pid, submit_if_model, &s);
}

static void rescan_models(struct st_tracker *t)
{
	uint64_t now = st_clock_ns(CLOCK_MONOTONIC);
	size_t i;

	for (i = 0; i < t->nprocs; i++)
		if (now >= t->procs[i].next_rescan_ns)
			scan_models(t, &t->procs[i], false);
}

/* Reads the kernel reported before p was a target, in their order. */
static void replay_reads(struct st_tracker *t, struct proc *p)
{
	struct st_lc_event ev;
	size_t i = 0;

	while (i < t->npending) {
		if (t->pending[i].tgid != (uint32_t)p->pid) {
			i++;
			continue;
		}
		ev = t->pending[i];
		memmove(&t->pending[i], &t->pending[i + 1],
			(t->npending - i - 1) * sizeof(t->pending[0]));
		t->npending--;
		on_file_read(t, &ev);
	}
}

/* ---- discovery ---- */

static void resume(struct st_tracker *t, int pid)
{
	/* the BPF side stopped it so that no call runs before the probes are in */
	if (kill(pid, SIGCONT) && errno != ESRCH)
		fprintf(stderr, "sealtrace: resuming pid %d: %s\n", pid, strerror(errno));
	st_lifecycle_unhold(t->lc, (uint32_t)pid);
}

/*
 * Make pid a tracked process of the first target it matches. Returns true
 * when it did.
 */
static bool consider(struct st_tracker *t, int pid, uint64_t ts, const char *reason,
		     const char *exec_path, const char *lib_hint, struct hold_state hs)
{
	char file[ST_PROC_PATH_MAX], err[512];
	struct st_proc_info *pi;
	struct proc *p;
	size_t ti;
	bool found = false, attach_failed = false;

	if (pid == (int)getpid() || find_proc(t, pid))
		return false;
	pi = malloc(sizeof(*pi));	/* two paths: too big for the stack */
	if (!pi)
		return false;
	if (st_proc_info(pid, pi, err, sizeof(err))) {
		if (hs.expired)
			record_expired_gone(t, pid, ts, reason, exec_path ? exec_path : lib_hint);
		goto out;	/* gone already, or a kernel thread */
	}
	for (ti = 0; ti < t->cfg->ntargets && !found; ti++)
		found = match_target(target_of(t, ti), pi, exec_path, lib_hint, file,
				     sizeof(file));
	if (!found)
		goto out;
	ti--;
	if (ensure_attached(t, ti, pi, file, err, sizeof(err))) {
		fprintf(stderr, "sealtrace: target '%s', pid %d: %s\n", target_of(t, ti)->name,
			pid, err);
		attach_failed = true;
	}
	p = add_proc(t);
	if (!p) {
		fprintf(stderr, "sealtrace: pid %d: out of memory\n", pid);
		found = false;
		goto out;
	}
	p->pid = pid;
	p->target = ti;
	p->gen = ++t->next_gen;
	memcpy(p->comm, pi->comm, sizeof(p->comm));
	snprintf(p->exe, sizeof(p->exe), "%s", pi->exe);
	memcpy(p->container_id, pi->container_id, sizeof(p->container_id));
	st_lifecycle_track(t->lc, (uint32_t)pid, true);
	record_activation(t, p, ts, reason, file, hs, attach_failed ? err : NULL);
	scan_models(t, p, true);
	replay_reads(t, p);
	if (t->ops.process)
		t->ops.process(t->ops.ctx, pid, ti, true);
out:
	free(pi);
	return found;
}

/* ---- events ---- */

static void deactivate(struct st_tracker *t, struct proc *p, uint64_t ts, const char *reason,
		       int64_t status, bool have_status)
{
	/* the process's last calls are in the capture ring: record them first */
	t->ops.drain(t->ops.ctx);
	if (t->ops.process)
		t->ops.process(t->ops.ctx, p->pid, p->target, false);
	record_deactivation(t, p, ts, reason, status, have_status);
	remove_proc(t, p);
}

/*
 * An executable of a target with exe and maps, before it has loaded the
 * library: it stays tracked, so that the kernel reports that load.
 */
static bool lib_candidate(const struct st_tracker *t, const char *exec_path)
{
	size_t i;

	for (i = 0; i < t->cfg->ntargets; i++) {
		const struct st_target_cfg *tc = &t->cfg->targets[i];

		if (tc->maps && tc->exe && !strcmp(st_basename(exec_path), tc->exe))
			return true;
	}
	return false;
}

/* The first target whose kernel watch is watch index wi (kind and name). */
static bool target_of_watch(const struct st_tracker *t, size_t wi, size_t *ti)
{
	const struct st_lc_watch *w = &t->watch[wi];
	char stem[ST_LC_NAME_MAX];
	size_t i;

	for (i = 0; i < t->cfg->ntargets; i++) {
		const struct st_target_cfg *tc = &t->cfg->targets[i];
		const char *lib = tc->maps ? tc->maps : tc->path;

		if (w->kind == ST_LC_WATCH_EXE &&
		    ((tc->exe && !strcmp(tc->exe, w->name)) ||
		     (!is_discovered(tc) && !strcmp(st_basename(tc->path), w->name))))
			break;
		if (w->kind == ST_LC_WATCH_LIB && lib) {
			st_lib_stem(lib, stem, sizeof(stem));
			if (!strcmp(stem, w->name))
				break;
		}
	}
	*ti = i;
	return i < t->cfg->ntargets;
}

/*
 * A process of a covered file is not held, so a short one may be gone
 * before the agent reads its /proc. Its calls are in the log (the probes
 * are per file); its lifecycle is recorded from what the kernel's event
 * says (pid, comm, the file it ran or loaded), and it stays tracked so
 * that its exit event gets its deactivation.
 */
static void track_gone(struct st_tracker *t, const struct st_lc_event *ev, uint64_t ts,
		       const char *reason)
{
	struct hold_state hs = { .gone = true };
	struct proc *p;
	size_t ti;

	if (!(ev->flags & ST_LC_F_COVERED) || !ev->watch || ev->watch > t->nwatch ||
	    !target_of_watch(t, ev->watch - 1u, &ti) || find_proc(t, (int)ev->tgid))
		return;
	p = add_proc(t);
	if (!p)
		return;
	p->pid = (int)ev->tgid;
	p->target = ti;
	p->gen = ++t->next_gen;
	snprintf(p->comm, sizeof(p->comm), "%s", ev->comm);
	snprintf(p->exe, sizeof(p->exe), "%s", ev->kind == ST_EV_PROC_EXEC ? ev->path : "");
	record_activation(t, p, ts, reason, ev->path, hs, NULL);
}

static struct hold_state hold_of(struct st_tracker *t, const struct st_lc_event *ev)
{
	struct hold_state hs = { .held = ev->flags & ST_LC_F_HELD };

	hs.expired = hs.held && st_lifecycle_hold_expired(t->lc, ev->tgid);
	return hs;
}

/* Not a target after all: the kernel stops reporting it. */
static void untrack(struct st_tracker *t, uint32_t tgid)
{
	st_lifecycle_track(t->lc, tgid, false);
	forget_reads(t, tgid);
}

static void on_exec(struct st_tracker *t, const struct st_lc_event *ev)
{
	uint64_t ts = st_tai_to_utc(ev->ts_ns, st_tai_offset_ns());
	struct proc *p = find_proc(t, (int)ev->tgid);
	int pid = (int)ev->tgid;

	if (p)	/* a new program: whatever it is, the old one is gone */
		deactivate(t, p, ts, "exec", 0, false);
	forget_reads(t, ev->tgid);	/* the old program's */
	if (consider(t, pid, ts, "exec", ev->path, NULL, hold_of(t, ev)))
		return;
	if (kill(pid, 0) && errno == ESRCH) {
		track_gone(t, ev, ts, "exec");
		return;
	}
	if (!lib_candidate(t, ev->path))
		untrack(t, ev->tgid);
}

static void on_lib_open(struct st_tracker *t, const struct st_lc_event *ev)
{
	uint64_t ts = st_tai_to_utc(ev->ts_ns, st_tai_offset_ns());
	int pid = (int)ev->tgid;

	if (find_proc(t, pid))
		return;
	if (consider(t, pid, ts, "library_load", NULL, ev->path, hold_of(t, ev)))
		return;
	if (kill(pid, 0) && errno == ESRCH)
		track_gone(t, ev, ts, "library_load");
	else
		untrack(t, ev->tgid);
}

static void on_exit_event(struct st_tracker *t, const struct st_lc_event *ev)
{
	struct proc *p = find_proc(t, (int)ev->tgid);

	forget_reads(t, ev->tgid);
	if (p)
		deactivate(t, p, st_tai_to_utc(ev->ts_ns, st_tai_offset_ns()), "exit", ev->ret, true);
}

static void on_lc_event(void *ctx, const struct st_lc_event *ev)
{
	struct st_tracker *t = ctx;

	switch (ev->kind) {
	case ST_EV_PROC_EXEC:
		on_exec(t, ev);
		break;
	case ST_EV_PROC_EXIT:
		on_exit_event(t, ev);
		break;
	case ST_EV_FILE_OPEN:
		if (ev->flags & ST_LC_F_LIB)
			on_lib_open(t, ev);
		else
			on_file_open(t, ev);	/* model_detection: openat */
		break;
	case ST_EV_FILE_READ:
		on_file_read(t, ev);
		break;
	default:
		break;
	}
	/* resumed only now: activation and attach are done, or it is no target */
	if (ev->flags & ST_LC_F_HELD)
		resume(t, (int)ev->tgid);
}

static void record_model(struct st_tracker *t, const struct st_hash_result *r)
{
	struct proc *p = find_proc(t, r->pid);
	struct st_record rec;
	struct st_kv d[5];
	size_t nd = 0;

	if (p && p->gen != r->tag)
		p = NULL;	/* the pid was reused */
	if (r->error) {
		fprintf(stderr, "sealtrace: pid %d: hashing model %s: %s\n", r->pid, r->path,
			strerror(r->error));
		return;
	}
	st_record_init(&rec, ST_ET_MODEL_LOADED, st_clock_ns(CLOCK_REALTIME));
	rec.pid = r->pid;
	if (p) {
		rec_proc(&rec, p);
		snprintf(p->model_sha256, sizeof(p->model_sha256), "%s", r->sha256);
		p->model_version = version_of(t, r->sha256);
		d[nd++] = st_kv_str("target", target_of(t, p->target)->name);
	}
	rec.model_artifact = r->sha256;
	rec.model_version = version_of(t, r->sha256);
	d[nd++] = st_kv_str("path", r->path);
	d[nd++] = st_kv_uint("size", r->size);
	d[nd++] = st_kv_str("sha256", r->sha256);
	rec.details = d;
	rec.ndetails = nd;
	t->ops.record(t->ops.ctx, &rec);
}

static void take_hashes(struct st_tracker *t)
{
	struct st_hash_result *r = malloc(sizeof(*r));

	if (!r)
		return;
	while (st_model_hasher_take(t->hasher, r) == 1)
		record_model(t, r);
	free(r);
}

static void check_lost(struct st_tracker *t)
{
	uint64_t lost = st_lifecycle_lost(t->lc);

	struct st_record rec;
	struct st_kv d[3];

	if (lost == t->lc_lost_seen)
		return;
	/*
	 * A lost exec, exit, library open or model read is a lifecycle gap: on
	 * record, never silent. Which kinds were lost the kernel did not keep.
	 */
	fprintf(stderr, "sealtrace: lifecycle: %" PRIu64 " events lost (ring buffer full)\n",
		lost - t->lc_lost_seen);
	st_record_init(&rec, ST_ET_LOSS, st_clock_ns(CLOCK_REALTIME));
	rec.probe = "lifecycle";
	d[0] = st_kv_uint("count", lost - t->lc_lost_seen);
	d[1] = st_kv_str("reason", "lifecycle_ringbuf_full");
	d[2] = st_kv_str("detail", "exec, exit, library open or first file read events");
	rec.details = d;
	rec.ndetails = 3;
	t->ops.record(t->ops.ctx, &rec);
	t->lc_lost_seen = lost;
}

/* ---- API ---- */

static void add_watch(struct st_lc_watch *w, size_t *n, uint8_t kind, const char *name,
		      bool hold, bool tracked_only)
{
	size_t i, len = strlen(name);

	if (!len || len >= ST_LC_NAME_MAX)
		return;
	for (i = 0; i < *n; i++) {
		if (w[i].kind == kind && !strcmp(w[i].name, name)) {
			w[i].hold |= hold;
			w[i].tracked_only &= tracked_only;
			return;
		}
	}
	if (*n >= ST_LC_MAX_WATCH)
		return;
	memset(&w[*n], 0, sizeof(w[*n]));
	w[*n].kind = kind;
	w[*n].hold = hold;
	w[*n].tracked_only = tracked_only;
	w[*n].len = (uint8_t)len;
	memcpy(w[*n].name, name, len);
	(*n)++;
}

static size_t build_watches(const struct st_config *cfg, struct st_lc_watch *w)
{
	char stem[ST_LC_NAME_MAX];
	size_t i, n = 0;

	for (i = 0; i < cfg->ntargets; i++) {
		const struct st_target_cfg *tc = &cfg->targets[i];
		bool hold = !tc->no_hold;

		if (tc->maps) {
			st_lib_stem(tc->maps, stem, sizeof(stem));
			/*
			 * With exe: only that executable's processes, which its
			 * exec watch tracks (no hold there: nothing to attach yet).
			 * Without: any process that loads the library.
			 */
			add_watch(w, &n, ST_LC_WATCH_LIB, stem, hold, tc->exe != NULL);
			if (tc->exe)
				add_watch(w, &n, ST_LC_WATCH_EXE, tc->exe, false, false);
		} else if (tc->exe) {
			add_watch(w, &n, ST_LC_WATCH_EXE, tc->exe, hold, false);
		} else if (tc->path) {
			add_watch(w, &n, ST_LC_WATCH_EXE, st_basename(tc->path), hold, false);
			/* a library by its path: found when loaded, like maps: */
			if (strstr(st_basename(tc->path), ".so")) {
				st_lib_stem(tc->path, stem, sizeof(stem));
				add_watch(w, &n, ST_LC_WATCH_LIB, stem, hold, false);
			}
		}
	}
	return n;
}

/*
 * Every target's model globs, each once, into out (up to max); the count,
 * or max + 1 when there are more. 0: no target hashes models.
 */
static size_t all_model_globs(const struct st_config *cfg, const char **out, size_t max)
{
	const char *const *globs;
	size_t i, j, k, n, nout = 0;

	for (i = 0; i < cfg->ntargets; i++) {
		globs = model_globs_of(cfg, &cfg->targets[i], &n);
		for (j = 0; j < n; j++) {
			for (k = 0; k < nout && strcmp(out[k], globs[j]); k++)
				;
			if (k < nout)
				continue;
			if (nout == max)
				return max + 1;
			out[nout++] = globs[j];
		}
	}
	return nout;
}

/*
 * How model files read are seen: the page cache's tracepoints where the
 * kernel has them (6.10+), else openat, which costs every syscall on the
 * node (said at start); model_detection may choose either.
 */
static int model_reads(const struct st_config *cfg, bool wanted, enum st_lc_reads *out,
		       char *err, size_t errlen)
{
	bool page_cache;

	*out = ST_LC_READS_NONE;
	if (!wanted)
		return 0;
	if (cfg->model_detection == ST_MODEL_DETECT_OPENAT) {
		*out = ST_LC_READS_OPENAT;
		return 0;
	}
	/* parses the kernel's BTF: only when the answer matters */
	page_cache = st_lifecycle_page_cache_traceable();
	switch (cfg->model_detection) {
	case ST_MODEL_DETECT_PAGE_CACHE:
		if (!page_cache) {
			snprintf(err, errlen, "model_detection: page_cache: this kernel has no "
				 "mm_filemap_* tracepoints (Linux 6.10 or later); use auto or openat");
			return -1;
		}
		*out = ST_LC_READS_PAGE_CACHE;
		return 0;
	case ST_MODEL_DETECT_AUTO:
	default:
		*out = page_cache ? ST_LC_READS_PAGE_CACHE : ST_LC_READS_OPENAT;
		if (!page_cache)
			fprintf(stderr, "sealtrace: model fingerprints from openat: this kernel has "
				"no page cache tracepoints (6.10+), so every syscall on the node "
				"takes the slow path (~100 ns; model_globs: [] turns hashing off)\n");
		return 0;
	}
}

/* One fd for the agent's poll: lifecycle events, and hashes done. */
static int open_epoll(struct st_tracker *t, char *err, size_t errlen)
{
	struct epoll_event lc = { .events = EPOLLIN }, done = { .events = EPOLLIN };

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0 ||
	    epoll_ctl(t->epfd, EPOLL_CTL_ADD, st_lifecycle_fd(t->lc), &lc) ||
	    epoll_ctl(t->epfd, EPOLL_CTL_ADD, st_model_hasher_fd(t->hasher), &done)) {
		snprintf(err, errlen, "tracker: epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int st_tracker_open(struct st_tracker **out, const struct st_config *cfg,
		    const struct st_tracker_ops *ops, char *err, size_t errlen)
{
	struct st_lc_watch watch[ST_LC_MAX_WATCH] = { 0 };
	const char *globs[ST_LC_MAX_SUFFIX];
	enum st_lc_reads reads;
	char host[ST_PROC_PATH_MAX + 16];
	struct st_tracker *t;
	dev_t dev;
	ino_t ino;
	size_t nwatch, nglobs, i;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "tracker: out of memory");
		return -1;
	}
	t->cfg = cfg;
	t->ops = *ops;
	t->epfd = -1;
	nwatch = build_watches(cfg, watch);
	memcpy(t->watch, watch, sizeof(watch));
	t->nwatch = nwatch;
	/* more globs than the kernel's filter holds: it reports every read */
	nglobs = all_model_globs(cfg, globs, ST_LC_MAX_SUFFIX);
	if (model_reads(cfg, nglobs > 0, &reads, err, errlen) ||
	    st_lifecycle_open(&t->lc, watch, nwatch, reads, globs,
			      nglobs > ST_LC_MAX_SUFFIX ? 0 : nglobs, cfg->pin_dir, on_lc_event, t,
			      err, errlen) ||
	    st_model_hasher_start(&t->hasher, err, errlen) || open_epoll(t, err, errlen)) {
		st_tracker_close(t);
		return -1;
	}
	/* path-only targets are attached by their host path: that file is covered */
	for (i = 0; i < cfg->ntargets; i++) {
		if (is_discovered(&cfg->targets[i]) ||
		    st_host_path(cfg->targets[i].path, host, sizeof(host)) ||
		    st_file_real_id(getpid(), host, &dev, &ino))
			continue;
		add_attachment(t, i, dev, ino);
	}
	*out = t;
	return 0;
}

static int scan_one(void *ctx, int pid)
{
	struct st_tracker *t = ctx;

	struct hold_state none = { .held = false };

	consider(t, pid, st_clock_ns(CLOCK_REALTIME), "found_at_start", NULL, NULL, none);
	return 0;
}

int st_tracker_scan(struct st_tracker *t)
{
	size_t i;
	int r, n;

	/* the host files of path targets are attached by now: no hold for them */
	for (i = 0; i < t->natt; i++)
		st_lifecycle_cover(t->lc, t->att[i].dev, t->att[i].ino);
	r = st_proc_each(scan_one, t);

	/*
	 * Processes a previous agent stopped and died before resuming: found
	 * (and attached) by the scan above, so they may run now.
	 */
	n = st_lifecycle_release_held(t->lc);
	if (n > 0)
		fprintf(stderr, "sealtrace: resumed %d process(es) a previous agent left held\n", n);
	return r;
}


int st_tracker_fd(struct st_tracker *t)
{
	return t->epfd;
}

int st_tracker_poll(struct st_tracker *t)
{
	int n = st_lifecycle_poll(t->lc, 0);

	rescan_models(t);
	take_hashes(t);
	check_lost(t);
	return n;
}

void st_tracker_annotate(struct st_tracker *t, struct st_record *rec)
{
	struct proc *p;

	if (!t || rec->pid <= 0)
		return;
	p = find_proc(t, rec->pid);
	if (!p)
		return;
	if (p->container_id[0] && !rec->container_id)
		rec->container_id = p->container_id;
	if (p->model_sha256[0] && !rec->model_artifact) {
		rec->model_artifact = p->model_sha256;
		rec->model_version = p->model_version;
	}
}

uint64_t st_tracker_lifecycle_lost(const struct st_tracker *t)
{
	return t ? t->lc_lost_seen : 0;
}

size_t st_tracker_count(struct st_tracker *t)
{
	return t ? t->nprocs : 0;
}

void st_tracker_close(struct st_tracker *t)
{
	uint64_t deadline;
	struct timespec ms = { 0, 10 * 1000 * 1000 };

	if (!t)
		return;
	if (t->hasher && t->lc) {
		/* a model opened just before stop still gets its record */
		st_lifecycle_poll(t->lc, 0);
		deadline = st_clock_ns(CLOCK_MONOTONIC) + HASH_WAIT_NS;
		while (st_model_hasher_pending(t->hasher) && st_clock_ns(CLOCK_MONOTONIC) < deadline) {
			take_hashes(t);
			nanosleep(&ms, NULL);
		}
		take_hashes(t);
	}
	st_model_hasher_stop(t->hasher);
	st_lifecycle_close(t->lc);
	if (t->epfd >= 0)
		close(t->epfd);
	free(t->procs);
	free(t->att);
	free(t);
}
