# SPDX-License-Identifier: MIT
# bridge: the guest agent dials the host's HCS/GCS bridge (CID 2, port
# 0x40000000) through the VMM; bridge-client is that host end. The stdio
# relays the agent dials (host ports 1 and 2) go to bridge-client's relay
# sockets through --vsock-listen as well.

BRIDGE_SOCK=$TEST_WORK/bridge.sock

case_process_and_shutdown() {
	vm_boot bridge --vsock-listen "1073741824=$BRIDGE_SOCK" \
		--vsock-listen "1=${BRIDGE_SOCK}_1" --vsock-listen "2=${BRIDGE_SOCK}_2"
	rc=0
	timeout "$WAIT_LONG" "$BRIDGE_CLIENT" --listen "$BRIDGE_SOCK" --shutdown --timeout $((WAIT_LONG * 1000)) \
		-- sh -c 'echo bridge-out; echo bridge-err >&2; exit 5' \
		> "$CASE_STATE/out" 2> "$CASE_STATE/err" || rc=$?
	expect_eq "the process's exit code" "$rc" 5
	expect_eq "stdout relayed" "$(cat "$CASE_STATE/out")" bridge-out
	file_has "$CASE_STATE/err" bridge-err ||
		fail "stderr not relayed: $(head -c 300 "$CASE_STATE/err")"
	vm_wait_exit "$WAIT_SHORT"
	expect_eq "VMM status after the bridge's shutdown" "$VM_STATUS" 0
	file_has "$VM_LOG" "guest powered off" ||
		fail "the guest did not power off on the bridge's shutdown"
}
