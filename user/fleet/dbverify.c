// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace verify --db DSN: what the database holds, checked on its own,
 * log by log ((origin, stream) in record_keys):
 *   - every seq from 0 on has a key; every key a row, unless the month it
 *     falls in was purged (an audit row in sealtrace.purges says so);
 *   - each row's line hashes to its key, is canonical, has its seq and
 *     links to the hash of the seq before (record_keys keeps the hashes of
 *     purged rows, so the chain is checked across a purge too);
 *   - the Merkle root at every stored checkpoint (up to the first purged
 *     row: their leaves are gone), and each checkpoint's signature under
 *     --pubkey, or else the node keys registered with the witness;
 *   - with --witness-key, every cosignature of that witness.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/clock.h"
#include "sealtrace/base/digest.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/db.h"
#include "sealtrace/fleet/dbverify.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/keys/vkey.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/record.h"

struct range { double from, to; };	/* epoch seconds, [from, to) */

struct head {
	uint64_t size;
	uint8_t root[ST_HASH_LEN];
};

struct dbv {
	PGconn *c;
	struct st_keyset given;		/* --pubkey */
	const char *witness_key;
	struct range *purged;
	size_t npurged;
	bool quiet;
	uint64_t progress_ns;
	/* totals */
	uint64_t logs, rows, purged_rows, heads, cosigs;
	uint64_t unkeyed;		/* logs whose heads no key checked */
};

struct logv {
	const char *origin, *stream;
	struct head *heads;
	size_t nheads, next_head;
	struct st_merkle tree;
	bool tree_ok;			/* no purged row so far */
	uint64_t rows, purged, verified_size, heads_ok, pending;
	uint8_t prev[ST_HASH_LEN];
};

static PGresult *q(PGconn *c, const char *sql, int n, const char *const *v)
{
	return PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
}

static int dberr(PGconn *c, PGresult *r, const char *what, char *err,
		 size_t errlen)
{
	st_errf(err, errlen, "database: %s: %s", what, PQerrorMessage(c));
	PQclear(r);
	return -1;
}

static int load_purges(struct dbv *d, char *err, size_t errlen)
{
	PGresult *r = PQexec(d->c, "SELECT extract(epoch FROM range_from), extract(epoch FROM range_to)"
				   " FROM sealtrace.purges");
	int i;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return dberr(d->c, r, "purges", err, errlen);
	d->npurged = (size_t)PQntuples(r);
	d->purged = calloc(d->npurged ? d->npurged : 1, sizeof(*d->purged));
	if (!d->purged) {
		PQclear(r);
		return st_errf(err, errlen, "out of memory");
	}
	for (i = 0; i < PQntuples(r); i++) {
		d->purged[i].from = strtod(PQgetvalue(r, i, 0), NULL);
		d->purged[i].to = strtod(PQgetvalue(r, i, 1), NULL);
	}
	PQclear(r);
	return 0;
}

static bool is_purged(const struct dbv *d, double ts)
{
	size_t i;

	for (i = 0; i < d->npurged; i++)
		if (ts >= d->purged[i].from && ts < d->purged[i].to)
			return true;
	return false;
}

/* The keys a log's heads must be signed by: --pubkey, else registered. */
static int log_keys(struct dbv *d, const char *origin, struct st_keyset *ks,
		    char *err, size_t errlen)
{
	const char *v[1] = { origin };
	PGresult *r;
	int i;

	if (d->given.n)
		return 0;
	r = q(d->c, "SELECT vkey FROM sealtrace.witness_logs WHERE origin = $1", 1, v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return dberr(d->c, r, "witness_logs", err, errlen);
	for (i = 0; i < PQntuples(r); i++)
		if (st_keyset_add_file(ks, PQgetvalue(r, i, 0), err, errlen) < 0) {
			PQclear(r);
			return -1;
		}
	PQclear(r);
	return 0;
}

static int load_heads(struct dbv *d, struct logv *l, const struct st_keyset *ks,
		      char *err, size_t errlen)
{
	const char *v[2] = { l->origin, l->stream };
	char why[512];
	struct st_ckpt ck;
	PGresult *r;
	size_t n;
	int i;

	r = q(d->c, "SELECT size, note FROM sealtrace.checkpoints WHERE origin = $1 AND stream = $2"
		    " ORDER BY size", 2, v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return dberr(d->c, r, "checkpoints", err, errlen);
	n = (size_t)PQntuples(r);
	l->heads = calloc(n ? n : 1, sizeof(*l->heads));
	if (!l->heads) {
		PQclear(r);
		return st_errf(err, errlen, "out of memory");
	}
	for (i = 0; i < (int)n; i++) {
		const char *note = PQgetvalue(r, i, 1);

		if (st_ckpt_parse_named(note, strlen(note), ks->key,
					(const char *const *)ks->note_name, ks->n, &ck, NULL,
					why, sizeof(why))) {
			PQclear(r);
			return st_failf(err, errlen, "%s %s: checkpoint of size %s: %s", l->origin,
					l->stream, PQgetvalue(r, i, 0), why);
		}
		l->heads[i].size = ck.size;
		memcpy(l->heads[i].root, ck.root, ST_HASH_LEN);
	}
	l->nheads = n;
	PQclear(r);
	return 0;
}

static int check_cosigs(struct dbv *d, struct logv *l, char *err,
			size_t errlen)
{
	char text[ST_VKEY_MAX + 2], name[ST_VKEY_NAME_MAX], why[512];
	const char *v[3];
	struct st_buf note = { 0 };
	EVP_PKEY *k = NULL;
	uint8_t type;
	PGresult *r;
	FILE *f;
	size_t n;
	int i, rc = 0;

	if (!d->witness_key)
		return 0;
	f = fopen(d->witness_key, "re");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
	} else {
		snprintf(text, sizeof(text), "%s", d->witness_key);
	}
	if (st_vkey_parse(text, name, sizeof(name), &type, &k, why, sizeof(why)) ||
	    type != ST_VKEY_COSIG_V1) {
		EVP_PKEY_free(k);
		return st_errf(err, errlen, "--witness-key: not a witness verifier key");
	}
	v[0] = l->origin;
	v[1] = l->stream;
	v[2] = name;
	r = q(d->c, "SELECT c.size, k.note, c.line FROM sealtrace.cosignatures c JOIN"
		    " sealtrace.checkpoints k USING (origin, stream, size)"
		    " WHERE c.origin = $1 AND c.stream = $2 AND c.witness = $3", 3, v);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		EVP_PKEY_free(k);
		return dberr(d->c, r, "cosignatures", err, errlen);
	}
	for (i = 0; i < PQntuples(r) && !rc; i++) {
		note.len = 0;
		st_buf_puts(&note, PQgetvalue(r, i, 1));
		st_buf_puts(&note, PQgetvalue(r, i, 2));
		if (note.oom)
			rc = st_errf(err, errlen, "out of memory");
		else if (st_cosig_find(note.p, note.len, name, k, NULL, why, sizeof(why)))
			rc = st_failf(err, errlen, "%s %s: cosignature of size %s: %s", l->origin,
				      l->stream, PQgetvalue(r, i, 0), why);
		else
			d->cosigs++;
	}
	PQclear(r);
	st_buf_free(&note);
	EVP_PKEY_free(k);
	return rc;
}

/* Heads whose size the tree has reached (before the leaf of seq). */
static int check_heads(struct logv *l, struct st_hasher *h, uint64_t upto,
		       char *err, size_t errlen)
{
	uint8_t root[ST_HASH_LEN];

	while (l->next_head < l->nheads && l->heads[l->next_head].size <= upto) {
		const struct head *hd = &l->heads[l->next_head++];

		if (hd->size != upto || !l->tree_ok)
			continue;	/* before a purge: leaves gone */
		if (st_merkle_root(&l->tree, h, root))
			return st_errf(err, errlen, "SHA-256 failed");
		if (memcmp(root, hd->root, ST_HASH_LEN))
			return st_failf(err, errlen, "%s %s: the rows 0..%" PRIu64
					" do not give the root the checkpoint of size %" PRIu64 " signs",
					l->origin, l->stream, upto - 1, hd->size);
		l->heads_ok++;
		l->verified_size = hd->size;
	}
	return 0;
}

static int check_row(struct dbv *d, struct logv *l, struct st_hasher *h,
		     PGresult *r, uint64_t expect, struct st_buf *scratch,
		     char *err, size_t errlen)
{
	uint64_t seq = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	uint8_t key[ST_HASH_LEN], got[ST_HASH_LEN], leaf[ST_HASH_LEN];
	struct st_record_parsed p;
	char why[512], hex[ST_HASH_HEX + 1];
	const char *line;
	size_t len;
	int rc = 0;

	if (seq != expect)
		return st_failf(err, errlen, "%s %s: seq %" PRIu64 " follows %" PRIu64
				": seqs missing from record_keys", l->origin, l->stream, seq, expect);
	st_unhex(PQgetvalue(r, 0, 1), ST_HASH_HEX, key, ST_HASH_LEN);
	if (check_heads(l, h, seq, err, errlen))
		return 1;
	if (PQgetisnull(r, 0, 2)) {
		if (!is_purged(d, strtod(PQgetvalue(r, 0, 3), NULL)))
			return st_failf(err, errlen, "%s %s seq %" PRIu64
					": row missing, and no purge covers its month (deleted behind the triggers?)",
					l->origin, l->stream, seq);
		l->purged++;
		l->tree_ok = false;
		memcpy(l->prev, key, ST_HASH_LEN);
		return 0;
	}
	line = PQgetvalue(r, 0, 2);
	len = (size_t)PQgetlength(r, 0, 2);
	if (st_sha256(h, line, len, NULL, 0, got) || st_merkle_leaf(h, line, len, leaf))
		return st_errf(err, errlen, "SHA-256 failed");
	if (memcmp(got, key, ST_HASH_LEN))
		return st_failf(err, errlen, "%s %s seq %" PRIu64 ": the row's line does not hash to its key",
				l->origin, l->stream, seq);
	if (st_record_parse(line, len, &p, scratch, why, sizeof(why)))
		rc = st_failf(err, errlen, "%s %s seq %" PRIu64 ": %s", l->origin, l->stream, seq, why);
	else if (p.hdr.seq != seq || strcmp(st_stream_name(p.hdr.stream), l->stream))
		rc = st_failf(err, errlen, "%s %s seq %" PRIu64 ": the line says %s seq %" PRIu64,
			      l->origin, l->stream, seq, st_stream_name(p.hdr.stream), p.hdr.seq);
	else if (seq) {
		st_hex(l->prev, ST_HASH_LEN, hex);
		if (strcmp(hex, p.hdr.prev_hex))
			rc = st_failf(err, errlen, "%s %s seq %" PRIu64
				      ": preceding_event_hash does not match seq %" PRIu64,
				      l->origin, l->stream, seq, seq - 1);
	}
	st_record_parsed_free(&p);
	if (rc)
		return rc;
	if (l->tree_ok && st_merkle_append(&l->tree, h, leaf))
		return st_errf(err, errlen, "SHA-256 failed");
	memcpy(l->prev, key, ST_HASH_LEN);
	l->rows++;
	return 0;
}

static void progress(struct dbv *d, const struct logv *l, uint64_t seq)
{
	uint64_t now;

	if (d->quiet || (seq & 8191))
		return;
	now = st_monotonic_ns();
	if (now - d->progress_ns < 1000000000ULL)
		return;
	d->progress_ns = now;
	fprintf(stderr, "verify: %s %s: %" PRIu64 " rows checked...\n", l->origin, l->stream, seq);
}

static int verify_log(struct dbv *d, struct logv *l, char *err, size_t errlen)
{
	const char *v[2] = { l->origin, l->stream };
	struct st_keyset ks = { 0 };
	struct st_buf scratch = { 0 };
	struct st_hasher *h = st_hasher_new();
	uint64_t expect = 0;
	PGresult *r;
	int rc;

	st_merkle_init(&l->tree);
	l->tree_ok = true;
	rc = h ? log_keys(d, l->origin, &ks, err, errlen) : st_errf(err, errlen, "no SHA-256");
	if (!rc && !d->given.n && !ks.n)
		d->unkeyed++;
	if (!rc)
		rc = load_heads(d, l, d->given.n ? &d->given : &ks, err, errlen);
	if (!rc)
		rc = check_cosigs(d, l, err, errlen);
	if (!rc && !PQsendQueryParams(d->c,
			"SELECT k.seq, encode(k.line_hash, 'hex'), r.line, extract(epoch FROM k.ts)"
			" FROM sealtrace.record_keys k LEFT JOIN sealtrace.records r"
			"  ON r.origin = k.origin AND r.stream = k.stream AND r.seq = k.seq AND r.ts = k.ts"
			" WHERE k.origin = $1 AND k.stream = $2 ORDER BY k.seq", 2, NULL, v, NULL, NULL, 0))
		rc = dberr(d->c, NULL, "rows", err, errlen);
	if (!rc)
		PQsetSingleRowMode(d->c);
	while (!rc && (r = PQgetResult(d->c))) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
			progress(d, l, expect);
			rc = check_row(d, l, h, r, expect, &scratch, err, errlen);
			expect++;
		} else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			rc = dberr(d->c, NULL, "rows", err, errlen);
		}
		PQclear(r);
	}
	/* drain what a failure left unread */
	while ((r = PQgetResult(d->c)))
		PQclear(r);
	if (!rc)
		rc = check_heads(l, h, expect, err, errlen);
	for (; l->next_head < l->nheads; l->next_head++)
		l->pending++;	/* heads over rows not shipped yet */
	if (!rc && !d->quiet)
		printf("  %s %-8s %" PRIu64 " rows (seq 0..%" PRIu64 ")%s%" PRIu64
		       " purged; %" PRIu64 " of %zu heads match, the latest covers %" PRIu64
		       " records%s\n", l->origin, l->stream, l->rows, expect ? expect - 1 : 0,
		       expect ? "" : " none, ", l->purged, l->heads_ok, l->nheads, l->verified_size,
		       l->pending ? " (heads beyond the rows shipped so far are not checked yet)" : "");
	d->rows += l->rows;
	d->purged_rows += l->purged;
	d->heads += l->heads_ok;
	free(l->heads);
	st_buf_free(&scratch);
	st_keyset_free(&ks);
	st_hasher_free(h);
	return rc;
}

static int verify_db(struct dbv *d, char *err, size_t errlen)
{
	struct logv l;
	PGresult *logs, *r;
	int i, rc;

	if (load_purges(d, err, errlen))
		return -1;
	logs = PQexec(d->c, "SELECT DISTINCT origin, stream FROM sealtrace.record_keys ORDER BY 1, 2");
	if (PQresultStatus(logs) != PGRES_TUPLES_OK)
		return dberr(d->c, logs, "logs", err, errlen);
	printf("verify: database, %d logs\n", PQntuples(logs));
	for (i = 0, rc = 0; i < PQntuples(logs) && !rc; i++) {
		memset(&l, 0, sizeof(l));
		l.origin = PQgetvalue(logs, i, 0);
		l.stream = PQgetvalue(logs, i, 1);
		rc = verify_log(d, &l, err, errlen);
		d->logs++;
	}
	PQclear(logs);
	if (rc)
		return rc;
	r = PQexec(d->c, "SELECT count(*) FROM sealtrace.forks");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "0"))
		printf("  forks refused by shippers: %s (sealtrace.forks; not in the records)\n",
		       PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace verify --db DSN [--pubkey K]... [--witness-key K] [--quiet]\n\n"
		"Check what the PostgreSQL database holds, on its own: per log (origin,\n"
		"stream) every seq from 0, each row's hash, canonical form and link to\n"
		"the seq before (also across purged months, from record_keys), no row\n"
		"missing unless an audited purge covers it, the Merkle root at every\n"
		"stored checkpoint (up to the first purged row), every checkpoint's\n"
		"signature under --pubkey (PEM or verifier key; default: the node keys\n"
		"registered with the witness) and, with --witness-key, every cosignature\n"
		"of that witness. Progress on stderr.\n\n"
		"Exit status: 0 intact, 1 not (the first bad log and seq are named),\n"
		"2 usage, 3 database error.\n");
}

int st_verify_db_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		ST_OPT_PUBKEY,
		{ "witness-key", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "verify", .opts = opts, .usage = usage };
	struct dbv d = { 0 };
	const char *dsn = NULL;
	char err[2048];
	int c, rc = ST_EXIT_USAGE;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': dsn = optarg; break;
		case 'p':
			if (st_keyset_add_file(&d.given, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "sealtrace verify: %s\n", err);
				goto out;
			}
			break;
		case 'w': d.witness_key = optarg; break;
		case 'q': d.quiet = true; break;
		case ST_CLI_STOP: rc = cli.status; goto out;
		}
	}
	if (!dsn) {
		rc = st_cli_usage_error(&cli, "--db DSN is required");
		goto out;
	}
	d.c = st_db_connect(dsn, err, sizeof(err));
	if (!d.c) {
		fprintf(stderr, "sealtrace verify: %s\n", err);
		rc = ST_EXIT_RUNTIME;
		goto out;
	}
	rc = verify_db(&d, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "sealtrace verify: %s\n", err);
		rc = ST_EXIT_RUNTIME;
	} else if (rc) {
		printf("verify: FAIL: %s\n", err);
		rc = ST_EXIT_FAIL;
	} else {
		printf("verify: OK: %" PRIu64 " logs, %" PRIu64 " rows (%" PRIu64
		       " purged by audited purges), chains, hashes and %" PRIu64
		       " Merkle roots check out; %s%s\n", d.logs, d.rows, d.purged_rows, d.heads,
		       d.given.n ? "signatures verify with the given keys" :
		       d.unkeyed ? "signatures NOT checked for logs without a registered key (give --pubkey)" :
		       "signatures verify with the node keys registered with the witness",
		       d.witness_key ? "; every cosignature of the witness verifies" : "");
		if (d.unkeyed && !d.given.n)
			printf("verify: %" PRIu64 " of %" PRIu64 " logs have no registered key: their heads' signatures were not checked\n",
			       d.unkeyed, d.logs);
		if (d.witness_key)
			printf("verify: %" PRIu64 " cosignatures checked\n", d.cosigs);
	}
out:
	PQfinish(d.c);
	free(d.purged);
	st_keyset_free(&d.given);
	return rc;
}
