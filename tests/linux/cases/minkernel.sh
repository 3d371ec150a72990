# SPDX-License-Identifier: MIT
# minkernel: the minimal kernel of images/linux-min/, built the way
# micro-VM users build theirs: every driver built in, ACPI on, and
# virtio_mmio.device= support compiled in. With all five virtio devices,
# each is found once: in the DSDT when the kernel uses ACPI, on the
# command line with acpi=off (the MP table's legacy IRQs then give the
# entries' IRQ numbers their meaning). Each case boots its own guest.
# The kernel has no virtio_pci: the group runs in the virtio-mmio variant.
# arch: x86_64
# variants: mmio
# extra

MIN_TAP=vmm$(($$ % 100000))
# With its boot log: a short one, and what a failure shows.
MIN_CMDLINE="console=ttyS0 reboot=k panic=1"
# The drivers the five devices bind to, sorted.
MIN_DRIVERS="virtio_balloon virtio_blk virtio_console virtio_net vmw_vsock_virtio_transport"

# min_boot NAME CMDLINE: the minimal kernel and its initramfs (no modules)
# with a disk, a network device, a console, vsock and a balloon. It has no
# modules to load: a guest whose agent does not answer within WAIT_SHORT,
# or a command that takes longer, is stuck, and its boot log (no "quiet")
# says where.
min_boot() {
	truncate -s 8M "$TEST_WORK/$1.img"
	vm_start "$1" --kernel "$LINUX_MIN_IMAGES/vmlinux" \
		--initrd "$LINUX_MIN_IMAGES/initramfs.cpio.gz" --cmdline "$2" \
		--disk "$TEST_WORK/$1.img" --net "tap=$MIN_TAP" \
		--console "file:$TEST_WORK/$1.hvc" --balloon 0
	AGENT_TIMEOUT=$WAIT_SHORT EXEC_TIMEOUT=$WAIT_SHORT
	vm_wait_agent
}

# How many platform devices' names match the ERE $1.
platform_devices() {
	gx 'ls /sys/bus/platform/devices' | grep -cE "$1"
}

# expect_bound_once HOW ERE: every virtio device has its driver, none
# twice, none failed to probe, and all five came from the platform
# devices matching ERE (how the kernel found them: HOW).
expect_bound_once() {
	expect_eq "virtio devices" "$(gx 'ls /sys/bus/virtio/devices' | wc -l)" 5
	drivers=$(gx 'for d in /sys/bus/virtio/devices/*; do
		basename "$(readlink "$d/driver")"; done' | sort | tr '\n' ' ')
	expect_eq "their drivers" "$drivers" "$MIN_DRIVERS "
	expect_eq "virtio-mmio devices found $1" "$(platform_devices "$2")" 5
	failed=$(gx dmesg | grep -E 'probe of .* failed|virtio.*error -' || true)
	[ -z "$failed" ] || fail "probe errors in the guest's log: $failed"
}

case_acpi_finds_each_device_once() {
	min_boot acpi "$MIN_CMDLINE"
	expect_eq "virtio_mmio.device= entries" \
		"$(gx 'cat /proc/cmdline' | grep -o 'virtio_mmio.device=' | wc -l)" 0
	expect_bound_once "in the DSDT" '^LNRO0005:'
	expect_eq "virtio-mmio devices from the command line" \
		"$(platform_devices '^virtio-mmio\.')" 0
}

case_acpi_off_finds_them_on_the_cmdline() {
	min_boot noacpi "$MIN_CMDLINE acpi=off"
	expect_eq "virtio_mmio.device= entries" \
		"$(gx 'cat /proc/cmdline' | grep -o 'virtio_mmio.device=' | wc -l)" 5
	expect_bound_once "on the command line" '^virtio-mmio\.'
	expect_eq "virtio-mmio devices from the DSDT" \
		"$(platform_devices '^LNRO0005:')" 0
	# Without ACPI the kernel drives the PIT and checks its local APIC
	# timer against the PIT's IRQ 0, on the IOAPIC pin the MP table
	# names: were IRQ 0 delivered elsewhere, the check would turn the
	# APIC timer off and leave the guest without a clock tick.
	expect_match "IRQ 0 in the guest (count, chip, pin)" \
		"$(gx 'cat /proc/interrupts' | awk '$1 == "0:" {
			n = 0
			for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
			print n, $i, $(i + 1) }')" '^[1-9][0-9]* IO-APIC 2-edge$'
	gx_ok "a second's sleep in the guest" 'sleep 1'
}
