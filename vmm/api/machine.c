// SPDX-License-Identifier: MIT
#include "machine.h"

#include <stdlib.h>

#include "vmm/arch.h"

int machine_build(struct vm *vm, struct vm_config *cfg,
		  struct event_loop *loop,
		  const struct seccomp_filters *seccomp,
		  void (*on_exit)(struct vm *vm, void *opaque), void *opaque,
		  enum machine_error *why, struct err *e)
{
	char *cmdline = NULL;

	*why = MACHINE_ERR_HOST;
	if (vm_create(vm, cfg, loop, e) < 0) {
		if (vm->kvm.fd < 0 || vm->fd < 0)
			*why = MACHINE_ERR_NO_KVM;
		goto fail;
	}
	vm->on_exit = on_exit;
	vm->on_exit_opaque = opaque;
	vm->seccomp = seccomp;
	if (arch_create_devices(vm, e) < 0 || !(cmdline = arch_cmdline(vm, e)))
		goto fail;
	if (arch_vm_boot(vm, cmdline, e) < 0) {
		*why = MACHINE_ERR_BAD_IMAGE;
		goto fail;
	}
	free(cmdline);
	cmdline = NULL;
	if (vm_start(vm, e) < 0)
		goto fail;
	return 0;
fail:
	free(cmdline);
	/* No exit callback while tearing down what was built. */
	vm->on_exit = NULL;
	vm_destroy(vm);
	return -1;
}
