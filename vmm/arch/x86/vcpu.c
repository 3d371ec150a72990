// SPDX-License-Identifier: MIT
/*
 * An x86 vCPU: CPUID, MSRs, the local APIC and the FPU at reset, the boot
 * registers, port I/O exits and the register dump.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/arch.h"
#include "vmm/arch/x86/x86.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define MISC_ENABLE_FAST_STRING (1ULL << 0)
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WRBACK 6ULL

#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_EDX_HTT (1U << 28)

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static unsigned int bits_for(unsigned int n)
{
	unsigned int bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

/*
 * One package holding @nr_cpus cores of one thread each, APIC id = vCPU
 * index, so the topology the kernel derives from CPUID matches the MADT.
 */
void vcpu_adjust_cpuid(struct kvm_cpuid2 *cpuid, unsigned int id,
		       unsigned int nr_cpus)
{
	unsigned int core_bits = bits_for(nr_cpus);

	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *c = &cpuid->entries[i];

		switch (c->function) {
		case 1:
			c->ebx = (c->ebx & 0x0000ffff) | (id << 24) |
				 ((nr_cpus > 1 ? nr_cpus : 1) << 16);
			c->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (nr_cpus > 1)
				c->edx |= CPUID_1_EDX_HTT;
			else
				c->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 4:
			/* Cores per package, minus one, in EAX[31:26]. */
			c->eax = (c->eax & 0x03ffffff) | ((nr_cpus - 1) << 26);
			/* Each cache is shared by one thread only. */
			c->eax &= ~(0xfffU << 14);
			break;
		case 0xb:
		case 0x1f:
			c->edx = id;
			if (c->index == 0) {
				c->eax = 0;
				c->ebx = 1;
				c->ecx = 0 | (1 << 8); /* SMT level */
			} else if (c->index == 1) {
				c->eax = core_bits;
				c->ebx = nr_cpus;
				c->ecx = 1 | (2 << 8); /* core level */
			} else {
				c->eax = c->ebx = 0;
				c->ecx = c->index;
			}
			break;
		case 0x80000008:
			/* AMD: number of cores minus one. */
			c->ecx = (c->ecx & ~0xffU) | ((nr_cpus - 1) & 0xff);
			break;
		}
	}
}

int x86_vcpu_set_cpuid(struct vcpu *vcpu, struct kvm_cpuid2 *cpuid,
		       struct err *e)
{
	struct kvm_cpuid2 **kept = &vcpu->vm->arch->vcpu_cpuid[vcpu->id];

	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0) {
		free(cpuid);
		return err_errno(e, "vcpu %u: KVM_SET_CPUID2", vcpu->id);
	}
	free(*kept);
	*kept = cpuid;
	return 0;
}

static int vcpu_set_cpuid(struct vcpu *vcpu, struct err *e)
{
	const struct kvm_cpuid2 *host = vcpu->vm->arch->cpuid;
	size_t size = sizeof(*host) + host->nent * sizeof(host->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(size);

	if (!cpuid)
		return err_set(e, "vcpu %u: out of memory for CPUID", vcpu->id);
	memcpy(cpuid, host, size);
	vcpu_adjust_cpuid(cpuid, vcpu->id, vcpu->vm->nr_vcpus);
	return x86_vcpu_set_cpuid(vcpu, cpuid, e);
}

static int vcpu_set_msrs(struct vcpu *vcpu, struct err *e)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} reset_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[ARRAY_SIZE(reset_msrs)];
	} msrs;
	int ret;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = ARRAY_SIZE(reset_msrs);
	for (size_t i = 0; i < ARRAY_SIZE(reset_msrs); i++) {
		msrs.entries[i].index = reset_msrs[i].index;
		msrs.entries[i].data = reset_msrs[i].data;
	}
	ret = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (ret < 0)
		return err_errno(e, "vcpu %u: KVM_SET_MSRS", vcpu->id);
	if (ret != (int)ARRAY_SIZE(reset_msrs))
		return err_set(e, "vcpu %u: KVM refused MSR %#x at reset",
			       vcpu->id, msrs.entries[ret].index);
	return 0;
}

static void lapic_set_lvt_mode(struct kvm_lapic_state *lapic, int reg,
			       uint32_t mode)
{
	uint32_t v = get_le32(&lapic->regs[reg]);

	put_le32(&lapic->regs[reg], (v & ~0x700U) | (mode << 8));
}

/* The PIC reaches the BSP through LINT0 (ExtINT); LINT1 carries NMIs. */
static int vcpu_set_lapic(struct vcpu *vcpu, struct err *e)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return err_errno(e, "vcpu %u: KVM_GET_LAPIC", vcpu->id);
	lapic_set_lvt_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_lvt_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return err_errno(e, "vcpu %u: KVM_SET_LAPIC", vcpu->id);
	return 0;
}

static int vcpu_set_fpu(struct vcpu *vcpu, struct err *e)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return err_errno(e, "vcpu %u: KVM_SET_FPU", vcpu->id);
	return 0;
}

int arch_vcpu_init(struct vcpu *vcpu, struct err *e)
{
	if (vcpu_set_cpuid(vcpu, e) < 0 || vcpu_set_msrs(vcpu, e) < 0 ||
	    vcpu_set_lapic(vcpu, e) < 0 || vcpu_set_fpu(vcpu, e) < 0)
		return -1;
	return 0;
}

int x86_vcpu_set_boot_state(struct vcpu *vcpu,
			    const struct boot_entry *entry, struct err *e)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return err_errno(e, "vcpu %u: KVM_GET_SREGS", vcpu->id);
	memset(&regs, 0, sizeof(regs));
	boot_setup_regs(entry, &regs, &sregs);
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return err_errno(e, "vcpu %u: KVM_SET_SREGS", vcpu->id);
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return err_errno(e, "vcpu %u: KVM_SET_REGS", vcpu->id);
	return 0;
}

static void x86_vcpu_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint64_t total = (uint64_t)run->io.size * run->io.count;

	if (!range_ok(run->io.data_offset, total,
		      (uint64_t)vcpu->vm->kvm.vcpu_mmap_size))
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(&vcpu->vm->pio, run->io.port, data,
				  run->io.size);
		else
			bus_read(&vcpu->vm->pio, run->io.port, data,
				 run->io.size);
	}
}

bool arch_vcpu_exit(struct vcpu *vcpu)
{
	if (vcpu->run->exit_reason != KVM_EXIT_IO)
		return false;
	x86_vcpu_io(vcpu);
	return true;
}

/*
 * KVM stopped because its instruction emulator could not run the guest's
 * instruction at @rip. Where the host emulates every guest instruction
 * (no VT-x/AMD-V), an instruction it lacks ends any guest that uses one.
 */
static void x86_report_emulation_failure(struct vcpu *vcpu, uint64_t rip)
{
	struct kvm_run *run = vcpu->run;
	char bytes[16 * 3] = "";
	size_t used = 0;

	if (run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags &
	     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned int n = MIN(run->emulation_failure.insn_size,
				     (unsigned int)sizeof(run->emulation_failure.insn_bytes));

		for (unsigned int i = 0; i < n; i++)
			used += (size_t)snprintf(bytes + used, sizeof(bytes) - used,
						 "%s%02x", i ? " " : "",
						 run->emulation_failure.insn_bytes[i]);
	}
	log_error("vcpu %u: KVM could not emulate the instruction at rip=%#llx (bytes from rip: %s)",
		  vcpu->id, (unsigned long long)rip,
		  used ? bytes : "not given by KVM");
	if (vcpu->vm->host_emulation)
		log_error("vcpu %u: the host emulates guest instructions; this one is not supported there",
			  vcpu->id);
}

void arch_vcpu_dump(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return;
	if (vcpu->run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    vcpu->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
		x86_report_emulation_failure(vcpu, r.rip);
	log_error("vcpu %u: rip=%#llx rsp=%#llx rflags=%#llx rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx",
		  vcpu->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
		  r.rsi, r.rdi);
	log_error("vcpu %u: cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx efer=%#llx cs=%#x ss=%#x",
		  vcpu->id, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector,
		  s.ss.selector);
}
