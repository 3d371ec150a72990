# SPDX-License-Identifier: MIT
#
#   make            build build/vmm
#   make run        build and boot the default VM (the test guest)
#   make test       build everything and run every test
#   make bench      side-by-side benchmarks against peers
#
# Missing Debian packages are installed when running as root; otherwise the
# exact apt-get command is printed.

CC       ?= gcc
BUILD    := build
CFLAGS   := -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -I. \
	    -fno-strict-aliasing $(EXTRA_CFLAGS)
LDFLAGS  := $(EXTRA_LDFLAGS)
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=undefined

BUILD_DEPS := libfdt-dev libjson-c-dev libaio-dev libcriterion-dev pkg-config
# busybox-static: the agent tests run "busybox nc" as a TCP server to forward to.
TEST_DEPS  := lz4 iproute2 busybox-static
BENCH_DEPS := qemu-system-x86

# The VMM: every .c under vmm/, boot/ and devices/ except the entry point
# goes into a library that the tests link as well.
VMM_LIB_SRCS := $(filter-out vmm/main.c, \
		$(wildcard vmm/*.c boot/*.c devices/*.c devices/virtio/*.c))
VMM_LIBS     := -lpthread -ljson-c

VMM_LIB_OBJS   := $(VMM_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
VMM_LIB_ASAN   := $(VMM_LIB_SRCS:%.c=$(BUILD)/asan/%.o)

.PHONY: all run test bench deps test-deps bench-deps clean
all: $(BUILD)/vmm

deps:
	@tools/install-deps.sh $(BUILD_DEPS)
test-deps: deps
	@tools/install-deps.sh $(TEST_DEPS)
bench-deps: deps
	@tools/install-deps.sh $(BENCH_DEPS)

$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANITIZE) -MMD -MP -c $< -o $@

$(BUILD)/libvmm.a: $(VMM_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libvmm-asan.a: $(VMM_LIB_ASAN)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/vmm: $(BUILD)/obj/vmm/main.o $(BUILD)/libvmm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)

$(BUILD)/vmm-asan: $(BUILD)/asan/vmm/main.o $(BUILD)/libvmm-asan.a
	$(CC) $(SANITIZE) $(LDFLAGS) -o $@ $^ $(VMM_LIBS)

# Criterion's runner keeps a few bytes it never frees; nothing of ours is hidden.
TEST_LSAN := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp

include images/images.mk
include guest-agent/agent.mk
include tests/tests.mk
include devices/virtio/virtio.mk
include devices/virtio/vsock.mk
include vmm/api/api.mk
include tools/bench/bench.mk

bench: $(BENCH_TARGETS)

# The default VM: the test guest, told what to expect, on 2 vCPUs.
run: $(BUILD)/vmm $(BUILD)/images/testguest.bzImage
	$(BUILD)/vmm --kernel $(BUILD)/images/testguest.bzImage --memory 64 \
		--cpus 2 --cmdline "console=ttyS0 testguest.cpus=2 testguest.mem=64"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
