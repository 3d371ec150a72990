# SPDX-License-Identifier: MIT
# The nested test host: a QEMU TCG VM whose emulated CPU has hardware
# virtualization, so the Linux end-to-end cases (tests/linux/) run with
# real KVM on any machine. See docs/testing-linux.md.
#
#   make test-linux [CASES="blk vsock.exec_*"] [TEST_LINUX_NESTED=1]
#   make testhost-shell     the test host with a shell, to run cases by hand
#   make test-linux-extra   the groups marked "# extra" (not in make test)
#
# The cases run directly where /proc/cpuinfo shows vmx or svm, in the test
# host otherwise (or always with TEST_LINUX_NESTED=1).

TESTHOST_DIR  := $(BUILD)/images/testhost
TESTHOST_ARCH ?= $(shell uname -m)
TESTHOST_CONF := images/testhost/$(TESTHOST_ARCH).conf
TESTHOST_DEPS := $(shell sed -n 's/^QEMU_PACKAGE=//p' $(TESTHOST_CONF)) \
		 busybox-static socat e2fsprogs
TEST_LINUX_DEPS := socat e2fsprogs iproute2
# Debian's unmodified UEFI firmware, for the uefi groups (docs/uefi.md): the
# combined image, and code and variable store apart.
OVMF_FD := /usr/share/ovmf/OVMF.fd
OVMF_CODE := /usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS := /usr/share/OVMF/OVMF_VARS_4M.fd

# What the test host carries: programs (with their shared libraries),
# files and trees, as "program|file|tree:SRC:DEST". Later suites add theirs
# (firmware, disk images) with +=.
# The VMM under test; TEST_LINUX_VMM=build/vmm-asan runs the sanitized one.
TEST_LINUX_VMM ?= $(BUILD)/vmm
TESTHOST_ITEMS += \
	program:$(TEST_LINUX_VMM):/bin/vmm \
	program:$(BUILD)/vmmctl:/bin/vmmctl \
	program:$(BUILD)/bridge-client:/bin/bridge-client \
	program:$(BUILD)/bench-snapshot:/bin/bench-snapshot \
	program:$(BUILD)/agent-peer-check:/bin/agent-peer-check \
	program:/usr/bin/socat:/usr/bin/socat \
	program:/sbin/debugfs:/sbin/debugfs \
	file:$(LINUX_DIR)/vmlinux:/images/vmlinux \
	file:$(LINUX_DIR)/vmlinuz:/images/vmlinuz \
	file:$(LINUX_DIR)/initramfs.cpio.gz:/images/initramfs.cpio.gz \
	tree:tests/linux:/tests/linux \
	file:tests/dist/unit-command.sh:/tests/dist/unit-command.sh \
	file:dist/vmm@.service.in:/dist/vmm@.service.in
# The uefi groups: Debian's OVMF, and the GPT disk image it boots.
ifeq ($(TESTHOST_ARCH),x86_64)
TESTHOST_ITEMS += \
	file:$(OVMF_FD):/images/OVMF.fd \
	file:$(OVMF_CODE):/images/OVMF_CODE_4M.fd \
	file:$(OVMF_VARS):/images/OVMF_VARS_4M.fd \
	file:$(UEFI_DISK_IMAGE):/images/uefi-disk.img
TESTHOST_DEPS   += ovmf
TEST_LINUX_DEPS += ovmf
UEFI_IMAGES     := $(UEFI_DISK_IMAGE)
endif
# The extra groups (make test-linux-extra) boot the minimal kernel, built
# from source: their test host carries it, in an initramfs of its own.
TEST_LINUX_EXTRA_GROUPS := $(basename $(notdir $(shell \
	grep -lx '\# extra' tests/linux/cases/*.sh)))
ifeq ($(TEST_LINUX_EXTRA),1)
TESTHOST_ITEMS += \
	file:$(LINUX_MIN_DIR)/vmlinux:/images/linux-min/vmlinux \
	file:$(LINUX_MIN_DIR)/initramfs.cpio.gz:/images/linux-min/initramfs.cpio.gz
TESTHOST_INITRAMFS := $(TESTHOST_DIR)/initramfs-extra.cpio
TEST_LINUX_IMAGES  := $(LINUX_IMAGE) $(LINUX_MIN_IMAGE) $(UEFI_IMAGES)
else
TESTHOST_INITRAMFS := $(TESTHOST_DIR)/initramfs.cpio
TEST_LINUX_IMAGES  := $(LINUX_IMAGE) $(UEFI_IMAGES)
endif
# make bench-firmware: its test host also carries the benchmark and the
# peer it is measured against, QEMU (its libraries come along; with
# -nodefaults and OVMF as its BIOS it needs none of its data files).
ifeq ($(TESTHOST_FIRMWARE_BENCH),1)
TESTHOST_ITEMS += \
	program:$(BUILD)/bench-firmware:/bin/bench-firmware \
	program:/usr/bin/qemu-system-x86_64:/usr/bin/qemu-system-x86_64
TEST_LINUX_DEPS    += qemu-system-x86
TESTHOST_INITRAMFS := $(TESTHOST_DIR)/initramfs-bench.cpio
endif
# The build's own inputs; installed programs come with testhost-deps.
TESTHOST_INPUTS := $(filter-out /%,$(foreach i,$(TESTHOST_ITEMS),\
		   $(word 2,$(subst :, ,$(i)))))
TEST_LINUX_FILES := $(shell find tests/linux -type f)

TEST_LINUX_MODE := $(if $(filter 1,$(TEST_LINUX_NESTED)),nested,$(if \
	$(shell grep -qwE 'vmx|svm' /proc/cpuinfo && echo y),direct,nested))

.PHONY: testhost testhost-shell test-linux test-linux-direct test-linux-nested \
	test-linux-extra testhost-deps test-linux-deps
testhost-deps:
	@tools/install-deps.sh $(TESTHOST_DEPS)
test-linux-deps:
	@tools/install-deps.sh $(TEST_LINUX_DEPS)

$(TESTHOST_INITRAMFS): $(TESTHOST_CONF) $(LINUX_DIR)/kernel.deb \
		images/testhost/init images/testhost/mkinitramfs.sh \
		images/initramfs.sh $(TESTHOST_INPUTS) $(TEST_LINUX_FILES) \
		| testhost-deps
	@mkdir -p $(dir $@)
	images/testhost/mkinitramfs.sh $(TESTHOST_CONF) $(LINUX_DIR)/kernel.deb \
		images/testhost/init $@ $(TESTHOST_DIR)/work $(TESTHOST_ITEMS)
	@rm -rf $(TESTHOST_DIR)/work

testhost: $(TESTHOST_INITRAMFS)

test-linux: test-linux-$(TEST_LINUX_MODE)

test-linux-extra:
	$(MAKE) test-linux TEST_LINUX_EXTRA=1 \
		CASES="$(or $(CASES),$(TEST_LINUX_EXTRA_GROUPS))"

test-linux-direct: $(TEST_LINUX_VMM) $(BUILD)/vmmctl $(BUILD)/bridge-client \
		$(BUILD)/agent-peer-check $(BUILD)/bench-snapshot \
		$(TEST_LINUX_IMAGES) | test-linux-deps
	VMM=$(TEST_LINUX_VMM) VMMCTL=$(BUILD)/vmmctl \
		BRIDGE_CLIENT=$(BUILD)/bridge-client \
		PEER_CHECK=$(BUILD)/agent-peer-check IMAGES=$(LINUX_DIR) \
		OVMF=$(OVMF_FD) OVMF_CODE=$(OVMF_CODE) OVMF_VARS=$(OVMF_VARS) \
		LINUX_MIN_IMAGES=$(LINUX_MIN_DIR) \
		BENCH_SNAPSHOT=$(BUILD)/bench-snapshot \
		BENCH_FIRMWARE=$(BUILD)/bench-firmware \
		tests/linux/run.sh $(CASES)

test-linux-nested: $(TESTHOST_INITRAMFS)
	images/testhost/run.sh $(TESTHOST_CONF) $(LINUX_DIR)/vmlinuz $< \
		$(BUILD)/test-linux $(CASES)

# The test host with a shell on this terminal, to run cases by hand.
testhost-shell: $(TESTHOST_INITRAMFS)
	images/testhost/run.sh --shell $(TESTHOST_CONF) $(LINUX_DIR)/vmlinuz $<
