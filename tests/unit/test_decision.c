// SPDX-License-Identifier: Apache-2.0
/*
 * Decision fields: RFC 8785 numbers, RFC 6901 pointers, extraction into
 * clear values and per-field HMAC refs, and schema 2 records (decision,
 * pseudonyms) next to schema 1 records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/hmac.h>

#include "sealtrace/base/json.h"
#include "sealtrace/log/chain.h"
#include "sealtrace/log/decision.h"
#include "sealtrace/log/record.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void num_is(double v, const char *want)
{
	struct st_buf b = { 0 };

	st_json_double(&b, v);
	st_buf_putc(&b, '\0');
	assert_false(b.oom);
	assert_string_equal(b.p, want);
	st_buf_free(&b);
}

/* RFC 8785 appendix B and ECMAScript's notation switches */
static void test_numbers(void **state)
{
	num_is(0.63, "0.63");
	num_is(1.0, "1");
	num_is(-0.0, "0");
	num_is(1e21, "1e+21");
	num_is(1e20, "100000000000000000000");
	num_is(1.5e-7, "1.5e-7");
	num_is(0.000001, "0.000001");
	num_is(123.456, "123.456");
	num_is(5e-324, "5e-324");
	num_is(1.7976931348623157e308, "1.7976931348623157e+308");
	num_is(0.1 + 0.2, "0.30000000000000004");
	num_is(-9007199254740992.0, "-9007199254740992");
	num_is(333333333.3333333, "333333333.3333333");
}

static const char *body =
	"{\"applicant_id\":\"A-00017\",\"score\":0.87,\"approve\":true,"
	"\"a/b\":{\"m~n\":[10,{\"x\":null}]},\"big\":123456789012345678901234,"
	"\"long\":\"\xc3\xa9\xc3\xa9\xc3\xa9\",\"nested\":{\"deep\":[1]},\"n\":-5}";

static void test_pointer(void **state)
{
	struct st_json_doc doc;
	const struct st_jv *v;
	char err[256];

	assert_int_equal(st_json_parse_any(body, strlen(body), &doc, err, sizeof(err)), 0);
	assert_ptr_equal(st_json_pointer_get(doc.root, ""), doc.root);
	v = st_json_pointer_get(doc.root, "/a~1b/m~0n/0");
	assert_non_null(v);
	assert_int_equal(v->t, ST_JINT);
	assert_int_equal(v->mag, 10);
	v = st_json_pointer_get(doc.root, "/a~1b/m~0n/1/x");
	assert_non_null(v);
	assert_int_equal(v->t, ST_JNULL);
	assert_null(st_json_pointer_get(doc.root, "/a~1b/m~0n/2"));
	assert_null(st_json_pointer_get(doc.root, "/a~1b/m~0n/01"));
	assert_null(st_json_pointer_get(doc.root, "/a~1b/m~0n/-"));
	assert_null(st_json_pointer_get(doc.root, "/nope"));
	v = st_json_pointer_get(doc.root, "/big");
	assert_int_equal(v->t, ST_JNUM);
	st_json_doc_free(&doc);

	assert_int_equal(st_json_pointer_valid("", err, sizeof(err)), 0);
	assert_int_equal(st_json_pointer_valid("/a~0~1", err, sizeof(err)), 0);
	assert_int_equal(st_json_pointer_valid("a", err, sizeof(err)), -1);
	assert_int_equal(st_json_pointer_valid("/a~2", err, sizeof(err)), -1);
	/* the record parser stays integers-only */
	assert_int_equal(st_json_parse("1.5", 3, &doc, err, sizeof(err)), -1);
}

static struct st_keyring *one_key(void)
{
	char path[] = "/tmp/st-test-decision-XXXXXX", file[64], err[256];
	struct st_keyring *kr = NULL;
	FILE *f;

	assert_non_null(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/hmac.key", path);
	f = fopen(file, "w");
	assert_non_null(f);
	fprintf(f, "k1 " KEY_HEX "\n");
	fclose(f);
	assert_int_equal(st_keyring_load_file(&kr, file, err, sizeof(err)), 0);
	unlink(file);
	rmdir(path);
	return kr;
}

static void hmac_ref(const char *msg, char out[ST_PSEUDO_REF_MAX])
{
	uint8_t key[32], mac[32];
	unsigned int len = 0, i;
	int n;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	HMAC(EVP_sha256(), key, 32, (const uint8_t *)msg, strlen(msg), mac, &len);
	n = snprintf(out, ST_PSEUDO_REF_MAX, "hmac-sha256:k1:");
	for (i = 0; i < 32; i++)
		n += snprintf(out + n, ST_PSEUDO_REF_MAX - (size_t)n, "%02x", mac[i]);
}

static const struct st_kv *kv_of(const struct st_kv *kvs, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kvs[i].key, key))
			return &kvs[i];
	return NULL;
}

static void test_extract(void **state)
{
	struct st_decision_field f[] = {
		{ .name = "score", .pointer = "/score", .src = ST_DSRC_RESPONSE },
		{ .name = "approve", .pointer = "/approve", .src = ST_DSRC_RESPONSE },
		{ .name = "long", .pointer = "/long", .src = ST_DSRC_RESPONSE },
		{ .name = "n", .pointer = "/n", .src = ST_DSRC_RESPONSE },
		{ .name = "obj", .pointer = "/nested", .src = ST_DSRC_RESPONSE },
		{ .name = "absent", .pointer = "/absent", .src = ST_DSRC_RESPONSE },
		{ .name = "applicant_id", .pointer = "/applicant_id",
		  .src = ST_DSRC_REQUEST, .pseudonymise = true },
		{ .name = "num_id", .pointer = "/n", .src = ST_DSRC_REQUEST,
		  .pseudonymise = true },
	};
	struct st_decision_spec spec = { .fields = f, .nfields = 8, .max_string = 5 };
	struct st_keyring *kr = one_key();
	struct st_decision_result r;
	const struct st_kv *kv;
	char want[ST_PSEUDO_REF_MAX];

	st_decision_extract(&spec, kr, body, strlen(body), true, body, strlen(body),
			    true, &r);
	assert_true(r.any_clear);
	assert_true(r.any_refs);
	assert_int_equal(r.nclear, 4);
	kv = kv_of(r.clear, r.nclear, "score");
	assert_int_equal(kv->kind, ST_KV_NUM);
	assert_true(kv->v.d == 0.87);
	kv = kv_of(r.clear, r.nclear, "approve");
	assert_int_equal(kv->kind, ST_KV_BOOL);
	assert_true(kv->v.b);
	/* 5 bytes cap, never inside a UTF-8 sequence: two e-acutes */
	kv = kv_of(r.clear, r.nclear, "long");
	assert_string_equal(kv->v.s, "\xc3\xa9\xc3\xa9");
	assert_string_equal(r.truncated, "long");
	kv = kv_of(r.clear, r.nclear, "n");
	assert_int_equal(kv->kind, ST_KV_INT);
	assert_int_equal(kv->v.i, -5);
	assert_string_equal(r.missing, "obj,absent");
	assert_int_equal(r.nrefs, 2);
	hmac_ref("A-00017", want);
	assert_string_equal(kv_of(r.refs, r.nrefs, "applicant_id")->v.s, want);
	hmac_ref("-5", want);
	assert_string_equal(kv_of(r.refs, r.nrefs, "num_id")->v.s, want);
	st_decision_result_free(&r);

	/* a response cut at the cap, a request that is not JSON: all missing */
	st_decision_extract(&spec, kr, "nope", 4, true, body, 10, false, &r);
	assert_int_equal(r.nclear, 0);
	assert_int_equal(r.nrefs, 0);
	assert_string_equal(r.missing, "score,approve,long,n,obj,absent,applicant_id,num_id");
	assert_non_null(strstr(r.error, "response: cut at the capture cap"));
	assert_non_null(strstr(r.error, "request: not JSON"));
	st_decision_result_free(&r);
	st_keyring_free(kr);
}

static void test_record_v2(void **state)
{
	struct st_kv dec[] = {
		st_kv_num("score", 0.87), st_kv_str("decision", "approve"),
		st_kv_null("note"), st_kv_uint("rank", 3),
	};
	struct st_kv pse[] = { st_kv_str("applicant_id", "hmac-sha256:k1:ab") };
	struct st_kv det[] = { st_kv_uint("kseq", 1) };
	struct st_record r;
	struct st_record_hdr h = {
		.event_id = "01890a5d-ac96-774b-bcce-b302099a8057",
		.stream = ST_STREAM_DECISION, .seq = 0,
		.prev_hex = ST_CHAIN_GENESIS_HEX,
	};
	struct st_buf b = { 0 }, again = { 0 }, scratch = { 0 };
	struct st_record_parsed p;
	char err[256];

	st_record_init(&r, ST_ET_INFERENCE, 1688126400000000042ULL);
	r.has_decision = r.has_pseudonyms = true;
	r.decision = dec;
	r.ndecision = 4;
	r.pseudonyms = pse;
	r.npseudonyms = 1;
	r.details = det;
	r.ndetails = 1;
	assert_int_equal(st_record_canon(&b, &h, &r, err, sizeof(err)), 0);
	st_buf_putc(&b, '\0');
	assert_non_null(strstr(b.p, "\"schema_version\":2,"));
	assert_non_null(strstr(b.p, "\"human_override_applied\":false,"
			       "\"decision\":{\"decision\":\"approve\",\"note\":null,\"rank\":3,\"score\":0.87},"
			       "\"pseudonyms\":{\"applicant_id\":\"hmac-sha256:k1:ab\"},"
			       "\"details\":{\"kseq\":1},"));
	assert_int_equal(st_record_parse(b.p, b.len - 1, &p, &scratch, err, sizeof(err)), 0);
	assert_int_equal(p.rec.schema_version, 2);
	assert_int_equal(p.rec.ndecision, 4);
	assert_int_equal(p.rec.npseudonyms, 1);
	st_record_parsed_free(&p);

	/* a pseudonym that is not a reference is refused: no raw ids */
	pse[0] = st_kv_str("applicant_id", "A-00017");
	assert_int_equal(st_record_canon(&again, &h, &r, err, sizeof(err)), -1);
	pse[0] = st_kv_str("applicant_id", "hmac-sha256:k1:ab");
	/* a number in details is refused: only decision holds numbers */
	det[0] = st_kv_num("kseq", 1.5);
	assert_int_equal(st_record_canon(&again, &h, &r, err, sizeof(err)), -1);
	det[0] = st_kv_uint("kseq", 1);
	/* no decision configured: both null */
	r.has_decision = r.has_pseudonyms = false;
	r.ndecision = r.npseudonyms = 0;
	again.len = 0;
	assert_int_equal(st_record_canon(&again, &h, &r, err, sizeof(err)), 0);
	st_buf_putc(&again, '\0');
	assert_non_null(strstr(again.p, "\"decision\":null,\"pseudonyms\":null,\"details\""));
	/* schema 1 cannot carry them */
	r.schema_version = 1;
	r.has_decision = true;
	assert_int_equal(st_record_canon(&again, &h, &r, err, sizeof(err)), -1);
	st_buf_free(&b);
	st_buf_free(&again);
	st_buf_free(&scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_extract),
		cmocka_unit_test(test_record_v2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
