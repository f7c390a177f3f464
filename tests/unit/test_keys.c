// SPDX-License-Identifier: Apache-2.0
/* Signing key rotation and key sets: files, modes, refusals, lookups. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "sealtrace/log/checkpoint.h"
#include "sealtrace/base/digest.h"
#include "sealtrace/keys/keys.h"

static char dir[64];

static int setup(void **st)
{
	snprintf(dir, sizeof(dir), "/tmp/st-keys-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void raw_of(EVP_PKEY *k, uint8_t out[32])
{
	assert_int_equal(st_pubkey_raw(k, out), 0);
}

static void load_pair(const char *keys, uint8_t priv_pub[32], uint8_t pub[32])
{
	char err[512], path[300];
	EVP_PKEY *k;

	assert_int_equal(st_signing_key_load(keys, &k, err, sizeof(err)), 0);
	raw_of(k, priv_pub);
	EVP_PKEY_free(k);
	snprintf(path, sizeof(path), "%s/signing.pub", keys);
	assert_int_equal(st_pubkey_load(path, &k, err, sizeof(err)), 0);
	raw_of(k, pub);
	EVP_PKEY_free(k);
}

static int mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (int)(st.st_mode & 0777);
}

/* Entries of a directory other than . and .. */
static int count_entries(const char *path)
{
	struct dirent *e;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_rotate_signing(void **st)
{
	char keys[128], rdir[160], retired[4200], err[8400];
	uint8_t old_priv[32], old_pub[32], new_priv[32], new_pub[32], r[32];
	const char *base;
	EVP_PKEY *k;

	snprintf(keys, sizeof(keys), "%s/rot", dir);
	snprintf(rdir, sizeof(rdir), "%s/retired", keys);
	assert_int_equal(st_keys_generate(keys, err, sizeof(err)), 0);
	load_pair(keys, old_priv, old_pub);
	assert_memory_equal(old_priv, old_pub, 32);

	assert_int_equal(st_keys_rotate_signing(keys, retired, sizeof(retired),
						err, sizeof(err)), 0);
	/* retired/signing-YYYYMMDDTHHMMSSZ.pub holds the old public key */
	assert_int_equal(count_entries(rdir), 1);
	assert_int_equal(strncmp(retired, rdir, strlen(rdir)), 0);
	base = retired + strlen(rdir) + 1;
	assert_int_equal(strlen(base), strlen("signing-20250101T000000Z.pub"));
	assert_int_equal(strncmp(base, "signing-", 8), 0);
	assert_int_equal(base[16], 'T');
	assert_string_equal(base + 23, "Z.pub");
	assert_int_equal(mode_of(retired), 0644);
	assert_int_equal(mode_of(rdir), 0755);
	assert_int_equal(st_pubkey_load(retired, &k, err, sizeof(err)), 0);
	raw_of(k, r);
	EVP_PKEY_free(k);
	assert_memory_equal(r, old_pub, 32);

	/* a new, matching pair in place, modes kept, no leftovers */
	load_pair(keys, new_priv, new_pub);
	assert_memory_equal(new_priv, new_pub, 32);
	assert_memory_not_equal(new_pub, old_pub, 32);
	snprintf(err, sizeof(err), "%s/signing.key", keys);
	assert_int_equal(mode_of(err), 0600);
	snprintf(err, sizeof(err), "%s/signing.pub", keys);
	assert_int_equal(mode_of(err), 0644);
	/* hmac.key, signing.key, signing.pub, retired: nothing else */
	assert_int_equal(count_entries(keys), 4);

	/* again a second later: two retired keys */
	sleep(1);
	assert_int_equal(st_keys_rotate_signing(keys, retired, sizeof(retired),
						err, sizeof(err)), 0);
	assert_int_equal(count_entries(rdir), 2);
	assert_int_equal(st_pubkey_load(retired, &k, err, sizeof(err)), 0);
	raw_of(k, r);
	EVP_PKEY_free(k);
	assert_memory_equal(r, new_pub, 32);
}

static void test_rotate_refusals(void **st)
{
	char keys[128], other[128], cmd[400], retired[4200], err[8400];
	uint8_t before[32], after[32], pub[32];

	/* nothing to rotate: refuses and creates nothing */
	snprintf(keys, sizeof(keys), "%s/empty", dir);
	assert_int_equal(mkdir(keys, 0700), 0);
	assert_int_equal(st_keys_rotate_signing(keys, retired, sizeof(retired),
						err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/empty/signing.key: No such file or directory: no current signing key; refusing to rotate"));
	assert_int_equal(count_entries(keys), 0);

	/* signing.pub of another pair: retiring it would mislead auditors */
	snprintf(keys, sizeof(keys), "%s/mismatch", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(st_keys_generate(keys, err, sizeof(err)), 0);
	assert_int_equal(st_keys_generate(other, err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "cp %s/signing.pub %s/signing.pub", other, keys);
	assert_int_equal(system(cmd), 0);
	load_pair(keys, before, pub);
	assert_int_equal(st_keys_rotate_signing(keys, retired, sizeof(retired),
						err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/mismatch/signing.pub is not the public half of "));
	assert_non_null(strstr(err, "/mismatch/signing.key; refusing to rotate"));
	load_pair(keys, after, pub);
	assert_memory_equal(before, after, 32);
	assert_int_equal(count_entries(keys), 3);	/* no retired/ either */
}

static void test_pubkey_hash(void **st)
{
	/* RFC 8032 test 1 public key; its SHA-256 by Python's hashlib */
	static const char *const pk_hex =
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	char hash[ST_PUBKEY_HASH_LEN + 1];
	uint8_t pk[32];
	EVP_PKEY *k;

	assert_int_equal(st_unhex(pk_hex, 64, pk, 32), 0);
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
	assert_non_null(k);
	assert_int_equal(st_pubkey_hash(k, hash), 0);
	assert_string_equal(hash, "sha256:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9");
	EVP_PKEY_free(k);
}

static void test_keyset(void **st)
{
	char keys[128], path[300], sub[300], retired[4200], err[8400];
	struct st_keyset ks = { 0 };
	size_t found;

	snprintf(keys, sizeof(keys), "%s/set", dir);
	assert_int_equal(st_keys_generate(keys, err, sizeof(err)), 0);
	assert_int_equal(st_keys_rotate_signing(keys, retired, sizeof(retired),
						err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/signing.pub", keys);

	/* the same key twice counts once */
	assert_int_equal(st_keyset_add_file(&ks, path, err, sizeof(err)), 0);
	assert_int_equal(st_keyset_add_file(&ks, path, err, sizeof(err)), 1);
	assert_int_equal(ks.n, 1);
	/* a keys dir: signing.pub (already there) and retired/ */
	assert_int_equal(st_keyset_add_keys_dir(&ks, keys, err, sizeof(err)), 0);
	assert_int_equal(ks.n, 2);
	assert_string_equal(ks.name[0], path);
	assert_string_equal(ks.name[1], retired);
	/* a missing retired dir is fine where it may be missing, else not */
	snprintf(sub, sizeof(sub), "%s/nope", keys);
	assert_int_equal(st_keyset_add_dir(&ks, sub, true, &found, err, sizeof(err)), 0);
	assert_int_equal(found, 0);
	assert_int_equal(st_keyset_add_dir(&ks, sub, false, &found, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/set/nope: No such file or directory"));
	/* a keys dir without any public key is a mistake, not "no keys" */
	snprintf(sub, sizeof(sub), "%s/nokeys", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(st_keyset_add_keys_dir(&ks, sub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nokeys: no *.pub file here or in "));
	/* something that is not a public key */
	snprintf(path, sizeof(path), "%s/hmac.key", keys);
	assert_int_equal(st_keyset_add_file(&ks, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/set/hmac.key: not a PEM public key"));
	assert_int_equal(ks.n, 2);
	st_keyset_free(&ks);
	assert_int_equal(ks.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotate_signing),
		cmocka_unit_test(test_rotate_refusals),
		cmocka_unit_test(test_pubkey_hash),
		cmocka_unit_test(test_keyset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
