// SPDX-License-Identifier: MIT
#include "acpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86/aml.h"
#include "boot/x86/checksum.h"
#include "vmm/arch/x86/layout.h"

#define ACPI_AREA_SIZE (LAYOUT_ACPI_END - LAYOUT_ACPI)

/* Offsets in the ACPI area; the RSDP first, where the legacy scan looks. */
#define RSDP_OFF ACPI_AREA_RSDP
#define XSDT_OFF ACPI_AREA_XSDT
#define FADT_OFF ACPI_AREA_FADT
#define MADT_OFF ALIGN_UP(FADT_OFF + ACPI_FADT_SIZE, 16)
#define XSDT_MAX_ENTRIES 3

/* FADT fields (ACPI 6.0 table 5-34). */
#define FADT_DSDT ACPI_FADT_DSDT
#define FADT_SCI_INT 46
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT ACPI_FADT_X_DSDT
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG 256
#define FADT_HYPERVISOR_ID 268
/* No VGA, no MSI without PCI, no CMOS RTC; 8042 not announced. */
#define IAPC_VGA_NOT_PRESENT (1U << 2)
#define IAPC_MSI_NOT_SUPPORTED (1U << 3)
#define IAPC_CMOS_RTC_NOT_PRESENT (1U << 5)

#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

#define MADT_REVISION 5
#define MADT_LAPIC 0
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC 1
#define MADT_IOAPIC_LEN 12
#define MADT_ISO 2
#define MADT_ISO_LEN 10
#define MADT_LAPIC_NMI 4
#define MADT_LAPIC_NMI_LEN 6
#define MADT_LAPIC_ENABLED 1U
#define MADT_ALL_PROCESSORS 0xff

#define DSDT_REVISION 2 /* 64-bit AML integers */

#define MCFG_ALLOCATION 44 /* after the header and 8 reserved bytes */
/* The I/O ports a 16550A decodes. */
#define SERIAL_PORTS 8

/* The power button's notification: "button pressed" (ACPI 6.0, 4.8.2.2.1.3). */
#define NOTIFY_BUTTON_PRESSED 0x80

static void table_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put_le32(t + 4, len);
	t[8] = rev;
	t[9] = 0;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	/* OEM table ID: "VMM" and the signature, space padded. */
	memcpy(t + 16, "VMM", 3);
	memcpy(t + 19, sig, 4);
	t[23] = ' ';
	put_le32(t + 24, 1);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put_le32(t + 32, 1);
}

static void table_finish(uint8_t *t)
{
	uint32_t len = get_le32(t + 4);

	t[9] = 0;
	t[9] = checksum8(t, len);
}

static void gas_io(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8; /* register width in bits */
	p[2] = 0;
	p[3] = GAS_ACCESS_BYTE;
	put_le64(p + 4, port);
}

static void build_rsdp(uint8_t *area, uint64_t base)
{
	uint8_t *r = area + RSDP_OFF;

	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, ACPI_OEM_ID, 6);
	r[15] = 2; /* ACPI 2.0+: the XSDT is used, no RSDT */
	put_le32(r + 16, 0);
	put_le32(r + 20, ACPI_RSDP_SIZE);
	put_le64(r + ACPI_RSDP_XSDT, base + XSDT_OFF);
	r[8] = checksum8(r, 20);
	r[32] = checksum8(r, ACPI_RSDP_SIZE);
}

/* The XSDT lists the FADT, then the tables at @off (0: absent). */
static void build_xsdt(uint8_t *area, uint64_t base, const size_t *off,
		       unsigned int n)
{
	uint8_t *t = area + XSDT_OFF, *p = t + ACPI_TABLE_HEADER_SIZE;
	unsigned int nr = 1;

	put_le64(p, base + FADT_OFF);
	for (unsigned int i = 0; i < n; i++)
		if (off[i])
			put_le64(p + 8 * nr++, base + off[i]);
	table_header(t, "XSDT", ACPI_TABLE_HEADER_SIZE + 8 * nr, 1);
	table_finish(t);
}

static void build_fadt(uint8_t *area, uint64_t dsdt, bool msi)
{
	uint8_t *t = area + FADT_OFF;

	table_header(t, "FACP", ACPI_FADT_SIZE, ACPI_FADT_REVISION);
	put_le32(t + FADT_DSDT, (uint32_t)dsdt);
	put_le64(t + FADT_X_DSDT, dsdt);
	put_le16(t + FADT_SCI_INT, LAYOUT_IRQ_ACPI_SCI);
	put_le16(t + FADT_IAPC_BOOT_ARCH,
		 IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT |
		 (msi ? 0 : IAPC_MSI_NOT_SUPPORTED));
	put_le32(t + FADT_FLAGS, ACPI_FADT_F_HW_REDUCED | ACPI_FADT_F_RESET_REG_SUP);
	gas_io(t + FADT_RESET_REG, LAYOUT_PORT_ACPI_RESET);
	t[FADT_RESET_VALUE] = LAYOUT_ACPI_RESET_VALUE;
	t[FADT_MINOR_VERSION] = 0;
	gas_io(t + FADT_SLEEP_CONTROL_REG, LAYOUT_PORT_ACPI_SLEEP_CTL);
	gas_io(t + FADT_SLEEP_STATUS_REG, LAYOUT_PORT_ACPI_SLEEP_STS);
	memcpy(t + FADT_HYPERVISOR_ID, "VMMVMM\0\0", 8);
	table_finish(t);
}

static size_t madt_size(unsigned int nr_cpus)
{
	return ACPI_TABLE_HEADER_SIZE + 8 + nr_cpus * MADT_LAPIC_LEN +
	       MADT_IOAPIC_LEN + MADT_ISO_LEN + MADT_LAPIC_NMI_LEN;
}

static void build_madt(uint8_t *t, unsigned int nr_cpus)
{
	uint8_t *p = t + ACPI_TABLE_HEADER_SIZE;

	table_header(t, "APIC", (uint32_t)madt_size(nr_cpus), MADT_REVISION);
	put_le32(p, (uint32_t)LAYOUT_LAPIC);
	put_le32(p + 4, ACPI_MADT_PCAT_COMPAT);
	p += 8;
	for (unsigned int i = 0; i < nr_cpus; i++, p += MADT_LAPIC_LEN) {
		p[0] = MADT_LAPIC;
		p[1] = MADT_LAPIC_LEN;
		p[2] = (uint8_t)i; /* ACPI processor UID */
		p[3] = (uint8_t)i; /* APIC ID */
		put_le32(p + 4, MADT_LAPIC_ENABLED);
	}
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = ACPI_IOAPIC_ID;
	p[3] = 0;
	put_le32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	put_le32(p + 8, 0); /* GSI base */
	p += MADT_IOAPIC_LEN;
	/* The PIT's IRQ 0 arrives on IOAPIC pin 2, as on every PC. */
	p[0] = MADT_ISO;
	p[1] = MADT_ISO_LEN;
	p[2] = 0; /* ISA */
	p[3] = 0; /* IRQ 0 */
	put_le32(p + 4, 2);
	put_le16(p + 8, 0); /* conforms to the bus: edge, active high */
	p += MADT_ISO_LEN;
	/* NMI on LINT1 of every processor, like the MP table says. */
	p[0] = MADT_LAPIC_NMI;
	p[1] = MADT_LAPIC_NMI_LEN;
	p[2] = MADT_ALL_PROCESSORS;
	put_le16(p + 3, 0);
	p[5] = 1; /* LINT1 */
	table_finish(t);
}

/* MCFG: one ECAM allocation for segment 0, buses 0 to the window's last. */
static void build_mcfg(uint8_t *t, const struct boot_pci *pci)
{
	uint8_t *p = t + MCFG_ALLOCATION;

	table_header(t, "MCFG", ACPI_MCFG_SIZE, 1);
	put_le64(p, pci->ecam_base);
	put_le16(p + 8, 0);
	p[10] = 0;
	p[11] = (uint8_t)((pci->ecam_size >> 20) - 1);
	table_finish(t);
}

static void build_dsdt_device(struct aml *a, const char *name, const char *hid,
			      uint64_t uid, struct aml_res *crs)
{
	size_t dev = aml_device_begin(a, name);

	aml_name(a, "_HID");
	aml_string(a, hid);
	aml_name(a, "_UID");
	aml_integer(a, uid);
	aml_name_resources(a, "_CRS", crs);
	aml_end(a, dev);
}

/*
 * A UART's ports and its ISA IRQ. Announcing it is what makes Linux map
 * the IRQ under hardware-reduced ACPI, where no legacy IRQ is premapped:
 * the legacy 8250 probe alone leaves ttyS0 without an interrupt, and
 * opening it fails.
 */
static void build_dsdt_serial(struct aml *a, const struct boot_serial_port *s)
{
	struct aml_res crs;
	char name[8];

	snprintf(name, sizeof(name), "COM%u", s->index % 10);
	aml_res_init(&crs);
	aml_res_io(&crs, (uint16_t)s->base, SERIAL_PORTS);
	aml_res_isa_irq_shared(&crs, (uint8_t)s->gsi);
	build_dsdt_device(a, name, ACPI_SERIAL_HID, s->index, &crs);
}

/*
 * A hardware-reduced machine has no fixed power button: a control-method
 * button, and a generic event device whose interrupt notifies it.
 *
 *   Device (PWRB) { _HID PNP0C0C }
 *   Device (PGED) { _HID ACPI0013, _CRS Interrupt {gsi},
 *                   Method (_EVT, 1) { Notify (\_SB.PWRB, 0x80) } }
 */
static void build_power_button(struct aml *a, uint32_t gsi)
{
	struct aml_res crs;
	size_t dev, m;

	dev = aml_device_begin(a, "PWRB");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C0C");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_end(a, dev);

	dev = aml_device_begin(a, "PGED");
	aml_name(a, "_HID");
	aml_string(a, ACPI_GED_HID);
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_res_init(&crs);
	aml_res_irq(&crs, gsi, true, false);
	aml_name_resources(a, "_CRS", &crs);
	m = aml_method_begin(a, "_EVT", 1, false);
	aml_byte(a, AML_NOTIFY_OP);
	aml_name_string(a, "\\_SB_.PWRB");
	aml_integer(a, NOTIFY_BUTTON_PRESSED);
	aml_end(a, m);
	aml_end(a, dev);
}

static void build_dsdt_body(struct aml *a, const struct boot_config *cfg)
{
	size_t pkg, scope;

	/* \_S5: the SLP_TYP values for power-off (PM1a, PM1b, reserved). */
	aml_name(a, "\\_S5_");
	pkg = aml_package_begin(a, 4);
	aml_integer(a, LAYOUT_ACPI_S5_TYPE);
	aml_integer(a, LAYOUT_ACPI_S5_TYPE);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);

	scope = aml_scope_begin(a, "\\_SB_");
	for (unsigned int i = 0; i < cfg->nr_serial; i++)
		build_dsdt_serial(a, &cfg->serial[i]);
	for (unsigned int i = 0; i < cfg->nr_mmio; i++) {
		struct aml_res crs;
		char name[8];

		snprintf(name, sizeof(name), "V%03X", i & 0xfff);
		aml_res_init(&crs);
		aml_res_mem32_fixed(&crs, (uint32_t)cfg->mmio[i].base,
				    (uint32_t)cfg->mmio[i].size);
		aml_res_irq(&crs, cfg->mmio[i].gsi, true, false);
		build_dsdt_device(a, name, ACPI_VIRTIO_MMIO_HID, i, &crs);
	}
	if (cfg->pci)
		acpi_pci_dsdt(a, cfg->pci);
	if (cfg->power_button_gsi)
		build_power_button(a, cfg->power_button_gsi);
	aml_end(a, scope);
}

static int check_serial(const struct boot_serial_port *serial,
			unsigned int nr_serial, struct err *e)
{
	if (nr_serial > ACPI_SERIAL_MAX)
		return err_set(e, "%u serial ports: the DSDT describes at most %u",
			       nr_serial, ACPI_SERIAL_MAX);
	for (unsigned int i = 0; i < nr_serial; i++) {
		const struct boot_serial_port *s = &serial[i];

		if (s->index < 1 || s->index > ACPI_SERIAL_MAX || s->gsi > 15 ||
		    s->base > UINT16_MAX - SERIAL_PORTS + 1)
			return err_set(e, "serial port %u: COM%u at port 0x%llx on ISA IRQ %u is not describable (COM1-COM4, I/O ports, IRQ 0-15)",
				       i, s->index, (unsigned long long)s->base,
				       s->gsi);
	}
	return 0;
}

static int check_mmio(const struct boot_mmio_device *mmio, unsigned int nr_mmio,
		      struct err *e)
{
	if (nr_mmio > LAYOUT_VIRTIO_MMIO_MAX)
		return err_set(e, "%u virtio-mmio devices: the DSDT describes at most %u",
			       nr_mmio, LAYOUT_VIRTIO_MMIO_MAX);
	for (unsigned int i = 0; i < nr_mmio; i++) {
		const struct boot_mmio_device *d = &mmio[i];

		if (d->size == 0 || !range_ok(d->base, d->size, 4 * GiB))
			return err_set(e, "virtio-mmio device %u: window of 0x%llx bytes at 0x%llx is empty or not below 4 GiB",
				       i, (unsigned long long)d->size,
				       (unsigned long long)d->base);
		if (d->gsi >= ACPI_IOAPIC_PINS)
			return err_set(e, "virtio-mmio device %u: GSI %u is beyond the IOAPIC's %u pins",
				       i, d->gsi, ACPI_IOAPIC_PINS);
	}
	return 0;
}

int acpi_build_area(uint64_t base, const struct boot_config *cfg,
		    struct acpi_area *out, struct err *e)
{
	const struct boot_pci *pci = cfg->pci;
	unsigned int nr_cpus = cfg->nr_cpus;
	size_t madt_end = MADT_OFF + madt_size(nr_cpus);
	size_t mcfg_off = pci ? ALIGN_UP(madt_end, 16) : 0;
	size_t dsdt_off = ALIGN_UP(pci ? mcfg_off + ACPI_MCFG_SIZE : madt_end,
				   16);
	size_t tables[XSDT_MAX_ENTRIES - 1] = { MADT_OFF, mcfg_off };
	uint8_t *area;
	struct aml a;

	if (nr_cpus < 1 || nr_cpus > BOOT_MAX_CPUS)
		return err_set(e, "%u vCPUs: the MADT describes 1 to %u", nr_cpus,
			       BOOT_MAX_CPUS);
	if (check_serial(cfg->serial, cfg->nr_serial, e) < 0 ||
	    check_mmio(cfg->mmio, cfg->nr_mmio, e) < 0 ||
	    (pci && acpi_pci_check(pci, e) < 0))
		return -1;
	if (cfg->power_button_gsi >= ACPI_IOAPIC_PINS)
		return err_set(e, "ACPI power button: GSI %u is beyond the IOAPIC's %u pins",
			       cfg->power_button_gsi, ACPI_IOAPIC_PINS);
	if (dsdt_off + ACPI_TABLE_HEADER_SIZE > ACPI_AREA_SIZE)
		goto too_big;
	area = calloc(1, ACPI_AREA_SIZE);
	if (!area)
		return err_set(e, "out of memory for the ACPI tables");

	aml_init(&a, area + dsdt_off + ACPI_TABLE_HEADER_SIZE,
		 ACPI_AREA_SIZE - dsdt_off - ACPI_TABLE_HEADER_SIZE);
	build_dsdt_body(&a, cfg);
	if (a.overflow) {
		free(area);
		goto too_big;
	}
	table_header(area + dsdt_off, "DSDT",
		     (uint32_t)(ACPI_TABLE_HEADER_SIZE + a.len), DSDT_REVISION);
	table_finish(area + dsdt_off);
	build_madt(area + MADT_OFF, nr_cpus);
	if (pci)
		build_mcfg(area + mcfg_off, pci);
	build_fadt(area, base + dsdt_off, pci != NULL);
	build_xsdt(area, base, tables, ARRAY_SIZE(tables));
	build_rsdp(area, base);
	*out = (struct acpi_area){
		.data = area,
		.len = dsdt_off + ACPI_TABLE_HEADER_SIZE + a.len,
		.nr_xsdt_entries = pci ? 3 : 2,
	};
	return 0;
too_big:
	return err_set(e, "ACPI tables for %u vCPUs and %u virtio-mmio devices%s do not fit in the %llu KiB at 0x%llx",
		       nr_cpus, cfg->nr_mmio, pci ? " and PCI" : "",
		       ACPI_AREA_SIZE / KiB, LAYOUT_ACPI);
}

int acpi_build(const struct guest_mem *mem, const struct boot_config *cfg,
	       uint64_t *rsdp, struct err *e)
{
	uint8_t *guest = guest_mem_ptr(mem, LAYOUT_ACPI, ACPI_AREA_SIZE);
	struct acpi_area area;

	if (!guest)
		return err_set(e, "ACPI area at 0x%llx is outside guest RAM", LAYOUT_ACPI);
	/* Built aside so a failure leaves guest memory untouched. */
	if (acpi_build_area(LAYOUT_ACPI, cfg, &area, e) < 0)
		return -1;
	memcpy(guest, area.data, area.len);
	free(area.data);
	*rsdp = LAYOUT_ACPI + RSDP_OFF;
	return 0;
}
