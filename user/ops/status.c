// SPDX-License-Identifier: Apache-2.0
/*
 * Status: the completeness snapshot as JSON (status.json, read back by
 * `sealtrace status`) and as Prometheus text (/metrics). See status.h.
 *
 * Strings go through base/json.c's escaper and the file is read back with
 * its strict cursor and struct reader, which never crash on a torn or
 * hostile file: every read is bounded by the input's length and every
 * string by the field it fills. Integers are written as plain decimal
 * (u64 counters, not the records' I-JSON quoting).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtrace/base/file.h"
#include "sealtrace/base/json.h"
#include "sealtrace/log/record.h"
#include "sealtrace/ops/status.h"

/* A snapshot is a few hundred KiB at most; more is corruption. */
#define STATUS_MAX_FILE (16u << 20)

#define ST_STATUS_FORMAT 1

double st_probe_coverage(const struct st_probe_status *p)
{
	/* calls still running are neither recorded nor lost yet */
	uint64_t settled = p->hits > p->in_flight ? p->hits - p->in_flight : 0;

	if (settled == 0)
		return 100.0;
	return 100.0 * (double)p->persisted / (double)settled;
}

uint64_t st_probe_lost_total(const struct st_probe_status *p)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < ST_LOSS__COUNT; i++)
		sum += p->lost[i];
	return sum;
}

/* The wire section's keys, in the order written (status.json and --json). */
#define WIRE_FIELD(name) { #name, offsetof(struct st_wire_status, name) }
static const struct wire_field {
	const char *key;
	size_t off;
} wire_fields[] = {
	WIRE_FIELD(calls), WIRE_FIELD(events), WIRE_FIELD(recorded),
	WIRE_FIELD(incomplete), WIRE_FIELD(excluded), WIRE_FIELD(write_failed),
	WIRE_FIELD(requests_lost), WIRE_FIELD(events_lost), WIRE_FIELD(bytes_lost),
	WIRE_FIELD(connections_untracked), WIRE_FIELD(tls_unattributed),
	WIRE_FIELD(unattributed_bytes), WIRE_FIELD(hole_bytes), WIRE_FIELD(sendfile_bytes),
	WIRE_FIELD(connections_open), WIRE_FIELD(ringbuf_size), WIRE_FIELD(ringbuf_used),
};
#undef WIRE_FIELD
#define NWIRE_FIELDS (sizeof(wire_fields) / sizeof(wire_fields[0]))

static uint64_t *wire_value(struct st_wire_status *w, size_t i)
{
	return (uint64_t *)((char *)w + wire_fields[i].off);
}

static uint64_t wire_get(const struct st_wire_status *w, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)w + wire_fields[i].off, sizeof(v));
	return v;
}

void st_wire_status_fputs(FILE *f, const struct st_wire_status *w)
{
	size_t i;

	fputc('{', f);
	for (i = 0; i < NWIRE_FIELDS; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", wire_fields[i].key,
			wire_get(w, i));
	fputc('}', f);
}

/* ------------------------------------------------------------------ */
/* JSON writer                                                         */
/* ------------------------------------------------------------------ */

#define JSTR(f, field) st_json_fputs(f, field, sizeof(field))

static void write_probe_json(FILE *f, const struct st_probe_status *p)
{
	int r;

	fputs("{\"target\":", f);
	JSTR(f, p->target);
	fputs(",\"probe\":", f);
	JSTR(f, p->probe);
	fprintf(f, ",\"attached\":%s,\"hits\":%" PRIu64 ",\"persisted\":%" PRIu64
		",\"lost\":{", p->attached ? "true" : "false", p->hits, p->persisted);
	for (r = 0; r < ST_LOSS__COUNT; r++)
		fprintf(f, "%s\"%s\":%" PRIu64, r ? "," : "", st_loss_reason_name(r), p->lost[r]);
	fprintf(f, "},\"in_flight\":%" PRIu64 ",\"truncated\":%" PRIu64
		",\"last_event_ns\":%" PRIu64 "}", p->in_flight, p->truncated, p->last_event_ns);
}

static void write_pair_json(FILE *f, const char *key, const uint64_t v[2])
{
	fprintf(f, ",\"%s\":{\"%s\":%" PRIu64 ",\"%s\":%" PRIu64 "}",
		key, st_stream_name(ST_STREAM_DECISION), v[0],
		st_stream_name(ST_STREAM_SYSTEM), v[1]);
}

char *st_status_to_json(const struct st_status *s)
{
	char *buf = NULL;
	size_t len = 0, i, n = s->nprobes;
	FILE *f;
	int bad;

	if (n > ST_STATUS_MAX_PROBES)
		n = ST_STATUS_MAX_PROBES;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fprintf(f, "{\"format\":%d,\"pid\":%d,\"updated_ns\":%" PRIu64
		",\"started_ns\":%" PRIu64 ",\"interval_ns\":%" PRIu64 ",\"node_id\":",
		ST_STATUS_FORMAT, s->pid, s->updated_ns, s->started_ns, s->interval_ns);
	JSTR(f, s->node_id);
	fputs(",\"state_dir\":", f);
	JSTR(f, s->state_dir);
	write_pair_json(f, "chain_seq", s->chain_seq);
	write_pair_json(f, "events_persisted", s->events_persisted);
	fprintf(f, ",\"last_checkpoint_ns\":%" PRIu64 ",\"ringbuf_size\":%" PRIu64
		",\"ringbuf_used\":%" PRIu64 ",\"canary_ok\":%s,\"canary_last_ns\":%" PRIu64
		",", s->last_checkpoint_ns, s->ringbuf_size, s->ringbuf_used,
		s->canary_ok ? "true" : "false", s->canary_last_ns);
	fprintf(f, "\"lifecycle_events_lost\":%" PRIu64 ",", s->lifecycle_lost);
	if (s->has_wire) {
		fputs("\"wire\":", f);
		st_wire_status_fputs(f, &s->wire);
		fputs(",", f);
	}
	fputs("\"probes\":[", f);
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		write_probe_json(f, &s->probes[i]);
	}
	fputs("]}\n", f);
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* JSON reader: base/json.c's cursor, one table per object             */
/* ------------------------------------------------------------------ */

/* Deep enough for any newer writer's additions; ours nests 4 levels. */
#define STATUS_MAX_DEPTH 16

static int read_pair(struct st_jcur *c, void *dst)
{
	uint64_t *v = dst;
	const struct st_jfield f[] = {
		{ st_stream_name(ST_STREAM_DECISION), ST_JF_U64, &v[0], 0, NULL },
		{ st_stream_name(ST_STREAM_SYSTEM), ST_JF_U64, &v[1], 0, NULL },
	};

	return st_jcur_object(c, f, 2, "stream counters");
}

static int read_lost(struct st_jcur *c, void *dst)
{
	uint64_t *v = dst;
	struct st_jfield f[ST_LOSS__COUNT];
	int r;

	for (r = 0; r < ST_LOSS__COUNT; r++)
		f[r] = (struct st_jfield){ st_loss_reason_name(r), ST_JF_U64, &v[r], 0, NULL };
	return st_jcur_object(c, f, ST_LOSS__COUNT, "lost");
}

static int read_probe(struct st_jcur *c, struct st_probe_status *p)
{
	const struct st_jfield f[] = {
		{ "target", ST_JF_STR, p->target, sizeof(p->target), NULL },
		{ "probe", ST_JF_STR, p->probe, sizeof(p->probe), NULL },
		{ "attached", ST_JF_BOOL, &p->attached, 0, NULL },
		{ "hits", ST_JF_U64, &p->hits, 0, NULL },
		{ "persisted", ST_JF_U64, &p->persisted, 0, NULL },
		{ "lost", ST_JF_CUSTOM, p->lost, 0, read_lost },
		{ "in_flight", ST_JF_U64, &p->in_flight, 0, NULL },
		{ "truncated", ST_JF_U64, &p->truncated, 0, NULL },
		{ "last_event_ns", ST_JF_U64, &p->last_event_ns, 0, NULL },
	};

	return st_jcur_object(c, f, sizeof(f) / sizeof(f[0]), "probe");
}

static int read_probes(struct st_jcur *c, void *dst)
{
	struct st_status *s = dst;
	int more;

	s->nprobes = 0;
	for (more = st_jcur_open(c, '['); more > 0; more = st_jcur_next(c, ']')) {
		if (s->nprobes == ST_STATUS_MAX_PROBES)
			return st_jcur_fail(c, "more than %d probes", ST_STATUS_MAX_PROBES);
		if (read_probe(c, &s->probes[s->nprobes]))
			return -1;
		s->nprobes++;
	}
	return more;
}

static int read_wire(struct st_jcur *c, void *dst)
{
	struct st_status *s = dst;
	struct st_jfield f[NWIRE_FIELDS];
	size_t i;

	for (i = 0; i < NWIRE_FIELDS; i++)
		f[i] = (struct st_jfield){ wire_fields[i].key, ST_JF_U64, wire_value(&s->wire, i),
					   0, NULL };
	if (st_jcur_object(c, f, NWIRE_FIELDS, "wire"))
		return -1;
	s->has_wire = true;
	return 0;
}

static int read_format(struct st_jcur *c, void *dst)
{
	uint64_t v;
	const struct st_jfield f = { "format", ST_JF_U64, &v, 0, NULL };

	if (st_jcur_field(c, &f))
		return -1;
	if (v != ST_STATUS_FORMAT)
		return st_jcur_fail(c, "unsupported format %" PRIu64 " (this build reads %d)",
				    v, ST_STATUS_FORMAT);
	return 0;
}

int st_status_from_json(const char *text, struct st_status *s, char *err, size_t errlen)
{
	struct st_jcur c;
	const struct st_jfield f[] = {
		{ "format", ST_JF_CUSTOM, NULL, 0, read_format },
		{ "pid", ST_JF_INT, &s->pid, 0, NULL },
		{ "updated_ns", ST_JF_U64, &s->updated_ns, 0, NULL },
		{ "started_ns", ST_JF_U64, &s->started_ns, 0, NULL },
		{ "interval_ns", ST_JF_U64, &s->interval_ns, 0, NULL },
		{ "node_id", ST_JF_STR, s->node_id, sizeof(s->node_id), NULL },
		{ "state_dir", ST_JF_STR, s->state_dir, sizeof(s->state_dir), NULL },
		{ "chain_seq", ST_JF_CUSTOM, s->chain_seq, 0, read_pair },
		{ "events_persisted", ST_JF_CUSTOM, s->events_persisted, 0, read_pair },
		{ "last_checkpoint_ns", ST_JF_U64, &s->last_checkpoint_ns, 0, NULL },
		{ "ringbuf_size", ST_JF_U64, &s->ringbuf_size, 0, NULL },
		{ "ringbuf_used", ST_JF_U64, &s->ringbuf_used, 0, NULL },
		{ "canary_ok", ST_JF_BOOL, &s->canary_ok, 0, NULL },
		{ "canary_last_ns", ST_JF_U64, &s->canary_last_ns, 0, NULL },
		{ "probes", ST_JF_CUSTOM, s, 0, read_probes },
		/* not in older files */
		{ "lifecycle_events_lost", ST_JF_U64, &s->lifecycle_lost, 0, NULL },
		/* only while the agent runs wire capture (and not in older files) */
		{ "wire", ST_JF_CUSTOM, s, 0, read_wire },
	};
	const size_t nf = sizeof(f) / sizeof(f[0]);
	const uint64_t optional = 1ull << (nf - 1) | 1ull << (nf - 2);
	int rc;

	if (errlen)
		err[0] = '\0';
	if (!text) {
		snprintf(err, errlen, "status.json: no input");
		return -1;
	}
	memset(s, 0, sizeof(*s));
	st_jcur_init(&c, text, strlen(text), STATUS_MAX_DEPTH, "status.json", err, errlen);
	rc = st_jcur_object_opt(&c, f, sizeof(f) / sizeof(f[0]), optional, "status");
	if (!rc)
		rc = st_jcur_end(&c, "object");
	st_jcur_free(&c);
	if (rc)
		memset(s, 0, sizeof(*s));	/* never hand back half a snapshot */
	return rc;
}

/* ------------------------------------------------------------------ */
/* status.json on disk                                                 */
/* ------------------------------------------------------------------ */

int st_status_write(const struct st_status *s, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
	char *text;
	int rc;

	if (!s->state_dir[0]) {
		snprintf(err, errlen, "status: no state_dir in the snapshot");
		return -1;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/agent", s->state_dir) >= sizeof(dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/status.json", dir) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.status.json.tmp", dir) >= sizeof(tmp)) {
		snprintf(err, errlen, "status: state_dir path too long");
		return -1;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	text = st_status_to_json(s);
	if (!text) {
		snprintf(err, errlen, "status: out of memory");
		return -1;
	}
	rc = st_replace_file(dir, path, tmp, text, strlen(text), 0644, err, errlen);
	free(text);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Prometheus text exposition format 0.0.4                             */
/* ------------------------------------------------------------------ */

/* A label value: backslash, double quote and newline escaped (the spec). */
static void prom_label(FILE *f, const char *name, const char *v, size_t max)
{
	size_t len = strnlen(v, max), i;
	const unsigned char *u = (const unsigned char *)v;
	size_t n;

	fprintf(f, "%s=\"", name);
	for (i = 0; i < len; i += n) {
		n = 1;
		if (v[i] == '\\') {
			fputs("\\\\", f);
		} else if (v[i] == '"') {
			fputs("\\\"", f);
		} else if (v[i] == '\n') {
			fputs("\\n", f);
		} else if (u[i] < 0x80) {
			fputc(v[i], f);
		} else {
			/* Label values are UTF-8; a stray byte becomes U+FFFD. */
			n = st_utf8_seq(v + i, len - i);
			if (n == 0) {
				fputs("\xef\xbf\xbd", f);
				n = 1;
			} else {
				fwrite(u + i, 1, n, f);
			}
		}
	}
	fputc('"', f);
}

static void prom_probe_labels(FILE *f, const struct st_probe_status *p)
{
	prom_label(f, "target", p->target, sizeof(p->target));
	fputc(',', f);
	prom_label(f, "probe", p->probe, sizeof(p->probe));
}

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ns since the epoch as exact decimal seconds: a double would round. */
static void prom_seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000u, ns % 1000000000u);
}

enum probe_field {
	PF_HITS, PF_PERSISTED, PF_IN_FLIGHT, PF_TRUNCATED, PF_ATTACHED,
	PF_COVERAGE, PF_LAST_EVENT,
};

struct probe_metric {
	const char *name;
	const char *type;
	const char *help;
	enum probe_field field;
};

static const struct probe_metric probe_metrics[] = {
	{ "sealtrace_probe_hits_total", "counter",
	  "Calls the kernel probe saw.", PF_HITS },
	{ "sealtrace_probe_persisted_total", "counter",
	  "Calls with an inference or incomplete record in the log.", PF_PERSISTED },
	{ "sealtrace_probe_in_flight", "gauge",
	  "Calls entered and not yet returned.", PF_IN_FLIGHT },
	{ "sealtrace_probe_truncated_total", "counter",
	  "Calls whose captured payload was truncated.", PF_TRUNCATED },
	{ "sealtrace_probe_attached", "gauge",
	  "1 when the probe is attached, 0 when not.", PF_ATTACHED },
	{ "sealtrace_probe_coverage_ratio", "gauge",
	  "Persisted calls divided by settled calls (hits less in flight; 1 when none).", PF_COVERAGE },
	{ "sealtrace_probe_last_event_timestamp_seconds", "gauge",
	  "Time of the last recorded call (0 never).", PF_LAST_EVENT },
};

static void prom_probe_value(FILE *f, const struct st_probe_status *p, enum probe_field pf)
{
	switch (pf) {
	case PF_HITS:
		fprintf(f, "%" PRIu64 "\n", p->hits);
		break;
	case PF_PERSISTED:
		fprintf(f, "%" PRIu64 "\n", p->persisted);
		break;
	case PF_IN_FLIGHT:
		fprintf(f, "%" PRIu64 "\n", p->in_flight);
		break;
	case PF_TRUNCATED:
		fprintf(f, "%" PRIu64 "\n", p->truncated);
		break;
	case PF_ATTACHED:
		fprintf(f, "%d\n", p->attached ? 1 : 0);
		break;
	case PF_COVERAGE:
		fprintf(f, "%.17g\n", st_probe_coverage(p) / 100.0);
		break;
	case PF_LAST_EVENT:
		prom_seconds(f, p->last_event_ns);
		break;
	}
}

static void prom_probes(FILE *f, const struct st_status *s, size_t n)
{
	const struct probe_metric *m;
	size_t i, k;
	int r;

	for (k = 0; k < sizeof(probe_metrics) / sizeof(probe_metrics[0]); k++) {
		m = &probe_metrics[k];
		prom_head(f, m->name, m->type, m->help);
		for (i = 0; i < n; i++) {
			fprintf(f, "%s{", m->name);
			prom_probe_labels(f, &s->probes[i]);
			fputs("} ", f);
			prom_probe_value(f, &s->probes[i], m->field);
		}
	}
	/* One series per reason, zeros included, so rate() sees the first loss. */
	prom_head(f, "sealtrace_events_lost_total", "counter",
		  "Calls accounted in loss records, by reason.");
	for (i = 0; i < n; i++) {
		for (r = 0; r < ST_LOSS__COUNT; r++) {
			fputs("sealtrace_events_lost_total{", f);
			prom_probe_labels(f, &s->probes[i]);
			fprintf(f, ",reason=\"%s\"} %" PRIu64 "\n", st_loss_reason_name(r),
				s->probes[i].lost[r]);
		}
	}
	/* discovery's own ring: a lost exec may be a process never observed */
	fprintf(f, "sealtrace_events_lost_total{target=\"\",probe=\"lifecycle\","
		"reason=\"ringbuf_full\"} %" PRIu64 "\n", s->lifecycle_lost);
}

static void prom_streams(FILE *f, const char *name, const char *type, const char *help,
			 const uint64_t v[2])
{
	int i;

	prom_head(f, name, type, help);
	for (i = 0; i < 2; i++)
		fprintf(f, "%s{stream=\"%s\"} %" PRIu64 "\n", name,
			st_stream_name((enum st_stream)i), v[i]);
}

static void prom_gauge_seconds(FILE *f, const char *name, const char *help, uint64_t ns)
{
	prom_head(f, name, "gauge", help);
	fprintf(f, "%s ", name);
	prom_seconds(f, ns);
}

static void prom_gauge_u64(FILE *f, const char *name, const char *help, uint64_t v)
{
	prom_head(f, name, "gauge", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

#define WOFF(field) offsetof(struct st_wire_status, field)

/* One series each; a row without a type is one more series of the row above. */
static const struct wire_metric {
	const char *name;
	const char *type;	/* NULL: same family as the row before */
	const char *help;
	const char *label;	/* name="value", or NULL */
	size_t off;
} wire_metrics[] = {
	{ "sealtrace_wire_calls_total", "counter",
	  "Socket calls that moved bytes on a tracked HTTP connection (kernel).",
	  NULL, WOFF(calls) },
	{ "sealtrace_wire_events_total", "counter",
	  "Events the kernel wrote to the wire ring buffer.", NULL, WOFF(events) },
	{ "sealtrace_wire_exchanges_total", "counter",
	  "HTTP exchanges by outcome: recorded (inference record), incomplete "
	  "(incomplete record), excluded (not an inference: paths, methods), "
	  "write_failed (no record written).", "outcome=\"recorded\"", WOFF(recorded) },
	{ "sealtrace_wire_exchanges_total", NULL, NULL, "outcome=\"incomplete\"",
	  WOFF(incomplete) },
	{ "sealtrace_wire_exchanges_total", NULL, NULL, "outcome=\"excluded\"",
	  WOFF(excluded) },
	{ "sealtrace_wire_exchanges_total", NULL, NULL, "outcome=\"write_failed\"",
	  WOFF(write_failed) },
	{ "sealtrace_wire_requests_lost_total", "counter",
	  "Requests in events the wire ring buffer could not take (in loss records).",
	  NULL, WOFF(requests_lost) },
	{ "sealtrace_wire_events_lost_total", "counter",
	  "Events the wire ring buffer could not take (in loss records).",
	  NULL, WOFF(events_lost) },
	{ "sealtrace_wire_bytes_lost_total", "counter",
	  "Data bytes in events the wire ring buffer could not take (in loss records).",
	  NULL, WOFF(bytes_lost) },
	{ "sealtrace_wire_connections_untracked_total", "counter",
	  "Connections the kernel's connection table could not hold (in loss records).",
	  NULL, WOFF(connections_untracked) },
	{ "sealtrace_wire_tls_unattributed_total", "counter",
	  "TLS reads and writes whose plaintext had no known connection (in loss records).",
	  NULL, WOFF(tls_unattributed) },
	{ "sealtrace_wire_bytes_not_captured_total", "counter",
	  "Bytes moved on tracked connections but not captured, by reason: unattributed "
	  "(buffer not known: recvmmsg, io_uring), hole (past the per-call limit), "
	  "sendfile (sendfile/splice: length only).",
	  "reason=\"unattributed\"", WOFF(unattributed_bytes) },
	{ "sealtrace_wire_bytes_not_captured_total", NULL, NULL, "reason=\"hole\"",
	  WOFF(hole_bytes) },
	{ "sealtrace_wire_bytes_not_captured_total", NULL, NULL, "reason=\"sendfile\"",
	  WOFF(sendfile_bytes) },
	{ "sealtrace_wire_connections_open", "gauge",
	  "HTTP connections being reassembled.", NULL, WOFF(connections_open) },
	{ "sealtrace_wire_ringbuf_used_bytes", "gauge",
	  "Bytes waiting in the wire ring buffer.", NULL, WOFF(ringbuf_used) },
	{ "sealtrace_wire_ringbuf_size_bytes", "gauge",
	  "Size of the wire ring buffer.", NULL, WOFF(ringbuf_size) },
};
#undef WOFF

static void prom_wire(FILE *f, const struct st_wire_status *w)
{
	const struct wire_metric *m;
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(wire_metrics) / sizeof(wire_metrics[0]); i++) {
		m = &wire_metrics[i];
		if (m->type)
			prom_head(f, m->name, m->type, m->help);
		memcpy(&v, (const char *)w + m->off, sizeof(v));
		if (m->label)
			fprintf(f, "%s{%s} %" PRIu64 "\n", m->name, m->label, v);
		else
			fprintf(f, "%s %" PRIu64 "\n", m->name, v);
	}
}

char *st_status_to_prometheus(const struct st_status *s)
{
	char *buf = NULL;
	size_t len = 0, n = s->nprobes;
	FILE *f;
	int bad;

	if (n > ST_STATUS_MAX_PROBES)
		n = ST_STATUS_MAX_PROBES;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	prom_probes(f, s, n);
	prom_streams(f, "sealtrace_events_persisted_total", "counter",
		     "Records written to the log, by stream.", s->events_persisted);
	prom_streams(f, "sealtrace_chain_seq", "gauge",
		     "Next sequence number of the stream's hash chain.", s->chain_seq);
	prom_gauge_u64(f, "sealtrace_ringbuf_used_bytes",
		       "Bytes waiting in the BPF ring buffer.", s->ringbuf_used);
	prom_gauge_u64(f, "sealtrace_ringbuf_size_bytes",
		       "Size of the BPF ring buffer.", s->ringbuf_size);
	prom_gauge_seconds(f, "sealtrace_last_checkpoint_timestamp_seconds",
			   "Time of the last signed checkpoint (0 never).", s->last_checkpoint_ns);
	prom_gauge_u64(f, "sealtrace_canary_ok",
		       "1 when the canary call came back through the ring buffer.",
		       s->canary_ok ? 1 : 0);
	prom_gauge_seconds(f, "sealtrace_canary_last_timestamp_seconds",
			   "Time the canary last came back (0 never).", s->canary_last_ns);
	prom_gauge_seconds(f, "sealtrace_agent_start_timestamp_seconds",
			   "Time the agent started.", s->started_ns);
	prom_gauge_seconds(f, "sealtrace_status_updated_timestamp_seconds",
			   "Time of this snapshot.", s->updated_ns);
	if (s->has_wire)
		prom_wire(f, &s->wire);
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* Health                                                              */
/* ------------------------------------------------------------------ */

uint64_t st_status_stale_after_ns(const struct st_status *s)
{
	uint64_t iv = s->interval_ns ? s->interval_ns : 1000000000ull;

	return 3 * iv;
}

int st_status_health(const struct st_status *s, uint64_t now_ns, char *why, size_t whylen)
{
	uint64_t age, limit;
	size_t i;

	if (!s) {
		snprintf(why, whylen, "no status snapshot published yet");
		return -1;
	}
	limit = st_status_stale_after_ns(s);
	age = now_ns > s->updated_ns ? now_ns - s->updated_ns : 0;
	if (age > limit) {
		snprintf(why, whylen, "status snapshot stale: updated %.1f s ago (limit %.1f s)",
			 (double)age / 1e9, (double)limit / 1e9);
		return -1;
	}
	if (!s->canary_ok) {
		snprintf(why, whylen, "canary failed: kernel -> ring buffer -> agent path not alive");
		return -1;
	}
	for (i = 0; i < s->nprobes && i < ST_STATUS_MAX_PROBES; i++) {
		if (!s->probes[i].attached) {
			snprintf(why, whylen, "probe %.*s not attached",
				 (int)strnlen(s->probes[i].probe, sizeof(s->probes[i].probe)),
				 s->probes[i].probe);
			return -1;
		}
	}
	snprintf(why, whylen, "ok");
	return 0;
}

/* The whole file as a NUL-terminated string; embedded NULs are corruption. */
static char *read_text(const char *path, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t n;
	FILE *f;

	f = st_fopen_regular(path, err, errlen);
	if (!f) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s: %s (agent never ran with this state dir?)",
				 path, strerror(ENOENT));
		return NULL;
	}
	if (fstat(fileno(f), &st) || st.st_size < 0 || (uint64_t)st.st_size > STATUS_MAX_FILE) {
		snprintf(err, errlen, "%s: corrupt: unreadable or larger than %u bytes",
			 path, STATUS_MAX_FILE);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(err, errlen, "%s: corrupt: contains a NUL byte", path);
		free(buf);
		return NULL;
	}
	return buf;
}

int st_status_read(const char *state_dir, struct st_status *s, char *err, size_t errlen)
{
	char path[4096], perr[300];
	char *text;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/agent/status.json", state_dir) >= sizeof(path)) {
		snprintf(err, errlen, "state dir path too long");
		return -1;
	}
	text = read_text(path, err, errlen);
	if (!text)
		return -1;
	rc = st_status_from_json(text, s, perr, sizeof(perr));
	free(text);
	if (rc)
		snprintf(err, errlen, "%s: corrupt: %s", path, perr);
	return rc;
}
