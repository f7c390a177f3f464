# SPDX-License-Identifier: Apache-2.0
#
# sealtrace: build the BPF objects, their skeletons, then the agent.
#
#   make            build/sealtrace, the test targets, the demo, gen_log
#   make deps       install missing Debian 12 packages (apt-get, as root)
#   make test       deps + build + lint + unit tests (ASan/UBSan) + e2e tests (root)
#   make run        deps + build + the agent against the demo model server
#   make bench      benchmarks (not part of make test)
#   make fuzz       each libFuzzer harness for FUZZ_SECONDS (not part of make test;
#                   make test replays their corpora: fuzz-regress)
#   make monitor-bench  models, reconstruct, report on a 1,000,000-event log
#   make test-container  build deploy/Dockerfile with podman and run the agent
#                   as the DaemonSet does (root; Debian mirror only)
#
# Layout follows libbpf-bootstrap: bpf/x.bpf.c -> build/x.bpf.o ->
# build/x.skel.h (bpftool gen skeleton) -> user/<stage>/x.c -> build/sealtrace.
# user/<stage>/ folders follow the data flow (docs/ARCHITECTURE.md);
# scripts/check-layout.py (make lint) keeps their includes one-way.

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
OUT := build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter
CFLAGS ?= -g -O2
CFLAGS += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(OUT) \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2
# libpq's headers (user/fleet/: PostgreSQL)
CFLAGS += -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
DEPFLAGS = -MMD -MP
LDLIBS := -lbpf -lelf -ldeflate -lz -lcrypto -lyaml -lmicrohttpd -lpq -lhttp_parser -lpthread

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -Ivmlinux/$(ARCH)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

# user/main.c holds main(); every other user/<stage>/*.c is a module that
# unit tests and tools link against.
USER_SRCS := user/main.c $(wildcard user/*/*.c)
MODULE_SRCS := $(filter-out user/main.c,$(USER_SRCS))
USER_OBJS := $(patsubst user/%.c,$(OUT)/obj/%.o,$(USER_SRCS))
MODULE_OBJS := $(patsubst user/%.c,$(OUT)/obj/%.o,$(MODULE_SRCS))

# Unit tests: tests/unit/test_x.c, built with ASan/UBSan against the modules.
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/unit/%,$(UNIT_SRCS))
SAN_OBJS := $(patsubst user/%.c,$(OUT)/san/%.o,$(MODULE_SRCS))

# Test targets (the processes the e2e tests probe) and the demo server.
TARGET_SRCS := $(wildcard tests/targets/*.c)
TARGET_BINS := $(patsubst tests/targets/%.c,$(OUT)/targets/%,$(TARGET_SRCS))
TARGET_CXX_SRCS := $(wildcard tests/targets/*.cc)
TARGET_CXX_BINS := $(patsubst tests/targets/%.cc,$(OUT)/targets/%,$(TARGET_CXX_SRCS))
TARGET_LIB_SRCS := $(wildcard tests/targets/lib/*.c)
TARGET_LIB_BINS := $(patsubst tests/targets/lib/%.c,$(OUT)/targets/lib%.so,$(TARGET_LIB_SRCS))
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(patsubst examples/%.c,$(OUT)/examples/%,$(EXAMPLE_SRCS))

# gen_log: the records pipeline without BPF (tamper-suite logs, events/s).
TOOL_BINS := $(OUT)/tools/gen_log

# bench/floor: an empty uprobe+uretprobe pair (the kernel's floor) placed by
# the agent's own symbol code, so floor and agent probe the same site.
BENCH_BINS := $(OUT)/bench/floor $(OUT)/bench/wire_floor $(OUT)/bench/seal_floor

# Fuzzing: tests/fuzz/fuzz_x.c, libFuzzer + ASan/UBSan (clang), linked
# against the modules built with coverage instrumentation.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS := $(patsubst user/%.c,$(OUT)/fuzzobj/%.o,$(MODULE_SRCS))

.PHONY: all deps test unit e2e run bench records-bench monitor-bench clean lint test-container \
	fuzz fuzz-regress
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS) $(SAN_OBJS) $(FUZZ_OBJS) $(OUT)/bench/floor.bpf.o $(OUT)/bench/floor.skel.h \
	$(OUT)/bench/wire_floor.bpf.o $(OUT)/bench/wire_floor.skel.h

all: $(OUT)/sealtrace $(TARGET_BINS) $(TARGET_CXX_BINS) $(TARGET_LIB_BINS) $(EXAMPLE_BINS) \
	$(TOOL_BINS)

deps:
	@scripts/deps.sh

# ---- BPF objects and skeletons ----

$(OUT)/%.bpf.o: bpf/%.bpf.c vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

# The modules that open a BPF object include its skeleton; -MMD cannot know
# a generated header before it exists, so these are named here.
$(OUT)/obj/capture/capture.o $(OUT)/san/capture/capture.o $(OUT)/fuzzobj/capture/capture.o: $(OUT)/capture.skel.h
$(OUT)/obj/targets/lifecycle.o $(OUT)/san/targets/lifecycle.o $(OUT)/fuzzobj/targets/lifecycle.o: $(OUT)/lifecycle.skel.h
$(OUT)/obj/wire/wire.o $(OUT)/san/wire/wire.o $(OUT)/fuzzobj/wire/wire.o: $(OUT)/wire.skel.h

# ---- the agent ----

$(OUT)/obj/%.o: user/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUT)/sealtrace: $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/tools/gen_log: tests/tools/gen_log.c $(MODULE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) $< $(MODULE_OBJS) -o $@ $(LDLIBS)

# ---- unit tests (ASan/UBSan) ----

$(OUT)/san/%.o: user/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O1 $(SAN) $(DEPFLAGS) -c $< -o $@

$(OUT)/unit/%: tests/unit/%.c $(SAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -O1 $(SAN) $(DEPFLAGS) -Itests/unit $< $(SAN_OBJS) -o $@ $(LDLIBS) -lcmocka

# ---- fuzz harnesses (libFuzzer) ----

$(OUT)/fuzzobj/%.o: user/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS) -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c $< -o $@

$(OUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS) -O1 $(FUZZ_SAN) -fsanitize=fuzzer $(DEPFLAGS) $< $(FUZZ_OBJS) -o $@ $(LDLIBS)

# ---- processes the tests probe, and the demo ----

$(OUT)/targets/%: tests/targets/%.c
	@mkdir -p $(@D)
	$(CC) -g -O2 -Wall -Wextra -Werror -fno-inline -pthread $(DEPFLAGS) $(TARGET_CFLAGS_$*) $< -o $@ $(TARGET_LDLIBS_$*)

$(OUT)/targets/%: tests/targets/%.cc
	@mkdir -p $(@D)
	$(CXX) -g -O2 -Wall -Wextra -Werror -fno-inline -pthread $(DEPFLAGS) $< -o $@

$(OUT)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(CC) -g -O2 -Wall -Wextra -Werror -pthread $(DEPFLAGS) $< -o $@

# A library loaded at run time (dlload dlopen()s it): `path:` library targets.
$(OUT)/targets/lib%.so: tests/targets/lib/%.c
	@mkdir -p $(@D)
	$(CC) -g -O2 -Wall -Wextra -Werror -fPIC -shared $(DEPFLAGS) $< -o $@

TARGET_LDLIBS_dlload := -ldl

# A CET build (endbr64 at every function start) for the placement test.
TARGET_CFLAGS_cet_target := -fcf-protection=full

# ---- bench ----

$(OUT)/bench/%.bpf.o: bench/%.bpf.c vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUT)/bench/%.skel.h: $(OUT)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(OUT)/bench/floor: bench/floor.c $(OUT)/bench/floor.skel.h $(OUT)/obj/capture/symbols.o
	$(CC) $(CFLAGS) $(DEPFLAGS) -I$(OUT)/bench $< $(OUT)/obj/capture/symbols.o -o $@ -lbpf -lelf -lz -lcrypto

# bench/seal_floor: the least the records pipeline spends per record (no BPF)
$(OUT)/bench/seal_floor: bench/seal_floor.c $(OUT)/obj/base/digest.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) $< $(OUT)/obj/base/digest.o -o $@ -ldeflate -lcrypto

$(OUT)/bench/wire_floor: bench/wire_floor.c $(OUT)/bench/wire_floor.skel.h
	$(CC) $(CFLAGS) $(DEPFLAGS) -I$(OUT)/bench $< -o $@ -lbpf

# ---- what the README's commands run ----

unit: deps $(UNIT_BINS)
	@set -e; pass=0; fail=0; \
	for t in $(UNIT_BINS); do \
		if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; then \
			pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; \
	echo "unit: $$pass passed, $$fail failed"; test $$fail -eq 0

e2e: deps all
	@tests/e2e/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-regress
	@$(MAKE) --no-print-directory e2e

# The image, built with podman from a debootstrapped Debian 12 base, and
# the agent run in it against a host process and a containerized one.
test-container: deps
	@$(MAKE) --no-print-directory all
	@tests/container/run.sh

run: deps
	@$(MAKE) --no-print-directory all
	@examples/run-demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@bench/run.sh
	@tests/tools/bench_records.sh

# Each harness for FUZZ_SECONDS on its corpus (new inputs go to
# build/fuzz/corpus/<target>, crashes to build/fuzz/crash/<target>).
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_BINS)

# Every committed seed and regression input once (seconds): part of make test.
fuzz-regress: $(FUZZ_BINS)
	@tests/fuzz/run.sh regress 0 $(FUZZ_BINS)

# Pipeline throughput without BPF (events/s per core).
records-bench: $(OUT)/sealtrace $(OUT)/tools/gen_log
	@tests/tools/bench_records.sh

# The monitoring verbs (models, reconstruct, report) on a 1,000,000-event log.
monitor-bench: $(OUT)/sealtrace $(OUT)/tools/gen_log
	@tests/tools/bench_monitor.sh

# The layout rule (one-way includes between stage folders, no cycles
# between modules), then cppcheck.
lint:
	python3 scripts/check-layout.py
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr -Iinclude -DLIBBPF_OPTS\(TYPE,NAME,...\)="struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }" \
		--suppress=missingIncludeSystem user/ tests/unit/ tests/fuzz/ \
		bench/floor.c bench/wire_floor.c bench/seal_floor.c

clean:
	rm -rf $(OUT)

-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
