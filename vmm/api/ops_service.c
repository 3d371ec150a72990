// SPDX-License-Identifier: MIT
/*
 * This VMM's operations calls, beyond the services it implements
 * (docs/api.md): GetMetrics reads the counters, SetRateLimit changes a
 * disk's or NIC's limits while it runs, ShutdownVM asks the guest to
 * power off with the ACPI power button.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "vmm/api/devices_json.h"
#include "vmm/api/methods.h"
#include "vmm/metrics_export.h"

enum metrics_format { FORMAT_JSON, FORMAT_PROMETHEUS, FORMAT_COUNT };
static const char *const format_names[] = { "JSON", "PROMETHEUS" };

METHOD(method_get_metrics)
{
	static const char *const fields[] = { "format", NULL };
	struct json_object *m;
	int format = FORMAT_JSON;
	size_t len;
	char *text;

	(void)call, (void)fd;
	if (method_check_params(params, fields, re) < 0 ||
	    json_get_enum(params, "", "format", format_names, FORMAT_COUNT,
			  &format, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	*result = json_object_new_object();
	if (!*result)
		goto oom;
	if (format == FORMAT_JSON) {
		m = metrics_to_json(api->metrics);
		if (!m || json_add(*result, "metrics", m) < 0)
			goto oom;
		return METHOD_DONE;
	}
	text = metrics_to_prometheus(api->metrics, &len);
	if (!text)
		goto oom;
	m = json_object_new_string_len(text, (int)len);
	free(text);
	if (!m || json_add(*result, "text", m) < 0)
		goto oom;
	return METHOD_DONE;
oom:
	return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
}

/* "disk0" .. "disk15", "net0" .. "net7": the device's kind and index. */
static int parse_device(const char *name, bool *disk, unsigned int *index)
{
	const char *digits;
	char *end;
	unsigned long v;

	if (!strncmp(name, "disk", 4))
		digits = name + 4;
	else if (!strncmp(name, "net", 3))
		digits = name + 3;
	else
		return -1;
	if (*digits < '0' || *digits > '9' || (digits[0] == '0' && digits[1]))
		return -1;
	v = strtoul(digits, &end, 10);
	if (*end || v >= CONFIG_MAX_DISKS)
		return -1;
	*disk = name[0] == 'd';
	*index = (unsigned int)v;
	return 0;
}

/* The device's limit control and its config entry, or -1 with @re. */
static int find_limits(struct api *api, const char *name,
		       struct rate_limit_control **ctl,
		       struct rate_limit_config **cfg, struct rpc_error *re)
{
	unsigned int i, count;
	bool disk;

	if (parse_device(name, &disk, &i) < 0)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"device: '%.32s' is not a disk or NIC name (disk0, net0, ...)",
				name);
	if (method_need_vm(api, re) < 0)
		return -1;
	count = disk ? api->cfg.nr_disks : api->cfg.nr_nets;
	if (i >= count)
		return rpc_fail(re, RPC_NO_DEVICE,
				"this VM has no %s (it has %u %s)", name,
				count, disk ? "disks" : "network devices");
	*ctl = disk ? api->vm.disk_limits[i] : api->vm.net_limits[i];
	*cfg = disk ? &api->cfg.disks[i].rate_limit :
		      &api->cfg.nets[i].rate_limit;
	return 0;
}

METHOD(method_set_rate_limit)
{
	static const char *const fields[] = { "device", "rate_limit", NULL };
	struct rate_limit_config limit = { 0 }, *cfg = NULL;
	struct rate_limit_control *ctl = NULL;
	struct json_object *rl = NULL, *echo;
	char *name = NULL;
	int ret;

	(void)call, (void)fd;
	if (!params)
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"params: missing (device and rate_limit)");
	if (method_check_params(params, fields, re) < 0 ||
	    json_need_str(params, "", "device", &name, &re->e) < 0 ||
	    json_get_object(params, "", "rate_limit", &rl, &re->e) < 0) {
		free(name);
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	ret = rl ? rate_limit_from_json(rl, "rate_limit", &limit, re) : 0;
	if (ret == 0)
		ret = find_limits(api, name, &ctl, &cfg, re);
	free(name);
	if (ret < 0)
		return -1;
	re->code = RPC_FAILED;
	if (ctl->set(ctl->opaque, &limit, &re->e) < 0)
		return -1;
	/* InspectVM shows the limits in force. */
	*cfg = limit;
	*result = json_object_new_object();
	echo = rate_limit_json(&limit);
	if (!*result || !echo || json_add(*result, "rate_limit", echo) < 0) {
		json_object_put(echo);
		return rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
	}
	return METHOD_DONE;
}

METHOD(method_shutdown_vm)
{
	struct power_control *p = api->vm.power;

	(void)call, (void)result, (void)fd;
	if (method_no_params("ShutdownVM", params, re) < 0 ||
	    method_need_vm(api, re) < 0)
		return -1;
	if (!p)
		return rpc_fail(re, RPC_NO_DEVICE,
				"this VM has no ACPI power button to press");
	re->code = RPC_FAILED;
	return p->press(p->opaque, &re->e) < 0 ? -1 : METHOD_DONE;
}
