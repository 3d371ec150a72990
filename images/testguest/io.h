/* SPDX-License-Identifier: MIT */
#ifndef IMAGES_TESTGUEST_IO_H
#define IMAGES_TESTGUEST_IO_H

#include <stdint.h>

#include "vmm/arch/x86/layout.h"

static inline void outb(uint16_t port, uint8_t val)
{
	asm volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;

	asm volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline void outl(uint16_t port, uint32_t val)
{
	asm volatile("outl %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t val;

	asm volatile("inl %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t read_cr2(void)
{
	uint64_t val;

	asm volatile("mov %%cr2, %0" : "=r"(val));
	return val;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t val)
{
	*(volatile uint32_t *)(uintptr_t)addr = val;
}

/*
 * Guest-physical memory is identity-mapped below 4 GiB (entry.S), so a
 * physical address that passed a range check is also a pointer. The empty
 * asm hides the constant from the compiler, which would otherwise treat a
 * low address such as the BIOS data area's as a null pointer.
 */
static inline const uint8_t *phys_ptr(uint64_t addr)
{
	asm("" : "+r"(addr));
	return (const uint8_t *)(uintptr_t)addr;
}

/* Ends the VM through the debug-exit port; halts if nothing listens there. */
static inline __attribute__((noreturn)) void guest_exit(uint8_t status)
{
	outb(LAYOUT_PORT_DEBUG_EXIT, status);
	for (;;)
		asm volatile("cli; hlt");
}

#endif
