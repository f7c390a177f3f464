// SPDX-License-Identifier: Apache-2.0
/*
 * workload: the process the e2e tests (and benchmarks) probe with real BPF.
 *
 *   workload MODE [--count N] [options] [--go FILE] [--dump]
 *
 * Every mode calls one or two exported, never-inlined functions N times;
 * tests/targets/README.md lists the symbols, prototypes and where each
 * argument sits (register or stack slot) at the probed instruction.
 * --dump prints, per call, exactly the bytes a correct capture must see:
 *   in i=<i> len=<n> hex=<bytes>      (what the input fetch-arg points at)
 *   out i=<i> len=<n> hex=<bytes>     (what the output holds at return)
 * The last line is always "done calls=N ..." on stdout.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_target.h"

struct opts {
	const char *mode;
	const char *go;
	uint64_t count;
	uint64_t seed;
	uint64_t cap;
	uint64_t len;
	uint64_t out_cap;
	int has_seed;
	int has_len;
	int tight;
	int dump;
	int (*fn)(const unsigned char *, size_t, unsigned char *, size_t);
};

/* Same layout as llama.cpp's llama_batch: 56 bytes, passed in memory. */
struct st_batch {
	int32_t n_tokens;
	int32_t *token;
	float *embd;
	int32_t *pos;
	int32_t *n_seq_id;
	int32_t **seq_id;
	int8_t *logits;
};

_Static_assert(sizeof(struct st_batch) == 56, "llama_batch layout");

struct st_request {
	uint64_t id;
	const char *data;
	uint32_t len;
};

_Static_assert(__builtin_offsetof(struct st_request, data) == 8, "layout");
_Static_assert(__builtin_offsetof(struct st_request, len) == 16, "layout");

#define ST_MAX_TOKENS 64

/* Exported so the checker and the compiler both see a side effect. */
volatile uint64_t st_sink;

int st_predict(const unsigned char *in, size_t in_len, unsigned char *out,
	       size_t out_cap);
int st_decode(void *ctx, struct st_batch batch);
int st_handle(struct st_request *req);
int st_generate(const char *prompt, char *out, int out_cap);
void st_infer_then_die(int i);
int st_infer_ok(int i);
int st_classify(const char *text);

/* ---- probed functions ---------------------------------------------- */

ST_PROBED int st_predict(const unsigned char *in, size_t in_len,
			 unsigned char *out, size_t out_cap)
{
	ST_BARRIER();
	return (int)st_transform(in, in_len, out, out_cap);
}

/*
 * The same function behind probe sites of the other kinds (DESIGN.md,
 * "Capture"): st_predict starts with a `mov` the kernel single-steps;
 * st_predict_push starts with `push %rbp`, which it emulates, and
 * st_predict_nop5 with a 5-byte nop, which it may optimise. make bench
 * measures the per-call cost at all three (`loop --fn`).
 */
int st_predict_push(const unsigned char *in, size_t in_len, unsigned char *out,
		    size_t out_cap);
int st_predict_nop5(const unsigned char *in, size_t in_len, unsigned char *out,
		    size_t out_cap);
__asm__(".text\n"
	".globl st_predict_push\n"
	".type st_predict_push, @function\n"
	"st_predict_push:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	call st_predict\n"
	"	pop %rbp\n"
	"	ret\n"
	".size st_predict_push, .-st_predict_push\n"
	".globl st_predict_nop5\n"
	".type st_predict_nop5, @function\n"
	"st_predict_nop5:\n"
	"	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n"
	"	jmp st_predict\n"
	".size st_predict_nop5, .-st_predict_nop5\n");

ST_PROBED int st_decode(void *ctx, struct st_batch batch)
{
	int64_t sum = 0;
	int32_t j;

	ST_BARRIER();
	for (j = 0; j < batch.n_tokens; j++)
		sum += batch.token[j];
	*(int64_t *)ctx += sum;
	return batch.n_tokens;
}

ST_PROBED int st_handle(struct st_request *req)
{
	uint32_t k, h = 0;

	ST_BARRIER();
	for (k = 0; k < req->len; k++)
		h = h * 31 + (unsigned char)req->data[k];
	st_sink += h;
	return (int)(h & 0x7fffffff);
}

/* Answers "answer-<i>" to "prompt-<i>": the output is written by the callee. */
ST_PROBED int st_generate(const char *prompt, char *out, int out_cap)
{
	const char *num = strchr(prompt, '-');
	int n;

	ST_BARRIER();
	n = snprintf(out, (size_t)out_cap, "answer-%s", num ? num + 1 : "");
	if (n >= out_cap)
		n = out_cap - 1;
	return n;
}

/* Never returns: the thread exits inside the probed function. */
ST_PROBED void st_infer_then_die(int i)
{
	ST_BARRIER();
	st_sink += (uint64_t)i;
	pthread_exit(NULL);
}

ST_PROBED int st_infer_ok(int i)
{
	ST_BARRIER();
	st_sink += (uint64_t)i;
	return i * 2;
}

ST_PROBED int st_classify(const char *text)
{
	size_t n = strlen(text);

	ST_BARRIER();
	st_sink += n;
	return (int)(n % 3);
}

/* ---- modes ---------------------------------------------------------- */

static void dump_bytes(const char *what, uint64_t i, const void *b, size_t n)
{
	printf("%s i=%llu len=%zu hex=", what, (unsigned long long)i, n);
	st_hex(stdout, b, n);
	putchar('\n');
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		perror("malloc");
		exit(1);
	}
	return p;
}

/* Seeded inputs of varying length: the byte-exact capture test. */
static uint64_t run_loop_seeded(const struct opts *o)
{
	unsigned char *in = xmalloc(2 * o->cap + 100);
	unsigned char *out = xmalloc(o->out_cap);
	uint64_t i, len;
	int n;

	for (i = 0; i < o->count; i++) {
		len = st_input_len(i, o->cap);
		st_input_fill(o->seed, i, in, len);
		n = st_predict(in, len, out, o->out_cap);
		st_sink += (uint64_t)n;
		if (o->dump) {
			dump_bytes("in", i, in, len);
			dump_bytes("out", i, out, (size_t)n);
		}
	}
	free(in);
	free(out);
	return o->count;
}

/*
 * Fixed-length inputs for benchmarks. Without --tight the first bytes
 * carry the call number so inputs differ; with --tight the loop is only
 * the call, so an unprobed run measures the function itself.
 */
static uint64_t run_loop_fixed(const struct opts *o)
{
	unsigned char *in = xmalloc(o->len);
	unsigned char *out = xmalloc(o->out_cap);
	size_t stamp = o->len < sizeof(uint64_t) ? o->len : sizeof(uint64_t);
	uint64_t i;
	int n;

	st_input_fill(0, 0, in, o->len);
	if (o->tight) {
		for (i = 0; i < o->count; i++)
			o->fn(in, o->len, out, o->out_cap);
		goto done;
	}
	for (i = 0; i < o->count; i++) {
		memcpy(in, &i, stamp);
		n = o->fn(in, o->len, out, o->out_cap);
		st_sink += (uint64_t)n;
		if (o->dump) {
			dump_bytes("in", i, in, o->len);
			dump_bytes("out", i, out, (size_t)n);
		}
	}
done:
	free(in);
	free(out);
	return o->count;
}

/* Struct by value on the stack: n_tokens at +8(%sp), token at +16(%sp). */
static uint64_t run_byvalue(const struct opts *o)
{
	int32_t token[ST_MAX_TOKENS], pos[ST_MAX_TOKENS], nsid[ST_MAX_TOKENS];
	int32_t seq0 = 0, *seq[ST_MAX_TOKENS];
	int8_t logits[ST_MAX_TOKENS];
	int64_t ctx = 0;
	struct st_batch b;
	uint64_t i;
	int j;

	for (j = 0; j < ST_MAX_TOKENS; j++) {
		pos[j] = j;
		nsid[j] = 1;
		seq[j] = &seq0;
	}
	for (i = 0; i < o->count; i++) {
		b.n_tokens = (int32_t)(1 + i % ST_MAX_TOKENS);
		for (j = 0; j < b.n_tokens; j++) {
			token[j] = (int32_t)(i * 1000 + (uint64_t)j);
			logits[j] = j == b.n_tokens - 1;
		}
		b.token = token;
		b.embd = NULL;
		b.pos = pos;
		b.n_seq_id = nsid;
		b.seq_id = seq;
		b.logits = logits;
		st_decode(&ctx, b);
		if (o->dump)
			dump_bytes("in", i, token, (size_t)b.n_tokens * 4);
	}
	st_sink += (uint64_t)ctx;
	return o->count;
}

/* One dereference: data at +8(%di), len at +16(%di) (u32). */
static uint64_t run_deref(const struct opts *o)
{
	char buf[32];
	struct st_request req;
	uint64_t i;

	for (i = 0; i < o->count; i++) {
		req.id = i;
		req.len = (uint32_t)snprintf(buf, sizeof(buf), "request-%llu",
					     (unsigned long long)i);
		req.data = buf;
		st_handle(&req);
		if (o->dump)
			dump_bytes("in", i, buf, req.len);
	}
	return o->count;
}

/* Output written by the callee: pointer %si at entry, length %ax at return. */
static uint64_t run_outbuf(const struct opts *o)
{
	char prompt[32], out[64];
	uint64_t i;
	int plen, n;

	for (i = 0; i < o->count; i++) {
		plen = snprintf(prompt, sizeof(prompt), "prompt-%llu",
				(unsigned long long)i);
		memset(out, 0, sizeof(out));
		n = st_generate(prompt, out, (int)sizeof(out));
		if (o->dump) {
			dump_bytes("in", i, prompt, (size_t)plen);
			dump_bytes("out", i, out, (size_t)n);
		}
	}
	return o->count;
}

static void *die_thread(void *arg)
{
	st_infer_then_die((int)(intptr_t)arg);
	return NULL;	/* not reached */
}

/*
 * Thread i dies inside st_infer_then_die(i) (entry without return: an
 * incomplete call); main then calls st_infer_ok(i), which returns. One
 * thread at a time, so the order of events is fixed.
 */
static uint64_t run_threadexit(const struct opts *o)
{
	pthread_t t;
	uint64_t i;
	int err;

	for (i = 0; i < o->count; i++) {
		err = pthread_create(&t, NULL, die_thread, (void *)(intptr_t)i);
		if (err) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			exit(1);
		}
		pthread_join(t, NULL);
		st_sink += (uint64_t)st_infer_ok((int)i);
	}
	return o->count;
}

/* NUL-terminated input: "+0(%di):string". */
static uint64_t run_string(const struct opts *o)
{
	char buf[32];
	uint64_t i;
	int n;

	for (i = 0; i < o->count; i++) {
		n = snprintf(buf, sizeof(buf), "text-%llu", (unsigned long long)i);
		st_classify(buf);
		if (o->dump)
			dump_bytes("in", i, buf, (size_t)n);
	}
	return o->count;
}

/* ---- command line --------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: workload MODE [--count N] [options] [--go FILE] [--dump]\n"
		"modes:\n"
		"  loop --seed S --cap C [--out-cap K]  seeded inputs of varying length\n"
		"  loop --len L [--tight] [--out-cap K] [--fn predict|push|nop5]\n"
		"                                      fixed-length inputs (benchmarks); --fn:\n"
		"                                      through st_predict_push / _nop5\n"
		"  byvalue    st_decode(ctx, struct st_batch) by value on the stack\n"
		"  deref      st_handle(struct st_request *)\n"
		"  outbuf     st_generate(prompt, out, out_cap), output at return\n"
		"  threadexit st_infer_then_die(i) exits its thread; st_infer_ok(i)\n"
		"  string     st_classify(const char *) NUL-terminated\n"
		"--go FILE waits (10 ms polls) for FILE to exist after 'ready pid=N'.\n");
}

static const char *need_arg(int argc, char **argv, int *k)
{
	if (*k + 1 >= argc) {
		fprintf(stderr, "%s needs a value\n", argv[*k]);
		exit(2);
	}
	return argv[++*k];
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int k;

	memset(o, 0, sizeof(*o));
	o->count = 1000;
	o->fn = st_predict;
	o->cap = 4096;
	o->out_cap = 64;
	if (argc < 2 || argv[1][0] == '-') {
		usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		exit(argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2);
	}
	o->mode = argv[1];
	for (k = 2; k < argc; k++) {
		const char *a = argv[k];

		if (!strcmp(a, "--count")) {
			o->count = st_parse_u64(a, need_arg(argc, argv, &k));
		} else if (!strcmp(a, "--seed")) {
			o->seed = st_parse_u64(a, need_arg(argc, argv, &k));
			o->has_seed = 1;
		} else if (!strcmp(a, "--cap")) {
			o->cap = st_parse_u64(a, need_arg(argc, argv, &k));
		} else if (!strcmp(a, "--len")) {
			o->len = st_parse_u64(a, need_arg(argc, argv, &k));
			o->has_len = 1;
		} else if (!strcmp(a, "--out-cap")) {
			o->out_cap = st_parse_u64(a, need_arg(argc, argv, &k));
		} else if (!strcmp(a, "--go")) {
			o->go = need_arg(argc, argv, &k);
		} else if (!strcmp(a, "--tight")) {
			o->tight = 1;
		} else if (!strcmp(a, "--fn")) {
			const char *fn = need_arg(argc, argv, &k);

			if (!strcmp(fn, "push"))
				o->fn = st_predict_push;
			else if (!strcmp(fn, "nop5"))
				o->fn = st_predict_nop5;
			else if (!strcmp(fn, "predict"))
				o->fn = st_predict;
			else {
				fprintf(stderr, "--fn: predict, push or nop5\n");
				exit(2);
			}
		} else if (!strcmp(a, "--dump")) {
			o->dump = 1;
		} else {
			fprintf(stderr, "unknown option '%s'\n", a);
			usage(stderr);
			exit(2);
		}
	}
	if (o->cap < 1 || o->cap > (1u << 24) || o->len > (1u << 26) ||
	    o->out_cap > (1u << 20)) {
		fprintf(stderr, "--cap must be 1..16M, --len <= 64M, --out-cap <= 1M\n");
		exit(2);
	}
	if (o->has_seed && o->has_len) {
		fprintf(stderr, "loop: --seed and --len exclude each other\n");
		exit(2);
	}
}

static uint64_t run_loop(const struct opts *o)
{
	return o->has_len ? run_loop_fixed(o) : run_loop_seeded(o);
}

static const struct {
	const char *name;
	uint64_t (*fn)(const struct opts *o);
} modes[] = {
	{ "loop", run_loop },
	{ "byvalue", run_byvalue },
	{ "deref", run_deref },
	{ "outbuf", run_outbuf },
	{ "threadexit", run_threadexit },
	{ "string", run_string },
};

int main(int argc, char **argv)
{
	uint64_t (*fn)(const struct opts *o) = NULL;
	uint64_t calls, t0, t1;
	struct opts o;
	size_t m;

	parse_opts(argc, argv, &o);
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (!strcmp(o.mode, modes[m].name))
			fn = modes[m].fn;
	if (!fn) {
		fprintf(stderr, "unknown mode '%s'\n", o.mode);
		usage(stderr);
		return 2;
	}
	/* Unknown options fail above, before "ready": a test never waits on them. */
	st_ready_and_wait(o.go);
	t0 = st_now_ns();
	calls = fn(&o);
	t1 = st_now_ns();
	printf("done calls=%llu elapsed_ns=%llu ns_per_call=%.1f\n",
	       (unsigned long long)calls, (unsigned long long)(t1 - t0),
	       calls ? (double)(t1 - t0) / (double)calls : 0.0);
	return 0;
}
