#!/bin/sh
# SPDX-License-Identifier: MIT
# Boots the arm64 test host, an emulated arm64 machine with KVM (QEMU's TCG
# with virtualization=on), and relays the results of the cases it runs
# (tests/arm64/cases.sh): one line per case, then "N passed, N failed".
#
#   run.sh KERNEL TESTHOST.cpio OUTDIR
#
# The whole console is kept in OUTDIR/console.log. Exits 0 only when the
# cases ran to their end with no failure.
set -u

kernel=$1 initramfs=$2 out=$3
limit=${TESTHOST_TIMEOUT:-600}
mkdir -p "$out"
console=$out/console.log

echo "# arm64 test host: qemu-system-aarch64 (TCG, GICv3, virtualization=on), kernel $(basename "$kernel")"
start=$(date +%s)
# pauth-impdef: the architected pointer-authentication algorithm costs
# TCG three to four times the time.
timeout -k 10 "$limit" qemu-system-aarch64 \
	-M virt,virtualization=on,gic-version=3 -accel tcg,thread=multi \
	-cpu max,pauth-impdef=on -smp 2 -m 2048 \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$kernel" -initrd "$initramfs" \
	-append "console=ttyAMA0 quiet loglevel=0 panic=-1" \
	-serial "file:$console" < /dev/null > "$out/qemu.log" 2>&1
tr -d '\r' < "$console" | grep -E '^(ok|FAIL|    ) ' > "$out/results.log"
cat "$out/results.log"
summary=$(tr -d '\r' < "$console" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
echo "# arm64 test host: $(($(date +%s) - start)) s"
if [ -z "$summary" ]; then
	echo "arm64 test host: did not finish within $limit s; its console:"
	tail -n 40 "$console" | sed 's/^/    | /'
	echo "$(grep -c '^ok ' "$out/results.log") passed, $(($(grep -c '^FAIL ' "$out/results.log") + 1)) failed"
	exit 1
fi
echo "$summary"
case $summary in
*" 0 failed") exit 0 ;;
*) exit 1 ;;
esac
