// SPDX-License-Identifier: MIT
/*
 * A function's configuration space: the header a device starts from, its
 * BARs and capability list, and which bits the guest may write. Writes are
 * applied through the masks in bus.c, so a register the masks do not open
 * can never change, whatever the guest writes.
 */
#include "pci.h"

#include <string.h>

uint32_t pci_config_get(const struct pci_func *f, uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < len && off + i < PCI_CONFIG_SIZE; i++)
		v |= (uint32_t)f->config[off + i] << (8 * i);
	return v;
}

void pci_config_set(struct pci_func *f, uint32_t off, uint32_t len,
		    uint32_t val)
{
	for (uint32_t i = 0; i < len && off + i < PCI_CONFIG_SIZE; i++)
		f->config[off + i] = (uint8_t)(val >> (8 * i));
}

static void set_mask(uint8_t *mask, uint32_t off, uint32_t len, uint32_t val)
{
	for (uint32_t i = 0; i < len && off + i < PCI_CONFIG_SIZE; i++)
		mask[off + i] = (uint8_t)(val >> (8 * i));
}

void pci_func_init(struct pci_func *f, const char *name, uint16_t vendor,
		   uint16_t device, uint32_t class_code, uint8_t revision,
		   const struct pci_func_ops *ops, void *opaque)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->ops = ops;
	f->opaque = opaque;
	pci_config_set(f, PCI_VENDOR_ID, 2, vendor);
	pci_config_set(f, PCI_DEVICE_ID, 2, device);
	pci_config_set(f, PCI_REVISION_ID, 1, revision);
	pci_config_set(f, PCI_CLASS_PROG, 3, class_code);
	pci_config_set(f, PCI_HEADER_TYPE, 1, 0);
	set_mask(f->wmask, PCI_COMMAND, 2,
		 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	set_mask(f->w1cmask, PCI_STATUS, 2, PCI_STATUS_ERRORS);
	/* Scratch for the guest's IRQ routing, whatever the pin. */
	set_mask(f->wmask, PCI_INTERRUPT_LINE, 1, 0xff);
	f->next_cap = PCI_HEADER_END;
}

void pci_func_set_subsystem(struct pci_func *f, uint16_t vendor, uint16_t id)
{
	pci_config_set(f, PCI_SUBSYSTEM_VENDOR_ID, 2, vendor);
	pci_config_set(f, PCI_SUBSYSTEM_ID, 2, id);
}

void pci_func_set_intx_pin(struct pci_func *f, uint8_t pin)
{
	pci_config_set(f, PCI_INTERRUPT_PIN, 1, pin);
}

static bool power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_func_add_bar(struct pci_func *f, unsigned int bar,
		     enum pci_bar_type type, uint64_t size, bool prefetch)
{
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint64_t mask = ~(size - 1);

	if (bar >= PCI_NR_BARS || !power_of_two(size) ||
	    f->bars[bar].type != PCI_BAR_UNUSED)
		return -1;
	switch (type) {
	case PCI_BAR_IO:
		if (size < 4 || size > 256)
			return -1;
		pci_config_set(f, reg, 4, PCI_BAR_SPACE_IO);
		set_mask(f->wmask, reg, 4, (uint32_t)mask & 0xfffc);
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > (1ULL << 31))
			return -1;
		pci_config_set(f, reg, 4, prefetch ? PCI_BAR_MEM_PREFETCH : 0);
		set_mask(f->wmask, reg, 4, (uint32_t)mask & ~0xfU);
		break;
	case PCI_BAR_MEM64:
		if (bar + 1 >= PCI_NR_BARS || size < 16 ||
		    f->bars[bar + 1].type != PCI_BAR_UNUSED)
			return -1;
		pci_config_set(f, reg, 4, PCI_BAR_MEM_TYPE_64 |
				      (prefetch ? PCI_BAR_MEM_PREFETCH : 0));
		set_mask(f->wmask, reg, 4, (uint32_t)mask & ~0xfU);
		set_mask(f->wmask, reg + 4, 4, (uint32_t)(mask >> 32));
		/* The upper half belongs to this BAR. */
		f->bars[bar + 1].type = PCI_BAR_MEM64;
		f->bars[bar + 1].size = 0;
		break;
	case PCI_BAR_UNUSED:
		return -1;
	}
	f->bars[bar] = (struct pci_bar){
		.type = type, .prefetch = prefetch, .size = size,
	};
	return 0;
}

uint8_t pci_func_add_cap(struct pci_func *f, uint8_t id, uint8_t len)
{
	uint8_t off = (uint8_t)ALIGN_UP(f->next_cap, 4), prev;

	if (len < 2 || f->next_cap < PCI_HEADER_END ||
	    (uint32_t)off + len > PCI_CONFIG_SIZE)
		return 0;
	f->config[off] = id;
	f->config[off + 1] = 0;
	/* Appended: the list keeps the order capabilities were added in. */
	if (!(pci_config_get(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
		f->config[PCI_CAPABILITY_LIST] = off;
		pci_config_set(f, PCI_STATUS, 2,
			       pci_config_get(f, PCI_STATUS, 2) |
			       PCI_STATUS_CAP_LIST);
	} else {
		prev = f->config[PCI_CAPABILITY_LIST];
		while (f->config[prev + 1])
			prev = f->config[prev + 1];
		f->config[prev + 1] = off;
	}
	f->next_cap = (uint8_t)MIN((uint32_t)off + len, 0xffU);
	if ((uint32_t)off + len >= PCI_CONFIG_SIZE)
		f->next_cap = 0;
	return off;
}

void pci_func_set_intx(struct pci_func *f, bool asserted)
{
	__atomic_store_n(&f->intx, asserted, __ATOMIC_RELAXED);
}
