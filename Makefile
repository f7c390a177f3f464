# SPDX-License-Identifier: Apache-2.0
#
# sealtrace: build the BPF objects, their skeletons, then the agent.
#
#   make            build/sealtrace
#   make deps       install missing Debian 12 packages (apt-get, as root)
#   make test       deps + build + cppcheck + unit tests (ASan/UBSan) + e2e tests (root)
#   make run        deps + build + the agent against the demo model server
#   make bench      benchmarks (not part of make test)
#
# Layout follows libbpf-bootstrap: bpf/x.bpf.c -> build/x.bpf.o ->
# build/x.skel.h (bpftool gen skeleton) -> user/x.c -> build/sealtrace.

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
LDLIBS := -lbpf -lelf -lz -lcrypto -lyaml -lmicrohttpd -lpq -lpthread

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Iinclude -Ivmlinux/$(ARCH)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
HDRS := $(wildcard include/sealtrace/*.h) $(wildcard user/*.h)

# user/main.c holds main(); every other user/*.c is a module that unit
# tests link against.
USER_SRCS := $(wildcard user/*.c)
MODULE_SRCS := $(filter-out user/main.c,$(USER_SRCS))
USER_OBJS := $(patsubst user/%.c,$(OUT)/obj/%.o,$(USER_SRCS))

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
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(patsubst examples/%.c,$(OUT)/examples/%,$(EXAMPLE_SRCS))

.PHONY: all deps test unit e2e run bench clean mounts lint
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS)

all: $(OUT)/sealtrace $(TARGET_BINS) $(TARGET_CXX_BINS) $(EXAMPLE_BINS)

deps:
	@scripts/deps.sh

$(OUT) $(OUT)/obj $(OUT)/san $(OUT)/unit $(OUT)/targets $(OUT)/examples:
	@mkdir -p $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(HDRS) vmlinux/$(ARCH)/vmlinux.h | $(OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(OUT)/obj/%.o: user/%.c $(HDRS) $(SKELS) | $(OUT)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/sealtrace: $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/san/%.o: user/%.c $(HDRS) $(SKELS) | $(OUT)/san
	$(CC) $(CFLAGS) -O1 $(SAN) -c $< -o $@

$(OUT)/unit/%: tests/unit/%.c $(SAN_OBJS) $(HDRS) | $(OUT)/unit
	$(CC) $(CFLAGS) -O1 $(SAN) -Itests/unit $< $(SAN_OBJS) -o $@ $(LDLIBS) -lcmocka

$(OUT)/targets/%: tests/targets/%.c | $(OUT)/targets
	$(CC) -g -O2 -Wall -Wextra -Werror -fno-inline -pthread $(TARGET_CFLAGS_$*) $< -o $@ $(TARGET_LDLIBS_$*)

$(OUT)/targets/%: tests/targets/%.cc | $(OUT)/targets
	$(CXX) -g -O2 -Wall -Wextra -Werror -fno-inline -pthread $< -o $@

$(OUT)/examples/%: examples/%.c | $(OUT)/examples
	$(CC) -g -O2 -Wall -Wextra -Werror -pthread $< -o $@

# Targets share tests/targets/*.h (start protocol, input generator).
$(TARGET_BINS) $(TARGET_CXX_BINS): $(wildcard tests/targets/*.h)

# A CET build (endbr64 at every function start) for the placement test.
TARGET_CFLAGS_cet_target := -fcf-protection=full

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
	@$(MAKE) --no-print-directory e2e

run: deps
	@$(MAKE) --no-print-directory all
	@examples/run-demo.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@bench/run.sh

# --- bench ---
# bench/floor: an empty uprobe+uretprobe pair (the kernel's floor) placed by
# the agent's own symbol code, so floor and agent probe the same site.
BENCH_BINS := $(OUT)/bench/floor
.SECONDARY: $(OUT)/bench/floor.bpf.o $(OUT)/bench/floor.skel.h

$(OUT)/bench:
	@mkdir -p $@

$(OUT)/bench/%.bpf.o: bench/%.bpf.c vmlinux/$(ARCH)/vmlinux.h | $(OUT)/bench
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/%.skel.h: $(OUT)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(OUT)/bench/floor: bench/floor.c $(OUT)/bench/floor.skel.h $(OUT)/obj/symbols.o $(HDRS)
	$(CC) $(CFLAGS) -I$(OUT)/bench $< $(OUT)/obj/symbols.o -o $@ -lbpf -lelf -lz -lcrypto
# --- end bench ---

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr -Iinclude -DLIBBPF_OPTS\(TYPE,NAME,...\)="struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }" \
		--suppress=missingIncludeSystem user/ tests/unit/

clean:
	rm -rf $(OUT)

# --- records ---
# Records pipeline tools and end-to-end checks (issue 3).
# Keep sanitizer objects between unit-test binaries instead of rebuilding.
.SECONDARY: $(SAN_OBJS)
MODULE_OBJS := $(patsubst user/%.c,$(OUT)/obj/%.o,$(MODULE_SRCS))

$(OUT)/tools:
	@mkdir -p $@

# gen_log: the pipeline without BPF; builds tamper-suite logs, prints events/s.
$(OUT)/tools/gen_log: tests/tools/gen_log.c $(MODULE_OBJS) $(HDRS) | $(OUT)/tools
	$(CC) $(CFLAGS) $< $(MODULE_OBJS) -o $@ $(LDLIBS)

# tests/e2e/tamper.sh runs with the other e2e tests (tests/e2e/run.sh).
all: $(OUT)/tools/gen_log

# Pipeline throughput without BPF (events/s per core).
.PHONY: records-bench
records-bench: $(OUT)/sealtrace $(OUT)/tools/gen_log
	@tests/tools/bench_records.sh
