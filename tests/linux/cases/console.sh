# SPDX-License-Identifier: MIT
# console: a virtio-console port (hvc0 under Debian's virtio_console
# driver) relayed to a Unix socket.

HVC_SOCK=$TEST_WORK/hvc.sock

group_setup() {
	vm_boot console --console "socket:$HVC_SOCK"
}

case_output_to_socket() {
	gx_ok "the driver's terminal" 'test -c /dev/hvc0'
	sock_capture "$HVC_SOCK" "$CASE_STATE/hvc.out"
	gx_ok "write to hvc0" 'echo hvc-out-$((40 + 2)) > /dev/hvc0'
	wait_for "guest output on the console socket" $WAIT_SHORT \
		file_has "$CASE_STATE/hvc.out" hvc-out-42
}

case_input_reaches_shell() {
	tty_roundtrip "$HVC_SOCK" hvc0
}
