// SPDX-License-Identifier: MIT
/*
 * An x86 VM: the in-kernel IOAPIC, PIC and PIT, the CPUID KVM supports,
 * RAM split around the MMIO hole below 4 GiB, and the x86 boot protocols.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "boot/x86/firmware.h"
#include "boot/x86/uefi.h"
#include "devices/pci/pci.h"
#include "devices/x86/pflash.h"
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

/*
 * The firmware image, read-only up to 4 GiB: guest writes to it exit to
 * the VMM and change nothing, which OVMF takes for ROM (and then keeps its
 * variables in RAM).
 */
static int x86_map_firmware(struct vm *vm, struct err *e)
{
	struct arch_vm *a = vm->arch;
	struct kvm_userspace_memory_region region;
	uint8_t *img;
	size_t len;

	if (ioctl(vm->kvm.fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		return err_set(e, "--firmware: this host's KVM lacks KVM_CAP_READONLY_MEM, which the firmware flash needs");
	if (firmware_read(vm->cfg->firmware, &img, &len, e) < 0)
		return -1;
	a->firmware = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->firmware == MAP_FAILED) {
		a->firmware = NULL;
		free(img);
		return err_errno(e, "firmware: mmap of %zu bytes", len);
	}
	a->firmware_size = len;
	memcpy(a->firmware, img, len);
	free(img);
	mprotect(a->firmware, len, PROT_READ);
	region = (struct kvm_userspace_memory_region){
		.slot = LAYOUT_FIRMWARE_SLOT,
		.flags = KVM_MEM_READONLY,
		.guest_phys_addr = LAYOUT_FIRMWARE_END - len,
		.memory_size = len,
		.userspace_addr = (uintptr_t)a->firmware,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return err_errno(e, "KVM_SET_USER_MEMORY_REGION for the firmware at %#llx",
				 (unsigned long long)region.guest_phys_addr);
	return 0;
}

/*
 * A separate variable store goes right below the code, where the code
 * expects it (QEMU's second pflash), as a flash chip.
 */
static int x86_map_firmware_vars(struct vm *vm, struct err *e)
{
	uint64_t code = vm->arch->firmware_size;
	struct device *dev;
	size_t len;

	if (!vm->cfg->firmware_vars)
		return 0;
	if (firmware_check_vars_file(vm->cfg->firmware_vars, &len, e) < 0)
		return -1;
	if (code + len > FIRMWARE_MAX_SIZE)
		return err_set(e, "firmware and variable store are %llu bytes together; at most %llu MiB fit below 4 GiB",
			       (unsigned long long)(code + len),
			       FIRMWARE_MAX_SIZE >> 20);
	if (pflash_create(&vm->host, LAYOUT_FIRMWARE_END - code - len,
			  vm->cfg->firmware_vars, &dev, e) < 0)
		return -1;
	vm_add_device(vm, dev);
	return 0;
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
	if (vm->arch->firmware)
		munmap(vm->arch->firmware, vm->arch->firmware_size);
	free(vm->arch);
	vm->arch = NULL;
}

/* GSIs are the IOAPIC's pins. */
uint32_t arch_irq_line_number(uint32_t gsi)
{
	return gsi;
}

/*
 * The firmware starts at the reset vector, where KVM put the vCPU. Its
 * slot goes in late, after the irqchip: a bad image then counts as one,
 * like a bad kernel.
 */
static int x86_boot_firmware(struct vm *vm, const struct boot_config *boot,
			     struct err *e)
{
	if (x86_map_firmware(vm, e) < 0 || x86_map_firmware_vars(vm, e) < 0)
		return -1;
	return uefi_setup(&vm->mem, boot, vm->arch->fw_cfg, e);
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
	if (vm->arch->fw_cfg)
		return x86_boot_firmware(vm, &boot, e);
	if (boot_linux(&vm->mem, &boot, &entry, e) < 0)
		return -1;
	return x86_vcpu_set_boot_state(vm->vcpus[0], &entry, e);
}
