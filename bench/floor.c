// SPDX-License-Identifier: Apache-2.0
/*
 * floor: attach an empty uprobe + uretprobe (bench/floor.bpf.c) to one
 * function, at the offset sealtrace itself would use (st_symbol_resolve,
 * the same code the agent runs, so an endbr64 start is skipped unless
 * --no-skip-endbr), and hold them until SIGINT/SIGTERM or --duration.
 * With --copy, the copying pair instead (the least a recording tool does),
 * its ring drained every millisecond.
 *
 *   floor --path BIN --symbol SYM [--no-skip-endbr] [--count | --copy]
 *         [--duration S] [--ready-file F]
 *
 * Prints "floor: site offset=0x.. first_insn=.. endbr_skipped=0|1" when
 * attached and, with --count, "floor: hits N returns N" at exit; with
 * --copy, "floor: events N bytes N".
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "sealtrace/capture/symbols.h"
#include "floor.skel.h"

static volatile sig_atomic_t stop;

struct copied {
	unsigned long long events;
	unsigned long long bytes;
};

static int on_copy(void *ctx, void *data, size_t size)
{
	struct copied *c = ctx;

	c->events++;
	c->bytes += size;
	return 0;
}

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: floor --path BIN --symbol SYM [--no-skip-endbr] [--count | --copy]\n"
		   "             [--duration S] [--ready-file F]\n");
}

static int print_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

/* The first bytes at the site, so the report can say what the kernel must single-step. */
static void site_bytes(const char *path, unsigned long long off, char *hex, size_t len)
{
	unsigned char b[8];
	FILE *f = fopen(path, "rb");
	size_t n = 0, i;

	hex[0] = '\0';
	if (!f)
		return;
	if (!fseek(f, (long)off, SEEK_SET))
		n = fread(b, 1, sizeof(b), f);
	fclose(f);
	for (i = 0; i < n && 2 * i + 3 <= len; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "path", required_argument, NULL, 'p' },
		{ "symbol", required_argument, NULL, 's' },
		{ "no-skip-endbr", no_argument, NULL, 'n' },
		{ "count", no_argument, NULL, 'c' },
		{ "copy", no_argument, NULL, 'C' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL, *sym = NULL, *ready = NULL;
	bool skip = true, count = false, copy = false;
	struct ring_buffer *rb = NULL;
	struct copied copied = { 0 };
	double duration = 0;
	struct st_symbol site;
	struct floor_bpf *skel;
	struct bpf_program *pe, *pr;
	struct bpf_link *le, *lr;
	char err[512], hex[20];
	struct timespec t0, t;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p': path = optarg; break;
		case 's': sym = optarg; break;
		case 'n': skip = false; break;
		case 'c': count = true; break;
		case 'C': copy = true; break;
		case 'd': duration = atof(optarg); break;
		case 'r': ready = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || !sym) {
		usage(stderr);
		return 2;
	}
	if (st_symbol_resolve(path, sym, skip, &site, err, sizeof(err))) {
		fprintf(stderr, "floor: %s\n", err);
		return 1;
	}
	libbpf_set_print(print_quiet);
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: open: %s\n", strerror(errno));
		return 1;
	}
	/* a scratch slot per CPU for the copying pair (and a small ring otherwise) */
	if (bpf_map__set_max_entries(skel->maps.copy_scratch, libbpf_num_possible_cpus()) ||
	    (!copy && bpf_map__set_max_entries(skel->maps.copies, 4096))) {
		fprintf(stderr, "floor: maps: %s\n", strerror(errno));
		floor_bpf__destroy(skel);
		return 1;
	}
	/* load only the pair we attach: the others stay out of the kernel */
	pe = count ? skel->progs.count_entry : copy ? skel->progs.copy_entry : skel->progs.floor_entry;
	pr = count ? skel->progs.count_return : copy ? skel->progs.copy_return : skel->progs.floor_return;
	bpf_program__set_autoload(skel->progs.floor_entry, pe == skel->progs.floor_entry);
	bpf_program__set_autoload(skel->progs.floor_return, pr == skel->progs.floor_return);
	bpf_program__set_autoload(skel->progs.count_entry, pe == skel->progs.count_entry);
	bpf_program__set_autoload(skel->progs.count_return, pr == skel->progs.count_return);
	bpf_program__set_autoload(skel->progs.copy_entry, pe == skel->progs.copy_entry);
	bpf_program__set_autoload(skel->progs.copy_return, pr == skel->progs.copy_return);
	if (floor_bpf__load(skel)) {
		fprintf(stderr, "floor: load: %s\n", strerror(errno));
		floor_bpf__destroy(skel);
		return 1;
	}
	{
		LIBBPF_OPTS(bpf_uprobe_opts, ue, .retprobe = false);
		LIBBPF_OPTS(bpf_uprobe_opts, ur, .retprobe = true);

		le = bpf_program__attach_uprobe_opts(pe, -1, path, site.attach_offset, &ue);
		lr = le ? bpf_program__attach_uprobe_opts(pr, -1, path, site.attach_offset, &ur) : NULL;
	}
	if (!le || !lr) {
		fprintf(stderr, "floor: attach %s:%s at 0x%llx: %s\n", path, sym,
			(unsigned long long)site.attach_offset, strerror(errno));
		bpf_link__destroy(le);
		floor_bpf__destroy(skel);
		return 1;
	}
	if (copy) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.copies), on_copy, &copied, NULL);
		if (!rb) {
			fprintf(stderr, "floor: ring buffer: %s\n", strerror(errno));
			bpf_link__destroy(lr);
			bpf_link__destroy(le);
			floor_bpf__destroy(skel);
			return 1;
		}
	}
	site_bytes(path, site.attach_offset, hex, sizeof(hex));
	printf("floor: site offset=0x%llx bytes=%s endbr_skipped=%d\n",
	       (unsigned long long)site.attach_offset, hex, site.endbr_skipped);
	fflush(stdout);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
		else
			fprintf(stderr, "floor: %s: %s\n", ready, strerror(errno));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		if (rb)
			ring_buffer__consume(rb);
		usleep(rb ? 1000 : 20000);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (duration > 0 && (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= duration)
			break;
	}
	if (count)
		printf("floor: hits %llu returns %llu\n", (unsigned long long)skel->bss->entries,
		       (unsigned long long)skel->bss->returns);
	if (rb) {
		ring_buffer__consume(rb);
		printf("floor: events %llu bytes %llu\n", copied.events, copied.bytes);
		ring_buffer__free(rb);
	}
	bpf_link__destroy(lr);
	bpf_link__destroy(le);
	floor_bpf__destroy(skel);
	return 0;
}
