/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_MACHINE_H
#define VMM_API_MACHINE_H

#include "vmm/vm.h"

/*
 * Building a VM from a config, the same way for the command line and for
 * the control socket's CreateVM.
 */

/* Which step failed, so the command line can pick its exit status. */
enum machine_error {
	MACHINE_ERR_NO_KVM,    /* /dev/kvm is missing, forbidden or lacking */
	MACHINE_ERR_BAD_IMAGE, /* the kernel or initrd cannot be loaded, or
				  the snapshot cannot be restored here */
	MACHINE_ERR_HOST,      /* any other host resource */
};

/*
 * Creates the VM on @loop with its devices, loads the kernel and starts
 * the vCPU threads, paused (vm_resume() runs them); each confines itself
 * with @seccomp (NULL: no filter) before it first runs. @on_exit is
 * installed before anything runs. On failure the VM is already destroyed.
 */
int machine_build(struct vm *vm, struct vm_config *cfg,
		  struct event_loop *loop, struct metrics *metrics,
		  const struct seccomp_filters *seccomp,
		  void (*on_exit)(struct vm *vm, void *opaque), void *opaque,
		  enum machine_error *why, struct err *e);

/*
 * The same from a snapshot (vmm/snapshot.h), paused: the snapshot's
 * devices created from @cfg (the snapshot's config, overrides applied,
 * which the VM points to from then on), then everything in its saved
 * state. On failure the VM is already destroyed, or was never created.
 */
struct snapshot;
int machine_restore(struct vm *vm, struct snapshot *snap,
		    struct vm_config *cfg, struct event_loop *loop,
		    struct metrics *metrics,
		    const struct seccomp_filters *seccomp,
		    void (*on_exit)(struct vm *vm, void *opaque), void *opaque,
		    enum machine_error *why, struct err *e);
/* The process exit status (vmm/cli.h) for a build that failed with @why. */
int machine_error_status(enum machine_error why);
/*
 * The process exit status for a VM that stopped for @reason with
 * @status, as the command line reports it (README, "exit status").
 */
int machine_exit_status(enum vm_exit_reason reason, int status);

#endif
