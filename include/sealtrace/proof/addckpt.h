/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C2SP tlog-witness add-checkpoint request body, which is also what
 * `sealtrace prove --consistency` writes and `verify --consistency` reads:
 *
 *   old <size>\n
 *   <base64 consistency proof hash>\n      zero or more
 *   \n
 *   <signed checkpoint note>
 *
 * One format for the witness, the shipper and an auditor with a file.
 */
#ifndef SEALTRACE_ADDCKPT_H
#define SEALTRACE_ADDCKPT_H

#include <stddef.h>
#include <stdint.h>

#include "sealtrace/base/json.h"
#include "sealtrace/log/checkpoint.h"
#include "sealtrace/log/consistency.h"
#include "sealtrace/log/record.h"

struct st_addckpt {
	uint64_t old_size;
	uint8_t proof[ST_CONSISTENCY_MAX][ST_HASH_LEN];
	size_t nproof;
	const char *note;		/* into the parsed text */
	size_t note_len;
};

/* 0, or -1 with "line N: what" in err (an input error: 400). */
int st_addckpt_parse(const char *body, size_t len, struct st_addckpt *out,
		     char *err, size_t errlen);
void st_addckpt_write(struct st_buf *out, uint64_t old_size,
		      const uint8_t (*proof)[ST_HASH_LEN], size_t n,
		      const char *note, size_t note_len);

/*
 * The consistency proof of a stream of a state directory from old_size
 * to the size of note (its signed head, whose root the records must
 * give). Records purged by retention are stood in for by the frontier
 * of their retention_purge record where the proof allows. 0; 1 when the
 * log does not hold what is needed or does not match the note (err says
 * what); -1 runtime error.
 */
int st_consistency_of_log(const char *state_dir, enum st_stream s,
			  uint64_t old_size, const struct st_ckpt *note,
			  uint8_t (*proof)[ST_HASH_LEN], size_t *n,
			  char *err, size_t errlen);

/* `sealtrace prove --consistency ...` and `verify --consistency ...`
 * (prove.c and verify.c hand their arguments over when they see it). */
int st_prove_consistency_main(int argc, char **argv);
int st_verify_consistency_main(int argc, char **argv);
/* Whether argv holds the option (e.g. "--consistency"). */
int st_argv_has(int argc, char **argv, const char *opt);

#endif /* SEALTRACE_ADDCKPT_H */
