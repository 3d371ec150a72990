/* SPDX-License-Identifier: MIT */
/*
 * Code and data shared by every entry path: the long-mode start that both
 * images end up in, the guest's own GDT and identity page tables, the stack
 * and the CPU exception stubs.
 */
#include "images/testguest/image.h"
#include "vmm/arch/x86/layout.h"

#define PTE_PRESENT 0x01
#define PTE_WRITE 0x02
#define PTE_PWT 0x08
#define PTE_PCD 0x10
#define PTE_LARGE 0x80
#define PDE_RAM (PTE_PRESENT | PTE_WRITE | PTE_LARGE)
#define PDE_MMIO (PDE_RAM | PTE_PWT | PTE_PCD)
#define STACK_SIZE 16384

	.text
	.code64
/*
 * In: %edi = TG_BOOT_* (how the guest was entered), %rsi = zero page or
 * hvm_start_info, long mode on the loader's or the PVH entry's page tables.
 * Nothing here may touch memory by absolute address before the image is
 * known to run where it was linked: the guest is not relocatable, and a
 * loader that put it elsewhere gets one FAIL line instead of a crash.
 */
	.globl boot64_common
boot64_common:
	lea	boot64_common(%rip), %rax
	mov	$boot64_common, %ecx
	cmp	%rax, %rcx
	jne	early_fail

	mov	%edi, %r12d
	mov	%rsi, %r13
	lgdt	tg_gdt_desc(%rip)
	mov	$TG_SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	lea	tg_stack_top(%rip), %rsp
	pushq	$TG_SEL_CODE64
	lea	1f(%rip), %rax
	pushq	%rax
	lretq
1:
	/*
	 * The 64-bit boot protocol only promises a mapping of the kernel,
	 * the zero page and the command line: switch to tables that also map
	 * the firmware tables and the local APIC.
	 */
	lea	tg_pml4(%rip), %rax
	mov	%rax, %cr3

	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb

	lea	tg_stack_top(%rip), %rsp
	mov	%r12d, %edi
	mov	%r13, %rsi
	call	testguest_main
2:	cli
	hlt
	jmp	2b

/* Position-independent: prints one line on COM1 and exits with status 1. */
early_fail:
	lea	early_fail_msg(%rip), %rsi
	mov	$LAYOUT_PORT_COM1, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	outb	%al, %dx
	jmp	1b
2:	mov	$LAYOUT_PORT_DEBUG_EXIT, %dx
	mov	$1, %al
	outb	%al, %dx
3:	cli
	hlt
	jmp	3b

/*
 * CPU exceptions: one 16-byte stub per vector, so that the IDT (built in
 * exception.c) finds vector N at exception_stubs + 16 * N. Vectors without
 * an error code push a 0 so that every frame looks the same.
 */
	.balign 16
	.globl exception_stubs
exception_stubs:
	.set vec, 0
	.rept 32
	.balign 16
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	exception_entry
	.set vec, vec + 1
	.endr

exception_entry:
	mov	%rsp, %rdi
	and	$-16, %rsp
	call	exception_report
	jmp	2b

	.section .rodata
early_fail_msg:
	.asciz "FAIL load_address: the entry code does not run at its link address\n"

	.data
	.balign 16
tg_gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* TG_SEL_CODE64: 64-bit code */
	.quad	0x00cf93000000ffff	/* TG_SEL_DATA: flat 4 GiB data */
tg_gdt_end:
/* lgdt reads 6 bytes in 32-bit mode and 10 in 64-bit mode: both fit. */
	.globl tg_gdt_desc
tg_gdt_desc:
	.word	tg_gdt_end - tg_gdt - 1
	.quad	tg_gdt

/*
 * Identity map of the low 4 GiB in 2 MiB pages, built at link time: the
 * last GiB (the MMIO hole with the local APIC) uncached.
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl tg_pml4
tg_pml4:
	.quad	tg_pdpt + PTE_PRESENT + PTE_WRITE
	.fill	511, 8, 0
tg_pdpt:
	.quad	tg_pd + 0x0000 + PTE_PRESENT + PTE_WRITE
	.quad	tg_pd + 0x1000 + PTE_PRESENT + PTE_WRITE
	.quad	tg_pd + 0x2000 + PTE_PRESENT + PTE_WRITE
	.quad	tg_pd + 0x3000 + PTE_PRESENT + PTE_WRITE
	.fill	508, 8, 0
tg_pd:
	.set addr, 0
	.rept 512 * 3
	.quad	addr + PDE_RAM
	.set addr, addr + 0x200000
	.endr
	.rept 512
	.quad	addr + PDE_MMIO
	.set addr, addr + 0x200000
	.endr

	.bss
	.balign 16
tg_stack:
	.skip	STACK_SIZE
tg_stack_top:
