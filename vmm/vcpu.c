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

#define VCPU_KICK_SIGNAL SIGUSR1

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

static int vcpu_set_cpuid(struct vcpu *vcpu, struct err *e)
{
	const struct kvm_cpuid2 *host = vcpu->vm->kvm.cpuid;
	size_t size = sizeof(*host) + host->nent * sizeof(host->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(size);
	int ret;

	if (!cpuid)
		return err_set(e, "vcpu %u: out of memory for CPUID", vcpu->id);
	memcpy(cpuid, host, size);
	vcpu_adjust_cpuid(cpuid, vcpu->id, vcpu->vm->nr_vcpus);
	ret = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (ret < 0)
		return err_errno(e, "vcpu %u: KVM_SET_CPUID2", vcpu->id);
	return 0;
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

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out,
		struct err *e)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));

	if (!vcpu)
		return err_set(e, "vcpu %u: out of memory", id);
	vcpu->vm = vm;
	vcpu->id = id;
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
	if (vcpu_set_cpuid(vcpu, e) < 0 || vcpu_set_msrs(vcpu, e) < 0 ||
	    vcpu_set_lapic(vcpu, e) < 0 || vcpu_set_fpu(vcpu, e) < 0)
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

int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_entry *entry,
			struct err *e)
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
	struct kvm_regs r;
	struct kvm_sregs s;
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
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return;
	log_error("vcpu %u: rip=%#llx rsp=%#llx rflags=%#llx rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx",
		  vcpu->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx,
		  r.rsi, r.rdi);
	log_error("vcpu %u: cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx efer=%#llx cs=%#x ss=%#x",
		  vcpu->id, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector,
		  s.ss.selector);
}

static void vcpu_handle_io(struct vcpu *vcpu)
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

/* Returns false when the vCPU must stop running. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	switch (vcpu->run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
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

	while (vcpu_wait_runnable(vcpu) && vcpu_confine(vcpu)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&vcpu->run->immediate_exit, 0,
						 __ATOMIC_RELEASE);
				continue;
			}
			log_error("vcpu %u: KVM_RUN: %s", vcpu->id,
				  strerror(errno));
			vm_request_exit(vcpu->vm, VM_EXIT_VCPU_ERROR, 0);
			break;
		}
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
