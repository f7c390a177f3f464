// SPDX-License-Identifier: Apache-2.0
/*
 * lookup and prove: an input's references under every key of a rotated
 * ring (expected values from Python's hmac module), hex input, and a
 * one-record export (prove) that verifies, and fails once altered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "sealtrace/proof/bundle.h"
#include "sealtrace/proof/export.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/log/log.h"
#include "sealtrace/proof/lookup.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/log/scan.h"

#define OLD_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define NEW_KEY "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
/* python3: hmac.new(bytes(range(32)), b"alice", hashlib.sha256).hexdigest() */
#define ALICE_OLD "hmac-sha256:k-old:6eefad2bed97b6d93ee663d67a44b46016b3d79dcad54ada39b61a1d14874d1b"
#define ALICE_NEW "hmac-sha256:k-new:a8b7fcb4329d2d8ae10fad35ea43dcb8c40ce001f62dc55d9e63c1cb29f6af85"
#define EMPTY_OLD "hmac-sha256:k-old:d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb"

static char dir[64];

static int setup(void **st)
{
	snprintf(dir, sizeof(dir), "/tmp/st-lookup-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static struct st_keyring *two_keys(void)
{
	struct st_keyring *kr = NULL;
	char path[128], err[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/hmac.key", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "k-old " OLD_KEY "\nk-new " NEW_KEY "\n");
	fclose(f);
	assert_int_equal(st_keyring_load_file(&kr, path, err, sizeof(err)), 0);
	return kr;
}

static void test_keyring_ids(void **st)
{
	struct st_keyring *kr = two_keys();

	assert_int_equal(st_keyring_count(kr), 2);
	assert_string_equal(st_keyring_id(kr, 0), "k-old");
	assert_string_equal(st_keyring_id(kr, 1), "k-new");
	assert_null(st_keyring_id(kr, 2));
	st_keyring_free(kr);
}

static void test_refs_every_key(void **st)
{
	struct st_keyring *kr = two_keys();
	struct st_lookup_refs lr;
	char err[256];

	assert_int_equal(st_lookup_refs_make(&lr, kr, "alice", 5, err, sizeof(err)), 0);
	assert_int_equal(lr.n, 2);
	assert_string_equal(lr.ref[0], ALICE_OLD);
	assert_string_equal(lr.ref[1], ALICE_NEW);
	assert_int_equal(st_lookup_refs_match(&lr, ALICE_OLD), 0);
	assert_int_equal(st_lookup_refs_match(&lr, ALICE_NEW), 1);
	/* alice's value under one key, named as the other: no match */
	assert_int_equal(st_lookup_refs_match(&lr,
		"hmac-sha256:k-new:6eefad2bed97b6d93ee663d67a44b46016b3d79dcad54ada39b61a1d14874d1b"), -1);
	assert_int_equal(st_lookup_refs_match(&lr, EMPTY_OLD), -1);
	assert_int_equal(st_lookup_refs_key_known(&lr, EMPTY_OLD), 1);
	assert_int_equal(st_lookup_refs_key_known(&lr,
		"hmac-sha256:k-oldest:6eefad2bed97b6d93ee663d67a44b46016b3d79dcad54ada39b61a1d14874d1b"), 0);
	assert_int_equal(st_lookup_refs_key_known(&lr, "hmac-sha256:k-ol"), 0);
	st_lookup_refs_free(&lr);

	assert_int_equal(st_lookup_refs_make(&lr, kr, "", 0, err, sizeof(err)), 0);
	assert_string_equal(lr.ref[0], EMPTY_OLD);
	st_lookup_refs_free(&lr);
	st_keyring_free(kr);
}

static void test_unhex(void **st)
{
	uint8_t *b;
	size_t n;
	char err[256];

	assert_int_equal(st_lookup_unhex("00fF41", &b, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(b[2], 'A');
	free(b);
	assert_int_equal(st_lookup_unhex("", &b, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	free(b);
	assert_int_equal(st_lookup_unhex("abc", &b, &n, err, sizeof(err)), -1);
	assert_null(b);
	assert_string_equal(err, "--input-hex: odd number of hex digits (3)");
	assert_int_equal(st_lookup_unhex("a0 1", &b, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "--input-hex: ' ' at position 2 is not a hex digit");
}

static void test_read_file(void **st)
{
	char path[128], err[256];
	uint8_t *b;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/input.bin", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite("a\0b\n", 1, 4, f);
	fclose(f);
	assert_int_equal(st_lookup_read_file(path, &b, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "a\0b\n", 4);
	free(b);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(st_lookup_read_file(path, &b, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));
}

static void test_match_event_id(void **st)
{
	struct st_export_filter f;
	struct st_record rec;
	struct st_record_hdr hdr = { .event_id = "0197c4a0-5e7b-7c1e-9a3f-2b6d8e0f1a2c" };

	st_record_init(&rec, ST_ET_INFERENCE, 5);
	st_export_filter_init(&f);
	assert_true(st_export_match(&f, &rec, &hdr));
	f.event_id = "0197c4a0-5e7b-7c1e-9a3f-2b6d8e0f1a2c";
	assert_true(st_export_match(&f, &rec, &hdr));
	f.event_id = "0197c4a0-5e7b-7c1e-9a3f-2b6d8e0f1a2d";
	assert_false(st_export_match(&f, &rec, &hdr));
	f.event_id = NULL;
	f.from = 6;
	assert_false(st_export_match(&f, &rec, &hdr));
}

/* ---- prove: a one-record export --------------------------------------- */

struct pick {
	uint64_t seq;
	char id[ST_EVENT_ID_LEN + 1];
};

static int pick_cb(void *ctx, const struct st_scan_rec *r, char *err,
		   size_t errlen)
{
	struct pick *p = ctx;

	if (r->p->hdr.seq == p->seq)
		snprintf(p->id, sizeof(p->id), "%s", r->p->hdr.event_id);
	return 0;
}

static void make_log(const char *state, const char *keys, int n)
{
	struct st_log_opts o = {
		.state_dir = state, .keys_dir = keys, .system_id = "sys",
		.operator_id = "op", .node_id = "n1", .seg_max_records = 40,
		.ckpt_every_records = 25,
	};
	struct st_kv d = { .key = "kseq", .kind = ST_KV_UINT };
	struct st_log *log;
	struct st_record r;
	char err[256];
	int i;

	assert_int_equal(st_log_open(&log, &o, err, sizeof(err)), 0);
	for (i = 0; i < n; i++) {
		st_record_init(&r, ST_ET_INFERENCE, 1700000000000000000ULL + (uint64_t)i);
		d.v.u = (uint64_t)i;
		r.details = &d;
		r.ndetails = 1;
		assert_int_equal(st_log_append(log, &r, err, sizeof(err)), 0);
	}
	assert_int_equal(st_log_close(log, err, sizeof(err)), 0);
}

static int verify_buf(const struct st_buf *b, const struct st_keyset *pub,
		      struct st_bundle_report *rep, char *err, size_t errlen)
{
	FILE *f = fmemopen(b->p, b->len, "r");
	int rc;

	assert_non_null(f);
	rc = st_bundle_verify(f, "proof", pub, rep, err, errlen);
	fclose(f);
	return rc;
}

static void test_prove_one_record(void **st)
{
	char state[128], keys[128], pubpath[160], err[1024];
	struct st_export_filter f;
	struct st_export_stats stats;
	struct st_bundle_report rep;
	struct st_scan_result res;
	struct st_buf b = { 0 };
	struct pick p = { .seq = 57 };
	struct st_keyset ks = { 0 }, *pub = &ks;
	char *rec;

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	snprintf(pubpath, sizeof(pubpath), "%s/signing.pub", keys);
	assert_int_equal(st_keys_generate(keys, err, sizeof(err)), 0);
	assert_int_equal(st_keyset_add_file(&ks, pubpath, err, sizeof(err)), 0);
	make_log(state, keys, 100);
	assert_int_equal(st_scan_stream(state, ST_STREAM_DECISION, pick_cb, &p,
					&res, err, sizeof(err)), 0);
	assert_int_equal(strlen(p.id), ST_EVENT_ID_LEN);

	st_export_filter_init(&f);
	f.event_id = p.id;
	st_bundle_header(&b, "decision", NULL, NULL, NULL, p.id);
	assert_int_equal(st_export_stream(state, ST_STREAM_DECISION, &f, pub,
					  NULL, &b, &stats, err, sizeof(err)), 0);
	assert_int_equal(stats.tree_size, 100);
	assert_int_equal(stats.selected, 1);
	assert_int_equal(stats.newer, 0);
	/* one leaf of 100: the audit path has ceil(log2(100)) = 7 nodes */
	assert_int_equal(stats.nodes, 7);
	assert_int_equal(verify_buf(&b, pub, &rep, err, sizeof(err)), 0);
	assert_true(rep.s[ST_STREAM_DECISION].present);
	assert_int_equal(rep.s[ST_STREAM_DECISION].records, 1);
	assert_int_equal(rep.s[ST_STREAM_DECISION].first_seq, 57);
	assert_int_equal(rep.s[ST_STREAM_DECISION].tree_size, 100);
	assert_false(rep.s[ST_STREAM_SYSTEM].present);

	/* the record line altered (kseq 57 -> 58, still canonical) */
	rec = strstr(b.p, "\"kseq\":57}");
	assert_non_null(rec);
	rec[8] = '8';
	assert_int_equal(verify_buf(&b, pub, &rep, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "records and proof give another Merkle root"));

	/* an id the log does not hold: nothing selected, still a valid tree */
	b.len = 0;
	f.event_id = "00000000-0000-7000-8000-000000000000";
	assert_int_equal(st_export_stream(state, ST_STREAM_DECISION, &f, pub,
					  NULL, &b, &stats, err, sizeof(err)), 0);
	assert_int_equal(stats.selected, 0);
	assert_int_equal(stats.newer_selected, 0);
	st_buf_free(&b);
	st_keyset_free(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyring_ids),
		cmocka_unit_test(test_refs_every_key),
		cmocka_unit_test(test_unhex),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_match_event_id),
		cmocka_unit_test(test_prove_one_record),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
