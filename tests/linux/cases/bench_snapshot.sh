# SPDX-License-Identifier: MIT
# bench_snapshot: restore against cold boot of the Linux image, to a ready
# guest agent, side by side on this host (make bench-snapshot,
# docs/bench.md). A benchmark, not a test: it runs only when named, and
# its figures follow its result line.
# arch: x86_64
# manual

case_restore_against_boot() {
	[ -x "$BENCH_SNAPSHOT" ] || fail "no benchmark program at $BENCH_SNAPSHOT"
	mkdir -p "$TEST_WORK/bench-snapshot"
	"$BENCH_SNAPSHOT" --vmm "$VMM" --kernel "$IMAGES/vmlinux" \
		--initrd "$IMAGES/initramfs.cpio.gz" --dir "$TEST_WORK/bench-snapshot" \
		--runs "${BENCH_SNAPSHOT_RUNS:-5}" > "$CASE_STATE/report" ||
		fail "the benchmark failed"
}
