#!/bin/sh
# SPDX-License-Identifier: MIT
# The arm64 Linux cases, run inside the arm64 test host: our arm64 VMM boots
# Debian's stock arm64 kernel with the test initramfs (busybox, the guest
# agent, the stock virtio modules) and every case checks what a user relies
# on through the agent, the control socket and the devices' host ends.
# Prints "ok NAME" or "FAIL NAME: why" per case, then "N passed, N failed".
set -u

IMAGE=/images/Image
INITRAMFS=/images/initramfs.cpio.gz
W=/tmp/t
MAC=52:54:00:12:34:56
GUEST_LL=fe80::5054:ff:fe12:3456
# A quiet guest console: every byte the guest writes there is a VM exit.
CMDLINE="console=ttyS0 quiet loglevel=0"

passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
	for f in "$W"/*.log; do
		[ -s "$f" ] && tail -n 15 "$f" | sed "s|^|    $(basename "$f"): |"
	done
}
# check NAME WANT GOT
check() {
	if [ "$3" = "$2" ]; then ok "$1"; else fail "$1" "got \"$3\", want \"$2\""; fi
}
gexec() { vmmctl exec --vsock-uds "$W/v.sock" "$@"; }

# Runs "$@" until it succeeds, at most $1 times, $2 seconds apart; a
# status of 125 says waiting longer is futile.
retry() {
	_tries=$1 _pause=$2
	shift 2
	while :; do
		"$@"
		case $? in
		0) return 0 ;;
		125) return 1 ;;
		esac
		_tries=$((_tries - 1))
		[ $_tries -gt 0 ] || return 1
		sleep "$_pause"
	done
}

# Whether process $1 runs: an exited child not yet waited for is a zombie,
# which kill -0 would still find.
running() {
	[ -r "/proc/$1/stat" ] && [ "$(cut -d ' ' -f 3 "/proc/$1/stat")" != Z ]
}

agent_up() {
	running $vmm_pid || return 125
	[ -S "$W/v.sock" ] && gexec true 2> /dev/null
}

# Boots a VM with the given extra flags; waits up to 60 s for the agent.
boot() {
	cpus=$1
	shift
	rm -rf "$W" && mkdir -p "$W"
	vmm --kernel "$IMAGE" --initrd "$INITRAMFS" --cmdline "$CMDLINE" \
		--memory 256 --cpus "$cpus" --serial "file:$W/serial.log" \
		--vsock "cid=3,uds=$W/v.sock" "$@" > "$W/vmm.log" 2>&1 &
	vmm_pid=$!
	retry 600 0.1 agent_up
}

vmm_ended() { ! running $vmm_pid; }
balloon_at() {
	vmmctl --sock "$W/api.sock" balloon get | grep -q "\"num_pages\": $1"
}

# Waits up to 20 s for the VMM to end; sets status to its exit status.
vmm_status() {
	if ! retry 200 0.1 vmm_ended; then
		kill -9 $vmm_pid
		status="still running"
		return
	fi
	wait $vmm_pid
	status=$?
}

# --- one vCPU; PSCI SYSTEM_OFF ends the VM with status 0 ---
if boot 1; then
	ok boot.one_vcpu
	check boot.arch aarch64 "$(gexec uname -m)"
	check boot.nproc_1 1 "$(gexec nproc)"
	year=$(gexec date +%Y)
	[ "${year:-0}" -ge 2024 ] 2>/dev/null && ok rtc.wall_clock ||
		fail rtc.wall_clock "the guest's year is \"$year\"; PL031 not read"
	gexec poweroff -f > /dev/null 2>&1
	vmm_status
	check psci.poweroff_exit_0 0 "$status"
else
	fail boot.one_vcpu "the guest agent did not come up"
	kill -9 $vmm_pid 2>/dev/null
fi

# --- two vCPUs with every virtio device ---
dd if=/dev/zero of=/tmp/disk.img bs=1M count=4 2> /dev/null
if boot 2 --disk /tmp/disk.img,serial=arm64disk --net "tap=tap0,mac=$MAC" \
	--console "file:$W/console.log" --balloon 0 --api-sock "$W/api.sock"; then
	ok boot.two_vcpus
	check boot.nproc_2 2 "$(gexec nproc)"
	drivers=$(gexec 'for d in /sys/bus/virtio/devices/*/driver; do basename $(readlink $d); done | sort | tr "\n" " "')
	check virtio.stock_drivers_bound \
		"virtio_balloon virtio_blk virtio_console virtio_net vmw_vsock_virtio_transport " \
		"$drivers"

	check blk.serial arm64disk "$(gexec cat /sys/block/vda/serial)"
	gexec 'echo arm64-blk-pattern | dd of=/dev/vda bs=512 conv=sync 2>/dev/null && sync'
	check blk.write_reaches_the_image arm64-blk-pattern \
		"$(head -c 17 /tmp/disk.img)"
	printf 'from-the-host' | dd of=/tmp/disk.img bs=512 seek=8 conv=notrunc 2>/dev/null
	check blk.read_sees_the_image from-the-host \
		"$(gexec 'echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -c 13')"

	check net.mac "$MAC" "$(gexec cat /sys/class/net/eth0/address)"
	gexec ip link set eth0 up
	ip link set tap0 up
	# Both link-local addresses pass duplicate detection first (1-2 s);
	# until then ping6 fails at once.
	retry 40 0.5 ping6 -I tap0 -c 1 -W 1 "$GUEST_LL" > "$W/ping.log" 2>&1 &&
		ok net.ping_guest_link_local ||
		fail net.ping_guest_link_local "no echo reply from $GUEST_LL: $(tail -n 2 "$W/ping.log"); host: $(ip -6 addr show tap0 | tr '\n' ' '); guest: $(gexec 'ip -6 addr show eth0; cat /proc/net/dev | grep eth0' | tr '\n' ' ')"

	gexec 'echo arm64-console > /dev/hvc0'
	check console.output_reaches_the_host arm64-console \
		"$(tr -d '\r' < "$W/console.log")"

	check exec.stdin_and_stdout HELLO "$(echo hello | gexec tr a-z A-Z)"
	gexec 'exit 7'
	check exec.exit_status 7 $?

	vmmctl --sock "$W/api.sock" inspect > "$W/inspect.json"
	grep -q '"state": "running"' "$W/inspect.json" && ok api.inspect_running ||
		fail api.inspect_running "$(head -c 200 "$W/inspect.json")"
	vmmctl --sock "$W/api.sock" pause > /dev/null &&
		vmmctl --sock "$W/api.sock" inspect | grep -q '"state": "paused"' &&
		vmmctl --sock "$W/api.sock" resume > /dev/null &&
		[ "$(gexec echo back)" = back ] && ok api.pause_resume ||
		fail api.pause_resume "pause, inspect, resume and exec did not all work"

	vmmctl --sock "$W/api.sock" balloon set 1024 > /dev/null
	retry 100 0.1 balloon_at 1024 && ok balloon.inflate ||
		fail balloon.inflate "$(vmmctl --sock "$W/api.sock" balloon get)"

	gexec reboot -f > /dev/null 2>&1
	vmmctl --sock "$W/api.sock" wait > "$W/wait.json" 2>&1
	grep -q reset "$W/wait.json" && ok psci.reset_stops_the_vm ||
		fail psci.reset_stops_the_vm "WaitVM: $(cat "$W/wait.json")"
	vmmctl --sock "$W/api.sock" quit > /dev/null
	vmm_status
	check api.quit_exit_0 0 "$status"
else
	fail boot.two_vcpus "the guest agent did not come up"
	kill -9 $vmm_pid 2>/dev/null
fi

# --- a snapshot: a guest counting in a process, saved, restored anew ---
count_past() {
	c=$(gexec cat /tmp/count 2> /dev/null)
	[ "${c:-0}" -gt "$1" ] 2> /dev/null
}
if boot 2 --api-sock "$W/api.sock"; then
	gexec "setsid sh -c 'i=0; while :; do i=\$((i + 1)); echo \$i > /tmp/count; sleep 0.1; done' < /dev/null > /dev/null 2>&1 &"
	retry 100 0.1 count_past 5
	vmmctl --sock "$W/api.sock" pause > /dev/null
	saved=$(vmmctl --sock "$W/api.sock" snapshot "$W/snap" 2>&1)
	vmmctl --sock "$W/api.sock" quit > /dev/null
	vmm_status
	if [ -f "$W/snap/state" ]; then
		ok snapshot.save
		vmm --restore "$W/snap" --serial "file:$W/serial-restored.log" \
			--vsock "cid=3,uds=$W/v.sock" > "$W/vmm-restored.log" 2>&1 &
		vmm_pid=$!
		if retry 600 0.1 agent_up; then
			ok snapshot.restore_exec_works
			c=$(gexec cat /tmp/count)
			retry 100 0.1 count_past "$c" && ok snapshot.counter_goes_on ||
				fail snapshot.counter_goes_on "/tmp/count stays at $c"
			check snapshot.nproc 2 "$(gexec nproc)"
		else
			fail snapshot.restore_exec_works "no agent after the restore"
		fi
		kill $vmm_pid 2> /dev/null
	else
		fail snapshot.save "$saved"
	fi
else
	fail snapshot.save "the guest agent did not come up"
	kill -9 $vmm_pid 2>/dev/null
fi

echo "$passed passed, $failed failed"
