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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sealtrace/capture.h"
#include "sealtrace/cli.h"
#include "sealtrace/config.h"
#include "sealtrace/consume.h"
#include "sealtrace/fetcharg.h"
#include "sealtrace/log.h"
#include "sealtrace/pseudo.h"
#include "sealtrace/record.h"
#include "sealtrace/symbols.h"

#define ST_REF_LEN 128

/* What the agent keeps about one attached probe. */
struct probe_rt {
	char name[256];			/* "target:symbol", the record's probe field */
	const struct st_target_cfg *target;
	const struct st_probe_cfg *cfg;
	char path[4096];
	struct st_symbol sym;
	struct st_probe_counters seen;	/* counters already accounted in records */
	bool attached;
};

struct agent {
	struct st_config cfg;
	struct st_keyring *keys;
	struct st_log *log;
	struct st_capture_ctx *capture;
	struct st_pairing *pairing;
	struct probe_rt probes[ST_MAX_PROBES];
	uint32_t nprobes;
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
		"usage: sealtrace run --config FILE [--duration SECONDS]\n"
		"       sealtrace run --check-config FILE [--resolve]\n\n"
		"Attach the configured uprobes and record every call until SIGTERM/SIGINT\n"
		"(or --duration), then drain the ring buffer, write a final checkpoint and exit.\n\n"
		"  -c, --config FILE      agent configuration (YAML)\n"
		"  -d, --duration SECS    stop by itself after SECS seconds\n"
		"      --check-config FILE  validate the configuration and exit (no BPF)\n"
		"      --resolve          with --check-config: also resolve every probe's\n"
		"                         file and symbol\n"
		"      --ready-file FILE  create FILE once every probe is attached\n"
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

static void record_init(struct st_record *rec, enum st_event_type type, uint64_t ts)
{
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	rec->timestamp_ns = ts;
	rec->input_len = -1;
	rec->output_len = -1;
	rec->duration_ns = -1;
}

static struct st_kv kv_str(const char *k, const char *v)
{
	struct st_kv kv = { .key = k, .kind = ST_KV_STR };

	kv.v.s = v;
	return kv;
}

static struct st_kv kv_uint(const char *k, uint64_t v)
{
	struct st_kv kv = { .key = k, .kind = ST_KV_UINT };

	kv.v.u = v;
	return kv;
}

static struct st_kv kv_bool(const char *k, bool v)
{
	struct st_kv kv = { .key = k, .kind = ST_KV_BOOL };

	kv.v.b = v;
	return kv;
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

	if (call->probe_id >= a->nprobes)
		return;
	p = &a->probes[call->probe_id];
	ts = tai_to_utc(a, call->entry_ts ? call->entry_ts : call->return_ts);
	record_init(&rec, call->state == ST_CALL_INCOMPLETE ? ST_ET_INCOMPLETE : ST_ET_INFERENCE,
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
	if (call->state != ST_CALL_INCOMPLETE || p->cfg->out.at == ST_AT_ENTRY) {
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
	details[nd++] = kv_uint("kseq", call->kseq);
	if (call->depth)
		details[nd++] = kv_uint("depth", call->depth);
	if (call->flags & ST_F_IN_TRUNC) {
		details[nd++] = kv_bool("input_truncated", true);
		details[nd++] = kv_uint("input_captured_len", call->in_len);
	}
	if (call->flags & ST_F_OUT_TRUNC) {
		details[nd++] = kv_bool("output_truncated", true);
		details[nd++] = kv_uint("output_captured_len", call->out_len);
	}
	if (in_fault && p->cfg->in.mode != ST_LEN_NONE)
		details[nd++] = kv_str("input_error", "unreadable");
	if (out_fault && p->cfg->out.mode != ST_LEN_NONE)
		details[nd++] = kv_str("output_error", "unreadable");
	if (call->state == ST_CALL_NO_ENTRY)
		details[nd++] = kv_str("entry", "lost");
	if (call->state == ST_CALL_INCOMPLETE)
		details[nd++] = kv_str("reason", call->return_ts ? "thread_exit" : "agent_stop");
	rec.details = details;
	rec.ndetails = nd;
	if (log_append(a, &rec) == 0) {
		if (call->state == ST_CALL_INCOMPLETE)
			a->incomplete_recorded++;
		else
			a->calls_recorded++;
	}
}

static int on_event(void *ctx, const struct st_event *ev, size_t size)
{
	struct agent *a = ctx;

	st_pairing_event(a->pairing, ev, size);
	return 0;
}

/* ---- loss accounting ---- */

/*
 * Every event the kernel could not put into the ring buffer becomes part
 * of a loss record: the log holds either the call or the count of calls it
 * is missing, never silence.
 */
static void account_losses(struct agent *a, uint64_t now)
{
	struct st_probe_counters k;
	struct st_record rec;
	struct st_kv details[4];
	uint32_t i;

	for (i = 0; i < a->nprobes; i++) {
		struct probe_rt *p = &a->probes[i];

		if (!p->attached || st_capture_counters(a->capture, i, &k))
			continue;
		if (k.rb_full > p->seen.rb_full) {
			record_init(&rec, ST_ET_LOSS, now);
			rec.probe = p->name;
			details[0] = kv_uint("count", k.rb_full - p->seen.rb_full);
			details[1] = kv_str("reason", "ringbuf_full");
			details[2] = kv_str("unit", "event");
			rec.details = details;
			rec.ndetails = 3;
			if (log_append(a, &rec) == 0)
				p->seen.rb_full = k.rb_full;
		}
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
	struct st_kv details[12];
	uint64_t size = 0;
	size_t nd = 0;

	st_elf_build_id(p->path, build_id, sizeof(build_id), a->err, sizeof(a->err));
	if (st_file_sha256(p->path, sha, &size, a->err, sizeof(a->err)))
		snprintf(sha, sizeof(sha), "unreadable");
	capture_text(&p->cfg->in, in, sizeof(in));
	capture_text(&p->cfg->out, out, sizeof(out));
	snprintf(off, sizeof(off), "0x%" PRIx64, p->sym.attach_offset);
	snprintf(foff, sizeof(foff), "0x%" PRIx64, p->sym.func_offset);
	record_init(&rec, ST_ET_PROBE_ATTACHED, clock_ns(CLOCK_REALTIME));
	rec.probe = p->name;
	details[nd++] = kv_str("target", p->target->name);
	details[nd++] = kv_str("path", p->path);
	if (p->cfg->symbol)
		details[nd++] = kv_str("symbol", p->cfg->symbol);
	details[nd++] = kv_str("function_offset", foff);
	details[nd++] = kv_str("attach_offset", off);
	/* a uprobe on endbr64 is single-stepped; +4 is the same call, cheaper */
	details[nd++] = kv_bool("endbr64_skipped", p->sym.endbr_skipped);
	details[nd++] = kv_str("file_sha256", sha);
	details[nd++] = kv_str("build_id", build_id);
	details[nd++] = kv_str("input", in);
	details[nd++] = kv_str("output", out);
	if (p->target->pid)
		details[nd++] = kv_uint("pid_filter", (uint64_t)p->target->pid);
	rec.details = details;
	rec.ndetails = nd;
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
		snprintf(err, errlen, "target '%s': %s", t->name, inner);
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

static int attach_all(struct agent *a)
{
	struct st_recipe recipe;
	size_t ti, pi;

	for (ti = 0; ti < a->cfg.ntargets; ti++) {
		const struct st_target_cfg *t = &a->cfg.targets[ti];

		for (pi = 0; pi < t->nprobes; pi++) {
			struct probe_rt *p = &a->probes[a->nprobes];
			const struct st_probe_cfg *pc = &t->probes[pi];

			if (a->nprobes >= ST_MAX_PROBES) {
				snprintf(a->err, sizeof(a->err), "%s: more than %d probes",
					 a->cfg.file, ST_MAX_PROBES);
				return -1;
			}
			p->target = t;
			p->cfg = pc;
			snprintf(p->path, sizeof(p->path), "%s", t->path);
			probe_name(t, pc, p->name, sizeof(p->name));
			/* a file or symbol that is not there is the config's fault: exit 2 */
			if (resolve_probe(t, pc, &p->sym, a->err, sizeof(a->err)))
				return -2;
			recipe_of(t, pc, &recipe);
			if (st_capture_attach(a->capture, a->nprobes, &recipe, p->path,
					      p->sym.attach_offset, t->pid, a->err,
					      sizeof(a->err)))
				return -1;
			p->attached = true;
			a->nprobes++;
			record_probe_attached(a, p);
		}
	}
	return 0;
}

/* ---- lifecycle records ---- */

static void record_agent(struct agent *a, enum st_event_type type, const char *reason)
{
	struct st_record rec;
	struct st_kv details[6];
	size_t nd = 0;

	record_init(&rec, type, clock_ns(CLOCK_REALTIME));
	details[nd++] = kv_str("version", "0.1.0");
	details[nd++] = kv_str("config", a->cfg.file);
	details[nd++] = kv_uint("probes", a->nprobes);
	if (type == ST_ET_AGENT_STOP) {
		details[nd++] = kv_str("reason", reason);
		details[nd++] = kv_uint("calls_recorded", a->calls_recorded);
		details[nd++] = kv_uint("write_errors", a->write_errors);
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
		if (st_capture_counters(a->capture, i, &k))
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

	return st_log_open(&a->log, &lo, a->err, sizeof(a->err));
}

static int open_capture(struct agent *a)
{
	struct st_capture_opts co = {
		.ringbuf_bytes = a->cfg.ringbuf_bytes,
		/* wake the consumer at 1/8 fill; below that the 100 ms poll drains */
		.wakeup_bytes = a->cfg.ringbuf_bytes / 8,
	};
	struct st_consume_ops ops = { .call = on_call, .ctx = a };

	a->pairing = st_pairing_new(&ops);
	if (!a->pairing) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return -1;
	}
	return st_capture_open(&a->capture, &co, on_event, a, a->err, sizeof(a->err));
}

static void drain(struct agent *a)
{
	int n;

	/* until a poll finds nothing: everything the kernel handed over is recorded */
	do {
		n = st_capture_poll(a->capture, 0);
	} while (n > 0);
}

static int loop(struct agent *a, uint64_t duration_ns)
{
	uint64_t now, last_tick = 0;
	char err[ST_ERR_LEN];

	while (!stop_requested) {
		if (st_capture_poll(a->capture, 100) < 0 && errno != EINTR)
			break;
		now = clock_ns(CLOCK_REALTIME);
		if (now - last_tick >= 1000000000ull) {
			refresh_tai_offset(a);
			st_capture_heartbeat(a->capture, clock_ns(CLOCK_TAI));
			account_losses(a, now);
			if (st_log_tick(a->log, now, err, sizeof(err)))
				fprintf(stderr, "sealtrace: %s\n", err);
			last_tick = now;
		}
		if (duration_ns && now - a->started_ns >= duration_ns)
			break;
	}
	return 0;
}

static int shutdown_agent(struct agent *a, const char *reason)
{
	int rc = ST_EXIT_OK;

	if (a->capture) {
		drain(a);
		account_losses(a, clock_ns(CLOCK_REALTIME));
		print_summary(a);
	}
	if (a->pairing)
		st_pairing_flush(a->pairing);
	if (a->log) {
		record_agent(a, ST_ET_AGENT_STOP, reason);
		if (st_log_close(a->log, a->err, sizeof(a->err))) {
			fprintf(stderr, "sealtrace: %s\n", a->err);
			rc = ST_EXIT_RUNTIME;
		}
		a->log = NULL;
	}
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

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "check-config", required_argument, NULL, 'C' },
		{ "resolve", no_argument, NULL, 'R' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct agent agent;	/* large (probe table); one per process */
	struct agent *a = &agent;
	const char *config = NULL, *check = NULL, *ready_file = NULL;
	uint64_t duration_ns = 0;
	bool resolve = false;
	char *end;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'C': check = optarg; break;
		case 'R': resolve = true; break;
		case 'r': ready_file = optarg; break;
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
	if (st_config_load(config, &a->cfg, a->err, sizeof(a->err))) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		return ST_EXIT_USAGE;
	}
	install_signals();
	refresh_tai_offset(a);
	a->started_ns = clock_ns(CLOCK_REALTIME);
	if (st_keyring_load(a->cfg.keys_dir, &a->keys, a->err, sizeof(a->err)) ||
	    open_log(a) || open_capture(a)) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		shutdown_agent(a, "startup_failed");
		return ST_EXIT_RUNTIME;
	}
	record_agent(a, ST_ET_AGENT_START, NULL);
	rc = attach_all(a);
	if (rc) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		shutdown_agent(a, "attach_failed");
		return rc == -2 ? ST_EXIT_USAGE : ST_EXIT_RUNTIME;
	}
	st_log_flush(a->log, a->err, sizeof(a->err));
	fprintf(stderr, "sealtrace: ready: %u probes attached, logging to %s\n", a->nprobes,
		a->cfg.state_dir);
	if (ready_file && touch(ready_file))
		fprintf(stderr, "sealtrace: %s: %s\n", ready_file, strerror(errno));
	loop(a, duration_ns);
	return shutdown_agent(a, stop_requested ? "signal" : "duration");
}
