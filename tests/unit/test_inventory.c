// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the model inventory (user/monitor/inventory.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sealtrace/log/record.h"
#include "sealtrace/monitor/inventory.h"

#define A1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define A2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static struct st_inventory inv;

static void apply(enum st_event_type t, uint64_t ts, int32_t pid, const char *comm,
		  const char *artifact, const char *version, const char *path)
{
	struct st_record r;
	struct st_kv d[1];

	st_record_init(&r, t, ts);
	r.pid = pid;
	r.comm = comm;
	r.model_artifact = artifact;
	r.model_version = version;
	if (path) {
		d[0] = st_kv_str("path", path);
		r.details = d;
		r.ndetails = 1;
	}
	assert_int_equal(st_inventory_apply(&inv, &r), 0);
}

static size_t groups(struct st_inv_group *g)
{
	return st_inventory_groups(&inv, g, 8);
}

/* Activation, model, deactivation, pid reuse. */
static void test_lifecycle(void **state)
{
	static struct st_inv_group g[8];

	(void)state;
	st_inventory_init(&inv, UINT64_MAX);
	apply(ST_ET_SYSTEM_ACTIVATION, 10, 100, "scorer", NULL, NULL, NULL);
	apply(ST_ET_MODEL_LOADED, 11, 100, "scorer", A1, "v1", "/m/v1.onnx");
	apply(ST_ET_SYSTEM_ACTIVATION, 12, 200, "scorer", NULL, NULL, NULL);
	apply(ST_ET_MODEL_LOADED, 13, 200, "scorer", A1, "v1", "/m/v1.onnx");
	assert_int_equal(groups(g), 1);
	assert_string_equal(g[0].model->version, "v1");
	assert_int_equal(g[0].nprocs, 2);
	assert_int_equal(g[0].since_ns, 11);
	/* 100 exits; its pid comes back as another program without a model */
	apply(ST_ET_SYSTEM_DEACTIVATION, 20, 100, "scorer", NULL, NULL, NULL);
	apply(ST_ET_SYSTEM_ACTIVATION, 21, 100, "other", NULL, NULL, NULL);
	assert_int_equal(groups(g), 1);
	assert_int_equal(g[0].nprocs, 1);
	assert_int_equal(g[0].procs[0]->pid, 200);
	assert_int_equal(g[0].since_ns, 13);
	/* a second model file in 200: two groups; the same file again: one */
	apply(ST_ET_MODEL_LOADED, 22, 200, "scorer", A2, "v2", "/m/v2.onnx");
	apply(ST_ET_MODEL_LOADED, 23, 200, "scorer", A2, "v2", "/m/v2.onnx");
	assert_int_equal(groups(g), 2);
	assert_int_equal(inv.n, 2);
	st_inventory_free(&inv);
}

/*
 * A new agent: processes it finds again keep their models; one it does not
 * find again ended while no agent ran.
 */
static void test_agent_restart(void **state)
{
	static struct st_inv_group g[8];

	(void)state;
	st_inventory_init(&inv, UINT64_MAX);
	apply(ST_ET_SYSTEM_ACTIVATION, 10, 100, "scorer", NULL, NULL, NULL);
	apply(ST_ET_MODEL_LOADED, 11, 100, "scorer", A1, "v1", "/m/v1.onnx");
	apply(ST_ET_SYSTEM_ACTIVATION, 12, 200, "scorer", NULL, NULL, NULL);
	apply(ST_ET_MODEL_LOADED, 13, 200, "scorer", A2, "v2", "/m/v2.onnx");
	apply(ST_ET_AGENT_START, 50, 999, "sealtrace", NULL, NULL, NULL);
	apply(ST_ET_SYSTEM_ACTIVATION, 51, 200, "scorer", NULL, NULL, NULL);
	st_inventory_settle(&inv);
	assert_int_equal(groups(g), 1);
	assert_string_equal(g[0].model->artifact, A2);
	assert_int_equal(g[0].since_ns, 13);	/* loaded before the restart */
	assert_int_equal(g[0].procs[0]->since_ns, 12);
	assert_int_equal(inv.agent_starts, 1);
	st_inventory_free(&inv);
}

/* A model_loaded without an activation (path targets) still counts. */
static void test_model_without_activation(void **state)
{
	static struct st_inv_group g[8];

	(void)state;
	st_inventory_init(&inv, UINT64_MAX);
	apply(ST_ET_MODEL_LOADED, 5, 300, "srv", A1, NULL, "/m/x.gguf");
	apply(ST_ET_MODEL_LOADED, 6, 301, "srv", NULL, NULL, "/m/y.gguf");	/* no digest */
	assert_int_equal(groups(g), 1);
	assert_string_equal(g[0].model->version, "");
	assert_int_equal(g[0].procs[0]->pid, 300);
	st_inventory_free(&inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_agent_restart),
		cmocka_unit_test(test_model_without_activation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
