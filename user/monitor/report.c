// SPDX-License-Identifier: Apache-2.0
/* sealtrace report: placeholder until the report lands in the next commit. */
#include <stdio.h>

#include "sealtrace/base/cli.h"

int cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "sealtrace report: not built yet in this revision\n");
	return ST_EXIT_USAGE;
}
