# SPDX-License-Identifier: MIT
# serial: COM1, the guest's ttyS0 under Debian's 8250 driver (bound through
# the DSDT's PNP0501 device), relayed to a Unix socket.

COM1_SOCK=$TEST_WORK/com1.sock

group_setup() {
	vm_boot serial --serial "socket:$COM1_SOCK"
}

case_late_client_gets_scrollback() {
	gx_ok "write a marker on ttyS0" 'echo serial-marker-$((20 + 3)) > /dev/ttyS0'
	sock_capture "$COM1_SOCK" "$CASE_STATE/replay"
	wait_for "the marker replayed to a client attaching afterwards" $WAIT_SHORT \
		file_has "$CASE_STATE/replay" serial-marker-23
}

case_input_reaches_shell() {
	tty_roundtrip "$COM1_SOCK" ttyS0
}
