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
	char *witness_url;		/* NULL: no witness */
};

/* A flat YAML mapping; every error names file:line: key. 0, or -1. */
int st_ship_config_load(const char *path, struct st_ship_config *c,
			char *err, size_t errlen);
void st_ship_config_free(struct st_ship_config *c);

struct st_ship_stats {
	uint64_t rows, batches, checkpoints, forks, reconnects;
	uint64_t bytes;			/* canonical line bytes sent */
	uint64_t cosigned, witness_refusals, witness_errors;
};

/*
 * Submit a stream's signed head to the witness (C2SP add-checkpoint) with
 * the consistency proof from the size it cosigned last (the local copy
 * <state_dir>/shipped/<stream>.cosigned, or the size its 409 names). A
 * cosignature is stored in that file (the note with the witness's line
 * added); a refusal (409 the node cannot answer, 422) is reported on
 * stderr and counted. 0, or -1 when the witness cannot be reached.
 */
int st_ship_witness(const struct st_ship_config *cfg, int stream,
		    const char *note, size_t len, struct st_ship_stats *st,
		    char *err, size_t errlen);
/* <state_dir>/shipped/metrics.prom for node_exporter's textfile collector. */
void st_ship_metrics(const struct st_ship_config *cfg,
		     const struct st_ship_stats *st);

#endif /* SEALTRACE_SHIP_H */
