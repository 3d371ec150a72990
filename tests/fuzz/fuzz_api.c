// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: one control-socket request line through the JSON-RPC
 * parser, its params through the VMConfig mapping and InspectVM's query,
 * and the encoders. A config that parses must write back into JSON that
 * parses into the same config.
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/api/config_json.h"
#include "vmm/api/inspect.h"
#include "vmm/api/rpc.h"

static bool same_chardev(const struct chardev_config *a,
			 const struct chardev_config *b)
{
	return a->kind == b->kind &&
	       (a->path ? b->path && !strcmp(a->path, b->path) : !b->path);
}

static bool same_str(const char *a, const char *b)
{
	return a ? b && !strcmp(a, b) : !b;
}

/* The vsock and balloon devices, field by field (not padding). */
static bool same_devices(const struct vm_config *a, const struct vm_config *b)
{
	const struct vsock_config *x = &a->vsock, *y = &b->vsock;

	if (x->enabled != y->enabled || x->cid != y->cid ||
	    strcmp(x->uds_path, y->uds_path) ||
	    x->nr_listeners != y->nr_listeners ||
	    a->balloon.enabled != b->balloon.enabled ||
	    a->balloon.pages != b->balloon.pages ||
	    a->balloon.deflate_on_oom != b->balloon.deflate_on_oom ||
	    a->balloon.stats_interval_s != b->balloon.stats_interval_s)
		return false;
	for (unsigned int i = 0; i < x->nr_listeners; i++)
		if (x->listeners[i].port != y->listeners[i].port ||
		    strcmp(x->listeners[i].path, y->listeners[i].path))
			return false;
	return true;
}

static bool same_config(const struct vm_config *a, const struct vm_config *b)
{
	if (a->mem_mib != b->mem_mib || a->hugepages != b->hugepages ||
	    a->nr_cpus != b->nr_cpus || !same_str(a->kernel, b->kernel) ||
	    !same_str(a->initrd, b->initrd) || !same_str(a->cmdline, b->cmdline) ||
	    a->nr_disks != b->nr_disks || a->nr_nets != b->nr_nets ||
	    !same_chardev(&a->console, &b->console) ||
	    !same_devices(a, b))
		return false;
	for (unsigned int i = 0; i < CONFIG_NR_SERIAL; i++)
		if (!same_chardev(&a->serial[i], &b->serial[i]))
			return false;
	for (unsigned int i = 0; i < a->nr_disks; i++)
		if (!same_str(a->disks[i].path, b->disks[i].path) ||
		    !same_str(a->disks[i].serial, b->disks[i].serial) ||
		    a->disks[i].read_only != b->disks[i].read_only)
			return false;
	for (unsigned int i = 0; i < a->nr_nets; i++)
		if (!same_str(a->nets[i].tap_name, b->nets[i].tap_name) ||
		    a->nets[i].has_mac != b->nets[i].has_mac ||
		    memcmp(a->nets[i].mac, b->nets[i].mac, 6))
			return false;
	return true;
}

static void check_config(struct json_object *params)
{
	struct vm_config cfg, again;
	struct json_object *req;
	struct rpc_error re;
	char *log_id = NULL, *log2 = NULL;

	if (config_from_json(params, &cfg, &log_id, &re) == 0) {
		req = json_object_new_object();
		json_object_object_add(req, "config", config_to_json(&cfg));
		if (config_from_json(req, &again, &log2, &re) < 0 ||
		    !same_config(&cfg, &again))
			abort();
		vm_config_free(&again);
		json_object_put(req);
	}
	free(log_id);
	free(log2);
	vm_config_free(&cfg);
}

static void check_query(struct json_object *params)
{
	struct json_object *view, *q, *limit, *out;
	struct rpc_error re;

	if (!params || !json_object_object_get_ex(params, "query", &q) ||
	    !json_object_is_type(q, json_type_string))
		return;
	view = json_object_new_object();
	json_object_object_add(view, "params", json_object_get(params));
	json_object_object_get_ex(params, "recursion_limit", &limit);
	if (inspect_query(view, json_object_get_string(q),
			  (uint32_t)json_object_get_int(limit), &out, &re) == 0)
		json_object_put(out);
	json_object_put(view);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_request req;
	struct rpc_error re;
	size_t len = 0;
	char *line;

	if (size > API_MAX_REQUEST)
		return 0;
	if (rpc_parse_request((const char *)data, size, &req, &re) < 0) {
		if (re.code >= 0 || !re.e.msg[0])
			abort();
		line = rpc_error_line(req.id, re.code, re.e.msg, &len);
	} else {
		check_config(req.params);
		check_query(req.params);
		line = rpc_result_line(req.id, json_object_get(req.params), &len);
	}
	if (!line || line[len - 1] != '\n' || memchr(line, '\n', len) != line + len - 1)
		abort();
	free(line);
	rpc_request_free(&req);
	return 0;
}
