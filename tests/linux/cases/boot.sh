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

# boot_and_end NAME KERNEL CPUS MEMORY_MIB LOADER_TYPE END_COMMAND VMM_LOG:
# boots KERNEL, checks how it was entered and what it was given, then ends
# the VM from the guest; the VMM must exit 0 and log VMM_LOG.
boot_and_end() {
	vm_boot "$1" --kernel "$2" --cpus "$3" --memory "$4"
	expect_eq "type_of_loader" "$(loader_type)" "$5"
	expect_eq "nproc" "$(gx nproc)" "$3"
	kib=$(gx "sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo")
	# The kernel keeps its image, page tables and memmap out of MemTotal.
	expect_range "MemTotal (KiB) of a $4 MiB guest" "$kib" $(($4 * 1024 * 3 / 4)) $(($4 * 1024))
	gx "$6" >/dev/null 2>&1
	vm_wait_exit "$WAIT_SHORT"
	expect_eq "VMM exit status after '$6'" "$VM_STATUS" 0
	file_has "$VM_LOG" "$7" || fail "the VMM did not log '$7' after '$6'"
}

case_elf_pvh() {
	boot_and_end pvh "$IMAGES/vmlinux" 1 384 b0 'poweroff -f' "guest powered off"
}

case_bzimage() {
	boot_and_end bzimage "$IMAGES/vmlinuz" 2 512 ff 'reboot -f' "guest reset"
}
