/* SPDX-License-Identifier: MIT */
#ifndef VMM_HOTPLUG_H
#define VMM_HOTPLUG_H

#include "vm.h"

/*
 * Disks and NICs added to and removed from a running VM (docs/pci.md):
 * the VM side of ACPI PCI hotplug. A device added here takes the lowest
 * free PCI slot and the guest is told to look; a removal asks the guest
 * to eject the slot and completes when it did, which is when the device
 * is destroyed and its back end (image file, TAP) closed. The VM's config
 * follows: what InspectVM shows is what the guest has. Event loop thread.
 */

/* How long a guest gets to eject a device. */
#define VM_HOTPLUG_EJECT_TIMEOUT_MS 30000

/* Why a hotplug request failed, for the control API's error codes. */
enum vm_hotplug_error {
	VM_HOTPLUG_ERR_UNSUPPORTED, /* no PCI hotplug on this VM */
	VM_HOTPLUG_ERR_INVALID,     /* bad or duplicate value */
	VM_HOTPLUG_ERR_NO_DEVICE,   /* nothing at that address or id */
	VM_HOTPLUG_ERR_FULL,        /* no slot, or the device kind's limit */
	VM_HOTPLUG_ERR_FAILED,      /* the host side failed (a file, a TAP) */
};

/* The end of a removal: @e NULL once the guest ejected the device. */
typedef void (*vm_hotplug_done_fn)(void *ctx, const struct err *e);

/*
 * Creates the controller on the VM's PCI bus, its registers at I/O port
 * @port (platform set-up).
 */
int vm_hotplug_create(struct vm *vm, uint16_t port, struct err *e);

/*
 * Adds a disk (SCSI address and serial unused so far) or a NIC. On success @disk's or @net's
 * strings belong to the VM's config; on failure they stay the caller's.
 */
int vm_hotplug_add_disk(struct vm *vm, const struct disk_config *disk,
			enum vm_hotplug_error *why, struct err *e);
int vm_hotplug_add_net(struct vm *vm, const struct net_config *net,
		       enum vm_hotplug_error *why, struct err *e);

/*
 * Asks the guest to eject the disk at @controller/@lun, or the NIC whose nic_id (or,
 * without one, TAP name) is @id. @done runs once on the event loop; when
 * these return -1 it never does.
 */
int vm_hotplug_remove_disk(struct vm *vm, uint32_t controller, uint32_t lun,
			   vm_hotplug_done_fn done, void *ctx,
			   enum vm_hotplug_error *why, struct err *e);
int vm_hotplug_remove_net(struct vm *vm, const char *id,
			  vm_hotplug_done_fn done, void *ctx,
			  enum vm_hotplug_error *why, struct err *e);

/* The slot holding cfg->disks[@index] / cfg->nets[@index], or 0. */
unsigned int vm_hotplug_slot_of(const struct vm *vm, enum vm_slot_kind kind,
				unsigned int index);

#endif
