/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Symbols: where in an ELF file a probe goes. Resolves a symbol (from
 * .symtab or .dynsym; C++ names in their mangled form) or checks an
 * explicit file offset, and decides the attach point: a function that
 * starts with endbr64 is probed at +4, because a uprobe on endbr64 is
 * single-stepped (23-32 us a hit here) while the next instruction is
 * usually emulated or skipped (0.3-1 us).
 */
#ifndef SEALTRACE_SYMBOLS_H
#define SEALTRACE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct st_symbol {
	uint64_t func_offset;	/* file offset of the function (symbol or given) */
	uint64_t attach_offset;	/* where the uprobe goes: func_offset, or +4 */
	uint64_t size;		/* symbol size, 0 if unknown */
	bool endbr_skipped;	/* the function starts with endbr64 */
};

/* Resolve symbol in path. Errors name the file and the symbol. */
int st_symbol_resolve(const char *path, const char *symbol, bool skip_endbr,
		      struct st_symbol *out, char *err, size_t errlen);

/* Same for an explicit file offset (stripped binaries). */
int st_symbol_at_offset(const char *path, uint64_t offset, bool skip_endbr,
			struct st_symbol *out, char *err, size_t errlen);

/* GNU build-id as hex ("" when the file has none). */
int st_elf_build_id(const char *path, char *hex, size_t len, char *err,
		    size_t errlen);

/* SHA-256 of a whole file, as 64 hex digits. */
int st_file_sha256(const char *path, char hex[65], uint64_t *size, char *err,
		   size_t errlen);

#endif /* SEALTRACE_SYMBOLS_H */
