// SPDX-License-Identifier: Apache-2.0
/*
 * Risk rules over decision fields (risk.h): the evaluator, and the
 * `risk` record a hit becomes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/monitor/risk.h"

static const char *const op_names[] = {
	[ST_RISK_LT] = "<", [ST_RISK_LE] = "<=", [ST_RISK_GT] = ">",
	[ST_RISK_GE] = ">=", [ST_RISK_EQ] = "==", [ST_RISK_NE] = "!=",
	[ST_RISK_IN] = "in", [ST_RISK_NOT_IN] = "not_in",
};

const char *st_risk_op_name(enum st_risk_op op)
{
	return (unsigned)op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

void st_risk_num_text(double v, char *out, size_t outlen)
{
	int prec;

	if (v == 0) {
		snprintf(out, outlen, "0");	/* also -0 */
		return;
	}
	/* the fewest digits that read back as v: 0.7, not 0.69999999999999996 */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(out, outlen, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* The field's value as text for in / not_in; false for null. */
static bool value_text(const struct st_dval *f, char *out, size_t outlen)
{
	switch (f->kind) {
	case ST_DVAL_NUM:
		st_risk_num_text(f->num, out, outlen);
		return true;
	case ST_DVAL_STR:
		snprintf(out, outlen, "%s", f->str ? f->str : "");
		return true;
	case ST_DVAL_BOOL:
		snprintf(out, outlen, "%s", f->b ? "true" : "false");
		return true;
	default:
		return false;
	}
}

static bool in_set(const struct st_risk_rule_cfg *r, const struct st_dval *f)
{
	char text[ST_RISK_VALUE_LEN * 4];
	size_t i;

	if (!value_text(f, text, sizeof(text)))
		return false;
	for (i = 0; i < r->nset; i++)
		if (!strcmp(r->set[i], f->kind == ST_DVAL_STR ? f->str : text))
			return true;
	return false;
}

static bool holds(const struct st_risk_rule_cfg *r, const struct st_dval *f)
{
	if (f->kind == ST_DVAL_NULL)
		return false;
	if (r->op == ST_RISK_IN)
		return in_set(r, f);
	if (r->op == ST_RISK_NOT_IN)
		return !in_set(r, f);
	if (f->kind != ST_DVAL_NUM || isnan(f->num))
		return false;
	switch (r->op) {
	case ST_RISK_LT: return f->num < r->value;
	case ST_RISK_LE: return f->num <= r->value;
	case ST_RISK_GT: return f->num > r->value;
	case ST_RISK_GE: return f->num >= r->value;
	case ST_RISK_EQ: return f->num == r->value;
	case ST_RISK_NE: return f->num != r->value;
	default: return false;
	}
}

static const struct st_dval *field(const struct st_dval *fields, size_t n,
				   const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fields[i].name && !strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

size_t st_risk_eval(const struct st_risk_rule_cfg *rules, size_t nrules,
		    const struct st_dval *fields, size_t nfields,
		    struct st_risk_hit *hits, size_t maxhits)
{
	const struct st_dval *f;
	size_t i, n = 0;

	for (i = 0; i < nrules; i++) {
		f = field(fields, nfields, rules[i].field);
		if (!f || !holds(&rules[i], f))
			continue;
		if (n < maxhits) {
			hits[n].rule = &rules[i];
			value_text(f, hits[n].measured, sizeof(hits[n].measured));
		}
		n++;
	}
	return n;
}

/*
 * Schema 2 records carry `decision` (record.h of the wire-capture work);
 * until that lands there is nothing to read and every record has no
 * fields, so the agent's hook costs nothing.
 */
size_t st_risk_fields_of(const struct st_record *rec, struct st_dval *out,
			 size_t max)
{
#ifdef ST_RECORD_MAX_DECISION
	size_t i, n = 0;

	if (!rec->has_decision)
		return 0;
	for (i = 0; i < rec->ndecision && n < max; i++) {
		const struct st_kv *kv = &rec->decision[i];
		struct st_dval *d = &out[n++];

		memset(d, 0, sizeof(*d));
		d->name = kv->key;
		switch (kv->kind) {
		case ST_KV_STR: d->kind = ST_DVAL_STR; d->str = kv->v.s; break;
		case ST_KV_INT: d->kind = ST_DVAL_NUM; d->num = (double)kv->v.i; break;
		case ST_KV_UINT: d->kind = ST_DVAL_NUM; d->num = (double)kv->v.u; break;
		case ST_KV_BOOL: d->kind = ST_DVAL_BOOL; d->b = kv->v.b; break;
		case ST_KV_NUM: d->kind = ST_DVAL_NUM; d->num = kv->v.d; break;
		default: d->kind = ST_DVAL_NULL; break;
		}
	}
	return n;
#else
	(void)rec;
	(void)out;
	(void)max;
	return 0;
#endif
}

/* The rule's bound as text: "0.7", or "approve,decline,refer". */
static void threshold_text(const struct st_risk_rule_cfg *r, char *out, size_t len)
{
	size_t i, used = 0;

	out[0] = '\0';
	if (r->op != ST_RISK_IN && r->op != ST_RISK_NOT_IN) {
		st_risk_num_text(r->value, out, len);
		return;
	}
	for (i = 0; i < r->nset && used + 1 < len; i++) {
		int k = snprintf(out + used, len - used, "%s%s", i ? "," : "", r->set[i]);

		if (k < 0 || (size_t)k >= len - used)
			break;
		used += (size_t)k;
	}
}

void st_risk_record(struct st_record *rec, struct st_kv *details,
		    const struct st_risk_hit *hit, const char *decision_id,
		    const struct st_record *decision, char *threshold,
		    size_t threshold_len)
{
	const struct st_risk_rule_cfg *r = hit->rule;
	size_t nd = 0;

	st_record_init(rec, ST_ET_RISK, decision->timestamp_ns);
	rec->pid = decision->pid;
	rec->comm = decision->comm;
	rec->container_id = decision->container_id;
	rec->probe = decision->probe;
	rec->model_version = decision->model_version;
	rec->model_artifact = decision->model_artifact;
	threshold_text(r, threshold, threshold_len);
	/* keys sorted bytewise, as the canonical form wants them */
	details[nd++] = st_kv_str("decision_event_id", decision_id);
	details[nd++] = st_kv_str("field", r->field);
	details[nd++] = st_kv_str("measured", hit->measured);
	details[nd++] = st_kv_str("op", st_risk_op_name(r->op));
	details[nd++] = st_kv_str("rule", r->name);
	details[nd++] = st_kv_str("severity", r->severity);
	details[nd++] = st_kv_str("threshold", threshold);
	rec->details = details;
	rec->ndetails = nd;
}
