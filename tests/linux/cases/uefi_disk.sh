# SPDX-License-Identifier: MIT
# uefi_disk: Debian's OVMF, split into code and a variable store
# (OVMF_CODE_4M.fd, a copy of OVMF_VARS_4M.fd), with no kernel given boots
# a GPT disk on its own, as a cloud image boots: its boot manager finds the
# EFI system partition on the virtio-pci disk and starts GRUB (Debian's
# grub-efi-amd64-bin) at \EFI\BOOT\BOOTX64.EFI, which boots the kernel and
# initramfs on that partition (images/linux/mkuefidisk.sh) to the guest
# agent. A variable the guest writes is in the store after a restart.
# The PCI variant only: OVMF finds virtio disks on a PCI bus alone.
# arch: x86_64
# last
# variants: pci

OVMF_CODE=${OVMF_CODE:-$IMAGES/OVMF_CODE_4M.fd}
OVMF_VARS=${OVMF_VARS:-$IMAGES/OVMF_VARS_4M.fd}
VARS=$TEST_WORK/uefi-vars.fd
# The firmware boots in seconds; a guest that has not answered after this
# hangs in it.
AGENT_TIMEOUT=300
# A variable of the guest's own: name-vendor GUID, as efivarfs names it.
TEST_VAR=VmmTest-6d3e1f2a-8c4b-4d5e-9f10-2a3b4c5d6e7f

# uefi_disk_boot NAME: boots the disk with the variable store in $VARS.
uefi_disk_boot() {
	_dir=$TEST_WORK/vm-$1
	# shellcheck disable=SC2086 # the variant's flags are words
	vm_spawn "$1" --firmware "$OVMF_CODE,vars=$VARS" $VARIANT_FLAGS \
		--memory 512 --disk "$IMAGES/uefi-disk.img,ro" \
		--serial "file:$_dir/serial.log" \
		--vsock "cid=$GUEST_CID,uds=$_dir/vsock.sock"
	vm_wait_agent
}

# efivarfs, where the guest reads and writes UEFI variables.
EFIVARS='grep -q efivarfs /proc/mounts || mount -t efivarfs none /sys/firmware/efi/efivars'

group_setup() {
	cp "$OVMF_VARS" "$VARS"
	uefi_disk_boot uefi-disk
}

case_grub_booted_the_kernel_from_the_disk() {
	expect_eq "EFI in the guest" \
		"$(gx 'test -d /sys/firmware/efi && echo efi')" efi
	# The command line is the one in the disk's grub.cfg.
	expect_match "the guest's command line" "$(gx 'cat /proc/cmdline')" \
		"boot=uefi-disk"
	file_has "$VM_SERIAL" "grub: booting /linux/vmlinuz" ||
		fail "GRUB's message is not on COM1: $(tail -c 500 "$VM_SERIAL")"
}

case_the_boot_disk_is_the_guests_vda() {
	expect_eq "the EFI system partition's sectors" \
		"$(gx 'cat /sys/block/vda/vda1/size')" \
		"$(( ($(wc -c < "$IMAGES/uefi-disk.img") - 2097152) / 512 ))"
}

# Last: it powers the group's VM off.
case_variables_survive_a_restart() {
	# Attributes (non-volatile, boot and runtime access), then the data.
	gx_ok "write $TEST_VAR" "$EFIVARS && printf '\\007\\000\\000\\000kept' > /sys/firmware/efi/efivars/$TEST_VAR"
	gx 'poweroff -f' >/dev/null 2>&1
	vm_wait_exit "$WAIT_SHORT"
	expect_eq "VMM exit status after poweroff" "$VM_STATUS" 0
	uefi_disk_boot uefi-disk-again
	expect_eq "$TEST_VAR after a restart" \
		"$(gx "$EFIVARS && tail -c 4 /sys/firmware/efi/efivars/$TEST_VAR")" kept
}
