#!/bin/sh
# SPDX-License-Identifier: MIT
# A GPT disk image that UEFI firmware boots by itself: one EFI system
# partition (FAT, made with dosfstools and filled with mtools) holding
# GRUB's EFI binary from Debian's grub-efi-amd64-bin at the removable-media
# path \EFI\BOOT\BOOTX64.EFI, with a grub.cfg built in that boots the given
# kernel and initramfs from the same partition with the given command line.
#
# Usage: mkuefidisk.sh VMLINUZ INITRAMFS CMDLINE OUT
set -eu
vmlinuz=$1 initrd=$2 cmdline=$3 out=$4
work=$out.work
rm -rf "$work"
mkdir -p "$work"

cat > "$work/grub.cfg" <<CFG
set timeout=0
search --no-floppy --file --set=root /linux/vmlinuz
echo "grub: booting /linux/vmlinuz from the EFI system partition"
linux /linux/vmlinuz $cmdline
initrd /linux/initrd.gz
boot
CFG
grub-mkstandalone -O x86_64-efi -o "$work/BOOTX64.EFI" \
	--install-modules="linux normal search search_fs_file part_gpt fat echo" \
	--modules="part_gpt fat" --locales= --themes= --fonts= \
	"boot/grub/grub.cfg=$work/grub.cfg"

# The partition: the files and 4 MiB to spare, in whole MiB.
bytes=$(($(wc -c < "$vmlinuz") + $(wc -c < "$initrd") + \
	$(wc -c < "$work/BOOTX64.EFI")))
esp_mib=$((bytes / 1048576 + 5))
[ "$esp_mib" -ge 34 ] || esp_mib=34
mkfs.vfat -C -n ESP "$work/esp.img" $((esp_mib * 1024)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT ::/linux
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$work/esp.img" "$vmlinuz" ::/linux/vmlinuz
mcopy -i "$work/esp.img" "$initrd" ::/linux/initrd.gz

# GPT: the partition from 1 MiB, 1 MiB after it for the backup table.
truncate -s $(((esp_mib + 2) * 1048576)) "$work/disk.img"
printf 'label: gpt\nstart=2048, size=%d, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system partition"\n' \
	$((esp_mib * 2048)) | sfdisk --quiet "$work/disk.img"
dd if="$work/esp.img" of="$work/disk.img" bs=1048576 seek=1 conv=notrunc \
	status=none
mv "$work/disk.img" "$out"
rm -rf "$work"
echo "mkuefidisk: $out: $((esp_mib + 2)) MiB, GRUB and $(basename "$vmlinuz")"
