// SPDX-License-Identifier: Apache-2.0
/* sealtrace keygen: create the HMAC key ring and the signing key pair. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sealtrace/cli.h"
#include "sealtrace/keys.h"
#include "sealtrace/pseudo.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace keygen --dir DIR [--rotate-hmac]\n\n"
		"Create DIR/hmac.key (HMAC-SHA256 key ring, 0600), DIR/signing.key\n"
		"(Ed25519, PEM PKCS#8, 0600) and DIR/signing.pub (PEM, 0644) from the\n"
		"OS CSPRNG. Refuses to overwrite any existing key file.\n\n"
		"  --dir DIR        keys directory (created 0700 if missing)\n"
		"  --rotate-hmac    append a new current key to an existing hmac.key;\n"
		"                   older keys stay for looking up old references\n"
		"  -h, --help       this text\n\n"
		"Exit status: 0 ok, 2 usage or keys already present, 3 I/O error.\n");
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "rotate-hmac", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char err[512], id[ST_KEY_ID_MAX + 1];
	const char *dir = NULL;
	int rotate = 0, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r': rotate = 1; break;
		case 'h': usage(stdout); return ST_EXIT_OK;
		default: usage(stderr); return ST_EXIT_USAGE;
		}
	}
	if (!dir || optind != argc) {
		fprintf(stderr, "sealtrace keygen: --dir DIR is required (and nothing else)\n");
		usage(stderr);
		return ST_EXIT_USAGE;
	}
	if (rotate) {
		if (st_keys_rotate_hmac(dir, id, sizeof(id), err, sizeof(err))) {
			fprintf(stderr, "sealtrace keygen: %s\n", err);
			return ST_EXIT_RUNTIME;
		}
		printf("keygen: appended HMAC key '%s' to %s/hmac.key; it is now the current key\n",
		       id, dir);
		return ST_EXIT_OK;
	}
	if (st_keys_generate(dir, err, sizeof(err))) {
		fprintf(stderr, "sealtrace keygen: %s\n", err);
		return strstr(err, "refusing") ? ST_EXIT_USAGE : ST_EXIT_RUNTIME;
	}
	printf("keygen: wrote %s/hmac.key (0600), %s/signing.key (0600), %s/signing.pub (0644)\n"
	       "keygen: give signing.pub to auditors; keep hmac.key and signing.key secret\n",
	       dir, dir, dir);
	return ST_EXIT_OK;
}
