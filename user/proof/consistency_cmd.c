// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace prove --consistency OLD_SIZE: the RFC 6962 consistency proof
 * from an earlier tree size to the stream's signed checkpoint, written as
 * a C2SP tlog-witness add-checkpoint body (addckpt.h), so the same bytes
 * go to a witness or to an auditor who holds the earlier checkpoint.
 *
 * sealtrace verify --consistency FILE --checkpoint OLD: checks such a
 * body against an earlier checkpoint: both notes signed by the given key,
 * one origin, and the proof from the old root to the new one.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/proof/addckpt.h"

int st_argv_has(int argc, char **argv, const char *opt)
{
	size_t n = strlen(opt);
	int i;

	for (i = 1; i < argc; i++)
		if (!strncmp(argv[i], opt, n) && (!argv[i][n] || argv[i][n] == '='))
			return 1;
	return 0;
}

static void prove_usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace prove --state-dir DIR --consistency OLD_SIZE\n"
		"                       [--stream decision|system] [--pubkey FILE]\n\n"
		"Write the RFC 6962 consistency proof from tree size OLD_SIZE to the\n"
		"stream's latest signed checkpoint (<stream>/checkpoint) to stdout, as\n"
		"a C2SP tlog-witness add-checkpoint body:\n"
		"  old OLD_SIZE / one base64 hash a line / a blank line / the checkpoint\n"
		"Whoever holds a checkpoint of size OLD_SIZE checks it with\n"
		"  sealtrace verify --consistency FILE --checkpoint OLD --pubkey signing.pub\n\n"
		"  --state-dir DIR       the agent's state directory\n"
		"  --consistency N       the earlier tree size (0 .. the signed size)\n"
		"  --stream NAME         decision (default) or system\n"
		"  --pubkey FILE         check the checkpoint's signature first\n"
		"  -h, --help            this text\n\n"
		"Exit status: 0 proof written, 1 the log does not hold or does not match\n"
		"what the proof needs (e.g. fewer records than signed, or records purged\n"
		"by retention that no frontier stands in for), 2 usage, 3 I/O error.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return *end || errno ? -1 : 0;
}

static int load_keys(struct st_keyset *ks, const char *pubkey,
		     const char *verb)
{
	char err[512];

	if (pubkey && st_keyset_add_file(ks, pubkey, err, sizeof(err)) < 0) {
		fprintf(stderr, "sealtrace %s: %s\n", verb, err);
		return -1;
	}
	return 0;
}

static int read_note_file(const char *path, char *note, size_t *len,
			  const struct st_keyset *ks, struct st_ckpt *ck,
			  const char *verb)
{
	char err[1024], why[512];

	if (st_ckpt_read_file(path, note, ST_NOTE_MAX, len, err, sizeof(err))) {
		fprintf(stderr, "sealtrace %s: %s\n", verb, err);
		return ST_EXIT_RUNTIME;
	}
	if (st_ckpt_parse_named(note, *len, ks->key,
				(const char *const *)ks->note_name, ks->n, ck, NULL, why,
			      sizeof(why))) {
		printf("%s: FAIL: %s: %s\n", verb, path, why);
		return ST_EXIT_FAIL;
	}
	return ST_EXIT_OK;
}

static int prove_run(const char *dir, enum st_stream s, uint64_t old_size,
		     const struct st_keyset *ks)
{
	uint8_t proof[ST_CONSISTENCY_MAX][ST_HASH_LEN];
	char path[4200], note[ST_NOTE_MAX], err[1024];
	struct st_buf out = { 0 };
	struct st_ckpt ck;
	size_t len, n;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/checkpoint", dir, st_stream_name(s));
	rc = read_note_file(path, note, &len, ks, &ck, "prove");
	if (rc)
		return rc;
	rc = st_consistency_of_log(dir, s, old_size, &ck, proof, &n, err,
				   sizeof(err));
	if (rc) {
		fprintf(stderr, "sealtrace prove: %s%s\n", rc > 0 ? "FAIL: " : "", err);
		return rc > 0 ? ST_EXIT_FAIL : ST_EXIT_RUNTIME;
	}
	st_addckpt_write(&out, old_size, (const uint8_t (*)[ST_HASH_LEN])proof, n,
			 note, len);
	rc = out.oom || fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout);
	st_buf_free(&out);
	if (rc) {
		fprintf(stderr, "sealtrace prove: writing stdout failed\n");
		return ST_EXIT_RUNTIME;
	}
	fprintf(stderr, "prove: %s: consistency %" PRIu64 " -> %" PRIu64 " in %zu hashes\n",
		st_stream_name(s), old_size, ck.size, n);
	return ST_EXIT_OK;
}

int st_prove_consistency_main(int argc, char **argv)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "consistency", required_argument, NULL, 'c' },
		{ "stream", required_argument, NULL, 's' },
		ST_OPT_PUBKEY,
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "prove", .opts = opts, .usage = prove_usage };
	const char *dir = NULL, *old = NULL, *pubkey = NULL, *stream = "decision";
	struct st_keyset ks = { 0 };
	struct stat sb;
	uint64_t old_size;
	int c, s, rc;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'c': old = optarg; break;
		case 's': stream = optarg; break;
		case 'p': pubkey = optarg; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	s = st_stream_parse(stream);
	if (!dir || !old || s < 0 || parse_u64(old, &old_size))
		return st_cli_usage_error(&cli, "--state-dir DIR and --consistency N (a size) are required; --stream decision|system");
	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "sealtrace prove: %s: not a directory\n", dir);
		return ST_EXIT_USAGE;
	}
	if (load_keys(&ks, pubkey, "prove")) {
		st_keyset_free(&ks);
		return ST_EXIT_USAGE;
	}
	st_note_log_access(dir, "prove", "--consistency");
	rc = prove_run(dir, (enum st_stream)s, old_size, &ks);
	st_keyset_free(&ks);
	return rc;
}

/* ---- verify --consistency ---------------------------------------------- */

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace verify --consistency FILE --checkpoint OLD --pubkey FILE\n\n"
		"Check a consistency proof (from `sealtrace prove --consistency`, a C2SP\n"
		"tlog-witness add-checkpoint body) against a checkpoint held earlier:\n"
		"both are signed by the key, name one origin, OLD's size is the proof's\n"
		"old size, and the proof leads from OLD's root to the new root (the log\n"
		"only grew: no truncation, rollback or fork in between).\n\n"
		"  --consistency FILE   the proof (- for stdin)\n"
		"  --checkpoint OLD     the earlier checkpoint note\n"
		"  --pubkey FILE        the log's signing.pub (repeatable)\n"
		"  -h, --help           this text\n\n"
		"Exit status: 0 consistent, 1 not (or a signature fails), 2 usage,\n"
		"3 I/O error.\n");
}

static int read_all(const char *path, struct st_buf *b)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char chunk[4096];
	size_t n;
	int bad;

	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b->len < (1u << 20))
		st_buf_put(b, chunk, n);
	bad = ferror(f) || b->oom;
	if (f != stdin)
		fclose(f);
	return bad ? -1 : 0;
}

static int verify_run(const char *file, const char *old_path,
		      const struct st_keyset *ks)
{
	struct st_buf body = { 0 };
	struct st_addckpt req;
	struct st_ckpt old, cur;
	struct st_hasher *h;
	char note[ST_NOTE_MAX], err[1024];
	size_t len;
	int rc;

	rc = read_note_file(old_path, note, &len, ks, &old, "verify");
	if (rc)
		return rc;
	if (read_all(file, &body)) {
		fprintf(stderr, "sealtrace verify: %s: unreadable\n", file);
		st_buf_free(&body);
		return ST_EXIT_RUNTIME;
	}
	rc = ST_EXIT_FAIL;
	if (st_addckpt_parse(body.p, body.len, &req, err, sizeof(err))) {
		printf("verify: FAIL: %s: %s\n", file, err);
		goto out;
	}
	if (st_ckpt_parse_named(req.note, req.note_len, ks->key,
				(const char *const *)ks->note_name, ks->n, &cur, NULL,
			      err, sizeof(err))) {
		printf("verify: FAIL: %s: %s\n", file, err);
		goto out;
	}
	if (strcmp(old.origin, cur.origin)) {
		printf("verify: FAIL: %s is of origin '%s', the proof's checkpoint of '%s'\n",
		       old_path, old.origin, cur.origin);
		goto out;
	}
	if (req.old_size != old.size) {
		printf("verify: FAIL: the proof starts at size %" PRIu64 ", %s has size %" PRIu64 "\n",
		       req.old_size, old_path, old.size);
		goto out;
	}
	h = st_hasher_new();
	if (!h) {
		rc = ST_EXIT_RUNTIME;
		goto out;
	}
	rc = st_consistency_verify(h, old.size, cur.size, old.root, cur.root,
				   (const uint8_t (*)[ST_HASH_LEN])req.proof,
				   req.nproof, err, sizeof(err));
	st_hasher_free(h);
	if (rc < 0) {
		fprintf(stderr, "sealtrace verify: SHA-256 failed\n");
		rc = ST_EXIT_RUNTIME;
	} else if (rc) {
		printf("verify: FAIL: %s: %s\n", file, err);
		rc = ST_EXIT_FAIL;
	} else {
		printf("verify: OK: %s grew from %" PRIu64 " to %" PRIu64
		       " records without changing them (%zu proof hashes; both heads signed)\n",
		       cur.origin, old.size, cur.size, req.nproof);
	}
out:
	st_buf_free(&body);
	return rc;
}

int st_verify_consistency_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "consistency", required_argument, NULL, 'c' },
		{ "checkpoint", required_argument, NULL, 'o' },
		ST_OPT_PUBKEY,
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "verify", .opts = opts, .usage = verify_usage };
	const char *file = NULL, *old = NULL;
	struct st_keyset ks = { 0 };
	char err[512];
	int c, rc = ST_EXIT_USAGE;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'c': file = optarg; break;
		case 'o': old = optarg; break;
		case 'p':
			if (st_keyset_add_file(&ks, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "sealtrace verify: %s\n", err);
				goto out;
			}
			break;
		case ST_CLI_STOP: rc = cli.status; goto out;
		}
	}
	if (!file || !old || !ks.n) {
		rc = st_cli_usage_error(&cli, "--consistency FILE needs --checkpoint OLD and --pubkey FILE");
		goto out;
	}
	rc = verify_run(file, old, &ks);
out:
	st_keyset_free(&ks);
	return rc;
}
