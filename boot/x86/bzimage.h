/* SPDX-License-Identifier: MIT */
#ifndef BOOT_BZIMAGE_H
#define BOOT_BZIMAGE_H

#include <stdbool.h>

#include "boot/x86/kernel.h"

/*
 * The real-mode setup code's sectors, and its size with the boot sector:
 * where the protected-mode kernel starts in a file @img that
 * bzimage_detect() accepted.
 */
unsigned int bzimage_setup_sects(const uint8_t *img);
size_t bzimage_setup_size(const uint8_t *img);

/* True when @img carries the "HdrS" setup header magic. */
bool bzimage_detect(const uint8_t *img, size_t len);

/*
 * Checks a bzImage (Linux x86 boot protocol 2.06 or newer with a 64-bit
 * entry point) and decides where its protected-mode kernel goes in guest
 * RAM below @ram_end. Fills @k; @k points into @img afterwards.
 */
int bzimage_parse(const uint8_t *img, size_t len, uint64_t ram_end,
		  struct kernel_image *k, struct err *e);

#endif
