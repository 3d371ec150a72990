/* SPDX-License-Identifier: MIT */
#ifndef VMM_VM_DEVICES_H
#define VMM_VM_DEVICES_H

#include <stddef.h>

#include "vm.h"

/*
 * Creates the virtio devices @vm->cfg asks for (disks, network devices, the
 * console, vsock, the balloon), each in its own virtio-mmio window with its own interrupt,
 * recorded in @vm->mmio_devs for the ACPI DSDT and the command line.
 */
int vm_create_virtio_devices(struct vm *vm, struct err *e);

/*
 * Writes the "virtio_mmio.device=4K@0xd0000000:5 ..." entries that announce
 * the devices to kernels with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, separated
 * by spaces ("" without devices). Fails when @len is too small.
 */
int vm_virtio_cmdline(const struct vm *vm, char *buf, size_t len,
		      struct err *e);

#endif
