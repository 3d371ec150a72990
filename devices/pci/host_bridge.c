// SPDX-License-Identifier: MIT
/*
 * The host bridge at 00:00.0, as UEFI firmware built for QEMU's q35
 * machine expects it: Intel's 82G33/Q35 MCH (8086:29c0), whose device ID
 * OVMF's PlatformPei reads to pick the q35 memory map, and whose PCIEXBAR
 * register (0x60) places the ECAM window. OVMF clears its enable bit,
 * writes the high half, then base, length and enable at once; the window
 * moves, resizes or switches off exactly as the guest programs it.
 */
#include "pci.h"

#include <stdlib.h>

#define MCH_VENDOR 0x8086
#define MCH_DEVICE 0x29c0
#define MCH_CLASS 0x060000 /* bridge, host bridge */
#define MCH_SUBSYSTEM_VENDOR 0x1af4
#define MCH_SUBSYSTEM 0x1100

/* PCIEXBAR (Intel 316966-002, 5.1.16): base in bits 35:26, length, enable. */
#define MCH_PCIEXBAR 0x60
#define PCIEXBAR_EN 0x1ULL
#define PCIEXBAR_LENGTH_SHIFT 1
#define PCIEXBAR_LENGTH_MASK 0x6ULL
#define PCIEXBAR_BASE_MASK 0xffc000000ULL /* bits 35:26 */

/* ECAM size and the address bits it ignores for each length encoding. */
static const uint64_t ecam_sizes[] = {
	256ULL << 20, 128ULL << 20, 64ULL << 20, 0 /* reserved */,
};

static uint64_t pciexbar(const struct pci_func *f)
{
	return pci_config_get(f, MCH_PCIEXBAR, 4) |
	       (uint64_t)pci_config_get(f, MCH_PCIEXBAR + 4, 4) << 32;
}

static void mch_config_write(struct pci_func *f, uint32_t off, uint32_t len)
{
	uint64_t bar = pciexbar(f), size, base;

	if (off >= MCH_PCIEXBAR + 8 || off + len <= MCH_PCIEXBAR)
		return;
	size = ecam_sizes[(bar & PCIEXBAR_LENGTH_MASK) >> PCIEXBAR_LENGTH_SHIFT];
	/* The base is aligned to the size: lower bits are ignored. */
	base = bar & PCIEXBAR_BASE_MASK & ~(size - 1);
	pci_bus_set_ecam(f->bus, base, size, (bar & PCIEXBAR_EN) && size);
}

/* No BARs, so no BAR hooks. */
static const struct pci_func_ops mch_ops = {
	.config_write = mch_config_write,
};

int pci_host_bridge_create(struct pci_bus *bus, bool ecam_enabled,
			   struct err *e)
{
	struct pci_func *f = calloc(1, sizeof(*f));
	uint64_t bar;

	if (!f)
		return err_set(e, "host bridge: out of memory");
	pci_func_init(f, "q35 host bridge", MCH_VENDOR, MCH_DEVICE, MCH_CLASS,
		      0, &mch_ops, NULL);
	pci_func_set_subsystem(f, MCH_SUBSYSTEM_VENDOR, MCH_SUBSYSTEM);
	/* Firmware has run: memory decoding and ECAM as it leaves them. */
	bar = (bus->layout.ecam_base & PCIEXBAR_BASE_MASK) |
	      (ecam_enabled ? PCIEXBAR_EN : 0);
	pci_config_set(f, MCH_PCIEXBAR, 4, (uint32_t)bar);
	pci_config_set(f, MCH_PCIEXBAR + 4, 4, (uint32_t)(bar >> 32));
	for (unsigned int i = 0; i < 8; i++)
		f->wmask[MCH_PCIEXBAR + i] =
			(uint8_t)((PCIEXBAR_BASE_MASK | PCIEXBAR_LENGTH_MASK |
				   PCIEXBAR_EN) >> (8 * i));
	if (pci_bus_add(bus, 0, f, e) < 0) {
		free(f);
		return -1;
	}
	bus->host_bridge = f;
	mch_config_write(f, 0, PCI_CONFIG_SIZE);
	return 0;
}
