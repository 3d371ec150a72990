/* SPDX-License-Identifier: MIT */
#ifndef BOOT_ARM64_BOOT_H
#define BOOT_ARM64_BOOT_H

#include <stdint.h>

#include "boot/arm64/fdt.h"
#include "boot/boot.h"

/* arm64's COMMAND_LINE_SIZE: the kernel keeps at most 2047 bytes. */
#define ARM64_CMDLINE_MAX 2047

/*
 * Where the boot vCPU starts (booting.rst): at the Image's first byte with
 * x0 holding the device tree's address, x1-x3 zero, in EL1 with
 * interrupts masked.
 */
struct arm64_boot_entry {
	uint64_t pc;
	uint64_t fdt;
	/* Where things landed, for logs and tests. */
	uint64_t kernel_start;
	uint64_t kernel_end;
	uint64_t initrd_start;
	uint64_t initrd_size;
};

/*
 * Loads the Image, the initrd and a device tree describing @machine into
 * @mem; the caller sets the platform's part (GIC version, UARTs, RTC), the
 * rest (vCPUs, RAM, virtio devices, /chosen) comes from @cfg and here. The
 * kernel near the start of RAM, the device tree in the last 2 MiB, the
 * initrd right below it. Fails with a message naming the file and reason.
 */
int arm64_boot_linux(struct guest_mem *mem, const struct boot_config *cfg,
		     struct fdt_machine *machine,
		     struct arm64_boot_entry *entry, struct err *e);

#endif
