/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PostgreSQL, through libpq: connections and the versioned schema the
 * fleet verbs (db, ship, witness, verify --db, export --db) share.
 *
 * A DSN is a libpq connection string or URI ("host=db.example
 * dbname=audit user=node1 sslmode=verify-full sslrootcert=ca.pem"); the
 * PG* environment variables fill in what it leaves out, as for psql.
 */
#ifndef SEALTRACE_DB_H
#define SEALTRACE_DB_H

#include <stddef.h>

#include <libpq-fe.h>

/* Connect; NULL with "what: libpq's message" in err. */
PGconn *st_db_connect(const char *dsn, char *err, size_t errlen);
/* Run SQL that returns no rows (several statements allowed). 0 or -1. */
int st_db_exec(PGconn *c, const char *sql, char *err, size_t errlen);
/* The SQLSTATE of a failed result ("" when none). */
const char *st_db_sqlstate(const PGresult *r);

/* The schema's version in the database: 0 when none is installed. */
int st_db_schema_version(PGconn *c, int *version, char *err, size_t errlen);
/* The version this sealtrace installs. */
int st_db_schema_latest(void);
/*
 * Install (init) or bring up to date (migrate) the schema, each version
 * in its own transaction under an advisory lock, so two migrators cannot
 * interleave. from and to say what was done. A database newer than this
 * sealtrace is refused (-1).
 */
int st_db_migrate(PGconn *c, int *from, int *to, char *err, size_t errlen);

#endif /* SEALTRACE_DB_H */
