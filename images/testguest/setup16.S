/* SPDX-License-Identifier: MIT */
/*
 * Real-mode code of testguest.bzImage's setup area. mkbzimage places it
 * twice: at offset 0 (the boot sector, should a BIOS boot the file) and
 * right after the setup header (where the 16-bit boot protocol's jump at
 * 0x200 lands). The guest has no real-mode path, so it reports that and
 * exits. Position-independent: it finds its message relative to itself.
 */
#include "vmm/arch/x86/layout.h"

	.text
	.code16
	.globl setup16
setup16:
	cli
	cld
	call	1f
1:	pop	%si
	add	$(msg - 1b), %si
	mov	%cs, %ax
	mov	%ax, %ds
	mov	$LAYOUT_PORT_COM1, %dx
2:	lodsb
	test	%al, %al
	jz	3f
	outb	%al, %dx
	jmp	2b
3:	mov	$LAYOUT_PORT_DEBUG_EXIT, %dx
	mov	$1, %al
	outb	%al, %dx
4:	hlt
	jmp	4b
msg:
	.asciz "FAIL boot: entered in real mode; testguest.bzImage supports the 64-bit boot protocol only\n"
