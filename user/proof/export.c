// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace export: selected records as JSON lines, byte for byte as
 * chained, with what an auditor needs to check them alone (bundle.h):
 * each stream's latest signed checkpoint and a Merkle multiproof from
 * the exported records to its root. Only records the checkpoint covers
 * are exported; newer ones are counted on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/proof/bundle.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/base/cli.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/proof/export.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/merkle.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"
#include "sealtrace/proof/sealed.h"

#define OUT_CHUNK (1u << 20)
#define MAX_PUBKEYS 16

struct export {
	const struct st_export_filter *f;
	struct st_export_stats *st;
	FILE *sink;			/* NULL: keep everything in out */
	struct st_mproof_builder b;
	struct st_mproof_node *nodes;
	size_t nn, ncap;
	struct st_buf *out;
	bool write_failed;
};

static void out_flush(struct export *x, bool force)
{
	struct st_buf *o = x->out;

	if (x->sink && o->len && (force || o->len >= OUT_CHUNK)) {
		if (fwrite(o->p, 1, o->len, x->sink) != o->len)
			x->write_failed = true;
		o->len = 0;
	}
}

static int collect(void *ctx, const struct st_mproof_node *n)
{
	struct export *x = ctx;
	struct st_mproof_node *grown;

	if (x->nn == x->ncap) {
		x->ncap = x->ncap ? x->ncap * 2 : 256;
		grown = realloc(x->nodes, x->ncap * sizeof(*grown));
		if (!grown)
			return -1;
		x->nodes = grown;
	}
	x->nodes[x->nn++] = *n;
	return 0;
}

void st_export_filter_init(struct st_export_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->to = UINT64_MAX;
}

bool st_export_match(const struct st_export_filter *f,
		     const struct st_record *rec, const struct st_record_hdr *hdr)
{
	if (f->any_type && !f->type[rec->type])
		return false;
	if (f->event_id && (!hdr->event_id || strcmp(f->event_id, hdr->event_id)))
		return false;
	return rec->timestamp_ns >= f->from && rec->timestamp_ns < f->to;
}

static int export_cb(void *ctx, const struct st_scan_rec *r, char *err,
		     size_t errlen)
{
	struct export *x = ctx;
	bool sel = st_export_match(x->f, &r->p->rec, &r->p->hdr);

	if (r->p->hdr.seq >= x->st->tree_size) {
		/* not covered by the signed head: left out */
		if (sel && !x->st->newer_selected++)
			x->st->first_newer_seq = r->p->hdr.seq;
		x->st->newer++;
		return 0;
	}
	if (sel) {
		st_buf_put(x->out, r->line, r->len);
		st_buf_putc(x->out, '\n');
		if (x->out->oom)
			return st_errf(err, errlen, "out of memory");
		out_flush(x, false);
		x->st->selected++;
	}
	/* after a retention purge the tree starts from a frontier: those
	 * subtrees hold no exported leaf, exactly as if appended unselected */
	if (!x->b.m.size && r->tree && r->tree->size) {
		x->b.m = *r->tree;
		memset(x->b.sel, 0, sizeof(x->b.sel));
	}
	if (st_mproof_append(&x->b, r->h, r->leaf, sel))
		return st_errf(err, errlen, "out of memory");
	return 0;
}

static int read_checkpoint(const char *state_dir, enum st_stream s,
			   const struct st_keyset *keys, char *note,
			   size_t notecap, struct st_ckpt *ck, char *err,
			   size_t errlen)
{
	char path[4200], why[512];
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/checkpoint", state_dir,
		 st_stream_name(s));
	rc = st_ckpt_read_file(path, note, notecap, &len, why, sizeof(why));
	if (rc < 0 && errno != ENOENT)
		return st_errf(err, errlen, "%s", why);	/* I/O: exit 3 */
	if (rc)
		return st_failf(err, errlen, "%s (no signed checkpoint: nothing can be exported verifiably)",
			       why);
	if (st_ckpt_parse_named(note, len, keys->key,
				(const char *const *)keys->note_name, keys->n, ck, NULL, why,
			      sizeof(why)))
		return st_failf(err, errlen, "%s: %s", path, why);
	if (st_ckpt_stream(ck) != (int)s)
		return st_failf(err, errlen, "%s: origin '%s' names another stream",
			       path, ck->origin);
	return 0;
}

/* After the scan: the records must give exactly the signed root. */
static int finish_proof(struct export *x, enum st_stream s,
			const struct st_ckpt *ck, char *err, size_t errlen)
{
	uint8_t root[ST_HASH_LEN];
	struct st_hasher *h;
	int rc;

	if (x->b.m.size != ck->size)
		return st_failf(err, errlen, "%s: %" PRIu64 " records, but its checkpoint signs %" PRIu64
			       " (tail truncated?)", st_stream_name(s), x->b.m.size,
			       ck->size);
	h = st_hasher_new();
	rc = !h || st_mproof_finish(&x->b, h, root);
	st_hasher_free(h);
	if (rc)
		return st_errf(err, errlen, "out of memory");
	if (memcmp(root, ck->root, ST_HASH_LEN))
		return st_failf(err, errlen, "%s: the records do not match the signed checkpoint (run sealtrace verify)",
			       st_stream_name(s));
	return 0;
}

int st_export_stream(const char *state_dir, enum st_stream s,
		     const struct st_export_filter *f, const struct st_keyset *keys,
		     FILE *sink, struct st_buf *out,
		     struct st_export_stats *stats, char *err, size_t errlen)
{
	struct export x = { .f = f, .st = stats, .sink = sink, .out = out };
	struct st_scan_result res;
	struct st_ckpt ck;
	char note[ST_NOTE_MAX];
	int rc;

	memset(stats, 0, sizeof(*stats));
	rc = read_checkpoint(state_dir, s, keys, note, sizeof(note), &ck, err,
			     errlen);
	if (rc)
		return rc;
	stats->tree_size = ck.size;
	st_mproof_init(&x.b, collect, &x);
	st_bundle_checkpoint(out, s, note);
	rc = st_scan_stream(state_dir, s, export_cb, &x, &res, err, errlen);
	if (!rc)
		rc = finish_proof(&x, s, &ck, err, errlen);
	if (rc)
		goto out;
	st_bundle_proof(out, s, ck.size, x.nodes, x.nn);
	stats->nodes = x.nn;
	if (out->oom) {
		rc = st_errf(err, errlen, "out of memory");
		goto out;
	}
	out_flush(&x, true);
	if (x.write_failed || (sink && fflush(sink)))
		rc = st_errf(err, errlen, "writing the export failed");
out:
	free(x.nodes);
	return rc;
}

static int export_stream(const char *state_dir, enum st_stream s,
			 const struct st_export_filter *f, const struct st_keyset *keys,
			 char *err, size_t errlen)
{
	struct st_export_stats st;
	struct st_buf out = { 0 };
	int rc;

	rc = st_export_stream(state_dir, s, f, keys, stdout, &out, &st, err,
			      errlen);
	st_buf_free(&out);
	if (rc)
		return rc;
	fprintf(stderr, "export: %s: %" PRIu64 " of %" PRIu64
		" signed records exported, %zu proof nodes; %" PRIu64
		" newer records not yet checkpointed, left out\n",
		st_stream_name(s), st.selected, st.tree_size, st.nodes, st.newer);
	return 0;
}

static int parse_types(struct st_export_filter *f, const char *list)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int t, rc = 0;

	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		t = st_event_type_parse(tok);
		if (t < 0) {
			fprintf(stderr, "sealtrace export: unknown event type '%s'\n", tok);
			rc = -1;
			break;
		}
		f->type[t] = true;
		f->any_type = true;
	}
	free(copy);
	return rc;
}

/* A type filter that names only other streams' types leaves a stream out. */
static bool stream_wanted(const struct st_export_filter *f, enum st_stream s)
{
	int t;

	if (!f->any_type)
		return true;
	for (t = 0; t < ST_ET__COUNT; t++)
		if (f->type[t] && st_event_stream((enum st_event_type)t) == s)
			return true;
	return false;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace export --state-dir DIR [--stream S] [--from TIME] [--to TIME]\n"
		"                        [--event-type T[,T...]] [--pubkey FILE]...\n"
		"                        [--data-key FILE]\n"
		"       sealtrace export --db DSN [filters]   (from PostgreSQL: --db DSN --help)\n\n"
		"Write the selected records to stdout as JSON lines exactly as chained,\n"
		"with each stream's signed checkpoint and a Merkle proof, so that\n"
		"`sealtrace verify --export FILE --pubkey FILE` or tools/verify_export.py\n"
		"can check them alone (docs/verify.md).\n\n"
		"  --state-dir DIR     the agent's state directory\n"
		"  --stream S          decision or system (default: both)\n"
		"  --from TIME         records at or after TIME (RFC 3339, or YYYY-MM-DD)\n"
		"  --to TIME           records before TIME\n"
		"  --event-type T,...  only these event types (e.g. inference,loss)\n"
		"  --pubkey FILE       check the checkpoints' signatures before exporting\n"
		"                      (repeatable: any of the keys may have signed)\n"
		"  --data-key FILE     the data key file of an encrypted log (or\n"
		"                      SEALTRACE_DATA_KEY=FILE); the export itself is\n"
		"                      plain and verifies without it\n"
		"  -h, --help          this text\n\n"
		"Exit status: 0 ok, 1 the log does not verify, 2 usage, 3 I/O error.\n");
}

/* What the export selected, for its log_access record. */
static int note_access(const char *dir, const char *stream, const char *from, const char *to,
			const char *types)
{
	char filter[512];
	int n = 0;

	filter[0] = '\0';
	if (stream)
		n += snprintf(filter + n, sizeof(filter) - (size_t)n, "--stream %s ", stream);
	if (from && n < (int)sizeof(filter))
		n += snprintf(filter + n, sizeof(filter) - (size_t)n, "--from %s ", from);
	if (to && n < (int)sizeof(filter))
		n += snprintf(filter + n, sizeof(filter) - (size_t)n, "--to %s ", to);
	if (types && n < (int)sizeof(filter))
		n += snprintf(filter + n, sizeof(filter) - (size_t)n, "--event-type %s ", types);
	if (n > 0 && n <= (int)sizeof(filter))
		filter[n - 1] = '\0';
	return st_note_log_access(dir, "export", filter);
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "stream", required_argument, NULL, 's' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "event-type", required_argument, NULL, 'e' },
		ST_OPT_PUBKEY,
		{ "data-key", required_argument, NULL, 'K' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "export", .opts = opts, .usage = usage };
	bool want[ST_STREAM__COUNT] = { false };
	struct st_export_filter f;
	const char *dir = NULL, *stream = NULL, *from = NULL, *to = NULL,
		   *types = NULL;
	struct st_buf hdr = { 0 };
	struct st_keyset keys = { 0 };
	char err[1024];
	const char *pubs[MAX_PUBKEYS];
	int c, s, rc = ST_EXIT_OK, r, npub = 0;

	st_export_filter_init(&f);
	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 's': stream = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'e': types = optarg; break;
		case 'p':
			if (npub == MAX_PUBKEYS) {
				fprintf(stderr, "sealtrace export: at most %d --pubkey\n",
					MAX_PUBKEYS);
				return ST_EXIT_USAGE;
			}
			pubs[npub++] = optarg;
			break;
		case 'K':
			if (st_cli_data_key("export", optarg))
				return ST_EXIT_USAGE;
			break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (!dir)
		return st_cli_usage_error(&cli, "--state-dir DIR is required");
	rc = st_cli_data_key_missing("export", dir);
	if (rc)
		return rc;
	if (from && st_time_parse_why(from, &f.from, err, sizeof(err))) {
		fprintf(stderr, "sealtrace export: --from: %s\n", err);
		return ST_EXIT_USAGE;
	}
	if (to && st_time_parse_why(to, &f.to, err, sizeof(err))) {
		fprintf(stderr, "sealtrace export: --to: %s\n", err);
		return ST_EXIT_USAGE;
	}
	if (types && parse_types(&f, types))
		return ST_EXIT_USAGE;
	if (stream) {
		s = st_stream_parse(stream);
		if (s < 0) {
			fprintf(stderr, "sealtrace export: --stream must be decision or system\n");
			return ST_EXIT_USAGE;
		}
		want[s] = true;
	} else {
		want[ST_STREAM_DECISION] = want[ST_STREAM_SYSTEM] = true;
	}
	for (s = 0; s < npub; s++) {
		if (st_keyset_add_file(&keys, pubs[s], err, sizeof(err)) < 0) {
			fprintf(stderr, "sealtrace export: %s\n", err);
			st_keyset_free(&keys);
			return ST_EXIT_USAGE;
		}
	}
	if (note_access(dir, stream, from, to, types)) {
		st_keyset_free(&keys);
		return ST_EXIT_USAGE;
	}
	{
		struct st_buf facts = { 0 };

		/* facts are information for the reader: a log that does not
		 * read back is reported by the stream export below */
		if (st_bundle_facts(dir, &facts, err, sizeof(err)))
			facts.len = 0;
		st_bundle_header_facts(&hdr, stream, from, to, types, NULL, &facts);
		st_buf_free(&facts);
	}
	if (hdr.oom || fwrite(hdr.p, 1, hdr.len, stdout) != hdr.len)
		rc = ST_EXIT_RUNTIME;
	st_buf_free(&hdr);
	for (s = 0; s < ST_STREAM__COUNT && rc == ST_EXIT_OK; s++) {
		if (!want[s] || !stream_wanted(&f, (enum st_stream)s))
			continue;
		r = export_stream(dir, (enum st_stream)s, &f, &keys, err, sizeof(err));
		if (r) {
			fprintf(stderr, "sealtrace export: %s%s\n", r > 0 ? "FAIL: " : "", err);
			rc = r > 0 ? ST_EXIT_FAIL : ST_EXIT_RUNTIME;
		}
	}
	st_keyset_free(&keys);
	return rc;
}
