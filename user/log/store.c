// SPDX-License-Identifier: Apache-2.0
/* Segment store: gzip blocks, appends, rotation, reading, recovery. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>
#include <zlib.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/base/file.h"
#include "sealtrace/log/seal.h"
#include "sealtrace/log/store.h"
#include "sealtrace/base/file.h"

void st_seg_name(uint64_t first_seq, char out[ST_SEG_NAME_LEN + 1])
{
	snprintf(out, ST_SEG_NAME_LEN + 1, "%020" PRIu64 ".seg", first_seq);
}

/* ---- writer ----------------------------------------------------------- */

struct st_store {
	char *dir;
	int dirfd;
	struct st_store_opts o;
	struct libdeflate_compressor *dc;
	unsigned char *zbuf;
	size_t zcap;
	/* the open segment */
	int fd;			/* -1: none open */
	char name[ST_SEG_NAME_LEN + 1];
	uint64_t seg_records, seg_bytes, seg_opened_ns;
	bool dirty;		/* written since the last fsync */
	uint64_t total_bytes;
	/* the last block appended, in segment name: the log's resume point */
	bool have_last;
	uint64_t last_off, last_end;
	/* sealed segments (seal.h): the open segment's cipher state */
	struct st_seal *seal;
	uint64_t seg_blocks;		/* data blocks in the open segment */
};

/* ---- sealed segments: the hooks into seal.h ---------------------------- */

/* A new segment starts with its header when a data key is installed. */
static int seal_begin(struct st_store *s, uint64_t first_seq, char *err,
		      size_t errlen)
{
	uint8_t hdr[ST_SEAL_HDR_LEN];

	s->seg_blocks = 0;
	if (!st_seal_keys())
		return 0;
	if (st_seal_new(&s->seal, first_seq, hdr, err, errlen))
		return -1;
	if (st_write_all(s->fd, hdr, sizeof(hdr)))
		return st_errf(err, errlen, "%s/%s: write: %s", s->dir, s->name,
			       strerror(errno));
	s->seg_bytes += sizeof(hdr);
	s->total_bytes += sizeof(hdr);
	return 0;
}

/*
 * The block to write: the gzip member *blk itself, or it sealed (then
 * *blk and *len are the sealed block). Called in block order by whichever
 * thread writes the store, so each segment's block indices (nonces) run
 * 0, 1, 2, ... as seal.h's readers expect.
 */
static int seal_wrap(struct st_store *s, const unsigned char **blk, size_t *len)
{
	if (!s->seal)
		return 0;
	return st_seal_block(s->seal, *blk, *len, blk, len);
}

/* A closing segment ends with its final block (seal.h): truncation shows. */
static int seal_end(struct st_store *s, char *err, size_t errlen)
{
	const uint8_t *blk;
	size_t len;
	int rc = 0;

	if (!s->seal)
		return 0;
	if (st_seal_final(s->seal, s->seg_blocks, &blk, &len))
		rc = st_errf(err, errlen, "%s/%s: sealing the final block failed",
			     s->dir, s->name);
	else if (st_write_all(s->fd, blk, len))
		rc = st_errf(err, errlen, "%s/%s: write: %s", s->dir, s->name,
			     strerror(errno));
	else
		s->dirty = true;
	st_seal_free(s->seal);
	s->seal = NULL;
	return rc;
}

/*
 * A sealed segment whose first block failed holds only its header: it
 * goes, so that the retry (same first seq, same name) starts it again
 * under a fresh salt.
 */
static void seal_drop(struct st_store *s)
{
	st_seal_free(s->seal);
	s->seal = NULL;
	close(s->fd);
	s->fd = -1;
	s->dirty = false;
	unlinkat(s->dirfd, s->name, 0);
	fsync(s->dirfd);
}

int st_store_open(struct st_store **out, const char *dir,
		  const struct st_store_opts *o, char *err, size_t errlen)
{
	struct st_store *s;
	int level = o->level ? o->level : ST_STORE_LEVEL;

	*out = NULL;
	if (mkdir(dir, 0750) && errno != EEXIST)
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	s = calloc(1, sizeof(*s));
	if (!s)
		return st_errf(err, errlen, "%s: out of memory", dir);
	s->fd = -1;
	s->o = *o;
	s->dir = strdup(dir);
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!s->dir || s->dirfd < 0) {
		st_errf(err, errlen, "%s: %s", dir, s->dir ? strerror(errno) : "out of memory");
		goto bad;
	}
	/* one gzip member per block, zero mtime, no name (libdeflate) */
	s->dc = libdeflate_alloc_compressor(level);
	if (!s->dc) {
		st_errf(err, errlen, "%s: compressor init failed (level %d)", dir,
			level);
		goto bad;
	}
	*out = s;
	return 0;
bad:
	st_store_close(s, NULL, 0);
	return -1;
}

static int close_segment(struct st_store *s, char *err, size_t errlen)
{
	int rc = 0;

	if (s->fd < 0)
		return 0;
	rc = seal_end(s, err, errlen);
	if (s->dirty && fsync(s->fd) && !rc)
		rc = st_errf(err, errlen, "%s/%s: fsync: %s", s->dir, s->name,
			  strerror(errno));
	close(s->fd);
	s->fd = -1;
	s->dirty = false;
	return rc;
}

static int open_segment(struct st_store *s, uint64_t first_seq,
			uint64_t now_ns, char *err, size_t errlen)
{
	st_seg_name(first_seq, s->name);
	s->fd = openat(s->dirfd, s->name,
		       O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
	if (s->fd < 0)
		return st_errf(err, errlen, "%s/%s: %s", s->dir, s->name,
			    strerror(errno));
	/* the new name must survive a crash as much as its contents */
	if (fsync(s->dirfd)) {
		st_errf(err, errlen, "%s: fsync: %s", s->dir, strerror(errno));
		close(s->fd);
		s->fd = -1;
		unlinkat(s->dirfd, s->name, 0);
		return -1;
	}
	s->seg_records = 0;
	s->seg_bytes = 0;
	s->seg_opened_ns = now_ns;
	if (seal_begin(s, first_seq, err, errlen)) {
		st_seal_free(s->seal);
		s->seal = NULL;
		close(s->fd);
		s->fd = -1;
		unlinkat(s->dirfd, s->name, 0);
		return -1;
	}
	return 0;
}

/*
 * Compress a block into s->zbuf as one whole gzip member: the block is
 * complete in memory, so libdeflate's block-at-once API does it without
 * zlib's streaming state (about twice as fast at level 1, and smaller).
 * A sealing step (encryption) goes between this and write_block.
 */
static int compress_block(struct st_store *s, const void *data, size_t len,
			  size_t *outlen)
{
	size_t bound = libdeflate_gzip_compress_bound(s->dc, len);
	unsigned char *grown;

	if (len > UINT32_MAX)
		return -1;
	if (bound > s->zcap) {
		grown = realloc(s->zbuf, bound);
		if (!grown)
			return -1;
		s->zbuf = grown;
		s->zcap = bound;
	}
	*outlen = libdeflate_gzip_compress(s->dc, data, len, s->zbuf, s->zcap);
	return *outlen ? 0 : -1;
}

/* Append one finished (compressed) block to the open segment. */
static int write_block(struct st_store *s, const unsigned char *z, size_t zlen,
		       uint64_t first_seq, uint64_t nrec, uint64_t now_ns,
		       char *err, size_t errlen)
{
	const unsigned char *blk = z;
	size_t len = zlen;
	off_t end;

	if (s->fd < 0 && open_segment(s, first_seq, now_ns, err, errlen))
		return -1;
	end = lseek(s->fd, 0, SEEK_END);
	if (end < 0)
		return st_errf(err, errlen, "%s/%s: %s", s->dir, s->name, strerror(errno));
	if (seal_wrap(s, &blk, &len))
		return st_errf(err, errlen, "%s/%s: sealing a block failed", s->dir, s->name);
	if (st_write_all(s->fd, blk, len)) {
		st_errf(err, errlen, "%s/%s: write: %s", s->dir, s->name,
		     strerror(errno));
		/* never leave half a block for the next one to follow; a
		 * sealed segment ends here (the retry must not reuse the
		 * block's nonce with other lines) */
		if (s->seal && !s->seg_blocks)
			seal_drop(s);
		else if (ftruncate(s->fd, end) || s->seal)
			close_segment(s, NULL, 0);
		return -1;
	}
	s->seg_blocks++;
	s->dirty = true;
	s->have_last = true;
	s->last_off = (uint64_t)end;
	s->last_end = (uint64_t)end + len;
	s->seg_records += nrec;
	s->seg_bytes += len;
	s->total_bytes += len;
	if ((s->o.max_records && s->seg_records >= s->o.max_records) ||
	    (s->o.max_bytes && s->seg_bytes >= s->o.max_bytes))
		return close_segment(s, err, errlen);
	return 0;
}

int st_store_append(struct st_store *s, const void *data, size_t len,
		    uint64_t first_seq, uint64_t nrec, uint64_t now_ns,
		    char *err, size_t errlen)
{
	size_t zlen;

	if (!len || ((const char *)data)[len - 1] != '\n')
		return st_errf(err, errlen, "%s: a block must be whole lines", s->dir);
	if (compress_block(s, data, len, &zlen))
		return st_errf(err, errlen, "%s: compressing a block of %zu bytes failed",
			    s->dir, len);
	return write_block(s, s->zbuf, zlen, first_seq, nrec, now_ns, err,
			   errlen);
}

int st_store_sync(struct st_store *s, char *err, size_t errlen)
{
	if (s->fd < 0 || !s->dirty)
		return 0;
	if (fsync(s->fd))
		return st_errf(err, errlen, "%s/%s: fsync: %s", s->dir, s->name,
			    strerror(errno));
	s->dirty = false;
	return 0;
}

uint64_t st_store_room(const struct st_store *s)
{
	if (!s->o.max_records)
		return UINT64_MAX;
	if (s->fd < 0)
		return s->o.max_records;
	return s->seg_records < s->o.max_records ?
		s->o.max_records - s->seg_records : 0;
}

int st_store_tick(struct st_store *s, uint64_t now_ns, char *err, size_t errlen)
{
	if (s->fd < 0 || !s->o.max_seconds || now_ns < s->seg_opened_ns)
		return 0;
	if (now_ns - s->seg_opened_ns < s->o.max_seconds * 1000000000ULL)
		return 0;
	return close_segment(s, err, errlen);
}

int st_store_last_block(const struct st_store *s, char name[ST_SEG_NAME_LEN + 1],
			uint64_t *offset, uint64_t *end)
{
	if (!s->have_last)
		return -1;
	memcpy(name, s->name, ST_SEG_NAME_LEN + 1);
	*offset = s->last_off;
	*end = s->last_end;
	return 0;
}

uint64_t st_store_bytes(const struct st_store *s)
{
	return s->total_bytes;
}

int st_store_close(struct st_store *s, char *err, size_t errlen)
{
	int rc;

	if (!s)
		return 0;
	rc = close_segment(s, err, errlen);
	st_seal_free(s->seal);
	libdeflate_free_compressor(s->dc);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->zbuf);
	free(s->dir);
	free(s);
	return rc;
}

/* ---- listing ---------------------------------------------------------- */

static int parse_seg_name(const char *name, uint64_t *first)
{
	uint64_t v = 0;
	int i;

	if (strlen(name) != ST_SEG_NAME_LEN || strcmp(name + 20, ".seg"))
		return -1;
	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*first = v;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int st_seg_list(const char *dir, struct st_seg_list *out, char *err,
		size_t errlen)
{
	struct dirent *de;
	uint64_t first, *grown;
	size_t cap = 0;
	DIR *d;

	out->first = NULL;
	out->n = 0;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		if (parse_seg_name(de->d_name, &first))
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(out->first, cap * sizeof(*grown));
			if (!grown) {
				closedir(d);
				st_seg_list_free(out);
				return st_errf(err, errlen, "%s: out of memory", dir);
			}
			out->first = grown;
		}
		out->first[out->n++] = first;
	}
	closedir(d);
	if (out->n)
		qsort(out->first, out->n, sizeof(*out->first), u64_cmp);
	return 0;
}

void st_seg_list_free(struct st_seg_list *l)
{
	free(l->first);
	l->first = NULL;
	l->n = 0;
}

/* ---- reader ----------------------------------------------------------- */

struct st_seg_reader {
	const unsigned char *map;
	size_t size, pos, good_end;
	z_stream z;
	bool z_ready;
	char *path;
	struct st_seal *seal;		/* a sealed segment (seal.h) */
	bool hdr_torn;			/* sealed, but its header is cut */
};

/* A sealed segment's header: its key, and the first block after it. */
static int seal_open_reader(struct st_seg_reader *r, char *err, size_t errlen)
{
	const char *base = strrchr(r->path, '/');
	uint64_t first = 0;

	if (!st_seal_is_sealed(r->map, r->size))
		return 0;
	if (r->size < ST_SEAL_HDR_LEN) {
		r->hdr_torn = true;
		return 0;
	}
	/* the name's seq is bound into every block: a renamed copy fails */
	if (parse_seg_name(base ? base + 1 : r->path, &first))
		return st_errf(err, errlen, "%s: a sealed segment must keep its name "
			       "<20-digit first seq>.seg", r->path);
	if (st_seal_open(&r->seal, first, r->map, r->size, r->path, err, errlen))
		return -1;
	r->pos = ST_SEAL_HDR_LEN;
	return 0;
}

/* The gzip member inside the next sealed block, authenticated. */
static int seal_next(struct st_seg_reader *r, const unsigned char **in,
		     size_t *len, size_t *used, char *err, size_t errlen)
{
	int rc;

	if (r->hdr_torn) {
		st_errf(err, errlen, "%zu bytes are not a whole sealed segment header",
			r->size);
		return ST_BLOCK_TORN;
	}
	if (r->pos == r->size)
		return ST_BLOCK_END;	/* without its final block: see st_seg_finalized */
	rc = st_seal_read(r->seal, r->map + r->pos, r->size - r->pos, in, len,
			  used, err, errlen);
	switch (rc) {
	case ST_SEAL_OK:
		return ST_BLOCK_OK;
	case ST_SEAL_END:
		r->pos = r->size;
		r->good_end = r->size;
		return ST_BLOCK_END;
	case ST_SEAL_TORN:
		return ST_BLOCK_TORN;
	case ST_SEAL_CORRUPT:
		return ST_BLOCK_CORRUPT;
	default:
		return ST_BLOCK_ERROR;
	}
}

bool st_seg_sealed(const struct st_seg_reader *r)
{
	return r->seal || r->hdr_torn;
}

bool st_seg_finalized(const struct st_seg_reader *r)
{
	return r->seal && st_seal_finalized(r->seal);
}

uint64_t st_seg_sealed_blocks(const struct st_seg_reader *r)
{
	return r->seal ? st_seal_blocks_read(r->seal) : 0;
}

int st_seg_open(struct st_seg_reader **out, const char *path, char *err,
		size_t errlen)
{
	struct st_seg_reader *r;
	struct stat st;
	int fd;

	*out = NULL;
	fd = st_open_regular(path, err, errlen);
	if (fd < 0)
		return -1;
	r = calloc(1, sizeof(*r));
	if (!r || fstat(fd, &st)) {
		st_errf(err, errlen, "%s: %s", path, r ? strerror(errno) : "out of memory");
		goto bad;
	}
	r->path = strdup(path);
	r->size = (size_t)st.st_size;
	if (r->size) {
		/* a snapshot of what is there now; a writer only appends */
		r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			st_errf(err, errlen, "%s: mmap: %s", path, strerror(errno));
			goto bad;
		}
	}
	if (!r->path || inflateInit2(&r->z, 15 + 16) != Z_OK) {
		st_errf(err, errlen, "%s: zlib init failed", path);
		goto bad;
	}
	r->z_ready = true;
	if (seal_open_reader(r, err, errlen))
		goto bad;
	close(fd);
	*out = r;
	return 0;
bad:
	close(fd);
	st_seg_close(r);
	return -1;
}

void st_seg_close(struct st_seg_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap((void *)r->map, r->size);
	if (r->z_ready)
		inflateEnd(&r->z);
	st_seal_free(r->seal);
	free(r->path);
	free(r);
}

uint64_t st_seg_good_end(const struct st_seg_reader *r)
{
	return r->good_end;
}

uint64_t st_seg_size(const struct st_seg_reader *r)
{
	return r->size;
}

int st_seg_seek(struct st_seg_reader *r, uint64_t offset)
{
	if (offset > r->size)
		return -1;
	r->pos = (size_t)offset;
	r->good_end = r->pos;
	if (r->seal)
		st_seal_reset(r->seal);
	return 0;
}

int st_seg_next(struct st_seg_reader *r, struct st_buf *out, uint64_t *offset,
		char *err, size_t errlen)
{
	/* an empty file has no map: NULL + 0 is undefined behaviour */
	const unsigned char *in = r->map ? r->map + r->pos : NULL;
	size_t avail, sealed_len = 0;
	int zrc;

	*offset = r->pos;
	out->len = 0;
	if (st_seg_sealed(r)) {
		zrc = seal_next(r, &in, &avail, &sealed_len, err, errlen);
		if (zrc != ST_BLOCK_OK)
			return zrc;
	} else if (r->pos == r->size) {
		return ST_BLOCK_END;
	} else {
		avail = r->size - r->pos;
	}
	if (inflateReset(&r->z) != Z_OK)
		return st_errf(err, errlen, "%s: zlib reset failed", r->path);
	if (avail > UINT32_MAX)
		avail = UINT32_MAX;
	r->z.next_in = (unsigned char *)in;
	r->z.avail_in = (uInt)avail;
	do {
		if (st_buf_reserve(out, 65536))
			return st_errf(err, errlen, "%s: out of memory", r->path);
		r->z.next_out = (unsigned char *)out->p + out->len;
		r->z.avail_out = (uInt)(out->cap - out->len - 1);
		zrc = inflate(&r->z, Z_NO_FLUSH);
		out->len = out->cap - 1 - r->z.avail_out;
		if (out->len > ST_BLOCK_MAX_PLAIN) {
			st_errf(err, errlen, "block at offset %zu inflates beyond %u bytes",
			     r->pos, ST_BLOCK_MAX_PLAIN);
			return ST_BLOCK_CORRUPT;
		}
	} while (zrc == Z_OK && (r->z.avail_in || !r->z.avail_out));
	if (zrc == Z_OK || zrc == Z_BUF_ERROR) {
		/* the input ended inside the member */
		st_errf(err, errlen, "%zu bytes at offset %zu are not a whole gzip block",
		     r->size - r->pos, r->pos);
		/* a sealed block is whole (its tag held): not a torn write */
		return r->seal ? ST_BLOCK_CORRUPT : ST_BLOCK_TORN;
	}
	if (zrc != Z_STREAM_END) {
		st_errf(err, errlen, "block at offset %zu is not valid gzip (%s)",
		     r->pos, r->z.msg ? r->z.msg : "zlib error");
		return ST_BLOCK_CORRUPT;
	}
	if (!out->len || out->p[out->len - 1] != '\n') {
		st_errf(err, errlen, "block at offset %zu does not end with a whole line",
		     r->pos);
		return ST_BLOCK_CORRUPT;
	}
	if (r->seal && r->z.avail_in) {
		st_errf(err, errlen, "sealed block at offset %zu holds more than one gzip member",
			r->pos);
		return ST_BLOCK_CORRUPT;
	}
	out->p[out->len] = '\0';
	r->pos += r->seal ? sealed_len : avail - r->z.avail_in;
	r->good_end = r->pos;
	return ST_BLOCK_OK;
}

/* ---- recovery --------------------------------------------------------- */

/* Copy [from, size) of the segment to a new file in the same dir. */
static int keep_torn(int dirfd, const char *dir,
		     const struct st_seg_reader *r, uint64_t from,
		     const char *torn, char *err, size_t errlen)
{
	int fd = openat(dirfd, torn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

	if (fd < 0)
		return st_errf(err, errlen, "%s/%s: %s", dir, torn, strerror(errno));
	if (st_write_all(fd, r->map + from, r->size - from) || fsync(fd)) {
		st_errf(err, errlen, "%s/%s: %s", dir, torn, strerror(errno));
		close(fd);
		unlinkat(dirfd, torn, 0);
		return -1;
	}
	close(fd);
	return 0;
}

static int cut_back(int dirfd, const char *dir, const char *name,
		    uint64_t good_end, char *err, size_t errlen)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return st_errf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
	if (ftruncate(fd, (off_t)good_end) || fsync(fd)) {
		st_errf(err, errlen, "%s/%s: truncate: %s", dir, name, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * A sealed segment an agent did not close (it crashed): after its torn
 * tail is cut, it gets its final block, so that every segment but the
 * one being written ends with one. The index after a torn block is
 * skipped: that block's nonce may have reached the disk.
 */
static int seal_finish(int dirfd, const char *dir, const char *name,
		       uint64_t first, const uint8_t *hdr, uint64_t blocks,
		       bool skip, char *err, size_t errlen)
{
	struct st_seal *seal;
	const uint8_t *blk;
	size_t len;
	int fd, rc = -1;

	if (st_seal_open(&seal, first, hdr, ST_SEAL_HDR_LEN, name, err, errlen))
		return -1;
	st_seal_set_next(seal, blocks + (skip ? 1 : 0));
	fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		st_errf(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
	} else if (st_seal_final(seal, blocks, &blk, &len)) {
		st_errf(err, errlen, "%s/%s: sealing the final block failed", dir, name);
	} else if (st_write_all(fd, blk, len) || fsync(fd)) {
		st_errf(err, errlen, "%s/%s: write: %s", dir, name, strerror(errno));
	} else {
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	st_seal_free(seal);
	return rc;
}

/* The header of a sealed segment still open for appending (else false). */
static bool unfinished_seal(const struct st_seg_reader *r, uint8_t *hdr)
{
	if (!r->seal || st_seal_finalized(r->seal) || r->size < ST_SEAL_HDR_LEN)
		return false;
	memcpy(hdr, r->map, ST_SEAL_HDR_LEN);
	return true;
}

static int drop_segment(int dirfd, const char *dir, const char *path,
			const char *name, char *err, size_t errlen)
{
	if (unlinkat(dirfd, name, 0))
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	return fsync(dirfd) ? st_errf(err, errlen, "%s: fsync: %s", dir,
				   strerror(errno)) : 0;
}

static int recover_segment(int dirfd, const char *dir, uint64_t first,
			   uint64_t now_ns, struct st_recovery *out,
			   char *err, size_t errlen)
{
	struct st_seg_reader *r;
	struct st_buf block = { 0 };
	uint8_t hdr[ST_SEAL_HDR_LEN];
	char path[4200];
	uint64_t off, blocks;
	bool seal_open;
	int rc;

	st_seg_name(first, out->segment);
	snprintf(path, sizeof(path), "%s/%s", dir, out->segment);
	if (st_seg_open(&r, path, err, errlen))
		return -1;
	if (!st_seg_size(r)) {
		/* created but never written: nothing to keep */
		st_seg_close(r);
		return drop_segment(dirfd, dir, path, out->segment, err, errlen);
	}
	while ((rc = st_seg_next(r, &block, &off, out->reason,
				 sizeof(out->reason))) == ST_BLOCK_OK)
		;
	st_buf_free(&block);
	seal_open = unfinished_seal(r, hdr);
	blocks = st_seg_sealed_blocks(r);
	if (rc == ST_BLOCK_END) {
		st_seg_close(r);
		if (seal_open && !blocks)	/* a header, never a block */
			return drop_segment(dirfd, dir, path, out->segment, err, errlen);
		if (seal_open)
			return seal_finish(dirfd, dir, out->segment, first, hdr,
					   blocks, false, err, errlen);
		return 0;
	}
	if (rc == ST_BLOCK_ERROR) {
		st_seg_close(r);
		return st_errf(err, errlen, "%s: %s", path, out->reason);
	}
	out->torn = true;
	out->good_end = st_seg_good_end(r);
	out->torn_bytes = st_seg_size(r) - out->good_end;
	snprintf(out->torn_file, sizeof(out->torn_file), "%s.torn-%" PRIu64,
		 out->segment, now_ns);
	rc = keep_torn(dirfd, dir, r, out->good_end,
		       out->torn_file, err, errlen);
	st_seg_close(r);
	if (rc)
		return -1;
	if (!out->good_end) {
		/* no whole block at all: the copy is everything, drop the file */
		if (unlinkat(dirfd, out->segment, 0))
			return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	} else if (cut_back(dirfd, dir, out->segment, out->good_end, err, errlen)) {
		return -1;
	} else if (seal_open && seal_finish(dirfd, dir, out->segment, first, hdr,
					    blocks, true, err, errlen)) {
		return -1;
	}
	return fsync(dirfd) ? st_errf(err, errlen, "%s: fsync: %s", dir,
				   strerror(errno)) : 0;
}

int st_store_recover(const char *dir, uint64_t now_ns, struct st_recovery *out,
		     char *err, size_t errlen)
{
	struct st_seg_list l;
	int dirfd, rc;

	memset(out, 0, sizeof(*out));
	if (st_seg_list(dir, &l, err, errlen))
		return -1;
	if (!l.n) {
		st_seg_list_free(&l);
		return 0;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		st_seg_list_free(&l);
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	}
	rc = recover_segment(dirfd, dir, l.first[l.n - 1], now_ns, out, err,
			     errlen);
	close(dirfd);
	st_seg_list_free(&l);
	return rc;
}
