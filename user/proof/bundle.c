// SPDX-License-Identifier: Apache-2.0
/* Export bundles: meta lines and the self-contained check (see bundle.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/log/scan.h"
#include "sealtrace/proof/bundle.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/base/digest.h"

#define META_PREFIX "{\"export\":"

void st_bundle_header(struct st_buf *out, const char *stream, const char *from,
		      const char *to, const char *event_types,
		      const char *event_id)
{
	st_bundle_header_facts(out, stream, from, to, event_types, event_id, NULL);
}

void st_bundle_header_facts(struct st_buf *out, const char *stream, const char *from,
			    const char *to, const char *event_types,
			    const char *event_id, const struct st_buf *facts)
{
	st_buf_puts(out, "{\"export\":\"header\",\"format\":\"" ST_BUNDLE_FORMAT
		    "\",\"filter\":{\"event_id\":");
	st_json_cstr(out, event_id);
	st_buf_puts(out, ",\"event_type\":");
	st_json_cstr(out, event_types);
	st_buf_puts(out, ",\"from\":");
	st_json_cstr(out, from);
	st_buf_puts(out, ",\"stream\":");
	st_json_cstr(out, stream);
	st_buf_puts(out, ",\"to\":");
	st_json_cstr(out, to);
	st_buf_putc(out, '}');
	if (facts && facts->len) {
		st_buf_puts(out, ",\"system_facts\":");
		st_buf_put(out, facts->p, facts->len);
	}
	st_buf_puts(out, "}\n");
}

/* The fact.* details of the last agent_start/system_activation. */
struct facts_scan {
	struct st_buf *out;
};

static int facts_cb(void *ctx, const struct st_scan_rec *r, char *err, size_t errlen)
{
	struct facts_scan *fs = ctx;
	const struct st_record *rec = &r->p->rec;
	size_t i, n = 0;

	(void)err;
	(void)errlen;
	if (rec->type != ST_ET_AGENT_START && rec->type != ST_ET_SYSTEM_ACTIVATION)
		return 0;
	for (i = 0; i < rec->ndetails; i++)
		n += !strncmp(rec->details[i].key, "fact.", 5);
	if (!n)
		return 0;
	fs->out->len = 0;
	st_buf_putc(fs->out, '{');
	n = 0;
	/* details come back in their stored (sorted) order */
	for (i = 0; i < rec->ndetails; i++) {
		if (strncmp(rec->details[i].key, "fact.", 5) ||
		    rec->details[i].kind != ST_KV_STR)
			continue;
		if (n++)
			st_buf_putc(fs->out, ',');
		st_json_cstr(fs->out, rec->details[i].key + 5);
		st_buf_putc(fs->out, ':');
		st_json_cstr(fs->out, rec->details[i].v.s);
	}
	st_buf_putc(fs->out, '}');
	return 0;
}

int st_bundle_facts(const char *state_dir, struct st_buf *out, char *err, size_t errlen)
{
	const struct st_scan_window w = { .since_ns = 0, .live = true };
	struct facts_scan fs = { .out = out };
	struct st_scan_result res;

	out->len = 0;
	return st_scan_stream_window(state_dir, ST_STREAM_SYSTEM, &w, facts_cb, &fs,
				     &res, err, errlen);
}

void st_bundle_checkpoint(struct st_buf *out, enum st_stream s,
			  const char *note)
{
	st_buf_puts(out, "{\"export\":\"checkpoint\",\"stream\":");
	st_json_cstr(out, st_stream_name(s));
	st_buf_puts(out, ",\"note\":");
	st_json_cstr(out, note);
	st_buf_puts(out, "}\n");
}

void st_bundle_proof(struct st_buf *out, enum st_stream s, uint64_t tree_size,
		     const struct st_mproof_node *nodes, size_t n)
{
	char hex[ST_HASH_HEX + 1];
	size_t i;

	st_buf_puts(out, "{\"export\":\"proof\",\"stream\":");
	st_json_cstr(out, st_stream_name(s));
	st_buf_puts(out, ",\"tree_size\":");
	st_json_uint(out, tree_size);
	st_buf_puts(out, ",\"nodes\":[");
	for (i = 0; i < n; i++) {
		st_hex(nodes[i].hash, ST_HASH_LEN, hex);
		st_buf_puts(out, i ? ",[" : "[");
		st_json_uint(out, nodes[i].lo);
		st_buf_putc(out, ',');
		st_json_uint(out, nodes[i].hi);
		st_buf_puts(out, ",\"");
		st_buf_puts(out, hex);
		st_buf_puts(out, "\"]");
	}
	st_buf_puts(out, "]}\n");
}

/* ---- verification ----------------------------------------------------- */

struct bstream {
	bool has_ckpt, has_proof, has_prev;
	struct st_ckpt ck;
	uint64_t *idx;
	uint8_t (*leaf)[ST_HASH_LEN];
	size_t n, cap;
	struct st_mproof_node *nodes;
	size_t nn;
	uint64_t prev_seq;
	uint8_t prev_hash[ST_HASH_LEN];
};

struct bcheck {
	const char *name;
	unsigned long line;
	const struct st_keyset *keys;
	struct st_hasher *h;
	struct st_buf scratch;
	struct bstream s[ST_STREAM__COUNT];
	struct st_bundle_report *rep;
	bool header;
	char *err;
	size_t errlen;
};

static int bad(struct bcheck *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct bcheck *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(b->err, b->errlen, "%s:%lu: ", b->name, b->line);
	if (k > 0 && (size_t)k < b->errlen) {
		va_start(ap, fmt);
		vsnprintf(b->err + k, b->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return 1;
}

static int oom(struct bcheck *b)
{
	snprintf(b->err, b->errlen, "%s: out of memory", b->name);
	return -1;
}

static int meta_stream(struct bcheck *b, const struct st_jv *root, int *s)
{
	const struct st_jv *v = st_jv_get(root, "stream");

	if (!v || v->t != ST_JSTR || (*s = st_stream_parse(v->s)) < 0)
		return bad(b, "\"stream\" must be \"decision\" or \"system\"");
	return 0;
}

static int meta_checkpoint(struct bcheck *b, const struct st_jv *root)
{
	const struct st_jv *note = st_jv_get(root, "note");
	struct bstream *bs;
	char why[512];
	int s;

	if (meta_stream(b, root, &s))
		return 1;
	bs = &b->s[s];
	if (bs->has_ckpt)
		return bad(b, "second checkpoint for stream %s", st_stream_name(s));
	if (!note || note->t != ST_JSTR)
		return bad(b, "checkpoint line lacks \"note\"");
	if (st_ckpt_parse_named(note->s, note->slen, b->keys->key,
				(const char *const *)b->keys->note_name, b->keys->n,
			      &bs->ck, &b->rep->s[s].signer, why, sizeof(why)))
		return bad(b, "%s", why);
	if (st_ckpt_stream(&bs->ck) != s)
		return bad(b, "checkpoint origin '%s' is not of stream %s",
			   bs->ck.origin, st_stream_name(s));
	bs->has_ckpt = true;
	b->rep->s[s].present = true;
	b->rep->s[s].tree_size = bs->ck.size;
	return 0;
}

static int proof_node(struct bcheck *b, const struct st_jv *it,
		      struct st_mproof_node *n)
{
	if (it->t != ST_JARR || it->n != 3 || st_jv_uint64(it->items[0], &n->lo) ||
	    st_jv_uint64(it->items[1], &n->hi) || it->items[2]->t != ST_JSTR ||
	    st_unhex(it->items[2]->s, it->items[2]->slen, n->hash, ST_HASH_LEN) ||
	    n->lo >= n->hi)
		return bad(b, "proof node is not [lo, hi, \"<64 hex>\"] with lo < hi");
	return 0;
}

static int meta_proof(struct bcheck *b, const struct st_jv *root)
{
	const struct st_jv *size = st_jv_get(root, "tree_size");
	const struct st_jv *nodes = st_jv_get(root, "nodes");
	struct bstream *bs;
	uint64_t n;
	size_t i;
	int s;

	if (meta_stream(b, root, &s))
		return 1;
	bs = &b->s[s];
	if (!bs->has_ckpt || bs->has_proof)
		return bad(b, "proof for %s without its checkpoint, or a second one",
			   st_stream_name(s));
	if (st_jv_uint64(size, &n) || n != bs->ck.size)
		return bad(b, "proof tree_size differs from the checkpoint's %" PRIu64,
			   bs->ck.size);
	if (!nodes || nodes->t != ST_JARR)
		return bad(b, "proof lacks \"nodes\"");
	bs->nodes = calloc(nodes->n ? nodes->n : 1, sizeof(*bs->nodes));
	if (!bs->nodes)
		return oom(b);
	for (i = 0; i < nodes->n; i++)
		if (proof_node(b, nodes->items[i], &bs->nodes[i]))
			return 1;
	bs->nn = nodes->n;
	bs->has_proof = true;
	return 0;
}

static int meta_line(struct bcheck *b, const char *line, size_t len)
{
	struct st_json_doc doc;
	const struct st_jv *kind, *fmt;
	char why[128];
	int rc;

	if (st_json_parse(line, len, &doc, why, sizeof(why)))
		return bad(b, "not JSON: %s", why);
	kind = st_jv_get(doc.root, "export");
	if (!kind || kind->t != ST_JSTR) {
		rc = bad(b, "\"export\" must name the line kind");
	} else if (!b->header) {
		fmt = st_jv_get(doc.root, "format");
		rc = strcmp(kind->s, "header") || !fmt || fmt->t != ST_JSTR ||
		     strcmp(fmt->s, ST_BUNDLE_FORMAT) ?
			bad(b, "the first line must be the header of format " ST_BUNDLE_FORMAT) : 0;
		b->header = true;
	} else if (!strcmp(kind->s, "checkpoint")) {
		rc = meta_checkpoint(b, doc.root);
	} else if (!strcmp(kind->s, "proof")) {
		rc = meta_proof(b, doc.root);
	} else {
		rc = bad(b, "unknown line kind '%s'", kind->s);
	}
	st_json_doc_free(&doc);
	return rc;
}

static int add_leaf(struct bcheck *b, struct bstream *bs, uint64_t seq,
		    const char *line, size_t len)
{
	uint64_t *gi;
	uint8_t (*gl)[ST_HASH_LEN];

	if (bs->n == bs->cap) {
		bs->cap = bs->cap ? bs->cap * 2 : 1024;
		gi = realloc(bs->idx, bs->cap * sizeof(*gi));
		if (gi)
			bs->idx = gi;
		gl = realloc(bs->leaf, bs->cap * sizeof(*gl));
		if (gl)
			bs->leaf = gl;
		if (!gi || !gl)
			return oom(b);
	}
	bs->idx[bs->n] = seq;
	if (st_merkle_leaf(b->h, line, len, bs->leaf[bs->n]))
		return oom(b);
	bs->n++;
	return 0;
}

static int record_line(struct bcheck *b, const char *line, size_t len)
{
	struct st_record_parsed p;
	struct bstream *bs;
	char why[256], want[ST_HASH_HEX + 1];
	uint64_t seq;
	int rc = 1, s;

	if (!b->header)
		return bad(b, "the first line must be the header of format " ST_BUNDLE_FORMAT);
	if (st_record_parse(line, len, &p, &b->scratch, why, sizeof(why))) {
		bad(b, "bad record: %s", why);
		goto out;
	}
	s = p.hdr.stream;
	seq = p.hdr.seq;
	bs = &b->s[s];
	if (!bs->has_ckpt || bs->has_proof) {
		bad(b, "%s seq %" PRIu64 ": not between its stream's checkpoint and proof lines",
		    st_stream_name(s), seq);
		goto out;
	}
	if (seq >= bs->ck.size) {
		bad(b, "%s seq %" PRIu64 ": beyond the signed tree of %" PRIu64 " records",
		    st_stream_name(s), seq, bs->ck.size);
		goto out;
	}
	if (bs->has_prev && seq <= bs->prev_seq) {
		bad(b, "%s seq %" PRIu64 ": after seq %" PRIu64 " (out of order or repeated)",
		    st_stream_name(s), seq, bs->prev_seq);
		goto out;
	}
	if (bs->has_prev && seq == bs->prev_seq + 1) {
		st_hex(bs->prev_hash, ST_HASH_LEN, want);
		if (strcmp(want, p.hdr.prev_hex)) {
			bad(b, "%s seq %" PRIu64 ": preceding_event_hash does not match seq %" PRIu64,
			    st_stream_name(s), seq, bs->prev_seq);
			goto out;
		}
		b->rep->s[s].links++;
	}
	if (st_sha256(b->h, line, len, NULL, 0, bs->prev_hash) ||
	    add_leaf(b, bs, seq, line, len)) {
		rc = -1;
		goto out;
	}
	if (!bs->has_prev)
		b->rep->s[s].first_seq = seq;
	b->rep->s[s].last_seq = seq;
	b->rep->s[s].records++;
	bs->has_prev = true;
	bs->prev_seq = seq;
	rc = 0;
out:
	st_record_parsed_free(&p);
	return rc;
}

static int finish(struct bcheck *b)
{
	uint8_t root[ST_HASH_LEN];
	char why[256];
	int s;

	if (!b->header) {
		b->line = 1;
		return bad(b, "empty: no header line");
	}
	if (!b->s[0].has_ckpt && !b->s[1].has_ckpt)
		return bad(b, "no signed checkpoint: the bundle proves nothing");
	for (s = 0; s < ST_STREAM__COUNT; s++) {
		struct bstream *bs = &b->s[s];

		if (!bs->has_ckpt)
			continue;
		if (!bs->has_proof)
			return bad(b, "stream %s has no proof line", st_stream_name(s));
		if (st_mproof_root(b->h, bs->ck.size, bs->idx,
				   (const uint8_t (*)[ST_HASH_LEN])bs->leaf, bs->n,
				   bs->nodes, bs->nn, root, why, sizeof(why)))
			return bad(b, "%s proof: %s", st_stream_name(s), why);
		if (memcmp(root, bs->ck.root, ST_HASH_LEN))
			return bad(b, "%s: records and proof give another Merkle root than the signed checkpoint (a record or proof node was altered)",
				   st_stream_name(s));
	}
	return 0;
}

/*
 * One line into b (newline kept, NUL bytes too), at most BUNDLE_LINE_MAX
 * bytes: a bundle comes from elsewhere, and getline() would take a line of
 * any length into memory. 1 a line, 0 end of input, -1 too long, -2 out
 * of memory.
 */
#define BUNDLE_LINE_MAX (64u << 20)

static int read_line(FILE *f, struct st_buf *b)
{
	int c;

	b->len = 0;
	while ((c = getc_unlocked(f)) != EOF) {
		if (b->len == BUNDLE_LINE_MAX)
			return -1;
		if (b->len + 1 >= b->cap && st_buf_reserve(b, 65536))
			return -2;
		b->p[b->len++] = (char)c;
		if (c == '\n')
			return 1;
	}
	return b->len ? 1 : 0;
}

int st_bundle_verify(FILE *f, const char *name, const struct st_keyset *keys,
		     struct st_bundle_report *rep, char *err, size_t errlen)
{
	struct bcheck b = {
		.name = name, .keys = keys, .rep = rep, .err = err, .errlen = errlen,
	};
	struct st_buf in = { 0 };
	const char *line;
	size_t len;
	int rc = 0, s, n;

	memset(rep, 0, sizeof(*rep));
	b.h = st_hasher_new();
	if (!b.h)
		return oom(&b);
	while (!rc && (n = read_line(f, &in)) != 0) {
		b.line++;
		if (n == -2) {
			rc = oom(&b);
			break;
		}
		if (n < 0) {
			rc = bad(&b, "line longer than %u bytes", BUNDLE_LINE_MAX);
			break;
		}
		line = in.p;
		len = in.len;
		if (!len || line[len - 1] != '\n') {
			rc = bad(&b, "line does not end with a newline");
			break;
		}
		len--;
		if (len >= sizeof(META_PREFIX) - 1 &&
		    !memcmp(line, META_PREFIX, sizeof(META_PREFIX) - 1))
			rc = meta_line(&b, line, len);
		else
			rc = record_line(&b, line, len);
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "%s: read error", name);
		rc = -1;
	}
	if (!rc)
		rc = finish(&b);
	st_buf_free(&in);
	for (s = 0; s < ST_STREAM__COUNT; s++) {
		free(b.s[s].idx);
		free(b.s[s].leaf);
		free(b.s[s].nodes);
	}
	st_buf_free(&b.scratch);
	st_hasher_free(b.h);
	return rc;
}
