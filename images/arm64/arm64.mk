# SPDX-License-Identifier: MIT
# The arm64 Linux suite, run from the x86 host: Debian's arm64 cloud kernel
# and the test initramfs (arm64 busybox, our arm64 agent, the stock virtio
# modules) booted by our arm64 VMM inside an emulated arm64 KVM host.
#
#   make test-arm64     cross-build, build both initramfs, run the cases
#   make arm64-image    build/images/arm64/{Image,initramfs.cpio.gz}

ARM64_DIR     := $(BUILD)/images/arm64
ARM64_OUT     := build/arm64
ARM64_META    := linux-image-cloud-arm64:arm64
ARM64_DEPS    := qemu-system-arm busybox-static binutils dpkg

.PHONY: arm64-build arm64-image arm64-deps test-arm64
arm64-deps:
	@tools/install-deps.sh $(ARM64_DEPS)

# The VMM, vmmctl and the agent for arm64: the cross build decides what
# is out of date.
arm64-build:
	$(MAKE) ARCH=arm64 all
$(ARM64_OUT)/vmm $(ARM64_OUT)/vmmctl $(ARM64_OUT)/guest-agent: arm64-build

# Debian's arm64 packages, fetched like the x86 kernel; the arm64 build
# dependencies have enabled the architecture by then.
$(ARM64_DIR)/kernel.deb: | arm64-deps arm64-build
	tools/download-kernel.sh $(ARM64_META) $@

# busybox-static:arm64 cannot be installed beside the host's: unpack it.
$(ARM64_DIR)/busybox: | arm64-deps arm64-build
	@mkdir -p $(ARM64_DIR)/dl/bb
	@rm -f $(ARM64_DIR)/dl/busybox-static_*.deb
	cd $(ARM64_DIR)/dl && apt-get download -q busybox-static:arm64
	dpkg-deb -x $(ARM64_DIR)/dl/busybox-static_*.deb $(ARM64_DIR)/dl/bb
	cp $(ARM64_DIR)/dl/bb/bin/busybox $@
	@rm -rf $(ARM64_DIR)/dl/bb

# Debian's arm64 vmlinuz is an uncompressed Image.
$(ARM64_DIR)/Image: $(ARM64_DIR)/kernel.deb
	@rm -rf $(ARM64_DIR)/boot && mkdir -p $(ARM64_DIR)/boot
	dpkg-deb --fsys-tarfile $< | tar -x -C $(ARM64_DIR)/boot --wildcards './boot/vmlinuz-*'
	@head -c 60 $(ARM64_DIR)/boot/boot/vmlinuz-* | tail -c 4 | grep -q 'ARMd' || \
		{ echo "arm64-image: vmlinuz is not an arm64 Image" >&2; exit 1; }
	mv $(ARM64_DIR)/boot/boot/vmlinuz-* $@ && rm -rf $(ARM64_DIR)/boot

$(ARM64_DIR)/initramfs.cpio.gz: $(ARM64_DIR)/kernel.deb $(ARM64_DIR)/busybox \
		$(ARM64_OUT)/guest-agent images/linux/init images/linux/mkinitramfs.sh \
		images/initramfs.sh
	images/linux/mkinitramfs.sh $< $(ARM64_OUT)/guest-agent images/linux/init \
		$@ $(ARM64_DIR)/work $(ARM64_DIR)/busybox
	@rm -rf $(ARM64_DIR)/work

arm64-image: $(ARM64_DIR)/Image $(ARM64_DIR)/initramfs.cpio.gz

$(ARM64_DIR)/testhost.cpio: $(ARM64_DIR)/kernel.deb $(ARM64_DIR)/Image \
		$(ARM64_DIR)/initramfs.cpio.gz $(ARM64_DIR)/busybox \
		$(ARM64_OUT)/vmm $(ARM64_OUT)/vmmctl images/arm64/testhost-init \
		images/arm64/mktesthost.sh tests/arm64/cases.sh
	images/arm64/mktesthost.sh $(ARM64_DIR)/kernel.deb $(ARM64_DIR)/Image \
		$(ARM64_DIR)/initramfs.cpio.gz $(ARM64_DIR)/busybox \
		$(ARM64_OUT)/vmm $(ARM64_OUT)/vmmctl images/arm64/testhost-init \
		tests/arm64/cases.sh $@ $(ARM64_DIR)/testhost
	@rm -rf $(ARM64_DIR)/testhost

test-arm64: $(ARM64_DIR)/testhost.cpio
	tests/arm64/run.sh $(ARM64_DIR)/Image $< $(BUILD)/test-arm64
