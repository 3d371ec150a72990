# SPDX-License-Identifier: MIT
# pci: the PCI bus as Debian's kernel finds it (the Q35 host bridge, every
# virtio device bound by virtio_pci with MSI-X) and ACPI PCI hotplug of a
# disk and a NIC through the control socket, added, used and removed while
# the guest runs. One guest, two vCPUs so that the vectors spread; the
# cases are steps of its life.
# arch: x86_64
# variants: pci
# sequential

API=$TEST_WORK/pci-api.sock
PCI=$TEST_WORK/pci
HOT_TAP=vmh$(($$ % 100000))
HOT_MAC=52:54:00:12:34:58
HOT_LUN=5
HOT_SERIAL=hot-disk

group_setup() {
	mkdir -p "$PCI"
	truncate -s 8M "$PCI/boot.img"
	vm_boot pci --cpus 2 --api-sock "$API" --disk "$PCI/boot.img,serial=boot-disk" \
		--net "tap=vmp$(($$ % 100000)),mac=52:54:00:12:34:57" \
		--console "socket:$PCI/hvc.sock" --balloon 0
}

# One line per function on the guest's PCI bus: "ADDRESS VENDOR DEVICE
# DRIVER MSIX_VECTORS", as sysfs shows it (msi_irqs/N says "msi" or
# "msix" for each vector the driver allocated).
pci_functions() {
	gx 'for d in /sys/bus/pci/devices/*; do
		drv=-; [ -e $d/driver ] && drv=$(basename $(readlink $d/driver))
		n=$(cat $d/msi_irqs/* 2>/dev/null | grep -cx msix)
		echo ${d##*/} $(cat $d/vendor $d/device) $drv $n
	done'
}

# The PCI function of the guest's block device $1 (vda).
disk_function() {
	gx "basename \$(readlink -f /sys/block/$1/device/..)"
}

case_host_bridge() {
	pci_functions > "$PCI/functions"
	expect_match "00:00.0" "$(grep '^0000:00:00.0 ' "$PCI/functions")" \
		'^0000:00:00.0 0x8086 0x29c0 '
	expect_match "the ECAM window Linux took from MCFG" \
		"$(gx 'cat /proc/iomem')" 'b0000000-bfffffff : PCI MMCONFIG 0000 \[bus 00-ff\]'
	expect_match "the root bridge ACPI found" "$(gx 'ls /sys/bus/acpi/devices')" 'PNP0A08:00'
}

# virtio-pci device IDs are 0x1040 + the virtio device ID: net 1, blk 2,
# console 3, balloon 5, vsock 19.
case_virtio_pci_binds_every_device() {
	pci_functions > "$PCI/functions"
	for id in 0x1041 0x1042 0x1043 0x1045 0x1053; do
		line=$(grep " 0x1af4 $id " "$PCI/functions")
		expect_match "the function with device ID $id" "$line" \
			" 0x1af4 $id virtio-pci [1-9][0-9]*\$"
	done
	expect_eq "virtio functions" "$(grep -c ' 0x1af4 ' "$PCI/functions")" 5
	# Every virtio device the guest has hangs off the PCI root bus.
	gx 'for v in /sys/bus/virtio/devices/*; do readlink -f $v; done' > "$PCI/virtio"
	expect_eq "virtio devices" "$(grep -c . "$PCI/virtio")" 5
	expect_eq "virtio devices outside /sys/devices/pci0000:00" \
		"$(grep -vc '^/sys/devices/pci0000:00/0000:00:[0-9a-f.]*/virtio[0-9]*$' "$PCI/virtio")" 0
	# The vectors are MSI ones (6.1 names MSI-X ones "PCI-MSI" too); none
	# is on the IOAPIC.
	irqs=$(gx 'cat /proc/interrupts')
	expect_match "virtio interrupts" "$irqs" 'PCI-MSI[-A-Z0-9:.]* +[0-9]+-edge +virtio[0-9]+-(req|input|output|config)'
	expect_eq "virtio interrupts on the IOAPIC" \
		"$(echo "$irqs" | grep 'IO-APIC' | grep -c virtio)" 0
	# And they are taken: the boot disk's request vector counted its I/O.
	dev=$(guest_disk boot-disk) || exit 1
	gx_ok "read the boot disk" "dd if=$dev of=/dev/null bs=1M iflag=direct 2>/dev/null"
	n=$(gx "grep -E 'virtio[0-9]+-req' /proc/interrupts" | awk '{ s = 0; for (i = 2; i <= 3; i++) s += $i; print s; exit }')
	expect_range "interrupts of the boot disk's request queue" "$n" 1 1000000000
}

case_disk_hot_add() {
	img=$PCI/hot.img
	truncate -s 16M "$img"
	printf 'tag-%s' "$HOT_SERIAL" | dd of="$img" conv=notrunc status=none
	ctl "$API" disk add "$HOT_LUN" "$img" serial="$HOT_SERIAL" >/dev/null
	wait_for "a guest disk with serial $HOT_SERIAL" $WAIT_SHORT \
		gx "grep -qx '$HOT_SERIAL' /sys/block/vd*/serial"
	dev=$(guest_disk "$HOT_SERIAL") || exit 1
	echo "${dev#/dev/}" > "$PCI/hot-disk"
	expect_eq "$dev size (512-byte sectors)" "$(gx "cat /sys/block/${dev#/dev/}/size")" 32768
	expect_eq "first bytes of $dev" "$(gx "head -c 12 $dev")" "tag-$HOT_SERIAL"
	fn=$(disk_function "${dev#/dev/}")
	echo "$fn" > "$PCI/hot-disk-function"
	expect_match "$dev's PCI function" "$(pci_functions | grep "^$fn ")" \
		" 0x1af4 0x1042 virtio-pci [1-9][0-9]*\$"
	sum=$(gx "head -c 65536 /dev/urandom > /tmp/hot && sha256sum < /tmp/hot" | cut -d' ' -f1)
	gx_ok "O_DIRECT write to $dev" "dd if=/tmp/hot of=$dev bs=65536 seek=8 count=1 oflag=direct"
	expect_eq "the image at 512 KiB" \
		"$(dd if="$img" bs=65536 skip=8 count=1 status=none | sha)" "$sum"
	expect_eq "O_DIRECT read back" \
		"$(gx "dd if=$dev bs=65536 skip=8 count=1 iflag=direct 2>/dev/null | sha256sum" | cut -d' ' -f1)" "$sum"
	expect_match "InspectVM's devices" "$(ctl_inspect "$API" devices)" "virtio-blk@$fn,transport:pci,"
	expect_match "InspectVM's disks" "$(ctl_inspect "$API" config.devices_config.scsi_disks)" "serial:$HOT_SERIAL[,}]"
}

# The VMM holds file $1 open.
vmm_has_open() {
	ls -l "/proc/$VM_PID/fd" | grep -q -- "$1"
}

case_disk_hot_remove() {
	dev=$(cat "$PCI/hot-disk") fn=$(cat "$PCI/hot-disk-function")
	vmm_has_open "$PCI/hot.img" || fail "the VMM does not hold the hot-added image open"
	ctl "$API" disk remove "$HOT_LUN" >/dev/null
	expect_eq "guest block devices named $dev" "$(gx "ls /sys/block | grep -cx $dev")" 0
	expect_eq "guest PCI function $fn" "$(gx "ls /sys/bus/pci/devices | grep -cx $fn")" 0
	! vmm_has_open "$PCI/hot.img" || fail "the VMM still holds the removed image open"
	case $(ctl_inspect "$API" devices) in
	*"virtio-blk@$fn"*) fail "InspectVM still lists virtio-blk@$fn" ;;
	esac
	case $(ctl_inspect "$API" config.devices_config.scsi_disks) in
	*"$HOT_SERIAL"*) fail "InspectVM's disks still name $HOT_SERIAL" ;;
	esac
	# The boot disk is untouched.
	dev=$(guest_disk boot-disk) || exit 1
	gx_ok "read the boot disk" "dd if=$dev of=/dev/null bs=1M iflag=direct 2>/dev/null"
}

case_nic_hot_add() {
	ctl "$API" net add "$HOT_TAP" mac="$HOT_MAC" id=hot-nic >/dev/null
	wait_for "a guest interface with MAC $HOT_MAC" $WAIT_SHORT \
		gx "grep -q '$HOT_MAC' /sys/class/net/*/address"
	link_up "$HOT_TAP" "$HOT_MAC" "$PCI/nic"
	ifname=$(cat "$PCI/nic/guest-if")
	expect_match "$ifname's PCI function" \
		"$(pci_functions | grep "^$(gx "basename \$(readlink -f /sys/class/net/$ifname/device/..)") ")" \
		" 0x1af4 0x1041 virtio-pci [1-9][0-9]*\$"
	ping_both_ways "$HOT_TAP" "$ifname" "$(cat "$PCI/nic/host-addr")" "$(cat "$PCI/nic/guest-addr")"
}

case_nic_hot_remove() {
	ctl "$API" net remove hot-nic >/dev/null
	expect_eq "guest interfaces with MAC $HOT_MAC" \
		"$(gx "grep -l '$HOT_MAC' /sys/class/net/*/address | wc -l")" 0
	! ip link show "$HOT_TAP" >/dev/null 2>&1 || fail "the VMM did not close $HOT_TAP"
}

# Nothing the guest's kernel logged about the bus, ACPI or the devices is
# a warning or an error: no BAR it could not assign, no vector it fell back
# from, no oops on removal. (The emulated CPU has warnings of its own.)
case_guest_log_clean() {
	gx dmesg > "$PCI/dmesg"
	bad=$(grep -Ei 'pci|virtio|acpi|msi|BAR|hotplug|slot' "$PCI/dmesg" |
		grep -E 'BUG:|WARNING:|[Ee]rror|[Ff]ail|can.t|[Cc]annot|not enough|no space|[Ii]nvalid' |
		head -n 5)
	[ -z "$bad" ] || fail "the guest's kernel complained: $bad"
}
