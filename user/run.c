// SPDX-License-Identifier: Apache-2.0
/*
 * run: the agent. Wires the stages together in one direction:
 *
 *   capture (BPF ring buffer) -> consume (pair entry/return)
 *     -> pseudonymise (HMAC refs, raw bytes dropped) -> record
 *     -> log (chain, Merkle, checkpoints, segment store)
 *
 * Single-threaded on purpose: one loop polls the ring buffer, turns calls
 * into records and ticks the log, so the order of records is the order the
 * consumer saw, and a clean stop can drain everything before the final
 * checkpoint.
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

#include "sealtrace/capture.h"
#include "sealtrace/cli.h"
#include "sealtrace/config.h"
#include "sealtrace/consume.h"
#include "sealtrace/fetcharg.h"
#include "sealtrace/lifecycle.h"
#include "sealtrace/log.h"
#include "sealtrace/oversight.h"
#include "sealtrace/pseudo.h"
#include "sealtrace/record.h"
#include "sealtrace/scan.h"
#include "sealtrace/status.h"
#include "sealtrace/symbols.h"
#include "sealtrace/track.h"

#define ST_REF_LEN 128

/* What the agent keeps about one attached probe. */
struct probe_rt {
	char name[256];			/* "target:symbol", the record's probe field */
	const struct st_target_cfg *target;
	const struct st_probe_cfg *cfg;
	char path[4096];
	struct st_symbol sym;
	struct st_probe_counters seen;	/* counters already accounted in records */
	char key[17];			/* identity of the pinned links */
	bool attached;
	bool adopted;			/* links kept from a previous agent */
	/* calls lost whole, waiting for a loss record: range of their numbers */
	uint64_t lost_first_kseq, lost_last_kseq, range_calls;
	bool range_known;
	uint64_t user_lost;		/* lost returns without an entry (after a crash) */
	uint64_t recorded;		/* calls with a record, this run */
	uint64_t last_event_ns;		/* UTC ns of the last recorded call */
	uint64_t lost_recorded;		/* calls in loss records, this run */
	dev_t dev;			/* the file the probe is in, at attach */
	ino_t ino;
	bool superseded;		/* the path now names another file */
	uint64_t write_failed_pending;	/* refused calls not yet in a loss record */
	const char *attach_reason;	/* for probe_attached; NULL: start */
};

struct agent {
	struct st_config cfg;
	struct st_keyring *keys;
	struct st_log *log;
	struct st_capture_ctx *capture;
	struct st_pairing *pairing;
	struct st_tracker *tracker;	/* discovery, lifecycle, model fingerprints */
	struct probe_rt probes[ST_MAX_PROBES];	/* indexed by probe id */
	uint32_t nprobes;		/* ids in use are < nprobes */
	uint32_t nattached;
	bool maps_reused;		/* a previous agent's pinned maps and ring */
	struct st_accounting acct;	/* mirrored into the pinned map at commit */
	uint64_t counted_before;	/* acct.counted_through found at start */
	bool detach_on_exit;
	uint64_t last_commit_ns;
	uint64_t commit_every_ns;
	int canary_id;			/* -1: no canary */
	uint64_t canary_sent_ns;	/* UTC ns the last canary call was made */
	uint64_t canary_back_ns;	/* UTC ns a canary call last came back */
	uint64_t last_heartbeat_ns;
	struct st_metrics *metrics;
	struct st_status status;
	const char *attach_reason;	/* for probes attached now (watchdog) */
	int oversight_fd;		/* -1: no oversight socket */
	char oversight_path[4200];
	uint64_t last_watchdog_ns;
	uint64_t last_retention_ns;	/* CLOCK_MONOTONIC; 0: not yet */
	int64_t tai_offset_ns;		/* CLOCK_TAI - CLOCK_REALTIME */
	uint64_t started_ns;
	uint64_t calls_recorded;
	uint64_t incomplete_recorded;
	uint64_t write_errors;
	char err[ST_ERR_LEN];
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The kernel stamps events in CLOCK_TAI; records are in UTC. */
static void refresh_tai_offset(struct agent *a)
{
	a->tai_offset_ns = (int64_t)(clock_ns(CLOCK_TAI) - clock_ns(CLOCK_REALTIME));
}

static uint64_t tai_to_utc(const struct agent *a, uint64_t tai)
{
	return tai ? (uint64_t)((int64_t)tai - a->tai_offset_ns) : clock_ns(CLOCK_REALTIME);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace run --config FILE [--duration SECONDS] [--detach-on-exit]\n"
		"       sealtrace run --check-config FILE [--resolve]\n\n"
		"Attach the configured uprobes and record every call until SIGTERM/SIGINT\n"
		"(or --duration), then drain the ring buffer, write a final checkpoint and exit.\n\n"
		"  -c, --config FILE      agent configuration (YAML)\n"
		"  -d, --duration SECS    stop by itself after SECS seconds\n"
		"      --check-config FILE  validate the configuration and exit (no BPF)\n"
		"      --resolve          with --check-config: also resolve every probe's\n"
		"                         file and symbol\n"
		"      --ready-file FILE  create FILE once every probe is attached\n"
		"      --detach-on-exit   at stop, detach and unpin every probe (uninstall);\n"
		"                         by default probes stay pinned so that a restarted\n"
		"                         agent drains what they captured meanwhile\n"
		"  -h, --help             this text\n\n"
		"Exit status: 0 clean stop, 2 usage or configuration error,\n"
		"3 runtime error (BPF load/attach, keys, store).\n");
}

static int log_append(struct agent *a, const struct st_record *rec)
{
	char err[ST_ERR_LEN];

	if (st_log_append(a->log, rec, err, sizeof(err)) == 0)
		return 0;
	/* never silent: the failure goes to stderr and into the stop record */
	a->write_errors++;
	fprintf(stderr, "sealtrace: %s\n", err);
	return -1;
}

/* ---- calls -> records ---- */

/* HMAC ref of captured bytes; NULL when the capture is off or unreadable. */
static const char *pseudonymise(struct agent *a, const struct st_capture *cap,
				const uint8_t *bytes, uint32_t len, bool fault,
				char *ref, size_t reflen)
{
	if (cap->mode == ST_LEN_NONE || fault)
		return NULL;
	if (st_pseudo_ref(a->keys, bytes ? bytes : (const uint8_t *)"", len, ref, reflen))
		return NULL;
	return ref;
}

/* A call of a probe this agent did not attach (see on_call). */
static void record_orphan_call(struct agent *a, const struct st_call *call)
{
	struct st_record rec;
	struct st_kv details[2];
	char name[32];
	uint64_t ts = tai_to_utc(a, call->entry_ts ? call->entry_ts : call->return_ts);

	snprintf(name, sizeof(name), "pinned:%u", call->probe_id);
	st_record_init(&rec, call->state == ST_CALL_INCOMPLETE ? ST_ET_INCOMPLETE : ST_ET_INFERENCE,
		    ts);
	rec.pid = (int32_t)call->tgid;
	rec.tid = (int32_t)call->tid;
	rec.comm = call->comm;
	rec.probe = name;
	details[0] = st_kv_uint("kseq", call->kseq);
	details[1] = st_kv_str("probe_state", "not in config");
	rec.details = details;
	rec.ndetails = 2;
	log_append(a, &rec);
}

static void on_call(void *ctx, const struct st_call *call)
{
	struct agent *a = ctx;
	struct probe_rt *p;
	struct st_record rec;
	struct st_kv details[12];
	char in_ref[ST_REF_LEN], out_ref[ST_REF_LEN];
	bool in_fault = call->flags & ST_F_IN_FAULT;
	bool out_fault = call->flags & ST_F_OUT_FAULT;
	size_t nd = 0;
	uint64_t ts;

	if (call->probe_id >= ST_MAX_PROBES)
		return;
	if (call->probe_id == ST_CANARY_PROBE_ID) {
		/* ours, or a previous agent's left in the ring: never a target call */
		if ((int)call->probe_id == a->canary_id && call->tgid == (uint32_t)getpid())
			a->canary_back_ns = clock_ns(CLOCK_REALTIME);
		return;
	}
	p = &a->probes[call->probe_id];
	if (!p->cfg) {
		/*
		 * Left in the ring by a probe this config no longer names: the
		 * call happened, so it is recorded, without references (the
		 * recipe that captured its bytes is gone with the old config).
		 */
		record_orphan_call(a, call);
		return;
	}
	ts = tai_to_utc(a, call->entry_ts ? call->entry_ts : call->return_ts);
	st_record_init(&rec, call->state == ST_CALL_INCOMPLETE ? ST_ET_INCOMPLETE : ST_ET_INFERENCE,
		    ts);
	rec.pid = (int32_t)call->tgid;
	rec.tid = (int32_t)call->tid;
	rec.comm = call->comm;
	rec.probe = p->name;
	if (call->state != ST_CALL_NO_ENTRY || p->cfg->in.at == ST_AT_RETURN) {
		rec.input_hash = pseudonymise(a, &p->cfg->in, call->in, call->in_len, in_fault,
					      in_ref, sizeof(in_ref));
		if (rec.input_hash)
			rec.input_len = call->in_want;
	}
	if ((call->state != ST_CALL_INCOMPLETE && call->state != ST_CALL_NO_RETURN) ||
	    p->cfg->out.at == ST_AT_ENTRY) {
		rec.output_reference = pseudonymise(a, &p->cfg->out, call->out, call->out_len,
						    out_fault, out_ref, sizeof(out_ref));
		if (rec.output_reference)
			rec.output_len = call->out_want;
	}
	if (call->state == ST_CALL_COMPLETE) {
		rec.duration_ns = (int64_t)(call->return_ts - call->entry_ts);
		rec.has_ret = true;
		rec.ret = (int64_t)call->ret;
	}
	details[nd++] = st_kv_uint("kseq", call->kseq);
	if (call->depth)
		details[nd++] = st_kv_uint("depth", call->depth);
	if (call->flags & ST_F_IN_TRUNC) {
		details[nd++] = st_kv_bool("input_truncated", true);
		details[nd++] = st_kv_uint("input_captured_len", call->in_len);
	}
	if (call->flags & ST_F_OUT_TRUNC) {
		details[nd++] = st_kv_bool("output_truncated", true);
		details[nd++] = st_kv_uint("output_captured_len", call->out_len);
	}
	if (in_fault && p->cfg->in.mode != ST_LEN_NONE)
		details[nd++] = st_kv_str("input_error", "unreadable");
	if (out_fault && p->cfg->out.mode != ST_LEN_NONE)
		details[nd++] = st_kv_str("output_error", "unreadable");
	if (call->state == ST_CALL_NO_ENTRY)
		details[nd++] = st_kv_str("entry", "lost");
	if (call->state == ST_CALL_INCOMPLETE)
		details[nd++] = st_kv_str("reason", call->return_ts ? "thread_exit" : "agent_stop");
	if (call->state == ST_CALL_NO_RETURN)
		details[nd++] = st_kv_str("return", "lost");
	rec.details = details;
	rec.ndetails = nd;
	st_tracker_annotate(a->tracker, &rec);
	if (log_append(a, &rec) != 0) {
		/*
		 * The log refused it (disk full, store failing): the call is
		 * lost from the log and counted so at once; a loss record
		 * follows as soon as the log takes one.
		 */
		a->acct.lost[call->probe_id][ST_LOSS_WRITE_FAILED]++;
		p->write_failed_pending++;
		return;
	}
	p->recorded++;
	p->last_event_ns = ts;
	a->acct.persisted[call->probe_id]++;
	if (call->state == ST_CALL_INCOMPLETE)
		a->incomplete_recorded++;
	else
		a->calls_recorded++;
}

/* A call a previous agent recorded, read again after a crash. */
static void on_skipped(void *ctx, uint32_t probe_id, uint64_t kseq, uint64_t pos)
{
	struct agent *a = ctx;

	(void)kseq;
	/* durable, but the crash came before its accounting was stored */
	if (pos >= a->counted_before && probe_id < ST_MAX_PROBES)
		a->acct.persisted[probe_id]++;
}

static int on_event(void *ctx, const struct st_event *ev, size_t size, uint64_t pos)
{
	struct agent *a = ctx;

	st_pairing_event(a->pairing, ev, size, pos, clock_ns(CLOCK_MONOTONIC));
	return 0;
}

/* ---- loss accounting ---- */

/*
 * A call is lost whole when neither its entry nor its return reached the
 * ring. The kernel counts those (calls_lost, exact) and queues their call
 * numbers (the range; a full queue costs the range, never the count). A
 * lost return whose entry we hold is a recorded call without output; one
 * whose entry a crashed predecessor had read is lost whole, counted here.
 * Per drain, each probe's lost calls become one loss record with count and
 * call-number range: the log holds either the call or its number.
 */
static void note_lost_range(struct probe_rt *p, uint64_t kseq)
{
	if (!p->range_known || kseq < p->lost_first_kseq)
		p->lost_first_kseq = kseq;
	if (!p->range_known || kseq > p->lost_last_kseq)
		p->lost_last_kseq = kseq;
	p->range_known = true;
	p->range_calls++;
}

static int reason_index(const char *reason)
{
	int i;

	for (i = 0; i < ST_LOSS__COUNT; i++)
		if (!strcmp(reason, st_loss_reason_name((enum st_loss_reason)i)))
			return i;
	return ST_LOSS_RINGBUF_FULL;
}

/* The accounting map's layout must match the reasons status reports. */
_Static_assert(ST_LOSS_REASONS == ST_LOSS__COUNT, "loss reasons in capture.h and status.h");

/* 0 when the record is in the log. */
static int record_loss(struct agent *a, struct probe_rt *p, uint64_t count,
		       const char *reason, bool with_range, uint64_t now)
{
	struct st_record rec;
	struct st_kv details[6];
	size_t nd = 0;

	st_record_init(&rec, ST_ET_LOSS, now);
	rec.probe = p->name;
	details[nd++] = st_kv_uint("count", count);
	details[nd++] = st_kv_str("reason", reason);
	if (with_range && p->range_known) {
		details[nd++] = st_kv_uint("first_kseq", p->lost_first_kseq);
		details[nd++] = st_kv_uint("last_kseq", p->lost_last_kseq);
		/* fewer than count when notices overflowed the kernel's queue */
		details[nd++] = st_kv_uint("calls_in_range", p->range_calls);
	}
	rec.details = details;
	rec.ndetails = nd;
	if (log_append(a, &rec))
		return -1;
	p->lost_recorded += count;
	/* refused records were counted when the log refused them */
	if (strcmp(reason, "write_failed"))
		a->acct.lost[p - a->probes][reason_index(reason)] += count;
	return 0;
}

/* Pop the kernel's lost-event queue; call before draining the ring. */
static int pop_lost_events(struct agent *a, struct st_lost_event *buf, int max)
{
	return st_capture_lost_events(a->capture, buf, max);
}

static void settle_lost_events(struct agent *a, const struct st_lost_event *le, int n)
{
	struct probe_rt *p;
	int i;

	for (i = 0; i < n; i++) {
		if (le[i].probe_id >= a->nprobes)
			continue;
		p = &a->probes[le[i].probe_id];
		if (le[i].what == ST_LOST_CALL) {
			note_lost_range(p, le[i].kseq);
			continue;
		}
		if (st_pairing_lost_return(a->pairing, le[i].probe_id, le[i].kseq))
			continue;
		/* its entry went with a predecessor that died: lost whole */
		p->user_lost++;
		note_lost_range(p, le[i].kseq);
	}
}

static bool thread_never_alive(uint32_t tgid, uint32_t tid)
{
	(void)tgid;
	(void)tid;
	return false;
}

static bool thread_alive(uint32_t tgid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u", tgid, tid);
	return access(path, F_OK) == 0;
}

static void account_losses(struct agent *a, uint64_t now)
{
	struct st_probe_counters k;
	uint64_t kernel_lost, lost;
	uint32_t i;
	bool down;

	for (i = 0; i < a->nprobes; i++) {
		struct probe_rt *p = &a->probes[i];

		if (!p->attached || st_capture_counters(a->capture, i, &k))
			continue;
		kernel_lost = k.calls_lost - a->acct.calls_lost_seen[i];
		lost = kernel_lost + p->user_lost;
		if (lost) {
			/* away = the kernel saw the agent's heartbeat go stale */
			down = k.rb_full_agent_down > p->seen.rb_full_agent_down;
			if (record_loss(a, p, lost, down ? "agent_down" : "ringbuf_full", true,
					now) == 0) {
				a->acct.calls_lost_seen[i] = k.calls_lost;
				p->user_lost = 0;
				p->range_known = false;
				p->range_calls = 0;
			}
		}
		if (p->write_failed_pending &&
		    record_loss(a, p, p->write_failed_pending, "write_failed", false, now) == 0)
			p->write_failed_pending = 0;
		p->seen = k;
	}
}

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

static void record_probe_attached(struct agent *a, const struct probe_rt *p)
{
	char build_id[128], sha[65], in[320], out[320], off[32], foff[32];
	struct st_record rec;
	struct st_kv details[16];
	uint64_t size = 0;
	size_t nd = 0;

	st_elf_build_id(p->path, build_id, sizeof(build_id), a->err, sizeof(a->err));
	if (st_file_sha256(p->path, sha, &size, a->err, sizeof(a->err)))
		snprintf(sha, sizeof(sha), "unreadable");
	capture_text(&p->cfg->in, in, sizeof(in));
	capture_text(&p->cfg->out, out, sizeof(out));
	snprintf(off, sizeof(off), "0x%" PRIx64, p->sym.attach_offset);
	snprintf(foff, sizeof(foff), "0x%" PRIx64, p->sym.func_offset);
	st_record_init(&rec, ST_ET_PROBE_ATTACHED, clock_ns(CLOCK_REALTIME));
	rec.probe = p->name;
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
	log_append(a, &rec);
}

static void record_probe_detached(struct agent *a, const struct probe_rt *p,
				  const char *reason)
{
	struct st_record rec;
	struct st_kv details[3];

	st_record_init(&rec, ST_ET_PROBE_DETACHED, clock_ns(CLOCK_REALTIME));
	rec.probe = p->name;
	details[0] = st_kv_str("reason", reason);
	details[1] = st_kv_str("path", p->path);
	details[2] = st_kv_str("key", p->key);
	rec.details = details;
	rec.ndetails = 3;
	log_append(a, &rec);
}

static int resolve_probe(const struct st_target_cfg *t, const struct st_probe_cfg *pc,
			 struct st_symbol *sym, char *err, size_t errlen)
{
	char inner[ST_ERR_LEN];
	int r;

	if (pc->symbol)
		r = st_symbol_resolve(t->path, pc->symbol, !pc->no_endbr_skip, sym, inner,
				      sizeof(inner));
	else
		r = st_symbol_at_offset(t->path, pc->offset, !pc->no_endbr_skip, sym, inner,
					sizeof(inner));
	if (r)
		snprintf(err, errlen, "target '%.100s': %.400s", t->name, inner);
	return r;
}

static void probe_name(const struct st_target_cfg *t, const struct st_probe_cfg *pc,
		       char *buf, size_t len)
{
	if (pc->symbol)
		snprintf(buf, len, "%s:%s", t->name, pc->symbol);
	else
		snprintf(buf, len, "%s:0x%" PRIx64, t->name, pc->offset);
}

/* A probe left pinned by a previous agent that this config does not name. */
static void on_stale_probe(void *ctx, uint32_t probe_id, const char *key)
{
	struct agent *a = ctx;
	struct st_record rec;
	struct st_kv details[3];
	char name[64];

	snprintf(name, sizeof(name), "pinned:%u:%s", probe_id, key);
	st_record_init(&rec, ST_ET_PROBE_DETACHED, clock_ns(CLOCK_REALTIME));
	rec.probe = name;
	details[0] = st_kv_str("reason", "not in config");
	details[1] = st_kv_str("key", key);
	details[2] = st_kv_uint("probe_id", probe_id);
	rec.details = details;
	rec.ndetails = 3;
	log_append(a, &rec);
}

static void record_config_change(struct agent *a, int detached, int added)
{
	struct st_record rec;
	struct st_kv details[3];

	st_record_init(&rec, ST_ET_CONFIG_CHANGE, clock_ns(CLOCK_REALTIME));
	details[0] = st_kv_str("config", a->cfg.file);
	details[1] = st_kv_uint("probes_detached", (uint64_t)detached);
	details[2] = st_kv_uint("probes_added", (uint64_t)added);
	rec.details = details;
	rec.ndetails = 3;
	log_append(a, &rec);
}

/*
 * Attach one probe: adopt the links a previous agent pinned for the same
 * probe (same target, file, offset and recipe), so that capture never
 * stopped, or attach and pin new ones under a free id.
 */
static int attach_probe_at(struct agent *a, const struct st_target_cfg *t,
			   const struct st_probe_cfg *pc, const char *path, const char *ident,
			   bool *added)
{
	struct st_recipe recipe;
	struct probe_rt tmp, *p;
	char inner[ST_ERR_LEN];
	struct stat st;
	int id, r;

	memset(&tmp, 0, sizeof(tmp));
	tmp.target = t;
	tmp.cfg = pc;
	snprintf(tmp.path, sizeof(tmp.path), "%s", path);
	probe_name(t, pc, tmp.name, sizeof(tmp.name));
	/* a file or symbol that is not there is the config's fault: exit 2 */
	if (pc->symbol)
		r = st_symbol_resolve(path, pc->symbol, !pc->no_endbr_skip, &tmp.sym, inner,
				      sizeof(inner));
	else
		r = st_symbol_at_offset(path, pc->offset, !pc->no_endbr_skip, &tmp.sym, inner,
					sizeof(inner));
	if (r) {
		snprintf(a->err, sizeof(a->err), "target '%.64s': %.400s", t->name, inner);
		return -2;
	}
	if (stat(path, &st) == 0) {
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
		if (st_capture_attach(a->capture, (uint32_t)id, tmp.key, &recipe, tmp.path,
				      tmp.sym.attach_offset, t->pid, a->err, sizeof(a->err)))
			return -1;
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
	record_probe_attached(a, p);
	return 0;
}

/*
 * The identity of a file for probe keys: its path and inode, so that a
 * replaced binary gets probes of its own and a restart adopts the probes
 * of the file the path names now.
 */
static void file_ident(const char *path, char *buf, size_t len)
{
	struct stat st;

	if (stat(path, &st))
		snprintf(buf, len, "%s", path);
	else
		snprintf(buf, len, "%s@%llu:%llu", path, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
}

/* A probe of a path target: in the file at its host path. */
static int attach_probe(struct agent *a, const struct st_target_cfg *t,
			const struct st_probe_cfg *pc, bool *added)
{
	char ident[4200];

	file_ident(t->path, ident, sizeof(ident));
	return attach_probe_at(a, t, pc, t->path, ident, added);
}

/* ---- discovered targets (user/track.c) ---- */

/* Found in processes (exe, maps) rather than attached by a host path. */
static bool is_discovered(const struct st_target_cfg *t)
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

	for (pi = 0; pi < t->nprobes; pi++) {
		if (attach_probe_at(a, t, &t->probes[pi], req->path, req->ident, &added)) {
			snprintf(err, errlen, "%s", a->err);
			return -1;
		}
	}
	return 0;
}

static void on_track_record(void *ctx, const struct st_record *rec)
{
	log_append(ctx, rec);
}

static void drain(struct agent *a);

static void on_track_drain(void *ctx)
{
	drain(ctx);
}

/*
 * Attach-state watchdog for path targets. A deployment that replaces the
 * binary (new inode at the same path) leaves the old probes on the old
 * file, where running processes still call them; processes started from
 * the new file would run unprobed. So the new file gets probes of its own,
 * recorded as probe_attached with reason "target replaced".
 */
static void watch_targets(struct agent *a)
{
	char ident[4200];
	struct stat st;
	bool added;
	uint32_t i, n = a->nprobes;

	for (i = 0; i < n; i++) {
		struct probe_rt *p = &a->probes[i];

		if (!p->attached || p->superseded || !p->cfg || is_discovered(p->target))
			continue;
		if (stat(p->target->path, &st) || (st.st_dev == p->dev && st.st_ino == p->ino))
			continue;
		p->superseded = true;
		file_ident(p->target->path, ident, sizeof(ident));
		a->attach_reason = "target replaced";
		if (attach_probe_at(a, p->target, p->cfg, p->target->path, ident, &added))
			fprintf(stderr, "sealtrace: %s: re-attaching after replacement: %s\n",
				p->name, a->err);
		a->attach_reason = NULL;
	}
}

static int open_tracker(struct agent *a)
{
	struct st_tracker_ops ops = {
		.ctx = a, .attach = on_track_attach, .record = on_track_record,
		.drain = on_track_drain,
	};
	char err[ST_ERR_LEN];
	size_t ti;

	if (!st_tracker_open(&a->tracker, &a->cfg, &ops, err, sizeof(err)))
		return 0;
	for (ti = 0; ti < a->cfg.ntargets; ti++) {
		if (is_discovered(&a->cfg.targets[ti])) {
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
static void wait_rings(struct agent *a, int timeout_ms)
{
	struct pollfd fds[2] = {
		{ .fd = st_tracker_fd(a->tracker), .events = POLLIN },
		{ .fd = st_capture_fd(a->capture), .events = POLLIN },
	};

	if (st_capture_ringbuf_used(a->capture) == 0)
		poll(fds, 2, timeout_ms);
	else
		poll(fds, 1, timeout_ms < 10 ? timeout_ms : 10);
}

static int attach_all(struct agent *a)
{
	size_t ti, pi;
	int added = 0, detached, r;
	bool new_probe;

	for (ti = 0; ti < a->cfg.ntargets; ti++) {
		const struct st_target_cfg *t = &a->cfg.targets[ti];

		if (is_discovered(t))
			continue;	/* attached per process by the tracker */
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
	detached = st_capture_detach_stale(a->capture, on_stale_probe, a);
	if (detached || (a->maps_reused && added))
		record_config_change(a, detached, added);
	return 0;
}

/* ---- restart: calls already in the log ---- */

#define RECENT_CALLS 65536

struct recent_calls {
	struct agent *a;
	struct { uint32_t probe_id; uint64_t kseq; } ring[RECENT_CALLS];
	uint64_t n;
};

static int probe_id_by_name(const struct agent *a, const char *name)
{
	uint32_t i;

	for (i = 0; i < a->nprobes; i++)
		/* a fresh probe's call numbers restart at 0: only adopted ones match */
		if (a->probes[i].adopted && !strcmp(a->probes[i].name, name))
			return (int)i;
	return -1;
}

static int collect_recent(void *ctx, const struct st_scan_rec *r, char *err, size_t errlen)
{
	struct recent_calls *rc = ctx;
	const struct st_record *rec = &r->p->rec;
	const struct st_kv *kseq;
	int id;

	(void)err;
	(void)errlen;
	if (rec->type != ST_ET_INFERENCE && rec->type != ST_ET_INCOMPLETE)
		return 0;
	kseq = st_record_detail(rec, "kseq");
	if (!rec->probe || !kseq || kseq->kind != ST_KV_UINT)
		return 0;
	id = probe_id_by_name(rc->a, rec->probe);
	if (id < 0)
		return 0;
	rc->ring[rc->n % RECENT_CALLS].probe_id = (uint32_t)id;
	rc->ring[rc->n % RECENT_CALLS].kseq = kseq->v.u;
	rc->n++;
	return 0;
}

/*
 * After a crash the ring still holds events whose records reached the log
 * before the commit did. The window is at most one commit interval (or
 * the 1 s pending-entry limit), far below the last RECENT_CALLS records:
 * those calls are skipped when their events are read again.
 */
static void skip_recorded_calls(struct agent *a)
{
	struct st_scan_result res;
	struct recent_calls *rc;
	char err[ST_ERR_LEN];
	uint64_t i, first;

	if (!a->maps_reused)
		return;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return;
	rc->a = a;
	if (st_scan_stream(a->cfg.state_dir, ST_STREAM_DECISION, collect_recent, rc, &res, err,
			   sizeof(err)) < 0)
		fprintf(stderr, "sealtrace: reading back recent calls: %s\n", err);
	first = rc->n > RECENT_CALLS ? rc->n - RECENT_CALLS : 0;
	for (i = first; i < rc->n; i++)
		st_pairing_skip(a->pairing, rc->ring[i % RECENT_CALLS].probe_id,
				rc->ring[i % RECENT_CALLS].kseq);
	free(rc);
}

/* ---- liveness: canary, heartbeat records, status snapshot ---- */

/*
 * The canary: a function of the agent's own, probed like any target. When
 * its call comes back through the ring buffer, the whole path (uprobe ->
 * BPF -> ring -> consumer) works, not just the agent process.
 */
__attribute__((noinline, used)) int sealtrace_canary(uint64_t token);
__attribute__((noinline, used)) int sealtrace_canary(uint64_t token)
{
	asm volatile("" ::: "memory");
	return (int)(token & 1);
}

static void attach_canary(struct agent *a)
{
	struct st_recipe recipe;
	struct st_symbol sym;
	char exe[4096], err[ST_ERR_LEN];
	ssize_t n;
	int id;

	a->canary_id = -1;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	id = ST_CANARY_PROBE_ID;
	if (n <= 0)
		return;
	exe[n] = '\0';
	memset(&recipe, 0, sizeof(recipe));
	if (st_symbol_resolve(exe, "sealtrace_canary", true, &sym, err, sizeof(err)) ||
	    st_capture_attach_ephemeral(a->capture, (uint32_t)id, &recipe, exe,
					sym.attach_offset, getpid(), err, sizeof(err))) {
		fprintf(stderr, "sealtrace: canary disabled: %s\n", err);
		return;
	}
	a->canary_id = id;
}

static bool canary_ok(const struct agent *a, uint64_t now)
{
	/* fresh agents get one round before the verdict */
	if (a->canary_id < 0)
		return false;
	if (a->canary_back_ns >= a->canary_sent_ns)
		return true;
	return now - a->canary_sent_ns < 2000000000ull;
}

static void fill_status(struct agent *a, uint64_t now)
{
	struct st_status *st = &a->status;
	struct st_log_stats ls;
	struct st_probe_counters k;
	uint64_t accounted;
	uint32_t i;
	int r;

	memset(st, 0, sizeof(*st));
	st->pid = (int)getpid();
	st->updated_ns = now;
	st->started_ns = a->started_ns;
	st->interval_ns = 1000000000ull;
	snprintf(st->node_id, sizeof(st->node_id), "%s", a->cfg.node_id);
	snprintf(st->state_dir, sizeof(st->state_dir), "%s", a->cfg.state_dir);
	st_log_get_stats(a->log, &ls);
	st->chain_seq[0] = st_log_seq(a->log, ST_STREAM_DECISION);
	st->chain_seq[1] = st_log_seq(a->log, ST_STREAM_SYSTEM);
	st->events_persisted[0] = ls.persisted[ST_STREAM_DECISION];
	st->events_persisted[1] = ls.persisted[ST_STREAM_SYSTEM];
	st->last_checkpoint_ns = ls.last_checkpoint_ns;
	st->ringbuf_size = st_capture_ringbuf_size(a->capture);
	st->ringbuf_used = st_capture_ringbuf_used(a->capture);
	st->canary_ok = canary_ok(a, now);
	st->canary_last_ns = a->canary_back_ns;
	for (i = 0; i < a->nprobes && st->nprobes < ST_STATUS_MAX_PROBES; i++) {
		struct probe_rt *p = &a->probes[i];
		struct st_probe_status *ps = &st->probes[st->nprobes];

		if (!p->attached || st_capture_counters(a->capture, i, &k))
			continue;
		snprintf(ps->target, sizeof(ps->target), "%s", p->target->name);
		snprintf(ps->probe, sizeof(ps->probe), "%s", p->name);
		ps->attached = true;
		ps->hits = k.hits;
		ps->persisted = a->acct.persisted[i];
		accounted = ps->persisted;
		for (r = 0; r < ST_LOSS__COUNT; r++) {
			ps->lost[r] = a->acct.lost[i][r];
			accounted += ps->lost[r];
		}
		/* what is neither recorded nor lost is still running or in the ring */
		ps->in_flight = k.hits > accounted ? k.hits - accounted : 0;
		ps->truncated = k.truncated;
		ps->last_event_ns = p->last_event_ns;
		st->nprobes++;
	}
}

static void publish_status(struct agent *a, uint64_t now)
{
	char err[ST_ERR_LEN];

	fill_status(a, now);
	if (st_status_write(&a->status, err, sizeof(err)))
		fprintf(stderr, "sealtrace: %s\n", err);
	if (a->metrics)
		st_metrics_publish(a->metrics, &a->status);
}

static uint64_t lost_total(const struct agent *a, uint32_t id)
{
	uint64_t sum = 0;
	int r;

	for (r = 0; r < ST_LOSS__COUNT; r++)
		sum += a->acct.lost[id][r];
	return sum;
}

/* Silence in the log is itself evidence: a heartbeat says "alive, these counts". */
static void record_heartbeat(struct agent *a, uint64_t now)
{
	struct st_probe_counters k;
	struct st_record rec;
	struct st_kv details[6];
	uint32_t i;

	for (i = 0; i < a->nprobes; i++) {
		struct probe_rt *p = &a->probes[i];

		if (!p->attached || st_capture_counters(a->capture, i, &k))
			continue;
		st_record_init(&rec, ST_ET_HEARTBEAT, now);
		rec.probe = p->name;
		details[0] = st_kv_uint("hits", k.hits);
		details[1] = st_kv_uint("persisted", a->acct.persisted[i]);
		details[2] = st_kv_uint("lost", lost_total(a, i));
		details[3] = st_kv_uint("ringbuf_full_events", k.rb_full);
		details[4] = st_kv_uint("truncated", k.truncated);
		details[5] = st_kv_bool("canary_ok", canary_ok(a, now));
		rec.details = details;
		rec.ndetails = 6;
		log_append(a, &rec);
	}
}

/* ---- lifecycle records ---- */

static void record_agent(struct agent *a, enum st_event_type type, const char *reason)
{
	struct st_record rec;
	struct st_kv details[8];
	size_t nd = 0;

	st_record_init(&rec, type, clock_ns(CLOCK_REALTIME));
	details[nd++] = st_kv_str("version", "0.1.0");
	details[nd++] = st_kv_str("config", a->cfg.file);
	details[nd++] = st_kv_uint("probes", a->nattached);
	if (type == ST_ET_AGENT_START && a->capture) {
		/* resumed: the ring and probes outlived the previous agent */
		details[nd++] = st_kv_bool("resumed", a->maps_reused);
		details[nd++] = st_kv_uint("ringbuf_backlog_bytes",
					st_capture_ringbuf_used(a->capture));
	}
	if (type == ST_ET_AGENT_STOP) {
		details[nd++] = st_kv_str("reason", reason);
		details[nd++] = st_kv_uint("calls_recorded", a->calls_recorded);
		details[nd++] = st_kv_uint("write_errors", a->write_errors);
	}
	rec.pid = (int32_t)getpid();
	rec.details = details;
	rec.ndetails = nd;
	log_append(a, &rec);
}

static void print_summary(struct agent *a)
{
	struct st_probe_counters k;
	uint32_t i;

	for (i = 0; i < a->nprobes; i++) {
		if (!a->probes[i].attached || st_capture_counters(a->capture, i, &k))
			continue;
		fprintf(stderr,
			"sealtrace: probe %s: hits %" PRIu64 " returns %" PRIu64
			" emitted %" PRIu64 " ringbuf_full %" PRIu64 " truncated %" PRIu64
			" faults %" PRIu64 "\n",
			a->probes[i].name, (uint64_t)k.hits, (uint64_t)k.returns,
			(uint64_t)k.emitted, (uint64_t)k.rb_full, (uint64_t)k.truncated,
			(uint64_t)k.faults);
	}
	fprintf(stderr, "sealtrace: recorded %" PRIu64 " calls, %" PRIu64
		" incomplete, %" PRIu64 " write errors\n",
		a->calls_recorded, a->incomplete_recorded, a->write_errors);
}

/* ---- setup and main loop ---- */

/* ---- oversight (sealtrace annotate) ---- */

/* Someone read the log (export, prove, lookup): the log says so. */
static void access_record(const struct st_oversight_req *req, struct st_record *rec,
			  struct st_kv *details, char *actor, size_t actorlen)
{
	size_t nd = 0;

	st_record_init(rec, ST_ET_LOG_ACCESS, clock_ns(CLOCK_REALTIME));
	rec->pid = req->peer_pid > 0 ? req->peer_pid : 0;
	snprintf(actor, actorlen, "uid:%d", req->peer_uid);
	details[nd++] = st_kv_str("action", req->action);
	details[nd++] = st_kv_str("actor", actor);
	details[nd++] = st_kv_str("filter", req->filter);
	rec->details = details;
	rec->ndetails = nd;
}

/* A person's decision about an inference (`annotate`), or a log access. */
static void on_oversight(void *ctx, const struct st_oversight_req *req, char *reply,
			 size_t replylen)
{
	struct agent *a = ctx;
	struct st_record rec;
	struct st_kv details[5];
	char err[ST_ERR_LEN], uid[32];
	size_t nd = 0;

	if (req->kind == ST_REQ_LOG_ACCESS) {
		access_record(req, &rec, details, uid, sizeof(uid));
		goto append;
	}
	st_record_init(&rec, ST_ET_OVERSIGHT, clock_ns(CLOCK_REALTIME));
	rec.human_override_applied = req->override;
	details[nd++] = st_kv_str("decision_event_id", req->event_id);
	details[nd++] = st_kv_str("actor", req->actor);
	details[nd++] = st_kv_str("action", req->override ? "override" : "confirm");
	if (req->note[0])
		details[nd++] = st_kv_str("note", req->note);
	/* the account that submitted it, from the kernel */
	snprintf(uid, sizeof(uid), "uid:%d", req->peer_uid);
	details[nd++] = st_kv_str("submitted_by", uid);
	rec.details = details;
	rec.ndetails = nd;
append:
	/* answered only once durable: the person's decision must not vanish */
	if (st_log_append(a->log, &rec, err, sizeof(err)) ||
	    st_log_flush(a->log, err, sizeof(err))) {
		snprintf(reply, replylen, "error: %.400s\n", err);
		return;
	}
	snprintf(reply, replylen, "ok %" PRIu64 "\n", st_log_seq(a->log, ST_STREAM_SYSTEM) - 1);
}

static void start_oversight(struct agent *a)
{
	char err[ST_ERR_LEN];

	snprintf(a->oversight_path, sizeof(a->oversight_path), "%s/agent", a->cfg.state_dir);
	mkdir(a->oversight_path, 0700);
	snprintf(a->oversight_path, sizeof(a->oversight_path), "%s/%s", a->cfg.state_dir,
		 ST_OVERSIGHT_SOCK);
	a->oversight_fd = st_oversight_listen(a->oversight_path, err, sizeof(err));
	if (a->oversight_fd < 0)
		fprintf(stderr, "sealtrace: oversight socket disabled: %s\n", err);
}

static void stop_oversight(struct agent *a)
{
	if (a->oversight_fd < 0)
		return;
	close(a->oversight_fd);
	unlink(a->oversight_path);
	a->oversight_fd = -1;
}

static int open_log(struct agent *a)
{
	struct st_log_opts lo = {
		.state_dir = a->cfg.state_dir,
		.keys_dir = a->cfg.keys_dir,
		.system_id = a->cfg.system_id,
		.operator_id = a->cfg.operator_id,
		.node_id = a->cfg.node_id,
		.seg_max_records = a->cfg.segment.max_records,
		.seg_max_bytes = a->cfg.segment.max_bytes,
		.seg_max_seconds = a->cfg.segment.max_seconds,
		.ckpt_every_records = a->cfg.checkpoint.every_records,
		.ckpt_every_seconds = a->cfg.checkpoint.every_seconds,
		.fsync_every_ms = a->cfg.fsync.every_ms,
	};
	char warn[ST_ERR_LEN + 256];

	if (st_config_retention_warning(&a->cfg, warn, sizeof(warn)))
		fprintf(stderr, "sealtrace: warning: %s\n", warn);
	return st_log_open(&a->log, &lo, a->err, sizeof(a->err));
}

static int open_capture(struct agent *a)
{
	struct st_capture_opts co = {
		.ringbuf_bytes = a->cfg.ringbuf_bytes,
		/* wake the consumer at 1/8 fill; below that the 100 ms poll drains */
		.wakeup_bytes = a->cfg.ringbuf_bytes / 8,
		.pin_dir = a->cfg.pin_dir,
		.heartbeat_deadline_ns = a->cfg.fail_closed_after_ms * 1000000ull,
	};
	struct st_consume_ops ops = { .call = on_call, .skipped = on_skipped, .ctx = a };

	a->pairing = st_pairing_new(&ops);
	if (!a->pairing) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return -1;
	}
	return st_capture_open(&a->capture, &co, on_event, a, &a->maps_reused, a->err,
			       sizeof(a->err));
}

#define LOST_BATCH 4096

/* One round: lost returns first (their entries precede them), then the ring. */
static int consume_round(struct agent *a, int timeout_ms)
{
	static struct st_lost_event lost[LOST_BATCH];
	int nlost, n;

	nlost = pop_lost_events(a, lost, LOST_BATCH);
	n = st_capture_poll(a->capture, nlost ? 0 : timeout_ms);
	settle_lost_events(a, lost, nlost);
	return n < 0 ? n : n + nlost;
}

/*
 * Make what was recorded durable, then give the ring space back. Never
 * past a pending entry younger than a second: its call is not recorded
 * yet, and after a crash the successor must find the entry in the ring.
 */
static void commit(struct agent *a, uint64_t mono_now)
{
	char err[ST_ERR_LEN];
	uint64_t pos;

	pos = st_pairing_safe_pos(a->pairing, st_capture_read_pos(a->capture), mono_now,
				  1000000000ull);
	if (st_log_flush(a->log, err, sizeof(err))) {
		/* nothing durable, nothing handed back: the events stay in the ring */
		fprintf(stderr, "sealtrace: %s\n", err);
		a->write_errors++;
		return;
	}
	/* durable records first, then what they account for, then ring space */
	a->acct.counted_through = st_capture_read_pos(a->capture);
	st_capture_accounting_store(a->capture, &a->acct);
	st_capture_commit(a->capture, pos);
	a->last_commit_ns = mono_now;
}

static void drain(struct agent *a)
{
	/* until a round finds nothing: everything the kernel handed over is read */
	while (consume_round(a, 0) > 0)
		;
}

/*
 * Calls open on threads that died without a thread-exit event reaching
 * us (the ring was full, or the kernel killed them fail-closed): their
 * events were written before they died, so after one drain what is still
 * open is final.
 */
static void reap_dead_threads(struct agent *a)
{
	st_pairing_reap_mark(a->pairing, thread_alive);
	drain(a);
	st_pairing_reap_settle(a->pairing, clock_ns(CLOCK_TAI));
}

/* Every retention.check_seconds (and once at start): purge what expired. */
static void retention(struct agent *a)
{
	uint64_t days[ST_STREAM__COUNT], mono = clock_ns(CLOCK_MONOTONIC);
	struct st_retain_report rep;
	char err[ST_ERR_LEN];
	int i;

	if (a->last_retention_ns &&
	    mono - a->last_retention_ns < a->cfg.retention.check_seconds * 1000000000ull)
		return;
	a->last_retention_ns = mono;
	days[ST_STREAM_DECISION] = a->cfg.retention.decision_days;
	days[ST_STREAM_SYSTEM] = a->cfg.retention.system_days;
	if (st_log_retain(a->log, days, clock_ns(CLOCK_REALTIME), &rep, err,
			  sizeof(err))) {
		fprintf(stderr, "sealtrace: retention: %s\n", err);
		return;
	}
	for (i = 0; i < ST_STREAM__COUNT; i++)
		if (rep.segments[i])
			fprintf(stderr, "sealtrace: retention: %s: purged %" PRIu64
				" segment(s), %" PRIu64 " records (retention_purge records written)\n",
				st_stream_name((enum st_stream)i), rep.segments[i],
				rep.records[i]);
}

static void tick(struct agent *a, uint64_t now)
{
	char err[ST_ERR_LEN];

	reap_dead_threads(a);
	if (now - a->last_watchdog_ns >= 5000000000ull) {
		watch_targets(a);
		a->last_watchdog_ns = now;
	}

	refresh_tai_offset(a);
	st_capture_heartbeat(a->capture, clock_ns(CLOCK_TAI));
	account_losses(a, now);
	if (st_log_tick(a->log, now, err, sizeof(err)))
		fprintf(stderr, "sealtrace: %s\n", err);
	retention(a);
	/* one canary in flight at a time; a lost one is re-sent after 2 s */
	if (a->canary_id >= 0 && (a->canary_back_ns >= a->canary_sent_ns ||
				  now - a->canary_sent_ns > 2000000000ull)) {
		a->canary_sent_ns = now;
		sealtrace_canary(now);
	}
	if (now - a->last_heartbeat_ns >= a->cfg.heartbeat_seconds * 1000000000ull) {
		record_heartbeat(a, now);
		a->last_heartbeat_ns = now;
	}
	publish_status(a, now);
}

static int loop(struct agent *a, uint64_t duration_ns)
{
	uint64_t now, mono, last_tick = 0;
	uint64_t used, size = st_capture_ringbuf_size(a->capture);

	while (!stop_requested) {
		if (a->tracker)
			wait_rings(a, 100);
		if (consume_round(a, a->tracker ? 0 : 100) < 0 && errno != EINTR)
			break;
		st_oversight_serve(a->oversight_fd, on_oversight, a);
		if (a->tracker)
			st_tracker_poll(a->tracker);
		now = clock_ns(CLOCK_REALTIME);
		mono = clock_ns(CLOCK_MONOTONIC);
		if (now - last_tick >= 1000000000ull) {
			tick(a, now);
			last_tick = now;
		}
		/* a filling ring cannot wait for the fsync policy */
		used = st_capture_ringbuf_used(a->capture);
		if (mono - a->last_commit_ns >= a->commit_every_ns || used > size / 4)
			commit(a, mono);
		if (duration_ns && now - a->started_ns >= duration_ns)
			break;
	}
	return 0;
}

/*
 * Stop. Default (SIGTERM, --duration): probes stay pinned and keep
 * filling the ring; calls still open are left for the successor, which
 * reads their entries again. --detach-on-exit (uninstall): detach first,
 * so nothing new arrives, drain, and record open calls as incomplete.
 */
static int shutdown_agent(struct agent *a, const char *reason)
{
	char err[ST_ERR_LEN];
	int rc = ST_EXIT_OK;
	uint32_t i;

	if (a->capture && a->log) {
		if (a->detach_on_exit) {
			for (i = 0; i < a->nprobes; i++)
				if (a->probes[i].attached)
					record_probe_detached(a, &a->probes[i], "detach");
			/* nothing may stay stopped once nobody will resume it */
			if (st_lifecycle_release_pinned(a->cfg.pin_dir) < 0)
				fprintf(stderr, "sealtrace: %s/lifecycle-held: %s\n", a->cfg.pin_dir,
					strerror(errno));
			if (st_capture_detach_all(a->capture, err, sizeof(err)))
				fprintf(stderr, "sealtrace: %s\n", err);
		}
		drain(a);
		/* last exits and model hashes, while the log is open */
		st_tracker_close(a->tracker);
		a->tracker = NULL;
		if (a->detach_on_exit) {
			/* no return can be seen any more: open calls end here */
			st_pairing_flush(a->pairing);
			st_pairing_reap_mark(a->pairing, thread_never_alive);
			st_pairing_reap_settle(a->pairing, clock_ns(CLOCK_TAI));
		}
		account_losses(a, clock_ns(CLOCK_REALTIME));
		print_summary(a);
	}
	if (a->log) {
		record_agent(a, ST_ET_AGENT_STOP, reason);
		if (a->capture)
			commit(a, clock_ns(CLOCK_MONOTONIC));
		if (st_log_close(a->log, a->err, sizeof(a->err))) {
			fprintf(stderr, "sealtrace: %s\n", a->err);
			rc = ST_EXIT_RUNTIME;
		}
		a->log = NULL;
	}
	st_tracker_close(a->tracker);
	st_metrics_stop(a->metrics);
	stop_oversight(a);
	st_capture_close(a->capture);
	st_pairing_free(a->pairing);
	st_keyring_free(a->keys);
	st_config_free(&a->cfg);
	return rc;
}

static int check_config(const char *file, bool resolve)
{
	struct st_config cfg;
	struct st_symbol sym;
	char err[ST_ERR_LEN];
	size_t ti, pi;
	int rc = ST_EXIT_OK;

	if (st_config_load(file, &cfg, err, sizeof(err))) {
		fprintf(stderr, "sealtrace: %s\n", err);
		return ST_EXIT_USAGE;
	}
	for (ti = 0; resolve && ti < cfg.ntargets; ti++) {
		/* a discovered target's file is only known once a process has it */
		if (is_discovered(&cfg.targets[ti]))
			continue;
		for (pi = 0; pi < cfg.targets[ti].nprobes; pi++) {
			if (resolve_probe(&cfg.targets[ti], &cfg.targets[ti].probes[pi], &sym,
					  err, sizeof(err))) {
				fprintf(stderr, "sealtrace: %s\n", err);
				rc = ST_EXIT_USAGE;
			}
		}
	}
	if (rc == ST_EXIT_OK)
		printf("%s: OK (%zu targets)\n", file, cfg.ntargets);
	st_config_free(&cfg);
	return rc;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int touch(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f);
}

/*
 * Start, attach (adopting pinned probes), loop until stop, shut down.
 * detach_now: uninstall instead of running: drain what the pinned ring
 * holds into the log, record probe_detached, remove every pin.
 */
static void start_metrics(struct agent *a)
{
	char err[ST_ERR_LEN];

	if (!a->cfg.metrics.listen || !a->cfg.metrics.listen[0])
		return;
	/* metrics are for the SRE; the log goes on without them */
	if (st_metrics_start(&a->metrics, a->cfg.metrics.listen, err, sizeof(err)))
		fprintf(stderr, "sealtrace: metrics disabled: %s\n", err);
}

static int run_agent(struct agent *a, const char *config, uint64_t duration_ns,
		     const char *ready_file, bool detach_now)
{
	int rc;

	a->canary_id = -1;
	a->oversight_fd = -1;
	if (detach_now)
		a->detach_on_exit = true;
	if (st_config_load(config, &a->cfg, a->err, sizeof(a->err))) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		return ST_EXIT_USAGE;
	}
	install_signals();
	refresh_tai_offset(a);
	/* records are made durable, and ring space handed back, at the fsync pace */
	a->commit_every_ns = (a->cfg.fsync.every_ms ? a->cfg.fsync.every_ms : 100) * 1000000ull;
	a->started_ns = clock_ns(CLOCK_REALTIME);
	if (st_keyring_load(&a->keys, a->cfg.keys_dir, a->err, sizeof(a->err)) ||
	    open_log(a) || open_capture(a)) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		shutdown_agent(a, "startup_failed");
		return ST_EXIT_RUNTIME;
	}
	if (a->maps_reused && st_capture_accounting_load(a->capture, &a->acct) == 0)
		a->counted_before = a->acct.counted_through;
	record_agent(a, ST_ET_AGENT_START, NULL);
	if (!detach_now && open_tracker(a)) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		shutdown_agent(a, "startup_failed");
		return ST_EXIT_RUNTIME;
	}
	rc = attach_all(a);
	if (rc) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		/* a first start that fails leaves nothing pinned behind */
		if (!a->maps_reused)
			a->detach_on_exit = true;
		shutdown_agent(a, "attach_failed");
		return rc == -2 ? ST_EXIT_USAGE : ST_EXIT_RUNTIME;
	}
	skip_recorded_calls(a);
	/* what accumulated while no agent ran is recorded before anything new */
	drain(a);
	account_losses(a, clock_ns(CLOCK_REALTIME));
	if (!detach_now) {
		attach_canary(a);
		start_metrics(a);
		start_oversight(a);
	}
	st_log_flush(a->log, a->err, sizeof(a->err));
	fprintf(stderr, "sealtrace: ready: %u probes attached (%s), logging to %s\n",
		a->nattached, a->maps_reused ? "resumed from pinned state" : "fresh",
		a->cfg.state_dir);
	if (ready_file && touch(ready_file))
		fprintf(stderr, "sealtrace: %s: %s\n", ready_file, strerror(errno));
	if (!detach_now)
		loop(a, duration_ns);
	return shutdown_agent(a, detach_now ? "detach" : stop_requested ? "signal" : "duration");
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "resolve", no_argument, NULL, 'R' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "detach-on-exit", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct agent agent;	/* large (probe table); one per process */
	struct agent *a = &agent;
	const char *config = NULL, *check = NULL, *ready_file = NULL;
	uint64_t duration_ns = 0;
	bool resolve = false;
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'C': check = optarg; break;
		case 'R': resolve = true; break;
		case 'r': ready_file = optarg; break;
		case 'D': a->detach_on_exit = true; break;
		case 'd':
			errno = 0;
			duration_ns = strtoull(optarg, &end, 10) * 1000000000ull;
			if (errno || *end || !duration_ns) {
				fprintf(stderr, "sealtrace run: --duration: '%s' is not a positive number of seconds\n",
					optarg);
				return ST_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return ST_EXIT_OK;
		default: usage(stderr); return ST_EXIT_USAGE;
		}
	}
	if (check)
		return check_config(check, resolve);
	if (!config || optind != argc) {
		usage(stderr);
		return ST_EXIT_USAGE;
	}
	return run_agent(a, config, duration_ns, ready_file, false);
}


int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct agent agent;
	const char *config = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h':
			printf("usage: sealtrace detach --config FILE\n\n"
			       "Uninstall: drain what the pinned ring buffer still holds into the\n"
			       "log, record probe_detached for every probe, and remove every pinned\n"
			       "map and link under the config's pin_dir. Stop the agent first.\n\n"
			       "Exit status: 0 done, 2 usage/config error, 3 runtime error.\n");
			return ST_EXIT_OK;
		default:
			return ST_EXIT_USAGE;
		}
	}
	if (!config || optind != argc) {
		fprintf(stderr, "usage: sealtrace detach --config FILE\n");
		return ST_EXIT_USAGE;
	}
	return run_agent(&agent, config, 0, NULL, true);
}
