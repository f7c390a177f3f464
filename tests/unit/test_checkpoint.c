// SPDX-License-Identifier: Apache-2.0
/* Checkpoints: signed-note text, Ed25519 sign/verify, tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "sealtrace/log/checkpoint.h"
#include "sealtrace/base/digest.h"

/* RFC 8032 test 1 key; the note below was made by an independent
 * pure-Python RFC 8032 signer (the one docs/verify.md verifies with). */
static const char *const sk_hex =
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *const golden =
	"sealtrace/credit/n1/decision\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
	"\xe2\x80\x94 sealtrace/credit/n1 PbWfAsPA4nQsAt6CJt24QwIgfyHavQEjgHiNKa8uho8ByByk1P3dT3AC44RaPjnm9I9AA5qxfgBjbbWNiRWAxFVa4gg=\n";

static EVP_PKEY *key(void)
{
	uint8_t sk[32];

	assert_int_equal(st_unhex(sk_hex, 64, sk, 32), 0);
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
}

static void test_sign_golden(void **state)
{
	EVP_PKEY *k = key();
	struct st_buf b = { 0 };
	struct st_ckpt c = { .size = 8 }, got;
	char name[64], err[256];

	assert_int_equal(st_ckpt_origin(c.origin, sizeof(c.origin), "credit", "n1",
					ST_STREAM_DECISION), 0);
	assert_int_equal(st_ckpt_key_name(name, sizeof(name), "credit", "n1"), 0);
	assert_int_equal(st_unhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
				  64, c.root, 32), 0);
	assert_int_equal(st_ckpt_sign(&c, name, k, &b, err, sizeof(err)), 0);
	assert_string_equal(b.p, golden);

	assert_int_equal(st_ckpt_parse(b.p, b.len, k, &got, err, sizeof(err)), 0);
	assert_string_equal(got.origin, "sealtrace/credit/n1/decision");
	assert_true(got.size == 8);
	assert_memory_equal(got.root, c.root, 32);
	assert_int_equal(st_ckpt_stream(&got), ST_STREAM_DECISION);
	st_buf_free(&b);
	EVP_PKEY_free(k);
}

static void expect_bad(const char *note, EVP_PKEY *k, const char *why)
{
	struct st_ckpt got;
	char err[256];

	assert_int_equal(st_ckpt_parse(note, strlen(note), k, &got, err,
				       sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("error '%s' lacks '%s'", err, why);
}

static void replace(char *buf, const char *from, const char *to)
{
	char *at = strstr(buf, from);
	char tail[512];

	assert_non_null(at);
	snprintf(tail, sizeof(tail), "%s", at + strlen(from));
	sprintf(at, "%s%s", to, tail);
}

static void test_tamper(void **state)
{
	EVP_PKEY *k = key(), *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char buf[512];

	assert_non_null(other);
	strcpy(buf, golden);
	replace(buf, "\n8\n", "\n9\n");			/* size */
	expect_bad(buf, k, "does not verify");
	strcpy(buf, golden);
	replace(buf, "/decision\n", "/system\n");	/* origin */
	expect_bad(buf, k, "does not verify");
	strcpy(buf, golden);
	replace(buf, "WAxFVa4gg=", "WAxFVa4gh=");	/* only padding bits */
	expect_bad(buf, k, "malformed");	/* non-canonical base64 */
	strcpy(buf, golden);
	replace(buf, "WAxFVa4gg=", "WAxFVa4gk=");	/* last signature bits */
	expect_bad(buf, k, "does not verify");
	strcpy(buf, golden);
	replace(buf, "PbWfAsPA4nQs", "PbWfAsPA4nQt");	/* signature byte */
	expect_bad(buf, k, "does not verify");
	/* a valid note, but not by this key */
	expect_bad(golden, other, "no signature by the given public key");
	strcpy(buf, golden);
	replace(buf, "\n\n", "\n");			/* no blank line */
	expect_bad(buf, k, "blank line");
	strcpy(buf, golden);
	replace(buf, "=\n\n", "=\n\nno dash\n");
	expect_bad(buf, k, "does not start");
	strcpy(buf, golden);
	buf[strlen(buf) - 1] = '\0';			/* no final newline */
	expect_bad(buf, k, "newline");
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/* After a key rotation a note may be signed by any of several keys. */
static void test_any_key(void **state)
{
	EVP_PKEY *k = key(), *a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *keys[3] = { a, b, k };
	struct st_ckpt got;
	size_t signer = 99;
	char err[512], buf[512];

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(st_ckpt_parse_any(golden, strlen(golden), keys, 3, &got,
					   &signer, err, sizeof(err)), 0);
	assert_int_equal(signer, 2);
	assert_true(got.size == 8);
	keys[0] = k;
	keys[2] = a;
	assert_int_equal(st_ckpt_parse_any(golden, strlen(golden), keys, 3, &got,
					   &signer, err, sizeof(err)), 0);
	assert_int_equal(signer, 0);
	/* none of them: the note's own signer is named */
	assert_int_equal(st_ckpt_parse_any(golden, strlen(golden), keys + 1, 2,
					   &got, &signer, err, sizeof(err)), -1);
	assert_string_equal(err, "checkpoint: no signature by any of the 2 given public keys (signed by 'sealtrace/credit/n1' key id 3db59f02)");
	assert_int_equal(st_ckpt_parse_any(golden, strlen(golden), keys + 1, 1,
					   &got, &signer, err, sizeof(err)), -1);
	assert_string_equal(err, "checkpoint: no signature by the given public key (signed by 'sealtrace/credit/n1' key id 3db59f02)");
	/* a matching key id with a bad signature is still tampering */
	strcpy(buf, golden);
	replace(buf, "\n8\n", "\n9\n");
	assert_int_equal(st_ckpt_parse_any(buf, strlen(buf), keys, 3, &got,
					   &signer, err, sizeof(err)), -1);
	assert_string_equal(err, "checkpoint: Ed25519 signature of 'sealtrace/credit/n1' does not verify");
	/* no keys: the format only */
	assert_int_equal(st_ckpt_parse_any(golden, strlen(golden), NULL, 0, &got,
					   NULL, err, sizeof(err)), 0);
	EVP_PKEY_free(k);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_golden),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_any_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
