/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fleet verbs on the database (db.h): `sealtrace verify --db DSN` and
 * `sealtrace export --db DSN` (main.c hands a verify or export whose
 * arguments name --db to these).
 */
#ifndef SEALTRACE_DBVERIFY_H
#define SEALTRACE_DBVERIFY_H

int st_verify_db_main(int argc, char **argv);
int st_export_db_main(int argc, char **argv);

#endif /* SEALTRACE_DBVERIFY_H */
