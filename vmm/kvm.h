/* SPDX-License-Identifier: MIT */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <linux/kvm.h>

#include "lib/util.h"

/* The /dev/kvm system handle and what it told us about the host. */
struct kvm {
	int fd;
	int vcpu_mmap_size;
	int max_vcpus;
};

/*
 * Opens /dev/kvm and checks the API version and every capability the VMM
 * relies on, the architecture's (arch_kvm_caps) included; each failure
 * gets its own message.
 */
int kvm_open(struct kvm *kvm, const char *path, struct err *e);
void kvm_close(struct kvm *kvm);

#endif
