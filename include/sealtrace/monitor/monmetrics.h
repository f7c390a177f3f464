/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Monitoring metrics (Art. 72) for /metrics, counted by the agent as it
 * writes decisions: per system, model_version and decision class (both
 * bounded: the first ST_MON_MAX_LABELS values seen, the rest "other", so
 * a misbehaving server cannot blow up the series count), a histogram of
 * the score field per model version, risk-rule hits by rule and severity,
 * and the HTTP status mix of wire targets (details.status of a decision).
 *
 *   sealtrace_decisions_total{system_id,model_version,class}
 *   sealtrace_decision_score_bucket{system_id,model_version,le} (+_sum, _count)
 *   sealtrace_risk_events_total{system_id,rule,severity}
 *   sealtrace_http_responses_total{system_id,status}
 *   sealtrace_oversight_total{system_id,action}	(action: override, confirm)
 *
 * A decision without the class field counts as class="(none)", one
 * without model_version as model_version="(none)". Counters start at 0
 * with each agent (Prometheus handles the reset); the log is the record.
 */
#ifndef SEALTRACE_MONMETRICS_H
#define SEALTRACE_MONMETRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "sealtrace/base/json.h"
#include "sealtrace/log/record.h"

#define ST_MON_MAX_LABELS	16
#define ST_MON_MAX_RULES	64
#define ST_MON_MAX_STATUS	32
#define ST_MON_BUCKETS		10	/* le 0.1 .. 1.0 */
#define ST_MON_SCORE_FIELD	"confidence_score"
#define ST_MON_CLASS_FIELD	"output_class"

struct st_mon_labels {
	char v[ST_MON_MAX_LABELS][64];
	unsigned n;
};

struct st_mon_metrics {
	char system_id[128];
	struct st_mon_labels versions, classes;
	uint64_t decisions[ST_MON_MAX_LABELS + 1][ST_MON_MAX_LABELS + 1];
	uint64_t score_bucket[ST_MON_MAX_LABELS + 1][ST_MON_BUCKETS];	/* not cumulative */
	uint64_t score_above[ST_MON_MAX_LABELS + 1];	/* > 1.0: only in +Inf */
	double score_sum[ST_MON_MAX_LABELS + 1];
	uint64_t score_count[ST_MON_MAX_LABELS + 1];
	struct { char rule[65], severity[16]; uint64_t n; } risk[ST_MON_MAX_RULES];
	unsigned nrisk;
	struct { int status; uint64_t n; } http[ST_MON_MAX_STATUS];
	unsigned nhttp;
	uint64_t http_other;
	uint64_t oversight[2];		/* [0] confirm, [1] override */
};

void st_mon_metrics_init(struct st_mon_metrics *m, const char *system_id);
/* A decision record (inference or incomplete) just written. */
void st_mon_metrics_decision(struct st_mon_metrics *m, const struct st_record *rec);
/* A risk record just written. */
void st_mon_metrics_risk(struct st_mon_metrics *m, const char *rule, const char *severity);
/* An oversight record just written (override: human_override_applied). */
void st_mon_metrics_oversight(struct st_mon_metrics *m, bool override);
/* The Prometheus text exposition of all of it, appended to out. */
void st_mon_metrics_text(const struct st_mon_metrics *m, struct st_buf *out);

#endif /* SEALTRACE_MONMETRICS_H */
