# SPDX-License-Identifier: MIT
# The minimal guest kernel, built the way micro-VM users build theirs
# (Firecracker's guest configs): Debian's linux-source-6.1, tinyconfig plus
# images/linux-min/minimal.config, every driver built in, ACPI on,
# virtio_mmio.device= support compiled in, the PVH entry; and an initramfs
# with busybox and the guest agent as /init's successor, no modules.
#
#   make linux-min    build/images/linux-min/{vmlinux,initramfs.cpio.gz}

LINUX_MIN_DIR     := $(BUILD)/images/linux-min
LINUX_MIN_SOURCE  := /usr/src/linux-source-6.1.tar.xz
LINUX_MIN_JOBS    ?= 2
LINUX_MIN_DEPS    := linux-source-6.1 make gcc bc bison flex libelf-dev \
		     libssl-dev xz-utils busybox-static

.PHONY: linux-min linux-min-deps
linux-min-deps:
	@tools/install-deps.sh $(LINUX_MIN_DEPS)

$(LINUX_MIN_DIR)/vmlinux: images/linux-min/minimal.config \
		images/linux-min/build.sh | linux-min-deps
	images/linux-min/build.sh $(LINUX_MIN_SOURCE) \
		images/linux-min/minimal.config $(LINUX_MIN_DIR) $(LINUX_MIN_JOBS)

$(LINUX_MIN_DIR)/initramfs.cpio.gz: $(BUILD)/guest-agent images/linux/init \
		images/linux/mkinitramfs.sh images/initramfs.sh | linux-min-deps
	images/linux/mkinitramfs.sh - $(BUILD)/guest-agent images/linux/init \
		$@ $(LINUX_MIN_DIR)/work
	@rm -rf $(LINUX_MIN_DIR)/work

LINUX_MIN_IMAGE := $(LINUX_MIN_DIR)/vmlinux $(LINUX_MIN_DIR)/initramfs.cpio.gz
linux-min: $(LINUX_MIN_IMAGE)
