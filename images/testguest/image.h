/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_IMAGE_H
#define IMAGES_TESTGUEST_IMAGE_H

/*
 * Facts about the test guest's images that both the guest and the host tool
 * that writes the bzImage (mkbzimage) rely on. Included from C and assembly.
 */

/* Longest command line the guest reads, without its NUL (cmdline_size). */
#define TG_CMDLINE_MAX 4095

/* The bzImage's protected-mode payload is linked here (code32_start). */
#define TG_BZIMAGE_LOAD 0x100000
/* The 64-bit entry sits this far into the payload (XLF_KERNEL_64). */
#define TG_ENTRY64_OFFSET 0x200

/* How the guest was entered; passed from the entry code to C in %edi. */
#define TG_BOOT_BZIMAGE 0
#define TG_BOOT_ELF_PVH 1
#define TG_BOOT_ELF64 2

/* Selectors of the guest's own GDT (entry.S). */
#define TG_SEL_CODE64 0x08
#define TG_SEL_DATA 0x10

#endif
