// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace reconstruct: one decision in full, from the log alone - the
 * record with its inclusion proof, the model in force, the process and
 * container, every risk and oversight record about it, and what the log
 * says about completeness around it (losses, agent restarts).
 *
 * Fast on a long log: the record is found by time (an event_id is a UUIDv7
 * whose first 48 bits are its millisecond), in the one or two segments
 * that hold that moment; its proof is made in the first signed decision
 * head after it, from the frontier that the checkpoint record before it
 * carries (details.frontier) and the lines in between, so the decision
 * stream is read only around the record. The proof is an export bundle
 * (bundle.h) that `verify --export` and tools/verify_export.py check;
 * nothing read here is trusted, since a wrong frontier or line gives a
 * root the signed note refutes. Without such checkpoint records (a log
 * written before they carried frontiers) the proof falls back to the
 * export engine, which reads the whole stream.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/base/json.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/purge_record.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/log/store.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/proof/bundle.h"
#include "sealtrace/proof/export.h"
#include "sealtrace/monitor/lines.h"

#define NS_PER_S	((uint64_t)1000000000)
#define DEF_WINDOW_S	86400
#define MAX_RELATED	256
#define SCAN_STOP	2

/* What the system stream says about the decision and its surroundings. */
struct related {
	char *line;			/* canonical line, owned */
	enum st_event_type type;
	uint64_t seq;			/* system seq */
};

/* A system-stream checkpoint record: where a proof of related records may start or end. */
struct sys_ckpt {
	uint64_t size;
	char *frontier;			/* NULL when the record has none */
	char *note;
};

struct ctx {
	const char *dir;
	char id[ST_EVENT_ID_LEN + 1];
	uint64_t ts, seq, window_ns;
	const char *ref;		/* --ref: the reference looked for */
	bool past;			/* the system read passed the window */
	uint64_t best_dist;		/* --ref: |time - ts| of the best match */
	/* the decision */
	char *line;
	size_t len;
	struct st_record_parsed rec;
	struct st_buf scratch;
	bool parsed;
	/* proof inputs from checkpoint records of the decision stream */
	uint64_t from_size;		/* frontier at this size (0: empty) */
	char *from_frontier;
	uint64_t to_size;		/* first signed head covering seq */
	char *to_note;
	uint64_t to_ts;
	/* the system stream */
	struct related rel[MAX_RELATED];
	size_t nrel, risk, oversight, losses, restarts, recoveries;
	struct sys_ckpt *sck;
	size_t nsck, capsck;
	size_t rel_proved;		/* related records in the bundle, with their proof */
	char sys_why[256];		/* why they are not, if not */
	uint64_t lost_calls;
	bool rel_truncated;
	/* the proof */
	struct st_mproof_node *nodes;
	size_t nn, ncap;
	bool fast;			/* proved from a frontier, not a full scan */
	struct st_buf bundle;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace reconstruct --state-dir DIR --event-id ID [options]\n"
		"       sealtrace reconstruct --state-dir DIR --ref REF --at TIME [options]\n\n"
		"Everything the log holds about one decision: the record and its Merkle\n"
		"inclusion proof, the model artifact and version in force, the process\n"
		"and container, every risk and oversight record about it, and the losses\n"
		"and agent restarts within --window of it. Text on stdout (or --json);\n"
		"with --bundle, the record and its proof as an export bundle that\n"
		"  sealtrace verify --export FILE --pubkey signing.pub\n"
		"  python3 tools/verify_export.py FILE signing.pub\n"
		"check on their own.\n\n"
		"  --state-dir DIR   the agent's state directory\n"
		"  --event-id ID     the decision's event_id (a UUID)\n"
		"  --ref REF         or: an hmac-sha256:... reference (input_hash,\n"
		"                    output_reference, or a pseudonymised field) ...\n"
		"  --at TIME         ... of the decision nearest TIME (within --window)\n"
		"  --window SECONDS  the window around it for losses, restarts, risk and\n"
		"                    oversight records (default 86400: one day)\n"
		"  --bundle FILE     write the verifiable bundle to FILE\n"
		"  --pubkey FILE     check the signed checkpoint with this key\n"
		"  --json            one JSON object on stdout\n"
		"  -h, --help        this text\n\n"
		"Exit status: 0 reconstructed, 1 no such decision, not yet under a signed\n"
		"checkpoint, or the log does not match its signature, 2 usage, 3 I/O error.\n");
}

static bool uuid_text(const char *s)
{
	size_t i;

	if (strlen(s) != ST_EVENT_ID_LEN)
		return false;
	for (i = 0; i < ST_EVENT_ID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

/* The millisecond a UUIDv7 names, in ns. */
static uint64_t uuid7_ns(const char *id)
{
	char hex[13];

	memcpy(hex, id, 8);
	memcpy(hex + 8, id + 9, 4);
	hex[12] = '\0';
	return strtoull(hex, NULL, 16) * 1000000ull;
}

/* ---- finding the record in the decision stream ---- */

struct seg_cursor {
	struct st_seg_reader *r;
	struct st_buf block;
};

static int seg_path(const char *dir, uint64_t first, char *out, size_t len)
{
	char name[ST_SEG_NAME_LEN + 1];

	st_seg_name(first, name);
	return snprintf(out, len, "%s/decision/%s", dir, name) >= (int)len ? -1 : 0;
}

/* Timestamp of a segment's first record; 0 on any problem. */
static uint64_t seg_first_ts(struct ctx *c, uint64_t first)
{
	struct st_seg_reader *r = NULL;
	struct st_buf block = { 0 };
	struct st_record_parsed p;
	char path[4300], err[256];
	uint64_t off, ts = 0;
	const char *nl;

	memset(&p, 0, sizeof(p));
	if (seg_path(c->dir, first, path, sizeof(path)) ||
	    st_seg_open(&r, path, err, sizeof(err)))
		return 0;
	if (st_seg_next(r, &block, &off, err, sizeof(err)) == ST_BLOCK_OK && block.len) {
		nl = memchr(block.p, '\n', block.len);
		if (nl && !st_record_parse(block.p, (size_t)(nl - block.p), &p, &c->scratch,
					   err, sizeof(err)))
			ts = p.rec.timestamp_ns;
		st_record_parsed_free(&p);
	}
	st_buf_free(&block);
	st_seg_close(r);
	return ts;
}

typedef bool (*line_match_fn)(struct ctx *c, const char *line, size_t len);

/* 1 take this line and stop; 0 go on (the callback may keep it itself) */
static bool match_id(struct ctx *c, const char *line, size_t len)
{
	char key[ST_EVENT_ID_LEN + 16];

	/* "event_id" is the second key of every line: look only there */
	snprintf(key, sizeof(key), "\"event_id\":\"%s\"", c->id);
	return memmem(line, len < 96 ? len : 96, key, strlen(key)) != NULL;
}

/* --ref: the line holding the reference whose time is nearest c->ts. */
static bool match_ref(struct ctx *c, const char *line, size_t len)
{
	struct st_record_parsed p;
	char err[256];
	uint64_t d;

	if (!memmem(line, len, c->ref, strlen(c->ref)))
		return false;
	memset(&p, 0, sizeof(p));
	if (st_record_parse(line, len, &p, &c->scratch, err, sizeof(err))) {
		st_record_parsed_free(&p);
		return false;
	}
	d = p.rec.timestamp_ns > c->ts ? p.rec.timestamp_ns - c->ts : c->ts - p.rec.timestamp_ns;
	st_record_parsed_free(&p);
	if (d >= c->best_dist || d > c->window_ns)
		return false;
	c->best_dist = d;
	return true;
}

/*
 * Scan one segment for the line fn accepts; 1 found (c->line, c->seq),
 * 0 not there, -1 I/O.
 */
static int search_segment(struct ctx *c, uint64_t first, line_match_fn fn,
			  const char *needle)
{
	struct st_seg_reader *r = NULL;
	struct st_buf block = { 0 };
	char path[4300], err[256];
	uint64_t off, seq = first;
	const char *p, *nl, *end;
	int rc = 0, brc = 0;

	if (seg_path(c->dir, first, path, sizeof(path)) ||
	    st_seg_open(&r, path, err, sizeof(err)))
		return -1;
	while (!rc && (brc = st_seg_next(r, &block, &off, err, sizeof(err))) == ST_BLOCK_OK) {
		/* most blocks do not hold it: one memmem before walking lines */
		if (!memmem(block.p, block.len, needle, strlen(needle))) {
			for (p = block.p, end = block.p + block.len; p < end; p = nl + 1) {
				nl = memchr(p, '\n', (size_t)(end - p));
				if (!nl)
					break;
				seq++;
			}
			continue;
		}
		for (p = block.p, end = block.p + block.len; p < end; p = nl + 1, seq++) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				break;
			if (!fn(c, p, (size_t)(nl - p)))
				continue;
			free(c->line);
			c->len = (size_t)(nl - p);
			c->line = strndup(p, c->len);
			c->seq = seq;
			if (!c->line) {
				rc = -1;
				break;
			}
			if (fn == match_id) {
				rc = 1;
				break;
			}
		}
	}
	st_buf_free(&block);
	st_seg_close(r);
	if (brc < 0)
		rc = -1;
	return rc;
}

/*
 * The segment whose records span ts: the last one whose first record is
 * not after ts (timestamps of a stream are near-monotonic: entry times
 * of calls, in the order they were read), then its neighbours.
 */
static int find_record(struct ctx *c, line_match_fn fn, const char *needle)
{
	struct st_seg_list segs = { 0 };
	char err[256];
	size_t lo = 0, hi, mid, i;
	int rc = 0;
	const long order[] = { 0, -1, 1, -2 };

	char dir[4200];

	snprintf(dir, sizeof(dir), "%s/decision", c->dir);
	if (st_seg_list(dir, &segs, err, sizeof(err)))
		return -1;
	hi = segs.n;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (seg_first_ts(c, segs.first[mid]) <= c->ts)
			lo = mid;
		else
			hi = mid;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]) && !rc; i++) {
		long k = (long)lo + order[i];

		if (k >= 0 && (size_t)k < segs.n)
			rc = search_segment(c, segs.first[k], fn, needle);
	}
	st_seg_list_free(&segs);
	if (!rc && c->line)
		rc = 1;		/* --ref: the nearest match over the segments */
	return rc;
}

/* ---- the system stream: context, and the checkpoints around the record ---- */

static int keep(struct ctx *c, const struct st_scan_rec *r)
{
	if (c->nrel == MAX_RELATED) {
		c->rel_truncated = true;
		return 0;
	}
	c->rel[c->nrel].line = strndup(r->line, r->len);
	if (!c->rel[c->nrel].line)
		return -1;
	c->rel[c->nrel].seq = r->p->hdr.seq;
	c->rel[c->nrel++].type = r->p->rec.type;
	return 0;
}

/* A decision-stream checkpoint record: where a proof can start or end. */
static int note_checkpoint(struct ctx *c, const struct st_record *rec, uint64_t ts)
{
	const char *stream = st_record_detail_str(rec, "checkpoint_stream");
	const char *frontier = st_record_detail_str(rec, "frontier");
	const char *note = st_record_detail_str(rec, "note");
	uint64_t size = st_record_detail_uint(rec, "tree_size");

	if (stream && !strcmp(stream, "system") && note) {
		struct sys_ckpt *k;

		if (c->nsck == c->capsck) {
			size_t cap = c->capsck ? c->capsck * 2 : 64;

			k = realloc(c->sck, cap * sizeof(*k));
			if (!k)
				return -1;
			c->sck = k;
			c->capsck = cap;
		}
		k = &c->sck[c->nsck];
		k->size = size;
		k->note = strdup(note);
		k->frontier = frontier ? strdup(frontier) : NULL;
		if (!k->note || (frontier && !k->frontier)) {
			free(k->note);
			free(k->frontier);
			return -1;
		}
		c->nsck++;
		return 0;
	}
	if (!stream || strcmp(stream, "decision") || !note)
		return 0;
	if (size <= c->seq && frontier && size > c->from_size) {
		free(c->from_frontier);
		c->from_frontier = strdup(frontier);
		if (!c->from_frontier)
			return -1;
		c->from_size = size;
	}
	if (size > c->seq && (!c->to_note || size < c->to_size)) {
		free(c->to_note);
		c->to_note = strdup(note);
		if (!c->to_note)
			return -1;
		c->to_size = size;
		c->to_ts = ts;
	}
	return 0;
}

static bool in_window(const struct ctx *c, uint64_t ts)
{
	return ts + c->window_ns >= c->ts && ts <= c->ts + c->window_ns;
}

static int system_cb(void *arg, const struct st_scan_rec *r, char *err, size_t errlen)
{
	struct ctx *c = arg;
	const struct st_record *rec = &r->p->rec;
	const char *about = st_record_detail_str(rec, "decision_event_id");
	uint64_t ts = rec->timestamp_ns;
	int rc = 0;

	switch (rec->type) {
	case ST_ET_CHECKPOINT:
		rc = note_checkpoint(c, rec, ts);
		break;
	case ST_ET_RISK:
	case ST_ET_OVERSIGHT:
		if (about && !strcmp(about, c->id)) {
			rc = keep(c, r);
			if (rec->type == ST_ET_RISK)
				c->risk++;
			else
				c->oversight++;
		}
		break;
	case ST_ET_LOSS:
		if (in_window(c, ts)) {
			c->losses++;
			c->lost_calls += st_record_detail_uint(rec, "count");
			rc = keep(c, r);
		}
		break;
	case ST_ET_AGENT_START:
	case ST_ET_AGENT_STOP:
	case ST_ET_RECOVERY:
		if (in_window(c, ts)) {
			c->restarts += rec->type == ST_ET_AGENT_START;
			c->recoveries += rec->type == ST_ET_RECOVERY;
			rc = keep(c, r);
		}
		break;
	case ST_ET_MODEL_LOADED:
	case ST_ET_SYSTEM_ACTIVATION:
	case ST_ET_SYSTEM_DEACTIVATION:
		if (in_window(c, ts) && rec->pid && c->rec.rec.pid == rec->pid)
			rc = keep(c, r);
		break;
	default:
		break;
	}
	return rc ? st_errf(err, errlen, "out of memory") : 0;
}

/* Worth a parse: what system_cb keeps or needs. */
static bool interesting(const struct ctx *c, const char *line, size_t len)
{
	char type[32];
	uint64_t ts;

	if (st_line_head(line, len, type, sizeof(type), &ts))
		return true;	/* unusual layout: let the parser decide */
	if (!strcmp(type, "checkpoint"))
		return true;	/* both streams' heads: proofs start and end there */
	if (!strcmp(type, "risk") || !strcmp(type, "oversight"))
		return memmem(line, len, c->id, ST_EVENT_ID_LEN) != NULL;
	return in_window(c, ts) && (!strcmp(type, "loss") || !strcmp(type, "agent_start") ||
				    !strcmp(type, "agent_stop") || !strcmp(type, "recovery") ||
				    !strcmp(type, "model_loaded") ||
				    !strcmp(type, "system_activation") ||
				    !strcmp(type, "system_deactivation"));
}

/* Timestamp of a system segment's first record other than a checkpoint. */
static uint64_t sys_seg_ts(const char *dir, uint64_t first)
{
	struct st_seg_reader *r = NULL;
	struct st_buf block = { 0 };
	char path[4300], name[ST_SEG_NAME_LEN + 1], err[256], type[32];
	const char *p, *nl, *end;
	uint64_t off, ts = 0;

	st_seg_name(first, name);
	snprintf(path, sizeof(path), "%s/system/%s", dir, name);
	if (st_seg_open(&r, path, err, sizeof(err)))
		return 0;
	if (st_seg_next(r, &block, &off, err, sizeof(err)) == ST_BLOCK_OK) {
		for (p = block.p, end = p + block.len; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				break;
			/* the log stamps its checkpoints with the wall clock of the
			 * moment; other records with the event's time */
			if (!st_line_head(p, (size_t)(nl - p), type, sizeof(type), &ts) &&
			    strcmp(type, "checkpoint"))
				break;
			ts = 0;
		}
	}
	st_buf_free(&block);
	st_seg_close(r);
	return ts;
}

static bool sys_head_after(const struct ctx *c);

/*
 * Far enough: a record past the window (checkpoints carry the time they
 * were signed, not an event's: they do not count), with the signed heads
 * both proofs end in already seen.
 */
static bool past_window(const struct ctx *c, const char *line, size_t len)
{
	char type[32];
	uint64_t ts;

	return !st_line_head(line, len, type, sizeof(type), &ts) && strcmp(type, "checkpoint") &&
	       ts > c->ts + c->window_ns && c->to_note && sys_head_after(c);
}

static int scan_sys_segment(struct ctx *c, uint64_t first, char *err, size_t errlen)
{
	struct st_scan_rec sr;
	struct st_record_parsed p;
	struct st_seg_reader *r = NULL;
	struct st_buf block = { 0 };
	char path[4300], name[ST_SEG_NAME_LEN + 1];
	const char *q, *nl, *end;
	uint64_t off;
	int rc = 0, brc;

	st_seg_name(first, name);
	snprintf(path, sizeof(path), "%s/system/%s", c->dir, name);
	if (st_seg_open(&r, path, err, errlen))
		return -1;
	memset(&sr, 0, sizeof(sr));
	sr.stream = ST_STREAM_SYSTEM;
	sr.segment = name;
	while (!rc && !c->past && (brc = st_seg_next(r, &block, &off, err, errlen)) == ST_BLOCK_OK) {
		for (q = block.p, end = q + block.len; !rc && q < end; q = nl + 1) {
			nl = memchr(q, '\n', (size_t)(end - q));
			if (!nl)
				break;
			if (past_window(c, q, (size_t)(nl - q))) {
				c->past = true;
				break;
			}
			if (!interesting(c, q, (size_t)(nl - q)))
				continue;
			memset(&p, 0, sizeof(p));
			if (st_record_parse(q, (size_t)(nl - q), &p, &c->scratch, err, errlen)) {
				st_record_parsed_free(&p);
				rc = st_failf(err, errlen, "system/%s: a record does not parse", name);
				break;
			}
			sr.line = q;
			sr.len = (size_t)(nl - q);
			sr.p = &p;
			rc = system_cb(c, &sr, err, errlen);
			st_record_parsed_free(&p);
		}
	}
	if (!rc && brc != ST_BLOCK_END && brc != ST_BLOCK_OK && brc != ST_BLOCK_TORN)
		rc = st_failf(err, errlen, "system/%s: unreadable block", name);
	st_buf_free(&block);
	st_seg_close(r);
	return rc;
}

/* The last segment whose first (non-checkpoint) record is not after ts. */
static size_t sys_seg_at(const struct ctx *c, const struct st_seg_list *l, uint64_t ts)
{
	size_t lo = 0, hi = l->n, mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (sys_seg_ts(c->dir, l->first[mid]) <= ts)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static bool rel_range(const struct ctx *c, uint64_t *lo, uint64_t *hi)
{
	size_t i;

	if (!c->nrel)
		return false;
	*lo = UINT64_MAX;
	*hi = 0;
	for (i = 0; i < c->nrel; i++) {
		if (c->rel[i].seq < *lo)
			*lo = c->rel[i].seq;
		if (c->rel[i].seq > *hi)
			*hi = c->rel[i].seq;
	}
	return true;
}

/* The first signed system head that covers every related record, or NULL. */
static const struct sys_ckpt *sys_to(const struct ctx *c)
{
	const struct sys_ckpt *best = NULL;
	uint64_t lo, hi;
	size_t i;

	if (!rel_range(c, &lo, &hi))
		return NULL;
	for (i = 0; i < c->nsck; i++)
		if (c->sck[i].size > hi && (!best || c->sck[i].size < best->size))
			best = &c->sck[i];
	return best;
}

/* The last system frontier at or before the first related record, or NULL. */
static const struct sys_ckpt *sys_from(const struct ctx *c)
{
	const struct sys_ckpt *best = NULL;
	uint64_t lo, hi;
	size_t i;

	if (!rel_range(c, &lo, &hi))
		return NULL;
	for (i = 0; i < c->nsck; i++)
		/* a head of size 0 is the empty tree: no frontier needed */
		if ((c->sck[i].frontier || !c->sck[i].size) && c->sck[i].size <= lo &&
		    (!best || c->sck[i].size > best->size))
			best = &c->sck[i];
	return best;
}

/* Nothing to prove counts as found: the scans stop as they did. */
static bool sys_head_after(const struct ctx *c)
{
	return !c->nrel || sys_to(c);
}

static bool sys_frontier_before(const struct ctx *c)
{
	uint64_t lo, hi;

	return !rel_range(c, &lo, &hi) || lo == 0 || sys_from(c);
}

/*
 * Read the system segments that span the window around the record, then
 * on as far as the first signed decision head after it, and back as far
 * as the checkpoint record (with a frontier) before it. The stream is
 * not read whole: a reader, not a verifier (`sealtrace verify` is that).
 */
static int read_system(struct ctx *c, char *err, size_t errlen)
{
	struct st_seg_list l = { 0 };
	char dir[4200];
	size_t lo, hi, k;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/system", c->dir);
	if (st_seg_list(dir, &l, err, errlen))
		return -1;
	if (!l.n) {
		st_seg_list_free(&l);
		return st_failf(err, errlen, "%s: no segments", dir);
	}
	lo = sys_seg_at(c, &l, c->ts > c->window_ns ? c->ts - c->window_ns : 0);
	hi = sys_seg_at(c, &l, c->ts + c->window_ns);
	if (hi < lo)
		hi = lo;
	for (k = lo; k <= hi && !rc && !c->past; k++)
		rc = scan_sys_segment(c, l.first[k], err, errlen);
	for (k = hi + 1; k < l.n && !rc && !c->past && (!c->to_note || !sys_head_after(c)); k++)
		rc = scan_sys_segment(c, l.first[k], err, errlen);
	c->past = false;	/* the backward reads below are before the window */
	for (k = lo; k > 0 && !rc && ((c->seq && !c->from_frontier) || !sys_frontier_before(c));
	     k--)
		rc = scan_sys_segment(c, l.first[k - 1], err, errlen);
	st_seg_list_free(&l);
	return rc;
}

/* ---- the proof ---- */

static int collect(void *arg, const struct st_mproof_node *n)
{
	struct ctx *c = arg;
	struct st_mproof_node *grown;

	if (c->nn == c->ncap) {
		c->ncap = c->ncap ? c->ncap * 2 : 64;
		grown = realloc(c->nodes, c->ncap * sizeof(*grown));
		if (!grown)
			return -1;
		c->nodes = grown;
	}
	c->nodes[c->nn++] = *n;
	return 0;
}

/* Which leaves of a range the proof is for. */
struct range {
	enum st_stream stream;
	uint64_t from, to;		/* leaves [from, to) */
	const uint64_t *sel;		/* selected seqs, ascending */
	size_t nsel;
};

static bool selected(const struct range *g, uint64_t seq, size_t *next)
{
	while (*next < g->nsel && g->sel[*next] < seq)
		(*next)++;
	return *next < g->nsel && g->sel[*next] == seq;
}

/* Leaves [from, to) of a stream from its segments, into the builder. */
static int hash_range(struct ctx *c, const struct range *g, struct st_mproof_builder *b,
		      struct st_hasher *h, char *err, size_t errlen)
{
	const char *sname = st_stream_name(g->stream);
	struct st_seg_list segs = { 0 };
	struct st_seg_reader *r = NULL;
	struct st_buf block = { 0 };
	char dir[4200], path[4300], name[ST_SEG_NAME_LEN + 1];
	uint8_t leaf[ST_HASH_LEN];
	uint64_t seq = 0, off;
	const char *p, *nl, *end;
	size_t k = 0, next = 0;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/%s", c->dir, sname);
	if (st_seg_list(dir, &segs, err, errlen))
		return -1;
	while (k + 1 < segs.n && segs.first[k + 1] <= g->from)
		k++;
	for (; k < segs.n && !rc && b->m.size < g->to; k++) {
		seq = segs.first[k];
		st_seg_name(seq, name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (st_seg_open(&r, path, err, errlen)) {
			rc = -1;
			break;
		}
		while (!rc && b->m.size < g->to &&
		       st_seg_next(r, &block, &off, err, errlen) == ST_BLOCK_OK) {
			for (p = block.p, end = p + block.len; p < end && b->m.size < g->to;
			     p = nl + 1, seq++) {
				nl = memchr(p, '\n', (size_t)(end - p));
				if (!nl)
					break;
				if (seq < g->from)
					continue;
				if (seq != b->m.size) {
					rc = st_failf(err, errlen, "%s seq %" PRIu64 ": segments do not follow on",
						      sname, seq);
					break;
				}
				if (st_merkle_leaf(h, p, (size_t)(nl - p), leaf) ||
				    st_mproof_append(b, h, leaf, selected(g, seq, &next))) {
					rc = st_errf(err, errlen, "SHA-256 or memory failed");
					break;
				}
			}
		}
		st_seg_close(r);
		r = NULL;
	}
	st_buf_free(&block);
	st_seg_list_free(&segs);
	if (!rc && b->m.size != g->to)
		rc = st_failf(err, errlen, "%s stream ends at seq %" PRIu64 ", before the signed head of %" PRIu64,
			      sname, b->m.size, g->to);
	return rc;
}

/*
 * The selected leaves of g, proved in the signed head `note` of size
 * g->to from the frontier of size g->from: 0 with the proof nodes in
 * c->nodes (c->nn), 1 when the note or the lines do not hold.
 */
static int prove_range(struct ctx *c, const struct range *g, const char *frontier,
		       const char *note, const struct st_keyset *keys, char *err, size_t errlen)
{
	struct st_mproof_builder b;
	struct st_hasher *h = st_hasher_new();
	struct st_ckpt ck;
	uint8_t root[ST_HASH_LEN];
	char why[512];
	int rc;

	if (!h)
		return st_errf(err, errlen, "out of memory");
	c->nn = 0;
	rc = st_ckpt_parse_any(note, strlen(note), keys->key, keys->n, &ck, NULL, why,
			       sizeof(why));
	if (rc || ck.size != g->to || st_ckpt_stream(&ck) != (int)g->stream) {
		st_hasher_free(h);
		return st_failf(err, errlen, "the %s checkpoint of size %" PRIu64 " does not verify: %s",
				st_stream_name(g->stream), g->to, rc ? why : "size or stream differs");
	}
	memset(&b, 0, sizeof(b));	/* sel[]: no subtree selected yet */
	st_mproof_init(&b, collect, c);
	if (g->from && st_frontier_parse(frontier, g->from, &b.m)) {
		st_hasher_free(h);
		return st_failf(err, errlen, "%s checkpoint record of size %" PRIu64 ": bad frontier",
				st_stream_name(g->stream), g->from);
	}
	rc = hash_range(c, g, &b, h, err, errlen);
	if (!rc && st_mproof_finish(&b, h, root))
		rc = st_errf(err, errlen, "SHA-256 failed");
	st_hasher_free(h);
	if (!rc && memcmp(root, ck.root, ST_HASH_LEN))
		rc = st_failf(err, errlen, "the %s records do not give the signed root of %" PRIu64 " (run sealtrace verify)",
			      st_stream_name(g->stream), g->to);
	return rc;
}

static int cmp_rel(const void *x, const void *y)
{
	const struct related *a = x, *b = y;

	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * The related system records (risk, oversight, losses, restarts, model
 * and process records) into the bundle too, proved in the first signed
 * system head after the last of them. A log without system frontiers, or
 * records newer than its last head, leaves them out: said, not an error.
 */
static int prove_related(struct ctx *c, const struct st_keyset *keys, char *err, size_t errlen)
{
	const struct sys_ckpt *to = sys_to(c), *from = sys_from(c);
	struct range g = { .stream = ST_STREAM_SYSTEM };
	uint64_t *seqs, lo, hi;
	size_t i, decision_nodes = c->nn;
	int rc;

	if (!c->nrel || c->rel_truncated)
		return 0;
	rel_range(c, &lo, &hi);
	if (!to || (lo && !from)) {
		snprintf(c->sys_why, sizeof(c->sys_why), "%s",
			 !to ? "no signed system head after them yet" :
			       "no system checkpoint record with a frontier before them (a log written before frontiers)");
		return 0;
	}
	qsort(c->rel, c->nrel, sizeof(c->rel[0]), cmp_rel);
	seqs = calloc(c->nrel, sizeof(*seqs));
	if (!seqs)
		return st_errf(err, errlen, "out of memory");
	for (i = 0; i < c->nrel; i++)
		seqs[i] = c->rel[i].seq;
	g.from = lo && from ? from->size : 0;
	g.to = to->size;
	g.sel = seqs;
	g.nsel = c->nrel;
	rc = prove_range(c, &g, from ? from->frontier : NULL, to->note, keys, err, errlen);
	free(seqs);
	if (rc)
		return rc;
	st_bundle_checkpoint(&c->bundle, ST_STREAM_SYSTEM, to->note);
	for (i = 0; i < c->nrel; i++) {
		st_buf_puts(&c->bundle, c->rel[i].line);
		st_buf_putc(&c->bundle, '\n');
	}
	st_bundle_proof(&c->bundle, ST_STREAM_SYSTEM, to->size, c->nodes, c->nn);
	c->rel_proved = c->nrel;
	c->nn = decision_nodes;
	return c->bundle.oom ? st_errf(err, errlen, "out of memory") : 0;
}

/* The proof from the frontier before the record to the head after it. */
static int prove_fast(struct ctx *c, const struct st_keyset *keys, char *err, size_t errlen)
{
	struct range g = { .stream = ST_STREAM_DECISION, .from = c->from_size,
			   .to = c->to_size, .sel = &c->seq, .nsel = 1 };
	int rc = prove_range(c, &g, c->from_frontier, c->to_note, keys, err, errlen);

	if (rc)
		return rc;
	st_bundle_header(&c->bundle, NULL, NULL, NULL, NULL, c->id);
	st_bundle_checkpoint(&c->bundle, ST_STREAM_DECISION, c->to_note);
	st_buf_put(&c->bundle, c->line, c->len);
	st_buf_putc(&c->bundle, '\n');
	st_bundle_proof(&c->bundle, ST_STREAM_DECISION, c->to_size, c->nodes, c->nn);
	c->fast = true;
	return c->bundle.oom ? st_errf(err, errlen, "out of memory") : 0;
}

/* Without frontiers: the export engine, over the whole stream. */
static int prove_slow(struct ctx *c, const struct st_keyset *keys, char *err, size_t errlen)
{
	struct st_export_filter f;
	struct st_export_stats st;
	struct st_buf body = { 0 };
	int rc;

	st_export_filter_init(&f);
	f.event_id = c->id;
	rc = st_export_stream(c->dir, ST_STREAM_DECISION, &f, keys, NULL, &body, &st,
			      err, errlen);
	if (!rc && !st.selected)
		rc = st_failf(err, errlen, "event_id %s is after the latest signed checkpoint (%" PRIu64
			      " records): no proof until the next checkpoint", c->id, st.tree_size);
	if (!rc) {
		st_bundle_header(&c->bundle, NULL, NULL, NULL, NULL, c->id);
		st_buf_put(&c->bundle, body.p, body.len);
		c->to_size = st.tree_size;
		c->nn = st.nodes;
	}
	st_buf_free(&body);
	return rc;
}

/* ---- output ---- */

static void fmt_time(uint64_t ns, char out[ST_TIME_LEN + 1])
{
	if (st_time_format(ns, out))
		snprintf(out, ST_TIME_LEN + 1, "?");
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_related(const struct ctx *c, enum st_event_type want)
{
	struct st_record_parsed p;
	struct st_buf scratch = { 0 };
	char err[256], t[ST_TIME_LEN + 1];
	size_t i, k;

	for (i = 0; i < c->nrel; i++) {
		if (c->rel[i].type != want)
			continue;
		memset(&p, 0, sizeof(p));
		if (st_record_parse(c->rel[i].line, strlen(c->rel[i].line), &p, &scratch, err,
				    sizeof(err)) == 0) {
			fmt_time(p.rec.timestamp_ns, t);
			printf("    %s %s seq %" PRIu64 ":", t, st_event_type_name(p.rec.type),
			       p.hdr.seq);
			for (k = 0; k < p.rec.ndetails; k++) {
				const struct st_kv *kv = &p.rec.details[k];

				if (!strcmp(kv->key, "note") || !strcmp(kv->key, "decision_event_id"))
					continue;
				if (kv->kind == ST_KV_STR)
					printf(" %s=%s", kv->key, kv->v.s);
				else if (kv->kind == ST_KV_BOOL)
					printf(" %s=%s", kv->key, kv->v.b ? "true" : "false");
				else if (kv->kind == ST_KV_INT)
					printf(" %s=%" PRId64, kv->key, kv->v.i);
				else
					printf(" %s=%" PRIu64, kv->key, kv->v.u);
			}
			printf("\n");
		}
		st_record_parsed_free(&p);
	}
	st_buf_free(&scratch);
}

static void print_text(struct ctx *c, const char *bundle_path)
{
	const struct st_record *r = &c->rec.rec;
	char t[ST_TIME_LEN + 1];

	fmt_time(r->timestamp_ns, t);
	printf("decision %s\n", c->id);
	printf("  %s, decision seq %" PRIu64 ", %s\n", st_event_type_name(r->type), c->seq, t);
	printf("  system %s, operator %s, node %s\n", or_dash(c->rec.hdr.system_id),
	       or_dash(c->rec.hdr.operator_id), or_dash(c->rec.hdr.node_id));
	printf("  process: pid %d, thread %d, %s, container %s, probe %s\n", r->pid, r->tid,
	       or_dash(r->comm), or_dash(r->container_id), or_dash(r->probe));
	printf("  model (on the record): version %s, artifact %s\n", or_dash(r->model_version),
	       or_dash(r->model_artifact));
	printf("  input %s (%" PRId64 " B)\n  output %s (%" PRId64 " B)\n",
	       or_dash(r->input_hash), r->input_len, or_dash(r->output_reference), r->output_len);
	if (r->duration_ns >= 0)
		printf("  duration %.3f ms, ret %" PRId64 "\n", (double)r->duration_ns / 1e6, r->ret);
	fmt_time(r->timestamp_ns, t);
	printf("  node-wide models at that moment: sealtrace models --state-dir %s --at %s\n",
	       c->dir, t);
	printf("  this process's activation and model records within the window:\n");
	print_related(c, ST_ET_SYSTEM_ACTIVATION);
	print_related(c, ST_ET_MODEL_LOADED);
	print_related(c, ST_ET_SYSTEM_DEACTIVATION);
	fmt_time(c->to_ts, t);
	printf("  proof: leaf %" PRIu64 " of the signed decision tree of %" PRIu64 " records%s%s, %zu proof nodes%s%s\n",
	       c->seq, c->to_size, c->fast ? ", signed at " : "", c->fast ? t : "", c->nn,
	       bundle_path ? "; bundle " : "", bundle_path ? bundle_path : "");
	if (c->rel_proved)
		printf("  the %zu system records below are in the bundle too, proved in a signed system head\n",
		       c->rel_proved);
	else if (c->sys_why[0])
		printf("  the system records below are not in the bundle: %s\n", c->sys_why);
	printf("  risk records about it: %zu\n", c->risk);
	print_related(c, ST_ET_RISK);
	printf("  oversight records about it: %zu\n", c->oversight);
	print_related(c, ST_ET_OVERSIGHT);
	printf("  completeness within %" PRIu64 " s: %zu loss record%s (%" PRIu64 " calls), %zu agent start%s, %zu recover%s\n",
	       c->window_ns / NS_PER_S, c->losses, c->losses == 1 ? "" : "s", c->lost_calls,
	       c->restarts, c->restarts == 1 ? "" : "s", c->recoveries,
	       c->recoveries == 1 ? "y" : "ies");
	print_related(c, ST_ET_LOSS);
	print_related(c, ST_ET_AGENT_START);
	print_related(c, ST_ET_AGENT_STOP);
	print_related(c, ST_ET_RECOVERY);
	if (c->rel_truncated)
		printf("  (more than %d related records: the rest are left out here)\n", MAX_RELATED);
}

static int print_json(struct ctx *c)
{
	struct st_buf b = { 0 };
	size_t i;
	int rc;

	st_buf_puts(&b, "{\"event_id\":");
	st_json_cstr(&b, c->id);
	st_buf_puts(&b, ",\"seq\":");
	st_json_uint(&b, c->seq);
	st_buf_puts(&b, ",\"record\":");
	st_buf_put(&b, c->line, c->len);
	st_buf_puts(&b, ",\"proof\":{\"tree_size\":");
	st_json_uint(&b, c->to_size);
	st_buf_puts(&b, ",\"nodes\":");
	st_json_uint(&b, c->nn);
	st_buf_puts(&b, ",\"from_frontier\":");
	st_json_bool(&b, c->fast);
	st_buf_puts(&b, "},\"risk\":");
	st_json_uint(&b, c->risk);
	st_buf_puts(&b, ",\"oversight\":");
	st_json_uint(&b, c->oversight);
	st_buf_puts(&b, ",\"window_s\":");
	st_json_uint(&b, c->window_ns / NS_PER_S);
	st_buf_puts(&b, ",\"loss_records\":");
	st_json_uint(&b, c->losses);
	st_buf_puts(&b, ",\"lost_calls\":");
	st_json_uint(&b, c->lost_calls);
	st_buf_puts(&b, ",\"agent_starts\":");
	st_json_uint(&b, c->restarts);
	st_buf_puts(&b, ",\"recoveries\":");
	st_json_uint(&b, c->recoveries);
	st_buf_puts(&b, ",\"related\":[");
	for (i = 0; i < c->nrel; i++) {
		if (i)
			st_buf_putc(&b, ',');
		st_buf_puts(&b, c->rel[i].line);
	}
	st_buf_puts(&b, "],\"related_in_bundle\":");
	st_json_uint(&b, c->rel_proved);
	st_buf_puts(&b, ",\"related_truncated\":");
	st_json_bool(&b, c->rel_truncated);
	st_buf_puts(&b, "}\n");
	rc = b.oom || fwrite(b.p, 1, b.len, stdout) != b.len ? -1 : 0;
	st_buf_free(&b);
	return rc;
}

static int write_bundle(struct ctx *c, const char *path)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f) {
		fprintf(stderr, "sealtrace reconstruct: %s: %m\n", path);
		return -1;
	}
	ok = fwrite(c->bundle.p, 1, c->bundle.len, f) == c->bundle.len;
	ok = !fflush(f) && !fsync(fileno(f)) && ok;
	if (fclose(f) || !ok) {
		fprintf(stderr, "sealtrace reconstruct: writing %s failed\n", path);
		return -1;
	}
	return 0;
}

static void ctx_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nrel; i++)
		free(c->rel[i].line);
	for (i = 0; i < c->nsck; i++) {
		free(c->sck[i].note);
		free(c->sck[i].frontier);
	}
	free(c->sck);
	if (c->parsed)
		st_record_parsed_free(&c->rec);
	st_buf_free(&c->scratch);
	st_buf_free(&c->bundle);
	free(c->line);
	free(c->from_frontier);
	free(c->to_note);
	free(c->nodes);
}

/* Everything after the options: find, read context, prove, print. */
static int reconstruct(struct ctx *c, const struct st_keyset *keys, const char *ref,
		       const char *bundle_path, bool json)
{
	char err[1024];
	int rc;

	c->ref = ref;
	c->best_dist = UINT64_MAX;
	rc = find_record(c, ref ? match_ref : match_id, ref ? ref : c->id);
	if (rc <= 0) {
		if (rc < 0)
			fprintf(stderr, "sealtrace reconstruct: reading %s/decision failed\n", c->dir);
		else if (ref)
			fprintf(stderr, "sealtrace reconstruct: no decision with %s within %" PRIu64
				" s of the time given\n", ref, c->window_ns / NS_PER_S);
		else
			fprintf(stderr, "sealtrace reconstruct: no decision with event_id %s in %s\n",
				c->id, c->dir);
		return rc < 0 ? ST_EXIT_RUNTIME : ST_EXIT_FAIL;
	}
	memset(&c->rec, 0, sizeof(c->rec));
	c->parsed = true;
	if (st_record_parse(c->line, c->len, &c->rec, &c->scratch, err, sizeof(err))) {
		fprintf(stderr, "sealtrace reconstruct: FAIL: decision seq %" PRIu64 ": %s\n", c->seq, err);
		return ST_EXIT_FAIL;
	}
	if (c->rec.hdr.seq != c->seq) {
		fprintf(stderr, "sealtrace reconstruct: FAIL: the record at position %" PRIu64 " says seq %" PRIu64 "\n",
			c->seq, c->rec.hdr.seq);
		return ST_EXIT_FAIL;
	}
	snprintf(c->id, sizeof(c->id), "%s", c->rec.hdr.event_id);
	c->ts = c->rec.rec.timestamp_ns;
	rc = read_system(c, err, sizeof(err));
	if (!rc)
		rc = c->to_note ? prove_fast(c, keys, err, sizeof(err)) :
		     prove_slow(c, keys, err, sizeof(err));
	if (!rc)
		rc = prove_related(c, keys, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sealtrace reconstruct: %s%s\n", rc > 0 ? "FAIL: " : "", err);
		return rc > 0 ? ST_EXIT_FAIL : ST_EXIT_RUNTIME;
	}
	if (bundle_path && write_bundle(c, bundle_path))
		return ST_EXIT_RUNTIME;
	if (json)
		return print_json(c) ? ST_EXIT_RUNTIME : ST_EXIT_OK;
	print_text(c, bundle_path);
	return ST_EXIT_OK;
}

int cmd_reconstruct(int argc, char **argv)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "event-id", required_argument, NULL, 'e' },
		{ "ref", required_argument, NULL, 'r' },
		{ "at", required_argument, NULL, 'a' },
		{ "window", required_argument, NULL, 'w' },
		{ "bundle", required_argument, NULL, 'b' },
		ST_OPT_PUBKEY,
		{ "json", no_argument, NULL, 'j' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "reconstruct", .opts = opts, .usage = usage };
	static struct ctx c;
	const char *id = NULL, *ref = NULL, *at = NULL, *bundle = NULL, *pubkey = NULL;
	struct st_keyset keys = { 0 };
	unsigned long long window = DEF_WINDOW_S;
	struct stat sb;
	char err[512], *end;
	bool json = false;
	size_t i;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	while ((ch = st_cli_next(&cli, argc, argv)) != -1) {
		switch (ch) {
		case 'd': c.dir = optarg; break;
		case 'e': id = optarg; break;
		case 'r': ref = optarg; break;
		case 'a': at = optarg; break;
		case 'w':
			window = strtoull(optarg, &end, 10);
			if (!*optarg || *end || !window || window > 366ull * 86400) {
				fprintf(stderr, "sealtrace reconstruct: --window '%s': seconds, 1 .. 31622400\n",
					optarg);
				return ST_EXIT_USAGE;
			}
			break;
		case 'b': bundle = optarg; break;
		case 'p': pubkey = optarg; break;
		case 'j': json = true; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (!c.dir || !!id == !!ref || (ref && !at) || (id && at))
		return st_cli_usage_error(&cli, "--state-dir DIR and either --event-id ID or --ref REF --at TIME are required");
	c.window_ns = window * NS_PER_S;
	if (id) {
		if (!uuid_text(id)) {
			fprintf(stderr, "sealtrace reconstruct: --event-id '%s' is not a UUID\n", id);
			return ST_EXIT_USAGE;
		}
		for (i = 0; i <= ST_EVENT_ID_LEN; i++)
			c.id[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i]);
		c.ts = uuid7_ns(c.id);
	} else {
		if (strncmp(ref, "hmac-sha256:", 12)) {
			fprintf(stderr, "sealtrace reconstruct: --ref must be an hmac-sha256:<key_id>:<hex> reference\n");
			return ST_EXIT_USAGE;
		}
		if (st_time_parse(at, &c.ts)) {
			fprintf(stderr, "sealtrace reconstruct: --at '%s': TIME must be RFC 3339 or YYYY-MM-DD\n",
				at);
			return ST_EXIT_USAGE;
		}
	}
	if (stat(c.dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "sealtrace reconstruct: %s: not a directory\n", c.dir);
		return ST_EXIT_USAGE;
	}
	if (pubkey && st_keyset_add_file(&keys, pubkey, err, sizeof(err)) < 0) {
		fprintf(stderr, "sealtrace reconstruct: %s\n", err);
		st_keyset_free(&keys);
		return ST_EXIT_USAGE;
	}
	snprintf(err, sizeof(err), "%s %s", id ? "--event-id" : "--ref", id ? c.id : "(a reference)");
	st_note_log_access(c.dir, "reconstruct", err);
	rc = reconstruct(&c, &keys, ref, bundle, json);
	ctx_free(&c);
	st_keyset_free(&keys);
	return rc;
}
