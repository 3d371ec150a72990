// SPDX-License-Identifier: MIT
#include "mptable.h"

#include <string.h>

#include "boot/x86/acpi.h"
#include "boot/x86/checksum.h"
#include "vmm/arch/x86/layout.h"

/* The MP table may use the EBDA and the legacy hole up to the ACPI tables. */
#define MP_AREA_SIZE (LAYOUT_ACPI - LAYOUT_EBDA)

#define LAPIC_VERSION 0x14 /* integrated APIC, as KVM's LAPIC reports */
#define IOAPIC_VERSION 0x11 /* KVM's IOAPIC */
#define MP_IOAPIC_ENABLED 0x01
/* Family 6 signature, FPU and on-chip APIC feature bits. */
#define CPU_SIGNATURE 0x600
#define CPU_FEATURES 0x201
#define LINT_ALL_APICS 0xff

static size_t nr_entries(unsigned int nr_cpus)
{
	/* processors, ISA bus, IOAPIC, its pins' IRQs, LINT0 and LINT1 */
	return nr_cpus + 1 + 1 + MP_NR_IO_INTERRUPTS + 2;
}

size_t mptable_size(unsigned int nr_cpus)
{
	return MP_FLOAT_SIZE + MP_CONFIG_HEADER_SIZE +
	       nr_cpus * MP_PROCESSOR_SIZE +
	       (nr_entries(nr_cpus) - nr_cpus) * MP_OTHER_ENTRY_SIZE;
}

static uint8_t *processor(uint8_t *p, unsigned int id)
{
	memset(p, 0, MP_PROCESSOR_SIZE);
	p[0] = MP_ENTRY_PROCESSOR;
	p[1] = (uint8_t)id;
	p[2] = LAPIC_VERSION;
	p[3] = MP_CPU_ENABLED | (id == 0 ? MP_CPU_BSP : 0);
	put_le32(p + 4, CPU_SIGNATURE);
	put_le32(p + 8, CPU_FEATURES);
	return p + MP_PROCESSOR_SIZE;
}

/* I/O or local interrupt assignment: @dst is an IOAPIC ID or APIC ID. */
static uint8_t *interrupt(uint8_t *p, uint8_t entry, uint8_t type,
			  uint8_t src_irq, uint8_t dst, uint8_t dst_pin)
{
	p[0] = entry;
	p[1] = type;
	/*
	 * Polarity and trigger conform to the bus: ISA's active high, edge,
	 * what the devices send (an irqfd pulse per interrupt).
	 */
	put_le16(p + 2, 0);
	p[4] = 0;           /* source bus: ISA */
	p[5] = src_irq;
	p[6] = dst;
	p[7] = dst_pin;
	return p + MP_OTHER_ENTRY_SIZE;
}

static uint8_t *entries(uint8_t *p, unsigned int nr_cpus)
{
	for (unsigned int i = 0; i < nr_cpus; i++)
		p = processor(p, i);

	p[0] = MP_ENTRY_BUS;
	p[1] = 0;
	memcpy(p + 2, "ISA   ", 6);
	p += MP_OTHER_ENTRY_SIZE;

	p[0] = MP_ENTRY_IOAPIC;
	p[1] = ACPI_IOAPIC_ID;
	p[2] = IOAPIC_VERSION;
	p[3] = MP_IOAPIC_ENABLED;
	put_le32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	p += MP_OTHER_ENTRY_SIZE;

	/*
	 * IRQ n on IOAPIC pin n, but the PIT's IRQ 0 on pin 2; IRQ 2 is the
	 * 8259 cascade and reaches no pin. Pins from 16 on carry what the
	 * VMM's interrupt allocator hands out past the ISA lines (virtio-mmio
	 * devices from the sixth on): without an entry a kernel that reads
	 * this table (acpi=off) has no IRQ for them, and the IRQ number of
	 * their virtio_mmio.device= entries names nothing.
	 */
	for (uint8_t irq = 0; irq < MP_NR_IOAPIC_PINS; irq++) {
		if (irq == 2)
			continue;
		p = interrupt(p, MP_ENTRY_IOINT, MP_INT_TYPE_INT, irq,
			      ACPI_IOAPIC_ID, irq == 0 ? 2 : irq);
	}
	p = interrupt(p, MP_ENTRY_LOCALINT, MP_INT_TYPE_EXTINT, 0,
		      LINT_ALL_APICS, 0);
	return interrupt(p, MP_ENTRY_LOCALINT, MP_INT_TYPE_NMI, 0,
			 LINT_ALL_APICS, 1);
}

static void config_header(uint8_t *c, unsigned int nr_cpus, size_t len)
{
	memcpy(c, "PCMP", 4);
	put_le16(c + 4, (uint16_t)len);
	c[6] = MP_SPEC_REV;
	c[7] = 0;
	memcpy(c + 8, "VMMVMM  ", 8);      /* OEM ID */
	memcpy(c + 16, "VMM MICROVM ", 12); /* product ID */
	put_le32(c + 28, 0);               /* no OEM table */
	put_le16(c + 32, 0);
	put_le16(c + 34, (uint16_t)nr_entries(nr_cpus));
	put_le32(c + 36, (uint32_t)LAYOUT_LAPIC);
	put_le16(c + 40, 0); /* no extended table */
	c[42] = 0;
	c[43] = 0;
	c[7] = checksum8(c, len);
}

static void floating_pointer(uint8_t *f)
{
	memcpy(f, "_MP_", 4);
	put_le32(f + 4, (uint32_t)(LAYOUT_EBDA + MP_FLOAT_SIZE));
	f[8] = 1; /* length in 16-byte units */
	f[9] = MP_SPEC_REV;
	f[10] = 0;
	/* Feature bytes 0: a configuration table exists, virtual wire mode. */
	memset(f + 11, 0, 5);
	f[10] = checksum8(f, MP_FLOAT_SIZE);
}

int mptable_build(const struct guest_mem *mem, unsigned int nr_cpus,
		  struct err *e)
{
	size_t size = mptable_size(nr_cpus);
	uint8_t *t, *end;

	if (nr_cpus < 1 || nr_cpus > BOOT_MAX_CPUS)
		return err_set(e, "%u vCPUs: the MP table describes 1 to %u",
			       nr_cpus, BOOT_MAX_CPUS);
	if (size > MP_AREA_SIZE)
		return err_set(e, "MP table for %u vCPUs (%zu bytes) does not fit below the ACPI tables",
			       nr_cpus, size);
	t = guest_mem_ptr(mem, LAYOUT_EBDA, size);
	if (!t)
		return err_set(e, "MP table at 0x%llx is outside guest RAM", LAYOUT_EBDA);
	end = entries(t + MP_FLOAT_SIZE + MP_CONFIG_HEADER_SIZE, nr_cpus);
	config_header(t + MP_FLOAT_SIZE, nr_cpus,
		      (size_t)(end - t) - MP_FLOAT_SIZE);
	floating_pointer(t);
	return 0;
}
