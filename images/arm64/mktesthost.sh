#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the initramfs of the arm64 test host: the arm64 busybox, our arm64
# vmm and vmmctl with the shared libraries they name, the guest image
# (Debian's arm64 kernel and the test initramfs), the tun module, the cases
# and an /init that runs them.
#
#   mktesthost.sh KERNEL.deb IMAGE GUEST-INITRAMFS BUSYBOX VMM VMMCTL INIT \
#                 CASES OUT.cpio WORKDIR
set -eu

deb=$1 image=$2 initramfs=$3 busybox=$4 vmm=$5 vmmctl=$6 init=$7 cases=$8
out=$9 work=${10}
libdirs="/lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu"

rm -rf "$work"
mkdir -p "$work/pkg" "$work/root"
root=$work/root
mkdir -p "$root/bin" "$root/lib" "$root/lib/modules" "$root/proc" "$root/sys" \
	"$root/dev" "$root/tmp" "$root/images" "$root/tests"

# The shared library $1 from the arm64 multiarch directories.
findlib() {
	for d in $libdirs; do
		[ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	echo "mktesthost: $1 (needed by an arm64 program) is not installed" >&2
	return 1
}

# Copies an arm64 program and, transitively, the libraries it needs.
install_program() {
	cp "$1" "$root/bin/$2"
	pending=$(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
	while [ -n "$pending" ]; do
		next=
		for lib in $pending; do
			[ -e "$root/lib/$lib" ] && continue
			cp -L "$(findlib "$lib")" "$root/lib/$lib"
			next="$next $(readelf -d "$root/lib/$lib" |
				sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
		done
		pending=$next
	done
}

cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install_program "$vmm" vmm
install_program "$vmmctl" vmmctl
cp -L "$(findlib ld-linux-aarch64.so.1)" "$root/lib/ld-linux-aarch64.so.1"
cp "$image" "$root/images/Image"
cp "$initramfs" "$root/images/initramfs.cpio.gz"
cp "$init" "$root/init"
cp "$cases" "$root/tests/cases.sh"
chmod 0755 "$root/init" "$root/bin/vmm" "$root/bin/vmmctl"
dpkg-deb -x "$deb" "$work/pkg"
tun=$(find "$work"/pkg/lib/modules -name tun.ko | head -n 1)
[ -n "$tun" ] || { echo "mktesthost: no tun.ko in $deb" >&2; exit 1; }
cp "$tun" "$root/lib/modules/tun.ko"
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
fi
(cd "$root" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null) \
	> "$out.tmp"
mv "$out.tmp" "$out"
echo "mktesthost: $(wc -c < "$out") bytes"
