/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_LEGACY_H
#define DEVICES_LEGACY_H

#include "vmm/control.h"
#include "vmm/device.h"

/*
 * The small platform devices a kernel expects on a PC, each in its own file:
 * i8042.c (the keyboard controller's reset line), debug_exit.c (ends the VM
 * with a status) and acpi_pm.c (hardware-reduced ACPI sleep and reset
 * registers) register on @host's port bus and report to @host->power;
 * power_button.c is the ACPI power button the host presses.
 */
int i8042_create(struct device_host *host, struct device **out, struct err *e);
int debug_exit_create(struct device_host *host, struct device **out,
		      struct err *e);
int acpi_pm_create(struct device_host *host, struct device **out,
		   struct err *e);

/*
 * The ACPI power button, pressed through @control: a pulse on interrupt
 * @gsi, which the DSDT gives its generic event device.
 */
int power_button_create(struct device_host *host, uint32_t gsi,
			struct device **out, struct power_control **control,
			struct err *e);

#endif
