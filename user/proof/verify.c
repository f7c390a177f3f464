// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace verify: check a state directory or an export.
 *
 * State directory: every segment's framing, every line's canonical form,
 * the hash chain (scan.h), then the Merkle root at every signed tree head
 * found: the checkpoint records of the system stream, each stream's
 * `checkpoint` file and any --checkpoint copies. With --pubkey (several
 * after a signing key rotation) or --pubkey-dir every signature is
 * checked too, each against any of the keys; once a checkpoint record is
 * signed by a new key, the keys before it must not sign again (a retired
 * key is retired for good). The first failure is named as
 * "<stream>/<segment> seq N: what" and the exit status is 1.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/base/progress.h"
#include "sealtrace/proof/addckpt.h"
#include "sealtrace/proof/bundle.h"
#include "sealtrace/proof/witness_claim.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/base/cli.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/proof/sealed.h"

#define MAX_EXTERNAL 16

/* A signed (or, without --pubkey, merely claimed) tree head. */
struct claim {
	uint64_t size;
	uint8_t root[ST_HASH_LEN];
	char src[200];
};

struct claims {
	struct claim *v;
	size_t n, cap, next;
	uint64_t verified_size;		/* largest size whose root matched */
	size_t verified;		/* heads matched */
	bool have_file;			/* <stream>/checkpoint present */
};

/* What one of the given keys signed. */
struct keyuse {
	uint64_t records;		/* checkpoint records in the system stream */
	uint64_t first_seq, last_seq;	/* of those, system seq */
	unsigned files;			/* <stream>/checkpoint and --checkpoint */
	bool superseded;		/* another key signed a later record */
	uint64_t superseded_at;		/* system seq of that record */
	/* tree sizes of the checkpoint records it signed, per stream */
	bool signed_any[ST_STREAM__COUNT];
	uint64_t min_size[ST_STREAM__COUNT], max_size[ST_STREAM__COUNT];
	uint64_t epoch;			/* announced as this epoch; 0: given */
};

/* A checkpoint file's note: its signature is checked after the scan,
 * when the key_epoch records have named every epoch key. */
struct file_note {
	char path[4200];
	char note[ST_NOTE_MAX];
	size_t len;
};

struct verify {
	const char *state_dir;
	struct st_keyset keys;		/* none: signatures not checked */
	struct keyuse *use;		/* one per key */
	int last_signer;		/* of the last checkpoint record; -1 */
	struct claims c[ST_STREAM__COUNT];
	struct st_merkle prev;		/* system tree one record back */
	uint64_t purge_records;		/* retention_purge records seen */
	uint64_t head[ST_STREAM__COUNT];	/* first seq kept (retention) */
	bool started[ST_STREAM__COUNT];
	struct st_progress progress;
	const char *stream_name;
	const char *witness_key;	/* --witness-key: a cosigned head required */
	bool quiet;
	/* signing epochs (key_epoch records) */
	bool epochs;			/* one was seen: every key change must be one */
	int expect_signer;		/* announced, must sign next; -1 */
	uint64_t last_epoch;
	struct file_note *notes;
	size_t nnotes;
};


static int claim_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

/* Sort the claims not yet checked (qsort must not see a NULL base). */
static void sort_claims(struct claims *c)
{
	if (c->n > c->next)
		qsort(c->v + c->next, c->n - c->next, sizeof(*c->v), claim_cmp);
}

static int add_claim(struct claims *c, uint64_t size, const uint8_t *root,
		     const char *src)
{
	struct claim *grown;
	size_t i;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		grown = realloc(c->v, c->cap * sizeof(*grown));
		if (!grown)
			return -1;
		c->v = grown;
	}
	/* keep [next, n) sorted: insert in place (claims come mostly in order) */
	for (i = c->n; i > c->next && c->v[i - 1].size > size; i--)
		c->v[i] = c->v[i - 1];
	c->v[i].size = size;
	memcpy(c->v[i].root, root, ST_HASH_LEN);
	snprintf(c->v[i].src, sizeof(c->v[i].src), "%s", src);
	c->n++;
	return 0;
}

/* Compare a tree against one claim; 1 with a located message if wrong. */
static int check_claim(struct claims *c, const struct claim *cl,
		       const struct st_merkle *tree, struct st_hasher *h,
		       const char *where, char *err, size_t errlen)
{
	uint8_t root[ST_HASH_LEN];

	if (st_merkle_root(tree, h, root))
		return st_errf(err, errlen, "SHA-256 failed");
	if (memcmp(root, cl->root, ST_HASH_LEN))
		return st_failf(err, errlen, "%s: the Merkle root of seq 0..%" PRIu64
			       " differs from the one signed in %s: a record in seq %" PRIu64
			       "..%" PRIu64 " was altered (and the chain recomputed), or records were replaced",
			       where, cl->size - 1, cl->src, c->verified_size,
			       cl->size - 1);
	c->verified++;
	if (cl->size > c->verified_size)
		c->verified_size = cl->size;
	return 0;
}

static void progress(struct verify *v, uint64_t seq)
{
	if (st_progress_tick(&v->progress))
		st_progress_print("verify: %s: %" PRIu64 " records checked...",
				  v->stream_name, seq + 1);
}

static int note_of(const struct st_record *rec, const char *key,
		   enum st_kv_kind kind, const struct st_kv **out)
{
	*out = st_record_detail(rec, key);
	return *out && (*out)->kind == kind ? 0 : -1;
}

/*
 * Keys sign checkpoint records in runs: A..A B..B C..C. A key that comes
 * back after another one took over was retired: whoever signs with it
 * now holds a key that should have been destroyed.
 */
static int record_signer(struct verify *v, size_t k, uint64_t seq,
			 const char *where, char *err, size_t errlen)
{
	struct keyuse *u = &v->use[k];

	if (u->superseded)
		return st_failf(err, errlen, "%s: checkpoint signed by %s, a key that another key replaced at system seq %"
			       PRIu64 " (a retired signing key signed again)",
			       where, v->keys.name[k], u->superseded_at);
	if (v->last_signer >= 0 && (size_t)v->last_signer != k) {
		v->use[v->last_signer].superseded = true;
		v->use[v->last_signer].superseded_at = seq;
	}
	v->last_signer = (int)k;
	if (!u->records++)
		u->first_seq = seq;
	u->last_seq = seq;
	return 0;
}

/*
 * Under signing epochs the key changes only through a key_epoch record:
 * the first head after one is the announced key's, and no other key
 * takes over unannounced (a later key re-sealing an old epoch, or a
 * truncated log continued with the current key).
 */
static int epoch_signer(struct verify *v, size_t k, const char *where,
			char *err, size_t errlen)
{
	if (v->expect_signer >= 0) {
		if ((size_t)v->expect_signer != k)
			return st_failf(err, errlen, "%s: the first checkpoint after a key_epoch record is signed by %s, not by the key it announced (%s)",
				       where, v->keys.name[k], v->keys.name[v->expect_signer]);
		v->expect_signer = -1;
		return 0;
	}
	if (v->epochs && v->last_signer >= 0 && (size_t)v->last_signer != k)
		return st_failf(err, errlen, "%s: checkpoint signed by %s while the epoch key is %s, and no key_epoch record announced it",
			       where, v->keys.name[k], v->keys.name[v->last_signer]);
	return 0;
}

static void note_size(struct keyuse *u, int stream, uint64_t size)
{
	if (!u->signed_any[stream] || size < u->min_size[stream])
		u->min_size[stream] = size;
	if (!u->signed_any[stream] || size > u->max_size[stream])
		u->max_size[stream] = size;
	u->signed_any[stream] = true;
}

static int hex_detail(const struct st_record *rec, const char *key, uint8_t *out,
		      size_t n)
{
	const struct st_kv *d = st_record_detail(rec, key);

	return d && d->kind == ST_KV_STR && strlen(d->v.s) == 2 * n &&
	       !st_unhex(d->v.s, 2 * n, out, n) ? 0 : -1;
}

/* The announced key joins the set (it may already be there, given). */
static int add_epoch_key(struct verify *v, const uint8_t pub[32], uint64_t epoch,
			 uint64_t seq, size_t *idx, char *err, size_t errlen)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	struct keyuse *grown;
	size_t i, before = v->keys.n;
	char name[128];
	uint8_t raw[32];

	if (!k)
		return st_errf(err, errlen, "out of memory");
	snprintf(name, sizeof(name), "epoch %" PRIu64 " key (key_epoch at system seq %" PRIu64 ")",
		 epoch, seq);
	if (st_keyset_add(&v->keys, k, name, err, errlen) < 0)
		return -1;
	grown = realloc(v->use, v->keys.n * sizeof(*grown));
	if (!grown)
		return st_errf(err, errlen, "out of memory");
	v->use = grown;
	if (v->keys.n > before)
		memset(&v->use[before], 0, (v->keys.n - before) * sizeof(*grown));
	for (i = 0; i < v->keys.n; i++) {
		if (st_pubkey_raw(v->keys.key[i], raw) || memcmp(raw, pub, 32))
			continue;
		v->use[i].epoch = epoch;
		*idx = i;
		return 0;
	}
	return st_errf(err, errlen, "%s", "announced key not found in the key set");
}

/*
 * A key_epoch record: the current epoch key signs the next one's public
 * key, bound to the record's place (seq, preceding hash). From here on
 * the old key must not sign again, and the new one signs the next head.
 */
static int key_epoch_record(struct verify *v, const struct st_scan_rec *r,
			    char *err, size_t errlen)
{
	const struct st_record_hdr *hdr = &r->p->hdr;
	const struct st_kv *e = st_record_detail(&r->p->rec, "epoch");
	char where[160], msg[1024], key_name[ST_ORIGIN_MAX];
	uint8_t pub[32], sig[64];
	size_t idx = 0;
	int cur = v->last_signer, n;

	snprintf(where, sizeof(where), "system/%s seq %" PRIu64, r->segment, hdr->seq);
	if (!e || e->kind != ST_KV_UINT || hex_detail(&r->p->rec, "public_key", pub, 32) ||
	    hex_detail(&r->p->rec, "signature", sig, 64))
		return st_failf(err, errlen, "%s: key_epoch record lacks epoch/public_key/signature",
			       where);
	if (e->v.u <= v->last_epoch)
		return st_failf(err, errlen, "%s: key_epoch announces epoch %" PRIu64 " after epoch %" PRIu64,
			       where, e->v.u, v->last_epoch);
	v->epochs = true;
	v->last_epoch = e->v.u;
	if (!v->keys.n)
		return 0;	/* no keys given: nothing signed is checked */
	if (cur < 0)
		return st_failf(err, errlen, "%s: key_epoch record before any signed checkpoint", where);
	if (st_ckpt_key_name(key_name, sizeof(key_name), hdr->system_id, hdr->node_id))
		return st_failf(err, errlen, "%s: system_id/node_id too long", where);
	n = st_epoch_message(msg, sizeof(msg), key_name, e->v.u, hdr->seq,
			     hdr->prev_hex, pub);
	if (n < 0 || st_ed25519_verify(v->keys.key[cur], msg, (size_t)n, sig))
		return st_failf(err, errlen, "%s: key_epoch for epoch %" PRIu64 " is not signed by the epoch key %s",
			       where, e->v.u, v->keys.name[cur]);
	if (add_epoch_key(v, pub, e->v.u, hdr->seq, &idx, err, errlen))
		return -1;
	if (idx == (size_t)cur)
		return st_failf(err, errlen, "%s: key_epoch announces the key already in use", where);
	v->use[cur].superseded = true;
	v->use[cur].superseded_at = hdr->seq;
	v->expect_signer = (int)idx;
	return 0;
}

/* A checkpoint record in the system stream: a signed head to check. */
static int checkpoint_record(struct verify *v, const struct st_scan_rec *r,
			     char *err, size_t errlen)
{
	const struct st_kv *cs, *size, *rh, *note;
	uint8_t root[ST_HASH_LEN];
	struct st_ckpt ck;
	char why[512], where[160], src[200];
	int stream, rc;
	uint64_t seq = r->p->hdr.seq;
	size_t signer = 0;

	snprintf(where, sizeof(where), "system/%s seq %" PRIu64, r->segment, seq);
	if (note_of(&r->p->rec, "checkpoint_stream", ST_KV_STR, &cs) ||
	    note_of(&r->p->rec, "tree_size", ST_KV_UINT, &size) ||
	    note_of(&r->p->rec, "root_hash", ST_KV_STR, &rh) ||
	    note_of(&r->p->rec, "note", ST_KV_STR, &note))
		return st_failf(err, errlen, "%s: checkpoint record lacks checkpoint_stream/tree_size/root_hash/note",
			       where);
	stream = st_stream_parse(cs->v.s);
	if (stream < 0)
		return st_failf(err, errlen, "%s: checkpoint of unknown stream '%s'",
			       where, cs->v.s);
	if (st_ckpt_parse_named(note->v.s, strlen(note->v.s), v->keys.key,
				(const char *const *)v->keys.note_name,
			      v->keys.n, &ck, &signer, why, sizeof(why)))
		return st_failf(err, errlen, "%s: %s", where, why);
	if (v->keys.n && (epoch_signer(v, signer, where, err, errlen) ||
			  record_signer(v, signer, seq, where, err, errlen)))
		return 1;
	if (v->keys.n)
		note_size(&v->use[signer], stream, ck.size);
	if (st_ckpt_stream(&ck) != stream || ck.size != size->v.u ||
	    st_unhex(rh->v.s, strlen(rh->v.s), root, ST_HASH_LEN) ||
	    memcmp(root, ck.root, ST_HASH_LEN))
		return st_failf(err, errlen, "%s: checkpoint record's fields differ from its signed note",
			       where);
	snprintf(src, sizeof(src), "the checkpoint record at system seq %" PRIu64, seq);
	/* a head over records retention purged: signature checked, root not */
	if (stream == ST_STREAM_SYSTEM && ck.size < v->head[ST_STREAM_SYSTEM])
		return 0;
	if (stream == ST_STREAM_DECISION || ck.size > seq)
		return add_claim(&v->c[stream], ck.size, ck.root, src) ?
			st_errf(err, errlen, "out of memory") : 0;
	/* about the system stream itself: the head just before this record
	 * (the decision checkpoint record sits between) or this position */
	{
		struct claim cl = { .size = ck.size };
		const struct st_merkle *t = ck.size == seq ? r->tree :
					    ck.size + 1 == seq ? &v->prev : NULL;

		memcpy(cl.root, ck.root, ST_HASH_LEN);
		snprintf(cl.src, sizeof(cl.src), "%s", src);
		if (!t)
			return st_failf(err, errlen, "%s: checkpoint record signs system size %" PRIu64
				       ", which cannot precede it here", where, ck.size);
		rc = check_claim(&v->c[ST_STREAM_SYSTEM], &cl, t, r->h, where,
				 err, errlen);
		return rc;
	}
}

static int verify_cb(void *ctx, const struct st_scan_rec *r, char *err,
		     size_t errlen)
{
	struct verify *v = ctx;
	struct claims *c = &v->c[r->stream];
	uint64_t seq = r->p->hdr.seq;
	char where[160];
	int rc;

	progress(v, seq);
	if (!v->started[r->stream]) {
		v->started[r->stream] = true;
		v->head[r->stream] = seq;
	}
	if (r->stream == ST_STREAM_SYSTEM &&
	    r->p->rec.type == ST_ET_RETENTION_PURGE)
		v->purge_records++;
	snprintf(where, sizeof(where), "%s/%s seq %" PRIu64,
		 st_stream_name(r->stream), r->segment, seq);
	/* heads whose size is this seq cover exactly the records before it */
	while (c->next < c->n && c->v[c->next].size <= seq) {
		if (c->v[c->next].size == seq) {
			rc = check_claim(c, &c->v[c->next], r->tree, r->h, where,
					 err, errlen);
			if (rc)
				return rc;
		}
		c->next++;
	}
	if (r->stream == ST_STREAM_SYSTEM && r->p->rec.type == ST_ET_CHECKPOINT) {
		rc = checkpoint_record(v, r, err, errlen);
		if (rc)
			return rc;
	}
	if (r->stream == ST_STREAM_SYSTEM && r->p->rec.type == ST_ET_KEY_EPOCH) {
		rc = key_epoch_record(v, r, err, errlen);
		if (rc)
			return rc;
	}
	if (r->stream == ST_STREAM_SYSTEM)
		v->prev = *r->tree;
	return 0;
}

/*
 * The note's form now (its head joins the claims), its signature after
 * the scan (check_notes): the key that signed it may be one a key_epoch
 * record announces. ext: a --checkpoint argument, whose unreadable or
 * malformed file is a usage error (2).
 */
static int read_note(struct verify *v, const char *path, bool ext,
		     struct st_ckpt *ck, char *err, size_t errlen)
{
	struct file_note *grown, *fn;
	char why[512];
	int rc;

	grown = realloc(v->notes, (v->nnotes + 1) * sizeof(*grown));
	if (!grown)
		return st_errf(err, errlen, "out of memory");
	v->notes = grown;
	fn = &v->notes[v->nnotes];
	/* -1: cannot read it (exit 3); 1: too large to be a note (exit 1) */
	rc = st_ckpt_read_file(path, fn->note, sizeof(fn->note), &fn->len, err, errlen);
	if (rc)
		return ext ? 2 : rc;
	/* a --checkpoint that is no note at all is a wrong argument (exit 2) */
	if (ext && st_ckpt_parse_any(fn->note, fn->len, NULL, 0, ck, NULL, err, errlen))
		return 2;
	if (st_ckpt_parse_any(fn->note, fn->len, NULL, 0, ck, NULL, why, sizeof(why)))
		return st_failf(err, errlen, "%s: %s", path, why);
	snprintf(fn->path, sizeof(fn->path), "%s", path);
	v->nnotes++;
	return 0;
}

/*
 * Under signing epochs a key vouches only for the tree sizes of its own
 * epoch: from the first head it signed in the log to the last (the
 * newest key: onwards). A later key signing an earlier size is a
 * re-sealed old epoch.
 */
static int note_in_epoch(const struct verify *v, size_t k, const struct st_ckpt *ck,
			 const char *path, char *err, size_t errlen)
{
	const struct keyuse *u = &v->use[k];
	int s = st_ckpt_stream(ck);

	if (!v->epochs || s < 0)
		return 0;
	if (!u->signed_any[s] || ck->size < u->min_size[s] ||
	    (u->superseded && ck->size > u->max_size[s]))
		return st_failf(err, errlen, "%s: signed by %s, but a tree of %" PRIu64
			       " %s records lies outside that key's epoch (its checkpoints in the log cover %s%" PRIu64
			       "..%" PRIu64 "): a later epoch's key cannot sign for an earlier one",
			       path, v->keys.name[k], ck->size, st_stream_name((enum st_stream)s),
			       u->signed_any[s] ? "" : "none; ", u->signed_any[s] ? u->min_size[s] : 0,
			       u->signed_any[s] ? u->max_size[s] : 0);
	return 0;
}

static int check_notes(struct verify *v, char *err, size_t errlen)
{
	struct st_ckpt ck;
	char why[512];
	size_t i, signer = 0;

	if (!v->keys.n)
		return 0;
	for (i = 0; i < v->nnotes; i++) {
		const struct file_note *fn = &v->notes[i];

		if (st_ckpt_parse_named(fn->note, fn->len, v->keys.key,
					(const char *const *)v->keys.note_name, v->keys.n, &ck,
					&signer, why, sizeof(why)))
			return st_failf(err, errlen, "%s: %s", fn->path, why);
		if (note_in_epoch(v, signer, &ck, fn->path, err, errlen))
			return 1;
		v->use[signer].files++;
	}
	return 0;
}

static int load_file_claims(struct verify *v, char *const *ext, int next,
			    char *err, size_t errlen)
{
	char path[4200], src[300];
	struct st_ckpt ck;
	int i, s, rc;

	for (i = 0; i < ST_STREAM__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s/checkpoint", v->state_dir,
			 st_stream_name((enum st_stream)i));
		if (access(path, F_OK))
			continue;
		rc = read_note(v, path, false, &ck, err, errlen);
		if (rc)
			return rc;
		if (st_ckpt_stream(&ck) != i)
			return st_failf(err, errlen, "%s: origin '%s' names another stream",
				       path, ck.origin);
		snprintf(src, sizeof(src), "%s/checkpoint", st_stream_name((enum st_stream)i));
		if (add_claim(&v->c[i], ck.size, ck.root, src))
			return st_errf(err, errlen, "out of memory");
		v->c[i].have_file = true;
	}
	for (i = 0; v->witness_key && i < ST_STREAM__COUNT; i++) {
		rc = st_witness_claim(v->state_dir, (enum st_stream)i, v->witness_key, &ck,
				      err, errlen);
		if (rc)
			return rc;
		snprintf(src, sizeof(src), "the head the witness cosigned (%s)",
			 st_stream_name((enum st_stream)i));
		if (st_ckpt_stream(&ck) != i || add_claim(&v->c[i], ck.size, ck.root, src))
			return st_failf(err, errlen, "%s: wrong stream, or out of memory", src);
	}
	for (i = 0; i < next; i++) {
		rc = read_note(v, ext[i], true, &ck, err, errlen);
		if (rc)
			return rc < 0 ? 1 : rc;
		s = st_ckpt_stream(&ck);
		if (s < 0)
			return st_failf(err, errlen, "%s: origin '%s' names no stream",
				       ext[i], ck.origin);
		snprintf(src, sizeof(src), "%s (--checkpoint)", ext[i]);
		if (add_claim(&v->c[s], ck.size, ck.root, src))
			return st_errf(err, errlen, "out of memory");
	}
	return 0;
}

/* After a stream's last record: heads of exactly its size, or beyond it. */
static int finish_claims(struct verify *v, enum st_stream s,
			 const struct st_scan_result *res, char *err,
			 size_t errlen)
{
	struct claims *c = &v->c[s];
	struct st_hasher *h;
	char where[160];
	int rc = 0;

	h = st_hasher_new();
	if (!h)
		return st_errf(err, errlen, "OpenSSL SHA-256 unavailable");
	snprintf(where, sizeof(where), "%s/%s (end, %" PRIu64 " records)",
		 st_stream_name(s), res->segments ? res->last_segment : "-",
		 res->records);
	for (; c->next < c->n && !rc; c->next++) {
		const struct claim *cl = &c->v[c->next];

		if (cl->size == res->records)
			rc = check_claim(c, cl, &res->tree, h, where, err, errlen);
		else if (cl->size > res->records)
			rc = st_failf(err, errlen, "%s: %s signs %" PRIu64 " records: seq %"
				     PRIu64 "..%" PRIu64 " are missing (tail truncated or rolled back)",
				     where, cl->src, cl->size, res->records,
				     cl->size - 1);
	}
	st_hasher_free(h);
	return rc;
}

static void print_stream(enum st_stream s, const struct st_scan_result *res,
			 const struct claims *c)
{
	char t0[ST_TIME_LEN + 1] = "-", t1[ST_TIME_LEN + 1] = "-";
	uint64_t kept = res->records - res->head.seq;

	if (kept) {
		st_time_format(res->first_ts, t0);
		st_time_format(res->last_ts, t1);
	}
	printf("  %-8s %" PRIu64 " records in %" PRIu64 " segments, %s .. %s; "
	       "%zu tree heads match, the latest covers %" PRIu64 " records (%" PRIu64
	       " after it not yet signed)\n",
	       st_stream_name(s), kept, res->segments, t0, t1,
	       c->verified, c->verified_size, res->records - c->verified_size);
	if (res->head.seq)
		printf("  %-8s purged by retention: seq 0..%" PRIu64
		       "; the rest continues from the retention_purge record at system seq %"
		       PRIu64 " (chain hash and Merkle frontier)\n",
		       st_stream_name(s), res->head.seq - 1, res->head.anchor_seq);
}

/*
 * A purged head is only as good as the record that vouches for it: that
 * record must be under a signed head of the system stream, or whoever
 * deleted segments could have appended it after the last checkpoint.
 */
static int check_anchors(const struct verify *v,
			 const struct st_scan_result *res, char *err,
			 size_t errlen)
{
	uint64_t signed_sys = v->c[ST_STREAM_SYSTEM].verified_size;
	int i;

	for (i = 0; i < ST_STREAM__COUNT; i++) {
		const struct st_scan_head *h = &res[i].head;

		if (h->seq && h->anchor_seq >= signed_sys)
			return st_failf(err, errlen, "%s: seq 0..%" PRIu64 " are missing; the retention_purge record at system seq %"
				       PRIu64 " that accounts for them is not covered by a signed checkpoint (the latest covers %"
				       PRIu64 " system records)",
				       st_stream_name((enum st_stream)i), h->seq - 1,
				       h->anchor_seq, signed_sys);
	}
	return 0;
}

/* Which key signed what: the auditor sees where a rotation happened. */
static void print_keys(const struct verify *v)
{
	char hash[ST_PUBKEY_HASH_LEN + 1];
	const struct keyuse *u;
	size_t i;

	for (i = 0; i < v->keys.n; i++) {
		u = &v->use[i];
		if (st_pubkey_hash(v->keys.key[i], hash))
			snprintf(hash, sizeof(hash), "?");
		printf("  key %s (%.23s...): ", v->keys.name[i], hash);
		if (u->epoch)
			printf("epoch %" PRIu64 ", ", u->epoch);
		if (u->records)
			printf("signed %" PRIu64 " checkpoint records (system seq %" PRIu64
			       "..%" PRIu64 ")", u->records, u->first_seq, u->last_seq);
		else
			printf("signed no checkpoint record");
		printf(", %u checkpoint file(s)\n", u->files);
	}
}

/* A check's result as an exit status, its message where it belongs. */
static int failure_status(int rc, const char *err)
{
	if (rc < 0) {
		fprintf(stderr, "sealtrace verify: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	if (rc == 2) {
		fprintf(stderr, "sealtrace verify: --checkpoint %s\n", err);
		return ST_EXIT_USAGE;
	}
	printf("verify: FAIL: %s\n", err);
	return ST_EXIT_FAIL;
}

static int verify_state(struct verify *v, char *const *ext, int next)
{
	static const enum st_stream order[] = { ST_STREAM_SYSTEM, ST_STREAM_DECISION };
	struct st_scan_result res[ST_STREAM__COUNT];
	char err[1024];
	uint64_t records = 0, segments = 0;
	size_t heads = 0;
	int i, rc;

	memset(res, 0, sizeof(res));
	rc = load_file_claims(v, ext, next, err, sizeof(err));
	for (i = 0; i < ST_STREAM__COUNT; i++)
		sort_claims(&v->c[i]);
	/* system first: its checkpoint records are heads of both streams */
	for (i = 0; i < ST_STREAM__COUNT && !rc; i++) {
		enum st_stream s = order[i];

		v->stream_name = st_stream_name(s);
		if (s == ST_STREAM_DECISION)
			sort_claims(&v->c[s]);
		rc = st_scan_stream(v->state_dir, s, verify_cb, v, &res[s], err,
				    sizeof(err));
		if (!rc)
			rc = finish_claims(v, s, &res[s], err, sizeof(err));
		/* the log signs its state at every open: no file, no log */
		if (!rc && !v->c[s].have_file)
			rc = st_failf(err, sizeof(err), "%s/%s/checkpoint: missing: no signed head for the %"
				     PRIu64 " records there", v->state_dir,
				     st_stream_name(s), res[s].records);
	}
	if (!rc)
		rc = check_anchors(v, res, err, sizeof(err));
	if (!rc)
		rc = check_notes(v, err, sizeof(err));
	if (rc)
		return failure_status(rc, err);
	printf("verify: %s\n", v->state_dir);
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		print_stream((enum st_stream)i, &res[i], &v->c[i]);
		records += res[i].records - res[i].head.seq;
		segments += res[i].segments;
		heads += v->c[i].verified;
	}
	if (v->purge_records)
		printf("  retention_purge records in the system stream: %" PRIu64 "\n",
		       v->purge_records);
	print_keys(v);
	if (!v->keys.n)
		snprintf(err, sizeof(err), "signatures NOT checked (no --pubkey)");
	else if (v->epochs)
		snprintf(err, sizeof(err), "every checkpoint signature verifies with the key of its epoch (%" PRIu64
			 " epochs, followed from the given key through key_epoch records)", v->last_epoch);
	else if (v->keys.n == 1)
		snprintf(err, sizeof(err), "every checkpoint signature verifies with the given key");
	else
		snprintf(err, sizeof(err), "every checkpoint signature verifies with one of the %zu given keys",
			 v->keys.n);
	printf("verify: OK: 2 streams, %" PRIu64 " records, %" PRIu64
	       " segments; framing, canonical form, hash chains and %zu Merkle roots check out; %s\n",
	       records, segments, heads, err);
	return ST_EXIT_OK;
}

static int verify_export_file(const char *path, const struct st_keyset *keys)
{
	struct st_bundle_report rep;
	char err[1024];
	FILE *f;
	int rc, i;

	f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f) {
		fprintf(stderr, "sealtrace verify: %s: %m\n", path);
		return ST_EXIT_RUNTIME;
	}
	rc = st_bundle_verify(f, path, keys, &rep, err, sizeof(err));
	if (f != stdin)
		fclose(f);
	if (rc)
		return failure_status(rc, err);
	printf("verify: export %s\n", path);
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		if (!rep.s[i].present)
			continue;
		printf("  %-8s %" PRIu64 " records", st_stream_name((enum st_stream)i),
		       rep.s[i].records);
		if (rep.s[i].records)
			printf(" (seq %" PRIu64 "..%" PRIu64 ", %" PRIu64 " links checked)",
			       rep.s[i].first_seq, rep.s[i].last_seq, rep.s[i].links);
		printf(", each proved at its seq in the tree of %" PRIu64
		       " records signed by %s\n", rep.s[i].tree_size,
		       keys->name[rep.s[i].signer]);
	}
	printf("verify: OK: signatures, canonical form, chain links and Merkle proofs check out\n");
	return ST_EXIT_OK;
}

/* --pubkey FILE or --pubkey-dir DIR; a key given twice counts once. */
static int add_keys(struct st_keyset *ks, bool dir, const char *arg)
{
	char err[512];
	int rc;

	rc = dir ? st_keyset_add_keys_dir(ks, arg, err, sizeof(err)) :
		   st_keyset_add_file(ks, arg, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "sealtrace verify: %s\n", err);
	return rc < 0 ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace verify --state-dir DIR [--pubkey FILE]... [--pubkey-dir DIR]\n"
		"                        [--checkpoint FILE]... [--data-key FILE] [--witness-key K] [--quiet]\n"
		"       sealtrace verify --export FILE (--pubkey FILE... | --pubkey-dir DIR)\n"
		"       sealtrace verify --consistency FILE --checkpoint OLD --pubkey FILE\n"
		"       sealtrace verify --db DSN [--pubkey K]... [--witness-key K]   (--db DSN --help)\n\n"
		"Check a log: gzip framing of every segment, canonical form of every\n"
		"record, the hash chain of each stream, the Merkle root at every signed\n"
		"tree head (checkpoint records, <stream>/checkpoint, --checkpoint copies)\n"
		"and, with --pubkey or --pubkey-dir, every Ed25519 signature: each must\n"
		"verify with one of the keys, and a key that another key followed in\n"
		"the log (a rotated-out key) must not sign again.\n\n"
		"  --state-dir DIR    the agent's state directory\n"
		"  --pubkey FILE      signing.pub from `sealtrace keygen` (from a trusted copy);\n"
		"                     repeatable: after `keygen --rotate-signing`, give the\n"
		"                     retired keys too\n"
		"  --pubkey-dir DIR   every *.pub in DIR and DIR/retired (a copy of the keys\n"
		"                     directory's public keys); combines with --pubkey\n"
		"  --checkpoint FILE  a checkpoint copied away earlier: finds a truncated\n"
		"                     or rolled-back tail (repeatable)\n"
		"  --data-key FILE    the data key file of an encrypted log (sealed\n"
		"                     segments cannot be read without it; also from\n"
		"                     the environment, SEALTRACE_DATA_KEY=FILE)\n"
		"  --witness-key K    a witness's verifier key (witness.vkey, or the string):\n"
		"                     require, per stream, the head it cosigned (kept by the\n"
		"                     shipper in DIR/shipped/<stream>.cosigned) and that the\n"
		"                     log holds it: a truncated, rolled-back or forked log fails\n"
		"  --export FILE      verify an export from `sealtrace export` instead\n"
		"  --quiet            no progress lines on stderr\n"
		"  -h, --help         this text\n\n"
		"Exit status: 0 intact, 1 not intact (the first bad stream/segment/seq\n"
		"is named), 2 usage, 3 I/O error.\n");
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		ST_OPT_PUBKEY,
		{ "pubkey-dir", required_argument, NULL, 'P' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "export", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "data-key", required_argument, NULL, 'K' },
		{ "witness-key", required_argument, NULL, 'w' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "verify", .opts = opts, .usage = usage };
	struct verify v = { .last_signer = -1, .expect_signer = -1 };
	struct stat st;
	char *ext[MAX_EXTERNAL];
	const char *export = NULL;
	bool pubkey = false;
	int next = 0, c, rc, i;

	if (st_argv_has(argc, argv, "--consistency"))
		return st_verify_consistency_main(argc, argv);
	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': v.state_dir = optarg; break;
		case 'p':
		case 'P':
			pubkey = true;
			if (add_keys(&v.keys, c == 'P', optarg))
				goto usage_err;
			break;
		case 'e': export = optarg; break;
		case 'q': v.quiet = true; break;
		case 'K':
			if (st_cli_data_key("verify", optarg))
				goto usage_err;
			break;
		case 'w': v.witness_key = optarg; break;
		case 'c':
			if (next == MAX_EXTERNAL) {
				fprintf(stderr, "sealtrace verify: at most %d --checkpoint\n",
					MAX_EXTERNAL);
				return ST_EXIT_USAGE;
			}
			ext[next++] = optarg;
			break;
		case ST_CLI_STOP:
			rc = cli.status;
			goto out;
		}
	}
	if (!!v.state_dir == !!export || (export && (!pubkey || next))) {
		st_cli_usage_error(&cli, "give --state-dir DIR, or --export FILE with --pubkey FILE");
		goto usage_err;
	}
	if (v.state_dir && (stat(v.state_dir, &st) || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "sealtrace verify: %s: not a directory\n", v.state_dir);
		goto usage_err;
	}
	if (v.state_dir && (rc = st_cli_data_key_missing("verify", v.state_dir)))
		goto out;
	st_progress_init(&v.progress, !v.quiet, ST_NS_PER_SEC, false);
	v.use = calloc(v.keys.n ? v.keys.n : 1, sizeof(*v.use));
	if (!v.use) {
		fprintf(stderr, "sealtrace verify: out of memory\n");
		rc = ST_EXIT_RUNTIME;
		goto out;
	}
	if (export)
		rc = verify_export_file(export, &v.keys);
	else
		rc = verify_state(&v, ext, next);
out:
	for (i = 0; i < ST_STREAM__COUNT; i++)
		free(v.c[i].v);
	free(v.use);
	free(v.notes);
	st_keyset_free(&v.keys);
	return rc;
usage_err:
	rc = ST_EXIT_USAGE;
	goto out;
}
