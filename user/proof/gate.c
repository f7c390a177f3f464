// SPDX-License-Identifier: Apache-2.0
/* The setgid reader: auditors export, nothing else, always recorded (gate.h). */
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/base/clock.h"
#include "sealtrace/log/access.h"
#include "sealtrace/proof/gate.h"

static const char *const allowed[] = { "export", "prove", NULL };

static bool verb_allowed(const char *verb)
{
	int i;

	for (i = 0; allowed[i]; i++)
		if (!strcmp(verb, allowed[i]))
			return true;
	return false;
}

/* The real user is root, or the auditors group is among its groups. */
static bool is_auditor(void)
{
	struct group *g = getgrnam(ST_AUDITORS_GROUP);
	gid_t groups[256];
	int n, i;

	if (getuid() == 0)
		return true;
	if (!g)
		return false;
	if (getgid() == g->gr_gid)
		return true;
	n = getgroups(sizeof(groups) / sizeof(groups[0]), groups);
	for (i = 0; i < n; i++)
		if (groups[i] == g->gr_gid)
			return true;
	return false;
}

/* --state-dir, or the state dir of a segment named last (decrypt). */
static const char *state_dir_arg(int argc, char **argv, char *buf, size_t len)
{
	const char *last = argc > 1 ? argv[argc - 1] : "";
	char *slash;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
			return argv[i + 1];
		if (!strncmp(argv[i], "--state-dir=", 12))
			return argv[i] + 12;
	}
	if (strlen(last) < 4 || strcmp(last + strlen(last) - 4, ".seg") ||
	    (size_t)snprintf(buf, len, "%s", last) >= len)
		return NULL;
	for (i = 0; i < 2; i++) {	/* <state_dir>/<stream>/<name>.seg */
		slash = strrchr(buf, '/');
		if (!slash)
			return i ? "." : NULL;
		*slash = '\0';
	}
	return buf[0] ? buf : "/";
}

/* A refused read, recorded where the log group may write. */
static void record_refusal(const char *verb, const char *dir, const char *why)
{
	struct st_access_note n = {
		.uid = getuid(), .gid = getgid(), .pid = getpid(),
		.time_ns = st_realtime_ns(),
	};
	char err[4600];

	if (!dir)
		return;
	snprintf(n.action, sizeof(n.action), "%s", verb);
	snprintf(n.outcome, sizeof(n.outcome), "refused");
	snprintf(n.reason, sizeof(n.reason), "%s", why);
	if (st_access_pending_write(dir, &n, err, sizeof(err)))
		fprintf(stderr, "sealtrace %s: the refusal could not be recorded either: %s\n",
			verb, err);
}

int st_reader_gate(const char *verb, int argc, char **argv)
{
	char buf[4200];
	const char *dir;

	if (getegid() == getgid() && geteuid() == getuid())
		return -1;
	st_access_set_privileged(true);
	dir = state_dir_arg(argc, argv, buf, sizeof(buf));
	if (!is_auditor()) {
		fprintf(stderr, "sealtrace %s: refused: uid %d is not in the '%s' group; this attempt is recorded\n",
			verb, (int)getuid(), ST_AUDITORS_GROUP);
		record_refusal(verb, dir, "not in the " ST_AUDITORS_GROUP " group");
		return ST_EXIT_USAGE;
	}
	if (!verb_allowed(verb)) {
		fprintf(stderr, "sealtrace %s: refused: through the setgid binary auditors may run only "
			"export and prove (they read exports, not the store); this attempt is recorded\n",
			verb);
		record_refusal(verb, dir, "verb not allowed to auditors");
		return ST_EXIT_USAGE;
	}
	return -1;
}
