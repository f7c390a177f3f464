// SPDX-License-Identifier: Apache-2.0
/* Segments line by line, and a line's type and time without a parse (lines.h). */
#include <stdio.h>
#include <string.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/base/json.h"
#include "sealtrace/log/store.h"
#include "sealtrace/monitor/lines.h"

int st_line_head(const char *line, size_t len, char *type, size_t tlen, uint64_t *ts)
{
	static const char et[] = "\"event_type\":\"", tu[] = "\",\"timestamp_utc\":\"";
	const char *p = memmem(line, len < 128 ? len : 128, et, sizeof(et) - 1), *q;
	char t[ST_TIME_LEN + 1];

	if (!p)
		return -1;
	p += sizeof(et) - 1;
	q = memchr(p, '"', (size_t)(line + len - p));
	if (!q || (size_t)(q - p) >= tlen ||
	    (size_t)(line + len - q) < sizeof(tu) - 1 + ST_TIME_LEN)
		return -1;
	memcpy(type, p, (size_t)(q - p));
	type[q - p] = '\0';
	if (memcmp(q, tu, sizeof(tu) - 1))
		return -1;
	memcpy(t, q + sizeof(tu) - 1, ST_TIME_LEN);
	t[ST_TIME_LEN] = '\0';
	return st_time_parse(t, ts);
}

int st_lines_segment(const char *state_dir, enum st_stream s, uint64_t first,
		     st_line_fn fn, void *ctx, uint64_t *seq, char *err,
		     size_t errlen)
{
	struct st_seg_reader *r = NULL;
	struct st_buf block = { 0 };
	char path[4300], name[ST_SEG_NAME_LEN + 1];
	const char *p, *nl, *end;
	uint64_t off;
	int rc = 0, brc = ST_BLOCK_OK;

	st_seg_name(first, name);
	snprintf(path, sizeof(path), "%s/%s/%s", state_dir, st_stream_name(s), name);
	if (st_seg_open(&r, path, err, errlen))
		return -1;
	while (!rc && (brc = st_seg_next(r, &block, &off, err, errlen)) == ST_BLOCK_OK) {
		for (p = block.p, end = p + block.len; !rc && p < end; p = nl + 1, (*seq)++) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				break;
			rc = fn(ctx, p, (size_t)(nl - p));
		}
	}
	/* a torn tail is a write in progress (or the agent's to recover) */
	if (!rc && brc == ST_BLOCK_ERROR)
		rc = -1;
	else if (!rc && brc == ST_BLOCK_CORRUPT)
		rc = st_failf(err, errlen, "%s/%s: a block does not read back", st_stream_name(s), name);
	st_buf_free(&block);
	st_seg_close(r);
	return rc;
}
