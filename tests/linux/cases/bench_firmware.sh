# SPDX-License-Identifier: MIT
# bench_firmware: Debian's OVMF starting the Linux image, against the same
# image booted directly and against QEMU's q35 with the same OVMF, side by
# side on this host (make bench-firmware, docs/bench.md). A benchmark, not
# a test: it runs only when named, and its figures follow its result line.
# arch: x86_64
# manual
# variants: mmio

OVMF=${OVMF:-$IMAGES/OVMF.fd}
BENCH_FIRMWARE=${BENCH_FIRMWARE:-/bin/bench-firmware}
# earlyprintk: the kernel's first line comes as it starts, not at the
# console's registration.
BENCH_CMDLINE="console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=k panic=-1"

case_firmware_against_direct_boot() {
	[ -x "$BENCH_FIRMWARE" ] || fail "no benchmark program at $BENCH_FIRMWARE"
	command -v qemu-system-x86_64 >/dev/null ||
		fail "no qemu-system-x86_64 to measure against"
	set -- --kernel "$IMAGES/vmlinuz" --initrd "$IMAGES/initramfs.cpio.gz" \
		--cmdline "$BENCH_CMDLINE" --memory 512 --cpus 1 --serial stdio
	"$BENCH_FIRMWARE" "${BENCH_FIRMWARE_RUNS:-5}" \
		direct -- "$VMM" "$@" \
		--- uefi -- "$VMM" --firmware "$OVMF" "$@" \
		--- qemu-uefi -- qemu-system-x86_64 -M q35,smm=off -accel kvm -cpu host \
			-m 512 -smp 1 -nodefaults -no-user-config -display none \
			-bios "$OVMF" -kernel "$IMAGES/vmlinuz" \
			-initrd "$IMAGES/initramfs.cpio.gz" \
			-append "$BENCH_CMDLINE" -serial stdio \
		> "$CASE_STATE/report" 2> "$CASE_STATE/errors" ||
		fail "the benchmark failed: $(tail -n 5 "$CASE_STATE/errors")"
}
