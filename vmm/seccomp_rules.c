// SPDX-License-Identifier: MIT
/*
 * What each kind of thread may call once the VM is set up. To allow a
 * call, add it to the table of the thread that makes it (the SIGSYS log
 * line names both), to the arch table below when its name exists on one
 * architecture only, and say why in docs/security.md if it widens what a
 * compromised thread could do.
 *
 *   basic      every thread: memory, locks, signals, logging, exit
 *   vcpu       KVM_RUN and what a register access hands to the loop
 *   loop       the event loop serving a built VM: sockets, AIO, timers
 *   build      the event loop that may still build a VM (CreateVM):
 *              opening files, /dev/kvm and TAPs, starting vCPU threads
 *   snapshot   the same loop saving its VM (SnapshotVM) or restoring one
 *              (RestoreVM): the parked vCPUs' and the chips' state, the
 *              snapshot's files written and made durable
 *   sanitizer  the ASan/LSan runtime, in sanitized builds only
 */
#include "seccomp_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <seccomp.h>

#define SYS(name) { .nr = SCMP_SYS(name), .arg = -1 }
/* @name with argument @n (its low 32 bits) equal to @v. */
#define SYS_ARG(name, n, v)                                                    \
	{ .nr = SCMP_SYS(name), .arg = (n), .mask = 0xffffffffULL, .val = (v) }
/* @name with the bits @m of argument @n equal to @v. */
#define SYS_MASKED(name, n, m, v)                                              \
	{ .nr = SCMP_SYS(name), .arg = (n), .mask = (m), .val = (v) }
/* @name failing with @e, so the C library takes its fallback. */
#define SYS_ERRNO(name, e) { .nr = SCMP_SYS(name), .arg = -1, .err = (e) }
/* The kernel reads an ioctl's request as 32 bits. */
#define IOCTL(req) SYS_ARG(ioctl, 1, req)

#define TABLE(t) { #t, t, ARRAY_SIZE(t) }

static const struct seccomp_rule basic[] = {
	SYS(read),
	SYS(write),
	SYS(readv),
	SYS(writev),
	SYS(close),
	SYS(futex),
	SYS(mmap),
	SYS(munmap),
	SYS(mremap),
	SYS(mprotect),
	SYS(madvise),
	SYS(brk),
	SYS(rt_sigreturn),
	SYS(rt_sigprocmask),
	SYS(restart_syscall),
	SYS(clock_gettime),
	SYS(clock_nanosleep),
	SYS(gettid),
	SYS(getpid),
	SYS(sched_yield),
	SYS(exit),
	SYS(exit_group),
	/* Signals to this process's own threads only (vCPU kicks, raise). */
	{ .nr = SCMP_SYS(tgkill), .arg = 0, .mask = ~0ULL, .own_pid = true },
	/* The SIGSYS handler names the thread and restores the terminal. */
	SYS_ARG(prctl, 0, PR_GET_NAME),
	IOCTL(TCSETS),
	IOCTL(TCSETSW),
};

static const struct seccomp_rule vcpu[] = {
	IOCTL(KVM_RUN),
	/* Device register writes: a level interrupt, a queue's doorbell. */
	IOCTL(KVM_IRQ_LINE),
	IOCTL(KVM_IOEVENTFD),
	/* virtio-net at DRIVER_OK: the TAP takes the guest's offloads. */
	IOCTL(TUNSETOFFLOAD),
	/* virtio-pci: the guest programs its MSI-X table entries. */
	IOCTL(KVM_SET_GSI_ROUTING),
};

static const struct seccomp_rule loop[] = {
	SYS(epoll_ctl),
	SYS(epoll_pwait),
	SYS(ppoll),
	/* Unix sockets only: the control socket, vsock and serial ends. */
	SYS_ARG(socket, 0, AF_UNIX),
	SYS_ARG(socketpair, 0, AF_UNIX),
	SYS(connect),
	SYS(accept4),
	SYS(recvfrom),
	SYS(recvmsg),
	SYS(sendto),
	SYS(sendmsg),
	SYS(shutdown),
	SYS_ARG(fcntl, 1, F_GETFL),
	SYS_ARG(fcntl, 1, F_SETFL),
	SYS_ARG(fcntl, 1, F_GETFD),
	SYS_ARG(fcntl, 1, F_SETFD),
	SYS(timerfd_settime),
	/* --shutdown-timeout arms a timer of its own at the first SIGTERM. */
	SYS(timerfd_create),
	SYS(eventfd2),
	/* --metrics: the file is rewritten through a temporary one. */
	SYS_ARG(openat, 2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC),
	/* virtio-blk. */
	SYS(io_submit),
	SYS(io_getevents),
	SYS(io_destroy),
	SYS(fdatasync),
	/* virtio-blk DISCARD, virtio-balloon: giving memory back. */
	SYS(fallocate),
	/* --firmware CODE,vars=VARS: the store is written back as the VM goes. */
	SYS(msync),
	/* Removing our own sockets at exit, checking they are ours. */
	SYS(unlinkat),
	SYS(newfstatat),
	SYS(fstat),
	IOCTL(KVM_IRQ_LINE),
	IOCTL(KVM_IOEVENTFD),
	/* virtio-pci: a reset the loop completes clears its MSI-X routes. */
	IOCTL(KVM_SET_GSI_ROUTING),
	/* A device going away (teardown, hot-unplug) unbinds its interrupts. */
	IOCTL(KVM_IRQFD),
	IOCTL(TCGETS),
};

static const struct seccomp_rule build[] = {
	SYS(openat),
	SYS(lseek),
	SYS(pread64),
	SYS(pwrite64),
	SYS(memfd_create),
	SYS(ftruncate),
	SYS(flock),
	SYS(statx),
	SYS(prlimit64),
	SYS(io_setup),
	SYS(timerfd_create),
	SYS(epoll_create1),
	SYS(bind),
	SYS(listen),
	SYS(getsockname),
	SYS(fchmodat),
	SYS(umask),
	SYS(getrandom),
	SYS(sysinfo),
	SYS(faccessat),
	SYS(faccessat2),
	SYS(rt_sigaction),
	SYS(sched_getaffinity),
	/* vCPU threads: threads only, never a new process. */
	SYS_MASKED(clone, 0, CLONE_THREAD, CLONE_THREAD),
	/* Its flags are out of reach of a filter: the C library falls back. */
	SYS_ERRNO(clone3, ENOSYS),
	SYS(set_robust_list),
	SYS(rseq),
	/* A new vCPU thread confines itself under this filter. */
	SYS_ARG(prctl, 0, PR_SET_NO_NEW_PRIVS),
	SYS_ARG(prctl, 0, PR_SET_NAME),
	SYS(seccomp),
	IOCTL(KVM_GET_API_VERSION),
	IOCTL(KVM_CHECK_EXTENSION),
	IOCTL(KVM_GET_VCPU_MMAP_SIZE),
	IOCTL(KVM_CREATE_VM),
	IOCTL(KVM_CREATE_VCPU),
	IOCTL(KVM_SET_USER_MEMORY_REGION),
	IOCTL(KVM_CREATE_IRQCHIP),
	IOCTL(KVM_IRQFD),
	IOCTL(TUNSETIFF),
	IOCTL(TUNGETIFF),
	IOCTL(TUNSETVNETHDRSZ),
	IOCTL(BLKGETSIZE64),
};

static const struct seccomp_rule snapshot[] = {
	SYS(mkdirat),
	SYS(renameat),
	SYS(fsync),
	/* Which huge pages of guest RAM were ever touched. */
	SYS(mincore),
	IOCTL(KVM_GET_MP_STATE),
	IOCTL(KVM_SET_MP_STATE),
	IOCTL(KVM_GET_VCPU_EVENTS),
	IOCTL(KVM_SET_VCPU_EVENTS),
};

/*
 * Calls whose names or numbers exist on one architecture only; each arch
 * says which of its tables join which thread's list.
 */
#if defined(__x86_64__)
static const struct seccomp_rule arch_vcpu[] = {
	/* The registers of a vCPU that stopped on an error, for the log. */
	IOCTL(KVM_GET_REGS),
	IOCTL(KVM_GET_SREGS),
	/* The UEFI variable store's flash maps its array in and out. */
	IOCTL(KVM_SET_USER_MEMORY_REGION),
};

static const struct seccomp_rule arch_loop[] = {
	SYS(epoll_wait),
	SYS(poll),
	SYS(unlink),
	SYS(rename),
	SYS(stat),
	SYS(lstat),
};

static const struct seccomp_rule arch_build[] = {
	SYS(open),
	SYS(access),
	SYS(chmod),
	SYS(readlink),
	IOCTL(KVM_GET_SUPPORTED_CPUID),
	IOCTL(KVM_SET_CPUID2),
	IOCTL(KVM_SET_MSRS),
	IOCTL(KVM_GET_LAPIC),
	IOCTL(KVM_SET_LAPIC),
	IOCTL(KVM_SET_FPU),
	IOCTL(KVM_SET_REGS),
	IOCTL(KVM_SET_SREGS),
	IOCTL(KVM_SET_TSS_ADDR),
	IOCTL(KVM_SET_IDENTITY_MAP_ADDR),
	IOCTL(KVM_CREATE_PIT2),
};

static const struct seccomp_rule arch_snapshot[] = {
	SYS(mkdir),
	IOCTL(KVM_GET_MSR_INDEX_LIST),
	IOCTL(KVM_GET_MSRS),
	IOCTL(KVM_GET_XSAVE),
	IOCTL(KVM_GET_XSAVE2),
	IOCTL(KVM_SET_XSAVE),
	IOCTL(KVM_GET_XCRS),
	IOCTL(KVM_SET_XCRS),
	IOCTL(KVM_GET_TSC_KHZ),
	IOCTL(KVM_SET_TSC_KHZ),
	IOCTL(KVM_GET_DEBUGREGS),
	IOCTL(KVM_SET_DEBUGREGS),
	IOCTL(KVM_GET_IRQCHIP),
	IOCTL(KVM_SET_IRQCHIP),
	IOCTL(KVM_GET_PIT2),
	IOCTL(KVM_SET_PIT2),
	IOCTL(KVM_GET_CLOCK),
	IOCTL(KVM_SET_CLOCK),
};

#define ARCH_VCPU TABLE(arch_vcpu),
#define ARCH_LOOP TABLE(arch_loop),
#define ARCH_BUILD TABLE(arch_build),
#define ARCH_SNAPSHOT TABLE(arch_snapshot),
#elif defined(__aarch64__)
static const struct seccomp_rule arch_loop[] = {
	SYS(renameat),
};

static const struct seccomp_rule arch_vcpu[] = {
	IOCTL(KVM_GET_ONE_REG),
};

static const struct seccomp_rule arch_build[] = {
	IOCTL(KVM_GET_ONE_REG),
	IOCTL(KVM_SET_ONE_REG),
	IOCTL(KVM_ARM_VCPU_INIT),
	IOCTL(KVM_ARM_PREFERRED_TARGET),
	IOCTL(KVM_CREATE_DEVICE),
	IOCTL(KVM_SET_DEVICE_ATTR),
};

static const struct seccomp_rule arch_snapshot[] = {
	IOCTL(KVM_GET_REG_LIST),
	/* The GIC's distributor, redistributor and CPU interface registers. */
	IOCTL(KVM_GET_DEVICE_ATTR),
};

#define ARCH_VCPU TABLE(arch_vcpu),
#define ARCH_LOOP TABLE(arch_loop),
#define ARCH_BUILD TABLE(arch_build),
#define ARCH_SNAPSHOT TABLE(arch_snapshot),
#else
#error "vmm/seccomp_rules.c: no seccomp tables for this architecture"
#endif

/*
 * The sanitizers' runtime: at exit LeakSanitizer stops the threads from
 * a helper it clones and ptraces, and reads /proc/self/maps. Compiled
 * only into sanitized builds, never into build/vmm.
 */
#if defined(__SANITIZE_ADDRESS__)
static const struct seccomp_rule sanitizer[] = {
	SYS(clone),
	SYS(ptrace),
	SYS(wait4),
	SYS(prctl),
	SYS(openat),
	SYS(open),
	SYS(sigaltstack),
	SYS(rt_sigaction),
	SYS(getppid),
	SYS(readlink),
	SYS(pipe2),
	SYS(getrlimit),
	SYS(prlimit64),
	SYS(sched_getaffinity),
	SYS(newfstatat),
	SYS(fstat),
	SYS(lseek),
	SYS(getdents64),
#if defined(__x86_64__)
	SYS(getdents),
#endif
	SYS(dup),
	SYS(dup2),
	SYS(kill),
};
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER TABLE(sanitizer),
#else
#define SANITIZER
#endif

/*
 * Each kind of thread's tables; the build list includes its vCPUs', and
 * only a loop serving the control socket saves and restores VMs.
 */
static const struct seccomp_table vcpu_tables[] = {
	TABLE(basic), TABLE(vcpu), ARCH_VCPU SANITIZER
};
static const struct seccomp_table loop_tables[] = {
	TABLE(basic), TABLE(loop), ARCH_LOOP SANITIZER
};
static const struct seccomp_table loop_api_tables[] = {
	TABLE(basic), TABLE(loop), ARCH_LOOP TABLE(build), ARCH_BUILD
	TABLE(vcpu), ARCH_VCPU TABLE(snapshot), ARCH_SNAPSHOT SANITIZER
};

unsigned int seccomp_rules_for(enum seccomp_thread t,
			       const struct seccomp_table **out)
{
	switch (t) {
	case SECCOMP_THREAD_VCPU:
		*out = vcpu_tables;
		return ARRAY_SIZE(vcpu_tables);
	case SECCOMP_THREAD_LOOP:
		*out = loop_tables;
		return ARRAY_SIZE(loop_tables);
	case SECCOMP_THREAD_LOOP_API:
		*out = loop_api_tables;
		return ARRAY_SIZE(loop_api_tables);
	case SECCOMP_NR_THREADS:
		break;
	}
	return 0;
}
