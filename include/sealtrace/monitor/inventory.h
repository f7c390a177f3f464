/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Model inventory: which model artifacts were serving on this node at a
 * moment, from the system stream alone. Replayed from the records:
 *   system_activation    a tracked process (pid, comm, container, target)
 *   model_loaded         it opened a model file: artifact sha256, version
 *   system_deactivation  it exited
 *   agent_start          a new agent re-finds the live processes
 *                        (system_activation, reason found_at_start); a
 *                        process it does not find again ended while no
 *                        agent ran, and leaves the inventory
 * A process found again keeps the models it had loaded (the agent hashes
 * a model file when it is opened, not at a later agent's start).
 */
#ifndef SEALTRACE_INVENTORY_H
#define SEALTRACE_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtrace/log/record.h"

#define ST_INV_MODELS	8	/* model files kept per process */

struct st_inv_model {
	char artifact[80];	/* sha256:<hex> */
	char version[128];	/* "" when the config names none */
	char path[256];
	uint64_t loaded_ns;
};

struct st_inv_proc {
	int32_t pid;
	char comm[64], container_id[80], target[64], exe[256];
	uint64_t since_ns;	/* its first activation */
	bool stale;		/* not yet found again by the latest agent */
	struct st_inv_model models[ST_INV_MODELS];
	size_t nmodels;
};

struct st_inventory {
	uint64_t at_ns;			/* UINT64_MAX: now */
	struct st_inv_proc *procs;
	size_t n, cap;
	uint64_t records;		/* system records read */
	uint64_t agent_starts;		/* at or before at_ns */
	uint64_t last_agent_start_ns;
	uint64_t last_ts;		/* of the last record applied */
};

void st_inventory_init(struct st_inventory *inv, uint64_t at_ns);
void st_inventory_free(struct st_inventory *inv);
/* Apply one system-stream record (others are ignored); 0 or -1 (memory). */
int st_inventory_apply(struct st_inventory *inv, const struct st_record *rec);
/* Processes left stale by the last agent_start are gone: drop them. */
void st_inventory_settle(struct st_inventory *inv);

/*
 * Read <state_dir>/system up to at_ns (records after it are not read)
 * and settle. 0; 1 the stream does not read back (err); -1 runtime.
 */
int st_inventory_load(const char *state_dir, struct st_inventory *inv,
		      char *err, size_t errlen);

/* One line per (artifact, version) serving, for text and JSON output. */
struct st_inv_group {
	const struct st_inv_model *model;	/* the first process's copy */
	uint64_t since_ns;			/* earliest load among them */
	const struct st_inv_proc *procs[64];
	size_t nprocs;
};

/* Group the processes' models; returns the number of groups (<= max). */
size_t st_inventory_groups(const struct st_inventory *inv,
			   struct st_inv_group *out, size_t max);

#endif /* SEALTRACE_INVENTORY_H */
