// SPDX-License-Identifier: MIT
/*
 * PCI bus 0 as a guest sees it: configuration mechanism #1 and ECAM
 * decoding, the q35 host bridge and its PCIEXBAR, BAR sizing and placement
 * inside the apertures, the reset control register, and what a hostile
 * guest can and cannot do with all of them.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "virtio_driver.h"

#define SLOT 5
#define IO_SIZE 32
#define MEM32_SIZE 0x1000
#define MEM64_SIZE 0x4000

/* A function with one BAR of each kind that records what reaches it. */
struct probe {
	struct pci_func func;
	unsigned int reads, writes, config_writes;
	unsigned int last_bar;
	uint64_t last_off;
	uint32_t last_len;
	uint64_t mapped[PCI_NR_BARS];
	unsigned int maps;
};

static void probe_read(struct pci_func *f, unsigned int bar, uint64_t off,
		       void *data, uint32_t len)
{
	struct probe *p = f->opaque;

	p->reads++;
	p->last_bar = bar;
	p->last_off = off;
	p->last_len = len;
	memset(data, 0x5a, len);
}

static void probe_write(struct pci_func *f, unsigned int bar, uint64_t off,
			const void *data, uint32_t len)
{
	struct probe *p = f->opaque;

	(void)data;
	p->writes++;
	p->last_bar = bar;
	p->last_off = off;
	p->last_len = len;
}

static void probe_map(struct pci_func *f, unsigned int bar, uint64_t addr)
{
	struct probe *p = f->opaque;

	p->mapped[bar] = addr;
	p->maps++;
}

static void probe_config_write(struct pci_func *f, uint32_t off, uint32_t len)
{
	(void)off, (void)len;
	((struct probe *)f->opaque)->config_writes++;
}

static const struct pci_func_ops probe_ops = {
	.bar_read = probe_read,
	.bar_write = probe_write,
	.bar_map = probe_map,
	.config_write = probe_config_write,
};

static struct vtest_host th;
static struct probe probe;
static struct pci_bus *bus;
static uint8_t probe_cap;

static void setup(void)
{
	struct err e;

	cr_assert_eq(vtest_host_init(&th, 16 * MiB, false), 0);
	bus = vtest_host_pci(&th);
	memset(&probe, 0, sizeof(probe));
	pci_func_init(&probe.func, "probe", 0x1234, 0x5678, 0x028000, 7,
		      &probe_ops, &probe);
	pci_func_set_subsystem(&probe.func, 0xabcd, 0xef01);
	pci_func_set_intx_pin(&probe.func, 1);
	cr_assert_eq(pci_func_add_bar(&probe.func, 0, PCI_BAR_IO, IO_SIZE,
				      false), 0);
	cr_assert_eq(pci_func_add_bar(&probe.func, 1, PCI_BAR_MEM32,
				      MEM32_SIZE, false), 0);
	cr_assert_eq(pci_func_add_bar(&probe.func, 2, PCI_BAR_MEM64,
				      MEM64_SIZE, true), 0);
	probe_cap = pci_func_add_cap(&probe.func, PCI_CAP_ID_VNDR, 8);
	cr_assert_neq(probe_cap, 0);
	probe.func.wmask[probe_cap + 4] = 0xff;
	cr_assert_eq(pci_bus_add(bus, SLOT, &probe.func, &e), 0, "%s", e.msg);
}

static void teardown(void)
{
	pci_bus_remove(bus, &probe.func);
	vtest_host_destroy(&th);
}

TestSuite(pci, .init = setup, .fini = teardown);

static uint32_t cfg(unsigned int slot, uint32_t reg, uint32_t len)
{
	return vdrv_cfg_read(&th, slot, reg, len);
}

static void cfg_w(unsigned int slot, uint32_t reg, uint32_t len, uint32_t v)
{
	vdrv_cfg_write(&th, slot, reg, len, v);
}

static uint32_t ecam(unsigned int busnr, unsigned int slot, uint32_t reg,
		     uint32_t len)
{
	return (uint32_t)vdrv_mem_read(&th, VTEST_PCI_ECAM +
					     ((uint64_t)busnr << 20) +
					     ((uint64_t)slot << 15) + reg, len);
}

static uint32_t port_read(uint16_t port, uint32_t len)
{
	uint8_t b[4] = { 0 };

	bus_read(&th.pio, port, b, len);
	return get_le32(b);
}

static void port_write(uint16_t port, uint32_t len, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	bus_write(&th.pio, port, b, len);
}

Test(pci, host_bridge_is_q35s_mch)
{
	cr_assert_eq(cfg(0, PCI_VENDOR_ID, 2), 0x8086);
	cr_assert_eq(cfg(0, PCI_DEVICE_ID, 2), 0x29c0);
	cr_assert_eq(cfg(0, PCI_REVISION_ID, 4) >> 8, 0x060000, "host bridge class");
	cr_assert_eq(cfg(0, PCI_HEADER_TYPE, 1), 0);
	/* Firmware has run: ECAM on at its home, 256 buses. */
	cr_assert_eq(cfg(0, 0x60, 4), VTEST_PCI_ECAM | 1);
	cr_assert_eq(cfg(0, 0x64, 4), 0);
	cr_assert_eq(ecam(0, 0, PCI_DEVICE_ID, 2), 0x29c0);
}

Test(pci, mechanism_1_decodes_bus_device_function_register)
{
	cr_assert_eq(cfg(SLOT, PCI_VENDOR_ID, 4), 0x56781234);
	cr_assert_eq(cfg(SLOT, PCI_DEVICE_ID, 2), 0x5678);
	cr_assert_eq(cfg(SLOT, PCI_REVISION_ID, 1), 7);
	cr_assert_eq(cfg(SLOT, PCI_CLASS_PROG + 1, 2), 0x0280);
	cr_assert_eq(cfg(SLOT, PCI_SUBSYSTEM_VENDOR_ID, 4), 0xef01abcd);
	cr_assert_eq(cfg(SLOT, PCI_INTERRUPT_PIN, 1), 1);
	/* The address register reads back what exists of it. */
	port_write(0xcf8, 4, 0xffffffff);
	cr_assert_eq(port_read(0xcf8, 4), 0x80fffffc);
	/* Enable bit clear: no configuration cycle at all. */
	port_write(0xcf8, 4, SLOT << 11);
	cr_assert_eq(port_read(0xcfc, 4), 0xffffffff);
	/* Other buses, other functions and empty slots: all ones. */
	port_write(0xcf8, 4, PCI_CONFIG_ENABLE | 1 << 16 | SLOT << 11);
	cr_assert_eq(port_read(0xcfc, 4), 0xffffffff);
	port_write(0xcf8, 4, PCI_CONFIG_ENABLE | SLOT << 11 | 1 << 8);
	cr_assert_eq(port_read(0xcfc, 4), 0xffffffff);
	cr_assert_eq(cfg(SLOT + 1, PCI_VENDOR_ID, 4), 0xffffffff);
	/* CONFIG_DATA is 4 ports: byte and word accesses inside it. */
	port_write(0xcf8, 4, PCI_CONFIG_ENABLE | SLOT << 11 | PCI_VENDOR_ID);
	cr_assert_eq(port_read(0xcfe, 2), 0x5678);
	cr_assert_eq(port_read(0xcfd, 1), 0x12);
}

Test(pci, ecam_matches_mechanism_1)
{
	for (uint32_t reg = 0; reg < PCI_CONFIG_SIZE; reg += 4)
		cr_assert_eq(ecam(0, SLOT, reg, 4), cfg(SLOT, reg, 4),
			     "register %#x", reg);
	/* Extended space of a conventional function, other buses: all ones. */
	cr_assert_eq(ecam(0, SLOT, 0x100, 4), 0xffffffff);
	cr_assert_eq(ecam(1, SLOT, 0, 4), 0xffffffff);
	cr_assert_eq(ecam(255, 31, 0xffc, 4), 0xffffffff);
	/* An access across a dword is no configuration cycle. */
	cr_assert_eq(ecam(0, SLOT, 2, 4), 0xffffffff);
	/* Writes go through ECAM too. */
	vdrv_mem_write(&th, VTEST_PCI_ECAM + (SLOT << 15) + PCI_INTERRUPT_LINE,
		       1, 0x2a);
	cr_assert_eq(cfg(SLOT, PCI_INTERRUPT_LINE, 1), 0x2a);
}

Test(pci, pciexbar_moves_resizes_and_disables_ecam)
{
	uint64_t moved = VTEST_PCI_ECAM + (128ULL << 20);

	/* OVMF's sequence: enable off, high half, then base, length, enable. */
	cfg_w(0, 0x60, 4, 0);
	cr_assert_eq(ecam(0, 0, 0, 2), 0xffff, "ECAM off");
	cr_assert_eq(cfg(0, 0, 2), 0x8086, "mechanism #1 still works");
	cfg_w(0, 0x64, 4, 0);
	cfg_w(0, 0x60, 4, (uint32_t)moved | 1 << 1 | 1); /* 128 MiB */
	cr_assert_eq(vdrv_mem_read(&th, moved + (SLOT << 15), 2), 0x1234);
	cr_assert_eq(ecam(0, SLOT, 0, 2), 0xffff, "the old place is empty");
	/* 64 MiB: only buses 0-63 decode. */
	cfg_w(0, 0x60, 4, (uint32_t)moved | 2 << 1 | 1);
	cr_assert_eq(vdrv_mem_read(&th, moved + (64ULL << 20), 4), 0xffffffff);
	/* Base bits below the size are ignored, as the MCH ignores them. */
	cfg_w(0, 0x60, 4, (uint32_t)VTEST_PCI_ECAM | 0x04000000 | 1);
	cr_assert_eq(ecam(0, SLOT, 0, 2), 0x1234);
	/* The reserved length decodes nothing. */
	cfg_w(0, 0x60, 4, (uint32_t)VTEST_PCI_ECAM | 3 << 1 | 1);
	cr_assert_eq(ecam(0, SLOT, 0, 2), 0xffff);
	/* Bits that do not exist read as zero. */
	cfg_w(0, 0x60, 4, 0xffffffff);
	cr_assert_eq(cfg(0, 0x60, 4), 0xfc000007);
	cfg_w(0, 0x64, 4, 0xffffffff);
	cr_assert_eq(cfg(0, 0x64, 4), 0xf);
}

Test(pci, read_only_registers_stay)
{
	static const struct {
		uint32_t reg, len;
	} regs[] = {
		{ PCI_VENDOR_ID, 4 }, { PCI_REVISION_ID, 4 },
		{ PCI_HEADER_TYPE, 2 }, { PCI_SUBSYSTEM_VENDOR_ID, 4 },
		{ PCI_CAPABILITY_LIST, 4 }, { PCI_ROM_ADDRESS, 4 },
		{ PCI_INTERRUPT_PIN, 1 },
	};
	uint32_t before[ARRAY_SIZE(regs)];

	for (size_t i = 0; i < ARRAY_SIZE(regs); i++) {
		before[i] = cfg(SLOT, regs[i].reg, regs[i].len);
		cfg_w(SLOT, regs[i].reg, regs[i].len, 0xa5a5a5a5);
	}
	for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
		cr_assert_eq(cfg(SLOT, regs[i].reg, regs[i].len), before[i],
			     "register %#x", regs[i].reg);
	/* Status: only the error bits, and those clear when written with 1. */
	probe.func.config[PCI_STATUS] |= 0x20;     /* 66 MHz: read-only */
	probe.func.config[PCI_STATUS + 1] |= 0x80; /* detected parity error */
	cfg_w(SLOT, PCI_STATUS, 2, 0xffff);
	cr_assert_eq(cfg(SLOT, PCI_STATUS, 2), PCI_STATUS_CAP_LIST | 0x20,
		     "%#x", cfg(SLOT, PCI_STATUS, 2));
}

Test(pci, capability_list_is_walkable)
{
	uint8_t c = (uint8_t)cfg(SLOT, PCI_CAPABILITY_LIST, 1);

	cr_assert(cfg(SLOT, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	cr_assert_eq(c, probe_cap);
	cr_assert_eq(cfg(SLOT, c, 1), PCI_CAP_ID_VNDR);
	cr_assert_eq(cfg(SLOT, c + 1, 1), 0, "last in the list");
	/* Writable where the device said, applied before its hook runs. */
	cfg_w(SLOT, c + 4, 1, 0x77);
	cr_assert_eq(cfg(SLOT, c + 4, 1), 0x77);
	cr_assert_eq(probe.config_writes, 1);
}

/* What the guest learns from writing all ones to a BAR. */
static uint64_t size_of(unsigned int bar, bool is64)
{
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar, lo, hi = 0xffffffff;

	cfg_w(SLOT, reg, 4, 0xffffffff);
	lo = cfg(SLOT, reg, 4);
	if (is64) {
		cfg_w(SLOT, reg + 4, 4, 0xffffffff);
		hi = cfg(SLOT, reg + 4, 4);
	}
	return ~(((uint64_t)hi << 32) | (lo & ~0xfU)) + 1;
}

Test(pci, bars_size_as_the_guest_probes_them)
{
	cr_assert_eq(cfg(SLOT, PCI_BASE_ADDRESS_0, 4) & 3, PCI_BAR_SPACE_IO);
	cr_assert_eq(cfg(SLOT, PCI_BASE_ADDRESS_0 + 4, 4) & 0xf, 0, "mem32");
	cr_assert_eq(cfg(SLOT, PCI_BASE_ADDRESS_0 + 8, 4) & 0xf,
		     PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
	cfg_w(SLOT, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	cr_assert_eq(cfg(SLOT, PCI_BASE_ADDRESS_0, 4), 0xffe1,
		     "32 ports, 16-bit decode");
	cr_assert_eq(size_of(1, false), MEM32_SIZE);
	cr_assert_eq(size_of(2, true), MEM64_SIZE);
	/* Unused BARs and the ROM BAR read zero: nothing to size. */
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 16, 4, 0xffffffff);
	cr_assert_eq(cfg(SLOT, PCI_BASE_ADDRESS_0 + 16, 4), 0);
	cfg_w(SLOT, PCI_ROM_ADDRESS, 4, 0xfffff800);
	cr_assert_eq(cfg(SLOT, PCI_ROM_ADDRESS, 4), 0);
	cr_assert_eq(probe.maps, 0, "decoding is off while sizing");
}

static void place(void)
{
	cfg_w(SLOT, PCI_BASE_ADDRESS_0, 4, 0x7000);
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 4, 4, (uint32_t)VTEST_PCI_MMIO32);
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 8, 4, (uint32_t)VTEST_PCI_MMIO64);
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 12, 4,
	      (uint32_t)(VTEST_PCI_MMIO64 >> 32));
}

Test(pci, bars_decode_where_placed_once_enabled)
{
	uint8_t b[4];

	place();
	cr_assert_eq(vdrv_mem_read(&th, VTEST_PCI_MMIO32, 4), 0xffffffff,
		     "memory decoding still off");
	cfg_w(SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	cr_assert_eq(probe.mapped[0], 0x7000);
	cr_assert_eq(probe.mapped[1], VTEST_PCI_MMIO32);
	cr_assert_eq(probe.mapped[2], VTEST_PCI_MMIO64);
	cr_assert_eq(vdrv_mem_read(&th, VTEST_PCI_MMIO32 + 0x10, 4), 0x5a5a5a5a);
	cr_assert_eq(probe.last_bar, 1);
	cr_assert_eq(probe.last_off, 0x10);
	vdrv_mem_write(&th, VTEST_PCI_MMIO64 + MEM64_SIZE - 8, 8, 1);
	cr_assert_eq(probe.last_bar, 2);
	cr_assert_eq(probe.last_off, MEM64_SIZE - 8);
	cr_assert_eq(probe.last_len, 8);
	cr_assert_eq(port_read(0x7000 + 4, 2), 0x5a5a);
	cr_assert_eq(probe.last_bar, 0);
	/* An access running off the end of a BAR reaches nothing. */
	probe.reads = 0;
	bus_read(&th.mmio, VTEST_PCI_MMIO32 + MEM32_SIZE - 2, b, 4);
	cr_assert_eq(probe.reads, 0);
	cr_assert_eq(get_le32(b), 0xffffffff);
	/* Moving a BAR moves what decodes. */
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 4, 4,
	      (uint32_t)VTEST_PCI_MMIO32 + 0x10000);
	cr_assert_eq(probe.mapped[1], VTEST_PCI_MMIO32 + 0x10000);
	cr_assert_eq(vdrv_mem_read(&th, VTEST_PCI_MMIO32 + 0x10, 4), 0xffffffff);
	/* Turning decoding off unmaps every BAR. */
	cfg_w(SLOT, PCI_COMMAND, 2, 0);
	for (unsigned int i = 0; i < 3; i++)
		cr_assert_eq(probe.mapped[i], 0);
}

Test(pci, bars_outside_the_apertures_decode_nowhere)
{
	place();
	/*
	 * A 32-bit BAR over guest RAM, a 64-bit one past the top of the
	 * guest's physical address space.
	 */
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 4, 4, 0x100000);
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 8, 4,
	      (uint32_t)VTEST_PCI_MMIO64_DECODE_END);
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 12, 4,
	      (uint32_t)(VTEST_PCI_MMIO64_DECODE_END >> 32));
	cfg_w(SLOT, PCI_BASE_ADDRESS_0, 4, 0x100);
	cfg_w(SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	cr_assert_eq(probe.mapped[0], 0, "I/O below the aperture");
	cr_assert_eq(probe.mapped[1], 0, "guest RAM stays RAM");
	cr_assert_eq(probe.mapped[2], 0);
	/* A 64-bit BAR may sit in the 32-bit aperture. */
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 12, 4, 0);
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 8, 4, (uint32_t)VTEST_PCI_MMIO32);
	cr_assert_eq(probe.mapped[2], VTEST_PCI_MMIO32);
}

/*
 * OVMF puts its 64-bit aperture in the top eighth of the physical address
 * space, past the window the ACPI tables offer: BARs there still decode.
 */
Test(pci, bars_decode_where_firmware_puts_its_64_bit_aperture)
{
	const uint64_t top = VTEST_PCI_MMIO64_DECODE_END -
			     VTEST_PCI_MMIO64_DECODE_END / 8;

	place();
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 8, 4, (uint32_t)top);
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 12, 4, (uint32_t)(top >> 32));
	cfg_w(SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(probe.mapped[2], top);
	vdrv_mem_write(&th, top + 8, 4, 0x1234);
	cr_assert_eq(probe.last_bar, 2);
	cr_assert_eq(probe.last_off, 8);
	/* The BAR's last byte is the address space's last. */
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 8, 4,
	      (uint32_t)(VTEST_PCI_MMIO64_DECODE_END - MEM64_SIZE));
	cfg_w(SLOT, PCI_BASE_ADDRESS_0 + 12, 4,
	      (uint32_t)((VTEST_PCI_MMIO64_DECODE_END - MEM64_SIZE) >> 32));
	cr_assert_eq(probe.mapped[2], VTEST_PCI_MMIO64_DECODE_END - MEM64_SIZE);
}

Test(pci, ecam_wins_over_a_bar_under_it)
{
	place();
	cfg_w(SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	/* The guest moves ECAM over its own BAR. */
	cfg_w(0, 0x60, 4, (uint32_t)VTEST_PCI_MMIO32 | 2 << 1 | 1);
	cr_assert_eq(vdrv_mem_read(&th, VTEST_PCI_MMIO32, 2), 0x8086);
	cfg_w(0, 0x60, 4, (uint32_t)VTEST_PCI_ECAM | 1);
	cr_assert_eq(vdrv_mem_read(&th, VTEST_PCI_MMIO32, 4), 0x5a5a5a5a);
}

Test(pci, slots_come_and_go)
{
	struct probe other;
	struct err e;

	place();
	cfg_w(SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(pci_bus_free_slot(bus), 1);
	cr_assert(pci_bus_slot_used(bus, SLOT));
	memset(&other, 0, sizeof(other));
	pci_func_init(&other.func, "other", 1, 2, 0, 0, &probe_ops, &other);
	cr_assert_eq(pci_bus_add(bus, SLOT, &other.func, &e), -1);
	cr_assert(strstr(e.msg, "taken by probe"), "%s", e.msg);
	cr_assert_eq(pci_bus_add(bus, 32, &other.func, &e), -1);
	/* Unplugged: gone from configuration space, BARs unmapped. */
	cr_assert(pci_bus_unplug_slot(bus, SLOT));
	cr_assert_eq(cfg(SLOT, PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(probe.mapped[1], 0);
	cr_assert_eq(vdrv_mem_read(&th, VTEST_PCI_MMIO32, 4), 0xffffffff);
	cr_assert(!pci_bus_unplug_slot(bus, SLOT), "already empty");
	pci_bus_remove(bus, &probe.func); /* idempotent */
	cr_assert_eq(pci_bus_add(bus, SLOT, &other.func, &e), 0, "%s", e.msg);
	cr_assert_eq(cfg(SLOT, PCI_VENDOR_ID, 2), 1);
	pci_bus_remove(bus, &other.func);
}

Test(pci, reset_restores_what_the_bus_saw)
{
	place();
	cfg_w(SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg_w(SLOT, PCI_INTERRUPT_LINE, 1, 11);
	pci_func_reset(&probe.func);
	cr_assert_eq(cfg(SLOT, PCI_COMMAND, 2), 0);
	cr_assert_eq(cfg(SLOT, PCI_BASE_ADDRESS_0 + 4, 4), 0);
	cr_assert_eq(cfg(SLOT, PCI_INTERRUPT_LINE, 1), 0);
	cr_assert_eq(probe.mapped[1], 0);
	/* The bus reset puts the host bridge's ECAM back home. */
	cfg_w(0, 0x60, 4, 0);
	bus->dev.ops->reset(&bus->dev);
	cr_assert_eq(ecam(0, 0, PCI_VENDOR_ID, 2), 0x8086);
}

Test(pci, intx_shows_in_the_status_register)
{
	pci_func_set_intx(&probe.func, true);
	cr_assert(cfg(SLOT, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cr_assert(cfg(SLOT, PCI_COMMAND, 4) & (PCI_STATUS_INTERRUPT << 16));
	pci_func_set_intx(&probe.func, false);
	cr_assert_eq(cfg(SLOT, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
}

Test(pci, reset_control_register_resets_the_machine)
{
	cr_assert_eq(port_read(0xcf9, 1) & 0xff, 0);
	port_write(0xcf9, 1, 0x02); /* SYS_RST alone selects, does not reset */
	cr_assert_eq(th.power_events[DEVICE_POWER_RESET], 0);
	port_write(0xcf9, 1, 0x06); /* the FADT's reset value */
	cr_assert_eq(th.power_events[DEVICE_POWER_RESET], 1);
	/* Word and dword accesses at 0xcf9 are not the register. */
	port_write(0xcf8, 4, PCI_CONFIG_ENABLE | SLOT << 11);
	port_write(0xcf9, 2, 0x0606);
	cr_assert_eq(th.power_events[DEVICE_POWER_RESET], 1);
	cr_assert_eq(port_read(0xcf8, 4), PCI_CONFIG_ENABLE | SLOT << 11);
}
