// SPDX-License-Identifier: Apache-2.0
/* Discover: /proc readers and name matching for process discovery. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "sealtrace/targets/discover.h"

const char *st_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* ---- container ids ---- */

static size_t hex_run(const char *s)
{
	size_t n = 0;

	while (isxdigit((unsigned char)s[n]))
		n++;
	return n;
}

int st_container_id(const char *text, char out[ST_CONTAINER_ID_LEN + 1])
{
	const char *p = text, *found = NULL;
	size_t n;

	out[0] = '\0';
	while (*p) {
		n = hex_run(p);
		if (n == ST_CONTAINER_ID_LEN)
			found = p;
		p += n ? n : 1;
	}
	if (!found)
		return -1;
	memcpy(out, found, ST_CONTAINER_ID_LEN);
	out[ST_CONTAINER_ID_LEN] = '\0';
	for (n = 0; n < ST_CONTAINER_ID_LEN; n++)
		out[n] = (char)tolower((unsigned char)out[n]);
	return 0;
}

/* ---- library names ---- */

void st_lib_stem(const char *pattern, char *stem, size_t len)
{
	const char *base = st_basename(pattern), *so = strstr(base, ".so");
	size_t n = so ? (size_t)(so - base) : strlen(base);

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(stem, base, n);
	stem[n] = '\0';
}

bool st_lib_matches(const char *pattern, const char *path)
{
	const char *base = st_basename(path);
	char stem[256];
	size_t n;

	st_lib_stem(pattern, stem, sizeof(stem));
	n = strlen(stem);
	if (!n || strncmp(base, stem, n) || base[n] != '.')
		return false;
	return strstr(base + n, ".so") != NULL;
}

/* ---- /proc ---- */

static int read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static void read_comm(int pid, char comm[16])
{
	char path[64];
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, comm, 16)) {
		comm[0] = '\0';
		return;
	}
	n = strlen(comm);
	if (n && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
}

static void read_container_id(int pid, char out[ST_CONTAINER_ID_LEN + 1])
{
	char path[64], text[8192];

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (read_small(path, text, sizeof(text)))
		return;
	st_container_id(text, out);
}

int st_proc_info(int pid, struct st_proc_info *pi, char *err, size_t errlen)
{
	char path[64];
	struct stat st;
	ssize_t n;

	memset(pi, 0, sizeof(*pi));
	pi->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	pi->exe_dev = st.st_dev;
	pi->exe_ino = st.st_ino;
	n = readlink(path, pi->exe, sizeof(pi->exe) - 1);
	pi->exe[n > 0 ? n : 0] = '\0';
	read_comm(pid, pi->comm);
	read_container_id(pid, pi->container_id);
	return 0;
}

/* The path column of a /proc/PID/maps line, or NULL (anonymous mapping). */
static char *maps_path(char *line)
{
	char *p = line;
	int field;

	/* address perms offset dev inode, then spaces, then the path */
	for (field = 0; field < 5; field++) {
		p = strchr(p, ' ');
		if (!p)
			return NULL;
		while (*p == ' ')
			p++;
	}
	p[strcspn(p, "\n")] = '\0';
	return *p == '/' ? p : NULL;
}

int st_proc_find_lib(int pid, const char *pattern, char *out, size_t len)
{
	char path[64], line[ST_PROC_PATH_MAX + 128], *file;
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		file = maps_path(line);
		if (!file || !st_lib_matches(pattern, file))
			continue;
		snprintf(out, len, "%s", file);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

bool st_proc_maps_file(int pid, const char *want)
{
	char path[64], line[ST_PROC_PATH_MAX + 128], *file;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		file = maps_path(line);
		found = file && !strcmp(file, want);
	}
	fclose(f);
	return found;
}

/*
 * The device of every layer of the overlayfs mount dev in pid's mountinfo,
 * when they are all on one file system ("samefs": then overlayfs reports
 * the layer's own inode numbers); 0 otherwise.
 */
static dev_t overlay_layer_dev(int pid, dev_t dev)
{
	char path[64], line[8192], want[32], *opts, *p, *dir, *end, host[ST_PROC_PATH_MAX];
	dev_t layers = 0;
	struct stat st;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	snprintf(want, sizeof(want), " %u:%u ", major(dev), minor(dev));
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		p = strstr(line, " - overlay ");
		found = p && strstr(line, want) && strstr(line, want) < p;
	}
	fclose(f);
	if (!found)
		return 0;
	opts = strrchr(line, ' ');	/* the super options, last field */
	if (!opts)
		return 0;
	opts[strcspn(opts, "\n")] = '\0';
	/* lowerdir=a:b,upperdir=c,workdir=d: every directory but workdir */
	for (p = strtok(opts + 1, ","); p; p = strtok(NULL, ",")) {
		if (strncmp(p, "lowerdir=", 9) && strncmp(p, "upperdir=", 9))
			continue;
		for (dir = p + 9; dir && *dir; dir = end) {
			end = strchr(dir, ':');
			if (end)
				*end++ = '\0';
			/* the runtime mounted it: its paths are the host's */
			if (st_host_path(dir, host, sizeof(host)) || stat(host, &st))
				return 0;
			if (layers && st.st_dev != layers)
				return 0;
			layers = st.st_dev;
		}
	}
	return layers;
}

int st_file_real_id(int pid, const char *path, dev_t *dev, ino_t *ino)
{
	struct statfs fs;
	struct stat st;
	dev_t layers;

	if (stat(path, &st))
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	if (statfs(path, &fs) || fs.f_type != OVERLAYFS_SUPER_MAGIC)
		return 0;
	layers = overlay_layer_dev(pid, st.st_dev);
	if (layers)
		*dev = layers;
	return 0;
}

static int mnt_ns_of(int pid, struct stat *st)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/mnt");
	return stat(path, st);
}

static int parent_of(int pid)
{
	char path[64], text[512], *close;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, text, sizeof(text)))
		return 0;
	close = strrchr(text, ')');	/* comm may hold spaces and ')' */
	if (!close || sscanf(close + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/*
 * The pid whose root is the host's, or 0 when the agent shares the host's
 * mount namespace. PID 1 normally (the host's init, visible with hostPID);
 * where PID 1 cannot be inspected (it belongs to an outer user namespace,
 * as on some sandboxes), the first ancestor of the agent in another mount
 * namespace: the container runtime's shim or conmon, which runs in the
 * host's. Found once: neither changes while the agent runs.
 */
static int host_root_pid(void)
{
	static int cached = -1;
	struct stat self, other;
	int pid;

	if (cached >= 0)
		return cached;
	cached = 0;
	if (mnt_ns_of(0, &self))
		return cached;
	if (mnt_ns_of(1, &other) == 0) {
		if (self.st_dev != other.st_dev || self.st_ino != other.st_ino)
			cached = 1;
		return cached;
	}
	for (pid = getppid(); pid > 1; pid = parent_of(pid)) {
		if (mnt_ns_of(pid, &other))
			continue;
		if (self.st_dev != other.st_dev || self.st_ino != other.st_ino) {
			cached = pid;
			break;
		}
	}
	return cached;
}

bool st_in_host_mnt_ns(void)
{
	return host_root_pid() == 0;
}

int st_host_path(const char *path, char *out, size_t len)
{
	int n, pid = path[0] == '/' ? host_root_pid() : 0;

	if (pid)
		n = snprintf(out, len, "/proc/%d/root%s", pid, path);
	else
		n = snprintf(out, len, "%s", path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int st_proc_path(int pid, int dfd, const char *path, char *out, size_t len)
{
	int n;

	if (path[0] == '/')
		n = snprintf(out, len, "/proc/%d/root%s", pid, path);
	else if (dfd == AT_FDCWD)
		n = snprintf(out, len, "/proc/%d/cwd/%s", pid, path);
	else
		n = snprintf(out, len, "/proc/%d/fd/%d/%s", pid, dfd, path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int st_proc_each(st_pid_fn fn, void *ctx)
{
	struct dirent *de;
	DIR *d;
	char *end;
	long pid;
	int r = 0;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		r = fn(ctx, (int)pid);
		if (r)
			break;
	}
	closedir(d);
	return r;
}

int st_proc_abs_path(int pid, int dfd, const char *path, char *out, size_t len)
{
	char link[64], base[ST_PROC_PATH_MAX];
	ssize_t n;
	int w;

	if (path[0] == '/') {
		w = snprintf(out, len, "%s", path);
		return w < 0 || (size_t)w >= len ? -1 : 0;
	}
	if (dfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, dfd);
	n = readlink(link, base, sizeof(base) - 1);
	if (n <= 0 || base[0] != '/')
		return -1;
	base[n] = '\0';
	w = snprintf(out, len, "%s/%s", strcmp(base, "/") ? base : "", path);
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

int st_proc_open_in_root(int pid, const char *path, bool no_symlinks)
{
	struct open_how how = {
		/* non-blocking: a FIFO named like a model must not stall the agent */
		.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
			   (no_symlinks ? RESOLVE_NO_SYMLINKS : 0),
	};
	char root[64];
	int dir, fd, e, host = pid ? pid : host_root_pid();

	if (host)
		snprintf(root, sizeof(root), "/proc/%d/root", host);
	else
		snprintf(root, sizeof(root), "/");
	dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
	e = errno;
	close(dir);
	errno = e;
	return fd;
}

/* ---- files a process has open or mapped ---- */

static int each_in(int pid, const char *dir, st_file_fn fn, void *ctx)
{
	char path[64], entry[ST_PROC_PATH_MAX], target[ST_PROC_PATH_MAX];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, dir);
	d = opendir(path);
	if (!d)
		return 0;	/* gone, or no map_files (kernel config) */
	while (!r && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(entry, sizeof(entry), "%s/%s", path, de->d_name);
		n = readlink(entry, target, sizeof(target) - 1);
		if (n <= 0 || target[0] != '/')
			continue;	/* sockets, pipes, anon inodes */
		target[n] = '\0';
		r = fn(ctx, entry, target);
	}
	closedir(d);
	return r;
}

int st_proc_each_fd(int pid, st_file_fn fn, void *ctx)
{
	return each_in(pid, "fd", fn, ctx);
}

int st_proc_each_file(int pid, st_file_fn fn, void *ctx)
{
	int r = each_in(pid, "fd", fn, ctx);

	return r ? r : each_in(pid, "map_files", fn, ctx);
}

/* ---- a file by its device and its path inside that file system ---- */

void st_walked_path(const char *rev, char *out, size_t len, char *name, size_t namelen)
{
	const char *end = rev + strlen(rev), *start;
	size_t n = 0;
	int w;

	snprintf(name, namelen, "%.*s", (int)strcspn(rev, "/"), rev);
	out[0] = '\0';
	while (end > rev) {
		start = end;
		while (start > rev && start[-1] != '/')
			start--;
		w = snprintf(out + n, len - n, "/%.*s", (int)(end - start), start);
		if (w < 0 || (size_t)w >= len - n) {
			out[n] = '\0';	/* whole components only */
			break;
		}
		n += (size_t)w;
		end = start > rev ? start - 1 : rev;
	}
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* fs_path below the mount's root: the rest of it (with its '/'), or NULL. */
static const char *below_root(const char *fs_path, const char *root)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return fs_path;
	if (strncmp(fs_path, root, n) || (fs_path[n] != '/' && fs_path[n] != '\0'))
		return NULL;
	return fs_path + n;
}

int st_mount_path(int pid, dev_t dev, const char *fs_path, st_view_fn fn, void *ctx)
{
	char path[64], line[8192], root[ST_PROC_PATH_MAX], mnt[ST_PROC_PATH_MAX];
	char view[ST_PROC_PATH_MAX];
	unsigned int maj, min;
	const char *rest;
	FILE *f;
	int r = 0, host = pid ? pid : host_root_pid();

	if (host)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", host);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!r && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %4095s %4095s", &maj, &min, root, mnt) != 4 ||
		    makedev(maj, min) != dev)
			continue;
		unescape_octal(root);
		unescape_octal(mnt);
		rest = below_root(fs_path, root);
		if (!rest)
			continue;
		if (snprintf(view, sizeof(view), "%s%s", strcmp(mnt, "/") ? mnt : "",
			     *rest ? rest : "/") >= (int)sizeof(view))
			continue;
		r = fn(ctx, view);
	}
	fclose(f);
	return r;
}
