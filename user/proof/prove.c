// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace prove: an inclusion proof for one record, so that a single
 * decision can be handed to a regulator without the rest of the log.
 *
 * No new format: it is an export (bundle.h) narrowed to one event_id,
 * i.e. the stream's signed checkpoint, the record line, and the hashes of
 * the maximal subtrees beside it, which for one leaf are exactly the
 * RFC 6962 audit path. `verify --export` and tools/verify_export.py check
 * it unchanged.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "sealtrace/proof/addckpt.h"
#include "sealtrace/proof/bundle.h"
#include "sealtrace/base/cli.h"
#include "sealtrace/ops/oversight.h"
#include "sealtrace/proof/export.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/record.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace prove --state-dir DIR --event-id ID [--pubkey FILE]\n\n"
		"Write a self-contained proof for one record to stdout: the record line\n"
		"exactly as chained, the signed checkpoint of its stream, and the Merkle\n"
		"audit path from the record to the checkpoint's root. It is an export\n"
		"(sealtrace export) of that one record, so\n"
		"  sealtrace verify --export FILE --pubkey signing.pub\n"
		"  python3 tools/verify_export.py FILE signing.pub\n"
		"check it without the rest of the log (docs/verify.md).\n\n"
		"  --state-dir DIR   the agent's state directory\n"
		"  --event-id ID     the record's event_id (a UUID)\n"
		"  --pubkey FILE     check the checkpoint's signature before writing\n"
		"  -h, --help        this text\n\n"
		"sealtrace prove --consistency N --help: a consistency proof instead.\n\n"
		"A record newer than its stream's latest signed checkpoint cannot be\n"
		"proved yet: wait for the next checkpoint (checkpoint.every_seconds).\n\n"
		"Exit status: 0 proof written, 1 no such record, not yet checkpointed,\n"
		"or the log does not verify, 2 usage, 3 I/O error.\n");
}

/* 8-4-4-4-12 hex digits: anything else cannot be an event_id. */
static bool uuid_text(const char *s)
{
	size_t i;

	if (strlen(s) != ST_EVENT_ID_LEN)
		return false;
	for (i = 0; i < ST_EVENT_ID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' :
		    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	}
	return true;
}

static int write_proof(const char *dir, enum st_stream s, const char *id,
		       const struct st_buf *body)
{
	struct st_buf hdr = { 0 }, facts = { 0 };
	char err[256];
	bool ok;

	if (st_bundle_facts(dir, &facts, err, sizeof(err)))
		facts.len = 0;
	st_bundle_header_facts(&hdr, st_stream_name(s), NULL, NULL, NULL, id, &facts);
	st_buf_free(&facts);
	ok = !hdr.oom && fwrite(hdr.p, 1, hdr.len, stdout) == hdr.len &&
	     fwrite(body->p, 1, body->len, stdout) == body->len &&
	     !fflush(stdout);
	st_buf_free(&hdr);
	if (!ok) {
		fprintf(stderr, "sealtrace prove: writing stdout failed\n");
		return ST_EXIT_RUNTIME;
	}
	return ST_EXIT_OK;
}

/*
 * Look for the record in one stream. 0 and *found when the proof is
 * written; 0 and !*found when the stream does not hold it; otherwise an
 * exit status.
 */
static int prove_stream(const char *dir, enum st_stream s, const char *id,
			const struct st_keyset *keys, bool *found)
{
	struct st_export_filter f;
	struct st_export_stats st;
	struct st_buf body = { 0 };
	char err[1024];
	int rc;

	st_export_filter_init(&f);
	f.event_id = id;
	*found = false;
	rc = st_export_stream(dir, s, &f, keys, NULL, &body, &st, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sealtrace prove: %s%s\n", rc > 0 ? "FAIL: " : "", err);
		rc = rc > 0 ? ST_EXIT_FAIL : ST_EXIT_RUNTIME;
	} else if (st.selected) {
		*found = true;
		rc = write_proof(dir, s, id, &body);
		if (!rc)
			fprintf(stderr, "prove: %s: %" PRIu64 " record%s with event_id %s, proved in the signed tree of %"
				PRIu64 " records by %zu audit-path nodes\n",
				st_stream_name(s), st.selected,
				st.selected == 1 ? "" : "s", id, st.tree_size,
				st.nodes);
	} else if (st.newer_selected) {
		fprintf(stderr, "sealtrace prove: event_id %s is %s seq %" PRIu64
			", after the latest signed checkpoint (%" PRIu64
			" records): no proof until the next checkpoint\n",
			id, st_stream_name(s), st.first_newer_seq, st.tree_size);
		rc = ST_EXIT_FAIL;
	}
	st_buf_free(&body);
	return rc;
}

int cmd_prove(int argc, char **argv)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "event-id", required_argument, NULL, 'e' },
		ST_OPT_PUBKEY,
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "prove", .opts = opts, .usage = usage };
	const char *dir = NULL, *id = NULL, *pubkey = NULL;
	struct st_keyset keys = { 0 };
	struct stat sb;
	char err[512], lower[ST_EVENT_ID_LEN + 1];
	size_t i;
	bool found = false;
	int c, s, rc = ST_EXIT_OK;

	if (st_argv_has(argc, argv, "--consistency"))
		return st_prove_consistency_main(argc, argv);
	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'e': id = optarg; break;
		case 'p': pubkey = optarg; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (!dir || !id)
		return st_cli_usage_error(&cli, "--state-dir DIR and --event-id ID are required");
	if (!uuid_text(id)) {
		fprintf(stderr, "sealtrace prove: --event-id '%s' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)\n",
			id);
		return ST_EXIT_USAGE;
	}
	/* the log writes event ids in lower case (RFC 9562 text form) */
	for (i = 0; i <= ST_EVENT_ID_LEN; i++)
		lower[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i]);
	id = lower;
	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "sealtrace prove: %s: not a directory\n", dir);
		return ST_EXIT_USAGE;
	}
	if (pubkey && st_keyset_add_file(&keys, pubkey, err, sizeof(err)) < 0) {
		fprintf(stderr, "sealtrace prove: %s\n", err);
		st_keyset_free(&keys);
		return ST_EXIT_USAGE;
	}
	snprintf(err, sizeof(err), "--event-id %s", id);
	if (st_note_log_access(dir, "prove", err)) {
		st_keyset_free(&keys);
		return ST_EXIT_USAGE;
	}
	/* decision first: that is where the inferences a proof is asked for are */
	for (s = 0; s < ST_STREAM__COUNT && !rc && !found; s++)
		rc = prove_stream(dir, (enum st_stream)s, id, &keys, &found);
	if (!rc && !found) {
		fprintf(stderr, "sealtrace prove: no record with event_id %s in %s\n",
			id, dir);
		rc = ST_EXIT_FAIL;
	}
	st_keyset_free(&keys);
	return rc;
}
