// SPDX-License-Identifier: Apache-2.0
/* The data key file: AES-256 keys for sealed segments (datakey.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "sealtrace/base/digest.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/keys/datakey.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/keys/keys.h"

#define DATAKEY_FILE_MAX	65536
#define DATAKEY_MAX		1024

struct datakey {
	char id[ST_DATA_KEY_ID_MAX + 1];
	uint8_t key[ST_DATA_KEY_LEN];
};

struct st_datakeys {
	struct datakey *k;	/* cleansed on free */
	size_t n;
	char *path;
};

void st_datakeys_free(struct st_datakeys *dk)
{
	if (!dk)
		return;
	if (dk->k)
		OPENSSL_clear_free(dk->k, DATAKEY_MAX * sizeof(*dk->k));
	free(dk->path);
	free(dk);
}

static int add_line(struct st_datakeys *dk, int lineno, const char *line,
		    size_t len, char *err, size_t errlen)
{
	const char *sp = memchr(line, ' ', len);
	struct datakey *k;
	size_t idlen, i;

	if (!sp)
		return st_errf(err, errlen, "%s:%d: expected '<key_id> <64 hex digits>'",
			       dk->path, lineno);
	idlen = (size_t)(sp - line);
	if (!st_key_id_valid(line, idlen))
		return st_errf(err, errlen, "%s:%d: key id must be [A-Za-z0-9_.-]{1,%d}",
			       dk->path, lineno, ST_DATA_KEY_ID_MAX);
	for (i = 0; i < dk->n; i++)
		if (strlen(dk->k[i].id) == idlen && !memcmp(dk->k[i].id, line, idlen))
			return st_errf(err, errlen, "%s:%d: duplicate key id '%.*s'",
				       dk->path, lineno, (int)idlen, line);
	if (dk->n == DATAKEY_MAX)
		return st_errf(err, errlen, "%s:%d: more than %d keys", dk->path,
			       lineno, DATAKEY_MAX);
	k = &dk->k[dk->n];
	if (st_unhex(sp + 1, len - idlen - 1, k->key, sizeof(k->key)))
		return st_errf(err, errlen, "%s:%d: key must be 64 lower-case hex digits",
			       dk->path, lineno);
	memcpy(k->id, line, idlen);
	k->id[idlen] = '\0';
	dk->n++;
	return 0;
}

static int parse_keys(struct st_datakeys *dk, const char *text, size_t len,
		      char *err, size_t errlen)
{
	const char *line = text, *nl;
	size_t l;
	int lineno = 0;

	while (line < text + len) {
		lineno++;
		nl = memchr(line, '\n', (size_t)(text + len - line));
		l = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
		if (l && line[l - 1] == '\r')
			l--;
		if (l && line[0] != '#' && add_line(dk, lineno, line, l, err, errlen))
			return -1;
		if (!nl)
			break;
		line = nl + 1;
	}
	if (!dk->n)
		return st_errf(err, errlen, "%s: no key (expected '<key_id> <64 hex digits>' lines)",
			       dk->path);
	return 0;
}

static int read_small(const char *path, char *buf, size_t cap, size_t *len,
		      char *err, size_t errlen)
{
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	while ((r = read(fd, buf + *len, cap - *len)) > 0 && *len < cap)
		*len += (size_t)r;
	close(fd);
	if (r < 0)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	if (*len >= cap)
		return st_errf(err, errlen, "%s: larger than %zu bytes", path, cap - 1);
	return 0;
}

int st_datakeys_load(struct st_datakeys **out, const char *path, char *err,
		     size_t errlen)
{
	struct st_datakeys *dk;
	char *text;
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	text = OPENSSL_secure_zalloc(DATAKEY_FILE_MAX);
	dk = calloc(1, sizeof(*dk));
	if (!text || !dk) {
		st_errf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	dk->path = strdup(path);
	dk->k = OPENSSL_zalloc(DATAKEY_MAX * sizeof(*dk->k));
	if (!dk->path || !dk->k) {
		st_errf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (read_small(path, text, DATAKEY_FILE_MAX, &len, err, errlen) ||
	    parse_keys(dk, text, len, err, errlen))
		goto out;
	*out = dk;
	dk = NULL;
	rc = 0;
out:
	if (text)
		OPENSSL_secure_clear_free(text, DATAKEY_FILE_MAX);
	st_datakeys_free(dk);
	return rc;
}

const char *st_datakeys_current(const struct st_datakeys *dk,
				const uint8_t **key)
{
	*key = dk->k[dk->n - 1].key;
	return dk->k[dk->n - 1].id;
}

const uint8_t *st_datakeys_find(const struct st_datakeys *dk, const char *id,
				size_t idlen)
{
	size_t i;

	for (i = 0; i < dk->n; i++)
		if (strlen(dk->k[i].id) == idlen && !memcmp(dk->k[i].id, id, idlen))
			return dk->k[i].key;
	return NULL;
}

const char *st_datakeys_path(const struct st_datakeys *dk)
{
	return dk->path;
}

static int append_line(const char *path, const char *line, bool create,
		       char *err, size_t errlen)
{
	int flags = O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
	size_t len = strlen(line);
	ssize_t w;
	int fd = open(path, flags, 0600);

	if (fd < 0)
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	w = write(fd, line, len);
	if (w != (ssize_t)len || fsync(fd)) {
		st_errf(err, errlen, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int st_datakeys_add(const char *path, char *new_id, size_t idlen, char *err,
		    size_t errlen)
{
	struct st_datakeys *dk;
	char line[160];
	bool create = access(path, F_OK) != 0;
	int rc;

	/* an existing file must parse before the append: never add to garbage */
	if (!create) {
		if (st_datakeys_load(&dk, path, err, errlen))
			return -1;
		st_datakeys_free(dk);
	}
	if (st_keys_new_line(line, sizeof(line), new_id, idlen))
		return st_errf(err, errlen, "%s: random key generation failed", path);
	rc = append_line(path, line, create, err, errlen);
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}
