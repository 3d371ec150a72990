# SPDX-License-Identifier: MIT
# uefi: Debian's unmodified OVMF (the ovmf package's OVMF.fd) boots from the
# reset vector, finds the machine through fw_cfg, the q35 host bridge, the
# LPC bridge's PM timer and the CMOS, installs the VMM's ACPI tables from
# the table-loader, and starts Debian's kernel, handed over through fw_cfg,
# through its EFI stub; the guest agent comes up. One boot for the group,
# in the first variant only: the virtio transport plays no part in what
# the firmware hands over.
# arch: x86_64
# last
# variants: mmio

OVMF=${OVMF:-$IMAGES/OVMF.fd}
UEFI_CPUS=1
UEFI_MIB=512
# The firmware boots in seconds; a guest that has not answered after this
# hangs in it.
AGENT_TIMEOUT=300

group_setup() {
	vm_boot uefi --firmware "$OVMF" --kernel "$IMAGES/vmlinuz" \
		--cpus $UEFI_CPUS --memory $UEFI_MIB
}

case_kernel_started_by_firmware() {
	# Only a kernel entered through its EFI stub has the EFI runtime.
	expect_eq "EFI in the guest" \
		"$(gx 'test -d /sys/firmware/efi && echo efi')" efi
	expect_eq "EFI boot services handed over" \
		"$(gx 'cat /sys/firmware/efi/fw_platform_size')" 64
}

case_cmdline_and_initrd_through_fw_cfg() {
	cmdline=$(gx 'cat /proc/cmdline')
	expect_match "the guest's command line" "$cmdline" "$GUEST_CMDLINE"
	# The agent runs from the initrd, so the initrd arrived; OVMF names it.
	expect_match "the initrd's origin" "$cmdline" "initrd=initrd"
}

case_acpi_tables_from_table_loader() {
	# The firmware installed the VMM's tables: its OEM ID, its DSDT.
	expect_eq "FADT OEM ID" "$(gx 'dd if=/sys/firmware/acpi/tables/FACP bs=1 skip=10 count=6 2>/dev/null')" VMMVMM
	expect_eq "DSDT OEM ID" "$(gx 'dd if=/sys/firmware/acpi/tables/DSDT bs=1 skip=10 count=6 2>/dev/null')" VMMVMM
}

case_cpus_and_memory() {
	expect_eq "nproc" "$(gx nproc)" $UEFI_CPUS
	kib=$(gx "sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo")
	# The firmware keeps its runtime regions, the kernel its image.
	expect_range "MemTotal (KiB) of a $UEFI_MIB MiB guest" "$kib" \
		$((UEFI_MIB * 1024 * 3 / 4)) $((UEFI_MIB * 1024))
}

case_firmware_writes_on_com1() {
	# OVMF's console is the 16550 behind the LPC bridge.
	wait_for "firmware output on COM1" $WAIT_SHORT test -s "$VM_SERIAL"
}
