// SPDX-License-Identifier: MIT
/* Intel MP table: floating pointer, configuration table, entries. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "boot/x86/acpi.h"
#include "boot/x86/mptable.h"
#include "boot_helpers.h"
#include "vmm/arch/x86/layout.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void check_mptable(unsigned int nr_cpus)
{
	struct test_guest g;
	struct err e = { "" };
	unsigned int cpus = 0, bsp = 0, buses = 0, ioapics = 0, lints = 0;
	bool irq_seen[MP_NR_IOAPIC_PINS] = { false };
	uint8_t *f, *c, *p, *end;
	uint16_t base_len, count;

	tg_init(&g, 16 * MiB);
	cr_assert_eq(mptable_build(&g.mem, nr_cpus, &e), 0, "%s", e.msg);

	f = tg_ptr(&g, LAYOUT_EBDA, MP_FLOAT_SIZE);
	cr_assert_eq(memcmp(f, "_MP_", 4), 0);
	cr_assert_eq(f[8], 1);
	cr_assert_eq(f[9], 4);
	cr_assert_eq(sum(f, 16), 0, "floating pointer checksum");
	cr_assert_eq(f[11], 0, "a configuration table is present");

	c = tg_ptr(&g, get_le32(f + 4), MP_CONFIG_HEADER_SIZE);
	base_len = get_le16(c + 4);
	count = get_le16(c + 34);
	c = tg_ptr(&g, get_le32(f + 4), base_len);
	cr_assert_eq(memcmp(c, "PCMP", 4), 0);
	cr_assert_eq(c[6], 4);
	cr_assert_eq(sum(c, base_len), 0, "configuration table checksum");
	cr_assert_eq(get_le32(c + 36), LAYOUT_LAPIC);
	cr_assert_eq(get_le16(c + 40), 0);
	cr_assert_eq(MP_FLOAT_SIZE + base_len, mptable_size(nr_cpus));
	cr_assert(get_le32(f + 4) + base_len <= LAYOUT_ACPI);

	p = c + MP_CONFIG_HEADER_SIZE;
	end = c + base_len;
	for (unsigned int i = 0; i < count; i++) {
		cr_assert(p < end, "entry %u beyond the table length", i);
		switch (p[0]) {
		case MP_ENTRY_PROCESSOR:
			cr_assert_eq(p[1], cpus, "APIC ID of CPU %u", cpus);
			cr_assert(p[3] & MP_CPU_ENABLED);
			if (p[3] & MP_CPU_BSP) {
				bsp++;
				cr_assert_eq(p[1], 0, "the BSP is CPU 0");
			}
			cpus++;
			p += MP_PROCESSOR_SIZE;
			break;
		case MP_ENTRY_BUS:
			cr_assert_eq(memcmp(p + 2, "ISA   ", 6), 0);
			buses++;
			p += 8;
			break;
		case MP_ENTRY_IOAPIC:
			cr_assert_eq(p[1], ACPI_IOAPIC_ID);
			cr_assert(p[3] & 1);
			cr_assert_eq(get_le32(p + 4), LAYOUT_IOAPIC);
			ioapics++;
			p += 8;
			break;
		case MP_ENTRY_IOINT:
			cr_assert_eq(p[1], MP_INT_TYPE_INT);
			cr_assert(p[5] < MP_NR_IOAPIC_PINS && !irq_seen[p[5]],
				  "IRQ %u", p[5]);
			cr_assert_eq(get_le16(p + 2), 0,
				     "IRQ %u conforms to the ISA bus (edge, active high)",
				     p[5]);
			irq_seen[p[5]] = true;
			cr_assert_eq(p[6], ACPI_IOAPIC_ID);
			cr_assert_eq(p[7], p[5] == 0 ? 2 : p[5], "pin of IRQ %u", p[5]);
			p += 8;
			break;
		case MP_ENTRY_LOCALINT:
			cr_assert_eq(p[6], 0xff);
			if (p[1] == MP_INT_TYPE_EXTINT)
				cr_assert_eq(p[7], 0, "ExtINT on LINT0");
			else
				cr_assert(p[1] == MP_INT_TYPE_NMI && p[7] == 1,
					  "NMI on LINT1");
			lints++;
			p += 8;
			break;
		default:
			cr_assert_fail("unknown entry type %u", p[0]);
		}
	}
	cr_assert_eq(p, end, "entries do not fill the base table exactly");
	cr_assert_eq(cpus, nr_cpus);
	cr_assert_eq(bsp, 1);
	cr_assert_eq(buses, 1);
	cr_assert_eq(ioapics, 1);
	cr_assert_eq(lints, 2);
	/* Every pin the VMM hands out, the 16 ISA lines and those above. */
	for (unsigned int irq = 0; irq < MP_NR_IOAPIC_PINS; irq++)
		cr_assert_eq(irq_seen[irq], irq != 2, "IRQ %u", irq);
	cr_assert_eq(MP_NR_IOAPIC_PINS, LAYOUT_NR_GSI);
	tg_fini(&g);
}

ParameterizedTestParameters(mptable, cpus)
{
	/* 37 vCPUs still fit below 0xa0000, 38 do not. */
	static unsigned int counts[] = { 1, 2, 8, 37, 38, 128, 255 };

	return cr_make_param_array(unsigned int, counts, ARRAY_SIZE(counts));
}

ParameterizedTest(unsigned int *nr_cpus, mptable, cpus)
{
	check_mptable(*nr_cpus);
}

Test(mptable, refuses_bad_cpu_counts)
{
	struct test_guest g;
	struct err e = { "" };

	tg_init(&g, 16 * MiB);
	cr_assert_eq(mptable_build(&g.mem, 0, &e), -1);
	cr_assert(strstr(e.msg, "0 vCPUs"), "%s", e.msg);
	cr_assert_eq(mptable_build(&g.mem, 256, &e), -1);
	cr_assert(strstr(e.msg, "256 vCPUs"), "%s", e.msg);
	tg_fini(&g);
}

Test(mptable, size_for_the_ebda)
{
	/*
	 * Floating pointer, header, 27 fixed entries (bus, IOAPIC, 23 IRQs,
	 * LINT0, LINT1), 20 bytes per CPU.
	 */
	cr_assert_eq(mptable_size(1), 16 + 44 + 27 * 8 + 20);
	cr_assert(LAYOUT_EBDA + mptable_size(37) <= LAYOUT_BIOS_START);
	cr_assert(LAYOUT_EBDA + mptable_size(38) > LAYOUT_BIOS_START);
	cr_assert(LAYOUT_EBDA + mptable_size(255) <= LAYOUT_ACPI);
}
