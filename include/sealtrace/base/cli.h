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

#include <stdbool.h>

#include <getopt.h>
#include <stdio.h>

#define ST_EXIT_OK		0
#define ST_EXIT_FAIL		1
#define ST_EXIT_USAGE		2
#define ST_EXIT_RUNTIME		3

/* ---- options (cli.c): what every verb parses the same way ---- */

#define ST_OPT_HELP		{ "help", no_argument, NULL, 'h' }
#define ST_OPT_STATE_DIR	{ "state-dir", required_argument, NULL, 'd' }
#define ST_OPT_PUBKEY		{ "pubkey", required_argument, NULL, 'p' }
#define ST_OPT_END		{ NULL, 0, NULL, 0 }

struct st_cli {
	const char *verb;		/* messages read "sealtrace <verb>: ..." */
	const char *shortopts;		/* getopt's; NULL: "h" */
	const struct option *opts;	/* ends with ST_OPT_END */
	void (*usage)(FILE *f);		/* NULL: the verb prints none */
	bool operands;			/* arguments may follow the options */
	int status;			/* after ST_CLI_STOP: the exit status */
	bool started;
};

#define ST_CLI_STOP	(-2)

/*
 * getopt_long for a verb, with what every verb does alike: the first call
 * resets getopt (optind = 0: a verb may run twice in one process, as in
 * the unit tests); --help prints the usage on stdout (status ST_EXIT_OK);
 * an unknown option or a missing argument prints it on stderr, and so does
 * an operand after the options, with "unexpected argument" (status
 * ST_EXIT_USAGE). Those return ST_CLI_STOP and the verb returns c->status.
 * -1 when every option is read; else the option's value, as getopt_long.
 */
int st_cli_next(struct st_cli *c, int argc, char **argv);

/* "sealtrace <verb>: <message>" and the usage on stderr; ST_EXIT_USAGE. */
int st_cli_usage_error(const struct st_cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int cmd_run(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_decrypt(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_reconstruct(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_ship(int argc, char **argv);
int cmd_witness(int argc, char **argv);

#endif /* SEALTRACE_CLI_H */
