// SPDX-License-Identifier: Apache-2.0
/* --data-key for the reading verbs (sealed.h). */
#include <stdio.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/log/seal.h"
#include "sealtrace/proof/sealed.h"

int st_cli_data_key(const char *verb, const char *path)
{
	char err[4400];

	if (st_seal_load(path, err, sizeof(err))) {
		fprintf(stderr, "sealtrace %s: --data-key: %s\n", verb, err);
		return -1;
	}
	return 0;
}

int st_cli_data_key_missing(const char *verb, const char *state_dir)
{
	char err[8800];
	int rc = st_seal_check_dir(state_dir, err, sizeof(err));

	if (!rc)
		return 0;
	fprintf(stderr, "sealtrace %s: %s\n", verb, err);
	return rc > 0 ? ST_EXIT_USAGE : ST_EXIT_RUNTIME;
}
