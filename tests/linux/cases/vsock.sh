# SPDX-License-Identifier: MIT
# vsock: virtio-vsock under Debian's vsock drivers, with the guest agent's
# exec service, the VMM's Unix-socket host side and its listeners.

LISTEN_SOCK=$TEST_WORK/listen-7100.sock

group_setup() {
	vm_boot vsock --vsock-listen "7100=$LISTEN_SOCK"
}

# run_exec OUT ERR [vmmctl exec args...]: the status is in $RC.
run_exec() {
	out=$1 err=$2
	shift 2
	RC=0
	gx "$@" > "$out" 2> "$err" < /dev/null || RC=$?
}

case_exec_buffered() {
	run_exec "$CASE_STATE/o" "$CASE_STATE/e" -m buffered \
		'echo to-stdout; echo to-stderr >&2; exit 3'
	expect_eq "exit status" "$RC" 3
	expect_eq "stdout" "$(cat "$CASE_STATE/o")" to-stdout
	expect_eq "stderr" "$(cat "$CASE_STATE/e")" to-stderr
}

case_exec_stream() {
	run_exec "$CASE_STATE/o" "$CASE_STATE/e" -m stream \
		'for i in 1 2 3; do echo line-$i; done; head -c 1048576 /dev/zero | tr "\0" x; exit 4'
	expect_eq "exit status" "$RC" 4
	expect_eq "first lines" "$(head -n 3 "$CASE_STATE/o" | tr '\n' ' ')" "line-1 line-2 line-3 "
	expect_eq "streamed bytes" "$(wc -c < "$CASE_STATE/o")" $((21 + 1048576))
}

case_exec_pipe_stdin() {
	out=$(printf 'from the host\nsecond line\n' | gx 'tr a-z A-Z; exit 5')
	rc=$?
	expect_eq "exit status" "$rc" 5
	expect_eq "stdin through tr" "$out" "FROM THE HOST
SECOND LINE"
}

case_exec_tty_resize() {
	# socat gives the helper a terminal of its own; the helper's output
	# (nothing, unless it fails) goes to the case's.
	timeout "$WAIT_LONG" socat -u \
		EXEC:"$SUITE/helpers/tty-resize.sh $VMMCTL $VM_VSOCK $CASE_STATE/tty.out 41 101",pty,setsid,ctty,stderr \
		STDOUT
	expect_eq "sizes the guest saw" "$(tr -d '\r' < "$CASE_STATE/tty.out" | tr '\n' ' ')" "24 80 41 101 "
}

case_exec_signal() {
	"$VMMCTL" exec --vsock-uds "$VM_VSOCK" 'echo started; exec sleep 1000' \
		> "$CASE_STATE/o" 2>&1 &
	pid=$!
	track "$pid"
	wait_for "the guest command to start" $WAIT_SHORT file_has "$CASE_STATE/o" started
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	expect_eq "exit status after SIGTERM" "$rc" $((128 + 15))
	gx '! pidof sleep' >/dev/null || fail "the guest's sleep survived the signal"
}

case_64_concurrent_connections() {
	i=0
	pids=
	while [ $i -lt 64 ]; do
		gx -m buffered "echo conn-$i" > "$CASE_STATE/c$i" 2>&1 &
		pids="$pids $!"
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p" || fail "a concurrent exec failed"
	done
	i=0
	while [ $i -lt 64 ]; do
		expect_eq "connection $i" "$(cat "$CASE_STATE/c$i")" "conn-$i"
		i=$((i + 1))
	done
}

# Bulk transfers take minutes where the VMM is sanitized and emulated.
BULK_TIMEOUT=900

case_256mib_to_guest() {
	sh -c "$(block_cmd "$CASE_STATE/block")"
	got=$(sh -c "$(stream_cmd 256 "$CASE_STATE/block")" |
		exec_within "$BULK_TIMEOUT" sha256sum |
		cut -d' ' -f1)
	expect_eq "checksum of 256 MiB in the guest" "$got" "$(stream_sha 256 "$CASE_STATE/block")"
}

case_256mib_from_guest() {
	gx_ok "random block" "$(block_cmd /tmp/block)"
	gx cat /tmp/block > "$CASE_STATE/block"
	got=$(gx_sha "256 MiB from the guest" "$BULK_TIMEOUT" "$(stream_cmd 256 /tmp/block)") ||
		exit 1
	expect_eq "checksum of 256 MiB on the host" "$got" "$(stream_sha 256 "$CASE_STATE/block")"
}

# A guest connection to host port P goes to the socket "UDS_P".
case_guest_connects_to_uds_port() {
	bg socat -u "UNIX-LISTEN:${VM_VSOCK}_7200" "OPEN:$CASE_STATE/got,creat"
	wait_for "the host listener" $WAIT_SHORT test -S "${VM_VSOCK}_7200"
	gx_ok "connect to CID 2 port 7200" 'echo hello-port-7200 | socat -u - VSOCK-CONNECT:2:7200'
	wait_for "the guest's bytes at ${VM_VSOCK}_7200" $WAIT_SHORT file_has "$CASE_STATE/got" hello-port-7200
}

# --vsock-listen 7100=PATH: guest connections to port 7100 go to PATH, both
# ways.
case_guest_connects_to_listener() {
	bg socat "UNIX-LISTEN:$LISTEN_SOCK" EXEC:"tr a-z A-Z"
	wait_for "the host listener" $WAIT_SHORT test -S "$LISTEN_SOCK"
	expect_eq "the listener's answer" \
		"$(gx 'echo hello-listener | socat - VSOCK-CONNECT:2:7100')" HELLO-LISTENER
}
