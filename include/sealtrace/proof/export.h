/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Export: one stream's part of an export bundle (bundle.h), built from a
 * state directory. `sealtrace export` writes it for a filter over many
 * records; `sealtrace prove` for the one record with a given event_id,
 * which makes a single-record inclusion proof the same file format that
 * `verify --export` and tools/verify_export.py already check.
 */
#ifndef SEALTRACE_EXPORT_H
#define SEALTRACE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sealtrace/base/json.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/record.h"

struct st_export_filter {
	bool type[ST_ET__COUNT];
	bool any_type;			/* false: every type */
	uint64_t from, to;		/* timestamp_utc in [from, to) */
	const char *event_id;		/* NULL: any */
};

/* Every record: no type, time or event_id restriction. */
void st_export_filter_init(struct st_export_filter *f);
bool st_export_match(const struct st_export_filter *f,
		     const struct st_record *rec, const struct st_record_hdr *hdr);

struct st_export_stats {
	uint64_t tree_size;		/* records the checkpoint signs */
	uint64_t selected;		/* records written (all below tree_size) */
	uint64_t newer;			/* records after the signed head */
	uint64_t newer_selected;	/* of those, matched by the filter */
	uint64_t first_newer_seq;	/* of the first newer match */
	size_t nodes;			/* proof nodes */
};

/*
 * Append <stream>'s checkpoint line, the selected records the checkpoint
 * covers, and the proof line to out. With a sink, out is written to it
 * whenever it passes 1 MiB and at the end (an export of millions of
 * records); without one, it all stays in out for the caller to write or
 * drop. With keys (n > 0), the checkpoint must be signed by one of them.
 * 0, 1 the log does not match its signed checkpoint (err says how), -1
 * runtime error (I/O, memory; err).
 */
int st_export_stream(const char *state_dir, enum st_stream s,
		     const struct st_export_filter *f, const struct st_keyset *keys,
		     FILE *sink, struct st_buf *out,
		     struct st_export_stats *stats, char *err, size_t errlen);

#endif /* SEALTRACE_EXPORT_H */
