// SPDX-License-Identifier: Apache-2.0
/* The per-stream hash chain (see chain.h). */
#include <string.h>

#include "sealtrace/log/chain.h"

void st_chain_init(struct st_chain *c)
{
	/* genesis: all-zero hash, so seq 0 carries 64 '0' characters */
	memset(c->prev, 0, sizeof(c->prev));
}

int st_chain_advance(struct st_chain *c, struct st_hasher *h,
		     const char *line, size_t len)
{
	return st_sha256(h, line, len, NULL, 0, c->prev);
}

void st_chain_prev_hex(const struct st_chain *c, char out[ST_HASH_HEX + 1])
{
	st_hex(c->prev, ST_HASH_LEN, out);
}
