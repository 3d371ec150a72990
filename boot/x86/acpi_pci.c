// SPDX-License-Identifier: MIT
/*
 * The PCI host bridge in the DSDT, as Linux's pci_root and acpiphp drivers
 * read it (docs/pci.md):
 *
 *   Device (PCI0)  _HID PNP0A08, _CID PNP0A03; _CRS: bus 0, the
 *                  configuration ports, the I/O, 32-bit and 64-bit memory
 *                  apertures; _PRT: INTA#-INTD# of slots 1-31 on GSIs
 *                  16-23 (LAYOUT_PCI_INTX_GSI)
 *     PCST, PCIU/PCID/B0EJ/OSTR  the hotplug registers (I/O ports)
 *     PCNT ()      Notify (Snn, 1) for each slot PCIU names (check it: a
 *                  device arrived), Notify (Snn, 3) for each slot PCID
 *                  names (eject request)
 *     Device (Snn) _ADR, _SUN; _EJ0 writes the slot's bit to B0EJ; _OST
 *                  reports the guest's answer to OSTR. Only hotplug slots
 *                  (the empty ones and those of disks and NICs) have one:
 *                  a slot without _EJ0 is not ejectable.
 *   Device (MRES)  PNP0C02: reserves the ECAM window, as Linux requires
 *                  before it trusts MCFG
 *   Device (GED_) ACPI0013, the hardware-reduced generic event device:
 *                  its interrupt runs _EVT, which calls PCI0.PCNT
 */
#include "acpi.h"

#include <stdio.h>

#include "boot/x86/aml.h"
#include "vmm/arch/x86/layout.h"

#define PCI_SLOTS 32
#define INTX_PINS 4
#define NOTIFY_DEVICE_CHECK 1
#define NOTIFY_EJECT_REQUEST 3

/* The hotplug registers, in the order the field declares them. */
#define HOTPLUG_REGS 4

static void name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

static void host_bridge_crs(struct aml *a, const struct boot_pci *pci)
{
	struct aml_res r;

	aml_res_init(&r);
	aml_res_bus(&r, 0, 0);
	aml_res_io(&r, LAYOUT_PORT_PCI_CONFIG, 8);
	aml_res_io_window(&r, (uint16_t)pci->io_base,
			  (uint16_t)(pci->io_end - 1));
	aml_res_mem32_window(&r, (uint32_t)pci->mmio32_base,
			     (uint32_t)(pci->mmio32_end - 1));
	aml_res_mem64_window(&r, pci->mmio64_base, pci->mmio64_end - 1, true);
	aml_name_resources(a, "_CRS", &r);
}

/* Package () { Package () { 0xSSSSFFFF, pin, 0, GSI }, ... } */
static void host_bridge_prt(struct aml *a)
{
	size_t prt;

	aml_name(a, "_PRT");
	prt = aml_package_begin(a, (PCI_SLOTS - 1) * INTX_PINS);
	for (unsigned int slot = 1; slot < PCI_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < INTX_PINS; pin++) {
			size_t p = aml_package_begin(a, 4);

			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0); /* no link device: a GSI follows */
			aml_integer(a, LAYOUT_PCI_INTX_GSI(slot, pin));
			aml_end(a, p);
		}
	}
	aml_end(a, prt);
}

static void hotplug_registers(struct aml *a, const struct boot_pci *pci)
{
	size_t f;

	aml_op_region(a, "PCST", AML_SYSTEM_IO, pci->hotplug_port,
		      HOTPLUG_REGS * 4);
	f = aml_field_begin(a, "PCST",
			    AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml_field_unit(a, "PCIU", 32);
	aml_field_unit(a, "PCID", 32);
	aml_field_unit(a, "B0EJ", 32);
	aml_field_unit(a, "OSTR", 32);
	aml_end(a, f);
}

/* If (And (LocalN, bit)) { Notify (Snn, value) } */
static void notify_if(struct aml *a, unsigned int local, unsigned int slot,
		      const char *dev, unsigned int value)
{
	size_t i = aml_if_begin(a);

	aml_byte(a, AML_AND_OP);
	aml_local(a, local);
	aml_integer(a, 1ULL << slot);
	aml_byte(a, AML_NULL_NAME);
	aml_byte(a, AML_NOTIFY_OP);
	aml_name_string(a, dev);
	aml_integer(a, value);
	aml_end(a, i);
}

static void slot_name(unsigned int slot, char *buf, size_t len)
{
	snprintf(buf, len, "S%02X", slot);
}

/*
 * PCIU and PCID clear when read: each is read once, into Local0 and
 * Local1, and every slot tested against that.
 */
static void hotplug_scan_method(struct aml *a, const struct boot_pci *pci)
{
	size_t m = aml_method_begin(a, "PCNT", 0, true);
	char dev[8];

	aml_byte(a, AML_STORE_OP);
	aml_name_string(a, "PCIU");
	aml_local(a, 0);
	aml_byte(a, AML_STORE_OP);
	aml_name_string(a, "PCID");
	aml_local(a, 1);
	for (unsigned int slot = 1; slot < PCI_SLOTS; slot++) {
		if (!(pci->hotplug_slots & (1U << slot)))
			continue;
		slot_name(slot, dev, sizeof(dev));
		notify_if(a, 0, slot, dev, NOTIFY_DEVICE_CHECK);
		notify_if(a, 1, slot, dev, NOTIFY_EJECT_REQUEST);
	}
	aml_end(a, m);
}

/*
 * _OST (event, status, info): OSTR = slot | event << 8 | status << 16, so
 * the VMM learns in one write whether the guest ejected or refused.
 */
static void slot_ost(struct aml *a, unsigned int slot)
{
	size_t m = aml_method_begin(a, "_OST", 3, false);

	aml_byte(a, AML_STORE_OP);
	aml_byte(a, AML_OR_OP);
	aml_byte(a, AML_SHIFT_LEFT_OP);
	aml_arg(a, 1);
	aml_integer(a, 16);
	aml_byte(a, AML_NULL_NAME);
	aml_byte(a, AML_OR_OP);
	aml_byte(a, AML_SHIFT_LEFT_OP);
	aml_arg(a, 0);
	aml_integer(a, 8);
	aml_byte(a, AML_NULL_NAME);
	aml_integer(a, slot);
	aml_byte(a, AML_NULL_NAME);
	aml_byte(a, AML_NULL_NAME);
	aml_name_string(a, "OSTR");
	aml_end(a, m);
}

static void hotplug_slot(struct aml *a, unsigned int slot)
{
	char name[8];
	size_t dev, m;

	slot_name(slot, name, sizeof(name));
	dev = aml_device_begin(a, name);
	aml_name(a, "_ADR");
	aml_integer(a, (uint64_t)slot << 16);
	aml_name(a, "_SUN");
	aml_integer(a, slot);
	m = aml_method_begin(a, "_EJ0", 1, false);
	aml_byte(a, AML_STORE_OP);
	aml_integer(a, 1ULL << slot);
	aml_name_string(a, "B0EJ");
	aml_end(a, m);
	slot_ost(a, slot);
	aml_end(a, dev);
}

static void host_bridge(struct aml *a, const struct boot_pci *pci)
{
	size_t dev = aml_device_begin(a, "PCI0");

	name_eisaid(a, "_HID", "PNP0A08");
	name_eisaid(a, "_CID", "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	host_bridge_crs(a, pci);
	host_bridge_prt(a);
	if (pci->hotplug_port) {
		hotplug_registers(a, pci);
		hotplug_scan_method(a, pci);
		for (unsigned int slot = 1; slot < PCI_SLOTS; slot++)
			if (pci->hotplug_slots & (1U << slot))
				hotplug_slot(a, slot);
	}
	aml_end(a, dev);
}

/* The ECAM window, reserved as a motherboard resource. */
static void ecam_reservation(struct aml *a, const struct boot_pci *pci)
{
	size_t dev = aml_device_begin(a, "MRES");
	struct aml_res r;

	name_eisaid(a, "_HID", "PNP0C02");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_res_init(&r);
	aml_res_mem32_fixed(&r, (uint32_t)pci->ecam_base,
			    (uint32_t)pci->ecam_size);
	aml_name_resources(a, "_CRS", &r);
	aml_end(a, dev);
}

static void event_device(struct aml *a, const struct boot_pci *pci)
{
	size_t dev = aml_device_begin(a, "GED_"), m;
	struct aml_res r;

	aml_name(a, "_HID");
	aml_string(a, ACPI_GED_HID);
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_res_init(&r);
	aml_res_irq(&r, pci->hotplug_gsi, true, false);
	aml_name_resources(a, "_CRS", &r);
	m = aml_method_begin(a, "_EVT", 1, true);
	aml_name_string(a, "\\_SB_.PCI0.PCNT");
	aml_end(a, m);
	aml_end(a, dev);
}

void acpi_pci_dsdt(struct aml *a, const struct boot_pci *pci)
{
	host_bridge(a, pci);
	ecam_reservation(a, pci);
	if (pci->hotplug_port)
		event_device(a, pci);
}

int acpi_pci_check(const struct boot_pci *pci, struct err *e)
{
	if (!pci->ecam_size || pci->ecam_size % (1ULL << 20) ||
	    pci->ecam_size > (256ULL << 20) ||
	    !range_ok(pci->ecam_base, pci->ecam_size, 4 * GiB))
		return err_set(e, "PCI ECAM window of 0x%llx bytes at 0x%llx is not 1 to 256 buses below 4 GiB",
			       (unsigned long long)pci->ecam_size,
			       (unsigned long long)pci->ecam_base);
	if (pci->mmio32_base >= pci->mmio32_end ||
	    pci->mmio32_end > 4 * GiB ||
	    pci->mmio64_base >= pci->mmio64_end ||
	    pci->io_base >= pci->io_end || pci->io_end > 0x10000)
		return err_set(e, "PCI apertures [0x%llx, 0x%llx), [0x%llx, 0x%llx) and I/O [0x%x, 0x%x) cannot be described",
			       (unsigned long long)pci->mmio32_base,
			       (unsigned long long)pci->mmio32_end,
			       (unsigned long long)pci->mmio64_base,
			       (unsigned long long)pci->mmio64_end,
			       pci->io_base, pci->io_end);
	if (pci->hotplug_port && pci->hotplug_gsi >= ACPI_IOAPIC_PINS)
		return err_set(e, "PCI hotplug interrupt %u is beyond the IOAPIC's %u pins",
			       pci->hotplug_gsi, ACPI_IOAPIC_PINS);
	return 0;
}
