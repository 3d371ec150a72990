/* SPDX-License-Identifier: MIT */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"
#include "vmm/metrics.h"

struct vm;

/* Why KVM_RUN returned, as the vCPU's metrics count it. */
enum vcpu_exit_kind {
	VCPU_EXIT_IO,
	VCPU_EXIT_MMIO,
	VCPU_EXIT_HLT,
	VCPU_EXIT_INTR,
	VCPU_EXIT_SYSTEM_EVENT,
	VCPU_EXIT_SHUTDOWN,
	VCPU_EXIT_ERROR,
	VCPU_EXIT_OTHER,
	VCPU_EXIT_NR,
};

/* Written by the vCPU's own thread only (metric_add_own()). */
struct vcpu_metrics {
	uint64_t exits[VCPU_EXIT_NR];
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool confined;   /* its seccomp filter is installed */
	bool exited;     /* the thread is past its last guest instruction */
	bool exit_pending; /* KVM_RUN must be entered to finish the last exit */
	uint64_t cpu_ns; /* the thread's CPU time when it ended */
	struct vcpu_metrics counters;
	struct metrics_group metrics; /* "vcpu", id: the vCPU's index */
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
