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

BUILD_DEPS := libfdt-dev libjson-c-dev libaio-dev libcriterion-dev \
	      libseccomp-dev pkg-config
TEST_DEPS  := lz4 iproute2
BENCH_DEPS := qemu-system-x86

.PHONY: all run deps test-deps bench-deps clean
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

# The libraries (lib.a, libvmm.a, libclient.a and their -asan twins): each
# .mk names its objects; programs take the ones they use.
$(BUILD)/%.a:
	@rm -f $@
	ar rcs $@ $^

# Criterion's runner keeps a few bytes it never frees; nothing of ours is hidden.
TEST_LSAN := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp

include lib/lib.mk
include vmm/vmm.mk
include guest-agent/agent.mk
include client/client.mk
include images/images.mk
include images/linux/linux.mk
include tests/tests.mk
include tests/bench/bench.mk
include tests/fuzz/fuzz.mk

# The default VM: the test guest, told what to expect, on 2 vCPUs.
run: $(BUILD)/vmm $(BUILD)/images/testguest.bzImage
	$(BUILD)/vmm --kernel $(BUILD)/images/testguest.bzImage --memory 64 \
		--cpus 2 --cmdline "console=ttyS0 testguest.cpus=2 testguest.mem=64"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
