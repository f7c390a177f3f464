// SPDX-License-Identifier: Apache-2.0
/*
 * agent_attach: which probes the agent attaches and where. Path targets by
 * their file (adopting links a previous agent pinned), discovered targets
 * through the tracker, replaced binaries by the watchdog; every attach and
 * detach is recorded.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtrace/capture/capture.h"
#include "sealtrace/base/cli.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/config/config.h"
#include "sealtrace/capture/pairing.h"
#include "sealtrace/capture/fetcharg.h"
#include "sealtrace/targets/discover.h"
#include "sealtrace/targets/lifecycle.h"
#include "sealtrace/log/log.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/ops/status.h"
#include "sealtrace/capture/symbols.h"
#include "sealtrace/targets/track.h"

#include "sealtrace/agent/agent.h"

/* ---- attach ---- */

static int recipe_of(const struct st_target_cfg *t, const struct st_probe_cfg *pc,
		     struct st_recipe *r)
{
	memset(r, 0, sizeof(*r));
	r->in = pc->in;
	r->out = pc->out;
	if (t->on_loss == ST_ON_LOSS_SIGNAL) {
		r->flags |= ST_RECIPE_SIGNAL_ON_LOSS;
		r->signal = (uint32_t)t->signal;
	}
	return 0;
}

static void capture_text(const struct st_capture *c, char *buf, size_t len)
{
	char ptr[128], l[128];

	if (c->mode == ST_LEN_NONE) {
		snprintf(buf, len, "none");
		return;
	}
	st_fetcharg_format(&c->ptr, ptr, sizeof(ptr));
	if (c->mode == ST_LEN_FIXED)
		snprintf(l, sizeof(l), "%u", c->fixed_len);
	else if (c->mode == ST_LEN_FETCH)
		st_fetcharg_format(&c->len, l, sizeof(l));
	else
		snprintf(l, sizeof(l), "nul");
	snprintf(buf, len, "ptr=%s len=%s elem_size=%u max=%u at=%s", ptr, l,
		 c->elem_size, c->max, c->at == ST_AT_RETURN ? "return" : "entry");
}

/* file: where the agent reads the probed file now (p->path names it). */
static void record_probe_attached(struct agent *a, const struct probe_rt *p,
				  const char *file)
{
	char build_id[128], sha[65], in[320], out[320], off[32], foff[32];
	struct st_record rec;
	struct st_kv details[16];
	uint64_t size = 0;
	size_t nd = 0;

	st_elf_build_id(file, build_id, sizeof(build_id), a->err, sizeof(a->err));
	if (st_file_sha256(file, sha, &size, a->err, sizeof(a->err)))
		snprintf(sha, sizeof(sha), "unreadable");
	capture_text(&p->cfg->in, in, sizeof(in));
	capture_text(&p->cfg->out, out, sizeof(out));
	snprintf(off, sizeof(off), "0x%" PRIx64, p->sym.attach_offset);
	snprintf(foff, sizeof(foff), "0x%" PRIx64, p->sym.func_offset);
	st_record_init(&rec, ST_ET_PROBE_ATTACHED, st_clock_ns(CLOCK_REALTIME));
	rec.probe = p->name;
	/* the container whose file this is (the process that led to it) */
	rec.container_id = p->container_id[0] ? p->container_id : NULL;
	details[nd++] = st_kv_str("target", p->target->name);
	details[nd++] = st_kv_str("path", p->path);
	if (p->cfg->symbol)
		details[nd++] = st_kv_str("symbol", p->cfg->symbol);
	details[nd++] = st_kv_str("function_offset", foff);
	details[nd++] = st_kv_str("attach_offset", off);
	/* a uprobe on endbr64 is single-stepped; +4 is the same call, cheaper */
	details[nd++] = st_kv_bool("endbr64_skipped", p->sym.endbr_skipped);
	details[nd++] = st_kv_str("file_sha256", sha);
	details[nd++] = st_kv_str("build_id", build_id);
	details[nd++] = st_kv_str("input", in);
	details[nd++] = st_kv_str("output", out);
	if (p->target->pid)
		details[nd++] = st_kv_uint("pid_filter", (uint64_t)p->target->pid);
	/* adopted: the links were pinned by a previous agent and never detached */
	details[nd++] = st_kv_bool("adopted", p->adopted);
	if (p->attach_reason)
		details[nd++] = st_kv_str("reason", p->attach_reason);
	rec.details = details;
	rec.ndetails = nd;
	agent_log_append(a, &rec);
}

void agent_record_probe_detached(struct agent *a, const struct probe_rt *p,
				  const char *reason)
{
	struct st_record rec;
	struct st_kv details[3];

	st_record_init(&rec, ST_ET_PROBE_DETACHED, st_clock_ns(CLOCK_REALTIME));
	rec.probe = p->name;
	details[0] = st_kv_str("reason", reason);
	details[1] = st_kv_str("path", p->path);
	details[2] = st_kv_str("key", p->key);
	rec.details = details;
	rec.ndetails = 3;
	agent_log_append(a, &rec);
}

int agent_resolve_probe(const struct st_target_cfg *t, const struct st_probe_cfg *pc,
			const char *path, struct st_symbol *sym, char *err, size_t errlen)
{
	char inner[ST_ERR_LEN];
	int r;

	if (pc->symbol)
		r = st_symbol_resolve(path, pc->symbol, !pc->no_endbr_skip, sym, inner,
				      sizeof(inner));
	else
		r = st_symbol_at_offset(path, pc->offset, !pc->no_endbr_skip, sym, inner,
					sizeof(inner));
	if (r)
		snprintf(err, errlen, "target '%.100s': %.400s", t->name, inner);
	return r;
}

/*
 * "target:symbol"; a file inside a container is another file than the
 * host's at the same path (and gets probes of its own): its probes are
 * "target:symbol@<first 12 hex digits of the container id>", so that
 * records, status rows and /metrics series of the two stay apart.
 */
static void probe_name(const struct st_target_cfg *t, const struct st_probe_cfg *pc,
		       const char *container_id, char *buf, size_t len)
{
	char at[16] = "";

	if (container_id && container_id[0])
		snprintf(at, sizeof(at), "@%.12s", container_id);
	if (pc->symbol)
		snprintf(buf, len, "%s:%s%s", t->name, pc->symbol, at);
	else
		snprintf(buf, len, "%s:0x%" PRIx64 "%s", t->name, pc->offset, at);
}

/* A probe left pinned by a previous agent that this config does not name. */
static void on_stale_probe(void *ctx, uint32_t probe_id, const char *key)
{
	struct agent *a = ctx;
	struct st_record rec;
	struct st_kv details[3];
	char name[64];

	snprintf(name, sizeof(name), "pinned:%u:%s", probe_id, key);
	st_record_init(&rec, ST_ET_PROBE_DETACHED, st_clock_ns(CLOCK_REALTIME));
	rec.probe = name;
	details[0] = st_kv_str("reason", "not in config");
	details[1] = st_kv_str("key", key);
	details[2] = st_kv_uint("probe_id", probe_id);
	rec.details = details;
	rec.ndetails = 3;
	agent_log_append(a, &rec);
}

static void record_config_change(struct agent *a, int detached, int added)
{
	struct st_record rec;
	struct st_kv details[3];

	st_record_init(&rec, ST_ET_CONFIG_CHANGE, st_clock_ns(CLOCK_REALTIME));
	details[0] = st_kv_str("config", a->cfg.file);
	details[1] = st_kv_uint("probes_detached", (uint64_t)detached);
	details[2] = st_kv_uint("probes_added", (uint64_t)added);
	rec.details = details;
	rec.ndetails = 3;
	agent_log_append(a, &rec);
}

/* Say which file an error about its descriptor's path was about. */
static void prefix_err(struct agent *a, const char *path)
{
	char inner[sizeof(a->err)];

	memcpy(inner, a->err, sizeof(inner));
	st_errf(a->err, sizeof(a->err), "%.256s: %s", path, inner);
}

/*
 * Attach one probe: adopt the links a previous agent pinned for the same
 * probe (same target, file, offset and recipe), so that capture never
 * stopped, or attach and pin new ones under a free id. path names the
 * file in records; file (NULL: path) is where it is read and attached.
 */
static int attach_probe_at(struct agent *a, const struct st_target_cfg *t,
			   const struct st_probe_cfg *pc, const char *path, const char *file,
			   const char *ident, bool *added)
{
	struct st_recipe recipe;
	struct probe_rt tmp, *p;
	struct stat st;
	int id;

	if (!file)
		file = path;
	memset(&tmp, 0, sizeof(tmp));
	tmp.target = t;
	tmp.cfg = pc;
	snprintf(tmp.path, sizeof(tmp.path), "%s", path);
	if (a->attach_container)
		snprintf(tmp.container_id, sizeof(tmp.container_id), "%s", a->attach_container);
	probe_name(t, pc, tmp.container_id, tmp.name, sizeof(tmp.name));
	/* a file or symbol that is not there is the config's fault: exit 2 */
	if (agent_resolve_probe(t, pc, file, &tmp.sym, a->err, sizeof(a->err)))
		return -2;
	if (stat(file, &st) == 0) {
		tmp.dev = st.st_dev;
		tmp.ino = st.st_ino;
	}
	tmp.attach_reason = a->attach_reason;
	recipe_of(t, pc, &recipe);
	/* ident: a discovered file's path names a pid; its inode is what lasts */
	st_capture_probe_key(t->name, ident, tmp.sym.attach_offset, &recipe, tmp.key);
	id = st_capture_adopt(a->capture, tmp.key);
	tmp.adopted = id >= 0;
	if (id < 0) {
		id = st_capture_free_id(a->capture);
		if (id < 0) {
			snprintf(a->err, sizeof(a->err), "%s: more than %d probes", a->cfg.file,
				 ST_MAX_PROBES);
			return -1;
		}
		if (st_capture_attach(a->capture, (uint32_t)id, tmp.key, &recipe, file,
				      tmp.sym.attach_offset, t->pid, a->err, sizeof(a->err))) {
			if (file != path)	/* the error names /proc/self/fd/N */
				prefix_err(a, path);
			return -1;
		}
	}
	p = &a->probes[id];
	*p = tmp;
	p->attached = true;
	if (!p->adopted) {
		/* a fresh probe starts from zero, like its kernel counters */
		a->acct.persisted[id] = 0;
		a->acct.calls_lost_seen[id] = 0;
		memset(a->acct.lost[id], 0, sizeof(a->acct.lost[id]));
	}
	/* an adopted probe's counters hold calls a previous agent accounted */
	if (p->adopted)
		st_capture_counters(a->capture, (uint32_t)id, &p->seen);
	if ((uint32_t)id >= a->nprobes)
		a->nprobes = (uint32_t)id + 1;
	a->nattached++;
	*added = !p->adopted;
	record_probe_attached(a, p, file);
	return 0;
}

/*
 * The identity of a file for probe keys: its configured path and inode
 * (opened at host, which may go through /proc/1/root), so that a replaced
 * binary gets probes of its own and a restart adopts the probes of the file
 * the path names now, whether the agent runs on the host or in a container.
 */
static void file_ident(const char *path, const char *host, char *buf, size_t len)
{
	struct stat st;

	if (stat(host, &st))
		snprintf(buf, len, "%s", path);
	else
		snprintf(buf, len, "%s@%llu:%llu", path, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
}

/* A probe of a path target: in the file at its host path. */
static int attach_probe(struct agent *a, const struct st_target_cfg *t,
			const struct st_probe_cfg *pc, bool *added)
{
	char ident[4200], host[4200];

	if (st_host_path(t->path, host, sizeof(host))) {
		snprintf(a->err, sizeof(a->err), "target '%.100s': path too long", t->name);
		return -2;
	}
	file_ident(t->path, host, ident, sizeof(ident));
	return attach_probe_at(a, t, pc, host, NULL, ident, added);
}

/* Is the path target's file there on the host? (Else processes may have it.) */
static bool host_has(const struct st_target_cfg *t)
{
	char host[4200];

	return st_host_path(t->path, host, sizeof(host)) == 0 && access(host, F_OK) == 0;
}

/* Some probe of target t is attached (by the host path or in a process's root). */
static bool target_attached(const struct agent *a, const struct st_target_cfg *t)
{
	uint32_t i;

	for (i = 0; i < a->nprobes; i++)
		if (a->probes[i].attached && a->probes[i].target == t)
			return true;
	return false;
}

/* ---- discovered targets (user/targets/track.c) ---- */

/* Found in processes (exe, maps) rather than attached by a host path. */
bool agent_is_discovered(const struct st_target_cfg *t)
{
	return t->exe || t->maps;
}

static int on_track_attach(void *ctx, const struct st_attach_req *req, char *err,
			   size_t errlen)
{
	struct agent *a = ctx;
	const struct st_target_cfg *t = &a->cfg.targets[req->target];
	bool added;
	size_t pi;

	int r = 0;

	a->attach_container = req->container_id;
	for (pi = 0; pi < t->nprobes && !r; pi++) {
		r = attach_probe_at(a, t, &t->probes[pi], req->path, req->open_path, req->ident,
				    &added);
		if (r)
			snprintf(err, errlen, "%s", a->err);
	}
	a->attach_container = NULL;
	return r ? -1 : 0;
}

static void on_track_record(void *ctx, const struct st_record *rec)
{
	agent_log_append(ctx, rec);
}

static void on_track_drain(void *ctx)
{
	agent_drain(ctx);
}

/*
 * Attach-state watchdog for path targets. A deployment that replaces the
 * binary (new inode at the same path) leaves the old probes on the old
 * file, where running processes still call them; processes started from
 * the new file would run unprobed. So the new file gets probes of its own,
 * recorded as probe_attached with reason "target replaced".
 */
void agent_watch_targets(struct agent *a)
{
	char ident[4200], host[4200];
	struct stat st;
	bool added;
	uint32_t i, n = a->nprobes;

	for (i = 0; i < n; i++) {
		struct probe_rt *p = &a->probes[i];

		if (!p->attached || p->superseded || !p->cfg || agent_is_discovered(p->target))
			continue;
		/* only the host's file: a container's copy was found in a process */
		if (st_host_path(p->target->path, host, sizeof(host)) || strcmp(p->path, host))
			continue;
		if (stat(host, &st) || (st.st_dev == p->dev && st.st_ino == p->ino))
			continue;
		p->superseded = true;
		file_ident(p->target->path, host, ident, sizeof(ident));
		a->attach_reason = "target replaced";
		if (attach_probe_at(a, p->target, p->cfg, host, NULL, ident, &added))
			fprintf(stderr, "sealtrace: %s: re-attaching after replacement: %s\n",
				p->name, a->err);
		a->attach_reason = NULL;
	}
}

int agent_open_tracker(struct agent *a)
{
	struct st_tracker_ops ops = {
		.ctx = a, .attach = on_track_attach, .record = on_track_record,
		.drain = on_track_drain, .process = agent_wire_process,
	};
	char err[ST_ERR_LEN];
	size_t ti;

	if (!st_tracker_open(&a->tracker, &a->cfg, &ops, err, sizeof(err)))
		return 0;
	for (ti = 0; ti < a->cfg.ntargets; ti++) {
		if (agent_is_discovered(&a->cfg.targets[ti])) {
			snprintf(a->err, sizeof(a->err), "%s", err);
			return -1;
		}
	}
	/* path targets still work, without lifecycle records: say so */
	fprintf(stderr, "sealtrace: warning: %s (no lifecycle records)\n", err);
	return 0;
}

/*
 * Wait for either ring; lifecycle events must not wait for the capture poll.
 * The capture ring reads as readable for as long as any of it is not yet
 * committed (the normal state between a read and the durable write that
 * commits it), so it is only waited on when fully committed; otherwise a
 * short sleep on the lifecycle ring paces the loop instead of a busy spin.
 */
void agent_wait_rings(struct agent *a, int timeout_ms)
{
	struct pollfd fds[2] = {
		{ .fd = st_tracker_fd(a->tracker), .events = POLLIN },
		{ .fd = st_capture_fd(a->capture), .events = POLLIN },
	};

	timeout_ms = agent_wire_wait_ms(a, timeout_ms);

	if (st_capture_ringbuf_used(a->capture) == 0)
		poll(fds, 2, timeout_ms);
	else
		poll(fds, 1, timeout_ms < 10 ? timeout_ms : 10);
}

int agent_attach_all(struct agent *a)
{
	size_t ti, pi;
	int added = 0, detached, r;
	bool new_probe;

	for (ti = 0; ti < a->cfg.ntargets; ti++) {
		const struct st_target_cfg *t = &a->cfg.targets[ti];

		if (agent_is_discovered(t))
			continue;	/* attached per process by the tracker */
		/* perhaps in a container: the scan below finds it (detach: moot) */
		if (!host_has(t) && (a->tracker || a->detach_on_exit))
			continue;
		for (pi = 0; pi < t->nprobes; pi++) {
			r = attach_probe(a, t, &t->probes[pi], &new_probe);
			if (r)
				return r;
			added += new_probe;
		}
	}
	/* before stale detach: running targets adopt their pinned probes */
	if (a->tracker)
		st_tracker_scan(a->tracker);
	/*
	 * A path that neither the host nor any running process has. On the
	 * host, a config error (exit 2). In a container (a DaemonSet), the
	 * config names files of model server images whose pods may start
	 * later: the exec/library-load watch attaches them then. `detach`
	 * (no tracker) removes what is pinned whatever the files.
	 */
	for (ti = 0; ti < a->cfg.ntargets; ti++) {
		const struct st_target_cfg *t = &a->cfg.targets[ti];

		if (agent_is_discovered(t) || target_attached(a, t))
			continue;
		if (!a->tracker && a->detach_on_exit)
			continue;
		if (a->tracker && !st_in_host_mnt_ns()) {
			fprintf(stderr, "sealtrace: target '%s': %s is neither on the host nor in a "
				"running process; waiting for a process that has it\n", t->name,
				t->path);
			continue;
		}
		for (pi = 0; pi < t->nprobes; pi++) {
			r = attach_probe(a, t, &t->probes[pi], &new_probe);
			if (r)
				return r;
			added += new_probe;
		}
	}
	detached = st_capture_detach_stale(a->capture, on_stale_probe, a);
	if (detached || (a->maps_reused && added))
		record_config_change(a, detached, added);
	return 0;
}
