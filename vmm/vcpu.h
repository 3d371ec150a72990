/* SPDX-License-Identifier: MIT */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

struct vm;
struct boot_entry;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool confined;   /* its seccomp filter is installed */
	bool exited;     /* the thread is past its last guest instruction */
	uint64_t cpu_ns; /* the thread's CPU time when it ended */
};

/* Creates vCPU @id with CPUID, MSRs, LAPIC and FPU as a kernel expects. */
int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out,
		struct err *e);
void vcpu_destroy(struct vcpu *vcpu);

/* Puts the boot vCPU at the kernel's entry. */
int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_entry *entry,
			struct err *e);

int vcpu_start(struct vcpu *vcpu, struct err *e);
/* Forces the vCPU out of KVM_RUN so it notices a pause or exit request. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
/* CPU time the vCPU's thread has used, in ns (final once it ended). */
uint64_t vcpu_cpu_time_ns(struct vcpu *vcpu);

/* Installs the signal used by vcpu_kick(); call once before any vCPU runs. */
int vcpu_init_signals(struct err *e);

/* CPUID as the guest sees it on vCPU @id of @nr_cpus (exposed for tests). */
void vcpu_adjust_cpuid(struct kvm_cpuid2 *cpuid, unsigned int id,
		       unsigned int nr_cpus);

#endif
