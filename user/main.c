// SPDX-License-Identifier: Apache-2.0
/* sealtrace: the command-line entry point; one verb per module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/log/seal.h"
#include "sealtrace/proof/gate.h"
#include "sealtrace/fleet/dbverify.h"

struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct verb verbs[] = {
	{ "run", cmd_run, "capture and record inferences (the agent)" },
	{ "detach", cmd_detach, "uninstall: drain, then detach and unpin every probe" },
	{ "annotate", cmd_annotate, "record a human oversight decision about an inference" },
	{ "keygen", cmd_keygen, "create the HMAC and signing keys" },
	{ "verify", cmd_verify, "check a log's chain, Merkle roots and signatures" },
	{ "export", cmd_export, "write records (and their checkpoints) as JSON lines" },
	{ "status", cmd_status, "completeness report per probe (coverage, losses, liveness)" },
	{ "lookup", cmd_lookup, "find the records of a known input (needs hmac.key)" },
	{ "prove", cmd_prove, "inclusion proof for one record, verifiable on its own" },
	{ "decrypt", cmd_decrypt, "a sealed segment as plain gzip on stdout (needs the data key)" },
	{ "models", cmd_models, "which model artifacts serve on this node, now or --at TIME" },
	{ "reconstruct", cmd_reconstruct, "one decision in full: record, proof, model, oversight, risk" },
	{ "report", cmd_report, "monitoring report for an auditor (HTML, or --json)" },
	{ "ship", cmd_ship, "copy records and checkpoints into PostgreSQL (a process of its own)" },
	{ "witness", cmd_witness, "off-node witness: cosigns consistent checkpoints (C2SP tlog-witness)" },
	{ "db", cmd_db, "install or migrate the PostgreSQL schema (init|migrate|status)" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sealtrace VERB [OPTIONS]   (sealtrace VERB --help)\n\n"
		   "Tamper-evident inference logging from outside the model server.\n\nVerbs:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-11s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nEncrypted segments: every verb that reads them takes the data key file\n"
		   "from --data-key FILE or the environment (%s=FILE).\n", ST_SEAL_KEY_ENV);
	fprintf(f, "\nExit status: 0 ok, 1 check failed, 2 usage/config error, 3 runtime error.\n");
}

/*
 * A data key named in the environment opens sealed segments for the verbs
 * that read a log. Not for the agent: whether it seals is its config's
 * encryption.key_file, never something inherited from a shell.
 */
static int load_data_key(const char *verb)
{
	const char *path = getenv(ST_SEAL_KEY_ENV);
	char err[4400];

	if (!path || !*path || !strcmp(verb, "run") || !strcmp(verb, "detach"))
		return 0;
	if (st_seal_load(path, err, sizeof(err))) {
		fprintf(stderr, "sealtrace: %s: %s\n", ST_SEAL_KEY_ENV, err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return ST_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return ST_EXIT_OK;
	}
	rc = st_reader_gate(argv[1], argc - 1, argv + 1);
	if (rc >= 0)
		return rc;
	if (load_data_key(argv[1]))
		return ST_EXIT_USAGE;
	/* the database's side of verify and export lives in fleet/ */
	for (i = 2; i < (size_t)argc; i++)
		if (!strcmp(argv[i], "--db") || !strncmp(argv[i], "--db=", 5)) {
			if (!strcmp(argv[1], "verify"))
				return st_verify_db_main(argc - 1, argv + 1);
			if (!strcmp(argv[1], "export"))
				return st_export_db_main(argc - 1, argv + 1);
		}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "sealtrace: unknown verb '%s'\n", argv[1]);
	usage(stderr);
	return ST_EXIT_USAGE;
}
