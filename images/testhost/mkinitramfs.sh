#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the nested test host's initramfs from Debian packages and the
# build: busybox, the KVM and TAP modules of the kernel package, programs
# with the shared libraries ldd names, files, and directory trees.
#
#   mkinitramfs.sh ARCH.conf KERNEL.deb INIT OUT WORKDIR ITEM...
#
# ITEMs are those of images/initramfs.sh's install_items: program:SRC:DEST
# (with its shared libraries), file:SRC:DEST, tree:DIR:DEST, link:TARGET:DEST;
# DEST is where it lands in the test host.
set -eu

conf=$1 deb=$2 init=$3 out=$4 work=$5
shift 5
here=$(dirname "$0")
. "$here/../initramfs.sh"
. "$conf"

rm -rf "$work"
mkdir -p "$work"
root=$work/root
mkdir -p "$root/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" \
	"$root/tmp" "$root/run" "$root/root"
kmod_open "$deb" "$work"
# shellcheck disable=SC2086 # a list of module names
kmod_install "$root" $HOST_MODULES
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$init" "$root/init"
chmod 0755 "$root/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"

install_items "$root" "$@"
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
fi
# Uncompressed: QEMU loads it in one piece and the emulated CPU has no
# decompression to do.
pack_cpio "$root" "$out" none
echo "testhost: $(($(wc -c < "$out") / 1048576)) MiB; modules: $(tr '\n' ' ' < "$root/etc/modules-load")"
