// SPDX-License-Identifier: MIT
#include "vm_devices.h"

#include <signal.h>
#include <stdio.h>

#include "devices/virtio/balloon.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
#include "devices/virtio/vsock/vsock.h"

static void serial_quit(void *opaque)
{
	vm_request_exit(opaque, VM_EXIT_SIGNAL, SIGINT);
}

int vm_create_serial_ports(struct vm *vm,
			   const struct serial_place places[CONFIG_NR_SERIAL],
			   struct err *e)
{
	struct chardev_quit quit = { .fn = serial_quit, .opaque = vm };

	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++) {
		struct serial *s;

		if (i > 0 && vm->cfg->serial[i].kind == CHARDEV_NONE)
			continue;
		if (serial_create(&vm->host, i + 1, &places[i],
				  &vm->cfg->serial[i], &quit, &s, e) < 0)
			return -1;
		vm_add_device(vm, &s->dev);
		vm->serial[i] = &s->chr;
		vm->serial_ports[vm->nr_serial_ports++] = (struct boot_serial_port){
			.index = i + 1, .base = places[i].base,
			.gsi = places[i].gsi,
		};
	}
	return 0;
}

/* Counters of the device in slot @index of its kind: "disk0", "net1". */
static void name_metrics(struct device *dev, const char *kind,
			 unsigned int index)
{
	snprintf(dev->metrics->id, sizeof(dev->metrics->id), "%s%u", kind,
		 index);
}

static int add_disks(struct vm *vm, struct err *e)
{
	for (unsigned int i = 0; i < vm->cfg->nr_disks; i++) {
		struct boot_mmio_device w;
		struct device *dev;

		if (vm_reserve_mmio(vm, &w, e) < 0 ||
		    virtio_blk_create(&vm->host, w.base, w.gsi,
				      &vm->cfg->disks[i], &dev,
				      &vm->disk_limits[i], e) < 0)
			return -1;
		name_metrics(dev, "disk", i);
		vm_add_device(vm, dev);
	}
	return 0;
}

static int add_nets(struct vm *vm, struct err *e)
{
	for (unsigned int i = 0; i < vm->cfg->nr_nets; i++) {
		struct boot_mmio_device w;
		struct device *dev;

		if (vm_reserve_mmio(vm, &w, e) < 0 ||
		    virtio_net_create(&vm->host, w.base, w.gsi,
				      &vm->cfg->nets[i], &dev,
				      &vm->net_limits[i], e) < 0)
			return -1;
		name_metrics(dev, "net", i);
		vm_add_device(vm, dev);
	}
	return 0;
}

static int add_console(struct vm *vm, struct err *e)
{
	struct boot_mmio_device w;
	struct device *dev;

	if (vm->cfg->console.kind == CHARDEV_NONE)
		return 0;
	if (vm_reserve_mmio(vm, &w, e) < 0 ||
	    virtio_console_create(&vm->host, w.base, w.gsi, &vm->cfg->console,
				  &dev, e) < 0)
		return -1;
	vm_add_device(vm, dev);
	return 0;
}

static int add_vsock(struct vm *vm, struct err *e)
{
	const struct vsock_config *v = &vm->cfg->vsock;
	struct boot_mmio_device w;
	struct device *dev;

	if (!v->enabled)
		return 0;
	if (vm_reserve_mmio(vm, &w, e) < 0 ||
	    virtio_vsock_create(&vm->host, w.base, w.gsi, v, &dev, &vm->vsock,
				e) < 0)
		return -1;
	vm_add_device(vm, dev);
	return 0;
}

static int add_balloon(struct vm *vm, struct err *e)
{
	struct boot_mmio_device w;
	struct device *dev;

	if (!vm->cfg->balloon.enabled)
		return 0;
	if (vm_reserve_mmio(vm, &w, e) < 0 ||
	    virtio_balloon_create(&vm->host, w.base, w.gsi, &vm->cfg->balloon,
				  &dev, &vm->balloon, e) < 0)
		return -1;
	vm_add_device(vm, dev);
	return 0;
}

int vm_create_virtio_devices(struct vm *vm, struct err *e)
{
	if (add_disks(vm, e) < 0 || add_nets(vm, e) < 0 ||
	    add_console(vm, e) < 0 || add_vsock(vm, e) < 0 ||
	    add_balloon(vm, e) < 0)
		return -1;
	return 0;
}

int vm_virtio_cmdline(const struct vm *vm, char *buf, size_t len,
		      struct err *e)
{
	size_t used = 0;

	if (len == 0)
		return err_set(e, "no room for the virtio-mmio command line");
	buf[0] = '\0';
	for (unsigned int i = 0; i < vm->nr_mmio_devs; i++) {
		const struct boot_mmio_device *d = &vm->mmio_devs[i];
		int n = snprintf(buf + used, len - used,
				 "%svirtio_mmio.device=%lluK@%#llx:%u",
				 i ? " " : "",
				 (unsigned long long)(d->size / KiB),
				 (unsigned long long)d->base, d->gsi);

		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0';
			return err_set(e, "the virtio-mmio entries for %u devices do not fit %zu bytes of command line",
				       vm->nr_mmio_devs, len);
		}
		used += (size_t)n;
	}
	return 0;
}
