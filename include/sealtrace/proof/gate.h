/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who may read the log through the setgid `sealtrace` binary
 * (docs/operations.md, "Who may read"): installed root:<log group> 2755,
 * the log group owning the state dir (segments 0640) and the data key
 * (0640), the binary lets a member of the auditors group (ST_AUDITORS_GROUP)
 * run `export` and `prove`, and nothing else. Every such read is recorded
 * (log_access, through the agent or a pending-access note) before
 * anything is read; a refused one is recorded too.
 */
#ifndef SEALTRACE_GATE_H
#define SEALTRACE_GATE_H

#define ST_AUDITORS_GROUP	"auditors"

/*
 * Called by main before any verb: -1 when the process is not privileged
 * (effective ids == real ids) or may go on; else the exit status
 * (ST_EXIT_USAGE) after saying why on stderr.
 */
int st_reader_gate(const char *verb, int argc, char **argv);

#endif /* SEALTRACE_GATE_H */
