/* SPDX-License-Identifier: MIT */
#ifndef BOOT_E820_H
#define BOOT_E820_H

#include <stdint.h>

#include "boot/boot.h"
#include "vmm/memory.h"

#define E820_RAM 1
#define E820_RESERVED 2

/*
 * Entries e820_build() can produce: 3 for low memory, 1 for the PCI ECAM
 * window, 1 per other region.
 */
#define E820_MAP_MAX (4 + GUEST_MEM_MAX_REGIONS - 1)

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * The guest's memory map, sorted by address and without overlaps: the zero
 * page and the PVH start info both hand this same map to the kernel. With
 * @pci (else NULL) its ECAM window is reserved, as Linux wants it before
 * it uses MMCONFIG. Returns the number of entries written to @map.
 */
unsigned int e820_build(const struct guest_mem *mem, const struct boot_pci *pci,
			struct e820_entry map[E820_MAP_MAX]);

#endif
