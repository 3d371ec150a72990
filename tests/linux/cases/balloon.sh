# SPDX-License-Identifier: MIT
# balloon: virtio-balloon under Debian's virtio_balloon driver, driven
# through the control socket. One guest (free page reporting switched off
# in it, so that what the host gets back is the balloon's) serves inflate,
# statistics and deflate; reporting and deflate-on-oom boot their own.

API=$TEST_WORK/balloon-api.sock
FILL=100663296	# 96 MiB

memtotal_kib() {
	gx "sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo"
}

balloon_pages() {
	ctl "$1" balloon get | json_field num_pages
}

balloon_is() {
	[ "$(balloon_pages "$1")" = "$2" ]
}

rss_below() {
	[ "$(vm_rss_kib)" -lt "$1" ]
}

# balloon_resize SOCKET PAGES: sets the target and waits for the guest.
balloon_resize() {
	ctl "$1" balloon set "$2" >/dev/null
	wait_for "the guest's balloon to reach $2 pages" $WAIT_LONG balloon_is "$1" "$2"
}

group_setup() {
	vm_boot balloon --memory 256 --balloon 0,stats=1 --api-sock "$API"
	gx_ok "switch free page reporting off" \
		'echo 11 > /sys/module/page_reporting/parameters/page_reporting_order'
	memtotal_kib > "$TEST_WORK/balloon.memtotal"
}

case_inflate_returns_memory() {
	gx_ok "touch 96 MiB, free it" "head -c $FILL /dev/zero > /dev/shm/fill; rm /dev/shm/fill"
	m0=$(memtotal_kib) r0=$(vm_rss_kib)
	balloon_resize "$API" 16384
	m1=$(memtotal_kib) r1=$(vm_rss_kib)
	expect_eq "MemTotal drop (KiB) after inflating 64 MiB" $((m0 - m1)) 65536
	expect_range "VMM RSS drop (KiB) after inflating 64 MiB" $((r0 - r1)) 49152 1048576
}

case_statistics() {
	ctl "$API" balloon stats > "$CASE_STATE/stats"
	mt=$(memtotal_kib)
	flat=$(tr -d ' \n' < "$CASE_STATE/stats")
	stat_val() {
		echo "$flat" | grep -o "\"tag\":$1,\"val\":\"[0-9]*\"" | sed 's/.*:"\([0-9]*\)"/\1/'
	}
	total=$(stat_val 5) free=$(stat_val 4) avail=$(stat_val 6)
	expect_eq "total memory statistic (bytes) vs MemTotal" "$total" $((mt * 1024))
	expect_range "free memory statistic" "$free" 1 "$total"
	expect_range "available memory statistic" "$avail" "$free" "$total"
}

case_deflate() {
	balloon_resize "$API" 8192
	balloon_resize "$API" 0
	expect_eq "MemTotal after deflating" "$(memtotal_kib)" "$(cat "$TEST_WORK/balloon.memtotal")"
}

case_free_page_reporting() {
	vm_boot reporting --memory 256 --balloon 0
	gx_ok "fill 96 MiB" "head -c $FILL /dev/zero > /dev/shm/fill"
	r1=$(vm_rss_kib)
	gx_ok "free 96 MiB" 'rm /dev/shm/fill'
	wait_for "the VMM's RSS to drop 48 MiB below $r1 KiB once the guest freed 96 MiB" $WAIT_LONG \
		rss_below $((r1 - 49152))
}

case_deflate_on_oom() {
	api=$TEST_WORK/oom-api.sock
	vm_boot oom --memory 256 --balloon 0,deflate-on-oom --api-sock "$api"
	avail=$(gx "sed -n 's/^MemAvailable: *\([0-9]*\) kB/\1/p' /proc/meminfo")
	# Leave the guest 32 MiB, then ask it for 96.
	target=$(((avail - 32768) / 4))
	balloon_resize "$api" "$target"
	expect_eq "a 96 MiB file written under memory pressure" \
		"$(gx "head -c $FILL /dev/zero > /dev/shm/fill; stat -c %s /dev/shm/fill")" "$FILL"
	expect_range "balloon pages after the guest's OOM deflate" \
		"$(balloon_pages "$api")" 0 $((target - 8192))
}
