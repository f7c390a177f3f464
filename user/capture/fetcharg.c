// SPDX-License-Identifier: Apache-2.0
/*
 * Fetch-arg parser: the kernel's uprobe fetch-arg notation (see
 * Documentation/trace/uprobetracer.rst) compiled into struct st_fetch.
 *
 * Grammar (no whitespace anywhere):
 *	arg   := expr [ ':' type ]
 *	expr  := '%' REG | '$' ALIAS | '$' NUM | NUM | deref
 *	deref := [ '+' | '-' ] [ 'u' ] NUM '(' expr ')'	(sign needed before 'u')
 *	NUM   := decimal | 0x hex
 *
 * Errors quote the whole text and give the 1-based column of the
 * offending character, because the text usually comes from a config file
 * line that holds several of them.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sealtrace/capture/fetcharg.h"

struct reg_name {
	const char *name;	/* canonical, as perf probe writes it */
	const char *lname;	/* the 64-bit long form, NULL when the same */
};

static const struct reg_name reg_names[ST_REG_COUNT] = {
	[ST_REG_DI] = { "di", "rdi" },
	[ST_REG_SI] = { "si", "rsi" },
	[ST_REG_DX] = { "dx", "rdx" },
	[ST_REG_CX] = { "cx", "rcx" },
	[ST_REG_R8] = { "r8", NULL },
	[ST_REG_R9] = { "r9", NULL },
	[ST_REG_AX] = { "ax", "rax" },
	[ST_REG_SP] = { "sp", "rsp" },
	[ST_REG_BP] = { "bp", "rbp" },
	[ST_REG_BX] = { "bx", "rbx" },
	[ST_REG_R10] = { "r10", NULL },
	[ST_REG_R11] = { "r11", NULL },
	[ST_REG_R12] = { "r12", NULL },
	[ST_REG_R13] = { "r13", NULL },
	[ST_REG_R14] = { "r14", NULL },
	[ST_REG_R15] = { "r15", NULL },
	[ST_REG_IP] = { "ip", "rip" },
};

/* SysV x86-64: the first six integer arguments. */
static const enum st_reg arg_regs[] = {
	ST_REG_DI, ST_REG_SI, ST_REG_DX, ST_REG_CX, ST_REG_R8, ST_REG_R9,
};

struct type_name {
	const char *name;
	enum st_ftype type;
};

/* The x* (hex display) and ustring spellings only change how the kernel prints. */
static const struct type_name type_names[] = {
	{ "u8", ST_FT_U8 },	{ "u16", ST_FT_U16 },	{ "u32", ST_FT_U32 },
	{ "u64", ST_FT_U64 },	{ "s8", ST_FT_S8 },	{ "s16", ST_FT_S16 },
	{ "s32", ST_FT_S32 },	{ "s64", ST_FT_S64 },	{ "x8", ST_FT_U8 },
	{ "x16", ST_FT_U16 },	{ "x32", ST_FT_U32 },	{ "x64", ST_FT_U64 },
	{ "string", ST_FT_STRING }, { "ustring", ST_FT_STRING },
};

/* Canonical names, indexed by enum st_ftype. */
static const char *const type_canon[] = {
	[ST_FT_U64] = "u64", [ST_FT_U8] = "u8",	  [ST_FT_U16] = "u16",
	[ST_FT_U32] = "u32", [ST_FT_S8] = "s8",	  [ST_FT_S16] = "s16",
	[ST_FT_S32] = "s32", [ST_FT_S64] = "s64", [ST_FT_STRING] = "string",
};

struct parser {
	const char *text;
	const char *p;
	char *err;
	size_t errlen;
	unsigned int nreads;	/* memory reads seen so far (textual) */
	int32_t offs[ST_MAX_DEREF];	/* innermost first */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EXPECTED_EXPR \
	"expected %REG, $arg1..$arg6, $retval, $stack, OFFS(...) or a number"

/*
 * "WHAT at column N in 'TEXT'[; HINT]": the hint goes last so that the
 * position stays next to what is wrong.
 */
static int vfail(struct parser *ps, const char *at, const char *hint,
		 const char *fmt, va_list ap)
{
	char what[160];

	vsnprintf(what, sizeof(what), fmt, ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s at column %d in '%s'%s%s", what,
			 (int)(at - ps->text) + 1, ps->text, hint ? "; " : "",
			 hint ? hint : "");
	return -1;
}

__attribute__((format(printf, 3, 4)))
static int fail_at(struct parser *ps, const char *at, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(ps, at, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

__attribute__((format(printf, 4, 5)))
static int fail_hint(struct parser *ps, const char *at, const char *hint,
		     const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vfail(ps, at, hint, fmt, ap);
	va_end(ap);
	return ret;
}

static size_t token_len(const char *s)
{
	size_t n = 0;

	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

static int lookup_reg(const char *s, size_t n)
{
	int i;

	for (i = 0; i < ST_REG_COUNT; i++) {
		const struct reg_name *r = &reg_names[i];

		if (strlen(r->name) == n && !strncmp(r->name, s, n))
			return i;
		if (r->lname && strlen(r->lname) == n && !strncmp(r->lname, s, n))
			return i;
	}
	return -1;
}

/*
 * Unsigned decimal or 0x hex at ps->p; advances past it. Leading zeros are
 * refused because the kernel (kstrtol base 0) would read them as octal.
 */
static int parse_num(struct parser *ps, uint64_t *out)
{
	const char *start = ps->p, *s = ps->p;
	unsigned int base = 10;
	uint64_t v = 0;
	size_t n;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	n = token_len(s);
	if (!n)
		return fail_at(ps, start, "invalid number '%.*s'",
			       (int)(s - start), start);
	if (base == 10 && n > 1 && s[0] == '0')
		return fail_hint(ps, start, "octal is not supported; use 0x for hex",
				 "leading zero in '%.*s'", (int)n, start);
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], d;

		if (isdigit(c))
			d = c - '0';
		else if (base == 16 && isxdigit(c))
			d = tolower(c) - 'a' + 10;
		else
			return fail_at(ps, start, "invalid number '%.*s'",
				       (int)(s + n - start), start);
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return fail_at(ps, start, "number '%.*s' does not fit in 64 bits",
				       (int)(s + n - start), start);
		v = v * base + (uint64_t)d;
	}
	ps->p = s + n;
	*out = v;
	return 0;
}

static int parse_expr(struct parser *ps, struct st_fetch *f);

static int parse_reg(struct parser *ps, struct st_fetch *f)
{
	const char *start = ps->p;
	size_t n = token_len(start + 1);
	int reg;

	if (!n)
		return fail_at(ps, start, "missing register name after '%%'");
	reg = lookup_reg(start + 1, n);
	if (reg < 0)
		return fail_at(ps, start, "unknown register '%.*s'", (int)n + 1, start);
	f->base = ST_FETCH_REG;
	f->reg = (uint8_t)reg;
	ps->p = start + 1 + n;
	return 0;
}

/* $argN, $retval, $stack, or a $constant. */
static int parse_dollar(struct parser *ps, struct st_fetch *f)
{
	const char *start = ps->p, *name = start + 1;
	size_t n = token_len(name);

	if (isdigit((unsigned char)*name)) {
		uint64_t v;

		ps->p = name;
		if (parse_num(ps, &v))
			return -1;
		f->base = ST_FETCH_IMM;
		f->imm = v;
		return 0;
	}
	if (!n)
		return fail_at(ps, start, "missing name after '$'");
	ps->p = name + n;
	f->base = ST_FETCH_REG;
	if (n == 4 && !strncmp(name, "arg", 3) && name[3] >= '1' &&
	    name[3] <= '6') {
		f->reg = arg_regs[name[3] - '1'];
		return 0;
	}
	if (n == 6 && !strncmp(name, "retval", 6)) {
		f->reg = ST_REG_AX;
		return 0;
	}
	if (n == 5 && !strncmp(name, "stack", 5)) {
		f->reg = ST_REG_SP;
		return 0;
	}
	if (n > 3 && !strncmp(name, "arg", 3))
		return fail_hint(ps, start, "only $arg1..$arg6 are in registers; later integer arguments are on the stack at entry: +8(%sp), +16(%sp), ...",
				 "unknown alias '%.*s'", (int)n + 1, start);
	return fail_hint(ps, start, "expected $arg1..$arg6, $retval, $stack or $NUMBER",
			 "unknown alias '%.*s'", (int)n + 1, start);
}

/* OFFS(expr): ps->p is at the sign or first digit. */
static int parse_deref(struct parser *ps, struct st_fetch *f, const char *start,
		       int neg, uint64_t mag)
{
	const char *open = ps->p;

	if (ps->nreads >= ST_MAX_DEREF)
		return fail_at(ps, start, "more than %d nested memory reads",
			       ST_MAX_DEREF);
	if (neg ? mag > (uint64_t)INT32_MAX + 1 : mag > INT32_MAX)
		return fail_at(ps, start, "offset '%.*s' does not fit in 32 bits",
			       (int)(open - start), start);
	ps->nreads++;
	ps->p++;	/* '(' */
	if (*ps->p == ')')
		return fail_at(ps, ps->p, "empty '()'");
	if (*ps->p == '\0')
		return fail_at(ps, ps->p, "missing expression and ')' after '('");
	if (parse_expr(ps, f))
		return -1;
	if (*ps->p != ')') {
		if (*ps->p == '\0')
			return fail_at(ps, open, "unbalanced '(': missing ')'");
		if (*ps->p == ':')
			return fail_hint(ps, ps->p, "it goes at the end",
					 "type suffix inside '()'");
		return fail_at(ps, ps->p, "unexpected '%c', expected ')'", *ps->p);
	}
	ps->p++;
	/* Reads are recorded innermost first: the inner expr returned first. */
	ps->offs[f->nderef++] = neg ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
	return 0;
}

/* [+|-][u]NUM followed by '(' (a read) or, unsigned and alone, a constant. */
static int parse_offset_or_const(struct parser *ps, struct st_fetch *f)
{
	const char *start = ps->p;
	int neg = 0, sign = 0;
	uint64_t v;

	if (*ps->p == '+' || *ps->p == '-') {
		neg = *ps->p == '-';
		sign = 1;
		ps->p++;
		/* The kernel's "+u8(...)": a user-space read, which all ours are. */
		if (*ps->p == 'u' && isdigit((unsigned char)ps->p[1]))
			ps->p++;
		if (!isdigit((unsigned char)*ps->p))
			return fail_at(ps, start, "missing offset after '%c'", *start);
	}
	if (parse_num(ps, &v))
		return -1;
	if (*ps->p == '(')
		return parse_deref(ps, f, start, neg, v);
	if (sign)
		return fail_at(ps, ps->p, "expected '(' after offset '%.*s'",
			       (int)(ps->p - start), start);
	f->base = ST_FETCH_IMM;
	f->imm = v;
	return 0;
}

static int parse_expr(struct parser *ps, struct st_fetch *f)
{
	const char *s = ps->p;
	size_t n;

	switch (*s) {
	case '%':
		return parse_reg(ps, f);
	case '$':
		return parse_dollar(ps, f);
	case '+':
	case '-':
		return parse_offset_or_const(ps, f);
	case '(':
		return fail_at(ps, s, "missing offset before '('");
	case ')':
		return fail_at(ps, s, "unbalanced ')'");
	case '\0':
		return fail_at(ps, s, "missing expression");
	}
	if (isdigit((unsigned char)*s))
		return parse_offset_or_const(ps, f);
	n = token_len(s);
	if (n && lookup_reg(s, n) >= 0)
		return fail_at(ps, s, "missing '%%' before register '%.*s'", (int)n, s);
	if (n)
		return fail_hint(ps, s, EXPECTED_EXPR, "unexpected '%.*s'", (int)n, s);
	return fail_hint(ps, s, EXPECTED_EXPR, "unexpected '%c'", *s);
}

static int parse_type(struct parser *ps, struct st_fetch *f)
{
	const char *colon = ps->p, *name = colon + 1;
	size_t i;

	if (!*name)
		return fail_at(ps, colon, "missing type after ':'");
	for (i = 0; i < ARRAY_SIZE(type_names); i++) {
		if (!strcmp(name, type_names[i].name)) {
			f->type = (uint8_t)type_names[i].type;
			ps->p = name + strlen(name);
			return 0;
		}
	}
	return fail_hint(ps, name, "expected u8, u16, u32, u64, s8..s64, x8..x64 or string",
			 "unknown type '%s'", name);
}

/*
 * :string names the string's address, not a value read from memory: the
 * outermost read is not done, its offset becomes add.
 */
static int apply_string(struct parser *ps, struct st_fetch *f, const char *colon)
{
	if (f->nderef == 0 && f->base == ST_FETCH_IMM)
		return fail_hint(ps, colon, "it needs a memory reference such as '+0($ADDR):string'",
				 "':string' on a constant");
	if (f->nderef == 0) {
		char hint[96];

		snprintf(hint, sizeof(hint), "write '+0(%%%s):string' for the string %%%s points to",
			 reg_names[f->reg].name, reg_names[f->reg].name);
		return fail_hint(ps, colon, hint, "':string' on a register needs a memory reference");
	}
	f->nderef--;
	f->add = ps->offs[f->nderef];
	ps->offs[f->nderef] = 0;
	return 0;
}

static int first_space(const char *s)
{
	int i;

	for (i = 0; s[i]; i++)
		if (isspace((unsigned char)s[i]))
			return i;
	return -1;
}

int st_fetcharg_parse(const char *text, struct st_fetch *out, char *err,
		      size_t errlen)
{
	struct parser ps = { .text = text, .p = text, .err = err, .errlen = errlen };
	struct st_fetch f;
	const char *colon = NULL;
	int sp;

	memset(&f, 0, sizeof(f));
	if (err && errlen)
		err[0] = '\0';
	if (!text || !*text) {
		if (err && errlen)
			snprintf(err, errlen, "empty fetch-arg");
		return -1;
	}
	sp = first_space(text);
	if (sp >= 0)
		return fail_at(&ps, text + sp, "whitespace not allowed");
	if (parse_expr(&ps, &f))
		return -1;
	if (*ps.p == ':') {
		colon = ps.p;
		if (parse_type(&ps, &f))
			return -1;
	}
	if (*ps.p == ')')
		return fail_at(&ps, ps.p, "unbalanced ')'");
	if (*ps.p)
		return fail_at(&ps, ps.p, "trailing garbage '%s'", ps.p);
	if (f.type == ST_FT_STRING && apply_string(&ps, &f, colon))
		return -1;
	memcpy(f.off, ps.offs, sizeof(f.off));
	*out = f;
	return 0;
}

/* Appends to buf at *pos like snprintf; remembers overflow in *pos > len. */
__attribute__((format(printf, 4, 5)))
static void put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < len ? buf + *pos : NULL, *pos < len ? len - *pos : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

static int valid_fetch(const struct st_fetch *f)
{
	if (f->base == ST_FETCH_REG && f->reg >= ST_REG_COUNT)
		return 0;
	if (f->base != ST_FETCH_REG && f->base != ST_FETCH_IMM)
		return 0;
	if (f->type > ST_FT_STRING)
		return 0;
	if (f->type == ST_FT_STRING)
		return f->nderef < ST_MAX_DEREF && f->add >= INT32_MIN &&
		       f->add <= INT32_MAX;
	return f->nderef <= ST_MAX_DEREF && f->add == 0;
}

/*
 * Canonical form: short register names, signed decimal offsets, "$N" for
 * constants, no type suffix for u64. Returns the length written, or -1
 * when f is not something the parser produces or buf is too small.
 */
int st_fetcharg_format(const struct st_fetch *f, char *buf, size_t len)
{
	int64_t offs[ST_MAX_DEREF + 1];	/* outermost first */
	unsigned int n = 0, i;
	size_t pos = 0;

	if (!f || !buf || !len || !valid_fetch(f))
		return -1;
	if (f->type == ST_FT_STRING)
		offs[n++] = f->add;
	for (i = f->nderef; i > 0; i--)
		offs[n++] = f->off[i - 1];
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		put(buf, len, &pos, "%+" PRId64 "(", offs[i]);
	if (f->base == ST_FETCH_REG)
		put(buf, len, &pos, "%%%s", reg_names[f->reg].name);
	else
		put(buf, len, &pos, "$%" PRIu64, (uint64_t)f->imm);
	for (i = 0; i < n; i++)
		put(buf, len, &pos, ")");
	if (f->type != ST_FT_U64)
		put(buf, len, &pos, ":%s", type_canon[f->type]);
	if (pos >= len)
		return -1;
	return (int)pos;
}

int st_fetcharg_uses_retval(const struct st_fetch *f)
{
	return f && f->base == ST_FETCH_REG && f->reg == ST_REG_AX;
}
