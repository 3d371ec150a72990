#!/bin/sh
# Builds the test initramfs: busybox, the guest agent as PID 1 (started by
# /init), and the virtio/vsock modules of a Debian kernel package with
# everything they depend on, loaded in dependency order; and whatever else
# the caller names (the Linux suite's guest tools).
#
#   mkinitramfs.sh KERNEL.deb AGENT INIT OUT.cpio.gz WORKDIR [BUSYBOX [ITEM...]]
#
# BUSYBOX is the guest's busybox (default: the host's /bin/busybox); for
# another architecture's guest it is that architecture's busybox-static.
# ITEMs are those of images/initramfs.sh's install_items (program:SRC:DEST,
# file:SRC:DEST, link:TARGET:DEST), for a guest of the host's architecture.
set -eu

deb=$1 agent=$2 init=$3 out=$4 work=$5
guest_busybox=${6:-/bin/busybox}
shift $(($# < 6 ? $# : 6))
. "$(dirname "$0")/../initramfs.sh"

# virtio_console is built into some kernels, a module in others. Both
# transports: the VMM's virtio-mmio and virtio-pci (--transport pci).
modules="virtio virtio_ring virtio_mmio virtio_pci virtio_blk virtio_net virtio_console?
vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport
virtio_balloon efivarfs?"

rm -rf "$work"
mkdir -p "$work"
root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/etc" "$root/proc" "$root/sys" \
	"$root/dev" "$root/tmp" "$root/run" "$root/root" "$root/mnt"
kmod_open "$deb" "$work"
# shellcheck disable=SC2086 # a list of module names
kmod_install "$root" $modules

cp "$guest_busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$agent" "$root/sbin/guest-agent"
cp "$init" "$root/init"
chmod 0755 "$root/init" "$root/sbin/guest-agent"
install_items "$root" "$@"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	> "$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$root/etc/group"
# The kernel opens /dev/console for /init before devtmpfs is mounted.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
else
	echo "mkinitramfs: not root: no /dev/console node (the agent reopens it)" >&2
fi
pack_cpio "$root" "$out" gzip
echo "mkinitramfs: $(wc -c < "$out") bytes; modules: $(tr '\n' ' ' < "$root/etc/modules-load")"
