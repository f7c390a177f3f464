/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who read the log, also while no agent runs: a reading verb that cannot
 * reach the agent's socket leaves a pending-access file in
 * <state_dir>/access/ (mode 2770, the state dir's group: the setgid
 * `sealtrace` binary can write there, readers cannot), and the log
 * (log.h) seals every pending file as a `log_access` record at open and
 * about once a second while it runs, then removes the file. A refused
 * read (a user outside the auditors group) is recorded the same way.
 *
 * A pending file is text, one "key value" a line:
 *   sealtrace-access v1 | uid N | gid N | pid N | time_ns N |
 *   action WORD | outcome granted|refused | filter TEXT | reason TEXT
 */
#ifndef SEALTRACE_ACCESS_H
#define SEALTRACE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_ACCESS_DIR		"access"
#define ST_ACCESS_TEXT_MAX	512

struct st_access_note {
	int64_t uid, gid, pid;		/* real ids of the reader */
	uint64_t time_ns;
	char action[32];		/* export, prove, lookup, decrypt ... */
	char outcome[16];		/* granted | refused */
	char filter[ST_ACCESS_TEXT_MAX];
	char reason[ST_ACCESS_TEXT_MAX];
};

/*
 * Set once by the CLI gate (proof/gate.h) when the process runs with
 * another effective group than its real one (the setgid binary): then a
 * read that cannot be recorded must not happen.
 */
void st_access_set_privileged(bool on);
bool st_access_privileged(void);

/* <state_dir>/access, 2770, group of state_dir (the agent makes it). */
int st_access_dir_ensure(const char *state_dir, char *err, size_t errlen);
/* Write one pending file (O_EXCL, fsync, dir fsync). */
int st_access_pending_write(const char *state_dir, const struct st_access_note *n,
			    char *err, size_t errlen);

/* Pending files, oldest first (names sort by time). */
struct st_access_pending {
	char **name;
	struct st_access_note *note;
	size_t n;
};

/* At most max files; a file that does not parse is skipped and named on
 * stderr (left in place for a person to look at). */
int st_access_pending_read(const char *state_dir, size_t max,
			   struct st_access_pending *out, char *err, size_t errlen);
/* Remove the files read (after their records are durable). */
int st_access_pending_done(const char *state_dir, const struct st_access_pending *p,
			   char *err, size_t errlen);
void st_access_pending_free(struct st_access_pending *p);

#endif /* SEALTRACE_ACCESS_H */
