// SPDX-License-Identifier: MIT
#include "pci.h"

#include "acpi.h"
#include "cmdline.h"
#include "io.h"
#include "serial.h"
#include "str.h"

#define CONFIG_ENABLE 0x80000000U
#define MCFG_MAX_LEN 4096
#define MCFG_ALLOCATION 44
#define MCFG_ENTRY_LEN 16
#define MCH_PCIEXBAR 0x60
#define E820_RESERVED 2

#define HOTPLUG_PCIU 0x0
#define HOTPLUG_PCID 0x4
#define HOTPLUG_B0EJ 0x8
#define HOTPLUG_OSTR 0xc
#define OST_EJECT 3
#define OST_DEVICE_BUSY 0x82
/* About a millisecond of TSC between polls of the hotplug registers. */
#define POLL_TICKS (1ULL << 22)

static uint64_t ecam; /* 0 until the pci check found it */

static uint32_t cf8_read(unsigned int slot, uint32_t reg)
{
	outl(LAYOUT_PORT_PCI_CONFIG, CONFIG_ENABLE | slot << 11 | (reg & 0xfc));
	return inl(LAYOUT_PORT_PCI_CONFIG + 4);
}

static void cf8_write(unsigned int slot, uint32_t reg, uint32_t val)
{
	outl(LAYOUT_PORT_PCI_CONFIG, CONFIG_ENABLE | slot << 11 | (reg & 0xfc));
	outl(LAYOUT_PORT_PCI_CONFIG + 4, val);
}

static volatile void *ecam_ptr(unsigned int slot, uint32_t reg)
{
	return (volatile void *)(uintptr_t)(ecam + ((uint64_t)slot << 15) + reg);
}

uint32_t tg_pci_read(unsigned int slot, uint32_t reg, unsigned int len)
{
	uint32_t shift = 8 * (reg & 3), v;

	if (!ecam) {
		v = cf8_read(slot, reg) >> shift;
		return len == 4 ? v : v & ((1U << (8 * len)) - 1);
	}
	if (len == 1)
		return *(volatile uint8_t *)ecam_ptr(slot, reg);
	if (len == 2)
		return *(volatile uint16_t *)ecam_ptr(slot, reg);
	return *(volatile uint32_t *)ecam_ptr(slot, reg);
}

void tg_pci_write(unsigned int slot, uint32_t reg, unsigned int len,
		  uint32_t val)
{
	uint32_t shift = 8 * (reg & 3), mask, old;

	if (ecam) {
		if (len == 1)
			*(volatile uint8_t *)ecam_ptr(slot, reg) = (uint8_t)val;
		else if (len == 2)
			*(volatile uint16_t *)ecam_ptr(slot, reg) = (uint16_t)val;
		else
			*(volatile uint32_t *)ecam_ptr(slot, reg) = val;
		return;
	}
	if (len == 4) {
		cf8_write(slot, reg, val);
		return;
	}
	/* Sub-dword writes through the dword port: read, merge, write. */
	mask = ((1U << (8 * len)) - 1) << shift;
	old = cf8_read(slot, reg);
	cf8_write(slot, reg, (old & ~mask) | ((val << shift) & mask));
}

static bool reserved_in_e820(const struct bootinfo *bi, uint64_t addr,
			     uint64_t len)
{
	for (unsigned int i = 0; i < bi->nr_e820; i++) {
		const struct bi_e820 *e = &bi->e820[i];

		if (e->type == E820_RESERVED && addr >= e->addr &&
		    addr + len <= e->addr + e->size)
			return true;
	}
	return false;
}

/* MCFG: one allocation for segment 0 starting at bus 0, below 4 GiB. */
static bool find_ecam(const struct bootinfo *bi, struct check *c)
{
	const uint8_t *t = acpi_find_table(bi, "MCFG", MCFG_MAX_LEN, c);
	uint32_t len, pciexbar;
	uint64_t base, size;
	const uint8_t *a;

	if (!t)
		return false;
	memcpy(&len, t + 4, 4);
	if (len != MCFG_ALLOCATION + MCFG_ENTRY_LEN)
		return check_fail(c, "MCFG of %u bytes: expected one allocation", len);
	a = t + MCFG_ALLOCATION;
	memcpy(&base, a, 8);
	if (a[8] || a[9] || a[10] != 0)
		return check_fail(c, "MCFG allocation is for segment %u, bus %u",
				  a[8] | a[9] << 8, a[10]);
	size = ((uint64_t)a[11] + 1) << 20;
	if (base >= 1ULL << 32 || size > (1ULL << 32) - base)
		return check_fail(c, "ECAM at 0x%lx is not below 4 GiB", base);
	if (!reserved_in_e820(bi, base, size))
		return check_fail(c, "ECAM [0x%lx, +0x%lx) is not reserved in the e820 map",
				  base, size);
	pciexbar = cf8_read(0, MCH_PCIEXBAR);
	if ((pciexbar & ~0x7U) != base || !(pciexbar & 1) ||
	    cf8_read(0, MCH_PCIEXBAR + 4))
		return check_fail(c, "PCIEXBAR reads 0x%x, MCFG says 0x%lx",
				  pciexbar, base);
	ecam = base;
	return true;
}

/* Every dword the same through both mechanisms. */
static bool same_both_ways(unsigned int slot, struct check *c)
{
	uint64_t saved = ecam;

	for (uint32_t reg = 0; reg < 256; reg += 4) {
		uint32_t via_ecam = tg_pci_read(slot, reg, 4);
		uint32_t via_cf8;

		ecam = 0;
		via_cf8 = tg_pci_read(slot, reg, 4);
		ecam = saved;
		if (via_ecam != via_cf8)
			return check_fail(c, "00:%02x.0 register 0x%x: ECAM 0x%x, 0xcf8 0x%x",
					  slot, reg, via_ecam, via_cf8);
	}
	return true;
}

/* Writing all ones must reveal a power-of-two size (or no BAR). */
static bool bars_size(unsigned int slot, struct check *c)
{
	for (uint32_t bar = 0; bar < 6; bar++) {
		uint32_t reg = 0x10 + 4 * bar, orig = tg_pci_read(slot, reg, 4);
		uint32_t mask, size;

		tg_pci_write(slot, reg, 4, 0xffffffff);
		mask = tg_pci_read(slot, reg, 4) & ~0xfU;
		tg_pci_write(slot, reg, 4, orig);
		if (!mask)
			continue;
		size = ~mask + 1;
		if (size & (size - 1))
			return check_fail(c, "00:%02x.0 BAR %u sizes to 0x%x", slot,
					  bar, size);
		if (orig & 4)
			bar++; /* the upper half of a 64-bit BAR */
	}
	return true;
}

void tg_pci_check(const struct bootinfo *bi, struct check *c)
{
	uint32_t want = 0, found = 0;
	const char *val;
	size_t len;

	if (cf8_read(0, 0) != 0x29c08086)
		check_fail(c, "00:00.0 is 0x%x, not q35's MCH 8086:29c0",
			   cf8_read(0, 0));
	if (cf8_read(0, 8) >> 16 != 0x0600)
		check_fail(c, "00:00.0 is not a host bridge (class 0x%x)",
			   cf8_read(0, 8) >> 16);
	if (!find_ecam(bi, c))
		return;
	for (unsigned int slot = 0; slot < TG_PCI_SLOTS; slot++) {
		if (!same_both_ways(slot, c))
			return;
		if (tg_pci_read(slot, 0, 2) == 0xffff)
			continue;
		if (slot && !bars_size(slot, c))
			return;
		found += slot != 0;
	}
	if (cmdline_param(bi->cmdline, "testguest.pci_devices", &val, &len) >= 0 &&
	    (!parse_dec32(val, len, &want) || want != found))
		check_fail(c, "%u functions besides the host bridge, testguest.pci_devices=%.*s",
			   found, (int)len, val);
}

static uint32_t hotplug_read(uint32_t off)
{
	return inl(LAYOUT_PORT_PCI_HOTPLUG + off);
}

void tg_pci_hotplug_loop(bool refuse)
{
	serial_puts("HOTPLUG ready\n");
	for (;;) {
		uint32_t up = hotplug_read(HOTPLUG_PCIU);
		uint32_t down = hotplug_read(HOTPLUG_PCID);
		uint64_t start = rdtsc();

		for (unsigned int s = 1; s < TG_PCI_SLOTS; s++) {
			if (up & (1U << s))
				serial_printf("HOTPLUG added slot %u %04x:%04x\n", s,
					      cf8_read(s, 0) & 0xffff,
					      cf8_read(s, 0) >> 16);
			if (!(down & (1U << s)))
				continue;
			if (refuse) {
				outl(LAYOUT_PORT_PCI_HOTPLUG + HOTPLUG_OSTR,
				     s | OST_EJECT << 8 | OST_DEVICE_BUSY << 16);
				serial_printf("HOTPLUG refused slot %u\n", s);
			} else {
				outl(LAYOUT_PORT_PCI_HOTPLUG + HOTPLUG_B0EJ, 1U << s);
				serial_printf("HOTPLUG ejected slot %u vendor now %04x\n",
					      s, cf8_read(s, 0) & 0xffff);
			}
		}
		while (rdtsc() - start < POLL_TICKS)
			cpu_relax();
	}
}
