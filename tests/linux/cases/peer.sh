# SPDX-License-Identifier: MIT
# peer: the peers' host code, re-enacted byte for byte by agent-peer-check
# (tests/agent/peer_*.c), against the agent in a Linux guest over
# virtio-vsock: hcsshim's GCS bridge host (the agent dials CID 2, port
# 0x40000000, which the VMM forwards to VSOCK_1073741824; its stdio relays
# to VSOCK_PORT) and matchlock's exec host (ports 5000 and 5002 by
# CONNECT). One guest serves the cases; its disk with serial scsi-0-3 is
# the one hcsshim maps as controller 0, LUN 3.

PEER_DISK=$TEST_WORK/peer-disk.img

group_setup() {
	truncate -s 16M "$PEER_DISK"
	vm_boot peer --disk "$PEER_DISK,serial=scsi-0-3"
	dev=$(guest_disk scsi-0-3) || exit 1
	gx_ok "an ext4 file system with hello.txt on $dev" \
		"mkfs.ext4 -q -F $dev && mkdir -p /mnt/peer && mount $dev /mnt/peer &&
		 echo 'hello from a disk' > /mnt/peer/hello.txt && umount /mnt/peer"
}

# peer_check WHAT [agent-peer-check ARGS...]: runs the cases ARGS name and
# fails with the ones that failed.
peer_check() {
	_what=$1
	shift
	rc=0
	timeout "$WAIT_LONG" "$PEER_CHECK" --vsock-uds "$VM_VSOCK" \
		--scratch /tmp "$@" > "$CASE_STATE/peer" 2>&1 || rc=$?
	cat "$CASE_STATE/peer" >&2
	grep -q ': ok: ' "$CASE_STATE/peer" || fail "$_what: no case ran (exit $rc)"
	[ "$rc" = 0 ] || fail "$_what (exit $rc): $(grep -v ': ok: ' "$CASE_STATE/peer" | head -c 800)"
}

case_hcsshim_host() {
	peer_check "hcsshim's GCS host" hcsshim_
}

case_hcsshim_maps_a_scsi_disk() {
	peer_check "hcsshim's MappedVirtualDisk" --mapped-disk 0:3 \
		hcsshim_mounts_a_mapped_disk
}

case_matchlock_host() {
	peer_check "matchlock's exec host" matchlock_
}
