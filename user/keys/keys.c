// SPDX-License-Identifier: Apache-2.0
/* Key generation and loading (see keys.h). */
#include <dirent.h>
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

#include "sealtrace/base/errf.h"
#include "sealtrace/base/digest.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/keys/vkey.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/base/file.h"

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
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
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
	st_errf(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	unlink(path);
	return -1;
}

/* "<YYYYMMDD>-<8 random hex>": sortable by creation, unique enough. */
int st_keys_new_line(char *line, size_t linelen, char *id, size_t idlen)
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
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	for (i = 0; i < 3; i++) {
		if (path_in(path[i], sizeof(path[i]), dir, names[i]))
			return st_errf(err, errlen, "%s: path too long", dir);
		if (!lstat(path[i], &st))
			return st_errf(err, errlen, "%s: already exists; refusing to overwrite keys",
				    path[i]);
	}
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k || pem_of(k, 1, &priv, &privlen) || pem_of(k, 0, &pub, &publen)) {
		st_errf(err, errlen, "%s: Ed25519 key generation failed", dir);
		goto out;
	}
	if (st_keys_new_line(line, sizeof(line), id, sizeof(id))) {
		st_errf(err, errlen, "%s: random key generation failed", dir);
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
		return st_errf(err, errlen, "%s: path too long", dir);
	/* the ring must parse before and after: never append to garbage */
	if (st_keyring_load_file(&kr, path, err, errlen))
		return -1;
	st_keyring_free(kr);
	if (st_keys_new_line(line, sizeof(line), new_id, idlen))
		return st_errf(err, errlen, "%s: random key generation failed", path);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		st_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	len = strlen(line);
	w = write(fd, line, len);
	if (w != (ssize_t)len || fsync(fd)) {
		st_errf(err, errlen, "%s: %s", path, w < 0 ? strerror(errno) : "short write");
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
		return st_errf(err, errlen, "%s: not an Ed25519 key", path);
	return 0;
}

/* An Ed25519 key from a PEM file: its private key, or a public key. */
static int pem_key_load(const char *path, bool private_key, EVP_PKEY **out,
			char *err, size_t errlen)
{
	EVP_PKEY *k;
	FILE *f;

	*out = NULL;
	f = st_fopen_regular(path, err, errlen);
	if (!f)
		return -1;
	k = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL) :
			  PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		return st_errf(err, errlen, "%s: not a PEM %s key", path,
			       private_key ? "private" : "public");
	if (check_ed25519(k, path, err, errlen)) {
		EVP_PKEY_free(k);
		return -1;
	}
	*out = k;
	return 0;
}

int st_signing_key_load(const char *keys_dir, EVP_PKEY **out, char *err,
			size_t errlen)
{
	char path[4096];

	*out = NULL;
	if (path_in(path, sizeof(path), keys_dir, "signing.key"))
		return st_errf(err, errlen, "%s: path too long", keys_dir);
	return pem_key_load(path, true, out, err, errlen);
}

int st_pubkey_load(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	return pem_key_load(path, false, out, err, errlen);
}

int st_pubkey_raw(EVP_PKEY *key, uint8_t out[32])
{
	size_t n = 32;

	if (EVP_PKEY_get_raw_public_key(key, out, &n) != 1 || n != 32)
		return -1;
	return 0;
}

int st_pubkey_hash(EVP_PKEY *key, char out[ST_PUBKEY_HASH_LEN + 1])
{
	uint8_t raw[32], h[ST_HASH_LEN];
	struct st_hasher *hs;
	int rc = -1;

	if (st_pubkey_raw(key, raw))
		return -1;
	hs = st_hasher_new();
	if (hs && !st_sha256(hs, raw, sizeof(raw), NULL, 0, h)) {
		memcpy(out, "sha256:", 7);
		st_hex(h, ST_HASH_LEN, out + 7);
		rc = 0;
	}
	st_hasher_free(hs);
	return rc;
}

/* ---- signing key rotation --------------------------------------------- */

static bool same_pubkey(EVP_PKEY *a, EVP_PKEY *b)
{
	uint8_t x[32], y[32];

	return !st_pubkey_raw(a, x) && !st_pubkey_raw(b, y) &&
	       !memcmp(x, y, sizeof(x));
}

/*
 * Zero the bytes of a private key whose last name is gone, through the fd
 * held since before the rename, so that the blocks the file system frees
 * hold no copy. Best effort by nature: copy-on-write file systems, SSD
 * wear levelling and backups keep what they keep (operations.md).
 */
static int shred_fd(int fd, const char *path, char *err, size_t errlen)
{
	static const uint8_t zero[4096];
	struct stat st;
	off_t off = 0;
	ssize_t w;
	size_t n;

	if (fstat(fd, &st))
		return st_errf(err, errlen, "%s: fstat: %s", path, strerror(errno));
	if (st.st_nlink)
		return 0;	/* another name still links it: a copy kept on purpose */
	while (off < st.st_size) {
		n = (size_t)(st.st_size - off) < sizeof(zero) ?
			(size_t)(st.st_size - off) : sizeof(zero);
		w = pwrite(fd, zero, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return st_errf(err, errlen, "%s: overwriting the retired private key: %s",
				    path, w < 0 ? strerror(errno) : "short write");
		off += w;
	}
	if (fdatasync(fd))
		return st_errf(err, errlen, "%s: fdatasync: %s", path, strerror(errno));
	return 0;
}

/* <dir>/retired/signing-<YYYYMMDDTHHMMSSZ>.pub, UTC: sorts by retirement. */
static int retired_path(char *out, size_t outlen, const char *rdir)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm))
		return -1;
	return (size_t)snprintf(out, outlen, "%s/signing-%04d%02d%02dT%02d%02d%02dZ.pub",
				rdir, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
				tm.tm_hour, tm.tm_min, tm.tm_sec) >= outlen ? -1 : 0;
}

struct rot {
	char key[4096], pub[4096], key_new[4200], pub_new[4200];
	char rdir[4096], retired[4200];
	EVP_PKEY *cur, *cur_pub, *next;
	char *priv_pem, *pub_pem, *old_pub_pem;
	size_t priv_len, pub_len, old_pub_len;
};

/* The current pair must exist and belong together before anything moves. */
static int rot_check(struct rot *r, const char *dir, char *err, size_t errlen)
{
	if (path_in(r->key, sizeof(r->key), dir, "signing.key") ||
	    path_in(r->pub, sizeof(r->pub), dir, "signing.pub") ||
	    path_in(r->rdir, sizeof(r->rdir), dir, ST_KEYS_RETIRED_DIR))
		return st_errf(err, errlen, "%s: path too long", dir);
	snprintf(r->key_new, sizeof(r->key_new), "%s.new", r->key);
	snprintf(r->pub_new, sizeof(r->pub_new), "%s.new", r->pub);
	if (access(r->key, F_OK))
		return st_errf(err, errlen, "%s: %s: no current signing key; refusing to rotate (create one with `sealtrace keygen --dir %s`)",
			    r->key, strerror(errno), dir);
	if (st_signing_key_load(dir, &r->cur, err, errlen) ||
	    st_pubkey_load(r->pub, &r->cur_pub, err, errlen))
		return -1;
	/* retiring a mismatched .pub would hand auditors the wrong key */
	if (!same_pubkey(r->cur, r->cur_pub))
		return st_errf(err, errlen, "%s is not the public half of %s; refusing to rotate",
			    r->pub, r->key);
	return 0;
}

static int rot_prepare(struct rot *r, char *err, size_t errlen)
{
	r->next = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!r->next || pem_of(r->next, 1, &r->priv_pem, &r->priv_len) ||
	    pem_of(r->next, 0, &r->pub_pem, &r->pub_len) ||
	    pem_of(r->cur, 0, &r->old_pub_pem, &r->old_pub_len))
		return st_errf(err, errlen, "%s: Ed25519 key generation failed", r->key);
	if (mkdir(r->rdir, 0755) && errno != EEXIST)
		return st_errf(err, errlen, "%s: %s", r->rdir, strerror(errno));
	if (retired_path(r->retired, sizeof(r->retired), r->rdir))
		return st_errf(err, errlen, "%s: path too long", r->rdir);
	if (!access(r->retired, F_OK))
		return st_errf(err, errlen, "%s: already exists (rotated twice within a second?); refusing to rotate, try again",
			    r->retired);
	return 0;
}

/*
 * Retired .pub first, then the new pair next to the old one, then the
 * renames: a crash leaves either the old pair (and perhaps its .pub also
 * under retired/, which is harmless) or the new one in place.
 */
static int rot_commit(struct rot *r, const char *dir, char *err, size_t errlen)
{
	if (write_new(r->retired, r->old_pub_pem, r->old_pub_len, 0644, err, errlen))
		return -1;
	if (st_fsync_dir(r->rdir, err, errlen) ||
	    write_new(r->key_new, r->priv_pem, r->priv_len, 0600, err, errlen))
		goto undo_retired;
	if (write_new(r->pub_new, r->pub_pem, r->pub_len, 0644, err, errlen))
		goto undo_key;
	if (rename(r->key_new, r->key)) {
		st_errf(err, errlen, "%s: %s", r->key, strerror(errno));
		unlink(r->pub_new);
		goto undo_key;
	}
	if (rename(r->pub_new, r->pub))
		return st_errf(err, errlen, "%s: %s; signing.key is already the new key: rename %s to %s by hand",
			    r->pub, strerror(errno), r->pub_new, r->pub);
	return st_fsync_dir(dir, err, errlen);
undo_key:
	unlink(r->key_new);
undo_retired:
	unlink(r->retired);
	return -1;
}

int st_keys_rotate_signing(const char *dir, char *retired, size_t retiredlen,
			   char *err, size_t errlen)
{
	struct rot *r = calloc(1, sizeof(*r));
	int old_fd = -1, rc = -1;

	if (!r)
		return st_errf(err, errlen, "out of memory");
	if (rot_check(r, dir, err, errlen) || rot_prepare(r, err, errlen))
		goto out;
	/* held across the rename: the old key's bytes are zeroed through it */
	old_fd = open(r->key, O_RDWR | O_CLOEXEC);
	if (old_fd < 0) {
		st_errf(err, errlen, "%s: %s", r->key, strerror(errno));
		goto out;
	}
	if (rot_commit(r, dir, err, errlen) ||
	    shred_fd(old_fd, r->key, err, errlen))
		goto out;
	if ((size_t)snprintf(retired, retiredlen, "%s", r->retired) >= retiredlen)
		goto out;
	rc = 0;
out:
	if (old_fd >= 0)
		close(old_fd);
	if (r->priv_pem)
		OPENSSL_cleanse(r->priv_pem, r->priv_len);
	free(r->priv_pem);
	free(r->pub_pem);
	free(r->old_pub_pem);
	EVP_PKEY_free(r->cur);
	EVP_PKEY_free(r->cur_pub);
	EVP_PKEY_free(r->next);
	free(r);
	return rc;
}

/* ---- key sets ---------------------------------------------------------- */

int st_keyset_add(struct st_keyset *ks, EVP_PKEY *key, const char *name,
		  char *err, size_t errlen)
{
	return st_keyset_add_named(ks, key, name, NULL, err, errlen);
}

int st_keyset_add_named(struct st_keyset *ks, EVP_PKEY *key, const char *name,
			const char *note_name, char *err, size_t errlen)
{
	EVP_PKEY **k;
	char **nm, **nn, *dup, *ndup = NULL;
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (same_pubkey(ks->key[i], key)) {
			EVP_PKEY_free(key);
			return 1;
		}
	k = realloc(ks->key, (ks->n + 1) * sizeof(*k));
	if (k)
		ks->key = k;
	nm = realloc(ks->name, (ks->n + 1) * sizeof(*nm));
	if (nm)
		ks->name = nm;
	nn = realloc(ks->note_name, (ks->n + 1) * sizeof(*nn));
	if (nn)
		ks->note_name = nn;
	dup = strdup(name);
	if (note_name)
		ndup = strdup(note_name);
	if (!k || !nm || !nn || !dup || (note_name && !ndup)) {
		free(dup);
		free(ndup);
		EVP_PKEY_free(key);
		return st_errf(err, errlen, "%s: out of memory", name);
	}
	ks->key[ks->n] = key;
	ks->name[ks->n] = dup;
	ks->note_name[ks->n] = ndup;
	ks->n++;
	return 0;
}

/* A verifier key string, in a file or given as the argument itself. */
static int add_vkey(struct st_keyset *ks, const char *path, const char *text,
		    char *err, size_t errlen)
{
	char name[ST_VKEY_NAME_MAX], why[256];
	EVP_PKEY *k;
	uint8_t type;

	if (st_vkey_parse(text, name, sizeof(name), &type, &k, why, sizeof(why)))
		return st_errf(err, errlen, "%s: %s", path, why);
	if (type != ST_VKEY_ED25519) {
		EVP_PKEY_free(k);
		return st_errf(err, errlen, "%s: a cosignature (witness) key, not a log's signing key",
			       path);
	}
	return st_keyset_add_named(ks, k, path, name, err, errlen);
}

int st_keyset_add_file(struct st_keyset *ks, const char *path, char *err,
		       size_t errlen)
{
	char text[ST_VKEY_MAX + 2];
	EVP_PKEY *k;
	FILE *f;
	size_t n;

	f = st_fopen_regular(path, err, errlen);
	if (!f && errno == ENOENT && strchr(path, '+'))
		return add_vkey(ks, "verifier key", path, err, errlen);
	if (!f)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (n && text[0] != '-' && strchr(text, '+'))
		return add_vkey(ks, path, text, err, errlen);
	if (st_pubkey_load(path, &k, err, errlen))
		return -1;
	return st_keyset_add(ks, k, path, err, errlen);
}

static int pub_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 4 && !strcmp(d->d_name + n - 4, ".pub");
}

int st_keyset_add_dir(struct st_keyset *ks, const char *dir, bool missing_ok,
		      size_t *found, char *err, size_t errlen)
{
	struct dirent **list;
	char path[4096];
	int n, i, rc = 0, r;

	*found = 0;
	n = scandir(dir, &list, pub_file, alphasort);
	if (n < 0) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return st_errf(err, errlen, "%s: %s", dir, strerror(errno));
	}
	for (i = 0; i < n; i++) {
		if (!rc && path_in(path, sizeof(path), dir, list[i]->d_name))
			rc = st_errf(err, errlen, "%s: path too long", dir);
		if (!rc) {
			r = st_keyset_add_file(ks, path, err, errlen);
			if (r < 0)
				rc = -1;
			else
				(*found)++;
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

int st_keyset_add_keys_dir(struct st_keyset *ks, const char *dir, char *err,
			   size_t errlen)
{
	char sub[4096];
	size_t top, retired;

	if (path_in(sub, sizeof(sub), dir, ST_KEYS_RETIRED_DIR))
		return st_errf(err, errlen, "%s: path too long", dir);
	if (st_keyset_add_dir(ks, dir, false, &top, err, errlen) ||
	    st_keyset_add_dir(ks, sub, true, &retired, err, errlen))
		return -1;
	if (!top && !retired)
		return st_errf(err, errlen, "%s: no *.pub file here or in %s", dir, sub);
	return 0;
}

void st_keyset_free(struct st_keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++) {
		EVP_PKEY_free(ks->key[i]);
		free(ks->name[i]);
		free(ks->note_name[i]);
	}
	free(ks->key);
	free(ks->name);
	free(ks->note_name);
	memset(ks, 0, sizeof(*ks));
}

/* ---- signing epochs (forward security) --------------------------------- */

#define EPOCH_FILE	"signing.epoch"
#define NEXT_KEY	"signing.key.next"

int st_epoch_read(const char *dir, struct st_epoch_state *out, char *err,
		  size_t errlen)
{
	char path[4200], buf[160];
	unsigned long long e, t;
	size_t n;
	FILE *f;

	out->epoch = 1;
	out->started_ns = 0;
	out->key_hash[0] = '\0';
	if (path_in(path, sizeof(path), dir, EPOCH_FILE))
		return st_errf(err, errlen, "%s: path too long", dir);
	f = st_fopen_regular(path, err, errlen);
	if (!f)
		return errno == ENOENT ? 1 : -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (sscanf(buf, "epoch %llu started_ns %llu key %71s", &e, &t, out->key_hash) != 3 || !e)
		return st_errf(err, errlen, "%s: expected 'epoch N started_ns T key sha256:HEX'",
			       path);
	out->epoch = e;
	out->started_ns = t;
	return 0;
}

int st_epoch_write(const char *dir, const struct st_epoch_state *s, char *err,
		   size_t errlen)
{
	char path[4200], tmp[4300], buf[160];
	int n;

	if (path_in(path, sizeof(path), dir, EPOCH_FILE))
		return st_errf(err, errlen, "%s: path too long", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(buf, sizeof(buf), "epoch %llu started_ns %llu key %s\n",
		     (unsigned long long)s->epoch, (unsigned long long)s->started_ns,
		     s->key_hash);
	unlink(tmp);
	if (write_new(tmp, buf, (size_t)n, 0644, err, errlen))
		return -1;
	if (rename(tmp, path)) {
		unlink(tmp);
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	return st_fsync_dir(dir, err, errlen);
}

int st_epoch_prepare(const char *dir, EVP_PKEY **next, char *err, size_t errlen)
{
	char path[4200], *pem = NULL;
	size_t len = 0;
	int rc;

	*next = NULL;
	if (path_in(path, sizeof(path), dir, NEXT_KEY))
		return st_errf(err, errlen, "%s: path too long", dir);
	*next = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!*next || pem_of(*next, 1, &pem, &len)) {
		EVP_PKEY_free(*next);
		*next = NULL;
		return st_errf(err, errlen, "%s: Ed25519 key generation failed", path);
	}
	rc = write_new(path, pem, len, 0600, err, errlen);
	if (!rc)
		rc = st_fsync_dir(dir, err, errlen);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (rc) {
		EVP_PKEY_free(*next);
		*next = NULL;
	}
	return rc;
}

int st_epoch_pending(const char *dir, EVP_PKEY **next, char *err, size_t errlen)
{
	char path[4200];
	FILE *f;

	*next = NULL;
	if (path_in(path, sizeof(path), dir, NEXT_KEY))
		return st_errf(err, errlen, "%s: path too long", dir);
	f = st_fopen_regular(path, err, errlen);
	if (!f)
		return errno == ENOENT ? 0 : -1;
	*next = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!*next || check_ed25519(*next, path, err, errlen)) {
		EVP_PKEY_free(*next);
		*next = NULL;
		/* a half-written next key was never announced: drop it */
		return st_epoch_discard(dir, err, errlen) ? -1 : 0;
	}
	return 1;
}

/* Zero a key file's bytes through fd once its last name is gone. */
static int unlink_shredded(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return errno == ENOENT ? 0 : st_errf(err, errlen, "%s: %s", path,
						     strerror(errno));
	if (unlink(path)) {
		close(fd);
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	rc = shred_fd(fd, path, err, errlen);
	close(fd);
	return rc;
}

int st_epoch_discard(const char *dir, char *err, size_t errlen)
{
	char path[4200];

	if (path_in(path, sizeof(path), dir, NEXT_KEY))
		return st_errf(err, errlen, "%s: path too long", dir);
	if (unlink_shredded(path, err, errlen))
		return -1;
	return st_fsync_dir(dir, err, errlen);
}

/* retired/signing-epoch-<N>.pub: the public half stays for verifiers. */
static int retire_epoch_pub(const char *dir, EVP_PKEY *cur, uint64_t epoch,
			    char *err, size_t errlen)
{
	char rdir[4200], path[4300], *pem = NULL;
	size_t len = 0;
	int rc;

	if (path_in(rdir, sizeof(rdir), dir, ST_KEYS_RETIRED_DIR))
		return st_errf(err, errlen, "%s: path too long", dir);
	if (mkdir(rdir, 0755) && errno != EEXIST)
		return st_errf(err, errlen, "%s: %s", rdir, strerror(errno));
	snprintf(path, sizeof(path), "%s/signing-epoch-%llu.pub", rdir,
		 (unsigned long long)epoch);
	if (pem_of(cur, 0, &pem, &len))
		return st_errf(err, errlen, "%s: PEM encoding failed", path);
	unlink(path);	/* a retry after a crash writes the same key again */
	rc = write_new(path, pem, len, 0644, err, errlen);
	free(pem);
	return rc ? -1 : st_fsync_dir(rdir, err, errlen);
}

/* signing.pub replaced by the new public key (tmp, rename). */
static int replace_pub(const char *dir, EVP_PKEY *next, char *err, size_t errlen)
{
	char path[4200], tmp[4300], *pem = NULL;
	size_t len = 0;
	int rc;

	if (path_in(path, sizeof(path), dir, "signing.pub"))
		return st_errf(err, errlen, "%s: path too long", dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if (pem_of(next, 0, &pem, &len))
		return st_errf(err, errlen, "%s: PEM encoding failed", path);
	unlink(tmp);
	rc = write_new(tmp, pem, len, 0644, err, errlen);
	free(pem);
	if (rc)
		return -1;
	if (rename(tmp, path))
		return st_errf(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

int st_epoch_commit(const char *dir, EVP_PKEY *cur, EVP_PKEY *next,
		    uint64_t old_epoch, uint64_t now_ns, char *err, size_t errlen)
{
	struct st_epoch_state es = { .epoch = old_epoch + 1, .started_ns = now_ns };
	char key[4200], next_path[4200];
	int old_fd, rc;

	if (st_pubkey_hash(next, es.key_hash))
		return st_errf(err, errlen, "%s: SHA-256 of the new key failed", dir);
	if (path_in(key, sizeof(key), dir, "signing.key") ||
	    path_in(next_path, sizeof(next_path), dir, NEXT_KEY))
		return st_errf(err, errlen, "%s: path too long", dir);
	if (retire_epoch_pub(dir, cur, old_epoch, err, errlen))
		return -1;
	/* held across the rename: the old key's bytes are zeroed through it */
	old_fd = open(key, O_RDWR | O_CLOEXEC);
	if (old_fd < 0)
		return st_errf(err, errlen, "%s: %s", key, strerror(errno));
	if (rename(next_path, key)) {
		rc = st_errf(err, errlen, "%s: %s", key, strerror(errno));
		close(old_fd);
		return rc;
	}
	rc = st_fsync_dir(dir, err, errlen);
	if (!rc)
		rc = shred_fd(old_fd, key, err, errlen);
	close(old_fd);
	if (!rc)
		rc = replace_pub(dir, next, err, errlen);
	if (!rc)
		rc = st_epoch_write(dir, &es, err, errlen);
	return rc;
}

int st_epoch_message(char *out, size_t outlen, const char *key_name,
		     uint64_t epoch, uint64_t seq, const char *prev_hex,
		     const uint8_t pub[32])
{
	char hex[65];
	int n;

	st_hex(pub, 32, hex);
	n = snprintf(out, outlen, "sealtrace key_epoch v1\n%s\n%llu\n%llu\n%s\n%s\n",
		     key_name, (unsigned long long)epoch, (unsigned long long)seq,
		     prev_hex, hex);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int st_ed25519_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = 64;
	int ok;

	if (!md)
		return -1;
	ok = EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(md, sig, &siglen, msg, len) == 1 && siglen == 64;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int st_ed25519_verify(EVP_PKEY *key, const void *msg, size_t len,
		      const uint8_t sig[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	if (!md)
		return -1;
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestVerify(md, sig, 64, msg, len) == 1;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}
