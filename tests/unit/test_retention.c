// SPDX-License-Identifier: Apache-2.0
/* Retention: frontier math against a full tree, holds, purge selection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sealtrace/log/retention.h"

#define NLEAVES 300

static uint8_t leaves[NLEAVES][ST_HASH_LEN];

/* RFC 6962 MTH by its recursive definition: independent of st_merkle. */
static void mth(struct st_hasher *h, size_t lo, size_t hi, uint8_t out[ST_HASH_LEN])
{
	uint8_t l[ST_HASH_LEN], r[ST_HASH_LEN];
	size_t k = 1;

	if (hi - lo == 1) {
		memcpy(out, leaves[lo], ST_HASH_LEN);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	mth(h, lo, lo + k, l);
	mth(h, lo + k, hi, r);
	assert_int_equal(st_merkle_node(h, l, r, out), 0);
}

static void make_leaves(struct st_hasher *h)
{
	char line[32];
	size_t i;

	for (i = 0; i < NLEAVES; i++) {
		snprintf(line, sizeof(line), "record %zu", i);
		assert_int_equal(st_merkle_leaf(h, line, strlen(line), leaves[i]), 0);
	}
}

/*
 * For every purge point k and end n > k: the frontier of seqs 0..k-1,
 * written out and read back, plus leaves k..n-1, gives the root of the
 * full tree of n leaves; so verify's roots after a purge are the signed ones.
 */
static void test_frontier_continues_full_tree(void **state)
{
	struct st_hasher *h = st_hasher_new();
	static uint8_t want[NLEAVES][ST_HASH_LEN];
	char text[ST_FRONTIER_HEX_MAX + 1];
	uint8_t got[ST_HASH_LEN];
	struct st_merkle full, back;
	size_t k, n, i;

	(void)state;
	assert_non_null(h);
	make_leaves(h);
	for (n = 1; n < NLEAVES; n++)
		mth(h, 0, n, want[n]);
	for (k = 0; k < 140; k++) {
		st_merkle_init(&full);
		for (i = 0; i < k; i++)
			assert_int_equal(st_merkle_append(&full, h, leaves[i]), 0);
		st_frontier_format(&full, text);
		assert_int_equal(strlen(text), __builtin_popcountll(k) * (ST_HASH_HEX + 1) -
				 (k ? 1 : 0));
		assert_int_equal(st_frontier_parse(text, k, &back), 0);
		assert_true(back.size == k);
		for (n = k; n < NLEAVES; n++) {
			if (n > k)
				assert_int_equal(st_merkle_append(&back, h, leaves[n - 1]), 0);
			if (!n)
				continue;
			assert_int_equal(st_merkle_root(&back, h, got), 0);
			assert_memory_equal(got, want[n], ST_HASH_LEN);
		}
	}
	st_hasher_free(h);
}

static void test_frontier_rejects(void **state)
{
	struct st_hasher *h = st_hasher_new();
	char text[ST_FRONTIER_HEX_MAX + 1], bad[ST_FRONTIER_HEX_MAX + 8];
	struct st_merkle m, back;
	size_t i;

	(void)state;
	make_leaves(h);
	st_merkle_init(&m);
	for (i = 0; i < 5; i++)		/* 5 = 101b: two hashes */
		st_merkle_append(&m, h, leaves[i]);
	st_frontier_format(&m, text);
	assert_int_equal(strlen(text), 129);
	assert_int_equal(st_frontier_parse(text, 5, &back), 0);
	/* the first hash is the subtree of leaves 0..3 */
	assert_memory_equal(back.node[2], m.node[2], ST_HASH_LEN);
	assert_int_equal(st_frontier_parse(text, 4, &back), -1);	/* one bit */
	assert_int_equal(st_frontier_parse(text, 7, &back), -1);	/* three */
	assert_int_equal(st_frontier_parse("", 0, &back), 0);
	assert_int_equal(st_frontier_parse("", 1, &back), -1);
	snprintf(bad, sizeof(bad), "%s,", text);
	assert_int_equal(st_frontier_parse(bad, 5, &back), -1);
	memcpy(bad, text, sizeof(text));
	bad[64] = ';';
	assert_int_equal(st_frontier_parse(bad, 5, &back), -1);
	bad[64] = ',';
	bad[3] = 'g';
	assert_int_equal(st_frontier_parse(bad, 5, &back), -1);
	st_hasher_free(h);
}

static void test_purge_record_roundtrip(void **state)
{
	struct st_hasher *h = st_hasher_new();
	struct st_purge p = { .stream = ST_STREAM_DECISION }, q;
	struct st_purge_text t;
	struct st_record rec;
	char err[256];
	size_t i;

	(void)state;
	make_leaves(h);
	st_merkle_init(&p.tree);
	for (i = 0; i < 20; i++)
		st_merkle_append(&p.tree, h, leaves[i]);
	p.first_seq = 10;
	p.last_seq = 19;
	p.count = 10;
	st_seg_name(10, p.segment);
	memset(p.last_hash, 0xab, ST_HASH_LEN);
	st_purge_details(&p, &t);
	st_record_init(&rec, ST_ET_RETENTION_PURGE, 1);
	rec.details = t.d;
	rec.ndetails = ST_PURGE_NDETAILS;
	assert_int_equal(st_purge_parse(&rec, &q, err, sizeof(err)), 0);
	assert_int_equal(q.stream, ST_STREAM_DECISION);
	assert_string_equal(q.segment, "00000000000000000010.seg");
	assert_true(q.first_seq == 10 && q.last_seq == 19 && q.count == 10);
	assert_memory_equal(q.last_hash, p.last_hash, ST_HASH_LEN);
	assert_true(q.tree.size == 20);
	assert_memory_equal(q.tree.node[2], p.tree.node[2], ST_HASH_LEN);
	assert_memory_equal(q.tree.node[4], p.tree.node[4], ST_HASH_LEN);

	t.d[4] = st_kv_uint("records", 9);
	assert_int_equal(st_purge_parse(&rec, &q, err, sizeof(err)), -1);
	assert_string_equal(err, "retention_purge: records 9 do not match seq 10..19");
	t.d[4] = st_kv_uint("records", 10);
	t.d[1] = st_kv_str("segment", "00000000000000000000.seg");
	assert_int_equal(st_purge_parse(&rec, &q, err, sizeof(err)), -1);
	assert_string_equal(err, "retention_purge: segment '00000000000000000000.seg' is not the one of seq 10");
	t.d[1] = st_kv_str("segment", p.segment);
	t.d[3] = st_kv_uint("last_seq", 20);
	t.d[4] = st_kv_uint("records", 11);
	assert_int_equal(st_purge_parse(&rec, &q, err, sizeof(err)), -1);
	assert_string_equal(err, "retention_purge: frontier is not the 3 hashes of a tree of 21 leaves");
	st_hasher_free(h);
}

/* hold text by strlen (the NUL case calls st_hold_parse itself) */
static int hp(const char *text, struct st_hold *h, char why[256])
{
	return st_hold_parse(text, strlen(text), h, why, 256);
}

#define T(s) ((uint64_t)(s) * 1000000000ull)

static void test_hold_parse(void **state)
{
	struct st_hold h;
	char why[256];

	(void)state;
	assert_int_equal(hp("from: 2025-01-01T00:00:00Z\nto: 2025-01-02\nreason: case 17\n", &h, why), 0);
	assert_true(h.from_ns == T(1735689600) && h.to_ns == T(1735776000));
	assert_int_equal(hp("Litigation X v. Y\nall\n", &h, why), 0);
	assert_true(h.from_ns == 0 && h.to_ns == UINT64_MAX);
	assert_int_equal(hp("from: yesterday\nto: 2025-01-02\n", &h, why), -1);
	assert_string_equal(why, "line 1: 'from:' is not an RFC 3339 time: 'yesterday' is not a time "
			    "(YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.frac]] with Z or +HH:MM)");
	/* impossible dates and dates beyond 64-bit nanoseconds are refused,
	 * not moved to March 3 or wrapped to an early time */
	assert_int_equal(hp("from: 2025-02-29\nto: 2025-03-01\n", &h, why), -1);
	assert_string_equal(why, "line 1: 'from:' is not an RFC 3339 time: '2025-02-29': 2025-02 has no day 29");
	assert_int_equal(hp("from: 2025-01-01\nto: 2600-01-01\n", &h, why), -1);
	assert_string_equal(why, "line 2: 'to:' is not an RFC 3339 time: '2600-01-01' is after "
			    "2554-07-21T23:34:32Z, the last second a 64-bit nanosecond timestamp holds");
	assert_int_equal(hp("from: 2024-02-29\nto: 2554-07-21T23:34:32.999999999Z\n", &h, why), 0);
	assert_true(h.from_ns == T(1709164800) && h.to_ns == 18446744072999999999ULL);
	assert_int_equal(hp("reason\n\nto: 2025-01-02\nto: 2025-01-03\n", &h, why), -1);
	assert_string_equal(why, "line 4: 'to:' given twice");
	assert_int_equal(hp("from: 2025-01-01\n", &h, why), -1);
	assert_string_equal(why, "needs 'from: <RFC 3339>' and 'to: <RFC 3339>', or a line 'all'");
	assert_int_equal(hp("", &h, why), -1);
	assert_int_equal(hp("from: 2025-02-01\nto: 2025-01-01\n", &h, why), -1);
	assert_string_equal(why, "'from:' is after 'to:'");
	assert_int_equal(hp("all\nfrom: 2025-01-01\nto: 2025-01-02\n", &h, why), -1);
	assert_string_equal(why, "'all' together with from:/to: (give one or the other)");
	assert_int_equal(st_hold_parse("al\0l\n", 5, &h, why, sizeof(why)), -1);
	assert_string_equal(why, "not a text file (NUL byte)");
}

static void test_holds_cover(void **state)
{
	struct st_hold v[2] = { { T(100), T(200) }, { T(500), T(500) } };
	struct st_holds hs = { v, 2 };

	(void)state;
	assert_true(st_holds_cover(&hs, T(150), T(160)));
	assert_true(st_holds_cover(&hs, T(50), T(100)));	/* inclusive */
	assert_true(st_holds_cover(&hs, T(200), T(300)));
	assert_true(st_holds_cover(&hs, T(400), T(600)));	/* spans one */
	assert_false(st_holds_cover(&hs, T(201), T(499)));
	assert_false(st_holds_cover(&hs, T(501), T(900)));
	hs.n = 0;
	assert_false(st_holds_cover(&hs, 0, UINT64_MAX));
}

static void test_purge_decide(void **state)
{
	struct st_hold v[1] = { { 10 * ST_DAY_NS, 11 * ST_DAY_NS } };
	struct st_holds hs = { v, 1 };
	struct st_seg_info seg = {
		.first_seq = 100, .last_seq = 199,
		.min_ts = 5 * ST_DAY_NS, .max_ts = 6 * ST_DAY_NS,
	};
	struct st_purge_ctx c = {
		.days = 183, .now_ns = 189 * ST_DAY_NS, .signed_size = 200,
		.holds = &hs, .keep_seq = UINT64_MAX,
	};

	(void)state;
	assert_int_equal(st_purge_decide(&seg, false, &c), ST_PURGE_OK);
	assert_int_equal(st_purge_decide(&seg, true, &c), ST_KEEP_CURRENT);
	c.now_ns -= 1;		/* the newest record is one ns short of 183 days */
	assert_int_equal(st_purge_decide(&seg, false, &c), ST_KEEP_YOUNG);
	c.now_ns += 1;
	c.signed_size = 199;	/* seq 199 not under a signed head */
	assert_int_equal(st_purge_decide(&seg, false, &c), ST_KEEP_UNSIGNED);
	c.signed_size = 200;
	seg.max_ts = 10 * ST_DAY_NS;	/* touches the hold */
	c.now_ns = 400 * ST_DAY_NS;
	assert_int_equal(st_purge_decide(&seg, false, &c), ST_KEEP_HELD);
	seg.max_ts = 6 * ST_DAY_NS;
	c.keep_seq = 199;
	assert_int_equal(st_purge_decide(&seg, false, &c), ST_KEEP_ANCHOR);
	c.keep_seq = 200;
	assert_int_equal(st_purge_decide(&seg, false, &c), ST_PURGE_OK);
	c.days = 0;
	assert_int_equal(st_purge_decide(&seg, false, &c), ST_KEEP_FOREVER);
	c.days = 1;
	seg.max_ts = c.now_ns + 1;	/* a record from the future: keep */
	assert_int_equal(st_purge_decide(&seg, false, &c), ST_KEEP_YOUNG);
	assert_string_equal(st_purge_verdict_name(ST_KEEP_HELD), "under legal hold");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frontier_continues_full_tree),
		cmocka_unit_test(test_frontier_rejects),
		cmocka_unit_test(test_purge_record_roundtrip),
		cmocka_unit_test(test_hold_parse),
		cmocka_unit_test(test_holds_cover),
		cmocka_unit_test(test_purge_decide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
