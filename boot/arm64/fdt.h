/* SPDX-License-Identifier: MIT */
#ifndef BOOT_ARM64_FDT_H
#define BOOT_ARM64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "lib/util.h"

/* booting.rst: the device tree may not exceed 2 MiB. */
#define FDT_MAX_SIZE (2ULL << 20)
/* The phandles the tree hands out. */
#define FDT_PHANDLE_GIC 1
#define FDT_PHANDLE_APB_CLOCK 2
/* UARTs a tree can describe: COM1-COM4. */
#define FDT_MAX_UARTS 4
/* Random bytes the kernel seeds its pool (rng-seed) and KASLR with. */
#define FDT_SEED_SIZE 40

/*
 * The machine the device tree describes. The fixed addresses and lines
 * (GIC, UARTs, RTC) are those of vmm/arch/arm64/layout.h.
 */
struct fdt_machine {
	unsigned int nr_cpus;
	uint64_t ram_base;
	uint64_t ram_size;
	unsigned int gic_version; /* 2 or 3 */
	unsigned int uarts;       /* bit n: COM(n+1) exists */
	bool rtc;
	unsigned int nr_mmio;
	const struct boot_mmio_device *mmio;
	/* /chosen */
	const char *cmdline;
	uint64_t initrd_start;
	uint64_t initrd_size; /* 0: no initrd */
	uint8_t seed[FDT_SEED_SIZE];
};

/*
 * Writes the flattened device tree of @m into @buf (@size bytes), with
 * libfdt: memory, cpus, psci, the GIC, the timer, the UARTs, the RTC, the
 * virtio-mmio devices and /chosen. Fails when the tree does not fit or
 * the machine cannot be described (vCPUs the GIC cannot address).
 */
int arm64_fdt_build(void *buf, size_t size, const struct fdt_machine *m,
		    struct err *e);

/* The UART node's path ("/serial@b000000"), for stdout-path. */
void arm64_fdt_uart_path(unsigned int index, char *buf, size_t len);

#endif
