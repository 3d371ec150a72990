// SPDX-License-Identifier: MIT
/*
 * This VMM's snapshot calls, beside vmservice.proto's VM service
 * (docs/api.md, docs/snapshot.md): SnapshotVM writes the VM into a
 * directory and lets it go on; RestoreVM makes a VM of a snapshot in a
 * process that has none, with other host resources where the caller names
 * them (a clone's disk copy, TAP and sockets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "vmm/api/config_json.h"
#include "vmm/api/devices_json.h"
#include "vmm/api/methods.h"
#include "vmm/snapshot.h"

static struct json_object *snapshot_result(const char *dir,
					   const struct snapshot_stats *st)
{
	struct json_object *r = json_object_new_object();

	if (r && json_add_string(r, "directory", dir) == 0 &&
	    json_add_u64(r, "state_bytes", st->state_bytes) == 0 &&
	    json_add_u64(r, "memory_bytes", st->memory_bytes) == 0 &&
	    json_add_u64(r, "duration_us", st->ns / 1000) == 0)
		return r;
	json_object_put(r);
	return NULL;
}

/*
 * A running VM is paused for the snapshot and resumes after it; a paused
 * one stays paused. The call answers once the files are on disk.
 */
METHOD(method_snapshot_vm)
{
	static const char *const fields[] = { "directory", NULL };
	bool running = api->state == API_STATE_RUNNING;
	struct snapshot_stats st;
	char *dir = NULL;
	int ret;

	(void)call, (void)fd;
	if (method_check_params(params, fields, re) < 0 ||
	    method_need_vm(api, re) < 0)
		return -1;
	if (json_need_str(params, "", "directory", &dir, &re->e) < 0)
		return rpc_invalid(re);
	if (vm_snapshot_check(&api->vm, &re->e) < 0) {
		free(dir);
		re->code = RPC_UNSUPPORTED;
		return -1;
	}
	if (running)
		vm_pause(&api->vm);
	if (__atomic_load_n(&api->vm.exit_reason, __ATOMIC_ACQUIRE) != VM_EXIT_NONE)
		ret = rpc_fail(re, RPC_BAD_STATE, "the VM halted before it could be saved");
	else
		ret = vm_snapshot(&api->vm, dir, &st, &re->e);
	if (running)
		vm_resume(&api->vm);
	if (ret == 0) {
		*result = snapshot_result(dir, &st);
		if (!*result)
			ret = rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	}
	free(dir);
	return ret < 0 ? -1 : METHOD_DONE;
}

/* ---- RestoreVM's overrides ---- */

static int parse_disk(struct json_object *d, const char *p, size_t index,
		      void *ctx, struct rpc_error *re)
{
	static const char *const fields[] = { "host_path", NULL };
	struct vm_config *cfg = ctx;
	struct disk_config *disk = &cfg->disks[cfg->nr_disks];

	(void)index;
	if (json_check_fields(d, p, fields, &re->e) < 0 ||
	    json_need_str(d, p, "host_path", &disk->path, &re->e) < 0)
		return rpc_invalid(re);
	cfg->nr_disks++;
	return 0;
}

static int parse_nic(struct json_object *n, const char *p, size_t index,
		     void *ctx, struct rpc_error *re)
{
	static const char *const fields[] = { "port_id", NULL };
	struct vm_config *cfg = ctx;
	struct net_config *net = &cfg->nets[cfg->nr_nets];

	(void)index;
	if (json_check_fields(n, p, fields, &re->e) < 0 ||
	    json_need_str(n, p, "port_id", &net->tap_name, &re->e) < 0)
		return rpc_invalid(re);
	cfg->nr_nets++;
	return 0;
}

/*
 * overrides: {scsi_disks: [{host_path}], nic_config: [{port_id}],
 * console, vsock (as in CreateVM), serial_config: {ports}}.
 */
static int parse_overrides(struct json_object *m, struct snapshot_overrides *ov,
			   struct rpc_error *re)
{
	static const char *const fields[] = {
		"scsi_disks", "nic_config", "console", "vsock", "serial_config",
		NULL,
	};
	static const char *const serial_fields[] = { "ports", NULL };
	const char *p = "overrides";
	struct json_object *serial;

	if (json_check_fields(m, p, fields, &re->e) < 0)
		return rpc_invalid(re);
	if (rpc_each_item(m, p, "scsi_disks", CONFIG_MAX_DISKS, "disks",
			  parse_disk, &ov->cfg, re) < 0 ||
	    rpc_each_item(m, p, "nic_config", CONFIG_MAX_NETS,
			  "network devices", parse_nic, &ov->cfg, re) < 0 ||
	    devices_from_json(m, p, &ov->cfg, re) < 0)
		return -1;
	ov->console = json_object_object_get_ex(m, "console", NULL);
	if (json_get_object(m, p, "serial_config", &serial, &re->e) < 0 ||
	    (serial && json_check_fields(serial, "overrides.serial_config",
					 serial_fields, &re->e) < 0))
		return rpc_invalid(re);
	return serial ? config_ports_from_json(serial, "overrides.serial_config",
					       &ov->cfg, ov->serial, re) : 0;
}

static int open_snapshot(struct json_object *params, struct snapshot *snap,
			 struct rpc_error *re)
{
	struct snapshot_overrides ov;
	struct json_object *m;
	char *dir = NULL;
	int ret = -1;

	snapshot_overrides_init(&ov);
	if (json_need_str(params, "", "directory", &dir, &re->e) < 0 ||
	    json_get_object(params, "", "overrides", &m, &re->e) < 0) {
		rpc_invalid(re);
		goto out;
	}
	if (m && parse_overrides(m, &ov, re) < 0)
		goto out;
	re->code = RPC_INVALID_PARAMS;
	if (snapshot_open(snap, dir, &re->e) < 0)
		goto out;
	ret = snapshot_override(snap, &ov, &re->e);
	if (ret < 0) {
		err_prefix(&re->e, "overrides");
		snapshot_close(snap);
	}
out:
	snapshot_overrides_free(&ov);
	free(dir);
	return ret;
}

/*
 * Like CreateVM, the VM comes paused unless "resume" asks otherwise; the
 * guest's vsock connections are reset and its agent takes new ones.
 */
METHOD(method_restore_vm)
{
	static const char *const fields[] = {
		"directory", "resume", "log_id", "overrides", NULL,
	};
	struct snapshot snap;
	enum machine_error why;
	char *log_id = NULL;
	bool resume = false;

	(void)call, (void)result, (void)fd;
	if (api->state != API_STATE_NONE && api->state != API_STATE_TORN_DOWN)
		return rpc_fail(re, RPC_BAD_STATE,
				"a VM already exists (%s); TeardownVM releases it first",
				api_state_name(api->state));
	if (method_check_params(params, fields, re) < 0)
		return -1;
	if (json_get_bool(params, "", "resume", &resume, &re->e) < 0 ||
	    json_get_str(params, "", "log_id", &log_id, &re->e) < 0) {
		free(log_id);
		return rpc_invalid(re);
	}
	if (open_snapshot(params, &snap, re) < 0) {
		free(log_id);
		return -1;
	}
	if (api_restore_vm(api, &snap, log_id, &why, &re->e) < 0) {
		snapshot_close(&snap);
		re->code = why == MACHINE_ERR_BAD_IMAGE ? RPC_INVALID_PARAMS :
							  RPC_FAILED;
		return -1;
	}
	snapshot_close(&snap);
	if (resume)
		api_set_running(api, true);
	return METHOD_DONE;
}
