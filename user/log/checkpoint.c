// SPDX-License-Identifier: Apache-2.0
/* C2SP tlog-checkpoint signed notes with Ed25519 (see checkpoint.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/keys/keys.h"
#include "sealtrace/keys/vkey.h"
#include "sealtrace/base/file.h"

#define EM_DASH "\xe2\x80\x94 "		/* U+2014 and a space */
#define SIG_LEN 64

/* Reduce an id to [A-Za-z0-9._-] so it cannot break a note line. */
static void put_id(struct st_buf *b, const char *s)
{
	char c;

	if (!s || !*s) {
		st_buf_putc(b, '_');
		return;
	}
	for (; *s; s++) {
		c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			c = '_';
		st_buf_putc(b, c);
	}
}

static int copy_out(struct st_buf *b, char *out, size_t outlen)
{
	int rc = -1;

	if (!b->oom && b->len < outlen) {
		memcpy(out, b->p, b->len + 1);
		rc = 0;
	}
	st_buf_free(b);
	return rc;
}

int st_ckpt_key_name(char *out, size_t outlen, const char *system_id,
		     const char *node_id)
{
	return st_note_log_key_name(out, outlen, system_id, node_id);
}

int st_ckpt_origin(char *out, size_t outlen, const char *system_id,
		   const char *node_id, enum st_stream stream)
{
	struct st_buf b = { 0 };

	st_buf_puts(&b, "sealtrace/");
	put_id(&b, system_id);
	st_buf_putc(&b, '/');
	put_id(&b, node_id);
	st_buf_putc(&b, '/');
	st_buf_puts(&b, st_stream_name(stream));
	return copy_out(&b, out, outlen);
}

int st_ckpt_stream(const struct st_ckpt *c)
{
	const char *slash = strrchr(c->origin, '/');

	return st_stream_parse(slash ? slash + 1 : c->origin);
}

static int key_id(const char *name, size_t namelen, EVP_PKEY *key,
		  uint8_t id[4])
{
	uint8_t pub[33], h[ST_HASH_LEN];
	struct st_hasher *hs;
	struct st_buf b = { 0 };
	int rc = -1;

	pub[0] = 0x01;	/* signed-note algorithm byte for Ed25519 */
	if (st_pubkey_raw(key, pub + 1))
		return -1;
	st_buf_put(&b, name, namelen);
	st_buf_putc(&b, '\n');
	st_buf_put(&b, pub, sizeof(pub));
	hs = st_hasher_new();
	if (hs && !b.oom && !st_sha256(hs, b.p, b.len, NULL, 0, h)) {
		memcpy(id, h, 4);
		rc = 0;
	}
	st_hasher_free(hs);
	st_buf_free(&b);
	return rc;
}

static int body(const struct st_ckpt *c, struct st_buf *out)
{
	char num[24], b64[ST_HASH_LEN * 2];

	if (!*c->origin || strchr(c->origin, '\n'))
		return -1;
	snprintf(num, sizeof(num), "%" PRIu64, c->size);
	st_b64(c->root, ST_HASH_LEN, b64);
	st_buf_puts(out, c->origin);
	st_buf_putc(out, '\n');
	st_buf_puts(out, num);
	st_buf_putc(out, '\n');
	st_buf_puts(out, b64);
	st_buf_putc(out, '\n');
	return out->oom ? -1 : 0;
}

int st_ckpt_sign(const struct st_ckpt *c, const char *key_name, EVP_PKEY *key,
		 struct st_buf *out, char *err, size_t errlen)
{
	uint8_t blob[4 + SIG_LEN];
	char b64[2 * sizeof(blob)];
	size_t siglen = SIG_LEN, start = out->len;
	EVP_MD_CTX *ctx;
	int ok;

	if (!*key_name || strpbrk(key_name, " +\n"))
		return st_errf(err, errlen, "checkpoint: bad key name '%s'", key_name);
	if (body(c, out))
		return st_errf(err, errlen, "checkpoint: bad origin or out of memory");
	if (key_id(key_name, strlen(key_name), key, blob))
		return st_errf(err, errlen, "checkpoint: cannot derive the key id");
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestSign(ctx, blob + 4, &siglen,
			       (const unsigned char *)out->p + start,
			       out->len - start) == 1 && siglen == SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return st_errf(err, errlen, "checkpoint: Ed25519 signing failed");
	st_b64(blob, sizeof(blob), b64);
	st_buf_puts(out, "\n" EM_DASH);
	st_buf_puts(out, key_name);
	st_buf_putc(out, ' ');
	st_buf_puts(out, b64);
	st_buf_putc(out, '\n');
	return out->oom ? st_errf(err, errlen, "checkpoint: out of memory") : 0;
}

/* One "\n"-terminated line at *p; advances *p. */
static bool next_line(const char **p, const char *end, const char **line,
		      size_t *len)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (!nl)
		return false;
	*line = *p;
	*len = (size_t)(nl - *p);
	*p = nl + 1;
	return true;
}

static int parse_body(const char *note, const char *end, const char **sigs,
		      struct st_ckpt *out, char *err, size_t errlen)
{
	const char *p = note, *l;
	size_t len, i;
	uint64_t size = 0;

	if (!next_line(&p, end, &l, &len) || !len || len >= ST_ORIGIN_MAX)
		return st_errf(err, errlen, "checkpoint: missing or overlong origin line");
	memcpy(out->origin, l, len);
	out->origin[len] = '\0';
	if (!next_line(&p, end, &l, &len) || !len || len > 19 ||
	    (l[0] == '0' && len > 1))
		return st_errf(err, errlen, "checkpoint: bad tree size line");
	for (i = 0; i < len; i++) {
		if (l[i] < '0' || l[i] > '9')
			return st_errf(err, errlen, "checkpoint: bad tree size line");
		size = size * 10 + (uint64_t)(l[i] - '0');
	}
	out->size = size;
	if (!next_line(&p, end, &l, &len) ||
	    st_unb64(l, len, out->root, ST_HASH_LEN) != ST_HASH_LEN)
		return st_errf(err, errlen, "checkpoint: root hash is not base64 of 32 bytes");
	/* extension lines (none written by sealtrace) run to the blank line */
	while (next_line(&p, end, &l, &len))
		if (!len) {
			*sigs = p;
			return 0;
		}
	return st_errf(err, errlen, "checkpoint: no blank line before the signatures");
}

static int verify_sig(const char *msg, size_t msglen, const uint8_t *sig,
		      EVP_PKEY *pub)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
		EVP_DigestVerify(ctx, sig, SIG_LEN, (const unsigned char *)msg,
				 msglen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The key name an origin implies: the origin without "/<stream>". */
static void origin_key_name(const struct st_ckpt *c, char *out, size_t outlen)
{
	const char *slash = strrchr(c->origin, '/');
	size_t n = slash ? (size_t)(slash - c->origin) : strlen(c->origin);

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, c->origin, n);
	out[n] = '\0';
}

struct sig_line {
	const char *name;		/* key name, not terminated */
	size_t namelen;
	uint8_t blob[4 + 8 + SIG_LEN];	/* key id [|| timestamp] || signature */
	long bloblen;			/* 0: an algorithm this code skips */
};

/*
 * Split "— <name> <base64>" (C2SP signed-note). Signatures of algorithms
 * this code does not check (ECDSA, ML-DSA, anything longer than a
 * cosignature) are kept as bloblen 0 and skipped by the caller; what is
 * not a signature line at all is an error.
 */
static int split_sig_line(const char *l, size_t ll, size_t nsig,
			  struct sig_line *s, char *err, size_t errlen)
{
	const char *sp, *b64;
	size_t b64len;

	if (ll < 4 || memcmp(l, EM_DASH, 4))
		return st_errf(err, errlen, "checkpoint: signature line %zu does not start with '\xe2\x80\x94 '",
			       nsig + 1);
	sp = memchr(l + 4, ' ', ll - 4);
	if (!sp || sp == l + 4 || sp + 1 == l + ll || memchr(sp + 1, ' ', (size_t)(l + ll - sp - 1)))
		return st_errf(err, errlen, "checkpoint: malformed signature line %zu", nsig + 1);
	s->name = l + 4;
	s->namelen = (size_t)(sp - l - 4);
	b64 = sp + 1;
	b64len = (size_t)(l + ll - b64);
	s->bloblen = 0;
	if (b64len > 4 * ((sizeof(s->blob) + 2) / 3))
		return 0;
	s->bloblen = st_unb64(b64, b64len, s->blob, sizeof(s->blob));
	if (s->bloblen < 5)
		return st_errf(err, errlen, "checkpoint: malformed signature line %zu (not base64 of a key id and a signature)",
			       nsig + 1);
	if (s->bloblen != 4 + SIG_LEN && s->bloblen != 4 + 8 + SIG_LEN)
		s->bloblen = 0;
	return 0;
}

/*
 * One Ed25519 note signature line against the keys: 1 when a key known
 * under the line's name with the line's key id verifies it (*signer
 * names that key), 0 when no key has that (name, id), -1 when one has it
 * but the signature does not verify (err set).
 */
static int check_sig_line(const char *note, const char *sigs,
			  const struct sig_line *s, EVP_PKEY *const *keys,
			  const char *const *names, size_t nkeys,
			  const char *derived, size_t *signer, char *err,
			  size_t errlen)
{
	bool id_matched = false;
	const char *want;
	uint8_t id[4];
	size_t i;

	for (i = 0; i < nkeys; i++) {
		want = names && names[i] ? names[i] : derived;
		/* C2SP names a key by (name, id): another name is another key */
		if (strlen(want) != s->namelen || memcmp(want, s->name, s->namelen))
			continue;
		if (key_id(s->name, s->namelen, keys[i], id))
			return st_errf(err, errlen, "checkpoint: cannot derive the key id");
		if (memcmp(id, s->blob, 4))
			continue;	/* another signer's line */
		id_matched = true;
		/* 4-byte ids can collide: a failed check may be the other key's */
		if (!verify_sig(note, (size_t)(sigs - 1 - note), s->blob + 4, keys[i])) {
			*signer = i;
			return 1;
		}
	}
	if (id_matched)
		return st_errf(err, errlen, "checkpoint: Ed25519 signature of '%.*s' does not verify",
			       (int)s->namelen, s->name);
	return 0;
}

static int no_signer(char *err, size_t errlen, size_t nkeys,
		     const struct sig_line *first)
{
	char seen[160] = "no Ed25519 signature line";

	if (first->namelen)
		snprintf(seen, sizeof(seen), "signed by '%.*s' key id %02x%02x%02x%02x",
			 (int)(first->namelen > 100 ? 100 : first->namelen),
			 first->name, first->blob[0], first->blob[1],
			 first->blob[2], first->blob[3]);
	if (nkeys == 1)
		return st_errf(err, errlen, "checkpoint: no signature by the given public key (%s)",
			       seen);
	return st_errf(err, errlen, "checkpoint: no signature by any of the %zu given public keys (%s)",
		       nkeys, seen);
}

int st_ckpt_parse_named(const char *note, size_t len, EVP_PKEY *const *keys,
			const char *const *names, size_t nkeys,
			struct st_ckpt *out, size_t *signer, char *err,
			size_t errlen)
{
	const char *end = note + len, *sigs = NULL, *l, *p;
	struct sig_line sl, first = { 0 };
	char derived[ST_ORIGIN_MAX];
	size_t ll, nsig = 0, who = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!len || note[len - 1] != '\n' || memchr(note, '\0', len))
		return st_errf(err, errlen, "checkpoint: not a note (must end with a newline)");
	if (len >= ST_NOTE_MAX)
		return st_errf(err, errlen, "checkpoint: note of %zu bytes, more than %d",
			       len, ST_NOTE_MAX - 1);
	if (parse_body(note, end, &sigs, out, err, errlen))
		return -1;
	origin_key_name(out, derived, sizeof(derived));
	for (p = sigs; next_line(&p, end, &l, &ll); nsig++) {
		if (split_sig_line(l, ll, nsig, &sl, err, errlen))
			return -1;
		if (sl.bloblen == 4 + 8 + SIG_LEN)
			out->cosigs++;	/* c2sp.org/tlog-cosignature: a witness's */
		if (sl.bloblen != 4 + SIG_LEN || !nkeys)
			continue;
		if (!first.namelen)
			first = sl;
		rc = check_sig_line(note, sigs, &sl, keys, names, nkeys, derived,
				    &who, err, errlen);
		if (rc < 0)
			return -1;
		if (rc) {
			if (signer)
				*signer = who;
			return 0;
		}
	}
	if (!nsig)
		return st_errf(err, errlen, "checkpoint: no signature line");
	if (nkeys)
		return no_signer(err, errlen, nkeys, &first);
	return 0;
}

int st_ckpt_parse_any(const char *note, size_t len, EVP_PKEY *const *keys,
		      size_t nkeys, struct st_ckpt *out, size_t *signer,
		      char *err, size_t errlen)
{
	return st_ckpt_parse_named(note, len, keys, NULL, nkeys, out, signer,
				   err, errlen);
}

/* ---- cosignatures (c2sp.org/tlog-cosignature, cosignature/v1) ---------- */

static int cosig_msg(const char *note, size_t len, uint64_t ts,
		     struct st_buf *msg)
{
	const char *blank = NULL, *p;
	char head[64];

	for (p = note; p + 1 < note + len; p++)
		if (p[0] == '\n' && p[1] == '\n') {
			blank = p + 1;
			break;
		}
	if (!blank)
		return -1;
	snprintf(head, sizeof(head), "cosignature/v1\ntime %" PRIu64 "\n", ts);
	st_buf_puts(msg, head);
	st_buf_put(msg, note, (size_t)(blank - note));
	return msg->oom ? -1 : 0;
}

static int cosig_key_id(const char *name, size_t namelen, EVP_PKEY *key,
			uint8_t id[4])
{
	return st_note_key_id(name, namelen, ST_VKEY_COSIG_V1, key, id);
}

int st_cosig_sign(const char *note, size_t len, const char *name,
		  EVP_PKEY *key, uint64_t ts, struct st_buf *line, char *err,
		  size_t errlen)
{
	uint8_t blob[4 + 8 + SIG_LEN];
	char b64[2 * sizeof(blob)];
	struct st_buf msg = { 0 };
	size_t siglen = SIG_LEN;
	EVP_MD_CTX *ctx;
	int i, ok;

	if (!st_vkey_name_ok(name, strlen(name)))
		return st_errf(err, errlen, "cosignature: bad key name '%s'", name);
	if (cosig_msg(note, len, ts, &msg) ||
	    cosig_key_id(name, strlen(name), key, blob)) {
		st_buf_free(&msg);
		return st_errf(err, errlen, "cosignature: not a note, or out of memory");
	}
	for (i = 0; i < 8; i++)
		blob[4 + i] = (uint8_t)(ts >> (56 - 8 * i));
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(ctx, blob + 12, &siglen, (const unsigned char *)msg.p,
			    msg.len) == 1 && siglen == SIG_LEN;
	EVP_MD_CTX_free(ctx);
	st_buf_free(&msg);
	if (!ok)
		return st_errf(err, errlen, "cosignature: Ed25519 signing failed");
	st_b64(blob, sizeof(blob), b64);
	st_buf_puts(line, EM_DASH);
	st_buf_puts(line, name);
	st_buf_putc(line, ' ');
	st_buf_puts(line, b64);
	st_buf_putc(line, '\n');
	return line->oom ? st_errf(err, errlen, "cosignature: out of memory") : 0;
}

int st_cosig_find(const char *note, size_t len, const char *name,
		  EVP_PKEY *key, uint64_t *ts, char *err, size_t errlen)
{
	const char *end = note + len, *sigs = NULL, *l, *p;
	struct st_buf msg = { 0 };
	struct sig_line sl;
	struct st_ckpt c;
	uint8_t id[4];
	size_t ll, nsig = 0, namelen = strlen(name);
	uint64_t t;
	int i, ok;

	if (!len || note[len - 1] != '\n' || parse_body(note, end, &sigs, &c, err, errlen))
		return st_errf(err, errlen, "cosignature: not a note");
	if (cosig_key_id(name, namelen, key, id))
		return st_errf(err, errlen, "cosignature: cannot derive the key id");
	for (p = sigs; next_line(&p, end, &l, &ll); nsig++) {
		if (split_sig_line(l, ll, nsig, &sl, err, errlen))
			return -1;
		if (sl.bloblen != 4 + 8 + SIG_LEN || sl.namelen != namelen ||
		    memcmp(sl.name, name, namelen) || memcmp(sl.blob, id, 4))
			continue;
		for (t = 0, i = 0; i < 8; i++)
			t = t << 8 | sl.blob[4 + i];
		msg.len = 0;
		ok = !cosig_msg(note, len, t, &msg) &&
		     !verify_sig(msg.p, msg.len, sl.blob + 12, key);
		st_buf_free(&msg);
		if (!ok)
			return st_errf(err, errlen, "cosignature of '%s' does not verify", name);
		if (ts)
			*ts = t;
		return 0;
	}
	return st_failf(err, errlen, "no cosignature by '%s'", name);
}

int st_ckpt_parse(const char *note, size_t len, EVP_PKEY *pub,
		  struct st_ckpt *out, char *err, size_t errlen)
{
	return st_ckpt_parse_any(note, len, &pub, pub ? 1 : 0, out, NULL, err,
				 errlen);
}

int st_ckpt_read_file(const char *path, char *out, size_t outlen, size_t *len,
		      char *err, size_t errlen)
{
	FILE *f = st_fopen_regular(path, err, errlen);
	size_t n;
	int e, more;

	if (!f)
		return -1;
	n = fread(out, 1, outlen - 1, f);
	more = !ferror(f) && fgetc(f) != EOF;
	e = ferror(f) ? errno : 0;
	fclose(f);
	if (e)
		return st_errf(err, errlen, "%s: read error: %s", path, strerror(e));
	if (more)
		return st_failf(err, errlen, "%s: larger than %zu bytes: not a checkpoint note",
				path, outlen - 1);
	out[n] = '\0';
	*len = n;
	return 0;
}
