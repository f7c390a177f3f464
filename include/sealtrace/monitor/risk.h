/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Risk rules (config risk_rules, config.h) evaluated on one decision's
 * fields: each rule that holds becomes a `risk` record in the system
 * stream naming the rule, the field, the measured value, the severity
 * and the decision's event_id (docs/schema.md).
 *
 * The evaluator sees decision fields as plain values (struct st_dval), so
 * it does not care where they came from: the record's `decision` object
 * (schema 2), or a test. Semantics, chosen so that a rule never fires on
 * something it did not measure:
 *  - a field that is absent or null matches no rule (decision records say
 *    which fields were missing themselves);
 *  - < <= > >= == != compare numbers only; a string or boolean value does
 *    not match a numeric rule;
 *  - in / not_in compare the value's text (numbers in their shortest
 *    round-trip form, booleans as true/false) with the listed values.
 */
#ifndef SEALTRACE_RISK_H
#define SEALTRACE_RISK_H

#include <stdbool.h>
#include <stddef.h>

#include "sealtrace/config/config.h"
#include "sealtrace/log/record.h"

#define ST_RISK_VALUE_LEN	64	/* a measured value as text (strings cut) */
#define ST_RISK_MAX_FIELDS	32

enum st_dval_kind { ST_DVAL_NULL, ST_DVAL_NUM, ST_DVAL_STR, ST_DVAL_BOOL };

/* One decision field: name and scalar value. */
struct st_dval {
	const char *name;
	enum st_dval_kind kind;
	double num;
	const char *str;
	bool b;
};

struct st_risk_hit {
	const struct st_risk_rule_cfg *rule;
	char measured[ST_RISK_VALUE_LEN];	/* the value as text */
};

/* The op as written in config: "<", ..., "in", "not_in". */
const char *st_risk_op_name(enum st_risk_op op);

/* A number in its shortest text that reads back as the same double. */
void st_risk_num_text(double v, char *out, size_t outlen);

/*
 * Evaluate every rule on the fields; fills hits (in rule order, at most
 * maxhits) and returns how many rules held.
 */
size_t st_risk_eval(const struct st_risk_rule_cfg *rules, size_t nrules,
		    const struct st_dval *fields, size_t nfields,
		    struct st_risk_hit *hits, size_t maxhits);

/*
 * The decision fields of a record (its `decision` object); 0 when the
 * record has none (schema 1, or no fields configured).
 */
size_t st_risk_fields_of(const struct st_record *rec, struct st_dval *out,
			 size_t max);

#define ST_RISK_DETAILS 8
/*
 * Fill rec (system stream, type risk) for a hit on the decision with
 * event_id `decision_id`; pid, comm, container, probe and model of the
 * decision are copied. details must hold ST_RISK_DETAILS entries and
 * outlive rec; so must hit and decision.
 */
void st_risk_record(struct st_record *rec, struct st_kv *details,
		    const struct st_risk_hit *hit, const char *decision_id,
		    const struct st_record *decision, char *threshold,
		    size_t threshold_len);

#endif /* SEALTRACE_RISK_H */
