/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CLI verbs. Each takes the arguments after the verb name (argv[0] is the
 * verb) and returns the process exit status:
 *   0 success / intact / complete
 *   1 the thing checked failed (tampered log, coverage below 100 %)
 *   2 usage or configuration error, agent or probes not running
 *   3 runtime error (I/O, BPF load or attach failed)
 */
#ifndef SEALTRACE_CLI_H
#define SEALTRACE_CLI_H

#define ST_EXIT_OK		0
#define ST_EXIT_FAIL		1
#define ST_EXIT_USAGE		2
#define ST_EXIT_RUNTIME		3

int cmd_run(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_ship(int argc, char **argv);
int cmd_witness(int argc, char **argv);

#endif /* SEALTRACE_CLI_H */
