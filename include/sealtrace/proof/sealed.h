/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reading verbs and sealed segments (log/seal.h): --data-key FILE,
 * and one clear message before a scan when a key is missing.
 */
#ifndef SEALTRACE_SEALED_H
#define SEALTRACE_SEALED_H

/* Install FILE's data keys; on failure prints "sealtrace VERB: ..." and
 * returns -1 (a usage error). */
int st_cli_data_key(const char *verb, const char *path);
/*
 * 0 when every segment of state_dir can be opened with the installed
 * keys; else prints which segment needs which key and how to give it,
 * and returns ST_EXIT_USAGE (ST_EXIT_RUNTIME on an I/O error).
 */
int st_cli_data_key_missing(const char *verb, const char *state_dir);

#endif /* SEALTRACE_SEALED_H */
