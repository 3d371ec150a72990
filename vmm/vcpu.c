// SPDX-License-Identifier: MIT
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"
#include "vmm/arch.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_init_signals(struct err *e)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	/* No SA_RESTART: KVM_RUN must return EINTR to the vCPU thread. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return err_errno(e, "installing the vCPU kick signal handler");
	return 0;
}

#define EXIT_DESC(kind, reason)                                                \
	{ "exits", reason, METRIC_COUNTER,                                     \
	  offsetof(struct vcpu_metrics, exits[kind]),                          \
	  "Times the vCPU left KVM_RUN, by exit reason" }

static const struct metric_desc vcpu_metric_descs[] = {
	EXIT_DESC(VCPU_EXIT_IO, "io"),
	EXIT_DESC(VCPU_EXIT_MMIO, "mmio"),
	EXIT_DESC(VCPU_EXIT_HLT, "hlt"),
	EXIT_DESC(VCPU_EXIT_INTR, "intr"),
	EXIT_DESC(VCPU_EXIT_SYSTEM_EVENT, "system_event"),
	EXIT_DESC(VCPU_EXIT_SHUTDOWN, "shutdown"),
	EXIT_DESC(VCPU_EXIT_ERROR, "error"),
	EXIT_DESC(VCPU_EXIT_OTHER, "other"),
};

static void vcpu_init_metrics(struct vcpu *vcpu)
{
	vcpu->metrics = (struct metrics_group){
		.subsystem = "vcpu", .id_label = "vcpu",
		.variant_label = "reason", .descs = vcpu_metric_descs,
		.nr_descs = ARRAY_SIZE(vcpu_metric_descs),
		.block = &vcpu->counters,
	};
	snprintf(vcpu->metrics.id, sizeof(vcpu->metrics.id), "%u", vcpu->id);
}

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out,
		struct err *e)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (!vcpu)
		return err_set(e, "vcpu %u: out of memory", id);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu_init_metrics(vcpu);
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		err_errno(e, "vcpu %u: KVM_CREATE_VCPU", id);
		free(vcpu);
		return -1;
	}
	vcpu->run = mmap(NULL, (size_t)vm->kvm.vcpu_mmap_size,
			 PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		err_errno(e, "vcpu %u: mapping kvm_run", id);
		goto fail;
	}
	if (arch_vcpu_init(vcpu, e) < 0)
		goto fail;
	*out = vcpu;
	return 0;
fail:
	vcpu_destroy(vcpu);
	return -1;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->vm->kvm.vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
}

static const char *vcpu_exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "unrecognised";
}

/* Logs why a vCPU cannot go on, with the state needed to debug the guest. */
static void vcpu_report_fatal(struct vcpu *vcpu, const char *why)
{
	struct kvm_run *run = vcpu->run;

	log_error("vcpu %u: %s (exit reason %u, %s)", vcpu->id, why,
		  run->exit_reason, vcpu_exit_name(run->exit_reason));
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		log_error("vcpu %u: internal error suberror %u", vcpu->id,
			  run->internal.suberror);
	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		log_error("vcpu %u: hardware entry failure reason %#llx",
			  vcpu->id,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	arch_vcpu_dump(vcpu);
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = MIN(run->mmio.len, (uint32_t)sizeof(run->mmio.data));

	if (run->mmio.is_write)
		bus_write(&vcpu->vm->mmio, run->mmio.phys_addr,
			  run->mmio.data, len);
	else
		bus_read(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			 len);
}

static void vcpu_handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_exit(vcpu->vm, VM_EXIT_POWEROFF, 0);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_exit(vcpu->vm, VM_EXIT_RESET, 0);
		break;
	default:
		vcpu_report_fatal(vcpu, "guest reported a system event this VMM does not handle");
		vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, 0);
	}
}

static enum vcpu_exit_kind vcpu_exit_kind(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO:
		return VCPU_EXIT_IO;
	case KVM_EXIT_MMIO:
		return VCPU_EXIT_MMIO;
	case KVM_EXIT_HLT:
		return VCPU_EXIT_HLT;
	case KVM_EXIT_INTR:
		return VCPU_EXIT_INTR;
	case KVM_EXIT_SYSTEM_EVENT:
		return VCPU_EXIT_SYSTEM_EVENT;
	case KVM_EXIT_SHUTDOWN:
		return VCPU_EXIT_SHUTDOWN;
	case KVM_EXIT_FAIL_ENTRY:
	case KVM_EXIT_INTERNAL_ERROR:
		return VCPU_EXIT_ERROR;
	}
	return VCPU_EXIT_OTHER;
}

/* Returns false when the vCPU must stop running. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	metric_add_own(&vcpu->counters.exits[vcpu_exit_kind(vcpu->run->exit_reason)],
		       1);
	switch (vcpu->run->exit_reason) {
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/*
		 * A triple fault. A PC would reset, but a guest gets here by
		 * crashing far more often than on purpose, so say where.
		 */
		vcpu_report_fatal(vcpu, "guest triple-faulted");
		vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_handle_system_event(vcpu);
		return false;
	default:
		if (arch_vcpu_exit(vcpu))
			return true;
		vcpu_report_fatal(vcpu, "guest stopped on an exit the VMM cannot handle");
		vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, 0);
		return false;
	}
}

/*
 * Blocks while the VM is paused. Returns false once the VM is exiting.
 * The unlocked peek keeps the common path (running, no request) lock-free.
 */
static bool vcpu_wait_runnable(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	bool runnable;

	if (!__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE) &&
	    __atomic_load_n(&vm->exit_reason, __ATOMIC_ACQUIRE) == VM_EXIT_NONE)
		return true;
	pthread_mutex_lock(&vm->state_lock);
	while (vm->paused && vm->exit_reason == VM_EXIT_NONE) {
		vm->nr_parked++;
		pthread_cond_broadcast(&vm->parked_cond);
		pthread_cond_wait(&vm->state_cond, &vm->state_lock);
		vm->nr_parked--;
	}
	runnable = vm->exit_reason == VM_EXIT_NONE;
	pthread_mutex_unlock(&vm->state_lock);
	return runnable;
}

/*
 * KVM finishes a port I/O or MMIO access (stores a read's value, moves
 * past the instruction) only when KVM_RUN is entered again, and nothing of
 * the unfinished access shows in the registers userspace can read. A
 * vCPU that is about to park therefore enters once more with
 * immediate_exit set: KVM completes the access and returns at once, and
 * the parked vCPU's state is whole (a snapshot saves it as it is).
 */
static void vcpu_complete_exit(struct vcpu *vcpu)
{
	if (!vcpu->exit_pending)
		return;
	vcpu->exit_pending = false;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (ioctl(vcpu->fd, KVM_RUN, 0) == 0 || errno != EINTR)
		log_warn("vcpu %u: KVM_RUN did not return at once to finish an access",
			 vcpu->id);
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_RELEASE);
}

static bool vcpu_must_stop(struct vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->vm->paused, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&vcpu->vm->exit_reason, __ATOMIC_ACQUIRE) !=
		       VM_EXIT_NONE;
}

static uint64_t thread_cpu_ns(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The vCPU's filter goes on before the guest first runs, not at thread
 * start: a paused VM's threads may still see the process drop its user
 * (glibc has every thread change its ids), which the filter forbids.
 */
static bool vcpu_confine(struct vcpu *vcpu)
{
	struct err e;

	if (vcpu->confined || !vcpu->vm->seccomp)
		return true;
	if (seccomp_filters_apply(vcpu->vm->seccomp, SECCOMP_THREAD_VCPU,
				  &e) < 0) {
		log_error("vcpu %u: %s", vcpu->id, e.msg);
		vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, 0);
		return false;
	}
	vcpu->confined = true;
	return true;
}

static void *vcpu_thread(void *opaque)
{
	struct vcpu *vcpu = opaque;
	char name[16];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);

	for (;;) {
		if (vcpu_must_stop(vcpu))
			vcpu_complete_exit(vcpu);
		if (!vcpu_wait_runnable(vcpu) || !vcpu_confine(vcpu))
			break;
		/* Any return finished the previous exit's access. */
		vcpu->exit_pending = false;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				metric_add_own(&vcpu->counters.exits[VCPU_EXIT_INTR],
					       1);
				__atomic_store_n(&vcpu->run->immediate_exit, 0,
						 __ATOMIC_RELEASE);
				continue;
			}
			log_error("vcpu %u: KVM_RUN: %s", vcpu->id,
				  strerror(errno));
			vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, 0);
			break;
		}
		vcpu->exit_pending = true;
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	__atomic_store_n(&vcpu->cpu_ns, thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&vcpu->exited, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vcpu->vm->state_lock);
	vcpu->vm->nr_running--;
	pthread_cond_broadcast(&vcpu->vm->parked_cond);
	pthread_mutex_unlock(&vcpu->vm->state_lock);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu, struct err *e)
{
	int ret;

	pthread_mutex_lock(&vcpu->vm->state_lock);
	vcpu->vm->nr_running++;
	pthread_mutex_unlock(&vcpu->vm->state_lock);
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret) {
		pthread_mutex_lock(&vcpu->vm->state_lock);
		vcpu->vm->nr_running--;
		pthread_mutex_unlock(&vcpu->vm->state_lock);
		errno = ret;
		return err_errno(e, "vcpu %u: starting its thread", vcpu->id);
	}
	__atomic_store_n(&vcpu->started, true, __ATOMIC_RELEASE);
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	/*
	 * immediate_exit covers a kick that lands before KVM_RUN, even before
	 * the thread exists; the signal covers a vCPU already inside it.
	 */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&vcpu->started, __ATOMIC_ACQUIRE))
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

uint64_t vcpu_cpu_time_ns(struct vcpu *vcpu)
{
	clockid_t clk;
	uint64_t ns;

	if (!vcpu->started || __atomic_load_n(&vcpu->exited, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&vcpu->cpu_ns, __ATOMIC_RELAXED);
	if (pthread_getcpuclockid(vcpu->thread, &clk))
		return __atomic_load_n(&vcpu->cpu_ns, __ATOMIC_RELAXED);
	ns = thread_cpu_ns(clk);
	/*
	 * A thread that ended meanwhile has no clock of its own any more (its
	 * id may name the caller's); it stored its final time before ending.
	 */
	if (__atomic_load_n(&vcpu->exited, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&vcpu->cpu_ns, __ATOMIC_RELAXED);
	return ns;
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->started)
		pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
}
