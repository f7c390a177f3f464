// SPDX-License-Identifier: Apache-2.0
/*
 * gen_log: drive the record pipeline without BPF, as `sealtrace run`
 * would: HMAC of synthetic input/output bytes (keys/keyring.h), then
 * st_log_append (record + chain + Merkle + gzip blocks + fsync policy +
 * checkpoints), st_log_tick every 256 events, st_log_close. Prints the
 * pipeline throughput (events/s and events/s per CPU-second) for
 * `make bench`, and builds the logs the tamper suite attacks.
 */
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sealtrace/keys/datakey.h"
#include "sealtrace/log/log.h"
#include "sealtrace/log/seal.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/retention.h"
#include "sealtrace/config/config.h"
#include "sealtrace/monitor/risk.h"

#define ART_V1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define ART_V2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

struct gen {
	uint64_t records, system_every, input_bytes, output_bytes;
	uint64_t start_ns, step_ns;
	const char *marker;
	const char *model_version;
	uint64_t rng;
	struct st_keyring *kr;
	struct st_log *log;
	char *in, *out;
	bool in_laid, out_laid;
	/* --inputs/--outputs: known bytes, line d % n for decision event d */
	struct lines { char **v; size_t n; char *text; } ins, outs;
	uint64_t decisions;
	/* --model-switch: a served model (v1, then v2 from that decision on) */
	bool models;
	uint64_t switch_at;
	int32_t pid;
	const char *version, *artifact;
	/* --scores: decision fields; --risk-config: rules over them */
	bool scores;
	struct st_config risk;
	uint64_t risk_records;
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds_of(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t next_rand(struct gen *g)
{
	/* xorshift64*: cheap synthetic bytes; their content does not matter */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 2685821657736338717ULL;
}

/*
 * Synthetic captured bytes: text laid down once, then a per-event number
 * (and the marker) stamped in, so every event's bytes differ while the
 * generator costs next to nothing next to the pipeline it measures.
 */
static void fill_text(struct gen *g, char *buf, size_t n, const char *marker,
		      bool *laid)
{
	static const char words[] = "the model answers what the user asks about credit ";
	size_t i, m = marker ? strlen(marker) : 0;
	uint64_t r = next_rand(g);
	char num[24];
	int k;

	if (!*laid) {
		for (i = 0; i < n; i++)
			buf[i] = words[i % (sizeof(words) - 1)];
		*laid = true;
	}
	k = snprintf(num, sizeof(num), "%016" PRIx64, r);
	if (n >= (size_t)k)
		memcpy(buf, num, (size_t)k);
	if (m && m + (size_t)k <= n)
		memcpy(buf + k + (size_t)(r % (n - m - (size_t)k + 1)), marker, m);
}

/* One input per line, without the newline; the lines point into l->text. */
static int load_lines(struct lines *l, const char *path)
{
	size_t cap = 0, len = 0, got;
	char *p, *nl, **grown;
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(l->text, cap);
			if (!p)
				break;
			l->text = p;
		}
		got = fread(l->text + len, 1, cap - len - 1, f);
		len += got;
	} while (got);
	fclose(f);
	if (!l->text)
		return -1;
	l->text[len] = '\0';
	for (p = l->text; p < l->text + len; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = l->text + len;
		*nl = '\0';
		grown = realloc(l->v, (l->n + 1) * sizeof(*grown));
		if (!grown)
			return -1;
		l->v = grown;
		l->v[l->n++] = p;
	}
	if (!l->n) {
		fprintf(stderr, "gen_log: %s: no lines\n", path);
		return -1;
	}
	return 0;
}

/* The captured bytes of decision event d: a known line, or synthetic. */
static void fill(struct gen *g, const struct lines *l, char *buf, size_t n,
		const char *marker, bool *laid, const char **bytes, size_t *len)
{
	if (l->n) {
		*bytes = l->v[g->decisions % l->n];
		*len = strlen(*bytes);
		return;
	}
	fill_text(g, buf, n, marker, laid);
	*bytes = buf;
	*len = n;
}

static int system_event(struct gen *g, uint64_t i, uint64_t ts)
{
	static const enum st_event_type types[] = {
		ST_ET_HEARTBEAT, ST_ET_MODEL_LOADED, ST_ET_PROBE_ATTACHED,
		ST_ET_LOSS, ST_ET_CONFIG_CHANGE, ST_ET_SYSTEM_ACTIVATION,
	};
	struct st_kv d[3];
	struct st_record r = {
		.timestamp_ns = ts, .pid = 4242, .comm = "llama-server",
		.input_len = -1, .output_len = -1, .duration_ns = -1, .details = d,
	};
	char err[512];

	r.type = types[(i / g->system_every) % (sizeof(types) / sizeof(types[0]))];
	if (g->models && (r.type == ST_ET_MODEL_LOADED || r.type == ST_ET_SYSTEM_ACTIVATION))
		r.type = ST_ET_HEARTBEAT;	/* the served model's records are exact */
	switch (r.type) {
	case ST_ET_LOSS:
		d[0] = (struct st_kv){ .key = "count", .kind = ST_KV_UINT, .v.u = 3 };
		d[1] = (struct st_kv){ .key = "probe", .kind = ST_KV_STR, .v.s = "llama_decode" };
		d[2] = (struct st_kv){ .key = "reason", .kind = ST_KV_STR, .v.s = "ringbuf_full" };
		r.ndetails = 3;
		break;
	case ST_ET_MODEL_LOADED:
		r.model_artifact = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
		break;
	case ST_ET_PROBE_ATTACHED:
		r.probe = "llama_decode";
		break;
	default:
		break;
	}
	if (st_log_append(g->log, &r, err, sizeof(err))) {
		fprintf(stderr, "gen_log: %s\n", err);
		return -1;
	}
	return 0;
}

/* One process serving a model: activation + model_loaded records. */
static int serve_model(struct gen *g, uint64_t ts, int32_t pid, const char *version,
		       const char *artifact, const char *path)
{
	struct st_kv d[4];
	struct st_record r;
	char err[512];

	st_record_init(&r, ST_ET_SYSTEM_ACTIVATION, ts);
	r.pid = pid;
	r.comm = "scorer";
	d[0] = st_kv_str("exe", "/usr/local/bin/scorer");
	d[1] = st_kv_str("reason", "exec");
	d[2] = st_kv_str("target", "scorer");
	r.details = d;
	r.ndetails = 3;
	if (st_log_append(g->log, &r, err, sizeof(err)))
		goto fail;
	st_record_init(&r, ST_ET_MODEL_LOADED, ts);
	r.pid = pid;
	r.comm = "scorer";
	r.model_version = version;
	r.model_artifact = artifact;
	d[0] = st_kv_str("path", path);
	d[1] = st_kv_str("sha256", artifact + 7);
	d[2] = st_kv_uint("size", 4096);
	d[3] = st_kv_str("target", "scorer");
	r.details = d;
	r.ndetails = 4;
	if (st_log_append(g->log, &r, err, sizeof(err)))
		goto fail;
	g->pid = pid;
	g->version = version;
	g->artifact = artifact;
	return 0;
fail:
	fprintf(stderr, "gen_log: %s\n", err);
	return -1;
}

/* A rolling update: the v1 process exits, a v2 process takes over. */
static int switch_model(struct gen *g, uint64_t ts)
{
	struct st_kv d[2];
	struct st_record r;
	char err[512];

	st_record_init(&r, ST_ET_SYSTEM_DEACTIVATION, ts);
	r.pid = g->pid;
	r.comm = "scorer";
	d[0] = st_kv_int("exit_code", 0);
	d[1] = st_kv_str("target", "scorer");
	r.details = d;
	r.ndetails = 2;
	if (st_log_append(g->log, &r, err, sizeof(err))) {
		fprintf(stderr, "gen_log: %s\n", err);
		return -1;
	}
	return serve_model(g, ts, g->pid + 101, "v2", ART_V2, "/models/scorer-v2.onnx");
}

/*
 * Decision d's fields: a score that walks through [0, 1) in steps of
 * 0.001 (so exactly 70 % of every 1,000 decisions score below 0.70) and
 * the class it implies; every 1,000th decision an unexpected class.
 */
static size_t decision_fields(uint64_t d, struct st_dval *f)
{
	double score = (double)((d * 7) % 1000) / 1000.0;
	const char *cls = score >= 0.7 ? "approve" : score >= 0.4 ? "refer" : "decline";

	if (d % 1000 == 999)
		cls = "escalate";
	f[0] = (struct st_dval){ .name = "confidence_score", .kind = ST_DVAL_NUM, .num = score };
	f[1] = (struct st_dval){ .name = "output_class", .kind = ST_DVAL_STR, .str = cls };
	return 2;
}

/* Append a decision with fields, then a risk record per rule that holds. */
static int scored_decision(struct gen *g, struct st_record *r)
{
	struct st_dval f[2];
	struct st_risk_hit hit;
	struct st_record rr;
	struct st_kv d[ST_RISK_DETAILS];
	char err[512], thr[256], id[ST_EVENT_ID_LEN + 1];
	size_t nf = decision_fields(g->decisions, f), i;
#ifdef ST_RECORD_MAX_DECISION
	struct st_kv dec[2] = {
		{ .key = "confidence_score", .kind = ST_KV_NUM, .v.d = f[0].num },
		{ .key = "output_class", .kind = ST_KV_STR, .v.s = f[1].str },
	};

	r->has_decision = true;
	r->decision = dec;
	r->ndecision = 2;
#endif
	if (st_log_append(g->log, r, err, sizeof(err))) {
		fprintf(stderr, "gen_log: %s\n", err);
		return -1;
	}
	g->decisions++;
	snprintf(id, sizeof(id), "%s", st_log_last_event_id(g->log, ST_STREAM_DECISION));
	for (i = 0; i < g->risk.nrisk_rules; i++) {
		if (!st_risk_eval(&g->risk.risk_rules[i], 1, f, nf, &hit, 1))
			continue;
		st_risk_record(&rr, d, &hit, id, r, thr, sizeof(thr));
		if (st_log_append(g->log, &rr, err, sizeof(err))) {
			fprintf(stderr, "gen_log: %s\n", err);
			return -1;
		}
		g->risk_records++;
	}
	return 0;
}

static int decision_event(struct gen *g, uint64_t i, uint64_t ts)
{
	char in_ref[ST_PSEUDO_REF_MAX], out_ref[ST_PSEUDO_REF_MAX], err[512];
	struct st_kv d[2] = {
		{ .key = "kseq", .kind = ST_KV_UINT, .v.u = i },
		{ .key = "input_truncated", .kind = ST_KV_BOOL, .v.b = true },
	};
	struct st_record r = {
		.type = i % 500 == 499 ? ST_ET_INCOMPLETE : ST_ET_INFERENCE,
		.timestamp_ns = ts, .pid = 4242, .tid = 4243 + (int32_t)(i % 4),
		.comm = "llama-server", .probe = "llama_decode",
		.model_version = g->model_version, .input_len = (int64_t)g->input_bytes,
		.output_len = -1, .duration_ns = -1, .details = d, .ndetails = 1,
	};

	const char *bytes;
	size_t len;

	if (g->models) {
		if (g->decisions == g->switch_at && g->switch_at && switch_model(g, ts))
			return -1;
		r.pid = g->pid;
		r.comm = "scorer";
		r.model_version = g->version;
		r.model_artifact = g->artifact;
	}
	/* the raw bytes live only here: HMAC'd and dropped */
	fill(g, &g->ins, g->in, g->input_bytes, g->marker, &g->in_laid, &bytes, &len);
	if (st_pseudo_ref(g->kr, bytes, len, in_ref, sizeof(in_ref)))
		goto hmac;
	r.input_hash = in_ref;
	r.input_len = (int64_t)len;
	if (i % 97 == 0)
		r.ndetails = 2;		/* now and then a capped capture */
	if (r.type == ST_ET_INFERENCE) {
		fill(g, &g->outs, g->out, g->output_bytes, NULL, &g->out_laid,
		     &bytes, &len);
		if (st_pseudo_ref(g->kr, bytes, len, out_ref, sizeof(out_ref)))
			goto hmac;
		r.output_reference = out_ref;
		r.output_len = (int64_t)len;
		r.duration_ns = 1000000 + (int64_t)(next_rand(g) % 50000000);
		r.has_ret = true;
		r.ret = 0;
	}
	if (g->scores)
		return scored_decision(g, &r);
	if (st_log_append(g->log, &r, err, sizeof(err))) {
		fprintf(stderr, "gen_log: %s\n", err);
		return -1;
	}
	g->decisions++;
	return 0;
hmac:
	fprintf(stderr, "gen_log: HMAC failed\n");
	return -1;
}

static int run(struct gen *g)
{
	char err[512];
	uint64_t i, ts;

	if (g->models && serve_model(g, g->start_ns, 4242, "v1", ART_V1, "/models/scorer-v1.onnx"))
		return -1;
	for (i = 0; i < g->records; i++) {
		ts = g->start_ns + i * g->step_ns;
		if (g->system_every && i % g->system_every == g->system_every - 1) {
			if (system_event(g, i, ts))
				return -1;
		} else if (decision_event(g, i, ts)) {
			return -1;
		}
		if (i % 256 == 255 &&
		    st_log_tick(g->log, now_ns(CLOCK_REALTIME), err, sizeof(err))) {
			fprintf(stderr, "gen_log: tick: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen_log --state-dir DIR --keys-dir DIR --records N [options]\n"
		"  --seg-records N     segment size in records (default 20000)\n"
		"  --seg-bytes N       segment size in compressed bytes (default 64 MiB)\n"
		"  --ckpt-records N    checkpoint every N records (default 10000)\n"
		"  --ckpt-seconds N    checkpoint every N seconds (default 0: off)\n"
		"  --fsync-ms N        fsync policy (default 0: every block)\n"
		"  --writer-thread     compress and write blocks on a second thread\n"
		"  --input-bytes N     captured input per event (default 1024)\n"
		"  --output-bytes N    captured output per event (default 256)\n"
		"  --system-every N    every Nth event is a system event (default 1000)\n"
		"  --marker STR        put STR into every captured input\n"
		"  --model-version S   model_version of the inferences (default llama-3-8b-q4)\n"
		"  --inputs FILE       captured inputs are FILE's lines (no newline), in turn:\n"
		"                      decision event d (0-based) gets line d %% lines\n"
		"  --outputs FILE      the same for outputs (incomplete events have none)\n"
		"  --start TIME        timestamp of the first event (default 2025-01-01)\n"
		"  --step-ns N         between events (default 1000000)\n"
		"  --seed N            synthetic bytes (default 1)\n"
		"  --system-id S --operator-id S --node-id S\n"
		"  --retain-decision-days N, --retain-system-days N\n"
		"                      after the events, run retention (st_log_retain) as\n"
		"                      the agent does, 0 keeping a stream forever\n"
		"  --retain-now TIME   the time retention counts from (default: now)\n"
		"  --epoch-seconds N   signing key epochs (log.h): a new key and a\n"
		"                      key_epoch record once the epoch is N s old\n"
		"  --data-key FILE     seal segments with AES-256-GCM under FILE's\n"
		"                      current data key (datakey.h), as the agent does\n"
		"                      with encryption.key_file\n"
		"  --model-switch N    a scorer process serving model v1 (activation and\n"
		"                      model_loaded records), replaced at decision N by a\n"
		"                      v2 process (deactivation, activation, model_loaded);\n"
		"                      decisions carry pid, model_version and model_artifact\n"
		"  --scores            decisions get fields confidence_score (decision d:\n"
		"                      (d*7 %% 1000)/1000) and output_class (approve >= 0.7,\n"
		"                      refer >= 0.4, else decline; escalate when d %% 1000 == 999)\n"
		"  --risk-config FILE  with --scores: the config's risk_rules make risk records\n"
		"With --records 0 an existing log is only reopened (and retention run).\n");
}

/* Retention as the agent's tick runs it; prints what it did. */
static int do_retain(struct st_log *log, const uint64_t days[ST_STREAM__COUNT],
		     const char *at)
{
	struct st_retain_report rep;
	uint64_t now = now_ns(CLOCK_REALTIME);
	char err[512];
	int rc, i;

	if (at && st_time_parse(at, &now)) {
		fprintf(stderr, "gen_log: --retain-now: '%s' is not a time\n", at);
		return -1;
	}
	rc = st_log_retain(log, days, now, &rep, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "gen_log: retention: %s\n", err);
		return -1;
	}
	for (i = 0; i < ST_STREAM__COUNT; i++)
		printf("gen_log: retention: %s: purged %" PRIu64 " segments, %" PRIu64
		       " records; oldest kept: %s\n", st_stream_name((enum st_stream)i),
		       rep.segments[i], rep.records[i],
		       st_purge_verdict_name((enum st_purge_verdict)rep.kept[i]));
	printf("gen_log: retention: %" PRIu64 " legal holds\n", rep.holds);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "keys-dir", required_argument, NULL, 'k' },
		{ "records", required_argument, NULL, 'n' },
		{ "seg-records", required_argument, NULL, 'S' },
		{ "seg-bytes", required_argument, NULL, 'B' },
		{ "ckpt-records", required_argument, NULL, 'C' },
		{ "ckpt-seconds", required_argument, NULL, 'T' },
		{ "fsync-ms", required_argument, NULL, 'F' },
		{ "input-bytes", required_argument, NULL, 'i' },
		{ "output-bytes", required_argument, NULL, 'o' },
		{ "system-every", required_argument, NULL, 'e' },
		{ "marker", required_argument, NULL, 'm' },
		{ "model-version", required_argument, NULL, 'V' },
		{ "inputs", required_argument, NULL, 'I' },
		{ "outputs", required_argument, NULL, 'O' },
		{ "start", required_argument, NULL, 's' },
		{ "step-ns", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 'r' },
		{ "system-id", required_argument, NULL, '1' },
		{ "operator-id", required_argument, NULL, '2' },
		{ "node-id", required_argument, NULL, '3' },
		{ "retain-decision-days", required_argument, NULL, 'D' },
		{ "retain-system-days", required_argument, NULL, 'Y' },
		{ "retain-now", required_argument, NULL, 'N' },
		{ "writer-thread", no_argument, NULL, 'W' },
		{ "data-key", required_argument, NULL, 'K' },
		{ "epoch-seconds", required_argument, NULL, 'E' },
		{ "model-switch", required_argument, NULL, 'M' },
		{ "scores", no_argument, NULL, 'c' },
		{ "risk-config", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_log_opts o = {
		.system_id = "credit-scoring", .operator_id = "example-bank",
		.node_id = "node-1", .seg_max_records = 20000,
		.seg_max_bytes = 64u << 20, .ckpt_every_records = 10000,
	};
	struct gen g = {
		.system_every = 1000, .input_bytes = 1024, .output_bytes = 256,
		.step_ns = 1000000, .rng = 1, .model_version = "llama-3-8b-q4",
	};
	const char *start = "2025-01-01", *ins = NULL, *outs = NULL;
	const char *retain_now = NULL, *data_key = NULL, *risk_cfg = NULL;
	struct st_datakeys *dk = NULL;
	uint64_t days[ST_STREAM__COUNT] = { 0 };
	bool retain = false;
	struct st_log_stats stats;
	double wall, cpu0, cpu, main0, main_cpu;
	uint64_t t0;
	char err[512], policy[32];
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o.state_dir = optarg; break;
		case 'k': o.keys_dir = optarg; break;
		case 'n': g.records = strtoull(optarg, NULL, 0); break;
		case 'S': o.seg_max_records = strtoull(optarg, NULL, 0); break;
		case 'B': o.seg_max_bytes = strtoull(optarg, NULL, 0); break;
		case 'C': o.ckpt_every_records = strtoull(optarg, NULL, 0); break;
		case 'T': o.ckpt_every_seconds = strtoull(optarg, NULL, 0); break;
		case 'F': o.fsync_every_ms = strtoull(optarg, NULL, 0); break;
		case 'i': g.input_bytes = strtoull(optarg, NULL, 0); break;
		case 'o': g.output_bytes = strtoull(optarg, NULL, 0); break;
		case 'e': g.system_every = strtoull(optarg, NULL, 0); break;
		case 'm': g.marker = optarg; break;
		case 'V': g.model_version = optarg; break;
		case 'I': ins = optarg; break;
		case 'O': outs = optarg; break;
		case 's': start = optarg; break;
		case 'p': g.step_ns = strtoull(optarg, NULL, 0); break;
		case 'r': g.rng = strtoull(optarg, NULL, 0) | 1; break;
		case '1': o.system_id = optarg; break;
		case '2': o.operator_id = optarg; break;
		case '3': o.node_id = optarg; break;
		case 'D':
			days[ST_STREAM_DECISION] = strtoull(optarg, NULL, 0);
			retain = true;
			break;
		case 'Y':
			days[ST_STREAM_SYSTEM] = strtoull(optarg, NULL, 0);
			retain = true;
			break;
		case 'N': retain_now = optarg; break;
		case 'W': o.writer_thread = true; break;
		case 'K': data_key = optarg; break;
		case 'E': o.epoch_seconds = strtoull(optarg, NULL, 0); break;
		case 'M':
			g.models = true;
			g.switch_at = strtoull(optarg, NULL, 0);
			break;
		case 'c': g.scores = true; break;
		case 'R': risk_cfg = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.state_dir || !o.keys_dir || st_time_parse(start, &g.start_ns)) {
		usage(stderr);
		return 2;
	}
	if ((ins && load_lines(&g.ins, ins)) || (outs && load_lines(&g.outs, outs)))
		goto out;
	if (risk_cfg && st_config_load(risk_cfg, &g.risk, err, sizeof(err))) {
		fprintf(stderr, "gen_log: %s\n", err);
		goto out;
	}
	g.in = malloc(g.input_bytes + 1);
	g.out = malloc(g.output_bytes + 1);
	if (!g.in || !g.out || st_keyring_load(&g.kr, o.keys_dir, err, sizeof(err))) {
		fprintf(stderr, "gen_log: %s\n", g.in && g.out ? err : "out of memory");
		goto out;
	}
	if (data_key && st_datakeys_load(&dk, data_key, err, sizeof(err))) {
		fprintf(stderr, "gen_log: %s\n", err);
		goto out;
	}
	st_seal_install(dk);
	cpu0 = cpu_seconds_of(RUSAGE_SELF);
	main0 = cpu_seconds_of(RUSAGE_THREAD);
	t0 = now_ns(CLOCK_MONOTONIC);
	if (st_log_open(&g.log, &o, err, sizeof(err))) {
		fprintf(stderr, "gen_log: %s\n", err);
		goto out;
	}
	if (run(&g) || (retain && do_retain(g.log, days, retain_now))) {
		st_log_close(g.log, err, sizeof(err));
		goto out;
	}
	st_log_get_stats(g.log, &stats);
	if (st_log_close(g.log, err, sizeof(err))) {
		fprintf(stderr, "gen_log: close: %s\n", err);
		goto out;
	}
	wall = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	cpu = cpu_seconds_of(RUSAGE_SELF) - cpu0;
	main_cpu = cpu_seconds_of(RUSAGE_THREAD) - main0;
	printf("gen_log: %" PRIu64 " events (%" PRIu64 " decision, %" PRIu64
	       " system incl. checkpoints) in %.3f s wall, %.3f s CPU\n",
	       g.records, stats.appended[ST_STREAM_DECISION],
	       stats.appended[ST_STREAM_SYSTEM], wall, cpu);
	if (o.fsync_every_ms)
		snprintf(policy, sizeof(policy), "%" PRIu64 " ms", o.fsync_every_ms);
	else
		snprintf(policy, sizeof(policy), "block");
	printf("gen_log: throughput %.0f events/s, %.0f events/s per core "
	       "(HMAC %" PRIu64 "+%" PRIu64 " B + record + chain + Merkle + gzip + fsync every %s%s)\n",
	       (double)g.records / wall, cpu > 0 ? (double)g.records / cpu : 0.0,
	       g.input_bytes, g.output_bytes, policy,
	       o.writer_thread ? "; writer thread" : "");
	printf("gen_log: %" PRIu64 " blocks, %" PRIu64 " fsyncs, %" PRIu64
	       " compressed bytes\n", stats.blocks_written, stats.fsyncs,
	       stats.bytes_written);
	/* the stages are in order, so with a core per thread the busier
	 * thread bounds the rate: what two cores give on a machine of one's own */
	printf("gen_log: CPU by thread: log %.3f s, writer %.3f s; ceiling with a core "
	       "per thread %.0f events/s\n", main_cpu, cpu - main_cpu,
	       (double)g.records / (main_cpu > cpu - main_cpu ? main_cpu : cpu - main_cpu));
	if (g.scores)
		printf("gen_log: %" PRIu64 " risk records\n", g.risk_records);
	rc = 0;
out:
	st_seal_install(NULL);
	st_datakeys_free(dk);
	st_config_free(&g.risk);
	st_keyring_free(g.kr);
	free(g.ins.v);
	free(g.ins.text);
	free(g.outs.v);
	free(g.outs.text);
	free(g.in);
	free(g.out);
	return rc;
}
