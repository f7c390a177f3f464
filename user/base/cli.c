// SPDX-License-Identifier: Apache-2.0
/* Option parsing shared by the verbs (see cli.h). */
#include <stdarg.h>
#include <stdio.h>

#include "sealtrace/base/cli.h"

static int stop(struct st_cli *c, int status, FILE *f)
{
	if (c->usage)
		c->usage(f);
	c->status = status;
	return ST_CLI_STOP;
}

int st_cli_next(struct st_cli *c, int argc, char **argv)
{
	int ch;

	if (!c->started) {
		optind = 0;
		c->started = true;
	}
	ch = getopt_long(argc, argv, c->shortopts ? c->shortopts : "h", c->opts, NULL);
	if (ch == 'h')
		return stop(c, ST_EXIT_OK, stdout);
	if (ch == '?' || ch == ':')
		return stop(c, ST_EXIT_USAGE, stderr);
	if (ch == -1 && optind != argc && !c->operands) {
		fprintf(stderr, "sealtrace %s: unexpected argument\n", c->verb);
		return stop(c, ST_EXIT_USAGE, stderr);
	}
	return ch;
}

int st_cli_usage_error(const struct st_cli *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sealtrace %s: %s\n", c->verb, msg);
	if (c->usage)
		c->usage(stderr);
	return ST_EXIT_USAGE;
}
