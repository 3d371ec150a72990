/* SPDX-License-Identifier: MIT */
/*
 * bench-exit.elf: the smallest PVH guest. Its entry writes 'X' to COM1 and
 * 0 to the debug-exit port. The instructions used encode the same in 32-bit
 * and 64-bit mode, so e_entry names the same code for loaders that enter
 * an ELF kernel in long mode instead.
 */
#include "vmm/arch/x86/layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long	4			/* n_namesz */
	.long	4			/* n_descsz */
	.long	XEN_ELFNOTE_PHYS32_ENTRY
	.asciz	"Xen"
	.long	bench_start

	.text
	.code32
	.globl bench_start
bench_start:
	mov	$LAYOUT_PORT_COM1, %edx
	mov	$'X', %al
	outb	%al, %dx
	mov	$LAYOUT_PORT_DEBUG_EXIT, %edx
	xor	%eax, %eax
	outb	%al, %dx
1:	hlt
	jmp	1b
