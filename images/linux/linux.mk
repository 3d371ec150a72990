# SPDX-License-Identifier: MIT
# The Linux test image: Debian's cloud kernel (vmlinux extracted from its
# vmlinuz) and an initramfs with busybox, the guest agent and the virtio and
# vsock modules from the same package.
#
#   make linux-image    build/images/linux/{vmlinux,initramfs.cpio.gz}
#   make test-linux     boot it with the VMM and run commands through the agent

LINUX_DIR     := $(BUILD)/images/linux
LINUX_META    := linux-image-cloud-amd64
LINUX_DEPS    := busybox-static lz4 binutils dpkg

.PHONY: linux-image test-linux linux-deps
linux-deps:
	@tools/install-deps.sh $(LINUX_DEPS)

$(LINUX_DIR)/kernel.deb: | linux-deps
	tools/download-kernel.sh $(LINUX_META) $@

$(BUILD)/tools/extract-vmlinux: $(BUILD)/obj/images/linux/extract-vmlinux.o \
		$(BUILD)/lib.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(LINUX_DIR)/vmlinux: $(LINUX_DIR)/kernel.deb $(BUILD)/tools/extract-vmlinux
	@rm -rf $(LINUX_DIR)/boot && mkdir -p $(LINUX_DIR)/boot
	dpkg-deb --fsys-tarfile $< | tar -x -C $(LINUX_DIR)/boot --wildcards './boot/vmlinuz-*'
	$(BUILD)/tools/extract-vmlinux $(LINUX_DIR)/boot/boot/vmlinuz-* $(LINUX_DIR)/vmlinux.lz4
	lz4 -dcq $(LINUX_DIR)/vmlinux.lz4 > $@.tmp
	@head -c 4 $@.tmp | grep -q ELF || { echo "linux-image: $@ is not ELF" >&2; exit 1; }
	@mv $@.tmp $@ && rm -rf $(LINUX_DIR)/vmlinux.lz4 $(LINUX_DIR)/boot

$(LINUX_DIR)/initramfs.cpio.gz: $(LINUX_DIR)/kernel.deb $(BUILD)/guest-agent \
		images/linux/init images/linux/mkinitramfs.sh
	images/linux/mkinitramfs.sh $< $(BUILD)/guest-agent images/linux/init \
		$@ $(LINUX_DIR)/work
	@rm -rf $(LINUX_DIR)/work

linux-image: $(LINUX_DIR)/vmlinux $(LINUX_DIR)/initramfs.cpio.gz

# A Linux guest needs hardware virtualization; where guests would run in
# KVM's instruction emulator this says so and builds nothing.
test-linux:
	@if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then \
		echo "test-linux: not run: no hardware virtualization (no vmx/svm in /proc/cpuinfo)"; \
		exit 0; fi; \
	$(MAKE) $(BUILD)/vmm $(BUILD)/vmmctl linux-image && \
	images/linux/test-linux.sh $(BUILD)/vmm $(BUILD)/vmmctl $(LINUX_DIR)
