// SPDX-License-Identifier: Apache-2.0
/* Unit tests for risk rules (config risk_rules + user/monitor/risk.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sealtrace/base/json.h"
#include "sealtrace/config/config.h"
#include "sealtrace/log/record.h"
#include "sealtrace/monitor/monmetrics.h"
#include "sealtrace/monitor/risk.h"

#define H "system_id: s\noperator_id: o\n"
/* at the end, so that the rules' line numbers stay those above */
#define T "targets:\n  - name: t\n    path: /bin/true\n    probes:\n      - symbol: f\n"

static const char rules_yaml[] =
	H
	"risk_rules:\n"						/* 3 */
	"  - {name: low_confidence, field: confidence_score, op: \"<\", value: 0.70, severity: medium}\n"
	"  - {name: class_outside_set, field: output_class, not_in: [approve, decline, refer], severity: high}\n"
	"  - name: very_high\n"					/* 6 */
	"    field: confidence_score\n"
	"    op: \">=\"\n"
	"    value: 0.99\n"
	"    severity: low\n"
	"  - {name: flagged, field: flag, in: [\"true\"], severity: critical}\n" T;

static struct st_config cfg;

static int setup(void **state)
{
	char err[512];

	(void)state;
	if (st_config_load_string("r.yaml", rules_yaml, strlen(rules_yaml), &cfg, err,
				  sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	st_config_free(&cfg);
	return 0;
}

static struct st_dval num(const char *name, double v)
{
	return (struct st_dval){ .name = name, .kind = ST_DVAL_NUM, .num = v };
}

static struct st_dval str(const char *name, const char *v)
{
	return (struct st_dval){ .name = name, .kind = ST_DVAL_STR, .str = v };
}

static void test_config(void **state)
{
	const struct st_risk_rule_cfg *r = cfg.risk_rules;

	(void)state;
	assert_int_equal(cfg.nrisk_rules, 4);
	assert_string_equal(r[0].name, "low_confidence");
	assert_int_equal(r[0].op, ST_RISK_LT);
	assert_true(r[0].value == 0.70);
	assert_int_equal(r[0].line, 4);
	assert_int_equal(r[1].op, ST_RISK_NOT_IN);
	assert_int_equal(r[1].nset, 3);
	assert_string_equal(r[1].set[2], "refer");
	assert_int_equal(r[2].op, ST_RISK_GE);
	assert_int_equal(r[2].line, 6);
	assert_int_equal(r[3].op, ST_RISK_IN);
}

static void test_eval(void **state)
{
	struct st_risk_hit hits[8];
	struct st_dval f[3];

	(void)state;
	/* 0.69 < 0.70 and the class is allowed: only low_confidence */
	f[0] = num("confidence_score", 0.69);
	f[1] = str("output_class", "approve");
	assert_int_equal(st_risk_eval(cfg.risk_rules, cfg.nrisk_rules, f, 2, hits, 8), 1);
	assert_string_equal(hits[0].rule->name, "low_confidence");
	assert_string_equal(hits[0].measured, "0.69");
	/* exactly at the bound: < does not hold */
	f[0] = num("confidence_score", 0.70);
	assert_int_equal(st_risk_eval(cfg.risk_rules, cfg.nrisk_rules, f, 2, hits, 8), 0);
	/* a class outside the set and a very high score: two, in rule order */
	f[0] = num("confidence_score", 0.995);
	f[1] = str("output_class", "escalate");
	assert_int_equal(st_risk_eval(cfg.risk_rules, cfg.nrisk_rules, f, 2, hits, 8), 2);
	assert_string_equal(hits[0].rule->name, "class_outside_set");
	assert_string_equal(hits[0].measured, "escalate");
	assert_string_equal(hits[1].rule->name, "very_high");
	assert_string_equal(hits[1].measured, "0.995");
	/* maxhits bounds what is filled, not the count */
	assert_int_equal(st_risk_eval(cfg.risk_rules, cfg.nrisk_rules, f, 2, hits, 1), 2);
	/* a boolean matched as text */
	f[2] = (struct st_dval){ .name = "flag", .kind = ST_DVAL_BOOL, .b = true };
	assert_int_equal(st_risk_eval(cfg.risk_rules + 3, 1, &f[2], 1, hits, 8), 1);
	assert_string_equal(hits[0].measured, "true");
}

static void test_missing_and_types(void **state)
{
	struct st_risk_hit hits[8];
	struct st_dval f[2];

	(void)state;
	/* absent fields match nothing, not even not_in */
	assert_int_equal(st_risk_eval(cfg.risk_rules, cfg.nrisk_rules, NULL, 0, hits, 8), 0);
	/* null matches nothing */
	f[0] = (struct st_dval){ .name = "output_class", .kind = ST_DVAL_NULL };
	f[1] = (struct st_dval){ .name = "confidence_score", .kind = ST_DVAL_NULL };
	assert_int_equal(st_risk_eval(cfg.risk_rules, cfg.nrisk_rules, f, 2, hits, 8), 0);
	/* a string never matches a numeric rule */
	f[1] = str("confidence_score", "0.1");
	assert_int_equal(st_risk_eval(cfg.risk_rules, 1, &f[1], 1, hits, 8), 0);
	/* a number in a set rule is compared as its shortest text */
	f[0] = num("output_class", 3);
	assert_int_equal(st_risk_eval(cfg.risk_rules + 1, 1, f, 1, hits, 8), 1);
	assert_string_equal(hits[0].measured, "3");
}

static void test_num_text(void **state)
{
	char b[64];

	(void)state;
	st_risk_num_text(0.7, b, sizeof(b));
	assert_string_equal(b, "0.7");
	st_risk_num_text(-0.0, b, sizeof(b));
	assert_string_equal(b, "0");
	st_risk_num_text(1e-7, b, sizeof(b));
	assert_string_equal(b, "1e-07");
	st_risk_num_text(0.1 + 0.2, b, sizeof(b));
	assert_string_equal(b, "0.30000000000000004");
}

/* The record a hit becomes: canonical, system stream, exact details. */
static void test_record(void **state)
{
	static const char id[] = "0197c4a0-5e7b-7c1e-9a3f-2b6d8e0f1a2c";
	struct st_record_hdr hdr = { .event_id = "0197c4a0-5e7b-7c1e-9a3f-2b6d8e0f1a2d",
				     .stream = ST_STREAM_SYSTEM, .seq = 7 };
	struct st_record dec, rec;
	struct st_kv d[ST_RISK_DETAILS];
	struct st_risk_hit hit = { .rule = &cfg.risk_rules[0], .measured = "0.63" };
	struct st_buf b = { 0 };
	char thr[64], err[256];
	const char *want = "\"details\":{\"decision_event_id\":\"0197c4a0-5e7b-7c1e-9a3f-2b6d8e0f1a2c\","
			   "\"field\":\"confidence_score\",\"measured\":\"0.63\",\"op\":\"<\","
			   "\"rule\":\"low_confidence\",\"severity\":\"medium\",\"threshold\":\"0.7\"}";

	(void)state;
	memset(hdr.prev_hex, '0', ST_HASH_HEX);
	st_record_init(&dec, ST_ET_INFERENCE, 1751371200123456789ull);
	dec.pid = 4242;
	dec.comm = "scorer";
	dec.model_version = "v2";
	st_risk_record(&rec, d, &hit, id, &dec, thr, sizeof(thr));
	assert_int_equal(st_event_stream(rec.type), ST_STREAM_SYSTEM);
	assert_string_equal(st_event_type_name(rec.type), "risk");
	assert_int_equal(st_record_canon(&b, &hdr, &rec, err, sizeof(err)), 0);
	st_buf_putc(&b, '\0');
	assert_non_null(strstr(b.p, "\"event_type\":\"risk\""));
	assert_non_null(strstr(b.p, "\"model_version\":\"v2\""));
	assert_non_null(strstr(b.p, want));
	st_buf_free(&b);
	/* the set rule's threshold is its list */
	hit.rule = &cfg.risk_rules[1];
	st_risk_record(&rec, d, &hit, id, &dec, thr, sizeof(thr));
	assert_string_equal(thr, "approve,decline,refer");
	assert_string_equal(st_risk_op_name(ST_RISK_NOT_IN), "not_in");
}

static void expect_error(const char *yaml, const char *want)
{
	struct st_config c;
	char err[512];

	assert_int_equal(st_config_load_string("r.yaml", yaml, strlen(yaml), &c, err,
					       sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_config_errors(void **state)
{
	(void)state;
	expect_error(H "risk_rules:\n  - {name: a, field: s, op: \"<\", value: x, severity: low}\n" T,
		     "r.yaml:4: risk_rules[0].value: 'x' is not a finite number");
	expect_error(H "risk_rules:\n  - {name: a, field: s, op: \"=<\", value: 1, severity: low}\n" T,
		     "risk_rules[0].op: '=<' is not one of");
	expect_error(H "risk_rules:\n  - {name: a, field: s, op: \"<\", value: 1, severity: huge}\n" T,
		     "risk_rules[0].severity: 'huge' is not one of low, medium, high, critical");
	expect_error(H "risk_rules:\n  - {name: a, field: s, severity: low}\n" T,
		     "risk_rules[0]: needs op and value, or in / not_in");
	expect_error(H "risk_rules:\n  - {name: a, field: s, op: \"<\", severity: low}\n" T,
		     "risk_rules[0]: op and value go together");
	expect_error(H "risk_rules:\n  - {name: a, field: s, in: [x], not_in: [y], severity: low}\n" T,
		     "give one of in and not_in, not both");
	expect_error(H "risk_rules:\n  - {name: a, field: s, op: \"<\", value: 1, in: [x], severity: low}\n" T,
		     "not both");
	expect_error(H "risk_rules:\n  - {name: a, field: s, op: \"<\", value: 1, severity: low}\n"
		       "  - {name: a, field: t, op: \">\", value: 1, severity: low}\n" T,
		     "r.yaml:5: risk_rules[1]: duplicate name 'a' (also risk_rules[0] at line 4)");
	expect_error(H "risk_rules:\n  - {name: \"a b\", field: s, op: \"<\", value: 1, severity: low}\n" T,
		     "risk_rules[0].name: a rule name is");
	expect_error(H "risk_rules:\n  - {name: a, field: s, op: \"<\", value: 1, severity: low, x: 1}\n" T,
		     "unknown key");
}

static void expect_line(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("metrics lack '%s' in:\n%s", line, text);
}

/* The /metrics block: exact counts, bounded labels, escaped values. */
static void test_monmetrics(void **state)
{
	static struct st_mon_metrics m;
	struct st_record rec;
	struct st_kv d[1];
	struct st_buf b = { 0 };
	char v[32];
	int i;

	(void)state;
	st_mon_metrics_init(&m, "credit \"scoring\"");
	st_record_init(&rec, ST_ET_INFERENCE, 1);
	rec.details = d;
	rec.ndetails = 1;
	for (i = 0; i < 30; i++) {
		rec.model_version = i < 20 ? "v1" : "v2";
		d[0] = st_kv_int("status", i % 3 ? 200 : 503);
		st_mon_metrics_decision(&m, &rec);
	}
	rec.ndetails = 0;
	for (i = 0; i < 20; i++) {	/* 16 versions at most, the rest "other" */
		snprintf(v, sizeof(v), "x%d", i);
		rec.model_version = v;
		st_mon_metrics_decision(&m, &rec);
	}
	rec.model_version = NULL;
	st_mon_metrics_decision(&m, &rec);
	st_mon_metrics_risk(&m, "low_confidence", "medium");
	st_mon_metrics_risk(&m, "low_confidence", "medium");
	st_mon_metrics_risk(&m, "class_outside_set", "high");
	st_mon_metrics_text(&m, &b);
	st_buf_putc(&b, '\0');
	assert_false(b.oom);
	expect_line(b.p, "sealtrace_decisions_total{system_id=\"credit \\\"scoring\\\"\",model_version=\"v1\",class=\"(none)\"} 20\n");
	expect_line(b.p, "model_version=\"v2\",class=\"(none)\"} 10\n");
	expect_line(b.p, "model_version=\"x13\",class=\"(none)\"} 1\n");
	assert_null(strstr(b.p, "model_version=\"x14\""));
	/* v1, v2 and x0..x13 fill the 16 slots: x14..x19 and the one without a version are "other" */
	expect_line(b.p, "model_version=\"other\",class=\"(none)\"} 7\n");
	expect_line(b.p, "sealtrace_risk_events_total{system_id=\"credit \\\"scoring\\\"\",rule=\"low_confidence\",severity=\"medium\"} 2\n");
	expect_line(b.p, "rule=\"class_outside_set\",severity=\"high\"} 1\n");
	expect_line(b.p, "sealtrace_http_responses_total{system_id=\"credit \\\"scoring\\\"\",status=\"200\"} 20\n");
	expect_line(b.p, "status=\"503\"} 10\n");
	expect_line(b.p, "# TYPE sealtrace_decision_score histogram\n");
	st_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_eval),
		cmocka_unit_test(test_missing_and_types),
		cmocka_unit_test(test_num_text),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_monmetrics),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
