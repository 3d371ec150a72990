/* SPDX-License-Identifier: MIT */
#ifndef BOOT_MPTABLE_H
#define BOOT_MPTABLE_H

#include "boot/x86/boot.h"
#include "vmm/arch/x86/layout.h"

/* Intel MultiProcessor Specification 1.4 structures. */
#define MP_FLOAT_SIZE 16
#define MP_CONFIG_HEADER_SIZE 44
#define MP_SPEC_REV 4
#define MP_ENTRY_PROCESSOR 0
#define MP_ENTRY_BUS 1
#define MP_ENTRY_IOAPIC 2
#define MP_ENTRY_IOINT 3
#define MP_ENTRY_LOCALINT 4
#define MP_PROCESSOR_SIZE 20
#define MP_OTHER_ENTRY_SIZE 8
#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
#define MP_INT_TYPE_INT 0
#define MP_INT_TYPE_NMI 1
#define MP_INT_TYPE_EXTINT 3
/*
 * IRQs through the IOAPIC: one on each pin but pin 0, as the PIT's IRQ 0
 * is on pin 2 and IRQ 2, the 8259 cascade, on none.
 */
#define MP_NR_IOAPIC_PINS LAYOUT_NR_GSI
#define MP_NR_IO_INTERRUPTS (MP_NR_IOAPIC_PINS - 1)

/* Bytes of the whole MP table (floating pointer + configuration table). */
size_t mptable_size(unsigned int nr_cpus);

/*
 * Writes the MP floating pointer at LAYOUT_EBDA and the configuration table
 * right after it: @nr_cpus processors (APIC IDs 0..nr_cpus-1, CPU 0 the
 * BSP), the ISA bus, the IOAPIC, an IRQ on each of its pins and LINT0/LINT1.
 */
int mptable_build(const struct guest_mem *mem, unsigned int nr_cpus,
		  struct err *e);

#endif
