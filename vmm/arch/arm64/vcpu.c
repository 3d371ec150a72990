// SPDX-License-Identifier: MIT
/*
 * An arm64 vCPU: KVM_ARM_VCPU_INIT with PSCI 0.2 (the secondaries start
 * powered off until the guest's PSCI CPU_ON), the boot registers and the
 * register dump.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include "vmm/arch.h"
#include "vmm/arch/arm64/arm64.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CORE_REG(field)                                                        \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |                 \
	 KVM_REG_ARM_CORE_REG(field))

/* EL1 with its own stack pointer, debug, SError, IRQ and FIQ masked. */
#define BOOT_PSTATE                                                            \
	(PSR_MODE_EL1h | PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT)

int arch_vcpu_init(struct vcpu *vcpu, struct err *e)
{
	struct kvm_vcpu_init init = vcpu->vm->arch->target;

	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (vcpu->id > 0)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init) < 0)
		return err_errno(e, "vcpu %u: KVM_ARM_VCPU_INIT", vcpu->id);
	return 0;
}

static int set_reg(struct vcpu *vcpu, uint64_t id, uint64_t val, struct err *e)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg) < 0)
		return err_errno(e, "vcpu %u: KVM_SET_ONE_REG %#llx", vcpu->id,
				 (unsigned long long)id);
	return 0;
}

int arm64_vcpu_set_boot_state(struct vcpu *vcpu,
			      const struct arm64_boot_entry *entry,
			      struct err *e)
{
	if (set_reg(vcpu, CORE_REG(regs.pstate), BOOT_PSTATE, e) < 0 ||
	    set_reg(vcpu, CORE_REG(regs.regs[0]), entry->fdt, e) < 0 ||
	    set_reg(vcpu, CORE_REG(regs.regs[1]), 0, e) < 0 ||
	    set_reg(vcpu, CORE_REG(regs.regs[2]), 0, e) < 0 ||
	    set_reg(vcpu, CORE_REG(regs.regs[3]), 0, e) < 0 ||
	    set_reg(vcpu, CORE_REG(regs.pc), entry->pc, e) < 0)
		return -1;
	return 0;
}

/* MMIO and PSCI's system events are all the exits an arm64 guest makes. */
bool arch_vcpu_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}

static unsigned long long get_reg(struct vcpu *vcpu, uint64_t id)
{
	uint64_t val = 0;
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(vcpu->fd, KVM_GET_ONE_REG, &reg) < 0)
		return ~0ULL;
	return val;
}

void arch_vcpu_dump(struct vcpu *vcpu)
{
	log_error("vcpu %u: pc=%#llx pstate=%#llx sp_el1=%#llx elr_el1=%#llx x0=%#llx x1=%#llx x2=%#llx x30=%#llx",
		  vcpu->id, get_reg(vcpu, CORE_REG(regs.pc)),
		  get_reg(vcpu, CORE_REG(regs.pstate)),
		  get_reg(vcpu, CORE_REG(sp_el1)),
		  get_reg(vcpu, CORE_REG(elr_el1)),
		  get_reg(vcpu, CORE_REG(regs.regs[0])),
		  get_reg(vcpu, CORE_REG(regs.regs[1])),
		  get_reg(vcpu, CORE_REG(regs.regs[2])),
		  get_reg(vcpu, CORE_REG(regs.regs[30])));
}
