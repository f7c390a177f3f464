// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the YAML config loader (user/config/config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sealtrace/config/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Lines 1-2, 3-6 and 7 of most inputs below: line numbers are exact. */
#define H "system_id: s\noperator_id: o\n"
#define T "targets:\n  - name: t\n    path: /bin/true\n    probes:\n"
#define P "      - symbol: f\n"

static const char example[] =
	"system_id: urn:example:ai-system:demo\n"		/* 1 */
	"operator_id: urn:example:operator:acme\n"
	"state_dir: /var/lib/sealtrace\n"
	"keys: {dir: /etc/sealtrace}\n"
	"ringbuf_bytes: 67108864\n"				/* 5 */
	"pin_dir: /sys/fs/bpf/sealtrace\n"
	"segment: {max_records: 100000, max_bytes: 67108864, max_seconds: 86400}\n"
	"checkpoint: {every_records: 10000, every_seconds: 60}\n"
	"fsync: {every_ms: 0}\n"
	"metrics: {listen: \"127.0.0.1:9464\"}\n"		/* 10 */
	"heartbeat_seconds: 60\n"
	"targets:\n"
	"  - name: demo\n"					/* 13 */
	"    path: /usr/local/bin/demo-server\n"
	"    pid: 0\n"
	"    on_loss: record\n"
	"    probes:\n"
	"      - symbol: predict\n"				/* 18 */
	"        input:  {ptr: \"%di\", len: \"%si\", max: 65536}\n"
	"        output: {ptr: \"%dx\", len: \"%ax\", at: return}\n"
	"  - name: llama\n"					/* 21 */
	"    path: /opt/llama/libllama.so\n"
	"    probes:\n"
	"      - symbol: llama_decode\n"			/* 24 */
	"        input: {ptr: \"+16(%sp)\", len: \"+8(%sp):s32\", elem_size: 4}\n"
	"      - symbol: llama_tokenize\n"			/* 26 */
	"        input: {ptr: \"%si\", len: \"%dx:s32\"}\n"
	"      - offset: 0x1a2b0\n"				/* 28 */
	"        input: {ptr: \"+0(%di):string\", max: 256}\n";

static int load(const char *yaml, struct st_config *cfg, char *err)
{
	return st_config_load_string("t.yaml", yaml, strlen(yaml), cfg, err,
				     ST_ERR_LEN);
}

static void load_ok(const char *yaml, struct st_config *cfg)
{
	char err[ST_ERR_LEN] = "";

	if (load(yaml, cfg, err)) {
		print_error("load failed: %s\n--- input:\n%s\n", err, yaml);
		fail();
	}
	assert_string_equal(err, "");
}

static void assert_fetch(const struct st_fetch *f, int base, int reg, int nderef,
			 int type, int32_t off0, int64_t add)
{
	assert_int_equal(f->base, base);
	if (base == ST_FETCH_REG)
		assert_int_equal(f->reg, reg);
	assert_int_equal(f->nderef, nderef);
	assert_int_equal(f->type, type);
	assert_int_equal(f->off[0], off0);
	assert_true(f->add == add);
}

static void test_example(void **state)
{
	struct st_config cfg;
	const struct st_target_cfg *t;
	const struct st_probe_cfg *p;

	load_ok(example, &cfg);
	assert_string_equal(cfg.file, "t.yaml");
	assert_string_equal(cfg.system_id, "urn:example:ai-system:demo");
	assert_string_equal(cfg.operator_id, "urn:example:operator:acme");
	assert_string_equal(cfg.state_dir, "/var/lib/sealtrace");
	assert_string_equal(cfg.keys_dir, "/etc/sealtrace");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/sealtrace");
	assert_true(cfg.ringbuf_bytes == 67108864);
	assert_true(cfg.segment.max_records == 100000);
	assert_true(cfg.segment.max_bytes == 67108864);
	assert_true(cfg.segment.max_seconds == 86400);
	assert_true(cfg.checkpoint.every_records == 10000);
	assert_true(cfg.checkpoint.every_seconds == 60);
	assert_true(cfg.fsync.every_ms == 0);
	assert_string_equal(cfg.metrics.listen, "127.0.0.1:9464");
	assert_true(cfg.heartbeat_seconds == 60);
	assert_int_equal(cfg.ntargets, 2);

	t = &cfg.targets[0];
	assert_string_equal(t->name, "demo");
	assert_string_equal(t->path, "/usr/local/bin/demo-server");
	assert_null(t->exe);
	assert_null(t->maps);
	assert_int_equal(t->pid, 0);
	assert_int_equal(t->on_loss, ST_ON_LOSS_RECORD);
	assert_int_equal(t->signal, SIGKILL);
	assert_int_equal(t->line, 13);
	assert_int_equal(t->nprobes, 1);
	p = &t->probes[0];
	assert_string_equal(p->symbol, "predict");
	assert_false(p->has_offset);
	assert_false(p->no_endbr_skip);
	assert_int_equal(p->line, 18);
	assert_int_equal(p->in.mode, ST_LEN_FETCH);
	assert_int_equal(p->in.at, ST_AT_ENTRY);
	assert_fetch(&p->in.ptr, ST_FETCH_REG, ST_REG_DI, 0, ST_FT_U64, 0, 0);
	assert_fetch(&p->in.len, ST_FETCH_REG, ST_REG_SI, 0, ST_FT_U64, 0, 0);
	assert_int_equal(p->in.elem_size, 1);
	assert_int_equal(p->in.max, 65536);
	assert_int_equal(p->in.len_at_return, 0);
	assert_int_equal(p->out.mode, ST_LEN_FETCH);
	assert_int_equal(p->out.at, ST_AT_RETURN);
	assert_fetch(&p->out.ptr, ST_FETCH_REG, ST_REG_DX, 0, ST_FT_U64, 0, 0);
	assert_fetch(&p->out.len, ST_FETCH_REG, ST_REG_AX, 0, ST_FT_U64, 0, 0);
	assert_int_equal(p->out.len_at_return, 1);
	assert_int_equal(p->out.max, ST_DEFAULT_CAPTURE);
	assert_int_equal(p->out.elem_size, 1);

	t = &cfg.targets[1];
	assert_string_equal(t->name, "llama");
	assert_string_equal(t->path, "/opt/llama/libllama.so");
	assert_int_equal(t->line, 21);
	assert_int_equal(t->nprobes, 3);
	p = &t->probes[0];
	assert_string_equal(p->symbol, "llama_decode");
	assert_int_equal(p->line, 24);
	assert_int_equal(p->in.mode, ST_LEN_FETCH);
	assert_fetch(&p->in.ptr, ST_FETCH_REG, ST_REG_SP, 1, ST_FT_U64, 16, 0);
	assert_fetch(&p->in.len, ST_FETCH_REG, ST_REG_SP, 1, ST_FT_S32, 8, 0);
	assert_int_equal(p->in.elem_size, 4);
	assert_int_equal(p->in.max, ST_DEFAULT_CAPTURE);
	assert_int_equal(p->out.mode, ST_LEN_NONE);
	p = &t->probes[1];
	assert_string_equal(p->symbol, "llama_tokenize");
	assert_int_equal(p->line, 26);
	assert_fetch(&p->in.ptr, ST_FETCH_REG, ST_REG_SI, 0, ST_FT_U64, 0, 0);
	assert_fetch(&p->in.len, ST_FETCH_REG, ST_REG_DX, 0, ST_FT_S32, 0, 0);
	p = &t->probes[2];
	assert_null(p->symbol);
	assert_true(p->has_offset);
	assert_true(p->offset == 0x1a2b0);
	assert_int_equal(p->line, 28);
	assert_int_equal(p->in.mode, ST_LEN_STRING);
	assert_fetch(&p->in.ptr, ST_FETCH_REG, ST_REG_DI, 0, ST_FT_STRING, 0, 0);
	assert_int_equal(p->in.max, 256);
	assert_int_equal(p->in.at, ST_AT_ENTRY);
	assert_int_equal(p->out.mode, ST_LEN_NONE);

	st_config_free(&cfg);
	assert_null(cfg.targets);
	assert_int_equal(cfg.ntargets, 0);
	st_config_free(&cfg);	/* twice is harmless */
}

static void test_defaults(void **state)
{
	struct st_config cfg;
	char host[256];

	load_ok(H T P, &cfg);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_string_equal(cfg.node_id, host);
	assert_string_equal(cfg.state_dir, "/var/lib/sealtrace");
	assert_string_equal(cfg.keys_dir, "/etc/sealtrace");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/sealtrace");
	assert_true(cfg.ringbuf_bytes == 64ull << 20);
	assert_true(cfg.segment.max_records == 100000);
	assert_true(cfg.segment.max_bytes == 64ull << 20);
	assert_true(cfg.segment.max_seconds == 86400);
	assert_true(cfg.checkpoint.every_records == 10000);
	assert_true(cfg.checkpoint.every_seconds == 60);
	assert_true(cfg.fsync.every_ms == 0);
	assert_string_equal(cfg.metrics.listen, "127.0.0.1:9464");
	assert_true(cfg.heartbeat_seconds == 60);
	assert_int_equal(cfg.ntargets, 1);
	assert_int_equal(cfg.targets[0].pid, 0);
	assert_int_equal(cfg.targets[0].on_loss, ST_ON_LOSS_RECORD);
	assert_int_equal(cfg.targets[0].signal, SIGKILL);
	/* a probe with no capture only counts calls */
	assert_int_equal(cfg.targets[0].probes[0].in.mode, ST_LEN_NONE);
	assert_int_equal(cfg.targets[0].probes[0].out.mode, ST_LEN_NONE);
	st_config_free(&cfg);
}

static void test_all_top_keys(void **state)
{
	struct st_config cfg;

	load_ok("system_id: s\n"
		"operator_id: o\n"
		"node_id: node-7\n"
		"state_dir: /tmp/st\n"
		"keys:\n  dir: /tmp/keys\n"
		"pin_dir: /sys/fs/bpf/x\n"
		"ringbuf_bytes: 4096\n"
		"segment: {max_records: 1, max_bytes: 0x1000, max_seconds: 2}\n"
		"checkpoint: {every_records: 3, every_seconds: 4}\n"
		"fsync: {every_ms: 250}\n"
		"metrics: {listen: \"\"}\n"
		"heartbeat_seconds: 5\n"
		T P, &cfg);
	assert_string_equal(cfg.node_id, "node-7");
	assert_string_equal(cfg.state_dir, "/tmp/st");
	assert_string_equal(cfg.keys_dir, "/tmp/keys");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/x");
	assert_true(cfg.ringbuf_bytes == 4096);
	assert_true(cfg.segment.max_records == 1);
	assert_true(cfg.segment.max_bytes == 4096);
	assert_true(cfg.segment.max_seconds == 2);
	assert_true(cfg.checkpoint.every_records == 3);
	assert_true(cfg.checkpoint.every_seconds == 4);
	assert_true(cfg.fsync.every_ms == 250);
	assert_string_equal(cfg.metrics.listen, "");	/* disabled */
	assert_true(cfg.heartbeat_seconds == 5);
	st_config_free(&cfg);

	load_ok(H "ringbuf_bytes: 2147483648\n" T P, &cfg);
	assert_true(cfg.ringbuf_bytes == 1ull << 31);
	st_config_free(&cfg);
}

static void test_retention(void **state)
{
	struct st_config cfg;
	char warn[512];

	(void)state;
	load_ok(H T P, &cfg);
	assert_true(cfg.retention.decision_days == 183);
	assert_true(cfg.retention.system_days == 3650);
	assert_true(cfg.retention.check_seconds == 3600);
	assert_int_equal(st_config_retention_warning(&cfg, warn, sizeof(warn)), 0);
	st_config_free(&cfg);

	load_ok(H "retention: {decision_days: 0, system_days: 0, check_seconds: 60}\n" T P, &cfg);
	assert_true(cfg.retention.decision_days == 0);	/* forever */
	assert_true(cfg.retention.system_days == 0);
	assert_true(cfg.retention.check_seconds == 60);
	assert_int_equal(st_config_retention_warning(&cfg, warn, sizeof(warn)), 0);
	st_config_free(&cfg);

	load_ok(H "retention: {decision_days: 30}\n" T P, &cfg);
	assert_true(cfg.retention.decision_days == 30);
	assert_true(cfg.retention.system_days == 3650);
	assert_int_equal(st_config_retention_warning(&cfg, warn, sizeof(warn)), 1);
	assert_string_equal(warn, "t.yaml: retention.decision_days: 30 is below 183 days: the AI Act (Art. 19(1), 26(6)) requires logs to be kept at least six months");
	st_config_free(&cfg);

	load_ok(H "retention: {decision_days: 182}\n" T P, &cfg);
	assert_int_equal(st_config_retention_warning(&cfg, warn, sizeof(warn)), 1);
	st_config_free(&cfg);
}

static void test_target_options(void **state)
{
	struct st_config cfg;
	const struct st_target_cfg *t;

	load_ok(H "targets:\n"
		"  - name: a\n    exe: demo-server\n    pid: 4194304\n"
		"    on_loss: signal\n    signal: SIGSTOP\n"
		"    probes: [{symbol: f, no_endbr_skip: true}]\n"
		"  - name: b\n    maps: libllama.so\n    signal: 15\n"
		"    probes: [{offset: 4096}, {symbol: _ZN4llama6decodeEv, no_endbr_skip: false}]\n"
		"  - name: c\n    path: /x\n    signal: SIGTERM\n    on_loss: record\n"
		"    probes: [{symbol: g}]\n", &cfg);
	assert_int_equal(cfg.ntargets, 3);
	t = &cfg.targets[0];
	assert_null(t->path);
	assert_string_equal(t->exe, "demo-server");
	assert_int_equal(t->pid, 4194304);
	assert_int_equal(t->on_loss, ST_ON_LOSS_SIGNAL);
	assert_int_equal(t->signal, SIGSTOP);
	assert_true(t->probes[0].no_endbr_skip);
	t = &cfg.targets[1];
	assert_string_equal(t->maps, "libllama.so");
	assert_int_equal(t->signal, 15);
	assert_int_equal(t->nprobes, 2);
	assert_true(t->probes[0].has_offset);
	assert_true(t->probes[0].offset == 4096);
	assert_string_equal(t->probes[1].symbol, "_ZN4llama6decodeEv");
	assert_false(t->probes[1].no_endbr_skip);
	t = &cfg.targets[2];
	assert_int_equal(t->signal, SIGTERM);
	assert_int_equal(t->on_loss, ST_ON_LOSS_RECORD);
	st_config_free(&cfg);
}

static void test_capture_forms(void **state)
{
	struct st_config cfg;
	const struct st_probe_cfg *p;

	load_ok(H T
		"      - symbol: a\n"
		"        input: {ptr: \"%di\", len: 64}\n"
		"        output: {ptr: \"%si\", len: 16, elem_size: 4, max: 1}\n"
		"      - symbol: b\n"
		"        input: {ptr: \"%di\", len: 0x40, at: return}\n"
		"        output: {ptr: \"%si\", len: \"64\", at: entry}\n"
		"      - symbol: c\n"
		"        input: {ptr: \"+8(+0(%di))\", len: \"+16(+0(%di)):u32\"}\n"
		"        output: {ptr: \"+0(%ax):string\"}\n"
		"      - symbol: d\n"
		"        input: {ptr: \"%di\", len: \"$retval\", at: return}\n"
		"        output: {ptr: \"+8(%ax)\", len: \"+16(%ax):u32\", max: 65536}\n",
		&cfg);
	p = &cfg.targets[0].probes[0];
	assert_int_equal(p->in.mode, ST_LEN_FIXED);
	assert_int_equal(p->in.fixed_len, 64);
	assert_int_equal(p->in.elem_size, 1);
	assert_int_equal(p->out.mode, ST_LEN_FIXED);
	assert_int_equal(p->out.fixed_len, 64);	/* 16 elements of 4 bytes */
	assert_int_equal(p->out.elem_size, 4);
	assert_int_equal(p->out.max, 1);
	assert_int_equal(p->out.at, ST_AT_RETURN);
	p = &cfg.targets[0].probes[1];
	assert_int_equal(p->in.mode, ST_LEN_FIXED);
	assert_int_equal(p->in.fixed_len, 64);
	assert_int_equal(p->in.at, ST_AT_RETURN);
	assert_int_equal(p->in.len_at_return, 0);
	/* a quoted number is a fetch-arg constant, not a YAML integer */
	assert_int_equal(p->out.mode, ST_LEN_FETCH);
	assert_int_equal(p->out.len.base, ST_FETCH_IMM);
	assert_true(p->out.len.imm == 64);
	assert_int_equal(p->out.at, ST_AT_ENTRY);
	p = &cfg.targets[0].probes[2];
	assert_fetch(&p->in.ptr, ST_FETCH_REG, ST_REG_DI, 2, ST_FT_U64, 0, 0);
	assert_int_equal(p->in.ptr.off[1], 8);
	assert_fetch(&p->in.len, ST_FETCH_REG, ST_REG_DI, 2, ST_FT_U32, 0, 0);
	assert_int_equal(p->out.mode, ST_LEN_STRING);
	assert_int_equal(p->out.at, ST_AT_RETURN);
	assert_fetch(&p->out.ptr, ST_FETCH_REG, ST_REG_AX, 0, ST_FT_STRING, 0, 0);
	assert_int_equal(p->out.len_at_return, 0);
	p = &cfg.targets[0].probes[3];
	assert_int_equal(p->in.at, ST_AT_RETURN);
	assert_int_equal(p->in.len_at_return, 1);
	assert_int_equal(p->out.len_at_return, 1);
	assert_int_equal(p->out.max, 65536);
	st_config_free(&cfg);
}

/* Anchors and aliases are YAML; the loader sees plain nodes. */
static void test_aliases(void **state)
{
	struct st_config cfg;

	load_ok(H T
		"      - symbol: a\n"
		"        input: &in {ptr: \"%di\", len: \"%si\"}\n"
		"      - symbol: b\n"
		"        input: *in\n", &cfg);
	assert_int_equal(cfg.targets[0].nprobes, 2);
	assert_memory_equal(&cfg.targets[0].probes[0].in,
			    &cfg.targets[0].probes[1].in, sizeof(struct st_capture));
	st_config_free(&cfg);
}

static void test_probe_limit(void **state)
{
	size_t cap = 64 * 1024, i;
	char *yaml = malloc(cap), err[ST_ERR_LEN];
	struct st_config cfg;
	int pos;

	assert_non_null(yaml);
	pos = snprintf(yaml, cap, H T);
	for (i = 0; i < ST_MAX_PROBES; i++)
		pos += snprintf(yaml + pos, cap - (size_t)pos, "      - symbol: f%zu\n", i);
	load_ok(yaml, &cfg);
	assert_int_equal(cfg.targets[0].nprobes, ST_MAX_PROBES);
	assert_string_equal(cfg.targets[0].probes[255].symbol, "f255");
	st_config_free(&cfg);

	/* the limit is over all targets: probe ids are global */
	pos += snprintf(yaml + pos, cap - (size_t)pos,
			"  - name: u\n    path: /x\n    probes:\n      - symbol: g\n");
	assert_int_equal(load(yaml, &cfg, err), -1);
	assert_string_equal(err, "t.yaml:266: targets[1].probes[0]: more than 256 probes in total");
	assert_null(cfg.targets);
	free(yaml);
}

struct bad_case {
	const char *yaml;
	const char *msg;	/* expected prefix of the error */
};

static const struct bad_case bad_cases[] = {
	/* top level */
	{ "", "t.yaml:1: empty config (system_id, operator_id and targets are required)" },
	{ "# only a comment\n", "t.yaml:1: empty config" },
	{ "- a\n- b\n", "t.yaml:1: the top level must be a mapping (key: value)" },
	{ "hello\n", "t.yaml:1: the top level must be a mapping" },
	{ "operator_id: o\n" T P, "t.yaml:1: system_id: required key is missing" },
	{ "system_id: s\n" T P, "t.yaml:1: operator_id: required key is missing" },
	{ H, "t.yaml:1: targets: required key is missing (at least one target)" },
	{ "system_id: \"\"\noperator_id: o\n" T P, "t.yaml:1: system_id: must not be empty" },
	{ "system_id:\noperator_id: o\n" T P, "t.yaml:1: system_id: has no value (expected a string)" },
	{ "system_id: ~\noperator_id: o\n" T P, "t.yaml:1: system_id: has no value" },
	{ "system_id: {a: b}\noperator_id: o\n" T P, "t.yaml:1: system_id: must be a string, not a mapping" },
	{ "system_id: [a]\noperator_id: o\n" T P, "t.yaml:1: system_id: must be a string, not a list" },
	{ "system_id: \"a\\0b\"\noperator_id: o\n" T P, "t.yaml:1: system_id: contains a NUL byte" },
	{ H "sytem_id: x\n" T P,
	  "t.yaml:3: sytem_id: unknown key (expected one of: system_id, operator_id, node_id, state_dir, keys, ringbuf_bytes, pin_dir, segment, checkpoint, fsync, metrics, heartbeat_seconds, fail_closed_after_ms, targets, model_globs, model_detection, models, retention, encryption, risk_rules, system_facts)" },
	{ H "system_id: again\n" T P, "t.yaml:3: system_id: duplicate key (first at line 1)" },
	{ H "model_detection: inotify\n" T P,
	  "t.yaml:3: model_detection: 'inotify' is not one of: auto, page_cache, openat" },
	{ H "? [a, b]\n: c\n" T P, "t.yaml:3: keys must be strings" },
	{ H "node_id: \"\"\n" T P, "t.yaml:3: node_id: must not be empty" },
	/* bpffs refuses '.' in names: mkdir would fail with a misleading EPERM */
	{ H "pin_dir: /sys/fs/bpf/sealtrace.v2\n" T P, "t.yaml:3: pin_dir: 'sealtrace.v2': bpffs does not allow '.' in names; choose a name without one" },
	{ H "pin_dir: /sys/fs/bpf/st.x/\n" T P, "t.yaml:3: pin_dir: 'st.x': bpffs does not allow '.' in names" },
	{ H "pin_dir: sys/fs/bpf/st\n" T P, "t.yaml:3: pin_dir: must be an absolute path in bpffs" },
	{ H "state_dir: [a]\n" T P, "t.yaml:3: state_dir: must be a string, not a list" },
	{ H "keys: /etc/sealtrace\n" T P, "t.yaml:3: keys: must be a mapping (key: value)" },
	{ H "keys: {dir: /x, file: y}\n" T P, "t.yaml:3: keys.file: unknown key (expected one of: dir)" },
	{ H "keys: {dir: \"\"}\n" T P, "t.yaml:3: keys.dir: must not be empty" },
	{ H "metrics: {listen: 9464, port: 1}\n" T P, "t.yaml:3: metrics.port: unknown key (expected one of: listen)" },
	{ H "metrics: {listen: }\n" T P, "t.yaml:3: metrics.listen: has no value" },
	{ H "ringbuf_bytes: 1000000\n" T P, "t.yaml:3: ringbuf_bytes: must be a power of two, got 1000000" },
	{ H "ringbuf_bytes: 2048\n" T P, "t.yaml:3: ringbuf_bytes: must be between 4096 and 2147483648, got '2048'" },
	{ H "ringbuf_bytes: 4294967296\n" T P, "t.yaml:3: ringbuf_bytes: must be between 4096 and 2147483648, got '4294967296'" },
	{ H "ringbuf_bytes: 64MiB\n" T P, "t.yaml:3: ringbuf_bytes: '64MiB' is not an integer (decimal or 0x hex)" },
	{ H "ringbuf_bytes: 99999999999999999999\n" T P, "t.yaml:3: ringbuf_bytes: must be between 4096 and 2147483648, got '99999999999999999999'" },
	{ H "segment: {max_recs: 5}\n" T P, "t.yaml:3: segment.max_recs: unknown key (expected one of: max_records, max_bytes, max_seconds)" },
	{ H "segment:\n  max_seconds: 1d\n" T P, "t.yaml:4: segment.max_seconds: '1d' is not an integer (decimal or 0x hex)" },
	{ H "segment: {max_records: 0}\n" T P, "t.yaml:3: segment.max_records: must be between 1 and 18446744073709551615, got '0'" },
	{ H "segment: {max_bytes: 18446744073709551616}\n" T P, "t.yaml:3: segment.max_bytes: must be between 1 and 18446744073709551615" },
	{ H "segment: 5\n" T P, "t.yaml:3: segment: must be a mapping" },
	{ H "checkpoint: {every_seconds: 0}\n" T P, "t.yaml:3: checkpoint.every_seconds: must be between 1" },
	{ H "checkpoint: {every_seconds: 1.5}\n" T P, "t.yaml:3: checkpoint.every_seconds: '1.5' is not an integer" },
	{ H "fsync: {every_ms: 60s}\n" T P, "t.yaml:3: fsync.every_ms: '60s' is not an integer" },
	{ H "fsync: {every_ms: -1}\n" T P, "t.yaml:3: fsync.every_ms: must not be negative, got '-1'" },
	{ H "fsync: {every_ms: 099}\n" T P, "t.yaml:3: fsync.every_ms: '099' has a leading zero (octal is not supported; use 0x for hex)" },
	{ H "retention: {decision_day: 5}\n" T P, "t.yaml:3: retention.decision_day: unknown key (expected one of: decision_days, system_days, check_seconds)" },
	{ H "retention:\n  decision_days: 6m\n" T P, "t.yaml:4: retention.decision_days: '6m' is not an integer (decimal or 0x hex)" },
	{ H "retention: {system_days: -1}\n" T P, "t.yaml:3: retention.system_days: must not be negative, got '-1'" },
	{ H "retention: {check_seconds: 0}\n" T P, "t.yaml:3: retention.check_seconds: must be between 1 and 18446744073709551615, got '0'" },
	{ H "retention: 183\n" T P, "t.yaml:3: retention: must be a mapping" },
	{ H "heartbeat_seconds: -5\n" T P, "t.yaml:3: heartbeat_seconds: must not be negative, got '-5'" },
	{ H "heartbeat_seconds: 0\n" T P, "t.yaml:3: heartbeat_seconds: must be between 1" },
	{ H "heartbeat_seconds: [60]\n" T P, "t.yaml:3: heartbeat_seconds: must be an integer, not a list" },
	/* targets */
	{ H "targets: []\n", "t.yaml:3: targets: needs at least one target" },
	{ H "targets:\n", "t.yaml:3: targets: must be a list ('- ...' items)" },
	{ H "targets: {name: t}\n", "t.yaml:3: targets: must be a list" },
	{ H "targets:\n  - just-a-string\n", "t.yaml:4: targets[0]: must be a mapping (key: value)" },
	{ H "targets:\n  - path: /x\n    probes: [{symbol: f}]\n", "t.yaml:4: targets[0].name: required key is missing" },
	{ H "targets:\n  - name: t\n    probes: [{symbol: f}]\n",
	  "t.yaml:4: targets[0].path: required key is missing (or give 'exe', 'maps' or 'preset')" },
	{ H "targets:\n  - name: t\n    path: /x\n", "t.yaml:4: targets[0].probes: required key is missing" },
	{ H "targets:\n  - name: t\n    path: /x\n    probes: []\n", "t.yaml:6: targets[0].probes: needs at least one probe" },
	{ H "targets:\n  - name: t\n    path: /x\n    probes: f\n", "t.yaml:6: targets[0].probes: must be a list" },
	{ H "targets:\n  - name: t\n    path: /x\n    prob: []\n",
	  "t.yaml:6: targets[0].prob: unknown key (expected one of: name, path, exe, maps, pid, on_loss, signal, probes, hold, preset, model_globs, http)" },
	{ H "targets:\n  - name: \"\"\n    path: /x\n", "t.yaml:4: targets[0].name: must not be empty" },
	{ H "targets:\n  - name: t\n    path: \"\"\n", "t.yaml:5: targets[0].path: must not be empty" },
	{ H T P "    pid: -1\n", "t.yaml:8: targets[0].pid: must not be negative, got '-1'" },
	{ H T P "    pid: 4194305\n", "t.yaml:8: targets[0].pid: must be between 0 and 4194304, got '4194305'" },
	{ H T P "    pid: self\n", "t.yaml:8: targets[0].pid: 'self' is not an integer" },
	{ H T P "    on_loss: drop\n", "t.yaml:8: targets[0].on_loss: 'drop' is not one of: record, signal" },
	{ H T P "    on_loss: [record]\n", "t.yaml:8: targets[0].on_loss: must be a string, not a list" },
	{ H T P "    signal: SIGINT\n", "t.yaml:8: targets[0].signal: 'SIGINT' is not SIGKILL, SIGSTOP, SIGTERM or a signal number" },
	{ H T P "    signal: kill\n", "t.yaml:8: targets[0].signal: 'kill' is not SIGKILL" },
	{ H T P "    signal: 0\n", "t.yaml:8: targets[0].signal: must be between 1 and " },
	{ H T P "    signal: 65\n", "t.yaml:8: targets[0].signal: must be between 1 and " },
	{ H T P "  - name: t\n    path: /y\n    probes: [{symbol: g}]\n",
	  "t.yaml:8: targets[1].name: duplicate target name 't' (also targets[0] at line 4)" },
	/* probes */
	{ H T "      - input: {ptr: \"%di\", len: 1}\n", "t.yaml:7: targets[0].probes[0]: needs 'symbol' or 'offset'" },
	{ H T "      - symbol: f\n        offset: 0x10\n",
	  "t.yaml:8: targets[0].probes[0]: both 'symbol' and 'offset' given; use exactly one" },
	{ H T "      - f\n", "t.yaml:7: targets[0].probes[0]: must be a mapping" },
	{ H T "      - symbol: \"\"\n", "t.yaml:7: targets[0].probes[0].symbol: must not be empty" },
	{ H T "      - symbol:\n", "t.yaml:7: targets[0].probes[0].symbol: has no value" },
	{ H T "      - offset: 0xzz\n", "t.yaml:7: targets[0].probes[0].offset: '0xzz' is not an integer (decimal or 0x hex)" },
	{ H T "      - offset: 0x\n", "t.yaml:7: targets[0].probes[0].offset: '0x' is not an integer" },
	{ H T "      - offset: 0\n", "t.yaml:7: targets[0].probes[0].offset: must be between 1 and 9223372036854775807, got '0'" },
	{ H T "      - offset: -16\n", "t.yaml:7: targets[0].probes[0].offset: must not be negative, got '-16'" },
	{ H T "      - offset: 0x8000000000000000\n", "t.yaml:7: targets[0].probes[0].offset: must be between 1 and 9223372036854775807" },
	{ H T P "        inputs: {ptr: \"%di\", len: 1}\n",
	  "t.yaml:8: targets[0].probes[0].inputs: unknown key (expected one of: symbol, offset, input, output, no_endbr_skip, decision)" },
	/* decision fields */
	{ H T P "        decision: {clear: {score: \"/score\"}}\n",
	  "t.yaml:8: targets[0].probes[0].decision.clear.score: '/score' must start with request: or response: (input: or output: for a probe), then a JSON Pointer such as /score" },
	{ H T P "        decision: {clear: {score: \"output:score\"}}\n",
	  "t.yaml:8: targets[0].probes[0].decision.clear.score: a JSON Pointer is \"\" or starts with '/' (RFC 6901), got 'score'" },
	{ H T P "        decision: {clear: {score: \"output:/a~2\"}}\n",
	  "t.yaml:8: targets[0].probes[0].decision.clear.score: '~' at offset 2 of '/a~2' is not ~0 or ~1" },
	{ H T P "        decision: {clear: {\"sc ore\": \"output:/s\"}}\n",
	  "t.yaml:8: targets[0].probes[0].decision.clear.sc ore: a field name is [A-Za-z0-9_.-]{1,64}" },
	{ H T P "        decision: {clear: {id: \"output:/s\"}, pseudonymise: {id: \"input:/id\"}}\n",
	  "t.yaml:8: targets[0].probes[0].decision.pseudonymise.id: field name given twice" },
	{ H T P "        decision: {clear: {id: \"output:/s\"}, max_string: 0}\n",
	  "t.yaml:8: targets[0].probes[0].decision.max_string: must be between 1 and 4096" },
	{ H T P "        decision: {keep: {}}\n",
	  "t.yaml:8: targets[0].probes[0].decision.keep: unknown key (expected one of: clear, pseudonymise, max_string)" },
	{ H "system_facts: {\"a b\": x}\n" T P,
	  "t.yaml:3: system_facts.a b: a fact name is [A-Za-z0-9_.-]{1,59}" },
	{ H "system_facts: {jurisdiction: \"\"}\n" T P,
	  "t.yaml:3: system_facts.jurisdiction: must not be empty" },
	{ H T P "        no_endbr_skip: yes\n", "t.yaml:8: targets[0].probes[0].no_endbr_skip: must be true or false, got 'yes'" },
	{ H T P "        input: {ptr: \"%di\", len: 1}\n        input: {ptr: \"%si\", len: 1}\n",
	  "t.yaml:9: targets[0].probes[0].input: duplicate key (first at line 8)" },
	/* captures */
	{ H T P "        input: \"%di\"\n", "t.yaml:8: targets[0].probes[0].input: must be a mapping (key: value)" },
	{ H T P "        input:\n", "t.yaml:8: targets[0].probes[0].input: must be a mapping" },
	{ H T P "        input: {}\n", "t.yaml:8: targets[0].probes[0].input.ptr: required key is missing" },
	{ H T P "        input: {len: 4}\n", "t.yaml:8: targets[0].probes[0].input.ptr: required key is missing" },
	{ H T P "        input: {ptr: \"%di\", lenn: 4}\n",
	  "t.yaml:8: targets[0].probes[0].input.lenn: unknown key (expected one of: ptr, len, elem_size, max, at)" },
	{ H T P "        input: {ptr: \"%di\"}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: required key is missing (or make ptr ':string' for a NUL-terminated string)" },
	{ H T P "        input: {ptr: \"%di\", len: \"%zz\"}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: unknown register '%zz' at column 1 in '%zz'" },
	{ H T P "        input:\n          ptr: \"+8(%di\"\n          len: 1\n",
	  "t.yaml:9: targets[0].probes[0].input.ptr: unbalanced '(': missing ')' at column 3 in '+8(%di'" },
	{ H T P "        input: {ptr: di, len: 1}\n",
	  "t.yaml:8: targets[0].probes[0].input.ptr: missing '%' before register 'di' at column 1" },
	{ H T P "        input: {ptr: [\"%di\"], len: 1}\n",
	  "t.yaml:8: targets[0].probes[0].input.ptr: must be a fetch-arg such as \"%di\" or \"+16(%sp)\", not a list" },
	{ H T P "        input: {ptr: \"%di:u32\", len: 1}\n",
	  "t.yaml:8: targets[0].probes[0].input.ptr: a pointer is 64 bits: use no type, ':u64' or ':string'" },
	{ H T P "        input: {ptr: 4096, len: 1}\n",
	  "t.yaml:8: targets[0].probes[0].input.ptr: a constant is not a pointer; use a register or memory reference" },
	{ H T P "        input: {ptr: \"%di:string\"}\n",
	  "t.yaml:8: targets[0].probes[0].input.ptr: ':string' on a register needs a memory reference at column 4 in '%di:string'; write '+0(%di):string'" },
	{ H T P "        input: {ptr: \"+0(%di):string\", len: 4}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: not allowed with a ':string' ptr (the string ends at its NUL)" },
	{ H T P "        input: {ptr: \"+0(%di):string\", elem_size: 4}\n",
	  "t.yaml:8: targets[0].probes[0].input.elem_size: only applies with 'len', not a ':string' ptr" },
	{ H T P "        input: {ptr: \"%di\", len: \"+0(%si):string\"}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: ':string' is only for ptr; a length is a number" },
	{ H T P "        input: {ptr: \"%di\", len: 0}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: must be between 1 and 4294967295, got '0'" },
	{ H T P "        input: {ptr: \"%di\", len: -4}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: must not be negative, got '-4'" },
	{ H T P "        input: {ptr: \"%di\", len: 4294967296}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: must be between 1 and 4294967295" },
	{ H T P "        input: {ptr: \"%di\", len: 2147483648, elem_size: 2}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: len times elem_size does not fit in 32 bits" },
	{ H T P "        input: {ptr: \"%di\", len: \"%si\", elem_size: 0}\n",
	  "t.yaml:8: targets[0].probes[0].input.elem_size: must be between 1 and 65536, got '0'" },
	{ H T P "        input: {ptr: \"%di\", len: \"%si\", elem_size: 65537}\n",
	  "t.yaml:8: targets[0].probes[0].input.elem_size: must be between 1 and 65536" },
	{ H T P "        input: {ptr: \"%di\", len: \"%si\", max: 0}\n",
	  "t.yaml:8: targets[0].probes[0].input.max: must be between 1 and 65536, got '0'" },
	{ H T P "        input: {ptr: \"%di\", len: \"%si\", max: 65537}\n",
	  "t.yaml:8: targets[0].probes[0].input.max: must be between 1 and 65536, got '65537'" },
	{ H T P "        input: {ptr: \"%di\", len: \"%si\", max: big}\n",
	  "t.yaml:8: targets[0].probes[0].input.max: 'big' is not an integer" },
	{ H T P "        input: {ptr: \"%di\", len: \"%si\", at: exit}\n",
	  "t.yaml:8: targets[0].probes[0].input.at: 'exit' is not one of: entry, return" },
	{ H T P "        input: {ptr: \"%di\", len: \"%ax\"}\n",
	  "t.yaml:8: targets[0].probes[0].input.len: '%ax' ($retval) is the return value; it needs 'at: return'" },
	{ H T P "        input:\n          ptr: \"%di\"\n          len: \"$retval\"\n",
	  "t.yaml:10: targets[0].probes[0].input.len: '%ax' ($retval) is the return value; it needs 'at: return'" },
	{ H T P "        output: {ptr: \"%dx\", len: \"%ax\", at: entry}\n",
	  "t.yaml:8: targets[0].probes[0].output.len: '%ax' ($retval) is the return value; it needs 'at: return'" },
	{ H T P "        input: {ptr: \"+0(%rax):string\"}\n",
	  "t.yaml:8: targets[0].probes[0].input.ptr: '%ax' ($retval) is the return value; it needs 'at: return'" },
	{ H "targets:\n  - name: t\n    path: /x\n    probes:\n      - symbol: f\n"
	  "  - name: u\n    path: /x\n    probes:\n      - symbol: g\n"
	  "        output: {ptr: \"%dx\", len: \"%cx\", ax: 1}\n",
	  "t.yaml:12: targets[1].probes[0].output.ax: unknown key" },
	/* YAML itself */
	{ "system_id: s\noperator_id: [o\n" T P,
	  "t.yaml:3: YAML syntax error: did not find expected ',' or ']' at column 8 (while parsing a flow sequence started at line 2)" },
	{ "system_id: a: b\n", "t.yaml:1: YAML syntax error: mapping values are not allowed in this context at column 13" },
	{ H T P "        input: {ptr: %di, len: 1}\n",
	  "t.yaml:8: YAML syntax error: found character that cannot start any token at column 22 (while scanning for the next token started at line 8)" },
	{ H "\tstate_dir: x\n", "t.yaml:3: YAML syntax error: found a tab character that violates indentation at column 1" },
	{ H "targets: *nope\n", "t.yaml:3: YAML syntax error: found undefined alias at column 10" },
	{ H T P "---\nsystem_id: x\n", "t.yaml:9: only one YAML document is allowed" },
	{ "system_id: \"\xff\"\n", "t.yaml:1: invalid input at byte 12: invalid leading UTF-8 octet" },
	{ H "node_id: \"\x01\"\n", "t.yaml:3: invalid input at byte 38: control characters are not allowed" },
	/* a recursive alias is refused before the schema walk */
	{ H "targets: &t [*t]\n", "t.yaml:3: alias *t is inside the node it names (a recursive alias)" },
	/* identifiers: printable text, no controls, no text-direction marks */
	{ "system_id: \"cred\\u202Etiderc\"\noperator_id: o\n" T P,
	  "t.yaml:1: system_id: contains U+202E (a control or text-direction character) at byte 4; identifiers must be printable text" },
	{ "system_id: \"a\xe2\x80\xae" "b\"\noperator_id: o\n" T P,
	  "t.yaml:1: system_id: contains U+202E" },
	{ H "node_id: \"n\\e[31m\"\n" T P, "t.yaml:3: node_id: contains U+001B (a control or text-direction character) at byte 1" },
	{ "system_id: s\noperator_id: \"o\\x85\"\n" T P, "t.yaml:2: operator_id: contains U+0085" },
	{ "system_id: s\noperator_id: \"o\\u2067\"\n" T P, "t.yaml:2: operator_id: contains U+2067" },
	{ H "targets:\n  - name: \"t\\tx\"\n    path: /x\n    probes:\n" P,
	  "t.yaml:4: targets[0].name: contains U+0009" },
};

/* Reports every mismatching case, then fails. */
static void test_errors(void **state)
{
	int bad = 0;

	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		char err[ST_ERR_LEN] = "";
		struct st_config cfg;

		if (load(c->yaml, &cfg, err) != -1) {
			print_error("case %zu loaded but should fail:\n%s\n", i, c->yaml);
			st_config_free(&cfg);
			bad++;
			continue;
		}
		if (strncmp(err, c->msg, strlen(c->msg))) {
			print_error("case %zu: error\n  %s\ndoes not start with\n  %s\n--- input:\n%s\n",
				    i, err, c->msg, c->yaml);
			bad++;
		}
		/* on error nothing is left to free */
		assert_null(cfg.file);
		assert_null(cfg.system_id);
		assert_null(cfg.targets);
		assert_int_equal(cfg.ntargets, 0);
	}
	assert_int_equal(bad, 0);
}

/*
 * Hostile configs cost bounded time and memory: nesting is refused at 32
 * levels (libyaml's scanner is quadratic in flow depth: 100 KB of '['
 * took 10 s), the document at 100,000 nodes counting what aliases repeat
 * (an anchored list aliased by 256 targets took 1 GB), a raw NUL byte is
 * reported with its line.
 */
static void test_hostile(void **state)
{
	size_t cap = 1 << 20, pos, i;
	char *yaml = malloc(cap), err[ST_ERR_LEN];
	struct st_config cfg;
	static const char nul[] = "system_id: s\noperator_id: o\nnode_id: a\0b\n";

	assert_non_null(yaml);
	pos = (size_t)snprintf(yaml, cap, H "targets: ");
	for (i = 0; i < 100000; i++)
		yaml[pos++] = '[';
	yaml[pos] = '\0';
	assert_int_equal(load(yaml, &cfg, err), -1);
	assert_string_equal(err, "t.yaml:3: lists and mappings nested deeper than 32 levels");

	/* the same depth in block style */
	pos = (size_t)snprintf(yaml, cap, H "targets:\n");
	for (i = 0; i < 40; i++)
		pos += (size_t)snprintf(yaml + pos, cap - pos, "%*s-\n", (int)i, "");
	assert_int_equal(load(yaml, &cfg, err), -1);
	assert_string_equal(err, "t.yaml:35: lists and mappings nested deeper than 32 levels");

	/* one list of 400 probes, anchored, aliased by 256 targets */
	pos = (size_t)snprintf(yaml, cap, H "targets:\n  - name: t0\n    path: /x\n    probes: &p\n");
	for (i = 0; i < 400; i++)
		pos += (size_t)snprintf(yaml + pos, cap - pos, "      - {symbol: f%zu}\n", i);
	for (i = 1; i < 256; i++)
		pos += (size_t)snprintf(yaml + pos, cap - pos,
					"  - {name: t%zu, path: /x, probes: *p}\n", i);
	assert_int_equal(load(yaml, &cfg, err), -1);
	assert_string_equal(err, "t.yaml:488: alias *p (1201 nodes) takes the config beyond 100000 nodes once aliases are expanded");

	/* "billion laughs": each level repeats the one before ten times */
	pos = (size_t)snprintf(yaml, cap, H "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 9; i++)
		pos += (size_t)snprintf(yaml + pos, cap - pos,
					"x%zu: &a%zu [*a%zu, *a%zu, *a%zu, *a%zu, *a%zu, *a%zu, *a%zu, *a%zu, *a%zu, *a%zu]\n",
					i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
					i - 1, i - 1);
	assert_int_equal(load(yaml, &cfg, err), -1);
	assert_string_equal(err, "t.yaml:7: alias *a3 (11111 nodes) takes the config beyond 100000 nodes once aliases are expanded");

	/* a raw NUL byte: the line it is on */
	assert_int_equal(st_config_load_string("t.yaml", nul, sizeof(nul) - 1, &cfg, err,
					       sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:3: invalid input at byte 38: control characters are not allowed");

	/* aliases within the bound still work (test_aliases) */
	free(yaml);
}

/* A very long unknown key is cut, marked, and still terminated. */
static void test_long_key(void **state)
{
	char yaml[1024], err[ST_ERR_LEN];
	struct st_config cfg;
	int n;

	n = snprintf(yaml, sizeof(yaml), H);
	memset(yaml + n, 'k', 400);
	snprintf(yaml + n + 400, sizeof(yaml) - (size_t)n - 400, ": 1\n" T P);
	assert_int_equal(load(yaml, &cfg, err), -1);
	assert_memory_equal(err, "t.yaml:3: kkkk", 14);
	assert_non_null(strstr(err, "k...: unknown key (expected one of: system_id"));
}

static void test_small_err_buffer(void **state)
{
	struct st_config cfg;
	char err[12];

	memset(err, 'X', sizeof(err));
	assert_int_equal(st_config_load_string("t.yaml", H, strlen(H), &cfg, err,
					       sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:1: t");
	assert_int_equal(st_config_load_string("t.yaml", H, strlen(H), &cfg, NULL, 0), -1);
	/* the length is honoured: no NUL terminator needed */
	assert_int_equal(st_config_load_string(NULL, example, 12, &cfg, err,
					       sizeof(err)), -1);
	assert_memory_equal(err, "<string>:1: ", 11);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_file(void **state)
{
	char dir[] = "/tmp/st-config-XXXXXX", path[64], want[256];
	char err[ST_ERR_LEN];
	struct st_config cfg;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/demo.yaml", dir);

	/* missing file */
	assert_int_equal(st_config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);
	assert_null(cfg.file);

	/* a directory opens but does not read */
	assert_int_equal(st_config_load(dir, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot read: %s", dir, strerror(EISDIR));
	assert_string_equal(err, want);

	/* the real thing */
	write_file(path, example);
	assert_int_equal(st_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.file, path);
	assert_int_equal(cfg.ntargets, 2);
	assert_int_equal(cfg.targets[1].nprobes, 3);
	assert_true(cfg.targets[1].probes[2].offset == 0x1a2b0);
	st_config_free(&cfg);

	/* errors name the file */
	write_file(path, H T P "        input: {ptr: \"%di\", len: \"%zz\"}\n");
	assert_int_equal(st_config_load(path, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "%s:8: targets[0].probes[0].input.len: unknown register '%%zz' at column 1 in '%%zz'",
		 path);
	assert_string_equal(err, want);

	/* a file larger than the first read buffer */
	{
		size_t cap = 64 * 1024;
		char *big = malloc(cap);
		int pos;

		assert_non_null(big);
		pos = snprintf(big, cap, "%s", example);
		while (pos < 20000)
			pos += snprintf(big + pos, cap - (size_t)pos, "# padding comment line\n");
		write_file(path, big);
		free(big);
	}
	assert_int_equal(st_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.ntargets, 2);
	st_config_free(&cfg);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* http: targets need no probes; presets fill paths, methods and fields. */
static void test_http_targets(void **state)
{
	const char *yaml = H "targets:\n  - name: llm\n    exe: vllm\n    http:\n"
			   "      ports: [8000, 8001]\n      preset: openai\n"
			   "      decision: {clear: {finish_reason: \"response:/choices/0/finish_reason\"},\n"
			   "                 pseudonymise: {user: \"request:/user\"}}\n";
	struct st_config cfg;
	const struct st_http_cfg *h;
	char err[ST_ERR_LEN] = "";
	size_t i, n_finish = 0;

	assert_int_equal(load(yaml, &cfg, err), 0);
	h = &cfg.targets[0].http;
	assert_true(h->enabled);
	assert_int_equal(cfg.targets[0].nprobes, 0);
	assert_int_equal(h->nports, 2);
	assert_int_equal(h->ports[1], 8001);
	assert_int_equal(h->npaths, 2);
	assert_string_equal(h->paths[0], "/v1/chat/completions");
	assert_string_equal(h->methods[0], "POST");
	assert_true(h->nexclude > 0);	/* health checks by default */
	assert_int_equal(h->max_body, 65536);
	/* the operator's two fields, then the preset's other five */
	assert_int_equal(h->decision.nfields, 7);
	for (i = 0; i < h->decision.nfields; i++)
		n_finish += !strcmp(h->decision.fields[i].name, "finish_reason");
	assert_int_equal(n_finish, 1);
	assert_true(h->decision.fields[1].pseudonymise);
	st_config_free(&cfg);

	assert_int_equal(load(H "targets:\n  - name: m\n    exe: x\n    http: {ports: [80], preset: kserve}\n",
			      &cfg, err), -1);
	assert_string_equal(err, "t.yaml:6: targets[0].http.preset: 'kserve' is not one of: openai, kserve-v1, open-inference");
	assert_int_equal(load(H "targets:\n  - name: m\n    exe: x\n    http: {paths: [/p]}\n",
			      &cfg, err), -1);
	assert_string_equal(err, "t.yaml:6: targets[0].http.ports: required key is missing (the port(s) the server listens on)");
	assert_int_equal(load(H "targets:\n  - name: m\n    exe: x\n    http: {ports: [0]}\n",
			      &cfg, err), -1);
	assert_int_equal(load(H "targets:\n  - name: m\n    exe: x\n    http: {ports: [80], client_address: keep}\n",
			      &cfg, err), -1);
	assert_string_equal(err, "t.yaml:6: targets[0].http.client_address: 'keep' is not one of: pseudonymise, omit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_top_keys),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_target_options),
		cmocka_unit_test(test_capture_forms),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_probe_limit),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_http_targets),
		cmocka_unit_test(test_long_key),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
