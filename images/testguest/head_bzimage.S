/* SPDX-License-Identifier: MIT */
/*
 * Start of testguest.bzImage's protected-mode payload, linked at
 * TG_BZIMAGE_LOAD (code32_start). Offset 0 is the 32-bit entry of the boot
 * protocol, which this guest does not implement: it says so and exits.
 * Offset 0x200 is the 64-bit entry (XLF_KERNEL_64) the VMM uses.
 */
#include "images/testguest/image.h"
#include "vmm/arch/x86/layout.h"

	.section .head.text, "ax"
	.code32
	.globl startup_32
startup_32:
	cli
	cld
	mov	$startup_32_msg, %esi
	mov	$LAYOUT_PORT_COM1, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	outb	%al, %dx
	jmp	1b
2:	mov	$LAYOUT_PORT_DEBUG_EXIT, %dx
	mov	$1, %al
	outb	%al, %dx
3:	hlt
	jmp	3b
startup_32_msg:
	.asciz "FAIL boot: entered through the 32-bit entry; testguest.bzImage supports the 64-bit boot protocol only\n"

	.org	TG_ENTRY64_OFFSET
	.code64
	.globl startup_64
startup_64:
	cli
	cld
	mov	$TG_BOOT_BZIMAGE, %edi
	jmp	boot64_common

/*
 * kernel_info (boot protocol 2.15), found through the setup header's
 * kernel_info_offset. The guest reads no setup_data, so setup_type_max is 0.
 */
	.section .rodata.kernel_info, "a"
	.balign 4
	.globl kernel_info
kernel_info:
	.ascii	"LToP"
	.long	kernel_info_end - kernel_info	/* size */
	.long	kernel_info_end - kernel_info	/* size_total */
	.long	0				/* setup_type_max */
kernel_info_end:
