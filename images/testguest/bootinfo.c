// SPDX-License-Identifier: MIT
/* Reading the zero page or hvm_start_info into struct bootinfo. */
#include "bootinfo.h"
#include "format.h"
#include "io.h"
#include "str.h"

#define FOUR_GIB 0x100000000ULL

/* struct boot_params (Linux zero page), as in Documentation/arch/x86/zero-page.rst. */
#define ZP_SIZE 4096
#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_HDR_MAGIC 0x202
#define ZP_LOADFLAGS 0x211
#define ZP_CODE32_START 0x214
#define ZP_CMD_LINE_PTR 0x228
#define ZP_CMDLINE_SIZE 0x238
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_ENTRY_SIZE 20
#define HDRS_MAGIC 0x53726448 /* "HdrS" */

/* struct hvm_start_info (Xen's arch-x86/hvm/start_info.h). */
#define SI_MAGIC_VALUE 0x336ec578
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_CMDLINE_PADDR 24
#define SI_RSDP_PADDR 32
#define SI_MEMMAP_PADDR 40
#define SI_MEMMAP_ENTRIES 48
#define SI_SIZE_V0 40
#define SI_SIZE_V1 56
#define SI_MEMMAP_ENTRY_SIZE 24

/* Legacy areas firmware tables are searched in (MP spec 4, ACPI 5.2.5.1). */
#define LEGACY_EBDA_START 0x80000ULL
#define LEGACY_EBDA_END 0xa0000ULL
#define LEGACY_BIOS_START 0xe0000ULL
#define LEGACY_BIOS_END 0x100000ULL

const char *boot_kind_name(unsigned int kind)
{
	switch (kind) {
	case TG_BOOT_BZIMAGE:
		return "bzImage";
	case TG_BOOT_ELF_PVH:
		return "elf-pvh";
	case TG_BOOT_ELF64:
		return "elf-64";
	}
	return "unknown";
}

static bool below_4g(uint64_t addr, uint64_t len)
{
	return addr < FOUR_GIB && len <= FOUR_GIB - addr;
}

static bool inside(uint64_t addr, uint64_t len, uint64_t start, uint64_t end)
{
	return addr >= start && addr < end && len <= end - addr;
}

bool bootinfo_range_ok(const struct bootinfo *bi, uint64_t addr, uint64_t len)
{
	unsigned int i;

	if (!len || !below_4g(addr, len))
		return false;
	if (inside(addr, len, LEGACY_EBDA_START, LEGACY_EBDA_END) ||
	    inside(addr, len, LEGACY_BIOS_START, LEGACY_BIOS_END))
		return true;
	for (i = 0; i < bi->nr_e820; i++) {
		const struct bi_e820 *e = &bi->e820[i];

		if (e->size && addr >= e->addr && addr - e->addr < e->size &&
		    len <= e->size - (addr - e->addr))
			return true;
	}
	return false;
}

bool bootinfo_is_ram(const struct bootinfo *bi, uint64_t addr, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < bi->nr_e820; i++) {
		const struct bi_e820 *e = &bi->e820[i];

		if (e->type == E820_RAM && e->size && addr >= e->addr &&
		    addr - e->addr < e->size &&
		    len <= e->size - (addr - e->addr))
			return true;
	}
	return false;
}

/*
 * Copies the command line at @bi->cmdline_addr, looking for its NUL at or
 * before index @bi->cmdline_limit.
 */
static void read_cmdline(struct bootinfo *bi)
{
	uint64_t addr = bi->cmdline_addr, max, n;
	const uint8_t *src;

	if (!addr) {
		format(bi->cmdline_error, sizeof(bi->cmdline_error),
		       "no command line (its pointer is 0)");
		return;
	}
	if (addr >= FOUR_GIB) {
		format(bi->cmdline_error, sizeof(bi->cmdline_error),
		       "command line pointer 0x%lx is above 4 GiB", addr);
		return;
	}
	max = bi->cmdline_limit + 1;
	if (max > TG_CMDLINE_MAX + 1)
		max = TG_CMDLINE_MAX + 1;
	if (max > FOUR_GIB - addr)
		max = FOUR_GIB - addr;
	src = phys_ptr(addr);
	for (n = 0; n < max && src[n]; n++)
		bi->cmdline[n] = (char)src[n];
	if (n < max) {
		bi->cmdline[n] = '\0';
		bi->cmdline_ok = true;
		return;
	}
	/* Keep what was read, minus one byte, for the CMDLINE line. */
	bi->cmdline[max - 1] = '\0';
	if (bi->cmdline_limit > TG_CMDLINE_MAX)
		format(bi->cmdline_error, sizeof(bi->cmdline_error),
		       "command line at 0x%lx is longer than %u bytes, the most this guest reads",
		       addr, TG_CMDLINE_MAX);
	else
		format(bi->cmdline_error, sizeof(bi->cmdline_error),
		       "command line at 0x%lx has no NUL within cmdline_size (%lu)",
		       addr, bi->cmdline_limit);
}

static void read_zero_page(struct bootinfo *bi)
{
	const uint8_t *zp;
	unsigned int i, n;

	if (!bi->info_addr || !below_4g(bi->info_addr, ZP_SIZE)) {
		format(bi->info_error, sizeof(bi->info_error),
		       "zero page pointer %%rsi=0x%lx is not usable",
		       bi->info_addr);
		return;
	}
	zp = phys_ptr(bi->info_addr);
	bi->rsdp_addr = rd64(zp + ZP_ACPI_RSDP_ADDR);

	bi->has_setup_header = rd32(zp + ZP_HDR_MAGIC) == HDRS_MAGIC;
	bi->loadflags = zp[ZP_LOADFLAGS];
	bi->code32_start = rd32(zp + ZP_CODE32_START);
	bi->cmdline_size = rd32(zp + ZP_CMDLINE_SIZE);

	bi->cmdline_addr = rd32(zp + ZP_CMD_LINE_PTR) |
			   (uint64_t)rd32(zp + ZP_EXT_CMD_LINE_PTR) << 32;
	/*
	 * A loader that copied a setup header passes its cmdline_size; a
	 * zero page built from scratch (ELF boot) leaves the field 0, and
	 * then the guest's own limit applies.
	 */
	bi->cmdline_limit = bi->has_setup_header && bi->cmdline_size ?
				    bi->cmdline_size : TG_CMDLINE_MAX;
	read_cmdline(bi);

	n = zp[ZP_E820_ENTRIES];
	if (n > BI_E820_MAX) {
		format(bi->e820_error, sizeof(bi->e820_error),
		       "e820_entries is %u, the zero page holds %u", n,
		       BI_E820_MAX);
		return;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *e = zp + ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;

		bi->e820[i].addr = rd64(e);
		bi->e820[i].size = rd64(e + 8);
		bi->e820[i].type = rd32(e + 16);
	}
	bi->nr_e820 = n;
}

static void read_start_info(struct bootinfo *bi)
{
	const uint8_t *si;
	uint64_t map;
	uint32_t version, n, i;

	if (!bi->info_addr || !below_4g(bi->info_addr, SI_SIZE_V1)) {
		format(bi->info_error, sizeof(bi->info_error),
		       "start info pointer %%ebx=0x%lx is not usable",
		       bi->info_addr);
		return;
	}
	si = phys_ptr(bi->info_addr);
	if (rd32(si + SI_MAGIC) != SI_MAGIC_VALUE) {
		format(bi->info_error, sizeof(bi->info_error),
		       "start info at 0x%lx has magic 0x%x, not 0x%x",
		       bi->info_addr, rd32(si + SI_MAGIC), SI_MAGIC_VALUE);
		return;
	}
	version = rd32(si + SI_VERSION);
	bi->rsdp_addr = rd64(si + SI_RSDP_PADDR);
	bi->cmdline_addr = rd64(si + SI_CMDLINE_PADDR);
	bi->cmdline_limit = TG_CMDLINE_MAX;
	read_cmdline(bi);

	if (version < 1) {
		format(bi->e820_error, sizeof(bi->e820_error),
		       "start info version %u has no memory map", version);
		return;
	}
	map = rd64(si + SI_MEMMAP_PADDR);
	n = rd32(si + SI_MEMMAP_ENTRIES);
	if (n > BI_E820_MAX) {
		format(bi->e820_error, sizeof(bi->e820_error),
		       "memmap_entries is %u, more than %u", n, BI_E820_MAX);
		return;
	}
	if (!map || !below_4g(map, (uint64_t)n * SI_MEMMAP_ENTRY_SIZE)) {
		format(bi->e820_error, sizeof(bi->e820_error),
		       "memmap_paddr 0x%lx is not usable", map);
		return;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *e = phys_ptr(map + i * SI_MEMMAP_ENTRY_SIZE);

		bi->e820[i].addr = rd64(e);
		bi->e820[i].size = rd64(e + 8);
		bi->e820[i].type = rd32(e + 16);
	}
	bi->nr_e820 = n;
}

void bootinfo_read(struct bootinfo *bi, unsigned int kind, uint64_t addr)
{
	bi->kind = kind;
	bi->info_addr = addr;
	if (kind == TG_BOOT_ELF_PVH)
		read_start_info(bi);
	else
		read_zero_page(bi);
	if (bi->info_error[0]) {
		format(bi->cmdline_error, sizeof(bi->cmdline_error), "%s",
		       bi->info_error);
		format(bi->e820_error, sizeof(bi->e820_error), "%s",
		       bi->info_error);
	}
}
