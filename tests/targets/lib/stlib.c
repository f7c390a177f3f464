// SPDX-License-Identifier: Apache-2.0
/*
 * libstlib.so: a shared library with one probed function, loaded at run time
 * by tests/targets/dlload.c like an inference engine (libllama.so) is: the
 * e2e tests name it by `path:` and expect it to be discovered when loaded.
 */
#include <stddef.h>
#include <stdint.h>

/* noipa: called under its own name (no clones), never inlined */
__attribute__((noipa, visibility("default")))
int st_lib_predict(const char *in, size_t n, uint8_t *out)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)in[i]) * 0x100000001b3ull;
	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(h >> (8 * i));
	return 8;
}
