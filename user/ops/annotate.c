// SPDX-License-Identifier: Apache-2.0
/* annotate: submit a human oversight decision to the running agent. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/ops/oversight.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace annotate --state-dir DIR --event-id ID (--override | --confirm)\n"
		"                          --actor NAME [--note TEXT]\n\n"
		"Record a person's decision about one recorded inference (human oversight):\n"
		"--override when the person set the model's output aside, --confirm when\n"
		"they let it stand. The running agent appends an `oversight` record to the\n"
		"system stream (human_override_applied, details.decision_event_id, action,\n"
		"actor, note) and answers once it is durable. The event id is recorded as given;\n"
		"`sealtrace lookup`/`verify` tie it to the decision.\n\n"
		"  --state-dir DIR   the agent's state directory (its socket is\n"
		"                    DIR/" ST_OVERSIGHT_SOCK ", root only)\n"
		"  --event-id ID     the decision's event_id (UUID)\n"
		"  --override        the output was overridden\n"
		"  --confirm         the output was confirmed\n"
		"  --actor NAME      who decided (an identifier your organisation uses)\n"
		"  --note TEXT       reason, up to %d bytes (keep personal data out)\n"
		"  -h, --help        this text\n\n"
		"Exit status: 0 recorded, 1 the agent refused it (message says why),\n"
		"2 usage, 3 the agent is not reachable.\n", ST_OVERSIGHT_NOTE_MAX - 1);
}

static int copy(char *dst, size_t len, const char *src, const char *what)
{
	if (strlen(src) >= len) {
		fprintf(stderr, "sealtrace annotate: %s is longer than %zu bytes\n", what, len - 1);
		return -1;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int cmd_annotate(int argc, char **argv)
{
	static const struct option opts[] = {
		ST_OPT_STATE_DIR,
		{ "event-id", required_argument, NULL, 'e' },
		{ "override", no_argument, NULL, 'o' },
		{ "confirm", no_argument, NULL, 'c' },
		{ "actor", required_argument, NULL, 'a' },
		{ "note", required_argument, NULL, 'n' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "annotate", .opts = opts, .usage = usage };
	struct st_oversight_req req = { 0 };
	const char *dir = NULL, *id = NULL, *actor = NULL, *note = "";
	char path[4200], reply[512], err[512];
	int c, decided = 0;

	while ((c = st_cli_next(&cli, argc, argv)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'e': id = optarg; break;
		case 'o': req.override = true; decided++; break;
		case 'c': req.override = false; decided++; break;
		case 'a': actor = optarg; break;
		case 'n': note = optarg; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (!dir || !id || !actor || decided != 1)
		return st_cli_usage_error(&cli, "--state-dir, --event-id, --actor and exactly one "
					  "of --override/--confirm are required");
	if (!st_oversight_uuid_ok(id)) {
		fprintf(stderr, "sealtrace annotate: --event-id '%s' is not a UUID\n", id);
		return ST_EXIT_USAGE;
	}
	if (!actor[0] || copy(req.event_id, sizeof(req.event_id), id, "--event-id") ||
	    copy(req.actor, sizeof(req.actor), actor, "--actor") ||
	    copy(req.note, sizeof(req.note), note, "--note"))
		return ST_EXIT_USAGE;
	snprintf(path, sizeof(path), "%s/%s", dir, ST_OVERSIGHT_SOCK);
	if (st_oversight_submit(path, &req, reply, sizeof(reply), err, sizeof(err))) {
		fprintf(stderr, "sealtrace annotate: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	fputs(reply, strncmp(reply, "ok ", 3) ? stderr : stdout);
	return strncmp(reply, "ok ", 3) ? ST_EXIT_FAIL : ST_EXIT_OK;
}
