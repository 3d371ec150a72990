// SPDX-License-Identifier: MIT
/*
 * The arm64 platform: COM1-COM4 as 16550A UARTs on MMIO and a PL031
 * real-time clock; the device tree announces them and the virtio devices.
 */
#include "vmm/arch.h"

#include <stdlib.h>
#include <string.h>

#include "devices/arm64/pl031.h"
#include "vmm/vm_devices.h"

#define UART(n)                                                                \
	{ .mmio = true, .base = LAYOUT_UART + (n) * LAYOUT_UART_SIZE,          \
	  .gsi = LAYOUT_IRQ_COM1 + (n) }

static const struct serial_place platform_uarts[CONFIG_NR_SERIAL] = {
	UART(0), UART(1), UART(2), UART(3),
};

int arch_create_devices(struct vm *vm, struct err *e)
{
	struct device *rtc;

	if (vm_create_serial_ports(vm, platform_uarts, e) < 0 ||
	    pl031_create(&vm->host, LAYOUT_RTC, LAYOUT_IRQ_RTC, &rtc, e) < 0)
		return -1;
	vm_add_device(vm, rtc);
	return vm_create_virtio_devices(vm, e);
}

/* The device tree announces every device; the command line is the user's. */
char *arch_cmdline(const struct vm *vm, struct err *e)
{
	char *line = strdup(vm->cfg->cmdline ? vm->cfg->cmdline :
					       arch_default_cmdline);

	if (!line)
		err_set(e, "out of memory");
	return line;
}
