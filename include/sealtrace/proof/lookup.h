/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lookup: find the records of a known input (a data subject's request, a
 * disputed prompt). Records hold only keyed references of what was
 * captured (keys/keyring.h), so the input's reference is computed under every
 * key of the ring, old ones included (a record names the key it used;
 * after a rotation older records name older keys), and compared with
 * each record's input_hash or output_reference.
 *
 * Only a holder of hmac.key can do this, by design: the log alone does
 * not tell which input a reference stands for.
 */
#ifndef SEALTRACE_LOOKUP_H
#define SEALTRACE_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/keys/keyring.h"

struct st_lookup_refs {
	size_t n;				/* keys in the ring */
	char (*ref)[ST_PSEUDO_REF_MAX];		/* reference under key i */
	size_t *prefix;				/* "hmac-sha256:<id>:" length */
};

/* The references of bytes[0..len) under each key, oldest first. 0 or -1. */
int st_lookup_refs_make(struct st_lookup_refs *lr, const struct st_keyring *kr,
			const void *bytes, size_t len, char *err,
			size_t errlen);
void st_lookup_refs_free(struct st_lookup_refs *lr);
/* Index of the key under which ref is the input's reference, or -1. */
int st_lookup_refs_match(const struct st_lookup_refs *lr, const char *ref);
/* True when ref names a key of the ring (whatever its value). */
int st_lookup_refs_key_known(const struct st_lookup_refs *lr, const char *ref);

/*
 * The input as given on the command line: hex digits (either case, an
 * even number, nothing else) to bytes. *out is malloc'd (also for an
 * empty input); 0, or -1 with the reason in err.
 */
int st_lookup_unhex(const char *hex, uint8_t **out, size_t *len, char *err,
		    size_t errlen);
/* A whole file; 0, or -1 with "path: reason" in err. */
int st_lookup_read_file(const char *path, uint8_t **out, size_t *len,
			char *err, size_t errlen);

#endif /* SEALTRACE_LOOKUP_H */
