// SPDX-License-Identifier: Apache-2.0
/*
 * C2SP conformance of the notes: keys known by (name, key id), signature
 * lines of other signers and algorithms skipped, cosignatures
 * (cosignature/v1) made and checked, verifier key strings. The golden
 * strings were made with Python's hashlib and the `cryptography`
 * package's Ed25519 (an implementation independent of OpenSSL's use here)
 * from the RFC 8032 test 1 key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "sealtrace/base/digest.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/keys/vkey.h"
#include "sealtrace/log/checkpoint.h"

static const char *const sk_hex =
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
#define BODY "sealtrace/credit/n1/decision\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
#define DASH "\xe2\x80\x94 "
#define LOG_SIG DASH "sealtrace/credit/n1 PbWfAsPA4nQsAt6CJt24QwIgfyHavQEjgHiNKa8uho8ByByk1P3dT3AC44RaPjnm9I9AA5qxfgBjbbWNiRWAxFVa4gg=\n"
static const char *const golden = BODY LOG_SIG;
static const char *const golden_vkey =
	"sealtrace/credit/n1+3db59f02+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
static const char *const golden_wkey =
	"witness.example/w1+eb762cc2+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
/* cosignature/v1 by witness.example/w1 at time 1700000000 */
#define COSIG DASH "witness.example/w1 63YswgAAAABlU/EAJDcWFQZL2ob2hcJqTJ/PPXx5Hnsqaz8wbgrsLOq7nZOA3kH2OORfXbm169YPy+nVdm7vmCFDE6B0AS5Msp6yAw==\n"

static EVP_PKEY *key(void)
{
	uint8_t sk[32];

	assert_int_equal(st_unhex(sk_hex, 64, sk, 32), 0);
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
}

static int parse(const char *note, EVP_PKEY *k, const char *name,
		 struct st_ckpt *got, char *err, size_t errlen)
{
	const char *names[1] = { name };

	return st_ckpt_parse_named(note, strlen(note), &k, names, 1, got, NULL,
				   err, errlen);
}

/* (a) the same signature under another name, with that name's key id */
static void test_key_name_checked(void **state)
{
	EVP_PKEY *k = key();
	uint8_t blob[68], id[4];
	char b64[100], note[512], err[256];
	struct st_ckpt got;

	assert_int_equal(st_unb64(golden + strlen(BODY) + 4 + strlen("sealtrace/credit/n1 "),
				  strlen(LOG_SIG) - 4 - strlen("sealtrace/credit/n1 ") - 1,
				  blob, sizeof(blob)), 68);
	assert_int_equal(st_note_key_id("mallory/n1", 10, ST_VKEY_ED25519, k, id), 0);
	memcpy(blob, id, 4);
	st_b64(blob, sizeof(blob), b64);
	snprintf(note, sizeof(note), BODY DASH "mallory/n1 %s\n", b64);
	/* PEM key: the name is the origin's; a vkey: the name it carries */
	assert_int_equal(parse(note, k, NULL, &got, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no signature by the given public key"));
	assert_int_equal(parse(note, k, "sealtrace/credit/n1", &got, err, sizeof(err)), -1);
	/* the signature bytes are fine: under the moved name, with a key
	 * that carries that name, they verify (C2SP's (name, id) pair) */
	assert_int_equal(parse(note, k, "mallory/n1", &got, err, sizeof(err)), 0);
	/* the untouched note, both ways */
	assert_int_equal(parse(golden, k, NULL, &got, err, sizeof(err)), 0);
	assert_int_equal(parse(golden, k, "sealtrace/credit/n1", &got, err, sizeof(err)), 0);
	assert_int_equal(parse(golden, k, "sealtrace/other/n1", &got, err, sizeof(err)), -1);
	EVP_PKEY_free(k);
}

/* (b) other lines before the log's own: cosignature, ECDSA, ML-DSA */
static void test_unknown_lines_skipped(void **state)
{
	static char note[8192], mldsa[4000];
	uint8_t junk[2424];
	EVP_PKEY *k = key();
	struct st_ckpt got;
	char err[256];

	memset(junk, 0x5a, sizeof(junk));
	st_b64(junk, sizeof(junk), mldsa);	/* an ML-DSA-44-sized line */
	snprintf(note, sizeof(note), BODY COSIG
		 DASH "ecdsa.example/log MEUCIQDz3h3bBhG5yWr0lE8vC3YdA4Zq1nqgH7nD7KkP5Y5ZAgIgdWJq9L1tkK5m3v2u1e4aH5y0k6Z8k2yXJ1XhG0xG2jQ=\n"
		 DASH "mldsa.example/log %s\n" LOG_SIG, mldsa);
	assert_true(strlen(note) > 2048);	/* (b) the old limit */
	assert_int_equal(parse(note, k, NULL, &got, err, sizeof(err)), 0);
	assert_int_equal(got.cosigs, 1);
	assert_true(got.size == 8);
	/* no line of the log: refused, naming what was there */
	snprintf(note, sizeof(note), BODY COSIG);
	assert_int_equal(parse(note, k, NULL, &got, err, sizeof(err)), -1);
	/* format-only parse accepts it and counts the cosignature */
	assert_int_equal(st_ckpt_parse_any(note, strlen(note), NULL, 0, &got, NULL,
					   err, sizeof(err)), 0);
	assert_int_equal(got.cosigs, 1);
	/* a line that is no signature line at all is still malformed */
	snprintf(note, sizeof(note), BODY "- not a signature\n" LOG_SIG);
	assert_int_equal(parse(note, k, NULL, &got, err, sizeof(err)), -1);
	snprintf(note, sizeof(note), BODY DASH "x !!!!\n" LOG_SIG);
	assert_int_equal(parse(note, k, NULL, &got, err, sizeof(err)), -1);
	EVP_PKEY_free(k);
}

static void test_cosignature(void **state)
{
	EVP_PKEY *k = key();
	struct st_buf line = { 0 };
	char note[1024], err[256];
	uint64_t ts = 0;

	/* byte-exact with the independent implementation */
	assert_int_equal(st_cosig_sign(golden, strlen(golden), "witness.example/w1", k,
				       1700000000, &line, err, sizeof(err)), 0);
	assert_string_equal(line.p, COSIG);
	snprintf(note, sizeof(note), "%s%s", golden, line.p);
	assert_int_equal(st_cosig_find(note, strlen(note), "witness.example/w1", k,
				       &ts, err, sizeof(err)), 0);
	assert_true(ts == 1700000000);
	/* another witness name: no cosignature (1); the log's own line is
	 * not a cosignature */
	assert_int_equal(st_cosig_find(note, strlen(note), "witness.example/w2", k,
				       &ts, err, sizeof(err)), 1);
	assert_int_equal(st_cosig_find(golden, strlen(golden), "sealtrace/credit/n1", k,
				       &ts, err, sizeof(err)), 1);
	/* a cosignature moved to another checkpoint does not verify */
	snprintf(note, sizeof(note), "sealtrace/credit/n1/decision\n9\n"
		 "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n%s", line.p);
	assert_int_equal(st_cosig_find(note, strlen(note), "witness.example/w1", k,
				       &ts, err, sizeof(err)), -1);
	st_buf_free(&line);
	EVP_PKEY_free(k);
}

/* (d) verifier key strings */
static void test_vkey(void **state)
{
	EVP_PKEY *k = key(), *got = NULL;
	char out[ST_VKEY_MAX], name[ST_VKEY_NAME_MAX], err[256], bad[ST_VKEY_MAX];
	uint8_t type, a[32], b[32];

	assert_int_equal(st_vkey_format("sealtrace/credit/n1", ST_VKEY_ED25519, k, out,
					sizeof(out)), 0);
	assert_string_equal(out, golden_vkey);
	assert_int_equal(st_vkey_format("witness.example/w1", ST_VKEY_COSIG_V1, k, out,
					sizeof(out)), 0);
	assert_string_equal(out, golden_wkey);
	assert_int_equal(st_vkey_parse(golden_vkey, name, sizeof(name), &type, &got,
				       err, sizeof(err)), 0);
	assert_string_equal(name, "sealtrace/credit/n1");
	assert_int_equal(type, ST_VKEY_ED25519);
	assert_int_equal(st_pubkey_raw(k, a), 0);
	assert_int_equal(st_pubkey_raw(got, b), 0);
	assert_memory_equal(a, b, 32);
	EVP_PKEY_free(got);
	/* a key id that is not the name's, a bad name, a bad type */
	snprintf(bad, sizeof(bad), "%s", golden_vkey);
	bad[strlen("sealtrace/credit/n1+")] = '4';
	assert_int_equal(st_vkey_parse(bad, name, sizeof(name), &type, &got, err,
				       sizeof(err)), -1);
	assert_non_null(strstr(err, "key id"));
	assert_int_equal(st_vkey_parse("a b+3db59f02+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea",
				       name, sizeof(name), &type, &got, err, sizeof(err)), -1);
	assert_int_equal(st_vkey_parse("no plus signs", name, sizeof(name), &type, &got,
				       err, sizeof(err)), -1);
	assert_int_equal(st_note_log_key_name(name, sizeof(name), "credit scoring", ""), 0);
	assert_string_equal(name, "sealtrace/credit_scoring/_");
	EVP_PKEY_free(k);
}

/* A keyset given the verifier key string checks notes under its name. */
static void test_keyset_vkey(void **state)
{
	struct st_keyset ks = { 0 };
	struct st_ckpt got;
	char err[256];
	size_t signer = 9;

	assert_int_equal(st_keyset_add_file(&ks, golden_vkey, err, sizeof(err)), 0);
	assert_int_equal(ks.n, 1);
	assert_string_equal(ks.note_name[0], "sealtrace/credit/n1");
	assert_int_equal(st_ckpt_parse_named(golden, strlen(golden), ks.key,
					     (const char *const *)ks.note_name, ks.n,
					     &got, &signer, err, sizeof(err)), 0);
	assert_int_equal(signer, 0);
	/* a witness key is not a log key */
	assert_int_equal(st_keyset_add_file(&ks, golden_wkey, err, sizeof(err)), -1);
	st_keyset_free(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_name_checked),
		cmocka_unit_test(test_unknown_lines_skipped),
		cmocka_unit_test(test_cosignature),
		cmocka_unit_test(test_vkey),
		cmocka_unit_test(test_keyset_vkey),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
