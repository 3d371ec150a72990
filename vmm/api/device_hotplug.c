// SPDX-License-Identifier: MIT
/*
 * ModifyResource of vmservice.proto's VM service for scsi_disk and
 * nic_config: disks and NICs added to and removed from the running VM
 * (vmm/hotplug.c, docs/pci.md). ADD answers once the device is on the
 * bus and the guest is told; REMOVE answers once the guest ejected the
 * device and its back end is closed, or with the reason it did not.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "vmm/api/config_json.h"
#include "vmm/api/methods.h"
#include "vmm/hotplug.h"

static int hotplug_error(struct rpc_error *re, enum vm_hotplug_error why)
{
	static const enum rpc_code codes[] = {
		[VM_HOTPLUG_ERR_UNSUPPORTED] = RPC_UNSUPPORTED,
		[VM_HOTPLUG_ERR_INVALID] = RPC_INVALID_PARAMS,
		[VM_HOTPLUG_ERR_NO_DEVICE] = RPC_NO_DEVICE,
		[VM_HOTPLUG_ERR_FULL] = RPC_LIMIT,
		[VM_HOTPLUG_ERR_FAILED] = RPC_FAILED,
	};

	re->code = codes[why];
	return -1;
}

static void removed(void *ctx, const struct err *e)
{
	struct device_call *dc = ctx;
	struct rpc_error re;

	if (e) {
		rpc_fail(&re, RPC_FAILED, "%s", e->msg);
		api_call_fail(dc->call, &re);
	} else {
		method_reply_or_oom(dc->call, json_object_new_object());
	}
	device_call_free(dc);
}

/* A removal needs a guest that runs to answer it. */
static struct device_call *removal_call(struct api *api, struct api_call *call,
					struct rpc_error *re)
{
	if (api->state != API_STATE_RUNNING) {
		rpc_fail(re, RPC_BAD_STATE,
			 "the VM is %s: the guest must run to eject a device",
			 api_state_name(api->state));
		return NULL;
	}
	return device_call_new(api, call, re);
}

static int remove_disk(struct api *api, struct api_call *call,
		       struct json_object *msg, struct rpc_error *re)
{
	const struct vm_config *cfg = &api->cfg;
	enum vm_hotplug_error why;
	struct device_call *dc;
	uint32_t controller = 0, lun = 0;
	char *path = NULL;

	if (json_get_u32(msg, "scsi_disk", "controller", &controller, &re->e) < 0 ||
	    json_get_u32(msg, "scsi_disk", "lun", &lun, &re->e) < 0 ||
	    json_get_str(msg, "scsi_disk", "host_path", &path, &re->e) < 0) {
		free(path);
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	/* A host_path given must be that disk's: a guard against mix-ups. */
	for (unsigned int i = 0; path && *path && i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		if (d->controller == controller && d->lun == lun &&
		    strcmp(d->path, path)) {
			rpc_fail(re, RPC_INVALID_PARAMS,
				 "scsi_disk.host_path: controller %u, lun %u is %s, not %s",
				 controller, lun, d->path, path);
			free(path);
			return -1;
		}
	}
	free(path);
	if (!(dc = removal_call(api, call, re)))
		return -1;
	if (vm_hotplug_remove_disk(&api->vm, controller, lun, removed, dc, &why,
				   &re->e) < 0) {
		device_call_free(dc);
		err_prefix(&re->e, "scsi_disk");
		return hotplug_error(re, why);
	}
	return METHOD_DEFERRED;
}

int modify_disk(struct api *api, struct api_call *call, bool add,
		struct json_object *msg, struct rpc_error *re)
{
	enum vm_hotplug_error why;
	struct disk_config disk;

	if (!add)
		return remove_disk(api, call, msg, re);
	if (config_disk_from_json(msg, "scsi_disk", 0, NULL, &disk, re) < 0)
		return -1;
	if (vm_hotplug_add_disk(&api->vm, &disk, &why, &re->e) < 0) {
		free(disk.path);
		free(disk.serial);
		err_prefix(&re->e, "scsi_disk");
		return hotplug_error(re, why);
	}
	return METHOD_DONE;
}

static int remove_nic(struct api *api, struct api_call *call,
		      struct json_object *msg, struct rpc_error *re)
{
	enum vm_hotplug_error why;
	struct device_call *dc;
	char *id = NULL, *port = NULL;
	int ret = -1;

	if (json_get_str(msg, "nic_config", "nic_id", &id, &re->e) < 0 ||
	    json_get_str(msg, "nic_config", "port_id", &port, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		goto out;
	}
	if ((!id || !*id) && (!port || !*port)) {
		rpc_fail(re, RPC_INVALID_PARAMS,
			 "nic_config: give the nic_id (or, for a NIC without one, the port_id) to remove");
		goto out;
	}
	if (!(dc = removal_call(api, call, re)))
		goto out;
	if (vm_hotplug_remove_net(&api->vm, id && *id ? id : port, removed, dc,
				  &why, &re->e) < 0) {
		device_call_free(dc);
		err_prefix(&re->e, "nic_config");
		hotplug_error(re, why);
		goto out;
	}
	ret = METHOD_DEFERRED;
out:
	free(id);
	free(port);
	return ret;
}

int modify_nic(struct api *api, struct api_call *call, bool add,
	       struct json_object *msg, struct rpc_error *re)
{
	enum vm_hotplug_error why;
	struct net_config net;

	if (!add)
		return remove_nic(api, call, msg, re);
	if (config_nic_from_json(msg, "nic_config", &net, re) < 0)
		return -1;
	if (vm_hotplug_add_net(&api->vm, &net, &why, &re->e) < 0) {
		free(net.tap_name);
		free(net.id);
		err_prefix(&re->e, "nic_config");
		return hotplug_error(re, why);
	}
	return METHOD_DONE;
}
