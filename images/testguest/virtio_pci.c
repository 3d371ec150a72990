// SPDX-License-Identifier: MIT
/*
 * The test guest's virtio-pci transport (virtio 1.x, 4.1): the function
 * found by its IDs on bus 0, its BARs placed in the 32-bit aperture, the
 * structures found through the vendor capabilities, MSI-X enabled with
 * every vector programmed and unmasked (the guest runs with interrupts
 * off and asks the device for none, so no message is ever taken).
 */
#include "virtio.h"

#include "io.h"
#include "pci.h"
#include "str.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_DEVICE_BASE 0x1040
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_BAR0 0x10
#define PCI_BAR_64 0x4
#define PCI_CAP_PTR 0x34
#define CAP_ID_VNDR 0x09
#define CAP_ID_MSIX 0x11
#define MSIX_ENABLE 0x8000
#define MSIX_ENTRY 16
#define MSI_ADDR 0xfee00000U
#define MSI_VECTOR 0x40

#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_NOTIFY_MULT 16
#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_ISR 3
#define CFG_DEVICE 4

/* struct virtio_pci_common_cfg */
#define DFSELECT 0x00
#define DF 0x04
#define GFSELECT 0x08
#define GF 0x0c
#define STATUS 0x14
#define Q_SELECT 0x16
#define Q_SIZE 0x18
#define Q_ENABLE 0x1c
#define Q_NOFF 0x1e
#define Q_DESC 0x20
#define Q_AVAIL 0x28
#define Q_USED 0x30

/* Each slot's BARs go in a 1 MiB piece of the 32-bit aperture. */
#define SLOT_WINDOW 0x100000ULL

static volatile uint8_t *at(uint64_t addr)
{
	return (volatile uint8_t *)(uintptr_t)addr;
}

static uint32_t common32(const struct tg_virtio *d, uint32_t off)
{
	return *(volatile uint32_t *)at(d->common + off);
}

static void set_common32(const struct tg_virtio *d, uint32_t off,
			 uint32_t val)
{
	*(volatile uint32_t *)at(d->common + off) = val;
}

static uint16_t common16(const struct tg_virtio *d, uint32_t off)
{
	return *(volatile uint16_t *)at(d->common + off);
}

static void set_common16(const struct tg_virtio *d, uint32_t off,
			 uint16_t val)
{
	*(volatile uint16_t *)at(d->common + off) = val;
}

static uint32_t pci_status(const struct tg_virtio *d)
{
	return *at(d->common + STATUS);
}

static void pci_set_status(const struct tg_virtio *d, uint32_t status)
{
	*at(d->common + STATUS) = (uint8_t)status;
}

static uint64_t pci_device_features(const struct tg_virtio *d)
{
	uint64_t f;

	set_common32(d, DFSELECT, 1);
	f = (uint64_t)common32(d, DF) << 32;
	set_common32(d, DFSELECT, 0);
	return f | common32(d, DF);
}

static void pci_driver_features(const struct tg_virtio *d, uint64_t f)
{
	set_common32(d, GFSELECT, 0);
	set_common32(d, GF, (uint32_t)f);
	set_common32(d, GFSELECT, 1);
	set_common32(d, GF, (uint32_t)(f >> 32));
}

static void set_common64(const struct tg_virtio *d, uint32_t off, uint64_t v)
{
	set_common32(d, off, (uint32_t)v);
	set_common32(d, off + 4, (uint32_t)(v >> 32));
}

static bool pci_setup_queue(const struct tg_virtio *d, unsigned int qi,
			    const struct tg_vring *r, struct check *c)
{
	set_common16(d, Q_SELECT, (uint16_t)qi);
	if (common16(d, Q_ENABLE))
		return check_fail(c, "queue %u is enabled right after reset", qi);
	if (common16(d, Q_SIZE) < TG_VQ_SIZE)
		return check_fail(c, "queue %u holds only %u entries", qi,
				  common16(d, Q_SIZE));
	if (common16(d, Q_NOFF) != qi)
		return check_fail(c, "queue %u notifies at offset %u", qi,
				  common16(d, Q_NOFF));
	set_common16(d, Q_SIZE, TG_VQ_SIZE);
	set_common64(d, Q_DESC, (uint64_t)(uintptr_t)r->desc);
	set_common64(d, Q_AVAIL, (uint64_t)(uintptr_t)&r->avail);
	set_common64(d, Q_USED, (uint64_t)(uintptr_t)&r->used);
	set_common16(d, Q_ENABLE, 1);
	if (common16(d, Q_ENABLE) != 1)
		return check_fail(c, "queue %u did not become enabled", qi);
	return true;
}

static uint64_t pci_config(const struct tg_virtio *d, uint32_t off)
{
	return d->device + off;
}

static void pci_notify(const struct tg_virtio *d, unsigned int qi)
{
	*(volatile uint16_t *)at(d->notify + qi * d->notify_mult) =
		(uint16_t)qi;
}

static const struct tg_virtio_ops pci_ops = {
	.status = pci_status,
	.set_status = pci_set_status,
	.device_features = pci_device_features,
	.driver_features = pci_driver_features,
	.setup_queue = pci_setup_queue,
	.config = pci_config,
	.notify = pci_notify,
};

/* Sizes each BAR and places it in the slot's piece of the aperture. */
static void place_bars(unsigned int slot, uint64_t bars[6])
{
	uint64_t next = LAYOUT_PCI_MMIO32 + slot * SLOT_WINDOW;

	tg_pci_write(slot, PCI_COMMAND, 2, 0);
	for (unsigned int bar = 0; bar < 6; bar++) {
		uint32_t reg = PCI_BAR0 + 4 * bar, type, size;

		bars[bar] = 0;
		type = tg_pci_read(slot, reg, 4);
		tg_pci_write(slot, reg, 4, 0xffffffff);
		size = ~(tg_pci_read(slot, reg, 4) & ~0xfU) + 1;
		if (!size) /* no BAR */
			continue;
		next = (next + size - 1) & ~(uint64_t)(size - 1);
		bars[bar] = next;
		tg_pci_write(slot, reg, 4, (uint32_t)next);
		next += size;
		if (type & PCI_BAR_64)
			tg_pci_write(slot, reg + 4 * ++bar, 4, 0);
	}
	tg_pci_write(slot, PCI_COMMAND, 2,
		     PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void enable_msix(unsigned int slot, uint8_t cap, const uint64_t *bars)
{
	uint32_t table = tg_pci_read(slot, cap + 4, 4);
	uint16_t n = (uint16_t)((tg_pci_read(slot, cap + 2, 2) & 0x7ff) + 1);
	uint64_t t = bars[table & 7] + (table & ~7U);

	for (uint16_t v = 0; v < n; v++) {
		mmio_write32(t + v * MSIX_ENTRY, MSI_ADDR);
		mmio_write32(t + v * MSIX_ENTRY + 4, 0);
		mmio_write32(t + v * MSIX_ENTRY + 8, MSI_VECTOR + v);
		mmio_write32(t + v * MSIX_ENTRY + 12, 0);
	}
	tg_pci_write(slot, cap + 2, 2, MSIX_ENABLE);
}

static bool find_structures(struct tg_virtio *d, const uint64_t *bars,
			    struct check *c)
{
	unsigned int slot = d->slot, n = 0;
	uint8_t p = (uint8_t)tg_pci_read(slot, PCI_CAP_PTR, 1);

	for (; p && n < 48; n++, p = (uint8_t)tg_pci_read(slot, p + 1, 1)) {
		uint8_t id = (uint8_t)tg_pci_read(slot, p, 1), type, bar;
		uint64_t addr;

		if (id == CAP_ID_MSIX)
			enable_msix(slot, p, bars);
		if (id != CAP_ID_VNDR)
			continue;
		type = (uint8_t)tg_pci_read(slot, p + CAP_CFG_TYPE, 1);
		bar = (uint8_t)tg_pci_read(slot, p + CAP_BAR, 1);
		if (bar >= 6)
			continue;
		addr = bars[bar] + tg_pci_read(slot, p + CAP_OFFSET, 4);
		if (type == CFG_COMMON)
			d->common = addr;
		else if (type == CFG_ISR)
			d->isr = addr;
		else if (type == CFG_DEVICE)
			d->device = addr;
		else if (type == CFG_NOTIFY) {
			d->notify = addr;
			d->notify_mult = tg_pci_read(slot, p + CAP_NOTIFY_MULT, 4);
		}
	}
	if (!d->common || !d->isr || !d->device || !d->notify)
		return check_fail(c, "00:%02x.0 lacks a virtio structure (common 0x%lx, ISR 0x%lx, device 0x%lx, notify 0x%lx)",
				  slot, d->common, d->isr, d->device, d->notify);
	return true;
}

bool tg_virtio_pci_find(uint32_t device_id, struct tg_virtio *d,
			struct check *c)
{
	uint64_t bars[6];

	d->ops = &pci_ops;
	for (unsigned int slot = 1; slot < TG_PCI_SLOTS; slot++) {
		if (tg_pci_read(slot, 0, 2) != VIRTIO_VENDOR ||
		    tg_pci_read(slot, 2, 2) != VIRTIO_DEVICE_BASE + device_id)
			continue;
		d->slot = slot;
		place_bars(slot, bars);
		return find_structures(d, bars, c);
	}
	return check_fail(c, "no virtio-pci device with ID %u on bus 0",
			  device_id);
}
