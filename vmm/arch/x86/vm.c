// SPDX-License-Identifier: MIT
/*
 * An x86 VM: the in-kernel IOAPIC, PIC and PIT, the CPUID KVM supports,
 * RAM split around the MMIO hole below 4 GiB, and the x86 boot protocols.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "vmm/arch.h"
#include "vmm/arch/x86/x86.h"
#include "vmm/vm.h"

/* Addresses KVM needs for its real-mode TSS and identity map (Intel). */
#define VM_TSS_ADDR 0xfffbd000UL
#define VM_IDENTITY_MAP_ADDR 0xfffbc000ULL

const struct kvm_cap_need arch_kvm_caps[] = {
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
};
const unsigned int arch_nr_kvm_caps = ARRAY_SIZE(arch_kvm_caps);

const struct guest_ram_map arch_ram_map = {
	.base = 0,
	.low_max = LAYOUT_MMIO_HOLE,
	.high_base = LAYOUT_RAM_ABOVE_4G,
};

const char arch_default_cmdline[] = "console=ttyS0 reboot=k panic=1";
const char arch_kernel_formats[] = "bzImage or ELF vmlinux";
const char arch_kernel_help[] =
	"bzImage or ELF vmlinux (PVH entry when present)";
const char arch_exit_help[] =
	"A guest ends the VM with status V by writing the byte V to I/O port 0x501.\n";

static int x86_get_cpuid(struct vm *vm, struct err *e)
{
	for (unsigned int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return err_set(e, "out of memory for CPUID entries");
		c->nent = n;
		if (ioctl(vm->kvm.fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->arch->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return err_errno(e, "KVM_GET_SUPPORTED_CPUID");
	}
	return err_set(e, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

int arch_vm_create(struct vm *vm, struct err *e)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = VM_IDENTITY_MAP_ADDR;

	vm->arch = calloc(1, sizeof(*vm->arch));
	if (!vm->arch)
		return err_set(e, "out of memory");
	if (x86_get_cpuid(vm, e) < 0)
		return -1;
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, VM_TSS_ADDR) < 0)
		return err_errno(e, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return err_errno(e, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_errno(e, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_errno(e, "KVM_CREATE_PIT2");
	return 0;
}

int arch_vm_vcpus_created(struct vm *vm, struct err *e)
{
	(void)vm;
	(void)e;
	return 0;
}

void arch_vm_destroy(struct vm *vm)
{
	if (!vm->arch)
		return;
	free(vm->arch->cpuid);
	free(vm->arch);
	vm->arch = NULL;
}

/* GSIs are the IOAPIC's pins. */
uint32_t arch_irq_line_number(uint32_t gsi)
{
	return gsi;
}

int arch_vm_boot(struct vm *vm, const char *cmdline, struct err *e)
{
	struct boot_config boot;
	struct boot_entry entry;

	vm_boot_config(vm, cmdline, &boot);
	boot.power_button_gsi = vm->arch->power_button_gsi;
	if (boot_linux(&vm->mem, &boot, &entry, e) < 0)
		return -1;
	return x86_vcpu_set_boot_state(vm->vcpus[0], &entry, e);
}
