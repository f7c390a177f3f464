// SPDX-License-Identifier: Apache-2.0
/*
 * run: the agent. Wires the stages together in one direction:
 *
 *   capture (BPF ring buffer) -> pairing (pair entry/return)
 *     -> pseudonymise (HMAC refs, raw bytes dropped) -> record
 *     -> log (chain, Merkle, checkpoints, segment store)
 *
 * Single-threaded on purpose: one loop polls the ring buffer, turns calls
 * into records and ticks the log, so the order of records is the order the
 * consumer saw, and a clean stop can drain everything before the final
 * checkpoint.
 *
 * This file holds the CLI, setup, the loop and the stop; the rest of the
 * agent is in agent_record.c, agent_attach.c and agent_live.c (agent.h).
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
#include "sealtrace/targets/discover.h"
#include "sealtrace/targets/lifecycle.h"
#include "sealtrace/log/log.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/ops/metrics.h"
#include "sealtrace/log/seal.h"
#include "sealtrace/ops/status.h"
#include "sealtrace/capture/symbols.h"
#include "sealtrace/targets/track.h"

#include "sealtrace/agent/agent.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
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
		.epoch_seconds = a->cfg.checkpoint.epoch_seconds,
		.writer_thread = true,	/* compression on the second core */
	};
	char warn[ST_ERR_LEN + 256];

	if (st_config_retention_warning(&a->cfg, warn, sizeof(warn)))
		fprintf(stderr, "sealtrace: warning: %s\n", warn);
	/* segments are sealed from this open on (and sealed ones read back) */
	if (a->cfg.encryption.key_file &&
	    st_seal_load(a->cfg.encryption.key_file, a->err, sizeof(a->err)))
		return -1;
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
	struct st_consume_ops ops = { .call = agent_on_call, .skipped = agent_on_skipped, .ctx = a };

	a->pairing = st_pairing_new(&ops);
	if (!a->pairing) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return -1;
	}
	return st_capture_open(&a->capture, &co, agent_on_event, a, &a->maps_reused, a->err,
			       sizeof(a->err));
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

/*
 * Calls open on threads that died without a thread-exit event reaching
 * us (the ring was full, or the kernel killed them fail-closed): their
 * events were written before they died, so after one drain what is still
 * open is final.
 */
static void reap_dead_threads(struct agent *a)
{
	st_pairing_reap_mark(a->pairing, agent_thread_alive);
	agent_drain(a);
	st_pairing_reap_settle(a->pairing, st_clock_ns(CLOCK_TAI));
}

/* Every retention.check_seconds (and once at start): purge what expired. */
static void retention(struct agent *a)
{
	uint64_t days[ST_STREAM__COUNT], mono = st_clock_ns(CLOCK_MONOTONIC);
	struct st_retain_report rep;
	char err[ST_ERR_LEN];
	int i;

	if (a->last_retention_ns &&
	    mono - a->last_retention_ns < a->cfg.retention.check_seconds * 1000000000ull)
		return;
	a->last_retention_ns = mono;
	days[ST_STREAM_DECISION] = a->cfg.retention.decision_days;
	days[ST_STREAM_SYSTEM] = a->cfg.retention.system_days;
	if (st_log_retain(a->log, days, st_clock_ns(CLOCK_REALTIME), &rep, err,
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
		agent_watch_targets(a);
		a->last_watchdog_ns = now;
	}

	a->tai_offset_ns = st_tai_offset_ns();	/* leap seconds change it */
	st_capture_heartbeat(a->capture, st_clock_ns(CLOCK_TAI));
	agent_account_losses(a, now);
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
		agent_record_heartbeat(a, now);
		a->last_heartbeat_ns = now;
	}
	agent_publish_status(a, now);
}

static int loop(struct agent *a, uint64_t duration_ns)
{
	uint64_t now, mono, last_tick = 0;
	uint64_t used, size = st_capture_ringbuf_size(a->capture);

	while (!stop_requested) {
		if (a->tracker)
			agent_wait_rings(a, 100);
		if (agent_consume_round(a, a->tracker ? 0 : agent_wire_wait_ms(a, 100)) < 0 &&
		    errno != EINTR)
			break;
		st_oversight_serve(a->oversight_fd, agent_on_oversight, a);
		if (a->tracker)
			st_tracker_poll(a->tracker);
		now = st_clock_ns(CLOCK_REALTIME);
		mono = st_clock_ns(CLOCK_MONOTONIC);
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
 * so nothing new arrives, agent_drain, and record open calls as incomplete.
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
					agent_record_probe_detached(a, &a->probes[i], "detach");
			/* nothing may stay stopped once nobody will resume it */
			if (st_lifecycle_release_pinned(a->cfg.pin_dir) < 0)
				fprintf(stderr, "sealtrace: %s/lifecycle-held: %s\n", a->cfg.pin_dir,
					strerror(errno));
			if (st_capture_detach_all(a->capture, err, sizeof(err)))
				fprintf(stderr, "sealtrace: %s\n", err);
		}
		agent_drain(a);
		/* last exits and model hashes, while the log is open */
		st_tracker_close(a->tracker);
		a->tracker = NULL;
		if (a->detach_on_exit) {
			/* no return can be seen any more: open calls end here */
			st_pairing_flush(a->pairing);
			st_pairing_reap_mark(a->pairing, agent_thread_never_alive);
			st_pairing_reap_settle(a->pairing, st_clock_ns(CLOCK_TAI));
		}
		agent_account_losses(a, st_clock_ns(CLOCK_REALTIME));
		agent_wire_close(a);
		agent_print_summary(a);
	}
	if (a->log) {
		agent_record_agent(a, ST_ET_AGENT_STOP, reason);
		if (a->capture) {
			commit(a, st_clock_ns(CLOCK_MONOTONIC));
			/* status must show the calls this run recorded after its last tick */
			agent_publish_status(a, st_clock_ns(CLOCK_REALTIME));
		}
		if (st_log_close(a->log, a->err, sizeof(a->err))) {
			fprintf(stderr, "sealtrace: %s\n", a->err);
			rc = ST_EXIT_RUNTIME;
		}
		a->log = NULL;
	}
	st_tracker_close(a->tracker);
	agent_wire_close(a);
	st_metrics_stop(a->metrics);
	agent_stop_oversight(a);
	st_capture_close(a->capture);
	st_pairing_free(a->pairing);
	st_keyring_free(a->keys);
	st_seal_unload();
	st_config_free(&a->cfg);
	return rc;
}

static int check_config(const char *file, bool resolve)
{
	struct st_config cfg;
	struct st_symbol sym;
	char err[ST_ERR_LEN], host[4200];
	size_t ti, pi;
	int rc = ST_EXIT_OK;

	if (st_config_load(file, &cfg, err, sizeof(err))) {
		fprintf(stderr, "sealtrace: %s\n", err);
		return ST_EXIT_USAGE;
	}
	for (ti = 0; resolve && ti < cfg.ntargets; ti++) {
		/* a discovered target's file is only known once a process has it */
		if (agent_is_discovered(&cfg.targets[ti]))
			continue;
		/* the host's file, also from inside a container (/proc/1/root) */
		if (st_host_path(cfg.targets[ti].path, host, sizeof(host)))
			snprintf(host, sizeof(host), "%s", cfg.targets[ti].path);
		for (pi = 0; pi < cfg.targets[ti].nprobes; pi++) {
			if (agent_resolve_probe(&cfg.targets[ti], &cfg.targets[ti].probes[pi],
						host, &sym, err, sizeof(err))) {
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
	a->tai_offset_ns = st_tai_offset_ns();	/* leap seconds change it */
	/* records are made durable, and ring space handed back, at the fsync pace */
	a->commit_every_ns = (a->cfg.fsync.every_ms ? a->cfg.fsync.every_ms : 100) * 1000000ull;
	a->started_ns = st_clock_ns(CLOCK_REALTIME);
	if (st_keyring_load(&a->keys, a->cfg.keys_dir, a->err, sizeof(a->err)) ||
	    open_log(a) || open_capture(a)) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		shutdown_agent(a, "startup_failed");
		return ST_EXIT_RUNTIME;
	}
	if (a->maps_reused && st_capture_accounting_load(a->capture, &a->acct) == 0)
		a->counted_before = a->acct.counted_through;
	a->away_ms = agent_away_ms(a, st_clock_ns(CLOCK_REALTIME));
	st_mon_metrics_init(&a->mon, a->cfg.system_id);
	agent_record_agent(a, ST_ET_AGENT_START, NULL);
	agent_note_risk_rules(a);
	if (!detach_now && agent_wire_open(a)) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		shutdown_agent(a, "startup_failed");
		return ST_EXIT_RUNTIME;
	}
	if (!detach_now && agent_open_tracker(a)) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		shutdown_agent(a, "startup_failed");
		return ST_EXIT_RUNTIME;
	}
	rc = agent_attach_all(a);
	if (rc) {
		fprintf(stderr, "sealtrace: %s\n", a->err);
		/* a first start that fails leaves nothing pinned behind */
		if (!a->maps_reused)
			a->detach_on_exit = true;
		shutdown_agent(a, "attach_failed");
		return rc == -2 ? ST_EXIT_USAGE : ST_EXIT_RUNTIME;
	}
	agent_skip_recorded_calls(a);
	/* what accumulated while no agent ran is recorded before anything new */
	agent_drain(a);
	agent_account_losses(a, st_clock_ns(CLOCK_REALTIME));
	if (!detach_now) {
		agent_attach_canary(a);
		agent_start_metrics(a);
		agent_start_oversight(a);
	}
	st_log_flush(a->log, a->err, sizeof(a->err));
	/*
	 * A first snapshot now, not at the first tick: a busy ring can keep the
	 * loop from ticking for a while, and a successor's away_ms needs proof
	 * that this agent was alive.
	 */
	agent_publish_status(a, st_clock_ns(CLOCK_REALTIME));
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
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "run", .shortopts = "c:d:h", .opts = opts, .usage = usage };
	static struct agent agent;	/* large (probe table); one per process */
	struct agent *a = &agent;
	const char *config = NULL, *check = NULL, *ready_file = NULL;
	uint64_t duration_ns = 0;
	bool resolve = false;
	char *end;
	int c;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
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
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (check)
		return check_config(check, resolve);
	if (!config)
		return st_cli_usage_error(&cli, "--config FILE is required");
	return run_agent(a, config, duration_ns, ready_file, false);
}


static void detach_usage(FILE *f)
{
	fprintf(f, "usage: sealtrace detach --config FILE\n\n"
		"Uninstall: drain what the pinned ring buffer still holds into the\n"
		"log, record probe_detached for every probe, and remove every pinned\n"
		"map and link under the config's pin_dir. Stop the agent first.\n\n"
		"Exit status: 0 done, 2 usage/config error, 3 runtime error.\n");
}

int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = {
		.verb = "detach", .shortopts = "c:h", .opts = opts, .usage = detach_usage,
	};
	static struct agent agent;
	const char *config = NULL;
	int c;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (!config)
		return st_cli_usage_error(&cli, "--config FILE is required");
	return run_agent(&agent, config, 0, NULL, true);
}
