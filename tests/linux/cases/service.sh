# SPDX-License-Identifier: MIT
# service: a Linux VM run the way vmm@NAME.service runs it: the unit's own
# command line (dist/vmm@.service.in, /etc/vmm and /run/vmm moved to the
# case's directory) boots the VM a CreateVM config file describes. Its
# counters follow the guest's real disk and vsock I/O; a disk's bandwidth
# limit from the file and an operations limit set through the control
# socket hold, counted by the device; the ACPI power button, pressed
# through the control socket, shuts the guest down cleanly: the guest
# syncs its writes, and the VMM ends with status 0.
# arch: x86_64

SVC=$TEST_WORK/service
SVC_SOCK=$SVC/run/linux.sock
SVC_METRICS=$SVC/run/linux.prom
# In the repository and in the test host alike: tests/linux/../dist/ and
# tests/linux/../../dist/.
UNIT_COMMAND=$SUITE/../dist/unit-command.sh
UNIT=$SUITE/../../dist/vmm@.service.in
# The rate-limited disk's bandwidth limit in the config, and its burst.
LIMIT_BW=1048576
LIMIT_BW_BURST=262144

group_setup() {
	mkdir -p "$SVC/etc" "$SVC/run"
	truncate -s 16M "$SVC/data.img" "$SVC/limited.img"
	# vm_spawn makes the VM's directory; the config names its files.
	vm_dir=$TEST_WORK/vm-service
	cat > "$SVC/etc/linux.json" <<-EOF
	{"log_id": "linux-service",
	 "config": {
	  "memory_config": {"memory_mb": 320},
	  "processor_config": {"processor_count": 2},
	  "direct_boot": {"kernel_path": "$IMAGES/vmlinux",
	                  "initrd_path": "$IMAGES/initramfs.cpio.gz",
	                  "kernel_cmdline": "$GUEST_CMDLINE"},
	  "devices_config": {
	   "scsi_disks": [
	    {"host_path": "$SVC/data.img", "serial": "data"},
	    {"host_path": "$SVC/limited.img", "serial": "limited",
	     "rate_limit": {"bw": $LIMIT_BW, "bw_burst": $LIMIT_BW_BURST}}],
	   "vsock": {"guest_cid": $GUEST_CID, "uds_path": "$vm_dir/vsock.sock"}},
	  "extra_data": {"serial_0": "file:$vm_dir/serial.log"}}}
	EOF
	cmd=$("$UNIT_COMMAND" "$UNIT" linux "$SVC/etc" "$SVC/run") || exit 1
	# The unit's program is the VMM under test; the config file holds the
	# whole VM, so the variant's flags do not apply.
	# shellcheck disable=SC2086 # the unit's command line is words
	set -- $cmd
	shift
	vm_spawn service "$@"
	vm_wait_agent
}

# metric NAME [LABELS]: a counter of GetMetrics in the Prometheus text
# format.
metric() {
	_labels=${2:+\{$2\}}
	ctl "$SVC_SOCK" metrics --prometheus | sed -n "s/^vmm_$1$_labels //p"
}

disk_metric() {
	metric "blk_$1_total" "device=\"$2\""
}

case_config_file_boots() {
	expect_eq "vCPUs in the guest" "$(gx nproc)" 2
	kib=$(gx "sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo")
	expect_range "MemTotal (KiB) of a 320 MiB guest" "$kib" $((256 * 1024)) $((320 * 1024))
	for d in data limited; do
		dev=$(guest_disk "$d") || exit 1
		expect_eq "$dev size (512-byte sectors)" \
			"$(gx "cat /sys/block/${dev#/dev/}/size")" 32768
	done
	expect_eq "state" "$(ctl_inspect "$SVC_SOCK" state)" running
	expect_eq "log_id" "$(ctl_inspect "$SVC_SOCK" log_id)" linux-service
	expect_eq "the config's bandwidth limit" \
		"$(ctl_inspect "$SVC_SOCK" config.devices_config.scsi_disks.1.rate_limit.bw)" \
		"$LIMIT_BW"
	grep -q '"message":"booting ' "$VM_LOG" ||
		fail "the VMM's log has no JSON 'booting' line"
	if grep -v '^{"time":".*","level":".*","component":".*","message":".*"}$' "$VM_LOG"; then
		fail "the VMM's log (--log-format json) has lines that are not JSON objects"
	fi
}

case_metrics_count_guest_io() {
	dev=$(guest_disk data) || exit 1
	r0=$(disk_metric read_bytes disk0) w0=$(disk_metric write_bytes disk0)
	n0=$(disk_metric reads disk0) c0=$(metric vsock_connections_total)
	gx_ok "write 1 MiB with O_DIRECT" \
		"dd if=/dev/zero of=$dev bs=65536 count=16 oflag=direct"
	gx_ok "read 2 MiB with O_DIRECT" \
		"dd if=$dev of=/dev/null bs=65536 count=32 iflag=direct"
	r1=$(disk_metric read_bytes disk0) w1=$(disk_metric write_bytes disk0)
	n1=$(disk_metric reads disk0) c1=$(metric vsock_connections_total)
	# O_DIRECT bypasses the guest's page cache: the disk sees exactly
	# these bytes, in requests of 64 KiB or smaller ones.
	expect_eq "bytes read counted" $((r1 - r0)) 2097152
	expect_eq "bytes written counted" $((w1 - w0)) 1048576
	expect_range "reads counted" $((n1 - n0)) 32 512
	# Each gx is a vsock stream to the agent: two since c0.
	expect_range "vsock connections counted" $((c1 - c0)) 2 100
	exits=$(ctl "$SVC_SOCK" metrics --prometheus |
		awk '/^vmm_vcpu_exits_total\{vcpu="1"/ { n += $2 } END { print n + 0 }')
	expect_range "vCPU 1 exits" "$exits" 1 999999999999
}

# read_under_limit WHAT DEV BS COUNT: reads COUNT blocks of BS bytes of DEV
# with O_DIRECT; sets OPS, BYTES, WAITS (the disk's counters' growth) and
# TENTHS (how long it took, measured here around the command).
read_under_limit() {
	o0=$(disk_metric reads disk1) b0=$(disk_metric read_bytes disk1)
	t0=$(disk_metric throttled disk1)
	s0=$(uptime_ds)
	gx_ok "$1" "dd if=$2 of=/dev/null bs=$3 count=$4 iflag=direct"
	TENTHS=$(($(uptime_ds) - s0))
	OPS=$(($(disk_metric reads disk1) - o0))
	BYTES=$(($(disk_metric read_bytes disk1) - b0))
	WAITS=$(($(disk_metric throttled disk1) - t0))
	echo "$1: $OPS reads, $BYTES bytes, waited $WAITS times, $TENTHS tenths of a second"
}

# The bucket lets at most its burst plus its rate times the time taken
# through; the time is rounded up to the next tenth. A slow machine only
# makes the rate lower; only a limit that does not hold breaks the bound.
expect_within_limit() {
	max=$(($3 + $4 * (TENTHS + 1) / 10))
	[ "$2" -le "$max" ] ||
		fail "$1: $2 in $TENTHS tenths of a second, more than the burst $3 and $4 a second allow ($max)"
}

case_rate_limits_hold() {
	dev=$(guest_disk limited) || exit 1
	# The config's 1 MiB/s, 256 KiB burst: 4 MiB take 3.75 s at least.
	read_under_limit "read 4 MiB under 1 MiB/s" "$dev" 65536 64
	expect_eq "bytes read" "$BYTES" 4194304
	expect_range "times the disk waited for its bandwidth" "$WAITS" 1 100000
	expect_within_limit "bytes read" "$BYTES" $LIMIT_BW_BURST $LIMIT_BW

	# Through the control socket: 20 operations a second, 4 at once,
	# and no bandwidth limit any more.
	ctl "$SVC_SOCK" limit disk1 iops=20 iops_burst=4 >/dev/null
	expect_eq "iops in force" \
		"$(ctl_inspect "$SVC_SOCK" config.devices_config.scsi_disks.1.rate_limit.iops)" 20
	expect_eq "bw in force" \
		"$(ctl_inspect "$SVC_SOCK" config.devices_config.scsi_disks.1.rate_limit.bw)" 0
	read_under_limit "60 reads under 20 a second" "$dev" 4096 60
	expect_eq "reads" "$OPS" 60
	expect_range "times the disk waited for operations" "$WAITS" 1 100000
	expect_within_limit "reads" "$OPS" 4 20

	# Lifted: the same reads never wait.
	ctl "$SVC_SOCK" limit disk1 >/dev/null
	read_under_limit "60 reads without a limit" "$dev" 4096 60
	expect_eq "reads" "$OPS" 60
	expect_eq "times the disk waited without a limit" "$WAITS" 0
}

# Last: it ends the group's VM.
case_power_button_shuts_down_cleanly() {
	dev=$(guest_disk data) || exit 1
	# Into the guest's page cache only: the image has it after the
	# shutdown only if the guest shut down cleanly.
	gx_ok "a buffered write" \
		"printf power-button-marker | dd of=$dev bs=512 seek=4096 conv=notrunc 2>/dev/null"
	ctl "$SVC_SOCK" shutdown >/dev/null
	vm_wait_exit "$WAIT_LONG"
	expect_eq "VMM exit status after the power button" "$VM_STATUS" 0
	file_has "$VM_SERIAL" "acpid: power button pressed" ||
		fail "the guest's acpid did not see the power button"
	expect_eq "the buffered write in the image" \
		"$(dd if="$SVC/data.img" bs=512 skip=4096 count=1 status=none | head -c 19)" \
		power-button-marker
	test ! -e "$SVC_SOCK" || fail "the control socket is still there"
	# The metrics file is written a last time as the process ends.
	bytes=$(sed -n 's/^vmm_blk_read_bytes_total{device="disk0"} //p' "$SVC_METRICS")
	expect_range "disk0's read bytes in the last metrics file" "$bytes" 2097152 999999999999
}
