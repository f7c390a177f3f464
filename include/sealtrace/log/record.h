/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records: one event as one canonical JSON line (docs/schema.md).
 *
 * Every key is always present, in this fixed order; absent values are
 * written as null:
 *   schema_version, event_id, event_type, timestamp_utc, system_id,
 *   operator_id, node_id, stream, seq, pid, tid, comm, container_id, probe,
 *   model_version, model_artifact, input_hash, input_len,
 *   output_reference, output_len, duration_ns, ret,
 *   human_override_applied, decision, pseudonyms, details,
 *   preceding_event_hash (schema 1 lacks decision and pseudonyms)
 * `details` is an object of type-specific scalars, keys sorted bytewise.
 * The line carries no whitespace and no trailing newline (the store adds
 * one); it is what the chain and the Merkle tree hash.
 */
#ifndef SEALTRACE_RECORD_H
#define SEALTRACE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/digest.h"
#include "sealtrace/base/json.h"

/*
 * 2 added "decision" and "pseudonyms" (between human_override_applied and
 * details); records of version 1 are still read and re-canonicalised in
 * their own layout.
 */
#define ST_SCHEMA_VERSION	2
#define ST_SCHEMA_VERSION_MIN	1
#define ST_RECORD_MAX_DETAILS	32
#define ST_RECORD_MAX_DECISION	16	/* fields in decision, and in pseudonyms */
#define ST_DETAIL_KEY_MAX	64
#define ST_TIME_LEN		30	/* 2025-01-02T03:04:05.123456789Z */
#define ST_EVENT_ID_LEN		36	/* UUID text */

enum st_event_type {
	ST_ET_INFERENCE,
	ST_ET_INCOMPLETE,
	ST_ET_SYSTEM_ACTIVATION,
	ST_ET_SYSTEM_DEACTIVATION,
	ST_ET_MODEL_LOADED,
	ST_ET_PROBE_ATTACHED,
	ST_ET_PROBE_DETACHED,
	ST_ET_AGENT_START,
	ST_ET_AGENT_STOP,
	ST_ET_LOSS,
	ST_ET_HEARTBEAT,
	ST_ET_CHECKPOINT,
	ST_ET_RECOVERY,
	ST_ET_RETENTION_PURGE,
	ST_ET_LOG_ACCESS,
	ST_ET_OVERSIGHT,
	ST_ET_CONFIG_CHANGE,
	ST_ET_KEY_EPOCH,
	ST_ET_RISK,		/* a risk rule matched a decision (monitor/risk.h) */
	ST_ET__COUNT
};

const char *st_event_type_name(enum st_event_type t);	/* "inference", ... */
int st_event_type_parse(const char *name);		/* -1 if unknown */

/* Each stream is its own chain, Merkle tree and retention tier. */
enum st_stream { ST_STREAM_DECISION, ST_STREAM_SYSTEM, ST_STREAM__COUNT };

const char *st_stream_name(enum st_stream s);		/* "decision", "system" */
int st_stream_parse(const char *name);			/* -1 if unknown */
/* inference and incomplete -> decision; everything else -> system */
enum st_stream st_event_stream(enum st_event_type t);

/*
 * Type-specific fields, e.g. loss {count, first_ts, last_ts, probe, reason}.
 * ST_KV_NULL and ST_KV_NUM (a double, RFC 8785 number) occur only in
 * "decision": details hold strings, integers and booleans.
 */
enum st_kv_kind { ST_KV_STR, ST_KV_INT, ST_KV_UINT, ST_KV_BOOL, ST_KV_NULL,
		  ST_KV_NUM };

struct st_kv {
	const char *key;	/* [A-Za-z0-9_.-]{1,64}, unique in a record */
	enum st_kv_kind kind;
	union {
		const char *s;
		int64_t i;
		uint64_t u;
		bool b;
		double d;
	} v;
};

/* What the agent fills in. */
struct st_record {
	enum st_event_type type;
	uint64_t timestamp_ns;		/* UTC ns since the epoch */
	int32_t pid, tid;		/* 0 = absent */
	const char *comm, *container_id, *probe, *model_version,
		*model_artifact;	/* NULL = absent */
	const char *input_hash;		/* "hmac-sha256:<key_id>:<hex>" or NULL */
	int64_t input_len;		/* -1 = absent */
	const char *output_reference;	/* NULL = absent */
	int64_t output_len;		/* -1 = absent */
	int64_t duration_ns;		/* -1 = absent */
	bool has_ret;
	int64_t ret;
	bool human_override_applied;
	/*
	 * Schema 2: values the config names, in clear (scalars; null when the
	 * decision object is absent, i.e. !has_decision), and per-field HMAC
	 * refs of named identifiers (ST_KV_STR "hmac-sha256:..."); keys sorted.
	 */
	bool has_decision, has_pseudonyms;
	const struct st_kv *decision;
	size_t ndecision;
	const struct st_kv *pseudonyms;
	size_t npseudonyms;
	const struct st_kv *details;	/* emitted as "details", keys sorted */
	size_t ndetails;
	int schema_version;		/* 0: ST_SCHEMA_VERSION; 1 for old records read back */
};

/* An empty record of a type: every optional field absent (-1 / NULL). */
void st_record_init(struct st_record *rec, enum st_event_type type, uint64_t ts_ns);

/* Detail values, for filling struct st_record.details. */
struct st_kv st_kv_str(const char *key, const char *v);
struct st_kv st_kv_int(const char *key, int64_t v);
struct st_kv st_kv_uint(const char *key, uint64_t v);
struct st_kv st_kv_bool(const char *key, bool v);
struct st_kv st_kv_null(const char *key);
struct st_kv st_kv_num(const char *key, double v);

/* What the log assigns. */
struct st_record_hdr {
	const char *event_id;		/* UUID (version 7 when the log made it) */
	const char *system_id, *operator_id, *node_id;	/* NULL = absent */
	enum st_stream stream;
	uint64_t seq;			/* 0-based, == Merkle leaf index */
	char prev_hex[ST_HASH_HEX + 1];	/* preceding_event_hash */
};

/*
 * Append the canonical line of (hdr, rec) to out, without a newline.
 * Rejects what would make a record ambiguous or leak raw data: unknown
 * type, type/stream mismatch, a reference that is not an HMAC ref,
 * bad or duplicate detail keys, negative lengths other than -1.
 */
int st_record_canon(struct st_buf *out, const struct st_record_hdr *hdr,
		    const struct st_record *rec, char *err, size_t errlen);

/* A line read back: the values point into storage the struct owns. */
struct st_record_parsed {
	struct st_record rec;
	struct st_record_hdr hdr;
	struct st_kv details[ST_RECORD_MAX_DETAILS];
	struct st_kv decision[ST_RECORD_MAX_DECISION];
	struct st_kv pseudonyms[ST_RECORD_MAX_DECISION];
	struct st_json_doc doc;
};

/*
 * Parse a line and check that it is exactly the canonical form of what
 * it says (key set and order, escapes, numbers). scratch is reused
 * between calls. 0, or -1 with the reason in err; free with
 * st_record_parsed_free() in both cases.
 */
int st_record_parse(const char *line, size_t len, struct st_record_parsed *p,
		    struct st_buf *scratch, char *err, size_t errlen);
void st_record_parsed_free(struct st_record_parsed *p);
/* A detail of a parsed (or any) record by key, or NULL. */
const struct st_kv *st_record_detail(const struct st_record *rec,
				     const char *key);
/* A string detail, or NULL when absent or of another kind. */
const char *st_record_detail_str(const struct st_record *rec, const char *key);
/* A non-negative integer detail, or 0 when absent, negative or of another kind. */
uint64_t st_record_detail_uint(const struct st_record *rec, const char *key);

/* UTC ns <-> "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (always 9 digits). */
int st_time_format(uint64_t ns, char out[ST_TIME_LEN + 1]);
/*
 * Parse RFC 3339 ("2025-01-02T03:04:05Z", fraction and +hh:mm offset
 * optional) or a bare date "2025-01-02" (midnight UTC). 0 or -1.
 */
int st_time_parse(const char *s, uint64_t *ns);
/*
 * The same, saying why a text is refused: not the form, a day the month
 * does not have (2025-02-31), before 1970 or beyond what 64-bit
 * nanoseconds hold (after 2554-07-21).
 */
int st_time_parse_why(const char *s, uint64_t *ns, char *why, size_t whylen);

#endif /* SEALTRACE_RECORD_H */
