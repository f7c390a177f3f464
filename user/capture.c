// SPDX-License-Identifier: Apache-2.0
/*
 * Capture (userspace half): load bpf/capture.bpf.c, size its maps from the
 * config, write recipes, attach uprobe/uretprobe pairs with the probe id as
 * attach cookie, and drain the ring buffer into the consumer's callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sealtrace/capture.h"
#include "capture.skel.h"

#define ST_MAX_LINKS (2 * ST_MAX_PROBES)

struct st_capture_ctx {
	struct capture_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[ST_MAX_LINKS];
	size_t nlinks;
	int ncpus;
	st_event_fn fn;
	void *fn_ctx;
};

/* libbpf's ring buffer callback: hand each record to the consumer. */
static int on_ringbuf(void *ctx, void *data, size_t size)
{
	struct st_capture_ctx *c = ctx;

	if (size < sizeof(struct st_event))
		return 0;	/* cannot happen with our BPF side; never trust it blindly */
	return c->fn(c->fn_ctx, data, size);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (getenv("SEALTRACE_LIBBPF_QUIET") && level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int st_capture_open(struct st_capture_ctx **out, const struct st_capture_opts *opts,
		    st_event_fn fn, void *fn_ctx, char *err, size_t errlen)
{
	struct st_capture_ctx *c;
	int e;

	*out = NULL;
	libbpf_set_print(libbpf_quiet);
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "capture: out of memory");
		return -1;
	}
	c->fn = fn;
	c->fn_ctx = fn_ctx;
	c->ncpus = libbpf_num_possible_cpus();
	c->skel = capture_bpf__open();
	if (!c->skel || c->ncpus <= 0) {
		snprintf(err, errlen, "capture: cannot open the BPF object: %s",
			 strerror(errno));
		goto fail;
	}
	c->skel->rodata->wakeup_bytes = opts->wakeup_bytes;
	c->skel->rodata->heartbeat_deadline_ns = opts->heartbeat_deadline_ns;
	bpf_map__set_max_entries(c->skel->maps.events, (__u32)opts->ringbuf_bytes);
	bpf_map__set_max_entries(c->skel->maps.scratch_buf, (__u32)c->ncpus);
	e = capture_bpf__load(c->skel);
	if (e) {
		snprintf(err, errlen,
			 "capture: loading the BPF programs failed: %s (needs root, BTF and a kernel >= 6.1)",
			 strerror(-e));
		goto fail;
	}
	/* the thread-exit tracepoint is what turns dead threads' calls into 'incomplete' */
	c->links[c->nlinks] = bpf_program__attach(c->skel->progs.st_thread_exit);
	if (!c->links[c->nlinks]) {
		snprintf(err, errlen, "capture: attaching sched_process_exit failed: %s "
			 "(is tracefs mounted at /sys/kernel/tracing?)", strerror(errno));
		goto fail;
	}
	c->nlinks++;
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), on_ringbuf, c, NULL);
	if (!c->rb) {
		snprintf(err, errlen, "capture: ring buffer setup failed: %s", strerror(errno));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	st_capture_close(c);
	return -1;
}

static struct bpf_link *attach_one(struct st_capture_ctx *c, struct bpf_program *prog,
				   bool retprobe, uint32_t probe_id, const char *path,
				   uint64_t offset, int pid)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = retprobe, .bpf_cookie = probe_id);

	return bpf_program__attach_uprobe_opts(prog, pid > 0 ? pid : -1, path,
					       (size_t)offset, &uo);
}

int st_capture_attach(struct st_capture_ctx *c, uint32_t probe_id,
		      const struct st_recipe *recipe, const char *path,
		      uint64_t offset, int pid, char *err, size_t errlen)
{
	struct bpf_link *entry, *ret;

	if (probe_id >= ST_MAX_PROBES || c->nlinks + 2 > ST_MAX_LINKS) {
		snprintf(err, errlen, "%s: too many probes (at most %d)", path, ST_MAX_PROBES);
		return -1;
	}
	if (bpf_map__update_elem(c->skel->maps.recipes, &probe_id, sizeof(probe_id),
				 recipe, sizeof(*recipe), BPF_ANY)) {
		snprintf(err, errlen, "%s: writing recipe %u failed: %s", path, probe_id,
			 strerror(errno));
		return -1;
	}
	/* the return probe first, so that no call is seen entering but not leaving */
	ret = attach_one(c, c->skel->progs.st_return, true, probe_id, path, offset, pid);
	if (!ret) {
		snprintf(err, errlen, "%s: uretprobe at offset 0x%llx failed: %s", path,
			 (unsigned long long)offset, strerror(errno));
		return -1;
	}
	entry = attach_one(c, c->skel->progs.st_entry, false, probe_id, path, offset, pid);
	if (!entry) {
		snprintf(err, errlen, "%s: uprobe at offset 0x%llx failed: %s", path,
			 (unsigned long long)offset, strerror(errno));
		bpf_link__destroy(ret);
		return -1;
	}
	c->links[c->nlinks++] = ret;
	c->links[c->nlinks++] = entry;
	return 0;
}

int st_capture_poll(struct st_capture_ctx *c, int timeout_ms)
{
	int n, m;

	/*
	 * Producers only wake us past a fill level, so a quiet buffer is
	 * drained here after the timeout rather than through the wakeup.
	 */
	n = ring_buffer__poll(c->rb, timeout_ms);
	if (n < 0 && n != -EINTR)
		return n;
	m = ring_buffer__consume(c->rb);
	if (m < 0)
		return m;
	return (n > 0 ? n : 0) + m;
}

int st_capture_counters(struct st_capture_ctx *c, uint32_t probe_id,
			struct st_probe_counters *sum)
{
	struct st_probe_counters *per_cpu;
	int i;

	memset(sum, 0, sizeof(*sum));
	per_cpu = calloc((size_t)c->ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map__lookup_elem(c->skel->maps.counters, &probe_id, sizeof(probe_id),
				 per_cpu, (size_t)c->ncpus * sizeof(*per_cpu), 0)) {
		free(per_cpu);
		return -errno;
	}
	for (i = 0; i < c->ncpus; i++) {
		sum->hits += per_cpu[i].hits;
		sum->returns += per_cpu[i].returns;
		sum->emitted += per_cpu[i].emitted;
		sum->rb_full += per_cpu[i].rb_full;
		sum->truncated += per_cpu[i].truncated;
		sum->faults += per_cpu[i].faults;
		sum->depth_overflow += per_cpu[i].depth_overflow;
		sum->signals += per_cpu[i].signals;
	}
	free(per_cpu);
	return 0;
}

uint64_t st_capture_ringbuf_used(struct st_capture_ctx *c)
{
	(void)c;
	return 0;
}

int st_capture_heartbeat(struct st_capture_ctx *c, uint64_t tai_ns)
{
	__u32 zero = 0;

	return bpf_map__update_elem(c->skel->maps.agent_heartbeat, &zero, sizeof(zero),
				    &tai_ns, sizeof(tai_ns), BPF_ANY);
}

void st_capture_close(struct st_capture_ctx *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nlinks; i++)
		bpf_link__destroy(c->links[i]);
	ring_buffer__free(c->rb);
	capture_bpf__destroy(c->skel);
	free(c);
}
