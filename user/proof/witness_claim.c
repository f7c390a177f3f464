// SPDX-License-Identifier: Apache-2.0
/* The witness-cosigned head of a stream, checked (witness_claim.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/keys/vkey.h"
#include "sealtrace/log/retention.h"
#include "sealtrace/proof/witness_claim.h"

static int read_vkey(const char *arg, char *out, size_t outlen)
{
	FILE *f = fopen(arg, "re");
	size_t n;

	if (!f) {
		if (errno != ENOENT || !strchr(arg, '+'))
			return -1;
		snprintf(out, outlen, "%s", arg);
		return 0;
	}
	n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

int st_witness_claim(const char *state_dir, enum st_stream s,
		     const char *vkey, struct st_ckpt *out, char *err,
		     size_t errlen)
{
	char text[ST_VKEY_MAX + 2], name[ST_VKEY_NAME_MAX], why[512], path[4200];
	char note[ST_NOTE_MAX];
	EVP_PKEY *k = NULL;
	uint64_t ts = 0;
	uint8_t type;
	size_t len;
	int rc;

	if (read_vkey(vkey, text, sizeof(text)) ||
	    st_vkey_parse(text, name, sizeof(name), &type, &k, why, sizeof(why))) {
		EVP_PKEY_free(k);
		st_errf(err, errlen, "--witness-key %s: not a verifier key string", vkey);
		return 2;
	}
	if (type != ST_VKEY_COSIG_V1) {
		EVP_PKEY_free(k);
		st_errf(err, errlen, "--witness-key: '%s' is a log signing key, not a witness's (cosignature/v1)",
			name);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s/%s.cosigned", state_dir, ST_SHIPPED_DIR,
		 st_stream_name(s));
	if (access(path, F_OK)) {
		EVP_PKEY_free(k);
		return st_failf(err, errlen, "%s: missing: no head of the %s stream cosigned by the witness '%s' (is the shipper submitting to it?)",
				path, st_stream_name(s), name);
	}
	rc = st_ckpt_read_file(path, note, sizeof(note), &len, err, errlen) ||
	     st_ckpt_parse_any(note, len, NULL, 0, out, NULL, why, sizeof(why)) ? -1 : 0;
	if (!rc) {
		rc = st_cosig_find(note, len, name, k, &ts, why, sizeof(why));
		if (rc)
			rc = st_failf(err, errlen, "%s: %s", path, why);
	} else if (rc < 0) {
		rc = st_failf(err, errlen, "%s: not a note", path);
	}
	EVP_PKEY_free(k);
	return rc;
}
