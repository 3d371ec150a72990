# SPDX-License-Identifier: MIT
# snapshot: a Linux guest saved in the middle of its work and resumed in a
# new VMM process. A counter process in the guest writes each count to an
# ext4 file system on virtio-blk, to ttyS0 and to hvc0. After the restore
# the same process counts on from where it was, on all three; the data on
# the disk is whole and new writes land; the agent takes new connections
# (the vsock transport reset); the network, the balloon and the guest's
# clock work. Then three clones of the one snapshot run side by side, each
# with its own disk copy, TAP, vsock socket and console.
# arch: x86_64
# sequential

SNAP=$TEST_WORK/snap
SNAP_DIR=$SNAP/base
TAP=vst$(($$ % 10000))
GUEST_MAC=52:54:00:5a:00:01
COUNTER="i=0; while :; do i=\$((i + 1)); echo count-\$i >> /mnt/log; echo \$i > /mnt/count; echo count-\$i > /dev/ttyS0; echo count-\$i > /dev/hvc0; sleep 0.05; done"

# --- counts ----------------------------------------------------------------

# The "count-N" lines of logs joined, as N. A log that ends within a line
# (the snapshot caught it half written) is continued by the next one.
counts() {
	cat "$@" | tr -d '\r' | sed -n 's/^count-\([0-9][0-9]*\)$/\1/p'
}

# The last whole count line of a log.
last_count() {
	if [ -n "$(tail -c 1 "$1")" ]; then
		sed '$d' "$1"
	else
		cat "$1"
	fi | tr -d '\r' | sed -n 's/^count-\([0-9][0-9]*\)$/\1/p' | tail -n 1
}

count_past() {
	_n=$(last_count "$1")
	[ -n "$_n" ] && [ "$_n" -gt "$2" ]
}

# expect_counting WHAT LOG...: the logs, joined, are one count without a
# repeat or a gap.
expect_counting() {
	_what=$1
	shift
	_bad=$(counts "$@" | awk 'NR > 1 && $1 != p + 1 { print "count " $1 " after " p; exit } { p = $1 }')
	[ -z "$_bad" ] || fail "$_what: $_bad in $*"
}

# The counter's log on the guest's disk holds count-1 .. count-N, in
# order, read from the disk (not the page cache); prints N.
disk_log_whole() {
	gx_ok "the counter's log on the disk is whole" \
		"echo 3 > /proc/sys/vm/drop_caches && awk '\$0 != \"count-\" NR { print \"line \" NR \": \" \$0; exit 1 } END { print NR }' /mnt/log"
}

# Process $1 ended (or is a zombie nobody reaps).
gone() {
	! kill -0 "$1" 2>/dev/null || grep -q ') Z ' "/proc/$1/stat" 2>/dev/null
}

# --- the network -----------------------------------------------------------

guest_if() {
	gx "grep -l '$GUEST_MAC' /sys/class/net/*/address" |
		sed -n 's|^/sys/class/net/\([^/]*\)/address$|\1|p'
}

link_local() {
	ip -6 addr show dev "$1" scope link | grep -v tentative |
		sed -n 's/.*inet6 \(fe80::[0-9a-f:]*\)\/64.*/\1/p'
}

has_link_local() {
	[ -n "$(link_local "$1")" ]
}

guest_has_link_local() {
	gx "ip -6 addr show dev $1 scope link" | grep -v tentative | grep -q fe80::
}

# The guest pings the TAP $1 on this host; each VMM process has its own
# TAP, whose address is asked for anew.
ping_tap() {
	ip link set "$1" up || fail "cannot bring up $1"
	_gif=$(guest_if)
	[ -n "$_gif" ] || fail "no guest interface has the MAC $GUEST_MAC"
	gx_ok "guest link up" "ip link set $_gif up"
	wait_for "$1's link-local address" $WAIT_SHORT has_link_local "$1"
	wait_for "the guest's link-local address" $WAIT_SHORT guest_has_link_local "$_gif"
	gx_ok "ping $1 from the guest" \
		"ping6 -c 2 -w 30 -I $_gif $(link_local "$1")%$_gif" >/dev/null
}

# --- the VMs ---------------------------------------------------------------

# vm_restore NAME ARGS...: a VMM restoring the snapshot, with its own COM1
# log, vsock socket and console socket (captured into $VM_DIR/hvc.log).
vm_restore() {
	_name=$1
	shift
	_dir=$TEST_WORK/vm-$_name
	vm_spawn "$_name" --restore "$SNAP_DIR" --serial "file:$_dir/serial.log" \
		--vsock "cid=$GUEST_CID,uds=$_dir/vsock.sock" \
		--console "socket:$_dir/hvc.sock" "$@"
	console_capture
}

console_listens() {
	vm_alive || fail "$VM_NAME: the VMM exited: $(head -c 500 "$VM_LOG")"
	test -S "$VM_DIR/hvc.sock"
}

# Copies the VM's console socket into $VM_DIR/hvc.log from its start on.
console_capture() {
	wait_for "$VM_NAME's console socket" $WAIT_SHORT console_listens
	sock_capture "$VM_DIR/hvc.sock" "$VM_DIR/hvc.log"
}

# The counter process the snapshot caught is the one running, and its
# count goes on past $1 on COM1, hvc0 and the disk.
expect_counter_goes_on() {
	gx_ok "the counter process runs" "kill -0 $(cat "$SNAP/pid")"
	wait_for "$VM_NAME counting past $1 on COM1" $WAIT_SHORT \
		count_past "$VM_SERIAL" $(($1 + 20))
	wait_for "$VM_NAME counting past $1 on hvc0" $WAIT_SHORT \
		count_past "$VM_DIR/hvc.log" $(($1 + 20))
	expect_counting "COM1 across the restore" "$SNAP/serial.log" "$VM_SERIAL"
	expect_counting "hvc0 across the restore" "$SNAP/hvc.log" "$VM_DIR/hvc.log"
	n=$(disk_log_whole)
	expect_range "counts on $VM_NAME's disk" "$n" $(($1 + 20)) 1000000
}

group_setup() {
	mkdir -p "$SNAP"
	truncate -s 64M "$SNAP/disk.img"
	vm_boot origin --memory 256 --cpus 2 \
		--disk "$SNAP/disk.img,serial=snapdisk" --balloon 0 \
		--net "tap=$TAP,mac=$GUEST_MAC" --api-sock "$SNAP/origin.sock" \
		--console "socket:$TEST_WORK/vm-origin/hvc.sock"
	console_capture
	echo "$BG_PID" > "$SNAP/hvc.pid"
}

# The counter runs, the VM is paused and saved, and its process killed:
# from then on only the snapshot and the disk image are left of it (and a
# copy of the image as the snapshot saw it, for the clones).
case_snapshot_mid_work() {
	dev=/dev/$(gx "grep -lx snapdisk /sys/block/vd*/serial" | cut -d/ -f4)
	[ "$dev" != /dev/ ] || fail "no guest disk has the serial snapdisk"
	gx_ok "mkfs.ext4 and mount" "mkfs.ext4 -q -F $dev && mount -t ext4 $dev /mnt"
	gx_ok "write a file" "$(block_cmd /mnt/block) && sync"
	gx "sha256sum /mnt/block" | cut -d' ' -f1 > "$SNAP/block.sha"
	gx_ok "start the counter" \
		"setsid sh -c 'echo \$\$ > /tmp/counter.pid; $COUNTER' </dev/null >/dev/null 2>&1 &"
	wait_for "the counter on COM1" $WAIT_SHORT count_past "$VM_SERIAL" 20
	gx cat /tmp/counter.pid > "$SNAP/pid"
	ping_tap "$TAP"
	gx "cut -d. -f1 /proc/uptime" > "$SNAP/uptime"
	ctl "$SNAP/origin.sock" pause >/dev/null
	out=$(ctl "$SNAP/origin.sock" snapshot "$SNAP_DIR")
	mem=$(echo "$out" | json_field memory_bytes)
	# Sparse: far from all of the guest's 256 MiB is written.
	expect_range "memory written (bytes)" "$mem" 1 $((192 * 1048576))
	expect_range "the memory file's allocated bytes" \
		"$(($(stat -c %b "$SNAP_DIR/memory") * 512))" 1 $((mem + 1048576))
	kill -KILL "$VM_PID"
	vm_wait_exit $WAIT_SHORT
	wait_for "the console's capture to end" $WAIT_SHORT gone "$(cat "$SNAP/hvc.pid")"
	cp "$VM_SERIAL" "$SNAP/serial.log"
	cp "$VM_DIR/hvc.log" "$SNAP/hvc.log"
	last_count "$SNAP/serial.log" > "$SNAP/last"
	cp "$SNAP/disk.img" "$SNAP/base.img"
	echo "saved at count $(cat "$SNAP/last"): $mem bytes of memory"
}

# A new process carries on: the counter on COM1, hvc0 and the disk, the
# file written before the snapshot, new writes, the agent, the network,
# the balloon and the clock; a clean unmount leaves an image that checks.
case_restored_guest_goes_on() {
	last=$(cat "$SNAP/last")
	t0=$(date +%s)
	vm_restore restored --net "tap=$TAP" --api-sock "$SNAP/restored.sock"
	vm_wait_agent
	expect_eq "vCPUs" "$(gx nproc)" 2
	expect_counter_goes_on "$last"
	expect_eq "the file written before the snapshot" \
		"$(gx sha256sum /mnt/block | cut -d' ' -f1)" "$(cat "$SNAP/block.sha")"
	gx_ok "write after the restore" \
		"echo restored-$((6 * 7)) > /mnt/after && sync && echo 3 > /proc/sys/vm/drop_caches"
	expect_eq "the new file read back" "$(gx cat /mnt/after)" restored-42
	# kvmclock went on from its saved value: the guest's uptime went on
	# too, by no more than the time since the restore began.
	up=$(gx "cut -d. -f1 /proc/uptime")
	expect_range "the guest's uptime after the restore (s)" "$up" "$(cat "$SNAP/uptime")" \
		$(($(date +%s) - t0 + $(cat "$SNAP/uptime") + 2))
	ping_tap "$TAP"
	ctl "$SNAP/restored.sock" balloon set 4096 >/dev/null
	wait_for "the balloon to reach 4096 pages" $WAIT_SHORT \
		sh -c "'$VMMCTL' --sock '$SNAP/restored.sock' balloon get | grep -q '\"num_pages\": *\"\{0,1\}4096'"
	gx_ok "stop the counter, unmount" \
		"kill \$(cat /tmp/counter.pid) && sleep 0.2 && umount /mnt"
	ctl "$SNAP/restored.sock" quit >/dev/null
	vm_wait_exit $WAIT_SHORT
	expect_eq "the restored VMM's status after Quit" "$VM_STATUS" 0
	expect_eq "the new file read from the image" \
		"$(debugfs -R 'cat /after' "$SNAP/disk.img" 2>/dev/null)" restored-42
	n=$(debugfs -R 'cat /log' "$SNAP/disk.img" 2>/dev/null |
		awk '$0 != "count-" NR { print "bad line " NR ": " $0; exit 1 } END { print NR }')
	expect_range "counts in the image's log" "$n" $((last + 20)) 1000000
}

# Three clones of the one snapshot at once, each with its own copy of the
# image as the snapshot saw it, TAP, vsock socket and console; each writes
# only its own disk. Each clone's counter stops once it is seen counting
# on: six guest vCPUs share the test host's two emulated CPUs.
case_three_clones_side_by_side() {
	last=$(cat "$SNAP/last")
	for i in 1 2 3; do
		cp "$SNAP/base.img" "$SNAP/clone-$i.img"
		vm_restore "clone-$i" --disk "$SNAP/clone-$i.img" --net "tap=$TAP$i"
		cp "$CASE_STATE/env" "$SNAP/clone-$i.env"
	done
	for i in 1 2 3; do
		. "$SNAP/clone-$i.env"
		vm_wait_agent
		expect_counter_goes_on "$last"
		gx_ok "clone $i's counter stops" "kill \$(cat /tmp/counter.pid)"
		gx_ok "clone $i writes its disk" "echo clone-$i > /mnt/who && sync"
		ping_tap "$TAP$i"
	done
	for i in 1 2 3; do
		. "$SNAP/clone-$i.env"
		vm_alive || fail "clone $i's VMM ended"
		expect_eq "what clone $i reads" "$(gx cat /mnt/who)" "clone-$i"
		gx_ok "clone $i unmounts" "umount /mnt"
		expect_eq "clone $i's image" \
			"$(debugfs -R 'cat /who' "$SNAP/clone-$i.img" 2>/dev/null)" "clone-$i"
	done
}
