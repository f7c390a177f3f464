/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The retention_purge record (see retention.h for what a purge does): what
 * it carries, written by retention and read back by scan, so that both
 * depend on this file and not on each other. The frontier is the RFC 6962
 * tree of the purged seqs as the hashes of its perfect subtrees.
 */
#ifndef SEALTRACE_PURGE_RECORD_H
#define SEALTRACE_PURGE_RECORD_H

#include <stdint.h>

#include "sealtrace/log/merkle.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/store.h"

/* ---- frontier --------------------------------------------------------- */

/* 64 hex per set bit of size, comma separated, largest subtree first */
#define ST_FRONTIER_HEX_MAX	(ST_MERKLE_LEVELS * (ST_HASH_HEX + 1))

void st_frontier_format(const struct st_merkle *m,
			char out[ST_FRONTIER_HEX_MAX + 1]);
/* The tree of `size` leaves from its frontier text; 0 or -1. */
int st_frontier_parse(const char *s, uint64_t size, struct st_merkle *m);

/* ---- retention_purge records ------------------------------------------ */

struct st_purge {
	enum st_stream stream;		/* the purged stream */
	char segment[ST_SEG_NAME_LEN + 1];
	uint64_t first_seq, last_seq, count;
	uint8_t last_hash[ST_HASH_LEN];
	struct st_merkle tree;		/* seqs 0..last_seq */
};

#define ST_PURGE_NDETAILS 7

/* details of the record; strings point into hex/frontier/seg buffers */
struct st_purge_text {
	char last_hash[ST_HASH_HEX + 1];
	char frontier[ST_FRONTIER_HEX_MAX + 1];
	struct st_kv d[ST_PURGE_NDETAILS];
};

void st_purge_details(const struct st_purge *p, struct st_purge_text *t);
/* From a retention_purge record; 0, or -1 with the reason in err. */
int st_purge_parse(const struct st_record *rec, struct st_purge *out,
		   char *err, size_t errlen);

#endif /* SEALTRACE_PURGE_RECORD_H */
