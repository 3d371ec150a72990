// SPDX-License-Identifier: MIT
#include "e820.h"

#include "vmm/arch/x86/layout.h"

static void add(struct e820_entry *map, unsigned int *n, uint64_t addr,
		uint64_t end, uint32_t type)
{
	if (end <= addr)
		return;
	map[*n] = (struct e820_entry){ .addr = addr, .size = end - addr,
				       .type = type };
	(*n)++;
}

unsigned int e820_build(const struct guest_mem *mem, const struct boot_pci *pci,
			struct e820_entry map[E820_MAP_MAX])
{
	uint64_t low_end = guest_mem_low_end(mem);
	unsigned int n = 0;

	/*
	 * Region 0 starts at 0. Below 1 MiB only conventional memory is RAM;
	 * the EBDA (MP table), the legacy hole and the ACPI tables stay
	 * reserved so the kernel neither allocates nor frees them.
	 */
	add(map, &n, 0, MIN(low_end, LAYOUT_LOW_RAM_END), E820_RAM);
	add(map, &n, LAYOUT_EBDA, LAYOUT_HIGH_RAM, E820_RESERVED);
	add(map, &n, LAYOUT_HIGH_RAM, low_end, E820_RAM);
	/* Low RAM ends at or below the ECAM window (vmm/arch/x86/layout.h). */
	if (pci)
		add(map, &n, pci->ecam_base, pci->ecam_base + pci->ecam_size,
		    E820_RESERVED);
	for (unsigned int i = 1; i < mem->nr_regions; i++)
		add(map, &n, mem->regions[i].gpa,
		    mem->regions[i].gpa + mem->regions[i].size, E820_RAM);
	return n;
}
