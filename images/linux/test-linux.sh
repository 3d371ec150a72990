#!/bin/sh
# Boots the Linux test image with the VMM and runs commands through the
# guest agent (vmmctl exec over the VMM's vsock Unix socket).
#
#   test-linux.sh VMM VMMCTL IMAGE-DIR
set -eu

vmm=$1 vmmctl=$2 images=$3

if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "test-linux: not run: no hardware virtualization (no vmx/svm in /proc/cpuinfo); a Linux guest would crawl in KVM's instruction emulator"
	exit 0
fi

work=$(mktemp -d /tmp/test-linux-XXXXXX)
uds=$work/vsock.sock
log=$work/serial.log
vmm_pid=
cleanup() {
	[ -n "$vmm_pid" ] && kill "$vmm_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$vmm" --kernel "$images/vmlinux" --initrd "$images/initramfs.cpio.gz" \
	--cmdline "console=ttyS0 quiet" --memory 256 --cpus 1 \
	--vsock "cid=3,uds=$uds" > "$log" 2>&1 &
vmm_pid=$!

# The agent is up when its ready port (5002) accepts.
tries=0
until [ -S "$uds" ] && "$vmmctl" exec --vsock-uds "$uds" --port 5000 true 2>/dev/null; do
	tries=$((tries + 1))
	if [ $tries -gt 300 ] || ! kill -0 "$vmm_pid" 2>/dev/null; then
		echo "test-linux: FAIL: the guest agent did not come up; serial log:"
		tail -n 40 "$log"
		exit 1
	fi
	sleep 0.1
done

fail=0
check() {
	desc=$1 want=$2 got=$3
	if [ "$got" = "$want" ]; then
		echo "test-linux: ok: $desc"
	else
		echo "test-linux: FAIL: $desc: got \"$got\", want \"$want\""
		fail=1
	fi
}
check "uname" "Linux" "$("$vmmctl" exec --vsock-uds "$uds" uname -s)"
check "stdin piped" "HELLO" "$(echo hello | "$vmmctl" exec --vsock-uds "$uds" tr a-z A-Z)"
set +e
"$vmmctl" exec --vsock-uds "$uds" 'exit 7'
rc=$?
set -e
check "exit status" "7" "$rc"
check "modules loaded" "yes" \
	"$("$vmmctl" exec --vsock-uds "$uds" 'grep -q vmw_vsock_virtio_transport /proc/modules && echo yes')"
"$vmmctl" exec --vsock-uds "$uds" poweroff -f >/dev/null 2>&1 || true
exit $fail
