/* SPDX-License-Identifier: MIT */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"
#include "bus.h"
#include "config.h"
#include "control.h"
#include "device.h"
#include "irq_routing.h"
#include "lib/event.h"
#include "kvm.h"
#include "vmm/arch.h"
#include "memory.h"
#include "seccomp.h"

struct vcpu;
struct chardev;
struct arch_vm;
struct pci_bus;
struct pci_hotplug;

#define VM_PCI_SLOTS 32
/* The memory slot of a device's ROM window, after RAM's and firmware's. */
#define VM_ROM_WINDOW_SLOT (GUEST_MEM_MAX_REGIONS + 1)

/* What a PCI slot holds: hot-pluggable disks and NICs, or fixed devices. */
enum vm_slot_kind {
	VM_SLOT_FREE,
	VM_SLOT_FIXED, /* the host bridge, console, vsock, balloon */
	VM_SLOT_DISK,  /* @index into cfg->disks */
	VM_SLOT_NET,   /* @index into cfg->nets */
};

struct vm_slot {
	enum vm_slot_kind kind;
	unsigned int index;
	struct device *dev;
	bool removing; /* an eject request is out */
};

/* Why the VM stopped; main() turns this into the process exit status. */
enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_GUEST_STATUS, /* debug-exit port: status is the byte written */
	VM_EXIT_POWEROFF,     /* ACPI S5 or triple-fault-free shutdown */
	VM_EXIT_RESET,        /* guest asked for a reset (i8042, ACPI) */
	VM_EXIT_SIGNAL,       /* SIGINT/SIGTERM on the host */
	VM_EXIT_VCPU_ERROR,   /* a vCPU hit an exit the VMM cannot handle */
	VM_EXIT_TEARDOWN,     /* the control socket tore the VM down */
};

struct vm {
	struct kvm kvm;
	int fd;
	struct vm_config *cfg;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct event_loop *loop;
	struct metrics *metrics; /* where the VM's counters are registered */
	struct device_host host;
	/* What only the architecture's code knows (vmm/arch/). */
	struct arch_vm *arch;

	/*
	 * Called once, on the thread that asked, when the VM must stop; the
	 * owner (CLI or control API) decides what that means for the process.
	 */
	void (*on_exit)(struct vm *vm, void *opaque);
	void *on_exit_opaque;

	/* Devices in creation order, destroyed in reverse. */
	struct device *devices;

	/* What each vCPU thread confines itself with before it first runs. */
	const struct seccomp_filters *seccomp;
	/* Why this host's KVM emulates guest code (arch_host_emulation), or NULL. */
	const char *host_emulation;

	/*
	 * What the control socket may drive: the host ends of the serial
	 * ports (NULL for absent ports) and the controls of optional devices
	 * (NULL without the device).
	 */
	struct chardev *serial[CONFIG_NR_SERIAL];
	struct balloon_control *balloon;
	struct vsock_control *vsock;
	/* The power button, where the platform has one (x86: ACPI). */
	struct power_control *power;
	/* The limits of disk i and NIC i ("disk0", "net0" in the API). */
	struct rate_limit_control *disk_limits[CONFIG_MAX_DISKS];
	struct rate_limit_control *net_limits[CONFIG_MAX_NETS];

	/* The serial ports, announced in ACPI. */
	struct boot_serial_port serial_ports[CONFIG_NR_SERIAL];
	unsigned int nr_serial_ports;
	/* virtio-mmio windows, announced on the command line and in ACPI. */
	struct boot_mmio_device mmio_devs[LAYOUT_VIRTIO_MMIO_MAX];
	unsigned int nr_mmio_devs;
	uint32_t next_gsi;
	pthread_mutex_t irq_lock;
	unsigned int irq_asserted[LAYOUT_NR_GSI];
	struct irq_routing irq_routing; /* MSI routes (MSI-X vectors) */
	bool irq_routing_ready;

	/*
	 * PCI bus 0 and its hotplug controller with --transport pci (else
	 * NULL), and what each slot holds (hotplug.c).
	 */
	struct pci_bus *pci;
	struct pci_hotplug *hotplug;
	uint32_t hotplug_gsi;
	struct vm_slot slots[VM_PCI_SLOTS];

	unsigned int nr_vcpus;
	struct vcpu **vcpus;

	pthread_mutex_t state_lock;
	pthread_cond_t state_cond;  /* paused or exit_reason changed */
	pthread_cond_t parked_cond; /* nr_parked changed */
	bool paused;
	unsigned int nr_parked;
	unsigned int nr_running;
	enum vm_exit_reason exit_reason;
	int exit_status;
};

/*
 * Opens KVM, creates the VM with its memory, interrupt controller, vCPUs
 * and buses. Its devices' host ends run on @loop, which the caller owns
 * and runs; the counters of its vCPUs and devices are registered in
 * @metrics (may be NULL) until vm_destroy(). Guest RAM is fresh, or with
 * @ram_fd >= 0 (which the VM owns from then on, failing or not) a
 * snapshot's memory file mapped copy-on-write.
 */
int vm_create(struct vm *vm, struct vm_config *cfg, struct event_loop *loop,
	      struct metrics *metrics, int ram_fd, struct err *e);
void vm_destroy(struct vm *vm);

/*
 * Adds a device to the lifecycle list (reset, destroy) and registers its
 * counters, if it keeps any (with the id they have by then: "disk0").
 */
void vm_add_device(struct vm *vm, struct device *dev);
/* Takes it off again (hot removal); the caller destroys it. */
void vm_remove_device(struct vm *vm, struct device *dev);

/*
 * Reserves the next virtio-mmio window and GSI, records it for the boot
 * tables and returns it in @out.
 */
int vm_reserve_mmio(struct vm *vm, struct boot_mmio_device *out,
		    struct err *e);

/* What the kernel loaders need to know of @vm, booting with @cmdline. */
void vm_boot_config(const struct vm *vm, const char *cmdline,
		    struct boot_config *boot);

/* Starts the vCPU threads; they run until vm_request_exit(). */
int vm_start(struct vm *vm, struct err *e);
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

/*
 * Records why the VM must stop (the first reason wins) and kicks every vCPU
 * out of KVM_RUN. Safe from any thread, including vCPU threads.
 */
void vm_request_exit(struct vm *vm, enum vm_exit_reason reason, int status);
/* Blocks until vm_request_exit() was called. */
enum vm_exit_reason vm_wait_exit(struct vm *vm, int *status);
/* Stops and joins the vCPU threads. */
void vm_stop(struct vm *vm);

#endif
