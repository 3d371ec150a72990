/* SPDX-License-Identifier: MIT */
/*
 * bench-exit.bios: a 64 KiB flat firmware image for QEMU's -bios. QEMU maps
 * it just below 4 GiB; the CPU starts in real mode at the reset vector, the
 * image's last 16 bytes (CS base 0xffff0000, IP 0xfff0). It writes 'X' to
 * COM1 and 0 to the debug-exit port (QEMU's isa-debug-exit default iobase).
 */
#include "vmm/arch/x86/layout.h"

#define IMAGE_SIZE 0x10000
#define RESET_VECTOR (IMAGE_SIZE - 16)

	.text
	.code16
	.globl bios_start
	.org	RESET_VECTOR - 0x20
bios_start:
	cli
	mov	$LAYOUT_PORT_COM1, %dx
	mov	$'X', %al
	outb	%al, %dx
	mov	$LAYOUT_PORT_DEBUG_EXIT, %dx
	xor	%al, %al
	outb	%al, %dx
1:	hlt
	jmp	1b

	.org	RESET_VECTOR
reset_vector:
	jmp	bios_start
	.org	IMAGE_SIZE
