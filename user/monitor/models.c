// SPDX-License-Identifier: Apache-2.0
/*
 * sealtrace models: which exact model artifacts serve on this node now,
 * or at any past moment, from the log alone (inventory.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/json.h"
#include "sealtrace/log/record.h"
#include "sealtrace/monitor/inventory.h"

#define MAX_GROUPS 256

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace models --state-dir DIR [--at TIME] [--json]\n\n"
		"Which model artifacts were serving on this node (sha256, version,\n"
		"since when, which processes and containers), now or at TIME, read\n"
		"from the system stream alone: system_activation, model_loaded,\n"
		"system_deactivation and agent_start records.\n\n"
		"  --state-dir DIR   the agent's state directory\n"
		"  --at TIME         the moment (RFC 3339 or YYYY-MM-DD); default now\n"
		"  --json            one JSON object on stdout\n"
		"  -h, --help        this text\n\n"
		"Exit status: 0 ok (also when nothing was serving), 1 the system stream\n"
		"does not read back, 2 usage, 3 I/O error.\n");
}

static void fmt_time(uint64_t ns, char out[ST_TIME_LEN + 1])
{
	if (st_time_format(ns, out))
		snprintf(out, ST_TIME_LEN + 1, "?");
}

static void json_opt_str(struct st_buf *b, const char *key, const char *v)
{
	st_json_key(b, key);
	if (v && *v)
		st_json_cstr(b, v);
	else
		st_json_null(b);
}

static void json_proc(struct st_buf *b, const struct st_inv_proc *p)
{
	char t[ST_TIME_LEN + 1];

	fmt_time(p->since_ns, t);
	st_buf_putc(b, '{');
	st_json_key(b, "pid");
	st_json_int(b, p->pid);
	st_buf_putc(b, ',');
	json_opt_str(b, "comm", p->comm);
	st_buf_putc(b, ',');
	json_opt_str(b, "container_id", p->container_id);
	st_buf_putc(b, ',');
	json_opt_str(b, "target", p->target);
	st_buf_putc(b, ',');
	json_opt_str(b, "exe", p->exe);
	st_buf_putc(b, ',');
	st_json_key(b, "active_since");
	st_json_cstr(b, t);
	st_buf_putc(b, '}');
}

static int print_json(const struct st_inventory *inv, const struct st_inv_group *g,
		      size_t ng, const char *at)
{
	struct st_buf b = { 0 };
	char t[ST_TIME_LEN + 1];
	size_t i, j;
	bool first = true;
	int rc;

	st_buf_putc(&b, '{');
	json_opt_str(&b, "at", at);
	st_buf_puts(&b, ",\"models\":[");
	for (i = 0; i < ng; i++) {
		fmt_time(g[i].since_ns, t);
		st_buf_puts(&b, i ? ",{" : "{");
		json_opt_str(&b, "model_artifact", g[i].model->artifact);
		st_buf_putc(&b, ',');
		json_opt_str(&b, "model_version", g[i].model->version);
		st_buf_putc(&b, ',');
		json_opt_str(&b, "path", g[i].model->path);
		st_buf_putc(&b, ',');
		st_json_key(&b, "since");
		st_json_cstr(&b, t);
		st_buf_puts(&b, ",\"processes\":[");
		for (j = 0; j < g[i].nprocs; j++) {
			if (j)
				st_buf_putc(&b, ',');
			json_proc(&b, g[i].procs[j]);
		}
		st_buf_puts(&b, "]}");
	}
	st_buf_puts(&b, "],\"processes_without_model\":[");
	for (i = 0; i < inv->n; i++) {
		if (inv->procs[i].nmodels)
			continue;
		if (!first)
			st_buf_putc(&b, ',');
		first = false;
		json_proc(&b, &inv->procs[i]);
	}
	st_buf_puts(&b, "],\"system_records_read\":");
	st_json_uint(&b, inv->records);
	st_buf_puts(&b, ",\"agent_starts\":");
	st_json_uint(&b, inv->agent_starts);
	st_buf_puts(&b, "}\n");
	rc = b.oom || fwrite(b.p, 1, b.len, stdout) != b.len ? -1 : 0;
	st_buf_free(&b);
	return rc;
}

static void print_proc(const struct st_inv_proc *p)
{
	printf("    pid %d %s", p->pid, p->comm[0] ? p->comm : "?");
	if (p->target[0])
		printf(" (target %s)", p->target);
	if (p->container_id[0])
		printf(" container %.12s", p->container_id);
	printf("\n");
}

static void print_text(const struct st_inventory *inv, const struct st_inv_group *g,
		       size_t ng, const char *at)
{
	char t[ST_TIME_LEN + 1];
	size_t i, j, bare = 0;

	printf("models serving %s%s:\n", at ? "at " : "now", at ? at : "");
	if (!ng)
		printf("  (none)\n");
	for (i = 0; i < ng; i++) {
		fmt_time(g[i].since_ns, t);
		printf("  %s  version %s  since %s\n    file %s\n",
		       g[i].model->artifact,
		       g[i].model->version[0] ? g[i].model->version : "(unnamed)", t,
		       g[i].model->path[0] ? g[i].model->path : "?");
		for (j = 0; j < g[i].nprocs; j++)
			print_proc(g[i].procs[j]);
	}
	for (i = 0; i < inv->n; i++)
		bare += !inv->procs[i].nmodels;
	if (bare) {
		printf("tracked processes with no model file seen:\n");
		for (i = 0; i < inv->n; i++)
			if (!inv->procs[i].nmodels)
				print_proc(&inv->procs[i]);
	}
}

int cmd_models(int argc, char **argv)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "models", .opts = opts, .usage = usage };
	static struct st_inv_group groups[MAX_GROUPS];
	const char *dir = NULL, *at = NULL;
	struct st_inventory inv;
	uint64_t at_ns = UINT64_MAX;
	struct stat sb;
	char err[1024];
	bool json = false;
	size_t ng;
	int c, rc;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'a': at = optarg; break;
		case 'j': json = true; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (!dir)
		return st_cli_usage_error(&cli, "--state-dir DIR is required");
	if (at && st_time_parse(at, &at_ns)) {
		fprintf(stderr, "sealtrace models: --at '%s': TIME must be RFC 3339 (2025-01-02T03:04:05Z) or YYYY-MM-DD\n",
			at);
		return ST_EXIT_USAGE;
	}
	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "sealtrace models: %s: not a directory\n", dir);
		return ST_EXIT_USAGE;
	}
	st_inventory_init(&inv, at_ns);
	rc = st_inventory_load(dir, &inv, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sealtrace models: %s%s\n", rc > 0 ? "FAIL: " : "", err);
		st_inventory_free(&inv);
		return rc > 0 ? ST_EXIT_FAIL : ST_EXIT_RUNTIME;
	}
	ng = st_inventory_groups(&inv, groups, MAX_GROUPS);
	rc = ST_EXIT_OK;
	if (json) {
		if (print_json(&inv, groups, ng, at))
			rc = ST_EXIT_RUNTIME;
	} else {
		print_text(&inv, groups, ng, at);
	}
	st_inventory_free(&inv);
	return rc;
}
