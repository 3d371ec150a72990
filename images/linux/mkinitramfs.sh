#!/bin/sh
# Builds the test initramfs: busybox, the guest agent as PID 1 (started by
# /init), and the virtio/vsock modules of a Debian kernel package with
# everything they depend on, loaded in dependency order.
#
#   mkinitramfs.sh KERNEL.deb AGENT INIT OUT.cpio.gz WORKDIR [BUSYBOX]
#
# BUSYBOX is the guest's busybox (default: the host's /bin/busybox); for
# another architecture's guest it is that architecture's busybox-static.
set -eu

deb=$1 agent=$2 init=$3 out=$4 work=$5
busybox=/bin/busybox
guest_busybox=${6:-$busybox}
modules="virtio virtio_ring virtio_mmio virtio_blk virtio_net vsock
vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport virtio_balloon"

rm -rf "$work"
mkdir -p "$work/pkg" "$work/root"
dpkg-deb -x "$deb" "$work/pkg"
moddir=$(echo "$work"/pkg/lib/modules/*)
[ -d "$moddir" ] || { echo "mkinitramfs: no modules in $deb" >&2; exit 1; }

modfile() {
	f=$(find "$moddir/kernel" -name "$1.ko" | head -n 1)
	[ -n "$f" ] || f=$(find "$moddir/kernel" -name "$(echo "$1" | tr _ -).ko" | head -n 1)
	[ -n "$f" ] || { echo "mkinitramfs: module $1 not in $deb" >&2; exit 1; }
	echo "$f"
}

# The modinfo "depends=" field: one of the NUL-separated strings of the
# module's .modinfo section, read without binutils of the module's
# architecture.
moddeps() {
	tr '\0' '\n' < "$(modfile "$1")" | sed -n 's/^depends=//p' | tr ',' ' '
}

order="$work/order"
: > "$order"
visit() {
	grep -qx "$1" "$order" && return 0
	for dep in $(moddeps "$1"); do
		visit "$dep"
	done
	grep -qx "$1" "$order" || echo "$1" >> "$order"
}
for m in $modules; do
	visit "$m"
done
# Built into some kernels (x86's cloud flavour), a module in others (arm64's).
for m in virtio_console; do
	[ -z "$(find "$moddir/kernel" -name "$m.ko")" ] || visit "$m"
done

root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/etc" "$root/lib/modules" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run" "$root/root"
cp "$guest_busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$agent" "$root/sbin/guest-agent"
cp "$init" "$root/init"
chmod 0755 "$root/init" "$root/sbin/guest-agent"
while read -r m; do
	cp "$(modfile "$m")" "$root/lib/modules/$m.ko"
done < "$order"
cp "$order" "$root/etc/modules-load"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	> "$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$root/etc/group"
# The kernel opens /dev/console for /init before devtmpfs is mounted.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
else
	echo "mkinitramfs: not root: no /dev/console node (the agent reopens it)" >&2
fi
(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) |
	gzip -9 > "$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs: $(wc -c < "$out") bytes; modules: $(tr '\n' ' ' < "$order")"
