/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Decision fields: what the config names in a request/response body (or a
 * probe's captured input/output), by JSON Pointer (RFC 6901), kept in the
 * record in clear ("decision": scalars only, strings capped) or as one
 * HMAC reference per field ("pseudonyms"), so a data subject's decisions
 * can be found without the log holding the identifier. Nothing the config
 * does not name is ever stored in clear.
 *
 * A field that is absent, not a scalar, or in a body that is not JSON (or
 * was cut at the capture cap) is recorded as missing, not as an error:
 * details.decision_missing lists such names (comma-separated, in config
 * order), details.decision_error says why a body could not be read.
 */
#ifndef SEALTRACE_DECISION_H
#define SEALTRACE_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/json.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/record.h"

#define ST_DECISION_MAX_FIELDS	ST_RECORD_MAX_DECISION
#define ST_DECISION_DEF_STRING	256	/* bytes of a string value kept in clear */
#define ST_DECISION_MAX_STRING	4096

/* Which body a pointer reads: request = a probe's input, response = output. */
enum st_decision_src { ST_DSRC_REQUEST, ST_DSRC_RESPONSE };

struct st_decision_field {
	char *name;		/* [A-Za-z0-9_.-]{1,64}: the key in the record */
	char *pointer;		/* RFC 6901: "" or "/a/0/b~1c" */
	enum st_decision_src src;
	bool pseudonymise;	/* an HMAC ref in "pseudonyms", never the value */
};

struct st_decision_spec {
	struct st_decision_field *fields;
	size_t nfields;
	uint32_t max_string;	/* 0: ST_DECISION_DEF_STRING */
};

/* A clear field of this name, when a string, is also the record's model_version. */
#define ST_DECISION_MODEL_VERSION "model_version"

/* What one exchange gave; the record's decision/pseudonyms point into it. */
struct st_decision_result {
	struct st_kv clear[ST_DECISION_MAX_FIELDS];
	size_t nclear;
	struct st_kv refs[ST_DECISION_MAX_FIELDS];
	size_t nrefs;
	char ref_text[ST_DECISION_MAX_FIELDS][ST_PSEUDO_REF_MAX];
	char *strings[ST_DECISION_MAX_FIELDS];	/* capped copies, owned */
	bool any_clear, any_refs;
	char missing[ST_DECISION_MAX_FIELDS * 66];	/* "a,b" */
	char truncated[ST_DECISION_MAX_FIELDS * 66];	/* strings cut at max_string */
	char error[160];			/* why a body was not read */
	const char *model_version;		/* into strings[], or NULL */
};

/*
 * "" or "/..." with only ~0 and ~1 escapes: 0, or -1 with the reason in
 * err (for the config loader).
 */
int st_json_pointer_valid(const char *ptr, char *err, size_t errlen);
/* The value at ptr in root, or NULL (RFC 6901 evaluation). */
const struct st_jv *st_json_pointer_get(const struct st_jv *root, const char *ptr);

/*
 * Fill r from the request and response bodies (NULL: not captured;
 * *_whole false: the capture was cut at its cap, so the body is not read).
 * Never fails: what cannot be read is recorded as missing. Free with
 * st_decision_result_free.
 */
void st_decision_extract(const struct st_decision_spec *spec,
			 const struct st_keyring *keys,
			 const void *req, size_t req_len, bool req_whole,
			 const void *resp, size_t resp_len, bool resp_whole,
			 struct st_decision_result *r);
void st_decision_result_free(struct st_decision_result *r);
/*
 * Point rec->decision/pseudonyms at r and add decision_missing,
 * decision_truncated and decision_error to details[*nd..max). rec must
 * outlive nothing in r.
 */
void st_decision_apply(const struct st_decision_result *r, struct st_record *rec,
		       struct st_kv *details, size_t *nd, size_t max);

#endif /* SEALTRACE_DECISION_H */
