// SPDX-License-Identifier: Apache-2.0
/*
 * The segment scanner (store.c reader + scan.c checks) as verify runs it
 * over the segment files in <state>/decision.
 *
 * First byte odd: the rest is the segment file as is (gzip framing and
 * all). Even: the rest is plain text cut into blocks at each 0xff byte,
 * each block gzipped here the way the agent writes them, so the fuzzer
 * reaches the record and chain checks instead of zlib's CRC check.
 */
#include <sys/stat.h>

#include <zlib.h>

#include "fuzz.h"

#include "sealtrace/log/scan.h"

static void gzip_block(FILE *out, const uint8_t *p, size_t n)
{
	static unsigned char buf[16384];	/* deflate output, written out at once */
	z_stream z = { 0 };
	int zrc;

	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		zrc = deflate(&z, Z_FINISH);
		fwrite(buf, 1, sizeof(buf) - z.avail_out, out);
	} while (zrc == Z_OK);
	if (zrc != Z_STREAM_END)
		abort();
	deflateEnd(&z);
}

static void write_segment(const char *path, const uint8_t *data, size_t size)
{
	FILE *f;
	size_t start = 0, i;

	if (data[0] & 1) {
		fuzz_write(path, data + 1, size - 1);
		return;
	}
	f = fopen(path, "we");
	if (!f)
		abort();
	for (i = 1; i <= size; i++)
		if (i == size || data[i] == 0xff) {
			if (i > start + 1)
				gzip_block(f, data + start + 1, i - start - 1);
			start = i;
		}
	if (fclose(f))
		abort();
}

static int count(void *ctx, const struct st_scan_rec *r, char *err, size_t errlen)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_scan_result res;
	struct st_scan_head head;
	char dir[128], path[192], err[ST_SCAN_ERR_LEN];
	uint64_t n = 0;
	int rc;

	if (size < 1)
		return 0;
	snprintf(dir, sizeof(dir), "%s/decision", fuzz_dir());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/00000000000000000000.seg", dir);
	write_segment(path, data, size);
	err[0] = '\0';
	rc = st_scan_stream(fuzz_dir(), ST_STREAM_DECISION, count, &n, &res,
			    err, sizeof(err));
	if (rc && !err[0])
		abort();
	if (!rc && n != res.records)
		abort();	/* every record reached the callback */
	(void)st_scan_stream_head(fuzz_dir(), ST_STREAM_DECISION, &head, err,
				  sizeof(err));
	return 0;
}
