/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_BOOTINFO_H
#define IMAGES_TESTGUEST_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"

#define E820_RAM 1
/* Entries read at most: the zero page holds 128, PVH maps are held to it. */
#define BI_E820_MAX 128

struct bi_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * What the VMM handed over, read from the zero page (Linux boot protocol)
 * or from hvm_start_info (PVH) into one form. Nothing here is trusted:
 * every pointer was range-checked before it was followed, and each part
 * carries the reason it could not be read.
 */
struct bootinfo {
	unsigned int kind; /* TG_BOOT_* */
	uint64_t info_addr;
	/* Set when the zero page or start info itself is unusable. */
	char info_error[128];

	uint64_t cmdline_addr; /* 0: no command line given */
	/* The NUL must come at or before this index (cmdline_size). */
	uint64_t cmdline_limit;
	bool cmdline_ok;
	char cmdline_error[128];
	char cmdline[TG_CMDLINE_MAX + 1];

	unsigned int nr_e820;
	struct bi_e820 e820[BI_E820_MAX];
	char e820_error[128];

	uint64_t rsdp_addr; /* 0: not given, search for it */

	/* Zero page only: the setup header as the loader left it. */
	bool has_setup_header;
	uint32_t code32_start;
	uint8_t loadflags;
	uint32_t cmdline_size;
};

const char *boot_kind_name(unsigned int kind);
void bootinfo_read(struct bootinfo *bi, unsigned int kind, uint64_t addr);

/*
 * True when [addr, addr + len) may be read: below 4 GiB (what the guest maps)
 * and inside one e820 entry of any type, or inside the legacy areas where
 * firmware tables live (EBDA and 0xe0000-0xfffff) even when the map leaves
 * them out.
 */
bool bootinfo_range_ok(const struct bootinfo *bi, uint64_t addr,
		       uint64_t len);
/* True when [addr, addr + len) lies inside one e820 RAM entry. */
bool bootinfo_is_ram(const struct bootinfo *bi, uint64_t addr, uint64_t len);

#endif
