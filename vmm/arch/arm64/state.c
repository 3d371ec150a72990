// SPDX-License-Identifier: MIT
/*
 * arm64 snapshots are refused: saving a VM here needs the vGIC's
 * distributor, redistributor and CPU interface registers and the timers
 * restored in the order the kernel's vGIC accepts them, which is not
 * done yet. docs/snapshot.md says so.
 */
#include "vmm/arch.h"

const char arch_name[] = "aarch64";

static int refuse(struct err *e)
{
	return err_set(e, "snapshots are not supported on arm64 hosts yet (docs/snapshot.md)");
}

int arch_vm_save(struct vm *vm, struct state_writer *w, struct err *e)
{
	(void)vm, (void)w;
	return refuse(e);
}

int arch_vm_restore(struct vm *vm, const struct state_section *s,
		    struct err *e)
{
	(void)vm, (void)s;
	return refuse(e);
}

int arch_vcpu_save(struct vcpu *vcpu, struct state_writer *w, struct err *e)
{
	(void)vcpu, (void)w;
	return refuse(e);
}

int arch_vcpu_restore(struct vcpu *vcpu, const struct state_section *s,
		      struct err *e)
{
	(void)vcpu, (void)s;
	return refuse(e);
}
