// SPDX-License-Identifier: Apache-2.0
/* HMAC-SHA256 (RFC 4231 vectors), the key ring and references. */
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

#include "sealtrace/base/digest.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/keys/keyring.h"

struct vec {
	uint8_t key[131];
	size_t klen;
	const char *data;
	size_t dlen;
	const char *mac;	/* hex; test case 5 is truncated to 128 bits */
};

static void test_rfc4231(void **state)
{
	static struct vec v[7];
	uint8_t mac[32], dd[50], cd[50];
	char hex[65];
	size_t i;

	memset(v[0].key, 0x0b, 20); v[0].klen = 20;
	v[0].data = "Hi There"; v[0].dlen = 8;
	v[0].mac = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
	memcpy(v[1].key, "Jefe", 4); v[1].klen = 4;
	v[1].data = "what do ya want for nothing?"; v[1].dlen = 28;
	v[1].mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	memset(v[2].key, 0xaa, 20); v[2].klen = 20;
	memset(dd, 0xdd, 50);
	v[2].data = (const char *)dd; v[2].dlen = 50;
	v[2].mac = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
	for (i = 0; i < 25; i++)
		v[3].key[i] = (uint8_t)(i + 1);
	v[3].klen = 25;
	memset(cd, 0xcd, 50);
	v[3].data = (const char *)cd; v[3].dlen = 50;
	v[3].mac = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
	memset(v[4].key, 0x0c, 20); v[4].klen = 20;
	v[4].data = "Test With Truncation"; v[4].dlen = 20;
	v[4].mac = "a3b6167473100ee06e0c796c2955552b";
	memset(v[5].key, 0xaa, 131); v[5].klen = 131;
	v[5].data = "Test Using Larger Than Block-Size Key - Hash Key First";
	v[5].dlen = 54;
	v[5].mac = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
	memset(v[6].key, 0xaa, 131); v[6].klen = 131;
	v[6].data = "This is a test using a larger than block-size key and a larger "
		    "than block-size data. The key needs to be hashed before being "
		    "used by the HMAC algorithm.";
	v[6].dlen = strlen(v[6].data);
	v[6].mac = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";

	for (i = 0; i < 7; i++) {
		assert_int_equal(st_hmac_sha256(v[i].key, v[i].klen, v[i].data,
						v[i].dlen, mac), 0);
		st_hex(mac, 32, hex);
		assert_memory_equal(hex, v[i].mac, strlen(v[i].mac));
	}
}

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/st-pseudo-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_keyring(void **state)
{
	struct st_keyring *kr;
	char ref[ST_PSEUDO_REF_MAX], err[256];

	/* RFC 4231 case 1 key widened to 32 bytes, rotated to a second key */
	write_file("hmac.key",
		   "# comment\n"
		   "old 0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b000000000000000000000000\n"
		   "\n"
		   "new 4a6566650000000000000000000000000000000000000000000000000000000\n");
	/* 63 hex digits: refused, with file and line */
	assert_int_equal(st_keyring_load(&kr, dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hmac.key:4:"));

	write_file("hmac.key",
		   "old 0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b000000000000000000000000\n"
		   "new 4a65666500000000000000000000000000000000000000000000000000000000\n");
	assert_int_equal(st_keyring_load(&kr, dir, err, sizeof(err)), 0);
	assert_int_equal(st_keyring_count(kr), 2);
	assert_string_equal(st_keyring_current(kr), "new");
	/* HMAC pads short keys with zeros: the same as RFC 4231 case 2/1 */
	assert_int_equal(st_pseudo_ref(kr, "what do ya want for nothing?", 28,
				       ref, sizeof(ref)), 0);
	assert_string_equal(ref, "hmac-sha256:new:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	assert_int_equal(st_pseudo_ref_with(kr, "old", "Hi There", 8, ref,
					    sizeof(ref)), 0);
	assert_string_equal(ref, "hmac-sha256:old:b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	assert_int_equal(st_pseudo_ref_with(kr, "gone", "x", 1, ref, sizeof(ref)), -1);
	/* too small an output buffer is an error, not a truncated ref */
	assert_int_equal(st_pseudo_ref(kr, "x", 1, ref, 60), -1);
	st_keyring_free(kr);

	write_file("hmac.key",
		   "a 4a65666500000000000000000000000000000000000000000000000000000000\n"
		   "a 4a65666500000000000000000000000000000000000000000000000000000000\n");
	assert_int_equal(st_keyring_load(&kr, dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate"));
	write_file("hmac.key", "bad:id 4a65666500000000000000000000000000000000000000000000000000000000\n");
	assert_int_equal(st_keyring_load(&kr, dir, err, sizeof(err)), -1);
	write_file("hmac.key", "");
	assert_int_equal(st_keyring_load(&kr, dir, err, sizeof(err)), -1);
}

static void test_keygen(void **state)
{
	char sub[128], path[160], err[256], id[ST_KEY_ID_MAX + 1], ref[ST_PSEUDO_REF_MAX];
	struct st_keyring *kr;
	EVP_PKEY *k;
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/keys", dir);
	assert_int_equal(st_keys_generate(sub, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/hmac.key", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/signing.key", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/signing.pub", sub);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* never overwrites */
	assert_int_equal(st_keys_generate(sub, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refusing"));

	assert_int_equal(st_signing_key_load(sub, &k, err, sizeof(err)), 0);
	EVP_PKEY_free(k);
	assert_int_equal(st_pubkey_load(path, &k, err, sizeof(err)), 0);
	EVP_PKEY_free(k);

	assert_int_equal(st_keyring_load(&kr, sub, err, sizeof(err)), 0);
	assert_int_equal(st_keyring_count(kr), 1);
	assert_int_equal(st_pseudo_ref(kr, "x", 1, ref, sizeof(ref)), 0);
	assert_int_equal(strlen(ref), 12 + strlen(st_keyring_current(kr)) + 1 + 64);
	st_keyring_free(kr);

	assert_int_equal(st_keys_rotate_hmac(sub, id, sizeof(id), err, sizeof(err)), 0);
	assert_int_equal(st_keyring_load(&kr, sub, err, sizeof(err)), 0);
	assert_int_equal(st_keyring_count(kr), 2);
	assert_string_equal(st_keyring_current(kr), id);
	st_keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_keyring),
		cmocka_unit_test(test_keygen),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
