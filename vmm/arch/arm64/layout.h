/* SPDX-License-Identifier: MIT */
#ifndef VMM_ARCH_ARM64_LAYOUT_H
#define VMM_ARCH_ARM64_LAYOUT_H

/*
 * Guest-physical address map of an arm64 guest. Devices sit below 2 GiB,
 * RAM starts at 2 GiB (where kvmtool and Firecracker put it) and runs
 * contiguously from there; the device tree at the top of RAM describes it
 * all (boot/arm64/fdt.c).
 *
 *   0x08000000  GIC distributor (64 KiB)
 *   0x08010000  GICv2 CPU interface (8 KiB), when the host has no GICv3
 *   0x08100000  GICv3 redistributors, 128 KiB per vCPU (up to 0x0a0e0000)
 *   0x0b000000  16550A UARTs COM1-COM4, 4 KiB apart
 *   0x0b004000  PL031 real-time clock
 *   0x0c000000  virtio-mmio windows, 4 KiB each
 *   0x80000000  RAM: kernel, initrd, device tree
 *
 * Interrupt lines are GIC SPIs, numbered from 0 (SPI n is INTID 32 + n).
 * This header is plain data: the unit tests on any host read it.
 */
#define LAYOUT_GICD 0x08000000ULL
#define LAYOUT_GICD_SIZE 0x10000ULL
#define LAYOUT_GICC 0x08010000ULL
#define LAYOUT_GICC_SIZE 0x2000ULL
#define LAYOUT_GICR 0x08100000ULL
#define LAYOUT_GICR_SIZE_PER_CPU 0x20000ULL

#define LAYOUT_UART 0x0b000000ULL
#define LAYOUT_UART_SIZE 0x1000ULL
#define LAYOUT_RTC 0x0b004000ULL
#define LAYOUT_RTC_SIZE 0x1000ULL

#define LAYOUT_VIRTIO_MMIO 0x0c000000ULL /* one 4 KiB window per device */
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
#define LAYOUT_VIRTIO_MMIO_MAX 64

/* Everything below RAM is the MMIO hole. */
#define LAYOUT_MMIO_HOLE 0x0ULL
#define LAYOUT_MMIO_HOLE_END 0x80000000ULL
#define LAYOUT_RAM 0x80000000ULL

/* The smallest guest: a small kernel, its initrd and the device tree. */
#define LAYOUT_MIN_RAM (2ULL << 20)

/* SPIs of the platform devices; COMn is LAYOUT_IRQ_COM1 + n - 1. */
#define LAYOUT_IRQ_COM1 1
#define LAYOUT_IRQ_RTC 5
/* SPIs handed to virtio-mmio devices, in order of creation. */
#define LAYOUT_IRQ_VIRTIO_FIRST 16
#define LAYOUT_NR_GSI (LAYOUT_IRQ_VIRTIO_FIRST + LAYOUT_VIRTIO_MMIO_MAX)
/* Below LAYOUT_IRQ_VIRTIO_FIRST, so no virtio device is refused one. */
#define LAYOUT_IRQ_RESERVED 0ULL

/* The GIC's private interrupts: 16 SGIs and 16 PPIs before the SPIs. */
#define LAYOUT_GIC_NR_PRIVATE 32
/* The architected timer's PPIs (INTID - 16), as KVM wires them. */
#define LAYOUT_PPI_TIMER_SEC 13
#define LAYOUT_PPI_TIMER_PHYS 14
#define LAYOUT_PPI_TIMER_VIRT 11
#define LAYOUT_PPI_TIMER_HYP 10

/* vCPUs a GICv2 can address; a GICv3 takes what its redistributors hold. */
#define LAYOUT_GICV2_MAX_CPUS 8

#endif
