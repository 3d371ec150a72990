# SPDX-License-Identifier: MIT
# boot: Debian's kernel entered both ways the x86 VMM loads it, with the
# vCPUs and memory the command line asked for, and both ways a guest ends
# its VM. Each case boots its own guest.
# arch: x86_64

# boot_params.hdr.type_of_loader as the guest kept it: 0xb0 when Linux
# entered through PVH (it fills the zero page itself), the VMM's 0xff
# ("undefined") through the 64-bit boot protocol.
loader_type() {
	gx 'od -An -tx1 -j 528 -N 1 /sys/kernel/boot_params/data' | tr -d ' \n'
}

# check_guest CPUS MEMORY_MIB
check_guest() {
	expect_eq "nproc" "$(gx nproc)" "$1"
	kib=$(gx "sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo")
	# The kernel keeps its image, page tables and memmap out of MemTotal.
	expect_range "MemTotal (KiB) of a $2 MiB guest" "$kib" $(($2 * 1024 * 3 / 4)) $(($2 * 1024))
}

case_elf_pvh() {
	vm_boot pvh --kernel "$IMAGES/vmlinux" --cpus 1 --memory 384
	expect_eq "type_of_loader (PVH entry)" "$(loader_type)" b0
	check_guest 1 384
	gx 'poweroff -f' >/dev/null 2>&1
	vm_wait_exit 60
	expect_eq "VMM exit status after poweroff" "$VM_STATUS" 0
	file_has "$VM_LOG" "guest powered off" ||
		fail "the VMM did not report a power-off"
}

case_bzimage() {
	vm_boot bzimage --kernel "$IMAGES/vmlinuz" --cpus 2 --memory 512
	expect_eq "type_of_loader (64-bit boot protocol)" "$(loader_type)" ff
	check_guest 2 512
	gx 'reboot -f' >/dev/null 2>&1
	vm_wait_exit 60
	expect_eq "VMM exit status after reboot" "$VM_STATUS" 0
	file_has "$VM_LOG" "guest reset" || fail "the VMM did not report a reset"
}
