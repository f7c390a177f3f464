// SPDX-License-Identifier: Apache-2.0
/*
 * agent_core: what every part of the agent uses, kept apart so that the
 * parts (agent_record.c, agent_attach.c, agent_live.c) depend on it and
 * run.c depends on them, never the reverse.
 */
#include <stdio.h>

#include "sealtrace/monitor/monmetrics.h"
#include "sealtrace/monitor/risk.h"

#include "sealtrace/agent/agent.h"

/*
 * After a decision is in the log, whichever capture wrote it (uprobes,
 * wire): its monitoring counters, and a `risk` record for each risk rule
 * that holds on its decision fields (monitor/risk.h). A record without
 * decision fields costs a count and one check.
 */
static void after_decision(struct agent *a, const struct st_record *dec)
{
	struct st_dval f[ST_RISK_MAX_FIELDS];
	struct st_risk_hit hit;
	struct st_record rec;
	struct st_kv d[ST_RISK_DETAILS];
	char thr[256], id[ST_EVENT_ID_LEN + 1];
	const char *last;
	size_t nf, i;

	st_mon_metrics_decision(&a->mon, dec);
	if (!a->cfg.nrisk_rules)
		return;
	nf = st_risk_fields_of(dec, f, ST_RISK_MAX_FIELDS);
	last = st_log_last_event_id(a->log, ST_STREAM_DECISION);
	if (!nf || !last)
		return;
	snprintf(id, sizeof(id), "%s", last);
	for (i = 0; i < a->cfg.nrisk_rules; i++) {
		if (!st_risk_eval(&a->cfg.risk_rules[i], 1, f, nf, &hit, 1))
			continue;
		st_risk_record(&rec, d, &hit, id, dec, thr, sizeof(thr));
		if (agent_log_append(a, &rec) == 0) {
			a->risk_recorded++;
			st_mon_metrics_risk(&a->mon, hit.rule->name, hit.rule->severity);
		}
	}
}

/* Append one record; a failure is counted and said, never silent. */
int agent_log_append(struct agent *a, const struct st_record *rec)
{
	char err[ST_ERR_LEN];

	if (st_log_append(a->log, rec, err, sizeof(err)) == 0) {
		if (st_event_stream(rec->type) == ST_STREAM_DECISION)
			after_decision(a, rec);
		else if (rec->type == ST_ET_OVERSIGHT)
			st_mon_metrics_oversight(&a->mon, rec->human_override_applied);
		return 0;
	}
	/* never silent: the failure goes to stderr and into the stop record */
	a->write_errors++;
	fprintf(stderr, "sealtrace: %s\n", err);
	return -1;
}
