// SPDX-License-Identifier: Apache-2.0
/*
 * Lifecycle (userspace half): load bpf/lifecycle.bpf.c with the watch
 * list in its read-only data, attach the exec/exit/openat and page-cache
 * tracepoints it needs and
 * hand each ring-buffer record to the caller.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "sealtrace/targets/lifecycle.h"
#include "lifecycle.skel.h"

struct st_lc_ctx {
	struct lifecycle_bpf *skel;
	struct ring_buffer *rb;
	st_lc_event_fn fn;
	void *fn_ctx;
	pid_t guard;			/* the hold guard process; 0: none */
	uint64_t *tracked_bits;		/* the kernel's bitmap, mmap'd; NULL: not mapped */
};

/* ---- the hold guard ---- */

#define GUARD_TICK_NS	(100ull * 1000 * 1000)
#define GUARD_BATCH	256

static uint64_t tai_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_TAI, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Resume the held processes stopped more than max_ns ago, and note each in
 * the expired map for the agent's record.
 */
static void guard_release(int held_fd, int expired_fd, uint64_t max_ns)
{
	__u32 keys[GUARD_BATCH], key, *prev = NULL;
	uint64_t now = tai_now();
	__u64 since;
	int n = 0, i;

	while (n < GUARD_BATCH && bpf_map_get_next_key(held_fd, prev, &key) == 0) {
		keys[n] = key;
		prev = &keys[n];
		if (bpf_map_lookup_elem(held_fd, &key, &since) == 0 && now > since &&
		    now - since >= max_ns)
			n++;
	}
	for (i = 0; i < n; i++) {
		kill((pid_t)keys[i], SIGCONT);
		bpf_map_update_elem(expired_fd, &keys[i], &now, BPF_ANY);
		bpf_map_delete_elem(held_fd, &keys[i]);
	}
}

/*
 * The guard: a child process that only resumes what the agent held for
 * longer than ST_HOLD_MAX_MS. A frozen agent (SIGSTOP, a disk that does
 * not answer) cannot resume anything; its child can, since it touches
 * nothing but two BPF maps and kill().
 */
static void guard_main(int held_fd, int expired_fd, pid_t agent)
{
	struct timespec tick = { 0, (long)GUARD_TICK_NS };
	__u32 key;

	prctl(PR_SET_NAME, "sealtrace-hold", 0, 0, 0);
	for (;;) {
		guard_release(held_fd, expired_fd, (uint64_t)ST_HOLD_MAX_MS * 1000000ull);
		/*
		 * An agent killed with -9: a successor started within the bound
		 * still resumes (and logs) what it left held; the guard stays
		 * until the held list is empty, then goes.
		 */
		if (getppid() != agent && bpf_map_get_next_key(held_fd, NULL, &key))
			_exit(0);
		nanosleep(&tick, NULL);
	}
}

static int start_guard(struct st_lc_ctx *c, char *err, size_t errlen)
{
	int held = bpf_map__fd(c->skel->maps.held);
	int expired = bpf_map__fd(c->skel->maps.hold_expired);
	pid_t agent = getpid(), pid;
	int lo, hi;

	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "lifecycle: starting the hold guard: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		c->guard = pid;
		return 0;
	}
	/* only the two maps: no link, ring or socket of the agent stays open here */
	lo = held < expired ? held : expired;
	hi = held < expired ? expired : held;
	if (lo > 3)
		close_range(3, (unsigned int)lo - 1, 0);
	if (hi > lo + 1)
		close_range((unsigned int)lo + 1, (unsigned int)hi - 1, 0);
	close_range((unsigned int)hi + 1, ~0u, 0);
	guard_main(held, expired, agent);
	_exit(0);
}

static void stop_guard(struct st_lc_ctx *c)
{
	if (c->guard <= 0)
		return;
	kill(c->guard, SIGKILL);
	waitpid(c->guard, NULL, 0);
	c->guard = 0;
}

static int on_ringbuf(void *ctx, void *data, size_t size)
{
	struct st_lc_ctx *c = ctx;
	struct st_lc_event ev;

	if (size < sizeof(ev))
		return 0;	/* cannot happen with our BPF side */
	memcpy(&ev, data, sizeof(ev));
	ev.path[ST_LC_PATH_MAX - 1] = '\0';
	ev.comm[ST_COMM_LEN - 1] = '\0';
	c->fn(c->fn_ctx, &ev);
	return 0;
}

static int set_watches(struct st_lc_ctx *c, const struct st_lc_watch *watch,
		       size_t nwatch, char *err, size_t errlen)
{
	size_t i;

	if (nwatch > ST_LC_MAX_WATCH) {
		snprintf(err, errlen, "lifecycle: more than %d watched names", ST_LC_MAX_WATCH);
		return -1;
	}
	for (i = 0; i < nwatch; i++) {
		c->skel->rodata->watch[i] = watch[i];
		if (watch[i].kind == ST_LC_WATCH_LIB)
			c->skel->rodata->nlib++;
	}
	c->skel->rodata->nwatch = (__u32)nwatch;
	c->skel->rodata->agent_tgid = (__u32)getpid();
	return 0;
}

/* The literal of a "*<literal>" or "<literal>*" glob, its length, which end. */
static bool glob_literal(const char *glob, const char **lit, size_t *len, bool *prefix)
{
	size_t n = strlen(glob);

	if (n < 2 || n > ST_LC_SUFFIX_MAX)
		return false;
	*prefix = glob[0] != '*';
	*lit = *prefix ? glob : glob + 1;
	*len = n - 1;
	if (*prefix && glob[n - 1] != '*')
		return false;
	/* no other wildcard, nor an escape, in the literal */
	return memchr(*lit, '*', *len) == NULL && memchr(*lit, '?', *len) == NULL &&
	       memchr(*lit, '[', *len) == NULL && memchr(*lit, '\\', *len) == NULL;
}

/*
 * The kernel's name filter for reads: the globs (at most ST_LC_MAX_SUFFIX)
 * as suffixes or prefixes, if they all are "*<literal>" or "<literal>*"
 * and fit; none (every read reported) otherwise.
 */
static void set_suffixes(struct st_lc_ctx *c, const char *const *globs, size_t nglobs)
{
	const char *lit;
	bool prefix;
	size_t i, len;

	if (nglobs > ST_LC_MAX_SUFFIX)
		return;
	for (i = 0; i < nglobs; i++)
		if (!glob_literal(globs[i], &lit, &len, &prefix))
			return;
	for (i = 0; i < nglobs; i++) {
		glob_literal(globs[i], &lit, &len, &prefix);
		c->skel->rodata->suffixes[i].len = (__u8)len;
		c->skel->rodata->suffixes[i].prefix = prefix;
		c->skel->rodata->any_prefix |= prefix;
		memcpy((char *)c->skel->rodata->suffixes[i].s, lit, len);
	}
	c->skel->rodata->nsuffix = (__u32)nglobs;
}

bool st_lifecycle_page_cache_traceable(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	bool found;

	if (!vmlinux)
		return false;
	/* a raw tracepoint has a btf_trace_<name> typedef in the kernel's BTF */
	found = btf__find_by_name_kind(vmlinux, "btf_trace_mm_filemap_get_pages",
				       BTF_KIND_TYPEDEF) > 0 &&
		btf__find_by_name_kind(vmlinux, "btf_trace_mm_filemap_map_pages",
				       BTF_KIND_TYPEDEF) > 0 &&
		btf__find_by_name_kind(vmlinux, "btf_trace_mm_filemap_fault",
				       BTF_KIND_TYPEDEF) > 0;
	btf__free(vmlinux);
	return found;
}

int st_lifecycle_open(struct st_lc_ctx **out, const struct st_lc_watch *watch,
		      size_t nwatch, enum st_lc_reads reads, const char *const *globs,
		      size_t nglobs, const char *pin_dir,
		      st_lc_event_fn fn, void *fn_ctx, char *err, size_t errlen)
{
	char held_pin[4096];
	struct st_lc_ctx *c;
	int e;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "lifecycle: out of memory");
		return -1;
	}
	c->fn = fn;
	c->fn_ctx = fn_ctx;
	c->skel = lifecycle_bpf__open();
	if (!c->skel) {
		snprintf(err, errlen, "lifecycle: cannot open the BPF object: %s",
			 strerror(errno));
		goto fail;
	}
	if (set_watches(c, watch, nwatch, err, errlen))
		goto fail;
	set_suffixes(c, globs, nglobs);
	/* the held list outlives this agent, like the capture maps beside it */
	snprintf(held_pin, sizeof(held_pin), "%s/lifecycle-held", pin_dir);
	if (bpf_map__set_pin_path(c->skel->maps.held, held_pin)) {
		snprintf(err, errlen, "lifecycle: %s: pin path: %s", held_pin, strerror(errno));
		goto fail;
	}
	c->skel->rodata->tracked_opens = reads == ST_LC_READS_OPENAT;
	if (!c->skel->rodata->nlib && reads != ST_LC_READS_OPENAT) {
		bpf_program__set_autoattach(c->skel->progs.lc_openat_enter, false);
		bpf_program__set_autoattach(c->skel->progs.lc_openat_exit, false);
	}
	if (reads != ST_LC_READS_PAGE_CACHE) {
		/* not even loaded: a kernel before 6.10 has no such tracepoints */
		bpf_program__set_autoload(c->skel->progs.lc_file_read, false);
		bpf_program__set_autoload(c->skel->progs.lc_file_map, false);
		bpf_program__set_autoload(c->skel->progs.lc_file_fault, false);
	}
	e = lifecycle_bpf__load(c->skel);
	if (e) {
		snprintf(err, errlen, "lifecycle: loading the BPF programs failed: %s",
			 strerror(-e));
		goto fail;
	}
	e = lifecycle_bpf__attach(c->skel);
	if (e) {
		snprintf(err, errlen,
			 "lifecycle: attaching sched/syscalls/filemap tracepoints failed: %s "
			 "(is tracefs mounted at /sys/kernel/tracing?)", strerror(-e));
		goto fail;
	}
	c->tracked_bits = mmap(NULL, ST_LC_TGID_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			       MAP_SHARED, bpf_map__fd(c->skel->maps.tracked_bits), 0);
	if (c->tracked_bits == MAP_FAILED) {
		c->tracked_bits = NULL;
		snprintf(err, errlen, "lifecycle: mapping the tracked bitmap: %s", strerror(errno));
		goto fail;
	}
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.lc_events), on_ringbuf, c, NULL);
	if (!c->rb) {
		snprintf(err, errlen, "lifecycle: ring buffer setup failed: %s", strerror(errno));
		goto fail;
	}
	if (start_guard(c, err, errlen))
		goto fail;
	*out = c;
	return 0;
fail:
	st_lifecycle_close(c);
	return -1;
}

void st_lifecycle_unhold(struct st_lc_ctx *c, uint32_t tgid)
{
	bpf_map__delete_elem(c->skel->maps.held, &tgid, sizeof(tgid), 0);
}

int st_lifecycle_cover(struct st_lc_ctx *c, dev_t dev, ino_t ino)
{
	/* the kernel's encoding of a device number (MKDEV), not stat's */
	struct {
		__u32 dev;
		__u32 pad;
		__u64 ino;
	} key = { (major(dev) << 20) | minor(dev), 0, (__u64)ino };
	__u8 one = 1;

	return bpf_map__update_elem(c->skel->maps.covered, &key, sizeof(key), &one, sizeof(one),
				    BPF_ANY) ? -errno : 0;
}

bool st_lifecycle_hold_expired(struct st_lc_ctx *c, uint32_t tgid)
{
	__u64 when;

	if (bpf_map__lookup_elem(c->skel->maps.hold_expired, &tgid, sizeof(tgid), &when,
				 sizeof(when), 0))
		return false;
	bpf_map__delete_elem(c->skel->maps.hold_expired, &tgid, sizeof(tgid), 0);
	return true;
}

/* SIGCONT every tgid in the held map fd and empty it. */
static int release_held_fd(int fd)
{
	__u32 key;
	int n = 0;

	/* always take the first key: deleting it restarts the walk anyway */
	while (bpf_map_get_next_key(fd, NULL, &key) == 0) {
		if (kill((pid_t)key, SIGCONT) == 0)
			n++;
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
	return n;
}

int st_lifecycle_release_held(struct st_lc_ctx *c)
{
	return release_held_fd(bpf_map__fd(c->skel->maps.held));
}

int st_lifecycle_release_pinned(const char *pin_dir)
{
	char path[4096];
	int fd, n;

	snprintf(path, sizeof(path), "%s/lifecycle-held", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = release_held_fd(fd);
	close(fd);
	unlink(path);
	return n;
}

/* The bitmap beside the hash: atomic, like the kernel side's updates. */
static void mark_tracked(struct st_lc_ctx *c, uint32_t tgid, bool on)
{
	uint64_t bit = 1ull << (tgid % 64);

	if (tgid / 64 >= ST_LC_TGID_WORDS)
		return;
	if (on)
		__atomic_fetch_or(&c->tracked_bits[tgid / 64], bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(&c->tracked_bits[tgid / 64], ~bit, __ATOMIC_SEQ_CST);
}

int st_lifecycle_track(struct st_lc_ctx *c, uint32_t tgid, bool on)
{
	__u32 one = 1;

	if (on) {
		/* the hash first: a bit without it costs a lookup, not a miss */
		if (bpf_map__update_elem(c->skel->maps.tracked, &tgid, sizeof(tgid), &one,
					 sizeof(one), BPF_ANY))
			return -errno;
		mark_tracked(c, tgid, true);
		return 0;
	}
	mark_tracked(c, tgid, false);
	if (bpf_map__delete_elem(c->skel->maps.tracked, &tgid, sizeof(tgid), 0) && errno != ENOENT)
		return -errno;
	return 0;
}

int st_lifecycle_fd(struct st_lc_ctx *c)
{
	return ring_buffer__epoll_fd(c->rb);
}

int st_lifecycle_poll(struct st_lc_ctx *c, int timeout_ms)
{
	int n = ring_buffer__poll(c->rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}

uint64_t st_lifecycle_lost(struct st_lc_ctx *c)
{
	__u32 zero = 0;
	__u64 n = 0;

	if (bpf_map__lookup_elem(c->skel->maps.lc_lost, &zero, sizeof(zero), &n, sizeof(n), 0))
		return 0;
	return n;
}

void st_lifecycle_close(struct st_lc_ctx *c)
{
	if (!c)
		return;
	stop_guard(c);
	ring_buffer__free(c->rb);
	if (c->tracked_bits)
		munmap(c->tracked_bits, ST_LC_TGID_WORDS * sizeof(uint64_t));
	lifecycle_bpf__destroy(c->skel);
	free(c);
}

void st_wait_status(int64_t status, int *exit_code, int *signo)
{
	int sig = (int)(status & 0x7f);

	*signo = sig;
	*exit_code = sig ? -1 : (int)((status >> 8) & 0xff);
}
