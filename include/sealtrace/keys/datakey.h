/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Data keys: the AES-256 keys segments are sealed with (seal.h).
 *
 * A data key file holds one key a line, in the format of hmac.key:
 *   <key_id> <64 hex digits>
 * key_id is [A-Za-z0-9_.-]{1,32}. The LAST line is the current key: new
 * segments are sealed under it. Older keys stay so that old segments,
 * which name their key id in their header, can still be opened: rotating
 * (appending a key) never rewrites a segment. Mode 0600 (0640 with the
 * reader group, docs/operations.md); `sealtrace keygen --data-key FILE`
 * creates the file or appends a new current key.
 */
#ifndef SEALTRACE_DATAKEY_H
#define SEALTRACE_DATAKEY_H

#include <stddef.h>
#include <stdint.h>

#define ST_DATA_KEY_LEN		32
#define ST_DATA_KEY_ID_MAX	32

struct st_datakeys;

int st_datakeys_load(struct st_datakeys **out, const char *path, char *err,
		     size_t errlen);
/* Wipes the key material; NULL is fine. */
void st_datakeys_free(struct st_datakeys *dk);
/* The current key (the file's last line): its id and bytes. */
const char *st_datakeys_current(const struct st_datakeys *dk,
				const uint8_t **key);
/* The key named id, or NULL. */
const uint8_t *st_datakeys_find(const struct st_datakeys *dk, const char *id,
				size_t idlen);
/* Where the keys came from (for messages). */
const char *st_datakeys_path(const struct st_datakeys *dk);

/*
 * Create path (0600, O_EXCL) with one new key, or append a new current
 * key to an existing file that parses. The new id goes to new_id.
 */
int st_datakeys_add(const char *path, char *new_id, size_t idlen, char *err,
		    size_t errlen);

#endif /* SEALTRACE_DATAKEY_H */
