/* SPDX-License-Identifier: MIT */
#ifndef VMM_ARCH_H
#define VMM_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"
#include "vmm/memory.h"

/*
 * What differs between the architectures the VMM runs on. The core (vm.c,
 * vcpu.c, kvm.c) calls only these; vmm/arch/x86/ and vmm/arch/arm64/ each
 * implement all of them, and their layout.h gives the guest's addresses
 * and interrupt lines under the same names (LAYOUT_VIRTIO_MMIO,
 * LAYOUT_NR_GSI, LAYOUT_MIN_RAM, ...). Devices, virtio, the event loop and
 * the control API know nothing of this.
 */
#if defined(__x86_64__)
#include "vmm/arch/x86/layout.h"
#elif defined(__aarch64__)
#include "vmm/arch/arm64/layout.h"
#else
#error "the VMM runs on x86-64 and arm64 hosts"
#endif

struct kvm;
struct vm;
struct vcpu;
struct state_writer;
struct state_section;

/* A KVM capability the VMM cannot do without, and its name for messages. */
struct kvm_cap_need {
	int cap;
	const char *name;
};

/* The capabilities this architecture needs on top of the common ones. */
extern const struct kvm_cap_need arch_kvm_caps[];
extern const unsigned int arch_nr_kvm_caps;

/* The architecture's name as snapshots record it ("x86_64", "aarch64"). */
extern const char arch_name[];

/* Where guest RAM lies. */
extern const struct guest_ram_map arch_ram_map;

/* The kernel command line when the config gives none. */
extern const char arch_default_cmdline[];
/*
 * Whether virtio-mmio devices can be announced on the kernel command line
 * (x86); elsewhere the device tree announces them.
 */
extern const bool arch_mmio_cmdline;
/*
 * What --help says of this architecture: the kernel formats (short and
 * long) and how a guest ends the VM with a status.
 */
extern const char arch_kernel_formats[], arch_kernel_help[], arch_exit_help[];

/*
 * After the memory slots: the in-kernel interrupt controller and timers
 * (x86: IOAPIC, PIC, PIT; arm64: the vGIC), before any vCPU exists.
 */
int arch_vm_create(struct vm *vm, struct err *e);
/* Once every vCPU exists (arm64 initializes the vGIC here). */
int arch_vm_vcpus_created(struct vm *vm, struct err *e);
void arch_vm_destroy(struct vm *vm);

/* Puts a new vCPU in the state a kernel expects at reset. */
int arch_vcpu_init(struct vcpu *vcpu, struct err *e);

/*
 * Creates the platform's devices (serial ports and what else the
 * architecture's kernels expect), then the virtio devices.
 */
int arch_create_devices(struct vm *vm, struct err *e);

/*
 * The command line the kernel gets: the configured one (or the default)
 * plus whatever the architecture announces there. malloc()ed.
 */
char *arch_cmdline(const struct vm *vm, struct err *e);

/*
 * Loads the kernel, the initrd and the tables that describe the machine
 * (x86: zero page, e820, ACPI, MP table; arm64: the device tree) and puts
 * the boot vCPU at the kernel's entry.
 */
int arch_vm_boot(struct vm *vm, const char *cmdline, struct err *e);

/* The irq field of KVM_IRQ_LINE for interrupt line @gsi. */
uint32_t arch_irq_line_number(uint32_t gsi);

/*
 * Handles a vCPU exit only this architecture has (x86: port I/O).
 * Returns false when the exit is none of them.
 */
bool arch_vcpu_exit(struct vcpu *vcpu);

/*
 * Why KVM on this host runs guest instructions in its emulator rather than
 * on the CPU's virtualization extensions, or NULL when it does not.
 */
const char *arch_host_emulation(void);

/*
 * Logs the vCPU's registers, after a fatal exit, and what the exit says
 * about the instruction that caused it.
 */
void arch_vcpu_dump(struct vcpu *vcpu);

/*
 * Snapshots (docs/snapshot.md). The VM's own state (x86: the IOAPIC, the
 * PICs, the PIT and kvmclock) and one vCPU's: saved while every vCPU is
 * parked and the devices are quiet; restored into a VM just created from
 * the same config, vCPUs first, before any vCPU runs. A restore refuses,
 * naming what differs, a vCPU this host cannot give the guest (CPU
 * features, XSAVE size, TSC rate).
 */
int arch_vm_save(struct vm *vm, struct state_writer *w, struct err *e);
int arch_vm_restore(struct vm *vm, const struct state_section *s,
		    struct err *e);
int arch_vcpu_save(struct vcpu *vcpu, struct state_writer *w, struct err *e);
int arch_vcpu_restore(struct vcpu *vcpu, const struct state_section *s,
		      struct err *e);

#endif
