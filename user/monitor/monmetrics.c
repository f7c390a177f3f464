// SPDX-License-Identifier: Apache-2.0
/* Monitoring metrics: counted per decision, exposed as Prometheus text (monmetrics.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sealtrace/monitor/monmetrics.h"
#include "sealtrace/monitor/risk.h"

#define OTHER ST_MON_MAX_LABELS

void st_mon_metrics_init(struct st_mon_metrics *m, const char *system_id)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->system_id, sizeof(m->system_id), "%s", system_id ? system_id : "");
}

static unsigned label_index(struct st_mon_labels *l, const char *v)
{
	unsigned i;

	if (!v || !*v)
		v = "(none)";
	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], v))
			return i;
	if (l->n == ST_MON_MAX_LABELS || strlen(v) >= sizeof(l->v[0]))
		return OTHER;
	snprintf(l->v[l->n], sizeof(l->v[0]), "%s", v);
	return l->n++;
}

static void count_http(struct st_mon_metrics *m, const struct st_record *rec)
{
	const struct st_kv *kv = st_record_detail(rec, "status");
	unsigned i;

	if (!kv || kv->kind != ST_KV_INT || kv->v.i < 100 || kv->v.i > 599)
		return;
	for (i = 0; i < m->nhttp; i++)
		if (m->http[i].status == (int)kv->v.i) {
			m->http[i].n++;
			return;
		}
	if (m->nhttp == ST_MON_MAX_STATUS) {
		m->http_other++;
		return;
	}
	m->http[m->nhttp].status = (int)kv->v.i;
	m->http[m->nhttp++].n = 1;
}

void st_mon_metrics_decision(struct st_mon_metrics *m, const struct st_record *rec)
{
	struct st_dval f[ST_RISK_MAX_FIELDS];
	size_t n = st_risk_fields_of(rec, f, ST_RISK_MAX_FIELDS), i;
	const char *cls = NULL;
	unsigned v = label_index(&m->versions, rec->model_version), b;

	for (i = 0; i < n; i++) {
		if (!strcmp(f[i].name, ST_MON_CLASS_FIELD) && f[i].kind == ST_DVAL_STR)
			cls = f[i].str;
		if (strcmp(f[i].name, ST_MON_SCORE_FIELD) || f[i].kind != ST_DVAL_NUM ||
		    f[i].num != f[i].num)
			continue;
		m->score_sum[v] += f[i].num;
		m->score_count[v]++;
		for (b = 0; b < ST_MON_BUCKETS; b++)
			if (f[i].num <= (double)(b + 1) / ST_MON_BUCKETS)
				break;
		if (b < ST_MON_BUCKETS)
			m->score_bucket[v][b]++;
		else
			m->score_above[v]++;
	}
	m->decisions[v][label_index(&m->classes, cls)]++;
	count_http(m, rec);
}

void st_mon_metrics_risk(struct st_mon_metrics *m, const char *rule, const char *severity)
{
	unsigned i;

	for (i = 0; i < m->nrisk; i++)
		if (!strcmp(m->risk[i].rule, rule))
			break;
	if (i == m->nrisk) {
		if (m->nrisk == ST_MON_MAX_RULES)
			return;
		snprintf(m->risk[i].rule, sizeof(m->risk[i].rule), "%s", rule);
		snprintf(m->risk[i].severity, sizeof(m->risk[i].severity), "%s", severity);
		m->nrisk++;
	}
	m->risk[i].n++;
}

void st_mon_metrics_oversight(struct st_mon_metrics *m, bool override)
{
	m->oversight[override ? 1 : 0]++;
}

/* A label value in the exposition format: \\, \" and \n escaped. */
static void label(struct st_buf *b, const char *key, const char *v)
{
	st_buf_puts(b, key);
	st_buf_puts(b, "=\"");
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			st_buf_putc(b, '\\');
		if (*v == '\n') {
			st_buf_puts(b, "\\n");
			continue;
		}
		st_buf_putc(b, *v);
	}
	st_buf_putc(b, '"');
}

static const char *name_of(const struct st_mon_labels *l, unsigned i)
{
	return i == OTHER ? "other" : l->v[i];
}

static void put_u64(struct st_buf *b, uint64_t v)
{
	char t[32];

	snprintf(t, sizeof(t), " %" PRIu64 "\n", v);
	st_buf_puts(b, t);
}

static void decisions_text(const struct st_mon_metrics *m, struct st_buf *b)
{
	unsigned v, c;

	st_buf_puts(b, "# HELP sealtrace_decisions_total Decisions recorded, by model version and decision class.\n"
		       "# TYPE sealtrace_decisions_total counter\n");
	for (v = 0; v <= OTHER; v++)
		for (c = 0; c <= OTHER; c++) {
			if (!m->decisions[v][c])
				continue;
			st_buf_puts(b, "sealtrace_decisions_total{");
			label(b, "system_id", m->system_id);
			st_buf_putc(b, ',');
			label(b, "model_version", name_of(&m->versions, v));
			st_buf_putc(b, ',');
			label(b, "class", name_of(&m->classes, c));
			st_buf_putc(b, '}');
			put_u64(b, m->decisions[v][c]);
		}
}

static void score_text(const struct st_mon_metrics *m, struct st_buf *b)
{
	unsigned v, k;
	uint64_t cum;
	char t[64];

	st_buf_puts(b, "# HELP sealtrace_decision_score Score field (" ST_MON_SCORE_FIELD ") of decisions, by model version.\n"
		       "# TYPE sealtrace_decision_score histogram\n");
	for (v = 0; v <= OTHER; v++) {
		if (!m->score_count[v])
			continue;
		for (k = 0, cum = 0; k <= ST_MON_BUCKETS; k++) {
			cum += k < ST_MON_BUCKETS ? m->score_bucket[v][k] : m->score_above[v];
			st_buf_puts(b, "sealtrace_decision_score_bucket{");
			label(b, "system_id", m->system_id);
			st_buf_putc(b, ',');
			label(b, "model_version", name_of(&m->versions, v));
			if (k < ST_MON_BUCKETS)
				snprintf(t, sizeof(t), ",le=\"%.1f\"}", (double)(k + 1) / ST_MON_BUCKETS);
			else
				snprintf(t, sizeof(t), ",le=\"+Inf\"}");
			st_buf_puts(b, t);
			put_u64(b, cum);
		}
		st_buf_puts(b, "sealtrace_decision_score_sum{");
		label(b, "system_id", m->system_id);
		st_buf_putc(b, ',');
		label(b, "model_version", name_of(&m->versions, v));
		snprintf(t, sizeof(t), "} %.17g\n", m->score_sum[v]);
		st_buf_puts(b, t);
		st_buf_puts(b, "sealtrace_decision_score_count{");
		label(b, "system_id", m->system_id);
		st_buf_putc(b, ',');
		label(b, "model_version", name_of(&m->versions, v));
		st_buf_putc(b, '}');
		put_u64(b, m->score_count[v]);
	}
}

void st_mon_metrics_text(const struct st_mon_metrics *m, struct st_buf *b)
{
	unsigned i;
	char t[32];

	decisions_text(m, b);
	score_text(m, b);
	st_buf_puts(b, "# HELP sealtrace_risk_events_total Risk records written, by rule and severity.\n"
		       "# TYPE sealtrace_risk_events_total counter\n");
	for (i = 0; i < m->nrisk; i++) {
		st_buf_puts(b, "sealtrace_risk_events_total{");
		label(b, "system_id", m->system_id);
		st_buf_putc(b, ',');
		label(b, "rule", m->risk[i].rule);
		st_buf_putc(b, ',');
		label(b, "severity", m->risk[i].severity);
		st_buf_putc(b, '}');
		put_u64(b, m->risk[i].n);
	}
	st_buf_puts(b, "# HELP sealtrace_oversight_total Human oversight records, by action.\n"
		       "# TYPE sealtrace_oversight_total counter\n");
	for (i = 0; i < 2; i++) {
		st_buf_puts(b, "sealtrace_oversight_total{");
		label(b, "system_id", m->system_id);
		st_buf_putc(b, ',');
		label(b, "action", i ? "override" : "confirm");
		st_buf_putc(b, '}');
		put_u64(b, m->oversight[i]);
	}
	st_buf_puts(b, "# HELP sealtrace_http_responses_total Decisions of wire targets by HTTP status.\n"
		       "# TYPE sealtrace_http_responses_total counter\n");
	for (i = 0; i <= m->nhttp; i++) {
		if (i == m->nhttp && !m->http_other)
			break;
		st_buf_puts(b, "sealtrace_http_responses_total{");
		label(b, "system_id", m->system_id);
		st_buf_putc(b, ',');
		if (i < m->nhttp)
			snprintf(t, sizeof(t), "%d", m->http[i].status);
		else
			snprintf(t, sizeof(t), "other");
		label(b, "status", t);
		st_buf_putc(b, '}');
		put_u64(b, i < m->nhttp ? m->http[i].n : m->http_other);
	}
}
