# SPDX-License-Identifier: MIT
#
#   make            build build/vmm
#   make ARCH=arm64 build build/arm64/{vmm,vmmctl,guest-agent} (cross from
#                   x86, or natively on an arm64 host)
#   make run        build and boot the default VM (Linux with a shell where
#                   the CPU has VT-x/AMD-V, the test guest elsewhere)
#   make test       build everything and run every test
#   make bench      side-by-side benchmarks against peers
#   make install    install under PREFIX (default /usr/local), DESTDIR honoured
#
# Missing Debian packages are installed when running as root; otherwise the
# exact apt-get command is printed.

HOST_ARCH := $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(shell uname -m)))
ARCH     ?= $(HOST_ARCH)
CFLAGS   := -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -I. \
	    -fno-strict-aliasing $(EXTRA_CFLAGS)
LDFLAGS  := $(EXTRA_LDFLAGS)
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=undefined

# x86 builds into build/, arm64 into build/arm64/, from either host.
FDT_LIB := -lfdt
ifeq ($(ARCH),x86)
BUILD      := build
BUILD_DEPS := libfdt-dev libjson-c-dev libaio-dev libcriterion-dev \
	      libseccomp-dev pkg-config
else ifeq ($(ARCH),arm64)
BUILD      := build/arm64
ifeq ($(HOST_ARCH),arm64)
BUILD_DEPS := libfdt-dev libjson-c-dev libaio-dev libseccomp-dev
else
ifeq ($(origin CC),default)
CC         := aarch64-linux-gnu-gcc
endif
# libfdt-dev cannot be installed for two architectures at once: the
# cross build takes the host's headers and links the arm64 runtime library.
BUILD_DEPS := gcc-aarch64-linux-gnu libc6-dev-arm64-cross libfdt-dev \
	      libfdt1:arm64 libjson-c-dev:arm64 libaio-dev:arm64 \
	      libseccomp-dev:arm64
FDT_LIB    := -l:libfdt.so.1
endif
else
$(error ARCH=$(ARCH): the VMM is built for x86 or arm64)
endif
# busybox-static: the agent tests run "busybox nc" as a TCP server to forward to.
TEST_DEPS  := lz4 iproute2 busybox-static acpica-tools
BENCH_DEPS := qemu-system-x86

.PHONY: all run deps test-deps bench-deps clean
ifeq ($(ARCH),x86)
all: $(BUILD)/vmm
else
all: $(BUILD)/vmm $(BUILD)/vmmctl $(BUILD)/guest-agent
endif

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
include dist/install.mk
# The test guests, the suites and the benchmarks run on the x86 host; the
# arm64 build is tested there too (the device tree and Image unit tests,
# and the arm64 Linux suite in an emulated arm64 KVM host).
ifeq ($(ARCH),x86)
include images/images.mk
include images/linux/linux.mk
include images/linux-min/linux-min.mk
include images/testhost/testhost.mk
include tests/tests.mk
include tests/bench/bench.mk
include tests/fuzz/fuzz.mk
include images/arm64/arm64.mk
endif

ifeq ($(ARCH),x86)
# The default VM. Where the CPU has VT-x or AMD-V: Debian's kernel with a
# shell on the serial console. Elsewhere KVM would run Linux in its
# instruction emulator (minutes to a shell, if ever): the test guest, told
# what to expect, on 2 vCPUs.
RUN_LINUX_LINE := console=ttyS0 panic=1 quiet vmm.shell=1
RUN_GUEST_LINE := console=ttyS0 testguest.cpus=2 testguest.mem=64

run: $(BUILD)/vmm
	@if grep -qwE 'vmx|svm' /proc/cpuinfo; then \
		echo "make run: this CPU has hardware virtualization (vmx/svm in /proc/cpuinfo):" \
		     "booting the Linux test image to a shell on the serial console; Ctrl-A x quits"; \
		$(MAKE) -s --no-print-directory linux-image && \
		exec $(BUILD)/vmm --kernel $(LINUX_DIR)/vmlinux \
			--initrd $(LINUX_DIR)/initramfs.cpio.gz --memory 512 \
			--cpus 2 --cmdline "$(RUN_LINUX_LINE)"; \
	else \
		echo "make run: no hardware virtualization (no vmx/svm in /proc/cpuinfo), so KVM" \
		     "would run Linux in its instruction emulator: booting the test guest instead"; \
		$(MAKE) -s --no-print-directory $(BUILD)/images/testguest.bzImage && \
		exec $(BUILD)/vmm --kernel $(BUILD)/images/testguest.bzImage \
			--memory 64 --cpus 2 --cmdline "$(RUN_GUEST_LINE)"; \
	fi
endif

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
