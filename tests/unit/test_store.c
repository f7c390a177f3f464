// SPDX-License-Identifier: Apache-2.0
/* Segment store: blocks round-trip; the reader on truncated and corrupt
 * input; torn-tail recovery keeps the bytes aside. */
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

#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/store.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/st-store-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void sub(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* Three blocks of 2 + 3 + 1 lines into one segment; returns its size. */
static off_t make_segment(const char *name, uint64_t *ends)
{
	struct st_store_opts o = { .max_records = 0 };
	struct st_store *s;
	char d[128], path[200], err[256];
	struct stat st;

	sub(d, sizeof(d), name);
	assert_int_equal(st_store_open(&s, d, &o, err, sizeof(err)), 0);
	assert_int_equal(st_store_append(s, "a\nbb\n", 5, 0, 2, 1, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/00000000000000000000.seg", d);
	stat(path, &st);
	ends[0] = (uint64_t)st.st_size;
	assert_int_equal(st_store_append(s, "c\nd\ne\n", 6, 2, 3, 1, err, sizeof(err)), 0);
	stat(path, &st);
	ends[1] = (uint64_t)st.st_size;
	assert_int_equal(st_store_append(s, "f\n", 2, 5, 1, 1, err, sizeof(err)), 0);
	/* not whole lines: refused */
	assert_int_equal(st_store_append(s, "g", 1, 6, 1, 1, err, sizeof(err)), -1);
	assert_int_equal(st_store_close(s, err, sizeof(err)), 0);
	stat(path, &st);
	ends[2] = (uint64_t)st.st_size;
	return st.st_size;
}

static int read_all(const char *path, int *blocks, struct st_buf *all)
{
	struct st_seg_reader *r;
	struct st_buf b = { 0 };
	uint64_t off;
	char err[256];
	int rc;

	*blocks = 0;
	assert_int_equal(st_seg_open(&r, path, err, sizeof(err)), 0);
	while ((rc = st_seg_next(r, &b, &off, err, sizeof(err))) == ST_BLOCK_OK) {
		(*blocks)++;
		if (all)
			st_buf_put(all, b.p, b.len);
	}
	st_seg_close(r);
	st_buf_free(&b);
	return rc;
}

static void test_roundtrip(void **state)
{
	struct st_buf all = { 0 };
	struct st_seg_list l;
	char path[200], err[256];
	uint64_t ends[3];
	int blocks;

	make_segment("rt", ends);
	sub(path, sizeof(path), "rt/00000000000000000000.seg");
	assert_int_equal(read_all(path, &blocks, &all), ST_BLOCK_END);
	assert_int_equal(blocks, 3);
	assert_string_equal(all.p, "a\nbb\nc\nd\ne\nf\n");
	st_buf_free(&all);

	/* zcat reads the segment: concatenated gzip members */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test \"$(zcat '%s' | wc -l)\" = 6", path);
	assert_int_equal(system(cmd), 0);

	sub(path, sizeof(path), "rt");
	assert_int_equal(st_seg_list(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_true(l.first[0] == 0);
	st_seg_list_free(&l);
}

static void copy_prefix(const char *from, const char *to, off_t n, off_t flip)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t r = read(in, buf, sizeof(buf));

	close(in);
	assert_true(r >= n);
	if (flip >= 0)
		buf[flip] ^= 0x01;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(write(out, buf, (size_t)n), n);
	close(out);
}

/* Every truncation point: whole blocks before it read, then TORN. */
static void test_truncated(void **state)
{
	char src[200], dst[200];
	uint64_t ends[3];
	off_t size = make_segment("tr", ends), n;
	int blocks, rc, want;

	sub(src, sizeof(src), "tr/00000000000000000000.seg");
	sub(dst, sizeof(dst), "tr/cut.seg");
	for (n = 0; n <= size; n++) {
		copy_prefix(src, dst, n, -1);
		rc = read_all(dst, &blocks, NULL);
		want = (uint64_t)n >= ends[2] ? 3 : (uint64_t)n >= ends[1] ? 2 :
		       (uint64_t)n >= ends[0] ? 1 : 0;
		assert_int_equal(blocks, want);
		if ((uint64_t)n == ends[0] || (uint64_t)n == ends[1] ||
		    (uint64_t)n == ends[2] || n == 0)
			assert_int_equal(rc, ST_BLOCK_END);
		else
			assert_int_equal(rc, ST_BLOCK_TORN);
	}
}

/* Every single-bit flip in the middle block: never read as good data. */
static void test_corrupt(void **state)
{
	char src[200], dst[200];
	struct st_buf all = { 0 };
	uint64_t ends[3];
	off_t size = make_segment("co", ends), i;
	int blocks, rc;

	sub(src, sizeof(src), "co/00000000000000000000.seg");
	sub(dst, sizeof(dst), "co/flip.seg");
	for (i = (off_t)ends[0]; i < (off_t)ends[1]; i++) {
		copy_prefix(src, dst, size, i);
		all.len = 0;
		rc = read_all(dst, &blocks, &all);
		/* a flip in the gzip header's flag/OS/mtime bytes may still
		 * inflate; then the lines must be exactly the original ones */
		if (rc == ST_BLOCK_END) {
			assert_int_equal(blocks, 3);
			assert_string_equal(all.p, "a\nbb\nc\nd\ne\nf\n");
			continue;
		}
		assert_true(rc == ST_BLOCK_CORRUPT || rc == ST_BLOCK_TORN);
		assert_int_equal(blocks, 1);
	}
	st_buf_free(&all);

	/* valid gzip, but not whole lines */
	char cmd[300];
	sub(dst, sizeof(dst), "co/noline.seg");
	snprintf(cmd, sizeof(cmd), "printf 'x' | gzip > '%s'", dst);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(read_all(dst, &blocks, NULL), ST_BLOCK_CORRUPT);
	/* not gzip at all */
	snprintf(cmd, sizeof(cmd), "printf 'plain text\\n' > '%s'", dst);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(read_all(dst, &blocks, NULL), ST_BLOCK_CORRUPT);
}

static void test_recover(void **state)
{
	char d[128], seg[200], torn[300], err[256];
	struct st_recovery rec;
	uint64_t ends[3];
	struct stat st;
	int blocks, fd;

	make_segment("rc", ends);
	sub(d, sizeof(d), "rc");
	snprintf(seg, sizeof(seg), "%s/00000000000000000000.seg", d);
	/* nothing to do on a clean segment */
	assert_int_equal(st_store_recover(d, 7, &rec, err, sizeof(err)), 0);
	assert_false(rec.torn);
	/* half a block more, as a crash mid-write leaves it */
	fd = open(seg, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "\x1f\x8b\x08\x00\x00", 5), 5);
	close(fd);
	assert_int_equal(st_store_recover(d, 7, &rec, err, sizeof(err)), 0);
	assert_true(rec.torn);
	assert_true(rec.good_end == ends[2]);
	assert_true(rec.torn_bytes == 5);
	assert_string_equal(rec.torn_file, "00000000000000000000.seg.torn-7");
	stat(seg, &st);
	assert_true((uint64_t)st.st_size == ends[2]);
	snprintf(torn, sizeof(torn), "%s/%s", d, rec.torn_file);
	stat(torn, &st);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(read_all(seg, &blocks, NULL), ST_BLOCK_END);
	assert_int_equal(blocks, 3);
}

static void test_rotation(void **state)
{
	struct st_store_opts o = { .max_records = 4, .max_seconds = 1 };
	struct st_store *s;
	struct st_seg_list l;
	char d[128], err[256];

	sub(d, sizeof(d), "rot");
	assert_int_equal(st_store_open(&s, d, &o, err, sizeof(err)), 0);
	assert_true(st_store_room(s) == 4);
	assert_int_equal(st_store_append(s, "1\n2\n3\n", 6, 0, 3, 0, err, sizeof(err)), 0);
	assert_true(st_store_room(s) == 1);
	/* by count: the 4th record closes segment 0 */
	assert_int_equal(st_store_append(s, "4\n", 2, 3, 1, 0, err, sizeof(err)), 0);
	assert_int_equal(st_store_append(s, "5\n", 2, 4, 1, 0, err, sizeof(err)), 0);
	/* by age: not yet at 0.5 s, closed at 1.5 s */
	assert_int_equal(st_store_tick(s, 500000000ULL, err, sizeof(err)), 0);
	assert_int_equal(st_store_append(s, "6\n", 2, 5, 1, 0, err, sizeof(err)), 0);
	assert_int_equal(st_store_tick(s, 1500000000ULL, err, sizeof(err)), 0);
	assert_int_equal(st_store_append(s, "7\n", 2, 6, 1, 0, err, sizeof(err)), 0);
	assert_int_equal(st_store_close(s, err, sizeof(err)), 0);
	assert_int_equal(st_seg_list(d, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_true(l.first[0] == 0 && l.first[1] == 4 && l.first[2] == 6);
	st_seg_list_free(&l);
}

/*
 * A FIFO or a directory where a segment or a checkpoint belongs is refused
 * at once (open() on a FIFO would wait for a writer for ever: the alarm
 * turns that into a failure), with the path and what it is.
 */
static void test_special_files(void **state)
{
	char sdir[] = "/tmp/st-special-XXXXXX", path[128], note[64], err[256];
	struct st_seg_reader *r;
	size_t len;

	assert_non_null(mkdtemp(sdir));
	snprintf(path, sizeof(path), "%s/00000000000000000000.seg", sdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(30);
	assert_int_equal(st_seg_open(&r, path, err, sizeof(err)), -1);
	assert_null(r);
	assert_true(strstr(err, "00000000000000000000.seg: not a regular file but a FIFO") != NULL);
	assert_int_equal(st_ckpt_read_file(path, note, sizeof(note), &len, err, sizeof(err)), -1);
	assert_true(strstr(err, ".seg: not a regular file but a FIFO") != NULL);
	assert_int_equal(st_ckpt_read_file(sdir, note, sizeof(note), &len, err, sizeof(err)), -1);
	assert_true(strstr(err, ": not a regular file but a directory") != NULL);
	alarm(0);
	unlink(path);
	rmdir(sdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_recover),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_special_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
