// SPDX-License-Identifier: MIT
/*
 * An arm64 VM: the in-kernel vGIC (v3, or v2 where the host has no v3) and
 * architected timer, PSCI in the kernel, RAM from 2 GiB, and the Image
 * boot with a device tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/arch/arm64/arm64.h"
#include "vmm/vm.h"

const struct kvm_cap_need arch_kvm_caps[] = {
	{ KVM_CAP_ARM_PSCI_0_2, "KVM_CAP_ARM_PSCI_0_2" },
	{ KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG" },
	{ KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL" },
};
const unsigned int arch_nr_kvm_caps = ARRAY_SIZE(arch_kvm_caps);

const struct guest_ram_map arch_ram_map = {
	.base = LAYOUT_RAM,
	.low_max = UINT64_MAX,
};

const char arch_default_cmdline[] = "console=ttyS0 panic=1";
const bool arch_mmio_cmdline = false;

/* KVM on arm64 runs guests on the CPU's virtualization extensions only. */
const char *arch_host_emulation(void)
{
	return NULL;
}

const char arch_kernel_formats[] = "arm64 Image";
const char arch_kernel_help[] = "arm64 Image (uncompressed)";
const char arch_exit_help[] =
	"A guest ends the VM through PSCI SYSTEM_OFF or SYSTEM_RESET (status 0).\n";

static int gic_set(struct vm *vm, uint32_t group, uint64_t attr,
		   const void *val, struct err *e)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uintptr_t)val,
	};

	if (ioctl(vm->arch->gic_fd, KVM_SET_DEVICE_ATTR, &a) < 0)
		return err_errno(e, "GICv%u: KVM_SET_DEVICE_ATTR group %u attr %llu",
				 vm->arch->gic_version, group,
				 (unsigned long long)attr);
	return 0;
}

static int gic_create(struct vm *vm, unsigned int version)
{
	struct kvm_create_device dev = {
		.type = version == 3 ? KVM_DEV_TYPE_ARM_VGIC_V3 :
				       KVM_DEV_TYPE_ARM_VGIC_V2,
	};

	if (ioctl(vm->fd, KVM_CREATE_DEVICE, &dev) < 0)
		return -1;
	vm->arch->gic_fd = (int)dev.fd;
	vm->arch->gic_version = version;
	return 0;
}

/* The distributor, then the redistributors (v3) or CPU interface (v2). */
static int gic_place(struct vm *vm, struct err *e)
{
	static const uint64_t dist = LAYOUT_GICD, redist = LAYOUT_GICR,
			      cpu = LAYOUT_GICC;
	/* SGIs and PPIs, then the SPIs, in whole groups of 32. */
	const uint32_t nr_irqs = ALIGN_UP(LAYOUT_GIC_NR_PRIVATE + LAYOUT_NR_GSI, 32);

	if (vm->arch->gic_version == 3) {
		if (gic_set(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
			    KVM_VGIC_V3_ADDR_TYPE_DIST, &dist, e) < 0 ||
		    gic_set(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
			    KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist, e) < 0)
			return -1;
	} else if (gic_set(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
			   KVM_VGIC_V2_ADDR_TYPE_DIST, &dist, e) < 0 ||
		   gic_set(vm, KVM_DEV_ARM_VGIC_GRP_ADDR,
			   KVM_VGIC_V2_ADDR_TYPE_CPU, &cpu, e) < 0) {
		return -1;
	}
	return gic_set(vm, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs, e);
}

static int gic_init(struct vm *vm, struct err *e)
{
	if (gic_create(vm, 3) < 0 && gic_create(vm, 2) < 0)
		return err_errno(e, "KVM_CREATE_DEVICE: the host's KVM offers neither a GICv3 nor a GICv2");
	if (vm->arch->gic_version == 2 && vm->nr_vcpus > LAYOUT_GICV2_MAX_CPUS)
		return err_set(e, "--cpus %u: this host's KVM has only a GICv2, which addresses at most %d vCPUs",
			       vm->nr_vcpus, LAYOUT_GICV2_MAX_CPUS);
	if (vm->nr_vcpus * LAYOUT_GICR_SIZE_PER_CPU > LAYOUT_UART - LAYOUT_GICR)
		return err_set(e, "--cpus %u: more than the GIC redistributor window holds",
			       vm->nr_vcpus);
	return gic_place(vm, e);
}

int arch_vm_create(struct vm *vm, struct err *e)
{
	vm->arch = calloc(1, sizeof(*vm->arch));
	if (!vm->arch)
		return err_set(e, "out of memory");
	vm->arch->gic_fd = -1;
	if (ioctl(vm->fd, KVM_ARM_PREFERRED_TARGET, &vm->arch->target) < 0)
		return err_errno(e, "KVM_ARM_PREFERRED_TARGET");
	return gic_init(vm, e);
}

/* The vGIC sizes its redistributors once every vCPU exists. */
int arch_vm_vcpus_created(struct vm *vm, struct err *e)
{
	return gic_set(vm, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT,
		       NULL, e);
}

void arch_vm_destroy(struct vm *vm)
{
	if (!vm->arch)
		return;
	if (vm->arch->gic_fd >= 0)
		close(vm->arch->gic_fd);
	free(vm->arch);
	vm->arch = NULL;
}

/* KVM_IRQ_LINE names an SPI by type and its INTID, 32 past its number. */
uint32_t arch_irq_line_number(uint32_t gsi)
{
	return (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) |
	       (gsi + LAYOUT_GIC_NR_PRIVATE);
}

int arch_vm_boot(struct vm *vm, const char *cmdline, struct err *e)
{
	struct fdt_machine machine = {
		.gic_version = vm->arch->gic_version,
		.rtc = true,
	};
	struct boot_config boot;
	struct arm64_boot_entry entry;

	if (vm->cfg->firmware)
		return err_set(e, "--firmware: UEFI firmware boots on x86-64 hosts only; arm64 guests boot their kernel directly");
	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++)
		if (vm->serial[i])
			machine.uarts |= 1U << i;
	vm_boot_config(vm, cmdline, &boot);
	if (arm64_boot_linux(&vm->mem, &boot, &machine, &entry, e) < 0)
		return -1;
	return arm64_vcpu_set_boot_state(vm->vcpus[0], &entry, e);
}
