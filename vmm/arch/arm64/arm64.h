/* SPDX-License-Identifier: MIT */
#ifndef VMM_ARCH_ARM64_ARM64_H
#define VMM_ARCH_ARM64_ARM64_H

#include <linux/kvm.h>

#include "boot/arm64/boot.h"
#include "lib/util.h"

struct vcpu;

/* What an arm64 VM keeps beside the common state. */
struct arch_vm {
	struct kvm_vcpu_init target; /* KVM_ARM_PREFERRED_TARGET */
	int gic_fd;
	unsigned int gic_version;
};

/* Puts the boot vCPU at the kernel's entry. */
int arm64_vcpu_set_boot_state(struct vcpu *vcpu,
			      const struct arm64_boot_entry *entry,
			      struct err *e);

#endif
