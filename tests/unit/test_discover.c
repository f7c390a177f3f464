// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for discovery and model fingerprints: container ids, library
 * name matching, /proc paths (user/targets/discover.c), model globs and the hashing
 * worker (user/targets/model.c), lifecycle wait statuses, and the config keys they
 * read (preset, hold, model_globs, models).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "sealtrace/config/config.h"
#include "sealtrace/targets/discover.h"
#include "sealtrace/targets/lifecycle.h"
#include "sealtrace/targets/model.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_container_id(void **state)
{
	char id[ST_CONTAINER_ID_LEN + 1];

	assert_int_equal(st_container_id("0::/system.slice/docker-" ID64 ".scope\n", id), 0);
	assert_string_equal(id, ID64);
	assert_int_equal(st_container_id("0::/kubepods.slice/kubepods-burstable.slice/"
					 "cri-containerd-" ID64 ".scope\n", id), 0);
	assert_string_equal(id, ID64);
	assert_int_equal(st_container_id("0::/machine.slice/crio-" ID64 ".scope\n", id), 0);
	assert_string_equal(id, ID64);
	/* cgroup v1: several lines, the id in each */
	assert_int_equal(st_container_id("12:cpu:/docker/" ID64 "\n11:memory:/docker/" ID64 "\n",
					 id), 0);
	assert_string_equal(id, ID64);
	/* upper case is normalised */
	assert_int_equal(st_container_id("0::/docker/0123456789ABCDEF0123456789abcdef"
					 "0123456789abcdef0123456789abcdef\n", id), 0);
	assert_string_equal(id, ID64);
	/* not in a container; 63 or 65 hex digits are no id */
	assert_int_equal(st_container_id("0::/user.slice/user-0.slice/session-1.scope\n", id), -1);
	assert_string_equal(id, "");
	assert_int_equal(st_container_id("0::/docker/" ID64 "0\n", id), -1);
	assert_int_equal(st_container_id("0::/docker/0123456789abcdef0123456789abcdef"
					 "0123456789abcdef0123456789abcde\n", id), -1);
	assert_int_equal(st_container_id("", id), -1);
}

static void test_lib_names(void **state)
{
	char stem[64];

	st_lib_stem("libllama.so", stem, sizeof(stem));
	assert_string_equal(stem, "libllama");
	st_lib_stem("/usr/lib/libonnxruntime.so.1.17", stem, sizeof(stem));
	assert_string_equal(stem, "libonnxruntime");
	st_lib_stem("libfoo", stem, sizeof(stem));
	assert_string_equal(stem, "libfoo");
	st_lib_stem("libllama.so", stem, 4);
	assert_string_equal(stem, "lib");

	assert_true(st_lib_matches("libllama.so", "/opt/x/libllama.so"));
	assert_true(st_lib_matches("libllama.so", "/opt/x/libllama.so.0"));
	assert_true(st_lib_matches("libllama.so", "/opt/x/libllama.v0.5.0.so"));
	assert_true(st_lib_matches("libllama.so", "libllama.so.0.5.0"));
	assert_false(st_lib_matches("libllama.so", "/opt/x/libllama-common.so"));
	assert_false(st_lib_matches("libllama.so", "/opt/libllama.so.d/libfoo.so"));
	assert_false(st_lib_matches("libllama.so", "/opt/x/libllama.a"));
	assert_false(st_lib_matches("libllama.so", "/opt/x/libllamax.so"));
	assert_false(st_lib_matches(".so", "/opt/x/.so"));
	assert_string_equal(st_basename("/a/b/c"), "c");
	assert_string_equal(st_basename("c"), "c");
	assert_string_equal(st_basename("/a/"), "");
}

static void test_proc_paths(void **state)
{
	char out[64];

	assert_int_equal(st_proc_path(42, AT_FDCWD, "/models/m.gguf", out, sizeof(out)), 0);
	assert_string_equal(out, "/proc/42/root/models/m.gguf");
	assert_int_equal(st_proc_path(42, AT_FDCWD, "m.gguf", out, sizeof(out)), 0);
	assert_string_equal(out, "/proc/42/cwd/m.gguf");
	assert_int_equal(st_proc_path(42, 7, "m.gguf", out, sizeof(out)), 0);
	assert_string_equal(out, "/proc/42/fd/7/m.gguf");
	/* never a cut path */
	assert_int_equal(st_proc_path(42, AT_FDCWD, "/a/very/long/path/that/does/not/fit/in/"
				      "the/buffer/at/all.gguf", out, sizeof(out)), -1);
}

static int count_self(void *ctx, int pid)
{
	int *found = ctx;

	if (pid == (int)getpid())
		(*found)++;
	return 0;
}

static void test_proc_self(void **state)
{
	struct st_proc_info *pi = malloc(sizeof(*pi));
	char err[256], lib[4096];
	int found = 0;

	assert_non_null(pi);
	assert_int_equal(st_proc_info(getpid(), pi, err, sizeof(err)), 0);
	assert_string_equal(st_basename(pi->exe), "test_discover");
	assert_string_equal(pi->comm, "test_discover");
	/* this test links libc: it is in our maps */
	assert_int_equal(st_proc_find_lib(getpid(), "libc.so", lib, sizeof(lib)), 0);
	assert_true(st_lib_matches("libc.so", lib));
	assert_int_equal(st_proc_find_lib(getpid(), "libnothere.so", lib, sizeof(lib)), -1);
	/* a path target's library: the exact path of a mapping, nothing else */
	assert_true(st_proc_maps_file(getpid(), lib));
	assert_false(st_proc_maps_file(getpid(), st_basename(lib)));
	assert_false(st_proc_maps_file(getpid(), "/nonexistent/libc.so.6"));
	assert_false(st_proc_maps_file(0x7ffffff, lib));
	assert_int_equal(st_proc_info(0x7ffffff, pi, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/proc/"));
	assert_int_equal(st_proc_each(count_self, &found), 0);
	assert_int_equal(found, 1);
	free(pi);
}

/* The kernel's walk up from a file, as a path from its file system's root. */
static void test_walked_path(void **state)
{
	char out[32], name[16], small[12];

	st_walked_path("x.gguf/models/srv", out, sizeof(out), name, sizeof(name));
	assert_string_equal(out, "/srv/models/x.gguf");
	assert_string_equal(name, "x.gguf");
	st_walked_path("x.gguf", out, sizeof(out), name, sizeof(name));
	assert_string_equal(out, "/x.gguf");
	assert_string_equal(name, "x.gguf");
	st_walked_path("", out, sizeof(out), name, sizeof(name));
	assert_string_equal(out, "");
	assert_string_equal(name, "");
	/* too long for out: whole components from the root only */
	st_walked_path("x.gguf/models/srv", small, sizeof(small), name, sizeof(name));
	assert_string_equal(small, "/srv/models");
	/* a name longer than its buffer is cut, never overrun */
	st_walked_path("a-very-long-model-name.gguf", out, sizeof(out), name, sizeof(name));
	assert_string_equal(name, "a-very-long-mod");
}

struct found_file {
	int n;
	char view[4096];
};

static int note_view(void *ctx, const char *view)
{
	struct found_file *f = ctx;

	f->n++;
	snprintf(f->view, sizeof(f->view), "%s", view);
	return 1;
}

static int note_fd(void *ctx, const char *entry, const char *view)
{
	struct found_file *f = ctx;

	if (strcmp(view, f->view))
		return 0;
	f->n++;
	return 1;
}

/*
 * A file by its device and its path in that file system: found through
 * this process's mounts (a file on a mount whose root is the file
 * system's root; skipped where there is none); an open file by its fd.
 */
static void test_files_of_process(void **state)
{
	char path[] = "/tmp/st-unit-walk-XXXXXX", real[4096], link[64];
	struct found_file f = { 0 };
	struct stat st, st2;
	int fd = mkstemp(path), other;

	assert_true(fd >= 0);
	assert_non_null(realpath(path, real));
	assert_int_equal(fstat(fd, &st), 0);
	/* the fd is among our files, named by its path */
	snprintf(f.view, sizeof(f.view), "%s", real);
	assert_int_equal(st_proc_each_fd(getpid(), note_fd, &f), 1);
	assert_int_equal(f.n, 1);
	/* a device no mount has: nothing */
	f.n = 0;
	assert_int_equal(st_mount_path(getpid(), makedev(4095, 1048575), real, note_view, &f), 0);
	assert_int_equal(f.n, 0);
	/* the file, if / of its file system is mounted at / (a plain host) */
	if (st_mount_path(getpid(), st.st_dev, real, note_view, &f) == 1) {
		assert_string_equal(f.view, real);
		/* opened in our root: the same file; a symlink refused when asked */
		other = st_proc_open_in_root(getpid(), f.view, true);
		assert_true(other >= 0);
		assert_int_equal(fstat(other, &st2), 0);
		assert_int_equal(st2.st_ino, st.st_ino);
		close(other);
	}
	snprintf(link, sizeof(link), "%s.lnk", path);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(st_proc_open_in_root(getpid(), link, true), -1);
	assert_int_equal(errno, ELOOP);
	other = st_proc_open_in_root(getpid(), link, false);
	assert_true(other >= 0);
	close(other);
	unlink(link);
	close(fd);
	unlink(path);
}

/* The host's file of a path target: as it is when the agent shares PID 1's mounts. */
static void test_host_path(void **state)
{
	char out[64];

	assert_int_equal(st_host_path("/usr/bin/x", out, sizeof(out)), 0);
	if (st_in_host_mnt_ns())
		assert_string_equal(out, "/usr/bin/x");
	else
		assert_non_null(strstr(out, "/root/usr/bin/x"));
	assert_int_equal(st_host_path("relative", out, sizeof(out)), 0);
	assert_string_equal(out, "relative");
	/* too long for out: an error, never a truncated path */
	assert_int_equal(st_host_path("/a/very/long/path/that/does/not/fit/into/sixty/four/bytes/of/out/x",
				      out, sizeof(out)), -1);
}

static void test_wait_status(void **state)
{
	int code, sig;

	st_wait_status(0, &code, &sig);
	assert_int_equal(code, 0);
	assert_int_equal(sig, 0);
	st_wait_status(3 << 8, &code, &sig);
	assert_int_equal(code, 3);
	assert_int_equal(sig, 0);
	st_wait_status(9, &code, &sig);
	assert_int_equal(code, -1);
	assert_int_equal(sig, 9);
	st_wait_status(11 | 0x80, &code, &sig);	/* core dumped */
	assert_int_equal(sig, 11);
}

static void test_model_globs(void **state)
{
	const char *const mine[] = { "model-*.onnx", "weights" };

	assert_true(st_model_glob_match(st_default_model_globs, st_default_model_nglobs,
					"/models/tiny-llama.gguf"));
	assert_true(st_model_glob_match(st_default_model_globs, st_default_model_nglobs,
					"rel/model.safetensors"));
	assert_true(st_model_glob_match(st_default_model_globs, st_default_model_nglobs,
					"/m/pytorch_model.bin"));
	assert_false(st_model_glob_match(st_default_model_globs, st_default_model_nglobs,
					 "/usr/lib/libllama.so"));
	assert_false(st_model_glob_match(st_default_model_globs, st_default_model_nglobs,
					 "/models.gguf/config.json"));
	/* Ollama's blobs are named by their sha256 */
	assert_true(st_model_glob_match(st_default_model_globs, st_default_model_nglobs,
					"/root/.ollama/models/blobs/sha256-6a0746a1ec1a"));
	assert_true(st_model_glob_match(mine, 2, "/x/model-v2.onnx"));
	assert_true(st_model_glob_match(mine, 2, "/x/weights"));
	assert_false(st_model_glob_match(mine, 2, "/x/other.onnx"));
}

static int temp_file(const char *content, size_t len)
{
	char path[] = "/tmp/st-test-model-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	return fd;
}

/* A blob named like Ollama's is a model only when it is GGUF; other names always. */
static void test_model_content(void **state)
{
	int gguf = temp_file("GGUF\x03\0\0\0rest", 12), text = temp_file("{{ .Prompt }}", 13);
	int tiny = temp_file("GG", 2);

	assert_true(st_model_content_ok(gguf, "/b/sha256-aa"));
	assert_false(st_model_content_ok(text, "/b/sha256-bb"));
	assert_false(st_model_content_ok(tiny, "/b/sha256-cc"));
	assert_true(st_model_content_ok(text, "/m/weights.bin"));
	assert_true(st_model_content_ok(tiny, "sha256.gguf"));
	close(gguf);
	close(text);
	close(tiny);
}

static void test_hasher(void **state)
{
	static const char *const want[] = {
		/* sha256("abc"), sha256("") */
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	};
	struct st_hash_result r;
	struct st_hash_job job;
	struct st_model_hasher *h;
	struct timespec ms = { 0, 1000000 };
	char err[256];
	int got = 0, spins = 0;

	assert_int_equal(st_model_hasher_start(&h, err, sizeof(err)), 0);
	memset(&job, 0, sizeof(job));
	job.fd = temp_file("abc", 3);
	lseek(job.fd, 0, SEEK_END);	/* hashing does not depend on the offset */
	job.pid = 1;
	job.tag = 10;
	snprintf(job.path, sizeof(job.path), "/m/a.gguf");
	assert_int_equal(st_model_hasher_submit(h, &job), 0);
	job.fd = temp_file("", 0);
	job.pid = 2;
	job.tag = 20;
	assert_int_equal(st_model_hasher_submit(h, &job), 0);
	while (got < 2 && spins++ < 5000) {
		if (st_model_hasher_take(h, &r) != 1) {
			nanosleep(&ms, NULL);
			continue;
		}
		/* in order: the worker is one FIFO */
		assert_int_equal(r.pid, got + 1);
		assert_int_equal(r.tag, (uint64_t)(got + 1) * 10);
		assert_int_equal(r.error, 0);
		assert_int_equal(r.size, got ? 0 : 3);
		assert_string_equal(r.sha256, want[got]);
		got++;
	}
	assert_int_equal(got, 2);
	assert_int_equal(st_model_hasher_pending(h), 0);
	assert_int_equal(st_model_hasher_take(h, &r), 0);
	/* a job still queued at stop is finished and freed, not leaked */
	job.fd = temp_file("x", 1);
	assert_int_equal(st_model_hasher_submit(h, &job), 0);
	st_model_hasher_stop(h);
}

/* ---- config keys ---- */

#define H "system_id: s\noperator_id: o\n"

static int load(const char *yaml, struct st_config *cfg, char *err)
{
	return st_config_load_string("t.yaml", yaml, strlen(yaml), cfg, err, ST_ERR_LEN);
}

static void test_config_preset(void **state)
{
	static const char yaml[] =
		H "targets:\n"
		"  - name: llm\n"				/* 4 */
		"    preset: llama.cpp\n"
		"    hold: false\n"
		"    model_globs: [\"*.gguf\", \"model-*\"]\n"
		"  - name: extra\n"				/* 8 */
		"    preset: llama.cpp\n"
		"    exe: llama-server\n"
		"    probes:\n"
		"      - symbol: llama_detokenize\n";
	struct st_config cfg;
	char err[ST_ERR_LEN] = "";
	const struct st_target_cfg *t;
	const struct st_probe_cfg *p;

	assert_int_equal(load(yaml, &cfg, err), 0);
	assert_int_equal(cfg.ntargets, 2);
	t = &cfg.targets[0];
	assert_string_equal(t->preset, "llama.cpp");
	assert_string_equal(t->maps, "libllama.so");	/* the preset's default */
	assert_null(t->exe);
	assert_true(t->no_hold);
	assert_int_equal(t->nmodel_globs, 2);
	assert_string_equal(t->model_globs[1], "model-*");
	assert_int_equal(t->nprobes, 2);
	p = &t->probes[0];
	assert_string_equal(p->symbol, "llama_tokenize");
	assert_int_equal(p->in.mode, ST_LEN_FETCH);
	assert_int_equal(p->in.ptr.reg, ST_REG_SI);
	assert_int_equal(p->in.len.reg, ST_REG_DX);
	assert_int_equal(p->in.len.type, ST_FT_S32);
	assert_int_equal(p->in.elem_size, 1);
	assert_int_equal(p->in.at, ST_AT_ENTRY);
	assert_int_equal(p->out.mode, ST_LEN_FETCH);
	assert_int_equal(p->out.ptr.reg, ST_REG_CX);
	assert_int_equal(p->out.len.reg, ST_REG_AX);
	assert_int_equal(p->out.elem_size, 4);
	assert_int_equal(p->out.at, ST_AT_RETURN);
	assert_int_equal(p->out.len_at_return, 1);
	assert_int_equal(p->line, 5);
	p = &t->probes[1];
	assert_string_equal(p->symbol, "llama_decode");
	assert_int_equal(p->in.ptr.reg, ST_REG_SP);
	assert_int_equal(p->in.ptr.nderef, 1);
	assert_int_equal(p->in.ptr.off[0], 16);
	assert_int_equal(p->in.len.off[0], 8);
	assert_int_equal(p->in.len.type, ST_FT_S32);
	assert_int_equal(p->in.elem_size, 4);
	assert_int_equal(p->out.mode, ST_LEN_NONE);
	/* exe given: still the library (exe narrows the processes); own probes after */
	t = &cfg.targets[1];
	assert_string_equal(t->maps, "libllama.so");
	assert_string_equal(t->exe, "llama-server");
	assert_false(t->no_hold);
	assert_null(t->model_globs);
	assert_int_equal(t->nprobes, 3);
	assert_string_equal(t->probes[2].symbol, "llama_detokenize");
	assert_null(cfg.model_globs);
	assert_int_equal(cfg.nmodels, 0);
	st_config_free(&cfg);
}

static void test_config_models(void **state)
{
	static const char yaml[] =
		H "model_globs: [\"*.gguf\"]\n"
		"models:\n"
		"  - {sha256: 40C456C37F6A0DFBB9831D10BFD14C3D10F7816F80B0145C9DA6CA2D1D051373,"
		" version: tiny-1.0}\n"
		"  - sha256: " ID64 "\n"
		"    version: other\n"
		"targets:\n  - name: t\n    exe: server\n    probes:\n      - symbol: f\n";
	struct st_config cfg;
	char err[ST_ERR_LEN] = "";

	assert_int_equal(load(yaml, &cfg, err), 0);
	assert_int_equal(cfg.nmodel_globs, 1);
	assert_string_equal(cfg.model_globs[0], "*.gguf");
	assert_int_equal(cfg.nmodels, 2);
	/* digests are kept lower-case: they are compared with sha256 output */
	assert_string_equal(cfg.models[0].sha256,
			    "40c456c37f6a0dfbb9831d10bfd14c3d10f7816f80b0145c9da6ca2d1d051373");
	assert_string_equal(cfg.models[0].version, "tiny-1.0");
	assert_int_equal(cfg.models[0].line, 5);
	assert_string_equal(cfg.models[1].sha256, ID64);
	assert_string_equal(cfg.models[1].version, "other");
	st_config_free(&cfg);
}

struct bad {
	const char *yaml;
	const char *msg;
};

#define TGT "targets:\n  - name: t\n    exe: server\n    probes:\n      - symbol: f\n"

static const struct bad bad_cases[] = {
	{ H "targets:\n  - name: t\n    preset: vllm\n",
	  "t.yaml:5: targets[0].preset: 'vllm' is not one of: llama.cpp" },
	{ H "targets:\n  - name: t\n    exe: s\n",
	  "t.yaml:4: targets[0].probes: required key is missing" },
	{ H "targets:\n  - name: t\n    exe: /usr/bin/s\n    probes:\n      - symbol: f\n",
	  "t.yaml:5: targets[0].exe: is an executable name, not a path" },
	{ H "targets:\n  - name: t\n    hold: 1\n    exe: s\n    probes:\n      - symbol: f\n",
	  "t.yaml:5: targets[0].hold: must be true or false, got '1'" },
	{ H "targets:\n  - name: t\n    exe: s\n    model_globs: \"*.gguf\"\n    probes:\n"
	  "      - symbol: f\n",
	  "t.yaml:6: targets[0].model_globs: must be a list" },
	{ H "model_globs: [\"\"]\n" TGT, "t.yaml:3: model_globs[0]: must not be empty" },
	{ H "models:\n  - {sha256: abc, version: v}\n" TGT,
	  "t.yaml:4: models[0].sha256: must be 64 hex digits" },
	{ H "models:\n  - {sha256: " ID64 "}\n" TGT,
	  "t.yaml:4: models[0].version: required key is missing" },
	{ H "models:\n  - {sha256: " ID64 ", version: a}\n  - {sha256: " ID64 ", version: b}\n" TGT,
	  "t.yaml:5: models[1]: duplicate sha256 (also models[0] at line 4)" },
	{ H "models:\n  - {sha256: " ID64 ", version: a, size: 3}\n" TGT,
	  "t.yaml:4: models[0].size: unknown key" },
	{ H "models: {sha256: " ID64 "}\n" TGT, "t.yaml:3: models: must be a list" },
};

/* model_globs: [] is "hash none", kept apart from an absent key ("default") */
static void test_config_no_model_globs(void **state)
{
	char err[ST_ERR_LEN] = "";
	struct st_config cfg;

	assert_int_equal(load(H "model_globs: []\n" TGT, &cfg, err), 0);
	assert_non_null(cfg.model_globs);
	assert_int_equal(cfg.nmodel_globs, 0);
	assert_null(cfg.targets[0].model_globs);
	st_config_free(&cfg);
	assert_int_equal(load(H TGT "    model_globs: []\n", &cfg, err), 0);
	assert_null(cfg.model_globs);
	assert_non_null(cfg.targets[0].model_globs);
	assert_int_equal(cfg.targets[0].nmodel_globs, 0);
	st_config_free(&cfg);
}

static void test_config_errors(void **state)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char err[ST_ERR_LEN] = "";
		struct st_config cfg;

		if (load(bad_cases[i].yaml, &cfg, err) != -1) {
			print_error("case %zu loaded but should fail\n", i);
			st_config_free(&cfg);
			bad++;
			continue;
		}
		if (strncmp(err, bad_cases[i].msg, strlen(bad_cases[i].msg))) {
			print_error("case %zu: error\n  %s\ndoes not start with\n  %s\n", i, err,
				    bad_cases[i].msg);
			bad++;
		}
		assert_null(cfg.targets);
		assert_null(cfg.models);
		assert_null(cfg.model_globs);
	}
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_lib_names),
		cmocka_unit_test(test_proc_paths),
		cmocka_unit_test(test_proc_self),
		cmocka_unit_test(test_host_path),
		cmocka_unit_test(test_walked_path),
		cmocka_unit_test(test_files_of_process),
		cmocka_unit_test(test_wait_status),
		cmocka_unit_test(test_model_globs),
		cmocka_unit_test(test_model_content),
		cmocka_unit_test(test_hasher),
		cmocka_unit_test(test_config_preset),
		cmocka_unit_test(test_config_models),
		cmocka_unit_test(test_config_no_model_globs),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
