# SPDX-License-Identifier: MIT
# net: virtio-net on a TAP under Debian's virtio_net driver. Traffic stays
# between the guest and the TAP on this host: IPv6 link-local addresses,
# no routes, nothing leaves.

TAP=vmt$(($$ % 100000))
GUEST_MAC=52:54:00:12:34:56
NET=$TEST_WORK/net

group_setup() {
	vm_boot net --net "tap=$TAP,mac=$GUEST_MAC"
	link_up "$TAP" "$GUEST_MAC" "$NET"
}

guest_if() { cat "$NET/guest-if"; }
host_addr() { cat "$NET/host-addr"; }
guest_addr() { cat "$NET/guest-addr"; }

case_mac() {
	expect_eq "guest MAC" "$(gx "cat /sys/class/net/$(guest_if)/address")" "$GUEST_MAC"
}

case_ping_link_local() {
	ping_both_ways "$TAP" "$(guest_if)" "$(host_addr)" "$(guest_addr)"
}

case_tcp_64mib_from_guest() {
	rm -f "$NET/rx.done"
	bg sh -c "socat -u TCP6-LISTEN:7001,reuseaddr OPEN:$NET/rx,creat,trunc &&
		touch $NET/rx.done"
	gx_ok "random block" "$(block_cmd /tmp/block)"
	gx cat /tmp/block > "$NET/block"
	gx_ok "send 64 MiB over TCP" \
		"{ $(stream_cmd 64 /tmp/block); } | socat -u - 'TCP6:[$(host_addr)%$(guest_if)]:7001,retry=50,interval=0.2'"
	wait_for "the host's receiver to finish" $WAIT_SHORT test -f "$NET/rx.done"
	expect_eq "64 MiB received by the host" "$(sha < "$NET/rx")" "$(stream_sha 64 "$NET/block")"
	rm -f "$NET/rx"
}

case_tcp_64mib_to_guest() {
	sh -c "$(block_cmd "$NET/block")"
	gx_ok "guest listener" \
		"setsid sh -c 'socat -u TCP6-LISTEN:7002,reuseaddr - | sha256sum > /tmp/rx.sum.tmp && mv /tmp/rx.sum.tmp /tmp/rx.sum' </dev/null >/dev/null 2>&1 &"
	sh -c "$(stream_cmd 64 "$NET/block")" |
		socat -u - "TCP6:[$(guest_addr)%$TAP]:7002,retry=50,interval=0.2" ||
		fail "sending 64 MiB to the guest failed"
	wait_for "the guest's checksum" $WAIT_SHORT gx 'test -f /tmp/rx.sum'
	expect_eq "64 MiB received by the guest" "$(gx 'cut -d" " -f1 /tmp/rx.sum')" \
		"$(stream_sha 64 "$NET/block")"
}

# The driver's negotiated features: /sys/bus/virtio/devices/*/features is
# one character per feature bit, bit 0 first.
case_negotiated_offloads() {
	f=$(gx "cat /sys/class/net/$(guest_if)/device/features")
	[ ${#f} -ge 33 ] || fail "features '$f': too short"
	for bit in 0:CSUM 1:GUEST_CSUM 5:MAC 7:GUEST_TSO4 8:GUEST_TSO6 \
		11:HOST_TSO4 12:HOST_TSO6 15:MRG_RXBUF 16:STATUS 32:VERSION_1; do
		n=${bit%:*}
		expect_eq "VIRTIO_NET_F_${bit#*:} (bit $n) negotiated" \
			"$(echo "$f" | cut -c $((n + 1)))" 1
	done
}

# After both transfers, every thread is still under its filter.
case_threads_confined() {
	expect_confined
}
