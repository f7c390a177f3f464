/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Config: one YAML file (libyaml) into struct st_config.
 *
 * Every error names the file, the line and the key, e.g.
 *   "demo.yaml:14: targets[0].probes[1].input.len: unknown register '%zz' at column 1 in '%zz'"
 * All strings are owned by the config and freed by st_config_free().
 *
 * Schema (unknown keys and duplicate keys are errors):
 *   system_id, operator_id			required, non-empty
 *   node_id, state_dir, pin_dir, keys.dir	strings (defaults below)
 *   ringbuf_bytes				power of two, 4096 .. 2^31
 *   segment.{max_records,max_bytes,max_seconds}, checkpoint.{every_records,
 *   every_seconds}, heartbeat_seconds		integers >= 1
 *   checkpoint.epoch_seconds			integer >= 0: a new signing key (epoch)
 *						this often, the old one erased (log.h);
 *						0 (default) keeps one key
 *   encryption.key_file			data key file (datakey.h): segments are
 *						sealed with AES-256-GCM (seal.h); absent:
 *						plain gzip segments
 *   fsync.every_ms				integer >= 0
 *   fail_closed_after_ms			integer 0 .. 86400000 (0: off)
 *   retention.{decision_days, system_days}	integers >= 0 (0: keep forever;
 *						defaults 183 and 3650), check_seconds >= 1
 *						(default 3600); see retention.h
 *   metrics.listen				string, "" disables
 *   model_globs				list of fnmatch globs on the basename of
 *						files a tracked process opens (default
 *						*.gguf *.onnx *.safetensors *.pt *.bin);
 *						[] hashes none
 *   model_detection				auto (default) | page_cache | openat:
 *						how model files read are seen (the
 *						page cache's tracepoints, kernel 6.10+;
 *						or openat, which costs every syscall on
 *						the node); auto: page_cache if the
 *						kernel has it
 *   models[]: sha256 (64 hex), version	release name of a model digest (unique)
 *   risk_rules[]: name (unique, [A-Za-z0-9_.-]{1,64}), field (a decision
 *	field name), severity (low|medium|high|critical), and either op
 *	(< <= > >= == !=) with a numeric value, or in / not_in: a list of
 *	scalars (compared as text); see monitor/risk.h
 *   targets[]: name (unique), path | exe | maps | preset, pid (0..4194304),
 *	on_loss (record|signal), signal (SIGKILL|SIGSTOP|SIGTERM|1..SIGRTMAX),
 *	hold (true|false, default true: a process discovered at exec or at a
 *	library load is stopped until its probes are attached),
 *	model_globs (overrides the top-level list for this target),
 *	preset (llama.cpp: probes llama_tokenize and llama_decode, maps
 *	libllama.so unless path or maps say otherwise; probes optional),
 *	probes[] (ST_MAX_PROBES in total over all targets):
 *	  symbol | offset (exactly one; offset decimal or 0x, > 0),
 *	  no_endbr_skip (true|false), input, output (both optional; a probe
 *	  without either only counts calls). A capture is a mapping:
 *	    ptr		fetch-arg, u64 or ":string" (ST_LEN_STRING, no len)
 *	    len		unquoted integer: ST_LEN_FIXED; anything else (also a
 *			quoted number) a fetch-arg: ST_LEN_FETCH. Both count
 *			elements, so fixed_len = len * elem_size.
 *	    elem_size	1..ST_MAX_CAPTURE, default 1
 *	    max		1..ST_MAX_CAPTURE, default ST_DEFAULT_CAPTURE
 *	    at		entry|return; default entry for input, return for output
 *	  %ax/$retval (in ptr or len) needs at: return; len from %ax sets
 *	  len_at_return.
 *	  decision: {clear: {NAME: SRC:POINTER}, pseudonymise: {NAME:
 *	  SRC:POINTER}, max_string: 1..4096}; SRC input|output (request|response
 *	  are synonyms), POINTER RFC 6901; at most ST_DECISION_MAX_FIELDS names,
 *	  [A-Za-z0-9_.-]{1,64}, unique (decision.h).
 *	http: {ports: [N...] (required, 1..65535), paths: [fnmatch...],
 *	  methods: [POST...], exclude_paths: [fnmatch...] (default /health*,
 *	  /healthz, /livez, /readyz, /ready, /live, /metrics, /favicon.ico),
 *	  max_body: 0..16777216 (default 65536), client_address:
 *	  pseudonymise|omit, preset: openai|kserve-v1|open-inference,
 *	  ringbuf_bytes: power of two 4096..2^30 (the wire ring, shared),
 *	  decision: as for probes, with request:/response:}; a target with
 *	  http needs no probes (docs/http.md).
 *   system_facts: {NAME: string} (at most ST_MAX_FACTS): Annex III category,
 *	jurisdiction, training-data version...; in system_activation and the
 *	export header as fact.NAME.
 * Integers are decimal or 0x hex; a leading zero (YAML 1.1 octal) is refused.
 */
#ifndef SEALTRACE_CONFIG_H
#define SEALTRACE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/capture/capture.h"
#include "sealtrace/log/decision.h"

#define ST_ERR_LEN 512

struct st_probe_cfg {
	char *symbol;		/* ELF symbol (mangled C++ accepted); NULL with offset */
	uint64_t offset;	/* file offset, when has_offset */
	bool has_offset;
	bool no_endbr_skip;	/* attach at the symbol even if it starts with endbr64 */
	struct st_capture in;	/* in.mode == ST_LEN_NONE: no input capture */
	struct st_capture out;
	struct st_decision_spec decision;	/* fields of input/output in clear or as refs */
	int line;		/* line of the probe in the config, for messages */
};

#define ST_MAX_FACTS 8

/* A static fact about the system (Annex III category, jurisdiction, ...). */
struct st_fact_cfg {
	char *name;
	char key[64];		/* "fact.<name>": its key in details and the export header */
	char *value;
};

enum st_on_loss {
	ST_ON_LOSS_RECORD = 0,	/* write a loss record, let the call go on */
	ST_ON_LOSS_SIGNAL,	/* fail closed: signal the calling process */
};

/* A model digest the operator has named: model_version of its records. */
struct st_model_cfg {
	char sha256[65];	/* lower-case hex */
	char *version;
	int line;
};

enum st_risk_op {
	ST_RISK_LT, ST_RISK_LE, ST_RISK_GT, ST_RISK_GE, ST_RISK_EQ, ST_RISK_NE,
	ST_RISK_IN, ST_RISK_NOT_IN,
};

/* A rule over one decision field: when it holds, a `risk` record. */
struct st_risk_rule_cfg {
	char *name;
	char *field;
	enum st_risk_op op;
	double value;		/* the numeric ops */
	char **set;		/* ST_RISK_IN / ST_RISK_NOT_IN: values as text */
	size_t nset;
	char *severity;		/* low, medium, high, critical */
	int line;
};

#define ST_HTTP_MAX_PORTS 16
#define ST_HTTP_MAX_PATTERNS 32

/* http: watch the target's own sockets (wire capture, docs/http.md). */
struct st_http_cfg {
	bool enabled;
	uint16_t ports[ST_HTTP_MAX_PORTS];	/* local ports (required) */
	size_t nports;
	char **paths;		/* fnmatch patterns of what is an inference; NULL: every path */
	size_t npaths;
	char **methods;		/* NULL: every method */
	size_t nmethods;
	char **exclude;		/* never inferences (default: health checks, metrics) */
	size_t nexclude;
	uint64_t max_body;	/* bytes of a body kept for its HMAC and decision fields */
	bool omit_client;	/* client_address: omit (default pseudonymise) */
	uint64_t ringbuf_bytes;	/* the wire ring (largest over targets); 0: 16 MiB */
	char *preset;		/* openai | kserve-v1 | open-inference, or NULL */
	struct st_decision_spec decision;	/* request:/response: pointers */
	int line;
};

struct st_target_cfg {
	char *name;
	char *path;		/* binary or shared library */
	char *exe;		/* match processes by executable name (optional) */
	char *maps;		/* match processes that map this library (optional) */
	int pid;		/* 0: every process */
	enum st_on_loss on_loss;
	int signal;		/* for ST_ON_LOSS_SIGNAL, default SIGKILL */
	bool no_hold;		/* hold: false */
	char *preset;		/* "llama.cpp" or NULL */
	char **model_globs;	/* NULL: the top-level list; none ([]): no hashing */
	size_t nmodel_globs;
	struct st_probe_cfg *probes;
	size_t nprobes;
	struct st_http_cfg http;
	int line;
};

/* How the kernel reports the model files a tracked process reads. */
enum st_model_detection {
	ST_MODEL_DETECT_AUTO = 0,	/* page_cache where the kernel has it, else openat */
	ST_MODEL_DETECT_PAGE_CACHE,	/* mm_filemap_* raw tracepoints (kernel 6.10+) */
	ST_MODEL_DETECT_OPENAT,		/* syscalls:sys_{enter,exit}_openat */
};

struct st_config {
	char *file;		/* where it was read from (for messages) */
	char *system_id;
	char *operator_id;
	char *node_id;		/* default: the host name */
	char *state_dir;	/* default /var/lib/sealtrace */
	char *keys_dir;		/* keys.dir, default /etc/sealtrace */
	char *pin_dir;		/* default /sys/fs/bpf/sealtrace */
	uint64_t ringbuf_bytes;	/* power of two, default 64 MiB */

	struct {
		uint64_t max_records;	/* default 100000 */
		uint64_t max_bytes;	/* default 64 MiB */
		uint64_t max_seconds;	/* default 86400 */
	} segment;
	struct {
		uint64_t every_records;	/* default 10000 */
		uint64_t every_seconds;	/* default 60 */
		uint64_t epoch_seconds;	/* signing key epochs; 0: off (default) */
	} checkpoint;
	struct {
		char *key_file;		/* NULL: segments not sealed */
	} encryption;
	struct {
		uint64_t every_ms;	/* 0: fsync every block; default 0 */
	} fsync;
	struct {
		char *listen;		/* default 127.0.0.1:9464; "" disables */
	} metrics;
	uint64_t heartbeat_seconds;	/* default 60 */
	struct {
		uint64_t decision_days;	/* 0: forever; default 183 */
		uint64_t system_days;	/* 0: forever; default 3650 */
		uint64_t check_seconds;	/* default 3600 */
	} retention;
	/*
	 * on_loss: signal targets are also signalled when the agent's
	 * heartbeat (refreshed every second) is older than this; 0 = only
	 * when the ring buffer is full. Default 0.
	 */
	uint64_t fail_closed_after_ms;

	char **model_globs;	/* NULL: st_default_model_globs (model.h); [] none */
	size_t nmodel_globs;
	enum st_model_detection model_detection;
	struct st_model_cfg *models;
	size_t nmodels;
	struct st_fact_cfg *facts;	/* system_facts */
	size_t nfacts;

	struct st_target_cfg *targets;
	size_t ntargets;

	struct st_risk_rule_cfg *risk_rules;
	size_t nrisk_rules;
};

/*
 * Load and validate; on error returns -1 with a message in err (may be
 * NULL) and leaves cfg zeroed: nothing to free. A missing file reads
 * "FILE: cannot open: <strerror>"; a YAML error "FILE:LINE: YAML syntax
 * error: ...". st_config_free() may be called more than once.
 */
int st_config_load(const char *path, struct st_config *cfg, char *err,
		   size_t errlen);
/* Same from memory; name is used in messages in place of a file name. */
int st_config_load_string(const char *name, const char *yaml, size_t len,
			  struct st_config *cfg, char *err, size_t errlen);
void st_config_free(struct st_config *cfg);
/*
 * 1 with a message naming AI Act Art. 19(1)/26(6) when
 * retention.decision_days is set below six months (allowed: the operator
 * may have a reason, but must be told); 0 otherwise.
 */
int st_config_retention_warning(const struct st_config *cfg, char *out,
				size_t outlen);

#endif /* SEALTRACE_CONFIG_H */
