// SPDX-License-Identifier: Apache-2.0
/* Retention: frontiers, retention_purge records, legal holds (retention.h). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/retention.h"

#define HOLD_FILE_MAX	(64u << 10)

/* ---- frontier --------------------------------------------------------- */

void st_frontier_format(const struct st_merkle *m,
			char out[ST_FRONTIER_HEX_MAX + 1])
{
	size_t n = 0;
	int i;

	out[0] = '\0';
	for (i = ST_MERKLE_LEVELS - 1; i >= 0; i--) {
		if (!(m->size & (1ULL << i)))
			continue;
		if (n)
			out[n++] = ',';
		st_hex(m->node[i], ST_HASH_LEN, out + n);
		n += ST_HASH_HEX;
	}
	out[n] = '\0';
}

int st_frontier_parse(const char *s, uint64_t size, struct st_merkle *m)
{
	const char *p = s;
	int i;

	st_merkle_init(m);
	for (i = ST_MERKLE_LEVELS - 1; i >= 0; i--) {
		if (!(size & (1ULL << i)))
			continue;
		if (p != s && *p++ != ',')
			return -1;
		if (strnlen(p, ST_HASH_HEX) != ST_HASH_HEX ||
		    st_unhex(p, ST_HASH_HEX, m->node[i], ST_HASH_LEN))
			return -1;
		p += ST_HASH_HEX;
	}
	if (*p)
		return -1;	/* more hashes than set bits */
	m->size = size;
	return 0;
}

/* ---- retention_purge records ------------------------------------------ */

void st_purge_details(const struct st_purge *p, struct st_purge_text *t)
{
	st_hex(p->last_hash, ST_HASH_LEN, t->last_hash);
	st_frontier_format(&p->tree, t->frontier);
	t->d[0] = st_kv_str("purged_stream", st_stream_name(p->stream));
	t->d[1] = st_kv_str("segment", p->segment);
	t->d[2] = st_kv_uint("first_seq", p->first_seq);
	t->d[3] = st_kv_uint("last_seq", p->last_seq);
	t->d[4] = st_kv_uint("records", p->count);
	t->d[5] = st_kv_str("last_hash", t->last_hash);
	t->d[6] = st_kv_str("frontier", t->frontier);
}

static const struct st_kv *detail(const struct st_record *rec, const char *key,
				  enum st_kv_kind kind)
{
	const struct st_kv *kv = st_record_detail(rec, key);

	return kv && kv->kind == kind ? kv : NULL;
}

int st_purge_parse(const struct st_record *rec, struct st_purge *out,
		   char *err, size_t errlen)
{
	const struct st_kv *st = detail(rec, "purged_stream", ST_KV_STR),
			   *seg = detail(rec, "segment", ST_KV_STR),
			   *first = detail(rec, "first_seq", ST_KV_UINT),
			   *last = detail(rec, "last_seq", ST_KV_UINT),
			   *count = detail(rec, "records", ST_KV_UINT),
			   *hash = detail(rec, "last_hash", ST_KV_STR),
			   *fr = detail(rec, "frontier", ST_KV_STR);
	int s;

	memset(out, 0, sizeof(*out));
	if (!st || !seg || !first || !last || !count || !hash || !fr)
		return st_errf(err, errlen, "retention_purge record lacks purged_stream/segment/first_seq/last_seq/records/last_hash/frontier");
	s = st_stream_parse(st->v.s);
	if (s < 0)
		return st_errf(err, errlen, "retention_purge of unknown stream '%s'", st->v.s);
	out->stream = (enum st_stream)s;
	out->first_seq = first->v.u;
	out->last_seq = last->v.u;
	out->count = count->v.u;
	if (out->last_seq < out->first_seq || out->last_seq >= UINT64_MAX >> 1 ||
	    out->count != out->last_seq - out->first_seq + 1)
		return st_errf(err, errlen, "retention_purge: records %" PRIu64 " do not match seq %" PRIu64 "..%" PRIu64,
			       out->count, out->first_seq, out->last_seq);
	st_seg_name(out->first_seq, out->segment);
	if (strcmp(seg->v.s, out->segment))
		return st_errf(err, errlen, "retention_purge: segment '%s' is not the one of seq %" PRIu64,
			       seg->v.s, out->first_seq);
	if (strlen(hash->v.s) != ST_HASH_HEX ||
	    st_unhex(hash->v.s, ST_HASH_HEX, out->last_hash, ST_HASH_LEN))
		return st_errf(err, errlen, "retention_purge: last_hash is not 64 hex digits");
	if (st_frontier_parse(fr->v.s, out->last_seq + 1, &out->tree))
		return st_errf(err, errlen, "retention_purge: frontier is not the %d hashes of a tree of %" PRIu64 " leaves",
			       __builtin_popcountll(out->last_seq + 1), out->last_seq + 1);
	return 0;
}

/* ---- finding a stream's head -------------------------------------------- */

struct head_find {
	enum st_stream stream;
	uint64_t first;			/* first seq on disk */
	struct st_scan_head *head;
	bool found;
};

static int head_cb(void *ctx, const struct st_scan_rec *r, char *err,
		   size_t errlen)
{
	struct head_find *f = ctx;
	struct st_purge p;
	char why[256];

	if (r->p->rec.type != ST_ET_RETENTION_PURGE)
		return 0;
	if (st_purge_parse(&r->p->rec, &p, why, sizeof(why))) {
		st_errf(err, errlen, "system/%s seq %" PRIu64 ": %s", r->segment,
			r->p->hdr.seq, why);
		return 1;
	}
	if (p.stream != f->stream || p.last_seq + 1 != f->first)
		return 0;
	/* the latest one wins; they all vouch for the same state anyway */
	f->head->seq = f->first;
	memcpy(f->head->chain.prev, p.last_hash, ST_HASH_LEN);
	f->head->tree = p.tree;
	f->head->anchor_seq = r->p->hdr.seq;
	memcpy(f->head->anchor_segment, r->segment, ST_SEG_NAME_LEN + 1);
	f->found = true;
	return 0;
}

static int first_seq_of(const char *state_dir, enum st_stream s, uint64_t *first,
			char *err, size_t errlen)
{
	struct st_seg_list l = { 0 };
	char dir[4200];

	snprintf(dir, sizeof(dir), "%s/%s", state_dir, st_stream_name(s));
	if (st_seg_list(dir, &l, err, errlen))
		return -1;
	*first = l.n ? l.first[0] : 0;
	st_seg_list_free(&l);
	return 0;
}

int st_retention_head(const char *state_dir, enum st_stream s,
		      struct st_scan_head *head, char *err, size_t errlen)
{
	/* live: the system stream's torn tail may not be moved aside yet */
	struct st_scan_window w = { .since_ns = 0, .live = true };
	struct head_find f = { .stream = s, .head = head };
	struct st_scan_result *res;
	int rc;

	memset(head, 0, sizeof(*head));
	st_chain_init(&head->chain);
	st_merkle_init(&head->tree);
	if (first_seq_of(state_dir, s, &f.first, err, errlen))
		return -1;
	if (!f.first)
		return 0;
	res = malloc(sizeof(*res));	/* big: a Merkle frontier */
	if (!res)
		return st_errf(err, errlen, "out of memory");
	rc = st_scan_stream_window(state_dir, ST_STREAM_SYSTEM, &w, head_cb, &f,
				   res, err, errlen);
	free(res);
	if (rc)
		return rc;
	if (!f.found) {
		/* the scan reports seqs 0..first-1 as missing */
		memset(head, 0, sizeof(*head));
		st_chain_init(&head->chain);
		st_merkle_init(&head->tree);
	}
	return 0;
}

/* ---- legal hold ------------------------------------------------------- */

static int hold_time(const char *v, uint64_t *ns)
{
	while (*v == ' ' || *v == '\t')
		v++;
	return st_time_parse(v, ns);
}

/* One line; *seen: bit 0 from, bit 1 to, bit 2 all. */
static int hold_line(char *line, unsigned lineno, struct st_hold *h,
		     unsigned *seen, char *why, size_t whylen)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (!strcmp(line, "all")) {
		*seen |= 4;
		return 0;
	}
	if (!strncmp(line, "from:", 5)) {
		if ((*seen & 1) || hold_time(line + 5, &h->from_ns))
			return st_errf(why, whylen, "line %u: %s", lineno, (*seen & 1) ?
				       "'from:' given twice" : "'from:' is not an RFC 3339 time");
		*seen |= 1;
	} else if (!strncmp(line, "to:", 3)) {
		if ((*seen & 2) || hold_time(line + 3, &h->to_ns))
			return st_errf(why, whylen, "line %u: %s", lineno, (*seen & 2) ?
				       "'to:' given twice" : "'to:' is not an RFC 3339 time");
		*seen |= 2;
	}
	return 0;	/* anything else: the reason, free text */
}

int st_hold_parse(const char *text, size_t len, struct st_hold *out,
		  char *why, size_t whylen)
{
	unsigned seen = 0, lineno = 0;
	char *copy, *line, *save = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (memchr(text, '\0', len))
		return st_errf(why, whylen, "not a text file (NUL byte)");
	copy = strndup(text, len);
	if (!copy)
		return st_errf(why, whylen, "out of memory");
	/* strtok_r would skip empty lines and miscount; split by hand */
	for (line = copy; line && !rc; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		rc = hold_line(line, ++lineno, out, &seen, why, whylen);
	}
	free(copy);
	if (rc)
		return -1;
	if (seen == 4) {
		out->from_ns = 0;
		out->to_ns = UINT64_MAX;
		return 0;
	}
	if (seen & 4)
		return st_errf(why, whylen, "'all' together with from:/to: (give one or the other)");
	if (seen != 3)
		return st_errf(why, whylen, "needs 'from: <RFC 3339>' and 'to: <RFC 3339>', or a line 'all'");
	if (out->from_ns > out->to_ns)
		return st_errf(why, whylen, "'from:' is after 'to:'");
	return 0;
}

static int read_small(const char *path, char **out, size_t *len, char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "re");
	size_t n;
	char *buf;

	if (!f)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	buf = malloc(HOLD_FILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return st_errf(err, errlen, "out of memory");
	}
	n = fread(buf, 1, HOLD_FILE_MAX + 1, f);
	if (ferror(f)) {
		st_errf(err, errlen, "%s: read error", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	*out = buf;
	*len = n;
	return 0;
}

static int load_hold(const char *path, struct st_holds *hs, char *err,
		     size_t errlen)
{
	struct st_hold h, *grown;
	char why[256], *text = NULL;
	size_t len = 0;
	struct stat st;

	if (stat(path, &st))
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode)) {
		st_errf(err, errlen, "%s: not a regular file (a hold is one file)", path);
		return 1;
	}
	if (read_small(path, &text, &len, err, errlen))
		return -1;
	if (len > HOLD_FILE_MAX) {
		free(text);
		st_errf(err, errlen, "%s: larger than %u bytes", path, HOLD_FILE_MAX);
		return 1;
	}
	if (st_hold_parse(text, len, &h, why, sizeof(why))) {
		free(text);
		st_errf(err, errlen, "%s: %s", path, why);
		return 1;
	}
	free(text);
	grown = realloc(hs->v, (hs->n + 1) * sizeof(*grown));
	if (!grown)
		return st_errf(err, errlen, "out of memory");
	hs->v = grown;
	hs->v[hs->n++] = h;
	return 0;
}

int st_holds_load(const char *state_dir, struct st_holds *out, char *err,
		  size_t errlen)
{
	char dir[4200], path[4500];
	struct dirent *e;
	DIR *d;
	int rc = 0;

	out->v = NULL;
	out->n = 0;
	snprintf(dir, sizeof(dir), "%s/" ST_LEGAL_HOLD_DIR, state_dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	/* fail safe: every entry counts, hidden files too */
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rc = load_hold(path, out, err, errlen);
	}
	closedir(d);
	if (rc)
		st_holds_free(out);
	return rc;
}

void st_holds_free(struct st_holds *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

bool st_holds_cover(const struct st_holds *h, uint64_t min_ns, uint64_t max_ns)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->v[i].from_ns <= max_ns && min_ns <= h->v[i].to_ns)
			return true;
	return false;
}

/* ---- selection -------------------------------------------------------- */

enum st_purge_verdict st_purge_decide(const struct st_seg_info *seg,
				      bool is_newest,
				      const struct st_purge_ctx *c)
{
	uint64_t keep_ns;

	if (!c->days)
		return ST_KEEP_FOREVER;
	if (is_newest)
		return ST_KEEP_CURRENT;
	if (seg->last_seq >= c->signed_size)
		return ST_KEEP_UNSIGNED;
	keep_ns = c->days > UINT64_MAX / ST_DAY_NS ? UINT64_MAX : c->days * ST_DAY_NS;
	if (seg->max_ts > c->now_ns || c->now_ns - seg->max_ts < keep_ns)
		return ST_KEEP_YOUNG;
	if (c->holds && st_holds_cover(c->holds, seg->min_ts, seg->max_ts))
		return ST_KEEP_HELD;
	if (c->keep_seq >= seg->first_seq && c->keep_seq <= seg->last_seq)
		return ST_KEEP_ANCHOR;
	return ST_PURGE_OK;
}

const char *st_purge_verdict_name(enum st_purge_verdict v)
{
	static const char *const names[] = {
		[ST_PURGE_OK] = "purge",
		[ST_KEEP_FOREVER] = "kept forever (0 days)",
		[ST_KEEP_CURRENT] = "current segment",
		[ST_KEEP_UNSIGNED] = "not yet under a signed checkpoint",
		[ST_KEEP_YOUNG] = "within the retention period",
		[ST_KEEP_HELD] = "under legal hold",
		[ST_KEEP_ANCHOR] = "holds the retention_purge record the decision stream starts from",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}
