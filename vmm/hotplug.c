// SPDX-License-Identifier: MIT
#include "hotplug.h"

#include <stdlib.h>
#include <string.h>

#include "devices/pci/hotplug.h"
#include "vm_devices.h"

struct removal {
	struct vm *vm;
	unsigned int slot;
	vm_hotplug_done_fn done;
	void *ctx;
};

static int fail(enum vm_hotplug_error *why, enum vm_hotplug_error code)
{
	*why = code;
	return -1;
}

static int need_hotplug(struct vm *vm, enum vm_hotplug_error *why,
			struct err *e)
{
	if (vm->hotplug)
		return 0;
	err_set(e, "devices can be added and removed only with --transport pci (virtio-mmio devices are fixed when the VM is created)");
	return fail(why, VM_HOTPLUG_ERR_UNSUPPORTED);
}

static int need_slot(struct vm *vm, enum vm_hotplug_error *why,
		     struct err *e)
{
	if (vm_free_slot(vm))
		return 0;
	err_set(e, "every PCI slot is taken (%d devices at most)",
		VM_PCI_SLOTS - 1);
	return fail(why, VM_HOTPLUG_ERR_FULL);
}

unsigned int vm_hotplug_slot_of(const struct vm *vm, enum vm_slot_kind kind,
				unsigned int index)
{
	for (unsigned int s = 1; s < VM_PCI_SLOTS; s++)
		if (vm->slots[s].kind == kind && vm->slots[s].index == index)
			return s;
	return 0;
}

/*
 * Drops config entry @index of @kind with its rate limits; later entries
 * move down one.
 */
static void forget_config(struct vm *vm, enum vm_slot_kind kind,
			  unsigned int index)
{
	struct vm_config *cfg = vm->cfg;

	if (kind == VM_SLOT_DISK) {
		free(cfg->disks[index].path);
		free(cfg->disks[index].serial);
		memmove(&cfg->disks[index], &cfg->disks[index + 1],
			(cfg->nr_disks - index - 1) * sizeof(cfg->disks[0]));
		memmove(&vm->disk_limits[index], &vm->disk_limits[index + 1],
			(cfg->nr_disks - index - 1) * sizeof(vm->disk_limits[0]));
		cfg->nr_disks--;
		cfg->disks[cfg->nr_disks] = (struct disk_config){ 0 };
		vm->disk_limits[cfg->nr_disks] = NULL;
	} else {
		free(cfg->nets[index].tap_name);
		free(cfg->nets[index].id);
		memmove(&cfg->nets[index], &cfg->nets[index + 1],
			(cfg->nr_nets - index - 1) * sizeof(cfg->nets[0]));
		memmove(&vm->net_limits[index], &vm->net_limits[index + 1],
			(cfg->nr_nets - index - 1) * sizeof(vm->net_limits[0]));
		cfg->nr_nets--;
		cfg->nets[cfg->nr_nets] = (struct net_config){ .tap_fd = -1 };
		vm->net_limits[cfg->nr_nets] = NULL;
	}
	/* The devices after it take the numbers their config entries have. */
	for (unsigned int s = 1; s < VM_PCI_SLOTS; s++) {
		struct vm_slot *slot = &vm->slots[s];

		if (slot->kind == kind && slot->index > index)
			vm_name_metrics(slot->dev, kind, --slot->index);
	}
}

/* The guest ejected @slot: the device and its back end go. */
static void slot_ejected(void *opaque, unsigned int slot)
{
	struct vm *vm = opaque;
	struct vm_slot *s = &vm->slots[slot];

	if (s->kind != VM_SLOT_DISK && s->kind != VM_SLOT_NET)
		return;
	log_info("the guest ejected %s", s->dev->name);
	vm_remove_device(vm, s->dev);
	s->dev->ops->destroy(s->dev);
	forget_config(vm, s->kind, s->index);
	*s = (struct vm_slot){ .kind = VM_SLOT_FREE };
}

static const struct pci_hotplug_ops hotplug_ops = {
	.ejected = slot_ejected,
};

int vm_hotplug_create(struct vm *vm, uint16_t port, struct err *e)
{
	struct device *dev;

	vm->hotplug_gsi = vm->host.irq_alloc(&vm->host);
	if (!vm->hotplug_gsi)
		return err_set(e, "no interrupt line left for PCI hotplug");
	if (pci_hotplug_create(&vm->host, vm->pci, port,
			       vm->hotplug_gsi, &hotplug_ops, vm,
			       &vm->hotplug, &dev, e) < 0)
		return -1;
	vm_add_device(vm, dev);
	return 0;
}

int vm_hotplug_add_disk(struct vm *vm, const struct disk_config *disk,
			enum vm_hotplug_error *why, struct err *e)
{
	struct vm_config *cfg = vm->cfg;
	unsigned int slot;

	if (need_hotplug(vm, why, e) < 0)
		return -1;
	if (cfg->nr_disks == CONFIG_MAX_DISKS) {
		err_set(e, "the VM has %d disks, the most it can have",
			CONFIG_MAX_DISKS);
		return fail(why, VM_HOTPLUG_ERR_FULL);
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		if (d->controller == disk->controller && d->lun == disk->lun) {
			err_set(e, "controller %u, lun %u is taken by %s",
				disk->controller, disk->lun, d->path);
			return fail(why, VM_HOTPLUG_ERR_INVALID);
		}
		if (d->serial && disk->serial && !strcmp(d->serial, disk->serial)) {
			err_set(e, "serial %s is taken by %s", disk->serial,
				d->path);
			return fail(why, VM_HOTPLUG_ERR_INVALID);
		}
	}
	if (need_slot(vm, why, e) < 0)
		return -1;
	cfg->disks[cfg->nr_disks] = *disk;
	if (vm_add_disk(vm, cfg->nr_disks, &slot, e) < 0) {
		cfg->disks[cfg->nr_disks] = (struct disk_config){ 0 };
		return fail(why, VM_HOTPLUG_ERR_FAILED);
	}
	cfg->nr_disks++;
	pci_hotplug_added(vm->hotplug, slot);
	return 0;
}

int vm_hotplug_add_net(struct vm *vm, const struct net_config *net,
		       enum vm_hotplug_error *why, struct err *e)
{
	struct vm_config *cfg = vm->cfg;
	unsigned int slot;

	if (need_hotplug(vm, why, e) < 0)
		return -1;
	if (cfg->nr_nets == CONFIG_MAX_NETS) {
		err_set(e, "the VM has %d network devices, the most it can have",
			CONFIG_MAX_NETS);
		return fail(why, VM_HOTPLUG_ERR_FULL);
	}
	for (unsigned int i = 0; net->id && i < cfg->nr_nets; i++) {
		if (cfg->nets[i].id && !strcmp(cfg->nets[i].id, net->id)) {
			err_set(e, "nic_id %s is taken", net->id);
			return fail(why, VM_HOTPLUG_ERR_INVALID);
		}
	}
	if (need_slot(vm, why, e) < 0)
		return -1;
	cfg->nets[cfg->nr_nets] = *net;
	if (vm_add_net(vm, cfg->nr_nets, &slot, e) < 0) {
		cfg->nets[cfg->nr_nets] = (struct net_config){ .tap_fd = -1 };
		return fail(why, VM_HOTPLUG_ERR_FAILED);
	}
	cfg->nr_nets++;
	pci_hotplug_added(vm->hotplug, slot);
	return 0;
}

static void removal_done(void *ctx, const struct err *e)
{
	struct removal *r = ctx;

	r->vm->slots[r->slot].removing = false;
	r->done(r->ctx, e);
	free(r);
}

static int remove_slot(struct vm *vm, unsigned int slot,
		       vm_hotplug_done_fn done, void *ctx,
		       enum vm_hotplug_error *why, struct err *e)
{
	struct removal *r;

	if (!slot) {
		err_set(e, "the device is in no PCI slot");
		return fail(why, VM_HOTPLUG_ERR_FAILED);
	}
	if (vm->slots[slot].removing) {
		err_set(e, "%s is being removed already",
			vm->slots[slot].dev->name);
		return fail(why, VM_HOTPLUG_ERR_INVALID);
	}
	r = malloc(sizeof(*r));
	if (!r) {
		err_set(e, "out of memory");
		return fail(why, VM_HOTPLUG_ERR_FAILED);
	}
	*r = (struct removal){ .vm = vm, .slot = slot, .done = done, .ctx = ctx };
	if (pci_hotplug_eject(vm->hotplug, slot, VM_HOTPLUG_EJECT_TIMEOUT_MS,
			      removal_done, r, e) < 0) {
		free(r);
		return fail(why, VM_HOTPLUG_ERR_FAILED);
	}
	vm->slots[slot].removing = true;
	return 0;
}

int vm_hotplug_remove_disk(struct vm *vm, uint32_t controller, uint32_t lun,
			   vm_hotplug_done_fn done, void *ctx,
			   enum vm_hotplug_error *why, struct err *e)
{
	const struct vm_config *cfg = vm->cfg;

	if (need_hotplug(vm, why, e) < 0)
		return -1;
	for (unsigned int i = 0; i < cfg->nr_disks; i++)
		if (cfg->disks[i].controller == controller &&
		    cfg->disks[i].lun == lun)
			return remove_slot(vm,
					   vm_hotplug_slot_of(vm, VM_SLOT_DISK, i),
					   done, ctx, why, e);
	err_set(e, "the VM has no disk at controller %u, lun %u", controller,
		lun);
	return fail(why, VM_HOTPLUG_ERR_NO_DEVICE);
}

int vm_hotplug_remove_net(struct vm *vm, const char *id,
			  vm_hotplug_done_fn done, void *ctx,
			  enum vm_hotplug_error *why, struct err *e)
{
	const struct vm_config *cfg = vm->cfg;

	if (need_hotplug(vm, why, e) < 0)
		return -1;
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *n = &cfg->nets[i];
		const char *name = n->id ? n->id : n->tap_name;

		if (name && !strcmp(name, id))
			return remove_slot(vm,
					   vm_hotplug_slot_of(vm, VM_SLOT_NET, i),
					   done, ctx, why, e);
	}
	err_set(e, "the VM has no network device with nic_id or TAP name %s",
		id);
	return fail(why, VM_HOTPLUG_ERR_NO_DEVICE);
}
