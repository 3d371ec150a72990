// SPDX-License-Identifier: MIT
/*
 * The ACPI tables of a VM with PCI: MCFG, the FADT allowing MSI, the e820
 * reservation of ECAM, and the DSDT's host bridge, hotplug slots and
 * generic event device. The DSDT is checked by ACPICA's own disassembler
 * (iasl -d, the AML interpreter Linux runs), then compiled back, so what
 * Linux parses is what these tests read.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/x86/acpi.h"
#include "boot/x86/e820.h"
#include "boot_helpers.h"
#include "vmm/arch/x86/layout.h"

#define HOTPLUG_GSI 5
/* The power button keeps a generic event device of its own beside it. */
#define POWER_BUTTON_GSI 6
/* Slots 1, 2 and 5 hold fixed devices: no hotplug there. */
#define HOTPLUG_SLOTS (0xfffffffeU & ~(1U << 1 | 1U << 2 | 1U << 5))

static const struct boot_pci pci = {
	.ecam_base = LAYOUT_PCI_ECAM, .ecam_size = LAYOUT_PCI_ECAM_SIZE,
	.mmio32_base = LAYOUT_PCI_MMIO32, .mmio32_end = LAYOUT_PCI_MMIO32_END,
	.mmio64_base = 32 * GiB, .mmio64_end = 64 * GiB,
	.io_base = LAYOUT_PCI_IO, .io_end = LAYOUT_PCI_IO_END,
	.hotplug_port = LAYOUT_PORT_PCI_HOTPLUG, .hotplug_gsi = HOTPLUG_GSI,
	.hotplug_slots = HOTPLUG_SLOTS,
};

static struct test_guest g;
static char dir[64];

static int build(struct test_guest *tg, unsigned int nr_cpus,
		 const struct boot_pci *bp, uint32_t power_button_gsi,
		 uint64_t *rsdp, struct err *e)
{
	struct boot_config cfg = {
		.nr_cpus = nr_cpus, .pci = bp,
		.power_button_gsi = power_button_gsi,
	};

	return acpi_build(&tg->mem, &cfg, rsdp, e);
}

static void setup(void)
{
	struct err e;
	uint64_t rsdp;

	tg_init(&g, 16 * MiB);
	cr_assert_eq(build(&g, 2, &pci, POWER_BUTTON_GSI, &rsdp, &e), 0, "%s",
		     e.msg);
	strcpy(dir, "/tmp/vmm-acpi-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	tg_fini(&g);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(acpi_pci, .init = setup, .fini = teardown, .timeout = 60);

static uint8_t *find_table(const char *sig)
{
	uint8_t *rsdp = tg_ptr(&g, LAYOUT_ACPI, 36);
	uint8_t *xsdt = tg_ptr(&g, get_le64(rsdp + 24), 36);
	uint32_t n = (get_le32(xsdt + 4) - 36) / 8;
	uint8_t *fadt = tg_ptr(&g, get_le64(xsdt + 36), 276);

	if (!strcmp(sig, "DSDT"))
		return tg_ptr(&g, get_le64(fadt + 140), 36);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *t = tg_ptr(&g, get_le64(xsdt + 36 + 8 * i), 36);

		if (!memcmp(t, sig, 4))
			return tg_ptr(&g, get_le64(xsdt + 36 + 8 * i),
				      get_le32(t + 4));
	}
	return NULL;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

Test(acpi_pci, mcfg_describes_ecam)
{
	uint8_t *mcfg = find_table("MCFG");

	cr_assert_not_null(mcfg, "the XSDT lists MCFG");
	cr_assert_eq(get_le32(mcfg + 4), ACPI_MCFG_SIZE);
	cr_assert_eq(sum(mcfg, ACPI_MCFG_SIZE), 0);
	cr_assert_eq(get_le64(mcfg + 44), LAYOUT_PCI_ECAM);
	cr_assert_eq(get_le16(mcfg + 52), 0, "segment");
	cr_assert_eq(mcfg[54], 0, "first bus");
	cr_assert_eq(mcfg[55], 255, "last bus");
	cr_assert_not_null(find_table("APIC"), "and still the MADT");
}

Test(acpi_pci, fadt_allows_msi)
{
	uint8_t *rsdp = tg_ptr(&g, LAYOUT_ACPI, 36);
	uint8_t *xsdt = tg_ptr(&g, get_le64(rsdp + 24), 36);
	uint8_t *fadt = tg_ptr(&g, get_le64(xsdt + 36), 276);

	cr_assert_eq(get_le16(fadt + 109) & (1U << 3), 0, "MSI not refused");
	cr_assert(get_le16(fadt + 109) & (1U << 2), "still no VGA");
}

Test(acpi_pci, e820_reserves_ecam)
{
	struct e820_entry map[E820_MAP_MAX];
	struct guest_mem mem = g.mem;
	unsigned int n = e820_build(&mem, &pci, map);
	bool found = false;

	for (unsigned int i = 0; i < n; i++) {
		if (i)
			cr_assert_geq(map[i].addr, map[i - 1].addr + map[i - 1].size);
		if (map[i].addr == LAYOUT_PCI_ECAM) {
			cr_assert_eq(map[i].size, LAYOUT_PCI_ECAM_SIZE);
			cr_assert_eq(map[i].type, E820_RESERVED);
			found = true;
		}
	}
	cr_assert(found);
}

Test(acpi_pci, what_cannot_be_described_is_refused)
{
	struct boot_pci bad = pci;
	struct test_guest g2;
	uint64_t rsdp;
	struct err e;

	tg_init(&g2, 16 * MiB);
	bad.ecam_size = 3 * MiB / 2;
	cr_assert_eq(build(&g2, 1, &bad, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "ECAM"), "%s", e.msg);
	bad = pci;
	bad.mmio32_end = bad.mmio32_base;
	cr_assert_eq(build(&g2, 1, &bad, 0, &rsdp, &e), -1);
	bad = pci;
	bad.hotplug_gsi = 24;
	cr_assert_eq(build(&g2, 1, &bad, 0, &rsdp, &e), -1);
	cr_assert(strstr(e.msg, "hotplug interrupt 24"), "%s", e.msg);
	tg_fini(&g2);
}

/* The DSDT as iasl -d writes it, in a malloc()ed string. */
static char *disassemble(void)
{
	uint8_t *dsdt = find_table("DSDT");
	uint32_t len = get_le32(dsdt + 4);
	char path[128], cmd[512];
	FILE *f;
	char *out;
	long n;

	dsdt = tg_ptr(&g, (uint64_t)(dsdt - g.buf), len);
	snprintf(path, sizeof(path), "%s/dsdt.aml", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(dsdt, 1, len, f), len);
	fclose(f);
	cr_assert_eq(access("/usr/bin/iasl", X_OK), 0,
		     "iasl (Debian package acpica-tools) is needed: make test-deps");
	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -d dsdt.aml > iasl.log 2>&1",
		 dir);
	cr_assert_eq(system(cmd), 0, "iasl could not disassemble the DSDT");
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	out = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return out;
}

#define PRT_INDENT "                    "

static void expect(const char *dsl, const char *what)
{
	cr_assert_not_null(strstr(dsl, what), "the DSDT lacks \"%s\"", what);
}

Test(acpi_pci, dsdt_host_bridge)
{
	char *dsl = disassemble();

	expect(dsl, "Device (PCI0)");
	expect(dsl, "Name (_HID, EisaId (\"PNP0A08\")");
	expect(dsl, "Name (_CID, EisaId (\"PNP0A03\")");
	expect(dsl, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,");
	expect(dsl, "0x0CF8,             // Range Minimum");
	expect(dsl, "0x6000,             // Range Minimum");
	expect(dsl, "0xFFFF,             // Range Maximum");
	expect(dsl, "0xC0000000,         // Range Minimum");
	expect(dsl, "0xFBFFFFFF,         // Range Maximum");
	expect(dsl, "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Prefetchable, ReadWrite,");
	expect(dsl, "0x0000000800000000, // Range Minimum");
	expect(dsl, "0x0000000FFFFFFFFF, // Range Maximum");
	expect(dsl, "Name (_PRT, Package (0x7C)");
	/* Slot 1 INTA# on GSI 17, slot 7 INTD# on GSI 18 (the swizzle). */
	expect(dsl, "0x0001FFFF, \n" PRT_INDENT "Zero, \n" PRT_INDENT
		    "Zero, \n" PRT_INDENT "0x11\n");
	expect(dsl, "0x0007FFFF, \n" PRT_INDENT "0x03, \n" PRT_INDENT
		    "Zero, \n" PRT_INDENT "0x12\n");
	expect(dsl, "Device (MRES)");
	expect(dsl, "EisaId (\"PNP0C02\")");
	expect(dsl, "0xB0000000,         // Address Base");
	expect(dsl, "0x10000000,         // Address Length");
	free(dsl);
}

Test(acpi_pci, dsdt_hotplug)
{
	char *dsl = disassemble();

	expect(dsl, "OperationRegion (PCST, SystemIO, 0x0CC4, 0x10)");
	expect(dsl, "Field (PCST, DWordAcc, NoLock, WriteAsZeros)");
	expect(dsl, "Method (PCNT, 0, Serialized)");
	expect(dsl, "Notify (S03, One)");
	expect(dsl, "Notify (S03, 0x03)");
	expect(dsl, "Device (S03)");
	expect(dsl, "Name (_SUN, 0x03)");
	expect(dsl, "Method (_EJ0, 1, NotSerialized)");
	expect(dsl, "B0EJ = 0x08");
	expect(dsl, "Method (_OST, 3, NotSerialized)");
	expect(dsl, "Device (GED)");
	expect(dsl, "OSTR = ((Arg1 << 0x10) | ((Arg0 << 0x08) | ");
	expect(dsl, "Name (_HID, \"ACPI0013\"");
	expect(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )");
	expect(dsl, "0x00000005,");
	expect(dsl, "Method (_EVT, 1, Serialized)");
	expect(dsl, "\\_SB.PCI0.PCNT ()");
	expect(dsl, "Device (PGED)");
	expect(dsl, "0x00000006,");
	expect(dsl, "Notify (\\_SB.PWRB, 0x80)");
	/* Fixed devices' slots take no part. */
	cr_assert_null(strstr(dsl, "Device (S01)"));
	cr_assert_null(strstr(dsl, "Device (S05)"));
	cr_assert_null(strstr(dsl, "Notify (S02"));
	free(dsl);
}

Test(acpi_pci, dsdt_compiles_back)
{
	char cmd[256], *dsl = disassemble();

	free(dsl);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && iasl -p again dsdt.dsl > compile.log 2>&1 && "
		 "grep -q 'Compilation successful. 0 Errors, 0 Warnings' compile.log",
		 dir);
	cr_assert_eq(system(cmd), 0, "iasl reports errors compiling the DSDT back");
}
