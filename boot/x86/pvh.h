/* SPDX-License-Identifier: MIT */
#ifndef BOOT_PVH_H
#define BOOT_PVH_H

#include "boot/x86/kernel.h"
#include "vmm/arch/x86/layout.h"

/* struct hvm_start_info (Xen public arch-x86/hvm/start_info.h), version 1. */
#define PVH_START_MAGIC 0x336ec578
#define PVH_START_VERSION 1
#define PVH_START_INFO_SIZE 56
#define PVH_MODLIST_ENTRY_SIZE 32
#define PVH_MEMMAP_ENTRY_SIZE 24

/* Where the module list and memory map follow the start info. */
#define PVH_MODLIST (LAYOUT_PVH_START_INFO + 0x40)
#define PVH_MEMMAP (LAYOUT_PVH_START_INFO + 0x80)

/*
 * Writes hvm_start_info at LAYOUT_PVH_START_INFO, with the command line, the
 * initrd as module 0, the RSDP and the e820 map from @info.
 */
int pvh_write_start_info(const struct guest_mem *mem,
			 const struct boot_info *info, struct err *e);

#endif
