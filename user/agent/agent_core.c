// SPDX-License-Identifier: Apache-2.0
/*
 * agent_core: what every part of the agent uses, kept apart so that the
 * parts (agent_record.c, agent_attach.c, agent_live.c) depend on it and
 * run.c depends on them, never the reverse.
 */
#include <stdio.h>

#include "sealtrace/agent/agent.h"

/* Append one record; a failure is counted and said, never silent. */
int agent_log_append(struct agent *a, const struct st_record *rec)
{
	char err[ST_ERR_LEN];

	if (st_log_append(a->log, rec, err, sizeof(err)) == 0)
		return 0;
	/* never silent: the failure goes to stderr and into the stop record */
	a->write_errors++;
	fprintf(stderr, "sealtrace: %s\n", err);
	return -1;
}
