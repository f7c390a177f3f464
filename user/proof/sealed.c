// SPDX-License-Identifier: Apache-2.0
/* --data-key for the reading verbs (sealed.h). */
#include <stdio.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/log/record.h"
#include "sealtrace/log/seal.h"
#include "sealtrace/log/store.h"
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

/* The first segment of state_dir the installed keys cannot open. */
static int check_dir(const char *state_dir, char *err, size_t errlen)
{
	char dir[4200], path[4300], name[ST_SEG_NAME_LEN + 1];
	struct st_seg_list l;
	int s, rc = 0;
	size_t i;

	for (s = 0; s < ST_STREAM__COUNT && !rc; s++) {
		snprintf(dir, sizeof(dir), "%s/%s", state_dir,
			 st_stream_name((enum st_stream)s));
		if (st_seg_list(dir, &l, err, errlen))
			return -1;
		for (i = 0; i < l.n && !rc; i++) {
			st_seg_name(l.first[i], name);
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			rc = st_seal_check_file(path, err, errlen);
		}
		st_seg_list_free(&l);
	}
	return rc;
}

int st_cli_data_key_missing(const char *verb, const char *state_dir)
{
	char err[8800];
	int rc = check_dir(state_dir, err, sizeof(err));

	if (!rc)
		return 0;
	fprintf(stderr, "sealtrace %s: %s\n", verb, err);
	return rc > 0 ? ST_EXIT_USAGE : ST_EXIT_RUNTIME;
}
