// SPDX-License-Identifier: MIT
#include "view.h"

#include <stdio.h>
#include <unistd.h>

#include "devices/chardev.h"
#include "vmm/api/config_json.h"
#include "lib/json.h"
#include "vmm/vcpu.h"

uint64_t api_working_set_bytes(void)
{
	unsigned long long size, resident;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2 || page <= 0)
		return 0;
	return resident * (uint64_t)page;
}

uint64_t api_vcpu_runtime_ns(struct vm *vm)
{
	uint64_t total = 0;

	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i])
			total += vcpu_cpu_time_ns(vm->vcpus[i]);
	return total;
}

static const char *backend_name(enum chardev_kind kind)
{
	switch (kind) {
	case CHARDEV_STDIO:
		return "stdio";
	case CHARDEV_FILE:
		return "file";
	case CHARDEV_SOCKET:
		return "socket";
	case CHARDEV_NONE:
		break;
	}
	return "none";
}

static int vcpus_json(struct json_object *view, struct vm *vm)
{
	struct json_object *arr = json_add_array(view, "vcpus");

	if (!arr)
		return -1;
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		struct json_object *v;

		if (!vm->vcpus[i])
			continue;
		v = json_append_object(arr);
		if (!v || json_add_u32(v, "id", i) < 0 ||
		    json_add_u64(v, "runtime_ns",
			       vcpu_cpu_time_ns(vm->vcpus[i])) < 0)
			return -1;
	}
	return 0;
}

/* Device names in creation order (the VM keeps them newest first). */
static int devices_json(struct json_object *view, struct vm *vm)
{
	struct json_object *arr = json_add_array(view, "devices");
	unsigned int n = 0;

	if (!arr)
		return -1;
	for (struct device *d = vm->devices; d; d = d->next)
		n++;
	for (unsigned int i = n; i > 0; i--) {
		struct device *d = vm->devices;
		struct json_object *o;

		for (unsigned int j = 1; j < i; j++)
			d = d->next;
		o = json_append_object(arr);
		if (!o || json_add_string(o, "name", d->name) < 0 ||
		    (d->transport &&
		     (json_add_string(o, "transport", d->transport) < 0 ||
		      json_add_string(o, "address", d->address) < 0)))
			return -1;
	}
	return 0;
}

static int serial_json(struct json_object *view, struct vm *vm)
{
	struct json_object *arr = json_add_array(view, "serial_ports");

	if (!arr)
		return -1;
	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++) {
		struct chardev *chr = vm->serial[i];
		struct json_object *o;

		if (!chr)
			continue;
		o = json_append_object(arr);
		if (!o || json_add_u32(o, "port", i) < 0 ||
		    json_add_string(o, "name", chr->name) < 0 ||
		    json_add_string(o, "backend", backend_name(chr->kind)) < 0 ||
		    (chr->path && json_add_string(o, "path", chr->path) < 0) ||
		    json_add_u32(o, "clients", chr->nr_clients) < 0)
			return -1;
	}
	return 0;
}

static int memory_json(struct json_object *view, struct vm *vm)
{
	struct json_object *m = json_add_object(view, "memory");
	uint32_t actual, target;
	struct json_object *b;
	struct err e;

	if (!m || json_add_u64(m, "assigned_bytes", vm->mem.size) < 0 ||
	    json_add_u64(m, "working_set_bytes", api_working_set_bytes()) < 0)
		return -1;
	if (!vm->balloon ||
	    vm->balloon->get_num_pages(vm->balloon->opaque, &actual, &target,
				       &e) < 0)
		return 0;
	b = json_add_object(m, "balloon");
	if (!b || json_add_u32(b, "num_pages", actual) < 0 ||
	    json_add_u32(b, "requested_num_pages", target) < 0)
		return -1;
	return 0;
}

static int vm_json(struct json_object *view, struct api *api)
{
	struct vm *vm = &api->vm;

	if (json_add(view, "config", config_to_json(&api->cfg)) < 0 ||
	    memory_json(view, vm) < 0 || vcpus_json(view, vm) < 0 ||
	    devices_json(view, vm) < 0 || serial_json(view, vm) < 0 ||
	    json_add_bool(view, "balloon", vm->balloon != NULL) < 0 ||
	    json_add_bool(view, "vsock", vm->vsock != NULL) < 0)
		return -1;
	return 0;
}

struct json_object *api_view(struct api *api)
{
	struct json_object *view = json_object_new_object();
	struct json_object *exit;

	if (!view || json_add_string(view, "state", api_state_name(api->state)) < 0 ||
	    (api->log_id && json_add_string(view, "log_id", api->log_id) < 0))
		goto fail;
	if (api->state == API_STATE_HALTED ||
	    (api->state == API_STATE_TORN_DOWN &&
	     api->exit_reason != VM_EXIT_NONE)) {
		exit = json_add_object(view, "exit");
		if (!exit || json_add_string(exit, "reason",
					   api_exit_reason_name(api->exit_reason)) < 0 ||
		    json_add(exit, "status", json_object_new_int(api->exit_status)) < 0)
			goto fail;
	}
	if (api->has_vm && vm_json(view, api) < 0)
		goto fail;
	return view;
fail:
	json_object_put(view);
	return NULL;
}
