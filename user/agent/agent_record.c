// SPDX-License-Identifier: Apache-2.0
/*
 * agent_record: what the agent writes about calls. A paired call becomes
 * an inference/incomplete record (inputs and outputs only as HMAC refs);
 * calls the kernel could not deliver become loss records with exact counts;
 * after a crash, calls already in the log are skipped when read again.
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
#include "sealtrace/log/decision.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/ops/status.h"
#include "sealtrace/capture/symbols.h"
#include "sealtrace/targets/track.h"

#include "sealtrace/monitor/risk.h"
#include "sealtrace/base/digest.h"

#include "sealtrace/agent/agent.h"

/* ---- risk rules (monitor/risk.h): their changes ---- */

/* The rules as text, for their digest: what a change record names. */
static void risk_rules_text(const struct st_config *c, struct st_buf *b)
{
	char num[64];
	size_t i, j;

	for (i = 0; i < c->nrisk_rules; i++) {
		const struct st_risk_rule_cfg *r = &c->risk_rules[i];
		const char *parts[] = { r->name, r->field, st_risk_op_name(r->op),
					r->severity, num };

		if (r->op == ST_RISK_IN || r->op == ST_RISK_NOT_IN)
			num[0] = '\0';
		else
			st_risk_num_text(r->value, num, sizeof(num));
		for (j = 0; j < sizeof(parts) / sizeof(parts[0]); j++) {
			st_buf_puts(b, parts[j]);
			st_buf_putc(b, '\t');
		}
		for (j = 0; j < r->nset; j++) {
			st_buf_puts(b, r->set[j]);
			st_buf_putc(b, '\t');
		}
		st_buf_putc(b, '\n');
	}
}

/* tmp, then rename: the digest file is the old one or the new one. */
static int remember_digest(const char *tmp, const char *path, const char *hex)
{
	FILE *f = fopen(tmp, "w");
	bool ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%s\n", hex) > 0 && !fflush(f) && !fsync(fileno(f));
	if (fclose(f) || !ok)
		return -1;
	return rename(tmp, path);
}

/*
 * A change of risk_rules since the last agent on this state dir is a
 * config_change record (old and new digest of the rules, their count);
 * <state_dir>/agent/risk_rules.sha256 remembers the digest in force.
 */
void agent_note_risk_rules(struct agent *a)
{
	struct st_record rec;
	struct st_kv d[4];
	struct st_buf text = { 0 };
	struct st_hasher *h = st_hasher_new();
	uint8_t dig[ST_HASH_LEN];
	char path[4300], tmp[4400], hex[ST_HASH_HEX + 1], old[ST_HASH_HEX + 1] = "";
	FILE *f;
	size_t nd = 0;

	risk_rules_text(&a->cfg, &text);
	if (!h || text.oom || st_sha256(h, text.p ? text.p : "", text.len, NULL, 0, dig)) {
		fprintf(stderr, "sealtrace: risk rules: digest failed\n");
		goto out;
	}
	st_hex(dig, ST_HASH_LEN, hex);
	snprintf(path, sizeof(path), "%s/agent/risk_rules.sha256", a->cfg.state_dir);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(old, sizeof(old), f))
			old[0] = '\0';
		fclose(f);
	}
	if (!strcmp(old, hex) || (!old[0] && !a->cfg.nrisk_rules))
		goto out;	/* unchanged, or never any rules */
	st_record_init(&rec, ST_ET_CONFIG_CHANGE, st_clock_ns(CLOCK_REALTIME));
	d[nd++] = st_kv_str("config", a->cfg.file);
	if (old[0])
		d[nd++] = st_kv_str("old_risk_rules_sha256", old);
	d[nd++] = st_kv_uint("risk_rules", a->cfg.nrisk_rules);
	d[nd++] = st_kv_str("risk_rules_sha256", hex);
	rec.details = d;
	rec.ndetails = nd;
	if (agent_log_append(a, &rec))
		goto out;
	snprintf(tmp, sizeof(tmp), "%s/agent", a->cfg.state_dir);
	if (mkdir(tmp, 0700) && errno != EEXIST)
		fprintf(stderr, "sealtrace: %s: %s\n", tmp, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (remember_digest(tmp, path, hex))
		fprintf(stderr, "sealtrace: %s: %s (the next start records the rules again)\n",
			path, strerror(errno));
out:
	st_buf_free(&text);
	st_hasher_free(h);
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

/* A call of a probe this agent did not attach (see agent_on_call). */
static void record_orphan_call(struct agent *a, const struct st_call *call)
{
	struct st_record rec;
	struct st_kv details[2];
	char name[32];
	uint64_t ts = st_tai_to_utc(call->entry_ts ? call->entry_ts : call->return_ts, a->tai_offset_ns);

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
	agent_log_append(a, &rec);
}

void agent_on_call(void *ctx, const struct st_call *call)
{
	struct agent *a = ctx;
	struct probe_rt *p;
	struct st_record rec;
	struct st_kv details[16];
	struct st_decision_result dec;
	char in_ref[ST_REF_LEN], out_ref[ST_REF_LEN];
	bool in_fault = call->flags & ST_F_IN_FAULT;
	bool out_fault = call->flags & ST_F_OUT_FAULT;
	size_t nd = 0;
	uint64_t ts;
	int rc;

	if (call->probe_id >= ST_MAX_PROBES)
		return;
	if (call->probe_id == ST_CANARY_PROBE_ID) {
		/* ours, or a previous agent's left in the ring: never a target call */
		if ((int)call->probe_id == a->canary_id && call->tgid == (uint32_t)getpid())
			a->canary_back_ns = st_clock_ns(CLOCK_REALTIME);
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
	ts = st_tai_to_utc(call->entry_ts ? call->entry_ts : call->return_ts, a->tai_offset_ns);
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
	st_tracker_annotate(a->tracker, &rec);
	if (p->cfg->decision.nfields) {
		/* after annotate: a model version the output names wins */
		st_decision_extract(&p->cfg->decision, a->keys,
				    rec.input_hash ? call->in : NULL, call->in_len,
				    !(call->flags & ST_F_IN_TRUNC),
				    rec.output_reference ? call->out : NULL, call->out_len,
				    !(call->flags & ST_F_OUT_TRUNC), &dec);
		st_decision_apply(&dec, &rec, details, &nd, sizeof(details) / sizeof(details[0]));
	}
	rec.details = details;
	rec.ndetails = nd;
	rc = agent_log_append(a, &rec);
	if (p->cfg->decision.nfields)
		st_decision_result_free(&dec);
	if (rc != 0) {
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
void agent_on_skipped(void *ctx, uint32_t probe_id, uint64_t kseq, uint64_t pos)
{
	struct agent *a = ctx;

	(void)kseq;
	/* durable, but the crash came before its accounting was stored */
	if (pos >= a->counted_before && probe_id < ST_MAX_PROBES)
		a->acct.persisted[probe_id]++;
}

int agent_on_event(void *ctx, const struct st_event *ev, size_t size, uint64_t pos)
{
	struct agent *a = ctx;

	st_pairing_event(a->pairing, ev, size, pos, st_clock_ns(CLOCK_MONOTONIC));
	return 0;
}

/* ---- loss accounting ---- */

/*
 * A call is lost whole when neither its entry nor its return reached the
 * ring. The kernel counts those (calls_lost, exact) and queues their call
 * numbers (the range; a full queue costs the range, never the count). A
 * lost return whose entry we hold is a recorded call without output; one
 * whose entry a crashed predecessor had read is lost whole, counted here.
 * Per agent_drain, each probe's lost calls become one loss record with count and
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

/* 0 when the record is in the log. */
static int record_loss(struct agent *a, struct probe_rt *p, uint64_t count,
		       enum st_loss_reason reason, bool with_range, uint64_t now)
{
	struct st_record rec;
	struct st_kv details[6];
	size_t nd = 0;

	st_record_init(&rec, ST_ET_LOSS, now);
	rec.probe = p->name;
	details[nd++] = st_kv_uint("count", count);
	details[nd++] = st_kv_str("reason", st_loss_reason_name(reason));
	if (with_range && p->range_known) {
		details[nd++] = st_kv_uint("first_kseq", p->lost_first_kseq);
		details[nd++] = st_kv_uint("last_kseq", p->lost_last_kseq);
		/* fewer than count when notices overflowed the kernel's queue */
		details[nd++] = st_kv_uint("calls_in_range", p->range_calls);
	}
	rec.details = details;
	rec.ndetails = nd;
	if (agent_log_append(a, &rec))
		return -1;
	p->lost_recorded += count;
	/* refused records were counted when the log refused them */
	if (reason != ST_LOSS_WRITE_FAILED)
		a->acct.lost[p - a->probes][reason] += count;
	return 0;
}

void agent_settle_lost_events(struct agent *a, const struct st_lost_event *le, int n)
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

bool agent_thread_never_alive(uint32_t tgid, uint32_t tid)
{
	(void)tgid;
	(void)tid;
	return false;
}

bool agent_thread_alive(uint32_t tgid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u", tgid, tid);
	return access(path, F_OK) == 0;
}

void agent_account_losses(struct agent *a, uint64_t now)
{
	struct st_probe_counters k;
	uint64_t kernel_lost, lost;
	uint32_t i;
	bool down;

	agent_wire_account(a, now);
	for (i = 0; i < a->nprobes; i++) {
		struct probe_rt *p = &a->probes[i];

		if (!p->attached || st_capture_counters(a->capture, i, &k))
			continue;
		kernel_lost = k.calls_lost - a->acct.calls_lost_seen[i];
		lost = kernel_lost + p->user_lost;
		if (lost) {
			/* away = the kernel saw the agent's heartbeat go stale */
			down = k.rb_full_agent_down > p->seen.rb_full_agent_down;
			if (record_loss(a, p, lost,
					down ? ST_LOSS_AGENT_DOWN : ST_LOSS_RINGBUF_FULL,
					true, now) == 0) {
				a->acct.calls_lost_seen[i] = k.calls_lost;
				p->user_lost = 0;
				p->range_known = false;
				p->range_calls = 0;
			}
		}
		if (p->write_failed_pending &&
		    record_loss(a, p, p->write_failed_pending, ST_LOSS_WRITE_FAILED, false,
				now) == 0)
			p->write_failed_pending = 0;
		p->seen = k;
	}
}

/* ---- restart: calls already in the log ---- */

/*
 * The last calls of the log, skipped when read again after a crash: the
 * calls of one commit interval must fit (65,536 did not once the emulated
 * probe sites stopped paying a wakeup per event: 200,000 calls a second).
 * calloc'd, so only the pages of the calls collected are ever touched.
 */
#define RECENT_CALLS (1u << 21)

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
void agent_skip_recorded_calls(struct agent *a)
{
	struct st_scan_window w = { .since_ns = 0, .live = false };
	struct st_scan_result res;
	struct recent_calls *rc;
	char err[ST_ERR_LEN];
	uint64_t i, first, now, back;

	if (!a->maps_reused)
		return;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return;
	rc->a = a;
	/*
	 * Only the tail matters: the calls written after the predecessor's last
	 * commit, just before it died. Its last status snapshot says when that
	 * was, so older segments are not read (start-up stays independent of
	 * the log's size); without a snapshot every segment is read.
	 */
	if (a->away_ms >= 0) {
		now = st_clock_ns(CLOCK_REALTIME);
		back = (uint64_t)a->away_ms * 1000000ull + a->commit_every_ns + 2000000000ull;
		w.since_ns = now > back ? now - back : 0;
	}
	if (st_scan_stream_window(a->cfg.state_dir, ST_STREAM_DECISION, &w, collect_recent, rc,
				  &res, err, sizeof(err)) < 0)
		fprintf(stderr, "sealtrace: reading back recent calls: %s\n", err);
	first = rc->n > RECENT_CALLS ? rc->n - RECENT_CALLS : 0;
	for (i = first; i < rc->n; i++)
		st_pairing_skip(a->pairing, rc->ring[i % RECENT_CALLS].probe_id,
				rc->ring[i % RECENT_CALLS].kseq);
	free(rc);
}

/* ---- draining the ring ---- */

#define LOST_BATCH 4096

/* One round: lost returns first (their entries precede them), then the ring. */
int agent_consume_round(struct agent *a, int timeout_ms)
{
	static struct st_lost_event lost[LOST_BATCH];
	int nlost, n;

	nlost = st_capture_lost_events(a->capture, lost, LOST_BATCH);
	n = st_capture_poll(a->capture, nlost ? 0 : timeout_ms);
	agent_settle_lost_events(a, lost, nlost);
	if (n >= 0)
		n += agent_wire_poll(a);
	return n < 0 ? n : n + nlost;
}

void agent_drain(struct agent *a)
{
	/* until a round finds nothing: everything the kernel handed over is read */
	while (agent_consume_round(a, 0) > 0)
		;
}
