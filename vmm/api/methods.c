// SPDX-License-Identifier: MIT
/*
 * The control API's dispatch: each service's methods (vm_service.c,
 * balloon_service.c, serial_service.c, vsock_service.c) and what they
 * share. Requests and responses are the services' messages in protobuf's
 * JSON mapping.
 */
#include "vmm/api/methods.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"

/* Calls a device answers later, over all clients. */
#define API_MAX_DEVICE_CALLS 64

int method_no_params(const char *method, struct json_object *params,
		     struct rpc_error *re)
{
	if (params && json_object_object_length(params))
		return rpc_fail(re, RPC_INVALID_PARAMS,
				"%s takes no parameters (google.protobuf.Empty)",
				method);
	return 0;
}

int method_check_params(struct json_object *params, const char *const *fields,
			struct rpc_error *re)
{
	if (params && json_check_fields(params, "", fields, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	return 0;
}

int method_need_vm(struct api *api, struct rpc_error *re)
{
	switch (api->state) {
	case API_STATE_PAUSED:
	case API_STATE_RUNNING:
		return 0;
	case API_STATE_NONE:
		return rpc_fail(re, RPC_BAD_STATE, "no VM: call CreateVM first");
	case API_STATE_HALTED:
		return rpc_fail(re, RPC_BAD_STATE,
				"the VM has halted (%s, status %d); TeardownVM releases it",
				api_exit_reason_name(api->exit_reason),
				api->exit_status);
	case API_STATE_TORN_DOWN:
		break;
	}
	return rpc_fail(re, RPC_BAD_STATE,
			"the VM was torn down; CreateVM creates a new one");
}

int method_need_device(struct api *api, const void *control,
		       const char *name, struct rpc_error *re)
{
	if (method_need_vm(api, re) < 0)
		return -1;
	if (!control)
		return rpc_fail(re, RPC_NO_DEVICE,
				"this VM has no %s device (start it with --%s)",
				name, name);
	return 0;
}

struct vsock_control *method_need_vsock(struct api *api, struct rpc_error *re)
{
	return method_need_device(api, api->vm.vsock, "vsock", re) < 0 ?
		       NULL : api->vm.vsock;
}

struct device_call *device_call_new(struct api *api, struct api_call *call,
				    struct rpc_error *re)
{
	struct device_call *dc;

	if (api->device_calls >= API_MAX_DEVICE_CALLS) {
		rpc_fail(re, RPC_LIMIT,
			 "%d calls are already waiting for devices to answer; try again",
			 API_MAX_DEVICE_CALLS);
		return NULL;
	}
	dc = calloc(1, sizeof(*dc));
	if (!dc) {
		rpc_fail(re, RPC_INTERNAL_ERROR, "out of memory");
		return NULL;
	}
	dc->api = api;
	dc->call = call;
	api->device_calls++;
	return dc;
}

void device_call_free(struct device_call *dc)
{
	dc->api->device_calls--;
	free(dc);
}

void method_reply_or_oom(struct api_call *call, struct json_object *result)
{
	struct rpc_error re;

	if (result) {
		api_call_reply(call, result);
		return;
	}
	rpc_fail(&re, RPC_INTERNAL_ERROR, "out of memory");
	api_call_fail(call, &re);
}

struct json_object *method_port_result(uint32_t port)
{
	struct json_object *r = json_object_new_object();

	if (r && json_add_u32(r, "port", port) < 0) {
		json_object_put(r);
		return NULL;
	}
	return r;
}

static const struct {
	const char *name;
	method_fn fn;
} api_methods[] = {
	{ "CreateVM", method_create_vm },
	{ "TeardownVM", method_teardown_vm },
	{ "PauseVM", method_pause_vm },
	{ "ResumeVM", method_resume_vm },
	{ "WaitVM", method_wait_vm },
	{ "InspectVM", method_inspect_vm },
	{ "CapabilitiesVM", method_capabilities_vm },
	{ "PropertiesVM", method_properties_vm },
	{ "ModifyResource", method_modify_resource },
	{ "VMSocket", method_vm_socket },
	{ "Quit", method_quit },
	{ "SubscribeEvents", method_subscribe_events },
	{ "SnapshotVM", method_snapshot_vm },
	{ "RestoreVM", method_restore_vm },
	{ "GetNumPages", method_get_num_pages },
	{ "RequestNumPages", method_request_num_pages },
	{ "GetMemStats", method_get_mem_stats },
	{ "GetSerial", method_get_serial },
	{ "VsockConnect", method_vsock_connect },
	{ "GetMetrics", method_get_metrics },
	{ "SetRateLimit", method_set_rate_limit },
	{ "ShutdownVM", method_shutdown_vm },
};

_Static_assert(ARRAY_SIZE(api_methods) == API_NR_METHODS,
	       "API_NR_METHODS counts the method table");

/* The index of method @name; API_NR_METHODS for one that does not exist. */
static unsigned int find_method(const char *name)
{
	unsigned int i;

	for (i = 0; i < API_NR_METHODS; i++)
		if (!strcmp(name, api_methods[i].name))
			break;
	return i;
}

static void describe_method(struct metric_desc *d, const char *name,
			    const char *variant, size_t offset,
			    const char *help)
{
	*d = (struct metric_desc){
		.name = name, .variant = variant, .kind = METRIC_COUNTER,
		.offset = offset, .help = help,
	};
}

void api_metrics_init(struct api *api)
{
	struct metric_desc *d = api->metric_descs;

	for (unsigned int i = 0; i <= API_NR_METHODS; i++)
		describe_method(d++, "requests",
				i < API_NR_METHODS ? api_methods[i].name :
						     "unknown",
				offsetof(struct api_counters, requests[i]),
				"Control socket requests, by method");
	for (unsigned int i = 0; i <= API_NR_METHODS; i++)
		describe_method(d++, "errors",
				i < API_NR_METHODS ? api_methods[i].name :
						     "unknown",
				offsetof(struct api_counters, errors[i]),
				"Control socket requests answered with an error, by method");
	api->metrics_group = (struct metrics_group){
		.subsystem = "api", .variant_label = "method",
		.descs = api->metric_descs,
		.nr_descs = ARRAY_SIZE(api->metric_descs),
		.block = &api->counters,
	};
	metrics_add(api->metrics, &api->metrics_group);
}

void api_dispatch(struct api *api, struct api_call *call,
		  const struct rpc_request *req)
{
	unsigned int m = find_method(req->method);
	struct json_object *result = NULL;
	struct rpc_error re = { 0 };
	int fd = -1, ret;

	metric_add(&api->counters.requests[m], 1);
	call->fail_counter = &api->counters.errors[m];
	if (m == API_NR_METHODS) {
		rpc_fail(&re, RPC_METHOD_NOT_FOUND,
			 "unknown method '%.64s' (see docs/api.md for the methods)",
			 req->method);
		api_call_fail(call, &re);
		return;
	}
	log_debug("control socket: %s", api_methods[m].name);
	ret = api_methods[m].fn(api, call, req->params, &result, &fd, &re);
	if (ret == METHOD_DEFERRED)
		return;
	if (ret < 0) {
		json_object_put(result);
		if (!re.code)
			re.code = RPC_FAILED;
		log_debug("control socket: %s failed: %s", api_methods[m].name,
			  re.e.msg);
		api_call_fail(call, &re);
		return;
	}
	api_call_reply_fd(call, result, fd);
}

void api_forget_client(struct api *api, struct api_client *client)
{
	struct api_call **p = &api->waiters;

	while (*p) {
		struct api_call *call = *p;

		if (call->client != client) {
			p = &call->next;
			continue;
		}
		*p = call->next;
		api_call_drop(call);
	}
}
