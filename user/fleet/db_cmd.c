// SPDX-License-Identifier: Apache-2.0
/* sealtrace db init|migrate|status: the PostgreSQL schema (db.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "sealtrace/base/cli.h"
#include "sealtrace/fleet/db.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealtrace db init|migrate|status --dsn DSN\n\n"
		"The PostgreSQL schema the shipper, the witness and the fleet verbs use\n"
		"(schema \"sealtrace\", docs/operations.md \"Fleet: PostgreSQL\").\n\n"
		"  init      install it in an empty database: tables, monthly partitions,\n"
		"            append-only triggers, roles sealtrace_shipper (INSERT and\n"
		"            SELECT only), sealtrace_purge (purge_before() only, audited)\n"
		"            and sealtrace_reader (SELECT). Run as the database owner.\n"
		"  migrate   apply the versions this sealtrace has and the database has\n"
		"            not, each in its own transaction (safe to run concurrently)\n"
		"  status    print the installed and the latest version\n\n"
		"  --dsn DSN  libpq connection string or URI (PG* variables fill in the\n"
		"             rest); e.g. \"host=db dbname=audit user=owner\n"
		"             sslmode=verify-full sslrootcert=ca.pem\"\n"
		"  -h, --help this text\n\n"
		"Exit status: 0 done / up to date, 1 status: the database is behind,\n"
		"2 usage, init on an installed or migrate on an empty database,\n"
		"3 database error (connection, SQL, a schema newer than this sealtrace).\n");
}

static int run_action(PGconn *c, const char *action)
{
	char err[2048];
	int from, to, latest = st_db_schema_latest();

	if (st_db_schema_version(c, &from, err, sizeof(err))) {
		fprintf(stderr, "sealtrace db: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	if (!strcmp(action, "status")) {
		printf("db: schema version %d installed, %d is this sealtrace's%s\n",
		       from, latest, from < latest ? " (run: sealtrace db migrate)" : "");
		return from < latest ? ST_EXIT_FAIL : ST_EXIT_OK;
	}
	if (!strcmp(action, "init") && from) {
		fprintf(stderr, "sealtrace db: the database already has schema version %d: use 'db migrate'\n",
			from);
		return ST_EXIT_USAGE;
	}
	if (!strcmp(action, "migrate") && !from) {
		fprintf(stderr, "sealtrace db: no sealtrace schema in this database: use 'db init'\n");
		return ST_EXIT_USAGE;
	}
	if (st_db_migrate(c, &from, &to, err, sizeof(err))) {
		fprintf(stderr, "sealtrace db: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	if (from == to)
		printf("db: schema version %d is up to date\n", to);
	else
		printf("db: schema version %d -> %d\n", from, to);
	return ST_EXIT_OK;
}

int cmd_db(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dsn", required_argument, NULL, 'd' },
		ST_OPT_HELP,
		ST_OPT_END,
	};
	struct st_cli cli = { .verb = "db", .opts = opts, .usage = usage,
			      .operands = true };
	const char *dsn = NULL, *action;
	char err[2048];
	PGconn *c;
	int ch, rc;

	while ((ch = st_cli_next(&cli, argc, argv)) != -1) {
		switch (ch) {
		case 'd': dsn = optarg; break;
		case ST_CLI_STOP: return cli.status;
		}
	}
	if (optind == argc)
		return st_cli_usage_error(&cli, "give one action: init, migrate or status");
	if (optind != argc - 1)
		return st_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind + 1]);
	if (!dsn)
		return st_cli_usage_error(&cli, "--dsn DSN is required");
	action = argv[optind];
	if (strcmp(action, "init") && strcmp(action, "migrate") && strcmp(action, "status"))
		return st_cli_usage_error(&cli, "unknown action '%s'", action);
	c = st_db_connect(dsn, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "sealtrace db: %s\n", err);
		return ST_EXIT_RUNTIME;
	}
	rc = run_action(c, action);
	PQfinish(c);
	return rc;
}
