// SPDX-License-Identifier: Apache-2.0
/*
 * seal_floor: the least the records pipeline must spend per record in this
 * record format, whatever its threads and buffers do: DEFLATE of the
 * canonical lines into gzip members (libdeflate, the store's level), the
 * two SHA-256 passes over each line (chain: previous hash || line; Merkle
 * leaf: 0x00 || line) plus one Merkle node a record, and the two
 * HMAC-SHA256 references (input and output). The lines come from a real
 * log (zcat of a segment gen_log wrote), so their size and entropy are the
 * records'.
 *
 *   seal_floor --lines FILE [--level N] [--block BYTES] [--in N] [--out N]
 *              [--reps N]
 *
 * Prints one line per measure (thread CPU time, the best of --reps runs)
 * and "seal_floor: floor NNN ns a record, ceiling NNN records/s a core".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libdeflate.h>

#include "sealtrace/base/digest.h"

struct lines {
	char *buf;
	size_t len;
	size_t *off;	/* start of line i; off[n] = len */
	size_t n;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: seal_floor --lines FILE [--level N] [--block BYTES] [--in N] [--out N]\n"
		   "                  [--reps N]\n");
}

static double thread_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int read_lines(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 0, i;
	long size;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		errno = EINVAL;
		return -1;
	}
	l->buf = malloc((size_t)size);
	if (!l->buf || fread(l->buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		return -1;
	}
	fclose(f);
	l->len = (size_t)size;
	for (i = 0; i < l->len; i++)
		if (l->buf[i] == '\n')
			cap++;
	l->off = malloc((cap + 1) * sizeof(*l->off));
	if (!l->off)
		return -1;
	l->off[0] = 0;
	for (i = 0; i < l->len; i++)
		if (l->buf[i] == '\n')
			l->off[++l->n] = i + 1;
	return l->n ? 0 : -1;
}

/* DEFLATE every whole-line block of about block bytes; ns spent. */
static double deflate_all(const struct lines *l, int level, size_t block, size_t *zbytes)
{
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
	size_t cap = libdeflate_gzip_compress_bound(c, block + l->len / l->n * 4);
	unsigned char *z = malloc(cap);
	size_t first = 0, i, n;
	double t0;

	*zbytes = 0;
	if (!c || !z) {
		libdeflate_free_compressor(c);
		free(z);
		return -1;
	}
	t0 = thread_ns();
	for (i = 1; i <= l->n; i++) {
		if (i < l->n && l->off[i] - l->off[first] < block)
			continue;
		n = libdeflate_gzip_compress(c, l->buf + l->off[first], l->off[i] - l->off[first],
					     z, cap);
		*zbytes += n;
		first = i;
	}
	t0 = thread_ns() - t0;
	libdeflate_free_compressor(c);
	free(z);
	return t0;
}

/* The chain and the Merkle leaf of every line, and one node a record. */
static double hash_all(const struct lines *l, struct st_hasher *h)
{
	uint8_t prev[ST_HASH_LEN] = { 0 }, leaf[ST_HASH_LEN], node[ST_HASH_LEN];
	double t0 = thread_ns();
	size_t i, len;

	for (i = 0; i < l->n; i++) {
		len = l->off[i + 1] - l->off[i];
		st_sha256(h, prev, sizeof(prev), l->buf + l->off[i], len, prev);
		st_sha256_pfx(h, 0, l->buf + l->off[i], len, NULL, 0, leaf);
		st_sha256_pfx(h, 1, leaf, sizeof(leaf), prev, sizeof(prev), node);
	}
	return thread_ns() - t0;
}

/* The input's and the output's references, of in and out bytes. */
static double hmac_all(size_t n, size_t in, size_t out)
{
	static const char key[32] = "seal_floor: a fixed test key...";
	struct st_hmac_key *k = st_hmac_key_new(key, sizeof(key));
	unsigned char *msg = calloc(1, in > out ? in : out);
	uint8_t mac[ST_HASH_LEN];
	double t0;
	size_t i;

	if (!k || !msg) {
		st_hmac_key_free(k);
		free(msg);
		return -1;
	}
	t0 = thread_ns();
	for (i = 0; i < n; i++) {
		msg[0] = (unsigned char)i;
		st_hmac_key_mac(k, msg, in, mac);
		st_hmac_key_mac(k, msg, out, mac);
	}
	t0 = thread_ns() - t0;
	st_hmac_key_free(k);
	free(msg);
	return t0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "lines", required_argument, NULL, 'l' },
		{ "level", required_argument, NULL, 'L' },
		{ "block", required_argument, NULL, 'b' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	double best_z = 0, best_h = 0, best_m = 0, t, sum;
	size_t block = 256 * 1024, in = 64, out = 32, zbytes = 0;
	int level = 1, reps = 5, c, r;
	const char *path = NULL;
	struct st_hasher *h;
	struct lines l = { 0 };

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'l': path = optarg; break;
		case 'L': level = atoi(optarg); break;
		case 'b': block = strtoul(optarg, NULL, 10); break;
		case 'i': in = strtoul(optarg, NULL, 10); break;
		case 'o': out = strtoul(optarg, NULL, 10); break;
		case 'r': reps = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || level < 0 || level > 12 || !block || reps < 1 || !in || !out) {
		usage(stderr);
		return 2;
	}
	if (read_lines(path, &l)) {
		fprintf(stderr, "seal_floor: %s: %s\n", path,
			errno ? strerror(errno) : "no lines");
		return 1;
	}
	h = st_hasher_new();
	if (!h) {
		fprintf(stderr, "seal_floor: out of memory\n");
		return 1;
	}
	for (r = 0; r < reps; r++) {
		t = deflate_all(&l, level, block, &zbytes);
		if (t < 0) {
			fprintf(stderr, "seal_floor: libdeflate level %d: out of memory\n", level);
			return 1;
		}
		best_z = r && best_z < t ? best_z : t;
		t = hash_all(&l, h);
		best_h = r && best_h < t ? best_h : t;
		t = hmac_all(l.n, in, out);
		if (t < 0) {
			fprintf(stderr, "seal_floor: out of memory\n");
			return 1;
		}
		best_m = r && best_m < t ? best_m : t;
	}
	sum = (best_z + best_h + best_m) / (double)l.n;
	printf("seal_floor: %zu records, %.0f bytes a record, %.0f compressed (level %d)\n",
	       l.n, (double)l.len / (double)l.n, (double)zbytes / (double)l.n, level);
	printf("seal_floor: deflate %.0f ns a record\n", best_z / (double)l.n);
	printf("seal_floor: sha256 (chain, leaf, node) %.0f ns a record\n", best_h / (double)l.n);
	printf("seal_floor: hmac (%zu + %zu bytes) %.0f ns a record\n", in, out,
	       best_m / (double)l.n);
	printf("seal_floor: floor %.0f ns a record, ceiling %.0f records/s a core\n", sum,
	       1e9 / sum);
	st_hasher_free(h);
	free(l.off);
	free(l.buf);
	return 0;
}
