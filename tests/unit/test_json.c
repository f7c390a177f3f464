// SPDX-License-Identifier: Apache-2.0
/* Canonical JSON and the record line: escapes, UTF-8, integers, order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sealtrace/log/chain.h"
#include "sealtrace/base/json.h"
#include "sealtrace/log/record.h"

static void str_is(const char *in, size_t n, const char *want)
{
	struct st_buf b = { 0 };

	st_json_str(&b, in, n);
	assert_false(b.oom);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	st_buf_free(&b);
}

static void test_escapes(void **state)
{
	str_is("plain", 5, "\"plain\"");
	str_is("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
	str_is("\b\t\n\f\r", 5, "\"\\b\\t\\n\\f\\r\"");
	/* other controls as \u00xx, lower case; DEL stays literal (RFC 8785) */
	str_is("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
	/* NUL inside a length-delimited string */
	str_is("a\0b", 3, "\"a\\u0000b\"");
	/* valid multi-byte UTF-8 passes through unescaped */
	str_is("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
	       "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	str_is("\xe2\x80\xa8", 3, "\"\xe2\x80\xa8\"");	/* U+2028 literal */
}

static void test_invalid_utf8(void **state)
{
	/* every byte outside a well-formed sequence becomes U+FFFD */
	str_is("\xff", 1, "\"\xef\xbf\xbd\"");
	str_is("a\x80z", 3, "\"a\xef\xbf\xbdz\"");
	/* overlong '/' (C0 AF), surrogate D800 (ED A0 80), > U+10FFFF */
	str_is("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	str_is("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	str_is("\xf4\x90\x80\x80", 4,
	       "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	/* truncated sequence at the end */
	str_is("ok\xe2\x82", 4, "\"ok\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_false(st_utf8_valid("\xed\xa0\x80", 3));
	assert_true(st_utf8_valid("\xf4\x8f\xbf\xbf", 4));
}

static void int_is(int64_t v, const char *want)
{
	struct st_buf b = { 0 };

	st_json_int(&b, v);
	assert_string_equal(b.p, want);
	st_buf_free(&b);
}

static void test_integers(void **state)
{
	struct st_buf b = { 0 };

	int_is(0, "0");
	int_is(-1, "-1");
	int_is(9007199254740991LL, "9007199254740991");
	int_is(-9007199254740991LL, "-9007199254740991");
	/* beyond 2^53-1 a double would round: written as a string */
	int_is(9007199254740992LL, "\"9007199254740992\"");
	int_is(INT64_MIN, "\"-9223372036854775808\"");
	int_is(INT64_MAX, "\"9223372036854775807\"");
	st_json_uint(&b, UINT64_MAX);
	assert_string_equal(b.p, "\"18446744073709551615\"");
	st_buf_free(&b);
}

static void test_parser(void **state)
{
	struct st_json_doc d;
	char err[128];
	int64_t i;
	const char *ok = "{\"a\":[1,-2,\"x\\u00e9\\ud83d\\ude00\"],\"b\":null,\"c\":true}";

	assert_int_equal(st_json_parse(ok, strlen(ok), &d, err, sizeof(err)), 0);
	assert_int_equal(d.root->n, 3);
	assert_int_equal(st_jv_get(d.root, "a")->n, 3);
	assert_int_equal(st_jv_int64(st_jv_get(d.root, "a")->items[1], &i), 0);
	assert_int_equal(i, -2);
	assert_string_equal(st_jv_get(d.root, "a")->items[2]->s,
			    "x\xc3\xa9\xf0\x9f\x98\x80");
	st_json_doc_free(&d);

	static const char *const bad[] = {
		"{\"a\":1,\"a\":2}",	/* duplicate key */
		"{\"a\":1.5}",		/* fraction */
		"{\"a\":01}",		/* leading zero */
		"{\"a\":\"\\ud800\"}",	/* lone surrogate */
		"{\"a\":\"\xff\"}",	/* invalid UTF-8 */
		"{\"a\":\"\x01\"}",	/* raw control */
		"{\"a\":1} x",		/* trailing data */
		"{\"a\":18446744073709551616}",	/* overflow */
		"[[[[[[[[[[1]]]]]]]]]]",	/* too deep */
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		assert_int_equal(st_json_parse(bad[k], strlen(bad[k]), &d, err,
					       sizeof(err)), -1);
		assert_null(d.root);
	}
}

/* {"k0":0,"k1":0,...} with n keys; dup >= 0 repeats key dup at the end */
static char *many_keys(size_t n, long dup, size_t *len)
{
	struct st_buf b = { 0 };
	char k[32];
	size_t i;

	st_buf_putc(&b, '{');
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%s\"k%zu\":0", i ? "," : "", i);
		st_buf_puts(&b, k);
	}
	if (dup >= 0) {
		snprintf(k, sizeof(k), ",\"k%ld\":1", dup);
		st_buf_puts(&b, k);
	}
	st_buf_putc(&b, '}');
	assert_false(b.oom);
	*len = b.len;
	return b.p;
}

/*
 * Duplicate keys are found by sorting, not by comparing each key with every
 * earlier one (80,000 keys took verify 15 s), and one object holds at most
 * 10,000 keys. The error names the byte after the repeated key.
 */
static void test_many_keys(void **state)
{
	struct st_json_doc d;
	char err[128];
	size_t len;
	char *s;

	s = many_keys(10000, -1, &len);
	assert_int_equal(st_json_parse(s, len, &d, err, sizeof(err)), 0);
	assert_int_equal(d.root->n, 10000);
	assert_non_null(st_jv_get(d.root, "k9999"));
	st_json_doc_free(&d);
	free(s);

	s = many_keys(9999, 4321, &len);
	assert_int_equal(st_json_parse(s, len, &d, err, sizeof(err)), -1);
	assert_null(d.root);
	assert_string_equal(err, "byte 98888: duplicate key \"k4321\"");
	assert_memory_equal(s + 98888 - 7, "\"k4321\"", 7);
	free(s);

	s = many_keys(80000, -1, &len);
	assert_int_equal(st_json_parse(s, len, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "byte 98899: more than 10000 keys in one object");
	free(s);

	/* the first repeat in document order is the one reported */
	s = strdup("{\"b\":1,\"a\":2,\"c\":3,\"a\":4,\"b\":5}");
	assert_int_equal(st_json_parse(s, strlen(s), &d, err, sizeof(err)), -1);
	assert_string_equal(err, "byte 22: duplicate key \"a\"");
	free(s);
}

/* A struct table with an optional key: read when there, absent is fine. */
static int read_ab(const char *text, uint64_t *a, uint64_t *b, char *err, size_t errlen)
{
	const struct st_jfield f[] = {
		{ "a", ST_JF_U64, a, 0, NULL },
		{ "b", ST_JF_U64, b, 0, NULL },
	};
	struct st_jcur c;
	int rc;

	st_jcur_init(&c, text, strlen(text), 4, "t", err, errlen);
	rc = st_jcur_object_opt(&c, f, 2, 1ull << 1, "ab");
	st_jcur_free(&c);
	return rc;
}

static void test_object_optional_key(void **state)
{
	uint64_t a = 0, b = 7;
	char err[128];

	assert_int_equal(read_ab("{\"a\":1}", &a, &b, err, sizeof(err)), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 7);		/* absent: left as it was */
	assert_int_equal(read_ab("{\"b\":2,\"a\":3}", &a, &b, err, sizeof(err)), 0);
	assert_int_equal(a, 3);
	assert_int_equal(b, 2);
	assert_int_equal(read_ab("{\"b\":2}", &a, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing key \"a\" in ab"));
	assert_int_equal(read_ab("{\"a\":1,\"b\":2,\"b\":3}", &a, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "duplicate key \"b\" in ab"));
}

static const char *const golden =
	"{\"schema_version\":1,\"event_id\":\"01890a5d-ac96-774b-bcce-b302099a8057\","
	"\"event_type\":\"inference\",\"timestamp_utc\":\"2023-06-30T12:00:00.000000042Z\","
	"\"system_id\":\"credit\",\"operator_id\":\"bank\",\"node_id\":\"n1\",\"stream\":\"decision\","
	"\"seq\":7,\"pid\":42,\"tid\":43,\"comm\":\"srv\\n\xef\xbf\xbd\",\"container_id\":null,"
	"\"probe\":\"llama_decode\",\"model_version\":null,\"model_artifact\":null,"
	"\"input_hash\":\"hmac-sha256:k1:00\",\"input_len\":12,\"output_reference\":null,"
	"\"output_len\":null,\"duration_ns\":1000,\"ret\":\"-9223372036854775808\","
	"\"human_override_applied\":false,"
	"\"details\":{\"a\":-1,\"input_truncated\":true,\"kseq\":\"18446744073709551615\",\"z\":\"q\"},"
	"\"preceding_event_hash\":\"" ST_CHAIN_GENESIS_HEX "\"}";

static void test_record_golden(void **state)
{
	struct st_kv det[] = {
		{ .key = "z", .kind = ST_KV_STR, .v.s = "q" },
		{ .key = "kseq", .kind = ST_KV_UINT, .v.u = UINT64_MAX },
		{ .key = "input_truncated", .kind = ST_KV_BOOL, .v.b = true },
		{ .key = "a", .kind = ST_KV_INT, .v.i = -1 },
	};
	struct st_record r = {
		.type = ST_ET_INFERENCE, .timestamp_ns = 1688126400000000042ULL,
		.pid = 42, .tid = 43, .comm = "srv\n\xff", .probe = "llama_decode",
		.input_hash = "hmac-sha256:k1:00", .input_len = 12,
		.output_len = -1, .duration_ns = 1000, .has_ret = true,
		.ret = INT64_MIN, .details = det, .ndetails = 4,
		.schema_version = 1,	/* the old layout is still written back as it was */
	};
	struct st_record_hdr h = {
		.event_id = "01890a5d-ac96-774b-bcce-b302099a8057",
		.system_id = "credit", .operator_id = "bank", .node_id = "n1",
		.stream = ST_STREAM_DECISION, .seq = 7,
		.prev_hex = ST_CHAIN_GENESIS_HEX,
	};
	struct st_buf b = { 0 }, scratch = { 0 };
	struct st_record_parsed p;
	char err[256];

	assert_int_equal(st_record_canon(&b, &h, &r, err, sizeof(err)), 0);
	assert_string_equal(b.p, golden);

	/* reads back, and is recognised as canonical */
	assert_int_equal(st_record_parse(b.p, b.len, &p, &scratch, err,
					 sizeof(err)), 0);
	assert_int_equal(p.hdr.seq, 7);
	assert_int_equal(p.rec.ret, INT64_MIN);
	assert_int_equal(p.rec.ndetails, 4);
	assert_string_equal(p.rec.comm, "srv\n\xef\xbf\xbd");
	st_record_parsed_free(&p);

	/* raw data in a reference slot is refused */
	r.input_hash = "alice@example.com";
	b.len = 0;
	assert_int_equal(st_record_canon(&b, &h, &r, err, sizeof(err)), -1);
	r.input_hash = "hmac-sha256:k1:00";
	/* a decision event in the system stream is refused */
	h.stream = ST_STREAM_SYSTEM;
	assert_int_equal(st_record_canon(&b, &h, &r, err, sizeof(err)), -1);
	h.stream = ST_STREAM_DECISION;
	/* duplicate detail key */
	det[0].key = "a";
	assert_int_equal(st_record_canon(&b, &h, &r, err, sizeof(err)), -1);
	st_buf_free(&b);
	st_buf_free(&scratch);
}

static void not_canonical(const char *from, const char *to)
{
	struct st_buf line = { 0 }, scratch = { 0 };
	struct st_record_parsed p;
	const char *at = strstr(golden, from);
	char err[256];

	assert_non_null(at);
	st_buf_put(&line, golden, (size_t)(at - golden));
	st_buf_puts(&line, to);
	st_buf_puts(&line, at + strlen(from));
	assert_int_equal(st_record_parse(line.p, line.len, &p, &scratch, err,
					 sizeof(err)), -1);
	st_record_parsed_free(&p);
	st_buf_free(&line);
	st_buf_free(&scratch);
}

static void test_record_not_canonical(void **state)
{
	not_canonical("\"seq\":7", "\"seq\": 7");		/* whitespace */
	not_canonical("\"seq\":7", "\"seq\":\"7\"");		/* type */
	not_canonical("\"duration_ns\":1000", "\"duration_ns\":\"1000\"");
	not_canonical("\"comm\":\"srv", "\"comm\":\"\\u0073rv");	/* escape */
	not_canonical("\"a\":-1,\"input_truncated\":true",
		      "\"input_truncated\":true,\"a\":-1");	/* order */
	not_canonical("\"pid\":42,\"tid\":43", "\"tid\":43,\"pid\":42");
	not_canonical("\"container_id\":null,", "");		/* missing */
	not_canonical("\"2023-06-30T12:00:00.000000042Z\"",
		      "\"2023-06-30T14:00:00.000000042+02:00\"");
	not_canonical("\"schema_version\":1", "\"schema_version\":2");
	not_canonical("\"event_type\":\"inference\"", "\"event_type\":\"heartbeat\"");
}

static void test_time(void **state)
{
	char t[ST_TIME_LEN + 1];
	uint64_t ns;

	assert_int_equal(st_time_format(0, t), 0);
	assert_string_equal(t, "1970-01-01T00:00:00.000000000Z");
	assert_int_equal(st_time_parse("2023-06-30T14:00:00.5+02:00", &ns), 0);
	assert_true(ns == 1688126400500000000ULL);
	assert_int_equal(st_time_parse("2023-06-30", &ns), 0);
	assert_true(ns == 1688083200000000000ULL);
	assert_int_equal(st_time_parse("2023-06-30T14:00:00", &ns), -1);
	assert_int_equal(st_time_parse("yesterday", &ns), -1);
}

/* Dates that do not exist, and dates that 64-bit nanoseconds cannot hold. */
static void test_time_range(void **state)
{
	char why[200], t[ST_TIME_LEN + 1];
	uint64_t ns;

	assert_int_equal(st_time_parse_why("2025-02-31", &ns, why, sizeof(why)), -1);
	assert_string_equal(why, "'2025-02-31': 2025-02 has no day 31");
	assert_int_equal(st_time_parse_why("2025-04-31T00:00:00Z", &ns, why, sizeof(why)), -1);
	assert_string_equal(why, "'2025-04-31T00:00:00Z': 2025-04 has no day 31");
	assert_int_equal(st_time_parse("1900-02-29", &ns), -1);
	assert_int_equal(st_time_parse("2100-02-29", &ns), -1);
	assert_int_equal(st_time_parse("2000-02-29", &ns), 0);
	assert_true(ns == 951782400000000000ULL);
	assert_int_equal(st_time_parse("2024-02-29T23:59:60Z", &ns), 0);	/* leap second */
	assert_int_equal(st_time_parse_why("2025-00-10", &ns, why, sizeof(why)), -1);
	assert_string_equal(why, "'2025-00-10': there is no month 0");
	assert_int_equal(st_time_parse_why("2600-01-01", &ns, why, sizeof(why)), -1);
	assert_string_equal(why, "'2600-01-01' is after 2554-07-21T23:34:32Z, the last second "
			    "a 64-bit nanosecond timestamp holds");
	assert_int_equal(st_time_parse("9999-12-31T23:59:59Z", &ns), -1);
	assert_int_equal(st_time_parse("2554-07-21T23:34:33Z", &ns), -1);
	assert_int_equal(st_time_parse("2554-07-22T00:34:33+01:00", &ns), -1);
	assert_int_equal(st_time_parse("2554-07-21T23:34:32.999999999Z", &ns), 0);
	assert_true(ns == 18446744072999999999ULL);
	assert_int_equal(st_time_format(ns, t), 0);
	assert_string_equal(t, "2554-07-21T23:34:32.999999999Z");
	assert_int_equal(st_time_parse_why("1969-12-31T23:59:59Z", &ns, why, sizeof(why)), -1);
	assert_string_equal(why, "'1969-12-31T23:59:59Z' is before 1970-01-01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_parser),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_object_optional_key),
		cmocka_unit_test(test_record_golden),
		cmocka_unit_test(test_record_not_canonical),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_time_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
