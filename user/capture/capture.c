// SPDX-License-Identifier: Apache-2.0
/*
 * Capture (userspace half): load bpf/capture.bpf.c, pin its maps and links
 * so that probes outlive the agent, write recipes, attach uprobe/uretprobe
 * pairs with the probe id as attach cookie, and read the ring buffer.
 *
 * Why our own ring-buffer reader instead of libbpf's ring_buffer__consume():
 * libbpf hands ring space back to the kernel as soon as the callback
 * returns. An agent killed with -9 a moment later would lose every event
 * it had read but not yet written to disk. Here reading and committing are
 * separate: the agent commits a position only once the records made from
 * everything before it are durable, so a successor finds the rest still in
 * the pinned ring. The record layout read here is the kernel's
 * (include/uapi/linux/bpf.h: BPF_RINGBUF_BUSY_BIT, _DISCARD_BIT, _HDR_SZ).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <openssl/evp.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/capture/capture.h"
#include "capture.skel.h"

#define PIN_PATH_LEN 4096

/* Changing any of these changes what pinned maps hold: bump ST_LAYOUT_VERSION. */
_Static_assert(sizeof(struct st_event) == 72, "st_event layout: bump ST_LAYOUT_VERSION");
_Static_assert(sizeof(struct st_recipe) == 168, "st_recipe layout: bump ST_LAYOUT_VERSION");
_Static_assert(sizeof(struct st_probe_counters) == 88,
	       "st_probe_counters layout: bump ST_LAYOUT_VERSION");
_Static_assert(sizeof(struct st_lost_event) == 24, "st_lost_event layout: bump ST_LAYOUT_VERSION");
_Static_assert(sizeof(struct st_accounting) == 14344,
	       "st_accounting layout: bump ST_LAYOUT_VERSION");
#define PIN_DIR_LEN 1024

/* A probe's pair of links, adopted from pins or attached in this run. */
struct probe_links {
	struct bpf_link *entry;
	struct bpf_link *ret;
	char key[17];
	bool pinned_before;	/* found under pin_dir at start */
	bool in_use;		/* adopted or attached by this run */
};

struct st_capture_ctx {
	struct capture_bpf *skel;
	char pin_dir[PIN_DIR_LEN];
	struct probe_links probes[ST_MAX_PROBES];
	struct bpf_link *thread_exit;
	int ncpus;
	st_event_fn fn;
	void *fn_ctx;

	/* ring buffer, mapped as the kernel lays it out */
	int ring_fd;
	int epoll_fd;
	size_t page_size;
	uint64_t ring_size;
	unsigned long *consumer_pos;	/* page 0, read-write */
	unsigned long *producer_pos;	/* page 1, read-only */
	uint8_t *data;			/* data pages, mapped twice in a row */
	uint64_t read_pos;
	uint64_t published_pos;	/* read_pos as last told to the kernel */
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void pin_path(const struct st_capture_ctx *c, char *buf, size_t len,
		     const char *name)
{
	snprintf(buf, len, "%s/%s", c->pin_dir, name);
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Every map is pinned as map-<name>; libbpf reuses a pin when it is there. */
static int set_map_pins(struct st_capture_ctx *c, bool *reused)
{
	struct bpf_map *map;
	char path[PIN_PATH_LEN];

	*reused = false;
	bpf_object__for_each_map(map, c->skel->obj) {
		/* .rodata/.bss are per program load, not state to keep */
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/map-%s", c->pin_dir, bpf_map__name(map));
		if (path_exists(path))
			*reused = true;
		if (bpf_map__set_pin_path(map, path))
			return -1;
	}
	return 0;
}

static int map_ring(struct st_capture_ctx *c, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	void *p;

	c->page_size = (size_t)sysconf(_SC_PAGESIZE);
	c->ring_fd = bpf_map__fd(c->skel->maps.events);
	c->ring_size = bpf_map__max_entries(c->skel->maps.events);
	p = mmap(NULL, c->page_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->ring_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	c->consumer_pos = p;
	p = mmap(NULL, c->page_size + 2 * c->ring_size, PROT_READ, MAP_SHARED, c->ring_fd,
		 (off_t)c->page_size);
	if (p == MAP_FAILED)
		goto fail;
	c->producer_pos = p;
	c->data = (uint8_t *)p + c->page_size;
	c->read_pos = __atomic_load_n(c->consumer_pos, __ATOMIC_ACQUIRE);
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epoll_fd < 0 || epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, c->ring_fd, &ev))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "capture: mapping the ring buffer failed: %s", strerror(errno));
	return -1;
}

/*
 * Pinned state from another sealtrace version (or from before versions
 * were stamped) would be misread: refuse it rather than guess.
 */
static int check_layout(struct st_capture_ctx *c, bool reused, char *err, size_t errlen)
{
	__u32 zero = 0, version = 0, want = ST_LAYOUT_VERSION;

	bpf_map__lookup_elem(c->skel->maps.layout, &zero, sizeof(zero), &version,
			     sizeof(version), 0);
	if (version == want)
		return 0;
	if (!reused)
		return bpf_map__update_elem(c->skel->maps.layout, &zero, sizeof(zero), &want,
					    sizeof(want), BPF_ANY);
	snprintf(err, errlen,
		 "capture: the maps pinned in %s are layout version %u, this agent uses %u: "
		 "let the agent that made them drain and uninstall ('sealtrace detach' of that "
		 "version), or remove %s and accept losing what its ring holds",
		 c->pin_dir, version, want, c->pin_dir);
	return -1;
}

/* pin name "probe-<id>-<key>-entry": fill in what a previous agent left */
static void scan_pinned_probes(struct st_capture_ctx *c)
{
	DIR *d = opendir(c->pin_dir);
	struct dirent *de;
	unsigned int id;
	char key[17];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "probe-%u-%16[0-9a-f]-entry", &id, key) != 2 ||
		    id >= ST_MAX_PROBES)
			continue;
		memcpy(c->probes[id].key, key, sizeof(key));
		c->probes[id].pinned_before = true;
	}
	closedir(d);
}

/* The thread-exit tracepoint is pinned too; a second one would report twice. */
static int attach_thread_exit(struct st_capture_ctx *c, char *err, size_t errlen)
{
	char path[PIN_PATH_LEN];

	pin_path(c, path, sizeof(path), "link-thread-exit");
	c->thread_exit = path_exists(path) ? bpf_link__open(path) : NULL;
	if (c->thread_exit)
		return 0;
	c->thread_exit = bpf_program__attach(c->skel->progs.st_thread_exit);
	if (!c->thread_exit || bpf_link__pin(c->thread_exit, path)) {
		snprintf(err, errlen, "capture: attaching sched_process_exit failed: %s "
			 "(is tracefs mounted at /sys/kernel/tracing?)", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Pins outlive the agent only on the host's bpffs. A pin_dir on another
 * file system (no bpffs at /sys/fs/bpf on the node, or a container given
 * its own /sys) would fail later with a misleading error or, worse, with
 * a bpffs private to the container, vanish with it.
 */
static int check_bpffs(const char *pin_dir, char *err, size_t errlen)
{
	char parent[PIN_DIR_LEN];
	struct statfs fs;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	if (statfs(parent, &fs)) {
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		else if (slash)
			slash[1] = '\0';
		if (statfs(parent, &fs)) {
			snprintf(err, errlen, "capture: pin_dir %s: %s: %s", pin_dir, parent,
				 strerror(errno));
			return -1;
		}
	}
	if (fs.f_type == BPF_FS_MAGIC)
		return 0;
	snprintf(err, errlen,
		 "capture: pin_dir %s: %s is not a bpf file system (type 0x%lx), so pinned "
		 "probes and the ring would not outlive the agent. The node must mount bpffs "
		 "at /sys/fs/bpf before the agent starts (systemd does; else "
		 "'mount -t bpf bpf /sys/fs/bpf'), and an agent in a container needs the "
		 "host's /sys/fs/bpf mounted in (docs/operations.md, \"bpffs\")",
		 pin_dir, parent, (unsigned long)fs.f_type);
	return -1;
}

int st_capture_open(struct st_capture_ctx **out, const struct st_capture_opts *opts,
		    st_event_fn fn, void *fn_ctx, bool *reused, char *err, size_t errlen)
{
	struct st_capture_ctx *c;
	int e;

	*out = NULL;
	libbpf_set_print(libbpf_print);
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "capture: out of memory");
		return -1;
	}
	c->ring_fd = c->epoll_fd = -1;
	c->fn = fn;
	c->fn_ctx = fn_ctx;
	if (strlen(opts->pin_dir) >= sizeof(c->pin_dir)) {
		snprintf(err, errlen, "capture: pin_dir is longer than %d bytes", PIN_DIR_LEN - 1);
		goto fail;
	}
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", opts->pin_dir);
	if (check_bpffs(c->pin_dir, err, errlen))
		goto fail;
	if (mkdir(c->pin_dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "capture: %s: cannot create: %s (is bpffs mounted at /sys/fs/bpf?)",
			 c->pin_dir, strerror(errno));
		goto fail;
	}
	c->ncpus = libbpf_num_possible_cpus();
	c->skel = capture_bpf__open();
	if (!c->skel || c->ncpus <= 0) {
		snprintf(err, errlen, "capture: cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	c->skel->rodata->wakeup_bytes = opts->wakeup_bytes;
	c->skel->rodata->heartbeat_deadline_ns = opts->heartbeat_deadline_ns;
	bpf_map__set_max_entries(c->skel->maps.events, (__u32)opts->ringbuf_bytes);
	bpf_map__set_max_entries(c->skel->maps.scratch_buf, (__u32)c->ncpus);
	if (set_map_pins(c, reused)) {
		snprintf(err, errlen, "capture: %s: pin path too long", c->pin_dir);
		goto fail;
	}
	e = capture_bpf__load(c->skel);
	if (e) {
		snprintf(err, errlen,
			 "capture: loading the BPF programs failed: %s (needs root and BTF; "
			 "if maps pinned in %s were made with another ringbuf_bytes or an "
			 "older version, drain them and run 'sealtrace detach' first)",
			 strerror(-e), c->pin_dir);
		goto fail;
	}
	if (check_layout(c, *reused, err, errlen))
		goto fail;
	scan_pinned_probes(c);
	if (attach_thread_exit(c, err, errlen) || map_ring(c, err, errlen))
		goto fail;
	*out = c;
	return 0;
fail:
	st_capture_close(c);
	return -1;
}

void st_capture_probe_key(const char *target, const char *path, uint64_t offset,
			  const struct st_recipe *recipe, char key[17])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int i;

	/* what the probe is: where it sits and what it captures */
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, target, strlen(target) + 1);
	EVP_DigestUpdate(ctx, path, strlen(path) + 1);
	EVP_DigestUpdate(ctx, &offset, sizeof(offset));
	EVP_DigestUpdate(ctx, recipe, sizeof(*recipe));
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < 8; i++)
		snprintf(key + 2 * i, 3, "%02x", md[i]);
}

static void link_pin_path(const struct st_capture_ctx *c, uint32_t id, const char *key,
			  const char *which, char *buf, size_t len)
{
	snprintf(buf, len, "%s/probe-%u-%s-%s", c->pin_dir, id, key, which);
}

int st_capture_adopt(struct st_capture_ctx *c, const char *key)
{
	char path[PIN_PATH_LEN];
	struct probe_links *pl;
	uint32_t id;

	for (id = 0; id < ST_MAX_PROBES; id++) {
		pl = &c->probes[id];
		if (!pl->pinned_before || pl->in_use || strcmp(pl->key, key))
			continue;
		link_pin_path(c, id, key, "entry", path, sizeof(path));
		pl->entry = bpf_link__open(path);
		link_pin_path(c, id, key, "return", path, sizeof(path));
		pl->ret = bpf_link__open(path);
		if (!pl->entry || !pl->ret) {
			/* half a pair is no probe: let the caller attach afresh */
			bpf_link__destroy(pl->entry);
			bpf_link__destroy(pl->ret);
			pl->entry = pl->ret = NULL;
			return -1;
		}
		pl->in_use = true;
		return (int)id;
	}
	return -1;
}

int st_capture_free_id(struct st_capture_ctx *c)
{
	uint32_t id;

	for (id = 0; id < ST_CANARY_PROBE_ID; id++)
		if (!c->probes[id].pinned_before && !c->probes[id].in_use)
			return (int)id;
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

static void reset_counters(struct st_capture_ctx *c, uint32_t probe_id)
{
	struct st_probe_counters *zero = calloc((size_t)c->ncpus, sizeof(*zero));
	__u64 seq = 0;

	/* a reused id starts from zero: its old calls were accounted already */
	if (zero)
		bpf_map__update_elem(c->skel->maps.counters, &probe_id, sizeof(probe_id), zero,
				     (size_t)c->ncpus * sizeof(*zero), BPF_ANY);
	free(zero);
	bpf_map__update_elem(c->skel->maps.call_seq, &probe_id, sizeof(probe_id), &seq,
			     sizeof(seq), BPF_ANY);
}

int st_capture_attach(struct st_capture_ctx *c, uint32_t probe_id, const char *key,
		      const struct st_recipe *recipe, const char *path,
		      uint64_t offset, int pid, char *err, size_t errlen)
{
	char entry_pin[PIN_PATH_LEN], ret_pin[PIN_PATH_LEN];
	struct probe_links *pl;

	if (probe_id >= ST_MAX_PROBES) {
		snprintf(err, errlen, "%s: too many probes (at most %d)", path, ST_MAX_PROBES);
		return -1;
	}
	pl = &c->probes[probe_id];
	reset_counters(c, probe_id);
	if (bpf_map__update_elem(c->skel->maps.recipes, &probe_id, sizeof(probe_id),
				 recipe, sizeof(*recipe), BPF_ANY)) {
		snprintf(err, errlen, "%s: writing recipe %u failed: %s", path, probe_id,
			 strerror(errno));
		return -1;
	}
	/* the return probe first, so that no call is seen entering but not leaving */
	pl->ret = attach_one(c, c->skel->progs.st_return, true, probe_id, path, offset, pid);
	if (!pl->ret) {
		snprintf(err, errlen, "%s: uretprobe at offset 0x%llx failed: %s", path,
			 (unsigned long long)offset, strerror(errno));
		return -1;
	}
	pl->entry = attach_one(c, c->skel->progs.st_entry, false, probe_id, path, offset, pid);
	if (!pl->entry) {
		snprintf(err, errlen, "%s: uprobe at offset 0x%llx failed: %s", path,
			 (unsigned long long)offset, strerror(errno));
		goto fail;
	}
	link_pin_path(c, probe_id, key, "return", ret_pin, sizeof(ret_pin));
	link_pin_path(c, probe_id, key, "entry", entry_pin, sizeof(entry_pin));
	if (bpf_link__pin(pl->ret, ret_pin) || bpf_link__pin(pl->entry, entry_pin)) {
		snprintf(err, errlen, "%s: pinning probe links in %s failed: %s", path,
			 c->pin_dir, strerror(errno));
		goto fail;
	}
	memcpy(pl->key, key, sizeof(pl->key));
	pl->in_use = true;
	return 0;
fail:
	if (pl->ret)
		bpf_link__unpin(pl->ret);
	bpf_link__destroy(pl->ret);
	bpf_link__destroy(pl->entry);
	pl->ret = pl->entry = NULL;
	return -1;
}

int st_capture_attach_ephemeral(struct st_capture_ctx *c, uint32_t probe_id,
				const struct st_recipe *recipe, const char *path,
				uint64_t offset, int pid, char *err, size_t errlen)
{
	char key[17], entry_pin[PIN_PATH_LEN], ret_pin[PIN_PATH_LEN];

	snprintf(key, sizeof(key), "%016x", 0);
	if (st_capture_attach(c, probe_id, key, recipe, path, offset, pid, err, errlen))
		return -1;
	/* our fds keep the links attached until this agent exits, no longer */
	link_pin_path(c, probe_id, key, "entry", entry_pin, sizeof(entry_pin));
	link_pin_path(c, probe_id, key, "return", ret_pin, sizeof(ret_pin));
	unlink(entry_pin);
	unlink(ret_pin);
	return 0;
}

static void unpin_probe(struct st_capture_ctx *c, uint32_t id)
{
	struct probe_links *pl = &c->probes[id];
	char path[PIN_PATH_LEN];

	/* a link goes away with its last reference: the pin and our fd */
	link_pin_path(c, id, pl->key, "entry", path, sizeof(path));
	unlink(path);
	link_pin_path(c, id, pl->key, "return", path, sizeof(path));
	unlink(path);
	bpf_link__destroy(pl->entry);
	bpf_link__destroy(pl->ret);
	pl->entry = pl->ret = NULL;
	pl->in_use = pl->pinned_before = false;
}

int st_capture_detach_stale(struct st_capture_ctx *c,
			    void (*fn)(void *ctx, uint32_t probe_id, const char *key),
			    void *ctx)
{
	uint32_t id;
	int n = 0;

	for (id = 0; id < ST_MAX_PROBES; id++) {
		if (!c->probes[id].pinned_before || c->probes[id].in_use)
			continue;
		if (fn)
			fn(ctx, id, c->probes[id].key);
		unpin_probe(c, id);
		n++;
	}
	return n;
}

int st_capture_detach_all(struct st_capture_ctx *c, char *err, size_t errlen)
{
	struct bpf_map *map;
	uint32_t id;
	char path[PIN_PATH_LEN];

	for (id = 0; id < ST_MAX_PROBES; id++)
		if (c->probes[id].in_use || c->probes[id].pinned_before)
			unpin_probe(c, id);
	pin_path(c, path, sizeof(path), "link-thread-exit");
	unlink(path);
	bpf_object__for_each_map(map, c->skel->obj)
		if (!bpf_map__is_internal(map))
			bpf_map__unpin(map, NULL);
	if (rmdir(c->pin_dir) && errno != ENOENT) {
		snprintf(err, errlen, "%s: not removed: %s (something else is pinned there)",
			 c->pin_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Tell the kernel side how far we have read (see agent_read_pos). */
static void publish_read_pos(struct st_capture_ctx *c)
{
	__u32 zero = 0;
	__u64 pos = c->read_pos;

	if (pos == c->published_pos)
		return;
	if (!bpf_map__update_elem(c->skel->maps.agent_read_pos, &zero, sizeof(zero),
				  &pos, sizeof(pos), BPF_ANY))
		c->published_pos = pos;
}

/* Read committed records from read_pos on; stop at one still being written. */
static int read_ring(struct st_capture_ctx *c)
{
	uint64_t prod = __atomic_load_n(c->producer_pos, __ATOMIC_ACQUIRE);
	uint64_t mask = c->ring_size - 1;
	uint32_t len, *hdr;
	int n = 0;

	while (c->read_pos < prod) {
		hdr = (uint32_t *)(c->data + (c->read_pos & mask));
		len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			if (len >= sizeof(struct st_event))
				c->fn(c->fn_ctx, (const struct st_event *)(hdr + 2), len,
				      c->read_pos);
			n++;
		}
		len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		c->read_pos += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
	}
	publish_read_pos(c);
	return n;
}

int st_capture_poll(struct st_capture_ctx *c, int timeout_ms)
{
	struct epoll_event ev;
	uint64_t prod;
	int n;

	n = read_ring(c);
	if (n || timeout_ms <= 0)
		return n;
	/*
	 * epoll reports readable while any space is uncommitted, which is
	 * the normal state between a read and its commit; only wait on it
	 * when everything is committed, else sleep a little.
	 */
	prod = __atomic_load_n(c->producer_pos, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(c->consumer_pos, __ATOMIC_ACQUIRE) == prod) {
		if (epoll_wait(c->epoll_fd, &ev, 1, timeout_ms) < 0 && errno != EINTR)
			return -errno;
	} else {
		usleep((useconds_t)(timeout_ms < 10 ? timeout_ms : 10) * 1000);
	}
	return read_ring(c);
}

uint64_t st_capture_read_pos(const struct st_capture_ctx *c)
{
	return c->read_pos;
}

void st_capture_commit(struct st_capture_ctx *c, uint64_t pos)
{
	unsigned long cur = __atomic_load_n(c->consumer_pos, __ATOMIC_ACQUIRE);

	if (pos > c->read_pos)
		pos = c->read_pos;
	if (pos > cur)
		__atomic_store_n(c->consumer_pos, (unsigned long)pos, __ATOMIC_RELEASE);
}

int st_capture_lost_events(struct st_capture_ctx *c, struct st_lost_event *out, int max)
{
	int fd = bpf_map__fd(c->skel->maps.lost_events);
	int n = 0;

	while (n < max && bpf_map_lookup_and_delete_elem(fd, NULL, &out[n]) == 0)
		n++;
	return n;
}

int st_capture_accounting_load(struct st_capture_ctx *c, struct st_accounting *acct)
{
	__u32 zero = 0;

	return bpf_map__lookup_elem(c->skel->maps.accounting, &zero, sizeof(zero), acct,
				    sizeof(*acct), 0);
}

int st_capture_accounting_store(struct st_capture_ctx *c, const struct st_accounting *acct)
{
	__u32 zero = 0;

	return bpf_map__update_elem(c->skel->maps.accounting, &zero, sizeof(zero), acct,
				    sizeof(*acct), BPF_ANY);
}

static const char *const loss_names[ST_LOSS__COUNT] = {
	[ST_LOSS_RINGBUF_FULL] = "ringbuf_full",
	[ST_LOSS_CAPTURE_FAULT] = "capture_fault",
	[ST_LOSS_AGENT_DOWN] = "agent_down",
	[ST_LOSS_UNPAIRED] = "unpaired",
	[ST_LOSS_WRITE_FAILED] = "write_failed",
};

const char *st_loss_reason_name(enum st_loss_reason r)
{
	if ((unsigned int)r >= ST_LOSS__COUNT)
		return "unknown";
	return loss_names[r];
}

int st_loss_reason_parse(const char *name, enum st_loss_reason *r)
{
	int i;

	for (i = 0; i < ST_LOSS__COUNT; i++) {
		if (!strcmp(name, loss_names[i])) {
			*r = (enum st_loss_reason)i;
			return 0;
		}
	}
	return -1;
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
		sum->rb_full_agent_down += per_cpu[i].rb_full_agent_down;
		sum->lost_queue_full += per_cpu[i].lost_queue_full;
		sum->calls_lost += per_cpu[i].calls_lost;
	}
	free(per_cpu);
	return 0;
}

uint64_t st_capture_ringbuf_used(const struct st_capture_ctx *c)
{
	return __atomic_load_n(c->producer_pos, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(c->consumer_pos, __ATOMIC_ACQUIRE);
}

uint64_t st_capture_ringbuf_size(const struct st_capture_ctx *c)
{
	return c->ring_size;
}

int st_capture_heartbeat(struct st_capture_ctx *c, uint64_t tai_ns)
{
	__u32 zero = 0;

	return bpf_map__update_elem(c->skel->maps.agent_heartbeat, &zero, sizeof(zero),
				    &tai_ns, sizeof(tai_ns), BPF_ANY);
}

int st_capture_fd(const struct st_capture_ctx *c)
{
	return c->epoll_fd;
}

int st_capture_wake_on(struct st_capture_ctx *c, int fd, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		return st_errf(err, errlen, "capture: waiting on fd %d too: %s", fd,
			       strerror(errno));
	return 0;
}

void st_capture_close(struct st_capture_ctx *c)
{
	uint32_t id;

	if (!c)
		return;
	/* closing our fds leaves pinned links attached: that is the point */
	for (id = 0; id < ST_MAX_PROBES; id++) {
		bpf_link__destroy(c->probes[id].entry);
		bpf_link__destroy(c->probes[id].ret);
	}
	bpf_link__destroy(c->thread_exit);
	if (c->epoll_fd >= 0)
		close(c->epoll_fd);
	if (c->consumer_pos)
		munmap(c->consumer_pos, c->page_size);
	if (c->producer_pos)
		munmap(c->producer_pos, c->page_size + 2 * c->ring_size);
	capture_bpf__destroy(c->skel);
	free(c);
}
