// SPDX-License-Identifier: MIT
/*
 * An x86 VM: the in-kernel IOAPIC, PIC and PIT, the CPUID KVM supports,
 * RAM split around the MMIO hole below 4 GiB, and the x86 boot protocols.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "devices/pci/pci.h"
#include "vmm/arch.h"
#include "vmm/arch/x86/x86.h"
#include "vmm/vm.h"

/* KVM's routes after KVM_CREATE_IRQCHIP: GSIs 0-15 on both PICs too. */
#define NR_PIC_GSIS 16
#define NR_IOAPIC_GSIS 24
#define ISA_IRQ_PIT 0
#define ISA_IRQ_CASCADE 2
#define IOAPIC_PIN_PIT 2

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
const bool arch_mmio_cmdline = true;
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

/*
 * The IOAPIC's pins, and the PICs' for the first 16, then MSI routes.
 * GSI 0 is the line of KVM's PIT: ISA IRQ 0, which the MADT and the MP
 * table put on IOAPIC pin 2, as on every PC. KVM's default routes send it
 * to pin 0, where no guest looks: a kernel that drives the PIT (acpi=off)
 * would never see its timer interrupt, and with it the check of its local
 * APIC timer fails and its clock stands still. Pin 2 has no GSI of its
 * own; IRQ 2 is the PICs' cascade.
 */
static int x86_irq_routing_init(struct vm *vm, struct err *e)
{
	struct irq_routing_pin pins[NR_PIC_GSIS + NR_IOAPIC_GSIS];
	unsigned int n = 0;

	for (uint32_t gsi = 0; gsi < NR_IOAPIC_GSIS; gsi++) {
		if (gsi != ISA_IRQ_CASCADE)
			pins[n++] = (struct irq_routing_pin){
				gsi, KVM_IRQCHIP_IOAPIC,
				gsi == ISA_IRQ_PIT ? IOAPIC_PIN_PIT : gsi,
			};
		if (gsi < NR_PIC_GSIS)
			pins[n++] = (struct irq_routing_pin){
				gsi,
				gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
					  KVM_IRQCHIP_PIC_SLAVE,
				gsi % 8,
			};
	}
	irq_routing_init(&vm->irq_routing, vm->fd, pins, n, LAYOUT_NR_GSI);
	vm->irq_routing_ready = true;
	return irq_routing_apply(&vm->irq_routing, e);
}

int arch_vm_create(struct vm *vm, struct err *e)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = LAYOUT_KVM_IDENTITY_MAP;

	vm->arch = calloc(1, sizeof(*vm->arch));
	if (!vm->arch)
		return err_set(e, "out of memory");
	vm->arch->vcpu_cpuid = calloc(vm->nr_vcpus,
				      sizeof(*vm->arch->vcpu_cpuid));
	if (!vm->arch->vcpu_cpuid)
		return err_set(e, "out of memory");
	if (x86_get_cpuid(vm, e) < 0)
		return -1;
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0)
		return err_errno(e, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return err_errno(e, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err_errno(e, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return err_errno(e, "KVM_CREATE_PIT2");
	return x86_irq_routing_init(vm, e);
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
	for (unsigned int i = 0; vm->arch->vcpu_cpuid && i < vm->nr_vcpus; i++)
		free(vm->arch->vcpu_cpuid[i]);
	free(vm->arch->vcpu_cpuid);
	free(vm->arch->cpuid);
	free(vm->arch);
	vm->arch = NULL;
}

/* GSIs are the IOAPIC's pins. */
uint32_t arch_irq_line_number(uint32_t gsi)
{
	return gsi;
}

/* The PCI bus as the ACPI tables describe it; hotplug in every open slot. */
static void x86_boot_pci(const struct vm *vm, struct boot_pci *bp)
{
	const struct pci_layout *l = &vm->pci->layout;

	*bp = (struct boot_pci){
		.ecam_base = l->ecam_base, .ecam_size = l->ecam_size,
		.mmio32_base = l->mmio32_base, .mmio32_end = l->mmio32_end,
		.mmio64_base = l->mmio64_base, .mmio64_end = l->mmio64_end,
		.io_base = l->io_base, .io_end = l->io_end,
	};
	if (!vm->hotplug)
		return;
	bp->hotplug_port = LAYOUT_PORT_PCI_HOTPLUG;
	bp->hotplug_gsi = vm->hotplug_gsi;
	for (unsigned int s = 1; s < VM_PCI_SLOTS; s++)
		if (vm->slots[s].kind != VM_SLOT_FIXED)
			bp->hotplug_slots |= 1U << s;
}

int arch_vm_boot(struct vm *vm, const char *cmdline, struct err *e)
{
	struct boot_config boot;
	struct boot_entry entry;
	struct boot_pci pci;

	vm_boot_config(vm, cmdline, &boot);
	if (vm->pci) {
		x86_boot_pci(vm, &pci);
		boot.pci = &pci;
	}
	boot.power_button_gsi = vm->arch->power_button_gsi;
	if (boot_linux(&vm->mem, &boot, &entry, e) < 0)
		return -1;
	return x86_vcpu_set_boot_state(vm->vcpus[0], &entry, e);
}
