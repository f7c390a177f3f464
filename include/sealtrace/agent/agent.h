/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own state, shared by the files that make up `sealtrace run`
 * (run.c: setup, loop, stop; agent_core.c: appending to the log;
 * agent_record.c: calls and losses to records, draining the ring;
 * agent_attach.c: probes and targets; agent_live.c: canary, heartbeats,
 * status, oversight). Internal to the agent: no other module includes it.
 */
#ifndef SEALTRACE_AGENT_H
#define SEALTRACE_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/capture/capture.h"
#include "sealtrace/config/config.h"
#include "sealtrace/capture/pairing.h"
#include "sealtrace/targets/lifecycle.h"
#include "sealtrace/log/log.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/ops/status.h"
#include "sealtrace/capture/symbols.h"
#include "sealtrace/targets/track.h"
#include "sealtrace/monitor/monmetrics.h"
#include "sealtrace/wire/wire_abi.h"

#define ST_REF_LEN 128
#define AGENT_MAX_WIRE_PIDS 4096

struct st_wire;
struct st_http;

/* What the agent keeps about one attached probe. */
struct probe_rt {
	char name[256];			/* "target:symbol", the record's probe field */
	const struct st_target_cfg *target;
	const struct st_probe_cfg *cfg;
	char path[4096];
	struct st_symbol sym;
	/* the kernel counters as last read (once a tick, by loss accounting) */
	struct st_probe_counters seen;
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
	char container_id[65];		/* a container's file: "" for the host's */
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
	const char *attach_container;	/* for probes attached now (tracker) */
	int oversight_fd;		/* -1: no oversight socket */
	char oversight_path[4200];
	uint64_t last_watchdog_ns;
	uint64_t last_retention_ns;	/* CLOCK_MONOTONIC; 0: not yet */
	int64_t tai_offset_ns;		/* CLOCK_TAI - CLOCK_REALTIME */
	uint64_t started_ns;
	int64_t away_ms;		/* since the previous agent's last snapshot; -1 unknown */
	uint64_t calls_recorded;
	uint64_t incomplete_recorded;
	uint64_t write_errors;
	uint64_t risk_recorded;		/* risk records written (monitor/risk.h) */
	struct st_mon_metrics mon;	/* decision counters for /metrics */
	/* HTTP targets (agent_wire.c) */
	struct st_wire *wire;
	struct st_http *http;
	struct { uint32_t pid; size_t target; } wire_pids[AGENT_MAX_WIRE_PIDS];
	size_t nwire_pids;
	struct wire_counters wire_seen;	/* kernel counters in loss records so far */
	uint64_t wire_recorded, wire_incomplete, wire_excluded, wire_unowned,
		 wire_write_failed;
	/* the wire section at agent_wire_close, for the last status snapshot */
	bool wire_closed;
	struct st_wire_status wire_last;
	char err[ST_ERR_LEN];
};

/* agent_core.c: what every part of the agent uses */
int agent_log_append(struct agent *a, const struct st_record *rec);

/* agent_record.c: calls and losses to records */
void agent_on_call(void *ctx, const struct st_call *call);
void agent_note_risk_rules(struct agent *a);
int agent_on_event(void *ctx, const struct st_event *ev, size_t size, uint64_t pos);
void agent_on_skipped(void *ctx, uint32_t probe_id, uint64_t kseq, uint64_t pos);
void agent_settle_lost_events(struct agent *a, const struct st_lost_event *le, int n);
void agent_account_losses(struct agent *a, uint64_t now);
bool agent_thread_alive(uint32_t tgid, uint32_t tid);
bool agent_thread_never_alive(uint32_t tgid, uint32_t tid);
void agent_skip_recorded_calls(struct agent *a);
void agent_drain(struct agent *a);
int agent_consume_round(struct agent *a, int timeout_ms);

/* agent_attach.c: probes and targets */
int agent_attach_all(struct agent *a);
int agent_resolve_probe(const struct st_target_cfg *t, const struct st_probe_cfg *pc,
			const char *path, struct st_symbol *sym, char *err, size_t errlen);
void agent_record_probe_detached(struct agent *a, const struct probe_rt *p,
				 const char *reason);
bool agent_is_discovered(const struct st_target_cfg *t);
int agent_open_tracker(struct agent *a);
void agent_wait_rings(struct agent *a, int timeout_ms);
void agent_watch_targets(struct agent *a);

/* agent_wire.c: HTTP targets */
#define ST_WIRE_POLL_MS	10	/* the wire ring is drained at least this often */
int agent_wire_open(struct agent *a);
int agent_wire_wait_ms(const struct agent *a, int timeout_ms);
void agent_wire_process(void *ctx, int pid, size_t target, bool alive);
int agent_wire_poll(struct agent *a);
void agent_wire_account(struct agent *a, uint64_t now);
/* The snapshot's wire section; false (ws untouched) when there is no wire capture. */
bool agent_wire_status(struct agent *a, struct st_wire_status *ws);
void agent_wire_close(struct agent *a);

/* agent_live.c: canary, heartbeats, status, oversight */
void agent_attach_canary(struct agent *a);
void agent_publish_status(struct agent *a, uint64_t now);
void agent_record_heartbeat(struct agent *a, uint64_t now);
int64_t agent_away_ms(const struct agent *a, uint64_t now);
void agent_record_agent(struct agent *a, enum st_event_type type, const char *reason);
void agent_print_summary(struct agent *a);
void agent_start_metrics(struct agent *a);
void agent_start_oversight(struct agent *a);
void agent_stop_oversight(struct agent *a);
void agent_on_oversight(void *ctx, const struct st_oversight_req *req, char *reply,
			size_t replylen);

/* The canary's probed function: its symbol name is what the agent attaches to. */
int sealtrace_canary(uint64_t token);

#endif /* SEALTRACE_AGENT_H */
