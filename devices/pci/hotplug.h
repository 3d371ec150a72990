/* SPDX-License-Identifier: MIT */
#ifndef DEVICES_PCI_HOTPLUG_H
#define DEVICES_PCI_HOTPLUG_H

#include <stdint.h>

#include "pci.h"

/*
 * ACPI PCI hotplug for bus 0, the guest side of what Linux's acpiphp
 * drives (docs/pci.md). Four 32-bit registers in I/O space, which the
 * DSDT's PCI0.PCST field names (boot/x86/acpi_pci.c):
 *
 *   0x0 PCIU  read: slots the guest should check for a new device; the
 *             read clears them
 *   0x4 PCID  read: slots the host asks the guest to eject; cleared too
 *   0x8 B0EJ  write: the guest ejected these slots (_EJ0): their
 *             functions leave the bus at once
 *   0xc OSTR  write: the guest's _OST answer: slot | event << 8 |
 *             status << 16
 *
 * A new bit in PCIU or PCID pulses the generic event device's interrupt,
 * whose _EVT runs PCI0.PCNT to notify the slots.
 */

#define PCI_HOTPLUG_PCIU 0x0
#define PCI_HOTPLUG_PCID 0x4
#define PCI_HOTPLUG_B0EJ 0x8
#define PCI_HOTPLUG_OSTR 0xc
#define PCI_HOTPLUG_REGS 16

/* _OST's events and the status meaning "done" (ACPI 6.0, 6.3.5). */
#define PCI_HOTPLUG_EVENT_CHECK 1
#define PCI_HOTPLUG_EVENT_EJECT 3
#define PCI_HOTPLUG_OST_SUCCESS 0

struct pci_hotplug;

/*
 * The end of an eject request, on the event loop: @e is NULL once the
 * guest ejected the slot (the owner's ejected() ran first), else it says
 * why not (the guest refused, did not answer, or the VM went away).
 */
typedef void (*pci_hotplug_done_fn)(void *ctx, const struct err *e);

struct pci_hotplug_ops {
	/*
	 * The guest ejected @slot, asked to or not. Its function is already
	 * off the bus; the owner frees the device. Event loop.
	 */
	void (*ejected)(void *opaque, unsigned int slot);
};

/*
 * Creates the controller for @bus: its registers at I/O port @port and
 * the edge-triggered interrupt @gsi. @dev is its lifecycle handle;
 * destroying it fails the requests still pending.
 */
int pci_hotplug_create(struct device_host *host, struct pci_bus *bus,
		       uint16_t port, uint32_t gsi,
		       const struct pci_hotplug_ops *ops, void *opaque,
		       struct pci_hotplug **out, struct device **dev,
		       struct err *e);

/*
 * Makes @slot's device fixed: the guest's eject of it is ignored (the DSDT
 * gives such slots no _EJ0 either). Before the guest runs.
 */
void pci_hotplug_pin(struct pci_hotplug *hp, unsigned int slot);

/* A function arrived in @slot: the guest is told to check it. Event loop. */
void pci_hotplug_added(struct pci_hotplug *hp, unsigned int slot);

/*
 * Asks the guest to eject @slot; @done runs once, on the event loop, when
 * it did, refused (_OST), or gave no answer within @timeout_ms. Fails at
 * once (and never calls @done) when the slot is empty or already has a
 * request pending. Event loop.
 */
int pci_hotplug_eject(struct pci_hotplug *hp, unsigned int slot,
		      unsigned int timeout_ms, pci_hotplug_done_fn done,
		      void *ctx, struct err *e);

#endif
