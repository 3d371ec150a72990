// SPDX-License-Identifier: MIT
#include "machine.h"

#include <stdlib.h>

#include "vmm/arch.h"
#include "vmm/snapshot.h"
#include "vmm/cli.h"
#include "vmm/vm_devices.h"

/*
 * Said as the VM starts: on a host whose KVM emulates guest instructions,
 * guests run far slower, and one whose kernel uses an instruction the
 * emulator lacks stops; the user should know before a guest fails so.
 */
static void note_host_emulation(struct vm *vm)
{
	const char *why = arch_host_emulation();

	/* Kept for the vCPUs, whose filters allow no file system calls. */
	vm->host_emulation = why;
	if (why)
		log_warn("this host's KVM emulates guest instructions (%s): guests run much slower than on VT-x or AMD-V, and the VM stops when the guest kernel uses an instruction the emulator lacks (such as cmpxchg16b, xrstor or some x87 ones)",
			 why);
}

/* The VM without its devices, @on_exit and @seccomp installed. */
static int machine_create(struct vm *vm, struct vm_config *cfg,
			  struct event_loop *loop, struct metrics *metrics,
			  const struct seccomp_filters *seccomp,
			  void (*on_exit)(struct vm *vm, void *opaque),
			  void *opaque, int mem_fd, enum machine_error *why,
			  struct err *e)
{
	*why = MACHINE_ERR_HOST;
	if (vm_create(vm, cfg, loop, metrics, mem_fd, e) < 0) {
		if (vm->kvm.fd < 0 || vm->fd < 0)
			*why = MACHINE_ERR_NO_KVM;
		return -1;
	}
	vm->on_exit = on_exit;
	vm->on_exit_opaque = opaque;
	vm->seccomp = seccomp;
	return 0;
}

int machine_build(struct vm *vm, struct vm_config *cfg,
		  struct event_loop *loop, struct metrics *metrics,
		  const struct seccomp_filters *seccomp,
		  void (*on_exit)(struct vm *vm, void *opaque), void *opaque,
		  enum machine_error *why, struct err *e)
{
	char *cmdline = NULL;

	if (machine_create(vm, cfg, loop, metrics, seccomp, on_exit, opaque,
			   -1, why, e) < 0)
		goto fail;
	if (arch_create_devices(vm, e) < 0 || !(cmdline = arch_cmdline(vm, e)))
		goto fail;
	if (arch_vm_boot(vm, cmdline, e) < 0) {
		*why = MACHINE_ERR_BAD_IMAGE;
		goto fail;
	}
	free(cmdline);
	cmdline = NULL;
	note_host_emulation(vm);
	if (vm_start(vm, e) < 0)
		goto fail;
	log_info("booting %s: %u vCPUs, %llu MiB of RAM, %u virtio devices",
		 cfg->firmware ? cfg->firmware : cfg->kernel, cfg->nr_cpus,
		 (unsigned long long)cfg->mem_mib,
		 vm_nr_virtio_devices(vm));
	return 0;
fail:
	free(cmdline);
	/* No exit callback while tearing down what was built. */
	vm->on_exit = NULL;
	vm_destroy(vm);
	return -1;
}

int machine_restore(struct vm *vm, struct snapshot *snap,
		    struct vm_config *cfg, struct event_loop *loop,
		    struct metrics *metrics,
		    const struct seccomp_filters *seccomp,
		    void (*on_exit)(struct vm *vm, void *opaque), void *opaque,
		    enum machine_error *why, struct err *e)
{
	int fd = snapshot_memory_fd(snap, cfg, e);

	/* What the snapshot holds is the image here; host resources are not. */
	*why = MACHINE_ERR_BAD_IMAGE;
	if (fd < 0)
		return -1;
	if (machine_create(vm, cfg, loop, metrics, seccomp, on_exit, opaque,
			   fd, why, e) < 0 ||
	    arch_create_devices(vm, e) < 0)
		goto fail;
	/* Its refusals name the state file. */
	if (vm_restore_state(vm, snap, e) < 0) {
		*why = MACHINE_ERR_BAD_IMAGE;
		vm->on_exit = NULL;
		vm_destroy(vm);
		return -1;
	}
	note_host_emulation(vm);
	if (vm_start(vm, e) < 0)
		goto fail;
	return 0;
fail:
	vm->on_exit = NULL;
	vm_destroy(vm);
	return err_prefix(e, "snapshot %s", snap->dir);
}

int machine_error_status(enum machine_error why)
{
	switch (why) {
	case MACHINE_ERR_NO_KVM:
		return VMM_EXIT_NO_KVM;
	case MACHINE_ERR_BAD_IMAGE:
		return VMM_EXIT_BAD_IMAGE;
	case MACHINE_ERR_HOST:
		break;
	}
	return VMM_EXIT_HOST_ERROR;
}

int machine_exit_status(enum vm_exit_reason reason, int status)
{
	switch (reason) {
	case VM_EXIT_GUEST_STATUS:
		return status;
	case VM_EXIT_POWEROFF:
		log_info("guest powered off");
		return VMM_EXIT_OK;
	case VM_EXIT_RESET:
		log_info("guest reset; the VM ends");
		return VMM_EXIT_OK;
	case VM_EXIT_SIGNAL:
		return VMM_EXIT_SIGNAL_BASE + status;
	case VM_EXIT_VCPU_ERROR:
		return VMM_EXIT_VCPU_ERROR;
	case VM_EXIT_NONE:
	case VM_EXIT_TEARDOWN:
		break;
	}
	return VMM_EXIT_HOST_ERROR;
}
