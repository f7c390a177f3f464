/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shipper: copies every record and checkpoint of a state directory
 * into PostgreSQL (db.h), as a process of its own next to the agent, so
 * capture never waits for the database.
 *
 * Per (origin, stream) it starts from the database's high-water mark
 * (the largest seq in record_keys), reads the segments read-only from
 * there, checks each record continues the chain the database holds, and
 * writes batches (COPY into a temporary table, then one INSERT ... ON
 * CONFLICT DO NOTHING into record_keys and records) in one transaction
 * each, so a kill at any moment loses nothing and repeats nothing. A
 * record whose (origin, stream, seq) the database holds with another
 * hash is a fork: refused (the stream stops shipping), reported on
 * stderr and in the forks table.
 */
#ifndef SEALTRACE_SHIP_H
#define SEALTRACE_SHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct st_ship_config {
	char *state_dir;
	char *dsn;
	uint64_t batch_records;		/* rows a transaction (default 2000) */
	uint64_t poll_ms;		/* between looks at the segments (1000) */
	uint64_t retry_max_ms;		/* reconnect back-off cap (10000) */
};

/* A flat YAML mapping; every error names file:line: key. 0, or -1. */
int st_ship_config_load(const char *path, struct st_ship_config *c,
			char *err, size_t errlen);
void st_ship_config_free(struct st_ship_config *c);

struct st_ship_stats {
	uint64_t rows, batches, checkpoints, forks, reconnects;
	uint64_t bytes;			/* canonical line bytes sent */
};

#endif /* SEALTRACE_SHIP_H */
