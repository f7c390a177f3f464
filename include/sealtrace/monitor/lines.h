/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading segments line by line for the monitoring verbs, which look at a
 * few record types among many: the type and time of a canonical line come
 * from its fixed prefix without a parse, so that only the lines a verb
 * wants are parsed (st_record_parse) at all. A reader, not a verifier:
 * chain and tree are `sealtrace verify`'s job (and `report`'s, which scans
 * with every check).
 */
#ifndef SEALTRACE_LINES_H
#define SEALTRACE_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/log/record.h"

/*
 * {"schema_version":N,"event_id":"...","event_type":"<type>",
 * "timestamp_utc":"<time>",...: 0 with type and *ts set, -1 when the line
 * is not laid out so (the caller parses it then).
 */
int st_line_head(const char *line, size_t len, char *type, size_t tlen,
		 uint64_t *ts);

/* 0 goes on, anything else stops and is returned. */
typedef int (*st_line_fn)(void *ctx, const char *line, size_t len);

/*
 * Every line of <state_dir>/<stream>/<first>.seg, in order; *seq counts
 * them on from its value. 0; 1 a block does not read (err); -1 I/O.
 */
int st_lines_segment(const char *state_dir, enum st_stream s, uint64_t first,
		     st_line_fn fn, void *ctx, uint64_t *seq, char *err,
		     size_t errlen);

#endif /* SEALTRACE_LINES_H */
