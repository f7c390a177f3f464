// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace export --db DSN: the records a filter selects in the
 * database, as the same verifiable bundle as the local export (bundle.h):
 * per log (origin), each stream's latest stored checkpoint, the selected
 * lines byte for byte, and the Merkle multiproof built from every row up
 * to the checkpoint's size. One bundle per origin: to stdout when the
 * filter selects one origin, else one file per origin in --out-dir.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/digest.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/db.h"
#include "sealtrace/fleet/dbverify.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/record.h"
#include "sealtrace/proof/bundle.h"

#define MAXP 16

struct filter {
	const char *v[MAXP];
	int n;
	struct st_buf where;
	const char *from, *to, *types, *stream;
};

struct nodes {
	struct st_mproof_node *v;
	size_t n, cap;
};

static int collect(void *ctx, const struct st_mproof_node *nd)
{
	struct nodes *ns = ctx;
	struct st_mproof_node *g;

	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? 2 * ns->cap : 64;
		g = realloc(ns->v, ns->cap * sizeof(*g));
		if (!g)
			return -1;
		ns->v = g;
	}
	ns->v[ns->n++] = *nd;
	return 0;
}

static int add(struct filter *f, const char *sql, const char *value)
{
	char num[16];

	if (f->n == MAXP)
		return -1;
	f->v[f->n++] = value;
	snprintf(num, sizeof(num), "$%d", f->n);
	st_buf_puts(&f->where, " AND ");
	/* sql has one "?" for the parameter */
	for (; *sql; sql++) {
		if (*sql == '?')
			st_buf_puts(&f->where, num);
		else
			st_buf_putc(&f->where, *sql);
	}
	return f->where.oom ? -1 : 0;
}

/* seqs of one (origin, stream) the filter selects, sorted */
struct sel {
	uint64_t *seq;
	size_t n, cap;
};

static int sel_add(struct sel *s, uint64_t seq)
{
	uint64_t *g;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		g = realloc(s->seq, s->cap * sizeof(*g));
		if (!g)
			return -1;
		s->seq = g;
	}
	s->seq[s->n++] = seq;
	return 0;
}

/* One stream of one origin into out. 0, 1 (err), -1. */
static int export_stream(PGconn *c, const char *origin, const char *stream,
			 const struct sel *s, struct st_buf *out,
			 uint64_t *exported, uint64_t *newer, char *err,
			 size_t errlen)
{
	const char *v[3] = { origin, stream, NULL };
	struct st_mproof_builder b;
	struct nodes ns = { 0 };
	struct st_hasher *h = NULL;
	struct st_buf lines = { 0 };
	uint8_t leaf[ST_HASH_LEN], root[ST_HASH_LEN];
	struct st_ckpt ck;
	char why[512], size[24];
	PGresult *r;
	uint64_t expect = 0;
	size_t k = 0;
	int rc = 0, st;

	r = PQexecParams(c, "SELECT note FROM sealtrace.checkpoints WHERE origin = $1 AND stream = $2"
			    " ORDER BY size DESC LIMIT 1", 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || !PQntuples(r)) {
		PQclear(r);
		return st_failf(err, errlen, "%s %s: no stored checkpoint: nothing to prove against",
				origin, stream);
	}
	if (st_ckpt_parse_any(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), NULL, 0, &ck,
			      NULL, why, sizeof(why))) {
		PQclear(r);
		return st_failf(err, errlen, "%s %s: %s", origin, stream, why);
	}
	st = st_stream_parse(stream);
	st_bundle_checkpoint(out, (enum st_stream)st, PQgetvalue(r, 0, 0));
	PQclear(r);
	snprintf(size, sizeof(size), "%" PRIu64, ck.size);
	v[2] = size;
	h = st_hasher_new();
	st_mproof_init(&b, collect, &ns);
	if (!h || !PQsendQueryParams(c, "SELECT seq, line FROM sealtrace.records WHERE origin = $1"
				     " AND stream = $2 AND seq < $3 ORDER BY seq", 3, NULL, v,
				     NULL, NULL, 0)) {
		st_hasher_free(h);
		return st_errf(err, errlen, "database: %s", PQerrorMessage(c));
	}
	PQsetSingleRowMode(c);
	while ((r = PQgetResult(c))) {
		if (!rc && PQresultStatus(r) == PGRES_SINGLE_TUPLE) {
			uint64_t seq = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
			const char *line = PQgetvalue(r, 0, 1);
			size_t len = (size_t)PQgetlength(r, 0, 1);
			bool picked = k < s->n && s->seq[k] == seq;

			if (seq != expect)
				rc = st_failf(err, errlen, "%s %s: seq %" PRIu64 " is not in the database (purged): "
					      "no proof can be built here; export from the node", origin,
					      stream, expect);
			else if (st_merkle_leaf(h, line, len, leaf) ||
				 st_mproof_append(&b, h, leaf, picked))
				rc = st_errf(err, errlen, "SHA-256 or memory");
			if (!rc && picked) {
				st_buf_put(&lines, line, len);
				st_buf_putc(&lines, '\n');
				k++;
			}
			expect++;
		} else if (!rc && PQresultStatus(r) != PGRES_TUPLES_OK) {
			rc = st_errf(err, errlen, "database: %s", PQerrorMessage(c));
		}
		PQclear(r);
	}
	if (!rc && expect != ck.size)
		rc = st_failf(err, errlen, "%s %s: the checkpoint signs %" PRIu64 " records, the database has %" PRIu64,
			      origin, stream, ck.size, expect);
	if (!rc && st_mproof_finish(&b, h, root))
		rc = st_errf(err, errlen, "SHA-256 or memory");
	if (!rc && memcmp(root, ck.root, ST_HASH_LEN))
		rc = st_failf(err, errlen, "%s %s: the rows do not give the root the checkpoint signs (run verify --db)",
			      origin, stream);
	if (!rc) {
		st_buf_put(out, lines.p, lines.len);
		st_bundle_proof(out, (enum st_stream)st, ck.size, ns.v, ns.n);
		*exported += k;
		*newer += s->n - k;
	}
	free(ns.v);
	st_buf_free(&lines);
	st_hasher_free(h);
	return rc;
}

static int write_bundle(const char *out_dir, const char *origin,
			const struct st_buf *b, bool to_stdout, char *err,
			size_t errlen)
{
	char path[4200], name[300];
	size_t i;
	FILE *f;
	bool bad;

	if (to_stdout)
		return fwrite(b->p, 1, b->len, stdout) == b->len && !fflush(stdout) ? 0 :
		       st_errf(err, errlen, "writing stdout failed");
	snprintf(name, sizeof(name), "%s", origin);
	for (i = 0; name[i]; i++)
		if (name[i] == '/')
			name[i] = '_';
	snprintf(path, sizeof(path), "%s/%s.jsonl", out_dir, name);
	f = fopen(path, "wex");
	if (!f)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	bad = fwrite(b->p, 1, b->len, f) != b->len;
	if (fclose(f) || bad)
		return st_errf(err, errlen, "%s: write failed", path);
	fprintf(stderr, "export: %s\n", path);
	return 0;
}

/* Every (origin, stream) the filter selects, one bundle per origin. */
static int run_export(PGconn *c, struct filter *f, const char *out_dir,
		      char *err, size_t errlen)
{
	struct st_buf sql = { 0 }, bundle = { 0 };
	struct sel sel[ST_STREAM__COUNT];
	char origin[ST_ORIGIN_MAX] = "";
	uint64_t exported = 0, newer = 0;
	PGresult *r;
	int i, s, rc = 0, origins = 0;

	st_buf_puts(&sql, "SELECT origin, stream, seq FROM sealtrace.records WHERE true");
	st_buf_put(&sql, f->where.p ? f->where.p : "", f->where.len);
	st_buf_puts(&sql, " ORDER BY origin, stream, seq");
	if (sql.oom)
		return st_errf(err, errlen, "out of memory");
	r = PQexecParams(c, sql.p, f->n, NULL, f->v, NULL, NULL, 0);
	st_buf_free(&sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		st_errf(err, errlen, "database: %s", PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	for (i = 0; i < PQntuples(r); i++)
		if (!i || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)))
			origins++;
	if (origins > 1 && !out_dir) {
		PQclear(r);
		return st_errf(err, errlen, "the filter selects records of %d logs: give --out-dir DIR (one bundle each) or narrow it (--node)",
			       origins);
	}
	memset(sel, 0, sizeof(sel));
	for (i = 0; i <= PQntuples(r) && !rc; i++) {
		bool last = i == PQntuples(r);

		if (*origin && (last || strcmp(PQgetvalue(r, i, 0), origin))) {
			st_bundle_header(&bundle, f->stream, f->from, f->to, f->types, NULL);
			for (s = 0; s < ST_STREAM__COUNT && !rc; s++)
				if (sel[s].n)
					rc = export_stream(c, origin, st_stream_name((enum st_stream)s),
							   &sel[s], &bundle, &exported, &newer, err, errlen);
			if (!rc)
				rc = write_bundle(out_dir, origin, &bundle, !out_dir, err, errlen);
			for (s = 0; s < ST_STREAM__COUNT; s++)
				sel[s].n = 0;
			bundle.len = 0;
		}
		if (last || rc)
			break;
		snprintf(origin, sizeof(origin), "%s", PQgetvalue(r, i, 0));
		s = st_stream_parse(PQgetvalue(r, i, 1));
		if (s < 0 || sel_add(&sel[s], strtoull(PQgetvalue(r, i, 2), NULL, 10)))
			rc = st_errf(err, errlen, "out of memory");
	}
	PQclear(r);
	/* a bundle always holds the header, even with nothing selected */
	if (!rc && !origins && !out_dir) {
		st_bundle_header(&bundle, f->stream, f->from, f->to, f->types, NULL);
		rc = write_bundle(NULL, "", &bundle, true, err, errlen);
	}
	for (s = 0; s < ST_STREAM__COUNT; s++)
		free(sel[s].seq);
	st_buf_free(&bundle);
	if (!rc)
		fprintf(stderr, "export: %" PRIu64 " records from %d log(s)%s; %" PRIu64
			" selected records newer than the latest stored checkpoint left out\n",
			exported, origins, out_dir ? "" : " to stdout", newer);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace export --db DSN [--out-dir DIR] [--node N] [--system-id S]\n"
		"                        [--origin O] [--stream S] [--from TIME] [--to TIME]\n"
		"                        [--event-type T] [--model-version V]\n"
		"                        [--decision FIELD=VALUE] [--pseudonym REF]\n\n"
		"The records the filters select (all of them together) from the database,\n"
		"as the bundle `sealtrace export` writes: per log its latest stored\n"
		"checkpoint, the records byte for byte, the Merkle proof; checked by\n"
		"`sealtrace verify --export` and tools/verify_export.py like a local one.\n"
		"One bundle per log (origin): to stdout when the filters select one log,\n"
		"else DIR/<origin>.jsonl each.\n\n"
		"  --node N             node_id            --system-id S   system_id\n"
		"  --origin O           sealtrace/<system>/<node>\n"
		"  --stream S           decision or system\n"
		"  --from/--to TIME     timestamp_utc window (RFC 3339)\n"
		"  --event-type T       e.g. inference\n"
		"  --model-version V    model_version\n"
		"  --decision F=V       a decision field (decision.F detail) equal to V\n"
		"  --pseudonym REF      records carrying this hmac-sha256 reference\n\n"
		"Records newer than the latest stored checkpoint are left out (counted).\n"
		"A log whose rows up to that checkpoint were purged in the database cannot\n"
		"be proved from it: export those from the node.\n\n"
		"Exit status: 0 written, 1 the database cannot prove a selected log,\n"
		"2 usage, 3 database or I/O error.\n");
}

int st_export_db_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "out-dir", required_argument, NULL, 'o' },
		{ "node", required_argument, NULL, 'n' },
		{ "system-id", required_argument, NULL, 'S' },
		{ "origin", required_argument, NULL, 'O' },
		{ "stream", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "event-type", required_argument, NULL, 'e' },
		{ "model-version", required_argument, NULL, 'm' },
		{ "decision", required_argument, NULL, 'D' },
		{ "pseudonym", required_argument, NULL, 'p' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "export", .opts = opts, .usage = usage };
	struct filter f = { 0 };
	const char *dsn = NULL, *out_dir = NULL;
	char err[2048], *dec = NULL, *eq;
	struct st_buf json = { 0 };
	PGconn *c = NULL;
	int ch, rc = 0;

	while (!rc && (ch = st_cli_next(&cli, argc, argv)) != -1) {
		switch (ch) {
		case 'd': dsn = optarg; break;
		case 'o': out_dir = optarg; break;
		case 'n': rc = add(&f, "node_id = ?", optarg); break;
		case 'S': rc = add(&f, "system_id = ?", optarg); break;
		case 'O': rc = add(&f, "origin = ?", optarg); break;
		case 's':
			if (st_stream_parse(optarg) < 0) {
				fprintf(stderr, "sealtrace export: --stream decision|system\n");
				rc = ST_EXIT_USAGE;
				goto out;
			}
			f.stream = optarg;
			rc = add(&f, "stream = ?", optarg);
			break;
		case 'f': f.from = optarg; rc = add(&f, "ts >= ?::timestamptz", optarg); break;
		case 't': f.to = optarg; rc = add(&f, "ts < ?::timestamptz", optarg); break;
		case 'e': f.types = optarg; rc = add(&f, "event_type = ?", optarg); break;
		case 'm': rc = add(&f, "model_version = ?", optarg); break;
		case 'D':
			if (dec) {
				fprintf(stderr, "sealtrace export: one --decision\n");
				rc = ST_EXIT_USAGE;
				goto out;
			}
			dec = optarg;
			eq = strchr(dec, '=');
			if (!eq || eq == dec) {
				fprintf(stderr, "sealtrace export: --decision FIELD=VALUE\n");
				rc = ST_EXIT_USAGE;
				goto out;
			}
			/* {"FIELD": "VALUE"} for the GIN index's @> */
			json.len = 0;
			st_buf_putc(&json, '{');
			st_json_str(&json, dec, (size_t)(eq - dec));
			st_buf_putc(&json, ':');
			st_json_cstr(&json, eq + 1);
			st_buf_putc(&json, '}');
			rc = json.oom ? -1 : add(&f, "decision @> ?::jsonb", json.p);
			break;
		case 'p': rc = add(&f, "pseudonyms @> ARRAY[?]", optarg); break;
		case ST_CLI_STOP: rc = cli.status; goto out;
		}
	}
	if (rc || !dsn) {
		rc = st_cli_usage_error(&cli, "--db DSN is required (and at most %d filters, one --decision)",
					MAXP);
		goto out;
	}
	if (out_dir && mkdir(out_dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "sealtrace export: %s: %s\n", out_dir, strerror(errno));
		rc = ST_EXIT_RUNTIME;
		goto out;
	}
	c = st_db_connect(dsn, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "sealtrace export: %s\n", err);
		rc = ST_EXIT_RUNTIME;
	} else {
		rc = run_export(c, &f, out_dir, err, sizeof(err));
		if (rc)
			fprintf(stderr, "sealtrace export: %s%s\n", rc > 0 ? "FAIL: " : "", err);
		rc = rc < 0 ? ST_EXIT_RUNTIME : rc ? ST_EXIT_FAIL : ST_EXIT_OK;
	}
out:
	PQfinish(c);
	st_buf_free(&json);
	st_buf_free(&f.where);
	return rc;
}
