/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hash chain of one stream: every record carries
 *   preceding_event_hash = hex(SHA-256(previous canonical line))
 * where the line is the canonical JSON without its trailing newline.
 * The first record of a stream (seq 0) links to the genesis value:
 * 64 '0' characters (ST_CHAIN_GENESIS_HEX). A plain scan finds any edit,
 * deletion, insertion or reordering; a consistent re-chain after an edit
 * is caught by the signed Merkle checkpoints (merkle.h, checkpoint.h).
 */
#ifndef SEALTRACE_CHAIN_H
#define SEALTRACE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/digest.h"

#define ST_CHAIN_GENESIS_HEX \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct st_chain {
	uint8_t prev[ST_HASH_LEN];	/* hash the next record must carry */
};

/* Start at the genesis value. */
void st_chain_init(struct st_chain *c);
/* After writing or reading `line`, advance: prev = SHA-256(line). */
int st_chain_advance(struct st_chain *c, struct st_hasher *h,
		     const char *line, size_t len);
/* hex of what the next record's preceding_event_hash must be */
void st_chain_prev_hex(const struct st_chain *c, char out[ST_HASH_HEX + 1]);

#endif /* SEALTRACE_CHAIN_H */
