// SPDX-License-Identifier: MIT
#include "zeropage.h"

#include <string.h>

#include "vmm/arch/x86/layout.h"

/*
 * Where the real-mode heap would end, relative to the setup code. The 64-bit
 * entry never runs the setup code; the value only has to be the customary
 * one for a loader that sets CAN_USE_HEAP.
 */
#define HEAP_END_PTR 0xfe00
/* CONFIG_PHYSICAL_ALIGN's default, announced for an ELF vmlinux. */
#define SYNTH_KERNEL_ALIGNMENT (2 * MiB)

static void synthesize_header(uint8_t *zp, const struct kernel_image *k)
{
	put_le16(zp + HDR_BOOT_FLAG, BOOT_FLAG_MAGIC);
	memcpy(zp + HDR_MAGIC, "HdrS", 4);
	put_le16(zp + HDR_VERSION, k->protocol);
	zp[HDR_LOADFLAGS] = LOADFLAG_LOADED_HIGH;
	put_le32(zp + HDR_KERNEL_ALIGNMENT, SYNTH_KERNEL_ALIGNMENT);
	put_le32(zp + HDR_CMDLINE_SIZE, k->cmdline_max);
	put_le32(zp + HDR_INITRD_ADDR_MAX,
		 (uint32_t)MIN(k->initrd_end_max - 1, UINT32_MAX));
}

static void write_e820(uint8_t *zp, const struct boot_info *info)
{
	unsigned int n = MIN(info->nr_e820, ZP_E820_MAX);

	for (unsigned int i = 0; i < n; i++) {
		uint8_t *ent = zp + ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;

		put_le64(ent, info->e820[i].addr);
		put_le64(ent + 8, info->e820[i].size);
		put_le32(ent + 16, info->e820[i].type);
	}
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
}

int zeropage_write(const struct guest_mem *mem, const struct kernel_image *k,
		   const struct boot_info *info, struct err *e)
{
	uint8_t *zp = guest_mem_ptr(mem, LAYOUT_ZERO_PAGE, ZP_SIZE);

	if (!zp)
		return err_set(e, "zero page at 0x%llx is outside guest RAM",
			       LAYOUT_ZERO_PAGE);
	/* Everything not set below must read as zero (sentinel included). */
	memset(zp, 0, ZP_SIZE);
	if (k->setup_hdr)
		memcpy(zp + HDR_START, k->setup_hdr,
		       MIN(k->setup_hdr_len, ZP_HDR_LIMIT - HDR_START));
	else
		synthesize_header(zp, k);

	zp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	zp[HDR_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
	put_le16(zp + HDR_HEAP_END_PTR, HEAP_END_PTR);
	/* Everything we place lies below 4 GiB: the ext_* halves stay 0. */
	put_le32(zp + HDR_CMD_LINE_PTR, (uint32_t)info->cmdline_gpa);
	put_le32(zp + HDR_RAMDISK_IMAGE, (uint32_t)info->initrd_start);
	put_le32(zp + HDR_RAMDISK_SIZE, (uint32_t)info->initrd_size);
	/* No setup_data chain, plain PC sub-architecture. */
	put_le64(zp + HDR_SETUP_DATA, 0);
	put_le32(zp + HDR_HARDWARE_SUBARCH, 0);
	if (k->protocol >= 0x020e)
		put_le64(zp + ZP_ACPI_RSDP_ADDR, info->rsdp);
	write_e820(zp, info);
	return 0;
}
