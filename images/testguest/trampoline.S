/* SPDX-License-Identifier: MIT */
/*
 * Real-mode code an application processor runs after INIT-SIPI-SIPI. It is
 * copied below 1 MiB (smp.c); CS is that page's segment and IP starts at 0,
 * so every address here is an offset from ap_trampoline.
 *
 * The AP takes a slot, stores its initial APIC ID (CPUID.1:EBX[31:24])
 * there, counts itself as done and halts with interrupts off.
 */
#define OFF(sym) ((sym) - ap_trampoline)
#define MAX_IDS 256

	.section .rodata.trampoline, "a"
	.code16
	.globl ap_trampoline, ap_trampoline_end
	.globl ap_tramp_slot, ap_tramp_done, ap_tramp_ids
ap_trampoline:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	mov	$1, %eax
	cpuid
	shr	$24, %ebx
	mov	$1, %eax
	lock xaddl %eax, OFF(ap_tramp_slot)
	cmp	$MAX_IDS, %eax
	jae	1f
	mov	%ax, %si
	movb	%bl, OFF(ap_tramp_ids)(%si)
	lock incl OFF(ap_tramp_done)
1:	hlt
	jmp	1b

	.balign 4
ap_tramp_slot:
	.long 0
ap_tramp_done:
	.long 0
ap_tramp_ids:
	.fill MAX_IDS, 1, 0
ap_trampoline_end:
