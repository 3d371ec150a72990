/* SPDX-License-Identifier: MIT */
#ifndef BOOT_ACPI_H
#define BOOT_ACPI_H

#include "boot/x86/boot.h"

#define ACPI_OEM_ID "VMMVMM"
#define ACPI_CREATOR_ID "VMM "
#define ACPI_TABLE_HEADER_SIZE 36
#define ACPI_RSDP_SIZE 36
#define ACPI_FADT_SIZE 276
#define ACPI_FADT_REVISION 6
#define ACPI_FADT_F_RESET_REG_SUP (1U << 10)
#define ACPI_FADT_F_HW_REDUCED (1U << 20)
#define ACPI_MADT_PCAT_COMPAT 1U
#define ACPI_VIRTIO_MMIO_HID "LNRO0005"
#define ACPI_MCFG_SIZE 60 /* header, reserved, one allocation */
#define ACPI_GED_HID "ACPI0013"
/* IOAPIC ID in the MADT and the MP table: KVM's IOAPIC resets to 0. */
#define ACPI_IOAPIC_ID 0
/* Pins of the IOAPIC, hence the highest GSI + 1 a device may use. */
#define ACPI_IOAPIC_PINS 24

#define ACPI_SERIAL_HID "PNP0501"
/* COM1-COM4. */
#define ACPI_SERIAL_MAX 4

/*
 * Where the tables lie in the ACPI area, for loaders that move them: the
 * RSDP, the XSDT (its entries follow the header, 8 bytes each) and the
 * FADT; and the pointer fields in them.
 */
#define ACPI_AREA_RSDP 0x00
#define ACPI_AREA_XSDT 0x40
#define ACPI_AREA_FADT 0x80
#define ACPI_RSDP_XSDT 24   /* XsdtAddress, 8 bytes */
#define ACPI_FADT_DSDT 40   /* DSDT, 4 bytes */
#define ACPI_FADT_X_DSDT 140 /* X_DSDT, 8 bytes */

/*
 * The tables of an area built for guest address @base: @len bytes at
 * @data (malloc()ed), the XSDT listing @nr_xsdt_entries tables.
 */
struct acpi_area {
	uint8_t *data;
	size_t len;
	unsigned int nr_xsdt_entries;
};

/*
 * Builds RSDP, XSDT, FADT, MADT and DSDT as they are at guest address
 * @base, for @cfg's vCPUs (APIC IDs 0..nr_cpus-1), UARTs, virtio-mmio
 * windows, power button and, with a PCI bus, the MCFG table and the host
 * bridge in the DSDT (acpi_pci.c). Fails when a device or window is not describable or
 * the tables outgrow the area (LAYOUT_ACPI to LAYOUT_ACPI_END).
 */
int acpi_build_area(uint64_t base, const struct boot_config *cfg,
		    struct acpi_area *out, struct err *e);

/*
 * Builds the area for LAYOUT_ACPI with @cfg's vCPUs and devices and
 * writes it there; returns the RSDP's address in @rsdp.
 */
int acpi_build(const struct guest_mem *mem, const struct boot_config *cfg,
	       uint64_t *rsdp, struct err *e);

/*
 * The PCI parts of the DSDT, inside \_SB (acpi_pci.c): the host bridge
 * PCI0 with its resources, _PRT and hotplug slots, the motherboard
 * resource that reserves ECAM, and the generic event device that raises
 * hotplug notifications.
 */
struct aml;
void acpi_pci_dsdt(struct aml *a, const struct boot_pci *pci);
/* Checks that @pci can be described; -1 with @e saying why. */
int acpi_pci_check(const struct boot_pci *pci, struct err *e);

#endif
