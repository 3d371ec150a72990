// SPDX-License-Identifier: MIT
/*
 * Connecting to the guest's vsock ports, as fuchsia.virtualization's
 * HostVsockEndpoint.Connect (vsock.fidl): the caller gets the connected
 * stream. Listening is VMSocket's, in the VM service.
 */
#include <unistd.h>

#include "lib/json.h"
#include "vmm/api/methods.h"

static void vsock_connected(void *ctx, int fd, const struct err *e)
{
	struct device_call *dc = ctx;
	struct json_object *r;
	struct rpc_error re;

	if (fd < 0) {
		rpc_fail(&re, RPC_FAILED, "vsock port %u: %s", dc->port,
			 e ? e->msg : "the connection failed");
		api_call_fail(dc->call, &re);
	} else if ((r = method_port_result(dc->port))) {
		api_call_reply_fd(dc->call, r, fd);
	} else {
		close(fd);
		method_reply_or_oom(dc->call, NULL);
	}
	device_call_free(dc);
}

METHOD(method_vsock_connect)
{
	static const char *const fields[] = { "port", NULL };
	struct vsock_control *vs;
	struct device_call *dc;
	uint32_t port = 0;

	(void)result, (void)fd;
	if (method_check_params(params, fields, re) < 0 ||
	    json_get_u32(params, "", "port", &port, &re->e) < 0) {
		re->code = RPC_INVALID_PARAMS;
		return -1;
	}
	if (!(vs = method_need_vsock(api, re)) || !(dc = device_call_new(api, call, re)))
		return -1;
	dc->port = port;
	re->code = RPC_FAILED;
	if (vs->connect(vs->opaque, port, vsock_connected, dc, &re->e) < 0) {
		device_call_free(dc);
		return -1;
	}
	return METHOD_DEFERRED;
}
