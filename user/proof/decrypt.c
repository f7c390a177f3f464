// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace decrypt: a sealed segment as the plain gzip it seals, so that
 * `sealtrace decrypt --data-key KEY 00000000000000000000.seg | zcat`
 * shows its lines. Every block's tag is checked before its bytes are
 * written; a bad block stops the output there (exit 1), a truncated
 * segment is reported after what it holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/log/seal.h"
#include "sealtrace/log/store.h"
#include "sealtrace/proof/sealed.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace decrypt [--data-key FILE] SEGMENT\n\n"
		"Write the gzip blocks a sealed (AES-256-GCM) segment holds to stdout,\n"
		"each after its 16-byte tag was checked:\n\n"
		"  sealtrace decrypt --data-key data.key decision/00000000000000000000.seg | zcat\n\n"
		"The segment must keep its name (<first seq>.seg): the name is bound into\n"
		"every block. A plain (unsealed) segment is copied as it is.\n\n"
		"  --data-key FILE  the data key file (or SEALTRACE_DATA_KEY=FILE)\n"
		"  -h, --help       this text\n\n"
		"Exit status: 0 ok, 1 a block fails its tag, is out of place or the\n"
		"segment is cut short (what came before is written), 2 usage or no key,\n"
		"3 I/O error.\n");
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static int seg_first(const char *path, uint64_t *first)
{
	const char *b = base_name(path);
	char name[ST_SEG_NAME_LEN + 1];
	unsigned long long v;

	if (strlen(b) != ST_SEG_NAME_LEN || sscanf(b, "%20llu", &v) != 1)
		return -1;
	st_seg_name(v, name);
	if (strcmp(name, b))
		return -1;
	*first = v;
	return 0;
}

static int write_out(const void *p, size_t len)
{
	return fwrite(p, 1, len, stdout) == len ? 0 : -1;
}

/* Every block of a sealed segment mapped at m[0..size). */
static int decrypt_blocks(const char *path, const uint8_t *m, size_t size,
			  uint64_t first)
{
	const uint8_t *plain;
	struct st_seal *s;
	size_t pos = ST_SEAL_HDR_LEN, len, used;
	char err[4400];
	int rc;

	if (st_seal_open(&s, first, m, size, path, err, sizeof(err))) {
		fprintf(stderr, "sealtrace decrypt: %s\n", err);
		return ST_EXIT_USAGE;
	}
	for (;;) {
		if (pos == size) {
			fprintf(stderr, "sealtrace decrypt: %s: no final block after %" PRIu64
				" blocks: the segment is cut short, or an agent is still writing it\n",
				path, st_seal_blocks_read(s));
			rc = ST_EXIT_FAIL;
			break;
		}
		rc = st_seal_read(s, m + pos, size - pos, &plain, &len, &used, err,
				  sizeof(err));
		if (rc == ST_SEAL_END) {
			rc = ST_EXIT_OK;
			break;
		}
		if (rc != ST_SEAL_OK) {
			fprintf(stderr, "sealtrace decrypt: %s: offset %zu: %s\n", path, pos, err);
			rc = rc < 0 ? ST_EXIT_RUNTIME : ST_EXIT_FAIL;
			break;
		}
		if (write_out(plain, len)) {
			fprintf(stderr, "sealtrace decrypt: stdout: %s\n", strerror(errno));
			rc = ST_EXIT_RUNTIME;
			break;
		}
		pos += used;
	}
	st_seal_free(s);
	return rc;
}

static int decrypt_file(const char *path)
{
	struct stat st;
	uint64_t first = 0;
	void *m = NULL;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "sealtrace decrypt: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return errno == EACCES ? ST_EXIT_USAGE : ST_EXIT_RUNTIME;
	}
	if (st.st_size)
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fprintf(stderr, "sealtrace decrypt: %s: mmap: %s\n", path, strerror(errno));
		return ST_EXIT_RUNTIME;
	}
	if (!st_seal_is_sealed(m, (size_t)st.st_size)) {
		rc = st.st_size && write_out(m, (size_t)st.st_size) ? ST_EXIT_RUNTIME : ST_EXIT_OK;
	} else if (seg_first(path, &first)) {
		fprintf(stderr, "sealtrace decrypt: %s: a sealed segment must keep its name "
			"<20-digit first seq>.seg\n", path);
		rc = ST_EXIT_USAGE;
	} else {
		rc = decrypt_blocks(path, m, (size_t)st.st_size, first);
	}
	if (m)
		munmap(m, (size_t)st.st_size);
	if (fflush(stdout) && rc == ST_EXIT_OK)
		rc = ST_EXIT_RUNTIME;
	return rc;
}

int cmd_decrypt(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-key", required_argument, NULL, 'K' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "decrypt", .opts = opts, .usage = usage,
			      .operands = true };
	int c;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'K':
			if (st_cli_data_key("decrypt", optarg))
				return ST_EXIT_USAGE;
			break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (optind + 1 != argc)
		return st_cli_usage_error(&cli, "give one SEGMENT");
	return decrypt_file(argv[optind]);
}
