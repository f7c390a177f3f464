// SPDX-License-Identifier: Apache-2.0
/* The log's own account of a time window, for `status --since` (see status_window.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/ops/status_window.h"

#define PROGRESS_NS	(2 * ST_NS_PER_SEC)	/* quick scans print nothing */


struct window_scan {
	struct st_window *w;
	enum st_stream stream;
	size_t hint;		/* last probe found: records come in runs */
};

static struct st_window_probe *find_probe(struct window_scan *ws, const char *name)
{
	struct st_window *w = ws->w;
	size_t i;

	if (ws->hint < w->nprobes && !strcmp(w->probes[ws->hint].probe, name))
		return &w->probes[ws->hint];
	for (i = 0; i < w->nprobes; i++) {
		if (!strcmp(w->probes[i].probe, name)) {
			ws->hint = i;
			return &w->probes[i];
		}
	}
	return NULL;
}

static struct st_window_probe *get_probe(struct window_scan *ws, const char *name,
					 char *err, size_t errlen)
{
	struct st_window *w = ws->w;
	struct st_window_probe *p = find_probe(ws, name), *grown;
	size_t cap;

	if (p)
		return p;
	if (w->nprobes == w->cap) {
		cap = w->cap ? w->cap * 2 : 16;
		grown = realloc(w->probes, cap * sizeof(*grown));
		if (!grown) {
			snprintf(err, errlen, "out of memory for %zu probes", cap);
			return NULL;
		}
		w->probes = grown;
		w->cap = cap;
	}
	p = &w->probes[w->nprobes];
	memset(p, 0, sizeof(*p));
	snprintf(p->probe, sizeof(p->probe), "%s", name);
	ws->hint = w->nprobes++;
	return p;
}

/* The record's probe; a loss record also names it in its details. */
static const char *probe_of(const struct st_record *rec)
{
	const struct st_kv *kv;

	if (rec->probe)
		return rec->probe;
	kv = st_record_detail(rec, "probe");
	if (kv && kv->kind == ST_KV_STR)
		return kv->v.s;
	return "-";
}

static void add_loss(struct st_window_probe *p, const struct st_record *rec)
{
	const struct st_kv *count = st_record_detail(rec, "count");
	const struct st_kv *reason = st_record_detail(rec, "reason");
	/* a loss record without a count still fails the window, for 0 calls */
	uint64_t n = count && count->kind == ST_KV_UINT ? count->v.u : 0;
	enum st_loss_reason r;

	p->loss_records++;
	if (reason && reason->kind == ST_KV_STR && !st_loss_reason_parse(reason->v.s, &r)) {
		p->lost[r] += n;
		return;
	}
	/* written by a newer agent, or damaged: counted, never dropped */
	p->lost_other += n;
}

static void progress(struct window_scan *ws, uint64_t seq)
{
	struct st_progress *p = &ws->w->progress;

	if (st_progress_tick(p))
		st_progress_print("status: %s: seq %" PRIu64 " read (%.0f s)...",
				  st_stream_name(ws->stream), seq, st_progress_elapsed_s(p));
}

static int on_record(void *ctx, const struct st_scan_rec *r, char *err, size_t errlen)
{
	struct window_scan *ws = ctx;
	const struct st_record *rec = &r->p->rec;
	struct st_window_probe *p;

	progress(ws, r->p->hdr.seq);
	if (rec->timestamp_ns < ws->w->since_ns)
		return 0;
	if (rec->type != ST_ET_LOSS && rec->type != ST_ET_INFERENCE &&
	    rec->type != ST_ET_INCOMPLETE)
		return 0;
	p = get_probe(ws, probe_of(rec), err, errlen);
	if (!p)
		return -1;
	if (rec->type == ST_ET_LOSS) {
		add_loss(p, rec);
		ws->w->loss_records++;
	} else {
		p->persisted++;
	}
	return 0;
}

static int read_stream(const char *state_dir, enum st_stream stream, bool live,
		       struct st_window *w, char *err, size_t errlen)
{
	struct st_scan_window sw = { .since_ns = w->since_ns, .live = live };
	struct window_scan ws = { .w = w, .stream = stream };
	struct st_scan_result *res;
	char why[ST_SCAN_ERR_LEN];
	int rc;

	/* big: it holds the Merkle tree's frontier */
	res = calloc(1, sizeof(*res));
	if (!res) {
		snprintf(err, errlen, "%s: out of memory", st_stream_name(stream));
		return -1;
	}
	rc = st_scan_stream_window(state_dir, stream, &sw, on_record, &ws, res, why,
				   sizeof(why));
	w->scan[stream].records = res->records - res->first_seq;
	w->scan[stream].segments_read = res->segments;
	w->scan[stream].segments_skipped = res->segments_skipped;
	free(res);
	if (rc) {
		snprintf(err, errlen, "%s log %s: %s", st_stream_name(stream),
			 rc > 0 ? "broken (run sealtrace verify)" : "unreadable", why);
		return -1;
	}
	return 0;
}

int st_window_read(const char *state_dir, uint64_t since_ns, bool live, bool progress_on,
		   struct st_window *w, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->since_ns = since_ns;
	st_progress_init(&w->progress, progress_on, PROGRESS_NS, true);
	if (read_stream(state_dir, ST_STREAM_SYSTEM, live, w, err, errlen))
		return -1;
	return read_stream(state_dir, ST_STREAM_DECISION, live, w, err, errlen);
}

void st_window_free(struct st_window *w)
{
	free(w->probes);
	w->probes = NULL;
	w->nprobes = w->cap = 0;
}

const struct st_window_probe *st_window_probe(const struct st_window *w, const char *probe)
{
	size_t i;

	for (i = 0; i < w->nprobes; i++)
		if (!strcmp(w->probes[i].probe, probe))
			return &w->probes[i];
	return NULL;
}

uint64_t st_window_lost_total(const struct st_window_probe *p)
{
	uint64_t n = p->lost_other;
	int r;

	for (r = 0; r < ST_LOSS__COUNT; r++)
		n += p->lost[r];
	return n;
}
