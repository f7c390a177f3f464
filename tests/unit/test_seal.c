// SPDX-License-Identifier: Apache-2.0
/* Sealed segments: round trip through the store, every kind of damage
 * caught by the reader, the final block, recovery after a torn block,
 * nonces unique, keys by id (rotation). */
#include <fcntl.h>
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

#include "sealtrace/keys/datakey.h"
#include "sealtrace/log/seal.h"
#include "sealtrace/log/store.h"

static char dir[64], keyfile[128], seg[160];

static int setup(void **state)
{
	char err[512], id[64];

	snprintf(dir, sizeof(dir), "/tmp/st-seal-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(keyfile, sizeof(keyfile), "%s/data.key", dir);
	snprintf(seg, sizeof(seg), "%s/s/00000000000000000000.seg", dir);
	if (st_datakeys_add(keyfile, id, sizeof(id), err, sizeof(err)))
		return -1;
	return st_seal_load(keyfile, err, sizeof(err));
}

static int teardown(void **state)
{
	char cmd[128];

	st_seal_unload();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Three blocks (2 + 3 + 1 lines), closed: header, 3 data blocks, final. */
static void make_segment(void)
{
	struct st_store_opts o = { .max_records = 0 };
	struct st_store *s;
	char d[128], err[256];

	snprintf(d, sizeof(d), "%s/s", dir);
	unlink(seg);
	assert_int_equal(st_store_open(&s, d, &o, err, sizeof(err)), 0);
	assert_int_equal(st_store_append(s, "a\nbb\n", 5, 0, 2, 1, err, sizeof(err)), 0);
	assert_int_equal(st_store_append(s, "c\nd\ne\n", 6, 2, 3, 1, err, sizeof(err)), 0);
	assert_int_equal(st_store_append(s, "f\n", 2, 5, 1, 1, err, sizeof(err)), 0);
	assert_int_equal(st_store_close(s, err, sizeof(err)), 0);
}

static size_t file_read(const char *path, unsigned char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void file_write(const char *path, const unsigned char *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
}

/* Read the segment back: the rc that ended it, lines joined. */
static int read_all(char *text, size_t cap, bool *finalized)
{
	struct st_seg_reader *r;
	struct st_buf b = { 0 };
	char err[512];
	uint64_t off;
	int rc;

	text[0] = '\0';
	if (st_seg_open(&r, seg, err, sizeof(err)))
		return -2;
	while ((rc = st_seg_next(r, &b, &off, err, sizeof(err))) == ST_BLOCK_OK)
		strncat(text, b.p, cap - strlen(text) - 1);
	*finalized = st_seg_finalized(r);
	st_seg_close(r);
	st_buf_free(&b);
	return rc;
}

static void test_round_trip(void **state)
{
	unsigned char buf[4096];
	char text[256];
	bool fin;
	size_t n;

	make_segment();
	n = file_read(seg, buf, sizeof(buf));
	assert_true(st_seal_is_sealed(buf, n));
	/* no plaintext line in the file */
	assert_null(memmem(buf, n, "c\nd\ne\n", 6));
	assert_int_equal(read_all(text, sizeof(text), &fin), ST_BLOCK_END);
	assert_string_equal(text, "a\nbb\nc\nd\ne\nf\n");
	assert_true(fin);
}

/* Every single-byte change anywhere in the file is caught. */
static void test_every_byte_flip(void **state)
{
	unsigned char good[4096], bad[4096];
	char text[256];
	size_t n, i;
	bool fin;
	int rc;

	make_segment();
	n = file_read(seg, good, sizeof(good));
	for (i = 0; i < n; i++) {
		memcpy(bad, good, n);
		bad[i] ^= 0x01;
		file_write(seg, bad, n);
		rc = read_all(text, sizeof(text), &fin);
		/* refused at open (header), or a bad/torn block, or no final block */
		assert_true(rc == -2 || rc == ST_BLOCK_CORRUPT || rc == ST_BLOCK_TORN ||
			    (rc == ST_BLOCK_END && !fin));
	}
	file_write(seg, good, n);
}

struct nonces {
	uint8_t v[64][12];
	int n;
};

static void collect(void *ctx, const uint8_t nonce[12])
{
	struct nonces *ns = ctx;

	memcpy(ns->v[ns->n++], nonce, 12);
}

static void test_nonces_unique(void **state)
{
	unsigned char buf[4096];
	struct nonces ns = { .n = 0 };
	size_t n;
	int i, j;

	make_segment();
	n = file_read(seg, buf, sizeof(buf));
	assert_int_equal(st_seal_nonces(buf, n, 0, collect, &ns), 0);
	assert_int_equal(ns.n, 4);	/* 3 data blocks and the final one */
	for (i = 0; i < ns.n; i++)
		for (j = i + 1; j < ns.n; j++)
			assert_memory_not_equal(ns.v[i], ns.v[j], 12);
}

/* A torn last block: recovery cuts it and seals the final block at the
 * next index, so the torn block's nonce is never used again. */
static void test_recover_torn(void **state)
{
	unsigned char buf[4096];
	struct nonces ns = { .n = 0 };
	struct st_recovery rec;
	char d[128], err[512], text[256];
	size_t n;
	bool fin;

	make_segment();
	n = file_read(seg, buf, sizeof(buf));
	/* drop the final block (29 + 8 bytes) and 5 bytes of the last data block */
	file_write(seg, buf, n - (13 + 8 + 16) - 5);
	snprintf(d, sizeof(d), "%s/s", dir);
	assert_int_equal(st_store_recover(d, 7, &rec, err, sizeof(err)), 0);
	assert_true(rec.torn);
	assert_int_equal(read_all(text, sizeof(text), &fin), ST_BLOCK_END);
	assert_string_equal(text, "a\nbb\nc\nd\ne\n");
	assert_true(fin);
	n = file_read(seg, buf, sizeof(buf));
	assert_int_equal(st_seal_nonces(buf, n, 0, collect, &ns), 0);
	assert_int_equal(ns.n, 3);
	/* final block: index 3 (index 2 was the torn block), flag 1 */
	assert_int_equal(ns.v[2][10], 3);
	assert_int_equal(ns.v[2][11], 1);
}

/* No final block and no lock holder: the reader says so (scan reports it). */
static void test_open_segment_not_final(void **state)
{
	struct st_store_opts o = { .max_records = 0 };
	struct st_store *s;
	char d[128], err[256], text[256];
	bool fin;

	snprintf(d, sizeof(d), "%s/s", dir);
	unlink(seg);
	assert_int_equal(st_store_open(&s, d, &o, err, sizeof(err)), 0);
	assert_int_equal(st_store_append(s, "a\n", 2, 0, 1, 1, err, sizeof(err)), 0);
	assert_int_equal(st_store_sync(s, err, sizeof(err)), 0);
	assert_int_equal(read_all(text, sizeof(text), &fin), ST_BLOCK_END);
	assert_false(fin);
	assert_int_equal(st_store_close(s, err, sizeof(err)), 0);
	assert_int_equal(read_all(text, sizeof(text), &fin), ST_BLOCK_END);
	assert_true(fin);
}

/* Rotation: a new current key seals new segments; old ones still open.
 * Without the old key, the message names the key id. */
static void test_rotation_and_missing_key(void **state)
{
	char err[512], id[64], text[256], other[160];
	bool fin;

	make_segment();
	assert_int_equal(st_datakeys_add(keyfile, id, sizeof(id), err, sizeof(err)), 0);
	assert_int_equal(st_seal_load(keyfile, err, sizeof(err)), 0);
	assert_int_equal(read_all(text, sizeof(text), &fin), ST_BLOCK_END);
	snprintf(other, sizeof(other), "%s/other.key", dir);
	assert_int_equal(st_datakeys_add(other, id, sizeof(id), err, sizeof(err)), 0);
	assert_int_equal(st_seal_load(other, err, sizeof(err)), 0);
	assert_int_equal(read_all(text, sizeof(text), &fin), -2);
	st_seal_unload();
	assert_int_equal(read_all(text, sizeof(text), &fin), -2);
	assert_int_equal(st_seal_load(keyfile, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_byte_flip),
		cmocka_unit_test(test_nonces_unique),
		cmocka_unit_test(test_recover_torn),
		cmocka_unit_test(test_open_segment_not_final),
		cmocka_unit_test(test_rotation_and_missing_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
