/* SPDX-License-Identifier: MIT */
#ifndef BOOT_ZEROPAGE_H
#define BOOT_ZEROPAGE_H

#include "boot/x86/kernel.h"

/*
 * struct boot_params ("zero page") of the Linux x86 boot protocol, as byte
 * offsets. The setup header fields sit at the same offsets in a bzImage
 * file and in the zero page, so one set of names serves both.
 */
#define ZP_SIZE 0x1000
#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_SENTINEL 0x1ef
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_ENTRY_SIZE 20
#define ZP_E820_MAX 128
/* The setup header can never reach past this (edd_mbr_sig_buffer). */
#define ZP_HDR_LIMIT 0x290

#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_HARDWARE_SUBARCH 0x23c
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260

#define BOOT_FLAG_MAGIC 0xaa55
#define LOADFLAG_LOADED_HIGH 0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x0001
#define LOADER_TYPE_UNDEFINED 0xff

/* Version of the header built for an ELF vmlinux (2.15: acpi_rsdp_addr). */
#define ZP_SYNTH_PROTOCOL 0x020f

/*
 * Writes the zero page at LAYOUT_ZERO_PAGE: the kernel's setup header (or a
 * synthesized one for an ELF vmlinux) plus the loader's fields from @info.
 */
int zeropage_write(const struct guest_mem *mem, const struct kernel_image *k,
		   const struct boot_info *info, struct err *e);

#endif
