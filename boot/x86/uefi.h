/* SPDX-License-Identifier: MIT */
#ifndef BOOT_X86_UEFI_H
#define BOOT_X86_UEFI_H

#include "boot/boot.h"

struct fw_cfg;

/*
 * What UEFI firmware built for QEMU (OVMF) reads through fw_cfg to boot
 * this machine (docs/uefi.md): the vCPU count, the RAM map ("etc/e820"),
 * the ACPI tables with the table-loader script that places them, and,
 * when @cfg names a kernel, that EFI executable with its initrd and
 * command line, which the firmware starts before its boot manager looks at
 * disks. Fails with a message naming the file and the reason.
 */
int uefi_setup(const struct guest_mem *mem, const struct boot_config *cfg,
	       struct fw_cfg *fw, struct err *e);

#endif
