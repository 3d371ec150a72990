/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_PCI_H
#define IMAGES_TESTGUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "bootinfo.h"
#include "check.h"

/*
 * PCI bus 0 as the test guest drives it, with testguest.pci=1: the "pci"
 * check and the hotplug agent (main.c), and the configuration accesses
 * the virtio-pci driver (virtio_pci.c) makes.
 *
 *   pci   MCFG is present and describes one ECAM window, which the e820
 *         map reserves and the host bridge's PCIEXBAR names; 00:00.0 is
 *         q35's MCH (8086:29c0, host bridge class); configuration
 *         mechanism #1 and ECAM read the same bytes from every function;
 *         BARs size to powers of two; with testguest.pci_devices=N, N
 *         functions besides the host bridge.
 */
#define TG_PCI_SLOTS 32

/* Through ECAM once the pci check found it, else through 0xcf8/0xcfc. */
uint32_t tg_pci_read(unsigned int slot, uint32_t reg, unsigned int len);
void tg_pci_write(unsigned int slot, uint32_t reg, unsigned int len,
		  uint32_t val);

void tg_pci_check(const struct bootinfo *bi, struct check *c);

/*
 * testguest.hotplug=eject or =refuse: plays an OS's ACPI hotplug handler
 * forever. It reads the hotplug registers (the DSDT's PCIU and PCID) as
 * PCNT would, prints "HOTPLUG added slot N VVVV:DDDD" for a new device
 * and either ejects a slot the host asks for ("HOTPLUG ejected slot N",
 * a write to B0EJ as _EJ0 does) or refuses it ("HOTPLUG refused slot N",
 * an _OST answer of "device busy").
 */
void tg_pci_hotplug_loop(bool refuse) __attribute__((noreturn));

#endif
