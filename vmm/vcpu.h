/* SPDX-License-Identifier: MIT */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

struct vm;

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

/* Creates vCPU @id in the reset state a kernel expects (arch_vcpu_init). */
int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out,
		struct err *e);
void vcpu_destroy(struct vcpu *vcpu);

int vcpu_start(struct vcpu *vcpu, struct err *e);
/* Forces the vCPU out of KVM_RUN so it notices a pause or exit request. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
/* CPU time the vCPU's thread has used, in ns (final once it ended). */
uint64_t vcpu_cpu_time_ns(struct vcpu *vcpu);

/* Installs the signal used by vcpu_kick(); call once before any vCPU runs. */
int vcpu_init_signals(struct err *e);

#endif
