// SPDX-License-Identifier: MIT
/*
 * Bus 0: configuration accesses from ECAM and from the platform's
 * configuration ports (devices/x86/pci_ports.c), and the apertures where the guest's BARs decode. The windows on the
 * VMM's buses never move; what lies inside them (ECAM, BARs) is decoded
 * here under the bus lock, so a guest reprogramming a BAR never touches
 * the VMM's bus tables from the vCPU that holds them.
 */
#include "pci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void pci_slot_name(unsigned int slot, char *buf, size_t len)
{
	snprintf(buf, len, "0000:00:%02x.0", slot & 0x1f);
}

/* ---- BAR decoding ---- */

static uint64_t mmio64_limit(const struct pci_layout *l)
{
	return MAX(l->mmio64_end, l->mmio64_decode_end);
}

static bool inside(uint64_t addr, uint64_t size, uint64_t base, uint64_t end)
{
	return addr >= base && addr < end && size <= end - addr;
}

/* Where BAR @i decodes with the current registers, or 0 for nowhere. */
static uint64_t bar_decode(const struct pci_func *f, unsigned int i)
{
	const struct pci_layout *l = &f->bus->layout;
	const struct pci_bar *b = &f->bars[i];
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * i;
	uint16_t cmd = (uint16_t)pci_config_get(f, PCI_COMMAND, 2);
	uint64_t addr;

	switch (b->type) {
	case PCI_BAR_IO:
		addr = pci_config_get(f, reg, 4) & ~0x3U;
		return (cmd & PCI_COMMAND_IO) &&
		       inside(addr, b->size, l->io_base, l->io_end) ? addr : 0;
	case PCI_BAR_MEM32:
		addr = pci_config_get(f, reg, 4) & ~0xfU;
		return (cmd & PCI_COMMAND_MEMORY) &&
		       inside(addr, b->size, l->mmio32_base, l->mmio32_end) ?
			       addr : 0;
	case PCI_BAR_MEM64:
		if (!b->size) /* the upper half of the BAR below */
			return 0;
		addr = (pci_config_get(f, reg, 4) & ~0xfULL) |
		       (uint64_t)pci_config_get(f, reg + 4, 4) << 32;
		if (!(cmd & PCI_COMMAND_MEMORY))
			return 0;
		return inside(addr, b->size, l->mmio32_base, l->mmio32_end) ||
		       inside(addr, b->size, l->mmio64_base, mmio64_limit(l)) ?
			       addr : 0;
	case PCI_BAR_UNUSED:
		break;
	}
	return 0;
}

/* Bus lock held for writing. */
static void remap(struct pci_func *f)
{
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		uint64_t addr = bar_decode(f, i);

		if (addr == f->bars[i].addr)
			continue;
		f->bars[i].addr = addr;
		if (f->ops->bar_map)
			f->ops->bar_map(f, i, addr);
	}
}

/* The function and BAR decoding [addr, addr + len), in I/O or memory space. */
static struct pci_func *find_bar(struct pci_bus *bus, bool io, uint64_t addr,
				 uint32_t len, unsigned int *bar, uint64_t *off)
{
	for (unsigned int s = 0; s < PCI_NR_SLOTS; s++) {
		struct pci_func *f = bus->slots[s];

		for (unsigned int i = 0; f && i < PCI_NR_BARS; i++) {
			const struct pci_bar *b = &f->bars[i];

			if (!b->addr || (b->type == PCI_BAR_IO) != io ||
			    addr < b->addr || !range_ok(addr - b->addr, len, b->size))
				continue;
			*bar = i;
			*off = addr - b->addr;
			return f;
		}
	}
	return NULL;
}

static void bar_access(struct pci_bus *bus, bool io, uint64_t addr,
		       void *data, uint32_t len, bool write)
{
	struct pci_func *f;
	unsigned int bar;
	uint64_t off;

	f = find_bar(bus, io, addr, len, &bar, &off);
	if (!f) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	if (write)
		f->ops->bar_write(f, bar, off, data, len);
	else
		f->ops->bar_read(f, bar, off, data, len);
}

/* ---- configuration space ---- */

static struct pci_func *config_target(struct pci_bus *bus, unsigned int busnr,
				      unsigned int devfn, uint32_t reg,
				      uint32_t len)
{
	/* One function per slot; accesses never cross a dword. */
	if (busnr != 0 || (devfn & 7) || reg >= PCI_CONFIG_SIZE ||
	    (len != 1 && len != 2 && len != 4) || (reg & 3) + len > 4)
		return NULL;
	return bus->slots[(devfn >> 3) & 0x1f];
}

void pci_bus_config_read(struct pci_bus *bus, unsigned int busnr,
			 unsigned int devfn, uint32_t reg, void *data,
			 uint32_t len)
{
	struct pci_func *f;
	uint8_t *out = data;

	memset(data, 0xff, len);
	pthread_rwlock_rdlock(&bus->lock);
	f = config_target(bus, busnr, devfn, reg, len);
	if (f) {
		memcpy(data, f->config + reg, len);
		if (reg <= PCI_STATUS && reg + len > PCI_STATUS &&
		    __atomic_load_n(&f->intx, __ATOMIC_RELAXED))
			out[PCI_STATUS - reg] |= PCI_STATUS_INTERRUPT;
		if (f->ops->config_read)
			f->ops->config_read(f, reg, len, out);
	}
	pthread_rwlock_unlock(&bus->lock);
}

static bool overlaps(uint32_t reg, uint32_t len, uint32_t start, uint32_t end)
{
	return reg < end && reg + len > start;
}

void pci_bus_config_write(struct pci_bus *bus, unsigned int busnr,
			  unsigned int devfn, uint32_t reg, const void *data,
			  uint32_t len)
{
	const uint8_t *in = data;
	struct pci_func *f;

	pthread_rwlock_wrlock(&bus->lock);
	f = config_target(bus, busnr, devfn, reg, len);
	if (!f)
		goto out;
	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = reg + i;

		f->config[o] = (uint8_t)((f->config[o] & ~f->wmask[o]) |
					 (in[i] & f->wmask[o]));
		f->config[o] &= (uint8_t)~(in[i] & f->w1cmask[o]);
	}
	if (overlaps(reg, len, PCI_COMMAND, PCI_COMMAND + 2) ||
	    overlaps(reg, len, PCI_BASE_ADDRESS_0,
		     PCI_BASE_ADDRESS_0 + 4 * PCI_NR_BARS))
		remap(f);
	if (f->ops->config_write)
		f->ops->config_write(f, reg, len);
out:
	pthread_rwlock_unlock(&bus->lock);
}

void pci_bus_set_ecam(struct pci_bus *bus, uint64_t base, uint64_t size,
		      bool enabled)
{
	bus->ecam_base = base;
	bus->ecam_size = size;
	bus->ecam_enabled = enabled;
}

/* ---- the windows on the VMM's buses ---- */

static struct pci_bus *to_bus(struct bus_device *bd)
{
	return bd->opaque;
}

static void window_access(struct bus_device *bd, bool io, uint64_t off,
			  void *data, uint32_t len, bool write)
{
	struct pci_bus *bus = to_bus(bd);
	uint64_t addr = bd->base + off, cfg = 0;
	bool ecam;

	if (!write)
		memset(data, 0xff, len);
	pthread_rwlock_rdlock(&bus->lock);
	/* ECAM (where PCIEXBAR put it) comes before any BAR. */
	ecam = !io && bus->ecam_enabled && addr >= bus->ecam_base &&
	       range_ok(addr - bus->ecam_base, len, bus->ecam_size);
	if (ecam)
		cfg = addr - bus->ecam_base;
	else
		bar_access(bus, io, addr, data, len, write);
	pthread_rwlock_unlock(&bus->lock);
	if (!ecam)
		return;
	/* Bus, device and function from the address, then the register. */
	if (write)
		pci_bus_config_write(bus, (unsigned int)(cfg >> 20),
				     (unsigned int)(cfg >> 12) & 0xff,
				     (uint32_t)(cfg & 0xfff), data, len);
	else
		pci_bus_config_read(bus, (unsigned int)(cfg >> 20),
				    (unsigned int)(cfg >> 12) & 0xff,
				    (uint32_t)(cfg & 0xfff), data, len);
}

static void mem_window_read(struct bus_device *bd, uint64_t off, void *data,
			    uint32_t len)
{
	window_access(bd, false, off, data, len, false);
}

static void mem_window_write(struct bus_device *bd, uint64_t off,
			     const void *data, uint32_t len)
{
	window_access(bd, false, off, (void *)data, len, true);
}

static void io_window_read(struct bus_device *bd, uint64_t off, void *data,
			   uint32_t len)
{
	window_access(bd, true, off, data, len, false);
}

static void io_window_write(struct bus_device *bd, uint64_t off,
			    const void *data, uint32_t len)
{
	window_access(bd, true, off, (void *)data, len, true);
}

static const struct bus_device_ops mem_window_ops = {
	.read = mem_window_read,
	.write = mem_window_write,
};

static const struct bus_device_ops io_window_ops = {
	.read = io_window_read,
	.write = io_window_write,
};

/* ---- slots ---- */

int pci_bus_add(struct pci_bus *bus, unsigned int slot, struct pci_func *f,
		struct err *e)
{
	int ret = 0;

	if (slot >= PCI_NR_SLOTS)
		return err_set(e, "PCI slot %u does not exist (0 to %d)", slot,
			       PCI_NR_SLOTS - 1);
	pthread_rwlock_wrlock(&bus->lock);
	if (bus->slots[slot]) {
		ret = err_set(e, "PCI slot %u is taken by %s", slot,
			      bus->slots[slot]->name);
	} else {
		f->bus = bus;
		f->slot = slot;
		memcpy(f->reset_config, f->config, sizeof(f->config));
		bus->slots[slot] = f;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* Bus lock held for writing. */
static void unplug(struct pci_bus *bus, struct pci_func *f)
{
	bus->slots[f->slot] = NULL;
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		if (!f->bars[i].addr)
			continue;
		f->bars[i].addr = 0;
		if (f->ops->bar_map)
			f->ops->bar_map(f, i, 0);
	}
}

void pci_bus_remove(struct pci_bus *bus, struct pci_func *f)
{
	pthread_rwlock_wrlock(&bus->lock);
	if (f->bus == bus && bus->slots[f->slot] == f)
		unplug(bus, f);
	pthread_rwlock_unlock(&bus->lock);
}

bool pci_bus_unplug_slot(struct pci_bus *bus, unsigned int slot)
{
	struct pci_func *f;

	if (slot >= PCI_NR_SLOTS)
		return false;
	pthread_rwlock_wrlock(&bus->lock);
	f = bus->slots[slot];
	if (f)
		unplug(bus, f);
	pthread_rwlock_unlock(&bus->lock);
	return f != NULL;
}

bool pci_bus_slot_used(struct pci_bus *bus, unsigned int slot)
{
	bool used;

	if (slot >= PCI_NR_SLOTS)
		return false;
	pthread_rwlock_rdlock(&bus->lock);
	used = bus->slots[slot] != NULL;
	pthread_rwlock_unlock(&bus->lock);
	return used;
}

unsigned int pci_bus_free_slot(struct pci_bus *bus)
{
	unsigned int slot = 0;

	pthread_rwlock_rdlock(&bus->lock);
	for (unsigned int s = 1; s < PCI_NR_SLOTS && !slot; s++)
		if (!bus->slots[s])
			slot = s;
	pthread_rwlock_unlock(&bus->lock);
	return slot;
}

void pci_func_reset(struct pci_func *f)
{
	struct pci_bus *bus = f->bus;

	pthread_rwlock_wrlock(&bus->lock);
	memcpy(f->config, f->reset_config, sizeof(f->config));
	remap(f);
	if (f->ops->config_write)
		f->ops->config_write(f, 0, PCI_CONFIG_SIZE);
	pthread_rwlock_unlock(&bus->lock);
}

/* ---- the bus's lifecycle ---- */

static void bus_unregister_all(struct pci_bus *bus)
{
	struct bus_device *pio[] = { &bus->io_window };
	struct bus_device *mmio[] = { &bus->low_window, &bus->high_window };

	for (size_t i = 0; i < ARRAY_SIZE(pio); i++)
		if (pio[i]->opaque)
			bus_unregister(bus->host->pio, pio[i]);
	for (size_t i = 0; i < ARRAY_SIZE(mmio); i++)
		if (mmio[i]->opaque)
			bus_unregister(bus->host->mmio, mmio[i]);
}

static void pci_bus_free(struct pci_bus *bus)
{
	bus_unregister_all(bus);
	free(bus->host_bridge);
	pthread_rwlock_destroy(&bus->lock);
	free(bus);
}

static struct pci_bus *dev_to_bus(struct device *dev)
{
	return container_of(dev, struct pci_bus, dev);
}

static void pci_bus_dev_reset(struct device *dev)
{
	struct pci_bus *bus = dev_to_bus(dev);

	pci_func_reset(bus->host_bridge);
}

static void pci_bus_dev_destroy(struct device *dev)
{
	pci_bus_free(dev_to_bus(dev));
}

static const struct device_ops pci_bus_dev_ops = {
	.reset = pci_bus_dev_reset,
	.destroy = pci_bus_dev_destroy,
};

static int register_window(struct bus *on, struct bus_device *bd,
			   const char *name, uint64_t base, uint64_t end,
			   const struct bus_device_ops *ops,
			   struct pci_bus *bus, struct err *e)
{
	*bd = (struct bus_device){
		.name = name, .base = base, .len = end - base, .ops = ops,
	};
	if (bus_register(on, bd, e) < 0)
		return -1;
	bd->opaque = bus;
	return 0;
}

static int register_windows(struct pci_bus *bus, struct err *e)
{
	const struct pci_layout *l = &bus->layout;
	struct device_host *host = bus->host;

	if (register_window(host->pio, &bus->io_window, "PCI I/O aperture",
			    l->io_base, l->io_end, &io_window_ops, bus,
			    e) < 0 ||
	    register_window(host->mmio, &bus->low_window,
			    "PCI ECAM and 32-bit aperture",
			    MIN(l->ecam_base, l->mmio32_base),
			    MAX(l->ecam_base + l->ecam_size, l->mmio32_end),
			    &mem_window_ops, bus, e) < 0 ||
	    register_window(host->mmio, &bus->high_window,
			    "PCI 64-bit aperture", l->mmio64_base,
			    mmio64_limit(l), &mem_window_ops, bus, e) < 0)
		return -1;
	return 0;
}

int pci_bus_create(struct device_host *host, const struct pci_layout *layout,
		   bool ecam_enabled, struct pci_bus **out, struct err *e)
{
	pthread_rwlockattr_t attr;
	struct pci_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return err_set(e, "PCI bus: out of memory");
	bus->host = host;
	bus->layout = *layout;
	bus->dev = (struct device){
		.name = "pci-host", .ops = &pci_bus_dev_ops, .transport = "pci",
	};
	pci_slot_name(0, bus->dev.address, sizeof(bus->dev.address));
	/* Config writes are rare; BAR accesses must not starve them. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&bus->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (pci_host_bridge_create(bus, ecam_enabled, e) < 0 ||
	    register_windows(bus, e) < 0) {
		err_prefix(e, "PCI bus");
		pci_bus_free(bus);
		return -1;
	}
	*out = bus;
	return 0;
}
