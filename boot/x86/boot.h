/* SPDX-License-Identifier: MIT */
#ifndef BOOT_X86_BOOT_H
#define BOOT_X86_BOOT_H

#include <linux/kvm.h>
#include <stdint.h>

#include "boot/boot.h"

/* How the boot vCPU enters the guest. */
enum boot_mode {
	/* Linux 64-bit boot protocol: long mode, %rsi = zero page. */
	BOOT_MODE_LINUX64,
	/* PVH: 32-bit protected mode, paging off, %ebx = hvm_start_info. */
	BOOT_MODE_PVH,
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t rsi;
	uint64_t rbx;
	uint64_t rsp;
	/* Where things landed, for logs and for the control API. */
	uint64_t kernel_start;
	uint64_t kernel_end;
	uint64_t initrd_start;
	uint64_t initrd_size;
};

/* vCPUs the MADT and MP table can describe (xAPIC IDs 0..254). */
#define BOOT_MAX_CPUS 255

/*
 * Loads the kernel (bzImage or ELF vmlinux), the initrd and the command line
 * into @mem and writes everything a kernel reads at entry: zero page or
 * hvm_start_info with the e820 map, ACPI tables, MP table, identity page
 * tables and GDT. Fails with a message naming the file and the reason.
 */
int boot_linux(struct guest_mem *mem, const struct boot_config *cfg,
	       struct boot_entry *entry, struct err *e);

/*
 * Register state of the boot vCPU for @entry. @regs is overwritten
 * entirely; @sregs must hold what KVM_GET_SREGS returned, and only what the
 * entry protocol dictates is changed in it (segments, GDT/IDT, CR0/CR3/CR4,
 * EFER, and for PVH the TSS limit).
 */
void boot_setup_regs(const struct boot_entry *entry, struct kvm_regs *regs,
		     struct kvm_sregs *sregs);

#endif
