// SPDX-License-Identifier: Apache-2.0
/* Key generation and loading (see keys.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "sealtrace/digest.h"
#include "sealtrace/keys.h"
#include "sealtrace/pseudo.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int path_in(char *out, size_t outlen, const char *dir, const char *name)
{
	return (size_t)snprintf(out, outlen, "%s/%s", dir, name) >= outlen ? -1 : 0;
}

/* Write all of buf to a new file (O_EXCL), fsync it, set mode exactly. */
static int write_new(const char *path, const void *buf, size_t len,
		     mode_t mode, char *err, size_t errlen)
{
	const char *p = buf;
	ssize_t w;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	/* umask may have cleared bits of 0644; set the documented mode */
	if (fchmod(fd, mode))
		goto bad;
	while (len) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto bad;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd))
		goto bad;
	close(fd);
	return 0;
bad:
	fail(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	unlink(path);
	return -1;
}

/* "<YYYYMMDD>-<8 random hex>": sortable by creation, unique enough. */
static int new_key_line(char *line, size_t linelen, char *id, size_t idlen)
{
	uint8_t key[ST_HMAC_KEY_LEN], rnd[4];
	char khex[2 * ST_HMAC_KEY_LEN + 1], rhex[9];
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	if (RAND_priv_bytes(key, sizeof(key)) != 1 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1 || !gmtime_r(&now, &tm))
		goto out;
	st_hex(rnd, sizeof(rnd), rhex);
	st_hex(key, sizeof(key), khex);
	if ((size_t)snprintf(id, idlen, "%04d%02d%02d-%s", tm.tm_year + 1900,
			     tm.tm_mon + 1, tm.tm_mday, rhex) >= idlen)
		goto out;
	if ((size_t)snprintf(line, linelen, "%s %s\n", id, khex) >= linelen)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(khex, sizeof(khex));
	return rc;
}

static int pem_of(EVP_PKEY *k, int private, char **out, size_t *outlen)
{
	BIO *bio = BIO_new(private ? BIO_s_secmem() : BIO_s_mem());
	char *p;
	long n;
	int ok;

	if (!bio)
		return -1;
	ok = private ? PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) :
		PEM_write_bio_PUBKEY(bio, k);
	n = BIO_get_mem_data(bio, &p);
	if (ok != 1 || n <= 0 || !(*out = malloc((size_t)n))) {
		BIO_free(bio);
		return -1;
	}
	memcpy(*out, p, (size_t)n);
	*outlen = (size_t)n;
	BIO_free(bio);	/* the secure-memory BIO clears the private PEM */
	return 0;
}

int st_keys_generate(const char *dir, char *err, size_t errlen)
{
	static const char *const names[] = { "hmac.key", "signing.key", "signing.pub" };
	char path[3][4096], line[160], id[ST_KEY_ID_MAX + 1];
	char *priv = NULL, *pub = NULL;
	size_t privlen = 0, publen = 0, i;
	EVP_PKEY *k = NULL;
	struct stat st;
	int rc = -1;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	for (i = 0; i < 3; i++) {
		if (path_in(path[i], sizeof(path[i]), dir, names[i]))
			return fail(err, errlen, "%s: path too long", dir);
		if (!lstat(path[i], &st))
			return fail(err, errlen, "%s: already exists; refusing to overwrite keys",
				    path[i]);
	}
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k || pem_of(k, 1, &priv, &privlen) || pem_of(k, 0, &pub, &publen)) {
		fail(err, errlen, "%s: Ed25519 key generation failed", dir);
		goto out;
	}
	if (new_key_line(line, sizeof(line), id, sizeof(id))) {
		fail(err, errlen, "%s: random key generation failed", dir);
		goto out;
	}
	if (write_new(path[0], line, strlen(line), 0600, err, errlen))
		goto out;
	if (write_new(path[1], priv, privlen, 0600, err, errlen)) {
		unlink(path[0]);
		goto out;
	}
	if (write_new(path[2], pub, publen, 0644, err, errlen)) {
		unlink(path[0]);
		unlink(path[1]);
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(line, sizeof(line));
	if (priv)
		OPENSSL_cleanse(priv, privlen);
	free(priv);
	free(pub);
	EVP_PKEY_free(k);
	return rc;
}

int st_keys_rotate_hmac(const char *dir, char *new_id, size_t idlen,
			char *err, size_t errlen)
{
	struct st_keyring *kr;
	char path[4096], line[160];
	size_t len;
	ssize_t w;
	int fd, rc = -1;

	if (path_in(path, sizeof(path), dir, "hmac.key"))
		return fail(err, errlen, "%s: path too long", dir);
	/* the ring must parse before and after: never append to garbage */
	if (st_keyring_load_file(&kr, path, err, errlen))
		return -1;
	st_keyring_free(kr);
	if (new_key_line(line, sizeof(line), new_id, idlen))
		return fail(err, errlen, "%s: random key generation failed", path);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	len = strlen(line);
	w = write(fd, line, len);
	if (w != (ssize_t)len || fsync(fd)) {
		fail(err, errlen, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
		close(fd);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

static int check_ed25519(EVP_PKEY *k, const char *path, char *err,
			 size_t errlen)
{
	if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519)
		return fail(err, errlen, "%s: not an Ed25519 key", path);
	return 0;
}

int st_signing_key_load(const char *keys_dir, EVP_PKEY **out, char *err,
			size_t errlen)
{
	char path[4096];
	EVP_PKEY *k;
	FILE *f;

	*out = NULL;
	if (path_in(path, sizeof(path), keys_dir, "signing.key"))
		return fail(err, errlen, "%s: path too long", keys_dir);
	f = fopen(path, "re");
	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		return fail(err, errlen, "%s: not a PEM private key", path);
	if (check_ed25519(k, path, err, errlen)) {
		EVP_PKEY_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

int st_pubkey_load(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	EVP_PKEY *k;
	FILE *f;

	*out = NULL;
	f = fopen(path, "re");
	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		return fail(err, errlen, "%s: not a PEM public key", path);
	if (check_ed25519(k, path, err, errlen)) {
		EVP_PKEY_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

int st_pubkey_raw(EVP_PKEY *key, uint8_t out[32])
{
	size_t n = 32;

	if (EVP_PKEY_get_raw_public_key(key, out, &n) != 1 || n != 32)
		return -1;
	return 0;
}
