// SPDX-License-Identifier: Apache-2.0
/* purge_record: see include/sealtrace/log/purge_record.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/purge_record.h"

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
