// SPDX-License-Identifier: MIT
/* Entry state: GDT, page tables, and the registers for both protocols. */
#include <criterion/criterion.h>
#include <string.h>

#include "boot/x86/entry.h"
#include "boot_helpers.h"
#include "vmm/arch/x86/layout.h"

/* What KVM_GET_SREGS reports for a freshly created vCPU. */
static void kvm_reset_sregs(struct kvm_sregs *s)
{
	struct kvm_segment rm = {
		.base = 0, .limit = 0xffff, .selector = 0, .type = 3,
		.present = 1, .s = 1,
	};

	memset(s, 0, sizeof(*s));
	s->cs = rm;
	s->cs.type = 0xb;
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	s->ds = s->es = s->fs = s->gs = s->ss = rm;
	s->tr = (struct kvm_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2, .present = 1 };
	s->gdt.limit = 0xffff;
	s->idt.limit = 0xffff;
	s->cr0 = 0x60000010; /* CD | NW | ET */
	s->apic_base = 0xfee00900;
}

static void check_flat(const struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	cr_assert_eq(s->base, 0);
	cr_assert_eq(s->limit, 0xffffffff);
	cr_assert_eq(s->selector, sel);
	cr_assert_eq(s->type, type);
	cr_assert_eq(s->present, 1);
	cr_assert_eq(s->s, 1);
	cr_assert_eq(s->dpl, 0);
	cr_assert_eq(s->g, 1);
}

Test(boot_regs, gdt_descriptors)
{
	struct test_guest g;
	struct err e = { "" };
	uint8_t *gdt;

	tg_init(&g, 4 * MiB);
	memset(tg_ptr(&g, LAYOUT_GDT, 64), 0xff, 64);
	cr_assert_eq(x86_write_gdt_idt(&g.mem, &e), 0, "%s", e.msg);
	gdt = tg_ptr(&g, LAYOUT_GDT, X86_GDT_ENTRIES * 8);
	cr_assert_eq(get_le64(gdt), 0);
	/* The architectural encodings of flat 4 GiB segments. */
	cr_assert_eq(get_le64(gdt + 0x08), 0x00cf9b000000ffffULL, "32-bit code");
	cr_assert_eq(get_le64(gdt + 0x10), 0x00af9b000000ffffULL, "64-bit code");
	cr_assert_eq(get_le64(gdt + 0x18), 0x00cf93000000ffffULL, "data");
	cr_assert_eq(get_le64(tg_ptr(&g, LAYOUT_IDT, 8)), 0, "empty IDT");
	tg_fini(&g);
}

/* Walks the boot page tables like the MMU does for a 2 MiB mapping. */
static uint64_t translate(struct test_guest *g, uint64_t va)
{
	uint64_t pml4e = get_le64(tg_ptr(g, LAYOUT_PML4 + ((va >> 39) & 511) * 8, 8));
	uint64_t pdpte, pde;

	cr_assert(pml4e & X86_PTE_PRESENT, "PML4E for 0x%llx", (unsigned long long)va);
	pdpte = get_le64(tg_ptr(g, (pml4e & ~0xfffULL) + ((va >> 30) & 511) * 8, 8));
	cr_assert(pdpte & X86_PTE_PRESENT, "PDPTE for 0x%llx", (unsigned long long)va);
	cr_assert_eq(pdpte & X86_PTE_LARGE, 0);
	pde = get_le64(tg_ptr(g, (pdpte & ~0xfffULL) + ((va >> 21) & 511) * 8, 8));
	cr_assert(pde & X86_PTE_PRESENT, "PDE for 0x%llx", (unsigned long long)va);
	cr_assert(pde & X86_PTE_LARGE);
	cr_assert(pde & X86_PTE_WRITE);
	return (pde & ~0x1fffffULL & ((1ULL << 52) - 1)) | (va & 0x1fffff);
}

Test(boot_regs, identity_map_of_4g)
{
	struct test_guest g;
	struct err e = { "" };
	uint64_t probes[] = { 0, LAYOUT_ZERO_PAGE, LAYOUT_CMDLINE + 5,
			      16 * MiB + 0x200, 1 * GiB + 12345, 3 * GiB - 1,
			      LAYOUT_IOAPIC, LAYOUT_LAPIC + 0x300, 4 * GiB - 1 };

	tg_init(&g, 4 * MiB);
	cr_assert_eq(x86_write_page_tables(&g.mem, &e), 0, "%s", e.msg);
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
		cr_assert_eq(translate(&g, probes[i]), probes[i],
			     "0x%llx is not identity mapped",
			     (unsigned long long)probes[i]);
	/* Nothing above 4 GiB is mapped. */
	cr_assert_eq(get_le64(tg_ptr(&g, LAYOUT_PML4 + 8, 8)), 0);
	cr_assert_eq(get_le64(tg_ptr(&g, LAYOUT_PDPT + 4 * 8, 8)), 0);
	tg_fini(&g);
}

Test(boot_regs, long_mode_entry)
{
	struct boot_entry entry = {
		.mode = BOOT_MODE_LINUX64, .rip = 0x1000200,
		.rsi = LAYOUT_ZERO_PAGE, .rsp = LAYOUT_BOOT_STACK,
	};
	struct kvm_regs regs;
	struct kvm_sregs s, reset;

	kvm_reset_sregs(&s);
	reset = s;
	memset(&regs, 0xa5, sizeof(regs));
	boot_setup_regs(&entry, &regs, &s);

	cr_assert_eq(regs.rip, 0x1000200);
	cr_assert_eq(regs.rsi, LAYOUT_ZERO_PAGE);
	cr_assert_eq(regs.rsp, LAYOUT_BOOT_STACK);
	cr_assert_eq(regs.rflags, 2, "interrupts off");
	cr_assert_eq(regs.rbx, 0);
	cr_assert_eq(regs.rdi, 0);
	cr_assert_eq(regs.rbp, 0);

	check_flat(&s.cs, 0x10, 0xb);
	cr_assert_eq(s.cs.l, 1, "64-bit code segment");
	cr_assert_eq(s.cs.db, 0);
	check_flat(&s.ds, 0x18, 0x3);
	check_flat(&s.es, 0x18, 0x3);
	check_flat(&s.ss, 0x18, 0x3);
	cr_assert_eq(s.gdt.base, LAYOUT_GDT);
	cr_assert_eq(s.gdt.limit, X86_GDT_ENTRIES * 8 - 1);
	cr_assert_eq(s.idt.base, LAYOUT_IDT);
	cr_assert_eq(s.cr0 & (X86_CR0_PE | X86_CR0_PG | X86_CR0_ET),
		     X86_CR0_PE | X86_CR0_PG | X86_CR0_ET);
	cr_assert_eq(s.cr0 & (X86_CR0_CD | X86_CR0_NW), 0);
	cr_assert_eq(s.cr3, LAYOUT_PML4);
	cr_assert_eq(s.cr4 & X86_CR4_PAE, X86_CR4_PAE);
	cr_assert_eq(s.efer & (X86_EFER_LME | X86_EFER_LMA), X86_EFER_LME | X86_EFER_LMA);
	/* Untouched: what the protocol does not mention. */
	cr_assert_eq(s.apic_base, reset.apic_base);
	cr_assert_eq(memcmp(&s.fs, &reset.fs, sizeof(s.fs)), 0);
	cr_assert_eq(memcmp(&s.gs, &reset.gs, sizeof(s.gs)), 0);
	cr_assert_eq(memcmp(&s.tr, &reset.tr, sizeof(s.tr)), 0);
	cr_assert_eq(memcmp(&s.ldt, &reset.ldt, sizeof(s.ldt)), 0);
	cr_assert_eq(memcmp(s.interrupt_bitmap, reset.interrupt_bitmap,
			    sizeof(s.interrupt_bitmap)), 0);
}

Test(boot_regs, segments_match_the_gdt)
{
	cr_assert_eq(x86_gdt_entry(&x86_seg_code64), 0x00af9b000000ffffULL);
	cr_assert_eq(x86_gdt_entry(&x86_seg_code32), 0x00cf9b000000ffffULL);
	cr_assert_eq(x86_gdt_entry(&x86_seg_data), 0x00cf93000000ffffULL);
}

Test(boot_regs, pvh_entry)
{
	struct boot_entry entry = {
		.mode = BOOT_MODE_PVH, .rip = 0x1000100,
		.rbx = LAYOUT_PVH_START_INFO, .rsp = LAYOUT_BOOT_STACK,
	};
	struct kvm_regs regs;
	struct kvm_sregs s, reset;

	kvm_reset_sregs(&s);
	/* As if a previous boot had left long mode on. */
	s.efer = X86_EFER_LME | X86_EFER_LMA | 1;
	s.cr4 = X86_CR4_PAE;
	reset = s;
	boot_setup_regs(&entry, &regs, &s);

	cr_assert_eq(regs.rip, 0x1000100);
	cr_assert_eq(regs.rbx, LAYOUT_PVH_START_INFO);
	cr_assert_eq(regs.rsi, 0);
	cr_assert_eq(regs.rflags, 2);
	check_flat(&s.cs, 0x08, 0xb);
	cr_assert_eq(s.cs.db, 1, "32-bit code segment");
	cr_assert_eq(s.cs.l, 0);
	check_flat(&s.ds, 0x18, 0x3);
	check_flat(&s.ss, 0x18, 0x3);
	cr_assert_eq(s.ds.db, 1);
	cr_assert_eq(s.cr0, X86_CR0_PE | X86_CR0_ET, "PE only, paging off");
	cr_assert_eq(s.cr4, 0);
	cr_assert_eq(s.efer & (X86_EFER_LME | X86_EFER_LMA), 0);
	cr_assert_eq(s.efer & 1, 1, "other EFER bits untouched");
	cr_assert_eq(s.tr.base, 0);
	cr_assert_eq(s.tr.limit, 0x67);
	cr_assert_eq(s.tr.type, 0xb);
	cr_assert_eq(s.tr.present, 1);
	cr_assert_eq(s.apic_base, reset.apic_base);
}
