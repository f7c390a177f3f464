// SPDX-License-Identifier: Apache-2.0
/* sealtrace keygen: create the HMAC key ring and the signing key pair;
 * rotate either. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/keys/datakey.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/keys/vkey.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace keygen --dir DIR [--rotate-hmac | --rotate-signing]\n"
		"       sealtrace keygen --data-key FILE\n"
		"                        [--system-id S [--node-id N]]\n"
		"       sealtrace keygen --dir DIR --vkey --system-id S [--node-id N]\n\n"
		"Create DIR/hmac.key (HMAC-SHA256 key ring, 0600), DIR/signing.key\n"
		"(Ed25519, PEM PKCS#8, 0600) and DIR/signing.pub (PEM, 0644) from the\n"
		"OS CSPRNG. Refuses to overwrite any existing key file.\n\n"
		"  --dir DIR        keys directory (created 0700 if missing)\n"
		"  --rotate-hmac    append a new current key to an existing hmac.key;\n"
		"                   older keys stay for looking up old references\n"
		"  --rotate-signing move the public half of the current signing key to\n"
		"                   DIR/retired/signing-<UTC YYYYMMDDTHHMMSSZ>.pub (0644),\n"
		"                   overwrite and delete its private key, and write a new\n"
		"                   signing.key/signing.pub. The agent still accepts the\n"
		"                   checkpoints the retired key signed; give auditors the\n"
		"                   new signing.pub as well (verify --pubkey-dir DIR).\n"
		"                   Refuses when DIR has no signing.key. An existing\n"
		"                   signing.vkey is rewritten for the new key\n"
		"  --data-key FILE  create FILE (0600) with a new AES-256 data key for\n"
		"                   sealed segments (config encryption.key_file), or\n"
		"                   append a new current key to it: new segments are\n"
		"                   sealed under it, old ones keep naming theirs\n"
		"  --system-id S    with --node-id N (default: the host name, as the\n"
		"                   agent's node_id): also write DIR/signing.vkey (0644),\n"
		"                   the C2SP verifier key string name+keyid+base64key of\n"
		"                   the signing key under the log's key name\n"
		"                   sealtrace/S/N, which standard note tooling and\n"
		"                   every --pubkey option take\n"
		"  --vkey           only (re)write signing.vkey for the existing key\n"
		"  -h, --help       this text\n\n"
		"Exit status: 0 ok, 2 usage, keys already present or nothing to\n"
		"rotate, 3 I/O error.\n");
}

/* signing.vkey under name; prints it. */
static int write_vkey(const char *dir, const char *name)
{
	char err[8400], vkey[ST_VKEY_MAX];

	if (st_vkey_write(dir, name, vkey, sizeof(vkey), err, sizeof(err))) {
		fprintf(stderr, "sealtrace keygen: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	printf("keygen: wrote %s/%s (0644): %s\n", dir, ST_VKEY_FILE, vkey);
	return ST_EXIT_OK;
}

static int key_name(char *name, size_t len, const char *system_id,
		    const char *node_id)
{
	char host[256];

	if (!node_id) {
		if (gethostname(host, sizeof(host)))
			return -1;
		host[sizeof(host) - 1] = '\0';
		node_id = host;
	}
	return st_note_log_key_name(name, len, system_id, node_id);
}

static int rotate_signing_key(const char *dir)
{
	char err[8400], retired[4200], hash[ST_PUBKEY_HASH_LEN + 1];
	char name[ST_VKEY_NAME_MAX];
	EVP_PKEY *k;

	if (st_keys_rotate_signing(dir, retired, sizeof(retired), err, sizeof(err))) {
		fprintf(stderr, "sealtrace keygen: %s\n", err);
		return strstr(err, "refusing") ? ST_EXIT_USAGE : ST_EXIT_RUNTIME;
	}
	printf("keygen: retired the signing key: its public key is now %s\n", retired);
	if (!st_signing_key_load(dir, &k, err, sizeof(err)) &&
	    !st_pubkey_hash(k, hash))
		printf("keygen: new %s/signing.key (0600) and signing.pub (0644), public key %s\n",
		       dir, hash);
	EVP_PKEY_free(k);
	printf("keygen: the old private key was overwritten and deleted; restart the agents\n"
	       "keygen: with the new key and give auditors signing.pub and %s\n", retired);
	/* the verifier key string names the key: keep it the current one's */
	switch (st_vkey_file_name(dir, name, sizeof(name), err, sizeof(err))) {
	case 1: return ST_EXIT_OK;
	case 0: return write_vkey(dir, name);
	default:
		fprintf(stderr, "sealtrace keygen: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
}

static int add_data_key(const char *path)
{
	char err[8400], id[ST_DATA_KEY_ID_MAX + 1];

	if (st_datakeys_add(path, id, sizeof(id), err, sizeof(err))) {
		fprintf(stderr, "sealtrace keygen: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	printf("keygen: data key '%s' is now the current key of %s; segments created\n"
	       "keygen: from now on are sealed under it (restart the agent)\n", id, path);
	return ST_EXIT_OK;
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "rotate-hmac", no_argument, NULL, 'r' },
		{ "rotate-signing", no_argument, NULL, 's' },
		{ "data-key", required_argument, NULL, 'k' },
		{ "system-id", required_argument, NULL, 'S' },
		{ "node-id", required_argument, NULL, 'N' },
		{ "vkey", no_argument, NULL, 'v' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "keygen", .opts = opts, .usage = usage };
	char err[512], id[ST_KEY_ID_MAX + 1], name[ST_VKEY_NAME_MAX];
	const char *dir = NULL, *data_key = NULL, *system_id = NULL, *node_id = NULL;
	int rotate = 0, rotate_signing = 0, vkey_only = 0, c;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r': rotate = 1; break;
		case 's': rotate_signing = 1; break;
		case 'k': data_key = optarg; break;
		case 'S': system_id = optarg; break;
		case 'N': node_id = optarg; break;
		case 'v': vkey_only = 1; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (data_key && !dir && !rotate && !rotate_signing && !system_id && !vkey_only)
		return add_data_key(data_key);
	if (!dir || data_key || (rotate && rotate_signing))
		return st_cli_usage_error(&cli, "--dir DIR is required (and at most one --rotate-*)");
	if ((node_id || vkey_only) && !system_id)
		return st_cli_usage_error(&cli, "--node-id and --vkey need --system-id");
	if (system_id && key_name(name, sizeof(name), system_id, node_id)) {
		fprintf(stderr, "sealtrace keygen: --system-id/--node-id: key name too long\n");
		return ST_EXIT_USAGE;
	}
	if (vkey_only)
		return write_vkey(dir, name);
	if (rotate_signing)
		return rotate_signing_key(dir);
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
	return system_id ? write_vkey(dir, name) : ST_EXIT_OK;
}
