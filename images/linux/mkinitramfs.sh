#!/bin/sh
# Builds the test initramfs: busybox, the guest agent as PID 1 (started by
# /init), and the virtio/vsock modules of a Debian kernel package with
# everything they depend on, loaded in dependency order; and whatever else
# the caller names (the Linux suite's guest tools).
#
#   mkinitramfs.sh KERNEL.deb AGENT INIT OUT.cpio.gz WORKDIR [BUSYBOX [ITEM...]]
#
# KERNEL.deb "-" is a kernel with those drivers built in: no modules.
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
# transports: the VMM's virtio-mmio and virtio-pci (--transport pci). The
# ACPI power button (button, and evdev for its key presses) is a module
# only where the kernel has ACPI buttons.
modules="virtio virtio_ring virtio_mmio virtio_pci virtio_blk virtio_net virtio_console?
vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport
virtio_balloon button? evdev? efivarfs?"

rm -rf "$work"
mkdir -p "$work"
root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/etc" "$root/proc" "$root/sys" \
	"$root/dev" "$root/tmp" "$root/run" "$root/root" "$root/mnt"
if [ "$deb" = - ]; then
	: > "$root/etc/modules-load"
else
	kmod_open "$deb" "$work"
	# shellcheck disable=SC2086 # a list of module names
	kmod_install "$root" $modules
fi

cp "$guest_busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$agent" "$root/sbin/guest-agent"
cp "$init" "$root/init"
chmod 0755 "$root/init" "$root/sbin/guest-agent"
install_items "$root" "$@"
# busybox acpid runs this for the power button's KEY_POWER: init, the
# guest agent, shuts down and powers off.
mkdir -p "$root/etc/acpi/PWRF"
cat > "$root/etc/acpi/PWRF/00000080" <<'ACPI'
#!/bin/sh
echo "acpid: power button pressed; shutting down" > /dev/console
kill -TERM 1
ACPI
chmod 0755 "$root/etc/acpi/PWRF/00000080"
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
