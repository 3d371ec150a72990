// SPDX-License-Identifier: MIT
/* The PC platform: COM1-COM4, the i8042, debug-exit and ACPI PM ports. */
#include "vmm/arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/x86/legacy.h"
#include "vmm/vm_devices.h"

static const struct serial_place platform_com[CONFIG_NR_SERIAL] = {
	{ .base = LAYOUT_PORT_COM1, .gsi = LAYOUT_IRQ_COM1 },
	{ .base = LAYOUT_PORT_COM2, .gsi = LAYOUT_IRQ_COM2 },
	{ .base = LAYOUT_PORT_COM3, .gsi = LAYOUT_IRQ_COM3 },
	{ .base = LAYOUT_PORT_COM4, .gsi = LAYOUT_IRQ_COM4 },
};

int arch_create_devices(struct vm *vm, struct err *e)
{
	int (*const legacy[])(struct device_host *, struct device **,
			      struct err *) = {
		i8042_create, debug_exit_create, acpi_pm_create,
	};

	if (vm_create_serial_ports(vm, platform_com, e) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(legacy); i++) {
		struct device *dev;

		if (legacy[i](&vm->host, &dev, e) < 0)
			return -1;
		vm_add_device(vm, dev);
	}
	return vm_create_virtio_devices(vm, e);
}

char *arch_cmdline(const struct vm *vm, struct err *e)
{
	const char *base = vm->cfg->cmdline ? vm->cfg->cmdline :
					      arch_default_cmdline;
	char virtio[LAYOUT_VIRTIO_MMIO_MAX * 48];
	char *line;

	if (vm_virtio_cmdline(vm, virtio, sizeof(virtio), e) < 0)
		return NULL;
	if (asprintf(&line, "%s%s%s", base, *virtio ? " " : "", virtio) < 0) {
		err_set(e, "out of memory");
		return NULL;
	}
	return line;
}
