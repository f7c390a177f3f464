/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Model fingerprints: which opened files are model artifacts (globs), and
 * hashing them off the capture loop.
 *
 * A model file can be many GiB; hashing it inline would stall the ring
 * buffer consumer. The agent opens the file (through /proc/PID/root, while
 * the process is alive) and hands the fd to a worker thread; the result
 * comes back through st_model_hasher_take() on the agent's loop, which alone
 * writes records.
 */
#ifndef SEALTRACE_MODEL_H
#define SEALTRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_MODEL_PATH_MAX 4096

/* Default model_globs when the config gives none. */
extern const char *const st_default_model_globs[];
extern const size_t st_default_model_nglobs;

/* Any glob (fnmatch, on the basename) matches path's basename. */
bool st_model_glob_match(const char *const *globs, size_t n, const char *path);

/*
 * Ollama keeps every blob as blobs/sha256-<hex>: the weights, and also the
 * template, license and parameters. A file named so is a model only when
 * it is GGUF (its first bytes "GGUF"); st_model_content_ok says whether
 * the open file fd, named path, may be fingerprinted (any other name: yes).
 */
#define ST_MODEL_BLOB_PREFIX "sha256-"
bool st_model_content_ok(int fd, const char *path);

struct st_hash_job {
	int fd;			/* owned by the hasher once submitted */
	int pid;
	uint64_t tag;		/* the caller's (e.g. process generation) */
	char path[ST_MODEL_PATH_MAX];	/* as the process named it */
};

struct st_hash_result {
	int pid;
	uint64_t tag;
	char path[ST_MODEL_PATH_MAX];
	uint64_t size;
	char sha256[65];
	int error;		/* 0, or errno of the failed read */
};

struct st_model_hasher;

int st_model_hasher_start(struct st_model_hasher **out, char *err, size_t errlen);
/* Queue a job; the fd is closed by the hasher (also on failure). */
int st_model_hasher_submit(struct st_model_hasher *h, const struct st_hash_job *job);
/* Readable (poll) while a result waits to be taken. */
int st_model_hasher_fd(struct st_model_hasher *h);
/* 1 and a result, or 0 when none is ready. Never blocks. */
int st_model_hasher_take(struct st_model_hasher *h, struct st_hash_result *out);
/* Jobs submitted and not yet taken back. */
size_t st_model_hasher_pending(struct st_model_hasher *h);
/* Finish queued jobs, stop the thread; untaken results are dropped. */
void st_model_hasher_stop(struct st_model_hasher *h);

/* SHA-256 of everything readable from fd, as 64 hex digits; 0 or -errno. */
int st_sha256_fd(int fd, char hex[65], uint64_t *size);

#endif /* SEALTRACE_MODEL_H */
