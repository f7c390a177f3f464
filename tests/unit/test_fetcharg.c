// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the fetch-arg parser (user/capture/fetcharg.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sealtrace/capture/fetcharg.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct ok_case {
	const char *text;
	uint8_t base, reg, nderef, type;
	int32_t off[ST_MAX_DEREF];
	int64_t add;
	uint64_t imm;
	const char *canon;
};

#define R ST_FETCH_REG
#define I ST_FETCH_IMM

static const struct ok_case ok_cases[] = {
	/* registers */
	{ "%di", R, ST_REG_DI, 0, ST_FT_U64, { 0 }, 0, 0, "%di" },
	{ "%rdi", R, ST_REG_DI, 0, ST_FT_U64, { 0 }, 0, 0, "%di" },
	{ "%r15", R, ST_REG_R15, 0, ST_FT_U64, { 0 }, 0, 0, "%r15" },
	{ "%rip", R, ST_REG_IP, 0, ST_FT_U64, { 0 }, 0, 0, "%ip" },
	/* aliases */
	{ "$arg1", R, ST_REG_DI, 0, ST_FT_U64, { 0 }, 0, 0, "%di" },
	{ "$arg2", R, ST_REG_SI, 0, ST_FT_U64, { 0 }, 0, 0, "%si" },
	{ "$arg3", R, ST_REG_DX, 0, ST_FT_U64, { 0 }, 0, 0, "%dx" },
	{ "$arg4", R, ST_REG_CX, 0, ST_FT_U64, { 0 }, 0, 0, "%cx" },
	{ "$arg5", R, ST_REG_R8, 0, ST_FT_U64, { 0 }, 0, 0, "%r8" },
	{ "$arg6", R, ST_REG_R9, 0, ST_FT_U64, { 0 }, 0, 0, "%r9" },
	{ "$retval", R, ST_REG_AX, 0, ST_FT_U64, { 0 }, 0, 0, "%ax" },
	{ "$stack", R, ST_REG_SP, 0, ST_FT_U64, { 0 }, 0, 0, "%sp" },
	/* memory reads */
	{ "+16(%sp)", R, ST_REG_SP, 1, ST_FT_U64, { 16 }, 0, 0, "+16(%sp)" },
	{ "-8(%bp)", R, ST_REG_BP, 1, ST_FT_U64, { -8 }, 0, 0, "-8(%bp)" },
	{ "16(%sp)", R, ST_REG_SP, 1, ST_FT_U64, { 16 }, 0, 0, "+16(%sp)" },
	{ "0(%di)", R, ST_REG_DI, 1, ST_FT_U64, { 0 }, 0, 0, "+0(%di)" },
	{ "-0(%di)", R, ST_REG_DI, 1, ST_FT_U64, { 0 }, 0, 0, "+0(%di)" },
	{ "+0x10(%sp)", R, ST_REG_SP, 1, ST_FT_U64, { 16 }, 0, 0, "+16(%sp)" },
	{ "-0X1F(%rbp)", R, ST_REG_BP, 1, ST_FT_U64, { -31 }, 0, 0, "-31(%bp)" },
	{ "+u8(%di)", R, ST_REG_DI, 1, ST_FT_U64, { 8 }, 0, 0, "+8(%di)" },
	{ "-u8(%di)", R, ST_REG_DI, 1, ST_FT_U64, { -8 }, 0, 0, "-8(%di)" },
	{ "+8(+0(%di))", R, ST_REG_DI, 2, ST_FT_U64, { 0, 8 }, 0, 0, "+8(+0(%di))" },
	{ "+1(+2(+3(%r12)))", R, ST_REG_R12, 3, ST_FT_U64, { 3, 2, 1 }, 0, 0,
	  "+1(+2(+3(%r12)))" },
	{ "+8($arg1)", R, ST_REG_DI, 1, ST_FT_U64, { 8 }, 0, 0, "+8(%di)" },
	{ "+0($retval)", R, ST_REG_AX, 1, ST_FT_U64, { 0 }, 0, 0, "+0(%ax)" },
	{ "+2147483647(%sp)", R, ST_REG_SP, 1, ST_FT_U64, { INT32_MAX }, 0, 0,
	  "+2147483647(%sp)" },
	{ "-2147483648(%sp)", R, ST_REG_SP, 1, ST_FT_U64, { INT32_MIN }, 0, 0,
	  "-2147483648(%sp)" },
	{ "-0x80000000(%sp)", R, ST_REG_SP, 1, ST_FT_U64, { INT32_MIN }, 0, 0,
	  "-2147483648(%sp)" },
	/* types */
	{ "%si:u8", R, ST_REG_SI, 0, ST_FT_U8, { 0 }, 0, 0, "%si:u8" },
	{ "%si:u16", R, ST_REG_SI, 0, ST_FT_U16, { 0 }, 0, 0, "%si:u16" },
	{ "%si:u32", R, ST_REG_SI, 0, ST_FT_U32, { 0 }, 0, 0, "%si:u32" },
	{ "%si:u64", R, ST_REG_SI, 0, ST_FT_U64, { 0 }, 0, 0, "%si" },
	{ "%si:s8", R, ST_REG_SI, 0, ST_FT_S8, { 0 }, 0, 0, "%si:s8" },
	{ "%si:s16", R, ST_REG_SI, 0, ST_FT_S16, { 0 }, 0, 0, "%si:s16" },
	{ "%si:s32", R, ST_REG_SI, 0, ST_FT_S32, { 0 }, 0, 0, "%si:s32" },
	{ "%si:s64", R, ST_REG_SI, 0, ST_FT_S64, { 0 }, 0, 0, "%si:s64" },
	{ "%si:x8", R, ST_REG_SI, 0, ST_FT_U8, { 0 }, 0, 0, "%si:u8" },
	{ "%si:x16", R, ST_REG_SI, 0, ST_FT_U16, { 0 }, 0, 0, "%si:u16" },
	{ "%si:x32", R, ST_REG_SI, 0, ST_FT_U32, { 0 }, 0, 0, "%si:u32" },
	{ "%si:x64", R, ST_REG_SI, 0, ST_FT_U64, { 0 }, 0, 0, "%si" },
	{ "+8(%sp):s32", R, ST_REG_SP, 1, ST_FT_S32, { 8 }, 0, 0, "+8(%sp):s32" },
	{ "%dx:s32", R, ST_REG_DX, 0, ST_FT_S32, { 0 }, 0, 0, "%dx:s32" },
	/* strings: the outermost read becomes add */
	{ "+0(%si):string", R, ST_REG_SI, 0, ST_FT_STRING, { 0 }, 0, 0,
	  "+0(%si):string" },
	{ "+0(%di):ustring", R, ST_REG_DI, 0, ST_FT_STRING, { 0 }, 0, 0,
	  "+0(%di):string" },
	{ "-4(%bp):string", R, ST_REG_BP, 0, ST_FT_STRING, { 0 }, -4, 0,
	  "-4(%bp):string" },
	{ "+8(+0(%di)):string", R, ST_REG_DI, 1, ST_FT_STRING, { 0 }, 8, 0,
	  "+8(+0(%di)):string" },
	{ "+1(+2(+3(%di))):string", R, ST_REG_DI, 2, ST_FT_STRING, { 3, 2 }, 1, 0,
	  "+1(+2(+3(%di))):string" },
	{ "+16($arg1):string", R, ST_REG_DI, 0, ST_FT_STRING, { 0 }, 16, 0,
	  "+16(%di):string" },
	/* constants */
	{ "123", I, 0, 0, ST_FT_U64, { 0 }, 0, 123, "$123" },
	{ "0", I, 0, 0, ST_FT_U64, { 0 }, 0, 0, "$0" },
	{ "0x40", I, 0, 0, ST_FT_U64, { 0 }, 0, 64, "$64" },
	{ "0XfF", I, 0, 0, ST_FT_U64, { 0 }, 0, 255, "$255" },
	{ "$123", I, 0, 0, ST_FT_U64, { 0 }, 0, 123, "$123" },
	{ "$0x40", I, 0, 0, ST_FT_U64, { 0 }, 0, 64, "$64" },
	{ "18446744073709551615", I, 0, 0, ST_FT_U64, { 0 }, 0, UINT64_MAX,
	  "$18446744073709551615" },
	{ "$0xffffffffffffffff", I, 0, 0, ST_FT_U64, { 0 }, 0, UINT64_MAX,
	  "$18446744073709551615" },
	{ "123:u32", I, 0, 0, ST_FT_U32, { 0 }, 0, 123, "$123:u32" },
	{ "+8($4096)", I, 0, 1, ST_FT_U64, { 8 }, 0, 4096, "+8($4096)" },
	{ "+0($0x1000):string", I, 0, 0, ST_FT_STRING, { 0 }, 0, 4096,
	  "+0($4096):string" },
};

static void check_ok(const struct ok_case *c)
{
	struct st_fetch f, g;
	char err[256] = "untouched", buf[128];
	int n;

	memset(&f, 0xa5, sizeof(f));
	if (st_fetcharg_parse(c->text, &f, err, sizeof(err))) {
		print_error("'%s' failed: %s\n", c->text, err);
		fail();
	}
	assert_string_equal(err, "");
	assert_int_equal(f.base, c->base);
	if (c->base == ST_FETCH_REG)
		assert_int_equal(f.reg, c->reg);
	else
		assert_int_equal(f.reg, 0);
	assert_int_equal(f.nderef, c->nderef);
	assert_int_equal(f.type, c->type);
	for (int i = 0; i < ST_MAX_DEREF; i++)
		assert_int_equal(f.off[i], c->off[i]);
	assert_true(f.add == c->add);
	assert_true(f.imm == c->imm);

	/* format renders the canonical text, which parses to the same thing */
	n = st_fetcharg_format(&f, buf, sizeof(buf));
	assert_string_equal(buf, c->canon);
	assert_int_equal(n, (int)strlen(c->canon));
	memset(&g, 0x5a, sizeof(g));
	assert_int_equal(st_fetcharg_parse(buf, &g, err, sizeof(err)), 0);
	assert_memory_equal(&f, &g, sizeof(f));
}

static void test_valid_forms(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(ok_cases); i++)
		check_ok(&ok_cases[i]);
}

/* Every register, short and long spelling. */
static void test_all_registers(void **state)
{
	static const char *const names[ST_REG_COUNT][2] = {
		[ST_REG_DI] = { "di", "rdi" },	 [ST_REG_SI] = { "si", "rsi" },
		[ST_REG_DX] = { "dx", "rdx" },	 [ST_REG_CX] = { "cx", "rcx" },
		[ST_REG_R8] = { "r8", "r8" },	 [ST_REG_R9] = { "r9", "r9" },
		[ST_REG_AX] = { "ax", "rax" },	 [ST_REG_SP] = { "sp", "rsp" },
		[ST_REG_BP] = { "bp", "rbp" },	 [ST_REG_BX] = { "bx", "rbx" },
		[ST_REG_R10] = { "r10", "r10" }, [ST_REG_R11] = { "r11", "r11" },
		[ST_REG_R12] = { "r12", "r12" }, [ST_REG_R13] = { "r13", "r13" },
		[ST_REG_R14] = { "r14", "r14" }, [ST_REG_R15] = { "r15", "r15" },
		[ST_REG_IP] = { "ip", "rip" },
	};
	char text[32], canon[32], buf[32], err[256];
	struct st_fetch f;

	for (int r = 0; r < ST_REG_COUNT; r++) {
		for (int form = 0; form < 2; form++) {
			snprintf(text, sizeof(text), "-24(%%%s):u16", names[r][form]);
			snprintf(canon, sizeof(canon), "-24(%%%s):u16", names[r][0]);
			assert_int_equal(st_fetcharg_parse(text, &f, err, sizeof(err)), 0);
			assert_int_equal(f.base, ST_FETCH_REG);
			assert_int_equal(f.reg, r);
			assert_int_equal(f.nderef, 1);
			assert_int_equal(f.off[0], -24);
			assert_int_equal(f.type, ST_FT_U16);
			assert_true(st_fetcharg_format(&f, buf, sizeof(buf)) > 0);
			assert_string_equal(buf, canon);
		}
	}
}

struct bad_case {
	const char *text;
	const char *msg;	/* expected substring of the error */
};

static const struct bad_case bad_cases[] = {
	{ "", "empty fetch-arg" },
	/* registers */
	{ "%zz", "unknown register '%zz' at column 1 in '%zz'" },
	{ "+8(%zz)", "unknown register '%zz' at column 4 in '+8(%zz)'" },
	{ "%", "missing register name after '%' at column 1" },
	{ "+8(%)", "missing register name after '%' at column 4" },
	{ "%DI", "unknown register '%DI' at column 1" },
	{ "%eax", "unknown register '%eax' at column 1" },
	{ "%r16", "unknown register '%r16' at column 1" },
	{ "%dix", "unknown register '%dix' at column 1" },
	{ "%flags", "unknown register '%flags'" },
	{ "di", "missing '%' before register 'di' at column 1" },
	{ "rsi", "missing '%' before register 'rsi' at column 1" },
	{ "+8(di)", "missing '%' before register 'di' at column 4" },
	{ "foo", "unexpected 'foo' at column 1 in 'foo'; expected %REG, $arg1..$arg6, $retval, $stack, OFFS(...) or a number" },
	{ "@sym", "unexpected '@' at column 1 in '@sym'; expected %REG" },
	{ "+8(@x)", "unexpected '@' at column 4" },
	/* aliases */
	{ "$arg7", "unknown alias '$arg7' at column 1 in '$arg7'; only $arg1..$arg6 are in registers; later integer arguments are on the stack at entry: +8(%sp)" },
	{ "$arg0", "unknown alias '$arg0'" },
	{ "$arg", "unknown alias '$arg' at column 1 in '$arg'; expected $arg1..$arg6, $retval, $stack or $NUMBER" },
	{ "$arg1x", "unknown alias '$arg1x'" },
	{ "$retvalue", "unknown alias '$retvalue'" },
	{ "$stack0", "unknown alias '$stack0'" },
	{ "$comm", "unknown alias '$comm'" },
	{ "$", "missing name after '$' at column 1" },
	{ "$-1", "missing name after '$' at column 1" },
	{ "+8($foo)", "unknown alias '$foo' at column 4 in '+8($foo)'; expected $arg1..$arg6, $retval, $stack or $NUMBER" },
	/* parentheses */
	{ "+8(%di", "unbalanced '(': missing ')' at column 3 in '+8(%di'" },
	{ "+8(+0(%di)", "unbalanced '(': missing ')' at column 3" },
	{ "%di)", "unbalanced ')' at column 4" },
	{ "+8(%di))", "unbalanced ')' at column 8" },
	{ ")", "unbalanced ')' at column 1" },
	{ "+8())", "empty '()' at column 4" },
	{ "(%di)", "missing offset before '(' at column 1" },
	{ "+8((%di))", "missing offset before '(' at column 4" },
	{ "+(%di)", "missing offset after '+' at column 1" },
	{ "-(%di)", "missing offset after '-' at column 1" },
	{ "+u(%di)", "missing offset after '+' at column 1" },
	{ "+", "missing offset after '+' at column 1" },
	{ "+8%di", "expected '(' after offset '+8' at column 3" },
	{ "-8", "expected '(' after offset '-8' at column 3" },
	{ "+8", "expected '(' after offset '+8' at column 3" },
	{ "+8()", "empty '()' at column 4" },
	{ "+8(", "missing expression and ')' after '(' at column 4" },
	{ "+8(%di%si)", "unexpected '%', expected ')' at column 7" },
	{ "+8(%di,%si)", "unexpected ',', expected ')' at column 7" },
	/* trailing garbage */
	{ "%di,%si", "trailing garbage ',%si' at column 4" },
	{ "%di(%si)", "trailing garbage '(%si)' at column 4" },
	{ "+8(%di)x", "trailing garbage 'x' at column 8" },
	{ "$arg1+8", "trailing garbage '+8' at column 6" },
	{ "%di\xc3\xa9", "trailing garbage '\xc3\xa9' at column 4" },
	/* numbers and offsets */
	{ "12ab", "invalid number '12ab' at column 1" },
	{ "0x", "invalid number '0x' at column 1" },
	{ "0xg1", "invalid number '0xg1' at column 1" },
	{ "+0x(%di)", "invalid number '0x' at column 2" },
	{ "+1_0(%di)", "invalid number '1_0' at column 2" },
	{ "010", "leading zero in '010' at column 1 in '010'; octal is not supported; use 0x for hex" },
	{ "+08(%sp)", "leading zero in '08' at column 2" },
	{ "18446744073709551616", "number '18446744073709551616' does not fit in 64 bits at column 1" },
	{ "$0x10000000000000000", "number '0x10000000000000000' does not fit in 64 bits at column 2" },
	{ "+99999999999999999999(%sp)", "number '99999999999999999999' does not fit in 64 bits at column 2" },
	{ "+2147483648(%sp)", "offset '+2147483648' does not fit in 32 bits at column 1" },
	{ "2147483648(%sp)", "offset '2147483648' does not fit in 32 bits at column 1" },
	{ "-2147483649(%sp)", "offset '-2147483649' does not fit in 32 bits at column 1" },
	{ "+0x80000000(%sp)", "offset '+0x80000000' does not fit in 32 bits at column 1" },
	{ "+8(+4294967296(%di))", "offset '+4294967296' does not fit in 32 bits at column 4" },
	/* nesting */
	{ "+0(+0(+0(+0(%di))))", "more than 3 nested memory reads at column 10" },
	{ "+0(+0(+0(+0(%di)))):string", "more than 3 nested memory reads at column 10" },
	{ "+1(+1(+1(+1(+1(+1(+1(+1(%di))))))))", "more than 3 nested memory reads at column 10" },
	/* types */
	{ "%di:u32x", "unknown type 'u32x' at column 5 in '%di:u32x'; expected u8, u16, u32, u64, s8..s64, x8..x64 or string" },
	{ "%di:", "missing type after ':' at column 4" },
	{ "%di:u128", "unknown type 'u128' at column 5" },
	{ "%di:U32", "unknown type 'U32' at column 5" },
	{ "%di:symbol", "unknown type 'symbol'" },
	{ "%di:b4@0/32", "unknown type 'b4@0/32'" },
	{ "%di:u8[4]", "unknown type 'u8[4]'" },
	{ "%di:u32:u8", "unknown type 'u32:u8' at column 5" },
	{ "%di::u8", "unknown type ':u8' at column 5" },
	{ ":u32", "unexpected ':' at column 1" },
	{ "+8(%di:u32)", "type suffix inside '()' at column 7 in '+8(%di:u32)'; it goes at the end" },
	{ "+8(%di):u32)", "unknown type 'u32)' at column 9" },
	/* :string */
	{ "123:string", "':string' on a constant at column 4 in '123:string'; it needs a memory reference such as '+0($ADDR):string'" },
	{ "$123:string", "':string' on a constant" },
	{ "0x40:ustring", "':string' on a constant" },
	{ "%di:string", "':string' on a register needs a memory reference at column 4 in '%di:string'; write '+0(%di):string' for the string %di points to" },
	{ "$retval:string", "write '+0(%ax):string'" },
	/* whitespace */
	{ " %di", "whitespace not allowed at column 1 in ' %di'" },
	{ "%di ", "whitespace not allowed at column 4" },
	{ "+8( %di)", "whitespace not allowed at column 4" },
	{ "+8(%di)\t", "whitespace not allowed at column 8" },
	{ "%di\n", "whitespace not allowed at column 4" },
	{ "+ 8(%di)", "whitespace not allowed at column 2" },
	{ "%di : u32", "whitespace not allowed at column 4" },
};

static void test_malformed_forms(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct st_fetch f, before;
		char err[512] = "";

		memset(&f, 0x77, sizeof(f));
		before = f;
		if (st_fetcharg_parse(c->text, &f, err, sizeof(err)) != -1) {
			print_error("'%s' parsed but should fail\n", c->text);
			fail();
		}
		if (!strstr(err, c->msg)) {
			print_error("'%s': error\n  %s\nlacks\n  %s\n", c->text, err, c->msg);
			fail();
		}
		/* the output is left alone on error */
		assert_memory_equal(&f, &before, sizeof(f));
	}
}

static void test_null_and_small_err(void **state)
{
	struct st_fetch f;
	char err[16];

	assert_int_equal(st_fetcharg_parse(NULL, &f, err, sizeof(err)), -1);
	assert_string_equal(err, "empty fetch-arg");
	/* no error buffer: still fails, does not crash */
	assert_int_equal(st_fetcharg_parse("%zz", &f, NULL, 0), -1);
	assert_int_equal(st_fetcharg_parse("", &f, NULL, 0), -1);
	/* a short buffer is truncated and terminated */
	memset(err, 'X', sizeof(err));
	assert_int_equal(st_fetcharg_parse("%zz", &f, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_memory_equal(err, "unknown registe", 15);
	/* success clears the error buffer */
	assert_int_equal(st_fetcharg_parse("%di", &f, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static void test_format_buffer(void **state)
{
	struct st_fetch f;
	char buf[32];

	assert_int_equal(st_fetcharg_parse("+8(+0(%di)):string", &f, NULL, 0), 0);
	/* "+8(+0(%di)):string" is 18 chars: needs 19 bytes */
	assert_int_equal(st_fetcharg_format(&f, buf, 19), 18);
	assert_string_equal(buf, "+8(+0(%di)):string");
	assert_int_equal(st_fetcharg_format(&f, buf, 18), -1);
	assert_int_equal(st_fetcharg_format(&f, buf, 1), -1);
	assert_int_equal(st_fetcharg_format(&f, buf, 0), -1);
	assert_int_equal(st_fetcharg_format(&f, NULL, 10), -1);
	assert_int_equal(st_fetcharg_format(NULL, buf, sizeof(buf)), -1);
}

/* Structs the parser never produces are refused, not rendered wrongly. */
static void test_format_invalid(void **state)
{
	struct st_fetch f;
	char buf[64];

	memset(&f, 0, sizeof(f));
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), -1); /* base NONE */
	f.base = ST_FETCH_REG;
	f.reg = ST_REG_COUNT;
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), -1);
	f.reg = ST_REG_DI;
	f.nderef = ST_MAX_DEREF + 1;
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), -1);
	f.nderef = 0;
	f.type = ST_FT_STRING + 1;
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), -1);
	f.type = ST_FT_U64;
	f.add = 4;	/* add is only for :string */
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), -1);
	f.type = ST_FT_STRING;
	f.nderef = ST_MAX_DEREF;	/* one textual read too many */
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), -1);
	f.nderef = 0;
	f.add = (int64_t)INT32_MAX + 1;
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), -1);
	f.add = 4;
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), 14);
	assert_string_equal(buf, "+4(%di):string");
	f.base = 3;
	assert_int_equal(st_fetcharg_format(&f, buf, sizeof(buf)), -1);
}

static void test_uses_retval(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{ "%ax", 1 },	    { "%rax", 1 },	 { "$retval", 1 },
		{ "+8(%ax)", 1 },   { "+0(+8(%ax)):u32", 1 },
		{ "+0($retval):string", 1 },
		{ "%di", 0 },	    { "$arg1", 0 },	 { "+8(%sp)", 0 },
		{ "$123", 0 },	    { "0", 0 },		 { "%bx", 0 },
	};
	struct st_fetch f;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(st_fetcharg_parse(cases[i].text, &f, NULL, 0), 0);
		if (!!st_fetcharg_uses_retval(&f) != cases[i].want) {
			print_error("uses_retval('%s') != %d\n", cases[i].text,
				    cases[i].want);
			fail();
		}
	}
	assert_false(st_fetcharg_uses_retval(NULL));
	/* reg is only meaningful with base REG: a constant 6 is not %ax */
	memset(&f, 0, sizeof(f));
	f.base = ST_FETCH_IMM;
	f.reg = ST_REG_AX;
	assert_false(st_fetcharg_uses_retval(&f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_forms),
		cmocka_unit_test(test_all_registers),
		cmocka_unit_test(test_malformed_forms),
		cmocka_unit_test(test_null_and_small_err),
		cmocka_unit_test(test_format_buffer),
		cmocka_unit_test(test_format_invalid),
		cmocka_unit_test(test_uses_retval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
