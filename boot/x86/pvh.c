// SPDX-License-Identifier: MIT
#include "pvh.h"

#include <string.h>

#include "vmm/arch/x86/layout.h"

#define PVH_AREA_SIZE \
	(PVH_MEMMAP - LAYOUT_PVH_START_INFO + E820_MAP_MAX * PVH_MEMMAP_ENTRY_SIZE)

_Static_assert(LAYOUT_PVH_START_INFO + PVH_AREA_SIZE <= LAYOUT_ZERO_PAGE,
	       "PVH start info area overlaps the zero page");

int pvh_write_start_info(const struct guest_mem *mem,
			 const struct boot_info *info, struct err *e)
{
	uint8_t *si = guest_mem_ptr(mem, LAYOUT_PVH_START_INFO, PVH_AREA_SIZE);
	uint8_t *mod = si + (PVH_MODLIST - LAYOUT_PVH_START_INFO);
	uint8_t *map = si + (PVH_MEMMAP - LAYOUT_PVH_START_INFO);

	if (!si)
		return err_set(e, "PVH start info at 0x%llx is outside guest RAM",
			       LAYOUT_PVH_START_INFO);
	memset(si, 0, PVH_AREA_SIZE);
	put_le32(si + 0, PVH_START_MAGIC);
	put_le32(si + 4, PVH_START_VERSION);
	put_le32(si + 8, 0); /* flags */
	if (info->initrd_size) {
		put_le32(si + 12, 1);
		put_le64(si + 16, PVH_MODLIST);
		put_le64(mod + 0, info->initrd_start);
		put_le64(mod + 8, info->initrd_size);
	}
	put_le64(si + 24, info->cmdline_gpa);
	put_le64(si + 32, info->rsdp);
	put_le64(si + 40, PVH_MEMMAP);
	put_le32(si + 48, info->nr_e820);
	for (unsigned int i = 0; i < info->nr_e820; i++) {
		uint8_t *ent = map + i * PVH_MEMMAP_ENTRY_SIZE;

		put_le64(ent, info->e820[i].addr);
		put_le64(ent + 8, info->e820[i].size);
		put_le32(ent + 16, info->e820[i].type);
	}
	return 0;
}
