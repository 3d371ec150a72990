// SPDX-License-Identifier: MIT
/*
 * The PC's PCI configuration ports, 0xcf8-0xcff: CONFIG_ADDRESS (a dword
 * at 0xcf8) selects a bus, device, function and register, and CONFIG_DATA
 * (0xcfc-0xcff) reads or writes it (configuration mechanism #1). The
 * reset control register 0xcf9 is the byte between them.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "devices/x86/legacy.h"
#include "vmm/arch/x86/layout.h"

/* The bits that exist: enable, bus, device, function, dword register. */
#define CONFIG_ADDRESS_BITS (PCI_CONFIG_ENABLE | 0x00fffffcU)
#define CONFIG_PORTS 8
#define CONFIG_DATA_OFF 4
#define RESET_CONTROL_OFF 1 /* 0xcf9 */

struct pci_ports {
	struct device dev;
	struct device_host *host;
	struct pci_bus *bus;
	struct bus_device io;
	uint32_t config_address; /* any vCPU; atomics */
};

static void pci_ports_read(struct bus_device *bd, uint64_t off, void *data,
			   uint32_t len)
{
	struct pci_ports *p = bd->opaque;
	uint32_t addr = __atomic_load_n(&p->config_address, __ATOMIC_RELAXED);

	if (off == 0 && len == 4) {
		put_le32(data, addr);
	} else if (off >= CONFIG_DATA_OFF && (addr & PCI_CONFIG_ENABLE)) {
		pci_bus_config_read(p->bus, (addr >> 16) & 0xff,
				    (addr >> 8) & 0xff,
				    (addr & 0xfc) + (uint32_t)(off - CONFIG_DATA_OFF),
				    data, len);
	} else {
		/* The reset control register reads 0; the rest is not there. */
		memset(data, off == RESET_CONTROL_OFF ? 0 : 0xff, len);
	}
}

static void pci_ports_write(struct bus_device *bd, uint64_t off,
			    const void *data, uint32_t len)
{
	struct pci_ports *p = bd->opaque;
	uint32_t addr = __atomic_load_n(&p->config_address, __ATOMIC_RELAXED);

	if (off == 0 && len == 4)
		__atomic_store_n(&p->config_address,
				 get_le32(data) & CONFIG_ADDRESS_BITS,
				 __ATOMIC_RELAXED);
	else if (off == RESET_CONTROL_OFF && len == 1)
		pc_reset_control(p->host, *(const uint8_t *)data);
	else if (off >= CONFIG_DATA_OFF && (addr & PCI_CONFIG_ENABLE))
		pci_bus_config_write(p->bus, (addr >> 16) & 0xff,
				     (addr >> 8) & 0xff,
				     (addr & 0xfc) + (uint32_t)(off - CONFIG_DATA_OFF),
				     data, len);
}

static const struct bus_device_ops pci_ports_ops = {
	.read = pci_ports_read,
	.write = pci_ports_write,
};

static struct pci_ports *to_ports(struct device *dev)
{
	return container_of(dev, struct pci_ports, dev);
}

static void pci_ports_reset(struct device *dev)
{
	__atomic_store_n(&to_ports(dev)->config_address, 0, __ATOMIC_RELAXED);
}

static void pci_ports_destroy(struct device *dev)
{
	struct pci_ports *p = to_ports(dev);

	bus_unregister(p->host->pio, &p->io);
	free(p);
}

static const struct device_ops pci_ports_device_ops = {
	.reset = pci_ports_reset,
	.destroy = pci_ports_destroy,
};

int pci_ports_create(struct device_host *host, struct pci_bus *bus,
		     struct device **out, struct err *e)
{
	struct pci_ports *p = calloc(1, sizeof(*p));

	if (!p)
		return err_set(e, "PCI configuration ports: out of memory");
	p->dev = (struct device){ .name = "pci-config-ports",
				  .ops = &pci_ports_device_ops };
	p->host = host;
	p->bus = bus;
	p->io = (struct bus_device){
		.name = "PCI configuration ports",
		.base = LAYOUT_PORT_PCI_CONFIG, .len = CONFIG_PORTS,
		.ops = &pci_ports_ops, .opaque = p,
	};
	if (bus_register(host->pio, &p->io, e) < 0) {
		free(p);
		return -1;
	}
	*out = &p->dev;
	return 0;
}
