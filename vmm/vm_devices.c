// SPDX-License-Identifier: MIT
#include "vm_devices.h"

#include <signal.h>
#include <stdio.h>

#include "devices/pci/hotplug.h"
#include "devices/pci/pci.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
#include "devices/virtio/vsock/vsock.h"

static void serial_quit(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_SIGNAL, SIGINT);
}

int vm_create_serial_ports(struct vm *vm,
			   const struct serial_place places[CONFIG_NR_SERIAL],
			   struct err *e)
{
	struct chardev_quit quit = { .fn = serial_quit, .opaque = vm };

	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++) {
		struct serial *s;

		if (i > 0 && vm->cfg->serial[i].kind == CHARDEV_NONE)
			continue;
		if (serial_create(&vm->host, i + 1, &places[i],
				  &vm->cfg->serial[i], &quit, &s, e) < 0)
			return -1;
		vm_add_device(vm, &s->dev);
		vm->serial[i] = &s->chr;
		vm->serial_ports[vm->nr_serial_ports++] = (struct boot_serial_port){
			.index = i + 1, .base = places[i].base,
			.gsi = places[i].gsi,
		};
	}
	return 0;
}

void vm_name_metrics(struct device *dev, enum vm_slot_kind kind,
		     unsigned int index)
{
	snprintf(dev->metrics->id, sizeof(dev->metrics->id), "%s%u",
		 kind == VM_SLOT_DISK ? "disk" : "net", index);
}

unsigned int vm_free_slot(struct vm *vm)
{
	/* A slot whose device the guest ejected is free once it is freed. */
	for (unsigned int s = 1; s < VM_PCI_SLOTS; s++)
		if (vm->slots[s].kind == VM_SLOT_FREE &&
		    !pci_bus_slot_used(vm->pci, s))
			return s;
	return 0;
}

unsigned int vm_nr_virtio_devices(const struct vm *vm)
{
	unsigned int n = vm->nr_mmio_devs;

	for (unsigned int s = 1; s < VM_PCI_SLOTS; s++)
		n += vm->slots[s].kind != VM_SLOT_FREE;
	return n;
}

static int no_pci_bus(struct err *e)
{
	return err_set(e, "--transport pci: this architecture's VMM has no PCI bus yet");
}

int vm_place_virtio(struct vm *vm, struct virtio_attach *at, struct err *e)
{
	struct boot_mmio_device w;
	unsigned int slot;

	if (vm->cfg->transport == VIRTIO_TRANSPORT_PCI) {
		if (!vm->pci)
			return no_pci_bus(e);
		slot = vm_free_slot(vm);
		if (!slot)
			return err_set(e, "every PCI slot is taken (%d devices at most)",
				       VM_PCI_SLOTS - 1);
		*at = (struct virtio_attach){
			.kind = VIRTIO_TRANSPORT_PCI, .pci = vm->pci,
			.slot = slot, .gsi = vm->pci->layout.intx_gsi[slot],
		};
		return 0;
	}
	if (vm_reserve_mmio(vm, &w, e) < 0)
		return -1;
	*at = (struct virtio_attach){
		.kind = VIRTIO_TRANSPORT_MMIO, .base = w.base, .gsi = w.gsi,
	};
	return 0;
}

/*
 * Puts a new device on the VM's list and, on PCI, records what its slot
 * holds; fixed devices cannot be ejected.
 */
static void add_device(struct vm *vm, const struct virtio_attach *at,
		       struct device *dev, enum vm_slot_kind kind,
		       unsigned int index)
{
	vm_add_device(vm, dev);
	if (at->kind != VIRTIO_TRANSPORT_PCI)
		return;
	vm->slots[at->slot] = (struct vm_slot){
		.kind = kind, .index = index, .dev = dev,
	};
	if (kind == VM_SLOT_FIXED && vm->hotplug)
		pci_hotplug_pin(vm->hotplug, at->slot);
}

int vm_add_disk(struct vm *vm, unsigned int index, unsigned int *slot,
		struct err *e)
{
	struct virtio_attach at;
	struct device *dev;

	if (vm_place_virtio(vm, &at, e) < 0 ||
	    virtio_blk_create(&vm->host, &at, &vm->cfg->disks[index], &dev,
			      &vm->disk_limits[index], e) < 0)
		return -1;
	vm_name_metrics(dev, VM_SLOT_DISK, index);
	add_device(vm, &at, dev, VM_SLOT_DISK, index);
	*slot = at.slot;
	return 0;
}

int vm_add_net(struct vm *vm, unsigned int index, unsigned int *slot,
	       struct err *e)
{
	struct virtio_attach at;
	struct device *dev;

	if (vm_place_virtio(vm, &at, e) < 0 ||
	    virtio_net_create(&vm->host, &at, &vm->cfg->nets[index], &dev,
			      &vm->net_limits[index], e) < 0)
		return -1;
	vm_name_metrics(dev, VM_SLOT_NET, index);
	add_device(vm, &at, dev, VM_SLOT_NET, index);
	*slot = at.slot;
	return 0;
}

static int add_console(struct vm *vm, struct err *e)
{
	struct virtio_attach at;
	struct device *dev;

	if (vm->cfg->console.kind == CHARDEV_NONE)
		return 0;
	if (vm_place_virtio(vm, &at, e) < 0 ||
	    virtio_console_create(&vm->host, &at, &vm->cfg->console, &dev,
				  e) < 0)
		return -1;
	add_device(vm, &at, dev, VM_SLOT_FIXED, 0);
	return 0;
}

static int add_vsock(struct vm *vm, struct err *e)
{
	const struct vsock_config *v = &vm->cfg->vsock;
	struct virtio_attach at;
	struct device *dev;

	if (!v->enabled)
		return 0;
	if (vm_place_virtio(vm, &at, e) < 0 ||
	    virtio_vsock_create(&vm->host, &at, v, &dev, &vm->vsock, e) < 0)
		return -1;
	add_device(vm, &at, dev, VM_SLOT_FIXED, 0);
	return 0;
}

static int add_balloon(struct vm *vm, struct err *e)
{
	struct virtio_attach at;
	struct device *dev;

	if (!vm->cfg->balloon.enabled)
		return 0;
	if (vm_place_virtio(vm, &at, e) < 0 ||
	    virtio_balloon_create(&vm->host, &at, &vm->cfg->balloon, &dev,
				  &vm->balloon, e) < 0)
		return -1;
	add_device(vm, &at, dev, VM_SLOT_FIXED, 0);
	return 0;
}

int vm_create_virtio_devices(struct vm *vm, struct err *e)
{
	unsigned int slot;

	if (vm->cfg->transport == VIRTIO_TRANSPORT_PCI && !vm->pci)
		return no_pci_bus(e);

	for (unsigned int i = 0; i < vm->cfg->nr_disks; i++)
		if (vm_add_disk(vm, i, &slot, e) < 0)
			return -1;
	for (unsigned int i = 0; i < vm->cfg->nr_nets; i++)
		if (vm_add_net(vm, i, &slot, e) < 0)
			return -1;
	if (add_console(vm, e) < 0 || add_vsock(vm, e) < 0 ||
	    add_balloon(vm, e) < 0)
		return -1;
	return 0;
}

int vm_virtio_cmdline(const struct vm *vm, char *buf, size_t len,
		      struct err *e)
{
	size_t used = 0;

	if (len == 0)
		return err_set(e, "no room for the virtio-mmio command line");
	buf[0] = '\0';
	for (unsigned int i = 0; i < vm->nr_mmio_devs; i++) {
		const struct boot_mmio_device *d = &vm->mmio_devs[i];
		int n = snprintf(buf + used, len - used,
				 "%svirtio_mmio.device=%lluK@%#llx:%u",
				 i ? " " : "",
				 (unsigned long long)(d->size / KiB),
				 (unsigned long long)d->base, d->gsi);

		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0';
			return err_set(e, "the virtio-mmio entries for %u devices do not fit %zu bytes of command line",
				       vm->nr_mmio_devs, len);
		}
		used += (size_t)n;
	}
	return 0;
}
