// SPDX-License-Identifier: Apache-2.0
/* libpq connection helpers (see db.h). */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/fleet/db.h"

/* libpq's messages end with a newline; errors here are one line. */
static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

PGconn *st_db_connect(const char *dsn, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(dsn);

	if (!c) {
		st_errf(err, errlen, "database: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		st_errf(err, errlen, "database: %s", PQerrorMessage(c));
		chomp(err);
		PQfinish(c);
		return NULL;
	}
	/* every statement names its schema; nothing may resolve elsewhere */
	if (st_db_exec(c, "SET search_path = pg_catalog; SET TIME ZONE 'UTC';"
			"SET client_min_messages = warning", err, errlen)) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

const char *st_db_sqlstate(const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

int st_db_exec(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK ||
		       PQresultStatus(r) == PGRES_TUPLES_OK);

	if (!ok) {
		st_errf(err, errlen, "database: %s", PQerrorMessage(c));
		chomp(err);
	}
	PQclear(r);
	return ok ? 0 : -1;
}
