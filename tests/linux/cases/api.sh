# SPDX-License-Identifier: MIT
# api: the control socket drives a Linux guest through its whole life:
# CreateVM, ResumeVM, PauseVM, InspectVM, the event stream, TeardownVM and
# Quit, with vmmctl. The cases are steps of that one life.
# sequential

API=$TEST_WORK/api.sock
EVENTS=$TEST_WORK/api-events.log

group_setup() {
	vm_spawn api --api-sock "$API"
	wait_for "the control socket" $WAIT_SHORT test -S "$API"
	bg "$VMMCTL" --sock "$API" events > "$EVENTS"
	wait_for "the event subscription" $WAIT_SHORT file_has "$EVENTS" '"state":"not_created"'
}

state() {
	ctl_inspect "$API" state
}

case_create() {
	cat > "$CASE_STATE/vm.json" <<-EOF
	{"log_id": "linux-api",
	 "config": {
	  "memory_config": {"memory_mb": "256"},
	  "processor_config": {"processor_count": 2},
	  "direct_boot": {"kernel_path": "$IMAGES/vmlinux",
	                  "initrd_path": "$IMAGES/initramfs.cpio.gz",
	                  "kernel_cmdline": "$GUEST_CMDLINE"},
	  "extra_data": {"vsock": "cid=$GUEST_CID,uds=$VM_VSOCK",
	                 "serial_0": "file:$VM_SERIAL"}}}
	EOF
	ctl "$API" create "$CASE_STATE/vm.json" >/dev/null
	expect_eq "state after CreateVM" "$(state)" paused
}

case_resume_boots_linux() {
	ctl "$API" resume >/dev/null
	expect_eq "state after ResumeVM" "$(state)" running
	vm_wait_agent
	expect_eq "vCPUs in the guest" "$(gx nproc)" 2
}

case_inspect() {
	expect_eq "config.memory_config.memory_mb" \
		"$(ctl_inspect "$API" config.memory_config.memory_mb)" 256
	expect_eq "log_id" "$(ctl_inspect "$API" log_id)" linux-api
	expect_match "vCPU 1 run time" \
		"$(ctl_inspect "$API" vcpus.1.runtime_ns)" '^[1-9][0-9]*$'
}

# A VM built through the control socket runs as confined as one built
# from the command line: the vCPU threads CreateVM started, too.
case_threads_confined() {
	expect_confined
}

# COM1's size once it stopped growing for half a second (or after 10 s).
settled_size() {
	_prev=-1 _n=0
	_size=$(wc -c < "$VM_SERIAL")
	while [ "$_size" != "$_prev" ] && [ $_n -lt 20 ]; do
		_n=$((_n + 1))
		sleep 0.5
		_prev=$_size
		_size=$(wc -c < "$VM_SERIAL")
	done
	echo "$_size"
}

# While paused the guest does no work: a guest loop counting on COM1 prints
# nothing, and the vCPUs' run time stands still.
case_pause_stops_the_guest() {
	gx_ok "start a counter on ttyS0" \
		"setsid sh -c 'echo \$\$ > /tmp/counter.pid; i=0; while :; do i=\$((i + 1)); [ \$((i % 100)) != 0 ] || echo tick-\$i > /dev/ttyS0; done' </dev/null >/dev/null 2>&1 &"
	wait_for "the counter on COM1" $WAIT_SHORT file_has "$VM_SERIAL" tick-
	ctl "$API" pause >/dev/null
	expect_eq "state after PauseVM" "$(state)" paused
	ns=$(ctl_inspect "$API" vcpus.0.runtime_ns)
	size=$(settled_size)
	sleep 2
	expect_eq "COM1 bytes while paused" "$(wc -c < "$VM_SERIAL")" "$size"
	expect_eq "vCPU 0 run time while paused" \
		"$(ctl_inspect "$API" vcpus.0.runtime_ns)" "$ns"
	ctl "$API" resume >/dev/null
	expect_eq "state after ResumeVM" "$(state)" running
	wait_for "the counter to go on after ResumeVM" $WAIT_SHORT \
		test "$(wc -c < "$VM_SERIAL")" -gt "$size"
	gx_ok "stop the counter" 'kill $(cat /tmp/counter.pid)'
}

case_teardown() {
	ctl "$API" teardown >/dev/null
	expect_eq "state after TeardownVM" "$(state)" torn_down
	kill -0 "$VM_PID" || fail "the VMM exited on TeardownVM"
}

case_event_stream() {
	got=$(sed -n 's/.*"event":"\([a-z_]*\)".*/\1/p' "$EVENTS" | tr '\n' ' ')
	expect_eq "events" "$got" "created running paused running halted torn_down "
	expect_match "the halted event" "$(grep '"event":"halted"' "$EVENTS")" \
		'"exit_reason":"teardown"'
}

case_quit() {
	ctl "$API" quit >/dev/null
	vm_wait_exit "$WAIT_SHORT"
	expect_eq "VMM exit status after Quit" "$VM_STATUS" 0
	test ! -e "$API" || fail "the control socket is still there after Quit"
}
