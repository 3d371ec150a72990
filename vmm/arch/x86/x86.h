/* SPDX-License-Identifier: MIT */
#ifndef VMM_ARCH_X86_X86_H
#define VMM_ARCH_X86_X86_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>

#include "boot/x86/boot.h"
#include "lib/util.h"

struct fw_cfg;
struct guest_mem;
struct pci_layout;
struct vcpu;

/* What an x86 VM keeps beside the common state. */
struct arch_vm {
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
	/*
	 * What each vCPU was given with KVM_SET_CPUID2, which a snapshot
	 * saves (KVM_GET_CPUID2 may answer with more on some hosts).
	 */
	struct kvm_cpuid2 **vcpu_cpuid;
	/* With --firmware: its read-only mapping below 4 GiB, and fw_cfg. */
	uint8_t *firmware;
	size_t firmware_size;
	struct fw_cfg *fw_cfg;
	uint32_t power_button_gsi; /* the ACPI GED's interrupt, for the DSDT */
};

/* Gives vCPU @vcpu the CPUID @cpuid, which the VM keeps from then on. */
int x86_vcpu_set_cpuid(struct vcpu *vcpu, struct kvm_cpuid2 *cpuid,
		       struct err *e);

/* Puts the boot vCPU at the kernel's entry. */
int x86_vcpu_set_boot_state(struct vcpu *vcpu,
			    const struct boot_entry *entry, struct err *e);

/*
 * Where the PCI bus decodes for guest memory @mem: ECAM, the 32-bit
 * aperture below 4 GiB and the 64-bit one above RAM, and the slots' INTx
 * lines (layout.h).
 */
void x86_pci_layout(const struct guest_mem *mem, unsigned int phys_bits,
		    struct pci_layout *l);

/* CPUID as the guest sees it on vCPU @id of @nr_cpus (exposed for tests). */
void vcpu_adjust_cpuid(struct kvm_cpuid2 *cpuid, unsigned int id,
		       unsigned int nr_cpus);

/*
 * Whether the first "flags" line of /proc/cpuinfo text @cpuinfo names vmx
 * or svm (exposed for tests).
 */
bool x86_cpuinfo_has_hw_virt(FILE *cpuinfo);

#endif
