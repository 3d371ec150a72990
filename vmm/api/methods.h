/* SPDX-License-Identifier: MIT */
#ifndef VMM_API_METHODS_H
#define VMM_API_METHODS_H

/*
 * Inside the control API: the methods of each service and what they share.
 * A service is one file: vm_service.c for vmservice.proto's VM service,
 * snapshot_service.c for this VMM's snapshot calls beside it;
 * balloon_service.c, serial_service.c and vsock_service.c for the
 * fuchsia.virtualization calls; ops_service.c for this VMM's own
 * operations calls (metrics, rate limits, shutdown). api_dispatch()
 * (methods.c) finds a request's method by name.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/api/api.h"

enum { METHOD_DONE = 0, METHOD_DEFERRED = 1 };

/*
 * A method answers through @result (and @fd, passed along), or keeps
 * @call and returns METHOD_DEFERRED, or fails with @re.
 */
typedef int (*method_fn)(struct api *api, struct api_call *call,
			 struct json_object *params, struct json_object **result,
			 int *fd, struct rpc_error *re);

#define METHOD(name)                                                           \
	int name(struct api *api, struct api_call *call,                       \
		 struct json_object *params, struct json_object **result,      \
		 int *fd, struct rpc_error *re)

/* vm_service.c: service VM of vmservice.proto, and SubscribeEvents. */
METHOD(method_create_vm);
METHOD(method_teardown_vm);
METHOD(method_pause_vm);
METHOD(method_resume_vm);
METHOD(method_wait_vm);
METHOD(method_inspect_vm);
METHOD(method_capabilities_vm);
METHOD(method_properties_vm);
METHOD(method_modify_resource);
METHOD(method_vm_socket);
METHOD(method_quit);
METHOD(method_subscribe_events);
/* snapshot_service.c: this VMM's snapshots (docs/snapshot.md). */
METHOD(method_snapshot_vm);
METHOD(method_restore_vm);
/* balloon_service.c: fuchsia.virtualization BalloonController. */
METHOD(method_get_num_pages);
METHOD(method_request_num_pages);
METHOD(method_get_mem_stats);
/* serial_service.c: fuchsia.virtualization Guest.GetSerial. */
METHOD(method_get_serial);
/* vsock_service.c: fuchsia.virtualization HostVsockEndpoint.Connect. */
METHOD(method_vsock_connect);
/* ops_service.c: this VMM's operations: counters, I/O limits, shutdown. */
METHOD(method_get_metrics);
METHOD(method_set_rate_limit);
METHOD(method_shutdown_vm);

/*
 * device_hotplug.c: ModifyResource's scsi_disk and nic_config, ADD (@add)
 * or REMOVE of the message @msg; METHOD_DEFERRED for a removal.
 */
int modify_disk(struct api *api, struct api_call *call, bool add,
		struct json_object *msg, struct rpc_error *re);
int modify_nic(struct api *api, struct api_call *call, bool add,
	       struct json_object *msg, struct rpc_error *re);

/* Params for a method taking google.protobuf.Empty: none, null or {}. */
int method_no_params(const char *method, struct json_object *params,
		     struct rpc_error *re);
/* Params whose members are all among @fields (NULL params pass). */
int method_check_params(struct json_object *params,
			const char *const *fields, struct rpc_error *re);
/* Fails unless a VM exists and has not halted. */
int method_need_vm(struct api *api, struct rpc_error *re);
/* Fails unless a live VM has the device whose @control it would be. */
int method_need_device(struct api *api, const void *control,
		       const char *name, struct rpc_error *re);
/* The VM's vsock device, or NULL with the reason in @re. */
struct vsock_control *method_need_vsock(struct api *api, struct rpc_error *re);

/* Answers @call with @result, or with an error when it is NULL (no memory). */
void method_reply_or_oom(struct api_call *call, struct json_object *result);
/* {"port": @port}, or NULL when memory runs out. */
struct json_object *method_port_result(uint32_t port);

/*
 * A call a device answers later (balloon statistics, vsock connections):
 * at most API_MAX_DEVICE_CALLS wait at once, over all clients.
 */
struct device_call {
	struct api *api;
	struct api_call *call;
	bool memory;
	bool processor;
	uint32_t port;
};

struct device_call *device_call_new(struct api *api, struct api_call *call,
				    struct rpc_error *re);
void device_call_free(struct device_call *dc);

#endif
