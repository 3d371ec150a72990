/* SPDX-License-Identifier: MIT */
#ifndef VMM_ARCH_X86_X86_H
#define VMM_ARCH_X86_X86_H

#include <linux/kvm.h>

#include "boot/x86/boot.h"
#include "lib/util.h"

struct vcpu;

/* What an x86 VM keeps beside the common state. */
struct arch_vm {
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
	uint32_t power_button_gsi; /* the ACPI GED's interrupt, for the DSDT */
};

/* Puts the boot vCPU at the kernel's entry. */
int x86_vcpu_set_boot_state(struct vcpu *vcpu,
			    const struct boot_entry *entry, struct err *e);

/* CPUID as the guest sees it on vCPU @id of @nr_cpus (exposed for tests). */
void vcpu_adjust_cpuid(struct kvm_cpuid2 *cpuid, unsigned int id,
		       unsigned int nr_cpus);

#endif
