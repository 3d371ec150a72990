/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_X86_ICH9_LPC_H
#define DEVICES_X86_ICH9_LPC_H

#include "vmm/device.h"

struct pci_bus;

/* PCI slot of the LPC bridge: 00:1f.0, as on q35. */
#define ICH9_LPC_SLOT 31

/*
 * The ICH9 LPC bridge in slot 31 of @bus, with the ACPI PM1a control
 * register (soft-off) and PM timer it decodes once the guest sets PMBASE to
 * @pm_base and ACPI_EN (ich9_lpc.c).
 */
int ich9_lpc_create(struct device_host *host, struct pci_bus *bus,
		    uint16_t pm_base, struct device **out, struct err *e);

#endif
