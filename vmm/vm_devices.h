/* SPDX-License-Identifier: MIT */
#ifndef VMM_VM_DEVICES_H
#define VMM_VM_DEVICES_H

#include <stddef.h>

#include "devices/serial.h"
#include "devices/virtio/virtio.h"
#include "vm.h"

/*
 * Creates the UARTs COM1-COM4 at @places: COM1 always, so a kernel's
 * console=ttyS0 finds it, the others when the config gives them a host
 * end. Their host ends become @vm->serial[].
 */
int vm_create_serial_ports(struct vm *vm,
			   const struct serial_place places[CONFIG_NR_SERIAL],
			   struct err *e);

/*
 * Creates the virtio devices @vm->cfg asks for (disks, network devices, the
 * console, vsock, the balloon) on its transport: each in its own
 * virtio-mmio window with its own interrupt, recorded in @vm->mmio_devs for
 * the ACPI DSDT and the command line, or each in a slot of the PCI bus.
 */
int vm_create_virtio_devices(struct vm *vm, struct err *e);

/* Names the counters of disk or NIC @index: "disk0", "net1". */
void vm_name_metrics(struct device *dev, enum vm_slot_kind kind,
		     unsigned int index);

/* The lowest free PCI slot, or 0 when every slot is taken. */
unsigned int vm_free_slot(struct vm *vm);
/* The virtio devices the VM has, on either transport. */
unsigned int vm_nr_virtio_devices(const struct vm *vm);

/*
 * Where the next virtio device goes on the VM's transport: the next
 * virtio-mmio window and interrupt, or the lowest free PCI slot with its
 * INTA# line.
 */
int vm_place_virtio(struct vm *vm, struct virtio_attach *at, struct err *e);

/*
 * Creates the device of cfg->disks[@index] or cfg->nets[@index] on the
 * VM's transport and puts it on the device list; on PCI *@slot is where.
 */
int vm_add_disk(struct vm *vm, unsigned int index, unsigned int *slot,
		struct err *e);
int vm_add_net(struct vm *vm, unsigned int index, unsigned int *slot,
	       struct err *e);

/*
 * Writes the "virtio_mmio.device=4K@0xd0000000:5 ..." entries that announce
 * the devices to kernels with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, separated
 * by spaces ("" without devices). Fails when @len is too small.
 */
int vm_virtio_cmdline(const struct vm *vm, char *buf, size_t len,
		      struct err *e);

#endif
