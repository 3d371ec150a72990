/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_LEGACY_H
#define DEVICES_LEGACY_H

#include "vmm/control.h"
#include "vmm/device.h"

struct pci_bus;

/*
 * The small platform devices a kernel expects on a PC, each in its own file:
 * i8042.c (the keyboard controller, its reset line and a keyboard with no
 * keys), debug_exit.c (ends the VM with a status), acpi_pm.c
 * (hardware-reduced ACPI sleep and reset registers) and pci_ports.c (PCI
 * configuration mechanism #1) register on @host's port bus and report to
 * @host->power; power_button.c is the ACPI power button the host presses.
 */
int i8042_create(struct device_host *host, struct device **out, struct err *e);
int debug_exit_create(struct device_host *host, struct device **out,
		      struct err *e);
/*
 * With @reset_port the reset control register 0xcf9 is a window of its
 * own; without, it lies in the PCI configuration ports (pci_ports.c).
 */
int acpi_pm_create(struct device_host *host, bool reset_port,
		   struct device **out, struct err *e);
/*
 * A write of @val to the reset control register (0xcf9, the FADT's
 * RESET_REG): RST_CPU resets the machine.
 */
void pc_reset_control(struct device_host *host, uint8_t val);
/*
 * The PCI configuration ports 0xcf8-0xcff for @bus, with the reset
 * control register 0xcf9 between CONFIG_ADDRESS and CONFIG_DATA.
 */
int pci_ports_create(struct device_host *host, struct pci_bus *bus,
		     struct device **out, struct err *e);

/*
 * The ACPI power button, pressed through @control: a pulse on interrupt
 * @gsi, which the DSDT gives its generic event device.
 */
int power_button_create(struct device_host *host, uint32_t gsi,
			struct device **out, struct power_control **control,
			struct err *e);

#endif
