/* SPDX-License-Identifier: MIT */
#ifndef BOOT_X86_H
#define BOOT_X86_H

#include <linux/kvm.h>

#include "vmm/memory.h"
#include "lib/util.h"

/*
 * Boot GDT at LAYOUT_GDT. The 64-bit Linux boot protocol wants __BOOT_CS
 * (0x10, 64-bit code) and __BOOT_DS (0x18, flat data); PVH wants any flat
 * 32-bit code and data segments and gets 0x08 and 0x18.
 */
#define X86_SEL_CODE32 0x08
#define X86_SEL_CODE64 0x10
#define X86_SEL_DATA 0x18
#define X86_GDT_ENTRIES 4

#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_NW (1ULL << 29)
#define X86_CR0_CD (1ULL << 30)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)
#define X86_RFLAGS_FIXED 0x2ULL

#define X86_PTE_PRESENT (1ULL << 0)
#define X86_PTE_WRITE (1ULL << 1)
#define X86_PTE_LARGE (1ULL << 7)

/* Number of 2 MiB pages in the identity map: the first 4 GiB. */
#define X86_IDENTITY_PAGES 2048

/* The segments of the boot GDT, as KVM describes them. */
extern const struct kvm_segment x86_seg_code32, x86_seg_code64, x86_seg_data;

/* GDT descriptor for @s (base, limit, access rights). */
uint64_t x86_gdt_entry(const struct kvm_segment *s);

/* Writes the boot GDT at LAYOUT_GDT and an empty IDT at LAYOUT_IDT. */
int x86_write_gdt_idt(const struct guest_mem *mem, struct err *e);

/* Identity-maps the first 4 GiB with 2 MiB pages at LAYOUT_PML4.. */
int x86_write_page_tables(const struct guest_mem *mem, struct err *e);

#endif
