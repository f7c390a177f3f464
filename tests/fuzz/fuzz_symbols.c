// SPDX-License-Identifier: Apache-2.0
/*
 * ELF files as the agent reads them (capture/symbols.c): a process whose
 * executable or library matches a target's name may be anybody's, so its
 * file is untrusted input to a privileged agent. Symbol lookup by name
 * (.symtab, .dynsym), an explicit offset, and the GNU build-id, on
 * arbitrary bytes (seeds: small real ELF files). A refusal must say why.
 */
#include "fuzz.h"

#include "sealtrace/capture/symbols.h"

static void check_refusal(int rc, const char *err)
{
	if (rc && !err[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[128];
	struct st_symbol sym;
	char err[512], hex[129];
	uint64_t off = 0;
	int rc;

	if (!path[0])
		snprintf(path, sizeof(path), "%s/elf", fuzz_dir());
	fuzz_write(path, data, size);
	err[0] = '\0';
	rc = st_symbol_resolve(path, "st_predict", true, &sym, err, sizeof(err));
	check_refusal(rc, err);
	if (!rc && sym.attach_offset != sym.func_offset &&
	    sym.attach_offset != sym.func_offset + 4)
		abort();
	err[0] = '\0';
	check_refusal(st_symbol_resolve(path, "main", false, &sym, err, sizeof(err)), err);
	if (size >= 8)
		memcpy(&off, data + size - 8, sizeof(off));
	err[0] = '\0';
	check_refusal(st_symbol_at_offset(path, off % (size + 64), true, &sym, err,
					  sizeof(err)), err);
	err[0] = '\0';
	check_refusal(st_elf_build_id(path, hex, sizeof(hex), err, sizeof(err)), err);
	return 0;
}
