// SPDX-License-Identifier: Apache-2.0
/*
 * agent_live: evidence that the agent is alive and complete. The canary
 * (its own uprobed function), heartbeat and lifecycle records, the status
 * snapshot (status.json, /metrics, /healthz), and the oversight socket
 * (annotate, log_access).
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
#include "sealtrace/config/config.h"
#include "sealtrace/capture/pairing.h"
#include "sealtrace/capture/fetcharg.h"
#include "sealtrace/targets/lifecycle.h"
#include "sealtrace/log/log.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/ops/metrics.h"
#include "sealtrace/ops/status.h"
#include "sealtrace/capture/symbols.h"
#include "sealtrace/targets/track.h"

#include "sealtrace/agent/agent.h"

/* ---- liveness: canary, heartbeat records, status snapshot ---- */

/*
 * The canary: a function of the agent's own, probed like any target. When
 * its call comes back through the ring buffer, the whole path (uprobe ->
 * BPF -> ring -> consumer) works, not just the agent process.
 */
__attribute__((noinline, used)) int sealtrace_canary(uint64_t token)
{
	asm volatile("" ::: "memory");
	return (int)(token & 1);
}

void agent_attach_canary(struct agent *a)
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
	st->has_wire = agent_wire_status(a, &st->wire);
	st->lifecycle_lost = st_tracker_lifecycle_lost(a->tracker);
	for (i = 0; i < a->nprobes && st->nprobes < ST_STATUS_MAX_PROBES; i++) {
		struct probe_rt *p = &a->probes[i];
		struct st_probe_status *ps = &st->probes[st->nprobes];

		if (!p->attached)
			continue;
		/* p->seen: the kernel counters this tick's loss accounting read */
		k = p->seen;
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

void agent_publish_status(struct agent *a, uint64_t now)
{
	char err[ST_ERR_LEN];

	fill_status(a, now);
	if (st_status_write(&a->status, err, sizeof(err)))
		fprintf(stderr, "sealtrace: %s\n", err);
	if (a->metrics) {
		struct st_buf text = { 0 };

		st_metrics_publish(a->metrics, &a->status);
		st_mon_metrics_text(&a->mon, &text);
		if (!text.oom)
			st_metrics_publish_text(a->metrics, text.p, text.len);
		st_buf_free(&text);
	}
}

static uint64_t lost_total(const struct agent *a, uint32_t id)
{
	uint64_t sum = 0;
	int r;

	for (r = 0; r < ST_LOSS__COUNT; r++)
		sum += a->acct.lost[id][r];
	return sum;
}

/*
 * The previous agent's last status snapshot says when it was last alive;
 * -1 when there is none (first start) or it cannot be read.
 */
int64_t agent_away_ms(const struct agent *a, uint64_t now)
{
	struct st_status *prev = calloc(1, sizeof(*prev));
	char err[ST_ERR_LEN];
	int64_t away = -1;

	if (prev && !st_status_read(a->cfg.state_dir, prev, err, sizeof(err)) &&
	    prev->updated_ns && prev->updated_ns <= now)
		away = (int64_t)((now - prev->updated_ns) / 1000000ull);
	free(prev);
	return away;
}

/* Silence in the log is itself evidence: a heartbeat says "alive, these counts". */
void agent_record_heartbeat(struct agent *a, uint64_t now)
{
	struct st_probe_counters k;
	struct st_record rec;
	struct st_kv details[6];
	uint32_t i;

	for (i = 0; i < a->nprobes; i++) {
		struct probe_rt *p = &a->probes[i];

		if (!p->attached)
			continue;
		/* the counters this tick's loss accounting read: one read a tick */
		k = p->seen;
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
		agent_log_append(a, &rec);
	}
}

/* ---- lifecycle records ---- */

void agent_record_agent(struct agent *a, enum st_event_type type, const char *reason)
{
	struct st_record rec;
	struct st_kv details[8 + ST_MAX_FACTS];
	size_t nd = 0, i;

	st_record_init(&rec, type, st_clock_ns(CLOCK_REALTIME));
	details[nd++] = st_kv_str("version", "0.1.0");
	details[nd++] = st_kv_str("config", a->cfg.file);
	details[nd++] = st_kv_uint("probes", a->nattached);
	if (type == ST_ET_AGENT_START && a->capture) {
		/* resumed: the ring and probes outlived the previous agent */
		details[nd++] = st_kv_bool("resumed", a->maps_reused);
		details[nd++] = st_kv_uint("ringbuf_backlog_bytes",
					st_capture_ringbuf_used(a->capture));
		/* how long no agent drained the ring: from the last snapshot */
		if (a->away_ms >= 0)
			details[nd++] = st_kv_uint("away_ms", (uint64_t)a->away_ms);
		/* static facts of the system (system_facts), for the export header */
		for (i = 0; i < a->cfg.nfacts; i++)
			details[nd++] = st_kv_str(a->cfg.facts[i].key, a->cfg.facts[i].value);
	}
	if (type == ST_ET_AGENT_STOP) {
		details[nd++] = st_kv_str("reason", reason);
		details[nd++] = st_kv_uint("calls_recorded", a->calls_recorded);
		details[nd++] = st_kv_uint("write_errors", a->write_errors);
	}
	rec.pid = (int32_t)getpid();
	rec.details = details;
	rec.ndetails = nd;
	agent_log_append(a, &rec);
}

void agent_print_summary(struct agent *a)
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

/* ---- oversight (sealtrace annotate) ---- */

/* Someone read the log (export, prove, lookup): the log says so. */
static void access_record(const struct st_oversight_req *req, struct st_record *rec,
			  struct st_kv *details, char *actor, size_t actorlen)
{
	size_t nd = 0;

	st_record_init(rec, ST_ET_LOG_ACCESS, st_clock_ns(CLOCK_REALTIME));
	rec->pid = req->peer_pid > 0 ? req->peer_pid : 0;
	snprintf(actor, actorlen, "uid:%d", req->peer_uid);
	details[nd++] = st_kv_str("action", req->action);
	details[nd++] = st_kv_str("actor", actor);
	details[nd++] = st_kv_str("filter", req->filter);
	rec->details = details;
	rec->ndetails = nd;
}

/* A person's decision about an inference (`annotate`), or a log access. */
void agent_on_oversight(void *ctx, const struct st_oversight_req *req, char *reply,
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
	st_record_init(&rec, ST_ET_OVERSIGHT, st_clock_ns(CLOCK_REALTIME));
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
	if (rec.type == ST_ET_OVERSIGHT)
		st_mon_metrics_oversight(&a->mon, rec.human_override_applied);
	snprintf(reply, replylen, "ok %" PRIu64 "\n", st_log_seq(a->log, ST_STREAM_SYSTEM) - 1);
}

void agent_start_oversight(struct agent *a)
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

void agent_stop_oversight(struct agent *a)
{
	if (a->oversight_fd < 0)
		return;
	close(a->oversight_fd);
	unlink(a->oversight_path);
	a->oversight_fd = -1;
}

void agent_start_metrics(struct agent *a)
{
	char err[ST_ERR_LEN];

	if (!a->cfg.metrics.listen || !a->cfg.metrics.listen[0])
		return;
	/* metrics are for the SRE; the log goes on without them */
	if (st_metrics_start(&a->metrics, a->cfg.metrics.listen, err, sizeof(err)))
		fprintf(stderr, "sealtrace: metrics disabled: %s\n", err);
}
