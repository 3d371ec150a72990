/* SPDX-License-Identifier: MIT */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H

#include "vmm/vm.h"

/*
 * Creates the devices of the PC platform the config asks for: serial ports,
 * the i8042, the debug-exit port, ACPI power management and the virtio
 * devices.
 */
int platform_create_devices(struct vm *vm, struct err *e);

/*
 * The command line the kernel gets: the configured one (or the default)
 * plus the entries that announce virtio-mmio devices. malloc()ed.
 */
char *platform_cmdline(const struct vm *vm, struct err *e);

#endif
