/* SPDX-License-Identifier: MIT */
/*
 * Entries of testguest.elf: the PVH entry named by the Xen ELF note
 * (32-bit protected mode, paging off, %ebx = hvm_start_info), and the
 * 64-bit entry at e_entry (long mode, %rsi = zero page) for loaders that
 * boot an ELF kernel the way they boot vmlinux.
 */
#include "images/testguest/image.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define CR0_PE 0x00000001
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

	.section .note.Xen, "a", @note
	.balign 4
	.long	4			/* n_namesz */
	.long	4			/* n_descsz */
	.long	XEN_ELFNOTE_PHYS32_ENTRY
	.asciz	"Xen"
	.long	pvh_start32

	.section .head.text, "ax"
	.code32
/*
 * The PVH ABI leaves GDTR, the stack and paging to the guest: load the
 * guest's GDT and identity page tables (both built at link time, entry.S)
 * and enter long mode.
 */
	.globl pvh_start32
pvh_start32:
	cli
	cld
	mov	%ebx, %esi
	lgdt	tg_gdt_desc
	mov	$TG_SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$tg_pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_PE), %eax
	mov	%eax, %cr0
	ljmp	$TG_SEL_CODE64, $pvh_start64

	.code64
pvh_start64:
	mov	$TG_BOOT_ELF_PVH, %edi
	mov	%esi, %esi
	jmp	boot64_common

	.globl startup_64
startup_64:
	cli
	cld
	mov	$TG_BOOT_ELF64, %edi
	jmp	boot64_common
