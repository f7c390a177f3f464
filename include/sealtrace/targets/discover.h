/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Discover: what /proc says about a process, for deciding whether it is a
 * target and where its files are. Pure helpers (container ids, library
 * name matching) are separate from the /proc readers so that they can be
 * unit tested.
 *
 * Paths of another process are as that process sees them (its mount
 * namespace); the agent reaches them through /proc/PID/root, which works
 * across mount namespaces (containers) as long as the process lives.
 */
#ifndef SEALTRACE_DISCOVER_H
#define SEALTRACE_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ST_CONTAINER_ID_LEN	64	/* docker, containerd, cri-o: 64 hex digits */
#define ST_PROC_PATH_MAX	4096

struct st_proc_info {
	int pid;
	char comm[16];
	char exe[ST_PROC_PATH_MAX];	/* readlink /proc/PID/exe, "" if unreadable */
	char container_id[ST_CONTAINER_ID_LEN + 1];	/* "" when not in a container */
	dev_t exe_dev;			/* stat of /proc/PID/exe */
	ino_t exe_ino;
};

/* Last path component ("" for a path ending in '/'). */
const char *st_basename(const char *path);

/*
 * The container id in the text of /proc/PID/cgroup: the last run of
 * exactly 64 hex digits (docker-<id>.scope, cri-containerd-<id>.scope,
 * crio-<id>.scope, /docker/<id>, /kubepods/.../<id>). 0 and the id in out,
 * or -1 and "" when there is none.
 */
int st_container_id(const char *cgroup_text, char out[ST_CONTAINER_ID_LEN + 1]);

/*
 * Library name matching for a target's `maps:`. The stem of a pattern is
 * the pattern without its ".so..." tail ("libllama.so" -> "libllama"); a
 * file matches when its basename is the stem, a '.', and contains ".so"
 * (libllama.so, libllama.so.0, libllama.v0.5.0.so; not libllama-common.so).
 */
void st_lib_stem(const char *pattern, char *stem, size_t len);
bool st_lib_matches(const char *pattern, const char *path);

/* comm, exe, container id and the exe's (dev, inode) of a live process. */
int st_proc_info(int pid, struct st_proc_info *pi, char *err, size_t errlen);

/*
 * The first file mapped by pid whose name matches pattern (st_lib_matches),
 * from /proc/PID/maps: its path as the process sees it. 0, or -1 if none.
 */
int st_proc_find_lib(int pid, const char *pattern, char *path, size_t len);

/*
 * A path usable by the agent for a file the process names: an absolute
 * path goes through /proc/PID/root, a relative one through the directory
 * fd it was opened against (/proc/PID/fd/DFD) or, for AT_FDCWD, /proc/PID/cwd.
 */
int st_proc_path(int pid, int dfd, const char *path, char *out, size_t len);

/*
 * The absolute path, as pid sees it, of a path it opened against dfd
 * (AT_FDCWD: its working directory), by /proc/PID/cwd or /proc/PID/fd/DFD
 * now. 0, or -1 (gone, or out too small).
 */
int st_proc_abs_path(int pid, int dfd, const char *path, char *out, size_t len);

/*
 * Open path (absolute, as pid sees it; pid 0: the host, see st_host_path)
 * read-only and non-blocking inside that process's root: symlinks resolve
 * in it, never in the agent's own root (openat2 RESOLVE_IN_ROOT), no
 * /proc magic links, and with no_symlinks none at all. A path a process
 * controls must not lead a privileged agent to a file of the host's. The
 * fd, or -1 with errno.
 */
int st_proc_open_in_root(int pid, const char *path, bool no_symlinks);

/*
 * Whether pid maps the file path (a path as that process sees it) exactly,
 * by the path column of /proc/PID/maps.
 */
bool st_proc_maps_file(int pid, const char *path);

/*
 * Where the agent opens the file a `path:` target names on the host: the
 * host's root is PID 1's, /proc/1/root; an agent in a container that shares
 * the host's pid namespace (a DaemonSet with hostPID) has another root of
 * its own. So when PID 1 is in another mount namespace than the agent,
 * the path goes through /proc/1/root (or, where PID 1 cannot be inspected,
 * through the root of the agent's first ancestor outside its mount
 * namespace: the runtime's shim); otherwise it is used as it is (the
 * records then name the path itself). 0, or -1 (out too small).
 */
int st_host_path(const char *path, char *out, size_t len);

/*
 * The identity of the file at path (reached through pid's root) as uprobes
 * see it: the inode its pages come from. For a container image on overlayfs
 * that is the layer's inode, shared by every container of the image, while
 * stat() gives each container's mount a device number of its own (and so
 * does /proc/PID/maps on current kernels). When all layers of pid's overlay
 * mount are on one file system, overlayfs reports the layers' inode numbers,
 * and the layers' device completes the identity; otherwise stat's identity
 * is used. 0, or -1 with errno (stat failed).
 */
int st_file_real_id(int pid, const char *path, dev_t *dev, ino_t *ino);

/* The agent is in PID 1's mount namespace (on the host, not in a container). */
bool st_in_host_mnt_ns(void);

/* Call fn for every process in /proc (not threads); stops at fn != 0. */
typedef int (*st_pid_fn)(void *ctx, int pid);
int st_proc_each(st_pid_fn fn, void *ctx);

/*
 * A file of a process, by two paths: entry, where the agent opens it (a
 * /proc path: the very file, even when renamed or deleted), and view, the
 * path as the process names it.
 */
typedef int (*st_file_fn)(void *ctx, const char *entry, const char *view);

/*
 * Call fn for every file pid has open (/proc/PID/fd/N) or mapped
 * (/proc/PID/map_files/A-B) whose link names a path; stops at fn != 0 and
 * returns that.
 */
int st_proc_each_file(int pid, st_file_fn fn, void *ctx);
/* The same for its open files only (/proc/PID/fd). */
int st_proc_each_fd(int pid, st_file_fn fn, void *ctx);

/*
 * The kernel's walk up from a file ("x.gguf/models/srv", last component
 * first; lifecycle_abi.h) as a path from its file system's root
 * ("/srv/models/x.gguf", whole components only if out is too small); name
 * gets the file's own name ("x.gguf"). Both "" for "".
 */
void st_walked_path(const char *rev, char *out, size_t len, char *name, size_t namelen);

/* A path as some process sees it. */
typedef int (*st_view_fn)(void *ctx, const char *view);

/*
 * Call fn with every path by which pid (0: the host, see st_host_path)
 * sees the file at fs_path inside the file system on dev (absolute from
 * that file system's root, as the page cache knows it): each mount of dev
 * in its mountinfo whose root holds fs_path. Open it with
 * st_proc_open_in_root. Stops at fn != 0 and returns that.
 */
int st_mount_path(int pid, dev_t dev, const char *fs_path, st_view_fn fn, void *ctx);

#endif /* SEALTRACE_DISCOVER_H */
