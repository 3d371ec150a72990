# SPDX-License-Identifier: MIT
# blk: virtio-blk disks on raw image files under Debian's virtio_blk
# driver. One guest with four disks (one read-only) serves the cases;
# durability kills a VMM and boots its own.

BLK=$TEST_WORK/blk
# serial:size in MiB; disk-3 is read-only.
BLK_DISKS="disk-0:64 disk-1:32 disk-2:16 disk-3:8"

blk_image() {
	echo "$BLK/$1.img"
}

group_setup() {
	mkdir -p "$BLK"
	set --
	for d in $BLK_DISKS; do
		id=${d%:*} img=$(blk_image "${d%:*}")
		truncate -s "${d#*:}M" "$img"
		printf 'tag-%s' "$id" | dd of="$img" conv=notrunc status=none
		opt=
		[ "$id" != disk-3 ] || opt=,ro
		set -- "$@" --disk "$img$opt,serial=$id"
	done
	vm_boot blk "$@"
}

case_serial_and_capacity() {
	for d in $BLK_DISKS; do
		id=${d%:*}
		dev=$(guest_disk "$id") || exit 1
		expect_eq "$dev size (512-byte sectors)" \
			"$(gx "cat /sys/block/${dev#/dev/}/size")" $((${d#*:} * 2048))
		expect_eq "first bytes of $dev" "$(gx "head -c $((4 + ${#id})) $dev")" "tag-$id"
	done
	expect_eq "virtio-blk disks the guest sees" "$(gx 'ls -d /sys/block/vd* | wc -l')" 4
}

case_direct_write() {
	dev=$(guest_disk disk-0) || exit 1
	sum=$(gx "head -c 65536 /dev/urandom > /tmp/pattern && sha256sum < /tmp/pattern" |
		cut -d' ' -f1)
	gx_ok "O_DIRECT write" "dd if=/tmp/pattern of=$dev bs=65536 seek=16 count=1 oflag=direct"
	expect_eq "the image at 1 MiB" \
		"$(dd if="$(blk_image disk-0)" bs=65536 skip=16 count=1 status=none | sha)" "$sum"
	expect_eq "O_DIRECT read back" \
		"$(gx "dd if=$dev bs=65536 skip=16 count=1 iflag=direct 2>/dev/null | sha256sum" | cut -d' ' -f1)" "$sum"
}

case_ext4_file_in_image() {
	dev=$(guest_disk disk-1) || exit 1
	gx_ok "mkfs.ext4" "mkfs.ext4 -q -F $dev"
	gx_ok "mount, write, sync, unmount" \
		"mount -t ext4 $dev /mnt && echo written-by-the-guest > /mnt/hello.txt && sync && umount /mnt"
	got=$(debugfs -R 'cat /hello.txt' "$(blk_image disk-1)" 2>/dev/null)
	expect_eq "/hello.txt read from the image with debugfs" "$got" written-by-the-guest
}

case_read_only_refuses_writes() {
	dev=$(guest_disk disk-3) || exit 1
	img=$(blk_image disk-3)
	before=$(sha < "$img")
	expect_eq "$dev read-only flag" "$(gx "cat /sys/block/${dev#/dev/}/ro")" 1
	if gx "echo overwrite | dd of=$dev conv=fsync 2>&1"; then
		fail "writing to the read-only $dev succeeded"
	fi
	expect_eq "the read-only image" "$(sha < "$img")" "$before"
}

case_discard_punches_holes() {
	dev=$(guest_disk disk-2) || exit 1
	img=$(blk_image disk-2)
	gx_ok "fill the disk" "$(block_cmd /tmp/block) && { $(stream_cmd 16 /tmp/block); } | head -c 16777216 | dd of=$dev bs=1M conv=fsync 2>/dev/null"
	alloc=$(($(stat -c %b "$img") * 512))
	expect_range "bytes allocated to the filled image" "$alloc" $((16 << 20)) $((17 << 20))
	gx_ok "discard 8 MiB" "blkdiscard -o 4194304 -l 8388608 $dev"
	alloc=$(($(stat -c %b "$img") * 512))
	expect_range "bytes allocated after discarding 8 MiB" "$alloc" $((8 << 20)) $((9 << 20))
	expect_eq "the discarded range" \
		"$(dd if="$img" bs=1M skip=4 count=8 status=none | sha)" \
		"$(head -c 8388608 /dev/zero | sha)"
}

# The filters let libaio, fdatasync and fallocate through, nothing more.
case_threads_confined() {
	expect_confined
}

case_durability_after_sigkill() {
	img=$TEST_WORK/durable.img
	truncate -s 16M "$img"
	vm_boot durable --disk "$img,serial=durable"
	dev=$(guest_disk durable) || exit 1
	sum=$(gx "head -c 1048576 /dev/urandom > /tmp/d && dd if=/tmp/d of=$dev bs=65536 conv=fsync 2>/dev/null && sha256sum < /tmp/d" |
		cut -d' ' -f1)
	kill -KILL "$VM_PID"
	vm_wait_exit "$WAIT_SHORT"
	expect_eq "VMM status" "$VM_STATUS" 137
	expect_eq "the image after SIGKILL" \
		"$(dd if="$img" bs=1048576 count=1 status=none | sha)" "$sum"
}
