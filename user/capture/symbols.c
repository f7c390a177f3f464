// SPDX-License-Identifier: Apache-2.0
/* Symbols: ELF symbol and offset resolution for probe placement. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sealtrace/capture/symbols.h"

static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

struct elf_file {
	int fd;
	Elf *elf;
};

static int elf_open(const char *path, struct elf_file *ef, char *err, size_t errlen)
{
	ef->elf = NULL;
	ef->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ef->fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf: %s", elf_errmsg(-1));
		close(ef->fd);
		return -1;
	}
	ef->elf = elf_begin(ef->fd, ELF_C_READ, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		if (ef->elf)
			elf_end(ef->elf);
		close(ef->fd);
		return -1;
	}
	return 0;
}

static void elf_close(struct elf_file *ef)
{
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
}

/* Virtual address to file offset through the PT_LOAD segment holding it. */
static int vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -1;
}

/* The offset must lie in an executable PT_LOAD segment's file bytes. */
static bool offset_is_code(Elf *elf, uint64_t off)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if ((ph.p_flags & PF_X) && off >= ph.p_offset &&
		    off < ph.p_offset + ph.p_filesz)
			return true;
	}
	return false;
}

struct sym_match {
	uint64_t vaddr;
	uint64_t size;
	int found;		/* candidates seen */
	bool global;
	bool conflict;		/* two global definitions at different addresses */
};

static void consider(struct sym_match *m, const GElf_Sym *sym)
{
	bool global = GELF_ST_BIND(sym->st_info) != STB_LOCAL;

	if (m->found && m->vaddr == sym->st_value)
		return;
	if (m->found && m->global && global) {
		m->conflict = true;
		return;
	}
	/* a global definition wins over file-local ones of the same name */
	if (!m->found || (global && !m->global)) {
		m->vaddr = sym->st_value;
		m->size = sym->st_size;
		m->global = global;
	}
	m->found++;
}

static void scan_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, const char *name,
			struct sym_match *m)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n;
	GElf_Sym sym;
	const char *s;
	int type;

	if (!data || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		if (!gelf_getsym(data, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		s = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (s && !strcmp(s, name))
			consider(m, &sym);
	}
}

static int find_symbol(Elf *elf, const char *name, struct sym_match *m,
		       bool *has_symtab)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	memset(m, 0, sizeof(*m));
	*has_symtab = false;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			*has_symtab = true;
		scan_symtab(elf, scn, &sh, name, m);
	}
	return m->found ? 0 : -1;
}

static int place(struct elf_file *ef, const char *path, uint64_t off, bool skip_endbr,
		 struct st_symbol *out, char *err, size_t errlen)
{
	unsigned char insn[4];

	out->func_offset = off;
	out->attach_offset = off;
	out->endbr_skipped = false;
	if (pread(ef->fd, insn, sizeof(insn), (off_t)off) != sizeof(insn)) {
		snprintf(err, errlen, "%s: cannot read code at offset 0x%llx", path,
			 (unsigned long long)off);
		return -1;
	}
	if (skip_endbr && !memcmp(insn, endbr64, sizeof(endbr64))) {
		out->attach_offset = off + sizeof(endbr64);
		out->endbr_skipped = true;
	}
	return 0;
}

int st_symbol_resolve(const char *path, const char *symbol, bool skip_endbr,
		      struct st_symbol *out, char *err, size_t errlen)
{
	struct elf_file ef;
	struct sym_match m;
	bool has_symtab;
	uint64_t off;
	int ret = -1;

	if (elf_open(path, &ef, err, errlen))
		return -1;
	if (find_symbol(ef.elf, symbol, &m, &has_symtab)) {
		snprintf(err, errlen, "%s: symbol '%s' not found in .symtab or .dynsym%s",
			 path, symbol,
			 has_symtab ? "" : " (the file is stripped: give 'offset:' instead)");
		goto out;
	}
	if (m.conflict) {
		snprintf(err, errlen, "%s: symbol '%s' is defined more than once; give 'offset:'",
			 path, symbol);
		goto out;
	}
	if (vaddr_to_offset(ef.elf, m.vaddr, &off)) {
		snprintf(err, errlen, "%s: symbol '%s' at 0x%llx is outside every loadable segment",
			 path, symbol, (unsigned long long)m.vaddr);
		goto out;
	}
	out->size = m.size;
	ret = place(&ef, path, off, skip_endbr, out, err, errlen);
out:
	elf_close(&ef);
	return ret;
}

int st_symbol_at_offset(const char *path, uint64_t offset, bool skip_endbr,
			struct st_symbol *out, char *err, size_t errlen)
{
	struct elf_file ef;
	int ret = -1;

	if (elf_open(path, &ef, err, errlen))
		return -1;
	if (!offset_is_code(ef.elf, offset)) {
		snprintf(err, errlen, "%s: offset 0x%llx is not in an executable segment",
			 path, (unsigned long long)offset);
		goto out;
	}
	out->size = 0;
	ret = place(&ef, path, offset, skip_endbr, out, err, errlen);
out:
	elf_close(&ef);
	return ret;
}

int st_elf_build_id(const char *path, char *hex, size_t len, char *err, size_t errlen)
{
	struct elf_file ef;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Nhdr nh;
	size_t off, name_off, desc_off, i;
	Elf_Data *data;

	hex[0] = '\0';
	if (elf_open(path, &ef, err, errlen))
		return -1;
	while ((scn = elf_nextscn(ef.elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		off = 0;
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)data->d_buf + name_off, "GNU", 4))
				continue;
			for (i = 0; i < nh.n_descsz && 2 * i + 2 < len; i++)
				snprintf(hex + 2 * i, 3, "%02x",
					 ((unsigned char *)data->d_buf)[desc_off + i]);
			elf_close(&ef);
			return 0;
		}
	}
	elf_close(&ef);
	return 0;
}

int st_file_sha256(const char *path, char hex[65], uint64_t *size, char *err,
		   size_t errlen)
{
	unsigned char buf[65536], md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	uint64_t total = 0;
	ssize_t n;
	int fd, i, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "%s: sha256 init failed", path);
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (n < 0) {
		snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
		goto out;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (size)
		*size = total;
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
}
