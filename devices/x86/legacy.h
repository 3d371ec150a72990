/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_LEGACY_H
#define DEVICES_LEGACY_H

#include "vmm/device.h"

/*
 * The small platform devices a kernel expects on a PC, each in its own file:
 * i8042.c (the keyboard controller's reset line), debug_exit.c (ends the VM
 * with a status) and acpi_pm.c (hardware-reduced ACPI sleep and reset
 * registers). Each registers on @host's port bus and reports to @host->power.
 */
int i8042_create(struct device_host *host, struct device **out, struct err *e);
int debug_exit_create(struct device_host *host, struct device **out,
		      struct err *e);
int acpi_pm_create(struct device_host *host, struct device **out,
		   struct err *e);

#endif
