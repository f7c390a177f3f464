/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON, one module: the byte-exact writer every record goes through, and
 * the one strict parser (a cursor, with a document tree and a struct
 * reader built on it) that verify, export, oversight and status use.
 *
 * Writer rules (RFC 8785 compatible for the values sealtrace emits):
 *   - strings: '"' and '\\' escaped, \b \t \n \f \r as short escapes, other
 *     controls < 0x20 as \u00xx (lower-case hex), everything else literal
 *     UTF-8. Invalid UTF-8 is never passed through: each byte that is not
 *     part of a well-formed sequence becomes U+FFFD.
 *   - integers: |v| <= 2^53-1 as plain decimal; larger magnitudes as a JSON
 *     string of decimal digits (I-JSON, RFC 7493 2.2), because RFC 8785
 *     numbers are IEEE doubles and would round them.
 *
 * A buffer carries a sticky out-of-memory flag, so a long run of writes
 * is checked once at the end.
 */
#ifndef SEALTRACE_JSON_H
#define SEALTRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ST_JSON_SAFE_INT	9007199254740991ULL	/* 2^53 - 1 */

struct st_buf {
	char *p;
	size_t len, cap;
	bool oom;		/* a write failed to allocate; contents unusable */
};

void st_buf_free(struct st_buf *b);
int st_buf_reserve(struct st_buf *b, size_t extra);	/* 0, or -1 (sets oom) */
void st_buf_put(struct st_buf *b, const void *s, size_t n);
void st_buf_puts(struct st_buf *b, const char *s);
void st_buf_putc(struct st_buf *b, char c);

/* Writers; failures only set b->oom. */
void st_json_str(struct st_buf *b, const char *s, size_t n);	/* quoted */
void st_json_cstr(struct st_buf *b, const char *s);	/* NULL -> null */
void st_json_int(struct st_buf *b, int64_t v);
void st_json_uint(struct st_buf *b, uint64_t v);
void st_json_bool(struct st_buf *b, bool v);
void st_json_null(struct st_buf *b);
/* RFC 8785 number: shortest round-trip digits, ECMAScript layout. */
void st_json_double(struct st_buf *b, double v);
/* '"key":' — a key known to be plain ASCII without escapes */
void st_json_key(struct st_buf *b, const char *key);

/*
 * At most max bytes of the C string s as a quoted JSON string on f, for
 * text read on terminals (status.json, status --json): as st_json_str,
 * except that \b, \f and DEL are written as \u00xx.
 */
void st_json_fputs(FILE *f, const char *s, size_t max);

/* True when s[0..n) is well-formed UTF-8 (RFC 3629). */
bool st_utf8_valid(const char *s, size_t n);
/* Length (1..4) of the well-formed UTF-8 sequence at s, or 0. */
size_t st_utf8_seq(const char *s, size_t n);

/* ---- parser ----------------------------------------------------------- */

/*
 * The cursor: one strict tokenizer over s[0..n) (UTF-8 validated, integers
 * only, no fraction or exponent, at most max_depth nested containers).
 * Every function returns -1 after recording the first error in err as
 * "<name>: offset N: what" ("byte N: what" when name is NULL); reading goes
 * no further after one.
 */
struct st_jcur {
	const unsigned char *s;
	size_t n, i;			/* input, read position */
	const char *name;
	char *err;
	size_t errlen;
	bool failed;
	int depth, max_depth;
	struct st_buf str;		/* the last string read, decoded, NUL-terminated
					 * (str.len may count NULs from \u0000) */
};

void st_jcur_init(struct st_jcur *c, const char *s, size_t n, int max_depth,
		  const char *name, char *err, size_t errlen);
void st_jcur_free(struct st_jcur *c);
int st_jcur_fail(struct st_jcur *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "unexpected character" or "unexpected end of input", for messages. */
const char *st_jcur_what(const struct st_jcur *c);
/* Skip whitespace; the next byte, or -1 at the end. */
int st_jcur_peek(struct st_jcur *c);
int st_jcur_expect(struct st_jcur *c, char ch);
/* '{' or '[': 1 when members follow, 0 when it was empty, -1. */
int st_jcur_open(struct st_jcur *c, char open);
/* After a member: 1 on ',', 0 on close, -1. */
int st_jcur_next(struct st_jcur *c, char close);
/* A member's key into c->str, and its ':'. */
int st_jcur_key(struct st_jcur *c);
int st_jcur_string(struct st_jcur *c);
int st_jcur_int(struct st_jcur *c, bool *neg, uint64_t *mag);
int st_jcur_bool(struct st_jcur *c, bool *v);
/* Any value, read and dropped. */
int st_jcur_skip(struct st_jcur *c);
/* Only whitespace left: else "trailing data after the <what>". */
int st_jcur_end(struct st_jcur *c, const char *what);

/*
 * An object read into a struct through a table of its keys: each key must
 * appear exactly once ("missing key" / "duplicate key ... in <what>");
 * keys not in the table are skipped, so an older reader reads a newer
 * writer's object. Integers are unsigned decimal.
 */
enum st_jfield_kind {
	ST_JF_U64,		/* uint64_t */
	ST_JF_INT,		/* int, 0..INT_MAX */
	ST_JF_BOOL,		/* bool */
	ST_JF_STR,		/* char[cap], no NUL inside */
	ST_JF_CUSTOM,		/* custom(c, dst) reads the value */
};

struct st_jfield {
	const char *key;
	enum st_jfield_kind kind;
	void *dst;
	size_t cap;
	int (*custom)(struct st_jcur *c, void *dst);
};

int st_jcur_object(struct st_jcur *c, const struct st_jfield *fields,
		   size_t nfields, const char *what);
/* The same, but the keys whose bit (1 << index) is in optional may be absent. */
int st_jcur_object_opt(struct st_jcur *c, const struct st_jfield *fields,
		       size_t nfields, uint64_t optional, const char *what);
/* One value read as the field f says. */
int st_jcur_field(struct st_jcur *c, const struct st_jfield *f);

/* ---- document tree (on the cursor) ------------------------------------- */

enum st_jt { ST_JNULL, ST_JBOOL, ST_JINT, ST_JSTR, ST_JARR, ST_JOBJ,
	     ST_JNUM /* a fraction or exponent: only from st_json_parse_any */ };

struct st_jv;
struct st_jmember {
	const char *key;		/* NUL-terminated, decoded */
	struct st_jv *val;
	struct st_jmember *next;
};

struct st_jv {
	enum st_jt t;
	bool b;				/* ST_JBOOL */
	bool neg;			/* ST_JINT: sign ... */
	uint64_t mag;			/* ... and magnitude */
	double d;			/* ST_JNUM */
	const char *s;			/* ST_JSTR: decoded, NUL-terminated */
	size_t slen;			/* may contain NUL when \u0000 was used */
	struct st_jmember *members;	/* ST_JOBJ, in document order */
	struct st_jv **items;		/* ST_JARR */
	size_t n;			/* members or items */
};

struct st_json_arena;
struct st_json_doc {
	struct st_jv *root;
	struct st_json_arena *arena;	/* owns every value and string */
};

/*
 * Parse exactly one JSON value filling s[0..n). Strict: UTF-8 validated,
 * no duplicate keys, integers only (no fraction/exponent), depth <= 8.
 * On error returns -1 with "byte N: what" in err; doc is then empty.
 */
int st_json_parse(const char *s, size_t n, struct st_json_doc *doc,
		  char *err, size_t errlen);
/*
 * The same for JSON written by other programs (HTTP bodies, captured
 * model outputs): numbers with fractions or exponents and integers beyond
 * 64 bits become ST_JNUM (a double), depth <= 64.
 */
int st_json_parse_any(const char *s, size_t n, struct st_json_doc *doc,
		      char *err, size_t errlen);
void st_json_doc_free(struct st_json_doc *doc);

const struct st_jv *st_jv_get(const struct st_jv *obj, const char *key);
/* Integer value in range, or -1. */
int st_jv_int64(const struct st_jv *v, int64_t *out);
int st_jv_uint64(const struct st_jv *v, uint64_t *out);

#endif /* SEALTRACE_JSON_H */
