# SPDX-License-Identifier: MIT
# The Linux test image: Debian's cloud kernel (its vmlinuz as packaged, and
# the vmlinux extracted from it) and an initramfs with busybox, the guest
# agent, the virtio and vsock modules from the same package and the few
# Debian programs the Linux end-to-end cases need in the guest.
#
#   make linux-image    build/images/linux/{vmlinuz,vmlinux,initramfs.cpio.gz}

LINUX_DIR     := $(BUILD)/images/linux
LINUX_META    := linux-image-cloud-amd64
LINUX_DEPS    := busybox-static lz4 binutils dpkg e2fsprogs socat

.PHONY: linux-image linux-deps
linux-deps:
	@tools/install-deps.sh $(LINUX_DEPS)

$(LINUX_DIR)/kernel.deb: | linux-deps
	tools/download-kernel.sh $(LINUX_META) $@

$(BUILD)/tools/extract-vmlinux: $(BUILD)/obj/images/linux/extract-vmlinux.o \
		$(BUILD)/lib.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

$(LINUX_DIR)/vmlinuz: $(LINUX_DIR)/kernel.deb
	@rm -rf $(LINUX_DIR)/boot && mkdir -p $(LINUX_DIR)/boot
	dpkg-deb --fsys-tarfile $< | tar -x -C $(LINUX_DIR)/boot --wildcards './boot/vmlinuz-*'
	@mv $(LINUX_DIR)/boot/boot/vmlinuz-* $@ && touch $@ && rm -rf $(LINUX_DIR)/boot

$(LINUX_DIR)/vmlinux: $(LINUX_DIR)/vmlinuz $(BUILD)/tools/extract-vmlinux
	$(BUILD)/tools/extract-vmlinux $< $(LINUX_DIR)/vmlinux.lz4
	lz4 -dcq $(LINUX_DIR)/vmlinux.lz4 > $@.tmp
	@head -c 4 $@.tmp | grep -q ELF || { echo "linux-image: $@ is not ELF" >&2; exit 1; }
	@mv $@.tmp $@ && rm -f $(LINUX_DIR)/vmlinux.lz4

# What the Linux suite runs in the guest that busybox lacks: mkfs.ext4 from
# e2fsprogs, socat (vsock and TCP client), from the host's Debian packages.
LINUX_GUEST_TOOLS := program:/sbin/mke2fs:/sbin/mke2fs \
	link:mke2fs:/sbin/mkfs.ext4 file:/etc/mke2fs.conf:/etc/mke2fs.conf \
	program:/usr/bin/socat:/usr/bin/socat

$(LINUX_DIR)/initramfs.cpio.gz: $(LINUX_DIR)/kernel.deb $(BUILD)/guest-agent \
		images/linux/init images/linux/mkinitramfs.sh images/initramfs.sh \
		| linux-deps
	images/linux/mkinitramfs.sh $< $(BUILD)/guest-agent images/linux/init \
		$@ $(LINUX_DIR)/work /bin/busybox $(LINUX_GUEST_TOOLS)
	@rm -rf $(LINUX_DIR)/work

# A GPT disk with an EFI system partition that UEFI firmware boots through
# GRUB to the same kernel and initramfs (docs/uefi.md), for the uefi_disk
# group.
UEFI_DISK_DEPS := grub-efi-amd64-bin mtools dosfstools fdisk
UEFI_DISK_CMDLINE := console=ttyS0 reboot=k panic=1 quiet boot=uefi-disk
.PHONY: uefi-disk-deps
uefi-disk-deps:
	@tools/install-deps.sh $(UEFI_DISK_DEPS)

$(LINUX_DIR)/uefi-disk.img: $(LINUX_DIR)/vmlinuz $(LINUX_DIR)/initramfs.cpio.gz \
		images/linux/mkuefidisk.sh | uefi-disk-deps
	images/linux/mkuefidisk.sh $(LINUX_DIR)/vmlinuz \
		$(LINUX_DIR)/initramfs.cpio.gz "$(UEFI_DISK_CMDLINE)" $@

UEFI_DISK_IMAGE := $(LINUX_DIR)/uefi-disk.img
LINUX_IMAGE := $(LINUX_DIR)/vmlinuz $(LINUX_DIR)/vmlinux $(LINUX_DIR)/initramfs.cpio.gz
linux-image: $(LINUX_IMAGE)
