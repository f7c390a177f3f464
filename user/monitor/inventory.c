// SPDX-License-Identifier: Apache-2.0
/* Model inventory from the system stream (inventory.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/base/json.h"
#include "sealtrace/log/store.h"
#include "sealtrace/monitor/lines.h"
#include "sealtrace/monitor/inventory.h"

/* how long an agent's start-up scan may take to re-find processes */
#define ST_INV_START_SCAN_NS (10ull * 1000000000ull)

void st_inventory_init(struct st_inventory *inv, uint64_t at_ns)
{
	memset(inv, 0, sizeof(*inv));
	inv->at_ns = at_ns;
}

void st_inventory_free(struct st_inventory *inv)
{
	free(inv->procs);
	memset(inv, 0, sizeof(*inv));
}

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static struct st_inv_proc *find(struct st_inventory *inv, int32_t pid)
{
	size_t i;

	for (i = 0; i < inv->n; i++)
		if (inv->procs[i].pid == pid)
			return &inv->procs[i];
	return NULL;
}

static struct st_inv_proc *add(struct st_inventory *inv, int32_t pid, uint64_t ts)
{
	struct st_inv_proc *grown;

	if (inv->n == inv->cap) {
		size_t cap = inv->cap ? inv->cap * 2 : 16;

		grown = realloc(inv->procs, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		inv->procs = grown;
		inv->cap = cap;
	}
	grown = &inv->procs[inv->n++];
	memset(grown, 0, sizeof(*grown));
	grown->pid = pid;
	grown->since_ns = ts;
	return grown;
}

static void drop(struct st_inventory *inv, struct st_inv_proc *p)
{
	*p = inv->procs[--inv->n];
}

static void describe(struct st_inv_proc *p, const struct st_record *rec)
{
	if (rec->comm)
		copy(p->comm, sizeof(p->comm), rec->comm);
	if (rec->container_id)
		copy(p->container_id, sizeof(p->container_id), rec->container_id);
	if (st_record_detail_str(rec, "target"))
		copy(p->target, sizeof(p->target), st_record_detail_str(rec, "target"));
	if (st_record_detail_str(rec, "exe"))
		copy(p->exe, sizeof(p->exe), st_record_detail_str(rec, "exe"));
}

static int activate(struct st_inventory *inv, const struct st_record *rec)
{
	struct st_inv_proc *p = find(inv, rec->pid);

	/* the same process found again by a new agent keeps what it loaded */
	if (p && p->stale && (!rec->comm || !strcmp(p->comm, rec->comm))) {
		p->stale = false;
		describe(p, rec);
		return 0;
	}
	if (p)
		drop(inv, p);	/* a pid reused, or a second exec */
	p = add(inv, rec->pid, rec->timestamp_ns);
	if (!p)
		return -1;
	describe(p, rec);
	return 0;
}

static int model_loaded(struct st_inventory *inv, const struct st_record *rec)
{
	struct st_inv_proc *p = find(inv, rec->pid);
	struct st_inv_model *m;
	const char *path = st_record_detail_str(rec, "path");
	size_t i;

	if (!rec->model_artifact)
		return 0;
	if (!p) {
		/* a process the agent saw load a model without an activation */
		p = add(inv, rec->pid, rec->timestamp_ns);
		if (!p)
			return -1;
		describe(p, rec);
	}
	for (i = 0; i < p->nmodels; i++)
		if (!strcmp(p->models[i].path, path ? path : ""))
			break;
	if (i == ST_INV_MODELS)
		i = ST_INV_MODELS - 1;	/* keep the newest in the last slot */
	else if (i == p->nmodels)
		p->nmodels++;
	m = &p->models[i];
	copy(m->artifact, sizeof(m->artifact), rec->model_artifact);
	copy(m->version, sizeof(m->version), rec->model_version);
	copy(m->path, sizeof(m->path), path);
	m->loaded_ns = rec->timestamp_ns;
	return 0;
}

void st_inventory_settle(struct st_inventory *inv)
{
	size_t i = 0;

	while (i < inv->n) {
		if (inv->procs[i].stale)
			drop(inv, &inv->procs[i]);
		else
			i++;
	}
}

int st_inventory_apply(struct st_inventory *inv, const struct st_record *rec)
{
	struct st_inv_proc *p;
	size_t i;

	inv->records++;
	inv->last_ts = rec->timestamp_ns;
	switch (rec->type) {
	case ST_ET_AGENT_START:
		/* what the previous agent knew must be found again */
		st_inventory_settle(inv);
		for (i = 0; i < inv->n; i++)
			inv->procs[i].stale = true;
		inv->agent_starts++;
		inv->last_agent_start_ns = rec->timestamp_ns;
		return 0;
	case ST_ET_SYSTEM_ACTIVATION:
		return rec->pid ? activate(inv, rec) : 0;
	case ST_ET_MODEL_LOADED:
		return rec->pid ? model_loaded(inv, rec) : 0;
	case ST_ET_SYSTEM_DEACTIVATION:
		p = find(inv, rec->pid);
		if (p)
			drop(inv, p);
		return 0;
	default:
		return 0;
	}
}

struct load {
	struct st_inventory *inv;
	struct st_buf scratch;
	char *err;
	size_t errlen;
};

/* Parse only the four types the inventory is made of. */
static int apply_line(void *ctx, const char *line, size_t len)
{
	struct load *l = ctx;
	struct st_record_parsed p;
	char type[32];
	uint64_t ts;
	int rc = 0;

	if (!st_line_head(line, len, type, sizeof(type), &ts)) {
		/*
		 * Not a stop at the first later time: the log's own records
		 * (checkpoints) carry the time they were written, so a stream
		 * may hold times out of order, e.g. history generated with
		 * another clock.
		 */
		if (ts > l->inv->at_ns)
			return 0;
		if (strcmp(type, "agent_start") && strcmp(type, "system_activation") &&
		    strcmp(type, "system_deactivation") && strcmp(type, "model_loaded"))
			return 0;
	}
	memset(&p, 0, sizeof(p));
	if (st_record_parse(line, len, &p, &l->scratch, l->err, l->errlen))
		rc = 1;
	else if (p.rec.timestamp_ns <= l->inv->at_ns && st_inventory_apply(l->inv, &p.rec))
		rc = st_errf(l->err, l->errlen, "out of memory");
	st_record_parsed_free(&p);
	return rc;
}

int st_inventory_load(const char *state_dir, struct st_inventory *inv,
		      char *err, size_t errlen)
{
	struct load l = { .inv = inv, .err = err, .errlen = errlen };
	struct st_seg_list segs = { 0 };
	char dir[4200];
	uint64_t seq = 0;
	size_t k;
	int rc;

	snprintf(dir, sizeof(dir), "%s/system", state_dir);
	rc = st_seg_list(dir, &segs, err, errlen);
	for (k = 0; !rc && k < segs.n; k++) {
		seq = segs.first[k];
		rc = st_lines_segment(state_dir, ST_STREAM_SYSTEM, segs.first[k], apply_line, &l,
				      &seq, err, errlen);
	}
	st_seg_list_free(&segs);
	st_buf_free(&l.scratch);
	if (!rc && inv->agent_starts) {
		/*
		 * Right after an agent_start its found_at_start activations may
		 * still be ahead of at_ns: those processes are kept, stale, when
		 * the moment asked for is within the start-up scan.
		 */
		if (inv->at_ns == UINT64_MAX ||
		    inv->at_ns - inv->last_agent_start_ns > ST_INV_START_SCAN_NS)
			st_inventory_settle(inv);
	}
	return rc;
}

static int group_of(struct st_inv_group *g, size_t n, const struct st_inv_model *m)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(g[i].model->artifact, m->artifact) &&
		    !strcmp(g[i].model->version, m->version))
			return (int)i;
	return -1;
}

size_t st_inventory_groups(const struct st_inventory *inv,
			   struct st_inv_group *out, size_t max)
{
	size_t n = 0, i, j;
	int k;

	for (i = 0; i < inv->n; i++) {
		const struct st_inv_proc *p = &inv->procs[i];

		for (j = 0; j < p->nmodels; j++) {
			const struct st_inv_model *m = &p->models[j];
			struct st_inv_group *g;

			k = group_of(out, n, m);
			if (k < 0) {
				if (n == max)
					continue;
				g = &out[n++];
				memset(g, 0, sizeof(*g));
				g->model = m;
				g->since_ns = m->loaded_ns;
			} else {
				g = &out[k];
			}
			if (m->loaded_ns < g->since_ns)
				g->since_ns = m->loaded_ns;
			if (g->nprocs < sizeof(g->procs) / sizeof(g->procs[0]))
				g->procs[g->nprocs++] = p;
		}
	}
	return n;
}
