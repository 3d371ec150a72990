/* SPDX-License-Identifier: MIT */
#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

#include <stdint.h>

#include "vmm/memory.h"
#include "lib/util.h"

/*
 * What every architecture's kernel loader is told: the files, the command
 * line, the vCPUs and the virtio-mmio windows to describe (in the ACPI
 * DSDT on x86, in the device tree on arm64). The loaders themselves are in
 * boot/x86/ and boot/arm64/.
 */

/* A virtio-mmio window and its interrupt line, to announce to the guest. */
struct boot_mmio_device {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;
};

/*
 * A 16550A UART to announce (x86: a PNP0501 device in the DSDT, without
 * which Linux maps no interrupt for it under hardware-reduced ACPI).
 */
struct boot_serial_port {
	unsigned int index; /* COM1 = 1 */
	uint64_t base;
	uint32_t gsi;
};

/*
 * A PCI Express host bridge for the ACPI tables (MCFG, the DSDT's PCI0)
 * and the e820 map, which reserves its ECAM window.
 */
struct boot_pci {
	uint64_t ecam_base, ecam_size;
	uint64_t mmio32_base, mmio32_end;
	uint64_t mmio64_base, mmio64_end;
	uint32_t io_base, io_end;
	/*
	 * ACPI PCI hotplug (0: none): the register block, the GED's
	 * interrupt and the slots that take part (bit N: slot N).
	 */
	uint16_t hotplug_port;
	uint32_t hotplug_gsi;
	uint32_t hotplug_slots;
};

struct boot_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	const char *cmdline;     /* NULL: empty */
	unsigned int nr_cpus;
	unsigned int nr_serial;
	const struct boot_serial_port *serial;
	unsigned int nr_mmio;
	const struct boot_mmio_device *mmio;
	const struct boot_pci *pci; /* NULL: no PCI */
	/* x86: the ACPI power button's event interrupt (0: no button). */
	uint32_t power_button_gsi;
};

/* Largest kernel or initrd file the loaders read. */
#define BOOT_MAX_IMAGE (1ULL << 30)

#endif
