// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace lookup: was this input processed, when, by which model?
 * The input's HMAC reference under every key of the ring is compared with
 * each record's input_hash (or output_reference); matching records go to
 * stdout as they are stored, a summary to stderr (see lookup.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "sealtrace/base/clock.h"
#include "sealtrace/base/cli.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/base/progress.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/proof/lookup.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/scan.h"

#define REF_PREFIX		"hmac-sha256:"
#define REF_PREFIX_LEN		(sizeof(REF_PREFIX) - 1)
#define INPUT_MAX		(256u << 20)	/* far above any capture cap */
#define MAX_MODELS		4

/* ---- references ------------------------------------------------------ */

void st_lookup_refs_free(struct st_lookup_refs *lr)
{
	free(lr->ref);
	free(lr->prefix);
	memset(lr, 0, sizeof(*lr));
}

int st_lookup_refs_make(struct st_lookup_refs *lr, const struct st_keyring *kr,
			const void *bytes, size_t len, char *err,
			size_t errlen)
{
	size_t i;

	memset(lr, 0, sizeof(*lr));
	lr->n = st_keyring_count(kr);
	lr->ref = calloc(lr->n, sizeof(*lr->ref));
	lr->prefix = calloc(lr->n, sizeof(*lr->prefix));
	if (!lr->ref || !lr->prefix) {
		st_lookup_refs_free(lr);
		return st_errf(err, errlen, "out of memory");
	}
	for (i = 0; i < lr->n; i++) {
		const char *id = st_keyring_id(kr, i);

		if (st_pseudo_ref_with(kr, id, bytes, len, lr->ref[i],
				       sizeof(lr->ref[i]))) {
			st_lookup_refs_free(lr);
			return st_errf(err, errlen, "HMAC under key '%s' failed (OpenSSL)",
				       id);
		}
		lr->prefix[i] = REF_PREFIX_LEN + strlen(id) + 1;
	}
	return 0;
}

int st_lookup_refs_match(const struct st_lookup_refs *lr, const char *ref)
{
	size_t i;

	for (i = 0; i < lr->n; i++)
		if (!strcmp(lr->ref[i], ref))
			return (int)i;
	return -1;
}

int st_lookup_refs_key_known(const struct st_lookup_refs *lr, const char *ref)
{
	size_t i;

	for (i = 0; i < lr->n; i++)
		if (!strncmp(lr->ref[i], ref, lr->prefix[i]))
			return 1;
	return 0;
}

/* ---- the input ------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int st_lookup_unhex(const char *hex, uint8_t **out, size_t *len, char *err,
		    size_t errlen)
{
	size_t n = strlen(hex), i;
	int hi, lo;

	*out = NULL;
	*len = 0;
	if (n % 2)
		return st_errf(err, errlen, "--input-hex: odd number of hex digits (%zu)", n);
	*out = malloc(n / 2 + 1);
	if (!*out)
		return st_errf(err, errlen, "--input-hex: out of memory");
	for (i = 0; i < n; i += 2) {
		hi = hexval(hex[i]);
		lo = hexval(hex[i + 1]);
		if (hi < 0 || lo < 0) {
			free(*out);
			*out = NULL;
			return st_errf(err, errlen, "--input-hex: '%c' at position %zu is not a hex digit",
				       hi < 0 ? hex[i] : hex[i + 1], hi < 0 ? i : i + 1);
		}
		(*out)[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static int read_all(FILE *f, const char *path, uint8_t **out, size_t *len,
		    char *err, size_t errlen)
{
	size_t cap = 65536, n = 0, got;
	uint8_t *buf = malloc(cap), *grown;

	while (buf) {
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		if (cap >= INPUT_MAX) {
			OPENSSL_cleanse(buf, n);
			free(buf);
			return st_errf(err, errlen, "%s: larger than %u MiB", path,
				       INPUT_MAX >> 20);
		}
		grown = realloc(buf, cap * 2);
		if (!grown)
			break;
		buf = grown;
		cap *= 2;
	}
	if (!buf || n == cap) {
		if (buf)
			OPENSSL_cleanse(buf, n);
		free(buf);
		return st_errf(err, errlen, "%s: out of memory", path);
	}
	if (ferror(f)) {
		OPENSSL_cleanse(buf, n);
		free(buf);
		return st_errf(err, errlen, "%s: read error", path);
	}
	*out = buf;
	*len = n;
	return 0;
}

int st_lookup_read_file(const char *path, uint8_t **out, size_t *len,
			char *err, size_t errlen)
{
	FILE *f;
	int rc;

	*out = NULL;
	*len = 0;
	if (!strcmp(path, "-"))
		return read_all(stdin, "stdin", out, len, err, errlen);
	f = fopen(path, "rbe");
	if (!f)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	rc = read_all(f, path, out, len, err, errlen);
	fclose(f);
	return rc;
}

/* ---- the verb -------------------------------------------------------- */

struct lookup {
	const struct st_lookup_refs *lr;
	const struct st_keyring *kr;
	const char *field;		/* match pseudonyms.<field> instead */
	bool output;
	int64_t len;			/* of the input */
	uint64_t read, found, per_stream[ST_STREAM__COUNT];
	uint64_t *per_key;
	uint64_t first_ts, last_ts;
	uint64_t truncated;		/* same length, capped capture: unmatchable */
	uint64_t unknown_key;		/* references under keys not in the ring */
	char *models[MAX_MODELS];
	size_t nmodels;
	bool more_models, write_failed;
	struct st_progress progress;
	enum st_stream stream;
};


static void progress(struct lookup *l)
{
	l->read++;
	if (st_progress_tick(&l->progress))
		st_progress_print("lookup: %s: %" PRIu64 " records read, %" PRIu64
				  " matches so far...", st_stream_name(l->stream), l->read,
				  l->found);
}

/* Distinct model versions of the matches, for the summary line. */
static void note_model(struct lookup *l, const char *mv)
{
	size_t i;

	if (!mv)
		return;
	for (i = 0; i < l->nmodels; i++)
		if (!strcmp(l->models[i], mv))
			return;
	if (l->nmodels == MAX_MODELS) {
		l->more_models = true;
		return;
	}
	l->models[l->nmodels] = strdup(mv);
	if (l->models[l->nmodels])
		l->nmodels++;
}

/*
 * A capture cut at the probe's cap keys only its first cap bytes, so the
 * whole input cannot match it; count those of the input's length to say so.
 */
static void note_miss(struct lookup *l, const struct st_record *rec,
		      const char *ref)
{
	const struct st_kv *t = st_record_detail(rec, l->output ?
						 "output_truncated" : "input_truncated");
	int64_t len = l->output ? rec->output_len : rec->input_len;

	if (t && t->kind == ST_KV_BOOL && t->v.b && len == l->len)
		l->truncated++;
	if (!st_lookup_refs_key_known(l->lr, ref))
		l->unknown_key++;
}

/* A record's per-field pseudonym (schema 2), or NULL. */
static const char *pseudonym_of(const struct st_record *rec, const char *field)
{
	size_t i;

	for (i = 0; i < rec->npseudonyms; i++)
		if (!strcmp(rec->pseudonyms[i].key, field) &&
		    rec->pseudonyms[i].kind == ST_KV_STR)
			return rec->pseudonyms[i].v.s;
	return NULL;
}

static int lookup_cb(void *ctx, const struct st_scan_rec *r, char *err,
		     size_t errlen)
{
	struct lookup *l = ctx;
	const struct st_record *rec = &r->p->rec;
	const char *ref = l->output ? rec->output_reference : rec->input_hash;
	int k;

	progress(l);
	if (l->field)
		ref = pseudonym_of(rec, l->field);
	if (!ref)
		return 0;
	k = st_lookup_refs_match(l->lr, ref);
	if (k < 0) {
		if (!l->field)
			note_miss(l, rec, ref);
		else if (!st_lookup_refs_key_known(l->lr, ref))
			l->unknown_key++;
		return 0;
	}
	if (fwrite(r->line, 1, r->len, stdout) != r->len || putchar('\n') == EOF)
		l->write_failed = true;
	if (!l->found++)
		l->first_ts = rec->timestamp_ns;
	if (rec->timestamp_ns < l->first_ts)
		l->first_ts = rec->timestamp_ns;
	if (rec->timestamp_ns > l->last_ts)
		l->last_ts = rec->timestamp_ns;
	l->per_stream[r->stream]++;
	l->per_key[k]++;
	note_model(l, rec->model_version);
	return 0;
}

static void summary(const struct lookup *l, size_t len)
{
	char first[ST_TIME_LEN + 1], last[ST_TIME_LEN + 1];
	const char *what = l->field ? l->field : l->output ? "output" : "input";
	size_t i;

	if (!l->found) {
		fprintf(stderr, "lookup: no record matches the %s (%zu bytes) under any of the %zu keys (",
			what, len, l->lr->n);
		for (i = 0; i < l->lr->n; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", st_keyring_id(l->kr, i));
		fprintf(stderr, "); %" PRIu64 " records read\n", l->read);
	} else {
		st_time_format(l->first_ts, first);
		st_time_format(l->last_ts, last);
		fprintf(stderr, "lookup: %" PRIu64 " record%s match the %s (%zu bytes): first %s, last %s; model_version ",
			l->found, l->found == 1 ? "" : "s", what, len, first, last);
		for (i = 0; i < l->nmodels; i++)
			fprintf(stderr, "%s%s", i ? ", " : "", l->models[i]);
		fprintf(stderr, "%s%s; by key", l->nmodels ? "" : "none",
			l->more_models ? ", ..." : "");
		for (i = 0; i < l->lr->n; i++)
			if (l->per_key[i])
				fprintf(stderr, " %s: %" PRIu64, st_keyring_id(l->kr, i),
					l->per_key[i]);
		fprintf(stderr, "; %" PRIu64 " records read\n", l->read);
	}
	if (l->truncated)
		fprintf(stderr, "lookup: note: %" PRIu64 " records of this length were captured truncated (%s_truncated): their reference covers only the first bytes up to the probe's cap; look those bytes up to match them\n",
			l->truncated, what);
	if (l->unknown_key)
		fprintf(stderr, "lookup: note: %" PRIu64 " references name a key id that is not in the key ring (deleted, or another ring): they cannot be matched\n",
			l->unknown_key);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace lookup --state-dir DIR --keys DIR\n"
		"                        (--input-file F | --input-hex HEX | --input-string S)\n"
		"                        [--stream decision|system] [--output] [--quiet]\n"
		"       sealtrace lookup --state-dir DIR --keys DIR --field NAME\n"
		"                        (--value V | --input-file F | --input-hex HEX)\n\n"
		"Was this input processed, when, and by which model? Computes the input's\n"
		"HMAC reference under every key in DIR/hmac.key (old keys too: records name\n"
		"the key they used) and prints every record whose input_hash matches, as\n"
		"stored, one JSON line each; a summary (count, first and last timestamp,\n"
		"model versions) goes to stderr.\n\n"
		"Needs hmac.key: only the key holder (the operator, its DPO) can look an\n"
		"input up. An auditor with the log and signing.pub alone cannot, by design:\n"
		"the log holds references, not inputs.\n\n"
		"  --state-dir DIR     the agent's state directory (may be live)\n"
		"  --keys DIR          the directory of hmac.key (sealtrace keygen)\n"
		"  --input-file F      the input's exact bytes (- for stdin); prefer this\n"
		"                      or stdin for personal data: command lines are\n"
		"                      visible to other users and kept in shell history\n"
		"  --input-hex HEX     the bytes as hex digits\n"
		"  --input-string S    the bytes of S (no newline added)\n"
		"  --stream S          only decision or system (default: both)\n"
		"  --output            match output_reference instead of input_hash\n"
		"  --field NAME        match the record's pseudonyms.NAME (a field the\n"
		"                      config pseudonymises, e.g. applicant_id) instead:\n"
		"                      every decision about one data subject\n"
		"  --value V           the field's value (a JSON string's text; other\n"
		"                      values as JSON, e.g. 17 or true)\n"
		"  --quiet             no progress lines on stderr\n"
		"  -h, --help          this text\n\n"
		"A capture cut at the probe's cap (input_truncated) keys only its first\n"
		"cap bytes: look those up to match it. The chain of each stream is\n"
		"checked while reading; use sealtrace verify for signatures and roots.\n\n"
		"Exit status: 0 found, 1 not found (or the log does not read back\n"
		"intact: the reason is printed), 2 usage or key ring, 3 I/O error.\n");
}

struct lookup_args {
	const char *dir, *keys, *file, *hex, *str;
	const char *field;
	int stream;			/* -1: every stream */
	bool output, quiet;
};

/* The access is logged, never what was looked up. */
static void note_access(const struct lookup_args *a)
{
	char filter[160];
	size_t n;

	snprintf(filter, sizeof(filter), "%s%s%s", a->stream < 0 ? "" : "--stream ",
		 a->stream < 0 ? "" : st_stream_name((enum st_stream)a->stream),
		 a->output ? (a->stream < 0 ? "--output" : " --output") : "");
	n = strlen(filter);
	/* the field's name, never its value */
	if (a->field)
		snprintf(filter + n, sizeof(filter) - n, "%s--field %.64s", n ? " " : "",
			 a->field);
	/* lookup needs hmac.key: never run for a reader without the key */
	(void)st_note_log_access(a->dir, "lookup", filter);
}

static int parse_args(int argc, char **argv, struct lookup_args *a)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "keys", required_argument, NULL, 'k' },
		{ "input-file", required_argument, NULL, 'f' },
		{ "input-hex", required_argument, NULL, 'x' },
		{ "input-string", required_argument, NULL, 'S' },
		{ "stream", required_argument, NULL, 's' },
		{ "output", no_argument, NULL, 'o' },
		{ "field", required_argument, NULL, 'F' },
		{ "value", required_argument, NULL, 'V' },
		{ "quiet", no_argument, NULL, 'q' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "lookup", .opts = opts, .usage = usage };
	int c, inputs;

	memset(a, 0, sizeof(*a));
	a->stream = -1;
	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': a->dir = optarg; break;
		case 'k': a->keys = optarg; break;
		case 'f': a->file = optarg; break;
		case 'x': a->hex = optarg; break;
		case 'S': a->str = optarg; break;
		case 'V': a->str = optarg; break;
		case 'F': a->field = optarg; break;
		case 'o': a->output = true; break;
		case 'q': a->quiet = true; break;
		case 's':
			a->stream = st_stream_parse(optarg);
			if (a->stream < 0) {
				fprintf(stderr, "sealtrace lookup: --stream must be decision or system\n");
				return ST_EXIT_USAGE;
			}
			break;
		case ST_CLI_STOP: return cli.status == ST_EXIT_OK ? -1 : cli.status;
		}
	}
	inputs = !!a->file + !!a->hex + !!a->str;
	if (a->field && a->output)
		return st_cli_usage_error(&cli, "--field and --output exclude each other");
	if (!a->dir || !a->keys || inputs != 1)
		return st_cli_usage_error(&cli, "give --state-dir DIR, --keys DIR and exactly one of --input-file, --input-hex, --input-string");
	return ST_EXIT_OK;
}

/* The input's bytes from whichever option gave them; an exit status. */
static int load_input(const struct lookup_args *a, uint8_t **in, size_t *len)
{
	char err[512];

	if (a->str) {
		*len = strlen(a->str);
		*in = (uint8_t *)strdup(a->str);
		if (*in)
			return ST_EXIT_OK;
		fprintf(stderr, "sealtrace lookup: out of memory\n");
		return ST_EXIT_RUNTIME;
	}
	if (a->hex) {
		if (!st_lookup_unhex(a->hex, in, len, err, sizeof(err)))
			return ST_EXIT_OK;
		fprintf(stderr, "sealtrace lookup: %s\n", err);
		return ST_EXIT_USAGE;
	}
	if (!st_lookup_read_file(a->file, in, len, err, sizeof(err)))
		return ST_EXIT_OK;
	fprintf(stderr, "sealtrace lookup: --input-file %s\n", err);
	return ST_EXIT_RUNTIME;
}

/* The references of the input under every key; the bytes are wiped. */
static int make_refs(const struct lookup_args *a, struct st_keyring **kr,
		     struct st_lookup_refs *lr, size_t *len)
{
	char err[512];
	uint8_t *in = NULL;
	int rc;

	if (st_keyring_load(kr, a->keys, err, sizeof(err))) {
		fprintf(stderr, "sealtrace lookup: %s (lookup needs the HMAC key ring)\n",
			err);
		return ST_EXIT_USAGE;
	}
	rc = load_input(a, &in, len);
	if (rc)
		return rc;
	rc = st_lookup_refs_make(lr, *kr, in, *len, err, sizeof(err));
	/* the input is personal data: keep it no longer than needed */
	OPENSSL_cleanse(in, *len);
	free(in);
	if (rc) {
		fprintf(stderr, "sealtrace lookup: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	return ST_EXIT_OK;
}

/*
 * A window scan from the start: it reads every segment, checks the chain
 * from there on, and treats a block being written by a live agent as the
 * end rather than as damage. Roots and signatures are verify's job.
 */
static int scan_streams(const struct lookup_args *a, struct lookup *l)
{
	const struct st_scan_window w = { .since_ns = 0, .live = true };
	struct st_scan_result res;
	char err[ST_SCAN_ERR_LEN + 256];
	int s, rc;

	for (s = 0; s < ST_STREAM__COUNT; s++) {
		if (a->stream >= 0 && s != a->stream)
			continue;
		l->stream = (enum st_stream)s;
		rc = st_scan_stream_window(a->dir, l->stream, &w, lookup_cb, l,
					   &res, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "sealtrace lookup: %s%s\n",
				rc > 0 ? "FAIL: the log does not read back intact: " : "",
				err);
			return rc > 0 ? ST_EXIT_FAIL : ST_EXIT_RUNTIME;
		}
	}
	if (l->write_failed || fflush(stdout)) {
		fprintf(stderr, "sealtrace lookup: writing stdout failed\n");
		return ST_EXIT_RUNTIME;
	}
	return ST_EXIT_OK;
}

int cmd_lookup(int argc, char **argv)
{
	struct st_lookup_refs lr = { 0 };
	struct st_keyring *kr = NULL;
	struct lookup_args a;
	struct lookup l = { 0 };
	struct stat st;
	size_t len = 0, i;
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc < 0 ? ST_EXIT_OK : rc;
	if (stat(a.dir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "sealtrace lookup: %s: not a directory\n", a.dir);
		return ST_EXIT_USAGE;
	}
	rc = make_refs(&a, &kr, &lr, &len);
	if (rc)
		goto out;
	l.lr = &lr;
	l.kr = kr;
	l.output = a.output;
	l.field = a.field;
	st_progress_init(&l.progress, !a.quiet, ST_NS_PER_SEC, false);
	l.len = (int64_t)len;
	l.per_key = calloc(lr.n, sizeof(*l.per_key));
	if (!l.per_key) {
		fprintf(stderr, "sealtrace lookup: out of memory\n");
		rc = ST_EXIT_RUNTIME;
		goto out;
	}
	note_access(&a);
	rc = scan_streams(&a, &l);
	summary(&l, len);
	if (!rc && !l.found)
		rc = ST_EXIT_FAIL;
out:
	for (i = 0; i < l.nmodels; i++)
		free(l.models[i]);
	free(l.per_key);
	st_lookup_refs_free(&lr);
	st_keyring_free(kr);
	return rc;
}
