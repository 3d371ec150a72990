// SPDX-License-Identifier: MIT
/*
 * The PC platform: COM1-COM4, the i8042, debug-exit and ACPI PM ports, the
 * ACPI power button.
 */
#include "vmm/arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/x86/legacy.h"
#include "vmm/arch/x86/x86.h"
#include "vmm/vm_devices.h"

static const struct serial_place platform_com[CONFIG_NR_SERIAL] = {
	{ .base = LAYOUT_PORT_COM1, .gsi = LAYOUT_IRQ_COM1 },
	{ .base = LAYOUT_PORT_COM2, .gsi = LAYOUT_IRQ_COM2 },
	{ .base = LAYOUT_PORT_COM3, .gsi = LAYOUT_IRQ_COM3 },
	{ .base = LAYOUT_PORT_COM4, .gsi = LAYOUT_IRQ_COM4 },
};

/* The ACPI power button, on an interrupt line of its own. */
static int add_power_button(struct vm *vm, struct err *e)
{
	uint32_t gsi = vm->host.irq_alloc(&vm->host);
	struct device *dev;

	if (!gsi)
		return err_set(e, "no interrupt line left for the ACPI power button");
	if (power_button_create(&vm->host, gsi, &dev, &vm->power, e) < 0)
		return -1;
	vm_add_device(vm, dev);
	vm->arch->power_button_gsi = gsi;
	return 0;
}

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
	/* After the virtio devices, which keep their GSIs from 5 on. */
	if (vm_create_virtio_devices(vm, e) < 0)
		return -1;
	return add_power_button(vm, e);
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
