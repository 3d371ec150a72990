/* SPDX-License-Identifier: MIT */
#ifndef BOOT_ELF_H
#define BOOT_ELF_H

#include <stdbool.h>

#include "boot/x86/kernel.h"

/* Note type of the PVH entry point (Xen public elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* True when @img starts with the ELF magic. */
bool elf_detect(const uint8_t *img, size_t len);

/*
 * Checks an ELF64 x86-64 vmlinux whose PT_LOAD segments (by physical
 * address) must lie in guest RAM between 1 MiB and @ram_end. Picks the PVH
 * entry when a XEN_ELFNOTE_PHYS32_ENTRY note is present, else the 64-bit
 * Linux boot protocol at e_entry. Fills @k, which points into @img afterwards.
 */
int elf_parse(const uint8_t *img, size_t len, uint64_t ram_end,
	      struct kernel_image *k, struct err *e);

#endif
