// SPDX-License-Identifier: MIT
/* The e820 map handed to the kernel through the zero page and PVH. */
#include <criterion/criterion.h>
#include <string.h>

#include "boot/x86/e820.h"
#include "vmm/arch/x86/layout.h"

/* A guest_mem with regions laid out by hand; nothing is ever mapped. */
static void fake_mem(struct guest_mem *mem, uint64_t low, uint64_t high)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	mem->size = low + high;
	mem->nr_regions = 1;
	mem->regions[0] = (struct guest_region){ .gpa = 0, .size = low };
	if (high) {
		mem->nr_regions = 2;
		mem->regions[1] = (struct guest_region){
			.gpa = LAYOUT_RAM_ABOVE_4G, .size = high, .offset = low,
		};
	}
}

/* Sorted, non-overlapping, and the RAM adds up to what the guest has. */
static void check_map(const struct e820_entry *map, unsigned int n,
		      uint64_t guest_size)
{
	uint64_t ram = 0, reserved = 0;

	for (unsigned int i = 0; i < n; i++) {
		cr_assert(map[i].size > 0, "entry %u is empty", i);
		if (i > 0)
			cr_assert(map[i].addr >= map[i - 1].addr + map[i - 1].size,
				  "entry %u overlaps or is out of order", i);
		if (map[i].type == E820_RAM)
			ram += map[i].size;
		else
			reserved += map[i].size;
	}
	cr_assert_eq(reserved, LAYOUT_HIGH_RAM - LAYOUT_EBDA);
	/* Memory under the reserved range is backed but not handed out. */
	cr_assert_eq(ram, guest_size - (LAYOUT_HIGH_RAM - LAYOUT_EBDA));
}

static void check_entry(const struct e820_entry *e, uint64_t addr,
			uint64_t end, uint32_t type)
{
	cr_assert_eq(e->addr, addr, "entry at 0x%llx, expected 0x%llx",
		     (unsigned long long)e->addr, (unsigned long long)addr);
	cr_assert_eq(e->addr + e->size, end, "entry ends at 0x%llx, expected 0x%llx",
		     (unsigned long long)(e->addr + e->size),
		     (unsigned long long)end);
	cr_assert_eq(e->type, type);
}

Test(e820, guest_64m)
{
	struct e820_entry map[E820_MAP_MAX];
	struct guest_mem mem;
	unsigned int n;

	fake_mem(&mem, 64 * MiB, 0);
	n = e820_build(&mem, NULL, map);
	cr_assert_eq(n, 3);
	check_entry(&map[0], 0, LAYOUT_LOW_RAM_END, E820_RAM);
	check_entry(&map[1], LAYOUT_EBDA, LAYOUT_HIGH_RAM, E820_RESERVED);
	check_entry(&map[2], LAYOUT_HIGH_RAM, 64 * MiB, E820_RAM);
	check_map(map, n, 64 * MiB);
}

Test(e820, guest_fills_up_to_the_hole)
{
	struct e820_entry map[E820_MAP_MAX];
	struct guest_mem mem;
	unsigned int n;

	fake_mem(&mem, LAYOUT_MMIO_HOLE, 0);
	n = e820_build(&mem, NULL, map);
	cr_assert_eq(n, 3);
	check_entry(&map[2], LAYOUT_HIGH_RAM, LAYOUT_MMIO_HOLE, E820_RAM);
	check_map(map, n, LAYOUT_MMIO_HOLE);
}

Test(e820, guest_5g_has_ram_above_4g)
{
	struct e820_entry map[E820_MAP_MAX];
	struct guest_mem mem;
	unsigned int n;

	fake_mem(&mem, LAYOUT_MMIO_HOLE, 5 * GiB - LAYOUT_MMIO_HOLE);
	n = e820_build(&mem, NULL, map);
	cr_assert_eq(n, 4);
	check_entry(&map[0], 0, LAYOUT_LOW_RAM_END, E820_RAM);
	check_entry(&map[1], LAYOUT_EBDA, LAYOUT_HIGH_RAM, E820_RESERVED);
	check_entry(&map[2], LAYOUT_HIGH_RAM, LAYOUT_MMIO_HOLE, E820_RAM);
	check_entry(&map[3], 4 * GiB, 4 * GiB + 5 * GiB - LAYOUT_MMIO_HOLE,
		    E820_RAM);
	check_map(map, n, 5 * GiB);
	/* Nothing in the MMIO hole is RAM. */
	for (unsigned int i = 0; i < n; i++)
		cr_assert(map[i].addr + map[i].size <= LAYOUT_MMIO_HOLE ||
			  map[i].addr >= LAYOUT_MMIO_HOLE_END);
}
