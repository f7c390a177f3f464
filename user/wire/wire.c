// SPDX-License-Identifier: Apache-2.0
/* Wire capture: load, attach, watch processes and ports, read the ring. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sealtrace/base/errf.h"
#include "sealtrace/capture/symbols.h"
#include "sealtrace/wire/wire.h"
#include "wire.skel.h"

#define DEF_RING	(16ull << 20)
#define MAX_SOCKS	4096
#define MAX_TLS_PROCS	256
#define TLS_LINKS	8

/* The SSL probes of one tracked process (uprobes filtered to its pid). */
struct tls_proc {
	uint32_t tgid;
	struct bpf_link *links[TLS_LINKS];
};

struct st_wire {
	struct wire_bpf *skel;
	struct ring_buffer *rb;
	st_wire_fn fn;
	void *fn_ctx;
	uint16_t ports[WIRE_MAX_PORTS];
	size_t nports;
	bool any_port;
	int ncpus;
	struct tls_proc tls[MAX_TLS_PROCS];
	size_t ntls;
	uint64_t ring_size;
	size_t page_size;
	/* the ring's consumer and producer pages, read-only: how full it is */
	const unsigned long *ring_pos;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct st_wire *w = ctx;
	const struct wire_event *ev = data;

	if (size < sizeof(*ev) || !w->fn)
		return 0;
	if ((ev->kind == WIRE_DATA_IN || ev->kind == WIRE_DATA_OUT) &&
	    size < sizeof(*ev) + ev->len)
		return 0;
	w->fn(w->fn_ctx, ev, (const uint8_t *)(ev + 1));
	return 0;
}

/* Page 0 of a BPF ring buffer holds the consumer position, page 1 the producer's. */
static int map_ring_pos(struct st_wire *w)
{
	void *p;

	w->ring_size = bpf_map__max_entries(w->skel->maps.wire_events);
	w->page_size = (size_t)sysconf(_SC_PAGESIZE);
	p = mmap(NULL, 2 * w->page_size, PROT_READ, MAP_SHARED,
		 bpf_map__fd(w->skel->maps.wire_events), 0);
	if (p == MAP_FAILED)
		return -1;
	w->ring_pos = p;
	return 0;
}

int st_wire_open(struct st_wire **out, const struct st_wire_opts *o, char *err,
		 size_t errlen)
{
	struct st_wire *w = calloc(1, sizeof(*w));
	uint8_t one = 1;
	size_t i;
	int e;

	*out = NULL;
	if (!w)
		return st_errf(err, errlen, "wire: out of memory");
	w->ncpus = libbpf_num_possible_cpus();
	w->skel = wire_bpf__open();
	if (!w->skel) {
		free(w);
		return st_errf(err, errlen, "wire: cannot open the BPF object: %s", strerror(errno));
	}
	bpf_map__set_max_entries(w->skel->maps.wire_events,
				 (__u32)(o->ringbuf_bytes ? o->ringbuf_bytes : DEF_RING));
	/* the agent drains the ring on a timer; a wakeup only as a safety net */
	w->skel->rodata->wakeup_bytes = (o->ringbuf_bytes ? o->ringbuf_bytes : DEF_RING) / 2;
	e = wire_bpf__load(w->skel);
	if (!e)
		e = wire_bpf__attach(w->skel);
	if (e) {
		st_wire_close(w);
		return st_errf(err, errlen, "wire: cannot load/attach the socket tracepoints: %s",
			    strerror(-e));
	}
	for (i = 0; i < o->nports && i < WIRE_MAX_PORTS; i++) {
		w->ports[w->nports++] = o->ports[i];
		if (!o->ports[i])
			w->any_port = true;
		if (bpf_map_update_elem(bpf_map__fd(w->skel->maps.wire_ports), &o->ports[i],
					&one, BPF_ANY)) {
			st_wire_close(w);
			return st_errf(err, errlen, "wire: ports map: %s", strerror(errno));
		}
	}
	w->rb = ring_buffer__new(bpf_map__fd(w->skel->maps.wire_events), on_sample, w, NULL);
	if (!w->rb || map_ring_pos(w)) {
		e = errno;
		st_wire_close(w);
		return st_errf(err, errlen, "wire: ring buffer: %s", strerror(e));
	}
	*out = w;
	return 0;
}

/* ---- connections open before the process was tracked ----------------- */

static bool port_watched(const struct st_wire *w, unsigned port)
{
	size_t i;

	if (w->any_port)
		return true;
	for (i = 0; i < w->nports; i++)
		if (w->ports[i] == port)
			return true;
	return false;
}

/* Inodes of ESTABLISHED sockets on a watched local port, from net/tcp{,6}. */
static size_t established(const struct st_wire *w, uint32_t tgid, unsigned long *inodes,
			  size_t max)
{
	static const char *const files[] = { "tcp", "tcp6" };
	char path[64], line[512], local[64], remote[64];
	unsigned state, lport;
	unsigned long inode;
	size_t n = 0, f;
	char *colon;
	FILE *fp;

	for (f = 0; f < 2; f++) {
		snprintf(path, sizeof(path), "/proc/%u/net/%s", tgid, files[f]);
		fp = fopen(path, "re");
		if (!fp)
			continue;
		while (fgets(line, sizeof(line), fp) && n < max) {
			if (sscanf(line, " %*u: %63s %63s %x %*s %*s %*s %*u %*u %lu",
				   local, remote, &state, &inode) != 4 || state != 1)
				continue;
			colon = strrchr(local, ':');
			if (!colon || sscanf(colon + 1, "%x", &lport) != 1 ||
			    !port_watched(w, lport))
				continue;
			inodes[n++] = inode;
		}
		fclose(fp);
	}
	return n;
}

static bool in_list(const unsigned long *v, size_t n, unsigned long x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/*
 * The sockets tgid has open on a watched port, ESTABLISHED, enter
 * wire_pre_inos (inode -> tgid): the kernel flags such a connection
 * WIRE_F_PREEXISTING at its first byte, so the reassembler picks it up at
 * its next request line and says so. A thread blocked in a read of one
 * needs nothing more: the buffer is read from the syscall's registers
 * when the bytes arrive.
 */
static void enter_preexisting(struct st_wire *w, uint32_t tgid)
{
	unsigned long *inodes = calloc(MAX_SOCKS, sizeof(*inodes)), inode;
	int map = bpf_map__fd(w->skel->maps.wire_pre_inos);
	char path[300], link[64];
	struct dirent *de;
	uint64_t key;
	size_t n;
	ssize_t l;
	DIR *d;

	if (!inodes)
		return;
	n = established(w, tgid, inodes, MAX_SOCKS);
	snprintf(path, sizeof(path), "/proc/%u/fd", tgid);
	d = n ? opendir(path) : NULL;
	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/%u/fd/%s", tgid, de->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1 || !in_list(inodes, n, inode))
			continue;
		key = inode;
		bpf_map_update_elem(map, &key, &tgid, BPF_NOEXIST);
	}
	if (d)
		closedir(d);
	free(inodes);
}

/* ---- TLS: the libssl the process maps ---------------------------------- */

/* The path of the first libssl.so* in /proc/PID/maps, through /proc/PID/root. */
static bool find_libssl(uint32_t tgid, char *out, size_t len)
{
	char path[64], line[4608], *file, *base;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", tgid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		file = strchr(line, '/');
		if (!file)
			continue;
		file[strcspn(file, "\n")] = '\0';
		base = strrchr(file, '/') + 1;
		if (strncmp(base, "libssl.so", 9))
			continue;
		snprintf(out, len, "/proc/%u/root%s", tgid, file);
		found = true;
	}
	if (f)
		fclose(f);
	return found;
}

static int attach_ssl(struct st_wire *w, struct tls_proc *tp, const char *lib,
		      const char *sym, struct bpf_program *entry, struct bpf_program *ret,
		      size_t slot, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, eo);
	LIBBPF_OPTS(bpf_uprobe_opts, ro, .retprobe = true);
	struct st_symbol s;

	if (st_symbol_resolve(lib, sym, true, &s, err, errlen))
		return -1;
	tp->links[slot] = bpf_program__attach_uprobe_opts(entry, (pid_t)tp->tgid, lib,
							  s.attach_offset, &eo);
	tp->links[slot + 1] = bpf_program__attach_uprobe_opts(ret, (pid_t)tp->tgid, lib,
							      s.attach_offset, &ro);
	if (!tp->links[slot] || !tp->links[slot + 1])
		return st_errf(err, errlen, "wire: %s in %s: cannot attach: %s", sym, lib,
			    strerror(errno));
	return 0;
}

static void detach_tls(struct tls_proc *tp)
{
	size_t i;

	for (i = 0; i < TLS_LINKS; i++) {
		bpf_link__destroy(tp->links[i]);
		tp->links[i] = NULL;
	}
}

/* 1 when the process maps a libssl (probes attached), 0 when not, -1 error. */
static int track_tls(struct st_wire *w, uint32_t tgid, char *err, size_t errlen)
{
	struct wire_bpf *k = w->skel;
	struct tls_proc *tp;
	char lib[4700];

	if (!find_libssl(tgid, lib, sizeof(lib)))
		return 0;
	if (w->ntls == MAX_TLS_PROCS)
		return st_errf(err, errlen, "wire: more than %d TLS processes", MAX_TLS_PROCS);
	tp = &w->tls[w->ntls];
	memset(tp, 0, sizeof(*tp));
	tp->tgid = tgid;
	if (attach_ssl(w, tp, lib, "SSL_read", k->progs.wire_ssl_read_entry,
		       k->progs.wire_ssl_ret, 0, err, errlen) ||
	    attach_ssl(w, tp, lib, "SSL_write", k->progs.wire_ssl_write_entry,
		       k->progs.wire_ssl_ret, 2, err, errlen) ||
	    attach_ssl(w, tp, lib, "SSL_read_ex", k->progs.wire_ssl_read_ex_entry,
		       k->progs.wire_ssl_ex_ret, 4, err, errlen) ||
	    attach_ssl(w, tp, lib, "SSL_write_ex", k->progs.wire_ssl_write_ex_entry,
		       k->progs.wire_ssl_ex_ret, 6, err, errlen)) {
		detach_tls(tp);
		return -1;
	}
	w->ntls++;
	return 1;
}

/* The tgid's bit in a kernel tgid bitmap (the only writer is this agent). */
static int set_bit(const struct bpf_map *map, uint32_t tgid, bool on)
{
	int fd = bpf_map__fd(map);
	uint32_t word = tgid / 64;
	uint64_t bits = 0;

	if (word >= WIRE_TGID_WORDS || bpf_map_lookup_elem(fd, &word, &bits))
		return -1;
	if (on)
		bits |= 1ULL << (tgid % 64);
	else
		bits &= ~(1ULL << (tgid % 64));
	return bpf_map_update_elem(fd, &word, &bits, BPF_ANY);
}

int st_wire_track(struct st_wire *w, uint32_t tgid, uint32_t target, char *err,
		  size_t errlen)
{
	int tls;

	if (bpf_map_update_elem(bpf_map__fd(w->skel->maps.wire_tgids), &tgid, &target,
				BPF_ANY) || set_bit(w->skel->maps.wire_tgid_bits, tgid, true))
		return st_errf(err, errlen, "wire: cannot track pid %u: %s", tgid,
			    strerror(errno));
	enter_preexisting(w, tgid);
	tls = track_tls(w, tgid, err, errlen);
	if (tls < 0)
		return -1;
	/* only a process with SSL probes pays the SSL-call lookup per call */
	if (tls && set_bit(w->skel->maps.wire_tls_bits, tgid, true))
		return st_errf(err, errlen, "wire: pid %u: TLS bitmap: %s", tgid,
			       strerror(errno));
	return 0;
}

/* Delete the entries of map whose value holds tgid (a __u32) at offset off. */
static void delete_by_tgid(int map, uint32_t tgid, void *value, size_t off)
{
	uint32_t v;
	uint64_t key, next;
	bool more = !bpf_map_get_next_key(map, NULL, &next);

	while (more) {
		key = next;
		more = !bpf_map_get_next_key(map, &key, &next);
		if (bpf_map_lookup_elem(map, &key, value))
			continue;
		memcpy(&v, (const char *)value + off, sizeof(v));
		if (v == tgid)
			bpf_map_delete_elem(map, &key);
	}
}

void st_wire_untrack(struct st_wire *w, uint32_t tgid)
{
	struct wire_conn c;
	uint32_t pre;
	size_t i;

	bpf_map_delete_elem(bpf_map__fd(w->skel->maps.wire_tgids), &tgid);
	set_bit(w->skel->maps.wire_tgid_bits, tgid, false);
	set_bit(w->skel->maps.wire_tls_bits, tgid, false);
	for (i = 0; i < w->ntls; i++) {
		if (w->tls[i].tgid != tgid)
			continue;
		detach_tls(&w->tls[i]);
		w->tls[i] = w->tls[--w->ntls];
		break;
	}
	/* the process's connections and unused preexisting marks go with it */
	delete_by_tgid(bpf_map__fd(w->skel->maps.conns), tgid, &c,
		       offsetof(struct wire_conn, tgid));
	delete_by_tgid(bpf_map__fd(w->skel->maps.wire_pre_inos), tgid, &pre, 0);
}

int st_wire_fd(const struct st_wire *w)
{
	return ring_buffer__epoll_fd(w->rb);
}

int st_wire_poll(struct st_wire *w, st_wire_fn fn, void *ctx)
{
	w->fn = fn;
	w->fn_ctx = ctx;
	return ring_buffer__consume(w->rb);
}

uint64_t st_wire_ringbuf_size(const struct st_wire *w)
{
	return w->ring_size;
}

uint64_t st_wire_ringbuf_used(const struct st_wire *w)
{
	const unsigned long *cons = w->ring_pos;
	const unsigned long *prod = (const unsigned long *)((const char *)w->ring_pos +
							    w->page_size);

	return __atomic_load_n(prod, __ATOMIC_ACQUIRE) - __atomic_load_n(cons, __ATOMIC_ACQUIRE);
}

int st_wire_counters(struct st_wire *w, struct wire_counters *sum)
{
	struct wire_counters *per;
	__u32 zero = 0;
	int i;

	memset(sum, 0, sizeof(*sum));
	per = calloc((size_t)w->ncpus, sizeof(*per));
	if (!per)
		return -1;
	if (bpf_map_lookup_elem(bpf_map__fd(w->skel->maps.wire_counters), &zero, per)) {
		free(per);
		return -1;
	}
	for (i = 0; i < w->ncpus; i++) {
		sum->syscalls += per[i].syscalls;
		sum->events += per[i].events;
		sum->rb_full += per[i].rb_full;
		sum->bytes_lost += per[i].bytes_lost;
		sum->requests_lost += per[i].requests_lost;
		sum->conns_full += per[i].conns_full;
		sum->sendfile_bytes += per[i].sendfile_bytes;
		sum->hole_bytes += per[i].hole_bytes;
		sum->tls_unattributed += per[i].tls_unattributed;
		sum->unattributed_bytes += per[i].unattributed_bytes;
	}
	free(per);
	return 0;
}

void st_wire_close(struct st_wire *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->ntls; i++)
		detach_tls(&w->tls[i]);
	ring_buffer__free(w->rb);
	if (w->ring_pos)
		munmap((void *)w->ring_pos, 2 * w->page_size);
	wire_bpf__destroy(w->skel);
	free(w);
}
