// SPDX-License-Identifier: MIT
/*
 * The VM service of hcsshim's vmservice.proto (service VM): CreateVM,
 * TeardownVM, PauseVM, ResumeVM, WaitVM, InspectVM, CapabilitiesVM,
 * PropertiesVM, ModifyResource, VMSocket and Quit, plus SubscribeEvents,
 * this VMM's VM state notifications.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "lib/json.h"
#include "vmm/api/config_json.h"
#include "vmm/api/inspect.h"
#include "vmm/api/methods.h"
#include "vmm/api/view.h"

/* CapabilitiesVMResponse.Resource and ModifyType, in vmservice.proto's order. */
enum resource {
	RES_VPMEM, RES_SCSI, RES_VPCI, RES_PLAN9, RES_VMNIC, RES_MEMORY,
	RES_PROCESSOR, RES_COUNT,
};
static const char *const resource_names[] = {
	"Vpmem", "Scsi", "Vpci", "Plan9", "VMNic", "Memory", "Processor",
};

enum modify_type { MODIFY_ADD, MODIFY_REMOVE, MODIFY_UPDATE, MODIFY_COUNT };
static const char *const modify_names[] = { "ADD", "REMOVE", "UPDATE" };

/* --- Lifecycle ------------------------------------------------------- */

METHOD(method_create_vm)
{
	enum machine_error why;
	struct vm_config cfg;
	char *log_id = NULL;

	(void)call, (void)result, (void)fd;
	if (api->state != API_STATE_NONE && api->state != API_STATE_TORN_DOWN)
		return rpc_fail(re, RPC_BAD_STATE,
				"a VM already exists (%s); TeardownVM releases it first",
				api_state_name(api->state));
	if (config_from_json(params, &cfg, &log_id, re) < 0)
		goto fail;
	re->code = RPC_INVALID_PARAMS;
	if (vm_config_check_files(&cfg, &re->e) < 0) {
		err_prefix(&re->e, "config");
		goto fail;
	}
	if (api_create_vm(api, &cfg, log_id, &why, &re->e) < 0) {
		re->code = why == MACHINE_ERR_BAD_IMAGE ? RPC_INVALID_PARAMS :
							  RPC_FAILED;
		return -1;
	}
	return METHOD_DONE;
fail:
	vm_config_free(&cfg);
	free(log_id);
	return -1;
}

METHOD(method_resume_vm)
{
	(void)call, (void)result, (void)fd;
	if (method_no_params("ResumeVM", params, re) < 0 || method_need_vm(api, re) < 0)
		return -1;
	if (api->state == API_STATE_PAUSED)
		api_set_running(api, true);
	return METHOD_DONE;
}

METHOD(method_pause_vm)
{
	(void)call, (void)result, (void)fd;
	if (method_no_params("PauseVM", params, re) < 0 || method_need_vm(api, re) < 0)
		return -1;
	if (api->state == API_STATE_RUNNING)
		api_set_running(api, false);
	return METHOD_DONE;
}

METHOD(method_wait_vm)
{
	(void)result, (void)fd;
	if (method_no_params("WaitVM", params, re) < 0)
		return -1;
	switch (api->state) {
	case API_STATE_NONE:
		return rpc_fail(re, RPC_BAD_STATE,
				"no VM to wait for: call CreateVM first");
	case API_STATE_HALTED:
	case API_STATE_TORN_DOWN:
		return METHOD_DONE;
	case API_STATE_PAUSED:
	case API_STATE_RUNNING:
		break;
	}
	call->next = api->waiters;
	api->waiters = call;
	return METHOD_DEFERRED;
}

METHOD(method_teardown_vm)
{
	(void)call, (void)result, (void)fd;
	if (method_no_params("TeardownVM", params, re) < 0)
		return -1;
	if (api->state == API_STATE_NONE)
		return rpc_fail(re, RPC_BAD_STATE,
				"no VM to tear down: call CreateVM first");
	api_teardown(api);
	return METHOD_DONE;
}

METHOD(method_quit)
{
	(void)call, (void)result, (void)fd;
	if (method_no_params("Quit", params, re) < 0)
		return -1;
	/* The answer is queued first; the loop stops after this batch. */
	api_stop(api, 0);
	return METHOD_DONE;
}

METHOD(method_subscribe_events)
{
	(void)fd;
	if (method_no_params("SubscribeEvents", params, re) < 0)
		return -1;
	api_call_subscribe(call);
	*result = json_object_new_object();
	if (!*result || json_add_string(*result, "state",
				      api_state_name(api->state)) < 0)
		return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	return METHOD_DONE;
}

/* --- Inspection ------------------------------------------------------ */

METHOD(method_inspect_vm)
{
	static const char *const fields[] = { "query", "recursion_limit", NULL };
	struct json_object *view, *answer;
	uint32_t limit = 0;
	char *query = NULL;
	int ret;

	(void)call, (void)fd;
	if (method_check_params(params, fields, re) < 0)
		return -1;
	if (json_get_str(params, "", "query", &query, &re->e) < 0 ||
	    json_get_u32(params, "", "recursion_limit", &limit, &re->e) < 0) {
		free(query);
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	view = api_view(api);
	if (!view) {
		free(query);
		return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	}
	ret = inspect_query(view, query ? query : "", limit, &answer, re);
	json_object_put(view);
	free(query);
	if (ret < 0)
		return -1;
	*result = json_object_new_object();
	/* InspectVMResponse.result: any JSON value, null included. */
	if (!*result || json_object_object_add(*result, "result", answer) < 0) {
		json_object_put(answer);
		return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	}
	return METHOD_DONE;
}

/*
 * Which ModifyType (bit per type) ModifyResource performs for @res on the
 * current VM: CapabilitiesVM reports exactly this, and ModifyResource
 * refuses the rest.
 */
static unsigned int resource_ops(struct api *api, enum resource res)
{
	if (res == RES_MEMORY && api->has_vm && api->vm.balloon)
		return 1U << MODIFY_UPDATE;
	if ((res == RES_SCSI || res == RES_VMNIC) && api->has_vm &&
	    api->vm.hotplug)
		return 1U << MODIFY_ADD | 1U << MODIFY_REMOVE;
	return 0;
}

METHOD(method_capabilities_vm)
{
	struct json_object *list, *os;

	(void)call, (void)fd;
	if (method_no_params("CapabilitiesVM", params, re) < 0)
		return -1;
	*result = json_object_new_object();
	if (!*result || !(list = json_add_array(*result, "supported_resources")))
		goto oom;
	for (int r = 0; r < RES_COUNT; r++) {
		struct json_object *o = json_append_object(list);
		unsigned int ops = resource_ops(api, r);

		if (!o || json_add_bool(o, "Add", ops & (1U << MODIFY_ADD)) < 0 ||
		    json_add_bool(o, "Remove", ops & (1U << MODIFY_REMOVE)) < 0 ||
		    json_add_bool(o, "Update", ops & (1U << MODIFY_UPDATE)) < 0 ||
		    json_add_string(o, "resource", resource_names[r]) < 0)
			goto oom;
	}
	if (!(os = json_add_array(*result, "supported_guest_os")) ||
	    json_object_array_add(os, json_object_new_string("Linux")) < 0)
		goto oom;
	return METHOD_DONE;
oom:
	return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
}

/* --- PropertiesVM ---------------------------------------------------- */

static const char *const property_names[] = { "Memory", "Processor" };

static struct json_object *properties_json(struct api *api, bool memory,
					   bool processor,
					   const struct balloon_stats *stats)
{
	struct json_object *r = json_object_new_object(), *m, *p;
	uint64_t avail = 0, reserved = 0;
	uint32_t actual, target;
	struct err e;

	if (!r)
		return NULL;
	if (memory) {
		struct balloon_control *b = api->vm.balloon;

		for (unsigned int i = 0; stats && i < stats->nr; i++)
			if (stats->stats[i].tag == BALLOON_STAT_AVAIL)
				avail = stats->stats[i].val;
		if (b && b->get_num_pages(b->opaque, &actual, &target, &e) == 0)
			reserved = (uint64_t)actual * BALLOON_PAGE_SIZE;
		if (!(m = json_add_object(r, "memory_stats")) ||
		    json_add_u64(m, "working_set_bytes", api_working_set_bytes()) < 0 ||
		    json_add_u64(m, "available_memory", avail) < 0 ||
		    json_add_u64(m, "reserved_memory", reserved) < 0 ||
		    json_add_u64(m, "assigned_memory", api->vm.mem.size - reserved) < 0)
			goto oom;
	}
	if (processor && (!(p = json_add_object(r, "processor_stats")) ||
			  json_add_u64(p, "total_runtime_ns",
				     api_vcpu_runtime_ns(&api->vm)) < 0))
		goto oom;
	return r;
oom:
	json_object_put(r);
	return NULL;
}

static void properties_done(void *ctx, const struct balloon_stats *stats,
			    const struct err *e)
{
	struct device_call *dc = ctx;
	struct api *api = dc->api;

	/* Without fresh statistics, available_memory reads 0. */
	if (!api->has_vm) {
		struct rpc_error re;

		rpc_fail(&re, RPC_BAD_STATE, "the VM was torn down meanwhile");
		api_call_fail(dc->call, &re);
	} else {
		method_reply_or_oom(dc->call, properties_json(api, dc->memory,
						       dc->processor,
						       e ? NULL : stats));
	}
	device_call_free(dc);
}

METHOD(method_properties_vm)
{
	static const char *const fields[] = { "types", NULL };
	struct balloon_control *b = api->vm.balloon;
	struct json_object *types = NULL;
	bool want[2] = { false, false };
	struct device_call *dc;
	size_t n;

	(void)fd;
	if (method_check_params(params, fields, re) < 0 ||
	    json_get_array(params, "", "types", &types, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	n = types ? json_object_array_length(types) : 0;
	for (size_t i = 0; i < n; i++) {
		char where[32];
		int t;

		snprintf(where, sizeof(where), "types[%zu]", i);
		if (json_value_enum(json_object_array_get_idx(types, i), where,
				  property_names, 2, &t, &re->e) < 0) {
			re->code = RPC_INVALID_PARAMS;
			return -1;
		}
		want[t] = true;
	}
	if (n == 0)
		want[0] = want[1] = true;
	if (!api->has_vm && method_need_vm(api, re) < 0)
		return -1;
	/* Fresh guest statistics only from a running guest. */
	if (!want[0] || !b || api->state != API_STATE_RUNNING) {
		*result = properties_json(api, want[0], want[1], NULL);
		return *result ? METHOD_DONE :
			rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	}
	if (!(dc = device_call_new(api, call, re)))
		return -1;
	dc->memory = want[0];
	dc->processor = want[1];
	if (b->get_mem_stats(b->opaque, properties_done, dc, &re->e) < 0) {
		/* No statistics now: answer with what the VMM knows itself. */
		device_call_free(dc);
		*result = properties_json(api, want[0], want[1], NULL);
		return *result ? METHOD_DONE :
			rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	}
	return METHOD_DEFERRED;
}

/* --- ModifyResource -------------------------------------------------- */

/* Why ModifyResource cannot do @type on @res, for this VM. */
static int refusal(struct api *api, enum resource res, enum modify_type type,
		   struct rpc_error *re)
{
	switch (res) {
	case RES_MEMORY:
		if (type != MODIFY_UPDATE)
			return rpc_fail(re, RPC_UNSUPPORTED,
					"memory: %s is not supported: memory hot-plug does not exist yet; UPDATE resizes through the balloon",
					modify_names[type]);
		if (!api->vm.balloon)
			return rpc_fail(re, RPC_NO_DEVICE,
					"memory: this VM has no balloon device (start it with --balloon)");
		break;
	case RES_PROCESSOR:
		return rpc_fail(re, RPC_UNSUPPORTED,
				"processor: vCPU hot-plug and vCPU weights or limits are not supported yet");
	case RES_SCSI:
	case RES_VMNIC:
		if (api->vm.hotplug)
			return rpc_fail(re, RPC_UNSUPPORTED,
					"%s: UPDATE is not supported: REMOVE the device and ADD it again",
					resource_names[res]);
		return rpc_fail(re, RPC_UNSUPPORTED,
				"%s: %s needs a VM on the PCI transport (--transport pci, devices_config.transport PCI): virtio-mmio devices are fixed when the VM is created",
				resource_names[res], modify_names[type]);
	case RES_VPMEM:
		return rpc_fail(re, RPC_UNSUPPORTED,
				"%s: %s is not supported yet: there is no virtio-pmem device",
				resource_names[res], modify_names[type]);
	case RES_VPCI:
		return rpc_fail(re, RPC_UNSUPPORTED,
				"windows_device: Windows PCI devices cannot be assigned on Linux");
	case RES_PLAN9:
	case RES_COUNT:
		break;
	}
	return rpc_fail(re, RPC_UNSUPPORTED, "%s: not supported",
			resource_names[res]);
}

/* The guest's new size in MiB, from a ModifyMemoryRequest. */
static int memory_target(struct json_object *m, uint64_t *mb,
			 struct rpc_error *re)
{
	*mb = 0;
	if (json_get_u64(m, "memory", "memory_mb", mb, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	if (*mb == 0)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"memory.memory_mb: missing or 0 (the guest's new memory size)");
	return 0;
}

static int modify_memory(struct api *api, uint64_t mb, struct rpc_error *re)
{
	struct balloon_control *b = api->vm.balloon;
	uint64_t pages;

	if (mb > api->cfg.mem_mib)
		return rpc_fail(re, RPC_UNSUPPORTED,
				"memory.memory_mb: %llu MiB is more than the %llu MiB the VM was created with; memory hot-plug is not supported yet",
				(unsigned long long)mb,
				(unsigned long long)api->cfg.mem_mib);
	pages = (api->cfg.mem_mib - mb) * (MiB / BALLOON_PAGE_SIZE);
	if (pages > UINT32_MAX)
		return rpc_fail(re, RPC_UNSUPPORTED,
				"memory.memory_mb: the balloon cannot hold %llu pages",
				(unsigned long long)pages);
	re->code = RPC_FAILED;
	return b->request_num_pages(b->opaque, (uint32_t)pages, &re->e);
}

METHOD(method_modify_resource)
{
	/* ModifyResourceRequest's oneof resource: each message with its fields. */
	static const struct {
		const char *field;
		enum resource res;
		const char *const fields[7];
	} oneof[] = {
		{ "processor", RES_PROCESSOR, { "processor_index" } },
		{ "processor_config", RES_PROCESSOR,
		  { "processor_weight", "processor_limit" } },
		{ "memory", RES_MEMORY, { "memory_mb" } },
		{ "scsi_disk", RES_SCSI,
		  { "controller", "lun", "host_path", "type", "read_only",
		    "serial" } },
		{ "vpmem_disk", RES_VPMEM, { "host_path", "type", "read_only" } },
		{ "nic_config", RES_VMNIC,
		  { "nic_id", "port_id", "mac_address", "switch_id", "nic_name" } },
		{ "windows_device", RES_VPCI, { "instance_id" } },
	};
	static const char *const fields[] = {
		"type", "processor", "processor_config", "memory", "scsi_disk",
		"vpmem_disk", "nic_config", "windows_device", NULL,
	};
	struct json_object *msg = NULL, *v;
	const char *field = NULL;
	enum resource res = RES_COUNT;
	int type = MODIFY_ADD;
	uint64_t mb = 0;

	(void)result, (void)fd;
	if (!params)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"params: missing (a ModifyResourceRequest)");
	if (method_check_params(params, fields, re) < 0 ||
	    json_get_enum(params, "", "type", modify_names, MODIFY_COUNT, &type,
			&re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(oneof); i++) {
		if (json_get_object(params, "", oneof[i].field, &v, &re->e) < 0 ||
		    (v && json_check_fields(v, oneof[i].field, oneof[i].fields,
					   &re->e) < 0)) {
			re->code = RPC_INVALID_PARAMS;
			return -1;
		}
		if (!v)
			continue;
		if (msg)
			return rpc_fail(re, RPC_INVALID_PARAMS,
					"give one resource, not both %s and %s",
					field, oneof[i].field);
		msg = v;
		field = oneof[i].field;
		res = oneof[i].res;
	}
	if (!msg)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"no resource given (processor, processor_config, memory, scsi_disk, vpmem_disk, nic_config or windows_device)");
	if (res == RES_MEMORY && memory_target(msg, &mb, re) < 0)
		return -1;
	if (method_need_vm(api, re) < 0)
		return -1;
	if (!(resource_ops(api, res) & (1U << type)))
		return refusal(api, res, type, re);
	if (res == RES_SCSI)
		return modify_disk(api, call, type == MODIFY_ADD, msg, re);
	if (res == RES_VMNIC)
		return modify_nic(api, call, type == MODIFY_ADD, msg, re);
	return modify_memory(api, mb, re);
}

/* --- VMSocket -------------------------------------------------------- */

METHOD(method_vm_socket)
{
	static const char *const fields[] = {
		"type", "hvsocket_list", "vsock_listen", NULL,
	};
	static const char *const listen_fields[] = {
		"port", "listener_path", NULL,
	};
	struct sockaddr_un addr;
	struct json_object *hv, *l;
	struct vsock_control *vs;
	uint32_t port = 0;
	char *path = NULL;
	int type = MODIFY_ADD, ret;

	(void)call, (void)result, (void)fd;
	if (!params)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"params: missing (a VMSocketRequest)");
	if (method_check_params(params, fields, re) < 0 ||
	    json_get_enum(params, "", "type", modify_names, MODIFY_COUNT, &type,
			&re->e) < 0 ||
	    json_get_object(params, "", "hvsocket_list", &hv, &re->e) < 0 ||
	    json_get_object(params, "", "vsock_listen", &l, &re->e) < 0 ||
	    (l && json_check_fields(l, "vsock_listen", listen_fields, &re->e) < 0) ||
	    (l && json_get_u32(l, "vsock_listen", "port", &port, &re->e) < 0) ||
	    (l && json_get_str(l, "vsock_listen", "listener_path", &path,
				&re->e) < 0)) {
		free(path);
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	if (hv && l)
		ret = rpc_fail(re, RPC_INVALID_PARAMS,
			       "give one of hvsocket_list and vsock_listen");
	else if (hv)
		ret = rpc_fail(re, RPC_UNSUPPORTED,
			       "hvsocket_list: Hyper-V sockets exist only on Windows hosts; use vsock_listen");
	else if (!l)
		ret = rpc_fail(re, RPC_INVALID_PARAMS,
			       "vsock_listen: missing (port and listener_path)");
	else if (type == MODIFY_UPDATE)
		ret = rpc_fail(re, RPC_UNSUPPORTED,
			       "UPDATE of a vsock listener is not supported: REMOVE it and ADD it again");
	else if (type == MODIFY_ADD && (!path || !*path))
		ret = rpc_fail(re, RPC_INVALID_PARAMS,
			       "vsock_listen.listener_path: missing");
	else if (path && strlen(path) >= sizeof(addr.sun_path))
		ret = rpc_fail(re, RPC_INVALID_PARAMS,
			       "vsock_listen.listener_path: longer than %zu bytes",
			       sizeof(addr.sun_path) - 1);
	else if (!(vs = method_need_vsock(api, re)))
		ret = -1;
	else if (type == MODIFY_ADD)
		ret = vs->add_listener(vs->opaque, port, path, &re->e);
	else
		ret = vs->remove_listener(vs->opaque, port, &re->e);
	if (ret < 0 && !re->code)
		re->code = RPC_FAILED;
	free(path);
	return ret < 0 ? -1 : METHOD_DONE;
}
