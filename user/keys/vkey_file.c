// SPDX-License-Identifier: Apache-2.0
/* DIR/signing.vkey: the verifier key string of the signing key (vkey.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/keys/vkey.h"

int st_vkey_write(const char *dir, const char *name, char *out, size_t outlen,
		  char *err, size_t errlen)
{
	char path[4200], tmp[4210];
	EVP_PKEY *k = NULL;
	size_t len;
	int fd, ok;

	if (st_signing_key_load(dir, &k, err, errlen))
		return -1;
	ok = !st_vkey_format(name, ST_VKEY_ED25519, k, out, outlen - 1);
	EVP_PKEY_free(k);
	if (!ok)
		return st_errf(err, errlen, "%s: key name '%s' is not a C2SP key name", dir, name);
	len = strlen(out);
	snprintf(path, sizeof(path), "%s/%s", dir, ST_VKEY_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return st_errf(err, errlen, "%s: %s", tmp, strerror(errno));
	out[len] = '\n';
	ok = write(fd, out, len + 1) == (ssize_t)(len + 1) && !fsync(fd);
	out[len] = '\0';
	if (close(fd) || !ok || rename(tmp, path)) {
		unlink(tmp);
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	return st_fsync_dir(dir, err, errlen);
}

int st_vkey_file_name(const char *dir, char *name, size_t namelen, char *err,
		      size_t errlen)
{
	char path[4200], text[ST_VKEY_MAX + 2], *plus;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, ST_VKEY_FILE);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 1 : st_errf(err, errlen, "%s: %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	plus = strchr(text, '+');
	if (!plus || (size_t)(plus - text) >= namelen)
		return st_errf(err, errlen, "%s: not a verifier key", path);
	memcpy(name, text, (size_t)(plus - text));
	name[plus - text] = '\0';
	return 0;
}
