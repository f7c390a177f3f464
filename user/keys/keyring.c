// SPDX-License-Identifier: Apache-2.0
/* HMAC references and the HMAC key ring (see keyring.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/base/digest.h"
#include "sealtrace/keys/keyring.h"
#include "sealtrace/base/file.h"

#define KEYRING_MAX_BYTES 65536

struct ring_key {
	char id[ST_KEY_ID_MAX + 1];
	/* keyed once; a reference copies its states (digest.h), so the ring
	 * is const and a reference allocates nothing */
	struct st_hmac_key *mac;
};

struct st_keyring {
	struct ring_key *keys;
	size_t n;
};

int st_key_id_valid(const char *id, size_t len)
{
	size_t i;

	if (len < 1 || len > ST_KEY_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '_' ||
		      id[i] == '.' || id[i] == '-'))
			return 0;
	return 1;
}

int st_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		   uint8_t out[32])
{
	struct st_hmac_key *k = st_hmac_key_new(key, klen);
	int rc;

	if (!k)
		return -1;
	rc = st_hmac_key_mac(k, msg, mlen, out);
	st_hmac_key_free(k);
	return rc;
}

void st_keyring_free(struct st_keyring *kr)
{
	size_t i;

	if (!kr)
		return;
	/* the states are key material; freeing them wipes them */
	for (i = 0; i < kr->n; i++)
		st_hmac_key_free(kr->keys[i].mac);
	free(kr->keys);
	free(kr);
}

static int add_key(struct st_keyring *kr, const char *path, int lineno,
		   const char *line, size_t len, char *err, size_t errlen)
{
	uint8_t key[ST_HMAC_KEY_LEN];
	struct ring_key *grown, *k;
	const char *sp = memchr(line, ' ', len);
	size_t idlen, i;

	if (!sp)
		return st_errf(err, errlen, "%s:%d: expected '<key_id> <64 hex digits>'",
			    path, lineno);
	idlen = (size_t)(sp - line);
	if (!st_key_id_valid(line, idlen))
		return st_errf(err, errlen, "%s:%d: key id must be [A-Za-z0-9_.-]{1,%d}",
			    path, lineno, ST_KEY_ID_MAX);
	if (st_unhex(sp + 1, len - idlen - 1, key, sizeof(key)))
		return st_errf(err, errlen, "%s:%d: key must be 64 lower-case hex digits",
			    path, lineno);
	for (i = 0; i < kr->n; i++)
		if (strlen(kr->keys[i].id) == idlen &&
		    !memcmp(kr->keys[i].id, line, idlen)) {
			OPENSSL_cleanse(key, sizeof(key));
			return st_errf(err, errlen, "%s:%d: duplicate key id '%.*s'",
				    path, lineno, (int)idlen, line);
		}
	grown = realloc(kr->keys, (kr->n + 1) * sizeof(*grown));
	if (!grown) {
		OPENSSL_cleanse(key, sizeof(key));
		return st_errf(err, errlen, "%s: out of memory", path);
	}
	kr->keys = grown;
	k = &kr->keys[kr->n];
	memcpy(k->id, line, idlen);
	k->id[idlen] = '\0';
	k->mac = st_hmac_key_new(key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
	if (!k->mac)
		return st_errf(err, errlen, "%s:%d: OpenSSL HMAC setup failed", path,
			    lineno);
	kr->n++;
	return 0;
}

static int parse_ring(struct st_keyring *kr, const char *path, char *text,
		      size_t len, char *err, size_t errlen)
{
	char *line = text, *nl;
	size_t l;
	int lineno = 0;

	while (line < text + len) {
		lineno++;
		nl = memchr(line, '\n', (size_t)(text + len - line));
		l = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
		if (l && line[l - 1] == '\r')
			l--;
		if (l && line[0] != '#' &&
		    add_key(kr, path, lineno, line, l, err, errlen))
			return -1;
		if (!nl)
			break;
		line = nl + 1;
	}
	if (!kr->n)
		return st_errf(err, errlen, "%s: no key (expected '<key_id> <64 hex digits>' lines)",
			    path);
	return 0;
}

int st_keyring_load_file(struct st_keyring **out, const char *path,
			 char *err, size_t errlen)
{
	struct st_keyring *kr;
	char *text;
	size_t len;
	FILE *f;
	int rc;

	*out = NULL;
	f = st_fopen_regular(path, err, errlen);
	if (!f)
		return -1;
	text = malloc(KEYRING_MAX_BYTES + 1);
	if (!text) {
		fclose(f);
		return st_errf(err, errlen, "%s: out of memory", path);
	}
	len = fread(text, 1, KEYRING_MAX_BYTES + 1, f);
	rc = ferror(f);
	fclose(f);
	if (rc || len > KEYRING_MAX_BYTES) {
		OPENSSL_cleanse(text, KEYRING_MAX_BYTES + 1);
		free(text);
		return st_errf(err, errlen, "%s: %s", path,
			    rc ? "read error" : "larger than 64 KiB");
	}
	kr = calloc(1, sizeof(*kr));
	rc = kr ? parse_ring(kr, path, text, len, err, errlen) :
		st_errf(err, errlen, "%s: out of memory", path);
	OPENSSL_cleanse(text, len);
	free(text);
	if (rc) {
		st_keyring_free(kr);
		return -1;
	}
	*out = kr;
	return 0;
}

int st_keyring_load(struct st_keyring **out, const char *keys_dir, char *err,
		    size_t errlen)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/hmac.key", keys_dir) >=
	    sizeof(path))
		return st_errf(err, errlen, "%s: path too long", keys_dir);
	return st_keyring_load_file(out, path, err, errlen);
}

const char *st_keyring_current(const struct st_keyring *kr)
{
	return kr->keys[kr->n - 1].id;
}

size_t st_keyring_count(const struct st_keyring *kr)
{
	return kr->n;
}

const char *st_keyring_id(const struct st_keyring *kr, size_t i)
{
	return i < kr->n ? kr->keys[i].id : NULL;
}

static int ref(const struct ring_key *k, const void *bytes, size_t len,
	       char *out, size_t outlen)
{
	uint8_t mac[32];
	size_t idlen = strlen(k->id);

	if (outlen < 12 + idlen + 1 + ST_HASH_HEX + 1)
		return -1;
	if (st_hmac_key_mac(k->mac, bytes, len, mac))
		return -1;
	memcpy(out, "hmac-sha256:", 12);
	memcpy(out + 12, k->id, idlen);
	out[12 + idlen] = ':';
	st_hex(mac, sizeof(mac), out + 13 + idlen);
	return 0;
}

int st_pseudo_ref(const struct st_keyring *kr, const void *bytes, size_t len,
		  char *out, size_t outlen)
{
	return ref(&kr->keys[kr->n - 1], bytes, len, out, outlen);
}

int st_pseudo_ref_with(const struct st_keyring *kr, const char *key_id,
		       const void *bytes, size_t len, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (!strcmp(kr->keys[i].id, key_id))
			return ref(&kr->keys[i], bytes, len, out, outlen);
	return -1;
}
