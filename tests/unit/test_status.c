// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for status.c (JSON, Prometheus, health), metrics.c (the HTTP
 * server, over a plain socket) and status_cmd.c (`sealtrace status` exit
 * codes and output).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/log.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/ops/metrics.h"
#include "sealtrace/ops/status.h"
#include "sealtrace/ops/status_window.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The known snapshot whose exact JSON and Prometheus text are below. */
static struct st_status *known_snapshot(void)
{
	struct st_status *s = calloc(1, sizeof(*s));
	struct st_probe_status *p;

	assert_non_null(s);
	s->pid = 4242;
	s->updated_ns = 1700000000123456789ull;
	s->started_ns = 1699999000000000000ull;
	s->interval_ns = 1000000000ull;
	strcpy(s->node_id, "node-a");
	strcpy(s->state_dir, "/var/lib/sealtrace");
	s->chain_seq[0] = 10;
	s->chain_seq[1] = 20;
	s->events_persisted[0] = 7;
	s->events_persisted[1] = 3;
	s->last_checkpoint_ns = 1699999999500000001ull;
	s->ringbuf_size = 16777216;
	s->ringbuf_used = 4096;
	s->canary_ok = true;
	s->canary_last_ns = 1700000000100000000ull;
	s->lifecycle_lost = 6;
	s->nprobes = 1;
	p = &s->probes[0];
	strcpy(p->target, "llama");
	strcpy(p->probe, "llama:infer");
	p->attached = true;
	p->hits = 4;
	p->persisted = 3;
	p->lost[ST_LOSS_RINGBUF_FULL] = 1;
	p->truncated = 2;
	p->last_event_ns = 1700000000000000042ull;
	return s;
}

static const char known_json[] =
	"{\"format\":1,\"pid\":4242,\"updated_ns\":1700000000123456789,"
	"\"started_ns\":1699999000000000000,\"interval_ns\":1000000000,"
	"\"node_id\":\"node-a\",\"state_dir\":\"/var/lib/sealtrace\","
	"\"chain_seq\":{\"decision\":10,\"system\":20},"
	"\"events_persisted\":{\"decision\":7,\"system\":3},"
	"\"last_checkpoint_ns\":1699999999500000001,\"ringbuf_size\":16777216,"
	"\"ringbuf_used\":4096,\"canary_ok\":true,\"canary_last_ns\":1700000000100000000,"
	"\"lifecycle_events_lost\":6,"
	"\"probes\":[{\"target\":\"llama\",\"probe\":\"llama:infer\",\"attached\":true,"
	"\"hits\":4,\"persisted\":3,\"lost\":{\"ringbuf_full\":1,\"capture_fault\":0,"
	"\"agent_down\":0,\"unpaired\":0,\"write_failed\":0},\"in_flight\":0,\"truncated\":2,"
	"\"last_event_ns\":1700000000000000042}]}\n";

static const char known_prom[] =
	"# HELP sealtrace_probe_hits_total Calls the kernel probe saw.\n"
	"# TYPE sealtrace_probe_hits_total counter\n"
	"sealtrace_probe_hits_total{target=\"llama\",probe=\"llama:infer\"} 4\n"
	"# HELP sealtrace_probe_persisted_total Calls with an inference or incomplete record in the log.\n"
	"# TYPE sealtrace_probe_persisted_total counter\n"
	"sealtrace_probe_persisted_total{target=\"llama\",probe=\"llama:infer\"} 3\n"
	"# HELP sealtrace_probe_in_flight Calls entered and not yet returned.\n"
	"# TYPE sealtrace_probe_in_flight gauge\n"
	"sealtrace_probe_in_flight{target=\"llama\",probe=\"llama:infer\"} 0\n"
	"# HELP sealtrace_probe_truncated_total Calls whose captured payload was truncated.\n"
	"# TYPE sealtrace_probe_truncated_total counter\n"
	"sealtrace_probe_truncated_total{target=\"llama\",probe=\"llama:infer\"} 2\n"
	"# HELP sealtrace_probe_attached 1 when the probe is attached, 0 when not.\n"
	"# TYPE sealtrace_probe_attached gauge\n"
	"sealtrace_probe_attached{target=\"llama\",probe=\"llama:infer\"} 1\n"
	"# HELP sealtrace_probe_coverage_ratio Persisted calls divided by settled calls (hits less in flight; 1 when none).\n"
	"# TYPE sealtrace_probe_coverage_ratio gauge\n"
	"sealtrace_probe_coverage_ratio{target=\"llama\",probe=\"llama:infer\"} 0.75\n"
	"# HELP sealtrace_probe_last_event_timestamp_seconds Time of the last recorded call (0 never).\n"
	"# TYPE sealtrace_probe_last_event_timestamp_seconds gauge\n"
	"sealtrace_probe_last_event_timestamp_seconds{target=\"llama\",probe=\"llama:infer\"} 1700000000.000000042\n"
	"# HELP sealtrace_events_lost_total Calls accounted in loss records, by reason.\n"
	"# TYPE sealtrace_events_lost_total counter\n"
	"sealtrace_events_lost_total{target=\"llama\",probe=\"llama:infer\",reason=\"ringbuf_full\"} 1\n"
	"sealtrace_events_lost_total{target=\"llama\",probe=\"llama:infer\",reason=\"capture_fault\"} 0\n"
	"sealtrace_events_lost_total{target=\"llama\",probe=\"llama:infer\",reason=\"agent_down\"} 0\n"
	"sealtrace_events_lost_total{target=\"llama\",probe=\"llama:infer\",reason=\"unpaired\"} 0\n"
	"sealtrace_events_lost_total{target=\"llama\",probe=\"llama:infer\",reason=\"write_failed\"} 0\n"
	"sealtrace_events_lost_total{target=\"\",probe=\"lifecycle\",reason=\"ringbuf_full\"} 6\n"
	"# HELP sealtrace_events_persisted_total Records written to the log, by stream.\n"
	"# TYPE sealtrace_events_persisted_total counter\n"
	"sealtrace_events_persisted_total{stream=\"decision\"} 7\n"
	"sealtrace_events_persisted_total{stream=\"system\"} 3\n"
	"# HELP sealtrace_chain_seq Next sequence number of the stream's hash chain.\n"
	"# TYPE sealtrace_chain_seq gauge\n"
	"sealtrace_chain_seq{stream=\"decision\"} 10\n"
	"sealtrace_chain_seq{stream=\"system\"} 20\n"
	"# HELP sealtrace_ringbuf_used_bytes Bytes waiting in the BPF ring buffer.\n"
	"# TYPE sealtrace_ringbuf_used_bytes gauge\n"
	"sealtrace_ringbuf_used_bytes 4096\n"
	"# HELP sealtrace_ringbuf_size_bytes Size of the BPF ring buffer.\n"
	"# TYPE sealtrace_ringbuf_size_bytes gauge\n"
	"sealtrace_ringbuf_size_bytes 16777216\n"
	"# HELP sealtrace_last_checkpoint_timestamp_seconds Time of the last signed checkpoint (0 never).\n"
	"# TYPE sealtrace_last_checkpoint_timestamp_seconds gauge\n"
	"sealtrace_last_checkpoint_timestamp_seconds 1699999999.500000001\n"
	"# HELP sealtrace_canary_ok 1 when the canary call came back through the ring buffer.\n"
	"# TYPE sealtrace_canary_ok gauge\n"
	"sealtrace_canary_ok 1\n"
	"# HELP sealtrace_canary_last_timestamp_seconds Time the canary last came back (0 never).\n"
	"# TYPE sealtrace_canary_last_timestamp_seconds gauge\n"
	"sealtrace_canary_last_timestamp_seconds 1700000000.100000000\n"
	"# HELP sealtrace_agent_start_timestamp_seconds Time the agent started.\n"
	"# TYPE sealtrace_agent_start_timestamp_seconds gauge\n"
	"sealtrace_agent_start_timestamp_seconds 1699999000.000000000\n"
	"# HELP sealtrace_status_updated_timestamp_seconds Time of this snapshot.\n"
	"# TYPE sealtrace_status_updated_timestamp_seconds gauge\n"
	"sealtrace_status_updated_timestamp_seconds 1700000000.123456789\n";

/* known_snapshot with a wire section: every figure distinct. */
static struct st_status *wire_snapshot(void)
{
	struct st_status *s = known_snapshot();
	struct st_wire_status *w = &s->wire;

	s->has_wire = true;
	w->calls = 1001;
	w->events = 1002;
	w->recorded = 1003;
	w->incomplete = 1004;
	w->excluded = 1005;
	w->write_failed = 1006;
	w->requests_lost = 1007;
	w->events_lost = 1008;
	w->bytes_lost = 1009;
	w->connections_untracked = 1010;
	w->tls_unattributed = 1011;
	w->unattributed_bytes = 1012;
	w->hole_bytes = 1013;
	w->sendfile_bytes = 1014;
	w->connections_open = 1015;
	w->ringbuf_size = 16777216;
	w->ringbuf_used = UINT64_MAX;
	return s;
}

static const char wire_json_section[] =
	"\"wire\":{\"calls\":1001,\"events\":1002,\"recorded\":1003,\"incomplete\":1004,"
	"\"excluded\":1005,\"write_failed\":1006,\"requests_lost\":1007,\"events_lost\":1008,"
	"\"bytes_lost\":1009,\"connections_untracked\":1010,\"tls_unattributed\":1011,"
	"\"unattributed_bytes\":1012,\"hole_bytes\":1013,\"sendfile_bytes\":1014,"
	"\"connections_open\":1015,\"ringbuf_size\":16777216,"
	"\"ringbuf_used\":18446744073709551615},";

/* What follows known_prom when the snapshot has the wire section. */
static const char wire_prom[] =
	"# HELP sealtrace_wire_calls_total Socket calls that moved bytes on a tracked HTTP connection (kernel).\n"
	"# TYPE sealtrace_wire_calls_total counter\n"
	"sealtrace_wire_calls_total 1001\n"
	"# HELP sealtrace_wire_events_total Events the kernel wrote to the wire ring buffer.\n"
	"# TYPE sealtrace_wire_events_total counter\n"
	"sealtrace_wire_events_total 1002\n"
	"# HELP sealtrace_wire_exchanges_total HTTP exchanges by outcome: recorded (inference record), incomplete (incomplete record), excluded (not an inference: paths, methods), write_failed (no record written).\n"
	"# TYPE sealtrace_wire_exchanges_total counter\n"
	"sealtrace_wire_exchanges_total{outcome=\"recorded\"} 1003\n"
	"sealtrace_wire_exchanges_total{outcome=\"incomplete\"} 1004\n"
	"sealtrace_wire_exchanges_total{outcome=\"excluded\"} 1005\n"
	"sealtrace_wire_exchanges_total{outcome=\"write_failed\"} 1006\n"
	"# HELP sealtrace_wire_requests_lost_total Requests in events the wire ring buffer could not take (in loss records).\n"
	"# TYPE sealtrace_wire_requests_lost_total counter\n"
	"sealtrace_wire_requests_lost_total 1007\n"
	"# HELP sealtrace_wire_events_lost_total Events the wire ring buffer could not take (in loss records).\n"
	"# TYPE sealtrace_wire_events_lost_total counter\n"
	"sealtrace_wire_events_lost_total 1008\n"
	"# HELP sealtrace_wire_bytes_lost_total Data bytes in events the wire ring buffer could not take (in loss records).\n"
	"# TYPE sealtrace_wire_bytes_lost_total counter\n"
	"sealtrace_wire_bytes_lost_total 1009\n"
	"# HELP sealtrace_wire_connections_untracked_total Connections the kernel's connection table could not hold (in loss records).\n"
	"# TYPE sealtrace_wire_connections_untracked_total counter\n"
	"sealtrace_wire_connections_untracked_total 1010\n"
	"# HELP sealtrace_wire_tls_unattributed_total TLS reads and writes whose plaintext had no known connection (in loss records).\n"
	"# TYPE sealtrace_wire_tls_unattributed_total counter\n"
	"sealtrace_wire_tls_unattributed_total 1011\n"
	"# HELP sealtrace_wire_bytes_not_captured_total Bytes moved on tracked connections but not captured, by reason: unattributed (buffer not known: recvmmsg, io_uring), hole (past the per-call limit), sendfile (sendfile/splice: length only).\n"
	"# TYPE sealtrace_wire_bytes_not_captured_total counter\n"
	"sealtrace_wire_bytes_not_captured_total{reason=\"unattributed\"} 1012\n"
	"sealtrace_wire_bytes_not_captured_total{reason=\"hole\"} 1013\n"
	"sealtrace_wire_bytes_not_captured_total{reason=\"sendfile\"} 1014\n"
	"# HELP sealtrace_wire_connections_open HTTP connections being reassembled.\n"
	"# TYPE sealtrace_wire_connections_open gauge\n"
	"sealtrace_wire_connections_open 1015\n"
	"# HELP sealtrace_wire_ringbuf_used_bytes Bytes waiting in the wire ring buffer.\n"
	"# TYPE sealtrace_wire_ringbuf_used_bytes gauge\n"
	"sealtrace_wire_ringbuf_used_bytes 18446744073709551615\n"
	"# HELP sealtrace_wire_ringbuf_size_bytes Size of the wire ring buffer.\n"
	"# TYPE sealtrace_wire_ringbuf_size_bytes gauge\n"
	"sealtrace_wire_ringbuf_size_bytes 16777216\n";

/* A snapshot with hostile strings in every string field. */
static struct st_status *odd_snapshot(void)
{
	static const char *const targets[] = {
		"quote\"back\\slash",
		"ctl\x01\x02\x1f\x7f\b\f\n\r\t end",
		"utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 /slash",
	};
	struct st_status *s = calloc(1, sizeof(*s));
	size_t i;

	assert_non_null(s);
	s->pid = 1;
	s->updated_ns = UINT64_MAX;
	s->started_ns = 0;
	s->interval_ns = 1;
	strcpy(s->node_id, "n\"o\\d\ne\x1b");
	memset(s->state_dir, 'd', sizeof(s->state_dir) - 1);
	s->chain_seq[1] = UINT64_MAX;
	s->events_persisted[0] = 1;
	s->canary_ok = false;
	s->nprobes = 3;
	for (i = 0; i < 3; i++) {
		struct st_probe_status *p = &s->probes[i];

		snprintf(p->target, sizeof(p->target), "%s", targets[i]);
		snprintf(p->probe, sizeof(p->probe), "%s:sym%zu", targets[i], i);
		p->attached = i != 1;
		p->hits = UINT64_MAX - i;
		p->persisted = i;
		p->lost[ST_LOSS__COUNT - 1] = 99 + i;
		p->in_flight = 7;
		p->last_event_ns = i * 1000;
	}
	/* A full-length field: no room for more than sizeof - 1 bytes. */
	memset(s->probes[2].probe, 'p', sizeof(s->probes[2].probe) - 1);
	return s;
}

/* ------------------------------------------------------------------ */
/* Names and coverage                                                  */
/* ------------------------------------------------------------------ */

static void test_loss_reason_names(void **state)
{
	assert_string_equal(st_loss_reason_name(ST_LOSS_RINGBUF_FULL), "ringbuf_full");
	assert_string_equal(st_loss_reason_name(ST_LOSS_CAPTURE_FAULT), "capture_fault");
	assert_string_equal(st_loss_reason_name(ST_LOSS_AGENT_DOWN), "agent_down");
	assert_string_equal(st_loss_reason_name(ST_LOSS_UNPAIRED), "unpaired");
	assert_string_equal(st_loss_reason_name(ST_LOSS__COUNT), "unknown");
	assert_string_equal(st_loss_reason_name((enum st_loss_reason)-1), "unknown");
}

static void test_coverage(void **state)
{
	struct st_probe_status p = { 0 };

	assert_true(st_probe_coverage(&p) == 100.0);
	p.hits = 4;
	p.persisted = 3;
	assert_true(st_probe_coverage(&p) == 75.0);
	/* a call still running is neither recorded nor lost: not counted yet */
	p.in_flight = 1;
	assert_true(st_probe_coverage(&p) == 100.0);
	p.in_flight = 0;
	p.persisted = 4;
	assert_true(st_probe_coverage(&p) == 100.0);
	p.persisted = 0;
	assert_true(st_probe_coverage(&p) == 0.0);
	p.hits = 200000;
	p.persisted = 199999;
	assert_true(st_probe_coverage(&p) == 100.0 * 199999.0 / 200000.0);
	assert_true(st_probe_coverage(&p) < 100.0);
	p.lost[0] = 1;
	p.lost[1] = 2;
	p.lost[2] = 3;
	p.lost[3] = 4;
	assert_int_equal(st_probe_lost_total(&p), 10);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static void test_json_exact(void **state)
{
	struct st_status *s = known_snapshot();
	char *j = st_status_to_json(s);

	assert_non_null(j);
	assert_string_equal(j, known_json);
	free(j);
	free(s);
}

static void assert_status_equal(const struct st_status *a, const struct st_status *b)
{
	size_t i;

	assert_int_equal(a->pid, b->pid);
	assert_int_equal(a->updated_ns, b->updated_ns);
	assert_string_equal(a->node_id, b->node_id);
	assert_string_equal(a->state_dir, b->state_dir);
	assert_int_equal(a->nprobes, b->nprobes);
	for (i = 0; i < a->nprobes; i++) {
		assert_string_equal(a->probes[i].target, b->probes[i].target);
		assert_string_equal(a->probes[i].probe, b->probes[i].probe);
		assert_int_equal(a->probes[i].hits, b->probes[i].hits);
	}
	/* Both calloc'd and parsed into zeroed memory: every byte agrees. */
	assert_memory_equal(a, b, sizeof(*a));
}

static void roundtrip(const struct st_status *s)
{
	struct st_status *back = calloc(1, sizeof(*back));
	char err[256];
	char *j = st_status_to_json(s);

	assert_non_null(j);
	assert_non_null(back);
	if (st_status_from_json(j, back, err, sizeof(err)))
		fail_msg("round trip: %s\n%s", err, j);
	assert_status_equal(s, back);
	free(back);
	free(j);
}

static void test_json_roundtrip(void **state)
{
	struct st_status *s = known_snapshot();

	roundtrip(s);
	free(s);
	s = odd_snapshot();
	roundtrip(s);
	free(s);
	s = calloc(1, sizeof(*s));	/* no probes, all zero */
	roundtrip(s);
	free(s);
}

static void test_json_roundtrip_full(void **state)
{
	struct st_status *s = calloc(1, sizeof(*s));
	size_t i;

	assert_non_null(s);
	s->nprobes = ST_STATUS_MAX_PROBES;
	for (i = 0; i < ST_STATUS_MAX_PROBES; i++) {
		memset(s->probes[i].target, 'a' + i % 26, sizeof(s->probes[i].target) - 1);
		snprintf(s->probes[i].probe, sizeof(s->probes[i].probe), "t:%zu", i);
		s->probes[i].hits = i;
	}
	roundtrip(s);
	free(s);
}

static void test_json_escapes(void **state)
{
	struct st_status *s = calloc(1, sizeof(*s));
	struct st_status *back = calloc(1, sizeof(*back));
	char err[256], *j;

	assert_non_null(s);
	assert_non_null(back);
	strcpy(s->node_id, "a\"b\\c\x01\x7f\n\t\xc3\xa9");
	/* Invalid UTF-8: a lone continuation byte, a truncated and an overlong form. */
	strcpy(s->state_dir, "x\x80y\xc3z\xc0\xaf");
	j = st_status_to_json(s);
	assert_non_null(j);
	assert_non_null(strstr(j, "\"node_id\":\"a\\\"b\\\\c\\u0001\\u007f\\n\\t\xc3\xa9\""));
	assert_non_null(strstr(j, "\"state_dir\":\"x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\""));
	assert_int_equal(st_status_from_json(j, back, err, sizeof(err)), 0);
	assert_string_equal(back->node_id, s->node_id);
	assert_string_equal(back->state_dir, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd");
	free(j);
	free(s);
	free(back);
}

/* Replace the first occurrence of from in known_json by to. */
static char *mutate(const char *from, const char *to)
{
	const char *at = strstr(known_json, from);
	char *out;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - known_json), known_json, to,
			     at + strlen(from)) > 0);
	return out;
}

static void expect_reject(const char *text, const char *msg)
{
	struct st_status *s = calloc(1, sizeof(*s));
	char err[256] = "unset";

	assert_non_null(s);
	s->pid = 77;
	if (st_status_from_json(text, s, err, sizeof(err)) != -1)
		fail_msg("accepted: %s", text);
	if (!strstr(err, msg))
		fail_msg("error '%s' lacks '%s' for: %.200s", err, msg, text);
	assert_non_null(strstr(err, "status.json: offset "));
	assert_int_equal(s->pid, 0);	/* nothing half-parsed is handed back */
	free(s);
}

static void expect_reject_mut(const char *from, const char *to, const char *msg)
{
	char *t = mutate(from, to);

	expect_reject(t, msg);
	free(t);
}

static void test_json_reject(void **state)
{
	char big[300], *t;

	expect_reject("", "unexpected end of input, expected '{'");
	expect_reject("   ", "unexpected end of input, expected '{'");
	expect_reject("[]", "unexpected character, expected '{'");
	expect_reject("{}", "missing key \"format\" in status");
	expect_reject("{\"format\":1}", "missing key \"pid\" in status");
	expect_reject("{\"format\":1,}", "unexpected character, expected '\"'");
	expect_reject("{\"format\":1 \"pid\":2}", "expected ',' or '}'");
	expect_reject("{\"format\":2}", "unsupported format 2 (this build reads 1)");
	expect_reject("{\"format\":1", "unexpected end of input, expected ',' or '}'");
	expect_reject("{\"format\":\"1\"}", "expected an unsigned integer");

	expect_reject_mut("\"pid\":4242", "\"pid\":-1", "expected an unsigned integer");
	expect_reject_mut("\"pid\":4242", "\"pid\":2147483648", "\"pid\" out of range");
	expect_reject_mut("\"pid\":4242", "\"pid\":04242", "leading zero");
	expect_reject_mut("\"hits\":4", "\"hits\":4.5", "fraction or exponent");
	expect_reject_mut("\"hits\":4", "\"hits\":4e3", "fraction or exponent");
	expect_reject_mut("\"hits\":4", "\"hits\":18446744073709551616", "out of range");
	expect_reject_mut("\"hits\":4", "\"hits\":null", "expected an unsigned integer");
	expect_reject_mut("\"attached\":true", "\"attached\":1", "expected true or false");
	expect_reject_mut("\"attached\":true", "\"attached\":tru", "expected true or false");
	expect_reject_mut("\"ringbuf_used\":4096,", "\"ringbuf_used\":4096,\"ringbuf_used\":1,",
			  "duplicate key \"ringbuf_used\" in status");
	expect_reject_mut("\"unpaired\":0", "\"unpaired\":0,\"unpaired\":0",
			  "duplicate key \"unpaired\" in lost");
	expect_reject_mut(",\"in_flight\":0", "", "missing key \"in_flight\" in probe");
	expect_reject_mut(",\"system\":20", "", "missing key \"system\" in stream counters");
	expect_reject_mut("\"node-a\"", "\"a\\qb\"", "bad escape '\\q'");
	expect_reject_mut("\"node-a\"", "\"a\\u12\"", "bad \\u escape");
	expect_reject_mut("\"node-a\"", "\"\\ud800\"", "high surrogate without low surrogate");
	expect_reject_mut("\"node-a\"", "\"\\ud800\\u0041\"", "high surrogate without low");
	expect_reject_mut("\"node-a\"", "\"\\udc00\"", "lone low surrogate");
	expect_reject_mut("\"node-a\"", "\"\\u0000\"", "\\u0000 cannot be held");
	expect_reject_mut("\"node-a\"", "\"a\tb\"", "raw control character 0x09");
	expect_reject_mut("\"node-a\"", "\"a\xffz\"", "invalid UTF-8");
	expect_reject_mut("\"node-a\"", "\"a\xc0\xafz\"", "invalid UTF-8");
	expect_reject_mut("\"node-a\"", "\"\xed\xa0\x80\"", "invalid UTF-8");
	expect_reject_mut("\"node-a\"", "\"a\xe2\x82\"", "invalid UTF-8");
	expect_reject("{\"format\":1,\"node_id\":\"abc", "offset 26: unterminated string");
	expect_reject_mut("\"node-a\"", "\"a\\", "bad escape '\\,'");
	expect_reject("{\"format\":1,\"node_id\":\"a\\", "offset 25: unterminated string");
	memset(big, 'x', sizeof(big));
	big[0] = '"';
	big[129] = '"';
	big[130] = '\0';	/* 128 bytes: one too many for target[128] */
	expect_reject_mut("\"llama\"", big, "string longer than 127 bytes");
	expect_reject_mut("\"probes\":[", "\"probes\":{", "expected '['");
	expect_reject_mut("}]}", "},]}", "expected '{'");
	expect_reject_mut("}]}", "}}}", "expected ',' or ']'");
	expect_reject_mut("\"format\":1,", "\"format\":1,\"x\":[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]],",
			  "nesting deeper than 16");
	expect_reject_mut("\"format\":1,", "\"format\":1,\"x\":nul,", "expected a value");

	t = malloc(strlen(known_json) + 8);
	assert_non_null(t);
	sprintf(t, "%s{}", known_json);
	expect_reject(t, "trailing data after the object");
	free(t);
}

/* Every truncation of a valid document is rejected, none crashes ASan. */
static void test_json_truncated(void **state)
{
	size_t len = strlen(known_json), n;
	char *t;

	for (n = 0; n < len - 1; n++) {	/* len - 1: only the final "\n" may go */
		t = strndup(known_json, n);
		assert_non_null(t);
		expect_reject(t, "");
		free(t);
	}
}

/* known_json with its one probe repeated n times. */
static char *json_with_probes(size_t n)
{
	const char *probe = strstr(known_json, "{\"target\"");
	size_t plen = strlen(probe) - strlen("]}\n"), i, len = 0;
	char *t = NULL;
	FILE *f = open_memstream(&t, &len);

	assert_non_null(f);
	fprintf(f, "%.*s", (int)(probe - known_json), known_json);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%.*s", i ? "," : "", (int)plen, probe);
	fprintf(f, "]}");
	assert_int_equal(fclose(f), 0);
	return t;
}

static void test_json_too_many_probes(void **state)
{
	struct st_status *s = calloc(1, sizeof(*s));
	char err[256], *t;

	assert_non_null(s);
	t = json_with_probes(ST_STATUS_MAX_PROBES + 1);
	expect_reject(t, "more than 256 probes");
	free(t);
	t = json_with_probes(ST_STATUS_MAX_PROBES);
	if (st_status_from_json(t, s, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(s->nprobes, ST_STATUS_MAX_PROBES);
	assert_string_equal(s->probes[ST_STATUS_MAX_PROBES - 1].probe, "llama:infer");
	free(t);
	free(s);
}

static void test_json_unknown_keys_skipped(void **state)
{
	char *t = mutate("\"format\":1,", "\"format\":1,\"future\":{\"a\":[1,\"x\\n\",true,"
			 "false,null,{}],\"b\":[]}, \"also\" : 0 ,");
	struct st_status *s = calloc(1, sizeof(*s));
	char err[256];

	assert_non_null(s);
	if (st_status_from_json(t, s, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(s->pid, 4242);
	assert_int_equal(s->probes[0].lost[ST_LOSS_RINGBUF_FULL], 1);
	free(t);
	free(s);
}

/* known_json with the wire section where the writer puts it. */
static char *wire_json(void)
{
	const char *at = strstr(known_json, "\"probes\":[");
	char *out;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - known_json), known_json,
			     wire_json_section, at) > 0);
	return out;
}

static void test_json_wire(void **state)
{
	struct st_status *s = wire_snapshot(), *back = calloc(1, sizeof(*back));
	char *want = wire_json(), *j = st_status_to_json(s), *t;
	char err[256];

	assert_non_null(back);
	assert_non_null(j);
	assert_string_equal(j, want);
	roundtrip(s);
	/* a file without the section (an agent without wire capture, or older) */
	assert_int_equal(st_status_from_json(known_json, back, err, sizeof(err)), 0);
	assert_false(back->has_wire);
	assert_int_equal(back->wire.recorded, 0);
	assert_int_equal(back->pid, 4242);
	/* with it: every figure back in its field */
	assert_int_equal(st_status_from_json(want, back, err, sizeof(err)), 0);
	assert_true(back->has_wire);
	assert_int_equal(back->wire.recorded, 1003);
	assert_int_equal(back->wire.requests_lost, 1007);
	assert_int_equal(back->wire.connections_open, 1015);
	assert_true(back->wire.ringbuf_used == UINT64_MAX);
	/* a section present is read strictly */
	t = strdup(want);
	assert_non_null(t);
	memcpy(strstr(t, "\"hole_bytes\""), "\"hole_bytez\"", 12);
	expect_reject(t, "missing key \"hole_bytes\" in wire");
	free(t);
	assert_true(asprintf(&t, "{%s%s", wire_json_section, want + 1) > 0);
	expect_reject(t, "duplicate key \"wire\" in status");
	free(t);
	t = strdup(want);
	assert_non_null(t);
	memcpy(strstr(t, "\"calls\":1001"), "\"calls\":-001", 12);
	expect_reject(t, "expected an unsigned integer");
	free(t);
	free(j);
	free(want);
	free(back);
	free(s);
}

/* ------------------------------------------------------------------ */
/* status.json on disk                                                 */
/* ------------------------------------------------------------------ */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

static void rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_status_write(void **state)
{
	char dir[] = "/tmp/st_status_XXXXXX", path[300], *text;
	struct st_status *s = known_snapshot();
	char err[512];

	assert_non_null(mkdtemp(dir));
	snprintf(s->state_dir, sizeof(s->state_dir), "%s", dir);
	assert_int_equal(st_status_write(s, err, sizeof(err)), 0);
	s->pid = 4343;				/* a second write replaces the first */
	assert_int_equal(st_status_write(s, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/agent/status.json", dir);
	text = slurp(path);
	assert_non_null(text);
	{
		char *expect = st_status_to_json(s);

		assert_string_equal(text, expect);
		free(expect);
	}
	free(text);
	snprintf(path, sizeof(path), "%s/agent/.status.json.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);	/* no temporary left */
	rm_rf(dir);

	/* The state dir itself is not created: it is the operator's. */
	assert_int_equal(st_status_write(s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/agent: No such file or directory"));
	s->state_dir[0] = '\0';
	assert_int_equal(st_status_write(s, err, sizeof(err)), -1);
	assert_string_equal(err, "status: no state_dir in the snapshot");
	free(s);
}

/* ------------------------------------------------------------------ */
/* Prometheus                                                          */
/* ------------------------------------------------------------------ */

struct prom_metric {
	char name[128];
	char type[16];
	bool help, closed;
	int samples;
};

struct prom_check {
	struct prom_metric m[64];
	size_t n;
	char series[512][512];
	size_t nseries;
	char err[256];
};

static int prom_err(struct prom_check *c, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->err, sizeof(c->err), "line %d: ", line);

	va_start(ap, fmt);
	vsnprintf(c->err + n, sizeof(c->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool valid_name(const char *s, size_t len, bool colon)
{
	size_t i;

	if (len == 0 || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && !(colon && s[i] == ':'))
			return false;
	return true;
}

static struct prom_metric *prom_find(struct prom_check *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strlen(c->m[i].name) == len && !strncmp(c->m[i].name, name, len))
			return &c->m[i];
	return NULL;
}

/* "# HELP name text" / "# TYPE name type" */
static int prom_comment(struct prom_check *c, int ln, const char *line)
{
	bool help = !strncmp(line, "# HELP ", 7);
	const char *name = line + 7, *sp;
	struct prom_metric *m;
	size_t i;

	if (!help && strncmp(line, "# TYPE ", 7))
		return prom_err(c, ln, "comment is neither HELP nor TYPE");
	sp = strchr(name, ' ');
	if (!sp || !valid_name(name, (size_t)(sp - name), true) || !sp[1])
		return prom_err(c, ln, "bad HELP/TYPE line");
	m = prom_find(c, name, (size_t)(sp - name));
	if (help) {
		if (m)
			return prom_err(c, ln, "second HELP or HELP after TYPE/samples");
		for (i = 0; i < c->n; i++)
			c->m[i].closed = true;
		assert_true(c->n < 64);
		m = &c->m[c->n++];
		snprintf(m->name, sizeof(m->name), "%.*s", (int)(sp - name), name);
		m->help = true;
		return 0;
	}
	if (!m || m->type[0] || m->samples)
		return prom_err(c, ln, "TYPE without HELP before it, twice, or after samples");
	if (strcmp(sp + 1, "counter") && strcmp(sp + 1, "gauge"))
		return prom_err(c, ln, "unexpected type '%s'", sp + 1);
	if (!strcmp(sp + 1, "counter") && (strlen(m->name) < 6 ||
					   strcmp(m->name + strlen(m->name) - 6, "_total")))
		return prom_err(c, ln, "counter %s does not end in _total", m->name);
	snprintf(m->type, sizeof(m->type), "%s", sp + 1);
	return 0;
}

/* {a="x",b="y\"z"}: returns the char after '}' or NULL. */
static const char *prom_labels(const char *p)
{
	const char *n;

	if (*p != '{')
		return p;
	p++;
	for (;;) {
		n = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (!valid_name(n, (size_t)(p - n), false) || p[0] != '=' || p[1] != '"')
			return NULL;
		for (p += 2; *p != '"'; p++) {
			if (!*p || *p == '\n')
				return NULL;
			if (*p == '\\' && p[1] != '\\' && p[1] != '"' && p[1] != 'n')
				return NULL;
			if (*p == '\\')
				p++;
		}
		p++;
		if (*p == '}')
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

static bool prom_value(const char *v)
{
	char *end;

	if (!strcmp(v, "+Inf") || !strcmp(v, "-Inf") || !strcmp(v, "NaN"))
		return true;
	if (!*v || isspace((unsigned char)*v))
		return false;
	errno = 0;
	strtod(v, &end);
	return !*end && !errno && !strpbrk(v, "xXiInN");
}

static int prom_sample(struct prom_check *c, int ln, const char *line)
{
	const char *p = line, *after;
	struct prom_metric *m;
	size_t i;

	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	if (!valid_name(line, (size_t)(p - line), true))
		return prom_err(c, ln, "bad metric name");
	m = prom_find(c, line, (size_t)(p - line));
	if (!m || !m->type[0])
		return prom_err(c, ln, "sample before HELP and TYPE");
	if (m->closed)
		return prom_err(c, ln, "samples of %s not contiguous", m->name);
	after = prom_labels(p);
	if (!after || *after != ' ' || !prom_value(after + 1))
		return prom_err(c, ln, "sample is not name{labels} value");
	for (i = 0; i < c->nseries; i++)
		if (strlen(c->series[i]) == (size_t)(after - line) &&
		    !strncmp(c->series[i], line, (size_t)(after - line)))
			return prom_err(c, ln, "duplicate series");
	assert_true(c->nseries < 512);
	snprintf(c->series[c->nseries++], sizeof(c->series[0]), "%.*s", (int)(after - line), line);
	m->samples++;
	return 0;
}

/* Strict check of a whole exposition; 0 or -1 with c->err. */
static int prom_check_text(struct prom_check *c, const char *text)
{
	char *copy = strdup(text), *save = NULL, *line;
	size_t len = strlen(text);
	int ln = 0, rc = 0;

	memset(c, 0, sizeof(*c));
	assert_non_null(copy);
	if (len == 0 || text[len - 1] != '\n')
		rc = prom_err(c, 0, "does not end in a newline");
	for (line = strtok_r(copy, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
		ln++;
		if (line[0] == '#')
			rc = prom_comment(c, ln, line);
		else
			rc = prom_sample(c, ln, line);
	}
	if (!rc && strstr(text, "\n\n"))
		rc = prom_err(c, 0, "empty line");
	free(copy);
	return rc;
}

static void test_prom_exact(void **state)
{
	struct st_status *s = known_snapshot();
	struct prom_check *c = calloc(1, sizeof(*c));
	char *t = st_status_to_prometheus(s);

	assert_non_null(t);
	assert_non_null(c);
	assert_string_equal(t, known_prom);
	if (prom_check_text(c, t))
		fail_msg("%s", c->err);
	assert_int_equal(c->n, 17);
	/* + 1: the lifecycle ring's loss series */
	assert_int_equal(c->nseries, 7 + ST_LOSS__COUNT + 1 + 2 + 2 + 7);
	free(t);
	free(s);
	free(c);
}

static void test_prom_wire(void **state)
{
	struct st_status *s = wire_snapshot();
	struct prom_check *c = calloc(1, sizeof(*c));
	char *t = st_status_to_prometheus(s), *want;

	assert_non_null(t);
	assert_non_null(c);
	assert_true(asprintf(&want, "%s%s", known_prom, wire_prom) > 0);
	assert_string_equal(t, want);
	if (prom_check_text(c, t))
		fail_msg("%s", c->err);
	assert_int_equal(c->n, 17 + 12);
	assert_int_equal(c->nseries, 7 + ST_LOSS__COUNT + 1 + 2 + 2 + 7 + 17);
	free(want);
	free(t);
	free(s);
	free(c);
}

static void test_prom_escaping(void **state)
{
	struct st_status *s = odd_snapshot();
	struct prom_check *c = calloc(1, sizeof(*c));
	char *t;

	assert_non_null(c);
	s->nprobes = 4;
	snprintf(s->probes[3].target, sizeof(s->probes[3].target), "bad\xff");
	s->probes[3].attached = true;
	s->probes[3].last_event_ns = 2000;
	t = st_status_to_prometheus(s);
	assert_non_null(t);
	if (prom_check_text(c, t))
		fail_msg("%s\n%s", c->err, t);
	/* Only backslash, quote and newline are escaped; the rest is verbatim. */
	assert_non_null(strstr(t, "sealtrace_probe_hits_total{target=\"quote\\\"back\\\\slash\","
			       "probe=\"quote\\\"back\\\\slash:sym0\"} 18446744073709551615\n"));
	assert_non_null(strstr(t, "sealtrace_probe_attached{target=\"ctl\x01\x02\x1f\x7f\b\f\\n\r\t end\","));
	assert_non_null(strstr(t, "{target=\"utf8 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 /slash\","));
	assert_non_null(strstr(t, "sealtrace_probe_attached{target=\"bad\xef\xbf\xbd\",probe=\"\"} 1\n"));
	assert_non_null(strstr(t, "reason=\"write_failed\"} 100\n"));
	assert_non_null(strstr(t, "sealtrace_canary_ok 0\n"));
	assert_non_null(strstr(t, "sealtrace_chain_seq{stream=\"system\"} 18446744073709551615\n"));
	assert_non_null(strstr(t, "sealtrace_status_updated_timestamp_seconds 18446744073.709551615\n"));
	assert_non_null(strstr(t, "sealtrace_probe_last_event_timestamp_seconds{target=\"bad\xef\xbf\xbd\","
			       "probe=\"\"} 0.000002000\n"));
	free(t);
	free(s);
	free(c);
}

/* The checker itself must catch what it claims to. */
static void test_prom_checker_rejects(void **state)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "x 1\n", "line 1: sample before HELP and TYPE" },
		{ "# HELP x h\nx 1\n", "line 2: sample before HELP and TYPE" },
		{ "# TYPE x gauge\n", "line 1: TYPE without HELP" },
		{ "# HELP x h\n# TYPE x counter\n", "counter x does not end in _total" },
		{ "# HELP x h\n# TYPE x gauge\nx{a=\"b} 1\n", "line 3: sample is not" },
		{ "# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n", "line 3: sample is not" },
		{ "# HELP x h\n# TYPE x gauge\nx{a=\"b\",} 1\n", "line 3: sample is not" },
		{ "# HELP x h\n# TYPE x gauge\nx{1a=\"b\"} 1\n", "line 3: sample is not" },
		{ "# HELP x h\n# TYPE x gauge\nx 1x\n", "line 3: sample is not" },
		{ "# HELP x h\n# TYPE x gauge\nx  1\n", "line 3: sample is not" },
		{ "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n", "line 4: duplicate series" },
		{ "# HELP x h\n# TYPE x gauge\n# HELP y h\n# TYPE y gauge\nx 1\n",
		  "line 5: samples of x not contiguous" },
		{ "# HELP x h\n# TYPE x summary\n", "unexpected type" },
		{ "# HELP x h\n# TYPE x gauge\nx 1", "does not end in a newline" },
		{ "# hello\n", "neither HELP nor TYPE" },
	};
	struct prom_check *c = calloc(1, sizeof(*c));
	size_t i;

	assert_non_null(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (prom_check_text(c, bad[i].text) == 0)
			fail_msg("accepted: %s", bad[i].text);
		if (!strstr(c->err, bad[i].msg))
			fail_msg("'%s' lacks '%s'", c->err, bad[i].msg);
	}
	assert_int_equal(prom_check_text(c, "# HELP x h\n# TYPE x gauge\nx{a=\"\\\\\\\"\\n\"} +Inf\n"
					 "# HELP y_total h\n# TYPE y_total counter\ny_total NaN\n"), 0);
	free(c);
}

/* ------------------------------------------------------------------ */
/* Health                                                              */
/* ------------------------------------------------------------------ */

static void test_health(void **state)
{
	struct st_status *s = known_snapshot();
	uint64_t t = s->updated_ns;
	char why[256];

	assert_int_equal(st_status_health(NULL, t, why, sizeof(why)), -1);
	assert_string_equal(why, "no status snapshot published yet");
	assert_int_equal(st_status_health(s, t, why, sizeof(why)), 0);
	assert_string_equal(why, "ok");
	assert_int_equal(st_status_health(s, t - 5, why, sizeof(why)), 0);	/* clock skew */
	assert_int_equal(st_status_health(s, t + 3000000000ull, why, sizeof(why)), 0);
	assert_int_equal(st_status_health(s, t + 3000000001ull, why, sizeof(why)), -1);
	assert_string_equal(why, "status snapshot stale: updated 3.0 s ago (limit 3.0 s)");
	s->interval_ns = 0;	/* unset: 1 s assumed */
	assert_int_equal(st_status_stale_after_ns(s), 3000000000ull);
	s->interval_ns = 5000000000ull;
	assert_int_equal(st_status_stale_after_ns(s), 15000000000ull);
	assert_int_equal(st_status_health(s, t + 10000000000ull, why, sizeof(why)), 0);
	s->canary_ok = false;
	assert_int_equal(st_status_health(s, t, why, sizeof(why)), -1);
	assert_string_equal(why, "canary failed: kernel -> ring buffer -> agent path not alive");
	s->canary_ok = true;
	s->probes[0].attached = false;
	assert_int_equal(st_status_health(s, t, why, sizeof(why)), -1);
	assert_string_equal(why, "probe llama:infer not attached");
	free(s);
}

/* ------------------------------------------------------------------ */
/* Metrics server over a plain socket                                  */
/* ------------------------------------------------------------------ */

struct http_reply {
	int code;
	char head[2048];
	char *body;
	size_t body_len;
};

static int http_request(int family, int port, const char *method, const char *path,
			struct http_reply *r)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	char req[256], *buf = NULL, *sep;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
		 "Content-Length: 0\r\n\r\n", method, path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		if (cap - len < 4096) {
			char *grown;

			cap = cap * 2 + 8192;
			grown = realloc(buf, cap);
			assert_non_null(grown);
			buf = grown;
		}
		n = read(fd, buf + len, cap - len - 1);
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	memset(r, 0, sizeof(*r));
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d ", &r->code), 1);
	sep = strstr(buf, "\r\n\r\n");
	assert_non_null(sep);
	snprintf(r->head, sizeof(r->head), "%.*s", (int)(sep - buf), buf);
	r->body_len = len - (size_t)(sep + 4 - buf);
	r->body = strdup(sep + 4);
	free(buf);
	return r->code;
}

static void test_metrics_server(void **state)
{
	struct st_metrics *m = NULL;
	struct st_status *s = known_snapshot();
	struct prom_check *c = calloc(1, sizeof(*c));
	struct http_reply r;
	char err[256], *expect;
	int port;

	assert_non_null(c);
	if (st_metrics_start(&m, "127.0.0.1:0", err, sizeof(err)))
		fail_msg("%s", err);
	port = st_metrics_port(m);
	assert_true(port > 0 && port < 65536);

	assert_int_equal(http_request(AF_INET, port, "GET", "/metrics", &r), 503);
	assert_string_equal(r.body, "no status snapshot published yet\n");
	free(r.body);
	assert_int_equal(http_request(AF_INET, port, "GET", "/healthz", &r), 503);
	assert_string_equal(r.body, "no status snapshot published yet\n");
	free(r.body);

	s->updated_ns = now_ns();
	st_metrics_publish(m, s);
	s->pid = 1;		/* publish copied: later edits are not served */
	assert_int_equal(http_request(AF_INET, port, "GET", "/metrics", &r), 200);
	assert_non_null(strstr(r.head, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"));
	s->pid = 4242;
	expect = st_status_to_prometheus(s);
	assert_string_equal(r.body, expect);
	if (prom_check_text(c, r.body))
		fail_msg("%s", c->err);
	free(expect);
	free(r.body);

	assert_int_equal(http_request(AF_INET, port, "GET", "/metrics?x=1", &r), 200);
	free(r.body);
	assert_int_equal(http_request(AF_INET, port, "HEAD", "/metrics", &r), 200);
	assert_int_equal(r.body_len, 0);
	free(r.body);
	assert_int_equal(http_request(AF_INET, port, "GET", "/healthz", &r), 200);
	assert_string_equal(r.body, "ok\n");
	free(r.body);
	assert_int_equal(http_request(AF_INET, port, "GET", "/", &r), 404);
	free(r.body);
	assert_int_equal(http_request(AF_INET, port, "GET", "/metricsx", &r), 404);
	free(r.body);
	assert_int_equal(http_request(AF_INET, port, "POST", "/metrics", &r), 405);
	assert_non_null(strstr(r.head, "\r\nAllow: GET, HEAD"));
	free(r.body);

	s->probes[0].attached = false;
	st_metrics_publish(m, s);
	assert_int_equal(http_request(AF_INET, port, "GET", "/healthz", &r), 503);
	assert_string_equal(r.body, "probe llama:infer not attached\n");
	free(r.body);
	s->probes[0].attached = true;
	s->canary_ok = false;
	st_metrics_publish(m, s);
	assert_int_equal(http_request(AF_INET, port, "GET", "/healthz", &r), 503);
	assert_string_equal(r.body, "canary failed: kernel -> ring buffer -> agent path not alive\n");
	free(r.body);
	s->canary_ok = true;
	s->updated_ns = now_ns() - 10000000000ull;
	st_metrics_publish(m, s);
	assert_int_equal(http_request(AF_INET, port, "GET", "/healthz", &r), 503);
	assert_non_null(strstr(r.body, "status snapshot stale: updated 10."));
	assert_non_null(strstr(r.body, " s ago (limit 3.0 s)\n"));
	free(r.body);

	st_metrics_stop(m);
	st_metrics_stop(NULL);
	free(s);
	free(c);
}

static void test_metrics_ipv6(void **state)
{
	struct st_metrics *m = NULL;
	struct st_status *s = known_snapshot();
	struct http_reply r;
	char err[256];

	if (st_metrics_start(&m, "[::1]:0", err, sizeof(err))) {
		/* A container without IPv6 loopback: only that is acceptable. */
		free(s);
		assert_non_null(strstr(err, "Cannot assign requested address"));
		skip();
		return;
	}
	s->updated_ns = now_ns();
	st_metrics_publish(m, s);
	assert_int_equal(http_request(AF_INET6, st_metrics_port(m), "GET", "/healthz", &r), 200);
	assert_string_equal(r.body, "ok\n");
	free(r.body);
	st_metrics_stop(m);
	free(s);
}

static void test_metrics_listen_errors(void **state)
{
	static const struct { const char *listen, *msg; } bad[] = {
		{ "9464", "listen '9464': expected HOST:PORT" },
		{ ":9464", "listen ':9464': empty host" },
		{ "127.0.0.1:", "listen '127.0.0.1:': port must be 0..65535" },
		{ "127.0.0.1:65536", "port must be 0..65535" },
		{ "127.0.0.1:-1", "port must be 0..65535" },
		{ "127.0.0.1:80x", "port must be 0..65535" },
		{ "::1:9464", "IPv6 addresses in brackets" },
		{ "[::1]9464", "expected [IPV6]:PORT" },
		{ "[::1:9464", "expected [IPV6]:PORT" },
		{ "[]:9464", "empty host" },
		{ "256.1.1.1:9464", "listen '256.1.1.1:9464': " },
	};
	struct st_metrics *m = NULL, *m2 = (struct st_metrics *)&m;
	char err[256], addr[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(st_metrics_start(&m2, bad[i].listen, err, sizeof(err)), -1);
		assert_null(m2);
		if (!strstr(err, bad[i].msg))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].listen, err, bad[i].msg);
	}
	/* A port in use is reported with its errno. */
	assert_int_equal(st_metrics_start(&m, "127.0.0.1:0", err, sizeof(err)), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", st_metrics_port(m));
	assert_int_equal(st_metrics_start(&m2, addr, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Address already in use"));
	st_metrics_stop(m);
	/* localhost resolves. */
	assert_int_equal(st_metrics_start(&m, "localhost:0", err, sizeof(err)), 0);
	st_metrics_stop(m);
}

/* ------------------------------------------------------------------ */
/* sealtrace status                                                    */
/* ------------------------------------------------------------------ */

#define END ((const char *)NULL)	/* run_status's argument list ends here */

struct cmd_out {
	int rc;
	char *out;
	char *err;
};

/* Run cmd_status with stdout and stderr captured in files. */
static struct cmd_out run_status(const char *arg0, ...)
{
	char *argv[16], tmpl[] = "/tmp/st_out_XXXXXX", etmpl[] = "/tmp/st_err_XXXXXX";
	struct cmd_out o;
	int argc = 0, fd, efd, saved, esaved;
	va_list ap;

	argv[argc++] = (char *)"status";
	va_start(ap, arg0);
	for (const char *a = arg0; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fd = mkstemp(tmpl);
	efd = mkstemp(etmpl);
	assert_true(fd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved = dup(1);
	esaved = dup(2);
	dup2(fd, 1);
	dup2(efd, 2);
	o.rc = cmd_status(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(esaved, 2);
	close(saved);
	close(esaved);
	close(fd);
	close(efd);
	o.out = slurp(tmpl);
	o.err = slurp(etmpl);
	unlink(tmpl);
	unlink(etmpl);
	return o;
}

static void write_snapshot(const char *dir, struct st_status *s)
{
	char err[256];

	snprintf(s->state_dir, sizeof(s->state_dir), "%s", dir);
	if (st_status_write(s, err, sizeof(err)))
		fail_msg("%s", err);
}

/* A live, complete snapshot of this process. */
static struct st_status *live_snapshot(void)
{
	struct st_status *s = known_snapshot();

	s->pid = getpid();
	s->updated_ns = now_ns();
	s->started_ns = s->updated_ns - 3723000000000ull;	/* 1h02m03s */
	s->last_checkpoint_ns = 0;
	s->probes[0].lost[ST_LOSS_RINGBUF_FULL] = 0;
	s->lifecycle_lost = 0;
	s->probes[0].in_flight = 1;				/* 3 + 0 + 1 = 4 hits */
	s->probes[0].last_event_ns = s->updated_ns - 5000000000ull;
	return s;
}

static void expect_status(const char *dir, int rc, const char *needle, const char *extra)
{
	struct cmd_out o = extra ? run_status("--state-dir", dir, extra, END)
				 : run_status("--state-dir", dir, END);

	if (o.rc != rc || !strstr(o.out, needle))
		fail_msg("rc %d (want %d), output lacks '%s':\n%s", o.rc, rc, needle, o.out);
	free(o.out);
	free(o.err);
}

static void test_status_cmd(void **state)
{
	char dir[] = "/tmp/st_cmd_XXXXXX", path[300];
	struct st_status *s = live_snapshot();
	struct cmd_out o;
	pid_t child;
	FILE *f;

	assert_non_null(mkdtemp(dir));

	/* Missing file: 2, and --json still says why. */
	expect_status(dir, 2, "\"verdict\":\"unavailable\"", "--json");
	expect_status(dir, 2, "No such file or directory (agent never ran", "--json");

	write_snapshot(dir, s);
	expect_status(dir, 0, "\ncomplete\n", NULL);
	expect_status(dir, 0, "llama            llama:infer                      yes     "
		      "            4            3          0   100.00%         1  5.", NULL);
	expect_status(dir, 0, "last checkpoint: never   canary: ok   ring buffer: 4096 / "
		      "16777216 bytes\n", NULL);
	expect_status(dir, 0, "started 1h02m ago", NULL);
	expect_status(dir, 0, "{\"exit\":0,\"verdict\":\"complete\",\"verdict_basis\":\"cumulative\",\"reasons\":[],\"notes\":[],\"agent\":{\"pid\":", "--json");
	expect_status(dir, 0, "\"hits\":4,\"persisted\":3,\"lost_total\":0,\"lost\":{\"ringbuf_full\":0,"
		      "\"capture_fault\":0,\"agent_down\":0,\"unpaired\":0,\"write_failed\":0},\"in_flight\":1,"
		      "\"truncated\":2,\"unaccounted\":0,\"coverage_percent\":100,", "--json");
	expect_status(dir, 0, "\"last_checkpoint_age_s\":null", "--json");

	/* Lost calls: 1, with the coverage figure. */
	s->probes[0].in_flight = 0;
	s->probes[0].lost[ST_LOSS_AGENT_DOWN] = 1;
	write_snapshot(dir, s);
	expect_status(dir, 1, "incomplete: probe llama:infer lost 1 of 4 calls (coverage 75.00 %)", NULL);
	expect_status(dir, 1, "    lost by reason: ringbuf_full=0 capture_fault=0 agent_down=1 unpaired=0 write_failed=0\n", NULL);
	expect_status(dir, 1, "{\"exit\":1,\"verdict\":\"incomplete\"", "--json");

	/* Calls unaccounted for are a loss too. */
	s->probes[0].lost[ST_LOSS_AGENT_DOWN] = 0;
	write_snapshot(dir, s);
	expect_status(dir, 1, "probe llama:infer: 1 calls unaccounted", NULL);

	/* Discovery events lost (lifecycle ring full) fail the check too. */
	s->probes[0].in_flight = 1;
	s->lifecycle_lost = 3;
	write_snapshot(dir, s);
	expect_status(dir, 1, "incomplete: lifecycle lost 3 discovery events (exec, exit, "
		      "library open or model read: ring full)", NULL);
	expect_status(dir, 1, "lifecycle: 3 discovery events lost (ring full)\n", NULL);
	expect_status(dir, 1, ",\"lifecycle_events_lost\":3", "--json");
	s->lifecycle_lost = 0;
	s->probes[0].in_flight = 0;

	/* 99.995 % prints floored, never as 100.00 %. */
	s->probes[0].hits = 20000;
	s->probes[0].persisted = 19999;
	s->probes[0].lost[ST_LOSS_UNPAIRED] = 1;
	write_snapshot(dir, s);
	expect_status(dir, 1, " 99.99% ", NULL);
	s->probes[0].hits = 4;
	s->probes[0].persisted = 3;
	s->probes[0].lost[ST_LOSS_UNPAIRED] = 0;
	s->probes[0].in_flight = 1;

	/* Not attached wins over everything: 2. */
	s->probes[0].attached = false;
	s->probes[0].lost[ST_LOSS_RINGBUF_FULL] = 1;
	s->probes[0].in_flight = 0;
	write_snapshot(dir, s);
	expect_status(dir, 2, "not_running: probe llama:infer not attached; probe llama:infer lost 1", NULL);
	s->probes[0].attached = true;
	s->probes[0].lost[ST_LOSS_RINGBUF_FULL] = 0;
	s->probes[0].in_flight = 1;

	/* Stale snapshot: 2. */
	s->updated_ns = now_ns() - 4000000000ull;
	write_snapshot(dir, s);
	expect_status(dir, 2, "agent not running: snapshot is 4.", NULL);
	expect_status(dir, 2, "(limit 3 x interval = 3.0 s)", NULL);
	s->updated_ns = now_ns();

	/* Dead pid: 2. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	s->pid = child;
	write_snapshot(dir, s);
	expect_status(dir, 2, "agent: pid", NULL);
	expect_status(dir, 2, "not running: pid", NULL);
	s->pid = getpid();

	/* Canary failed, and no probes: 2. */
	s->canary_ok = false;
	write_snapshot(dir, s);
	expect_status(dir, 2, "canary: FAILED", NULL);
	s->canary_ok = true;
	s->nprobes = 0;
	write_snapshot(dir, s);
	expect_status(dir, 2, "no probes in the snapshot", NULL);
	s->nprobes = 1;

	/*
	 * --since hides probes without a recent event, and judges losses by
	 * the log's loss records since TIME: there is no log here, so the
	 * cumulative loss of the snapshot is a note and the window is clean.
	 */
	s->probes[0].last_event_ns = now_ns() - 7200000000000ull;	/* 2 h ago */
	s->probes[0].in_flight = 0;
	s->probes[0].lost[ST_LOSS_CAPTURE_FAULT] = 1;
	write_snapshot(dir, s);
	expect_status(dir, 1, "incomplete: probe llama:infer lost 1 of 4 calls", NULL);
	o = run_status("--state-dir", dir, "--since", "1h", END);
	assert_int_equal(o.rc, 0);
	assert_null(strstr(o.out, "llama:infer      "));
	assert_non_null(strstr(o.out, "(1 probe without events since --since not shown)\n"
			       "\ncomplete\nnote: cumulative: probe llama:infer lost 1 of 4 calls "
			       "since attached (coverage 75.00 %)\n"));
	assert_non_null(strstr(o.out, "from the log: system 0 records read in 0 segments "
			       "(0 skipped), decision 0 records read in 0 segments (0 skipped)\n"));
	free(o.out);
	free(o.err);
	o = run_status("--state-dir", dir, "--since", "3h", "--json", END);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "{\"exit\":0,\"verdict\":\"complete\",\"verdict_basis\":"
			       "\"window\",\"reasons\":[],\"notes\":[\"cumulative: probe llama:infer "
			       "lost 1 of 4 calls since attached (coverage 75.00 %)\"],"));
	assert_non_null(strstr(o.out, "\"probes_hidden\":0}"));
	free(o.out);
	free(o.err);
	o = run_status("-d", dir, "-s", "2030-01-01T00:00:00Z", "-j", END);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "\"since_ns\":1893456000000000000,\"window\":{\"since_ns\":"
			       "1893456000000000000,\"since\":\"2030-01-01T00:00:00.000000000Z\","
			       "\"loss_records\":0,\"log\":{\"decision\":{\"records_read\":0,"
			       "\"segments_read\":0,\"segments_skipped\":0},\"system\":{"
			       "\"records_read\":0,\"segments_read\":0,\"segments_skipped\":0}},"
			       "\"probes\":[]},\"probes\":[],\"probes_hidden\":1}"));
	free(o.out);
	free(o.err);

	/* Corrupt: truncated, and a NUL inside. */
	snprintf(path, sizeof(path), "%s/agent/status.json", dir);
	assert_int_equal(truncate(path, 100), 0);
	expect_status(dir, 2, "\"verdict\":\"unavailable\",\"reasons\":[\"", "--json");
	expect_status(dir, 2, "/agent/status.json: corrupt: status.json: offset 100: "
		      "unterminated string", "--json");
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite("{\0}", 1, 3, f);
	fclose(f);
	expect_status(dir, 2, "corrupt: contains a NUL byte", "--json");

	rm_rf(dir);
	free(s);
}

/* An http:-only agent: no probes, the wire section decides. */
static void test_status_cmd_wire(void **state)
{
	char dir[] = "/tmp/st_cmdw_XXXXXX";
	struct st_status *s = live_snapshot();
	struct st_wire_status *w = &s->wire;
	struct cmd_out o;

	assert_non_null(mkdtemp(dir));
	s->nprobes = 0;
	s->has_wire = true;
	w->calls = 6000;
	w->events = 4100;
	w->recorded = 2000;
	w->excluded = 74;
	w->connections_open = 3;
	w->ringbuf_size = 16777216;
	w->ringbuf_used = 512;
	w->sendfile_bytes = 9;
	write_snapshot(dir, s);
	o = run_status("--state-dir", dir, END);
	assert_int_equal(o.rc, 0);
	if (!strstr(o.out, "\nwire: exchanges 2000 recorded, 0 incomplete, 74 excluded (not "
		    "inferences), 0 not written; 3 connections open\n"
		    "  lost: 0 requests, 0 events, 0 bytes (ring full); 0 connections untracked "
		    "(table full); 0 TLS calls unattributed\n"
		    "  not captured: 0 bytes unattributed, 0 in holes, 9 sendfile; kernel: 6000 "
		    "calls, 4100 events; ring buffer: 512 / 16777216 bytes\n"))
		fail_msg("%s", o.out);
	assert_non_null(strstr(o.out, "\ncomplete\n"));
	free(o.out);
	free(o.err);
	expect_status(dir, 0, ",\"wire\":{\"calls\":6000,\"events\":4100,\"recorded\":2000,"
		      "\"incomplete\":0,\"excluded\":74,\"write_failed\":0,\"requests_lost\":0,"
		      "\"events_lost\":0,\"bytes_lost\":0,\"connections_untracked\":0,"
		      "\"tls_unattributed\":0,\"unattributed_bytes\":0,\"hole_bytes\":0,"
		      "\"sendfile_bytes\":9,\"connections_open\":3,\"ringbuf_size\":16777216,"
		      "\"ringbuf_used\":512},\"probes\":[],\"probes_hidden\":0}\n", "--json");

	/* the ring lost events: 1, whatever the requests count says */
	w->events_lost = 2;
	w->bytes_lost = 8192;
	write_snapshot(dir, s);
	expect_status(dir, 1, "\nincomplete: wire capture lost 0 requests (2 events, 8192 bytes: "
		      "ring full), 0 connections untracked, 0 TLS calls unattributed, 0 records "
		      "not written\n", NULL);
	w->events_lost = 0;
	w->bytes_lost = 0;
	w->connections_untracked = 1;
	write_snapshot(dir, s);
	expect_status(dir, 1, "1 connections untracked", NULL);
	w->connections_untracked = 0;
	w->tls_unattributed = 1;
	write_snapshot(dir, s);
	expect_status(dir, 1, "1 TLS calls unattributed", NULL);
	w->tls_unattributed = 0;
	w->write_failed = 1;
	write_snapshot(dir, s);
	expect_status(dir, 1, "1 records not written", NULL);
	/* with --since the log's loss records judge; the cumulative figure is a note */
	o = run_status("--state-dir", dir, "--since", "1h", END);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "\ncomplete\nnote: cumulative: wire capture lost 0 "
			       "requests (0 events, 0 bytes: ring full), 0 connections untracked, "
			       "0 TLS calls unattributed, 1 records not written\n"));
	free(o.out);
	free(o.err);
	/* neither probes nor wire capture: nothing runs */
	s->has_wire = false;
	write_snapshot(dir, s);
	expect_status(dir, 2, "no probes in the snapshot", NULL);
	rm_rf(dir);
	free(s);
}

static void test_status_cmd_usage(void **state)
{
	struct cmd_out o;

	o = run_status("--help", END);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "usage: sealtrace status --state-dir DIR [--since TIME] [--json]"));
	assert_non_null(strstr(o.out, "Exit status:\n  0  every probe complete"));
	assert_non_null(strstr(o.out, "  2  agent or probes not running"));
	assert_non_null(strstr(o.out, "  -s, --since TIME     judge losses in a window: \"were calls "
			       "lost since TIME?\"\n"));
	assert_non_null(strstr(o.out, "with --since: a loss record since TIME\n"));
	free(o.out);
	free(o.err);
	o = run_status(END);
	assert_int_equal(o.rc, 2);
	assert_non_null(strstr(o.err, "sealtrace status: --state-dir is required\nusage:"));
	free(o.out);
	free(o.err);
	o = run_status("--state-dir", "/nonexistent", "extra", END);
	assert_int_equal(o.rc, 2);
	assert_non_null(strstr(o.err, "sealtrace status: unexpected argument\n"));
	free(o.out);
	free(o.err);
	o = run_status("--state-dir", "/nonexistent", END);
	assert_int_equal(o.rc, 2);
	assert_string_equal(o.out, "");
	assert_string_equal(o.err, "sealtrace status: /nonexistent/agent/status.json: No such file "
			    "or directory (agent never ran with this state dir?)\n");
	free(o.out);
	free(o.err);
	o = run_status("--state-dir", "/nonexistent", "--since", "yesterday", END);
	assert_int_equal(o.rc, 2);
	assert_non_null(strstr(o.err, "sealtrace status: bad --since 'yesterday'"));
	free(o.out);
	free(o.err);
	o = run_status("--state-dir", "/nonexistent", "--since", "5w", END);
	assert_int_equal(o.rc, 2);
	free(o.out);
	free(o.err);
	/* unix seconds of today are in range; a ns clock overflow is not */
	o = run_status("--state-dir", "/nonexistent", "--since", "1893456000", END);
	assert_int_equal(o.rc, 2);
	assert_null(strstr(o.err, "bad --since"));
	free(o.out);
	free(o.err);
	o = run_status("--state-dir", "/nonexistent", "--since", "18446744074", END);
	assert_int_equal(o.rc, 2);
	assert_non_null(strstr(o.err, "sealtrace status: bad --since '18446744074'"));
	free(o.out);
	free(o.err);
	o = run_status("--state-dir", "/nonexistent", "--since", "213504d", END);
	assert_int_equal(o.rc, 2);
	assert_non_null(strstr(o.err, "sealtrace status: bad --since '213504d'"));
	free(o.out);
	free(o.err);
	o = run_status("--bogus", END);
	assert_int_equal(o.rc, 2);
	free(o.out);
	free(o.err);
}

/* ------------------------------------------------------------------ */
/* status --since: the window read back from the log                   */
/* ------------------------------------------------------------------ */

#define MIN_NS	(60ull * 1000000000ull)

struct wlog {
	struct st_log *log;
	uint64_t now;
};

static void wlog_open(struct wlog *wl, const char *dir, const char *keys)
{
	struct st_log_opts o = {
		.state_dir = dir, .keys_dir = keys, .system_id = "sys",
		.operator_id = "op", .node_id = "n1",
		/* small segments, so that some hold only old records */
		.seg_max_records = 4,
	};
	char err[512];

	if (st_log_open(&wl->log, &o, err, sizeof(err)))
		fail_msg("st_log_open: %s", err);
}

static void wlog_append(struct wlog *wl, struct st_record *r)
{
	char err[512];

	r->input_len = r->output_len = r->duration_ns = -1;
	if (st_log_append(wl->log, r, err, sizeof(err)))
		fail_msg("st_log_append: %s", err);
}

static void add_call(struct wlog *wl, const char *probe, enum st_event_type t, uint64_t ago)
{
	struct st_record r = { .type = t, .timestamp_ns = wl->now - ago, .probe = probe };

	wlog_append(wl, &r);
}

static void add_loss_rec(struct wlog *wl, const char *probe, const char *reason, uint64_t count,
			 uint64_t ago)
{
	struct st_kv d[2] = {
		{ .key = "count", .kind = ST_KV_UINT, .v.u = count },
		{ .key = "reason", .kind = ST_KV_STR, .v.s = reason },
	};
	struct st_record r = {
		.type = ST_ET_LOSS, .timestamp_ns = wl->now - ago, .probe = probe,
		.details = d, .ndetails = 2,
	};

	wlog_append(wl, &r);
}

static void add_heartbeat(struct wlog *wl, uint64_t ago)
{
	struct st_record r = { .type = ST_ET_HEARTBEAT, .timestamp_ns = wl->now - ago };

	wlog_append(wl, &r);
}

static void wlog_close(struct wlog *wl)
{
	char err[512];

	if (st_log_close(wl->log, err, sizeof(err)))
		fail_msg("st_log_close: %s", err);
}

/* Set a segment's mtime, as if it had last been written `ago` before now. */
static void age_segment(const char *state, const char *stream, uint64_t first, uint64_t ago)
{
	char name[ST_SEG_NAME_LEN + 1], path[400];
	uint64_t t = now_ns() - ago;
	struct timespec ts[2] = {
		{ .tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull) },
		{ .tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull) },
	};

	st_seg_name(first, name);
	snprintf(path, sizeof(path), "%s/%s/%s", state, stream, name);
	if (utimensat(AT_FDCWD, path, ts, 0))
		fail_msg("utimensat %s: %s", path, strerror(errno));
}

static uint64_t segments_in(const char *state, const char *stream)
{
	struct st_seg_list l = { 0 };
	char dir[400], err[256];
	uint64_t n;

	snprintf(dir, sizeof(dir), "%s/%s", state, stream);
	if (st_seg_list(dir, &l, err, sizeof(err)))
		fail_msg("%s", err);
	n = l.n;
	st_seg_list_free(&l);
	return n;
}

/*
 * The log of the window tests, `now` = when it was written:
 *  system:   seq 0 the checkpoint of st_log_open (now), then
 *            1 loss llama:infer agent_down 3 (2 h ago), 2..3 heartbeats
 *            (2 h ago) | 4 loss llama:infer ringbuf_full 2 (10 min ago),
 *            5 loss llama:infer "future_reason" 4 (10 min ago), 6 loss
 *            pinned:7 capture_fault 1 (3 min ago), 7 heartbeat (1 min
 *            ago) | 8.. the checkpoint(s) of st_log_close (now)
 *  decision: 0..7 inference llama:infer (2 h ago) | 8..9 inference
 *            (5 min ago), 10 incomplete (1 min ago), 11 inference of
 *            llama:other (1 min ago)
 * Segments of 4 records; those with only old records get an old mtime.
 */
static void window_log(const char *state, const char *keys)
{
	struct wlog wl = { .now = now_ns() };
	int i;

	wlog_open(&wl, state, keys);
	add_loss_rec(&wl, "llama:infer", "agent_down", 3, 120 * MIN_NS);
	add_heartbeat(&wl, 120 * MIN_NS);
	add_heartbeat(&wl, 120 * MIN_NS);
	add_loss_rec(&wl, "llama:infer", "ringbuf_full", 2, 10 * MIN_NS);
	add_loss_rec(&wl, "llama:infer", "future_reason", 4, 10 * MIN_NS);
	add_loss_rec(&wl, "pinned:7", "capture_fault", 1, 3 * MIN_NS);
	add_heartbeat(&wl, 1 * MIN_NS);
	for (i = 0; i < 8; i++)
		add_call(&wl, "llama:infer", ST_ET_INFERENCE, 120 * MIN_NS);
	add_call(&wl, "llama:infer", ST_ET_INFERENCE, 5 * MIN_NS);
	add_call(&wl, "llama:infer", ST_ET_INFERENCE, 5 * MIN_NS);
	add_call(&wl, "llama:infer", ST_ET_INCOMPLETE, 1 * MIN_NS);
	add_call(&wl, "llama:other", ST_ET_INFERENCE, 1 * MIN_NS);
	wlog_close(&wl);
	assert_int_equal(segments_in(state, "decision"), 3);
	assert_int_equal(segments_in(state, "system"), 3);
	age_segment(state, "decision", 0, 120 * MIN_NS);
	age_segment(state, "decision", 4, 120 * MIN_NS);
}

static void expect_window_probe(const struct st_window *w, const char *probe, uint64_t persisted,
				uint64_t loss_records, const uint64_t lost[ST_LOSS__COUNT],
				uint64_t other)
{
	const struct st_window_probe *p = st_window_probe(w, probe);
	int r;

	if (!p)
		fail_msg("probe %s not in the window", probe);
	assert_int_equal(p->persisted, persisted);
	assert_int_equal(p->loss_records, loss_records);
	for (r = 0; r < ST_LOSS__COUNT; r++)
		if (p->lost[r] != lost[r])
			fail_msg("%s lost %s = %" PRIu64 ", want %" PRIu64, probe,
				 st_loss_reason_name(r), p->lost[r], lost[r]);
	assert_int_equal(p->lost_other, other);
}

static void test_window_read(void **state)
{
	char dir[] = "/tmp/st_win_XXXXXX", keys[300], st[300], err[1024];
	uint64_t none[ST_LOSS__COUNT] = { 0 }, lost[ST_LOSS__COUNT] = { 0 };
	struct st_window w;
	uint64_t now;

	assert_non_null(mkdtemp(dir));
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(st, sizeof(st), "%s/state", dir);
	assert_int_equal(st_keys_generate(keys, err, sizeof(err)), 0);
	window_log(st, keys);
	now = now_ns();

	/* The last hour: the two old decision segments are skipped unread. */
	assert_int_equal(st_window_read(st, now - 60 * MIN_NS, false, false, &w, err,
					sizeof(err)), 0);
	assert_int_equal(w.loss_records, 3);
	assert_int_equal(w.nprobes, 3);
	lost[ST_LOSS_RINGBUF_FULL] = 2;
	expect_window_probe(&w, "llama:infer", 3, 2, lost, 4);
	assert_int_equal(st_window_lost_total(st_window_probe(&w, "llama:infer")), 6);
	memset(lost, 0, sizeof(lost));
	lost[ST_LOSS_CAPTURE_FAULT] = 1;
	expect_window_probe(&w, "pinned:7", 0, 1, lost, 0);
	expect_window_probe(&w, "llama:other", 1, 0, none, 0);
	assert_int_equal(w.scan[ST_STREAM_DECISION].segments_skipped, 2);
	assert_int_equal(w.scan[ST_STREAM_DECISION].segments_read, 1);
	assert_int_equal(w.scan[ST_STREAM_DECISION].records, 4);
	assert_int_equal(w.scan[ST_STREAM_SYSTEM].segments_skipped, 0);
	assert_int_equal(w.scan[ST_STREAM_SYSTEM].segments_read, 3);
	st_window_free(&w);

	/* Since 4 minutes ago: only pinned:7's loss and the newest calls. */
	assert_int_equal(st_window_read(st, now - 4 * MIN_NS, true, false, &w, err,
					sizeof(err)), 0);
	assert_int_equal(w.loss_records, 1);
	expect_window_probe(&w, "llama:infer", 1, 0, none, 0);
	expect_window_probe(&w, "pinned:7", 0, 1, lost, 0);
	st_window_free(&w);

	/* Since 3 h ago: everything, the old agent_down loss included. */
	assert_int_equal(st_window_read(st, now - 180 * MIN_NS, false, false, &w, err,
					sizeof(err)), 0);
	memset(lost, 0, sizeof(lost));
	lost[ST_LOSS_RINGBUF_FULL] = 2;
	lost[ST_LOSS_AGENT_DOWN] = 3;
	expect_window_probe(&w, "llama:infer", 11, 3, lost, 4);
	assert_int_equal(w.scan[ST_STREAM_DECISION].segments_skipped, 0);
	assert_int_equal(w.scan[ST_STREAM_DECISION].records, 12);
	st_window_free(&w);

	/* Unix seconds in the future: nothing in the window, newest segments read. */
	assert_int_equal(st_window_read(st, now + 60 * MIN_NS, false, false, &w, err,
					sizeof(err)), 0);
	assert_int_equal(w.loss_records, 0);
	assert_int_equal(w.nprobes, 0);
	assert_int_equal(w.scan[ST_STREAM_DECISION].segments_skipped, 2);
	assert_int_equal(w.scan[ST_STREAM_SYSTEM].segments_skipped, 2);
	st_window_free(&w);
	rm_rf(dir);
}

/* A half-written newest block is a write in progress when live, an error when not. */
static void test_window_torn_and_broken(void **state)
{
	char dir[] = "/tmp/st_win_XXXXXX", keys[300], st[300], path[400], err[1024];
	char name[ST_SEG_NAME_LEN + 1];
	struct st_window w;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(st, sizeof(st), "%s/state", dir);
	assert_int_equal(st_keys_generate(keys, err, sizeof(err)), 0);
	window_log(st, keys);

	/* the first bytes of a gzip member: a block being appended right now */
	st_seg_name(8, name);
	snprintf(path, sizeof(path), "%s/decision/%s", st, name);
	f = fopen(path, "a");
	assert_non_null(f);
	fwrite("\x1f\x8b\x08\x00", 1, 4, f);
	fclose(f);
	assert_int_equal(st_window_read(st, now_ns() - 60 * MIN_NS, true, false, &w, err,
					sizeof(err)), 0);
	expect_window_probe(&w, "llama:other", 1, 0, (uint64_t[ST_LOSS__COUNT]){ 0 }, 0);
	st_window_free(&w);
	assert_int_equal(st_window_read(st, now_ns() - 60 * MIN_NS, false, false, &w, err,
					sizeof(err)), -1);
	if (!strstr(err, "decision log broken (run sealtrace verify): decision/"
		    "00000000000000000008.seg seq 12: torn tail"))
		fail_msg("%s", err);
	st_window_free(&w);

	/* A segment missing inside the window: the window is unknown. */
	st_seg_name(4, name);
	snprintf(path, sizeof(path), "%s/system/%s", st, name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(st_window_read(st, now_ns() - 60 * MIN_NS, true, false, &w, err,
					sizeof(err)), -1);
	if (!strstr(err, "system log broken (run sealtrace verify): system/"
		    "00000000000000000008.seg seq 4: segment starts at seq 8: records 4..7 are "
		    "missing"))
		fail_msg("%s", err);
	st_window_free(&w);
	rm_rf(dir);
}

/* The CronJob's question: calls lost in the last N minutes? Exit codes per window. */
static void test_status_cmd_window(void **state)
{
	char dir[] = "/tmp/st_win_XXXXXX", keys[300], st[300], err[1024], path[400];
	char name[ST_SEG_NAME_LEN + 1];
	struct st_status *s = live_snapshot();
	struct cmd_out o;

	assert_non_null(mkdtemp(dir));
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(st, sizeof(st), "%s/state", dir);
	assert_int_equal(st_keys_generate(keys, err, sizeof(err)), 0);
	window_log(st, keys);
	/* the snapshot's cumulative counters: the old agent_down loss too */
	s->probes[0].hits = 20;
	s->probes[0].persisted = 11;
	s->probes[0].in_flight = 0;
	s->probes[0].lost[ST_LOSS_AGENT_DOWN] = 3;
	s->probes[0].lost[ST_LOSS_RINGBUF_FULL] = 6;
	write_snapshot(st, s);

	/* Without --since: cumulative, as always. */
	expect_status(st, 1, "incomplete: probe llama:infer lost 9 of 20 calls (coverage 55.00 %)",
		      NULL);

	/* The last hour: the losses of 10 and 3 minutes ago fail it. */
	o = run_status("--state-dir", st, "--since", "1h", END);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "\nincomplete: probe llama:infer lost 6 calls since "));
	assert_non_null(strstr(o.out, "Z (2 loss records); probe pinned:7 lost 1 calls since "));
	assert_non_null(strstr(o.out, "Z (1 loss record)\nnote: cumulative: probe llama:infer lost 9 "
			       "of 20 calls since attached (coverage 55.00 %)\n"));
	assert_non_null(strstr(o.out, "llama            llama:infer                      yes      "
			       "            3          6           20           11          9    "
			       "55.00%         0  5."));
	assert_non_null(strstr(o.out, "    lost since --since by reason: ringbuf_full=2 capture_fault=0"
			       " agent_down=0 unpaired=0"));
	assert_non_null(strstr(o.out, " other=4 (2 loss records)\n    lost in total by reason: "
			       "ringbuf_full=6 capture_fault=0 agent_down=3 unpaired=0"));
	assert_non_null(strstr(o.out, "-                pinned:7                         -        "
			       "            0          1            -            -          -  "
			       "       -         -  -\n"));
	assert_non_null(strstr(o.out, "-                llama:other                      -        "
			       "            1          0            -"));
	assert_non_null(strstr(o.out, "decision 4 records read in 1 segments (2 skipped)"));
	free(o.out);
	free(o.err);

	/* The last 2 minutes: after every loss; plain status still fails. */
	o = run_status("--state-dir", st, "--since", "2m", "--json", END);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "{\"exit\":0,\"verdict\":\"complete\",\"verdict_basis\":"
			       "\"window\",\"reasons\":[],\"notes\":[\"cumulative: probe llama:infer "
			       "lost 9 of 20 calls since attached (coverage 55.00 %)\"]"));
	assert_non_null(strstr(o.out, "\"loss_records\":0,\"log\":{\"decision\":{\"records_read\":4,"
			       "\"segments_read\":1,\"segments_skipped\":2},\"system\":{"));
	assert_non_null(strstr(o.out, "\"probes\":[{\"probe\":\"llama:infer\",\"persisted\":1,"
			       "\"loss_records\":0,\"lost_total\":0,\"lost\":{\"ringbuf_full\":0,"
			       "\"capture_fault\":0,\"agent_down\":0,\"unpaired\":0,"));
	/* split at the reasons: a reason added to the enum goes before "other" */
	assert_non_null(strstr(o.out, "\"other\":0}},{\"probe\":\"llama:other\",\"persisted\":1,"));
	free(o.out);
	free(o.err);
	expect_status(st, 1, "incomplete: probe llama:infer lost 9 of 20 calls", NULL);

	/* JSON of a failing window: per reason, the unknown one as "other". */
	o = run_status("--state-dir", st, "--since", "1h", "--json", END);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "{\"probe\":\"llama:infer\",\"persisted\":3,\"loss_records\":2,"
			       "\"lost_total\":6,\"lost\":{\"ringbuf_full\":2,\"capture_fault\":0,"
			       "\"agent_down\":0,\"unpaired\":0,"));
	assert_non_null(strstr(o.out, "\"other\":4}}"));
	free(o.out);
	free(o.err);

	/* The agent down wins, as without --since. */
	s->canary_ok = false;
	write_snapshot(st, s);
	expect_status(st, 2, "not_running: canary failed", "--since=2m");
	s->canary_ok = true;
	write_snapshot(st, s);

	/* A log that cannot be read back leaves the window unknown: 2. */
	st_seg_name(4, name);
	snprintf(path, sizeof(path), "%s/system/%s", st, name);
	assert_int_equal(unlink(path), 0);
	o = run_status("--state-dir", st, "--since", "2m", "--json", END);
	assert_int_equal(o.rc, 2);
	assert_non_null(strstr(o.out, "\"verdict\":\"not_running\",\"verdict_basis\":\"window\","
			       "\"reasons\":[\"window unknown: system log broken (run sealtrace "
			       "verify): system/00000000000000000008.seg seq 4: segment starts at seq 8"));
	assert_non_null(strstr(o.out, "\"window\":null,\"probes\":["));
	free(o.out);
	free(o.err);
	rm_rf(dir);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loss_reason_names),
		cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_json_exact),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_roundtrip_full),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_reject),
		cmocka_unit_test(test_json_truncated),
		cmocka_unit_test(test_json_too_many_probes),
		cmocka_unit_test(test_json_unknown_keys_skipped),
		cmocka_unit_test(test_json_wire),
		cmocka_unit_test(test_status_write),
		cmocka_unit_test(test_prom_exact),
		cmocka_unit_test(test_prom_wire),
		cmocka_unit_test(test_prom_escaping),
		cmocka_unit_test(test_prom_checker_rejects),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_metrics_server),
		cmocka_unit_test(test_metrics_ipv6),
		cmocka_unit_test(test_metrics_listen_errors),
		cmocka_unit_test(test_status_cmd),
		cmocka_unit_test(test_status_cmd_wire),
		cmocka_unit_test(test_status_cmd_usage),
		cmocka_unit_test(test_window_read),
		cmocka_unit_test(test_window_torn_and_broken),
		cmocka_unit_test(test_status_cmd_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
