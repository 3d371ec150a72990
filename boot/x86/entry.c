// SPDX-License-Identifier: MIT
#include "entry.h"

#include <string.h>

#include "boot/x86/boot.h"
#include "vmm/arch/x86/layout.h"

#define PAGE_SIZE 4096
#define IDT_SIZE 8

_Static_assert(LAYOUT_GDT + X86_GDT_ENTRIES * 8 <= LAYOUT_IDT,
	       "boot GDT overlaps the IDT");

/* Flat 4 GiB segments: base 0, limit 0xfffff pages, DPL 0, present. */
const struct kvm_segment x86_seg_code32 = {
	.base = 0, .limit = 0xffffffff, .selector = X86_SEL_CODE32,
	.type = 0xb, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
};

const struct kvm_segment x86_seg_code64 = {
	.base = 0, .limit = 0xffffffff, .selector = X86_SEL_CODE64,
	.type = 0xb, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
};

const struct kvm_segment x86_seg_data = {
	.base = 0, .limit = 0xffffffff, .selector = X86_SEL_DATA,
	.type = 0x3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
};

uint64_t x86_gdt_entry(const struct kvm_segment *s)
{
	uint64_t limit = s->g ? s->limit >> 12 : s->limit;
	uint64_t base = s->base;

	return (limit & 0xffff) | (base & 0xffffff) << 16 |
	       (uint64_t)(s->type & 0xf) << 40 | (uint64_t)(s->s & 1) << 44 |
	       (uint64_t)(s->dpl & 3) << 45 | (uint64_t)(s->present & 1) << 47 |
	       ((limit >> 16) & 0xf) << 48 | (uint64_t)(s->avl & 1) << 52 |
	       (uint64_t)(s->l & 1) << 53 | (uint64_t)(s->db & 1) << 54 |
	       (uint64_t)(s->g & 1) << 55 | ((base >> 24) & 0xff) << 56;
}

int x86_write_gdt_idt(const struct guest_mem *mem, struct err *e)
{
	uint8_t *gdt = guest_mem_ptr(mem, LAYOUT_GDT, X86_GDT_ENTRIES * 8);
	uint8_t *idt = guest_mem_ptr(mem, LAYOUT_IDT, IDT_SIZE);

	if (!gdt || !idt)
		return err_set(e, "boot GDT/IDT at 0x%llx is outside guest RAM",
			       LAYOUT_GDT);
	put_le64(gdt + 0, 0);
	put_le64(gdt + X86_SEL_CODE32, x86_gdt_entry(&x86_seg_code32));
	put_le64(gdt + X86_SEL_CODE64, x86_gdt_entry(&x86_seg_code64));
	put_le64(gdt + X86_SEL_DATA, x86_gdt_entry(&x86_seg_data));
	/* Interrupts stay off until the kernel loads its own IDT. */
	memset(idt, 0, IDT_SIZE);
	return 0;
}

int x86_write_page_tables(const struct guest_mem *mem, struct err *e)
{
	uint8_t *pml4 = guest_mem_ptr(mem, LAYOUT_PML4, PAGE_SIZE);
	uint8_t *pdpt = guest_mem_ptr(mem, LAYOUT_PDPT, PAGE_SIZE);
	uint8_t *pd = guest_mem_ptr(mem, LAYOUT_PD, 4 * PAGE_SIZE);

	if (!pml4 || !pdpt || !pd)
		return err_set(e, "boot page tables at 0x%llx are outside guest RAM",
			       LAYOUT_PML4);
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	put_le64(pml4, LAYOUT_PDPT | X86_PTE_PRESENT | X86_PTE_WRITE);
	for (uint64_t i = 0; i < 4; i++)
		put_le64(pdpt + i * 8, (LAYOUT_PD + i * PAGE_SIZE) |
				       X86_PTE_PRESENT | X86_PTE_WRITE);
	for (uint64_t i = 0; i < X86_IDENTITY_PAGES; i++)
		put_le64(pd + i * 8, (i << 21) | X86_PTE_PRESENT |
				     X86_PTE_WRITE | X86_PTE_LARGE);
	return 0;
}

static void setup_long_mode(struct kvm_sregs *s)
{
	s->cs = x86_seg_code64;
	s->ds = s->es = s->ss = x86_seg_data;
	/*
	 * KVM's reset CR0 has caching disabled (CD, NW); a kernel entered
	 * with paging on expects normal write-back caching.
	 */
	s->cr0 = (s->cr0 | X86_CR0_PE | X86_CR0_ET | X86_CR0_PG) &
		 ~(X86_CR0_CD | X86_CR0_NW);
	s->cr3 = LAYOUT_PML4;
	s->cr4 |= X86_CR4_PAE;
	s->efer |= X86_EFER_LME | X86_EFER_LMA;
}

static void setup_pvh(struct kvm_sregs *s)
{
	s->cs = x86_seg_code32;
	s->ds = s->es = s->ss = x86_seg_data;
	/* The PVH ABI: CR0.PE only, CR4 clear, a 32-bit TSS of 0x68 bytes. */
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->cr4 = 0;
	s->efer &= ~(X86_EFER_LME | X86_EFER_LMA);
	s->tr.base = 0;
	s->tr.limit = 0x67;
	s->tr.type = 0xb;
	s->tr.s = 0;
	s->tr.present = 1;
	s->tr.unusable = 0;
}

void boot_setup_regs(const struct boot_entry *entry, struct kvm_regs *regs,
		     struct kvm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = X86_RFLAGS_FIXED;
	regs->rip = entry->rip;
	regs->rsp = entry->rsp;
	regs->rsi = entry->rsi;
	regs->rbx = entry->rbx;

	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = X86_GDT_ENTRIES * 8 - 1;
	sregs->idt.base = LAYOUT_IDT;
	sregs->idt.limit = 0;
	if (entry->mode == BOOT_MODE_PVH)
		setup_pvh(sregs);
	else
		setup_long_mode(sregs);
}
