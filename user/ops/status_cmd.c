// SPDX-License-Identifier: Apache-2.0
/*
 * `sealtrace status`: the completeness report an SRE's CronJob or alert
 * runs. It reads the snapshot the agent writes once per interval
 * (<state-dir>/agent/status.json) and turns it into a table or JSON and an
 * exit status; it never talks to the agent, so it works while the agent is
 * wedged or gone, which is exactly when it matters.
 *
 * The snapshot's counters are cumulative since the probes were attached,
 * so with --since the loss verdict comes from the log instead: the loss
 * records written since TIME (status_window.h). One old loss then fails
 * the checks that cover it, not every check after it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/base/cli.h"
#include "sealtrace/base/json.h"
#include "sealtrace/ops/status.h"
#include "sealtrace/ops/status_window.h"

#define MAX_REASONS 8

struct status_opts {
	const char *state_dir;
	bool json;
	bool has_since;
	uint64_t since_ns;
};

struct verdict {
	int code;
	const char *name;
	size_t nreasons;
	char reasons[MAX_REASONS][320];
	/* what the report says without failing on it (cumulative figures
	 * when the window decides) */
	size_t nnotes;
	char notes[MAX_REASONS][320];
};

static void status_usage(FILE *f)
{
	fprintf(f,
"usage: sealtrace status --state-dir DIR [--since TIME] [--json]\n"
"\n"
"Completeness report per target and probe, from the snapshot the agent\n"
"writes every interval to DIR/agent/status.json: attach state, kernel hits,\n"
"persisted calls, lost calls (by reason), coverage, calls in flight, last\n"
"event; plus last checkpoint age, canary and agent pid/uptime; and, when\n"
"the agent captures http: targets on the wire, a wire: block (exchanges\n"
"recorded, incomplete, excluded; requests, events and bytes lost; untracked\n"
"connections; bytes not captured; wire ring buffer); and discovery events\n"
"(exec, exit, library open, model read) lost when their ring was full.\n"
"These counters are cumulative since the probes were attached.\n"
"\n"
"  -d, --state-dir DIR  the agent's state directory (required)\n"
"  -s, --since TIME     judge losses in a window: \"were calls lost since TIME?\"\n"
"                       TIME is a duration ago (30s, 15m, 2h, 1d), unix seconds,\n"
"                       or UTC YYYY-MM-DDTHH:MM:SSZ. The log itself is read back:\n"
"                       loss records (system stream) and inference/incomplete\n"
"                       records (decision stream) with timestamp_utc >= TIME,\n"
"                       per probe and loss reason (columns WIN-*). Segments last\n"
"                       written more than 60 s before TIME are skipped unread\n"
"                       (by file mtime: segments are only appended to); the\n"
"                       rest is read record by record, with progress on stderr\n"
"                       when that takes long. The cumulative figures are shown\n"
"                       too, as notes. Probes with neither an event nor a\n"
"                       window record since TIME are not listed.\n"
"  -j, --json           machine-readable report on stdout\n"
"  -h, --help           this text\n"
"\n"
"Coverage = persisted / (hits - in flight): a call still running is not a loss.\n"
"\n"
"Exit status:\n"
"  0  every probe complete: no lost call (100 %% coverage once in-flight\n"
"     calls return); with --since: no loss record since TIME\n"
"  1  some probe lost calls (coverage below 100 %%), or hits exceed\n"
"     persisted + lost + in flight, or wire capture lost events, left\n"
"     connections untracked, could not attribute TLS calls or write\n"
"     records, or lost discovery events (exec, exit, library opens,\n"
"     model reads); with --since: a loss record since TIME\n"
"     (cumulative losses are then notes, not failures)\n"
"  2  agent or probes not running: the snapshot is older than 3 x its\n"
"     interval, the agent pid is not alive, the canary failed, a probe is\n"
"     not attached, there are no probes and no wire capture; or\n"
"     status.json is missing or corrupt; with --since, the log cannot be\n"
"     read back (run verify); or a usage error\n");
}

/* ------------------------------------------------------------------ */
/* Arguments                                                           */
/* ------------------------------------------------------------------ */


/* "30s", "15m", "2h", "1d", unix seconds, or "YYYY-MM-DDTHH:MM:SSZ". */
static int parse_since(const char *arg, uint64_t now_ns, uint64_t *out)
{
	static const struct { char c; uint64_t s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	unsigned long long v;
	struct tm tm = { 0 };
	const char *end;
	char *e;
	size_t i;

	if (arg[0] >= '0' && arg[0] <= '9') {
		errno = 0;
		v = strtoull(arg, &e, 10);
		if (errno)
			return -1;
		/* unix seconds: the bound is the ns clock's, not a day's */
		if (!*e) {
			if (v > UINT64_MAX / 1000000000ull)
				return -1;
			*out = v * 1000000000ull;
			return 0;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (e[0] == units[i].c && !e[1]) {
				if (v > UINT64_MAX / 1000000000ull / units[i].s)
					return -1;
				v *= units[i].s * 1000000000ull;
				*out = v > now_ns ? 0 : now_ns - v;
				return 0;
			}
		}
	}
	end = strptime(arg, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || strcmp(end, "Z"))
		return -1;
	v = (unsigned long long)timegm(&tm);
	*out = v * 1000000000ull;
	return 0;
}

/* 0 to run, else the exit status to return (help or usage error). */
static int parse_status_args(int argc, char **argv, struct status_opts *o)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = {
		.verb = "status", .shortopts = "d:s:jh", .opts = opts, .usage = status_usage,
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd':
			o->state_dir = optarg;
			break;
		case 's':
			if (parse_since(optarg, st_realtime_ns(), &o->since_ns)) {
				fprintf(stderr, "sealtrace status: bad --since '%s' "
					"(30s, 15m, 2h, 1d, unix seconds or "
					"YYYY-MM-DDTHH:MM:SSZ)\n", optarg);
				return ST_EXIT_USAGE;
			}
			o->has_since = true;
			break;
		case 'j':
			o->json = true;
			break;
		case ST_CLI_STOP:
			return cli.status == ST_EXIT_OK ? -1 : cli.status;
		}
	}
	if (!o->state_dir)
		return st_cli_usage_error(&cli, "--state-dir is required");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading the snapshot                                                */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Verdict                                                             */
/* ------------------------------------------------------------------ */

static void add_reason(struct verdict *v, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The worst code wins; reasons accumulate so the report says everything. */
static void add_reason(struct verdict *v, int code, const char *fmt, ...)
{
	va_list ap;

	if (code > v->code)
		v->code = code;
	if (v->nreasons == MAX_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(v->reasons[v->nreasons++], sizeof(v->reasons[0]), fmt, ap);
	va_end(ap);
}

static void add_note(struct verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_note(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	if (v->nnotes == MAX_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(v->notes[v->nnotes++], sizeof(v->notes[0]), fmt, ap);
	va_end(ap);
}

static bool pid_alive(int pid)
{
	if (pid <= 0)
		return false;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Calls neither persisted, lost nor in flight: the invariant is broken. */
static uint64_t unaccounted(const struct st_probe_status *p)
{
	uint64_t known = p->persisted + st_probe_lost_total(p) + p->in_flight;

	return p->hits > known ? p->hits - known : 0;
}

static void check_agent(const struct st_status *s, uint64_t now, struct verdict *v)
{
	uint64_t age = now > s->updated_ns ? now - s->updated_ns : 0;
	uint64_t limit = st_status_stale_after_ns(s);

	if (age > limit)
		add_reason(v, ST_EXIT_USAGE, "agent not running: snapshot is %.1f s old "
			   "(limit 3 x interval = %.1f s)", (double)age / 1e9, (double)limit / 1e9);
	if (!pid_alive(s->pid))
		add_reason(v, ST_EXIT_USAGE, "agent not running: pid %d is not alive", s->pid);
	if (!s->canary_ok)
		add_reason(v, ST_EXIT_USAGE, "canary failed: kernel -> ring buffer -> agent "
			   "path not alive");
	/* an http: target has no uprobes: wire capture is what runs */
	if (s->nprobes == 0 && !s->has_wire)
		add_reason(v, ST_EXIT_USAGE, "no probes in the snapshot");
}

/*
 * Wire capture losses are the figures of its loss records: any of them
 * fails the check like a probe's loss (and, with --since, is a note; the
 * window judges the loss records themselves).
 */
static void check_wire(const struct st_wire_status *w, bool windowed, struct verdict *v)
{
	char what[256];

	if (!w->events_lost && !w->connections_untracked && !w->tls_unattributed &&
	    !w->write_failed)
		return;
	snprintf(what, sizeof(what), "wire capture lost %" PRIu64 " requests (%" PRIu64
		 " events, %" PRIu64 " bytes: ring full), %" PRIu64 " connections untracked, %"
		 PRIu64 " TLS calls unattributed, %" PRIu64 " records not written",
		 w->requests_lost, w->events_lost, w->bytes_lost, w->connections_untracked,
		 w->tls_unattributed, w->write_failed);
	if (windowed)
		add_note(v, "cumulative: %s", what);
	else
		add_reason(v, ST_EXIT_FAIL, "%s", what);
}

/* Discovery events lost (exec, exit, library open, model read): like a loss. */
static void check_lifecycle(const struct st_status *s, bool windowed, struct verdict *v)
{
	char what[160];

	if (!s->lifecycle_lost)
		return;
	snprintf(what, sizeof(what), "lifecycle lost %" PRIu64 " discovery events (exec, exit, "
		 "library open or model read: ring full)", s->lifecycle_lost);
	if (windowed)
		add_note(v, "cumulative: %s", what);
	else
		add_reason(v, ST_EXIT_FAIL, "%s", what);
}

/*
 * Cumulative losses fail the check unless a window decides (--since):
 * then they happened at some time since the probes were attached, maybe
 * long before the window, and are only noted.
 */
static void check_probe(const struct st_probe_status *p, bool windowed, struct verdict *v)
{
	const char *name = p->probe[0] ? p->probe : p->target;
	uint64_t lost = st_probe_lost_total(p), gap = unaccounted(p);

	if (!p->attached)
		add_reason(v, ST_EXIT_USAGE, "probe %s not attached", name);
	if (lost && windowed)
		add_note(v, "cumulative: probe %s lost %" PRIu64 " of %" PRIu64
			 " calls since attached (coverage %.2f %%)", name, lost, p->hits,
			 st_probe_coverage(p));
	else if (lost)
		add_reason(v, ST_EXIT_FAIL, "probe %s lost %" PRIu64 " of %" PRIu64
			   " calls (coverage %.2f %%)", name, lost, p->hits, st_probe_coverage(p));
	if (gap && windowed)
		add_note(v, "cumulative: probe %s: %" PRIu64 " calls unaccounted "
			 "(hits > persisted + lost + in flight)", name, gap);
	else if (gap)
		add_reason(v, ST_EXIT_FAIL, "probe %s: %" PRIu64 " calls unaccounted "
			   "(hits > persisted + lost + in flight)", name, gap);
}

/* Every loss record in the window fails it, whatever its count or reason. */
static void check_window(const struct st_window *w, struct verdict *v)
{
	char since[ST_TIME_LEN + 1];
	const struct st_window_probe *p;
	size_t i;

	st_time_format(w->since_ns, since);
	for (i = 0; i < w->nprobes; i++) {
		p = &w->probes[i];
		if (p->loss_records)
			add_reason(v, ST_EXIT_FAIL, "probe %s lost %" PRIu64 " calls since %s "
				   "(%" PRIu64 " loss record%s)", p->probe, st_window_lost_total(p),
				   since, p->loss_records, p->loss_records == 1 ? "" : "s");
	}
}

/*
 * w is the window when --since was given and the log could be read;
 * werr says why it could not (the window is then unknown: exit 2).
 */
static void judge(const struct st_status *s, const struct st_window *w, const char *werr,
		  uint64_t now, struct verdict *v)
{
	static const char *const names[] = { "complete", "incomplete", "not_running" };
	size_t i;

	memset(v, 0, sizeof(*v));
	check_agent(s, now, v);
	if (werr)
		add_reason(v, ST_EXIT_USAGE, "window unknown: %s", werr);
	for (i = 0; i < s->nprobes; i++)
		check_probe(&s->probes[i], w || werr, v);
	if (s->has_wire)
		check_wire(&s->wire, w || werr, v);
	check_lifecycle(s, w || werr, v);
	if (w)
		check_window(w, v);
	v->name = names[v->code];
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* "4.2s ago", "12m03s ago", "3h07m ago", "2d05h ago"; "never" for 0. */
static void fmt_age(char *buf, size_t len, uint64_t then_ns, uint64_t now_ns)
{
	uint64_t ns = now_ns > then_ns ? now_ns - then_ns : 0, s = ns / 1000000000ull;

	if (then_ns == 0)
		snprintf(buf, len, "never");
	else if (s < 120)
		snprintf(buf, len, "%.1fs ago", (double)ns / 1e9);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s ago", s / 60, s % 60);
	else if (s < 172800)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m ago", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h ago", s / 86400, s / 3600 % 24);
}

/* Floored to 0.01 %, so 99.999 % never prints as 100.00 %. */
static void fmt_coverage(char *buf, size_t len, const struct st_probe_status *p)
{
	uint64_t settled = p->hits > p->in_flight ? p->hits - p->in_flight : 0;
	unsigned __int128 bp;

	/* same base as st_probe_coverage: calls still running are not counted */
	if (settled == 0) {
		snprintf(buf, len, "100.00%%");
		return;
	}
	bp = (unsigned __int128)p->persisted * 10000 / settled;
	if (bp > 10000)
		bp = 10000;
	snprintf(buf, len, "%" PRIu64 ".%02" PRIu64 "%%", (uint64_t)(bp / 100),
		 (uint64_t)(bp % 100));
}

/* What one run reports: the snapshot, the window (with --since) and the verdict. */
struct report {
	const struct status_opts *o;
	const struct st_status *s;
	const struct st_window *w;	/* NULL: no --since, or the log unreadable */
	const struct verdict *v;
	uint64_t now;
};

static bool in_snapshot(const struct st_status *s, const char *probe)
{
	size_t i;

	for (i = 0; i < s->nprobes; i++)
		if (!strcmp(s->probes[i].probe, probe))
			return true;
	return false;
}

/* A probe with a record in the window is listed even when its last event is older. */
static bool probe_shown(const struct report *rp, const struct st_probe_status *p)
{
	if (!rp->o->has_since)
		return true;
	if (p->last_event_ns && p->last_event_ns >= rp->o->since_ns)
		return true;
	return rp->w && st_window_probe(rp->w, p->probe);
}

static void print_lost_detail(const char *label, const uint64_t lost[ST_LOSS__COUNT])
{
	int r;

	printf("    %s:", label);
	for (r = 0; r < ST_LOSS__COUNT; r++)
		printf(" %s=%" PRIu64, st_loss_reason_name(r), lost[r]);
}

static void print_window_detail(const struct st_window_probe *wp)
{
	if (!wp || !wp->loss_records)
		return;
	print_lost_detail("lost since --since by reason", wp->lost);
	if (wp->lost_other)
		printf(" other=%" PRIu64, wp->lost_other);
	printf(" (%" PRIu64 " loss record%s)\n", wp->loss_records,
	       wp->loss_records == 1 ? "" : "s");
}

/* The window columns, "-" where the log holds nothing of the probe. */
static void print_window_cells(const struct st_window_probe *wp)
{
	if (wp)
		printf(" %13" PRIu64 " %10" PRIu64, wp->persisted, st_window_lost_total(wp));
	else
		printf(" %13s %10s", "0", "0");
}

static void print_probe_row(const struct report *rp, const struct st_probe_status *p)
{
	const struct st_window_probe *wp = rp->w ? st_window_probe(rp->w, p->probe) : NULL;
	char cov[32], age[32];

	fmt_coverage(cov, sizeof(cov), p);
	fmt_age(age, sizeof(age), p->last_event_ns, rp->now);
	printf("%-16s %-32s %-8s", p->target, p->probe, p->attached ? "yes" : "NO");
	if (rp->w)
		print_window_cells(wp);
	printf(" %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %9s %9" PRIu64 "  %s\n",
	       p->hits, p->persisted, st_probe_lost_total(p), cov, p->in_flight, age);
	print_window_detail(wp);
	if (st_probe_lost_total(p)) {
		print_lost_detail(rp->w ? "lost in total by reason" : "lost by reason", p->lost);
		printf("\n");
	}
}

/* A probe the window's records name but the snapshot does not (dropped, "pinned:<id>"). */
static void print_window_only_row(const struct st_window_probe *wp)
{
	printf("%-16s %-32s %-8s", "-", wp->probe, "-");
	print_window_cells(wp);
	printf(" %12s %12s %10s %9s %9s  %s\n", "-", "-", "-", "-", "-", "-");
	print_window_detail(wp);
}

static void print_window_head(const struct st_window *w)
{
	const struct st_window_scan *sys = &w->scan[ST_STREAM_SYSTEM];
	const struct st_window_scan *dec = &w->scan[ST_STREAM_DECISION];
	char since[ST_TIME_LEN + 1];

	st_time_format(w->since_ns, since);
	printf("window: since %s, from the log: system %" PRIu64 " records read in %" PRIu64
	       " segments (%" PRIu64 " skipped), decision %" PRIu64 " records read in %" PRIu64
	       " segments (%" PRIu64 " skipped)\n", since, sys->records, sys->segments_read,
	       sys->segments_skipped, dec->records, dec->segments_read, dec->segments_skipped);
	printf("WIN-PERSISTED, WIN-LOST: records since then in the log; HITS .. IN-FLIGHT: "
	       "cumulative since the probes were attached\n\n");
	printf("%-16s %-32s %-8s %13s %10s %12s %12s %10s %9s %9s  %s\n", "TARGET", "PROBE",
	       "ATTACHED", "WIN-PERSISTED", "WIN-LOST", "HITS", "PERSISTED", "LOST", "COVERAGE",
	       "IN-FLIGHT", "LAST EVENT");
}

static void print_agent_head(const struct report *rp)
{
	const struct st_status *s = rp->s;
	char age[32], up[32];

	fmt_age(up, sizeof(up), s->started_ns, rp->now);
	fmt_age(age, sizeof(age), s->updated_ns, rp->now);
	printf("agent: pid %d (%s), started %s, snapshot %s, node %s\n", s->pid,
	       pid_alive(s->pid) ? "alive" : "NOT ALIVE", up, age, s->node_id);
	fmt_age(age, sizeof(age), s->last_checkpoint_ns, rp->now);
	printf("last checkpoint: %s   canary: %s   ring buffer: %" PRIu64 " / %" PRIu64
	       " bytes\n", age, s->canary_ok ? "ok" : "FAILED", s->ringbuf_used, s->ringbuf_size);
	printf("chain seq: decision %" PRIu64 ", system %" PRIu64 "   records: decision %"
	       PRIu64 ", system %" PRIu64 "\n", s->chain_seq[0], s->chain_seq[1],
	       s->events_persisted[0], s->events_persisted[1]);
	if (s->lifecycle_lost)
		printf("lifecycle: %" PRIu64 " discovery events lost (ring full)\n",
		       s->lifecycle_lost);
}

/* The wire section, when the agent runs wire capture: three lines. */
static void print_wire(const struct st_wire_status *w)
{
	printf("wire: exchanges %" PRIu64 " recorded, %" PRIu64 " incomplete, %" PRIu64
	       " excluded (not inferences), %" PRIu64 " not written; %" PRIu64
	       " connections open\n", w->recorded, w->incomplete, w->excluded,
	       w->write_failed, w->connections_open);
	printf("  lost: %" PRIu64 " requests, %" PRIu64 " events, %" PRIu64
	       " bytes (ring full); %" PRIu64 " connections untracked (table full); %" PRIu64
	       " TLS calls unattributed\n", w->requests_lost, w->events_lost, w->bytes_lost,
	       w->connections_untracked, w->tls_unattributed);
	printf("  not captured: %" PRIu64 " bytes unattributed, %" PRIu64 " in holes, %" PRIu64
	       " sendfile; kernel: %" PRIu64 " calls, %" PRIu64 " events; ring buffer: %"
	       PRIu64 " / %" PRIu64 " bytes\n", w->unattributed_bytes, w->hole_bytes,
	       w->sendfile_bytes, w->calls, w->events, w->ringbuf_used, w->ringbuf_size);
}

static void print_verdict(const struct verdict *v)
{
	size_t i;

	printf("\n%s", v->name);
	for (i = 0; i < v->nreasons; i++)
		printf("%s%s", i ? "; " : ": ", v->reasons[i]);
	printf("\n");
	for (i = 0; i < v->nnotes; i++)
		printf("note: %s\n", v->notes[i]);
}

static void print_table(const struct report *rp)
{
	const struct st_status *s = rp->s;
	size_t i, hidden = 0;

	print_agent_head(rp);
	if (s->has_wire)
		print_wire(&s->wire);
	if (rp->w) {
		print_window_head(rp->w);
	} else {
		printf("\n%-16s %-32s %-8s %12s %12s %10s %9s %9s  %s\n", "TARGET", "PROBE",
		       "ATTACHED", "HITS", "PERSISTED", "LOST", "COVERAGE", "IN-FLIGHT",
		       "LAST EVENT");
	}
	for (i = 0; i < s->nprobes; i++) {
		if (probe_shown(rp, &s->probes[i]))
			print_probe_row(rp, &s->probes[i]);
		else
			hidden++;
	}
	for (i = 0; rp->w && i < rp->w->nprobes; i++)
		if (!in_snapshot(s, rp->w->probes[i].probe))
			print_window_only_row(&rp->w->probes[i]);
	if (hidden)
		printf("(%zu probe%s without events since --since not shown)\n", hidden,
		       hidden == 1 ? "" : "s");
	print_verdict(rp->v);
}

static double age_s(uint64_t then_ns, uint64_t now_ns)
{
	return now_ns > then_ns ? (double)(now_ns - then_ns) / 1e9 : 0.0;
}

static void print_lost_json(const uint64_t lost[ST_LOSS__COUNT])
{
	int r;

	for (r = 0; r < ST_LOSS__COUNT; r++)
		printf("%s\"%s\":%" PRIu64, r ? "," : "", st_loss_reason_name(r), lost[r]);
}

static void print_probe_json(const struct st_probe_status *p, uint64_t now)
{
	printf("{\"target\":");
	st_json_fputs(stdout, p->target, sizeof(p->target));
	printf(",\"probe\":");
	st_json_fputs(stdout, p->probe, sizeof(p->probe));
	printf(",\"attached\":%s,\"hits\":%" PRIu64 ",\"persisted\":%" PRIu64
	       ",\"lost_total\":%" PRIu64 ",\"lost\":{", p->attached ? "true" : "false",
	       p->hits, p->persisted, st_probe_lost_total(p));
	print_lost_json(p->lost);
	printf("},\"in_flight\":%" PRIu64 ",\"truncated\":%" PRIu64 ",\"unaccounted\":%" PRIu64
	       ",\"coverage_percent\":%.17g,\"last_event_ns\":%" PRIu64, p->in_flight,
	       p->truncated, unaccounted(p), st_probe_coverage(p), p->last_event_ns);
	if (p->last_event_ns)
		printf(",\"last_event_age_s\":%.3f}", age_s(p->last_event_ns, now));
	else
		printf(",\"last_event_age_s\":null}");
}

static void print_strings_json(const char *key, const char (*v)[320], size_t n)
{
	size_t i;

	printf("\"%s\":[", key);
	for (i = 0; i < n; i++) {
		if (i)
			printf(",");
		st_json_fputs(stdout, v[i], sizeof(v[i]));
	}
	printf("]");
}

static void print_window_probe_json(const struct st_window_probe *wp)
{
	printf("{\"probe\":");
	st_json_fputs(stdout, wp->probe, sizeof(wp->probe));
	printf(",\"persisted\":%" PRIu64 ",\"loss_records\":%" PRIu64 ",\"lost_total\":%"
	       PRIu64 ",\"lost\":{", wp->persisted, wp->loss_records, st_window_lost_total(wp));
	print_lost_json(wp->lost);
	printf(",\"other\":%" PRIu64 "}}", wp->lost_other);
}

/* "window": the log's figures since --since; null when it could not be read. */
static void print_window_json(const struct st_window *w)
{
	char since[ST_TIME_LEN + 1];
	int st;
	size_t i;

	if (!w) {
		printf(",\"window\":null");
		return;
	}
	st_time_format(w->since_ns, since);
	printf(",\"window\":{\"since_ns\":%" PRIu64 ",\"since\":\"%s\",\"loss_records\":%" PRIu64
	       ",\"log\":{", w->since_ns, since, w->loss_records);
	for (st = 0; st < ST_STREAM__COUNT; st++)
		printf("%s\"%s\":{\"records_read\":%" PRIu64 ",\"segments_read\":%" PRIu64
		       ",\"segments_skipped\":%" PRIu64 "}", st ? "," : "",
		       st_stream_name((enum st_stream)st), w->scan[st].records,
		       w->scan[st].segments_read, w->scan[st].segments_skipped);
	printf("},\"probes\":[");
	for (i = 0; i < w->nprobes; i++) {
		if (i)
			printf(",");
		print_window_probe_json(&w->probes[i]);
	}
	printf("]}");
}

static void print_agent_json(const struct st_status *s, uint64_t now)
{
	printf(",\"agent\":{\"pid\":%d,\"alive\":%s,\"started_ns\":%" PRIu64
	       ",\"uptime_s\":%.3f,\"updated_ns\":%" PRIu64 ",\"snapshot_age_s\":%.3f"
	       ",\"interval_ns\":%" PRIu64 "},\"node_id\":", s->pid,
	       pid_alive(s->pid) ? "true" : "false", s->started_ns, age_s(s->started_ns, now),
	       s->updated_ns, age_s(s->updated_ns, now), s->interval_ns);
	st_json_fputs(stdout, s->node_id, sizeof(s->node_id));
	printf(",\"canary_ok\":%s,\"canary_last_ns\":%" PRIu64 ",\"last_checkpoint_ns\":%"
	       PRIu64, s->canary_ok ? "true" : "false", s->canary_last_ns, s->last_checkpoint_ns);
	if (s->last_checkpoint_ns)
		printf(",\"last_checkpoint_age_s\":%.3f", age_s(s->last_checkpoint_ns, now));
	else
		printf(",\"last_checkpoint_age_s\":null");
	printf(",\"chain_seq\":{\"decision\":%" PRIu64 ",\"system\":%" PRIu64 "}"
	       ",\"events_persisted\":{\"decision\":%" PRIu64 ",\"system\":%" PRIu64 "}"
	       ",\"ringbuf\":{\"size\":%" PRIu64 ",\"used\":%" PRIu64 "}",
	       s->chain_seq[0], s->chain_seq[1], s->events_persisted[0], s->events_persisted[1],
	       s->ringbuf_size, s->ringbuf_used);
	printf(",\"lifecycle_events_lost\":%" PRIu64, s->lifecycle_lost);
}

static void print_json(const struct report *rp)
{
	const struct st_status *s = rp->s;
	size_t i, shown = 0;

	printf("{\"exit\":%d,\"verdict\":\"%s\",\"verdict_basis\":\"%s\",", rp->v->code,
	       rp->v->name, rp->o->has_since ? "window" : "cumulative");
	print_strings_json("reasons", rp->v->reasons, rp->v->nreasons);
	printf(",");
	print_strings_json("notes", rp->v->notes, rp->v->nnotes);
	print_agent_json(s, rp->now);
	if (s->has_wire) {
		printf(",\"wire\":");
		st_wire_status_fputs(stdout, &s->wire);
	}
	if (rp->o->has_since) {
		printf(",\"since_ns\":%" PRIu64, rp->o->since_ns);
		print_window_json(rp->w);
	}
	printf(",\"probes\":[");
	for (i = 0; i < s->nprobes; i++) {
		if (!probe_shown(rp, &s->probes[i]))
			continue;
		if (shown++)
			printf(",");
		print_probe_json(&s->probes[i], rp->now);
	}
	printf("],\"probes_hidden\":%zu}\n", s->nprobes - shown);
}

static void print_unavailable(const struct status_opts *o, const char *err)
{
	fprintf(stderr, "sealtrace status: %s\n", err);
	if (!o->json)
		return;
	printf("{\"exit\":%d,\"verdict\":\"unavailable\",\"reasons\":[", ST_EXIT_USAGE);
	st_json_fputs(stdout, err, strlen(err) + 1);
	printf("]}\n");
}

/*
 * The window, or NULL with the reason in werr when the log cannot be read
 * back (a loss could hide in what was not read: the caller exits 2).
 */
static struct st_window *read_window(const struct status_opts *o, char *werr, size_t len)
{
	struct st_window *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(werr, len, "out of memory");
		return NULL;
	}
	/* the agent may be appending while we read: live */
	if (st_window_read(o->state_dir, o->since_ns, true, true, w, werr, len)) {
		st_window_free(w);
		free(w);
		return NULL;
	}
	return w;
}

static int report(const struct status_opts *o, const struct st_status *s)
{
	struct st_window *w = NULL;
	char werr[1024] = "";
	struct verdict v;
	struct report rp = { .o = o, .s = s, .v = &v };

	if (o->has_since)
		w = read_window(o, werr, sizeof(werr));
	rp.w = w;
	/* the window ends now: read the clock after the log */
	rp.now = st_realtime_ns();
	judge(s, w, o->has_since && !w ? werr : NULL, rp.now, &v);
	if (o->json)
		print_json(&rp);
	else
		print_table(&rp);
	if (w) {
		st_window_free(w);
		free(w);
	}
	return v.code;
}

int cmd_status(int argc, char **argv)
{
	struct status_opts o;
	struct st_status *s;
	char err[8192];
	int rc;

	rc = parse_status_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? ST_EXIT_OK : rc;
	s = calloc(1, sizeof(*s));
	if (!s) {
		fprintf(stderr, "sealtrace status: out of memory\n");
		return ST_EXIT_RUNTIME;
	}
	if (st_status_read(o.state_dir, s, err, sizeof(err))) {
		print_unavailable(&o, err);
		free(s);
		return ST_EXIT_USAGE;
	}
	rc = report(&o, s);
	free(s);
	return rc;
}
