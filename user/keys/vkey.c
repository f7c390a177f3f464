// SPDX-License-Identifier: Apache-2.0
/* C2SP signed-note verifier key strings (see vkey.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "sealtrace/base/digest.h"
#include "sealtrace/base/errf.h"
#include "sealtrace/keys/vkey.h"

int st_vkey_name_ok(const char *name, size_t len)
{
	size_t i;

	if (!len || len >= ST_VKEY_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] == '+' || (unsigned char)name[i] <= ' ' ||
		    name[i] == 0x7f)
			return 0;
	return 1;
}

/* keys.c reads key files and uses this file: no call back into it */
static int raw_pub(EVP_PKEY *key, uint8_t out[32])
{
	size_t len = 32;

	return EVP_PKEY_get_raw_public_key(key, out, &len) == 1 && len == 32 ? 0 : -1;
}

static int key_id_raw(const char *name, size_t namelen, uint8_t type,
		      const uint8_t pub[32], uint8_t id[4])
{
	uint8_t buf[ST_VKEY_NAME_MAX + 34], h[ST_HASH_LEN];
	struct st_hasher *hs;
	int rc;

	if (namelen >= ST_VKEY_NAME_MAX)
		return -1;
	memcpy(buf, name, namelen);
	buf[namelen] = '\n';
	buf[namelen + 1] = type;
	memcpy(buf + namelen + 2, pub, 32);
	hs = st_hasher_new();
	rc = hs ? st_sha256(hs, buf, namelen + 34, NULL, 0, h) : -1;
	st_hasher_free(hs);
	if (!rc)
		memcpy(id, h, 4);
	return rc;
}

int st_note_key_id(const char *name, size_t namelen, uint8_t type,
		   EVP_PKEY *key, uint8_t id[4])
{
	uint8_t pub[32];

	if (raw_pub(key, pub))
		return -1;
	return key_id_raw(name, namelen, type, pub, id);
}

int st_vkey_format(const char *name, uint8_t type, EVP_PKEY *key, char *out,
		   size_t outlen)
{
	uint8_t blob[33], id[4];
	char b64[64], hex[9];
	int n;

	if (!st_vkey_name_ok(name, strlen(name)))
		return -1;
	blob[0] = type;
	if (raw_pub(key, blob + 1) ||
	    key_id_raw(name, strlen(name), type, blob + 1, id))
		return -1;
	st_hex(id, 4, hex);
	st_b64(blob, sizeof(blob), b64);
	n = snprintf(out, outlen, "%s+%s+%s", name, hex, b64);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int st_vkey_parse(const char *s, char *name, size_t namelen, uint8_t *type,
		  EVP_PKEY **key, char *err, size_t errlen)
{
	const char *p1 = strchr(s, '+'), *p2, *end;
	uint8_t id[4], want[4], blob[33];

	*key = NULL;
	end = s + strlen(s);
	while (end > s && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	p2 = p1 ? memchr(p1 + 1, '+', (size_t)(end - p1 - 1)) : NULL;
	if (!p1 || !p2 || !st_vkey_name_ok(s, (size_t)(p1 - s)) ||
	    (size_t)(p1 - s) >= namelen)
		return st_errf(err, errlen, "not a verifier key (name+keyid+base64key)");
	if (p2 - p1 - 1 != 8 || st_unhex(p1 + 1, 8, id, 4))
		return st_errf(err, errlen, "verifier key: key id is not 8 hex digits");
	if (st_unb64(p2 + 1, (size_t)(end - p2 - 1), blob, sizeof(blob)) != sizeof(blob))
		return st_errf(err, errlen, "verifier key: key is not base64 of a type byte and 32 bytes");
	if (blob[0] != ST_VKEY_ED25519 && blob[0] != ST_VKEY_COSIG_V1)
		return st_errf(err, errlen, "verifier key: type 0x%02x is not Ed25519 (0x01) or cosignature/v1 (0x04)",
			       blob[0]);
	if (key_id_raw(s, (size_t)(p1 - s), blob[0], blob + 1, want))
		return st_errf(err, errlen, "verifier key: SHA-256 failed");
	if (memcmp(id, want, 4))
		return st_errf(err, errlen, "verifier key: key id does not match its name and key");
	*key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, blob + 1, 32);
	if (!*key)
		return st_errf(err, errlen, "verifier key: not an Ed25519 public key");
	memcpy(name, s, (size_t)(p1 - s));
	name[p1 - s] = '\0';
	*type = blob[0];
	return 0;
}

static size_t put_id(char *out, size_t at, size_t outlen, const char *s)
{
	char c;

	if (!s || !*s)
		s = "_";
	for (; *s && at + 1 < outlen; s++) {
		c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			c = '_';
		out[at++] = c;
	}
	return at;
}

int st_note_log_key_name(char *out, size_t outlen, const char *system_id,
			 const char *node_id)
{
	size_t at;
	int n;

	n = snprintf(out, outlen, "sealtrace/");
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	at = put_id(out, (size_t)n, outlen, system_id);
	if (at + 1 >= outlen)
		return -1;
	out[at++] = '/';
	at = put_id(out, at, outlen, node_id);
	out[at] = '\0';
	/* put_id stops at the end of out: a cut name is an error */
	return at + 1 >= outlen ? -1 : 0;
}
