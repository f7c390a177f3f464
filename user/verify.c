// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace verify: check a state directory or an export.
 *
 * State directory: every segment's framing, every line's canonical form,
 * the hash chain (scan.h), then the Merkle root at every signed tree head
 * found: the checkpoint records of the system stream, each stream's
 * `checkpoint` file and any --checkpoint copies. With --pubkey every
 * signature is checked too. The first failure is named as
 * "<stream>/<segment> seq N: what" and the exit status is 1.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sealtrace/bundle.h"
#include "sealtrace/checkpoint.h"
#include "sealtrace/cli.h"
#include "sealtrace/keys.h"
#include "sealtrace/merkle.h"
#include "sealtrace/record.h"
#include "sealtrace/scan.h"

#define MAX_EXTERNAL 16
#define PROGRESS_NS 1000000000ULL

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

struct verify {
	const char *state_dir;
	EVP_PKEY *pub;
	struct claims c[ST_STREAM__COUNT];
	struct st_merkle prev;		/* system tree one record back */
	uint64_t total, progress_ns;
	const char *stream_name;
	bool quiet;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 1;
}

static int rt_err(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

static int claim_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
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
		return rt_err(err, errlen, "SHA-256 failed");
	if (memcmp(root, cl->root, ST_HASH_LEN))
		return set_err(err, errlen, "%s: the Merkle root of seq 0..%" PRIu64
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
	uint64_t now;

	if (v->quiet || ++v->total % 8192)
		return;
	now = mono_ns();
	if (!v->progress_ns) {
		v->progress_ns = now;
		return;
	}
	if (now - v->progress_ns < PROGRESS_NS)
		return;
	v->progress_ns = now;
	fprintf(stderr, "verify: %s: %" PRIu64 " records checked...\n",
		v->stream_name, seq + 1);
}

static int note_of(const struct st_record *rec, const char *key,
		   enum st_kv_kind kind, const struct st_kv **out)
{
	*out = st_record_detail(rec, key);
	return *out && (*out)->kind == kind ? 0 : -1;
}

/* A checkpoint record in the system stream: a signed head to check. */
static int checkpoint_record(struct verify *v, const struct st_scan_rec *r,
			     char *err, size_t errlen)
{
	const struct st_kv *cs, *size, *rh, *note;
	uint8_t root[ST_HASH_LEN];
	struct st_ckpt ck;
	char why[256], where[160], src[200];
	int stream, rc;
	uint64_t seq = r->p->hdr.seq;

	snprintf(where, sizeof(where), "system/%s seq %" PRIu64, r->segment, seq);
	if (note_of(&r->p->rec, "checkpoint_stream", ST_KV_STR, &cs) ||
	    note_of(&r->p->rec, "tree_size", ST_KV_UINT, &size) ||
	    note_of(&r->p->rec, "root_hash", ST_KV_STR, &rh) ||
	    note_of(&r->p->rec, "note", ST_KV_STR, &note))
		return set_err(err, errlen, "%s: checkpoint record lacks checkpoint_stream/tree_size/root_hash/note",
			       where);
	stream = st_stream_parse(cs->v.s);
	if (stream < 0)
		return set_err(err, errlen, "%s: checkpoint of unknown stream '%s'",
			       where, cs->v.s);
	if (st_ckpt_parse(note->v.s, strlen(note->v.s), v->pub, &ck, why,
			  sizeof(why)))
		return set_err(err, errlen, "%s: %s", where, why);
	if (st_ckpt_stream(&ck) != stream || ck.size != size->v.u ||
	    st_unhex(rh->v.s, strlen(rh->v.s), root, ST_HASH_LEN) ||
	    memcmp(root, ck.root, ST_HASH_LEN))
		return set_err(err, errlen, "%s: checkpoint record's fields differ from its signed note",
			       where);
	snprintf(src, sizeof(src), "the checkpoint record at system seq %" PRIu64, seq);
	if (stream == ST_STREAM_DECISION || ck.size > seq)
		return add_claim(&v->c[stream], ck.size, ck.root, src) ?
			rt_err(err, errlen, "out of memory") : 0;
	/* about the system stream itself: the head just before this record
	 * (the decision checkpoint record sits between) or this position */
	{
		struct claim cl = { .size = ck.size };
		const struct st_merkle *t = ck.size == seq ? r->tree :
					    ck.size + 1 == seq ? &v->prev : NULL;

		memcpy(cl.root, ck.root, ST_HASH_LEN);
		snprintf(cl.src, sizeof(cl.src), "%s", src);
		if (!t)
			return set_err(err, errlen, "%s: checkpoint record signs system size %" PRIu64
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
	if (r->stream == ST_STREAM_SYSTEM)
		v->prev = *r->tree;
	return 0;
}

static int read_note(const char *path, EVP_PKEY *pub, struct st_ckpt *ck,
		     char *err, size_t errlen)
{
	char note[ST_NOTE_MAX], why[256];
	size_t len;

	if (st_ckpt_read_file(path, note, sizeof(note), &len, err, errlen))
		return -1;
	if (st_ckpt_parse(note, len, pub, ck, why, sizeof(why)))
		return set_err(err, errlen, "%s: %s", path, why);
	return 0;
}

static int load_file_claims(struct verify *v, char *const *ext, int next,
			    char *err, size_t errlen)
{
	char path[4200], src[300];
	struct st_ckpt ck;
	int i, s;

	for (i = 0; i < ST_STREAM__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s/checkpoint", v->state_dir,
			 st_stream_name((enum st_stream)i));
		if (access(path, F_OK))
			continue;
		if (read_note(path, v->pub, &ck, err, errlen))
			return 1;
		if (st_ckpt_stream(&ck) != i)
			return set_err(err, errlen, "%s: origin '%s' names another stream",
				       path, ck.origin);
		snprintf(src, sizeof(src), "%s/checkpoint", st_stream_name((enum st_stream)i));
		if (add_claim(&v->c[i], ck.size, ck.root, src))
			return rt_err(err, errlen, "out of memory");
		v->c[i].have_file = true;
	}
	for (i = 0; i < next; i++) {
		if (read_note(ext[i], v->pub, &ck, err, errlen))
			return 1;
		s = st_ckpt_stream(&ck);
		if (s < 0)
			return set_err(err, errlen, "%s: origin '%s' names no stream",
				       ext[i], ck.origin);
		snprintf(src, sizeof(src), "%s (--checkpoint)", ext[i]);
		if (add_claim(&v->c[s], ck.size, ck.root, src))
			return rt_err(err, errlen, "out of memory");
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
		return rt_err(err, errlen, "OpenSSL SHA-256 unavailable");
	snprintf(where, sizeof(where), "%s/%s (end, %" PRIu64 " records)",
		 st_stream_name(s), res->segments ? res->last_segment : "-",
		 res->records);
	for (; c->next < c->n && !rc; c->next++) {
		const struct claim *cl = &c->v[c->next];

		if (cl->size == res->records)
			rc = check_claim(c, cl, &res->tree, h, where, err, errlen);
		else if (cl->size > res->records)
			rc = set_err(err, errlen, "%s: %s signs %" PRIu64 " records: seq %"
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

	if (res->records) {
		st_time_format(res->first_ts, t0);
		st_time_format(res->last_ts, t1);
	}
	printf("  %-8s %" PRIu64 " records in %" PRIu64 " segments, %s .. %s; "
	       "%zu tree heads match, the latest covers %" PRIu64 " records (%" PRIu64
	       " after it not yet signed)\n",
	       st_stream_name(s), res->records, res->segments, t0, t1,
	       c->verified, c->verified_size, res->records - c->verified_size);
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
		qsort(v->c[i].v, v->c[i].n, sizeof(struct claim), claim_cmp);
	/* system first: its checkpoint records are heads of both streams */
	for (i = 0; i < ST_STREAM__COUNT && !rc; i++) {
		enum st_stream s = order[i];

		v->stream_name = st_stream_name(s);
		if (s == ST_STREAM_DECISION)
			qsort(v->c[s].v + v->c[s].next, v->c[s].n - v->c[s].next,
			      sizeof(struct claim), claim_cmp);
		rc = st_scan_stream(v->state_dir, s, verify_cb, v, &res[s], err,
				    sizeof(err));
		if (!rc)
			rc = finish_claims(v, s, &res[s], err, sizeof(err));
		if (!rc && res[s].records && !v->c[s].have_file && v->pub)
			rc = set_err(err, sizeof(err), "%s/%s/checkpoint: missing: no signed head for %"
				     PRIu64 " records", v->state_dir,
				     st_stream_name(s), res[s].records);
	}
	if (rc < 0) {
		fprintf(stderr, "sealtrace verify: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	if (rc) {
		printf("verify: FAIL: %s\n", err);
		return ST_EXIT_FAIL;
	}
	printf("verify: %s\n", v->state_dir);
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		print_stream((enum st_stream)i, &res[i], &v->c[i]);
		records += res[i].records;
		segments += res[i].segments;
		heads += v->c[i].verified;
	}
	printf("verify: OK: 2 streams, %" PRIu64 " records, %" PRIu64
	       " segments; framing, canonical form, hash chains and %zu Merkle roots check out; %s\n",
	       records, segments, heads,
	       v->pub ? "every checkpoint signature verifies with the given key" :
	       "signatures NOT checked (no --pubkey)");
	return ST_EXIT_OK;
}

static int verify_export_file(const char *path, EVP_PKEY *pub)
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
	rc = st_bundle_verify(f, path, pub, &rep, err, sizeof(err));
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		fprintf(stderr, "sealtrace verify: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	if (rc) {
		printf("verify: FAIL: %s\n", err);
		return ST_EXIT_FAIL;
	}
	printf("verify: export %s\n", path);
	for (i = 0; i < ST_STREAM__COUNT; i++) {
		if (!rep.s[i].present)
			continue;
		printf("  %-8s %" PRIu64 " records", st_stream_name((enum st_stream)i),
		       rep.s[i].records);
		if (rep.s[i].records)
			printf(" (seq %" PRIu64 "..%" PRIu64 ", %" PRIu64 " links checked)",
			       rep.s[i].first_seq, rep.s[i].last_seq, rep.s[i].links);
		printf(", each proved at its seq in the signed tree of %" PRIu64 " records\n",
		       rep.s[i].tree_size);
	}
	printf("verify: OK: signatures, canonical form, chain links and Merkle proofs check out\n");
	return ST_EXIT_OK;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace verify --state-dir DIR [--pubkey FILE] [--checkpoint FILE]... [--quiet]\n"
		"       sealtrace verify --export FILE --pubkey FILE\n\n"
		"Check a log: gzip framing of every segment, canonical form of every\n"
		"record, the hash chain of each stream, the Merkle root at every signed\n"
		"tree head (checkpoint records, <stream>/checkpoint, --checkpoint copies)\n"
		"and, with --pubkey, every Ed25519 signature.\n\n"
		"  --state-dir DIR    the agent's state directory\n"
		"  --pubkey FILE      signing.pub from `sealtrace keygen` (from a trusted copy)\n"
		"  --checkpoint FILE  a checkpoint copied away earlier: finds a truncated\n"
		"                     or rolled-back tail (repeatable)\n"
		"  --export FILE      verify an export from `sealtrace export` instead\n"
		"  --quiet            no progress lines on stderr\n"
		"  -h, --help         this text\n\n"
		"Exit status: 0 intact, 1 not intact (the first bad stream/segment/seq\n"
		"is named), 2 usage, 3 I/O error.\n");
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "export", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct verify v = { 0 };
	char *ext[MAX_EXTERNAL], err[512];
	const char *pubkey = NULL, *export = NULL;
	int next = 0, c, rc, i;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': v.state_dir = optarg; break;
		case 'p': pubkey = optarg; break;
		case 'e': export = optarg; break;
		case 'q': v.quiet = true; break;
		case 'c':
			if (next == MAX_EXTERNAL) {
				fprintf(stderr, "sealtrace verify: at most %d --checkpoint\n",
					MAX_EXTERNAL);
				return ST_EXIT_USAGE;
			}
			ext[next++] = optarg;
			break;
		case 'h': usage(stdout); return ST_EXIT_OK;
		default: usage(stderr); return ST_EXIT_USAGE;
		}
	}
	if (optind != argc || !!v.state_dir == !!export ||
	    (export && (!pubkey || next))) {
		fprintf(stderr, "sealtrace verify: give --state-dir DIR, or --export FILE with --pubkey FILE\n");
		usage(stderr);
		return ST_EXIT_USAGE;
	}
	if (pubkey && st_pubkey_load(pubkey, &v.pub, err, sizeof(err))) {
		fprintf(stderr, "sealtrace verify: %s\n", err);
		return ST_EXIT_USAGE;
	}
	if (export)
		rc = verify_export_file(export, v.pub);
	else
		rc = verify_state(&v, ext, next);
	for (i = 0; i < ST_STREAM__COUNT; i++)
		free(v.c[i].v);
	EVP_PKEY_free(v.pub);
	return rc;
}
