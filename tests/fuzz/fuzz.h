/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers for the libFuzzer harnesses (tests/fuzz/fuzz_*.c).
 *
 * Each harness feeds one parser of untrusted input the bytes libFuzzer
 * gives it. Parsers that read files (segments, resume files) get them in a
 * private temporary directory made once per process and removed at exit.
 */
#ifndef SEALTRACE_FUZZ_H
#define SEALTRACE_FUZZ_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 8032 test 1 key: tests/fuzz/corpus seeds are signed with it. */
static inline EVP_PKEY *fuzz_key(void)
{
	static const uint8_t sk[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
		0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
		0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
	};
	static EVP_PKEY *key;

	if (!key)
		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk,
						   sizeof(sk));
	if (!key)
		abort();
	return key;
}

static char fuzz_dir_path[64];

static inline void fuzz_dir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir_path);
	if (system(cmd))
		fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir_path);
}

/* A private directory for this process (created on first use). */
static inline const char *fuzz_dir(void)
{
	if (!fuzz_dir_path[0]) {
		snprintf(fuzz_dir_path, sizeof(fuzz_dir_path),
			 "/tmp/sealtrace-fuzz-XXXXXX");
		if (!mkdtemp(fuzz_dir_path))
			abort();
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir_path;
}

/* Replace path with data[0..size). */
static inline void fuzz_write(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
}

/* data as a NUL-terminated string (caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif /* SEALTRACE_FUZZ_H */
