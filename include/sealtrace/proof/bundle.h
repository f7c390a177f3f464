/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Export bundle: what `sealtrace export` writes and `verify --export`
 * (and tools/verify_export.py) check. JSON lines:
 *
 *   {"export":"header","format":"sealtrace-export/1","filter":{...}}
 *   (filter: event_id, event_type, from, stream, to; each string or null)
 *   per exported stream:
 *     {"export":"checkpoint","stream":"decision","note":"<signed note>"}
 *     the selected records, byte for byte as chained, in seq order
 *     {"export":"proof","stream":"decision","tree_size":N,
 *      "nodes":[[lo,hi,"<hex>"],...]}
 *
 * The proof holds the hash of every maximal subtree [lo, hi) of the
 * stream's RFC 6962 tree of size N that contains no exported record
 * (merkle.h): with the records it gives the root the note signs. So each
 * record is proved to be the one at its seq in the signed log; records
 * with consecutive seqs are also checked link by link. A filter proves
 * nothing about records it left out, except that their seqs are absent.
 */
#ifndef SEALTRACE_BUNDLE_H
#define SEALTRACE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/types.h>

#include "sealtrace/base/json.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/record.h"

#define ST_BUNDLE_FORMAT "sealtrace-export/1"

/*
 * Meta lines, each appended to out with its newline. NULL = absent. The
 * filter is information for the reader (what was asked for); verifiers
 * ignore it. event_id is set by `sealtrace prove` (one record).
 */
void st_bundle_header(struct st_buf *out, const char *stream, const char *from,
		      const char *to, const char *event_types,
		      const char *event_id);
/*
 * The same with "system_facts": facts (a JSON object, or NULL/empty: left
 * out): the static facts of the system (config system_facts) as the last
 * agent_start or system_activation in the log recorded them.
 */
void st_bundle_header_facts(struct st_buf *out, const char *stream, const char *from,
			    const char *to, const char *event_types,
			    const char *event_id, const struct st_buf *facts);
/* Those facts as a JSON object into out (empty when none): 0, or as st_scan. */
int st_bundle_facts(const char *state_dir, struct st_buf *out, char *err, size_t errlen);
void st_bundle_checkpoint(struct st_buf *out, enum st_stream s,
			  const char *note);
void st_bundle_proof(struct st_buf *out, enum st_stream s, uint64_t tree_size,
		     const struct st_mproof_node *nodes, size_t n);

struct st_bundle_report {
	struct {
		bool present;
		uint64_t tree_size, records, links;
		uint64_t first_seq, last_seq;
		size_t signer;		/* index in keys of the note's signer */
	} s[ST_STREAM__COUNT];
};

/*
 * Check a bundle read from f (name is for messages): header, every note's
 * signature under one of keys (none: format only), canonical records,
 * links between consecutive seqs, and the Merkle root from records +
 * proof against the note.
 * 0 intact, 1 not ("<name>:<line>: what"), -1 I/O or memory.
 */
int st_bundle_verify(FILE *f, const char *name, const struct st_keyset *keys,
		     struct st_bundle_report *rep, char *err, size_t errlen);

#endif /* SEALTRACE_BUNDLE_H */
