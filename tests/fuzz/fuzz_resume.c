// SPDX-License-Identifier: Apache-2.0
/* Resume files (<state>/<stream>/resume) as the agent reads them at start. */
#include "fuzz.h"

#include "sealtrace/log/resume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct st_resume r;
	char path[128], why[512];
	struct st_ckpt ck;
	int rc;

	snprintf(path, sizeof(path), "%s/" ST_RESUME_FILE, fuzz_dir());
	fuzz_write(path, data, size);
	why[0] = '\0';
	rc = st_resume_read(fuzz_dir(), &r, why, sizeof(why));
	if (rc < 0 && !why[0])
		abort();
	if (!rc)
		(void)st_ckpt_parse_any(r.note, r.note_len, NULL, 0, &ck, NULL,
					why, sizeof(why));
	return 0;
}
